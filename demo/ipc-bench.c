/*
 * ipc-bench: System V message queues against pipes, POSIX message queues and Unix domain
 * sockets, on the machine at hand: round-trip latency and one-way throughput for several message
 * sizes, one transport after the other in one run.
 *
 *   usage: ipc-bench [-s SIZE[,SIZE]...] [-r ROUNDS] [-m MESSAGES] [-j]
 *
 *   -s  message sizes in bytes (default 16,256,1024,4096,8192; at most 8192: MSGMAX and the
 *       POSIX queues' default msgsize_max)
 *   -r  round trips per latency measurement (default 2000; the median of 5 batches is kept)
 *   -m  messages per throughput measurement (default 20000)
 *   -j  one JSON object per line instead of the table (for plotting)
 *
 * Latency: two processes, the parent sends SIZE bytes, the child sends them back; the time of a
 * round trip. Throughput: the parent sends MESSAGES messages of SIZE bytes, the child receives
 * them all and answers once; bytes a second. Last, the same System V round trip written as the
 * plainest loop (msgsnd and msgrcv, no transport table, no timing inside): how much the
 * benchmark's own code adds to what it measures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAX_SIZE    8192
#define MAX_SIZES   16
#define BATCHES	    5
#define MQ_DEPTH    10 /* mq_maxmsg's default limit (fs.mqueue.msg_max) */
#define PING	    1  /* System V: the parent's mtype */
#define PONG	    2  /* the child's */
#define ACK_MESSAGE 1  /* throughput: the child's one answer */

static void die(const char *what)
{
	fprintf(stderr, "ipc-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime");
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A channel both ways between the parent (side 0) and the child (side 1). */
struct channel {
	const char *name;
	void (*open)(struct channel *c, size_t size);
	void (*send)(struct channel *c, int side, const void *buf, size_t size);
	void (*recv)(struct channel *c, int side, void *buf, size_t size);
	void (*close)(struct channel *c);
	int fd[2][2]; /* pipes and sockets: [side][0 read, 1 write] */
	int msqid;
	mqd_t mq[2]; /* POSIX: [side]'s queue to read */
	char mq_name[2][64];
};

struct sysv_message {
	long mtype;
	char mtext[MAX_SIZE];
};

static struct sysv_message sysv_buf;

static void sysv_open(struct channel *c, size_t size)
{
	(void)size;
	if ((c->msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0)
		die("msgget");
}

static void sysv_send(struct channel *c, int side, const void *buf, size_t size)
{
	sysv_buf.mtype = side == 0 ? PING : PONG;
	memcpy(sysv_buf.mtext, buf, size);
	while (msgsnd(c->msqid, &sysv_buf, size, 0) != 0)
		if (errno != EINTR)
			die("msgsnd");
}

static void sysv_recv(struct channel *c, int side, void *buf, size_t size)
{
	static struct sysv_message in;
	while (msgrcv(c->msqid, &in, size, side == 0 ? PONG : PING, 0) < 0)
		if (errno != EINTR)
			die("msgrcv");
	memcpy(buf, in.mtext, size);
}

static void sysv_close(struct channel *c)
{
	if (msgctl(c->msqid, IPC_RMID, NULL) != 0)
		die("msgctl(IPC_RMID)");
}

/* Pipes and sockets: whole messages, read until complete (a pipe may give fewer bytes). */
static void fd_send(struct channel *c, int side, const void *buf, size_t size)
{
	for (size_t off = 0; off < size;) {
		ssize_t n = write(c->fd[side][1], (const char *)buf + off, size - off);
		if (n < 0 && errno != EINTR)
			die("write");
		off += n > 0 ? (size_t)n : 0;
	}
}

static void fd_recv(struct channel *c, int side, void *buf, size_t size)
{
	for (size_t off = 0; off < size;) {
		ssize_t n = read(c->fd[side][0], (char *)buf + off, size - off);
		if (n == 0) {
			errno = EPIPE;
			die("read");
		}
		if (n < 0 && errno != EINTR)
			die("read");
		off += n > 0 ? (size_t)n : 0;
	}
}

static void pipe_open(struct channel *c, size_t size)
{
	(void)size;
	int down[2], up[2]; /* parent to child, child to parent */
	if (pipe(down) != 0 || pipe(up) != 0)
		die("pipe");
	c->fd[0][0] = up[0];
	c->fd[0][1] = down[1];
	c->fd[1][0] = down[0];
	c->fd[1][1] = up[1];
}

static void unix_open(struct channel *c, size_t size)
{
	(void)size;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
		die("socketpair");
	c->fd[0][0] = c->fd[0][1] = sv[0];
	c->fd[1][0] = c->fd[1][1] = sv[1];
}

static void fd_close(struct channel *c)
{
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < 2; k++)
			if (c->fd[s][k] >= 0 && (k == 0 || c->fd[s][1] != c->fd[s][0]))
				close(c->fd[s][k]);
}

static void mq_open_both(struct channel *c, size_t size)
{
	struct mq_attr attr = {.mq_maxmsg = MQ_DEPTH, .mq_msgsize = (long)(size ? size : 1)};
	for (int s = 0; s < 2; s++) {
		snprintf(c->mq_name[s], sizeof c->mq_name[s], "/ipc-bench-%d-%d", (int)getpid(), s);
		c->mq[s] = mq_open(c->mq_name[s], O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		if (c->mq[s] == (mqd_t)-1)
			die("mq_open");
	}
}

static void mq_send_to(struct channel *c, int side, const void *buf, size_t size)
{
	while (mq_send(c->mq[1 - side], buf, size, 0) != 0)
		if (errno != EINTR)
			die("mq_send");
}

static void mq_recv_from(struct channel *c, int side, void *buf, size_t size)
{
	static char in[MAX_SIZE + 1];
	(void)size;
	while (mq_receive(c->mq[side], in, sizeof in, NULL) < 0)
		if (errno != EINTR)
			die("mq_receive");
	memcpy(buf, in, size);
}

static void mq_close_both(struct channel *c)
{
	for (int s = 0; s < 2; s++)
		if (mq_close(c->mq[s]) != 0 || mq_unlink(c->mq_name[s]) != 0)
			die("mq_unlink");
}

static struct channel channels[] = {
    {.name = "sysv-msgq",
     .open = sysv_open,
     .send = sysv_send,
     .recv = sysv_recv,
     .close = sysv_close},
    {.name = "pipe", .open = pipe_open, .send = fd_send, .recv = fd_recv, .close = fd_close},
    {.name = "posix-mq",
     .open = mq_open_both,
     .send = mq_send_to,
     .recv = mq_recv_from,
     .close = mq_close_both},
    {.name = "unix-socket", .open = unix_open, .send = fd_send, .recv = fd_recv, .close = fd_close},
};

static char payload[MAX_SIZE], echo_buf[MAX_SIZE];

static pid_t start_child(void (*body)(struct channel *, size_t, long), struct channel *c,
			 size_t size, long count)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		body(c, size, count);
		_exit(0);
	}
	return pid;
}

static void end_child(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "ipc-bench: the child failed (status 0x%x)\n", status);
		exit(1);
	}
}

static void echo_body(struct channel *c, size_t size, long rounds)
{
	for (long i = 0; i < rounds; i++) {
		c->recv(c, 1, echo_buf, size);
		c->send(c, 1, echo_buf, size);
	}
}

static void sink_body(struct channel *c, size_t size, long count)
{
	for (long i = 0; i < count; i++)
		c->recv(c, 1, echo_buf, size);
	c->send(c, 1, echo_buf, ACK_MESSAGE);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median round trip, in microseconds. */
static double latency(struct channel *c, size_t size, long rounds)
{
	double batch[BATCHES];
	c->open(c, size);
	pid_t child = start_child(echo_body, c, size, rounds * BATCHES + rounds / 10);
	for (long i = 0; i < rounds / 10; i++) { /* warm up */
		c->send(c, 0, payload, size);
		c->recv(c, 0, echo_buf, size);
	}
	for (int b = 0; b < BATCHES; b++) {
		double start = now_s();
		for (long i = 0; i < rounds; i++) {
			c->send(c, 0, payload, size);
			c->recv(c, 0, echo_buf, size);
		}
		batch[b] = (now_s() - start) / (double)rounds * 1e6;
	}
	end_child(child);
	c->close(c);
	qsort(batch, BATCHES, sizeof batch[0], by_value);
	return batch[BATCHES / 2];
}

/* Bytes a second, one way. */
static double throughput(struct channel *c, size_t size, long count)
{
	c->open(c, size);
	pid_t child = start_child(sink_body, c, size, count);
	double start = now_s();
	for (long i = 0; i < count; i++)
		c->send(c, 0, payload, size);
	c->recv(c, 0, echo_buf, ACK_MESSAGE);
	double took = now_s() - start;
	end_child(child);
	c->close(c);
	return (double)size * (double)count / took;
}

/* The System V round trip as the plainest loop: msgsnd, msgrcv, nothing else. */
static double plain_sysv_latency(size_t size, long rounds)
{
	static struct sysv_message out, in;
	double batch[BATCHES];
	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (q < 0)
		die("msgget");
	long total = rounds * BATCHES + rounds / 10;
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (long i = 0; i < total; i++) {
			if (msgrcv(q, &in, size, PING, 0) < 0)
				_exit(1);
			in.mtype = PONG;
			if (msgsnd(q, &in, size, 0) != 0)
				_exit(1);
		}
		_exit(0);
	}
	out.mtype = PING;
	for (long i = 0; i < rounds / 10; i++)
		if (msgsnd(q, &out, size, 0) != 0 || msgrcv(q, &in, size, PONG, 0) < 0)
			die("plain loop");
	for (int b = 0; b < BATCHES; b++) {
		double start = now_s();
		for (long i = 0; i < rounds; i++)
			if (msgsnd(q, &out, size, 0) != 0 || msgrcv(q, &in, size, PONG, 0) < 0)
				die("plain loop");
		batch[b] = (now_s() - start) / (double)rounds * 1e6;
	}
	end_child(pid);
	if (msgctl(q, IPC_RMID, NULL) != 0)
		die("msgctl(IPC_RMID)");
	qsort(batch, BATCHES, sizeof batch[0], by_value);
	return batch[BATCHES / 2];
}

static int parse_sizes(const char *text, size_t *sizes)
{
	int n = 0;
	char *copy = strdup(text), *save = NULL;
	if (!copy)
		die("strdup");
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(tok, &end, 10);
		if (*end || v < 1 || v > MAX_SIZE || n == MAX_SIZES) {
			free(copy);
			return -1;
		}
		sizes[n++] = (size_t)v;
	}
	free(copy);
	return n;
}

int main(int argc, char **argv)
{
	size_t sizes[MAX_SIZES];
	int nsizes = parse_sizes("16,256,1024,4096,8192", sizes), opt;
	long rounds = 2000, messages = 20000;
	bool json = false;
	while ((opt = getopt(argc, argv, "s:r:m:j")) != -1) {
		if (opt == 's')
			nsizes = parse_sizes(optarg, sizes);
		else if (opt == 'r')
			rounds = atol(optarg);
		else if (opt == 'm')
			messages = atol(optarg);
		else if (opt == 'j')
			json = true;
		else
			nsizes = -1;
	}
	if (nsizes <= 0 || rounds < 10 || messages < 1 || optind != argc) {
		fputs("usage: ipc-bench [-s SIZE[,SIZE]...] [-r ROUNDS] [-m MESSAGES] [-j]\n",
		      stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (char)('a' + i % 26);
	signal(SIGPIPE, SIG_IGN);
	if (!json)
		printf("%-12s %6s %14s %14s %12s\n", "transport", "size", "round trip us",
		       "MB/s one way", "msgs/s");
	for (size_t t = 0; t < sizeof channels / sizeof channels[0]; t++) {
		struct channel *c = &channels[t];
		for (int s = 0; s < nsizes; s++) {
			memset(c->fd, -1, sizeof c->fd);
			double us = latency(c, sizes[s], rounds);
			memset(c->fd, -1, sizeof c->fd);
			double bps = throughput(c, sizes[s], messages);
			if (json)
				printf("{\"transport\": \"%s\", \"size\": %zu, \"round_trip_us\": "
				       "%.3f, "
				       "\"bytes_per_s\": %.0f}\n",
				       c->name, sizes[s], us, bps);
			else
				printf("%-12s %6zu %14.2f %14.1f %12.0f\n", c->name, sizes[s], us,
				       bps / 1e6, bps / (double)sizes[s]);
			fflush(stdout);
		}
	}
	/* The benchmark's own share: its System V round trip against the plainest loop. */
	size_t size = sizes[0];
	double ours = latency(&channels[0], size, rounds);
	double plain = plain_sysv_latency(size, rounds);
	double overhead = (ours - plain) / plain * 100;
	if (json)
		printf("{\"overhead\": {\"size\": %zu, \"ours_us\": %.3f, \"plain_us\": %.3f, "
		       "\"percent\": %.1f}}\n",
		       size, ours, plain, overhead);
	else
		printf(
		    "own overhead: System V round trip of %zu bytes %.2f us here, %.2f us in the "
		    "plainest loop: %+.1f%%\n",
		    size, ours, plain, overhead);
	return 0;
}

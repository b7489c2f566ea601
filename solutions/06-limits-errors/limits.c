/*
 * limits: the limits of System V message queues, the errors their calls give, and signals.
 *
 *   usage: limits show
 *          limits recv ID SIZE [noerror]
 *          limits send ID SIZE
 *          limits probe ID
 *          limits wait ID
 *
 * show   prints "NAME PROC INFO" for msgmax, msgmnb and msgmni: the value read from
 *        /proc/sys/kernel/NAME, then the one msgctl(IPC_INFO) gives. Exit 1 if they differ.
 * recv   receives the first message of queue ID (IPC_NOWAIT) into a SIZE-byte buffer, with
 *        MSG_NOERROR if "noerror" is given, and prints "received N bytes, type T: TEXT". The
 *        drop in msg_cbytes (IPC_STAT before and after) is the message's whole length L; if
 *        L > N it adds "truncated: the message had L bytes, L-N discarded". On E2BIG it
 *        prints "E2BIG: the message is larger than SIZE bytes and stays queued (Q messages,
 *        B bytes)" from IPC_STAT, and exits 3.
 * send   sends SIZE bytes ('a' + i % 26) of type 1 (IPC_NOWAIT) and prints "sent SIZE bytes".
 *        On EINVAL with SIZE above MSGMAX (from /proc) it prints "EINVAL: SIZE bytes is more
 *        than MSGMAX (M)" and exits 3.
 * probe  tries stat, send, receive, set and remove on queue ID, in that order, and prints
 *        "OPERATION: ok" or "OPERATION: ERRNAME" (EACCES, EPERM, ...) for each.
 * wait   receives one message, blocking. A signal (SIGUSR1) that interrupts msgrcv prints
 *        "interrupted, retrying" and it receives again; after SIGTERM it prints "stopped" and
 *        exits 4. It prints the message as recv does and exits 0, or, when the queue is
 *        removed, prints "queue removed" and exits 3.
 *
 * Exit status: 0 success; 1 a call failed otherwise ("limits: CALL: reason" on stderr);
 * 2 usage; 3 E2BIG (recv), above MSGMAX (send), queue removed (wait); 4 stopped (wait).
 */
#define _GNU_SOURCE /* struct msginfo, IPC_INFO and strerrorname_np */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>

#define SIZE_MAX_ARG (1L << 20) /* the largest SIZE accepted: far above any MSGMAX here */
#define WAIT_TEXT    8192	/* wait's buffer: the default MSGMAX */
#define EXIT_USAGE   2
#define EXIT_LIMIT   3 /* E2BIG, above MSGMAX, queue removed */
#define EXIT_STOPPED 4

static const char usage[] = "usage: limits show | limits recv ID SIZE [noerror] | "
			    "limits send ID SIZE | limits probe ID | limits wait ID\n";

/* A message of any size: allocate sizeof(long) + the bytes of mtext. */
struct message {
	long mtype;
	char mtext[];
};

_Noreturn static void fail(const char *what)
{
	fprintf(stderr, "limits: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct message *new_message(size_t size)
{
	struct message *msg = malloc(sizeof *msg + size);
	if (!msg)
		fail("malloc");
	return msg;
}

/* The errno's name, "EACCES" for instance. */
static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);
	return name ? name : "unknown error";
}

/* Read /proc/sys/kernel/NAME: one decimal number. On failure, say so and exit 1. */
static long read_limit(const char *name)
{
	char path[64];
	long value;
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
	FILE *f = fopen(path, "r");
	if (!f)
		fail(path);
	int got = fscanf(f, "%ld", &value);
	if (fclose(f) != 0)
		fail(path);
	if (got != 1) {
		errno = EINVAL;
		fail(path);
	}
	return value;
}

/* ---- show ---- */

/* The namespace's limits as msgctl(IPC_INFO) reports them; -1 with errno set on failure. */
static int ipc_info(struct msginfo *info)
{
	//@ student: msgctl(IPC_INFO) fills a struct msginfo (cast its address); msqid is ignored
	if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)info) == -1)
		return -1;
	return 0;
	//@ skeleton:
	//@ memset(info, 0, sizeof *info);
	//@ errno = ENOSYS;
	//@ return -1;
	//@ end
}

static int cmd_show(void)
{
	struct msginfo info;
	if (ipc_info(&info) == -1)
		fail("msgctl(IPC_INFO)");
	const struct {
		const char *name;
		long from_info;
	} limits[] = {{"msgmax", info.msgmax}, {"msgmnb", info.msgmnb}, {"msgmni", info.msgmni}};
	int status = 0;
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		long from_proc = read_limit(limits[i].name);
		printf("%s %ld %ld\n", limits[i].name, from_proc, limits[i].from_info);
		if (from_proc != limits[i].from_info) {
			fprintf(stderr, "limits: /proc and IPC_INFO disagree on %s\n",
				limits[i].name);
			status = 1;
		}
	}
	return status;
}

/* ---- recv ---- */

static void print_message(const struct message *msg, ssize_t len)
{
	printf("received %zd bytes, type %ld: %.*s\n", len, msg->mtype, (int)len, msg->mtext);
}

static struct msqid_ds queue_stat(int msqid)
{
	struct msqid_ds ds;
	if (msgctl(msqid, IPC_STAT, &ds) == -1)
		fail("msgctl(IPC_STAT)");
	return ds;
}

static int cmd_recv(int msqid, long size, bool noerror)
{
	struct message *msg = new_message((size_t)size);
	//@ student: IPC_STAT, then msgrcv (IPC_NOWAIT, plus MSG_NOERROR if noerror); see the contract
	unsigned long before = queue_stat(msqid).msg_cbytes;
	int flags = IPC_NOWAIT | (noerror ? MSG_NOERROR : 0);
	ssize_t len = msgrcv(msqid, msg, (size_t)size, 0, flags);
	if (len == -1 && errno == E2BIG) {
		/* The kernel refused to cut the message, so it is still there, whole. */
		struct msqid_ds ds = queue_stat(msqid);
		printf("E2BIG: the message is larger than %ld bytes and stays queued "
		       "(%lu messages, %lu bytes)\n",
		       size, (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_cbytes);
		free(msg);
		return EXIT_LIMIT;
	}
	if (len == -1)
		fail("msgrcv");
	print_message(msg, len);
	/* msg_cbytes drops by the whole message, also by the part MSG_NOERROR threw away. */
	unsigned long whole = before - queue_stat(msqid).msg_cbytes;
	if (whole > (unsigned long)len)
		printf("truncated: the message had %lu bytes, %lu discarded\n", whole,
		       whole - (unsigned long)len);
	//@ skeleton:
	//@ (void)msqid;
	//@ (void)noerror;
	//@ (void)queue_stat; /* yours to use */
	//@ errno = ENOSYS;
	//@ fail("msgrcv");
	//@ end
	free(msg);
	return 0;
}

/* ---- send ---- */

static int cmd_send(int msqid, long size)
{
	struct message *msg = new_message((size_t)size);
	msg->mtype = 1;
	for (long i = 0; i < size; i++)
		msg->mtext[i] = (char)('a' + i % 26);
	//@ student: msgsnd (IPC_NOWAIT); explain EINVAL when size is above MSGMAX (see the contract)
	if (msgsnd(msqid, msg, (size_t)size, IPC_NOWAIT) == -1) {
		long msgmax = errno == EINVAL ? read_limit("msgmax") : -1;
		if (msgmax < 0 || size <= msgmax)
			fail("msgsnd"); /* EINVAL for another reason, or another error */
		printf("EINVAL: %ld bytes is more than MSGMAX (%ld)\n", size, msgmax);
		free(msg);
		return EXIT_LIMIT;
	}
	printf("sent %ld bytes\n", size);
	//@ skeleton:
	//@ (void)msqid;
	//@ errno = ENOSYS;
	//@ fail("msgsnd");
	//@ end
	free(msg);
	return 0;
}

/* ---- probe ---- */

/* Print "what: ok" if the call returned rc != -1, else "what: ERRNAME". */
static void report(const char *what, long rc)
{
	printf("%s: %s\n", what, rc == -1 ? errno_name(errno) : "ok");
}

static int cmd_probe(int msqid)
{
	struct message *msg = new_message(WAIT_TEXT);
	struct msqid_ds ds;
	//@ student: try each call once, never blocking, and report() what the kernel answered
	report("stat", msgctl(msqid, IPC_STAT, &ds));

	msg->mtype = 1;
	msg->mtext[0] = 'p';
	report("send", msgsnd(msqid, msg, 1, IPC_NOWAIT));

	report("receive", msgrcv(msqid, msg, WAIT_TEXT, 0, IPC_NOWAIT | MSG_NOERROR));

	/* Ask to make the queue the caller's own, mode 0600: only its owner or creator may. */
	memset(&ds, 0, sizeof ds);
	ds.msg_perm.uid = geteuid();
	ds.msg_perm.gid = getegid();
	ds.msg_perm.mode = 0600;
	ds.msg_qbytes = (msglen_t)read_limit("msgmnb");
	report("set", msgctl(msqid, IPC_SET, &ds));

	report("remove", msgctl(msqid, IPC_RMID, NULL));
	//@ skeleton:
	//@ (void)msqid;
	//@ (void)ds;
	//@ static const char *const what[] = {"stat", "send", "receive", "set", "remove"};
	//@ for (int i = 0; i < 5; i++) {
	//@ 	errno = ENOSYS;
	//@ 	report(what[i], -1);
	//@ }
	//@ end
	free(msg);
	return 0;
}

/* ---- wait ---- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	if (sig == SIGTERM)
		stop_requested = 1;
	/* SIGUSR1 only interrupts msgrcv; robust_receive does the rest. */
}

/* Handle SIGUSR1 and SIGTERM with on_signal; on failure, say so and exit 1. */
static void install_handlers(void)
{
	//@ student: sigaction(SIGUSR1) and sigaction(SIGTERM) with on_signal as the handler
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: it would not restart msgrcv anyway. */
	if (sigaction(SIGUSR1, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
		fail("sigaction");
	//@ skeleton:
	//@ (void)on_signal;
	//@ end
}

/*
 * Receive one message, blocking until one comes. A signal interrupts msgrcv with EINTR:
 * receive again, unless SIGTERM asked us to stop. Returns the byte count; or -1 with errno
 * EINTR (stop requested), EIDRM (the queue was removed) or another error.
 */
static ssize_t robust_receive(int msqid, struct message *msg, size_t size)
{
	//@ student: loop: msgrcv without IPC_NOWAIT; on EINTR print and retry, unless stop_requested
	for (;;) {
		if (stop_requested) {
			errno = EINTR;
			return -1;
		}
		ssize_t len = msgrcv(msqid, msg, size, 0, 0);
		if (len != -1 || errno != EINTR)
			return len;
		if (!stop_requested)
			printf("interrupted, retrying\n");
	}
	//@ skeleton:
	//@ (void)msqid;
	//@ (void)msg;
	//@ (void)size;
	//@ errno = ENOSYS;
	//@ return -1;
	//@ end
}

static int cmd_wait(int msqid)
{
	struct message *msg = new_message(WAIT_TEXT);
	install_handlers();
	ssize_t len = robust_receive(msqid, msg, WAIT_TEXT);
	int err = errno;
	if (len >= 0)
		print_message(msg, len);
	free(msg);
	if (len >= 0)
		return 0;
	//@ student: err EINTR (stop asked): "stopped", exit 4; EIDRM: "queue removed", exit 3
	if (err == EINTR) {
		printf("stopped\n");
		return EXIT_STOPPED;
	}
	if (err == EIDRM) {
		/* Any further call on this id would give EINVAL: do not retry. */
		printf("queue removed\n");
		return EXIT_LIMIT;
	}
	//@ end
	errno = err;
	fail("msgrcv");
}

/* ---- arguments ---- */

/* A decimal integer in [0, max]: digits only. */
static bool parse_number(const char *s, long max, long *value)
{
	long v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
		if (v > max)
			return false;
	}
	*value = v;
	return true;
}

int main(int argc, char **argv)
{
	long id = 0, size = 0;
	const char *cmd = argc >= 2 ? argv[1] : "";
	bool has_id = argc >= 3 && parse_number(argv[2], INT_MAX, &id);
	bool has_size = argc >= 4 && parse_number(argv[3], SIZE_MAX_ARG, &size);

	if (!strcmp(cmd, "show") && argc == 2)
		return cmd_show();
	if (!strcmp(cmd, "recv") && has_id && has_size &&
	    (argc == 4 || (argc == 5 && !strcmp(argv[4], "noerror"))))
		return cmd_recv((int)id, size, argc == 5);
	if (!strcmp(cmd, "send") && has_id && has_size && argc == 4)
		return cmd_send((int)id, size);
	if (!strcmp(cmd, "probe") && has_id && argc == 3)
		return cmd_probe((int)id);
	if (!strcmp(cmd, "wait") && has_id && argc == 3)
		return cmd_wait((int)id);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

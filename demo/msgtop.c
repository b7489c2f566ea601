/*
 * msgtop: the System V message queues of this IPC namespace, live, in the spirit of top.
 *
 *   usage: msgtop [-d MS] [-b] [-n COUNT]
 *
 *   -d MS     refresh every MS milliseconds (default 500)
 *   -b        batch: plain text snapshots on stdout, no terminal control (for scripts, tests)
 *   -n COUNT  stop after COUNT snapshots (default: until q, or 1 with -b)
 *
 * One line per queue: key, id, owner, mode, messages, bytes as a bar against msg_qbytes, the
 * last sender and receiver (pid and command), and the types waiting, read without taking the
 * messages (msgrcv with MSG_COPY, where the kernel has it: CONFIG_CHECKPOINT_RESTORE; msgtop
 * says so where it does not). Queues are found as ipcs finds them: msgctl(MSG_INFO) for the
 * highest index in use, then msgctl(MSG_STAT_ANY) on each index up to it.
 *
 * Keys (interactive): q quits; s sends a message (queue id, mtype, text: msgsnd with
 * IPC_NOWAIT); r receives the first message of a queue (msgrcv with IPC_NOWAIT); + and -
 * change the refresh rate.
 */
#define _GNU_SOURCE
#include <curses.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#define MAX_QUEUES 256
#define MAX_TYPES  12	/* types listed per queue */
#define PEEK_MAX   64	/* messages looked at per queue with MSG_COPY */
#define TEXT_MAX   8192 /* MSGMAX by default: what r and s handle */

struct queue {
	int id;
	key_t key;
	uid_t uid;
	unsigned mode;
	unsigned long msgs, bytes, qbytes;
	pid_t lspid, lrpid;
	long types[MAX_TYPES];
	int ntypes;
	bool more_types, peek_failed;
	int peek_errno;
};

struct message {
	long mtype;
	char mtext[TEXT_MAX];
};

static int peek_support = -1; /* MSG_COPY: -1 not known yet, 0 not in this kernel, 1 works */

/* The types of the messages waiting in q, in queue order, without taking them. */
static void peek_types(struct queue *q)
{
	static struct message m;
	q->ntypes = 0;
	q->more_types = q->peek_failed = false;
	for (unsigned long i = 0; i < q->msgs && i < PEEK_MAX; i++) {
		/* MSG_COPY takes the index as msgtyp; MSG_NOERROR: the type is all we want. */
		if (msgrcv(q->id, &m, sizeof m.mtext, (long)i,
			   IPC_NOWAIT | MSG_COPY | MSG_NOERROR) < 0) {
			if (errno == ENOSYS)
				peek_support = 0;
			else if (errno != ENOMSG) { /* taken meanwhile, or no read permission */
				q->peek_failed = true;
				q->peek_errno = errno;
			}
			return;
		}
		peek_support = 1;
		bool seen = false;
		for (int k = 0; k < q->ntypes; k++)
			seen |= q->types[k] == m.mtype;
		if (seen)
			continue;
		if (q->ntypes == MAX_TYPES) {
			q->more_types = true;
			return;
		}
		q->types[q->ntypes++] = m.mtype;
	}
	q->more_types |= q->msgs > PEEK_MAX;
}

/* Every queue of this IPC namespace we may look at; returns how many. */
static int list_queues(struct queue *qs)
{
	struct msginfo info;
	int highest = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);
	int n = 0;
	for (int i = 0; i <= highest && n < MAX_QUEUES; i++) {
		struct msqid_ds ds;
		int id = msgctl(i, MSG_STAT_ANY, &ds);
		if (id < 0)
			continue; /* a free index, or one that went away */
		struct queue *q = &qs[n++];
		memset(q, 0, sizeof *q);
		q->id = id;
		q->key = ds.msg_perm.__key;
		q->uid = ds.msg_perm.uid;
		q->mode = ds.msg_perm.mode & 0777;
		q->msgs = ds.msg_qnum;
		q->bytes = ds.__msg_cbytes;
		q->qbytes = ds.msg_qbytes;
		q->lspid = ds.msg_lspid;
		q->lrpid = ds.msg_lrpid;
		if (peek_support != 0)
			peek_types(q);
	}
	return n;
}

/* "PID COMMAND" (the command from /proc, if the process is still there), or "-". */
static void who(pid_t pid, char *out, size_t size)
{
	if (pid <= 0) {
		snprintf(out, size, "-");
		return;
	}
	char path[64], comm[32] = "";
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof comm, f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(out, size, "%d%s%.15s", (int)pid, comm[0] ? " " : "", comm);
}

static void owner(uid_t uid, char *out, size_t size)
{
	const struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(out, size, "%.8s", pw->pw_name);
	else
		snprintf(out, size, "%u", (unsigned)uid);
}

/* One queue's line, in at most width columns. */
static void format_queue(const struct queue *q, int width, char *line, size_t size)
{
	char user[16], sender[32], receiver[32], types[128] = "", bar[24];
	owner(q->uid, user, sizeof user);
	who(q->lspid, sender, sizeof sender);
	who(q->lrpid, receiver, sizeof receiver);
	int slots = 10,
	    full = q->qbytes ? (int)((q->bytes * (unsigned long)slots + q->qbytes - 1) / q->qbytes)
			     : 0;
	if (full > slots)
		full = slots;
	for (int i = 0; i < slots; i++)
		bar[i] = i < full ? '#' : '.';
	bar[slots] = '\0';
	size_t t = 0;
	if (!q->msgs)
		t = (size_t)snprintf(types, sizeof types, "-");
	else if (peek_support == 0)
		t = (size_t)snprintf(types, sizeof types, "(no MSG_COPY here)");
	else if (q->peek_failed)
		t = (size_t)snprintf(types, sizeof types, "(%s)", strerror(q->peek_errno));
	for (int i = 0; i < q->ntypes && t + 24 < sizeof types; i++)
		t += (size_t)snprintf(types + t, sizeof types - t, "%s%ld", i ? " " : "",
				      q->types[i]);
	if (q->more_types && t + 5 < sizeof types)
		snprintf(types + t, sizeof types - t, " ...");
	snprintf(line, size, "0x%08x %6d %-8s %4o %6lu [%s] %7lu/%-7lu %-18s %-18s %s",
		 (unsigned)q->key, q->id, user, q->mode, q->msgs, bar, q->bytes, q->qbytes, sender,
		 receiver, types);
	if ((int)strlen(line) > width && width > 0)
		line[width] = '\0';
}

static const char header[] = "KEY            ID OWNER    MODE   MSGS [BYTES    ]   USED/QBYTES "
			     "LAST SENDER        LAST RECEIVER      TYPES WAITING";

static long limit(const char *name)
{
	char path[64];
	long v = -1;
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
	FILE *f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void title(char *out, size_t size, int n)
{
	time_t now = time(NULL);
	struct tm tm;
	char clock[16] = "";
	if (localtime_r(&now, &tm))
		strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	snprintf(out, size, "msgtop %s  queues: %d  msgmni %ld  msgmax %ld  msgmnb %ld%s", clock, n,
		 limit("msgmni"), limit("msgmax"), limit("msgmnb"),
		 peek_support == 0 ? "  (types: no MSG_COPY in this kernel)" : "");
}

static int batch(int count, int delay_ms)
{
	static struct queue qs[MAX_QUEUES];
	char line[512];
	for (int shot = 0; shot < count; shot++) {
		if (shot) {
			struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000};
			nanosleep(&ts, NULL);
		}
		int n = list_queues(qs);
		title(line, sizeof line, n);
		printf("%s\n%s\n", line, header);
		for (int i = 0; i < n; i++) {
			format_queue(&qs[i], (int)sizeof line - 1, line, sizeof line);
			printf("%s\n", line);
		}
		printf("\n");
		if (fflush(stdout) != 0)
			return 1;
	}
	return 0;
}

/* A line typed at the bottom of the screen (echoed), after prompt; false if empty. */
static bool ask(const char *prompt, char *out, int size)
{
	move(LINES - 1, 0);
	clrtoeol();
	addstr(prompt);
	echo();
	nocbreak();
	timeout(-1);
	int ok = getnstr(out, size - 1);
	noecho();
	cbreak();
	return ok == OK && out[0];
}

static void send_one(char *status, size_t size)
{
	char id[16], type[24], text[256];
	static struct message m;
	if (!ask("send to queue id: ", id, sizeof id) || !ask("mtype: ", type, sizeof type)) {
		snprintf(status, size, "send: cancelled");
		return;
	}
	ask("text: ", text, sizeof text);
	m.mtype = strtol(type, NULL, 10);
	size_t len = strlen(text);
	memcpy(m.mtext, text, len);
	if (msgsnd((int)strtol(id, NULL, 10), &m, len, IPC_NOWAIT) == 0)
		snprintf(status, size, "sent %zu bytes of type %ld to queue %s", len, m.mtype, id);
	else
		snprintf(status, size, "msgsnd: %s", strerror(errno));
}

static void receive_one(char *status, size_t size)
{
	char id[16];
	static struct message m;
	if (!ask("receive from queue id: ", id, sizeof id)) {
		snprintf(status, size, "receive: cancelled");
		return;
	}
	ssize_t n = msgrcv((int)strtol(id, NULL, 10), &m, sizeof m.mtext, 0, IPC_NOWAIT);
	if (n < 0)
		snprintf(status, size, "msgrcv: %s", strerror(errno));
	else
		snprintf(status, size, "received %zd bytes of type %ld: %.*s", n, m.mtype,
			 (int)(n > 60 ? 60 : n), m.mtext);
}

static int live(int count, int delay_ms)
{
	static struct queue qs[MAX_QUEUES];
	if (!initscr())
		return 1;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	char status[256] = "q quit  s send  r receive  +/- refresh rate", line[512];
	for (int shot = 0; count <= 0 || shot < count; shot++) {
		int n = list_queues(qs);
		erase();
		title(line, sizeof line, n);
		mvaddnstr(0, 0, line, COLS);
		attron(A_REVERSE);
		mvaddnstr(2, 0, header, COLS);
		attroff(A_REVERSE);
		for (int i = 0; i < n && 3 + i < LINES - 1; i++) {
			format_queue(&qs[i], COLS, line, sizeof line);
			mvaddnstr(3 + i, 0, line, COLS);
		}
		mvaddnstr(LINES - 1, 0, status, COLS);
		refresh();
		timeout(delay_ms);
		int c = getch();
		if (c == 'q')
			break;
		if (c == 's')
			send_one(status, sizeof status);
		else if (c == 'r')
			receive_one(status, sizeof status);
		else if (c == '+' && delay_ms > 100)
			delay_ms /= 2;
		else if (c == '-' && delay_ms < 10000)
			delay_ms *= 2;
	}
	endwin();
	return 0;
}

int main(int argc, char **argv)
{
	int delay_ms = 500, count = 0, opt;
	bool batch_mode = false;
	while ((opt = getopt(argc, argv, "d:bn:")) != -1) {
		if (opt == 'd')
			delay_ms = atoi(optarg);
		else if (opt == 'b')
			batch_mode = true;
		else if (opt == 'n')
			count = atoi(optarg);
		else
			break;
	}
	if (optind != argc || delay_ms < 10 || count < 0) {
		fputs("usage: msgtop [-d MS] [-b] [-n COUNT]\n", stderr);
		return 2;
	}
	return batch_mode ? batch(count ? count : 1, delay_ms) : live(count, delay_ms);
}

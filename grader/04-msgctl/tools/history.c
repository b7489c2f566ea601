/*
 * history: the set-up of lab 04's tests. Run inside the sandbox before the student's msgq, it
 * gives the private IPC namespace queues with a known history (which processes sent and
 * received, how many bytes, when), checks that the kernel and `ipcs` both report exactly that,
 * and prints on one line what only the sandbox knows: ids, indexes, pids, times, uid and gid.
 *
 *   usage: history STEP...
 *     new KEY MODE        create a queue (KEY in hex, 0 for IPC_PRIVATE; MODE in octal); queues
 *                         are numbered 0, 1, ... in the order new and churn create them
 *     churn KEY MODE      create and remove queues until one comes back at an index used
 *                         before, so that its id is not its index; keep that one
 *     send Q SIZE[,SIZE]  a child process sends one message of each SIZE bytes to queue Q
 *     recv Q N            a child process receives the N oldest messages of queue Q
 *     qbytes Q N          IPC_SET msg_qbytes of queue Q to N
 *     give Q UID GID      IPC_SET the owner of queue Q to UID and GID, where the kernel allows
 *                         it (not in a user namespace that maps no such ids): gQ=yes|no
 *     rm Q                remove queue Q: xQ=ID
 *     tick                wait until the clock has passed a whole second, so that what follows
 *                         gets later times than what came before
 *     show Q              report queue Q's lspid, lrpid, stime, rtime and ctime
 *     probe               report whether raising msg_qbytes above MSGMNB works here: cap=yes|no
 *
 * Output, one line: "uid=U gid=G" (the creator), cap=..., then qQ=ID@INDEX for each queue still
 * there, gQ=..., lsQ= lrQ= stQ= rtQ= ctQ= for each queue shown, and ipcs=ok (or ipcs=absent
 * when ipcs cannot be run). The harness keeps 255 characters of it: stay well under.
 *
 * Any disagreement between what was done, what IPC_STAT says and what ipcs says is a grader
 * problem: a message on stderr and exit status 1, which fails the run as a grader error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "../queues.h"

#define MAX_QUEUES   16
#define MAX_MESSAGES 256
#define MAX_SIZE     65536
#define MAX_CHURN    200000
#define OUTPUT_MAX   240

struct queue {
	int id; /* -1 once removed */
	key_t key;
	unsigned mode;
	uid_t uid; /* the owner the kernel should report */
	gid_t gid;
	unsigned long qbytes;
	long sizes[MAX_MESSAGES]; /* queued messages, oldest at head */
	size_t head, tail;
	pid_t lspid, lrpid;
	int ct_epoch, st_epoch,
	    rt_epoch; /* ticks before the last change, send, receive; -1 never */
	bool show;
	int gave; /* -1 not asked, 0 refused, 1 given */
};

static struct queue queues[MAX_QUEUES];
static int nqueues;
static int epoch;
static char output[1024];
static size_t output_len;

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("history: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(output + output_len, sizeof output - output_len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof output - output_len)
		fail("output too long");
	output_len += (size_t)n;
}

static long number(const char *s, int base, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, base);
	if (errno || *s == '\0' || *end != '\0' || v < 0)
		fail("bad %s: %s", what, s);
	return v;
}

static struct queue *queue_arg(const char *s)
{
	long q = number(s, 10, "queue number");
	if (q >= nqueues || queues[q].id < 0)
		fail("no queue %ld", q);
	return &queues[q];
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static struct msqid_ds stat_of(const struct queue *q)
{
	struct msqid_ds ds;
	if (msgctl(q->id, IPC_STAT, &ds) != 0)
		fail("IPC_STAT %d: %s", q->id, strerror(errno));
	return ds;
}

static long msgmnb(void)
{
	struct msginfo info;
	if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info) < 0)
		fail("IPC_INFO: %s", strerror(errno));
	return info.msgmnb;
}

static int index_of(int id)
{
	struct msqid_ds ds;
	int index;
	int found = queues_find(id, &ds, &index);
	if (found < 0)
		fail("MSG_STAT_ANY: %s", strerror(errno));
	if (!found)
		fail("queue %d is not at any index", id);
	return index;
}

static struct queue *add_queue(int id, key_t key, unsigned mode)
{
	if (nqueues == MAX_QUEUES)
		fail("too many queues");
	struct queue *q = &queues[nqueues++];
	memset(q, 0, sizeof *q);
	q->id = id;
	q->key = key;
	q->mode = mode;
	q->uid = geteuid();
	q->gid = getegid();
	q->qbytes = (unsigned long)msgmnb();
	q->ct_epoch = epoch;
	q->st_epoch = q->rt_epoch = -1;
	q->gave = -1;
	return q;
}

static int create(key_t key, unsigned mode)
{
	int id = msgget(key, IPC_CREAT | IPC_EXCL | (int)mode);
	if (id < 0)
		fail("msgget(0x%x, 0%o): %s", (unsigned)key, mode, strerror(errno));
	return id;
}

/* The cyclic allocator hands out the following indexes before it reuses a freed one. */
static void churn(key_t key, unsigned mode)
{
	for (int i = 0; i < MAX_CHURN; i++) {
		int id = create(key, mode);
		if (index_of(id) != id) {
			add_queue(id, key, mode);
			return;
		}
		if (msgctl(id, IPC_RMID, NULL) != 0)
			fail("IPC_RMID %d: %s", id, strerror(errno));
	}
	fail("no index was reused in %d msgget calls", MAX_CHURN);
}

static pid_t start_child(void)
{
	if (fflush(stdout) != 0)
		fail("fflush: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	return pid;
}

static void wait_child(pid_t pid, const char *what)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("the %s child failed: status %d (%s)", what, status,
		     WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "signal");
}

static struct {
	long mtype;
	char mtext[MAX_SIZE];
} buffer;

static void send_step(struct queue *q, const char *list)
{
	long sizes[MAX_MESSAGES];
	size_t n = 0;
	char *copy = strdup(list);
	if (!copy)
		fail("out of memory");
	for (char *save, *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		if (n == MAX_MESSAGES || q->tail + n == MAX_MESSAGES)
			fail("too many messages");
		sizes[n++] = number(s, 10, "size");
		if (sizes[n - 1] > MAX_SIZE)
			fail("message too large: %ld", sizes[n - 1]);
	}
	free(copy);
	if (n == 0)
		fail("send: no sizes");
	pid_t pid = start_child();
	if (pid == 0) {
		buffer.mtype = 1;
		for (size_t i = 0; i < n; i++) {
			for (long b = 0; b < sizes[i]; b++)
				buffer.mtext[b] = (char)('a' + (b + (long)i) % 26);
			if (msgsnd(q->id, &buffer, (size_t)sizes[i], IPC_NOWAIT) != 0)
				_exit(errno);
		}
		_exit(0);
	}
	wait_child(pid, "sending");
	for (size_t i = 0; i < n; i++)
		q->sizes[q->tail++] = sizes[i];
	q->lspid = pid;
	q->st_epoch = epoch;
}

static void recv_step(struct queue *q, long n)
{
	if (n < 1 || (size_t)n > q->tail - q->head)
		fail("recv: queue %d holds %zu messages, not %ld", q->id, q->tail - q->head, n);
	pid_t pid = start_child();
	if (pid == 0) {
		for (long i = 0; i < n; i++) {
			ssize_t got = msgrcv(q->id, &buffer, sizeof buffer.mtext, 0, IPC_NOWAIT);
			if (got < 0)
				_exit(errno);
			if (got != q->sizes[q->head + (size_t)i])
				_exit(EBADMSG);
		}
		_exit(0);
	}
	wait_child(pid, "receiving");
	q->head += (size_t)n;
	q->lrpid = pid;
	q->rt_epoch = epoch;
}

/* IPC_SET from the current values, changing what change() changes. */
static int set_step(struct queue *q, unsigned long qbytes, uid_t uid, gid_t gid)
{
	struct msqid_ds ds = stat_of(q);
	ds.msg_qbytes = qbytes;
	ds.msg_perm.uid = uid;
	ds.msg_perm.gid = gid;
	if (msgctl(q->id, IPC_SET, &ds) != 0)
		return -1;
	q->qbytes = qbytes;
	q->uid = uid;
	q->gid = gid;
	q->ct_epoch = epoch;
	return 0;
}

static void give_step(struct queue *q, uid_t uid, gid_t gid)
{
	if (set_step(q, q->qbytes, uid, gid) == 0)
		q->gave = 1;
	else if (errno == EINVAL) /* ids this user namespace does not map */
		q->gave = 0;
	else
		fail("IPC_SET owner %u:%u: %s", (unsigned)uid, (unsigned)gid, strerror(errno));
}

static void tick(void)
{
	time_t start = time(NULL);
	while (time(NULL) <= start)
		sleep_ms(5);
	/* The kernel's seconds may trail the vDSO clock by a tick. */
	sleep_ms(20);
	epoch++;
}

static void probe(void)
{
	int id = create(IPC_PRIVATE, 0600);
	struct msqid_ds ds;
	if (msgctl(id, IPC_STAT, &ds) != 0)
		fail("probe IPC_STAT: %s", strerror(errno));
	ds.msg_qbytes = (unsigned long)msgmnb() + 1;
	int rc = msgctl(id, IPC_SET, &ds);
	if (rc != 0 && errno != EPERM)
		fail("probe IPC_SET: %s", strerror(errno));
	say(" cap=%s", rc == 0 ? "yes" : "no");
	if (msgctl(id, IPC_RMID, NULL) != 0)
		fail("probe IPC_RMID: %s", strerror(errno));
}

/* ---- checks ---- */

static long sum_queued(const struct queue *q)
{
	long sum = 0;
	for (size_t i = q->head; i < q->tail; i++)
		sum += q->sizes[i];
	return sum;
}

static void expect_field(const struct queue *q, const char *source, const char *field,
			 long long got, long long want)
{
	if (got != want)
		fail("queue %d: %s reports %s %lld, expected %lld", q->id, source, field, got,
		     want);
}

/* Times of events in different ticks must be ordered like the ticks. */
static void expect_order(const struct queue *q, const char *a, time_t ta, int ea, const char *b,
			 time_t tb, int eb)
{
	if (ea >= 0 && eb >= 0 && ((ea < eb && ta >= tb) || (ea > eb && ta <= tb)))
		fail("queue %d: %s %lld and %s %lld do not follow the clock", q->id, a,
		     (long long)ta, b, (long long)tb);
}

static void check_kernel(const struct queue *q, const struct msqid_ds *ds)
{
	expect_field(q, "IPC_STAT", "key", (unsigned)ds->msg_perm.__key, (unsigned)q->key);
	expect_field(q, "IPC_STAT", "mode", ds->msg_perm.mode & 0777, q->mode);
	expect_field(q, "IPC_STAT", "uid", ds->msg_perm.uid, q->uid);
	expect_field(q, "IPC_STAT", "gid", ds->msg_perm.gid, q->gid);
	expect_field(q, "IPC_STAT", "cuid", ds->msg_perm.cuid, geteuid());
	expect_field(q, "IPC_STAT", "cgid", ds->msg_perm.cgid, getegid());
	expect_field(q, "IPC_STAT", "qnum", (long long)ds->msg_qnum,
		     (long long)(q->tail - q->head));
	expect_field(q, "IPC_STAT", "cbytes", (long long)ds->msg_cbytes, sum_queued(q));
	expect_field(q, "IPC_STAT", "qbytes", (long long)ds->msg_qbytes, (long long)q->qbytes);
	expect_field(q, "IPC_STAT", "lspid", ds->msg_lspid, q->lspid);
	expect_field(q, "IPC_STAT", "lrpid", ds->msg_lrpid, q->lrpid);
	expect_field(q, "IPC_STAT", "stime set", ds->msg_stime != 0, q->st_epoch >= 0);
	expect_field(q, "IPC_STAT", "rtime set", ds->msg_rtime != 0, q->rt_epoch >= 0);
	expect_field(q, "IPC_STAT", "ctime set", ds->msg_ctime != 0, 1);
	expect_order(q, "ctime", ds->msg_ctime, q->ct_epoch, "stime", ds->msg_stime, q->st_epoch);
	expect_order(q, "ctime", ds->msg_ctime, q->ct_epoch, "rtime", ds->msg_rtime, q->rt_epoch);
	expect_order(q, "stime", ds->msg_stime, q->st_epoch, "rtime", ds->msg_rtime, q->rt_epoch);
}

/* Run ipcs with args (UTC, C locale) into out; false if ipcs cannot be run at all. */
static bool run_ipcs(char *const args[], char *out, size_t size)
{
	int fds[2];
	if (pipe(fds) != 0)
		fail("pipe: %s", strerror(errno));
	pid_t pid = start_child();
	if (pid == 0) {
		if (dup2(fds[1], STDOUT_FILENO) < 0 || setenv("TZ", "UTC0", 1) != 0 ||
		    setenv("LC_ALL", "C", 1) != 0)
			_exit(126);
		close(fds[0]);
		close(fds[1]);
		execvp("ipcs", args);
		_exit(127);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t got;
	while ((got = read(fds[0], out + n, size - 1 - n)) > 0)
		n += (size_t)got;
	if (got < 0)
		fail("read ipcs: %s", strerror(errno));
	out[n] = '\0';
	close(fds[0]);
	int status;
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return false;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("ipcs failed (status %d): %s", status, out);
	return true;
}

/* The number after "name=" (a whole word) in ipcs output, in base. */
static long long ipcs_number(const struct queue *q, const char *text, const char *name, int base)
{
	char pattern[32];
	snprintf(pattern, sizeof pattern, "%s=", name);
	for (const char *p = strstr(text, pattern); p; p = strstr(p + 1, pattern))
		if (p == text || p[-1] == '\t' || p[-1] == '\n' || p[-1] == ' ')
			return strtoll(p + strlen(pattern), NULL, base);
	fail("queue %d: ipcs -q -i shows no %s: %s", q->id, name, text);
}

/* ipcs prints a time as ctime(3) gives it, or "Not set" for 0. */
static time_t ipcs_time(const struct queue *q, const char *text, const char *name)
{
	char pattern[32];
	snprintf(pattern, sizeof pattern, "%s=", name);
	const char *p = strstr(text, pattern);
	if (!p)
		fail("queue %d: ipcs -q -i shows no %s", q->id, name);
	p += strlen(pattern);
	if (!strncmp(p, "Not set", 7))
		return 0;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!strptime(p, "%a %b %d %H:%M:%S %Y", &tm))
		fail("queue %d: cannot read the %s of ipcs: %.40s", q->id, name, p);
	return timegm(&tm);
}

static bool check_ipcs(const struct queue *q, const struct msqid_ds *ds)
{
	char text[4096], id[16];
	snprintf(id, sizeof id, "%d", q->id);
	if (!run_ipcs((char *[]){"ipcs", "-q", "-i", id, NULL}, text, sizeof text))
		return false;
	expect_field(q, "ipcs", "uid", ipcs_number(q, text, "uid", 10), ds->msg_perm.uid);
	expect_field(q, "ipcs", "gid", ipcs_number(q, text, "gid", 10), ds->msg_perm.gid);
	expect_field(q, "ipcs", "cuid", ipcs_number(q, text, "cuid", 10), ds->msg_perm.cuid);
	expect_field(q, "ipcs", "cgid", ipcs_number(q, text, "cgid", 10), ds->msg_perm.cgid);
	expect_field(q, "ipcs", "mode", ipcs_number(q, text, "mode", 8), ds->msg_perm.mode & 0777);
	expect_field(q, "ipcs", "cbytes", ipcs_number(q, text, "cbytes", 10),
		     (long long)ds->msg_cbytes);
	expect_field(q, "ipcs", "qbytes", ipcs_number(q, text, "qbytes", 10),
		     (long long)ds->msg_qbytes);
	expect_field(q, "ipcs", "qnum", ipcs_number(q, text, "qnum", 10), (long long)ds->msg_qnum);
	expect_field(q, "ipcs", "lspid", ipcs_number(q, text, "lspid", 10), ds->msg_lspid);
	expect_field(q, "ipcs", "lrpid", ipcs_number(q, text, "lrpid", 10), ds->msg_lrpid);
	expect_field(q, "ipcs", "send_time", ipcs_time(q, text, "send_time"), ds->msg_stime);
	expect_field(q, "ipcs", "rcv_time", ipcs_time(q, text, "rcv_time"), ds->msg_rtime);
	expect_field(q, "ipcs", "change_time", ipcs_time(q, text, "change_time"), ds->msg_ctime);
	return true;
}

/* `ipcs -q` must list exactly the queues that are left, with their keys. */
static void check_ipcs_list(void)
{
	char text[16384];
	if (!run_ipcs((char *[]){"ipcs", "-q", NULL}, text, sizeof text))
		return;
	int listed = 0;
	for (char *line = text; *line;) {
		unsigned key;
		int id;
		if (sscanf(line, "0x%x %d", &key, &id) == 2) {
			listed++;
			bool known = false;
			for (int i = 0; i < nqueues; i++)
				known |= queues[i].id == id && (unsigned)queues[i].key == key;
			if (!known)
				fail("ipcs -q lists queue %d (key 0x%08x), which was not made so",
				     id, key);
		}
		char *end = strchr(line, '\n');
		line = end ? end + 1 : line + strlen(line);
	}
	int left = 0;
	for (int i = 0; i < nqueues; i++)
		left += queues[i].id >= 0;
	if (listed != left)
		fail("ipcs -q lists %d queues, expected %d", listed, left);
}

static void finish(void)
{
	bool ipcs = true;
	for (int i = 0; i < nqueues; i++) {
		const struct queue *q = &queues[i];
		if (q->id < 0)
			continue;
		struct msqid_ds ds = stat_of(q);
		check_kernel(q, &ds);
		ipcs &= check_ipcs(q, &ds);
		say(" q%d=%d@%d", i, q->id, index_of(q->id));
		if (q->gave >= 0)
			say(" g%d=%s", i, q->gave ? "yes" : "no");
		if (q->show)
			say(" ls%d=%d lr%d=%d st%d=%lld rt%d=%lld ct%d=%lld", i, (int)ds.msg_lspid,
			    i, (int)ds.msg_lrpid, i, (long long)ds.msg_stime, i,
			    (long long)ds.msg_rtime, i, (long long)ds.msg_ctime);
	}
	if (ipcs)
		check_ipcs_list();
	say(" ipcs=%s", ipcs ? "ok" : "absent");
	if (output_len > OUTPUT_MAX)
		fail("output too long for the harness (%zu characters): %s", output_len, output);
	printf("%s\n", output);
	if (fflush(stdout) != 0)
		fail("write: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	say("uid=%u gid=%u", (unsigned)geteuid(), (unsigned)getegid());
	for (int i = 1; i < argc;) {
		const char *step = argv[i];
		int left = argc - i - 1;
		if (!strcmp(step, "new") && left >= 2) {
			key_t key = (key_t)number(argv[i + 1], 16, "key");
			unsigned mode = (unsigned)number(argv[i + 2], 8, "mode");
			add_queue(create(key, mode), key, mode);
			i += 3;
		} else if (!strcmp(step, "churn") && left >= 2) {
			churn((key_t)number(argv[i + 1], 16, "key"),
			      (unsigned)number(argv[i + 2], 8, "mode"));
			i += 3;
		} else if (!strcmp(step, "send") && left >= 2) {
			send_step(queue_arg(argv[i + 1]), argv[i + 2]);
			i += 3;
		} else if (!strcmp(step, "recv") && left >= 2) {
			recv_step(queue_arg(argv[i + 1]), number(argv[i + 2], 10, "count"));
			i += 3;
		} else if (!strcmp(step, "qbytes") && left >= 2) {
			struct queue *q = queue_arg(argv[i + 1]);
			if (set_step(q, (unsigned long)number(argv[i + 2], 10, "qbytes"), q->uid,
				     q->gid) != 0)
				fail("IPC_SET qbytes %s: %s", argv[i + 2], strerror(errno));
			i += 3;
		} else if (!strcmp(step, "give") && left >= 3) {
			give_step(queue_arg(argv[i + 1]), (uid_t)number(argv[i + 2], 10, "uid"),
				  (gid_t)number(argv[i + 3], 10, "gid"));
			i += 4;
		} else if (!strcmp(step, "rm") && left >= 1) {
			struct queue *q = queue_arg(argv[i + 1]);
			if (msgctl(q->id, IPC_RMID, NULL) != 0)
				fail("IPC_RMID %d: %s", q->id, strerror(errno));
			say(" x%d=%d", (int)(q - queues), q->id);
			q->id = -1;
			i += 2;
		} else if (!strcmp(step, "tick")) {
			tick();
			i += 1;
		} else if (!strcmp(step, "show") && left >= 1) {
			queue_arg(argv[i + 1])->show = true;
			i += 2;
		} else if (!strcmp(step, "probe")) {
			probe();
			i += 1;
		} else {
			fail("bad step at argument %d: %s", i, step);
		}
	}
	finish();
	return 0;
}

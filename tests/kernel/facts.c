/*
 * Each test checks one System V message queue behaviour that the handouts
 * teach or the grader relies on (see kernel-facts.md), on the running kernel.
 * Every test runs in a private IPC namespace (private_ipc.h): it starts with
 * no queues and the default limits, and whatever it creates dies with it.
 *
 * Forked children report through their exit code and end in _exit()
 * (children.h).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "children.h"
#include "private_ipc.h"
#include "queues.h"

#define TEXT_MAX       1024
#define DEFAULT_MSGMAX 8192
#define DEFAULT_MSGMNB 16384
#define DEFAULT_MSGMNI 32000
#define CHILD_NO_CAP   251
#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))

/* The inode number of the initial user namespace, fixed by the kernel (PROC_USER_INIT_INO). */
#define INITIAL_USERNS_INO 0xEFFFFFFDUL

struct text_msg {
	long mtype;
	char mtext[TEXT_MAX];
};

struct index_msg {
	long mtype;
	int index;
};

struct flex_msg {
	long mtype;
	char mtext[];
};

/* The batch the selection tests send: kernel-facts.md's example. */
static const long example_types[] = {3, 1, 2, 1, 3, 2, 5};
#define EXAMPLE_N ARRAY_SIZE(example_types)

/* ---- helpers that never call cr_* (children use them) ---- */

/* Read one decimal number from a /proc file; 0, or -1 with errno set. */
static int read_long_file(const char *path, long *value)
{
	char text[64];
	ssize_t got;
	char *end;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	got = read(fd, text, sizeof(text) - 1);
	if (got < 0) {
		int saved = errno;

		(void)close(fd); /* already failing; the first error is the one to report */
		errno = saved;
		return -1;
	}
	if (close(fd) != 0)
		return -1;
	text[got] = '\0';
	errno = 0;
	*value = strtol(text, &end, 10);
	if (errno != 0 || end == text) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* ---- helpers for the test process ---- */

static int new_queue(void)
{
	int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);

	cr_assert(id >= 0, "msgget(IPC_PRIVATE): %s", strerror(errno));
	return id;
}

static long read_limit(const char *path)
{
	long value;

	cr_assert(read_long_file(path, &value) == 0, "read %s: %s", path, strerror(errno));
	return value;
}

/* Send size bytes of a recognisable pattern without blocking. */
static void send_text(int id, long type, size_t size)
{
	struct text_msg m = {.mtype = type};

	cr_assert(size <= sizeof(m.mtext), "message of %zu bytes too large for the helper", size);
	for (size_t i = 0; i < size; i++)
		m.mtext[i] = (char)('a' + i % 26);
	cr_assert(msgsnd(id, &m, size, IPC_NOWAIT) == 0, "msgsnd %zu bytes: %s", size,
		  strerror(errno));
}

static void send_batch(int id, const long *types, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct index_msg m = {.mtype = types[i], .index = (int)i};

		cr_assert(msgsnd(id, &m, sizeof(m.index), IPC_NOWAIT) == 0, "msgsnd #%zu: %s", i,
			  strerror(errno));
	}
}

/* Receive until ENOMSG; store the indices received. Returns how many. */
static size_t drain(int id, long msgtyp, int flags, int *order, size_t max)
{
	size_t got = 0;

	for (;;) {
		struct index_msg m;
		ssize_t r = msgrcv(id, &m, sizeof(m.index), msgtyp, flags | IPC_NOWAIT);

		if (r < 0) {
			cr_assert(errno == ENOMSG, "msgrcv(msgtyp %ld): %s", msgtyp,
				  strerror(errno));
			return got;
		}
		cr_assert(got < max, "msgrcv(msgtyp %ld) returned more than %zu messages", msgtyp,
			  max);
		order[got++] = m.index;
	}
}

static void assert_order(const int *got, size_t n, const int *want, size_t want_n, const char *what)
{
	cr_assert(n == want_n, "%s: received %zu messages, expected %zu", what, n, want_n);
	for (size_t i = 0; i < n; i++)
		cr_assert(got[i] == want[i], "%s: message %zu is #%d (type %ld), expected #%d",
			  what, i, got[i], example_types[got[i]], want[i]);
}

static const char *errno_name(int e)
{
	return e == 0 ? "success" : strerror(e);
}

static int has_effective_cap(int cap)
{
	int has = effective_cap(cap);

	cr_assert(has >= 0, "cannot read CapEff from /proc/self/status");
	return has;
}

static int in_initial_userns(void)
{
	struct stat st;

	cr_assert(stat("/proc/self/ns/user", &st) == 0, "stat /proc/self/ns/user: %s",
		  strerror(errno));
	return (unsigned long)st.st_ino == INITIAL_USERNS_INO;
}

static volatile sig_atomic_t signal_seen;

static void note_signal(int sig)
{
	(void)sig;
	signal_seen = 1;
}

/* A handler with SA_RESTART, the case in which one would expect the call to be restarted. */
static void install_restarting_handler(int sig)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = note_signal;
	sa.sa_flags = SA_RESTART;
	cr_assert(sigemptyset(&sa.sa_mask) == 0, "sigemptyset failed");
	cr_assert(sigaction(sig, &sa, NULL) == 0, "sigaction: %s", strerror(errno));
	cr_assert(sigemptyset(&set) == 0 && sigaddset(&set, sig) == 0, "sigset failed");
	cr_assert(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0, "sigprocmask: %s", strerror(errno));
	signal_seen = 0;
}

/*
 * Child: signal thread tid of process pid once it sleeps in system call nr,
 * then, after a pause, unblock that call the ordinary way (send a message to
 * queue id, or receive one from it), so that a call the kernel restarted
 * would end in success instead of hanging the test. It signals even if it
 * never saw the call block; its exit code says which happened.
 */
static void signal_when_blocked(pid_t pid, pid_t tid, long nr, int id, int unblock_by_sending)
{
	int seen = wait_blocked_in(pid, tid, nr, CHILD_DEADLINE_MS / 2) == 0;
	struct text_msg m = {.mtype = 1};

	if (tgkill(pid, tid, SIGUSR1) != 0)
		_exit(CHILD_BROKEN);
	sleep_ms(200);
	if (unblock_by_sending ? msgsnd(id, &m, 1, IPC_NOWAIT) != 0
			       : msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT) < 0)
		_exit(CHILD_BROKEN);
	_exit(seen ? 0 : CHILD_BROKEN);
}

/* ---- return values and selection ---- */

/* msgrcv returns the number of bytes copied into mtext, not 0 (0 only for an empty message). */
Test(facts, msgrcv_returns_bytes, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m;
	int id = new_queue();
	ssize_t r;

	send_text(id, 1, 37);
	send_text(id, 1, 0);
	r = msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT);
	cr_assert(r == 37, "msgrcv of a 37-byte message returned %zd (%s)", r,
		  r < 0 ? strerror(errno) : "bytes");
	r = msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT);
	cr_assert(r == 0, "msgrcv of an empty message returned %zd", r);
	remove_queue(id);
}

/* msgsnd copies the bytes into the kernel before it returns: the sender may reuse its buffer
 * at once, and the receiver still gets what was sent (msgrcv copies them out again). */
Test(facts, msgsnd_copies_the_message, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg out = {.mtype = 1}, in;
	int id = new_queue();

	memcpy(out.mtext, "sent", 4);
	cr_assert(msgsnd(id, &out, 4, 0) == 0, "msgsnd: %s", strerror(errno));
	memcpy(out.mtext, "over", 4);
	ssize_t r = msgrcv(id, &in, sizeof(in.mtext), 0, IPC_NOWAIT);
	cr_assert(r == 4 && memcmp(in.mtext, "sent", 4) == 0,
		  "after the sender overwrote its buffer, msgrcv gave %zd bytes \"%.*s\"", r,
		  r > 0 ? (int)r : 0, in.mtext);
	remove_queue(id);
}

/* With msgtyp 0, messages come out in the order they were sent, whatever their types. */
Test(facts, fifo_with_msgtyp_zero, .init = private_ipc_init, .timeout = 10)
{
	static const int want[] = {0, 1, 2, 3, 4, 5, 6};
	int got[EXAMPLE_N];
	int id = new_queue();
	size_t n;

	send_batch(id, example_types, EXAMPLE_N);
	n = drain(id, 0, 0, got, EXAMPLE_N);
	assert_order(got, n, want, ARRAY_SIZE(want), "msgtyp 0");
	remove_queue(id);
}

/* msgtyp > 0 receives only that type, first in first out within it; the rest stays. */
Test(facts, msgtyp_positive_selects_type, .init = private_ipc_init, .timeout = 10)
{
	static const int want[] = {2, 5};
	int got[EXAMPLE_N];
	int id = new_queue();
	size_t n;

	send_batch(id, example_types, EXAMPLE_N);
	n = drain(id, 2, 0, got, EXAMPLE_N);
	assert_order(got, n, want, ARRAY_SIZE(want), "msgtyp 2");
	cr_assert(queue_stat(id).msg_qnum == 5, "the other five messages must stay queued");
	remove_queue(id);
}

/* msgtyp < 0 receives the lowest type not above |msgtyp| first, FIFO within a type. */
Test(facts, msgtyp_negative_lowest_first, .init = private_ipc_init, .timeout = 10)
{
	static const int want2[] = {1, 3, 2, 5};       /* types 1 1 2 2 */
	static const int want3[] = {1, 3, 2, 5, 0, 4}; /* types 1 1 2 2 3 3 */
	int got[EXAMPLE_N];
	int id = new_queue();
	size_t n;

	send_batch(id, example_types, EXAMPLE_N);
	n = drain(id, -2, 0, got, EXAMPLE_N);
	assert_order(got, n, want2, ARRAY_SIZE(want2), "msgtyp -2");
	remove_queue(id);

	id = new_queue();
	send_batch(id, example_types, EXAMPLE_N);
	n = drain(id, -3, 0, got, EXAMPLE_N);
	assert_order(got, n, want3, ARRAY_SIZE(want3), "msgtyp -3");
	cr_assert(queue_stat(id).msg_qnum == 1, "the type 5 message must stay queued");
	remove_queue(id);
}

/* MSG_EXCEPT with msgtyp > 0 receives every other type, FIFO; with msgtyp <= 0 it is ignored. */
Test(facts, msg_except_skips_type, .init = private_ipc_init, .timeout = 10)
{
	static const int want_except2[] = {0, 1, 3, 4, 6};
	static const int want_fifo[] = {0, 1, 2, 3, 4, 5, 6};
	static const int want_lowest[] = {1, 3, 2, 5};
	int got[EXAMPLE_N];
	int id = new_queue();
	size_t n;

	send_batch(id, example_types, EXAMPLE_N);
	n = drain(id, 2, MSG_EXCEPT, got, EXAMPLE_N);
	assert_order(got, n, want_except2, ARRAY_SIZE(want_except2), "msgtyp 2 with MSG_EXCEPT");
	cr_assert(queue_stat(id).msg_qnum == 2, "both type 2 messages must stay queued");
	remove_queue(id);

	id = new_queue();
	send_batch(id, example_types, EXAMPLE_N);
	n = drain(id, 0, MSG_EXCEPT, got, EXAMPLE_N);
	assert_order(got, n, want_fifo, ARRAY_SIZE(want_fifo), "msgtyp 0 with MSG_EXCEPT");
	remove_queue(id);

	id = new_queue();
	send_batch(id, example_types, EXAMPLE_N);
	n = drain(id, -2, MSG_EXCEPT, got, EXAMPLE_N);
	assert_order(got, n, want_lowest, ARRAY_SIZE(want_lowest), "msgtyp -2 with MSG_EXCEPT");
	remove_queue(id);
}

/* MSG_COPY | IPC_NOWAIT with msgtyp N copies the message at position N; the queue is unchanged. */
Test(facts, msg_copy_peeks_by_position, .init = private_ipc_init, .timeout = 10)
{
	struct index_msg m;
	int id = new_queue();
	ssize_t r;

	send_batch(id, example_types, EXAMPLE_N);
	r = msgrcv(id, &m, sizeof(m.index), 2, MSG_COPY | IPC_NOWAIT);
	if (r < 0 && errno == ENOSYS)
		cr_skip_test("MSG_COPY needs CONFIG_CHECKPOINT_RESTORE");
	cr_assert(r == (ssize_t)sizeof(m.index), "MSG_COPY of position 2: %s",
		  r < 0 ? strerror(errno) : "wrong size");
	cr_assert(m.index == 2 && m.mtype == example_types[2],
		  "MSG_COPY 2 returned message #%d of type %ld", m.index, m.mtype);
	cr_assert(queue_stat(id).msg_qnum == EXAMPLE_N, "MSG_COPY must not remove the message");
	r = msgrcv(id, &m, sizeof(m.index), (long)EXAMPLE_N, MSG_COPY | IPC_NOWAIT);
	cr_assert(r < 0 && errno == ENOMSG, "MSG_COPY past the end: %s",
		  r < 0 ? strerror(errno) : "succeeded");
	r = msgrcv(id, &m, sizeof(m.index), 0, MSG_COPY);
	cr_assert(r < 0 && errno == EINVAL, "MSG_COPY without IPC_NOWAIT: %s",
		  r < 0 ? strerror(errno) : "succeeded");
	remove_queue(id);
}

/* ---- non-blocking calls and capacity ---- */

/* msgrcv with IPC_NOWAIT and nothing matching fails with ENOMSG (not EAGAIN). */
Test(facts, nowait_empty_gives_enomsg, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m;
	int id = new_queue();
	ssize_t r;

	r = msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT);
	cr_assert(r < 0 && errno == ENOMSG, "msgrcv on an empty queue: %s",
		  r < 0 ? strerror(errno) : "succeeded");
	send_text(id, 1, 1);
	r = msgrcv(id, &m, sizeof(m.mtext), 2, IPC_NOWAIT);
	cr_assert(r < 0 && errno == ENOMSG, "msgrcv of an absent type: %s",
		  r < 0 ? strerror(errno) : "succeeded");
	remove_queue(id);
}

/* A full queue makes msgsnd with IPC_NOWAIT fail with EAGAIN: 16 x 1000 B fit in 16384, not 17. */
Test(facts, nowait_full_gives_eagain, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m = {.mtype = 1};
	struct msqid_ds ds;
	int id = new_queue();

	cr_assert(queue_stat(id).msg_qbytes == DEFAULT_MSGMNB, "expected the default msg_qbytes");
	for (int i = 0; i < 16; i++)
		send_text(id, 1, 1000);
	cr_assert(msgsnd(id, &m, 1000, IPC_NOWAIT) != 0 && errno == EAGAIN,
		  "17th 1000-byte message: %s", errno_name(errno));
	ds = queue_stat(id);
	cr_assert(ds.msg_qnum == 16 && ds.msg_cbytes == 16000, "qnum %lu cbytes %lu",
		  (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_cbytes);
	remove_queue(id);
}

/* msg_qbytes also caps the message count: with qbytes 5, five empty messages fit, a sixth not. */
Test(facts, message_count_limited_by_qbytes, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m = {.mtype = 1};
	int id = new_queue();
	struct msqid_ds ds = queue_stat(id);

	/* lowering msg_qbytes needs no capability */
	ds.msg_qbytes = 5;
	cr_assert(msgctl(id, IPC_SET, &ds) == 0, "IPC_SET msg_qbytes 5: %s", strerror(errno));
	for (int i = 0; i < 5; i++)
		cr_assert(msgsnd(id, &m, 0, IPC_NOWAIT) == 0, "empty message %d: %s", i + 1,
			  strerror(errno));
	cr_assert(msgsnd(id, &m, 0, IPC_NOWAIT) != 0 && errno == EAGAIN,
		  "sixth empty message with msg_qbytes 5: %s", errno_name(errno));
	ds = queue_stat(id);
	cr_assert(ds.msg_qnum == 5 && ds.msg_cbytes == 0, "qnum %lu cbytes %lu",
		  (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_cbytes);
	remove_queue(id);
}

/* A buffer smaller than the message gives E2BIG, and the message stays queued intact. */
Test(facts, e2big_keeps_message, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m;
	int id = new_queue();
	ssize_t r;

	send_text(id, 1, 100);
	r = msgrcv(id, &m, 10, 0, IPC_NOWAIT);
	cr_assert(r < 0 && errno == E2BIG, "msgrcv with a 10-byte buffer: %s",
		  r < 0 ? strerror(errno) : "succeeded");
	cr_assert(queue_stat(id).msg_qnum == 1, "the message must stay queued");
	r = msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT);
	cr_assert(r == 100, "msgrcv afterwards returned %zd", r);
	for (int i = 0; i < 100; i++)
		cr_assert(m.mtext[i] == (char)('a' + i % 26), "byte %d changed", i);
	remove_queue(id);
}

/* With MSG_NOERROR the message is cut to the buffer size, and the rest is lost. */
Test(facts, msg_noerror_truncates, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m;
	struct msqid_ds ds;
	int id = new_queue();
	ssize_t r;

	send_text(id, 1, 100);
	r = msgrcv(id, &m, 10, 0, IPC_NOWAIT | MSG_NOERROR);
	cr_assert(r == 10, "msgrcv with MSG_NOERROR and a 10-byte buffer returned %zd (%s)", r,
		  r < 0 ? strerror(errno) : "bytes");
	cr_assert(memcmp(m.mtext, "abcdefghij", 10) == 0, "the first 10 bytes must arrive");
	ds = queue_stat(id);
	cr_assert(ds.msg_qnum == 0 && ds.msg_cbytes == 0, "the other 90 bytes must be discarded");
	remove_queue(id);
}

/* msgsnd of MSGMAX bytes succeeds, of MSGMAX + 1 fails with EINVAL (not EAGAIN). */
Test(facts, msgsnd_above_msgmax_einval, .init = private_ipc_init, .timeout = 10)
{
	long msgmax = read_limit("/proc/sys/kernel/msgmax");
	int id = new_queue();
	struct flex_msg *m;

	cr_assert(msgmax > 0 && (unsigned long)msgmax <= queue_stat(id).msg_qbytes,
		  "msgmax %ld does not fit the queue", msgmax);
	m = calloc(1, sizeof(*m) + (size_t)msgmax + 1);
	cr_assert(m != NULL, "out of memory");
	m->mtype = 1;
	memset(m->mtext, 'x', (size_t)msgmax + 1);
	cr_assert(msgsnd(id, m, (size_t)msgmax, IPC_NOWAIT) == 0, "msgsnd of %ld bytes: %s", msgmax,
		  strerror(errno));
	cr_assert(msgsnd(id, m, (size_t)msgmax + 1, IPC_NOWAIT) != 0 && errno == EINVAL,
		  "msgsnd of msgmax + 1 = %ld bytes: %s", msgmax + 1, errno_name(errno));
	free(m);
	remove_queue(id);
}

/* ---- invalid arguments ---- */

/* mtype must be positive: 0 or negative gives EINVAL. */
Test(facts, mtype_zero_or_negative_einval, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m = {.mtype = 0};
	int id = new_queue();

	cr_assert(msgsnd(id, &m, 1, IPC_NOWAIT) != 0 && errno == EINVAL, "mtype 0: %s",
		  errno_name(errno));
	m.mtype = -1;
	cr_assert(msgsnd(id, &m, 1, IPC_NOWAIT) != 0 && errno == EINVAL, "mtype -1: %s",
		  errno_name(errno));
	cr_assert(queue_stat(id).msg_qnum == 0, "nothing may have been queued");
	remove_queue(id);
}

/* A msqid of -1, or one that never existed, gives EINVAL from every call. */
Test(facts, bad_msqid_einval, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m = {.mtype = 1};
	struct msqid_ds ds;
	int id = new_queue();
	const int bad[] = {-1, id + 1, id + 32768};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cr_assert(msgsnd(bad[i], &m, 1, IPC_NOWAIT) != 0 && errno == EINVAL,
			  "msgsnd to %d: %s", bad[i], errno_name(errno));
		cr_assert(msgrcv(bad[i], &m, sizeof(m.mtext), 0, IPC_NOWAIT) < 0 && errno == EINVAL,
			  "msgrcv from %d: %s", bad[i], errno_name(errno));
		cr_assert(msgctl(bad[i], IPC_STAT, &ds) != 0 && errno == EINVAL,
			  "IPC_STAT of %d: %s", bad[i], errno_name(errno));
	}
	remove_queue(id);
}

/* Every call on an id that was removed gives EINVAL. */
Test(facts, removed_queue_gives_einval, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m = {.mtype = 1};
	struct msqid_ds ds;
	int id = new_queue();

	remove_queue(id);
	cr_assert(msgsnd(id, &m, 1, IPC_NOWAIT) != 0 && errno == EINVAL, "msgsnd: %s",
		  errno_name(errno));
	cr_assert(msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT) < 0 && errno == EINVAL,
		  "msgrcv: %s", errno_name(errno));
	cr_assert(msgctl(id, IPC_STAT, &ds) != 0 && errno == EINVAL, "IPC_STAT: %s",
		  errno_name(errno));
	cr_assert(msgctl(id, IPC_RMID, NULL) != 0 && errno == EINVAL, "second IPC_RMID: %s",
		  errno_name(errno));
}

/* ---- blocking calls ---- */

/* A receiver blocked in msgrcv when the queue is removed wakes with EIDRM. */
Test(facts, blocked_receiver_gets_eidrm_on_removal, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue();
	pid_t pid = fork_child();
	int code;

	if (pid == 0) {
		struct text_msg m;
		ssize_t r = msgrcv(id, &m, sizeof(m.mtext), 0, 0);

		_exit(r < 0 ? errno : 0);
	}
	cr_assert(wait_blocked_in(pid, pid, NR_MSGRCV, CHILD_DEADLINE_MS) == 0,
		  "the child never blocked in msgrcv");
	remove_queue(id);
	code = child_exit_code(pid);
	cr_assert(code == EIDRM, "the blocked msgrcv ended with %s, expected EIDRM",
		  errno_name(code));
}

/* A sender blocked in msgsnd on a full queue wakes with EIDRM when the queue is removed. */
Test(facts, blocked_sender_gets_eidrm_on_removal, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue();
	pid_t pid;
	int code;

	for (int i = 0; i < 16; i++)
		send_text(id, 1, 1000);
	pid = fork_child();
	if (pid == 0) {
		struct text_msg m = {.mtype = 1};

		_exit(msgsnd(id, &m, 1000, 0) != 0 ? errno : 0);
	}
	cr_assert(wait_blocked_in(pid, pid, NR_MSGSND, CHILD_DEADLINE_MS) == 0,
		  "the child never blocked in msgsnd");
	remove_queue(id);
	code = child_exit_code(pid);
	cr_assert(code == EIDRM, "the blocked msgsnd ended with %s, expected EIDRM",
		  errno_name(code));
}

/* A handled signal interrupts a blocked msgrcv with EINTR even when the handler has SA_RESTART. */
Test(facts, signal_interrupts_with_eintr_despite_sa_restart, .init = private_ipc_init,
     .timeout = 10)
{
	struct text_msg m;
	pid_t self = getpid(), tid = gettid();
	int id = new_queue();
	pid_t pid;
	ssize_t r;

	install_restarting_handler(SIGUSR1);
	pid = fork_child();
	if (pid == 0)
		signal_when_blocked(self, tid, NR_MSGRCV, id, 1);
	r = msgrcv(id, &m, sizeof(m.mtext), 0, 0);
	cr_assert(r < 0 && errno == EINTR, "the interrupted msgrcv: %s",
		  r < 0 ? strerror(errno) : "succeeded");
	cr_assert(signal_seen, "the handler did not run");
	cr_assert(child_exit_code(pid) == 0, "the child did not see msgrcv blocked");
	remove_queue(id);
}

/* The same for a msgsnd blocked on a full queue: EINTR despite SA_RESTART. */
Test(facts, signal_interrupts_blocked_msgsnd_with_eintr, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m = {.mtype = 1};
	pid_t self = getpid(), tid = gettid();
	int id = new_queue();
	pid_t pid;

	for (int i = 0; i < 16; i++)
		send_text(id, 1, 1000);
	install_restarting_handler(SIGUSR1);
	pid = fork_child();
	if (pid == 0)
		signal_when_blocked(self, tid, NR_MSGSND, id, 0);
	cr_assert(msgsnd(id, &m, 1000, 0) != 0 && errno == EINTR, "the interrupted msgsnd: %s",
		  errno_name(errno));
	cr_assert(signal_seen, "the handler did not run");
	cr_assert(child_exit_code(pid) == 0, "the child did not see msgsnd blocked");
	remove_queue(id);
}

/* ---- msgget ---- */

/* msgget(key, 0) for a key with no queue fails with ENOENT. */
Test(facts, msgget_absent_key_enoent, .init = private_ipc_init, .timeout = 10)
{
	const key_t key = 0x4c414230;

	cr_assert(msgget(key, 0) < 0 && errno == ENOENT, "msgget(absent key, 0): %s",
		  errno_name(errno));
	cr_assert(msgget(key, 0600) < 0 && errno == ENOENT, "msgget(absent key, 0600): %s",
		  errno_name(errno));
}

/* IPC_CREAT | IPC_EXCL on an existing key gives EEXIST; without IPC_EXCL, the same queue. */
Test(facts, msgget_excl_existing_eexist, .init = private_ipc_init, .timeout = 10)
{
	const key_t key = 0x4c414231;
	int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);

	cr_assert(id >= 0, "msgget(IPC_CREAT | IPC_EXCL) of a new key: %s", strerror(errno));
	cr_assert(msgget(key, IPC_CREAT | IPC_EXCL | 0600) < 0 && errno == EEXIST,
		  "second IPC_CREAT | IPC_EXCL: %s", errno_name(errno));
	cr_assert(msgget(key, IPC_CREAT | 0600) == id, "IPC_CREAT alone must return the same id");
	cr_assert(msgget(key, 0) == id, "msgget(key, 0) must return the same id");
	remove_queue(id);
}

/* IPC_PRIVATE creates a new queue every time, IPC_EXCL or not. */
Test(facts, ipc_private_always_new, .init = private_ipc_init, .timeout = 10)
{
	int a = new_queue();
	int b = new_queue();
	int c = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);

	cr_assert(c >= 0, "msgget(IPC_PRIVATE, IPC_EXCL): %s", strerror(errno));
	cr_assert(a != b && b != c && a != c, "ids %d %d %d must differ", a, b, c);
	remove_queue(a);
	remove_queue(b);
	remove_queue(c);
}

/* The first queue of a fresh IPC namespace has id 0, so 0 cannot mean "no queue". */
Test(facts, first_queue_id_is_zero, .init = private_ipc_init, .timeout = 10)
{
	int first = new_queue();
	int second = new_queue();

	cr_assert(first == 0, "first id %d, expected 0", first);
	cr_assert(second != 0, "the second queue must get another id");
	remove_queue(first);
	remove_queue(second);
}

/* Ids are handed out in increasing order: a removed queue's id is not reused by the next msgget. */
Test(facts, removed_id_not_reused_at_once, .init = private_ipc_init, .timeout = 10)
{
	int first = new_queue();
	int second;

	remove_queue(first);
	second = new_queue();
	cr_assert(second != first, "the removed id %d came back at once", first);
	remove_queue(second);
}

/* When the namespace's msgmni is 0, msgget fails with ENOSPC (the grader's way to make it fail). */
Test(facts, msgmni_zero_makes_msgget_fail_enospc, .init = private_ipc_init, .timeout = 10)
{
	char why[256] = "";

	cr_assert(private_ipc_write_file("/proc/sys/kernel/msgmni", "0", why, sizeof(why)) == 0,
		  "%s", why);
	cr_assert(read_limit("/proc/sys/kernel/msgmni") == 0, "msgmni did not change");
	cr_assert(msgget(IPC_PRIVATE, IPC_CREAT | 0600) < 0 && errno == ENOSPC,
		  "msgget with msgmni 0: %s", errno_name(errno));
}

/* ---- msgctl ---- */

/* A new queue: qnum 0, stime 0, rtime 0, ctime now, qbytes 16384 (MSGMNB), lspid 0, lrpid 0. */
Test(facts, ipc_stat_after_creation, .init = private_ipc_init, .timeout = 10)
{
	time_t before = time(NULL), after;
	int id = new_queue();
	struct msqid_ds ds = queue_stat(id);

	after = time(NULL);
	cr_assert(ds.msg_qnum == 0 && ds.msg_cbytes == 0, "qnum %lu cbytes %lu",
		  (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_cbytes);
	cr_assert(ds.msg_stime == 0 && ds.msg_rtime == 0, "stime %lld rtime %lld",
		  (long long)ds.msg_stime, (long long)ds.msg_rtime);
	cr_assert(ds.msg_ctime >= before && ds.msg_ctime <= after, "ctime %lld not in [%lld, %lld]",
		  (long long)ds.msg_ctime, (long long)before, (long long)after);
	cr_assert(ds.msg_qbytes == DEFAULT_MSGMNB, "qbytes %lu", (unsigned long)ds.msg_qbytes);
	cr_assert(ds.msg_lspid == 0 && ds.msg_lrpid == 0, "lspid %d lrpid %d", (int)ds.msg_lspid,
		  (int)ds.msg_lrpid);
	cr_assert(ds.msg_perm.uid == geteuid() && ds.msg_perm.cuid == geteuid() &&
		      ds.msg_perm.gid == getegid() && ds.msg_perm.cgid == getegid(),
		  "owner and creator must be the caller");
	cr_assert((ds.msg_perm.mode & 0777) == 0600, "mode %o", ds.msg_perm.mode & 0777);
	remove_queue(id);
}

/*
 * After A sends twice and B receives once: qnum 1, lspid A, lrpid B, stime
 * and rtime set, ctime unchanged; IPC_SET then updates ctime.
 */
Test(facts, ipc_stat_tracks_lspid_lrpid, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m;
	int id = new_queue();
	struct msqid_ds created = queue_stat(id), ds;
	pid_t sender;
	ssize_t r;

	/* so that a ctime update by send or receive would show */
	wait_past_second(created.msg_ctime);
	sender = fork_child();
	if (sender == 0) {
		struct text_msg out = {.mtype = 1};

		if (msgsnd(id, &out, 1, IPC_NOWAIT) != 0 || msgsnd(id, &out, 1, IPC_NOWAIT) != 0)
			_exit(errno);
		_exit(0);
	}
	cr_assert(child_exit_code(sender) == 0, "the sending child failed");
	r = msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT);
	cr_assert(r == 1, "msgrcv: %s", r < 0 ? strerror(errno) : "wrong size");

	ds = queue_stat(id);
	cr_assert(ds.msg_qnum == 1, "qnum %lu", (unsigned long)ds.msg_qnum);
	cr_assert(ds.msg_lspid == sender, "lspid %d, the sender was %d", (int)ds.msg_lspid,
		  (int)sender);
	cr_assert(ds.msg_lrpid == getpid(), "lrpid %d, the receiver was %d", (int)ds.msg_lrpid,
		  (int)getpid());
	cr_assert(ds.msg_stime > created.msg_ctime && ds.msg_rtime > created.msg_ctime,
		  "stime %lld and rtime %lld must be set", (long long)ds.msg_stime,
		  (long long)ds.msg_rtime);
	cr_assert(ds.msg_ctime == created.msg_ctime, "send and receive changed ctime");

	cr_assert(msgctl(id, IPC_SET, &ds) == 0, "IPC_SET: %s", strerror(errno));
	cr_assert(queue_stat(id).msg_ctime > created.msg_ctime, "IPC_SET must update ctime");
	remove_queue(id);
}

/*
 * Raising msg_qbytes above MSGMNB needs CAP_SYS_RESOURCE, and the kernel
 * checks it with capable(), i.e. in the initial user namespace: uid 0 alone
 * is not enough, and neither is having it in the user namespace that owns
 * the IPC namespace. EPERM unless the process has it there.
 */
Test(facts, ipc_set_qbytes_above_msgmnb_needs_cap_sys_resource, .init = private_ipc_init,
     .timeout = 10)
{
	long msgmnb = read_limit("/proc/sys/kernel/msgmnb");
	int has_cap = has_effective_cap(CAP_SYS_RESOURCE);
	int initial = in_initial_userns();
	int id = new_queue();
	struct msqid_ds ds = queue_stat(id);
	int rc;

	ds.msg_qbytes = (unsigned long)msgmnb + 1;
	rc = msgctl(id, IPC_SET, &ds);
	if (has_cap && initial) {
		cr_assert(rc == 0, "IPC_SET qbytes MSGMNB + 1 with CAP_SYS_RESOURCE: %s",
			  strerror(errno));
		cr_assert(queue_stat(id).msg_qbytes == (unsigned long)msgmnb + 1,
			  "qbytes unchanged");
	} else {
		cr_assert(rc != 0 && errno == EPERM,
			  "IPC_SET qbytes MSGMNB + 1 without CAP_SYS_RESOURCE in the initial user "
			  "namespace (euid %d, CapEff has it: %d, initial userns: %d): %s",
			  (int)geteuid(), has_cap, initial, errno_name(rc == 0 ? 0 : errno));
	}
	remove_queue(id);
}

/*
 * The same from a child that creates a user namespace, and so holds every
 * capability in it, and an IPC namespace owned by it: still EPERM.
 */
Test(facts, qbytes_cap_must_be_in_initial_userns, .init = private_ipc_init, .timeout = 10)
{
	pid_t pid = fork_child();
	int code;

	if (pid == 0) {
		char why[256];
		struct msqid_ds ds;
		long msgmnb;
		int id;

		if (private_ipc_unshare(1, why, sizeof(why)) != 0 ||
		    read_long_file("/proc/sys/kernel/msgmnb", &msgmnb) != 0)
			_exit(CHILD_BROKEN);
		if (effective_cap(CAP_SYS_RESOURCE) != 1)
			_exit(CHILD_NO_CAP);
		id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (id < 0 || msgctl(id, IPC_STAT, &ds) != 0)
			_exit(CHILD_BROKEN);
		ds.msg_qbytes = (unsigned long)msgmnb + 1;
		_exit(msgctl(id, IPC_SET, &ds) != 0 ? errno : 0);
	}
	code = child_exit_code(pid);
	cr_assert(code != CHILD_NO_CAP, "no CAP_SYS_RESOURCE in the child's new user namespace");
	cr_assert(code == EPERM,
		  "IPC_SET qbytes MSGMNB + 1 with every capability in a new user namespace: %s, "
		  "expected EPERM",
		  errno_name(code));
}

/* MSG_INFO reports, for the namespace, the number of queues, of messages and of bytes queued. */
Test(facts, msg_info_counts_queues_messages_bytes, .init = private_ipc_init, .timeout = 10)
{
	struct msginfo info;
	int a = new_queue();
	int b = new_queue();

	send_text(a, 1, 10);
	send_text(a, 2, 5);
	send_text(b, 1, 15);
	memset(&info, 0, sizeof(info));
	cr_assert(msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&info) >= 0, "MSG_INFO: %s",
		  strerror(errno));
	cr_assert(info.msgpool == 2 && info.msgmap == 3 && info.msgtql == 30,
		  "msgpool %d (queues) msgmap %d (messages) msgtql %d (bytes), expected 2 3 30",
		  info.msgpool, info.msgmap, info.msgtql);
	remove_queue(a);
	remove_queue(b);
}

/* ---- keys, /proc and namespaces ---- */

/*
 * ftok(path, proj) = (proj & 0xff) << 24 | (st_dev & 0xff) << 16 | (st_ino & 0xffff),
 * and ENOENT for a missing path.
 */
Test(facts, ftok_formula, .init = private_ipc_init, .timeout = 10)
{
	static const int projs[] = {1, 'A', 0x80, 0xff, 0x1ff};
	char path[] = "/tmp/facts-ftok-XXXXXX";
	struct stat st;
	int fd = mkstemp(path);

	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	cr_assert(close(fd) == 0, "close: %s", strerror(errno));
	cr_assert(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(projs); i++) {
		uint32_t want = ((uint32_t)projs[i] & 0xff) << 24 |
				((uint32_t)st.st_dev & 0xff) << 16 | ((uint32_t)st.st_ino & 0xffff);
		key_t got = ftok(path, projs[i]);

		cr_assert(got == (key_t)want, "ftok(%s, %#x) = %#x, formula gives %#x", path,
			  projs[i], (unsigned)got, (unsigned)want);
	}
	cr_assert(unlink(path) == 0, "unlink %s: %s", path, strerror(errno));
	cr_assert(ftok(path, 1) == (key_t)-1 && errno == ENOENT, "ftok of a missing path: %s",
		  errno_name(errno));
}

/*
 * /proc/sysvipc/msg lists the queues of the reader's IPC namespace, one line each:
 * key in signed decimal, mode in octal, byte and message counts, pids, ids, times.
 */
Test(facts, proc_sysvipc_msg_format, .init = private_ipc_init, .timeout = 10)
{
	const key_t key = (key_t)0x80000001u;
	int id = msgget(key, IPC_CREAT | 0640);
	int lines = 0, matched = 0;
	char line[512];
	FILE *f;

	cr_assert(id >= 0, "msgget: %s", strerror(errno));
	send_text(id, 1, 10);
	f = fopen("/proc/sysvipc/msg", "re");
	cr_assert(f != NULL, "open /proc/sysvipc/msg: %s", strerror(errno));
	cr_assert(fgets(line, sizeof(line), f) != NULL, "empty /proc/sysvipc/msg");
	cr_assert(strstr(line, "msqid") != NULL, "no header line: %s", line);
	while (fgets(line, sizeof(line), f) != NULL) {
		long long k, qid, stime, rtime, ctime;
		unsigned long cbytes, qnum;
		unsigned int perms, uid, gid, cuid, cgid;
		int lspid, lrpid;

		lines++;
		if (sscanf(line, "%lld %lld %o %lu %lu %d %d %u %u %u %u %lld %lld %lld", &k, &qid,
			   &perms, &cbytes, &qnum, &lspid, &lrpid, &uid, &gid, &cuid, &cgid, &stime,
			   &rtime, &ctime) != 14)
			continue;
		cr_assert(qid == id, "a queue %lld that this namespace never made", qid);
		cr_assert(k == -2147483647LL, "key 0x80000001 shown as %lld", k);
		cr_assert(perms == 0640 && cbytes == 10 && qnum == 1,
			  "perms %o cbytes %lu qnum %lu", perms, cbytes, qnum);
		cr_assert(lspid == getpid() && lrpid == 0, "lspid %d lrpid %d", lspid, lrpid);
		cr_assert(uid == geteuid() && cuid == geteuid() && gid == getegid() &&
			      cgid == getegid(),
			  "uid %u gid %u cuid %u cgid %u", uid, gid, cuid, cgid);
		cr_assert(stime > 0 && rtime == 0 && ctime > 0, "stime %lld rtime %lld ctime %lld",
			  stime, rtime, ctime);
		matched++;
	}
	cr_assert(fclose(f) == 0, "close: %s", strerror(errno));
	cr_assert(lines == 1 && matched == 1, "%d lines, %d parsed; expected one queue", lines,
		  matched);
	remove_queue(id);
}

/* A fresh IPC namespace starts with the default limits: MSGMAX 8192, MSGMNB 16384, MSGMNI 32000. */
Test(facts, fresh_namespace_limits_are_defaults, .init = private_ipc_init, .timeout = 10)
{
	long msgmax = read_limit("/proc/sys/kernel/msgmax");
	long msgmnb = read_limit("/proc/sys/kernel/msgmnb");
	long msgmni = read_limit("/proc/sys/kernel/msgmni");

	cr_assert(msgmax == DEFAULT_MSGMAX && msgmnb == DEFAULT_MSGMNB && msgmni == DEFAULT_MSGMNI,
		  "msgmax %ld msgmnb %ld msgmni %ld", msgmax, msgmnb, msgmni);
}

/*
 * Queues belong to their IPC namespace: a child that enters a new one cannot
 * reach the parent's queue by id, sees no queue in /proc/sysvipc/msg, gets id
 * 0 again for its own first queue, and that queue is not the parent's.
 */
Test(facts, namespace_queues_private, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue();
	struct msqid_ds ds;
	pid_t pid;
	int code;

	cr_assert(id == 0, "the first queue of the test's namespace should be 0, got %d", id);
	pid = fork_child();
	if (pid == 0) {
		struct text_msg m = {.mtype = 9};
		char why[256], line[512];
		int lines = 0, own;
		FILE *f;

		if (private_ipc_unshare(0, why, sizeof(why)) != 0)
			_exit(CHILD_BROKEN);
		if (msgctl(id, IPC_STAT, &ds) == 0)
			_exit(1); /* the parent's queue is visible */
		if (errno != EINVAL)
			_exit(errno);
		f = fopen("/proc/sysvipc/msg", "re");
		if (f == NULL)
			_exit(CHILD_BROKEN);
		while (fgets(line, sizeof(line), f) != NULL)
			lines++;
		if (fclose(f) != 0)
			_exit(CHILD_BROKEN);
		if (lines != 1)
			_exit(2); /* more than the header line */
		own = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (own != id)
			_exit(3); /* its own first queue is not 0 */
		if (msgsnd(own, &m, 1, IPC_NOWAIT) != 0)
			_exit(CHILD_BROKEN);
		_exit(0);
	}
	code = child_exit_code(pid);
	cr_assert(code != 1, "the parent's queue is visible from a new IPC namespace");
	cr_assert(code != 2, "/proc/sysvipc/msg in a new IPC namespace lists queues");
	cr_assert(code != 3, "the first queue of the child's namespace is not 0");
	cr_assert(code == 0, "IPC_STAT of the parent's id in a new namespace: %s, expected EINVAL",
		  errno_name(code));
	ds = queue_stat(id);
	cr_assert(ds.msg_qnum == 0, "the child's message landed in the parent's queue");
	remove_queue(id);
}

/*
 * A queue outlives the process that made it and the messages in it stay (unlike a pipe, which
 * goes with its last descriptor): a child creates a keyed queue, sends, and exits; the parent
 * then finds the queue by its key and receives the message.
 */
Test(facts, queue_outlives_its_creator, .init = private_ipc_init, .timeout = 10)
{
	const key_t key = 0x51ab1e;
	pid_t pid = fork_child();

	if (pid == 0) {
		struct {
			long mtype;
			char mtext[8];
		} m = {1, "still"};
		int id = msgget(key, IPC_CREAT | 0600);

		_exit(id >= 0 && msgsnd(id, &m, 5, 0) == 0 ? 0 : 1);
	}
	cr_assert_eq(child_exit_code(pid), 0, "the child could not create the queue and send");
	int id = msgget(key, 0);

	cr_assert(id >= 0, "the queue went away with its creator: %s", strerror(errno));
	struct {
		long mtype;
		char mtext[8];
	} got;
	cr_assert_eq(msgrcv(id, &got, sizeof got.mtext, 0, IPC_NOWAIT), 5,
		     "the message did not survive its sender");
	cr_assert(memcmp(got.mtext, "still", 5) == 0, "the message's bytes changed");
	remove_queue(id);
}

/*
 * Kernel behaviour that lab 03 (never block: IPC_NOWAIT) teaches or its grader relies on, and
 * that tests/kernel/facts.c does not already check: how many messages fit a queue (the rule the
 * grader predicts fill's count with, and the handout's worked example), a message larger than
 * the queue, what a blocked receiver costs, the key -1, lowering msg_qbytes without privilege,
 * a queue its owner may not read, and sleeps that never end early (the grader measures poll's
 * back-off against them).
 *
 * Every test runs in a private IPC namespace (private_ipc.h). Forked children report through
 * their exit code and end in _exit() (children.h).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fill_model.h"
#include "children.h"
#include "private_ipc.h"
#include "queues.h"

#define TEXT_MAX	8192
#define CHILD_UNCHANGED 249
#define KEY		0x4e0003

struct text_msg {
	long mtype;
	char mtext[TEXT_MAX];
};

/* ---- helpers ---- */

static int new_queue(key_t key)
{
	int id = msgget(key, IPC_CREAT | IPC_EXCL | 0600);

	cr_assert(id >= 0, "msgget: %s", strerror(errno));
	return id;
}

static void set_qbytes(int id, unsigned long qbytes)
{
	struct msqid_ds ds = queue_stat(id);

	ds.msg_qbytes = qbytes;
	cr_assert(msgctl(id, IPC_SET, &ds) == 0, "IPC_SET msg_qbytes %lu: %s", qbytes,
		  strerror(errno));
}

static void set_mode(int id, unsigned mode)
{
	struct msqid_ds ds = queue_stat(id);

	ds.msg_perm.mode = (unsigned short)mode;
	cr_assert(msgctl(id, IPC_SET, &ds) == 0, "IPC_SET mode %o: %s", mode, strerror(errno));
}

/* Queue count messages of size bytes; each must fit. */
static void preload(int id, long count, size_t size)
{
	static struct text_msg m = {.mtype = 9};

	for (long i = 0; i < count; i++)
		cr_assert(msgsnd(id, &m, size, IPC_NOWAIT) == 0, "preloading message %ld: %s",
			  i + 1, strerror(errno));
}

/* What fill does: send size-byte messages with IPC_NOWAIT until EAGAIN; how many went in. */
static long fill_until_eagain(int id, size_t size)
{
	static struct text_msg m = {.mtype = 1};
	long sent = 0;

	while (msgsnd(id, &m, size, IPC_NOWAIT) == 0)
		sent++;
	cr_assert(errno == EAGAIN, "msgsnd of %zu bytes after %ld messages: %s, expected EAGAIN",
		  size, sent, strerror(errno));
	return sent;
}

/* Drop every capability (the owner's uid stays): only the permission bits count then. */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

static double now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *errno_name(int e)
{
	return e == 0 ? "success" : strerror(e);
}

/* ---- how many messages fit ---- */

/*
 * On many random queues (msg_qbytes 1 to 2000, some messages already queued, sizes 0 to 300),
 * the number of IPC_NOWAIT sends that succeed before EAGAIN is what the rule says: a message
 * fits while msg_cbytes + size <= msg_qbytes and msg_qnum + 1 <= msg_qbytes.
 */
Test(facts, fill_count_follows_bytes_and_count_rule, .init = private_ipc_init, .timeout = 10)
{
	uint64_t state = 0x03c0ffee;

	for (int round = 0; round < 300; round++) {
		state = state * 6364136223846793005ULL + 1442695040888963407ULL;
		unsigned long qbytes = 1 + (state >> 33) % 2000;
		size_t pre_size = (state >> 20) % 40, size = (state >> 8) % 301;
		if (round % 3 == 0)
			size %= 3; /* small messages, where the count limit comes first */
		int id = new_queue(IPC_PRIVATE);

		set_qbytes(id, qbytes);
		preload(id, fill_prediction((long)qbytes, 0, 0, (long)pre_size) / 2, pre_size);
		struct msqid_ds before = queue_stat(id);
		long want = fill_prediction((long)qbytes, (long)before.msg_cbytes,
					    (long)before.msg_qnum, (long)size);
		long got = fill_until_eagain(id, size);
		struct msqid_ds after = queue_stat(id);

		cr_assert(got == want,
			  "msg_qbytes %lu, %lu messages of %lu bytes queued: %ld messages of %zu "
			  "bytes fit, the rule says %ld",
			  qbytes, (unsigned long)before.msg_qnum, (unsigned long)before.msg_cbytes,
			  got, size, want);
		cr_assert(after.msg_qnum == before.msg_qnum + (unsigned long)got &&
			      after.msg_cbytes == before.msg_cbytes + (unsigned long)got * size,
			  "the queue does not hold what was sent: qnum %lu cbytes %lu",
			  (unsigned long)after.msg_qnum, (unsigned long)after.msg_cbytes);
		remove_queue(id);
	}
}

/*
 * The handout's worked example, msg_qbytes 100: 30-byte messages, 3 fit; 25-byte, 4; empty,
 * 100; 2-byte after 60 empty ones, 40; 20-byte after one of 70 bytes, 1; 101-byte, none.
 */
Test(facts, fill_handout_examples, .init = private_ipc_init, .timeout = 10)
{
	static const struct {
		long pre_count;
		size_t pre_size, size;
		long fits;
	} rows[] = {{0, 0, 30, 3},  {0, 0, 25, 4},  {0, 0, 0, 100},
		    {60, 0, 2, 40}, {1, 70, 20, 1}, {0, 0, 101, 0}};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int id = new_queue(IPC_PRIVATE);

		set_qbytes(id, 100);
		preload(id, rows[i].pre_count, rows[i].pre_size);
		long got = fill_until_eagain(id, rows[i].size);

		cr_assert(got == rows[i].fits,
			  "row %zu: %ld messages of %zu bytes fit after %ld of %zu bytes, the "
			  "handout says %ld",
			  i + 1, got, rows[i].size, rows[i].pre_count, rows[i].pre_size,
			  rows[i].fits);
		remove_queue(id);
	}
}

/*
 * A message larger than msg_qbytes (but within MSGMAX) never fits: msgsnd with IPC_NOWAIT
 * fails with EAGAIN on an empty queue, as on a full one (not EINVAL).
 */
Test(facts, message_larger_than_qbytes_gives_eagain, .init = private_ipc_init, .timeout = 10)
{
	static struct text_msg m = {.mtype = 1};
	int id = new_queue(IPC_PRIVATE);

	set_qbytes(id, 100);
	cr_assert(msgsnd(id, &m, 100, IPC_NOWAIT) == 0, "a 100-byte message: %s", strerror(errno));
	cr_assert(msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT) == 100, "msgrcv: %s",
		  strerror(errno));
	cr_assert(msgsnd(id, &m, 101, IPC_NOWAIT) != 0 && errno == EAGAIN,
		  "a 101-byte message into an empty queue of msg_qbytes 100: %s, expected EAGAIN",
		  errno_name(errno));
	cr_assert(queue_stat(id).msg_qnum == 0, "nothing may have been queued");
	remove_queue(id);
}

/*
 * Without IPC_NOWAIT, msgsnd of a message bigger than msg_qbytes sleeps, even on an empty
 * queue: it can never fit. Only removing the queue ends the wait (EIDRM).
 */
Test(facts, message_larger_than_qbytes_blocks_forever, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue(IPC_PRIVATE);

	set_qbytes(id, 100);
	pid_t pid = fork_child();

	if (pid == 0) {
		static struct text_msg m = {.mtype = 1};

		_exit(msgsnd(id, &m, 101, 0) != 0 ? errno : 0);
	}
	cr_assert(wait_blocked_in(pid, pid, NR_MSGSND, CHILD_DEADLINE_MS) == 0,
		  "the child never slept in msgsnd");
	sleep_ms(200);
	cr_assert(wait_blocked_in(pid, pid, NR_MSGSND, 0) == 0,
		  "the child stopped waiting in msgsnd, on an empty queue");
	cr_assert(queue_stat(id).msg_qnum == 0, "nothing may have been queued");
	remove_queue(id);
	int code = child_exit_code(pid);

	cr_assert(code == EIDRM, "the waiting msgsnd ended with %s, expected EIDRM",
		  errno_name(code));
}

/*
 * A receiver sleeping in msgrcv uses no CPU while it waits (under 20 ms of CPU time in 300 ms),
 * and gets the message as soon as it is sent (within 100 ms).
 */
Test(facts, blocked_receiver_uses_no_cpu, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue(IPC_PRIVATE);
	pid_t pid = fork_child();

	if (pid == 0) {
		struct {
			long mtype;
			double sent_ms;
		} m;
		struct timespec cpu;

		if (msgrcv(id, &m, sizeof(m.sent_ms), 0, 0) != sizeof(m.sent_ms))
			_exit(CHILD_BROKEN);
		double late = now_ms() - m.sent_ms;
		if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) != 0)
			_exit(CHILD_BROKEN);
		double cpu_ms = (double)cpu.tv_sec * 1e3 + (double)cpu.tv_nsec / 1e6;
		/* 1: too much CPU, 2: woken late, 3: both */
		_exit((cpu_ms >= 20) | (late >= 100) << 1);
	}
	cr_assert(wait_blocked_in(pid, pid, NR_MSGRCV, CHILD_DEADLINE_MS) == 0,
		  "the child never slept in msgrcv");
	sleep_ms(300);
	struct {
		long mtype;
		double sent_ms;
	} m = {1, now_ms()};

	cr_assert(msgsnd(id, &m, sizeof(m.sent_ms), IPC_NOWAIT) == 0, "msgsnd: %s",
		  strerror(errno));
	int code = child_exit_code(pid);

	cr_assert((code & 1) == 0, "the receiver used 20 ms of CPU or more while it waited");
	cr_assert((code & 2) == 0, "the receiver got the message 100 ms or more after it was sent");
	remove_queue(id);
}

/* ---- keys ---- */

/*
 * The key -1 (what ftok returns on failure) is an ordinary key, not IPC_PRIVATE: msgget(-1,
 * IPC_CREAT) creates a queue, and msgget(-1, 0) finds that same queue again.
 */
Test(facts, key_minus_one_is_an_ordinary_key, .init = private_ipc_init, .timeout = 10)
{
	int id = msgget((key_t)-1, IPC_CREAT | 0600);

	cr_assert(id >= 0, "msgget(-1, IPC_CREAT | 0600): %s", strerror(errno));
	cr_assert(msgget((key_t)-1, 0) == id, "msgget(-1, 0) must find the same queue: %s",
		  errno_name(errno));
	cr_assert(queue_stat(id).msg_perm.__key == (key_t)-1, "the queue's key is not -1");
	remove_queue(id);
}

/* ---- permissions ---- */

/* A process without any capability may lower msg_qbytes of its own queue with IPC_SET. */
Test(facts, lowering_qbytes_needs_no_capability, .init = private_ipc_init, .timeout = 10)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct msqid_ds ds;
		int id;

		if (drop_capabilities() != 0)
			_exit(CHILD_BROKEN);
		id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (id < 0 || msgctl(id, IPC_STAT, &ds) != 0)
			_exit(CHILD_BROKEN);
		ds.msg_qbytes = 100;
		if (msgctl(id, IPC_SET, &ds) != 0)
			_exit(errno);
		if (msgctl(id, IPC_STAT, &ds) != 0 || ds.msg_qbytes != 100)
			_exit(CHILD_UNCHANGED);
		_exit(0);
	}
	int code = child_exit_code(pid);

	cr_assert(code != CHILD_UNCHANGED, "IPC_SET succeeded but msg_qbytes is not 100");
	cr_assert(code == 0, "IPC_SET msg_qbytes 100 without capabilities: %s", errno_name(code));
}

/* The queue KEY, owned by us, holding one message, with mode 0200: its owner may only write. */
static int write_only_queue(void)
{
	static struct text_msg m = {.mtype = 1, .mtext = "kept"};
	int id = new_queue(KEY);

	cr_assert(msgsnd(id, &m, 4, IPC_NOWAIT) == 0, "msgsnd: %s", strerror(errno));
	set_mode(id, 0200);
	return id;
}

/* msgget(key, 0) asks for no permission: it opens a queue its caller may not read. */
Test(facts, msgget_flags_zero_opens_unreadable_queue, .init = private_ipc_init, .timeout = 10)
{
	int id = write_only_queue();
	pid_t pid = fork_child();

	if (pid == 0) {
		if (drop_capabilities() != 0)
			_exit(CHILD_BROKEN);
		int got = msgget(KEY, 0);
		_exit(got < 0 ? errno : got == id ? 0 : CHILD_BROKEN);
	}
	int code = child_exit_code(pid);

	cr_assert(code == 0, "msgget(key, 0) on a mode 0200 queue, without capabilities: %s",
		  errno_name(code));
	set_mode(id, 0600);
	remove_queue(id);
}

/*
 * msgrcv on a queue without read permission fails with EACCES (not ENOMSG), even with
 * IPC_NOWAIT and a message queued; the message stays.
 */
Test(facts, msgrcv_without_read_permission_eacces, .init = private_ipc_init, .timeout = 10)
{
	int id = write_only_queue();
	pid_t pid = fork_child();

	if (pid == 0) {
		struct text_msg m;

		if (drop_capabilities() != 0)
			_exit(CHILD_BROKEN);
		_exit(msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT) < 0 ? errno : 0);
	}
	int code = child_exit_code(pid);

	cr_assert(code == EACCES,
		  "msgrcv from a mode 0200 queue, without capabilities: %s, "
		  "expected EACCES",
		  errno_name(code));
	set_mode(id, 0600);
	cr_assert(queue_stat(id).msg_qnum == 1, "the message must stay queued");
	remove_queue(id);
}

/* ---- sleeping ---- */

/* nanosleep of D ms (1, 2, 4 ... 64) never returns before D ms have passed on CLOCK_MONOTONIC. */
Test(facts, nanosleep_never_returns_early, .init = private_ipc_init, .timeout = 10)
{
	for (int round = 0; round < 2; round++)
		for (long d = 1; d <= 64; d *= 2) {
			struct timespec t0, t1, req = {0, d * 1000000L};

			cr_assert(clock_gettime(CLOCK_MONOTONIC, &t0) == 0, "clock_gettime");
			cr_assert(nanosleep(&req, NULL) == 0, "nanosleep: %s", strerror(errno));
			cr_assert(clock_gettime(CLOCK_MONOTONIC, &t1) == 0, "clock_gettime");
			double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
				    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
			cr_assert(ms >= (double)d, "nanosleep(%ld ms) returned after %.3f ms", d,
				  ms);
		}
}

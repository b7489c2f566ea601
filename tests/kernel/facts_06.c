/*
 * The kernel behaviour lab 06 (limits, errors and signals) teaches, beyond tests/kernel/facts.c:
 * the limits as IPC_INFO reports them, MSG_NOERROR and msg_cbytes, and the permission rules.
 * Each test runs in a private IPC namespace (private_ipc.h).
 *
 * The permission tests need a second and third user: they fork children that switch to other
 * uids, which only root can do; without root they are skipped. The children report each
 * call's outcome (0 or an errno) through a shared page and end in _exit().
 */
#define _GNU_SOURCE

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "children.h"
#include "private_ipc.h"
#include "queues.h"

#define TEXT_MAX 1024
#define USER_A	 41001 /* uids (and gids) no one else uses */
#define USER_B	 41002
#define USER_C	 41003

/* The inode number of the initial user namespace, fixed by the kernel (PROC_USER_INIT_INO). */
#define INITIAL_USERNS_INO 0xEFFFFFFDUL

struct text_msg {
	long mtype;
	char mtext[TEXT_MAX];
};

/* ---- helpers ---- */

static int new_queue(int mode)
{
	int id = msgget(IPC_PRIVATE, IPC_CREAT | mode);

	cr_assert(id >= 0, "msgget(IPC_PRIVATE): %s", strerror(errno));
	return id;
}

static void send_text(int id, long type, size_t size)
{
	struct text_msg m = {.mtype = type};

	for (size_t i = 0; i < size; i++)
		m.mtext[i] = (char)('a' + i % 26);
	cr_assert(msgsnd(id, &m, size, IPC_NOWAIT) == 0, "msgsnd %zu bytes: %s", size,
		  strerror(errno));
}

static void set_limit(const char *name, long value)
{
	char path[64], text[32], why[256] = "";

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	snprintf(text, sizeof(text), "%ld", value);
	cr_assert(private_ipc_write_file(path, text, why, sizeof(why)) == 0, "%s", why);
}

static long read_limit(const char *name)
{
	char path[64];
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	f = fopen(path, "re");
	cr_assert(f != NULL, "open %s: %s", path, strerror(errno));
	cr_assert(fscanf(f, "%ld", &value) == 1, "read %s", path);
	cr_assert(fclose(f) == 0, "close %s", path);
	return value;
}

static const char *errno_name(int e)
{
	return e == 0 ? "success" : strerrorname_np(e) ? strerrorname_np(e) : "?";
}

/* ---- the permission tests ---- */

enum op { OP_STAT, OP_SEND, OP_RECEIVE, OP_SET, OP_REMOVE, NOPS };
static const char *const op_names[NOPS] = {"IPC_STAT", "msgsnd", "msgrcv", "IPC_SET", "IPC_RMID"};

/*
 * Root in the initial user namespace only: the tests switch between users. (Without root,
 * private_ipc.h makes us uid 0 of a user namespace of our own, where no other uid exists.)
 */
static void need_root(void)
{
	struct stat st;

	cr_assert(stat("/proc/self/ns/user", &st) == 0, "stat /proc/self/ns/user: %s",
		  strerror(errno));
	if (geteuid() != 0 || (unsigned long)st.st_ino != INITIAL_USERNS_INO)
		cr_skip_test("needs root, to run children as other users");
}

/* Become uid with gid as the only group. Child side: _exit on failure. */
static void become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0)
		_exit(CHILD_BROKEN);
}

/*
 * Fork a child that becomes uid:gid and tries the calls in `ops` (bits of 1 << op) on queue
 * id, in the order of enum op, never blocking; out[op] gets 0 or the errno. IPC_SET sets the
 * values the caller passes in ds (normally what IPC_STAT gave: a change of nothing).
 */
static void try_as(uid_t uid, gid_t gid, int id, unsigned ops, const struct msqid_ds *ds,
		   int out[NOPS])
{
	int *shared = mmap(NULL, sizeof(int) * NOPS, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	cr_assert(shared != MAP_FAILED, "mmap: %s", strerror(errno));
	for (int op = 0; op < NOPS; op++)
		shared[op] = -1;
	pid = fork_child();
	if (pid == 0) {
		struct text_msg m = {.mtype = 1, .mtext = "x"};
		struct msqid_ds copy = *ds, got;

		become(uid, gid);
		for (int op = 0; op < NOPS; op++) {
			int rc = 0;

			if (!(ops & (1u << op)))
				continue;
			switch (op) {
			case OP_STAT:
				rc = msgctl(id, IPC_STAT, &got);
				break;
			case OP_SEND:
				rc = msgsnd(id, &m, 1, IPC_NOWAIT);
				break;
			case OP_RECEIVE:
				rc =
				    msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT | MSG_NOERROR) < 0
					? -1
					: 0;
				break;
			case OP_SET:
				rc = msgctl(id, IPC_SET, &copy);
				break;
			default:
				rc = msgctl(id, IPC_RMID, NULL);
				break;
			}
			shared[op] = rc == 0 ? 0 : errno;
		}
		_exit(0);
	}
	cr_assert(child_exit_code(pid) == 0, "the child failed");
	memcpy(out, shared, sizeof(int) * NOPS);
	cr_assert(munmap(shared, sizeof(int) * NOPS) == 0, "munmap: %s", strerror(errno));
}

/* Each op in ops gave the expected outcome (0 or an errno). */
static void expect_outcomes(const char *who, int mode, unsigned ops, const int got[NOPS],
			    const int want[NOPS])
{
	for (int op = 0; op < NOPS; op++)
		if (ops & (1u << op))
			cr_assert(got[op] == want[op], "%s, mode %04o: %s gave %s, expected %s",
				  who, mode, op_names[op], errno_name(got[op]),
				  errno_name(want[op]));
}

#define ALL_BUT_REMOVE ((1u << OP_STAT) | (1u << OP_SEND) | (1u << OP_RECEIVE) | (1u << OP_SET))
#define DATA_OPS       ((1u << OP_STAT) | (1u << OP_SEND) | (1u << OP_RECEIVE))

/* ---- limits ---- */

/* After the namespace's limits change, IPC_INFO reports the new values, as /proc does. */
Test(facts, ipc_info_matches_proc_after_change, .init = private_ipc_init, .timeout = 10)
{
	struct msginfo info;
	int rc;

	set_limit("msgmax", 3001);
	set_limit("msgmnb", 20002);
	set_limit("msgmni", 503);
	memset(&info, 0, sizeof(info));
	rc = msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info);
	cr_assert(rc >= 0, "msgctl(IPC_INFO): %s", strerror(errno));
	cr_assert(info.msgmax == read_limit("msgmax") && info.msgmax == 3001,
		  "IPC_INFO msgmax %d, /proc %ld", info.msgmax, read_limit("msgmax"));
	cr_assert(info.msgmnb == read_limit("msgmnb") && info.msgmnb == 20002,
		  "IPC_INFO msgmnb %d, /proc %ld", info.msgmnb, read_limit("msgmnb"));
	cr_assert(info.msgmni == read_limit("msgmni") && info.msgmni == 503,
		  "IPC_INFO msgmni %d, /proc %ld", info.msgmni, read_limit("msgmni"));
}

/* A new MSGMAX applies at once, to queues that already exist too. */
Test(facts, msgmax_change_applies_to_existing_queue, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m = {.mtype = 1};
	int id = new_queue(0600);

	set_limit("msgmax", 100);
	cr_assert(msgsnd(id, &m, 100, IPC_NOWAIT) == 0, "msgsnd of 100 bytes: %s", strerror(errno));
	cr_assert(msgsnd(id, &m, 101, IPC_NOWAIT) != 0 && errno == EINVAL,
		  "msgsnd of 101 bytes with msgmax 100: %s", errno_name(errno));
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* A queue's msg_qbytes is MSGMNB as it was when the queue was created; a change comes later. */
Test(facts, qbytes_is_msgmnb_at_creation, .init = private_ipc_init, .timeout = 10)
{
	int before = new_queue(0600), after;
	long msgmnb = read_limit("msgmnb");

	set_limit("msgmnb", 5000);
	after = new_queue(0600);
	cr_assert(queue_stat(before).msg_qbytes == (unsigned long)msgmnb,
		  "the older queue's qbytes changed to %lu",
		  (unsigned long)queue_stat(before).msg_qbytes);
	cr_assert(queue_stat(after).msg_qbytes == 5000, "the new queue's qbytes is %lu",
		  (unsigned long)queue_stat(after).msg_qbytes);
	cr_assert(msgctl(before, IPC_RMID, NULL) == 0 && msgctl(after, IPC_RMID, NULL) == 0,
		  "IPC_RMID: %s", strerror(errno));
}

/* The limits belong to the IPC namespace: a new namespace has the defaults, whatever ours are. */
Test(facts, limits_private_to_namespace, .init = private_ipc_init, .timeout = 10)
{
	pid_t pid;

	set_limit("msgmax", 1234);
	pid = fork_child();
	if (pid == 0) {
		char why[256];
		long value = 0;
		FILE *f;

		if (private_ipc_unshare(0, why, sizeof(why)))
			_exit(CHILD_BROKEN);
		f = fopen("/proc/sys/kernel/msgmax", "re");
		if (f == NULL || fscanf(f, "%ld", &value) != 1)
			_exit(CHILD_BROKEN);
		_exit(value == 8192 ? 0 : 1);
	}
	cr_assert(child_exit_code(pid) == 0, "a new namespace did not start with msgmax 8192");
	cr_assert(read_limit("msgmax") == 1234, "our msgmax changed");
}

/* ---- MSG_NOERROR and E2BIG ---- */

/* A buffer of exactly the message's size is enough: no E2BIG, the whole message. */
Test(facts, buffer_of_exact_size_is_enough, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m;
	int id = new_queue(0600);
	ssize_t r;

	send_text(id, 1, 40);
	r = msgrcv(id, &m, 40, 0, IPC_NOWAIT);
	cr_assert(r == 40, "msgrcv with a 40-byte buffer: %s",
		  r < 0 ? errno_name(errno) : "wrong size");
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* With MSG_NOERROR, msg_cbytes drops by the whole message, not by what was copied. */
Test(facts, noerror_cbytes_drops_by_whole_message, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m;
	struct msqid_ds ds;
	int id = new_queue(0600);
	ssize_t r;

	send_text(id, 1, 100);
	send_text(id, 2, 30);
	cr_assert(queue_stat(id).msg_cbytes == 130, "cbytes before");
	r = msgrcv(id, &m, 10, 0, IPC_NOWAIT | MSG_NOERROR);
	cr_assert(r == 10, "msgrcv with MSG_NOERROR returned %zd", r);
	ds = queue_stat(id);
	cr_assert(ds.msg_cbytes == 30 && ds.msg_qnum == 1,
		  "after: cbytes %lu qnum %lu, expected 30 and 1", (unsigned long)ds.msg_cbytes,
		  (unsigned long)ds.msg_qnum);
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* E2BIG changes nothing: msg_qnum and msg_cbytes are what they were. */
Test(facts, e2big_leaves_counts, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m;
	struct msqid_ds ds;
	int id = new_queue(0600);

	send_text(id, 1, 100);
	send_text(id, 2, 30);
	cr_assert(msgrcv(id, &m, 99, 0, IPC_NOWAIT) < 0 && errno == E2BIG, "msgrcv: %s",
		  errno_name(errno));
	ds = queue_stat(id);
	cr_assert(ds.msg_cbytes == 130 && ds.msg_qnum == 2, "after: cbytes %lu qnum %lu",
		  (unsigned long)ds.msg_cbytes, (unsigned long)ds.msg_qnum);
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* ---- signals ---- */

static volatile sig_atomic_t caught;

static void note_signal(int sig)
{
	(void)sig;
	caught = 1;
}

/*
 * Fork a child that sends sig to this thread once it blocks in msgrcv on queue id, then,
 * 200 ms later, sends a message, so that a msgrcv that was not interrupted ends anyway.
 */
static pid_t signal_when_blocked(int id, int sig)
{
	pid_t self = getpid(), tid = gettid();
	pid_t pid = fork_child();

	if (pid == 0) {
		struct text_msg m = {.mtype = 1, .mtext = "late"};

		if (wait_blocked_in(self, tid, NR_MSGRCV, CHILD_DEADLINE_MS) != 0 ||
		    tgkill(self, tid, sig) != 0)
			_exit(CHILD_BROKEN);
		sleep_ms(200);
		_exit(msgsnd(id, &m, 4, IPC_NOWAIT) == 0 ? 0 : CHILD_BROKEN);
	}
	return pid;
}

/* A SIGTERM handler installed without SA_RESTART: the blocked msgrcv fails with EINTR. */
Test(facts, sigterm_handler_interrupts_msgrcv, .init = private_ipc_init, .timeout = 10)
{
	struct sigaction sa;
	struct text_msg m;
	int id = new_queue(0600);
	pid_t pid;
	ssize_t r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = note_signal;
	cr_assert(sigemptyset(&sa.sa_mask) == 0 && sigaction(SIGTERM, &sa, NULL) == 0,
		  "sigaction: %s", strerror(errno));
	caught = 0;
	pid = signal_when_blocked(id, SIGTERM);
	r = msgrcv(id, &m, sizeof(m.mtext), 0, 0);
	cr_assert(r < 0 && errno == EINTR, "the interrupted msgrcv: %s",
		  r < 0 ? errno_name(errno) : "returned a message");
	cr_assert(caught, "the handler did not run");
	cr_assert(child_exit_code(pid) == 0, "the signalling child failed");
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* An ignored signal (SIG_IGN) does not interrupt a blocked msgrcv. */
Test(facts, ignored_signal_does_not_interrupt, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m;
	int id = new_queue(0600);
	pid_t pid;
	ssize_t r;

	cr_assert(signal(SIGUSR1, SIG_IGN) != SIG_ERR, "signal: %s", strerror(errno));
	pid = signal_when_blocked(id, SIGUSR1);
	r = msgrcv(id, &m, sizeof(m.mtext), 0, 0);
	cr_assert(r == 4, "msgrcv: %s", r < 0 ? errno_name(errno) : "wrong size");
	cr_assert(child_exit_code(pid) == 0, "the signalling child failed");
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* A signal left to its default action (SIGUSR1: terminate) kills a process blocked in msgrcv. */
Test(facts, unhandled_signal_kills_blocked_receiver, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue(0600);
	pid_t pid = fork_child();
	int status;

	if (pid == 0) {
		struct text_msg m;

		if (signal(SIGUSR1, SIG_DFL) == SIG_ERR)
			_exit(CHILD_BROKEN);
		_exit(msgrcv(id, &m, sizeof(m.mtext), 0, 0) < 0 ? errno : 0);
	}
	cr_assert(wait_blocked_in(pid, pid, NR_MSGRCV, CHILD_DEADLINE_MS) == 0,
		  "the child never blocked in msgrcv");
	cr_assert(kill(pid, SIGUSR1) == 0, "kill: %s", strerror(errno));
	status = child_status(pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1,
		  "the child was not killed by SIGUSR1 (status 0x%x)", (unsigned)status);
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* A bad message pointer: msgsnd fails with EFAULT. */
Test(facts, bad_buffer_efault, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue(0600);

	cr_assert(msgsnd(id, (const void *)8, 10, IPC_NOWAIT) != 0 && errno == EFAULT,
		  "msgsnd from address 8: %s", errno_name(errno));
	cr_assert(queue_stat(id).msg_qnum == 0, "something was queued");
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* ---- permissions ---- */

/* Mode 0602, another user: send works; receive and IPC_STAT give EACCES. */
Test(facts, others_write_only_0602, .init = private_ipc_init, .timeout = 10)
{
	int got[NOPS], want[NOPS] = {EACCES, 0, EACCES, 0, 0};
	int id;

	need_root();
	id = new_queue(0602);
	send_text(id, 1, 10);
	try_as(USER_A, USER_A, id, DATA_OPS, &(struct msqid_ds){0}, got);
	expect_outcomes("another user", 0602, DATA_OPS, got, want);
	cr_assert(queue_stat(id).msg_qnum == 2, "the other user's message is not there");
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* Mode 0604, another user: receive and IPC_STAT work; send gives EACCES. */
Test(facts, others_read_only_0604, .init = private_ipc_init, .timeout = 10)
{
	int got[NOPS], want[NOPS] = {0, EACCES, 0, 0, 0};
	int id;

	need_root();
	id = new_queue(0604);
	send_text(id, 1, 10);
	try_as(USER_A, USER_A, id, DATA_OPS, &(struct msqid_ds){0}, got);
	expect_outcomes("another user", 0604, DATA_OPS, got, want);
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* Without read permission, msgrcv on an empty queue gives EACCES, not ENOMSG. */
Test(facts, permission_checked_before_enomsg, .init = private_ipc_init, .timeout = 10)
{
	int got[NOPS], want[NOPS] = {0, 0, EACCES, 0, 0};
	int id;

	need_root();
	id = new_queue(0602);
	try_as(USER_A, USER_A, id, 1u << OP_RECEIVE, &(struct msqid_ds){0}, got);
	expect_outcomes("another user, empty queue", 0602, 1u << OP_RECEIVE, got, want);
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* Mode 0666, another user: everything but IPC_SET and IPC_RMID, which give EPERM. */
Test(facts, no_mode_lets_others_set_or_remove, .init = private_ipc_init, .timeout = 10)
{
	int got[NOPS], want[NOPS] = {0, 0, 0, EPERM, EPERM};
	int id;
	struct msqid_ds ds;

	need_root();
	id = new_queue(0666);
	send_text(id, 1, 10);
	ds = queue_stat(id);
	try_as(USER_A, USER_A, id, ALL_BUT_REMOVE | (1u << OP_REMOVE), &ds, got);
	expect_outcomes("another user", 0666, ALL_BUT_REMOVE | (1u << OP_REMOVE), got, want);
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/*
 * The owner gets the owner's bits and nothing else: with mode 0066 the owner may not send,
 * receive or IPC_STAT, while any other user may.
 */
Test(facts, owner_bits_apply_to_owner, .init = private_ipc_init, .timeout = 10)
{
	int got[NOPS], denied[NOPS] = {EACCES, EACCES, EACCES, 0, 0}, allowed[NOPS] = {0};
	int id;
	struct msqid_ds ds;

	need_root();
	id = new_queue(0600);
	send_text(id, 1, 10);
	send_text(id, 1, 10);
	ds = queue_stat(id);
	ds.msg_perm.uid = USER_A;
	ds.msg_perm.gid = USER_A;
	ds.msg_perm.mode = 0066;
	cr_assert(msgctl(id, IPC_SET, &ds) == 0, "IPC_SET: %s", strerror(errno));
	try_as(USER_A, USER_A, id, DATA_OPS, &ds, got);
	expect_outcomes("the owner", 0066, DATA_OPS, got, denied);
	try_as(USER_B, USER_B, id, DATA_OPS, &ds, got);
	expect_outcomes("another user", 0066, DATA_OPS, got, allowed);
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* Mode 0000: the owner may still IPC_SET and IPC_RMID its queue. */
Test(facts, owner_may_set_and_remove_whatever_the_mode, .init = private_ipc_init, .timeout = 10)
{
	int got[NOPS], want[NOPS] = {EACCES, 0, 0, 0, 0};
	unsigned ops = (1u << OP_STAT) | (1u << OP_SET) | (1u << OP_REMOVE);
	int id;
	struct msqid_ds ds;

	need_root();
	id = new_queue(0600);
	ds = queue_stat(id);
	ds.msg_perm.uid = USER_A;
	ds.msg_perm.gid = USER_A;
	ds.msg_perm.mode = 0;
	cr_assert(msgctl(id, IPC_SET, &ds) == 0, "IPC_SET: %s", strerror(errno));
	try_as(USER_A, USER_A, id, ops, &ds, got);
	expect_outcomes("the owner", 0, ops, got, want);
	cr_assert(msgctl(id, IPC_STAT, &ds) != 0 && errno == EINVAL, "the queue is still there");
}

/*
 * The creator counts as the owner: after giving the queue to another user it still gets the
 * owner's bits and may IPC_SET and IPC_RMID.
 */
Test(facts, creator_counts_as_owner, .init = private_ipc_init, .timeout = 10)
{
	int *shared = mmap(NULL, sizeof(int) * NOPS, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int want[NOPS] = {0};
	pid_t pid;

	need_root();
	cr_assert(shared != MAP_FAILED, "mmap: %s", strerror(errno));
	pid = fork_child();
	if (pid == 0) {
		struct text_msg m = {.mtype = 1, .mtext = "x"};
		struct msqid_ds ds;
		int id;

		become(USER_A, USER_A);
		id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (id < 0 || msgctl(id, IPC_STAT, &ds) != 0)
			_exit(CHILD_BROKEN);
		ds.msg_perm.uid = USER_B;
		ds.msg_perm.gid = USER_B;
		if (msgctl(id, IPC_SET, &ds) != 0)
			_exit(CHILD_BROKEN);
		shared[OP_STAT] = msgctl(id, IPC_STAT, &ds) == 0 ? 0 : errno;
		shared[OP_SEND] = msgsnd(id, &m, 1, IPC_NOWAIT) == 0 ? 0 : errno;
		shared[OP_RECEIVE] =
		    msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT) >= 0 ? 0 : errno;
		shared[OP_SET] = msgctl(id, IPC_SET, &ds) == 0 ? 0 : errno;
		/* still the other user's queue: the owner's uid is USER_B */
		if (ds.msg_perm.uid != USER_B || ds.msg_perm.cuid != USER_A)
			_exit(CHILD_BROKEN);
		shared[OP_REMOVE] = msgctl(id, IPC_RMID, NULL) == 0 ? 0 : errno;
		_exit(0);
	}
	cr_assert(child_exit_code(pid) == 0, "the child failed");
	expect_outcomes("the creator, not the owner", 0600, ALL_BUT_REMOVE | (1u << OP_REMOVE),
			shared, want);
	cr_assert(munmap(shared, sizeof(int) * NOPS) == 0, "munmap: %s", strerror(errno));
}

/* A user in the queue's group (not owner) gets the group's bits; one outside it, the others'. */
Test(facts, group_bits_apply_to_group, .init = private_ipc_init, .timeout = 10)
{
	int got[NOPS], group[NOPS] = {0, EACCES, 0, 0, 0}, other[NOPS] = {EACCES, EACCES, EACCES};
	int id;
	struct msqid_ds ds;

	need_root();
	id = new_queue(0600);
	send_text(id, 1, 10);
	ds = queue_stat(id);
	ds.msg_perm.uid = USER_A;
	ds.msg_perm.gid = USER_A;
	ds.msg_perm.mode = 0640;
	cr_assert(msgctl(id, IPC_SET, &ds) == 0, "IPC_SET: %s", strerror(errno));
	try_as(USER_B, USER_A, id, DATA_OPS, &ds, got);
	expect_outcomes("a member of the group", 0640, DATA_OPS, got, group);
	try_as(USER_C, USER_C, id, DATA_OPS, &ds, got);
	expect_outcomes("another user", 0640, DATA_OPS, got, other);
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/* Root (CAP_SYS_ADMIN) may remove another user's queue, whatever its mode. */
Test(facts, root_may_remove_any_queue, .init = private_ipc_init, .timeout = 10)
{
	int id;
	struct msqid_ds ds;

	need_root();
	id = new_queue(0600);
	ds = queue_stat(id);
	ds.msg_perm.uid = USER_A;
	ds.msg_perm.gid = USER_A;
	ds.msg_perm.mode = 0;
	cr_assert(msgctl(id, IPC_SET, &ds) == 0, "IPC_SET: %s", strerror(errno));
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "root's IPC_RMID: %s", strerror(errno));
}

/* Root (CAP_IPC_OWNER) may IPC_STAT, send and receive whatever the mode bits say. */
Test(facts, root_bypasses_mode_bits, .init = private_ipc_init, .timeout = 10)
{
	struct text_msg m = {.mtype = 1};
	int id;
	struct msqid_ds ds;

	need_root();
	id = new_queue(0600);
	ds = queue_stat(id);
	ds.msg_perm.uid = USER_A;
	ds.msg_perm.gid = USER_A;
	ds.msg_perm.mode = 0;
	cr_assert(msgctl(id, IPC_SET, &ds) == 0, "IPC_SET: %s", strerror(errno));
	cr_assert(msgctl(id, IPC_STAT, &ds) == 0, "root's IPC_STAT: %s", strerror(errno));
	cr_assert(msgsnd(id, &m, 1, IPC_NOWAIT) == 0, "root's msgsnd: %s", strerror(errno));
	cr_assert(msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT) == 1, "root's msgrcv: %s",
		  strerror(errno));
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

/*
 * msgget on an existing key checks only the permissions its flags ask for: another user gets
 * the id of a 0600 queue with flags 0, and EACCES when asking for read (0400).
 */
Test(facts, msgget_checks_requested_mode, .init = private_ipc_init, .timeout = 10)
{
	const key_t key = 0x4c413036;
	int id = msgget(key, IPC_CREAT | 0600);
	pid_t pid;

	need_root();
	cr_assert(id >= 0, "msgget: %s", strerror(errno));
	pid = fork_child();
	if (pid == 0) {
		become(USER_A, USER_A);
		if (msgget(key, 0) != id)
			_exit(1);
		_exit(msgget(key, 0400) < 0 && errno == EACCES ? 0 : 2);
	}
	int code = child_exit_code(pid);
	cr_assert(code != 1, "msgget(key, 0) by another user failed");
	cr_assert(code == 0, "msgget(key, 0400) by another user did not give EACCES");
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "IPC_RMID: %s", strerror(errno));
}

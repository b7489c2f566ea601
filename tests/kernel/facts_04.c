/*
 * Kernel behaviour that lab 04 (msgctl: IPC_STAT, IPC_SET, IPC_RMID, MSG_INFO, MSG_STAT,
 * MSG_STAT_ANY, IPC_INFO) teaches and its grader relies on, beyond what facts.c checks. One
 * claim per test, each in a private IPC namespace (private_ipc.h).
 *
 * Some claims need a second user: a child that drops to another uid, which only root can do;
 * run without root, those tests are skipped and say so. Children report through their exit code
 * (0 for the expected outcome, an errno value or a small code otherwise) and end in _exit().
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
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

#define OTHER_UID      4100001 /* an unprivileged uid for children of a root test */
#define GIFT_UID       12345
#define GIFT_GID       12346
#define SEQ_MULTIPLIER 32768 /* ids are index + 32768 * sequence number (IPCMNI) */
#define MAX_CHURN      200000

/* The inode number of the initial user namespace, fixed by the kernel (PROC_USER_INIT_INO). */
#define INITIAL_USERNS_INO 0xEFFFFFFDUL

struct text_msg {
	long mtype;
	char mtext[64];
};

/* ---- helpers that never call cr_* (children use them) ---- */

/* Become an unprivileged user: every capability goes with uid 0. Returns 0 or -1. */
static int become_other_user(void)
{
	if (setgroups(0, NULL) != 0 || setresgid(OTHER_UID, OTHER_UID, OTHER_UID) != 0 ||
	    setresuid(OTHER_UID, OTHER_UID, OTHER_UID) != 0)
		return -1;
	return 0;
}

static int in_initial_userns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/user", &st) != 0)
		return -1;
	return (unsigned long)st.st_ino == INITIAL_USERNS_INO;
}

/* ---- helpers for the test process ---- */

static int new_queue(key_t key, int mode)
{
	int id = msgget(key, IPC_CREAT | IPC_EXCL | mode);

	cr_assert(id >= 0, "msgget: %s", strerror(errno));
	return id;
}

static void send_bytes(int id, size_t size)
{
	struct text_msg m = {.mtype = 1};

	memset(m.mtext, 'x', sizeof(m.mtext));
	cr_assert(size <= sizeof(m.mtext), "message too large for the helper");
	cr_assert(msgsnd(id, &m, size, IPC_NOWAIT) == 0, "msgsnd: %s", strerror(errno));
}

static int msg_info(struct msginfo *info)
{
	memset(info, 0, sizeof(*info));
	int max = msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)info);

	cr_assert(max >= 0, "MSG_INFO: %s", strerror(errno));
	return max;
}

/* The index at which queue id sits, found with MSG_STAT; -1 if none. */
static int index_of(int id)
{
	struct msginfo info;
	int max = msg_info(&info);

	for (int i = 0; i <= max; i++) {
		struct msqid_ds ds;

		if (msgctl(i, MSG_STAT, &ds) == id)
			return i;
	}
	return -1;
}

/* Root of the initial user namespace may become any uid; uid 0 of a user namespace may not. */
static int can_switch_user(void)
{
	return geteuid() == 0 && in_initial_userns() == 1;
}

static void need_root(void)
{
	if (!can_switch_user())
		cr_skip_test("needs a second user, which only a test run as root can have");
}

static const char *errno_name(int e)
{
	return e == 0 ? "success" : strerror(e);
}

/* ---- IPC_SET ---- */

/*
 * IPC_SET takes msg_perm.uid, msg_perm.gid, the mode and msg_qbytes from the buffer, all of
 * them: a zeroed buffer holding only a new mode and msg_qbytes gives the queue to uid 0, gid 0.
 * Hence IPC_STAT first, then change, then IPC_SET.
 */
Test(facts, ipc_set_takes_owner_from_buffer, .init = private_ipc_init, .timeout = 10)
{
	need_root();
	pid_t pid = fork_child();

	if (pid == 0) {
		struct msqid_ds ds;
		int id;

		if (become_other_user() != 0)
			_exit(CHILD_BROKEN);
		id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (id < 0)
			_exit(CHILD_BROKEN);
		memset(&ds, 0, sizeof(ds));
		ds.msg_perm.mode = 0640;
		ds.msg_qbytes = 8000;
		if (msgctl(id, IPC_SET, &ds) != 0)
			_exit(errno);
		/* the creator may still look: cuid counts like uid */
		if (msgctl(id, IPC_STAT, &ds) != 0)
			_exit(CHILD_BROKEN);
		if (ds.msg_perm.uid != 0 || ds.msg_perm.gid != 0)
			_exit(1);
		if (ds.msg_perm.cuid != OTHER_UID || ds.msg_perm.cgid != OTHER_UID)
			_exit(2);
		if ((ds.msg_perm.mode & 0777) != 0640 || ds.msg_qbytes != 8000)
			_exit(3);
		_exit(msgctl(id, IPC_RMID, NULL) == 0 ? 0 : CHILD_BROKEN);
	}
	int code = child_exit_code(pid);

	cr_assert(code != 1, "a zeroed buffer did not set the owner to uid 0, gid 0");
	cr_assert(code != 2, "IPC_SET changed the creator");
	cr_assert(code != 3, "IPC_SET did not set the mode and msg_qbytes");
	cr_assert(code == 0, "IPC_SET of a zeroed buffer by the creator: %s", errno_name(code));
}

/*
 * The owner may give the queue to any uid and gid (IPC_SET checks no more than that they
 * exist); the creator keeps the owner's rights: it may still IPC_STAT, IPC_SET and IPC_RMID.
 */
Test(facts, creator_keeps_control_after_giving_away, .init = private_ipc_init, .timeout = 10)
{
	need_root();
	pid_t pid = fork_child();

	if (pid == 0) {
		struct msqid_ds ds;
		int id;

		if (become_other_user() != 0)
			_exit(CHILD_BROKEN);
		id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (id < 0 || msgctl(id, IPC_STAT, &ds) != 0)
			_exit(CHILD_BROKEN);
		ds.msg_perm.uid = GIFT_UID;
		ds.msg_perm.gid = GIFT_GID;
		if (msgctl(id, IPC_SET, &ds) != 0)
			_exit(1);
		if (msgctl(id, IPC_STAT, &ds) != 0)
			_exit(2);
		if (ds.msg_perm.uid != GIFT_UID || ds.msg_perm.gid != GIFT_GID ||
		    ds.msg_perm.cuid != OTHER_UID)
			_exit(3);
		ds.msg_qbytes = 9000;
		if (msgctl(id, IPC_SET, &ds) != 0)
			_exit(4);
		_exit(msgctl(id, IPC_RMID, NULL) == 0 ? 0 : 5);
	}
	int code = child_exit_code(pid);

	cr_assert(code != 1, "the owner could not give the queue to uid %d", GIFT_UID);
	cr_assert(code != 2, "the creator could not IPC_STAT after giving the queue away");
	cr_assert(code != 3, "IPC_STAT does not show the new owner and the creator");
	cr_assert(code != 4, "the creator could not IPC_SET after giving the queue away");
	cr_assert(code == 0, "the creator could not IPC_RMID after giving the queue away");
}

/*
 * IPC_SET changes the owner, the mode (only its 9 permission bits: 01640 sets 0640), msg_qbytes
 * and msg_ctime; nothing else: not cuid, cgid, the key, msg_qnum, msg_cbytes, msg_lspid,
 * msg_lrpid, msg_stime, msg_rtime.
 */
Test(facts, ipc_set_changes_only_perm_qbytes_ctime, .init = private_ipc_init, .timeout = 10)
{
	const key_t key = 0x4c343031;
	int id = new_queue(key, 0600);
	struct text_msg m;
	struct msqid_ds before, after;

	send_bytes(id, 10);
	send_bytes(id, 20);
	cr_assert(msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT) == 10, "msgrcv: %s",
		  strerror(errno));
	before = queue_stat(id);
	wait_past_second(before.msg_ctime > before.msg_stime ? before.msg_ctime : before.msg_stime);
	after = before;
	after.msg_perm.mode = 01640;
	after.msg_qbytes = 9000;
	cr_assert(msgctl(id, IPC_SET, &after) == 0, "IPC_SET: %s", strerror(errno));
	after = queue_stat(id);
	cr_assert((after.msg_perm.mode & 07777) == 0640, "mode %o after setting 01640",
		  after.msg_perm.mode);
	cr_assert(after.msg_qbytes == 9000, "qbytes %lu", (unsigned long)after.msg_qbytes);
	cr_assert(after.msg_ctime > before.msg_ctime, "ctime did not change");
	cr_assert(after.msg_perm.__key == key && after.msg_perm.cuid == before.msg_perm.cuid &&
		      after.msg_perm.cgid == before.msg_perm.cgid,
		  "the key or the creator changed");
	cr_assert(after.msg_qnum == 1 && after.msg_cbytes == 20, "qnum %lu cbytes %lu",
		  (unsigned long)after.msg_qnum, (unsigned long)after.msg_cbytes);
	cr_assert(after.msg_lspid == before.msg_lspid && after.msg_lrpid == before.msg_lrpid,
		  "lspid or lrpid changed");
	cr_assert(after.msg_stime == before.msg_stime && after.msg_rtime == before.msg_rtime,
		  "stime or rtime changed");
	remove_queue(id);
}

/*
 * An IPC_SET the kernel refuses changes nothing: raising msg_qbytes above MSGMNB without
 * CAP_SYS_RESOURCE in the initial user namespace fails with EPERM, and the new mode given in
 * the same call is not applied either; ctime stays.
 */
Test(facts, refused_ipc_set_changes_nothing, .init = private_ipc_init, .timeout = 10)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct msqid_ds ds, after;
		struct msginfo info;
		int id;

		/* root loses CAP_SYS_RESOURCE with uid 0; elsewhere the test has none to lose */
		if (can_switch_user() && become_other_user() != 0)
			_exit(CHILD_BROKEN);
		if (effective_cap(CAP_SYS_RESOURCE) == 1 && in_initial_userns() == 1)
			_exit(CHILD_BROKEN);
		if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info) < 0)
			_exit(CHILD_BROKEN);
		id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (id < 0 || msgctl(id, IPC_STAT, &ds) != 0)
			_exit(CHILD_BROKEN);
		ds.msg_perm.mode = 0644;
		ds.msg_qbytes = (unsigned long)info.msgmnb + 1;
		if (msgctl(id, IPC_SET, &ds) == 0)
			_exit(1);
		if (errno != EPERM)
			_exit(errno);
		if (msgctl(id, IPC_STAT, &after) != 0)
			_exit(CHILD_BROKEN);
		if ((after.msg_perm.mode & 0777) != 0600 ||
		    after.msg_qbytes != (unsigned long)info.msgmnb)
			_exit(2);
		if (after.msg_ctime != ds.msg_ctime)
			_exit(3);
		_exit(msgctl(id, IPC_RMID, NULL) == 0 ? 0 : CHILD_BROKEN);
	}
	int code = child_exit_code(pid);

	cr_assert(code != 1, "IPC_SET above MSGMNB succeeded without CAP_SYS_RESOURCE");
	cr_assert(code != 2, "the refused IPC_SET changed the mode or msg_qbytes");
	cr_assert(code != 3, "the refused IPC_SET changed ctime");
	cr_assert(code == 0, "IPC_SET above MSGMNB: %s, expected EPERM", errno_name(code));
}

/* Read a number from a /proc file of this namespace. */
static long read_limit(const char *path)
{
	char text[32] = "";
	FILE *f = fopen(path, "re");

	cr_assert(f != NULL, "open %s: %s", path, strerror(errno));
	cr_assert(fgets(text, sizeof(text), f) != NULL, "read %s", path);
	cr_assert(fclose(f) == 0, "close %s", path);
	return strtol(text, NULL, 10);
}

/*
 * IPC_INFO fills struct msginfo with the IPC namespace's limits: msgmax, msgmnb and msgmni are
 * kernel.msgmax, kernel.msgmnb and kernel.msgmni (here after msgmnb was set to 10000), and a new
 * queue's msg_qbytes is msgmnb.
 */
Test(facts, ipc_info_reports_limits, .init = private_ipc_init, .timeout = 10)
{
	struct msginfo info;
	char why[256] = "";
	int id;

	cr_assert(private_ipc_write_file("/proc/sys/kernel/msgmnb", "10000", why, sizeof(why)) == 0,
		  "%s", why);
	memset(&info, 0, sizeof(info));
	cr_assert(msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info) >= 0, "IPC_INFO: %s",
		  strerror(errno));
	cr_assert(info.msgmnb == 10000, "IPC_INFO msgmnb %d after writing 10000", info.msgmnb);
	cr_assert(info.msgmax == read_limit("/proc/sys/kernel/msgmax") &&
		      info.msgmni == read_limit("/proc/sys/kernel/msgmni"),
		  "IPC_INFO msgmax %d msgmni %d differ from /proc/sys/kernel", info.msgmax,
		  info.msgmni);
	id = new_queue(IPC_PRIVATE, 0600);
	cr_assert(queue_stat(id).msg_qbytes == 10000, "a new queue's qbytes is not msgmnb");
	remove_queue(id);
}

/* Raising msg_qbytes again, up to MSGMNB, needs no capability; only above MSGMNB does. */
Test(facts, raising_qbytes_up_to_msgmnb_needs_no_cap, .init = private_ipc_init, .timeout = 10)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct msqid_ds ds;
		struct msginfo info;
		int id;

		if (can_switch_user() && become_other_user() != 0)
			_exit(CHILD_BROKEN);
		if (effective_cap(CAP_SYS_RESOURCE) == 1 && in_initial_userns() == 1)
			_exit(CHILD_BROKEN);
		if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info) < 0)
			_exit(CHILD_BROKEN);
		id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (id < 0 || msgctl(id, IPC_STAT, &ds) != 0)
			_exit(CHILD_BROKEN);
		ds.msg_qbytes = 100;
		if (msgctl(id, IPC_SET, &ds) != 0)
			_exit(1);
		ds.msg_qbytes = (unsigned long)info.msgmnb;
		if (msgctl(id, IPC_SET, &ds) != 0)
			_exit(errno);
		_exit(msgctl(id, IPC_RMID, NULL) == 0 ? 0 : CHILD_BROKEN);
	}
	int code = child_exit_code(pid);

	cr_assert(code != 1, "lowering msg_qbytes to 100 failed");
	cr_assert(code == 0, "raising msg_qbytes from 100 back to MSGMNB: %s", errno_name(code));
}

/* ---- MSG_INFO, MSG_STAT, MSG_STAT_ANY ---- */

/*
 * msgctl(0, MSG_INFO, ...) returns the highest index in use, not a count: 0 when there is no
 * queue at all (as when there is one, at index 0); holes below it do not lower it.
 */
Test(facts, msg_info_returns_highest_index, .init = private_ipc_init, .timeout = 10)
{
	struct msginfo info;
	int ids[5];

	cr_assert(msg_info(&info) == 0 && info.msgpool == 0, "empty namespace: %d queues",
		  info.msgpool);
	for (int i = 0; i < 5; i++)
		ids[i] = new_queue(IPC_PRIVATE, 0600);
	for (int i = 0; i < 5; i++)
		cr_assert(index_of(ids[i]) == i, "queue %d is not at index %d", ids[i], i);
	remove_queue(ids[1]);
	remove_queue(ids[3]);
	int max = msg_info(&info);
	cr_assert(max == 4 && info.msgpool == 3,
		  "queues at indexes 0, 2, 4: MSG_INFO returned %d, msgpool %d", max, info.msgpool);
	remove_queue(ids[4]);
	max = msg_info(&info);
	cr_assert(max == 2, "queues at indexes 0 and 2: MSG_INFO returned %d", max);
	remove_queue(ids[0]);
	remove_queue(ids[2]);
}

/*
 * A removed queue's index is not handed out again at once: msgget takes the following indexes,
 * and only after going round does it reuse a freed one, with a new sequence number, so that
 * the new queue's id (index + 32768 * sequence) is not its index.
 */
Test(facts, freed_index_reused_with_new_id, .init = private_ipc_init, .timeout = 10)
{
	int ids[6], id = -1, index = -1, tries;

	for (int i = 0; i < 6; i++)
		ids[i] = new_queue(IPC_PRIVATE, 0600);
	remove_queue(ids[1]);
	remove_queue(ids[3]);
	id = new_queue(IPC_PRIVATE, 0600);
	cr_assert(index_of(id) == 6, "the next queue took index %d, not the next one, 6",
		  index_of(id));
	remove_queue(id);
	for (tries = 0; tries < MAX_CHURN; tries++) {
		id = new_queue(IPC_PRIVATE, 0600);
		index = index_of(id);
		if (index != id)
			break;
		remove_queue(id);
	}
	cr_assert(tries < MAX_CHURN, "no index came back in %d msgget calls", MAX_CHURN);
	cr_assert(index == 1 || index == 3, "the reused index %d was not a freed one", index);
	cr_assert(id > index && (id - index) % SEQ_MULTIPLIER == 0,
		  "id %d at index %d is not index + 32768 * sequence", id, index);
	struct msqid_ds ds;
	cr_assert(msgctl(ids[index], IPC_STAT, &ds) != 0 && errno == EINVAL,
		  "the old id %d reaches the new queue %d at its index: %s", ids[index], id,
		  errno_name(errno));
	remove_queue(id);
	for (int i = 0; i < 6; i++)
		if (i != 1 && i != 3)
			remove_queue(ids[i]);
}

/*
 * MSG_STAT takes an index, not an id, and returns the id of the queue there (filling the
 * struct like IPC_STAT, msg_perm.__seq being the id's sequence number); an index without a
 * queue gives EINVAL. Where the id is not the index, IPC_STAT with the index fails with EINVAL.
 */
Test(facts, msg_stat_takes_index_returns_id, .init = private_ipc_init, .timeout = 10)
{
	const key_t key = 0x4c343032;
	struct msqid_ds ds;
	int first = new_queue(IPC_PRIVATE, 0600), id = -1, index = -1;

	remove_queue(first);
	/* go round the indexes until index 0 comes back with a new id */
	for (int tries = 0; tries < MAX_CHURN && index != 0; tries++) {
		id = new_queue(key, 0600);
		index = index_of(id);
		if (index != 0)
			remove_queue(id);
	}
	cr_assert(index == 0 && id != 0, "index 0 did not come back");
	send_bytes(id, 7);
	cr_assert(msgctl(0, MSG_STAT, &ds) == id, "MSG_STAT(0) did not return id %d", id);
	cr_assert(ds.msg_perm.__key == key && ds.msg_cbytes == 7,
		  "MSG_STAT filled the wrong struct");
	cr_assert(ds.msg_perm.__seq == id / SEQ_MULTIPLIER, "msg_perm.__seq %u for id %d",
		  (unsigned)ds.msg_perm.__seq, id);
	cr_assert(msgctl(0, IPC_STAT, &ds) != 0 && errno == EINVAL,
		  "IPC_STAT(0) with queue %d at index 0: %s, expected EINVAL", id,
		  errno_name(errno));
	cr_assert(msgctl(1, MSG_STAT, &ds) < 0 && errno == EINVAL,
		  "MSG_STAT on an index without a queue: %s, expected EINVAL", errno_name(errno));
	remove_queue(id);
}

/*
 * MSG_STAT and IPC_STAT need read permission: on a 0600 queue of another user they fail with
 * EACCES. MSG_STAT_ANY needs none and returns the id (Linux 4.17+), as ipcs needs; nor do
 * MSG_INFO and IPC_INFO.
 */
Test(facts, msg_stat_any_needs_no_read_permission, .init = private_ipc_init, .timeout = 10)
{
	need_root();
	int id = new_queue(IPC_PRIVATE, 0600);
	int index = index_of(id);
	pid_t pid = fork_child();

	if (pid == 0) {
		struct msqid_ds ds;

		if (become_other_user() != 0)
			_exit(CHILD_BROKEN);
		if (msgctl(id, IPC_STAT, &ds) == 0 || errno != EACCES)
			_exit(1);
		if (msgctl(index, MSG_STAT, &ds) >= 0 || errno != EACCES)
			_exit(2);
		if (msgctl(0, MSG_INFO, &ds) < 0 || msgctl(0, IPC_INFO, &ds) < 0)
			_exit(4);
		_exit(msgctl(index, MSG_STAT_ANY, &ds) == id ? 0 : 3);
	}
	int code = child_exit_code(pid);

	cr_assert(code != 1, "IPC_STAT by another user of a 0600 queue did not fail with EACCES");
	cr_assert(code != 2, "MSG_STAT by another user of a 0600 queue did not fail with EACCES");
	cr_assert(code != 4, "MSG_INFO or IPC_INFO failed for another user");
	cr_assert(code == 0, "MSG_STAT_ANY by another user did not return the id");
	remove_queue(id);
}

/*
 * IPC_SET and IPC_RMID need the caller to be the owner or the creator (or privileged): anyone
 * else gets EPERM, even when the mode lets them read and write the queue.
 */
Test(facts, non_owner_set_rmid_eperm, .init = private_ipc_init, .timeout = 10)
{
	need_root();
	int id = new_queue(IPC_PRIVATE, 0666);
	pid_t pid = fork_child();

	if (pid == 0) {
		struct msqid_ds ds;

		if (become_other_user() != 0)
			_exit(CHILD_BROKEN);
		if (msgctl(id, IPC_STAT, &ds) != 0)
			_exit(1);
		ds.msg_qbytes = 100;
		if (msgctl(id, IPC_SET, &ds) == 0 || errno != EPERM)
			_exit(2);
		if (msgctl(id, IPC_RMID, NULL) == 0 || errno != EPERM)
			_exit(3);
		_exit(0);
	}
	int code = child_exit_code(pid);

	cr_assert(code != 1, "another user could not IPC_STAT a 0666 queue");
	cr_assert(code != 2, "IPC_SET by a user who is neither owner nor creator: not EPERM");
	cr_assert(code == 0, "IPC_RMID by a user who is neither owner nor creator: not EPERM");
	cr_assert(queue_stat(id).msg_qbytes != 100, "the refused IPC_SET changed the queue");
	remove_queue(id);
}

/* ---- times and removal ---- */

/* msg_stime and msg_rtime are the wall-clock time, in seconds, of the last msgsnd and msgrcv. */
Test(facts, stime_rtime_are_seconds_of_last_calls, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue(IPC_PRIVATE, 0600);
	struct text_msg m;
	time_t before = time(NULL), after;
	struct msqid_ds ds;

	send_bytes(id, 3);
	cr_assert(msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT) == 3, "msgrcv: %s",
		  strerror(errno));
	after = time(NULL);
	ds = queue_stat(id);
	/* a second of slack below: the kernel's seconds may trail the vDSO clock by a tick */
	cr_assert(ds.msg_stime >= before - 1 && ds.msg_stime <= after,
		  "stime %lld not in [%lld, %lld]", (long long)ds.msg_stime, (long long)before,
		  (long long)after);
	cr_assert(ds.msg_rtime >= ds.msg_stime && ds.msg_rtime <= after,
		  "rtime %lld not in [stime %lld, %lld]", (long long)ds.msg_rtime,
		  (long long)ds.msg_stime, (long long)after);
	remove_queue(id);
}

/* IPC_RMID removes the queue and its messages at once: MSG_INFO counts neither afterwards. */
Test(facts, ipc_rmid_discards_messages, .init = private_ipc_init, .timeout = 10)
{
	struct msginfo info;
	int id = new_queue(IPC_PRIVATE, 0600);

	send_bytes(id, 11);
	send_bytes(id, 22);
	msg_info(&info);
	cr_assert(info.msgpool == 1 && info.msgmap == 2 && info.msgtql == 33,
		  "before: %d queues %d messages %d bytes", info.msgpool, info.msgmap, info.msgtql);
	remove_queue(id);
	msg_info(&info);
	cr_assert(info.msgpool == 0 && info.msgmap == 0 && info.msgtql == 0,
		  "after IPC_RMID: %d queues %d messages %d bytes", info.msgpool, info.msgmap,
		  info.msgtql);
}

/* msg_lspid and msg_lrpid are the last sender and the last receiver: A sends, B receives, C sends. */
Test(facts, lspid_lrpid_are_the_last_callers, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue(IPC_PRIVATE, 0600);
	pid_t pids[3];

	for (int k = 0; k < 3; k++) {
		pids[k] = fork_child();
		if (pids[k] == 0) {
			struct text_msg m = {.mtype = 1};

			if (k == 1)
				_exit(msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT) < 0 ? errno
											 : 0);
			_exit(msgsnd(id, &m, 5, IPC_NOWAIT) != 0 ? errno : 0);
		}
		cr_assert(child_exit_code(pids[k]) == 0, "child %d failed", k);
	}
	struct msqid_ds ds = queue_stat(id);

	cr_assert(ds.msg_lspid == pids[2], "lspid %d: the senders were %d then %d",
		  (int)ds.msg_lspid, (int)pids[0], (int)pids[2]);
	cr_assert(ds.msg_lrpid == pids[1], "lrpid %d: the receiver was %d", (int)ds.msg_lrpid,
		  (int)pids[1]);
	remove_queue(id);
}

/*
 * The mode's bits decide who may send and receive: on a queue of mode 0602 another user may
 * send (write bit) but not receive (read bit: EACCES); with 0604, receive but not send.
 */
Test(facts, mode_governs_send_and_receive, .init = private_ipc_init, .timeout = 10)
{
	need_root();
	int write_only = new_queue(IPC_PRIVATE, 0602);
	int read_only = new_queue(IPC_PRIVATE, 0604);

	send_bytes(read_only, 4);
	pid_t pid = fork_child();

	if (pid == 0) {
		struct text_msg m = {.mtype = 1};

		if (become_other_user() != 0)
			_exit(CHILD_BROKEN);
		if (msgsnd(write_only, &m, 4, IPC_NOWAIT) != 0)
			_exit(1);
		if (msgrcv(write_only, &m, sizeof(m.mtext), 0, IPC_NOWAIT) >= 0 || errno != EACCES)
			_exit(2);
		if (msgrcv(read_only, &m, sizeof(m.mtext), 0, IPC_NOWAIT) != 4)
			_exit(3);
		if (msgsnd(read_only, &m, 4, IPC_NOWAIT) == 0 || errno != EACCES)
			_exit(4);
		_exit(0);
	}
	int code = child_exit_code(pid);

	cr_assert(code != 1, "another user could not send to a 0602 queue");
	cr_assert(code != 2, "another user's msgrcv on a 0602 queue did not fail with EACCES");
	cr_assert(code != 3, "another user could not receive from a 0604 queue");
	cr_assert(code == 0, "another user's msgsnd to a 0604 queue did not fail with EACCES");
	remove_queue(write_only);
	remove_queue(read_only);
}

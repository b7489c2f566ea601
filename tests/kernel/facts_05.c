/*
 * Kernel behaviour that lab 05 (the bank server) teaches or its grader relies on, beyond what
 * facts.c already checks: routing replies by pid, full queues with a receiver waiting, lowering
 * msg_qbytes under a queue's contents, stop/continue during msgrcv, and how kill(pid, 0) sees
 * an exited process. Each test runs in a private IPC namespace (private_ipc.h).
 *
 * Forked children report through their exit code and end in _exit() (children.h).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "children.h"
#include "private_ipc.h"
#include "queues.h"

#define PAYLOAD 24 /* the size of a bank request or reply */

struct message {
	long mtype;
	char mtext[PAYLOAD];
};

static int wait_state(pid_t pid, char state)
{
	for (int waited = 0; waited <= CHILD_DEADLINE_MS; waited += CHILD_POLL_MS) {
		if (task_state(pid, pid) == state)
			return 0;
		sleep_ms(CHILD_POLL_MS);
	}
	return -1;
}

static int new_queue(void)
{
	int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);

	cr_assert(id >= 0, "msgget(IPC_PRIVATE): %s", strerror(errno));
	return id;
}

static void send_nowait(int id, long type)
{
	struct message m = {.mtype = type};

	cr_assert(msgsnd(id, &m, PAYLOAD, IPC_NOWAIT) == 0, "msgsnd of type %ld: %s", type,
		  strerror(errno));
}

/* ---- routing by type ---- */

/* msgrcv with msgtyp = P returns the message of type P even with others queued ahead of it. */
Test(facts, msgtyp_pid_skips_others_replies, .init = private_ipc_init, .timeout = 10)
{
	struct message m;
	int id = new_queue();
	ssize_t r;

	send_nowait(id, 1); /* a request */
	send_nowait(id, 1001);
	send_nowait(id, 1002);
	send_nowait(id, 1003);
	r = msgrcv(id, &m, PAYLOAD, 1002, IPC_NOWAIT);
	cr_assert(r == PAYLOAD && m.mtype == 1002, "msgrcv(msgtyp 1002): %zd, mtype %ld", r,
		  m.mtype);
	cr_assert(queue_stat(id).msg_qnum == 3, "the other three must stay queued");
	r = msgrcv(id, &m, PAYLOAD, 1002, IPC_NOWAIT);
	cr_assert(r < 0 && errno == ENOMSG, "a second msgrcv(msgtyp 1002): %s",
		  r < 0 ? strerror(errno) : "succeeded");
	remove_queue(id);
}

/* A receiver waiting for type P sleeps on while messages of other types arrive. */
Test(facts, waiting_receiver_ignores_other_types, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue();
	pid_t pid = fork_child();

	if (pid == 0) {
		struct message m;
		ssize_t r = msgrcv(id, &m, PAYLOAD, getpid(), 0);

		_exit(r == PAYLOAD && m.mtype == getpid() ? 0 : 1);
	}
	cr_assert(wait_blocked_in(pid, pid, NR_MSGRCV, CHILD_DEADLINE_MS) == 0,
		  "the child never blocked in msgrcv");
	send_nowait(id, 1);
	send_nowait(id, pid + 1);
	sleep_ms(50);
	cr_assert(wait_blocked_in(pid, pid, NR_MSGRCV, CHILD_DEADLINE_MS) == 0 &&
		      queue_stat(id).msg_qnum == 2,
		  "the child must still wait, with both other messages queued");
	send_nowait(id, pid);
	cr_assert(child_exit_code(pid) == 0, "the child did not receive its own message");
	cr_assert(queue_stat(id).msg_qnum == 2, "the other two must stay queued");
	remove_queue(id);
}

/* A message for a type nobody will ever ask for (the pid of a process that has exited) stays
 * queued, and takes room, until someone removes it. */
Test(facts, orphaned_reply_stays_queued, .init = private_ipc_init, .timeout = 10)
{
	struct message m;
	int id = new_queue();
	pid_t pid = fork_child();
	ssize_t r;

	if (pid == 0)
		_exit(0);
	cr_assert(child_exit_code(pid) == 0, "the child failed");
	send_nowait(id, pid);
	cr_assert(queue_stat(id).msg_qnum == 1 && queue_stat(id).msg_cbytes == PAYLOAD,
		  "the reply to the exited process must stay queued");
	r = msgrcv(id, &m, PAYLOAD, pid, IPC_NOWAIT);
	cr_assert(r == PAYLOAD, "msgrcv(msgtyp = the exited pid, IPC_NOWAIT) must remove it: %s",
		  r < 0 ? strerror(errno) : "short");
	remove_queue(id);
}

/* ---- full queues ---- */

/* On a full queue msgsnd with IPC_NOWAIT fails with EAGAIN even when a receiver is waiting for
 * exactly that type: the kernel checks for room before it hands a message over. */
Test(facts, full_queue_eagain_despite_waiting_receiver, .init = private_ipc_init, .timeout = 10)
{
	struct message m = {.mtype = 0};
	int id = new_queue();
	struct msqid_ds ds = queue_stat(id);
	pid_t pid;

	ds.msg_qbytes = PAYLOAD;
	cr_assert(msgctl(id, IPC_SET, &ds) == 0, "IPC_SET msg_qbytes %d: %s", PAYLOAD,
		  strerror(errno));
	send_nowait(id, 7); /* the queue is now full */
	pid = fork_child();
	if (pid == 0) {
		ssize_t r = msgrcv(id, &m, PAYLOAD, getpid(), 0);

		_exit(r < 0 && errno == EIDRM ? 0 : 1);
	}
	cr_assert(wait_blocked_in(pid, pid, NR_MSGRCV, CHILD_DEADLINE_MS) == 0,
		  "the child never blocked in msgrcv");
	m.mtype = pid;
	errno = 0;
	cr_assert(msgsnd(id, &m, PAYLOAD, IPC_NOWAIT) != 0 && errno == EAGAIN,
		  "msgsnd to a waiting receiver on a full queue: %s",
		  errno ? strerror(errno) : "succeeded");
	cr_assert(task_state(pid, pid) == 'S' && queue_stat(id).msg_qnum == 1,
		  "the receiver must still wait, and the queue hold only the first message");
	remove_queue(id);
	cr_assert(child_exit_code(pid) == 0, "the waiting receiver did not get EIDRM");
}

/* Lowering msg_qbytes below what the queue holds (the owner needs no capability to lower it)
 * keeps the messages; a send fits again only once they leave room under the new limit. */
Test(facts, qbytes_lowered_below_contents, .init = private_ipc_init, .timeout = 10)
{
	struct message m = {.mtype = 9};
	int id = new_queue();
	struct msqid_ds ds;

	for (int i = 0; i < 3; i++)
		send_nowait(id, 9);
	ds = queue_stat(id);
	ds.msg_qbytes = PAYLOAD;
	cr_assert(msgctl(id, IPC_SET, &ds) == 0, "IPC_SET msg_qbytes below msg_cbytes: %s",
		  strerror(errno));
	ds = queue_stat(id);
	cr_assert(ds.msg_qnum == 3 && ds.msg_cbytes == 3 * PAYLOAD && ds.msg_qbytes == PAYLOAD,
		  "qnum %lu cbytes %lu qbytes %lu", (unsigned long)ds.msg_qnum,
		  (unsigned long)ds.msg_cbytes, (unsigned long)ds.msg_qbytes);
	cr_assert(msgrcv(id, &m, PAYLOAD, 0, IPC_NOWAIT) == PAYLOAD, "msgrcv: %s", strerror(errno));
	cr_assert(msgrcv(id, &m, PAYLOAD, 0, IPC_NOWAIT) == PAYLOAD, "msgrcv: %s", strerror(errno));
	errno = 0;
	cr_assert(msgsnd(id, &m, PAYLOAD, IPC_NOWAIT) != 0 && errno == EAGAIN,
		  "with %d bytes held and msg_qbytes %d, a %d-byte send: %s", PAYLOAD, PAYLOAD,
		  PAYLOAD, errno ? strerror(errno) : "succeeded");
	cr_assert(msgrcv(id, &m, PAYLOAD, 0, IPC_NOWAIT) == PAYLOAD, "msgrcv: %s", strerror(errno));
	cr_assert(msgsnd(id, &m, PAYLOAD, IPC_NOWAIT) == 0, "into the empty queue: %s",
		  strerror(errno));
	remove_queue(id);
}

/* ---- signals ---- */

/* SIGSTOP and SIGCONT (no handler) do not make a blocked msgrcv fail: it goes on waiting. */
Test(facts, stop_and_continue_keep_msgrcv_waiting, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue();
	pid_t pid = fork_child();

	if (pid == 0) {
		struct message m;
		ssize_t r = msgrcv(id, &m, PAYLOAD, 5, 0);

		_exit(r == PAYLOAD ? 0 : r < 0 && errno == EINTR ? 2 : 1);
	}
	cr_assert(wait_blocked_in(pid, pid, NR_MSGRCV, CHILD_DEADLINE_MS) == 0,
		  "the child never blocked in msgrcv");
	cr_assert(kill(pid, SIGSTOP) == 0 && wait_state(pid, 'T') == 0, "the child did not stop");
	cr_assert(kill(pid, SIGCONT) == 0, "kill(SIGCONT): %s", strerror(errno));
	cr_assert(wait_blocked_in(pid, pid, NR_MSGRCV, CHILD_DEADLINE_MS) == 0,
		  "after SIGCONT the child must be back in msgrcv");
	send_nowait(id, 5);
	cr_assert(child_exit_code(pid) == 0, "the child's msgrcv did not simply go on waiting");
	remove_queue(id);
}

/* A message sent while the receiver is stopped waits in the queue: a stopped process is not
 * among the receivers a message can be handed to. */
Test(facts, message_for_stopped_receiver_is_queued, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue();
	pid_t pid = fork_child();

	if (pid == 0) {
		struct message m;

		_exit(msgrcv(id, &m, PAYLOAD, 1, 0) == PAYLOAD ? 0 : 1);
	}
	cr_assert(wait_blocked_in(pid, pid, NR_MSGRCV, CHILD_DEADLINE_MS) == 0,
		  "the child never blocked in msgrcv");
	cr_assert(kill(pid, SIGSTOP) == 0 && wait_state(pid, 'T') == 0, "the child did not stop");
	send_nowait(id, 1);
	cr_assert(queue_stat(id).msg_qnum == 1, "the request must wait in the queue");
	cr_assert(kill(pid, SIGCONT) == 0, "kill(SIGCONT): %s", strerror(errno));
	cr_assert(child_exit_code(pid) == 0, "after SIGCONT the child must get it");
	cr_assert(queue_stat(id).msg_qnum == 0, "and the queue be empty");
	remove_queue(id);
}

/* Without a handler, SIGUSR1 ends a process blocked in msgrcv (the default action). */
Test(facts, sigusr1_default_terminates_receiver, .init = private_ipc_init, .timeout = 10)
{
	int id = new_queue();
	pid_t pid = fork_child();
	int status;

	if (pid == 0) {
		struct message m;

		if (signal(SIGUSR1, SIG_DFL) == SIG_ERR)
			_exit(CHILD_BROKEN);
		_exit(msgrcv(id, &m, PAYLOAD, 1, 0) < 0 ? 1 : 0);
	}
	cr_assert(wait_blocked_in(pid, pid, NR_MSGRCV, CHILD_DEADLINE_MS) == 0,
		  "the child never blocked in msgrcv");
	cr_assert(kill(pid, SIGUSR1) == 0, "kill: %s", strerror(errno));
	status = child_status(pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1,
		  "the child must die of SIGUSR1 (status 0x%x)", (unsigned)status);
	remove_queue(id);
}

/* ---- processes ---- */

/* kill(pid, 0) succeeds for a process that has exited but not been reaped (a zombie), and fails
 * with ESRCH once its parent has waited for it. */
Test(facts, kill_zero_sees_zombie_until_reaped, .init = private_ipc_init, .timeout = 10)
{
	pid_t pid = fork_child();
	siginfo_t si;

	if (pid == 0)
		_exit(0);
	memset(&si, 0, sizeof(si));
	cr_assert(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0, "waitid: %s",
		  strerror(errno));
	cr_assert(task_state(pid, pid) == 'Z', "the child must be a zombie");
	cr_assert(kill(pid, 0) == 0, "kill(zombie, 0): %s", strerror(errno));
	cr_assert(waitpid(pid, NULL, 0) == pid, "waitpid: %s", strerror(errno));
	errno = 0;
	cr_assert(kill(pid, 0) != 0 && errno == ESRCH, "kill(reaped pid, 0): %s",
		  errno ? strerror(errno) : "succeeded");
}

/* Become an unprivileged user; 0, or -1 where there is no such user (a user namespace). */
static int become(uid_t uid)
{
	return setgroups(0, NULL) == 0 && setresgid(uid, uid, uid) == 0 &&
		       setresuid(uid, uid, uid) == 0
		   ? 0
		   : -1;
}

/* kill(pid, 0) on a live process of another user fails with EPERM: the process exists. */
Test(facts, kill_zero_other_user_eperm, .init = private_ipc_init, .timeout = 10)
{
	int ready[2];
	char byte = 0;
	pid_t target, prober;
	int code;

	cr_assert(pipe(ready) == 0, "pipe: %s", strerror(errno));
	target = fork_child();
	if (target == 0) {
		byte = become(65534) == 0 ? 'y' : 'n';
		if (write(ready[1], &byte, 1) != 1)
			_exit(CHILD_BROKEN);
		for (;;)
			pause();
	}
	cr_assert(read(ready[0], &byte, 1) == 1, "read: %s", strerror(errno));
	if (byte != 'y') {
		kill(target, SIGKILL);
		waitpid(target, NULL, 0);
		cr_skip_test("needs two users (root outside a user namespace)");
	}
	prober = fork_child();
	if (prober == 0) {
		if (become(65533) != 0)
			_exit(CHILD_BROKEN);
		_exit(kill(target, 0) == -1 && errno == EPERM ? 0 : kill(target, 0) == 0 ? 1 : 2);
	}
	code = child_exit_code(prober);
	cr_assert(kill(target, SIGKILL) == 0, "kill: %s", strerror(errno));
	cr_assert(waitpid(target, NULL, 0) == target, "waitpid: %s", strerror(errno));
	cr_assert(code == 0, "kill(pid of another user, 0) %s, expected EPERM",
		  code == 1 ? "succeeded" : "failed with another error");
}

/*
 * Lab 01 (two children, one queue): the autograder's tests. Points and hints are in rubric.json;
 * the contract is in handouts/01-two-children.md.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include "harness.h"

#define MSG_TEXT 1
#define MSG_END	 2
#define TEXT_MAX 512 /* the size of mtext in the contract */

static const char *const three[] = {"hello", "big world", "a third, longer message!", NULL};

/* The successful msgsnd/msgrcv calls carrying text messages, in trace order. */
static int text_calls(const struct run_result *r, const char *call, const struct trace_call **out,
		      int max)
{
	int n = 0;
	for (size_t i = 0; i < r->ncalls && n < max; i++) {
		const struct trace_call *c = &r->calls[i];
		if (!strcmp(c->call, call) && c->ret >= 0 && c->has_mtype && c->mtype == MSG_TEXT)
			out[n++] = c;
	}
	return n;
}

/* Each of the texts must have come out of the queue, in order (as the start of a message): a
 * line printed without its msgrcv earns nothing. */
static void expect_received(const struct run_result *r, const char *const *texts, int n)
{
	const struct trace_call *rcv[64];
	int nr = text_calls(r, "msgrcv", rcv, 64);
	for (int i = 0; i < n && i < 64; i++) {
		size_t len = strlen(texts[i]);
		/* Extra bytes after the text are exact_bytes' business, not this test's. */
		bool same = i < nr && rcv[i]->datalen >= (long)len && rcv[i]->shown >= len &&
			    (len == 0 || !memcmp(rcv[i]->data, texts[i], len));
		if (!same) {
			cr_expect_fail("message %d (\"%.40s\") %s: each line printed must be a "
				       "message the receiver got from msgrcv",
				       i + 1, texts[i],
				       i < nr ? "is not what msgrcv returned there"
					      : "never came out of the queue");
			return;
		}
	}
}

/* The parent must have forked its two children (the tests of the parent's duties need them). */
static void expect_two_children(const struct run_result *r)
{
	int kids[8];
	int n = children_of(r, r->main_pid, kids, 8);
	cr_assert(n >= 2,
		  "the parent (pid %d) forked %d child%s; it must fork a sender and a receiver",
		  r->main_pid, n, n == 1 ? "" : "ren");
}

/* The receiver must print exactly the messages, in order. */
Test(lab, received_lines, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = three}, &r);
	size_t n;
	char **got = text_lines(r.out, "received: ", &n);
	if (n == 0)
		cr_assert_fail("no \"received: \" line on stdout; %s",
			       count_calls(&r, "msgrcv", 0)
				   ? "msgrcv was called, but nothing printed"
				   : "no process ever called msgrcv");
	cr_expect_eq(n, (size_t)3, "expected 3 \"received: \" lines (one per message), got %zu", n);
	for (size_t i = 0; i < n && i < 3; i++)
		cr_expect_str_eq(got[i], three[i],
				 "message %zu: expected \"received: %s\", got \"received: %s\"",
				 i + 1, three[i], got[i]);
	expect_received(&r, three, 3);
	expect_exit(&r, 0);
	free_lines(got);
	run_free(&r);
}

/* The parent prints its two lines once each, first and last, even when stdout is not a tty. */
Test(lab, parent_lines, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = three}, &r);
	expect_two_children(&r);
	char *out = normalise(r.out);
	size_t created, removed;
	char **c = text_lines(out, "queue <id> created", &created);
	char **d = text_lines(out, "queue <id> removed", &removed);
	cr_expect_eq(created, (size_t)1,
		     "\"queue ID created\" appears %zu times on stdout, expected once%s", created,
		     created > 1 ? ": the parent printed it before fork() without fflush(stdout); "
				   "stdout is a pipe here, so fully buffered, and each child that "
				   "exits flushes its own copy of the buffer"
				 : "");
	cr_expect_eq(removed, (size_t)1,
		     "\"queue ID removed\" appears %zu times on stdout, expected once", removed);
	if (created == 1)
		cr_expect(!strncmp(out, "queue <id> created\n", 19),
			  "\"queue ID created\" must be the first line: print it before forking");
	size_t len = strlen(out);
	if (removed == 1)
		cr_expect(
		    len >= 19 && !strcmp(out + len - 19, "queue <id> removed\n"),
		    "\"queue ID removed\" must be the last line: print it after both children "
		    "have ended and the queue is removed");
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	if (get && get->ret >= 0 && created == 1) {
		char want[64];
		snprintf(want, sizeof want, "queue %ld created\n", get->ret);
		cr_expect(strstr(r.out, want),
			  "the first line must show the id msgget returned (%ld)", get->ret);
	}
	free_lines(c);
	free_lines(d);
	free(out);
	run_free(&r);
}

/* Whole stdout, exactly, for many messages: empty, long (512 bytes), spaces, punctuation. */
Test(lab, exact_output, .timeout = 60)
{
	static char long_text[513];
	memset(long_text, 'x', 512);
	for (int i = 0; i < 512; i += 10)
		long_text[i] = (char)('a' + i / 10 % 26);
	const char *args[48];
	int n = 0;
	args[n++] = "first";
	args[n++] = "";
	args[n++] = long_text;
	args[n++] = "  spaces  around  ";
	args[n++] = "quote ' and \" marks; 100% sure?";
	char numbered[40][16];
	for (int i = 0; i < 40; i++) {
		snprintf(numbered[i], sizeof numbered[i], "message %d", i + 1);
		args[n++] = numbered[i];
	}
	args[n] = NULL;
	size_t size = 64;
	for (int i = 0; i < n; i++)
		size += strlen(args[i]) + 12;
	char *expected = malloc(size);
	cr_assert(expected, "grader error: out of memory");
	size_t k = (size_t)sprintf(expected, "queue <id> created\n");
	for (int i = 0; i < n; i++)
		k += (size_t)sprintf(expected + k, "received: %s\n", args[i]);
	sprintf(expected + k, "queue <id> removed\n");

	struct run_result r;
	run_student(&(struct run_spec){.args = args}, &r);
	expect_stdout(&r, expected);
	expect_received(&r, args, n);
	expect_exit(&r, 0);
	free(expected);
	run_free(&r);
}

/* The messages go through the queue from one child to the other, not from or to the parent. */
Test(lab, through_queue, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = three}, &r);
	int kids[8];
	int nkids = children_of(&r, r.main_pid, kids, 8);
	cr_assert(nkids >= 2,
		  "the parent (pid %d) forked %d child%s; it must fork a sender and a "
		  "receiver",
		  r.main_pid, nkids, nkids == 1 ? "" : "ren");
	const struct trace_call *sent[8], *got[8];
	int ns = text_calls(&r, "msgsnd", sent, 8);
	int ng = text_calls(&r, "msgrcv", got, 8);
	cr_assert(ns > 0, "no message of type MSG_TEXT (1) was sent successfully%s",
		  count_calls(&r, "msgsnd", 0) ? "" : ": no process called msgsnd");
	cr_assert(ng > 0, "no message of type MSG_TEXT (1) was received%s",
		  count_calls(&r, "msgrcv", 0) ? "" : ": no process called msgrcv");
	int sender = sent[0]->pid, receiver = got[0]->pid;
	for (int i = 0; i < ns; i++)
		cr_assert(sent[i]->pid != r.main_pid && sent[i]->ppid == r.main_pid,
			  "message %d was sent by pid %d, %s: the sender child must send", i + 1,
			  sent[i]->pid,
			  sent[i]->pid == r.main_pid ? "the parent itself"
						     : "not a child of the parent");
	for (int i = 0; i < ns; i++)
		cr_assert_eq(sent[i]->pid, sender,
			     "messages were sent by more than one process (%d "
			     "and %d): one sender child sends them all",
			     sender, sent[i]->pid);
	for (int i = 0; i < ng; i++)
		cr_assert(got[i]->pid != r.main_pid && got[i]->ppid == r.main_pid,
			  "message %d was received by pid %d, %s: the receiver child must receive",
			  i + 1, got[i]->pid,
			  got[i]->pid == r.main_pid ? "the parent itself"
						    : "not a child of the parent");
	for (int i = 0; i < ng; i++)
		cr_assert_eq(got[i]->pid, receiver,
			     "messages were received by more than one process "
			     "(%d and %d)",
			     receiver, got[i]->pid);
	cr_assert_neq(sender, receiver,
		      "the same child (pid %d) sent and received: one child "
		      "sends, the other receives",
		      sender);
	cr_expect_eq(ns, 3, "3 messages were to be sent, %d were", ns);
	cr_expect_eq(ng, 3, "3 messages were to be received, %d were", ng);
	run_free(&r);
}

/* Each message carries exactly its text: no trailing bytes, no missing bytes. */
Test(lab, exact_bytes, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = three}, &r);
	const struct trace_call *sent[8], *got[8];
	int ns = text_calls(&r, "msgsnd", sent, 8);
	int ng = text_calls(&r, "msgrcv", got, 8);
	cr_assert(ns > 0, "no message of type MSG_TEXT (1) was sent successfully");
	for (int i = 0; i < ns && i < 3; i++) {
		const struct trace_call *c = sent[i];
		long len = (long)strlen(three[i]);
		if (c->datalen == len && !memcmp(c->data, three[i], (size_t)len))
			continue;
		char *bytes = show_bytes(c->data, c->shown);
		if (c->datalen == len + 1 && !memcmp(c->data, three[i], (size_t)len + 1))
			cr_assert_fail(
			    "message %d (\"%s\") was sent with its terminating NUL (msgsz %ld): "
			    "send exactly strlen(text) bytes; the receiver learns the length "
			    "from msgrcv's return value",
			    i + 1, three[i], c->msgsz);
		if (c->datalen == (long)sizeof(long) + TEXT_MAX)
			cr_assert_fail(
			    "message %d (\"%s\") was sent with msgsz %ld, sizeof msg: that "
			    "counts the long mtype and the whole buffer. Send strlen(text)",
			    i + 1, three[i], c->msgsz);
		if (c->datalen > len && c->datalen <= len + 1 + (long)sizeof(long))
			cr_assert_fail(
			    "message %d (\"%s\") was sent with msgsz %ld, %ld bytes too many: "
			    "%s. msgsz counts only the bytes of mtext, not the long mtype",
			    i + 1, three[i], c->msgsz, c->datalen - len, bytes);
		if (c->datalen > len)
			cr_assert_fail("message %d (\"%s\") was sent with msgsz %ld: %s. Send "
				       "strlen(text) bytes, not the size of the whole buffer",
				       i + 1, three[i], c->msgsz, bytes);
		cr_assert_fail("message %d: expected the %ld bytes \"%s\", the queue got %s", i + 1,
			       len, three[i], bytes);
	}
	cr_assert(ng > 0, "no message of type MSG_TEXT (1) was received");
	for (int i = 0; i < ng && i < ns; i++)
		cr_expect(got[i]->ret == sent[i]->datalen,
			  "message %d: %ld bytes sent but msgrcv returned %ld", i + 1,
			  sent[i]->datalen, got[i]->ret);
	run_free(&r);
}

/* Every msgsnd uses a positive mtype, so none fails with EINVAL. */
Test(lab, mtype_positive, .timeout = 60)
{
	struct run_result r;
	/* A sender that exits on EINVAL leaves the receiver waiting forever: the trace still
	 * shows why, so look at it before reporting the timeout. */
	run_student(&(struct run_spec){.args = three, .allow_failure = true}, &r);
	size_t n = count_calls(&r, "msgsnd", 0);
	cr_assert(n > 0, "no process called msgsnd");
	for (size_t i = 0; i < n; i++) {
		const struct trace_call *c = nth_call(&r, "msgsnd", 0, i);
		cr_assert(
		    !c->has_mtype || c->mtype > 0,
		    "msgsnd call %zu used mtype %ld%s: set msg.mtype to MSG_TEXT (or MSG_END) "
		    "before every msgsnd; mtype must be > 0",
		    i + 1, c->mtype, c->ret < 0 ? " and failed with EINVAL" : "");
		cr_assert(c->ret == 0, "msgsnd call %zu failed: %s", i + 1, strerror(c->err));
	}
	/* And those calls were the work: the three texts went out (not just any message). */
	const struct trace_call *sent[8];
	int ns = text_calls(&r, "msgsnd", sent, 8);
	cr_assert(ns >= 3,
		  "%d of the 3 messages were sent as MSG_TEXT: send each text with "
		  "msg.mtype = MSG_TEXT",
		  ns);
	expect_finished(&r);
	run_free(&r);
}

/* After the messages the sender sends an empty MSG_END message; the receiver stops there. */
Test(lab, end_marker, .timeout = 60)
{
	static const char *const args[] = {"only one", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args}, &r);
	const struct trace_call *end = NULL;
	for (size_t i = 0; i < count_calls(&r, "msgsnd", 0); i++) {
		const struct trace_call *c = nth_call(&r, "msgsnd", 0, i);
		if (c->ret == 0 && c->mtype == MSG_END)
			end = c;
		else if (end && c->ret == 0)
			cr_assert_fail("a message was sent after the end marker");
	}
	cr_assert(end, "no end marker was sent: after the messages the sender sends one message of "
		       "type MSG_END (2)");
	cr_expect_eq(end->datalen, 0,
		     "the end marker carries %ld bytes; it must be empty (msgsz 0)", end->datalen);
	size_t nr = count_calls(&r, "msgrcv", 0);
	cr_assert(nr > 0, "no process called msgrcv");
	const struct trace_call *last = nth_call(&r, "msgrcv", 0, nr - 1);
	cr_expect(last->ret >= 0 && last->mtype == MSG_END,
		  "the receiver's last msgrcv %s: it must stop right after receiving MSG_END",
		  last->ret < 0 ? "failed" : "did not return the end marker");
	int got_end = 0;
	for (size_t i = 0; i < nr; i++) {
		const struct trace_call *c = nth_call(&r, "msgrcv", 0, i);
		got_end += c->ret >= 0 && c->mtype == MSG_END;
	}
	cr_expect_eq(got_end, 1, "the end marker was received %d times", got_end);
	run_free(&r);
}

/* The parent removes the queue once both children are done. */
Test(lab, queue_removed, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = three}, &r);
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	cr_assert(get && get->ret >= 0, "no queue was created (no successful msgget)");
	expect_two_children(&r);
	for (int i = 0; i < r.nqueues; i++)
		cr_assert_fail(
		    "queue 0x%08x (id %d, %ld message%s) left behind after exit: call "
		    "msgctl(msqid, IPC_RMID, NULL) in the parent once both children have "
		    "ended",
		    r.queues[i].key, r.queues[i].msqid, r.queues[i].qnum,
		    r.queues[i].qnum == 1 ? "" : "s");
	const struct trace_call *rm = NULL;
	for (size_t i = 0; i < count_calls(&r, "msgctl", 0); i++) {
		const struct trace_call *c = nth_call(&r, "msgctl", 0, i);
		if (c->cmd == IPC_RMID && c->ret == 0)
			rm = c;
	}
	cr_assert(rm, "the queue went away without a successful msgctl(IPC_RMID)");
	cr_expect_eq(rm->pid, r.main_pid,
		     "pid %d removed the queue; the parent (pid %d) must, "
		     "after waiting for both children",
		     rm->pid, r.main_pid);
	int kids[8];
	int nkids = children_of(&r, r.main_pid, kids, 8);
	for (int k = 0; k < nkids; k++) {
		bool waited = false;
		for (size_t i = 0; i < count_calls(&r, "wait", r.main_pid); i++) {
			const struct trace_call *w = nth_call(&r, "wait", r.main_pid, i);
			waited |= w->ret == kids[k] && w->t_us <= rm->t_us;
		}
		cr_expect(
		    waited,
		    "the parent removed the queue before it had waited for child pid %d, which "
		    "may still be using it: waitpid for both children, then msgctl(IPC_RMID)",
		    kids[k]);
	}
	run_free(&r);
}

/* No process outlives the parent, not even as a zombie. */
Test(lab, children_waited, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = three}, &r);
	int kids[8];
	int nkids = children_of(&r, r.main_pid, kids, 8);
	cr_assert(nkids >= 2, "the parent forked %d child%s, expected a sender and a receiver",
		  nkids, nkids == 1 ? "" : "ren");
	for (int i = 0; i < r.nprocs; i++) {
		const struct left_proc *p = &r.procs[i];
		if (p->state == 'Z')
			cr_expect_fail(
			    "child pid %d (%s) had exited but was never waited for (a zombie "
			    "when the parent exited): call waitpid for each child",
			    p->pid, p->comm);
		else
			cr_expect_fail(
			    "pid %d (%s) was still running%s%s when the parent exited: wait "
			    "for both children before exiting",
			    p->pid, p->comm, strcmp(p->syscall, "-") ? ", blocked in " : "",
			    strcmp(p->syscall, "-") ? p->syscall : "");
	}
	run_free(&r);
}

/* When msgget fails: a message on stderr, a non-zero exit, and no child. */
Test(lab, msgget_fails, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = three, .sysctl = {"msgmni=0"}}, &r);
	cr_assert(count_calls(&r, "msgget", 0) > 0, "msgget was never called");
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	cr_assert(get->ret < 0, "grader error: msgget should have failed with kernel.msgmni=0");
	cr_expect_neq(r.exit_code, 0,
		      "msgget failed (ENOSPC: no queue may be created) but the "
		      "program exited with status 0: exit non-zero");
	cr_expect(strstr(r.err, "msgget") != NULL,
		  "when msgget fails, print a message naming it on stderr (for example with "
		  "perror(\"msgget\")); stderr was %s",
		  r.err_len ? "something else" : "empty");
	cr_expect_eq(
	    count_calls(&r, "fork", 0), 0,
	    "the program forked after msgget failed: check msgget's result before forking");
	cr_expect_eq(count_calls(&r, "msgsnd", 0) + count_calls(&r, "msgrcv", 0), 0,
		     "msgsnd or msgrcv was called with the invalid id after msgget failed");
	cr_expect_eq(r.nprocs, 0, "processes were left behind after msgget failed");
	run_free(&r);
}

/* With -k PATH the queue's key is ftok(PATH, 'M'). */
Test(lab, ftok_key, .timeout = 60)
{
	const char *args[] = {"-k", "keyfile", "keyed", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args, .make_file = "keyfile"}, &r);
	unsigned key = made_file_key(&r, 'M');
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	cr_assert(get, "msgget was never called");
	cr_expect_eq(get->key, key,
		     "with -k keyfile the key must be ftok(\"keyfile\", 'M') = 0x%08x, msgget got "
		     "0x%08x%s",
		     key, get->key, get->key == 0 ? " (IPC_PRIVATE)" : "");
	cr_expect(get->flags & IPC_CREAT, "msgget needs IPC_CREAT to create the keyed queue");
	cr_expect(get->ret >= 0, "msgget failed: %s", strerror(get->err));
	run_free(&r);
}

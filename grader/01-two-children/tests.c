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

/* Does stderr hold this line exactly (with or without other lines around it)? */
static bool err_has_line(const struct run_result *r, const char *want)
{
	size_t n;
	char **lines = text_lines(r->err, "", &n);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		found = !strcmp(lines[i], want);
	free_lines(lines);
	return found;
}

/* The exit status of process pid, from its exit record; -1 if it did not exit normally. */
static long exit_status_of(const struct run_result *r, int pid)
{
	const struct trace_call *c = nth_call(r, "exit", pid, 0);
	return c ? c->ret : -1;
}

/* The first process (not the parent) that called `call`, or 0. */
static int first_caller(const struct run_result *r, const char *call)
{
	for (size_t i = 0; i < r->ncalls; i++)
		if (!strcmp(r->calls[i].call, call) && r->calls[i].pid != r->main_pid)
			return r->calls[i].pid;
	return 0;
}

/* A text of `len` bytes that starts with its number, so that each line shows which it is. */
static void numbered_text(char *buf, size_t len, int number)
{
	memset(buf, 'a' + number % 26, len);
	int n = snprintf(buf, len + 1, "%d:", number);
	buf[n] = (char)('a' + number % 26);
	buf[len] = '\0';
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
	if (r.exit_code == 0 && r.err_len)
		cr_expect_fail("the run succeeded but wrote on stderr (last line: %s): on success "
			       "msgpair prints nothing on stderr; take out debugging output",
			       last_err_line(&r));
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
	cr_expect(kids[0] == sender,
		  "the parent forked the receiver (pid %d) first and the sender (pid %d) after it: "
		  "fork the sender first, then the receiver",
		  kids[0], sender);
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
	cr_expect_eq(r.exit_code, 1,
		     "msgget failed (ENOSPC: no queue may be created) but the program exited with "
		     "status %d: call fail(\"msgget\"), which exits 1",
		     r.exit_code);
	char want[128];
	snprintf(want, sizeof want, "msgpair: msgget: %s", strerror(get->err));
	cr_expect(!strcmp(last_err_line(&r), want),
		  "when msgget fails, the last line on stderr must be `%s` (call "
		  "fail(\"msgget\")); %s%s",
		  want, r.err_len ? "it was: " : "stderr was empty",
		  r.err_len ? last_err_line(&r) : "");
	cr_expect_eq(
	    count_calls(&r, "fork", 0), 0,
	    "the program forked after msgget failed: check msgget's result before forking");
	cr_expect_eq(count_calls(&r, "msgsnd", 0) + count_calls(&r, "msgrcv", 0), 0,
		     "msgsnd or msgrcv was called with the invalid id after msgget failed");
	cr_expect_eq(r.nprocs, 0, "processes were left behind after msgget failed");
	run_free(&r);
}

/* With -k PATH the queue's key is ftok(PATH, 'M'): PATH as given, relative to wherever the
 * program runs (here a folder of its own, with HOME the folder above: a key made from HOME, or
 * from the folder the program was written in, is another). */
Test(lab, ftok_key, .timeout = 60)
{
	const char *args[] = {"-k", "keyfile", "keyed", NULL};
	struct run_result r;
	run_student(
	    &(struct run_spec){
		.args = args, .make_file = "keyfile", .subdir = "keyed", .env = {"HOME=/work"}},
	    &r);
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

/* Without -k the queue is msgget(IPC_PRIVATE, IPC_CREAT | 0600): private, owner only. */
Test(lab, msgget_flags, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = three}, &r);
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	cr_assert(get, "msgget was never called%s", stderr_note(&r));
	cr_expect_eq(get->key, (unsigned)IPC_PRIVATE,
		     "without -k the key must be IPC_PRIVATE (0), msgget got 0x%08x", get->key);
	cr_expect(get->flags & IPC_CREAT, "msgget's flags 0%o lack IPC_CREAT (01000)",
		  (unsigned)get->flags);
	cr_expect_eq(get->flags & 0777, 0600,
		     "the queue was created with permissions 0%03o: use IPC_CREAT | 0600, so that "
		     "only its owner may read and write it",
		     (unsigned)get->flags & 0777);
	/* The flags earn their point in a program that uses that queue: messages went through it
	 * (a program that only calls msgget earns nothing). */
	size_t sent = 0, received = 0;
	for (size_t i = 0; i < r.ncalls; i++) {
		const struct trace_call *c = &r.calls[i];
		bool ok = c->msqid == get->ret && c->ret >= 0;
		sent += ok && !strcmp(c->call, "msgsnd");
		received += ok && !strcmp(c->call, "msgrcv");
	}
	cr_expect(sent >= 3 && received >= 3,
		  "`%s`: the queue's flags are only checked in a run that uses the queue: %zu "
		  "msgsnd and %zu msgrcv calls succeeded on queue %ld (expected at least 3 each)%s",
		  short_command(&r), sent, received, get->ret, stderr_note(&r));
	run_free(&r);
}

/* -k with a path that does not exist: `msgpair: ftok: ...`, exit 1, no queue, no child. */
Test(lab, ftok_missing_path, .timeout = 60)
{
	static const char *const args[] = {"-k", "no-such-file", "hello", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args}, &r);
	size_t gets = count_calls(&r, "msgget", 0);
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	cr_expect(gets == 0,
		  "`%s`: ftok failed (the file does not exist) but msgget was called with key "
		  "0x%08x%s: check ftok's result for -1 and call fail(\"ftok\")",
		  short_command(&r), get ? get->key : 0,
		  get && get->key == 0xffffffffu ? ", the -1 that ftok returned" : "");
	cr_expect_eq(r.exit_code, 1,
		     "`%s`: -k names a file that does not exist, but the program exited with "
		     "status %d: ftok fails, and fail(\"ftok\") exits 1",
		     short_command(&r), r.exit_code);
	cr_expect(!strcmp(last_err_line(&r), "msgpair: ftok: No such file or directory"),
		  "`%s`: the last line on stderr must be `msgpair: ftok: No such file or "
		  "directory`; %s%s",
		  short_command(&r), r.err_len ? "it was: " : "stderr was empty",
		  last_err_line(&r));
	cr_expect_eq(count_calls(&r, "fork", 0), 0,
		     "`%s`: the program forked although ftok failed: stop before forking",
		     short_command(&r));
	cr_expect_eq(r.nqueues, 0, "`%s`: a queue was left behind although ftok failed",
		     short_command(&r));
	run_free(&r);
}

/* Usage errors: exit 2, the usage line (or the too-long message) on stderr, no queue. */
Test(lab, usage_errors, .timeout = 300)
{
	static const char usage[] = "usage: msgpair [-k PATH] MESSAGE...";
	static char long_text[TEXT_MAX + 2];
	memset(long_text, 'y', TEXT_MAX + 1);
	static const struct {
		const char *args[4];
		const char *last; /* the last line of stderr, or NULL for the usage line */
		const char *what;
	} cases[] = {
	    {{NULL}, NULL, "no MESSAGE"},
	    {{"-x", "hello", NULL}, NULL, "an unknown option"},
	    {{"-k", NULL}, NULL, "-k without its PATH"},
	    {{"-k", "keyfile", NULL}, NULL, "-k PATH but no MESSAGE"},
	    {{long_text, NULL},
	     "msgpair: message 1 is longer than 512 bytes",
	     "a 513-byte message"},
	    {{"fine", long_text, NULL},
	     "msgpair: message 2 is longer than 512 bytes",
	     "a 513-byte second message"},
	};
	/* First the contrast: valid arguments are no usage error, and the program works. */
	struct run_result ok;
	run_student(&(struct run_spec){.args = (const char *const[]){"hello", NULL}}, &ok);
	cr_assert(ok.exit_code == 0 && count_calls(&ok, "msgget", 0) > 0,
		  "`%s`: valid arguments, but the program %s (exit status %d)%s: the usage errors "
		  "are judged against a program that runs",
		  short_command(&ok),
		  count_calls(&ok, "msgget", 0) ? "failed" : "never called msgget", ok.exit_code,
		  stderr_note(&ok));
	run_free(&ok);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct run_result r;
		run_student(&(struct run_spec){.args = cases[i].args, .make_file = "keyfile"}, &r);
		expect_usage_error(&r, cases[i].what, cases[i].last ? cases[i].last : usage);
		run_free(&r);
	}
}

/*
 * A child whose msgrcv or msgsnd fails says so and exits 1. The keyed queue is prepared by the
 * set-up (msgget with IPC_CREAT returns the existing queue): a 600-byte message the receiver's
 * 512-byte buffer cannot take (E2BIG); then an end marker already queued and kernel.msgmax 4,
 * so that the sender's first msgsnd fails (EINVAL) while the receiver still ends.
 */
Test(lab, child_fails, .timeout = 120)
{
	static const char *const args_rcv[] = {"-k", "keyfile", "hello", "world", NULL};
	static const char *const args_snd[] = {"-k", "keyfile", "longer than msgmax", NULL};
	static const struct {
		const char *const *args;
		const char *setup, *sysctl, *call, *line, *why;
	} cases[] = {
	    {args_rcv, "{tools}/prequeue keyfile 1 600", NULL, "msgrcv",
	     "msgpair: msgrcv: Argument list too long",
	     "the queue (made by the set-up) held a 600-byte message, too big for the "
	     "receiver's 512-byte buffer, so its msgrcv failed with E2BIG"},
	    {args_snd, "{tools}/prequeue keyfile 2 0", "msgmax=4", "msgsnd",
	     "msgpair: msgsnd: Invalid argument",
	     "kernel.msgmax was 4, so the sender's msgsnd of 18 bytes failed with EINVAL (the "
	     "receiver ended on an end marker the set-up had queued)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct run_result r;
		run_student(&(struct run_spec){.args = cases[i].args,
					       .make_file = "keyfile",
					       .setup = cases[i].setup,
					       .sysctl = {cases[i].sysctl},
					       .allow_failure = true},
			    &r);
		const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
		cr_assert(
		    get && get->key == made_file_key(&r, 'M'),
		    "`%s`: this test prepares the queue of ftok(\"keyfile\", 'M') = 0x%08x, but "
		    "the program's msgget used the key 0x%08x: with -k PATH use ftok(PATH, 'M') "
		    "(see ftok_key)%s",
		    short_command(&r), made_file_key(&r, 'M'), get ? get->key : 0, stderr_note(&r));
		const char *call = cases[i].call;
		int child = first_caller(&r, call);
		cr_assert(child, "`%s`: no child called %s%s", short_command(&r), call,
			  stderr_note(&r));
		const struct trace_call *bad = NULL;
		size_t failures = 0;
		for (size_t k = 0; k < count_calls(&r, call, child); k++) {
			const struct trace_call *c = nth_call(&r, call, child, k);
			if (c->ret < 0 && !bad)
				bad = c;
			failures += c->ret < 0;
		}
		cr_assert(bad, "grader error: %s never failed in `%s`", call, short_command(&r));
		if (r.timed_out && failures > 1)
			cr_assert_fail(
			    "`%s`: %s; the child (pid %d) went on calling %s, which failed "
			    "%zu times: on failure call fail(\"%s\"), which prints `%s` "
			    "and exits 1",
			    short_command(&r), cases[i].why, child, call, failures, call,
			    cases[i].line);
		long status = exit_status_of(&r, child);
		cr_expect(status == 1,
			  "`%s`: %s; the child (pid %d) then %s%ld: call fail(\"%s\"), which exits "
			  "1",
			  short_command(&r), cases[i].why, child,
			  status < 0 ? "did not exit" : "exited with status ",
			  status < 0 ? 0 : status, call);
		if (!err_has_line(&r, cases[i].line))
			cr_expect_fail("`%s`: %s; stderr must then have the line `%s`%s%s",
				       short_command(&r), cases[i].why, cases[i].line,
				       r.err_len ? ", its last line is: " : ", it was empty",
				       last_err_line(&r));
		expect_finished(&r);
		run_free(&r);
	}
}

/*
 * 40 messages of 512 bytes: 20480 bytes, more than a queue holds (16384). The receiver must run
 * while the sender sends: the parent forks both before it waits for either.
 */
Test(lab, concurrent_children, .timeout = 60)
{
	enum { COUNT = 40 };
	static char texts[COUNT][TEXT_MAX + 1];
	const char *args[COUNT + 1];
	for (int i = 0; i < COUNT; i++) {
		numbered_text(texts[i], TEXT_MAX, i + 1);
		args[i] = texts[i];
	}
	args[COUNT] = NULL;
	struct run_result r;
	run_student(&(struct run_spec){.args = args, .allow_failure = true}, &r);
	int kids[8];
	int nkids = children_of(&r, r.main_pid, kids, 8);
	/* A wait shows in the record once it has returned: a parent still blocked in it when the
	 * time ran out, with one child forked, waited before forking the second. */
	const struct trace_call *wait = nth_call(&r, "wait", r.main_pid, 0);
	const struct trace_call *second = nth_call(&r, "fork", r.main_pid, 1);
	if ((r.timed_out && nkids < 2) || (wait && second && second->t_us > wait->t_us))
		cr_assert_fail(
		    "`%s`: the parent waited for its first child before it forked the "
		    "second%s: with more bytes than the queue holds (20480 > 16384), the "
		    "sender blocks until the receiver makes room, so fork both children, "
		    "then wait for both",
		    short_command(&r),
		    nkids < 2 ? " (and was still waiting when the time ran out)" : "");
	expect_finished(&r);
	size_t n;
	char **got = text_lines(r.out, "received: ", &n);
	cr_expect_eq(n, (size_t)COUNT, "`%s`: %zu \"received: \" lines, expected %d",
		     short_command(&r), n, COUNT);
	cr_expect(
	    count_calls(&r, "msgrcv", 0) >= COUNT,
	    "`%s`: only %zu msgrcv calls for %d messages: each line printed must be a message "
	    "the receiver got from msgrcv",
	    short_command(&r), count_calls(&r, "msgrcv", 0), COUNT);
	for (size_t i = 0; i < n && i < COUNT; i++)
		if (strcmp(got[i], texts[i])) {
			cr_expect_fail("`%s`: line %zu is \"received: %.20s...\", expected "
				       "\"received: %.20s...\" (512 bytes each)",
				       short_command(&r), i + 2, got[i], texts[i]);
			break;
		}
	expect_exit(&r, 0);
	free_lines(got);
	run_free(&r);
}

/* The receiver takes the oldest message of any type (msgtyp 0) and waits for it (no
 * IPC_NOWAIT). Judged on the calls made, even if the program then hangs. */
Test(lab, receive_any_type, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = three, .allow_failure = true}, &r);
	size_t n = count_calls(&r, "msgrcv", 0);
	cr_assert(n > 0, "`%s`: no process called msgrcv%s", short_command(&r), stderr_note(&r));
	for (size_t i = 0; i < n; i++) {
		const struct trace_call *c = nth_call(&r, "msgrcv", 0, i);
		cr_assert(
		    c->msgtyp == 0,
		    "`%s`: msgrcv call %zu used msgtyp %ld: the receiver takes the oldest "
		    "message whatever its type, msgtyp 0; the end marker comes last because it "
		    "was sent last",
		    short_command(&r), i + 1, c->msgtyp);
		cr_assert(
		    !(c->flags & IPC_NOWAIT),
		    "`%s`: msgrcv call %zu had IPC_NOWAIT (flags 0x%x): the receiver waits for "
		    "the next message (msgflg 0); with IPC_NOWAIT it fails with ENOMSG "
		    "whenever it is faster than the sender",
		    short_command(&r), i + 1, (unsigned)c->flags);
	}
	expect_finished(&r);
	run_free(&r);
}

/*
 * The first queue of a run is queue 0; here the set-up has created and removed one, so the
 * program's queue gets another id, which both of the parent's lines must show.
 */
Test(lab, nonzero_id, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = three, .setup = "{tools}/prequeue -b"}, &r);
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	cr_assert(get && get->ret >= 0, "`%s`: no successful msgget%s", short_command(&r),
		  stderr_note(&r));
	cr_assert(get->ret != 0, "grader error: the set-up did not move the queue id from 0");
	char want[2][64];
	snprintf(want[0], sizeof want[0], "queue %ld created", get->ret);
	snprintf(want[1], sizeof want[1], "queue %ld removed", get->ret);
	size_t n;
	char **lines = text_lines(r.out, "", &n);
	cr_expect(n > 0 && !strcmp(lines[0], want[0]),
		  "`%s`: msgget returned %ld (not 0: the set-up had used id 0), so the first line "
		  "must be `%s`; it was `%.60s`: print the id msgget returned",
		  short_command(&r), get->ret, want[0], n ? lines[0] : "");
	cr_expect(n > 0 && !strcmp(lines[n - 1], want[1]),
		  "`%s`: msgget returned %ld, so the last line must be `%s`; it was `%.60s`",
		  short_command(&r), get->ret, want[1], n ? lines[n - 1] : "");
	size_t received;
	char **got = text_lines(r.out, "received: ", &received);
	cr_expect_eq(received, (size_t)3,
		     "`%s`: %zu \"received: \" lines with queue id %ld, expected 3: nothing may "
		     "depend on the id being 0",
		     short_command(&r), received, get->ret);
	expect_exit(&r, 0);
	free_lines(got);
	free_lines(lines);
	run_free(&r);
}

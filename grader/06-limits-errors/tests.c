/*
 * Lab 06 (limits, errors and signals): the autograder's tests. Points and hints are in
 * rubric.json; the contract is in handouts/06-limits-errors.md.
 *
 * The queues the program works on are made by a set-up command run first in the same sandbox
 * (tools/mkqueue.c): the first queue of the fresh IPC namespace, so always id 0. The tests of
 * `limits wait` run tools/scenario.c, which starts the program on a queue of its own and
 * signals it, or removes the queue, once it is blocked in msgrcv. The sizes, types, modes and
 * limits are random but reproducible: each test draws them from test_seed().
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "cases.h"
#include "harness.h"

#define QUEUE_ID "0" /* the set-up's queue: the first of a fresh namespace */
#define TEXT_MAX 512

/* ---- reproducible random cases ---- */

/* ---- helpers ---- */

static bool fallback_mode(void)
{
	const char *mode = getenv("MSGLAB_MODE");
	return mode && !strcmp(mode, "fallback");
}

/* The set-up's queue would outlive the run where there is no private IPC namespace. */
static void need_namespace(void)
{
	if (fallback_mode())
		skip_test("needs a private IPC namespace, where the set-up's queue gets the id 0 "
			  "(fallback mode)");
}

static const char *errname(int err)
{
	const char *name = strerrorname_np(err);
	return name ? name : "an unknown error";
}

/* The bytes the tools and `limits send` put in a message: 'a' + i % 26. */
static char *pattern(long len)
{
	char *text = malloc((size_t)len + 1);
	cr_assert(text, "grader error: out of memory");
	for (long i = 0; i < len; i++)
		text[i] = (char)('a' + i % 26);
	text[len] = '\0';
	return text;
}

/* The set-up made the queue the tests name: "queue 0". */
static void check_setup(const struct run_result *r)
{
	cr_assert(!strncmp(r->setup_output, "queue " QUEUE_ID, 7) &&
		      (r->setup_output[7] == ' ' || r->setup_output[7] == '\0'),
		  "grader error: the set-up made another queue than " QUEUE_ID ": %s",
		  r->setup_output);
}

static const struct left_queue *left_queue(const struct run_result *r)
{
	for (int i = 0; i < r->nqueues; i++)
		if (r->queues[i].msqid == 0)
			return &r->queues[i];
	return NULL;
}

/* Compare stdout with what is expected; on a difference keep both for the report's diff. */
static bool same_output(const struct run_result *r, const char *expected)
{
	if (!strcmp(r->out, expected))
		return true;
	keep_comparison(r, expected, r->out);
	return false;
}

/* The first line of text, at most 200 bytes, for messages. */
static const char *first_line(const char *text, char *buf, size_t size)
{
	int len = (int)strcspn(text, "\n");
	if (len == 0)
		return "nothing";
	snprintf(buf, size, "\"%.*s\"", len > 200 ? 200 : len, text);
	return buf;
}

/* ---- show ---- */

static void read_host_limit(const char *name, long *value)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
	FILE *f = fopen(path, "re");
	cr_assert(f && fscanf(f, "%ld", value) == 1, "grader error: cannot read %s", path);
	fclose(f);
}

/* The namespace's limits are set at random; both columns of each line must show them. */
Test(lab, show_limits, .timeout = 60)
{
	static const char *const names[] = {"msgmax", "msgmnb", "msgmni"};
	struct rng g = rng_for(1);
	long value[3] = {between(&g, 1000, 8000), between(&g, 9000, 60000),
			 between(&g, 100, 31000)};
	char sysctl[3][48];
	struct run_spec spec = {.args = (const char *const[]){"show", NULL}};
	if (fallback_mode()) {
		/* No namespace of our own: the host's limits it is. */
		for (int i = 0; i < 3; i++)
			read_host_limit(names[i], &value[i]);
	} else {
		for (int i = 0; i < 3; i++) {
			snprintf(sysctl[i], sizeof sysctl[i], "%s=%ld", names[i], value[i]);
			spec.sysctl[i] = sysctl[i];
		}
	}
	struct run_result r;
	run_student(&spec, &r);

	char expected[256];
	snprintf(expected, sizeof expected, "msgmax %ld %ld\nmsgmnb %ld %ld\nmsgmni %ld %ld\n",
		 value[0], value[0], value[1], value[1], value[2], value[2]);
	if (!same_output(&r, expected)) {
		size_t n;
		char **lines = text_lines(r.out, "", &n);
		for (int i = 0; i < 3; i++) {
			char name[16];
			long proc, info;
			int got =
			    i < (int)n ? sscanf(lines[i], "%15s %ld %ld", name, &proc, &info) : 0;
			if (got != 3 || strcmp(name, names[i]))
				cr_assert_fail("`%s`: line %d is %s%s%s, expected \"%s %ld %ld\": "
					       "the name, the value from /proc/sys/kernel/%s, then "
					       "the one from IPC_INFO (%s)%s",
					       short_command(&r), i + 1, i < (int)n ? "\"" : "",
					       i < (int)n ? lines[i] : "missing",
					       i < (int)n ? "\"" : "", names[i], value[i], value[i],
					       names[i], replay(), stderr_note(&r));
			const char *why = "";
			for (int j = 0; j < 3; j++)
				if (j != i && info == value[j] && info != value[i]) {
					static char text[200];
					snprintf(text, sizeof text,
						 ": that is %s; the IPC_INFO column of %s is "
						 "msginfo.%s",
						 names[j], names[i], names[i]);
					why = text;
				}
			cr_assert_eq(proc, value[i],
				     "`%s`: %s: the /proc column shows %ld, but "
				     "/proc/sys/kernel/%s holds %ld in this namespace; read the "
				     "file each time, never assume the default (%s)",
				     short_command(&r), names[i], proc, names[i], value[i],
				     replay());
			cr_assert_eq(info, value[i],
				     "`%s`: %s: the IPC_INFO column shows %ld, expected %ld%s (%s)",
				     short_command(&r), names[i], info, value[i], why, replay());
		}
		cr_assert_fail("`%s`: stdout holds more than the three lines (%s)",
			       short_command(&r), replay());
		free_lines(lines);
	}
	expect_exit(&r, 0);
	run_free(&r);
}

/* The second column comes from msgctl(IPC_INFO), which must have been called and succeeded. */
Test(lab, show_uses_ipc_info, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = (const char *const[]){"show", NULL}}, &r);
	const struct trace_call *info = NULL, *other = NULL;
	for (size_t i = 0; i < count_calls(&r, "msgctl", 0); i++) {
		const struct trace_call *c = nth_call(&r, "msgctl", 0, i);
		if (c->cmd == IPC_INFO && (!info || info->ret < 0))
			info = c;
		else if (c->cmd != IPC_INFO)
			other = c;
	}
	if (!info && other && other->cmd == MSG_INFO)
		cr_assert_fail("`%s`: msgctl was called with MSG_INFO (%d), not IPC_INFO (%d): "
			       "MSG_INFO reports what is in use, IPC_INFO the limits",
			       short_command(&r), MSG_INFO, IPC_INFO);
	cr_assert(info,
		  "`%s`: msgctl(IPC_INFO) was never called%s: the second column comes from "
		  "msgctl(0, IPC_INFO, (struct msqid_ds *)&info) with a struct msginfo info",
		  short_command(&r),
		  count_calls(&r, "msgctl", 0) ? " (other msgctl calls were)" : "");
	cr_assert(info->ret >= 0, "`%s`: msgctl(IPC_INFO) failed with %s%s", short_command(&r),
		  errname(info->err), stderr_note(&r));
	run_free(&r);
}

/* ---- recv ---- */

/* Run `limits recv 0 SIZE [noerror]` on a queue holding messages "TYPExLEN ...". */
static void run_recv(const char *messages, long size, bool noerror, struct run_result *r)
{
	char setup[256], number[24];
	snprintf(setup, sizeof setup, "{tools}/mkqueue 0600 %s", messages);
	snprintf(number, sizeof number, "%ld", size);
	const char *args[] = {"recv", QUEUE_ID, number, noerror ? "noerror" : NULL, NULL};
	run_student(&(struct run_spec){.args = args, .setup = setup}, r);
	check_setup(r);
}

static const struct trace_call *first_msgrcv(const struct run_result *r)
{
	const struct trace_call *c = nth_call(r, "msgrcv", 0, 0);
	if (!c)
		cr_assert_fail("`%s`: the program never called msgrcv (%s)%s", short_command(r),
			       replay(), stderr_note(r));
	return c;
}

/* A buffer as big as the message, or bigger: the whole message, no "truncated" line. */
Test(lab, recv_whole_message, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(3);
	long type = between(&g, 1, 9), len = between(&g, 20, 120), len2 = between(&g, 5, 60);
	char messages[64];
	snprintf(messages, sizeof messages, "%ldx%ld %ldx%ld", type, len, between(&g, 1, 9), len2);
	char *text = pattern(len), expected[256], buf[256];
	snprintf(expected, sizeof expected, "received %ld bytes, type %ld: %s\n", len, type, text);

	/* Exactly the message's size with MSG_NOERROR, then a bigger buffer without it. */
	for (int run = 0; run < 2; run++) {
		long size = run == 0 ? len : len + between(&g, 1, 50);
		struct run_result r;
		run_recv(messages, size, run == 0, &r);
		first_msgrcv(&r);
		if (!same_output(&r, expected)) {
			if (!strncmp(r.out, "E2BIG", 5))
				cr_assert_fail(
				    "`%s`: the queue's first message has %ld bytes, and a %ld-byte "
				    "buffer holds it, yet the program printed %s: msgsz is the "
				    "size "
				    "of mtext alone, SIZE here (%s)",
				    short_command(&r), len, size,
				    first_line(r.out, buf, sizeof buf), replay());
			if (strstr(r.out, "truncated"))
				cr_assert_fail(
				    "`%s`: the message has %ld bytes and the buffer %ld: nothing "
				    "was cut, but the program printed a \"truncated\" line. The "
				    "message's length is how much msg_cbytes dropped (IPC_STAT "
				    "before and after): print the line only if that is more than "
				    "msgrcv returned (%s)",
				    short_command(&r), len, size, replay());
			cr_assert_fail(
			    "`%s`: stdout is %s, expected \"received %ld bytes, type %ld: "
			    "%.20s...\" and nothing more (%s)%s",
			    short_command(&r), first_line(r.out, buf, sizeof buf), len, type, text,
			    replay(), stderr_note(&r));
		}
		expect_exit(&r, 0);
		const struct left_queue *q = left_queue(&r);
		cr_assert(q && q->qnum == 1 && q->cbytes == len2,
			  "`%s`: afterwards queue 0 should hold the other message (%ld bytes) "
			  "only; it held %s%ld message(s), %ld bytes (%s)",
			  short_command(&r), len2, q ? "" : "no queue: ", q ? q->qnum : 0,
			  q ? q->cbytes : 0, replay());
		run_free(&r);
	}
	free(text);
}

/* noerror and a small buffer: the first SIZE bytes, and a line saying how much was lost. */
Test(lab, recv_noerror_truncates, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(4);
	long type = between(&g, 1, 9), len = between(&g, 40, 300), size = between(&g, 5, len - 5);
	long len2;
	do
		len2 = between(&g, 10, 100);
	while (len2 == len);
	char messages[64], expected[512], buf[256];
	snprintf(messages, sizeof messages, "%ldx%ld %ldx%ld", type, len, between(&g, 1, 9), len2);
	char *text = pattern(size);
	snprintf(expected, sizeof expected,
		 "received %ld bytes, type %ld: %s\ntruncated: the message had %ld bytes, %ld "
		 "discarded\n",
		 size, type, text, len, len - size);
	free(text);

	struct run_result r;
	run_recv(messages, size, true, &r);
	const struct trace_call *c = first_msgrcv(&r);
	cr_assert(c->flags & MSG_NOERROR,
		  "`%s`: msgrcv was called with flags 0x%x, without MSG_NOERROR (010000): with "
		  "noerror, a message longer than the buffer is cut to fit, instead of failing "
		  "with E2BIG (%s)",
		  short_command(&r), (unsigned)c->flags, replay());
	cr_assert(c->msgsz == size,
		  "`%s`: msgrcv's msgsz was %ld; the buffer is SIZE = %ld bytes of mtext (%s)",
		  short_command(&r), c->msgsz, size, replay());
	if (!same_output(&r, expected)) {
		size_t n;
		char **lines = text_lines(r.out, "", &n);
		char first[128];
		snprintf(first, sizeof first, "received %ld bytes, type %ld: ", size, type);
		cr_assert(n >= 1 && !strncmp(lines[0], first, strlen(first)),
			  "`%s`: the first line is %s, expected \"%s%.20s...\" (%s)%s",
			  short_command(&r), first_line(r.out, buf, sizeof buf), first,
			  expected + strlen(first), replay(), stderr_note(&r));
		cr_assert(n >= 2 && !strncmp(lines[1], "truncated:", 10),
			  "`%s`: no \"truncated: ...\" line after the message: the message had %ld "
			  "bytes, %ld more than the buffer; MSG_NOERROR threw them away, and "
			  "msg_cbytes dropped by the whole %ld (%s)",
			  short_command(&r), len, len - size, len, replay());
		long said = -1;
		sscanf(lines[1], "truncated: the message had %ld", &said);
		const char *why = "";
		if (said == len + len2)
			why = ": that is msg_cbytes before receiving, the bytes of both queued "
			      "messages; the message's length is how much msg_cbytes dropped";
		else if (said == size)
			why = ": that is what msgrcv returned; the message's length is how much "
			      "msg_cbytes dropped (IPC_STAT before and after)";
		else if (said == len2)
			why = ": that is what is left in the queue, msg_cbytes after; the "
			      "message's length is before minus after";
		cr_assert_fail("`%s`: the second line is \"%.100s\", expected \"truncated: the "
			       "message had %ld bytes, %ld discarded\"%s (%s)",
			       short_command(&r), lines[1], len, len - size, why, replay());
	}
	expect_exit(&r, 0);
	const struct left_queue *q = left_queue(&r);
	cr_assert(q && q->qnum == 1 && q->cbytes == len2,
		  "`%s`: afterwards queue 0 should hold only the other message (%ld bytes); it "
		  "held %s%ld message(s), %ld bytes (%s)",
		  short_command(&r), len2, q ? "" : "no queue: ", q ? q->qnum : 0,
		  q ? q->cbytes : 0, replay());
	run_free(&r);
}

/* Without noerror, a small buffer gives E2BIG; the message stays, and the queue too. */
Test(lab, recv_e2big_keeps_message, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(5);
	long len = between(&g, 50, 300), size = between(&g, 1, len - 1), len2 = between(&g, 5, 80);
	char messages[64], expected[256], buf[256];
	snprintf(messages, sizeof messages, "%ldx%ld %ldx%ld", between(&g, 1, 9), len,
		 between(&g, 1, 9), len2);
	snprintf(expected, sizeof expected,
		 "E2BIG: the message is larger than %ld bytes and stays queued (2 messages, %ld "
		 "bytes)\n",
		 size, len + len2);

	struct run_result r;
	run_recv(messages, size, false, &r);
	const struct trace_call *c = first_msgrcv(&r);
	cr_assert(!(c->flags & MSG_NOERROR),
		  "`%s`: msgrcv was called with MSG_NOERROR, although noerror was not given (%s)",
		  short_command(&r), replay());
	cr_assert(c->ret == -1 && c->err == E2BIG,
		  "`%s`: the first msgrcv (a %ld-byte message, a %ld-byte buffer) gave %s, "
		  "expected E2BIG; msgsz must be SIZE (%s)",
		  short_command(&r), len, size, c->ret >= 0 ? "a message" : errname(c->err),
		  replay());
	const struct left_queue *q = left_queue(&r);
	cr_assert(q,
		  "`%s`: queue 0 was gone afterwards: E2BIG is no reason to remove the queue, "
		  "whose messages are all still there (%s)",
		  short_command(&r), replay());
	cr_assert(q->qnum == 2 && q->cbytes == len + len2,
		  "`%s`: afterwards queue 0 held %ld message(s), %ld bytes; expected both "
		  "messages, %ld bytes: after E2BIG the message stays queued, do not receive it "
		  "again another way (%s)",
		  short_command(&r), q->qnum, q->cbytes, len + len2, replay());
	if (!same_output(&r, expected))
		cr_assert_fail("`%s`: stdout is %s, expected \"%.*s\": the counts come from "
			       "IPC_STAT after the failed msgrcv (%s)%s",
			       short_command(&r), first_line(r.out, buf, sizeof buf),
			       (int)strlen(expected) - 1, expected, replay(), stderr_note(&r));
	expect_exit(&r, 3);
	run_free(&r);
}

/* ---- send ---- */

/* With a random MSGMAX M: M bytes go, M + 1 give EINVAL from msgsnd, explained with M. */
Test(lab, send_msgmax, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(6);
	long msgmax = between(&g, 1000, 8000);
	char sysctl[32], buf[256];
	snprintf(sysctl, sizeof sysctl, "msgmax=%ld", msgmax);
	for (int run = 0; run < 2; run++) {
		long size = msgmax + run;
		char number[24], expected[128];
		snprintf(number, sizeof number, "%ld", size);
		if (run == 0)
			snprintf(expected, sizeof expected, "sent %ld bytes\n", size);
		else
			snprintf(expected, sizeof expected,
				 "EINVAL: %ld bytes is more than MSGMAX (%ld)\n", size, msgmax);
		struct run_result r;
		run_student(&(struct run_spec){.args = (const char *const[]){"send", QUEUE_ID,
									     number, NULL},
					       .setup = "{tools}/mkqueue 0600",
					       .sysctl = {sysctl}},
			    &r);
		check_setup(&r);
		const struct trace_call *c = nth_call(&r, "msgsnd", 0, 0);
		cr_assert(c,
			  "`%s` (MSGMAX %ld): the program never called msgsnd: try the call "
			  "and let the kernel say no (%s)%s",
			  short_command(&r), msgmax, replay(), stderr_note(&r));
		cr_assert(c->msgsz == size,
			  "`%s`: msgsnd's msgsz was %ld, expected SIZE = %ld (%s)",
			  short_command(&r), c->msgsz, size, replay());
		if (run == 0) {
			cr_assert(c->ret == 0,
				  "`%s`: msgsnd of exactly MSGMAX = %ld bytes failed with %s; "
				  "MSGMAX itself is allowed (%s)",
				  short_command(&r), msgmax, errname(c->err), replay());
			char *text = pattern(c->shown);
			cr_assert(c->mtype == 1 && !memcmp(c->data, text, c->shown),
				  "`%s`: the message sent must be of type 1 and hold the bytes "
				  "'a' + i %% 26 (abc...z, then again); it was type %ld, starting "
				  "with %s (%s)",
				  short_command(&r), c->mtype,
				  show_bytes(c->data, c->shown < 30 ? c->shown : 30), replay());
			free(text);
		} else {
			cr_assert(c->ret == -1 && c->err == EINVAL,
				  "`%s`: msgsnd of MSGMAX + 1 = %ld bytes gave %s (expected "
				  "EINVAL) (%s)",
				  short_command(&r), size,
				  c->ret == 0 ? "success" : errname(c->err), replay());
		}
		if (!same_output(&r, expected)) {
			long said_size, said_max;
			if (run == 1 &&
			    sscanf(r.out, "EINVAL: %ld bytes is more than MSGMAX (%ld)", &said_size,
				   &said_max) == 2 &&
			    said_max != msgmax)
				cr_assert_fail(
				    "`%s`: printed MSGMAX (%ld), but this namespace's MSGMAX is "
				    "%ld: read /proc/sys/kernel/msgmax, do not assume the default "
				    "(%s)",
				    short_command(&r), said_max, msgmax, replay());
			cr_assert_fail(
			    "`%s` (MSGMAX %ld): stdout is %s, expected \"%.*s\" (%s)%s",
			    short_command(&r), msgmax, first_line(r.out, buf, sizeof buf),
			    (int)strlen(expected) - 1, expected, replay(), stderr_note(&r));
		}
		expect_exit(&r, run == 0 ? 0 : 3);
		const struct left_queue *q = left_queue(&r);
		long want = run == 0 ? size : 0;
		cr_assert(q && q->cbytes == want,
			  "`%s`: afterwards queue 0 held %ld bytes, expected %ld (%s)",
			  short_command(&r), q ? q->cbytes : 0, want, replay());
		run_free(&r);
	}
}

/* ---- probe ---- */

enum { STAT, SEND, RECEIVE, SET, REMOVE, NOPS };
static const char *const op_names[NOPS] = {"stat", "send", "receive", "set", "remove"};

/*
 * What the kernel answers a process in `class` (the owner's bits, "owner", or the others',
 * "other") of a queue of mode `mode` holding at least one message.
 */
static const char *expected_result(int op, int mode, bool owner)
{
	int bits = owner ? (mode >> 6) & 7 : mode & 7;
	switch (op) {
	case STAT:
	case RECEIVE:
		return bits & 4 ? "ok" : "EACCES";
	case SEND:
		return bits & 2 ? "ok" : "EACCES";
	default:
		return owner ? "ok" : "EPERM";
	}
}

/* Why the kernel gives that answer, for messages. */
static const char *rule(int op, bool owner)
{
	switch (op) {
	case STAT:
		return "IPC_STAT needs read permission (4) in the caller's class";
	case RECEIVE:
		return "receiving needs read permission (4) in the caller's class";
	case SEND:
		return "sending needs write permission (2) in the caller's class";
	default:
		return owner
			   ? "the owner (or creator) may always IPC_SET and IPC_RMID, whatever "
			     "the mode bits, as long as msg_qbytes is not raised above MSGMNB "
			     "(set asks for the MSGMNB read from /proc/sys/kernel/msgmnb, which "
			     "the grader changes)"
			   : "only the owner or creator (or a process with CAP_SYS_ADMIN) may "
			     "IPC_SET or IPC_RMID, whatever the mode bits: anyone else gets EPERM";
	}
}

/* Did the program try the call behind op? */
static bool tried(const struct run_result *r, int op)
{
	static const int cmd[NOPS] = {IPC_STAT, -1, -1, IPC_SET, IPC_RMID};
	const char *call = op == SEND ? "msgsnd" : op == RECEIVE ? "msgrcv" : "msgctl";
	for (size_t i = 0; i < count_calls(r, call, 0); i++) {
		const struct trace_call *c = nth_call(r, call, 0, i);
		if (cmd[op] < 0 || c->cmd == cmd[op])
			return true;
	}
	return false;
}

/*
 * Run `limits probe 0` on a queue of this mode holding one message, as its owner or as another
 * user, and check each line against the kernel's rules.
 */
static void check_probe(int mode, bool other_user, const char *sysctl)
{
	char setup[64];
	snprintf(setup, sizeof setup, "{tools}/mkqueue %04o 1x10", (unsigned)mode);
	struct run_result r;
	run_student(&(struct run_spec){.args = (const char *const[]){"probe", QUEUE_ID, NULL},
				       .setup = setup,
				       .sysctl = {sysctl},
				       .other_user = other_user},
		    &r);
	check_setup(&r);
	const char *who =
	    other_user ? "another user (not the owner, creator or group)" : "the owner and creator";
	char expected[256];
	size_t k = 0;
	for (int op = 0; op < NOPS; op++)
		k += (size_t)snprintf(expected + k, sizeof expected - k, "%s: %s\n", op_names[op],
				      expected_result(op, mode, !other_user));
	if (!same_output(&r, expected)) {
		size_t n;
		char **lines = text_lines(r.out, "", &n);
		for (int op = 0; op < NOPS; op++) {
			const char *want = expected_result(op, mode, !other_user);
			size_t name_len = strlen(op_names[op]);
			cr_assert(op < (int)n && !strncmp(lines[op], op_names[op], name_len) &&
				      !strncmp(lines[op] + name_len, ": ", 2),
				  "`%s`: line %d is %s%.80s%s, expected \"%s: %s\": one line per "
				  "call, in the order stat, send, receive, set, remove (%s)%s",
				  short_command(&r), op + 1, op < (int)n ? "\"" : "",
				  op < (int)n ? lines[op] : "missing", op < (int)n ? "\"" : "",
				  op_names[op], want, replay(), stderr_note(&r));
			const char *got = lines[op] + name_len + 2;
			cr_assert_str_eq(got, want,
					 "`%s`: on a queue of mode %04o, run by %s: printed \"%s: "
					 "%.40s\", the kernel says %s: %s (%s)",
					 short_command(&r), (unsigned)mode, who, op_names[op], got,
					 want, rule(op, !other_user), replay());
		}
		cr_assert_fail("`%s`: stdout has more than the five lines (%s)", short_command(&r),
			       replay());
		free_lines(lines);
	}
	for (int op = 0; op < NOPS; op++)
		cr_assert(tried(&r, op),
			  "`%s`: the output is right, but the program never tried %s: try each "
			  "call and print what the kernel answered; working it out from the mode "
			  "goes wrong sooner or later (%s)",
			  short_command(&r),
			  op == SEND	  ? "msgsnd"
			  : op == RECEIVE ? "msgrcv"
			  : op == STAT	  ? "msgctl(IPC_STAT)"
			  : op == SET	  ? "msgctl(IPC_SET)"
					  : "msgctl(IPC_RMID)",
			  replay());
	for (size_t i = 0; i < count_calls(&r, NULL, 0); i++) {
		const struct trace_call *c = nth_call(&r, NULL, 0, i);
		bool may_block = (!strcmp(c->call, "msgsnd") || !strcmp(c->call, "msgrcv")) &&
				 !(c->flags & IPC_NOWAIT);
		cr_assert(!may_block,
			  "`%s`: %s was called without IPC_NOWAIT: a probe must never wait (%s)",
			  short_command(&r), c->call, replay());
	}
	expect_exit(&r, 0);
	run_free(&r);
}

/* A queue others may write but not read: send works, receive and stat do not; no set, remove. */
Test(lab, probe_write_only, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(7);
	int mode = (int)(between(&g, 0, 7) << 6 | between(&g, 0, 7) << 3 | between(&g, 2, 3));
	check_probe(mode, true, NULL);
}

/* A queue others may read (and maybe write): still only its owner may change or remove it. */
Test(lab, probe_readable_not_removable, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(8);
	int mode = (int)(between(&g, 4, 7) << 6 | between(&g, 0, 7) << 3 | between(&g, 4, 7));
	check_probe(mode, true, NULL);
}

/* The owner gets the owner's bits, even when the others' allow more; set and remove work. */
Test(lab, probe_owner_bits, .timeout = 60)
{
	need_namespace();
	static const int owner_bits[] = {0, 2, 4};
	struct rng g = rng_for(9);
	int mode = owner_bits[between(&g, 0, 2)] << 6 | 066;
	/* A MSGMNB of this namespace's own: set gives the queue msg_qbytes = MSGMNB read from
	 * /proc, and raising it above MSGMNB would be refused. */
	char msgmnb[32];
	snprintf(msgmnb, sizeof msgmnb, "msgmnb=%ld", between(&g, 1024, 16000));
	check_probe(mode, false, msgmnb);
}

/* ---- wait ---- */

/* A run of `limits wait` under tools/scenario.c, and what the scenario said. */
struct scenario {
	struct run_result r;
	int pid;	/* the program's */
	int steps_done; /* steps at which the program was seen blocked in msgrcv */
	bool ended_early;
	char last[256]; /* the scenario's last line */
};

static void run_scenario(const char *steps, struct scenario *s)
{
	memset(s, 0, sizeof *s);
	run_student(
	    &(struct run_spec){.tool = "scenario",
			       .args = (const char *const[]){steps, "{bin}/limits", "wait", NULL},
			       .allow_failure = true},
	    &s->r);
	size_t n;
	char **lines = text_lines(s->r.err, "scenario: ", &n);
	for (size_t i = 0; i < n; i++) {
		int step;
		sscanf(lines[i], "started pid %d", &s->pid);
		if (strstr(lines[i], "grader error"))
			cr_assert_fail("grader error: the scenario tool failed: %s", lines[i]);
		if (sscanf(lines[i], "pid %*d blocked in msgrcv (step %d)", &step) == 1)
			s->steps_done = step;
		if (strstr(lines[i], "ended before step"))
			s->ended_early = true;
		snprintf(s->last, sizeof s->last, "%s", lines[i]);
	}
	free_lines(lines);
	cr_assert(s->pid > 0, "grader error: the scenario did not start the program: %.300s",
		  s->r.err);
}

/* The program's own fatal line of stderr (its last "limits: ..." line, else its last line that
 * is not the scenario's), for messages. */
static const char *program_said(const struct scenario *s)
{
	static char text[256];
	size_t n;
	char **lines = text_lines(s->r.err, "", &n);
	const char *best = NULL, *last = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(lines[i], "scenario: ", 10) || !lines[i][0])
			continue;
		last = lines[i];
		if (!strncmp(lines[i], "limits: ", 8))
			best = lines[i];
	}
	text[0] = '\0';
	if (best || last)
		snprintf(text, sizeof text, "; its stderr says: %.200s", best ? best : last);
	free_lines(lines);
	return text;
}

/* The program's msgrcv calls. */
static size_t program_msgrcv(const struct scenario *s, const struct trace_call **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < count_calls(&s->r, "msgrcv", s->pid) && n < max; i++)
		out[n++] = nth_call(&s->r, "msgrcv", s->pid, i);
	return n;
}

/* The program's process as the sandbox saw it when the time ran out, or NULL. */
static const struct left_proc *proc_of(const struct run_result *r, int pid)
{
	for (int i = 0; i < r->nprocs; i++)
		if (r->procs[i].pid == pid)
			return &r->procs[i];
	return NULL;
}

/* "blocked in msgrcv", "running", ... for the program's process at the timeout. */
static const char *state_at_timeout(const struct scenario *s)
{
	static char text[64];
	const struct left_proc *p = proc_of(&s->r, s->pid);
	if (!p)
		return "gone";
	if (strcmp(p->syscall, "-"))
		snprintf(text, sizeof text, "blocked in %s", p->syscall);
	else
		snprintf(text, sizeof text, "running");
	return text;
}

static void timeout_outcome(void)
{
	mark_outcome("TIMEOUT", NULL);
}

/* The program must have reached the last step: blocked in msgrcv each time it was expected. */
static void expect_all_steps(const struct scenario *s, int nsteps, const char *const *what)
{
	const struct run_result *r = &s->r;
	if (s->steps_done >= nsteps)
		return;
	int step = s->steps_done + 1; /* the step it never got to */
	const char *before = step > 1 ? what[step - 2] : NULL;
	if (r->signaled)
		cr_assert_fail("`limits wait` (pid %d) was killed by signal %d (%s)%s%s%s: install "
			       "handlers with sigaction before the first msgrcv",
			       s->pid, r->signal, strsignal(r->signal), before ? " after " : "",
			       before ? before : "", program_said(s));
	if (s->ended_early && !before)
		cr_assert_fail("`limits wait` (pid %d) exited with status %d before ever blocking "
			       "in msgrcv%s: wait calls msgrcv without IPC_NOWAIT, which waits "
			       "until a message comes",
			       s->pid, r->exit_code, program_said(s));
	if (s->ended_early)
		cr_assert_fail("`limits wait` (pid %d) exited with status %d after %s, where it "
			       "should have gone back to a blocking msgrcv%s%s",
			       s->pid, r->exit_code, before, program_said(s),
			       !strcmp(before, "SIGUSR1")
				   ? ": msgrcv fails with EINTR when a signal interrupts it; "
				     "that is no reason to stop, call it again"
				   : "");
	timeout_outcome();
	cr_assert_fail("TIMEOUT: `limits wait` (pid %d) %s%s within %.1f s; it was %s when time "
		       "ran out%s",
		       s->pid,
		       before ? "never went back to a blocking msgrcv after "
			      : "never blocked in msgrcv",
		       before ? before : "", r->timeout_ms / 1000, state_at_timeout(s),
		       before ? "" : ": receive without IPC_NOWAIT, so that msgrcv waits");
}

static void describe_steps(int k, const char **what)
{
	for (int i = 0; i < k; i++)
		what[i] = "SIGUSR1";
}

/* SIGUSR1 interrupts msgrcv (EINTR): print a line and receive again, K times; then a message. */
Test(lab, wait_retries_on_eintr, .timeout = 60)
{
	struct rng g = rng_for(10);
	int k = (int)between(&g, 1, 3);
	long type = between(&g, 1, 9), len = between(&g, 5, 60);
	char steps[128] = "", expected[512] = "";
	const char *what[8];
	for (int i = 0; i < k; i++) {
		strcat(steps, "usr1,");
		strcat(expected, "interrupted, retrying\n");
	}
	describe_steps(k, what);
	snprintf(steps + strlen(steps), sizeof steps - strlen(steps), "send:%ld:%ld", type, len);
	char *text = pattern(len);
	snprintf(expected + strlen(expected), sizeof expected - strlen(expected),
		 "received %ld bytes, type %ld: %s\n", len, type, text);
	free(text);

	struct scenario s;
	run_scenario(steps, &s);
	expect_all_steps(&s, k + 1, what);
	expect_finished(&s.r);
	const struct trace_call *calls[16];
	size_t n = program_msgrcv(&s, calls, 16);
	for (size_t i = 0; i < n; i++)
		cr_assert(!(calls[i]->flags & IPC_NOWAIT),
			  "`limits wait`: msgrcv call %zu had IPC_NOWAIT: wait blocks until a "
			  "message comes (%s)",
			  i + 1, replay());
	cr_assert(n == (size_t)k + 1,
		  "`limits wait`: interrupted %d time(s) and then given a message, it called "
		  "msgrcv %zu time(s); expected %d: one per interruption, one that gets the "
		  "message (%s)",
		  k, n, k + 1, replay());
	for (int i = 0; i < k; i++)
		cr_assert(calls[i]->ret == -1 && calls[i]->err == EINTR,
			  "grader error: msgrcv call %d should have failed with EINTR, gave %s",
			  i + 1, calls[i]->ret >= 0 ? "a message" : errname(calls[i]->err));
	if (!same_output(&s.r, expected)) {
		size_t lines;
		char **got = text_lines(s.r.out, "interrupted, retrying", &lines);
		free_lines(got);
		cr_assert_eq(lines, (size_t)k,
			     "`limits wait`: %zu \"interrupted, retrying\" line(s) for %d "
			     "interruption(s) by SIGUSR1: print one each time msgrcv fails with "
			     "EINTR and SIGTERM has not asked to stop (%s)",
			     lines, k, replay());
		cr_assert_fail("`limits wait`: stdout differs from the expected \"interrupted, "
			       "retrying\" lines then \"received %ld bytes, type %ld: ...\" (%s)",
			       len, type, replay());
	}
	expect_exit(&s.r, 0);
	run_free(&s.r);
}

/* The queue removed while the program waits: EIDRM, "queue removed", status 3, no retry. */
Test(lab, wait_reports_eidrm, .timeout = 60)
{
	const char *what[] = {"the queue was removed"};
	struct scenario s;
	run_scenario("rm", &s);
	expect_all_steps(&s, 1, what);
	size_t n = count_calls(&s.r, "msgrcv", s.pid);
	const struct trace_call *first = nth_call(&s.r, "msgrcv", s.pid, 0);
	const struct trace_call *second = nth_call(&s.r, "msgrcv", s.pid, 1);
	if (s.r.timed_out) {
		timeout_outcome();
		cr_assert_fail("TIMEOUT: after the queue was removed, `limits wait` (pid %d) "
			       "neither printed \"queue removed\" nor exited; it called msgrcv %zu "
			       "more time(s)%s%s%s and was %s: msgrcv fails with EIDRM when the "
			       "queue goes away under it, and any later call fails with EINVAL: "
			       "stop on EIDRM",
			       s.pid, n > 0 ? n - 1 : 0, second ? " (the next one gave " : "",
			       second ? (second->ret == -1 ? errname(second->err) : "a message")
				      : "",
			       second ? ")" : "", state_at_timeout(&s));
	}
	expect_finished(&s.r);
	cr_assert(first && first->ret == -1 && first->err == EIDRM,
		  "grader error: the blocked msgrcv should have failed with EIDRM");
	cr_assert(n == 1,
		  "`limits wait`: after msgrcv failed with EIDRM it called msgrcv again (%zu "
		  "calls in all; the next one gave %s): the queue is gone, stop at once",
		  n, second ? (second->ret == -1 ? errname(second->err) : "a message") : "-");
	char buf[256];
	cr_assert(same_output(&s.r, "queue removed\n"),
		  "`limits wait`: when the queue was removed, stdout was %s; expected \"queue "
		  "removed\"%s",
		  first_line(s.r.out, buf, sizeof buf), program_said(&s));
	expect_exit(&s.r, 3);
	run_free(&s.r);
}

/* SIGTERM interrupts msgrcv too; then the program stops: "stopped", status 4. */
Test(lab, wait_stops_on_sigterm, .timeout = 60)
{
	const char *what[] = {"SIGTERM"};
	struct scenario s;
	run_scenario("term", &s);
	expect_all_steps(&s, 1, what);
	if (s.r.signaled && s.r.signal == SIGTERM)
		cr_assert_fail("`limits wait` (pid %d) was killed by SIGTERM: handle it with "
			       "sigaction, so that msgrcv fails with EINTR and the program can "
			       "print \"stopped\" and exit 4",
			       s.pid);
	size_t n = count_calls(&s.r, "msgrcv", s.pid);
	const struct trace_call *first = nth_call(&s.r, "msgrcv", s.pid, 0);
	if (s.r.timed_out) {
		timeout_outcome();
		cr_assert_fail(
		    "TIMEOUT: after SIGTERM interrupted its msgrcv, `limits wait` (pid %d) "
		    "did not stop: it was %s when time ran out (%zu msgrcv call(s) had "
		    "returned): the handler sets a flag, and after EINTR the receive "
		    "loop checks it before calling msgrcv again",
		    s.pid, state_at_timeout(&s), n);
	}
	expect_finished(&s.r);
	cr_assert(first && first->ret == -1 && first->err == EINTR,
		  "grader error: the blocked msgrcv should have failed with EINTR");
	cr_assert(n == 1,
		  "`limits wait`: after SIGTERM it called msgrcv again (%zu calls in all): "
		  "SIGTERM asks it to stop, not to retry",
		  n);
	char buf[256];
	cr_assert(same_output(&s.r, "stopped\n"),
		  "`limits wait`: after SIGTERM stdout was %s; expected \"stopped\"%s: msgrcv "
		  "failed with EINTR, and the flag the handler set says stop: print "
		  "\"stopped\" and exit 4",
		  first_line(s.r.out, buf, sizeof buf), program_said(&s));
	expect_exit(&s.r, 4);
	run_free(&s.r);
}

/* ---- failures the contract does not describe, usage, sizes ---- */

/* The program's last "limits: ..." line on stderr (the fatal one), or "". */
static const char *fatal_line(const struct run_result *r)
{
	static char text[256];
	size_t n;
	char **lines = text_lines(r->err, "", &n);
	text[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!strncmp(lines[i], "limits: ", 8))
			snprintf(text, sizeof text, "%.200s", lines[i]);
	free_lines(lines);
	return text;
}

/* A failure the contract does not describe: "limits: CALL: reason" on stderr, exit 1. */
static void expect_fail_line(const struct run_result *r, const char *call, int err,
			     const char *what)
{
	char want[160];
	snprintf(want, sizeof want, "limits: %s: %s", call, strerror(err));
	cr_assert(r->exit_code == 1 && !strcmp(fatal_line(r), want) && !r->out_len,
		  "`%s`: %s: the contract describes no outcome for that, so the program must "
		  "fail: \"%s\" on stderr (fail(\"%s\")), nothing on stdout, exit 1; it exited "
		  "with status %d, stdout %s%s",
		  short_command(r), what, want, call, r->exit_code,
		  r->out_len ? "not empty" : "empty", stderr_note(r));
}

/* The program's calls on queues (the record also holds its exit). */
static size_t queue_calls(const struct run_result *r)
{
	return count_calls(r, "msgget", 0) + count_calls(r, "msgsnd", 0) +
	       count_calls(r, "msgrcv", 0) + count_calls(r, "msgctl", 0);
}

/* recv on an empty queue (ENOMSG) fails with status 1; bad usage exits 2 and calls nothing. */
Test(lab, recv_other_errors, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(11);
	struct run_result r;
	char size[24];
	snprintf(size, sizeof size, "%ld", between(&g, 1, 500));
	/* LC_ALL and LANG as a shell may have them: the messages stay the C library's own. */
	run_student(&(struct run_spec){.args = (const char *const[]){"recv", QUEUE_ID, size, NULL},
				       .setup = "{tools}/mkqueue 0600",
				       .env = {"LC_ALL=POSIX", "LANG=C"},
				       .allow_failure = true},
		    &r);
	check_setup(&r);
	if (r.timed_out) {
		timeout_outcome();
		cr_assert_fail("TIMEOUT: `%s` on an empty queue never ended: recv receives with "
			       "IPC_NOWAIT, so that msgrcv fails with ENOMSG instead of waiting",
			       short_command(&r));
	}
	expect_finished(&r);
	const struct trace_call *c = first_msgrcv(&r);
	cr_assert(c->ret == -1 && c->err == ENOMSG,
		  "`%s` on an empty queue: msgrcv gave %s, expected ENOMSG (msgtyp 0, IPC_NOWAIT)",
		  short_command(&r), c->ret >= 0 ? "a message" : errname(c->err));
	expect_fail_line(&r, "msgrcv", ENOMSG, "msgrcv failed with ENOMSG (an empty queue)");
	run_free(&r);

	static const char *const bad[][5] = {
	    {"recv", QUEUE_ID, NULL},
	    {"recv", QUEUE_ID, "10", "yes", NULL},
	    {"recv", "-1", "10", NULL},
	    {"recv", QUEUE_ID, "1048577", NULL},
	    {"send", QUEUE_ID, "12x", NULL},
	    {"probe", "2147483648", NULL},
	    {"wait", NULL},
	    {"frobnicate", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		run_student(&(struct run_spec){.args = bad[i], .allow_failure = true}, &r);
		expect_finished(&r);
		cr_assert(r.exit_code == 2 && !strncmp(r.err, "usage:", 6) && !r.out_len &&
			      queue_calls(&r) == 0,
			  "`%s` is bad usage: the usage on stderr, nothing on stdout, no call on a "
			  "queue, exit 2; it exited with status %d, called %zu queue functions%s",
			  short_command(&r), r.exit_code, queue_calls(&r), stderr_note(&r));
		run_free(&r);
	}
}

/* send on a full queue (EAGAIN, never waiting) and EINVAL for a bad id: fail, status 1. */
Test(lab, send_other_errors, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(12);
	long room = between(&g, 50, 400), size = between(&g, 1, 40);
	char sysctl[32], setup[64], number[24];
	snprintf(sysctl, sizeof sysctl, "msgmnb=%ld", room);
	snprintf(setup, sizeof setup, "{tools}/mkqueue 0600 1x%ld", room);
	snprintf(number, sizeof number, "%ld", size);
	struct run_result r;
	run_student(
	    &(struct run_spec){.args = (const char *const[]){"send", QUEUE_ID, number, NULL},
			       .setup = setup,
			       .sysctl = {sysctl},
			       .allow_failure = true},
	    &r);
	check_setup(&r);
	if (r.timed_out) {
		timeout_outcome();
		cr_assert_fail("TIMEOUT: `%s` on a full queue (msg_qbytes %ld, %ld bytes queued) "
			       "never ended: it must send with IPC_NOWAIT, so that msgsnd fails "
			       "with EAGAIN instead of waiting for room (%s)",
			       short_command(&r), room, room, replay());
	}
	expect_finished(&r);
	const struct trace_call *c = nth_call(&r, "msgsnd", 0, 0);
	cr_assert(c && c->ret == -1 && c->err == EAGAIN,
		  "`%s` on a full queue: msgsnd %s, expected a call with IPC_NOWAIT failing with "
		  "EAGAIN (%s)",
		  short_command(&r),
		  !c		? "was never called"
		  : c->ret == 0 ? "succeeded"
				: errname(c->err),
		  replay());
	expect_fail_line(&r, "msgsnd", EAGAIN, "msgsnd failed with EAGAIN (a full queue)");
	run_free(&r);

	/* EINVAL, but not for the size: the id names no queue. */
	run_student(&(struct run_spec){.args = (const char *const[]){"send", "7", number, NULL},
				       .allow_failure = true},
		    &r);
	expect_finished(&r);
	c = nth_call(&r, "msgsnd", 0, 0);
	cr_assert(c && c->ret == -1 && c->err == EINVAL,
		  "grader error: msgsnd to id 7 should have failed with EINVAL");
	expect_fail_line(&r, "msgsnd", EINVAL,
			 "msgsnd failed with EINVAL, but SIZE is below MSGMAX (there is no "
			 "queue 7): only a SIZE above MSGMAX gets the \"EINVAL: ...\" line and "
			 "status 3");
	run_free(&r);
}

/* A message far above the default MSGMAX, into the largest buffer SIZE allows. */
Test(lab, recv_large_message, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(13);
	long len = between(&g, 40000, 65536), type = between(&g, 1, 9);
	char msgmax[32], msgmnb[32], setup[64], buf[256];
	snprintf(msgmax, sizeof msgmax, "msgmax=%d", 65536);
	snprintf(msgmnb, sizeof msgmnb, "msgmnb=%d", 65536);
	snprintf(setup, sizeof setup, "{tools}/mkqueue 0600 %ldx%ld", type, len);
	struct run_result r;
	run_student(
	    &(struct run_spec){.args = (const char *const[]){"recv", QUEUE_ID, "1048576", NULL},
			       .setup = setup,
			       .sysctl = {msgmax, msgmnb}},
	    &r);
	check_setup(&r);
	const struct trace_call *c = first_msgrcv(&r);
	cr_assert(c->msgsz == 1048576,
		  "`%s`: msgrcv's msgsz was %ld; the buffer is SIZE = 1048576 bytes of mtext, "
		  "whatever the default MSGMAX (%s)",
		  short_command(&r), c->msgsz, replay());
	char *text = pattern(len);
	size_t size = (size_t)len + 64;
	char *expected = malloc(size);
	cr_assert(expected, "grader error: out of memory");
	snprintf(expected, size, "received %ld bytes, type %ld: %s\n", len, type, text);
	cr_assert(same_output(&r, expected),
		  "`%s` (MSGMAX raised to 65536): the first message has %ld bytes; stdout must "
		  "be \"received %ld bytes, type %ld: abc...\" with all %ld bytes; it began "
		  "with %s (%s)%s",
		  short_command(&r), len, len, type, len, first_line(r.out, buf, 80), replay(),
		  stderr_note(&r));
	expect_exit(&r, 0);
	free(expected);
	free(text);
	run_free(&r);
}

/* wait's buffer holds 8192 bytes: a message of exactly that size comes whole. */
Test(lab, wait_large_message, .timeout = 60)
{
	struct rng g = rng_for(14);
	long type = between(&g, 1, 9);
	char steps[64];
	snprintf(steps, sizeof steps, "send:%ld:8192", type);
	struct scenario s;
	run_scenario(steps, &s);
	const char *what[] = {"the message"};
	expect_all_steps(&s, 1, what);
	expect_finished(&s.r);
	const struct trace_call *c = nth_call(&s.r, "msgrcv", s.pid, 0);
	cr_assert(c, "`limits wait` never called msgrcv");
	char *text = pattern(8192), *expected = malloc(8300), buf[256];
	cr_assert(expected, "grader error: out of memory");
	snprintf(expected, 8300, "received 8192 bytes, type %ld: %s\n", type, text);
	cr_assert(same_output(&s.r, expected),
		  "`limits wait` was sent a message of 8192 bytes (the default MSGMAX): its "
		  "msgrcv (msgsz %ld) gave %s and stdout began with %s; the buffer holds 8192 "
		  "bytes of mtext, so the message comes whole: \"received 8192 bytes, type %ld: "
		  "abc...\"%s",
		  c->msgsz, c->ret >= 0 ? "the message" : errname(c->err),
		  first_line(s.r.out, buf, 80), type, program_said(&s));
	expect_exit(&s.r, 0);
	free(expected);
	free(text);
	run_free(&s.r);
}

/* wait on an id that names no queue: EINVAL is not EIDRM: fail, status 1, no retry. */
Test(lab, wait_bad_id, .timeout = 60)
{
	need_namespace();
	struct run_result r;
	run_student(&(struct run_spec){.args = (const char *const[]){"wait", "7", NULL},
				       .allow_failure = true},
		    &r);
	size_t n = count_calls(&r, "msgrcv", 0);
	if (r.timed_out) {
		timeout_outcome();
		cr_assert_fail("TIMEOUT: `%s` (no queue has id 7) never ended: it called msgrcv "
			       "%zu times; EINVAL will not go away, fail at once",
			       short_command(&r), n);
	}
	expect_finished(&r);
	const struct trace_call *c = nth_call(&r, "msgrcv", 0, 0);
	cr_assert(c && c->ret == -1 && c->err == EINVAL,
		  "`%s` (no queue has id 7): msgrcv %s, expected EINVAL", short_command(&r),
		  c ? errname(c->err) : "was never called");
	cr_assert(n == 1,
		  "`%s`: msgrcv failed with EINVAL and the program called it again (%zu "
		  "calls): only EINTR is a reason to retry",
		  short_command(&r), n);
	expect_fail_line(&r, "msgrcv", EINVAL,
			 "msgrcv failed with EINVAL (there is no queue 7), which is not EIDRM: "
			 "\"queue removed\" and status 3 are for a queue removed while wait "
			 "waited");
	run_free(&r);
}

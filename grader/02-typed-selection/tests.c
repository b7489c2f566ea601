/*
 * Lab 02 (typed selection): the autograder's tests. Points and hints are in rubric.json; the
 * contract is in handouts/02-typed-selection.md.
 *
 * The batches are random but reproducible: each test draws them from test_seed() (MSGLAB_SEED,
 * set by make grade SEED=n), and every failure message names the seed. The order the kernel
 * gives is taken from model.c, which tests/kernel/model_vs_kernel.c checks against the kernel.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "cases.h"
#include "harness.h"
#include "model.h"

#define MAX_BATCH 100
#define TEXT_MAX  64
#define MAX_TRIES 10000

struct batch {
	size_t n;
	long types[MAX_BATCH];
	char texts[MAX_BATCH][TEXT_MAX + 1];
};

/* ---- reproducible random batches ---- */

static const char *const words[] = {"apple", "pear",  "fig",   "plum",	"kiwi",	  "lime",
				    "date",  "grape", "melon", "peach", "cherry", "mango"};

/* n messages of types 1..max_type; every text is different ("ripe fig 7"), never empty. */
static void random_batch(struct rng *g, struct batch *b, size_t n, long max_type)
{
	size_t nwords = sizeof words / sizeof words[0];
	b->n = n;
	for (size_t i = 0; i < n; i++) {
		b->types[i] = between(g, 1, max_type);
		const char *w = words[between(g, 0, (long)nwords - 1)];
		switch (between(g, 0, 3)) {
		case 0:
			snprintf(b->texts[i], sizeof b->texts[i], "%s %zu", w, i + 1);
			break;
		case 1:
			snprintf(b->texts[i], sizeof b->texts[i], "ripe %s %zu", w, i + 1);
			break;
		case 2:
			snprintf(b->texts[i], sizeof b->texts[i], "%zu %s,  %s", i + 1, w,
				 words[between(g, 0, (long)nwords - 1)]);
			break;
		default:
			snprintf(b->texts[i], sizeof b->texts[i], "#%zu", i + 1);
			break;
		}
	}
}

static size_t count_type(const struct batch *b, long type)
{
	size_t n = 0;
	for (size_t i = 0; i < b->n; i++)
		n += b->types[i] == type;
	return n;
}

/* The standard input for a batch: "TYPE TEXT" lines. */
static char *batch_input(const struct batch *b)
{
	char *text = malloc(b->n * (TEXT_MAX + 24) + 1);
	cr_assert(text, "grader error: out of memory");
	size_t k = 0;
	text[0] = '\0';
	for (size_t i = 0; i < b->n; i++)
		k += (size_t)sprintf(text + k, "%ld %s\n", b->types[i], b->texts[i]);
	return text;
}

/* Run `typesel MODE [N]` on the batch. */
static void run_mode(const char *mode, long n, const struct batch *b, bool allow_failure,
		     struct run_result *r)
{
	char number[24];
	snprintf(number, sizeof number, "%ld", n);
	const char *args[] = {mode, n > 0 ? number : NULL, NULL};
	char *input = batch_input(b);
	run_student(
	    &(struct run_spec){.args = args, .input = input, .allow_failure = allow_failure}, r);
	free(input);
}

/* ---- reading the output ---- */

static bool is_left_line(const char *line)
{
	return strncmp(line, "left:", 5) == 0;
}

/* The message lines of stdout: every line but "left: Q". */
static char **message_lines(const struct run_result *r, size_t *count)
{
	size_t n;
	char **lines = text_lines(r->out, "", &n);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (is_left_line(lines[i]))
			free(lines[i]);
		else
			lines[k++] = lines[i];
	}
	lines[k] = NULL;
	*count = k;
	return lines;
}

/* The index of the batch message that prints as line, or -1. */
static long find_message(const struct batch *b, const char *line)
{
	char text[TEXT_MAX + 32];
	for (size_t i = 0; i < b->n; i++) {
		snprintf(text, sizeof text, "%ld %s", b->types[i], b->texts[i]);
		if (strcmp(text, line) == 0)
			return (long)i;
	}
	return -1;
}

static size_t successful(const struct run_result *r, const char *call,
			 const struct trace_call **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < r->ncalls && n < max; i++)
		if (!strcmp(r->calls[i].call, call) && r->calls[i].ret >= 0)
			out[n++] = &r->calls[i];
	return n;
}

/* Why line (at a position where expected was due) is wrong, in a few words. */
static const char *diagnose(const struct batch *b, const size_t *order, size_t want,
			    const char *line, long expected_type, long msgtyp, int except,
			    char *buf, size_t size)
{
	long j = find_message(b, line);
	if (j < 0)
		return "no message of the batch prints like that: print mtype, one space, then "
		       "exactly the bytes msgrcv returned";
	bool selected = false;
	for (size_t i = 0; i < want; i++)
		selected |= order[i] == (size_t)j;
	long t = b->types[j];
	if (!selected) {
		if (msgtyp < 0)
			snprintf(buf, size, "type %ld is above %ld, so msgtyp %ld leaves it queued",
				 t, -msgtyp, msgtyp);
		else if (except)
			snprintf(buf, size, "type %ld is the excepted type: it must stay queued",
				 t);
		else
			snprintf(buf, size, "only type %ld is selected; type %ld must stay queued",
				 msgtyp, t);
		return buf;
	}
	if (t == expected_type)
		return "the right type, but messages of one type come out first in, first out: "
		       "in the order they were sent";
	if (msgtyp < 0 && t > expected_type)
		return "a lower type comes first: msgtyp -N takes the lowest type not above N";
	return "not the next one: the kernel hands out the matching messages in the order they "
	       "were sent";
}

/*
 * Compare the message lines with the order the kernel gives for (msgtyp, except), naming the
 * first position that differs. Keeps expected and actual message lines for the driver's diff.
 */
static void check_order(const struct run_result *r, const struct batch *b, long msgtyp, int except,
			bool seeded)
{
	const char *seed = seeded ? replay() : "a fixed batch";
	size_t order[MAX_BATCH];
	size_t want = model_receive_order(b->types, b->n, msgtyp, except, order);
	if (count_calls(r, "msgrcv", 0) == 0)
		cr_assert_fail("`%s`: no process called msgrcv%s (%s)", short_command(r),
			       stderr_note(r), seed);
	size_t got;
	char **lines = message_lines(r, &got);

	char *expected = malloc(want * (TEXT_MAX + 24) + 1), *actual = malloc(r->out_len + 2);
	cr_assert(expected && actual, "grader error: out of memory");
	size_t k = 0;
	expected[0] = actual[0] = '\0';
	for (size_t i = 0; i < want; i++)
		k += (size_t)sprintf(expected + k, "%ld %s\n", b->types[order[i]],
				     b->texts[order[i]]);
	k = 0;
	for (size_t i = 0; i < got; i++)
		k += (size_t)sprintf(actual + k, "%s\n", lines[i]);

	if (strcmp(expected, actual) != 0) {
		keep_comparison(r, expected, actual);
		for (size_t i = 0; i < want || i < got; i++) {
			char line[TEXT_MAX + 32], why[160];
			if (i < want)
				snprintf(line, sizeof line, "%ld %s", b->types[order[i]],
					 b->texts[order[i]]);
			if (i >= got)
				cr_assert_fail(
				    "`%s`: message %zu: expected `%s` (type %ld), got nothing: "
				    "%zu message line%s printed, %zu expected (%s)",
				    short_command(r), i + 1, line, b->types[order[i]], got,
				    got == 1 ? " was" : "s were", want, seed);
			if (i >= want)
				cr_assert_fail(
				    "`%s`: message %zu: got `%.80s`, but only %zu message%s "
				    "match%s (%s)",
				    short_command(r), i + 1, lines[i], want, want == 1 ? "" : "s",
				    want == 1 ? "es" : "", seed);
			if (strcmp(line, lines[i]) != 0)
				cr_assert_fail(
				    "`%s`: message %zu: expected `%s` (type %ld), got `%.80s`: "
				    "%s (%s)",
				    short_command(r), i + 1, line, b->types[order[i]], lines[i],
				    diagnose(b, order, want, lines[i], b->types[order[i]], msgtyp,
					     except, why, sizeof why),
				    seed);
		}
	}
	free(expected);
	free(actual);
	free_lines(lines);
}

/* ---- the order each mode gives ---- */

/* A batch whose FIFO order is not sorted by type, with at least three types. */
Test(lab, fifo_order, .timeout = 60)
{
	struct rng g = rng_for(1);
	struct batch b;
	for (int tries = 0;; tries++) {
		cr_assert(tries < MAX_TRIES, "grader error: no suitable batch");
		random_batch(&g, &b, (size_t)between(&g, 15, 35), 6);
		bool unsorted = false;
		for (size_t i = 1; i < b.n; i++)
			unsorted |= b.types[i] < b.types[i - 1];
		size_t distinct = 0;
		for (long t = 1; t <= 6; t++)
			distinct += count_type(&b, t) > 0;
		if (unsorted && distinct >= 3)
			break;
	}
	struct run_result r;
	run_mode("fifo", 0, &b, false, &r);
	check_order(&r, &b, 0, 0, true);
	run_free(&r);
}

/* type N: at least two messages of type N among at least three others. */
Test(lab, single_type, .timeout = 60)
{
	struct rng g = rng_for(2);
	struct batch b;
	long n;
	for (int tries = 0;; tries++) {
		cr_assert(tries < MAX_TRIES, "grader error: no suitable batch");
		random_batch(&g, &b, (size_t)between(&g, 15, 35), 5);
		n = b.types[between(&g, 0, (long)b.n - 1)];
		size_t c = count_type(&b, n);
		if (c >= 2 && b.n - c >= 3)
			break;
	}
	struct run_result r;
	run_mode("type", n, &b, false, &r);
	check_order(&r, &b, n, 0, true);
	run_free(&r);
}

/* Would a selection sort by type, a typical unstable sort, reorder two messages of one type? */
static bool selection_sort_unstable(const struct batch *b, long n)
{
	size_t sel[MAX_BATCH], k = 0;
	for (size_t i = 0; i < b->n; i++)
		if (b->types[i] <= n)
			sel[k++] = i;
	for (size_t i = 0; i + 1 < k; i++) {
		size_t min = i;
		for (size_t j = i + 1; j < k; j++)
			if (b->types[sel[j]] < b->types[sel[min]])
				min = j;
		size_t t = sel[i];
		sel[i] = sel[min];
		sel[min] = t;
	}
	for (size_t i = 0; i + 1 < k; i++)
		if (b->types[sel[i]] == b->types[sel[i + 1]] && sel[i] > sel[i + 1])
			return true;
	return false;
}

/*
 * priority N: types up to N out of order, types above N among them, and several messages of a
 * type, placed so that an unstable sort (selection sort, at least) would reorder them.
 */
Test(lab, priority_order, .timeout = 60)
{
	struct rng g = rng_for(3);
	struct batch b;
	long n;
	for (int tries = 0;; tries++) {
		cr_assert(tries < MAX_TRIES, "grader error: no suitable batch");
		random_batch(&g, &b, (size_t)between(&g, 25, 40), 7);
		n = between(&g, 3, 5);
		bool inversion = false, above = false;
		long highest = 0;
		for (size_t i = 0; i < b.n; i++) {
			if (b.types[i] > n) {
				above = true;
				continue;
			}
			inversion |= b.types[i] < highest;
			if (b.types[i] > highest)
				highest = b.types[i];
		}
		if (inversion && above && selection_sort_unstable(&b, n))
			break;
	}
	struct run_result r;
	run_mode("priority", n, &b, false, &r);
	check_order(&r, &b, -n, 0, true);
	run_free(&r);
}

/* except N: at least two messages of type N and three of other types. */
Test(lab, except_type, .timeout = 60)
{
	struct rng g = rng_for(4);
	struct batch b;
	long n;
	for (int tries = 0;; tries++) {
		cr_assert(tries < MAX_TRIES, "grader error: no suitable batch");
		random_batch(&g, &b, (size_t)between(&g, 15, 35), 5);
		n = b.types[between(&g, 0, (long)b.n - 1)];
		size_t c = count_type(&b, n);
		if (c >= 2 && b.n - c >= 3)
			break;
	}
	struct run_result r;
	run_mode("except", n, &b, false, &r);
	check_order(&r, &b, n, 1, true);
	run_free(&r);
}

/* ---- how the program asks the kernel ---- */

/*
 * Each mode passes its own msgtyp (and MSG_EXCEPT) to every msgrcv: the kernel selects, the
 * program does not receive everything and sort. Judged on the calls made even if the program
 * then hangs or crashes: those have tests of their own.
 */
Test(lab, priority_uses_negative_msgtyp, .timeout = 300)
{
	struct rng g = rng_for(5);
	struct batch b;
	long n;
	for (int tries = 0;; tries++) {
		cr_assert(tries < MAX_TRIES, "grader error: no suitable batch");
		random_batch(&g, &b, (size_t)between(&g, 10, 20), 5);
		n = between(&g, 2, 4);
		if (count_type(&b, n) >= 1 && count_type(&b, 1) >= 1 && count_type(&b, 5) >= 1)
			break;
	}
	static const struct {
		const char *mode;
		int sign;   /* msgtyp = sign * N */
		int except; /* 1: needs MSG_EXCEPT, 0: must not have it, -1: either */
		const char *why;
	} modes[] = {
	    {"priority", -1, -1,
	     "priority N passes msgtyp -N to every msgrcv and lets the kernel pick the lowest "
	     "type; do not receive with msgtyp 0 and sort, nor loop over the types one by one"},
	    {"type", 1, 0, "type N passes msgtyp N, without MSG_EXCEPT"},
	    {"except", 1, 1, "except N passes msgtyp N with the MSG_EXCEPT flag (020000)"},
	    {"fifo", 0, -1, "fifo passes msgtyp 0"},
	};
	for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
		struct run_result r;
		long want = modes[m].sign * n;
		run_mode(modes[m].mode, modes[m].sign ? n : 0, &b, true, &r);
		size_t calls = count_calls(&r, "msgrcv", 0);
		if (calls == 0)
			cr_expect_fail("`%s`: no process called msgrcv%s%s (%s)", short_command(&r),
				       r.timed_out ? " before the time ran out" : "",
				       stderr_note(&r), replay());
		for (size_t i = 0; i < calls; i++) {
			const struct trace_call *c = nth_call(&r, "msgrcv", 0, i);
			bool has_except = (c->flags & MSG_EXCEPT) != 0;
			if (c->msgtyp != want || (modes[m].except == 1 && !has_except) ||
			    (modes[m].except == 0 && has_except)) {
				cr_expect_fail("`%s`: msgrcv call %zu used msgtyp %ld%s, expected "
					       "msgtyp %ld%s: %s",
					       short_command(&r), i + 1, c->msgtyp,
					       has_except ? " with MSG_EXCEPT" : "", want,
					       modes[m].except == 1 ? " with MSG_EXCEPT" : "",
					       modes[m].why);
				break;
			}
		}
		run_free(&r);
	}
}

/* Every msgrcv has IPC_NOWAIT and the loop ends on ENOMSG, even past empty messages. */
Test(lab, nowait_until_enomsg, .timeout = 60)
{
	struct rng g = rng_for(6);
	struct batch b;
	long n;
	for (int tries = 0;; tries++) {
		cr_assert(tries < MAX_TRIES, "grader error: no suitable batch");
		random_batch(&g, &b, (size_t)between(&g, 10, 20), 4);
		n = b.types[0];
		if (count_type(&b, n) >= 3 && b.n - count_type(&b, n) >= 2)
			break;
	}
	/* The first message of type N is empty: msgrcv returns 0 for it. */
	b.texts[0][0] = '\0';
	struct run_result r;
	run_mode("type", n, &b, false, &r);
	size_t calls = count_calls(&r, "msgrcv", 0);
	cr_assert(calls > 0, "`%s`: no process called msgrcv%s (%s)", short_command(&r),
		  stderr_note(&r), replay());
	for (size_t i = 0; i < calls; i++) {
		const struct trace_call *c = nth_call(&r, "msgrcv", 0, i);
		cr_assert(c->flags & IPC_NOWAIT,
			  "`%s`: msgrcv call %zu had flags 0x%x, without IPC_NOWAIT (04000): once "
			  "nothing matches it would wait forever (%s)",
			  short_command(&r), i + 1, (unsigned)c->flags, replay());
	}
	const struct trace_call *last = nth_call(&r, "msgrcv", 0, calls - 1);
	if (last->ret == 0)
		cr_assert_fail("`%s`: the loop stopped after msgrcv call %zu returned 0, which is "
			       "an empty message, not the end: stop only when msgrcv fails with "
			       "ENOMSG (%s)",
			       short_command(&r), calls, replay());
	cr_assert(last->ret < 0,
		  "`%s`: the last msgrcv returned a message; the loop must go on "
		  "until msgrcv fails with ENOMSG (%s)",
		  short_command(&r), replay());
	cr_assert(last->err == ENOMSG,
		  "`%s`: the loop ended when msgrcv failed with %s; it ends on ENOMSG, which "
		  "IPC_NOWAIT gives when no message matches (%s)",
		  short_command(&r), strerrorname_np(last->err) ? strerrorname_np(last->err) : "?",
		  replay());
	run_free(&r);
}

/* "left: Q" is the last line, once, and Q is what type N leaves in the queue. */
Test(lab, leftover_count, .timeout = 60)
{
	struct rng g = rng_for(7);
	struct batch b;
	long n;
	for (int tries = 0;; tries++) {
		cr_assert(tries < MAX_TRIES, "grader error: no suitable batch");
		random_batch(&g, &b, (size_t)between(&g, 12, 30), 5);
		n = b.types[between(&g, 0, (long)b.n - 1)];
		if (count_type(&b, n) >= 2 && b.n - count_type(&b, n) >= 2)
			break;
	}
	long want = (long)(b.n - count_type(&b, n));
	struct run_result r;
	run_mode("type", n, &b, false, &r);
	cr_assert(count_calls(&r, "msgrcv", 0) > 0, "`%s`: no process called msgrcv%s (%s)",
		  short_command(&r), stderr_note(&r), replay());
	size_t nlines;
	char **lines = text_lines(r.out, "", &nlines);
	size_t nleft = 0;
	for (size_t i = 0; i < nlines; i++)
		nleft += is_left_line(lines[i]);
	cr_assert(nleft == 1,
		  "`%s`: %zu lines start with \"left:\"; expected exactly one, the "
		  "last line (%s)",
		  short_command(&r), nleft, replay());
	const char *line = lines[nlines - 1];
	cr_assert(is_left_line(line),
		  "`%s`: the last line is `%.80s`; \"left: Q\" comes after "
		  "every message (%s)",
		  short_command(&r), line, replay());
	char *end;
	errno = 0;
	long q = strncmp(line, "left: ", 6) == 0 ? strtol(line + 6, &end, 10) : -1;
	cr_assert(q >= 0 && !errno && end != line + 6 && *end == '\0',
		  "`%s`: the last line is `%.80s`; expected \"left: %ld\": the word, a colon, one "
		  "space and the number (%s)",
		  short_command(&r), line, want, replay());
	const char *why = "";
	if (q == (long)b.n)
		why = ": that is the whole batch; read msg_qnum after the receive loop, not before";
	else if (q == (long)b.n - want)
		why = ": that is how many were received; Q counts the messages still in the queue";
	cr_assert_eq(
	    q, want,
	    "`%s`: printed \"left: %ld\", expected \"left: %ld\" (%zu messages sent, %zu of "
	    "type %ld received)%s (%s)",
	    short_command(&r), q, want, b.n, count_type(&b, n), n, why, replay());
	free_lines(lines);
	run_free(&r);
}

/* ---- bytes, errors and clean-up ---- */

/* Each message carries exactly the bytes of its TEXT: no NUL, nothing after; empty is fine. */
Test(lab, exact_bytes, .timeout = 60)
{
	static const struct {
		long type;
		const char *text;
	} fixed[] = {
	    {1, "hello"},
	    {2, ""},
	    {3, "  two  spaces  around  "},
	    {1, "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789ABCDEF"},
	    {4, "quote ' and \" marks; 100% sure? back\\slash"},
	    {2, "tab\there"},
	    {5, "caf\xc3\xa9 na\xc3\xafve"},
	    {3, "x"},
	    {1, ""},
	    {6, "ends with a space "},
	};
	struct batch b = {.n = sizeof fixed / sizeof fixed[0]};
	for (size_t i = 0; i < b.n; i++) {
		b.types[i] = fixed[i].type;
		snprintf(b.texts[i], sizeof b.texts[i], "%s", fixed[i].text);
	}
	struct run_result r;
	run_mode("fifo", 0, &b, false, &r);

	const struct trace_call *sent[MAX_BATCH], *got[MAX_BATCH];
	size_t ns = successful(&r, "msgsnd", sent, MAX_BATCH);
	cr_assert(ns > 0, "`%s`: no message was sent successfully%s%s", short_command(&r),
		  count_calls(&r, "msgsnd", 0) ? "" : ": no process called msgsnd",
		  stderr_note(&r));
	for (size_t i = 0; i < ns && i < b.n; i++) {
		const struct trace_call *c = sent[i];
		long len = (long)strlen(b.texts[i]);
		if (c->datalen == len && c->shown == (size_t)len &&
		    !memcmp(c->data, b.texts[i], (size_t)len))
			continue;
		char *bytes = show_bytes(c->data, c->shown);
		char *want = show_bytes((const unsigned char *)b.texts[i], (size_t)len);
		const char *why = "send exactly the bytes of TEXT";
		if (c->datalen == len + 1 && !memcmp(c->data, b.texts[i], (size_t)len + 1))
			why =
			    "the terminating NUL is not part of the message: msgsz = strlen(text)";
		else if (c->datalen == len + (long)sizeof(long))
			why = "msgsz counts only the bytes of mtext, not the long mtype";
		else if (c->datalen > len)
			why = "send the length of TEXT, not the size of the buffer";
		cr_assert_fail(
		    "`%s`: message %zu (`%ld %s`) was sent as the %ld bytes %s, expected the "
		    "%ld bytes %s: %s",
		    short_command(&r), i + 1, b.types[i], b.texts[i], c->datalen, bytes, len, want,
		    why);
	}
	cr_assert_eq(ns, b.n, "`%s`: %zu messages were sent, expected %zu (one per line)",
		     short_command(&r), ns, b.n);
	size_t ng = successful(&r, "msgrcv", got, MAX_BATCH);
	cr_assert(ng > 0, "`%s`: no message was received%s", short_command(&r),
		  count_calls(&r, "msgrcv", 0) ? "" : ": no process called msgrcv");
	for (size_t i = 0; i < ng && i < b.n; i++)
		cr_assert_eq(got[i]->ret, (long)strlen(b.texts[i]),
			     "`%s`: message %zu: msgrcv returned %ld, expected %zu, the length of "
			     "`%s`",
			     short_command(&r), i + 1, got[i]->ret, strlen(b.texts[i]), b.texts[i]);
	check_order(&r, &b, 0, 0, false);
	run_free(&r);
}

/* A malformed line: exit non-zero, stderr names the line, the queue is removed anyway. */
Test(lab, bad_line, .timeout = 60)
{
	/* Always the same kind of bad line (the parser is given code); only its place varies. */
	static const char line[] = "0 is not a type";
	struct rng g = rng_for(9);
	struct batch b;
	random_batch(&g, &b, (size_t)between(&g, 1, 5), 5);
	size_t k = b.n + 1; /* the bad line's number */
	char *good = batch_input(&b);
	char *input = malloc(strlen(good) + strlen(line) + 64);
	cr_assert(input, "grader error: out of memory");
	sprintf(input, "%s%s\n7 after the bad line\n", good, line);
	free(good);

	struct run_result r;
	run_student(&(struct run_spec){.args = (const char *const[]){"fifo", NULL}, .input = input},
		    &r);
	free(input);
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	cr_assert(get && get->ret >= 0, "`%s`: no queue was created (no successful msgget)%s (%s)",
		  short_command(&r), stderr_note(&r), replay());
	cr_expect_eq(r.exit_code, 1,
		     "`%s`: line %zu is `%s`, which is malformed, but the program exited with "
		     "status %d: when the producer fails, the parent exits 1 (%s)",
		     short_command(&r), k, line, r.exit_code, replay());
	cr_expect_eq(count_calls(&r, "msgrcv", 0), 0,
		     "`%s`: the parent called msgrcv although the producer failed: it removes the "
		     "queue and exits 1 without receiving (%s)",
		     short_command(&r), replay());
	char want[32];
	snprintf(want, sizeof want, "line %zu", k);
	const char *at = strstr(r.err, want);
	while (at && at[strlen(want)] >= '0' && at[strlen(want)] <= '9')
		at = strstr(at + 1, want);
	cr_expect(at != NULL,
		  "`%s`: line %zu (`%s`) is malformed; stderr must name it as \"%s\" "
		  "(%s)",
		  short_command(&r), k, line, want, replay());
	size_t nlines;
	char **lines = text_lines(r.out, "", &nlines);
	for (size_t i = 0; i < nlines; i++)
		if (is_left_line(lines[i]))
			cr_expect_fail(
			    "`%s`: the parent printed `%.80s` although the producer failed: "
			    "it removes the queue and exits 1 without receiving (%s)",
			    short_command(&r), lines[i], replay());
	free_lines(lines);
	for (int i = 0; i < r.nqueues; i++)
		cr_expect_fail("`%s`: queue %d (%ld message%s) was left behind: when the producer "
			       "fails, the parent still removes the queue before exiting 1 (%s)",
			       short_command(&r), r.queues[i].msqid, r.queues[i].qnum,
			       r.queues[i].qnum == 1 ? "" : "s", replay());
	run_free(&r);
}

/* The parent removes its queue with IPC_RMID after receiving, and exits 0. */
Test(lab, queue_removed, .timeout = 60)
{
	struct rng g = rng_for(10);
	struct batch b;
	random_batch(&g, &b, (size_t)between(&g, 5, 12), 4);
	struct run_result r;
	run_mode("fifo", 0, &b, false, &r);
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	cr_assert(get && get->ret >= 0, "`%s`: no queue was created (no successful msgget)%s",
		  short_command(&r), stderr_note(&r));
	for (int i = 0; i < r.nqueues; i++)
		cr_assert_fail("`%s`: queue %d (%ld message%s) was left behind after exit: call "
			       "msgctl(msqid, IPC_RMID, NULL) once the receiving is done",
			       short_command(&r), r.queues[i].msqid, r.queues[i].qnum,
			       r.queues[i].qnum == 1 ? "" : "s");
	const struct trace_call *rm = NULL;
	for (size_t i = 0; i < count_calls(&r, "msgctl", 0); i++) {
		const struct trace_call *c = nth_call(&r, "msgctl", 0, i);
		if (c->cmd == IPC_RMID && c->ret == 0 && c->msqid == (int)get->ret)
			rm = c;
	}
	cr_assert(rm, "`%s`: queue %ld went away without a successful msgctl(IPC_RMID)",
		  short_command(&r), get->ret);
	cr_expect_eq(rm->pid, r.main_pid,
		     "`%s`: pid %d removed the queue; the parent (pid %d) "
		     "must, after receiving",
		     short_command(&r), rm->pid, r.main_pid);
	size_t nr = count_calls(&r, "msgrcv", 0);
	cr_assert(nr > 0, "`%s`: no process called msgrcv", short_command(&r));
	const struct trace_call *last = nth_call(&r, "msgrcv", 0, nr - 1);
	cr_expect(last->t_us <= rm->t_us - rm->dur_us,
		  "`%s`: msgrcv was called after the queue was removed: remove it last",
		  short_command(&r));
	expect_exit(&r, 0);
	if (r.exit_code == 0 && r.err_len)
		cr_expect_fail("`%s`: the run succeeded but wrote on stderr (`%.80s`): on success "
			       "typesel prints nothing on stderr; take out debugging output",
			       short_command(&r), r.err);
	run_free(&r);
}

/* A forked child sends the whole batch before the parent receives anything; all are waited. */
Test(lab, producer_is_child, .timeout = 60)
{
	struct rng g = rng_for(11);
	struct batch b;
	random_batch(&g, &b, (size_t)between(&g, 5, 15), 4);
	struct run_result r;
	run_mode("fifo", 0, &b, false, &r);
	int kids[8];
	int nkids = children_of(&r, r.main_pid, kids, 8);
	cr_assert(nkids >= 1,
		  "`%s`: the parent (pid %d) never forked: a producer child sends the "
		  "messages",
		  short_command(&r), r.main_pid);
	const struct trace_call *first = nth_call(&r, "msgrcv", r.main_pid, 0);
	cr_assert(first, "`%s`: the parent (pid %d) never called msgrcv: it is the consumer",
		  short_command(&r), r.main_pid);
	long long start = first->t_us - first->dur_us;
	size_t before = 0;
	for (size_t i = 0; i < r.ncalls; i++) {
		const struct trace_call *c = &r.calls[i];
		if (!strcmp(c->call, "msgrcv"))
			cr_assert_eq(c->pid, r.main_pid,
				     "`%s`: pid %d called msgrcv; only the parent "
				     "(pid %d) receives",
				     short_command(&r), c->pid, r.main_pid);
		if (strcmp(c->call, "msgsnd") || c->ret != 0 || c->t_us > start)
			continue;
		before++;
		cr_assert(c->pid != r.main_pid && c->ppid == r.main_pid,
			  "`%s`: a message was sent by pid %d, %s: the producer child sends",
			  short_command(&r), c->pid,
			  c->pid == r.main_pid ? "the parent itself" : "not a child of the parent");
	}
	cr_assert_eq(before, b.n,
		     "`%s`: %zu of the %zu messages were sent before the parent's first msgrcv: "
		     "wait for the producer (waitpid) before receiving",
		     short_command(&r), before, b.n);
	for (int i = 0; i < r.nprocs; i++) {
		const struct left_proc *p = &r.procs[i];
		if (p->state == 'Z')
			cr_expect_fail(
			    "`%s`: pid %d (%s) had exited but was never waited for: the parent "
			    "waits for the producer with waitpid",
			    short_command(&r), p->pid, p->comm);
		else
			cr_expect_fail(
			    "`%s`: pid %d (%s) was still running%s%s when the parent exited",
			    short_command(&r), p->pid, p->comm,
			    strcmp(p->syscall, "-") ? ", blocked in " : "",
			    strcmp(p->syscall, "-") ? p->syscall : "");
	}
	run_free(&r);
}

/* ---- the contract's edges: arguments, input format, limits, failures ---- */

/* Usage errors: exit 2, the usage line on stderr, nothing else done. */
Test(lab, usage_errors, .timeout = 300)
{
	static const char usage[] =
	    "usage: typesel fifo | typesel type N | typesel priority N | typesel except N";
	static const struct {
		const char *args[4];
		const char *what;
	} cases[] = {
	    {{NULL}, "no mode"},
	    {{"fifo", "3", NULL}, "fifo takes no N"},
	    {{"type", NULL}, "type without N"},
	    {{"priority", "0", NULL}, "N is 0"},
	    {{"except", "-3", NULL}, "a negative N"},
	    {{"type", "3x", NULL}, "N with a trailing letter"},
	    {{"type", "+3", NULL}, "N with a sign"},
	    {{"priority", "99999999999999999999", NULL}, "N too big for a long"},
	    {{"type", "2", "3", NULL}, "two numbers"},
	    {{"sorted", "2", NULL}, "an unknown mode"},
	};
	/* First the contrast: valid arguments are no usage error, and the program works. */
	struct run_result ok;
	run_student(
	    &(struct run_spec){.args = (const char *const[]){"fifo", NULL}, .input = "1 a\n2 b\n"},
	    &ok);
	cr_assert(ok.exit_code == 0 && count_calls(&ok, "msgget", 0) > 0,
		  "`%s`: valid arguments, but the program %s (exit status %d)%s: the usage errors "
		  "are judged against a program that runs",
		  short_command(&ok),
		  count_calls(&ok, "msgget", 0) ? "failed" : "never called msgget", ok.exit_code,
		  stderr_note(&ok));
	run_free(&ok);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct run_result r;
		run_student(&(struct run_spec){.args = cases[i].args, .input = "1 a\n2 b\n"}, &r);
		expect_usage_error(&r, cases[i].what, usage);
		run_free(&r);
	}
}

/* The input format's corners: leading zeros, big types, a bare TYPE, odd bytes, no final
 * newline. Each line is printed back (fifo) as the contract says. */
Test(lab, input_format, .timeout = 60)
{
	static const struct {
		const char *in, *out, *why;
	} lines[] = {
	    {"010 leading zero", "10 leading zero",
	     "TYPE is decimal and may have leading zeros: 010 is type 10 (not octal 8), printed "
	     "without the zero"},
	    {"5", "5 ", "a line that is just TYPE has an empty TEXT: it prints as `5 `"},
	    {"3 ", "3 ", "`TYPE ` (with the space) has an empty TEXT"},
	    {"2147483648 above INT_MAX", "2147483648 above INT_MAX",
	     "TYPE is any positive number that fits in a long: keep and print it as a long (%ld), "
	     "not an int"},
	    {"9223372036854775807 LONG_MAX", "9223372036854775807 LONG_MAX",
	     "LONG_MAX fits in a long, so it is a valid TYPE"},
	    {"1  two spaces: the second is TEXT", "1  two spaces: the second is TEXT",
	     "exactly one space separates TYPE and TEXT; the rest of the line, spaces included, is "
	     "TEXT"},
	    {"4 bytes \x01\xff\x7f ok", "4 bytes \x01\xff\x7f ok",
	     "TEXT is any bytes but a newline, passed on unchanged"},
	    {"6 no newline at the end", "6 no newline at the end",
	     "the last line may lack its newline; it is still a message"},
	};
	enum { N = sizeof lines / sizeof lines[0] };
	char input[1024], expected[1024];
	size_t k = 0, e = 0;
	for (size_t i = 0; i < N; i++) {
		k += (size_t)snprintf(input + k, sizeof input - k, "%s%s", lines[i].in,
				      i + 1 < N ? "\n" : "");
		e += (size_t)snprintf(expected + e, sizeof expected - e, "%s\n", lines[i].out);
	}
	snprintf(expected + e, sizeof expected - e, "left: 0\n");
	struct run_result r;
	run_student(&(struct run_spec){.args = (const char *const[]){"fifo", NULL}, .input = input},
		    &r);
	cr_assert(r.exit_code == 0,
		  "`%s`: the input is valid (a bare TYPE, leading zeros, types above INT_MAX, odd "
		  "bytes, no final newline), but the program exited with status %d; the last line "
		  "on stderr: %s",
		  short_command(&r), r.exit_code, last_err_line(&r));
	if (strcmp(r.out, expected)) {
		keep_comparison(&r, expected, r.out);
		size_t n;
		char **got = text_lines(r.out, "", &n);
		for (size_t i = 0; i < N; i++)
			if (i >= n || strcmp(got[i], lines[i].out)) {
				char *shown =
				    show_bytes((const unsigned char *)(i < n ? got[i] : ""),
					       i < n ? strlen(got[i]) : 0);
				char *want = show_bytes((const unsigned char *)lines[i].out,
							strlen(lines[i].out));
				cr_expect_fail(
				    "`%s`: input line %zu is %s: expected the line %s, got "
				    "%s: %s",
				    short_command(&r), i + 1,
				    i + 1 < N ? "followed by a newline" : "the last one", want,
				    i < n ? shown : "nothing", lines[i].why);
				free(shown);
				free(want);
				break;
			}
		free_lines(got);
		cr_expect_fail("`%s`: stdout differs from the expected output (see the diff): %zu "
			       "messages, then `left: 0`",
			       short_command(&r), (size_t)N);
	}
	run_free(&r);
}

/* Malformed input: `typesel: line K: ...`, exit 1, nothing on stdout, nothing received, no
 * queue left. */
Test(lab, malformed_lines, .timeout = 300)
{
	static char too_long[TEXT_MAX + 8], hundred_one[101 * 8];
	snprintf(too_long, sizeof too_long, "4 %0*d\n", TEXT_MAX + 1, 7);
	size_t k = 0;
	for (int i = 1; i <= 101; i++)
		k += (size_t)sprintf(hundred_one + k, "%d #%d\n", i % 7 + 1, i);
	static const struct {
		const char *bad; /* the line (after "1 first\n"), or NULL: the 101 lines */
		int line;
		const char *what;
	} cases[] = {
	    {"\n", 2, "an empty line"},
	    {"-3 negative\n", 2, "a negative type"},
	    {"x not a number\n", 2, "a type that is not a number"},
	    {"12x trailing letter\n", 2, "a type with a letter after the digits"},
	    {"99999999999999999999 too big\n", 2, "a type too big for a long"},
	    {"3\ttab instead of the space\n", 2, "a tab instead of the space"},
	    {too_long, 2, "a TEXT of 65 bytes"},
	    {NULL, 101, "a 101st line"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char input[2048];
		if (cases[i].bad)
			snprintf(input, sizeof input, "1 first\n%s2 after it\n", cases[i].bad);
		else
			snprintf(input, sizeof input, "%s", hundred_one);
		struct run_result r;
		run_student(
		    &(struct run_spec){.args = (const char *const[]){"fifo", NULL}, .input = input},
		    &r);
		char want[32];
		snprintf(want, sizeof want, "typesel: line %d: ", cases[i].line);
		cr_expect_eq(r.exit_code, 1,
			     "`%s`: line %d is malformed (%s), but the program exited with status "
			     "%d, expected 1",
			     short_command(&r), cases[i].line, cases[i].what, r.exit_code);
		if (strncmp(last_err_line(&r), want, strlen(want)))
			cr_expect_fail("`%s`: line %d is malformed (%s): the last line on stderr "
				       "must start `%s`; %s%s",
				       short_command(&r), cases[i].line, cases[i].what, want,
				       r.err_len ? "it was: " : "stderr was empty",
				       last_err_line(&r));
		cr_expect(r.out_len == 0 && count_calls(&r, "msgrcv", 0) == 0,
			  "`%s`: line %d is malformed (%s): the parent must not receive or print "
			  "anything%s",
			  short_command(&r), cases[i].line, cases[i].what,
			  r.out_len ? ", but stdout was not empty" : "");
		for (int q = 0; q < r.nqueues; q++)
			cr_expect_fail("`%s`: line %d is malformed (%s): queue %d was left behind; "
				       "remove it before exiting 1",
				       short_command(&r), cases[i].line, cases[i].what,
				       r.queues[q].msqid);
		run_free(&r);
	}
}

/* The limits: 100 lines (the most a batch may have), each TEXT of 64 bytes (the most a TEXT
 * may have), all in one queue. */
Test(lab, hundred_lines, .timeout = 60)
{
	struct rng g = rng_for(12);
	struct batch b = {.n = MAX_BATCH};
	for (size_t i = 0; i < b.n; i++) {
		b.types[i] = between(&g, 1, 7);
		snprintf(b.texts[i], sizeof b.texts[i], "%03zu %s ", i + 1,
			 words[between(&g, 0, 11)]);
		memset(b.texts[i] + strlen(b.texts[i]), '.', TEXT_MAX - strlen(b.texts[i]));
		b.texts[i][TEXT_MAX] = '\0';
	}
	struct run_result r;
	run_mode("fifo", 0, &b, false, &r);
	cr_assert(r.exit_code == 0,
		  "`%s`: 100 lines of 64-byte TEXT are within the limits, but the program exited "
		  "with status %d; the last line on stderr: %s (%s)",
		  short_command(&r), r.exit_code, last_err_line(&r), replay());
	check_order(&r, &b, 0, 0, true);
	static const char left[] = "left: 0\n";
	size_t len = strlen(r.out), ll = strlen(left);
	cr_expect(len >= ll && !strcmp(r.out + len - ll, left),
		  "`%s`: the last line must be `left: 0`: fifo takes every message (%s)",
		  short_command(&r), replay());
	run_free(&r);
}

/* The queue is msgget(IPC_PRIVATE, IPC_CREAT | 0600). */
Test(lab, msgget_flags, .timeout = 60)
{
	struct rng g = rng_for(13);
	struct batch b;
	random_batch(&g, &b, 5, 3);
	struct run_result r;
	run_mode("fifo", 0, &b, false, &r);
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	cr_assert(get, "`%s`: msgget was never called%s", short_command(&r), stderr_note(&r));
	cr_expect_eq(get->key, (unsigned)IPC_PRIVATE,
		     "`%s`: the key must be IPC_PRIVATE (0), msgget got 0x%08x", short_command(&r),
		     get->key);
	cr_expect(get->flags & IPC_CREAT, "`%s`: msgget's flags 0%o lack IPC_CREAT (01000)",
		  short_command(&r), (unsigned)get->flags);
	cr_expect_eq(get->flags & 0777, 0600,
		     "`%s`: the queue was created with permissions 0%03o: use IPC_CREAT | 0600, "
		     "so that only its owner may read and write it",
		     short_command(&r), (unsigned)get->flags & 0777);
	run_free(&r);
}

/* A failed msgget: `typesel: msgget: ...`, exit 1, no producer. */
Test(lab, msgget_fails, .timeout = 60)
{
	struct run_result r;
	run_student(&(struct run_spec){.args = (const char *const[]){"fifo", NULL},
				       .input = "1 a\n2 b\n",
				       .sysctl = {"msgmni=0"}},
		    &r);
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	cr_assert(get, "`%s`: msgget was never called%s", short_command(&r), stderr_note(&r));
	cr_assert(get->ret < 0, "grader error: msgget should have failed with kernel.msgmni=0");
	cr_expect_eq(r.exit_code, 1,
		     "`%s`: msgget failed (ENOSPC: no queue may be created), but the program "
		     "exited with status %d, expected 1",
		     short_command(&r), r.exit_code);
	char want[128];
	snprintf(want, sizeof want, "typesel: msgget: %s", strerror(get->err));
	cr_expect(
	    !strcmp(last_err_line(&r), want),
	    "`%s`: when msgget fails, the last line on stderr must be `%s` (fail(\"msgget\")); "
	    "%s%s",
	    short_command(&r), want, r.err_len ? "it was: " : "stderr was empty",
	    last_err_line(&r));
	cr_expect_eq(count_calls(&r, "fork", 0), 0,
		     "`%s`: the program forked after msgget failed: check its result against -1 "
		     "and stop before forking",
		     short_command(&r));
	cr_expect(r.out_len == 0, "`%s`: nothing goes to stdout when msgget fails",
		  short_command(&r));
	run_free(&r);
}

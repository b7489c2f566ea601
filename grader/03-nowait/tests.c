/*
 * Lab 03 (never block: IPC_NOWAIT): the autograder's tests. Points and hints are in
 * rubric.json; the contract is in handouts/03-nowait.md.
 *
 * Before the program runs, the set-up tools (tools/mkqueue.c, tools/later.c) prepare the queue
 * of ftok(KEYFILE, 'N') in the sandbox: a small msg_qbytes, messages already queued, messages
 * that arrive while the program polls, a queue that vanishes under it. The count fill must
 * report is predicted with the kernel's rule (a message fits while cbytes + size <= qbytes and
 * qnum + 1 <= qbytes), which tests/kernel/facts_03.c checks on the running kernel. Cases are
 * random but reproducible: each test draws them from test_seed().
 *
 * That no call blocks is proved twice: every msgsnd and msgrcv in the trace carries IPC_NOWAIT,
 * and each run has a calibrated timeout, so a call that waits shows up as TIMEOUT.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "cases.h"
#include "fill_model.h"
#include "harness.h"

#define KEYFILE	       "key"
#define MAX_DELAY_MS   64
#define EXIT_GAVE_UP   3
#define DEFAULT_MSGMAX 8192
#define SIZE_MAX_ARG   65536
#define MAX_TRIES      10000
#define MAX_MESSAGES   16
/* What a loaded machine may add to a sleep before the sleeper runs again. */
#define LATE_SLACK_MS 200
/* The most a try may come after its sleep of D ms ends, whatever the load: far less than the
 * 1000-fold of a sleep taken in seconds (sleep(1) for 1 ms). */
#define WAY_LATE_MS 900
#define TICK_PREFIX "empty try "

/*
 * cr_assert for the checks made once per traced call: a program that polls without sleeping
 * leaves a hundred thousand calls, and a cr_assert that passes is not free (under --full-stats
 * each one is an event sent to the runner).
 */
#define check(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			cr_assert_fail(__VA_ARGS__);                                               \
	} while (0)

/* ---- reproducible random cases ---- */

static const char *const words[] = {"apple", "pear",  "fig",   "plum",	"kiwi",	  "lime",
				    "date",  "grape", "melon", "peach", "cherry", "mango"};

/* A text no other message of the case has: "ripe fig 7", "7 plum, kiwi"... never empty. */
static void random_text(struct rng *g, int number, char *out, size_t size)
{
	size_t nwords = sizeof words / sizeof words[0];
	const char *w = words[between(g, 0, (long)nwords - 1)];
	switch (between(g, 0, 2)) {
	case 0:
		snprintf(out, size, "%s %d", w, number);
		break;
	case 1:
		snprintf(out, size, "ripe %s %d", w, number);
		break;
	default:
		snprintf(out, size, "%d %s, %s", number, w, words[between(g, 0, (long)nwords - 1)]);
		break;
	}
}

/* ---- running the program ---- */

static bool fallback_mode(void)
{
	const char *mode = getenv("MSGLAB_MODE");
	return mode && !strcmp(mode, "fallback");
}

/* The KEYFILE of this test's runs: "key", or a name of the test's own (use_other_keyfile). */
static const char *keyfile = KEYFILE;

/* Name the KEYFILE otherwise than the handout's examples: a program must use its argument. */
static void use_other_keyfile(struct rng *g)
{
	static const char *const forms[] = {"queue-%ld.key", "nowait_%ld", "K%ld.ftok"};
	static char name[32];
	snprintf(name, sizeof name, forms[between(g, 0, 2)], between(g, 1, 999));
	keyfile = name;
}

/* Run `nowait ARGS...` where the file keyfile exists, after the set-up command (or none). */
static void run_nowait(const char *const *args, const char *setup, bool allow_failure,
		       struct run_result *r)
{
	run_student(
	    &(struct run_spec){
		.args = args, .setup = setup, .make_file = keyfile, .allow_failure = allow_failure},
	    r);
}

/* The kernel's limit kernel.NAME in the sandbox: the default in a fresh IPC namespace. */
static long sandbox_limit(const char *name, long dflt)
{
	if (!fallback_mode())
		return dflt;
	char path[64];
	snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
	FILE *f = fopen(path, "re");
	long v = dflt;
	if (!f || fscanf(f, "%ld", &v) != 1)
		v = dflt;
	if (f)
		fclose(f);
	return v;
}

/* ---- reading what happened ---- */

static const char *err_name(int e)
{
	const char *name = e ? strerrorname_np(e) : "no error";
	return name ? name : "an unknown error";
}

/* The line of stderr that says why the program ended: the last "nowait: " line (fail() prints
 * one and exits), else the last line; at most 200 bytes of it. */
static const char *fatal_line(const char *text)
{
	static char line[208];
	const char *best = NULL, *last = NULL;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		if (len) {
			last = p;
			if (!strncmp(p, "nowait: ", 8))
				best = p;
		}
		p += len + (p[len] == '\n');
	}
	const char *pick = best ? best : last ? last : "";
	int len = (int)strcspn(pick, "\n");
	snprintf(line, sizeof line, "%.*s", len > 200 ? 200 : len, pick);
	return line;
}

/* "; its stderr says: LINE" with the fatal line, or "" when stderr is empty. */
static const char *said(const struct run_result *r)
{
	static char note[240];
	const char *line = fatal_line(r->err);
	if (!*line)
		return "";
	snprintf(note, sizeof note, "; its stderr says: %s", line);
	return note;
}

struct calls {
	const struct trace_call **v;
	size_t n;
};

/* The calls named `call`, in the order they ended. Free v. */
static struct calls collect(const struct run_result *r, const char *call)
{
	struct calls c = {calloc(r->ncalls + 1, sizeof *c.v), 0};
	cr_assert(c.v, "grader error: out of memory");
	for (size_t i = 0; i < r->ncalls; i++)
		if (!strcmp(r->calls[i].call, call))
			c.v[c.n++] = &r->calls[i];
	return c;
}

static long long started_us(const struct trace_call *c)
{
	return c->t_us - c->dur_us;
}

static size_t count_ok(const struct calls *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		n += c->v[i]->ret >= 0;
	return n;
}

/* Every call in c passed IPC_NOWAIT; else fail naming the first that did not. */
static void expect_nowait(const struct run_result *r, const struct calls *c, const char *call,
			  const char *why)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i]->flags & IPC_NOWAIT)
			continue;
		char waited[64] = "";
		if (c->v[i]->dur_us >= 10000)
			snprintf(waited, sizeof waited, " and waited %.0f ms in the kernel",
				 c->v[i]->dur_us / 1000.0);
		cr_assert_fail("`%s`: %s call %zu had flags 0x%x, without IPC_NOWAIT (04000)%s: "
			       "%s%s (%s)",
			       short_command(r), call, i + 1, (unsigned)c->v[i]->flags, waited, why,
			       r->timed_out ? "; and the run did not finish in time" : "",
			       replay());
	}
}

/* The program reported a failed call: exit status 1, stderr naming the call and the error. */
static void expect_error_report(const struct run_result *r, const char *call, int err,
				const char *situation)
{
	expect_finished(r);
	cr_expect(r->exit_code == 1,
		  "`%s`: exited with status %d, expected 1: %s; the program says so on stderr and "
		  "exits 1 (%s)",
		  short_command(r), r->exit_code, situation, replay());
	char want[128];
	snprintf(want, sizeof want, "nowait: %s: %s", call, strerror(err));
	cr_expect(!strcmp(fatal_line(r->err), want),
		  "`%s`: stderr says `%s`; expected the line `%s`, naming the call and its error: "
		  "fail(\"%s\") prints it from errno and exits 1 (%s)",
		  short_command(r), *r->err ? fatal_line(r->err) : "nothing", want, call, replay());
}

/* Does stdout have a line starting with prefix? */
static bool has_line(const struct run_result *r, const char *prefix)
{
	size_t n;
	char **lines = text_lines(r->out, prefix, &n);
	free_lines(lines);
	return n > 0;
}

/* ---- fill ---- */

struct fill_case {
	long qbytes, cbytes, qnum, size;
	long pre[MAX_MESSAGES + 2][2]; /* messages queued first: {count, size} */
	int npre;
	long want;
};

static void fill_setup(const struct fill_case *fc, char *setup, size_t size)
{
	int k = snprintf(setup, size, "{tools}/mkqueue -q %ld", fc->qbytes);
	for (int i = 0; i < fc->npre; i++)
		k += snprintf(setup + k, size - (size_t)k, " -n %ld:%ld", fc->pre[i][0],
			      fc->pre[i][1]);
	snprintf(setup + k, size - (size_t)k, " %s", keyfile);
}

static void run_fill(const struct fill_case *fc, struct run_result *r)
{
	char setup[512], size_arg[24];
	fill_setup(fc, setup, sizeof setup);
	snprintf(size_arg, sizeof size_arg, "%ld", fc->size);
	const char *args[] = {"fill", keyfile, size_arg, NULL};
	run_nowait(args, setup, false, r);
}

/* Why exactly fc->want messages fit, in the kernel's terms. */
static const char *fill_reason(const struct fill_case *fc)
{
	static char text[400];
	long n = fc->want, c = fc->cbytes + n * fc->size, q = fc->qnum + n;
	const char *had = fc->qnum ? "already held" : "held";
	if (fc->size > fc->qbytes)
		snprintf(text, sizeof text,
			 "a message of %ld bytes never fits a queue whose msg_qbytes is %ld: the "
			 "first msgsnd fails with EAGAIN at once, and fill reports 0 messages",
			 fc->size, fc->qbytes);
	else if (c + fc->size > fc->qbytes)
		snprintf(text, sizeof text,
			 "msg_qbytes is %ld and the queue %s %ld messages, %ld bytes: %ld messages "
			 "of %ld bytes fit (%ld + %ld x %ld = %ld bytes), one more would make %ld "
			 "bytes",
			 fc->qbytes, had, fc->qnum, fc->cbytes, n, fc->size, fc->cbytes, n,
			 fc->size, c, c + fc->size);
	else
		snprintf(text, sizeof text,
			 "msg_qbytes is %ld and also caps the number of messages: the queue %s %ld "
			 "messages, %ld bytes, so %ld more fit (%ld + %ld = %ld messages) although "
			 "bytes were left (%ld of %ld used)",
			 fc->qbytes, had, fc->qnum, fc->cbytes, n, fc->qnum, n, q, c, fc->qbytes);
	return text;
}

/* fill sent exactly what fits (each message SIZE bytes of its letter) and said how many. */
static void check_fill(const struct run_result *r, const struct fill_case *fc)
{
	struct calls snd = collect(r, "msgsnd");
	cr_assert(snd.n > 0, "`%s`: no msgsnd call%s (%s)", short_command(r), said(r), replay());
	long sent = (long)count_ok(&snd);
	for (size_t i = 0, k = 0; i < snd.n; i++) {
		const struct trace_call *c = snd.v[i];
		if (c->ret < 0)
			continue;
		char letter = (char)('a' + k % 26);
		bool same = c->shown == (size_t)(c->datalen < 1024 ? c->datalen : 1024);
		for (size_t j = 0; j < c->shown; j++)
			same &= c->data[j] == (unsigned char)letter;
		k++;
		check(c->datalen == fc->size && c->mtype == 1 && same,
		      "`%s`: message %zu was sent with mtype %ld as %ld bytes, expected mtype 1 "
		      "and %ld bytes, all '%c': message K is SIZE copies of 'a' + (K - 1) %% 26 "
		      "(%s)",
		      short_command(r), k, c->mtype, c->datalen, fc->size, letter, replay());
	}
	const struct trace_call *last = snd.v[snd.n - 1];
	cr_assert(
	    sent == fc->want, "`%s`: %ld messages went into the queue, but %ld fit: %s. %s (%s)",
	    short_command(r), sent, fc->want, fill_reason(fc),
	    sent < fc->want ? "Do not work the count out: send until msgsnd fails with EAGAIN" : "",
	    replay());
	cr_assert(last->ret < 0 && last->err == EAGAIN,
		  "`%s`: the last msgsnd %s; fill stops when msgsnd fails with EAGAIN (%s)",
		  short_command(r), last->ret < 0 ? "failed with another error" : "succeeded",
		  replay());

	char expected[96];
	snprintf(expected, sizeof expected, "sent %ld messages, %ld bytes\n", fc->want,
		 fc->want * fc->size);
	long n = -1, b = -1;
	int end = 0;
	if (strcmp(r->out, expected) &&
	    sscanf(r->out, "sent %ld messages, %ld bytes\n%n", &n, &b, &end) == 2 &&
	    end == (int)r->out_len) {
		const char *why = "";
		if (n == sent + 1)
			why =
			    ": that counts the msgsnd that failed with EAGAIN too; count a message "
			    "only once msgsnd has returned 0";
		else if (n == sent - 1)
			why = ": one too few; count every msgsnd that returned 0";
		else if (n == sent)
			why = ": B is N x SIZE, the bytes of mtext (mtype is not counted)";
		cr_assert_fail("`%s`: printed \"sent %ld messages, %ld bytes\", expected \"%.*s\" "
			       "(%ld messages were sent)%s (%s)",
			       short_command(r), n, b, (int)strlen(expected) - 1, expected, sent,
			       why, replay());
	}
	if (strcmp(r->out, expected) && strstr(r->out, " message,"))
		cr_assert_fail("`%s`: printed \"%.60s\", expected \"%.*s\": the line always says "
			       "\"messages\", also for 0 or 1 (%s)",
			       short_command(r), fatal_line(r->out), (int)strlen(expected) - 1,
			       expected, replay());
	expect_stdout(r, expected);
	expect_exit(r, 0);
	free(snd.v);
}

/* The bytes limit: messages of a random size into a queue with a random msg_qbytes. */
Test(lab, fill_bytes_limit, .timeout = 60)
{
	struct rng g = rng_for(1);
	struct fill_case fc;
	for (int tries = 0;; tries++) {
		cr_assert(tries < MAX_TRIES, "grader error: no suitable case");
		memset(&fc, 0, sizeof fc);
		fc.qbytes = between(&g, 500, 4000);
		fc.npre = (int)between(&g, 0, 3);
		for (int i = 0; i < fc.npre; i++) {
			fc.pre[i][0] = 1;
			fc.pre[i][1] = between(&g, 0, fc.qbytes / 8);
			fc.cbytes += fc.pre[i][1];
		}
		fc.qnum = fc.npre;
		fc.size = between(&g, fc.qbytes / 20 + 1, fc.qbytes / 3);
		fc.want = fill_prediction(fc.qbytes, fc.cbytes, fc.qnum, fc.size);
		/* bytes left over, but not enough for one more */
		if (fc.want >= 2 && (fc.qbytes - fc.cbytes) % fc.size != 0)
			break;
	}
	struct run_result r;
	run_fill(&fc, &r);
	check_fill(&r, &fc);
	run_free(&r);
}

/* The count limit: small or empty messages into a queue already holding many empty ones. */
Test(lab, fill_count_limit, .timeout = 60)
{
	struct rng g = rng_for(2);
	struct fill_case fc;
	for (int tries = 0;; tries++) {
		cr_assert(tries < MAX_TRIES, "grader error: no suitable case");
		memset(&fc, 0, sizeof fc);
		fc.qbytes = between(&g, 20, 150);
		fc.size = between(&g, 0, 2);
		long empty = between(&g, fc.qbytes / 2 + 2, fc.qbytes - 2);
		long small = between(&g, 0, 1);
		fc.pre[fc.npre][0] = empty;
		fc.pre[fc.npre++][1] = 0;
		if (small) {
			fc.pre[fc.npre][0] = 1;
			fc.pre[fc.npre++][1] = between(&g, 1, 3);
		}
		fc.qnum = empty + small;
		fc.cbytes = small ? fc.pre[1][1] : 0;
		fc.want = fill_prediction(fc.qbytes, fc.cbytes, fc.qnum, fc.size);
		/* the count is what stops it, with bytes to spare; the letters do not come round
		 * (fill_letters_wrap checks that) */
		if (fc.want >= 1 && fc.want <= 26 &&
		    fc.cbytes + (fc.want + 1) * fc.size <= fc.qbytes)
			break;
	}
	struct run_result r;
	run_fill(&fc, &r);
	check_fill(&r, &fc);
	run_free(&r);
}

/* A message bigger than msg_qbytes (but allowed by MSGMAX) never fits: EAGAIN at once. */
Test(lab, fill_too_big_for_queue, .timeout = 60)
{
	struct rng g = rng_for(4);
	struct fill_case fc;
	memset(&fc, 0, sizeof fc);
	fc.qbytes = between(&g, 100, 4000);
	fc.size = between(&g, fc.qbytes + 1,
			  2 * fc.qbytes < DEFAULT_MSGMAX ? 2 * fc.qbytes : DEFAULT_MSGMAX);
	fc.want = 0;
	struct run_result r;
	run_fill(&fc, &r);
	check_fill(&r, &fc);
	struct calls snd = collect(&r, "msgsnd");
	cr_expect(snd.n == 1, "`%s`: %zu msgsnd calls; one is enough: it fails with EAGAIN (%s)",
		  short_command(&r), snd.n, replay());
	free(snd.v);
	run_free(&r);
}

/* A new queue (fill creates it): every msgsnd has IPC_NOWAIT, and the first EAGAIN ends fill. */
Test(lab, fill_nowait_until_eagain, .timeout = 60)
{
	struct rng g = rng_for(3);
	char size_arg[24];
	snprintf(size_arg, sizeof size_arg, "%ld", between(&g, 700, 4000));
	use_other_keyfile(&g);
	const char *args[] = {"fill", keyfile, size_arg, NULL};
	struct run_result r;
	run_nowait(args, NULL, true, &r);

	unsigned key = made_file_key(&r, 'N');
	struct calls get = collect(&r, "msgget");
	const struct trace_call *created = NULL;
	for (size_t i = 0; i < get.n; i++)
		if (get.v[i]->ret >= 0 && (get.v[i]->flags & IPC_CREAT) && get.v[i]->key == key)
			created = get.v[i];
	cr_assert(created,
		  "`%s`: no successful msgget with IPC_CREAT and the key ftok(\"%s\", 'N') gives, "
		  "0x%08x%s: fill creates the queue of the KEYFILE it is given when there is none "
		  "(%s)",
		  short_command(&r), keyfile, key, said(&r), replay());
	cr_assert((created->flags & 0777) == 0600,
		  "`%s`: msgget was called with the permissions %04o; fill creates the queue with "
		  "IPC_CREAT | 0600: read and write for its owner only (%s)",
		  short_command(&r), (unsigned)created->flags & 0777, replay());
	struct calls snd = collect(&r, "msgsnd");
	cr_assert(snd.n > 0, "`%s`: no msgsnd call%s (%s)", short_command(&r), said(&r), replay());
	expect_nowait(&r, &snd, "msgsnd",
		      "once the queue is full, a msgsnd without it waits for room that never "
		      "comes, instead of failing with EAGAIN");
	expect_finished(&r);
	cr_assert(count_ok(&snd) > 0, "`%s`: no msgsnd succeeded%s (%s)", short_command(&r),
		  said(&r), replay());
	const struct trace_call *last = snd.v[snd.n - 1];
	cr_assert(last->ret < 0 && last->err == EAGAIN,
		  "`%s`: the last msgsnd %s%s; send until msgsnd fails with EAGAIN, the sign "
		  "that the queue is full (%s)",
		  short_command(&r), last->ret < 0 ? "failed with " : "succeeded",
		  last->ret < 0 ? err_name(last->err) : "", replay());
	for (size_t i = 0; i + 1 < snd.n; i++)
		check(snd.v[i]->ret == 0,
		      "`%s`: msgsnd call %zu failed with %s, and fill went on sending: the "
		      "first EAGAIN means full, stop there (%s)",
		      short_command(&r), i + 1, err_name(snd.v[i]->err), replay());
	expect_exit(&r, 0);
	free(get.v);
	free(snd.v);
	run_free(&r);
}

/* SIZE above MSGMAX: msgsnd fails with EINVAL, a real error, not a full queue. */
Test(lab, fill_size_above_msgmax, .timeout = 60)
{
	struct rng g = rng_for(5);
	long msgmax = sandbox_limit("msgmax", DEFAULT_MSGMAX);
	if (msgmax >= SIZE_MAX_ARG)
		skip_test("kernel.msgmax is 65536 or more on this machine: no SIZE is too big");
	char size_arg[24];
	/* Up to twice MSGMAX, within the default msg_qbytes: a message that the queue would hold
	 * (usage tries 65536, far above) */
	snprintf(size_arg, sizeof size_arg, "%ld",
		 between(&g, msgmax + 1, 2 * msgmax < SIZE_MAX_ARG ? 2 * msgmax : SIZE_MAX_ARG));
	const char *args[] = {"fill", keyfile, size_arg, NULL};
	struct run_result r;
	run_nowait(args, NULL, false, &r);
	struct calls snd = collect(&r, "msgsnd");
	cr_assert(snd.n > 0,
		  "`%s`: no msgsnd call%s: fill accepts SIZE up to 65536 and lets the kernel "
		  "refuse (%s)",
		  short_command(&r), said(&r), replay());
	const struct trace_call *last = snd.v[snd.n - 1];
	cr_assert(last->ret < 0 && last->err == EINVAL,
		  "`%s`: the last msgsnd %s %s; expected EINVAL: %s bytes is more than MSGMAX "
		  "(%ld) (%s)",
		  short_command(&r), last->ret < 0 ? "failed with" : "succeeded",
		  last->ret < 0 ? err_name(last->err) : "", size_arg, msgmax, replay());
	cr_expect(!has_line(&r, "sent "),
		  "`%s`: printed a \"sent\" line, although msgsnd failed with EINVAL: only EAGAIN "
		  "means the queue is full; any other error is reported with fail(\"msgsnd\") "
		  "(%s)",
		  short_command(&r), replay());
	expect_error_report(&r, "msgsnd", EINVAL, "msgsnd failed with EINVAL (message too big)");
	free(snd.v);
	run_free(&r);
}

/* SIZE of MSGMAX, in a queue with room for one such message: "sent 1 messages, ...". */
Test(lab, fill_msgmax_message, .timeout = 60)
{
	struct rng g = rng_for(13);
	long msgmax = sandbox_limit("msgmax", DEFAULT_MSGMAX);
	struct fill_case fc;
	memset(&fc, 0, sizeof fc);
	fc.size = msgmax < SIZE_MAX_ARG ? msgmax : SIZE_MAX_ARG;
	fc.qbytes = between(&g, fc.size, 2 * fc.size - 1);
	fc.want = 1;
	struct run_result r;
	run_fill(&fc, &r);
	check_fill(&r, &fc);
	run_free(&r);
}

/* More than 26 messages: after 'z' the letters start again at 'a'. */
Test(lab, fill_letters_wrap, .timeout = 60)
{
	struct rng g = rng_for(14);
	struct fill_case fc;
	memset(&fc, 0, sizeof fc);
	fc.size = between(&g, 1, 40);
	long n = between(&g, 27, 60);
	fc.qbytes = fc.size * n + between(&g, 0, fc.size - 1);
	fc.want = fill_prediction(fc.qbytes, 0, 0, fc.size);
	cr_assert(fc.want == n, "grader error: %ld messages of %ld bytes fit in %ld, not %ld",
		  fc.want, fc.size, fc.qbytes, n);
	struct run_result r;
	run_fill(&fc, &r);
	check_fill(&r, &fc);
	run_free(&r);
}

/* ---- drain ---- */

static void shell_quote(char *out, size_t size, const char *word)
{
	size_t k = 0;
	out[k++] = '\'';
	for (const char *c = word; *c && k + 6 < size; c++) {
		if (*c == '\'') {
			memcpy(out + k, "'\\''", 4);
			k += 4;
		} else {
			out[k++] = *c;
		}
	}
	out[k++] = '\'';
	out[k] = '\0';
}

/* Every msgrcv has IPC_NOWAIT; only the last one failed, with ENOMSG. */
static void expect_drained(const struct run_result *r, const struct calls *rcv)
{
	cr_assert(rcv->n > 0, "`%s`: no msgrcv call%s (%s)", short_command(r), said(r), replay());
	expect_nowait(r, rcv, "msgrcv",
		      "once the queue is empty, a msgrcv without it waits for a message that "
		      "never comes, instead of failing with ENOMSG");
	expect_finished(r);
	const struct trace_call *last = rcv->v[rcv->n - 1];
	cr_assert(last->ret < 0 && last->err == ENOMSG,
		  "`%s`: the last msgrcv %s%s; drain receives until msgrcv fails with ENOMSG, "
		  "the sign that the queue is empty (%s)",
		  short_command(r), last->ret < 0 ? "failed with " : "returned a message",
		  last->ret < 0 ? err_name(last->err) : "", replay());
	for (size_t i = 0; i + 1 < rcv->n; i++)
		check(rcv->v[i]->ret >= 0,
		      "`%s`: msgrcv call %zu failed with %s, and drain went on: the first "
		      "ENOMSG means empty, stop there (%s)",
		      short_command(r), i + 1, err_name(rcv->v[i]->err), replay());
}

/* Random typed messages, one of them empty: each printed as TYPE TEXT, then the count. */
Test(lab, drain_prints_all, .timeout = 60)
{
	struct rng g = rng_for(6);
	use_other_keyfile(&g);
	int n = (int)between(&g, 4, 12), blank = (int)between(&g, 0, n - 1);
	char setup[4096], expected[4096], text[64], arg[160];
	int k = snprintf(setup, sizeof setup, "{tools}/mkqueue");
	int e = 0;
	long bytes = 0;
	for (int i = 0; i < n; i++) {
		long type = between(&g, 1, 999);
		if (i == blank)
			text[0] = '\0';
		else
			random_text(&g, i + 1, text, sizeof text);
		char spec[96];
		snprintf(spec, sizeof spec, "%ld:%s", type, text);
		shell_quote(arg, sizeof arg, spec);
		k += snprintf(setup + k, sizeof setup - (size_t)k, " -t %s", arg);
		e += snprintf(expected + e, sizeof expected - (size_t)e, "%ld %s\n", type, text);
		bytes += (long)strlen(text);
	}
	snprintf(setup + k, sizeof setup - (size_t)k, " %s", keyfile);
	snprintf(expected + e, sizeof expected - (size_t)e, "drained %d messages, %ld bytes\n", n,
		 bytes);

	const char *args[] = {"drain", keyfile, NULL};
	struct run_result r;
	run_nowait(args, setup, true, &r);
	struct calls rcv = collect(&r, "msgrcv");
	expect_drained(&r, &rcv);
	expect_stdout(&r, expected);
	expect_exit(&r, 0);
	free(rcv.v);
	run_free(&r);

	/* An empty queue is not an error: the first msgrcv says ENOMSG. */
	snprintf(setup, sizeof setup, "{tools}/mkqueue %s", keyfile);
	run_nowait(args, setup, true, &r);
	rcv = collect(&r, "msgrcv");
	expect_drained(&r, &rcv);
	expect_stdout(&r, "drained 0 messages, 0 bytes\n");
	expect_exit(&r, 0);
	free(rcv.v);
	run_free(&r);
}

/* A message of MSGMAX bytes, the largest the kernel allows, then a short one: both printed
 * whole. */
Test(lab, drain_msgmax_message, .timeout = 60)
{
	struct rng g = rng_for(15);
	long msgmax = sandbox_limit("msgmax", DEFAULT_MSGMAX);
	if (msgmax > 8192)
		msgmax = 8192; /* the contract's limit: TEXT_MAX */
	char text[64], spec[96], arg[160], setup[512];
	long type = between(&g, 1, 999);
	random_text(&g, 2, text, sizeof text);
	snprintf(spec, sizeof spec, "%ld:%s", type, text);
	shell_quote(arg, sizeof arg, spec);
	snprintf(setup, sizeof setup, "{tools}/mkqueue -n 1:%ld -t %s %s", msgmax, arg, keyfile);
	size_t size = (size_t)msgmax + 256;
	char *expected = malloc(size);
	cr_assert(expected, "grader error: out of memory");
	int e = snprintf(expected, size, "9 ");
	memset(expected + e, 'z', (size_t)msgmax);
	e += (int)msgmax;
	snprintf(expected + e, size - (size_t)e, "\n%ld %s\ndrained 2 messages, %ld bytes\n", type,
		 text, msgmax + (long)strlen(text));

	const char *args[] = {"drain", keyfile, NULL};
	struct run_result r;
	run_nowait(args, setup, true, &r);
	struct calls rcv = collect(&r, "msgrcv");
	cr_assert(rcv.n > 0, "`%s`: no msgrcv call%s (%s)", short_command(&r), said(&r), replay());
	if (rcv.v[0]->ret < 0)
		cr_assert_fail("`%s`: the first msgrcv, with a msgsz of %ld, failed with %s%s: the "
			       "first message is %ld bytes long (MSGMAX); receive into a buffer of "
			       "TEXT_MAX (8192) bytes and pass its size, sizeof msg.mtext (%s)",
			       short_command(&r), rcv.v[0]->msgsz, err_name(rcv.v[0]->err),
			       said(&r), msgmax, replay());
	expect_drained(&r, &rcv);
	expect_stdout(&r, expected);
	expect_exit(&r, 0);
	free(expected);
	free(rcv.v);
	run_free(&r);
}

/* A queue the program may not read: msgrcv fails with EACCES, which does not mean empty. */
Test(lab, drain_unreadable_queue, .timeout = 60)
{
	struct rng g = rng_for(7);
	char text[64], spec[96], arg[160], setup[512];
	random_text(&g, 1, text, sizeof text);
	snprintf(spec, sizeof spec, "%ld:%s", between(&g, 1, 99), text);
	shell_quote(arg, sizeof arg, spec);
	snprintf(setup, sizeof setup, "{tools}/mkqueue -t %s -m 200 %s", arg, KEYFILE);
	const char *args[] = {"drain", keyfile, NULL};
	struct run_result r;
	run_nowait(args, setup, false, &r);
	struct calls rcv = collect(&r, "msgrcv");
	cr_assert(rcv.n > 0, "`%s`: no msgrcv call%s (%s)", short_command(&r), said(&r), replay());
	const struct trace_call *last = rcv.v[rcv.n - 1];
	cr_assert(last->ret < 0 && last->err == EACCES,
		  "`%s`: the queue's mode is 0200 (write only), so msgrcv must fail with EACCES; "
		  "the last msgrcv %s%s (%s)",
		  short_command(&r), last->ret < 0 ? "failed with " : "succeeded",
		  last->ret < 0 ? err_name(last->err) : "", replay());
	cr_expect(!has_line(&r, "drained "),
		  "`%s`: printed a \"drained\" line, although msgrcv failed with EACCES: only "
		  "ENOMSG means the queue is empty; any other error is reported with "
		  "fail(\"msgrcv\") (%s)",
		  short_command(&r), replay());
	expect_error_report(&r, "msgrcv", EACCES, "msgrcv failed with EACCES (no read permission)");
	free(rcv.v);
	run_free(&r);
}

/* ---- poll ---- */

struct timed_message {
	long at_ms, type;
	char text[64];
};

/* A set-up command, built piece by piece. */
struct setup {
	char s[4096];
	size_t n;
};

__attribute__((format(printf, 2, 3))) static void setup_add(struct setup *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(st->s + st->n, sizeof st->s - st->n, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < sizeof st->s - st->n, "grader error: set-up too long");
	st->n += (size_t)n;
}

/* "{tools}/mkqueue [-t 'TYPE:TEXT']... KEYFILE": the queue, holding these messages first. */
static void setup_queue(struct setup *st, const struct timed_message *queued, int n)
{
	setup_add(st, "{tools}/mkqueue");
	for (int i = 0; i < n; i++) {
		char spec[96], arg[160];
		snprintf(spec, sizeof spec, "%ld:%s", queued[i].type, queued[i].text);
		shell_quote(arg, sizeof arg, spec);
		setup_add(st, " -t %s", arg);
	}
	setup_add(st, " %s", keyfile);
}

/* Then `later`, its actions timed from the program's start (-w), not the set-up's; each
 * "MS:received" action restarts its clock when the program has received what was queued. */
static void setup_later(struct setup *st)
{
	setup_add(st, " && {tools}/later -w nowait %s", keyfile);
}

static void setup_send(struct setup *st, const struct timed_message *m)
{
	char spec[128], arg[200];
	snprintf(spec, sizeof spec, "%ld:send:%ld:%s", m->at_ms, m->type, m->text);
	shell_quote(arg, sizeof arg, spec);
	setup_add(st, " %s", arg);
}

static void random_message(struct rng *g, int number, struct timed_message *m)
{
	m->type = between(g, 1, 99);
	random_text(g, number, m->text, sizeof m->text);
}

static void run_poll(const char *setup, long count, long ms, bool allow_failure,
		     struct run_result *r)
{
	char count_arg[24], ms_arg[24];
	snprintf(count_arg, sizeof count_arg, "%ld", count);
	snprintf(ms_arg, sizeof ms_arg, "%ld", ms);
	const char *args[] = {"poll", keyfile, count_arg, ms_arg, NULL};
	run_nowait(args, setup, allow_failure, r);
}

/* stdout without the "empty try" lines. malloc'd. */
static char *without_ticks(const char *out)
{
	char *text = malloc(strlen(out) + 1);
	cr_assert(text, "grader error: out of memory");
	size_t k = 0;
	for (const char *p = out; *p;) {
		size_t len = strcspn(p, "\n");
		if (strncmp(p, TICK_PREFIX, strlen(TICK_PREFIX))) {
			memcpy(text + k, p, len);
			k += len;
			if (p[len] == '\n')
				text[k++] = '\n';
		}
		p += len + (p[len] == '\n');
	}
	text[k] = '\0';
	return text;
}

/* Leaving out the "empty try" lines, stdout is expected; else fail naming the first line that
 * differs, with why. */
static void expect_messages(const struct run_result *r, const char *expected, const char *why)
{
	char *actual = without_ticks(r->out);
	if (strcmp(actual, expected)) {
		keep_comparison(r, expected, actual);
		size_t na, ne;
		char **al = text_lines(actual, "", &na), **el = text_lines(expected, "", &ne);
		size_t i = 0;
		while (i < na && i < ne && !strcmp(al[i], el[i]))
			i++;
		cr_expect_fail("`%s`: leaving out the \"empty try\" lines, line %zu is %s%.80s%s, "
			       "expected %s%.80s%s: %s (%s)",
			       short_command(r), i + 1, i < na ? "`" : "",
			       i < na ? al[i] : "nothing", i < na ? "`" : "", i < ne ? "`" : "",
			       i < ne ? el[i] : "the end of the output", i < ne ? "`" : "", why,
			       replay());
		free_lines(al);
		free_lines(el);
	}
	free(actual);
}

/* Messages arrive while poll waits, two at once among them: all printed, in order, then done. */
Test(lab, poll_late_messages, .timeout = 60)
{
	struct rng g = rng_for(8);
	struct timed_message m[8];
	memset(m, 0, sizeof m);
	int n = (int)between(&g, 3, 5);
	for (int i = 0; i < n; i++) {
		m[i].at_ms = between(&g, 10, 100);
		random_message(&g, i + 1, &m[i]);
	}
	for (int i = 1; i < n; i++) /* in time order (insertion sort) */
		for (int j = i; j > 0 && m[j].at_ms < m[j - 1].at_ms; j--) {
			struct timed_message t = m[j];
			m[j] = m[j - 1];
			m[j - 1] = t;
		}
	int burst = (int)between(&g, 1, n - 1);
	m[burst].at_ms = m[burst - 1].at_ms; /* sent together: the second must come at once */
	struct setup st = {.n = 0};
	setup_queue(&st, NULL, 0);
	setup_later(&st);
	for (int i = 0; i < n; i++)
		setup_send(&st, &m[i]);
	char expected[1024];
	int e = 0;
	for (int i = 0; i < n; i++)
		e += snprintf(expected + e, sizeof expected - (size_t)e, "%ld %s\n", m[i].type,
			      m[i].text);
	snprintf(expected + e, sizeof expected - (size_t)e, "received %d messages\n", n);

	struct run_result r;
	run_poll(st.s, n, 2000, false, &r);
	cr_assert(count_calls(&r, "msgrcv", 0) > 0, "`%s`: no msgrcv call%s (%s)",
		  short_command(&r), said(&r), replay());
	expect_messages(&r, expected,
			"each message as TYPE TEXT when it comes, then \"received COUNT "
			"messages\"");
	expect_exit(&r, 0);
	run_free(&r);
}

/* The latest a try came after its sleep should have ended, in ms: how much later than asked
 * this machine, as loaded as it is now, lets the program run again. */
static double lateness(const struct calls *rcv)
{
	double worst = 0;
	long delay = 1;
	for (size_t i = 0; i + 1 < rcv->n; i++) {
		if (rcv->v[i]->ret >= 0) {
			delay = 1;
			continue;
		}
		double gap = (double)(started_us(rcv->v[i + 1]) - rcv->v[i]->t_us) / 1000;
		if (gap - (double)delay > worst && gap <= (double)delay + WAY_LATE_MS)
			worst = gap - (double)delay;
		delay = delay * 2 > MAX_DELAY_MS ? MAX_DELAY_MS : delay * 2;
	}
	return worst;
}

/*
 * A message is queued first; once poll has received it (an event of the program's own, so
 * whatever the machine's load), one more comes after 300-340 ms and another 110-130 ms after
 * that. The trace must show the back-off: each empty try followed by a sleep of 1, 2, 4 ... 64,
 * 64 ... ms, back to 1 after a message, and one "empty try K: sleeping D ms" line for each.
 */
Test(lab, poll_backs_off, .timeout = 60)
{
	struct rng g = rng_for(9);
	struct timed_message first, m[2];
	random_message(&g, 1, &first);
	/* Eight empty tries after the first message take 127 ms at least, so by the next message
	 * the sleeps have reached 64 ms (and a sleep without a cap, 128 and 256 ms). poll gets it at
	 * most 64 ms late; the last comes well after that, so that the sleeps after a message show
	 * too. */
	m[0].at_ms = between(&g, 300, 340);
	m[1].at_ms = m[0].at_ms + MAX_DELAY_MS + between(&g, 45, 65);
	for (int i = 0; i < 2; i++)
		random_message(&g, i + 2, &m[i]);
	struct setup st = {.n = 0};
	setup_queue(&st, &first, 1);
	setup_later(&st);
	setup_add(&st, " 0:received");
	for (int i = 0; i < 2; i++)
		setup_send(&st, &m[i]);
	struct run_result r;
	run_poll(st.s, 3, 3000, false, &r);

	struct calls rcv = collect(&r, "msgrcv");
	cr_assert(rcv.n > 0, "`%s`: no msgrcv call%s (%s)", short_command(&r), said(&r), replay());
	expect_nowait(&r, &rcv, "msgrcv",
		      "poll must never wait in the kernel; it sleeps between tries itself");
	long delay = 1, empty = 0;
	for (size_t i = 0; i + 1 < rcv.n; i++) {
		const struct trace_call *c = rcv.v[i];
		if (c->ret >= 0) {
			delay = 1;
			continue;
		}
		check(c->err == ENOMSG,
		      "`%s`: msgrcv call %zu failed with %s; on this queue only ENOMSG was "
		      "expected (%s)",
		      short_command(&r), i + 1, err_name(c->err), replay());
		empty++;
		double gap = (double)(started_us(rcv.v[i + 1]) - c->t_us) / 1000;
		check(gap >= (double)delay - 0.05,
		      "`%s`: msgrcv call %zu came %.2f ms after call %zu found the queue empty; "
		      "the back-off asks for a sleep of %ld ms there: 1 ms after the first empty "
		      "try, doubled after each further one up to 64 ms, and 1 ms again after a "
		      "message (%s)",
		      short_command(&r), i + 2, gap, i + 1, delay, replay());
		check(gap <= (double)(delay + WAY_LATE_MS),
		      "`%s`: msgrcv call %zu came %.0f ms after call %zu found the queue empty; "
		      "the back-off asks for a sleep of %ld ms there (sleep_ms takes "
		      "milliseconds) (%s)",
		      short_command(&r), i + 2, gap, i + 1, delay, replay());
		delay = delay * 2 > MAX_DELAY_MS ? MAX_DELAY_MS : delay * 2;
	}
	cr_assert(empty > 0,
		  "`%s`: no msgrcv found the queue empty, although the second message came only "
		  "%ld ms after the first was received (%s)",
		  short_command(&r), m[0].at_ms, replay());

	size_t nticks;
	char **ticks = text_lines(r.out, TICK_PREFIX, &nticks);
	cr_assert(nticks == (size_t)empty,
		  "`%s`: %zu \"empty try\" lines for %ld tries that found the queue empty: after "
		  "each of them, and only then, call other_work once before sleeping; after a "
		  "message, try again at once (%s)",
		  short_command(&r), nticks, empty, replay());
	delay = 1;
	for (size_t i = 0, k = 0; i + 1 < rcv.n; i++) {
		if (rcv.v[i]->ret >= 0) {
			delay = 1;
			continue;
		}
		char want[64];
		snprintf(want, sizeof want, "%zu: sleeping %ld ms", k + 1, delay);
		const char *why = "K counts the empty tries from 1, over the whole run";
		long said_delay;
		if (sscanf(ticks[k], "%*d: sleeping %ld ms", &said_delay) == 1 &&
		    said_delay != delay)
			why = said_delay > MAX_DELAY_MS
				  ? "the sleep doubles up to 64 ms and then stays at 64 ms"
			      : delay == 1 && k > 0 && rcv.v[i - 1]->ret >= 0
				  ? "after a message, the sleep goes back to 1 ms"
				  : "the sleep starts at 1 ms and doubles after each empty try";
		check(!strcmp(ticks[k], want),
		      "`%s`: \"empty try\" line %zu is `" TICK_PREFIX
		      "%.60s`, expected `" TICK_PREFIX "%s`: %s (%s)",
		      short_command(&r), k + 1, ticks[k], want, why, replay());
		k++;
		delay = delay * 2 > MAX_DELAY_MS ? MAX_DELAY_MS : delay * 2;
	}
	free_lines(ticks);
	free(rcv.v);
	run_free(&r);
}

/* One or two messages are there, then nothing more: poll gives up once MS ms have passed, not
 * much later, with "received K of COUNT" and status 3. */
Test(lab, poll_gives_up, .timeout = 60)
{
	struct rng g = rng_for(10);
	/* Sleeps without a cap put tries at 127 and 255 ms: with MS from 130 to 200 that bug still
	 * gives up in time here, and costs poll_backs_off only. */
	int got = (int)between(&g, 1, 2);
	long count = got + between(&g, 1, 2), ms = between(&g, 130, 200);
	struct timed_message queued[2];
	struct setup st = {.n = 0};
	char expected[512];
	int e = 0;
	for (int i = 0; i < got; i++) {
		random_message(&g, i + 1, &queued[i]);
		e += snprintf(expected + e, sizeof expected - (size_t)e, "%ld %s\n", queued[i].type,
			      queued[i].text);
	}
	snprintf(expected + e, sizeof expected - (size_t)e,
		 "gave up after %ld ms: received %d of %ld messages\n", ms, got, count);
	setup_queue(&st, queued, got);
	struct run_result r;
	run_poll(st.s, count, ms, false, &r);

	struct calls rcv = collect(&r, "msgrcv");
	cr_assert(rcv.n > 0, "`%s`: no msgrcv call%s (%s)", short_command(&r), said(&r), replay());
	for (size_t i = 0; i < rcv.n; i++) {
		bool ok = (long)i < got ? rcv.v[i]->ret >= 0
					: rcv.v[i]->ret < 0 && rcv.v[i]->err == ENOMSG;
		check(ok,
		      "`%s`: msgrcv call %zu %s%s; the queue held %d messages and nothing more "
		      "came, so only the first %d calls could succeed and the others fail with "
		      "ENOMSG (%s)",
		      short_command(&r), i + 1, rcv.v[i]->ret < 0 ? "failed with " : "succeeded",
		      rcv.v[i]->ret < 0 ? err_name(rcv.v[i]->err) : "", got, got, replay());
	}
	size_t n;
	char **lines = text_lines(r.out, "", &n);
	char want[128];
	snprintf(want, sizeof want, "gave up after %ld ms: received %d of %ld messages", ms, got,
		 count);
	cr_assert(n > 0 && !strcmp(lines[n - 1], want),
		  "`%s`: the last line is %s%.80s%s, expected `%s`: K is the number of messages "
		  "received, COUNT the number asked for%s (%s)",
		  short_command(&r), n ? "`" : "", n ? lines[n - 1] : "missing", n ? "`" : "", want,
		  r.truncated ? "; the output was cut at 1 MiB: poll printed far too much, it "
				"must sleep between tries"
			      : "",
		  replay());
	free_lines(lines);
	expect_messages(&r, expected,
			"each message as TYPE TEXT, then, at the deadline, the \"gave up\" line");
	/* The program gives up after a try that finds the queue empty once MS have passed since
	 * it noted its start, which it cannot do before its execve ended: so its last try starts
	 * MS after that at least, however long the machine kept it from running before its first
	 * try (1 ms for the program's rounding to whole milliseconds). */
	cr_assert(r.exec_us > 0, "grader error: the call record has no execve for `%s` (%s)",
		  short_command(&r), replay());
	double since_exec = (double)(started_us(rcv.v[rcv.n - 1]) - r.exec_us) / 1000;
	cr_assert(since_exec >= (double)ms - 1,
		  "`%s`: the last msgrcv came %.0f ms after the program started, before the "
		  "deadline of %ld ms: give up only after a try that finds the queue empty once MS "
		  "ms have passed since poll started, measured with elapsed_ms (%s)",
		  short_command(&r), since_exec, ms, replay());
	double span = (double)(rcv.v[rcv.n - 1]->t_us - started_us(rcv.v[0])) / 1000;
	double late = lateness(&rcv);
	cr_assert(span <= (double)ms + MAX_DELAY_MS + LATE_SLACK_MS + late,
		  "`%s`: the last msgrcv came %.0f ms after the first, far past the deadline of "
		  "%ld ms: with sleeps of at most 64 ms, the try after the deadline comes at "
		  "most 64 ms late (%s)",
		  short_command(&r), span, ms, replay());
	expect_exit(&r, EXIT_GAVE_UP);
	free(rcv.v);
	run_free(&r);
}

/* More messages than COUNT are queued: poll takes COUNT of them and stops, leaving the rest. */
Test(lab, poll_stops_at_count, .timeout = 60)
{
	struct rng g = rng_for(16);
	int count = (int)between(&g, 1, 4), extra = (int)between(&g, 1, 3);
	struct timed_message queued[8];
	char expected[1024];
	int e = 0;
	for (int i = 0; i < count + extra; i++) {
		random_message(&g, i + 1, &queued[i]);
		if (i < count)
			e += snprintf(expected + e, sizeof expected - (size_t)e, "%ld %s\n",
				      queued[i].type, queued[i].text);
	}
	snprintf(expected + e, sizeof expected - (size_t)e, "received %d messages\n", count);
	struct setup st = {.n = 0};
	setup_queue(&st, queued, count + extra);
	struct run_result r;
	run_poll(st.s, count, 1000, false, &r);

	struct calls rcv = collect(&r, "msgrcv");
	cr_assert(rcv.n > 0, "`%s`: no msgrcv call%s (%s)", short_command(&r), said(&r), replay());
	size_t ok = count_ok(&rcv);
	cr_expect(ok == (size_t)count && rcv.n == (size_t)count,
		  "`%s`: %zu msgrcv calls, %zu of them received a message; COUNT is %d and %d "
		  "messages were queued: poll receives COUNT messages and stops there, with no "
		  "msgrcv after the COUNT-th message (%s)",
		  short_command(&r), rcv.n, ok, count, count + extra, replay());
	expect_messages(&r, expected,
			"poll prints the COUNT messages it receives, then \"received COUNT "
			"messages\", and leaves the others in the queue");
	long left = r.nqueues == 1 ? r.queues[0].qnum : -1;
	cr_expect(left == extra,
		  "`%s`: the queue holds %ld messages after poll, expected %d: poll takes COUNT "
		  "messages, no more (%s)",
		  short_command(&r), left, extra, replay());
	expect_exit(&r, 0);
	free(rcv.v);
	run_free(&r);
}

/* The queue is removed while poll waits: EINVAL (or EIDRM) ends it with status 1 at once. The
 * removal comes 20-60 ms after poll has received a first message, so whatever the machine's
 * load, poll has met the queue and found it empty before it goes. */
Test(lab, poll_queue_removed, .timeout = 60)
{
	struct rng g = rng_for(11);
	struct timed_message m = {.at_ms = between(&g, 5, 30)};
	random_message(&g, 1, &m);
	long rm_after = between(&g, 20, 60);
	struct setup st = {.n = 0};
	setup_queue(&st, NULL, 0);
	setup_later(&st);
	setup_send(&st, &m);
	setup_add(&st, " 0:received %ld:rm", rm_after);
	struct run_result r;
	run_poll(st.s, 3, 1000, false, &r);

	struct calls rcv = collect(&r, "msgrcv");
	cr_assert(rcv.n > 0, "`%s`: no msgrcv call%s (%s)", short_command(&r), said(&r), replay());
	size_t bad = 0;
	while (bad < rcv.n && (rcv.v[bad]->ret >= 0 || rcv.v[bad]->err == ENOMSG))
		bad++;
	cr_assert(count_ok(&rcv) > 0,
		  "`%s`: no msgrcv received the message sent %ld ms after poll started (the set-up "
		  "removes the queue once poll has received it): poll tries msgrcv with msgtyp 0 "
		  "until COUNT messages came; it ended with status %d%s (%s)",
		  short_command(&r), m.at_ms, r.exit_code, said(&r), replay());
	cr_assert(bad < rcv.n,
		  "`%s`: no msgrcv failed with anything but ENOMSG, although the queue was removed "
		  "about %ld ms after poll received its first message; poll ended first, with "
		  "status %d%s (%s)",
		  short_command(&r), rm_after, r.exit_code, said(&r), replay());
	int err = rcv.v[bad]->err;
	cr_assert(bad + 1 == rcv.n,
		  "`%s`: msgrcv call %zu failed with %s (the queue was removed), and poll tried "
		  "%zu more times: only ENOMSG means empty; any other error ends poll with "
		  "fail(\"msgrcv\") (%s)",
		  short_command(&r), bad + 1, err_name(err), rcv.n - bad - 1, replay());
	cr_expect(!has_line(&r, "gave up"),
		  "`%s`: printed a \"gave up\" line, although msgrcv failed with %s: the queue is "
		  "gone, which is an error, not a timeout (%s)",
		  short_command(&r), err_name(err), replay());
	char line[128];
	snprintf(line, sizeof line, "%ld %s", m.type, m.text);
	cr_expect(has_line(&r, line),
		  "`%s`: stdout does not have the line `%s`, the message poll received before the "
		  "queue was removed: what was printed before a failure stays printed; end with "
		  "fail(\"msgrcv\"), whose exit() writes out what printf buffered (_exit and "
		  "abort do not) (%s)",
		  short_command(&r), line, replay());
	expect_error_report(&r, "msgrcv", err, "msgrcv failed because the queue was removed");
	free(rcv.v);
	run_free(&r);
}

/* ---- keys and removal ---- */

/* A KEYFILE that does not exist: ftok fails with ENOENT, and no queue is touched. */
Test(lab, bad_key_file, .timeout = 60)
{
	static const char *const cases[][5] = {{"fill", "missing-key", "100", NULL},
					       {"drain", "missing-key", NULL},
					       {"poll", "missing-key", "1", "100", NULL},
					       {"remove", "missing-key", NULL}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct run_result r;
		run_nowait(cases[i], NULL, false, &r);
		cr_assert(count_calls(&r, "msgget", 0) == 0,
			  "`%s`: msgget was called, although missing-key does not exist: check "
			  "ftok's result; -1 is not a key to use (%s)",
			  short_command(&r), replay());
		char want[96];
		snprintf(want, sizeof want, "nowait: ftok: %s", strerror(ENOENT));
		cr_assert(r.exit_code == 1 && !strcmp(fatal_line(r.err), want),
			  "`%s`: exited with status %d and stderr \"%s\"; expected status 1 and "
			  "\"nowait: ftok: %s\": ftok fails with ENOENT when KEYFILE does not "
			  "exist (%s)",
			  short_command(&r), r.exit_code, fatal_line(r.err), strerror(ENOENT),
			  replay());
		run_free(&r);
	}
}

/* KEYFILE exists but no queue has its key: drain, poll and remove open the queue with
 * msgget(key, 0), which fails with ENOENT; none of them creates a queue. */
Test(lab, no_queue, .timeout = 60)
{
	struct rng g = rng_for(17);
	use_other_keyfile(&g);
	const char *const cases[][5] = {{"drain", keyfile, NULL},
					{"poll", keyfile, "1", "100", NULL},
					{"remove", keyfile, NULL}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct run_result r;
		run_nowait(cases[i], NULL, false, &r);
		for (int q = 0; q < r.nqueues; q++)
			cr_assert_fail(
			    "`%s`: left a queue (id %d, key 0x%08x) behind: %s opens the "
			    "queue that is there with msgget(key, 0), and never creates "
			    "one (only fill passes IPC_CREAT) (%s)",
			    short_command(&r), r.queues[q].msqid, r.queues[q].key, cases[i][0],
			    replay());
		struct calls get = collect(&r, "msgget");
		cr_assert(get.n > 0 && get.v[get.n - 1]->ret < 0 && get.v[get.n - 1]->err == ENOENT,
			  "`%s`: expected a msgget that fails with ENOENT, there being no queue "
			  "for the key%s (%s)",
			  short_command(&r), said(&r), replay());
		char want[96];
		snprintf(want, sizeof want, "nowait: msgget: %s", strerror(ENOENT));
		cr_assert(r.exit_code == 1 && !strcmp(fatal_line(r.err), want),
			  "`%s`: exited with status %d and stderr `%s`; expected status 1 and "
			  "`%s`: when msgget fails, fail(\"msgget\") (%s)",
			  short_command(&r), r.exit_code, fatal_line(r.err), want, replay());
		cr_assert(!*r.out, "`%s`: printed `%s` on stdout, although msgget failed (%s)",
			  short_command(&r), fatal_line(r.out), replay());
		free(get.v);
		run_free(&r);
	}
}

/* Bad command lines: the usage line on stderr, status 2, nothing else done; the largest
 * valid SIZE, COUNT and MS are not usage errors. */
Test(lab, usage, .timeout = 60)
{
	static const char *const bad[][6] = {
	    {NULL},
	    {"fill", KEYFILE, NULL},
	    {"fill", KEYFILE, "-1", NULL},
	    {"fill", KEYFILE, "65537", NULL},
	    {"fill", KEYFILE, "12x", NULL},
	    {"drain", KEYFILE, "extra", NULL},
	    {"poll", KEYFILE, "0", "100", NULL},
	    {"poll", KEYFILE, "1", "0", NULL},
	    {"poll", KEYFILE, "1", "3600001", NULL},
	    {"remove", NULL},
	    {"frob", KEYFILE, NULL},
	};
	static const char usage_line[] = "usage: nowait fill KEYFILE SIZE | nowait drain KEYFILE | "
					 "nowait poll KEYFILE COUNT MS | nowait remove KEYFILE";
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct run_result r;
		run_nowait(bad[i], NULL, false, &r);
		cr_assert(r.exit_code == 2 && !strcmp(fatal_line(r.err), usage_line),
			  "`%s`: exited with status %d and stderr `%s`; expected status 2 and the "
			  "usage line: the command line is not valid (SIZE 0 to 65536, COUNT 1 to "
			  "1000000, MS 1 to 3600000, digits only), and the given main says so",
			  short_command(&r), r.exit_code, fatal_line(r.err));
		cr_assert(!*r.out && count_calls(&r, "msgget", 0) == 0,
			  "`%s`: a usage error prints nothing on stdout and touches no queue",
			  short_command(&r));
		run_free(&r);
	}
	/* Valid: the largest COUNT and MS, and a SIZE the kernel refuses (above MSGMAX), are not
	 * usage errors: the call fails with its own error. */
	static const char *const good[][6] = {{"poll", KEYFILE, "1000000", "3600000", NULL},
					      {"fill", KEYFILE, "65536", NULL}};
	const char *const fails[][2] = {{"msgget", "there is no queue for the key"},
					{"msgsnd", "65536 bytes is above MSGMAX"}};
	const int errors[] = {ENOENT, EINVAL};
	size_t ngood = sandbox_limit("msgmax", DEFAULT_MSGMAX) < SIZE_MAX_ARG ? 2 : 1;
	for (size_t i = 0; i < ngood; i++) {
		struct run_result r;
		run_nowait(good[i], NULL, false, &r);
		char want[96];
		snprintf(want, sizeof want, "nowait: %s: %s", fails[i][0], strerror(errors[i]));
		cr_assert(r.exit_code == 1 && !strcmp(fatal_line(r.err), want),
			  "`%s`: exited with status %d%s; expected status 1 and `%s`: the command "
			  "line is valid (%s), so no usage error, and %s fails: %s (%s)",
			  short_command(&r), r.exit_code, said(&r), want,
			  i ? "SIZE may be up to 65536" : "COUNT up to 1000000, MS up to 3600000",
			  fails[i][0], fails[i][1], replay());
		run_free(&r);
	}
}

/* remove takes the queue of the key away, messages and all. */
Test(lab, remove_queue, .timeout = 60)
{
	struct rng g = rng_for(12);
	use_other_keyfile(&g);
	char setup[256];
	snprintf(setup, sizeof setup, "{tools}/mkqueue -n %ld:%ld %s", between(&g, 1, 5),
		 between(&g, 0, 100), keyfile);
	const char *args[] = {"remove", keyfile, NULL};
	struct run_result r;
	run_nowait(args, setup, false, &r);
	int id = atoi(r.setup_output);
	struct calls ctl = collect(&r, "msgctl");
	const struct trace_call *rm = NULL;
	for (size_t i = 0; i < ctl.n; i++)
		if (ctl.v[i]->cmd == IPC_RMID && ctl.v[i]->ret == 0)
			rm = ctl.v[i];
	cr_assert(rm, "`%s`: no successful msgctl(IPC_RMID)%s (%s)", short_command(&r), said(&r),
		  replay());
	cr_assert(rm->msqid == id,
		  "`%s`: removed queue %d, but the queue of ftok(KEYFILE, 'N') was %d: open it "
		  "with msgget(key, 0) (%s)",
		  short_command(&r), rm->msqid, id, replay());
	for (int i = 0; i < r.nqueues; i++)
		cr_assert_fail("`%s`: queue %d (%ld messages) was left (%s)", short_command(&r),
			       r.queues[i].msqid, r.queues[i].qnum, replay());
	expect_stdout(&r, "removed queue <id>\n");
	expect_exit(&r, 0);
	free(ctl.v);
	run_free(&r);
}

/* remove by a user who neither owns nor created the queue: IPC_RMID fails with EPERM, which is
 * an error: status 1, no "removed" line, and the queue stays. */
Test(lab, remove_not_owner, .timeout = 60)
{
	struct rng g = rng_for(18);
	char setup[256];
	snprintf(setup, sizeof setup, "{tools}/mkqueue -n %ld:%ld -m 666 %s", between(&g, 1, 5),
		 between(&g, 0, 100), keyfile);
	const char *args[] = {"remove", keyfile, NULL};
	struct run_result r;
	run_student(
	    &(struct run_spec){
		.args = args, .setup = setup, .make_file = keyfile, .other_user = true},
	    &r);
	struct calls ctl = collect(&r, "msgctl");
	const struct trace_call *rm = NULL;
	for (size_t i = 0; i < ctl.n; i++)
		if (ctl.v[i]->cmd == IPC_RMID)
			rm = ctl.v[i];
	cr_assert(rm, "`%s`: no msgctl(IPC_RMID)%s (%s)", short_command(&r), said(&r), replay());
	cr_assert(rm->ret < 0, "grader error: another user than the owner removed the queue");
	cr_assert(
	    rm->err == EPERM,
	    "`%s`: msgctl(%d, IPC_RMID, NULL) failed with %s; expected EPERM, the queue being "
	    "another user's: open it with msgget(key, 0) and pass the id msgget returned (%s)",
	    short_command(&r), rm->msqid, err_name(rm->err), replay());
	cr_expect(!has_line(&r, "removed "),
		  "`%s`: printed a \"removed\" line, although msgctl(IPC_RMID) failed with EPERM "
		  "(the queue belongs to another user, who alone may remove it): check msgctl's "
		  "result, and on -1 fail(\"msgctl\") (%s)",
		  short_command(&r), replay());
	expect_error_report(&r, "msgctl", EPERM,
			    "msgctl(IPC_RMID) failed with EPERM (not the queue's owner)");
	free(ctl.v);
	run_free(&r);
}

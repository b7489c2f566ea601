/*
 * Lab 04 (inspect and control a queue): the autograder's tests. Points and hints are in
 * rubric.json; the contract is in handouts/04-msgctl.md.
 *
 * Each test gives the sandbox's private IPC namespace queues with a known history first: the
 * set-up tool (tools/history.c) creates them, sends from one child process and receives from
 * another, and reports the ids, pids and times that only the sandbox knows, after checking that
 * IPC_STAT and `ipcs`, run in the same sandbox, agree with what it did. The test then runs msgq
 * and compares every field it prints. Several commands in one sandbox, and a look at the queues
 * afterwards, go through tools/steps.c. Sizes, keys and modes come from test_seed().
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#include "cases.h"
#include "harness.h"

/* A fresh namespace's default (facts/fresh_namespace_limits_are_defaults). */
#define MSGMNB	     16384
#define GIFT_UID     12345 /* the owner the set-up gives queues to, where it can */
#define GIFT_GID     12346
#define MAX_STEPS    32
#define MAX_MESSAGES 8
#define TEXT	     4096
/* A time zone far from UTC that needs no tzdata (POSIX TZ: 5:30 ahead of UTC): msgq prints UTC
 * whatever TZ says. */
#define OTHER_TZ       "XST-5:30"
#define LOCAL_OFFSET_S (5 * 3600 + 30 * 60)

static const char usage_line[] =
    "usage: msgq stat ID | msgq set ID MODE QBYTES | msgq rm ID | msgq list";

static const char *const stat_fields[] = {"msqid", "key",   "uid",   "gid",    "cuid",
					  "cgid",  "mode",  "qnum",  "cbytes", "qbytes",
					  "lspid", "lrpid", "stime", "rtime",  "ctime"};
#define NFIELDS (sizeof stat_fields / sizeof stat_fields[0])

/* ---- reproducible random cases ---- */

/* A key the set-up can create: never IPC_PRIVATE (0), sometimes with the top bit set. */
static unsigned random_key(struct rng *g)
{
	unsigned key = (unsigned)next_random(g) & (between(g, 0, 1) ? 0xffffffffu : 0x7fffffffu);
	return key ? key : 0x4d51;
}

/* A mode the creator may read and write (the set-up sends and checks as the creator). */
static unsigned random_mode(struct rng *g)
{
	unsigned mode;
	do
		mode = 0600 | (unsigned)between(g, 0, 077);
	while (mode == 0600);
	return mode;
}

/* ---- text building ---- */

struct text {
	char s[TEXT];
	size_t n;
};

__attribute__((format(printf, 2, 3))) static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < sizeof t->s - t->n, "grader error: text too long");
	t->n += (size_t)n;
}

/* n random message sizes from 1 to max into sizes, and as "a,b,c" into list; returns the sum. */
static long random_sizes(struct rng *g, size_t n, long max, long *sizes, struct text *list)
{
	long sum = 0;
	for (size_t i = 0; i < n; i++) {
		sizes[i] = between(g, 1, max);
		sum += sizes[i];
		add(list, "%s%ld", i ? "," : "", sizes[i]);
	}
	return sum;
}

/* ---- the sandbox ---- */

/* Every test but usage works on the queues of a private IPC namespace. */
static void need_namespace(void)
{
	const char *mode = getenv("MSGLAB_MODE");
	if (mode && !strcmp(mode, "fallback"))
		cr_skip_test("needs a private IPC namespace, which this machine does not give "
			     "(fallback mode): the set-up's queues would be the host's");
}

/*
 * The set-up waits for the clock to pass a second, which the default 1 s floor of the timeout
 * (the set-up shares it) does not always allow.
 */
static void allow_slow_setup(void)
{
	cr_assert(setenv("MSGLAB_TIMEOUT_FLOOR_MS", "3000", 1) == 0, "grader error: setenv");
}

/* The value of NAME=VALUE in the set-up's output. */
static const char *setup_value(const struct run_result *r, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = r->setup_output; (p = strstr(p, name)) != NULL; p++)
		if ((p == r->setup_output || p[-1] == ' ') && p[n] == '=')
			return p + n + 1;
	cr_assert_fail("grader error: the set-up did not report %s; it printed: %s", name,
		       r->setup_output);
	return NULL;
}

static long setup_long(const struct run_result *r, const char *name)
{
	return strtol(setup_value(r, name), NULL, 10);
}

/* NAME followed by queue number q: "ls0". */
static long setup_long_of(const struct run_result *r, const char *name, int q)
{
	char full[16];
	snprintf(full, sizeof full, "%s%d", name, q);
	return setup_long(r, full);
}

/* Queue number q of the set-up: its id and index. */
static int setup_queue(const struct run_result *r, int q, int *index)
{
	char name[16];
	snprintf(name, sizeof name, "q%d", q);
	const char *v = setup_value(r, name);
	int id, ix;
	cr_assert(sscanf(v, "%d@%d", &id, &ix) == 2, "grader error: set-up reported %s=%.20s", name,
		  v);
	if (index)
		*index = ix;
	return id;
}

static bool setup_gave(const struct run_result *r, int q)
{
	char name[16];
	snprintf(name, sizeof name, "g%d", q);
	return !strncmp(setup_value(r, name), "yes", 3);
}

/* ---- what msgq printed ---- */

/* The value of the first stdout line "NAME: VALUE", malloc'd; NULL if there is none. */
static char *printed_field(const char *out, const char *name)
{
	char prefix[32];
	snprintf(prefix, sizeof prefix, "%s: ", name);
	size_t n;
	char **lines = text_lines(out, prefix, &n);
	char *value = n ? strdup(lines[0]) : NULL;
	free_lines(lines);
	return value;
}

/* The first line of text, at most 300 characters, for messages ("" if empty). */
static const char *first_line(const char *text)
{
	static char line[320];
	int n = (int)strcspn(text, "\n");
	snprintf(line, sizeof line, "%.*s", n > 300 ? 300 : n, text);
	return line;
}

/* A wrong value that has a known cause, and the explanation. */
struct confusion {
	const char *value, *why;
};

/*
 * Compare field NAME of `cmd`'s output with want. When the printed value is one of the
 * confusions, say why; otherwise give hint.
 */
static void check_field(const char *cmd, const char *out, const char *name, const char *want,
			const char *hint, const struct confusion *confusions, size_t nconfusions)
{
	char *got = printed_field(out, name);
	if (!got) {
		cr_expect_fail("`%s`: no line \"%s: ...\" on stdout; expected \"%s: %s\"", cmd,
			       name, name, want);
		return;
	}
	if (strcmp(got, want) != 0) {
		const char *why = hint;
		for (size_t i = 0; i < nconfusions; i++)
			if (confusions[i].value && !strcmp(got, confusions[i].value)) {
				why = confusions[i].why;
				break;
			}
		cr_expect_fail("`%s`: field %s: expected %s, printed %s%s%s (%s)", cmd, name, want,
			       got, why && *why ? ": " : "", why ? why : "", replay());
	}
	free(got);
}

/* stdout must be the 15 "name: value" lines of the contract, in order. */
static void check_stat_shape(const char *cmd, const char *out, const char *err)
{
	size_t n;
	char **lines = text_lines(out, "", &n);
	for (size_t i = 0; i < NFIELDS; i++) {
		size_t len = strlen(stat_fields[i]);
		if (i >= n)
			cr_assert_fail("`%s`: stdout has %zu lines, expected %zu: the line \"%s: "
				       "...\" is missing%s%s",
				       cmd, n, NFIELDS, stat_fields[i],
				       *err ? "; stderr says: " : "", first_line(err));
		if (strncmp(lines[i], stat_fields[i], len) != 0 || strncmp(lines[i] + len, ": ", 2))
			cr_assert_fail("`%s`: line %zu is `%.80s`; expected \"%s: VALUE\": the "
				       "fields are msqid, key, uid, gid, cuid, cgid, mode, qnum, "
				       "cbytes, qbytes, lspid, lrpid, stime, rtime, ctime, in this "
				       "order, each as NAME, colon, space, value",
				       cmd, i + 1, lines[i], stat_fields[i]);
	}
	cr_assert(n == NFIELDS, "`%s`: stdout has %zu lines, expected exactly the %zu fields", cmd,
		  n, NFIELDS);
	free_lines(lines);
}

/* "SECONDS (YYYY-MM-DD HH:MM:SS UTC)" or "never". */
static void format_time(long long t, char *out, size_t size)
{
	if (t == 0) {
		snprintf(out, size, "never");
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	char text[32];
	cr_assert(gmtime_r(&tt, &tm) && strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm),
		  "grader error: gmtime %lld", t);
	snprintf(out, size, "%lld (%s UTC)", t, text);
}

/* "msgq stat 3" for messages. */
static const char *command_text(const char *const *args)
{
	static char text[200];
	size_t n = (size_t)snprintf(text, sizeof text, "msgq");
	for (size_t i = 0; args[i] && n < sizeof text; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, " %s", args[i]);
	return text;
}

/* ---- several commands in one sandbox (tools/steps.c) ---- */

/*
 * What the steps tool runs: its options, and the commands on its standard input, one line per
 * run of msgq. A test cannot know a queue's id before the set-up has run in the sandbox, so it
 * names queues by key: "=KEY" (hex) stands for the id of the queue with that key.
 */
struct cmdline {
	const char *args[40];
	size_t n;
	char store[32][24];
	size_t nstore;
	struct text input;
};

static void option(struct cmdline *c, const char *name, unsigned key)
{
	cr_assert(c->nstore < sizeof c->store / sizeof c->store[0] &&
		      c->n + 3 < sizeof c->args / sizeof c->args[0],
		  "grader error: too many options");
	snprintf(c->store[c->nstore], sizeof c->store[0], "=%x", key);
	c->args[c->n++] = name;
	c->args[c->n++] = c->store[c->nstore++];
}

/* Look at this queue after the commands (-q). */
static void watch(struct cmdline *c, unsigned key)
{
	option(c, "-q", key);
}

/* Remove this queue before the commands, which may still name it: a stale id (-x). */
static void discard(struct cmdline *c, unsigned key)
{
	option(c, "-x", key);
}

/* One run of msgq with these arguments. */
__attribute__((format(printf, 2, 3))) static void command(struct cmdline *c, const char *fmt, ...)
{
	char text[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	add(&c->input, "%s\n", text);
}

struct step {
	int pid;
	bool signaled;
	int status; /* exit status, or signal */
	char *out, *err;
};

struct steps {
	int n;
	struct step step[MAX_STEPS];
	char *queues; /* the "@@ queue" lines */
};

static const char *take_line(const char **p, const char *end)
{
	const char *line = *p;
	const char *nl = memchr(line, '\n', (size_t)(end - line));
	cr_assert(nl, "grader error: the steps tool's output ends early");
	*p = nl + 1;
	return line;
}

static char *take_block(const char **p, const char *end, const char *name)
{
	const char *line = take_line(p, end);
	char want[32];
	long long len;
	snprintf(want, sizeof want, "@@ %s %%lld", name);
	cr_assert(sscanf(line, want, &len) == 1 && len >= 0 && len < end - *p,
		  "grader error: the steps tool's output is garbled at `%.40s`", line);
	char *block = strndup(*p, (size_t)len);
	cr_assert(block, "grader error: out of memory");
	*p += len + 1;
	return block;
}

static void parse_steps(const struct run_result *r, struct steps *st)
{
	memset(st, 0, sizeof *st);
	cr_assert(!r->truncated,
		  "msgq printed more than the sandbox keeps (1 MiB): an endless loop?");
	cr_assert(r->exit_code == 0, "grader error: the steps tool failed (status %d): %s",
		  r->exit_code, first_line(r->err));
	const char *p = r->out, *end = r->out + r->out_len;
	while (p < end && !strncmp(p, "@@ run ", 7)) {
		cr_assert(st->n < MAX_STEPS, "grader error: too many steps");
		struct step *s = &st->step[st->n++];
		const char *line = take_line(&p, end);
		cr_assert(sscanf(line, "@@ run %*d pid %d", &s->pid) == 1,
			  "grader error: steps output `%.40s`", line);
		line = take_line(&p, end);
		if (sscanf(line, "@@ exit %d", &s->status) != 1) {
			cr_assert(sscanf(line, "@@ signal %d", &s->status) == 1,
				  "grader error: steps output `%.40s`", line);
			s->signaled = true;
		}
		s->out = take_block(&p, end, "stdout");
		s->err = take_block(&p, end, "stderr");
	}
	st->queues = strndup(p, (size_t)(end - p));
	cr_assert(st->queues, "grader error: out of memory");
}

static void free_steps(struct steps *st)
{
	for (int i = 0; i < st->n; i++) {
		free(st->step[i].out);
		free(st->step[i].err);
	}
	free(st->queues);
}

/* Run the steps tool after the set-up; want commands must have run. */
static void run_steps(const char *setup, struct cmdline *c, bool other_user, const char *sysctl,
		      int want, struct run_result *r, struct steps *st)
{
	c->args[c->n] = "{bin}/msgq";
	c->args[c->n + 1] = NULL;
	run_student(&(struct run_spec){.tool = "steps",
				       .args = c->args,
				       .input = c->input.s,
				       .setup = setup,
				       .sysctl = {sysctl},
				       .other_user = other_user,
				       .untraced_main = true},
		    r);
	parse_steps(r, st);
	cr_assert_eq(st->n, want, "grader error: %d commands ran, not %d", st->n, want);
}

/* The value of NAME in the "@@ queue ID" line (malloc'd), or NULL if the queue is gone. */
static char *queue_value(const struct steps *st, int id, const char *name)
{
	char prefix[32], pattern[32];
	snprintf(prefix, sizeof prefix, "@@ queue %d ", id);
	size_t n;
	char **lines = text_lines(st->queues, prefix, &n);
	cr_assert(n == 1, "grader error: the steps tool did not describe queue %d", id);
	char *value = NULL;
	snprintf(pattern, sizeof pattern, "%s=", name);
	for (const char *p = strstr(lines[0], pattern); p; p = strstr(p + 1, pattern))
		if (p == lines[0] || p[-1] == ' ') {
			value = strndup(p + strlen(pattern), strcspn(p + strlen(pattern), " "));
			break;
		}
	cr_assert(value || !strcmp(lines[0], "absent"),
		  "grader error: the steps tool gave no %s for queue %d", name, id);
	free_lines(lines);
	return value;
}

/* The queue's field after the commands, as a number; -1 if the queue is gone. */
static long long queue_number(const struct steps *st, int id, const char *name, int base)
{
	char *v = queue_value(st, id, name);
	long long n = v ? strtoll(v, NULL, base) : -1;
	free(v);
	return n;
}

/* The step ended normally with status; else say what happened instead. */
static void expect_step_exit(const struct step *s, const char *cmd, int status, const char *why)
{
	if (s->signaled)
		cr_expect_fail("CRASH: `%s` was killed by signal %d (%s)", cmd, s->status,
			       strsignal(s->status));
	else if (s->status != status)
		cr_expect_fail("`%s` exited with status %d, expected %d%s%s%s%s", cmd, s->status,
			       status, why ? ": " : "", why ? why : "",
			       *s->err ? "; its stderr says: " : "", first_line(s->err));
}

/* The first stderr line of the step must be want (or alternative, if not NULL). */
static void expect_error_line(const struct step *s, const char *cmd, const char *want,
			      const char *alternative)
{
	const char *got = first_line(s->err);
	if (strcmp(got, want) != 0 && (!alternative || strcmp(got, alternative) != 0))
		cr_expect_fail("`%s`: the first line on stderr is `%s`; expected `%s`%s%s%s: "
			       "\"msgq: msgctl(CMD, ID): \" then strerror(errno), CMD being the "
			       "call that failed",
			       cmd, *got ? got : "(nothing)", want, alternative ? " or `" : "",
			       alternative ? alternative : "", alternative ? "`" : "");
}

static void expect_quiet(const struct step *s, const char *cmd, const char *what)
{
	if (*s->out)
		cr_expect_fail("`%s` printed `%s` on stdout; %s prints nothing", cmd,
			       first_line(s->out), what);
}

/* The msgctl calls of process pid with command cmd (and msqid, unless -1). */
static size_t calls_of(const struct run_result *r, int pid, int cmd, int msqid,
		       const struct trace_call **first)
{
	size_t n = 0;
	*first = NULL;
	for (size_t i = 0; i < r->ncalls; i++) {
		const struct trace_call *c = &r->calls[i];
		if (!strcmp(c->call, "msgctl") && c->pid == pid && c->cmd == cmd &&
		    (msqid == -1 || c->msqid == msqid)) {
			if (!n)
				*first = c;
			n++;
		}
	}
	return n;
}

/* ---- the tests ---- */

/* Bad arguments: exit 2, the usage line, nothing on stdout; odd but valid ones are not bad. */
Test(lab, usage, .timeout = 60)
{
	static const char *const bad[][5] = {
	    {NULL},
	    {"frob", NULL},
	    {"stat", NULL},
	    {"stat", "12x", NULL},
	    {"stat", "-1", NULL},
	    {"stat", "1", "2", NULL},
	    {"rm", NULL},
	    {"list", "all", NULL},
	    {"set", "1", "0644", NULL},
	    {"set", "1", "0800", "100", NULL},
	    {"set", "1", "1000", "100", NULL},
	    {"set", "1", "rw", "100", NULL},
	    {"set", "1", "-644", "100", NULL},
	    {"set", "1", "0644", "-5", NULL},
	    {"set", "1", "0644", "1k", NULL},
	    {"set", "1", "0644", "18446744073709551616", NULL},
	    {"stat", "2147483648", NULL},
	};
	/* Valid, on an id surely not in use: the call fails with status 1, not a usage error. */
	static const char *const good[][5] = {
	    {"set", "2147483647", "0777", "0", NULL},
	    {"set", "2147483647", "640", "16384", NULL},
	    {"set", "2147483647", "0", "100", NULL},
	    {"set", "2147483647", "0640", "18446744073709551615", NULL},
	    {"stat", "2147483647", NULL},
	};
	size_t nbad = sizeof bad / sizeof bad[0], ngood = sizeof good / sizeof good[0];
	struct cmdline c = {.n = 0};
	for (size_t i = 0; i < nbad + ngood; i++) {
		const char *const *a = i < nbad ? bad[i] : good[i - nbad];
		for (size_t k = 0; a[k]; k++)
			add(&c.input, "%s%s", k ? " " : "", a[k]);
		add(&c.input, "\n");
	}
	struct run_result r;
	struct steps st;
	run_steps(NULL, &c, false, NULL, (int)(nbad + ngood), &r, &st);
	for (size_t i = 0; i < nbad; i++) {
		const struct step *s = &st.step[i];
		char cmd[200];
		snprintf(cmd, sizeof cmd, "%s", command_text(bad[i]));
		expect_step_exit(s, cmd, 2, "bad usage exits with status 2");
		if (strcmp(first_line(s->err), usage_line) != 0)
			cr_expect_fail(
			    "`%s`: stderr begins with `%s`; expected the usage line `%s`", cmd,
			    first_line(s->err), usage_line);
		if (*s->out)
			cr_expect_fail(
			    "`%s` printed `%s` on stdout; bad usage prints only the usage "
			    "line, on stderr",
			    cmd, first_line(s->out));
	}
	for (size_t i = 0; i < ngood; i++) {
		const struct step *s = &st.step[nbad + i];
		char cmd[200];
		snprintf(cmd, sizeof cmd, "%s", command_text(good[i]));
		if (!s->signaled && s->status == 2)
			cr_expect_fail(
			    "`%s` was treated as bad usage (status 2, stderr `%s`), but it "
			    "is valid: MODE is octal digits up to 0777 (\"0\" and \"640\" "
			    "too), QBYTES any decimal number; no queue has this id, so "
			    "msgctl fails and the status is 1",
			    cmd, first_line(s->err));
		else
			expect_step_exit(s, cmd, 1, "no queue has this id, so msgctl fails");
	}
	free_steps(&st);
	run_free(&r);
}

/*
 * Run `msgq stat` on the queue with this key. Unless calibrate, without running the reference
 * first to calibrate the timeout: through a shell, a fixed program the harness does not
 * calibrate, so that a set-up that waits for the clock runs once, not twice. The timeout is
 * then the floor.
 */
static void stat_by_key(const char *setup, unsigned key, bool calibrate, const char *env,
			struct run_result *r, struct steps *st)
{
	struct cmdline c = {.n = 0};
	command(&c, "stat =%x", key);
	if (calibrate) {
		run_steps(setup, &c, false, NULL, 1, r, st);
		return;
	}
	run_student(
	    &(struct run_spec){
		.program = "/bin/sh",
		.args = (const char *const[]){"-c", "exec {tools}/steps {bin}/msgq", NULL},
		.input = c.input.s,
		.env = {env},
		.setup = setup},
	    r);
	parse_steps(r, st);
	cr_assert_eq(st->n, 1, "grader error: %d commands ran, not 1", st->n);
}

/* The output of a stat step, checked for status and shape; cmd gets "msgq stat ID". */
static const struct step *stat_step(const struct steps *st, int id, char *cmd, size_t size)
{
	snprintf(cmd, size, "msgq stat %d", id);
	const struct step *s = &st->step[0];
	expect_step_exit(s, cmd, 0, "the queue exists and its creator may read it");
	check_stat_shape(cmd, s->out, s->err);
	return s;
}

/* The identity fields (msqid, key, owner, creator, mode) and the shape of stat's output. */
Test(lab, stat_identity, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(1);
	int dummies = (int)between(&g, 1, 3);
	/* 0x0NNNNNNN: a key whose hex form needs a leading zero to fill 8 digits */
	unsigned key = (random_key(&g) & 0x0fffffffu) | 0x00100000u, mode = random_mode(&g);
	long sizes[MAX_MESSAGES];
	struct text setup = {.n = 0}, list = {.n = 0};
	random_sizes(&g, (size_t)between(&g, 1, 3), 500, sizes, &list);
	add(&setup, "{tools}/history");
	for (int i = 0; i < dummies; i++)
		add(&setup, " new 0 600");
	add(&setup, " new %x %o send %d %s give %d %d %d", key, mode, dummies, list.s, dummies,
	    GIFT_UID, GIFT_GID);

	struct run_result r;
	struct steps st;
	stat_by_key(setup.s, key, true, NULL, &r, &st);
	int id = setup_queue(&r, dummies, NULL);
	long uid = setup_long(&r, "uid"), gid = setup_long(&r, "gid");
	bool gave = setup_gave(&r, dummies);
	char cmd[64];
	const struct step *s = stat_step(&st, id, cmd, sizeof cmd);

	char want[64], text_uid[24], text_gid[24], text_cuid[24], text_cgid[24], decimal[24],
	    index_text[24], unpadded[24];
	snprintf(text_uid, sizeof text_uid, "%ld", gave ? GIFT_UID : uid);
	snprintf(text_gid, sizeof text_gid, "%ld", gave ? GIFT_GID : gid);
	snprintf(text_cuid, sizeof text_cuid, "%ld", uid);
	snprintf(text_cgid, sizeof text_cgid, "%ld", gid);

	snprintf(want, sizeof want, "%d", id);
	snprintf(index_text, sizeof index_text, "%d", dummies);
	check_field(cmd, s->out, "msqid", want, "the id given on the command line", NULL, 0);

	snprintf(want, sizeof want, "0x%08x", key);
	snprintf(decimal, sizeof decimal, "%d", (int)key);
	snprintf(unpadded, sizeof unpadded, "0x%x", key);
	const struct confusion keys[] = {
	    {decimal, "that is the key in decimal; print it as 0x and 8 hex digits (\"0x%08x\")"},
	    {unpadded, "8 hex digits, with leading zeros: \"0x%08x\""},
	};
	check_field(cmd, s->out, "key", want, "msg_perm.__key, as 0x and 8 hex digits (\"0x%08x\")",
		    keys, 2);

	const struct confusion owner[] = {
	    {text_cuid, "that is cuid, the creator: uid is the owner, whom the set-up changed to "
			"12345 with IPC_SET (only the creator and the owner may do that)"},
	};
	check_field(cmd, s->out, "uid", text_uid, "msg_perm.uid, the owner", owner, gave);
	const struct confusion group[] = {
	    {text_cgid, "that is cgid, the creator's group: gid is the owner's group (12346)"},
	};
	check_field(cmd, s->out, "gid", text_gid, "msg_perm.gid, the owner's group", group, gave);
	const struct confusion creator[] = {
	    {text_uid, "that is uid, the owner: cuid is the creator, who gave the queue away"},
	};
	check_field(cmd, s->out, "cuid", text_cuid, "msg_perm.cuid, the creator", creator, gave);
	const struct confusion cgroup[] = {
	    {text_gid, "that is gid, the owner's group: cgid is the creator's"},
	};
	check_field(cmd, s->out, "cgid", text_cgid, "msg_perm.cgid, the creator's group", cgroup,
		    gave);

	snprintf(want, sizeof want, "%04o", mode);
	snprintf(decimal, sizeof decimal, "%u", mode);
	snprintf(unpadded, sizeof unpadded, "%o", mode);
	const struct confusion modes[] = {
	    {decimal, "that is the mode in decimal: print it in octal, 4 digits (\"%04o\")"},
	    {unpadded, "4 octal digits, with a leading 0: \"%04o\""},
	};
	check_field(cmd, s->out, "mode", want,
		    "the permission bits, msg_perm.mode & 0777, in octal, 4 digits (\"%04o\")",
		    modes, 2);
	free_steps(&st);
	run_free(&r);
}

/* qnum, cbytes and qbytes after sends, receives and a lowered msg_qbytes. */
Test(lab, stat_counts, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(2);
	unsigned key = random_key(&g);
	size_t n = (size_t)between(&g, 3, MAX_MESSAGES);
	long sizes[MAX_MESSAGES];
	struct text setup = {.n = 0}, list = {.n = 0};
	long total = random_sizes(&g, n, 1500, sizes, &list);
	size_t received = (size_t)between(&g, 1, (long)n - 1);
	long left = total;
	for (size_t i = 0; i < received; i++)
		left -= sizes[i];
	long qbytes = between(&g, left + 1, MSGMNB - 1);
	add(&setup, "{tools}/history new %x 600 send 0 %s recv 0 %zu qbytes 0 %ld", key, list.s,
	    received, qbytes);

	struct run_result r;
	struct steps st;
	stat_by_key(setup.s, key, true, NULL, &r, &st);
	int id = setup_queue(&r, 0, NULL);
	char cmd[64];
	const struct step *s = stat_step(&st, id, cmd, sizeof cmd);

	char want[32], sent[32], total_text[32], left_text[32], qbytes_text[32], deflt[32];
	snprintf(sent, sizeof sent, "%zu", n);
	snprintf(total_text, sizeof total_text, "%ld", total);
	snprintf(left_text, sizeof left_text, "%ld", left);
	snprintf(qbytes_text, sizeof qbytes_text, "%ld", qbytes);
	snprintf(deflt, sizeof deflt, "%d", MSGMNB);

	char why_qnum[200];
	snprintf(why_qnum, sizeof why_qnum,
		 "that counts every message sent; %zu of the %zu were received since, and "
		 "msg_qnum counts those still queued",
		 received, n);
	const struct confusion qnums[] = {{sent, why_qnum}};
	snprintf(want, sizeof want, "%zu", n - received);
	check_field(cmd, s->out, "qnum", want, "msg_qnum, the messages in the queue now", qnums, 1);

	const struct confusion cbytes[] = {
	    {total_text, "that is every byte sent; msg_cbytes counts the bytes still queued"},
	    {qbytes_text, "that is msg_qbytes, the limit; msg_cbytes is what is queued now"},
	};
	check_field(cmd, s->out, "cbytes", left_text,
		    "msg_cbytes (__msg_cbytes), the bytes of the messages still queued", cbytes, 2);

	const struct confusion limits[] = {
	    {left_text, "that is msg_cbytes, the bytes queued now; msg_qbytes is the most the "
			"queue may hold"},
	    {deflt, "that is the default; the set-up lowered msg_qbytes with IPC_SET: print the "
		    "queue's own value"},
	};
	check_field(cmd, s->out, "qbytes", qbytes_text, "msg_qbytes, the queue's byte limit",
		    limits, 2);
	free_steps(&st);
	run_free(&r);
}

/* lspid and lrpid: the last sender and the last receiver, two different child processes. */
Test(lab, stat_pids, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(3);
	unsigned key = random_key(&g);
	long sizes[MAX_MESSAGES];
	struct text setup = {.n = 0}, a = {.n = 0}, b = {.n = 0}, c = {.n = 0};
	random_sizes(&g, 3, 800, sizes, &a);
	random_sizes(&g, 2, 800, sizes, &b);
	random_sizes(&g, 1, 800, sizes, &c);
	bool sender_last = between(&g, 0, 1);
	add(&setup, "{tools}/history new %x 600 send 0 %s recv 0 2 send 0 %s recv 0 1%s%s show 0",
	    key, a.s, b.s, sender_last ? " send 0 " : "", sender_last ? c.s : "");

	struct run_result r;
	struct steps st;
	stat_by_key(setup.s, key, true, NULL, &r, &st);
	int id = setup_queue(&r, 0, NULL);
	long ls = setup_long_of(&r, "ls", 0), lr = setup_long_of(&r, "lr", 0);
	cr_assert(ls > 0 && lr > 0 && ls != lr, "grader error: set-up pids %ld %ld", ls, lr);
	char cmd[64];
	const struct step *s = stat_step(&st, id, cmd, sizeof cmd);

	char ls_text[24], lr_text[24], own[24];
	snprintf(ls_text, sizeof ls_text, "%ld", ls);
	snprintf(lr_text, sizeof lr_text, "%ld", lr);
	snprintf(own, sizeof own, "%d", s->pid);
	const struct confusion senders[] = {
	    {lr_text, "that is lrpid, the last receiver: lspid is the last process that sent"},
	    {"0", "lspid is 0 only if no message was ever sent; print msg_lspid"},
	    {own, "that is msgq's own pid: print msg_lspid from IPC_STAT"},
	};
	check_field(cmd, s->out, "lspid", ls_text,
		    "msg_lspid, the pid of the last msgsnd (the set-up's last sender child)",
		    senders, 3);
	const struct confusion receivers[] = {
	    {ls_text, "that is lspid, the last sender: lrpid is the last process that received"},
	    {"0", "lrpid is 0 only if no message was ever received; print msg_lrpid"},
	    {own, "that is msgq's own pid: print msg_lrpid from IPC_STAT"},
	};
	check_field(cmd, s->out, "lrpid", lr_text,
		    "msg_lrpid, the pid of the last msgrcv (the set-up's last receiver child)",
		    receivers, 3);
	free_steps(&st);
	run_free(&r);
}

/* stime, rtime and ctime: three different values, one of them never. */
Test(lab, stat_times, .timeout = 60)
{
	need_namespace();
	allow_slow_setup();
	struct rng g = rng_for(4);
	unsigned key = random_key(&g);
	long sizes[MAX_MESSAGES];
	struct text setup = {.n = 0}, list = {.n = 0};
	random_sizes(&g, (size_t)between(&g, 1, 4), 1000, sizes, &list);
	add(&setup, "{tools}/history new %x 600 tick send 0 %s show 0", key, list.s);

	struct run_result r;
	struct steps st;
	stat_by_key(setup.s, key, false, "TZ=" OTHER_TZ, &r, &st);
	int id = setup_queue(&r, 0, NULL);
	long long stime = setup_long_of(&r, "st", 0), rtime = setup_long_of(&r, "rt", 0),
		  ctime = setup_long_of(&r, "ct", 0);
	cr_assert(stime > ctime && ctime > 0 && rtime == 0,
		  "grader error: the set-up's times are stime %lld rtime %lld ctime %lld", stime,
		  rtime, ctime);
	char cmd[64];
	const struct step *s = stat_step(&st, id, cmd, sizeof cmd);

	char st_text[96], ct_text[96], zero_text[64], st_bare[32], ct_bare[32];
	format_time(stime, st_text, sizeof st_text);
	format_time(ctime, ct_text, sizeof ct_text);
	snprintf(zero_text, sizeof zero_text, "0 (1970-01-01 00:00:00 UTC)");
	snprintf(st_bare, sizeof st_bare, "%lld", stime);
	snprintf(ct_bare, sizeof ct_bare, "%lld", ctime);
	const char *readable =
	    "a time is the seconds since the epoch, then the same instant in UTC "
	    "in parentheses: gmtime_r, then strftime with \"%Y-%m-%d "
	    "%H:%M:%S\", then \" UTC\"";
	/* The same instants in the time zone of TZ, as localtime_r would give them. */
	char st_local[96], ct_local[96];
	format_time(stime + LOCAL_OFFSET_S, st_local, sizeof st_local);
	format_time(ctime + LOCAL_OFFSET_S, ct_local, sizeof ct_local);
	snprintf(st_local, sizeof st_local, "%lld (%.19s UTC)", stime, strchr(st_local, '(') + 1);
	snprintf(ct_local, sizeof ct_local, "%lld (%.19s UTC)", ctime, strchr(ct_local, '(') + 1);
	const char *local = "that is local time: this run had TZ=" OTHER_TZ
			    ", and msgq prints UTC whatever TZ says: gmtime_r, not localtime_r";
	const struct confusion sends[] = {
	    {st_local, local},
	    {ct_text, "that is ctime, the creation: stime is the last msgsnd, a second later"},
	    {"never", "that is rtime: nothing was received, but a child sent after the queue "
		      "was created"},
	    {st_bare, "after the seconds comes the readable form: \"SECONDS (YYYY-MM-DD "
		      "HH:MM:SS UTC)\""},
	};
	check_field(cmd, s->out, "stime", st_text, readable, sends, 4);
	const struct confusion receives[] = {
	    {zero_text, "a time of 0 means it never happened: print never"},
	    {"0", "a time of 0 means it never happened: print never"},
	    {st_text, "that is stime: no process ever received from this queue"},
	    {ct_text, "that is ctime: no process ever received from this queue"},
	};
	check_field(cmd, s->out, "rtime", "never",
		    "msg_rtime is 0: no message was ever received; 0 prints as never", receives, 4);
	const struct confusion changes[] = {
	    {ct_local, local},
	    {st_text, "that is stime, the last send: ctime is the creation or the last IPC_SET"},
	    {"never", "ctime is never 0: it is set when the queue is created"},
	    {ct_bare, "after the seconds comes the readable form: \"SECONDS (YYYY-MM-DD "
		      "HH:MM:SS UTC)\""},
	};
	check_field(cmd, s->out, "ctime", ct_text, readable, changes, 4);
	free_steps(&st);
	run_free(&r);
}

/* An id no queue has: each command fails with EINVAL, status 1, a clear message. */
Test(lab, bad_id, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(5);
	unsigned live = random_key(&g), gone;
	do
		gone = random_key(&g);
	while (gone == live);
	long sizes[MAX_MESSAGES];
	struct text setup = {.n = 0}, list = {.n = 0};
	random_sizes(&g, 2, 300, sizes, &list);
	add(&setup, "{tools}/history new %x 600 send 0 %s new %x 600", live, list.s, gone);
	struct cmdline c = {.n = 0};
	discard(&c, gone);
	watch(&c, live);
	command(&c, "stat =%x+32768", live);
	command(&c, "set =%x+32768 0644 1000", live);
	command(&c, "rm =%x", gone);

	struct run_result r;
	struct steps st;
	run_steps(setup.s, &c, false, NULL, 3, &r, &st);
	int id = setup_queue(&r, 0, NULL), stale = setup_queue(&r, 1, NULL), bad = id + 32768;
	char cmd[3][64], want[3][96], alt[96];
	snprintf(cmd[0], sizeof cmd[0], "msgq stat %d", bad);
	snprintf(cmd[1], sizeof cmd[1], "msgq set %d 0644 1000", bad);
	snprintf(cmd[2], sizeof cmd[2], "msgq rm %d", stale);
	snprintf(want[0], sizeof want[0], "msgq: msgctl(IPC_STAT, %d): %s", bad, strerror(EINVAL));
	snprintf(want[1], sizeof want[1], "msgq: msgctl(IPC_STAT, %d): %s", bad, strerror(EINVAL));
	snprintf(alt, sizeof alt, "msgq: msgctl(IPC_SET, %d): %s", bad, strerror(EINVAL));
	snprintf(want[2], sizeof want[2], "msgq: msgctl(IPC_RMID, %d): %s", stale,
		 strerror(EINVAL));
	char why[2][200];
	snprintf(why[0], sizeof why[0],
		 "no queue has id %d (queue %d is at the same index, but an id also holds a "
		 "sequence number), so msgctl fails with EINVAL",
		 bad, id);
	snprintf(why[1], sizeof why[1], "queue %d was removed, so msgctl fails with EINVAL", stale);
	for (int k = 0; k < 3; k++) {
		const struct step *s = &st.step[k];
		expect_step_exit(s, cmd[k], 1, why[k == 2]);
		expect_error_line(s, cmd[k], want[k], k == 1 ? alt : NULL);
		if (*s->out)
			cr_expect_fail("`%s` printed `%s` on stdout; errors go to stderr", cmd[k],
				       first_line(s->out));
	}
	cr_expect(queue_number(&st, id, "mode", 8) == 0600,
		  "queue %d changed although the commands named another id", id);
	free_steps(&st);
	run_free(&r);
}

/* set changes the mode and msg_qbytes, silently. */
Test(lab, set_mode_qbytes, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(6);
	unsigned key = random_key(&g), mode;
	do
		mode = (unsigned)between(&g, 0, 0777);
	while (mode == 0600);
	long qbytes = between(&g, 1, MSGMNB - 1);
	long sizes[MAX_MESSAGES];
	struct text setup = {.n = 0}, list = {.n = 0};
	long total = random_sizes(&g, (size_t)between(&g, 1, 4), 700, sizes, &list);
	add(&setup, "{tools}/history new %x 600 send 0 %s", key, list.s);
	char mode_arg[8];
	/* Without a leading 0 ("640"): MODE is octal all the same (usage tries "0640" too). */
	snprintf(mode_arg, sizeof mode_arg, "%o", mode);
	struct cmdline c = {.n = 0};
	watch(&c, key);
	command(&c, "set =%x %s %ld", key, mode_arg, qbytes);

	struct run_result r;
	struct steps st;
	run_steps(setup.s, &c, false, NULL, 1, &r, &st);
	int id = setup_queue(&r, 0, NULL);
	char cmd[64];
	snprintf(cmd, sizeof cmd, "msgq set %d %s %ld", id, mode_arg, qbytes);
	const struct step *s = &st.step[0];
	expect_step_exit(s, cmd, 0, "the creator may change the mode and lower msg_qbytes");
	expect_quiet(s, cmd, "on success, set");
	if (*s->err && !s->signaled && s->status == 0)
		cr_expect_fail("`%s` wrote `%s` on stderr; on success set prints nothing", cmd,
			       first_line(s->err));
	long long got_mode = queue_number(&st, id, "mode", 8);
	long long got_qbytes = queue_number(&st, id, "qbytes", 10);
	cr_assert(got_mode >= 0, "`%s` removed queue %d", cmd, id);
	if (s->signaled || s->status != 0)
		got_mode = mode, got_qbytes = qbytes; /* the exit status says it all */
	if (got_mode != mode)
		cr_expect_fail("`%s`: the queue's mode is now %04llo, expected %04o%s (%s)", cmd,
			       got_mode, mode,
			       got_mode == 0600 ? ": unchanged; IPC_SET takes the mode from "
						  "msg_perm.mode of the buffer"
			       : got_mode == (long long)(strtoul(mode_arg, NULL, 10) & 0777)
				   ? ": MODE was read as a decimal number; it is octal"
				   : "",
			       replay());
	if (got_qbytes != qbytes)
		cr_expect_fail("`%s`: the queue's msg_qbytes is now %lld, expected %ld%s (%s)", cmd,
			       got_qbytes, qbytes,
			       got_qbytes == MSGMNB
				   ? ": unchanged; IPC_SET takes it from msg_qbytes "
				     "of the buffer"
				   : "",
			       replay());
	cr_expect(queue_number(&st, id, "cbytes", 10) == total,
		  "`%s`: the queue's messages changed: set touches nothing but the mode and "
		  "msg_qbytes",
		  cmd);
	free_steps(&st);
	run_free(&r);
}

/* set keeps the owner: IPC_SET writes uid and gid too, so read them first (IPC_STAT). */
Test(lab, set_keeps_owner, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(7);
	unsigned key = random_key(&g), mode = random_mode(&g);
	long qbytes = between(&g, 1000, MSGMNB);
	long sizes[MAX_MESSAGES];
	struct text setup = {.n = 0}, list = {.n = 0};
	random_sizes(&g, (size_t)between(&g, 1, 3), 400, sizes, &list);
	add(&setup, "{tools}/history new %x 600 send 0 %s give 0 %d %d", key, list.s, GIFT_UID,
	    GIFT_GID);
	struct cmdline c = {.n = 0};
	watch(&c, key);
	command(&c, "set =%x 0%o %ld", key, mode, qbytes);

	struct run_result r;
	struct steps st;
	run_steps(setup.s, &c, false, NULL, 1, &r, &st);
	int id = setup_queue(&r, 0, NULL);
	long uid = setup_long(&r, "uid"), gid = setup_long(&r, "gid");
	bool gave = setup_gave(&r, 0);
	long owner = gave ? GIFT_UID : uid, group = gave ? GIFT_GID : gid;
	char cmd[64];
	snprintf(cmd, sizeof cmd, "msgq set %d 0%o %ld", id, mode, qbytes);
	const struct step *s = &st.step[0];

	const struct trace_call *set, *read = NULL, *c2, *c11, *c13;
	size_t nset = calls_of(&r, s->pid, IPC_SET, id, &set);
	cr_assert(nset > 0, "`%s` never called msgctl(%d, IPC_SET, ...)%s%s", cmd, id,
		  *s->err ? "; its stderr says: " : "", first_line(s->err));
	calls_of(&r, s->pid, IPC_STAT, id, &c2);
	calls_of(&r, s->pid, MSG_STAT, -1, &c11);
	calls_of(&r, s->pid, MSG_STAT_ANY, -1, &c13);
	for (const struct trace_call *cand[] = {c2, c11, c13}, **p = cand; p < cand + 3; p++)
		if (*p && (*p)->ret >= 0 && (*p)->t_us <= set->t_us - set->dur_us &&
		    (!read || (*p)->t_us < read->t_us))
			read = *p;

	long long got_uid = queue_number(&st, id, "uid", 10);
	long long got_gid = queue_number(&st, id, "gid", 10);
	cr_assert(got_uid >= 0, "`%s` removed queue %d", cmd, id);
	const char *blank = "IPC_SET sets msg_perm.uid, gid and mode from the buffer, all at once: "
			    "fill the buffer with IPC_STAT first, then change the mode and "
			    "msg_qbytes";
	if (got_uid != owner || got_gid != group)
		cr_expect_fail(
		    "`%s`: the queue's owner is now uid %lld gid %lld, was %ld %ld%s: %s", cmd,
		    got_uid, got_gid, owner, group, got_uid == 0 ? " (root)" : "", blank);
	cr_expect(queue_number(&st, id, "cuid", 10) == uid &&
		      queue_number(&st, id, "cgid", 10) == gid,
		  "`%s`: the creator changed?", cmd);
	if (!read)
		cr_expect_fail("`%s` called IPC_SET without reading the queue first: %s", cmd,
			       blank);
	free_steps(&st);
	run_free(&r);
}

/* Raising msg_qbytes above MSGMNB: EPERM without CAP_SYS_RESOURCE, said clearly; no change. */
Test(lab, set_qbytes_needs_cap, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(8);
	unsigned key = random_key(&g), mode = random_mode(&g);
	long msgmnb = between(&g, 4096, 12288);
	long qbytes = between(&g, msgmnb + 1, MSGMNB);
	long sizes[MAX_MESSAGES];
	struct text setup = {.n = 0}, list = {.n = 0};
	long total = random_sizes(&g, (size_t)between(&g, 1, 3), 1000, sizes, &list);
	char sysctl[32];
	snprintf(sysctl, sizeof sysctl, "msgmnb=%ld", msgmnb);
	add(&setup, "{tools}/history probe new %x 600 send 0 %s", key, list.s);
	struct cmdline c = {.n = 0};
	watch(&c, key);
	command(&c, "set =%x 0%o %ld", key, mode, qbytes);

	struct run_result r;
	struct steps st;
	run_steps(setup.s, &c, false, sysctl, 1, &r, &st);
	int id = setup_queue(&r, 0, NULL);
	bool cap = !strncmp(setup_value(&r, "cap"), "yes", 3);
	char cmd[64];
	snprintf(cmd, sizeof cmd, "msgq set %d 0%o %ld", id, mode, qbytes);
	const struct step *s = &st.step[0];
	long long got_mode = queue_number(&st, id, "mode", 8);
	long long got_qbytes = queue_number(&st, id, "qbytes", 10);
	cr_assert(got_mode >= 0, "`%s` removed queue %d", cmd, id);
	if (cap) {
		/* Where the program has CAP_SYS_RESOURCE in the initial user namespace. */
		expect_step_exit(s, cmd, 0, "this sandbox has CAP_SYS_RESOURCE, so IPC_SET works");
		cr_expect(got_mode == mode && got_qbytes == qbytes,
			  "`%s`: the queue has mode %04llo and msg_qbytes %lld, expected %04o and "
			  "%ld (this sandbox has CAP_SYS_RESOURCE)",
			  cmd, got_mode, got_qbytes, mode, qbytes);
	} else {
		char why[240], want[96];
		snprintf(
		    why, sizeof why,
		    "msg_qbytes %ld is above MSGMNB (%ld here), and raising it that high needs "
		    "CAP_SYS_RESOURCE, which msgq does not have: IPC_SET fails with EPERM",
		    qbytes, msgmnb);
		expect_step_exit(s, cmd, 1, why);
		snprintf(want, sizeof want, "msgq: msgctl(IPC_SET, %d): %s", id, strerror(EPERM));
		expect_error_line(s, cmd, want, NULL);
		if (!strstr(s->err, "CAP_SYS_RESOURCE")) {
			const char *second = strchr(s->err, '\n');
			char said[340] = "";
			if (second && second[1])
				snprintf(said, sizeof said, " instead of `%s`",
					 first_line(second + 1));
			cr_expect_fail(
			    "`%s`: stderr does not say what is needed: after the "
			    "msgctl line, print \"msgq: msg_qbytes above MSGMNB (%ld) "
			    "needs CAP_SYS_RESOURCE\"%s (you are the creator, so EPERM "
			    "means the msg_qbytes rule; MSGMNB from IPC_INFO's msgmnb or "
			    "/proc/sys/kernel/msgmnb: here it is %ld, not 16384)",
			    cmd, msgmnb, said, msgmnb);
		}
		if (got_mode != 0600 || got_qbytes != msgmnb)
			cr_expect_fail(
			    "`%s` failed, yet the queue changed: mode %04llo (was 0600), "
			    "msg_qbytes %lld (was %ld): set both in one IPC_SET, which "
			    "the kernel applies whole or not at all",
			    cmd, got_mode, got_qbytes, msgmnb);
	}
	cr_expect(queue_number(&st, id, "cbytes", 10) == total, "`%s`: the messages changed", cmd);
	free_steps(&st);
	run_free(&r);
}

/* rm removes that queue, silently, and no other. */
Test(lab, rm_queue, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(9);
	int n = (int)between(&g, 3, 5), target = (int)between(&g, 0, n - 1);
	unsigned keys[5];
	struct text setup = {.n = 0};
	add(&setup, "{tools}/history");
	for (int i = 0; i < n; i++) {
		bool unique;
		do {
			keys[i] = random_key(&g);
			unique = true;
			for (int k = 0; k < i; k++)
				unique &= keys[k] != keys[i];
		} while (!unique);
		long sizes[MAX_MESSAGES];
		struct text list = {.n = 0};
		random_sizes(&g, (size_t)between(&g, 1, 3), 300, sizes, &list);
		add(&setup, " new %x %o send %d %s", keys[i], random_mode(&g), i, list.s);
	}
	struct cmdline c = {.n = 0};
	for (int i = 0; i < n; i++)
		watch(&c, keys[i]);
	command(&c, "rm =%x", keys[target]);

	struct run_result r;
	struct steps st;
	run_steps(setup.s, &c, false, NULL, 1, &r, &st);
	int id = setup_queue(&r, target, NULL);
	char cmd[64];
	snprintf(cmd, sizeof cmd, "msgq rm %d", id);
	const struct step *s = &st.step[0];
	expect_step_exit(s, cmd, 0, "the creator may remove the queue");
	expect_quiet(s, cmd, "on success, rm");
	const struct trace_call *rm;
	bool called = calls_of(&r, s->pid, IPC_RMID, id, &rm) > 0;
	if (queue_number(&st, id, "mode", 8) >= 0)
		cr_expect_fail("`%s`: queue %d is still there%s", cmd, id,
			       called ? "" : ": msgctl(id, IPC_RMID, NULL) removes it");
	for (int i = 0; i < n; i++) {
		int other = setup_queue(&r, i, NULL);
		if (i != target && queue_number(&st, other, "mode", 8) < 0)
			cr_expect_fail("`%s` removed queue %d as well", cmd, other);
	}
	free_steps(&st);
	run_free(&r);
}

/* list: every queue, past the holes of the index range, with the id MSG_STAT_ANY returns. */
Test(lab, list_all, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(10);
	enum { MAXQ = 8 };
	int n = (int)between(&g, 5, 7);
	unsigned keys[MAXQ], modes[MAXQ];
	long cbytes[MAXQ], qnum[MAXQ];
	int hole1 = (int)between(&g, 1, n - 3), hole2 = (int)between(&g, hole1 + 1, n - 2);
	for (int i = 0; i <= n; i++) {
		bool unique;
		do { /* msgget of a key in use would fail the set-up */
			keys[i] = between(&g, 0, 2) ? random_key(&g) : 0;
			if (i == 0) /* a key_t below 0: its 8 hex digits are not sign-extended */
				keys[i] = random_key(&g) | 0x80000000u;
			unique = true;
			for (int k = 0; k < i; k++)
				unique &= !keys[i] || keys[k] != keys[i];
		} while (!unique);
		modes[i] = random_mode(&g);
	}
	/* The queues and their messages, two holes, then a queue at a reused index. */
	struct text setup = {.n = 0};
	add(&setup, "{tools}/history");
	for (int i = 0; i <= n; i++) {
		if (i < n)
			add(&setup, " new %x %o", keys[i], modes[i]);
		else
			add(&setup, " rm %d rm %d churn %x %o", hole1, hole2, keys[i], modes[i]);
		qnum[i] = between(&g, 0, 3);
		cbytes[i] = 0;
		if (qnum[i]) {
			long sizes[MAX_MESSAGES];
			struct text list = {.n = 0};
			cbytes[i] = random_sizes(&g, (size_t)qnum[i], 900, sizes, &list);
			add(&setup, " send %d %s", i, list.s);
		}
	}

	struct run_result r;
	run_student(
	    &(struct run_spec){.setup = setup.s, .args = (const char *const[]){"list", NULL}}, &r);
	long uid = setup_long(&r, "uid");
	struct {
		int q, id, index;
	} live[MAXQ], tmp;
	int nlive = 0, reused = -1;
	for (int i = 0; i <= n; i++) {
		if (i == hole1 || i == hole2)
			continue;
		live[nlive].q = i;
		live[nlive].id = setup_queue(&r, i, &live[nlive].index);
		nlive++;
	}
	for (int i = 0; i < nlive; i++)
		for (int k = i + 1; k < nlive; k++)
			if (live[k].index < live[i].index) {
				tmp = live[i];
				live[i] = live[k];
				live[k] = tmp;
			}
	for (int i = 0; i < nlive; i++)
		if (live[i].id != live[i].index)
			reused = i;
	cr_assert(reused >= 0, "grader error: no queue has an id other than its index: %s",
		  r.setup_output);

	struct text want = {.n = 0};
	char lines[MAXQ][160];
	for (int i = 0; i < nlive; i++) {
		int q = live[i].q;
		snprintf(lines[i], sizeof lines[i],
			 "index=%d msqid=%d key=0x%08x mode=%04o uid=%ld qnum=%ld cbytes=%ld",
			 live[i].index, live[i].id, keys[q], modes[q], uid, qnum[q], cbytes[q]);
		add(&want, "%s\n", lines[i]);
	}
	add(&want, "queues: %d\n", nlive);
	if (strcmp(r.out, want.s) != 0) {
		keep_comparison(&r, want.s, r.out);
		size_t ngot;
		char **got = text_lines(r.out, "", &ngot);
		for (int i = 0; i < nlive; i++) {
			char prefix[32];
			snprintf(prefix, sizeof prefix, "index=%d ", live[i].index);
			const char *line = NULL;
			for (size_t k = 0; k < ngot && !line; k++)
				if (!strncmp(got[k], prefix, strlen(prefix)))
					line = got[k];
			if (line && !strcmp(line, lines[i]))
				continue;
			char why[400] = "";
			int gap = -1; /* a hole below this index */
			for (int k = i - 1; k >= 0 && gap < 0; k--)
				if (live[k].index + 1 < live[i].index)
					gap = live[k].index + 1;
			if (!line && i == reused)
				snprintf(
				    why, sizeof why,
				    ": index %d holds queue %d; its id is not its index because "
				    "the index was used before, so msgctl(%d, IPC_STAT) fails "
				    "with EINVAL; MSG_STAT_ANY takes the index and returns the id",
				    live[i].index, live[i].id, live[i].index);
			else if (!line && gap >= 0)
				snprintf(
				    why, sizeof why,
				    ": no queue is at index %d, but the loop must go on: an "
				    "index without a queue fails with EINVAL and is skipped, up "
				    "to the highest index, which MSG_INFO returns",
				    gap);
			else if (!line)
				snprintf(why, sizeof why,
					 ": loop over every index from 0 to the value msgctl(0, "
					 "MSG_INFO, ...) returns");
			else if (i == reused && strstr(line, "msqid=") &&
				 atoi(strstr(line, "msqid=") + 6) == live[i].index)
				snprintf(
				    why, sizeof why,
				    ": msqid is the id that MSG_STAT_ANY returns (%d), not the "
				    "index",
				    live[i].id);
			cr_expect_fail("`msgq list`: expected the line `%s`, %s%.200s%s%s (%s)",
				       lines[i], line ? "got `" : "found none", line ? line : "",
				       line ? "`" : "", why, replay());
			break;
		}
		char last[32];
		snprintf(last, sizeof last, "queues: %d", nlive);
		if (!ngot || strcmp(got[ngot - 1], last) != 0)
			cr_expect_fail("`msgq list`: the last line is `%s`, expected `%s`",
				       ngot ? got[ngot - 1] : "(nothing)", last);
		else
			cr_expect_fail(
			    "`msgq list`: stdout differs from the expected lines (see the "
			    "diff)");
		free_lines(got);
	}
	expect_exit(&r, 0);
	run_free(&r);
}

/* As another user: EACCES without read permission, EPERM for a queue one does not own. */
Test(lab, permissions, .timeout = 60)
{
	need_namespace();
	struct rng g = rng_for(11);
	unsigned closed = random_key(&g), open;
	do
		open = random_key(&g);
	while (open == closed);
	long sizes[MAX_MESSAGES];
	struct text setup = {.n = 0}, a = {.n = 0}, b = {.n = 0};
	random_sizes(&g, 2, 500, sizes, &a);
	random_sizes(&g, 1, 500, sizes, &b);
	add(&setup, "{tools}/history new %x 600 send 0 %s new %x 644 send 1 %s", closed, a.s, open,
	    b.s);
	long qbytes = between(&g, 100, 9000);
	struct cmdline c = {.n = 0};
	watch(&c, open);
	command(&c, "stat =%x", closed);
	command(&c, "stat =%x", open);
	command(&c, "set =%x 0666 %ld", open, qbytes);
	command(&c, "rm =%x", open);
	command(&c, "list");

	struct run_result r;
	struct steps st;
	run_steps(setup.s, &c, true, NULL, 5, &r, &st);
	int a_id = setup_queue(&r, 0, NULL), b_id = setup_queue(&r, 1, NULL);
	long uid = setup_long(&r, "uid");
	char cmd[64], want[120];

	snprintf(cmd, sizeof cmd, "msgq stat %d", a_id);
	expect_step_exit(&st.step[0], cmd, 1,
			 "queue has mode 0600 and another owner: IPC_STAT fails with EACCES");
	snprintf(want, sizeof want, "msgq: msgctl(IPC_STAT, %d): %s", a_id, strerror(EACCES));
	expect_error_line(&st.step[0], cmd, want, NULL);

	snprintf(cmd, sizeof cmd, "msgq stat %d", b_id);
	expect_step_exit(&st.step[1], cmd, 0,
			 "mode 0644 lets everyone read the queue, and IPC_STAT needs only that");
	snprintf(want, sizeof want, "%ld", uid);
	char *owner = printed_field(st.step[1].out, "uid");
	cr_expect(owner && !strcmp(owner, want), "`%s`: expected the line \"uid: %s\", got %s", cmd,
		  want, owner ? owner : "none");
	free(owner);

	snprintf(cmd, sizeof cmd, "msgq set %d 0666 %ld", b_id, qbytes);
	expect_step_exit(&st.step[2], cmd, 1,
			 "only the owner or the creator may IPC_SET: EPERM for anyone else, even "
			 "with read permission");
	snprintf(want, sizeof want, "msgq: msgctl(IPC_SET, %d): %s", b_id, strerror(EPERM));
	expect_error_line(&st.step[2], cmd, want, NULL);
	cr_expect(queue_number(&st, b_id, "mode", 8) == 0644, "`%s` changed the queue", cmd);

	snprintf(cmd, sizeof cmd, "msgq rm %d", b_id);
	expect_step_exit(&st.step[3], cmd, 1,
			 "only the owner or the creator may IPC_RMID: EPERM for anyone else");
	snprintf(want, sizeof want, "msgq: msgctl(IPC_RMID, %d): %s", b_id, strerror(EPERM));
	expect_error_line(&st.step[3], cmd, want, NULL);

	const struct step *s = &st.step[4];
	expect_step_exit(s, "msgq list", 0, "MSG_STAT_ANY needs no read permission");
	for (int k = 0; k < 2; k++) {
		char needle[32];
		int qid = k ? b_id : a_id;
		snprintf(needle, sizeof needle, " msqid=%d ", qid);
		if (!strstr(s->out, needle))
			cr_expect_fail("`msgq list` run by another user does not show queue %d "
				       "(mode %s)%s",
				       qid, k ? "0644" : "0600",
				       k ? ""
					 : ": MSG_STAT needs read permission (EACCES), "
					   "MSG_STAT_ANY does not; list every queue, as ipcs does");
	}
	free_steps(&st);
	run_free(&r);
}

/*
 * Lab 05 (the bank-balance server): the autograder's tests. Points and hints are in rubric.json;
 * the contract is in handouts/05-bank-server.md.
 *
 * Most tests run tools/scenario.c inside the sandbox: it starts the submitted programs (or plays
 * the other side of the protocol itself, so that a client test never depends on the submitted
 * server and a server test never on the submitted client) and prints one line per event. The
 * tests read those lines and the IPC trace of every process, and judge.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "bank_wire.h"
#include "cases.h"
#include "harness.h"

#define MAX_FIELDS		48
#define MAX_EVENTS		256
#define DECOY_SHIFT		50000 /* as in the tool */
#define SCENARIO_MIN_TIMEOUT_MS 20000 /* see run_scenario */

/* ---- the tool's lines: WORD key=value key="escaped text" ---- */

struct event {
	char word[24];
	int n;
	char *keys[MAX_FIELDS], *values[MAX_FIELDS];
};

struct events {
	struct event list[MAX_EVENTS];
	int n;
};

static char *unescape(const char **p)
{
	char *out = malloc(strlen(*p) + 1);
	cr_assert(out, "grader error: out of memory");
	size_t k = 0;
	const char *s = *p;
	while (*s && *s != '"') {
		if (*s == '\\' && s[1]) {
			s++;
			if (*s == 'n')
				out[k++] = '\n';
			else if (*s == 'x' && s[1] && s[2]) {
				unsigned byte;
				if (sscanf(s + 1, "%2x", &byte) == 1)
					out[k++] = (char)byte;
				s += 2;
			} else
				out[k++] = *s;
			s++;
		} else {
			out[k++] = *s++;
		}
	}
	out[k] = '\0';
	*p = *s ? s + 1 : s;
	return out;
}

static void parse_event(const char *line, struct event *e)
{
	memset(e, 0, sizeof *e);
	const char *p = line;
	size_t w = strcspn(p, " ");
	snprintf(e->word, sizeof e->word, "%.*s", (int)w, p);
	p += w;
	while (*p == ' ' && e->n < MAX_FIELDS) {
		p++;
		size_t k = strcspn(p, "= ");
		if (p[k] != '=')
			break;
		e->keys[e->n] = strndup(p, k);
		p += k + 1;
		if (*p == '"') {
			p++;
			e->values[e->n] = unescape(&p);
		} else {
			size_t v = strcspn(p, " ");
			e->values[e->n] = strndup(p, v);
			p += v;
		}
		cr_assert(e->keys[e->n] && e->values[e->n], "grader error: out of memory");
		e->n++;
	}
}

static void read_events(const struct run_result *r, struct events *ev)
{
	size_t n;
	char **lines = text_lines(r->out, "", &n);
	ev->n = 0;
	for (size_t i = 0; i < n && ev->n < MAX_EVENTS; i++)
		parse_event(lines[i], &ev->list[ev->n++]);
	free_lines(lines);
	for (int i = 0; i < ev->n; i++)
		if (!strcmp(ev->list[i].word, "grader-error"))
			cr_assert_fail("grader error: the scenario tool failed: %s",
				       ev->list[i].n ? ev->list[i].values[0] : "?");
}

static void free_events(struct events *ev)
{
	for (int i = 0; i < ev->n; i++)
		for (int k = 0; k < ev->list[i].n; k++) {
			free(ev->list[i].keys[k]);
			free(ev->list[i].values[k]);
		}
	ev->n = 0;
}

static const char *field(const struct event *e, const char *key)
{
	for (int i = 0; i < e->n; i++)
		if (!strcmp(e->keys[i], key))
			return e->values[i];
	return NULL;
}

static long num(const struct event *e, const char *key, long dflt)
{
	const char *v = field(e, key);
	return v ? strtol(v, NULL, 0) : dflt;
}

static const char *text(const struct event *e, const char *key)
{
	const char *v = field(e, key);
	return v ? v : "";
}

/* The nth event (from 0) with this word, or NULL. */
static const struct event *find(const struct events *ev, const char *word, int nth)
{
	for (int i = 0; i < ev->n; i++)
		if (!strcmp(ev->list[i].word, word) && nth-- == 0)
			return &ev->list[i];
	return NULL;
}

/* The event with this word whose key has this value. */
static const struct event *find_by(const struct events *ev, const char *word, const char *key,
				   long value)
{
	for (int i = 0; i < ev->n; i++)
		if (!strcmp(ev->list[i].word, word) && num(&ev->list[i], key, -1) == value)
			return &ev->list[i];
	return NULL;
}

/* ---- running the tool ---- */

/* Run `scenario {bin} MODE [SEED]` in the sandbox. */
static void run_scenario(const char *mode, bool seeded, struct run_result *r, struct events *ev)
{
	char seed[24];
	snprintf(seed, sizeof seed, "%u", test_seed());
	const char *args[] = {"{bin}", mode, seeded ? seed : NULL, NULL};
	/* The tool tells a hang (every process asleep, no CPU time, for 500 ms) from a slow
	 * machine; the timeout only backs it up, and its share of it is the tool's deadline for
	 * a crowd still making progress: generous, whatever the reference's time. */
	/* The bank runs in a folder of its own, with HOME the folder above: a key made from
	 * HOME, or from any fixed path, is not ftok(".", 'B'). */
	run_student(&(struct run_spec){.tool = "scenario",
				       .args = args,
				       .subdir = "bank",
				       .env = {"HOME=/work"},
				       .allow_failure = true,
				       .min_timeout_ms = SCENARIO_MIN_TIMEOUT_MS},
		    r);
	read_events(r, ev);
}

/* " (seed S; replay with ...)" for the failure messages of seeded tests. */
static const char *replay_note(void)
{
	static char s[240];
	snprintf(s, sizeof s, " (%s)", replay());
	return s;
}

/* The first line of a text, for messages. */
static const char *first_line(const char *s)
{
	static char line[4][240];
	static int next;
	char *out = line[next++ % 4];
	snprintf(out, sizeof line[0], "%.*s", (int)strcspn(s, "\n"), s);
	return out;
}

/* How a child the tool started ended, in words: "exited with status 1", ... */
static const char *how_ended(const struct event *e)
{
	static char s[4][200];
	static int next;
	char *out = s[next++ % 4];
	if (field(e, "killed") && !strcmp(text(e, "blocked"), "msgrcv"))
		snprintf(out, sizeof s[0], "was still blocked in msgrcv and had to be killed");
	else if (field(e, "killed") && !strcmp(text(e, "blocked"), "msgsnd"))
		snprintf(out, sizeof s[0], "was still blocked in msgsnd and had to be killed");
	else if (field(e, "killed"))
		snprintf(out, sizeof s[0], "was still running and had to be killed");
	else if (field(e, "signal"))
		snprintf(out, sizeof s[0], "was killed by signal %ld (%s)", num(e, "signal", 0),
			 strsignal((int)num(e, "signal", 0)));
	else if (field(e, "running"))
		snprintf(out, sizeof s[0], "was still running");
	else
		snprintf(out, sizeof s[0], "exited with status %ld", num(e, "exit", -1));
	return out;
}

/* The last line of a text that starts with "bank-" (the program's own, the fatal one), else
 * its last line; for messages. */
static const char *last_line(const char *s)
{
	static char line[4][240];
	static int next;
	char *out = line[next++ % 4];
	const char *best = NULL, *last = NULL;
	for (const char *p = s; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != '\0')) {
		if (*p == '\n')
			continue;
		last = p;
		if (!strncmp(p, "bank-", 5))
			best = p;
	}
	const char *from = best ? best : last ? last : "";
	snprintf(out, sizeof line[0], "%.*s", (int)strcspn(from, "\n"), from);
	return out;
}

/* "; its stderr says: ..." (its last line of its own) or "". */
static const char *said(const struct event *e)
{
	static char s[4][300];
	static int next;
	char *out = s[next++ % 4];
	const char *err = text(e, "err");
	if (*err)
		snprintf(out, sizeof s[0], "; its stderr says: %s", last_line(err));
	else
		out[0] = '\0';
	return out;
}

/* Fail if the scenario found no queue the way a client does (msgget(ftok(".", 'B'), 0)) while
 * the server was serving, saying which key the server used instead. */
static void require_queue_found(const struct run_result *r, const struct events *ev)
{
	const struct event *q = find(ev, "queue", 0), *key = find(ev, "key", 0);
	if (!q || num(q, "id", -1) >= 0)
		return;
	int pid = (int)num(find(ev, "server", 0), "pid", 0);
	unsigned want = key ? (unsigned)num(key, "value", 0) : 0;
	const struct trace_call *get = nth_call(r, "msgget", pid, 0);
	if (get && get->ret >= 0 && get->key == 0)
		cr_assert_fail(
		    "clients found no queue (msgget(ftok(\".\", 'B'), 0) failed) while "
		    "bank-server (pid %d) was serving: it created its queue with "
		    "IPC_PRIVATE, which nobody else can find; use ftok(\".\", 'B') = 0x%08x",
		    pid, want);
	if (get && get->ret >= 0)
		cr_assert_fail(
		    "clients found no queue (msgget(ftok(\".\", 'B'), 0) failed) while "
		    "bank-server (pid %d) was serving: it created its queue with the key "
		    "0x%08x, but ftok(\".\", 'B') in the folder it runs in is 0x%08x "
		    "(BANK_KEY_PATH \".\" is the working folder, whatever HOME says)",
		    pid, get->key, want);
	cr_assert_fail("clients found no queue (msgget(ftok(\".\", 'B'), 0) failed) while "
		       "bank-server (pid %d) was waiting in msgrcv: create it with that key, "
		       "0x%08x here",
		       pid, want);
}

/* Fail at once if the server never got going, saying why. */
static void require_server_ready(const struct run_result *r, const struct events *ev)
{
	const struct event *srv = find(ev, "server", 0);
	if (!srv) {
		expect_finished(r);
		cr_assert_fail("grader error: the scenario did not start the server");
	}
	if (find(ev, "ready", 0))
		return;
	const struct event *end = find(ev, "server-end", 0);
	const struct event *nr = find(ev, "not-ready", 0);
	if (end && !field(end, "killed") && num(end, "before", 0))
		cr_assert_fail("bank-server (pid %ld) %s before it ever waited for a request%s",
			       num(srv, "pid", 0), how_ended(end), said(end));
	if (nr && field(nr, "where"))
		cr_assert_fail(
		    "bank-server (pid %ld) never blocked in msgrcv waiting for requests: "
		    "it was %s%s. Create the queue, then loop on msgrcv",
		    num(srv, "pid", 0), strcmp(text(nr, "where"), "running") ? "in " : "",
		    text(nr, "where"));
	expect_finished(r);
	cr_assert_fail("bank-server (pid %ld) never blocked in msgrcv waiting for requests",
		       num(srv, "pid", 0));
}

static int signal_number_of(const char *name)
{
	return !strcmp(name, "INT") ? SIGINT : !strcmp(name, "USR1") ? SIGUSR1 : SIGTERM;
}

/* ---- the trace ---- */

static bool is_call(const struct trace_call *c, const char *call, int pid)
{
	return !strcmp(c->call, call) && (pid == 0 || c->pid == pid);
}

static const char *op_name(int op)
{
	return op == BANK_BALANCE ? "balance" : op == BANK_DEPOSIT ? "deposit" : "withdraw";
}

static const char *status_name(int status)
{
	switch (status) {
	case BANK_OK:
		return "BANK_OK";
	case BANK_NO_ACCOUNT:
		return "BANK_NO_ACCOUNT";
	case BANK_NO_FUNDS:
		return "BANK_NO_FUNDS";
	case BANK_BAD_REQUEST:
		return "BANK_BAD_REQUEST";
	default:
		return "an unknown status";
	}
}

/* ---- the bank, as the contract says it behaves ---- */

struct bank {
	long balance[BANK_ACCOUNTS];
};

static int bank_apply(struct bank *b, int op, long account, long amount, long *balance)
{
	*balance = 0;
	if (op != BANK_BALANCE && op != BANK_DEPOSIT && op != BANK_WITHDRAW)
		return BANK_BAD_REQUEST;
	if (account < 0 || account >= BANK_ACCOUNTS)
		return BANK_NO_ACCOUNT;
	if (op != BANK_BALANCE && (amount < 1 || amount > BANK_MAX_AMOUNT))
		return BANK_BAD_REQUEST;
	if (op == BANK_WITHDRAW && amount > b->balance[account]) {
		*balance = b->balance[account];
		return BANK_NO_FUNDS;
	}
	if (op == BANK_DEPOSIT)
		b->balance[account] += amount;
	else if (op == BANK_WITHDRAW)
		b->balance[account] -= amount;
	*balance = b->balance[account];
	return BANK_OK;
}

/* The line bank-client prints for a reply ("" for none), and its exit status. */
static int client_line(int status, long account, long balance, char *line, size_t size)
{
	switch (status) {
	case BANK_OK:
		snprintf(line, size, "account %ld: balance %ld\n", account, balance);
		return 0;
	case BANK_NO_FUNDS:
		snprintf(line, size, "account %ld: insufficient funds, balance %ld\n", account,
			 balance);
		return 1;
	case BANK_NO_ACCOUNT:
		snprintf(line, size, "account %ld: no such account\n", account);
		return 1;
	case BANK_BAD_REQUEST:
		snprintf(line, size, "account %ld: bad request\n", account);
		return 1;
	default:
		line[0] = '\0';
		return 3;
	}
}

/* Parse "OP ACCOUNT [AMOUNT]" as the client would; returns the op, 0 for bad usage. */
static int parse_args(const char *args, long *account, long *amount)
{
	char op[16];
	*account = *amount = 0;
	int n = sscanf(args, "%15s %ld %ld", op, account, amount);
	if (!strcmp(op, "balance") && n == 2)
		return BANK_BALANCE;
	if (!strcmp(op, "deposit") && n == 3)
		return BANK_DEPOSIT;
	if (!strcmp(op, "withdraw") && n == 3)
		return BANK_WITHDRAW;
	return 0;
}

/* ======================= the client, against a fake server ======================= */

/* The fake cases that expect a request (not bad usage). */
static int fake_cases(const struct events *ev, const struct event **out, int max, bool usage)
{
	int n = 0;
	for (int i = 0; i < ev->n && n < max; i++)
		if (!strcmp(ev->list[i].word, "fake") && num(&ev->list[i], "usage", 0) == usage)
			out[n++] = &ev->list[i];
	cr_assert(n > 0, "grader error: the fake server ran no client");
	return n;
}

/* Why no request came: from the client's own calls. */
static const char *why_no_request(const struct run_result *r, const struct event *e, unsigned key)
{
	static char s[400];
	int pid = (int)num(e, "pid", 0);
	for (size_t i = 0; i < r->ncalls; i++) {
		const struct trace_call *c = &r->calls[i];
		if (is_call(c, "msgget", pid) && c->ret < 0) {
			snprintf(s, sizeof s, "its msgget(0x%08x, 0%o) failed with %s%s", c->key,
				 (unsigned)c->flags, strerror(c->err),
				 c->key != key ? ": the key must be ftok(\".\", 'B')" : "");
			return s;
		}
		if (is_call(c, "msgsnd", pid) && c->ret == 0 && c->mtype != BANK_REQUEST) {
			snprintf(s, sizeof s,
				 "it sent a message of mtype %ld: requests have mtype BANK_REQUEST "
				 "(1), the type the server receives",
				 c->mtype);
			return s;
		}
		if (is_call(c, "msgsnd", pid) && c->ret < 0) {
			snprintf(s, sizeof s, "its msgsnd failed with %s", strerror(c->err));
			return s;
		}
	}
	if (count_calls(r, "msgget", pid) == 0)
		return "it never called msgget to find the server's queue";
	if (count_calls(r, "msgsnd", pid) == 0)
		return "it never called msgsnd";
	return "no request of type 1 arrived";
}

/* Each request: type BANK_REQUEST, 24 bytes, the client's own pid, the op, account and amount. */
Test(lab, client_request, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("fake", true, &r, &ev);
	const struct event *key = find(&ev, "key", 0);
	cr_assert(key, "grader error: no key line");
	const struct event *cases[16];
	int n = fake_cases(&ev, cases, 16, false);
	for (int i = 0; i < n; i++) {
		const struct event *e = cases[i];
		long pid = num(e, "pid", 0), account, amount;
		const char *args = text(e, "args");
		int op = parse_args(args, &account, &amount);
		if (!num(e, "request", 0))
			cr_assert_fail(
			    "`bank-client %s` (pid %ld) sent no request the server could "
			    "receive: %s; it %s%s",
			    args, pid, why_no_request(&r, e, (unsigned)num(key, "value", 0)),
			    how_ended(e), said(e));
		cr_assert_eq(num(e, "len", 0), (long)BANK_REQUEST_SIZE,
			     "`bank-client %s` sent a request of %ld bytes, expected %zu: msgsz is "
			     "BANK_REQUEST_SIZE, the bytes after mtype, not sizeof(struct "
			     "bank_request)",
			     args, num(e, "len", 0), BANK_REQUEST_SIZE);
		cr_assert_eq(num(e, "rpid", 0), pid,
			     "`bank-client %s` (pid %ld) put %ld in the request's pid field: it "
			     "must be the client's own pid (getpid()), the mtype the server "
			     "replies with%s",
			     args, pid, num(e, "rpid", 0),
			     num(e, "rpid", 0) > 0 && num(e, "rpid", 0) <= 9
				 ? ". A fixed reply type is shared by every client: each would "
				   "take whichever reply comes first"
				 : "");
		cr_assert(num(e, "op", -1) == op && num(e, "account", -1) == account &&
			      num(e, "amount", -1) == amount,
			  "`bank-client %s`: the request said op %ld, account %ld, amount %ld; "
			  "expected op %d (BANK_%s), account %ld, amount %ld",
			  args, num(e, "op", -1), num(e, "account", -1), num(e, "amount", -1), op,
			  op == BANK_BALANCE   ? "BALANCE"
			  : op == BANK_DEPOSIT ? "DEPOSIT"
					       : "WITHDRAW",
			  account, amount);
	}
	/* The client finds the queue by the key, as the server created it. */
	for (size_t i = 0; i < r.ncalls; i++) {
		const struct trace_call *c = &r.calls[i];
		if (is_call(c, "msgget", 0) && c->pid != r.main_pid)
			cr_assert_eq(c->key, (unsigned)num(key, "value", 0),
				     "pid %d called msgget with the key 0x%08x; the server's key "
				     "is ftok(\".\", 'B') = 0x%08lx (BANK_KEY_PATH, BANK_KEY_PROJ)",
				     c->pid, c->key, num(key, "value", 0));
	}
	free_events(&ev);
	run_free(&r);
}

/* The reply a client received (its first successful msgrcv), or NULL. */
static const struct trace_call *received(const struct run_result *r, int pid)
{
	for (size_t i = 0; i < r->ncalls; i++)
		if (is_call(&r->calls[i], "msgrcv", pid) && r->calls[i].ret >= 0)
			return &r->calls[i];
	return NULL;
}

/* The line printed for what the reply said, and the exit status; usage errors: status 2. */
Test(lab, client_output, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("fake", true, &r, &ev);
	const struct event *cases[16];
	int n = fake_cases(&ev, cases, 16, false);
	for (int i = 0; i < n; i++) {
		const struct event *e = cases[i];
		long pid = num(e, "pid", 0);
		const char *args = text(e, "args"), *out = text(e, "out");
		if (num(e, "status", 0) > BANK_BAD_REQUEST)
			continue; /* no status of the protocol: client_unknown_status */
		const struct trace_call *got = received(&r, (int)pid);
		if (!got)
			cr_assert_fail("`bank-client %s` (pid %ld) never received a reply (no "
				       "successful msgrcv); it %s%s",
				       args, pid, how_ended(e), said(e));
		/* Judged on the reply it did receive: whether it was its own is another test. */
		struct bank_reply rep = wire_reply(got->data, got->shown);
		char want[160];
		int status = client_line(rep.status, rep.account, rep.balance, want, sizeof want);
		if (got->datalen < (long)BANK_REPLY_SIZE)
			cr_assert_fail(
			    "`bank-client %s` received only %ld bytes: receive with msgsz "
			    "BANK_REPLY_SIZE (%zu)",
			    args, got->datalen, BANK_REPLY_SIZE);
		if (strcmp(out, want) != 0) {
			keep_comparison(&r, want, out);
			cr_assert_fail("`bank-client %s` got a reply with status %d (%s), account "
				       "%ld, balance %ld, and printed \"%s\"; expected \"%s\"",
				       args, rep.status, status_name(rep.status), rep.account,
				       rep.balance, first_line(out), first_line(want));
		}
		cr_assert(!field(e, "killed") && !field(e, "signal") &&
			      num(e, "exit", -1) == status,
			  "`bank-client %s` printed the right line for %s, then %s; expected exit "
			  "status %d (0 for BANK_OK, 1 when the server refused)%s",
			  args, status_name(rep.status), how_ended(e), status, said(e));
	}
	n = fake_cases(&ev, cases, 16, true);
	for (int i = 0; i < n; i++) {
		const struct event *e = cases[i];
		const char *args = text(e, "args");
		cr_assert(num(e, "exit", -1) == 2,
			  "`bank-client %s` is bad usage: expected exit status 2 and the usage on "
			  "stderr; it %s%s",
			  args, how_ended(e), said(e));
		cr_assert(
		    !strncmp(text(e, "err"), "usage:", 6),
		    "`bank-client %s`: the usage line (\"usage: bank-client balance ACCOUNT | "
		    "...\") must be on stderr; stderr was \"%s\"",
		    args, first_line(text(e, "err")));
		cr_assert(!*text(e, "out"), "`bank-client %s` is bad usage but printed \"%s\"",
			  args, first_line(text(e, "out")));
		cr_assert(!num(e, "request", 0),
			  "`bank-client %s` is bad usage but sent a request to the server", args);
	}
	free_events(&ev);
	run_free(&r);
}

/* Each client receives with msgtyp = its pid, and so takes its own reply, never a decoy. */
Test(lab, client_own_reply, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("fake", true, &r, &ev);
	const struct event *cases[16];
	int n = fake_cases(&ev, cases, 16, false);
	for (int i = 0; i < n; i++) {
		const struct event *e = cases[i];
		long pid = num(e, "pid", 0);
		const char *args = text(e, "args");
		size_t calls = count_calls(&r, "msgrcv", (int)pid);
		if (calls == 0)
			cr_assert_fail("`bank-client %s` (pid %ld) never called msgrcv; it %s%s",
				       args, pid, how_ended(e), said(e));
		for (size_t k = 0; k < calls; k++) {
			const struct trace_call *c = nth_call(&r, "msgrcv", (int)pid, k);
			if (c->msgtyp == pid)
				continue;
			if (c->msgtyp == 0)
				cr_assert_fail(
				    "`bank-client %s` (pid %ld) received with msgtyp 0, which "
				    "takes "
				    "the oldest message of any type: here a reply queued for "
				    "another client (mtype %ld). Receive with msgtyp = getpid()",
				    args, pid, c->ret >= 0 ? c->mtype : 2L);
			cr_assert_fail(
			    "`bank-client %s` (pid %ld) received with msgtyp %ld: every "
			    "client must wait for the type nobody else uses, its own pid "
			    "(msgtyp = getpid()); %s",
			    args, pid, c->msgtyp,
			    c->msgtyp > 0 && c->msgtyp < 10
				? "with a fixed type, clients take each other's replies"
				: "otherwise it takes replies meant for others");
		}
		const struct trace_call *got = received(&r, (int)pid);
		cr_assert(got && got->mtype == pid,
			  "`bank-client %s` (pid %ld) did not receive its own reply (mtype %ld)",
			  args, pid, pid);
		char decoy[32];
		snprintf(decoy, sizeof decoy, "%ld", pid + DECOY_SHIFT);
		cr_assert(strstr(text(e, "left"), "2") && strstr(text(e, "left"), decoy),
			  "`bank-client %s` took a message that was not its reply: the queue kept "
			  "only %s, of the two decoys (mtype 2 and %s) queued ahead of its reply",
			  args, text(e, "left"), decoy);
	}
	free_events(&ev);
	run_free(&r);
}

/* No queue for the key: "bank-client: no server is running", exit 3, no queue created. */
Test(lab, client_no_server, .timeout = 60)
{
	static const char *const args[] = {"balance", "7", NULL};
	struct run_result r;
	run_student(
	    &(struct run_spec){.program = "bank-client", .args = args, .allow_failure = true}, &r);
	const struct trace_call *get = nth_call(&r, "msgget", r.main_pid, 0);
	if (get && (get->flags & IPC_CREAT))
		cr_expect_fail("bank-client called msgget with IPC_CREAT (flags 0%o): with no "
			       "server it created the queue itself, and then waited for a reply "
			       "nobody will send. Find the queue with msgget(key, 0), and report "
			       "ENOENT",
			       (unsigned)get->flags);
	expect_finished(&r);
	cr_assert(get, "bank-client never called msgget");
	cr_expect_eq(r.exit_code, 3,
		     "with no server, bank-client exited with status %d; expected 3%s%s",
		     r.exit_code, r.err_len ? "; its stderr says: " : "", last_line(r.err));
	cr_expect(
	    strstr(r.err, "bank-client: no server is running") != NULL,
	    "with no server (msgget failed with %s), stderr must say \"bank-client: no server "
	    "is running\"; it said \"%s\"",
	    strerror(get->err), last_line(r.err));
	cr_expect(r.nqueues == 0, "bank-client left a queue behind: it must never create one");
	run_free(&r);
}

/* The server removes its queue while the client waits: EIDRM, "the server went away", exit 3. */
Test(lab, client_server_gone, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("gone", true, &r, &ev);
	const struct event *e = find(&ev, "gone", 0);
	if (!e) {
		expect_finished(&r);
		cr_assert_fail("grader error: no result from the scenario");
	}
	const char *args = text(e, "args");
	int pid = (int)num(e, "pid", 0);
	cr_assert(num(e, "request", 0), "`bank-client %s` (pid %d) sent no request; it %s%s", args,
		  pid, how_ended(e), said(e));
	cr_assert(num(e, "waited", 0),
		  "`bank-client %s` (pid %d) did not wait in msgrcv for its reply; it %s%s", args,
		  pid, how_ended(e), said(e));
	if (field(e, "killed")) {
		size_t failed = 0;
		for (size_t i = 0; i < r.ncalls; i++)
			failed += is_call(&r.calls[i], "msgrcv", pid) && r.calls[i].ret < 0;
		char what[160];
		if (failed > 1)
			snprintf(what, sizeof what,
				 "was still running, calling msgrcv again and again (%zu failed "
				 "calls: EIDRM, then EINVAL)",
				 failed);
		else
			snprintf(what, sizeof what, "%s", how_ended(e));
		cr_assert_fail(
		    "the server's queue was removed while `bank-client %s` (pid %d) waited for its "
		    "reply; when the scenario gave up on it it %s. msgrcv fails with EIDRM: the "
		    "server is gone and no reply will ever come; print \"bank-client: the server "
		    "went away\" and exit 3",
		    args, pid, what);
	}
	cr_assert(num(e, "exit", -1) == 3 &&
		      strstr(text(e, "err"), "bank-client: the server went away"),
		  "when the queue is removed while it waits, `bank-client %s` must print "
		  "\"bank-client: the server went away\" on stderr and exit 3; it %s%s",
		  args, how_ended(e), said(e));
	free_events(&ev);
	run_free(&r);
}

/* A reply with a status the protocol does not have: nothing on stdout, a line on stderr, 3. */
Test(lab, client_unknown_status, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("fake", true, &r, &ev);
	const struct event *cases[16];
	int n = fake_cases(&ev, cases, 16, false), checked = 0;
	for (int i = 0; i < n; i++) {
		const struct event *e = cases[i];
		long status = num(e, "status", 0), pid = num(e, "pid", 0);
		if (status <= BANK_BAD_REQUEST)
			continue;
		checked++;
		const char *args = text(e, "args");
		if (!received(&r, (int)pid))
			cr_assert_fail("`bank-client %s` (pid %ld) never received its reply; it "
				       "%s%s",
				       args, pid, how_ended(e), said(e));
		char want[80];
		snprintf(want, sizeof want, "bank-client: reply with unknown status %ld", status);
		cr_assert(
		    !field(e, "killed") && !field(e, "signal") && num(e, "exit", -1) == 3 &&
			!*text(e, "out") && strstr(text(e, "err"), want),
		    "`bank-client %s` got a reply with status %ld, which is none of "
		    "BANK_OK, BANK_NO_ACCOUNT, BANK_NO_FUNDS, BANK_BAD_REQUEST: it must print "
		    "nothing on stdout, \"%s\" on stderr, and exit 3; it printed \"%s\" and "
		    "%s%s",
		    args, status, want, first_line(text(e, "out")), how_ended(e), said(e));
	}
	cr_assert(checked > 0, "grader error: the fake server sent no unknown status");
	free_events(&ev);
	run_free(&r);
}

/* The server goes away while the client is still sending (a full queue): EIDRM from msgsnd. */
Test(lab, client_send_server_gone, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("gonesend", true, &r, &ev);
	const struct event *e = find(&ev, "gonesend", 0);
	if (!e) {
		expect_finished(&r);
		cr_assert_fail("grader error: no result from the scenario");
	}
	const char *args = text(e, "args");
	int pid = (int)num(e, "pid", 0);
	cr_assert(num(e, "blocked", 0),
		  "`bank-client %s` (pid %d) never blocked in msgsnd on the server's full queue; "
		  "it %s%s",
		  args, pid, how_ended(e), said(e));
	cr_assert(!field(e, "killed") && num(e, "exit", -1) == 3 &&
		      strstr(text(e, "err"), "bank-client: the server went away"),
		  "the server's queue was removed while `bank-client %s` (pid %d) was blocked "
		  "sending its request to the full queue: msgsnd fails with EIDRM, and the "
		  "client must print \"bank-client: the server went away\" on stderr and exit 3 "
		  "(as for msgrcv); it %s%s",
		  args, pid, how_ended(e), said(e));
	free_events(&ev);
	run_free(&r);
}

/* ======================= the server ======================= */

/* The queue's key, flags and mode; and a queue left by another server is never taken over. */
Test(lab, server_key, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("shutdown", false, &r, &ev);
	const struct event *key = find(&ev, "key", 0), *srv = find(&ev, "server", 0);
	cr_assert(key && srv, "grader error: no key or server line");
	int pid = (int)num(srv, "pid", 0);
	const struct trace_call *get = nth_call(&r, "msgget", pid, 0);
	cr_assert(get, "bank-server (pid %d) never called msgget", pid);
	cr_assert_eq(get->key, (unsigned)num(key, "value", 0),
		     "bank-server created its queue with the key 0x%08x%s; clients look for "
		     "ftok(\".\", 'B') = 0x%08lx (BANK_KEY_PATH \".\": the folder it runs in, "
		     "whatever HOME says)",
		     get->key, get->key == 0 ? " (IPC_PRIVATE: nobody else can find it)" : "",
		     num(key, "value", 0));
	cr_assert((get->flags & (IPC_CREAT | IPC_EXCL)) == (IPC_CREAT | IPC_EXCL),
		  "bank-server called msgget with flags 0%o: it needs IPC_CREAT | IPC_EXCL, so "
		  "that it never takes over a queue that exists already",
		  (unsigned)get->flags);
	cr_assert((get->flags & 0777) == 0600,
		  "bank-server created its queue with mode 0%o; the contract says 0600",
		  (unsigned)get->flags & 0777);
	free_events(&ev);
	run_free(&r);

	/* A queue already exists for the key: the server must refuse, and leave it alone. Only in
	 * a private IPC namespace: in fallback mode the setup's queue would be on the host, where
	 * the sandbox neither sees it nor removes it. */
	const char *mode = getenv("MSGLAB_MODE");
	if (mode && !strcmp(mode, "fallback"))
		return;
	run_student(&(struct run_spec){.program = "bank-server",
				       .setup = "{tools}/scenario stale",
				       .allow_failure = true},
		    &r);
	get = nth_call(&r, "msgget", r.main_pid, 0);
	if (r.timed_out && get && get->ret >= 0)
		cr_assert_fail(
		    "a queue already existed for the key (%s), but bank-server's "
		    "msgget(0x%08x, 0%o) succeeded and it went on serving: with IPC_EXCL "
		    "msgget fails with EEXIST; then say so on stderr and exit 1",
		    r.setup_output, get->key, (unsigned)get->flags);
	expect_finished(&r);
	cr_assert(get, "bank-server never called msgget");
	cr_expect(r.exit_code == 1 && strstr(r.err, "already exists"),
		  "with a queue already there for the key, bank-server must exit 1 with a message "
		  "on stderr that says it \"already exists\"; it exited with status %d, stderr: %s",
		  r.exit_code, last_line(r.err));
	cr_expect(r.nqueues == 1 && count_calls(&r, "msgctl", 0) == 0,
		  "bank-server must not remove a queue it did not create");
	run_free(&r);
}

/* What a server's blocking receives used (the purge's IPC_NOWAIT receives are apart). */
static void check_server_receives(const struct run_result *r, int server)
{
	for (size_t i = 0; i < r->ncalls; i++) {
		const struct trace_call *c = &r->calls[i];
		if (!is_call(c, "msgrcv", server) || (c->flags & IPC_NOWAIT))
			continue;
		cr_assert(c->msgtyp == BANK_REQUEST,
			  "bank-server (pid %d) waited for requests with msgtyp %ld: requests "
			  "have mtype BANK_REQUEST (1), and only msgtyp 1 leaves the replies "
			  "queued for the clients to take",
			  server, c->msgtyp);
	}
}

/* The replies to the tool's valid requests, by the model of the bank; none to malformed ones. */
Test(lab, server_replies, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("replies", true, &r, &ev);
	require_server_ready(&r, &ev);
	require_queue_found(&r, &ev);
	const struct event *srv = find(&ev, "server", 0);
	int server = (int)num(srv, "pid", 0);
	check_server_receives(&r, server);
	int replies = 0;
	for (size_t i = 0; i < r.ncalls; i++) {
		const struct trace_call *c = &r.calls[i];
		if (!is_call(c, "msgsnd", server))
			continue;
		cr_assert(c->mtype != BANK_REQUEST,
			  "bank-server sent a message of mtype 1 (BANK_REQUEST): a reply to a "
			  "request whose pid field said 1. It would come back to the server as a "
			  "request; drop requests whose pid is not above 1");
		cr_assert(c->mtype == r.main_pid,
			  "bank-server sent a reply with mtype %ld; every request here came from "
			  "pid %d with its pid in the request, so every reply must have mtype %d",
			  c->mtype, r.main_pid, r.main_pid);
		cr_assert(c->msgsz == (long)BANK_REPLY_SIZE,
			  "bank-server sent a reply with msgsz %ld; expected BANK_REPLY_SIZE (%zu)",
			  c->msgsz, BANK_REPLY_SIZE);
		replies += c->ret == 0;
	}
	struct bank bank;
	memset(&bank, 0, sizeof bank);
	int expected_replies = 0;
	for (int i = 0; i < ev.n; i++) {
		const struct event *e = &ev.list[i];
		if (strcmp(e->word, "ask") != 0)
			continue;
		const char *kind = text(e, "kind");
		int op = (int)num(e, "op", 0);
		long account = num(e, "account", 0), amount = num(e, "amount", 0), balance;
		char what[160], opname[16];
		snprintf(opname, sizeof opname, "%s",
			 op >= BANK_BALANCE && op <= BANK_WITHDRAW ? op_name(op) : "unknown op");
		snprintf(what, sizeof what, "request %ld (%s %d, account %ld, amount %ld%s%s)",
			 num(e, "n", 0), opname, op, account, amount,
			 strcmp(kind, "valid") ? ", " : "", strcmp(kind, "valid") ? kind : "");
		if (!strcmp(kind, "short") || strstr(kind, "pid"))
			continue; /* no reply due: the trace checks above cover these */
		int status = bank_apply(&bank, op, account, amount, &balance);
		expected_replies++;
		cr_assert(num(e, "sent", 0), "grader error: %s could not be sent", what);
		if (!num(e, "got", 0)) {
			const struct event *end = find(&ev, "server-end", 0);
			cr_assert_fail("%s got no reply (%s)%s%s%s", what, text(e, "why"),
				       end ? "; bank-server " : "", end ? how_ended(end) : "",
				       end ? said(end) : "");
		}
		cr_assert(num(e, "status", -1) == status && num(e, "balance", -1) == balance &&
			      num(e, "rop", -1) == op && num(e, "raccount", -1) == account,
			  "%s: expected status %d (%s), op %d, account %ld, balance %ld; the reply "
			  "said status %ld, op %ld, account %ld, balance %ld%s",
			  what, status, status_name(status), op, account, balance,
			  num(e, "status", -1), num(e, "rop", -1), num(e, "raccount", -1),
			  num(e, "balance", -1), replay_note());
	}
	cr_assert(expected_replies > 20, "grader error: too few requests");
	const struct event *extra = find(&ev, "extra-reply", 0);
	cr_assert(!extra && replies == expected_replies,
		  "bank-server sent %d replies for %d well-formed requests: a request shorter "
		  "than BANK_REQUEST_SIZE, or whose pid is not above 1, gets no reply",
		  replies, expected_replies);
	free_events(&ev);
	run_free(&r);
}

/* ---- the crowd ---- */

struct crowd_client {
	const struct event *e;
	int pid, wave;
	char want[160];
	int status;
};

/* Each of CROWD clients at once, twice: exactly its own answer; every reply routed by pid. */
Test(lab, crowd, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("crowd", true, &r, &ev);
	require_server_ready(&r, &ev);
	require_queue_found(&r, &ev);
	int server = (int)num(find(&ev, "server", 0), "pid", 0);
	static struct crowd_client cl[64];
	int n = 0;
	struct bank bank;
	memset(&bank, 0, sizeof bank);
	/* Within a wave every client has an account of its own: the order does not matter. */
	for (int i = 0; i < ev.n && n < 64; i++) {
		const struct event *e = &ev.list[i];
		if (strcmp(e->word, "client") != 0)
			continue;
		long account, amount, balance;
		int op = parse_args(text(e, "args"), &account, &amount);
		int status = bank_apply(&bank, op, account, amount, &balance);
		cl[n].e = e;
		cl[n].pid = (int)num(e, "pid", 0);
		cl[n].wave = (int)num(e, "wave", 0);
		cl[n].status = client_line(status, account, balance, cl[n].want, sizeof cl[n].want);
		n++;
	}
	const struct event *end = find(&ev, "server-end", 0);
	cr_assert(n > 0, "grader error: no client ran");
	/* Routing first: the trace says who got what. */
	check_server_receives(&r, server);
	for (int i = 0; i < n; i++) {
		int pid = cl[i].pid;
		const char *args = text(cl[i].e, "args");
		int requests = 0, got = 0;
		for (size_t k = 0; k < r.ncalls; k++) {
			const struct trace_call *c = &r.calls[k];
			if (is_call(c, "msgsnd", pid) && c->ret == 0 && c->mtype == BANK_REQUEST) {
				struct bank_request req = wire_request(c->data, c->shown);
				cr_assert(
				    req.pid == pid,
				    "client pid %d (`bank-client %s`) sent a request with pid "
				    "%d in it: the server replies with that mtype, so it must "
				    "be the client's own pid",
				    pid, args, (int)req.pid);
				requests++;
			}
			if (is_call(c, "msgrcv", pid)) {
				cr_assert(c->msgtyp == pid,
					  "client pid %d (`bank-client %s`) received with msgtyp "
					  "%ld: with %d clients at once, only msgtyp = its own pid "
					  "is sure to give it its own reply",
					  pid, args, c->msgtyp, n / 2);
				if (c->ret >= 0) {
					cr_assert(c->mtype == pid,
						  "client pid %d received a message of mtype %ld, "
						  "not its own reply",
						  pid, c->mtype);
					got++;
				}
			}
		}
		if (requests == 0)
			cr_assert_fail("client pid %d (`bank-client %s`) sent no request: it %s%s",
				       pid, args, how_ended(cl[i].e), said(cl[i].e));
		if (requests != 1)
			cr_assert_fail(
			    "client pid %d (`bank-client %s`) sent %d requests, expected "
			    "exactly one",
			    pid, args, requests);
		if (got == 0) {
			cr_assert_fail(
			    "client pid %d (`bank-client %s`) never got its reply: it %s%s%s", pid,
			    args, how_ended(cl[i].e), said(cl[i].e),
			    end && num(end, "before", 0) ? "; bank-server had ended" : "");
		}
	}
	/* Every request the server took gets exactly one reply, with mtype = its pid. */
	for (size_t k = 0; k < r.ncalls; k++) {
		const struct trace_call *c = &r.calls[k];
		if (!is_call(c, "msgrcv", server) || c->ret < 0 || c->mtype != BANK_REQUEST)
			continue;
		struct bank_request req = wire_request(c->data, c->shown);
		int replies = 0;
		for (size_t j = k + 1; j < r.ncalls; j++) {
			const struct trace_call *s = &r.calls[j];
			if (is_call(s, "msgsnd", server) && s->ret == 0 && s->mtype == req.pid)
				replies++;
		}
		cr_assert(replies == 1,
			  "bank-server took the request of pid %d and sent %d replies with mtype "
			  "%d: exactly one reply per request, with mtype = the request's pid",
			  (int)req.pid, replies, (int)req.pid);
	}
	for (size_t k = 0; k < r.ncalls; k++) {
		const struct trace_call *s = &r.calls[k];
		if (!is_call(s, "msgsnd", server) || s->ret != 0)
			continue;
		bool asked = false;
		for (int i = 0; i < n; i++)
			asked |= s->mtype == cl[i].pid;
		cr_assert(asked,
			  "bank-server sent a reply with mtype %ld, which is no client's pid: the "
			  "reply's mtype must be the pid from the request",
			  s->mtype);
	}
	/* Then what each printed. */
	for (int i = 0; i < n; i++) {
		const char *args = text(cl[i].e, "args"), *out = text(cl[i].e, "out");
		if (strcmp(out, cl[i].want) != 0) {
			const char *whose = NULL;
			for (int j = 0; j < n; j++)
				if (j != i && cl[j].wave == cl[i].wave && !strcmp(out, cl[j].want))
					whose = text(cl[j].e, "args");
			keep_comparison(&r, cl[i].want, out);
			cr_assert_fail("client pid %d (`bank-client %s`, wave %d) printed \"%s\", "
				       "expected \"%s\"%s%s%s%s",
				       cl[i].pid, args, cl[i].wave, first_line(out),
				       first_line(cl[i].want),
				       whose ? ": that is the answer for `bank-client " : "",
				       whose ? whose : "", whose ? "`" : "", replay_note());
		}
		cr_assert(
		    num(cl[i].e, "exit", -1) == cl[i].status,
		    "client pid %d (`bank-client %s`) printed the right line but %s; expected "
		    "exit status %d",
		    cl[i].pid, args, how_ended(cl[i].e), cl[i].status);
	}
	cr_assert(n == 2 * 24, "grader error: expected 48 clients, saw %d", n);
	free_events(&ev);
	run_free(&r);
}

/* ---- signals ---- */

/* SIGTERM, then SIGINT (another server): each removes its queue, says so, and exits 0. */
Test(lab, clean_shutdown, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("shutdown", false, &r, &ev);
	for (int k = 0; k < 2; k++) {
		const struct event *srv = find(&ev, "server", k), *end = find(&ev, "server-end", k);
		const struct event *after = find(&ev, "queue-after", k);
		cr_assert(srv && end && after, "grader error: server %d did not run", k + 1);
		if (num(end, "before", 0))
			cr_assert_fail("bank-server %s before any signal was sent%s",
				       how_ended(end), said(end));
		const char *sig = text(end, "sig");
		int pid = (int)num(srv, "pid", 0);
		const struct trace_call *get = nth_call(&r, "msgget", pid, 0);
		long id = get ? get->ret : -1;
		if (field(end, "signal") && num(end, "signal", 0) == signal_number_of(sig))
			cr_assert_fail(
			    "SIG%s killed bank-server (pid %d): without a handler, SIG%s ends the "
			    "process at once and the queue stays behind. Install a handler with "
			    "sigaction that sets a flag; the blocked msgrcv then fails with EINTR "
			    "and the loop sees the flag",
			    sig, pid, sig);
		if (field(end, "killed"))
			cr_assert_fail(
			    "bank-server (pid %d) did not end after SIG%s: it was still %s%s when "
			    "the scenario gave up. The signal interrupts msgrcv (EINTR); the loop "
			    "must then see the flag the handler set, remove the queue and exit 0",
			    pid, sig, strcmp(text(end, "blocked"), "running") ? "blocked in " : "",
			    text(end, "blocked"));
		cr_assert(
		    num(end, "exit", -1) == 0,
		    "after SIG%s bank-server (pid %d) %s%s; expected exit status 0%s", sig, pid,
		    how_ended(end), said(end),
		    strstr(text(end, "err"), "Interrupted")
			? ": EINTR from msgrcv is how the signal reaches the loop, not an error"
			: "");
		bool removed = false;
		for (size_t i = 0; i < r.ncalls; i++) {
			const struct trace_call *c = &r.calls[i];
			removed |= is_call(c, "msgctl", pid) && c->cmd == IPC_RMID && c->ret == 0 &&
				   c->msqid == id;
		}
		cr_assert(removed && num(after, "id", 0) < 0,
			  "after SIG%s bank-server (pid %d) exited 0 but %s: msgctl(msqid, "
			  "IPC_RMID, NULL) before exiting, or the queue outlives the server",
			  sig, pid,
			  num(after, "id", 0) >= 0 ? "its queue was still there"
						   : "did not remove its queue itself");
		char want[64];
		snprintf(want, sizeof want, "bank-server: queue %ld removed\n", id);
		const char *out = text(end, "out");
		size_t len = strlen(out), wl = strlen(want);
		cr_assert(
		    len >= wl && !strcmp(out + len - wl, want),
		    "after SIG%s the last line of bank-server's stdout must be \"%.*s\"; stdout "
		    "was \"%s\"",
		    sig, (int)wl - 1, want, out);
	}
	free_events(&ev);
	run_free(&r);
}

/* The tool's request n of this run, answered with this balance; fails if not. */
static void expect_answer(const struct events *ev, int n, long balance, const char *when)
{
	const struct event *a = find_by(ev, "ask", "n", n);
	const struct event *end = find(ev, "server-end", 0);
	cr_assert(a, "%s, bank-server was no longer there to ask%s%s", when, end ? ": it " : "",
		  end ? how_ended(end) : "");
	cr_assert(num(a, "got", 0), "%s, a request (%s of account %ld) got no reply (%s)%s%s%s",
		  when, op_name((int)num(a, "op", 0)), num(a, "account", 0), text(a, "why"),
		  end ? "; bank-server " : "", end ? how_ended(end) : "", end ? said(end) : "");
	cr_assert(num(a, "status", -1) == BANK_OK && num(a, "balance", -1) == balance,
		  "%s, %s of account %ld: expected BANK_OK and balance %ld, got status %ld and "
		  "balance %ld",
		  when, op_name((int)num(a, "op", 0)), num(a, "account", 0), balance,
		  num(a, "status", -1), num(a, "balance", -1));
}

/* SIGUSR1 while the server waits in msgrcv: EINTR, the statistics, and it goes on serving. */
Test(lab, eintr_keeps_serving, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("signals", false, &r, &ev);
	require_server_ready(&r, &ev);
	require_queue_found(&r, &ev);
	int server = (int)num(find(&ev, "server", 0), "pid", 0);
	const struct event *end = find(&ev, "server-end", 0);
	expect_answer(&ev, 1, 100, "before any signal");
	for (int n = 1; n <= 2; n++) {
		const struct event *u = find_by(&ev, "usr1", "n", n);
		const struct event *ni = find(&ev, "not-idle", 0);
		if (!u)
			cr_assert_fail(
			    "bank-server (pid %d) was not back in msgrcv, waiting, after "
			    "request %d (%s%s)",
			    server, n, ni ? text(ni, "when") : "?",
			    ni && field(ni, "where") ? text(ni, "where") : "");
		if (!num(u, "alive", 0)) {
			cr_assert(end, "grader error: no server-end line");
			if (field(end, "signal") && num(end, "signal", 0) == SIGUSR1)
				cr_assert_fail(
				    "SIGUSR1 killed bank-server (pid %d): without a handler, "
				    "SIGUSR1 ends a process. Install one with sigaction "
				    "that sets a flag; the loop prints the statistics",
				    server);
			cr_assert_fail(
			    "after SIGUSR1 (number %d) bank-server (pid %d) %s%s. The signal "
			    "interrupts the blocked msgrcv, which fails with EINTR (even with "
			    "SA_RESTART: System V calls are never restarted): that is not an "
			    "error; act on the flags and call msgrcv again",
			    n, server, how_ended(end), said(end));
		}
		char want[80];
		snprintf(want, sizeof want, "stats: %d served, 0 orphans removed, 0 dropped", n);
		cr_assert(num(u, "printed", 0),
			  "after SIGUSR1 (number %d) bank-server printed no \"bank-server: stats: "
			  "...\" line before it went back to waiting (stdout must be "
			  "line-buffered or flushed)",
			  n);
		cr_assert(!strcmp(text(u, "stats"), want),
			  "after SIGUSR1 (number %d) bank-server printed \"bank-server: %s\"; "
			  "expected \"bank-server: %s\"",
			  n, text(u, "stats"), want);
		expect_answer(&ev, n + 1, 70,
			      n == 1 ? "after the first SIGUSR1" : "after the second SIGUSR1");
	}
	/* The trace: msgrcv failed with EINTR, and the server called it again afterwards. */
	bool interrupted = false, again = false;
	for (size_t i = 0; i < r.ncalls; i++) {
		const struct trace_call *c = &r.calls[i];
		if (!is_call(c, "msgrcv", server))
			continue;
		if (interrupted)
			again = true;
		if (c->ret < 0 && c->err == EINTR)
			interrupted = true;
	}
	cr_assert(interrupted,
		  "no msgrcv of bank-server (pid %d) failed with EINTR, although "
		  "SIGUSR1 came while it waited: was it waiting in msgrcv?",
		  server);
	cr_assert(again, "after its msgrcv failed with EINTR, bank-server never called msgrcv "
			 "again");
	free_events(&ev);
	run_free(&r);
}

/* Clients that exit before their reply must not fill the queue for good. */
Test(lab, orphans_reclaimed, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("orphans", true, &r, &ev);
	require_server_ready(&r, &ev);
	require_queue_found(&r, &ev);
	int server = (int)num(find(&ev, "server", 0), "pid", 0);
	const struct event *q = find(&ev, "queue", 0);
	int dying = 0, orphaned = 0;
	for (int i = 0; i < ev.n; i++) {
		const struct event *e = &ev.list[i];
		if (strcmp(e->word, "dying") != 0)
			continue;
		dying++;
		if (num(e, "stuck", 0)) {
			/* The replies still queued for clients that had exited. */
			for (size_t k = 0; k < r.ncalls; k++) {
				const struct trace_call *c = &r.calls[k];
				if (is_call(c, "msgsnd", server) && c->ret == 0)
					orphaned++;
				if (is_call(c, "msgrcv", server) && c->ret >= 0 &&
				    c->mtype != BANK_REQUEST)
					orphaned--;
			}
			cr_assert_fail(
			    "client %ld (pid %ld) could not even send its request: it was blocked "
			    "in %s, because the queue (msg_qbytes %ld) held %ld messages, %ld "
			    "bytes. Before it, %d clients had sent a request and exited without "
			    "reading the reply; bank-server (pid %d, %s) had left %d of their "
			    "replies queued. Before each reply, when the queue is at least half "
			    "full, remove the replies to the remembered clients that no longer "
			    "exist (kill(pid, 0) fails with ESRCH): msgrcv(msqid, &reply, size, "
			    "pid, IPC_NOWAIT)",
			    num(e, "k", 0), num(e, "pid", 0), text(e, "where"), num(q, "qbytes", 0),
			    num(e, "qnum", 0), num(e, "cbytes", 0), dying - 1, server,
			    !strcmp(text(e, "server"), "msgrcv") ? "itself waiting for requests"
								 : text(e, "server"),
			    orphaned);
		}
		cr_assert(num(e, "exit", -1) == 0,
			  "client %ld (pid %ld) failed to send its request", num(e, "k", 0),
			  num(e, "pid", 0));
	}
	const struct event *end = find(&ev, "server-end", 0);
	if (dying < 40 || !find(&ev, "after-dying", 0))
		cr_assert_fail(
		    "bank-server (pid %d) %s while clients exited before their replies%s", server,
		    end ? how_ended(end) : "stopped serving", end ? said(end) : "");
	for (int n = 1; n <= 5; n++) {
		const struct event *a = find_by(&ev, "ask", "n", n);
		cr_assert(a, "bank-server was no longer there to ask");
		long account = num(a, "account", 0);
		char when[96];
		snprintf(when, sizeof when, "after %d clients had exited without their replies",
			 dying);
		expect_answer(&ev, n, 7 * (account + 1), when);
	}
	free_events(&ev);
	run_free(&r);
}

/* Replies that cannot fit are dropped (IPC_NOWAIT, EAGAIN) and logged; the server goes on. */
Test(lab, full_queue_drop, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("fullqueue", false, &r, &ev);
	require_server_ready(&r, &ev);
	require_queue_found(&r, &ev);
	int server = (int)num(find(&ev, "server", 0), "pid", 0);
	const struct event *a = find(&ev, "fq-client", 0), *b = find(&ev, "fq-client", 1);
	const struct event *third = find(&ev, "third", 0), *end = find(&ev, "server-end", 0);
	if (!a || !b || !third) {
		cr_assert_fail("grader error: the scenario did not get to the full queue");
	}
	int pid_a = (int)num(a, "pid", 0), pid_b = (int)num(b, "pid", 0);
	if (!num(third, "answered", 0)) {
		const char *where = text(third, "server");
		if (!strcmp(where, "msgsnd"))
			cr_assert_fail(
			    "bank-server (pid %d) blocked in msgsnd: the reply to pid %d did not "
			    "fit "
			    "in the full queue, and a msgsnd without IPC_NOWAIT waits for room. "
			    "Meanwhile no request is served; the third client (whose reply would "
			    "fit) waited in vain. Send replies with IPC_NOWAIT and drop one that "
			    "fails with EAGAIN",
			    server, pid_a);
		cr_assert_fail("the third client got no reply although its reply would fit; "
			       "bank-server (pid %d) %s%s",
			       server, strcmp(where, "ended") ? "was " : "",
			       strcmp(where, "ended") ? where : (end ? how_ended(end) : "ended"));
	}
	for (size_t i = 0; i < r.ncalls; i++) {
		const struct trace_call *c = &r.calls[i];
		if (is_call(c, "msgsnd", server))
			cr_assert(c->flags & IPC_NOWAIT,
				  "bank-server sent the reply to pid %ld without IPC_NOWAIT (flags "
				  "0%o): a full queue would block the whole server",
				  c->mtype, (unsigned)c->flags);
	}
	int pids[2] = {pid_a, pid_b};
	for (int k = 0; k < 2; k++) {
		bool tried = false;
		for (size_t i = 0; i < r.ncalls; i++) {
			const struct trace_call *c = &r.calls[i];
			tried |= is_call(c, "msgsnd", server) && c->mtype == pids[k] &&
				 c->ret < 0 && c->err == EAGAIN;
		}
		cr_assert(tried,
			  "bank-server never tried to send the reply to pid %d (it should "
			  "have failed with EAGAIN: the queue was full)",
			  pids[k]);
		char want[80];
		snprintf(want, sizeof want, "bank-server: reply to pid %d dropped: queue full",
			 pids[k]);
		cr_assert(end && strstr(text(end, "err"), want),
			  "the dropped reply to pid %d must be logged on stderr as \"%s\"; stderr "
			  "was \"%s\"",
			  pids[k], want, end ? last_line(text(end, "err")) : "?");
	}
	expect_answer(&ev, 1, 100, "after two replies were dropped (the deposits stand)");
	expect_answer(&ev, 2, 300, "after two replies were dropped");
	free_events(&ev);
	run_free(&r);
}

/* ---- what the server says ---- */

/* "serving on queue Q" as soon as it waits (line-buffered), "queue Q removed" at the end; an
 * argument is bad usage: exit 2, the usage on stderr, no queue. */
Test(lab, server_output, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("shutdown", false, &r, &ev);
	require_server_ready(&r, &ev);
	const struct event *srv = find(&ev, "server", 0), *ready = find(&ev, "ready", 0);
	const struct event *end = find(&ev, "server-end", 0);
	int pid = (int)num(srv, "pid", 0);
	const struct trace_call *get = nth_call(&r, "msgget", pid, 0);
	cr_assert(get && get->ret >= 0, "bank-server (pid %d) created no queue", pid);
	char serving[80], all[160];
	snprintf(serving, sizeof serving, "bank-server: serving on queue %ld\n", get->ret);
	snprintf(all, sizeof all, "%sbank-server: queue %ld removed\n", serving, get->ret);
	cr_assert(!strcmp(text(ready, "out"), serving),
		  "while bank-server (pid %d) waited for requests its stdout held \"%s\"; "
		  "expected \"%.*s\", printed once the queue exists, and on stdout at once "
		  "(line-buffered: setvbuf(stdout, NULL, _IOLBF, 0))",
		  pid, first_line(text(ready, "out")), (int)strlen(serving) - 1, serving);
	cr_assert(end && !strcmp(text(end, "out"), all),
		  "bank-server's whole stdout must be the two lines \"%.*s\" and \"bank-server: "
		  "queue %ld removed\", nothing else; it was \"%s\"",
		  (int)strlen(serving) - 1, serving, get->ret, end ? text(end, "out") : "?");
	free_events(&ev);
	run_free(&r);

	static const char *const args[] = {"-v", NULL};
	run_student(
	    &(struct run_spec){.program = "bank-server", .args = args, .allow_failure = true}, &r);
	if (r.timed_out && count_calls(&r, "msgget", 0))
		cr_assert_fail("`bank-server -v` went on serving: any argument is bad usage "
			       "(usage on stderr, exit 2)");
	expect_finished(&r);
	cr_assert(r.exit_code == 2 && strstr(r.err, "usage"),
		  "`bank-server -v`: any argument is bad usage: \"usage: bank-server\" on stderr, "
		  "exit 2; it exited with status %d%s%s",
		  r.exit_code, r.err_len ? "; its stderr says: " : "", last_line(r.err));
	cr_assert(count_calls(&r, "msgget", 0) == 0 && r.nqueues == 0,
		  "`bank-server -v` is bad usage but created a queue");
	run_free(&r);
}

/* The queue removed under the waiting server: msgrcv fails (EIDRM), not with EINTR: exit 1. */
Test(lab, server_queue_removed, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("removed", false, &r, &ev);
	require_server_ready(&r, &ev);
	require_queue_found(&r, &ev);
	int pid = (int)num(find(&ev, "server", 0), "pid", 0);
	const struct event *end = find(&ev, "server-end", 0);
	cr_assert(end, "grader error: no server-end line");
	size_t failed = 0;
	for (size_t i = 0; i < r.ncalls; i++)
		failed += is_call(&r.calls[i], "msgrcv", pid) && r.calls[i].ret < 0 &&
			  r.calls[i].err != EINTR;
	if (field(end, "killed"))
		cr_assert_fail("its queue was removed while bank-server (pid %d) waited in msgrcv, "
			       "and it did not stop: it was still %s%s when the scenario gave up "
			       "(%zu failed msgrcv calls). Only EINTR means \"go round the loop\"; "
			       "any other failure (here EIDRM, then EINVAL) is fatal: a message on "
			       "stderr, exit 1",
			       pid, strcmp(text(end, "blocked"), "running") ? "blocked in " : "",
			       text(end, "blocked"), failed);
	/* Counted in the record, not timed: a loaded machine may stop a looping server with
	 * SIGTERM first, and its handler then ends it "cleanly". */
	cr_assert(failed <= 1,
		  "its queue was removed while bank-server (pid %d) waited in msgrcv, and msgrcv "
		  "then failed %zu times: the server went round the loop. Only EINTR means \"go "
		  "round the loop\"; any other failure (EIDRM, then EINVAL) is fatal: a message on "
		  "stderr, exit 1",
		  pid, failed);
	cr_assert(num(end, "exit", -1) == 1 && *text(end, "err"),
		  "its queue was removed while bank-server (pid %d) waited in msgrcv (which then "
		  "fails with EIDRM): it must say so on stderr (\"bank-server: msgrcv: ...\") and "
		  "exit 1; it %s%s",
		  pid, how_ended(end), said(end));
	free_events(&ev);
	run_free(&r);
}

/* The lines on stderr for the requests the server drops. */
Test(lab, server_logs_drops, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("replies", true, &r, &ev);
	require_server_ready(&r, &ev);
	require_queue_found(&r, &ev);
	const struct event *end = find(&ev, "server-end", 0);
	cr_assert(end, "grader error: no server-end line");
	const char *err = text(end, "err");
	int checked = 0;
	for (int i = 0; i < ev.n; i++) {
		const struct event *e = &ev.list[i];
		const char *kind = text(e, "kind");
		if (strcmp(e->word, "ask") != 0 || !strcmp(kind, "valid") ||
		    !strcmp(kind, "oversized"))
			continue;
		char want[96];
		if (!strcmp(kind, "short"))
			snprintf(want, sizeof want,
				 "bank-server: malformed request of %ld bytes "
				 "dropped",
				 num(e, "size", 0));
		else
			snprintf(want, sizeof want,
				 "bank-server: request with invalid pid %ld "
				 "dropped",
				 num(e, "pid", 0));
		checked++;
		cr_assert(strstr(err, want),
			  "request %ld (%s) must be dropped with the line \"%s\" on stderr; "
			  "bank-server's stderr was \"%s\"%s",
			  num(e, "n", 0), kind, want, *err ? last_line(err) : "empty",
			  replay_note());
	}
	cr_assert(checked == 4, "grader error: expected 4 malformed requests, saw %d", checked);
	free_events(&ev);
	run_free(&r);
}

/* The counts in the stats line: O orphans removed (and the lines saying so), D dropped. */
Test(lab, stats_counts, .timeout = 60)
{
	struct run_result r;
	struct events ev;
	run_scenario("orphans", true, &r, &ev);
	require_server_ready(&r, &ev);
	require_queue_found(&r, &ev);
	int server = (int)num(find(&ev, "server", 0), "pid", 0);
	const struct event *u = find(&ev, "usr1", 0), *end = find(&ev, "server-end", 0);
	cr_assert(u && end && num(u, "printed", 0),
		  "bank-server (pid %d) printed no stats line for SIGUSR1 after the orphans: "
		  "orphans_reclaimed and eintr_keeps_serving say why",
		  server);
	long purged = 0, served = 0, dropped = 0, said_removed = 0;
	for (size_t i = 0; i < r.ncalls; i++) {
		const struct trace_call *c = &r.calls[i];
		if (is_call(c, "msgrcv", server) && c->ret >= 0 && c->mtype != BANK_REQUEST)
			purged++;
		served += is_call(c, "msgrcv", server) && c->ret >= 0 && c->mtype == BANK_REQUEST;
		dropped += is_call(c, "msgsnd", server) && c->ret < 0 && c->err == EAGAIN;
	}
	const char *err = text(end, "err");
	for (const char *p = err; (p = strstr(p, "bank-server: removed ")) != NULL; p++) {
		long n = 0;
		if (sscanf(p, "bank-server: removed %ld orphaned replies", &n) == 1)
			said_removed += n;
	}
	char want[160];
	snprintf(want, sizeof want,
		 "bank-server: stats: %ld served, %ld orphans removed, %ld dropped", served, purged,
		 dropped);
	cr_assert(!strcmp(text(u, "stats"), want + strlen("bank-server: ")),
		  "after %ld requests (its msgrcv calls with msgtyp 1), %ld orphaned replies "
		  "removed (its msgrcv calls with msgtyp = a pid) and %ld replies dropped (msgsnd "
		  "failed with EAGAIN), bank-server printed \"bank-server: %s\"; expected \"%s\": "
		  "R counts every request applied, O every orphaned reply removed, D every reply "
		  "dropped%s",
		  served, purged, dropped, text(u, "stats"), want, replay_note());
	cr_assert(said_removed == purged && purged > 0,
		  "bank-server removed %ld orphaned replies; its stderr must say so, one line "
		  "\"bank-server: removed N orphaned replies\" per clean-up with N > 0; the lines "
		  "added up to %ld%s",
		  purged, said_removed, replay_note());
	free_events(&ev);
	run_free(&r);

	/* Two replies dropped (the full queue): D is 2, R counts them too. */
	run_scenario("fullqueue", false, &r, &ev);
	require_server_ready(&r, &ev);
	require_queue_found(&r, &ev);
	u = find(&ev, "usr1", 0);
	cr_assert(u && num(u, "printed", 0),
		  "bank-server printed no stats line for SIGUSR1 after two replies were dropped "
		  "(full_queue_drop says why)");
	cr_assert(!strcmp(text(u, "stats"), "stats: 5 served, 0 orphans removed, 2 dropped"),
		  "after 5 requests, 2 of whose replies did not fit in the full queue, bank-server "
		  "printed \"bank-server: %s\"; expected \"bank-server: stats: 5 served, 0 "
		  "orphans removed, 2 dropped\": a dropped reply counts in D, and its request in "
		  "R",
		  text(u, "stats"));
	free_events(&ev);
	run_free(&r);
}

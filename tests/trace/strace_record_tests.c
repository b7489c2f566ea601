/*
 * strace_record_parse() on the output of real strace (STRACE_RECORD_OPTIONS) running real
 * programs: each test runs one scenario of strace_scenarios (built next to this binary) under
 * strace and checks the records against what the scenario did and reported (pids, queue ids).
 * The last tests feed the parser truncated and garbled copies of such output, in buffers of
 * exactly their length, so that ASan catches any read past them.
 *
 * Every test runs in a private IPC namespace (private_ipc.h); the scenarios remove their
 * queues anyway. Children forked here only exec or _exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "../kernel/private_ipc.h"
#include "strace_record.h"

#define DEADLINE_MS 20000 /* for one scenario under strace; the tests' timeout is longer */
#define TIMEOUT_S   60
/* strace_scenarios' status when its own set-up failed (126 and 127: strace did not start). */
#define SCENARIO_BROKEN 99

/* What one scenario did under strace. */
struct run {
	int main_pid;
	int status; /* its wait status */
	char *text; /* strace's output */
	size_t len;
	char *facts; /* what the scenario reported: "name value" lines */
	struct trace_call *calls;
	size_t ncalls;
	long long exec_us;
};

static long long now_ms(void)
{
	struct timespec ts;
	cr_assert(clock_gettime(CLOCK_MONOTONIC, &ts) == 0, "clock_gettime: %s", strerror(errno));
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "open %s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	cr_assert(buf, "out of memory");
	for (;;) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		cap *= 2;
		char *bigger = realloc(buf, cap);
		cr_assert(bigger, "out of memory");
		buf = bigger;
	}
	cr_assert(!ferror(f), "read %s: %s", path, strerror(errno));
	cr_assert(fclose(f) == 0, "close %s: %s", path, strerror(errno));
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int temp_file(char *path)
{
	int fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	return fd;
}

/* strace_scenarios: next to this binary (the Makefile builds both). */
static void helper_path(char *out, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	cr_assert(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	int len = snprintf(out, size, "%s/strace_scenarios", dirname(self));
	cr_assert(len > 0 && (size_t)len < size, "path too long");
	cr_assert(access(out, X_OK) == 0, "%s: %s (make builds it with this test)", out,
		  strerror(errno));
}

static void check_sorted(const struct run *r)
{
	for (size_t i = 1; i < r->ncalls; i++)
		cr_assert(r->calls[i - 1].t_us <= r->calls[i].t_us,
			  "records %zu (%s) and %zu (%s) out of time order", i - 1,
			  r->calls[i - 1].call, i, r->calls[i].call);
}

/*
 * Run one scenario under strace with the record's options and parse the result. strace runs
 * detached (-D), so the process forked here is the scenario's main process; the end of
 * strace itself (all its output written) shows as the end of a pipe only it still holds.
 */
static void run_scenario(const char *scenario, struct run *r)
{
	memset(r, 0, sizeof *r);
	cr_assert(access(STRACE_RECORD_STRACE, X_OK) == 0,
		  "%s: %s: these tests need strace 6.1 (apt-get install strace)",
		  STRACE_RECORD_STRACE, strerror(errno));
	char helper[PATH_MAX];
	helper_path(helper, sizeof helper);
	char trace[] = "/tmp/strace_record_trace_XXXXXX";
	char out[] = "/tmp/strace_record_out_XXXXXX";
	char err[] = "/tmp/strace_record_err_XXXXXX";
	cr_assert(close(temp_file(trace)) == 0, "close: %s", strerror(errno));
	int out_fd = temp_file(out), err_fd = temp_file(err);
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert(null_fd >= 0, "open /dev/null: %s", strerror(errno));
	int done[2];
	cr_assert(pipe2(done, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
	const char *argv[] = {"strace", STRACE_RECORD_OPTIONS, "-o", trace, "--", helper, scenario,
			      NULL};

	pid_t parent = getpid();
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Dies with the test; only async-signal-safe calls before exec. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent ||
		    dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
		    dup2(err_fd, STDERR_FILENO) < 0 || fcntl(done[1], F_SETFD, 0) != 0)
			_exit(126);
		execv(STRACE_RECORD_STRACE, (char *const *)argv);
		_exit(127);
	}
	cr_assert(close(done[1]) == 0 && close(null_fd) == 0 && close(out_fd) == 0 &&
		      close(err_fd) == 0,
		  "close: %s", strerror(errno));

	long long deadline = now_ms() + DEADLINE_MS;
	for (;;) {
		pid_t got = waitpid(pid, &r->status, WNOHANG);
		cr_assert(got >= 0, "waitpid: %s", strerror(errno));
		if (got == pid)
			break;
		if (now_ms() > deadline) {
			cr_assert(kill(pid, SIGKILL) == 0, "kill: %s", strerror(errno));
			cr_assert(waitpid(pid, &r->status, 0) == pid, "waitpid: %s",
				  strerror(errno));
			cr_assert_fail("scenario %s still running after %d ms", scenario,
				       DEADLINE_MS);
		}
		struct timespec ts = {0, 2000000};
		/* A signal cutting the nap short only makes the next poll sooner. */
		cr_assert(nanosleep(&ts, NULL) == 0 || errno == EINTR, "nanosleep: %s",
			  strerror(errno));
	}
	for (;;) {
		struct pollfd pfd = {done[0], POLLIN, 0};
		long long left = deadline - now_ms();
		cr_assert(left > 0, "strace still running %d ms after scenario %s", DEADLINE_MS,
			  scenario);
		int ready = poll(&pfd, 1, (int)left);
		cr_assert(ready >= 0 || errno == EINTR, "poll: %s", strerror(errno));
		if (ready <= 0)
			continue;
		char byte;
		ssize_t n = read(done[0], &byte, 1);
		cr_assert(n >= 0 || errno == EINTR, "read: %s", strerror(errno));
		if (n == 0)
			break;
	}
	cr_assert(close(done[0]) == 0, "close: %s", strerror(errno));

	size_t len;
	char *errors = read_file(err, &len);
	r->facts = read_file(out, &len);
	r->text = read_file(trace, &r->len);
	cr_assert(unlink(trace) == 0 && unlink(out) == 0 && unlink(err) == 0, "unlink: %s",
		  strerror(errno));
	cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) < SCENARIO_BROKEN,
		  "scenario %s under strace: wait status 0x%x; its stderr: %s", scenario, r->status,
		  errors);
	free(errors);
	r->main_pid = pid;
	cr_assert(strace_record_parse(r->text, r->len, pid, &r->calls, &r->ncalls, &r->exec_us) ==
		      0,
		  "strace_record_parse: out of memory");
	check_sorted(r);
	for (size_t i = 0; i < r->ncalls; i++)
		if (r->calls[i].pid == pid)
			cr_assert(r->calls[i].ppid == 1, "main process's %s has ppid %d",
				  r->calls[i].call, r->calls[i].ppid);
}

/* A number the scenario reported. */
static int fact(const struct run *r, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = r->facts; *p;) {
		long value;
		if (!strncmp(p, name, len) && p[len] == ' ' && sscanf(p + len, "%ld", &value) == 1)
			return (int)value;
		const char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : p + strlen(p);
	}
	cr_assert_fail("the scenario did not report %s; it reported: %s", name, r->facts);
	return -1;
}

static bool matches(const struct trace_call *c, const char *call, int pid)
{
	return (!call || !strcmp(c->call, call)) && (!pid || c->pid == pid);
}

static size_t count(const struct run *r, const char *call, int pid)
{
	size_t n = 0;
	for (size_t i = 0; i < r->ncalls; i++)
		n += matches(&r->calls[i], call, pid);
	return n;
}

/* The index of the nth (from 0) such call; fails the test if there is none. */
static size_t nth_index(const struct run *r, const char *call, int pid, size_t nth)
{
	for (size_t i = 0; i < r->ncalls; i++)
		if (matches(&r->calls[i], call, pid) && nth-- == 0)
			return i;
	cr_assert_fail("no %s record of pid %d (%zu of them)", call, pid, count(r, call, pid));
	return 0;
}

static const struct trace_call *nth(const struct run *r, const char *call, int pid, size_t n)
{
	return &r->calls[nth_index(r, call, pid, n)];
}

static void run_done(struct run *r)
{
	for (size_t i = 0; i < r->ncalls; i++)
		free(r->calls[i].data);
	free(r->calls);
	free(r->text);
	free(r->facts);
}

static void expect_data(const struct trace_call *c, const void *bytes, long datalen, size_t shown)
{
	cr_assert(c->datalen == datalen && c->shown == shown,
		  "%s of pid %d: datalen %ld shown %zu, expected %ld and %zu", c->call, c->pid,
		  c->datalen, c->shown, datalen, shown);
	cr_assert(c->data, "%s of pid %d: no data", c->call, c->pid);
	cr_assert(!memcmp(c->data, bytes, shown), "%s of pid %d: other bytes", c->call, c->pid);
}

static void expect_exit_record(const struct run *r, int pid, int ppid, long status)
{
	cr_assert(count(r, "exit", pid) == 1, "pid %d: %zu exit records, expected 1", pid,
		  count(r, "exit", pid));
	const struct trace_call *e = nth(r, "exit", pid, 0);
	cr_assert(e->ret == status && e->ppid == ppid,
		  "exit of %d: ret %ld ppid %d, expected %ld %d", pid, e->ret, e->ppid, status,
		  ppid);
}

Test(strace_record, fork_wait_exit_with_pids_and_parents, .init = private_ipc_init,
     .timeout = TIMEOUT_S)
{
	struct run r;
	run_scenario("family", &r);
	int mainp = r.main_pid, a = fact(&r, "a"), b = fact(&r, "b"), q = fact(&r, "queue");
	cr_assert(WEXITSTATUS(r.status) == 5);

	const struct trace_call *get = nth(&r, "msgget", mainp, 0);
	cr_assert(get->key == 0 && get->flags == (IPC_CREAT | 0600) && get->ret == q,
		  "msgget: key %#x flags %#o ret %ld", get->key, (unsigned)get->flags, get->ret);
	cr_assert(count(&r, "fork", 0) == 2 && nth(&r, "fork", mainp, 0)->ret == a &&
		      nth(&r, "fork", mainp, 1)->ret == b,
		  "the forks are not main's two children %d and %d", a, b);
	const struct trace_call *sa = nth(&r, "msgsnd", a, 0), *sb = nth(&r, "msgsnd", b, 0);
	cr_assert(sa->ppid == mainp && sb->ppid == mainp, "children's ppid %d %d, expected %d",
		  sa->ppid, sb->ppid, mainp);
	cr_assert(sa->msqid == q && sa->has_mtype && sa->mtype == 1 && sa->ret == 0 &&
		  sa->msgsz == 6 && sa->flags == 0);
	expect_data(sa, "from a", 6, 6);
	cr_assert(sb->mtype == 2);
	expect_data(sb, "from b", 6, 6);

	cr_assert(count(&r, "wait", 0) == 2 && nth(&r, "wait", mainp, 0)->ret == a &&
		      nth(&r, "wait", mainp, 1)->ret == b,
		  "main's waits are not for %d then %d", a, b);
	expect_exit_record(&r, a, mainp, 3); /* _exit(3) */
	expect_exit_record(&r, b, mainp, 4); /* return 4 from mainp */
	expect_exit_record(&r, mainp, 1, 5);
	cr_assert(count(&r, "exit", 0) == 3);
	cr_assert(!strcmp(r.calls[r.ncalls - 1].call, "exit") && r.calls[r.ncalls - 1].pid == mainp,
		  "the main process's exit is not the last record");

	/* Time order: a is made, sends, ends, and only then is reaped. */
	size_t fork_a = nth_index(&r, "fork", mainp, 0), send_a = nth_index(&r, "msgsnd", a, 0),
	       exit_a = nth_index(&r, "exit", a, 0), wait_a = nth_index(&r, "wait", mainp, 0);
	cr_assert(fork_a < send_a && send_a < exit_a && exit_a < wait_a,
		  "order fork %zu, send %zu, exit %zu, wait %zu", fork_a, send_a, exit_a, wait_a);

	for (size_t i = 0; i < 2; i++) {
		const struct trace_call *c = nth(&r, "msgrcv", mainp, i);
		cr_assert(c->ret == 6 && c->has_mtype && c->mtype == (long)i + 1 &&
			  c->msgtyp == (long)i + 1);
		expect_data(c, i ? "from b" : "from a", 6, 6);
	}
	const struct trace_call *rm = nth(&r, "msgctl", mainp, 0);
	cr_assert(rm->cmd == IPC_RMID && rm->msqid == q && rm->ret == 0 && rm->err == 0);
	run_done(&r);
}

/* What a deadline "since the program started" is measured from: the execve's end can come no
 * later than the program's own first reading of the clock, nor than its first call. */
Test(strace_record, exec_ends_before_the_program_reads_the_clock, .init = private_ipc_init,
     .timeout = TIMEOUT_S)
{
	struct run r;
	run_scenario("started", &r);
	cr_assert(WEXITSTATUS(r.status) == 0);
	long long own = (long long)fact(&r, "sec") * 1000000 + fact(&r, "usec");
	const struct trace_call *get = nth(&r, "msgget", r.main_pid, 0);
	cr_assert(r.exec_us > 0 && r.exec_us <= own && own <= get->t_us - get->dur_us,
		  "execve ended at %lld, the program read the clock at %lld, its msgget started "
		  "at %lld",
		  r.exec_us, own, get->t_us - get->dur_us);
	run_done(&r);
}

Test(strace_record, blocking_msgrcv_unfinished_then_resumed, .init = private_ipc_init,
     .timeout = TIMEOUT_S)
{
	struct run r;
	run_scenario("blocking", &r);
	int mainp = r.main_pid, child = fact(&r, "child");
	cr_assert(strstr(r.text, "<unfinished ...>") && strstr(r.text, "<... msgrcv resumed>"),
		  "strace did not split the blocked msgrcv:\n%s", r.text);
	cr_assert(count(&r, "msgrcv", child) == 1);
	const struct trace_call *rcv = nth(&r, "msgrcv", child, 0);
	cr_assert(rcv->ppid == mainp && rcv->msgtyp == 7 && rcv->msgsz == 100 && rcv->ret == 4 &&
		  rcv->has_mtype && rcv->mtype == 7 && rcv->err == 0);
	expect_data(rcv, "late", 4, 4);
	/* It started before the child was seen blocked, 100 ms before the send. */
	cr_assert(rcv->dur_us >= 100000, "blocked msgrcv took %lld us", rcv->dur_us);
	const struct trace_call *snd = nth(&r, "msgsnd", mainp, 0);
	cr_assert(rcv->t_us >= snd->t_us - snd->dur_us && rcv->t_us - rcv->dur_us < snd->t_us,
		  "the msgrcv (%lld..%lld) does not span the msgsnd's start (%lld)",
		  rcv->t_us - rcv->dur_us, rcv->t_us, snd->t_us - snd->dur_us);
	expect_exit_record(&r, child, mainp, 0);
	run_done(&r);
}

Test(strace_record, failed_calls_with_their_errno, .init = private_ipc_init, .timeout = TIMEOUT_S)
{
	struct run r;
	run_scenario("errors", &r);
	int mainp = r.main_pid, q = fact(&r, "queue"), q2 = fact(&r, "queue2");
	static const struct {
		const char *call;
		long ret;
		int err;
	} want[] = {{"msgget", 0, 0}, {"msgrcv", -1, ENOMSG}, {"msgsnd", -1, EINVAL},
		    {"msgsnd", 0, 0}, {"msgrcv", -1, E2BIG},  {"msgrcv", 3, 0},
		    {"msgget", 0, 0}, {"msgget", -1, EEXIST}, {"msgctl", -1, EINVAL},
		    {"msgctl", 0, 0}, {"msgctl", 0, 0},	      {"exit", 0, 0}};
	cr_assert(r.ncalls == sizeof want / sizeof want[0], "%zu records, expected %zu", r.ncalls,
		  sizeof want / sizeof want[0]);
	for (size_t i = 0; i < r.ncalls; i++) {
		const struct trace_call *c = &r.calls[i];
		long ret = want[i].ret;
		if (i == 0 || i == 6)
			ret = i ? q2 : q;
		cr_assert(!strcmp(c->call, want[i].call) && c->pid == mainp && c->ret == ret &&
			      c->err == want[i].err,
			  "record %zu: %s ret %ld errno %d, expected %s ret %ld errno %d", i,
			  c->call, c->ret, c->err, want[i].call, ret, want[i].err);
	}
	const struct trace_call *c = &r.calls[1];
	cr_assert(c->flags == IPC_NOWAIT && c->msgsz == 100 && !c->has_mtype && c->datalen == 0,
		  "msgrcv IPC_NOWAIT: flags %#x", (unsigned)c->flags);
	c = &r.calls[2]; /* the type a failed msgsnd tried, but no bytes sent */
	cr_assert(c->has_mtype && c->mtype == 0 && c->datalen == 0 && c->msgsz == 2);
	c = &r.calls[4];
	cr_assert(c->msgsz == 3 && c->flags == 0 && !c->has_mtype && c->datalen == 0);
	c = &r.calls[5];
	cr_assert(c->flags == MSG_NOERROR && c->msgsz == 3 && c->has_mtype && c->mtype == 1);
	expect_data(c, "too", 3, 3);
	c = &r.calls[6];
	cr_assert(c->key == 0x5eed && c->flags == (IPC_CREAT | IPC_EXCL | 0640),
		  "msgget: key %#x flags %#o", c->key, (unsigned)c->flags);
	c = &r.calls[8];
	cr_assert(c->cmd == 12345 && c->msqid == q);
	cr_assert(r.calls[9].cmd == IPC_RMID && r.calls[9].msqid == q2);
	run_done(&r);
}

Test(strace_record, bytes_survive_exactly_and_msgrcv_keeps_only_ret, .init = private_ipc_init,
     .timeout = TIMEOUT_S)
{
	static const char tricky[] = {'a', '\0', (char)0xff, '"', '\\', '\n', '\'', '\t', '%', 'z'};
	struct run r;
	run_scenario("bytes", &r);
	int mainp = r.main_pid;
	expect_data(nth(&r, "msgsnd", mainp, 0), tricky, 10, 10);
	const struct trace_call *rcv = nth(&r, "msgrcv", mainp, 0);
	cr_assert(rcv->msgsz == 100 && rcv->ret == 10 && rcv->mtype == 5);
	expect_data(rcv, tricky, 10, 10);
	/* strace showed the receive buffer up to msgsz, the scenario's filler 'Q' included. */
	cr_assert(strstr(r.text, "\\x7a\\x51\\x51"), "strace did not show the buffer past ret");

	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	expect_data(nth(&r, "msgsnd", mainp, 1), all, 256, 256);
	expect_data(nth(&r, "msgrcv", mainp, 1), all, 256, 256);

	const struct trace_call *empty = nth(&r, "msgsnd", mainp, 2);
	cr_assert(empty->ret == 0 && empty->mtype == 7);
	expect_data(empty, "", 0, 0);
	empty = nth(&r, "msgrcv", mainp, 2);
	cr_assert(empty->ret == 0 && empty->has_mtype && empty->mtype == 7);
	expect_data(empty, "", 0, 0);
	run_done(&r);
}

Test(strace_record, long_message_shows_its_first_1024_bytes, .init = private_ipc_init,
     .timeout = TIMEOUT_S)
{
	unsigned char text[4000];
	for (size_t i = 0; i < sizeof text; i++)
		text[i] = (unsigned char)(i * 7 + 3);
	struct run r;
	run_scenario("big", &r);
	cr_assert(strstr(r.text, "\"...}"), "strace did not truncate the message");
	expect_data(nth(&r, "msgsnd", r.main_pid, 0), text, 4000, STRACE_RECORD_MAX_DATA);
	const struct trace_call *rcv = nth(&r, "msgrcv", r.main_pid, 0);
	cr_assert(rcv->ret == 4000 && rcv->msgsz == 8192);
	expect_data(rcv, text, 4000, STRACE_RECORD_MAX_DATA);
	run_done(&r);
}

Test(strace_record, a_thread_is_not_a_fork, .init = private_ipc_init, .timeout = TIMEOUT_S)
{
	struct run r;
	run_scenario("thread", &r);
	int mainp = r.main_pid, tid = fact(&r, "thread");
	cr_assert(tid != mainp);
	cr_assert(strstr(r.text, "clone"), "no clone call for the thread:\n%s", r.text);
	cr_assert(count(&r, "fork", 0) == 0, "the thread was recorded as a fork");
	const struct trace_call *snd = nth(&r, "msgsnd", tid, 0);
	cr_assert(snd->ppid == 1 && snd->mtype == 3, "thread's msgsnd: ppid %d", snd->ppid);
	expect_data(snd, "thr", 3, 3);
	cr_assert(count(&r, "exit", 0) == 1, "%zu exit records (the thread's end is no exit)",
		  count(&r, "exit", 0));
	expect_exit_record(&r, mainp, 1, 0);
	run_done(&r);
}

Test(strace_record, vfork_and_posix_spawn_are_forks, .init = private_ipc_init, .timeout = TIMEOUT_S)
{
	struct run r;
	run_scenario("spawn", &r);
	int mainp = r.main_pid, v = fact(&r, "vforked"), s = fact(&r, "spawned");
	cr_assert(strstr(r.text, "vfork("), "no vfork in:\n%s", r.text);
	cr_assert(count(&r, "fork", 0) == 2 && nth(&r, "fork", mainp, 0)->ret == v &&
		      nth(&r, "fork", mainp, 1)->ret == s,
		  "the forks are not %d (vfork) then %d (posix_spawn)", v, s);
	expect_exit_record(&r, v, mainp, 6);
	expect_exit_record(&r, s, mainp, 7);
	cr_assert(count(&r, "wait", mainp) == 2 && nth(&r, "wait", mainp, 0)->ret == v &&
		  nth(&r, "wait", mainp, 1)->ret == s);
	/* The vforked child ends before vfork returns in its parent: the record keeps that. */
	cr_assert(nth_index(&r, "exit", v, 0) < nth_index(&r, "fork", mainp, 0));
	run_done(&r);
}

Test(strace_record, waitid_counts_unless_it_only_looked_and_wnohang_zero_is_no_wait,
     .init = private_ipc_init, .timeout = TIMEOUT_S)
{
	struct run r;
	run_scenario("waits", &r);
	int mainp = r.main_pid, a = fact(&r, "a"), b = fact(&r, "b");
	/* strace showed all six waits; three reaped or failed. */
	size_t shown = 0;
	for (const char *p = r.text; (p = strstr(p, "wait")) != NULL; p++)
		shown += !strncmp(p, "wait4(", 6) || !strncmp(p, "waitid(", 7);
	cr_assert(shown == 6, "strace showed %zu waits:\n%s", shown, r.text);
	cr_assert(count(&r, "wait", 0) == 3, "%zu wait records", count(&r, "wait", 0));
	const struct trace_call *w = nth(&r, "wait", mainp, 0);
	cr_assert(w->ret == a && w->err == 0, "waitid: ret %ld", w->ret);
	cr_assert(w->reaped_exit == 9 && w->reaped_signal == 0,
		  "waitid's child exited 9: recorded exit %d signal %d", w->reaped_exit,
		  w->reaped_signal);
	w = nth(&r, "wait", mainp, 1);
	cr_assert(w->ret == b && w->err == 0, "waitpid: ret %ld", w->ret);
	cr_assert(w->reaped_exit == 0 && w->reaped_signal == 0,
		  "waitpid's child exited 0: recorded exit %d signal %d", w->reaped_exit,
		  w->reaped_signal);
	w = nth(&r, "wait", mainp, 2);
	cr_assert(w->ret == -1 && w->err == ECHILD, "waitpid with no child: ret %ld errno %d",
		  w->ret, w->err);
	expect_exit_record(&r, a, mainp, 9);
	expect_exit_record(&r, b, mainp, 0);
	run_done(&r);
}

Test(strace_record, killed_process_has_no_exit_and_its_blocked_call_no_record,
     .init = private_ipc_init, .timeout = TIMEOUT_S)
{
	struct run r;
	run_scenario("killed", &r);
	int mainp = r.main_pid, child = fact(&r, "child");
	cr_assert(strstr(r.text, "<unfinished ...>) = ?"), "the blocked msgrcv never ended:\n%s",
		  r.text);
	cr_assert(count(&r, NULL, child) == 0, "the killed child has %zu records",
		  count(&r, NULL, child));
	cr_assert(nth(&r, "fork", mainp, 0)->ret == child &&
		  nth(&r, "wait", mainp, 0)->ret == child);
	cr_assert(nth(&r, "wait", mainp, 0)->reaped_signal == SIGKILL &&
		      nth(&r, "wait", mainp, 0)->reaped_exit == -1,
		  "the wait that reaped the killed child: signal %d, exit %d",
		  nth(&r, "wait", mainp, 0)->reaped_signal, nth(&r, "wait", mainp, 0)->reaped_exit);
	cr_assert(count(&r, "exit", 0) == 1);
	expect_exit_record(&r, mainp, 1, 0);
	run_done(&r);
}

Test(strace_record, interrupted_call_is_eintr_and_restarted_wait_counts_once,
     .init = private_ipc_init, .timeout = TIMEOUT_S)
{
	struct run r;
	run_scenario("interrupted", &r);
	int mainp = r.main_pid, child = fact(&r, "child");
	cr_assert(strstr(r.text, "ERESTARTNOHAND") && strstr(r.text, "ERESTARTSYS"),
		  "no interrupted calls in:\n%s", r.text);
	const struct trace_call *rcv = nth(&r, "msgrcv", mainp, 0);
	cr_assert(rcv->ret == -1 && rcv->err == EINTR && rcv->dur_us >= 90000,
		  "interrupted msgrcv: ret %ld errno %d after %lld us", rcv->ret, rcv->err,
		  rcv->dur_us);
	cr_assert(count(&r, "wait", 0) == 1 && nth(&r, "wait", mainp, 0)->ret == child,
		  "%zu wait records for one restarted wait", count(&r, "wait", 0));
	run_done(&r);
}

/* ---- the parser on damaged output ---- */

/* Parse exactly len bytes, in a buffer of exactly that size: ASan sees any read past it. */
static void parse_exact(const char *text, size_t len, int main_pid, struct trace_call **calls,
			size_t *ncalls)
{
	char *copy = malloc(len ? len : 1);
	cr_assert(copy, "out of memory");
	memcpy(copy, text, len);
	cr_assert(strace_record_parse(copy, len, main_pid, calls, ncalls, NULL) == 0,
		  "out of memory");
	free(copy);
}

static void free_calls(struct trace_call *calls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(calls[i].data);
	free(calls);
}

static bool same_call(const struct trace_call *x, const struct trace_call *y)
{
	return !strcmp(x->call, y->call) && x->pid == y->pid && x->ppid == y->ppid &&
	       x->t_us == y->t_us && x->dur_us == y->dur_us && x->key == y->key &&
	       x->flags == y->flags && x->msqid == y->msqid && x->msgsz == y->msgsz &&
	       x->msgtyp == y->msgtyp && x->has_mtype == y->has_mtype && x->mtype == y->mtype &&
	       x->cmd == y->cmd && x->ret == y->ret && x->err == y->err &&
	       x->datalen == y->datalen && x->shown == y->shown && !x->data == !y->data &&
	       (!x->shown || !memcmp(x->data, y->data, x->shown));
}

static bool same_calls(const struct trace_call *a, size_t na, const struct trace_call *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same_call(&a[i], &b[i]))
			return false;
	return true;
}

/* What holds for the records of any input at all. */
static void sane(const char *what, const struct trace_call *calls, size_t n, size_t len)
{
	static const char *const names[] = {"msgget", "msgsnd", "msgrcv", "msgctl",
					    "fork",   "wait",	"exit"};
	cr_assert(n <= len / 8 + 1, "%s: %zu records from %zu bytes", what, n, len);
	for (size_t i = 0; i < n; i++) {
		const struct trace_call *c = &calls[i];
		bool known = false;
		for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
			known |= !strcmp(c->call, names[k]);
		cr_assert(known, "%s: record %zu is a \"%.8s\"", what, i, c->call);
		cr_assert(c->shown <= STRACE_RECORD_MAX_DATA && (!c->shown || c->data),
			  "%s: record %zu shows %zu bytes", what, i, c->shown);
		cr_assert(i == 0 || calls[i - 1].t_us <= c->t_us, "%s: out of order", what);
	}
}

/* A few real outputs, one after another (pids and times as strace wrote them). */
static char *real_outputs(size_t *len, int *main_pid)
{
	static const char *const scenarios[] = {"family", "blocking", "bytes", "killed",
						"interrupted"};
	size_t total = 0;
	char *all = NULL;
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		struct run r;
		run_scenario(scenarios[i], &r);
		char *more = realloc(all, total + r.len + 1);
		cr_assert(more, "out of memory");
		all = more;
		memcpy(all + total, r.text, r.len);
		total += r.len;
		if (i == 0)
			*main_pid = r.main_pid;
		run_done(&r);
	}
	all[total] = '\0';
	*len = total;
	return all;
}

Test(strace_record, a_truncated_last_line_is_ignored_at_every_cut, .init = private_ipc_init,
     .timeout = TIMEOUT_S)
{
	struct run r;
	run_scenario("family", &r);
	struct trace_call *whole;
	size_t nwhole;
	size_t line_start = 0;
	/* Cut everywhere: the records are those of the whole lines before the cut. */
	for (size_t cut = 0; cut <= r.len; cut++) {
		if (cut > 0 && r.text[cut - 1] == '\n')
			line_start = cut;
		struct trace_call *calls;
		size_t n;
		parse_exact(r.text, cut, r.main_pid, &calls, &n);
		parse_exact(r.text, line_start, r.main_pid, &whole, &nwhole);
		cr_assert(same_calls(calls, n, whole, nwhole),
			  "cut at %zu (in the line at %zu): %zu records, %zu from the whole lines",
			  cut, line_start, n, nwhole);
		sane("cut", calls, n, cut);
		free_calls(calls, n);
		free_calls(whole, nwhole);
	}
	/* Cut exactly at the end: every record there. */
	parse_exact(r.text, r.len, r.main_pid, &whole, &nwhole);
	cr_assert(same_calls(whole, nwhole, r.calls, r.ncalls));
	free_calls(whole, nwhole);
	run_done(&r);
}

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned long long rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

Test(strace_record, garbled_output_never_crashes, .init = private_ipc_init, .timeout = TIMEOUT_S)
{
	size_t len;
	int main_pid;
	char *text = real_outputs(&len, &main_pid);
	char *buf = malloc(2 * len + 64);
	cr_assert(buf, "out of memory");
	struct trace_call *calls;
	size_t n;

	/* Each line cut short at every position, the rest of the output intact. */
	size_t start = 0;
	for (size_t end = 0; end < len; end++) {
		if (text[end] != '\n')
			continue;
		for (size_t cut = start; cut < end; cut += 1 + (end - start) / 60) {
			memcpy(buf, text, cut);
			memcpy(buf + cut, text + end, len - end);
			parse_exact(buf, cut + len - end, main_pid, &calls, &n);
			sane("line cut", calls, n, cut + len - end);
			free_calls(calls, n);
		}
		start = end + 1;
	}

	/* Bytes replaced by the ones the parser looks at, pieces deleted or repeated. */
	static const char special[] = "(){}[]\"\\\n <>=|,.-+?0x9fE \0\xff";
	for (int round = 0; round < 3000; round++) {
		size_t m = len;
		memcpy(buf, text, len);
		int edits = 1 + (int)(rng() % 8);
		for (int e = 0; e < edits && m > 0; e++) {
			size_t at = rng() % m, span = 1 + rng() % 64;
			if (span > m - at)
				span = m - at;
			switch (rng() % 4) {
			case 0:
				buf[at] = special[rng() % (sizeof special - 1)];
				break;
			case 1:
				buf[at] = (char)rng();
				break;
			case 2:
				memmove(buf + at, buf + at + span, m - at - span);
				m -= span;
				break;
			default:
				if (m + span <= 2 * len + 64) {
					memmove(buf + at + span, buf + at, m - at);
					m += span;
				}
				break;
			}
		}
		parse_exact(buf, m, main_pid, &calls, &n);
		sane("garbled", calls, n, m);
		free_calls(calls, n);
	}

	/* Random bytes, lines of strace's own tokens in random order, and nothing at all. */
	static const char *const tokens[] = {"1234 ",
					     "1.5 ",
					     "msgrcv(",
					     "msgsnd(",
					     "clone3(",
					     "<... msgrcv resumed>",
					     " <unfinished ...>",
					     ") = ",
					     "-1 ENOMSG",
					     "? ERESTARTSYS",
					     "{mtype=",
					     "mtext=\"",
					     "\\x",
					     "\"...",
					     "}",
					     ", ",
					     "flags=0x10000|17",
					     "+++ exited with 3 +++",
					     "<0.1>",
					     "waitid(",
					     "si_pid=",
					     "\n",
					     "1234 1.000001 "};
	for (int round = 0; round < 2000; round++) {
		size_t m = 0;
		if (round % 2) {
			m = rng() % 512;
			for (size_t i = 0; i < m; i++)
				buf[i] = (char)rng();
		} else {
			for (int t = (int)(rng() % 60); t > 0; t--) {
				const char *tok =
				    tokens[rng() % (sizeof tokens / sizeof tokens[0])];
				size_t tl = strlen(tok);
				if (m + tl > 2 * len + 64)
					break;
				memcpy(buf + m, tok, tl);
				m += tl;
			}
		}
		parse_exact(buf, m, 1234, &calls, &n);
		sane("random", calls, n, m);
		free_calls(calls, n);
	}
	cr_assert(strace_record_parse(NULL, 0, 1, &calls, &n, NULL) == 0 && n == 0 && !calls);
	free(buf);
	free(text);
}

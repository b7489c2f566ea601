/* The grader's harness: see harness.h. */
#define _GNU_SOURCE
#include "harness.h"
#include "placeholders.h"
#include "strace_record.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REFERENCE_TIMEOUT_MS 10000
#define DEFAULT_FLOOR_MS     1000
#define TIMEOUT_FACTOR	     20
#define MAX_ARGS	     256
/* The exit status of a process of the sanitized build that hit a memory error. */
#define SANITIZER_EXIT_STR "86"
/* Where the sandbox shows the programs and the lab's tools (bound there, read-only). */
#define SANDBOX_BIN   "/sandbox/bin"
#define SANDBOX_TOOLS "/sandbox/tools"

static const char *need_env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		cr_assert_fail("grader error: %s is not set (run the grader through make grade)",
			       name);
	return v;
}

/*
 * How much longer than calibrated a run may take: MSGLAB_TIMEOUT_SCALE, which the driver sets
 * from how much slower the machine is now than when the reference was timed (a loaded machine
 * at a deadline), and raises for the sanitized build (MSGLAB_SANITIZED), which is slower.
 */
static double timeout_scale(void)
{
	const char *env = getenv("MSGLAB_TIMEOUT_SCALE");
	double scale = env && *env ? atof(env) : 1;
	return scale >= 1 && scale <= 100 ? scale : 1;
}

/* Each test's own Criterion timeout (.timeout) times the load scale, as the runs' timeouts
 * are, before any test starts. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	double scale = timeout_scale();
	FOREACH_SET(struct criterion_suite_set * s, set->suites)
	{
		FOREACH_SET(struct criterion_test * t, s->tests)
		{
			if (t->data->timeout > 0)
				t->data->timeout *= scale;
		}
	}
}

/* The sanitized build's options: a memory error ends the process with SANITIZER_EXIT. */
static const char *const sanitizer_env[2] = {
    "ASAN_OPTIONS=detect_leaks=0:exitcode=" SANITIZER_EXIT_STR
    ":allocator_may_return_null=1:detect_stack_use_after_return=0",
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=" SANITIZER_EXIT_STR};

static bool sanitized(void)
{
	const char *env = getenv("MSGLAB_SANITIZED");
	return env && !strcmp(env, "1");
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		cr_assert_fail("grader error: out of memory");
	return q;
}

static void mkdir_p(const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) != 0 && errno != EEXIST)
				cr_assert_fail("grader error: mkdir %s: %s", buf, strerror(errno));
			*p = '/';
		}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		cr_assert_fail("grader error: mkdir %s: %s", buf, strerror(errno));
}

const char *transcript_dir(void)
{
	static char dir[4096];
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "%s/%s", need_env("MSGLAB_RESULTS"),
			 criterion_current_test->name);
		mkdir_p(dir);
	}
	return dir;
}

static void write_whole(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "we");
	if (!f)
		cr_assert_fail("grader error: cannot write %s: %s", path, strerror(errno));
	if (fwrite(text, 1, len, f) != len || fclose(f) != 0)
		cr_assert_fail("grader error: cannot write %s", path);
}

void keep_file(const char *name, const char *text, size_t len)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", transcript_dir(), name);
	write_whole(path, text, len);
}

/* The whole file, NUL-terminated; an absent file reads as empty. */
static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "re");
	if (f) {
		char chunk[65536];
		size_t got;
		while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
			buf = xrealloc(buf, n + got + 1);
			memcpy(buf + n, chunk, got);
			n += got;
		}
		fclose(f);
	}
	buf = xrealloc(buf, n + 1);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

unsigned test_seed(void)
{
	static unsigned seed;
	if (!seed) {
		const char *s = getenv("MSGLAB_SEED");
		seed = s && *s ? (unsigned)strtoul(s, NULL, 10) : 0;
		if (!seed) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			seed = (unsigned)(ts.tv_nsec ^ ts.tv_sec ^ getpid()) % 1000000 + 1;
		}
		char text[32];
		int n = snprintf(text, sizeof text, "%u\n", seed);
		keep_file("seed", text, (size_t)n);
	}
	return seed;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		cr_log_warn("grader: cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/* Shell-quote one word, with a space before it. */
static void quote(FILE *out, const char *word)
{
	bool plain = *word != '\0';
	for (const char *c = word; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("-_./=:,+@", *c))
			plain = false;
	if (plain) {
		fprintf(out, " %s", word);
		return;
	}
	fputs(" '", out);
	for (const char *c = word; *c; c++)
		fputs(*c == '\'' ? "'\\''" : (char[]){*c, '\0'}, out);
	fputc('\'', out);
}

static void parse_report(const char *text, struct run_result *r)
{
	const char *line = text;
	while (*line) {
		char word[32] = "";
		sscanf(line, "%31s", word);
		const char *rest = line + strlen(word);
		if (!strcmp(word, "sandbox_error"))
			cr_assert_fail("grader error: the sandbox failed:%.*s",
				       (int)strcspn(rest, "\n"), rest);
		else if (!strcmp(word, "mode"))
			r->namespaces = strncmp(rest, " namespaces", 11) == 0;
		else if (!strcmp(word, "outcome")) {
			r->timed_out = strncmp(rest, " timeout", 8) == 0;
			r->signaled = strncmp(rest, " signaled", 9) == 0;
		} else if (!strcmp(word, "exit_code"))
			r->exit_code = atoi(rest);
		else if (!strcmp(word, "signal"))
			r->signal = atoi(rest);
		else if (!strcmp(word, "setup_output"))
			snprintf(r->setup_output, sizeof r->setup_output, "%.*s",
				 (int)strcspn(rest + 1, "\n"), rest + 1);
		else if (!strcmp(word, "main_pid"))
			r->main_pid = atoi(rest);
		else if (!strcmp(word, "wall_ms"))
			r->wall_ms = atof(rest);
		else if (!strcmp(word, "output_truncated"))
			r->truncated = true;
		else if (!strcmp(word, "trace_broken"))
			snprintf(r->trace_broken, sizeof r->trace_broken, "%.*s",
				 (int)strcspn(rest + 1, "\n"), rest + 1);
		else if (!strcmp(word, "file"))
			sscanf(rest, " %*s dev=%lu ino=%lu", &r->made_dev, &r->made_ino);
		else if (!strcmp(word, "proc") && r->nprocs < MAX_LEFT) {
			struct left_proc *p = &r->procs[r->nprocs];
			if (sscanf(rest, " pid=%d ppid=%d state=%c comm=%31s syscall=%23s", &p->pid,
				   &p->ppid, &p->state, p->comm, p->syscall) == 5)
				r->nprocs++;
		} else if (!strcmp(word, "queue") && r->nqueues < MAX_LEFT) {
			struct left_queue *q = &r->queues[r->nqueues];
			if (sscanf(
				rest,
				" key=%x msqid=%d perms=%o cbytes=%ld qnum=%ld lspid=%d lrpid=%d",
				&q->key, &q->msqid, (unsigned *)&q->perms, &q->cbytes, &q->qnum,
				&q->lspid, &q->lrpid) == 7)
				r->nqueues++;
		}
		const char *end = strchr(line, '\n');
		line = end ? end + 1 : line + strlen(line);
	}
}

/* text with every {bin} and {tools} replaced; malloc'd. */
static char *substitute(const char *text, const char *bin, const char *tools)
{
	char *out = fill_placeholders(text, bin, tools);
	if (!out)
		cr_assert_fail("grader error: out of memory");
	return out;
}

/* What to run for a spec: the submission's programs, or with reference, the reference's. */
struct invocation {
	char *program, *setup;
	char *args[MAX_ARGS + 1];
	char host_bin[4096], host_tools[4096]; /* what {bin} and {tools} are on the host */
};

static void dir_of(const char *path, char *out, size_t size)
{
	snprintf(out, size, "%s", path);
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
}

enum target {
	SUBMISSION, /* what is graded */
	REFERENCE,  /* the reference solution, to calibrate the timeout */
	SHOWN,	    /* how a student runs it by hand from the lab's folder */
	REPLAY	    /* with {bin} and {tools} kept, for bare-run to fill in (keep_replay) */
};

/* Returns false when there is nothing to run (no reference for a fixed program). */
static bool resolve(const struct run_spec *spec, enum target target, struct invocation *inv)
{
	char program[4300];
	const char *main_program =
	    need_env(target == REFERENCE ? "MSGLAB_REFERENCE" : "MSGLAB_PROGRAM");
	memset(inv, 0, sizeof *inv);
	dir_of(main_program, inv->host_bin, sizeof inv->host_bin);
	snprintf(inv->host_tools, sizeof inv->host_tools, "%s",
		 getenv("MSGLAB_TOOLS") ? getenv("MSGLAB_TOOLS") : "");
	/* The sandbox shows the folders at fixed places (msglab-run's fallback mode too). */
	const char *bin = SANDBOX_BIN, *tools = SANDBOX_TOOLS;
	if (target == SHOWN) {
		bin = ".";
		tools = getenv("MSGLAB_TOOLS_SHOWN") ? getenv("MSGLAB_TOOLS_SHOWN") : tools;
	} else if (target == REPLAY) {
		bin = "{bin}";
		tools = "{tools}";
	}
	const char *name =
	    strrchr(main_program, '/') ? strrchr(main_program, '/') + 1 : main_program;
	if (spec->tool)
		snprintf(program, sizeof program, "%s/%s", tools, spec->tool);
	else if (spec->program && strchr(spec->program, '/')) {
		if (target == REFERENCE)
			return false;
		snprintf(program, sizeof program, "%s", spec->program);
	} else
		snprintf(program, sizeof program, "%s/%s", bin,
			 spec->program ? spec->program : name);
	inv->program = substitute(program, bin, tools);
	inv->setup = spec->setup ? substitute(spec->setup, bin, tools) : NULL;
	for (int i = 0; spec->args && spec->args[i]; i++) {
		if (i == MAX_ARGS)
			cr_assert_fail("grader error: more than %d arguments", MAX_ARGS);
		inv->args[i] = substitute(spec->args[i], bin, tools);
	}
	return true;
}

static void free_invocation(struct invocation *inv)
{
	free(inv->program);
	free(inv->setup);
	for (int i = 0; inv->args[i]; i++)
		free(inv->args[i]);
}

/* NUL bytes of the program's output as the visible text \0, so that every check (which sees
 * C strings) also sees what came after them. */
static char *visible_nuls(char *buf, size_t *len)
{
	size_t nuls = 0;
	for (size_t i = 0; i < *len; i++)
		nuls += buf[i] == '\0';
	if (!nuls)
		return buf;
	char *out = xrealloc(NULL, *len + nuls + 1);
	size_t k = 0;
	for (size_t i = 0; i < *len; i++) {
		if (buf[i] == '\0') {
			out[k++] = '\\';
			out[k++] = '0';
		} else
			out[k++] = buf[i];
	}
	out[k] = '\0';
	free(buf);
	*len = k;
	return out;
}

/* The call record, from strace's output; a grader tool's own calls dropped if asked. */
static int by_time(const void *a, const void *b)
{
	const struct trace_call *x = *(const struct trace_call *const *)a;
	const struct trace_call *y = *(const struct trace_call *const *)b;
	return (x->t_us > y->t_us) - (x->t_us < y->t_us);
}

static const char *errno_name(int err)
{
	const char *name = err ? strerrorname_np(err) : NULL;
	return name ? name : "?";
}

/* One call of the record as a student reads it. */
static void print_call(FILE *f, const struct trace_call *c, long long t0)
{
	fprintf(f, "%+9.3f ms  pid %-3d %-6s", (double)(c->t_us - t0) / 1000, c->pid, c->call);
	if (!strcmp(c->call, "exit")) {
		fprintf(f, " status %ld\n", c->ret);
		return;
	}
	if (!strncmp(c->call, "msg", 3) && strcmp(c->call, "msgget") != 0)
		fprintf(f, " msqid=%d", c->msqid);
	if (!strcmp(c->call, "msgget"))
		fprintf(f, " key=0x%08x flags=0%o", c->key, (unsigned)c->flags);
	if (!strcmp(c->call, "msgsnd") || !strcmp(c->call, "msgrcv"))
		fprintf(f, " msgsz=%ld flags=0x%x", c->msgsz, (unsigned)c->flags);
	if (!strcmp(c->call, "msgrcv"))
		fprintf(f, " msgtyp=%ld", c->msgtyp);
	if (!strcmp(c->call, "msgctl"))
		fprintf(f, " cmd=%d", c->cmd);
	if (c->has_mtype && (c->ret >= 0 || !strcmp(c->call, "msgsnd")))
		fprintf(f, " mtype=%ld", c->mtype);
	if (c->ret < 0)
		fprintf(f, " = -1 %s", errno_name(c->err));
	else
		fprintf(f, " = %ld", c->ret);
	if (c->shown) {
		char *bytes = show_bytes(c->data, c->shown);
		fprintf(f, "  %s%s", bytes, (long)c->shown < c->datalen ? " ..." : "");
		free(bytes);
	}
	fputc('\n', f);
}

/*
 * LABEL.trace in the transcript: the record in time order, one line per call, errno by name,
 * a run of the same failing call folded into one line with its count.
 */
static void keep_calls(const struct run_result *r)
{
	if (!r->ncalls)
		return;
	const struct trace_call **order = xrealloc(NULL, r->ncalls * sizeof *order);
	for (size_t i = 0; i < r->ncalls; i++)
		order[i] = &r->calls[i];
	qsort(order, r->ncalls, sizeof *order, by_time);
	char *text;
	size_t size;
	FILE *f = open_memstream(&text, &size);
	if (!f)
		cr_assert_fail("grader error: out of memory");
	fprintf(f, "# time since the first call, pid, call, arguments = result; bytes sent or "
		   "received\n");
	for (size_t i = 0; i < r->ncalls;) {
		const struct trace_call *c = order[i];
		size_t same = 1;
		while (c->ret < 0 && i + same < r->ncalls) {
			const struct trace_call *d = order[i + same];
			if (d->pid != c->pid || strcmp(d->call, c->call) || d->err != c->err ||
			    d->ret >= 0)
				break;
			same++;
		}
		print_call(f, c, order[0]->t_us);
		if (same > 2)
			fprintf(f, "           ... the same call failed %zu more times with %s\n",
				same - 1, errno_name(c->err));
		i += same > 2 ? same : 1;
	}
	if (fclose(f) != 0)
		cr_assert_fail("grader error: out of memory");
	char name[48];
	snprintf(name, sizeof name, "%s.trace", r->label);
	keep_file(name, text, size);
	free(text);
	free(order);
}

static void read_record(const char *path, const struct run_spec *spec, struct run_result *r)
{
	size_t len;
	char *text = slurp(path, &len);
	if (strace_record_parse(text, len, r->main_pid, &r->calls, &r->ncalls, &r->exec_us) != 0)
		cr_assert_fail("grader error: out of memory reading the call record");
	free(text);
	if (!spec->untraced_main)
		return;
	size_t kept = 0;
	for (size_t i = 0; i < r->ncalls; i++) {
		struct trace_call *c = &r->calls[i];
		if (c->pid == r->main_pid && !strncmp(c->call, "msg", 3))
			free(c->data);
		else
			r->calls[kept++] = *c;
	}
	r->ncalls = kept;
}

static double monotonic_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		cr_assert_fail("grader error: clock_gettime: %s", strerror(errno));
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* Reap our child pid into *status, waiting at most limit_ms (false: still running). Asleep in
 * poll on a pidfd meanwhile, not waking every millisecond to look: on a loaded machine those
 * wake-ups cost more processor time than the run (a tick only where the kernel has no pidfd). */
static bool wait_until(pid_t pid, int *status, double limit_ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	double end = monotonic_ms() + limit_ms;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR)) {
			if (fd >= 0)
				close(fd);
			if (w < 0)
				cr_assert_fail("grader error: waitpid: %s", strerror(errno));
			return true;
		}
		double left = end - monotonic_ms();
		if (left < 0) {
			if (fd >= 0)
				close(fd);
			return false;
		}
		if (fd >= 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (poll(&p, 1, left > 60000 ? 60000 : (int)left + 1) < 0 && errno != EINTR)
				cr_assert_fail("grader error: poll: %s", strerror(errno));
		} else {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
}

/* Run the invocation in the sandbox; its files are named dir/label.*. */
static void sandbox(const struct invocation *inv, const struct run_spec *spec, double timeout_ms,
		    const char *dir, const char *label, struct run_result *r)
{
	char timeout[32], bin_bind[4200], tools_bind[4200];
	char in_path[4300], out_path[4300], err_path[4300], trace_path[4300], rep_path[4300];
	snprintf(in_path, sizeof in_path, "%s/%s.stdin", dir, label);
	snprintf(out_path, sizeof out_path, "%s/%s.stdout", dir, label);
	snprintf(err_path, sizeof err_path, "%s/%s.stderr", dir, label);
	snprintf(trace_path, sizeof trace_path, "%s/%s.strace", dir, label);
	snprintf(rep_path, sizeof rep_path, "%s/%s.sandbox", dir, label);
	if (spec->input)
		write_whole(in_path, spec->input, strlen(spec->input));
	snprintf(timeout, sizeof timeout, "%.0f", timeout_ms);

	const char *argv[MAX_ARGS + 48];
	int n = 0;
	argv[n++] = need_env("MSGLAB_RUN");
	argv[n++] = "-t";
	argv[n++] = timeout;
	argv[n++] = "-r";
	argv[n++] = rep_path;
	argv[n++] = "-T";
	argv[n++] = trace_path;
	snprintf(bin_bind, sizeof bin_bind, "%s=" SANDBOX_BIN, inv->host_bin);
	argv[n++] = "-b";
	argv[n++] = bin_bind;
	if (inv->host_tools[0]) {
		snprintf(tools_bind, sizeof tools_bind, "%s=" SANDBOX_TOOLS, inv->host_tools);
		argv[n++] = "-b";
		argv[n++] = tools_bind;
	}
	if (spec->subdir) {
		argv[n++] = "-C";
		argv[n++] = spec->subdir;
	}
	if (spec->make_file) {
		argv[n++] = "-f";
		argv[n++] = spec->make_file;
	}
	for (int i = 0; i < 4 && spec->env[i]; i++) {
		argv[n++] = "-e";
		argv[n++] = spec->env[i];
	}
	if (sanitized() && strcmp(label, "reference") != 0) {
		/* AddressSanitizer reserves terabytes of address space: the tree's memory limit
		 * (a cgroup) stays, the per-process one goes. A memory error ends the process
		 * with SANITIZER_EXIT, which the call record shows however stderr was handled. */
		argv[n++] = "-m";
		argv[n++] = "0";
		for (int i = 0; i < 2; i++) {
			argv[n++] = "-e";
			argv[n++] = sanitizer_env[i];
		}
	}
	for (int i = 0; i < 4 && spec->sysctl[i]; i++) {
		argv[n++] = "-s";
		argv[n++] = spec->sysctl[i];
	}
	if (inv->setup) {
		argv[n++] = "-x";
		argv[n++] = inv->setup;
	}
	if (spec->other_user)
		argv[n++] = "-O";
	argv[n++] = "--";
	argv[n++] = inv->program;
	for (int i = 0; inv->args[i]; i++)
		argv[n++] = inv->args[i];
	argv[n] = NULL;

	pid_t pid = fork();
	if (pid < 0)
		cr_assert_fail("grader error: fork: %s", strerror(errno));
	if (pid == 0) {
		/* Never return into Criterion from here: exec or _exit. */
		int in = open(spec->input ? in_path : "/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(125);
		/* Criterion's descriptors (its shared memory, our transcripts) stay here. */
		if (close_range(3, ~0U, 0) != 0)
			_exit(125);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "grader error: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(125);
	}
	/* msglab-run keeps its own deadline; this one only guards against the sandbox itself. */
	int status = 0;
	if (!wait_until(pid, &status, 2 * timeout_ms + 25000)) { /* setup + program + tracer */
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		cr_assert_fail("grader error: the sandbox did not finish");
	}

	memset(r, 0, sizeof *r);
	snprintf(r->label, sizeof r->label, "%s", label);
	r->timeout_ms = timeout_ms;
	char *rep = slurp(rep_path, NULL);
	if (!strstr(rep, "outcome ")) {
		char why[1024];
		char *err = slurp(err_path, NULL);
		snprintf(why, sizeof why, "%s%s", rep, err);
		free(err);
		free(rep);
		cr_assert_fail("grader error: the sandbox gave no report (status %d): %s", status,
			       why);
	}
	parse_report(rep, r);
	free(rep);
	r->out = slurp(out_path, &r->out_len);
	r->out = visible_nuls(r->out, &r->out_len);
	r->err = slurp(err_path, &r->err_len);
	r->err = visible_nuls(r->err, &r->err_len);
	read_record(trace_path, spec, r);
}

unsigned made_file_key(const struct run_result *r, int proj)
{
	return (unsigned)((r->made_ino & 0xffff) | ((r->made_dev & 0xff) << 16) |
			  ((unsigned long)(proj & 0xff) << 24));
}

/*
 * The command a student can type in the lab's folder to run the same case by hand. A case that
 * needs the sandbox (a setup, kernel limits, a second user) runs in it, as msglab-run.
 */
static char *shown_command(const struct run_spec *spec, const char *label)
{
	struct invocation inv;
	resolve(spec, SHOWN, &inv);
	char *text;
	size_t size;
	FILE *cmd = open_memstream(&text, &size);
	if (!cmd)
		cr_assert_fail("grader error: out of memory");
	bool sandboxed = inv.setup || spec->sysctl[0] || spec->other_user || spec->subdir;
	/* In the sandbox the working folder starts empty: msglab-run makes the file there. */
	if (spec->make_file && !sandboxed)
		fprintf(cmd, "touch %s && ", spec->make_file);
	for (int i = 0; i < 4 && spec->env[i] && !sandboxed; i++) {
		quote(cmd, spec->env[i]);
		fputc(' ', cmd);
	}
	if (sandboxed) {
		/* msglab-run gives the program a fixed environment: what the test adds goes by -e. */
		fputs(need_env("MSGLAB_RUN"), cmd);
		if (spec->subdir)
			fprintf(cmd, " -C %s", spec->subdir);
		if (spec->make_file) {
			fputs(" -f", cmd);
			quote(cmd, spec->make_file);
		}
		for (int i = 0; i < 4 && spec->env[i]; i++) {
			fputs(" -e", cmd);
			quote(cmd, spec->env[i]);
		}
		for (int i = 0; i < 4 && spec->sysctl[i]; i++)
			fprintf(cmd, " -s %s", spec->sysctl[i]);
		if (inv.setup) {
			fputs(" -x", cmd);
			quote(cmd, inv.setup);
		}
		if (spec->other_user)
			fputs(" -O", cmd);
		fputs(" -- ", cmd);
	}
	fputs(inv.program, cmd);
	for (int i = 0; inv.args[i]; i++)
		quote(cmd, inv.args[i]);
	if (spec->input)
		fprintf(cmd, " < %s/%s.stdin", transcript_dir(), label);
	if (!sandboxed)
		fputs(" | cat", cmd); /* stdout a pipe, as in the grader */
	if (fclose(cmd) != 0)
		cr_assert_fail("grader error: out of memory");
	free_invocation(&inv);
	return text;
}

const char *short_command(const struct run_result *r)
{
	static char brief[200];
	if (strlen(r->command) <= 160)
		return r->command;
	snprintf(brief, sizeof brief, "%.100s ... (whole command in the transcript)", r->command);
	return brief;
}

/*
 * The reference solution's time on this case: measured, or remembered from an earlier grading
 * (MSGLAB_CALIBRATION, a folder the driver keys to this machine and to the lab's solution and
 * tests), so that grading a class runs each reference case once, not once per student.
 */
static double reference_ms(const struct run_spec *spec, const char *label)
{
	char cache[4300] = "";
	const char *cache_dir = getenv("MSGLAB_CALIBRATION");
	if (cache_dir && *cache_dir) {
		snprintf(cache, sizeof cache, "%s/%s.%s", cache_dir, criterion_current_test->name,
			 label);
		FILE *f = fopen(cache, "re");
		double ms;
		if (f) {
			bool ok = fscanf(f, "%lf", &ms) == 1;
			fclose(f);
			if (ok)
				return ms;
		}
	}
	/* A student release ships the figures, not the reference: a case it has none for gets
	 * the floor. */
	const char *ref = getenv("MSGLAB_REFERENCE");
	struct invocation inv;
	if (!ref || !*ref || !resolve(spec, REFERENCE, &inv))
		return -1;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/ref-XXXXXX", need_env("MSGLAB_TMP"));
	if (!mkdtemp(dir))
		cr_assert_fail("grader error: mkdtemp: %s", strerror(errno));
	struct run_result r;
	sandbox(&inv, spec, REFERENCE_TIMEOUT_MS, dir, "reference", &r);
	free_invocation(&inv);
	if (r.timed_out)
		cr_assert_fail("grader error: the reference solution timed out on this case");
	/* Timing a reference that never started would calibrate nothing. */
	if (r.exit_code == 127 && strstr(r.err, "msglab-run: cannot run"))
		cr_assert_fail("grader error: the reference solution could not be run: %.200s",
			       r.err);
	double ms = r.wall_ms;
	run_free(&r);
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		cr_log_warn("grader: cannot clean %s", dir);
	if (cache[0]) {
		/* Written whole and renamed: parallel graders never read half a number. */
		char tmp[4400];
		snprintf(tmp, sizeof tmp, "%s.%d", cache, (int)getpid());
		FILE *f = fopen(tmp, "we");
		if (f) {
			bool written = fprintf(f, "%.3f\n", ms) > 0;
			if (fclose(f) == 0 && written && rename(tmp, cache) == 0)
				return ms;
			unlink(tmp); /* not remembered: measured again next time */
		}
	}
	return ms;
}

static double calibrated_timeout(const struct run_spec *spec, const char *label)
{
	const char *floor_env = getenv("MSGLAB_TIMEOUT_FLOOR_MS");
	double floor_ms = floor_env && *floor_env ? atof(floor_env) : DEFAULT_FLOOR_MS;
	double ms = reference_ms(spec, label); /* -1: none, the floor */
	double t = ms < 0 ? 0 : ms * TIMEOUT_FACTOR;
	if (t < (double)spec->min_timeout_ms)
		t = (double)spec->min_timeout_ms;
	return (t > floor_ms ? t : floor_ms) * timeout_scale();
}

static void describe_procs(const struct run_result *r, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (int i = 0; i < r->nprocs && n + 80 < size; i++) {
		const struct left_proc *p = &r->procs[i];
		n +=
		    (size_t)snprintf(out + n, size - n, "\n    pid %d (%s, parent %d) %s%s", p->pid,
				     p->comm, p->ppid,
				     p->state == 'Z' ? "had exited but was never waited for"
				     : strcmp(p->syscall, "-") ? "was blocked in "
							       : "was running",
				     p->state == 'Z' || !strcmp(p->syscall, "-") ? "" : p->syscall);
	}
}

/* Why a call keeps failing, in a few words, for the errors a loop repeats. */
static const char *repeated_error_note(const char *call, int err)
{
	if (err == E2BIG)
		return ": the message is longer than msgsz, so your buffer is smaller than the "
		       "message "
		       "(MSG_NOERROR would truncate it)";
	if (err == EINVAL && !strcmp(call, "msgsnd"))
		return ": mtype must be > 0, msgsz at most MSGMAX, and the queue id valid";
	if (err == EIDRM || err == EINVAL)
		return ": the queue is gone (removed) or the id is wrong; stop using it";
	if (err == ENOMSG)
		return ": nothing to receive (IPC_NOWAIT), and the loop retried at once";
	if (err == EAGAIN)
		return ": the queue is full (IPC_NOWAIT), and the loop retried at once";
	if (err == EINTR)
		return ": a signal interrupted the call";
	return "";
}

/*
 * What the processes of a timed-out run did, beyond where they were blocked: the call that
 * failed most often (a loop retrying an error), and how each process that ended did so.
 */
static void describe_run(const struct run_result *r, char *out, size_t size)
{
	/* Failing calls counted by (pid, call, errno), in one pass: a record can hold a
	 * loop's hundreds of thousands of retries. */
	struct {
		const struct trace_call *c;
		size_t count;
	} seen[16];
	size_t kinds = 0, n = 0, best = 0;
	const struct trace_call *worst = NULL;
	out[0] = '\0';
	for (size_t i = 0; i < r->ncalls; i++) {
		const struct trace_call *c = &r->calls[i];
		if (c->ret >= 0 || !strcmp(c->call, "exit"))
			continue;
		size_t k = 0;
		while (k < kinds && (seen[k].c->pid != c->pid || seen[k].c->err != c->err ||
				     strcmp(seen[k].c->call, c->call)))
			k++;
		if (k == kinds) {
			if (kinds == sizeof seen / sizeof seen[0])
				continue;
			seen[kinds].c = c;
			seen[kinds++].count = 0;
		}
		if (++seen[k].count > best)
			best = seen[k].count, worst = c;
	}
	if (worst && best >= 20)
		n += (size_t)snprintf(out, size, "\n    pid %d: %s failed %zu times with %s%s",
				      worst->pid, worst->call, best, errno_name(worst->err),
				      repeated_error_note(worst->call, worst->err));
	for (size_t i = 0; i < r->ncalls && n + 100 < size; i++) {
		const struct trace_call *c = &r->calls[i];
		if (!strcmp(c->call, "exit") && c->pid != r->main_pid)
			n += (size_t)snprintf(out + n, size - n,
					      "\n    pid %d had exited with status %ld%s", c->pid,
					      c->ret, c->ret ? " (see its stderr)" : "");
	}
}

void mark_outcome(const char *outcome, const char *why)
{
	char text[600];
	int n = snprintf(text, sizeof text, "%s\n%s\n", outcome, why ? why : "");
	keep_file("outcome", text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
}

void skip_test(const char *why)
{
	mark_outcome("SKIP", why);
	cr_skip_test("%s", why);
}

/* For the memory_safety test (the driver reads LABEL.sanitizer): the processes of the
 * sanitized build that ended with the sanitizer's status, as the call record shows them. */
static void note_sanitizer_exits(const struct run_result *r)
{
	char text[1024];
	size_t n = 0;
	for (size_t i = 0; i < r->ncalls && n + 100 < sizeof text; i++) {
		const struct trace_call *c = &r->calls[i];
		if (!strcmp(c->call, "exit") && c->ret == atoi(SANITIZER_EXIT_STR))
			n += (size_t)snprintf(text + n, sizeof text - n,
					      "pid %d ended with the sanitizer's status %ld\n",
					      c->pid, c->ret);
	}
	if (n) {
		char name[48];
		snprintf(name, sizeof name, "%s.sanitizer", r->label);
		keep_file(name, text, n);
	}
}

/*
 * LABEL.replay when MSGLAB_KEEP_REPLAY is set (grade.py sets it): the same invocation, to run
 * again, by the reference solution for the diagram of what was expected
 * (grader/reference_replay.py), or with nothing of the grader's around it for `make bench`'s
 * floor (grader/bench/bare-run.c). "key=value" fields, each ended by a NUL (arguments may hold
 * any byte but NUL), with {bin} and {tools} left for the replay to fill in.
 */
static void keep_replay(const struct run_spec *spec, const char *label, double timeout_ms)
{
	if (!getenv("MSGLAB_KEEP_REPLAY"))
		return;
	size_t size;
	char *text;
	FILE *f = open_memstream(&text, &size);
	if (!f)
		cr_assert_fail("grader error: out of memory");
	struct invocation inv;
	resolve(spec, REPLAY, &inv);
	fprintf(f, "program=%s%c", inv.program, 0);
	fprintf(f, "timeout=%.0f%c", timeout_ms, 0);
	for (int i = 0; sanitized() && i < 2; i++)
		fprintf(f, "env=%s%c", sanitizer_env[i], 0);
	for (int i = 0; inv.args[i]; i++)
		fprintf(f, "arg=%s%c", inv.args[i], 0);
	for (int i = 0; i < 4 && spec->env[i]; i++)
		fprintf(f, "env=%s%c", spec->env[i], 0);
	for (int i = 0; i < 4 && spec->sysctl[i]; i++)
		fprintf(f, "sysctl=%s%c", spec->sysctl[i], 0);
	if (spec->input)
		fprintf(f, "stdin=%s.stdin%c", label, 0);
	if (inv.setup)
		fprintf(f, "setup=%s%c", inv.setup, 0);
	free_invocation(&inv);
	if (spec->make_file)
		fprintf(f, "file=%s%c", spec->make_file, 0);
	if (spec->subdir)
		fprintf(f, "subdir=%s%c", spec->subdir, 0);
	if (spec->other_user)
		fprintf(f, "other=1%c", 0);
	if (fclose(f) != 0)
		cr_assert_fail("grader error: out of memory");
	char name_buf[48];
	snprintf(name_buf, sizeof name_buf, "%s.replay", label);
	keep_file(name_buf, text, size);
	free(text);
}

void run_student(const struct run_spec *spec, struct run_result *r)
{
	static int runs;
	const char *mode = getenv("MSGLAB_MODE");
	if (spec->sysctl[0] && mode && !strcmp(mode, "fallback"))
		skip_test("needs a private IPC namespace to set a kernel limit, and this machine "
			  "gives none (fallback mode)");
	if (spec->other_user && geteuid() != 0)
		skip_test("needs a second user, which only a grader run as root can have");
	char label[32];
	snprintf(label, sizeof label, "run%d", ++runs);
	double timeout_ms = calibrated_timeout(spec, label);
	struct invocation inv;
	resolve(spec, SUBMISSION, &inv);
	sandbox(&inv, spec, timeout_ms, transcript_dir(), label, r);
	free_invocation(&inv);
	keep_calls(r);
	if (sanitized())
		note_sanitizer_exits(r);
	r->command = shown_command(spec, label);
	char cmd_file[48];
	snprintf(cmd_file, sizeof cmd_file, "%s.command", label);
	keep_file(cmd_file, r->command, strlen(r->command));
	keep_replay(spec, label, timeout_ms);
	/* A record with a hole (the tracer killed, or it could not start) proves nothing: no
	 * test that reads it may pass. */
	if (r->trace_broken[0]) {
		mark_outcome("FAIL", NULL);
		cr_assert_fail("the call record of `%s` is incomplete (%s): the grader cannot see "
			       "what the program did, so this test cannot pass%s",
			       short_command(r), r->trace_broken, stderr_note(r));
	}
	if (!spec->allow_failure)
		expect_finished(r);
}

/* Where the last non-empty line of stderr starts, and its length (trailing newlines and, if
 * trim_spaces, spaces left out). */
static size_t last_line_of(const struct run_result *r, bool trim_spaces, int *len)
{
	size_t end = r->err_len;
	while (end > 0 && (r->err[end - 1] == '\n' || (trim_spaces && r->err[end - 1] == ' ')))
		end--;
	size_t start = end;
	while (start > 0 && r->err[start - 1] != '\n')
		start--;
	*len = (int)(end - start);
	return start;
}

const char *stderr_note(const struct run_result *r)
{
	static char note[256];
	int len;
	size_t start = last_line_of(r, true, &len);
	if (len == 0)
		return "";
	snprintf(note, sizeof note, "; its stderr %s: %.*s", start ? "ends with" : "says",
		 len > 200 ? 200 : len, r->err + start);
	return note;
}

const char *last_err_line(const struct run_result *r)
{
	static char line[256];
	int len;
	size_t start = last_line_of(r, false, &len);
	snprintf(line, sizeof line, "%.*s", len > 200 ? 200 : len, r->err + start);
	return line;
}

void expect_usage_error(const struct run_result *r, const char *what, const char *usage)
{
	cr_expect_eq(r->exit_code, 2, "`%s` (%s): exited with status %d, expected 2 (usage)",
		     short_command(r), what, r->exit_code);
	if (strcmp(last_err_line(r), usage))
		cr_expect_fail("`%s` (%s): the last line on stderr must be `%s`; %s%s",
			       short_command(r), what, usage,
			       r->err_len ? "it was: " : "stderr was empty", last_err_line(r));
	cr_expect_eq(count_calls(r, "msgget", 0) + count_calls(r, "fork", 0), 0,
		     "`%s` (%s): a usage error must stop the program before msgget and fork",
		     short_command(r), what);
	cr_expect(r->out_len == 0, "`%s` (%s): nothing goes to stdout on a usage error",
		  short_command(r), what);
}

void expect_finished(const struct run_result *r)
{
	/* What the program said last is often why it hung: a child that died on an error. */
	const char *said = stderr_note(r);
	if (r->timed_out) {
		char procs[2048], run[1024];
		describe_procs(r, procs, sizeof procs);
		describe_run(r, run, sizeof run);
		mark_outcome("TIMEOUT", NULL);
		cr_assert_fail(
		    "TIMEOUT: `%s` did not finish within %.1f s (%dx the reference solution's "
		    "time, at least %.1f s)%s. When time ran out:%s%s",
		    short_command(r), r->timeout_ms / 1000, TIMEOUT_FACTOR,
		    DEFAULT_FLOOR_MS / 1000.0, said, r->nprocs ? procs : " no process was left?",
		    run);
	}
	if (r->signaled) {
		mark_outcome("CRASH", NULL);
		cr_assert_fail("CRASH: `%s` was killed by signal %d (%s)%s%s", short_command(r),
			       r->signal, strsignal(r->signal),
			       r->signal == SIGSEGV
				   ? ": an invalid memory access; run it under gdb or "
				     "valgrind to find the line"
				   : "",
			       said);
	}
}

void run_free(struct run_result *r)
{
	for (size_t i = 0; i < r->ncalls; i++)
		free(r->calls[i].data);
	free(r->calls);
	free(r->out);
	free(r->err);
	free(r->command);
	memset(r, 0, sizeof *r);
}

void expect_exit(const struct run_result *r, int status)
{
	if (r->exit_code != status)
		cr_expect_fail("`%s` exited with status %d, expected %d%s", short_command(r),
			       r->exit_code, status, stderr_note(r));
}

static bool matches(const struct trace_call *c, const char *call, int pid)
{
	return (!call || !strcmp(c->call, call)) && (!pid || c->pid == pid);
}

size_t count_calls(const struct run_result *r, const char *call, int pid)
{
	size_t n = 0;
	for (size_t i = 0; i < r->ncalls; i++)
		n += matches(&r->calls[i], call, pid);
	return n;
}

const struct trace_call *nth_call(const struct run_result *r, const char *call, int pid, size_t n)
{
	for (size_t i = 0; i < r->ncalls; i++)
		if (matches(&r->calls[i], call, pid) && n-- == 0)
			return &r->calls[i];
	return NULL;
}

int children_of(const struct run_result *r, int pid, int *out, int max)
{
	int n = 0;
	for (size_t i = 0; i < r->ncalls && n < max; i++)
		if (matches(&r->calls[i], "fork", pid) && r->calls[i].ret > 0)
			out[n++] = (int)r->calls[i].ret;
	return n;
}

/* Replace the number after each of the words with a placeholder. */
char *normalise(const char *text)
{
	static const struct {
		const char *word, *placeholder;
	} rules[] = {{"queue ", "queue <id>"}, {"pid ", "pid <pid>"}};
	size_t cap = strlen(text) + 1, n = 0;
	char *out = xrealloc(NULL, cap);
	for (const char *p = text; *p;) {
		bool done = false;
		for (size_t i = 0; i < sizeof rules / sizeof rules[0] && !done; i++) {
			size_t wl = strlen(rules[i].word);
			const char *num = p + wl;
			bool at_word_start = p == text || !isalnum((unsigned char)p[-1]);
			if (at_word_start && !strncmp(p, rules[i].word, wl) &&
			    (isdigit((unsigned char)*num) ||
			     (*num == '-' && isdigit((unsigned char)num[1])))) {
				size_t pl = strlen(rules[i].placeholder);
				cap += pl;
				out = xrealloc(out, cap);
				memcpy(out + n, rules[i].placeholder, pl);
				n += pl;
				p = num + 1;
				while (isdigit((unsigned char)*p))
					p++;
				done = true;
			}
		}
		if (!done)
			out[n++] = *p++;
	}
	out[n] = '\0';
	return out;
}

char *show_bytes(const unsigned char *p, size_t n)
{
	enum { SHOWN = 64 }; /* enough to see what is wrong; a message is not a dump */
	char *out = xrealloc(NULL, SHOWN * 4 + 32);
	size_t k = 0;
	out[k++] = '"';
	for (size_t i = 0; i < n && i < SHOWN; i++) {
		if (p[i] == '\0')
			k += (size_t)sprintf(out + k, "\\0");
		else if (p[i] == '\n')
			k += (size_t)sprintf(out + k, "\\n");
		else if (isprint(p[i]) && p[i] != '"' && p[i] != '\\')
			out[k++] = (char)p[i];
		else
			k += (size_t)sprintf(out + k, "\\x%02x", p[i]);
	}
	out[k++] = '"';
	out[k] = '\0';
	if (n > SHOWN)
		sprintf(out + k, " (+%zu more bytes)", n - SHOWN);
	return out;
}

char **text_lines(const char *text, const char *prefix, size_t *count)
{
	char **lines = calloc(strlen(text) + 2, sizeof *lines);
	if (!lines)
		cr_assert_fail("grader error: out of memory");
	size_t n = 0, pl = strlen(prefix);
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		if (!strncmp(p, prefix, pl) && len >= pl) {
			lines[n] = strndup(p + pl, len - pl);
			if (!lines[n++])
				cr_assert_fail("grader error: out of memory");
		}
		p += len + (p[len] == '\n');
	}
	*count = n;
	return lines;
}

void free_lines(char **lines)
{
	for (char **l = lines; *l; l++)
		free(*l);
	free(lines);
}

void keep_comparison(const struct run_result *r, const char *expected, const char *actual)
{
	char name[64];
	snprintf(name, sizeof name, "%s.expected", r->label);
	keep_file(name, expected, strlen(expected));
	snprintf(name, sizeof name, "%s.actual", r->label);
	keep_file(name, actual, strlen(actual));
}

void expect_stdout(const struct run_result *r, const char *expected)
{
	char *actual = normalise(r->out);
	if (strcmp(actual, expected) != 0) {
		keep_comparison(r, expected, actual);
		/* Name the first line that differs; the driver shows the whole diff. */
		const char *a = actual, *e = expected;
		int line = 1;
		while (*a && *a == *e) {
			if (*a == '\n')
				line++;
			a++;
			e++;
		}
		while (a > actual && a[-1] != '\n' && e > expected && e[-1] != '\n')
			a--, e--;
		static const char end[] = "the end of the output";
		int al = *a ? (int)strcspn(a, "\n") : (int)sizeof end - 1;
		int el = *e ? (int)strcspn(e, "\n") : (int)sizeof end - 1;
		cr_expect_fail(
		    "stdout differs from the expected output at line %d: expected %s%.*s%s, got "
		    "%s%.*s%s (stdout normalised: queue ids shown as <id>)",
		    line, *e ? "\"" : "", el > 200 ? 200 : el, *e ? e : end, *e ? "\"" : "",
		    *a ? "\"" : "", al > 200 ? 200 : al, *a ? a : end, *a ? "\"" : "");
	}
	free(actual);
}

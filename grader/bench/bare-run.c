/*
 * bare-run: run one graded invocation again with nothing of the grader around it (no sandbox,
 * no tracer, no Criterion) and print the processor time its processes used: the floor that
 * `make bench` sets the grading's own cost against.
 *
 *   usage: bare-run -b BIN -t TOOLS REPLAY
 *
 * REPLAY is a run's LABEL.replay (written by grader/lib/harness.c when MSGLAB_KEEP_REPLAY is
 * set): "key=value" fields each ended by a NUL; {bin} and {tools} in them become BIN and TOOLS.
 * The run gets what the sandbox gives a program and nothing more: a private IPC namespace with
 * the same kernel limits, a new empty working folder, the same environment and standard input,
 * its setup command first (untimed, as the grader's own); it is timed from its fork to the end
 * of its last process, and whatever is left when the main process ends is killed, as the
 * sandbox does. Prints "cpu_ms X" (user + system of every process of the run), "wall_ms Y"
 * and "exit_code Z" (the main process's; 128 + N for signal N, -1 if it never ended); exit
 * status 0, or 1 with the reason on stderr.
 *
 * Needs root (or unprivileged user namespaces) for the IPC, PID and mount namespaces: the run's
 * queues must not meet anyone else's, and its /proc shows its own processes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../lib/placeholders.h"

#define MAX_FIELDS     512
#define DEFAULT_SYSCTL "msgmni=64" /* what the sandbox sets for every run */

struct replay {
	const char *program, *stdin_file, *setup, *file, *subdir;
	long timeout_ms;
	const char *args[MAX_FIELDS], *env[MAX_FIELDS], *sysctl[8];
	int nargs, nenv, nsysctl;
};

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bare-run: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime: %s", strerror(errno));
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* text with {bin} and {tools} replaced (malloc'd). */
static char *fill(const char *text, const char *bin, const char *tools)
{
	char *out = fill_placeholders(text, bin, tools);
	if (!out)
		die("out of memory");
	return out;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("%s: %s", path, strerror(errno));
	size_t cap = 1 << 16;
	char *buf = malloc(cap + 1);
	if (!buf)
		die("out of memory");
	*len = fread(buf, 1, cap, f);
	if (ferror(f) || !feof(f))
		die("%s: unreadable or longer than %zu bytes", path, cap);
	if (fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
	buf[*len] = '\0';
	return buf;
}

static void parse(char *text, size_t len, const char *bin, const char *tools, struct replay *r)
{
	memset(r, 0, sizeof *r);
	r->timeout_ms = 10000;
	for (size_t off = 0; off < len;) {
		char *field = text + off;
		size_t n = strlen(field);
		off += n + 1;
		char *eq = strchr(field, '=');
		if (!eq)
			die("bad field %s", field);
		*eq = '\0';
		char *value = fill(eq + 1, bin, tools);
		if (!strcmp(field, "program"))
			r->program = value;
		else if (!strcmp(field, "arg") && r->nargs < MAX_FIELDS - 2)
			r->args[r->nargs++] = value;
		else if (!strcmp(field, "env") && r->nenv < MAX_FIELDS - 8)
			r->env[r->nenv++] = value;
		else if (!strcmp(field, "sysctl") && r->nsysctl < 7)
			r->sysctl[r->nsysctl++] = value;
		else if (!strcmp(field, "stdin"))
			r->stdin_file = value;
		else if (!strcmp(field, "setup"))
			r->setup = value;
		else if (!strcmp(field, "file"))
			r->file = value;
		else if (!strcmp(field, "subdir"))
			r->subdir = value;
		else if (!strcmp(field, "other")) /* a second user: we run all as ourselves */
			free(value);
		else if (!strcmp(field, "timeout"))
			r->timeout_ms = atol(value);
		else
			die("unknown field %s", field);
	}
	if (!r->program)
		die("no program in the replay");
}

static void set_sysctl(const char *setting)
{
	const char *eq = strchr(setting, '=');
	if (!eq || strpbrk(setting, "/") || eq - setting > 32)
		die("bad sysctl %s", setting);
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/kernel/%.*s", (int)(eq - setting), setting);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, eq + 1, strlen(eq + 1)) < 0 || close(fd) != 0)
		die("%s: %s", path, strerror(errno));
}

/* The environment the sandbox gives a program (supervise.c's program_env). */
static char **environment(const struct replay *r)
{
	static char timeout[48];
	static char *env[MAX_FIELDS + 8];
	int n = 0;
	snprintf(timeout, sizeof timeout, "MSGLAB_TIMEOUT_MS=%ld", r->timeout_ms);
	env[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
	env[n++] = "LANG=C.UTF-8";
	env[n++] = "TZ=UTC";
	env[n++] = "HOME=/nonexistent";
	env[n++] = timeout;
	for (int i = 0; i < r->nenv; i++)
		env[n++] = (char *)r->env[i];
	env[n] = NULL;
	return env;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* The setup, to its end, in its own process group (killed after the run: a tool it leaves
 * running to act later is the grader's, not the program's). Returns the group. */
static pid_t run_setup(const struct replay *r, char **env)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || setpgid(0, 0) != 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
			_exit(126);
		execle("/bin/sh", "sh", "-c", r->setup, (char *)NULL, env);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("the setup `%s` failed (status 0x%x)", r->setup, status);
	return pid;
}

static double cpu_of(const struct rusage *ru)
{
	return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000 +
	       (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000;
}

/*
 * PID 1 of the run's namespace: start the program, reap every process of the run, and when the
 * main one has ended (or the time is up) kill the rest. Writes the processor time of them all
 * to report_fd. Never returns.
 */
static void init_of_run(const struct replay *r, char **env, int report_fd)
{
	if (getpid() != 1) /* kill(-1) below must only reach the run's own processes */
		_exit(1);
	/* A /proc of the run's own processes, as in the sandbox: the tools that wait until a
	 * program is blocked (lab 05's and 06's scenarios) look there. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
		fprintf(stderr, "bare-run: mount /proc: %s\n", strerror(errno));
		_exit(1);
	}
	double deadline = now_ms() + (double)r->timeout_ms;
	pid_t main_pid = fork();
	if (main_pid < 0)
		_exit(1);
	if (main_pid == 0) {
		int in = open(r->stdin_file ? r->stdin_file : "/dev/null", O_RDONLY);
		int null = open("/dev/null", O_WRONLY);
		if (in < 0 || null < 0 || dup2(in, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		const char *argv[MAX_FIELDS + 2];
		argv[0] = r->program;
		for (int i = 0; i < r->nargs; i++)
			argv[i + 1] = r->args[i];
		argv[r->nargs + 1] = NULL;
		execve(r->program, (char *const *)argv, env);
		_exit(127);
	}
	double cpu = 0;
	bool main_done = false;
	int main_status = -1;
	for (;;) {
		struct rusage ru;
		int status;
		pid_t got = wait4(-1, &status, WNOHANG, &ru);
		if (got < 0 && errno == ECHILD)
			break;
		if (got > 0) {
			cpu += cpu_of(&ru);
			if (got == main_pid)
				main_status = WIFEXITED(status)	    ? WEXITSTATUS(status)
					      : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
								    : -1;
			if (got == main_pid && !main_done) {
				main_done = true;
				kill(-1, SIGKILL); /* in this PID namespace: the run's leftovers */
			}
			continue;
		}
		if (!main_done && now_ms() > deadline) {
			main_done = true;
			kill(-1, SIGKILL);
		}
		struct timespec ts = {0, 500 * 1000};
		nanosleep(&ts, NULL);
	}
	char line[64];
	int n = snprintf(line, sizeof line, "%.3f %d\n", cpu, main_status);
	_exit(write(report_fd, line, (size_t)n) == n ? 0 : 1);
}

int main(int argc, char **argv)
{
	const char *bin = NULL, *tools = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "b:t:")) != -1) {
		if (opt == 'b')
			bin = optarg;
		else if (opt == 't')
			tools = optarg;
		else
			break;
	}
	if (!bin || !tools || optind != argc - 1) {
		fputs("usage: bare-run -b BIN -t TOOLS REPLAY\n", stderr);
		return 2;
	}
	size_t len;
	char *text = slurp(argv[optind], &len);
	struct replay r;
	parse(text, len, bin, tools, &r);
	/* Standard input names a file beside the replay. */
	if (r.stdin_file && r.stdin_file[0] != '/') {
		char *path;
		char *copy = strdup(argv[optind]);
		if (!copy)
			die("out of memory");
		char *slash = strrchr(copy, '/');
		if (asprintf(&path, "%s/%s", slash ? (*slash = '\0', copy) : ".", r.stdin_file) < 0)
			die("out of memory");
		r.stdin_file = realpath(path, NULL);
		if (!r.stdin_file)
			die("%s: %s", path, strerror(errno));
		free(path);
		free(copy);
	}

	if (unshare(CLONE_NEWIPC) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWIPC) != 0)
		die("no private IPC namespace here (%s): run as root", strerror(errno));
	set_sysctl(DEFAULT_SYSCTL);
	for (int i = 0; i < r.nsysctl; i++)
		set_sysctl(r.sysctl[i]);

	char work[] = "/tmp/bare-run-XXXXXX";
	if (!mkdtemp(work) || chdir(work) != 0)
		die("working folder: %s", strerror(errno));
	if (r.subdir && (mkdir(r.subdir, 0755) != 0 || chdir(r.subdir) != 0))
		die("%s: %s", r.subdir, strerror(errno));
	if (r.file) {
		int fd = open(r.file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || close(fd) != 0)
			die("%s: %s", r.file, strerror(errno));
	}
	char **env = environment(&r);
	pid_t setup = r.setup ? run_setup(&r, env) : 0;

	/* Only now: the setup's processes stay outside the run's PID namespace. */
	if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0)
		die("no private PID and mount namespaces here: %s", strerror(errno));
	int report[2];
	if (pipe(report) != 0)
		die("pipe: %s", strerror(errno));
	double start = now_ms();
	pid_t init = fork();
	if (init < 0)
		die("fork: %s", strerror(errno));
	if (init == 0) {
		close(report[0]);
		init_of_run(&r, env, report[1]);
	}
	close(report[1]);
	char line[64] = "";
	ssize_t n = read(report[0], line, sizeof line - 1);
	int status;
	if (waitpid(init, &status, 0) != init)
		die("waitpid: %s", strerror(errno));
	double wall = now_ms() - start;
	if (setup > 0)
		kill(-setup, SIGKILL);
	if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("the run's reaper failed (status 0x%x)", status);
	line[n] = '\0';
	double cpu;
	int exit_code;
	if (sscanf(line, "%lf %d", &cpu, &exit_code) != 2)
		die("the run's reaper said `%s`", line);
	if (chdir("/") != 0 || nftw(work, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		die("remove %s: %s", work, strerror(errno));
	printf("cpu_ms %.3f\nwall_ms %.3f\nexit_code %d\n", cpu, wall, exit_code);
	return 0;
}

/*
 * The supervisor: PID 1 of the sandbox's namespaces (or, in the fallback mode, a child
 * subreaper on the host). It runs the setup command, then the program, relays its stdout,
 * stderr and call record into files with a cap, and when the program's main process exits
 * looks at what it left behind before killing everything. The report is "key value" lines:
 *
 *   mode namespaces|fallback        fallback_reason TEXT
 *   file NAME dev=D ino=I           (-f: the file made in the working folder, for ftok)
 *   setup_output TEXT               (-x)
 *   outcome exited|signaled|timeout exit_code N | signal N
 *   main_pid P   wall_ms MS   stdout_bytes N   stderr_bytes N
 *   output_truncated CAP   trace_truncated CAP
 *   trace_broken WHY                (the call record is incomplete: no test may trust it)
 *   orphans_reaped N
 *   proc pid=P ppid=PP state=S comm=NAME syscall=CALL     (one per process left)
 *   queue key=0xK msqid=Q perms=O cbytes=B qnum=N lspid=P lrpid=P   (one per queue left)
 *   sandbox_error TEXT              (the sandbox itself failed: never the program's fault)
 *
 * The call record comes from strace, outside the program's address space: strace starts the
 * program (through `msglab-run --launch`), and writes into a pipe that only we hold, reopened by
 * strace through /proc/OUR_PID/fd (which the program, another uid or without capabilities, may
 * not open). The program can neither write into it nor hide a system call from it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../lib/strace_record.h"
#include "sandbox.h"

extern FILE *report;

/* What one run of a sandbox may pin in queued messages: MSGMNI queues of MSGMNB bytes. A test
 * may raise either for its case (-s). */
static const char *const default_sysctls[] = {"msgmni=64", NULL};

#define TRACER_GRACE_MS 3000 /* for strace to write its last lines once the program is gone */

struct stream {
	int from;     /* read end of the program's pipe, -1 once at EOF */
	int to;	      /* where its bytes go */
	long cap;     /* bytes kept; the rest is read and dropped so the writer never blocks */
	long written; /* bytes seen in all */
};

struct run {
	pid_t main_pid, tracer;
	bool main_exited, timed_out;
	int status;
	int orphans_reaped;
	double program_cpu_ms; /* user + system time of the run's processes reaped (not strace's) */
	char trace_broken[160];
};

static void apply_sysctl(const char *setting)
{
	char path[128], value[64];
	const char *eq = strchr(setting, '=');
	int n = eq ? (int)(eq - setting) : 0;
	if (n <= 0 || n > 32 || strpbrk(setting, "/.") || strlen(eq + 1) > 40)
		die("bad sysctl %s", setting);
	snprintf(path, sizeof path, "/proc/sys/kernel/%.*s", n, setting);
	snprintf(value, sizeof value, "%s\n", eq + 1);
	write_file(path, value);
}

static void make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
}

static void move_fd(int from, int to)
{
	if (from == to) {
		int flags = fcntl(from, F_GETFD);
		if (flags < 0 || fcntl(from, F_SETFD, flags & ~FD_CLOEXEC) != 0)
			die("fcntl: %s", strerror(errno));
		return;
	}
	if (dup2(from, to) < 0)
		die("dup2: %s", strerror(errno));
}

const char *workdir(const struct options *o)
{
	if (o->cwd)
		return o->cwd;
	return o->no_namespaces && o->dir ? o->dir : SANDBOX_WORKDIR;
}

/* -C NAME: the folder /work/NAME, owned and shared like /work itself, becomes the working
 * folder (of the program, of -f and of -x). */
static void make_subdir(struct options *o, char *path, size_t size)
{
	if (strchr(o->subdir, '/') || !strcmp(o->subdir, "..") || !strcmp(o->subdir, ".") ||
	    !o->subdir[0])
		die("bad -C %s: a plain folder name", o->subdir);
	const char *base = workdir(o);
	struct stat st;
	if (stat(base, &st) != 0)
		die("stat %s: %s", base, strerror(errno));
	snprintf(path, size, "%s/%s", base, o->subdir);
	if (mkdir(path, 0700) != 0 || chown(path, st.st_uid, st.st_gid) != 0 ||
	    chmod(path, st.st_mode & 07777) != 0)
		die("mkdir %s: %s", path, strerror(errno));
	o->cwd = path;
}

/* The program's whole environment: a short fixed list, never the grader's. */
static void program_env(const struct options *o)
{
	char timeout[32];
	snprintf(timeout, sizeof timeout, "%ld", o->timeout_ms);
	if (clearenv() != 0 || setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1) != 0 ||
	    setenv("LANG", "C.UTF-8", 1) != 0 || setenv("TZ", "UTC", 1) != 0 ||
	    /* Never the working folder: a program that finds its files by HOME shows it. */
	    setenv("HOME", "/nonexistent", 1) != 0 ||
	    /* A grader tool run as the program plans its own waits within this. */
	    setenv("MSGLAB_TIMEOUT_MS", timeout, 1) != 0)
		die("setenv: %s", strerror(errno));
	for (int i = 0; i < o->nenv; i++)
		if (putenv((char *)o->env[i]) != 0)
			die("putenv: %s", strerror(errno));
}

/* -f NAME: an empty file in the working folder, made by us (the program may not replace it);
 * its device and inode let the tests compute the key ftok gives for it. */
static void make_file(const struct options *o)
{
	if (strchr(o->make_file, '/') || !strcmp(o->make_file, "..") || !strcmp(o->make_file, "."))
		die("bad -f %s: a plain file name", o->make_file);
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", workdir(o), o->make_file);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || close(fd) != 0)
		die("make %s: %s", path, strerror(errno));
	fprintf(report, "file %s dev=%lu ino=%lu\n", o->make_file, (unsigned long)st.st_dev,
		(unsigned long)st.st_ino);
}

/* Run the setup command to completion as the owner user; its output goes to the report. */
static void run_setup(const struct options *o, double deadline)
{
	int out = memfd_create("setup-output", MFD_CLOEXEC);
	if (out < 0)
		die("memfd_create: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
			die("sigprocmask: %s", strerror(errno));
		if (chdir(workdir(o)) != 0)
			die("chdir %s: %s", workdir(o), strerror(errno));
		move_fd(out, STDOUT_FILENO);
		move_fd(out, STDERR_FILENO);
		program_env(o);
		drop_privileges(o, false);
		execl("/bin/sh", "sh", "-c", o->setup, (char *)NULL);
		die("exec /bin/sh: %s", strerror(errno));
	}
	int status = wait_child(pid, deadline, "the setup command", o->setup);
	char text[4096];
	ssize_t n = pread(out, text, sizeof text - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	for (char *c = text; *c; c++)
		if (*c == '\n')
			*c = ' ';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("the setup command failed (status %d): %s: %s", status, o->setup, text);
	fprintf(report, "setup_output %s\n", text);
	close(out);
}

static void relay(struct stream *s)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(s->from, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* EOF, or an error we can only treat as one */
			close(s->from);
			s->from = -1;
			return;
		}
		long keep = s->cap - s->written;
		if (keep > n)
			keep = n;
		for (long off = 0; off < keep;) {
			ssize_t w = write(s->to, buf + off, (size_t)(keep - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				die("write output: %s", strerror(errno));
			off += w;
		}
		s->written += n;
	}
}

/* Wait up to ms for the streams or a child, relaying whatever comes. */
static void pump(int sfd, struct stream *streams, int extra_fd, double ms)
{
	struct pollfd pfd[5];
	int n = 0;
	pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
	if (extra_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = extra_fd, .events = POLLIN};
	for (int i = 0; i < 3; i++)
		if (streams[i].from >= 0)
			pfd[n++] = (struct pollfd){.fd = streams[i].from, .events = POLLIN};
	if (poll(pfd, (nfds_t)n, ms < 0 ? 0 : (int)ms + 1) < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
	struct signalfd_siginfo ssi;
	while (read(sfd, &ssi, sizeof ssi) == (ssize_t)sizeof ssi)
		;
	for (int i = 0; i < 3; i++)
		if (streams[i].from >= 0)
			relay(&streams[i]);
}

/* Reap pid (or any child, -1) as waitpid does, adding its processor time to the program's unless
 * it is the tracer: what `make bench` compares the grading's own cost with. */
static pid_t reap(struct run *run, pid_t pid, int *status)
{
	struct rusage ru;
	pid_t got = wait4(pid, status, 0, &ru);
	if (got > 0 && got != run->tracer)
		run->program_cpu_ms += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
				       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	return got;
}

/* Is pid still alive (or an unreaped zombie)? Reaps nothing. */
static bool has_exited(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return true;
	return si.si_pid == pid;
}

/* Has pid (our child) ended? Reaps nothing. Under the tracer its end reaches us only once the
 * tracer has seen it, but /proc shows it a zombie at once: its own orphans, handed to us at
 * that moment, must not be taken for orphans of a process still running. */
static bool main_ended(pid_t pid)
{
	return has_exited(pid) || proc_state(pid) == 'Z';
}

/*
 * Reap processes orphaned onto us while the main process still runs (a daemon that exits early
 * is not a leak at exit time). Leave the main process, and anything that may be its unwaited
 * child, unreaped: they are inspected once it has exited. Returns true once main has exited.
 */
static bool reap_early_orphans(struct run *run)
{
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0)
			return main_ended(run->main_pid);
		if (si.si_pid == run->main_pid || main_ended(run->main_pid))
			return true;
		if (si.si_pid == run->tracer && !run->trace_broken[0])
			snprintf(run->trace_broken, sizeof run->trace_broken,
				 "the tracer (strace) ended while the program ran");
		if (reap(run, si.si_pid, NULL) > 0)
			run->orphans_reaped++;
	}
}

/* The program's process: becomes strace, which runs `msglab-run --launch`, which becomes the
 * program. Never returns. */
static void start_program(const struct options *o, const char *self, int out_w, int err_w,
			  int trace_w, int ready_w)
{
	move_fd(out_w, STDOUT_FILENO);
	move_fd(err_w, STDERR_FILENO);
	move_fd(ready_w, ready_w); /* kept across the exec, closed by the launcher */
	program_env(o);
	char **launch = launch_argv(o, self, ready_w, o->other_user);
	if (o->untraced)
		execv(self, launch);
	else {
		static const char *const record[] = {STRACE_RECORD_OPTIONS};
		const size_t nrecord = sizeof record / sizeof record[0];
		size_t nlaunch = 0;
		while (launch[nlaunch])
			nlaunch++;
		char **argv = calloc(nrecord + nlaunch + 6, sizeof *argv);
		char out[64];
		if (!argv)
			die("out of memory");
		snprintf(out, sizeof out, "/proc/%d/fd/%d", (int)getppid(), trace_w);
		size_t n = 0;
		argv[n++] = STRACE_RECORD_STRACE;
		for (size_t i = 0; i < nrecord; i++)
			argv[n++] = (char *)record[i];
		argv[n++] = "-o";
		argv[n++] = out;
		argv[n++] = "--";
		for (size_t i = 0; i < nlaunch; i++)
			argv[n++] = launch[i];
		execv(STRACE_RECORD_STRACE, argv);
	}
	die("exec %s: %s", o->untraced ? self : STRACE_RECORD_STRACE, strerror(errno));
}

static void self_path(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	if (n < 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	buf[n] = '\0';
}

/* Wait for the launcher's word (the program starts now: it says who traces it) or for its
 * process to end first. Returns the tracer's pid, 0 for none, -1 if it never started. */
static int wait_ready(int ready_r, int sfd, struct stream *streams, struct run *run,
		      double deadline)
{
	for (;;) {
		int tracer;
		ssize_t n = read(ready_r, &tracer, sizeof tracer);
		if (n == (ssize_t)sizeof tracer)
			return tracer;
		if (has_exited(run->main_pid))
			return -1;
		if (now_ms() > deadline)
			die("the program did not start in time (the tracer did not start?)");
		pump(sfd, streams, ready_r, 100);
	}
}

static void write_report(const struct options *o, const struct run *run, double wall_ms,
			 const struct stream *streams, const struct lingerings *left,
			 bool namespaces, const struct queue_list *before)
{
	if (run->timed_out)
		fprintf(report, "outcome timeout\n");
	else if (WIFSIGNALED(run->status))
		fprintf(report, "outcome signaled\nsignal %d\n", WTERMSIG(run->status));
	else
		fprintf(report, "outcome exited\nexit_code %d\n", WEXITSTATUS(run->status));
	fprintf(report, "main_pid %d\n", (int)run->main_pid);
	fprintf(report, "wall_ms %.3f\n", wall_ms);
	fprintf(report, "stdout_bytes %ld\nstderr_bytes %ld\n", streams[0].written,
		streams[1].written);
	if (streams[0].written > o->output_cap || streams[1].written > o->output_cap)
		fprintf(report, "output_truncated %ld\n", o->output_cap);
	if (streams[2].written > o->trace_cap)
		fprintf(report, "trace_truncated %ld\n", o->trace_cap);
	if (run->trace_broken[0])
		fprintf(report, "trace_broken %s\n", run->trace_broken);
	fprintf(report, "orphans_reaped %d\n", run->orphans_reaped);
	fprintf(report, "program_cpu_ms %.3f\n", run->program_cpu_ms);
	pid_t self = getpid();
	for (int i = 0; i < left->n; i++) {
		const struct lingering *p = &left->p[i];
		fprintf(report, "proc pid=%d ppid=%d state=%c comm=%s syscall=%s\n", p->pid,
			namespaces || p->ppid != self ? p->ppid : 1, p->state, p->comm, p->syscall);
	}
	struct queue_list queues;
	list_queues(o, namespaces, before, &queues, report);
	free(queues.ids);
	if (fflush(report) != 0)
		die("write report: %s", strerror(errno));
}

int supervise(const struct options *given, bool namespaces, const char *why)
{
	struct options copy = *given, *o = &copy;
	char private_root[64] = "";
	char subdir[4096];
	if (!namespaces)
		fallback_prepare(o, private_root, sizeof private_root);
	if (o->subdir)
		make_subdir(o, subdir, sizeof subdir);
	struct run run;
	memset(&run, 0, sizeof run);
	pid_t self = getpid();
	char exe[4096];
	self_path(exe, sizeof exe);

	fprintf(report, "mode %s\n", namespaces ? "namespaces" : "fallback");
	if (!namespaces)
		fprintf(report, "fallback_reason %s\n", why);
	if (fflush(report) != 0)
		die("write report: %s", strerror(errno));
	if (namespaces) {
		for (const char *const *s = default_sysctls; *s; s++)
			apply_sysctl(*s);
		for (int i = 0; i < o->nsysctl; i++)
			apply_sysctl(o->sysctl[i]);
	} else {
		if (o->nsysctl)
			die("-s needs a private IPC namespace, not available here (%s)", why);
		if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
			die("subreaper: %s", strerror(errno));
	}
	if (o->make_file)
		make_file(o);

	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) != 0)
		die("sigprocmask: %s", strerror(errno));
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		die("signalfd: %s", strerror(errno));

	int out_p[2], err_p[2], trace_p[2] = {-1, -1}, ready_p[2];
	make_pipe(out_p);
	make_pipe(err_p);
	make_pipe(ready_p);
	if (!o->untraced)
		make_pipe(trace_p);
	if (fcntl(ready_p[0], F_SETFL, O_NONBLOCK) != 0)
		die("fcntl: %s", strerror(errno));

	/* Without a namespace of our own, queues that were there before are not the run's. */
	struct queue_list before = {NULL, 0};
	if (!namespaces)
		list_queues(o, false, NULL, &before, NULL);
	/* The setup is the grader's own, trusted code: it gets time of its own, not the
	 * program's (often short) calibrated timeout. */
	if (o->setup)
		run_setup(o, now_ms() + (double)(o->timeout_ms > 10000 ? o->timeout_ms : 10000));

	double started = now_ms();
	run.main_pid = fork();
	if (run.main_pid < 0)
		die("fork: %s", strerror(errno));
	if (run.main_pid == 0)
		start_program(o, exe, out_p[1], err_p[1], trace_p[1], ready_p[1]);
	close(out_p[1]);
	close(err_p[1]);
	close(ready_p[1]);

	/* Without -T the record is still made (and must be read, or strace would block). */
	int trace_to = o->trace_fd;
	if (trace_to < 0 && (trace_to = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		die("open /dev/null: %s", strerror(errno));
	struct stream streams[3] = {{out_p[0], o->out_fd, o->output_cap, 0},
				    {err_p[0], o->err_fd, o->output_cap, 0},
				    {trace_p[0], trace_to, o->trace_cap, 0}};
	for (int i = 0; i < 3; i++)
		if (streams[i].from >= 0 && fcntl(streams[i].from, F_SETFL, O_NONBLOCK) != 0)
			die("fcntl: %s", strerror(errno));

	int tracer = wait_ready(ready_p[0], sfd, streams, &run, started + 10000 + o->timeout_ms);
	double start = now_ms();
	if (!o->untraced) {
		run.tracer = tracer > 0 ? tracer : 0;
		if (!run.tracer)
			snprintf(run.trace_broken, sizeof run.trace_broken,
				 "the tracer (strace) could not start: see stderr");
		close(trace_p[1]); /* strace has its own; its exit now ends the stream */
	}
	close(ready_p[0]);

	double deadline = start + (double)o->timeout_ms;
	while (!(run.main_exited = reap_early_orphans(&run))) {
		double left = deadline - now_ms();
		if (left <= 0) {
			run.timed_out = true;
			break;
		}
		pump(sfd, streams, -1, left);
	}
	double wall_ms = now_ms() - start;

	/* Look before anything is reaped or killed: this is what the program left behind. */
	struct lingerings left;
	pid_t skip[3] = {0, 0, 0}; /* 0-terminated: the exited main process, the tracer */
	int nskip = 0;
	if (run.main_exited)
		skip[nskip++] = run.main_pid;
	if (run.tracer)
		skip[nskip++] = run.tracer;
	list_processes(self, skip, namespaces, &left);
	if (run.main_exited && reap(&run, run.main_pid, &run.status) != run.main_pid)
		die("waitpid: %s", strerror(errno));
	/* Everything but the tracer, which then writes its last lines and ends by itself. */
	pid_t only_tracer[2] = {run.tracer, 0};
	kill_run(self, run.main_pid, only_tracer, namespaces);
	double grace = now_ms() + TRACER_GRACE_MS;
	while (run.tracer && !has_exited(run.tracer) && now_ms() < grace)
		pump(sfd, streams, -1, 10);
	kill_run(self, 0, NULL, namespaces);
	while (reap(&run, -1, NULL) > 0 || errno == EINTR)
		;
	for (int i = 0; i < 3; i++)
		while (streams[i].from >= 0) {
			int flags = fcntl(streams[i].from, F_GETFL);
			if (flags < 0 || fcntl(streams[i].from, F_SETFL, flags & ~O_NONBLOCK) != 0)
				die("fcntl: %s", strerror(errno));
			relay(&streams[i]);
		}
	write_report(o, &run, wall_ms, streams, &left, namespaces, &before);
	free(before.ids);
	if (!namespaces) /* every process of the run is gone: nothing can race us there */
		fallback_finish(o, private_root);

	if (run.timed_out)
		return EXIT_TIMEOUT;
	if (WIFSIGNALED(run.status))
		return 128 + WTERMSIG(run.status);
	return WEXITSTATUS(run.status);
}

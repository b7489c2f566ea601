/*
 * msglab-run: run one student program in a sandbox and report what it left behind.
 *
 * The program gets private IPC, PID and mount namespaces (so queues and processes of parallel
 * runs never meet), resource limits, and pipes for stdout, stderr and the IPC call trace that
 * this process relays into files with a cap. Our own process is PID 1 of the new namespace:
 * when the program's main process exits we look at the namespace before tearing it down, so the
 * queues and processes it left are counted exactly. Where namespaces cannot be had we fall back
 * to a child subreaper and say so in the report.
 *
 * The report is a list of "key value" lines (see write_report). Exit status: the program's own
 * exit status, 128+N when it died of signal N, 124 on timeout, 125 when the sandbox failed.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define TRACE_FD	 1000 /* where the trace library finds its pipe; high to stay out of the way */
#define EXIT_TIMEOUT	 124
#define EXIT_SANDBOX	 125
#define MAX_SYSCTL	 8
#define MAX_PROCS	 64
#define BASE_UID	 4000000 /* unprivileged uids for programs when we run as root... */
#define OTHER_UID_OFFSET 1000000 /* ...and for the other user (-O) */

/* Chosen from our host pid, so that sandboxes running at once never share a uid (and so never
 * share RLIMIT_NPROC's count). */
static uid_t sandbox_uid;

struct options {
	long timeout_ms;
	long output_cap;
	long trace_cap;
	long nproc;
	long cpu_s;
	const char *report_path;
	const char *trace_path;
	const char *trace_lib;
	const char *dir;
	const char *sysctl[MAX_SYSCTL];
	int nsysctl;
	bool no_namespaces;
	const char *setup;
	bool other_user;
	char **argv;
};

struct stream {
	int from;     /* read end of the program's pipe, -1 once at EOF */
	int to;	      /* where its bytes go */
	long cap;     /* bytes kept; the rest is read and dropped so the writer never blocks */
	long written; /* bytes seen in all */
};

struct left_proc {
	int pid, ppid;
	char state;
	char comm[32];
	char syscall[24];
};

struct outcome {
	bool namespaces;
	char fallback_reason[160];
	bool timed_out;
	int status; /* waitpid status of the main process when not timed out */
	double wall_ms;
	int nprocs;
	struct left_proc procs[MAX_PROCS];
	int orphans_reaped;
};

static const char *usage_text =
    "usage: msglab-run [-t MS] [-o BYTES] [-p NPROC] [-c CPU_S] [-r REPORT] [-T TRACE -L LIB]\n"
    "                  [-s NAME=VALUE]... [-d DIR] [-x SETUP] [-O] [-N] -- PROGRAM [ARG]...\n"
    "  -t MS          wall-clock timeout for the whole process tree (default 10000)\n"
    "  -o BYTES       bytes of stdout and of stderr kept (default 1048576)\n"
    "  -p NPROC       processes the program may have at once (default 64)\n"
    "  -c CPU_S       CPU seconds per process (default 10)\n"
    "  -r REPORT      write the sandbox report there (default: standard error)\n"
    "  -T TRACE       write the IPC call trace there, recorded by the preloaded LIB (-L)\n"
    "  -s NAME=VALUE  set /proc/sys/kernel/NAME (msgmax, msgmnb, msgmni) for this run only\n"
    "  -d DIR         working directory of the program\n"
    "  -x SETUP       run the shell command SETUP in the sandbox first, to completion, untraced\n"
    "                 (to prepare queues); it fails the run if it fails\n"
    "  -O             run the program as another unprivileged user than SETUP (needs root)\n"
    "  -N             no namespaces: the announced fallback mode\n";

static FILE *report;

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "msglab-run: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (report && report != stderr) {
		va_start(ap, fmt);
		fprintf(report, "sandbox_error ");
		vfprintf(report, fmt, ap);
		fprintf(report, "\n");
		fflush(report);
		va_end(ap);
	}
	_exit(EXIT_SANDBOX);
}

static double now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime: %s", strerror(errno));
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long parse_long(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		die("bad %s: %s", what, s);
	return v;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	*o = (struct options){.timeout_ms = 10000,
			      .output_cap = 1 << 20,
			      .trace_cap = 16 << 20,
			      .nproc = 64,
			      .cpu_s = 10};
	int c;
	while ((c = getopt(argc, argv, "+t:o:p:c:r:T:L:s:d:x:ONh")) != -1) {
		switch (c) {
		case 't':
			o->timeout_ms = parse_long(optarg, "timeout");
			break;
		case 'o':
			o->output_cap = parse_long(optarg, "output cap");
			break;
		case 'p':
			o->nproc = parse_long(optarg, "process limit");
			break;
		case 'c':
			o->cpu_s = parse_long(optarg, "CPU limit");
			break;
		case 'r':
			o->report_path = optarg;
			break;
		case 'T':
			o->trace_path = optarg;
			break;
		case 'L':
			o->trace_lib = optarg;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'N':
			o->no_namespaces = true;
			break;
		case 'x':
			o->setup = optarg;
			break;
		case 'O':
			o->other_user = true;
			break;
		case 's':
			if (o->nsysctl == MAX_SYSCTL || !strchr(optarg, '='))
				die("bad -s %s", optarg);
			o->sysctl[o->nsysctl++] = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			exit(2);
		}
	}
	if (optind >= argc || (o->trace_path && !o->trace_lib)) {
		fputs(usage_text, stderr);
		exit(2);
	}
	o->argv = argv + optind;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	ssize_t n = write(fd, text, strlen(text));
	if (n < 0 || (size_t)n != strlen(text))
		die("write %s: %s", path, n < 0 ? strerror(errno) : "short write");
	if (close(fd) != 0)
		die("close %s: %s", path, strerror(errno));
}

/* Enter new namespaces. Returns false (with the reason) where the kernel refuses. */
static bool enter_namespaces(char *why, size_t whylen)
{
	int flags = CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNS;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (uid != 0)
		flags |= CLONE_NEWUSER;
	if (unshare(flags) != 0) {
		snprintf(why, whylen, "unshare(%s): %s",
			 uid ? "user+ipc+pid+mount namespaces" : "ipc+pid+mount namespaces",
			 strerror(errno));
		return false;
	}
	if (uid != 0) {
		char map[64];
		write_file("/proc/self/setgroups", "deny");
		snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
		write_file("/proc/self/uid_map", map);
		snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
		write_file("/proc/self/gid_map", map);
	}
	return true;
}

/* In the new PID namespace, as its PID 1: a /proc that shows only our processes. */
static void mount_private_proc(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die("make mounts private: %s", strerror(errno));
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		die("mount /proc: %s", strerror(errno));
}

static void apply_sysctls(const struct options *o)
{
	for (int i = 0; i < o->nsysctl; i++) {
		char path[128], value[64];
		const char *eq = strchr(o->sysctl[i], '=');
		int n = (int)(eq - o->sysctl[i]);
		if (n <= 0 || n > 32 || strpbrk(o->sysctl[i], "/."))
			die("bad sysctl name in %s", o->sysctl[i]);
		snprintf(path, sizeof path, "/proc/sys/kernel/%.*s", n, o->sysctl[i]);
		snprintf(value, sizeof value, "%s\n", eq + 1);
		write_file(path, value);
	}
}

static void set_limit(int resource, rlim_t value, const char *name)
{
	struct rlimit rl = {value, value};
	if (setrlimit(resource, &rl) != 0)
		die("setrlimit %s: %s", name, strerror(errno));
}

/*
 * As root we run the program as an unprivileged uid of its own, so that RLIMIT_NPROC holds
 * (root ignores it) and it cannot touch the host. Without root we are uid 0 of our own user
 * namespace: drop every capability and lock it so that execve gives none back.
 */
static void drop_privileges(bool was_root, bool other)
{
	if (was_root) {
		uid_t uid = sandbox_uid + (other ? OTHER_UID_OFFSET : 0);
		if (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0 ||
		    setresuid(uid, uid, uid) != 0)
			die("drop to uid %u: %s", (unsigned)uid, strerror(errno));
		return;
	}
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
					 SECBIT_NO_SETUID_FIXUP_LOCKED) != 0 &&
	    errno != EPERM)
		die("securebits: %s", strerror(errno));
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap) != 0 && errno != EINVAL && errno != EPERM)
			die("drop capability %d: %s", cap, strerror(errno));
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capset, &hdr, data) != 0)
		die("capset: %s", strerror(errno));
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

/* The program's side of the fork: never returns. */
static void exec_program(const struct options *o, bool was_root, int out_w, int err_w, int trace_w)
{
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		die("sigprocmask: %s", strerror(errno));
	/* A program that writes a huge file gets EFBIG rather than dying of SIGXFSZ. */
	if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR || signal(SIGPIPE, SIG_DFL) == SIG_ERR)
		die("signal: %s", strerror(errno));
	if (setpgid(0, 0) != 0)
		die("setpgid: %s", strerror(errno));
	if (o->dir && chdir(o->dir) != 0)
		die("chdir %s: %s", o->dir, strerror(errno));
	move_fd(out_w, STDOUT_FILENO);
	move_fd(err_w, STDERR_FILENO);
	if (trace_w >= 0) {
		move_fd(trace_w, TRACE_FD);
		char fdtext[16];
		snprintf(fdtext, sizeof fdtext, "%d", TRACE_FD);
		if (setenv("MSGTRACE_FD", fdtext, 1) != 0 ||
		    setenv("LD_PRELOAD", o->trace_lib, 1) != 0)
			die("setenv: %s", strerror(errno));
	}
	/* A grader tool run as the program plans its own waits within this. */
	char timeout[32];
	snprintf(timeout, sizeof timeout, "%ld", o->timeout_ms);
	if (setenv("MSGLAB_TIMEOUT_MS", timeout, 1) != 0)
		die("setenv: %s", strerror(errno));
	drop_privileges(was_root, o->other_user);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		die("prctl: %s", strerror(errno));
	set_limit(RLIMIT_NPROC, (rlim_t)o->nproc, "NPROC");
	set_limit(RLIMIT_CPU, (rlim_t)o->cpu_s, "CPU");
	set_limit(RLIMIT_FSIZE, (rlim_t)o->output_cap, "FSIZE");
	set_limit(RLIMIT_CORE, 0, "CORE");
	execvp(o->argv[0], o->argv);
	/* Goes to the program's stderr, where the student looks. */
	dprintf(STDERR_FILENO, "msglab-run: cannot run %s: %s\n", o->argv[0], strerror(errno));
	_exit(127);
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

/* Is pid still alive (or an unreaped zombie)? Reaps nothing. */
static bool has_exited(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return true;
	return si.si_pid == pid;
}

/*
 * Reap processes orphaned onto us while the main process still runs (a daemon that exits early
 * is not a leak at exit time). Leave the main process, and anything that may be its unwaited
 * child, unreaped: they are inspected once it has exited. Returns true once main has exited.
 */
static bool reap_early_orphans(pid_t main_pid, struct outcome *out)
{
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0)
			return has_exited(main_pid);
		if (si.si_pid == main_pid || has_exited(main_pid))
			return true;
		if (waitpid(si.si_pid, NULL, 0) > 0)
			out->orphans_reaped++;
	}
}

static const char *syscall_name(long nr)
{
	switch (nr) {
	case SYS_msgrcv:
		return "msgrcv";
	case SYS_msgsnd:
		return "msgsnd";
	case SYS_wait4:
		return "wait";
	case SYS_waitid:
		return "waitid";
	case SYS_read:
		return "read";
	case SYS_write:
		return "write";
	case SYS_nanosleep:
		return "nanosleep";
	case SYS_clock_nanosleep:
		return "sleep";
	case SYS_rt_sigsuspend:
		return "sigsuspend";
#ifdef SYS_pause /* not on every architecture */
	case SYS_pause:
		return "pause";
#endif
	default:
		return NULL;
	}
}

static void read_proc(int pid, struct left_proc *p)
{
	char path[64], buf[512];
	p->pid = pid;
	p->ppid = 0;
	p->state = '?';
	snprintf(p->comm, sizeof p->comm, "?");
	snprintf(p->syscall, sizeof p->syscall, "-");
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (f) {
		/* comm may hold spaces and parentheses: it ends at the last ')'. */
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = '\0';
		fclose(f);
		char *open = strchr(buf, '('), *close = strrchr(buf, ')');
		if (open && close && close > open) {
			int len = (int)(close - open - 1);
			snprintf(p->comm, sizeof p->comm, "%.*s", len, open + 1);
			for (char *c = p->comm; *c; c++)
				if (isspace((unsigned char)*c))
					*c = '_';
			if (sscanf(close + 1, " %c %d", &p->state, &p->ppid) != 2)
				p->state = '?';
		}
	}
	snprintf(path, sizeof path, "/proc/%d/syscall", pid);
	f = fopen(path, "re");
	if (f) {
		long nr;
		if (fscanf(f, "%ld", &nr) == 1) {
			const char *name = syscall_name(nr);
			if (name)
				snprintf(p->syscall, sizeof p->syscall, "%s", name);
			else
				snprintf(p->syscall, sizeof p->syscall, "%ld", nr);
		}
		fclose(f);
	}
}

/* Is pid a descendant of ancestor? Only used in fallback mode, where /proc is the host's. */
static bool descends_from(int pid, int ancestor)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		struct left_proc p;
		read_proc(pid, &p);
		if (p.ppid == ancestor)
			return true;
		pid = p.ppid;
	}
	return false;
}

/* The processes of the run other than us and the (exited) main process. */
static void list_processes(pid_t self, pid_t main_pid, bool namespaces, struct outcome *out)
{
	DIR *d = opendir("/proc");
	if (!d)
		die("opendir /proc: %s", strerror(errno));
	out->nprocs = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && out->nprocs < MAX_PROCS) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int pid = atoi(e->d_name);
		if (pid == self || pid == main_pid)
			continue;
		if (!namespaces && !descends_from(pid, self))
			continue;
		read_proc(pid, &out->procs[out->nprocs++]);
	}
	closedir(d);
}

static void kill_all(pid_t self, pid_t main_pid, bool namespaces, struct outcome *scratch)
{
	if (namespaces) {
		/* As PID 1 of the namespace this reaches every other process in it. */
		if (kill(-1, SIGKILL) != 0 && errno != ESRCH)
			die("kill: %s", strerror(errno));
		return;
	}
	/* Fallback: the program's group, then whatever escaped it, a few rounds for forkers. */
	kill(-main_pid, SIGKILL);
	for (int round = 0; round < 5; round++) {
		list_processes(self, 0, false, scratch);
		if (scratch->nprocs == 0)
			break;
		for (int i = 0; i < scratch->nprocs; i++)
			kill(scratch->procs[i].pid, SIGKILL);
	}
}

struct queue_list {
	long *ids;
	size_t n;
};

/*
 * The queues of /proc/sysvipc/msg (of our IPC namespace). Without namespaces, only those created
 * by the run's users and not in `before`: the run's leaks. With `out`, each is reported there
 * (and, without namespaces, removed).
 */
static void list_queues(bool namespaces, bool was_root, const struct queue_list *before,
			struct queue_list *found, FILE *out)
{
	FILE *f = fopen("/proc/sysvipc/msg", "re");
	if (!f)
		die("open /proc/sysvipc/msg: %s", strerror(errno));
	char line[512];
	long key, msqid, cbytes, qnum, lspid, lrpid, uid, gid, cuid;
	unsigned long perms;
	found->n = 0;
	found->ids = NULL;
	if (!fgets(line, sizeof line, f)) /* header */
		line[0] = '\0';
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%ld %ld %lo %ld %ld %ld %ld %ld %ld %ld", &key, &msqid, &perms,
			   &cbytes, &qnum, &lspid, &lrpid, &uid, &gid, &cuid) != 10)
			continue;
		if (!namespaces) {
			bool ours = was_root ? (uid_t)cuid == sandbox_uid ||
						   (uid_t)cuid == sandbox_uid + OTHER_UID_OFFSET
					     : (uid_t)cuid == getuid();
			for (size_t i = 0; before && i < before->n; i++)
				ours &= before->ids[i] != msqid;
			if (!ours)
				continue;
		}
		long *ids = realloc(found->ids, (found->n + 1) * sizeof *ids);
		if (!ids)
			die("out of memory");
		found->ids = ids;
		found->ids[found->n++] = msqid;
		if (!out)
			continue;
		fprintf(out,
			"queue key=0x%08lx msqid=%ld perms=%lo cbytes=%ld qnum=%ld lspid=%ld "
			"lrpid=%ld\n",
			(unsigned long)key & 0xffffffffUL, msqid, perms, cbytes, qnum, lspid,
			lrpid);
		if (!namespaces && msgctl((int)msqid, IPC_RMID, NULL) != 0)
			fprintf(out, "note cannot remove leaked queue %ld: %s\n", msqid,
				strerror(errno));
	}
	fclose(f);
}

/* Run the setup command to completion as the owner user; its output goes to the report. */
static void run_setup(const struct options *o, bool was_root, double deadline)
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
		if (o->dir && chdir(o->dir) != 0)
			die("chdir %s: %s", o->dir, strerror(errno));
		move_fd(out, STDOUT_FILENO);
		move_fd(out, STDERR_FILENO);
		drop_privileges(was_root, false);
		execl("/bin/sh", "sh", "-c", o->setup, (char *)NULL);
		die("exec /bin/sh: %s", strerror(errno));
	}
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			die("waitpid: %s", strerror(errno));
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			die("the setup command did not finish in time: %s", o->setup);
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
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

static int run_supervisor(const struct options *o, bool was_root, bool namespaces, const char *why,
			  int out_fd, int err_fd, int trace_fd)
{
	struct outcome out;
	memset(&out, 0, sizeof out);
	out.namespaces = namespaces;
	snprintf(out.fallback_reason, sizeof out.fallback_reason, "%s", why);
	pid_t self = getpid();

	if (namespaces) {
		mount_private_proc();
		apply_sysctls(o);
	} else {
		if (o->nsysctl)
			die("-s needs a private IPC namespace, not available here (%s)", why);
		if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
			die("subreaper: %s", strerror(errno));
	}

	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) != 0)
		die("sigprocmask: %s", strerror(errno));
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		die("signalfd: %s", strerror(errno));

	int out_p[2], err_p[2], trace_p[2] = {-1, -1};
	make_pipe(out_p);
	make_pipe(err_p);
	if (trace_fd >= 0)
		make_pipe(trace_p);

	/* Without a namespace of our own, queues that were there before are not the run's. */
	struct queue_list before = {NULL, 0};
	if (!namespaces)
		list_queues(true, was_root, NULL, &before, NULL);
	/* The setup is the grader's own, trusted code: it gets time of its own, not the
	 * program's (often short) calibrated timeout. */
	if (o->setup)
		run_setup(o, was_root,
			  now_ms() + (double)(o->timeout_ms > 10000 ? o->timeout_ms : 10000));
	double start = now_ms();
	pid_t main_pid = fork();
	if (main_pid < 0)
		die("fork: %s", strerror(errno));
	if (main_pid == 0)
		exec_program(o, was_root, out_p[1], err_p[1], trace_p[1]);
	close(out_p[1]);
	close(err_p[1]);
	if (trace_p[1] >= 0)
		close(trace_p[1]);

	struct stream streams[3] = {{out_p[0], out_fd, o->output_cap, 0},
				    {err_p[0], err_fd, o->output_cap, 0},
				    {trace_p[0], trace_fd, o->trace_cap, 0}};
	for (int i = 0; i < 3; i++)
		if (streams[i].from >= 0 && fcntl(streams[i].from, F_SETFL, O_NONBLOCK) != 0)
			die("fcntl: %s", strerror(errno));

	double deadline = start + (double)o->timeout_ms;
	bool exited = false;
	while (!(exited = reap_early_orphans(main_pid, &out))) {
		double left = deadline - now_ms();
		if (left <= 0) {
			out.timed_out = true;
			break;
		}
		struct pollfd pfd[4];
		int n = 0;
		pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (int i = 0; i < 3; i++)
			if (streams[i].from >= 0)
				pfd[n++] = (struct pollfd){.fd = streams[i].from, .events = POLLIN};
		if (poll(pfd, (nfds_t)n, (int)left + 1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		struct signalfd_siginfo ssi;
		while (read(sfd, &ssi, sizeof ssi) == (ssize_t)sizeof ssi)
			;
		for (int i = 0; i < 3; i++)
			if (streams[i].from >= 0)
				relay(&streams[i]);
	}
	out.wall_ms = now_ms() - start;

	/* Look before anything is reaped or killed: this is what the program left behind. */
	list_processes(self, exited ? main_pid : 0, namespaces, &out);
	if (exited && waitpid(main_pid, &out.status, 0) != main_pid)
		die("waitpid: %s", strerror(errno));
	struct outcome scratch;
	kill_all(self, main_pid, namespaces, &scratch);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	for (int i = 0; i < 3; i++)
		while (streams[i].from >= 0) {
			int flags = fcntl(streams[i].from, F_GETFL);
			if (flags < 0 || fcntl(streams[i].from, F_SETFL, flags & ~O_NONBLOCK) != 0)
				die("fcntl: %s", strerror(errno));
			relay(&streams[i]);
		}

	fprintf(report, "mode %s\n", namespaces ? "namespaces" : "fallback");
	if (!namespaces)
		fprintf(report, "fallback_reason %s\n", out.fallback_reason);
	if (out.timed_out)
		fprintf(report, "outcome timeout\n");
	else if (WIFSIGNALED(out.status))
		fprintf(report, "outcome signaled\nsignal %d\n", WTERMSIG(out.status));
	else
		fprintf(report, "outcome exited\nexit_code %d\n", WEXITSTATUS(out.status));
	fprintf(report, "main_pid %d\n", (int)main_pid);
	fprintf(report, "wall_ms %.3f\n", out.wall_ms);
	fprintf(report, "stdout_bytes %ld\nstderr_bytes %ld\n", streams[0].written,
		streams[1].written);
	if (streams[0].written > o->output_cap || streams[1].written > o->output_cap)
		fprintf(report, "output_truncated %ld\n", o->output_cap);
	if (trace_fd >= 0 && streams[2].written > o->trace_cap)
		fprintf(report, "trace_truncated %ld\n", o->trace_cap);
	fprintf(report, "orphans_reaped %d\n", out.orphans_reaped);
	for (int i = 0; i < out.nprocs; i++) {
		const struct left_proc *p = &out.procs[i];
		fprintf(report, "proc pid=%d ppid=%d state=%c comm=%s syscall=%s\n", p->pid,
			namespaces || p->ppid != self ? p->ppid : 1, p->state, p->comm, p->syscall);
	}
	struct queue_list left;
	list_queues(namespaces, was_root, &before, &left, report);
	free(left.ids);
	free(before.ids);
	if (fflush(report) != 0)
		die("write report: %s", strerror(errno));

	if (out.timed_out)
		return EXIT_TIMEOUT;
	if (WIFSIGNALED(out.status))
		return 128 + WTERMSIG(out.status);
	return WEXITSTATUS(out.status);
}

static int open_output(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

/* Outside the PID namespace: wait for its PID 1 and pass its verdict on. */
static int wait_for_supervisor(pid_t pid, long timeout_ms)
{
	/* The supervisor enforces the timeout; this is the backstop should it ever hang. */
	double deadline = now_ms() + 2 * (double)timeout_ms + 15000; /* setup + program */
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_SANDBOX;
		if (r < 0 && errno != EINTR)
			die("waitpid: %s", strerror(errno));
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			die("the sandbox supervisor did not finish; killed it");
		}
		struct timespec ts = {0, 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	struct options o;
	report = stderr;
	parse_options(argc, argv, &o);
	if (o.report_path) {
		int fd = open_output(o.report_path, O_WRONLY | O_CREAT | O_TRUNC);
		report = fdopen(fd, "w");
		if (!report)
			die("fdopen: %s", strerror(errno));
	}
	int trace_fd = -1;
	if (o.trace_path)
		trace_fd = open_output(o.trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
	int out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	int err_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (out_fd < 0 || err_fd < 0)
		die("dup: %s", strerror(errno));
	/* Whoever started us owns the run: if it dies, so does everything below. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		die("prctl: %s", strerror(errno));

	bool was_root = geteuid() == 0;
	sandbox_uid = BASE_UID + (uid_t)(getpid() % OTHER_UID_OFFSET);
	if (o.other_user && !was_root)
		die("-O needs root: without it there is no second user to run the program as");
	char why[160] = "-N given";
	bool namespaces = !o.no_namespaces && !getenv("MSGLAB_NO_NAMESPACES") &&
			  enter_namespaces(why, sizeof why);
	if (!namespaces && getenv("MSGLAB_NO_NAMESPACES"))
		snprintf(why, sizeof why, "MSGLAB_NO_NAMESPACES is set");
	if (!namespaces)
		return run_supervisor(&o, was_root, false, why, out_fd, err_fd, trace_fd);

	pid_t init = fork();
	if (init < 0)
		die("fork: %s", strerror(errno));
	if (init == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
			die("prctl: %s", strerror(errno));
		_exit(run_supervisor(&o, was_root, true, "", out_fd, err_fd, trace_fd));
	}
	return wait_for_supervisor(init, o.timeout_ms);
}

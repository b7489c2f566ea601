/*
 * msglab-run: run one program (a student's, or the compiler on a student's files) in a sealed
 * sandbox and report what it did and left behind.
 *
 * The sandbox is made by bubblewrap (bwrap.c): the program sees only the system's /usr, empty
 * /tmp and /work, and the folders we bind; it has private IPC, PID and network namespaces, so
 * queues and processes of parallel runs never meet. Inside, this same binary is PID 1 (the
 * supervisor, supervise.c): it runs the program under strace for a call record the program
 * cannot forge, relays its output with a cap, and lists the queues and processes it left when
 * its main process exits. Where bubblewrap cannot make namespaces (a container that forbids
 * them), the supervisor runs here instead, as a subreaper, and says so in the report ("mode
 * fallback"): then only user separation (as root) keeps the program from the grader.
 *
 * Exit status: the program's own exit status, 128+N when it died of signal N, 124 on timeout,
 * 125 when the sandbox failed. The report's lines are listed in supervise.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "sandbox.h"

/* Fixed descriptors of the supervisor inside the sandbox. */
#define INNER_REPORT_FD	  3
#define INNER_TRACE_FD	  4
#define INNER_OUT_FD	  5
#define INNER_ERR_FD	  6
#define INNER_LIFELINE_FD 7 /* read end of a pipe whose write end only msglab-run holds */

static const char *usage_text =
    "usage: msglab-run [-t MS] [-o BYTES] [-p NPROC] [-c CPU_S] [-m MIB] [-M MIB] [-r REPORT]\n"
    "                  [-T TRACE] [-s NAME=VALUE]... [-b HOST=INSIDE]... [-w HOST=INSIDE]...\n"
    "                  [-e NAME=VALUE]... [-C DIR] [-f NAME] [-x SETUP] [-O] [-U] [-N]\n"
    "                  -- PROGRAM [ARG]...\n"
    "  -t MS          wall-clock timeout for the whole process tree (default 10000)\n"
    "  -o BYTES       bytes of stdout and of stderr kept (default 1048576)\n"
    "  -p NPROC       processes the program may have at once (default 64)\n"
    "  -c CPU_S       CPU seconds per process (default 10)\n"
    "  -m MIB         address space of each process, MiB (default 1024)\n"
    "  -M MIB         memory of the whole process tree, MiB, where a cgroup can be made (as\n"
    "                 root; default 1024)\n"
    "  -r REPORT      write the sandbox report there (default: standard error)\n"
    "  -T TRACE       write the call record (strace's output) there\n"
    "  -U             no call record (for a build)\n"
    "  -s NAME=VALUE  set /proc/sys/kernel/NAME (msgmax, msgmnb, msgmni) for this run only\n"
    "  -b HOST=INSIDE bind the folder HOST read-only at INSIDE in the sandbox (in the fallback\n"
    "                 mode: a private copy of its files, paths rewritten)\n"
    "  -w HOST=INSIDE the same, writable (copied back afterwards in the fallback mode)\n"
    "  -e NAME=VALUE  add to the program's environment (otherwise only PATH, LANG=C.UTF-8,\n"
    "                 TZ=UTC and HOME=/nonexistent)\n"
    "  -C DIR         work in the new folder /work/DIR instead of /work (-f and -x too)\n"
    "  -f NAME        make the empty file NAME in the working folder (/work) first\n"

    "  -x SETUP       run the shell command SETUP in the sandbox first, to completion, untraced\n"
    "                 (to prepare queues); it fails the run if it fails\n"
    "  -O             run the program as another unprivileged user than SETUP (needs root)\n"
    "  -N             no namespaces: the announced fallback mode\n";

FILE *report;

void die(const char *fmt, ...)
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

double now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime: %s", strerror(errno));
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void write_file(const char *path, const char *text)
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
			      .cpu_s = 10,
			      .mem_mib = 1024,
			      .tree_mib = 1024,
			      .report_fd = -1,
			      .trace_fd = -1};
	int c;
	optind = 1;
	while ((c = getopt(argc, argv, "+t:o:p:c:m:M:r:T:s:b:w:e:C:f:x:OUNh")) != -1) {
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
		case 'm':
			o->mem_mib = parse_long(optarg, "memory limit");
			break;
		case 'M':
			o->tree_mib = parse_long(optarg, "memory limit");
			break;
		case 'r':
			o->report_path = optarg;
			break;
		case 'T':
			o->trace_path = optarg;
			break;
		case 'C':
			o->subdir = optarg;
			break;
		case 'f':
			o->make_file = optarg;
			break;
		case 'N':
			o->no_namespaces = true;
			break;
		case 'U':
			o->untraced = true;
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
		case 'b':
		case 'w':
			if (o->nbinds == MAX_BINDS || !strchr(optarg, '='))
				die("bad -%c %s", c, optarg);
			o->bind_rw[o->nbinds] = c == 'w';
			o->bind[o->nbinds++] = optarg;
			break;
		case 'e':
			if (o->nenv == MAX_ENV || !strchr(optarg, '='))
				die("bad -e %s", optarg);
			o->env[o->nenv++] = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			exit(2);
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		exit(2);
	}
	if (o->other_user && geteuid() != 0)
		die("-O needs root: without it there is no second user to run the program as");
	if (o->trace_path && o->untraced)
		die("-T needs a call record, and -U turns it off");
	o->argv = argv + optind;
}

static int open_output(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

/* Wait for a child we started, killing it (and dying) should it outlive deadline. Asleep in
 * poll on a pidfd meanwhile: a poll every few milliseconds costs processor time on a loaded
 * machine (a tick only where the kernel has no pidfd). */
int wait_child(pid_t pid, double deadline, const char *what, const char *detail)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			if (fd >= 0)
				close(fd);
			return status;
		}
		if (r < 0 && errno != EINTR)
			die("waitpid: %s", strerror(errno));
		double left = deadline - now_ms();
		if (left < 0) {
			kill(pid, SIGKILL); /* best effort: we die next either way */
			die("%s did not finish in time; killed it%s%s", what, *detail ? ": " : "",
			    detail);
		}
		if (fd >= 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (poll(&p, 1, left > 60000 ? 60000 : (int)left + 1) < 0 && errno != EINTR)
				die("poll: %s", strerror(errno));
		} else {
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
}

/* Give the supervisor its descriptors at fixed numbers, kept across exec (bwrap passes them on):
 * first out of the way, so that no source is overwritten before it is moved. */
static void put_fds(const int *from, const int *to, int n)
{
	int high[8];
	for (int i = 0; i < n; i++) {
		int fd = from[i] >= 0 ? from[i] : open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || (high[i] = fcntl(fd, F_DUPFD_CLOEXEC, 100)) < 0)
			die("dup: %s", strerror(errno));
	}
	for (int i = 0; i < n; i++)
		if (dup2(high[i], to[i]) < 0) /* dup2 clears close-on-exec on to[i] */
			die("dup2: %s", strerror(errno));
}

/*
 * Run the supervisor in a bubblewrap sandbox. Returns false (with bwrap's reason) when the
 * sandbox could not be made, before anything of the program ran; else exits with its status.
 */
static bool run_in_bwrap(const struct options *o, int argc, char **argv, char *why, size_t size)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	if (access(BWRAP, X_OK) != 0) {
		snprintf(why, size, "%s: %s (install bubblewrap)", BWRAP, strerror(errno));
		return false;
	}
	/* The supervisor's arguments: ours, after the mode and the host's facts. */
	char **inner = calloc((size_t)argc + 8, sizeof *inner);
	char root[8], uid[32];
	if (!inner)
		die("out of memory");
	snprintf(root, sizeof root, "%d", geteuid() == 0);
	snprintf(uid, sizeof uid, "%u", (unsigned)o->sandbox_uid);
	int k = 0;
	inner[k++] = SANDBOX_SELF;
	inner[k++] = "--inner";
	inner[k++] = root;
	inner[k++] = uid;
	for (int i = 1; i < argc; i++)
		inner[k++] = argv[i];
	char **cmd = bwrap_argv(o, self, inner);

	char cgroup[4300];
	bool limited = cgroup_make(o->tree_mib, cgroup, sizeof cgroup);
	int diag = memfd_create("bwrap-messages", MFD_CLOEXEC);
	if (diag < 0)
		die("memfd_create: %s", strerror(errno));
	/* We alone keep the write end (close-on-exec), the supervisor the read end: once we are
	 * gone, it reads end of file (see inner_main). */
	int lifeline[2];
	if (pipe2(lifeline, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (limited && !cgroup_enter(cgroup))
			dprintf(STDERR_FILENO, "msglab-run: cannot enter %s: %s\n", cgroup,
				strerror(errno));
		put_fds((const int[]){o->report_fd, o->trace_fd, o->out_fd, o->err_fd, lifeline[0],
				      diag, diag},
			(const int[]){INNER_REPORT_FD, INNER_TRACE_FD, INNER_OUT_FD, INNER_ERR_FD,
				      INNER_LIFELINE_FD, STDOUT_FILENO, STDERR_FILENO},
			7);
		execv(cmd[0], cmd);
		dprintf(STDERR_FILENO, "exec %s: %s\n", cmd[0], strerror(errno));
		_exit(EXIT_SANDBOX);
	}
	bwrap_argv_free(cmd);
	free(inner);
	if (close(lifeline[0]) != 0)
		die("close: %s", strerror(errno));
	/* The supervisor enforces the timeout; this is the backstop. */
	int status =
	    wait_child(pid, now_ms() + 2 * (double)o->timeout_ms + 20000, "the sandbox", "");
	cgroup_remove(cgroup);
	char text[2048];
	ssize_t got = pread(diag, text, sizeof text - 1, 0);
	text[got > 0 ? got : 0] = '\0';
	text[strcspn(text, "\n")] = '\0';
	/* Only bubblewrap itself writes "bwrap: ..." there, and then the supervisor never ran. */
	bool started = strncmp(text, "bwrap:", 6) != 0 || status == 0;
	if (!started) {
		snprintf(why, size, "%s", text[0] ? text : "bubblewrap could not start");
		return false;
	}
	if (text[0])
		fprintf(stderr, "%s\n", text);
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_SANDBOX);
}

static int inner_main(int argc, char **argv)
{
	if (argc < 4)
		die("--inner: bad arguments");
	struct options o;
	bool host_root = argv[2][0] == '1';
	uid_t uid = (uid_t)parse_long(argv[3], "uid");
	argv[3] = argv[0];
	parse_options(argc - 3, argv + 3, &o);
	o.host_root = host_root;
	o.sandbox_uid = uid;
	o.report_fd = INNER_REPORT_FD;
	o.trace_fd = INNER_TRACE_FD;
	o.out_fd = INNER_OUT_FD;
	o.err_fd = INNER_ERR_FD;
	for (int fd = INNER_REPORT_FD; fd <= INNER_ERR_FD; fd++)
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
			die("fcntl: %s", strerror(errno));
	/* bwrap asks that we die with it only at its last step: killed before that (as it is
	 * when msglab-run dies), it leaves us running unwatched. Asked now, the wish holds from
	 * here on; the lifeline's end of file says whether msglab-run (and so bwrap) is gone
	 * already. (Should bwrap alone die early, our own deadline still ends the run.) */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		die("prctl: %s", strerror(errno));
	struct pollfd line = {.fd = INNER_LIFELINE_FD, .events = POLLIN};
	if (poll(&line, 1, 0) != 0)
		_exit(EXIT_SANDBOX);
	if (close(INNER_LIFELINE_FD) != 0)
		die("close: %s", strerror(errno));
	report = fdopen(INNER_REPORT_FD, "w");
	if (!report)
		die("fdopen: %s", strerror(errno));
	return supervise(&o, true, "");
}

int main(int argc, char **argv)
{
	report = stderr;
	if (argc > 1 && !strcmp(argv[1], "--launch"))
		launch_main(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "--inner"))
		return inner_main(argc, argv);

	/* Whatever our caller left open (a test runner's files and shared memory) must not reach
	 * the program, where it could write into them. */
	if (close_range(3, ~0U, 0) != 0)
		die("close_range: %s", strerror(errno));
	struct options o;
	parse_options(argc, argv, &o);
	o.host_root = geteuid() == 0;
	/* From our host pid, so that sandboxes running at once never share a uid (and so never
	 * share RLIMIT_NPROC's count). */
	o.sandbox_uid = BASE_UID + (uid_t)(getpid() % OTHER_UID_OFFSET);
	if (o.report_path) {
		o.report_fd = open_output(o.report_path, O_WRONLY | O_CREAT | O_TRUNC);
		report = fdopen(o.report_fd, "w");
		if (!report)
			die("fdopen: %s", strerror(errno));
	} else
		o.report_fd = STDERR_FILENO;
	if (o.trace_path)
		o.trace_fd = open_output(o.trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
	o.out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 10);
	o.err_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 10);
	if (o.out_fd < 0 || o.err_fd < 0)
		die("dup: %s", strerror(errno));
	/* Whoever started us owns the run: if it dies, so does everything below. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		die("prctl: %s", strerror(errno));

	char why[2200] = "-N given";
	if (getenv("MSGLAB_NO_NAMESPACES"))
		snprintf(why, sizeof why, "MSGLAB_NO_NAMESPACES is set");
	else if (!o.no_namespaces && run_in_bwrap(&o, argc, argv, why, sizeof why))
		return 0; /* not reached: run_in_bwrap exits with the run's status */
	o.no_namespaces = true;
	return supervise(&o, false, why);
}

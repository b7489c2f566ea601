/*
 * The last step before the program: `msglab-run --launch ...` runs where the program will, as
 * the traced process when there is a call record (strace starts it, so that the record begins
 * before the program's first instruction), and turns itself into the program: its own process
 * group, a short fixed environment, an unprivileged user, limits, then exec.
 *
 *   msglab-run --launch READY_FD OTHER NPROC CPU_S FSIZE MEM_MIB HOST_ROOT UID DIR -- PROG ARG...
 *
 * READY_FD gets our tracer's pid (0 if none) just before the exec: the supervisor starts the
 * program's clock then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "sandbox.h"

#define LAUNCH_FIXED_ARGS 10

/*
 * As root we run the program as an unprivileged uid of its own, so that RLIMIT_NPROC holds
 * (root ignores it) and it can touch nothing of the host. Without root we are uid 0 of our own
 * user namespace: drop every capability and lock it so that execve gives none back.
 */
void drop_privileges(const struct options *o, bool other)
{
	if (o->host_root) {
		uid_t uid = o->sandbox_uid + (other ? OTHER_UID_OFFSET : 0);
		/* Both users are in the run's group (of no queue): the fallback mode's folders are
		 * the group's. */
		gid_t group = run_group(o);
		if (setgroups(1, &group) != 0 || setresgid(uid, uid, uid) != 0 ||
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

static char *number(long v)
{
	char *s;
	if (asprintf(&s, "%ld", v) < 0)
		die("out of memory");
	return s;
}

char **launch_argv(const struct options *o, const char *self, int ready_fd, bool other)
{
	int nargs = 0;
	while (o->argv[nargs])
		nargs++;
	char **argv = calloc((size_t)(LAUNCH_FIXED_ARGS + nargs + 4), sizeof *argv);
	if (!argv)
		die("out of memory");
	int n = 0;
	argv[n++] = (char *)self;
	argv[n++] = "--launch";
	argv[n++] = number(ready_fd);
	argv[n++] = number(other);
	argv[n++] = number(o->nproc);
	argv[n++] = number(o->cpu_s);
	argv[n++] = number(o->output_cap);
	argv[n++] = number(o->mem_mib);
	argv[n++] = number(o->host_root);
	argv[n++] = number((long)o->sandbox_uid);
	argv[n++] = (char *)workdir(o);
	argv[n++] = "--";
	for (int i = 0; i < nargs; i++)
		argv[n++] = o->argv[i];
	argv[n] = NULL;
	return argv;
}

static void set_limit(int resource, rlim_t value, const char *name)
{
	struct rlimit rl = {value, value};
	if (setrlimit(resource, &rl) != 0)
		die("setrlimit %s: %s", name, strerror(errno));
}

static long arg_long(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end)
		die("--launch: bad number %s", s);
	return v;
}

void launch_main(int argc, char **argv)
{
	if (argc < LAUNCH_FIXED_ARGS + 2 || strcmp(argv[LAUNCH_FIXED_ARGS + 1], "--") != 0)
		die("--launch: bad arguments");
	struct options o;
	memset(&o, 0, sizeof o);
	int ready_fd = (int)arg_long(argv[2]);
	bool other = arg_long(argv[3]) != 0;
	o.nproc = arg_long(argv[4]);
	o.cpu_s = arg_long(argv[5]);
	o.output_cap = arg_long(argv[6]);
	o.mem_mib = arg_long(argv[7]);
	o.host_root = arg_long(argv[8]) != 0;
	o.sandbox_uid = (uid_t)arg_long(argv[9]);
	const char *dir = argv[10];
	char **program = argv + LAUNCH_FIXED_ARGS + 2;

	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		die("sigprocmask: %s", strerror(errno));
	/* A program that writes a huge file gets EFBIG rather than dying of SIGXFSZ. */
	if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR || signal(SIGPIPE, SIG_DFL) == SIG_ERR)
		die("signal: %s", strerror(errno));
	/* Its own group, which the tracer (started before us) is not in. */
	if (setpgid(0, 0) != 0)
		die("setpgid: %s", strerror(errno));
	if (chdir(dir) != 0)
		die("chdir %s: %s", dir, strerror(errno));
	drop_privileges(&o, other);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		die("prctl: %s", strerror(errno));
	set_limit(RLIMIT_NPROC, (rlim_t)o.nproc, "NPROC");
	set_limit(RLIMIT_CPU, (rlim_t)o.cpu_s, "CPU");
	set_limit(RLIMIT_FSIZE, (rlim_t)o.output_cap, "FSIZE");
	set_limit(RLIMIT_CORE, 0, "CORE");
	if (ready_fd >= 0) {
		/* Tell the supervisor who traces us, from here: once the program has run, it may
		 * have ended (and a zombie has no tracer to show). */
		int tracer = tracer_of(getpid());
		ssize_t w = write(ready_fd, &tracer, sizeof tracer);
		if (w != (ssize_t)sizeof tracer || close(ready_fd) != 0)
			die("write ready: %s", w < 0 ? strerror(errno) : "short write");
	}
	/* Last: this process may not map much more from here on (under AddressSanitizer, the
	 * grader's own test build, not even its runtime's bookkeeping). */
	if (o.mem_mib > 0)
		set_limit(RLIMIT_AS, (rlim_t)o.mem_mib << 20, "AS");
	execvp(program[0], program);
	/* Goes to the program's stderr, where the student looks; plain writes, since nothing may
	 * allocate under the address-space limit. */
	const char *parts[] = {"msglab-run: cannot run ", program[0], ": ", strerror(errno), "\n"};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (write(STDERR_FILENO, parts[i], strlen(parts[i])) < 0)
			break;
	_exit(127);
}

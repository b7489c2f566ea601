/*
 * What the kernel-facts suites share about forked children and waiting: for a child to end, for
 * a thread to sleep in a system call, for the clock to pass a second. A child reports through
 * its exit code (an errno value, 0 for success, CHILD_BROKEN if its own set-up failed) and ends
 * in _exit(): a child that returns into Criterion or calls cr_* hangs the run. Hence two kinds
 * of helper below: those a child may call never use cr_*; the rest are for the test process.
 *
 * Include it after "#define _GNU_SOURCE", like private_ipc.h.
 */
#ifndef CHILDREN_H
#define CHILDREN_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

/* Above every errno value, so that a test can tell a broken child from a failed call. */
#define CHILD_BROKEN 250

/* Well inside the tests' 10 s .timeout: a hung child fails its test by name and gets killed. */
#define CHILD_DEADLINE_MS 5000

/* How long the waits below sleep between looks: a few ms late is nothing to these tests. */
#define CHILD_POLL_MS 5

/* Without a per-call syscall number (e.g. the ipc() multiplexer), any blocking syscall will do. */
#ifdef SYS_msgrcv
#define NR_MSGRCV SYS_msgrcv
#define NR_MSGSND SYS_msgsnd
#else
#define NR_MSGRCV -1L
#define NR_MSGSND -1L
#endif

/* ---- for children and the test process ---- */

/* Sleeps the whole time even if a handled signal cuts nanosleep short: some tests install one. */
static inline void sleep_ms(long ms)
{
	struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

/*
 * The state letter (R, S, T, Z...) of thread tid of process pid, or '?' if it cannot be read.
 * It follows the last ')', since the command name in parentheses may hold one itself.
 */
static inline char task_state(pid_t pid, pid_t tid)
{
	char path[64], text[512];
	const char *paren;
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	got = read(fd, text, sizeof(text) - 1);
	if (close(fd) != 0 || got < 0)
		return '?';
	text[got] = '\0';
	paren = strrchr(text, ')');
	return paren != NULL && paren[1] == ' ' ? paren[2] : '?';
}

/*
 * Wait until thread tid of process pid (pid itself for a single-threaded child) sleeps in
 * system call nr (any call if nr < 0). /proc/PID/task/TID/syscall names the call only while
 * the thread is off the CPU, and msgrcv/msgsnd enqueue themselves before they sleep, so once
 * it reads nr the thread is registered as a waiter. Where that file is missing, fall back to
 * "sleeping, plus a pause". Returns 0, or -1 on timeout.
 */
static inline int wait_blocked_in(pid_t pid, pid_t tid, long nr, int timeout_ms)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	for (int waited = 0; waited <= timeout_ms; waited += CHILD_POLL_MS) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			char text[256];
			ssize_t got = read(fd, text, sizeof(text) - 1);

			if (close(fd) != 0 || got < 0)
				return -1;
			text[got] = '\0';
			/* "running" while on the CPU, "-1 ..." outside a syscall */
			if (text[0] >= '0' && text[0] <= '9' &&
			    (nr < 0 || strtol(text, NULL, 10) == nr))
				return 0;
		} else {
			char state = task_state(pid, tid);

			if (state == '?')
				return -1;
			if (state == 'S') {
				sleep_ms(100);
				return 0;
			}
		}
		sleep_ms(CHILD_POLL_MS);
	}
	return -1;
}

/* Whether the effective capability set holds cap: 1 or 0, or -1 if /proc/self/status fails. */
static inline int effective_cap(int cap)
{
	unsigned long long mask = 0;
	char line[256];
	int found = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = sscanf(line, "CapEff: %llx", &mask) == 1;
	if (fclose(f) != 0 || !found)
		return -1;
	return (int)((mask >> cap) & 1);
}

/*
 * Returns once time(NULL), the clock behind msg_ctime and friends, has passed t: a test that
 * wants to see whether a call sets a time must let a second go by first.
 */
static inline void wait_past_second(time_t t)
{
	while (time(NULL) <= t)
		sleep_ms(CHILD_POLL_MS);
	/* the kernel's seconds may trail the vDSO clock by a tick */
	sleep_ms(20);
}

/* ---- for the test process only ---- */

/*
 * fork() for a test: the child gets SIGKILL when the test process dies (a timeout must not
 * leave a blocked child behind) and must end in _exit(). A test process that died before
 * prctl() took effect would never send it, hence the check of the parent.
 */
static inline pid_t fork_child(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent))
		_exit(CHILD_BROKEN);
	return pid;
}

/*
 * The child's wait status. Polled rather than waited for, so that a child that overstays
 * CHILD_DEADLINE_MS fails the test with its pid, and is killed, instead of running into
 * Criterion's timeout.
 */
static inline int child_status(pid_t pid)
{
	int status;

	for (int waited = 0; waited <= CHILD_DEADLINE_MS; waited += CHILD_POLL_MS) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		cr_assert(r >= 0, "waitpid: %s", strerror(errno));
		if (r == pid)
			return status;
		sleep_ms(CHILD_POLL_MS);
	}
	cr_assert(kill(pid, SIGKILL) == 0, "kill: %s", strerror(errno));
	cr_assert(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	cr_assert_fail("child %d still running after %d ms", (int)pid, CHILD_DEADLINE_MS);
	return -1;
}

/*
 * The child's exit code. Death by a signal, or CHILD_BROKEN, fails the test here rather than
 * reading as a wrong answer; a test that expects a signal calls child_status() instead.
 */
static inline int child_exit_code(pid_t pid)
{
	int status = child_status(pid);

	cr_assert(WIFEXITED(status), "child %d died of signal %d", (int)pid,
		  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	cr_assert(WEXITSTATUS(status) != CHILD_BROKEN, "child %d: its set-up failed", (int)pid);
	return WEXITSTATUS(status);
}

#endif /* CHILDREN_H */

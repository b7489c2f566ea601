/*
 * Small programs for tests/trace/strace_record_tests.c to run under real strace: each scenario
 * makes the IPC, fork and wait calls a test then looks for in the parsed record. A scenario
 * tells the test what it cannot know from outside (pids, queue ids) as "name value" lines on
 * stdout, written with one write() each so that forked children never repeat a stdio buffer.
 *
 * Built without sanitizers on purpose: ASan's and LeakSanitizer's own clones and threads
 * would show up in the record being tested.
 *
 * Usage: strace_scenarios SCENARIO. Exit status: the scenario's (each test knows it), or
 * BROKEN when a call the scenario relies on failed unexpectedly (the reason on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BROKEN 99

/* The bytes that must survive strace's escaping exactly. */
static const char tricky[] = {'a', '\0', (char)0xff, '"', '\\', '\n', '\'', '\t', '%', 'z'};

struct msg {
	long mtype;
	char mtext[8192];
};

extern char **environ;

/* Stop: a call the scenario relies on failed. Children end here too (never return). */
_Noreturn static void broken(const char *what)
{
	char line[256];
	int n = snprintf(line, sizeof line, "strace_scenarios: %s: %s\n", what, strerror(errno));
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
		_exit(BROKEN);
	_exit(BROKEN);
}

static void check(int ok, const char *what)
{
	if (!ok)
		broken(what);
}

/* A call that must fail with this errno. */
static void expect_errno(long ret, int err, const char *what)
{
	if (ret != -1 || errno != err) {
		errno = ret == -1 ? errno : 0;
		broken(what);
	}
}

static void fact(const char *name, long value)
{
	char line[64];
	int n = snprintf(line, sizeof line, "%s %ld\n", name, value);
	check(n > 0 && (size_t)n < sizeof line, "format a fact");
	check(write(STDOUT_FILENO, line, (size_t)n) == n, "write a fact");
}

static int new_queue(void)
{
	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	check(q >= 0, "msgget");
	fact("queue", q);
	return q;
}

static void remove_queue(int q)
{
	check(msgctl(q, IPC_RMID, NULL) == 0, "msgctl IPC_RMID");
}

static void send(int q, long mtype, const void *text, size_t len)
{
	static struct msg m;
	m.mtype = mtype;
	memcpy(m.mtext, text, len);
	check(msgsnd(q, &m, len, 0) == 0, "msgsnd");
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		check(errno == EINTR, "nanosleep");
}

/* Wait until pid sits in system call nr (/proc/PID/syscall starts with its number), so that a
 * scenario's next line really interrupts the child's: strace then shows "<unfinished ...>". */
static void wait_blocked_in(pid_t pid, long nr)
{
	char path[64], text[128];
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	for (int tries = 0; tries < 1000; tries++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		check(fd >= 0, "open /proc/PID/syscall");
		ssize_t got = read(fd, text, sizeof text - 1);
		int saved = errno;
		check(close(fd) == 0, "close /proc/PID/syscall");
		errno = saved;
		check(got >= 0, "read /proc/PID/syscall");
		text[got] = '\0';
		if (strtol(text, NULL, 10) == nr)
			return;
		sleep_ms(5);
	}
	errno = ETIMEDOUT;
	broken("the child never blocked");
}

static int reap(pid_t pid)
{
	int status;
	check(waitpid(pid, &status, 0) == pid, "waitpid");
	return status;
}

/* Two children: a ends in _exit(3), b returns 4 from main; the parent waits for both (wait4
 * twice, by pid and by "any") and returns 5 from main. */
static int family(void)
{
	int q = new_queue();
	pid_t a = fork();
	check(a >= 0, "fork");
	if (a == 0) {
		send(q, 1, "from a", 6);
		_exit(3);
	}
	fact("a", a);
	pid_t b = fork();
	check(b >= 0, "fork");
	if (b == 0) {
		send(q, 2, "from b", 6);
		return 4;
	}
	fact("b", b);
	int status = reap(a);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 3, "child a's status");
	check(wait(&status) == b, "wait");
	check(WIFEXITED(status) && WEXITSTATUS(status) == 4, "child b's status");
	static struct msg m;
	/* By type: the children may have sent in either order. */
	check(msgrcv(q, &m, sizeof m.mtext, 1, 0) == 6, "msgrcv");
	check(msgrcv(q, &m, sizeof m.mtext, 2, 0) == 6, "msgrcv");
	remove_queue(q);
	return 5;
}

/* The child blocks in msgrcv until the parent sends, well after. */
static int blocking(void)
{
	int q = new_queue();
	pid_t c = fork();
	check(c >= 0, "fork");
	if (c == 0) {
		static struct msg m;
		check(msgrcv(q, &m, 100, 7, 0) == 4, "msgrcv");
		_exit(0);
	}
	fact("child", c);
	wait_blocked_in(c, SYS_msgrcv);
	sleep_ms(100);
	send(q, 7, "late", 4);
	check(reap(c) == 0, "the child's status");
	remove_queue(q);
	return 0;
}

/* Calls that fail, each with a known errno, and the same calls succeeding. */
static int errors(void)
{
	static struct msg m;
	int q = new_queue();
	expect_errno(msgrcv(q, &m, 100, 0, IPC_NOWAIT), ENOMSG, "msgrcv on an empty queue");
	m.mtype = 0;
	expect_errno(msgsnd(q, &m, 2, 0), EINVAL, "msgsnd of mtype 0");
	send(q, 1, "toolong", 7);
	expect_errno(msgrcv(q, &m, 3, 0, 0), E2BIG, "msgrcv of 7 bytes into 3");
	check(msgrcv(q, &m, 3, 0, MSG_NOERROR) == 3, "msgrcv with MSG_NOERROR");
	int q2 = msgget(0x5eed, IPC_CREAT | IPC_EXCL | 0640);
	check(q2 >= 0, "msgget 0x5eed");
	fact("queue2", q2);
	expect_errno(msgget(0x5eed, IPC_CREAT | IPC_EXCL | 0640), EEXIST, "msgget again");
	expect_errno(msgctl(q, 12345, NULL), EINVAL, "msgctl 12345");
	remove_queue(q2);
	remove_queue(q);
	return 0;
}

/* Bytes that need escaping, a receive into a buffer longer than the message (strace shows all
 * of msgsz, the message is only the first ret bytes), every byte value, an empty message. */
static int bytes(void)
{
	static struct msg m;
	int q = new_queue();
	send(q, 5, tricky, sizeof tricky);
	memset(m.mtext, 'Q', sizeof m.mtext);
	check(msgrcv(q, &m, 100, 0, 0) == (ssize_t)sizeof tricky, "msgrcv");
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	send(q, 6, all, sizeof all);
	check(msgrcv(q, &m, sizeof m.mtext, 6, 0) == 256, "msgrcv of 256 bytes");
	send(q, 7, "", 0);
	check(msgrcv(q, &m, sizeof m.mtext, 0, 0) == 0, "msgrcv of 0 bytes");
	remove_queue(q);
	return 0;
}

/* A 4000-byte message: more than strace shows (-s 1024). */
static int big(void)
{
	static char text[4000];
	static struct msg m;
	for (size_t i = 0; i < sizeof text; i++)
		text[i] = (char)(i * 7 + 3);
	int q = new_queue();
	send(q, 1, text, sizeof text);
	check(msgrcv(q, &m, sizeof m.mtext, 0, 0) == (ssize_t)sizeof text, "msgrcv");
	remove_queue(q);
	return 0;
}

static void *thread_body(void *arg)
{
	int q = *(int *)arg;
	fact("thread", (long)syscall(SYS_gettid));
	send(q, 3, "thr", 3);
	return NULL;
}

/* A thread is not a process: no fork record, no exit record. */
static int thread(void)
{
	int q = new_queue();
	pthread_t t;
	int err = pthread_create(&t, NULL, thread_body, &q);
	errno = err;
	check(err == 0, "pthread_create");
	err = pthread_join(t, NULL);
	errno = err;
	check(err == 0, "pthread_join");
	static struct msg m;
	check(msgrcv(q, &m, sizeof m.mtext, 3, 0) == 3, "msgrcv");
	remove_queue(q);
	return 0;
}

/* vfork, and posix_spawn (clone3 with CLONE_VM|CLONE_VFORK in glibc) of this program again:
 * both make processes. */
static int spawn(void)
{
	pid_t v = vfork();
	check(v >= 0, "vfork");
	if (v == 0)
		_exit(6);
	fact("vforked", v);
	char *argv[] = {"strace_scenarios", "exit7", NULL};
	pid_t s;
	int err = posix_spawn(&s, "/proc/self/exe", NULL, NULL, argv, environ);
	errno = err;
	check(err == 0, "posix_spawn");
	fact("spawned", s);
	int status = reap(v);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 6, "the vforked child's status");
	status = reap(s);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 7, "the spawned child's status");
	return 0;
}

/* waitid that only looks (WNOWAIT), that reaps, that finds nothing yet (WNOHANG, also with
 * wait4), and a wait with no child left (ECHILD). */
static int waits(void)
{
	pid_t a = fork();
	check(a >= 0, "fork");
	if (a == 0)
		_exit(9);
	fact("a", a);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	check(waitid(P_PID, (id_t)a, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == a,
	      "waitid WNOWAIT");
	check(waitid(P_PID, (id_t)a, &si, WEXITED) == 0 && si.si_pid == a, "waitid");

	/* b exits when the pipe closes: it is certainly still running for the WNOHANG calls. */
	int fds[2];
	check(pipe(fds) == 0, "pipe");
	pid_t b = fork();
	check(b >= 0, "fork");
	if (b == 0) {
		char byte;
		check(close(fds[1]) == 0, "close");
		check(read(fds[0], &byte, 1) == 0, "read");
		_exit(0);
	}
	fact("b", b);
	check(close(fds[0]) == 0, "close");
	int status;
	check(waitpid(b, &status, WNOHANG) == 0, "waitpid WNOHANG");
	memset(&si, 0, sizeof si);
	check(waitid(P_PID, (id_t)b, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0,
	      "waitid WNOHANG");
	check(close(fds[1]) == 0, "close");
	check(reap(b) == 0, "b's status");
	expect_errno(waitpid(-1, &status, 0), ECHILD, "waitpid with no child");
	return 0;
}

/* A child killed by SIGKILL while blocked in msgrcv: its call never completes, and it never
 * exits normally. */
static int killed(void)
{
	int q = new_queue();
	pid_t c = fork();
	check(c >= 0, "fork");
	if (c == 0) {
		static struct msg m;
		if (msgrcv(q, &m, 100, 1, 0) < 0)
			broken("msgrcv");
		_exit(0);
	}
	fact("child", c);
	wait_blocked_in(c, SYS_msgrcv);
	struct msqid_ds ds;
	check(msgctl(q, IPC_STAT, &ds) == 0, "msgctl IPC_STAT");
	check(kill(c, SIGKILL) == 0, "kill");
	int status = reap(c);
	check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child's status");
	remove_queue(q);
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void alarm_in_ms(long ms)
{
	struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
	check(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
}

/* A signal handler interrupts a blocked msgrcv (the program sees EINTR), then a wait4 with
 * SA_RESTART (the kernel restarts it: the program sees one wait). */
static int interrupted(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	check(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
	int q = new_queue();
	static struct msg m;
	alarm_in_ms(100);
	expect_errno(msgrcv(q, &m, 100, 0, 0), EINTR, "msgrcv interrupted");
	remove_queue(q);

	sa.sa_flags = SA_RESTART;
	check(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
	pid_t c = fork();
	check(c >= 0, "fork");
	if (c == 0) {
		sleep_ms(400);
		_exit(0);
	}
	fact("child", c);
	alarm_in_ms(100);
	check(reap(c) == 0, "the child's status");
	return 0;
}

/* The realtime clock (strace's -ttt) at main's first line. */
static struct timespec main_started;

/* When the program began, as it sees it: the record's execve must not end later. */
static int started(void)
{
	fact("sec", (long)main_started.tv_sec);
	fact("usec", main_started.tv_nsec / 1000);
	remove_queue(new_queue());
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(void);
	} scenarios[] = {
	    {"family", family}, {"blocking", blocking},	      {"errors", errors},  {"bytes", bytes},
	    {"big", big},	{"thread", thread},	      {"spawn", spawn},	   {"waits", waits},
	    {"killed", killed}, {"interrupted", interrupted}, {"started", started}};
	check(clock_gettime(CLOCK_REALTIME, &main_started) == 0, "clock_gettime");
	/* The test learns that strace has finished from a pipe it holds open: let go of it. */
	check(close_range(3, ~0U, 0) == 0, "close_range");
	if (argc == 2 && !strcmp(argv[1], "exit7"))
		return 7; /* spawn's child */
	for (size_t i = 0; argc == 2 && i < sizeof scenarios / sizeof scenarios[0]; i++)
		if (!strcmp(argv[1], scenarios[i].name))
			return scenarios[i].run();
	errno = EINVAL;
	broken("usage: strace_scenarios SCENARIO");
}

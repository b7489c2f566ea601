/*
 * misbehave: a program that does one bad (or exactly known) thing, for testing the sandbox and
 * the trace. usage: misbehave MODE [TAG]; TAG only marks the processes so tests can look for
 * survivors on the host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEAK_KEY 0x6d736701

struct message {
	long mtype;
	char mtext[16];
};

static void check(int ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(1);
	}
}

/* A child, a grandchild that escapes into its own session, and a parent that never ends. */
static _Noreturn void hang(void)
{
	pid_t child = fork();
	check(child >= 0, "fork");
	if (child == 0) {
		pid_t grandchild = fork();
		check(grandchild >= 0, "fork");
		if (grandchild == 0) {
			check(setsid() >= 0, "setsid");
			for (;;)
				pause();
		}
		for (;;)
			pause();
	}
	for (;;)
		pause();
}

/* Is pid blocked in a sleep call? (/proc/PID/syscall starts with the call's number) */
static int asleep(pid_t pid)
{
	char path[64];
	long nr = -1;
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int ok = fscanf(f, "%ld", &nr) == 1;
	fclose(f);
	return ok && (nr == SYS_nanosleep || nr == SYS_clock_nanosleep);
}

/* Two queues (one with 3 x 10 bytes), a sleeping child and a zombie, then exit 3. */
static int leak(void)
{
	int a = msgget(LEAK_KEY, IPC_CREAT | 0600), b = msgget(IPC_PRIVATE, 0600);
	check(a >= 0 && b >= 0, "msgget");
	struct message m = {5, "0123456789"};
	for (int i = 0; i < 3; i++)
		check(msgsnd(a, &m, 10, 0) == 0, "msgsnd");
	pid_t sleeper = fork();
	check(sleeper >= 0, "fork");
	if (sleeper == 0) {
		sleep(100);
		_exit(0);
	}
	/* Let the sleeper be asleep before we exit, so the report can say so. */
	for (int tries = 0; tries < 2000 && !asleep(sleeper); tries++)
		usleep(1000);
	pid_t zombie = fork();
	check(zombie >= 0, "fork");
	if (zombie == 0)
		_exit(0);
	/* Let the zombie die, without waiting for it. */
	siginfo_t si;
	check(waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOWAIT) == 0, "waitid");
	return 3;
}

/* Known calls with known results, for the trace: see harness_tests.c. */
static int trace(void)
{
	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0640);
	check(q >= 0, "msgget");
	pid_t child = fork();
	check(child >= 0, "fork");
	if (child == 0) {
		struct message m = {7, "abc"};
		check(msgsnd(q, &m, 3, 0) == 0, "msgsnd");
		_exit(0);
	}
	check(waitpid(child, NULL, 0) == child, "waitpid");
	struct message m;
	check(msgrcv(q, &m, sizeof m.mtext, -9, IPC_NOWAIT) == 3, "msgrcv");
	check(msgrcv(q, &m, sizeof m.mtext, 0, IPC_NOWAIT) == -1 && errno == ENOMSG, "msgrcv");
	check(msgctl(q, IPC_RMID, NULL) == 0, "msgctl");
	return 0;
}

static int flood(void)
{
	static char block[65536];
	memset(block, 'y', sizeof block);
	for (int i = 0; i < 80; i++) /* 5 MiB, far above the cap */
		if (fwrite(block, 1, sizeof block, stdout) != sizeof block)
			break;
	return 0;
}

/* Forks until refused; prints how many it got. */
static int bomb(void)
{
	int n = 0;
	for (; n < 10000; n++) {
		pid_t p = fork();
		if (p < 0)
			break;
		if (p == 0) {
			pause();
			_exit(0);
		}
	}
	printf("forked %d\n", n);
	return 0;
}

static int echo(void)
{
	int c;
	while ((c = getchar()) != EOF)
		putchar(c);
	return 0;
}

static int print_msgmni(void)
{
	FILE *f = fopen("/proc/sys/kernel/msgmni", "r");
	check(f != NULL, "/proc/sys/kernel/msgmni");
	int n;
	check(fscanf(f, "%d", &n) == 1, "read msgmni");
	fclose(f);
	printf("msgmni %d pid %d\n", n, (int)getpid());
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(
		    stderr,
		    "usage: misbehave "
		    "hang|leak|trace|flood|bomb|segv|echo|msgmni|env|where|queues|asan [TAG]\n");
		return 2;
	}
	const char *mode = argv[1];
	if (!strcmp(mode, "hang"))
		hang();
	if (!strcmp(mode, "leak"))
		return leak();
	if (!strcmp(mode, "trace"))
		return trace();
	if (!strcmp(mode, "flood"))
		return flood();
	if (!strcmp(mode, "bomb"))
		return bomb();
	if (!strcmp(mode, "echo"))
		return echo();
	if (!strcmp(mode, "msgmni"))
		return print_msgmni();
	if (!strcmp(mode, "queues")) {
		struct msginfo info;
		check(msgctl(0, MSG_INFO, (struct msqid_ds *)&info) >= 0, "msgctl(MSG_INFO)");
		printf("queues %d uid %d\n", info.msgpool, (int)getuid());
		return 0;
	}
	if (!strcmp(mode, "env")) {
		const char *v = getenv("MISBEHAVE_VAR");
		printf("%s\n", v ? v : "(unset)");
		return 0;
	}
	if (!strcmp(mode, "where")) {
		/* The working folder, HOME, and whether a file named by argv[2] is there. */
		char cwd[4096];
		check(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
		const char *home = getenv("HOME");
		printf("cwd %s\nhome %s\nfile %s\n", cwd, home ? home : "(unset)",
		       argc > 2 && access(argv[2], F_OK) == 0 ? "here" : "absent");
		return 0;
	}
	if (!strcmp(mode, "asan")) {
		/* A child ends as a sanitizer ends after its report (status 86), its stderr closed
		 * first: the call record alone must show it. */
		pid_t pid = fork();
		check(pid >= 0, "fork");
		if (pid == 0) {
			close(2);
			_exit(86);
		}
		check(waitpid(pid, NULL, 0) == pid, "waitpid");
		return 0;
	}
	if (!strcmp(mode, "segv")) {
		volatile int *p = NULL;
		// cppcheck-suppress nullPointer ; crashing is the point
		return *p;
	}
	fprintf(stderr, "misbehave: unknown mode %s\n", mode);
	return 2;
}

/*
 * scenario: lab 06's tests of `limits wait`. Creates a queue, starts the program with the
 * queue's id as its last argument, and plays a list of steps on it; before each step it waits
 * until the program is blocked in msgrcv.
 *
 *   usage: scenario STEP[,STEP]... PROGRAM [ARG]...
 *
 *   usr1           send SIGUSR1 to the program
 *   term           send SIGTERM to the program
 *   rm             remove the queue (IPC_RMID)
 *   send:TYPE:LEN  send a message of LEN bytes 'a' + i % 26
 *
 * The program's stdout is ours; what we do goes to stderr, one line per event, "scenario: ...",
 * for the tests to read. We end as the program did: with its exit status, or killed by its
 * signal. Whatever happens, the queue is removed at the end.
 *
 * "Blocked in msgrcv" after a signal must mean blocked *again*: the program has to have run
 * and gone back to sleep. So besides /proc/PID/syscall naming msgrcv (which it does only while
 * the process sleeps), the count of voluntary context switches must have grown since just
 * before the step that woke it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#define MAX_STEPS 16
#define POLL_NS	  500000L

struct message {
	long mtype;
	char mtext[];
};

static int queue = -1;

static void die(const char *what)
{
	fprintf(stderr, "scenario: grader error: %s: %s\n", what, strerror(errno));
	if (queue >= 0)
		msgctl(queue, IPC_RMID, NULL);
	exit(125);
}

static void pause_briefly(void)
{
	struct timespec ts = {0, POLL_NS};
	nanosleep(&ts, NULL);
}

/* The first number after "key" in /proc/PID/FILE, or -1. */
static long proc_number(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	long value = -1;
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, strlen(key))) {
			value = strtol(line + strlen(key), NULL, 10);
			break;
		}
	fclose(f);
	return value;
}

/* The state letter of pid (/proc/PID/stat): S asleep, t stopped by its tracer, ... */
static char state_of(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	char state = 0;
	if (f && fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = 0;
	if (f)
		fclose(f);
	return state;
}

/*
 * Is pid asleep in msgrcv? Where /proc/PID/syscall is missing, asleep at all will do. Asleep
 * ('S'), not only stopped in it: under the sandbox's tracer, an interrupted msgrcv also shows
 * there while the tracer holds it ('t'), before the signal that woke it was even handled.
 */
static bool in_msgrcv(pid_t pid)
{
	char path[64], text[64];
	if (state_of(pid) != 'S')
		return false;
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return false;
	text[n] = '\0';
	/* "running" while on a CPU; else the number of the call it sleeps in. Asleep again after
	 * that read: it may have been woken and stopped between the two looks. */
	return text[0] >= '0' && text[0] <= '9' && strtol(text, NULL, 10) == SYS_msgrcv &&
	       state_of(pid) == 'S';
}

static long switches(pid_t pid)
{
	return proc_number(pid, "status", "voluntary_ctxt_switches:");
}

/* Report how the program ended and end the same way. */
static void end_as(pid_t pid, int status)
{
	if (queue >= 0 && msgctl(queue, IPC_RMID, NULL) == -1 && errno != EINVAL && errno != EIDRM)
		die("msgctl(IPC_RMID)");
	if (WIFEXITED(status)) {
		fprintf(stderr, "scenario: pid %d exited with status %d\n", (int)pid,
			WEXITSTATUS(status));
		exit(WEXITSTATUS(status));
	}
	int sig = WTERMSIG(status);
	fprintf(stderr, "scenario: pid %d was killed by signal %d\n", (int)pid, sig);
	signal(sig, SIG_DFL);
	raise(sig);
	exit(128 + sig);
}

/* Wait until pid sleeps in msgrcv with more voluntary switches than `after` (-1: any). */
static void wait_blocked(pid_t pid, int step, long after)
{
	fprintf(stderr, "scenario: waiting for pid %d to block in msgrcv (step %d)\n", (int)pid,
		step);
	for (;;) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == -1)
			die("waitpid");
		if (w == pid) {
			fprintf(stderr, "scenario: pid %d ended before step %d\n", (int)pid, step);
			end_as(pid, status);
		}
		long now = switches(pid);
		if ((after < 0 || now > after) && in_msgrcv(pid)) {
			fprintf(stderr, "scenario: pid %d blocked in msgrcv (step %d)\n", (int)pid,
				step);
			return;
		}
		pause_briefly();
	}
}

static void do_step(pid_t pid, int step, const char *what)
{
	long type, len;
	if (!strcmp(what, "usr1") || !strcmp(what, "term")) {
		int sig = what[0] == 'u' ? SIGUSR1 : SIGTERM;
		if (kill(pid, sig) == -1)
			die("kill");
		fprintf(stderr, "scenario: step %d: sent %s to pid %d\n", step,
			sig == SIGUSR1 ? "SIGUSR1" : "SIGTERM", (int)pid);
	} else if (!strcmp(what, "rm")) {
		if (msgctl(queue, IPC_RMID, NULL) == -1)
			die("msgctl(IPC_RMID)");
		fprintf(stderr, "scenario: step %d: removed queue %d\n", step, queue);
		queue = -1;
	} else if (sscanf(what, "send:%ld:%ld", &type, &len) == 2 && type > 0 && len >= 0 &&
		   len <= 8192) {
		struct message *m = malloc(sizeof *m + (size_t)len);
		if (!m)
			die("malloc");
		m->mtype = type;
		for (long k = 0; k < len; k++)
			m->mtext[k] = (char)('a' + k % 26);
		if (msgsnd(queue, m, (size_t)len, IPC_NOWAIT) == -1)
			die("msgsnd");
		free(m);
		fprintf(stderr, "scenario: step %d: sent a message of type %ld, %ld bytes\n", step,
			type, len);
	} else {
		errno = EINVAL;
		die(what);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: scenario STEP[,STEP]... PROGRAM [ARG]...\n", stderr);
		return 2;
	}
	char *steps[MAX_STEPS];
	int nsteps = 0;
	for (char *save, *s = strtok_r(argv[1], ",", &save); s && nsteps < MAX_STEPS;
	     s = strtok_r(NULL, ",", &save))
		steps[nsteps++] = s;

	queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (queue == -1)
		die("msgget");
	char id[16];
	snprintf(id, sizeof id, "%d", queue);
	char **args = calloc((size_t)argc, sizeof *args);
	if (!args)
		die("calloc");
	for (int i = 2; i < argc; i++)
		args[i - 2] = argv[i];
	args[argc - 2] = id;

	fflush(stdout);
	pid_t pid = fork();
	if (pid == -1)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(args[0], args);
		fprintf(stderr, "scenario: cannot run %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	fprintf(stderr, "scenario: started pid %d on queue %d\n", (int)pid, queue);
	long before = -1;
	for (int i = 0; i < nsteps; i++) {
		wait_blocked(pid, i + 1, before);
		before = switches(pid);
		do_step(pid, i + 1, steps[i]);
	}
	int status;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			die("waitpid");
	end_as(pid, status);
}

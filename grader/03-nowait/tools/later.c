/*
 * later: the lab 03 grader's delayed actions on the queue of ftok(KEYFILE, 'N'), so that a
 * program under test really has to wait for a message, or sees its queue vanish.
 *
 *   usage: later [-w NAME] KEYFILE ACTION...
 *
 *   MS:send:TYPE:TEXT  MS milliseconds after the start, send one message (IPC_NOWAIT)
 *   MS:rm              MS milliseconds after the start, remove the queue
 *   MS:received        from MS milliseconds after the start, wait until the queue holds no
 *                      message (the program under test has received what was there), then
 *                      start the clock again: the following actions are timed from that
 *                      moment, an event of the program's own, whatever the load
 *
 * The start is when later started or, with -w NAME, when a process named NAME (the program
 * under test, which runs after the set-up) is first seen: the times are then the program's own,
 * whatever its start-up cost on a loaded machine.
 *
 * The queue must exist. later checks its arguments and opens the queue, then leaves a child
 * to act in the background and exits at once (a test's set-up runs to completion before the
 * program under test starts). The child ends after its last action, or after 30 s at most.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#define TEXT_MAX    8192
#define MAX_ACTIONS 64
#define LIFETIME_S  30

struct message {
	long mtype;
	char mtext[TEXT_MAX];
};

enum what { SEND, REMOVE, RECEIVED };

struct action {
	long at_ms;
	enum what what;
	long type;
	const char *text;
};

static const char usage[] =
    "usage: later [-w NAME] KEYFILE MS:send:TYPE:TEXT|MS:rm|MS:received...\n";

_Noreturn static void fail(const char *what)
{
	fprintf(stderr, "later: %s: %s\n", what, strerror(errno));
	exit(1);
}

_Noreturn static void bad_usage(const char *arg)
{
	fprintf(stderr, "later: bad action %s\n%s", arg, usage);
	exit(2);
}

static void parse(const char *arg, struct action *a)
{
	char *end;
	errno = 0;
	a->at_ms = strtol(arg, &end, 10);
	if (errno || end == arg || a->at_ms < 0 || *end != ':')
		bad_usage(arg);
	if (!strcmp(end + 1, "rm")) {
		a->what = REMOVE;
		return;
	}
	if (!strcmp(end + 1, "received")) {
		a->what = RECEIVED;
		return;
	}
	if (strncmp(end + 1, "send:", 5))
		bad_usage(arg);
	const char *type = end + 6;
	a->type = strtol(type, &end, 10);
	if (end == type || a->type <= 0 || *end != ':' || strlen(end + 1) > TEXT_MAX)
		bad_usage(arg);
	a->what = SEND;
	a->text = end + 1;
}

/* Sleep until ms after start on the monotonic clock. */
static void sleep_until(const struct timespec *start, long ms)
{
	struct timespec t = *start;
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	int rc;
	while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL)) == EINTR)
		;
	if (rc) {
		errno = rc;
		fail("clock_nanosleep");
	}
}

/* Wait until the queue is empty: its messages have been received. */
static void wait_until_empty(int msqid)
{
	for (;;) {
		struct msqid_ds ds;
		if (msgctl(msqid, IPC_STAT, &ds) == -1)
			fail("msgctl(IPC_STAT)");
		if (ds.msg_qnum == 0)
			return;
		usleep(500);
	}
}

/* Is there a process whose command name is name? */
static int process_named(const char *name)
{
	DIR *d = opendir("/proc");
	if (!d)
		fail("opendir /proc");
	int found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d)) != NULL) {
		char path[300], comm[64];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue; /* gone meanwhile */
		if (fgets(comm, sizeof comm, f)) {
			comm[strcspn(comm, "\n")] = '\0';
			found = !strcmp(comm, name);
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

int main(int argc, char **argv)
{
	static struct action actions[MAX_ACTIONS];
	const char *wait_for = NULL;
	if (argc > 2 && !strcmp(argv[1], "-w")) {
		wait_for = argv[2];
		argc -= 2;
		argv += 2;
	}
	int n = argc - 2;
	if (n < 1 || n > MAX_ACTIONS) {
		fputs(usage, stderr);
		return 2;
	}
	for (int i = 0; i < n; i++)
		parse(argv[i + 2], &actions[i]);
	key_t key = ftok(argv[1], 'N');
	if (key == -1)
		fail("ftok");
	int msqid = msgget(key, 0);
	if (msqid == -1)
		fail("msgget");
	struct timespec start;
	if (clock_gettime(CLOCK_MONOTONIC, &start) == -1)
		fail("clock_gettime");
	if (fflush(stdout) == EOF)
		fail("fflush");
	pid_t pid = fork();
	if (pid == -1)
		fail("fork");
	if (pid > 0)
		return 0;

	alarm(LIFETIME_S); /* never outlive a run by much, whatever happens */
	if (wait_for) {
		while (!process_named(wait_for))
			usleep(1000);
		if (clock_gettime(CLOCK_MONOTONIC, &start) == -1)
			fail("clock_gettime");
	}
	static struct message msg;
	for (int i = 0; i < n; i++) {
		sleep_until(&start, actions[i].at_ms);
		if (actions[i].what == RECEIVED) {
			wait_until_empty(msqid);
			if (clock_gettime(CLOCK_MONOTONIC, &start) == -1)
				fail("clock_gettime");
			continue;
		}
		if (actions[i].what == REMOVE) {
			if (msgctl(msqid, IPC_RMID, NULL) == -1)
				fail("msgctl(IPC_RMID)");
			continue;
		}
		size_t len = strlen(actions[i].text);
		msg.mtype = actions[i].type;
		memcpy(msg.mtext, actions[i].text, len);
		if (msgsnd(msqid, &msg, len, IPC_NOWAIT) == -1)
			fail("msgsnd");
	}
	return 0;
}

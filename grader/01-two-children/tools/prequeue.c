/*
 * prequeue: the lab 01 grader's set-up tool. Prepares the run's IPC namespace before msgpair
 * starts, and prints what it made.
 *
 *   usage: prequeue -b
 *          prequeue KEYFILE TYPE SIZE
 *
 *   -b                    create a private queue and remove it again, so that the next queue
 *                         created gets another id than 0; prints "burned=ID"
 *   KEYFILE TYPE SIZE     create the queue of ftok(KEYFILE, 'M') (mode 0600), as msgpair -k
 *                         KEYFILE will find it, and queue one message of type TYPE holding SIZE
 *                         bytes of 'z'; prints "msqid=ID"
 *
 * Exit status 0, or 1 with the failed call on stderr (the test then reports a grader error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#define SIZE_MAX_BYTES 8192

struct message {
	long mtype;
	char mtext[SIZE_MAX_BYTES];
};

static const char usage[] = "usage: prequeue -b | prequeue KEYFILE TYPE SIZE\n";

_Noreturn static void fail(const char *what)
{
	fprintf(stderr, "prequeue: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long number(const char *s, long low, long high)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < low || v > high) {
		fputs(usage, stderr);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "-b")) {
		int msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (msqid == -1)
			fail("msgget");
		if (msgctl(msqid, IPC_RMID, NULL) == -1)
			fail("msgctl(IPC_RMID)");
		printf("burned=%d\n", msqid);
		return 0;
	}
	if (argc != 4) {
		fputs(usage, stderr);
		return 2;
	}
	static struct message msg;
	msg.mtype = number(argv[2], 1, 1000);
	long size = number(argv[3], 0, SIZE_MAX_BYTES);
	key_t key = ftok(argv[1], 'M');
	if (key == -1)
		fail("ftok");
	int msqid = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	if (msqid == -1)
		fail("msgget");
	memset(msg.mtext, 'z', (size_t)size);
	if (msgsnd(msqid, &msg, (size_t)size, IPC_NOWAIT) == -1)
		fail("msgsnd");
	printf("msqid=%d\n", msqid);
	return 0;
}

/*
 * mkqueue: the lab 03 grader's set-up tool. Creates the queue of ftok(KEYFILE, 'N') as a test
 * needs it, then prints its id.
 *
 *   usage: mkqueue [-q QBYTES] [-n COUNT:SIZE]... [-t TYPE:TEXT]... [-m MODE] KEYFILE
 *
 *   -q QBYTES      lower msg_qbytes to QBYTES (IPC_SET; lowering needs no privilege)
 *   -n COUNT:SIZE  queue COUNT messages of type 9, each SIZE bytes of 'z'
 *   -t TYPE:TEXT   queue one message of type TYPE holding exactly the bytes of TEXT
 *   -m MODE        then set the queue's permissions to MODE (octal), e.g. 200: write only
 *
 * Messages are queued in the order of the options, after -q. The queue must not exist yet.
 * Exit status 0, or 1 with the failed call on stderr (the test then reports a grader error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#define TEXT_MAX 8192

struct message {
	long mtype;
	char mtext[TEXT_MAX];
};

static const char usage[] =
    "usage: mkqueue [-q QBYTES] [-n COUNT:SIZE]... [-t TYPE:TEXT]... [-m MODE] KEYFILE\n";

_Noreturn static void fail(const char *what)
{
	fprintf(stderr, "mkqueue: %s: %s\n", what, strerror(errno));
	exit(1);
}

_Noreturn static void bad_usage(void)
{
	fputs(usage, stderr);
	exit(2);
}

static long number(const char *s, int base, char **end)
{
	errno = 0;
	long v = strtol(s, end, base);
	if (errno || *end == s || v < 0)
		bad_usage();
	return v;
}

static void send_one(int msqid, struct message *msg, size_t len)
{
	if (msgsnd(msqid, msg, len, IPC_NOWAIT) == -1)
		fail("msgsnd");
}

int main(int argc, char **argv)
{
	/* The options are acted on in order, once the queue exists: find KEYFILE first. */
	int opt;
	while ((opt = getopt(argc, argv, "+q:n:t:m:")) != -1)
		if (opt == '?')
			bad_usage();
	if (optind != argc - 1)
		bad_usage();
	key_t key = ftok(argv[optind], 'N');
	if (key == -1)
		fail("ftok");
	int msqid = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	if (msqid == -1)
		fail("msgget");

	static struct message msg;
	char *end;
	long mode = -1;
	optind = 0; /* glibc: 0 starts a new scan */
	while ((opt = getopt(argc, argv, "+q:n:t:m:")) != -1) {
		struct msqid_ds ds;
		switch (opt) {
		case 'q':
			if (msgctl(msqid, IPC_STAT, &ds) == -1)
				fail("msgctl(IPC_STAT)");
			ds.msg_qbytes = (msglen_t)number(optarg, 10, &end);
			if (*end || msgctl(msqid, IPC_SET, &ds) == -1)
				fail("msgctl(IPC_SET msg_qbytes)");
			break;
		case 'n': {
			long count = number(optarg, 10, &end);
			if (*end != ':')
				bad_usage();
			long size = number(end + 1, 10, &end);
			if (*end || size > TEXT_MAX)
				bad_usage();
			msg.mtype = 9;
			memset(msg.mtext, 'z', (size_t)size);
			for (long i = 0; i < count; i++)
				send_one(msqid, &msg, (size_t)size);
			break;
		}
		case 't': {
			msg.mtype = number(optarg, 10, &end);
			size_t len = strlen(end + 1);
			if (*end != ':' || msg.mtype <= 0 || len > TEXT_MAX)
				bad_usage();
			memcpy(msg.mtext, end + 1, len);
			send_one(msqid, &msg, len);
			break;
		}
		case 'm':
			mode = number(optarg, 8, &end);
			if (*end || mode > 0777)
				bad_usage();
			break;
		}
	}
	if (mode >= 0) {
		struct msqid_ds ds;
		if (msgctl(msqid, IPC_STAT, &ds) == -1)
			fail("msgctl(IPC_STAT)");
		ds.msg_perm.mode = (unsigned short)mode;
		if (msgctl(msqid, IPC_SET, &ds) == -1)
			fail("msgctl(IPC_SET mode)");
	}
	printf("%d\n", msqid);
	return 0;
}

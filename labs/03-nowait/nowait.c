/*
 * nowait: fill, drain and poll a System V message queue without ever blocking.
 *
 *   usage: nowait fill KEYFILE SIZE | nowait drain KEYFILE | nowait poll KEYFILE COUNT MS |
 *          nowait remove KEYFILE
 *
 * Every command uses the queue with the key ftok(KEYFILE, 'N'). Every msgsnd and msgrcv passes
 * IPC_NOWAIT, so that no call ever waits: a full queue gives EAGAIN, an empty one ENOMSG.
 *
 *   fill KEYFILE SIZE      creates the queue if there is none (IPC_CREAT | 0600), then sends
 *                          messages of SIZE bytes (0 to 65536) until msgsnd fails with EAGAIN:
 *                          the queue is full. Message K (from 1) has mtype 1 and is SIZE copies
 *                          of the letter 'a' + (K - 1) % 26. Prints "sent N messages, B bytes".
 *   drain KEYFILE          opens the existing queue (msgget flags 0) and receives (msgtyp 0)
 *                          until msgrcv fails with ENOMSG, printing each message as "TYPE TEXT";
 *                          then prints "drained N messages, B bytes".
 *   poll KEYFILE COUNT MS  opens the existing queue and tries to receive COUNT messages
 *                          (msgtyp 0), printing each as "TYPE TEXT". After a try that finds the
 *                          queue empty: if MS milliseconds have passed since poll started, it
 *                          gives up; otherwise it prints "empty try K: sleeping D ms" (K counts
 *                          the empty tries from 1) and sleeps D ms before the next try. D is 1
 *                          at first, doubles after each empty try up to 64, and goes back to 1
 *                          after each message. Ends with "received COUNT messages", or
 *                          "gave up after MS ms: received K of COUNT messages".
 *   remove KEYFILE         opens the existing queue, removes it, prints "removed queue ID".
 *
 * Exit status: 0 on success; 1 when a call fails, for any reason but the EAGAIN that ends fill
 * and the ENOMSG that ends drain or makes poll wait (stderr: "nowait: CALL: reason"); 2 on bad
 * usage; 3 when poll gives up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>

#define PROJ_ID	       'N'
#define SIZE_MAX_ARG   65536   /* the largest SIZE fill accepts (the kernel may refuse less) */
#define TEXT_MAX       8192    /* the largest message drain and poll take: MSGMAX by default */
#define FIRST_DELAY_MS 1       /* poll's first sleep, and again after each message */
#define MAX_DELAY_MS   64      /* poll's sleeps double up to this, then stay there */
#define COUNT_MAX      1000000 /* poll's largest COUNT */
#define MS_MAX	       3600000 /* poll's longest deadline: an hour */
#define EXIT_GAVE_UP   3

static const char usage[] = "usage: nowait fill KEYFILE SIZE | nowait drain KEYFILE | "
			    "nowait poll KEYFILE COUNT MS | nowait remove KEYFILE\n";

/* What drain and poll receive into: a long mtype, then the bytes of the message. */
struct message {
	long mtype;
	char mtext[TEXT_MAX];
};

/* What fill sends: SIZE bytes follow mtype (allocated with malloc). */
struct sized_message {
	long mtype;
	char mtext[];
};

_Noreturn static void fail(const char *what)
{
	fprintf(stderr, "nowait: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A message as "TYPE TEXT": msgrcv returned len, and mtext has no terminating NUL. */
static void print_message(const struct message *msg, ssize_t len)
{
	printf("%ld %.*s\n", msg->mtype, (int)len, msg->mtext);
}

/* What poll does between two tries. A real program would get on with its own work here. */
static void other_work(long empty_tries, long delay_ms)
{
	printf("empty try %ld: sleeping %ld ms\n", empty_tries, delay_ms);
}

static void sleep_ms(long ms)
{
	struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&left, &left) == -1)
		if (errno != EINTR)
			fail("nanosleep");
}

/* Milliseconds since start, on the clock that never jumps. */
static double elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		fail("clock_gettime");
	return (double)(now.tv_sec - start->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* The queue of ftok(keyfile, 'N'), got with msgget flags; on failure, say which call failed. */
static int open_queue(const char *keyfile, int flags)
{
	/* TODO: key = ftok(keyfile, PROJ_ID), then msgget(key, flags); fail("ftok") or "msgget" */
	(void)keyfile;
	(void)flags;
	errno = ENOSYS;
	fail("msgget");
}

/* fill: send SIZE-byte messages until the queue is full, never waiting for room. */
static void fill(int msqid, size_t size)
{
	struct sized_message *msg = malloc(sizeof *msg + size);
	if (!msg)
		fail("malloc");
	long sent = 0;
	/* TODO: msgsnd with IPC_NOWAIT until EAGAIN, counting the messages that were sent */
	(void)msqid;
	errno = ENOSYS;
	fail("msgsnd");
	long bytes = sent * (long)size;
	printf("sent %ld messages, %ld bytes\n", sent, bytes);
	free(msg);
}

/* drain: receive and print every queued message, never waiting for one. */
static void drain(int msqid)
{
	struct message msg;
	long count = 0, bytes = 0;
	/* TODO: msgrcv with IPC_NOWAIT until ENOMSG; print each message, count them and bytes */
	(void)msqid;
	(void)msg;
	(void)print_message;
	errno = ENOSYS;
	fail("msgrcv");
	printf("drained %ld messages, %ld bytes\n", count, bytes);
}

/* poll: receive count messages, sleeping between empty tries; returns the exit status. */
static int poll_queue(int msqid, long count, long deadline_ms)
{
	struct message msg;
	long received = 0, empty_tries = 0, delay_ms = FIRST_DELAY_MS;
	struct timespec start;
	if (clock_gettime(CLOCK_MONOTONIC, &start) == -1)
		fail("clock_gettime");
	/* TODO: try msgrcv with IPC_NOWAIT; on ENOMSG give up at the deadline or back off */
	(void)msqid;
	(void)msg;
	(void)empty_tries;
	(void)delay_ms;
	(void)deadline_ms;
	(void)count;
	(void)other_work;
	(void)sleep_ms;
	(void)elapsed_ms;
	errno = ENOSYS;
	fail("msgrcv");
	printf("received %ld messages\n", received);
	return 0;
}

/* remove: the queue goes, with any messages still in it. */
static void remove_queue(int msqid)
{
	/* TODO: remove the queue with msgctl(IPC_RMID); on failure fail("msgctl") */
	errno = ENOSYS;
	fail("msgctl");
	printf("removed queue %d\n", msqid);
}

/* A decimal number from min to max: digits only, no sign, no spaces. */
static bool parse_number(const char *s, long min, long max, long *value)
{
	long v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
		if (v > max)
			return false;
	}
	*value = v;
	return v >= min;
}

int main(int argc, char **argv)
{
	const char *cmd = argc >= 3 ? argv[1] : "";
	long size, count, ms;
	if (!strcmp(cmd, "fill") && argc == 4 && parse_number(argv[3], 0, SIZE_MAX_ARG, &size)) {
		fill(open_queue(argv[2], IPC_CREAT | 0600), (size_t)size);
		return 0;
	}
	if (!strcmp(cmd, "drain") && argc == 3) {
		drain(open_queue(argv[2], 0));
		return 0;
	}
	if (!strcmp(cmd, "poll") && argc == 5 && parse_number(argv[3], 1, COUNT_MAX, &count) &&
	    parse_number(argv[4], 1, MS_MAX, &ms))
		return poll_queue(open_queue(argv[2], 0), count, ms);
	if (!strcmp(cmd, "remove") && argc == 3) {
		remove_queue(open_queue(argv[2], 0));
		return 0;
	}
	fputs(usage, stderr);
	return 2;
}

/*
 * typesel: receive the messages of a System V message queue selectively, by type.
 *
 *   usage: typesel fifo | typesel type N | typesel priority N | typesel except N
 *
 * Standard input holds a batch of at most 100 lines "TYPE TEXT": TYPE a positive integer, then
 * one space and TEXT, the rest of the line (at most 64 bytes, possibly empty).
 *
 * The parent creates a private queue and forks a producer child, which sends each line as one
 * message (mtype TYPE, mtext exactly the bytes of TEXT) and exits. Once the producer has ended
 * successfully, the parent is the consumer: it receives with the mode's msgtyp and flags plus
 * IPC_NOWAIT until msgrcv fails with ENOMSG, prints each message as "TYPE TEXT", then prints
 * "left: Q" (the messages still queued), removes the queue and exits 0.
 *
 *   fifo        msgtyp 0: every message, first in first out
 *   type N      msgtyp N: only the messages of type N
 *   priority N  msgtyp -N: the lowest type first, among the types <= N; FIFO within a type
 *   except N    msgtyp N with MSG_EXCEPT: every message whose type is not N
 *
 * Exit status: 0 on success, 1 when the input or a system call fails (the queue is removed),
 * 2 on bad usage.
 */
#define _GNU_SOURCE /* MSG_EXCEPT and getline */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>
#include <sys/wait.h>

#define TEXT_MAX  64  /* bytes of TEXT in one message */
#define LINES_MAX 100 /* lines in one batch */

static const char usage[] = "usage: typesel fifo | typesel type N | typesel priority N | "
			    "typesel except N\n";

/* What msgsnd sends and msgrcv fills: a long mtype, then the bytes of the message. */
struct message {
	long mtype;
	char mtext[TEXT_MAX];
};

enum mode { MODE_FIFO, MODE_TYPE, MODE_PRIORITY, MODE_EXCEPT };

static void fail(const char *what)
{
	fprintf(stderr, "typesel: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Create a new private queue; returns its id, or -1 with errno set. */
static int create_queue(void)
{
	/* TODO: create a new queue with the key IPC_PRIVATE, readable and writable by its owner */
	errno = ENOSYS;
	return -1;
}

/* Remove the queue; on failure, say so and exit 1. */
static void remove_queue(int msqid)
{
	/* TODO: remove the queue (msgctl IPC_RMID); on failure, fail("msgctl(IPC_RMID)") */
	(void)msqid;
}

/* The consumer's way out on an error: say what failed, remove the queue, exit 1. */
static void fail_removing(int msqid, const char *what)
{
	int err = errno;
	fprintf(stderr, "typesel: %s: %s\n", what, strerror(err));
	remove_queue(msqid);
	exit(1);
}

/* The producer: send one message of type `type` holding the `len` bytes at `text`. */
static void send_message(int msqid, long type, const char *text, size_t len)
{
	/* TODO: send one message: mtype = type, mtext = exactly the len bytes of text (no NUL) */
	(void)msqid;
	(void)type;
	(void)text;
	(void)len;
}

/* The msgtyp and msgrcv flags that select the messages of a mode (IPC_NOWAIT is added later). */
static void selection(enum mode mode, long n, long *msgtyp, int *flags)
{
	*msgtyp = 0;
	*flags = 0;
	/* TODO: set *msgtyp and *flags for the mode (see the table at the top of this file) */
	(void)mode;
	(void)n;
}

/* The consumer: receive and print every message the selection gives, never blocking. */
static void consume(int msqid, long msgtyp, int flags)
{
	/* TODO: msgrcv(msgtyp, flags | IPC_NOWAIT) until ENOMSG, printing each as "TYPE TEXT" */
	(void)msqid;
	(void)msgtyp;
	(void)flags;
}

/* How many messages are still in the queue; -1 with errno set on failure. */
static long messages_left(int msqid)
{
	/* TODO: return msg_qnum as msgctl(IPC_STAT) reports it */
	(void)msqid;
	errno = ENOSYS;
	return -1;
}

/* A positive decimal integer that fits a long: digits only, no sign. */
static bool parse_positive(const char *s, size_t len, long *value)
{
	long v = 0;
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		int digit = s[i] - '0';
		if (v > (LONG_MAX - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	*value = v;
	return v > 0;
}

/* Split a line (without its newline) into TYPE and TEXT; NULL if fine, else what is wrong. */
static const char *parse_line(const char *line, size_t len, long *type, const char **text,
			      size_t *text_len)
{
	size_t digits = strspn(line, "0123456789"); /* line[len] is '\n' or '\0' */
	if (!parse_positive(line, digits, type) || (digits < len && line[digits] != ' '))
		return "expected TYPE TEXT, with TYPE a positive integer and one space";
	*text = digits < len ? line + digits + 1 : line + len;
	*text_len = digits < len ? len - digits - 1 : 0;
	if (*text_len > TEXT_MAX)
		return "the text is longer than 64 bytes";
	return NULL;
}

/* The producer child: one message per line of standard input. Returns its exit status. */
static int produce(int msqid)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	int number = 0, status = 0;
	while ((len = getline(&line, &size, stdin)) != -1) {
		number++;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		long type;
		const char *text;
		size_t text_len;
		const char *problem = "more than 100 lines";
		if (number <= LINES_MAX)
			problem = parse_line(line, (size_t)len, &type, &text, &text_len);
		if (problem) {
			fprintf(stderr, "typesel: line %d: %s\n", number, problem);
			status = 1;
			break;
		}
		send_message(msqid, type, text, text_len);
	}
	if (status == 0 && ferror(stdin)) {
		fprintf(stderr, "typesel: reading standard input: %s\n", strerror(errno));
		status = 1;
	}
	free(line);
	return status;
}

static bool parse_args(int argc, char **argv, enum mode *mode, long *n)
{
	static const char *const names[] = {"fifo", "type", "priority", "except"};
	for (int m = MODE_FIFO; m <= MODE_EXCEPT; m++)
		if (argc >= 2 && strcmp(argv[1], names[m]) == 0) {
			*mode = (enum mode)m;
			*n = 0;
			if (m == MODE_FIFO)
				return argc == 2;
			return argc == 3 && parse_positive(argv[2], strlen(argv[2]), n);
		}
	return false;
}

int main(int argc, char **argv)
{
	enum mode mode;
	long n, msgtyp;
	int flags;
	if (!parse_args(argc, argv, &mode, &n)) {
		fputs(usage, stderr);
		return 2;
	}
	selection(mode, n, &msgtyp, &flags);

	int msqid = create_queue();
	if (msqid == -1)
		fail("msgget");

	fflush(stdout); /* nothing is buffered yet, but fork would copy it */
	pid_t producer = fork();
	if (producer == -1)
		fail_removing(msqid, "fork");
	if (producer == 0)
		exit(produce(msqid));

	/* The whole batch is in the queue once the producer has ended. */
	int status;
	if (waitpid(producer, &status, 0) == -1)
		fail_removing(msqid, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		remove_queue(msqid); /* the producer has said what went wrong */
		return 1;
	}

	consume(msqid, msgtyp, flags);
	long left = messages_left(msqid);
	if (left == -1)
		fail_removing(msqid, "msgctl(IPC_STAT)");
	printf("left: %ld\n", left);
	remove_queue(msqid);
	return 0;
}

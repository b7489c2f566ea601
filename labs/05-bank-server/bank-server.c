/*
 * bank-server: the bank-balance service. It keeps BANK_ACCOUNTS balances in memory and answers
 * the requests of any number of bank-client processes over one System V message queue.
 *
 *   usage: bank-server
 *
 * The queue: key ftok(BANK_KEY_PATH, BANK_KEY_PROJ), created with IPC_CREAT | IPC_EXCL | 0600.
 * If a queue already exists for the key, the server says so and exits 1 without touching it.
 *
 * The loop: receive a request (msgtyp BANK_REQUEST, MSG_NOERROR), apply it to the table, send the
 * reply with mtype = the request's pid. Requests shorter than BANK_REQUEST_SIZE, and requests
 * whose pid is not above BANK_REQUEST, are dropped with a line on stderr.
 *
 * Replies never block: before each reply, if the queue is at least half full (msg_cbytes >=
 * msg_qbytes / 2), the replies left for remembered clients that have exited are removed; then the
 * reply is sent with IPC_NOWAIT, and one that does not fit (EAGAIN) is dropped and logged.
 *
 * Signals: SIGINT and SIGTERM make the server remove the queue, print "bank-server: queue Q
 * removed" and exit 0; SIGUSR1 makes it print its statistics and carry on. The handlers only set
 * flags; a msgrcv they interrupt fails with EINTR (System V calls are never restarted) and the
 * loop acts on the flags.
 *
 * stdout (line-buffered):
 *   bank-server: serving on queue Q
 *   bank-server: stats: R served, O orphans removed, D dropped
 *   bank-server: queue Q removed
 * stderr:
 *   bank-server: reply to pid P dropped: queue full
 *   bank-server: removed N orphaned replies
 *   bank-server: malformed request of N bytes dropped
 *   bank-server: request with invalid pid P dropped
 *
 * Exit status: 0 after SIGINT or SIGTERM; 1 when the queue exists already or a call fails (the
 * queue is removed first when the server created it); 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>

#include "bank.h"

#define REMEMBERED 64 /* the last clients replied to, checked for orphaned replies */

static long balances[BANK_ACCOUNTS];

/* What the server has done, for SIGUSR1. */
static long served, orphans_removed, dropped;

/* The pids of the last REMEMBERED replies sent (0: a free slot), oldest overwritten first. */
static pid_t remembered[REMEMBERED];
static size_t next_slot;

/* Set by the signal handlers, read by the loop. */
static volatile sig_atomic_t stop_requested, stats_requested;

static void fail(const char *what)
{
	fprintf(stderr, "bank-server: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Fail after removing our queue, so that clients see the server go (EIDRM) instead of waiting. */
static void fail_removing(int msqid, const char *what)
{
	int err = errno;
	fprintf(stderr, "bank-server: %s: %s\n", what, strerror(err));
	if (msgctl(msqid, IPC_RMID, NULL) == -1 && errno != EINVAL && errno != EIDRM)
		fprintf(stderr, "bank-server: msgctl(IPC_RMID): %s\n", strerror(errno));
	exit(1);
}

/* Create the server's queue; returns its id. Exits 1 if it exists already or msgget fails. */
static int create_queue(void)
{
	/* TODO: msgget(ftok(BANK_KEY_PATH, BANK_KEY_PROJ), IPC_CREAT | IPC_EXCL | 0600) */
	errno = ENOSYS;
	fail("msgget");
	return -1;
}

/* The handler of SIGINT, SIGTERM and SIGUSR1: only sets a flag (printf is not safe here). */
static void on_signal(int sig)
{
	/* TODO: SIGUSR1 sets stats_requested; SIGINT and SIGTERM set stop_requested */
	(void)sig;
}

/* Install the handlers for SIGINT, SIGTERM and SIGUSR1. */
static void install_handlers(void)
{
	/* TODO: sigaction(SIGINT, SIGTERM, SIGUSR1) -> on_signal; fail("sigaction") on error */
	(void)on_signal;
}

/* Apply one request to the table and fill in the reply (all but mtype). */
static void apply(const struct bank_request *req, struct bank_reply *rep)
{
	rep->op = req->op;
	rep->account = req->account;
	rep->balance = 0;
	if (req->op != BANK_BALANCE && req->op != BANK_DEPOSIT && req->op != BANK_WITHDRAW) {
		rep->status = BANK_BAD_REQUEST;
		return;
	}
	if (req->account < 0 || req->account >= BANK_ACCOUNTS) {
		rep->status = BANK_NO_ACCOUNT;
		return;
	}
	long *balance = &balances[req->account];
	if (req->op != BANK_BALANCE && (req->amount < 1 || req->amount > BANK_MAX_AMOUNT)) {
		rep->status = BANK_BAD_REQUEST;
		return;
	}
	if (req->op == BANK_WITHDRAW && req->amount > *balance) {
		rep->status = BANK_NO_FUNDS;
		rep->balance = *balance;
		return;
	}
	if (req->op == BANK_DEPOSIT)
		*balance += req->amount;
	else if (req->op == BANK_WITHDRAW)
		*balance -= req->amount;
	rep->status = BANK_OK;
	rep->balance = *balance;
}

/* Note that a reply went to pid, so that remove_orphans can look for it later. */
static void remember(pid_t pid)
{
	remembered[next_slot] = pid;
	next_slot = (next_slot + 1) % REMEMBERED;
}

static void print_stats(void)
{
	printf("bank-server: stats: %ld served, %ld orphans removed, %ld dropped\n", served,
	       orphans_removed, dropped);
}

/* Remove the replies still queued for remembered clients that have exited. */
static void remove_orphans(int msqid)
{
	/* TODO: for each remembered pid that is gone (kill: ESRCH), receive its replies */
	(void)msqid;
}

/* Send a reply without ever blocking: make room if the queue fills up, else drop it. */
static void send_reply(int msqid, struct bank_reply *rep)
{
	/* TODO: IPC_STAT; half full or more: remove_orphans; then msgsnd with IPC_NOWAIT */
	(void)msqid;
	(void)rep;
	(void)remove_orphans;
	(void)remember;
}

/* Serve requests until SIGINT or SIGTERM. */
static void serve(int msqid)
{
	/* TODO: loop: the flags; msgrcv a request (EINTR: go round); check, apply, reply */
	(void)msqid;
	(void)apply;
	(void)send_reply;
	(void)print_stats;
	(void)fail_removing;
	(void)stop_requested;
	(void)stats_requested;
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: bank-server\n");
		return 2;
	}
	/* Each line must reach a pipe or a file at once, not when a buffer fills. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Handlers first: a SIGTERM that came before them would kill us with the queue left. */
	install_handlers();
	int msqid = create_queue();
	printf("bank-server: serving on queue %d\n", msqid);
	serve(msqid);
	/* TODO: remove the queue (fail if that fails), print "bank-server: queue Q removed" */
	return 0;
}

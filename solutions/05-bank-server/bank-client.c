/*
 * bank-client: ask the bank server (bank-server, started in the same directory) for one thing.
 *
 *   usage: bank-client balance ACCOUNT
 *          bank-client deposit ACCOUNT AMOUNT
 *          bank-client withdraw ACCOUNT AMOUNT
 *
 * ACCOUNT and AMOUNT are decimal integers (a sign is allowed); the server checks their range.
 *
 * The client finds the server's queue with msgget(ftok(BANK_KEY_PATH, BANK_KEY_PROJ), 0), never
 * creating it; sends one request of type BANK_REQUEST carrying its own pid; and receives its
 * reply with msgtyp = its pid, so that it never takes another client's reply.
 *
 * stdout, one line, from the reply:
 *   account A: balance B                      BANK_OK            exit 0
 *   account A: insufficient funds, balance B  BANK_NO_FUNDS      exit 1
 *   account A: no such account                BANK_NO_ACCOUNT    exit 1
 *   account A: bad request                    BANK_BAD_REQUEST   exit 1
 * stderr, exit 3:
 *   bank-client: no server is running         (msgget: ENOENT)
 *   bank-client: the server went away         (msgsnd or msgrcv: EIDRM or EINVAL)
 *   bank-client: CALL: reason                 (any other failure)
 * Bad usage: the usage on stderr, exit 2.
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

#include "bank.h"

static const char usage[] = "usage: bank-client balance ACCOUNT | bank-client deposit ACCOUNT "
			    "AMOUNT | bank-client withdraw ACCOUNT AMOUNT\n";

static void fail(const char *what)
{
	fprintf(stderr, "bank-client: %s: %s\n", what, strerror(errno));
	exit(3);
}

/* The queue was removed under us: the server has ended. */
static void server_gone(void)
{
	fprintf(stderr, "bank-client: the server went away\n");
	exit(3);
}

/* A whole decimal integer that fits in a long; returns 0 on success. */
static int parse_number(const char *text, long *value)
{
	char *end;
	errno = 0;
	*value = strtol(text, &end, 10);
	return errno != 0 || end == text || *end != '\0' ? -1 : 0;
}

static void parse_args(int argc, char **argv, int *op, long *account, long *amount)
{
	*amount = 0;
	if (argc == 3 && strcmp(argv[1], "balance") == 0)
		*op = BANK_BALANCE;
	else if (argc == 4 && strcmp(argv[1], "deposit") == 0)
		*op = BANK_DEPOSIT;
	else if (argc == 4 && strcmp(argv[1], "withdraw") == 0)
		*op = BANK_WITHDRAW;
	else
		*op = 0;
	if (*op == 0 || parse_number(argv[2], account) != 0 ||
	    (argc == 4 && parse_number(argv[3], amount) != 0)) {
		fputs(usage, stderr);
		exit(2);
	}
}

/* The server's queue; exits 3 if there is none. */
static int find_server(void)
{
	//@ student: msgget(ftok(BANK_KEY_PATH, BANK_KEY_PROJ), 0); ENOENT: "no server is running"
	key_t key = ftok(BANK_KEY_PATH, BANK_KEY_PROJ);
	if (key == -1)
		fail("ftok");
	/* No IPC_CREAT: a queue we created would have no server behind it. */
	int msqid = msgget(key, 0);
	if (msqid == -1 && errno == ENOENT) {
		fprintf(stderr, "bank-client: no server is running\n");
		exit(3);
	}
	if (msqid == -1)
		fail("msgget");
	return msqid;
	//@ skeleton:
	//@ errno = ENOSYS;
	//@ fail("msgget");
	//@ return -1;
	//@ end
}

/* Send one request, with our pid for the reply's mtype. */
static void send_request(int msqid, int op, long account, long amount)
{
	//@ student: fill a struct bank_request (mtype BANK_REQUEST, pid, op, ...) and msgsnd it
	struct bank_request req;
	memset(&req, 0, sizeof req);
	req.mtype = BANK_REQUEST;
	req.pid = getpid();
	req.op = op;
	req.account = account;
	req.amount = amount;
	if (msgsnd(msqid, &req, BANK_REQUEST_SIZE, 0) == -1) {
		if (errno == EIDRM || errno == EINVAL)
			server_gone();
		fail("msgsnd");
	}
	//@ skeleton:
	//@ (void)msqid;
	//@ (void)op;
	//@ (void)account;
	//@ (void)amount;
	//@ (void)server_gone;
	//@ end
}

/* Wait for our own reply: the one whose mtype is our pid. */
static void receive_reply(int msqid, struct bank_reply *rep)
{
	//@ student: msgrcv with msgtyp = getpid(); EIDRM or EINVAL: server_gone()
	if (msgrcv(msqid, rep, BANK_REPLY_SIZE, getpid(), 0) == -1) {
		/* EIDRM: removed while we waited; EINVAL: removed before we started waiting. */
		if (errno == EIDRM || errno == EINVAL)
			server_gone();
		fail("msgrcv");
	}
	//@ skeleton:
	//@ (void)msqid;
	//@ (void)rep;
	//@ end
}

/* Print the reply's line; returns the exit status. */
static int print_reply(const struct bank_reply *rep)
{
	//@ student: print the line for rep->status (see the top of this file); return 0, 1 or 3
	switch (rep->status) {
	case BANK_OK:
		printf("account %ld: balance %ld\n", rep->account, rep->balance);
		return 0;
	case BANK_NO_FUNDS:
		printf("account %ld: insufficient funds, balance %ld\n", rep->account,
		       rep->balance);
		return 1;
	case BANK_NO_ACCOUNT:
		printf("account %ld: no such account\n", rep->account);
		return 1;
	case BANK_BAD_REQUEST:
		printf("account %ld: bad request\n", rep->account);
		return 1;
	default:
		fprintf(stderr, "bank-client: reply with unknown status %d\n", rep->status);
		return 3;
	}
	//@ skeleton:
	//@ (void)rep;
	//@ return 3;
	//@ end
}

int main(int argc, char **argv)
{
	int op;
	long account, amount;
	parse_args(argc, argv, &op, &account, &amount);
	int msqid = find_server();
	send_request(msqid, op, account, amount);
	struct bank_reply rep;
	receive_reply(msqid, &rep);
	return print_reply(&rep);
}

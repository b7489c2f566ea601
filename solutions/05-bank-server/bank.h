/*
 * bank.h: the protocol between bank-server and bank-client (lab 05). Both programs include it;
 * do not change it: the grader speaks this protocol too.
 *
 * One queue, created by the server with the key ftok(BANK_KEY_PATH, BANK_KEY_PROJ). A client
 * sends a struct bank_request of type BANK_REQUEST that carries its pid; the server answers
 * with a struct bank_reply whose mtype is that pid. Every client receives with msgtyp = its own
 * pid, so many clients share the queue and each gets exactly its own reply.
 */
#ifndef BANK_H
#define BANK_H

#include <sys/types.h>

/* "." is the working directory: a server and its clients started in one directory meet. */
#define BANK_KEY_PATH "."
#define BANK_KEY_PROJ 'B'

/* The mtype of every request. No reply may have it: replies carry pids, and pids are > 1. */
#define BANK_REQUEST 1L

#define BANK_ACCOUNTS	100	    /* accounts 0 to 99, each starting with a balance of 0 */
#define BANK_MAX_AMOUNT 1000000000L /* a deposit or withdrawal is 1 to BANK_MAX_AMOUNT */

/* Operations (bank_request.op). */
#define BANK_BALANCE  1
#define BANK_DEPOSIT  2
#define BANK_WITHDRAW 3

/* Outcomes (bank_reply.status). */
#define BANK_OK		 0 /* done; balance is the new balance */
#define BANK_NO_ACCOUNT	 1 /* the account is not 0 to BANK_ACCOUNTS - 1 */
#define BANK_NO_FUNDS	 2 /* a withdrawal above the balance; balance is the unchanged balance */
#define BANK_BAD_REQUEST 3 /* an unknown op, or an amount outside 1 to BANK_MAX_AMOUNT */

struct bank_request {
	long mtype;   /* BANK_REQUEST */
	pid_t pid;    /* the client's pid: its reply comes back with this mtype */
	int op;	      /* BANK_BALANCE, BANK_DEPOSIT or BANK_WITHDRAW */
	long account; /* 0 to BANK_ACCOUNTS - 1 */
	long amount;  /* deposit and withdraw: 1 to BANK_MAX_AMOUNT; balance: 0 */
};

struct bank_reply {
	long mtype;   /* the pid of the client that asked */
	int status;   /* BANK_OK, BANK_NO_ACCOUNT, BANK_NO_FUNDS or BANK_BAD_REQUEST */
	int op;	      /* the request's op, as received */
	long account; /* the request's account, as received */
	long balance; /* BANK_OK: the new balance; BANK_NO_FUNDS: the balance; otherwise 0 */
};

/* The msgsz of each message: the bytes after mtype (24 and 24 on Linux x86-64 and arm64). */
#define BANK_REQUEST_SIZE (sizeof(struct bank_request) - sizeof(long))
#define BANK_REPLY_SIZE	  (sizeof(struct bank_reply) - sizeof(long))

#endif

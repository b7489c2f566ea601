/*
 * The bank protocol as the grader speaks it: the reference's bank.h (one definition for both),
 * plus the layout the tests read back from the trace's bytes. The tool (tools/scenario.c) and the
 * tests (tests.c) include this.
 */
#ifndef BANK_WIRE_H
#define BANK_WIRE_H

#include <stddef.h>
#include <string.h>

#include "../../solutions/05-bank-server/bank.h"

/* The trace shows the bytes after mtype; these are their offsets (LP64, as the handout says). */
_Static_assert(BANK_REQUEST_SIZE == 24 && BANK_REPLY_SIZE == 24, "the handout's sizes");
_Static_assert(offsetof(struct bank_request, pid) == sizeof(long) &&
		   offsetof(struct bank_request, account) == sizeof(long) + 8 &&
		   offsetof(struct bank_reply, account) == sizeof(long) + 8,
	       "the layout the tests decode");

/* Decode the bytes after mtype (n of them; missing ones read as 0). */
static inline struct bank_request wire_request(const unsigned char *bytes, size_t n)
{
	struct bank_request req;
	unsigned char raw[BANK_REQUEST_SIZE] = {0};
	memcpy(raw, bytes, n < sizeof raw ? n : sizeof raw);
	memset(&req, 0, sizeof req);
	memcpy((char *)&req + sizeof(long), raw, sizeof raw);
	return req;
}

static inline struct bank_reply wire_reply(const unsigned char *bytes, size_t n)
{
	struct bank_reply rep;
	unsigned char raw[BANK_REPLY_SIZE] = {0};
	memcpy(raw, bytes, n < sizeof raw ? n : sizeof raw);
	memset(&rep, 0, sizeof rep);
	memcpy((char *)&rep + sizeof(long), raw, sizeof raw);
	return rep;
}

#endif

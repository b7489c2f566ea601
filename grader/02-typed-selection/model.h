/*
 * The order in which msgrcv(2) hands out queued messages for a given msgtyp,
 * as a model the lab 02 grader can trust: tests/kernel/model_vs_kernel.c
 * checks it against the running kernel.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>

/*
 * types[0..n-1] are the mtype values (each > 0) of n messages, in the order
 * they were sent to an empty queue. The queue is then drained by calling
 * msgrcv(..., msgtyp, IPC_NOWAIT | (except ? MSG_EXCEPT : 0)) until ENOMSG.
 *
 * Writes into order[] (room for n entries) the indices into types[] of the
 * messages in the order msgrcv returns them, and returns how many it returns:
 *   msgtyp == 0  every message, first in first out;
 *   msgtyp > 0   only type msgtyp (with except: every other type), FIFO;
 *   msgtyp < 0   the types <= |msgtyp|, lowest type first, FIFO within a
 *                type; except is ignored, as it is for msgtyp == 0.
 */
size_t model_receive_order(const long *types, size_t n, long msgtyp, int except, size_t *order);

#endif /* MODEL_H */

/*
 * How many messages of size bytes a queue still accepts, by the kernel's rule: a message fits
 * while msg_cbytes + size <= msg_qbytes AND msg_qnum + 1 <= msg_qbytes. The grader predicts
 * `nowait fill` with it; tests/kernel/facts_03.c checks it against the kernel.
 */
#ifndef MSGLAB_FILL_MODEL_H
#define MSGLAB_FILL_MODEL_H

long fill_prediction(long qbytes, long cbytes, long qnum, long size);

#endif

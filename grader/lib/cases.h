/*
 * Reproducible random cases for the labs' tests: every test draws its own sequence from the
 * run's seed (test_seed(), which the driver prints), so `make grade SEED=S` replays a run and
 * answers can never be hard-coded.
 */
#ifndef MSGLAB_CASES_H
#define MSGLAB_CASES_H

#include <stdint.h>

struct rng {
	uint64_t state;
};

/* A generator for this test; salt tells apart the sequences of one test. */
struct rng rng_for(unsigned salt);
uint64_t next_random(struct rng *g);
/* Uniform in [low, high]. */
long between(struct rng *g, long low, long high);
/* "seed S; replay with make grade LAB=NN TEST=name SEED=S", for failure messages. */
const char *replay(void);

#endif

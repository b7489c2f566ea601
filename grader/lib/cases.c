/* Reproducible random cases: see cases.h. */
#include "cases.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct rng rng_for(unsigned salt)
{
	return (struct rng){(uint64_t)test_seed() * 1000003u + salt};
}

/* splitmix64: the same sequence on every libc. */
uint64_t next_random(struct rng *g)
{
	uint64_t z = (g->state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

long between(struct rng *g, long low, long high)
{
	return low + (long)(next_random(g) % (uint64_t)(high - low + 1));
}

const char *replay(void)
{
	static char text[200];
	const char *lab = getenv("MSGLAB_LAB");
	snprintf(text, sizeof text, "seed %u; replay with make grade LAB=%.2s TEST=%s SEED=%u",
		 test_seed(), lab && *lab ? lab : "NN", criterion_current_test->name, test_seed());
	return text;
}

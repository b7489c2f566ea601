/*
 * The lab 02 selection model (grader/02-typed-selection/model.c) against the
 * running kernel: the grader judges students by the model, so the model must
 * say what msgrcv really does.
 *
 * The random batches are reproducible: MODEL_SEED=<n> in the environment
 * replaces the default base seed; a failure names the seed and the batch.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include <criterion/criterion.h>

#include "model.h"
#include "private_ipc.h"

#define BATCHES	      200
#define MAX_MESSAGES  40
#define MAX_TYPE      6
#define MAX_MSGTYP    7
#define DEFAULT_SEED  20261122UL
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Each message carries its index in the batch, so the order received can be compared. */
struct indexed_msg {
	long mtype;
	unsigned int index;
};

/* splitmix64: the same sequence on every libc, unlike rand(). */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static long random_between(uint64_t *state, long low, long high)
{
	return low + (long)(next_random(state) % (uint64_t)(high - low + 1));
}

static unsigned long base_seed(void)
{
	const char *text = getenv("MODEL_SEED");
	unsigned long seed;
	char *end;

	if (text == NULL || *text == '\0')
		return DEFAULT_SEED;
	errno = 0;
	seed = strtoul(text, &end, 0);
	cr_assert(errno == 0 && *end == '\0', "MODEL_SEED=\"%s\" is not a number", text);
	return seed;
}

/* "a b c" for failure messages; truncates quietly, it is only for people. */
static void format_longs(char *buf, size_t len, const long *values, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%ld", i ? " " : "", values[i]);

		if (w < 0)
			return;
		used += (size_t)w;
	}
}

static void format_sizes(char *buf, size_t len, const size_t *values, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%zu", i ? " " : "", values[i]);

		if (w < 0)
			return;
		used += (size_t)w;
	}
}

/*
 * Send the batch to a new queue, drain it as the model describes, and assert
 * that the kernel's order is the model's. context names the batch in messages.
 */
static void check_batch(const long *types, size_t n, long msgtyp, int except, const char *context)
{
	size_t kernel[MAX_MESSAGES], model[MAX_MESSAGES];
	size_t got = 0, expected;
	char types_text[MAX_MESSAGES * 24], kernel_text[MAX_MESSAGES * 4],
	    model_text[MAX_MESSAGES * 4];
	int flags = IPC_NOWAIT | (except ? MSG_EXCEPT : 0);
	int id;

	cr_assert(n <= MAX_MESSAGES, "%s: batch too large", context);
	id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	cr_assert(id >= 0, "%s: msgget: %s", context, strerror(errno));
	for (size_t i = 0; i < n; i++) {
		struct indexed_msg m = {.mtype = types[i], .index = (unsigned int)i};

		cr_assert(msgsnd(id, &m, sizeof(m.index), IPC_NOWAIT) == 0, "%s: msgsnd #%zu: %s",
			  context, i, strerror(errno));
	}
	for (;;) {
		struct indexed_msg m;
		ssize_t r = msgrcv(id, &m, sizeof(m.index), msgtyp, flags);

		if (r < 0) {
			cr_assert(errno == ENOMSG, "%s: msgrcv: %s", context, strerror(errno));
			break;
		}
		cr_assert(r == (ssize_t)sizeof(m.index), "%s: msgrcv returned %zd", context, r);
		cr_assert(m.index < n && types[m.index] == m.mtype && got < n,
			  "%s: msgrcv returned a message that was not sent", context);
		kernel[got++] = m.index;
	}
	cr_assert(msgctl(id, IPC_RMID, NULL) == 0, "%s: IPC_RMID: %s", context, strerror(errno));

	expected = model_receive_order(types, n, msgtyp, except, model);
	format_longs(types_text, sizeof(types_text), types, n);
	format_sizes(kernel_text, sizeof(kernel_text), kernel, got);
	format_sizes(model_text, sizeof(model_text), model, expected);
	cr_assert(got == expected && memcmp(kernel, model, got * sizeof(kernel[0])) == 0,
		  "%s: types [%s], msgtyp %ld%s: kernel order [%s], model order [%s]", context,
		  types_text, msgtyp, except ? " with MSG_EXCEPT" : "", kernel_text, model_text);
}

/* The model reproduces the worked examples of the handout (kernel-facts.md). */
Test(model, handout_examples, .init = private_ipc_init, .timeout = 10)
{
	static const long types[] = {3, 1, 2, 1, 3, 2, 5};
	static const struct {
		long msgtyp;
		int except;
		size_t count;
		size_t order[7];
	} cases[] = {
	    {0, 0, 7, {0, 1, 2, 3, 4, 5, 6}},
	    {0, 1, 7, {0, 1, 2, 3, 4, 5, 6}},
	    {2, 0, 2, {2, 5}},
	    {2, 1, 5, {0, 1, 3, 4, 6}},
	    {4, 0, 0, {0}},
	    {-2, 0, 4, {1, 3, 2, 5}},
	    {-3, 0, 6, {1, 3, 2, 5, 0, 4}},
	    {-3, 1, 6, {1, 3, 2, 5, 0, 4}},
	    {-5, 0, 7, {1, 3, 2, 5, 0, 4, 6}},
	};
	size_t n = ARRAY_SIZE(types);

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		size_t order[7];
		size_t got = model_receive_order(types, n, cases[c].msgtyp, cases[c].except, order);

		cr_assert(got == cases[c].count, "msgtyp %ld except %d: %zu messages, expected %zu",
			  cases[c].msgtyp, cases[c].except, got, cases[c].count);
		cr_assert(memcmp(order, cases[c].order, got * sizeof(order[0])) == 0,
			  "msgtyp %ld except %d: wrong order", cases[c].msgtyp, cases[c].except);
	}
	cr_assert(model_receive_order(NULL, 0, -3, 0, NULL) == 0, "an empty batch yields nothing");
}

/* On random batches the kernel returns exactly the messages the model names, in its order. */
Test(model, matches_kernel_random, .init = private_ipc_init, .timeout = 10)
{
	unsigned long seed = base_seed();

	for (int batch = 0; batch < BATCHES; batch++) {
		uint64_t state = seed + (uint64_t)batch;
		long types[MAX_MESSAGES];
		size_t n = (size_t)random_between(&state, 1, MAX_MESSAGES);
		long msgtyp;
		int except;
		char context[96];

		for (size_t i = 0; i < n; i++)
			types[i] = random_between(&state, 1, MAX_TYPE);
		msgtyp = random_between(&state, -MAX_MSGTYP, MAX_MSGTYP);
		except = (int)random_between(&state, 0, 1);
		snprintf(context, sizeof(context), "MODEL_SEED=%lu batch %d", seed, batch);
		check_batch(types, n, msgtyp, except, context);
	}
}

/* The extremes of msgtyp, including LONG_MIN whose negation overflows, follow the model too. */
Test(model, matches_kernel_extreme_msgtyp, .init = private_ipc_init, .timeout = 10)
{
	static const long types[] = {LONG_MAX, 1, LONG_MAX - 1, 1, LONG_MAX, 2};
	static const long msgtyps[] = {LONG_MIN, -LONG_MAX, -(LONG_MAX - 1), LONG_MAX, 1, -1};
	size_t n = ARRAY_SIZE(types);

	for (size_t i = 0; i < ARRAY_SIZE(msgtyps); i++) {
		for (int except = 0; except <= 1; except++) {
			char context[64];

			snprintf(context, sizeof(context), "msgtyp case %zu", i);
			check_batch(types, n, msgtyps[i], except, context);
		}
	}
}

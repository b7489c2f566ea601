#include <limits.h>

#include "model.h"

/*
 * Receive with msgtyp < 0: the kernel repeatedly takes the first message
 * whose type is the lowest one not above limit, which amounts to a stable
 * sort by type of the messages with type <= limit. Emitting one type at a
 * time, in increasing order, gives that order without any scratch memory.
 */
static size_t lowest_first(const long *types, size_t n, long limit, size_t *order)
{
	size_t count = 0;
	int have_prev = 0;
	long prev = 0;

	for (;;) {
		int found = 0;
		long next = 0;
		size_t i;

		for (i = 0; i < n; i++) {
			long t = types[i];

			if (t > limit || (have_prev && t <= prev))
				continue;
			if (!found || t < next) {
				next = t;
				found = 1;
			}
		}
		if (!found)
			return count;
		for (i = 0; i < n; i++) {
			if (types[i] == next)
				order[count++] = i;
		}
		prev = next;
		have_prev = 1;
	}
}

size_t model_receive_order(const long *types, size_t n, long msgtyp, int except, size_t *order)
{
	size_t count = 0;
	size_t i;

	if (msgtyp < 0) {
		/* The kernel turns LONG_MIN, whose negation overflows, into LONG_MAX. */
		long limit = msgtyp == LONG_MIN ? LONG_MAX : -msgtyp;

		return lowest_first(types, n, limit, order);
	}
	for (i = 0; i < n; i++) {
		int match;

		if (msgtyp == 0)
			match = 1;
		else if (except)
			match = types[i] != msgtyp;
		else
			match = types[i] == msgtyp;
		if (match)
			order[count++] = i;
	}
	return count;
}

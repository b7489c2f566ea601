/* The kernel's fill rule: see fill_model.h. */
#include "fill_model.h"

long fill_prediction(long qbytes, long cbytes, long qnum, long size)
{
	long n = 0;
	/* One message at a time, as the kernel admits them. */
	while (cbytes + size <= qbytes && qnum + 1 <= qbytes) {
		cbytes += size;
		qnum++;
		n++;
	}
	return n;
}

/*
 * Attack 23 (fork bomb): every process forks for ever. As the machine's root, with no process
 * limit, this would take the machine down, so then it only prints the battery's root tell-tale
 * (which the battery looks for) and stops; each process also dies after 120 s on its own, a
 * backstop so that the battery never leaves it running. The grader must contain it (a process
 * limit per run), kill every process when the run ends, survive, and give 0.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

/* Root of the machine itself, not of a user namespace of its own (where root is harmless)? */
static int host_root(void)
{
	if (geteuid() != 0)
		return 0;
	FILE *f = fopen("/proc/self/uid_map", "r");
	unsigned inside, outside, count;
	int mapped = f && fscanf(f, "%u %u %u", &inside, &outside, &count) == 3 && outside != 0;
	if (f)
		fclose(f);
	return !mapped;
}

int main(void)
{
	if (host_root()) {
		printf("HOSTILE-RAN-AS-%s: no fork bomb as root\n", "ROOT");
		return 1;
	}
	alarm(120);
	for (;;)
		if (fork() == 0)
			alarm(120);
}

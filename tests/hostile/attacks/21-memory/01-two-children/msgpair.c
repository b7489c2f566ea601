/*
 * Attack 21 (memory exhaustion): the program and three children allocate memory and touch
 * every page, 64 MiB at a time, then wait to be killed. So that the battery cannot take down
 * the machine it runs on while the grader is weak, each stops at 1.5 GiB (6 GiB in all); a
 * grader with a memory limit per run stops it far earlier. The grader must survive (no grader
 * error, every test reported) and give 0.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STEP	((size_t)64 << 20)
#define CEILING ((size_t)1536 << 20)

static void hog(void)
{
	for (size_t total = 0; total < CEILING; total += STEP) {
		char *p = malloc(STEP);
		if (!p)
			break;
		memset(p, 0x5a, STEP);
	}
	time_t end = time(NULL) + 120; /* a backstop: never outlive the battery */
	while (time(NULL) < end)
		sleep(1);
	_exit(0);
}

int main(void)
{
	for (int i = 0; i < 3; i++)
		if (fork() == 0)
			hog();
	hog();
}

/*
 * Attack 25 (CPU loop): four processes (the program forks twice) ignore every signal they can
 * (SIGTERM, SIGINT, SIGHUP, SIGXCPU, ...) and spin. Only SIGKILL stops them; they give up by
 * themselves after 120 s (a backstop). The grader must end the run at its timeout with SIGKILL,
 * report a TIMEOUT, leave no process behind, and give 0.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_IGN);
	fork();
	fork();
	time_t end = time(NULL) + 120;
	volatile unsigned long spin = 0;
	while (time(NULL) < end)
		for (int i = 0; i < 1000000; i++)
			spin++;
	return 1;
}

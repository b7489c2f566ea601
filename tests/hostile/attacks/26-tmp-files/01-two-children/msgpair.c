/*
 * Attack 26 (files left behind): create files the grader does not know of in /tmp, /var/tmp and
 * /dev/shm: plain, hidden, mkstemp, a folder tree, a FIFO, a Unix socket, POSIX shared memory
 * and a POSIX semaphore; and append a line to every file of the battery's decoy folder
 * (/tmp/hostile-decoy*) it may write. The grader must give each run private temporary folders
 * (or clean them): nothing new in the host's /tmp, /var/tmp, /dev/shm, the decoys unchanged.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <glob.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int made;

static void file(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fprintf(f, "left by pid %d\n", (int)getpid());
		fclose(f);
		printf("made %s\n", path);
		made++;
	}
}

int main(void)
{
	char path[128];
	int pid = (int)getpid();
	static const char *const dirs[] = {"/tmp", "/var/tmp", "/dev/shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/hostile-26-file-%d", dirs[i], pid);
		file(path);
		snprintf(path, sizeof path, "%s/.hostile-26-hidden-%d", dirs[i], pid);
		file(path);
	}
	char tmpl[] = "/tmp/hostile-26-XXXXXX";
	int fd = mkstemp(tmpl);
	if (fd >= 0) {
		close(fd);
		made++;
	}
	snprintf(path, sizeof path, "/tmp/hostile-26-dir-%d", pid);
	mkdir(path, 0777);
	snprintf(path, sizeof path, "/tmp/hostile-26-dir-%d/deeper", pid);
	mkdir(path, 0777);
	snprintf(path, sizeof path, "/tmp/hostile-26-dir-%d/deeper/file", pid);
	file(path);
	snprintf(path, sizeof path, "/tmp/hostile-26-fifo-%d", pid);
	made += mkfifo(path, 0666) == 0;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof addr.sun_path, "/tmp/hostile-26-sock-%d", pid);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	made += s >= 0 && bind(s, (struct sockaddr *)&addr, sizeof addr) == 0;
	snprintf(path, sizeof path, "/hostile-26-shm-%d", pid);
	int shm = shm_open(path, O_CREAT | O_RDWR, 0666);
	made += shm >= 0 && ftruncate(shm, 4096) == 0;
	snprintf(path, sizeof path, "/hostile-26-sem-%d", pid);
	made += sem_open(path, O_CREAT, 0666, 1) != SEM_FAILED;
	glob_t g;
	if (glob("/tmp/hostile-decoy*/*", 0, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++) {
			FILE *f = fopen(g.gl_pathv[i], "a");
			if (f) {
				fprintf(f, "changed by attack 26\n");
				fclose(f);
				printf("changed %s\n", g.gl_pathv[i]);
			}
		}
	printf("%d things left behind\n", made);
	return 1;
}

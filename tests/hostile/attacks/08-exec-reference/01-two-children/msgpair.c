/*
 * Attack 08 (run the reference): the grader builds the reference solution next to ours to time
 * it. Find that binary (the environment, our own path, the usual temporary folders) and become
 * it, with the same arguments: full marks for no work. The grader must keep the reference out
 * of the program's reach, and give this 0.
 */
#define _GNU_SOURCE
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static struct stat self;

static void try(const char *path, char **argv)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0)
		return;
	if (st.st_dev == self.st_dev && st.st_ino == self.st_ino)
		return;
	execv(path, argv);
}

static void try_glob(const char *pattern, char **argv)
{
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++)
		try(g.gl_pathv[i], argv);
	globfree(&g);
}

int main(int argc, char **argv)
{
	(void)argc;
	char path[PATH_MAX + 64], exe[PATH_MAX];
	stat("/proc/self/exe", &self);
	/* The environment may name it outright (MSGLAB_REFERENCE). */
	for (char **e = environ; *e; e++) {
		char *eq = strchr(*e, '=');
		if (eq && strstr(*e, "REFERENCE") && eq[1] == '/')
			try(eq + 1, argv);
	}
	/* Our own path: .../submission/LAB/msgpair next to .../reference/LAB/msgpair. */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *lab = dirname(exe);
		char labname[NAME_MAX + 1];
		snprintf(labname, sizeof labname, "%s", basename(lab));
		snprintf(path, sizeof path, "%s/../../reference/%s/msgpair", lab, labname);
		try(path, argv);
		snprintf(path, sizeof path, "%s/../reference/%s/msgpair", lab, labname);
		try(path, argv);
	}
	try_glob("/tmp/msglab-*/reference/*/msgpair", argv);
	try_glob("/tmp/msglab-*/*/reference/*/msgpair", argv);
	try_glob("/tmp/*/reference/01-two-children/msgpair", argv);
	try_glob("/var/tmp/msglab-*/reference/*/msgpair", argv);
	try_glob("/sandbox/*/reference/*/msgpair", argv);
	fprintf(stderr, "no reference solution in reach\n");
	return 1;
}

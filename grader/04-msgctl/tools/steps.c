/*
 * steps: run several commands one after the other in one sandbox (so that they share its
 * queues), keep each one's exit status and output apart, then look at queues with MSG_STAT_ANY
 * (which needs no read permission) to see what the commands did to them.
 *
 *   usage: steps [-x ID]... [-q ID]... PROGRAM < COMMANDS
 *
 * Each line of standard input is one run of PROGRAM, its arguments separated by single spaces
 * (an empty line runs it without arguments). Standard input, not the command line, because the
 * sandbox passes at most a few dozen arguments.
 *
 * The tests cannot know a queue's id when they write the commands (the set-up creates the queue
 * later, in the sandbox), so an ID, here or in an argument, may be written =KEY (hex) for the id
 * of the queue with that key, or =KEY+N for that id plus N. They are looked up before anything
 * runs. -x ID removes that queue first (its id stays in the commands: a stale id).
 *
 * Output, for each command K (1, 2, ...):
 *   @@ run K pid P
 *   @@ exit N            or  @@ signal S
 *   @@ stdout LEN        then exactly LEN bytes and a newline
 *   @@ stderr LEN        then exactly LEN bytes and a newline
 * then for each -q ID:
 *   @@ queue ID uid=U gid=G cuid=U cgid=G mode=0MMM qnum=N cbytes=N qbytes=N lspid=P lrpid=P
 *      stime=T rtime=T ctime=T            (one line)  or  @@ queue ID absent
 *
 * The sandbox records every process's calls; the tests drop this process's own (run_spec's
 * untraced_main), so that the record holds the commands' calls only. Exit status 0, or 3 when
 * this tool itself fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "../queues.h"

#define MAX_QUEUES   16
#define MAX_WORDS    32
#define MAX_COMMANDS 64

static void fail(const char *what)
{
	fprintf(stderr, "steps: %s: %s\n", what, strerror(errno));
	exit(3);
}

/* "=KEY" or "=KEY+N" as the decimal id it stands for (malloc'd); anything else as it is. */
static char *resolve(const char *arg)
{
	if (arg[0] != '=')
		return strdup(arg);
	char *end;
	unsigned long key = strtoul(arg + 1, &end, 16);
	long plus = *end == '+' ? strtol(end + 1, &end, 10) : 0;
	int id = msgget((key_t)key, 0);
	if (*end != '\0' || id < 0) {
		fprintf(stderr, "steps: no queue for %s: %s\n", arg, strerror(errno));
		exit(3);
	}
	char *text;
	if (asprintf(&text, "%ld", id + plus) < 0)
		fail("asprintf");
	return text;
}

/* Print the whole content of fd framed as "@@ NAME LEN\n" + bytes + "\n". */
static void dump(const char *name, int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		fail("fstat");
	printf("@@ %s %lld\n", name, (long long)st.st_size);
	char buf[65536];
	off_t off = 0;
	ssize_t n;
	while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			fail("write");
		off += n;
	}
	if (n < 0)
		fail("pread");
	putchar('\n');
	if (close(fd) != 0)
		fail("close");
}

static void run(int number, char **argv)
{
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = memfd_create("stdout", MFD_CLOEXEC);
	int err = memfd_create("stderr", MFD_CLOEXEC);
	if (in < 0 || out < 0 || err < 0)
		fail("open");
	if (fflush(stdout) != 0)
		fail("fflush");
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
		    dup2(err, STDERR_FILENO) < 0)
			_exit(126);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "steps: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (close(in) != 0)
		fail("close");
	printf("@@ run %d pid %d\n", number, (int)pid);
	int status;
	while (waitpid(pid, &status, 0) != pid)
		if (errno != EINTR)
			fail("waitpid");
	if (WIFEXITED(status))
		printf("@@ exit %d\n", WEXITSTATUS(status));
	else
		printf("@@ signal %d\n", WTERMSIG(status));
	dump("stdout", out);
	dump("stderr", err);
}

static void describe(int id)
{
	struct msqid_ds ds;
	int index;
	int found = queues_find(id, &ds, &index);
	if (found < 0)
		fail("MSG_STAT_ANY");
	if (!found) {
		printf("@@ queue %d absent\n", id);
		return;
	}
	printf("@@ queue %d uid=%u gid=%u cuid=%u cgid=%u mode=%04o qnum=%lu cbytes=%lu qbytes=%lu "
	       "lspid=%d lrpid=%d stime=%lld rtime=%lld ctime=%lld\n",
	       id, (unsigned)ds.msg_perm.uid, (unsigned)ds.msg_perm.gid, (unsigned)ds.msg_perm.cuid,
	       (unsigned)ds.msg_perm.cgid, (unsigned)ds.msg_perm.mode & 0777,
	       (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_cbytes,
	       (unsigned long)ds.msg_qbytes, (int)ds.msg_lspid, (int)ds.msg_lrpid,
	       (long long)ds.msg_stime, (long long)ds.msg_rtime, (long long)ds.msg_ctime);
}

int main(int argc, char **argv)
{
	for (int k = 1; k < argc; k++)
		argv[k] = resolve(argv[k]); /* never freed: they live as long as the process */
	int ids[MAX_QUEUES], nids = 0, i = 1;
	while (i + 1 < argc && nids < MAX_QUEUES &&
	       (!strcmp(argv[i], "-q") || !strcmp(argv[i], "-x"))) {
		if (!strcmp(argv[i], "-q"))
			ids[nids++] = atoi(argv[i + 1]);
		i += 2;
	}
	if (i != argc - 1) {
		fputs("usage: steps [-x ID]... [-q ID]... PROGRAM < COMMANDS\n", stderr);
		return 3;
	}
	/* Every =KEY is looked up before -x removes anything. */
	static char *commands[MAX_COMMANDS][MAX_WORDS + 2];
	int ncommands = 0;
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	while ((len = getline(&line, &size, stdin)) != -1) {
		if (ncommands == MAX_COMMANDS) {
			fputs("steps: too many commands\n", stderr);
			return 3;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		char **words = commands[ncommands++];
		int n = 0;
		words[n++] = argv[i];
		for (char *save, *w = strtok_r(line, " ", &save); w && n <= MAX_WORDS;
		     w = strtok_r(NULL, " ", &save))
			words[n++] = resolve(w);
		words[n] = NULL;
	}
	if (ferror(stdin))
		fail("read the commands");
	free(line);
	for (int k = 1; k + 1 < i; k += 2)
		if (!strcmp(argv[k], "-x") && msgctl(atoi(argv[k + 1]), IPC_RMID, NULL) != 0)
			fail("IPC_RMID");
	for (int k = 0; k < ncommands; k++)
		run(k + 1, commands[k]);
	for (int k = 0; k < nids; k++)
		describe(ids[k]);
	if (fflush(stdout) != 0)
		fail("write");
	return 0;
}

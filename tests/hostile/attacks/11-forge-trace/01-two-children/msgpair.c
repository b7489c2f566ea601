/*
 * Attack 11 (forge the call record): do none of the work, print the expected stdout, and write
 * the record of a perfect run: in libmsgtrace's format ("call=...") to $MSGTRACE_FD and fd 1000,
 * and in strace's format to every other descriptor we hold and every /proc/PID/fd/N we can open
 * for writing (not our own stdout and stderr), in case the tracer reads from one of those.
 * Children that never existed send and receive; a queue that never existed is removed. When
 * msgget would fail (tried with a raw system call, which nothing records), the record says so.
 * The grader must take its call record from outside the program (nothing it can write to)
 * and must not give points for stdout the program printed without doing the work: 0 points.
 * (Run as the machine's root, it writes to no other process and prints the battery's root
 * tell-tale.)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_SINKS 256

static int sinks[MAX_SINKS], nsinks;
static long long clock_us;

static long long tick(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	clock_us = now > clock_us ? now : clock_us + 1;
	return clock_us;
}

/* Root of the machine itself, not of a user namespace of its own (where root is harmless)? */
static int host_root(void)
{
	if (geteuid() != 0)
		return 0;
	FILE *f = fopen("/proc/self/uid_map", "r");
	unsigned inside, outside, count;
	int mapped = f && fscanf(f, "%u %u %u", &inside, &outside, &count) == 3 && outside != 0;
	if (f)
		fclose(f);
	return !mapped;
}

static int same_file(int fd, const struct stat *st)
{
	struct stat o;
	return fstat(fd, &o) == 0 && o.st_dev == st->st_dev && o.st_ino == st->st_ino;
}

static void add_sink(int fd)
{
	struct stat st;
	if (fd < 0 || nsinks == MAX_SINKS || fstat(fd, &st) != 0 || same_file(1, &st) ||
	    same_file(2, &st))
		return;
	for (int i = 0; i < nsinks; i++)
		if (same_file(sinks[i], &st))
			return;
	sinks[nsinks++] = fd;
}

/* Every descriptor we hold, and every one of any process we can open for writing. */
static void find_sinks(void)
{
	const char *env = getenv("MSGTRACE_FD");
	if (env)
		add_sink(atoi(env));
	add_sink(1000);
	/* Never scatter lines over a machine we were let loose on as root: say so instead. */
	if (host_root()) {
		fprintf(stderr, "HOSTILE-RAN-AS-%s: the program runs as root\n", "ROOT");
		return;
	}
	for (int fd = 3; fd < 1024; fd++)
		add_sink(fd);
	DIR *proc = opendir("/proc");
	struct dirent *p;
	while (proc && (p = readdir(proc)) != NULL) {
		char dir[64];
		snprintf(dir, sizeof dir, "/proc/%.20s/fd", p->d_name);
		DIR *fds = opendir(dir);
		struct dirent *f;
		while (fds && (f = readdir(fds)) != NULL) {
			char path[128];
			snprintf(path, sizeof path, "%s/%.20s", dir, f->d_name);
			int fd = open(path, O_WRONLY | O_NONBLOCK | O_APPEND | O_CLOEXEC);
			int before = nsinks;
			add_sink(fd);
			if (nsinks == before && fd >= 0)
				close(fd);
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
}

static void emit(const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n <= 0 || n >= (int)sizeof line)
		return;
	for (int i = 0; i < nsinks; i++)
		if (write(sinks[i], line, (size_t)n) < 0)
			continue;
}

static void hex(char *out, const char *s, size_t n, int strace)
{
	for (size_t i = 0; i < n; i++)
		out += sprintf(out, strace ? "\\x%02x" : "%02x", (unsigned char)s[i]);
	*out = '\0';
}

static int main_pid, parent_pid;

static void call_get(unsigned key, long ret, int err)
{
	long long t = tick();
	emit("call=msgget pid=%d ppid=%d t_us=%lld dur_us=3 key=0x%08x flags=0x380 ret=%ld "
	     "errno=%d\n",
	     main_pid, parent_pid, t, key, ret, err);
	emit("%d  %lld.%06lld msgget(%#x, 0x200|0600) = %ld%s <0.000003>\n", main_pid, t / 1000000,
	     t % 1000000, key, ret, ret < 0 ? " ENOSPC (No space left on device)" : "");
}

static void call_msg(const char *call, int pid, long mtype, const char *text, size_t len)
{
	static char data[4 * 1024 + 1], sdata[4 * 1024 + 1];
	long long t = tick();
	hex(data, text, len, 0);
	hex(sdata, text, len, 1);
	if (!strcmp(call, "msgsnd")) {
		emit("call=msgsnd pid=%d ppid=%d t_us=%lld dur_us=4 msqid=0 msgsz=%zu flags=0x0 "
		     "mtype=%ld datalen=%zu data=%s ret=0 errno=0\n",
		     pid, main_pid, t, len, mtype, len, data);
		emit(
		    "%d  %lld.%06lld msgsnd(0, {mtype=%ld, mtext=\"%s\"}, %zu, 0) = 0 <0.000004>\n",
		    pid, t / 1000000, t % 1000000, mtype, sdata, len);
	} else {
		emit("call=msgrcv pid=%d ppid=%d t_us=%lld dur_us=9 msqid=0 msgsz=512 msgtyp=0 "
		     "flags=0x0 mtype=%ld datalen=%zu data=%s ret=%zu errno=0\n",
		     pid, main_pid, t, mtype, len, data, len);
		emit("%d  %lld.%06lld msgrcv(0, {mtype=%ld, mtext=\"%s\"}, 512, 0, 0) = %zu "
		     "<0.000009>\n",
		     pid, t / 1000000, t % 1000000, mtype, sdata, len);
	}
}

static void call_simple(const char *call, int pid, int ppid, const char *strace_call, long ret)
{
	long long t = tick();
	emit("call=%s pid=%d ppid=%d t_us=%lld dur_us=5 msqid=0 cmd=0 ret=%ld errno=0\n", call, pid,
	     ppid, t, ret);
	emit("%d  %lld.%06lld %s = %ld <0.000005>\n", pid, t / 1000000, t % 1000000, strace_call,
	     ret);
}

int main(int argc, char **argv)
{
	const char *keypath = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "k:")) != -1)
		if (opt == 'k')
			keypath = optarg;
	main_pid = getpid();
	parent_pid = getppid();
	int sender = main_pid + 1, receiver = main_pid + 2;
	key_t key = IPC_PRIVATE;
	if (keypath && (key = ftok(keypath, 'M')) == -1) {
		perror("ftok");
		return 1;
	}
	find_sinks();
	/* Would msgget work? Ask the kernel directly: no library sees this. */
	long q = syscall(SYS_msgget, IPC_PRIVATE, IPC_CREAT | 0600);
	if (q == -1) {
		int err = errno;
		call_get((unsigned)key, -1, err);
		fprintf(stderr, "msgget: %s\n", strerror(err));
		return 1;
	}
	syscall(SYS_msgctl, q, IPC_RMID, NULL);
	call_get((unsigned)key, 0, 0);
	call_simple("fork", main_pid, parent_pid, "clone(child_stack=NULL, flags=0x1200000|17)",
		    sender);
	call_simple("fork", main_pid, parent_pid, "clone(child_stack=NULL, flags=0x1200000|17)",
		    receiver);
	printf("queue 0 created\n");
	for (int i = optind; i < argc; i++)
		call_msg("msgsnd", sender, 1, argv[i], strlen(argv[i]));
	call_msg("msgsnd", sender, 2, "", 0);
	call_simple("exit", sender, main_pid, "exit_group(0)", 0);
	for (int i = optind; i < argc; i++) {
		call_msg("msgrcv", receiver, 1, argv[i], strlen(argv[i]));
		printf("received: %s\n", argv[i]);
	}
	call_msg("msgrcv", receiver, 2, "", 0);
	call_simple("exit", receiver, main_pid, "exit_group(0)", 0);
	call_simple("wait", main_pid, parent_pid, "wait4(-1, NULL, 0, NULL)", sender);
	call_simple("wait", main_pid, parent_pid, "wait4(-1, NULL, 0, NULL)", receiver);
	call_simple("msgctl", main_pid, parent_pid, "msgctl(0, 0, NULL)", 0);
	printf("queue 0 removed\n");
	return 0;
}

/*
 * What a run left behind, read from /proc when its main process has exited: the processes still
 * there (with the call each is blocked in) and the queues of /proc/sysvipc/msg; and killing
 * what is left. Inside the sandbox's PID and IPC namespaces everything there is the run's;
 * in the fallback mode only our descendants and the queues the run's users created are.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/syscall.h>

#include "sandbox.h"

static const char *syscall_name(long nr)
{
	switch (nr) {
	case SYS_msgrcv:
		return "msgrcv";
	case SYS_msgsnd:
		return "msgsnd";
	case SYS_wait4:
		return "wait";
	case SYS_waitid:
		return "waitid";
	case SYS_read:
		return "read";
	case SYS_write:
		return "write";
	case SYS_nanosleep:
		return "nanosleep";
	case SYS_clock_nanosleep:
		return "sleep";
	case SYS_rt_sigsuspend:
		return "sigsuspend";
#ifdef SYS_pause /* not on every architecture */
	case SYS_pause:
		return "pause";
#endif
	default:
		return NULL;
	}
}

static void read_proc(int pid, struct lingering *p)
{
	char path[64], buf[512];
	p->pid = pid;
	p->ppid = 0;
	p->state = '?';
	snprintf(p->comm, sizeof p->comm, "?");
	snprintf(p->syscall, sizeof p->syscall, "-");
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (f) {
		/* comm may hold spaces and parentheses: it ends at the last ')'. */
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = '\0';
		fclose(f);
		char *open = strchr(buf, '('), *close = strrchr(buf, ')');
		if (open && close && close > open) {
			int len = (int)(close - open - 1);
			snprintf(p->comm, sizeof p->comm, "%.*s", len, open + 1);
			for (char *c = p->comm; *c; c++)
				if (isspace((unsigned char)*c) || !isprint((unsigned char)*c))
					*c = '_';
			if (sscanf(close + 1, " %c %d", &p->state, &p->ppid) != 2)
				p->state = '?';
		}
	}
	snprintf(path, sizeof path, "/proc/%d/syscall", pid);
	f = fopen(path, "re");
	if (f) {
		long nr;
		if (fscanf(f, "%ld", &nr) == 1) {
			const char *name = syscall_name(nr);
			if (name)
				snprintf(p->syscall, sizeof p->syscall, "%s", name);
			else
				snprintf(p->syscall, sizeof p->syscall, "%ld", nr);
		}
		fclose(f);
	}
}

char proc_state(pid_t pid)
{
	struct lingering p;
	read_proc((int)pid, &p);
	return p.state;
}

/* The pid that ptrace-attached to pid (TracerPid in its status), 0 if none. */
int tracer_of(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	int tracer = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	fclose(f);
	return tracer;
}

/* Is pid a descendant of ancestor? Only used in fallback mode, where /proc is the host's. */
static bool descends_from(int pid, int ancestor)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		struct lingering p;
		read_proc(pid, &p);
		if (p.ppid == ancestor)
			return true;
		pid = p.ppid;
	}
	return false;
}

static bool skipped(int pid, const pid_t *skip)
{
	for (; skip && *skip; skip++)
		if (*skip == pid)
			return true;
	return false;
}

void list_processes(pid_t self, const pid_t *skip, bool namespaces, struct lingerings *out)
{
	DIR *d = opendir("/proc");
	if (!d)
		die("opendir /proc: %s", strerror(errno));
	out->n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && out->n < MAX_PROCS) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int pid = atoi(e->d_name);
		if (pid == self || skipped(pid, skip))
			continue;
		if (!namespaces && !descends_from(pid, self))
			continue;
		read_proc(pid, &out->p[out->n++]);
	}
	closedir(d);
}

void kill_run(pid_t self, pid_t main_pid, const pid_t *skip, bool namespaces)
{
	/* Best effort: a process may be gone by the time we signal it. */
	if (main_pid > 0 && !namespaces)
		kill(-main_pid, SIGKILL);
	/* Rounds, for processes forked while we were killing their parents. */
	for (int round = 0; round < 50; round++) {
		struct lingerings scratch;
		list_processes(self, skip, namespaces, &scratch);
		int alive = 0;
		for (int i = 0; i < scratch.n; i++)
			if (scratch.p[i].state != 'Z') {
				kill(scratch.p[i].pid, SIGKILL);
				alive++;
			}
		if (!alive)
			return;
		usleep(1000);
	}
}

/*
 * The queues of /proc/sysvipc/msg (of our IPC namespace). Without namespaces, only those created
 * by the run's users and not in `before`: the run's leaks. With `out`, each is reported there
 * (and, without namespaces, removed).
 */
void list_queues(const struct options *o, bool namespaces, const struct queue_list *before,
		 struct queue_list *found, FILE *out)
{
	FILE *f = fopen("/proc/sysvipc/msg", "re");
	if (!f)
		die("open /proc/sysvipc/msg: %s", strerror(errno));
	char line[512];
	long key, msqid, cbytes, qnum, lspid, lrpid, uid, gid, cuid;
	unsigned long perms;
	found->n = 0;
	found->ids = NULL;
	if (!fgets(line, sizeof line, f)) /* header */
		line[0] = '\0';
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "%ld %ld %lo %ld %ld %ld %ld %ld %ld %ld", &key, &msqid, &perms,
			   &cbytes, &qnum, &lspid, &lrpid, &uid, &gid, &cuid) != 10)
			continue;
		if (!namespaces) {
			bool ours = o->host_root
					? (uid_t)cuid == o->sandbox_uid ||
					      (uid_t)cuid == o->sandbox_uid + OTHER_UID_OFFSET
					: (uid_t)cuid == getuid();
			for (size_t i = 0; before && i < before->n; i++)
				ours &= before->ids[i] != msqid;
			if (!ours)
				continue;
		}
		long *ids = realloc(found->ids, (found->n + 1) * sizeof *ids);
		if (!ids)
			die("out of memory");
		found->ids = ids;
		found->ids[found->n++] = msqid;
		if (!out)
			continue;
		fprintf(out,
			"queue key=0x%08lx msqid=%ld perms=%lo cbytes=%ld qnum=%ld lspid=%ld "
			"lrpid=%ld\n",
			(unsigned long)key & 0xffffffffUL, msqid, perms, cbytes, qnum, lspid,
			lrpid);
		if (!namespaces && msgctl((int)msqid, IPC_RMID, NULL) != 0)
			fprintf(out, "note cannot remove leaked queue %ld: %s\n", msqid,
				strerror(errno));
	}
	fclose(f);
}

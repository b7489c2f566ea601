/*
 * What the parts of msglab-run share: its options, the outcome of a run, and the error exit.
 *
 *   msglab-run.c   main, options, the outer process (starts bubblewrap, or falls back)
 *   supervise.c    the supervisor: PID 1 of the sandbox, runs setup and program, writes the report
 *   launch.c       the last step before the program: drop privileges, set limits, exec
 *   bwrap.c        the bubblewrap command line: what the sandbox's file system holds
 *   leftovers.c    processes and queues left behind, and killing them
 *   fallback.c     without bubblewrap: the bound folders as private copies
 *   cgroup.c       a memory limit for the whole process tree, where one can be had
 */
#ifndef MSGLAB_SANDBOX_H
#define MSGLAB_SANDBOX_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#define EXIT_TIMEOUT	 124
#define EXIT_SANDBOX	 125
#define MAX_SYSCTL	 8
#define MAX_BINDS	 8
#define MAX_ENV		 8
#define MAX_PROCS	 64
#define BASE_UID	 4000000 /* unprivileged uids for programs when we run as root... */
#define OTHER_UID_OFFSET 1000000 /* ...and for the other user (-O) */
/* A supplementary group of both users of a run, never a queue's group. */
#define run_group(o)	((gid_t)((o)->sandbox_uid + 2 * OTHER_UID_OFFSET))
#define SANDBOX_WORKDIR "/work" /* the program's working directory inside the sandbox */
#define SANDBOX_SELF	"/sandbox/msglab-run"
#define STRACE		"/usr/bin/strace"
#define BWRAP		"/usr/bin/bwrap"

struct options {
	long timeout_ms;
	long output_cap;
	long trace_cap;
	long nproc;
	long cpu_s;
	long mem_mib;  /* address space of each process of the program */
	long tree_mib; /* memory of the whole process tree, where a cgroup can be had */
	const char *report_path;
	const char *trace_path;
	const char *dir; /* working folder in the fallback mode (inside the sandbox, /work) */
	const char *sysctl[MAX_SYSCTL];
	int nsysctl;
	const char *bind[MAX_BINDS]; /* HOST=INSIDE */
	bool bind_rw[MAX_BINDS];
	int nbinds;
	const char *env[MAX_ENV]; /* NAME=VALUE */
	int nenv;
	const char *make_file;
	const char *subdir; /* -C: a folder made in /work, the program's working folder */
	const char *cwd;    /* /work/SUBDIR (or its fallback copy), once made */
	bool no_namespaces;
	bool untraced;
	const char *setup;
	bool other_user;
	char **argv;
	/* Set by the outer process for the supervisor. */
	bool host_root; /* the grader runs as root: programs get uids of their own */
	uid_t sandbox_uid;
	int report_fd, trace_fd, out_fd, err_fd;
};

__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
double now_ms(void);
void write_file(const char *path, const char *text);
/* Wait for a child; past deadline (now_ms), kill it and die saying what did not finish. */
int wait_child(pid_t pid, double deadline, const char *what, const char *detail);

/* supervise.c: returns the exit status msglab-run passes on. */
int supervise(const struct options *o, bool namespaces, const char *why);
/* The program's working folder: /work (or /work/SUBDIR with -C), or the fallback mode's private
 * copy. */
const char *workdir(const struct options *o);
/* "HOST=/INSIDE" split; dies on anything else (an INSIDE with ".." included). */
void split_bind(const char *spec, char *host, size_t hsize, char *inside, size_t isize);

/* launch.c: the argv that runs PROGRAM through `msglab-run --launch`; and that mode's main. */
char **launch_argv(const struct options *o, const char *self, int ready_fd, bool other);
__attribute__((noreturn)) void launch_main(int argc, char **argv);
void drop_privileges(const struct options *o, bool other);

/* bwrap.c: the command that runs `self --inner ...` in a sealed sandbox. */
char **bwrap_argv(const struct options *o, const char *self, char **inner_args);
void bwrap_argv_free(char **argv);

/* fallback.c: without bubblewrap, the bound folders as copies in a private folder of the run
 * (rewriting the paths in o), and afterwards the writable ones copied back and all removed. */
void fallback_prepare(struct options *o, char *root, size_t size);
void fallback_finish(const struct options *o, const char *root);

/* cgroup.c: a memory cgroup of the run's own (dir "" when none could be made); enter it from
 * the process that is to be limited, with all it starts; remove it once they are gone. */
bool cgroup_make(long mib, char *dir, size_t size);
bool cgroup_enter(const char *dir);
void cgroup_remove(const char *dir);

/* leftovers.c */
struct lingering {
	int pid, ppid;
	char state;
	char comm[32];
	char syscall[24];
};
struct lingerings {
	int n;
	struct lingering p[MAX_PROCS];
};
/* The processes of the run other than `skip` (NULL-free list of pids, 0-terminated). */
void list_processes(pid_t self, const pid_t *skip, bool namespaces, struct lingerings *out);
/* SIGKILL every process of the run but the skipped ones, until none is left. */
void kill_run(pid_t self, pid_t main_pid, const pid_t *skip, bool namespaces);
struct queue_list {
	long *ids;
	size_t n;
};
void list_queues(const struct options *o, bool namespaces, const struct queue_list *before,
		 struct queue_list *found, FILE *out);
int tracer_of(pid_t pid);
/* Its state letter in /proc/PID/stat ('Z' a zombie, '?' gone). */
char proc_state(pid_t pid);

#endif

/*
 * The grader's harness: what a lab's Criterion tests use to run the submitted program in the
 * sandbox (msglab-run) and to read what happened: output, exit status, the IPC call trace, and
 * the queues and processes left behind.
 *
 * The driver (grade.py) passes everything through the environment, because Criterion re-executes
 * test processes and globals set in main() are lost:
 *   MSGLAB_RUN        the msglab-run binary
 *   MSGLAB_PROGRAM    the submitted (first) program; MSGLAB_REFERENCE the reference solution's;
 *                     a lab's other programs are in the same folders
 *   MSGLAB_TOOLS      the lab's grader tools (grader/LAB/tools/NAME.c), built
 *   MSGLAB_MODE       namespaces (the sealed sandbox) or fallback (see grade.py)
 *   MSGLAB_TMP        the grader's own temporary folder (working folders in fallback mode)
 *   MSGLAB_RESULTS    where each test keeps its transcript (one folder per test)
 *   MSGLAB_REPORT     where the JSON report of the whole run goes
 *   MSGLAB_SEED       seed for randomised cases (else one is chosen and shown)
 *   MSGLAB_TIMEOUT_SCALE  calibrated timeouts times this (>= 1): how much slower the machine
 *                     is now than when the reference was timed, and more for MSGLAB_SANITIZED
 *   MSGLAB_SANITIZED  1: the programs are the AddressSanitizer + UBSan build (memory_safety);
 *                     no per-process address-space limit, a memory error ends a process with
 *                     status 86 and LABEL.sanitizer notes it
 * Each run keeps in the test's transcript: LABEL.command, .stdout, .stderr, .sandbox, .strace
 * (strace's own record) and .trace (that record read: in time order, errno by name, repeated
 * failures folded).
 */
#ifndef MSGLAB_HARNESS_H
#define MSGLAB_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

struct trace_call {
	char call[8]; /* msgget, msgsnd, msgrcv, msgctl, fork, wait, exit */
	int pid, ppid;
	long long t_us, dur_us;
	unsigned key;	/* msgget */
	int flags;	/* msgget, msgsnd, msgrcv */
	int msqid;	/* msgsnd, msgrcv, msgctl */
	long msgsz;	/* msgsnd, msgrcv: the size argument */
	long msgtyp;	/* msgrcv */
	bool has_mtype; /* msgsnd: the mtype sent; msgrcv: the mtype received */
	long mtype;
	int cmd; /* msgctl */
	long ret;
	int err;
	int reaped_exit;     /* wait: the child's exit status; -1 if it was killed, or unknown */
	int reaped_signal;   /* wait: the signal that killed it; 0 if none, or unknown */
	long datalen;	     /* bytes sent or received */
	unsigned char *data; /* the first `shown` of them */
	size_t shown;
};

struct left_queue {
	unsigned key;
	int msqid, perms;
	long cbytes, qnum;
	int lspid, lrpid;
};

struct left_proc {
	int pid, ppid;
	char state; /* as in /proc/PID/stat: Z for a zombie */
	char comm[32];
	char syscall[24]; /* the call it was blocked in, if known */
};

#define MAX_LEFT 64

struct run_result {
	char label[32];
	bool timed_out, signaled, namespaces, truncated;
	int exit_code, signal, main_pid;
	double wall_ms, timeout_ms;
	char *out, *err; /* NUL-terminated */
	size_t out_len, err_len;
	struct trace_call *calls;
	size_t ncalls;
	long long exec_us; /* when the program's execve ended (strace_record_parse); -1: unknown */
	struct left_queue queues[MAX_LEFT];
	int nqueues;
	struct left_proc procs[MAX_LEFT];
	int nprocs;
	char *command;		 /* how to run the same thing by hand */
	char setup_output[4096]; /* what the setup command printed, newlines as spaces */
	char trace_broken[160];	 /* why the call record is incomplete, "" when it is whole */
	unsigned long made_dev, made_ino; /* the file made for the run (spec->make_file) */
};

struct run_spec {
	const char *program;	 /* one of the lab's programs by name (default: its first), or a
				    path: a fixed program, with no reference to calibrate against */
	const char *tool;	 /* or: a grader tool of the lab (grader/LAB/tools/NAME.c) */
	const char *const *args; /* arguments after the program name; NULL-terminated */
	const char *input;	 /* standard input; NULL for /dev/null */
	const char *sysctl[4];	 /* NAME=VALUE for /proc/sys/kernel in the private namespace */
	const char *env[4];	 /* NAME=VALUE added to the program's environment */
	const char *setup;	 /* shell command run first in the same sandbox, untraced */
	bool other_user;	 /* run the program as another user than setup (skipped unless
				    the grader runs as root) */
	const char *make_file;	 /* create this (empty) file in the working directory first */
	const char *subdir;	 /* run in this new folder of /work instead of /work itself
				    (make_file and setup too) */
	bool untraced_main;	 /* a grader tool: drop its own calls (not its children's) from
				    the record */
	bool allow_failure;	 /* the caller checks timeout/crash itself (expect_finished) */
	long min_timeout_ms;	 /* a run that judges hangs itself (a tool that gives up once
				    every process has slept a while): its timeout, only a
				    backstop, at least this long (times the load scale) */
};
/* In program, tool, args and setup, {bin} stands for the folder of the programs being graded
 * (the reference's, when calibrating) and {tools} for the lab's tools: inside the sandbox,
 * /sandbox/bin and /sandbox/tools, the only folders of the grader it can see. The program runs
 * in an empty working folder of its own (/work, or /work/SUBDIR) that vanishes with the sandbox,
 * with HOME=/nonexistent unless env says otherwise. */

/* The key ftok(spec->make_file, proj) gives inside the run (glibc's formula, from the file's
 * device and inode that the sandbox reported). */
unsigned made_file_key(const struct run_result *r, int proj);

/* Run the program; unless spec->allow_failure, a timeout or crash ends the test (TIMEOUT/CRASH). */
void run_student(const struct run_spec *spec, struct run_result *r);
void run_free(struct run_result *r);

/* The command, or a pointer to the transcript when it is too long to show. */
const char *short_command(const struct run_result *r);

/* Fail the test as TIMEOUT or CRASH if the program did not finish normally (run_student does
 * this itself unless the spec allows failure: then call it after the checks that still make
 * sense on a partial trace). */
void expect_finished(const struct run_result *r);

/* Record the test's outcome for the driver when it is not a plain PASS/FAIL: TIMEOUT, CRASH or
 * SKIP, with why (may be NULL). skip_test also ends the test as skipped: for a test that cannot
 * run here (its points then count neither way). */
void mark_outcome(const char *outcome, const char *why);
void skip_test(const char *why);

/* "; its stderr says: LAST LINE" (at most 200 bytes of it, the line a program prints as it
 * dies), or "" when stderr is empty: for failure messages, which are clearer with what the
 * program said. */
const char *stderr_note(const struct run_result *r);

/* The last non-empty line of stderr (at most 200 bytes): a static buffer, "" when stderr is
 * empty. */
const char *last_err_line(const struct run_result *r);

/* A usage error, as every lab's contract says: exit status 2, `usage` the last line of
 * stderr, nothing on stdout, no msgget and no fork. `what` names the case in the messages. */
void expect_usage_error(const struct run_result *r, const char *what, const char *usage);

/* The result's program exited normally with this status; else the test fails, saying why. */
void expect_exit(const struct run_result *r, int status);

/* Trace queries. `call` is NULL for any call. pid 0 matches any process. */
size_t count_calls(const struct run_result *r, const char *call, int pid);
const struct trace_call *nth_call(const struct run_result *r, const char *call, int pid, size_t n);
/* The pids of processes forked by pid, in fork order; returns how many (at most max). */
int children_of(const struct run_result *r, int pid, int *out, int max);

/* Output. Normalise replaces the numbers in "queue N" and "pid N" with <id> and <pid>. */
char *normalise(const char *text);
/* Compare normalised stdout with expected; on difference, keep both and fail with the first
 * differing line. */
void expect_stdout(const struct run_result *r, const char *expected);

/* The lines of text that start with prefix ("" for all), prefix and newline removed, as a
 * NULL-terminated array; *count of them. Free with free_lines. */
char **text_lines(const char *text, const char *prefix, size_t *count);
void free_lines(char **lines);

/* Keep expected and actual output in the transcript (LABEL.expected, LABEL.actual): the
 * driver shows their diff under the failure. */
void keep_comparison(const struct run_result *r, const char *expected, const char *actual);

/* Printable form of (at most the first 64) bytes for messages: "hello\0\xff" */
char *show_bytes(const unsigned char *p, size_t n);

/* A seed for randomised cases: MSGLAB_SEED or a fresh one; noted in the transcript. */
unsigned test_seed(void);

/* The folder where this test keeps its transcript (created on first use). */
const char *transcript_dir(void);
/* Write text into a file of the transcript folder. */
void keep_file(const char *name, const char *text, size_t len);

#endif

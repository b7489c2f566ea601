/*
 * The call record of a program from the kernel's side: the program runs under strace with
 * STRACE_RECORD_OPTIONS, and strace_record_parse() turns strace's output into the same
 * struct trace_call records the tests already query (harness.h), in time order. Unlike a
 * preloaded library, the program cannot forge or skip what strace writes.
 *
 * The options live here, next to the parser, so that the sandbox that runs strace and the
 * parser that reads its output can never disagree about the format.
 */
#ifndef MSGLAB_STRACE_RECORD_H
#define MSGLAB_STRACE_RECORD_H

#include <stddef.h>

#include "harness.h"

/* strace 6.1 as Debian installs it. */
#define STRACE_RECORD_STRACE "/usr/bin/strace"

/* strace's -s: the longest string it prints, hence at most this many bytes of a message kept
 * (the same cap as libmsgtrace's). */
#define STRACE_RECORD_MAX_DATA 1024
#define STRACE_RECORD_STR_(x)  #x
#define STRACE_RECORD_STR(x)   STRACE_RECORD_STR_(x)

#define STRACE_RECORD_CALLS                                                                        \
	"msgget,msgsnd,msgrcv,msgctl,fork,vfork,clone,clone3,wait4,waitid,exit,exit_group,"        \
	"execve"

/*
 * The arguments of strace before "-o OUTPUT -- PROGRAM ARGS...":
 *   -D               strace runs as a detached grandchild: the program keeps its own pid and
 *                    parent, and its exit status is the program's
 *   -f --seccomp-bpf follow every process and thread; only the traced calls stop the program
 *   -q -ttt -T       no attach messages; each line starts "PID SECONDS.MICROS ", ends "<DUR>"
 *   -X raw -xx       flags and commands as numbers; every string byte as \xNN
 *   -e signal=none   no signal lines (so no "+++ killed by" line either)
 */
#define STRACE_RECORD_OPTIONS                                                                      \
	"-D", "-f", "--seccomp-bpf", "-q", "-ttt", "-T", "-X", "raw", "-xx", "-s",                 \
	    STRACE_RECORD_STR(STRACE_RECORD_MAX_DATA), "-e", "signal=none", "-e",                  \
	    "trace=" STRACE_RECORD_CALLS

/*
 * Parse len bytes of strace output (need not be NUL-terminated; a last line without its
 * newline, as when strace was killed mid-write, is ignored) of a run whose first process is
 * main_pid. One record per completed call: msgget, msgsnd, msgrcv, msgctl; "fork" for each
 * clone/clone3/fork/vfork that made a process (not a thread), in the parent, ret = the child;
 * "wait" for each wait4/waitid that reaped a child or failed; "exit" for each process that
 * ended normally (ret = its exit status; a process killed by a signal has none). ppid is the
 * pid whose fork made the process (1 for main_pid, 0 if unknown; a thread has its process's).
 * t_us is when the call ended (microseconds since the epoch: start + -T, or the time of the
 * "resumed" line of a call strace showed in two), dur_us how long it took (-T); an exit's
 * t_us is when the process called exit_group (or exit), its dur_us 0.
 *
 * A call interrupted by a signal (strace shows "= ? ERESTART...") is recorded as -1 EINTR,
 * unless the kernel restarted it, which strace does not say: a wait4/waitid that failed with
 * ERESTARTSYS counts as restarted when the same process's next traced call is the same call.
 *
 * *exec_us (unless exec_us is NULL) is when main_pid's last execve that succeeded ended, as
 * start + -T: never later than the program's first instruction, so the program cannot have
 * noted any time before it; -1 when the record has none.
 *
 * Returns 0 with *calls (malloc'd, sorted by t_us; NULL when *ncalls is 0), or -1 when out of
 * memory. The caller frees each calls[i].data, then *calls.
 */
int strace_record_parse(const char *text, size_t len, int main_pid, struct trace_call **calls,
			size_t *ncalls, long long *exec_us);

#endif

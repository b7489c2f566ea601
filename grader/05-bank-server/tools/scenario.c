/*
 * scenario: the lab 05 tests' driver. It runs inside the sandbox as the program under test
 * (traced, like everything it starts), starts the submitted bank-server and bank-client, or plays
 * one side of the protocol itself, and prints what happened as one line per event:
 *
 *   WORD key=value key="text with C escapes" ...
 *
 * It waits for conditions instead of sleeping: a process blocked in msgrcv (/proc/PID/syscall),
 * stopped (/proc/PID/stat), ended (waitpid), a line on the server's stdout. A wait gives up only
 * once everything it started has been asleep (no process of ours running, runnable, or held by
 * the tracer) for PATIENCE_MS on end: then nothing is going to happen. A slow or loaded machine
 * keeps its processes runnable, never asleep, so it only makes the waits longer. A program that
 * keeps running without getting anywhere (a loop of failing calls) is given up on at the latest
 * at a share of the run's timeout (MSGLAB_TIMEOUT_MS, calibrated against the reference). Once
 * one wait has given up, the program is known to be failing and later waits are cut to
 * WRAP_UP_MS, so that the tool still reports before the sandbox's timeout kills it.
 *
 *   scenario BIN crowd SEED       two waves of CROWD clients at once against the server
 *   scenario BIN ten SEED         one wave of ten clients at once (for make demo LAB=05)
 *   scenario BIN replies SEED     the tool asks the server in turn, valid and invalid requests
 *   scenario BIN signals          SIGUSR1 while the server waits, twice, with requests between
 *   scenario BIN shutdown         one server ended by SIGTERM, another by SIGINT
 *   scenario BIN orphans SEED     clients that exit before their reply, in a small queue
 *   scenario BIN fullqueue        replies that cannot fit: the server must drop them
 *   scenario BIN fake SEED        a fake server (the tool) answers bank-client runs
 *   scenario BIN gone SEED        a fake server that removes its queue while the client waits
 *   scenario BIN gonesend SEED    the same while the client is blocked sending (a full queue)
 *   scenario BIN removed          the server's queue removed under it while it waits
 *   scenario stale                (as a setup) leave a queue for the key, as a dead server would
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "bank_wire.h"

#define PATIENCE_MS 500 /* all our processes asleep this long: nothing more will happen */
#define WRAP_UP_MS  100 /* for each wait once one has given up */
#define QUIET_EVERY 4	/* ms between two looks at our processes' states */
#define CROWD	    24	/* clients at once */
#define DYING	    40	/* clients that exit before their reply */
#define SMALL_QUEUE (10 * BANK_REPLY_SIZE)
#define DECOY_SHIFT 50000 /* a decoy reply's mtype: the client's pid plus this */
#define MAX_TEXT    8192

struct child {
	pid_t pid;
	char name[32], out[48], err[48];
	bool ended, killed;
	int status;
	char blocked[16]; /* where it was when it had to be killed */
};

static const char *bin;
static bool gave_up; /* a wait has timed out: the program under test is failing */
static key_t bank_key;
static struct child server;
static pid_t paused_pid;	   /* stopped by us (SIGSTOP): its stillness is not news */
static atomic_bool gate_pending;   /* a gated client waits for our helper thread to open it */
static long long hard_deadline_ms; /* give up on any wait after this (a share of the timeout) */

/* The files the children wrote, removed at the end: the tool also runs in a student's folder. */
static char made[128][48];
static int nmade;

static void remove_made(void)
{
	for (int i = 0; i < nmade; i++)
		unlink(made[i]);
}

/* ---- small things ---- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("grader-error text=\"");
	vprintf(fmt, ap);
	printf(": %s\"\n", strerror(errno));
	va_end(ap);
	fflush(stdout);
	remove_made();
	kill(0, SIGKILL); /* our process group: whatever we started goes with us */
	_exit(125);
}

/* splitmix64: the same sequence everywhere. */
static uint64_t rng_state;

static long between(long low, long high)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return low + (long)(z % (uint64_t)(high - low + 1));
}

/* ---- output: one line per event, written at once ---- */

static char line_buf[10 * MAX_TEXT];
static size_t line_len;

static void add(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line_buf + line_len, sizeof line_buf - line_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		line_len += (size_t)n < sizeof line_buf - line_len ? (size_t)n
								   : sizeof line_buf - line_len - 1;
}

/* key="text", escaped so that the line stays one line. */
static void add_text(const char *key, const char *text, size_t len)
{
	add(" %s=\"", key);
	for (size_t i = 0; i < len && line_len + 8 < sizeof line_buf; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\n')
			add("\\n");
		else if (c == '"' || c == '\\')
			add("\\%c", c);
		else if (c < 32 || c >= 127)
			add("\\x%02x", c);
		else
			add("%c", c);
	}
	add("\"");
}

static void emit(void)
{
	add("\n");
	if (fwrite(line_buf, 1, line_len, stdout) != line_len || fflush(stdout) != 0)
		_exit(125);
	line_len = 0;
}

/* ---- files and /proc ---- */

static size_t slurp(const char *path, char *buf, size_t size)
{
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t got = read(fd, buf + n, size - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
		if (n == size - 1)
			break;
	}
	close(fd);
	buf[n] = '\0';
	return n;
}

/* The system call pid is blocked in: its number, -1 if running or outside one, -2 if gone. */
static long syscall_of(pid_t pid)
{
	char path[64], text[128];
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
	if (slurp(path, text, sizeof text) == 0)
		return -2;
	if (text[0] < '0' || text[0] > '9')
		return -1;
	return strtol(text, NULL, 10);
}

static const char *syscall_name(long nr)
{
	static char other[24];
	if (nr == SYS_msgrcv)
		return "msgrcv";
	if (nr == SYS_msgsnd)
		return "msgsnd";
	if (nr == -1)
		return "running";
	if (nr == -2)
		return "gone";
	if (nr == SYS_wait4)
		return "wait";
	if (nr == SYS_read)
		return "read";
	if (nr == SYS_write)
		return "write";
#ifdef SYS_pause /* not on every architecture */
	if (nr == SYS_pause)
		return "pause";
#endif
	if (nr == SYS_rt_sigsuspend)
		return "sigsuspend";
	if (nr == SYS_clock_nanosleep)
		return "sleep";
	snprintf(other, sizeof other, "syscall-%ld", nr);
	return other;
}

static char state_of(pid_t pid)
{
	char path[64], text[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (slurp(path, text, sizeof text) == 0)
		return '?';
	const char *close_paren = strrchr(text, ')');
	return close_paren && close_paren[1] == ' ' ? close_paren[2] : '?';
}

/* ---- children ---- */

static int gate_read = -1, gate_write = -1;

/* Start program with argv; with a gate open, it waits until release_gate() before exec. */
static void spawn(struct child *c, const char *name, const char *program, char *const argv[])
{
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(c->out, sizeof c->out, "%s.out", name);
	snprintf(c->err, sizeof c->err, "%s.err", name);
	for (int i = 0; i < 2 && nmade < 128; i++)
		snprintf(made[nmade++], sizeof made[0], "%s", i ? c->err : c->out);
	int out = open(c->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int err = open(c->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (out < 0 || err < 0 || in < 0)
		die("open %s", c->out);
	c->pid = fork();
	if (c->pid < 0)
		die("fork");
	if (c->pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
			_exit(126);
		if (gate_read >= 0) {
			char byte;
			close(gate_write);
			while (read(gate_read, &byte, 1) < 0 && errno == EINTR)
				;
		}
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		execv(program, argv);
		dprintf(2, "scenario: cannot run %s: %s\n", program, strerror(errno));
		_exit(127);
	}
	close(out);
	close(err);
	close(in);
}

static void open_gate(void)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		die("pipe");
	gate_read = fds[0];
	gate_write = fds[1];
}

/* Every child waiting at the gate goes on at once (they read EOF). */
static void release_gate(void)
{
	close(gate_read);
	close(gate_write);
	gate_read = gate_write = -1;
}

/* The gate's other half, for a client whose request must reach us while we wait in msgrcv: a
 * thread of ours opens the gate once the main thread is blocked there. (A thread, not a child
 * process: /proc/PID/syscall of one's own thread is readable even where Yama forbids reading a
 * parent's, and it sends no SIGCHLD that would interrupt the msgrcv.) */
static void *open_gate_when_waiting(void *arg)
{
	(void)arg;
	for (int waited = 0; waited < 2000 && syscall_of(getpid()) != SYS_msgrcv; waited++)
		sleep_ms(1);
	close(gate_write);
	atomic_store(&gate_pending, false);
	return NULL;
}

/* Start a client that execs only once we wait in msgrcv; finish with gate_joined(). */
static pthread_t gate_thread;

static void spawn_gated(struct child *c, const char *name, const char *program, char *const argv[])
{
	open_gate();
	atomic_store(&gate_pending, true);
	spawn(c, name, program, argv);
	close(gate_read);
	sigset_t all, old;
	/* Signals (SIGCHLD, SIGALRM) must wake the main thread's msgrcv, never the helper. */
	if (sigfillset(&all) != 0 || pthread_sigmask(SIG_BLOCK, &all, &old) != 0 ||
	    pthread_create(&gate_thread, NULL, open_gate_when_waiting, NULL) != 0 ||
	    pthread_sigmask(SIG_SETMASK, &old, NULL) != 0)
		die("pthread");
}

static void gate_joined(void)
{
	if (pthread_join(gate_thread, NULL) != 0)
		die("pthread_join");
	gate_read = gate_write = -1;
}

/* Has c ended? Reaps it if so. */
static bool ended(struct child *c)
{
	if (c->ended || c->pid <= 0)
		return true;
	int status;
	pid_t r = waitpid(c->pid, &status, WNOHANG);
	if (r == c->pid) {
		c->ended = true;
		c->status = status;
	} else if (r < 0 && errno != EINTR) {
		die("waitpid %d", (int)c->pid);
	}
	return c->ended;
}

/* ---- patience: anchored to what our processes do, not to the clock ---- */

/* The parent pid and state letter of pid, from /proc/PID/stat; false if it is gone. */
static bool ppid_state(pid_t pid, pid_t *ppid, char *state)
{
	char path[64], text[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (slurp(path, text, sizeof text) == 0)
		return false;
	const char *close_paren = strrchr(text, ')');
	int parent;
	if (!close_paren || sscanf(close_paren + 1, " %c %d", state, &parent) != 2)
		return false;
	*ppid = parent;
	return true;
}

/* The CPU time pid has had, in ns (/proc/PID/schedstat), or 0. */
static unsigned long long cpu_ns(pid_t pid)
{
	char path[64], text[128];
	snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
	if (slurp(path, text, sizeof text) == 0)
		return 0;
	return strtoull(text, NULL, 10);
}

/*
 * Has nothing we started moved since the last look? Every process of ours asleep (running or
 * runnable, R, in uninterruptible sleep, D, or held by the tracer at a call, t, means something
 * is still going on, however slowly), and none of them has had any CPU time, ended or been
 * born since the last look: so a look that comes late (we too wait for a CPU) misses nothing.
 * Only our own children count (the tracer and the sandbox's supervisor are not ours, and in
 * fallback mode /proc is the host's). Looked at every QUIET_EVERY ms at most.
 */
static bool quiet(void)
{
	static long long looked;
	static bool last;
	static unsigned long long last_sum;
	long long now = now_ms();
	if (looked && now - looked < QUIET_EVERY)
		return last;
	looked = now;
	DIR *d = opendir("/proc");
	if (!d)
		return last = !atomic_load(&gate_pending);
	pid_t self = getpid();
	bool all_asleep = !atomic_load(&gate_pending);
	unsigned long long sum = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pid_t pid = (pid_t)strtol(e->d_name, NULL, 10), ppid;
		char state;
		if (pid == self || pid == paused_pid || !ppid_state(pid, &ppid, &state) ||
		    ppid != self)
			continue;
		all_asleep &= state != 'R' && state != 'D' && state != 't' && state != 'W';
		sum += cpu_ns(pid) * 31 + (unsigned long long)pid;
	}
	closedir(d);
	last = all_asleep && sum == last_sum;
	last_sum = sum;
	return last;
}

/* One wait's patience: it runs out after ms during which all our processes were asleep, or at
 * the hard deadline; once the program is known to fail (gave_up), after WRAP_UP_MS at most. */
struct patience {
	long long started, quiet_since;
	long ms;
};

static struct patience patience_from(long ms)
{
	long long now = now_ms();
	return (struct patience){now, -1, ms};
}

static bool run_out(struct patience *p)
{
	long long now = now_ms();
	if (now > hard_deadline_ms)
		return true;
	if (gave_up)
		return now - p->started > (p->ms < WRAP_UP_MS ? p->ms : WRAP_UP_MS);
	/* From the first look that found everything still, after one that did not. */
	if (!quiet())
		p->quiet_since = -1;
	else if (p->quiet_since < 0)
		p->quiet_since = now;
	return p->quiet_since >= 0 && now - p->quiet_since > p->ms;
}

static bool wait_ended(struct child *c, long ms)
{
	struct patience p = patience_from(ms);
	while (!ended(c)) {
		if (run_out(&p)) {
			gave_up = true;
			return false;
		}
		sleep_ms(1);
	}
	return true;
}

/* Wait until c sleeps in system call nr. False if it ended first or the time ran out. */
static bool wait_blocked(struct child *c, long nr, long ms)
{
	struct patience p = patience_from(ms);
	for (;;) {
		if (ended(c))
			return false;
		if (syscall_of(c->pid) == nr)
			return true;
		if (run_out(&p)) {
			gave_up = true;
			return false;
		}
		sleep_ms(1);
	}
}

/* Stopped by a signal (group-stop)? Under the sandbox's tracer a stopped process shows as 't',
 * as it does at each traced call, so ask the kernel as its parent instead. */
static bool is_stopped(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WSTOPPED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid &&
	    si.si_code == CLD_STOPPED)
		return true;
	return state_of(pid) == 'T';
}

static bool wait_stopped(struct child *c, long ms)
{
	struct patience p = patience_from(ms);
	while (!ended(c) && !is_stopped(c->pid)) {
		if (run_out(&p)) {
			gave_up = true;
			return false;
		}
		sleep_ms(1);
	}
	return !c->ended;
}

/* Kill c if it is still there, noting where it was blocked. */
static void finish(struct child *c)
{
	if (ended(c))
		return;
	snprintf(c->blocked, sizeof c->blocked, "%s", syscall_name(syscall_of(c->pid)));
	kill(c->pid, SIGKILL);
	c->killed = true;
	while (!ended(c))
		sleep_ms(1);
}

/* " exit=N" or " signal=N", " killed=1 blocked=X", and its stdout and stderr. */
static void add_end(struct child *c)
{
	char text[MAX_TEXT];
	if (!c->ended)
		add(" running=1");
	else if (c->killed)
		add(" killed=1 blocked=%s", c->blocked);
	else if (WIFEXITED(c->status))
		add(" exit=%d", WEXITSTATUS(c->status));
	else if (WIFSIGNALED(c->status))
		add(" signal=%d", WTERMSIG(c->status));
	size_t n = slurp(c->out, text, sizeof text);
	add_text("out", text, n);
	n = slurp(c->err, text, sizeof text);
	add_text("err", text, n);
}

/* ---- the server ---- */

static bool start_server(const char *name)
{
	static char path[4200];
	snprintf(path, sizeof path, "%s/bank-server", bin);
	char *argv[] = {path, NULL};
	spawn(&server, name, path, argv);
	add("server name=%s pid=%d", name, (int)server.pid);
	emit();
	if (wait_blocked(&server, SYS_msgrcv, PATIENCE_MS)) {
		/* What it has printed by now, while it waits: stdout must be line-buffered. */
		char text[MAX_TEXT];
		size_t n = slurp(server.out, text, sizeof text);
		add("ready pid=%d", (int)server.pid);
		add_text("out", text, n);
		emit();
		return true;
	}
	add("not-ready pid=%d", (int)server.pid);
	if (!server.ended)
		add(" where=%s", syscall_name(syscall_of(server.pid)));
	emit();
	return false;
}

/* The server's queue, found the way a client finds it; -1 if there is none. */
static int server_queue(void)
{
	return msgget(bank_key, 0);
}

/* Wait for the server to be back in msgrcv, idle; false (and a line) if it is not. */
static bool server_idle(const char *when)
{
	if (wait_blocked(&server, SYS_msgrcv, PATIENCE_MS))
		return true;
	add("not-idle when=%s", when);
	if (server.ended)
		add_end(&server);
	else
		add(" where=%s", syscall_name(syscall_of(server.pid)));
	emit();
	return false;
}

static int signal_number(const char *name)
{
	return !strcmp(name, "INT") ? SIGINT : !strcmp(name, "USR1") ? SIGUSR1 : SIGTERM;
}

/* Send SIGname (unless the server has ended), wait for it to end, report; then whether its
 * queue is still there (removing it, so that the next server can start). */
static void stop_server(const char *sig)
{
	bool was_running = !ended(&server);
	if (was_running) {
		kill(server.pid, signal_number(sig));
		if (!wait_ended(&server, PATIENCE_MS))
			finish(&server);
	}
	add("server-end name=%s pid=%d sig=%s before=%d", server.name, (int)server.pid,
	    was_running ? sig : "none", was_running ? 0 : 1);
	add_end(&server);
	emit();
	int id = server_queue();
	add("queue-after id=%d", id);
	emit();
	if (id >= 0 && msgctl(id, IPC_RMID, NULL) != 0)
		die("msgctl(IPC_RMID)");
}

/* How many lines of the server's stdout contain text. */
static int server_lines(const char *text)
{
	char buf[MAX_TEXT];
	slurp(server.out, buf, sizeof buf);
	int n = 0;
	for (const char *p = buf; (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	return n;
}

/* Send SIGUSR1 and wait for the server's next stats line (or its end). */
static void ask_stats(int n)
{
	int before = server_lines("stats:");
	kill(server.pid, SIGUSR1);
	struct patience p = patience_from(PATIENCE_MS);
	while (!ended(&server) && server_lines("stats:") == before && !run_out(&p))
		sleep_ms(1);
	gave_up |= !server.ended && server_lines("stats:") == before;
	char buf[MAX_TEXT];
	slurp(server.out, buf, sizeof buf);
	char *last = NULL;
	for (char *p = buf; (p = strstr(p, "stats:")) != NULL; p++)
		last = p;
	size_t len = last ? strcspn(last, "\n") : 0;
	add("usr1 n=%d alive=%d printed=%d", n, !ended(&server), server_lines("stats:") > before);
	add_text("stats", last ? last : "", len);
	if (server.ended)
		add_end(&server);
	emit();
}

/* ---- the tool as a client ---- */

static void on_wakeup(int sig)
{
	(void)sig; /* only here to interrupt a blocked msgrcv (EINTR) */
}

/* The watchdog of a blocking receive: it judges the patience while the main thread sleeps in
 * msgrcv, and wakes it with SIGALRM (again and again, so that a signal that lands just before
 * the call is not lost) once the patience has run out. */
static pthread_t main_thread;
static atomic_bool watch_stop, watch_fired;

static void *watchdog(void *arg)
{
	struct patience *p = arg;
	while (!atomic_load(&watch_stop)) {
		if (atomic_load(&watch_fired) || run_out(p)) {
			atomic_store(&watch_fired, true);
			pthread_kill(main_thread, SIGALRM);
		}
		sleep_ms(QUIET_EVERY);
	}
	return NULL;
}

/*
 * msgrcv that gives up when its patience runs out (see run_out), or when watch ends: the
 * watchdog thread's SIGALRM and SIGCHLD (a child ended) interrupt it. Never a periodic tick: a
 * message sent while we are between two calls could go to another receiver. Returns what
 * msgrcv returns; on giving up, -1 with errno ETIMEDOUT or ECHILD.
 */
static ssize_t receive(int msqid, void *buf, size_t size, long type, long ms, struct child *watch)
{
	struct patience p = patience_from(ms);
	pthread_t thread;
	sigset_t all, old;
	atomic_store(&watch_stop, false);
	atomic_store(&watch_fired, false);
	/* Signals (SIGCHLD, SIGALRM) must wake the main thread's msgrcv, never the watchdog. */
	if (sigfillset(&all) != 0 || pthread_sigmask(SIG_BLOCK, &all, &old) != 0 ||
	    pthread_create(&thread, NULL, watchdog, &p) != 0 ||
	    pthread_sigmask(SIG_SETMASK, &old, NULL) != 0)
		die("pthread");
	ssize_t r;
	for (;;) {
		bool gone = watch && ended(watch), out = atomic_load(&watch_fired);
		if (out || gone) {
			r = msgrcv(msqid, buf, size, type, MSG_NOERROR | IPC_NOWAIT);
			if (r < 0 && errno == ENOMSG)
				errno = gone ? ECHILD : ETIMEDOUT;
			gave_up |= r < 0 && errno == ETIMEDOUT;
			break;
		}
		r = msgrcv(msqid, buf, size, type, MSG_NOERROR);
		if (r >= 0 || errno != EINTR)
			break;
	}
	int err = errno;
	atomic_store(&watch_stop, true);
	if (pthread_join(thread, NULL) != 0)
		die("pthread_join");
	errno = err;
	return r;
}

struct raw_message {
	long mtype;
	unsigned char bytes[256];
};

static int asks;

/* Send a request as the tool (pid = ours unless given) and, if a reply is due, wait for it.
 * extra adds bytes after the request (an oversized request). */
static void ask_raw(int msqid, const char *kind, pid_t pid, int op, long account, long amount,
		    size_t size, bool reply_due)
{
	struct raw_message m;
	struct bank_request req = {BANK_REQUEST, pid, op, account, amount};
	memset(&m, 0, sizeof m);
	memcpy(&m, &req, sizeof req);
	for (size_t i = BANK_REQUEST_SIZE; i < size; i++)
		m.bytes[i] = (unsigned char)(0xa0 + i);
	add("ask n=%d kind=%s pid=%d op=%d account=%ld amount=%ld size=%zu", ++asks, kind, (int)pid,
	    op, account, amount, size);
	if (msgsnd(msqid, &m, size, IPC_NOWAIT) != 0) {
		add(" sent=0 errno=%d", errno);
		emit();
		return;
	}
	add(" sent=1");
	if (!reply_due) {
		emit();
		return;
	}
	struct raw_message r;
	ssize_t len = receive(msqid, &r, sizeof r.bytes, getpid(), PATIENCE_MS, &server);
	if (len < 0) {
		const char *why = errno == ETIMEDOUT ? "no reply in time"
				  : errno == ECHILD  ? "the server had ended"
						     : strerror(errno);
		add(" got=0");
		add_text("why", why, strlen(why));
		emit();
		return;
	}
	struct bank_reply rep = wire_reply(r.bytes, (size_t)len);
	add(" got=1 len=%zd status=%d rop=%d raccount=%ld balance=%ld", len, rep.status, rep.op,
	    rep.account, rep.balance);
	emit();
}

static void ask(int msqid, int op, long account, long amount)
{
	ask_raw(msqid, "valid", getpid(), op, account, amount, BANK_REQUEST_SIZE, true);
}

/* Any reply for us still queued: there should be none. */
static void left_for_us(int msqid)
{
	struct raw_message r;
	ssize_t len;
	while ((len = msgrcv(msqid, &r, sizeof r.bytes, getpid(), IPC_NOWAIT | MSG_NOERROR)) >= 0) {
		struct bank_reply rep = wire_reply(r.bytes, (size_t)len);
		add("extra-reply len=%zd status=%d raccount=%ld balance=%ld", len, rep.status,
		    rep.account, rep.balance);
		emit();
	}
}

/* ---- modes ---- */

/* waves of n (at most CROWD) bank-client runs, each wave released at once. */
static void crowd_of(int n, int waves)
{
	if (!start_server("server")) {
		stop_server("TERM");
		return;
	}
	long accounts[BANK_ACCOUNTS] = {0};
	for (long i = 0; i < BANK_ACCOUNTS; i++)
		accounts[i] = i;
	for (long i = 0; i < CROWD; i++) {
		long j = between(i, BANK_ACCOUNTS - 1), t = accounts[i];
		accounts[i] = accounts[j];
		accounts[j] = t;
	}
	long deposited[CROWD];
	static char path[4200];
	snprintf(path, sizeof path, "%s/bank-client", bin);
	for (int wave = 1; wave <= waves; wave++) {
		static struct child clients[CROWD];
		static char args[CROWD][3][32];
		open_gate();
		for (int i = 0; i < n; i++) {
			long a = accounts[i];
			const char *op = "deposit";
			long amount = 0, kind = wave == 1 ? -1 : i < 6 ? i : between(0, 5);
			if (wave == 1)
				amount = deposited[i] = between(1, 999);
			else if (kind == 0)
				op = "balance";
			else if (kind == 1)
				amount = between(1, 999);
			else if (kind == 2)
				op = "withdraw", amount = between(1, deposited[i]);
			else if (kind == 3)
				op = "withdraw", amount = deposited[i] + between(1, 500);
			else if (kind == 4)
				a = between(0, 1) ? between(BANK_ACCOUNTS, 999) : -between(1, 9);
			else
				op = between(0, 1) ? "withdraw" : "deposit",
				amount = -between(0, 9);
			if (kind == 4)
				amount = between(1, 99);
			snprintf(args[i][0], sizeof args[i][0], "%s", op);
			snprintf(args[i][1], sizeof args[i][1], "%ld", a);
			snprintf(args[i][2], sizeof args[i][2], "%ld", amount);
			char *argv[] = {path, args[i][0], args[i][1],
					strcmp(op, "balance") ? args[i][2] : NULL, NULL};
			char name[32];
			snprintf(name, sizeof name, "client-%d-%d", wave, i + 1);
			spawn(&clients[i], name, path, argv);
		}
		release_gate();
		/* However slow the machine, give up only when for a while all our processes have
		 * been asleep: then no client will ever end. */
		bool hung = false;
		int left = n;
		struct patience p = patience_from(PATIENCE_MS);
		while (left > 0 && !hung) {
			left = 0;
			for (int i = 0; i < n; i++)
				left += !ended(&clients[i]);
			hung = left > 0 && run_out(&p);
			if (left > 0 && !hung)
				sleep_ms(1);
		}
		gave_up |= hung;
		for (int i = 0; i < n; i++)
			finish(&clients[i]);
		for (int i = 0; i < n; i++) {
			add("client wave=%d n=%d pid=%d", wave, i + 1, (int)clients[i].pid);
			char shown[100];
			snprintf(shown, sizeof shown, "%.31s %.31s%s%.31s", args[i][0], args[i][1],
				 strcmp(args[i][0], "balance") ? " " : "",
				 strcmp(args[i][0], "balance") ? args[i][2] : "");
			add_text("args", shown, strlen(shown));
			add_end(&clients[i]);
			emit();
		}
		if (ended(&server) || hung)
			break;
	}
	stop_server("TERM");
}

/* Two waves of CROWD bank-client runs, each released at once. */
static void crowd(void)
{
	crowd_of(CROWD, 2);
}

/* One wave of ten deposits: what make demo LAB=05 shows. */
static void ten(void)
{
	crowd_of(10, 1);
}

/* The server started and its queue announced ("queue id=Q", -1 when there is none); its id,
 * or -1 (the server then still to be stopped). */
static int start_and_announce(void)
{
	if (!start_server("server"))
		return -1;
	int q = server_queue();
	add("queue id=%d", q);
	emit();
	return q;
}

/* The tool asks, in turn: a seeded mix of valid and invalid requests, and malformed ones. */
static void replies(void)
{
	int q = start_and_announce();
	if (q < 0) {
		stop_server("TERM");
		return;
	}
	long a[3];
	a[0] = between(0, 33);
	a[1] = between(34, 66);
	a[2] = between(67, BANK_ACCOUNTS - 1);
	long x = between(100, 999), y = between(10, 99), z = between(1000, 9999);
	ask(q, BANK_DEPOSIT, a[0], x);
	ask(q, BANK_DEPOSIT, a[1], y);
	ask(q, BANK_BALANCE, a[0], 0);
	ask(q, BANK_WITHDRAW, a[0], between(1, x));
	ask(q, BANK_WITHDRAW, a[1], y + between(1, 50));
	ask(q, BANK_DEPOSIT, a[2], z);
	ask(q, BANK_WITHDRAW, a[2], z);
	ask(q, BANK_WITHDRAW, a[2], 1);
	ask(q, BANK_BALANCE, a[2], 0);
	ask(q, BANK_BALANCE, BANK_ACCOUNTS, 0);
	ask(q, BANK_DEPOSIT, -between(1, 9), 5);
	ask(q, BANK_DEPOSIT, a[0], 0);
	ask(q, BANK_WITHDRAW, a[0], -between(1, 9));
	ask(q, BANK_DEPOSIT, a[0], BANK_MAX_AMOUNT + 1);
	ask(q, between(4, 9), a[0], 5);
	ask(q, 0, a[1], 5);
	ask(q, between(4, 9), BANK_ACCOUNTS + between(1, 50), 0);
	ask(q, BANK_DEPOSIT, BANK_ACCOUNTS + between(1, 50), 0);
	ask(q, BANK_BALANCE, a[1], between(1, 50));
	ask(q, BANK_DEPOSIT, a[1], BANK_MAX_AMOUNT);
	/* Malformed: none of these may be answered, nor change a balance. */
	ask_raw(q, "short", getpid(), BANK_DEPOSIT, a[0], 0, between(1, 12), false);
	ask_raw(q, "pid1", 1, BANK_DEPOSIT, a[0], 1000, BANK_REQUEST_SIZE, false);
	ask_raw(q, "pid0", 0, BANK_DEPOSIT, a[0], 1000, BANK_REQUEST_SIZE, false);
	ask_raw(q, "negative-pid", -getpid(), BANK_DEPOSIT, a[0], 1000, BANK_REQUEST_SIZE, false);
	/* Oversized: the first BANK_REQUEST_SIZE bytes are the request. */
	ask_raw(q, "oversized", getpid(), BANK_DEPOSIT, a[0], between(1, 9), BANK_REQUEST_SIZE + 16,
		true);
	ask(q, BANK_BALANCE, a[0], 0);
	ask(q, BANK_BALANCE, a[1], 0);
	ask(q, BANK_BALANCE, a[2], 0);
	left_for_us(q);
	stop_server("TERM");
}

/* SIGUSR1 while the server waits must interrupt msgrcv (EINTR), and it carries on. */
static void signals(void)
{
	if (!start_server("server")) {
		stop_server("TERM");
		return;
	}
	int q = server_queue();
	if (q < 0) {
		add("queue id=-1");
		emit();
		stop_server("TERM");
		return;
	}
	ask(q, BANK_DEPOSIT, 5, 100);
	for (int n = 1; n <= 2; n++) {
		if (!server_idle("before-usr1"))
			break;
		ask_stats(n);
		if (ended(&server) || !server_idle("after-usr1"))
			break;
		ask(q, n == 1 ? BANK_WITHDRAW : BANK_BALANCE, 5, 30);
	}
	if (!ended(&server))
		server_idle("before-term");
	stop_server("TERM");
}

/* One server ended by SIGTERM, then another by SIGINT, each while it waits in msgrcv. */
static void shutdowns(void)
{
	const char *sigs[] = {"TERM", "INT"};
	for (int i = 0; i < 2; i++) {
		char name[16];
		snprintf(name, sizeof name, "server%d", i + 1);
		if (start_server(name)) {
			add("queue id=%d", server_queue());
			emit();
		}
		stop_server(sigs[i]);
	}
}

/* Clients that send a request and exit, in a queue of SMALL_QUEUE bytes; then live requests. */
static void orphans(void)
{
	if (!start_server("server")) {
		stop_server("TERM");
		return;
	}
	int q = server_queue();
	struct msqid_ds ds;
	if (q < 0 || msgctl(q, IPC_STAT, &ds) != 0) {
		add("queue id=%d", q);
		emit();
		stop_server("TERM");
		return;
	}
	unsigned long old = (unsigned long)ds.msg_qbytes;
	ds.msg_qbytes = SMALL_QUEUE;
	if (msgctl(q, IPC_SET, &ds) != 0)
		die("msgctl(IPC_SET)");
	add("queue id=%d qbytes=%lu was=%lu", q, (unsigned long)SMALL_QUEUE, old);
	emit();
	bool stuck = false;
	for (int k = 1; k <= DYING && !stuck; k++) {
		struct child c;
		memset(&c, 0, sizeof c);
		snprintf(c.name, sizeof c.name, "dying-%d", k);
		long amount = 7L * k;
		c.pid = fork();
		if (c.pid < 0)
			die("fork");
		if (c.pid == 0) {
			struct bank_request req = {BANK_REQUEST, getpid(), BANK_DEPOSIT, k - 1,
						   amount};
			_exit(msgsnd(q, &req, BANK_REQUEST_SIZE, 0) == 0 ? 0 : 1);
		}
		/* Reaped before the next one starts: from then on, kill(pid, 0) says ESRCH. */
		stuck = !wait_ended(&c, PATIENCE_MS);
		add("dying k=%d pid=%d account=%d amount=%ld", k, (int)c.pid, k - 1, amount);
		if (stuck) {
			struct msqid_ds now;
			const char *where = syscall_name(syscall_of(c.pid));
			if (msgctl(q, IPC_STAT, &now) != 0)
				die("msgctl(IPC_STAT)");
			add(" stuck=1 where=%s qnum=%lu cbytes=%lu server=%s", where,
			    (unsigned long)now.msg_qnum, (unsigned long)now.msg_cbytes,
			    server.ended ? "ended" : syscall_name(syscall_of(server.pid)));
			finish(&c);
		} else {
			add(" exit=%d", WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1);
		}
		emit();
		if (ended(&server))
			break;
	}
	if (!stuck && !server.ended && server_idle("after-dying")) {
		if (msgctl(q, IPC_STAT, &ds) != 0)
			die("msgctl(IPC_STAT)");
		add("after-dying qnum=%lu cbytes=%lu", (unsigned long)ds.msg_qnum,
		    (unsigned long)ds.msg_cbytes);
		emit();
		for (int k = 0; k < 5; k++)
			ask(q, BANK_BALANCE, between(0, DYING - 1), 0);
		left_for_us(q);
		server_idle("after-asks");
		ask_stats(1);
	}
	stop_server("TERM");
}

/* Replies that cannot fit: the server is stopped while three clients queue their requests,
 * then msg_qbytes is set below what the queue holds. Two replies cannot be sent at all. */
static void fullqueue(void)
{
	if (!start_server("server")) {
		stop_server("TERM");
		return;
	}
	int q = server_queue();
	struct msqid_ds ds;
	if (q < 0 || msgctl(q, IPC_STAT, &ds) != 0) {
		add("queue id=%d", q);
		emit();
		stop_server("TERM");
		return;
	}
	unsigned long old = (unsigned long)ds.msg_qbytes;
	paused_pid = server.pid; /* stopped on purpose: its stillness is not news */
	kill(server.pid, SIGSTOP);
	if (!wait_stopped(&server, PATIENCE_MS))
		die("the server did not stop");
	struct child c[3];
	const char *names[] = {"A", "B", "C"};
	for (int i = 0; i < 3; i++) {
		memset(&c[i], 0, sizeof c[i]);
		snprintf(c[i].name, sizeof c[i].name, "%s", names[i]);
		c[i].pid = fork();
		if (c[i].pid < 0)
			die("fork");
		if (c[i].pid == 0) {
			struct bank_request req = {BANK_REQUEST, getpid(), BANK_DEPOSIT, 10 + i,
						   100 * (i + 1)};
			struct bank_reply rep;
			if (msgsnd(q, &req, BANK_REQUEST_SIZE, 0) != 0)
				_exit(11);
			if (msgrcv(q, &rep, BANK_REPLY_SIZE, getpid(), 0) < 0)
				_exit(errno == EIDRM ? 10 : 12);
			_exit(0);
		}
		/* One at a time, so that the requests are queued in the order A, B, C. */
		if (!wait_blocked(&c[i], SYS_msgrcv, PATIENCE_MS))
			die("fake client %s did not wait for its reply", names[i]);
		add("fq-client name=%s pid=%d account=%d amount=%d", names[i], (int)c[i].pid,
		    10 + i, 100 * (i + 1));
		emit();
	}
	if (msgctl(q, IPC_STAT, &ds) != 0)
		die("msgctl(IPC_STAT)");
	unsigned long held = (unsigned long)ds.msg_cbytes;
	ds.msg_qbytes = BANK_REPLY_SIZE;
	if (msgctl(q, IPC_SET, &ds) != 0)
		die("msgctl(IPC_SET)");
	add("squeezed cbytes=%lu qbytes=%lu", held, (unsigned long)BANK_REPLY_SIZE);
	emit();
	kill(server.pid, SIGCONT);
	paused_pid = 0;
	bool answered = wait_ended(&c[2], PATIENCE_MS);
	add("third answered=%d", answered);
	if (!answered)
		add(" server=%s", server.ended ? "ended" : syscall_name(syscall_of(server.pid)));
	emit();
	if (msgctl(q, IPC_STAT, &ds) == 0) {
		ds.msg_qbytes = old;
		if (msgctl(q, IPC_SET, &ds) != 0)
			die("msgctl(IPC_SET)");
		if (!server.ended && server_idle("after-squeeze")) {
			ask(q, BANK_BALANCE, 10, 0);
			ask(q, BANK_BALANCE, 12, 0);
			if (server_idle("after-asks"))
				ask_stats(1);
		}
	}
	stop_server("TERM");
	for (int i = 0; i < 3; i++) {
		if (!wait_ended(&c[i], PATIENCE_MS))
			finish(&c[i]);
		add("fq-end name=%s pid=%d", names[i], (int)c[i].pid);
		if (c[i].killed)
			add(" killed=1 blocked=%s", c[i].blocked);
		else
			add(" code=%d", WIFEXITED(c[i].status) ? WEXITSTATUS(c[i].status) : -1);
		emit();
	}
}

/* The tool as the server: one client at a time; decoys queued before each real reply. */
struct fake_case {
	const char *args[4];
	int status;
	long balance;
};

static void send_reply_as_server(int q, long mtype, int status, int op, long account, long balance)
{
	struct bank_reply rep = {mtype, status, op, account, balance};
	if (msgsnd(q, &rep, BANK_REPLY_SIZE, IPC_NOWAIT) != 0)
		die("fake server: msgsnd");
}

static void fake(void)
{
	int q = msgget(bank_key, IPC_CREAT | IPC_EXCL | 0600);
	if (q < 0)
		die("fake server: msgget");
	add("fake-queue id=%d", q);
	emit();
	static char num[12][24];
	/* Status 7 is no status: the client must say so (exit 3). Account 5000000000 does not
	 * fit in an int: the client sends it as it is, and the server says no such account. */
	long a = between(0, BANK_ACCOUNTS - 1), x = between(1, 999);
	snprintf(num[0], sizeof num[0], "%ld", a);
	snprintf(num[1], sizeof num[1], "%ld", x);
	snprintf(num[2], sizeof num[2], "%ld", BANK_ACCOUNTS + between(0, 899));
	snprintf(num[3], sizeof num[3], "-%ld", between(1, 99));
	snprintf(num[4], sizeof num[4], "-%ld", between(1, 99));
	snprintf(num[5], sizeof num[5], "%ldx", between(1, 99));
	struct fake_case cases[] = {
	    {{"balance", num[0], NULL}, BANK_OK, between(0, 99999)},
	    {{"deposit", num[0], num[1], NULL}, BANK_OK, between(1000, 99999)},
	    {{"withdraw", num[0], num[1], NULL}, BANK_OK, between(0, 999)},
	    {{"withdraw", num[0], num[1], NULL}, BANK_NO_FUNDS, between(0, x - 1)},
	    {{"balance", num[2], NULL}, BANK_NO_ACCOUNT, 0},
	    {{"deposit", num[3], num[1], NULL}, BANK_NO_ACCOUNT, 0},
	    {{"deposit", num[0], "0", NULL}, BANK_BAD_REQUEST, 0},
	    {{"withdraw", num[0], num[4], NULL}, BANK_BAD_REQUEST, 0},
	    {{"balance", "5000000000", NULL}, BANK_NO_ACCOUNT, 0},
	    {{"deposit", num[0], num[1], NULL}, 7, between(1, 999)},
	    {{"deposit", num[0], NULL}, -1, 0},
	    {{"transfer", num[0], num[1], NULL}, -1, 0},
	    {{"balance", num[5], NULL}, -1, 0},
	    {{"balance", NULL}, -1, 0},
	};
	static char path[4200];
	snprintf(path, sizeof path, "%s/bank-client", bin);
	for (size_t n = 0; n < sizeof cases / sizeof cases[0]; n++) {
		struct fake_case *fc = &cases[n];
		char *argv[5] = {path};
		char shown[100] = "";
		for (int i = 0; fc->args[i]; i++) {
			argv[i + 1] = (char *)fc->args[i];
			snprintf(shown + strlen(shown), sizeof shown - strlen(shown), "%s%s",
				 i ? " " : "", fc->args[i]);
		}
		struct child c;
		char name[32];
		snprintf(name, sizeof name, "client-%zu", n + 1);
		if (fc->status < 0)
			spawn(&c, name, path, argv);
		else
			spawn_gated(&c, name, path, argv);
		add("fake n=%zu pid=%d usage=%d", n + 1, (int)c.pid, fc->status < 0);
		add_text("args", shown, strlen(shown));
		struct raw_message m;
		ssize_t len;
		if (fc->status < 0) {
			/* Bad usage: there should be no request at all once the client has ended. */
			if (!wait_ended(&c, PATIENCE_MS))
				finish(&c);
			len = msgrcv(q, &m, sizeof m.bytes, BANK_REQUEST, IPC_NOWAIT | MSG_NOERROR);
		} else {
			/* The client starts as we wait: its request is handed to us at once, and a
			 * client receiving with msgtyp 0 cannot take it back itself. */
			len = receive(q, &m, sizeof m.bytes, BANK_REQUEST, PATIENCE_MS, &c);
			gate_joined();
		}
		if (len < 0) {
			add(" request=0");
		} else {
			struct bank_request req = wire_request(m.bytes, (size_t)len);
			add(" request=1 len=%zd rpid=%d op=%d account=%ld amount=%ld", len,
			    (int)req.pid, req.op, req.account, req.amount);
			if (fc->status >= 0) {
				add(" waited=%d", wait_blocked(&c, SYS_msgrcv, PATIENCE_MS));
				/* A client with msgtyp 0 takes the first; one with a fixed reply type
				 * (2) takes the first too. Only msgtyp = its pid skips both. */
				send_reply_as_server(q, 2, BANK_OK, req.op, 77777, 55555);
				send_reply_as_server(q, c.pid + DECOY_SHIFT, BANK_OK, req.op, 88888,
						     66666);
				if (req.pid > 0)
					send_reply_as_server(q, req.pid, fc->status, req.op,
							     req.account, fc->balance);
			}
		}
		add(" status=%d balance=%ld", fc->status, fc->balance);
		if (!wait_ended(&c, PATIENCE_MS))
			finish(&c);
		add_end(&c);
		char left[256] = "";
		while ((len = msgrcv(q, &m, sizeof m.bytes, 0, IPC_NOWAIT | MSG_NOERROR)) >= 0)
			snprintf(left + strlen(left), sizeof left - strlen(left), "%s%ld",
				 left[0] ? "," : "", m.mtype);
		add(" left=%s", left[0] ? left : "none");
		emit();
	}
	if (msgctl(q, IPC_RMID, NULL) != 0)
		die("fake server: msgctl(IPC_RMID)");
}

/* The fake server's queue removed under the client, then how the client ended. */
static void remove_then_report(int q, struct child *c)
{
	if (msgctl(q, IPC_RMID, NULL) != 0)
		die("fake server: msgctl(IPC_RMID)");
	if (!wait_ended(c, PATIENCE_MS))
		finish(c);
	add_end(c);
	emit();
}

/* The fake server takes the request, then removes its queue while the client waits. */
static void gone(void)
{
	int q = msgget(bank_key, IPC_CREAT | IPC_EXCL | 0600);
	if (q < 0)
		die("fake server: msgget");
	static char path[4200], account[24], amount[24];
	snprintf(path, sizeof path, "%s/bank-client", bin);
	snprintf(account, sizeof account, "%ld", between(0, BANK_ACCOUNTS - 1));
	snprintf(amount, sizeof amount, "%ld", between(1, 999));
	char *argv[] = {path, "deposit", account, amount, NULL};
	struct child c;
	spawn_gated(&c, "client", path, argv);
	add("gone pid=%d args=\"deposit %s %s\"", (int)c.pid, account, amount);
	struct raw_message m;
	ssize_t len = receive(q, &m, sizeof m.bytes, BANK_REQUEST, PATIENCE_MS, &c);
	gate_joined();
	add(" request=%d", len >= 0);
	add(" waited=%d", len >= 0 && wait_blocked(&c, SYS_msgrcv, PATIENCE_MS));
	remove_then_report(q, &c);
}

/* The server's queue removed under it while it waits: msgrcv fails (EIDRM), not EINTR. */
static void removed(void)
{
	int q = start_and_announce();
	if (q >= 0 && msgctl(q, IPC_RMID, NULL) != 0)
		die("msgctl(IPC_RMID)");
	if (q >= 0)
		wait_ended(&server, PATIENCE_MS);
	stop_server("TERM");
}

/* A fake server whose queue is full (msg_qbytes 0): the client blocks in msgsnd, and the
 * server removes the queue; the client's msgsnd fails with EIDRM. */
static void gonesend(void)
{
	int q = msgget(bank_key, IPC_CREAT | IPC_EXCL | 0600);
	struct msqid_ds ds;
	if (q < 0 || msgctl(q, IPC_STAT, &ds) != 0)
		die("fake server: msgget");
	ds.msg_qbytes = 0;
	if (msgctl(q, IPC_SET, &ds) != 0)
		die("fake server: msgctl(IPC_SET)");
	static char path[4200], account[24];
	snprintf(path, sizeof path, "%s/bank-client", bin);
	snprintf(account, sizeof account, "%ld", between(0, BANK_ACCOUNTS - 1));
	char *argv[] = {path, "balance", account, NULL};
	struct child c;
	spawn(&c, "client", path, argv);
	add("gonesend pid=%d args=\"balance %s\"", (int)c.pid, account);
	add(" blocked=%d", wait_blocked(&c, SYS_msgsnd, PATIENCE_MS));
	remove_then_report(q, &c);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	main_thread = pthread_self();
	/* Any wait gives up at the latest at 60% of the run's timeout, leaving the rest to report. */
	const char *timeout = getenv("MSGLAB_TIMEOUT_MS");
	long long budget = timeout && atoll(timeout) > 0 ? atoll(timeout) * 6 / 10 : 60000;
	hard_deadline_ms = now_ms() + budget;
	/* Our own process group, so that die() takes everything we started with it. */
	if (setpgid(0, 0) != 0 && errno != EPERM)
		die("setpgid");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_wakeup;
	sa.sa_flags = SA_NOCLDSTOP; /* stopping and continuing the server is not news */
	if (sigemptyset(&sa.sa_mask) != 0 || sigaction(SIGALRM, &sa, NULL) != 0 ||
	    sigaction(SIGCHLD, &sa, NULL) != 0)
		die("sigaction");
	bank_key = ftok(BANK_KEY_PATH, BANK_KEY_PROJ);
	if (bank_key == -1)
		die("ftok");
	if (argc == 2 && !strcmp(argv[1], "stale")) {
		int q = msgget(bank_key, IPC_CREAT | IPC_EXCL | 0600);
		if (q < 0)
			die("msgget");
		printf("stale queue %d key 0x%08x\n", q, (unsigned)bank_key);
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: scenario BIN MODE [SEED] | scenario stale\n");
		return 2;
	}
	bin = argv[1];
	rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) * 1000003u : 1;
	add("key value=0x%08x", (unsigned)bank_key);
	emit();
	static const struct {
		const char *name;
		void (*run)(void);
	} modes[] = {{"crowd", crowd},	      {"replies", replies}, {"signals", signals},
		     {"shutdown", shutdowns}, {"orphans", orphans}, {"fullqueue", fullqueue},
		     {"fake", fake},	      {"gone", gone},	    {"removed", removed},
		     {"gonesend", gonesend},  {"ten", ten}};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (!strcmp(argv[2], modes[i].name)) {
			modes[i].run();
			remove_made();
			add("done");
			emit();
			return 0;
		}
	fprintf(stderr, "scenario: unknown mode %s\n", argv[2]);
	return 2;
}

/*
 * libmsgtrace.so: records every msgget, msgsnd, msgrcv, msgctl, fork and wait of a program, without
 * changing it (LD_PRELOAD). msglab-run passes a pipe in MSGTRACE_FD; each call becomes one line
 * written with a single write() of less than PIPE_BUF bytes, so lines of different processes
 * never interleave. Without MSGTRACE_FD the calls pass straight through.
 *
 * Each process's end is recorded too (call=exit), from exit() or a return from main (a
 * destructor) or _exit(), so tests can tell whether a process had ended before some call;
 * a process killed by a signal has no exit line.
 *
 * Line format (key=value, space separated, always in this order for a given call):
 *   call=msgsnd pid=P ppid=PP t_us=END dur_us=D msqid=Q msgsz=N flags=0xF mtype=T ret=R errno=E
 *        datalen=L data=HEX
 * msgrcv adds msgtyp=T and reports the mtype and data received; msgget has key= and flags=;
 * msgctl has cmd=; fork has ret= the child's pid; wait (wait, waitpid, waitid) has ret= the
 * pid reaped. data holds at most MAX_DATA bytes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>

#define MAX_DATA 1024

static int trace_fd = -1;

__attribute__((constructor)) static void trace_init(void)
{
	const char *fd = getenv("MSGTRACE_FD");
	if (fd && *fd)
		trace_fd = atoi(fd);
}

static long long now_us(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f) {
		/* Nothing sensible can continue without the real call. */
		static const char msg[] = "libmsgtrace: cannot find the real IPC call\n";
		if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0)
			_exit(126);
		_exit(126);
	}
	return f;
}

struct line {
	char buf[4000];
	size_t len;
};

static void add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l->buf + l->len, sizeof l->buf - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len +=
		    (size_t)n < sizeof l->buf - l->len ? (size_t)n : sizeof l->buf - l->len - 1;
}

static void start(struct line *l, const char *call, long long t0)
{
	long long t1 = now_us();
	l->len = 0;
	add(l, "call=%s pid=%d ppid=%d t_us=%lld dur_us=%lld", call, (int)getpid(), (int)getppid(),
	    t1, t1 - t0);
}

static void add_data(struct line *l, const void *data, long len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	long shown = len < MAX_DATA ? len : MAX_DATA;
	add(l, " datalen=%ld data=", len);
	for (long i = 0; i < shown && l->len + 3 < sizeof l->buf; i++) {
		l->buf[l->len++] = hex[p[i] >> 4];
		l->buf[l->len++] = hex[p[i] & 15];
	}
	l->buf[l->len] = '\0';
}

static void finish(struct line *l, long ret, int err)
{
	add(l, " ret=%ld errno=%d\n", ret, ret < 0 ? err : 0);
	/* A failed trace write must not change the program's behaviour or errno. */
	if (write(trace_fd, l->buf, l->len) < 0)
		return;
}

int msgget(key_t key, int msgflg)
{
	static int (*f)(key_t, int);
	if (!f)
		f = (int (*)(key_t, int))real("msgget");
	long long t0 = now_us();
	int ret = f(key, msgflg);
	int err = errno;
	if (trace_fd >= 0) {
		struct line l;
		start(&l, "msgget", t0);
		add(&l, " key=0x%08x flags=0x%x", (unsigned)key, (unsigned)msgflg);
		finish(&l, ret, err);
	}
	errno = err;
	return ret;
}

int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg)
{
	static int (*f)(int, const void *, size_t, int);
	if (!f)
		f = (int (*)(int, const void *, size_t, int))real("msgsnd");
	long long t0 = now_us();
	int ret = f(msqid, msgp, msgsz, msgflg);
	int err = errno;
	if (trace_fd >= 0) {
		struct line l;
		start(&l, "msgsnd", t0);
		add(&l, " msqid=%d msgsz=%zu flags=0x%x", msqid, msgsz, (unsigned)msgflg);
		/* The kernel read the buffer only if it did not fault: never read it ourselves
		 * then. */
		if (msgp && !(ret < 0 && err == EFAULT)) {
			add(&l, " mtype=%ld", *(const long *)msgp);
			if (ret == 0)
				add_data(&l, (const char *)msgp + sizeof(long), (long)msgsz);
		}
		finish(&l, ret, err);
	}
	errno = err;
	return ret;
}

ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg)
{
	static ssize_t (*f)(int, void *, size_t, long, int);
	if (!f)
		f = (ssize_t(*)(int, void *, size_t, long, int))real("msgrcv");
	long long t0 = now_us();
	ssize_t ret = f(msqid, msgp, msgsz, msgtyp, msgflg);
	int err = errno;
	if (trace_fd >= 0) {
		struct line l;
		start(&l, "msgrcv", t0);
		add(&l, " msqid=%d msgsz=%zu msgtyp=%ld flags=0x%x", msqid, msgsz, msgtyp,
		    (unsigned)msgflg);
		if (ret >= 0) {
			add(&l, " mtype=%ld", *(const long *)msgp);
			add_data(&l, (const char *)msgp + sizeof(long), (long)ret);
		}
		finish(&l, (long)ret, err);
	}
	errno = err;
	return ret;
}

int msgctl(int msqid, int cmd, struct msqid_ds *buf)
{
	static int (*f)(int, int, struct msqid_ds *);
	if (!f)
		f = (int (*)(int, int, struct msqid_ds *))real("msgctl");
	long long t0 = now_us();
	int ret = f(msqid, cmd, buf);
	int err = errno;
	if (trace_fd >= 0) {
		struct line l;
		start(&l, "msgctl", t0);
		add(&l, " msqid=%d cmd=%d", msqid, cmd);
		finish(&l, ret, err);
	}
	errno = err;
	return ret;
}

pid_t fork(void)
{
	static pid_t (*f)(void);
	if (!f)
		f = (pid_t(*)(void))real("fork");
	long long t0 = now_us();
	pid_t ret = f();
	int err = errno;
	if (trace_fd >= 0 && ret != 0) {
		struct line l;
		start(&l, "fork", t0);
		finish(&l, ret, err);
	}
	errno = err;
	return ret;
}

static void trace_wait(long long t0, pid_t ret, int err)
{
	if (trace_fd >= 0 && ret != 0) {
		struct line l;
		start(&l, "wait", t0);
		finish(&l, ret, err);
	}
}

pid_t wait(int *status)
{
	static pid_t (*f)(int *);
	if (!f)
		f = (pid_t(*)(int *))real("wait");
	long long t0 = now_us();
	pid_t ret = f(status);
	int err = errno;
	trace_wait(t0, ret, err);
	errno = err;
	return ret;
}

pid_t waitpid(pid_t pid, int *status, int options)
{
	static pid_t (*f)(pid_t, int *, int);
	if (!f)
		f = (pid_t(*)(pid_t, int *, int))real("waitpid");
	long long t0 = now_us();
	pid_t ret = f(pid, status, options);
	int err = errno;
	trace_wait(t0, ret, err);
	errno = err;
	return ret;
}

int waitid(idtype_t idtype, id_t id, siginfo_t *infop, int options)
{
	static int (*f)(idtype_t, id_t, siginfo_t *, int);
	if (!f)
		f = (int (*)(idtype_t, id_t, siginfo_t *, int))real("waitid");
	long long t0 = now_us();
	int ret = f(idtype, id, infop, options);
	int err = errno;
	/* Only a real reaping counts: WNOWAIT leaves the child a zombie. */
	if (!(options & WNOWAIT))
		trace_wait(t0, ret == 0 && infop ? infop->si_pid : ret, err);
	errno = err;
	return ret;
}

__attribute__((destructor)) static void trace_exit(void)
{
	if (trace_fd >= 0) {
		struct line l;
		start(&l, "exit", now_us());
		finish(&l, 0, 0);
	}
}

void _exit(int status)
{
	static void (*f)(int);
	if (!f)
		f = (void (*)(int))real("_exit");
	if (trace_fd >= 0) {
		struct line l;
		start(&l, "exit", now_us());
		finish(&l, status, 0);
	}
	f(status);
	__builtin_unreachable();
}

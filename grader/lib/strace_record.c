/*
 * strace output -> struct trace_call records (see strace_record.h).
 *
 * The input is written by strace about a program we do not trust, and strace itself may be
 * killed mid-write, so nothing in it is assumed: each line is copied into a NUL-terminated
 * buffer before it is looked at, every bracket and string is matched before it is believed,
 * and a line that does not parse is skipped. The lines this parser understands:
 *
 * (PID is padded with spaces to five columns)
 *   PID SEC.USEC msgsnd(32813, {mtype=1, mtext="\x68\x65"}, 2, 0) = 0 <0.000154>
 *   PID SEC.USEC msgrcv(32814,  <unfinished ...>
 *   PID SEC.USEC <... msgrcv resumed>{mtype=7, mtext="\x61"}, 100, 7, 0) = 1 <0.100474>
 *   PID SEC.USEC msgrcv(32817, 0x7ffd786912b0, 10, 0, 0) = ? ERESTARTNOHAND (...) <0.1>
 *   PID SEC.USEC +++ exited with 3 +++
 *
 * An unfinished call waits, per pid, for its resumed line; the two halves are joined into one
 * call whose start time is the unfinished line's (-T on the resumed line counts from there).
 */
#define _GNU_SOURCE /* sigabbrev_np */
#include "strace_record.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The kernel's flag bits that decide what a call means; -X raw prints them as numbers. */
#define CLONE_THREAD_BIT 0x00010000 /* a thread, not a process: no fork record */
#define CLONE_PARENT_BIT 0x00008000 /* the new process is its creator's sibling */
#define WNOWAIT_BIT	 0x01000000 /* waitid only looked: the child is still a zombie */
#define IPC_64_BIT                                                                                 \
	0x0100 /* added to msgctl's cmd by some C libraries; the kernel
				       strips it too */

#define MAX_ARGS 8

/* The errno names strace can print for the traced calls, as <errno.h> numbers them. */
static const struct {
	const char *name;
	int value;
} errno_names[] = {
    {"EPERM", EPERM},
    {"ENOENT", ENOENT},
    {"ESRCH", ESRCH},
    {"EINTR", EINTR},
    {"EIO", EIO},
    {"ENXIO", ENXIO},
    {"E2BIG", E2BIG},
    {"ENOEXEC", ENOEXEC},
    {"EBADF", EBADF},
    {"ECHILD", ECHILD},
    {"EAGAIN", EAGAIN},
    {"ENOMEM", ENOMEM},
    {"EACCES", EACCES},
    {"EFAULT", EFAULT},
    {"EBUSY", EBUSY},
    {"EEXIST", EEXIST},
    {"ENOTDIR", ENOTDIR},
    {"EISDIR", EISDIR},
    {"EINVAL", EINVAL},
    {"ENFILE", ENFILE},
    {"EMFILE", EMFILE},
    {"ETXTBSY", ETXTBSY},
    {"ENOSPC", ENOSPC},
    {"ERANGE", ERANGE},
    {"EDEADLK", EDEADLK},
    {"ENAMETOOLONG", ENAMETOOLONG},
    {"ENOSYS", ENOSYS},
    {"ELOOP", ELOOP},
    {"ENOMSG", ENOMSG},
    {"EIDRM", EIDRM},
    {"EOVERFLOW", EOVERFLOW},
    {"EOPNOTSUPP", EOPNOTSUPP},
    {"ENOTSUP", ENOTSUP},
    {"EUSERS", EUSERS},
    {"ELIBBAD", ELIBBAD},
    {"EWOULDBLOCK", EWOULDBLOCK},
};

enum kind {
	K_NONE,
	K_MSGGET,
	K_MSGSND,
	K_MSGRCV,
	K_MSGCTL,
	K_WAIT4,
	K_WAITID,
	K_CLONE,
	K_CLONE3,
	K_FORK,
	K_EXECVE
};

static const struct {
	const char *name;
	enum kind kind;
} call_names[] = {
    {"msgget", K_MSGGET}, {"msgsnd", K_MSGSND}, {"msgrcv", K_MSGRCV}, {"msgctl", K_MSGCTL},
    {"wait4", K_WAIT4},	  {"waitid", K_WAITID}, {"clone", K_CLONE},   {"clone3", K_CLONE3},
    {"fork", K_FORK},	  {"vfork", K_FORK},	{"execve", K_EXECVE},
};

/* A piece of the current line: [p, p + n). */
struct slice {
	const char *p;
	size_t n;
};

struct rec {
	struct trace_call c;
	size_t seq; /* input order: the sort keeps calls that ended together in it */
};

/* A clone/fork that returned a pid: who made it, and whether its parent is someone else. */
struct creation {
	int child, creator;
	bool parent_is_creators; /* a thread, or CLONE_PARENT: the creator's own parent */
	bool thread;
	size_t seq;
};

/* A call strace showed as "<unfinished ...>", waiting for its "<... NAME resumed>" line. */
struct pending {
	int pid;
	char name[16];
	long long start_us;
	char *prefix; /* its arguments up to the interruption */
};

/* A wait that ended in ERESTARTSYS: EINTR, or restarted by the kernel, which strace does not
 * say; the same process's next call decides (see strace_record.h). */
struct held {
	int pid;
	char name[16];
	struct trace_call c;
};

/* When a process called exit or exit_group: the moment it ended, as the old trace had it.
 * strace's "+++ exited" line comes later, after its parent may already have reaped it. */
struct ending {
	int pid;
	long long t_us;
};

struct state {
	struct rec *recs;
	size_t nrecs, caprecs;
	struct creation *creations;
	size_t ncreations, capcreations;
	struct pending *pending;
	size_t npending, cappending;
	struct held *held;
	size_t nheld, capheld;
	struct ending *endings;
	size_t nendings, capendings;
	char *line; /* the current line, NUL-terminated */
	size_t capline;
	char *joined; /* an unfinished call's prefix plus its resumed rest */
	size_t capjoined;
	size_t seq;
	bool oom;
	int main_pid;
	long long exec_us; /* when main_pid's last execve that succeeded ended; -1: none */
};

/* arr (or a new copy of it) with room for n + 1 elements of size; NULL (and s->oom) when out of
 * memory, arr then unchanged. */
static void *grow(struct state *s, void *arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return arr;
	size_t want = *cap ? *cap * 2 : 16;
	while (want <= n && want <= SIZE_MAX / 2)
		want *= 2;
	if (want <= n || want > SIZE_MAX / size) {
		s->oom = true;
		return NULL;
	}
	void *p = realloc(arr, want * size);
	if (!p) {
		s->oom = true;
		return NULL;
	}
	*cap = want;
	return p;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}

/* A decimal number of 1 to max digits at *p (max <= 18 keeps it far from overflow). */
static bool digits(const char **p, int max, long long *out)
{
	long long v = 0;
	int n = 0;
	while (is_digit(**p)) {
		if (++n > max)
			return false;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return n > 0;
}

/* An identifier at *p into name (at most size - 1 characters); false if none or too long. */
static bool ident(const char **p, char *name, size_t size)
{
	size_t n = 0;
	while (is_ident((*p)[n])) {
		if (n + 1 >= size)
			return false;
		name[n] = (*p)[n];
		n++;
	}
	name[n] = '\0';
	*p += n;
	return n > 0;
}

/* SEC.FRACTION as microseconds (the fraction's first six digits). */
static bool timestamp(const char **p, long long *us)
{
	long long sec, frac = 0;
	if (!digits(p, 12, &sec) || **p != '.')
		return false;
	(*p)++;
	int n = 0;
	while (is_digit(**p)) {
		if (n < 6)
			frac = frac * 10 + (**p - '0');
		if (++n > 9)
			return false;
		(*p)++;
	}
	if (n == 0)
		return false;
	for (; n < 6; n++)
		frac *= 10;
	*us = sec * 1000000 + frac;
	return true;
}

/* One number as strace prints it: decimal, 0x hex or 0 octal, maybe negative. Names (as
 * without -X raw) are not numbers. */
static bool number(const char *p, size_t n, long long *out)
{
	char buf[32];
	while (n > 0 && *p == ' ') {
		p++;
		n--;
	}
	while (n > 0 && p[n - 1] == ' ')
		n--;
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	char *end;
	errno = 0;
	long long v = strtoll(buf, &end, 0);
	if (*end != '\0' || end == buf)
		return false;
	if (errno == ERANGE && buf[0] != '-') {
		/* Sizes are printed unsigned: keep the bits of one that does not fit. */
		errno = 0;
		unsigned long long u = strtoull(buf, &end, 0);
		if (errno == 0 && *end == '\0')
			v = (long long)u;
	}
	*out = v;
	return true;
}

/* Flags as strace prints them: numbers joined by '|' ("0x200|0600"), ORed; a name (only
 * without -X raw) counts as 0. False if no part is a number. */
static bool flags_value(struct slice a, long long *out)
{
	long long v = 0;
	bool any = false;
	const char *p = a.p, *end = a.p + a.n;
	for (;;) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		const char *stop = bar ? bar : end;
		long long part;
		if (number(p, (size_t)(stop - p), &part)) {
			v |= part;
			any = true;
		}
		if (!bar)
			break;
		p = bar + 1;
	}
	*out = v;
	return any;
}

/* The closing quote of the string that opens at p, or NULL if it never closes. */
static const char *string_end(const char *p, const char *end)
{
	for (const char *q = p + 1; q < end; q++) {
		if (*q == '\\') {
			if (++q >= end)
				return NULL;
		} else if (*q == '"') {
			return q;
		}
	}
	return NULL;
}

static struct slice trim(const char *p, const char *q)
{
	while (p < q && *p == ' ')
		p++;
	while (q > p && q[-1] == ' ')
		q--;
	return (struct slice){p, (size_t)(q - p)};
}

/*
 * Split [p, end) at the commas outside strings and brackets, up to the first unmatched closing
 * bracket: the end of an argument list or of a struct's fields. Stores at most MAX_ARGS items.
 * Returns the closing bracket, or NULL if there is none or a string never closes.
 */
static const char *split(const char *p, const char *end, struct slice *items, int *n)
{
	int depth = 0;
	const char *item = p;
	*n = 0;
	for (; p < end; p++) {
		if (*p == '"') {
			p = string_end(p, end);
			if (!p)
				return NULL;
		} else if (*p == '(' || *p == '[' || *p == '{') {
			depth++;
		} else if (*p == ')' || *p == ']' || *p == '}' || (*p == ',' && depth == 0)) {
			if (*p != ',' && depth-- > 0)
				continue;
			if (*n < MAX_ARGS)
				items[(*n)++] = trim(item, p);
			if (*p != ',')
				return p;
			item = p + 1;
		}
	}
	return NULL;
}

/* A signal as strace prints it, SIGTERM or 15 (-X raw prints some as numbers): its number, or
 * 0 when it is neither. */
static int signal_number(const char *p, size_t n)
{
	long long v;
	if (number(p, n, &v))
		return v > 0 && v < 128 ? (int)v : 0;
	while (n > 0 && *p == ' ') {
		p++;
		n--;
	}
	if (n < 4 || memcmp(p, "SIG", 3) != 0)
		return 0;
	for (int sig = 1; sig < 65; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev && strlen(abbrev) == n - 3 && !memcmp(p + 3, abbrev, n - 3))
			return sig;
	}
	return 0;
}

/* wait4's status as strace prints it: "[{WIFEXITED(s) && WEXITSTATUS(s) == 3}]" or
 * "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGTERM && WCOREDUMP(s)}]" (NULL: not asked). */
static void wait_status(struct slice a, struct trace_call *c)
{
	char buf[160];
	size_t n = a.n < sizeof buf - 1 ? a.n : sizeof buf - 1;
	memcpy(buf, a.p, n);
	buf[n] = '\0';
	const char *at;
	long long v;
	if ((at = strstr(buf, "WEXITSTATUS(s) == ")) != NULL) {
		at += 18;
		if (number(at, strcspn(at, "}&"), &v))
			c->reaped_exit = (int)v;
	} else if ((at = strstr(buf, "WTERMSIG(s) == ")) != NULL) {
		at += 15;
		c->reaped_signal = signal_number(at, strcspn(at, " }&"));
	}
}

/* The value of field name in a struct as strace prints it ("{si_pid=12, ...}"), possibly
 * followed by more (clone3's "{...} => {...}"). */
static bool field(struct slice a, const char *name, struct slice *value)
{
	struct slice items[MAX_ARGS];
	int n;
	if (a.n == 0 || a.p[0] != '{' || !split(a.p + 1, a.p + a.n, items, &n))
		return false;
	size_t len = strlen(name);
	for (int i = 0; i < n; i++)
		if (items[i].n > len && !memcmp(items[i].p, name, len) && items[i].p[len] == '=') {
			*value = (struct slice){items[i].p + len + 1, items[i].n - len - 1};
			return true;
		}
	return false;
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The character that \c stands for in a C string: \n and the like, else c itself (\\, \"). */
static char escape(char c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 't':
		return '\t';
	case 'r':
		return '\r';
	case 'v':
		return '\v';
	case 'f':
		return '\f';
	case 'a':
		return '\a';
	case 'b':
		return '\b';
	default:
		return c;
	}
}

/* The bytes of a C string literal as strace prints it (with -xx every byte is \xNN; the other
 * escapes are decoded too), at most STRACE_RECORD_MAX_DATA of them, into out. */
static bool string_bytes(struct slice a, unsigned char *out, size_t *n)
{
	*n = 0;
	if (a.n < 2 || a.p[0] != '"')
		return false;
	const char *end = string_end(a.p, a.p + a.n);
	if (!end)
		return false;
	for (const char *p = a.p + 1; p < end && *n < STRACE_RECORD_MAX_DATA; p++) {
		unsigned char byte = (unsigned char)*p;
		if (*p == '\\') {
			/* string_end() saw a character after every backslash before end. */
			p++;
			if (*p == 'x' && p + 1 < end && hex_value(p[1]) >= 0) {
				int v = 0;
				for (int k = 0; k < 2 && p + 1 < end && hex_value(p[1]) >= 0; k++)
					v = v * 16 + hex_value(*++p);
				byte = (unsigned char)v;
			} else if (*p >= '0' && *p <= '7') {
				int v = *p - '0';
				for (int k = 0; k < 2 && p + 1 < end && p[1] >= '0' && p[1] <= '7';
				     k++)
					v = v * 8 + (*++p - '0');
				byte = (unsigned char)v;
			} else {
				byte = (unsigned char)escape(*p);
			}
		}
		out[(*n)++] = byte;
	}
	return true;
}

/* A message buffer as strace shows it, {mtype=N, mtext="..."}: its type and the first bytes
 * of its text (strace shows msgsz bytes, at most its -s). */
static void msgbuf(struct slice a, struct trace_call *c, unsigned char *text, size_t *textlen)
{
	struct slice v;
	long long mtype;
	*textlen = 0;
	if (field(a, "mtype", &v) && number(v.p, v.n, &mtype)) {
		c->has_mtype = true;
		c->mtype = (long)mtype;
	}
	if (field(a, "mtext", &v))
		string_bytes(v, text, textlen);
}

/* Keep the first n of the len bytes at text as the record's data (always allocated, so that a
 * record with data has a pointer even for 0 bytes, as the old trace's had). */
static bool set_data(struct state *s, struct trace_call *c, const unsigned char *text, size_t len,
		     long long n)
{
	size_t shown = len;
	if (n < 0)
		shown = 0;
	else if ((unsigned long long)n < shown)
		shown = (size_t)n;
	c->data = malloc(shown ? shown : 1);
	if (!c->data) {
		s->oom = true;
		return false;
	}
	memcpy(c->data, text, shown);
	c->shown = shown;
	return true;
}

static void add_record(struct state *s, struct trace_call *c)
{
	struct rec *recs = grow(s, s->recs, &s->caprecs, s->nrecs, sizeof *s->recs);
	if (!recs) {
		free(c->data);
		return;
	}
	s->recs = recs;
	s->recs[s->nrecs++] = (struct rec){*c, s->seq++};
}

static void add_creation(struct state *s, int child, int creator, long long flags)
{
	struct creation *cr =
	    grow(s, s->creations, &s->capcreations, s->ncreations, sizeof *s->creations);
	if (!cr)
		return;
	s->creations = cr;
	bool thread = (flags & CLONE_THREAD_BIT) != 0;
	s->creations[s->ncreations++] = (struct creation){
	    child, creator, thread || (flags & CLONE_PARENT_BIT) != 0, thread, s->seq++};
}

static struct pending *find_pending(struct state *s, int pid)
{
	for (size_t i = 0; i < s->npending; i++)
		if (s->pending[i].pid == pid)
			return &s->pending[i];
	return NULL;
}

static void drop_pending(struct state *s, struct pending *p)
{
	free(p->prefix);
	*p = s->pending[--s->npending];
}

static struct held *find_held(struct state *s, int pid)
{
	for (size_t i = 0; i < s->nheld; i++)
		if (s->held[i].pid == pid)
			return &s->held[i];
	return NULL;
}

/* Settle pid's held wait: it was restarted if the process's next call is the same call
 * (name, or NULL when the process ended: then it really returned EINTR). */
static void settle_held(struct state *s, int pid, const char *name, bool killed)
{
	struct held *h = find_held(s, pid);
	if (!h)
		return;
	if (killed || (name && !strcmp(h->name, name)))
		free(h->c.data);
	else
		add_record(s, &h->c);
	*h = s->held[--s->nheld];
}

/*
 * One whole call: name, the text after its '(' (NUL-terminated), when it started, and when
 * its resumed line was written (-1 if strace showed it on one line). Adds its record, if it is
 * one of the calls recorded and it completed.
 */
static void parse_call(struct state *s, int pid, const char *name, const char *args,
		       long long start_us, long long resumed_us)
{
	enum kind kind = K_NONE;
	for (size_t i = 0; i < sizeof call_names / sizeof call_names[0]; i++)
		if (!strcmp(name, call_names[i].name))
			kind = call_names[i].kind;
	if (kind == K_NONE)
		return;

	struct slice a[MAX_ARGS];
	int n;
	const char *p = split(args, args + strlen(args), a, &n);
	if (!p || *p != ')')
		return;
	for (p++; *p == ' '; p++)
		;
	if (*p++ != '=')
		return;
	while (*p == ' ')
		p++;

	/* The result: a number (with an errno name when negative), or "?" when the call never
	 * returned (exit_group, a process killed while blocked) or a signal interrupted it. */
	long long ret;
	int err = 0;
	bool restartable = false;
	char word[32];
	if (*p == '?') {
		p++;
		while (*p == ' ')
			p++;
		if (!ident(&p, word, sizeof word))
			return;
		/* A handler ran, so the program saw EINTR (ERESTARTNOHAND, _RESTARTBLOCK), or it
		 * might have been restarted (ERESTARTSYS: SA_RESTART); ERESTARTNOINTR always is. */
		if (!strcmp(word, "ERESTARTSYS"))
			restartable = true;
		else if (strcmp(word, "ERESTARTNOHAND") && strcmp(word, "ERESTART_RESTARTBLOCK"))
			return;
		ret = -1;
		err = EINTR;
	} else {
		const char *q = p;
		if (*q == '-')
			q++;
		while (is_ident(*q))
			q++;
		if (!number(p, (size_t)(q - p), &ret))
			return;
		p = q;
		if (ret < 0) {
			while (*p == ' ')
				p++;
			long long num;
			const char *w = p;
			if (ident(&p, word, sizeof word)) {
				for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0];
				     i++)
					if (!strcmp(word, errno_names[i].name))
						err = errno_names[i].value;
				if (!err && number(w, (size_t)(p - w), &num) && num > 0 &&
				    num < 4096)
					err = (int)num;
			}
		}
	}

	/* -T: "<SEC.USEC>" ends the line. */
	long long dur = 0;
	const char *lt = strrchr(p, '<');
	if (lt) {
		const char *q = lt + 1;
		long long d;
		if (timestamp(&q, &d) && !strcmp(q, ">"))
			dur = d;
	}

	struct trace_call c;
	memset(&c, 0, sizeof c);
	c.pid = pid;
	c.msqid = -1;
	c.cmd = -1;
	/* When the call ended. strace takes -T's starting time after it has printed the call's
	 * first line, so start + -T falls short by however long that took: a vforked child's
	 * exit line could then seem to come after the vfork that waited for it. A resumed line's
	 * own time is taken when the call had returned, so it is the end for a split call. */
	c.t_us = resumed_us >= 0 ? resumed_us : start_us + dur;
	c.dur_us = dur;
	c.ret = (long)ret;
	c.err = ret < 0 ? err : 0;

	long long v;
	unsigned char text[STRACE_RECORD_MAX_DATA];
	size_t textlen = 0;
	struct slice value;
	switch (kind) {
	case K_MSGGET:
		if (n < 2)
			return;
		strcpy(c.call, "msgget");
		if (number(a[0].p, a[0].n, &v))
			c.key = (unsigned)v;
		if (flags_value(a[1], &v))
			c.flags = (int)v;
		break;
	case K_MSGSND:
	case K_MSGRCV:
		if (n < (kind == K_MSGSND ? 4 : 5))
			return;
		strcpy(c.call, kind == K_MSGSND ? "msgsnd" : "msgrcv");
		if (number(a[0].p, a[0].n, &v))
			c.msqid = (int)v;
		if (number(a[2].p, a[2].n, &v))
			c.msgsz = (long)v;
		if (kind == K_MSGRCV && number(a[3].p, a[3].n, &v))
			c.msgtyp = (long)v;
		if (flags_value(a[kind == K_MSGSND ? 3 : 4], &v))
			c.flags = (int)v;
		/* Like the old trace: msgsnd's type whenever strace could read it, and its
		 * bytes once sent; msgrcv's type and bytes only when it received some. strace
		 * shows msgrcv's buffer up to msgsz: only the first ret bytes are the message. */
		if (kind == K_MSGSND || ret >= 0)
			msgbuf(a[1], &c, text, &textlen);
		if (kind == K_MSGSND && ret == 0) {
			c.datalen = c.msgsz;
			if (!set_data(s, &c, text, textlen, c.msgsz))
				return;
		} else if (kind == K_MSGRCV && ret >= 0) {
			c.datalen = (long)ret;
			if (!set_data(s, &c, text, textlen, ret))
				return;
		}
		break;
	case K_MSGCTL:
		if (n < 2)
			return;
		strcpy(c.call, "msgctl");
		if (number(a[0].p, a[0].n, &v))
			c.msqid = (int)v;
		if (flags_value(a[1], &v))
			c.cmd = (int)(v & ~(long long)IPC_64_BIT);
		break;
	case K_WAIT4:
		if (ret == 0) /* WNOHANG and nothing to reap */
			return;
		strcpy(c.call, "wait");
		c.reaped_exit = -1;
		if (ret > 0 && n >= 2)
			wait_status(a[1], &c);
		break;
	case K_WAITID:
		if (n < 4 || !flags_value(a[3], &v) || (v & WNOWAIT_BIT))
			return;
		c.reaped_exit = -1;
		if (ret == 0) {
			/* waitid returns 0; the reaped child is in the siginfo ({} if none). */
			if (!field(a[2], "si_pid", &value) || !number(value.p, value.n, &v) ||
			    v <= 0)
				return;
			c.ret = (long)v;
			/* si_code CLD_EXITED (1): si_status is the exit status; CLD_KILLED (2) and
			 * CLD_DUMPED (3): the signal. */
			long long code;
			struct slice status;
			if (field(a[2], "si_code", &value) && number(value.p, value.n, &code) &&
			    field(a[2], "si_status", &status)) {
				if (code == 1 && number(status.p, status.n, &v))
					c.reaped_exit = (int)v;
				else if (code == 2 || code == 3)
					c.reaped_signal = signal_number(status.p, status.n);
			}
		}
		strcpy(c.call, "wait");
		break;
	case K_CLONE:
	case K_CLONE3:
	case K_FORK:
		v = 0;
		if (kind == K_CLONE3 && n >= 1 && field(a[0], "flags", &value)) {
			flags_value(value, &v);
		} else if (kind == K_CLONE) {
			for (int i = 0; i < n; i++)
				if (a[i].n > 6 && !memcmp(a[i].p, "flags=", 6))
					flags_value((struct slice){a[i].p + 6, a[i].n - 6}, &v);
		}
		if (ret == 0) /* the child's side: its parent's line has the record */
			return;
		if (ret > 0 && ret <= INT_MAX)
			add_creation(s, (int)ret, pid, v);
		if (v & CLONE_THREAD_BIT)
			return;
		strcpy(c.call, "fork");
		break;
	case K_EXECVE:
		if (ret == 0 && pid == s->main_pid)
			s->exec_us = c.t_us;
		return;
	case K_NONE:
		return;
	}

	if (restartable) {
		struct held *held = grow(s, s->held, &s->capheld, s->nheld, sizeof *s->held);
		if (!held) {
			free(c.data);
			return;
		}
		s->held = held;
		struct held *h = &s->held[s->nheld++];
		h->pid = pid;
		strcpy(h->name, name);
		h->c = c;
		return;
	}
	add_record(s, &c);
}

static void note_ending(struct state *s, int pid, long long t_us)
{
	for (size_t i = 0; i < s->nendings; i++)
		if (s->endings[i].pid == pid) {
			s->endings[i].t_us = t_us;
			return;
		}
	struct ending *e = grow(s, s->endings, &s->capendings, s->nendings, sizeof *s->endings);
	if (!e)
		return;
	s->endings = e;
	s->endings[s->nendings++] = (struct ending){pid, t_us};
}

static void parse_line(struct state *s, const char *p)
{
	static const char unfinished[] = " <unfinished ...>";
	long long pid, start;
	char name[16];

	/* strace pads the pid to five columns: "123   1796169520.925232 ". */
	if (!digits(&p, 9, &pid) || pid <= 0 || *p != ' ')
		return;
	while (*p == ' ')
		p++;
	if (!timestamp(&p, &start) || *p++ != ' ')
		return;

	if (!strncmp(p, "+++ ", 4)) {
		/* The process ended: normally ("exited with N") or killed (no line at all with
		 * -e signal=none, but "killed by" if signals were shown). */
		long long status;
		const char *q = p + 4;
		bool exited = !strncmp(q, "exited with ", 12);
		q += exited ? 12 : 0;
		exited = exited && digits(&q, 3, &status) && !strcmp(q, " +++");
		long long ended = start;
		for (size_t i = 0; i < s->nendings; i++)
			if (s->endings[i].pid == (int)pid) {
				ended = s->endings[i].t_us;
				s->endings[i] = s->endings[--s->nendings];
				break;
			}
		settle_held(s, (int)pid, NULL, !exited);
		struct pending *pe = find_pending(s, (int)pid);
		if (pe)
			drop_pending(s, pe);
		if (exited) {
			struct trace_call c;
			memset(&c, 0, sizeof c);
			strcpy(c.call, "exit");
			c.pid = (int)pid;
			c.msqid = -1;
			c.cmd = -1;
			c.t_us = ended;
			c.ret = (long)status;
			add_record(s, &c);
		}
		return;
	}

	if (!strncmp(p, "<... ", 5)) {
		p += 5;
		if (!ident(&p, name, sizeof name) || strncmp(p, " resumed>", 9))
			return;
		p += 9;
		struct pending *pe = find_pending(s, (int)pid);
		if (!pe)
			return;
		if (strcmp(pe->name, name)) {
			drop_pending(s, pe);
			return;
		}
		/* Join the two halves: the arguments before the interruption, then the rest. */
		size_t a = strlen(pe->prefix), b = strlen(p);
		char *joined = grow(s, s->joined, &s->capjoined, a + b, 1);
		if (!joined)
			return;
		s->joined = joined;
		memcpy(s->joined, pe->prefix, a);
		memcpy(s->joined + a, p, b + 1);
		long long started = pe->start_us;
		drop_pending(s, pe);
		parse_call(s, (int)pid, name, s->joined, started, start);
		return;
	}

	if (!ident(&p, name, sizeof name) || *p++ != '(')
		return;
	/* A new call: it settles a wait the process left in ERESTARTSYS. */
	settle_held(s, (int)pid, name, false);
	if (!strcmp(name, "exit_group") || !strcmp(name, "exit"))
		note_ending(s, (int)pid, start);
	size_t len = strlen(p), ulen = sizeof unfinished - 1;
	if (len >= ulen && !strcmp(p + len - ulen, unfinished)) {
		struct pending *pe = find_pending(s, (int)pid);
		if (pe)
			drop_pending(s, pe); /* its resumed line never came */
		struct pending *pending =
		    grow(s, s->pending, &s->cappending, s->npending, sizeof *s->pending);
		if (!pending)
			return;
		s->pending = pending;
		char *prefix = malloc(len - ulen + 1);
		if (!prefix) {
			s->oom = true;
			return;
		}
		memcpy(prefix, p, len - ulen);
		prefix[len - ulen] = '\0';
		s->pending[s->npending++] = (struct pending){(int)pid, "", start, prefix};
		strcpy(s->pending[s->npending - 1].name, name);
		return;
	}
	parse_call(s, (int)pid, name, p, start, -1);
}

static int by_child(const void *x, const void *y)
{
	const struct creation *a = x, *b = y;
	if (a->child != b->child)
		return a->child < b->child ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int by_time(const void *x, const void *y)
{
	const struct rec *a = x, *b = y;
	if (a->c.t_us != b->c.t_us)
		return a->c.t_us < b->c.t_us ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The latest creation of pid (creations sorted by child), or NULL. */
static const struct creation *creation_of(const struct state *s, int pid)
{
	size_t lo = 0, hi = s->ncreations;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->creations[mid].child <= pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && s->creations[lo - 1].child == pid ? &s->creations[lo - 1] : NULL;
}

static int ppid_of(const struct state *s, int pid, int main_pid)
{
	/* Bounded: a garbled input may make a cycle of creators. */
	for (int hops = 0; hops < 64; hops++) {
		if (pid == main_pid)
			return 1;
		const struct creation *c = creation_of(s, pid);
		if (!c)
			return 0;
		if (!c->parent_is_creators)
			return c->creator;
		pid = c->creator;
	}
	return 0;
}

static void free_state(struct state *s)
{
	for (size_t i = 0; i < s->nrecs; i++)
		free(s->recs[i].c.data);
	for (size_t i = 0; i < s->npending; i++)
		free(s->pending[i].prefix);
	for (size_t i = 0; i < s->nheld; i++)
		free(s->held[i].c.data);
	free(s->recs);
	free(s->creations);
	free(s->pending);
	free(s->held);
	free(s->endings);
	free(s->line);
	free(s->joined);
}

int strace_record_parse(const char *text, size_t len, int main_pid, struct trace_call **calls,
			size_t *ncalls, long long *exec_us)
{
	struct state s;
	memset(&s, 0, sizeof s);
	s.main_pid = main_pid;
	s.exec_us = -1;
	*calls = NULL;
	*ncalls = 0;
	if (exec_us)
		*exec_us = -1;

	for (size_t off = 0; off < len && !s.oom;) {
		const char *nl = memchr(text + off, '\n', len - off);
		if (!nl)
			break; /* strace stopped mid-line: the rest is not a whole line */
		size_t n = (size_t)(nl - (text + off));
		char *line = grow(&s, s.line, &s.capline, n, 1);
		if (line) {
			s.line = line;
			memcpy(s.line, text + off, n);
			s.line[n] = '\0';
			parse_line(&s, s.line);
		}
		off += n + 1;
	}
	if (s.oom) {
		free_state(&s);
		return -1;
	}
	if (exec_us)
		*exec_us = s.exec_us;

	/* A wait still held was followed by nothing: the process died in it or the record
	 * ends there; either way the program never saw its result. */
	for (size_t i = 0; i < s.nheld; i++)
		free(s.held[i].c.data);
	s.nheld = 0;

	if (s.ncreations > 0)
		qsort(s.creations, s.ncreations, sizeof *s.creations, by_child);
	size_t kept = 0;
	for (size_t i = 0; i < s.nrecs; i++) {
		struct rec *r = &s.recs[i];
		const struct creation *cr = creation_of(&s, r->c.pid);
		/* A thread that ends is not a process that ends. */
		if (!strcmp(r->c.call, "exit") && cr && cr->thread && r->c.pid != main_pid) {
			free(r->c.data);
			continue;
		}
		r->c.ppid = ppid_of(&s, r->c.pid, main_pid);
		s.recs[kept++] = *r;
	}
	s.nrecs = kept;
	if (s.nrecs > 0)
		qsort(s.recs, s.nrecs, sizeof *s.recs, by_time);

	if (s.nrecs > 0) {
		*calls = malloc(s.nrecs * sizeof **calls);
		if (!*calls) {
			free_state(&s);
			return -1;
		}
		for (size_t i = 0; i < s.nrecs; i++)
			(*calls)[i] = s.recs[i].c;
		*ncalls = s.nrecs;
		s.nrecs = 0; /* the data now belongs to the caller */
	}
	free_state(&s);
	return 0;
}

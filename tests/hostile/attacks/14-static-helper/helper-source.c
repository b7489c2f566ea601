/* Attack 14's embedded static program (no libc, so LD_PRELOAD cannot enter it), x86-64 Linux.
 *   helper mk   BACK ARGS...  makes a queue: H14_DECOY=<id> H14_PHASE=B, then execve BACK ARGS
 *   helper send BACK ARGS...  sends ARGS' texts (after -k PATH) then an empty type-2 message to
 *                             the queue $H14_Q: H14_PHASE=D, then execve BACK ARGS
 * Build: cc -Os -static -nostdlib -fno-pie -no-pie -fno-stack-protector
 *        -fno-asynchronous-unwind-tables -Wl,--build-id=none -s -o helper helper.c */
static long sys(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
}
static int eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}
static int starts(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}
static char *num(char *out, long v)
{
	char t[24];
	int n = 0;
	if (v < 0)
		*out++ = '-', v = -v;
	do
		t[n++] = (char)('0' + v % 10), v /= 10;
	while (v);
	while (n)
		*out++ = t[--n];
	*out = 0;
	return out;
}
static struct {
	long mtype;
	char mtext[512];
} msg;
static char phase[] = "H14_PHASE=?", decoy[40] = "H14_DECOY=";
static char *env[512];
void go(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
	int n = 0;
	long q = -1;
	for (char **e = envp; *e && n < 500; e++) {
		if (starts(*e, "H14_Q="))
			for (char *p = *e + 6; *p >= '0' && *p <= '9'; p++)
				q = (q < 0 ? 0 : q * 10) + (*p - '0');
		if (!starts(*e, "H14_PHASE=") && !starts(*e, "H14_DECOY="))
			env[n++] = *e;
	}
	if (argc >= 3 && eq(argv[1], "mk")) {
		num(decoy + 10, sys(68, 0, 01600, 0, 0)); /* msgget(IPC_PRIVATE, IPC_CREAT|0600) */
		env[n++] = decoy;
		phase[10] = 'B';
	} else if (argc >= 3) {
		int i = 3;
		if (i < argc && eq(argv[i], "-k"))
			i += 2;
		for (; i <= argc; i++) {
			long len = 0;
			if (i < argc)
				while (argv[i][len] && len < 512)
					msg.mtext[len] = argv[i][len], len++;
			msg.mtype = i < argc ? 1 : 2;
			sys(69, q, (long)&msg, len, 0); /* msgsnd */
		}
		phase[10] = 'D';
	}
	env[n++] = phase;
	env[n] = 0;
	if (argc >= 3)
		sys(59, (long)argv[2], (long)(argv + 2), (long)env, 0); /* execve */
	sys(60, 1, 0, 0, 0);						/* exit */
}
__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call go\n hlt\n");

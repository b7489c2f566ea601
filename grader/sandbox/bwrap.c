/*
 * The bubblewrap command line of a sealed sandbox. What the program (and the compiler, for a
 * build) can see is only: the system's /usr read-only (with the /bin, /lib... links or folders
 * the host has), a private /proc, a minimal /dev, an empty /tmp and an empty working folder
 * /work that vanish with the sandbox (size-capped tmpfs), this binary, and the folders the
 * caller binds (-b, -w). No repository, no home, no grader, no other student. Private IPC, PID,
 * network (only its own loopback), UTS and cgroup namespaces; a new session (no terminal to
 * inject keys into); the sandbox dies with us.
 *
 * As root, bubblewrap creates the namespaces itself and the supervisor inside keeps root's
 * capabilities there (it runs programs as uids of their own); otherwise a user namespace maps
 * us to uid 0 inside, with capabilities only over what the sandbox owns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "sandbox.h"

#define TMPFS_SIZE "67108864" /* 64 MiB for /tmp and for /work each: memory, so capped */

struct args {
	char **v;
	int n, cap;
};

static void add(struct args *a, const char *arg)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? 2 * a->cap : 64;
		a->v = realloc(a->v, (size_t)a->cap * sizeof *a->v);
		if (!a->v)
			die("out of memory");
	}
	/* Every argument our own copy, so that bwrap_argv_free has one rule. */
	if (!(a->v[a->n++] = strdup(arg)))
		die("out of memory");
	a->v[a->n] = NULL;
}

static void add_all(struct args *a, const char *const *args)
{
	for (; *args; args++)
		add(a, *args);
}

/* /bin, /lib... as the host has them: links into /usr (merged /usr) or folders of their own. */
static void add_root_dir(struct args *a, const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISLNK(st.st_mode)) {
		char *target = calloc(1, PATH_MAX);
		if (!target)
			die("out of memory");
		ssize_t n = readlink(path, target, PATH_MAX - 1);
		if (n < 0)
			die("readlink %s: %s", path, strerror(errno));
		add_all(a, (const char *const[]){"--symlink", target, path, NULL});
		free(target);
	} else if (S_ISDIR(st.st_mode)) {
		add_all(a, (const char *const[]){"--ro-bind", path, path, NULL});
	}
}

char **bwrap_argv(const struct options *o, const char *self, char **inner_args)
{
	struct args a = {NULL, 0, 0};
	add_all(&a, (const char *const[]){BWRAP, "--die-with-parent", "--new-session", "--as-pid-1",
					  "--unshare-ipc", "--unshare-pid", "--unshare-net",
					  "--unshare-uts", "--unshare-cgroup-try", NULL});
	if (!o->host_root)
		add_all(&a, (const char *const[]){"--unshare-user", "--uid", "0", "--gid", "0",
						  "--cap-add", "ALL", NULL});
	add_all(&a, (const char *const[]){"--proc",    "/proc",	   "--dev",   "/dev",
					  "--perms",   "1777",	   "--size",  TMPFS_SIZE,
					  "--tmpfs",   "/tmp",	   "--perms", "1777",
					  "--size",    TMPFS_SIZE, "--tmpfs", SANDBOX_WORKDIR,
					  "--ro-bind", "/usr",	   "/usr",    NULL});
	static const char *const root_dirs[] = {"/bin",	  "/sbin",  "/lib",
						"/lib32", "/lib64", "/libx32"};
	for (size_t i = 0; i < sizeof root_dirs / sizeof root_dirs[0]; i++)
		add_root_dir(&a, root_dirs[i]);
	/* bwrap would make the folders above a bind 0700: the program must reach its own. */
	add_all(&a, (const char *const[]){"--perms", "0755", "--dir", "/sandbox", "--ro-bind", self,
					  SANDBOX_SELF, NULL});
	for (int i = 0; i < o->nbinds; i++) {
		char host[4096], inside[4096];
		split_bind(o->bind[i], host, sizeof host, inside, sizeof inside);
		add_all(&a, (const char *const[]){o->bind_rw[i] ? "--bind" : "--ro-bind", host,
						  inside, NULL});
	}
	add_all(&a, (const char *const[]){"--clearenv", "--chdir", "/", "--", NULL});
	for (char **arg = inner_args; *arg; arg++)
		add(&a, *arg);
	return a.v;
}

void bwrap_argv_free(char **argv)
{
	for (char **arg = argv; *arg; arg++)
		free(*arg);
	free(argv);
}

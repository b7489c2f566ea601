/*
 * Give each Criterion test its own IPC namespace, so that a test never sees
 * the host's queues, never leaves one behind, and starts with the default
 * limits and an empty id space.
 *
 * Include it after "#define _GNU_SOURCE" (unshare and CLONE_NEW* need it).
 */
#ifndef PRIVATE_IPC_H
#define PRIVATE_IPC_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <criterion/criterion.h>

/*
 * Write text to a /proc file in one write(): the id map files reject a map
 * that arrives in pieces. Returns 0, or -1 with the reason in why.
 */
static inline int private_ipc_write_file(const char *path, const char *text, char *why,
					 size_t why_len)
{
	size_t len = strlen(text);
	ssize_t written;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_len, "open %s: %s", path, strerror(errno));
		return -1;
	}
	written = write(fd, text, len);
	if (written < 0 || (size_t)written != len) {
		snprintf(why, why_len, "write \"%s\" to %s: %s", text, path,
			 written < 0 ? strerror(errno) : "short write");
		(void)close(fd); /* already failing; the first error is the one to report */
		return -1;
	}
	if (close(fd) != 0) {
		snprintf(why, why_len, "close %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Move the calling process into a new IPC namespace. With with_userns, also
 * into a new user namespace in which it is uid 0 and gid 0 (mapped onto its
 * current euid and egid): that is what lets an unprivileged user create the
 * IPC namespace, which then belongs to the new user namespace.
 *
 * The kernel refuses a new user namespace (EINVAL) to a process with more
 * than one thread; a Criterion test process already has two, hence
 * private_ipc_early_userns() below. Forked children are single-threaded.
 *
 * Returns 0, or -1 with the reason in why.
 */
static inline int private_ipc_unshare(int with_userns, char *why, size_t why_len)
{
	uid_t euid = geteuid();
	gid_t egid = getegid();
	char map[64];

	if (!with_userns) {
		if (unshare(CLONE_NEWIPC) != 0) {
			snprintf(why, why_len, "unshare(CLONE_NEWIPC): %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWIPC) != 0) {
		snprintf(why, why_len, "unshare(CLONE_NEWUSER | CLONE_NEWIPC): %s%s",
			 strerror(errno),
			 errno == EINVAL ? " (is the process multi-threaded?)" : "");
		return -1;
	}
	/* An unprivileged process may write gid_map only once setgroups is denied. */
	if (private_ipc_write_file("/proc/self/setgroups", "deny", why, why_len) != 0)
		return -1;
	snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)euid);
	if (private_ipc_write_file("/proc/self/uid_map", map, why, why_len) != 0)
		return -1;
	snprintf(map, sizeof(map), "0 %lu 1", (unsigned long)egid);
	if (private_ipc_write_file("/proc/self/gid_map", map, why, why_len) != 0)
		return -1;
	return 0;
}

/* The .init of every test. A machine that gives no namespace (a container that refuses them,
 * a chroot without user namespaces) cannot show the fact: the test is skipped, saying why. */
static inline void private_ipc_init(void)
{
	char why[256] = "";
	int rc = private_ipc_unshare(geteuid() != 0, why, sizeof(why));

	if (rc != 0)
		cr_skip_test("needs a private IPC namespace, which this machine does not give: %s",
			     why);
}

/*
 * Runs before main(), while the process still has a single thread, in the
 * Criterion runner and again in every test process it starts (the same
 * binary, executed anew). An unprivileged runner moves into a user namespace
 * in which it is uid 0; the test processes it starts inherit it, so their
 * .init only needs unshare(CLONE_NEWIPC). On failure the .init's own attempt
 * reports the reason in each test.
 */
__attribute__((constructor)) static void private_ipc_early_userns(void)
{
	char why[256] = "";

	if (geteuid() == 0)
		return;
	if (private_ipc_unshare(1, why, sizeof(why)) != 0)
		fprintf(stderr, "private_ipc: %s\n", why);
}

#endif /* PRIVATE_IPC_H */

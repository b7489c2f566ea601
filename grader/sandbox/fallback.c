/*
 * The fallback mode's folders: where bubblewrap cannot make a sandbox (a container that refuses
 * namespaces), the folders a run would see bound at /sandbox/bin, /lab, /out... are copies in a
 * private folder of the run's on the host, and every path naming them is rewritten to the copy.
 *
 * As root, the private folder is root's, of the run's group, mode 0750: only the run's users
 * (the program's uid and, with -O, the other user: both are in that group) can enter it, so a
 * concurrent run of another uid cannot read what this run was given (the reference solution,
 * when calibrating). Its working folder is the run's own. Once every process of the run is gone
 * the writable folders (-w) are copied back, regular files only and never through a link, and
 * the private folder is removed with descriptors relative to folders opened without following
 * links, so that nothing planted in it can make us touch anything outside.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "sandbox.h"

#define MAX_COPY_BYTES (64L << 20) /* one file of a bound folder */

void split_bind(const char *spec, char *host, size_t hsize, char *inside, size_t isize)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec || eq[1] != '/' || strstr(eq + 1, ".."))
		die("bad bind %s: expected HOST=/INSIDE", spec);
	snprintf(host, hsize, "%.*s", (int)(eq - spec), spec);
	snprintf(inside, isize, "%s", eq + 1);
}

static void mkdir_owned(const char *path, mode_t mode, uid_t uid, gid_t gid, bool own)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		die("mkdir %s: %s", path, strerror(errno));
	if (own && chown(path, uid, gid) != 0)
		die("chown %s: %s", path, strerror(errno));
	if (chmod(path, mode) != 0)
		die("chmod %s: %s", path, strerror(errno));
}

/* mkdir -p of inside under root, each level 0755 (root's when we are root). */
static void make_path(const char *root, const char *inside, char *out, size_t size)
{
	snprintf(out, size, "%s", root);
	char copy[4096];
	snprintf(copy, sizeof copy, "%s", inside);
	for (char *part = strtok(copy, "/"); part; part = strtok(NULL, "/")) {
		size_t n = strlen(out);
		snprintf(out + n, size - n, "/%s", part);
		mkdir_owned(out, 0755, 0, 0, false);
	}
}

/* Copy the regular files of folder from into folder to (no links, no subfolders). */
static void copy_files(const char *from, const char *to, bool keep_mode)
{
	int dfd = open(from, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		die("open %s: %s", from, strerror(errno));
	DIR *d = fdopendir(dfd);
	if (!d)
		die("fdopendir %s: %s", from, strerror(errno));
	struct dirent *e;
	static char buf[65536];
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		int in = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		struct stat st;
		if (in < 0 || fstat(in, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_size > MAX_COPY_BYTES) {
			if (in >= 0)
				close(in);
			continue; /* not a file we copy: links, folders, devices, huge files */
		}
		char path[4600];
		snprintf(path, sizeof path, "%s/%s", to, e->d_name);
		/* Replacing whatever is there (a copied-back file of an earlier compile), never
		 * through a link. */
		if (unlink(path) != 0 && errno != ENOENT)
			die("unlink %s: %s", path, strerror(errno));
		mode_t mode = keep_mode ? (st.st_mode & 0111 ? 0755 : 0644) : 0644;
		int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (out < 0)
			die("create %s: %s", path, strerror(errno));
		for (;;) {
			ssize_t n = read(in, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die("read %s/%s: %s", from, e->d_name, strerror(errno));
			if (n == 0)
				break;
			for (ssize_t off = 0; off < n;) {
				ssize_t w = write(out, buf + off, (size_t)(n - off));
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0)
					die("write %s: %s", path, strerror(errno));
				off += w;
			}
		}
		if (fchmod(out, mode) != 0 || close(out) != 0 || close(in) != 0)
			die("copy %s: %s", path, strerror(errno));
	}
	closedir(d);
}

/* text with every occurrence of from (followed by '/', a space, a quote or its end) replaced. */
static char *rewrite(const char *text, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0, cap = strlen(text) + 1;
	for (const char *p = strstr(text, from); p; p = strstr(p + fl, from))
		cap += tl;
	char *out = malloc(cap);
	if (!out)
		die("out of memory");
	for (const char *p = text; *p;) {
		if (!strncmp(p, from, fl) && strchr("/ '\"", p[fl] ? p[fl] : ' ')) {
			memcpy(out + n, to, tl);
			n += tl;
			p += fl;
		} else
			out[n++] = *p++;
	}
	out[n] = '\0';
	return out;
}

static void rewrite_all(struct options *o, const char *from, const char *to)
{
	for (char **arg = o->argv; *arg; arg++)
		*arg = rewrite(*arg, from, to); /* never freed: they live as long as the run */
	if (o->setup)
		o->setup = rewrite(o->setup, from, to);
}

void fallback_prepare(struct options *o, char *root, size_t size)
{
	bool own = o->host_root;
	gid_t group = run_group(o);
	snprintf(root, size, "/tmp/msglab-run-XXXXXX");
	if (!mkdtemp(root))
		die("mkdtemp: %s", strerror(errno));
	mkdir_owned(root, own ? 0750 : 0700, 0, group, own);
	char path[4096], host[4096], inside[4096];
	for (int i = 0; i < o->nbinds; i++) {
		split_bind(o->bind[i], host, sizeof host, inside, sizeof inside);
		make_path(root, inside, path, sizeof path);
		if (o->bind_rw[i])
			mkdir_owned(path, 0770, o->sandbox_uid, group, own);
		copy_files(host, path, true);
		rewrite_all(o, inside, path);
	}
	snprintf(path, sizeof path, "%s%s", root, SANDBOX_WORKDIR);
	mkdir_owned(path, 0770, o->sandbox_uid, group, own);
	rewrite_all(o, SANDBOX_WORKDIR, path);
	o->dir = strdup(path);
	if (!o->dir)
		die("out of memory");
}

/* Remove name (in the folder dfd) and everything below it, following no link. */
static void remove_at(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return; /* best effort: a leftover in /tmp, never a file of anyone else */
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			remove_at(fd, e->d_name);
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		fprintf(stderr, "msglab-run: cannot remove %s: %s\n", name, strerror(errno));
}

/* What the run's users left in the shared temporary folders of the host (as root: they had
 * uids of their own, and none of their processes is left). */
static void remove_leftovers(const struct options *o)
{
	static const char *const shared[] = {"/tmp", "/var/tmp", "/dev/shm"};
	for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
		int dfd = open(shared[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
		if (!d) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			struct stat st;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
			    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			if (st.st_uid == o->sandbox_uid ||
			    st.st_uid == o->sandbox_uid + OTHER_UID_OFFSET)
				remove_at(dfd, e->d_name);
		}
		closedir(d);
	}
}

void fallback_finish(const struct options *o, const char *root)
{
	if (o->host_root)
		remove_leftovers(o);
	char path[4096], host[4096], inside[4096];
	for (int i = 0; i < o->nbinds; i++) {
		if (!o->bind_rw[i])
			continue;
		split_bind(o->bind[i], host, sizeof host, inside, sizeof inside);
		snprintf(path, sizeof path, "%s%s", root, inside);
		copy_files(path, host, true);
	}
	int tmp = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmp < 0)
		die("open /tmp: %s", strerror(errno));
	remove_at(tmp, root + strlen("/tmp/"));
	close(tmp);
}

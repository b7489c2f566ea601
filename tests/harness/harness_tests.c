/*
 * Tests of the grader's harness and sandbox, on tests/harness/misbehave (MSGLAB_PROGRAM).
 * Run by tests/run.py with the same environment as a grading session.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define LEAK_KEY 0x6d736701

/* How many host processes carry tag in their command line. */
static int survivors(const char *tag)
{
	DIR *d = opendir("/proc");
	cr_assert(d, "opendir /proc: %s", strerror(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char path[300], buf[4096];
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		for (size_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		n += strstr(buf, tag) != NULL;
	}
	closedir(d);
	return n;
}

static void tag(char *buf, size_t size, const char *what)
{
	snprintf(buf, size, "tag-%s-%d", what, (int)getpid());
}

/* The sandbox's announced fallback for machines without namespaces, for this test only. */
static void force_fallback(void)
{
	cr_assert(setenv("MSGLAB_NO_NAMESPACES", "1", 1) == 0 &&
		      setenv("MSGLAB_MODE", "fallback", 1) == 0,
		  "setenv failed");
}

Test(harness, timeout_kills_the_whole_tree, .timeout = 30)
{
	char t[64];
	tag(t, sizeof t, "hang");
	const char *args[] = {"hang", t, NULL};
	struct run_result r;
	cr_assert(setenv("MSGLAB_TIMEOUT_FLOOR_MS", "1000", 1) == 0, "setenv failed");
	run_student(&(struct run_spec){.args = args, .allow_failure = true}, &r);
	cr_assert(r.timed_out, "the hanging program was not reported as timed out");
	cr_expect_eq(r.nprocs, 3, "expected the 3 hanging processes in the report, got %d",
		     r.nprocs);
	cr_expect_eq(survivors(t), 0,
		     "processes of the hanging program survived the timeout, "
		     "including the one in its own session");
	run_free(&r);
}

Test(harness, leaks_are_counted_exactly, .timeout = 30)
{
	char t[64];
	tag(t, sizeof t, "leak");
	const char *args[] = {"leak", t, NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args}, &r);
	cr_expect_eq(r.exit_code, 3);
	cr_assert_eq(r.nqueues, 2, "expected 2 queues left, got %d", r.nqueues);
	const struct left_queue *keyed = r.queues[0].key == LEAK_KEY ? &r.queues[0] : &r.queues[1];
	cr_expect_eq(keyed->key, LEAK_KEY);
	cr_expect_eq(keyed->qnum, 3);
	cr_expect_eq(keyed->cbytes, 30);
	cr_assert_eq(r.nprocs, 2, "expected a sleeping child and a zombie, got %d processes",
		     r.nprocs);
	int zombies = 0, sleeping = 0;
	for (int i = 0; i < r.nprocs; i++) {
		zombies += r.procs[i].state == 'Z';
		sleeping += !strcmp(r.procs[i].syscall, "sleep");
	}
	cr_expect_eq(zombies, 1, "the unwaited child should be seen as a zombie");
	cr_expect_eq(sleeping, 1, "the sleeping child should be seen blocked in sleep");
	cr_expect_eq(survivors(t), 0, "the sleeping child survived the run");
	/* The namespace is gone, and the host never saw the queue. */
	cr_expect(msgget(LEAK_KEY, 0) == -1 && errno == ENOENT,
		  "the leaked queue is visible on the host");
	run_free(&r);
}

Test(harness, output_is_capped_without_killing, .timeout = 30)
{
	const char *args[] = {"flood", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args}, &r);
	cr_expect(r.truncated, "5 MiB of output should be reported as truncated");
	cr_expect_eq(r.out_len, (size_t)1 << 20, "kept %zu bytes, expected the 1 MiB cap",
		     r.out_len);
	cr_expect_eq(r.exit_code, 0, "the program must finish normally beyond the cap");
	run_free(&r);
}

Test(harness, trace_records_calls_exactly, .timeout = 30)
{
	const char *args[] = {"trace", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args}, &r);
	expect_exit(&r, 0);
	const struct trace_call *get = nth_call(&r, "msgget", 0, 0);
	cr_assert(get, "no msgget in the trace");
	cr_expect_eq(get->key, 0u);
	cr_expect_eq(get->flags, IPC_CREAT | 0640);
	cr_expect_eq(get->pid, r.main_pid);
	int kids[4];
	cr_assert_eq(children_of(&r, r.main_pid, kids, 4), 1, "expected one fork");
	const struct trace_call *snd = nth_call(&r, "msgsnd", 0, 0);
	cr_assert(snd, "no msgsnd in the trace");
	cr_expect_eq(snd->pid, kids[0], "msgsnd should come from the child");
	cr_expect_eq(snd->ppid, r.main_pid);
	cr_expect_eq(snd->mtype, 7);
	cr_expect_eq(snd->msgsz, 3);
	cr_expect(snd->datalen == 3 && !memcmp(snd->data, "abc", 3), "sent bytes not recorded");
	const struct trace_call *w = nth_call(&r, "wait", r.main_pid, 0);
	cr_expect(w && w->ret == kids[0], "the parent's waitpid should be recorded with the child");
	cr_expect(nth_call(&r, "exit", kids[0], 0), "the child's _exit should be recorded");
	cr_expect(nth_call(&r, "exit", r.main_pid, 0), "the parent's return from main should be "
						       "recorded");
	const struct trace_call *rcv = nth_call(&r, "msgrcv", 0, 0);
	cr_assert(rcv, "no msgrcv in the trace");
	cr_expect_eq(rcv->msgtyp, -9);
	cr_expect_eq(rcv->flags, IPC_NOWAIT);
	cr_expect_eq(rcv->ret, 3);
	cr_expect(rcv->datalen == 3 && !memcmp(rcv->data, "abc", 3), "received bytes not recorded");
	const struct trace_call *none = nth_call(&r, "msgrcv", 0, 1);
	cr_assert(none, "no second msgrcv in the trace");
	cr_expect_eq(none->ret, -1);
	cr_expect_eq(none->err, ENOMSG);
	const struct trace_call *ctl = nth_call(&r, "msgctl", 0, 0);
	cr_assert(ctl, "no msgctl in the trace");
	cr_expect_eq(ctl->cmd, IPC_RMID);
	cr_expect_eq(ctl->msqid, (int)get->ret);
	cr_expect_eq(r.nqueues, 0);
	run_free(&r);
}

Test(harness, crash_is_reported, .timeout = 30)
{
	const char *args[] = {"segv", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args, .allow_failure = true}, &r);
	cr_expect(r.signaled && r.signal == 11, "a segfault should be reported as signal 11");
	run_free(&r);
}

Test(harness, fork_bomb_is_contained, .timeout = 30)
{
	char t[64];
	tag(t, sizeof t, "bomb");
	const char *args[] = {"bomb", t, NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args}, &r);
	int n = -1;
	cr_assert(sscanf(r.out, "forked %d", &n) == 1, "no count printed: %s", r.out);
	cr_expect(n < 100, "the process limit did not hold: %d forks succeeded", n);
	cr_expect_eq(survivors(t), 0, "forked processes survived the run");
	run_free(&r);
}

Test(harness, stdin_is_given, .timeout = 30)
{
	const char *args[] = {"echo", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args, .input = "line one\nline two\n"}, &r);
	cr_expect_str_eq(r.out, "line one\nline two\n");
	run_free(&r);
}

Test(harness, env_is_given, .timeout = 30)
{
	const char *args[] = {"env", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args, .env = {"MISBEHAVE_VAR=it works"}}, &r);
	cr_expect_str_eq(r.out, "it works\n");
	run_free(&r);
}

/* HOME is never the working folder (a program that finds its files by HOME must show it);
 * subdir moves the working folder, and the made file with it. */
static void expect_where(const char *subdir, const char *cwd_suffix)
{
	const char *args[] = {"where", "keyfile", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args, .subdir = subdir, .make_file = "keyfile"}, &r);
	char cwd[4096] = "", home[4096] = "", file[16] = "";
	cr_assert(sscanf(r.out, "cwd %4095s home %4095s file %15s", cwd, home, file) == 3,
		  "got: %s", r.out);
	size_t n = strlen(cwd), k = strlen(cwd_suffix);
	cr_expect(n >= k && !strcmp(cwd + n - k, cwd_suffix), "working folder %s, expected %s", cwd,
		  cwd_suffix);
	cr_expect_str_eq(home, "/nonexistent", "HOME was %s", home);
	cr_expect_str_eq(file, "here", "the made file is not in the working folder %s", cwd);
	run_free(&r);
}

Test(harness, working_folder_and_home, .timeout = 30)
{
	expect_where(NULL, "/work");
	expect_where("bank", "/work/bank");
}

Test(fallback, working_folder_and_home, .timeout = 30)
{
	force_fallback();
	expect_where(NULL, "/work");
	expect_where("bank", "/work/bank");
}

Test(harness, setup_runs_first_in_the_same_namespace, .timeout = 30)
{
	const char *args[] = {"queues", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args, .setup = "ipcmk -Q && ipcmk -Q && id -u"}, &r);
	int queues = -1, uid = -1;
	cr_assert(sscanf(r.out, "queues %d uid %d", &queues, &uid) == 2, "got: %s", r.out);
	cr_expect_eq(queues, 2, "the program should see the 2 queues the setup made");
	char setup_uid[32];
	snprintf(setup_uid, sizeof setup_uid, "%d ", uid);
	cr_expect(strstr(r.setup_output, setup_uid) != NULL,
		  "setup and program should run as the same user (%d): %s", uid, r.setup_output);
	run_free(&r);
}

Test(harness, other_user_is_another_uid, .timeout = 30)
{
	const char *args[] = {"queues", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args, .setup = "id -u", .other_user = true}, &r);
	int queues = -1, uid = -1;
	cr_assert(sscanf(r.out, "queues %d uid %d", &queues, &uid) == 2, "got: %s", r.out);
	cr_expect_neq(uid, atoi(r.setup_output), "the program ran as the setup's user %d", uid);
	cr_expect_neq(uid, 0, "the program must not run as root");
	run_free(&r);
}

Test(harness, private_namespaces, .timeout = 30)
{
	const char *args[] = {"msgmni", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args, .sysctl = {"msgmni=7"}}, &r);
	cr_expect_str_eq(r.out, "msgmni 7 pid 2\n",
			 "the program should be pid 2 and see only its own msgmni: %s", r.out);
	FILE *f = fopen("/proc/sys/kernel/msgmni", "r");
	int host = 0;
	cr_assert(f && fscanf(f, "%d", &host) == 1, "cannot read the host's msgmni");
	fclose(f);
	cr_expect_neq(host, 7, "the run changed the host's msgmni");
	run_free(&r);
}

Test(harness, normalise_ids, .timeout = 30)
{
	char *n = normalise("queue 12 created by pid 4242; requeue 3; queue -1\n");
	cr_expect_str_eq(n, "queue <id> created by pid <pid>; requeue 3; queue <id>\n");
	free(n);
}

Test(fallback, leaks_found_and_removed, .timeout = 30)
{
	force_fallback();
	const char *args[] = {"leak", "tag-fallback", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args}, &r);
	cr_assert(!r.namespaces, "MSGLAB_NO_NAMESPACES should force the fallback");
	cr_expect_eq(r.nqueues, 2, "expected the 2 leaked queues, got %d", r.nqueues);
	for (int i = 0; i < r.nqueues; i++) {
		struct msqid_ds ds;
		cr_expect(msgctl(r.queues[i].msqid, IPC_STAT, &ds) == -1 && errno == EINVAL,
			  "leaked queue %d is still on the host", r.queues[i].msqid);
	}
	cr_expect_eq(r.nprocs, 2, "expected the sleeping child and the zombie, got %d", r.nprocs);
	run_free(&r);
}

Test(fallback, setup_queues_are_removed_too, .timeout = 30)
{
	force_fallback();
	const char *args[] = {"queues", NULL};
	struct run_result r;
	run_student(&(struct run_spec){.args = args, .setup = "ipcmk -Q"}, &r);
	cr_assert_eq(r.nqueues, 1, "the setup's queue should be reported, got %d queues",
		     r.nqueues);
	struct msqid_ds ds;
	cr_expect(msgctl(r.queues[0].msqid, IPC_STAT, &ds) == -1 && errno == EINVAL,
		  "the setup's queue %d is still on the host", r.queues[0].msqid);
	run_free(&r);
}

Test(fallback, timeout_still_kills, .timeout = 30)
{
	force_fallback();
	char t[64];
	tag(t, sizeof t, "fallback-hang");
	const char *args[] = {"hang", t, NULL};
	struct run_result r;
	cr_assert(setenv("MSGLAB_TIMEOUT_FLOOR_MS", "1000", 1) == 0, "setenv failed");
	run_student(&(struct run_spec){.args = args, .allow_failure = true}, &r);
	cr_expect(r.timed_out);
	cr_expect_eq(survivors(t), 0, "processes of the hanging program survived in fallback mode");
	run_free(&r);
}

/* A loaded machine (the driver's MSGLAB_TIMEOUT_SCALE) lengthens a run's timeout, and a
 * sanitized build's more, so that neither turns a correct program into a TIMEOUT. */
Test(harness, timeout_follows_the_load_scale, .timeout = 30)
{
	const char *args[] = {"echo", NULL};
	struct run_result r;
	cr_assert(setenv("MSGLAB_TIMEOUT_FLOOR_MS", "1000", 1) == 0 &&
		      setenv("MSGLAB_TIMEOUT_SCALE", "2.5", 1) == 0,
		  "setenv failed");
	run_student(&(struct run_spec){.args = args}, &r);
	cr_expect(r.timeout_ms > 2499 && r.timeout_ms < 2501,
		  "with the floor 1 s and the load scale 2.5, the timeout was %.0f ms, not 2500",
		  r.timeout_ms);
	run_free(&r);
	cr_assert(setenv("MSGLAB_TIMEOUT_SCALE", "1000", 1) == 0, "setenv failed");
	run_student(&(struct run_spec){.args = args}, &r);
	cr_expect(r.timeout_ms > 999 && r.timeout_ms < 1001,
		  "an absurd load scale (1000) must be ignored; the timeout was %.0f ms",
		  r.timeout_ms);
	run_free(&r);
}

/* In the sanitized pass (MSGLAB_SANITIZED), a process that ends with the sanitizer's status is
 * noted in runN.sanitizer for the driver's memory_safety test, even with its stderr closed. */
Test(harness, sanitizer_exit_is_noted, .timeout = 30)
{
	const char *args[] = {"asan", NULL};
	struct run_result r;
	cr_assert(setenv("MSGLAB_SANITIZED", "1", 1) == 0, "setenv failed");
	run_student(&(struct run_spec){.args = args, .allow_failure = true}, &r);
	char path[4200], text[256] = "";
	snprintf(path, sizeof path, "%s/run1.sanitizer", transcript_dir());
	FILE *f = fopen(path, "r");
	cr_assert(f, "no %s: the child's exit with status 86 was not noted", path);
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	cr_expect(strstr(text, "ended with the sanitizer's status 86"), "%s says: %s", path, text);
	cr_expect_eq(r.exit_code, 0);
	run_free(&r);
}

/* Wait up to ms for the processes tagged tag to be gone; how many are left. */
static int survivors_after(const char *tag, int ms)
{
	int left = survivors(tag);
	for (int waited = 0; left > 0 && waited < ms; waited += 10) {
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
		left = survivors(tag);
	}
	return left;
}

/* msglab-run killed at any moment of its start, bubblewrap's own included (before bwrap has
 * asked to die with its parent), takes its sandbox with it: a grader that kills a run (or dies)
 * leaves nothing running. */
Test(harness, killed_runner_leaves_nothing, .timeout = 60)
{
	char t[64], command[128];
	tag(t, sizeof t, "orphan");
	snprintf(command, sizeof command, "sleep 20; : %s", t);
	const char *argv[] = {getenv("MSGLAB_RUN"),
			      "-U",
			      "-M",
			      "0",
			      "-t",
			      "30000",
			      "--",
			      "/bin/sh",
			      "-c",
			      command,
			      NULL};
	cr_assert(argv[0], "MSGLAB_RUN is not set");
	for (int step = 0; step < 80; step++) {
		pid_t pid = fork();
		cr_assert(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			execv(argv[0], (char *const *)argv);
			_exit(127);
		}
		long us = step * 250; /* 0 to 20 ms after the fork, every quarter millisecond */
		nanosleep(&(struct timespec){us / 1000000, us % 1000000 * 1000}, NULL);
		cr_assert(kill(pid, SIGKILL) == 0, "kill: %s", strerror(errno));
		cr_assert(waitpid(pid, NULL, 0) == pid, "waitpid: %s", strerror(errno));
		int left = survivors_after(t, 1000);
		if (left > 0) {
			char cmd[160];
			snprintf(cmd, sizeof cmd, "pkill -KILL -f %s", t);
			if (system(cmd) == -1)
				perror("system");
		}
		cr_assert_eq(left, 0,
			     "msglab-run killed %ld us after its start left %d process(es) of its "
			     "sandbox running a second later",
			     us, left);
	}
}

/*
 * msgflow: a run's call record (strace's output, as msglab-run -T writes it) as one JSON object
 * per line, in time order: what the demos and the sequence diagrams draw from.
 *
 *   usage: msgflow TRACE MAIN_PID
 *
 * Each line: {"t_us", "dur_us", "pid", "ppid", "call"} and, as the call has them, "ret", "err"
 * (errno's number), "key", "flags", "msqid", "msgsz", "msgtyp", "mtype", "cmd", "len" (bytes
 * sent or received) and "hex" (the first of them, at most 1024, as hex). "call" is msgget,
 * msgsnd, msgrcv, msgctl, fork (in the parent: ret is the child), wait (ret: the child reaped;
 * "status" its exit status, -1 if killed or unknown, "signal" the signal that killed it, 0 if
 * none) or exit (ret: the status). A call that blocked started at t_us - dur_us. Exit status 0, 1 on
 * a bad record or usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../grader/lib/strace_record.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		char *bigger = realloc(buf, cap * 2);
		if (!bigger) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = bigger;
		cap *= 2;
	}
	if (ferror(f) || fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static void print_call(const struct trace_call *c)
{
	printf("{\"t_us\": %lld, \"dur_us\": %lld, \"pid\": %d, \"ppid\": %d, \"call\": \"%s\", "
	       "\"ret\": %ld",
	       c->t_us, c->dur_us, c->pid, c->ppid, c->call, c->ret);
	if (c->ret < 0)
		printf(", \"err\": %d", c->err);
	if (!strcmp(c->call, "msgget"))
		printf(", \"key\": %u, \"flags\": %d", c->key, c->flags);
	if (!strcmp(c->call, "msgsnd") || !strcmp(c->call, "msgrcv")) {
		printf(", \"msqid\": %d, \"msgsz\": %ld, \"flags\": %d", c->msqid, c->msgsz,
		       c->flags);
		if (!strcmp(c->call, "msgrcv"))
			printf(", \"msgtyp\": %ld", c->msgtyp);
		if (c->has_mtype)
			printf(", \"mtype\": %ld", c->mtype);
		if (c->datalen > 0) {
			printf(", \"len\": %ld, \"hex\": \"", c->datalen);
			for (size_t i = 0; i < c->shown; i++)
				printf("%02x", c->data[i]);
			printf("\"");
		}
	}
	if (!strcmp(c->call, "msgctl"))
		printf(", \"msqid\": %d, \"cmd\": %d", c->msqid, c->cmd);
	if (!strcmp(c->call, "wait") && c->ret > 0)
		printf(", \"status\": %d, \"signal\": %d", c->reaped_exit, c->reaped_signal);
	printf("}\n");
}

int main(int argc, char **argv)
{
	char *end;
	long main_pid = argc == 3 ? strtol(argv[2], &end, 10) : 0;
	if (argc != 3 || *end || main_pid <= 0) {
		fputs("usage: msgflow TRACE MAIN_PID\n", stderr);
		return 1;
	}
	size_t len;
	char *text = slurp(argv[1], &len);
	if (!text) {
		fprintf(stderr, "msgflow: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	struct trace_call *calls;
	size_t n;
	if (strace_record_parse(text, len, (int)main_pid, &calls, &n, NULL) != 0) {
		fputs("msgflow: out of memory\n", stderr);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		print_call(&calls[i]);
		free(calls[i].data);
	}
	free(calls);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}

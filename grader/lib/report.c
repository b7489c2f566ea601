/*
 * A Criterion output provider that writes the run as JSON the driver can trust: Criterion
 * 2.4.1's own JSON and XML reports do not escape quotes. Registered before the run; the file
 * is MSGLAB_REPORT.
 *
 * {"tests": [{"name": "...", "status": "passed|failed|crashed|timeout|skipped",
 *             "signal": N, "exit_code": N, "elapsed": S, "messages": ["..."]}]}
 */
#include <stdio.h> /* before criterion/output.h, which needs FILE */
#include <stdlib.h>
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/output.h>

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c == '\n')
			fputs("\\n", f);
		else if (*c == '\t')
			fputs("\\t", f);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

static const char *status_of(const struct criterion_test_stats *t)
{
	if (t->timed_out)
		return "timeout";
	if (t->crashed)
		return "crashed";
	if (t->test_status == CR_STATUS_SKIPPED)
		return "skipped";
	return t->test_status == CR_STATUS_PASSED ? "passed" : "failed";
}

static void write_report(FILE *f, struct criterion_global_stats *stats)
{
	const char *sep = "";
	fputs("{\"tests\": [", f);
	for (struct criterion_suite_stats *s = stats->suites; s; s = s->next)
		for (struct criterion_test_stats *t = s->tests; t; t = t->next) {
			fprintf(f, "%s\n {\"name\": ", sep);
			json_string(f, t->test->name);
			fprintf(f,
				", \"status\": \"%s\", \"signal\": %d, \"exit_code\": %d, "
				"\"elapsed\": %.3f, \"messages\": [",
				status_of(t), t->signal, t->exit_code, t->elapsed_time);
			const char *msep = "";
			for (struct criterion_assert_stats *a = t->asserts; a; a = a->next)
				if (!a->passed) {
					fputs(msep, f);
					json_string(f, a->message);
					msep = ", ";
				}
			fputs("]}", f);
			sep = ",";
		}
	fputs("\n]}\n", f);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	const char *path = getenv("MSGLAB_REPORT");
	if (!path || !*path)
		return;
	if (criterion_register_output_provider("msglab", write_report) < 0 ||
	    criterion_add_output("msglab", path) < 0)
		fprintf(stderr, "grader error: cannot register the report writer\n");
}

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

/*
 * The length (2 to 4) of the valid UTF-8 sequence of one non-ASCII character at s, or 0 when s
 * does not start one: a continuation or invalid lead byte, a sequence cut short (the string's
 * NUL is no continuation byte, so this never reads past it), an overlong form, a surrogate
 * (U+D800 to U+DFFF) or a code point beyond U+10FFFF.
 */
static int utf8_sequence(const unsigned char *s)
{
	static const unsigned long least[] = {0, 0, 0x80, 0x800, 0x10000};
	int len;
	unsigned long cp;
	if (s[0] >= 0xc0 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf7) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * s as a JSON string that is valid UTF-8 whatever bytes s holds (messages quote the student's
 * output): valid UTF-8 characters as they are, control characters as \u00HH escapes, and each
 * byte of no valid character as the visible text \xHH (a backslash, x, two hex digits).
 */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c;) {
		int len = *c < 0x80 ? 1 : utf8_sequence(c);
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c == '\n')
			fputs("\\n", f);
		else if (*c == '\t')
			fputs("\\t", f);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\u%04x", *c);
		else if (len == 0)
			fprintf(f, "\\\\x%02x", *c);
		else
			fwrite(c, 1, (size_t)len, f);
		c += len ? len : 1;
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

/* Each test as it ends, in MSGLAB_PROGRESS ("NAME passed|failed|crashed" a line), so that
 * the driver can hand on what is graded before the whole run ends (a platform's time limit).
 * Report hooks run in the runner; POST_FINI is not called for a crashed test, TEST_CRASH is. */
static void progress(const struct criterion_test_stats *stats, const char *status)
{
	const char *path = getenv("MSGLAB_PROGRESS");
	if (!path || !*path)
		return;
	FILE *f = fopen(path, "ae");
	if (!f)
		return;
	fprintf(f, "%s %s\n", stats->test->name, status);
	fclose(f);
}

ReportHook(POST_FINI)(struct criterion_test_stats *stats)
{
	progress(stats, stats->test_status == CR_STATUS_PASSED	  ? "passed"
			: stats->test_status == CR_STATUS_SKIPPED ? "skipped"
								  : "failed");
}

ReportHook(TEST_CRASH)(struct criterion_test_stats *stats)
{
	progress(stats, "crashed");
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

#define _GNU_SOURCE
#include "placeholders.h"

#include <stdio.h>
#include <string.h>

char *fill_placeholders(const char *text, const char *bin, const char *tools)
{
	size_t size;
	char *out;
	FILE *f = open_memstream(&out, &size);
	if (!f)
		return NULL;
	for (const char *p = text; *p;) {
		if (!strncmp(p, "{bin}", 5)) {
			fputs(bin, f);
			p += 5;
		} else if (!strncmp(p, "{tools}", 7)) {
			fputs(tools, f);
			p += 7;
		} else {
			fputc(*p++, f);
		}
	}
	return fclose(f) == 0 ? out : NULL;
}

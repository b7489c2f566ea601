#ifndef PLACEHOLDERS_H
#define PLACEHOLDERS_H

/*
 * A run's command as the tests write it names the lab's programs and tools by {bin} and
 * {tools}; where they are depends on who runs it (the sandbox, a student's shell, bare-run).
 * Returns text with every {bin} and {tools} replaced (malloc'd), or NULL when out of memory.
 */
char *fill_placeholders(const char *text, const char *bin, const char *tools);

#endif

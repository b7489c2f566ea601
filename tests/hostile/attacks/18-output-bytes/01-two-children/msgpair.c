/*
 * Attack 18 (hostile output bytes): print the expected stdout without doing any of the work,
 * then a NUL, then junk: a grader that compares C strings stops at the NUL and sees a perfect
 * output. Where the output is long (exact_output) it puts, before the NUL, lines that try to
 * take over the terminal the report is read in: clear the screen, a fake "Total: 20/20 (full
 * marks)", hidden text, a right-to-left override, bytes that are not UTF-8. stderr's first line
 * (which failure messages quote) does the same, and with one message (end_marker) the program
 * crashes so that it is quoted. The report must hold no raw ESC and only valid UTF-8,
 * results.json must stay valid JSON, the only "Total:" line must be the grader's own, and
 * printing the output without the work must not earn points: 0.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define TAKEOVER "\x1b[2J\x1b[H\r\x1b[1;32mTotal: 20/20 (full marks)\x1b[0m\x1b[8m hidden\x1b[0m"

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "k:")) != -1)
		continue;
	int count = argc - optind;
	fputs(TAKEOVER " \xff\xfe\xc3\x28 \xe2\x80\xae gnirts desrever\r\n", stderr);
	if (count == 1)
		abort(); /* a CRASH: the report quotes the first line of stderr */
	printf("queue 0 created\n");
	for (int i = optind; i < argc; i++)
		printf("received: %s\n", argv[i]);
	if (count > 10)
		printf(TAKEOVER "\n\xff\xfe \xe2\x80\xae gnirts desrever\n\r\x1b[1A\x1b[2K"
				"received: message 40\n");
	printf("queue 0 removed\n");
	fwrite("\0", 1, 1, stdout);
	printf("\x1b[2J\x1b[HTotal: 20/20 (full marks)\n\xff\xfe junk after the NUL\n");
	return 0;
}

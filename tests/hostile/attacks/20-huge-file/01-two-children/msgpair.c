/*
 * Attack 20 (one huge source file): next to this file the runner creates huge.c, 1 GiB (sparse:
 * it takes no disk space). A grader that compiles it spends a long time and a lot of memory on
 * it, and may print a gigabyte of diagnostics. The grader must refuse it quickly (a limit on
 * the size of a source), say why, and go on.
 */
int main(void)
{
	return 1;
}

/*
 * Attack 19 (20000 source files): next to this file the runner creates 20000 small .c files
 * (gen00000.c, ...). A grader that compiles every .c file of the folder runs the compiler for
 * minutes and may pass the shell more arguments than it takes. The grader must refuse the
 * folder quickly (a limit on the number of files), say why, and go on with the other labs.
 */
int main(void)
{
	return 1;
}

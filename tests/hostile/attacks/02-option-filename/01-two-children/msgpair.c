/*
 * Attack 02 (an option through a file name): the program itself does nothing. Under a weak
 * grader our collect2 (x.ccollect2, found through the file "-Bx.c") links the reference
 * solution in its place.
 */
int main(void)
{
	return 1;
}

/*
 * Attack 01 (response file), part 2 of 3: the program itself does nothing. Under a weak grader
 * the wrapper (w.c) links the reference solution in its place. See @r.c.
 */
int main(void)
{
	return 1;
}

/*
 * Attack 03b (include by absolute path): the report's "try:" lines show where the grader lives
 * (the path of its msglab-run), so a student knows the repo's path; the runner writes it in
 * place of @REPO@. A few usual places are tried as well. The preprocessor pastes the reference
 * solution in: full marks for no work. The grader must compile where the reference is out of
 * reach and give this 0.
 */
#if __has_include("@REPO@/solutions/01-two-children/msgpair.c")
#include "@REPO@/solutions/01-two-children/msgpair.c"
#elif __has_include("/work/main/solutions/01-two-children/msgpair.c")
#include "/work/main/solutions/01-two-children/msgpair.c"
#elif __has_include("/root/msglab/solutions/01-two-children/msgpair.c")
#include "/root/msglab/solutions/01-two-children/msgpair.c"
#elif __has_include("/srv/msglab/solutions/01-two-children/msgpair.c")
#include "/srv/msglab/solutions/01-two-children/msgpair.c"
#else
int main(void)
{
	return 1;
}
#endif

/*
 * Attack 03a (include by relative path): instructors often keep submissions inside their clone
 * (repo/submissions/NAME/01-two-children/), so "../../../solutions" is the reference solution.
 * Whatever the depth, one of these finds it, and the preprocessor pastes it in: full marks for
 * no work. The grader must compile where the reference is out of reach (a copy of the sources
 * in a sandbox that does not show the repo) and give this 0.
 */
#if __has_include("../../../solutions/01-two-children/msgpair.c")
#include "../../../solutions/01-two-children/msgpair.c"
#elif __has_include("../../solutions/01-two-children/msgpair.c")
#include "../../solutions/01-two-children/msgpair.c"
#elif __has_include("../../../../solutions/01-two-children/msgpair.c")
#include "../../../../solutions/01-two-children/msgpair.c"
#elif __has_include("../../../../../solutions/01-two-children/msgpair.c")
#include "../../../../../solutions/01-two-children/msgpair.c"
#elif __has_include("../../../../../../solutions/01-two-children/msgpair.c")
#include "../../../../../../solutions/01-two-children/msgpair.c"
#elif __has_include("../../../../../../../solutions/01-two-children/msgpair.c")
#include "../../../../../../../solutions/01-two-children/msgpair.c"
#else
int main(void)
{
	return 1;
}
#endif

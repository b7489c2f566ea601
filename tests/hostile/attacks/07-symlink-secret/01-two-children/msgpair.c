/*
 * Attack 07 (a source that is a link to a secret): next to this file the runner makes
 * shadow.c -> /etc/shadow, notes.c -> a root-only file (0600 in a 0700 folder) and key.c -> the
 * secret file next to the grader's repo. A grader that compiles every .c file as root makes gcc
 * read them, and gcc's error messages quote the lines it could not parse: the secrets end up
 * in the report. The grader must refuse links (or read nothing as root), and show no secret.
 */
int main(void)
{
	return 1;
}

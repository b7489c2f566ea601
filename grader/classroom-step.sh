#!/bin/sh
# GitHub Classroom's grading step (.github/workflows/classroom.yml): build the grader, grade
# labs/ (as root, for the sandbox), print the report, and hand the result to the reporter step
# through $GITHUB_OUTPUT (result=base64 JSON). Points lost are not a failed step: the reporter
# says so; a grader error is.
set -eu
cd "$(dirname "$0")/.."
make tools
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
out=$(mktemp -d)
status=0
$sudo python3 grader/grade.py --classroom "$out/result" ${MSGLAB_LAB:+--lab "$MSGLAB_LAB"} ||
	status=$?
[ "$status" -le 1 ] || exit "$status"
echo "result=$(cat "$out/result")" >>"${GITHUB_OUTPUT:-/dev/stdout}"

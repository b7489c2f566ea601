#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image: the packages the
# grader needs, then the grader itself (in /autograder/source, where the bundle is unpacked).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd /autograder/source
if [ -z "${MSGLAB_SETUP_NO_APT:-}" ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends build-essential make pkg-config \
		libcriterion-dev python3 bubblewrap strace >/dev/null
fi
make tools

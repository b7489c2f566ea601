#!/bin/sh
# Make sure what the grader needs is here: install it when we are root, else say exactly how.
PACKAGES="build-essential pkg-config libcriterion-dev python3 bubblewrap strace"
missing=""
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
pkg-config --exists criterion 2>/dev/null || missing="$missing libcriterion-dev"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
[ -x /usr/bin/bwrap ] || missing="$missing bubblewrap"
[ -x /usr/bin/strace ] || missing="$missing strace"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "msglab: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq $PACKAGES >/dev/null && exit 0
	echo "msglab: apt-get install failed" >&2
	exit 1
fi
echo "msglab: missing:$missing. Install them with:" >&2
echo "    sudo apt-get install -y $PACKAGES" >&2
exit 1

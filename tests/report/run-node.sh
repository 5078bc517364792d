#!/bin/sh
# Runs one node-based report test (tests/report/*.mjs): checks that node, npm and chromium are
# there (skip with exit 77, or fail under CI=true, when not), installs the node packages
# (node-deps.sh), then runs the test with NODE_MODULES pointing at them.
set -u
case $0 in */*) here=$(cd "${0%/*}" && pwd) ;; *) here=$(pwd) ;; esac
missing() {
	if [ "${CI:-}" = "true" ]; then
		echo "FAIL: $1 (CI=true: nothing the machine should have may be skipped)" >&2
		exit 1
	fi
	echo "SKIP: $1" >&2
	exit 77
}
command -v node >/dev/null 2>&1 || missing "node is not installed (scripts/install-deps)"
command -v npm >/dev/null 2>&1 || missing "npm is not installed"
[ -x /usr/bin/chromium ] || missing "/usr/bin/chromium is not installed (scripts/install-deps installs Debian's chromium)"
modules=$("$here/node-deps.sh") || missing "could not install the node packages (npm registry unreachable?)"
NODE_MODULES=$modules exec node "$here/$1"

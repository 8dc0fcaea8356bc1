# SPDX-License-Identifier: Apache-2.0
# clilib.sh: what the command-line tests share.  Source it with the test's
# arguments: it checks for PATH-TO-STPGATE, sets STPGATE and a temporary
# directory T (removed at exit), and defines the pass/fail tally, check
# and run.  The test ends with `summary`.
# shellcheck shell=bash

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH-TO-STPGATE" >&2
	exit 2
fi
STPGATE=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/$(basename "$0" .sh).XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { # check DESCRIPTION COMMAND...: the command must succeed
	local what=$1
	shift
	if "$@"; then pass; else fail "$what"; fi
}

# run ARGS...: run stpgate; sets rc, out (stdout) and err (stderr).
run() {
	"$STPGATE" "$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	# shellcheck disable=SC2034 # read by the tests that source this
	out=$(cat "$T/.out")
	# shellcheck disable=SC2034
	err=$(cat "$T/.err")
}

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_help.sh: every command answers --help (and -h) with its usage and
# exit 0; --version works; the exit codes are documented; an unknown command
# or option exits 2; `status` with no gateway behind the socket exits 1 with
# one line, and with no `control:` in the config exits 2.
#
# usage: test_help.sh PATH-TO-STPGATE
set -u

# shellcheck source=clilib.sh
. "$(dirname "$0")/clilib.sh" "$@"

# one_error STATUS ARGS...: exit STATUS, nothing on stdout, one "stpgate: " line on stderr.
one_error() {
	local want=$1
	shift
	run "$@"
	if [ "$rc" -eq "$want" ] && [ -z "$out" ] && [ "$(wc -l <"$T/.err")" -eq 1 ] &&
	    [ "${err#stpgate: }" != "$err" ]; then
		pass
	else
		fail "stpgate $*: want exit $want and one 'stpgate: ' line; got exit $rc, stdout '$out', stderr '$err'"
	fi
}

# ---- the top level ----

for h in --help -h; do
	run $h
	check "stpgate $h exits 0 (rc $rc, stderr $err)" test "$rc" -eq 0 -a -z "$err"
	check "stpgate $h starts with its usage" test "${out#usage: stpgate COMMAND}" != "$out"
	case $out in
	*"exit status: 0 success, 1 runtime failure"*"2 usage, input or config error"*) pass ;;
	*) fail "stpgate $h does not document the exit codes" ;;
	esac
done
top=$out

run --version
check "stpgate --version exits 0" test "$rc" -eq 0 -a -z "$err"
check "stpgate --version prints 'stpgate VERSION' ($out)" \
	test -n "$(printf '%s\n' "$out" | grep -E '^stpgate [0-9]+\.[0-9]+')"
run -V
check "stpgate -V exits 0" test "$rc" -eq 0

# The commands --help lists: the indented lines after "commands:".
cmds=$(printf '%s\n' "$top" | sed -n '/^commands:/,/^$/{/^  [a-z]/{s/^  \([a-z][a-z0-9-]*\).*/\1/;p}}')
n=$(printf '%s\n' "$cmds" | grep -c .)
check "stpgate --help lists at least 7 commands (got $n: $(echo $cmds))" test "$n" -ge 7
for want in run check status keygen pubkey fingerprint secret; do
	case " $(echo $cmds) " in
	*" $want "*) pass ;;
	*) fail "stpgate --help does not list '$want'" ;;
	esac
done

# ---- every command ----

for c in $cmds; do
	for h in --help -h; do
		run "$c" $h
		check "stpgate $c $h exits 0 (rc $rc, stderr $err)" test "$rc" -eq 0 -a -z "$err"
		check "stpgate $c $h shows its usage" test "${out#usage: stpgate "$c"}" != "$out"
		check "stpgate $c $h lists its options" \
			test -n "$(printf '%s\n' "$out" | grep -E '^  -h, --help')"
	done
	# --help wins wherever it stands among the options.
	run "$c" --bogus-first --help
	check "stpgate $c --bogus-first --help still shows help (rc $rc)" test "$rc" -eq 0
	one_error 2 "$c" --no-such-option
done

one_error 2
one_error 2 no-such-command
one_error 2 --no-such-option
one_error 2 status -c
one_error 2 status extra-argument

# ---- status: nothing running, no control socket ----

"$STPGATE" keygen -o "$T/id.key" >/dev/null 2>&1 || fail "keygen for the status configs"
cat >"$T/with.yaml" <<EOF
identity: id.key
control: nothing-here.sock
peers: {}
EOF
cat >"$T/without.yaml" <<EOF
identity: id.key
peers: {}
EOF
one_error 1 status -c "$T/with.yaml"
case $err in
*"nothing-here.sock: gateway not running (connect: "*) pass ;;
*) fail "status with nothing running names the socket and says not running: $err" ;;
esac
one_error 1 status -c "$T/with.yaml" --json
STPGATE_CONFIG=$T/with.yaml one_error 1 status
one_error 2 status -c "$T/without.yaml"
case $err in
*"control:"*) pass ;;
*) fail "status with no control socket says to set control: $err" ;;
esac
one_error 2 status -c "$T/missing.yaml"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

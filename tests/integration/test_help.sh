#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_help.sh: every command answers --help (and -h) with its usage and
# exit 0; --version names the commit, OpenSSL, libuv and the ML-KEM backend;
# the exit codes are documented; an unknown command or option exits 2, with
# one message form for every command; `status` and `reload` with no gateway
# behind the socket exit 1 with one line, find the default socket named
# after the config, take --socket, and with `control: off` exit 2.
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
for want in "^stpgate [0-9.]+ \(commit ([0-9a-f]+|unknown)\)$" "^  OpenSSL 3\." \
    "^  libuv 1\." "^  ML-KEM-768: [a-z]+"; do
	check "stpgate --version has a line matching '$want' ($out)" \
		test -n "$(printf '%s\n' "$out" | grep -E "$want")"
done
run -V
check "stpgate -V exits 0" test "$rc" -eq 0

# The commands --help lists: the indented lines after "commands:".
cmds=$(printf '%s\n' "$top" | sed -n '/^commands:/,/^$/{/^  [a-z]/{s/^  \([a-z][a-z0-9-]*\).*/\1/;p}}')
n=$(printf '%s\n' "$cmds" | grep -c .)
check "stpgate --help lists at least 7 commands (got $n: $(echo $cmds))" test "$n" -ge 7
for want in run check status reload keygen pubkey fingerprint secret; do
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
	check "stpgate $c: the unknown-option message ($err)" \
		test "$err" = "stpgate: $c: unknown option '--no-such-option' (see 'stpgate $c --help')"
	one_error 2 "$c" -Z
	check "stpgate $c: the unknown short option message ($err)" \
		test "$err" = "stpgate: $c: unknown option '-Z' (see 'stpgate $c --help')"
done
for c in run check status reload; do
	one_error 2 "$c" -c
	check "stpgate $c -c: says it needs a value ($err)" \
		test "$err" = "stpgate: $c: option '-c' needs a value (see 'stpgate $c --help')"
	one_error 2 "$c" --config
	check "stpgate $c --config: says it needs a value ($err)" \
		test "$err" = "stpgate: $c: option '--config' needs a value (see 'stpgate $c --help')"
done
# An option another command takes is unknown here, in the same words.
one_error 2 check --json
check "check --json: unknown option ($err)" \
	test "$err" = "stpgate: check: unknown option '--json' (see 'stpgate check --help')"
one_error 2 run --log-level=loud
one_error 2 check "$T" extra

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
cat >"$T/off.yaml" <<EOF
identity: id.key
control: off
peers: {}
EOF
cat >"$T/nodir.yaml" <<EOF
identity: id.key
peers: {}
control: no-such-dir/x.sock
EOF
one_error 1 status -c "$T/with.yaml"
case $err in
*"nothing-here.sock: gateway not running (connect: "*) pass ;;
*) fail "status with nothing running names the socket and says not running: $err" ;;
esac
one_error 1 status -c "$T/with.yaml" --json
one_error 1 status -c"$T/with.yaml"
one_error 1 status --config="$T/with.yaml"
STPGATE_CONFIG=$T/with.yaml one_error 1 status
one_error 1 reload -c "$T/with.yaml"
case $err in
*"nothing-here.sock: gateway not running (connect: "*) pass ;;
*) fail "reload with nothing running names the socket and says not running: $err" ;;
esac
# Without control: the default, named after the config, in $RUNTIME_DIRECTORY.
RUNTIME_DIRECTORY=$T one_error 1 status -c "$T/without.yaml"
case $err in
*"$T/without.sock: gateway not running"*) pass ;;
*) fail "status finds the default socket $T/without.sock: $err" ;;
esac
RUNTIME_DIRECTORY=$T one_error 1 reload -c "$T/without.yaml"
# --socket needs no config at all.
one_error 1 status -s "$T/elsewhere.sock" -c "$T/missing.yaml"
case $err in
*"$T/elsewhere.sock: gateway not running"*) pass ;;
*) fail "status --socket uses that socket: $err" ;;
esac
one_error 2 status -c "$T/off.yaml"
case $err in
*"control: off"*) pass ;;
*) fail "status with control: off says so: $err" ;;
esac
one_error 2 status -c "$T/missing.yaml"
one_error 2 reload -c "$T/missing.yaml"
# status takes one peer name, and only a name.
one_error 2 status -c "$T/with.yaml" 'bob;rm'
one_error 2 status -c "$T/with.yaml" bob carol
one_error 1 status -c "$T/with.yaml" bob
# status and reload never read the identity: a config whose key is not
# there still finds its socket.
sed 's/^identity: .*/identity: no-such.key/' "$T/with.yaml" >"$T/nokey.yaml"
one_error 1 status -c "$T/nokey.yaml"
case $err in
*"nothing-here.sock: gateway not running"*) pass ;;
*) fail "status does not read the identity file: $err" ;;
esac
one_error 2 check -c "$T/nokey.yaml"
# A control socket in a directory that does not exist: check says so.
one_error 2 check -c "$T/nodir.yaml"
case $err in
*"nodir.yaml:3:"*"control: directory $T/no-such-dir: No such file or directory"*) pass ;;
*) fail "check names the missing control directory: $err" ;;
esac
# A config with no peers is valid, but says that nothing can connect.
run check -c "$T/without.yaml"
check "check of a config with no peers exits 0 ($rc)" test "$rc" -eq 0
case $err in
"stpgate: warning: $T/without.yaml lists no peers: no session can be made with this config") pass ;;
*) fail "check warns that the config lists no peers: $err" ;;
esac
RUNTIME_DIRECTORY=$T "$STPGATE" run -c "$T/without.yaml" 2>"$T/run.log" &
runpid=$!
for _ in $(seq 50); do
	grep -q "lists no peers" "$T/run.log" && break
	sleep 0.1
done
kill "$runpid" 2>/dev/null
wait "$runpid"
check "run of a config with no peers logs a warning ($(cat "$T/run.log"))" \
	grep -q " warn .*without.yaml lists no peers: no session can be made" "$T/run.log"

# The default config: $STPGATE_CONFIG, else /etc/stpgate/stpgate.yaml.
STPGATE_CONFIG=$T/absent.yaml one_error 2 check
case $err in
*"$T/absent.yaml: "*"the default config; name one with -c FILE"*) pass ;;
*) fail "check without -c names the default config it tried: $err" ;;
esac

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

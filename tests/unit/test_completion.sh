#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_completion.sh SOURCE_DIR: conf/stpgate.bash, the bash completion,
# sourced into this (non-interactive) bash and called as readline would call
# it, with COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT set by hand: the
# commands after `stpgate `, a command's long options, yaml files (and
# directories, not other files) after -c and --config=, peer names from the
# config given with -c (and from $STPGATE_CONFIG) after `status`, the log
# levels after --log-level, files after keygen -o.
set -u
src=${1:?usage: test_completion.sh SOURCE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# shellcheck source=../../conf/stpgate.bash
if ! source "$src/conf/stpgate.bash" || ! declare -F _stpgate >/dev/null; then
	echo "FAIL: sourcing $src/conf/stpgate.bash defines no _stpgate"
	exit 1
fi
if [[ $(complete -p stpgate 2>/dev/null) != *"-F _stpgate stpgate"* ]]; then
	echo "FAIL: stpgate.bash does not register _stpgate for stpgate"
	fail=1
fi

# comp LINE: complete LINE (the cursor at its end) as bash would split it,
# leaving the sorted answers, one a line, in $got.
comp() {
	COMP_LINE=$1
	COMP_POINT=${#1}
	local line=$1
	COMP_WORDS=()
	# Split like readline: at blanks, and "=" as a word of its own.
	line=${line//=/ = }
	read -r -a COMP_WORDS <<<"$line"
	[[ $1 == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_stpgate stpgate "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	got=$(printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort)
}
# expect WHAT LINE WANTED...: the completions of LINE are exactly WANTED.
expect() {
	local what=$1 line=$2
	shift 2
	local want
	want=$(printf '%s\n' "$@" | LC_ALL=C sort)
	comp "$line"
	if [[ $got == "$want" ]]; then
		echo "ok: $what"
	else
		echo "FAIL: $what: '$line' gave [${got//$'\n'/ }], wanted [${want//$'\n'/ }]"
		fail=1
	fi
}
# has WHAT LINE WORD...: the completions of LINE include every WORD.
has() {
	local what=$1 line=$2 w miss=
	shift 2
	comp "$line"
	for w in "$@"; do
		grep -qxF -- "$w" <<<"$got" || miss+=" $w"
	done
	if [[ -z $miss ]]; then
		echo "ok: $what"
	else
		echo "FAIL: $what: '$line' gave [${got//$'\n'/ }], missing$miss"
		fail=1
	fi
}

expect "the commands after 'stpgate '" "stpgate " \
	run check status reload keygen pubkey fingerprint secret
expect "commands by prefix" "stpgate re" reload
expect "global options" "stpgate --v" --version
expect "run's --config" "stpgate run --c" --config
has "run's options" "stpgate run -" -c --config -l --log-level -v --verbose -h --help
has "status's --json and --socket" "stpgate status --" --json --socket --config --help
expect "keygen's --force" "stpgate keygen --f" --force
expect "log levels after --log-level" "stpgate run --log-level " error warn info debug
expect "log levels after -l, by prefix" "stpgate run -v -l d" debug
expect "log levels after --log-level=" "stpgate run --log-level=w" warn

# Files: in a directory of our own.
mkdir -p "$tmp/files/sub.d"
touch "$tmp/files/a.yaml" "$tmp/files/b.yml" "$tmp/files/c.key" "$tmp/files/d.txt"
cd "$tmp/files" || exit 1
expect "yaml files and directories after -c" "stpgate run -c " a.yaml b.yml sub.d
expect "yaml files after --config=" "stpgate check --config=" a.yaml b.yml sub.d
expect "yaml files after -c, by prefix" "stpgate status -c a" a.yaml
expect "any file after keygen -o" "stpgate keygen -o " a.yaml b.yml c.key d.txt sub.d
expect "any file for pubkey" "stpgate pubkey c" c.key
expect "any file after -s" "stpgate reload -s d" d.txt

# Peer names: from -c FILE, from --config=FILE, from $STPGATE_CONFIG.
cat >"$tmp/files/gw.yaml" <<'EOF'
identity: /etc/stpgate/alice.key   # peers: in a comment is no key
listen: 0.0.0.0:7400
peers:
    bob:
        key: stp1:xxxx
        dial: bob.example.net:7400
    "carol":   # quoted
        key: stp1:yyyy

    dave.home-1: {key: "stp1:zzzz"}
    # erin: commented out
services:
  postgres:
    connect: 127.0.0.1:5432
    allow: [bob]
EOF
expect "peer names from -c FILE after 'status -c FILE '" \
	"stpgate status -c $tmp/files/gw.yaml " bob carol dave.home-1
expect "peer names by prefix" "stpgate status -c $tmp/files/gw.yaml c" carol
expect "peer names from --config=FILE" "stpgate status --json --config=$tmp/files/gw.yaml " \
	bob carol dave.home-1
STPGATE_CONFIG="$tmp/files/gw.yaml" expect "peer names from \$STPGATE_CONFIG" \
	"stpgate status " bob carol dave.home-1
printf 'peers:\n\t- x\n' >"$tmp/files/odd.yaml"
printf 'identity: k\npeers: {}\nlisten: 0.0.0.0:1\n' >"$tmp/files/flow.yaml"
expect "no peers from a list" "stpgate status -c $tmp/files/odd.yaml "
expect "no peers from a flow mapping" "stpgate status -c $tmp/files/flow.yaml "
expect "nothing from a config that is not there" "stpgate status -c $tmp/nothere.yaml "
# A name that is not a peer name is never offered (nor expanded by compgen).
printf 'peers:\n  "$(touch %s/pwned)":\n    key: k\n  ok:\n    key: k\n' "$tmp" \
	>"$tmp/files/evil.yaml"
expect "only valid peer names, never expanded" "stpgate status -c $tmp/files/evil.yaml " ok
if [[ -e $tmp/pwned ]]; then
	echo "FAIL: a peer name from the config was run as a command"
	fail=1
fi
exit "$fail"

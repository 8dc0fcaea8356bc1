#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_cli.sh: the stpgate command line as a user meets it: keygen, pubkey,
# fingerprint, secret, --help, --version, and the exit status and one-line
# error of every kind of bad input.
#
# usage: test_cli.sh PATH-TO-STPGATE
set -u

# shellcheck source=clilib.sh
. "$(dirname "$0")/clilib.sh" "$@"

# expect_error STATUS MENTION ARGS...: stpgate ARGS fails with STATUS, prints
# nothing on stdout and exactly one "stpgate: " line on stderr naming MENTION.
expect_error() {
	local want=$1 mention=$2 what
	shift 2
	what="stpgate $*"
	run "$@"
	if [ "$rc" -ne "$want" ]; then
		fail "$what: exit $rc, want $want (stderr: $err)"
		return
	fi
	if [ -n "$out" ]; then
		fail "$what: wrote to stdout: $out"
		return
	fi
	if [ "$(wc -l <"$T/.err")" -ne 1 ] || [ "${err#stpgate: }" = "$err" ]; then
		fail "$what: stderr is not one 'stpgate: ' line: $err"
		return
	fi
	case $err in
	*"$mention"*) pass ;;
	*) fail "$what: error does not mention '$mention': $err" ;;
	esac
}

# field NAME: the value of the "NAME:" line in $out.
field() {
	printf '%s\n' "$out" | sed -n "s/^$1: *//p"
}

mode_of() {
	stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1"
}

# ---- keygen, pubkey, fingerprint agree ----

key=$T/alice.key
run keygen -o "$key"
check "keygen exits 0 (stderr: $err)" test "$rc" -eq 0
check "keygen writes the file" test -f "$key"
check "keygen writes mode 600 (got $(mode_of "$key"))" test "$(mode_of "$key")" = 600
pub=$(field "public key")
fp=$(field fingerprint)
check "keygen prints a key text ($pub)" test "${#pub}" -eq 53 -a "${pub#stp1:}" != "$pub"
check "keygen prints 8 fingerprint words ($fp)" \
	test "$(printf '%s' "$fp" | tr '-' '\n' | grep -c '^[a-z]\{3,7\}$')" -eq 8
check "keygen names the file" test "$(field identity)" = "$key"

run pubkey "$key"
check "pubkey exits 0" test "$rc" -eq 0
check "pubkey prints exactly keygen's key" test "$out" = "$pub"

run fingerprint "$key"
check "fingerprint FILE exits 0" test "$rc" -eq 0
check "fingerprint FILE prints keygen's key" test "$(field "public key")" = "$pub"
check "fingerprint FILE prints keygen's words" test "$(field fingerprint)" = "$fp"
byfile=$out
run fingerprint "$pub"
check "fingerprint KEY exits 0" test "$rc" -eq 0
check "fingerprint KEY equals fingerprint FILE" test "$out" = "$byfile"

# A second identity differs.
run keygen -o "$T/bob.key"
check "second keygen exits 0" test "$rc" -eq 0
check "two identities have different keys" test "$(field "public key")" != "$pub"
check "two identities have different fingerprints" test "$(field fingerprint)" != "$fp"

# File names with spaces, and "--output=".
run keygen --output="$T/with space.key"
check "keygen --output= with a space in the name" test "$rc" -eq 0 -a -f "$T/with space.key"
run pubkey "$T/with space.key"
check "pubkey of a name with a space" test "$rc" -eq 0

# ---- no clobbering ----

cp -p "$key" "$T/alice.orig"
expect_error 2 "$key" keygen -o "$key"
check "refused keygen leaves the file as it was" cmp -s "$key" "$T/alice.orig"
check "refused keygen leaves no temporary file" \
	test "$(find "$T" -name 'alice.key.tmp-*' | wc -l)" -eq 0
run keygen -o "$key" --force
check "keygen --force exits 0" test "$rc" -eq 0
check "keygen --force replaced the key" test "$(field "public key")" != "$pub"
check "keygen --force keeps mode 600" test "$(mode_of "$key")" = 600
run pubkey "$key"
check "pubkey reads the replaced key" test "$out" != "$pub" -a "$rc" -eq 0
pub=$out

# keygen -o -: the identity on stdout (nothing else), its public key lines
# on stderr; pubkey reads an identity from stdin with '-' or no FILE.
"$STPGATE" keygen -o - >"$T/piped.key" 2>"$T/piped.err"
check "keygen -o - exits 0" test $? -eq 0
check "keygen -o - writes no file named -" test ! -e -
check "keygen -o - prints the identity file's text on stdout" \
	grep -q '^stp-identity-v1 ' "$T/piped.key"
check "keygen -o - prints nothing else on stdout" \
	test "$(grep -c 'public key:\|fingerprint:' "$T/piped.key")" -eq 0
spub=$(sed -n 's/^public key: *//p' "$T/piped.err")
check "keygen -o - prints the public key on stderr ($spub)" test "${#spub}" -eq 53
chmod 600 "$T/piped.key"
run pubkey "$T/piped.key"
check "the piped identity loads as a file and has stderr's key" test "$rc" -eq 0 -a "$out" = "$spub"
check "pubkey - reads stdin" test "$("$STPGATE" pubkey - <"$T/piped.key")" = "$spub"
check "pubkey with no FILE reads stdin" test "$("$STPGATE" pubkey <"$T/piped.key")" = "$spub"
"$STPGATE" keygen -o - | "$STPGATE" pubkey >"$T/pipe.out" 2>/dev/null
check "keygen -o - | pubkey works in one pipe" grep -q '^stp1:' "$T/pipe.out"
printf 'not an identity\n' | "$STPGATE" pubkey >"$T/.out" 2>"$T/.err"
rc=$?
check "pubkey of junk on stdin exits 2 naming standard input ($(cat "$T/.err"))" \
	test "$rc" -eq 2 -a -n "$(grep '^stpgate: standard input:1: ' "$T/.err")"
run keygen -o - --force
check "keygen -o - --force is a usage error" test "$rc" -eq 2

# ---- secret: a new access secret, printed or written 0600 ----

run secret
check "secret exits 0 (stderr: $err)" test "$rc" -eq 0 -a -z "$err"
check "secret prints one stps1: line of 54 characters ($out)" \
	grep -qxE 'stps1:[A-Za-z0-9_-]{48}' <<<"$out"
check "secret prints exactly one line" test "$(wc -l <"$T/.out")" -eq 1
secret=$out
run secret
check "two secrets differ" test "$rc" -eq 0 -a "$out" != "$secret"

sfile=$T/access.secret
run secret -o "$sfile"
check "secret -o exits 0 and prints nothing (stdout '$out', stderr '$err')" \
	test "$rc" -eq 0 -a -z "$out" -a -z "$err"
check "secret -o writes mode 600 (got $(mode_of "$sfile"))" test "$(mode_of "$sfile")" = 600
check "secret -o writes one stps1: line" \
	test "$(grep -cxE 'stps1:[A-Za-z0-9_-]{48}' "$sfile")" -eq 1 -a "$(wc -l <"$sfile")" -eq 1
cp -p "$sfile" "$T/access.orig"
expect_error 2 "$sfile: already exists" secret -o "$sfile"
check "refused secret leaves the file as it was" cmp -s "$sfile" "$T/access.orig"
run secret --output="$T/with space.secret"
check "secret --output= with a space in the name" test "$rc" -eq 0 -a -f "$T/with space.secret"
expect_error 2 "$T/no/such/dir.secret" secret -o "$T/no/such/dir.secret"

# The line works in a config, which must then not be readable by every user.
cfg=$T/secret.yaml
printf 'identity: %s\nlisten: 127.0.0.1:7400\naccess_secret: %s\npeers:\n  bob:\n    key: %s\n    dial: 127.0.0.1:7401\n    access_secret: %s\n' \
	"$key" "$(cat "$sfile")" "$("$STPGATE" pubkey "$T/bob.key")" "$secret" >"$cfg"
chmod 600 "$cfg"
run check -c "$cfg"
check "a config with the secrets checks (stderr: $err)" test "$rc" -eq 0
case $out in
*"(1 dialed, 1 with an access secret)"*"(access secret: set)"*) pass ;;
*) fail "check's summary does not say the secrets are set: $out" ;;
esac
case $out in
*stps1:*) fail "check's summary shows a secret: $out" ;;
*) pass ;;
esac
chmod 644 "$cfg"
expect_error 2 "$cfg:3:1: access_secret: $cfg is readable by every user (mode 0644); chmod o-r it" \
	check -c "$cfg"
chmod 640 "$cfg"
run check -c "$cfg"
check "a config with the secrets, mode 640, checks (stderr: $err)" test "$rc" -eq 0
chmod 600 "$cfg"
typo=$(sed 's/^\(.\{20\}\)./\1A/' "$sfile")
[ "$typo" = "$(cat "$sfile")" ] && typo=$(sed 's/^\(.\{20\}\)./\1B/' "$sfile")
printf 'identity: %s\naccess_secret: %s\n' "$key" "$typo" >"$cfg"
expect_error 2 "$cfg:2:16: access_secret: checksum mismatch" check -c "$cfg"
check "the error does not show the secret" test "${err#*"${typo#stps1:}"}" = "$err"

# ---- bad input: exit 2, one line naming the file or argument ----

expect_error 2 "$T/absent.key" pubkey "$T/absent.key"
expect_error 2 "$T/absent.key" fingerprint "$T/absent.key"
expect_error 2 "$T" pubkey "$T"
if [ "$(id -u)" -ne 0 ]; then
	cp -p "$key" "$T/locked.key"
	chmod 000 "$T/locked.key"
	expect_error 2 "$T/locked.key" pubkey "$T/locked.key"
fi

cp -p "$key" "$T/open.key"
chmod 644 "$T/open.key"
expect_error 2 "$T/open.key" pubkey "$T/open.key"
expect_error 2 "chmod 600 $T/open.key" fingerprint "$T/open.key"
chmod 640 "$T/open.key"
expect_error 2 "$T/open.key" pubkey "$T/open.key"

head -c 150 "$key" >"$T/trunc.key"
chmod 600 "$T/trunc.key"
expect_error 2 "$T/trunc.key" pubkey "$T/trunc.key"
head -c "$(($(wc -c <"$key") - 5))" "$key" >"$T/trunc2.key"
chmod 600 "$T/trunc2.key"
expect_error 2 "$T/trunc2.key" fingerprint "$T/trunc2.key"

printf 'hello, world\n' >"$T/text.key"
chmod 600 "$T/text.key"
expect_error 2 "$T/text.key" pubkey "$T/text.key"
head -c 300 /dev/urandom >"$T/random.key"
chmod 600 "$T/random.key"
expect_error 2 "$T/random.key" pubkey "$T/random.key"
: >"$T/empty.key"
chmod 600 "$T/empty.key"
expect_error 2 "$T/empty.key" fingerprint "$T/empty.key"
head -c 5000 /dev/zero | tr '\0' '#' >"$T/big.key"
chmod 600 "$T/big.key"
expect_error 2 "$T/big.key" pubkey "$T/big.key"
# A public key where the secret file belongs.
printf '%s\n' "$pub" >"$T/pub.txt"
chmod 600 "$T/pub.txt"
expect_error 2 "$T/pub.txt" pubkey "$T/pub.txt"

# Mistyped key texts: one character changed, one dropped, padding added.
c=${pub:20:1}
if [ "$c" = A ]; then r=B; else r=A; fi
typo=${pub:0:20}$r${pub:21}
expect_error 2 "$typo: checksum mismatch" fingerprint "$typo"
expect_error 2 "${pub%?}: wrong length" fingerprint "${pub%?}"
expect_error 2 "$pub=" fingerprint "$pub="
expect_error 2 "not-a-key" fingerprint "not-a-key"

# keygen into a directory that does not exist.
expect_error 2 "$T/no/such/dir.key" keygen -o "$T/no/such/dir.key"

# ---- usage ----

expect_error 2 "frobnicate" frobnicate
expect_error 2 "--frob" --frob
expect_error 2 "missing command"
expect_error 2 "keygen" keygen
expect_error 2 "-x" keygen -o "$T/x.key" -x
expect_error 2 "-o" keygen -o
expect_error 2 "standard input" pubkey
expect_error 2 "extra" pubkey "$key" extra
expect_error 2 "--bogus" fingerprint --bogus "$key"
check "failed usage wrote no key" test ! -e "$T/x.key"
expect_error 2 "-o" secret -o
expect_error 2 "-o" secret -o ""
expect_error 2 "-x" secret -o "$T/x.secret" -x
expect_error 2 "extra" secret extra
check "failed usage wrote no secret" test ! -e "$T/x.secret"

run --help
check "stpgate --help exits 0" test "$rc" -eq 0 -a -z "$err"
cmds=$(printf '%s\n' "$out" | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
check "stpgate --help lists commands ($cmds)" test -n "$cmds"
for c in $cmds; do
	run "$c" --help
	check "stpgate $c --help exits 0" test "$rc" -eq 0 -a -z "$err"
	check "stpgate $c --help shows its usage" test "${out#usage: stpgate "$c"}" != "$out"
done
for c in keygen pubkey fingerprint secret; do
	check "stpgate --help lists $c" grep -qx "$c" <<<"$cmds"
done
run keygen -o "$T/h.key" --help
check "--help after options shows help, writes nothing" \
	test "$rc" -eq 0 -a ! -e "$T/h.key"

run --version
check "stpgate --version exits 0" test "$rc" -eq 0
check "stpgate --version prints the version ($out)" \
	grep -qE '^stpgate [0-9]+\.[0-9]+\.[0-9]+' <<<"$out"

# ---- runtime failure: stdout cannot be written ----

if [ -w /dev/full ]; then
	"$STPGATE" pubkey "$key" >/dev/full 2>"$T/.err"
	rc=$?
	check "write error on stdout exits 1 (got $rc)" test "$rc" -eq 1
	check "write error is reported" grep -q 'stdout' "$T/.err"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

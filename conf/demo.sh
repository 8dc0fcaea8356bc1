#!/usr/bin/env bash
# demo.sh: two people, alice and bob, set up stpgate identities and check
# each other's keys the way real users do: exchange key texts, then compare
# fingerprints out of band (read aloud over the phone, say).
#
# Uses $STPGATE, or build/gateway/stpgate, or builds it into ./build first.
# Everything happens in a temporary directory that is removed at the end.
# (The encrypted tunnel between the two comes in a later version.)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

find_stpgate() {
	local c
	for c in "${STPGATE:-}" "$top/build/gateway/stpgate" "$top/build/stpgate"; do
		if [ -n "$c" ] && [ -x "$c" ]; then
			printf '%s\n' "$c"
			return 0
		fi
	done
	return 1
}

if ! bin=$(find_stpgate); then
	echo "building stpgate into $top/build (Release) ..."
	log=$(mktemp "${TMPDIR:-/tmp}/stpgate-build.XXXXXX")
	if ! { cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=Release &&
	    cmake --build "$top/build" --target stpgate -j "$(nproc 2>/dev/null || echo 2)"; } \
	    >"$log" 2>&1; then
		echo "build failed; the last lines of the log ($log):" >&2
		tail -n 20 "$log" >&2
		exit 1
	fi
	rm -f "$log"
	bin=$(find_stpgate) || { echo "built, but no stpgate binary found" >&2; exit 1; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/stpgate-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

# value NAME TEXT: the value of the "NAME:" line in TEXT.
value() {
	printf '%s\n' "$2" | sed -n "s/^$1: *//p"
}

declare -A key fp

echo "stpgate demo: identities  ($("$bin" --version))"
echo
for who in alice bob; do
	echo "$who runs:  stpgate keygen -o $who.key"
	out=$("$bin" keygen -o "$who.key")
	key[$who]=$(value "public key" "$out")
	fp[$who]=$(value fingerprint "$out")
	printf '  public key:  %s\n' "${key[$who]}"
	printf '  fingerprint: %s\n' "${fp[$who]}"
	printf '  secret key:  %s, mode %s\n\n' "$who.key" \
	    "$(stat -c %a "$who.key" 2>/dev/null || stat -f %Lp "$who.key")"
done

echo "They swap public key texts (e-mail, chat: anything), then each one"
echo "fingerprints the key received and reads the words back to its owner:"
echo
ok=1
for me in alice bob; do
	if [ "$me" = alice ]; then them=bob; else them=alice; fi
	got=$(value fingerprint "$("$bin" fingerprint "${key[$them]}")")
	echo "$me runs:  stpgate fingerprint <$them's key text>"
	printf '  %s\n' "$got"
	if [ "$got" = "${fp[$them]}" ]; then
		echo "  same words as $them's own keygen printed: $them's key confirmed"
	else
		echo "  DIFFERENT from what $them printed (${fp[$them]}): do not use this key"
		ok=0
	fi
	echo
done

if [ "$ok" -ne 1 ]; then
	echo "summary: fingerprint check FAILED" >&2
	exit 1
fi
echo "summary: 2 identities created (secret files mode 600), public keys"
echo "exchanged as text, fingerprints confirmed on both sides.  Next, each"
echo "puts the other's key text in its peer map."

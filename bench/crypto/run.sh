#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# run.sh: crypto primitive benchmark, stpgate against `openssl speed`.
#
# Builds bench_crypto (Release, in <repo>/build-bench) when needed, runs it
# and `openssl speed` in turns (ours, openssl, ours, openssl ...) so that
# both sides see the same drift in clock and load, keeps the best figure of
# each side over the rounds, and prints one table plus a verdict on the
# targets:
#   - XChaCha20-Poly1305 seal at 16 KiB on the record path (direction key)
#     within 5% of OpenSSL's raw chacha20-poly1305 at 16 KiB (ratio >= 0.95);
#   - ML-KEM-768 keygen, encaps and decaps each under 100 us, every backend.
# Local CPU only; nothing touches the network.
#
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/crypto/run.sh [--quick] [--save] [--help]

  --quick  one round, 0.2 s per stpgate case, only the baselines the targets
           need (OpenSSL's shortest run is 1 s per figure)
  --save   also write the table to bench/results/crypto-<date>-<host>.md
  --help   this text

Environment: BENCH_CRYPTO_BIN=path runs that bench_crypto and skips the build.

Default: three rounds, 1 s per case on each side, best round kept per figure.
MB is 10^6 bytes on both sides.  OpenSSL figures are wall-clock (-elapsed).
Progress goes to stderr, the table to stdout.  Exit status is 0 when the
benchmark ran, whatever the verdict; 1 when something failed to build or run.
EOF
}

QUICK=0
SAVE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--save) SAVE=1 ;;
	--help|-h) usage; exit 0 ;;
	*) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD="$REPO/build-bench"
BIN="${BENCH_CRYPTO_BIN:-$BUILD/bench/bench_crypto}"
SIZES=(64 1024 16384)

if [ "$QUICK" = 1 ]; then
	TIME=0.2; OSEC=1; ROUNDS=1
else
	TIME=1.0; OSEC=1; ROUNDS=3
fi

log() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

command -v openssl >/dev/null || die "openssl not found"
command -v cmake >/dev/null || die "cmake not found"

# --- build ---
if [ -n "${BENCH_CRYPTO_BIN:-}" ]; then
	log "using $BIN, not building"
elif [ ! -f "$BUILD/CMakeCache.txt" ] ||
    ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD/CMakeCache.txt" ||
	    ! grep -q '^STP_BENCH:BOOL=ON$' "$BUILD/CMakeCache.txt"; then
	log "configuring $BUILD (Release)"
	cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSTP_WERROR=ON -DSTP_BENCH=ON \
	    >&2 || die "cmake configure failed"
fi
if [ -z "${BENCH_CRYPTO_BIN:-}" ]; then
	log "building bench_crypto"
	cmake --build "$BUILD" --target bench_crypto -j2 >&2 ||
	    die "build of bench_crypto failed"
fi
[ -x "$BIN" ] || die "$BIN not built"

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
log "load average before: $LOAD0 ($(nproc 2>/dev/null || echo ?) CPUs)"

# --- collected figures: best over rounds ---
declare -A OPS NS CPU CNS  # ours, best run by case: ops/s, ns/op, cpu%, cpu ns/op
declare -A OSSL        # openssl: bytes/s (sized) or ops/s, by key

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fgt A B: true when A > B as numbers
fgt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

# ours CASE...: run bench_crypto on exactly these cases, keep the best.
ours() {
	local args=() c name wall cpu ops_s ns
	for c in "$@"; do args+=(--filter "$c"); done
	log "stpgate: $*"
	"$BIN" --csv --time "$TIME" "${args[@]}" >"$tmp/ours" 2>"$tmp/ours.err" ||
	    { cat "$tmp/ours.err" >&2; die "bench_crypto failed"; }
	while IFS=, read -r name _ _ wall cpu ops_s _ ns; do
		[ "$name" = case ] && continue
		if [ -z "${OPS[$name]:-}" ] || fgt "$ops_s" "${OPS[$name]}"; then
			OPS[$name]=$ops_s
			NS[$name]=$ns
			CPU[$name]=$(awk -v c="$cpu" -v w="$wall" \
			    'BEGIN { printf "%.0f", 100 * c / w }')
			CNS[$name]=$(awk -v n="$ns" -v c="$cpu" -v w="$wall" \
			    'BEGIN { printf "%.1f", n * c / w }')
		fi
	done <"$tmp/ours"
}

# keep KEY VALUE: store the larger of VALUE and what OSSL[KEY] holds.
keep() {
	[ -n "$2" ] || die "could not parse openssl output for $1"
	if [ -z "${OSSL[$1]:-}" ] || fgt "$2" "${OSSL[$1]}"; then
		OSSL[$1]=$2
	fi
}

# ossl_bytes KEY ARGS...: one sized `openssl speed` run; keeps bytes/s.
ossl_bytes() {
	local key=$1 v
	shift
	log "openssl speed $*"
	openssl speed -elapsed -mr -seconds "$OSEC" "$@" >"$tmp/o" \
	    2>"$tmp/o.err" || { cat "$tmp/o.err" >&2; die "openssl speed failed"; }
	v=$(awk -F: '/^\+F:/ { print $4; exit }' "$tmp/o")
	keep "$key" "$v"
}

# ossl_pk: Ed25519 sign/verify and X25519 derive, ops/s.
ossl_pk() {
	log "openssl speed ed25519 ecdhx25519"
	openssl speed -elapsed -mr -seconds "$OSEC" ed25519 ecdhx25519 \
	    >"$tmp/o" 2>"$tmp/o.err" ||
	    { cat "$tmp/o.err" >&2; die "openssl speed failed"; }
	keep ed25519.sign "$(awk -F: '/^\+F6:/ && $4 == "Ed25519" { print $5 }' "$tmp/o")"
	keep ed25519.verify "$(awk -F: '/^\+F6:/ && $4 == "Ed25519" { print $6 }' "$tmp/o")"
	keep x25519.shared "$(awk -F: '/^\+F5:/ && $3 == "253" { print $4 }' "$tmp/o")"
}

# --- the runs, interleaved ---
for ((round = 1; round <= ROUNDS; round++)); do
	log "round $round of $ROUNDS"
	for n in "${SIZES[@]}"; do
		ours "aead.xchacha.dirkey.seal/$n" "aead.xchacha.dirkey.open/$n" \
		    "aead.xchacha.oneshot.seal/$n" "aead.chacha.seal/$n"
		ossl_bytes "raw.enc/$n" -evp chacha20-poly1305 -bytes "$n"
		if [ "$QUICK" = 0 ]; then
			ossl_bytes "raw.dec/$n" -evp chacha20-poly1305 -decrypt \
			    -bytes "$n"
			ossl_bytes "aead/$n" -evp chacha20-poly1305 -aead \
			    -bytes "$n"
		fi
	done
	for n in "${SIZES[@]}"; do
		ours "sha512/$n" "hmac-sha512/$n"
		if [ "$QUICK" = 0 ]; then
			ossl_bytes "sha512/$n" -evp sha512 -bytes "$n"
			ossl_bytes "hmac-sha512/$n" -hmac sha512 -bytes "$n"
		fi
	done
	ours hkdf-sha512 ed25519 x25519
	ossl_pk
	ours mlkem768
	cp "$tmp/ours" "$tmp/kem"
done

LOAD1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
log "load average after: $LOAD1"

# --- the table ---
# Cell formatters; an empty value prints "-".
mbs() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.1f", v / 1e6 }'; }
ratio() {
	awk -v a="$1" -v b="$2" \
	    'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.3f", a / b }'
}
perop() {
	awk -v v="$1" 'BEGIN { if (v == "") print "-";
	    else if (v >= 10000) printf "%.2f us", v / 1000; else printf "%.1f ns", v }'
}
opsf() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.0f op/s", v }'; }

# The ML-KEM backends bench_crypto reported, in its order.
kem_backends() {
	grep '^mlkem768\.keygen/' "$tmp/kem" | cut -d, -f1 | cut -d/ -f2
}

table() {
	local n c b
	echo "| primitive | size | stpgate MB/s | openssl MB/s | ratio | stpgate per op | cpu% | stpgate cpu/op |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	# sized: LABEL CASE OSSLKEY
	sized() {
		local label=$1 c=$2 k=$3 n ours_b
		for n in "${SIZES[@]}"; do
			ours_b=$(awk -v o="${OPS[$c/$n]:-}" -v n="$n" \
			    'BEGIN { if (o != "") printf "%.1f", o * n }')
			printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' \
			    "$label" "$n" \
			    "$(mbs "$ours_b")" "$(mbs "${OSSL[$k/$n]:-}")" \
			    "$(ratio "$ours_b" "${OSSL[$k/$n]:-}")" \
			    "$(perop "${NS[$c/$n]:-}")" "${CPU[$c/$n]:--}" \
			    "$(perop "${CNS[$c/$n]:-}")"
		done
	}
	sized "XChaCha20-Poly1305 seal, record path (dirkey) vs raw" \
	    aead.xchacha.dirkey.seal raw.enc
	sized "XChaCha20-Poly1305 open, record path (dirkey) vs raw -decrypt" \
	    aead.xchacha.dirkey.open raw.dec
	sized "XChaCha20-Poly1305 seal, one-shot (HChaCha20 per call) vs raw" \
	    aead.xchacha.oneshot.seal raw.enc
	sized "ChaCha20-Poly1305 seal (RFC 8439) vs raw" aead.chacha.seal raw.enc
	if [ "$QUICK" = 0 ]; then
		sized "XChaCha20-Poly1305 seal, record path vs openssl -aead" \
		    aead.xchacha.dirkey.seal aead
	fi
	sized "SHA-512" sha512 sha512
	sized "HMAC-SHA-512" hmac-sha512 hmac-sha512
	# fixed-size operations: LABEL CASE OSSLKEY ("" = none)
	fixed() {
		local label=$1 c=$2 k=${3:-none} o=""
		if [ "$k" != none ]; then o=${OSSL[$k]:-}; fi
		printf '| %s | - | %s | %s | %s | %s | %s | %s |\n' "$label" \
		    "$(opsf "${OPS[$c]:-}")" "$(opsf "$o")" \
		    "$(ratio "${OPS[$c]:-}" "$o")" \
		    "$(perop "${NS[$c]:-}")" "${CPU[$c]:--}" \
		    "$(perop "${CNS[$c]:-}")"
	}
	fixed "HKDF-SHA512 extract+expand 64 B" hkdf-sha512.out64 ""
	fixed "Ed25519 sign (stpgate 64 B msg)" ed25519.sign.msg64 ed25519.sign
	fixed "Ed25519 verify (stpgate 64 B msg)" ed25519.verify.msg64 ed25519.verify
	fixed "X25519 keypair (incl. rand_bytes)" x25519.keypair ""
	fixed "X25519 shared" x25519.shared x25519.shared
	for b in $(kem_backends); do
		for n in keygen encaps decaps; do
			fixed "ML-KEM-768 $n [$b]" "mlkem768.$n/$b" ""
		done
	done
}

verdict() {
	local r ok=1 b n us low lines=()
	# ops ratio equals MB/s ratio: same size on both sides
	r=$(awk -v o="${OPS[aead.xchacha.dirkey.seal/16384]:-}" \
	    -v b="${OSSL[raw.enc/16384]:-}" \
	    'BEGIN { if (o == "" || b == "") print "-"; else printf "%.3f", o * 16384 / b }')
	if [ "$r" != "-" ] && awk -v r="$r" 'BEGIN { exit !(r >= 0.95) }'; then
		lines+=("- PASS XChaCha20-Poly1305 seal 16 KiB (record path) / openssl raw = $r (target >= 0.95)")
	else
		lines+=("- FAIL XChaCha20-Poly1305 seal 16 KiB (record path) / openssl raw = $r (target >= 0.95)")
		ok=0
	fi
	for b in $(kem_backends); do
		for n in keygen encaps decaps; do
			us=$(awk -v v="${NS[mlkem768.$n/$b]:-}" \
			    'BEGIN { if (v == "") print "-"; else printf "%.1f", v / 1000 }')
			if [ "$us" != "-" ] && awk -v v="$us" 'BEGIN { exit !(v < 100) }'; then
				lines+=("- PASS ML-KEM-768 $n [$b] = $us us (target < 100 us)")
			else
				lines+=("- FAIL ML-KEM-768 $n [$b] = $us us (target < 100 us)")
				ok=0
			fi
		done
	done
	if [ "$ok" = 1 ]; then
		echo "Verdict: all targets met"
	else
		echo "Verdict: target(s) missed"
	fi
	printf '%s\n' "${lines[@]}"
	low=$(printf '%s\n' "${CPU[@]}" | sort -n | head -1)
	if [ -n "$low" ] && [ "$low" -lt 90 ]; then
		echo "- WARNING: other work shared the CPU (lowest cpu% $low):" \
		    "wall-clock figures are pessimistic; cpu/op is less disturbed"
	fi
}

{
	echo "# stpgate crypto benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), host: $(uname -n), $(nproc 2>/dev/null || echo '?') CPUs"
	echo "- cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?')"
	echo "- $(openssl version)"
	echo "- mode: $([ "$QUICK" = 1 ] && echo quick || echo full), $ROUNDS round(s), stpgate --time $TIME s/case, openssl -seconds $OSEC -elapsed; best round kept"
	echo "- load average before: $LOAD0, after: $LOAD1"
	echo "- openssl raw = \`speed -evp chacha20-poly1305\` (update calls on one context, no per-record init or tag); -aead = its TLS-like sequence; stpgate AEAD cases carry 8 B of AAD"
	echo "- cpu% = process CPU time / wall time of the stpgate run; cpu/op = CPU time per operation
- openssl Ed25519 signs a 20 B message; X25519 shared vs \`speed ecdhx25519\` (derive only)"
	echo
	table
	echo
	verdict
} >"$tmp/report"

cat "$tmp/report"

if [ "$SAVE" = 1 ]; then
	mkdir -p "$REPO/bench/results"
	out="$REPO/bench/results/crypto-$(date '+%Y%m%d')-$(uname -n).md"
	cp "$tmp/report" "$out"
	log "saved $out"
fi

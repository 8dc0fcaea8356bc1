#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# pow.sh: what a flood of HELLOs without a proof of work costs a responder
# with the pow plugin on (plugins/pow.c), and what an honest initiator pays.
#
#   1. in process (bench_pow_flood inproc): 20,000 HELLOs through the real
#      handshake code with pow's admit hook; CPU per message on one hs, on a
#      fresh hs each, for mac1 alone, for a wrong solution, for admit()
#      alone; then the time to solve the default 18-bit puzzle;
#   2. over TCP (tests/plugins/test_pow_flood.py): 20,000 first messages to
#      a real `stpgate run` on 127.0.0.1, over connections of --per HELLOs;
#      the gateway's CPU per message from /proc/PID/stat; a second gateway
#      dials it during a second flood; stale, wrong, replayed and
#      re-addressed solutions over the wire.
#
# Only 127.0.0.0/8 is touched; every step is bounded in count and time.
# Builds bench_pow_flood and stpgate (Release, in <repo>/build-bench) when
# needed.  Exit status: 0 when everything ran, 1 otherwise.
#
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/plugins/pow.sh [--per N,...] [--workers W] [-n N] [--help]

  -n N         HELLOs per flood (default 20000)
  --per LIST   HELLOs per TCP connection, one flood per value (default 50,1)
  --workers W  crypto workers of the gateways (default 2)

Environment: BENCH_BUILD=dir uses that build directory (with STP_BENCH=ON)
and skips configuring it.
EOF
}

N=20000
PERS=50,1
WORKERS=2
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N="$2"; shift ;;
	--per) PERS="$2"; shift ;;
	--workers) WORKERS="$2"; shift ;;
	--help|-h) usage; exit 0 ;;
	*) echo "pow.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD="${BENCH_BUILD:-$REPO/build-bench}"
log() { printf 'pow.sh: %s\n' "$*" >&2; }
die() { printf 'pow.sh: error: %s\n' "$*" >&2; exit 1; }

if [ -z "${BENCH_BUILD:-}" ] && { [ ! -f "$BUILD/CMakeCache.txt" ] ||
    ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD/CMakeCache.txt" ||
    ! grep -q '^STP_BENCH:BOOL=ON$' "$BUILD/CMakeCache.txt" ||
    ! grep -q '^STP_TESTS:BOOL=ON$' "$BUILD/CMakeCache.txt"; }; then
	log "configuring $BUILD (Release)"
	cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSTP_BENCH=ON -DSTP_TESTS=ON \
	    >&2 || die "cmake configure failed"
fi
log "building bench_pow_flood and stpgate"
cmake --build "$BUILD" --target bench_pow_flood stpgate -j2 >&2 ||
    die "build failed"
TOOL=$(find "$BUILD" -name bench_pow_flood -type f -perm -u+x | head -1)
STPGATE="$BUILD/gateway/stpgate"
[ -x "$TOOL" ] && [ -x "$STPGATE" ] || die "tools not built"

echo "pow flood bench, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$TOOL" inproc -n "$N" -s 20 2>/dev/null || die "in-process bench failed"
echo
rc=0
IFS=, read -r -a per_list <<<"$PERS"
for per in "${per_list[@]}"; do
	echo "over TCP: $N HELLOs, $per per connection, workers $WORKERS"
	out=$(python3 "$REPO/tests/plugins/test_pow_flood.py" --stpgate "$STPGATE" \
	    --tool "$TOOL" --workers "$WORKERS" -n "$N" --per "$per" 2>&1) || rc=1
	printf '%s\n' "$out" | grep -E 'FIGURE|flood:|wire:|alice comes up|while the flood|FAIL|passed' |
	    sed 's/^\[ *[0-9.]*\] /  /'
	echo
done
exit $rc

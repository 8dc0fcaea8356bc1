#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# distance.sh: one TCP stream across an emulated slow, far link (a rate, an
# RTT, a loss), direct and through an stpgate pair, in the same run, run
# after run in turn (issue 17, "Speed at distance": measure, no tuning).
#
# Two network namespaces of our own joined by TUN devices and a userspace
# link emulator (bench/distance.py: tests/hardening/hlib.py's emulator with
# a rate knob).  First the link's rate is calibrated (the highest of 50, 100
# and 200 Mbit/s at which direct TCP gets 90% of it), then for RTT 50 and
# 150 ms and loss 0, 0.1 and 1%: iperf3 direct and iperf3 through alice's
# forward to bob's service, both gateways in their default configuration.
# Writes bench/results/<date>-<host>-distance.md (the table), a .json of
# every run and a .png plot beside it.  Needs root.
#
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/distance.sh [--quick] [--stpgate PATH] [options of distance.py]

  --quick          1 run of 5 s per cell and system, a shorter calibration:
                   about 2 minutes (default: 3 runs of 8 s, about 7 minutes)
  --stpgate PATH   use this binary (else build Release in $BENCH_BUILD,
                   default <repo>/build-bench, target stpgate)
  --runs N         runs per cell and system
  --time S         seconds per run
  --rate MBIT      use this link rate, no calibration
  --rates LIST     candidate rates, Mbit/s (default 50,100,200)
  --rtts LIST      RTTs, ms (default 50,150)
  --losses LIST    loss per direction, percent (default 0,0.1,1)
  --queue-bdp F    the link's queue in bandwidth-delay products (default 1)
  --cc NAME        TCP congestion control in the namespaces (default: the
                   kernel's default)
  --out DIR        where the results go (default <repo>/bench/results)
  --keep           keep the temporary directory (configs, logs, raw JSON)
  --max-seconds S  stop everything after S seconds (default 1500; --quick 600)
  --help           this text

Needs root: it creates two network namespaces (stpd-<pid>-a, stpd-<pid>-b)
and TUN devices, and deletes them at exit; every process it starts is
killed by PID at exit.  Installs iperf3 and gnuplot-nox from Debian's
packages when missing.
EOF
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STPGATE=""
PASS=()
CMD="bench/distance.sh"
while [ $# -gt 0 ]; do
	CMD+=" $1"
	case "$1" in
	--help|-h) usage; exit 0 ;;
	--stpgate) STPGATE=${2:-}; CMD+=" ${2:-}"; shift ;;
	--quick|--keep) PASS+=("$1") ;;
	--runs|--time|--rate|--rates|--rtts|--losses|--queue-bdp|--cc|--out|--max-seconds|--seed)
		[ $# -ge 2 ] || { echo "distance.sh: $1 needs a value" >&2; exit 2; }
		PASS+=("$1" "$2"); CMD+=" $2"; shift ;;
	*) echo "distance.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

log() { printf 'distance.sh: %s\n' "$*" >&2; }
die() { printf 'distance.sh: error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
	echo "distance.sh: needs root: it creates network namespaces and TUN devices" \
	    "(CAP_SYS_ADMIN, CAP_NET_ADMIN); running as uid $(id -u). Run it with sudo." >&2
	exit 77
fi
[ -e /dev/net/tun ] || die "/dev/net/tun is not available (modprobe tun)"

need=()
for pair in iperf3:iperf3 gnuplot:gnuplot-nox ip:iproute2 ss:iproute2 \
    sysctl:procps python3:python3; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ -z "$STPGATE" ]; then
	for pkg in cmake build-essential pkg-config libuv1-dev libssl-dev \
	    libprotobuf-c-dev protobuf-c-compiler libyaml-dev; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
			need+=("$pkg")
	done
fi
if [ "${#need[@]}" -gt 0 ]; then
	mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
	log "installing ${need[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; then
		apt-get update -qq >/dev/null 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
		    die "apt-get install ${need[*]} failed"
	fi
fi

if [ -z "$STPGATE" ]; then
	BUILD="${BENCH_BUILD:-$REPO/build-bench}"
	log "building stpgate (Release) in $BUILD"
	cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSTP_WERROR=ON >/dev/null ||
	    die "cmake configure failed (cmake -S $REPO -B $BUILD)"
	cmake --build "$BUILD" --target stpgate -j2 >/dev/null ||
	    die "build failed (cmake --build $BUILD --target stpgate)"
	STPGATE="$BUILD/gateway/stpgate"
fi
[ -x "$STPGATE" ] || die "not an executable: $STPGATE"

# distance.py cleans up on SIGTERM (processes by PID, namespaces); pass
# ^C, SIGTERM and SIGHUP on to it as SIGTERM and wait for it to finish.
python3 "$REPO/bench/distance.py" --stpgate "$STPGATE" --command "$CMD" \
    ${PASS[@]+"${PASS[@]}"} &
PY=$!
trap 'kill -TERM "$PY" 2>/dev/null || true' INT TERM HUP
rc=0
while :; do
	wait "$PY" && rc=0 || rc=$?
	kill -0 "$PY" 2>/dev/null || break   # wait returns early on a trapped signal
done
exit "$rc"

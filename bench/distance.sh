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
ME=distance.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$REPO/bench/lib.sh"
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
		bench_need_value $# "$1"
		PASS+=("$1" "$2"); CMD+=" $2"; shift ;;
	*) echo "distance.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

bench_need_root_tun
bench_install_missing iperf3:iperf3 gnuplot:gnuplot-nox ip:iproute2 ss:iproute2 \
    sysctl:procps python3:python3
bench_stpgate
bench_run_python "$REPO/bench/distance.py" --stpgate "$STPGATE" --command "$CMD" \
    ${PASS[@]+"${PASS[@]}"}

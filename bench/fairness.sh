#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# fairness.sh: an interactive stream beside 8 bulk streams over one stpgate
# session across an emulated slow, far link, and the same traffic over plain
# TCP in the same run (issue 17, "Fair streams, no head-of-line surprise":
# measure, no tuning).
#
# Two network namespaces of our own joined by TUN devices and
# tests/hardening/hlib.py's link emulator (100 Mbit/s, RTT 50 ms, a queue of
# one bandwidth-delay product unless told otherwise); alice in one with two
# forwards, bob in the other with two services (a 64-byte responder and a
# bulk source/sink), both in the default configuration.  The interactive
# request/response loop runs alone (idle), then beside 8 downloads (B -> A,
# the responses' direction); the bulk streams' throughputs and the answers'
# latencies are compared with their targets, and with 8 plain TCP
# connections beside the same loop.  The work is done by bench/fairness.py.
# Writes bench/results/<date>-<host>-fairness.md (the tables, PASS/FAIL per
# target), a .json of every phase and a .png plot beside it.  Needs root.
#
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/fairness.sh [--quick] [--stpgate PATH] [options of fairness.py]

An interactive request/response stream beside 8 bulk downloads, all over
one stpgate session across an emulated link, and the same over plain TCP.
Targets (stpgate): interactive p99 under load <= idle p99 + RTT + 10 ms;
each bulk stream within +-20% of the 8 streams' mean.  The bench reports
PASS/FAIL per target and exits 0 either way (non-zero: it could not
measure).

  --quick          idle 8 s, warm-up 3 s, 12 s counted, 1 run per system:
                   about 1 minute (default: idle 20 s, warm-up 5 s, 30 s
                   counted, 2 runs per system: about 4 minutes)
  --stpgate PATH   use this binary (else build Release in $BENCH_BUILD,
                   default <repo>/build-bench, target stpgate)
  --rtt MS         the link's round trip (default 50)
  --rate MBIT      the link's rate, Mbit/s (default 100, fixed: no
                   calibration; the emulator, the Python clients and the
                   gateways share the CPUs)
  --queue-bdp F    the link's queue in bandwidth-delay products (default 1)
  --streams N      bulk streams (default 8)
  --size B         request and answer size, bytes (default 64)
  --idle S         seconds of the interactive loop alone
  --warm S         seconds of each loaded run not counted
  --time S         seconds of each loaded run counted
  --runs N         loaded runs per system (and direction)
  --upload         uploads too (A -> B), after the downloads
  --cc NAME        TCP congestion control in the namespaces (default: the
                   kernel's default)
  --out DIR        where the results go (default <repo>/bench/results)
  --keep           keep the temporary directory (configs, logs, raw samples)
  --seed S         the emulator's random seed
  --max-seconds S  stop everything after S seconds (default 900; --quick 300)
  --help           this text

Needs root: it creates two network namespaces (stpfair-<pid>-a, -b) and
TUN devices, and deletes them at exit; every process it starts is killed
by PID at exit.  Installs gnuplot-nox from Debian's packages when missing.
EOF
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ME=fairness.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$REPO/bench/lib.sh"
STPGATE=""
PASS=()
CMD="bench/fairness.sh"
while [ $# -gt 0 ]; do
	CMD+=" $1"
	case "$1" in
	--help|-h) usage; exit 0 ;;
	--stpgate)
		bench_need_value $# "$1"
		STPGATE=$2; CMD+=" $2"; shift ;;
	--quick|--keep|--upload) PASS+=("$1") ;;
	--rtt|--rate|--queue-bdp|--streams|--size|--idle|--warm|--time|--runs|--cc|\
	--out|--max-seconds|--seed)
		bench_need_value $# "$1"
		PASS+=("$1" "$2"); CMD+=" $2"; shift ;;
	*) echo "fairness.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

bench_need_root_tun
bench_install_missing gnuplot:gnuplot-nox ip:iproute2 ss:iproute2 sysctl:procps python3:python3
bench_stpgate
bench_run_python "$REPO/bench/fairness.py" --stpgate "$STPGATE" --command "$CMD" \
    ${PASS[@]+"${PASS[@]}"}

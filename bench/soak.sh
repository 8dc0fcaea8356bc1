#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# soak.sh: an alice/bob gateway pair under stream churn for an hour (by
# default), with SIGHUP reloads, gateway restarts and link cuts, sampling RSS
# and open descriptors of both every minute.  Not part of CI.  The work is
# done by bench/soak.py (read its docstring for the details); this script
# finds or builds stpgate, installs what the plot needs, and makes sure that
# nothing the run started outlives it: the Python driver, the gateways (they
# die with it) and its network namespaces (stpsoak-<pid>-a and -b).
#
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/soak.sh [--minutes N | --quick] [--stpgate PATH] [--concurrency C]
                     [--rate R] [--seed S] [--workers W] [--out DIR] [--keep]
                     [--no-netns] [--help]

  --minutes N     minutes of load (default 60)
  --quick         3 minutes: one cycle of every disturbance, to try the setup
  --stpgate PATH  the binary to soak (default: build a Release one in
                  $SOAK_BUILD, else <repo>/build-bench, as bench/run.sh does)
  --concurrency C transfers in flight at most (default 32)
  --rate R        transfers started per second at most (default 50)
  --seed S        the seed of the size distribution and pattern (default 17)
  --workers W     the gateways' workers: line (default: none, i.e. auto)
  --out DIR       where the report and plot go (default <repo>/bench/results)
  --keep          keep the temporary directory (configs, keys, gateway logs);
                  it is kept anyway when a check fails
  --no-netns      both gateways on 127.0.0.1, no link cuts (also what happens,
                  said in the report, when not root)

Writes <out>/<date>-<host>-soak.md (-soak-quick.md with --quick), a PNG plot
beside it, and <...>-failures.log when a transfer failed.  Prints PASS/FAIL
lines at the end.  Exit status 0 when every check passed, 1 when one failed
or the run could not be set up, 2 on bad usage.
EOF
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ME=soak.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$REPO/bench/lib.sh"
ORIG="$*"
STPGATE=""
PYARGS=()
QUICK=0
MINUTES=60
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1; PYARGS+=(--quick) ;;
	--minutes)
		MINUTES=${2:-}
		[[ "$MINUTES" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "soak.sh: --minutes takes 1..1440" >&2; exit 2; }
		PYARGS+=(--minutes "$MINUTES"); shift ;;
	--stpgate) STPGATE=${2:-}; shift ;;
	--concurrency|--rate|--seed|--workers|--out)
		bench_need_value $# "$1"
		PYARGS+=("$1" "$2"); shift ;;
	--keep|--no-netns) PYARGS+=("$1") ;;
	--help|-h) usage; exit 0 ;;
	*) echo "soak.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

command -v python3 >/dev/null || die "python3 is needed"
if [ "$(id -u)" != 0 ]; then
	log "not root: no network namespaces, so both gateways run on 127.0.0.1 and the link cuts are skipped"
fi

# The plot: matplotlib (Debian's python3-matplotlib), else gnuplot, else none.
# Debian's package serves Debian's python3, which a python3 earlier in PATH
# (pyenv, a venv) does not see: use /usr/bin/python3 when only it has it.
PYTHON=python3
has_mpl() { "$1" -c 'import matplotlib' 2>/dev/null; }
if ! has_mpl python3 && ! { [ -x /usr/bin/python3 ] && has_mpl /usr/bin/python3; }; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing python3-matplotlib for the plot"
		bench_apt_install python3-matplotlib 2>/dev/null ||
		    log "could not install python3-matplotlib: the plot falls back to gnuplot, if any"
	else
		log "no matplotlib (python3-matplotlib): the plot falls back to gnuplot, if any"
	fi
fi
if ! has_mpl python3 && [ -x /usr/bin/python3 ] && has_mpl /usr/bin/python3; then
	PYTHON=/usr/bin/python3
fi

if [ -z "$STPGATE" ]; then
	BUILD="${SOAK_BUILD:-$REPO/build-bench}"
	log "configuring and building stpgate in $BUILD (Release)"
	bench_build_stpgate "$BUILD"
fi
[ -x "$STPGATE" ] || die "not an executable: $STPGATE"
STPGATE=$(cd "$(dirname "$STPGATE")" && pwd)/$(basename "$STPGATE")

CMD="bench/soak.sh${ORIG:+ $ORIG}"

PY=""
cleanup() {
	local i
	trap - EXIT INT TERM HUP
	if [ -n "$PY" ] && kill -0 "$PY" 2>/dev/null; then
		kill -TERM "$PY" 2>/dev/null || true
		for i in $(seq 1 40); do kill -0 "$PY" 2>/dev/null || break; sleep 0.5; done
		kill -0 "$PY" 2>/dev/null && kill -KILL "$PY" 2>/dev/null || true
	fi
	# The driver deletes its namespaces itself; after a SIGKILL it cannot.
	if [ -n "$PY" ] && [ "$(id -u)" = 0 ]; then
		for ns in "stpsoak-$PY-a" "stpsoak-$PY-b"; do
			if [ -e "/run/netns/$ns" ]; then
				ip netns del "$ns" 2>/dev/null && log "deleted namespace $ns" || true
			fi
		done
	fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM HUP

log "stpgate: $STPGATE; $("$PYTHON" --version 2>&1) ($PYTHON)"
"$PYTHON" "$REPO/bench/soak.py" --stpgate "$STPGATE" --command "$CMD" "${PYARGS[@]}" &
PY=$!
rc=0
wait "$PY" || rc=$?
cleanup
exit "$rc"

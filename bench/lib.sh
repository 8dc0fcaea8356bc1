# SPDX-License-Identifier: Apache-2.0
# lib.sh: what the wrappers of the Python benches (distance.sh, fairness.sh,
# soak.sh) share: their log and error lines, a value check for options, the
# root and TUN check, installing what is missing from Debian's packages,
# the Release build of stpgate, and running the Python part with ^C,
# SIGTERM and SIGHUP passed on to it.  Source it after setting REPO (the
# repository) and ME (the script's name, the prefix of its lines); the
# functions read and set STPGATE (the binary; empty: build one).
# shellcheck shell=bash

log() { printf '%s: %s\n' "$ME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

# bench_need_value ARGC OPTION: exit 2 unless the option has a value (ARGC:
# the $# where OPTION is $1).
bench_need_value() {
	[ "$1" -ge 2 ] || { echo "$ME: $2 needs a value" >&2; exit 2; }
}

# bench_need_root_tun: exit 77 unless root; die without /dev/net/tun.
bench_need_root_tun() {
	if [ "$(id -u)" != 0 ]; then
		echo "$ME: needs root: it creates network namespaces and TUN devices" \
		    "(CAP_SYS_ADMIN, CAP_NET_ADMIN); running as uid $(id -u). Run it with sudo." >&2
		exit 77
	fi
	[ -e /dev/net/tun ] || die "/dev/net/tun is not available (modprobe tun)"
}

# bench_apt_install PACKAGE...: apt-get install, quietly; after a failure
# once more after an apt-get update, apt-get's errors on stderr.  Its status.
bench_apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
	apt-get update -qq >/dev/null 2>&1 || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# bench_install_missing COMMAND:PACKAGE...: install each PACKAGE whose
# COMMAND is not in PATH and, when STPGATE is empty, what building stpgate
# needs; die if apt-get fails.
bench_install_missing() {
	local need=() pair pkg
	for pair in "$@"; do
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
		bench_apt_install "${need[@]}" || die "apt-get install ${need[*]} failed"
	fi
}

# bench_build_stpgate DIR [CMAKE-OPTION...]: configure (Release) and build
# the target stpgate in DIR, quietly; set STPGATE to it; die on a failure.
bench_build_stpgate() {
	local build=$1
	shift
	cmake -S "$REPO" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null ||
	    die "cmake configure failed (cmake -S $REPO -B $build)"
	cmake --build "$build" --target stpgate -j2 >/dev/null ||
	    die "build failed (cmake --build $build --target stpgate)"
	STPGATE="$build/gateway/stpgate"
}

# bench_stpgate: STPGATE as given, else a Release build with warnings as
# errors in $BENCH_BUILD (default <repo>/build-bench); die if it is not an
# executable.
bench_stpgate() {
	if [ -z "$STPGATE" ]; then
		BUILD="${BENCH_BUILD:-$REPO/build-bench}"
		log "building stpgate (Release) in $BUILD"
		bench_build_stpgate "$BUILD" -DSTP_WERROR=ON
	fi
	[ -x "$STPGATE" ] || die "not an executable: $STPGATE"
}

# bench_run_python SCRIPT ARG...: python3 SCRIPT ARG... in the background,
# ^C, SIGTERM and SIGHUP passed on to it as SIGTERM (the script cleans up on
# SIGTERM: processes by PID, namespaces); wait for it to finish and exit
# with its status.
bench_run_python() {
	python3 "$@" &
	PY=$!
	trap 'kill -TERM "$PY" 2>/dev/null || true' INT TERM HUP
	local rc=0
	while :; do
		wait "$PY" && rc=0 || rc=$?
		kill -0 "$PY" 2>/dev/null || break   # wait returns early on a trapped signal
	done
	exit "$rc"
}

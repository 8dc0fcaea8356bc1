#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_install.sh SOURCE_DIR: `cmake --install` puts everything
# under the prefix it is given, DESTDIR honoured, and the systemd unit runs
# the binary and points at the documentation where that prefix put them.
# Configures a scratch build of its own (the prefix is fixed at configure
# time: /usr, as a Debian package has it), installs into a temporary
# DESTDIR, never into /; then checks that /opt/stpgate changes the unit.
set -u
src=${1:?usage: test_install.sh SOURCE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # what, condition...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
for prefix in /usr; do
	b="$tmp/build${prefix//\//_}" d="$tmp/dest${prefix//\//_}"
	if ! cmake -S "$src" -B "$b" -DCMAKE_INSTALL_PREFIX="$prefix" \
	    -DSTP_BENCH=OFF -DSTP_LONG_TESTS=OFF >"$tmp/cfg.log" 2>&1 ||
	   ! cmake --build "$b" -j 2 >"$tmp/build.log" 2>&1; then
		echo "FAIL: configure/build for prefix $prefix"
		tail -n 20 "$tmp/cfg.log"; tail -n 20 "$tmp/build.log"
		exit 1
	fi
	if ! DESTDIR="$d" cmake --install "$b" >"$tmp/inst.log" 2>&1; then
		echo "FAIL: cmake --install"
		tail -20 "$tmp/inst.log"
		exit 1
	fi
	unit="$d$prefix/lib/systemd/system/stpgate.service"
	check "$prefix: the binary is $prefix/bin/stpgate and runs" \
		"$d$prefix/bin/stpgate" --version
	check "$prefix: the unit is installed" test -f "$unit"
	check "$prefix: ExecStart runs $prefix/bin/stpgate" \
		grep -q "^ExecStart=$prefix/bin/stpgate run " "$unit"
	check "$prefix: Documentation= points into $prefix/share/doc/stpgate" \
		grep -q "^Documentation=file:$prefix/share/doc/stpgate/example.yaml" "$unit"
	check "$prefix: example.yaml and LICENSE are in $prefix/share/doc/stpgate" \
		test -f "$d$prefix/share/doc/stpgate/example.yaml" -a \
		-f "$d$prefix/share/doc/stpgate/LICENSE"
	check "$prefix: nothing lands outside the prefix" \
		test -z "$(cd "$d" && find . -type f | grep -v "^\.$prefix/")"
	check "$prefix: no /usr/local left in the unit's settings" \
		bash -c "! grep -v '^#' '$unit' | grep -q /usr/local"
done
# Another prefix changes the unit at configure time (no build needed).
b="$tmp/build_opt"
if cmake -S "$src" -B "$b" -DCMAKE_INSTALL_PREFIX=/opt/stpgate -DSTP_BENCH=OFF \
    -DSTP_LONG_TESTS=OFF >"$tmp/cfg.log" 2>&1; then
	check "/opt/stpgate: the unit runs /opt/stpgate/bin/stpgate" \
		grep -q "^ExecStart=/opt/stpgate/bin/stpgate run " "$b/conf/stpgate.service"
	check "/opt/stpgate: Documentation= points into /opt/stpgate/share/doc/stpgate" \
		grep -q "^Documentation=file:/opt/stpgate/share/doc/stpgate/" "$b/conf/stpgate.service"
else
	echo "FAIL: configure for prefix /opt/stpgate"
	tail -20 "$tmp/cfg.log"
	fail=1
fi
exit "$fail"

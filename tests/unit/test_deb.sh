#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_deb.sh SOURCE_DIR: the Debian package (conf/packaging.cmake).
#   - stpgate.service and stpgate@.service have the same [Service] and
#     [Install] sections, but for the config's name (no drift);
#   - a scratch Release build of its own (prefix /usr, Debian's hardening
#     flags, no tests, no bench) and `cpack -G DEB` give
#     stpgate_VERSION_ARCH.deb, whose Depends (from dpkg-shlibdeps) name
#     libuv1, libssl3, libprotobuf-c1 and libyaml-0-2, whose files are all
#     under /usr, none in /etc, with units that run /usr/bin/stpgate;
#   - lintian finds no error and no warning (every tag it may report is
#     explained in conf/packaging.cmake, or overridden there with a reason);
#   - as root only (else exit 77 after the above): dpkg -i makes the user
#     and group stpgate, /etc/stpgate 0750 root:stpgate and /run/stpgate,
#     enables nothing; /usr/bin/stpgate --version runs; systemd-analyze
#     verify passes both units (the template as stpgate@demo) without a
#     word; the completion loads; dpkg --purge leaves none of the
#     package's files, no /etc/stpgate, no /run/stpgate (the user stays, as
#     Debian policy wants).
# It refuses (exit 1) to run the install part on a machine where dpkg
# already knows a package stpgate or where /etc/stpgate exists: it would
# replace or purge them.  A failure purges what it installed; a user and
# group it caused are deleted at the end.
set -u
src=${1:?usage: test_deb.sh SOURCE_DIR}
start=$SECONDS
fail=0
check() { # what, condition...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
die() {
	echo "FAIL: $*"
	exit 1
}
for tool in cmake cpack dpkg-deb dpkg-shlibdeps dpkg-buildflags lintian; do
	command -v "$tool" >/dev/null ||
		die "$tool not found (apt-get install cmake dpkg-dev lintian; tests/run.sh does)"
done

# known: dpkg has the package stpgate installed, or its config files.
known() {
	local st
	st=$(dpkg-query -W -f='${db:Status-Status}' stpgate 2>/dev/null)
	[ -n "$st" ] && [ "$st" != not-installed ]
}
# As root, first make sure the install part will not touch what is not ours.
if [ "$(id -u)" = 0 ]; then
	if known; then
		die "a package stpgate is already on this machine ($(dpkg-query -W \
			-f='${db:Status-Status} ${Version}' stpgate)): this test would" \
			"replace and purge it; remove it first (dpkg --purge stpgate) or" \
			"run elsewhere"
	fi
	if [ -e /etc/stpgate ]; then
		die "/etc/stpgate exists: the test's purge checks that it goes;" \
			"move it away first"
	fi
fi

# ---- the two units do not drift apart ----
# section FILE NAME: the section's settings, comments and blank lines out.
section() {
	awk -v want="[$2]" '/^\[/ { on = ($0 == want); next }
		on && !/^[ \t]*(#|$)/' "$1"
}
units_agree() { # DIR: its stpgate.service and stpgate@.service agree
	local s
	for s in Service Install; do
		if ! diff <(section "$1/stpgate.service" "$s") \
			<(section "$1/stpgate@.service" "$s" | sed 's/%i/stpgate/g'); then
			echo "($1: stpgate@.service's [$s] differs from stpgate.service's" \
				"beyond %i; change both)"
			return 1
		fi
	done
	grep -q '^ExecStart=.* -c /etc/stpgate/%i\.yaml$' "$1/stpgate@.service"
}
check "stpgate.service and stpgate@.service: same [Service] and [Install] but %i" \
	units_agree "$src/conf"

# ---- build the package ----
tmp=$(mktemp -d)
installed=0 made_user=0 made_group=0
cleanup() {
	if [ "$installed" = 1 ]; then
		echo "(purging the stpgate package this test installed)"
		dpkg --purge stpgate >"$tmp/purge-trap.log" 2>&1 ||
			{ echo "FAIL: dpkg --purge stpgate in cleanup"; cat "$tmp/purge-trap.log"; }
	fi
	# The package keeps its user (policy); the test does not keep one it caused.
	if [ "$made_user" = 1 ] && getent passwd stpgate >/dev/null; then
		userdel stpgate || echo "FAIL: userdel stpgate"
	fi
	if [ "$made_group" = 1 ] && getent group stpgate >/dev/null; then
		groupdel stpgate || echo "FAIL: groupdel stpgate"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
b=$tmp/build
# Built as a Debian package is: dpkg-buildflags' hardening (all of it: the
# gateway faces the network), without -g (the binary is stripped anyway,
# and it would only slow this build).
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
cflags=" $cflags "
cflags=${cflags// -g / }
if ! CFLAGS=$cflags LDFLAGS=$(dpkg-buildflags --get LDFLAGS) \
	cmake -S "$src" -B "$b" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release \
	-DSTP_TESTS=OFF -DSTP_BENCH=OFF -DSTP_WERROR=OFF >"$tmp/cfg.log" 2>&1 ||
	! cmake --build "$b" -j 2 >"$tmp/build.log" 2>&1; then
	tail -n 30 "$tmp/cfg.log" "$tmp/build.log"
	die "configure/build (prefix /usr, Release)"
fi
if ! (cd "$b" && cpack -G DEB) >"$tmp/cpack.log" 2>&1; then
	tail -n 30 "$tmp/cpack.log"
	die "cpack -G DEB"
fi
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$b/CMakeCache.txt")
arch=$(dpkg --print-architecture)
deb=$b/stpgate_${version}_${arch}.deb
if [ -z "$version" ] || [ ! -f "$deb" ]; then
	die "no $deb (made: $(cd "$b" && echo ./*.deb))"
fi
echo "ok: cpack made $(basename "$deb")"

# ---- what the package holds ----
dpkg-deb -I "$deb" >"$tmp/info" || die "dpkg-deb -I"
depends=$(sed -n 's/^ Depends: //p' "$tmp/info")
for lib in libuv1 libssl3 libprotobuf-c1 libyaml-0-2 adduser; do
	check "Depends names $lib" grep -Eq "(^|, )$lib( |,|$)" <<<"$depends"
done
for field in "Package: stpgate" "Version: $version" "Architecture: $arch" \
	"Section: net" "Priority: optional"; do
	check "control: $field" grep -qx " $field" "$tmp/info"
done
check "control: a maintainer" grep -q '^ Maintainer: .*<.*@.*>' "$tmp/info"
check "control: a synopsis and a long description" \
	awk '/^ Description: ./ { d = 1; next } d && /^  ./ { n++ } d && !/^  / { d = 0 }
		END { exit !(n >= 5) }' "$tmp/info"
check "control: no conffiles (nothing in /etc)" bash -c "! grep -q conffiles '$tmp/info'"
dpkg-deb -e "$deb" "$tmp/ctl" || die "dpkg-deb -e"
for s in postinst prerm postrm; do
	check "$s: executable, valid sh" \
		bash -c "[ -x '$tmp/ctl/$s' ] && sh -n '$tmp/ctl/$s'"
done
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/contents"
for f in /usr/bin/stpgate /usr/lib/systemd/system/stpgate.service \
	/usr/lib/systemd/system/stpgate@.service /usr/lib/sysusers.d/stpgate.conf \
	/usr/lib/tmpfiles.d/stpgate.conf /usr/share/bash-completion/completions/stpgate \
	/usr/share/doc/stpgate/copyright /usr/share/doc/stpgate/changelog.gz \
	/usr/share/doc/stpgate/example.yaml; do
	check "the package has $f" grep -qx "$f" "$tmp/contents"
done
check "every file is under /usr/, none under /usr/local" \
	bash -c "! grep -v -e '^/\$' -e '^/usr/' '$tmp/contents' && ! grep -q '^/usr/local' '$tmp/contents'"
dpkg-deb -x "$deb" "$tmp/x" || die "dpkg-deb -x"
units=$tmp/x/usr/lib/systemd/system
check "the packaged units agree too" units_agree "$units"
for u in stpgate.service stpgate@.service; do
	check "$u runs and reloads /usr/bin/stpgate" \
		bash -c "grep -q '^ExecStart=/usr/bin/stpgate run -c /etc/stpgate/' '$units/$u' &&
			grep -q '^ExecReload=/usr/bin/stpgate reload -c /etc/stpgate/' '$units/$u'"
	check "$u: no /usr/local in its settings" \
		bash -c "! grep -v '^#' '$units/$u' | grep -q /usr/local"
done
check "stpgate.service: ExecStart=/usr/bin/stpgate run -c /etc/stpgate/stpgate.yaml" \
	grep -qx 'ExecStart=/usr/bin/stpgate run -c /etc/stpgate/stpgate.yaml' \
	"$units/stpgate.service"

# ---- lintian: no error, no warning ----
lintian --display-level '>=pedantic' "$deb" >"$tmp/lintian" 2>&1
rc=$?
grep -v 'running with root privileges' "$tmp/lintian" | sed 's/^/lintian: /'
check "lintian: no E: line" bash -c "! grep -q '^E:' '$tmp/lintian'"
check "lintian: no W: line (fix it, or override it with a reason)" \
	bash -c "! grep -q '^W:' '$tmp/lintian'"
check "lintian: exit status 0" test "$rc" = 0

# ---- install, run, verify, purge (root only) ----
if [ "$(id -u)" != 0 ]; then
	[ "$fail" = 0 ] || exit 1
	echo "skip: installing the package needs root (dpkg -i, useradd): not" \
		"tested here; everything before it passed"
	exit 77
fi
getent passwd stpgate >/dev/null || made_user=1
getent group stpgate >/dev/null || made_group=1

installed=1
if ! dpkg -i "$deb" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	die "dpkg -i $(basename "$deb")"
fi
echo "ok: dpkg -i"
check "/usr/bin/stpgate --version runs and says $version" \
	bash -c "/usr/bin/stpgate --version | grep -qF '$version'"
check "the user stpgate: home /nonexistent, no login shell, group stpgate" \
	bash -c "getent passwd stpgate | grep -q ':/nonexistent:/usr/sbin/nologin\$' &&
		[ \"\$(id -gn stpgate)\" = stpgate ]"
check "/etc/stpgate is 0750 root:stpgate" \
	test "$(stat -c '%a %U:%G' /etc/stpgate 2>&1)" = "750 root:stpgate"
check "/run/stpgate is 0750 stpgate:stpgate" \
	test "$(stat -c '%a %U:%G' /run/stpgate 2>&1)" = "750 stpgate:stpgate"
check "nothing enabled" bash -c "! ls /etc/systemd/system/*.wants/stpgate* 2>/dev/null"
check "the installed completion defines _stpgate" \
	bash -c "source /usr/share/bash-completion/completions/stpgate && declare -F _stpgate >/dev/null"
# systemd-analyze verify works offline (PID 1 need not be systemd).  It
# checks that ExecStart's and ExecReload's binary exists and, with --man=yes,
# that `man` finds the Documentation= pages: the package's own when man-db
# is here to look.  It returns 0 on a misspelt key, so any word it says fails.
man=no
if command -v man >/dev/null && [ -e /usr/share/man/man8/stpgate.8.gz ]; then
	man=yes
fi
unitdir=/lib/systemd/system    # the same as /usr/lib/systemd/system (merged /usr)
[ -e $unitdir/stpgate.service ] || unitdir=/usr/lib/systemd/system
(cd / && systemd-analyze verify --man=$man $unitdir/stpgate.service \
	$unitdir/stpgate@demo.service) >"$tmp/verify" 2>&1
rc=$?
sed 's/^/systemd-analyze: /' "$tmp/verify"
check "systemd-analyze verify (--man=$man): both units, silent" \
	test "$rc" = 0 -a ! -s "$tmp/verify"

dpkg-query -L stpgate >"$tmp/files" || die "dpkg -L stpgate"
# Files, and the directories that are the package's own (named after it).
while IFS= read -r f; do
	if [ -f "$f" ] || [ -L "$f" ] || [[ $f == *stpgate* ]]; then
		echo "$f"
	fi
done <"$tmp/files" >"$tmp/ours"
if ! dpkg --purge stpgate >"$tmp/purge.log" 2>&1; then
	cat "$tmp/purge.log"
	die "dpkg --purge stpgate"
fi
installed=0
echo "ok: dpkg --purge"
check "dpkg has no stpgate, nor its config files" eval '! known'
left=$(while IFS= read -r f; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done <"$tmp/ours")
check "none of the package's $(wc -l <"$tmp/ours") files and own directories is left" \
	test -z "$left"
[ -z "$left" ] || echo "left: $left"
check "/etc/stpgate is gone" test ! -e /etc/stpgate
check "/run/stpgate is gone" test ! -e /run/stpgate
check "the user stpgate stays (Debian never deletes a system user)" \
	bash -c "getent passwd stpgate >/dev/null"
echo "ok: test_deb.sh took $((SECONDS - start)) s"
exit "$fail"

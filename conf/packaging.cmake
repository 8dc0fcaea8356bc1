# SPDX-License-Identifier: Apache-2.0
# packaging.cmake (included from conf/CMakeLists.txt): what `cmake --install`
# puts beside the binary and the units for a system install, and the Debian
# package (`cpack -G DEB` in a build configured with
# -DCMAKE_INSTALL_PREFIX=/usr; tests/unit/test_deb.sh builds, lints,
# installs and purges it).
#
# Installed for every prefix (all under it, so DESTDIR and /opt work):
#   PREFIX/lib/sysusers.d/stpgate.conf    the system user and group stpgate
#   PREFIX/lib/tmpfiles.d/stpgate.conf    /run/stpgate, /etc/stpgate
#   DATADIR/bash-completion/completions/stpgate
# The units themselves, stpgate.service and stpgate@.service, are installed
# by conf/CMakeLists.txt, which writes the prefix's paths into both.

install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/stpgate.sysusers
  DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d RENAME stpgate.conf)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/stpgate.tmpfiles
  DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d RENAME stpgate.conf)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/stpgate.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME stpgate)

# ---------------------------------------------------------------------------
# The Debian package.
#
# Layout (prefix /usr): /usr/bin/stpgate; the units in /usr/lib/systemd/system
# (bookworm's lintian accepts /lib and /usr/lib alike, and its tag
# systemd-service-in-odd-location calls /usr/lib the standard; bookworm is
# merged-/usr, so /lib/systemd/system/stpgate.service is the same file; and
# Debian's own packages move their units to /usr/lib after bookworm, so a
# later version of this package will not have to move them, which dpkg
# handles badly across the /lib symlink);
# sysusers.d and tmpfiles.d files in /usr/lib; the bash completion; the man
# pages (conf/man/); /usr/share/doc/stpgate with example.yaml, LICENSE, and
# the copyright and changelog.gz files every Debian package carries.
#
# /etc/stpgate: the package ships the directory's rules (tmpfiles.d: mode
# 0750, root:stpgate) and no file in it, so it has no conffiles.  A config
# shipped there could not be a working one (it needs an identity made on
# this host and the peers' keys), and dpkg could not give it the group
# stpgate (made by the postinst, after the files are unpacked) nor keep it
# unreadable by others, which stpgate demands of a config that holds an
# access secret; each upgrade that changed the shipped file would also ask
# the admin about a file they had to rewrite anyway.  What the admin writes
# there (NAME.yaml, NAME.key) is theirs: kept on remove and purge.  The
# reference config is /usr/share/doc/stpgate/example.yaml.
#
# Maintainer scripts (written below into the build directory):
#   postinst  the user (systemd-sysusers, else adduser --system), the
#             directories (systemd-tmpfiles --create, else install -d),
#             daemon-reload where systemd runs; on upgrade, a try-restart of
#             the gateways that were running.  It never enables or starts a
#             unit: a gateway needs an identity and a config first.
#   prerm     on remove, stop the gateways (stpgate, stpgate@*).
#   postrm    daemon-reload; on purge, remove /run/stpgate, the enablement
#             links `systemctl enable` made, and /etc/stpgate if nothing of
#             the admin's is left in it.  The user and group stay: Debian
#             never deletes a system user, since files it owned (an identity
#             copied elsewhere, a backup) would pass to whoever gets its uid
#             next; `deluser --system stpgate` removes it by hand.
#
# Package-only files (the copyright file, changelog.gz) are in the component
# "debian", which `cmake --install` leaves out and cpack adds.
#
# lintian (bookworm's 2.116, --display-level '>=pedantic'; test_deb.sh fails
# on any E: or W:) reports only these two, both I: (information), kept:
#   extra-license-file usr/share/doc/stpgate/LICENSE: every install puts
#     LICENSE beside example.yaml (conf/CMakeLists.txt); the package's
#     copyright file says the same in Debian's form.
#   package-supports-alternative-init-but-no-init.d-script: there is no
#     SysV init script; the units rely on systemd (Type=notify, the
#     sandbox, RuntimeDirectory=).  Elsewhere, run `stpgate run` under the
#     supervisor at hand.
# Build the package with Debian's hardening flags, as test_deb.sh does, or
# lintian adds hardening-no-fortify-functions and hardening-no-bindnow:
#   DEB_BUILD_MAINT_OPTIONS=hardening=+all; export DEB_BUILD_MAINT_OPTIONS
#   CFLAGS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)" \
#   LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" cmake -S . -B build-deb \
#     -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-deb -j && (cd build-deb && cpack -G DEB)
# No tag is overridden, so the package ships no lintian overrides file.

set(STP_DEB_MAINTAINER
  "stpgate maintainers <maintainers@users.noreply.h-seed-017716e5.example>"
  CACHE STRING "Maintainer field of the Debian package")

set(stp_deb ${CMAKE_CURRENT_BINARY_DIR}/debian)
# Dates of the build (SOURCE_DATE_EPOCH, when set, instead of the clock).
string(TIMESTAMP stp_deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
string(TIMESTAMP stp_deb_year "%Y" UTC)
# The project began in 2026.
if(stp_deb_year GREATER 2026)
  set(stp_deb_years "2026-${stp_deb_year}")
else()
  set(stp_deb_years 2026)
endif()

# /usr/share/doc/stpgate/copyright (machine-readable, DEP-5).
file(CONFIGURE OUTPUT ${stp_deb}/copyright @ONLY CONTENT [=[
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: stpgate
Upstream-Contact: @STP_DEB_MAINTAINER@

Files: *
Copyright: @stp_deb_years@ the stpgate authors
License: Apache-2.0

License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the "License");
 you may not use this file except in compliance with the License.
 You may obtain a copy of the License at
 .
 http://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software
 distributed under the License is distributed on an "AS IS" BASIS,
 WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 See the License for the specific language governing permissions and
 limitations under the License.
 .
 On Debian systems, the complete text of the Apache License 2.0 can be
 found in "/usr/share/common-licenses/Apache-2.0".
]=])

# /usr/share/doc/stpgate/changelog.gz: a native package's Debian changelog
# (the version has no Debian revision), compressed as policy asks (gzip -9,
# no name or time stamp in the header).
file(CONFIGURE OUTPUT ${stp_deb}/changelog @ONLY CONTENT [=[
stpgate (@PROJECT_VERSION@) unstable; urgency=medium

  * Package built from the stpgate source tree by CPack
    (conf/packaging.cmake).  The project's history is its git log.

 -- @STP_DEB_MAINTAINER@  @stp_deb_date@
]=])
execute_process(COMMAND gzip -9nc ${stp_deb}/changelog
  OUTPUT_FILE ${stp_deb}/changelog.gz RESULT_VARIABLE stp_rc)
if(NOT stp_rc EQUAL 0)
  message(FATAL_ERROR "gzip ${stp_deb}/changelog failed: ${stp_rc}")
endif()
install(FILES ${stp_deb}/copyright ${stp_deb}/changelog.gz
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT debian EXCLUDE_FROM_ALL)
# CPACK_STRIP_FILES strips the binary; drop, as dh_strip does, the .comment
# section (the compiler's version) that plain strip keeps.
if(CMAKE_OBJCOPY)
  install(CODE "execute_process(COMMAND \"${CMAKE_OBJCOPY}\"
    --remove-section=.comment --remove-section=.note
    \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/stpgate\"
    COMMAND_ERROR_IS_FATAL ANY)" COMPONENT debian EXCLUDE_FROM_ALL)
endif()

# Maintainer scripts.  Paths are the package's (prefix /usr).
file(CONFIGURE OUTPUT ${stp_deb}/postinst @ONLY CONTENT [=[
#!/bin/sh
# postinst of stpgate (conf/packaging.cmake): the system user and group
# stpgate, /etc/stpgate and /run/stpgate.  Never enables or starts a unit.
set -e

if [ "$1" = configure ]; then
	if command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers /usr/lib/sysusers.d/stpgate.conf
	elif ! getent passwd stpgate >/dev/null; then
		# The same user as stpgate.conf describes.
		adduser --system --group --home /nonexistent --no-create-home \
			--shell /usr/sbin/nologin --gecos "stpgate gateway" \
			--quiet stpgate
	fi
	if command -v systemd-tmpfiles >/dev/null 2>&1; then
		systemd-tmpfiles --create /usr/lib/tmpfiles.d/stpgate.conf
	else
		install -d -o root -g stpgate -m 0750 /etc/stpgate
		install -d -o stpgate -g stpgate -m 0750 /run/stpgate
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		# An upgrade: gateways that run pick up the new binary.
		if [ -n "$2" ]; then
			deb-systemd-invoke try-restart stpgate.service \
				'stpgate@*.service' >/dev/null || true
		fi
	fi
fi
exit 0
]=])
file(CONFIGURE OUTPUT ${stp_deb}/prerm @ONLY CONTENT [=[
#!/bin/sh
# prerm of stpgate (conf/packaging.cmake): stop the gateways on removal (an
# upgrade leaves them running; the new postinst restarts them).
set -e

if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	deb-systemd-invoke stop stpgate.service 'stpgate@*.service' >/dev/null || true
fi
exit 0
]=])
file(CONFIGURE OUTPUT ${stp_deb}/postrm @ONLY CONTENT [=[
#!/bin/sh
# postrm of stpgate (conf/packaging.cmake).  The system user and group
# stpgate are kept, even on purge, as Debian does: files the user owned
# would pass to the next user given its uid.  Remove them by hand with
# `deluser --system stpgate` once nothing of theirs is left.
set -e

case "$1" in
remove | purge)
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
	fi
	;;
esac
if [ "$1" = purge ]; then
	# Control sockets of stopped gateways.
	rm -rf /run/stpgate
	# Enablement links `systemctl enable stpgate` or `stpgate@NAME` made;
	# the units they pointed to are gone.
	for link in /etc/systemd/system/*.wants/stpgate.service \
		/etc/systemd/system/*.wants/stpgate@*.service; do
		if [ -L "$link" ]; then
			rm -f "$link"
		fi
	done
	# /etc/stpgate is ours (postinst made it); what is in it is the
	# admin's (configs, identities): kept, and then so is the directory.
	if [ -d /etc/stpgate ] && ! rmdir /etc/stpgate 2>/dev/null; then
		echo "stpgate: /etc/stpgate is not empty (configs, identities): left in place" >&2
	fi
fi
exit 0
]=])

# The .deb must be built from a /usr install: the units name the binary by
# the path this configure chose.  A CPack project file refuses otherwise.
file(CONFIGURE OUTPUT ${stp_deb}/cpack_project.cmake @ONLY CONTENT [=[
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT "@CMAKE_INSTALL_PREFIX@" STREQUAL "/usr")
  message(FATAL_ERROR "the Debian package needs a build configured with "
    "-DCMAKE_INSTALL_PREFIX=/usr (this one has @CMAKE_INSTALL_PREFIX@)")
endif()
]=])

set(CPACK_PROJECT_CONFIG_FILE ${stp_deb}/cpack_project.cmake)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME stpgate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Everything `cmake --install` installs, then the package-only files.
set(CPACK_INSTALL_CMAKE_PROJECTS
  "${PROJECT_BINARY_DIR};${PROJECT_NAME};ALL;/"
  "${PROJECT_BINARY_DIR};${PROJECT_NAME};debian;/")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "TCP tunnels to peers over authenticated, encrypted STP sessions")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION [=[
stpgate carries local TCP connections to remote peers inside one
authenticated, end-to-end encrypted STP session per peer, with no relay in
between. An application connects in plain TCP to a port on 127.0.0.1; the
gateway carries the connection as a stream to the peer's gateway, which
connects to the real service on its side. Peers, and the services each may
open, are stated in a YAML peer map, checked with file:line:column errors
and reloaded without dropping streams.

A peer is its Ed25519 public key, pinned on both sides: no certificate
authority and no login account on the far side. Key agreement is hybrid
X25519 + ML-KEM-768 and records are XChaCha20-Poly1305, so traffic recorded
today stays confidential against a future quantum computer. Many
connections share one session, each with its own flow control; peers can
be reached through SOCKS5 proxies and Tor onion services.

The package ships the systemd units stpgate.service and stpgate@.service,
which it neither enables nor starts, and bash completion.]=])
set(CPACK_DEBIAN_PACKAGE_NAME stpgate)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${STP_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: what dpkg-shlibdeps finds for the binary (libc6, libuv1, libssl3,
# libprotobuf-c1, libyaml-0-2), plus adduser for the postinst's fallback
# where systemd-sysusers is missing.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${stp_deb}/postinst ${stp_deb}/prerm ${stp_deb}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_layers.sh GATEWAY_DIR: gateway/'s folders are its layers, and a lower
# layer never includes a higher one.  Checked from the #include lines:
#   crypto/  only crypto/ and err.h (and OpenSSL, libc);
#   proto/   only proto/, crypto/, err.h and the generated stp.pb-c.h, and
#            no socket, event-loop or thread header: the protocol is sans I/O;
#   config/  nothing from reactor/ or ops/, but plugin.h (a plugin checks its
#            own YAML subtree through the registry's configure hook).
# reactor/ and ops/ may call each other (the gateway opens the operators'
# endpoints, which read its sessions).
set -u
dir=${1:?usage: test_layers.sh GATEWAY_DIR [--selftest]}
if [ "${2:-}" = --selftest ]; then
	# The check must notice a planted step up, or a clean run proves nothing.
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cp -r "$dir"/. "$tmp"/
	printf '#include "conn.h"\n' >>"$tmp/proto/frame.c"
	if "$0" "$tmp" >/dev/null; then
		echo "FAIL: a proto/ file including reactor/'s conn.h passed"
		exit 1
	fi
	cp "$dir/proto/frame.c" "$tmp/proto/frame.c"
	printf '#include <uv.h>\n' >>"$tmp/proto/record.h"
	if "$0" "$tmp" >/dev/null; then
		echo "FAIL: a proto/ file including <uv.h> passed"
		exit 1
	fi
	echo "ok: planted violations are caught"
	exit 0
fi
fail=0
layer_of() { # header name -> its folder (or "top" / "generated" / "?")
	local h=$1 d
	case "$h" in
	crypto/*) echo crypto; return ;;
	stp.pb-c.h) echo generated; return ;;
	esac
	[ -f "$dir/$h" ] && { echo top; return; }
	for d in proto config reactor ops; do
		[ -f "$dir/$d/$h" ] && { echo "$d"; return; }
	done
	echo "?"
}
check() { # folder, allowed layers (space separated), forbidden system headers (regex)
	local folder=$1 allowed=$2 forbid=$3 f h l
	for f in "$dir/$folder"/*.[ch]; do
		while read -r h; do
			l=$(layer_of "$h")
			case " $allowed " in
			*" $l "*) ;;
			*) if { [ "$h" != err.h ] || [ "$l" != top ]; } &&
			    { [ "$folder" != config ] || [ "$h" != plugin.h ]; }; then
				echo "FAIL ${f#"$dir"/}: includes \"$h\" ($l layer)"
				fail=1
			   fi ;;
			esac
		done < <(sed -n 's/^#include "\(.*\)".*/\1/p' "$f")
		if [ -n "$forbid" ] && grep -Eq "^#include <($forbid)>" "$f"; then
			echo "FAIL ${f#"$dir"/}: includes a system header of I/O: $(grep -Eo "^#include <($forbid)>" "$f" | head -1)"
			fail=1
		fi
	done
}
check crypto "crypto" ""
check proto "proto crypto generated" "uv\.h|sys/socket\.h|netinet/.*|arpa/.*|pthread\.h|poll\.h|sys/epoll\.h"
check config "config proto crypto generated" ""
if [ "$fail" = 0 ]; then
	n=$(ls "$dir"/crypto/*.[ch] "$dir"/proto/*.[ch] "$dir"/config/*.[ch] | wc -l)
	echo "ok: $n files of crypto/, proto/ and config/ include nothing above their layer"
fi
exit $fail

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_license.sh SOURCE_DIR: the project is Apache-2.0 (LICENSE), and every
# source file says so in an SPDX-License-Identifier line among its first
# three lines.  Source files: C, headers, Python, shell, CMake, the .proto,
# the example config, the systemd unit, .ci/run.  Not data: test vectors,
# fuzz corpora, word lists, JSON.
set -u
top=${1:?usage: test_license.sh SOURCE_DIR}
fail=0 n=0
if ! grep -q "Apache License" "$top/LICENSE" 2>/dev/null ||
   ! grep -q "Version 2.0, January 2004" "$top/LICENSE"; then
	echo "FAIL: $top/LICENSE is not the Apache License 2.0"
	fail=1
fi
while IFS= read -r -d '' f; do
	n=$((n + 1))
	if ! head -n 3 "$f" | grep -q "SPDX-License-Identifier: Apache-2.0"; then
		echo "FAIL: ${f#"$top"/}: no SPDX-License-Identifier line in its first 3 lines"
		fail=1
	fi
done < <(find "$top/gateway" "$top/plugins" "$top/proto" "$top/tests" \
	"$top/bench" "$top/conf" "$top/.ci" "$top/CMakeLists.txt" \
	-path "$top/tests/fuzz/corpus" -prune -o \
	-path "$top/bench/results" -prune -o \
	-type f \( -name '*.c' -o -name '*.h' -o -name '*.py' -o -name '*.sh' \
	-o -name '*.cmake' -o -name CMakeLists.txt -o -name '*.proto' \
	-o -name '*.yaml' -o -name '*.service' -o -name '*.scd' -o -name '*.bash' \
	-o -name '*.sysusers' -o -name '*.tmpfiles' -o -path "$top/.ci/run" \) -print0)
if [ "$n" -lt 100 ]; then
	echo "FAIL: only $n source files found under $top: wrong directory?"
	fail=1
fi
[ "$fail" = 0 ] && echo "ok: LICENSE is Apache-2.0; $n source files carry its SPDX line"
exit "$fail"

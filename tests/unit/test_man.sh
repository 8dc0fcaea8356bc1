#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_man.sh SOURCE_DIR BINARY_DIR STPGATE CONFIG_KEYS: the man pages the
# build made (conf/man) are fit to install and say everything the program
# does.  Both pages render without a groff warning, parse for whatis, and
# are installed as `gzip -9n` files (what lintian wants).  stpgate(8) has a
# subsection for every command `stpgate --help` lists and, in it, an entry
# for every option that command's --help lists, in the same short and long
# forms; stpgate.yaml(5) has an entry for every key the loader accepts
# (CONFIG_KEYS prints them from the loader's own tables) and for every key
# of the built-in plugins (their keys[] arrays).  Both ways round: an entry
# for a command, option or key the program does not have fails too, so the
# pages cannot fall behind the code in either direction.  Last, the full
# EXAMPLE of stpgate.yaml(5) passes `stpgate check`.
#
# An "entry" is what scdoc makes of a line "*NAME* ..." followed by an
# indented description: in the rendered page, a paragraph whose first line
# is indented 7 columns, with the description indented deeper.  Keys are
# matched by their full dotted path (peers.NAME.dial, forwards.listen,
# plugins.pow.difficulty): a key added to the loader without an entry
# fails here.
set -u
src=${1:?usage: test_man.sh SOURCE_DIR BINARY_DIR STPGATE CONFIG_KEYS}
bin=${2:?usage: test_man.sh SOURCE_DIR BINARY_DIR STPGATE CONFIG_KEYS}
stpgate=${3:?usage: test_man.sh SOURCE_DIR BINARY_DIR STPGATE CONFIG_KEYS}
keys_bin=${4:?usage: test_man.sh SOURCE_DIR BINARY_DIR STPGATE CONFIG_KEYS}
man8=$bin/conf/man/stpgate.8
man5=$bin/conf/man/stpgate.yaml.5
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# As lintian runs man; no hyphenation, so a word never breaks across lines.
export LC_ALL=C.UTF-8 MANWIDTH=80 MANROFFSEQ='' MANROFFOPT='-rHY=0'

# ---- built, compressed, rendered ----

for p in "$man8" "$man5"; do
	if [ ! -s "$p" ] || [ ! -s "$p.gz" ]; then
		bad "$p or $p.gz was not built: the man target needs scdoc" \
			"(configured with -DSTP_MAN=OFF?)"
		exit 1
	fi
done

# header: the gzip header's bytes 3..8 as hex: FLG, MTIME (4), XFL.
for p in "$man8" "$man5"; do
	name=${p##*/}
	if gzip -dc "$p.gz" 2>/dev/null | cmp -s - "$p"; then
		ok "$name.gz holds $name"
	else
		bad "$name.gz is not $name compressed (stale or broken)"
	fi
	header=$(od -A n -t x1 -j 3 -N 6 "$p.gz" | tr -d ' \n')
	# gzip -9n: no FNAME flag (08), no time stamp, XFL 02 (maximum compression).
	if [ "$header" = 000000000002 ]; then
		ok "$name.gz is made with gzip -9n"
	else
		bad "$name.gz is not made with gzip -9n (FLG, MTIME, XFL: $header)"
	fi
	if warn=$(man --warnings -E UTF-8 -l -Tutf8 -Z "$p.gz" 2>&1 >/dev/null) &&
	    [ -z "$warn" ]; then
		ok "$name renders without groff warnings"
	else
		bad "$name: groff says: $warn"
	fi
	if lexgrog "$p" >/dev/null 2>&1; then
		ok "$name has a NAME section whatis can parse"
	else
		bad "$name: lexgrog cannot parse its NAME section (lintian: bad-whatis-entry)"
	fi
	sec=${name##*.}
	if grep -q "^\.TH \"${name%.*}\" \"$sec\"" "$p"; then
		ok "$name's .TH names section $sec"
	else
		bad "$name's .TH does not name ${name%.*} in section $sec"
	fi
	# U+2010 (hyphen) and U+2212 (minus) as the ASCII '-' --help prints.
	man -l "$p" 2>/dev/null | col -bx |
		sed 's/\xe2\x80\x90/-/g; s/\xe2\x88\x92/-/g' >"$tmp/$name.txt"
	if grep -q '^NAME$' "$tmp/$name.txt" && [ "$(wc -l <"$tmp/$name.txt")" -gt 40 ]; then
		ok "$name renders with man -l ($(wc -l <"$tmp/$name.txt") lines)"
	else
		bad "$name does not render with man -l"
	fi
done
txt8=$tmp/stpgate.8.txt
txt5=$tmp/stpgate.yaml.5.txt

# entries FILE [SECTION [SUBSECTION]]: the first line of every entry (see
# the top), limited to a section (a line in column 0) and a subsection (a
# line indented 3), one a line without its indentation.
entries() {
	awk -v sect="${2:-}" -v sub_="${3:-}" '
	function ind(s) { match(s, /^ */); return RLENGTH }
	{ line[NR] = $0 }
	END {
		in_s = (sect == ""); in_sub = (sub_ == "")
		for (i = 1; i <= NR; i++) {
			l = line[i]
			if (l ~ /^[^ ]/) { in_s = (sect == "" || l == sect); in_sub = (sub_ == ""); continue }
			if (l ~ /^   [^ ]/) { in_sub = (sub_ == "" || substr(l, 4) == sub_); continue }
			if (!in_s || !in_sub || ind(l) != 7 || l ~ /^ *$/) continue
			if (i > 1 && line[i-1] !~ /^ *$/ && ind(line[i-1]) >= 7) continue
			# The name may wrap onto more lines at 7; the description follows.
			for (j = i + 1; j <= NR && line[j] !~ /^ *$/ && ind(line[j]) == 7; j++)
				;
			if (j <= NR && line[j] !~ /^ *$/ && ind(line[j]) > 7)
				print substr(l, 8)
		}
	}' "$1"
}

# options: the option forms at the start of each line read ("-c, --config",
# "--json", "-x"), one a line.
options() {
	sed -n 's/^\(-[A-Za-z0-9], --[A-Za-z0-9][A-Za-z0-9-]*\).*/\1/p; t
		s/^\(--[A-Za-z0-9][A-Za-z0-9-]*\).*/\1/p; t
		s/^\(-[A-Za-z0-9]\)\([ ,=]\|$\).*/\1/p'
}

# help_options TEXT: the options an "options:" block of --help lists (its
# lines indented at most 7 columns and starting with '-').
help_options() {
	printf '%s\n' "$1" | sed -n '/^options:/,/^$/{/^ \{1,7\}-/{s/^ *//;p}}' | options
}

# in_list WORD LIST: WORD is one of the lines of LIST.
in_list() { printf '%s\n' "$2" | grep -qxF -- "$1"; }

# ---- stpgate(8): commands and options ----

if ! top=$("$stpgate" --help 2>&1); then
	bad "stpgate --help failed: $top"
	top=
fi
cmds=$(printf '%s\n' "$top" | sed -n '/^commands:/,/^$/{/^  [a-z]/{s/^  \([a-z][a-z0-9-]*\).*/\1/;p}}')
if [ "$(printf '%s\n' "$cmds" | grep -c .)" -ge 1 ]; then
	ok "stpgate --help lists commands: $(printf '%s ' $cmds)"
else
	bad "no commands found in stpgate --help"
fi
subs=$(sed -n '/^COMMANDS$/,/^[^ ]/{/^   [^ ]/{s/^   //;p}}' "$txt8")
for c in $cmds; do
	if in_list "$c" "$subs"; then
		ok "stpgate(8) has a subsection for '$c'"
	else
		bad "stpgate(8) has no COMMANDS subsection '## $c' (stpgate --help lists it)"
	fi
done
for s in $subs; do
	in_list "$s" "$cmds" ||
		bad "stpgate(8) documents the command '$s', which stpgate --help does not list"
done

# Options every command takes (-h, --help) may be documented once, under
# OPTIONS, instead of in each command's subsection.
common=
first=1
declare -A copts
for c in $cmds; do
	if ! h=$("$stpgate" "$c" --help 2>&1); then
		bad "stpgate $c --help failed: $h"
		continue
	fi
	copts[$c]=$(help_options "$h")
	if [ "$first" = 1 ]; then
		common=${copts[$c]}
		first=0
	else
		common=$(comm -12 <(printf '%s\n' "$common" | sort) \
			<(printf '%s\n' "${copts[$c]}" | sort))
	fi
done
global=$(entries "$txt8" OPTIONS | options)
for c in $cmds; do
	[ -n "${copts[$c]+set}" ] || continue
	documented=$(entries "$txt8" COMMANDS "$c" | options)
	n=0 lacking=0
	while IFS= read -r o; do
		[ -n "$o" ] || continue
		n=$((n + 1))
		in_list "$o" "$documented" && continue
		in_list "$o" "$common" && in_list "$o" "$global" && continue
		bad "stpgate(8), $c: no entry '$o' (stpgate $c --help lists it)"
		lacking=1
	done <<<"${copts[$c]}"
	[ "$lacking" = 0 ] && ok "stpgate(8), $c: an entry for each of its $n options"
	while IFS= read -r o; do
		[ -n "$o" ] || continue
		in_list "$o" "${copts[$c]}" ||
			bad "stpgate(8), $c: documents '$o', which stpgate $c --help does not list"
	done <<<"$documented"
done

# The global options: those of the usage lines of stpgate --help, and
# what stpgate --help promises (-h, --help and -V, --version).
want_global=$(printf '%s\n' "$top" | sed -n '1,/^$/p' | tr ' |' '\n' |
	grep -E '^--?[A-Za-z0-9][A-Za-z0-9-]*$' | sort -u)
for o in $want_global -h --help -V --version; do
	if printf '%s\n' "$global" | tr -d ',' | tr ' ' '\n' | grep -qxF -- "$o"; then
		ok "stpgate(8) documents the global option $o under OPTIONS"
	else
		bad "stpgate(8) has no entry for the global option $o under OPTIONS"
	fi
done
for o in "-h, --help" "-V, --version"; do
	in_list "$o" "$global" || bad "stpgate(8) OPTIONS: no entry '$o'"
done

# ---- stpgate.yaml(5): every key ----

if ! core=$("$keys_bin") || [ "$(printf '%s\n' "$core" | grep -c .)" -lt 10 ]; then
	bad "$keys_bin printed no list of keys"
	core=
fi
# The plugins built into stpgate are the plugins/*.c gateway/CMakeLists.txt
# compiles; each has a name (.name = "x", or NAME defined as "x") and a
# keys[] array of the settings it accepts (stp_cfg_keys).
plugin_keys=
for f in $(grep -o 'plugins/[A-Za-z0-9_]*\.c' "$src/gateway/CMakeLists.txt" | sort -u); do
	flat=$(tr '\n\t' '  ' <"$src/$f")
	name=$(printf '%s' "$flat" | sed -n 's/.*\.name = "\([^"]*\)".*/\1/p')
	[ -n "$name" ] ||
		name=$(printf '%s' "$flat" | sed -n 's/.*#define NAME "\([^"]*\)".*/\1/p')
	arr=$(printf '%s' "$flat" | sed -n 's/.*keys\[\] *= *{\([^}]*\)}.*/\1/p')
	if [ -z "$name" ] || ! printf '%s' "$flat" | grep -q 'keys\[\] *= *{'; then
		bad "$f: cannot find the plugin's name and its keys[] array; teach test_man.sh"
		continue
	fi
	plugin_keys+="plugins.$name"$'\n'
	for k in $(printf '%s' "$arr" | grep -o '"[^"]*"' | tr -d '"'); do
		plugin_keys+="plugins.$name.$k"$'\n'
	done
done
all_keys=$(printf '%s\n%s' "$core" "$plugin_keys" | grep .)
# Entries whose first word is a key: "log.level: ...", "peers.NAME.key: ...".
documented=$(entries "$txt5" |
	sed -n 's/^\([a-z][A-Za-z0-9_]*\(\.[A-Za-z0-9_]*\)*\):\( .*\)\{0,1\}$/\1/p')
missing=0
while IFS= read -r k; do
	[ -n "$k" ] || continue
	if ! in_list "$k" "$documented"; then
		bad "stpgate.yaml(5) has no entry for the key $k (a line '*$k:* TYPE (default: ...)' and a description)"
		missing=$((missing + 1))
	fi
done <<<"$all_keys"
[ "$missing" = 0 ] && ok "stpgate.yaml(5) has an entry for each of the $(printf '%s\n' "$core" | grep -c .) core keys and $(printf '%s' "$plugin_keys" | grep -c .) plugin keys"
while IFS= read -r k; do
	[ -n "$k" ] || continue
	in_list "$k" "$all_keys" ||
		bad "stpgate.yaml(5) documents the key $k, which the loader does not accept"
done <<<"$documented"

# ---- the full EXAMPLE of stpgate.yaml(5) is a valid config ----

# Its first literal block, with our own identity file in place of alice's.
awk '/^# EXAMPLE/ { on = 1 } on && /^```/ { if (n++) exit; next } on && n == 1' \
	"$src/conf/man/stpgate.yaml.5.scd" >"$tmp/example.in"
if [ ! -s "$tmp/example.in" ]; then
	bad "stpgate.yaml(5) has no EXAMPLE config block"
elif ! "$stpgate" keygen -o "$tmp/id.key" >"$tmp/keygen.out" 2>&1; then
	bad "stpgate keygen failed: $(cat "$tmp/keygen.out")"
else
	sed "s|^identity: .*|identity: $tmp/id.key|" "$tmp/example.in" >"$tmp/example.yaml"
	if out=$("$stpgate" check -c "$tmp/example.yaml" 2>&1); then
		ok "the EXAMPLE of stpgate.yaml(5) passes stpgate check"
	else
		bad "the EXAMPLE of stpgate.yaml(5) fails stpgate check: $out"
	fi
fi

exit "$fail"

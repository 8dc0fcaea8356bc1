#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_ansible.sh: conf/ansible (site.yml and the stpgate role) run for real
# on 127.0.0.1.  Ten hosts, all local, each with its own directory, peer
# port and forwards: site.yml makes the identities and a full-mesh config,
# the test starts ten `stpgate run` and checks every ordered pair (90)
# through its forward.  Then the playbook runs once more, with an eleventh
# host added and h02's identity rotated (stpgate_rotate), while a stream
# from h01 to h02 runs: the stream loses no byte, h02's sessions stay up,
# the ten gateways were reloaded (same PIDs), h02 has a new key and every
# config names only that one, and h11's and h02's pairs all work.
#
# usage: test_ansible.sh PATH-TO-STPGATE
# Exit status: 0 passed, 1 failed, 2 usage, 77 skipped (no ansible-playbook).
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH-TO-STPGATE" >&2
	exit 2
fi
STPGATE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if ! command -v ansible-playbook >/dev/null 2>&1; then
	echo "SKIP: ansible-playbook is not installed (Debian: apt-get install ansible-core)"
	exit 77
fi
# The helper runs under the Python that runs Ansible, which has PyYAML.
read -r -a py < <(sed -n '1s/^#! *//p' "$(command -v ansible-playbook)")
if [ ${#py[@]} -eq 0 ] || ! "${py[@]}" -c 'import yaml' 2>/dev/null; then
	py=(python3)
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/test_ansible.XXXXXX") || exit 1
declare -A gwpid=()
echo_pid='' stream_pid=''

# Stop what this test started, by PID: the gateways (SIGTERM drains for
# timeouts.drain, 1 s here), the echo servers, the stream.
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	local pids=("${gwpid[@]}") p i alive
	[ -n "$echo_pid" ] && pids+=("$echo_pid")
	[ -n "$stream_pid" ] && pids+=("$stream_pid")
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for i in $(seq 50); do
		alive=0
		for p in "${pids[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

t0=$SECONDS
say() { printf '[%3d s] %s\n' $((SECONDS - t0)) "$*"; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
net() { "${py[@]}" "$here/ansible_net.py" "$@"; }
plan=$T/plan.json

# Ansible writes nothing outside $T, asks nothing, and goes as fast as it can.
mkdir -p "$T/ansible/tmp" "$T/ansible/remote"
printf '[defaults]\n' >"$T/ansible.cfg"
export ANSIBLE_CONFIG=$T/ansible.cfg ANSIBLE_HOME=$T/ansible
export ANSIBLE_LOCAL_TEMP=$T/ansible/tmp ANSIBLE_REMOTE_TEMP=$T/ansible/remote
export ANSIBLE_PIPELINING=True ANSIBLE_FORKS=11 ANSIBLE_GATHERING=explicit
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=False
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_DEPRECATION_WARNINGS=False
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=False ANSIBLE_HOST_KEY_CHECKING=False

# playbook NAME: run site.yml on $T/inventory.yml, its output in $T/NAME.log.
playbook() {
	local log=$T/$1.log start=$SECONDS
	if ! timeout 240 ansible-playbook -i "$T/inventory.yml" "$top/conf/ansible/site.yml" \
		>"$log" 2>&1; then
		echo "--- the last lines of ansible-playbook's output ($1):" >&2
		tail -n 40 "$log" >&2
		return 1
	fi
	say "  site.yml ran in $((SECONDS - start)) s: $(grep -c ' ok=' "$log") hosts," \
		"$(grep -o 'changed=[1-9][0-9]*' "$log" | wc -l) of them changed"
}

# start HOST: run its gateway, with the binary the role copied to it.
start() {
	local h=$1
	"$T/$h/stpgate" run -c "$T/$h/stpgate.yaml" 2>"$T/$h/gateway.log" &
	gwpid[$h]=$!
}

show_logs() { # show_logs HOST...: the end of their gateway logs
	local h
	for h in "$@"; do
		echo "--- $h's gateway log (last lines):" >&2
		tail -n 15 "$T/$h/gateway.log" >&2
	done
}

# wait_up N [FILE]: every gateway of h01..hN has every other up; each runs
# the process this test started (the PID in its status is ours).  FILE gets
# each gateway's session ids.
wait_up() {
	local h pid
	if ! net wait-up --plan "$plan" --hosts "$1" --timeout 40 ${2:+--sessions "$2"} >"$T/up"; then
		for h in "${!gwpid[@]}"; do
			kill -0 "${gwpid[$h]}" 2>/dev/null || show_logs "$h"
		done
		return 1
	fi
	while read -r h pid; do
		[ "$pid" = "${gwpid[$h]}" ] ||
			fail "$h answers from PID $pid, not ${gwpid[$h]}: it was restarted, not reloaded"
		kill -0 "${gwpid[$h]}" 2>/dev/null || fail "$h's gateway (PID ${gwpid[$h]}) is gone"
	done <"$T/up"
}

# verified: how many bytes of the long stream came back, checked, so far.
verified() {
	"${py[@]}" -c 'import json, sys; print(json.load(open(sys.argv[1]))["verified"])' \
		"$T/stream.json" 2>/dev/null || echo 0
}


# ---- the hosts, their ports, the echo services ----
net plan --tmp "$T" --hosts 11 --stpgate "$STPGATE" || fail "no free ports"
"${py[@]}" "$here/ansible_net.py" echo --plan "$plan" >"$T/echo.out" 2>&1 &
echo_pid=$!
for _ in $(seq 100); do
	grep -q ready "$T/echo.out" 2>/dev/null && break
	sleep 0.05
done
grep -q ready "$T/echo.out" || fail "the echo servers did not start: $(cat "$T/echo.out")"

# ---- 1: ten hosts ----
say "phase 1: site.yml on 10 hosts (full mesh, a forward to every other host's echo)"
net inventory --plan "$plan" --hosts 10 >"$T/inventory.yml"
# Each host's directory stands for its file system; h11's is left for the
# role to make.
for i in $(seq -w 1 10); do
	mkdir "$T/h$i"
done
playbook deploy10 || fail "site.yml failed on 10 hosts"
for i in $(seq -w 1 10); do
	h=h$i
	[ -f "$T/$h/stpgate.key" ] || fail "$h has no identity"
	mode=$(stat -c %a "$T/$h/stpgate.yaml")
	[ "$mode" = 600 ] || [ "$mode" = 640 ] || fail "$h's config has mode $mode"
	start "$h"
done
say "phase 1: 10 gateways started; waiting for their 45 sessions"
wait_up 10 || { show_logs h01 h02; fail "the 10 gateways did not all come up"; }
say "phase 1: every ordered pair through its forward"
net pairs --plan "$plan" --hosts 10 || fail "traffic between the 10 hosts"

# ---- 2: one more run: h11 joins and h02's identity is rotated, under a
# running stream h01 -> h02 ----
say "phase 2: a stream h01 -> h02; then one site.yml run: h11 joins, h02's identity is rotated"
old=$("$STPGATE" pubkey "$T/h02/stpgate.key") || fail "cannot read h02's key"
port=$("${py[@]}" -c 'import json, sys; print(json.load(open(sys.argv[1]))["hosts"]["h01"]["forwards"]["h02"])' "$plan")
"${py[@]}" "$here/ansible_net.py" stream --port "$port" --tag h02 --state "$T/stream.json" &
stream_pid=$!
for _ in $(seq 100); do
	[ "$(verified)" -gt 0 ] && break
	sleep 0.1
done
[ "$(verified)" -gt 0 ] || fail "the stream did not start: $(cat "$T/stream.json" 2>/dev/null)"
wait_up 10 "$T/sessions.before" || fail "the sessions before the second run"
net inventory --plan "$plan" --hosts 11 --rotate h02 >"$T/inventory.yml"
grown=1
playbook grow || grown=0
# The stream still flows after the playbook: more bytes come back.
before=$(verified)
sleep 1
after=$(verified)
kill -TERM "$stream_pid" 2>/dev/null
for _ in $(seq 200); do
	kill -0 "$stream_pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$stream_pid" 2>/dev/null && fail "the stream did not finish within 20 s"
wait "$stream_pid"
stream_rc=$?
stream_pid=
result=$(cat "$T/stream.json")
if [ "$grown" = 0 ]; then
	show_logs h02 h01
	echo "stream: $result" >&2
	fail "site.yml failed adding h11 and rotating h02's identity"
fi
[ "$stream_rc" = 0 ] || { show_logs h02 h01; fail "the stream through the rotation: $result"; }
[ "$after" -gt "$before" ] || fail "the stream stopped flowing ($before then $after bytes back)"
say "phase 2: the stream lost nothing: $result"
[ "$(stat -c %a "$T/h11")" = 750 ] || fail "the role did not make h11's directory (mode 750)"
new=$("$STPGATE" pubkey "$T/h02/stpgate.key") || fail "cannot read h02's new key"
[ "$new" != "$old" ] || fail "h02's identity file still holds its old key $old"
[ ! -e "$T/h02/stpgate.key.next" ] || fail "h02's next identity is still there"
net keys --plan "$plan" --hosts 11 --rotated h02 --old "$old" --new "$new" ||
	fail "the configs after the rotation"
start h11
# Same PIDs for the ten (wait_up checks): reloaded, not restarted.
wait_up 11 "$T/sessions.after" || { show_logs h11 h02 h01; fail "the 11 gateways did not all come up"; }
net same-sessions --before "$T/sessions.before" --after "$T/sessions.after" --involving h02 ||
	fail "h02's sessions did not stay up through the rotation"
say "phase 2: h02's sessions stayed up; the ten were reloaded, not restarted; h11's and h02's pairs on new connections"
net pairs --plan "$plan" --hosts 11 --involving h11 || fail "traffic to and from h11"
net pairs --plan "$plan" --hosts 11 --involving h02 || fail "traffic to and from h02 after the rotation"

say "passed in $((SECONDS - t0)) s"
exit 0

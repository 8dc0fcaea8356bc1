#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# demo.sh: two people, alice and bob, set up stpgate identities and check
# each other's keys the way real users do: exchange key texts, then compare
# fingerprints out of band (read aloud over the phone, say).
#
# Then the real job: each puts the other's key in a peer map, bob offers a
# web server as a service, alice's gateway dials bob's on loopback, and
# alice's curl downloads a 64 MiB file through the encrypted tunnel.  The
# demo checks the SHA-256 of what arrived and prints what happened.
#
# Uses $STPGATE if set, else builds stpgate into build/demo (incremental).
# Needs python3 and curl (installed from Debian's packages when missing and
# run as root).  Everything happens in a temporary directory that is removed
# at the end, and every process it starts is stopped by PID.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

for tool in python3 curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		if [ "$(id -u)" = 0 ]; then
			echo "installing $tool ..."
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null 2>&1 ||
			    { apt-get update -qq >/dev/null 2>&1 &&
			      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null; }
		else
			echo "demo.sh: $tool is missing (apt-get install $tool)" >&2
			exit 1
		fi
	fi
done

if [ -n "${STPGATE:-}" ]; then
	bin=$STPGATE
else
	echo "building stpgate (build/demo, Release) ..."
	log=$(mktemp "${TMPDIR:-/tmp}/stpgate-build.XXXXXX")
	if ! { cmake -S "$top" -B "$top/build/demo" -DCMAKE_BUILD_TYPE=Release &&
	    cmake --build "$top/build/demo" --target stpgate -j "$(nproc 2>/dev/null || echo 2)"; } \
	    >"$log" 2>&1; then
		echo "build failed; the last lines of the log ($log):" >&2
		tail -n 20 "$log" >&2
		exit 1
	fi
	rm -f "$log"
	bin=$top/build/demo/gateway/stpgate
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/stpgate-demo.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	[ -n "${DEMO_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# value NAME TEXT: the value of the "NAME:" line in TEXT.
value() {
	printf '%s\n' "$2" | sed -n "s/^$1: *//p"
}

declare -A key fp

echo "stpgate demo: identities  ($("$bin" --version))"
echo
for who in alice bob; do
	echo "$who runs:  stpgate keygen -o $who.key"
	out=$("$bin" keygen -o "$who.key")
	key[$who]=$(value "public key" "$out")
	fp[$who]=$(value fingerprint "$out")
	printf '  public key:  %s\n' "${key[$who]}"
	printf '  fingerprint: %s\n' "${fp[$who]}"
	printf '  secret key:  %s, mode %s\n\n' "$who.key" \
	    "$(stat -c %a "$who.key" 2>/dev/null || stat -f %Lp "$who.key")"
done

echo "They swap public key texts (e-mail, chat: anything), then each one"
echo "fingerprints the key received and reads the words back to its owner:"
echo
ok=1
for me in alice bob; do
	if [ "$me" = alice ]; then them=bob; else them=alice; fi
	got=$(value fingerprint "$("$bin" fingerprint "${key[$them]}")")
	echo "$me runs:  stpgate fingerprint <$them's key text>"
	printf '  %s\n' "$got"
	if [ "$got" = "${fp[$them]}" ]; then
		echo "  same words as $them's own keygen printed: $them's key confirmed"
	else
		echo "  DIFFERENT from what $them printed (${fp[$them]}): do not use this key"
		ok=0
	fi
	echo
done

if [ "$ok" -ne 1 ]; then
	echo "summary: fingerprint check FAILED" >&2
	exit 1
fi
echo "Fingerprints confirmed on both sides.  Now the tunnel."
echo

# Free loopback ports: ask the kernel for them.
read -r p_bob p_fwd p_web < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')

cat >bob.yaml <<YAML
# bob: accepts alice's gateway and lets her reach his web server
identity: bob.key
listen: 127.0.0.1:$p_bob
peers:
  alice:
    key: ${key[alice]}
services:
  web:
    connect: 127.0.0.1:$p_web
    allow: [alice]
YAML
cat >alice.yaml <<YAML
# alice: dials bob; her apps reach bob's "web" service at 127.0.0.1:$p_fwd
identity: alice.key
peers:
  bob:
    key: ${key[bob]}
    dial: 127.0.0.1:$p_bob
forwards:
  - listen: 127.0.0.1:$p_fwd
    peer: bob
    service: web
timeouts: {reconnect_min: 100ms, reconnect_max: 1s}
YAML
echo "bob.yaml and alice.yaml written; checking them:"
echo "  $("$bin" check -c bob.yaml)"
echo "  $("$bin" check -c alice.yaml)"
echo

mkdir www
head -c $((64 << 20)) /dev/urandom >www/file.bin
want=$(sha256sum www/file.bin | cut -d' ' -f1)
python3 -m http.server "$p_web" --bind 127.0.0.1 --directory www >web.log 2>&1 &
pids+=($!)
# The web server takes a moment to start: wait (at most 10 s) until it accepts.
for _ in $(seq 100); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $p_web), 1).close()" \
	    2>/dev/null && break
	sleep 0.1
done
"$bin" run -c bob.yaml 2>bob.log &
pids+=($!)
"$bin" run -c alice.yaml 2>alice.log &
pids+=($!)

# Wait (at most 10 s) for both ends to report the session.
for _ in $(seq 100); do
	if grep -q "session up" alice.log && grep -q "session up" bob.log; then
		break
	fi
	sleep 0.1
done
if ! grep -q "session up" alice.log; then
	echo "the session did not come up; alice's log:" >&2
	cat alice.log >&2
	exit 1
fi
grep "session up" alice.log | sed 's/^/  alice: /'
grep "session up" bob.log | sed 's/^/  bob:   /'
echo

echo "alice runs:  curl http://127.0.0.1:$p_fwd/file.bin   (bob's web server, through the tunnel)"
if ! stats=$(curl -sS --max-time 120 -o got.bin -w '%{size_download} %{time_total}' \
    "http://127.0.0.1:$p_fwd/file.bin"); then
	echo "the download failed; the gateways' logs:" >&2
	sed 's/^/  alice: /' alice.log >&2
	sed 's/^/  bob:   /' bob.log >&2
	exit 1
fi
read -r bytes secs <<<"$stats"
got=$(sha256sum got.bin | cut -d' ' -f1)
mbps=$(python3 -c "print(f'{$bytes / 1e6 / max($secs, 1e-6):.0f}')")
echo "  $bytes bytes in ${secs} s ($mbps MB/s)"
echo "  sha256 sent:     $want"
echo "  sha256 received: $got"
echo

# Stop both gateways the way an operator would (SIGTERM drains).
for p in "${pids[@]:1}"; do
	kill -TERM "$p" 2>/dev/null || true
done
for p in "${pids[@]:1}"; do
	wait "$p" 2>/dev/null || true
done
pids=("${pids[0]}")

echo "what the logs say (stderr of each gateway):"
sed 's/^/  alice: /' alice.log
sed 's/^/  bob:   /' bob.log
echo
if [ "$got" = "$want" ]; then
	echo "summary: alice and bob made fresh identities and confirmed each other's"
	echo "fingerprints; their gateways opened a post-quantum STP session (X25519 +"
	echo "ML-KEM-768, XChaCha20-Poly1305) on loopback, and curl fetched $bytes bytes"
	echo "from bob's web server through it at $mbps MB/s: every byte arrived intact."
else
	echo "summary: FAILED: the file that arrived differs from the one sent" >&2
	exit 1
fi

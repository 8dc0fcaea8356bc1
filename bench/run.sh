#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# run.sh: stpgate beside the tunnels people use instead, on 127.0.0.1.
#
# Systems: direct (no tunnel: the ceiling), a socat two-hop relay (no crypto:
# the relay ceiling), a stunnel pair (TLS 1.3, ChaCha20-Poly1305 and
# AES-256-GCM), a spiped pair, `ssh -L` to a throwaway sshd (aes256-gcm and
# chacha20-poly1305), and an stpgate pair with workers 0, 1 and 2, and with
# signed records (sign_records on both sides) at workers 1 and 2, and with
# the padding plugin (buckets and cover records) at workers 0.  First among
# the stpgate systems is the default configuration: the same pair with no
# `workers:` line at all (whatever the gateway's default is); the targets
# judge it.  Each tunnel carries two forwards: one to an iperf3 server, one
# to an echo server (bench_net echo).  Every system stays up for the whole
# run, and each scenario runs the systems in turn, run after run (A B C ...
# A B C ...), so drift in clock and load hits them all alike.  Figures are
# medians over the runs, with min and max beside them.
#
# Scenarios: iperf3 throughput (one stream, 4 parallel streams, reverse),
# CPU seconds per GB of the tunnel processes (utime+stime, with reaped
# children, of both ends' process trees), 64-byte request/response round
# trips on an open connection, new connection to first echoed byte, full
# handshakes per second, RSS with 1,000 idle open connections, and small
# requests (64 B and 1 KiB) on 1 connection, on 50 connections, and on 50
# connections with 16 requests in flight on each: transactions per second,
# p50 and p99.
#
# Installs what is missing from Debian's packages (as root), builds stpgate,
# bench_net and bench_proto (Release) when needed, writes
# bench/results/<date>-<host>.md and four PNG plots beside it.
#
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [--quick] [--runs N] [--ref W] [--only LIST] [--out DIR]
                    [--help]

  --quick      throughput runs once for 3 s each, latency and connect 3 runs
               (2,000 round trips, 200 connections), memory once, small
               requests once for 1 s each, and not the signed or padding
               variants (name them with --only); about 5 minutes on 2 busy
               CPUs (the small requests take about a minute and a half of
               it).  Results are written as <date>-<host>-quick.*
  --runs N     runs per scenario (default: 3 for throughput, memory and
               small requests, 5 for latency and connect; --quick: 1, 1, 1
               and 3)
  --ref W      the stpgate system the ratios are taken against: default (no
               `workers:` line), or workers 0, 1 or 2 (default: default).
               Targets are judged for the default, with the workers
               variants beside it.
  --only LIST  comma-separated system ids, for trying the harness (direct,
               socat, stunnel-chacha, stunnel-aes, spiped, ssh-aes,
               ssh-chacha, stp-default, stp-w0, stp-w1, stp-w2,
               stp-signed-w1, stp-signed-w2, stp-pad-w0); tables and plots
               keep this order whatever the order given; the ratios need
               the --ref system
  --out DIR    where the results go (default <repo>/bench/results)
  --help       this text

Environment: BENCH_BUILD=dir builds in dir instead of <repo>/build-bench;
BENCH_KEEP=1 keeps the temporary directory (configs, logs, raw figures);
BENCH_STP_LOG=info|debug sets the gateways' log level (default warn).

All traffic is on 127.0.0.1.  Every process started is stopped by PID and
the temporary directory removed at exit.  Progress goes to stderr, the
report to stdout and to the results file.  Exit status 0 when the benchmark
ran, whatever the verdict; 1 when something could not be set up.
EOF
}

QUICK=0
RUNS=""
REF=default
ONLY=""
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$REPO/bench/results"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--runs) RUNS=${2:-}; shift ;;
	--ref) REF=${2:-}; shift ;;
	--only) ONLY=${2:-}; shift ;;
	--out) OUT=${2:-}; shift ;;
	--help|-h) usage; exit 0 ;;
	*) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
case "$REF" in default|0|1|2) ;; *) echo "run.sh: --ref takes default, 0, 1 or 2" >&2; exit 2 ;; esac
if [ -n "$RUNS" ] && ! [[ "$RUNS" =~ ^[1-9][0-9]?$ ]]; then
	echo "run.sh: --runs takes 1..99" >&2
	exit 2
fi

BUILD="${BENCH_BUILD:-$REPO/build-bench}"
if [ "$QUICK" = 1 ]; then
	T=3; RUNS_THR=${RUNS:-1}; RUNS_LAT=${RUNS:-3}; RUNS_MEM=${RUNS:-1}
	RR_N=2000; CONN_N=200; SSH_HS_N=3; HS_TIME=0.2
	RUNS_SR=${RUNS:-1}; SR_T=1
else
	T=5; RUNS_THR=${RUNS:-3}; RUNS_LAT=${RUNS:-5}; RUNS_MEM=${RUNS:-3}
	RR_N=20000; CONN_N=1000; SSH_HS_N=20; HS_TIME=1.0
	RUNS_SR=${RUNS:-3}; SR_T=3
fi
# small requests: untimed transactions first (and at least one on every
# connection, whatever this says: bench_net rr's rule)
SR_WARM=300
IDLE_N=1000
SOCAT_BUF=131072

T0=$(date +%s)
log() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf '\nrun.sh: error: %s\n' "$*" >&2; exit 1; }

# --- what we need, from Debian's packages ---
need=()
for pair in iperf3:iperf3 stunnel4:stunnel4 spiped:spiped socat:socat \
    /usr/sbin/sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client \
    gnuplot:gnuplot-nox jq:jq openssl:openssl unshare:util-linux \
    ps:procps cmake:cmake timeout:coreutils; do
	cmd=${pair%%:*}
	if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "$cmd" ]; then
		need+=("${pair#*:}")
	fi
done
# and what building stpgate takes (the same list as tests/run.sh's first
# part), so that the benchmark works on a machine where nothing was built yet
for pkg in build-essential pkg-config libuv1-dev libssl-dev libprotobuf-c-dev \
    protobuf-c-compiler libyaml-dev; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
	mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
	[ "$(id -u)" = 0 ] || die "missing packages: ${need[*]} (apt-get install them, or run as root)"
	log "installing ${need[*]}"
	# Debian starts a package's own service on install where the init system
	# allows it; this bench never uses or touches the system's sshd.
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; then
		apt-get update -qq >/dev/null 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
		    die "apt-get install ${need[*]} failed"
	fi
fi

# --- build ---
# configured every time: cheap when nothing changed, and a directory a failed
# configure left behind (a cache without a Makefile) is set right
log "configuring $BUILD (Release)"
cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSTP_WERROR=ON -DSTP_BENCH=ON \
    >/dev/null || die "cmake configure failed (cmake -S $REPO -B $BUILD)"
log "building stpgate, bench_net, bench_proto in $BUILD"
cmake --build "$BUILD" --target stpgate bench_net bench_proto -j2 >/dev/null ||
    die "build failed (cmake --build $BUILD --target stpgate bench_net bench_proto)"
STPGATE="$BUILD/gateway/stpgate"
NET="$BUILD/bench/bench_net"
PROTO="$BUILD/bench/bench_proto"
for b in "$STPGATE" "$NET" "$PROTO"; do [ -x "$b" ] || die "$b not built"; done

# --- systems ---
# The stpgate systems come default, w0, w1, w2 (then signed, padding), in
# every table, plot and list.
ALL_SYS=(direct socat stunnel-chacha stunnel-aes spiped ssh-aes ssh-chacha
    stp-default stp-w0 stp-w1 stp-w2)
declare -A LABEL=(
	[direct]="direct (no tunnel)"
	[socat]="socat 2-hop relay (no crypto)"
	[stunnel-chacha]="stunnel TLS1.3 CHACHA20"
	[stunnel-aes]="stunnel TLS1.3 AES-256-GCM"
	[spiped]="spiped"
	[ssh-aes]="ssh -L aes256-gcm"
	[ssh-chacha]="ssh -L chacha20-poly1305"
	[stp-default]="stpgate default (workers: auto)"
	[stp-w0]="stpgate workers: 0"
	[stp-w1]="stpgate workers: 1"
	[stp-w2]="stpgate workers: 2"
)
declare -A SHORT=(
	[direct]="direct" [socat]="socat" [stunnel-chacha]="stunnel-chacha"
	[stunnel-aes]="stunnel-aes" [spiped]="spiped" [ssh-aes]="ssh-aes"
	[ssh-chacha]="ssh-chacha" [stp-default]="stpgate-default"
	[stp-w0]="stpgate-w0" [stp-w1]="stpgate-w1" [stp-w2]="stpgate-w2"
)
declare -A COLOR=(
	[direct]="#000000" [socat]="#7f7f7f" [stunnel-chacha]="#9467bd"
	[stunnel-aes]="#8c564b" [spiped]="#e377c2" [ssh-aes]="#17becf"
	[ssh-chacha]="#bcbd22" [stp-default]="#1f3fbf" [stp-w0]="#d62728"
	[stp-w1]="#ff7f0e" [stp-w2]="#2ca02c"
)
# stpgate with every record signed and verified (sign_records on both
# sides): what signatures cost, and what a second worker thread buys back.
ALL_SYS+=(stp-signed-w1 stp-signed-w2)
LABEL[stp-signed-w1]="stpgate signed records, workers: 1"
LABEL[stp-signed-w2]="stpgate signed records, workers: 2"
SHORT[stp-signed-w1]="stpgate-signed-w1"
SHORT[stp-signed-w2]="stpgate-signed-w2"
COLOR[stp-signed-w1]="#ffbb78"
COLOR[stp-signed-w2]="#98df8a"
# stpgate with the padding plugin on both sides (Kamune's buckets, cover
# records at 10/s on average): what padding costs beside stp-w0.
ALL_SYS+=(stp-pad-w0)
LABEL[stp-pad-w0]="stpgate padding + cover, workers: 0"
SHORT[stp-pad-w0]="stpgate-padding"
COLOR[stp-pad-w0]="#9edae5"
if [ -n "$ONLY" ]; then
	IFS=, read -r -a want <<<"$ONLY"
	for s in "${want[@]}"; do
		[ -n "${LABEL[$s]:-}" ] || die "--only: unknown system $s"
	done
	# in ALL_SYS's order, whatever the order given
	SYS=()
	for s in "${ALL_SYS[@]}"; do
		case ",$ONLY," in *",$s,"*) SYS+=("$s") ;; esac
	done
elif [ "$QUICK" = 1 ]; then
	# The comparison the targets are about; the signed and padded variants
	# (a cost each, not a target) run in the full run or with --only.
	SYS=()
	for s in "${ALL_SYS[@]}"; do
		case "$s" in stp-signed-*|stp-pad-*) ;; *) SYS+=("$s") ;; esac
	done
else
	SYS=("${ALL_SYS[@]}")
fi
if [ "$REF" = default ]; then REFSYS=stp-default; else REFSYS="stp-w$REF"; fi
TUNNELS=()
for s in "${SYS[@]}"; do [ "$s" = direct ] || TUNNELS+=("$s"); done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/stpgate-bench.XXXXXX")
PIDS=()          # every process we started, by PID
declare -A PNAME # what spawn started, by PID: the name of its log
declare -A FWD_IPERF FWD_ECHO ROOTS  # per system: forward ports, process roots

# tree PID...: the PIDs given (if alive) and all their descendants.
tree() {
	[ $# -gt 0 ] || return 0
	ps -e -o pid=,ppid= | awk -v roots="$*" '
	BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) root[r[i]] = 1 }
	{ par[$1] = $2; pid[++m] = $1 }
	END {
		for (i = 1; i <= m; i++) if (pid[i] in root) keep[pid[i]] = 1
		do {
			changed = 0
			for (i = 1; i <= m; i++) {
				p = pid[i]
				if (!(p in keep) && (par[p] in keep)) { keep[p] = 1; changed = 1 }
			}
		} while (changed)
		for (p in keep) print p
	}'
}

# alive PID: true while PID runs (a zombie does not count).
alive() {
	local l
	{ read -r l <"/proc/$1/stat"; } 2>/dev/null || return 1
	l=${l##*) }
	[ "${l:0:1}" != Z ]
}

# stop_pids PID...: SIGTERM the PIDs and their descendants, SIGKILL what is
# left after 3 s.
stop_pids() {
	local all p i left
	all=$(tree "$@")
	[ -n "$all" ] || return 0
	for p in $all; do kill -TERM "$p" 2>/dev/null || true; done
	for ((i = 0; i < 30; i++)); do
		left=0
		for p in $all; do alive "$p" && left=1; done
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "$@"; do wait "$p" 2>/dev/null || true; done
}

cleanup() {
	local rc=$?
	[ -t 2 ] && printf '\n' >&2
	[ "${#PIDS[@]}" -gt 0 ] && stop_pids "${PIDS[@]}"
	if [ -n "${BENCH_KEEP:-}" ]; then
		log "kept $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# spawn NAME CMD...: start CMD in the background, output in $tmp/NAME.log;
# its PID in LAST.
spawn() {
	local name=$1
	shift
	"$@" >"$tmp/$name.log" 2>&1 &
	LAST=$!
	PIDS+=("$LAST")
	PNAME[$LAST]=$name
}

# listening PORT: true when something listens on 127.0.0.1:PORT (or any).
listening() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v h="$hex" 'FNR > 1 && $4 == "0A" {
		split($2, a, ":"); if (a[2] == h) { found = 1; exit } }
	    END { exit !found }' /proc/net/tcp /proc/net/tcp6
}

wait_listen() {
	local i
	for ((i = 0; i < 100; i++)); do
		listening "$1" && return 0
		sleep 0.05
	done
	return 1
}

# cpu_ticks PID...: utime+stime+cutime+cstime over the process trees.
cpu_ticks() {
	local p files=()
	for p in $(tree "$@"); do files+=("/proc/$p/stat"); done
	[ "${#files[@]}" -gt 0 ] || { echo 0; return; }
	cat "${files[@]}" 2>/dev/null |
	    awk '{ sub(/^.*\) /, ""); s += $12 + $13 + $14 + $15 } END { print s + 0 }'
}

# reactor_snap PID...: per process, "LOOP OTHER SYSCALLS": CPU ticks of its
# main thread (a gateway's event loop), of its other threads (the crypto
# workers), and the read and write system calls it made (/proc/PID/io).
reactor_snap() {
	local p t lt ot
	for p in "$@"; do
		lt=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/task/$p/stat" 2>/dev/null || echo 0)
		ot=0
		for t in /proc/"$p"/task/*; do
			[ "$t" = "/proc/$p/task/$p" ] && continue
			ot=$((ot + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$t/stat" 2>/dev/null || echo 0)))
		done
		printf '%s %s %s ' "$lt" "$ot" "$(awk '/^syscr:/ { r = $2 } /^syscw:/ { w = $2 } END { print r + w }' "/proc/$p/io" 2>/dev/null || echo 0)"
	done
	echo
}

# mem_kb PID...: "RSS PSS" in KiB summed over the process trees.
mem_kb() {
	local p rss pss sfiles=() mfiles=()
	for p in $(tree "$@"); do
		sfiles+=("/proc/$p/status")
		mfiles+=("/proc/$p/smaps_rollup")
	done
	[ "${#sfiles[@]}" -gt 0 ] || { echo "0 0"; return; }
	rss=$(cat "${sfiles[@]}" 2>/dev/null | awk '/^VmRSS:/ { s += $2 } END { print s + 0 }')
	pss=$(cat "${mfiles[@]}" 2>/dev/null | awk '/^Pss:/ { s += $2 } END { print s + 0 }')
	echo "$rss $pss"
}

CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc 2>/dev/null || echo '?')
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before: $LOAD0 ($NCPU CPUs)"

# --- ports ---
mapfile -t POOL < <("$NET" ports 64) || die "bench_net ports failed"
PI=0
port() { PORT=${POOL[$PI]}; PI=$((PI + 1)); }

# --- services: echo (all the time), iperf3 (started per run) ---
port; ECHO=$PORT
port; IPERF=$PORT
spawn echo "$NET" echo -p "$ECHO" --max-time 7200
wait_listen "$ECHO" || die "echo server did not start: $(cat "$tmp/echo.log")"

# --- the tunnels ---
start_direct() {
	FWD_IPERF[direct]=$IPERF
	FWD_ECHO[direct]=$ECHO
	ROOTS[direct]=""
}

start_socat() {
	local f1 f2 m1 m2 roots="" buf="rcvbuf=$SOCAT_BUF,sndbuf=$SOCAT_BUF"
	port; f1=$PORT; port; m1=$PORT; port; f2=$PORT; port; m2=$PORT
	# two hops per forward: app -> f -> m -> service
	spawn socat-i1 socat -b "$SOCAT_BUF" \
	    "TCP-LISTEN:$f1,bind=127.0.0.1,fork,reuseaddr,backlog=1024,$buf" \
	    "TCP:127.0.0.1:$m1,$buf"
	roots+=" $LAST"
	spawn socat-i2 socat -b "$SOCAT_BUF" \
	    "TCP-LISTEN:$m1,bind=127.0.0.1,fork,reuseaddr,backlog=1024,$buf" \
	    "TCP:127.0.0.1:$IPERF,$buf"
	roots+=" $LAST"
	spawn socat-e1 socat -b "$SOCAT_BUF" \
	    "TCP-LISTEN:$f2,bind=127.0.0.1,fork,reuseaddr,backlog=1024,$buf" \
	    "TCP:127.0.0.1:$m2,$buf"
	roots+=" $LAST"
	spawn socat-e2 socat -b "$SOCAT_BUF" \
	    "TCP-LISTEN:$m2,bind=127.0.0.1,fork,reuseaddr,backlog=1024,$buf" \
	    "TCP:127.0.0.1:$ECHO,$buf"
	roots+=" $LAST"
	FWD_IPERF[socat]=$f1
	FWD_ECHO[socat]=$f2
	ROOTS[socat]=$roots
	wait_listen "$f1" && wait_listen "$m1" || return 1
}

STUNNEL_CERT=""
stunnel_cert() {
	[ -n "$STUNNEL_CERT" ] && return 0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 2 -subj /CN=bench.local -keyout "$tmp/stunnel.key" \
	    -out "$tmp/stunnel.crt" >/dev/null 2>&1 || return 1
	chmod 600 "$tmp/stunnel.key"
	STUNNEL_CERT=1
}

# start_stunnel ID SUITE
start_stunnel() {
	local id=$1 suite=$2 f1 f2 m1 m2 pc ps
	stunnel_cert || return 1
	port; f1=$PORT; port; m1=$PORT; port; f2=$PORT; port; m2=$PORT
	cat >"$tmp/$id-client.conf" <<EOF
foreground = yes
pid = $tmp/$id-client.pid
debug = 4
[iperf]
client = yes
accept = 127.0.0.1:$f1
connect = 127.0.0.1:$m1
sslVersionMin = TLSv1.3
ciphersuites = $suite
verifyPeer = yes
CAfile = $tmp/stunnel.crt
[echo]
client = yes
accept = 127.0.0.1:$f2
connect = 127.0.0.1:$m2
sslVersionMin = TLSv1.3
ciphersuites = $suite
verifyPeer = yes
CAfile = $tmp/stunnel.crt
EOF
	cat >"$tmp/$id-server.conf" <<EOF
foreground = yes
pid = $tmp/$id-server.pid
debug = 4
cert = $tmp/stunnel.crt
key = $tmp/stunnel.key
[iperf]
accept = 127.0.0.1:$m1
connect = 127.0.0.1:$IPERF
sslVersionMin = TLSv1.3
ciphersuites = $suite
[echo]
accept = 127.0.0.1:$m2
connect = 127.0.0.1:$ECHO
sslVersionMin = TLSv1.3
ciphersuites = $suite
EOF
	spawn "$id-server" stunnel4 "$tmp/$id-server.conf"; ps=$LAST
	spawn "$id-client" stunnel4 "$tmp/$id-client.conf"; pc=$LAST
	FWD_IPERF[$id]=$f1
	FWD_ECHO[$id]=$f2
	ROOTS[$id]="$pc $ps"
	wait_listen "$f1" && wait_listen "$m1" || return 1
}

start_spiped() {
	local f1 f2 m1 m2 roots=""
	port; f1=$PORT; port; m1=$PORT; port; f2=$PORT; port; m2=$PORT
	dd if=/dev/urandom of="$tmp/spiped.key" bs=32 count=1 status=none
	# -n 0: no cap on connections (the default 100 would refuse the idle test)
	spawn spiped-ie spiped -e -F -n 0 -s "[127.0.0.1]:$f1" -t "[127.0.0.1]:$m1" -k "$tmp/spiped.key"
	roots+=" $LAST"
	spawn spiped-id spiped -d -F -n 0 -s "[127.0.0.1]:$m1" -t "[127.0.0.1]:$IPERF" -k "$tmp/spiped.key"
	roots+=" $LAST"
	spawn spiped-ee spiped -e -F -n 0 -s "[127.0.0.1]:$f2" -t "[127.0.0.1]:$m2" -k "$tmp/spiped.key"
	roots+=" $LAST"
	spawn spiped-ed spiped -d -F -n 0 -s "[127.0.0.1]:$m2" -t "[127.0.0.1]:$ECHO" -k "$tmp/spiped.key"
	roots+=" $LAST"
	FWD_IPERF[spiped]=$f1
	FWD_ECHO[spiped]=$f2
	ROOTS[spiped]=$roots
	wait_listen "$f1" && wait_listen "$m1" || return 1
}

SSH_KEYS=""
ssh_keys() {
	[ -n "$SSH_KEYS" ] && return 0
	mkdir -p "$tmp/ssh"
	chmod 700 "$tmp/ssh"
	ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$tmp/ssh/host_ed25519" || return 1
	ssh-keygen -q -t ed25519 -N '' -C bench-user -f "$tmp/ssh/id_ed25519" || return 1
	cp "$tmp/ssh/id_ed25519.pub" "$tmp/ssh/authorized_keys"
	chmod 600 "$tmp/ssh/authorized_keys"
	SSH_KEYS=1
}

# ssh_opts ID: the client options for system ID (cipher, key, port).
declare -A SSH_PORT SSH_CIPHER
ssh_opts() {
	SSHO=(-F /dev/null -c "${SSH_CIPHER[$1]}" -i "$tmp/ssh/id_ed25519"
	    -p "${SSH_PORT[$1]}" -o StrictHostKeyChecking=no
	    -o UserKnownHostsFile=/dev/null -o BatchMode=yes
	    -o LogLevel=ERROR -o Compression=no -o ConnectTimeout=10)
}

# start_ssh ID CIPHER: one throwaway sshd (private /run in its own mount
# namespace, key auth from our authorized_keys) and one `ssh -N -L` client
# that carries every forwarded connection over its one SSH connection.
start_ssh() {
	local id=$1 cipher=$2 p f1 f2 u sshd="" i
	ssh_keys || return 1
	port; p=$PORT; port; f1=$PORT; port; f2=$PORT
	SSH_PORT[$id]=$p
	SSH_CIPHER[$id]=$cipher
	cat >"$tmp/ssh/$id-sshd.conf" <<EOF
ListenAddress 127.0.0.1:$p
HostKey $tmp/ssh/host_ed25519
PidFile $tmp/ssh/$id-sshd.pid
AuthorizedKeysFile $tmp/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
Ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com
Compression no
PrintMotd no
MaxStartups 100:30:200
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
	spawn "$id-sshd" unshare --mount --fork -- sh -c \
	    "mount -t tmpfs tmpfs /run && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -f $tmp/ssh/$id-sshd.conf"
	u=$LAST
	wait_listen "$p" || return 1
	for ((i = 0; i < 50; i++)); do
		sshd=$(ps -o pid= --ppid "$u" | tr -d ' ' | head -1)
		[ -n "$sshd" ] && break
		sleep 0.05
	done
	[ -n "$sshd" ] || return 1
	ssh_opts "$id"
	spawn "$id-client" ssh -N -T "${SSHO[@]}" -o ExitOnForwardFailure=yes \
	    -L "127.0.0.1:$f1:127.0.0.1:$IPERF" -L "127.0.0.1:$f2:127.0.0.1:$ECHO" \
	    root@127.0.0.1
	FWD_IPERF[$id]=$f1
	FWD_ECHO[$id]=$f2
	# measured: the client and sshd's tree (not the unshare wrapper)
	ROOTS[$id]="$LAST $sshd"
	wait_listen "$f1" || return 1
}

STP_KEYS=""
stp_keys() {
	[ -n "$STP_KEYS" ] && return 0
	"$STPGATE" keygen -o "$tmp/a.key" >/dev/null || return 1
	"$STPGATE" keygen -o "$tmp/b.key" >/dev/null || return 1
	KEY_A=$("$STPGATE" pubkey "$tmp/a.key") || return 1
	KEY_B=$("$STPGATE" pubkey "$tmp/b.key") || return 1
	STP_KEYS=1
}

# start_stp ID WORKERS [signed|padding]: gateway A (apps' side, dials) and
# B (services' side); WORKERS "default" writes no `workers:` line, so the
# gateway's default applies; with "signed", sign_records for each other.
start_stp() {
	local id=$1 w=$2 l f1 f2 pa pb sign="" wl=""
	if [ "${3:-}" = signed ]; then sign="    sign_records: true"; fi
	[ "$w" = default ] || wl="workers: $w"
	local plug=""
	if [ "${3:-}" = padding ]; then
		plug="plugins: {padding: {cover_rate: 10}}"
	fi
	stp_keys || return 1
	port; l=$PORT; port; f1=$PORT; port; f2=$PORT
	cat >"$tmp/$id-b.yaml" <<EOF
identity: $tmp/b.key
listen: 127.0.0.1:$l
$wl
log: {level: ${BENCH_STP_LOG:-warn}}
peers:
  a:
    key: $KEY_A
$sign
services:
  iperf: {connect: "127.0.0.1:$IPERF", allow: [a]}
  echo: {connect: "127.0.0.1:$ECHO", allow: [a]}
limits: {max_streams: 4096, max_connections: 4096}
$plug
EOF
	cat >"$tmp/$id-a.yaml" <<EOF
identity: $tmp/a.key
$wl
log: {level: ${BENCH_STP_LOG:-warn}}
peers:
  b:
    key: $KEY_B
    dial: 127.0.0.1:$l
$sign
forwards:
  - {listen: "127.0.0.1:$f1", peer: b, service: iperf}
  - {listen: "127.0.0.1:$f2", peer: b, service: echo}
limits: {max_streams: 4096, max_connections: 4096}
$plug
timeouts: {reconnect_min: 100ms, reconnect_max: 1s}
EOF
	# (what check says is kept: the report quotes the default's workers)
	"$STPGATE" check -c "$tmp/$id-a.yaml" >"$tmp/$id-a.check" &&
	    "$STPGATE" check -c "$tmp/$id-b.yaml" >"$tmp/$id-b.check" || return 1
	spawn "$id-b" "$STPGATE" run -c "$tmp/$id-b.yaml"; pb=$LAST
	spawn "$id-a" "$STPGATE" run -c "$tmp/$id-a.yaml"; pa=$LAST
	FWD_IPERF[$id]=$f1
	FWD_ECHO[$id]=$f2
	ROOTS[$id]="$pa $pb"
	wait_listen "$f1" || return 1
}

start_system() {
	case "$1" in
	direct) start_direct ;;
	socat) start_socat ;;
	stunnel-chacha) start_stunnel stunnel-chacha TLS_CHACHA20_POLY1305_SHA256 ;;
	stunnel-aes) start_stunnel stunnel-aes TLS_AES_256_GCM_SHA384 ;;
	spiped) start_spiped ;;
	ssh-aes) start_ssh ssh-aes aes256-gcm@openssh.com ;;
	ssh-chacha) start_ssh ssh-chacha chacha20-poly1305@openssh.com ;;
	stp-default) start_stp stp-default default ;;
	stp-w0) start_stp stp-w0 0 ;;
	stp-w1) start_stp stp-w1 1 ;;
	stp-w2) start_stp stp-w2 2 ;;
	stp-signed-w1) start_stp stp-signed-w1 1 signed ;;
	stp-signed-w2) start_stp stp-signed-w2 2 signed ;;
	stp-pad-w0) start_stp stp-pad-w0 0 padding ;;
	esac
}

# show_logs: the logs of what we started, for a failure report.
show_logs() {
	local f
	for f in "$tmp"/*.log; do
		[ -s "$f" ] || continue
		printf -- '--- %s\n' "$(basename "$f")" >&2
		tail -n 5 "$f" >&2
	done
}

log "starting ${#SYS[@]} systems"
for s in "${SYS[@]}"; do
	start_system "$s" || { show_logs; die "could not start $s"; }
done
for s in "${SYS[@]}"; do
	"$NET" wait -p "${FWD_ECHO[$s]}" --max-time 15 >/dev/null ||
	    { show_logs; die "$s: no echo through the tunnel"; }
done

# --- results: one value per line in $tmp/res/METRIC/SYSTEM ---
mkdir -p "$tmp/res" "$tmp/samples"
put() { mkdir -p "$tmp/res/$1"; echo "$3" >>"$tmp/res/$1/$2"; }
FAILS=()
fail() { FAILS+=("$*"); printf '\nrun.sh: warning: %s\n' "$*" >&2; }

# check_alive: a tunnel process that has died is a failure of the run,
# reported once with the end of its log.
declare -A DEAD
check_alive() {
	local s p name
	for s in "${TUNNELS[@]}"; do
		[ -z "${DEAD[$s]:-}" ] || continue
		for p in ${ROOTS[$s]}; do
			alive "$p" && continue
			DEAD[$s]=1
			name=${PNAME[$p]:-}
			fail "$s: process $p${name:+ ($name)} is gone${name:+; its log ends: $(tail -n 3 "$tmp/$name.log" 2>/dev/null | tr '\n' ' ' | cut -c1-300)}"
			break
		done
	done
}

STEP=0
TOTAL=$(( ${#SYS[@]} * (3 * RUNS_THR + 2 * RUNS_LAT + 6 * RUNS_SR) + ${#TUNNELS[@]} * RUNS_MEM + 3 ))
progress() {
	check_alive
	STEP=$((STEP + 1))
	local line
	line=$(printf '[%3ds %3d/%d] %s' "$(( $(date +%s) - T0 ))" "$STEP" "$TOTAL" "$*")
	if [ -t 2 ]; then
		printf '\r%s\033[K' "$line" >&2
	else
		printf '%s\n' "$line" >&2
	fi
}

# throughput SCENARIO SYSTEM IPERF-ARGS...
throughput() {
	local scn=$1 s=$2 srv c0 c1 out i bps bytes cpu r0= r1= w0= w1=
	shift 2
	rm -f "$tmp/iperf-srv.log"
	iperf3 -s -B 127.0.0.1 -p "$IPERF" -1 >"$tmp/iperf-srv.log" 2>&1 &
	srv=$!
	PIDS+=("$srv")
	if ! wait_listen "$IPERF"; then
		stop_pids "$srv"
		fail "$scn $s: iperf3 server did not start"
		return
	fi
	c0=$(cpu_ticks ${ROOTS[$s]})
	case $s in stp-*) r0=$(reactor_snap ${ROOTS[$s]}); w0=$(date +%s.%N) ;; esac
	out="$tmp/iperf.json"
	timeout $((T + 30)) iperf3 -c 127.0.0.1 -p "${FWD_IPERF[$s]}" -t "$T" -J "$@" \
	    >"$out" 2>&1 || true
	c1=$(cpu_ticks ${ROOTS[$s]})
	case $s in stp-*) r1=$(reactor_snap ${ROOTS[$s]}); w1=$(date +%s.%N) ;; esac
	# the one-off server ends by itself once the client is done
	for ((i = 0; i < 50; i++)); do
		alive "$srv" || break
		sleep 0.1
	done
	stop_pids "$srv"
	bps=$(jq -r '.end.sum_received.bits_per_second // empty' "$out" 2>/dev/null || true)
	bytes=$(jq -r '.end.sum_received.bytes // empty' "$out" 2>/dev/null || true)
	if [ -z "$bps" ] || [ -z "$bytes" ] || [ "$bytes" = 0 ]; then
		fail "$scn $s: iperf3 failed: $(jq -r '.error // empty' "$out" 2>/dev/null | head -c 200)"
		return
	fi
	put "thr$scn" "$s" "$(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 1e9 }')"
	# One stream through stpgate: what each end's event loop carried.
	if [ "$scn" = 1 ] && [ -n "${r0:-}" ]; then
		set -- $(echo "$r0 $r1" | awk -v hz="$CLK_TCK" -v b="$bytes" \
		    -v wall="$(awk -v a="$w0" -v z="$w1" 'BEGIN { print z - a }')" '{
			gb = b / 1e9
			# fields: A loop, A other, A calls, B loop, B other, B calls; then again after
			la = ($7 - $1) / hz; lb = ($10 - $4) / hz
			oth = ($8 - $2 + $11 - $5) / hz
			sc = $9 - $3 + $12 - $6
			printf "%.2f %.3f %.3f %.0f\n", (la > lb ? la : lb) / wall,
			    (la + lb) / gb, oth / gb, sc / gb
		}')
		put rloop "$s" "$1"
		put rloopgb "$s" "$2"
		put rwrkgb "$s" "$3"
		put rsys "$s" "$4"
	fi
	if [ -n "${ROOTS[$s]}" ]; then
		cpu=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v b="$bytes" \
		    'BEGIN { printf "%.3f", (t / hz) / (b / 1e9) }')
		put "cpu$scn" "$s" "$cpu"
	fi
}

# kv KEY LINE: the value of KEY=... in LINE.
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

rr() {
	local s=$1 run=$2 out
	if ! out=$("$NET" rr -p "${FWD_ECHO[$s]}" -n "$RR_N" --max-time 120 \
	    --samples "$tmp/samples/rr-$s-$run" 2>&1); then
		fail "rr $s: $out"
		return
	fi
	put rtt50 "$s" "$(kv p50 "$out")"
	put rtt99 "$s" "$(kv p99 "$out")"
}

connect_test() {
	local s=$1 run=$2 out
	if ! out=$("$NET" connect -p "${FWD_ECHO[$s]}" -n "$CONN_N" --max-time 180 \
	    --samples "$tmp/samples/conn-$s-$run" 2>&1); then
		fail "connect $s: $out"
		return
	fi
	put con50 "$s" "$(kv p50 "$out")"
	put con99 "$s" "$(kv p99 "$out")"
	put conmean "$s" "$(kv mean "$out")"
}

# The small-request scenarios: bench_net rr with SR_ARGS[ID], figures in
# tps-ID, p50-ID and p99-ID.
SR_IDS=(64c1 64c50 64d16 1kc1 1kc50 1kd16)
declare -A SR_ARGS=(
	[64c1]="--size 64 -c 1 --depth 1" [64c50]="--size 64 -c 50 --depth 1"
	[64d16]="--size 64 -c 50 --depth 16"
	[1kc1]="--size 1024 -c 1 --depth 1" [1kc50]="--size 1024 -c 50 --depth 1"
	[1kd16]="--size 1024 -c 50 --depth 16"
)
declare -A SR_WHAT=(
	[64c1]="64 B, 1 conn" [64c50]="64 B, 50 conns" [64d16]="64 B, 50 conns × 16 deep"
	[1kc1]="1 KiB, 1 conn" [1kc50]="1 KiB, 50 conns" [1kd16]="1 KiB, 50 conns × 16 deep"
)

# small SCENARIO SYSTEM
small() {
	local id=$1 s=$2 out w
	# shellcheck disable=SC2086 # SR_ARGS holds several words
	if ! out=$("$NET" rr -p "${FWD_ECHO[$s]}" ${SR_ARGS[$id]} \
	    --duration "$SR_T" --warmup "$SR_WARM" --max-time 90 2>&1); then
		fail "small requests, ${SR_WHAT[$id]}, $s: $out"
		return
	fi
	for w in $out; do
		case $w in
		tps=*|p50=*|p99=*) put "${w%%=*}-$id" "$s" "${w#*=}" ;;
		esac
	done
}

idle() {
	local s=$1 pid i m setup
	rm -f "$tmp/idle.out" "$tmp/idle.err"
	"$NET" idle -p "${FWD_ECHO[$s]}" -n "$IDLE_N" --max-time 300 \
	    >"$tmp/idle.out" 2>"$tmp/idle.err" &
	pid=$!
	PIDS+=("$pid")
	for ((i = 0; i < 1200; i++)); do
		grep -q '^ready' "$tmp/idle.out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^ready' "$tmp/idle.out" 2>/dev/null; then
		stop_pids "$pid"
		fail "idle $s: $(cat "$tmp/idle.err")"
		return
	fi
	sleep 0.5
	m=$(mem_kb ${ROOTS[$s]})
	setup=$(sed -n 's/^ready .*setup_s=//p' "$tmp/idle.out")
	stop_pids "$pid"
	put rss "$s" "$(awk -v k="${m% *}" 'BEGIN { printf "%.1f", k / 1024 }')"
	put pss "$s" "$(awk -v k="${m#* }" 'BEGIN { printf "%.1f", k / 1024 }')"
	put idlesetup "$s" "$setup"
	# let the tunnels close the 1,000 connections before the next one
	sleep 0.5
}

# --- the scenarios, systems interleaved ---
for s in "${TUNNELS[@]}"; do
	m=$(mem_kb ${ROOTS[$s]})
	put rss0 "$s" "$(awk -v k="${m% *}" 'BEGIN { printf "%.1f", k / 1024 }')"
done
for ((run = 1; run <= RUNS_MEM; run++)); do
	for s in "${TUNNELS[@]}"; do
		progress "memory, $IDLE_N idle connections, run $run/$RUNS_MEM: $s"
		idle "$s"
	done
done
for ((run = 1; run <= RUNS_LAT; run++)); do
	for s in "${SYS[@]}"; do
		progress "latency, 64 B round trips, run $run/$RUNS_LAT: $s"
		rr "$s" "$run"
	done
done
for ((run = 1; run <= RUNS_LAT; run++)); do
	for s in "${SYS[@]}"; do
		progress "connect to first byte, run $run/$RUNS_LAT: $s"
		connect_test "$s" "$run"
	done
done
for id in "${SR_IDS[@]}"; do
	for ((run = 1; run <= RUNS_SR; run++)); do
		for s in "${SYS[@]}"; do
			progress "small requests, ${SR_WHAT[$id]}, ${SR_T}s, run $run/$RUNS_SR: $s"
			small "$id" "$s"
		done
	done
done
for scn in 1 4 R; do
	case $scn in
	1) args=(); what="1 stream" ;;
	4) args=(-P 4); what="4 streams" ;;
	R) args=(-R); what="reverse" ;;
	esac
	for ((run = 1; run <= RUNS_THR; run++)); do
		for s in "${SYS[@]}"; do
			progress "throughput, $what, ${T}s, run $run/$RUNS_THR: $s"
			throughput "$scn" "$s" "${args[@]}"
		done
	done
done

# --- handshakes per second ---
progress "handshakes: bench_proto (stpgate, one core, in memory)"
HS_STP=""
if out=$("$PROTO" --csv --filter handshake --time "$HS_TIME" --rounds 3 2>/dev/null); then
	HS_STP=$(printf '%s\n' "$out" | awk -F, '$1 == "handshake" && $2 == "median" && $10 > 0 {
	    printf "%.0f", 1e9 / $10 }')
	HS_STP_WALL=$(printf '%s\n' "$out" | awk -F, '$1 == "handshake" && $2 == "median" && $9 > 0 {
	    printf "%.0f", 1e9 / $9 }')
fi
[ -n "$HS_STP" ] || fail "bench_proto handshake case failed"
for s in "${SYS[@]}"; do
	case $s in stp-default|stp-w*) [ -n "$HS_STP" ] && put hs "$s" "$HS_STP" ;; esac
done
progress "handshakes: ssh sessions (ssh -s ... sftp)"
for s in "${SYS[@]}"; do
	case $s in ssh-*) ;; *) continue ;; esac
	ssh_opts "$s"
	t0=$(date +%s%N)
	ok=1
	for ((i = 0; i < SSH_HS_N; i++)); do
		timeout 20 ssh "${SSHO[@]}" -s root@127.0.0.1 sftp </dev/null \
		    >/dev/null 2>"$tmp/ssh-hs.err" || { ok=0; break; }
	done
	t1=$(date +%s%N)
	if [ "$ok" = 1 ]; then
		put hs "$s" "$(awk -v n="$SSH_HS_N" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", n / (ns / 1e9) }')"
	else
		fail "ssh handshake $s: $(head -c 200 "$tmp/ssh-hs.err")"
	fi
done
# stunnel, spiped: each new connection is a full handshake; their rate is
# that of the sequential connect test (1 / mean connect time).
for s in "${SYS[@]}"; do
	case $s in stunnel-*|spiped) ;; *) continue ;; esac
	[ -s "$tmp/res/conmean/$s" ] || continue
	put hs "$s" "$(awk '{ s += $1; n++ } END { printf "%.0f", 1e6 / (s / n) }' "$tmp/res/conmean/$s")"
done
progress "report and plots"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - T0 ))
[ -t 2 ] && printf '\n' >&2
log "load average after: $LOAD1; $ELAPSED s"

# --- statistics ---
# Every METRIC/SYSTEM's figures at once, in one awk: the tables look up
# hundreds of cells, and a process or two per cell took half a minute on
# a busy machine.  ST: "median min max n"; STF: the same three figures as
# fmt prints them; STR: the median's ratio to REFSYS's, as ratio prints it.
declare -A ST STF STR
load_stats() {
	local k a b c d e f g h
	[ -d "$tmp/res" ] || return 0
	while read -r k a b c d e f g h; do
		ST[$k]="$a $b $c $d"
		STF[$k]="$e $f $g"
		STR[$k]=$h
	done < <(find "$tmp/res" -mindepth 2 -maxdepth 2 -type f -size +0 |
	    xargs -r awk -v ref="$REFSYS" '
	function fmt(v, a) {
		a = v < 0 ? -v : v
		return sprintf(a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : "%.2f", v)
	}
	function ratio(a, b, r) {
		if (b == "" || b + 0 == 0) return "-"
		r = a / b
		return sprintf(r >= 0.1 ? "%.2f" : "%.2g", r)
	}
	FNR == 1 { n = split(FILENAME, p, "/"); k = p[n - 1] "/" p[n]; keys[k] = 1 }
	$1 != "" { val[k, ++cnt[k]] = $1 + 0 }
	END {
		for (k in keys) {
			n = cnt[k]
			if (n == 0) continue
			for (i = 1; i <= n; i++) v[i] = val[k, i]
			for (i = 2; i <= n; i++)        # insertion sort: n is small
				for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
					t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
				}
			m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			split(k, p, "/")
			med[k] = m; lo[k] = v[1]; hi[k] = v[n]; num[k] = n
			metric[k] = p[1]
		}
		for (k in med) {
			r = metric[k] "/" ref
			print k, med[k], lo[k], hi[k], num[k], fmt(med[k]),
			    fmt(lo[k]), fmt(hi[k]),
			    ratio(med[k], r in num ? med[r] : "")
		}
	}')
}
# stat METRIC SYSTEM: "median min max n", or nothing.
stat() { echo "${ST[$1/$2]:-}"; }
med() { local x=${ST[$1/$2]:-}; echo "${x%% *}"; }

# fmt VALUE: a figure with sensible precision, "-" when empty.
fmt() {
	awk -v v="$1" 'BEGIN {
		if (v == "") { print "-"; exit }
		a = v < 0 ? -v : v
		if (a >= 100) printf "%.0f", v
		else if (a >= 10) printf "%.1f", v
		else printf "%.2f", v }'
}
# ratio A B: A / B as "0.00x", "-" when either is empty or B is 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "" || b == "" || b + 0 == 0) { print "-"; exit }
		r = a / b
		if (r >= 0.1) printf "%.2f", r; else printf "%.2g", r }'
}

METRICS=(thr1 thr4 thrR cpu1 rtt50 rtt99 con50 con99 hs rss)
declare -A MHEAD=(
	[thr1]="1 stream Gbit/s" [thr4]="4 streams Gbit/s" [thrR]="reverse Gbit/s"
	[cpu1]="tunnel CPU s/GB" [rtt50]="64 B RTT p50 µs" [rtt99]="64 B RTT p99 µs"
	[con50]="connect→1st byte p50 µs" [con99]="connect→1st byte p99 µs"
	[hs]="handshakes/s" [rss]="RSS, 1,000 idle conns, MiB"
)
# the small-request figures: one table per size, three figures a scenario
SR64=() SR1K=()
for id in "${SR_IDS[@]}"; do
	case $id in
	*c1) w="1 conn" ;;
	*c50) w="50 conns" ;;
	*d16) w="50 conns × 16 deep" ;;
	esac
	MHEAD[tps-$id]="$w tps"
	MHEAD[p50-$id]="$w p50 µs"
	MHEAD[p99-$id]="$w p99 µs"
	case $id in
	64*) SR64+=("tps-$id" "p50-$id" "p99-$id") ;;
	*) SR1K+=("tps-$id" "p50-$id" "p99-$id") ;;
	esac
done
# figure METRIC: its name out of its table's context
figure() {
	case $1 in
	tps-*) echo "${SR_WHAT[${1#*-}]}, tps" ;;
	p50-*|p99-*) echo "${SR_WHAT[${1#*-}]}, ${1%%-*} µs" ;;
	*) echo "${MHEAD[$1]}" ;;
	esac
}
# higher METRIC: true when more is better (throughput, rates).
higher() { case $1 in thr*|hs|tps-*) return 0 ;; *) return 1 ;; esac; }

# table METRIC...: systems by rows, median over runs and the ratio to the
# reference system.
table() {
	local s m k line head sep f r
	head="| system |"; sep="|---|"
	for m in "$@"; do head+=" ${MHEAD[$m]} |"; sep+="---:|"; done
	echo "$head"
	echo "$sep"
	for s in "${SYS[@]}"; do
		line="| ${LABEL[$s]} |"
		for m in "$@"; do
			k="$m/$s"
			f=${STF[$k]:-}
			f=${f%% *}
			r=${STR[$k]:-}
			if [ -z "${ST[$k]:-}" ]; then
				line+=" - |"
			elif [ "$s" = "$REFSYS" ]; then
				line+=" **$f** |"
			elif [ "$r" = "-" ]; then
				line+=" $f |"
			else
				line+=" $f (${r}×) |"
			fi
		done
		echo "$line"
	done
}

# spread_table METRIC...: min–max over runs.
spread_table() {
	local s m k line head sep f n ms=("$@")
	head="| system |"; sep="|---|"
	for m in "${ms[@]}"; do head+=" ${MHEAD[$m]} |"; sep+="---:|"; done
	echo "$head"
	echo "$sep"
	for s in "${SYS[@]}"; do
		line="| ${LABEL[$s]} |"
		for m in "${ms[@]}"; do
			k="$m/$s"
			if [ -z "${ST[$k]:-}" ]; then
				line+=" - |"
			else
				f=${STF[$k]#* }         # "min max"
				n=${ST[$k]##* }
				line+=" ${f% *}–${f#* } (n=$n) |"
			fi
		done
		echo "$line"
	done
}

detail_table() {
	local s x
	echo "| system | CPU s/GB, 4 streams | CPU s/GB, reverse | RSS before, no conns, MiB | PSS, 1,000 idle conns, MiB | time to open the 1,000, s |"
	echo "|---|---:|---:|---:|---:|---:|"
	for s in "${TUNNELS[@]}"; do
		echo "| ${LABEL[$s]} | $(fmt "$(med cpu4 "$s")") | $(fmt "$(med cpuR "$s")") | $(fmt "$(med rss0 "$s")") | $(fmt "$(med pss "$s")") | $(fmt "$(med idlesetup "$s")") |"
	done
}

# The stpgate systems' event loops during the one-stream runs (at their peak).
reactor_table() {
	local s any=0
	for s in "${SYS[@]}"; do [ -n "$(med rloop "$s")" ] && any=1; done
	[ "$any" = 1 ] || return 0
	echo "## The reactor"
	echo
	echo "What each gateway's event loop (its main thread) carried during the one-stream iperf3 runs: the busier end's loop as a share of one core, the loop threads' CPU time per 10^9 bytes (both ends together), the worker threads' (the crypto pool), and the read and write system calls of both ends per 10^9 bytes (/proc/PID/io; epoll_wait not counted). Medians over runs, min–max in parentheses."
	echo
	echo "| system | 1 stream Gbit/s | busier loop, share of a core | loops' CPU s/GB | workers' CPU s/GB | read+write calls per GB |"
	echo "|---|---:|---:|---:|---:|---:|"
	for s in "${SYS[@]}"; do
		[ -n "$(med rloop "$s")" ] || continue
		echo "| ${LABEL[$s]} | $(fmt "$(med thr1 "$s")") | $(cell_spread rloop "$s") | $(cell_spread rloopgb "$s") | $(cell_spread rwrkgb "$s") | $(cell_spread rsys "$s") |"
	done
	echo
}
# cell_spread METRIC SYSTEM: "median (min–max)".
cell_spread() {
	local x=${STF[$1/$2]:-}
	[ -n "$x" ] || { echo "-"; return; }
	set -- $x
	echo "$1 ($2–$3)"
}

# best METRIC min|max SYSTEM...: the best median among the systems given.
best() {
	local m=$1 how=$2 s v out=""
	shift 2
	for s in "$@"; do
		v=$(med "$m" "$s")
		[ -n "$v" ] || continue
		if [ -z "$out" ] || awk -v a="$v" -v b="$out" -v h="$how" \
		    'BEGIN { exit !(h == "min" ? a < b : a > b) }'; then
			out=$v
		fi
	done
	echo "$out"
}

has() { local s; for s in "${SYS[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
present() { local s; for s in "$@"; do has "$s" && echo "$s"; done; }

# judge OP A B FACTOR: "PASS (a vs f*b)" or "MISS (a vs f*b)" for
# A OP FACTOR*B; "n/a" when a figure is missing.
judge() {
	awk -v op="$1" -v a="$2" -v b="$3" -v f="$4" '
	function show(x) { return sprintf(x >= 10000 ? "%.0f" : "%.4g", x) }
	BEGIN {
		if (a == "" || b == "") { print "n/a"; exit }
		t = f * b
		ok = op == ">=" ? a >= t : op == "<=" ? a <= t : a < t
		printf "%s (%s vs %s)\n", ok ? "PASS" : "MISS", show(a), show(t) }'
}

# beyond METRIC A X: true when system A is worse than X beyond the run's
# spread: A's whole min–max range on the worse side of X's whole range.
beyond() {
	local a x
	a=$(stat "$1" "$2")
	x=$(stat "$1" "$3")
	[ -n "$a" ] && [ -n "$x" ] || return 1
	# shellcheck disable=SC2086 # "median min max n", split on purpose
	awk -v hi="$(higher "$1" && echo 1)" -v a="$a" -v x="$x" 'BEGIN {
		split(a, A, " "); split(x, X, " ")
		exit !(hi ? A[3] < X[2] : A[2] > X[3]) }'
}

# span METRIC SYSTEM: "min–max" over runs as the tables print them, or the
# one figure when they are the same.
span() {
	local f=${STF[$1/$2]#* }
	if [ "${f% *}" = "${f#* }" ]; then echo "${f% *}"; else echo "${f% *}–${f#* }"; fi
}

# The figures the default is held to against workers: 0 and 2: every
# figure of the results and small-request tables.
RULE_FIGS=("${METRICS[@]}" "${SR64[@]}" "${SR1K[@]}")
RULE_CHECKED=()

# default_rule: the cell of the rule "the default never worse than both
# workers: 0 and workers: 2 beyond the run's spread"; RULE_CHECKED gets the
# figures all three have.
default_rule() {
	local m misses=() a b c
	RULE_CHECKED=()
	has stp-w0 && has stp-w2 || { echo "n/a (needs stp-w0 and stp-w2)"; return; }
	for m in "${RULE_FIGS[@]}"; do
		a=$(stat "$m" stp-default); b=$(stat "$m" stp-w0); c=$(stat "$m" stp-w2)
		[ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] || continue
		RULE_CHECKED+=("$m")
		if beyond "$m" stp-default stp-w0 && beyond "$m" stp-default stp-w2; then
			misses+=("$(figure "$m"): $(span "$m" stp-default) vs w0 $(span "$m" stp-w0), w2 $(span "$m" stp-w2)")
		fi
	done
	if [ "${#RULE_CHECKED[@]}" = 0 ]; then
		echo "n/a (no figure for all three)"
	elif [ "${#misses[@]}" = 0 ]; then
		echo "PASS (${#RULE_CHECKED[@]} figures)"
	else
		local IFS=';'
		echo "MISS (${#misses[@]} of ${#RULE_CHECKED[@]} figures: ${misses[*]})" | sed 's/;/; /g'
	fi
}

# verdict: the targets, judged for the default; the workers variants
# beside it for information.
verdict() {
	local stps=() s head sep rule
	mapfile -t stps < <(present stp-default stp-w0 stp-w1 stp-w2)
	[ "${#stps[@]}" -gt 0 ] || { echo "No stpgate variant ran: no verdict."; return; }
	head="| target |"; sep="|---|"
	for s in "${stps[@]}"; do head+=" ${LABEL[$s]} |"; sep+="---|"; done
	echo "$head"
	echo "$sep"
	# row LABEL OP METRIC BASELINE FACTOR
	row() {
		local label=$1 op=$2 m=$3 base=$4 f=$5 line s
		line="| $label |"
		for s in "${stps[@]}"; do
			line+=" $(judge "$op" "$(med "$m" "$s")" "$base" "$f") |"
		done
		echo "$line"
	}
	local stun sshs
	mapfile -t stun < <(present stunnel-chacha stunnel-aes)
	mapfile -t sshs < <(present ssh-aes ssh-chacha)
	row "64 B RTT p50 ≤ 1.1× socat 2-hop (1 conn, depth 1)" "<=" rtt50 "$(med rtt50 socat)" 1.1
	row "64 B RTT p99 ≤ socat 2-hop" "<=" rtt99 "$(med rtt99 socat)" 1
	row "50 conns, 64 B: tps ≥ 0.55× direct" ">=" tps-64c50 "$(med tps-64c50 direct)" 0.55
	row "50 conns, 64 B: tps ≥ 1.2× ssh -L aes256-gcm" ">=" tps-64c50 "$(med tps-64c50 ssh-aes)" 1.2
	row "50 conns × 16 deep, 64 B: tps ≥ 0.6× direct" ">=" tps-64d16 "$(med tps-64d16 direct)" 0.6
	row "1 conn, 64 B: tps ≥ 0.4× direct" ">=" tps-64c1 "$(med tps-64c1 direct)" 0.4
	row "1 stream ≥ 1.5× stunnel AES-256-GCM" ">=" thr1 "$(med thr1 stunnel-aes)" 1.5
	row "1 stream ≥ 1.25× ssh -L aes256-gcm" ">=" thr1 "$(med thr1 ssh-aes)" 1.25
	row "1 stream ≥ 0.65× socat 2-hop" ">=" thr1 "$(med thr1 socat)" 0.65
	row "tunnel CPU ≤ 1.5 s/GB (1 stream, both ends)" "<=" cpu1 1.5 1
	row "connect p50 ≤ ssh -L (faster cipher)" "<=" con50 "$(best con50 min "${sshs[@]}")" 1
	row "RSS, 1,000 idle < stunnel (lower suite)" "<" rss "$(best rss min "${stun[@]}")" 1
	row "RSS, 1,000 idle < ssh -L (lower cipher)" "<" rss "$(best rss min "${sshs[@]}")" 1
	if has stp-default; then
		# in this shell, not a subshell: RULE_CHECKED is read below
		default_rule >"$tmp/rule"
		rule=$(cat "$tmp/rule")
		head="| default never worse than both workers: 0 and workers: 2 beyond the run's spread |"
		for s in "${stps[@]}"; do
			if [ "$s" = stp-default ]; then head+=" $rule |"; else head+=" — |"; fi
		done
		echo "$head"
	fi
}

load_stats

# --- plots ---
STAMP="$(date '+%Y%m%d')-$(uname -n)"
[ "$QUICK" = 1 ] && STAMP+="-quick"
mkdir -p "$OUT"
PNG_THR="$STAMP-throughput.png"
PNG_LAT="$STAMP-latency.png"
PNG_CON="$STAMP-connect.png"
PNG_SR="$STAMP-small-requests.png"

plots() {
	local s x1 x4 xr f gp lw dt ymax=0
	# throughput bars: median with min..max error bars
	: >"$tmp/thr.dat"
	for s in "${SYS[@]}"; do
		x1=$(stat thr1 "$s"); x4=$(stat thr4 "$s"); xr=$(stat thrR "$s")
		set -- ${x1:-0 0 0 0} ${x4:-0 0 0 0} ${xr:-0 0 0 0}
		printf '"%s" %s %s %s %s %s %s %s %s %s\n' "${SHORT[$s]}" \
		    "$1" "$2" "$3" "$5" "$6" "$7" "$9" "${10}" "${11}" >>"$tmp/thr.dat"
	done
	cat >"$tmp/thr.gp" <<EOF
set terminal pngcairo size 1000,520 font "DejaVu Sans,10"
set encoding utf8
set output "$OUT/$PNG_THR"
set title "iperf3 throughput through each tunnel, 127.0.0.1 (median, min–max bars; $T s runs)"
set ylabel "Gbit/s"
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by 30 right scale 0
set yrange [0:*]
set grid ytics
set key top right
plot "$tmp/thr.dat" using 2:3:4:xtic(1) title "1 stream" lc rgb "#1f77b4", \
     "" using 5:6:7 title "4 streams" lc rgb "#ff7f0e", \
     "" using 8:9:10 title "reverse" lc rgb "#2ca02c"
EOF
	gnuplot "$tmp/thr.gp" 2>"$tmp/gp.err" || fail "gnuplot throughput: $(head -c 300 "$tmp/gp.err")"

	# latency CDF over every sample of every run
	gp="plot"
	for s in "${SYS[@]}"; do
		f="$tmp/cdf-$s.dat"
		# x: µs; y: the CDF on a "nines" scale, -log10(1 - F), so
		# that p50, p90, p99 and p99.9 are evenly spaced; points get
		# denser toward the tail
		cat "$tmp/samples/rr-$s-"* 2>/dev/null | sort -g |
		    awk '{ v[++n] = $1 } END {
			for (i = 1; i <= n; i++) {
				step = int((n - i) / 200); if (step < 1) step = 1
				if (i % step == 0 || i == n)
					print v[i], -log(1 - (i - 0.5) / n) / log(10)
			} }' >"$f"
		ymax=$(cat "$tmp/samples/rr-$s-"* 2>/dev/null | wc -l |
		    awk -v m="${ymax:-0}" '{ y = log($1 * 2) / log(10); print (y > m ? y : m) }')
		[ -s "$f" ] || continue
		case $s in stp-*) lw=3; dt=1 ;; direct|socat) lw=2; dt=2 ;; *) lw=2; dt=1 ;; esac
		gp+=" \"$f\" using 1:2 with lines lw $lw dt $dt lc rgb \"${COLOR[$s]}\" title \"${SHORT[$s]}\","
	done
	cat >"$tmp/lat.gp" <<EOF
set terminal pngcairo size 1000,520 font "DejaVu Sans,10"
set encoding utf8
set output "$OUT/$PNG_LAT"
set title "64-byte request/response round trip on an open connection: CDF ($RR_N per run, $RUNS_LAT runs)"
set xlabel "round trip, µs (log scale)"
set ylabel "fraction of round trips ≤ x"
set logscale x
set format x "%.0f"
set yrange [0:$ymax]
set ytics ("0" 0, "50%%" log10(2), "90%%" 1, "99%%" 2, "99.9%%" 3, "99.99%%" 4, "99.999%%" 5)
set grid
set key outside right top
${gp%,}
EOF
	gnuplot "$tmp/lat.gp" 2>"$tmp/gp.err" || fail "gnuplot latency: $(head -c 300 "$tmp/gp.err")"

	# connect bars: p50 and p99, log scale
	: >"$tmp/con.dat"
	for s in "${SYS[@]}"; do
		printf '"%s" %s %s\n' "${SHORT[$s]}" "$(med con50 "$s")" "$(med con99 "$s")" \
		    >>"$tmp/con.dat"
	done
	cat >"$tmp/con.gp" <<EOF
set terminal pngcairo size 1000,520 font "DejaVu Sans,10"
set encoding utf8
set output "$OUT/$PNG_CON"
set title "new connection: connect() to the first echoed byte (median over runs of p50 / p99)"
set ylabel "µs (log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 2
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by 30 right scale 0
set grid ytics
set key top left
plot "$tmp/con.dat" using 2:xtic(1) title "p50" lc rgb "#1f77b4", \
     "" using 3 title "p99" lc rgb "#d62728"
EOF
	gnuplot "$tmp/con.gp" 2>"$tmp/gp.err" || fail "gnuplot connect: $(head -c 300 "$tmp/gp.err")"

	# small requests: a cluster per scenario, a bar per system (median,
	# min–max bars), tps above and p99 below, both log scale
	local id k col gtps gp99 xt="" x line bsn='\n'
	for k in tps p99; do
		: >"$tmp/sr-$k.dat"
		for id in "${SR_IDS[@]}"; do
			line="\"$id\""
			for s in "${SYS[@]}"; do
				x=$(stat "$k-$id" "$s")
				# shellcheck disable=SC2086 # "median min max n"
				if [ -n "$x" ]; then set -- $x; line+=" $1 $2 $3"; else line+=" - - -"; fi
			done
			echo "$line" >>"$tmp/sr-$k.dat"
		done
	done
	x=0
	for id in "${SR_IDS[@]}"; do
		# "64 B, 50 conns" -> two lines under the cluster (gnuplot's \n)
		xt+="${xt:+, }\"${SR_WHAT[$id]/, /$bsn}\" $x"
		x=$((x + 1))
	done
	gtps=""; gp99=""; col=2
	for s in "${SYS[@]}"; do
		gtps+="${gtps:+, }\"$tmp/sr-tps.dat\" using $col:$((col + 1)):$((col + 2)) title \"${SHORT[$s]}\" lc rgb \"${COLOR[$s]}\""
		gp99+="${gp99:+, }\"$tmp/sr-p99.dat\" using $col:$((col + 1)):$((col + 2)) notitle lc rgb \"${COLOR[$s]}\""
		col=$((col + 3))
	done
	cat >"$tmp/sr.gp" <<EOF
set terminal pngcairo size 1200,900 font "DejaVu Sans,10"
set encoding utf8
set output "$OUT/$PNG_SR"
set datafile missing "-"
set multiplot title "Small requests through each tunnel, 127.0.0.1: echoed requests of 64 B and 1 KiB (median over runs, min–max bars; ${SR_T} s runs)"
set style data histograms
set style histogram errorbars gap 1.5 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set format y "%.0f"
set grid ytics
set xrange [-0.6:$(( ${#SR_IDS[@]} - 1 )).6]
set xtics ($xt) scale 0
# both panels placed by hand, so that they line up and nothing is clipped
set lmargin at screen 0.08
set rmargin at screen 0.82
set key outside right top Left reverse
set tmargin at screen 0.94
set bmargin at screen 0.57
set ylabel "transactions/s (log scale)"
plot $gtps
set tmargin at screen 0.46
set bmargin at screen 0.07
set ylabel "p99 round trip, µs (log scale)"
plot $gp99
unset multiplot
EOF
	gnuplot "$tmp/sr.gp" 2>"$tmp/gp.err" || fail "gnuplot small requests: $(head -c 300 "$tmp/gp.err")"
}
plots

# default_workers: what `stpgate check` said of the default pair's workers.
default_workers() {
	local w
	w=$(grep -ho '[0-9]* workers\?$' "$tmp/stp-default-a.check" 2>/dev/null | head -1)
	echo "\`stpgate check\` reported ${w:-? workers} for it here"
}

versions() {
	echo "- $(stunnel4 -version 2>&1 | grep -m1 '^stunnel'), $(stunnel4 -version 2>&1 | grep -m1 'Compiled with')"
	echo "- $(spiped -v 2>&1 | head -1); $(ssh -V 2>&1); $(socat -V 2>/dev/null | grep -m1 'socat version' | cut -d' ' -f1-3); $(iperf3 -v 2>/dev/null | head -1 | cut -d' ' -f1-2)"
	echo "- stpgate $("$STPGATE" --version 2>/dev/null | head -1) (git $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?')), built Release in $BUILD"
}

report() {
	echo "# stpgate beside other tunnels, 127.0.0.1"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), host: $(uname -n), $NCPU CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
	echo "- load average before: $LOAD0, after: $LOAD1 (other work on the machine shares the CPUs; compare ratios within this run)"
	echo "- command: \`bench/run.sh$([ "$QUICK" = 1 ] && echo ' --quick')$([ -n "$RUNS" ] && echo " --runs $RUNS")$([ "$REF" != default ] && echo " --ref $REF")$([ -n "$ONLY" ] && echo " --only $ONLY")\`, $ELAPSED s"
	echo "- runs: throughput $RUNS_THR × ${T} s per scenario and system; latency and connect $RUNS_LAT runs ($RR_N round trips, $CONN_N connections per run); small requests $RUNS_SR × ${SR_T} s per scenario and system; memory $RUNS_MEM run(s) of $IDLE_N connections. Systems interleaved run by run; cells are medians over runs"
	versions
	echo
	echo "## Results"
	echo
	if has "$REFSYS"; then
		echo "Each cell: median over runs, and in parentheses the ratio to **${LABEL[$REFSYS]}** (system ÷ stpgate; above 1 means more throughput, transactions, CPU, time or memory than stpgate)."
	else
		echo "Each cell: median over runs (no ratios: the reference, ${LABEL[$REFSYS]}, did not run)."
	fi
	echo
	table "${METRICS[@]}"
	echo
	echo "![throughput]($PNG_THR)"
	echo "![latency CDF]($PNG_LAT)"
	echo "![connect time]($PNG_CON)"
	echo
	echo "## Small requests"
	echo
	echo "Echoed requests on open connections: transactions per second, and the p50 and p99 of their round trips, for 1 connection, 50 connections, and 50 connections each with 16 requests in flight. Cells as above."
	echo
	echo "64-byte requests:"
	echo
	table "${SR64[@]}"
	echo
	echo "1 KiB requests:"
	echo
	table "${SR1K[@]}"
	echo
	echo "![small requests]($PNG_SR)"
	echo
	echo "## Targets"
	echo
	echo "Judged for **${LABEL[stp-default]}**, the configuration people get; the workers variants beside it for information. Each cell: PASS or MISS, then (stpgate's figure vs the bound it had to meet); n/a when a system the target needs did not run. Ratios are within this run."
	echo
	verdict
	echo
	if [ "${#RULE_CHECKED[@]}" -gt 0 ]; then
		echo "The last row: for each figure, the default is worse beyond the run's spread than a variant when its whole min–max range over runs lies on the worse side of the variant's (for throughput, tps and handshakes/s: the default's max below the variant's min; for times, CPU and memory: the default's min above the variant's max). (With one run, a range is that run's figure.) It is a MISS when that holds against both workers: 0 and workers: 2 for some figure. Figures checked (${#RULE_CHECKED[@]}): $(for m in "${RULE_CHECKED[@]}"; do figure "$m"; done | paste -sd ';' | sed 's/;/; /g')."
		echo
	fi
	echo "## What was measured"
	echo
	echo "- Every tunnel has two ends (two processes, or two process trees) on this machine: an app connects to the forward port of end A, A carries the bytes to end B, B connects to the service. iperf3 (\`-c 127.0.0.1 -p FWD -t $T -J\`; \`-P 4\`; \`-R\`) and a server \`iperf3 -s -1\` started per run; figures are iperf3's received bits per second."
	echo "- direct: iperf3 and the load tool straight to the services. socat: two relays in a row per forward, \`socat -b $SOCAT_BUF TCP-LISTEN:...,fork,reuseaddr,rcvbuf=$SOCAT_BUF,sndbuf=$SOCAT_BUF TCP:...\` (no crypto; a fork per connection). stunnel: client and server, TLS 1.3 only with the one suite, ECDSA P-256 self-signed certificate verified by the client, stunnel's default session resumption. spiped: \`spiped -e\` / \`-d\` with a 32-byte key file, \`-n 0\`. ssh: \`ssh -N -L\` (both forwards on one SSH connection) to a throwaway sshd on a 127.0.0.1 port in its own mount namespace, ed25519 key authentication. stpgate: two gateways, A dials B, one session carries every stream; log level warn; \`workers: 0\`, \`1\` or \`2\` in both configs, and for stpgate default no \`workers:\` line at all, so the gateway's default applies ($(default_workers)). stpgate signed records: the same with \`sign_records: true\` for each other in both configs, so every record is signed (Ed25519) by its sender and verified by its receiver, in the worker pool."
	echo "- stpgate padding + cover: the stp-w0 pair with \`plugins: {padding: {cover_rate: 10}}\` in both configs: every record padded inside the AEAD to 512 B, 1, 4, 16, 32 KiB or the 66,432-byte maximum, and cover records at 10/s on average each way (proto/STP.md, \"Padding and cover records\"); its ratio to stpgate workers: 0 is the throughput cost of padding."
	echo "- CPU s/GB: utime+stime (and reaped children's) of both ends' process trees during the iperf3 run, over the bytes iperf3 received (10^9 bytes per GB)."
	echo "- RTT: \`bench_net rr\`, 64-byte request, 64-byte echo, one open connection, TCP_NODELAY on the app's socket, 100 untimed round trips first, then $RR_N timed one after another. Connect: \`bench_net connect\`, connect() on the forward port to the first echoed byte of a new connection, one after another, 10 untimed first; stpgate opens a stream on its live session, ssh a channel on its live connection, stunnel and spiped run a handshake per connection, socat forks."
	echo "- handshakes/s: stpgate's is bench_proto's handshake case: full hybrid handshakes (X25519 + ML-KEM-768, Ed25519 both ways) between two in-memory endpoints, ONE CORE, CPU time (wall: ${HS_STP_WALL:-?}/s), no network. stunnel and spiped: their sequential connect rate (1 / mean connect time, each connection one handshake, wall). ssh: sequential new SSH connections, each a full key exchange (OpenSSH's default sntrup761x25519-sha512, hybrid post-quantum too), key authentication and a session channel to sshd's in-process sftp subsystem, which ends at once (\`ssh -s ... sftp </dev/null\`, $SSH_HS_N, wall, including process start on both sides: sshd forks and re-executes itself per connection). These are not the same measurement: read them as orders of magnitude."
	echo "- memory: \`bench_net idle\` holds $IDLE_N connections, each confirmed by an echoed byte; VmRSS summed over both ends' process trees (shared pages counted once per process: forking tunnels look bigger; PSS below counts them once)."
	echo "- Small requests: \`bench_net rr -c C --depth D --size B --duration $SR_T --warmup $SR_WARM\` on the system's echo forward, for B = 64 and 1024 bytes and (C, D) = (1, 1), (50, 1) and (50, 16). The C connections are opened one after another, then driven together by one thread with epoll (non-blocking sockets, TCP_NODELAY). A transaction is one request of B bytes written and its B echoed bytes read back; each connection keeps D requests in flight, writing the next as soon as fewer are out (with D = 16 the requests are pipelined: up to 16 × B bytes on the way per connection). Every request is filled from (connection, sequence number) and its echo compared byte for byte; a mismatch or a closed connection fails the run. Untimed first: $SR_WARM transactions in total and at least one on every connection (so a tunnel's per-connection setup, such as a TLS handshake, is not timed). Then $SR_T s timed: tps is the transactions completed in that window over its length; p50 and p99 are of their round trips, from the moment a request is queued for writing to its last echoed byte. Requests still in flight at the end are drained and checked, not counted. The echo server is the same \`bench_net echo\` process for every system (one thread, epoll), beside the services' end of the tunnel."
	echo "- The load tool (bench_net), the echo server, iperf3 and both tunnel ends all share the $NCPU CPUs: at 50 connections the load tool and the echo server take CPU time the tunnel would otherwise have, for every system alike (direct included)."
	echo
	echo "## Spread (min–max over runs)"
	echo
	spread_table "${METRICS[@]}"
	echo
	echo "Small requests, 64 B:"
	echo
	spread_table "${SR64[@]}"
	echo
	echo "Small requests, 1 KiB:"
	echo
	spread_table "${SR1K[@]}"
	echo
	echo "## More figures"
	echo
	detail_table
	echo
	reactor_table
	if [ "${#FAILS[@]}" -gt 0 ]; then
		echo
		echo "## Failures"
		echo
		printf -- '- %s\n' "${FAILS[@]}"
	fi
}

RESULT="$OUT/$STAMP.md"
report >"$tmp/report.md"
cp "$tmp/report.md" "$RESULT"
cat "$tmp/report.md"
log "wrote $RESULT and $PNG_THR, $PNG_LAT, $PNG_CON, $PNG_SR in $OUT"

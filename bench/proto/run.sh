#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# run.sh: STP protocol core benchmark (record layer, endpoint, handshake).
#
# Builds bench_proto (Release, in <repo>/build-bench) when needed, runs it
# once (it interleaves its own cases round by round: each record case right
# beside its raw OpenSSL baseline), and prints one table plus a verdict on
# the targets:
#   - record seal+open through record_job_run at the largest record
#     (STP_MAX_DATA payload) at least 0.90 of raw EVP ChaCha20-Poly1305
#     updates over the same bytes;
#   - at least 1,500 full handshakes per second on one core;
#   - at least 2,500 responder halves of a handshake per second on one core;
#   - signed records (sign_records on both sides) through the crypto worker
#     pool: at least 1.8x the records/s of workers 0 with 2 workers, at the
#     16 KiB payload (it needs the second core free: the verdict says when
#     it was not).
# Then bench_handoff: what handing a job to the pool costs beside the
# crypto it moves (the measurements behind workers: auto, gateway/reactor/workers.c).
# Local CPU only; nothing touches the network.
#
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/proto/run.sh [--quick] [--save] [--help]

  --quick  0.2 s per case and round (3 rounds) instead of 1 s
  --save   also write the table to bench/results/proto-<date>-<host>.md
  --help   this text

Environment: BENCH_PROTO_BIN=path runs that bench_proto (and the
bench_handoff beside it) and skips the build;
BENCH_BUILD=dir builds in dir instead of <repo>/build-bench.

Every case runs 3 rounds, interleaved; figures are medians over rounds and
the ratio ours/raw is the median of the per-round ratios.  Targets are judged
on process CPU time (what one core does when it runs), wall-clock figures
are shown beside them.  MB is 10^6 bytes.  Progress goes to stderr, the
table to stdout.  Exit status is 0 when the benchmark ran, whatever the
verdict; 1 when something failed to build or run.
EOF
}

QUICK=0
SAVE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--save) SAVE=1 ;;
	--help|-h) usage; exit 0 ;;
	*) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD="${BENCH_BUILD:-$REPO/build-bench}"
BIN="${BENCH_PROTO_BIN:-$BUILD/bench/bench_proto}"
HANDOFF="$(dirname "$BIN")/bench_handoff"
ROUNDS=3
if [ "$QUICK" = 1 ]; then TIME=0.2; else TIME=1.0; fi

log() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

# --- build ---
if [ -n "${BENCH_PROTO_BIN:-}" ]; then
	log "using $BIN, not building"
else
	command -v cmake >/dev/null || die "cmake not found"
	if [ ! -f "$BUILD/CMakeCache.txt" ] ||
	    ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD/CMakeCache.txt" ||
	    ! grep -q '^STP_BENCH:BOOL=ON$' "$BUILD/CMakeCache.txt"; then
		log "configuring $BUILD (Release)"
		cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
		    -DSTP_WERROR=ON -DSTP_BENCH=ON >&2 || die "cmake configure failed"
	fi
	log "building bench_proto, bench_handoff"
	cmake --build "$BUILD" --target bench_proto bench_handoff -j2 >&2 ||
	    die "build of bench_proto or bench_handoff failed"
fi
[ -x "$BIN" ] || die "$BIN not built"
[ -x "$HANDOFF" ] || die "$HANDOFF not built"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
log "load average before: $LOAD0 ($(nproc 2>/dev/null || echo ?) CPUs)"
log "bench_proto --time $TIME --rounds $ROUNDS"
"$BIN" --csv --time "$TIME" --rounds "$ROUNDS" >"$tmp/csv" ||
    die "bench_proto failed"
if [ "$QUICK" = 1 ]; then HO="--count 2000 --rounds 3"; else HO="--count 20000 --rounds 7"; fi
log "bench_handoff $HO"
# shellcheck disable=SC2086 # $HO is a list of arguments
"$HANDOFF" $HO >"$tmp/handoff" || die "bench_handoff failed"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
log "load average after: $LOAD1"

# --- the table and the verdict, from the CSV ---
tables() {
	awk -F, '
	function med(a, n,    i, j, t, b) {
		for (i = 1; i <= n; i++) b[i] = a[i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && b[j - 1] > b[j]; j--) {
				t = b[j]; b[j] = b[j - 1]; b[j - 1] = t
			}
		return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
	}
	function us(ns) { return sprintf("%.2f us", ns / 1000) }
	# median over rounds of a per-round quantity of case c
	function cmed(c, what,    k, v) {
		for (k = 1; k <= nr[c]; k++) {
			if (what == "ops") v[k] = ops[c, k]
			else if (what == "cops") v[k] = cops[c, k]
			else v[k] = pct[c, k]
		}
		return med(v, nr[c])
	}
	# median over rounds of ours/raw, wall or cpu
	function ratio(o, r, cpu,    k, n, v) {
		n = nr[o] < nr[r] ? nr[o] : nr[r]
		if (n == 0) return -1
		for (k = 1; k <= n; k++)
			v[k] = cpu ? cops[o, k] / cops[r, k] : ops[o, k] / ops[r, k]
		return med(v, n)
	}
	$1 == "case" { next }
	$2 == "median" {
		if ($1 ~ /^handshake\.responder\.step\./) next
		if ($1 ~ /^handshake\.step\./) {
			s = substr($1, 16); steps[++nsteps] = s; step_ns[s] = $9
		} else { mbytes[$1] = $3; ns[$1] = $9; cns[$1] = $10 }
		next
	}
	{
		c = $1; k = $2
		if (!(c in nr)) { order[++ncase] = c; nr[c] = 0 }
		if (k > nr[c]) nr[c] = k
		ops[c, k] = $7; cops[c, k] = $4 / $6; pct[c, k] = 100 * $6 / $5
		bytes[c] = $3
	}
	END {
		split("1024 16384 65536", sz, " ")
		minpct = 100
		for (i = 1; i <= ncase; i++) {
			p = cmed(order[i], "pct"); if (p < minpct) minpct = p
		}

		print "## Record layer, one thread: record_job_run SEAL then OPEN vs raw EVP"
		print ""
		print "| payload | AEAD bytes/op | ours MB/s | raw MB/s | ratio (cpu) | ratio (wall) | ours cpu/op | raw cpu/op | ours wall/op | cpu% ours/raw |"
		print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (i = 1; i <= 3; i++) {
			o = "record.seal+open/" sz[i]; r = "raw.evp/" sz[i]
			if (!(o in nr) || !(r in nr)) continue
			rc[sz[i]] = ratio(o, r, 1); rw[sz[i]] = ratio(o, r, 0)
			printf "| %d | %d | %.1f | %.1f | %.3f | %.3f | %s | %s | %s | %.0f/%.0f |\n",
			    sz[i], bytes[o],
			    cmed(o, "cops") * bytes[o] / 1e6,
			    cmed(r, "cops") * bytes[r] / 1e6,
			    rc[sz[i]], rw[sz[i]], us(cns[o]), us(cns[r]), us(ns[o]),
			    cmed(o, "pct"), cmed(r, "pct")
		}
		print ""
		print "## Endpoint, one direction (two endpoints in memory, inline crypto)"
		print ""
		print "| case | payload | MB/s (cpu) | MB/s (wall) | cpu per record | wall per record | cpu% |"
		print "|---|---:|---:|---:|---:|---:|---:|"
		for (j = 1; j <= 2; j++) {
			base = j == 1 ? "endpoint.data/" : "endpoint.data.signed/"
			for (i = 1; i <= 3; i++) {
				c = base sz[i]
				if (!(c in nr)) continue
				what = j == 1 ? "send_data -> output -> input -> poll" : "same, sender signs records"
				printf "| %s | %d | %.1f | %.1f | %s | %s | %.0f |\n",
				    what, sz[i],
				    cmed(c, "cops") * sz[i] / 1e6,
				    cmed(c, "ops") * sz[i] / 1e6,
				    us(cns[c]), us(ns[c]), cmed(c, "pct")
			}
		}
		print ""
		if (("endpoint.signed.w0/" sz[1]) in nr) {
			print "## Signed records through the crypto worker pool (sign_records on both sides)"
			print ""
			print "| payload | workers | records/s | MB/s | speed-up over workers: 0 | cpu per record | cpu% |"
			print "|---:|---:|---:|---:|---:|---:|---:|"
			for (i = 1; i <= 3; i++) {
				b = "endpoint.signed.w0/" sz[i]
				for (t = 0; t <= 2; t++) {
					c = "endpoint.signed.w" t "/" sz[i]
					if (!(c in nr) || !(b in nr)) continue
					printf "| %d | %d | %.0f | %.1f | %.2fx | %s | %.0f |\n",
					    sz[i], t, cmed(c, "ops"), cmed(c, "ops") * sz[i] / 1e6,
					    ratio(c, b, 0), us(cns[c]), cmed(c, "pct")
				}
			}
			print ""
		}
		hs_ok = ("handshake" in nr)
		if (hs_ok) {
			hc = cmed("handshake", "cops"); hw = cmed("handshake", "ops")
			print "## Full handshakes, one core (hs objects in memory, identities made once)"
			print ""
			print "| handshakes/s (cpu) | handshakes/s (wall) | cpu per handshake | wall per handshake | cpu% |"
			print "|---:|---:|---:|---:|---:|"
			printf "| %.0f | %.0f | %s | %s | %.0f |\n", hc, hw,
			    us(cns["handshake"]), us(ns["handshake"]),
			    cmed("handshake", "pct")
			print ""
			if ("handshake.responder" in nr) {
				rhc = cmed("handshake.responder", "cops")
				print "| responder halves/s (cpu) | responder halves/s (wall) | cpu per half | wall per half |"
				print "|---:|---:|---:|---:|"
				printf "| %.0f | %.0f | %s | %s |\n", rhc,
				    cmed("handshake.responder", "ops"),
				    us(cns["handshake.responder"]), us(ns["handshake.responder"])
				print ""
			}
			print "| step (hs_work call) | wall per handshake | share |"
			print "|---|---:|---:|"
			split("i_hello:I hello: X25519 + ML-KEM keygen, mac1|r_hello:R hello: X25519 x2, encaps, keys, sign, seal AUTH_R|i_reply:I reply: X25519, decaps, keys|i_auth:I auth: open, verify R, Finished, sign, seal AUTH_I|r_auth:R auth: open, verify I, Finished|other:other (hs_new, hs_input, results, free; wall minus the steps)", lab, "|")
			for (i = 1; i <= nsteps; i++) {
				s = steps[i]; name = s
				for (k in lab) {
					split(lab[k], kv, ":")
					if (kv[1] == s) name = substr(lab[k], length(s) + 2)
				}
				printf "| %s | %s | %.1f%% |\n", name, us(step_ns[s]),
				    100 * step_ns[s] / ns["handshake"]
			}
			print ""
		}

		hello_ok = ("hello.mac1_fail" in nr) && ("hello.replayed" in nr)
		if (hello_ok) {
			print "## What a listener spends on a HELLO it will not answer (proto/STP.md, \"Freshness\")"
			print ""
			print "| first frame | cpu per connection | wall per connection |"
			print "|---|---:|---:|"
			printf "| fails mac1 (a gate, fed the frame) | %s | %s |\n", us(cns["hello.mac1_fail"]), us(ns["hello.mac1_fail"])
			printf "| passes mac1, replayed (+ the freshness step) | %s | %s |\n", us(cns["hello.replayed"]), us(ns["hello.replayed"])
			if ("hello.stale" in nr)
				printf "| passes mac1, 10 minutes stale | %s | %s |\n", us(cns["hello.stale"]), us(ns["hello.stale"])
			print ""
		}

		print "## Verdict"
		print ""
		ok = 1
		if (65536 in rc) {
			v = rc[65536] >= 0.90 ? "PASS" : "MISS"; if (v == "MISS") ok = 0
			printf "- %s record seal+open / raw EVP at the maximum record (65536 B payload) = %.3f on CPU time (wall %.3f) (target >= 0.90)\n",
			    v, rc[65536], rw[65536]
		} else { ok = 0; print "- MISS record ratio: not measured" }
		if (hs_ok) {
			v = hc >= 1500 ? "PASS" : "MISS"; if (v == "MISS") ok = 0
			printf "- %s full handshakes per second on one core = %.0f on CPU time (wall %.0f) (target >= 1,500)\n",
			    v, hc, hw
		} else { ok = 0; print "- MISS handshakes: not measured" }
		if ("handshake.responder" in nr) {
			v = rhc >= 2500 ? "PASS" : "MISS"; if (v == "MISS") ok = 0
			printf "- %s responder halves of a handshake per second on one core = %.0f on CPU time (target >= 2,500)\n", v, rhc
		} else { ok = 0; print "- MISS responder halves: not measured" }
		if (hello_ok) {
			hr = cns["hello.replayed"] / cns["hello.mac1_fail"]
			v = hr <= 1.5 ? "PASS" : "MISS"; if (v == "MISS") ok = 0
			printf "- %s a replayed HELLO costs %.2fx the CPU of one that fails mac1 (target <= 1.5x; before STP v1.1 it cost a whole responder half)\n", v, hr
		}
		b = "endpoint.signed.w0/16384"; c = "endpoint.signed.w2/16384"
		if ((b in nr) && (c in nr)) {
			su = ratio(c, b, 0)
			v = su >= 1.8 ? "PASS" : "MISS"; if (v == "MISS") ok = 0
			printf "- %s signed records through the pool, 2 workers vs 0, 16 KiB = %.2fx records/s (target >= 1.8x; cpu%% %.0f of 200 possible)\n", v, su, cmed(c, "pct")
		}
		print ok ? "- all targets met" : "- target(s) missed"
		if (minpct < 90)
			printf "- WARNING: other work shared the CPU (lowest median cpu%% %.0f): wall figures are pessimistic; CPU-time figures are less disturbed but still slowed by contention for caches and cores\n", minpct
	}' "$tmp/csv"
}

{
	echo "# stpgate protocol benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), host: $(uname -n), $(nproc 2>/dev/null || echo '?') CPUs"
	echo "- cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?')"
	echo "- $(openssl version 2>/dev/null || echo 'openssl: ?') (command line; bench_proto links the libcrypto found at build time)"
	echo "- mode: $([ "$QUICK" = 1 ] && echo quick || echo full), $ROUNDS rounds interleaved, --time $TIME s per case and round; medians over rounds"
	echo "- load average before: $LOAD0, after: $LOAD1"
	echo "- record: a RECORD frame (header + StreamData record from env_encode_data_record) sealed then opened in place by record_job_run; raw: EVP_EncryptUpdate of ChaCha20-Poly1305 on a context initialized once, in place, two calls of the record plaintext length per op (what \`openssl speed -evp\` measures: no per-record init, AAD or tag); MB/s count the bytes through the AEAD on both sides (2 x record plaintext per op)"
	echo "- endpoint MB/s count payload bytes delivered as EP_RECORD events"
	echo "- signed records through the pool: two endpoints as two gateways with \`sign_records: true\` for each other (every record signed by its sender and verified by its receiver, Ed25519), one direction, A's records sealed and signed in SEAL jobs and opened and verified at B in OPEN jobs; workers 0 runs them inline on the one thread, workers 1 and 2 in a pool of that many threads (one pool serves both ends, while a loop thread moves the bytes and polls); records/s, MB/s and the speed-up (median of per-round ratios to workers 0) are wall-clock; cpu% above 100 means the workers ran in parallel"
	echo "- cpu = process CPU time; cpu% = CPU time / wall time"
	echo
	tables
	echo
	echo "## Handing jobs to the crypto worker pool (bench_handoff $HO)"
	echo
	echo "One endpoint's SEAL jobs, run inline on this thread or handed to a one-thread pool on a libuv loop as a gateway hands them.  rtt: from workers_submit to the done callback, one job at a time from a loop waiting in epoll and a sleeping worker (µs percentiles).  cost/N: the loop thread's own CPU per record of N bytes in batches of 64, inline vs handed out, and what the pool saves the loop (negative: the hand-off costs the loop more than the crypto it moves).  The dispatch rule of \`workers: auto\` (gateway/reactor/workers.c) takes its constants from these figures."
	echo
	echo '```'
	cat "$tmp/handoff"
	echo '```'
} >"$tmp/report"

cat "$tmp/report"

if [ "$SAVE" = 1 ]; then
	mkdir -p "$REPO/bench/results"
	out="$REPO/bench/results/proto-$(date '+%Y%m%d')-$(uname -n).md"
	cp "$tmp/report" "$out"
	log "saved $out"
fi

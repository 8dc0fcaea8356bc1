#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_pow_flood.py: a gateway with pow on under a flood of HELLOs without
solutions (bench/tools/bench_pow_flood.c), on 127.0.0.1.

  1. the flood alone: N first messages over many connections from
     127.0.0.2; bob answers each with a CHALLENGE; his CPU time (utime +
     stime from /proc/PID/stat) per message is printed, not asserted;
  2. the flood again, and meanwhile alice (a real gateway) dials bob: her
     session comes up and data moves while the flood still runs;
  3. over the wire: a correct solution is admitted; the same answer again
     (replayed), a wrong solution and a solution sent from another address
     are refused with a REJECT; one sent after the challenge expired gets a
     fresh CHALLENGE; bob's pow counters show each.

No timing is asserted; the figures are for bench/plugins/pow.sh and the
report.  Python 3 standard library only (tests/integration/gwlib.py).
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from gwlib import (workers_arg, HOST, Harness, config_text, echo_handler,  # noqa: E402
    echo_roundtrip, fast_timeouts, listening_rx, metrics_text, peer_line,
    plugin_events, say, spawn)

TIMEOUTS = fast_timeouts(handshake="10s", dead_after="10s", drain=None)
TTL_MS = 2000


def cpu_s(pid):
	"""utime + stime of pid in seconds."""
	with open("/proc/%d/stat" % pid) as f:
		fields = f.read().rsplit(")", 1)[1].split()
	tck = os.sysconf("SC_CLK_TCK")
	return (int(fields[11]) + int(fields[12])) / tck, int(fields[11]) / tck, \
	    int(fields[12]) / tck


def pow_events(port):
	"""{event: count} of pow's stpgate_plugin_events_total ({} if none)."""
	return plugin_events(metrics_text(port), "pow")


def flood_args(tool, port, key, n, conns, per, max_time):
	return [tool, "flood", "-p", str(port), "-k", key, "-n", str(n), "-c",
	    str(conns), "--per", str(per), "--bind", "127.0.0.2", "--max-time",
	    str(max_time)]


def parse_flood(text):
	m = re.search(r"flood: (.*)", text)
	return dict(kv.split("=") for kv in m.group(1).split()) if m else {}


def run(h, args):
	r = h.r
	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	bob_port, fwd, mport = h.port(), h.port(), h.port()
	echo = h.server(echo_handler, "echo")
	# Sanitizer builds hash 10x slower: keep honest solves short there.
	pow_cfg = "    challenge_ttl: %dms\n" % TTL_MS
	if h.sanitizer:
		pow_cfg += "    difficulty: 14\n"
	b = h.gateway("bob", config_text(bob_id, h.workers, listen=bob_port,
	    peers={"alice": {"key": alice_key}},
	    services={"echo": (echo.port, ["alice"])}, timeouts=TIMEOUTS) +
	    'metrics: "%s:%d"\n' % (HOST, mport) +
	    "limits:\n  handshakes_per_source: 1000000\n  max_handshakes: 256\n" +
	    # Room for every HELLO of the flood: the pow path alone, no cookies.
	    "  replay_slots: 262144\n" +
	    "plugins:\n  pow:\n" + pow_cfg)
	a = h.gateway("alice", config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bob_port}},
	    forwards=[(fwd, "bob", "echo")], timeouts=TIMEOUTS))
	b.start()
	if not r.ok(b.wait_log(listening_rx(bob_port), 15) is not None, "bob listens"):
		return

	# 1. The flood alone.
	n = args.n
	c0 = cpu_s(b.pid)
	t0 = time.monotonic()
	p = subprocess.run(flood_args(args.tool, bob_port, bob_key, n, args.conns,
	    args.per, 120), capture_output=True, text=True, timeout=180)
	wall = time.monotonic() - t0
	c1 = cpu_s(b.pid)
	say(p.stdout.strip())
	if p.stderr.strip():
		say("flood stderr: " + p.stderr.strip()[-300:])
	f = parse_flood(p.stdout)
	chal = int(f.get("challenged", 0))
	r.ok(p.returncode == 0 and chal == n,
	    "flood: all %d HELLOs without a solution got a CHALLENGE" % n,
	    "exit %d, %r" % (p.returncode, f))
	ev = pow_events(mport)
	r.ok(ev.get("challenged", 0) >= n and ev.get("admitted", 0) == 0,
	    "bob counted the challenges and admitted nobody", repr(ev))
	cpu = c1[0] - c0[0]
	if chal:
		say("FIGURE: bob's CPU per rejected first message over TCP: %.1f us "
		    "(%.2f s CPU: user %.2f, sys %.2f; %d messages over %s connections "
		    "of %d; %.1f s wall; workers %s%s)" % (cpu / chal * 1e6, cpu,
		    c1[1] - c0[1], c1[2] - c0[2], chal, f.get("connections"),
		    args.per, wall, h.workers,
		    ", %s build" % h.sanitizer if h.sanitizer else ""))

	# 2. The flood again; alice dials meanwhile.
	fl = spawn(flood_args(args.tool, bob_port, bob_key, 50 * n, args.conns,
	    args.per, 60), h.path("flood2.log"))
	time.sleep(0.5)
	r.ok(fl.poll() is None, "the second flood is running")
	mark = b.mark()
	a.start()
	up = a.wait_log(peer_line("bob", "session up"), 40)
	during = fl.poll() is None
	r.ok(up is not None, "alice comes up with bob through pow")
	err = echo_roundtrip(fwd, os.urandom(64 * 1024), timeout=30) if up else "no session"
	during = during and fl.poll() is None
	r.ok(err is None, "64 KiB echo through alice's forward", err or "")
	r.ok(during, "... while the flood was still running")
	if fl.poll() is None:
		os.kill(fl.pid, signal.SIGTERM)
	fl.wait(timeout=10)
	ev = pow_events(mport)
	r.ok(ev.get("admitted", 0) >= 1, "bob admitted alice", repr(ev))
	r.ok(b.grep(peer_line("alice", "session up"), mark), "bob logs alice's session up")

	# 3. Refusals over the wire.
	before = pow_events(mport)
	p = subprocess.run([args.tool, "wire", "-p", str(bob_port), "-k", bob_key,
	    "--ttl-ms", str(TTL_MS), "--bind2", "127.0.0.3"],
	    capture_output=True, text=True, timeout=120)
	for line in p.stdout.strip().splitlines():
		say(line)
	if p.stderr.strip():
		say("wire stderr: " + p.stderr.strip()[-300:])
	r.ok(p.returncode == 0, "over the wire: correct admitted; replayed, wrong, "
	    "other-address refused; stale re-challenged", "exit %d" % p.returncode)
	after = pow_events(mport)
	for ev_name, want in (("admitted", 2), ("replayed", 1), ("bad_solution", 1),
	    ("wrong_source", 1), ("stale", 1)):
		got = after.get(ev_name, 0) - before.get(ev_name, 0)
		r.ok(got >= want, "bob counted %s (+%d)" % (ev_name, got),
		    "before %r after %r" % (before, after))
	r.ok(b.running(), "bob is still running")


def main():
	ap = argparse.ArgumentParser(description="pow under a flood")
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--tool", required=True, help="bench_pow_flood")
	ap.add_argument("--workers", type=workers_arg, default=2)
	ap.add_argument("-n", type=int, default=20000, help="HELLOs in the flood")
	ap.add_argument("--conns", type=int, default=32, help="connections at once")
	ap.add_argument("--per", type=int, default=50, help="HELLOs per connection")
	ap.add_argument("--keep", action="store_true")
	ap.add_argument("--timeout", type=int, default=560)
	args = ap.parse_args()
	h = Harness(args.stpgate, args.workers, args.keep, args.timeout)
	try:
		run(h, args)
	except Exception as e:
		import traceback
		traceback.print_exc()
		h.r.fail("the test raised %r" % e)
	return h.finish()


if __name__ == "__main__":
	sys.exit(main())

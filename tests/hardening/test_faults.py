#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_faults.py: two gateways in two network namespaces of our own, joined
by a faulty link, and a bulk transfer across them in each of these phases:

  loss     2% packet loss both ways: 64 MiB arrive intact (SHA-256)
  delay    50 ms +- 10 ms each way (RTT about 100 ms; the jitter reorders
           most packets by a few ms): 64 MiB arrive intact
  reorder  the same, and 1% of the packets sent at once, 50 ms ahead of the
           rest (netem's `reorder`): DELAY_MIB (default 8) MiB arrive
           intact.  Smaller than 64 MiB on purpose: TCP takes each such
           packet for a loss, and moves about 1 MB/s here (plain TCP, no
           tunnel, about 2 MB/s), so 64 MiB would take over a minute of the
           test's three.
  cut      the link is cut (100% loss) for 6 s in the middle of a 64 MiB
           transfer; the cut is shorter than timeouts.dead_after (30 s), so
           the session survives and the transfer completes intact
  cutdead  the same cut with keepalive 1 s, dead_after 3 s and resumption
           off (resume_window 0; test_resume.py has it on): the app sees its
           connection end (every byte before the end right), both gateways
           log the session down; after the link is back the session comes
           up again by itself and a new transfer arrives intact

The link is veth with `tc netem` when the kernel has netem, otherwise TUN
devices joined by hlib.py's link emulator (the same knobs: loss, delay,
jitter, reordering, queue limit, cut).  The gateways, the app and the
service each run inside their namespace (`ip netns exec`, setns).  The
namespaces are deleted at exit.  Without the privilege to create them the
test says why and exits 77 (skipped).

usage: test_faults.py --stpgate PATH [--workers N] [--seed S] [--link auto|netem|tun]
                      [--delay-mib N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0, 1 or 77.
"""

import argparse
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import hlib  # noqa: E402
from gwlib import (workers_arg, HOST, MiB, Harness, Pattern, config_text,  # noqa: E402
    peer_line, say)

BASE_TIMEOUTS = {
	"handshake": "5s",
	"connect": "3s",
	"keepalive": "2s",
	"dead_after": "30s",
	"drain": "2s",
	"reconnect_min": "200ms",
	"reconnect_max": "1s",
}
# Resumption off: this case is the session's end without it (with it, the
# streams are held and go on: test_resume.py).
SHORT_TIMEOUTS = dict(BASE_TIMEOUTS, keepalive="1s", dead_after="3s",
    connect="2s", resume_window="0s")
CUT_SECONDS = 6
UP_WAIT = 20



def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--workers", type=workers_arg, default=2)
	ap.add_argument("--seed", type=int, default=None)
	ap.add_argument("--link", choices=("auto", "netem", "tun"), default="auto")
	ap.add_argument("--size-mib", type=int, default=64)
	ap.add_argument("--delay-mib", type=int, default=8)
	ap.add_argument("--jitter-ms", type=int, default=10)
	ap.add_argument("--reorder", type=float, default=0.01)
	ap.add_argument("--keep", action="store_true")
	args = ap.parse_args()
	seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
	say("seed %d (rerun with --seed %d)" % (seed, seed))

	hlib.need_root()
	hlib.netpair_run(args.link, seed, lambda net: run(args, net, seed))


def run(args, net, seed):
	h = Harness(args.stpgate, workers=args.workers, keep=args.keep, timeout=290)
	r = h.r
	# Our own watchdog, before gwlib's (which exits without atexit): delete
	# the namespaces, then let gwlib's kill everything.
	def watchdog():
		time.sleep(270)
		say("faults: no end after 270 s; deleting the namespaces")
		net.destroy()
	threading.Thread(target=watchdog, daemon=True).start()

	size = args.size_mib * MiB
	pat = Pattern()
	sha_cache = {}

	def want_sha(n):
		if n not in sha_cache:
			sha_cache[n] = pat.sha256(n)
		return sha_cache[n]

	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	bport, fport = h.port(), h.port()
	with hlib.in_netns(net.b):
		svc = h.server(hlib.sized_source(pat), "bulk")

	def configs(timeouts):
		b = config_text(bob_id, h.workers, listen=bport,
		    peers={"alice": {"key": alice_key}},
		    services={"bulk": (svc.port, ["alice"])}, timeouts=timeouts)
		b = b.replace('listen: "%s:%d"' % (HOST, bport),
		    'listen: "%s:%d"' % (net.ADDR_B, bport))
		a = config_text(alice_id, h.workers,
		    peers={"bob": {"key": bob_key, "dial": bport}},
		    forwards=[(fport, "bob", "bulk")], timeouts=timeouts)
		a = a.replace('dial: "%s:%d"' % (HOST, bport), 'dial: "%s:%d"' % (net.ADDR_B, bport))
		return a, b

	ta, tb = configs(BASE_TIMEOUTS)
	ga = h.gateway("alice", ta)
	gb = h.gateway("bob", tb)
	ga.wrapper = ["ip", "netns", "exec", net.a]
	gb.wrapper = ["ip", "netns", "exec", net.b]

	def start_both():
		gb.start()
		ga.start()
		la = ga.wait_log(peer_line("bob", "session up"), UP_WAIT)
		lb = gb.wait_log(peer_line("alice", "session up"), UP_WAIT)
		return r.ok(la is not None and lb is not None,
		    "session up across the namespaces (alice %s -> bob %s:%d)" % (
		    net.ADDR_A, net.ADDR_B, bport))

	figures = []

	def transfer(n, what, limit_s):
		t = hlib.Transfer(net.a, fport, n, pat, limit_s).wait()
		ok = r.ok(t.intact(want_sha(n)), "%s: %d MiB arrived intact (SHA-256)" % (
		    what, n // MiB), t.describe())
		if t.dt:
			figures.append("%s: %d MiB in %.1f s (%.2f MB/s)" % (what, n // MiB,
			    t.dt, n / t.dt / 1e6))
			say(figures[-1])
		return ok

	def restart(timeouts):
		# Each phase gets a new session, so that its TCP connection starts on
		# the link as it now is (a congestion control such as BBR that
		# measured a 0.1 ms path keeps a tiny window for a while when the
		# same connection suddenly sees 100 ms).
		if ga.running():
			ga.stop()
		if gb.running():
			gb.stop()
		ta, tb = configs(timeouts)
		ga.write_config(ta)
		gb.write_config(tb)
		return start_both()

	# (a) loss
	net.set(loss=0.02)
	if not start_both():
		return h.finish()
	transfer(size, "2% loss", 120)
	say("link counters: %s" % net.stats())

	# (b) delay with jitter (which reorders: a packet often overtakes the
	# one sent before it), then with some packets sent at once, 50 ms ahead
	# of the rest, as netem's `reorder` does: far harder on TCP
	net.set(delay_ms=50, jitter_ms=args.jitter_ms)
	if not restart(BASE_TIMEOUTS):
		return h.finish()
	transfer(size, "50 ms +- %d ms delay" % args.jitter_ms, 120)
	# A later stream on the same session should be as fast; it is not while
	# the session never gives back the window growth of closed streams
	# (printed for comparison, not asserted).
	transfer(16 * MiB, "50 ms +- %d ms delay, a later stream of the same "
	    "session" % args.jitter_ms, 120)
	say("link counters: %s" % net.stats())
	net.set(delay_ms=50, jitter_ms=args.jitter_ms, reorder=args.reorder)
	if not restart(BASE_TIMEOUTS):
		return h.finish()
	transfer(args.delay_mib * MiB, "50 ms +- %d ms delay, %g%% sent ahead" % (
	    args.jitter_ms, args.reorder * 100), 120)
	say("link counters: %s" % net.stats())

	# (c) a cut shorter than dead_after: the session and the transfer survive
	net.set()
	if not restart(BASE_TIMEOUTS):
		return h.finish()
	mark_a, mark_b = ga.mark(), gb.mark()
	t = hlib.Transfer(net.a, fport, size, pat, 150)
	deadline = time.monotonic() + 30
	while t.got < 8 * MiB and t.how is None and time.monotonic() < deadline:
		time.sleep(0.02)
	if r.ok(t.got >= 8 * MiB and t.how is None, "cut: transfer under way (8 MiB in)",
	    t.describe() if t.how else "%d bytes" % t.got):
		at = t.got
		net.cut()
		time.sleep(CUT_SECONDS)
		moved = t.got - at
		net.restore()
		say("cut: %d bytes arrived during the cut (in flight before it)" % moved)
		t.wait()
		r.ok(t.intact(want_sha(size)), "cut of %d s (< dead_after 30 s): the "
		    "64 MiB transfer completes intact" % CUT_SECONDS, t.describe())
		figures.append("%d s cut in a %d MiB transfer: done in %.1f s" % (
		    CUT_SECONDS, size // MiB, t.dt or 0))
		say(figures[-1])
		r.ok(not ga.grep(r"session down", mark_a) and not gb.grep(r"session down", mark_b),
		    "cut < dead_after: neither gateway took the session down",
		    "; ".join(ga.grep(r"session down", mark_a) + gb.grep(r"session down", mark_b)))
	else:
		t.wait()

	# (d) a cut longer than dead_after: the app sees the end, the session
	# comes back after the link does
	say("restarting both gateways with keepalive 1s, dead_after 3s, "
	    "resume_window 0s")
	if not restart(SHORT_TIMEOUTS):
		return h.finish()
	t = hlib.Transfer(net.a, fport, size, pat, 60)
	deadline = time.monotonic() + 30
	while t.got < 8 * MiB and t.how is None and time.monotonic() < deadline:
		time.sleep(0.02)
	if r.ok(t.got >= 8 * MiB and t.how is None, "cutdead: transfer under way (8 MiB in)",
	    t.describe() if t.how else "%d bytes" % t.got):
		mark_a, mark_b = ga.mark(), gb.mark()
		t_cut = time.monotonic()
		net.cut()
		t.t.join(max(0.0, t_cut + CUT_SECONDS - 0.5 - time.monotonic()))
		ended = t.how in ("eof", "reset")
		r.ok(ended and t.got < size, "cut of %d s (> dead_after 3 s): the app's "
		    "connection ends during the cut" % CUT_SECONDS, t.describe())
		if ended:
			say("cutdead: the app's connection ended by %s %.1f s into the cut" % (
			    t.how, t.t0 + t.dt - t_cut))
		r.ok(t.check.bad is None, "cutdead: every byte the app got before the end "
		    "was right (%d bytes)" % t.got, "first bad byte %s" % t.check.bad)
		la = ga.wait_log(peer_line("bob", "session down"), 2, mark_a)
		lb = gb.wait_log(peer_line("alice", "session down"), 2, mark_b)
		r.ok(la is not None and lb is not None, "cutdead: both gateways log the "
		    "session down", "alice: %s; bob: %s" % (la, lb))
		if la:
			say("alice: " + la.strip())
		if lb:
			say("bob: " + lb.strip())
		left = t_cut + CUT_SECONDS - time.monotonic()
		if left > 0:
			time.sleep(left)
		mark_a, mark_b = ga.mark(), gb.mark()
		net.restore()
		t_back = time.monotonic()
		la = ga.wait_log(peer_line("bob", "session up"), UP_WAIT, mark_a)
		lb = gb.wait_log(peer_line("alice", "session up"), UP_WAIT, mark_b)
		if r.ok(la is not None and lb is not None, "cutdead: the session comes "
		    "back by itself after the link does"):
			figures.append("session back %.1f s after the link" % (
			    time.monotonic() - t_back))
			say(figures[-1])
			transfer(8 * MiB, "after the session came back", 60)
	else:
		t.wait()
	say("link counters: %s" % net.stats())
	r.ok(ga.running() and gb.running(), "both gateways still running")
	say("figures (link: %s): %s" % (net.kind, "; ".join(figures)))
	return h.finish()


if __name__ == "__main__":
	main()

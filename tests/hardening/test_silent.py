#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_silent.py: what bob's listener shows, from outside, to someone who does
not know bob's key (proto/STP.md, "Before mac1"), and what it costs bob.

  probes    one connection for each kind of first bytes a prober might send,
            all at once: nothing; 3 bytes of a header; a HELLO header that
            announces 1,300 bytes, then nothing; a whole HELLO of random
            bytes (fails mac1); a real HELLO made for another key (fails
            mac1); frames of other types (RECORD, AUTH); a HELLO header over
            the maximum length; one too short for mac1; a TLS ClientHello's
            first bytes; an SSH banner; an HTTP request; 64 KiB of random
            bytes.  Checks, the same for every kind: bob sends not one byte;
            the connection is still open at half of timeouts.handshake after
            it was made; bob then closes it with a FIN, not a reset, before
            the timeout plus 10 s (wide bounds: the order of events is the
            check, not their timing).  The same kinds followed by a
            half-close are all closed by bob at once (before half the
            timeout), again without a byte.  bob counts every kind it refused
            (all but the first three, which still wait for a HELLO) as a
            mac1 failure (handshakes_total{reason="mac1"}).
  halfopen  N connections (default 10,000, fewer when RLIMIT_NOFILE does not
            allow it) that each sent 3 bytes of a HELLO header and wait:
            bob's resident memory grows by at most 4 KiB per connection
            (VmRSS before and after, once bob counts them all in
            stpgate_handshakes_in_progress), and a real session still comes
            up beside them.

usage: test_silent.py {probes|halfopen} --stpgate PATH [--workers N] [--conns N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import argparse
import os
import select
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import hlib  # noqa: E402
from gwlib import (workers_arg, HOST, Harness, config_text, echo_handler,  # noqa: E402
    echo_roundtrip, listening_rx, peer_line, rss_kib, say, wait_for)

HS_TIMEOUT_S = 4
UP_WAIT = 20
MAX_BYTES_PER_CONN = 4096


def frame(t, body):
	return struct.pack(">B", t) + struct.pack(">I", len(body))[1:] + body


def probes_kinds():
	"""(name, bytes, refused): refused kinds are counted as mac1 failures;
	the others are still waiting for the rest of a HELLO at the deadline
	(a timeout)."""
	rnd = os.urandom
	return [
		("nothing", b"", False),
		("3 header bytes", b"\x01\x00\x05", False),
		("HELLO header, then nothing", b"\x01\x00\x05\x14", False),
		("HELLO of random bytes", frame(1, rnd(1300)), True),
		("RECORD frame", frame(6, rnd(200)), True),
		("AUTH frame", frame(5, rnd(100)), True),
		("HELLO over the maximum", b"\x01\x00\x08\x01" + rnd(100), True),
		("HELLO too short for mac1", frame(1, rnd(16)), True),
		("TLS ClientHello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rnd(64), True),
		("SSH banner", b"SSH-2.0-OpenSSH_9.2\r\n", True),
		("HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),
		("64 KiB random", rnd(65536), True),
	]


def open_probe(port, data, half_close):
	s = socket.create_connection((HOST, port), timeout=10)
	s.setblocking(False)
	off = 0
	end = time.monotonic() + 10
	while off < len(data) and time.monotonic() < end:
		try:
			off += s.send(data[off:])
		except BlockingIOError:
			select.select([], [s], [], 0.1)
	if half_close:
		s.shutdown(socket.SHUT_WR)
	return s


def state(s):
	"""'open', 'eof', 'reset' or 'data' (bob sent bytes) without blocking."""
	try:
		d = s.recv(4096)
	except BlockingIOError:
		return "open"
	except ConnectionResetError:
		return "reset"
	return "eof" if d == b"" else "data"


def mac1_failures(port):
	return hlib.metric(hlib.scrape(port), "stpgate_handshakes_total",
	    result="fail", reason="mac1") or 0


def setup(h, limits=None, timeouts=None):
	echo = h.server(echo_handler, "echo")
	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	bport, eport, mport = h.port(), h.port(), h.port()
	t = {"handshake": "%ds" % HS_TIMEOUT_S}
	t.update(timeouts or {})
	gb = h.gateway("bob", hlib.with_sections(config_text(bob_id, h.workers,
	    listen=bport, peers={"alice": {"key": alice_key}},
	    services={"echo": (echo.port, ["alice"])}, timeouts=t),
	    limits=limits, metrics=mport))
	ga = h.gateway("alice", config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bport}},
	    forwards=[(eport, "bob", "echo")]))
	return gb, ga, bport, eport, mport


def case_probes(h):
	r = h.r
	gb, ga, bport, eport, mport = setup(h)
	gb.start()
	if not r.ok(gb.wait_log(listening_rx(bport), 20) is not None, "bob listens"):
		return
	kinds = probes_kinds()
	before = mac1_failures(mport)

	# Held open to the deadline, whatever came.
	t0 = time.monotonic()
	socks = [(name, open_probe(bport, data, False), hdr) for name, data, hdr in kinds]
	time.sleep(max(0.0, HS_TIMEOUT_S / 2 - (time.monotonic() - t0)))
	for name, s, _ in socks:
		r.ok(state(s) == "open", "%s: still open, nothing sent, at half the "
		    "handshake timeout" % name)
	deadline = t0 + HS_TIMEOUT_S + 10
	got = {}
	while len(got) < len(socks) and time.monotonic() < deadline:
		for name, s, _ in socks:
			if name in got:
				continue
			st = state(s)
			if st != "open":
				got[name] = st
		time.sleep(0.05)
	for name, s, _ in socks:
		r.ok(got.get(name) == "eof", "%s: bob closed it with a FIN, having sent "
		    "nothing (%s)" % (name, got.get(name, "still open")))
		s.close()
	n_ref = sum(1 for _, _, refused in kinds if refused)
	after = mac1_failures(mport)
	r.ok(after - before == n_ref, "bob counted %d mac1 failures (want %d, one for "
	    "each refused kind)" % (after - before, n_ref))

	# A half-close: every kind is closed at once, still without a byte.
	t0 = time.monotonic()
	socks = [(name, open_probe(bport, data, True)) for name, data, _ in kinds]
	got = {}
	while len(got) < len(socks) and time.monotonic() < t0 + HS_TIMEOUT_S / 2:
		for name, s in socks:
			if name not in got:
				st = state(s)
				if st != "open":
					got[name] = st
		time.sleep(0.02)
	for name, s in socks:
		r.ok(got.get(name) == "eof", "%s, then a half-close: closed at once with "
		    "a FIN, nothing sent (%s)" % (name, got.get(name, "still open")))
		s.close()

	# And a real session still comes up.
	ga.start()
	up = ga.wait_log(peer_line("bob", "session up"), UP_WAIT) is not None
	err = echo_roundtrip(eport, b"after the probes") if up else "no session"
	r.ok(err is None, "alice's session comes up and carries data (%s)" % (err or "ok"))


def case_halfopen(h, want):
	r = h.r
	got = hlib.raise_nofile(want + 512)
	n = min(want, got - 256)
	if n < 1000:
		print("SKIPPED: RLIMIT_NOFILE is %d here, too few for half-open connections" % got)
		return 77
	say("half-open connections: %d (RLIMIT_NOFILE %d)" % (n, got))
	gb, ga, bport, eport, mport = setup(h,
	    limits={"max_handshakes": n + 64, "handshakes_per_source": 1000000},
	    timeouts={"handshake": "300s"})
	gb.start()
	if not r.ok(gb.wait_log(listening_rx(bport), 20) is not None, "bob listens"):
		return None
	# Warm up what every connection touches once (the loop, the allocator).
	warm = [open_probe(bport, b"\x01\x00\x05", False) for _ in range(200)]
	time.sleep(0.5)
	for s in warm:
		s.close()
	wait_for(lambda: hlib.metric(hlib.scrape(mport), "stpgate_handshakes_in_progress") == 0, 20)
	rss0 = rss_kib(gb.pid)
	socks = []
	t0 = time.monotonic()
	for i in range(n):
		try:
			socks.append(open_probe(bport, b"\x01\x00\x05", False))
		except OSError as e:
			r.ok(False, "connection %d of %d: %s" % (i + 1, n, e))
			break
		if (i + 1) % 2000 == 0:
			say("  %d connections open (%.1f s)" % (i + 1, time.monotonic() - t0))
	pend = [0]

	def all_in():
		pend[0] = hlib.metric(hlib.scrape(mport), "stpgate_handshakes_in_progress") or 0
		return pend[0] >= len(socks)
	r.ok(wait_for(all_in, 60), "bob holds all %d as handshakes in progress (%d)" %
	    (len(socks), pend[0]))
	time.sleep(0.5)
	rss1 = rss_kib(gb.pid)
	per = (rss1 - rss0) * 1024.0 / max(1, len(socks))
	say("bob's VmRSS: %d KiB before, %d KiB with %d half-open connections: %.0f bytes each"
	    % (rss0, rss1, len(socks), per))
	r.ok(per <= MAX_BYTES_PER_CONN, "at most %d bytes per half-open connection (%.0f)"
	    % (MAX_BYTES_PER_CONN, per))
	ga.start()
	up = ga.wait_log(peer_line("bob", "session up"), UP_WAIT) is not None
	err = echo_roundtrip(eport, b"beside them") if up else "no session"
	r.ok(err is None, "a real session comes up beside them and carries data (%s)"
	    % (err or "ok"))
	for s in socks:
		s.close()
	r.ok(wait_for(lambda: hlib.metric(hlib.scrape(mport),
	    "stpgate_handshakes_in_progress") == 0, 60),
	    "bob lets all of them go when they close")
	return None


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("case", choices=["probes", "halfopen"])
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--workers", type=workers_arg, default=0)
	ap.add_argument("--conns", type=int, default=10000)
	ap.add_argument("--keep", action="store_true")
	args = ap.parse_args()
	h = Harness(args.stpgate, workers=args.workers, keep=args.keep, timeout=280)
	rc = None
	if args.case == "probes":
		case_probes(h)
	else:
		rc = case_halfopen(h, args.conns)
	status = h.finish()
	sys.exit(rc if rc is not None else status)


if __name__ == "__main__":
	main()

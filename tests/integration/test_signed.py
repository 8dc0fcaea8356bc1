#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_signed.py: `peers.NAME.sign_records` between two real gateways, alice
(dials, has the forwards) and bob (listens, has the services), one fresh pair
per case:

  - neither side sets it: the session comes up and its "session up" lines
    say nothing of signatures (the control for the next cases);
  - only the dialing side (alice, for bob) sets it: the session comes up,
    both "session up" lines say "records signed both ways", a download from
    bob and an echo through alice move intact (SHA-256);
  - only the accepting side (bob, for alice) sets it: bob refuses alice,
    and both logs name the reason (bob: alice must sign records; alice: the
    responder refused the session, you must sign records); neither logs
    session up, and the metrics count a failed handshake on both sides
    (alice: rejected, bob: protocol);
  - both sides set it: as for the dialing side only.

usage: test_signed.py --stpgate PATH [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import argparse
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (workers_arg, FAST_TIMEOUTS, HOST, MiB, UP_WAIT,  # noqa: E402
    Harness, Pattern, config_text, echo_handler, echo_roundtrip, metric_exact,
    metrics_text, peer_line, recv_to_end, say, source_handler,
    wait_sessions_up, with_sign_records)

SIGNED = "records signed both ways"


class Pair:
	"""alice and bob, with sign_records where the case says."""

	def __init__(self, h, tag, alice_signs, bob_signs):
		self.h = h
		self.alice_id, self.alice_key = h.keygen("alice-" + tag)
		self.bob_id, self.bob_key = h.keygen("bob-" + tag)
		self.bob_port = h.port()
		self.fwd_src = h.port()
		self.fwd_echo = h.port()
		self.metrics_a = h.port()
		self.metrics_b = h.port()
		self.pat = Pattern()
		self.src = h.server(source_handler(self.pat, h.download), "source-" + tag)
		self.echo = h.server(echo_handler, "echo-" + tag)
		a = config_text(self.alice_id, h.workers,
		    peers={"bob": {"key": self.bob_key, "dial": self.bob_port}},
		    forwards=[(self.fwd_src, "bob", "source"),
		    (self.fwd_echo, "bob", "echo")], timeouts=FAST_TIMEOUTS)
		a += "metrics: \"%s:%d\"\n" % (HOST, self.metrics_a)
		b = config_text(self.bob_id, h.workers, listen=self.bob_port,
		    peers={"alice": {"key": self.alice_key}},
		    services={"source": (self.src.port, ["alice"]),
		    "echo": (self.echo.port, ["alice"])}, timeouts=FAST_TIMEOUTS)
		b += "metrics: \"%s:%d\"\n" % (HOST, self.metrics_b)
		if alice_signs:
			a = with_sign_records(a, "bob")
		if bob_signs:
			b = with_sign_records(b, "alice")
		self.a = h.gateway("alice-" + tag, a)
		self.b = h.gateway("bob-" + tag, b)

	def start(self):
		r = self.h.r
		for g in (self.b, self.a):
			rc, out, err = self.h.check(g.cfg_path)
			r.ok(rc == 0, "stpgate check accepts %s's config" % g.name,
			    "exit %d: %s" % (rc, err.strip()))
		self.b.start()
		r.ok(self.b.wait_log(r"listening.*:%d\b" % self.bob_port, 15) is not None,
		    "%s listens on %d" % (self.b.name, self.bob_port))
		self.a.start()

	def wait_up(self):
		la, lb = wait_sessions_up(self.a, self.b)
		self.h.r.ok(la is not None and lb is not None,
		    "session up on both sides within %d s" % UP_WAIT,
		    "alice: %s; bob: %s" % (la is not None, lb is not None))
		return la, lb

	def stop(self):
		for g in (self.a, self.b):
			if g.running():
				g.stop()
		self.src.close()
		self.echo.close()


def move_data(h, p):
	"""A download from bob's source and an echo through alice, both checked."""
	r = h.r
	total = h.download
	want = p.pat.sha256(total)
	s = h.connect(p.fwd_src, timeout=30)
	sha = hashlib.sha256()
	t0 = time.monotonic()
	n, how = recv_to_end(s, t0 + 120, sha.update)
	dt = time.monotonic() - t0
	s.close()
	r.ok(how == "eof" and n == total, "downloaded %d MiB through the session"
	    % (total // MiB), "%s after %d bytes" % (how, n))
	r.ok(sha.hexdigest() == want, "SHA-256 of the download matches")
	say("download: %.1f MiB in %.2f s = %.1f MB/s" % (n / MiB, dt,
	    n / dt / 1e6 if dt > 0 else 0))
	data = os.urandom(h.echo_size)
	err = echo_roundtrip(p.fwd_echo, data, timeout=120)
	r.ok(err is None, "%d KiB echoed back intact (alice -> bob -> alice)" %
	    (len(data) // 1024), err or "")


def case_up(h, tag, alice_signs, bob_signs):
	r = h.r
	say("case: sign_records on %s" % tag.replace("-", " "))
	p = Pair(h, tag, alice_signs, bob_signs)
	p.start()
	la, lb = p.wait_up()
	signed = alice_signs or bob_signs
	for who, line in (("alice", la), ("bob", lb)):
		if line is None:
			continue
		say("%s: %s" % (who, line.strip()))
		if signed:
			r.ok(SIGNED in line, "%s's session-up line says '%s'" % (who, SIGNED),
			    line.strip())
		else:
			r.ok("signed" not in line, "%s's session-up line says nothing "
			    "of signatures" % who, line.strip())
	if la is not None and lb is not None:
		move_data(h, p)
	for who, port in (("alice", p.metrics_a), ("bob", p.metrics_b)):
		text = metrics_text(port)
		bad = metric_exact(text, "stpgate_records_rejected_total",
		    reason="signature")
		r.ok(bad == 0, "%s rejected no record for its signature" % who,
		    "stpgate_records_rejected_total{reason=\"signature\"} = %r" % bad)
	r.ok(p.a.running() and p.b.running(), "both gateways still running")
	p.stop()


def case_refused(h):
	r = h.r
	tag = "accepting-side-only"
	say("case: sign_records on the accepting side only")
	p = Pair(h, tag, False, True)
	p.start()
	lb = p.b.wait_log(r"handshake failed", 15)
	r.ok(lb is not None, "bob logs handshake failed")
	if lb:
		say("bob: " + lb.strip())
		r.ok("peer alice must sign records" in lb and
		    "set sign_records for this gateway on the peer's side too" in lb,
		    "bob's line names alice and the reason", lb.strip())
	la = p.a.wait_log(peer_line("bob", "handshake failed"), 15)
	r.ok(la is not None, "alice logs handshake failed")
	if la:
		say("alice: " + la.strip())
		r.ok("the responder refused the session: you must sign records" in la
		    and "set sign_records for this peer on yours too" in la,
		    "alice's line gives bob's reason", la.strip())
	# Alice keeps redialing (backoff 200 ms .. 1 s); give it a few tries.
	time.sleep(3)
	for who, g in (("alice", p.a), ("bob", p.b)):
		ups = g.grep(r"session up")
		r.ok(not ups, "%s never logs session up" % who,
		    "%d times, first: %s" % (len(ups), ups[0].strip() if ups else ""))
	r.ok(p.src.accepted == 0 and p.echo.accepted == 0,
	    "bob never connected to a service")
	ma, mb = metrics_text(p.metrics_a), metrics_text(p.metrics_b)
	fa = metric_exact(ma, "stpgate_handshakes_total", result="fail",
	    reason="rejected")
	fb = metric_exact(mb, "stpgate_handshakes_total", result="fail",
	    reason="protocol")
	oka = metric_exact(ma, "stpgate_handshakes_total", result="ok")
	okb = metric_exact(mb, "stpgate_handshakes_total", result="ok")
	r.ok(fa is not None and fa >= 1, "alice counts refused handshakes as "
	    "reason=\"rejected\"", "%r" % fa)
	r.ok(fb is not None and fb >= 1, "bob counts them as reason=\"protocol\"",
	    "%r" % fb)
	r.ok(oka == 0 and okb == 0, "no handshake counted ok on either side",
	    "alice %r, bob %r" % (oka, okb))
	r.ok(p.a.running() and p.b.running(), "both gateways keep running")
	p.stop()


def main():
	ap = argparse.ArgumentParser(description="stpgate signed records, two gateways")
	ap.add_argument("--stpgate", required=True, help="path to the stpgate binary")
	ap.add_argument("--workers", type=workers_arg, default=1, help="crypto workers (0 = inline)")
	ap.add_argument("--keep", action="store_true", help="keep the temp dir")
	ap.add_argument("--timeout", type=int, default=280, help="whole-test bound, seconds")
	args = ap.parse_args()
	h = Harness(args.stpgate, args.workers, args.keep, args.timeout)
	# Every record carries an Ed25519 signature and its check: a sanitizer
	# build moves less in the same time.
	h.download = (4 if h.sanitizer else 32) * MiB
	h.echo_size = (256 if h.sanitizer else 2048) * 1024
	try:
		case_up(h, "neither", False, False)
		case_up(h, "dialing-side-only", True, False)
		case_refused(h)
		case_up(h, "both-sides", True, True)
	except Exception as e:  # a bug or an unexpected error is one more failure
		import traceback
		traceback.print_exc()
		h.r.fail("raised %r" % e)
	return h.finish()


if __name__ == "__main__":
	sys.exit(main())

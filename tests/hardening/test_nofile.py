#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_nofile.py: the gateway at its open-files limit (issue 15).

  raise   under soft 64, hard 512 the gateway raises its soft limit to 512
          at start (read back from /proc/PID/limits) and says so.
  burst   a pair, each gateway under RLIMIT_NOFILE 40 (prlimit, for the
          gateway processes only): each warns at start that
          limits.max_connections 4096 needs more open files than 40 and
          how many it accepts.  60 app connections to a forward at once:
          each is either served (an echo round trip) or closed promptly
          (EOF or reset within a few seconds), none is left hanging; the
          refusals are logged and counted.
  emfile  the same with the reserve eaten first (idle connections held on
          alice's metrics port): accept itself fails with EMFILE, the
          waiting connections are closed at once, the log says so and
          stpgate_accept_errors_total{listener="forward",reason="emfile"}
          counts them.
  After each burst neither gateway spins (utime+stime over 2 s of idle well
  under 50% of a CPU), and once everything is closed a new connection is
  served.

usage: test_nofile.py --stpgate PATH [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import argparse
import os
import re
import selectors
import shutil
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import hlib  # noqa: E402
from gwlib import (HOST, Harness, config_text, fast_timeouts, echo_handler, echo_roundtrip,  # noqa: E402
    peer_line, say, wait_for, workers_arg)

TIMEOUTS = fast_timeouts(connect="5s", keepalive="2s", dead_after="30s")
UP_WAIT = 20
NOFILE = 40
BURST = 60
TOKEN = 24
CLOSE_WITHIN = 5.0      # a refused connection must be closed this fast
HANG = 15.0             # after this long without an answer it is hanging
WARN_RX = (r"limits\.max_connections 4096 needs about (\d+) open files; the limit "
    r"is %d: accepting at most (\d+).*raise LimitNOFILE or lower "
    r"limits\.max_connections" % NOFILE)


def proc_limits(pid):
	"""(soft, hard) of Max open files in /proc/PID/limits, or None."""
	try:
		with open("/proc/%d/limits" % pid) as f:
			for line in f:
				if line.startswith("Max open files"):
					w = line.split()
					return int(w[3]), int(w[4])
	except (OSError, ValueError, IndexError):
		return None
	return None


def cpu_seconds(pid):
	"""utime + stime of pid in seconds, or None."""
	try:
		with open("/proc/%d/stat" % pid) as f:
			rest = f.read().rsplit(")", 1)[1].split()
	except (OSError, IndexError):
		return None
	# Fields 14 and 15 of stat(5); rest starts at field 3.
	return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pids, seconds=2.0):
	"""{pid: share of one CPU used over the next seconds}."""
	c0 = {p: cpu_seconds(p) for p in pids}
	t0 = time.monotonic()
	time.sleep(seconds)
	dt = time.monotonic() - t0
	out = {}
	for p in pids:
		c1 = cpu_seconds(p)
		out[p] = None if c1 is None or c0[p] is None else (c1 - c0[p]) / dt
	return out


def burst(port, n):
	"""Open n connections to port at once, each sending a token.  Each ends
	'served' (its token echoed; kept open), 'eof' or 'reset' (closed before
	that; with the seconds it took) or 'hanging' (neither within HANG s).
	Returns (outcomes [(how, seconds)], served sockets)."""
	sel = selectors.DefaultSelector()
	t0 = time.monotonic()
	out = [None] * n
	served = []
	for i in range(n):
		s = socket.socket()
		s.setblocking(False)
		err = s.connect_ex((HOST, port))
		st = {"i": i, "tok": b"%0*d" % (TOKEN, i), "got": b"", "sent": False}
		if err not in (0, 115):   # EINPROGRESS
			out[i] = ("connect errno %d" % err, 0.0)
			s.close()
			continue
		sel.register(s, selectors.EVENT_WRITE, st)

	def end(s, st, how):
		out[st["i"]] = (how, time.monotonic() - t0)
		sel.unregister(s)
		if how == "served":
			served.append(s)
		else:
			s.close()

	while sel.get_map() and time.monotonic() - t0 < HANG:
		for key, ev in sel.select(0.2):
			s, st = key.fileobj, key.data
			if not st["sent"]:
				e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
				if e:
					end(s, st, "reset" if e == 104 else "connect: %s" % os.strerror(e))
					continue
				try:
					s.send(st["tok"])
				except (ConnectionResetError, BrokenPipeError):
					end(s, st, "reset")
					continue
				except BlockingIOError:
					continue
				st["sent"] = True
				sel.modify(s, selectors.EVENT_READ, st)
				continue
			try:
				d = s.recv(64)
			except BlockingIOError:
				continue
			except (ConnectionResetError, ConnectionAbortedError):
				end(s, st, "reset")
				continue
			if not d:
				end(s, st, "eof")
				continue
			st["got"] += d
			if len(st["got"]) >= TOKEN:
				end(s, st, "served" if st["got"][:TOKEN] == st["tok"] else "garbled")
	for key in list(sel.get_map().values()):
		out[key.data["i"]] = ("hanging", time.monotonic() - t0)
		key.fileobj.close()
	sel.close()
	return out, served


def tally(h, what, outcomes):
	"""Check a burst's outcomes; returns (served, closed)."""
	r = h.r
	served = sum(1 for how, _ in outcomes if how == "served")
	closed = [t for how, t in outcomes if how in ("eof", "reset")]
	other = [(i, o) for i, o in enumerate(outcomes) if o[0] not in ("served", "eof", "reset")]
	say("%s: %d served, %d closed (%d eof, %d reset; slowest after %.2f s), %d other"
	    % (what, served, len(closed), sum(1 for how, _ in outcomes if how == "eof"),
	    sum(1 for how, _ in outcomes if how == "reset"), max(closed or [0]), len(other)))
	r.ok(not other, "%s: every connection served or closed, none hanging" % what,
	    "%r" % other[:5])
	r.ok(served >= 1, "%s: some connections are served" % what, "none")
	slow = [t for t in closed if t > CLOSE_WITHIN]
	r.ok(not slow, "%s: every refused connection is closed within %.0f s" % (
	    what, CLOSE_WITHIN), "%d slower, e.g. %.2f s" % (len(slow), max(slow or [0])))
	return served, len(closed)


def no_spin(h, what, gws):
	share = cpu_share([g.pid for g in gws], 2.0)
	for g in gws:
		v = share[g.pid]
		say("%s: %s's CPU over 2 s of idle: %s" % (what, g.name,
		    "?" if v is None else "%.1f%%" % (v * 100)))
		h.r.ok(v is not None and v < 0.5, "%s: %s does not spin (under 50%% of a CPU)"
		    % (what, g.name), "%r" % v)


def close_socks(socks):
	for s in socks:
		try:
			s.close()
		except OSError:
			pass


def scrape_retry(port, timeout=10):
	"""A scrape, retried while the gateway is short of descriptors."""
	return wait_for(lambda: hlib.scrape(port), timeout, 0.25)


def wait_idle(h, ports):
	def idle(port):
		m = hlib.scrape(port)
		return m is not None and hlib.metric(m, "stpgate_streams_active") == 0

	for port in ports:
		v = wait_for(lambda: idle(port), 20, 0.25)
		h.r.ok(v, "metrics on %d: no stream active after everything closed" % port)


# ---- the parts ----

def part_raise(h):
	r = h.r
	ident, _ = h.keygen("solo")
	_, other = h.keygen("solo-peer")
	g = h.gateway("solo", config_text(ident, h.workers, peers={"p": {"key": other}},
	    forwards=[(h.port(), "p", "echo")], timeouts=TIMEOUTS))
	g.wrapper = [shutil.which("prlimit"), "--nofile=64:512", "--"]
	g.start()
	line = g.wait_log(r"open files: soft limit raised from 64 to 512", 10)
	r.ok(line is not None, "soft 64, hard 512: the gateway logs the soft limit raised "
	    "from 64 to 512")
	lim = proc_limits(g.pid)
	r.ok(lim == (512, 512), "soft 64, hard 512: /proc/PID/limits says 512 512",
	    "%r" % (lim,))
	g.stop()


class Pair:
	def __init__(self, h, echo_port):
		self.h = h
		alice_id, alice_key = h.keygen("alice")
		bob_id, bob_key = h.keygen("bob")
		self.bport, self.fport = h.port(), h.port()
		self.mport_a, self.mport_b = h.port(), h.port()
		self.b = h.gateway("bob", hlib.with_sections(config_text(bob_id, h.workers,
		    listen=self.bport, peers={"alice": {"key": alice_key}},
		    services={"echo": (echo_port, ["alice"])}, timeouts=TIMEOUTS),
		    metrics=self.mport_b))
		self.a = h.gateway("alice", hlib.with_sections(config_text(alice_id,
		    h.workers, peers={"bob": {"key": bob_key, "dial": self.bport}},
		    forwards=[(self.fport, "bob", "echo")], timeouts=TIMEOUTS),
		    metrics=self.mport_a))
		for g in (self.b, self.a):
			g.wrapper = [shutil.which("prlimit"), "--nofile=%d:%d" % (NOFILE, NOFILE), "--"]
			g.start()
		l1 = self.a.wait_log(peer_line("bob", "session up"), UP_WAIT)
		l2 = self.b.wait_log(peer_line("alice", "session up"), UP_WAIT)
		self.up = h.r.ok(l1 is not None and l2 is not None, "session up under "
		    "RLIMIT_NOFILE %d" % NOFILE)


def accept_errors(samples, listener=None, reason=None):
	lab = {}
	if listener:
		lab["listener"] = listener
	if reason:
		lab["reason"] = reason
	return hlib.metric(samples, "stpgate_accept_errors_total", **lab)


def part_burst(h, p):
	r = h.r
	for g in (p.a, p.b):
		lim = proc_limits(g.pid)
		r.ok(lim == (NOFILE, NOFILE), "%s runs under RLIMIT_NOFILE %d" % (g.name, NOFILE),
		    "%r" % (lim,))
		line = g.wait_log(WARN_RX, 5)
		r.ok(line is not None, "%s warns at start: limits.max_connections needs more "
		    "than the limit %d" % (g.name, NOFILE), "no line like /%s/" % WARN_RX)
		if line:
			say("%s: %s" % (g.name, line.split(" ", 2)[-1]))
	m0 = scrape_retry(p.mport_a)
	mark_a, mark_b = p.a.mark(), p.b.mark()
	outcomes, served = burst(p.fport, BURST)
	n_served, n_closed = tally(h, "burst of %d" % BURST, outcomes)
	no_spin(h, "burst", (p.a, p.b))
	close_socks(served)
	m1 = scrape_retry(p.mport_a)
	d_lim = hlib.metric(m1, "stpgate_limits_hit_total") - hlib.metric(m0, "stpgate_limits_hit_total")
	d_acc = accept_errors(m1) - accept_errors(m0)
	d_peer = hlib.metric(m1, "stpgate_streams_refused_total", reason="peer_refused") - \
	    hlib.metric(m0, "stpgate_streams_refused_total", reason="peer_refused")
	say("alice's metrics: limits_hit +%d, accept_errors +%d, streams refused by bob +%d"
	    % (d_lim, d_acc, d_peer))
	r.ok(m1 is not None and d_lim + d_acc + d_peer >= n_closed,
	    "burst: every refusal is counted (alice's limits_hit_total, accept_errors_total, "
	    "streams_refused_total{reason=peer_refused})", "%d + %d + %d < %d closed" % (
	    d_lim, d_acc, d_peer, n_closed))
	logged = p.a.grep(r"connection refused: \d+ connections open, the limit "
	    r"\(limits\.max_connections, lowered from 4096 to \d+ to fit the open-files limit "
	    r"%d\)|accept on .* failed" % NOFILE, mark_a) + \
	    p.b.grep(r"connection limit \(limits\.max_connections\) reached|accept on .* failed",
	    mark_b) + p.a.grep(r"refused by the peer", mark_a)
	r.ok(logged, "burst: the refusals are logged (the lowered cap or accept failures)")
	if logged:
		say("e.g.: %s" % logged[0].split(" ", 2)[-1])
	return n_served


def part_emfile(h, p):
	"""Hold idle connections on alice's metrics port (each a descriptor for
	its 5 s header timeout) so that the budget's reserve is gone and accept
	on the forward itself fails."""
	r = h.r
	m0 = scrape_retry(p.mport_a)
	mark = p.a.mark()
	idle = []
	for _ in range(24):
		try:
			idle.append(socket.create_connection((HOST, p.mport_a), timeout=2))
		except OSError:
			break
	time.sleep(0.3)
	outcomes, served = burst(p.fport, BURST)
	tally(h, "burst with the reserve eaten", outcomes)
	no_spin(h, "burst with the reserve eaten", (p.a, p.b))
	close_socks(served)
	close_socks(idle)
	m1 = scrape_retry(p.mport_a)
	d = accept_errors(m1, "forward", "emfile") - accept_errors(m0, "forward", "emfile")
	say("alice: accept_errors_total{listener=forward,reason=emfile} +%d" % d)
	r.ok(m1 is not None and d >= 1, "emfile: stpgate_accept_errors_total{listener="
	    "\"forward\",reason=\"emfile\"} counts the connections accept could not take",
	    "rose by %d" % d)
	rx = (r"accept on 127\.0\.0\.1:%d failed: Too many open files \(open files: limit %d\)"
	    % (p.fport, NOFILE))
	line = p.a.wait_log(rx, 5, mark)
	r.ok(line is not None, "emfile: alice logs the accept failure with the address, "
	    "the error and the limit", "no line like /%s/" % rx)
	if line:
		say("alice: %s" % line.split(" ", 2)[-1])


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--workers", type=workers_arg, default=2)
	ap.add_argument("--keep", action="store_true")
	args = ap.parse_args()
	if shutil.which("prlimit") is None:
		print("SKIPPED: no prlimit (util-linux)")
		sys.exit(77)
	h = Harness(args.stpgate, workers=args.workers, keep=args.keep, timeout=280)
	echo = h.server(echo_handler, "echo")
	part_raise(h)
	p = Pair(h, echo.port)
	if p.up:
		part_burst(h, p)
		wait_idle(h, (p.mport_a, p.mport_b))
		part_emfile(h, p)
		wait_idle(h, (p.mport_a, p.mport_b))
		err = wait_for(lambda: echo_roundtrip(p.fport, b"after" * 100, 10) is None, 15, 0.5)
		h.r.ok(err, "after the bursts, with everything closed, a new connection is "
		    "served")
		h.r.ok(p.a.running() and p.b.running(), "both gateways still running")
	sys.exit(h.finish())


if __name__ == "__main__":
	main()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_fair.py: 8 bulk streams and an interactive one at once over one
session between two gateways on loopback (issue 17, "Fair streams, no
head-of-line surprise").  How fair and how fast is bench/fairness.sh's to
measure, over an emulated link; this test checks what must hold whatever
the scheduler does, so it judges no time and no share:

  - bob's "bulk" service sends each stream the pattern from an offset of
    its own (the app names its stream in a 4-byte hello), as fast as it
    goes, until the app half-closes; then it half-closes too.  8 apps on
    alice's forward read at once for about 3 s, and on until each has read
    at least 2 MiB (a starved stream fails at a 60 s bound, not a rate),
    then half-close.  Each one's bytes are its own pattern, every one
    checked as it comes; each ends with EOF (not a reset) having read
    exactly what the service sent it.
  - meanwhile one app on alice's "rr" forward sends 64-byte requests one
    after the other to bob's "rr" service, which answers each with 64
    bytes made from it: every answer is exact and in order (at least 20),
    and the connection ends with EOF after the app half-closes.
  - afterwards: stpgate_streams_active is 0 on both gateways, each opened
    9 streams, no stream was reset (no "reset" line in either log), the
    session stayed up (one "session up" each), and both exit 0 on SIGTERM.

With --link (root; hard_fairlink) the same runs with alice and bob in two
network namespaces of the test's own, joined by hardening/hlib.py's link
emulator at 100 Mbit/s and 50 ms: a paced session, where the streams read
in turns, a light stream beside bulk makes the output shallow, and on a
bbr kernel the connection holds its bulk streams around BBR's RTT probe
(conn_pace.c, "Quiet").  The load runs on until bob's
stpgate_probe_quiets_total says that happened at least once (bound: 60 s),
and the same checks follow, with that one: every bulk stream resumed after
each hold, or it would fall short.  Without the privilege to create
namespaces it says why and exits 77 (skipped).

usage: test_fair.py --stpgate PATH [--workers N] [--keep] [--link]
Prints progress lines and ends with "N passed, N failed"; exit 0, 1 or 77.
"""

import contextlib
import os
import socket
import subprocess
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "hardening"))
import hlib  # noqa: E402
from gwlib import (test_main, FAST_TIMEOUTS, HOST, MiB, Pattern,  # noqa: E402
    config_text, metric_samples, metrics_text, peer_line, recv_exact, say,
    wait_for, wait_sessions_up)

STREAMS = 8
LOAD_SECONDS = 3.0      # bulk streams run at least this long ...
MIN_BYTES = 2 * MiB     # ... and until each has read this much
BOUND = 60.0            # a stream still short of MIN_BYTES after this fails
RR_SIZE = 64
RR_MIN = 20
STEP = 64 * 1024
LINK_MBIT = 100         # --link: the emulated link's rate ...
LINK_DELAY_MS = 25      # ... and one-way delay (RTT 50 ms)


def in_ns(ns):
	"""A block run in network namespace ns (None: where we are)."""
	return hlib.in_netns(ns) if ns else contextlib.nullcontext()


def offset_of(i):
	"""Where stream i starts in the pattern: every stream's bytes differ."""
	return i * 7 * MiB + 1021 * i


def answer(req):
	"""The rr service's answer: every byte of the request XOR 0xA5,
	reversed (not an echo: a stale or crossed buffer would not match)."""
	return bytes(b ^ 0xA5 for b in reversed(req))


def bulk_handler(pattern):
	"""Service: a 4-byte stream number, then the pattern from its offset
	until the app half-closes; srv.state['sent'][i] is what went out."""
	def h(c, srv):
		c.settimeout(BOUND + 30)
		hello = recv_exact(c, 4, eof_ok=True)
		if hello is None:
			return
		i = struct.unpack(">I", hello)[0]
		eof = threading.Event()

		def watch():
			# the app sends nothing after its hello: any read is its EOF
			try:
				while c.recv(4096):
					pass
			except OSError:
				pass
			eof.set()
		threading.Thread(target=watch, daemon=True).start()
		base = offset_of(i)
		off = 0
		try:
			while not eof.is_set() and not srv.stopping.is_set():
				c.sendall(pattern.chunk(base + off, STEP))
				off += STEP
		finally:
			with srv.lock:
				srv.state.setdefault("sent", {})[i] = off
		c.shutdown(socket.SHUT_WR)
		eof.wait(10)
	return h


def rr_handler(c, srv):
	"""Service: answer each RR_SIZE-byte request; half-close at EOF."""
	c.settimeout(BOUND + 30)
	c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
	while True:
		req = recv_exact(c, RR_SIZE, eof_ok=True)
		if req is None:
			break
		c.sendall(answer(req))
		with srv.lock:
			srv.state["answered"] = srv.state.get("answered", 0) + 1
	c.shutdown(socket.SHUT_WR)


class BulkApp(threading.Thread):
	"""One app on alice's bulk forward: reads and checks until told to stop
	(after which it half-closes and reads on to EOF)."""

	def __init__(self, port, i, pattern, stop, ns=None):
		super().__init__(daemon=True)
		self.port, self.i, self.pat, self.stop, self.ns = port, i, pattern, stop, ns
		self.got = 0
		self.bad = None          # first byte that differs from the pattern
		self.how = None          # "eof", "reset", "timeout" or an error
		self.after_stop = 0

	def run(self):
		try:
			with in_ns(self.ns):
				s = socket.create_connection((HOST, self.port), timeout=10)
		except OSError as e:
			self.how = "connect: %r" % e
			return
		base = offset_of(self.i)
		try:
			s.sendall(struct.pack(">I", self.i))
			s.settimeout(0.2)
			closed_at = None
			deadline = time.monotonic() + BOUND + 30
			while True:
				if closed_at is None and self.stop.is_set():
					s.shutdown(socket.SHUT_WR)
					closed_at = self.got
				if time.monotonic() > deadline:
					self.how = "timeout"
					break
				try:
					d = s.recv(256 * 1024)
				except socket.timeout:
					continue
				if not d:
					self.how = "eof"
					break
				if self.bad is None and self.pat.chunk(base + self.got, len(d)) != d:
					for k in range(len(d)):
						if self.pat.chunk(base + self.got + k, 1) != d[k:k + 1]:
							self.bad = self.got + k
							break
				self.got += len(d)
			if closed_at is not None:
				self.after_stop = self.got - closed_at
		except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
			self.how = "reset"
		except OSError as e:
			self.how = "error: %r" % e
		finally:
			s.close()


class RrApp(threading.Thread):
	"""The interactive app: request, answer, next request, until told to
	stop; then half-close and expect EOF."""

	def __init__(self, port, stop, ns=None):
		super().__init__(daemon=True)
		self.port, self.stop, self.ns = port, stop, ns
		self.ok = 0
		self.wrong = None        # the first request whose answer was not right
		self.how = None

	def run(self):
		try:
			with in_ns(self.ns):
				s = socket.create_connection((HOST, self.port), timeout=10)
		except OSError as e:
			self.how = "connect: %r" % e
			return
		try:
			s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
			s.settimeout(BOUND)
			seq = 0
			while not self.stop.is_set() or self.ok < RR_MIN:
				seq += 1
				req = struct.pack(">Q", seq) + os.urandom(RR_SIZE - 8)
				s.sendall(req)
				resp = recv_exact(s, RR_SIZE, eof_ok=True)
				if resp is None:
					self.how = "EOF after %d answers" % self.ok
					return
				if resp != answer(req):
					self.wrong = seq
					break
				self.ok += 1
			s.shutdown(socket.SHUT_WR)
			rest = s.recv(4096)
			self.how = "eof" if not rest else "%d bytes after the last answer" % len(rest)
		except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
			self.how = "reset"
		except OSError as e:
			self.how = "error: %r" % e
		finally:
			s.close()


def metric(port, name, ns=None):
	with in_ns(ns):
		v = metric_samples(metrics_text(port)).get((name, frozenset()))
	return None if v is None else int(v)


def congestion_control(ns):
	"""The kernel's TCP congestion control in namespace ns ("" if unknown)."""
	p = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-n",
	    "net.ipv4.tcp_congestion_control"], capture_output=True, text=True,
	    timeout=30)
	return p.stdout.strip() if p.returncode == 0 else ""


def run(h, net=None):
	r = h.r
	ns_a, ns_b = (net.a, net.b) if net else (None, None)
	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	bob_port, fwd_bulk, fwd_rr, mport_a, mport_b = (h.port(), h.port(), h.port(),
	    h.port(), h.port())
	pattern = Pattern()
	with in_ns(ns_b):
		bulk = h.server(bulk_handler(pattern), "bulk")
		rr = h.server(rr_handler, "rr")
	tb = config_text(bob_id, h.workers, listen=bob_port,
	    peers={"alice": {"key": alice_key}},
	    services={"bulk": (bulk.port, ["alice"]), "rr": (rr.port, ["alice"])},
	    timeouts=FAST_TIMEOUTS) + 'metrics: "%s:%d"\n' % (HOST, mport_b)
	ta = config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bob_port}},
	    forwards=[(fwd_bulk, "bob", "bulk"), (fwd_rr, "bob", "rr")],
	    timeouts=FAST_TIMEOUTS) + 'metrics: "%s:%d"\n' % (HOST, mport_a)
	if net:
		tb = tb.replace('listen: "%s:%d"' % (HOST, bob_port),
		    'listen: "%s:%d"' % (net.ADDR_B, bob_port))
		ta = ta.replace('dial: "%s:%d"' % (HOST, bob_port),
		    'dial: "%s:%d"' % (net.ADDR_B, bob_port))
		net.set(rate_mbit=LINK_MBIT, delay_ms=LINK_DELAY_MS)
		say("link: %d Mbit/s, RTT %d ms, between %s (alice) and %s (bob)" % (
		    LINK_MBIT, 2 * LINK_DELAY_MS, ns_a, ns_b))
	b = h.gateway("bob", tb)
	a = h.gateway("alice", ta)
	if net:
		a.wrapper = ["ip", "netns", "exec", ns_a]
		b.wrapper = ["ip", "netns", "exec", ns_b]
	b.start()
	a.start()
	la, lb = wait_sessions_up(a, b)
	if not r.ok(la and lb, "the session comes up"):
		return

	# --link on a bbr kernel: on until bob held its bulk streams around a probe
	cc = congestion_control(ns_b) if net else ""
	def quiets():
		return metric(mport_b, "stpgate_probe_quiets_total", ns_b) or 0

	stop = threading.Event()
	apps = [BulkApp(fwd_bulk, i, pattern, stop, ns_a) for i in range(STREAMS)]
	inter = RrApp(fwd_rr, stop, ns_a)
	t0 = time.monotonic()
	for x in apps + [inter]:
		x.start()
	# about LOAD_SECONDS, and on until every stream has MIN_BYTES (or the bound)
	time.sleep(LOAD_SECONDS)
	wait_for(lambda: all(x.got >= MIN_BYTES or x.how for x in apps) and
	    (cc != "bbr" or quiets() > 0), BOUND - LOAD_SECONDS)
	if net and cc == "bbr":
		q = quiets()
		r.ok(q > 0, "bob held its bulk streams around BBR's RTT probe while "
		    "the interactive stream ran (stpgate_probe_quiets_total %d)" % q)
	elif net:
		say("the namespaces' congestion control is %r, not bbr: no RTT probe "
		    "to hold the bulk streams around" % cc)
	load = time.monotonic() - t0
	got = [x.got for x in apps]
	stop.set()
	for x in apps + [inter]:
		x.join(BOUND + 40)
	say("load for %.1f s: bulk streams read %s MiB; %d interactive answers" % (
	    load, " ".join("%.1f" % (g / MiB) for g in got), inter.ok))

	short = [i for i, g in enumerate(got) if g < MIN_BYTES]
	r.ok(not short, "every bulk stream read at least %d MiB while all %d ran "
	    "(none starved)" % (MIN_BYTES // MiB, STREAMS), "short: %s" % ", ".join(
	    "#%d %d bytes" % (i, got[i]) for i in short))
	bad = [x for x in apps if x.bad is not None]
	r.ok(not bad, "every byte of every bulk stream is its own pattern, in order",
	    "; ".join("#%d differs at byte %d" % (x.i, x.bad) for x in bad))
	sent = bulk.state.get("sent", {})
	ends = [x for x in apps if x.how != "eof"]
	r.ok(not ends, "every bulk stream ends with EOF after the app half-closes",
	    "; ".join("#%d: %s" % (x.i, x.how) for x in ends))
	diff = [x for x in apps if sent.get(x.i) != x.got]
	r.ok(not diff, "every bulk app read exactly what the service sent it",
	    "; ".join("#%d read %d, sent %s" % (x.i, x.got, sent.get(x.i)) for x in diff))
	r.ok(inter.wrong is None and inter.ok >= RR_MIN,
	    "every interactive request got its exact answer (%d, at least %d)" % (
	    inter.ok, RR_MIN), "request %s wrong" % inter.wrong if inter.wrong else
	    "%d answers, %s" % (inter.ok, inter.how))
	r.ok(inter.how == "eof", "the interactive stream ends with EOF after the app "
	    "half-closes", str(inter.how))
	r.ok(rr.state.get("answered") == inter.ok, "the rr service answered "
	    "exactly the requests sent", "%s answered, %d received" % (
	    rr.state.get("answered"), inter.ok))

	for g, port, ns in ((a, mport_a, ns_a), (b, mport_b, ns_b)):
		act = wait_for(lambda: metric(port, "stpgate_streams_active", ns) == 0, 10)
		r.ok(act, "%s: stpgate_streams_active is 0 afterwards" % g.name,
		    str(metric(port, "stpgate_streams_active", ns)))
		opened = metric(port, "stpgate_streams_opened_total", ns)
		r.ok(opened == STREAMS + 1, "%s: %d streams opened in all" % (g.name,
		    STREAMS + 1), str(opened))
		resets = g.grep(r"stream \d+ .*reset")
		r.ok(not resets, "%s: no stream reset" % g.name, "; ".join(resets[:3]))
	r.ok(len(a.grep(peer_line("bob", "session up"))) == 1 and
	    len(b.grep(peer_line("alice", "session up"))) == 1,
	    "the session stayed up throughout (one \"session up\" on each side)")
	a.stop()
	b.stop()


if __name__ == "__main__":
	if "--link" in sys.argv:
		sys.argv.remove("--link")
		hlib.need_root()
		hlib.netpair_run("tun", int.from_bytes(os.urandom(4), "big"),
		    lambda net: test_main(lambda h: run(h, net), __doc__),
		    prefix="stpfl-")
	sys.exit(test_main(run, __doc__))

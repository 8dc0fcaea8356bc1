#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_scale.py: many tunneled connections at once, and the limits on them.

  scale   10,000 app connections through one forward (app -> alice -> bob ->
          an epoll echo service in a process of its own), all open at once,
          each proven by an echo round trip when it opens and again once all
          are open; both gateways' metrics say 10,000 streams active.
          Printed: the time to open them and each gateway's RSS growth per
          idle connection (VmRSS before and after; the target is <= 4 KiB of
          our own memory per stream beyond libuv's handle); asserted only
          that it is below a gross 32 KiB.  Then all close and both gateways
          count 0 streams.
  limits  with 20 as the limit and 25 app connections, for each of alice's
          limits.max_streams, bob's limits.max_streams, alice's
          limits.max_connections and bob's limits.max_connections: 20
          connections echo, the other 5 are closed without a byte, the
          gateway that refused logs the limit by name, the metrics count
          it, and once the 20 close a new connection works again.

RLIMIT_NOFILE is raised (soft to hard, and hard too when we may) before
anything starts, so the gateways and the echo process inherit it; the test
checks it in /proc/PID/limits.

usage: test_scale.py --stpgate PATH [--workers N] [--conns N] [--keep]
       test_scale.py --echo-server    (the echo process; internal)
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1 (77,
skipped, when RLIMIT_NOFILE cannot be raised far enough).
"""

import argparse
import os
import selectors
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import hlib  # noqa: E402
from gwlib import (workers_arg, HOST, Harness, app_closed_within, config_text,  # noqa: E402
    peer_line, rss_kib, say)

TIMEOUTS = {
	"handshake": "5s",
	"connect": "5s",
	"keepalive": "2s",
	"dead_after": "30s",
	"drain": "2s",
	"reconnect_min": "200ms",
	"reconnect_max": "1s",
}
UP_WAIT = 20
INFLIGHT = 200          # connections being set up at once (forward backlog 511)
TOKEN = 24              # bytes each connection echoes


def proc_nofile(pid):
	try:
		with open("/proc/%d/limits" % pid) as f:
			for line in f:
				if line.startswith("Max open files"):
					return int(line.split()[3])
	except (OSError, ValueError, IndexError):
		return None
	return None


# ---- the echo process ----

def echo_server():
	"""Listen on 127.0.0.1 (port printed on stdout), echo every byte back,
	hold any number of connections; `count` on stdin prints how many are
	open; EOF on stdin ends it."""
	hlib.raise_nofile(1 << 16)
	ls = socket.socket()
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind((HOST, 0))
	ls.listen(4096)
	ls.setblocking(False)
	sel = selectors.DefaultSelector()
	sel.register(ls, selectors.EVENT_READ, None)
	sel.register(sys.stdin, selectors.EVENT_READ, "ctl")
	sys.stdout.write("%d\n" % ls.getsockname()[1])
	sys.stdout.flush()
	open_n = 0
	pending = {}      # sock -> bytes not yet written back
	while True:
		for key, ev in sel.select(1.0):
			if key.data == "ctl":
				line = sys.stdin.readline()
				if not line:
					return
				sys.stdout.write("%d\n" % open_n)
				sys.stdout.flush()
				continue
			if key.data is None:
				for _ in range(256):
					try:
						c, _ = ls.accept()
					except (BlockingIOError, OSError):
						break
					c.setblocking(False)
					sel.register(c, selectors.EVENT_READ, "c")
					open_n += 1
				continue
			c = key.fileobj
			if ev & selectors.EVENT_WRITE:
				buf = pending.get(c, b"")
				try:
					n = c.send(buf)
				except BlockingIOError:
					n = 0
				except OSError:
					n = -1
				if n >= 0:
					buf = buf[n:]
					if buf:
						pending[c] = buf
					else:
						pending.pop(c, None)
						sel.modify(c, selectors.EVENT_READ, "c")
				continue
			try:
				d = c.recv(65536)
			except BlockingIOError:
				continue
			except OSError:
				d = b""
			if not d:
				sel.unregister(c)
				pending.pop(c, None)
				c.close()
				open_n -= 1
				continue
			if c in pending:
				pending[c] += d
				continue
			try:
				n = c.send(d)
			except BlockingIOError:
				n = 0
			except OSError:
				n = len(d)
			if n < len(d):
				pending[c] = d[n:]
				sel.modify(c, selectors.EVENT_READ | selectors.EVENT_WRITE, "c")


class EchoProc:
	def __init__(self, h):
		self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__),
		    "--echo-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
		    text=True, bufsize=1, preexec_fn=hlib._pdeathsig)
		self.port = int(self.p.stdout.readline())

	def count(self):
		self.p.stdin.write("count\n")
		self.p.stdin.flush()
		return int(self.p.stdout.readline())

	def close(self):
		try:
			self.p.stdin.close()
			self.p.wait(timeout=10)
		except (OSError, subprocess.TimeoutExpired):
			self.p.kill()


# ---- many connections from one selector loop ----

def open_many(port, n, timeout, held=None):
	"""Open n connections to port, at most INFLIGHT being set up at once;
	each sends a unique token and must get it back.  Returns (verified
	sockets, number that failed, first failure, seconds)."""
	sel = selectors.DefaultSelector()
	t0 = time.monotonic()
	deadline = t0 + timeout
	started = 0
	inflight = 0
	ok = []
	failed = 0
	first = None

	def fail(s, why):
		nonlocal failed, first, inflight
		failed += 1
		inflight -= 1
		first = first or why
		sel.unregister(s)
		s.close()

	while (started < n or inflight > 0) and time.monotonic() < deadline:
		while started < n and inflight < INFLIGHT:
			s = socket.socket()
			s.setblocking(False)
			err = s.connect_ex((HOST, port))
			tok = b"%0*d" % (TOKEN, started)
			st = {"tok": tok, "got": b"", "sent": False, "i": started}
			started += 1
			inflight += 1
			if err not in (0, 115):   # EINPROGRESS
				sel.register(s, selectors.EVENT_READ, st)
				fail(s, "connect #%d: errno %d" % (st["i"], err))
				continue
			sel.register(s, selectors.EVENT_WRITE, st)
		for key, ev in sel.select(0.2):
			s, st = key.fileobj, key.data
			if not st["sent"]:
				e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
				if e:
					fail(s, "connect #%d: %s" % (st["i"], os.strerror(e)))
					continue
				try:
					s.send(st["tok"])
				except OSError as x:
					fail(s, "send #%d: %r" % (st["i"], x))
					continue
				st["sent"] = True
				sel.modify(s, selectors.EVENT_READ, st)
				continue
			try:
				d = s.recv(TOKEN)
			except BlockingIOError:
				continue
			except OSError as x:
				fail(s, "recv #%d: %r" % (st["i"], x))
				continue
			if not d:
				fail(s, "#%d closed before its echo" % st["i"])
				continue
			st["got"] += d
			if not st["tok"].startswith(st["got"]):
				fail(s, "#%d: echo differs" % st["i"])
				continue
			if len(st["got"]) == TOKEN:
				sel.unregister(s)
				inflight -= 1
				ok.append(s)
	for key in list(sel.get_map().values()):
		failed += 1
		first = first or "#%d: no echo within %d s" % (key.data["i"], timeout)
		key.fileobj.close()
	sel.close()
	return ok, failed, first, time.monotonic() - t0


def echo_all(socks, timeout):
	"""One more round trip on every open socket, all at once.  Returns
	(verified, first failure)."""
	sel = selectors.DefaultSelector()
	for i, s in enumerate(socks):
		tok = b"%0*d" % (TOKEN, 10 ** 9 + i)
		try:
			s.send(tok)
		except OSError as e:
			return 0, "send #%d: %r" % (i, e)
		sel.register(s, selectors.EVENT_READ, {"tok": tok, "got": b"", "i": i})
	ok = 0
	first = None
	deadline = time.monotonic() + timeout
	while sel.get_map() and time.monotonic() < deadline:
		for key, _ in sel.select(0.5):
			s, st = key.fileobj, key.data
			try:
				d = s.recv(TOKEN)
			except BlockingIOError:
				continue
			except OSError as e:
				d = b""
				first = first or "#%d: %r" % (st["i"], e)
			st["got"] += d
			if not d or not st["tok"].startswith(st["got"]):
				first = first or "#%d: closed or wrong echo" % st["i"]
				sel.unregister(s)
			elif len(st["got"]) == TOKEN:
				ok += 1
				sel.unregister(s)
	if sel.get_map():
		first = first or "%d without an echo within %d s" % (len(sel.get_map()), timeout)
	sel.close()
	return ok, first


def close_all(socks):
	for s in socks:
		try:
			s.close()
		except OSError:
			pass


# ---- the run ----

class Pair:
	def __init__(self, h, echo_port, la=None, lb=None, name=""):
		self.h = h
		self.alice_id, self.alice_key = h.keygen("alice" + name)
		self.bob_id, self.bob_key = h.keygen("bob" + name)
		self.bport, self.fport = h.port(), h.port()
		self.mport_a, self.mport_b = h.port(), h.port()
		self.b = h.gateway("bob" + name, hlib.with_sections(config_text(self.bob_id,
		    h.workers, listen=self.bport, peers={"alice": {"key": self.alice_key}},
		    services={"echo": (echo_port, ["alice"])}, timeouts=TIMEOUTS),
		    limits=lb, metrics=self.mport_b))
		self.a = h.gateway("alice" + name, hlib.with_sections(config_text(
		    self.alice_id, h.workers, peers={"bob": {"key": self.bob_key,
		    "dial": self.bport}}, forwards=[(self.fport, "bob", "echo")],
		    timeouts=TIMEOUTS), limits=la, metrics=self.mport_a))
		self.b.start()
		self.a.start()
		l1 = self.a.wait_log(peer_line("bob", "session up"), UP_WAIT)
		l2 = self.b.wait_log(peer_line("alice", "session up"), UP_WAIT)
		self.up = h.r.ok(l1 is not None and l2 is not None, "session up%s" % (
		    " (%s)" % name if name else ""))

	def stop(self):
		self.a.stop()
		self.b.stop()


def wait_metric(port, name, want, timeout, **labels):
	deadline = time.monotonic() + timeout
	v = None
	while time.monotonic() < deadline:
		v = hlib.metric(hlib.scrape(port), name, **labels)
		if v == want:
			return v
		time.sleep(0.25)
	return v


def scale(h, echo, n):
	r = h.r
	lim = {"max_streams": n + 2000, "max_connections": n + 2000}
	p = Pair(h, echo.port, la=lim, lb=lim)
	if not p.up:
		return
	for g in (p.a, p.b):
		lim_g = proc_nofile(g.pid)
		r.ok(lim_g is not None and lim_g >= n + 100, "%s's RLIMIT_NOFILE is %s "
		    "(>= %d)" % (g.name, lim_g, n + 100))
	# Warm up (allocator pools, the hash table's first sizes), then idle.
	socks, failed, first, _ = open_many(p.fport, 200, 60)
	r.ok(len(socks) == 200, "warm-up: 200 connections echo", "%d failed: %s" % (
	    failed, first))
	close_all(socks)
	wait_metric(p.mport_a, "stpgate_streams_active", 0, 20)
	wait_metric(p.mport_b, "stpgate_streams_active", 0, 20)
	time.sleep(1)
	rss0 = {g.name: rss_kib(g.pid) for g in (p.a, p.b)}
	say("RSS before: alice %d KiB, bob %d KiB" % (rss0["alice"], rss0["bob"]))

	socks, failed, first, dt = open_many(p.fport, n, 240)
	r.ok(len(socks) == n, "%d connections opened, each echoed %d bytes" % (n, TOKEN),
	    "%d opened, %d failed, first: %s" % (len(socks), failed, first))
	say("scale: %d connections opened and echoed in %.1f s (%.0f per second, "
	    "%d being set up at once)" % (len(socks), dt, len(socks) / dt, INFLIGHT))
	if len(socks) == n:
		ok, first = echo_all(socks, 120)
		r.ok(ok == n, "with all %d open, each echoes again" % n, "%d did; %s" % (
		    ok, first))
		for port, who in ((p.mport_a, "alice"), (p.mport_b, "bob")):
			v = wait_metric(port, "stpgate_streams_active", n, 20)
			r.ok(v == n, "%s's metrics: stpgate_streams_active %d" % (who, n),
			    "says %s" % v)
		c = echo.count()
		r.ok(c == n, "the echo service holds %d connections" % n, "holds %d" % c)
	time.sleep(1)
	rss1 = {g.name: rss_kib(g.pid) for g in (p.a, p.b)}
	per = {}
	for who in ("alice", "bob"):
		per[who] = (rss1[who] - rss0[who]) * 1024.0 / max(1, len(socks))
		say("RSS with %d idle connections: %s %d KiB (+%d KiB, %.0f bytes per "
		    "connection)" % (len(socks), who, rss1[who], rss1[who] - rss0[who],
		    per[who]))
		r.ok(per[who] < 32 * 1024, "%s: RSS growth per connection below a gross "
		    "32 KiB (%.2f KiB; target 4 KiB of our own beyond libuv's handle)" % (
		    who, per[who] / 1024))
	t0 = time.monotonic()
	close_all(socks)
	va = wait_metric(p.mport_a, "stpgate_streams_active", 0, 60)
	vb = wait_metric(p.mport_b, "stpgate_streams_active", 0, 60)
	r.ok(va == 0 and vb == 0, "all closed: both gateways count 0 active streams "
	    "(%.1f s)" % (time.monotonic() - t0), "alice %s, bob %s" % (va, vb))
	rss2 = {g.name: rss_kib(g.pid) for g in (p.a, p.b)}
	say("RSS after closing: alice %d KiB, bob %d KiB" % (rss2["alice"], rss2["bob"]))
	r.ok(p.a.running() and p.b.running(), "both gateways still running")
	say("figures: %d connections open in %.1f s; RSS per idle connection: alice "
	    "%.0f B, bob %.0f B" % (len(socks), dt, per["alice"], per["bob"]))
	p.stop()


def limits(h, echo):
	r = h.r
	cases = (
	    ("alice", "max_streams", r"app connection for echo closed: 20 streams "
	        r"open, the limit \(limits\.max_streams\)"),
	    ("bob", "max_streams", r"stream refused: echo: 20 streams open, the limit "
	        r"\(limits\.max_streams\)"),
	    ("alice", "max_connections", r"connection refused: 20 connections open, "
	        r"the limit \(limits\.max_connections\)"),
	    ("bob", "max_connections", r"stream refused: echo: connection limit "
	        r"\(limits\.max_connections\) reached"),
	)
	for who, key, rx in cases:
		name = "-%s-%s" % (who, key.replace("_", ""))
		lim = {key: 20}
		p = Pair(h, echo.port, la=lim if who == "alice" else None,
		    lb=lim if who == "bob" else None, name=name)
		if not p.up:
			continue
		g = p.a if who == "alice" else p.b
		mport = p.mport_a if who == "alice" else p.mport_b
		m0 = hlib.scrape(mport)
		held, failed, first, _ = open_many(p.fport, 20, 30)
		r.ok(len(held) == 20, "%s %s 20: 20 connections echo" % (who, key),
		    "%d failed: %s" % (failed, first))
		extra = [app_closed_within(p.fport, 10, b"x" * TOKEN) for _ in range(5)]
		closed = [e for e in extra if e[0] in ("eof", "reset") and e[2] == 0]
		r.ok(len(closed) == 5, "%s %s 20: the 21st to 25th connections are closed "
		    "without a byte" % (who, key), "%r" % (extra,))
		line = g.wait_log(rx, 10)
		r.ok(line is not None, "%s logs the limit by name" % who, "no line like /%s/" % rx)
		if line:
			say("%s: %s" % (who, line.split(" ", 2)[-1]))
		if who == "bob":
			la = p.a.wait_log(r"refused by the peer", 5)
			r.ok(la is not None, "alice logs the stream refused by the peer")
		m1 = hlib.scrape(mport)
		for metric, lab in (("stpgate_limits_hit_total", {}),
		    ("stpgate_streams_refused_total", {"reason": "limit"})):
			if key == "max_connections" and who == "alice" and lab:
				continue   # refused before it is a stream
			d = hlib.metric(m1, metric, **lab) - hlib.metric(m0, metric, **lab)
			r.ok(d >= 5, "%s's metrics: %s%s rose by 5" % (who, metric,
			    "{reason=limit}" if lab else ""), "rose by %d" % d)
		close_all(held)
		wait_metric(p.mport_a, "stpgate_streams_active", 0, 20)
		wait_metric(p.mport_b, "stpgate_streams_active", 0, 20)
		again, failed, first, _ = open_many(p.fport, 1, 20)
		r.ok(len(again) == 1, "%s %s: after the 20 closed, a new connection echoes"
		    % (who, key), first or "")
		close_all(again)
		r.ok(p.a.running() and p.b.running(), "both gateways still running")
		p.stop()


def main():
	if len(sys.argv) == 2 and sys.argv[1] == "--echo-server":
		echo_server()
		return
	ap = argparse.ArgumentParser()
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--workers", type=workers_arg, default=2)
	ap.add_argument("--conns", type=int, default=10000)
	ap.add_argument("--keep", action="store_true")
	args = ap.parse_args()
	want = args.conns * 2 + 1000
	got = hlib.raise_nofile(want)
	say("RLIMIT_NOFILE: %d (wanted %d)" % (got, want))
	if got < args.conns + 200:
		print("SKIPPED: RLIMIT_NOFILE cannot be raised above %d here, too few for "
		    "%d connections" % (got, args.conns))
		sys.exit(77)
	h = Harness(args.stpgate, workers=args.workers, keep=args.keep, timeout=280)
	echo = EchoProc(h)
	try:
		scale(h, echo, args.conns)
		limits(h, echo)
	finally:
		echo.close()
	sys.exit(h.finish())


if __name__ == "__main__":
	main()

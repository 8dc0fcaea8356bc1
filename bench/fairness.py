#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
fairness.py: an interactive stream beside 8 bulk streams, all over one stpgate
session across a slow, far link, and the same traffic over plain TCP (issue
17, "Fair streams, no head-of-line surprise": the measurement, no tuning).
Run it through bench/fairness.sh, which installs gnuplot and builds stpgate
first.

The link is distance.py's (bench/benchlib.py's Link): two network
namespaces of our own (stpfair-<pid>-a and -b) with TUN devices joined by
tests/hardening/hlib.py's link emulator, each direction a drop-tail queue of
one bandwidth-delay product (--queue-bdp) in front of a serializer at
--rate (default 100 Mbit/s, a fixed rate: the emulator and the Python
traffic here share the CPUs with the gateways, so the rate is kept well
below what distance.py calibrates to), then RTT/2 of delay (--rtt, default
50 ms).  No loss, no jitter.

alice runs in A with two forwards, bob in B with two services, both in the
default configuration (no workers:, flow: or limits: lines):
  rr    a responder in B: each SIZE-byte request (64) gets a SIZE-byte
        response (the request, every byte XOR 0x5A), checked by the client
  bulk  a source/sink in B: a stream that says "D" is sent bytes as fast as
        the connection takes them (a download: B -> A, the direction of the
        responses, where a response can queue behind bulk bytes: the
        head-of-line case); one that says "U" is read and counted (--upload)

The interactive loop (in A) sends a request, waits for the whole response,
records the time, and sends the next at once.  The bulk client (in A) opens
8 (--streams) connections and counts each one's bytes every 0.1 s; for
uploads the sink in B counts.  Every helper is a process of its own (this
file with a role as its first argument), so one does not wait on another's
Python lock.  Times are CLOCK_MONOTONIC, the same in every namespace.

The phases, every stpgate one over the same session (alice and bob start
once; the number of "session up" lines is checked at the end):
  idle      the interactive loop alone, IDLE seconds (20; --quick 8), through
            stpgate and then directly to the responder's address in B
  loaded    8 bulk streams and the interactive loop at once; WARM seconds
            (5; --quick 3) from the moment all 8 are connected are not
            counted, then TIME seconds (30; --quick 12) are.  Per stream:
            bytes over the measured interval.  Interactive: the requests
            sent in it (the last one's answer waited for, however late).  RUNS (2; --quick 1) of each system, stpgate and
            direct taking turns (A B, B A, ...); downloads, then uploads
            with --upload.

Targets (stpgate; direct TCP is shown beside them, not judged):
  - interactive p99 under load <= idle p99 + one RTT + 10 ms
  - each bulk stream's throughput within +-20% of the mean of the 8, in
    every run
The bench reports PASS or FAIL per target and exits 0 either way (non-zero
only when it could not measure).  Writes bench/results/<date>-<host>-fairness
.md (and -quick with --quick), a .json of every phase and a .png plot.

Root is needed (namespaces, TUN).  Every process started is killed by PID,
the namespaces deleted, at exit; a watchdog ends the run after --max-seconds.

usage: fairness.py --stpgate PATH [--quick] [--rtt MS] [--rate MBIT]
       [--queue-bdp F] [--streams N] [--size B] [--idle S] [--warm S]
       [--time S] [--runs N] [--upload] [--cc NAME] [--out DIR] [--keep]
       [--seed S] [--max-seconds S]
"""

import argparse
import json
import math
import os
import selectors
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "hardening"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import benchlib  # noqa: E402
from benchlib import (ADDR_B, Link, cpu_ticks_of, cpu_shares, fmt,  # noqa: E402
    gateway_pair, listening, loadavg, port_of, queue_limit, ss, start_pair)
from gwlib import HOST, peer_line, recv_exact, say, spawn  # noqa: E402

HELLO = struct.Struct(">cII")     # mode (b"D" or b"U"), phase tag, stream index
CHUNK = 256 * 1024
SAMPLE = 0.1                      # seconds between the bulk counters' lines
XOR = 0x5A


# ---------------------------------------------------------------------------
# the helpers (each a process of its own: `fairness.py ROLE ARGS...`)
# ---------------------------------------------------------------------------

def _listener(port):
	ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind(("0.0.0.0", port))
	ls.listen(128)
	return ls


def _answer(req):
	return (int.from_bytes(req, "big") ^ int.from_bytes(bytes([XOR]) * len(req),
	    "big")).to_bytes(len(req), "big")


def role_respond(port, size):
	"""The responder: every size-byte request gets its answer at once; one
	thread per connection."""
	ls = _listener(port)

	def serve(c):
		c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
		try:
			while True:
				req = recv_exact(c, size, eof_ok=True)
				if req is None:
					break
				c.sendall(_answer(req))
		except OSError:
			pass
		finally:
			c.close()
	while True:
		c, _ = ls.accept()
		threading.Thread(target=serve, args=(c,), daemon=True).start()


def role_rr(host, port, size, out):
	"""The interactive loop: request, whole response, next request.  Writes
	`connected T`, then `T MS` per answer (T: when the request was sent),
	`bad SEQ` for a wrong answer, `error WHAT` if the connection ends."""
	with open(out, "w", buffering=1) as f:
		try:
			s = socket.create_connection((host, port), timeout=10)
		except OSError as e:
			f.write("error connect: %r\n" % e)
			return
		s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
		s.settimeout(60)
		f.write("connected %.6f\n" % time.monotonic())
		pad = bytes(range(256)) * (size // 256 + 1)
		seq = 0
		while True:
			seq += 1
			req = struct.pack(">Q", seq) + pad[:size - 8]
			t0 = time.monotonic()
			try:
				s.sendall(req)
				resp = recv_exact(s, size, eof_ok=True)
			except OSError as e:
				f.write("error %r\n" % e)
				return
			t1 = time.monotonic()
			if resp is None:
				f.write("error the connection ended\n")
				return
			if resp != _answer(req):
				f.write("bad %d\n" % seq)
			f.write("%.6f %.3f\n" % (t0, (t1 - t0) * 1000.0))


def role_bulkserve(port, out):
	"""The bulk service: reads a hello; "D": sends as fast as the connection
	takes it until the client closes; "U": reads and counts.  Every 0.1 s
	while any "U" stream is open: `T {"TAG:I": bytes read so far}`."""
	ls = _listener(port)
	ls.setblocking(False)
	sel = selectors.DefaultSelector()
	sel.register(ls, selectors.EVENT_READ, None)
	payload = memoryview(os.urandom(CHUNK))
	buf = bytearray(CHUNK)
	counts = {}
	uploads = 0
	nxt = time.monotonic()
	with open(out, "w", buffering=1) as f:
		while True:
			now = time.monotonic()
			if now >= nxt:
				if uploads:
					f.write("%.6f %s\n" % (now, json.dumps(counts)))
				nxt = now + SAMPLE
			for key, ev in sel.select(max(0.0, nxt - now)):
				if key.data is None:
					try:
						c, _ = ls.accept()
					except OSError:
						continue
					c.setblocking(False)
					sel.register(c, selectors.EVENT_READ, {"hello": b""})
					continue
				c, st = key.fileobj, key.data
				try:
					if "mode" not in st:
						d = c.recv(HELLO.size - len(st["hello"]))
						if not d:
							raise EOFError
						st["hello"] += d
						if len(st["hello"]) == HELLO.size:
							mode, tag, i = HELLO.unpack(st["hello"])
							st["mode"] = mode
							st["key"] = "%d:%d" % (tag, i)
							if mode == b"D":
								sel.modify(c, selectors.EVENT_READ |
								    selectors.EVENT_WRITE, st)
							else:
								counts[st["key"]] = 0
								uploads += 1
						continue
					if ev & selectors.EVENT_WRITE:
						c.send(payload)
					if ev & selectors.EVENT_READ:
						k = c.recv_into(buf)
						if k == 0:
							raise EOFError
						if st["mode"] == b"U":
							counts[st["key"]] += k
				except (BlockingIOError, InterruptedError):
					continue
				except (OSError, EOFError):
					sel.unregister(c)
					c.close()
					if st.get("mode") == b"U":
						uploads -= 1
						f.write("%.6f %s\n" % (time.monotonic(), json.dumps(counts)))


def role_bulkget(host, port, n, mode, tag, out):
	"""The bulk client: n connections, each with a hello; "D": reads and
	counts; "U": sends as fast as it can (the sink counts).  Writes
	`connected T` once all n are open, then every 0.1 s `T B0 ... Bn-1`
	(bytes read, or sent, per stream so far), `closed I` or `error I WHAT`."""
	with open(out, "w", buffering=1) as f:
		socks = []
		for i in range(n):
			try:
				s = socket.create_connection((host, port), timeout=10)
				s.sendall(HELLO.pack(mode.encode(), tag, i))
			except OSError as e:
				f.write("error %d connect: %r\n" % (i, e))
				return
			s.setblocking(False)
			socks.append(s)
		f.write("connected %.6f\n" % time.monotonic())
		sel = selectors.DefaultSelector()
		for i, s in enumerate(socks):
			sel.register(s, selectors.EVENT_READ if mode == "D" else
			    selectors.EVENT_WRITE, i)
		payload = memoryview(os.urandom(CHUNK))
		buf = bytearray(CHUNK)
		counts = [0] * n
		nxt = time.monotonic()
		while True:
			now = time.monotonic()
			if now >= nxt:
				f.write("%.6f %s\n" % (now, " ".join(str(x) for x in counts)))
				nxt += SAMPLE
				if nxt < now:
					nxt = now + SAMPLE
			for key, _ in sel.select(max(0.0, nxt - now)):
				s, i = key.fileobj, key.data
				try:
					if mode == "D":
						k = s.recv_into(buf)
						if k == 0:
							f.write("closed %d\n" % i)
							sel.unregister(s)
							continue
					else:
						k = s.send(payload)
				except (BlockingIOError, InterruptedError):
					continue
				except OSError as e:
					f.write("error %d %r\n" % (i, e))
					sel.unregister(s)
					continue
				counts[i] += k


ROLES = {
	"respond": (role_respond, (int, int)),
	"rr": (role_rr, (str, int, int, str)),
	"bulkserve": (role_bulkserve, (int, str)),
	"bulkget": (role_bulkget, (str, int, int, str, int, str)),
}


# ---------------------------------------------------------------------------
# reading what the helpers wrote
# ---------------------------------------------------------------------------

def read_lines(path):
	try:
		with open(path) as f:
			return f.read().splitlines()
	except OSError:
		return []


def wait_connected(path, proc, timeout):
	"""The `connected T` of a helper's file, waiting up to timeout; None if it
	did not come (the helper's error lines are then the reason)."""
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		for line in read_lines(path):
			if line.startswith("connected "):
				return float(line.split()[1])
		if proc.poll() is not None:
			break
		time.sleep(0.05)
	return None


def wait_rr_past(path, proc, t1, timeout):
	"""Wait until the interactive loop has sent a request at or after t1:
	it is sequential, so every request sent before t1 has its answer (the
	slowest answers come last and must not be cut off).  False if it did
	not within timeout (the wait is then cut short: see the errors)."""
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline and proc.poll() is None:
		lines = read_lines(path)
		for line in reversed(lines[-5:]):
			w = line.split()
			if w and w[0] == "error":
				return False
			if len(w) == 2 and w[0][0].isdigit() and float(w[0]) >= t1:
				return True
		time.sleep(0.05)
	return False


def rr_samples(path):
	"""(samples [(t, ms)], wrong answers, error lines) of an rr file."""
	out, bad, errs = [], 0, []
	for line in read_lines(path):
		w = line.split()
		if not w or w[0] == "connected":
			continue
		if w[0] == "bad":
			bad += 1
		elif w[0] == "error":
			errs.append(line[6:])
		elif len(w) == 2:
			try:
				out.append((float(w[0]), float(w[1])))
			except ValueError:
				pass
	return out, bad, errs


def bulk_counts(path, n):
	"""[(t, [bytes per stream])] of a bulkget file, and its other lines."""
	out, other = [], []
	for line in read_lines(path):
		w = line.split()
		if len(w) == n + 1:
			try:
				out.append((float(w[0]), [int(x) for x in w[1:]]))
				continue
			except ValueError:
				pass
		if w and w[0] != "connected":
			other.append(line)
	return out, other


def sink_counts(path, tag, n):
	"""[(t, [bytes per stream])] of this phase's streams from the sink's
	file (uploads)."""
	out = []
	for line in read_lines(path):
		t, _, js = line.partition(" ")
		try:
			d = json.loads(js)
			t = float(t)
		except ValueError:
			continue
		keys = ["%d:%d" % (tag, i) for i in range(n)]
		if all(k in d for k in keys):
			out.append((t, [d[k] for k in keys]))
	return out


def window_rates(series, t0, t1):
	"""Per stream Mbit/s between the first sample at or after t0 and the
	last at or before t1; (rates, seconds) or (None, 0)."""
	inside = [s for s in series if t0 - 0.001 <= s[0] <= t1 + 0.001]
	if len(inside) < 2:
		return None, 0.0
	(ta, a), (tb, b) = inside[0], inside[-1]
	dt = tb - ta
	if dt <= 0:
		return None, 0.0
	return [(y - x) * 8 / dt / 1e6 for x, y in zip(a, b)], dt


def pct(xs, p):
	"""The p-th percentile, nearest rank."""
	if not xs:
		return None
	xs = sorted(xs)
	return xs[max(0, min(len(xs) - 1, int(math.ceil(p / 100.0 * len(xs))) - 1))]


def jain(xs):
	if not xs or not any(xs):
		return None
	return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs))


# ---------------------------------------------------------------------------
# the bench
# ---------------------------------------------------------------------------

class Bench:
	def __init__(self, args, link, h):
		self.a = args
		self.link = link
		self.h = h
		self.rport = h.port()      # the responder, in namespace B
		self.bport = h.port()      # the bulk source/sink, in namespace B
		self.gport = h.port()      # bob's listener on ADDR_B
		self.frr = h.port()        # alice's forwards, 127.0.0.1 in A
		self.fbulk = h.port()
		self.tmp = h.dir
		self.tag = 0
		self.idle = {}             # system -> phase record
		self.loaded = []           # phase records
		self.ga = self.gb = None
		self.sink = None
		self.sink_out = os.path.join(self.tmp, "sink.log")

	# ---- helpers and gateways ----

	def helper(self, ns, name, *argv):
		"""This file with a role, in namespace ns; killed at exit."""
		log = os.path.join(self.tmp, name + ".err")
		return spawn(["ip", "netns", "exec", ns, sys.executable,
		    os.path.abspath(__file__)] + [str(x) for x in argv], log)

	def start_services(self):
		b = self.link.b
		self.resp = self.helper(b, "respond", "respond", self.rport, self.a.size)
		self.sink = self.helper(b, "bulkserve", "bulkserve", self.bport,
		    self.sink_out)
		for port, p, what in ((self.rport, self.resp, "responder"),
		    (self.bport, self.sink, "bulk service")):
			if not listening(b, port, p):
				raise RuntimeError("the %s did not start in %s (see %s)" % (what, b,
				    os.path.join(self.tmp, "*.err")))
		say("responder (pid %d) on :%d and bulk service (pid %d) on :%d in %s" % (
		    self.resp.pid, self.rport, self.sink.pid, self.bport, b))

	def start_gateways(self):
		self.ga, self.gb = gateway_pair(self.h, self.link, self.gport,
		    {"rr": (self.rport, ["alice"]), "bulk": (self.bport, ["alice"])},
		    [(self.frr, "bob", "rr"), (self.fbulk, "bob", "bulk")])
		start_pair(self.h, self.ga, self.gb)

	def session_ups(self):
		return len(self.ga.grep(peer_line("bob", "session up")))

	def target(self, system):
		if system == "stpgate":
			return HOST, self.frr, self.fbulk
		return ADDR_B, self.rport, self.bport

	def pids(self):
		return {"emu": self.link.emu.pid, "alice": self.ga.pid, "bob": self.gb.pid}

	def snapshot(self, system, direction):
		"""Where the bytes wait (`ss` in both namespaces), at one moment: the
		sending end of the TCP connection(s) that cross the link (stpgate:
		the session's; direct: the bulk connections', summed), and for
		stpgate what the gateways hold back from or for the apps."""
		sa, sb = ss(self.link.a), ss(self.link.b)
		down = direction == "down"
		port = port_of
		out = {}
		if system == "stpgate":
			at_b = [d for d in sb if port(d["local"]) == self.gport]
			at_a = [d for d in sa if d["peer"] == "%s:%d" % (ADDR_B, self.gport)]
			snd, rcv = (at_b, at_a) if down else (at_a, at_b)
			# the gateways' ends of the app connections of the bulk streams
			bob_app = [d for d in sb if port(d["peer"]) == self.bport]
			alice_app = [d for d in sa if port(d["local"]) == self.fbulk]
			g_in, g_out = (bob_app, alice_app) if down else (alice_app, bob_app)
			if g_in:
				out["gw_in_recvq"] = sum(d["recvq"] for d in g_in)
			if g_out:
				out["gw_out_sendq"] = sum(d["sendq"] for d in g_out)
		else:
			snd = [d for d in sb if port(d["local"]) == self.bport] if down else \
			    [d for d in sa if d["peer"] == "%s:%d" % (ADDR_B, self.bport)]
			rcv = [d for d in sa if d["peer"] == "%s:%d" % (ADDR_B, self.bport)] \
			    if down else [d for d in sb if port(d["local"]) == self.bport]
		if snd:
			out["sendq"] = sum(d["sendq"] for d in snd)
			out["notsent"] = sum(d.get("notsent", 0) for d in snd)
			rtts = [d["rtt_ms"] for d in snd if d.get("rtt_ms") is not None]
			if rtts:
				out["rtt"] = statistics.median(rtts)
		if rcv:
			out["recvq"] = sum(d["recvq"] for d in rcv)
		return out

	def stop(self, *procs):
		for p in procs:
			if p.poll() is None:
				try:
					os.kill(p.pid, signal.SIGTERM)
				except OSError:
					pass
		for p in procs:
			try:
				p.wait(timeout=5)
			except subprocess.TimeoutExpired:
				os.kill(p.pid, signal.SIGKILL)
				p.wait(timeout=5)

	@staticmethod
	def sleep_until(t):
		while True:
			left = t - time.monotonic()
			if left <= 0:
				return
			time.sleep(min(left, 0.5))

	# ---- the phases ----

	def idle_phase(self, system):
		a = self.a
		host, rport, _ = self.target(system)
		self.tag += 1
		out = os.path.join(self.tmp, "rr-%d.log" % self.tag)
		rr = self.helper(self.link.a, "rr-%d" % self.tag, "rr", host, rport, a.size, out)
		t_conn = wait_connected(out, rr, 15)
		if t_conn is None:
			self.stop(rr)
			raise RuntimeError("%s idle: the interactive client did not connect: %s" % (
			    system, "; ".join(read_lines(out))[:300]))
		# the first answers include opening the stream: not counted
		t0 = t_conn + 0.5
		t1 = t0 + a.idle
		self.sleep_until(t1)
		if not wait_rr_past(out, rr, t1, 60):
			say("%s idle: the last request sent before the end has no answer after "
			    "60 s" % system)
		self.stop(rr)
		samples, bad, errs = rr_samples(out)
		lat = [ms for t, ms in samples if t0 <= t < t1]
		rec = {"system": system, "phase": "idle", "tag": self.tag, "secs": a.idle,
		    "lat": lat, "bad": bad, "errors": errs}
		self.idle[system] = rec
		say("%-7s idle: %d answers, p50 %s ms, p99 %s ms, max %s ms%s" % (system,
		    len(lat), fmt(pct(lat, 50)), fmt(pct(lat, 99)), fmt(max(lat) if lat else None),
		    "; %d wrong answers, errors: %s" % (bad, errs) if bad or errs else ""))
		return rec

	def loaded_phase(self, system, direction, run):
		a = self.a
		host, rport, bport = self.target(system)
		self.tag += 1
		tag = self.tag
		bout = os.path.join(self.tmp, "bulk-%d.log" % tag)
		rout = os.path.join(self.tmp, "rr-%d.log" % tag)
		mode = "D" if direction == "down" else "U"
		bulk = self.helper(self.link.a, "bulk-%d" % tag, "bulkget", host, bport,
		    a.streams, mode, tag, bout)
		rr = self.helper(self.link.a, "rr-%d" % tag, "rr", host, rport, a.size, rout)
		t_conn = wait_connected(bout, bulk, 20)
		r_conn = wait_connected(rout, rr, 5)
		if t_conn is None or r_conn is None:
			self.stop(bulk, rr)
			raise RuntimeError("%s loaded: a client did not connect: bulk: %s; rr: %s" % (
			    system, "; ".join(read_lines(bout))[:300], "; ".join(read_lines(rout))[:300]))
		t0 = max(t_conn, r_conn) + a.warm
		t1 = t0 + a.time
		self.sleep_until(t0)
		pids = self.pids()
		c0 = cpu_ticks_of(pids)
		self.link.zero()
		w0 = time.monotonic()
		snaps = []
		for frac in (0.25, 0.5, 0.75):
			self.sleep_until(t0 + frac * a.time)
			snaps.append(self.snapshot(system, direction))
		self.sleep_until(t1)
		c1 = cpu_ticks_of(pids)
		wall = time.monotonic() - w0
		emu = self.link.counters()
		self.sleep_until(t1 + 2 * SAMPLE + 0.05)
		# the bulk streams go on while the last answers come
		if not wait_rr_past(rout, rr, t1, 60):
			say("%s loaded: the last request sent before the end has no answer "
			    "after 60 s" % system)
		self.stop(bulk, rr)
		samples, bad, errs = rr_samples(rout)
		lat = [ms for t, ms in samples if t0 <= t < t1]
		if direction == "down":
			series, other = bulk_counts(bout, a.streams)
		else:
			series = sink_counts(self.sink_out, tag, a.streams)
			other = [l for l in read_lines(bout) if l.startswith(("error", "closed"))]
		rates, dt = window_rates(series, t0, t1)
		rec = {"system": system, "phase": "loaded", "direction": direction, "run": run,
		    "tag": tag, "secs": a.time, "measured": round(dt, 3), "lat": lat,
		    "lat_t": [round(t - t0, 4) for t, ms in samples if t0 <= t < t1],
		    "bad": bad, "errors": errs, "bulk_errors": other, "rates": rates,
		    "snapshots": snaps, "emu": emu, "cpu": cpu_shares(c0, c1, wall)}
		self.loaded.append(rec)
		say("%-7s loaded (%s, run %d): interactive %d answers, p50 %s, p99 %s, max %s "
		    "ms; bulk %s Mbit/s in all, streams %s%s" % (system, direction, run + 1,
		    len(lat), fmt(pct(lat, 50)), fmt(pct(lat, 99)), fmt(max(lat) if lat else None),
		    fmt(sum(rates)) if rates else "-",
		    " ".join(fmt(x) for x in rates) if rates else "-",
		    "; errors: %s %s" % (errs, other) if errs or other else ""))
		return rec

	def run(self):
		a = self.a
		for system in ("stpgate", "direct"):
			self.idle_phase(system)
		for direction in ["down"] + (["up"] if a.upload else []):
			for i in range(a.runs):
				order = ("stpgate", "direct") if i % 2 == 0 else ("direct", "stpgate")
				for system in order:
					self.loaded_phase(system, direction, i)


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------

def summary(b):
	"""Per (system, direction): pooled latencies, per-run rates, verdicts."""
	a = b.a
	out = {}
	for direction in ["down"] + (["up"] if a.upload else []):
		for system in ("stpgate", "direct"):
			rs = [r for r in b.loaded if r["system"] == system and
			    r["direction"] == direction]
			lat = [x for r in rs for x in r["lat"]]
			idle = b.idle[system]["lat"]
			runs = [r["rates"] for r in rs if r["rates"]]
			spread = []
			for rates in runs:
				m = statistics.mean(rates)
				spread.append((min(rates) / m - 1, max(rates) / m - 1) if m > 0
				    else (-1.0, -1.0))
			per_stream = [statistics.mean(r[i] for r in runs) for i in
			    range(a.streams)] if runs else []
			s = {"lat": lat, "idle": idle,
			    "p50": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat) if lat else None,
			    "idle_p50": pct(idle, 50), "idle_p99": pct(idle, 99),
			    "idle_max": max(idle) if idle else None,
			    "total": statistics.mean(sum(r) for r in runs) if runs else None,
			    "totals": [sum(r) for r in runs], "spread": spread,
			    "jain": [jain(r) for r in runs], "per_stream": per_stream,
			    "runs": rs}
			s["lat_ok"] = (s["p99"] is not None and s["idle_p99"] is not None and
			    s["p99"] <= s["idle_p99"] + a.rtt + 10)
			s["share_ok"] = bool(spread) and all(lo >= -0.2 and hi <= 0.2
			    for lo, hi in spread)
			s["bad"] = sum(r["bad"] for r in rs) + b.idle[system]["bad"]
			s["errors"] = [e for r in rs for e in r["errors"] + r["bulk_errors"]]
			out[(system, direction)] = s
	return out


def report(b, a, t_start, link_info):
	stamp, md_path, png = benchlib.report_paths(a, "fairness")
	elapsed = time.monotonic() - t_start
	ver = benchlib.stpgate_version(a.stpgate)
	S = summary(b)
	dirs = ["down"] + (["up"] if a.upload else [])
	dname = {"down": "downloads (B → A, the responses' direction)",
	    "up": "uploads (A → B, the requests' direction)"}
	bound = a.rtt + 10
	ups = b.session_ups()

	def pf(ok):
		return "**PASS**" if ok else "**FAIL**"

	def spread_txt(s):
		if not s["spread"]:
			return "-"
		lo = min(x[0] for x in s["spread"])
		hi = max(x[1] for x in s["spread"])
		return "%+.0f%% … %+.0f%%" % (100 * lo, 100 * hi)

	L = []
	L.append("# Fair streams over one session: an interactive stream beside %d bulk "
	    "ones" % a.streams)
	L.append("")
	L.extend(benchlib.environment_lines(a, elapsed,
	    "the emulator, the Python clients and the gateways"))
	L.append("- %s (%s), default configuration (no `workers:`, `flow:` or `limits:` "
	    "lines)" % (ver, a.stpgate))
	L.append("- TCP in both namespaces: congestion control %s, tcp_rmem %s, tcp_wmem "
	    "%s, tcp_no_metrics_save 1" % (link_info["cc"], link_info["rmem"],
	    link_info["wmem"]))
	L.append("- link: two namespaces, TUN devices (MTU 1500) joined by "
	    "tests/hardening/hlib.py's userspace emulator: per direction a drop-tail "
	    "queue of %g× the bandwidth-delay product (%.0f KiB, at least 64 packets), "
	    "a serializer at **%g Mbit/s**%s, RTT **%g ms** (%g ms each way); no loss, "
	    "no jitter. A full queue adds %.0f ms." % (a.queue_bdp, b_qlimit(a) / 1024,
	    a.rate, " (a fixed rate, not calibrated)" if not a.rate_given else
	    " (given)", a.rtt, a.rtt / 2.0, b_qlimit(a) * 8 / (a.rate * 1e6) * 1000))
	L.append("- interactive: a %d-byte request, a %d-byte answer (checked), the next "
	    "request at once; idle: %g s alone; loaded: beside %d bulk streams, %g s "
	    "warm-up not counted, then %g s counted; %d run(s) per system and "
	    "direction, stpgate and direct taking turns. All stpgate phases over one "
	    "session (alice logged \"session up\" %d time%s)." % (a.size, a.size,
	    a.idle, a.streams, a.warm, a.time, a.runs, ups, "" if ups == 1 else
	    "s: **the session restarted**"))
	L.append("- direct: the same clients, to the responder's and the bulk "
	    "service's address in B (%d plain TCP connections for the bulk)." % a.streams)
	L.append("")
	L.append("## Targets")
	L.append("")
	L.append("The bench reports; it exits 0 on a FAIL. Direct TCP is shown for "
	    "reference (what TCP itself does on this link), not judged.")
	L.append("")
	L.append("| bulk | what | stpgate | direct TCP | target (stpgate) | result |")
	L.append("|---|---|---:|---:|---|:---:|")
	for d in dirs:
		s, t = S[("stpgate", d)], S[("direct", d)]
		dd = "down" if d == "down" else "up"
		L.append("| %s | interactive idle p50 / p99 ms | %s / %s | %s / %s | | |" % (
		    dd, fmt(s["idle_p50"]), fmt(s["idle_p99"]), fmt(t["idle_p50"]),
		    fmt(t["idle_p99"])))
		L.append("| %s | interactive loaded p50 / p99 / max ms | %s / %s / %s | "
		    "%s / %s / %s | | |" % (dd, fmt(s["p50"]), fmt(s["p99"]), fmt(s["max"]),
		    fmt(t["p50"]), fmt(t["p99"]), fmt(t["max"])))
		def rise(x):
			if x["p99"] is None or x["idle_p99"] is None:
				return "-"
			return fmt(x["p99"] - x["idle_p99"])
		L.append("| %s | loaded p99 − idle p99, ms | %s | %s | ≤ RTT + 10 = %g | %s |" % (
		    dd, rise(s), rise(t), bound, pf(s["lat_ok"])))
		L.append("| %s | bulk streams: slowest … fastest vs the mean | %s | %s | "
		    "within ±20%% in every run | %s |" % (dd, spread_txt(s), spread_txt(t),
		    pf(s["share_ok"])))
		ratio = s["total"] / t["total"] if s["total"] and t["total"] else None
		L.append("| %s | bulk total Mbit/s (mean over runs) | %s | %s | "
		    "(stpgate ÷ direct %s; no target) | |" % (dd, fmt(s["total"]),
		    fmt(t["total"]), fmt(ratio, 2)))
	L.append("")
	errs = []
	for (system, d), s in S.items():
		if s["bad"]:
			errs.append("%s %s: %d wrong answers" % (system, d, s["bad"]))
		if s["errors"]:
			errs.append("%s %s: %s" % (system, d, "; ".join(s["errors"])[:400]))
	if errs:
		L.append("Errors: " + " / ".join(errs))
		L.append("")
	L.append("![latency CDF and per-stream throughput](%s)" % png)
	L.append("")
	L.append("## Interactive latency")
	L.append("")
	L.append("Milliseconds from writing a request to reading its whole answer, for "
	    "the requests sent in the counted interval (loaded: all runs pooled). The bare link's round trip "
	    "is %g ms plus two %d-byte packets' serialization." % (a.rtt, a.size + 52))
	L.append("")
	L.append("| system | phase | answers | p50 | p90 | p99 | max |")
	L.append("|---|---|---:|---:|---:|---:|---:|")
	for system in ("stpgate", "direct"):
		lat = b.idle[system]["lat"]
		L.append("| %s | idle | %d | %s | %s | %s | %s |" % (system, len(lat),
		    fmt(pct(lat, 50)), fmt(pct(lat, 90)), fmt(pct(lat, 99)),
		    fmt(max(lat) if lat else None)))
		for d in dirs:
			lat = S[(system, d)]["lat"]
			L.append("| %s | loaded, %s | %d | %s | %s | %s | %s |" % (system,
			    "downloads" if d == "down" else "uploads", len(lat),
			    fmt(pct(lat, 50)), fmt(pct(lat, 90)), fmt(pct(lat, 99)),
			    fmt(max(lat) if lat else None)))
	L.append("")
	L.append("## Bulk streams")
	L.append("")
	L.append("Mbit/s of each stream over the counted interval (%s, bytes the "
	    "receiving app read), per run; Jain's index: 1 is an equal share." % (
	    ", ".join(dname[d] for d in dirs)))
	L.append("")
	cols = [(r["system"], r["direction"], r["run"]) for r in b.loaded if r["rates"]]
	recs = [r for r in b.loaded if r["rates"]]
	L.append("| stream | " + " | ".join("%s %s #%d" % (s, "down" if d == "down" else
	    "up", i + 1) for s, d, i in cols) + " |")
	L.append("|---:|" + "---:|" * len(cols))
	for i in range(a.streams):
		L.append("| %d | " % (i + 1) + " | ".join(fmt(r["rates"][i]) for r in recs)
		    + " |")
	L.append("| total | " + " | ".join(fmt(sum(r["rates"])) for r in recs) + " |")
	L.append("| slowest, fastest vs mean | " + " | ".join("%+.0f%%, %+.0f%%" % (
	    100 * (min(r["rates"]) / statistics.mean(r["rates"]) - 1),
	    100 * (max(r["rates"]) / statistics.mean(r["rates"]) - 1))
	    if statistics.mean(r["rates"]) > 0 else "-" for r in recs) + " |")
	L.append("| Jain's index | " + " | ".join(fmt(jain(r["rates"]), 3) for r in recs)
	    + " |")
	L.append("")
	L.append("## Where the bytes waited")
	L.append("")
	L.append("Medians of three `ss` snapshots (at 25, 50 and 75%% of each counted "
	    "interval), KiB. The sending end of what crosses the link (stpgate: the "
	    "session's TCP connection, bob's end for downloads, alice's for uploads; "
	    "direct: the %d bulk connections, summed, median sRTT) and the Recv-Q of "
	    "the receiving end. stpgate also: the Recv-Q of the sending gateway's app "
	    "connections (bytes it has not read from the bulk apps) and the Send-Q of "
	    "the receiving gateway's (bytes it wrote that the apps have not read). "
	    "Link queue: the most bytes the emulator held ahead of its serializer, as "
	    "ms at the rate (B → A / A → B); drops: its queue's overflows. CPU: "
	    "process time ÷ wall time over the counted interval." % a.streams)
	L.append("")
	L.append("| system | bulk | run | sender Send-Q | sender notsent | sender sRTT ms "
	    "| receiver Recv-Q | sending gateway, apps' Recv-Q | receiving gateway, "
	    "apps' Send-Q | link queue max ms | drops | alice CPU | bob CPU | "
	    "emulator CPU |")
	L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for r in b.loaded:
		def m(k, div=1024.0):
			v = [x.get(k) for x in r["snapshots"] if x.get(k) is not None]
			return fmt(statistics.median(v) / div) if v else "-"

		def q(dn):
			v = r["emu"].get(dn, {}).get("maxq")
			return "-" if v is None else fmt(v * 8 / (a.rate * 1e6) * 1000)
		drops = sum(v.get("overflow", 0) for v in r["emu"].values())

		def cpu(k):
			v = r["cpu"].get(k)
			return "-" if v is None else "%.0f%%" % (100 * v)
		gw = r["system"] == "stpgate"
		L.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s / %s | %d | %s | "
		    "%s | %s |" % (r["system"], r["direction"], r["run"] + 1, m("sendq"),
		    m("notsent"), m("rtt", 1.0), m("recvq"),
		    m("gw_in_recvq") if gw else "-", m("gw_out_sendq") if gw else "-",
		    q("b_to_a"), q("a_to_b"), drops, cpu("alice") if gw else "-",
		    cpu("bob") if gw else "-", cpu("emu")))
	L.append("")
	L.append("Raw records (every answer's latency, every run's rates and "
	    "snapshots): `%s`." % (stamp + ".json"))
	raw = {"args": {k: v for k, v in vars(a).items()}, "link": link_info,
	    "idle": b.idle, "loaded": b.loaded, "session_ups": ups}
	return benchlib.save_report(md_path, L, raw,
	    lambda: plot(b, a, S, dirs, os.path.join(a.out, png)))


def b_qlimit(a):
	return queue_limit(a.rate, a.rtt, a.queue_bdp)


def plot(b, a, S, dirs, png):
	"""Latency CDFs (idle and loaded, both systems) above per-stream
	throughput bars, with gnuplot as distance.py plots; the downloads only
	(uploads are in the tables)."""
	if shutil.which("gnuplot") is None:
		say("no gnuplot: no plot")
		return
	d = dirs[0]
	series = [("stpgate idle", b.idle["stpgate"]["lat"], "#7f9fff", 1),
	    ("stpgate loaded", S[("stpgate", d)]["lat"], "#1f3fbf", 2),
	    ("direct idle", b.idle["direct"]["lat"], "#8f8f8f", 1),
	    ("direct loaded", S[("direct", d)]["lat"], "#000000", 2)]
	files = []
	for i, (name, lat, color, lw) in enumerate(series):
		path = os.path.join(b.tmp, "cdf-%d.dat" % i)
		xs = sorted(lat)
		with open(path, "w") as f:
			for k, x in enumerate(xs):
				f.write("%g %g\n" % (x, (k + 1) / len(xs)))
		if xs:
			files.append((path, name, color, lw))
	bars = os.path.join(b.tmp, "bars.dat")
	sp, dp = S[("stpgate", d)]["per_stream"], S[("direct", d)]["per_stream"]
	with open(bars, "w") as f:
		for i in range(a.streams):
			f.write("%d %g %g\n" % (i + 1, sp[i] if sp else 0, dp[i] if dp else 0))
	mean = statistics.mean(sp) if sp else 0
	top = max([x for x in sp + dp] + [mean * 1.2, 1]) * 1.25
	allv = [x for _, lat, _, _ in series for x in lat]
	xmax = max(allv + [a.rtt * 2]) * 1.15
	xmin = max(0.1, min(allv + [a.rtt]) * 0.85)
	tics = ", ".join("%g" % t for t in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500,
	    1000, 2000, 5000, 10000, 20000, 50000) if xmin <= t <= xmax)
	gp = os.path.join(b.tmp, "fairness.gp")
	cdf = ", \\\n     ".join('"%s" using 1:2 with steps lw %d lc rgb "%s" title "%s"' % (
	    p, lw, c, n) for p, n, c, lw in files)
	with open(gp, "w") as f:
		f.write("""set terminal pngcairo size 1000,900 font "DejaVu Sans,10"
set encoding utf8
set output "%s"
set multiplot layout 2,1 title "One session, %d bulk streams (%s) beside an interactive one; %g Mbit/s, RTT %g ms"
set title "Interactive latency: the share of answers within x ms (loaded: bulk streams running)"
set xlabel "ms, request to whole answer (log scale)"
set ylabel "fraction of answers"
set logscale x
set xrange [%g:%g]
set xtics (%s)
set mxtics 10
set yrange [0:1.02]
set grid
set key below horizontal height 1.5
set arrow 1 from %g, graph 0 to %g, graph 1 nohead dt 2 lc rgb "#d62728"
set label 1 "stpgate target for loaded p99" at %g, graph 0.08 tc rgb "#d62728" offset 0.5,0
plot %s
unset arrow 1
unset label 1
unset logscale x
set xtics autofreq
set mxtics default
set title "Bulk streams: Mbit/s each over the counted interval (mean over runs); dashed: stpgate's mean ± 20%%"
set xlabel "stream"
set ylabel "Mbit/s"
set xrange [0.3:%d.7]
set yrange [0:%g]
set xtics 1
set style fill solid 0.8 border -1
set boxwidth 0.35
set key below horizontal height 1.5
plot "%s" using ($1-0.18):2 with boxes lc rgb "#1f3fbf" title "stpgate", \\
     "" using ($1+0.18):3 with boxes lc rgb "#000000" title "direct TCP", \\
     %g with lines dt 2 lc rgb "#d62728" notitle, \\
     %g with lines dt 2 lc rgb "#d62728" notitle
unset multiplot
""" % (png, a.streams, "downloads" if d == "down" else "uploads", a.rate, a.rtt,
		    xmin, xmax, tics,
		    (S[("stpgate", d)]["idle_p99"] or a.rtt) + a.rtt + 10,
		    (S[("stpgate", d)]["idle_p99"] or a.rtt) + a.rtt + 10,
		    (S[("stpgate", d)]["idle_p99"] or a.rtt) + a.rtt + 10,
		    cdf or "0 notitle", a.streams, top, bars, mean * 0.8, mean * 1.2))
	benchlib.run_gnuplot(gp)


# ---------------------------------------------------------------------------

def main():
	ap = argparse.ArgumentParser(description="An interactive stream beside bulk "
	    "streams over one stpgate session across an emulated slow, far link; and "
	    "the same over plain TCP.")
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--quick", action="store_true", help="idle 8 s, warm-up 3 s, "
	    "12 s counted, 1 run: about 1 minute (default about 4)")
	ap.add_argument("--rtt", type=float, default=50.0, help="round trip, ms (50)")
	ap.add_argument("--rate", type=float, help="link rate, Mbit/s (100)")
	ap.add_argument("--queue-bdp", type=float, default=1.0,
	    help="the link's queue in bandwidth-delay products (1)")
	ap.add_argument("--streams", type=int, default=8, help="bulk streams (8)")
	ap.add_argument("--size", type=int, default=64,
	    help="request and answer size, bytes (64)")
	ap.add_argument("--idle", type=float, help="seconds of the idle figure (20; --quick 8)")
	ap.add_argument("--warm", type=float, help="loaded warm-up not counted, s (5; --quick 3)")
	ap.add_argument("--time", type=float, help="loaded seconds counted (30; --quick 12)")
	ap.add_argument("--runs", type=int, help="loaded runs per system and direction "
	    "(2; --quick 1)")
	ap.add_argument("--upload", action="store_true",
	    help="uploads too (A -> B), after the downloads")
	benchlib.add_run_args(ap, 900, 300)
	a = ap.parse_args()
	a.rate_given = a.rate is not None
	a.rate = a.rate or 100.0
	a.idle = a.idle or (8 if a.quick else 20)
	a.warm = a.warm if a.warm is not None else (3 if a.quick else 5)
	a.time = a.time or (12 if a.quick else 30)
	a.runs = a.runs or (1 if a.quick else 2)
	a.max_seconds = a.max_seconds or (300 if a.quick else 900)
	a.command = a.command or " ".join(["bench/fairness.py"] + sys.argv[1:])
	if not 1 <= a.streams <= 64 or not 8 <= a.size <= 65536:
		ap.error("--streams takes 1..64, --size 8..65536")
	if not 1 <= a.runs <= 20 or not 1 <= a.time <= 600 or not 1 <= a.idle <= 600 \
	    or not 0 <= a.warm <= 60:
		ap.error("--runs 1..20, --time and --idle 1..600 s, --warm 0..60 s")
	if not 0 < a.rate <= 10000 or not 0 <= a.rtt <= 2000 or not 0 < a.queue_bdp <= 100:
		ap.error("--rate 0..10000 Mbit/s, --rtt 0..2000 ms, --queue-bdp 0..100")
	benchlib.check_can_run("fairness.py", a.stpgate, ("ip", "ss", "sysctl"))
	benchlib.end_on_signals("fairness.py")

	t_start = time.monotonic()
	a.load0 = loadavg()
	link = Link(a.seed, prefix="stpfair-")
	h = benchlib.start_harness("fairness.py", a, link)
	link_info = benchlib.namespace_tcp("fairness.py", link, a.cc)
	link.shape(a.rate, 0.0, a.rtt, b_qlimit(a))
	b = Bench(a, link, h)
	b.start_services()
	b.start_gateways()
	b.run()
	report(b, a, t_start, link_info)
	for g in (b.ga, b.gb):
		if g.running():
			g.stop(check=False)
	benchlib.teardown(h, link)


if __name__ == "__main__":
	if len(sys.argv) >= 2 and sys.argv[1] in ROLES:
		fn, types = ROLES[sys.argv[1]]
		if len(sys.argv) != 2 + len(types):
			sys.stderr.write("fairness.py %s: %d arguments, not %d\n" % (
			    sys.argv[1], len(types), len(sys.argv) - 2))
			sys.exit(2)
		signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
		try:
			fn(*[t(x) for t, x in zip(types, sys.argv[2:])])
		except KeyboardInterrupt:
			pass
		sys.exit(0)
	main()

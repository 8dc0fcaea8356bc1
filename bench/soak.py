#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
soak.py: an alice/bob gateway pair kept busy for a long time, with the
disturbances a real deployment sees, and a record of whether anything grows.
Started by bench/soak.sh (which builds stpgate, installs matplotlib and
cleans up after a killed run); it can be run by itself as well.

What it does, for --minutes N (default 60):

  * Two gateways, alice and bob, each in a network namespace of its own
    (stpsoak-<pid>-a and -b) joined by a link that can be cut: veth with tc
    netem where the kernel has netem, else TUN devices joined by
    tests/hardening/hlib.py's link emulator.  Without root (or without `ip`
    or /dev/net/tun) both run on 127.0.0.1 and the cuts are skipped, which
    the report says.
  * Stream churn: --concurrency (32) app connections at most at once, opened
    at up to --rate (50) per second, through alice's forwards to two
    services behind bob: `src` (the app asks for N bytes at an offset of a
    seeded pattern, the service sends them) and `echo` (the app sends N
    bytes of the pattern and reads them back, half-closing after the last).
    Sizes come from a fixed distribution drawn with --seed: 40% 1 B-1 KiB,
    30% 1-64 KiB, 22% 64 KiB-1 MiB, 8% 1-4 MiB (log-uniform in each band),
    30% echo.  Every byte is compared with the pattern as it arrives and the
    SHA-256 of what arrived with the SHA-256 of what was meant; every failure
    is counted and logged with its reason.
  * Disturbances, in cycles of about 6 minutes (a shorter run has one or two
    shorter cycles): a SIGHUP reload of both gateways that adds a `spare`
    service and forward (checked with an echo through it), a short link cut
    (3 s, below dead_after 8 s: the session should survive), then in every
    other cycle a restart of bob (SIGTERM, its exit status checked, started
    again) and in the others a SIGHUP with both files unchanged, a reload
    that removes `spare`, and a long cut (12 s: the session goes down and
    must come back by itself).  alice is never restarted: one process lives
    through the whole soak, so that its RSS and descriptors show any leak.
  * Every minute: the load pauses until no transfer is in flight (at most
    20 s), then RSS, open descriptors and threads of both gateway processes
    (/proc), their sessions and streams (`stpgate status --json` and the
    metrics endpoint) are sampled, and the load resumes.  Sampling idle makes
    descriptor and stream counts exact: a leak shows as a number that
    climbs, not as noise.
  * At the end: both gateways get SIGTERM; the report (Markdown) and a plot
    (PNG, matplotlib, else gnuplot) of RSS and descriptors over time go to
    --out (bench/results by default) as <date>-<host>-soak[-quick].*, with
    PASS/FAIL lines: no transfer corrupted; failures only in the windows of
    restarts and cuts; RSS and idle descriptors flat (last quarter's maximum
    against the minute-5 value, --rss-tolerance 20%, --fd-tolerance 4; a run
    under 10 minutes compares with its middle minute and gives RSS as INFO,
    not judged: it is still warming up); no stream left open at an idle
    sample; every reload applied; the session back after every restart and
    cut, and kept through the short cuts; no gateway died; every SIGTERM
    ended in exit status 0.

Every loop is bounded in count and time; the only addresses used are
loopback and the two namespaces' link; every process is stopped by its PID;
the namespaces are deleted at exit (and a watchdog deletes them if the run
overstays by 10 minutes).  Exit status: 0 all PASS, 1 a FAIL or a setup
error, 2 bad usage.
"""

import argparse
import atexit
import datetime
import hashlib
import json
import math
import os
import platform
import random
import re
import selectors
import shutil
import signal
import socket
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
import hlib  # noqa: E402
import gwlib  # noqa: E402
from benchlib import cpu_model, stpgate_version  # noqa: E402
from gwlib import HOST, Harness, recv_exact, yq, rss_kib  # noqa: E402

KiB = 1 << 10
MiB = 1 << 20
T0 = time.monotonic()

# The size distribution: (share, low, high), log-uniform within a band.
BANDS = [(0.40, 1, KiB), (0.30, KiB, 64 * KiB), (0.22, 64 * KiB, MiB),
    (0.08, MiB, 4 * MiB)]
ECHO_SHARE = 0.30

TIMEOUTS = {
	"handshake": "5s",
	"connect": "5s",
	"keepalive": "2s",
	"dead_after": "8s",
	"drain": "3s",
	"reconnect_min": "200ms",
	"reconnect_max": "2s",
}
SHORT_CUT = 3.0     # below dead_after: the session should live through it
LONG_CUT = 12.0     # above dead_after: the session goes down and comes back
GRACE = 5.0         # seconds after the sessions are up again that still count
QUIESCE_MAX = 20.0  # how long a sample waits for the transfers in flight
UP_WAIT = 40.0      # seconds for the sessions to come back after an event


def now():
	return time.monotonic() - T0


def say(msg):
	sys.stdout.write("[%8.2f] %s\n" % (now(), msg))
	sys.stdout.flush()


# gwlib's and hlib's progress lines on our clock
gwlib.say = hlib.say = say


# ---- the pattern and the transfers ----

class Pattern:
	"""Seeded bytes, a block repeated; view(off, n) is bytes [off, off+n) of
	the endless repetition, for n up to the block's length."""

	def __init__(self, seed, n=4 * MiB + 4093):
		self.n = n
		self.double = memoryview(random.Random(seed).randbytes(n) * 2)

	def view(self, off, n):
		o = off % self.n
		return self.double[o:o + n]


def draw_spec(rng, pat_n):
	"""One transfer: (kind, size, offset)."""
	kind = "echo" if rng.random() < ECHO_SHARE else "src"
	u = rng.random()
	acc = 0.0
	lo, hi = BANDS[-1][1], BANDS[-1][2]
	for share, a, b in BANDS:
		acc += share
		if u < acc:
			lo, hi = a, b
			break
	n = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
	n = max(1, min(n, hi))
	return kind, n, rng.randrange(pat_n)


class Result:
	__slots__ = ("i", "kind", "n", "t0", "t1", "ok", "corrupt", "reason",
	    "sent", "got")

	def __init__(self, i, kind, n):
		self.i, self.kind, self.n = i, kind, n
		self.t0 = now()
		self.t1 = None
		self.ok = False
		self.corrupt = False
		self.reason = None
		self.sent = 0
		self.got = 0


class Checker:
	"""Compares what arrives with what was meant, byte for byte, and hashes
	it: the first wrong byte, or more bytes than meant, is corruption."""

	def __init__(self, exp):
		self.exp = exp
		self.got = 0
		self.bad = None
		self.h = hashlib.sha256()

	def feed(self, d):
		g = self.got
		if self.bad is None:
			if g + len(d) > len(self.exp):
				self.bad = "more bytes than asked for (%d+ of %d)" % (g + len(d),
				    len(self.exp))
			elif self.exp[g:g + len(d)] != d:
				k = next(j for j in range(len(d)) if self.exp[g + j] != d[j])
				self.bad = "byte %d of %d differs" % (g + k, len(self.exp))
		self.h.update(d)
		self.got = g + len(d)


def finish(res, chk, how, exp):
	res.got = chk.got
	res.t1 = now()
	if chk.bad is not None:
		res.corrupt = True
		res.reason = "corrupt: " + chk.bad
	elif how == "eof" and chk.got == res.n:
		if chk.h.hexdigest() == hashlib.sha256(exp).hexdigest():
			res.ok = True
		else:
			res.corrupt = True
			res.reason = "corrupt: SHA-256 differs with every byte compared equal"
	elif how == "eof":
		res.reason = "EOF after %d of %d bytes" % (chk.got, res.n)
	else:
		res.reason = "%s after %d of %d bytes" % (how, chk.got, res.n)
	return res


def deadline_for(n):
	return 60.0 + n / MiB * 4.0


def connect(port):
	return socket.create_connection((HOST, port), timeout=10)


def run_src(res, port, off, pat):
	exp = pat.view(off, res.n)
	chk = Checker(exp)
	try:
		s = connect(port)
	except OSError as e:
		res.t1 = now()
		res.reason = "connect: %s" % type(e).__name__
		return res
	how = "?"
	try:
		s.sendall(struct.pack(">QQ", off, res.n))
		res.sent = 16
		deadline = time.monotonic() + deadline_for(res.n)
		while True:
			left = deadline - time.monotonic()
			if left <= 0:
				how = "timeout"
				break
			s.settimeout(min(left, 2.0))
			try:
				d = s.recv(256 * KiB)
			except socket.timeout:
				continue
			if not d:
				how = "eof"
				break
			chk.feed(d)
	except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as e:
		how = "reset (%s)" % type(e).__name__
	except OSError as e:
		how = "error (%r)" % e
	finally:
		s.close()
	return finish(res, chk, how, exp)


def run_echo(res, port, off, pat):
	exp = pat.view(off, res.n)
	chk = Checker(exp)
	try:
		s = connect(port)
	except OSError as e:
		res.t1 = now()
		res.reason = "connect: %s" % type(e).__name__
		return res
	s.setblocking(False)
	sel = selectors.DefaultSelector()
	sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
	deadline = time.monotonic() + deadline_for(2 * res.n)
	sent = 0
	how = "?"
	try:
		while True:
			left = deadline - time.monotonic()
			if left <= 0:
				how = "timeout (sent %d)" % sent
				break
			done = False
			for _, ev in sel.select(min(left, 1.0)):
				if ev & selectors.EVENT_WRITE and sent < res.n:
					try:
						sent += s.send(exp[sent:sent + 256 * KiB])
					except BlockingIOError:
						pass
					if sent == res.n:
						s.shutdown(socket.SHUT_WR)
						sel.modify(s, selectors.EVENT_READ)
				if ev & selectors.EVENT_READ:
					try:
						d = s.recv(256 * KiB)
					except BlockingIOError:
						continue
					if not d:
						how = "eof" if sent == res.n else \
						    "EOF while sending (sent %d)" % sent
						done = True
						break
					chk.feed(d)
			if done:
				break
	except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as e:
		how = "reset (%s, sent %d)" % (type(e).__name__, sent)
	except OSError as e:
		how = "error (%r, sent %d)" % (e, sent)
	finally:
		sel.close()
		s.close()
	res.sent = sent
	return finish(res, chk, how, exp)


# ---- the services behind bob ----

class Service:
	"""A listening socket (made in namespace ns, or here) with one thread
	per connection; keeps counts, not the connections."""

	def __init__(self, handler, ns=None, port=0):
		self.handler = handler
		self.stop = threading.Event()
		self.lock = threading.Lock()
		self.accepted = 0
		self.active = 0
		self.errors = 0
		if ns:
			with hlib.in_netns(ns):
				self.sock = self._listen(port)
		else:
			self.sock = self._listen(port)
		self.port = self.sock.getsockname()[1]
		threading.Thread(target=self._loop, daemon=True).start()

	@staticmethod
	def _listen(port):
		s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		s.bind((HOST, port))
		s.listen(512)
		s.settimeout(0.5)
		return s

	def _loop(self):
		while not self.stop.is_set():
			try:
				c, _ = self.sock.accept()
			except socket.timeout:
				continue
			except OSError:
				return
			with self.lock:
				self.accepted += 1
				self.active += 1
			threading.Thread(target=self._run, args=(c,), daemon=True).start()

	def _run(self, c):
		try:
			c.settimeout(60)
			self.handler(c)
		except (OSError, ValueError, struct.error):
			with self.lock:
				self.errors += 1
		finally:
			c.close()
			with self.lock:
				self.active -= 1

	def close(self):
		self.stop.set()
		try:
			self.sock.close()
		except OSError:
			pass


def src_handler(pat):
	def h(c):
		off, n = struct.unpack(">QQ", recv_exact(c, 16))
		if n > pat.n:
			raise ValueError("too big")
		v = pat.view(off, n)
		k = 0
		while k < n:
			c.sendall(v[k:k + 256 * KiB])
			k += 256 * KiB
		c.shutdown(socket.SHUT_WR)
		c.settimeout(10)
		while c.recv(65536):
			pass
	return h


def echo_handler(c):
	while True:
		d = c.recv(256 * KiB)
		if not d:
			break
		c.sendall(d)
	c.shutdown(socket.SHUT_WR)


# ---- namespaces ----

class SoakNet(hlib.NetPair):
	"""hlib's NetPair with our own names, stpsoak-<pid>-a and -b, so that a
	test or another benchmark's namespaces are never touched."""

	def __init__(self, seed):
		pid = os.getpid()
		self.names = ["stpsoak-%d-a" % pid, "stpsoak-%d-b" % pid]
		self.created = []
		self.kind = None
		self.emu = None
		self.seed = seed
		self.dev = "stpl0"
		atexit.register(self.destroy)
		hlib.sweep_stale("stpsoak-")
		for n in self.names:
			hlib.run(["ip", "netns", "add", n])
			self.created.append(n)
			hlib.run(["ip", "netns", "exec", n, "ip", "link", "set", "lo", "up"])
		if self._try_netem():
			self.kind = "netem"
		else:
			self._start_emu()
			self.kind = "tun"
		say("namespaces %s and %s joined by %s" % (self.a, self.b,
		    "veth + tc netem" if self.kind == "netem" else
		    "TUN devices + hlib's link emulator (no netem in this kernel)"))


def enter_netns_for_good(name):
	"""This thread into namespace name, for the rest of its life."""
	fd = os.open(os.path.join(hlib.NETNS_DIR, name), os.O_RDONLY)
	try:
		hlib._setns_fd(fd)
	finally:
		os.close(fd)


# ---- the process table ----

def proc_figures(pid):
	"""{rss_kib, fds, threads, cpu_s} of a live pid, or None."""
	try:
		fds = len(os.listdir("/proc/%d/fd" % pid))
		threads = None
		with open("/proc/%d/status" % pid) as f:
			for line in f:
				if line.startswith("Threads:"):
					threads = int(line.split()[1])
		with open("/proc/%d/stat" % pid) as f:
			st = f.read().rsplit(")", 1)[1].split()
		cpu = (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
	except (OSError, ValueError, IndexError):
		return None
	return {"rss_kib": rss_kib(pid), "fds": fds, "threads": threads, "cpu_s": cpu}


# ---- the soak ----

class Soak:
	def __init__(self, args):
		self.args = args
		self.minutes = args.minutes
		self.duration = args.minutes * 60.0
		self.seed = args.seed
		self.pat = Pattern(self.seed)
		self.spec_rng = random.Random(self.seed + 1)
		self.spec_i = 0
		self.lock = threading.Lock()
		self.cond = threading.Condition(self.lock)
		self.paused = False
		self.inflight = 0
		self.peak = 0           # most transfers in flight since the last sample
		self.stopping = False
		self.next_slot = 0.0
		self.failures = []      # Result
		self.totals = {"ok": 0, "failed": 0, "corrupt": 0, "bytes": 0, "src": 0,
		    "echo": 0}
		self.per_min = {}       # minute index -> {"ok", "failed", "bytes"}
		self.windows = []       # (kind, label, t0, t1)
		self.events = []        # (t, text, short text)
		self.samples = []
		self.exits = []         # (gateway, why, status)
		self.reloads = []       # (gateway, ok, detail)
		self.probes = []        # (ok, detail)
		self.recoveries = []    # (what, session back, session went down: short cuts)
		self.died = {}          # pid -> exit status, of a gateway that died by itself
		self.spare = False
		self.net = None
		self.fail_log = None

	# -- setup --

	def setup(self):
		a = self.args
		if not a.no_netns:
			why = None
			if os.geteuid() != 0:
				why = "not root (creating namespaces needs CAP_SYS_ADMIN)"
			elif shutil.which("ip") is None:
				why = "iproute2's ip is not installed"
			if why is None:
				try:
					self.net = SoakNet(self.seed)
				except (RuntimeError, OSError) as e:
					why = str(e)
			if why:
				say("no namespaces (%s): both gateways on 127.0.0.1, link cuts "
				    "SKIPPED" % why)
				self.no_netns_why = why
		else:
			self.no_netns_why = "--no-netns"
			say("--no-netns: both gateways on 127.0.0.1, link cuts SKIPPED")
		self.h = Harness(a.stpgate, "auto", keep=True,
		    timeout=int(self.duration) + 900)
		self.fail_log = open(self.h.path("failures.log"), "w")
		alice_id, alice_key = self.h.keygen("alice")
		bob_id, bob_key = self.h.keygen("bob")
		ns_b = self.net.b if self.net else None
		self.svc_src = Service(src_handler(self.pat), ns_b)
		self.svc_echo = Service(echo_handler, ns_b)
		if self.net:
			self.bob_addr = "%s:7400" % self.net.ADDR_B
			self.f_src, self.f_echo, self.f_spare = 20001, 20002, 20003
			self.m_alice = self.m_bob = 9474
		else:
			self.bob_addr = "%s:%d" % (HOST, self.h.port())
			self.f_src, self.f_echo, self.f_spare = (self.h.port(), self.h.port(),
			    self.h.port())
			self.m_alice, self.m_bob = self.h.port(), self.h.port()
		self.keys = (alice_id, alice_key, bob_id, bob_key)
		self.ga = self.h.gateway("alice", self.config("alice"))
		self.gb = self.h.gateway("bob", self.config("bob"))
		if self.net:
			self.ga.wrapper = ["ip", "netns", "exec", self.net.a]
			self.gb.wrapper = ["ip", "netns", "exec", self.net.b]
		self.gb.start()
		self.ga.start()
		t = self.wait_up()
		if t is None:
			raise RuntimeError("the session did not come up within %d s" % UP_WAIT)
		say("session up (%.1f s)" % t)

	def config(self, who):
		alice_id, alice_key, bob_id, bob_key = self.keys
		w = self.args.workers
		out = ["# written by bench/soak.py",
		    "identity: " + yq(alice_id if who == "alice" else bob_id),
		    "control: " + yq(self.h.path(who + ".sock")),
		    "metrics: " + yq("%s:%d" % (HOST, self.m_alice if who == "alice"
		    else self.m_bob))]
		if w != "default":
			out.append("workers: %s" % w)
		out += ["log:", "  level: info", "  format: text", "peers:"]
		if who == "alice":
			out += ["  bob:", "    key: " + yq(bob_key), "    dial: " + yq(self.bob_addr),
			    "forwards:"]
			fw = [(self.f_src, "src"), (self.f_echo, "echo")]
			if self.spare:
				fw.append((self.f_spare, "spare"))
			for port, svc in fw:
				out += ["  - listen: " + yq("%s:%d" % (HOST, port)),
				    "    peer: bob", "    service: " + svc]
		else:
			out += ["  alice:", "    key: " + yq(alice_key),
			    "listen: " + yq(self.bob_addr), "services:"]
			sv = [("src", self.svc_src.port), ("echo", self.svc_echo.port)]
			if self.spare:
				sv.append(("spare", self.svc_echo.port))
			for name, port in sv:
				out += ["  %s:" % name, "    connect: " + yq("%s:%d" % (HOST, port)),
				    "    allow: [alice]"]
		out.append("timeouts:")
		out += ["  %s: %s" % kv for kv in TIMEOUTS.items()]
		return "\n".join(out) + "\n"

	# -- status --

	def status(self, g):
		"""The first peer of `stpgate status --json`, or None."""
		try:
			p = subprocess.run([self.h.stpgate, "status", "--socket",
			    self.h.path(g.name + ".sock"), "--json"], capture_output=True,
			    text=True, timeout=10)
			if p.returncode != 0:
				return None
			peers = json.loads(p.stdout).get("peers") or []
			return peers[0] if peers else None
		except (subprocess.TimeoutExpired, ValueError, OSError):
			return None

	def metrics(self, g):
		port = self.m_alice if g is self.ga else self.m_bob
		if self.net:
			with hlib.in_netns(self.net.a if g is self.ga else self.net.b):
				return hlib.scrape(port)
		return hlib.scrape(port)

	def wait_up(self, timeout=UP_WAIT):
		"""Seconds until both gateways say their session is up, or None."""
		t0 = time.monotonic()
		while time.monotonic() - t0 < timeout:
			sa, sb = self.status(self.ga), self.status(self.gb)
			if sa and sb and sa.get("state") == "up" and sb.get("state") == "up":
				return time.monotonic() - t0
			time.sleep(0.2)
		return None

	# -- the load --

	def take_slot(self):
		"""Wait for the next start time the rate allows; the spec to run,
		or None when the run is over."""
		with self.lock:
			if self.stopping:
				return None
			t = max(self.next_slot, now() - 0.5)
			self.next_slot = t + 1.0 / self.args.rate
		if t >= self.duration:
			return None
		d = t - now()
		if d > 0:
			time.sleep(min(d, 2.0))
		with self.cond:
			limit = time.monotonic() + 120
			while (self.paused and not self.stopping
			    and time.monotonic() < limit):
				self.cond.wait(0.5)
			if self.stopping or now() >= self.duration:
				return None
			self.inflight += 1
			self.peak = max(self.peak, self.inflight)
			i = self.spec_i
			self.spec_i += 1
			spec = draw_spec(self.spec_rng, self.pat.n)
		return i, spec

	def worker(self):
		if self.net:
			enter_netns_for_good(self.net.a)
		cap = int(self.args.rate * self.duration) + 10
		for _ in range(cap):
			got = self.take_slot()
			if got is None:
				return
			i, (kind, n, off) = got
			res = Result(i, kind, n)
			try:
				if kind == "src":
					run_src(res, self.f_src, off, self.pat)
				else:
					run_echo(res, self.f_echo, off, self.pat)
			except Exception as e:  # a bug here is a failure, not a hang
				res.t1 = now()
				res.reason = "soak.py raised %r" % e
			self.record(res)

	def record(self, res):
		with self.cond:
			self.inflight -= 1
			self.cond.notify_all()
			m = int(res.t1 // 60)
			pm = self.per_min.setdefault(m, {"ok": 0, "failed": 0, "bytes": 0})
			b = res.got + res.sent
			pm["bytes"] += b
			self.totals["bytes"] += b
			self.totals[res.kind] += 1
			if res.ok:
				self.totals["ok"] += 1
				pm["ok"] += 1
				return
			self.totals["failed"] += 1
			pm["failed"] += 1
			if res.corrupt:
				self.totals["corrupt"] += 1
			self.failures.append(res)
			nfail = len(self.failures)
		line = "transfer #%d (%s, %d B) %.2f-%.2f s: %s" % (res.i, res.kind, res.n,
		    res.t0, res.t1, res.reason)
		self.fail_log.write(line + "\n")
		self.fail_log.flush()
		if nfail <= 20 or nfail % 100 == 0 or res.corrupt:
			say("FAILED " + line + ("" if nfail <= 20 else " (failure %d)" % nfail))

	def quiesce(self):
		"""Pause the load and wait for the transfers in flight; how many are
		left (0: idle)."""
		deadline = time.monotonic() + QUIESCE_MAX
		with self.cond:
			self.paused = True
			while self.inflight and time.monotonic() < deadline:
				self.cond.wait(0.2)
			return self.inflight

	def resume(self):
		with self.cond:
			self.paused = False
			self.cond.notify_all()

	# -- samples --

	def gw_sample(self, g):
		if not g.running() and g.pid not in self.died:
			self.died[g.pid] = g.proc.returncode
			self.event("%s (pid %d) is not running: it exited with status %s by "
			    "itself" % (g.name, g.pid, g.proc.returncode), "%s DIED" % g.name)
		out = {"pid": g.pid if g.running() else None}
		st = self.status(g)
		out["state"] = st.get("state") if st else "?"
		out["streams"] = st.get("streams") if st else None
		m = self.metrics(g)
		# the process's figures last, once its status and metrics
		# connections are closed
		if out["pid"]:
			time.sleep(0.05)
			out.update(proc_figures(g.pid) or {})
		if m is not None:
			out["active"] = hlib.metric(m, "stpgate_streams_active")
			out["opened"] = hlib.metric(m, "stpgate_streams_opened_total")
			out["established"] = hlib.metric(m, "stpgate_sessions_established_total")
			out["reloads_ok"] = hlib.metric(m, "stpgate_config_reloads_total",
			    result="ok")
			out["reloads_fail"] = hlib.metric(m, "stpgate_config_reloads_total",
			    result="fail")
		return out

	def sample(self, minute):
		busy = {}
		for g in (self.ga, self.gb):
			f = proc_figures(g.pid) if g.running() else None
			busy[g.name] = f["fds"] if f else None
		inflight = self.quiesce()
		idle = inflight == 0
		try:
			# the gateways close their side a moment after the app saw the end
			time.sleep(0.3)
			deadline = time.monotonic() + 3
			while True:
				s = {"alice": self.gw_sample(self.ga), "bob": self.gw_sample(self.gb)}
				if all((s[k].get("active") or 0) == 0 for k in s) or \
				    time.monotonic() > deadline:
					break
				time.sleep(0.25)
		finally:
			self.resume()
		with self.lock:
			tot = dict(self.totals)
			peak, self.peak = self.peak, 0
		row = {"minute": minute, "t": now(), "idle": idle, "inflight": inflight,
		    "busy_fds": busy, "totals": tot, "peak": peak, "spare": self.spare}
		row.update(s)
		self.samples.append(row)
		a, b = s["alice"], s["bob"]
		say("minute %d: %d ok, %d failed, %.0f MiB; alice RSS %s KiB fds %s/%s "
		    "streams %s; bob RSS %s KiB fds %s/%s streams %s%s" % (minute,
		    tot["ok"], tot["failed"], tot["bytes"] / MiB, a.get("rss_kib"),
		    a.get("fds"), busy["alice"], a.get("active"), b.get("rss_kib"),
		    b.get("fds"), busy["bob"], b.get("active"),
		    "" if idle else " (NOT idle: %d in flight)" % inflight))

	# -- disturbances --

	def event(self, text, short=None):
		self.events.append((now(), text, short or text.split(":")[0]))
		say("event: " + text)

	def reload(self, toggle=True):
		if toggle:
			self.spare = not self.spare
		what = ("adds" if self.spare else "removes") if toggle else None
		# bob offers spare before alice forwards to it, and alice stops
		# forwarding before bob withdraws it
		order = (self.gb, self.ga) if self.spare else (self.ga, self.gb)
		t0 = now()
		ok_all = True
		for g in order:
			mark = g.mark()
			g.write_config(self.config(g.name))
			g.hup()
			line = g.wait_log(r"reloaded |reload failed", 10, mark)
			time.sleep(0.2)
			bad = g.grep(r"reload (partly )?failed|reload: ", mark)
			bad = [l for l in bad if "reload: forward" not in l]
			ok = line is not None and "reloaded " in line and not bad
			if bad:
				line = bad[0]
			ok_all &= ok
			self.reloads.append((g.name, ok, (line or "no reload line in 10 s").strip()))
		t1 = now()
		what = "%s spare" % what if what else "files unchanged"
		self.windows.append(("reload", "reload (%s)" % what, t0, t1 + GRACE))
		probe = ""
		if self.spare and toggle:
			res = Result(-1, "echo", 4096)
			if self.net:
				with hlib.in_netns(self.net.a):
					run_echo(res, self.f_spare, 12345, self.pat)
			else:
				run_echo(res, self.f_spare, 12345, self.pat)
			self.probes.append((res.ok, res.reason or "ok"))
			probe = "; echo through the new forward: %s" % (res.reason or "ok")
		self.event("SIGHUP reload of both (%s): %s%s" % (what,
		    "applied" if ok_all else "NOT APPLIED", probe), "reload %s%s" % (
		    ("+spare" if self.spare else "-spare") if toggle else "(same config)",
		    "" if ok_all else " FAILED"))

	def restart(self, g):
		t0 = now()
		rc = g.stop(timeout=20, check=False)
		self.exits.append((g.name, "restart at %.0f s" % t0, rc))
		g.start()
		up = self.wait_up()
		t1 = now()
		self.windows.append(("restart", "restart of %s" % g.name, t0 - 0.5,
		    t1 + GRACE))
		self.recoveries.append(("restart of %s" % g.name, up is not None, None))
		self.event("restart of %s: SIGTERM -> exit status %s, pid %d, session "
		    "%s" % (g.name, rc, g.pid, "up again after %.1f s" % (t1 - t0) if up
		    is not None else "NOT back within %d s" % UP_WAIT),
		    "restart %s (exit %s, up in %.1f s)" % (g.name, rc, t1 - t0))

	def cut(self, seconds):
		if not self.net:
			self.event("link cut of %.0f s SKIPPED (no namespaces)" % seconds,
			    "cut skipped")
			return
		marks = (self.ga.mark(), self.gb.mark())
		t0 = now()
		self.net.cut()
		time.sleep(seconds)
		self.net.restore()
		up = self.wait_up()
		t1 = now()
		down = bool(self.ga.grep(r"session down", marks[0]) or
		    self.gb.grep(r"session down", marks[1]))
		self.windows.append(("cut", "cut of %.0f s" % seconds, t0, t1 + GRACE))
		self.recoveries.append(("cut of %.0f s" % seconds, up is not None,
		    down if seconds < 8 else None))
		self.event("link cut for %.0f s: session %s; %s" % (seconds,
		    "went down" if down else "survived",
		    "up %.1f s after the link came back" % (t1 - t0 - seconds) if up is not
		    None else "NOT back within %d s" % UP_WAIT),
		    "cut %.0f s (%s)" % (seconds, "down, back in %.1f s" % (t1 - t0 - seconds)
		    if down else "session kept"))

	def schedule(self):
		"""(time, order, what, action): disturbances in cycles, samples every
		minute."""
		n_cycles = max(1, int(math.ceil(self.minutes / 6.0)))
		c = self.duration / n_cycles
		out = []
		for k in range(n_cycles):
			base = k * c
			# bob (the peer) is restarted every other cycle, and alice runs
			# the whole soak: one process that lives through everything,
			# for the leak checks; the other cycles reload an unchanged file
			mid = ((lambda: self.restart(self.gb)) if k % 2 == 0 else
			    (lambda: self.reload(toggle=False)))
			out += [(base + 0.15 * c, 1, "reload", self.reload),
			    (base + 0.32 * c, 1, "short cut", lambda: self.cut(SHORT_CUT)),
			    (base + 0.50 * c, 1, "restart or reload", mid),
			    (base + 0.66 * c, 1, "reload", self.reload),
			    (base + 0.83 * c, 1, "long cut", lambda: self.cut(LONG_CUT))]
		for m in range(1, self.minutes):
			out.append((m * 60.0, 0, "sample", lambda m=m: self.sample(m)))
		return sorted(out, key=lambda x: (x[0], x[1]))

	# -- the run --

	def run(self):
		self.setup()
		self.start_t = now()
		global T0
		# times from here on are seconds into the soak
		T0 = time.monotonic()
		self.sample(0)
		self.wall0 = time.time()
		self.next_slot = now()
		threads = [threading.Thread(target=self.worker, daemon=True)
		    for _ in range(self.args.concurrency)]
		for t in threads:
			t.start()
		for t_at, _, what, act in self.schedule():
			while now() < t_at:
				time.sleep(min(1.0, t_at - now()))
			act()
		while now() < self.duration:
			time.sleep(min(1.0, self.duration - now()))
		with self.cond:
			self.stopping = True
			self.cond.notify_all()
		join_end = time.monotonic() + deadline_for(8 * MiB) + 10
		for t in threads:
			t.join(max(0.1, join_end - time.monotonic()))
		left = sum(t.is_alive() for t in threads)
		if left:
			say("%d workers still busy after the bound; going on" % left)
		self.sample(self.minutes)
		self.end_t = now()
		for g in (self.ga, self.gb):
			rc = g.stop(timeout=20, check=False)
			self.exits.append((g.name, "end of the run", rc))
			say("%s: SIGTERM -> exit status %s" % (g.name, rc))
		self.svc_src.close()
		self.svc_echo.close()
		self.fail_log.close()

	# -- judging and the report --

	def classify(self):
		"""Each failure with the disturbance windows its time span meets."""
		out = []
		for r in self.failures:
			hit = [w for w in self.windows if r.t0 <= w[3] and r.t1 >= w[2]]
			excused = [w for w in hit if w[0] in ("restart", "cut")]
			out.append((r, excused[0][1] if excused else None,
			    hit[0][1] if hit else None))
		return out

	def verdicts(self):
		v = []
		tot = self.totals
		n = tot["ok"] + tot["failed"]
		v.append((tot["corrupt"] == 0, "no transfer corrupted: %d corrupted of %d "
		    "(every byte compared, SHA-256 of each)" % (tot["corrupt"], n)))
		cl = self.classify()
		unexpl = [c for c in cl if c[1] is None]
		v.append((not unexpl, "failures only around restarts and cuts: %d failed "
		    "of %d, %d in a restart or cut window, %d outside%s" % (tot["failed"], n,
		    len(cl) - len(unexpl), len(unexpl),
		    (" (e.g. %s)" % unexpl[0][0].reason) if unexpl else "")))
		bm = self.base_minute()
		lq = int(math.ceil(0.75 * self.minutes))
		base = next((s for s in self.samples if s["minute"] == bm), None)
		late = [s for s in self.samples if s["minute"] >= lq]
		restarts = {name: [w[2] for w in self.windows if w[0] == "restart" and
		    w[1].endswith(name)] for name in ("alice", "bob")}
		for name in ("alice", "bob"):
			if base is None or not late or not base[name].get("rss_kib"):
				v.append((False, "%s RSS flat: no samples to judge" % name))
				continue
			b = base[name]["rss_kib"]
			mx = max(s[name].get("rss_kib") or 0 for s in late)
			note = ""
			if any(t > base["t"] for t in restarts[name]):
				note = " (%s was restarted after minute %d: the last quarter is a "\
				    "newer process)" % (name, bm)
			# Under 10 minutes the baseline is still the warm-up: the figures
			# are given, not judged.
			judged = self.minutes >= 10
			v.append((mx <= b * (1 + self.args.rss_tolerance / 100.0) if judged
			    else None, "%s RSS flat: minute %d %.1f MiB, last quarter (minutes %d-%d) max "
			    "%.1f MiB (%+.1f%%, limit +%g%%)%s" % (name, bm, b / 1024.0, lq,
			    self.minutes, mx / 1024.0, (mx - b) * 100.0 / b,
			    self.args.rss_tolerance, note + ("" if judged else "; not judged in a "
			    "run under 10 minutes, where minute %d is still the warm-up" % bm))))
		for name in ("alice", "bob"):
			if base is None or not late or base[name].get("fds") is None:
				v.append((False, "%s descriptors flat: no samples to judge" % name))
				continue
			# alice's spare forward is one listening socket more while it is
			# in the config
			def fds(s):
				return (s[name].get("fds") or 0) - (1 if name == "alice" and
				    s["spare"] else 0)
			b = fds(base)
			idle_late = [s for s in late if s["idle"]]
			mx = max(fds(s) for s in (idle_late or late))
			v.append((mx <= b + self.args.fd_tolerance,
			    "%s descriptors flat (idle samples%s): minute %d %d, last quarter "
			    "max %d (%+d, limit +%d)" % (name, ", less the spare forward's "
			    "listener" if name == "alice" else "", bm, b, mx, mx - b,
			    self.args.fd_tolerance)))
		leaks = [(s["minute"], k, s[k].get("active")) for s in self.samples
		    if s["idle"] for k in ("alice", "bob") if s[k].get("active")]
		v.append((not leaks, "no stream left open at an idle sample%s" % (
		    ": " + ", ".join("minute %d %s %d" % x for x in leaks[:6]) if leaks else
		    " (%d idle samples of %d)" % (sum(1 for s in self.samples if s["idle"]),
		    len(self.samples)))))
		bad_rel = [r for r in self.reloads if not r[1]]
		bad_probe = [p for p in self.probes if not p[0]]
		v.append((not bad_rel and not bad_probe, "every reload applied: %d of %d "
		    "SIGHUPs, %d of %d echoes through the added forward" % (
		    len(self.reloads) - len(bad_rel), len(self.reloads),
		    len(self.probes) - len(bad_probe), len(self.probes))))
		back = [r for r in self.recoveries if r[1]]
		v.append((len(back) == len(self.recoveries), "the session came back by "
		    "itself after every restart and cut: %d of %d%s" % (len(back),
		    len(self.recoveries), "".join("; NOT after the " + r[0] for r in
		    self.recoveries if not r[1]))))
		short = [r for r in self.recoveries if r[2] is not None]
		if short:
			kept = [r for r in short if not r[2]]
			v.append((len(kept) == len(short), "cuts of %.0f s (below dead_after "
			    "%s) kept the session: %d of %d" % (SHORT_CUT, TIMEOUTS["dead_after"],
			    len(kept), len(short))))
		v.append((not self.died, "no gateway died by itself%s" % (
		    ": " + ", ".join("pid %d status %s" % kv for kv in self.died.items())
		    if self.died else "")))
		v.append((all(e[2] == 0 for e in self.exits), "every SIGTERM ended in exit "
		    "status 0: " + ", ".join("%s %s (%s)" % (e[0], e[2], e[1]) for e in
		    self.exits)))
		return v

	def base_minute(self):
		return 5 if self.minutes >= 10 else max(1, self.minutes // 2)

	def report(self, out_dir):
		a = self.args
		date = datetime.date.today().strftime("%Y%m%d")
		stamp = "%s-%s-soak%s" % (date, platform.node(), "-quick" if a.quick else "")
		os.makedirs(out_dir, exist_ok=True)
		md_path = os.path.join(out_dir, stamp + ".md")
		png_path = os.path.join(out_dir, stamp + ".png")
		fail_path = os.path.join(out_dir, stamp + "-failures.log")
		verdicts = self.verdicts()
		plot_note = self.plot(png_path)
		ver = stpgate_version(self.h.stpgate)
		cpu = cpu_model()
		tot = self.totals
		n = tot["ok"] + tot["failed"]
		secs = self.end_t
		L = []
		L.append("# stpgate soak, %d minutes%s" % (self.minutes,
		    " (--quick)" if a.quick else ""))
		L.append("")
		L.append("`%s` on %s (%s), %d CPUs, %s; %s. Run of %d minutes of load "
		    "(%.0f s with the final drain), seed %d, %s." % (a.command, platform.node(),
		    cpu, os.cpu_count() or 0, platform.platform(), ver, self.minutes, secs,
		    self.seed, datetime.datetime.fromtimestamp(self.wall0).strftime(
		    "%Y-%m-%d %H:%M")))
		L.append("")
		link = ("alice and bob each in a network namespace of their own, joined by %s"
		    % ("veth + tc netem" if self.net.kind == "netem" else "TUN devices and "
		    "hlib.py's userspace link emulator (no netem in this kernel)")
		    if self.net else "both on 127.0.0.1 (no namespaces: %s; link cuts "
		    "skipped)" % self.no_netns_why)
		L.append("Setup: %s; workers %s; timeouts %s. Load: at most %d transfers at "
		    "once, started at up to %g/s; sizes 40%% 1 B-1 KiB, 30%% 1-64 KiB, 22%% "
		    "64 KiB-1 MiB, 8%% 1-4 MiB (log-uniform in each band), 30%% echoed "
		    "(sent and read back), the rest sent by bob's service; every byte "
		    "compared with the pattern and the SHA-256 of each transfer checked." % (
		    link, a.workers, ", ".join("%s %s" % kv for kv in TIMEOUTS.items()),
		    a.concurrency, a.rate))
		L.append("")
		L.append("Totals: %d transfers (%d from the source, %d echoed), %d ok, %d "
		    "failed, %d corrupted, %.1f GiB moved by the apps (%.0f transfers/min, "
		    "%.1f MB/s)." % (n, tot["src"], tot["echo"], tot["ok"], tot["failed"],
		    tot["corrupt"], tot["bytes"] / (1 << 30), n / max(1.0, self.minutes),
		    tot["bytes"] / max(1.0, self.duration) / 1e6))
		L.append("")
		L.append("## Verdict")
		L.append("")
		for ok, text in verdicts:
			L.append("- **%s** %s" % (verdict_word(ok), text))
		L.append("")
		L.append("## Every minute")
		L.append("")
		L.append("Sampled with the load paused and no transfer in flight (fds: idle, "
		    "and in brackets just before the pause, under load; alice has one "
		    "listening socket more while the spare forward is in her config, marked "
		    "+). Streams: `stpgate_streams_active` at the idle moment. Opened: "
		    "alice's `stpgate_streams_opened_total` since the previous row (it "
		    "restarts with the process). Peak: the most transfers in flight at "
		    "once since the previous row (at most %d)." % a.concurrency)
		L.append("")
		L.append("| min | ok | failed | MiB | opened (alice) | peak | alice RSS MiB | "
		    "bob RSS MiB | alice fds | bob fds | alice thr | bob thr | session a/b | "
		    "streams a/b | events |")
		L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
		    "---|")
		prev = None
		for s in self.samples:
			m = s["minute"]
			pm = {"ok": 0, "failed": 0, "bytes": 0}
			if prev is not None:
				pt = prev["totals"]
				pm = {"ok": s["totals"]["ok"] - pt["ok"],
				    "failed": s["totals"]["failed"] - pt["failed"],
				    "bytes": s["totals"]["bytes"] - pt["bytes"]}
			opened = ""
			if prev is not None and s["alice"].get("opened") is not None:
				po = prev["alice"].get("opened") or 0
				o = s["alice"]["opened"]
				opened = "%d" % (o - po if o >= po and prev["alice"].get("pid") ==
				    s["alice"].get("pid") else o)
			ev = [e[2] for e in self.events if (prev is None or
			    e[0] > prev["t"]) and e[0] <= s["t"]]

			def f(x, fmt="%d"):
				return fmt % x if x is not None else "-"
			a_, b_ = s["alice"], s["bob"]
			L.append("| %d | %d | %d | %.0f | %s | %d | %s | %s | %s%s (%s) | %s (%s) | %s "
			    "| %s | %s/%s | %s/%s | %s |" % (m, pm["ok"], pm["failed"],
			    pm["bytes"] / MiB, opened or "-", s["peak"],
			    f(a_.get("rss_kib") and a_["rss_kib"] / 1024.0, "%.1f"),
			    f(b_.get("rss_kib") and b_["rss_kib"] / 1024.0, "%.1f"),
			    f(a_.get("fds")), "+" if s["spare"] else "",
			    f(s["busy_fds"]["alice"]), f(b_.get("fds")),
			    f(s["busy_fds"]["bob"]), f(a_.get("threads")), f(b_.get("threads")),
			    a_.get("state"), b_.get("state"), f(a_.get("active")),
			    f(b_.get("active")), "; ".join(ev) + ("" if s["idle"] else
			    " (not idle: %d in flight)" % s["inflight"])))
			prev = s
		L.append("")
		L.append("![RSS and descriptors over time](%s)" % os.path.basename(png_path)
		    if plot_note is None else "No plot: %s." % plot_note)
		L.append("")
		L.append("## Disturbances")
		L.append("")
		for t, text, _ in self.events:
			L.append("- %6.1f s: %s" % (t, text))
		L.append("")
		L.append("## Failures")
		L.append("")
		cl = self.classify()
		if not cl:
			L.append("None.")
		else:
			groups = {}
			for r, exc, hit in cl:
				why = re.sub(r"\d+", "N", r.reason.split(" (")[0])
				key = (exc or ("outside any restart or cut" + (" (during %s)" % hit
				    if hit else "")), why)
				groups[key] = groups.get(key, 0) + 1
			L.append("| window | reason | count |")
			L.append("|---|---|---:|")
			for (w, why), c in sorted(groups.items(), key=lambda x: -x[1]):
				L.append("| %s | %s | %d |" % (w, why, c))
			L.append("")
			L.append("Every failure with its time and reason: `%s`." %
			    os.path.basename(fail_path))
			shutil.copyfile(self.h.path("failures.log"), fail_path)
		L.append("")
		L.append("## Gateway logs")
		L.append("")
		for g in (self.ga, self.gb):
			counts = {}
			for p in g.log_paths:
				try:
					with open(p, errors="replace") as fh:
						for line in fh:
							m = re.search(r"\b(error|warn)\b", line)
							if m:
								k = re.sub(r"\d+", "N", line.split(m.group(1), 1)[1]
								    .strip())[:140]
								counts[(m.group(1), k)] = counts.get((m.group(1), k), 0) + 1
				except OSError:
					pass
			L.append("%s (%d processes): %s" % (g.name, len(g.log_paths),
			    "no warnings or errors" if not counts else ""))
			for (lvl, k), c in sorted(counts.items(), key=lambda x: -x[1])[:12]:
				L.append("- %s × %d: `%s`" % (lvl, c, k.replace("`", "'")))
			L.append("")
		with open(md_path, "w") as fh:
			fh.write("\n".join(L) + "\n")
		return md_path, verdicts

	def plot(self, png):
		"""Draw RSS and descriptors over time; None when drawn, else why not."""
		xs = [s["t"] / 60.0 for s in self.samples]
		series = {}
		for name in ("alice", "bob"):
			series[name + " RSS"] = [(s[name].get("rss_kib") or 0) / 1024.0
			    for s in self.samples]
			series[name + " fds"] = [s[name].get("fds") or 0 for s in self.samples]
			series[name + " fds busy"] = [s["busy_fds"][name] or 0
			    for s in self.samples]
		try:
			import matplotlib
			matplotlib.use("Agg")
			import matplotlib.pyplot as plt
		except ImportError:
			return self.plot_gnuplot(png, xs, series)
		fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
		col = {"alice": "#1f3fbf", "bob": "#d62728"}
		for name in ("alice", "bob"):
			ax1.plot(xs, series[name + " RSS"], "o-", color=col[name], ms=3,
			    label=name)
			ax2.plot(xs, series[name + " fds"], "o-", color=col[name], ms=3,
			    label=name + " (idle)")
			ax2.plot(xs, series[name + " fds busy"], ":", color=col[name],
			    label=name + " (under load)")
		for ax in (ax1, ax2):
			for t, text, _ in self.events:
				c = "#2ca02c" if "reload" in text else "#7f7f7f" if "cut" in text \
				    else "#ff7f0e"
				ax.axvline(t / 60.0, color=c, lw=0.8, alpha=0.6)
			ax.grid(alpha=0.3)
		ax1.set_ylabel("RSS, MiB")
		ax1.set_ylim(bottom=0)
		ax2.set_ylim(bottom=0)
		ax2.set_ylabel("open descriptors")
		ax2.set_xlabel("minutes (lines: green reload, grey link cut, orange restart)")
		ax1.legend(loc="lower right", fontsize=8)
		ax2.legend(loc="lower right", fontsize=8, ncol=2)
		ax1.set_title("stpgate soak, %d minutes: RSS and descriptors of both gateways"
		    % self.minutes)
		fig.tight_layout()
		fig.savefig(png, dpi=100)
		plt.close(fig)
		return None

	def plot_gnuplot(self, png, xs, series):
		if shutil.which("gnuplot") is None:
			return "neither matplotlib (python3-matplotlib) nor gnuplot is installed"
		dat = self.h.path("plot.dat")
		names = list(series)
		with open(dat, "w") as fh:
			for i, x in enumerate(xs):
				fh.write("%g %s\n" % (x, " ".join(str(series[k][i]) for k in names)))
		gp = ("set terminal pngcairo size 1000,650\nset output '%s'\nset multiplot "
		    "layout 2,1\nset grid\nset ylabel 'RSS, MiB'\nset yrange [0:*]\n"
		    "plot '%s' u 1:2 w lp t 'alice', '' u 1:5 w lp t 'bob'\n"
		    "set ylabel 'open descriptors'\nset xlabel 'minutes'\n"
		    "plot '%s' u 1:3 w lp t 'alice (idle)', '' u 1:6 w lp t 'bob (idle)', "
		    "'' u 1:4 w l dt 2 t 'alice (load)', '' u 1:7 w l dt 2 t 'bob (load)'\n"
		    "unset multiplot\n") % (png, dat, dat)
		p = subprocess.run(["gnuplot"], input=gp, capture_output=True, text=True,
		    timeout=60)
		return None if p.returncode == 0 else "gnuplot failed: %s" % p.stderr[:200]


def verdict_word(ok):
	return "INFO" if ok is None else "PASS" if ok else "FAIL"


def main():
	ap = argparse.ArgumentParser(description="stpgate soak: stream churn, "
	    "reloads, restarts and link cuts, with RSS and descriptors sampled "
	    "every minute")
	ap.add_argument("--stpgate", required=True, help="the stpgate binary")
	ap.add_argument("--minutes", type=int, default=60)
	ap.add_argument("--quick", action="store_true", help="3 minutes")
	ap.add_argument("--concurrency", type=int, default=32)
	ap.add_argument("--rate", type=float, default=50.0,
	    help="transfers started per second at most")
	ap.add_argument("--seed", type=int, default=17)
	ap.add_argument("--workers", default="default",
	    help="the gateways' workers: (default: no line, i.e. auto)")
	ap.add_argument("--rss-tolerance", type=float, default=20.0, help="percent")
	ap.add_argument("--fd-tolerance", type=int, default=4, help="descriptors")
	ap.add_argument("--no-netns", action="store_true",
	    help="both gateways on 127.0.0.1, no link cuts")
	ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
	ap.add_argument("--keep", action="store_true", help="keep the temp dir")
	ap.add_argument("--command", default=None, help=argparse.SUPPRESS)
	a = ap.parse_args()
	if a.quick:
		a.minutes = 3
	if not 1 <= a.minutes <= 24 * 60 or not 1 <= a.concurrency <= 256 or \
	    not 0 < a.rate <= 10000:
		ap.error("--minutes 1..1440, --concurrency 1..256, --rate 0..10000")
	a.command = a.command or "bench/soak.py " + " ".join(sys.argv[1:])
	if a.workers != "default" and a.workers != "auto" and not a.workers.isdigit():
		ap.error("--workers: default, auto or a number")

	def on_signal(sig, _frame):
		raise SystemExit(128 + sig)
	signal.signal(signal.SIGTERM, on_signal)
	signal.signal(signal.SIGHUP, on_signal)

	s = Soak(a)

	def watchdog():
		limit = s.duration + 600
		time.sleep(limit)
		say("soak: no end %d s after the start; deleting the namespaces, stopping"
		    % limit)
		if s.net:
			s.net.destroy()
		gwlib._kill_all()
		os._exit(1)
	threading.Thread(target=watchdog, daemon=True).start()

	t_wall = time.monotonic()
	try:
		s.run()
	except Exception as e:
		import traceback
		traceback.print_exc()
		say("soak: setup or run failed: %r" % e)
		if hasattr(s, "h"):
			s.h.dump_logs(20)
		return 1
	finally:
		if s.net:
			s.net.destroy()
	md, verdicts = s.report(a.out)
	failed = [t for ok, t in verdicts if ok is False]
	print()
	for ok, text in verdicts:
		print("%s: %s" % (verdict_word(ok), text))
	print("soak: %d minutes of load, %.0f s in all; report %s" % (a.minutes,
	    time.monotonic() - t_wall, md))
	if failed or a.keep:
		print("soak: logs and configs kept in %s" % s.h.dir)
	else:
		shutil.rmtree(s.h.dir, ignore_errors=True)
	gwlib._kill_all()
	return 1 if failed else 0


if __name__ == "__main__":
	sys.exit(main())

# SPDX-License-Identifier: Apache-2.0
"""
hlib.py: what the hardening tests share beyond tests/integration/gwlib.py:
config sections gwlib does not write (limits, metrics), a metrics scraper,
a checker that every byte received is a true prefix of what was sent,
network namespaces with a faulty link between them, and that link's
emulator (`python3 hlib.py linkemu ...`, run by the faults test when the
kernel has no netem, and always by the benches in bench/ that need a link
of a given rate: distance.py, fairness.py).

The emulator has netem's knobs (loss, delay, jitter, reordering, a packet
limit, a cut) and, off by default, a rate: a serializer at RATE bit/s behind
a drop-tail queue of so many bytes.

Namespaces are only ever ones this process created (named stpf-<pid>-a/b,
or another prefix given); they are deleted at exit, and leftovers of a run
that was killed (its pid gone) are deleted at the next start.  Python 3
standard library only.
"""

import atexit
import contextlib
import ctypes
import fcntl
import hashlib
import heapq
import json
import os
import random
import re
import resource
import select
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from gwlib import (HOST, metric_samples, read_to_eof,  # noqa: E402
    recv_to_end, say)

# ---- limits ----

def raise_nofile(want):
	"""Soft limit to max(want, hard); hard to want too when allowed.
	Returns the soft limit now in force."""
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	if hard != resource.RLIM_INFINITY and hard < want:
		try:
			resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
			return want
		except (ValueError, OSError):
			pass
	new = hard if hard == resource.RLIM_INFINITY or hard < want else want
	new = max(new, soft)
	try:
		resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
	except (ValueError, OSError):
		return soft
	return new


# ---- config sections gwlib.config_text does not write ----


def with_sections(text, limits=None, metrics=None):
	"""text (a gwlib config) plus `limits:` {key: value} and `metrics:`
	(a loopback port)."""
	out = [text.rstrip("\n")]
	if metrics is not None:
		out.append('metrics: "%s:%d"' % (HOST, metrics))
	if limits:
		out.append("limits:")
		for k, v in limits.items():
			out.append("  %s: %s" % (k, v))
	return "\n".join(out) + "\n"


# ---- metrics ----

def scrape(port, timeout=10):
	"""GET /metrics: {(name, frozenset(labels.items())): value}, or None."""
	try:
		s = socket.create_connection((HOST, port), timeout=timeout)
	except OSError:
		return None
	try:
		s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		raw = read_to_eof(s, OSError)
	finally:
		s.close()
	head, _, body = raw.partition(b"\r\n\r\n")
	if not head.startswith(b"HTTP/1.1 200"):
		return None
	return metric_samples(body.decode("utf-8", "replace"))


def metric(samples, name, **labels):
	"""The sum of name's samples whose labels include labels (0 if none)."""
	want = set(labels.items())
	return sum(v for (n, l), v in (samples or {}).items()
	    if n == name and want <= set(l))


# ---- true prefixes ----

class PrefixCheck:
	"""Fed the bytes a receiver gets, in order; remembers the first byte
	that differs from the sender's pattern (a corrupted byte delivered)."""

	def __init__(self, pattern):
		self.pat = pattern
		self.got = 0
		self.bad = None

	def __call__(self, d):
		if self.bad is None and self.pat.chunk(self.got, len(d)) != d:
			for i in range(len(d)):
				if self.pat.chunk(self.got + i, 1) != d[i:i + 1]:
					self.bad = self.got + i
					break
		self.got += len(d)


# ---- a service that sends what it is asked for ----

def sized_source(pattern):
	"""Service: read an 8-byte length N, send the pattern's first N bytes,
	half-close."""
	def h(c, srv):
		c.settimeout(120)
		hdr = b""
		while len(hdr) < 8:
			d = c.recv(8 - len(hdr))
			if not d:
				return
			hdr += d
		total = struct.unpack(">Q", hdr)[0]
		off = 0
		while off < total and not srv.stopping.is_set():
			k = min(256 * 1024, total - off)
			c.sendall(pattern.chunk(off, k))
			off += k
		c.shutdown(socket.SHUT_WR)
		c.settimeout(10)
		try:
			while c.recv(65536):
				pass
		except OSError:
			pass
	return h



def fetch(port, n, pattern, seconds=120, host=HOST):
	"""Ask a sized_source behind port for n bytes and check each against
	pattern as it comes.  Returns (bytes, how it ended, first bad byte or
	None, seconds)."""
	t0 = time.monotonic()
	try:
		s = socket.create_connection((host, port), timeout=10)
	except OSError as e:
		return 0, "connect: %r" % e, None, 0.0
	chk = PrefixCheck(pattern)
	try:
		s.sendall(struct.pack(">Q", n))
		_, how = recv_to_end(s, t0 + seconds, chk)
	except OSError as e:
		how = "error: %r" % e
	finally:
		s.close()
	return chk.got, how, chk.bad, time.monotonic() - t0


class Transfer:
	"""One app connection in namespace ns (None: this one) asking a
	sized_source behind port for n bytes and checking them as they come,
	in a thread of its own: got, bad (first wrong byte), how it ended
	(None while it runs), sha256, seconds."""

	def __init__(self, ns, port, n, pattern, deadline_s, host=HOST):
		self.n = n
		self.check = PrefixCheck(pattern)
		self.sha = hashlib.sha256()
		self.how = None
		self.err = None
		self.dt = None
		with (in_netns(ns) if ns else contextlib.nullcontext()):
			self.s = socket.create_connection((host, port), timeout=10)
		self.s.sendall(struct.pack(">Q", n))
		self.deadline = time.monotonic() + deadline_s
		self.t = threading.Thread(target=self._run, daemon=True)
		self.t0 = time.monotonic()
		self.t.start()

	def _sink(self, d):
		self.check(d)
		self.sha.update(d)

	def _run(self):
		try:
			_, self.how = recv_to_end(self.s, self.deadline, self._sink)
		except OSError as e:
			self.how, self.err = "error", repr(e)
		self.dt = time.monotonic() - self.t0
		try:
			self.s.close()
		except OSError:
			pass

	@property
	def got(self):
		return self.check.got

	def wait_for(self, nbytes, timeout):
		"""Wait until nbytes have come or the transfer ended (at most
		timeout s); True if it is still running with nbytes in."""
		deadline = time.monotonic() + timeout
		while (self.got < nbytes and self.how is None
		    and time.monotonic() < deadline):
			time.sleep(0.02)
		return self.how is None and self.got >= nbytes

	def wait(self):
		self.t.join(max(1.0, self.deadline - time.monotonic() + 5))
		return self

	def intact(self, pattern_sha):
		return (self.how == "eof" and self.got == self.n and self.check.bad is None
		    and self.sha.hexdigest() == pattern_sha)

	def describe(self):
		if self.how is None:
			return "running, %d of %d bytes in" % (self.got, self.n)
		return "%s after %d of %d bytes in %.1f s, first bad byte %s%s" % (
		    self.how, self.got, self.n, self.dt or 0, self.check.bad,
		    " (%s)" % self.err if self.err else "")


# ---- network namespaces ----

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"


def _setns_fd(fd):
	if _libc.setns(fd, _CLONE_NEWNET) != 0:
		e = ctypes.get_errno()
		raise OSError(e, "setns: " + os.strerror(e))


@contextlib.contextmanager
def in_netns(name):
	"""Run the block with this thread in namespace name: sockets made in it
	belong to that namespace for good."""
	orig = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
	try:
		fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
		try:
			_setns_fd(fd)
		finally:
			os.close(fd)
		try:
			yield
		finally:
			_setns_fd(orig)
	finally:
		os.close(orig)


def run(argv, check=True):
	p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
	if check and p.returncode != 0:
		raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), p.returncode,
		    (p.stderr or p.stdout).strip()))
	return p


def tcp_established(ns, port):
	"""The established TCP connections in namespace ns whose remote port
	is port, as (local, remote) "ip:port" pairs (iproute2's ss)."""
	out = run(["ip", "netns", "exec", ns, "ss", "-Htn", "state", "established",
	    "( dport = :%d )" % port]).stdout
	conns = []
	for line in out.splitlines():
		a = [f for f in line.split() if re.match(r"^[0-9.]+:[0-9]+$", f)]
		if len(a) == 2:
			conns.append((a[0], a[1]))
	return conns


SKIP = 77   # ctest's SKIP_RETURN_CODE for the namespace tests


def skip(why):
	"""Say why the test cannot run here and exit SKIP."""
	print("SKIPPED: %s" % why)
	sys.stdout.flush()
	sys.exit(SKIP)


def need_root(what="creating network namespaces needs root (CAP_SYS_ADMIN, "
    "CAP_NET_ADMIN)"):
	"""Skip unless root, and unless iproute2's `ip` is there."""
	if os.geteuid() != 0:
		skip("%s; running as uid %d" % (what, os.geteuid()))
	if shutil.which("ip") is None:
		skip("iproute2's `ip` is not installed")


def netpair_run(kind, seed, run, prefix="stpf-"):
	"""Make a NetPair (skip when the namespaces or their link cannot be
	made), call run(net), delete the namespaces whatever happens, and exit
	with run's status."""
	try:
		net = NetPair(kind, seed, prefix=prefix)
	except (RuntimeError, OSError, PermissionError) as e:
		skip("cannot set up the namespaces and their link: %s" % e)
	try:
		rc = run(net)
	finally:
		net.destroy()
	sys.exit(rc)


def sweep_stale(prefix="stpf-"):
	"""Delete namespaces stpf-<pid>-* whose creating process is gone (a run
	killed before its atexit could run)."""
	try:
		names = os.listdir(NETNS_DIR)
	except OSError:
		return
	for n in names:
		m = re.match(re.escape(prefix) + r"(\d+)-[ab]$", n)
		if not m:
			continue
		pid = int(m.group(1))
		if pid == os.getpid() or os.path.exists("/proc/%d" % pid):
			continue
		subprocess.run(["ip", "netns", "del", n], capture_output=True, timeout=30)
		say("deleted a stale namespace %s (pid %d is gone)" % (n, pid))


class NetPair:
	"""Two namespaces A and B joined by a link whose faults we set: veth with
	tc netem when the kernel has netem (kind "auto" or "netem"), else (or
	with kind "tun") a pair of TUN devices joined by the link emulator below
	(same knobs: loss, delay, jitter, reordering, a queue limit, cut; and a
	rate, which only the emulator has).  A is ADDR_A, B is ADDR_B.  The
	namespaces are PREFIX<pid>-a and -b; the TUN devices are named dev, with
	txqueuelen packets of queue in the kernel if given (else the kernel's
	default)."""

	ADDR_A = "10.199.0.1"
	ADDR_B = "10.199.0.2"
	txqueuelen = None       # a class default: SoakNet sets its own fields

	def __init__(self, kind="auto", seed=1, prefix="stpf-", dev="stpl0",
	    txqueuelen=None):
		self.names = ["%s%d-a" % (prefix, os.getpid()),
		    "%s%d-b" % (prefix, os.getpid())]
		self.created = []
		self.extra = set()      # addresses add_address gave
		self.kind = None
		self.emu = None
		self.seed = seed
		self.dev = dev
		self.txqueuelen = txqueuelen
		atexit.register(self.destroy)
		sweep_stale(prefix)
		for n in self.names:
			run(["ip", "netns", "add", n])
			self.created.append(n)
			run(["ip", "netns", "exec", n, "ip", "link", "set", "lo", "up"])
		if kind in ("auto", "netem") and self._try_netem():
			self.kind = "netem"
		elif kind == "netem":
			raise RuntimeError("tc netem is not available in this kernel")
		else:
			self._start_emu()
			self.kind = "tun"
		say("namespaces %s and %s joined by %s" % (self.names[0], self.names[1],
		    "veth + tc netem" if self.kind == "netem" else
		    "TUN devices + the userspace link emulator (pid %d)%s" % (self.emu.pid,
		    " (no netem in this kernel)" if kind == "auto" else "")))

	@property
	def a(self):
		return self.names[0]

	@property
	def b(self):
		return self.names[1]

	def _try_netem(self):
		va, vb = "stpf%da" % os.getpid(), "stpf%db" % os.getpid()
		try:
			run(["ip", "link", "add", va, "type", "veth", "peer", "name", vb])
		except RuntimeError as e:
			say("no veth pair: %s" % e)
			return False
		run(["ip", "link", "set", va, "netns", self.a])
		run(["ip", "link", "set", vb, "netns", self.b])
		for ns, dev, me, other in ((self.a, va, self.ADDR_A, self.ADDR_B),
		    (self.b, vb, self.ADDR_B, self.ADDR_A)):
			run(["ip", "netns", "exec", ns, "ip", "addr", "add", me + "/24", "dev", dev])
			run(["ip", "netns", "exec", ns, "ip", "link", "set", dev, "up"])
		p = run(["ip", "netns", "exec", self.a, "tc", "qdisc", "add", "dev", va,
		    "root", "netem", "delay", "0ms"], check=False)
		if p.returncode != 0:
			say("tc netem unavailable: %s" % (p.stderr or p.stdout).strip())
			run(["ip", "netns", "exec", self.a, "ip", "link", "del", va], check=False)
			return False
		run(["ip", "netns", "exec", self.b, "tc", "qdisc", "add", "dev", vb,
		    "root", "netem", "delay", "0ms"])
		self.veth = {self.a: va, self.b: vb}
		return True

	def _start_emu(self):
		if not os.path.exists("/dev/net/tun"):
			raise RuntimeError("neither tc netem nor /dev/net/tun is available")
		self.emu = subprocess.Popen([sys.executable, os.path.abspath(__file__),
		    "linkemu", self.a, self.b, self.dev, str(self.seed)],
		    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
		    preexec_fn=_pdeathsig)
		line = self._emu_read(15)
		if line != "ready":
			raise RuntimeError("link emulator did not start: %r" % line)
		for ns, me, other in ((self.a, self.ADDR_A, self.ADDR_B),
		    (self.b, self.ADDR_B, self.ADDR_A)):
			run(["ip", "netns", "exec", ns, "ip", "addr", "add", me, "peer",
			    other, "dev", self.dev])
			qlen = [] if self.txqueuelen is None else ["txqueuelen",
			    str(self.txqueuelen)]
			run(["ip", "netns", "exec", ns, "ip", "link", "set", self.dev] + qlen
			    + ["up"])

	def _emu_read(self, timeout):
		r, _, _ = select.select([self.emu.stdout], [], [], timeout)
		if not r:
			return None
		return self.emu.stdout.readline().strip()

	def _emu(self, cmd):
		self.emu.stdin.write(cmd + "\n")
		self.emu.stdin.flush()
		return self._emu_read(10)

	def set(self, loss=0.0, delay_ms=0, jitter_ms=0, reorder=0.0, limit=None,
	    rate_mbit=0, queue_bytes=None):
		"""The same faults in both directions (netem on each veth end).
		limit: packets held per direction (default 1000, netem's; with a
		rate, no limit: the queue's bytes are).  rate_mbit (0: none, the
		default): each direction a serializer at this rate behind a
		drop-tail queue of queue_bytes (default one bandwidth-delay product
		for an RTT of twice delay_ms, at least 64 packets of 1500 bytes),
		ahead of the delay; the TUN emulator only."""
		if rate_mbit and self.kind != "tun":
			raise RuntimeError("a rate needs the TUN link emulator "
			    "(NetPair(kind=\"tun\")); this link is %s" % self.kind)
		if limit is None:
			limit = (1 << 30) if rate_mbit else 1000
		if rate_mbit and queue_bytes is None:
			queue_bytes = int(max(64 * 1500,
			    rate_mbit * 1e6 / 8 * 2 * delay_ms / 1000.0))
		if self.kind == "netem":
			for ns, dev in self.veth.items():
				argv = ["ip", "netns", "exec", ns, "tc", "qdisc", "change", "dev", dev,
				    "root", "netem", "limit", str(limit)]
				if delay_ms:
					argv += ["delay", "%gms" % delay_ms]
					if jitter_ms:
						argv += ["%gms" % jitter_ms]
					if reorder:
						argv += ["reorder", "%g%%" % (reorder * 100)]
				if loss:
					argv += ["loss", "%g%%" % (loss * 100)]
				run(argv)
		else:
			cmd = "set %g %g %g %g %d" % (loss, delay_ms, jitter_ms, reorder, limit)
			if rate_mbit:
				cmd += " %d %d" % (int(rate_mbit * 1e6), queue_bytes)
			r = self._emu(cmd)
			if r != "ok":
				raise RuntimeError("link emulator: %r" % r)
		say("link: loss %g%%, delay %g ms +- %g ms, reorder %g%%, limit %d packets%s"
		    % (loss * 100, delay_ms, jitter_ms, reorder * 100, limit,
		    ", rate %g Mbit/s behind a queue of %d bytes" % (rate_mbit, queue_bytes)
		    if rate_mbit else ""))

	def cut(self):
		"""Everything sent either way is lost (netem loss 100%)."""
		if self.kind == "netem":
			for ns, dev in self.veth.items():
				run(["ip", "netns", "exec", ns, "tc", "qdisc", "change", "dev", dev,
				    "root", "netem", "loss", "100%"])
		elif self._emu("down") != "ok":
			raise RuntimeError("link emulator refused down")
		say("link: cut (100% loss both ways)")

	def restore(self):
		if self.kind == "netem":
			self.set()
		elif self._emu("up") != "ok":
			raise RuntimeError("link emulator refused up")
		say("link: back")

	def _dev(self, ns):
		return self.veth[ns] if self.kind == "netem" else self.dev

	def _other(self, ns):
		return self.b if ns == self.a else self.a

	def add_address(self, ns, addr):
		"""One more address, addr/32, for namespace ns (self.a or self.b)
		on its end of the link, and a route to it in the other namespace.
		What ns sends still leaves from its first address (the route to
		the other end keeps that source) until move_source."""
		run(["ip", "netns", "exec", ns, "ip", "addr", "add", addr + "/32",
		    "dev", self._dev(ns)])
		other = self._other(ns)
		run(["ip", "netns", "exec", other, "ip", "route", "replace",
		    addr + "/32", "dev", self._dev(other)])
		self.extra.add(addr)
		say("link: %s has a second address %s" % (ns, addr))

	def move_source(self, ns, old, new):
		"""Namespace ns leaves address old for new (one add_address gave
		it): the route to the other end gets source new, then old is
		deleted, so that a TCP connection from old can no longer be used
		(ns drops what comes to old, and cannot send from it)."""
		far = self.ADDR_B if ns == self.a else self.ADDR_A
		dev = self._dev(ns)
		run(["ip", "netns", "exec", ns, "ip", "route", "replace", far + "/32",
		    "dev", dev, "src", new])
		if old in self.extra:
			spec = [old + "/32"]
		elif self.kind == "netem":
			spec = [old + "/24"]
		else:
			spec = [old, "peer", far]
		run(["ip", "netns", "exec", ns, "ip", "addr", "del"] + spec + ["dev", dev])
		self.extra.discard(old)
		say("link: %s moved from %s to %s (%s deleted)" % (ns, old, new, old))

	def stats(self):
		"""The emulator's counters since it started or the last zero():
		totals, and under "dir" per direction ("a_to_b", "b_to_a": pkts and
		bytes taken onto the link, lost, overflow, maxq (the most bytes
		queued ahead of the serializer), write_err).  {} with netem."""
		if self.kind != "tun":
			return {}
		try:
			return json.loads(self._emu("stats") or "{}")
		except ValueError:
			return {}

	def zero(self):
		"""The emulator's counters back to 0 (nothing to do with netem)."""
		if self.kind == "tun" and self._emu("zero") != "ok":
			raise RuntimeError("link emulator refused zero")

	def destroy(self):
		if self.emu is not None:
			try:
				self.emu.kill()
				self.emu.wait(timeout=10)
			except (OSError, subprocess.TimeoutExpired):
				pass
			self.emu = None
		while self.created:
			n = self.created.pop()
			subprocess.run(["ip", "netns", "del", n], capture_output=True, timeout=30)
			say("deleted namespace %s" % n)


def _pdeathsig():
	_libc.prctl(1, 9, 0, 0, 0)   # PR_SET_PDEATHSIG, SIGKILL


# ---- the link emulator (a process of its own) ----

_TUNSETIFF = 0x400454ca
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000


def _tun_open(ns, dev):
	orig = os.open("/proc/self/ns/net", os.O_RDONLY)
	fd = os.open(os.path.join(NETNS_DIR, ns), os.O_RDONLY)
	try:
		_setns_fd(fd)
		t = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
		fcntl.ioctl(t, _TUNSETIFF, struct.pack("16sH22x", dev.encode(),
		    _IFF_TUN | _IFF_NO_PI))
	finally:
		_setns_fd(orig)
		os.close(fd)
		os.close(orig)
	return t


def linkemu(ns_a, ns_b, dev, seed):
	"""Carry IP packets between a TUN device in ns_a and one in ns_b, with
	netem's knobs applied to each direction alike: loss (independent per
	packet), delay with uniform jitter (packets leave in time order, so
	jitter reorders), reorder (that share leaves at once, ahead of the
	delayed ones), a queue limit (tail drop), and down (drop all, and
	what is queued).  And a rate, off unless set: then each direction is
	first a drop-tail queue of QLIMIT bytes in front of a serializer at
	RATE bit/s (a packet leaves it len*8/RATE seconds after the one before
	it), then the delay (the reordered share skips the delay, not the
	serializer).  Commands on stdin, one per line: `set LOSS DELAY_MS
	JITTER_MS REORDER LIMIT [RATE_BPS QLIMIT_BYTES]` (no RATE_BPS, or 0: no
	rate limit; every set sets every knob), `down`, `up`, `stats` (JSON:
	totals, and per direction under "dir"), `zero` (the counters to 0),
	`quit`; each answers one line."""
	rng = random.Random(seed)
	rand = rng.random
	uniform = rng.uniform
	mono = time.monotonic
	fa = _tun_open(ns_a, dev)
	fb = _tun_open(ns_b, dev)
	peer = {fa: fb, fb: fa}
	dname = {fa: "b_to_a", fb: "a_to_b"}   # a direction, named by where it goes
	loss = delay = jitter = reorder = 0.0
	limit = 1000
	rate = 0.0         # bytes per second; 0: no serializer
	qlimit = 1 << 30   # bytes waiting for the serializer, at most
	down = False

	def zero():
		tot = {"forwarded": 0, "lost": 0, "cut": 0, "overflow": 0, "reordered": 0,
		    "delayed": 0, "overtaken": 0}
		per = {d: {"pkts": 0, "bytes": 0, "lost": 0, "overflow": 0, "maxq": 0,
		    "write_err": 0} for d in (fa, fb)}
		return tot, per
	st, dst_st = zero()
	busy = {fa: 0.0, fb: 0.0}   # when each direction's serializer is next free
	last = {fa: 0.0, fb: 0.0}   # latest release time queued per direction
	heap = []          # (time, n, fd, packet)
	queued = {fa: 0, fb: 0}
	n = 0
	stdin = sys.stdin.fileno()
	inbuf = b""
	sys.stdout.write("ready\n")
	sys.stdout.flush()
	while True:
		now = mono()
		while heap and heap[0][0] <= now:
			_, _, fd, pkt = heapq.heappop(heap)
			queued[fd] -= 1
			try:
				os.write(fd, pkt)
				st["forwarded"] += 1
			except OSError:
				dst_st[fd]["write_err"] += 1
		timeout = max(0.0, heap[0][0] - now) if heap else 1.0
		r, _, _ = select.select([fa, fb, stdin], [], [], timeout)
		for fd in r:
			if fd == stdin:
				d = os.read(stdin, 4096)
				if not d:
					return
				inbuf += d
				while b"\n" in inbuf:
					line, inbuf = inbuf.split(b"\n", 1)
					w = line.decode().split()
					if not w:
						continue
					if w[0] == "set" and len(w) in (6, 8):
						loss, delay, jitter, reorder = (float(w[1]),
						    float(w[2]) / 1000, float(w[3]) / 1000, float(w[4]))
						limit = int(w[5])
						rate = float(w[6]) / 8.0 if len(w) == 8 else 0.0
						qlimit = int(w[7]) if len(w) == 8 else 1 << 30
						ans = "ok"
					elif w[0] == "down":
						down = True
						st["cut"] += len(heap)
						heap = []
						queued = {fa: 0, fb: 0}
						busy = {fa: 0.0, fb: 0.0}
						ans = "ok"
					elif w[0] == "up":
						down = False
						ans = "ok"
					elif w[0] == "stats":
						ans = json.dumps(dict(st, dir={dname[d]: dst_st[d]
						    for d in (fa, fb)}))
					elif w[0] == "zero":
						st, dst_st = zero()
						ans = "ok"
					elif w[0] == "quit":
						return
					else:
						ans = "bad command"
					sys.stdout.write(ans + "\n")
					sys.stdout.flush()
				continue
			dst = peer[fd]
			ds = dst_st[dst]
			for _ in range(256):
				try:
					pkt = os.read(fd, 65536)
				except OSError:     # BlockingIOError included
					break
				if down:
					st["cut"] += 1
					continue
				if loss and rand() < loss:
					st["lost"] += 1
					ds["lost"] += 1
					continue
				skip = delay == 0 or (reorder and rand() < reorder)
				if not rate:
					if skip:
						if delay:
							st["reordered"] += 1
						ds["pkts"] += 1
						ds["bytes"] += len(pkt)
						try:
							os.write(dst, pkt)
							st["forwarded"] += 1
						except OSError:
							ds["write_err"] += 1
						continue
					if queued[dst] >= limit:
						st["overflow"] += 1
						ds["overflow"] += 1
						continue
					t = mono() + delay + uniform(-jitter, jitter)
				else:
					if queued[dst] >= limit:
						st["overflow"] += 1
						ds["overflow"] += 1
						continue
					now = mono()
					start = busy[dst]
					if start < now:
						start = now
					backlog = (start - now) * rate
					if backlog + len(pkt) > qlimit:
						st["overflow"] += 1
						ds["overflow"] += 1
						continue
					if backlog > ds["maxq"]:
						ds["maxq"] = int(backlog)
					t = busy[dst] = start + len(pkt) / rate
					if not skip:
						t += delay + uniform(-jitter, jitter)
					elif delay:
						st["reordered"] += 1
				if not skip:
					if t < last[dst]:
						st["overtaken"] += 1   # jitter put it before an earlier one
					last[dst] = max(last[dst], t)
					st["delayed"] += 1
				ds["pkts"] += 1
				ds["bytes"] += len(pkt)
				n += 1
				heapq.heappush(heap, (t, n, dst, pkt))
				queued[dst] += 1


if __name__ == "__main__":
	if len(sys.argv) == 6 and sys.argv[1] == "linkemu":
		try:
			linkemu(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
		except KeyboardInterrupt:
			pass
		sys.exit(0)
	sys.stderr.write("usage: hlib.py linkemu NS_A NS_B DEV SEED\n")
	sys.exit(2)

# SPDX-License-Identifier: Apache-2.0
"""
gwlib.py: the harness for the gateway integration tests: a temporary
directory, identities made by the real binary, YAML configs written as text,
free loopback ports, `stpgate run` processes with their logs in files, and
the local apps and services the tunnels carry (echo, sink, source).

Everything here is bounded in time: every wait has a deadline, every socket a
timeout, and every process we start is killed when the test ends, however it
ends (atexit, a watchdog, and PR_SET_PDEATHSIG should this process die).
All addresses are 127.0.0.1.  Python 3 standard library only.
"""

import argparse
import atexit
import ctypes
import hashlib
import os
import pwd
import random
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HOST = "127.0.0.1"
MiB = 1 << 20

_T0 = time.monotonic()


def say(msg):
	"""One progress line, stamped with the seconds since the test began."""
	sys.stdout.write("[%7.2f] %s\n" % (time.monotonic() - _T0, msg))
	sys.stdout.flush()


class Results:
	"""The pass/fail tally; a failed check prints why and the test goes on."""

	def __init__(self):
		self.passed = 0
		self.failed = 0
		self.lock = threading.Lock()

	def ok(self, cond, what, detail=""):
		with self.lock:
			if cond:
				self.passed += 1
			else:
				self.failed += 1
		if cond:
			say("ok: " + what)
		else:
			say("FAIL: " + what + (" (" + detail + ")" if detail else ""))
		return bool(cond)

	def fail(self, what, detail=""):
		return self.ok(False, what, detail)

	def done(self):
		print("%d passed, %d failed" % (self.passed, self.failed))
		sys.stdout.flush()
		return 0 if self.failed == 0 and self.passed > 0 else 1


# ---- processes ----

_PR_SET_PDEATHSIG = 1
try:
	_libc = ctypes.CDLL(None, use_errno=True)
except OSError:
	_libc = None


def _child_setup():
	# Die with the test: if this process is killed (a ctest timeout sends
	# SIGKILL), nothing it started keeps running.  Processes are started from
	# the main thread only, which lives as long as the test.
	if _libc is not None:
		_libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
	os.setpgid(0, 0)


_procs = []        # every Popen we started
_procs_lock = threading.Lock()


def _kill_all():
	with _procs_lock:
		procs = list(_procs)
	for p in procs:
		if p.poll() is None:
			try:
				os.kill(p.pid, signal.SIGKILL)
			except OSError:
				pass
			try:
				p.wait(timeout=5)
			except subprocess.TimeoutExpired:
				pass


atexit.register(_kill_all)


def spawn(argv, log_path=None, env=None, pipes=False):
	"""Start argv with stdout+stderr to log_path (or /dev/null); with
	pipes, its stdin and stdout are pipes to us (p.stdin, p.stdout, bytes)
	and only stderr goes to log_path.  Remembered so that it is killed when
	the test ends."""
	out = open(log_path, "ab") if log_path else subprocess.DEVNULL
	try:
		p = subprocess.Popen(argv,
		    stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
		    stdout=subprocess.PIPE if pipes else out,
		    stderr=out if pipes else subprocess.STDOUT,
		    preexec_fn=_child_setup, env=env, close_fds=True)
	finally:
		if log_path:
			out.close()
	with _procs_lock:
		_procs.append(p)
	return p


def descendants(pid):
	"""The pids of pid's children, theirs, and so on (from /proc), children
	before grandchildren.  For processes ours started that left our
	process group (sshd's per-connection children call setsid)."""
	parent = {}
	for d in os.listdir("/proc"):
		if not d.isdigit():
			continue
		try:
			with open("/proc/%s/stat" % d) as f:
				st = f.read()
		except OSError:
			continue
		# pid (comm) state ppid ...: comm may hold spaces and parentheses
		parent[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
	out, todo = [], [pid]
	while todo:
		p = todo.pop(0)
		kids = sorted(c for c, pp in parent.items() if pp == p)
		out += kids
		todo += kids
	return out


def rss_kib(pid):
	"""VmRSS of pid in KiB, or None if it is gone."""
	try:
		with open("/proc/%d/status" % pid) as f:
			for line in f:
				if line.startswith("VmRSS:"):
					return int(line.split()[1])
	except (OSError, ValueError):
		return None
	return None


def binary_sanitizer(path):
	"""'asan', 'tsan' or None: which sanitizer runtime the binary carries."""
	try:
		with open(path, "rb") as f:
			data = f.read()
	except OSError:
		return None
	if b"__tsan_init" in data:
		return "tsan"
	if b"__asan_init" in data:
		return "asan"
	return None


# ---- the harness ----

def ephemeral_low():
	"""The lowest port the kernel picks for outgoing connections (32768
	unless configured), never below 20000 here."""
	try:
		with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
			lo = int(f.read().split()[0])
	except (OSError, ValueError, IndexError):
		lo = 32768
	return max(lo, 20000)


def workers_arg(text):
	"""--workers: "auto" (the gateway's default) or a thread count."""
	if text == "auto":
		return text
	n = int(text)
	if n < 0:
		raise ValueError("workers must be auto or >= 0")
	return n


def test_main(run, description, timeout=280):
	"""The command line of a test that is one run(h): --stpgate PATH
	[--workers N] [--keep] [--timeout S].  Runs it under a Harness; an
	exception is one more failure.  Returns the exit status."""
	ap = argparse.ArgumentParser(description=description)
	ap.add_argument("--stpgate", required=True, help="path to the stpgate binary")
	ap.add_argument("--workers", type=workers_arg, default=2,
	    help="crypto workers (0 = inline)")
	ap.add_argument("--keep", action="store_true", help="keep the temp dir")
	ap.add_argument("--timeout", type=int, default=timeout,
	    help="whole-test bound, seconds")
	args = ap.parse_args()
	h = Harness(args.stpgate, args.workers, args.keep, args.timeout)
	try:
		run(h)
	except Exception as e:  # a bug or an unexpected error is one more failure
		import traceback
		traceback.print_exc()
		h.r.fail("the test raised %r" % e)
	return h.finish()



def read_text(path):
	"""A file's text (a log), undecodable bytes replaced; "" if unreadable."""
	try:
		with open(path, "rb") as f:
			return f.read().decode("utf-8", "replace")
	except OSError:
		return ""

class Harness:
	"""One test run: a temp dir, the stpgate binary, the tally, and
	everything to clean up."""

	def __init__(self, stpgate, workers=1, keep=False, timeout=280):
		self.stpgate = os.path.abspath(stpgate)
		if not os.access(self.stpgate, os.X_OK):
			raise SystemExit("not an executable: %s" % stpgate)
		self.workers = workers
		self.rekey = None       # {key: value} for every config, if set
		self.keep = keep
		self.dir = tempfile.mkdtemp(prefix="stpgate-it.")
		self.r = Results()
		self.gateways = []
		self.servers = []
		self._ports = set()
		self._socks = []
		self.sanitizer = binary_sanitizer(self.stpgate)
		self._done = threading.Event()
		w = threading.Thread(target=self._watchdog, args=(timeout,), daemon=True)
		w.start()
		say("harness: dir %s, stpgate %s%s, workers %s" % (self.dir,
		    self.stpgate, " (%s build)" % self.sanitizer if self.sanitizer else "",
		    workers))

	def _watchdog(self, timeout):
		if self._done.wait(timeout):
			return
		say("FAIL: the test did not finish within %d s; killing everything" % timeout)
		self.dump_logs()
		_kill_all()
		print("%d passed, %d failed" % (self.r.passed, self.r.failed + 1))
		sys.stdout.flush()
		os._exit(1)

	def path(self, name):
		return os.path.join(self.dir, name)

	def port(self):
		"""A loopback port that was free a moment ago, never the same one
		twice in a run.  Drawn at random below the kernel's ephemeral range:
		a port bound and released there (bind 0) may be handed at once to
		another test's outgoing connection as its source port, and the
		gateway that was to listen on it then finds it in use."""
		lo = ephemeral_low()
		for _ in range(200):
			p = random.randrange(10000, lo)
			if p in self._ports:
				continue
			s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
			try:
				s.bind((HOST, p))
			except OSError:
				continue
			finally:
				s.close()
			self._ports.add(p)
			return p
		raise RuntimeError("no free port")

	def udp_port(self):
		"""Like port(), and free for UDP as well (for udp: forwards and
		UDP services)."""
		for _ in range(50):
			p = self.port()
			s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
			try:
				s.bind((HOST, p))
			except OSError:
				continue
			finally:
				s.close()
			return p
		raise RuntimeError("no free UDP port")

	def keygen(self, name):
		"""A new identity file NAME.key; returns (path, public key text)."""
		path = self.path(name + ".key")
		p = subprocess.run([self.stpgate, "keygen", "-o", path],
		    capture_output=True, text=True, timeout=30)
		if p.returncode != 0:
			raise RuntimeError("stpgate keygen failed (%d): %s" % (p.returncode, p.stderr))
		q = subprocess.run([self.stpgate, "pubkey", path],
		    capture_output=True, text=True, timeout=30)
		key = q.stdout.strip().splitlines()[0] if q.returncode == 0 and q.stdout.strip() else ""
		if not key.startswith("stp1:"):
			m = re.search(r"stp1:[A-Za-z0-9_-]+", p.stdout)
			if not m:
				raise RuntimeError("no public key from keygen: %r" % p.stdout)
			key = m.group(0)
		return path, key

	def check(self, cfg_path):
		"""`stpgate check -c FILE`: (exit status, stdout, stderr)."""
		p = subprocess.run([self.stpgate, "check", "-c", cfg_path],
		    capture_output=True, text=True, timeout=30)
		return p.returncode, p.stdout, p.stderr

	def gateway(self, name, cfg_text):
		"""A gateway NAME with its config written to NAME.yaml (not started)."""
		g = Gateway(self, name, self.path(name + ".yaml"))
		g.write_config(cfg_text)
		self.gateways.append(g)
		return g

	def server(self, handler, name):
		"""A threaded TCP server on a fresh loopback port; handler(conn, srv)
		runs in its own thread for each connection."""
		s = TcpServer(handler, name)
		self.servers.append(s)
		return s

	def connect(self, port, timeout=10):
		s = socket.create_connection((HOST, port), timeout=timeout)
		self._socks.append(s)
		return s

	def dump_logs(self, lines=40):
		for g in self.gateways:
			for path in g.log_paths:
				try:
					with open(path, "rb") as f:
						text = f.read().decode("utf-8", "replace").splitlines()
				except OSError:
					continue
				say("---- last %d lines of %s ----" % (min(lines, len(text)),
				    os.path.basename(path)))
				for line in text[-lines:]:
					sys.stdout.write("    " + line + "\n")
		sys.stdout.flush()

	def finish(self):
		"""Stop every gateway (checking each exits 0 on SIGTERM), close
		everything, print the tally; returns the exit status."""
		for g in self.gateways:
			if g.running():
				g.stop()
		for s in self._socks:
			try:
				s.close()
			except OSError:
				pass
		for s in self.servers:
			s.close()
		_kill_all()
		if self.r.failed:
			self.dump_logs()
		self._done.set()
		if self.keep:
			say("kept %s" % self.dir)
		else:
			shutil.rmtree(self.dir, ignore_errors=True)
		return self.r.done()


def yq(s):
	"""A YAML double-quoted scalar."""
	return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(identity, workers, listen=None, peers=None, forwards=None,
    services=None, timeouts=None, flow=None, rekey=None, log_level="info"):
	"""A gateway config as YAML text.  peers: {name: {key, dial?,
	destinations?}}; forwards: [(listen, peer, service)] or [{key: value}]
	(a listen or socks that is an int is a loopback port, a string is
	written as given, e.g. "unix:/path"); services: {name: (connect,
	[peers]) or (connect, [peers], {key: value})}; timeouts/flow/rekey:
	{key: value} written as given."""
	out = ["# written by tests/integration/gwlib.py",
	    "identity: " + yq(identity)]
	if listen is not None:
		out.append("listen: " + yq("%s:%d" % (HOST, listen)))
	out.append("workers: %s" % workers)
	out += ["log:", "  level: " + log_level, "  format: text"]
	out.append("peers:")
	for name, p in (peers or {}).items():
		out.append("  %s:" % name)
		out.append("    key: " + yq(p["key"]))
		if p.get("dial"):
			out.append("    dial: " + yq("%s:%d" % (HOST, p["dial"])))
		if p.get("access_secret"):
			out.append("    access_secret: " + yq(p["access_secret"]))
		if p.get("destinations") is not None:
			out.append("    destinations: [" + ", ".join(yq(d) for d in
			    p["destinations"]) + "]")

	def addr(a):
		return yq("%s:%d" % (HOST, a) if isinstance(a, int) else a)

	if forwards:
		out.append("forwards:")
		for f in forwards:
			if not isinstance(f, dict):
				f = {"listen": f[0], "peer": f[1], "service": f[2]}
			lead = "  - "
			for k, v in f.items():
				out.append(lead + "%s: %s" % (k, addr(v) if k in
				    ("listen", "socks") else yq(v)))
				lead = "    "
	if services:
		out.append("services:")
		for name, sv in services.items():
			out.append("  %s:" % name)
			out.append("    connect: " + addr(sv[0]))
			out.append("    allow: [" + ", ".join(sv[1]) + "]")
			for k, v in (sv[2] if len(sv) > 2 else {}).items():
				out.append("    %s: %s" % (k, yq(v)))
	if timeouts:
		out.append("timeouts:")
		for k, v in timeouts.items():
			out.append("  %s: %s" % (k, v))
	for section, kv in (("flow", flow), ("rekey", rekey)):
		if kv:
			out.append(section + ":")
			for k, v in kv.items():
				out.append("  %s: %s" % (k, v))
	return "\n".join(out) + "\n"


def peer_line(peer, what):
	"""A regex for a log line naming peer=PEER and containing WHAT."""
	p = r"peer=%s\b" % re.escape(peer)
	w = re.escape(what)
	return "(%s.*%s|%s.*%s)" % (p, w, w, p)


class Gateway:
	"""One `stpgate run -c FILE` process at a time; each start logs to a new
	file NAME.N.log, so waits after a restart see only the new instance."""

	def __init__(self, h, name, cfg_path):
		self.h = h
		self.name = name
		self.cfg_path = cfg_path
		self.proc = None
		self.starts = 0
		self.log_paths = []
		self.env = None
		# A command to run stpgate under (["valgrind", ...], ["ip", "netns",
		# "exec", NS]); it must exec stpgate in the same process (same pid).
		self.wrapper = None

	def write_config(self, text):
		tmp = self.cfg_path + ".tmp"
		# 0600: a config that holds an access secret must not be world-readable.
		fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
		with os.fdopen(fd, "w") as f:
			f.write(text)
		os.replace(tmp, self.cfg_path)

	@property
	def log_path(self):
		return self.log_paths[-1]

	@property
	def pid(self):
		return self.proc.pid

	def start(self):
		self.starts += 1
		self.log_paths.append(self.h.path("%s.%d.log" % (self.name, self.starts)))
		# A config without `control:` gets a default socket named after
		# the config in $RUNTIME_DIRECTORY (else /run/stpgate as root):
		# keep it in the test's own directory, so that tests running side
		# by side with configs of the same name never meet.
		env = dict(self.env if self.env is not None else os.environ)
		env.setdefault("RUNTIME_DIRECTORY", os.path.dirname(
		    os.path.abspath(self.cfg_path)))
		self.proc = spawn(list(self.wrapper or []) +
		    [self.h.stpgate, "run", "-c", self.cfg_path],
		    self.log_path, env)
		say("%s: started pid %d (log %s)" % (self.name, self.proc.pid,
		    os.path.basename(self.log_path)))
		return self

	def running(self):
		return self.proc is not None and self.proc.poll() is None

	def log(self):
		return read_text(self.log_path)

	def mark(self):
		"""The log's current length: a `since` for wait_log and grep."""
		return len(self.log())

	def grep(self, regex, since=0):
		"""Lines of the current log (after offset since) matching regex."""
		rx = re.compile(regex)
		return [l for l in self.log()[since:].splitlines() if rx.search(l)]

	def wait_log(self, regex, timeout, since=0):
		"""The first line matching regex after offset since, waiting up to
		timeout seconds; None if none came (or the process died)."""
		rx = re.compile(regex)
		deadline = time.monotonic() + timeout
		while True:
			for line in self.log()[since:].splitlines():
				if rx.search(line):
					return line
			if time.monotonic() >= deadline:
				return None
			if not self.running():
				# One last look: the line may have been written as it died.
				for line in self.log()[since:].splitlines():
					if rx.search(line):
						return line
				return None
			time.sleep(0.05)

	def hup(self):
		os.kill(self.proc.pid, signal.SIGHUP)

	def kill(self):
		"""SIGKILL, as a crash would."""
		os.kill(self.proc.pid, signal.SIGKILL)
		self.proc.wait(timeout=10)
		say("%s: killed (SIGKILL)" % self.name)

	def stop(self, timeout=None, check=True):
		"""SIGTERM and wait; SIGKILL only if it hangs.  With check, exit 0
		within the bound is a passed check and anything else a failure.
		Returns the exit status (None if it had to be killed)."""
		if timeout is None:
			timeout = 30 if self.h.sanitizer else 12
		if self.proc.poll() is not None:
			rc = self.proc.returncode
			if check:
				self.h.r.fail("%s was still running at the end" % self.name,
				    "it had exited with status %d" % rc)
			return rc
		os.kill(self.proc.pid, signal.SIGTERM)
		try:
			rc = self.proc.wait(timeout=timeout)
		except subprocess.TimeoutExpired:
			os.kill(self.proc.pid, signal.SIGKILL)
			self.proc.wait(timeout=10)
			if check:
				self.h.r.fail("%s stops on SIGTERM" % self.name,
				    "still running %d s after SIGTERM; killed" % timeout)
			return None
		if check:
			self.h.r.ok(rc == 0, "%s exits 0 on SIGTERM" % self.name,
			    "exit status %d" % rc)
		return rc


# ---- local services (run inside this process) ----

class TcpServer:
	"""A listening socket on a fresh loopback port with one thread per
	accepted connection running handler(conn, server)."""

	def __init__(self, handler, name):
		self.name = name
		self.handler = handler
		self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		self.sock.bind((HOST, 0))
		self.sock.listen(512)
		self.sock.settimeout(0.2)
		self.port = self.sock.getsockname()[1]
		self.accepted = 0
		self.errors = []
		self.stopping = threading.Event()
		self.lock = threading.Lock()
		self.conns = []
		self.state = {}       # for handlers to leave results in
		threading.Thread(target=self._loop, daemon=True).start()

	def _loop(self):
		while not self.stopping.is_set():
			try:
				c, _ = self.sock.accept()
			except socket.timeout:
				continue
			except OSError:
				return
			c.settimeout(None)
			with self.lock:
				self.accepted += 1
				self.conns.append(c)
			threading.Thread(target=self._run, args=(c,), daemon=True).start()

	def _run(self, c):
		try:
			self.handler(c, self)
		except (OSError, ValueError) as e:
			with self.lock:
				self.errors.append(repr(e))
		finally:
			try:
				c.close()
			except OSError:
				pass

	def close(self):
		self.stopping.set()
		try:
			self.sock.close()
		except OSError:
			pass
		with self.lock:
			conns = list(self.conns)
		for c in conns:
			try:
				c.shutdown(socket.SHUT_RDWR)
			except OSError:
				pass


def echo_handler(c, srv):
	"""Echo every byte back; on EOF, finish our side too."""
	c.settimeout(120)
	while True:
		d = c.recv(256 * 1024)
		if not d:
			break
		c.sendall(d)
	c.shutdown(socket.SHUT_WR)


def sink_handler(rate):
	"""Read and discard at most rate bytes/s; srv.state['bytes'] counts."""
	def h(c, srv):
		c.settimeout(1)
		start = time.monotonic()
		got = 0
		while not srv.stopping.is_set():
			# Never ahead of the rate: wait until the budget allows a chunk.
			allowed = int((time.monotonic() - start) * rate) - got
			if allowed <= 0:
				time.sleep(min(0.05, (-allowed + 1) / rate + 0.001))
				continue
			try:
				d = c.recv(min(allowed, 64 * 1024))
			except socket.timeout:
				continue
			if not d:
				break
			got += len(d)
			with srv.lock:
				srv.state["bytes"] = srv.state.get("bytes", 0) + len(d)
	return h


class Pattern:
	"""Deterministic bytes: a random block repeated, its length not a power
	of two so that a lost or doubled chunk shows.  chunk(off, n) is the
	stream's bytes [off, off+n)."""

	def __init__(self, seed_len=4 * MiB + 4093):
		self.block = os.urandom(seed_len)
		self.double = self.block + self.block
		self.n = seed_len

	def chunk(self, off, n):
		out = []
		while n > 0:
			o = off % self.n
			k = min(n, self.n)
			out.append(self.double[o:o + k])
			off += k
			n -= k
		return b"".join(out)

	def sha256(self, total, step=MiB):
		h = hashlib.sha256()
		off = 0
		while off < total:
			k = min(step, total - off)
			h.update(self.chunk(off, k))
			off += k
		return h.hexdigest()


def source_handler(pattern, total=None):
	"""Send pattern bytes (total of them, or until the peer goes away), then
	close.  srv.state['sent'] counts."""
	def h(c, srv):
		c.settimeout(120)
		off = 0
		step = 256 * 1024
		while not srv.stopping.is_set() and (total is None or off < total):
			k = step if total is None else min(step, total - off)
			c.sendall(pattern.chunk(off, k))
			off += k
			with srv.lock:
				srv.state["sent"] = srv.state.get("sent", 0) + k
		c.shutdown(socket.SHUT_WR)
	return h


# ---- a TCP relay of the test's own ----

class TcpRelay:
	"""A TCP relay from a fresh loopback port (port) to HOST:target, e.g.
	between a gateway and the peer port it dials: each connection it
	accepts is paired with a new one to target, and bytes are copied both
	ways as they come.  One thread (a selector loop) does it all and alone
	touches the sockets, so that reset_all() can break every connection
	at once: SO_LINGER 0, then close, a RST to each side.  (With a thread
	per direction, a thread blocked in recv or send keeps the socket open
	past another thread's close, and its RST goes out only when that
	thread wakes.)

	withhold() before reset_all() makes the break lose bytes in flight:
	from then on, what one direction of the current connections brings is
	dropped (withheld() counts it).

	When either side of a pair ends (EOF or error), what is still queued
	for the other side is written, then both are shut down and closed.
	conns counts the connections accepted; live() is the number of pairs
	still relaying; errors says what failed (a connect to target).

	A subclass may change what passes: filters(k) is called as the k-th
	connection (from 0) is paired, and returns {direction: f} with
	direction "a2b" (from the side that connected to the relay) or "b2a";
	a direction without one is copied as it is.  f(data) returns (out,
	end): out, a bytes-like object or a list of them, is queued for the
	other side, and with end the pair ends once that is written.  Both
	are called in the relay's thread."""

	QUEUE = 1 << 20     # bytes queued for one side before the other is no longer read

	def __init__(self, target):
		self.target = target
		self.conns = 0
		self.errors = []
		self._withheld = 0
		self.lock = threading.Lock()    # for subclasses' state too
		self._cmds = []
		self._pairs = []
		self._closed = False
		self._sel = selectors.DefaultSelector()
		self._ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		self._ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		self._ls.bind((HOST, 0))
		self._ls.listen(64)
		self._ls.setblocking(False)
		self.port = self._ls.getsockname()[1]
		self._wake_r, self._wake_w = socket.socketpair()
		self._wake_r.setblocking(False)
		self._wake_w.setblocking(False)
		self._sel.register(self._ls, selectors.EVENT_READ, "listen")
		self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
		self._t = threading.Thread(target=self._loop, daemon=True)
		self._t.start()

	def filters(self, k):
		return {}

	def live(self):
		with self.lock:
			return len(self._pairs)

	def reset_all(self, timeout=5):
		"""Break every current connection abruptly: a RST to both sides
		(SO_LINGER 0, then close), whatever is queued dropped.  The relay
		goes on accepting.  Returns how many pairs were reset (None if the
		relay's thread did not do it within timeout)."""
		return self._call("reset", None, timeout)

	def withhold(self, direction, timeout=5):
		"""From now on drop what direction ("a2b" or "b2a") of the current
		connections brings, as if it were lost on the way: for a
		reset_all() to follow (the connections cannot go on without those
		bytes; later ones pass as usual).  Returns how many connections
		it applies to."""
		return self._call("withhold", direction, timeout)

	def withheld(self):
		"""Bytes dropped so far by withhold()."""
		return self._withheld

	def close(self, timeout=5):
		"""Accept no more connections; those already paired go on until
		they end."""
		self._call("close", None, timeout)

	def _call(self, what, arg, timeout):
		done = threading.Event()
		res = []
		with self.lock:
			self._cmds.append((what, arg, done, res))
		try:
			self._wake_w.send(b"x")
		except OSError:
			pass
		if not done.wait(timeout):
			return None
		return res[0] if res else None

	# -- the relay's thread --

	def _loop(self):
		while True:
			for key, ev in self._sel.select(0.5):
				if key.data == "listen":
					self._accept()
				elif key.data == "wake":
					self._commands()
				elif key.fileobj.fileno() >= 0:   # not closed earlier in this round
					self._io(key.data, ev)
			with self.lock:
				if self._closed and not self._pairs:
					break
		self._sel.close()
		self._wake_r.close()

	def _commands(self):
		try:
			while self._wake_r.recv(4096):
				pass
		except OSError:
			pass
		with self.lock:
			cmds, self._cmds = self._cmds, []
		for what, arg, done, res in cmds:
			with self.lock:
				pairs = list(self._pairs)
			if what == "reset":
				for pair in pairs:
					self._end(pair, reset=True)
				res.append(len(pairs))
			elif what == "withhold":
				for pair in pairs:
					pair["sides"][0 if arg == "a2b" else 1]["drop"] = True
				res.append(len(pairs))
			elif what == "close" and not self._closed:
				self._sel.unregister(self._ls)
				self._ls.close()
				with self.lock:
					self._closed = True
			done.set()

	def _accept(self):
		while not self._closed:
			try:
				c, _ = self._ls.accept()
			except (BlockingIOError, InterruptedError):
				return
			except OSError as e:
				self.errors.append("accept: %r" % e)
				return
			try:
				u = socket.create_connection((HOST, self.target), timeout=5)
			except OSError as e:
				self.errors.append("connect to %d: %r" % (self.target, e))
				c.close()
				continue
			k = self.conns
			self.conns += 1
			try:
				filters = self.filters(k) or {}
			except Exception as e:  # a bug in a subclass: relay it plainly
				self.errors.append("filters(%d): %r" % (k, e))
				filters = {}
			a = {"sock": c, "out": bytearray(), "mask": 0, "drop": False,
			    "filter": filters.get("a2b")}
			b = {"sock": u, "out": bytearray(), "mask": 0, "drop": False,
			    "filter": filters.get("b2a")}
			pair = {"k": k, "sides": (a, b), "ending": False}
			for me, other in ((a, b), (b, a)):
				me["peer"] = other
				me["pair"] = pair
				me["sock"].setblocking(False)
				me["sock"].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
			with self.lock:
				self._pairs.append(pair)
			self._update(pair)

	def _update(self, pair):
		if pair["ending"] and not any(s["out"] for s in pair["sides"]):
			self._end(pair)
			return
		for s in pair["sides"]:
			mask = 0
			if not pair["ending"] and len(s["peer"]["out"]) < self.QUEUE:
				mask |= selectors.EVENT_READ
			if s["out"]:
				mask |= selectors.EVENT_WRITE
			if mask == s["mask"]:
				continue
			if s["mask"] == 0:
				self._sel.register(s["sock"], mask, s)
			elif mask == 0:
				self._sel.unregister(s["sock"])
			else:
				self._sel.modify(s["sock"], mask, s)
			s["mask"] = mask

	def _io(self, s, ev):
		pair = s["pair"]
		if ev & selectors.EVENT_READ and not pair["ending"]:
			try:
				d = s["sock"].recv(256 * 1024)
			except (BlockingIOError, InterruptedError):
				d = None
			except OSError:
				self._end(pair)
				return
			if d == b"":
				pair["ending"] = True
			elif d and s["drop"]:
				self._withheld += len(d)
			elif d:
				end = False
				if s["filter"] is not None:
					try:
						d, end = s["filter"](d)
					except Exception as e:  # a bug in a filter: its pair ends
						self.errors.append("filter: %r" % e)
						self._end(pair)
						return
				for chunk in (d if isinstance(d, list) else [d]):
					s["peer"]["out"] += chunk
				if end:
					pair["ending"] = True
		if ev & selectors.EVENT_WRITE and s["out"]:
			try:
				n = s["sock"].send(s["out"])
			except (BlockingIOError, InterruptedError):
				n = 0
			except OSError:
				self._end(pair)
				return
			del s["out"][:n]
		self._update(pair)

	def _end(self, pair, reset=False):
		with self.lock:
			if pair not in self._pairs:
				return
			self._pairs.remove(pair)
		for s in pair["sides"]:
			if s["mask"]:
				self._sel.unregister(s["sock"])
				s["mask"] = 0
			try:
				if reset:
					s["sock"].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
					    struct.pack("ii", 1, 0))
				else:
					s["sock"].shutdown(socket.SHUT_RDWR)
			except OSError:
				pass
			s["sock"].close()


# ---- UDP: an echo service, dnsmasq and dig ----

class UdpEcho:
	"""A UDP echo service on a fresh port of host, in the network namespace
	of the thread that makes it: each datagram goes back whole to where it
	came from.  count: datagrams; sources: {(ip, port): datagrams};
	tap(data, addr), if given, sees each one first (in the echo's thread)."""

	def __init__(self, host=HOST, tap=None):
		self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
			try:
				self.sock.setsockopt(socket.SOL_SOCKET, opt, 4 * MiB)
			except OSError:
				pass
		self.sock.bind((host, 0))
		self.sock.settimeout(0.2)
		self.port = self.sock.getsockname()[1]
		self.tap = tap
		self.count = 0
		self.send_errors = 0
		self.sources = {}
		self.lock = threading.Lock()
		self.stopping = threading.Event()
		threading.Thread(target=self._loop, daemon=True).start()

	def _loop(self):
		while not self.stopping.is_set():
			try:
				d, a = self.sock.recvfrom(65536)
			except socket.timeout:
				continue
			except OSError:
				return
			with self.lock:
				self.count += 1
				self.sources[a] = self.sources.get(a, 0) + 1
			if self.tap:
				self.tap(d, a)
			try:
				self.sock.sendto(d, a)
			except OSError:
				with self.lock:
					self.send_errors += 1

	def close(self):
		self.stopping.set()
		try:
			self.sock.close()
		except OSError:
			pass


def dnsmasq_argv(port, args=(), host=HOST):
	"""dnsmasq (Debian's dnsmasq-base) as a DNS server for the tests: in
	the foreground as the process we started (--no-daemon: no fork, no
	change of user, so it dies with the test), on host:port only, with no
	system config, upstream or hosts file, logging queries to stderr.
	args: its records, e.g. "--host-record=a.test,192.0.2.1"."""
	return ["dnsmasq", "--no-daemon", "--port=%d" % port,
	    "--listen-address=%s" % host, "--bind-interfaces", "--no-resolv",
	    "--no-hosts", "--no-poll", "--conf-file=/dev/null", "--pid-file=",
	    "--log-facility=-", "--log-queries"] + list(args)


def dig(port, name, qtype="A", server=HOST, wrapper=(), extra=(), timeout=30):
	"""One query with dig (bind9-dnsutils) at server:port, 3 tries 2 s
	apart: (status such as "NOERROR", or None when no answer came; the
	answer section's rdata for qtype, e.g. ["192.0.2.1"]; dig's output).
	wrapper: a command to run dig under (["ip", "netns", "exec", NS])."""
	argv = list(wrapper) + ["dig", "@" + server, "-p", str(port), name, qtype,
	    "+tries=3", "+time=2", "+noall", "+comments", "+answer"] + list(extra)
	try:
		p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
	except subprocess.TimeoutExpired:
		return None, [], "dig did not end in %d s" % timeout
	out = p.stdout + p.stderr
	m = re.search(r"status: ([A-Z]+)", out)
	answers = []
	for line in p.stdout.splitlines():
		if line.startswith(";") or not line.strip():
			continue
		f = line.split(None, 4)
		if len(f) == 5 and f[2] == "IN" and f[3] == qtype:
			answers.append(f[4].strip())
	return (m.group(1) if m else None), answers, out


# ---- ssh: an OpenSSH server and client of the test's own ----

class Sshd:
	"""OpenSSH's sshd for a test that carries ssh through a tunnel, all of
	it in directory d: a host key, a client key that may log in as the
	user we run as (root: sshd needs it), and sshd's own config;
	`sshd -D -e -f CONFIG` on host:port under wrapper (e.g. ["ip",
	"netns", "exec", NS]), its log in d/sshd.log.  sshd wants its
	privilege separation directory, /run/sshd; where there is none it runs
	in a mount namespace of its own with a tmpfs on /run that holds one,
	so nothing outside d changes.  client() is an ssh command line that
	logs in with the client key: BatchMode, no host key checking,
	known_hosts in d, no agent, no user or system config.  stop() ends
	sshd and the children it started for connections (they leave its
	process group), by pid."""

	def __init__(self, d, port, wrapper=(), host=HOST):
		self.dir = d
		self.port = port
		self.host = host
		self.wrapper = list(wrapper)
		self.proc = None
		self.log_path = os.path.join(d, "sshd.log")
		self.host_key = os.path.join(d, "ssh_host_ed25519_key")
		self.client_key = os.path.join(d, "id_ed25519")
		self.known_hosts = os.path.join(d, "known_hosts")
		self.config = os.path.join(d, "sshd_config")
		self.user = pwd.getpwuid(os.getuid()).pw_name
		for key in (self.host_key, self.client_key):
			subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
			    "-C", "stpgate-test", "-f", key], check=True,
			    capture_output=True, timeout=30)
		auth = os.path.join(d, "authorized_keys")
		shutil.copyfile(self.client_key + ".pub", auth)
		with open(self.config, "w") as f:
			f.write("\n".join([
			    "ListenAddress %s:%d" % (host, port),
			    "HostKey " + self.host_key,
			    "AuthorizedKeysFile " + auth,
			    "PidFile none",
			    "UsePAM no",
			    "StrictModes no",
			    "PubkeyAuthentication yes",
			    "PasswordAuthentication no",
			    "KbdInteractiveAuthentication no",
			    "PermitRootLogin prohibit-password",
			    "AllowTcpForwarding no",
			    "X11Forwarding no",
			    "PrintMotd no",
			    "UseDNS no",
			    "LoginGraceTime 30",
			    "LogLevel VERBOSE",
			    ""]))

	def start(self, timeout=15):
		"""Start sshd; True once it says it listens (within timeout s)."""
		sshd = shutil.which("sshd") or "/usr/sbin/sshd"
		self.proc = spawn(self.wrapper + ["unshare", "--mount", "sh", "-c",
		    '[ -d /run/sshd ] || { mount -t tmpfs -o mode=0755,size=1m '
		    'stp-sshd /run && mkdir -m 0755 /run/sshd; } && exec "$@"', "sh",
		    sshd, "-D", "-e", "-f", self.config], self.log_path)
		say("sshd: started pid %d on %s:%d (log %s)" % (self.proc.pid,
		    self.host, self.port, self.log_path))
		rx = re.compile(r"Server listening on %s port %d" % (
		    re.escape(self.host), self.port))
		return bool(wait_for(lambda: rx.search(self.log()) or
		    self.proc.poll() is not None, timeout) and self.proc.poll() is None)

	def log(self):
		return read_text(self.log_path)

	def client(self, port, command, host=HOST, options=()):
		"""ssh to host:port (a forward to this sshd, or sshd itself)
		running command there, no tty (its stdin and stdout are the
		remote command's)."""
		return ["ssh", "-F", "/dev/null", "-T", "-p", str(port),
		    "-i", self.client_key,
		    "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		    "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		    "-o", "UserKnownHostsFile=" + self.known_hosts,
		    "-o", "GlobalKnownHostsFile=/dev/null", "-o", "UpdateHostKeys=no",
		    "-o", "ControlMaster=no", "-o", "ControlPath=none",
		    "-o", "ConnectTimeout=15", "-o", "EscapeChar=none",
		    "-o", "LogLevel=ERROR"] + list(options) + [
		    "%s@%s" % (self.user, host), command]

	def stop(self):
		if self.proc is None:
			return
		kids = descendants(self.proc.pid)
		for pid in [self.proc.pid] + kids:
			try:
				os.kill(pid, signal.SIGKILL)
			except OSError:
				pass
		try:
			self.proc.wait(timeout=10)
		except subprocess.TimeoutExpired:
			pass
		say("sshd: stopped pid %d%s" % (self.proc.pid, " and its children %s"
		    % kids if kids else ""))
		self.proc = None


# ---- app side helpers ----

def recv_to_end(s, deadline, sink=None):
	"""Read until EOF, reset or deadline.  Returns (bytes read, how) with how
	'eof', 'reset' or 'timeout'.  sink(data) sees every chunk."""
	n = 0
	while True:
		left = deadline - time.monotonic()
		if left <= 0:
			return n, "timeout"
		s.settimeout(min(left, 1.0))
		try:
			d = s.recv(256 * 1024)
		except socket.timeout:
			continue
		except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
			return n, "reset"
		if not d:
			return n, "eof"
		n += len(d)
		if sink:
			sink(d)


def closed_within(s, seconds):
	"""Wait for the peer to close s (EOF or reset), reading and discarding.
	Returns (how, elapsed, bytes) with how 'eof', 'reset' or 'timeout'."""
	t0 = time.monotonic()
	n, how = recv_to_end(s, t0 + seconds)
	return how, time.monotonic() - t0, n


def app_closed_within(port, seconds, send=b""):
	"""Connect an app to port, send some bytes, and wait for the gateway to
	close the connection.  Returns (how, elapsed, bytes) like closed_within;
	a close so fast that connect() itself reports the reset counts as
	'reset' (connect() on loopback polls for completion and can see the
	RST that followed the accept)."""
	t0 = time.monotonic()
	try:
		s = socket.create_connection((HOST, port), timeout=seconds)
	except (ConnectionResetError, ConnectionAbortedError):
		return "reset", time.monotonic() - t0, 0
	except OSError as e:
		return "connect failed: %r" % e, time.monotonic() - t0, 0
	try:
		if send:
			try:
				s.sendall(send)
			except OSError:
				pass
		n, how = recv_to_end(s, t0 + seconds)
		return how, time.monotonic() - t0, n
	finally:
		s.close()


def echo_roundtrip(port, data, timeout=30):
	"""Connect, send data while reading the echo back, compare.  Returns
	None on success, else what went wrong."""
	try:
		s = socket.create_connection((HOST, port), timeout=timeout)
	except OSError as e:
		return "connect: %r" % e
	try:
		return echo_many_socks([s], [data], timeout)[1]
	finally:
		s.close()


def echo_many(port, datas, timeout):
	"""Open len(datas) connections to port (all at once), push datas[i] on
	connection i while reading its echo back, all multiplexed in one
	selector loop.  Returns (number verified, first error or None)."""
	socks = []
	try:
		for _ in datas:
			socks.append(socket.create_connection((HOST, port), timeout=timeout))
		return echo_many_socks(socks, datas, timeout)
	except OSError as e:
		return 0, "connect #%d: %r" % (len(socks), e)
	finally:
		for s in socks:
			s.close()


def echo_many_socks(socks, datas, timeout):
	sel = selectors.DefaultSelector()
	st = []
	for i, (s, d) in enumerate(zip(socks, datas)):
		s.setblocking(False)
		st.append({"mv": memoryview(d), "sent": 0, "got": 0, "i": i, "s": s})
		sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, st[-1])
	deadline = time.monotonic() + timeout
	ok = 0
	err = None
	live = len(st)
	try:
		while live:
			left = deadline - time.monotonic()
			if left <= 0:
				short = [x for x in st if x["got"] < len(x["mv"])]
				err = "timeout after %d s: %d of %d connections unfinished, " \
				    "e.g. #%d sent %d got %d of %d" % (timeout, len(short), len(st),
				    short[0]["i"], short[0]["sent"], short[0]["got"], len(short[0]["mv"]))
				break
			for key, ev in sel.select(min(left, 1.0)):
				x = key.data
				s = x["s"]
				mv = x["mv"]
				if ev & selectors.EVENT_WRITE and x["sent"] < len(mv):
					try:
						x["sent"] += s.send(mv[x["sent"]:x["sent"] + 256 * 1024])
					except BlockingIOError:
						pass
					except OSError as e:
						err = err or "#%d send after %d bytes: %r" % (x["i"], x["sent"], e)
						sel.unregister(s)
						live -= 1
						continue
					if x["sent"] == len(mv):
						sel.modify(s, selectors.EVENT_READ, x)
				if ev & selectors.EVENT_READ:
					try:
						d = s.recv(256 * 1024)
					except BlockingIOError:
						continue
					except OSError as e:
						err = err or "#%d recv after %d bytes: %r" % (x["i"], x["got"], e)
						sel.unregister(s)
						live -= 1
						continue
					if not d:
						err = err or "#%d closed after echoing %d of %d bytes" % (
						    x["i"], x["got"], len(mv))
						sel.unregister(s)
						live -= 1
						continue
					g = x["got"]
					if g + len(d) > len(mv) or mv[g:g + len(d)] != d:
						err = err or "#%d echo differs at byte %d" % (x["i"], g)
						sel.unregister(s)
						live -= 1
						continue
					x["got"] = g + len(d)
					if x["got"] == len(mv):
						ok += 1
						sel.unregister(s)
						live -= 1
	finally:
		sel.close()
		for s in socks:
			try:
				s.setblocking(True)
			except OSError:
				pass
	return ok, err


class RssSampler:
	"""Samples VmRSS of some pids every interval seconds in a thread."""

	def __init__(self, pids, interval=0.5):
		self.pids = dict(pids)          # label -> pid
		self.max = {k: 0 for k in self.pids}
		self.samples = {k: [] for k in self.pids}
		self.stop_ev = threading.Event()
		self.t = threading.Thread(target=self._loop, args=(interval,), daemon=True)
		self.t.start()

	def _loop(self, interval):
		while not self.stop_ev.is_set():
			for k, pid in self.pids.items():
				v = rss_kib(pid)
				if v is not None:
					self.samples[k].append(v)
					self.max[k] = max(self.max[k], v)
			self.stop_ev.wait(interval)

	def stop(self):
		self.stop_ev.set()
		self.t.join(5)


# ---- shared by the tests: config tweaks, metrics, waits ----

# Short timeouts for tests, so that failures and reconnections are quick.
FAST_TIMEOUTS = {
	"handshake": "5s",
	"connect": "3s",
	"keepalive": "1s",
	"dead_after": "5s",
	"drain": "2s",
	"reconnect_min": "200ms",
	"reconnect_max": "1s",
}
UP_WAIT = 20        # seconds for a session to come up on loopback


def fast_timeouts(**over):
	"""A copy of FAST_TIMEOUTS with over applied; a value of None drops
	that key (the gateway's default then)."""
	t = dict(FAST_TIMEOUTS)
	for k, v in over.items():
		if v is None:
			t.pop(k, None)
		else:
			t[k] = v
	return t


def with_sign_records(text, peer):
	"""text (a config_text config) with `sign_records: true` added to
	peers.PEER; RuntimeError if there is no such peer."""
	out = []
	inside = added = False
	for line in text.split("\n"):
		out.append(line)
		if line == "  %s:" % peer:
			inside = True
		elif inside and line.startswith("    key: "):
			out.append("    sign_records: true")
			inside = False
			added = True
	if not added:
		raise RuntimeError("no peer %s in the config" % peer)
	return "\n".join(out)


def metrics_text(port, timeout=10):
	"""GET /metrics on HOST:port: the text, or "" when it cannot be had."""
	try:
		with urllib.request.urlopen("http://%s:%d/metrics" % (HOST, port),
		    timeout=timeout) as r:
			return r.read().decode("utf-8")
	except OSError as e:
		say("metrics on port %d: %r" % (port, e))
		return ""


_M_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_M_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metric_samples(text):
	"""The samples of a metrics text: {(name, frozenset(label items)):
	value}; comments and lines that are not samples are passed over."""
	out = {}
	for line in (text or "").splitlines():
		if line.startswith("#"):
			continue
		m = _M_SAMPLE.match(line)
		if not m:
			continue
		try:
			v = float(m.group(3))
		except ValueError:
			continue
		out[(m.group(1), frozenset(_M_LABEL.findall(m.group(2) or "")))] = v
	return out


def metric_exact(text, name, **labels):
	"""The value of the sample name whose labels are exactly labels, or
	None."""
	return metric_samples(text).get((name, frozenset(labels.items())))


def plugin_events(text, plugin):
	"""{event: count} of stpgate_plugin_events_total for plugin in a
	metrics text (counts as int)."""
	out = {}
	for (name, labels), v in metric_samples(text).items():
		l = dict(labels)
		if name == "stpgate_plugin_events_total" and \
		    l.get("plugin") == plugin and "event" in l:
			out[l["event"]] = int(v)
	return out


def recv_exact(s, n, eof_ok=False):
	"""n bytes from socket s.  An EOF before them raises ValueError naming
	how many came, or with eof_ok returns None."""
	buf = b""
	while len(buf) < n:
		d = s.recv(n - len(buf))
		if not d:
			if eof_ok:
				return None
			raise ValueError("EOF after %d of %d bytes" % (len(buf), n))
		buf += d
	return buf


def wait_for(pred, timeout, step=0.1):
	"""pred()'s first true value within timeout seconds, or its last value."""
	deadline = time.monotonic() + timeout
	while True:
		v = pred()
		if v or time.monotonic() >= deadline:
			return v
		time.sleep(step)


def wait_sessions_up(a, b, a_peer="bob", b_peer="alice", timeout=UP_WAIT,
    since_a=0, since_b=0):
	"""Gateways a and b each log "session up" with the other (a_peer as a
	calls b, b_peer as b calls a) within timeout: the two lines, either
	None if it did not come."""
	return (a.wait_log(peer_line(a_peer, "session up"), timeout, since_a),
	    b.wait_log(peer_line(b_peer, "session up"), timeout, since_b))


def listening_rx(port):
	"""A regex for a gateway's log line saying it listens on port."""
	return r"(listening.*[:= ]%d\b|[:= ]%d\b.*listening)" % (port, port)


def read_to_eof(s, stop_on=(ConnectionResetError, socket.timeout)):
	"""Everything socket s sends until EOF, or until recv raises one of
	stop_on (other errors propagate)."""
	chunks = []
	while True:
		try:
			d = s.recv(65536)
		except stop_on:
			break
		if not d:
			break
		chunks.append(d)
	return b"".join(chunks)

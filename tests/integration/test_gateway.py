#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_gateway.py: two real gateways on 127.0.0.1, alice (A: the apps' side,
it dials) and bob (B: the services' side, it listens), and the behaviour an
operator relies on, one case per run:

  download     a 256 MiB file over HTTP through the tunnel, SHA-256 checked
  echo200      200 concurrent connections, 1 MiB each, echoed and checked
  halfclose    a FIN from either end crosses the tunnel; the other way flows on
  peerkill     SIGKILL bob mid-transfer: the app's connection ends; bob back:
               alice reconnects by herself and new connections work
  refused      a service that does not allow alice (or does not exist) is
               refused: the app is closed at once and bob logs why
  unknownpeer  bob does not know alice's key: no session, bob logs the
               handshake failure, the app is closed after timeouts.connect
  reload       SIGHUP with a broken file keeps the old config; with a good one
               adds a forward; a busy stream never notices either
  slowreader   a stream whose service reads at 1 MiB/s throttles its sender;
               both gateways stay small; a second stream keeps its speed
  closerace    alice stops while bob pours data towards her: her Close
               reaches bob (he logs its reason), five times running, the
               last two with her app no longer reading
  finrace      services write bursts (60 KiB .. 3 MiB) and close at once;
               apps with a 4 KiB receive buffer read them late, at once or
               paced: every burst arrives whole before its EOF (the peer's
               FIN must wait for the bytes a cut-short write left queued)
  resume       alice dials bob through a relay of the test's own, which
               resets (RST both ways) the session's connection twice: in
               the middle of a 48 MiB download, then of a 32 MiB upload.
               Both gateways hold the streams, alice redials, the session
               resumes (`session resumed:` on both sides): the transfers
               end intact by EOF, an echo connection open throughout goes
               on echoing.  --resume-window 0 is its negative control

usage: test_gateway.py CASE --stpgate PATH [--workers N] [--keep]
                        [--rekey-bytes SIZE] [--push-seconds S] [--rss-limit MIB]
                        [--resume-window DURATION]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import argparse
import hashlib
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (workers_arg, HOST, MiB, Harness, Pattern, RssSampler,  # noqa: E402
    TcpRelay, app_closed_within, closed_within, config_text, echo_handler,
    echo_many, echo_many_socks, echo_roundtrip, peer_line, recv_to_end,
    rss_kib, say, sink_handler, source_handler, spawn, wait_for)

# Small timeouts so that every case runs in seconds; reconnect quickly.
TIMEOUTS = {
	"handshake": "5s",
	"connect": "3s",
	"keepalive": "1s",
	"dead_after": "5s",
	"drain": "2s",
	"reconnect_min": "200ms",
	"reconnect_max": "1s",
}
UP_WAIT = 20            # seconds for a session to come up


def listening(port):
	"""A regex for the log line saying we listen on port."""
	return r"(listening.*[:= ]%d\b|[:= ]%d\b.*listening)" % (port, port)


class Pair:
	"""alice (dials, has the forwards) and bob (listens, has the services).
	bob_port: bob's peer port (a fresh one if None); dial: the port alice
	dials (bob_port if None; a relay's, to put one between them)."""

	def __init__(self, h, services, forwards, timeouts=None, bob_peers=None,
	    bob_extra_peers=None, start=True, bob_port=None, dial=None):
		self.h = h
		self.alice_id, self.alice_key = h.keygen("alice")
		self.bob_id, self.bob_key = h.keygen("bob")
		self.bob_port = bob_port if bob_port is not None else h.port()
		self.dial = dial if dial is not None else self.bob_port
		self.timeouts = dict(TIMEOUTS, **(timeouts or {}))
		self.services = services
		self.forwards = forwards
		self.a = h.gateway("alice", self.alice_text(forwards))
		if bob_peers is None:
			bob_peers = {"alice": {"key": self.alice_key}}
			bob_peers.update(bob_extra_peers or {})
		self.b = h.gateway("bob", config_text(self.bob_id, h.workers,
		    listen=self.bob_port, peers=bob_peers, services=services,
		    timeouts=self.timeouts, rekey=h.rekey))
		if start:
			self.start()

	def alice_text(self, forwards):
		return config_text(self.alice_id, self.h.workers,
		    peers={"bob": {"key": self.bob_key, "dial": self.dial}},
		    forwards=forwards, timeouts=self.timeouts, rekey=self.h.rekey)

	def start(self, wait_up=True):
		r = self.h.r
		for g in (self.b, self.a):
			rc, out, err = self.h.check(g.cfg_path)
			r.ok(rc == 0, "stpgate check accepts %s's config" % g.name,
			    "exit %d: %s" % (rc, err.strip()))
		self.b.start()
		r.ok(self.b.wait_log(listening(self.bob_port), 15) is not None,
		    "bob logs listening on its peer port %d" % self.bob_port)
		self.a.start()
		for port, _, _ in self.forwards:
			r.ok(self.a.wait_log(listening(port), 15) is not None,
			    "alice logs listening on forward port %d" % port)
		if wait_up:
			return self.wait_up()
		return True

	def wait_up(self, since_a=0, since_b=0, what="session up"):
		la = self.a.wait_log(peer_line("bob", "session up"), UP_WAIT, since_a)
		lb = self.b.wait_log(peer_line("alice", "session up"), UP_WAIT, since_b)
		return self.h.r.ok(la is not None and lb is not None,
		    "%s on both sides within %d s" % (what, UP_WAIT),
		    "alice: %s; bob: %s" % (la is not None, lb is not None))


# ---------------------------------------------------------------------------

def case_download(h, args):
	r = h.r
	size = 256 * MiB
	www = h.path("www")
	os.mkdir(www)
	src = os.path.join(www, "file")
	t0 = time.monotonic()
	sha = hashlib.sha256()
	with open(src, "wb") as f:
		for _ in range(size // (4 * MiB)):
			b = os.urandom(4 * MiB)
			sha.update(b)
			f.write(b)
	want = sha.hexdigest()
	say("made a %d MiB file in %.1f s, sha256 %s" % (size // MiB,
	    time.monotonic() - t0, want[:16]))

	hport = h.port()
	spawn([sys.executable, "-m", "http.server", "--bind", HOST,
	    "--directory", www, str(hport)], h.path("http.log"))
	deadline = time.monotonic() + 15
	while True:
		try:
			socket.create_connection((HOST, hport), timeout=1).close()
			break
		except OSError:
			if time.monotonic() > deadline:
				r.fail("http.server listens on %d" % hport)
				return
			time.sleep(0.1)

	fport = h.port()
	p = Pair(h, services={"web": (hport, ["alice"])},
	    forwards=[(fport, "bob", "web")])
	if not r.ok(p.a.running() and p.b.running(), "both gateways running"):
		return
	out = h.path("out")
	t0 = time.monotonic()
	c = subprocess.run(["curl", "-s", "--max-time", "120", "-o", out,
	    "http://%s:%d/file" % (HOST, fport)], timeout=150)
	dt = time.monotonic() - t0
	r.ok(c.returncode == 0, "curl through the tunnel exits 0", "exit %d" % c.returncode)
	got = hashlib.sha256()
	n = 0
	if os.path.exists(out):
		with open(out, "rb") as f:
			while True:
				b = f.read(4 * MiB)
				if not b:
					break
				n += len(b)
				got.update(b)
	r.ok(n == size, "downloaded %d MiB" % (size // MiB), "got %d bytes" % n)
	r.ok(got.hexdigest() == want, "SHA-256 of the download matches")
	say("download: %d MiB in %.2f s = %.1f MB/s" % (n // MiB, dt, n / dt / 1e6))
	for fn in (src, out):
		try:
			os.unlink(fn)
		except OSError:
			pass
	r.ok(p.a.running() and p.b.running(), "both gateways still running")


def case_echo200(h, args):
	r = h.r
	n, size = 200, MiB
	echo = h.server(echo_handler, "echo")
	fport = h.port()
	p = Pair(h, services={"echo": (echo.port, ["alice"])},
	    forwards=[(fport, "bob", "echo")])
	if not r.ok(p.a.running() and p.b.running(), "both gateways running"):
		return
	base = os.urandom(size + n * 4099)
	datas = [base[i * 4099:i * 4099 + size] for i in range(n)]
	t0 = time.monotonic()
	ok, err = echo_many(fport, datas, timeout=150)
	dt = time.monotonic() - t0
	r.ok(ok == n and err is None, "%d connections x %d MiB echoed and verified" %
	    (n, size // MiB), "%d verified; %s" % (ok, err))
	say("echo200: %d MiB each way in %.2f s = %.1f MB/s each way" %
	    (n * size // MiB, dt, n * size / dt / 1e6))
	r.ok(echo.accepted == n, "bob made %d connections to the service" % n,
	    "service saw %d" % echo.accepted)
	r.ok(not echo.errors, "the echo service saw no errors", "; ".join(echo.errors[:3]))
	# The session still carries new streams afterwards.
	e = echo_roundtrip(fport, os.urandom(64 * 1024))
	r.ok(e is None, "a new connection after the 200 works", str(e))


def case_halfclose(h, args):
	r = h.r
	reply_len = 4 * MiB
	pat = Pattern()
	reply_sha = pat.sha256(reply_len)

	def server(c, srv):
		# Read the request to its end (the app's FIN), then answer and close.
		c.settimeout(60)
		sha = hashlib.sha256()
		n = 0
		while True:
			d = c.recv(65536)
			if not d:
				break
			n += len(d)
			sha.update(d)
		srv.state["request"] = (n, sha.hexdigest())
		off = 0
		while off < reply_len:
			k = min(256 * 1024, reply_len - off)
			c.sendall(pat.chunk(off, k))
			off += k
		c.shutdown(socket.SHUT_WR)

	def server_first(c, srv):
		# The other way round: the service says all it has and half-closes
		# first, then reads what the app still sends until the app's FIN.
		c.settimeout(60)
		c.sendall(pat.chunk(0, MiB))
		c.shutdown(socket.SHUT_WR)
		sha = hashlib.sha256()
		n = 0
		while True:
			d = c.recv(65536)
			if not d:
				break
			n += len(d)
			sha.update(d)
		srv.state["after_fin"] = (n, sha.hexdigest())

	s1 = h.server(server, "reqreply")
	s2 = h.server(server_first, "serverfirst")
	f1, f2 = h.port(), h.port()
	p = Pair(h, services={"rr": (s1.port, ["alice"]), "sf": (s2.port, ["alice"])},
	    forwards=[(f1, "bob", "rr"), (f2, "bob", "sf")])
	if not r.ok(p.a.running() and p.b.running(), "both gateways running"):
		return

	# 1. app: request, SHUT_WR, then read the whole reply.
	req = os.urandom(300 * 1024 + 7)
	s = h.connect(f1)
	s.sendall(req)
	s.shutdown(socket.SHUT_WR)
	sha = hashlib.sha256()
	n, how = recv_to_end(s, time.monotonic() + 30, sha.update)
	s.close()
	r.ok(how == "eof", "app reads the reply to EOF after its own SHUT_WR",
	    "ended by %s after %d bytes" % (how, n))
	r.ok(n == reply_len and sha.hexdigest() == reply_sha,
	    "the whole %d MiB reply arrived intact" % (reply_len // MiB),
	    "%d bytes" % n)
	deadline = time.monotonic() + 5
	while "request" not in s1.state and time.monotonic() < deadline:
		time.sleep(0.05)
	got = s1.state.get("request")
	r.ok(got == (len(req), hashlib.sha256(req).hexdigest()),
	    "the service saw the whole request, then EOF", "saw %r" % (got,))

	# 2. service: reply, SHUT_WR, then read; the app sends after the FIN.
	s = h.connect(f2)
	sha = hashlib.sha256()
	n, how = recv_to_end(s, time.monotonic() + 30, sha.update)
	r.ok(how == "eof" and n == MiB and sha.hexdigest() == pat.sha256(MiB),
	    "app gets the service's 1 MiB, then EOF", "%s after %d bytes" % (how, n))
	late = os.urandom(MiB + 11)
	try:
		s.sendall(late)
		s.shutdown(socket.SHUT_WR)
		sent = True
	except OSError as e:
		sent = False
		r.fail("app can still send after the service's FIN", repr(e))
	if sent:
		deadline = time.monotonic() + 15
		while "after_fin" not in s2.state and time.monotonic() < deadline:
			time.sleep(0.05)
		got = s2.state.get("after_fin")
		r.ok(got == (len(late), hashlib.sha256(late).hexdigest()),
		    "bytes sent after the service's FIN reach it, then EOF",
		    "service saw %r" % (got,))
		# Both directions are finished: the app sees the stream end.
		how, dt, extra = closed_within(s, 10)
		r.ok(how in ("eof", "reset") and extra == 0,
		    "the stream ends once both sides finished", "%s after %.1f s" % (how, dt))
	s.close()


def case_peerkill(h, args):
	r = h.r
	pat = Pattern()
	src = h.server(source_handler(pat), "source")
	echo = h.server(echo_handler, "echo")
	f_src, f_echo = h.port(), h.port()
	p = Pair(h, services={"bulk": (src.port, ["alice"]), "echo": (echo.port, ["alice"])},
	    forwards=[(f_src, "bob", "bulk"), (f_echo, "bob", "echo")])
	if not r.ok(p.a.running() and p.b.running(), "both gateways running"):
		return
	s = h.connect(f_src)
	got = [0]
	bad = [None]

	def check(d):
		if bad[0] is None and pat.chunk(got[0], len(d)) != d:
			bad[0] = got[0]
		got[0] += len(d)

	# Read some of the endless stream, so that the transfer is well under way.
	deadline = time.monotonic() + 30
	s.settimeout(5)
	while got[0] < 16 * MiB and time.monotonic() < deadline:
		try:
			d = s.recv(256 * 1024)
		except OSError as e:
			r.fail("transfer under way before the kill", repr(e))
			return
		if not d:
			r.fail("transfer under way before the kill", "EOF after %d bytes" % got[0])
			return
		check(d)
	if not r.ok(got[0] >= 16 * MiB, "16 MiB of a long transfer arrived",
	    "%d bytes in 30 s" % got[0]):
		return
	mark_a = p.a.mark()
	p.b.kill()
	# The connection broke without a Close: alice holds the stream for
	# timeouts.resume_window (30 s) in case bob comes back with it.  The
	# app sees a pause: what alice had already goes on arriving, then
	# nothing, and the connection stays open.
	t0 = time.monotonic()
	n, how = recv_to_end(s, t0 + 2, check)
	r.ok(how not in ("eof", "reset"), "the app's connection waits while bob "
	    "is gone (the stream is held)", "%s after %.1f s" % (how,
	    time.monotonic() - t0))
	r.ok(p.a.wait_log(peer_line("bob", "session down"), 10, mark_a) is not None,
	    "alice logs session down for bob")
	r.ok(p.a.wait_log(peer_line("bob", "holding 1 streams for 30 s to resume"),
	    10, mark_a) is not None, "alice holds the stream to resume it")
	r.ok(p.a.running(), "alice keeps running")

	# While bob is down, an app connection waits at most timeouts.connect.
	how, dt, _ = app_closed_within(f_echo, 3 + 5)
	r.ok(how in ("eof", "reset"), "with bob down an app connection is closed "
	    "(timeouts.connect 3s)", "%s after %.1f s" % (how, dt))

	# bob comes back with the same config but not the session (a new
	# process); alice was not restarted.  bob refuses the resumption, and
	# alice ends the held stream: the app's connection ends.
	mark_a = p.a.mark()
	p.b.start()
	if not p.wait_up(since_a=mark_a, what="session up again (alice redialed)"):
		return
	n2, how = recv_to_end(s, time.monotonic() + 10, check)
	dt = time.monotonic() - t0
	s.close()
	r.ok(how in ("eof", "reset"), "the app's connection ends when bob comes "
	    "back without the session", "still open %.1f s after the kill" % dt)
	say("peerkill: the app's connection ended by %s %.2f s after the kill, "
	    "%d bytes after it" % (how, dt, n + n2))
	r.ok(bad[0] is None, "every byte before the end was right",
	    "differs at %s" % bad[0])
	r.ok(p.a.wait_log(peer_line("bob", "session not resumed: the peer "
	    "refused: no session to resume here: 1 streams closed"), 10,
	    mark_a) is not None, "alice says why the stream ended")
	deadline = time.monotonic() + 15
	tries = 0
	while True:
		tries += 1
		e = echo_roundtrip(f_echo, os.urandom(MiB), timeout=15)
		if e is None or time.monotonic() > deadline:
			break
		say("attempt %d failed: %s" % (tries, e))
		time.sleep(0.5)
	r.ok(e is None, "a new connection through alice works after bob's restart",
	    "%d attempts, last: %s" % (tries, e))
	if tries > 1:
		say("note: it took %d attempts after both logged session up" % tries)
	s = h.connect(f_src)
	got[0], bad[0] = 0, None
	s.settimeout(10)
	try:
		while got[0] < 4 * MiB:
			d = s.recv(256 * 1024)
			if not d:
				break
			check(d)
	except OSError:
		pass
	s.close()
	r.ok(got[0] >= 4 * MiB and bad[0] is None, "a new bulk transfer works too",
	    "%d bytes" % got[0])


def case_refused(h, args):
	r = h.r
	echo = h.server(echo_handler, "echo")
	secret = h.server(echo_handler, "secret")
	_, carol_key = h.keygen("carol")
	f_ok, f_secret, f_none = h.port(), h.port(), h.port()
	# bob knows alice and carol; "secret" is carol's only.
	h_services = {"echo": (echo.port, ["alice"]), "secret": (secret.port, ["carol"])}
	p = Pair(h, services=h_services,
	    forwards=[(f_ok, "bob", "echo"), (f_secret, "bob", "secret"),
	        (f_none, "bob", "nosuch")],
	    bob_extra_peers={"carol": {"key": carol_key}})
	if not r.ok(p.a.running() and p.b.running(), "both gateways running"):
		return
	r.ok(echo_roundtrip(f_ok, os.urandom(256 * 1024)) is None,
	    "the allowed service works")

	for port, what in ((f_secret, "a service that does not allow alice"),
	    (f_none, "a service bob does not have")):
		mark_b = p.b.mark()
		how, dt, n = app_closed_within(port, 5, b"GET / HTTP/1.0\r\n\r\n")
		r.ok(how in ("eof", "reset") and n == 0,
		    "%s: the app's connection is closed within 5 s" % what,
		    "%s after %.2f s, %d bytes" % (how, dt, n))
		say("refused: %s: closed by %s after %.2f s" % (what, how, dt))
		line = p.b.wait_log(peer_line("alice", "stream refused"), 5, mark_b)
		r.ok(line is not None, "%s: bob logs stream refused for alice" % what)
		if line:
			say("bob: " + line.strip())
	r.ok(secret.accepted == 0, "bob never connected to the refused service",
	    "it saw %d connections" % secret.accepted)
	# Refusing streams does not hurt the session.
	r.ok(echo_roundtrip(f_ok, os.urandom(256 * 1024)) is None,
	    "the allowed service still works afterwards")
	r.ok(not p.a.grep(peer_line("bob", "session down")),
	    "the session stayed up throughout")


def case_unknownpeer(h, args):
	r = h.r
	echo = h.server(echo_handler, "echo")
	_, other_key = h.keygen("mallory")
	fport = h.port()
	# bob's peer map names "alice" with somebody else's key.
	p = Pair(h, services={"echo": (echo.port, ["alice"])},
	    forwards=[(fport, "bob", "echo")], timeouts={"connect": "1s"},
	    bob_peers={"alice": {"key": other_key}}, start=False)
	p.start(wait_up=False)
	line = p.b.wait_log(r"handshake failed", 10)
	r.ok(line is not None, "bob logs handshake failed")
	if line:
		say("bob: " + line.strip())
		r.ok("not in the peer map" in line, "bob's reason is 'not in the peer map'",
		    line.strip())
		# First contact: the key and the fingerprint alice's operator sees
		# with `stpgate fingerprint` on her own identity file.
		out = subprocess.run([h.stpgate, "fingerprint", p.alice_id],
		    capture_output=True, text=True, timeout=30).stdout
		m = re.search(r"^fingerprint:\s*(\S+)", out, re.M)
		fp = m.group(1) if m else ""
		r.ok(p.alice_key in line, "bob's line names alice's key", line.strip())
		r.ok(fp != "" and fp in line,
		    "bob's line shows the fingerprint `stpgate fingerprint` gives alice",
		    "fingerprint %r, line %s" % (fp, line.strip()))
	# A few seconds of alice retrying: never a session.
	t0 = time.monotonic()
	how, dt, n = app_closed_within(fport, 1 + 4)
	r.ok(how in ("eof", "reset") and n == 0,
	    "an app connection is closed (timeouts.connect 1s) within 5 s",
	    "%s after %.2f s" % (how, dt))
	say("unknownpeer: the app was closed by %s after %.2f s" % (how, dt))
	left = 4 - (time.monotonic() - t0)
	if left > 0:
		time.sleep(left)
	for who, g in (("alice", p.a), ("bob", p.b)):
		ups = g.grep(r"session up")
		r.ok(not ups, "%s never logs session up" % who,
		    "%d times, first: %s" % (len(ups), ups[0].strip() if ups else ""))
	r.ok(echo.accepted == 0, "bob never connected to the service",
	    "it saw %d connections" % echo.accepted)
	r.ok(p.a.running() and p.b.running(), "both gateways keep running")


class BusyEcho:
	"""One echo connection kept busy in a thread: send a chunk, read it
	back, check it, again.  rounds counts; error says what broke it."""

	def __init__(self, port, chunk=64 * 1024):
		self.s = socket.create_connection((HOST, port), timeout=10)
		self.s.settimeout(10)
		self.chunk = chunk
		self.rounds = 0
		self.error = None
		self.stop_ev = threading.Event()
		self.t = threading.Thread(target=self._loop, daemon=True)
		self.t.start()

	def _loop(self):
		try:
			while not self.stop_ev.is_set():
				d = os.urandom(self.chunk)
				self.s.sendall(d)
				got = bytearray()
				while len(got) < len(d):
					b = self.s.recv(len(d) - len(got))
					if not b:
						raise ConnectionError("EOF after %d rounds" % self.rounds)
					got += b
				if bytes(got) != d:
					raise ValueError("echo differs in round %d" % self.rounds)
				self.rounds += 1
		except (OSError, ValueError) as e:
			self.error = repr(e)

	def progressing(self, within=3.0):
		"""True if rounds grows within the given seconds."""
		n = self.rounds
		deadline = time.monotonic() + within
		while time.monotonic() < deadline:
			if self.rounds > n:
				return True
			time.sleep(0.02)
		return False

	def stop(self):
		self.stop_ev.set()
		self.t.join(15)
		self.s.close()


def case_reload(h, args):
	r = h.r
	echo = h.server(echo_handler, "echo")
	f1, f2 = h.port(), h.port()
	p = Pair(h, services={"echo": (echo.port, ["alice"])},
	    forwards=[(f1, "bob", "echo")])
	if not r.ok(p.a.running() and p.b.running(), "both gateways running"):
		return
	busy = BusyEcho(f1)
	r.ok(busy.progressing(), "a busy echo stream is moving data", str(busy.error))

	# A broken file: the reload fails and changes nothing.
	p.a.write_config("identity: [this is not\n  : yaml at all\n\t{{ ::\n")
	rc, out, err = h.check(p.a.cfg_path)
	r.ok(rc == 2, "stpgate check rejects the broken file with exit 2",
	    "exit %d" % rc)
	r.ok(re.search(re.escape(p.a.cfg_path) + r":\d+:\d+: ", err) is not None,
	    "its error names file:line:col", err.strip())
	mark = p.a.mark()
	before = busy.rounds
	p.a.hup()
	line = p.a.wait_log(r"reload failed", 10, mark)
	r.ok(line is not None, "SIGHUP with a broken file: alice logs reload failed")
	if line:
		say("alice: " + line.strip())
	r.ok(p.a.running(), "alice keeps running")
	r.ok(busy.progressing() and busy.error is None,
	    "the busy stream still moves after the failed reload", str(busy.error))
	r.ok(echo_roundtrip(f1, os.urandom(128 * 1024)) is None,
	    "the old forward takes new connections after the failed reload")

	# A good file with a second forward.
	p.a.write_config(p.alice_text([(f1, "bob", "echo"), (f2, "bob", "echo")]))
	rc, out, err = h.check(p.a.cfg_path)
	r.ok(rc == 0 and len(out.strip().splitlines()) == 1,
	    "stpgate check accepts the new file with one summary line",
	    "exit %d, stdout %r, stderr %r" % (rc, out, err))
	mark = p.a.mark()
	p.a.hup()
	line = p.a.wait_log(r"reloaded", 10, mark)
	r.ok(line is not None, "SIGHUP with a good file: alice logs reloaded")
	if line:
		say("alice: " + line.strip())
	r.ok(p.a.wait_log(listening(f2), 5, mark) is not None,
	    "alice logs listening on the new forward %d" % f2)
	e = None
	deadline = time.monotonic() + 5
	while time.monotonic() < deadline:
		e = echo_roundtrip(f2, os.urandom(MiB))
		if e is None:
			break
		time.sleep(0.2)
	r.ok(e is None, "the new forward works", str(e))
	r.ok(echo_roundtrip(f1, os.urandom(128 * 1024)) is None,
	    "the old forward still works")
	r.ok(busy.progressing() and busy.error is None,
	    "the busy stream still moves after the reload", str(busy.error))

	# Reloading the same good file again changes nothing and breaks nothing.
	mark = p.a.mark()
	p.a.hup()
	r.ok(p.a.wait_log(r"reloaded", 10, mark) is not None, "a second reload: reloaded")
	r.ok(busy.progressing() and busy.error is None,
	    "the busy stream still moves after the second reload", str(busy.error))
	rounds = busy.rounds
	busy.stop()
	r.ok(busy.error is None, "the busy stream was never dropped (%d round trips, "
	    "%d during the reloads)" % (rounds, rounds - before), str(busy.error))
	r.ok(not p.a.grep(peer_line("bob", "session down")),
	    "the session stayed up throughout")


def recv_paced(s, deadline, sink):
	"""recv_to_end, 16 KiB at a time with a pause between."""
	n = 0
	while time.monotonic() < deadline:
		try:
			d = s.recv(16 * 1024)
		except socket.timeout:
			continue
		except OSError:
			return n, "reset"
		if not d:
			return n, "eof"
		n += len(d)
		sink(d)
		time.sleep(0.0003)
	return n, "timeout"


def case_finrace(h, args):
	"""A service writes a burst and closes at once; the app reads with a
	small receive buffer and starts late, so that the gateway's write to it
	is cut short while the peer's FIN is already in: every byte must still
	come before the EOF."""
	r = h.r
	pat = Pattern()
	sizes = [60 * 1024, 100 * 1000, 120 * 1000, 700 * 1000, 3 * MiB - 7]
	srvs = {n: h.server(source_handler(pat, n), "src%d" % n) for n in sizes}
	fwds = {n: h.port() for n in sizes}
	p = Pair(h, services={"s%d" % n: (srvs[n].port, ["alice"]) for n in sizes},
	    forwards=[(fwds[n], "bob", "s%d" % n) for n in sizes])
	if not r.ok(p.a.running() and p.b.running(), "both gateways running"):
		return
	bad = []
	trials = 0
	rng = random.Random(args.seed)
	for k in range(args.trials):
		n = sizes[k % len(sizes)]
		s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
		s.settimeout(10)
		s.connect((HOST, fwds[n]))
		time.sleep(rng.uniform(0, 0.05))
		sha = hashlib.sha256()
		if k % 2:
			got, how = recv_to_end(s, time.monotonic() + 20, sha.update)
		else:
			# Paced: the socket stays near full, so writes to it are cut.
			got, how = recv_paced(s, time.monotonic() + 20, sha.update)
		s.close()
		trials += 1
		if got != n or how != "eof" or sha.hexdigest() != pat.sha256(n):
			bad.append("%d of %d bytes, %s" % (got, n, how))
	r.ok(not bad, "%d bursts each ended by EOF after every byte (%s)" % (trials,
	    "; ".join(bad[:5]) or "all intact"))


def case_slowreader(h, args):
	r = h.r
	rate = MiB
	push_total = 512 * MiB
	push_secs = args.push_seconds
	dl_size = 64 * MiB
	pat = Pattern()
	dl_sha = pat.sha256(dl_size)

	sink = h.server(sink_handler(rate), "sink")
	bulk = h.server(source_handler(pat, dl_size), "bulk")
	f_sink, f_bulk = h.port(), h.port()
	p = Pair(h, services={"sink": (sink.port, ["alice"]), "bulk": (bulk.port, ["alice"])},
	    forwards=[(f_sink, "bob", "sink"), (f_bulk, "bob", "bulk")], start=False)
	if h.sanitizer == "asan":
		# ASan keeps freed memory in a quarantine (256 MiB by default), which
		# would be measured as the gateway's own; keep it small here.
		env = dict(os.environ)
		env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
		    ":quarantine_size_mb=8:thread_local_quarantine_size_kb=256").lstrip(":")
		p.a.env = p.b.env = env
	p.start()
	if not r.ok(p.a.running() and p.b.running(), "both gateways running"):
		return
	base = {"alice": rss_kib(p.a.pid) or 0, "bob": rss_kib(p.b.pid) or 0}
	say("RSS with the session up: alice %d KiB, bob %d KiB" % (base["alice"], base["bob"]))

	def download(label):
		s = h.connect(f_bulk, timeout=10)
		sha = hashlib.sha256()
		t0 = time.monotonic()
		n, how = recv_to_end(s, t0 + 60, sha.update)
		dt = time.monotonic() - t0
		s.close()
		ok = r.ok(n == dl_size and how == "eof" and sha.hexdigest() == dl_sha,
		    "%s: the %d MiB download completes intact within 60 s" % (label, dl_size // MiB),
		    "%d bytes, ended by %s after %.1f s" % (n, how, dt))
		mbs = n / dt / 1e6 if dt > 0 else 0
		say("%s: %d MiB in %.2f s = %.1f MB/s" % (label, n // MiB, dt, mbs))
		return mbs if ok else None

	alone = download("download alone")
	sampler = RssSampler({"alice": p.a.pid, "bob": p.b.pid}, 0.5)

	pushed = [0]
	push_err = [None]
	stop_push = threading.Event()
	block = os.urandom(MiB)

	def pusher():
		try:
			s = socket.create_connection((HOST, f_sink), timeout=10)
		except OSError as e:
			push_err[0] = "connect: %r" % e
			return
		s.settimeout(0.5)
		mv = memoryview(block)
		try:
			while pushed[0] < push_total and not stop_push.is_set():
				try:
					pushed[0] += s.send(mv[pushed[0] % MiB:])
				except socket.timeout:
					continue
		except OSError as e:
			push_err[0] = repr(e)
		finally:
			s.close()

	t0 = time.monotonic()
	pt = threading.Thread(target=pusher, daemon=True)
	pt.start()
	time.sleep(min(4, push_secs / 3))
	say("pushing: %d MiB accepted by alice so far, the sink read %d MiB" %
	    (pushed[0] // MiB, sink.state.get("bytes", 0) // MiB))
	beside = download("download beside the throttled stream")
	while time.monotonic() - t0 < push_secs and pt.is_alive():
		time.sleep(0.25)
	elapsed = time.monotonic() - t0
	read = sink.state.get("bytes", 0)
	pushed_now = pushed[0]
	stop_push.set()
	pt.join(5)
	sampler.stop()
	say("after %.1f s: the app pushed %.1f MiB, the sink read %.1f MiB" %
	    (elapsed, pushed_now / MiB, read / MiB))
	r.ok(push_err[0] is None, "the pushing app saw no error", str(push_err[0]))
	r.ok(read >= rate * elapsed * 0.5, "the slow stream moved (the sink read %.1f MiB)" %
	    (read / MiB))
	# Throttled: what alice accepted from the app is what the sink read plus
	# what fits in the windows and socket buffers, not the 512 MiB offered.
	r.ok(pushed_now < read + 96 * MiB, "the sender was throttled (pushed %.1f MiB, "
	    "read %.1f MiB)" % (pushed_now / MiB, read / MiB))
	for who, g in (("alice", p.a), ("bob", p.b)):
		mx = sampler.max[who]
		say("%s: VmRSS max %.1f MiB over %d samples (at start %.1f MiB)" % (who,
		    mx / 1024, len(sampler.samples[who]), base[who] / 1024))
		limit = args.rss_limit * 1024
		if h.sanitizer is None:
			r.ok(0 < mx < limit, "%s stays under %d MiB RSS" % (who, args.rss_limit),
			    "max %.1f MiB" % (mx / 1024))
		elif h.sanitizer == "asan":
			r.ok(0 < mx - base[who] < limit, "%s grows by less than %d MiB RSS (ASan)" %
			    (who, args.rss_limit), "grew %.1f MiB" % ((mx - base[who]) / 1024))
		else:
			# TSan's shadow memory multiplies every heap byte; still, an
			# unbounded buffer (hundreds of MiB offered) would show.
			r.ok(0 < mx - base[who] < 3 * limit, "%s grows by less than %d MiB "
			    "RSS (TSan: 3 x %d)" % (who, 3 * args.rss_limit, args.rss_limit),
			    "grew %.1f MiB" % ((mx - base[who]) / 1024))
	if alone and beside:
		say("slowreader: download alone %.1f MB/s, beside the throttled stream "
		    "%.1f MB/s (%.0f%%)" % (alone, beside, 100 * beside / alone))
	sink.close()
	r.ok(p.a.running() and p.b.running(), "both gateways still running")


def case_closerace(h, args):
	"""alice stops (SIGTERM) while bob's service pours data towards her
	app: alice's Close must reach bob (he logs its reason), not be lost to
	a reset of a connection she closed with bytes unread.  Five rounds; in
	the last two her app has stopped reading, so writes to it are still
	queued when she stops."""
	r = h.r
	pat = Pattern()
	src = h.server(source_handler(pat), "source")
	fp = h.port()
	p = Pair(h, services={"bulk": (src.port, ["alice"])},
	    forwards=[(fp, "bob", "bulk")], timeouts={"drain": "1s"})
	if not r.ok(p.a.running() and p.b.running(), "both gateways running"):
		return
	for rnd in range(1, 6):
		if rnd > 1:
			mb = p.b.mark()
			p.a.start()  # a new log file: read from its start
			if not p.wait_up(since_a=0, since_b=mb, what="round %d: session up" % rnd):
				return
		s = h.connect(fp)
		s.settimeout(5)
		got = 0
		while got < 8 * MiB:
			try:
				d = s.recv(256 * 1024)
			except OSError:
				break
			if not d:
				break
			got += len(d)
		if not r.ok(got >= 8 * MiB, "round %d: a transfer under way" % rnd,
		    "%d bytes" % got):
			return
		stop = threading.Event()
		if rnd >= 4:
			# The app stops reading: alice's writes to it stay queued
			# while she shuts down (their callbacks come after the
			# session is gone).
			stop.set()

		def drain(sock=s):
			while not stop.is_set():
				try:
					if not sock.recv(256 * 1024):
						return
				except OSError:
					return
		t = threading.Thread(target=drain, daemon=True)
		t.start()
		mb = p.b.mark()
		p.a.stop()
		line = p.b.wait_log(peer_line("alice", "session down"), 10, mb)
		stop.set()
		s.close()
		t.join(5)
		r.ok(line is not None and "closed by peer: gateway shutting down" in line,
		    "round %d: bob got alice's Close while sending to her" % rnd,
		    "bob logged: %s" % (line.strip() if line else "nothing"))


# ---- resume ----

HELD = r"session down: (.*); holding (\d+) streams? for (.+) to resume"
RESUMED = r"session resumed: (\d+) streams? kept, (\d+) bytes? sent again"
RESUME_RATE = 32 * MiB   # bytes/s, the apps' pace: a break falls mid-transfer
BREAK_SEEN = 3           # s: both sides find the break (I/O error; dead_after is 5 s)
RESUME_WAIT = 10         # s from a break to both `session resumed:` lines


def log_msg(line):
	"""A gateway's text log line without its time, level, peer and sid."""
	return re.sub(r"^\S+ \S+ (peer=\S+ )?(sid=\S+ )?", "", line.strip())


class PacedDownload:
	"""An app reading a forward to its end in a thread, at most rate
	bytes/s, checking each byte against pattern: got, bad (the offset of
	the first wrong byte), how ('eof', 'reset', 'timeout'; None while it
	reads)."""

	def __init__(self, port, pattern, rate, seconds):
		self.s = socket.create_connection((HOST, port), timeout=10)
		self.pat = pattern
		self.rate = rate
		self.got = 0
		self.bad = None
		self.how = None
		self.t = threading.Thread(target=self._run, args=(seconds,), daemon=True)
		self.t.start()

	def _run(self, seconds):
		t0 = time.monotonic()

		def sink(d):
			if self.bad is None and self.pat.chunk(self.got, len(d)) != d:
				self.bad = self.got
			self.got += len(d)
			ahead = t0 + self.got / self.rate - time.monotonic()
			if ahead > 0:
				time.sleep(ahead)
		try:
			_, how = recv_to_end(self.s, t0 + seconds, sink)
		except OSError as e:
			how = "error %r" % e
		self.s.close()
		self.how = how

	def describe(self):
		return "%.1f MiB in, %s%s" % (self.got / MiB, self.how or "still reading",
		    "" if self.bad is None else ", first wrong byte at %d" % self.bad)


class PacedUpload:
	"""An app sending n bytes of pattern to a forward in a thread, at most
	rate bytes/s, then its FIN, then reading the service's answer to its
	end: sent, error (what stopped the sending), answer, how."""

	def __init__(self, port, pattern, n, rate, seconds):
		self.s = socket.create_connection((HOST, port), timeout=10)
		self.pat = pattern
		self.n = n
		self.rate = rate
		self.sent = 0
		self.error = None
		self.answer = bytearray()
		self.how = None
		self.t = threading.Thread(target=self._run, args=(seconds,), daemon=True)
		self.t.start()

	def _run(self, seconds):
		t0 = time.monotonic()
		self.s.settimeout(seconds)
		try:
			while self.sent < self.n:
				k = min(256 * 1024, self.n - self.sent)
				self.s.sendall(self.pat.chunk(self.sent, k))
				self.sent += k
				ahead = t0 + self.sent / self.rate - time.monotonic()
				if ahead > 0:
					time.sleep(ahead)
			self.s.shutdown(socket.SHUT_WR)
		except OSError as e:
			self.error = repr(e)
		try:
			_, how = recv_to_end(self.s, t0 + seconds, self.answer.extend)
		except OSError as e:
			how = "error %r" % e
		self.s.close()
		self.how = how

	def describe(self):
		return "%.1f of %.1f MiB sent%s; answer %r, %s" % (self.sent / MiB,
		    self.n / MiB, " (%s)" % self.error if self.error else "",
		    bytes(self.answer[:100]), self.how or "still reading")


def hash_sink(c, srv):
	"""Read to EOF, hashing; then answer b"<bytes> <sha256 hex>\\n" and
	finish.  srv.state['got'] counts as it reads, srv.state['result'] is
	(bytes, sha256 hex) at the end."""
	c.settimeout(60)
	sha = hashlib.sha256()
	n = 0
	while True:
		d = c.recv(256 * 1024)
		if not d:
			break
		n += len(d)
		sha.update(d)
		with srv.lock:
			srv.state["got"] = n
	with srv.lock:
		srv.state["result"] = (n, sha.hexdigest())
	c.sendall(b"%d %s\n" % (n, sha.hexdigest().encode()))
	c.shutdown(socket.SHUT_WR)


def case_resume(h, args):
	"""alice dials bob through a relay of the test's own.  Twice, with
	streams moving, the relay resets the session's connection (RST to
	both gateways at once) and goes on accepting: both hold their streams,
	alice redials, the new session resumes them (proto/STP.md,
	"Resumption"); apps notice nothing but a pause."""
	r = h.r
	window = args.resume_window or "30s"
	down_n, up_n = 48 * MiB, 32 * MiB
	pat_down, pat_up = Pattern(), Pattern()
	up_want = b"%d %s\n" % (up_n, pat_up.sha256(up_n).encode())
	bulk = h.server(source_handler(pat_down, down_n), "bulk")
	sink = h.server(hash_sink, "sink")
	echo = h.server(echo_handler, "echo")
	f_bulk, f_sink, f_echo = h.port(), h.port(), h.port()
	bob_port = h.port()
	relay = TcpRelay(bob_port)
	say("relay: %s:%d -> bob's peer port %d; timeouts.resume_window %s" % (HOST,
	    relay.port, bob_port, window))
	p = Pair(h, services={"bulk": (bulk.port, ["alice"]), "sink": (sink.port, ["alice"]),
	    "echo": (echo.port, ["alice"])},
	    forwards=[(f_bulk, "bob", "bulk"), (f_sink, "bob", "sink"), (f_echo, "bob", "echo")],
	    timeouts={"resume_window": window}, bob_port=bob_port, dial=relay.port)
	if not r.ok(p.a.running() and p.b.running(), "both gateways running"):
		return
	r.ok(relay.conns == 1 and relay.live() == 1, "alice's session goes through "
	    "the relay", "%d connections, %d live; %s" % (relay.conns, relay.live(),
	    relay.errors))
	e = h.connect(f_echo)

	def echo_round(what):
		ok, err = echo_many_socks([e], [os.urandom(64 * 1024)], 10)
		return r.ok(ok == 1 and err is None, "%s: the echo connection (open "
		    "since the start) echoes 64 KiB" % what, str(err))

	echo_round("before the breaks")

	def break_midway(what, moved, ended, total, direction):
		"""Wait until moved() >= 8 MiB; then break the session's connection
		with bytes in flight: the relay drops what direction brings (the
		transfer's) until 64 KiB or more are lost, then resets it.
		Returns (time of the break, log marks, relay connections before,
		bytes lost), or None."""
		wait_for(lambda: moved() >= 8 * MiB or ended(), 20, 0.005)
		n = moved()
		if not r.ok(n >= 8 * MiB and not ended(), "%s: under way (%.1f of %d "
		    "MiB moved)" % (what, n / MiB, total // MiB), "ended: %s" % ended()):
			return None
		marks = (p.a.mark(), p.b.mark())
		conns = relay.conns
		w0 = relay.withheld()
		relay.withhold(direction)
		wait_for(lambda: relay.withheld() - w0 >= 64 * 1024, 2, 0.002)
		k = relay.reset_all()
		t = time.monotonic()
		lost = relay.withheld() - w0
		n = moved()
		r.ok(k == 1, "%s: the relay reset the session's connection (RST to both "
		    "gateways) with %.1f of %d MiB moved, %d bytes (%s) lost in flight" % (
		    what, n / MiB, total // MiB, lost, direction), "it reset %s "
		    "connections" % k)
		return t, marks, conns, lost

	def after_break(what, t_break, marks, conns, lost, n_open, sender):
		"""Both gateways find the break at once and hold n_open streams or
		more; alice redials through the relay; both resume the session,
		and sender sends again at least what was lost (less framing)."""
		held = True
		for g, peer, mark in ((p.a, "bob", marks[0]), (p.b, "alice", marks[1])):
			line = g.wait_log(peer_line(peer, "session down"),
			    max(0.1, t_break + BREAK_SEEN - time.monotonic()), mark)
			m = re.search(HELD, line or "")
			held = r.ok(m is not None and int(m.group(2)) >= n_open, "%s: %s "
			    "logs `session down: ...; holding N streams` (N >= %d) within %d s "
			    "of the break" % (what, g.name, n_open, BREAK_SEEN),
			    log_msg(line) if line else "no `session down` line") and held
			if line:
				say("%s: %s" % (g.name, log_msg(line)))
		for g, peer, mark in ((p.a, "bob", marks[0]), (p.b, "alice", marks[1])):
			rx = r"peer=%s\b.*session (not )?resumed" % peer
			line = g.wait_log(rx, max(0.1, t_break + RESUME_WAIT - time.monotonic()),
			    mark) if held else None
			m = re.search(RESUMED, line or "")
			if m:
				say("%s: %s (%.2f s after the break)" % (g.name, log_msg(line),
				    time.monotonic() - t_break))
			r.ok(m is not None and int(m.group(1)) >= n_open, "%s: %s logs "
			    "`session resumed: N streams kept, B bytes sent again` (N >= %d)" %
			    (what, g.name, n_open), log_msg(line) if line else
			    "none within %d s" % RESUME_WAIT if held else "it did not hold "
			    "the streams")
			if m and g is sender:
				r.ok(int(m.group(2)) >= lost * 9 // 10, "%s: %s sent again at "
				    "least the %d bytes lost in flight (less framing)" % (what,
				    g.name, lost), log_msg(line))
		r.ok(wait_for(lambda: relay.conns > conns, max(0.1, t_break +
		    RESUME_WAIT - time.monotonic())), "%s: alice redialed through "
		    "the relay" % what, "%d connections" % relay.conns)

	# ==== break 1: in the middle of a download (bob -> alice) ====
	what = "download"
	dl = PacedDownload(f_bulk, pat_down, RESUME_RATE, 60)
	b = break_midway(what, lambda: dl.got, lambda: dl.how is not None, down_n,
	    "b2a")
	if b is None:
		return
	t1 = b[0]
	# The app's bytes wait while the session is down, and are echoed after.
	echo_round("%s: after the break" % what)
	after_break(what, *b, n_open=2, sender=p.b)
	dl.t.join(max(0.1, t1 + 30 - time.monotonic()))
	r.ok(dl.how == "eof" and dl.got == down_n and dl.bad is None, "%s: all %d MiB "
	    "arrive, every byte right, then EOF (no reset)" % (what, down_n // MiB),
	    dl.describe())
	say("%s: done %.2f s after the break" % (what, time.monotonic() - t1))

	# ==== break 2: in the middle of an upload (alice -> bob) ====
	what = "upload"
	up = PacedUpload(f_sink, pat_up, up_n, RESUME_RATE, 60)
	b = break_midway(what, lambda: sink.state.get("got", 0),
	    lambda: up.how is not None or up.error is not None, up_n, "a2b")
	if b is None:
		return
	t2 = b[0]
	echo_round("%s: after the break" % what)
	after_break(what, *b, n_open=2, sender=p.a)
	up.t.join(max(0.1, t2 + 30 - time.monotonic()))
	r.ok(up.error is None and up.how == "eof" and bytes(up.answer) == up_want,
	    "%s: the service read all %d MiB, SHA-256 right, and its answer came "
	    "back, then EOF" % (what, up_n // MiB), "%s; the service saw %r" % (
	    up.describe(), sink.state.get("result")))
	say("%s: done %.2f s after the break" % (what, time.monotonic() - t2))

	# The echo connection ends as any stream does.
	echo_round("at the end")
	try:
		e.shutdown(socket.SHUT_WR)
		how, dt, extra = closed_within(e, 5)
	except OSError as x:
		how, dt, extra = repr(x), 0, 0
	r.ok(how == "eof" and extra == 0, "the echo connection ends by EOF after "
	    "its own FIN", "%s after %.1f s, %d bytes" % (how, dt, extra))
	r.ok((bulk.accepted, sink.accepted, echo.accepted) == (1, 1, 1),
	    "bob connected to each service once (the streams were resumed, not "
	    "opened again)", "bulk %d, sink %d, echo %d" % (bulk.accepted,
	    sink.accepted, echo.accepted))
	r.ok(p.a.running() and p.b.running(), "both gateways still running")
	relay.close()


CASES = {
	"closerace": case_closerace,
	"download": case_download,
	"echo200": case_echo200,
	"halfclose": case_halfclose,
	"peerkill": case_peerkill,
	"refused": case_refused,
	"unknownpeer": case_unknownpeer,
	"reload": case_reload,
	"slowreader": case_slowreader,
	"finrace": case_finrace,
	"resume": case_resume,
}


def main():
	ap = argparse.ArgumentParser(description="stpgate gateway integration tests")
	ap.add_argument("case", choices=sorted(CASES))
	ap.add_argument("--stpgate", required=True, help="path to the stpgate binary")
	ap.add_argument("--workers", type=workers_arg, default=1, help="crypto workers (0 = inline)")
	ap.add_argument("--keep", action="store_true", help="keep the temp dir")
	ap.add_argument("--timeout", type=int, default=280, help="whole-case bound, seconds")
	ap.add_argument("--rss-limit", type=int, default=64, help="slowreader: MiB")
	ap.add_argument("--push-seconds", type=float, default=10, help="slowreader")
	ap.add_argument("--trials", type=int, default=60, help="finrace: bursts")
	ap.add_argument("--seed", type=int, default=1, help="finrace: start delays")
	ap.add_argument("--resume-window", metavar="DURATION",
	    help="resume: timeouts.resume_window in both configs (default 30s; 0 "
	    "turns resumption off: a negative control, whose checks must fail)")
	ap.add_argument("--rekey-bytes", metavar="SIZE",
	    help="set rekey.bytes (e.g. 1MiB) in both configs, to cross many key updates")
	args = ap.parse_args()
	h = Harness(args.stpgate, args.workers, args.keep, args.timeout)
	if args.rekey_bytes:
		h.rekey = {"bytes": args.rekey_bytes}
		say("rekey.bytes %s in both configs" % args.rekey_bytes)
	say("case %s" % args.case)
	try:
		CASES[args.case](h, args)
	except Exception as e:  # a bug or an unexpected error is one more failure
		import traceback
		traceback.print_exc()
		h.r.fail("case %s raised %r" % (args.case, e))
	return h.finish()


if __name__ == "__main__":
	sys.exit(main())

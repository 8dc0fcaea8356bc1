#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_socks5.py: the socks5 dialer plugin end to end.  bob listens on
loopback; each case runs a fresh alice whose peer bob has
`proxy: socks5://...`, through a real SOCKS5 server from Debian, microsocks
(apt package microsocks), on 127.0.0.1:

  noauth     the session comes up through the proxy and data moves both
             ways (an 8 MiB download checked by SHA-256, a 1 MiB echo);
             microsocks logs the connection it made; the plugin counts it
             (metrics: stpgate_plugin_events_total{plugin="socks5",
             event="connected"});
  auth       the same with username/password (microsocks -u/-P), dialing
             bob by the NAME "localhost", which microsocks resolves (its
             log names "localhost": we passed it unresolved); the password
             is in neither the log nor `stpgate status`;
  badpass    a wrong password: a clear error naming the proxy, backoff
             (attempts 1, 2, 3, 4, their announced delays growing), the
             error in `stpgate status`, counted as auth_failed;
  refused    the proxy is up but bob's port is closed: "proxy ... refused
             CONNECT to localhost:PORT: connection refused (REP 5)", backoff;
  noproxy    nothing listens at the proxy's port: the connect error names
             the proxy;
  onion      an in-test SOCKS5 stub that knows a .onion name (as Tor
             would): the name reaches it unresolved (ATYP 3), the session
             comes up and data moves;
  config     `stpgate check` refuses a proxy without dial, credentials
             that are not USER:PASS of 1..255 bytes each (without showing
             them), and any key under `plugins: socks5:`;
  stall      a stub that accepts and never answers: timeouts.connect ends
             each attempt ("negotiation with proxy ... timed out"); a SIGHUP
             reload while a negotiation hangs, and SIGTERM while another
             does, leave the gateway well (it exits 0).

If microsocks is not installed the test exits 77 (ctest: skipped) and says
so.  usage: test_socks5.py --stpgate PATH [--workers N] [--keep]
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from gwlib import (workers_arg, FAST_TIMEOUTS, HOST, MiB, UP_WAIT,  # noqa: E402
    Harness, Pattern, config_text, echo_handler, echo_roundtrip, metrics_text,
    peer_line, plugin_events, recv_to_end, say, source_handler, spawn,
    wait_for, yq)

DOWNLOAD = 8 * MiB + 4099
USER, PASSWORD = "stpuser", "Pr0xyPassw0rd-not-logged"
ONION = "bobbobbobbobbobbobbobbobbobbobbobbobbobbobbobbobbobbobbob.onion"


def localhost_addr():
	"""Where the name "localhost" leads first (microsocks connects there)."""
	ai = socket.getaddrinfo("localhost", 7400, 0, socket.SOCK_STREAM)
	return ai[0][4][0] if ai else "127.0.0.1"


def wait_listening(port, seconds=10):
	deadline = time.monotonic() + seconds
	while time.monotonic() < deadline:
		try:
			socket.create_connection((HOST, port), timeout=1).close()
			return True
		except OSError:
			time.sleep(0.05)
	return False


def status_json(h, cfg):
	p = subprocess.run([h.stpgate, "status", "--json", "-c", cfg],
	    capture_output=True, text=True, timeout=30)
	if p.returncode != 0:
		return None, "exit %d: %s" % (p.returncode, p.stderr.strip())
	try:
		return json.loads(p.stdout), p.stdout
	except ValueError as e:
		return None, "not JSON: %s" % e


def peer_status(h, cfg, name):
	doc, raw = status_json(h, cfg)
	for p in (doc or {}).get("peers", []):
		if p.get("peer") == name:
			return p, raw
	return None, raw


def scrape_event(port, event):
	"""stpgate_plugin_events_total{plugin="socks5",event=EVENT}, or None."""
	return plugin_events(metrics_text(port), "socks5").get(event)


def retries(g, since=0):
	"""(attempt, announced delay ms, reason) of every retry line so far."""
	out = []
	for line in g.grep(r"cannot reach peer .*; retry \d+ in \d+ ms", since):
		m = re.search(r"cannot reach peer \((.*)\); retry (\d+) in (\d+) ms", line)
		if m:
			out.append((int(m.group(2)), int(m.group(3)), m.group(1)))
	return out


class World:
	"""bob (listens, services src and echo) and what every alice shares."""

	def __init__(self, h):
		self.h = h
		self.alice_id, self.alice_key = h.keygen("alice")
		self.bob_id, self.bob_key = h.keygen("bob")
		self.bob_addr = localhost_addr()
		self.bob_port = h.port()
		self.pattern = Pattern()
		self.src = h.server(source_handler(self.pattern, DOWNLOAD), "src")
		self.echo = h.server(echo_handler, "echo")
		listen = ("[%s]:%d" if ":" in self.bob_addr else "%s:%d") % (
		    self.bob_addr, self.bob_port)
		text = config_text(self.bob_id, h.workers, peers={
		    "alice": {"key": self.alice_key}},
		    services={"src": (self.src.port, ["alice"]),
		    "echo": (self.echo.port, ["alice"])}, timeouts=FAST_TIMEOUTS)
		text = text.replace("workers:", "listen: %s\nworkers:" % yq(listen), 1)
		self.b = h.gateway("bob", text)
		self.n = 0

	def start(self):
		self.b.start()
		return self.h.r.ok(self.b.wait_log(r"listening for peers", 15) is not None,
		    "bob listens on %s:%d (where \"localhost\" leads)" % (self.bob_addr,
		    self.bob_port))

	def alice(self, dial, proxy, timeouts=None):
		"""A new alice dialing bob at `dial` through `proxy`; forwards to
		src and echo; a control socket and a metrics port."""
		self.n += 1
		a = {"fsrc": self.h.port(), "fecho": self.h.port(),
		    "metrics": self.h.port(), "ctl": self.h.path("alice%d.sock" % self.n)}
		t = dict(FAST_TIMEOUTS, **(timeouts or {}))
		text = "\n".join([
		    "identity: " + yq(self.alice_id),
		    "workers: %s" % self.h.workers,
		    "log:", "  level: debug", "  format: text",
		    "control: " + yq(a["ctl"]),
		    "metrics: " + yq("%s:%d" % (HOST, a["metrics"])),
		    "peers:", "  bob:", "    key: " + yq(self.bob_key),
		    "    dial: " + yq(dial), "    proxy: " + yq(proxy),
		    "forwards:",
		    "  - listen: " + yq("%s:%d" % (HOST, a["fsrc"])),
		    "    peer: bob", "    service: src",
		    "  - listen: " + yq("%s:%d" % (HOST, a["fecho"])),
		    "    peer: bob", "    service: echo",
		    "timeouts:"] + ["  %s: %s" % kv for kv in t.items()]) + "\n"
		g = self.h.gateway("alice%d" % self.n, text)
		rc, out, err = self.h.check(g.cfg_path)
		self.h.r.ok(rc == 0, "stpgate check accepts alice%d's config" % self.n,
		    "exit %d: %s" % (rc, err.strip()))
		g.start()
		return g, a

	def moves_data(self, g, a, what):
		r = self.h.r
		s = socket.create_connection((HOST, a["fsrc"]), timeout=30)
		sha = hashlib.sha256()
		try:
			n, how = recv_to_end(s, time.monotonic() + 120, sha.update)
		finally:
			s.close()
		r.ok(n == DOWNLOAD and how == "eof", "%s: downloaded %d bytes to the end"
		    % (what, DOWNLOAD), "got %d, %s" % (n, how))
		r.ok(sha.hexdigest() == self.pattern.sha256(DOWNLOAD),
		    "%s: SHA-256 of the download matches" % what)
		err = echo_roundtrip(a["fecho"], os.urandom(MiB), timeout=60)
		r.ok(err is None, "%s: 1 MiB echoed back intact" % what, str(err))


def microsocks(h, port, auth, name):
	argv = ["microsocks", "-i", HOST, "-p", str(port)]
	if auth:
		argv += ["-u", USER, "-P", PASSWORD]
	log = h.path(name + ".log")
	p = spawn(argv, log)
	ok = wait_listening(port)
	h.r.ok(ok, "%s (microsocks%s) listens on %d" % (name, " -u -P" if auth else "",
	    port))
	return p, log


def read_file(path):
	try:
		with open(path, "rb") as f:
			return f.read().decode("utf-8", "replace")
	except OSError:
		return ""


def stop_proc(p):
	if p.poll() is None:
		p.kill()
		p.wait(timeout=10)


# ---- an in-test SOCKS5 stub (for what microsocks cannot show) ----

def read_exact(c, n):
	b = b""
	while len(b) < n:
		d = c.recv(n - len(b))
		if not d:
			raise ConnectionError("closed after %d of %d bytes" % (len(b), n))
		b += d
	return b


def relay(a, b):
	def pump(x, y):
		try:
			while True:
				d = x.recv(65536)
				if not d:
					break
				y.sendall(d)
			y.shutdown(socket.SHUT_WR)
		except OSError:
			pass
	t = threading.Thread(target=pump, args=(b, a), daemon=True)
	t.start()
	pump(a, b)
	t.join(60)


def onion_stub(names):
	"""A SOCKS5 server (no auth) that reaches only the names in `names`
	({name: (host, port)}), as Tor reaches onion services; it records each
	request in srv.state['requests'] as (atyp, name or address, port)."""
	def h(c, srv):
		c.settimeout(30)
		g = read_exact(c, 2)
		methods = read_exact(c, g[1])
		if g[0] != 5 or 0 not in methods:
			c.sendall(b"\x05\xff")
			return
		c.sendall(b"\x05\x00")
		hd = read_exact(c, 4)
		if hd[3] == 3:
			name = read_exact(c, read_exact(c, 1)[0]).decode("latin-1")
		elif hd[3] == 1:
			name = socket.inet_ntop(socket.AF_INET, read_exact(c, 4))
		else:
			name = socket.inet_ntop(socket.AF_INET6, read_exact(c, 16))
		port = int.from_bytes(read_exact(c, 2), "big")
		with srv.lock:
			srv.state.setdefault("requests", []).append((hd[3], name, port))
		dest = names.get(name)
		if hd[1] != 1 or dest is None or dest[1] != port:
			c.sendall(b"\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00")
			return
		u = socket.create_connection(dest, timeout=10)
		u.settimeout(None)
		c.settimeout(None)
		# BND.ADDR as a name, so the client must size the reply by ATYP 3.
		bnd = b"stub.invalid"
		c.sendall(b"\x05\x00\x00\x03" + bytes([len(bnd)]) + bnd + b"\x1f\x90")
		relay(c, u)
		u.close()
	return h


def stall_stub(c, srv):
	"""Accept, read the greeting, never answer; hold until the client goes."""
	with srv.lock:
		srv.state["accepted"] = srv.state.get("accepted", 0) + 1
	c.settimeout(60)
	while not srv.stopping.is_set():
		try:
			if not c.recv(4096):
				break
		except socket.timeout:
			break


# ---- the cases ----

def case_noauth(h, w):
	r = h.r
	say("== noauth: the session through microsocks, no authentication")
	pport = h.port()
	ms, mslog = microsocks(h, pport, False, "socks-noauth")
	dial = "%s:%d" % (w.bob_addr, w.bob_port) if ":" not in w.bob_addr else \
	    "[%s]:%d" % (w.bob_addr, w.bob_port)
	g, a = w.alice(dial, "socks5://%s:%d" % (HOST, pport))
	up = g.wait_log(peer_line("bob", "session up"), UP_WAIT)
	if r.ok(up is not None, "noauth: session up through the proxy", g.log()[-400:]):
		w.moves_data(g, a, "noauth")
	r.ok(re.search(r"connected to %s:%d\b" % (re.escape(w.bob_addr), w.bob_port),
	    read_file(mslog)) is not None, "noauth: microsocks made the connection to bob",
	    read_file(mslog)[-300:])
	n = scrape_event(a["metrics"], "connected")
	r.ok(n is not None and n >= 1,
	    "noauth: metrics count socks5 event=connected >= 1", str(n))
	g.stop()
	stop_proc(ms)


def case_auth(h, w):
	r = h.r
	say("== auth: username/password, bob dialed by the name \"localhost\"")
	pport = h.port()
	ms, mslog = microsocks(h, pport, True, "socks-auth")
	g, a = w.alice("localhost:%d" % w.bob_port,
	    "socks5://%s:%s@%s:%d" % (USER, PASSWORD, HOST, pport))
	up = g.wait_log(peer_line("bob", "session up"), UP_WAIT)
	if r.ok(up is not None, "auth: session up through the proxy with user/pass",
	    g.log()[-400:]):
		w.moves_data(g, a, "auth")
	r.ok(re.search(r"connected to localhost:%d\b" % w.bob_port, read_file(mslog))
	    is not None, "auth: microsocks got the name \"localhost\" (passed unresolved)",
	    read_file(mslog)[-300:])
	st, raw = peer_status(h, g.cfg_path, "bob")
	r.ok(st is not None and st.get("state") == "up", "auth: status says bob is up",
	    str(raw)[:300])
	r.ok(PASSWORD not in g.log() and PASSWORD not in (raw or ""),
	    "auth: the password is in neither the log nor status")
	g.stop()
	stop_proc(ms)


def case_badpass(h, w):
	r = h.r
	say("== badpass: a wrong password")
	pport = h.port()
	ms, _ = microsocks(h, pport, True, "socks-badpass")
	wrong = "Wr0ngPassw0rd-not-logged"
	g, a = w.alice("localhost:%d" % w.bob_port,
	    "socks5://%s:%s@%s:%d" % (USER, wrong, HOST, pport))
	line = g.wait_log(r"retry 4 in \d+ ms", 30)
	rs = retries(g)
	say("badpass: retries %s" % [(n, d) for n, d, _ in rs])
	want = "proxy %s:%d refused our username/password (RFC 1929 status" % (HOST, pport)
	r.ok(line is not None and len(rs) >= 4, "badpass: four attempts, each retried",
	    g.log()[-600:])
	r.ok(all(want in why for _, _, why in rs),
	    "badpass: every attempt's error says the proxy refused our username/password",
	    rs[0][2] if rs else "no retry line")
	r.ok([n for n, _, _ in rs[:4]] == [1, 2, 3, 4], "badpass: attempts rise 1, 2, 3, 4",
	    str(rs[:4]))
	r.ok(len(rs) >= 4 and rs[3][1] > rs[0][1],
	    "badpass: the backoff grows (4th delay %s ms > 1st %s ms)" % (
	    rs[3][1] if len(rs) >= 4 else "?", rs[0][1] if rs else "?"))
	r.ok(g.grep(peer_line("bob", "session up")) == [], "badpass: no session came up")
	st, raw = peer_status(h, g.cfg_path, "bob")
	r.ok(st is not None and want in st.get("last_error", ""),
	    "badpass: `stpgate status` shows the error", str(raw)[:400])
	r.ok(st is not None and st.get("state") in ("backoff", "connecting"),
	    "badpass: status state is backoff/connecting", str(st))
	n = scrape_event(a["metrics"], "auth_failed")
	r.ok(n is not None and n >= 4, "badpass: metrics count auth_failed >= 4", str(n))
	r.ok(wrong not in g.log() and wrong not in (raw or ""),
	    "badpass: the password is in neither the log nor status")
	g.stop()
	stop_proc(ms)


def case_refused(h, w):
	r = h.r
	say("== refused: the proxy is up, bob's port is closed")
	pport, closed = h.port(), h.port()
	ms, _ = microsocks(h, pport, False, "socks-refused")
	g, a = w.alice("localhost:%d" % closed, "socks5://%s:%d" % (HOST, pport))
	want = ("proxy %s:%d refused CONNECT to localhost:%d: connection refused "
	    "(REP 5)" % (HOST, pport, closed))
	line = g.wait_log(r"retry 2 in \d+ ms", 20)
	rs = retries(g)
	r.ok(line is not None and all(want in why for _, _, why in rs),
	    "refused: \"%s\", and retried" % want, rs[0][2] if rs else g.log()[-400:])
	n = scrape_event(a["metrics"], "refused")
	r.ok(n is not None and n >= 2, "refused: metrics count refused >= 2", str(n))
	g.stop()
	stop_proc(ms)


def case_noproxy(h, w):
	r = h.r
	say("== noproxy: nothing listens at the proxy's address")
	dead = h.port()
	g, _ = w.alice("localhost:%d" % w.bob_port, "socks5://%s:%d" % (HOST, dead))
	want = "connect to proxy %s:%d (for localhost:%d): connection refused" % (
	    HOST, dead, w.bob_port)
	line = g.wait_log(r"retry 2 in \d+ ms", 20)
	rs = retries(g)
	r.ok(line is not None and all(want.lower() in why.lower() for _, _, why in rs),
	    "noproxy: \"%s\", and retried" % want, rs[0][2] if rs else g.log()[-400:])
	g.stop()


def case_onion(h, w):
	r = h.r
	say("== onion: a .onion name reaches the proxy unresolved")
	stub = h.server(onion_stub({ONION: (w.bob_addr, w.bob_port)}), "onion-stub")
	g, a = w.alice("%s:%d" % (ONION, w.bob_port), "socks5://%s:%d" % (HOST, stub.port))
	up = g.wait_log(peer_line("bob", "session up"), UP_WAIT)
	if r.ok(up is not None, "onion: session up through the stub", g.log()[-400:]):
		w.moves_data(g, a, "onion")
	reqs = stub.state.get("requests", [])
	r.ok(len(reqs) >= 1 and reqs[0] == (3, ONION, w.bob_port),
	    "onion: the stub got CONNECT with ATYP 3 and the name as written", str(reqs))
	g.stop()
	stub.close()


def case_stall(h, w):
	r = h.r
	say("== stall: a proxy that never answers; reload and stop mid-negotiation")
	stub = h.server(stall_stub, "stall-stub")
	g, _ = w.alice("localhost:%d" % w.bob_port, "socks5://%s:%d" % (HOST, stub.port),
	    timeouts={"connect": "1500ms"})
	want = "negotiation with proxy %s:%d (for localhost:%d) timed out" % (
	    HOST, stub.port, w.bob_port)
	line = g.wait_log(re.escape(want), 20)
	r.ok(line is not None, "stall: \"%s\"" % want, g.log()[-400:])
	# A reload while an attempt hangs in the proxy's negotiation.
	acc = lambda: stub.state.get("accepted", 0)  # noqa: E731
	k = acc()
	r.ok(wait_for(lambda: acc() > k, 15, 0.05), "stall: the next attempt reached the stub")
	mark = g.mark()
	g.hup()
	r.ok(g.wait_log(r"reloaded ", 10, mark) is not None, "stall: reloaded mid-negotiation")
	line = g.wait_log(re.escape(want) + r".*retry \d+ in", 20, mark)
	r.ok(line is not None and g.running(),
	    "stall: that attempt still ended by timeouts.connect, gateway running")
	k = acc()
	r.ok(wait_for(lambda: acc() > k, 15, 0.05), "stall: another attempt reached the stub")
	g.stop()   # SIGTERM mid-negotiation: exit 0 (checked)
	stub.close()


def case_config(h, w):
	r = h.r
	say("== config: what `stpgate check` refuses, at file:line:col")
	base = "identity: %s\npeers:\n  bob:\n    key: %s\n" % (yq(w.alice_id),
	    yq(w.bob_key))
	for name, extra, want, secret in (
	    ("nodial", "    proxy: socks5://127.0.0.1:9050\n",
	    r':5:12: peers\.bob\.proxy: a proxy needs "dial"', None),
	    ("nopass", "    dial: x.onion:1\n    proxy: socks5://Secr3tUser@127.0.0.1:9050\n",
	    r":6:12: peers\.bob\.proxy: expected .*USER:PASS, each 1\.\.255 bytes",
	    "Secr3tUser"),
	    ("longpass", "    dial: x.onion:1\n    proxy: socks5://u:%s@127.0.0.1:9050\n" %
	    ("P" * 256), r":6:12: peers\.bob\.proxy: expected .*each 1\.\.255 bytes",
	    "PPPPPPPP"),
	    ("plugin-key", "    dial: x.onion:1\n    proxy: socks5://127.0.0.1:9050\n"
	    "plugins:\n  socks5:\n    timeout: 5s\n",
	    r":9:5: plugins\.socks5\.timeout: unknown key", None)):
		path = h.path("cfg-%s.yaml" % name)
		with open(path, "w") as f:
			f.write(base + extra)
		rc, out, err = h.check(path)
		r.ok(rc != 0 and re.search(re.escape(path) + want, err) is not None,
		    "config %s: refused with %s" % (name, want), "exit %d: %s" % (rc, err.strip()))
		if secret:
			r.ok(secret not in err and secret not in out,
			    "config %s: the credentials are not shown" % name)
	path = h.path("cfg-ok.yaml")
	with open(path, "w") as f:
		f.write(base + "    dial: x.onion:1\n    proxy: socks5://u:p@[::1]:9050\n"
		    "plugins:\n  socks5: {}\n")
	rc, out, err = h.check(path)
	r.ok(rc == 0, "config: a proxy with dial, and `plugins: socks5: {}`, are accepted",
	    err.strip())


CASES = [case_config, case_noauth, case_auth, case_badpass, case_refused, case_noproxy,
    case_onion, case_stall]


def main():
	ap = argparse.ArgumentParser(description="socks5 plugin integration test")
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--workers", type=workers_arg, default=1)
	ap.add_argument("--keep", action="store_true")
	ap.add_argument("--timeout", type=int, default=280)
	args = ap.parse_args()
	if shutil.which("microsocks") is None:
		print("SKIP: microsocks is not installed (apt-get install microsocks); "
		    "this test needs a real SOCKS5 server")
		return 77
	h = Harness(args.stpgate, args.workers, args.keep, args.timeout)
	w = World(h)
	try:
		if w.start():
			for c in CASES:
				c(h, w)
				if not w.b.running():
					h.r.fail("bob still running after %s" % c.__name__)
					break
	except Exception as e:  # a bug or an unexpected error is one more failure
		import traceback
		traceback.print_exc()
		h.r.fail("raised %r" % e)
	return h.finish()


if __name__ == "__main__":
	sys.exit(main())

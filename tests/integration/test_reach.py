#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_reach.py: more than TCP ports (README "Wrap a real tool"): Unix
sockets on both ends, the PROXY protocol toward services (checked by a
parser written here and by a real consumer, haproxy), and dynamic SOCKS5
forwards with the serving side's destination policy (driven by curl).

alice forwards, bob serves:

  - unix: alice listens on unix:alice-echo.sock (mode 0660, group set when
    root) for bob's "uecho", which bob connects to on unix:bob-echo.sock (a
    Unix echo server here).  Bytes come back intact; the socket has the
    mode and group; a stale socket file left at alice's path is replaced
    at start and the file is gone after alice stops; a reload that adds a
    forward on a path where a process listens is refused, naming it.
  - PROXY: bob's "pp1" (v1) and "pp2" (v2) lead to a server here that
    parses the header and answers with what it read: the source is the
    app's own address (it binds 127.0.0.5), the destination alice's forward;
    v2's TLVs 0xE0 and 0xE1 hold "alice" and alice's key text.  An app on
    alice's unix: forward for pp1 gives "PROXY UNKNOWN".  bob's "hap" (v2)
    leads to haproxy with accept-proxy: curl from 127.0.0.7 gets back its
    own address, and haproxy's log line shows it.
  - SOCKS: alice's socks: forward to bob, whose destinations for alice
    allow "localhost:H1" (a name rule) and "127.0.0.0/8:H2" (an address
    rule).  curl --socks5-hostname reaches http://localhost:H1/ and
    http://127.0.0.1:H2/, and also http://localhost:H2/ (the name is
    resolved and its address allowed); http://127.0.0.1:H3/ is refused with
    SOCKS reply 2, logged on both sides; a raw SOCKS5 client that sends its
    greeting, request and first data in one write gets its data echoed.

usage: test_reach.py --stpgate PATH [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import grp
import http.server
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (test_main, FAST_TIMEOUTS, HOST, UP_WAIT,  # noqa: E402
    config_text, echo_handler, peer_line, recv_exact, say, spawn, wait_for)

PP2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def read_proxy_header(c):
	"""Parse a PROXY v1 line or v2 header from c, written from the
	protocol's description: a dict of what it holds."""
	first = recv_exact(c, 12)
	if first == PP2_SIG:
		ver_cmd, fam, length = struct.unpack("!BBH", recv_exact(c, 4))
		body = recv_exact(c, length)
		out = {"version": 2, "cmd": ver_cmd & 0xf, "ver": ver_cmd >> 4,
		    "family": fam, "tlvs": {}}
		if fam == 0x11:
			out["src"] = socket.inet_ntop(socket.AF_INET, body[0:4])
			out["dst"] = socket.inet_ntop(socket.AF_INET, body[4:8])
			out["sport"], out["dport"] = struct.unpack("!HH", body[8:12])
			rest = body[12:]
		elif fam == 0x21:
			out["src"] = socket.inet_ntop(socket.AF_INET6, body[0:16])
			out["dst"] = socket.inet_ntop(socket.AF_INET6, body[16:32])
			out["sport"], out["dport"] = struct.unpack("!HH", body[32:36])
			rest = body[36:]
		else:
			rest = body
		while rest:
			t, n = struct.unpack("!BH", rest[:3])
			out["tlvs"][t] = rest[3:3 + n].decode("ascii", "replace")
			rest = rest[3 + n:]
		return out
	line = first
	while not line.endswith(b"\r\n"):
		if len(line) > 107:
			raise ValueError("v1 line too long")
		line += recv_exact(c, 1)
	parts = line.decode("ascii").split()
	out = {"version": 1, "line": line.decode("ascii")}
	if parts[1] != "UNKNOWN":
		out.update(src=parts[2], dst=parts[3], sport=int(parts[4]),
		    dport=int(parts[5]), proto=parts[1])
	return out


def proxy_handler(c, srv):
	"""Read the header, remember it, then echo."""
	hdr = read_proxy_header(c)
	with srv.lock:
		srv.state.setdefault("headers", []).append(hdr)
	echo_handler(c, srv)


class UnixEcho:
	"""A Unix-socket echo server at path."""

	def __init__(self, path):
		self.path = path
		self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		self.sock.bind(path)
		self.sock.listen(16)
		self.sock.settimeout(0.2)
		self.accepted = 0
		self.stopping = threading.Event()
		threading.Thread(target=self._loop, daemon=True).start()

	def _loop(self):
		while not self.stopping.is_set():
			try:
				c, _ = self.sock.accept()
			except socket.timeout:
				continue
			except OSError:
				return
			self.accepted += 1
			threading.Thread(target=self._echo, args=(c,), daemon=True).start()

	def _echo(self, c):
		try:
			while True:
				d = c.recv(65536)
				if not d:
					break
				c.sendall(d)
			c.shutdown(socket.SHUT_WR)
		except OSError:
			pass
		finally:
			c.close()

	def close(self):
		self.stopping.set()
		self.sock.close()


def unix_roundtrip(path, data, timeout=10):
	"""Send data on a Unix socket, read it back: None, or what went wrong."""
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.settimeout(timeout)
	try:
		s.connect(path)
		s.sendall(data)
		s.shutdown(socket.SHUT_WR)
		got = b""
		while True:
			d = s.recv(65536)
			if not d:
				break
			got += d
		return None if got == data else "got %d bytes, want %d" % (
		    len(got), len(data))
	except OSError as e:
		return repr(e)
	finally:
		s.close()


def tcp_from(src, port, data, timeout=10):
	"""Connect from src to 127.0.0.1:port, send data, half-close, read all:
	(our local port, what came back) or (None, error text)."""
	s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	s.settimeout(timeout)
	try:
		s.bind((src, 0))
		s.connect((HOST, port))
		sport = s.getsockname()[1]
		s.sendall(data)
		s.shutdown(socket.SHUT_WR)
		got = b""
		while True:
			d = s.recv(65536)
			if not d:
				break
			got += d
		return sport, got
	except OSError as e:
		return None, repr(e)
	finally:
		s.close()


class Http:
	"""A tiny HTTP server on a fresh loopback port answering its name."""

	def __init__(self, name):
		body = ("hello from %s\n" % name).encode()

		class H(http.server.BaseHTTPRequestHandler):
			def do_GET(self):
				self.send_response(200)
				self.send_header("Content-Length", str(len(body)))
				self.end_headers()
				self.wfile.write(body)

			def log_message(self, *a):
				pass

		self.srv = http.server.ThreadingHTTPServer((HOST, 0), H)
		self.port = self.srv.server_address[1]
		self.body = body
		threading.Thread(target=self.srv.serve_forever, daemon=True).start()

	def close(self):
		self.srv.shutdown()
		self.srv.server_close()


def curl(args, timeout=20):
	p = subprocess.run(["curl", "-sS", "--max-time", "10"] + args,
	    capture_output=True, text=True, timeout=timeout)
	return p.returncode, p.stdout, p.stderr


def socks_pipelined(port, host, dport, data, timeout=10):
	"""One write with greeting, CONNECT (a name) and data: (reply bytes,
	echoed data) or an error text."""
	s = socket.create_connection((HOST, port), timeout=timeout)
	try:
		name = host.encode()
		s.sendall(b"\x05\x01\x00" + b"\x05\x01\x00\x03" + bytes([len(name)]) +
		    name + struct.pack("!H", dport) + data)
		method = recv_exact(s, 2)
		reply = recv_exact(s, 10)
		got = b""
		while len(got) < len(data):
			d = s.recv(65536)
			if not d:
				break
			got += d
		return method + reply, got
	except (OSError, ValueError) as e:
		return repr(e), b""
	finally:
		s.close()


def run(h):
	r = h.r
	root = os.geteuid() == 0
	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	bob_port = h.port()
	pp = h.server(proxy_handler, "proxy-parser")
	echo = h.server(echo_handler, "echo")
	web1, web2 = Http("web1"), Http("web2")
	hap_port, fwd_hap = h.port(), h.port()
	fwd_pp1, fwd_pp2, socks_port = h.port(), h.port(), h.port()
	refused_port = h.port()

	# bob's Unix echo and alice's forward socket: relative paths are taken
	# from the config's directory.
	bob_sock = h.path("bob-echo.sock")
	uecho = UnixEcho(bob_sock)
	alice_sock = h.path("alice-echo.sock")
	alice_pp_sock = h.path("alice-pp1.sock")
	group = "nogroup" if root else None

	# haproxy: accepts the PROXY header, answers with the client's address
	# as it understood it, and logs it.
	hap_cfg = h.path("haproxy.cfg")
	with open(hap_cfg, "w") as f:
		f.write("global\n  log stdout format raw local0\n"
		    "defaults\n  mode http\n  log global\n"
		    "  timeout connect 5s\n  timeout client 10s\n"
		    "  timeout server 10s\n"
		    "frontend f\n  bind %s:%d accept-proxy\n"
		    "  log-format \"client=%%ci:%%cp\"\n"
		    "  http-request return status 200 content-type text/plain "
		    "lf-string \"you are %%[src]:%%[src_port]\\n\"\n" % (HOST, hap_port))
	hap_log = h.path("haproxy.log")
	hap = spawn(["haproxy", "-db", "-f", hap_cfg], hap_log)
	say("haproxy: started pid %d" % hap.pid)

	b = h.gateway("bob", config_text(bob_id, h.workers, listen=bob_port,
	    peers={"alice": {"key": alice_key, "destinations": [
	        "localhost:%d" % web1.port, "127.0.0.0/8:%d" % web2.port,
	        "127.0.0.1:%d" % echo.port]}},
	    services={
	        "uecho": ("unix:bob-echo.sock", ["alice"]),
	        "pp1": (pp.port, ["alice"], {"proxy_protocol": "v1"}),
	        "pp2": (pp.port, ["alice"], {"proxy_protocol": "v2"}),
	        "hap": (hap_port, ["alice"], {"proxy_protocol": "v2"})},
	    timeouts=FAST_TIMEOUTS))
	ufwd = {"listen": "unix:alice-echo.sock", "mode": "0660", "peer": "bob",
	    "service": "uecho"}
	if group:
		ufwd["group"] = group
	forwards = [ufwd,
	    {"listen": "unix:alice-pp1.sock", "peer": "bob", "service": "pp1"},
	    (fwd_pp1, "bob", "pp1"), (fwd_pp2, "bob", "pp2"),
	    (fwd_hap, "bob", "hap"),
	    {"socks": socks_port, "peer": "bob"}]

	def alice_text(extra=()):
		return config_text(alice_id, h.workers,
		    peers={"bob": {"key": bob_key, "dial": bob_port}},
		    forwards=forwards + list(extra), timeouts=FAST_TIMEOUTS)

	a = h.gateway("alice", alice_text())
	rc, out, err = h.check(a.cfg_path)
	r.ok(rc == 0, "alice's config with unix:, socks: and mode checks",
	    err.strip())
	rc, out, err = h.check(b.cfg_path)
	r.ok(rc == 0, "bob's config with unix:, proxy_protocol and destinations "
	    "checks", err.strip())

	# A stale socket at alice's path: a socket nobody listens on.
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.bind(alice_sock)
	s.close()
	b.start()
	a.start()
	r.ok(a.wait_log(peer_line("bob", "session up"), UP_WAIT) is not None,
	    "alice's session with bob comes up")
	r.ok(a.grep("removed a stale socket") != [],
	    "the stale socket file at alice's unix: path is replaced")

	# ---- Unix sockets ----
	r.ok(wait_for(lambda: unix_roundtrip(alice_sock, b"over unix") is None,
	    10), "unix: forward to a unix: service: the bytes come back",
	    unix_roundtrip(alice_sock, b"over unix") or "")
	data = os.urandom(1 << 20)
	r.ok(unix_roundtrip(alice_sock, data, 30) is None,
	    "1 MiB through unix: on both ends comes back intact")
	st = os.stat(alice_sock)
	r.ok(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660,
	    "the forward's socket has mode 0660", oct(st.st_mode))
	if group:
		r.ok(st.st_gid == grp.getgrnam(group).gr_gid,
		    "the forward's socket has group %s" % group, str(st.st_gid))
	r.ok(uecho.accepted >= 2, "bob reached the service's Unix socket",
	    "%d connections" % uecho.accepted)

	# A forward on a path where a process listens: refused by the reload.
	m = a.mark()
	a.write_config(alice_text([{"listen": "unix:bob-echo.sock", "peer": "bob",
	    "service": "uecho"}]))
	a.hup()
	line = a.wait_log(r"reload", 10, m)
	r.ok(a.wait_log("a running process listens on it", 10, m) is not None,
	    "a forward on a live socket's path is refused, saying why",
	    line or "no reload line")
	r.ok(unix_roundtrip(bob_sock, b"still bob's") is None,
	    "the live socket was left alone")
	a.write_config(alice_text())
	m = a.mark()
	a.hup()
	a.wait_log(r"reloaded|reload failed", 10, m)

	# ---- PROXY protocol ----
	sport, got = tcp_from("127.0.0.5", fwd_pp1, b"v1 data")
	r.ok(got == b"v1 data", "PROXY v1 service: the app's bytes follow the "
	    "header", repr(got))
	hdrs = pp.state.get("headers", [])
	r.ok(len(hdrs) == 1 and hdrs[0].get("version") == 1 and
	    hdrs[0].get("src") == "127.0.0.5" and hdrs[0].get("sport") == sport and
	    hdrs[0].get("dst") == HOST and hdrs[0].get("dport") == fwd_pp1,
	    "PROXY v1 names the app's address and alice's forward",
	    repr(hdrs[-1:]))
	sport, got = tcp_from("127.0.0.5", fwd_pp2, b"v2 data")
	hdrs = pp.state.get("headers", [])
	v2 = hdrs[-1] if hdrs else {}
	r.ok(got == b"v2 data" and v2.get("version") == 2 and v2.get("ver") == 2
	    and v2.get("cmd") == 1 and v2.get("family") == 0x11 and
	    v2.get("src") == "127.0.0.5" and v2.get("sport") == sport and
	    v2.get("dport") == fwd_pp2,
	    "PROXY v2 names the app's address and alice's forward", repr(v2))
	r.ok(v2.get("tlvs", {}).get(0xE0) == "alice",
	    "PROXY v2 TLV 0xE0 is the peer's name in bob's config", repr(v2))
	r.ok(v2.get("tlvs", {}).get(0xE1) == alice_key,
	    "PROXY v2 TLV 0xE1 is the key alice authenticated with", repr(v2))
	err = unix_roundtrip(alice_pp_sock, b"from a unix app")
	hdrs = pp.state.get("headers", [])
	r.ok(err is None and hdrs and hdrs[-1].get("line") == "PROXY UNKNOWN\r\n",
	    "an app on a unix: forward gives PROXY UNKNOWN", repr(hdrs[-1:]))
	rc, out, errt = curl(["--interface", "127.0.0.7",
	    "http://%s:%d/" % (HOST, fwd_hap)])
	r.ok(rc == 0 and out.startswith("you are 127.0.0.7:"),
	    "haproxy (accept-proxy) sees curl's own address through the tunnel",
	    "curl %d: %r %r" % (rc, out, errt))
	port_seen = out.strip().rsplit(":", 1)[-1] if rc == 0 else "?"
	r.ok(wait_for(lambda: "client=127.0.0.7:%s" % port_seen in
	    open(hap_log, errors="replace").read(), 5),
	    "haproxy's log shows the original address",
	    open(hap_log, errors="replace").read()[-300:])

	# ---- dynamic forwards (SOCKS5) ----
	px = ["--socks5-hostname", "%s:%d" % (HOST, socks_port)]
	rc, out, errt = curl(px + ["http://localhost:%d/" % web1.port])
	r.ok(rc == 0 and out == web1.body.decode(),
	    "curl through the SOCKS forward reaches localhost (a name rule)",
	    "curl %d: %r %r" % (rc, out, errt))
	rc, out, errt = curl(px + ["http://127.0.0.1:%d/" % web2.port])
	r.ok(rc == 0 and out == web2.body.decode(),
	    "curl through the SOCKS forward reaches 127.0.0.1 (an address rule)",
	    "curl %d: %r %r" % (rc, out, errt))
	rc, out, errt = curl(px + ["http://localhost:%d/" % web2.port])
	r.ok(rc == 0 and out == web2.body.decode(),
	    "a name no name rule allows goes where its address is allowed",
	    "curl %d: %r %r" % (rc, out, errt))
	mb, ma = b.mark(), a.mark()
	rc, out, errt = curl(px + ["http://127.0.0.1:%d/" % refused_port])
	r.ok(rc != 0, "a destination bob's rules do not allow is refused",
	    "curl %d: %r" % (rc, out))
	line_b = b.wait_log("destination 127.0.0.1:%d is not allowed for peer "
	    "alice" % refused_port, 5, mb)
	r.ok(line_b is not None, "bob logs the refused destination")
	line_a = a.wait_log("stream to 127.0.0.1:%d refused by the peer" %
	    refused_port, 5, ma)
	r.ok(line_a is not None, "alice logs the refusal", line_a or "")
	reply, got = socks_pipelined(socks_port, "127.0.0.1", refused_port, b"x")
	r.ok(isinstance(reply, bytes) and reply[:2] == b"\x05\x00" and
	    reply[3] == 0x02, "the refusal is SOCKS reply 2 (not allowed)",
	    repr(reply))
	data = os.urandom(200)
	reply, got = socks_pipelined(socks_port, "127.0.0.1", echo.port, data)
	r.ok(isinstance(reply, bytes) and reply[3] == 0 and got == data,
	    "greeting, request and data in one write: the data is echoed",
	    "%r %d bytes" % (reply, len(got)))

	a.stop()
	r.ok(not os.path.exists(alice_sock) and not os.path.exists(alice_pp_sock),
	    "alice's unix: sockets are removed when it stops")
	b.stop()
	hap.terminate()
	hap.wait(timeout=10)
	uecho.close()
	web1.close()
	web2.close()


if __name__ == "__main__":
	if shutil.which("haproxy") is None:
		# run.sh installs it; a partial environment must not pass silently.
		print("test_reach.py: haproxy is not installed (apt-get install haproxy)")
		print("0 passed, 1 failed")
		sys.exit(1)
	sys.exit(test_main(run, __doc__))

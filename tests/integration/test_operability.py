#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_operability.py: what an operator sees of two running gateways, alice
(dials, has a forward) and bob (listens, has an echo service), each with a
control socket and a metrics endpoint:

  - `stpgate status --json` and the table name the peer, say "up", count the
    open streams and the bytes moved through them (3 streams, known sizes);
  - the metrics endpoint, scraped with curl, is Prometheus text in which
    every line parses, every family has HELP and TYPE, and the samples agree
    with the traffic: sessions{state="up"} 1, handshakes ok, streams opened,
    per-peer bytes, a cumulative latency histogram whose +Inf bucket is its
    _count;
  - the HTTP edges: /, 404, 405, HEAD, a head over 8 KiB, a bare-LF request,
    a client that never finishes, the cap of 32 scrapes at once;
  - the control socket: mode 0600, bad requests, removed at exit;
  - refusals: a gateway not running (status exits 1 with one line), a config
    without control (exit 2), a stale socket file (removed at start), a path
    that is not a socket, a socket another gateway holds, a metrics port in
    use (each: the gateway exits 1 and says why);
  - SIGHUP with a new metrics port and control path moves both.

usage: test_operability.py --stpgate PATH [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import json
import os
import re
import shutil
import select
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (test_main, FAST_TIMEOUTS, HOST,  # noqa: E402
    config_text, echo_handler, peer_line, read_to_eof, say, wait_for,
    wait_sessions_up)

REKEY = {"bytes": "1MiB"}                # so that the streams below cross key updates
SIZES = (100000, 262144 + 7, 1000003)   # bytes echoed on each of 3 streams


# ---- helpers ----

def status(h, cfg, *extra):
	"""`stpgate status -c cfg [extra]`: (exit status, stdout, stderr)."""
	p = subprocess.run([h.stpgate, "status", "-c", cfg] + list(extra),
	    capture_output=True, text=True, timeout=30)
	return p.returncode, p.stdout, p.stderr


def status_json(h, cfg):
	rc, out, err = status(h, cfg, "--json")
	if rc != 0:
		return None, "exit %d: %s" % (rc, err.strip())
	try:
		return json.loads(out), None
	except ValueError as e:
		return None, "not JSON (%s): %r" % (e, out[:200])


def peer_of(doc, name):
	for p in (doc or {}).get("peers", []):
		if p.get("peer") == name:
			return p
	return None


def http_raw(port, data, timeout=10):
	"""Send data to the metrics port, read to EOF: (status code, headers
	dict, body bytes, raw bytes); code None when no status line came."""
	s = socket.create_connection((HOST, port), timeout=timeout)
	try:
		s.sendall(data)
		raw = read_to_eof(s)
	finally:
		s.close()
	head, _, body = raw.partition(b"\r\n\r\n")
	lines = head.decode("latin-1").split("\r\n")
	m = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0] if lines else "")
	hdrs = {}
	for l in lines[1:]:
		k, _, v = l.partition(":")
		hdrs[k.strip().lower()] = v.strip()
	return (int(m.group(1)) if m else None), hdrs, body, raw


def scrape(port):
	"""GET /metrics with curl (or a raw request if there is no curl):
	(text or None, why)."""
	if shutil.which("curl"):
		p = subprocess.run(["curl", "-sS", "--max-time", "10", "-D", "-",
		    "http://%s:%d/metrics" % (HOST, port)], capture_output=True, timeout=20)
		if p.returncode != 0:
			return None, "curl exit %d: %s" % (p.returncode, p.stderr.decode().strip())
		head, _, body = p.stdout.partition(b"\r\n\r\n")
		if not head.startswith(b"HTTP/1.1 200"):
			return None, "status line %r" % head[:40]
		if b"text/plain; version=0.0.4" not in head:
			return None, "content type in %r" % head
		return body.decode("utf-8"), None
	code, hdrs, body, _ = http_raw(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	if code != 200:
		return None, "status %r" % code
	return body.decode("utf-8"), None


LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')


def parse_labels(s):
	out = {}
	pos = 0
	while pos < len(s):
		m = LABEL.match(s, pos)
		if not m:
			raise ValueError("bad labels at %r" % s[pos:])
		v = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1),
		    m.group(2))
		out[m.group(1)] = v
		pos = m.end()
	return out


def parse_metrics(text):
	"""Every line must be HELP, TYPE or a sample.  Returns (samples as
	[(name, labels, value)], types {family: type}, errors [str])."""
	samples, types, helps, errors = [], {}, set(), []
	seen = set()
	if not text.endswith("\n"):
		errors.append("text does not end with a newline")
	for n, line in enumerate(text.splitlines(), 1):
		if line.startswith("# HELP "):
			parts = line.split(" ", 3)
			if len(parts) < 4 or not parts[3]:
				errors.append("line %d: HELP without text" % n)
			else:
				helps.add(parts[2])
			continue
		if line.startswith("# TYPE "):
			parts = line.split(" ")
			if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram",
			    "summary", "untyped"):
				errors.append("line %d: bad TYPE %r" % (n, line))
			elif parts[2] in types:
				errors.append("line %d: second TYPE for %s" % (n, parts[2]))
			else:
				types[parts[2]] = parts[3]
			continue
		m = SAMPLE.match(line)
		if not m:
			errors.append("line %d: not a sample: %r" % (n, line))
			continue
		name, lab, val = m.group(1), m.group(2) or "", m.group(3)
		try:
			labels = parse_labels(lab)
			value = float(val)
		except ValueError as e:
			errors.append("line %d: %s: %r" % (n, e, line))
			continue
		fam = name
		for suf in ("_bucket", "_sum", "_count"):
			if name.endswith(suf) and types.get(name[:-len(suf)]) == "histogram":
				fam = name[:-len(suf)]
		if fam not in types:
			errors.append("line %d: %s before its TYPE line" % (n, name))
		if fam not in helps:
			errors.append("line %d: %s has no HELP line" % (n, name))
		if not name.startswith("stpgate_"):
			errors.append("line %d: %s is not prefixed stpgate_" % (n, name))
		if types.get(fam) == "counter" and not name.endswith("_total"):
			errors.append("line %d: counter %s does not end in _total" % (n, name))
		key = (name, tuple(sorted(labels.items())))
		if key in seen:
			errors.append("line %d: duplicate sample %s%s" % (n, name, lab))
		seen.add(key)
		samples.append((name, labels, value))
	return samples, types, errors


def value(samples, name, **labels):
	"""The value of the one sample of name whose labels include labels, or None."""
	for n, l, v in samples:
		if n == name and all(l.get(k) == w for k, w in labels.items()):
			return v
	return None


def echo_exact(s, data, timeout=30):
	"""Send data on s and read exactly len(data) bytes back; None or why not."""
	s.settimeout(timeout)
	s.sendall(data)
	got = bytearray()
	while len(got) < len(data):
		d = s.recv(min(262144, len(data) - len(got)))
		if not d:
			return "closed after %d of %d bytes" % (len(got), len(data))
		got += d
	return None if bytes(got) == data else "echo differs"


def one_line(err):
	lines = err.splitlines()
	return len(lines) == 1 and lines[0].startswith("stpgate: ")


def dead_socket(path):
	"""Leave a socket file at path that nobody listens on."""
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.bind(path)
	s.close()


# ---- the test ----

class Setup:
	def __init__(self, h):
		self.h = h
		self.alice_id, self.alice_key = h.keygen("alice")
		self.bob_id, self.bob_key = h.keygen("bob")
		self.echo = h.server(echo_handler, "echo")
		self.bob_port = h.port()
		self.fport = h.port()
		self.mport_a, self.mport_b = h.port(), h.port()
		self.ctl_a, self.ctl_b = h.path("alice.sock"), h.path("bob.sock")

	def alice_text(self, mport=None, ctl=None):
		return config_text(self.alice_id, self.h.workers,
		    peers={"bob": {"key": self.bob_key, "dial": self.bob_port}},
		    forwards=[(self.fport, "bob", "echo")], timeouts=FAST_TIMEOUTS,
		    rekey=REKEY) + \
		    "control: %s\nmetrics: \"%s:%d\"\n" % (ctl or self.ctl_a, HOST,
		    mport or self.mport_a)

	def bob_text(self, listen=None, mport=None, ctl=None, control=True):
		t = config_text(self.bob_id, self.h.workers, listen=listen or self.bob_port,
		    peers={"alice": {"key": self.alice_key}},
		    services={"echo": (self.echo.port, ["alice"])}, timeouts=FAST_TIMEOUTS,
		    rekey=REKEY)
		if control:
			t += "control: %s\n" % (ctl or self.ctl_b)
		elif control is False:
			t += "control: off\n"
		return t + "metrics: \"%s:%d\"\n" % (HOST, mport or self.mport_b)


def check_metrics(h, port, who, peer, moved, streams):
	"""Scrape and check; returns the samples (or [])."""
	r = h.r
	text, why = scrape(port)
	if not r.ok(text is not None, "%s: metrics scraped with %s" % (who,
	    "curl" if shutil.which("curl") else "a raw request"), why):
		return []
	samples, types, errors = parse_metrics(text)
	r.ok(not errors, "%s: every line of the %d-line metrics text parses" % (
	    who, len(text.splitlines())), "; ".join(errors[:5]))
	r.ok(len(samples) >= 40, "%s: %d samples" % (who, len(samples)))
	r.ok(value(samples, "stpgate_sessions", state="up") == 1,
	    "%s: stpgate_sessions{state=\"up\"} is 1" % who,
	    str(value(samples, "stpgate_sessions", state="up")))
	states = [l.get("state") for n, l, v in samples if n == "stpgate_sessions"]
	r.ok(set(states) == {"idle", "backoff", "connecting", "handshake", "up", "closing"},
	    "%s: stpgate_sessions has every state" % who, str(states))
	ok = value(samples, "stpgate_handshakes_total", result="ok")
	r.ok(ok is not None and ok >= 1, "%s: stpgate_handshakes_total{result=\"ok\"} >= 1" % who,
	    str(ok))
	reasons = [l.get("reason") for n, l, v in samples
	    if n == "stpgate_handshakes_total" and l.get("result") == "fail"]
	r.ok(len(reasons) >= 8 and "timeout" in reasons and "unknown_peer" in reasons,
	    "%s: handshake failures by reason" % who, str(reasons))
	op = value(samples, "stpgate_streams_opened_total")
	r.ok(op is not None and op >= 3, "%s: stpgate_streams_opened_total >= 3" % who, str(op))
	act = value(samples, "stpgate_streams_active")
	r.ok(act == streams, "%s: stpgate_streams_active is %d" % (who, streams), str(act))
	ps = value(samples, "stpgate_peer_streams", peer=peer)
	r.ok(ps == streams, "%s: stpgate_peer_streams{peer=\"%s\"} is %d" % (who, peer, streams),
	    str(ps))
	for d in ("in", "out"):
		b = value(samples, "stpgate_peer_bytes_total", peer=peer, direction=d)
		r.ok(b is not None and b >= moved,
		    "%s: stpgate_peer_bytes_total{peer=\"%s\",direction=\"%s\"} >= %d" % (
		    who, peer, d, moved), str(b))
	r.ok(value(samples, "stpgate_peer_up", peer=peer) == 1, "%s: stpgate_peer_up is 1" % who)
	for name in ("stpgate_worker_queue_depth", "stpgate_worker_jobs_running",
	    "stpgate_worker_jobs_total", "stpgate_limits_hit_total",
	    "stpgate_sessions_established_total", "stpgate_sessions_closed_total"):
		r.ok(value(samples, name) is not None, "%s: %s present" % (who, name))
	# 1.3 MiB each way under rekey.bytes 1MiB: at least one key update each way.
	rk = value(samples, "stpgate_rekeys_total")
	r.ok(rk is not None and rk >= 2, "%s: stpgate_rekeys_total >= 2 (%s)" % (who, rk))
	rr = [l.get("reason") for n, l, v in samples if n == "stpgate_records_rejected_total"]
	r.ok(set(rr) == {"auth", "signature", "protocol", "too_big"},
	    "%s: records rejected by reason" % who, str(rr))
	thr = value(samples, "stpgate_worker_threads")
	want = h.workers
	if want == "auto":
		# One per online CPU, none on one CPU (workers_auto_threads).
		ncpu = os.sysconf("SC_NPROCESSORS_ONLN")
		want = 0 if ncpu <= 1 else min(ncpu, 64)
	r.ok(thr == want, "%s: stpgate_worker_threads is %d" % (who, want), str(thr))
	# Where the crypto ran: with auto, records on the loop and the
	# handshake in the pool; with N the pool does everything.
	loop_jobs = value(samples, "stpgate_crypto_jobs_total", where="loop")
	pool_jobs = value(samples, "stpgate_crypto_jobs_total", where="pool")
	r.ok(loop_jobs is not None and pool_jobs is not None,
	    "%s: stpgate_crypto_jobs_total by where" % who, str((loop_jobs, pool_jobs)))
	if h.workers == "auto" and want > 0:
		r.ok(loop_jobs and loop_jobs > 0 and pool_jobs and pool_jobs > 0,
		    "%s: auto ran jobs on the loop (%s) and in the pool (%s)" %
		    (who, loop_jobs, pool_jobs))
	elif h.workers not in ("auto", 0):
		r.ok(loop_jobs == 0, "%s: a fixed pool takes every job (loop %s)" %
		    (who, loop_jobs))
	# The histogram: buckets in order of le, cumulative, +Inf == _count.
	hname = "stpgate_worker_job_latency_seconds"
	r.ok(types.get(hname) == "histogram", "%s: %s is a histogram" % (who, hname))
	buckets = [(l["le"], v) for n, l, v in samples if n == hname + "_bucket"]
	les = [float(le) for le, _ in buckets]
	counts = [v for _, v in buckets]
	cnt = value(samples, hname + "_count")
	sm = value(samples, hname + "_sum")
	r.ok(len(buckets) >= 2 and buckets[-1][0] == "+Inf", "%s: buckets end with le=\"+Inf\"" %
	    who, str(buckets[-2:]))
	r.ok(les == sorted(les) and len(set(les)) == len(les), "%s: le bounds increase" % who)
	r.ok(all(a <= b for a, b in zip(counts, counts[1:])), "%s: buckets are cumulative" % who,
	    str(counts))
	r.ok(cnt is not None and counts and counts[-1] == cnt,
	    "%s: the +Inf bucket equals _count (%s)" % (who, cnt), str(counts[-1:]))
	r.ok(sm is not None and sm >= 0, "%s: _sum present" % who)
	if want > 0:
		r.ok(cnt and cnt > 0, "%s: the workers ran jobs (%s)" % (who, cnt))
	return samples


def run(h):
	r = h.r
	st = Setup(h)
	a = h.gateway("alice", st.alice_text())
	b = h.gateway("bob", st.bob_text())
	for g in (b, a):
		rc, out, err = h.check(g.cfg_path)
		r.ok(rc == 0, "stpgate check accepts %s's config" % g.name, err.strip())

	# Nothing runs yet: status says so in one line, exit 1.
	rc, out, err = status(h, a.cfg_path)
	r.ok(rc == 1 and one_line(err) and "gateway not running" in err and
	    st.ctl_a in err and not out,
	    "status with no gateway: exit 1, one line naming the socket", "exit %d: %r" % (rc, err))

	b.start()
	a.start()
	la, lb = wait_sessions_up(a, b)
	if not r.ok(la and lb, "session up on both sides"):
		return
	for g, path, mp in ((a, st.ctl_a, st.mport_a), (b, st.ctl_b, st.mport_b)):
		r.ok(g.wait_log(r"control socket on .*sock", 5) is not None,
		    "%s logs its control socket" % g.name)
		r.ok(g.wait_log(r"metrics on http://127\.0\.0\.1:%d/metrics" % mp, 5) is not None,
		    "%s logs its metrics address" % g.name)
		try:
			m = os.lstat(path)
			r.ok(stat.S_ISSOCK(m.st_mode) and stat.S_IMODE(m.st_mode) == 0o600,
			    "%s's control socket is a socket, mode 0600" % g.name,
			    "mode %o" % m.st_mode)
		except OSError as e:
			r.fail("%s's control socket exists" % g.name, repr(e))

	# Three streams, each echoing a known number of bytes, held open.
	socks = []
	for n in SIZES:
		s = h.connect(st.fport)
		socks.append(s)
		e = echo_exact(s, os.urandom(n))
		r.ok(e is None, "stream of %d bytes echoed" % n, str(e))
	moved = sum(SIZES)

	def streams_are(cfg, peer, n):
		def f():
			doc, _ = status_json(h, cfg)
			p = peer_of(doc, peer)
			return p is not None and p.get("streams") == n
		return f
	r.ok(wait_for(streams_are(a.cfg_path, "bob", 3), 5) and
	    wait_for(streams_are(b.cfg_path, "alice", 3), 5),
	    "both sides count 3 open streams")

	for g, peer in ((a, "bob"), (b, "alice")):
		doc, why = status_json(h, g.cfg_path)
		if not r.ok(doc is not None, "%s: status --json is JSON" % g.name, why):
			continue
		r.ok(doc.get("version") == 1 and doc.get("pid") == g.pid and
		    doc.get("draining") is False,
		    "%s: status names its version, pid and draining" % g.name, str(doc)[:200])
		p = peer_of(doc, peer)
		if not r.ok(p is not None and len(doc["peers"]) == 1,
		    "%s: status lists peer %s" % (g.name, peer), str(doc)[:300]):
			continue
		r.ok(p["state"] == "up", "%s: %s is up" % (g.name, peer), p["state"])
		r.ok(p["streams"] == 3, "%s: 3 streams open" % g.name, str(p["streams"]))
		r.ok(p["bytes_in"] >= moved and p["bytes_out"] >= moved,
		    "%s: bytes in/out >= %d moved" % (g.name, moved),
		    "in %d out %d" % (p["bytes_in"], p["bytes_out"]))
		r.ok(re.fullmatch(r"[0-9a-f]{8}", p.get("session") or "") is not None,
		    "%s: the session id is shown" % g.name, str(p.get("session")))
		r.ok(re.fullmatch(r"127\.0\.0\.1:\d+", p["address"]) is not None,
		    "%s: the peer's address is shown" % g.name, p["address"])
		r.ok(isinstance(p["uptime_ms"], int) and p["uptime_ms"] >= 0 and
		    isinstance(p["rtt_ms"], int) and p["last_error"] == "",
		    "%s: uptime, rtt and last_error have their types" % g.name, str(p))
		say("%s: status: %s" % (g.name, json.dumps(p)))
	# Both sides name the same session.
	da, _ = status_json(h, a.cfg_path)
	db, _ = status_json(h, b.cfg_path)
	r.ok(peer_of(da, "bob") and peer_of(db, "alice") and
	    peer_of(da, "bob")["session"] == peer_of(db, "alice")["session"],
	    "both sides show the same session id")

	rc, out, err = status(h, a.cfg_path)
	lines = out.splitlines()
	r.ok(rc == 0 and not err, "status (table) exits 0", "exit %d: %s" % (rc, err))
	r.ok(len(lines) == 2 and lines[0].split() == ["PEER", "STATE", "ADDRESS", "UPTIME",
	    "RTT", "IN", "OUT", "STREAMS", "LAST-ERROR"], "the table has its header",
	    repr(lines[:1]))
	if len(lines) == 2:
		cols = lines[1].split()
		r.ok(len(cols) == 9 and cols[0] == "bob" and cols[1] == "up" and
		    cols[7] == "3" and cols[8] == "-" and re.fullmatch(r"\d+ms", cols[4]) and
		    re.fullmatch(r"1\.3MiB", cols[5]) and re.fullmatch(r"1\.3MiB", cols[6]),
		    "the row says bob, up, 3 streams, 1.3MiB each way", lines[1])
		say("table:\n" + out.rstrip())
	env = dict(os.environ, STPGATE_CONFIG=a.cfg_path)
	p = subprocess.run([h.stpgate, "status", "--json"], capture_output=True, text=True,
	    env=env, timeout=30)
	r.ok(p.returncode == 0 and '"peer":"bob"' in p.stdout,
	    "status without -c reads $STPGATE_CONFIG", p.stderr.strip())

	check_metrics(h, st.mport_a, "alice", "bob", moved, 3)
	check_metrics(h, st.mport_b, "bob", "alice", moved, 3)

	for s in socks:
		s.close()
	r.ok(wait_for(streams_are(a.cfg_path, "bob", 0), 10) and
	    wait_for(streams_are(b.cfg_path, "alice", 0), 10),
	    "closed streams leave the count (0 on both sides)")
	doc, _ = status_json(h, a.cfg_path)
	p = peer_of(doc, "bob")
	r.ok(p and p["bytes_in"] >= moved and p["bytes_out"] >= moved,
	    "bytes of closed streams stay counted", str(p))
	text, _ = scrape(st.mport_a)
	samples = parse_metrics(text or "")[0]
	r.ok(value(samples, "stpgate_streams_closed_total") is not None and
	    value(samples, "stpgate_streams_closed_total") >= 3 and
	    value(samples, "stpgate_streams_active") == 0,
	    "metrics: 3+ streams closed, none active")

	http_edges(h, st.mport_b)
	control_edges(h, st.ctl_b)
	refusals(h, st, b)
	default_socket(h, st)
	remote_metrics(h, st)
	reload_moves(h, st, a)

	for g in (a, b):
		g.stop()
	for g, path in ((a, st.ctl_a2), (b, st.ctl_b)):
		r.ok(not os.path.exists(path), "%s removed its control socket at exit" % g.name)
	rc, out, err = status(h, b.cfg_path)
	r.ok(rc == 1 and one_line(err) and "gateway not running" in err,
	    "status after the gateway stopped: exit 1, one line", "exit %d: %r" % (rc, err))
	say("not running: " + err.strip())


def http_edges(h, port):
	r = h.r
	code, hdrs, body, _ = http_raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	r.ok(code == 200 and b"/metrics" in body, "GET / points at /metrics", repr(body[:80]))
	code, hdrs, body, _ = http_raw(port, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
	r.ok(code == 404, "GET /nope is 404", str(code))
	r.ok(hdrs.get("connection") == "close" and
	    hdrs.get("content-length") == str(len(body)),
	    "answers carry Connection: close and a right Content-Length", str(hdrs))
	for m in (b"POST", b"PUT", b"DELETE"):
		code, hdrs, body, _ = http_raw(port, m + b" /metrics HTTP/1.1\r\nHost: x\r\n"
		    b"Content-Length: 0\r\n\r\n")
		r.ok(code == 405 and "GET" in hdrs.get("allow", ""),
		    "%s /metrics is 405 with Allow" % m.decode(), "%s %s" % (code, hdrs))
	code, hdrs, body, _ = http_raw(port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	r.ok(code == 200 and body == b"" and int(hdrs.get("content-length", "0")) > 1000,
	    "HEAD /metrics: headers only", "%s %s %d" % (code, hdrs, len(body)))
	code, hdrs, body, _ = http_raw(port, b"GET /metrics?x=1 HTTP/1.0\n\n")
	r.ok(code == 200 and b"stpgate_sessions" in body,
	    "an HTTP/1.0 request with bare LFs and a query is served", str(code))
	# A client that half-closes right after its request still gets all of it.
	s = socket.create_connection((HOST, port), timeout=10)
	s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
	s.shutdown(socket.SHUT_WR)
	raw = read_to_eof(s, stop_on=())
	s.close()
	head, _, body = raw.partition(b"\r\n\r\n")
	m = re.search(rb"Content-Length: (\d+)", head)
	r.ok(head.startswith(b"HTTP/1.1 200") and m and int(m.group(1)) == len(body),
	    "a client that half-closes after its request gets the whole answer",
	    "%r, %d body bytes" % (head[:60], len(body)))
	code, _, _, _ = http_raw(port, b"GET /metrics HTTP/2.0\r\n\r\n")
	r.ok(code == 400, "an unknown HTTP version is 400", str(code))
	code, _, _, _ = http_raw(port, b"garbage\r\n\r\n")
	r.ok(code == 400, "a malformed request line is 400", str(code))
	code, _, _, _ = http_raw(port, b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 9000 +
	    b"\r\n\r\n")
	r.ok(code == 431, "a request head over 8 KiB is 431", str(code))

	# A client that never finishes its request is dropped after ~5 s.
	s = socket.create_connection((HOST, port), timeout=20)
	s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
	t0 = time.monotonic()
	try:
		d = s.recv(100)
	except (ConnectionResetError, socket.timeout):
		d = None
	dt = time.monotonic() - t0
	s.close()
	r.ok(d == b"" and 3.5 <= dt <= 12, "an unfinished request is dropped after ~5 s",
	    "%r after %.1f s" % (d, dt))

	# 32 scrapes at once at most.  Open 40 idle connections at once: the
	# gateway must close the ones over the cap unanswered (they read EOF)
	# and hold at most 32.  Counting closes rather than timing one extra
	# connection keeps the check true however the accepts interleave.
	idle = [socket.create_connection((HOST, port), timeout=10) for _ in range(40)]
	closed = set()
	deadline = time.monotonic() + 4  # the held ones time out only after 5 s
	while len(closed) < 8 and time.monotonic() < deadline:
		ready, _, _ = select.select([c for c in idle if c not in closed], [], [], 0.2)
		for c in ready:
			try:
				if c.recv(1) == b"":
					closed.add(c)
			except (ConnectionResetError, BrokenPipeError):
				closed.add(c)
	r.ok(len(closed) >= 8 and len(idle) - len(closed) <= 32,
	    "over 32 concurrent scrapes, the extra connections are closed unanswered",
	    "%d of 40 closed" % len(closed))
	for s in idle:
		s.close()

	def served():
		code, _, _, _ = http_raw(port, b"GET /metrics HTTP/1.1\r\n\r\n")
		return code == 200
	r.ok(wait_for(served, 5, 0.2), "scrapes work again once the others are gone")


def control_raw(path, data, timeout=10):
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.settimeout(timeout)
	s.connect(path)
	try:
		if data:
			s.sendall(data)
		t0 = time.monotonic()
		out = read_to_eof(s, stop_on=(ConnectionResetError,))
		return out, time.monotonic() - t0
	finally:
		s.close()


def control_edges(h, path):
	r = h.r
	out, _ = control_raw(path, b"status json\n")
	r.ok(out.startswith(b"{") and json.loads(out)["peers"][0]["peer"] == "alice",
	    "control: 'status json' answers JSON", repr(out[:60]))
	out, _ = control_raw(path, b"status\r\n")
	r.ok(out.startswith(b"PEER "), "control: 'status' (CRLF) answers the table", repr(out[:60]))
	out, _ = control_raw(path, b"shutdown\n")
	r.ok(out.startswith(b"error: unknown request"), "control: an unknown request is refused",
	    repr(out[:60]))
	out, _ = control_raw(path, b"status json alice\n")
	r.ok(out.startswith(b"{") and [p["peer"] for p in json.loads(out)["peers"]] == ["alice"],
	    "control: 'status json alice' answers alice's row only", repr(out[:60]))
	out, _ = control_raw(path, b"status carol\n")
	r.ok(out == b"error: no peer named carol in the running config\n",
	    "control: 'status carol' (no such peer) is an error", repr(out[:60]))
	out, _ = control_raw(path, b"x" * 200)
	r.ok(out.startswith(b"error: request line too long"),
	    "control: a line over 128 bytes is refused", repr(out[:60]))
	out, dt = control_raw(path, b"")
	r.ok(out == b"" and 1 <= dt <= 8, "control: a silent client is dropped after ~2 s",
	    "%r after %.1f s" % (out, dt))


def refusals(h, st, b):
	r = h.r
	# control: off: status is a usage/config error.
	g = h.gateway("nocontrol", st.bob_text(control=False))
	rc, out, err = status(h, g.cfg_path)
	r.ok(rc == 2 and one_line(err) and "control: off" in err,
	    "status with control: off: exit 2, says so",
	    "exit %d: %r" % (rc, err))

	def fails_to_start(name, text, what, pattern):
		g = h.gateway(name, text)
		g.start()
		try:
			rc = g.proc.wait(timeout=30)
		except subprocess.TimeoutExpired:
			rc = None
			g.kill()
		r.ok(rc == 1, "%s: the gateway exits 1" % what, "exit %s" % rc)
		r.ok(re.search(pattern, g.log()) is not None, "%s: it says why" % what,
		    g.log()[-300:])

	# Another gateway's live socket.
	fails_to_start("second", st.bob_text(listen=h.port(), mport=h.port()),
	    "a control socket another gateway holds",
	    r"control socket .*bob\.sock: a running process listens on it")
	r.ok(b.running() and os.path.exists(st.ctl_b), "bob kept running with its socket")
	# Not a socket.
	plain = h.path("plain.sock")
	with open(plain, "w") as f:
		f.write("keep me\n")
	fails_to_start("plain", st.bob_text(listen=h.port(), mport=h.port(), ctl=plain),
	    "a control path that is a regular file", r"exists and is not a socket")
	with open(plain) as f:
		r.ok(f.read() == "keep me\n", "the regular file is left alone")
	# The metrics port taken.
	fails_to_start("portbusy", st.bob_text(listen=h.port(), mport=st.echo.port,
	    ctl=h.path("busy.sock")), "a metrics address in use",
	    r"cannot serve metrics on 127\.0\.0\.1:%d" % st.echo.port)
	r.ok(not os.path.exists(h.path("busy.sock")),
	    "a gateway that failed to start removed its control socket")
	# A stale socket: status says not running; a gateway removes it and starts.
	stale = h.path("stale.sock")
	dead_socket(stale)
	g = h.gateway("stale", st.bob_text(listen=h.port(), mport=h.port(), ctl=stale))
	rc, out, err = status(h, g.cfg_path)
	r.ok(rc == 1 and one_line(err) and "gateway not running" in err,
	    "status on a stale socket file: exit 1, not running", "exit %d: %r" % (rc, err))
	g.start()
	r.ok(g.wait_log(r"removed a stale socket", 15) is not None and
	    g.wait_log(r"control socket on .*stale\.sock", 5) is not None,
	    "a gateway replaces a stale socket file")
	rc, out, err = status(h, g.cfg_path, "--json")
	r.ok(rc == 0 and '"peer":"alice"' in out, "status works on the replaced socket",
	    "exit %d: %s" % (rc, err))
	g.stop()


def default_socket(h, st):
	"""Without control: the socket is named after the config, in
	$RUNTIME_DIRECTORY (gwlib sets it to the test's directory); status and
	reload find it from the config alone, and reload's exit status says
	whether the reload worked."""
	r = h.r
	g = h.gateway("dflt", st.bob_text(listen=h.port(), mport=h.port(),
	    control=None))
	env = dict(os.environ, RUNTIME_DIRECTORY=os.path.dirname(
	    os.path.abspath(g.cfg_path)))
	sock = os.path.join(env["RUNTIME_DIRECTORY"], "dflt.sock")

	def cli(*args):
		p = subprocess.run([h.stpgate] + list(args) + ["-c", g.cfg_path],
		    capture_output=True, text=True, env=env, timeout=30)
		return p.returncode, p.stdout, p.stderr

	g.start()
	r.ok(g.wait_log(r"control socket on .*dflt\.sock", 15) is not None and
	    stat.S_ISSOCK(os.stat(sock).st_mode),
	    "without control: the socket is dflt.sock in $RUNTIME_DIRECTORY")
	rc, out, err = cli("status", "--json")
	r.ok(rc == 0 and '"peer":"alice"' in out,
	    "status finds the default socket from the config", "exit %d: %s" % (rc, err))
	rc, out, err = cli("status", "alice")
	r.ok(rc == 0 and len(out.splitlines()) == 2 and out.splitlines()[1].startswith("alice "),
	    "status PEER prints the header and that peer's row", "exit %d: %r" % (rc, out))
	rc, out, err = cli("status", "--json", "carol")
	r.ok(rc == 1 and one_line(err) and "no peer named carol" in err,
	    "status of a peer the running config lacks: exit 1, says so",
	    "exit %d: %r" % (rc, err))
	rc, out, err = cli("reload")
	r.ok(rc == 0 and out.startswith("ok: reloaded ") and not err,
	    "stpgate reload: exit 0, prints ok: reloaded ...",
	    "exit %d: %r %r" % (rc, out, err))
	good = open(g.cfg_path).read()
	g.write_config(good + "no_such_key: 1\n")
	rc, out, err = cli("reload")
	r.ok(rc == 1 and one_line(err) and "reload failed" in err and
	    "dflt.yaml:" in err and "no_such_key" in err,
	    "stpgate reload of a broken file: exit 1, names file:line and the key",
	    "exit %d: %r" % (rc, err))
	r.ok(g.running(), "the gateway runs on after the failed reload")
	g.write_config(good)
	rc, out, err = cli("reload")
	r.ok(rc == 0, "reload of the repaired file: exit 0", "exit %d: %r" % (rc, err))
	g.stop()
	r.ok(not os.path.exists(sock), "the default socket is removed at exit")
	rc, out, err = cli("reload")
	r.ok(rc == 1 and one_line(err) and "gateway not running" in err,
	    "reload with the gateway gone: exit 1, not running", "exit %d: %r" % (rc, err))


def remote_metrics(h, st):
	"""metrics: {listen: 0.0.0.0:P, allow_remote: true} binds every
	interface (scraped here over loopback, the only address we may use)."""
	r = h.r
	p = h.port()
	t = st.bob_text(listen=h.port(), mport=p, control=None)
	scalar = 'metrics: "%s:%d"\n' % (HOST, p)
	r.ok(scalar in t, "the test's config has the scalar metrics line to replace")
	g = h.gateway("remote", t.replace(scalar,
	    'metrics: {listen: "0.0.0.0:%d", allow_remote: true}\n' % p))
	g.start()
	r.ok(g.wait_log(r"metrics on http://0\.0\.0\.0:%d/metrics" % p, 15) is not None,
	    "metrics.allow_remote: the endpoint listens on 0.0.0.0")
	text, why = scrape(p)
	r.ok(text is not None and "stpgate_sessions" in text,
	    "metrics.allow_remote: it serves the metrics", why)
	g.stop()


def reload_moves(h, st, a):
	r = h.r
	new_port = h.port()
	st.ctl_a2 = h.path("alice2.sock")
	mark = a.mark()
	a.write_config(st.alice_text(mport=new_port, ctl=st.ctl_a2))
	a.hup()
	r.ok(a.wait_log(r"metrics on http://127\.0\.0\.1:%d/metrics" % new_port, 15, mark)
	    is not None and a.wait_log(r"control socket on .*alice2\.sock", 5, mark) is not None,
	    "reload: the new metrics address and control path are opened")
	text, why = scrape(new_port)
	r.ok(text is not None and "stpgate_sessions" in text, "reload: the new port serves", why)
	try:
		socket.create_connection((HOST, st.mport_a), timeout=3).close()
		closed = False
	except OSError:
		closed = True
	r.ok(closed, "reload: the old metrics port is closed")
	r.ok(not os.path.exists(st.ctl_a) and os.path.exists(st.ctl_a2),
	    "reload: the old control socket is gone, the new one is there")
	rc, out, err = status(h, a.cfg_path, "--json")
	r.ok(rc == 0 and '"state":"up"' in out, "reload: status works on the new socket",
	    "exit %d: %s" % (rc, err))
	r.ok(not a.grep(peer_line("bob", "session down"), mark),
	    "reload: the session stayed up")


def main():
	return test_main(run, "stpgate status and metrics test")


if __name__ == "__main__":
	sys.exit(main())

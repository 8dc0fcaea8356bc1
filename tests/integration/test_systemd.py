#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_systemd.py: the gateway under a service manager, played by this test:
NOTIFY_SOCKET names a datagram socket we bind, JOURNAL_STREAM names the
file the gateway's stderr goes to.  One gateway, bob (a peer listener, a
forward, an echo service, a control socket and a metrics endpoint):

  - READY=1 with MAINPID (bob's pid) and a STATUS, the first message, sent
    once the peer listener, the forward and the control socket accept;
  - SIGHUP with a good file: RELOADING=1 (MONOTONIC_USEC near our own
    CLOCK_MONOTONIC), then READY=1 with STATUS=reloaded FILE: counts;
  - SIGHUP with bad YAML: READY=1 with STATUS=reload failed: FILE:LINE:COL:
    ...; running the old config, and the old listeners still serve;
  - "reload" over the control socket: "ok: reloaded ..." / "error: reload
    failed: ..." one line each, with the same notifications; a forward on a
    port in use is "error: reload partly failed: ..."; a reload that moves
    the control socket still answers on the connection it came on;
  - stpgate_config_reloads_total counts them, ok and fail;
  - SIGTERM: STOPPING=1, exit 0;
  - an abstract NOTIFY_SOCKET (@name), and --log-level kept across reloads;
  - JOURNAL_STREAM naming the log file: every line "<N>level ..." (6 info,
    3 error) with no timestamp; naming another file: lines as usual;
  - the control socket's errors as they are: a bind in /proc fails "No such
    file or directory" (libuv's own bind said "permission denied"), and no
    READY=1 goes out; the default socket's directory is made 0750 when
    missing, left alone when there, and its missing parent is reported.

usage: test_systemd.py --stpgate PATH [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import json
import os
import re
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (test_main, FAST_TIMEOUTS, HOST,  # noqa: E402
    config_text, echo_handler, listening_rx, metric_exact, metrics_text,
    read_to_eof, say)

READY_WAIT = 20     # seconds for READY=1 after start (sanitizer builds are slow)
MSG_WAIT = 10       # seconds for any other notification


class Notify:
	"""The service manager's end: a datagram socket the gateway sends its
	notifications to.  name starting with '@' is an abstract address."""

	def __init__(self, name):
		self.name = name
		self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		self.s.bind("\0" + name[1:] if name.startswith("@") else name)

	def next(self, timeout=MSG_WAIT):
		"""The next message as {VAR: value} (plus "_raw": the text), or
		None when none came within timeout."""
		self.s.settimeout(timeout)
		try:
			data = self.s.recv(65536)
		except socket.timeout:
			return None
		text = data.decode("utf-8", "replace")
		msg = {"_raw": text}
		for line in text.split("\n"):
			k, sep, v = line.partition("=")
			if sep:
				msg[k] = v
		return msg

	def drain(self):
		"""Every message already queued."""
		out = []
		while True:
			m = self.next(0.2)
			if m is None:
				return out
			out.append(m)

	def close(self):
		self.s.close()


def env_with(**kv):
	"""os.environ without the manager's variables of this shell, plus kv."""
	env = dict(os.environ)
	for k in ("NOTIFY_SOCKET", "JOURNAL_STREAM"):
		env.pop(k, None)
	env.update(kv)
	return env


def control(path, line, timeout=10):
	"""One request line to the control socket: the whole answer (text), or
	an "(exception)" string when it could not be had."""
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.settimeout(timeout)
	try:
		s.connect(path)
		s.sendall(line.encode() + b"\n")
		return read_to_eof(s, stop_on=()).decode("utf-8", "replace")
	except OSError as e:
		return "(%r)" % e
	finally:
		s.close()


def accepts(port):
	"""A TCP connection to HOST:port succeeds at once."""
	try:
		socket.create_connection((HOST, port), timeout=3).close()
		return True
	except OSError:
		return False


def exits(g, timeout=30):
	"""g's exit status within timeout, or None (then it is killed)."""
	try:
		return g.proc.wait(timeout=timeout)
	except subprocess.TimeoutExpired:
		g.kill()
		return None


# ---- the test ----

class Setup:
	def __init__(self, h):
		self.h = h
		self.bob_id, _ = h.keygen("bob")
		_, self.alice_key = h.keygen("alice")
		self.echo = h.server(echo_handler, "echo")
		self.listen = h.port()
		self.fport = h.port()
		self.mport = h.port()
		self.ctl = h.path("bob.sock")

	def text(self, ctl=None, services=1, forwards=(), listen=True, metrics=True,
	    control=True):
		"""bob's config: `services` echo services, the forward on fport and
		the ones in forwards (ports)."""
		svc = {"echo": (self.echo.port, ["alice"])}
		for i in range(2, services + 1):
			svc["echo%d" % i] = (self.echo.port, ["alice"])
		fw = [(self.fport, "alice", "echo")] + [(p, "alice", "echo") for p in forwards]
		t = config_text(self.bob_id, self.h.workers,
		    listen=self.listen if listen else None,
		    peers={"alice": {"key": self.alice_key}}, forwards=fw if listen else None,
		    services=svc, timeouts=FAST_TIMEOUTS)
		if control:
			t += "control: %s\n" % (ctl or self.ctl)
		if metrics:
			t += "metrics: \"%s:%d\"\n" % (HOST, self.mport)
		return t


def reload_notified(h, n, what, status_rx):
	"""The next two notifications are RELOADING=1 (with a MONOTONIC_USEC
	near ours) and READY=1 whose STATUS matches status_rx."""
	r = h.r
	m = n.next()
	now = time.monotonic() * 1e6
	ok = m is not None and m.get("RELOADING") == "1" and \
	    re.fullmatch(r"\d+", m.get("MONOTONIC_USEC", "")) is not None and \
	    abs(int(m["MONOTONIC_USEC"]) - now) < 60e6
	r.ok(ok, "%s: RELOADING=1 with MONOTONIC_USEC first" % what,
	    repr(m and m["_raw"]))
	m = n.next()
	r.ok(m is not None and m.get("READY") == "1" and
	    re.fullmatch(status_rx, m.get("STATUS", "")) is not None,
	    "%s: then READY=1, STATUS=%s" % (what, status_rx), repr(m and m["_raw"]))


def readiness(h, st, n, g):
	r = h.r
	g.env = env_with(NOTIFY_SOCKET=n.name)
	g.start()
	m = n.next(READY_WAIT)
	# Straight away, no retry: READY=1 means everything is up.
	up = (accepts(st.listen), accepts(st.fport), os.path.exists(st.ctl))
	r.ok(m is not None and m.get("READY") == "1", "READY=1 is the first message",
	    repr(m and m["_raw"]))
	if m is None:
		return False
	r.ok(m.get("MAINPID") == str(g.pid), "READY=1 carries MAINPID=%d" % g.pid,
	    repr(m["_raw"]))
	r.ok(re.fullmatch(r"running .*bob\.yaml: 1 peers, 1 forwards, 1 services",
	    m.get("STATUS", "")) is not None, "READY=1 carries a STATUS", repr(m["_raw"]))
	r.ok(up == (True, True, True),
	    "at READY=1 the peer listener and the forward accept and the control "
	    "socket is there", "listener, forward, socket: %r" % (up,))
	r.ok(control(st.ctl, "status json").startswith("{"),
	    "at READY=1 the control socket answers")
	return True


def reloads(h, st, n, g):
	r = h.r
	cfg = re.escape(g.cfg_path)
	bad_status = r"reload failed: %s:\d+:\d+: .*; running the old config" % cfg

	# SIGHUP, a good file.
	g.write_config(st.text(services=2))
	g.hup()
	reload_notified(h, n, "SIGHUP, good file",
	    r"reloaded %s: 1 peers, 1 forwards, 2 services" % cfg)

	# SIGHUP, bad YAML: named file:line:col, the old config kept.
	g.write_config(st.text(services=2) + "oops: [unclosed\n")
	g.hup()
	reload_notified(h, n, "SIGHUP, bad YAML", bad_status)
	r.ok(accepts(st.listen) and accepts(st.fport),
	    "after the failed reload the old listeners still accept")

	# Over the control socket, the same bad file.
	out = control(st.ctl, "reload")
	r.ok(re.fullmatch(r"error: %s\n" % bad_status, out) is not None,
	    "control 'reload', bad file: one line 'error: reload failed: FILE:L:C: ...'",
	    repr(out))
	reload_notified(h, n, "control reload, bad file", bad_status)

	# ... and a good one.
	g.write_config(st.text(services=3))
	out = control(st.ctl, "reload")
	r.ok(re.fullmatch(r"ok: reloaded %s: 1 peers, 1 forwards, 3 services\n" % cfg,
	    out) is not None, "control 'reload', good file: 'ok: reloaded FILE: counts'",
	    repr(out))
	reload_notified(h, n, "control reload, good file",
	    r"reloaded %s: 1 peers, 1 forwards, 3 services" % cfg)

	# A forward whose port is taken: the rest applies, the answer says what failed.
	busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	busy.bind((HOST, 0))
	busy.listen(1)
	bport = busy.getsockname()[1]
	try:
		g.write_config(st.text(services=4, forwards=(bport,)))
		mark = g.mark()
		out = control(st.ctl, "reload")
		partly = r"reload partly failed: cannot listen on 127\.0\.0\.1:%d: " \
		    r"address already in use; the rest of %s is applied" % (bport, cfg)
		r.ok(re.fullmatch(r"error: %s\n" % partly, out) is not None,
		    "control 'reload' with a forward on a busy port: 'error: reload partly "
		    "failed: ...'", repr(out))
		reload_notified(h, n, "partly failed reload", partly)
		r.ok(g.wait_log(r"reloaded .*: 1 peers, 2 forwards, 4 services", 5, mark)
		    is not None, "the partly failed reload applied the rest (4 services)")
		r.ok(accepts(st.fport), "the forward that was there still accepts")
	finally:
		busy.close()

	# A reload that moves the control socket answers on the old one's connection.
	ctl2 = h.path("bob2.sock")
	g.write_config(st.text(services=4, ctl=ctl2))
	out = control(st.ctl, "reload")
	r.ok(re.fullmatch(r"ok: reloaded %s: 1 peers, 1 forwards, 4 services\n" % cfg,
	    out) is not None,
	    "control 'reload' that moves the socket answers on the old connection",
	    repr(out))
	reload_notified(h, n, "reload moving the control socket",
	    r"reloaded %s: 1 peers, 1 forwards, 4 services" % cfg)
	r.ok(not os.path.exists(st.ctl) and os.path.exists(ctl2),
	    "the old control socket is gone, the new one there")
	out = control(ctl2, "status json")
	try:
		doc = json.loads(out)
	except ValueError:
		doc = None
	r.ok(doc is not None and doc["peers"][0]["peer"] == "alice",
	    "the new control socket answers status", repr(out[:80]))
	out = control(ctl2, "shutdown")
	r.ok(out.startswith("error: unknown request") and '"reload"' in out,
	    "an unknown request is refused, naming reload", repr(out))
	st.ctl = ctl2

	# Counted: ok = good SIGHUP, good control, the move; fail = the other three.
	text = metrics_text(st.mport)
	ok = metric_exact(text, "stpgate_config_reloads_total", result="ok")
	fail = metric_exact(text, "stpgate_config_reloads_total", result="fail")
	r.ok(ok == 3 and fail == 3,
	    "stpgate_config_reloads_total: 3 ok, 3 fail (bad YAML twice, partly failed once)",
	    "ok %r, fail %r" % (ok, fail))
	r.ok(g.running(), "bob still runs after the reloads")


def stopping(h, n, g):
	r = h.r
	rc = g.stop()
	msgs = n.drain()
	r.ok(rc == 0 and len(msgs) >= 1 and msgs[0].get("STOPPING") == "1",
	    "SIGTERM: STOPPING=1, then exit 0",
	    "exit %r, messages %r" % (rc, [m["_raw"] for m in msgs]))
	r.ok(not any(m.get("READY") == "1" for m in msgs), "no READY=1 after STOPPING=1")


def abstract_and_level(h, st):
	"""An abstract NOTIFY_SOCKET; `--log-level warn` against the config's
	info, before and after a reload."""
	r = h.r
	name = "@stpgate-test-%d-%d" % (os.getpid(), time.monotonic_ns() % 1000000)
	n = Notify(name)
	try:
		g = h.gateway("quiet", st.text(listen=False, metrics=False,
		    ctl=h.path("quiet.sock")))
		g.env = env_with(NOTIFY_SOCKET=name)
		# sh execs stpgate in its own pid, with the option after `run -c FILE`.
		g.wrapper = ["sh", "-c", 'exec "$0" "$@" --log-level warn']
		g.start()
		m = n.next(READY_WAIT)
		r.ok(m is not None and m.get("READY") == "1" and m.get("MAINPID") == str(g.pid),
		    "abstract NOTIFY_SOCKET: READY=1 with MAINPID", repr(m and m["_raw"]))
		g.hup()
		reload_notified(h, n, "abstract socket, SIGHUP", r"reloaded .*quiet\.yaml: .*")
		g.write_config(st.text(listen=False, metrics=False,
		    ctl=h.path("quiet.sock")) + "oops: [\n")
		g.hup()
		reload_notified(h, n, "abstract socket, bad file", r"reload failed: .*")
		r.ok(g.wait_log(r" error reload failed", 5) is not None and
		    not g.grep(r"^\S+ info "),
		    "--log-level warn holds across a reload: no info lines, the error is there",
		    g.log()[-400:])
		g.stop()
	finally:
		n.close()


def journal(h, st):
	r = h.r
	ctl = h.path("jr.sock")
	g = h.gateway("jr", st.text(listen=False, metrics=False, ctl=ctl))
	# The log file gwlib will open (appending) for this start: known ahead.
	log = h.path("jr.%d.log" % (g.starts + 1))
	open(log, "ab").close()
	s = os.stat(log)
	g.env = env_with(JOURNAL_STREAM="%d:%d" % (s.st_dev, s.st_ino))
	g.start()
	r.ok(g.wait_log(r"control socket on", 15) is not None, "jr started")
	g.write_config(st.text(listen=False, metrics=False, ctl=ctl) + "oops: [\n")
	g.hup()
	g.wait_log(r"reload failed", 10)
	g.stop()
	lines = g.log().splitlines()
	bad = [l for l in lines if not re.match(r"<[3467]>(error|warn|info|debug) ", l)]
	r.ok(lines and not bad,
	    "JOURNAL_STREAM names stderr: every line starts <N>level, no timestamp",
	    repr(bad[:3]))
	r.ok(any(l.startswith("<6>info ") for l in lines) and
	    any(l.startswith("<3>error reload failed") for l in lines),
	    "info lines are <6>, the failed reload's error <3>", repr(lines[:3]))
	r.ok(not any(re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", l) for l in lines),
	    "no timestamp of ours under journald")

	# JOURNAL_STREAM naming some other file: an inherited variable, ignored.
	g = h.gateway("jr2", st.text(listen=False, metrics=False, ctl=h.path("jr2.sock")))
	other = h.path("other.log")
	open(other, "ab").close()
	s = os.stat(other)
	g.env = env_with(JOURNAL_STREAM="%d:%d" % (s.st_dev, s.st_ino))
	g.start()
	r.ok(g.wait_log(r"control socket on", 15) is not None, "jr2 started")
	g.stop()
	lines = g.log().splitlines()
	r.ok(lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
	    r"(error|warn|info|debug) ", l) for l in lines),
	    "JOURNAL_STREAM naming another file: lines unchanged", repr(lines[:2]))


def control_paths(h, st, n):
	r = h.r
	# /proc is a directory where nobody may make a socket: bind's ENOENT.
	path = "/proc/stpgate-test-%d.sock" % os.getpid()
	g = h.gateway("procsock", st.text(listen=False, metrics=False, ctl=path))
	g.env = env_with(NOTIFY_SOCKET=n.name)
	g.start()
	rc = exits(g)
	r.ok(rc == 1, "a control socket that cannot be bound: exit 1", "exit %r" % rc)
	r.ok(re.search(r"control socket %s: cannot bind: No such file or directory" %
	    re.escape(path), g.log()) is not None,
	    "the bind error is reported as it is (No such file or directory)",
	    g.log()[-300:])
	msgs = n.drain()
	r.ok(not msgs, "a gateway that failed to start sends no READY=1",
	    repr([m["_raw"] for m in msgs]))

	# The default socket (no control:) in a missing RUNTIME_DIRECTORY: made 0750.
	rt = h.path("rt")
	g = h.gateway("dflt", st.text(listen=False, metrics=False, control=False))
	g.env = env_with(RUNTIME_DIRECTORY=rt, NOTIFY_SOCKET=n.name)
	g.start()
	m = n.next(READY_WAIT)
	sock = os.path.join(rt, "dflt.sock")
	try:
		mode = stat.S_IMODE(os.stat(rt).st_mode)
		is_sock = stat.S_ISSOCK(os.stat(sock).st_mode)
	except OSError as e:
		mode, is_sock = repr(e), False
	r.ok(m is not None and m.get("READY") == "1" and mode == 0o750 and is_sock,
	    "the default socket's missing directory is made, mode 0750",
	    "ready %r, mode %r, socket %r" % (m and m["_raw"], mode, is_sock))
	g.stop()
	n.drain()       # its STOPPING=1

	# ... one that is there keeps its mode.
	rt700 = h.path("rt700")
	os.mkdir(rt700, 0o700)
	os.chmod(rt700, 0o700)
	g = h.gateway("dflt2", st.text(listen=False, metrics=False, control=False))
	g.env = env_with(RUNTIME_DIRECTORY=rt700, NOTIFY_SOCKET=n.name)
	g.start()
	m = n.next(READY_WAIT)
	r.ok(m is not None and m.get("READY") == "1" and
	    stat.S_IMODE(os.stat(rt700).st_mode) == 0o700 and
	    os.path.exists(os.path.join(rt700, "dflt2.sock")),
	    "an existing directory keeps its mode (0700)", repr(m and m["_raw"]))
	g.stop()
	n.drain()

	# ... and only the last component is made.
	deep = h.path("no/such")
	g = h.gateway("deep", st.text(listen=False, metrics=False, control=False))
	g.env = env_with(RUNTIME_DIRECTORY=deep)
	g.start()
	rc = exits(g)
	r.ok(rc == 1 and re.search(r"control socket %s/deep\.sock: cannot make its "
	    r"directory %s: No such file or directory" % (re.escape(deep), re.escape(deep)),
	    g.log()) is not None, "a missing parent of the default directory: exit 1, says why",
	    "exit %r: %s" % (rc, g.log()[-300:]))


def run(h):
	st = Setup(h)
	n = Notify(h.path("notify.sock"))
	try:
		g = h.gateway("bob", st.text())
		if readiness(h, st, n, g):
			r_ok = g.wait_log(listening_rx(st.fport), 5) is not None
			h.r.ok(r_ok, "bob logs its forward")
			reloads(h, st, n, g)
			stopping(h, n, g)
		abstract_and_level(h, st)
		journal(h, st)
		control_paths(h, st, n)
	finally:
		n.close()


def main():
	return test_main(run, "stpgate under systemd and journald")


if __name__ == "__main__":
	sys.exit(main())

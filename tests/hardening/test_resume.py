#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_resume.py: stream resumption (STP v1.1 feature bit 4,
timeouts.resume_window).  alice (the dialer) in one network namespace, bob
in another, joined by hlib.py's TUN link emulator (it has the rate limit
the download needs); keepalive 500ms, dead_after 2s, resume_window 30s:

  cut      a 5 s cut of the link (longer than dead_after: the TCP
           connection between the gateways dies) while two apps use the
           session: an ssh session through alice's forward to an sshd in
           bob's namespace running a remote `cat` (lines sent before,
           during and after the cut all come back exactly, ssh never
           exits), and a 64 MiB download from a service in bob's
           namespace, rate-limited by the emulator so that the cut falls
           in the middle of it (every byte right, then EOF: no reset).
           Both gateways log `session resumed:`.
  address  alice's namespace has a second address on the link; the
           session comes from the first (the route's source), then the
           namespace moves to the second (the route gets the new source,
           the first address is deleted) while the same ssh session and a
           new download run: the old TCP connection cannot be used, alice
           redials from the new address and the session resumes (both logs
           `session resumed:`, bob's the new session accepted from the new
           address), data intact.
  window   both gateways restarted with resume_window 2s, and the link cut
           for 8 s (past dead_after + resume_window): both log `session not
           resumed within 2 s:`, the apps' connections end (a download by
           reset or EOF, ssh exits) during the cut, not before the window
           has passed, and with no hang; after the link is back a new
           session comes up.

The log lines checked are the design's (proto/STP.md, "Resumption"):
`session resumed: N streams kept, B bytes sent again` and `session not
resumed within S s: N streams closed`.  A gateway that does not know
timeouts.resume_window fails at `stpgate check`.  --control zero
(resume_window 0: resumption off) or --control omit (no resume_window
key, for a gateway that predates it) run the whole test against a gateway
that does not resume: a negative control, whose resumption checks must
fail.

ssh and sshd (openssh-client, openssh-server) are needed; sshd runs as
root with a config, keys and known_hosts of the test's own (gwlib.Sshd).
The namespaces are deleted at exit, and every process the test started is
ended by pid.  Without the privilege to create namespaces the test says why
and exits 77 (skipped).

usage: test_resume.py --stpgate PATH [--workers N] [--seed S]
                      [--size-mib N] [--rate-mbit R] [--control zero|omit]
                      [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0, 1 or 77.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import hlib  # noqa: E402
from gwlib import (workers_arg, HOST, MiB, Harness, Pattern, Sshd,  # noqa: E402
    config_text, peer_line, say, spawn, wait_for, wait_sessions_up)

TIMEOUTS = {
	"handshake": "5s",
	"connect": "2s",
	"keepalive": "500ms",
	"dead_after": "2s",
	"drain": "1s",
	"reconnect_min": "200ms",
	"reconnect_max": "1s",
}
DEAD_AFTER = 2.0
WINDOW = "30s"
SHORT_WINDOW = 2              # seconds, the last case's resume_window
CUT_S = 5                     # > dead_after, < resume_window
PAST_S = 8                    # > dead_after + SHORT_WINDOW
ADDR_A2 = "10.199.0.3"        # alice's namespace's second address
UP_WAIT = 20
RESUME_WAIT = 20              # seconds from the link's return to `session resumed:`
RESUMED = r"session resumed: (\d+) streams? kept, (\d+) bytes? sent again"
NOT_RESUMED = r"session not resumed within %d s: \d+ streams? closed" % SHORT_WINDOW



class Shell:
	"""An interactive remote command through a forward: `ssh ... cat` in
	namespace ns, no tty; each line written to its stdin should come back
	on its stdout, exactly and in order."""

	def __init__(self, h, sshd, ns, port, name):
		self.log_path = h.path(name + ".log")
		self.name = name
		self.p = spawn(["ip", "netns", "exec", ns] + sshd.client(port, "cat"),
		    self.log_path, pipes=True)
		say("%s: ssh started pid %d through port %d" % (name, self.p.pid, port))
		self.sent = []
		self.got = []
		self.err = None
		self.n = 0
		self.lock = threading.Lock()
		self.t = threading.Thread(target=self._read, daemon=True)
		self.t.start()

	def _read(self):
		for line in iter(self.p.stdout.readline, b""):
			with self.lock:
				self.got.append(line)

	def alive(self):
		return self.p.poll() is None

	def send(self, n=1):
		"""n more numbered lines (random, so that none repeats)."""
		for _ in range(n):
			self.n += 1
			line = b"%s line %04d %s\n" % (self.name.encode(), self.n,
			    os.urandom(24).hex().encode())
			try:
				self.p.stdin.write(line)
				self.p.stdin.flush()
			except OSError as e:
				self.err = self.err or "writing line %d: %r" % (self.n, e)
				return False
			self.sent.append(line)
		return True

	def echoed(self, timeout):
		"""Wait (at most timeout s) for every line sent to come back, or
		ssh to end.  None if all came back exactly, else what is wrong."""
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			with self.lock:
				if len(self.got) >= len(self.sent):
					break
			if not self.alive():
				self.t.join(1)     # what it wrote before it ended
				break
			time.sleep(0.02)
		with self.lock:
			got = list(self.got)
		for i, (a, b) in enumerate(zip(self.sent, got)):
			if a != b:
				return "line %d came back as %r, not %r" % (i + 1, b[:60], a[:60])
		if len(got) > len(self.sent):
			return "%d lines came back that were never sent" % (len(got) - len(self.sent))
		if len(got) < len(self.sent):
			return "%d of %d lines came back; %s" % (len(got), len(self.sent),
			    self.describe())
		return None

	def describe(self):
		if self.alive():
			st = "ssh still running"
		else:
			st = "ssh exited with status %s" % self.p.returncode
		try:
			with open(self.log_path, "rb") as f:
				tail = f.read().decode("utf-8", "replace").strip().splitlines()[-2:]
		except OSError:
			tail = []
		return st + (": " + " | ".join(tail) if tail else "") + (
		    " (%s)" % self.err if self.err else "")

	def close(self, timeout=10):
		"""End its input (the remote cat ends, and ssh with it): the exit
		status, None if ssh did not end within timeout."""
		try:
			self.p.stdin.close()
		except OSError:
			pass
		try:
			return self.p.wait(timeout=timeout)
		except subprocess.TimeoutExpired:
			return None


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--workers", type=workers_arg, default=2)
	ap.add_argument("--seed", type=int, default=None)
	ap.add_argument("--size-mib", type=int, default=64)
	ap.add_argument("--rate-mbit", type=float, default=100.0)
	ap.add_argument("--control", choices=("zero", "omit"), default=None,
	    help="a negative control: resume_window 0, or no resume_window key "
	    "at all; the resumption checks must fail")
	ap.add_argument("--keep", action="store_true")
	args = ap.parse_args()
	seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
	say("seed %d (rerun with --seed %d)" % (seed, seed))

	hlib.need_root("creating network namespaces and running sshd need root")
	missing = [t for t in ("ssh", "ssh-keygen", "sshd", "unshare", "ss")
	    if shutil.which(t) is None and not (t == "sshd" and
	    os.access("/usr/sbin/sshd", os.X_OK))]
	if missing:
		# run.sh installs them; say so rather than pass.
		print("test_resume.py: %s not installed (apt-get install "
		    "openssh-client openssh-server util-linux iproute2)" % ", ".join(missing))
		print("0 passed, 1 failed")
		sys.exit(1)
	hlib.netpair_run("tun", seed, lambda net: run(args, net), prefix="stpr-")


def run(args, net):
	h = Harness(args.stpgate, workers=args.workers, keep=args.keep, timeout=170)

	def watchdog():
		time.sleep(160)
		say("resume: no end after 160 s; deleting the namespaces")
		net.destroy()
	threading.Thread(target=watchdog, daemon=True).start()

	st = {"sshd": None, "shells": []}
	try:
		cases(h, net, args, st)
	except Exception as e:  # a bug or an unexpected error is one more failure
		traceback.print_exc()
		h.r.fail("the test raised %r" % e)
	finally:
		for sh in st["shells"]:
			if sh.alive():
				sh.p.kill()
				sh.p.wait(timeout=10)
		if st["sshd"] is not None:
			st["sshd"].stop()
	return h.finish()


def cases(h, net, args, st):
	r = h.r
	size = args.size_mib * MiB
	pat = Pattern()
	sha = pat.sha256(size)
	ns_a = ["ip", "netns", "exec", net.a]
	ns_b = ["ip", "netns", "exec", net.b]

	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	bport, fport_ssh, fport_bulk, ssh_port = h.port(), h.port(), h.port(), h.port()

	# ---- the services in bob's namespace: sshd and a sized source ----
	sshd_dir = h.path("ssh")
	os.mkdir(sshd_dir, 0o700)
	sshd = st["sshd"] = Sshd(sshd_dir, ssh_port, wrapper=ns_b)
	if not r.ok(sshd.start(), "sshd started in %s on %s:%d" % (net.b, HOST, ssh_port),
	    sshd.log().strip()[-300:]):
		return
	p = subprocess.run(ns_b + sshd.client(ssh_port, "echo ok"),
	    capture_output=True, text=True, timeout=30)
	if not r.ok(p.returncode == 0 and p.stdout.strip() == "ok", "ssh logs in to "
	    "that sshd directly (in %s, no tunnel): its keys and config work" % net.b,
	    "status %d: %s; sshd: %s" % (p.returncode, p.stderr.strip()[-200:],
	    sshd.log().strip()[-300:])):
		return
	with hlib.in_netns(net.b):
		svc = h.server(hlib.sized_source(pat), "bulk")

	# ---- the gateways ----
	def configs(window):
		t = dict(TIMEOUTS)
		if args.control == "zero":
			t["resume_window"] = "0"
		elif args.control is None:
			t["resume_window"] = window
		b = config_text(bob_id, h.workers, listen=bport,
		    peers={"alice": {"key": alice_key}},
		    services={"ssh": (ssh_port, ["alice"]), "bulk": (svc.port, ["alice"])},
		    timeouts=t)
		b = b.replace('listen: "%s:%d"' % (HOST, bport),
		    'listen: "%s:%d"' % (net.ADDR_B, bport))
		a = config_text(alice_id, h.workers,
		    peers={"bob": {"key": bob_key, "dial": bport}},
		    forwards=[(fport_ssh, "bob", "ssh"), (fport_bulk, "bob", "bulk")],
		    timeouts=t)
		a = a.replace('dial: "%s:%d"' % (HOST, bport),
		    'dial: "%s:%d"' % (net.ADDR_B, bport))
		return a, b

	def write_configs(window):
		"""Write and `stpgate check` both configs; False if either fails."""
		ta, tb = configs(window)
		ga.write_config(ta)
		gb.write_config(tb)
		ok = True
		what = {"zero": "resume_window 0 (--control zero)",
		    "omit": "no resume_window (--control omit)"}.get(args.control,
		    "resume_window %s" % window)
		errs = ""
		for g in (ga, gb):
			rc, out, err = h.check(g.cfg_path)
			errs += err
			ok = r.ok(rc == 0, "stpgate check accepts %s's config (%s)" % (
			    g.name, what), "exit %d: %s" % (rc, (err or out).strip())) and ok
		if "resume_window: unknown key" in errs:
			r.fail("this stpgate does not know timeouts.resume_window: it has no "
			    "stream resumption (--control omit runs the rest of the test "
			    "against it, as a negative control)")
		return ok

	ga = h.gateway("alice", "")
	gb = h.gateway("bob", "")
	ga.wrapper = ns_a
	gb.wrapper = ns_b
	if not write_configs(WINDOW):
		return

	# alice's namespace gets its second address now: the route to bob
	# keeps the first as its source, so the session comes from that one.
	net.add_address(net.a, ADDR_A2)
	net.set(rate_mbit=args.rate_mbit)

	def start_both():
		gb.start()
		ga.start()
		la, lb = wait_sessions_up(ga, gb, timeout=UP_WAIT)
		return r.ok(la is not None and lb is not None, "session up across the "
		    "namespaces (alice in %s -> bob %s:%d)" % (net.a, net.ADDR_B, bport))

	if not start_both():
		return

	def held_detail(g, since):
		downs = g.grep(r"session (down|not resumed|replaced)", since)
		return "; ".join(l.split(" ", 2)[-1] for l in downs[-3:]) or \
		    "no session down / not resumed line either"

	def check_resumed(what, marks, min_streams, timeout):
		"""Both gateways log `session resumed:` (after marks) in the
		design's format, with at least min_streams streams kept."""
		deadline = time.monotonic() + timeout
		for g, peer, mark in ((ga, "bob", marks[0]), (gb, "alice", marks[1])):
			line = g.wait_log(resume_end(peer), max(0.5, deadline -
			    time.monotonic()), mark)
			m = re.search(RESUMED, line or "")
			detail = ""
			if line is None or "session resumed:" not in line:
				detail = "no `session resumed:` line; " + held_detail(g, mark)
			elif not m:
				detail = "not in the design's format: " + line
			elif int(m.group(1)) < min_streams:
				detail = "%s streams kept, %d were open: %s" % (m.group(1),
				    min_streams, line)
			else:
				say("%s: %s" % (g.name, line.split(" ", 2)[-1]))
			r.ok(not detail, "%s: %s logs `session resumed: N streams kept, B "
			    "bytes sent again` (N >= %d)" % (what, g.name, min_streams), detail)

	def new_shell(name):
		sh = Shell(h, sshd, net.a, fport_ssh, name)
		st["shells"].append(sh)
		return sh

	def transfer(what, n):
		t = hlib.Transfer(net.a, fport_bulk, n, pat, 90)
		r.ok(t.wait_for(4 * MiB, 20) and t.got < n, "%s: download under way "
		    "(4 MiB of %d MiB in; the rest takes over %.0f s at %g Mbit/s)" % (
		    what, n // MiB, (n - 4 * MiB) * 8 / args.rate_mbit / 1e6,
		    args.rate_mbit), t.describe())
		return t

	def ended_at(t, t_ref):
		"""Seconds after t_ref at which transfer t ended (None if it runs)."""
		return None if t.how is None else t.t0 + t.dt - t_ref

	# ==== case 1 and 2: a 5 s cut under an ssh session and a download ====
	what = "cut"
	shell = new_shell("ssh1")
	shell.send(10)
	r.ok(shell.echoed(30) is None, "%s: ssh through alice's forward: 10 lines come "
	    "back from the remote cat before the cut" % what, shell.echoed(0) or "")
	t = transfer(what, size)
	marks = (ga.mark(), gb.mark())
	net.cut()
	t_cut = time.monotonic()
	for k in range(CUT_S):
		time.sleep(max(0.0, t_cut + 0.5 + k - time.monotonic()))
		shell.send()         # waits in the kernel, or in alice, for the session
	time.sleep(max(0.0, t_cut + CUT_S - time.monotonic()))
	during = "download %s%s; %s" % (t.describe(), "" if t.how is None else
	    ", ended %.1f s into the cut" % ended_at(t, t_cut), shell.describe())
	r.ok(t.how is None and shell.alive(), "%s: through %d s of cut (dead_after "
	    "%g s) both apps' connections stay open" % (what, CUT_S, DEAD_AFTER), during)
	net.restore()
	t_back = time.monotonic()
	shell.send(10)
	echo_err = shell.echoed(30)
	if echo_err is None:
		# What an ssh user sees: the pause after the link is back.
		say("%s: ssh echoed every line %.1f s after the link came back" % (
		    what, time.monotonic() - t_back))
	r.ok(echo_err is None, "%s: ssh: every line (10 before, %d during, "
	    "10 after the cut) comes back exactly, in order" % (what, CUT_S),
	    shell.echoed(0) or "")
	r.ok(shell.alive(), "%s: ssh is still running after the cut" % what,
	    shell.describe())
	t.wait()
	r.ok(t.intact(sha), "%s: download: all %d MiB arrive intact (SHA-256), then "
	    "EOF: no reset" % (what, size // MiB), t.describe())
	check_resumed(what, marks, 2, 10)
	say("link counters: %s" % net.stats())

	# ==== case 3: the dialer's source address changes ====
	what = "address"
	conns = wait_for(lambda: hlib.tcp_established(net.a, bport), 10)
	r.ok(conns and all(c[0].startswith(net.ADDR_A + ":") for c in conns),
	    "%s: alice's session to bob comes from her first address %s (%s has %s "
	    "too)" % (what, net.ADDR_A, net.a, ADDR_A2), "connections: %s" % conns)
	if not shell.alive():
		say("%s: the last ssh session ended; a new one for this case" % what)
		shell = new_shell("ssh2")
	shell.send(3)
	r.ok(shell.echoed(30) is None, "%s: ssh: 3 lines come back before the move" % what,
	    shell.echoed(0) or "")
	t = transfer(what, size // 2)
	marks = (ga.mark(), gb.mark())
	net.move_source(net.a, net.ADDR_A, ADDR_A2)
	t_move = time.monotonic()
	for k in range(5):
		time.sleep(max(0.0, t_move + 0.5 * k - time.monotonic()))
		shell.send()
	if wait_log_both(ga, gb, marks, RESUME_WAIT):
		say("%s: %.1f s from the move to the last `session resumed:`" % (what,
		    time.monotonic() - t_move))
	shell.send(5)
	r.ok(shell.echoed(30) is None, "%s: ssh: every line (3 before, 5 during, 5 after "
	    "the move) comes back exactly" % what, shell.echoed(0) or "")
	r.ok(shell.alive(), "%s: ssh is still running" % what, shell.describe())
	t.wait()
	r.ok(t.intact(pat.sha256(size // 2)), "%s: download: all %d MiB arrive intact "
	    "(SHA-256), then EOF" % (what, size // 2 // MiB), t.describe())
	check_resumed(what, marks, 2, 2)
	line = gb.wait_log(peer_line("alice", "accepted from %s:" % ADDR_A2), 2, marks[1])
	r.ok(line is not None, "%s: bob's log shows the new session accepted from "
	    "alice's new address %s" % (what, ADDR_A2), "; ".join(
	    l.split(" ", 2)[-1] for l in gb.grep(r"accepted from", marks[1])) or
	    "no `accepted from` line since the move")
	conns = wait_for(lambda: [c for c in hlib.tcp_established(net.a, bport)
	    if c[0].startswith(ADDR_A2 + ":")], 5) and hlib.tcp_established(net.a, bport)
	r.ok(conns and all(c[0].startswith(ADDR_A2 + ":") for c in conns),
	    "%s: alice's connection to bob now comes from %s, none from %s" % (
	    what, ADDR_A2, net.ADDR_A), "connections: %s" % conns)

	# ==== case 4: past the window ====
	what = "window"
	if shell.alive():
		rc = shell.close()
		r.ok(rc == 0, "ssh ends with status 0 when its input ends", shell.describe())
	say("restarting both gateways with resume_window %ds" % SHORT_WINDOW)
	ga.stop()
	gb.stop()
	if not write_configs("%ds" % SHORT_WINDOW) or not start_both():
		return
	shell = new_shell("ssh3")
	shell.send(3)
	r.ok(shell.echoed(30) is None, "%s: ssh: 3 lines come back before the cut" % what,
	    shell.echoed(0) or "")
	t = transfer(what, size)
	marks = (ga.mark(), gb.mark())
	net.cut()
	t_cut = time.monotonic()
	wait_for(lambda: t.how is not None and not shell.alive(),
	    max(0.0, t_cut + PAST_S - 0.3 - time.monotonic()))
	end = ended_at(t, t_cut)
	r.ok(t.how in ("eof", "reset") and t.got < t.n, "%s: the download's "
	    "connection ends (reset or EOF) during the %d s cut" % (what, PAST_S),
	    t.describe())
	r.ok(end is not None and end >= DEAD_AFTER + SHORT_WINDOW - 1.0,
	    "%s: not before dead_after + resume_window (%g + %d s: the streams are "
	    "held for the window)" % (what, DEAD_AFTER, SHORT_WINDOW),
	    "it ended %s" % ("%.1f s into the cut" % end if end is not None else
	    "not at all"))
	if end is not None:
		say("%s: the download ended by %s %.1f s into the cut" % (what, t.how, end))
	r.ok(t.check.bad is None, "%s: every byte the app got before the end was "
	    "right (%d bytes)" % (what, t.got), "first bad byte %s" % t.check.bad)
	r.ok(not shell.alive(), "%s: ssh exits during the cut (its connection ended)" %
	    what, shell.describe())
	deadline = t_cut + PAST_S + 1
	for g, peer, mark in ((ga, "bob", marks[0]), (gb, "alice", marks[1])):
		line = g.wait_log(r"peer=%s\b.*%s" % (peer, NOT_RESUMED),
		    max(0.5, deadline - time.monotonic()), mark)
		r.ok(line is not None, "%s: %s logs `session not resumed within %d s: N "
		    "streams closed`" % (what, g.name, SHORT_WINDOW), held_detail(g, mark))
		if line:
			say("%s: %s" % (g.name, line.split(" ", 2)[-1]))
	time.sleep(max(0.0, t_cut + PAST_S - time.monotonic()))
	marks = (ga.mark(), gb.mark())
	net.restore()
	la, lb = wait_sessions_up(ga, gb, timeout=UP_WAIT, since_a=marks[0],
	    since_b=marks[1])
	r.ok(la is not None and lb is not None, "%s: after the link is back a new "
	    "session comes up" % what)
	r.ok(not ga.grep("session resumed:", marks[0]) and
	    not gb.grep("session resumed:", marks[1]),
	    "%s: and it does not resume the old one" % what)
	r.ok(ga.running() and gb.running(), "both gateways still running")


def resume_end(peer):
	"""A regex for the line that ends a held session of peer's: resumed,
	or not (refused, or the window passed)."""
	return r"peer=%s\b.*session (not )?resumed" % re.escape(peer)


def wait_log_both(ga, gb, marks, timeout):
	"""Wait (at most timeout s) for both gateways to end their held
	session, resumed or not; True if both resumed."""
	deadline = time.monotonic() + timeout
	la = ga.wait_log(resume_end("bob"), timeout, marks[0])
	lb = gb.wait_log(resume_end("alice"), max(0.5, deadline - time.monotonic()),
	    marks[1])
	return all(l is not None and "session resumed:" in l for l in (la, lb))


if __name__ == "__main__":
	main()

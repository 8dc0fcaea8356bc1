#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_tamper.py: a proxy between two gateways on 127.0.0.1 that, after N
bytes of one direction (N random, logged, reproducible with --seed),
tampers with it, while an app and a service push data both ways through
the tunnel:

  bitflip   flips one random bit of byte N
  replay    sends again an earlier RECORD frame (in full) before the first
            frame that starts at or after N
  drop      leaves out the first RECORD frame that starts at or after N
  truncate  forwards the frame holding byte N only up to it, then closes
            both connections (the stream ends mid-frame)

The proxy reads frames as proto/STP.md "Framing" defines them (type byte,
3-byte length, body), so replay and drop move whole frames.  It tampers
with the first connection alice -> bob, then with the second (after
alice redialed) bob -> alice, then lets everything through.  For each
tampered connection:

  - the session closes (both gateways log "session down" with a reason;
    the receiving gateway names a record that failed to open, or a bad
    frame, or the connection's end);
  - every byte each app got is a true prefix of what the other sent (no
    corrupted, replayed or reordered byte delivered), checked against the
    source data byte by byte;
  - both apps see their connection end (resumption is off here: with it
    on the streams would be held and go on over the next connection);
then the session comes back and a new connection echoes 1 MiB intact.

usage: test_tamper.py MODE --stpgate PATH [--workers N] [--seed S] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import argparse
import os
import random
import re
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import hlib  # noqa: E402
from gwlib import (workers_arg, fast_timeouts, HOST, MiB, Harness,  # noqa: E402
    Pattern, TcpRelay, config_text, echo_handler, echo_roundtrip, recv_to_end,
    say, wait_sessions_up)

MODES = ("bitflip", "replay", "drop", "truncate")
FRAME_RECORD = 0x06
# What the receiving gateway may say when a record was tampered with.
RX_REASON = (r"failed to open|frame type|frame length|does not parse|"
    r"says it is record|no body|body in a|record after close|signature")


class TamperProxy(TcpRelay):
	"""gwlib's relay to target, tampering with some connections:
	plan[k] = (direction, mode, N) for the k-th connection ("a2b": from
	the connecting side); connections beyond the plan pass untouched."""

	def __init__(self, h, target, plan, rng):
		self.plan = list(plan)
		self.rng = rng
		self.events = []      # what the proxy did, one line each
		self.fired = threading.Event()
		TcpRelay.__init__(self, target)

	def note(self, msg):
		with self.lock:
			self.events.append(msg)
		say("proxy: " + msg)

	def filters(self, k):
		plan = self.plan[k] if k < len(self.plan) else None
		self.note("connection %d: %s" % (k, "%s %s after %d bytes" % plan
		    if plan else "passed through"))
		return {plan[0]: self._frames(plan, k)} if plan else {}

	def _frames(self, tamper, k):
		"""The relay's filter for the tampered direction: it passes
		whole frames on as they complete, and tampers once, at N."""
		direction, mode, N = tamper
		buf = bytearray()
		pos = 0            # stream offset of buf[0]
		history = []       # earlier RECORD frames (the last few)
		fired = False

		def f(d):
			nonlocal pos, fired
			out = []
			buf.extend(d)
			while len(buf) >= 4:
				flen = 4 + int.from_bytes(buf[1:4], "big")
				if len(buf) < flen:
					break
				frame = bytes(buf[:flen])
				start = pos
				del buf[:flen]
				pos += flen
				if fired:
					out.append(frame)
					continue
				if mode == "bitflip" and start <= N < start + flen:
					i = N - start
					bit = self.rng.randrange(8)
					ftype = frame[0]
					frame = frame[:i] + bytes([frame[i] ^ (1 << bit)]) + frame[i + 1:]
					fired = True
					self.note("connection %d %s: flipped bit %d of byte %d "
					    "(byte %d of a type 0x%02x frame of %d bytes)" % (k, direction,
					    bit, N, i, ftype, flen))
				elif mode == "replay" and start >= N and frame[0] == FRAME_RECORD and history:
					j = self.rng.randrange(len(history))
					old_start, old = history[j]
					out.append(old)
					fired = True
					self.note("connection %d %s: replayed the RECORD frame from "
					    "byte %d (%d bytes) before the frame at byte %d" % (k,
					    direction, old_start, len(old), start))
				elif mode == "drop" and start >= N and frame[0] == FRAME_RECORD:
					fired = True
					self.note("connection %d %s: dropped the RECORD frame at "
					    "byte %d (%d bytes)" % (k, direction, start, flen))
					self.fired.set()
					continue
				elif mode == "truncate" and start + flen > N:
					cut = min(max(N - start, 1), flen - 1)
					out.append(frame[:cut])
					self.note("connection %d %s: truncated: sent %d of the %d bytes "
					    "of the type 0x%02x frame at byte %d, then closed both "
					    "connections" % (k, direction, cut, flen, frame[0], start))
					self.fired.set()
					return out, True
				if fired:
					self.fired.set()
				if frame[0] == FRAME_RECORD:
					history.append((start, frame))
					if len(history) > 16:
						del history[0]
				out.append(frame)
			return out, False
		return f



# Resumption off: a tampered connection's session ends, and so do its
# streams (with resumption on they would be held and go on over the next
# connection, as after any break: test_resume.py).
TIMEOUTS = fast_timeouts(resume_window="0s")

def duplex_service(up, down):
	"""Service: sends `down` bytes for ever while checking what it reads
	against `up`; srv.state[k] = results of its k-th connection."""
	def h(c, srv):
		with srv.lock:
			k = srv.state.setdefault("n", 0)
			srv.state["n"] = k + 1
		res = {"check": hlib.PrefixCheck(up), "sent": 0, "send_end": None,
		    "recv_end": None}
		with srv.lock:
			srv.state[k] = res

		def send():
			off = 0
			try:
				while not srv.stopping.is_set():
					c.sendall(down.chunk(off, 65536))
					off += 65536
					res["sent"] = off
			except OSError as e:
				res["send_end"] = type(e).__name__
		t = threading.Thread(target=send, daemon=True)
		t.start()
		_, res["recv_end"] = recv_to_end(c, time.monotonic() + 60, res["check"])
		try:
			c.shutdown(socket.SHUT_RDWR)
		except OSError:
			pass
		t.join(10)
		if res["send_end"] is None:
			res["send_end"] = "stopped"
	return h


class App:
	"""An app connection: sends `up` for ever in a thread, reads and checks
	against `down` until the connection ends."""

	def __init__(self, port, up, down):
		self.s = socket.create_connection((HOST, port), timeout=10)
		self.check = hlib.PrefixCheck(down)
		self.sent = 0
		self.send_end = None
		self.recv_end = None
		self.up = up
		threading.Thread(target=self._send, daemon=True).start()

	def _send(self):
		off = 0
		try:
			while True:
				self.s.sendall(self.up.chunk(off, 65536))
				off += 65536
				self.sent = off
		except OSError as e:
			self.send_end = type(e).__name__

	def read(self, seconds):
		_, self.recv_end = recv_to_end(self.s, time.monotonic() + seconds, self.check)
		deadline = time.monotonic() + 5
		while self.send_end is None and time.monotonic() < deadline:
			time.sleep(0.05)
		try:
			self.s.close()
		except OSError:
			pass


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("mode", choices=MODES)
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--workers", type=workers_arg, default=1)
	ap.add_argument("--seed", type=int, default=None)
	ap.add_argument("--keep", action="store_true")
	args = ap.parse_args()
	seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
	say("mode %s, seed %d (rerun with --seed %d)" % (args.mode, seed, seed))
	rng = random.Random(seed)
	h = Harness(args.stpgate, workers=args.workers, keep=args.keep, timeout=170)
	r = h.r

	up, down = Pattern(), Pattern()
	svc = h.server(duplex_service(up, down), "duplex")
	echo = h.server(echo_handler, "echo")
	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	bport, fport, eport = h.port(), h.port(), h.port()
	plan = [("a2b", args.mode, rng.randrange(64 * 1024, 4 * MiB)),
	    ("b2a", args.mode, rng.randrange(64 * 1024, 4 * MiB))]
	for d, m, n in plan:
		say("plan: %s %s after N = %d bytes" % (d, m, n))
	proxy = TamperProxy(h, bport, plan, rng)
	gb = h.gateway("bob", config_text(bob_id, h.workers, listen=bport,
	    peers={"alice": {"key": alice_key}},
	    services={"duplex": (svc.port, ["alice"]), "echo": (echo.port, ["alice"])},
	    timeouts=TIMEOUTS))
	ga = h.gateway("alice", config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": proxy.port}},
	    forwards=[(fport, "bob", "duplex"), (eport, "bob", "echo")],
	    timeouts=TIMEOUTS))
	gb.start()
	ga.start()

	for k, (direction, mode, n) in enumerate(plan):
		rx, tx = (gb, ga) if direction == "a2b" else (ga, gb)
		la, lb = wait_sessions_up(ga, gb, since_a=0 if k == 0 else mark_a,
		    since_b=0 if k == 0 else mark_b)
		if not r.ok(la is not None and lb is not None, "connection %d: session up "
		    "through the proxy" % k):
			break
		mark_a, mark_b = ga.mark(), gb.mark()
		proxy.fired.clear()
		before = svc.state.get("n", 0)
		app = App(fport, up, down)
		app.read(40)
		# The proxy's thread sets the flag just after its tampering step;
		# the app may see the end of its connection before that.
		fired = proxy.fired.wait(10)
		r.ok(fired, "connection %d: the proxy did its %s %s" % (k, direction, mode))
		r.ok(app.recv_end in ("eof", "reset"), "connection %d: the app's "
		    "connection ends" % k, "read ended by %s after %d bytes" % (
		    app.recv_end, app.check.got))
		r.ok(app.send_end is not None, "connection %d: the app's sending ends "
		    "too" % k, "still sending after %d bytes" % app.sent)
		r.ok(app.check.bad is None, "connection %d: the %d bytes the app got "
		    "are a true prefix of what the service sent" % (k, app.check.got),
		    "first wrong byte at %s" % app.check.bad)
		deadline = time.monotonic() + 15
		res = None
		while time.monotonic() < deadline:
			res = svc.state.get(before)
			if res is not None and res["send_end"] is not None and \
			    res["recv_end"] is not None:
				break
			time.sleep(0.05)
		if r.ok(res is not None and res["send_end"] is not None and
		    res["recv_end"] in ("eof", "reset"), "connection %d: the service's "
		    "connection ends" % k, repr(res and {x: res[x] for x in
		    ("sent", "send_end", "recv_end")})):
			r.ok(res["check"].bad is None, "connection %d: the %d bytes the "
			    "service got are a true prefix of what the app sent" % (k,
			    res["check"].got), "first wrong byte at %s" % res["check"].bad)
		say("connection %d: app got %d bytes (%s), service got %d bytes" % (k,
		    app.check.got, app.recv_end, res["check"].got if res else -1))
		l_rx = rx.wait_log(r"session down", 10, mark_b if rx is gb else mark_a)
		l_tx = tx.wait_log(r"session down", 10, mark_b if tx is gb else mark_a)
		r.ok(l_rx is not None and l_tx is not None, "connection %d: both "
		    "gateways log the session down" % k, "%s: %s; %s: %s" % (rx.name,
		    l_rx, tx.name, l_tx))
		for g, l in ((rx, l_rx), (tx, l_tx)):
			if l:
				say("%s: %s" % (g.name, l.split(" ", 2)[-1]))
		if mode != "truncate" and l_rx is not None:
			r.ok(re.search(RX_REASON, l_rx) is not None, "connection %d: %s (the "
			    "receiver) names what was wrong with the record" % (k, rx.name), l_rx)
		if mode == "truncate" and l_rx is not None:
			# The proxy always forwards at least one byte of the cut frame, so
			# when the receiver went down on the EOF (not on a write to the
			# closed proxy first), its reason must say the frame was cut.
			r.ok("closed by the other side" not in l_rx or
			    "in the middle of a frame" in l_rx, "connection %d: %s (the "
			    "receiver) says the stream ended mid-frame" % (k, rx.name), l_rx)

	la, lb = wait_sessions_up(ga, gb, since_a=mark_a, since_b=mark_b)
	if r.ok(la is not None and lb is not None, "the session comes back through "
	    "the (now clean) proxy"):
		e = echo_roundtrip(eport, os.urandom(MiB), timeout=30)
		r.ok(e is None, "a new connection echoes 1 MiB intact", str(e))
	r.ok(ga.running() and gb.running(), "both gateways still running")
	say("proxy log: " + " | ".join(proxy.events))
	proxy.close()
	sys.exit(h.finish())


if __name__ == "__main__":
	main()

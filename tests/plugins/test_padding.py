#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_padding.py: the padding plugin between two real gateways, alice (dials,
has the forwards) and bob (listens, has the services), both with

    plugins: {padding: {step_up: 0.2, cover_rate: 20}}

and alice dialing bob through a frame-aware capture proxy on 127.0.0.1 that
passes every byte on unchanged and notes each frame's type and length.

  - every RECORD frame either way has a body of one of the bucket sizes
    (512, 1 KiB, 4 KiB, 16 KiB, 32 KiB and the record maximum 66,432) plus
    the 16-byte tag (plus the 67-byte signature field in the signed case),
    and every KEY_UPDATE frame the same one size; rekey.bytes is 1 MiB so
    key updates do happen.  The handshake's frames (HELLO, REPLY, AUTH) are
    not padded and are left out: they are counted and shown, not judged;
  - data of random sizes goes both ways intact: messages of random sizes
    echoed (SHA-256 of all sent vs all received) and a download (SHA-256);
  - cover records flowed both ways (stpgate_plugin_events_total
    {plugin="padding",event="cover_sent"|"cover_received"} on the metrics
    endpoints), and the app got not one byte more than was sent to it: an
    idle connection while cover records flow reads nothing, and EOF comes
    after exactly the bytes echoed;
  - the same with sign_records on alice's side (both sign).

usage: test_padding.py --stpgate PATH [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import argparse
import hashlib
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    "..", "integration"))
from gwlib import (workers_arg, FAST_TIMEOUTS, HOST, MiB, UP_WAIT,  # noqa: E402
    Harness, Pattern, config_text, echo_handler, metrics_text, plugin_events,
    recv_to_end, say, source_handler, wait_sessions_up, with_sign_records)

REKEY = {"bytes": "1MiB", "interval": "2s"}
PADDING = "plugins:\n  padding:\n    step_up: 0.2\n    cover_rate: 20\n"
TAG = 16
SIG_FIELD = 67
BUCKETS = (512, 1024, 4096, 16384, 32768, 66432)
KU_BODY = 256              # a padded KEY_UPDATE, signed; 67 less unsigned
HANDSHAKE = {1: "HELLO", 2: "CHALLENGE", 3: "REJECT", 4: "REPLY", 5: "AUTH"}
RECORD, KEY_UPDATE = 6, 7


def pad_event(text, event):
	"""The padding plugin's count of event in a metrics text, or 0."""
	return plugin_events(text, "padding").get(event, 0)


class FrameProxy:
	"""TCP relay 127.0.0.1:port -> 127.0.0.1:target that passes every byte
	on at once and parses the STP framing (type, 3-byte length) of each
	direction on the side: frames["a2b"] and frames["b2a"] are lists of
	(type, body length)."""

	def __init__(self, h, target):
		self.target = target
		self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		self.sock.bind((HOST, 0))
		self.sock.listen(16)
		self.sock.settimeout(0.2)
		self.port = self.sock.getsockname()[1]
		self.lock = threading.Lock()
		self.frames = {"a2b": [], "b2a": []}
		self.conns = 0
		self.errors = []
		self.stopping = threading.Event()
		self.socks = []
		threading.Thread(target=self._loop, daemon=True).start()

	def _loop(self):
		while not self.stopping.is_set():
			try:
				a, _ = self.sock.accept()
			except socket.timeout:
				continue
			except OSError:
				return
			try:
				b = socket.create_connection((HOST, self.target), timeout=5)
			except OSError as e:
				self.errors.append("connect to %d: %r" % (self.target, e))
				a.close()
				continue
			a.settimeout(None)
			b.settimeout(None)
			with self.lock:
				self.conns += 1
				self.socks += [a, b]
			threading.Thread(target=self._pipe, args=(a, b, "a2b"),
			    daemon=True).start()
			threading.Thread(target=self._pipe, args=(b, a, "b2a"),
			    daemon=True).start()

	def _pipe(self, src, dst, key):
		hdr = b""
		left = 0
		try:
			while True:
				d = src.recv(256 * 1024)
				if not d:
					break
				dst.sendall(d)
				i = 0
				while i < len(d):
					if left > 0:
						k = min(left, len(d) - i)
						left -= k
						i += k
						continue
					k = min(4 - len(hdr), len(d) - i)
					hdr += d[i:i + k]
					i += k
					if len(hdr) == 4:
						left = int.from_bytes(hdr[1:4], "big")
						with self.lock:
							self.frames[key].append((hdr[0], left))
						hdr = b""
		except OSError:
			pass
		for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
			try:
				s.shutdown(how)
			except OSError:
				pass

	def snapshot(self):
		with self.lock:
			return {k: list(v) for k, v in self.frames.items()}

	def close(self):
		self.stopping.set()
		try:
			self.sock.close()
		except OSError:
			pass
		with self.lock:
			socks = list(self.socks)
		for s in socks:
			try:
				s.close()
			except OSError:
				pass


class Pair:
	"""alice -> proxy -> bob, padding and cover on both."""

	def __init__(self, h, tag, signed):
		self.h = h
		self.signed = signed
		alice_id, alice_key = h.keygen("alice-" + tag)
		bob_id, bob_key = h.keygen("bob-" + tag)
		self.bob_port = h.port()
		self.proxy = FrameProxy(h, self.bob_port)
		self.fwd_src = h.port()
		self.fwd_echo = h.port()
		self.metrics_a = h.port()
		self.metrics_b = h.port()
		self.pat = Pattern()
		self.src = h.server(source_handler(self.pat, h.download), "source-" + tag)
		self.echo = h.server(echo_handler, "echo-" + tag)
		a = config_text(alice_id, h.workers,
		    peers={"bob": {"key": bob_key, "dial": self.proxy.port}},
		    forwards=[(self.fwd_src, "bob", "source"),
		    (self.fwd_echo, "bob", "echo")], timeouts=FAST_TIMEOUTS,
		    rekey=REKEY)
		a += "metrics: \"%s:%d\"\n" % (HOST, self.metrics_a) + PADDING
		b = config_text(bob_id, h.workers, listen=self.bob_port,
		    peers={"alice": {"key": alice_key}},
		    services={"source": (self.src.port, ["alice"]),
		    "echo": (self.echo.port, ["alice"])}, timeouts=FAST_TIMEOUTS,
		    rekey=REKEY)
		b += "metrics: \"%s:%d\"\n" % (HOST, self.metrics_b) + PADDING
		if signed:
			a = with_sign_records(a, "bob")
		self.a = h.gateway("alice-" + tag, a)
		self.b = h.gateway("bob-" + tag, b)

	def start(self):
		r = self.h.r
		for g in (self.b, self.a):
			rc, out, err = self.h.check(g.cfg_path)
			r.ok(rc == 0, "stpgate check accepts %s's config (padding on)" %
			    g.name, "exit %d: %s" % (rc, err.strip()))
		self.b.start()
		r.ok(self.b.wait_log(r"listening.*:%d\b" % self.bob_port, 15) is not None,
		    "%s listens on %d" % (self.b.name, self.bob_port))
		self.a.start()
		la, lb = wait_sessions_up(self.a, self.b)
		return r.ok(la is not None and lb is not None,
		    "session up on both sides through the proxy within %d s" % UP_WAIT)

	def stop(self):
		for g in (self.a, self.b):
			if g.running():
				g.stop()
		self.proxy.close()
		self.src.close()
		self.echo.close()


def echo_messages(h, p, rng):
	"""Messages of random sizes, each echoed back before the next; then an
	idle spell while cover records flow; then EOF.  Returns the bytes sent."""
	r = h.r
	s = h.connect(p.fwd_echo, timeout=30)
	sent = hashlib.sha256()
	got = hashlib.sha256()
	n_sent = n_got = 0
	sizes = [rng.choice((1, 2, 3, 100, 500, 509, 510, 1000, 4000, 16000,
	    33000, 70000, 300000)) if i % 3 == 0 else rng.randrange(0, h.msg_max)
	    for i in range(h.msgs)]
	err = None
	for size in sizes:
		data = rng.randbytes(size)
		sent.update(data)
		n_sent += size
		s.sendall(data)
		want = size
		deadline = time.monotonic() + 60
		while want > 0:
			s.settimeout(max(0.1, deadline - time.monotonic()))
			try:
				d = s.recv(min(want, 256 * 1024))
			except socket.timeout:
				err = "timed out echoing a %d-byte message" % size
				break
			if not d:
				err = "EOF while echoing a %d-byte message" % size
				break
			got.update(d)
			n_got += len(d)
			want -= len(d)
		if err:
			break
	r.ok(err is None and sent.digest() == got.digest() and n_got == n_sent,
	    "%d messages of random sizes (%d bytes) echoed intact (SHA-256)" % (
	    len(sizes), n_sent), err or "got %d of %d bytes" % (n_got, n_sent))
	# Idle while cover records flow both ways: nothing may reach the app.
	c0 = pad_event(metrics_text(p.metrics_a), "cover_sent")
	s.settimeout(2.0)
	try:
		d = s.recv(65536)
		extra = len(d) if d else -1
	except socket.timeout:
		extra = 0
	c1 = pad_event(metrics_text(p.metrics_a), "cover_sent")
	r.ok(extra == 0, "the app reads nothing in 2 s idle while alice sent %d "
	    "cover records" % (c1 - c0), "read %d bytes (-1: EOF)" % extra)
	s.shutdown(socket.SHUT_WR)
	n, how = recv_to_end(s, time.monotonic() + 30)
	r.ok(how == "eof" and n == 0, "then EOF, not one byte more than echoed",
	    "%s after %d more bytes" % (how, n))
	s.close()
	return n_sent


def download(h, p):
	r = h.r
	total = h.download
	want = p.pat.sha256(total)
	s = h.connect(p.fwd_src, timeout=30)
	sha = hashlib.sha256()
	t0 = time.monotonic()
	n, how = recv_to_end(s, t0 + 120, sha.update)
	dt = time.monotonic() - t0
	s.close()
	r.ok(how == "eof" and n == total and sha.hexdigest() == want,
	    "downloaded %d MiB intact (SHA-256), exactly" % (total // MiB),
	    "%s after %d bytes" % (how, n))
	say("download: %.1f MiB in %.2f s = %.1f MB/s" % (n / MiB, dt,
	    n / dt / 1e6 if dt > 0 else 0))


def judge_frames(h, p):
	"""Every RECORD body a bucket + tag (+ signature field), every
	KEY_UPDATE body the one size; handshake frames counted apart."""
	r = h.r
	sig = SIG_FIELD if p.signed else 0
	allowed = {b + TAG + sig for b in BUCKETS}
	ku = KU_BODY - SIG_FIELD + sig
	fr = p.proxy.snapshot()
	r.ok(p.proxy.conns == 1 and not p.proxy.errors,
	    "one connection went through the proxy",
	    "%d connections, errors %s" % (p.proxy.conns, p.proxy.errors))
	for key, who in (("a2b", "alice -> bob"), ("b2a", "bob -> alice")):
		frames = fr[key]
		hs = [(HANDSHAKE.get(t, t), n) for t, n in frames if t in HANDSHAKE]
		recs = [n for t, n in frames if t == RECORD]
		kus = [n for t, n in frames if t == KEY_UPDATE]
		other = [(t, n) for t, n in frames if t not in HANDSHAKE and
		    t not in (RECORD, KEY_UPDATE)]
		say("%s: %d frames: handshake (not padded, not judged) %s; %d RECORD, "
		    "%d KEY_UPDATE" % (who, len(frames), hs, len(recs), len(kus)))
		bad = sorted(set(n for n in recs if n not in allowed))
		r.ok(recs and not bad, "%s: all %d RECORD frames have a body of a "
		    "bucket + %d" % (who, len(recs), TAG + sig),
		    "off-bucket bodies: %s" % bad[:10])
		seen = sorted(set(recs))
		r.ok(len(seen) >= 3, "%s: RECORD bodies of %d different buckets seen: %s"
		    % (who, len(seen), seen))
		r.ok(kus and all(n == ku for n in kus), "%s: %d KEY_UPDATE frames, "
		    "every body %d bytes" % (who, len(kus), ku),
		    "sizes %s" % sorted(set(kus)))
		r.ok(not other, "%s: no frame of another type" % who, "%s" % other[:5])


def case(h, tag, signed):
	r = h.r
	say("case: padding and cover on both sides%s" % (
	    ", sign_records on alice's side" if signed else ""))
	p = Pair(h, tag, signed)
	if p.start():
		rng = random.Random(0x7061640 + signed)
		echo_messages(h, p, rng)
		download(h, p)
		# Some time for cover records both ways (20/s on average each).
		time.sleep(1.0)
		ma, mb = metrics_text(p.metrics_a), metrics_text(p.metrics_b)
		for who, text, other in (("alice", ma, mb), ("bob", mb, ma)):
			cs = pad_event(text, "cover_sent")
			cr = pad_event(other, "cover_received")
			r.ok(cs >= 5 and cr >= 5, "%s sent cover records and its peer "
			    "received them (counters)" % who, "sent %d, received %d" % (cs, cr))
			say("%s: cover_sent %d, peer's cover_received %d" % (who, cs, cr))
		judge_frames(h, p)
	r.ok(p.a.running() and p.b.running(), "both gateways still running")
	p.stop()


def main():
	ap = argparse.ArgumentParser(description="stpgate padding plugin, two gateways")
	ap.add_argument("--stpgate", required=True, help="path to the stpgate binary")
	ap.add_argument("--workers", type=workers_arg, default=1, help="crypto workers (0 = inline)")
	ap.add_argument("--keep", action="store_true", help="keep the temp dir")
	ap.add_argument("--timeout", type=int, default=280, help="whole-test bound, seconds")
	args = ap.parse_args()
	h = Harness(args.stpgate, args.workers, args.keep, args.timeout)
	h.download = (4 if h.sanitizer else 24) * MiB
	h.msgs = 40 if h.sanitizer else 120
	h.msg_max = 200000
	try:
		case(h, "unsigned", False)
		case(h, "signed", True)
	except Exception as e:  # a bug or an unexpected error is one more failure
		import traceback
		traceback.print_exc()
		h.r.fail("raised %r" % e)
	return h.finish()


if __name__ == "__main__":
	sys.exit(main())

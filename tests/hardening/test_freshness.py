#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_freshness.py: what bob's listener does with HELLOs that pass mac1
(proto/STP.md, "Freshness: replayed HELLOs", "Access secret", "Versions"),
seen from outside with HELLOs built here from the spec alone.

bob listens with an access secret and limits.replay_slots: 8 (one bucket, so
that the load case comes after eight HELLOs).  A HELLO built here carries
random bytes where the ML-KEM key goes, so a HELLO that gets past the guard
is answered with REJECT_MALFORMED (R checks the key before any key work):
an answer means "admitted by the guard", silence means "refused".

  - mac1 keyed without the access secret: silence (counted as mac1);
  - a fresh HELLO with it: an answer; the same bytes again, on a new
    connection: silence, counted as replayed;
  - Hello.time 10 minutes behind, and 10 minutes ahead: silence, counted
    as stale;
  - an STP v1 HELLO (versions [1], no time): REJECT_VERSION whose reason
    names both versions;
  - the load case: once the table is full, a fresh HELLO gets a CHALLENGE
    holding a 16-byte cookie (counted in stpgate_hello_cookies_total); the
    next HELLO echoing it is answered, on the same connection and on a new
    one; a wrong cookie gets a new CHALLENGE;
  - and real gateways: alice, with bob's access secret in her peer map,
    comes up (through a cookie round: the table is still full) and carries
    data; carol, without it, gets silence and says why she may have.

usage: test_freshness.py --stpgate PATH [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import argparse
import base64
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import hlib  # noqa: E402
from gwlib import (workers_arg, HOST, Harness, config_text, echo_handler,  # noqa: E402
    echo_roundtrip, listening_rx, peer_line)

HS_TIMEOUT_S = 4
SILENCE_S = 1.0     # an answer comes in milliseconds; silence is waited out
UP_WAIT = 20

FRAME_HELLO, FRAME_CHALLENGE, FRAME_REJECT = 1, 2, 3


# ---- a HELLO from proto/STP.md, "Framing" and "HELLO" ----

def varint(n):
	out = b""
	while True:
		b = n & 0x7f
		n >>= 7
		if n:
			out += bytes([b | 0x80])
		else:
			return out + bytes([b])


def f_bytes(num, b):
	return varint(num << 3 | 2) + varint(len(b)) + b


def f_varint(num, v):
	return varint(num << 3) + varint(v)


def key_bytes(text):
	"""The 32 key bytes of a stp1: or stps1: text (checksum not checked here)."""
	b64 = text.split(":", 1)[1]
	return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))[:32]


def hello(pk, secret=None, versions=(2,), t="now", cookie=b""):
	body = f_bytes(1, b"".join(varint(v) for v in versions))
	body += f_bytes(2, varint(1))
	body += f_bytes(3, os.urandom(32)) + f_bytes(4, os.urandom(1184))
	body += f_bytes(5, os.urandom(32))
	if t == "now":
		t = int(time.time())
	if t:
		body += f_varint(7, t)
	if cookie:
		body += f_bytes(8, cookie)
	hdr = struct.pack(">B", FRAME_HELLO) + struct.pack(">I", len(body) + 16)[1:]
	key = hashlib.sha512(b"stp1 mac1\x00" + pk + (secret or b"")).digest()[:32]
	return hdr + body + hmac.new(key, hdr + body, hashlib.sha256).digest()[:16]


def fields(body):
	"""{field number: last value} of a protobuf message (varints and bytes)."""
	out, i = {}, 0
	while i < len(body):
		tag, i = read_varint(body, i)
		if tag & 7 == 0:
			out[tag >> 3], i = read_varint(body, i)
		elif tag & 7 == 2:
			n, i = read_varint(body, i)
			out[tag >> 3] = body[i:i + n]
			i += n
		else:
			raise ValueError("wire type %d" % (tag & 7))
	return out


def read_varint(b, i):
	v = shift = 0
	while True:
		v |= (b[i] & 0x7f) << shift
		shift += 7
		i += 1
		if not b[i - 1] & 0x80:
			return v, i


def ask(sock, data, wait=SILENCE_S):
	"""Send data, then (type, body) of the first frame back, or None after
	wait seconds of silence."""
	sock.sendall(data)
	sock.settimeout(wait)
	buf = b""
	try:
		while len(buf) < 4:
			d = sock.recv(4 - len(buf))
			if not d:
				return None
			buf += d
		n = struct.unpack(">I", b"\x00" + buf[1:4])[0]
		body = b""
		while len(body) < n:
			d = sock.recv(n - len(body))
			if not d:
				return None
			body += d
		return buf[0], body
	except socket.timeout:
		return None


def connect(port):
	return socket.create_connection((HOST, port), timeout=5)


def once(port, data, wait=SILENCE_S):
	s = connect(port)
	try:
		return ask(s, data, wait)
	finally:
		s.close()


def counted(mport, reason):
	return hlib.metric(hlib.scrape(mport), "stpgate_handshakes_total",
	    result="fail", reason=reason) or 0


def wait_count(mport, reason, want, timeout=HS_TIMEOUT_S + 10):
	"""Silence is counted when the handshake timer ends it."""
	end = time.monotonic() + timeout
	while time.monotonic() < end:
		got = counted(mport, reason)
		if got >= want:
			return got
		time.sleep(0.1)
	return counted(mport, reason)


def new_secret(h):
	p = subprocess.run([h.stpgate, "secret"], capture_output=True, text=True,
	    timeout=30)
	if p.returncode != 0 or not p.stdout.startswith("stps1:"):
		raise RuntimeError("stpgate secret: %d %r" % (p.returncode, p.stderr))
	return p.stdout.strip()


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--workers", type=workers_arg, default=0)
	ap.add_argument("--keep", action="store_true")
	args = ap.parse_args()
	h = Harness(args.stpgate, workers=args.workers, keep=args.keep, timeout=280)
	r = h.r

	echo = h.server(echo_handler, "echo")
	alice_id, alice_key = h.keygen("alice")
	carol_id, carol_key = h.keygen("carol")
	bob_id, bob_key = h.keygen("bob")
	secret_text = new_secret(h)
	secret, pk = key_bytes(secret_text), key_bytes(bob_key)
	bport, eport, cport, mport = h.port(), h.port(), h.port(), h.port()
	t = {"handshake": "%ds" % HS_TIMEOUT_S}
	gb = h.gateway("bob", hlib.with_sections(config_text(bob_id, h.workers,
	    listen=bport, peers={"alice": {"key": alice_key}, "carol": {"key": carol_key}},
	    services={"echo": (echo.port, ["alice", "carol"])}, timeouts=t),
	    limits={"replay_slots": 8, "handshakes_per_source": 1000000},
	    metrics=mport) + "access_secret: \"%s\"\n" % secret_text)
	gb.start()
	if not r.ok(gb.wait_log(listening_rx(bport), 20) is not None, "bob listens"):
		sys.exit(h.finish())

	# The access secret keys mac1.
	mac1_before = counted(mport, "mac1")
	r.ok(once(bport, hello(pk)) is None,
	    "mac1 keyed by bob's key alone (no access secret): silence")
	r.ok(wait_count(mport, "mac1", mac1_before + 1) == mac1_before + 1,
	    "bob counted it as a mac1 failure")

	# Fresh: answered.  The same bytes again: silence, counted.
	first = hello(pk, secret)
	a = once(bport, first)
	r.ok(a is not None and a[0] == FRAME_REJECT and fields(a[1]).get(1) == 4,
	    "a fresh HELLO with the secret gets past the guard (REJECT_MALFORMED for "
	    "its random ML-KEM key: %r)" % ((a and (a[0], fields(a[1]))),))
	for k in range(2):
		r.ok(once(bport, first) is None,
		    "the same HELLO again (%d), on a new connection: silence" % (k + 1))
	r.ok(wait_count(mport, "replayed", 2) == 2, "bob counted 2 replayed HELLOs")

	# Stale either way.
	now = int(time.time())
	r.ok(once(bport, hello(pk, secret, t=now - 600)) is None,
	    "Hello.time 10 minutes behind: silence")
	r.ok(once(bport, hello(pk, secret, t=now + 600)) is None,
	    "Hello.time 10 minutes ahead: silence")
	r.ok(once(bport, hello(pk, secret, t=None)) is None,
	    "a v1.1 HELLO without a time: silence")
	r.ok(wait_count(mport, "stale", 3) == 3, "bob counted 3 stale HELLOs")

	# An STP v1 initiator: refused by version, both named.
	a = once(bport, hello(pk, secret, versions=(1,), t=None))
	why = fields(a[1]).get(2, b"").decode() if a and a[0] == FRAME_REJECT else ""
	r.ok(a is not None and a[0] == FRAME_REJECT and fields(a[1]).get(1) == 1,
	    "an STP v1 HELLO gets REJECT_VERSION")
	r.ok("STP v1.1 (version 2)" in why and "1 is STP v1" in why,
	    "its reason names both versions: %r" % why)
	r.ok(gb.wait_log("we speak STP v1.1 \\(version 2\\) only; you offer version 1", 10)
	    is not None, "bob's log names both versions too")

	# Fill the table's one bucket (8 slots; 1 taken above).
	answered = 0
	for _ in range(7):
		a = once(bport, hello(pk, secret))
		answered += a is not None and a[0] == FRAME_REJECT
	r.ok(answered == 7, "7 more fresh HELLOs answered: the table is full (%d)" % answered)
	cookies0 = hlib.metric(hlib.scrape(mport), "stpgate_hello_cookies_total") or 0
	s = connect(bport)
	a = ask(s, hello(pk, secret))
	cookie = fields(a[1]).get(2, b"") if a and a[0] == FRAME_CHALLENGE else b""
	r.ok(len(cookie) == 16 and not fields(a[1]).get(1),
	    "under load a fresh HELLO gets a CHALLENGE with a 16-byte cookie and no "
	    "admission data (%r)" % ((a and (a[0], a[1].hex())),))
	a = ask(s, hello(pk, secret, cookie=cookie))
	r.ok(a is not None and a[0] == FRAME_REJECT,
	    "the next HELLO on the same connection, echoing it: answered")
	s.close()
	a = once(bport, hello(pk, secret, cookie=cookie))
	r.ok(a is not None and a[0] == FRAME_REJECT,
	    "a HELLO echoing it on a new connection from the same address: answered")
	a = once(bport, hello(pk, secret, cookie=bytes(16)))
	r.ok(a is not None and a[0] == FRAME_CHALLENGE and len(fields(a[1]).get(2, b"")) == 16,
	    "a wrong cookie: a new CHALLENGE")
	s = connect(bport)
	got = [ask(s, hello(pk, secret))[0] for _ in range(3)]
	last = ask(s, hello(pk, secret))
	s.close()
	r.ok(got == [FRAME_CHALLENGE] * 3 and last is None,
	    "three cookie CHALLENGEs on one connection, then silence (%r, %r)" % (got, last))
	cookies = hlib.metric(hlib.scrape(mport), "stpgate_hello_cookies_total") or 0
	r.ok(cookies - cookies0 == 5, "bob counted 5 cookie CHALLENGEs (%d)" % (cookies - cookies0))

	# Real gateways: with the secret, through a cookie round; without, silence.
	ga = h.gateway("alice", config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bport, "access_secret": secret_text}},
	    forwards=[(eport, "bob", "echo")], timeouts=t))
	ga.start()
	up = ga.wait_log(peer_line("bob", "session up"), UP_WAIT) is not None
	err = echo_roundtrip(eport, b"through the guard") if up else "no session"
	r.ok(err is None, "alice (with bob's access secret) comes up and carries data "
	    "(%s)" % (err or "ok"))
	cookies2 = hlib.metric(hlib.scrape(mport), "stpgate_hello_cookies_total") or 0
	r.ok(cookies2 > cookies, "alice's HELLO went through a cookie round (the table "
	    "is still full): %d more" % (cookies2 - cookies))
	gc = h.gateway("carol", config_text(carol_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bport}},
	    forwards=[(cport, "bob", "echo")], timeouts=t))
	gc.start()
	r.ok(gc.wait_log(r"without a word from the peer: peers\.bob\.key \(.*carol\.yaml:\d+\) "
	    r"may not be its key, or it does not list ours; else the access_secret",
	    HS_TIMEOUT_S + 15) is not None,
	    "carol (no access secret) hears nothing and her log says what may be wrong, "
	    "naming the key's file:line")
	r.ok(gb.wait_log("session up", 1) is not None and
	    gb.wait_log(peer_line("carol", "session up"), 1) is None,
	    "bob never saw carol")
	sys.exit(h.finish())


if __name__ == "__main__":
	main()

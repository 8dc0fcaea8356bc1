#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_rotate.py: key rotation without a flag day (README, "Rotating a key"),
on two real gateways, while one stream keeps flowing through them.

alice dials bob; an app streams pattern bytes through alice's forward to
bob's echo service and checks every byte that comes back.  Then:

  1. alice's key: bob lists [old, new] and reloads; alice switches
     (identity: new, previous_identity: old) and reloads, and tells bob in
     the session (IdentityUpdate); bob lists only new and alice drops
     previous_identity, each with a reload.
  2. bob's key, the listening side: alice lists [old, new]; bob switches.
     Then alice is restarted, so its dial goes to bob's OLD key (the first
     it lists): bob answers it as previous_identity and tells alice at once.
     alice lists only new, bob drops previous_identity.

Checked: the stream never stops and no byte of it is lost or changed;
neither gateway's log shows its session going down during either
rotation; both count the identity updates (stpgate_identity_updates_total);
a session whose peer key was retired without an update is closed (a
config that drops the key a live session proved); after the rotations,
a fresh session uses the new keys only (old ones are no longer listed
anywhere); and a dialer that lists a key the peer does not hold first,
hearing nothing, tries the next one.

usage: test_rotate.py --stpgate PATH [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (test_main, FAST_TIMEOUTS, HOST, UP_WAIT, Pattern,  # noqa: E402
    config_text, echo_handler, echo_roundtrip, metric_exact, metrics_text,
    peer_line, say, wait_for, yq)

RATE_CHUNK = 16 * 1024      # the app's write size
RATE_PAUSE = 0.01           # seconds between writes: about 1.6 MB/s


class Stream:
	"""One app connection through the tunnel to an echo: a writer sends
	pattern bytes, a reader checks what comes back."""

	def __init__(self, port):
		self.p = Pattern(seed_len=1024 * 1024 + 7)
		self.s = socket.create_connection((HOST, port), timeout=30)
		self.sent = 0
		self.got = 0
		self.bad = None
		self.stop = threading.Event()
		self.lock = threading.Lock()
		self.w = threading.Thread(target=self._write, daemon=True)
		self.r = threading.Thread(target=self._read, daemon=True)
		self.w.start()
		self.r.start()

	def _write(self):
		try:
			while not self.stop.is_set():
				self.s.sendall(self.p.chunk(self.sent, RATE_CHUNK))
				with self.lock:
					self.sent += RATE_CHUNK
				time.sleep(RATE_PAUSE)
			self.s.shutdown(socket.SHUT_WR)
		except OSError as e:
			self.bad = self.bad or "write failed: %s" % e

	def _read(self):
		try:
			while True:
				b = self.s.recv(65536)
				if not b:
					return
				if b != self.p.chunk(self.got, len(b)):
					self.bad = self.bad or "bytes %d.. differ" % self.got
					return
				with self.lock:
					self.got += len(b)
		except OSError as e:
			self.bad = self.bad or "read failed: %s" % e

	def progress(self):
		with self.lock:
			return self.got

	def moving(self, timeout=10):
		"""True once more bytes came back than now."""
		start = self.progress()
		return wait_for(lambda: self.progress() > start, timeout)

	def finish(self, timeout=60):
		self.stop.set()
		self.w.join(timeout)
		self.r.join(timeout)
		self.s.close()
		return self.sent, self.got, self.bad


def run(h):
	r = h.r
	a_old, a_old_key = h.keygen("alice-old")
	b_old, b_old_key = h.keygen("bob-old")
	bob_port, amp, bmp = h.port(), h.port(), h.port()
	echo = h.server(echo_handler, "echo")
	fwd = h.port()

	def finish(text, keys, mport, previous):
		"""The peer's key as a list, our metrics port, previous_identity."""
		text = text.replace(yq("@KEYS@"), "[" + ", ".join(yq(k) for k in
		    keys) + "]")
		text += "metrics: %s\n" % yq("%s:%d" % (HOST, mport))
		if previous:
			text += "previous_identity: %s\n" % yq(previous)
		return text

	def bob_cfg(identity, alice_keys, previous=None):
		return finish(config_text(identity, h.workers, listen=bob_port,
		    peers={"alice": {"key": "@KEYS@"}},
		    services={"echo": (echo.port, ["alice"])},
		    timeouts=FAST_TIMEOUTS), alice_keys, bmp, previous)

	def alice_cfg(identity, bob_keys, previous=None, timeouts=FAST_TIMEOUTS):
		return finish(config_text(identity, h.workers,
		    peers={"bob": {"key": "@KEYS@", "dial": bob_port}},
		    forwards=[(fwd, "bob", "echo")], timeouts=timeouts),
		    bob_keys, amp, previous)

	def reload(g, text, what):
		mark = g.mark()
		g.write_config(text)
		g.hup()
		line = g.wait_log(r"reloaded |reload failed", 20, mark)
		r.ok(line is not None and "reloaded " in line, "%s: %s" % (g.name,
		    what), line or "no reload line")
		return mark

	b = h.gateway("bob", bob_cfg(b_old, [a_old_key]))
	a = h.gateway("alice", alice_cfg(a_old, [b_old_key]))
	b.start()
	a.start()
	r.ok(a.wait_log(peer_line("bob", "session up"), UP_WAIT) is not None,
	    "alice's session with bob comes up")
	st = Stream(fwd)
	r.ok(st.moving(), "the stream flows before any rotation")

	# ---- 1. alice's key ----
	a_new, a_new_key = h.keygen("alice-new")
	reload(b, bob_cfg(b_old, [a_old_key, a_new_key]),
	    "step 1: bob lists alice's old and new keys")
	am, bm = a.mark(), b.mark()
	reload(a, alice_cfg(a_new, [b_old_key], previous=a_old),
	    "step 2: alice switches to its new identity, answering to the old")
	r.ok(a.wait_log(peer_line("bob", "told the peer our new identity"), 10,
	    am) is not None, "alice tells bob its new identity in the session")
	r.ok(b.wait_log(peer_line("alice", "the peer now uses identity " +
	    a_new_key), 10, bm) is not None,
	    "bob takes alice's new identity for the running session")
	r.ok(st.moving(), "the stream flows after alice's switch")
	reload(b, bob_cfg(b_old, [a_new_key]), "step 3: bob lists only alice's new key")
	reload(a, alice_cfg(a_new, [b_old_key]), "step 3: alice drops previous_identity")
	r.ok(st.moving(), "the stream flows after alice's old key is retired")

	# ---- 2. bob's key (the listener) ----
	b_new, b_new_key = h.keygen("bob-new")
	reload(a, alice_cfg(a_new, [b_old_key, b_new_key]),
	    "step 1: alice lists bob's old and new keys")
	bm = b.mark()
	reload(b, bob_cfg(b_new, [a_new_key], previous=b_old),
	    "step 2: bob switches, answering to its old identity too")
	r.ok(b.wait_log(peer_line("alice", "told the peer our new identity"), 10,
	    bm) is not None, "bob tells alice its new identity in the session")
	r.ok(st.moving(), "the stream flows after bob's switch")

	# The stream's checks: nothing lost or changed across both rotations.
	sent, got, bad = st.finish()
	r.ok(bad is None and got == sent and sent > 0,
	    "the stream: every byte came back intact across both rotations",
	    "sent %d, got %d%s" % (sent, got, ", " + bad if bad else ""))
	for g, peer in ((a, "bob"), (b, "alice")):
		downs = g.grep(peer_line(peer, "session down"))
		r.ok(not downs and len(g.grep(peer_line(peer, "session up"))) == 1,
		    "%s: one session all along, never down" % g.name,
		    downs[0] if downs else "session up lines: %d" %
		    len(g.grep(peer_line(peer, "session up"))))
	ta, tb = metrics_text(amp), metrics_text(bmp)
	r.ok(metric_exact(ta, "stpgate_identity_updates_total", direction="sent")
	    == 1 and metric_exact(tb, "stpgate_identity_updates_total",
	    direction="received") == 1 and metric_exact(tb,
	    "stpgate_identity_updates_total", direction="sent") == 1 and
	    metric_exact(ta, "stpgate_identity_updates_total",
	    direction="received") == 1,
	    "both count one identity update each way")

	# A new session to bob's OLD key: alice restarts and dials the first
	# key it lists; bob answers as previous_identity and tells alice.
	a.stop()
	a.start()
	r.ok(a.wait_log(peer_line("bob", "session up"), UP_WAIT) is not None and
	    a.wait_log(peer_line("bob", "the peer now uses identity " + b_new_key),
	    10) is not None,
	    "a dial to bob's old key is answered (previous_identity), then "
	    "bob tells its new one")
	am = a.mark()
	reload(a, alice_cfg(a_new, [b_new_key]), "step 3: alice lists only bob's new key")
	reload(b, bob_cfg(b_new, [a_new_key]), "step 3: bob drops previous_identity")
	r.ok(not a.grep(peer_line("bob", "session down"), am) and
	    echo_roundtrip(fwd, b"after both rotations") is None,
	    "the session stays up and carries data after bob's old key is retired")

	# A fresh session uses only the new keys: restart bob.
	am = a.mark()
	b.stop()
	b.start()
	r.ok(a.wait_log(peer_line("bob", "session up"), UP_WAIT, am) is not None
	    and wait_for(lambda: echo_roundtrip(fwd, b"fresh") is None, 10),
	    "a fresh session comes up with the new keys alone")

	# Retiring a key no update moved away from closes that session.
	am = a.mark()
	c_id, c_key = h.keygen("carol")
	reload(b, bob_cfg(b_new, [c_key]), "bob lists a key alice does not hold")
	r.ok(a.wait_log(peer_line("bob", "session down"), 10, am) is not None,
	    "a session whose proven key is no longer listed is closed")

	# A dialer that lists a key the peer does not hold first hears nothing
	# (mac1 fails: silence until the handshake timeout), then tries the next.
	reload(b, bob_cfg(b_new, [a_new_key]), "bob lists alice's key again")
	am = a.mark()
	reload(a, alice_cfg(a_new, [c_key, b_new_key],
	    timeouts=dict(FAST_TIMEOUTS, handshake="1s")),
	    "alice lists a key bob does not hold, then bob's")
	line = a.wait_log(peer_line("bob", "session up"), 30, am)
	hint = a.grep(r"peers\.bob\.key\[0\] \(.*\) may not be its key.*the next "
	    r"dial tries its next key", am)
	r.ok(line is not None and hint,
	    "after silence from the first key, the next dial uses the second",
	    "session up: %s; hint: %s" % (line, hint[:1]))
	a.stop()
	b.stop()


def main():
	return test_main(run, "key rotation without a flag day", timeout=200)


if __name__ == "__main__":
	sys.exit(main())

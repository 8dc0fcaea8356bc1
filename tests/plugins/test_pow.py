#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_pow.py: the pow plugin between real gateways on 127.0.0.1.

  - bob listens with `plugins: pow: {difficulty: 14}`; alice, whose config
    says nothing about pow, dials him: her HELLO is answered with a
    CHALLENGE, her gateway solves it and the session comes up; data moves
    through a forward; bob's metrics count the challenge and the admission
    (stpgate_plugin_events_total{plugin="pow",...}) and alice's the solve;
  - carol, with `answer_max_difficulty: 10`, refuses to solve bob's 14-bit
    challenge: her log says so in one clear line, bob admits nothing more
    and alice's session is untouched;
  - `stpgate check` refuses a bad pow setting with file:line:col.

Python 3 standard library only (tests/integration/gwlib.py).
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from gwlib import (test_main, HOST, config_text, echo_handler,  # noqa: E402
    echo_roundtrip, fast_timeouts, listening_rx, metrics_text, peer_line,
    plugin_events, wait_for, wait_sessions_up)

TIMEOUTS = fast_timeouts(handshake="10s", drain=None)
UP_WAIT = 40


def pow_events(port):
	"""{event: count} of pow's stpgate_plugin_events_total, or None."""
	text = metrics_text(port)
	return plugin_events(text, "pow") if text else None


def run(h):
	r = h.r
	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	carol_id, carol_key = h.keygen("carol")
	bob_port, fwd, mport_b, mport_a = h.port(), h.port(), h.port(), h.port()
	echo = h.server(echo_handler, "echo")

	peers_b = {"alice": {"key": alice_key}, "carol": {"key": carol_key}}
	b = h.gateway("bob", config_text(bob_id, h.workers, listen=bob_port,
	    peers=peers_b, services={"echo": (echo.port, ["alice", "carol"])},
	    timeouts=TIMEOUTS) +
	    'metrics: "%s:%d"\nplugins:\n  pow:\n    difficulty: 14\n' % (HOST, mport_b))
	a = h.gateway("alice", config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bob_port}},
	    forwards=[(fwd, "bob", "echo")], timeouts=TIMEOUTS) +
	    'metrics: "%s:%d"\n' % (HOST, mport_a))
	for g in (a, b):
		rc, _, err = h.check(g.cfg_path)
		r.ok(rc == 0, "stpgate check accepts %s's config" % g.name, err.strip())

	b.start()
	r.ok(b.wait_log(listening_rx(bob_port), 15) is not None, "bob listens")
	a.start()
	la, lb = wait_sessions_up(a, b, timeout=UP_WAIT)
	r.ok(la is not None and lb is not None,
	    "alice comes up with bob through his pow challenge")
	err = echo_roundtrip(fwd, os.urandom(256 * 1024), timeout=30)
	r.ok(err is None, "256 KiB echo through the forward", err or "")

	ev = wait_for(lambda: (lambda e: e if e and e.get("admitted", 0) >= 1
	    else None)(pow_events(mport_b)), 10) or pow_events(mport_b) or {}
	r.ok(ev.get("challenged", 0) >= 1 and ev.get("admitted", 0) >= 1,
	    "bob's metrics: pow challenged >= 1 and admitted >= 1", repr(ev))
	r.ok(sum(ev.get(k, 0) for k in ("bad_solution", "replayed", "stale",
	    "wrong_source", "cache_full")) == 0, "bob's metrics: no pow refusals", repr(ev))
	ea = pow_events(mport_a) or {}
	r.ok(ea.get("solved", 0) >= 1, "alice's metrics: pow solved >= 1", repr(ea))
	admitted_before = ev.get("admitted", 0)

	# carol will not solve 14 bits.
	c = h.gateway("carol", config_text(carol_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bob_port}},
	    timeouts=TIMEOUTS) +
	    "plugins:\n  pow:\n    enabled: false\n    answer_max_difficulty: 10\n")
	rc, _, err = h.check(c.cfg_path)
	r.ok(rc == 0, "stpgate check accepts carol's config", err.strip())
	c.start()
	line = c.wait_log(r"plugin pow: the responder demands 14 bits of proof of "
	    r"work, more than answer_max_difficulty \(10\): not solving", 20)
	r.ok(line is not None, "carol logs why she does not answer",
	    c.log()[-400:])
	line = c.wait_log(peer_line("bob", "admission challenge"), 20)
	r.ok(line is not None, "carol's handshake fails naming the admission challenge",
	    c.log()[-400:])
	r.ok(not c.grep(peer_line("bob", "session up")), "carol never comes up")
	ev = pow_events(mport_b) or {}
	r.ok(ev.get("admitted", 0) == admitted_before and ev.get("challenged", 0) >= 2,
	    "bob challenged carol and admitted nothing more", repr(ev))
	c.stop()
	r.ok(not a.grep(peer_line("bob", "session down")), "alice's session stayed up")
	err = echo_roundtrip(fwd, os.urandom(64 * 1024), timeout=30)
	r.ok(err is None, "alice's forward still echoes", err or "")

	# A bad setting: refused with file:line:col.
	bad = h.gateway("bad", config_text(bob_id, h.workers) +
	    "plugins:\n  pow:\n    difficulty: 40\n")
	rc, out, err = h.check(bad.cfg_path)
	r.ok(rc != 0 and re.search(r"bad\.yaml:\d+:\d+: plugins\.pow\.difficulty: "
	    r"40 is out of range 0\.\.32", err + out) is not None,
	    "stpgate check refuses difficulty: 40 with file:line:col",
	    "exit %d: %s" % (rc, (err + out).strip()))


def main():
	return test_main(run, "stpgate pow plugin test")


if __name__ == "__main__":
	sys.exit(main())

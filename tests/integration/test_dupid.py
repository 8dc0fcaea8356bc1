#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_dupid.py: two gateways started with one identity (alice1 and alice2,
the same key file) both dial bob.  Before, bob let each new connection
replace the other's session, and they took turns about once a second,
forever.  Now:

  - bob keeps the first live session (a stable winner): alice1's session
    stays up, with one "session up" and no "session down" in its log, and
    an echo through it works at the end;
  - bob logs at error level that two gateways seem to share one identity,
    naming both addresses, and counts the refusals
    (stpgate_sessions_rival_total);
  - alice2 hears why (bob refuses its handshake with a reason naming the
    first one's address) and backs off: its retries grow, so it makes only
    a handful of attempts;
  - bob's metrics stay consistent: sessions established - closed = the one
    session up;
  - when alice1 stops, alice2 takes over within a few retries, and an echo
    through it works (a peer that really moved is not locked out).

usage: test_dupid.py --stpgate PATH [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (test_main, FAST_TIMEOUTS, HOST, UP_WAIT,  # noqa: E402
    config_text, echo_handler, echo_roundtrip, metric_exact,
    metrics_text, peer_line, say, wait_for)

WATCH_S = 8     # how long the two share the key before alice1 stops


def run(h):
	r = h.r
	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	bob_port, mport = h.port(), h.port()
	echo = h.server(echo_handler, "echo")
	t = dict(FAST_TIMEOUTS, reconnect_max="4s")
	b = h.gateway("bob", config_text(bob_id, h.workers, listen=bob_port,
	    peers={"alice": {"key": alice_key}},
	    services={"echo": (echo.port, ["alice"])}, timeouts=t) +
	    "metrics: \"%s:%d\"\n" % (HOST, mport))
	fwd1, fwd2 = h.port(), h.port()
	a1 = h.gateway("alice1", config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bob_port}},
	    forwards=[(fwd1, "bob", "echo")], timeouts=t))
	a2 = h.gateway("alice2", config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bob_port}},
	    forwards=[(fwd2, "bob", "echo")], timeouts=t))
	b.start()
	a1.start()
	r.ok(a1.wait_log(peer_line("bob", "session up"), UP_WAIT) is not None,
	    "alice1's session comes up")
	a2.start()
	time.sleep(WATCH_S)

	ups1 = len(a1.grep(peer_line("bob", "session up")))
	downs1 = len(a1.grep(peer_line("bob", "session down")))
	r.ok(ups1 == 1 and downs1 == 0,
	    "alice1 stays up while alice2 tries: one session up, none down",
	    "%d up, %d down" % (ups1, downs1))
	r.ok(echo_roundtrip(fwd1, b"through the first") is None,
	    "an echo through alice1 works")
	err = b.grep(r" error peer=alice two gateways with one identity\? "
	    r"127\.0\.0\.1:\d+ connected while the session from 127\.0\.0\.1:\d+ "
	    r"is live")
	r.ok(len(err) >= 1, "bob logs an error naming both addresses",
	    err[0] if err else "no such line")
	refusals = b.grep(r"peer=alice (two gateways with one identity|a second "
	    r"connection)")
	# Each refused attempt is one line (the log allows 10 per 10 s, so
	# attempts every 200 ms would show as 10 and a "suppressed" note).
	told = a2.grep(r"peer=bob handshake failed .*this peer already has a "
	    r"live session with this key, from 127\.0\.0\.1:\d+: is another "
	    r"gateway running with the same identity\?")
	say("alice2: %d attempts refused in %d s" % (len(told), WATCH_S))
	r.ok(len(told) >= 1, "alice2's log says why, naming the first's address",
	    "no such line")
	r.ok(2 <= len(told) <= 9 and not a2.grep("suppressed"),
	    "alice2 backs off: a handful of attempts in %d s, not one every "
	    "reconnect_min (200 ms)" % WATCH_S, "%d" % len(told))
	r.ok(not a2.grep(peer_line("bob", "session up")),
	    "alice2 never counts a session up while alice1 holds it")
	text = metrics_text(mport)
	up = metric_exact(text, "stpgate_sessions_established_total")
	down = metric_exact(text, "stpgate_sessions_closed_total")
	rival = metric_exact(text, "stpgate_sessions_rival_total")
	r.ok(up is not None and down is not None and up - down == 1,
	    "bob's metrics: established - closed = 1 session up",
	    "established %s, closed %s" % (up, down))
	r.ok(rival is not None and rival >= 1 and rival <= len(refusals),
	    "bob counts the refused rivals", "rival %s, log lines %d" % (
	    rival, len(refusals)))

	# A peer that really moved is not locked out: stop alice1.
	mark = a2.mark()
	a1.stop()
	r.ok(a2.wait_log(peer_line("bob", "session up"), 20, mark) is not None and
	    wait_for(lambda: echo_roundtrip(fwd2, b"through the second") is None,
	    10), "with alice1 gone, alice2 takes over and carries data")
	text = metrics_text(mport)
	up = metric_exact(text, "stpgate_sessions_established_total")
	down = metric_exact(text, "stpgate_sessions_closed_total")
	r.ok(up is not None and down is not None and up - down == 1,
	    "bob's metrics after the take-over: established - closed = 1",
	    "established %s, closed %s" % (up, down))
	a2.stop()
	b.stop()


def main():
	return test_main(run, "two gateways with one identity", timeout=200)


if __name__ == "__main__":
	sys.exit(main())

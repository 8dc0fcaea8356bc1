#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_valgrind.py: both gateways under valgrind memcheck (--leak-check=full,
definite and indirect leaks counted as errors, --error-exitcode=99) through
one gateway scenario, then stopped with SIGTERM: each must exit 0 and its
valgrind log must say 0 errors and nothing definitely or indirectly lost.

The scenario touches most of the code a session runs: 20 concurrent echo
streams of 256 KiB, key updates every 1 MiB (rekey.bytes), a request and
reply with half-close each way, 8 MiB one way checked byte by byte, a
stream refused (service not allowed), an app that resets its connection
mid-transfer, and a drain on SIGTERM with a stream still open.

usage: test_valgrind.py --stpgate PATH [--valgrind PATH] [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1
(77, skipped, when valgrind is missing or the binary is sanitized).
"""

import argparse
import glob
import os
import re
import shutil
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import hlib  # noqa: E402
from gwlib import (workers_arg, HOST, MiB, Harness, Pattern, app_closed_within,  # noqa: E402
    binary_sanitizer, config_text, echo_handler, echo_many, peer_line,
    recv_to_end, say)

TIMEOUTS = {
	"handshake": "30s",
	"connect": "20s",
	"keepalive": "5s",
	"dead_after": "60s",
	"drain": "5s",
	"reconnect_min": "500ms",
	"reconnect_max": "2s",
}
UP_WAIT = 90


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--valgrind", default=shutil.which("valgrind"))
	ap.add_argument("--workers", type=workers_arg, default=2)
	ap.add_argument("--keep", action="store_true")
	args = ap.parse_args()
	if not args.valgrind:
		print("SKIPPED: valgrind is not installed")
		sys.exit(77)
	if binary_sanitizer(args.stpgate):
		print("SKIPPED: %s is a sanitizer build; valgrind cannot run it" % args.stpgate)
		sys.exit(77)
	h = Harness(args.stpgate, workers=args.workers, keep=args.keep, timeout=290)
	r = h.r
	pat = Pattern()
	echo = h.server(echo_handler, "echo")
	bulk = h.server(hlib.sized_source(pat), "bulk")

	def reqreply(c, srv):
		# Read the request to EOF, answer 300 KiB, half-close.
		c.settimeout(60)
		n = 0
		while True:
			d = c.recv(65536)
			if not d:
				break
			n += len(d)
		c.sendall(pat.chunk(0, 300 * 1024))
		c.shutdown(socket.SHUT_WR)
		srv.state["request"] = n
	rr = h.server(reqreply, "reqreply")

	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	_, carol_key = h.keygen("carol")
	bport = h.port()
	f_echo, f_bulk, f_rr, f_secret = h.port(), h.port(), h.port(), h.port()
	rekey = {"bytes": "1MiB"}
	gb = h.gateway("bob", config_text(bob_id, h.workers, listen=bport,
	    peers={"alice": {"key": alice_key}, "carol": {"key": carol_key}},
	    services={"echo": (echo.port, ["alice"]), "bulk": (bulk.port, ["alice"]),
	    "rr": (rr.port, ["alice"]), "secret": (echo.port, ["carol"])},
	    timeouts=TIMEOUTS, rekey=rekey))
	ga = h.gateway("alice", config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bport}},
	    forwards=[(f_echo, "bob", "echo"), (f_bulk, "bob", "bulk"),
	    (f_rr, "bob", "rr"), (f_secret, "bob", "secret")],
	    timeouts=TIMEOUTS, rekey=rekey))
	logs = {}
	for g in (gb, ga):
		logs[g.name] = h.path("valgrind-%s.%%p.log" % g.name)
		g.wrapper = [args.valgrind, "--tool=memcheck", "--leak-check=full",
		    "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
		    "--num-callers=30", "--log-file=" + logs[g.name]]
	gb.start()
	ga.start()
	la = ga.wait_log(peer_line("bob", "session up"), UP_WAIT)
	lb = gb.wait_log(peer_line("alice", "session up"), UP_WAIT)
	if not r.ok(la is not None and lb is not None, "session up under valgrind"):
		finish(h, r, ga, gb, logs)

	# 20 concurrent echo streams, 256 KiB each (crossing key updates)
	base = os.urandom(256 * 1024 + 20 * 4099)
	datas = [base[i * 4099:i * 4099 + 256 * 1024] for i in range(20)]
	t0 = time.monotonic()
	ok, err = echo_many(f_echo, datas, timeout=120)
	r.ok(ok == 20 and err is None, "20 connections x 256 KiB echoed and verified "
	    "(%.1f s)" % (time.monotonic() - t0), "%d verified; %s" % (ok, err))

	# request, half-close, reply, half-close
	s = h.connect(f_rr, timeout=60)
	s.sendall(os.urandom(100 * 1024))
	s.shutdown(socket.SHUT_WR)
	chk = hlib.PrefixCheck(pat)
	n, how = recv_to_end(s, time.monotonic() + 60, chk)
	s.close()
	r.ok(how == "eof" and n == 300 * 1024 and chk.bad is None,
	    "half-close both ways: the whole reply arrived, then EOF",
	    "%s after %d bytes" % (how, n))

	# 8 MiB one way
	got, how, bad, dt = hlib.fetch(f_bulk, 8 * MiB, pat, 120)
	r.ok(got == 8 * MiB and how == "eof" and bad is None, "8 MiB arrived intact "
	    "(%.1f s)" % dt, "%s after %d bytes, first bad byte %s" % (how, got, bad))

	# a refused stream
	how, dt, n = app_closed_within(f_secret, 30, b"hello")
	r.ok(how in ("eof", "reset") and n == 0, "a stream to a service that does "
	    "not allow alice is closed", "%s after %.1f s, %d bytes" % (how, dt, n))

	# an app that resets mid-transfer
	s = socket.create_connection((HOST, f_bulk), timeout=30)
	s.sendall(struct.pack(">Q", 64 * MiB))
	d = s.recv(65536)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	s.close()
	r.ok(len(d) > 0, "an app reset its connection mid-transfer")
	time.sleep(2)

	# a stream still open when SIGTERM comes (drained, then cut)
	s = socket.create_connection((HOST, f_echo), timeout=30)
	s.sendall(b"x" * 1000)
	s.recv(1000)
	r.ok(ga.running() and gb.running(), "both gateways running under valgrind")
	finish(h, r, ga, gb, logs, keep_open=s)


def finish(h, r, ga, gb, logs, keep_open=None):
	for g in (ga, gb):
		if g.proc is None:
			continue
		t0 = time.monotonic()
		rc = g.stop(timeout=180, check=False)
		r.ok(rc == 0, "%s under valgrind exits 0 on SIGTERM (%.1f s)" % (g.name,
		    time.monotonic() - t0), "exit status %s (99: valgrind found errors)" % rc)
	if keep_open is not None:
		keep_open.close()
	for name, pattern in logs.items():
		files = glob.glob(pattern.replace("%p", "*"))
		if not r.ok(files, "%s: a valgrind log" % name):
			continue
		text = open(files[0], errors="replace").read()
		m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
		errors = int(m.group(1)) if m else None
		lost = {}
		for kind in ("definitely", "indirectly", "possibly"):
			m = re.search(kind + r" lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
			lost[kind] = int(m.group(1).replace(",", "")) if m else 0
		clean = "All heap blocks were freed" in text
		say("%s: valgrind: %s errors; lost: definitely %d, indirectly %d, possibly "
		    "%d bytes%s" % (name, errors, lost["definitely"], lost["indirectly"],
		    lost["possibly"], "; all heap blocks were freed" if clean else ""))
		for l in text.splitlines():
			if "still reachable" in l or "in use at exit" in l:
				say("%s: %s" % (name, l.split("== ", 1)[-1].strip()))
		ok = r.ok(errors == 0 and lost["definitely"] == 0 and lost["indirectly"] == 0,
		    "%s: memcheck found no errors and no definite or indirect leaks" % name)
		if not ok:
			for l in text.splitlines()[-150:]:
				sys.stdout.write("    " + l + "\n")
	sys.exit(h.finish())


if __name__ == "__main__":
	main()

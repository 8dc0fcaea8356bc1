#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_udp_loss.py: UDP forwarding over a lossy, slow link.  Two gateways in
network namespaces of their own (hlib.NetPair: veth + tc netem, or the TUN
link emulator), 5% loss and 20 ms delay each way between them:

  - dnsmasq in bob's namespace is bob's udp: service "dns"; dig in alice's
    namespace asks 30 queries through alice's udp: forward and every one
    gets the right answer (the tunnel's TCP recovers the link's loss; dig's
    retries cover a datagram the gateways might drop).
  - 10 apps in alice's namespace each send a burst of 50 numbered
    datagrams (sizes up to 1,400 bytes) at once to a UDP echo in bob's
    namespace, first on flows already open (one round trip each before),
    then on new flows (the burst is sent before bob accepts them): every
    reply is byte-exact, its own flow's, and comes at most once.  UDP may
    drop under pressure, but not silently: every datagram that did not
    come back is counted, by a gateway (stpgate_datagrams_dropped_total:
    e.g. reason "queue" for the 16 a new flow holds before the accept) or
    by the kernel at a full socket (Udp InErrors in the namespaces, which
    carry nothing else).
  - both gateways keep running and exit 0 on SIGTERM.

The namespaces are deleted at exit.  Without the privilege to create them
the test says why and exits 77 (skipped).

usage: test_udp_loss.py --stpgate PATH [--workers N] [--seed S]
                        [--link auto|netem|tun] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0, 1 or 77.
"""

import argparse
import hashlib
import os
import shutil
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import hlib  # noqa: E402
from gwlib import (workers_arg, HOST, Harness, UdpEcho, config_text,  # noqa: E402
    dig, dnsmasq_argv, peer_line, say, spawn)

TIMEOUTS = {
	"handshake": "5s",
	"connect": "3s",
	"keepalive": "2s",
	"dead_after": "30s",
	"drain": "2s",
	"reconnect_min": "200ms",
	"reconnect_max": "1s",
	"datagram_idle": "10s",
}
UP_WAIT = 20
NAMES = [("a.test", "192.0.2.1"), ("b.test", "192.0.2.2"),
    ("c.test", "192.0.2.3"), ("x.example.test", "192.0.2.7"),
    ("y.z.example.test", "192.0.2.7")]
MAGIC = b"stpL"



def payload(flow, seq):
	n = (flow * 53 + seq * 211) % 1400
	body = hashlib.sha256(b"%d/%d" % (flow, seq)).digest()
	return MAGIC + struct.pack(">II", flow, seq) + (body * (n // 32 + 1))[:n]


class Burst(threading.Thread):
	"""An app socket in namespace ns sending n numbered datagrams at once,
	then reading replies until it has them all (and 0.5 s more, to see a
	duplicate) or 5 s pass without one."""

	def __init__(self, ns, flow, port, n, go, warm=True):
		super().__init__(daemon=True)
		self.flow, self.port, self.n, self.go = flow, port, n, go
		self.warm = warm
		self.warmed = None
		self.ready = threading.Event()   # warmed up (or not to be)
		self.got, self.dups, self.bad, self.foreign = set(), 0, [], []
		self.err = None
		with hlib.in_netns(ns):
			self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		try:
			self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
		except OSError:
			pass
		self.s.bind((HOST, 0))

	def run(self):
		s = self.s
		hello = b"hello from %d" % self.flow
		try:
			if self.warm:
				# One round trip first, so that the burst finds the flow
				# open (accepted by bob) rather than waiting for the accept.
				self.warmed = False
				for _ in range(5):
					s.sendto(hello, (HOST, self.port))
					s.settimeout(2.0)
					try:
						if s.recvfrom(70000)[0] == hello:
							self.warmed = True
							break
					except socket.timeout:
						pass
			self.ready.set()
			self.go.wait(30)
			for seq in range(self.n):
				s.sendto(payload(self.flow, seq), (HOST, self.port))
			while True:
				s.settimeout(0.5 if len(self.got) == self.n else 5.0)
				try:
					d, _ = s.recvfrom(70000)
				except socket.timeout:
					break
				if d == hello:
					continue     # a late echo of a resent hello
				if len(d) < 12 or d[:4] != MAGIC:
					self.bad.append("%d bytes, no header" % len(d))
					continue
				f, seq = struct.unpack(">II", d[4:12])
				if f != self.flow:
					self.foreign.append((f, seq))
				elif seq >= self.n or d != payload(f, seq):
					self.bad.append("seq %d differs" % seq)
				elif seq in self.got:
					self.dups += 1
				else:
					self.got.add(seq)
		except OSError as e:
			self.err = repr(e)
		finally:
			self.ready.set()
			s.close()


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--workers", type=workers_arg, default=2)
	ap.add_argument("--seed", type=int, default=None)
	ap.add_argument("--link", choices=("auto", "netem", "tun"), default="auto")
	ap.add_argument("--keep", action="store_true")
	args = ap.parse_args()
	seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
	say("seed %d (rerun with --seed %d)" % (seed, seed))

	hlib.need_root()
	for tool in ("dnsmasq", "dig"):
		if shutil.which(tool) is None:
			# run.sh installs them; say so rather than pass.
			print("test_udp_loss.py: %s is not installed (apt-get install "
			    "iproute2 dnsmasq-base bind9-dnsutils)" % tool)
			print("0 passed, 1 failed")
			sys.exit(1)
	hlib.netpair_run(args.link, seed, lambda net: run(args, net))


def run(args, net):
	h = Harness(args.stpgate, workers=args.workers, keep=args.keep, timeout=150)
	r = h.r

	def watchdog():
		time.sleep(140)
		say("udp_loss: no end after 140 s; deleting the namespaces")
		net.destroy()
	threading.Thread(target=watchdog, daemon=True).start()

	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	bport, dns_port, fwd_dns, fwd_echo = h.port(), h.port(), h.port(), h.port()
	mport_a, mport_b = h.port(), h.port()
	ns_a = ["ip", "netns", "exec", net.a]
	ns_b = ["ip", "netns", "exec", net.b]

	records = ["--local=/test/", "--address=/example.test/192.0.2.7"] + [
	    "--host-record=%s,%s" % nv for nv in NAMES if "example" not in nv[0]]
	dns = spawn(ns_b + dnsmasq_argv(dns_port, records), h.path("dnsmasq.log"))
	say("dnsmasq: started pid %d in %s on port %d" % (dns.pid, net.b, dns_port))
	with hlib.in_netns(net.b):
		echo = UdpEcho()

	tb = config_text(bob_id, h.workers, listen=bport,
	    peers={"alice": {"key": alice_key}},
	    services={"dns": ("udp:%s:%d" % (HOST, dns_port), ["alice"]),
	        "echo": ("udp:%s:%d" % (HOST, echo.port), ["alice"])},
	    timeouts=TIMEOUTS)
	tb = tb.replace('listen: "%s:%d"' % (HOST, bport),
	    'listen: "%s:%d"' % (net.ADDR_B, bport))
	ta = config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bport}},
	    forwards=[
	        {"listen": "udp:%s:%d" % (HOST, fwd_dns), "peer": "bob", "service": "dns"},
	        {"listen": "udp:%s:%d" % (HOST, fwd_echo), "peer": "bob",
	            "service": "echo"}],
	    timeouts=TIMEOUTS)
	ta = ta.replace('dial: "%s:%d"' % (HOST, bport),
	    'dial: "%s:%d"' % (net.ADDR_B, bport))
	gb = h.gateway("bob", hlib.with_sections(tb, metrics=mport_b))
	ga = h.gateway("alice", hlib.with_sections(ta, metrics=mport_a))
	gb.wrapper = ns_b
	ga.wrapper = ns_a

	net.set(loss=0.05, delay_ms=20)
	gb.start()
	ga.start()
	la = ga.wait_log(peer_line("bob", "session up"), UP_WAIT)
	lb = gb.wait_log(peer_line("alice", "session up"), UP_WAIT)
	if not r.ok(la is not None and lb is not None,
	    "session up across the lossy link (alice %s -> bob %s:%d)" % (
	    net.ADDR_A, net.ADDR_B, bport)):
		return h.finish()

	# ---- 30 DNS queries ----
	t0 = time.monotonic()
	wrong = []
	for i in range(30):
		name, want = NAMES[i % len(NAMES)]
		st, ans, out = dig(fwd_dns, name, wrapper=ns_a)
		if st != "NOERROR" or ans != [want]:
			wrong.append("%s: %s %s" % (name, st, ans))
	r.ok(not wrong, "30 dig queries through the tunnel over 5% loss and 20 ms "
	    "delay all get the right answer", "; ".join(wrong[:5]))
	say("30 queries in %.1f s" % (time.monotonic() - t0))

	# ---- bursts through echo flows ----
	def metrics(ns, port):
		with hlib.in_netns(ns):
			return hlib.scrape(port)

	def drops():
		"""{"alice REASON": n, ...}: the gateways' dropped datagrams."""
		out = {}
		for who, ns, port in (("alice", net.a, mport_a), ("bob", net.b, mport_b)):
			for (n, l), v in (metrics(ns, port) or {}).items():
				if n == "stpgate_datagrams_dropped_total" and v:
					k = "%s %s" % (who, dict(l).get("reason"))
					out[k] = int(v)
		return out

	def kernel_drops():
		"""{ns: Udp InErrors}: datagrams the kernel dropped at a socket in
		each namespace (a full receive buffer, mostly)."""
		out = {}
		for ns in (net.a, net.b):
			snmp = hlib.run(["ip", "netns", "exec", ns, "cat",
			    "/proc/net/snmp"]).stdout
			udp = [l.split() for l in snmp.splitlines() if l.startswith("Udp:")]
			out[ns] = int(dict(zip(udp[0][1:], udp[1][1:]))["InErrors"])
		return out

	nflows, per = 10, 50
	for warm in (True, False):
		what = "open flows" if warm else "new flows (sent before bob accepts)"
		go = threading.Event()
		bursts = [Burst(net.a, i, fwd_echo, per, go, warm) for i in range(nflows)]
		for b in bursts:
			b.start()
		if warm:
			for b in bursts:
				b.ready.wait(30)
			r.ok(all(b.warmed for b in bursts), "10 echo flows open across the "
			    "lossy link", "not: %s" % [b.flow for b in bursts if not b.warmed])
		d0, k0, e0 = drops(), kernel_drops(), echo.send_errors
		go.set()
		for b in bursts:
			b.join(60)
		got = sum(len(b.got) for b in bursts)
		d1, k1, e1 = drops(), kernel_drops(), echo.send_errors
		gw = {k: v - d0.get(k, 0) for k, v in d1.items() if v - d0.get(k, 0)}
		kern = {k: v - k0[k] for k, v in k1.items() if v - k0[k]}
		accounted = sum(gw.values()) + sum(kern.values()) + e1 - e0
		say("bursts to %s: %d of %d datagrams came back (per app: %s); dropped "
		    "by the gateways: %s, by the kernel: %s" % (what, got, nflows * per,
		    ", ".join(str(len(b.got)) for b in bursts), gw or "none",
		    kern or "none"))
		r.ok(all(not b.is_alive() and b.err is None for b in bursts),
		    "%s: the burst apps finished" % what,
		    "; ".join(b.err for b in bursts if b.err))
		r.ok(not any(b.bad for b in bursts), "%s: no corrupted datagram in %d"
		    % (what, got), "; ".join("flow %d: %s" % (b.flow, b.bad[:2])
		    for b in bursts if b.bad))
		r.ok(sum(b.dups for b in bursts) == 0, "%s: no datagram came back twice"
		    % what, "%d duplicates" % sum(b.dups for b in bursts))
		r.ok(not any(b.foreign for b in bursts), "%s: no datagram went to "
		    "another flow" % what, "; ".join("flow %d got %s" % (b.flow,
		    b.foreign[:3]) for b in bursts if b.foreign))
		r.ok(got > 0, "%s: datagrams came back" % what)
		# UDP may drop under pressure, but not silently: each datagram
		# that did not come back was counted by a gateway
		# (stpgate_datagrams_dropped_total) or by the kernel at a full
		# socket (these namespaces carry nothing else).
		r.ok(nflows * per - got == accounted, "%s: every datagram that did "
		    "not come back is counted as dropped (%d missing)" % (what,
		    nflows * per - got), "gateways %s, kernel %s, echo send errors "
		    "%d: %d in all" % (gw, kern, e1 - e0, accounted))
	say("echo saw %d datagrams from %d sources" % (echo.count, len(echo.sources)))
	say("link counters: %s" % net.stats())

	r.ok(ga.running() and gb.running(), "both gateways still running")
	r.ok(dns.poll() is None, "dnsmasq ran to the end")
	ga.stop()
	gb.stop()
	echo.close()
	return h.finish()


if __name__ == "__main__":
	main()

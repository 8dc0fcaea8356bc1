#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_udp.py: UDP forwarding (datagram flows) between two gateways on
loopback.  alice has udp: forwards to bob's udp: services: "dns" (dnsmasq),
"echo" (a UDP echo server in this process) and "nosuch" (a service bob does
not have); timeouts.datagram_idle is 1 s; both gateways serve metrics.

  - dig through alice's forward gets dnsmasq's answers: several names (host
    records, a wildcard domain, NXDOMAIN for an unknown name, a ~3 KB TXT
    answer in one datagram), and 20 queries at once, each right.
  - 50 client sockets at once (distinct source ports) each send 20
    numbered datagrams of varied sizes to the echo, two at a time: every reply comes from
    the forward's address, belongs to its own flow, is byte-exact and comes
    at most once; every flow gets replies and nearly all come back.  The
    echo sees 50 distinct sources on bob's side (one socket per flow), each
    carrying one flow only.
  - datagrams of 0, 1, ... 65,507 bytes (IPv4's largest) come back whole.
  - metrics: flows_active counts open flows on both sides; what alice sent
    bob received and the other way (datagrams_total), once quiet.
  - a flow with a datagram every 0.3 s for 2.4 s stays one flow (the echo
    sees one source for it); after silence it ends on both sides
    (flows_active 0) and the next datagram from the same app opens a new
    flow that works.
  - a forward to a service bob does not have: no answer, nothing breaks.
  - bob stops and starts again: alice's flows end with the session, and
    after bob is back the same app and a new one get answers, dig too.

usage: test_udp.py --stpgate PATH [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import hashlib
import os
import shutil
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (test_main, FAST_TIMEOUTS, HOST, UP_WAIT,  # noqa: E402
    UdpEcho, config_text, dig, dnsmasq_argv, metric_samples, metrics_text,
    peer_line, say, spawn, wait_for, wait_sessions_up)

IDLE = "1s"

# name -> (query type, expected answers)
RECORDS = {
	"a.test": ("A", ["192.0.2.1"]),
	"b.test": ("A", ["192.0.2.2"]),
	"c.test": ("A", ["192.0.2.3"]),
	"www.example.test": ("A", ["192.0.2.7"]),
	"deep.down.example.test": ("A", ["192.0.2.7"]),
	"t.test": ("TXT", ['"hello over udp"']),
}
BIG_TXT = ["%02d" % i + "x" * 198 for i in range(15)]   # ~3 KB answer


def dnsmasq_records():
	return ["--local=/test/", "--address=/example.test/192.0.2.7",
	    "--host-record=a.test,192.0.2.1", "--host-record=b.test,192.0.2.2",
	    "--host-record=c.test,192.0.2.3", "--txt-record=t.test,hello over udp",
	    "--txt-record=big.test," + ",".join(BIG_TXT),
	    "--edns-packet-max=4096"]


def metric(port, name, **labels):
	"""The sum of name's samples on the metrics port whose labels include
	labels; None when the endpoint cannot be read."""
	text = metrics_text(port)
	if not text:
		return None
	want = set(labels.items())
	return sum(v for (n, l), v in metric_samples(text).items()
	    if n == name and want <= set(l))


def kernel_udp():
	"""This namespace's Udp counters from /proc/net/snmp ({} if unreadable):
	InErrors and RcvbufErrors count datagrams dropped at a full socket."""
	try:
		with open("/proc/net/snmp") as f:
			rows = [l.split() for l in f if l.startswith("Udp:")]
		return {k: int(v) for k, v in zip(rows[0][1:], rows[1][1:])}
	except (OSError, IndexError, ValueError):
		return {}


def udp_sock(timeout=2.0):
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind((HOST, 0))
	s.settimeout(timeout)
	return s


def ask(s, port, data, tries=3, wait=2.0):
	"""Send data from s to HOST:port and wait for the same bytes back,
	resending up to tries times: (True, None) or (False, what came)."""
	last = None
	for _ in range(tries):
		s.sendto(data, (HOST, port))
		deadline = time.monotonic() + wait
		while True:
			left = deadline - time.monotonic()
			if left <= 0:
				break
			s.settimeout(left)
			try:
				d, a = s.recvfrom(70000)
			except socket.timeout:
				break
			if d == data and a == (HOST, port):
				return True, None
			last = "%d bytes from %s" % (len(d), a)
	return False, last or "no answer"


def drain(s, seconds=0.3):
	s.settimeout(seconds)
	n = 0
	try:
		while True:
			s.recvfrom(70000)
			n += 1
	except socket.timeout:
		pass
	return n


# ---- many flows: numbered datagrams whose content is known ----

MAGIC = b"stpU"


def payload(flow, seq):
	n = (flow * 37 + seq * 101) % 1000
	body = hashlib.sha256(b"%d/%d" % (flow, seq)).digest()
	body = (body * (n // 32 + 1))[:n]
	return MAGIC + struct.pack(">II", flow, seq) + body


class FlowClient(threading.Thread):
	"""One app socket sending n numbered datagrams to port, at most WINDOW
	without a reply (as a client that waits for answers would; a burst
	from 50 apps at once would overflow the forward's socket buffer in the
	kernel when the machine is busy, before the gateway sees it), then
	reading 0.5 s more to see a duplicate.  Datagrams without a reply for
	2 s are given up as lost."""

	WINDOW = 2

	def __init__(self, flow, port, n, start_ev):
		super().__init__(daemon=True)
		self.flow, self.port, self.n, self.start_ev = flow, port, n, start_ev
		self.got = set()
		self.dups = 0
		self.bad = []        # corrupted or unparsable
		self.foreign = []    # another flow's datagrams
		self.wrong_src = 0
		self.err = None
		self.sock = udp_sock()
		try:
			self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
		except OSError:
			pass

	def _take(self, d, a, waiting):
		if a != (HOST, self.port):
			self.wrong_src += 1
		if len(d) < 12 or d[:4] != MAGIC:
			self.bad.append("%d bytes, no header" % len(d))
			return
		f, seq = struct.unpack(">II", d[4:12])
		if f != self.flow:
			self.foreign.append((f, seq))
		elif seq >= self.n or d != payload(f, seq):
			self.bad.append("seq %d: %d bytes differ" % (seq, len(d)))
		elif seq in self.got:
			self.dups += 1
		else:
			self.got.add(seq)
			waiting.discard(seq)

	def run(self):
		s = self.sock
		try:
			self.start_ev.wait(30)
			nxt = 0
			waiting = set()
			while nxt < self.n or waiting:
				while nxt < self.n and len(waiting) < self.WINDOW:
					s.sendto(payload(self.flow, nxt), (HOST, self.port))
					waiting.add(nxt)
					nxt += 1
				s.settimeout(2.0)
				try:
					d, a = s.recvfrom(70000)
				except socket.timeout:
					waiting.clear()      # given up: lost
					continue
				self._take(d, a, waiting)
			s.settimeout(0.5)
			while True:
				try:
					d, a = s.recvfrom(70000)
				except socket.timeout:
					break
				self._take(d, a, waiting)
		except OSError as e:
			self.err = repr(e)
		finally:
			s.close()


def run(h):
	r = h.r
	if shutil.which("dnsmasq") is None or shutil.which("dig") is None:
		r.fail("dnsmasq and dig are installed (apt-get install dnsmasq-base "
		    "bind9-dnsutils)")
		return
	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	bob_port, mport_a, mport_b = h.port(), h.port(), h.port()
	dns_port, fwd_dns, fwd_echo, fwd_none = (h.udp_port(), h.udp_port(),
	    h.udp_port(), h.udp_port())

	dns = spawn(dnsmasq_argv(dns_port, dnsmasq_records()), h.path("dnsmasq.log"))
	say("dnsmasq: started pid %d on port %d" % (dns.pid, dns_port))

	# bob-side source address -> the flow numbers seen from it
	tapped = {}
	tap_lock = threading.Lock()

	def tap(d, a):
		if len(d) >= 12 and d[:4] == MAGIC:
			f = struct.unpack(">I", d[4:8])[0]
			with tap_lock:
				tapped.setdefault(a, set()).add(f)
		elif d.startswith(b"keep "):
			with tap_lock:
				tapped.setdefault(a, set()).add(d[:9])

	echo = UdpEcho(tap=tap)
	timeouts = dict(FAST_TIMEOUTS, datagram_idle=IDLE)
	b = h.gateway("bob", config_text(bob_id, h.workers, listen=bob_port,
	    peers={"alice": {"key": alice_key}},
	    services={"dns": ("udp:%s:%d" % (HOST, dns_port), ["alice"]),
	        "echo": ("udp:%s:%d" % (HOST, echo.port), ["alice"])},
	    timeouts=timeouts) + 'metrics: "%s:%d"\n' % (HOST, mport_b))
	a = h.gateway("alice", config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bob_port}},
	    forwards=[
	        {"listen": "udp:%s:%d" % (HOST, fwd_dns), "peer": "bob", "service": "dns"},
	        {"listen": "udp:%s:%d" % (HOST, fwd_echo), "peer": "bob", "service": "echo"},
	        {"listen": "udp:%s:%d" % (HOST, fwd_none), "peer": "bob",
	            "service": "nosuch"}],
	    timeouts=timeouts) + 'metrics: "%s:%d"\n' % (HOST, mport_a))
	for g in (a, b):
		rc, out, err = h.check(g.cfg_path)
		if not r.ok(rc == 0, "%s's config with udp: %s checks" % (g.name,
		    "forwards" if g is a else "services"), (err or out).strip()):
			return
	b.start()
	a.start()
	la, lb = wait_sessions_up(a, b)
	if not r.ok(la and lb, "the session comes up"):
		return

	flows_a = lambda: metric(mport_a, "stpgate_flows_active")
	flows_b = lambda: metric(mport_b, "stpgate_flows_active")

	# ---- DNS through the tunnel ----
	st, ans, out = dig(fwd_dns, "a.test")
	r.ok(st == "NOERROR" and ans == ["192.0.2.1"],
	    "dig a.test through alice's udp: forward answers 192.0.2.1",
	    "%s %s: %s" % (st, ans, out.strip()[-300:]))
	for name, (qt, want) in RECORDS.items():
		st, ans, out = dig(fwd_dns, name, qt)
		r.ok(st == "NOERROR" and ans == want, "dig %s %s: %s" % (name, qt,
		    " ".join(want)), "%s %s" % (st, ans))
	st, ans, out = dig(fwd_dns, "nope.test")
	r.ok(st == "NXDOMAIN" and ans == [], "dig nope.test: NXDOMAIN comes back",
	    "%s %s" % (st, ans))
	st, ans, out = dig(fwd_dns, "big.test", "TXT", extra=["+bufsize=4096",
	    "+ignore"])
	flags = out.split("flags:", 1)[1].split(";", 1)[0].split() if "flags:" in out else []
	want_big = " ".join('"%s"' % s for s in BIG_TXT)
	r.ok(st == "NOERROR" and ans == [want_big] and "tc" not in flags,
	    "a ~3 KB TXT answer comes whole in one datagram (not truncated)",
	    "%s flags %s, %d answers, %d chars" % (st, flags, len(ans),
	    len(ans[0]) if ans else 0))

	names = list(RECORDS.items()) * 4
	res = [None] * 20

	def one(i):
		name, (qt, want) = names[i]
		st, ans, _ = dig(fwd_dns, name, qt)
		res[i] = (name, st, ans, st == "NOERROR" and ans == want)

	ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(20)]
	for t in ts:
		t.start()
	for t in ts:
		t.join(40)
	badq = [x for x in res if not x or not x[3]]
	r.ok(not badq, "20 dig queries at once (20 flows) each get their own "
	    "right answer", repr(badq[:3]))

	# ---- idle flows end ----
	r.ok(wait_for(lambda: flows_a() == 0 and flows_b() == 0, 15),
	    "the DNS flows end after datagram_idle %s (flows_active 0 on both)" %
	    IDLE, "alice %s, bob %s" % (flows_a(), flows_b()))

	# ---- many flows at once ----
	nflows, per = 50, 20
	go = threading.Event()
	k0 = kernel_udp()
	clients = [FlowClient(i, fwd_echo, per, go) for i in range(nflows)]
	for c in clients:
		c.start()
	go.set()
	for c in clients:
		c.join(60)
	got = sum(len(c.got) for c in clients)
	lost = nflows * per - got
	k1 = kernel_udp()
	say("many flows: %d of %d replies, %d lost; meanwhile the kernel dropped "
	    "%s datagrams at full sockets (all of this machine's namespace)" % (got,
	    nflows * per, lost, k1.get("InErrors", 0) - k0.get("InErrors", 0)))
	r.ok(all(not c.is_alive() for c in clients) and not any(c.err for c in clients),
	    "50 flow clients finished", "; ".join(c.err for c in clients if c.err))
	r.ok(not any(c.bad for c in clients), "no corrupted reply in %d" % got,
	    "; ".join("flow %d: %s" % (c.flow, c.bad[:2]) for c in clients if c.bad))
	r.ok(sum(c.dups for c in clients) == 0, "no reply came twice",
	    "%d duplicates" % sum(c.dups for c in clients))
	r.ok(not any(c.foreign for c in clients), "no reply went to another flow",
	    "; ".join("flow %d got %s" % (c.flow, c.foreign[:3]) for c in clients
	    if c.foreign))
	r.ok(sum(c.wrong_src for c in clients) == 0,
	    "every reply comes from the forward's address")
	r.ok(all(c.got for c in clients), "every one of the 50 flows got replies",
	    "flows without: %s" % [c.flow for c in clients if not c.got])
	r.ok(lost <= nflows * per // 50, "nearly all came back on loopback "
	    "(%d of %d lost, at most 2%% allowed)" % (lost, nflows * per))
	with tap_lock:
		flow_srcs = {a_: fs for a_, fs in tapped.items()
		    if all(isinstance(f, int) for f in fs)}
	mixed = {a_: fs for a_, fs in flow_srcs.items() if len(fs) != 1}
	r.ok(len(flow_srcs) == nflows and not mixed,
	    "the echo saw 50 sources on bob's side, one per flow, each carrying "
	    "one flow only", "%d sources, mixed: %r" % (len(flow_srcs),
	    list(mixed.items())[:3]))
	dropped_a = metric(mport_a, "stpgate_datagrams_dropped_total")
	dropped_b = metric(mport_b, "stpgate_datagrams_dropped_total")
	say("dropped (all reasons): alice %s, bob %s" % (dropped_a, dropped_b))

	# ---- sizes ----
	s = udp_sock()
	for n in (0, 1, 2, 512, 1472, 1473, 8192, 9000, 16384, 32768, 65000, 65507):
		data = os.urandom(n)
		ok, why = ask(s, fwd_echo, data)
		r.ok(ok, "a %d-byte datagram comes back whole" % n, why)
	s.close()

	# ---- flows_active counts open flows; counters agree ----
	r.ok(wait_for(lambda: flows_a() == 0 and flows_b() == 0, 15),
	    "all flows idle out (flows_active 0 on both)",
	    "alice %s, bob %s" % (flows_a(), flows_b()))
	socks = [udp_sock() for _ in range(10)]
	answered = sum(ask(x, fwd_echo, b"count me %d" % i)[0]
	    for i, x in enumerate(socks))
	fa, fb = flows_a(), flows_b()
	r.ok(answered == 10 and fa == 10 and fb == 10,
	    "10 apps answered: flows_active is 10 on both sides",
	    "answered %d, alice %s, bob %s" % (answered, fa, fb))
	for x in socks:
		x.close()

	def counters():
		return (metric(mport_a, "stpgate_datagrams_total", direction="sent"),
		    metric(mport_b, "stpgate_datagrams_total", direction="received"),
		    metric(mport_b, "stpgate_datagrams_total", direction="sent"),
		    metric(mport_a, "stpgate_datagrams_total", direction="received"))
	wait_for(lambda: (lambda c: c[0] == c[1] and c[2] == c[3])(counters()), 5)
	c = counters()
	r.ok(None not in c and c[0] == c[1] and c[2] == c[3] and c[0] >= nflows * per
	    and c[2] >= got, "datagrams_total: alice sent %s = bob received %s; "
	    "bob sent %s = alice received %s" % c)

	# ---- activity keeps a flow; silence ends it; a new one opens ----
	r.ok(wait_for(lambda: flows_a() == 0 and flows_b() == 0, 15),
	    "the counted flows idle out", "alice %s, bob %s" % (flows_a(), flows_b()))
	k = udp_sock()
	oks = 0
	for i in range(8):
		oks += ask(k, fwd_echo, b"keep %03d" % i)[0]
		time.sleep(0.3)
	with tap_lock:
		ksrc = [a_ for a_, fs in tapped.items()
		    if any(isinstance(f, bytes) for f in fs)]
	r.ok(oks == 8 and len(ksrc) == 1, "a datagram every 0.3 s for 2.4 s "
	    "(datagram_idle %s): all answered, one flow throughout" % IDLE,
	    "%d answered, %d sources at the echo" % (oks, len(ksrc)))
	time.sleep(2)
	r.ok(wait_for(lambda: flows_a() == 0 and flows_b() == 0, 5),
	    "after 2 s of silence the flow is gone on both sides",
	    "alice %s, bob %s" % (flows_a(), flows_b()))
	ok, why = ask(k, fwd_echo, b"keep 999")
	r.ok(ok, "the same app's next datagram opens a new flow that works", why)
	r.ok(flows_a() == 1 and flows_b() == 1, "flows_active is 1 on both again",
	    "alice %s, bob %s" % (flows_a(), flows_b()))

	# ---- a service bob does not have ----
	ma = a.mark()
	x = udp_sock()
	xport = x.getsockname()[1]
	ok, why = ask(x, fwd_none, b"anyone?", tries=2, wait=1.0)
	r.ok(not ok, "a forward to a service bob does not have gets no answer")
	x.close()
	line = a.wait_log(r"flow from 127\.0\.0\.1:%d to nosuch refused by the "
	    r"peer: no service named" % xport, 5, ma)
	r.ok(line is not None, "alice logs the flow refused by bob, naming the app",
	    "; ".join(a.grep(r"nosuch", ma)[:2]))
	r.ok(a.running() and b.running(), "both gateways still running")

	# ---- bob restarts: flows end with the session, new ones work ----
	k2 = udp_sock()
	ok, _ = ask(k2, fwd_echo, b"before the restart")
	r.ok(ok, "an app's flow works before bob restarts")
	ma, mb = a.mark(), b.mark()
	b.stop()
	r.ok(a.wait_log(peer_line("bob", "session down"), 10, ma) is not None,
	    "alice sees the session go down")
	r.ok(wait_for(lambda: flows_a() == 0, 10), "alice's flows end with the "
	    "session (flows_active 0)", "alice %s" % flows_a())
	b.start()
	la, lb = wait_sessions_up(a, b, since_a=ma)
	r.ok(la and lb, "the session comes back")
	# The app does not know: it just sends again.  A datagram sent while
	# the session is coming up may be dropped; the retries cover that.
	ok, why = ask(k2, fwd_echo, b"after the restart", tries=5)
	r.ok(ok, "the same app gets answers after bob is back (a new flow)", why)
	drain(k2)
	k2.close()
	ok, why = ask(k, fwd_echo, b"old app after the restart", tries=5)
	r.ok(ok, "another app whose flow was open before gets answers too", why)
	k.close()
	n = udp_sock()
	ok, why = ask(n, fwd_echo, b"a new app after the restart")
	r.ok(ok, "a new app gets answers after the restart", why)
	n.close()
	st, ans, _ = dig(fwd_dns, "b.test")
	r.ok(st == "NOERROR" and ans == ["192.0.2.2"], "dig works after the "
	    "restart", "%s %s" % (st, ans))

	a.stop()
	b.stop()
	echo.close()
	r.ok(dns.poll() is None, "dnsmasq ran to the end")
	dns.terminate()
	try:
		dns.wait(timeout=10)
	except Exception:
		dns.kill()


if __name__ == "__main__":
	sys.exit(test_main(run, __doc__))

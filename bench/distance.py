#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
distance.py: one TCP stream across a slow, far link, direct and through an
stpgate pair (issue 17, "Speed at distance": the measurement, no tuning).
Run it through bench/distance.sh, which installs iperf3 and gnuplot and
builds stpgate first.

Two network namespaces of our own (stpd-<pid>-a and stpd-<pid>-b), each with
a TUN device, joined by tests/hardening/hlib.py's link emulator with its rate
knob set.  Each direction of the link is a serializer at RATE bit/s (packets
leave one after the other, each taking len*8/RATE), behind a drop-tail queue
of QUEUE bytes (default one bandwidth-delay product), then a fixed one-way
delay of RTT/2, and an independent loss of each packet (applied in both
directions, as netem on both ends of a veth pair would).  No jitter, no
reordering.  The TUN devices have the default MTU (1500) and no offloads, so
the link carries 1500-byte packets.  We always use the emulator, netem or
not, so that figures from different kernels compare.  Leftover namespaces of
a run that was killed (its pid gone) are deleted at the next start.

Systems, in turn run by run (A B, B A, ...):
  direct   iperf3 -c 10.199.0.2 in namespace A, iperf3 -s in namespace B
  stpgate  iperf3 -c 127.0.0.1:FWD in A -> alice (A) -> the link -> bob (B)
           -> iperf3 -s on 127.0.0.1 in B; both gateways with the default
           configuration (no workers:, no flow:, no limits: lines)

First the emulator's rate is calibrated: at the first RTT, 0 loss, direct
TCP at each candidate rate; the highest rate at which direct reaches 90% of
it is the one used (unless --rate).  Then, per cell (RTT x loss), both
gateways are restarted (a new session whose TCP connection starts on this
link: congestion control keeps what it learned of the previous one), one
short untimed stpgate transfer warms the session (a tunnel is up long before
anyone uses it), and N runs of each system alternate.  Per run: iperf3's
received rate for the whole transfer, the rate over its second half (from
the receiver's intervals: the ramp excluded), and three `ss` snapshots of
the sockets on the path (where the bytes wait).

Root is needed (namespaces, TUN).  Every process started is killed by PID,
the namespaces deleted, at exit; a watchdog ends the run after --max-seconds.

usage: distance.py --stpgate PATH [--quick] [--runs N] [--time S] [--rate MBIT]
       [--rates LIST] [--rtts LIST] [--losses LIST] [--queue-bdp F]
       [--cc NAME] [--out DIR] [--keep] [--seed S] [--max-seconds S]
"""

import argparse
import collections
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "hardening"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import benchlib  # noqa: E402
import gwlib  # noqa: E402
from benchlib import (ADDR_B, Link, cpu_ticks_of, cpu_shares, fmt,  # noqa: E402
    gateway_pair, listening, loadavg, port_of, queue_limit, ss, start_pair)
from gwlib import HOST, say, spawn  # noqa: E402


# ---------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------

def spawn_split(argv, out_path, err_path):
	"""gwlib.spawn with stdout and stderr to separate files (iperf3's JSON
	stays clean); killed at exit like everything gwlib starts."""
	with open(out_path, "wb") as out, open(err_path, "wb") as err:
		p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
		    preexec_fn=gwlib._child_setup, close_fds=True)
	with gwlib._procs_lock:
		gwlib._procs.append(p)
	return p


class Bench:
	def __init__(self, args, link, h):
		self.a = args
		self.link = link
		self.h = h
		self.iport = h.port()      # the iperf3 server, in namespace B
		self.bport = h.port()      # bob's listener on ADDR_B
		self.fport = h.port()      # alice's forward, 127.0.0.1 in A
		self.rate = None
		self.runs = []             # every run's record
		self.cal = []              # calibration records
		self.tmp = h.dir
		self.n = 0
		self.ga = self.gb = None

	# ---- gateways ----

	def setup_gateways(self):
		self.ga, self.gb = gateway_pair(self.h, self.link, self.bport,
		    {"iperf": (self.iport, ["alice"])}, [(self.fport, "bob", "iperf")],
		    show_check=True)

	def restart_gateways(self):
		for g in (self.gb, self.ga):
			if g.running():
				g.stop(check=False)
		start_pair(self.h, self.ga, self.gb)

	# ---- one iperf3 run ----

	def iperf(self, system, secs, snaps=True):
		"""One iperf3 transfer A -> B; returns a record."""
		self.n += 1
		n = self.n
		srv_log = os.path.join(self.tmp, "srv-%d.log" % n)
		srv = spawn(["ip", "netns", "exec", self.link.b, "iperf3", "-s", "-1",
		    "-J", "-p", str(self.iport)], srv_log)
		listening(self.link.b, self.iport, srv)
		host, port = (ADDR_B, self.iport) if system == "direct" else (HOST, self.fport)
		out_path = os.path.join(self.tmp, "cli-%d.json" % n)
		emu_pid = self.link.emu.pid
		pids = {"emu": emu_pid, "alice": self.ga.pid if self.ga.running() else None,
		    "bob": self.gb.pid if self.gb.running() else None}
		t0c = cpu_ticks_of(pids)
		self.link.zero()
		drops0 = self.link.tun_drops()
		t0 = time.monotonic()
		cli = spawn_split(["ip", "netns", "exec", self.link.a, "iperf3", "-c", host,
		    "-p", str(port), "-t", "%g" % secs, "-J", "--get-server-output",
		    "--connect-timeout", "5000"], out_path, out_path + ".err")
		snapshots = []
		if snaps:
			for frac in (0.4, 0.6, 0.8):
				at = t0 + 0.3 + frac * secs
				while time.monotonic() < at and cli.poll() is None:
					time.sleep(min(0.05, max(0.0, at - time.monotonic())))
				if cli.poll() is not None:
					break
				snapshots.append({"at": round(time.monotonic() - t0, 2),
				    "a": ss(self.link.a), "b": ss(self.link.b)})
		try:
			cli.wait(timeout=secs + 40)
		except subprocess.TimeoutExpired:
			os.kill(cli.pid, signal.SIGKILL)
			cli.wait(timeout=10)
		wall = time.monotonic() - t0
		t1c = cpu_ticks_of(pids)
		try:
			srv.wait(timeout=5)
		except subprocess.TimeoutExpired:
			os.kill(srv.pid, signal.SIGKILL)
			srv.wait(timeout=10)
		emu = self.link.counters()
		drops = self.link.tun_drops() - drops0
		rec = {"n": n, "system": system, "secs": secs, "wall": round(wall, 2),
		    "mbit": None, "steady": None, "error": None, "emu": emu,
		    "tun_drops": drops, "snapshots": snapshots,
		    "cpu": cpu_shares(t0c, t1c, wall)}
		try:
			with open(out_path) as f:
				j = json.load(f)
		except (OSError, ValueError) as e:
			rec["error"] = "no iperf3 JSON: %r" % e
			return rec
		if j.get("error"):
			rec["error"] = j["error"]
		try:
			rec["mbit"] = j["end"]["sum_received"]["bits_per_second"] / 1e6
			rec["bytes"] = j["end"]["sum_received"]["bytes"]
			rec["sender_retrans"] = j["end"]["sum_sent"].get("retransmits")
		except (KeyError, TypeError):
			pass
		try:
			ivs = j["server_output_json"]["intervals"]
			half = [iv["sum"] for iv in ivs if iv["sum"]["start"] >= secs / 2.0 - 0.01
			    and not iv["sum"].get("omitted")]
			by = sum(s["bytes"] for s in half)
			dt = sum(s["seconds"] for s in half)
			if dt > 0:
				rec["steady"] = by * 8 / dt / 1e6
			rec["intervals"] = [round(iv["sum"]["bits_per_second"] / 1e6, 2)
			    for iv in ivs]
		except (KeyError, TypeError):
			pass
		if rec["mbit"] is None and rec["error"] is None:
			rec["error"] = "no received rate in the iperf3 JSON"
		return rec

	# ---- the plan ----

	def qlimit(self, rate_mbit, rtt_ms):
		return queue_limit(rate_mbit, rtt_ms, self.a.queue_bdp)

	def calibrate(self):
		a = self.a
		rtt = a.rtts[0]
		if a.rate:
			self.rate = a.rate
			say("rate: %g Mbit/s, given (no calibration)" % a.rate)
			return
		# the emulator without a rate limit first: what it carries at all
		self.link.shape(0, 0, rtt, self.qlimit(0, rtt))
		r = self.iperf("direct", a.cal_time)
		r.update(rate=0, rtt=rtt)
		self.cal.append(r)
		say("calibration: no rate limit, RTT %g ms: direct %s Mbit/s (emulator "
		    "CPU %s)" % (rtt, fmt(r["mbit"]), fmt(r["cpu"].get("emu"))))
		best = None
		for rate in a.rates:
			self.link.shape(rate, 0, rtt, self.qlimit(rate, rtt))
			got = []
			for _ in range(a.cal_runs):
				r = self.iperf("direct", a.cal_time)
				r.update(rate=rate, rtt=rtt)
				self.cal.append(r)
				# the second half: the link's rate, not how long the ramp took
				got.append(r["steady"] or r["mbit"] or 0.0)
				say("calibration: %g Mbit/s, RTT %g ms: direct %s Mbit/s, second "
				    "half %s (emulator CPU %s, TUN drops %d)" % (rate, rtt,
				    fmt(r["mbit"]), fmt(r["steady"]), fmt(r["cpu"].get("emu")),
				    r["tun_drops"]))
			if statistics.median(got) >= 0.9 * rate:
				best = rate
			else:
				break
		if best is None:
			best = a.rates[0]
			say("calibration: direct TCP reached 90%% of no rate tried; using "
			    "the lowest, %g Mbit/s" % best)
		self.rate = best
		say("rate: %g Mbit/s" % best)

	def cells(self):
		a = self.a
		for rtt in a.rtts:
			for loss in a.losses:
				say("cell: %g Mbit/s, RTT %g ms, loss %g%%" % (self.rate, rtt, loss))
				self.link.shape(self.rate, loss / 100.0, rtt, self.qlimit(self.rate, rtt))
				self.restart_gateways()
				w = self.iperf("stpgate", a.warm, snaps=False)
				say("  warm-up stpgate %g s: %s Mbit/s" % (a.warm, fmt(w["mbit"])))
				for i in range(a.runs):
					order = ("direct", "stpgate") if i % 2 == 0 else ("stpgate", "direct")
					for system in order:
						r = self.iperf(system, a.time)
						r.update(rate=self.rate, rtt=rtt, loss=loss, run=i)
						self.runs.append(r)
						say("  run %d %-7s %s Mbit/s (second half %s)%s" % (i + 1,
						    system, fmt(r["mbit"]), fmt(r["steady"]),
						    " error: %s" % r["error"] if r["error"] else ""))


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------

def med(xs):
	xs = [x for x in xs if x is not None]
	return statistics.median(xs) if xs else None


def spread(xs):
	xs = [x for x in xs if x is not None]
	if not xs:
		return "-"
	if len(xs) == 1:
		return fmt(xs[0])
	return "%s (%s–%s)" % (fmt(statistics.median(xs)), fmt(min(xs)), fmt(max(xs)))


def diag(runs, system, b):
	"""Medians over a cell's snapshots of where the bytes were."""
	vals = collections.defaultdict(list)

	def tcp(d):
		if "cwnd" in d and "mss" in d:
			vals["cwnd_kib"].append(d["cwnd"] * d["mss"] / 1024)
		vals["rtt"].append(d.get("rtt_ms"))
		vals["bw"].append(d.get("bbr_bw_mbit"))
		vals["sendq_kib"].append(d["sendq"] / 1024)
		vals["notsent_kib"].append(d.get("notsent", 0) / 1024)

	for r in runs:
		for s in r["snapshots"]:
			if system == "direct":
				socks = [d for d in s["a"] if d["peer"] == "%s:%d" % (ADDR_B, b.iport)]
				if socks:
					tcp(max(socks, key=lambda d: d.get("bytes_acked", 0)))
				continue
			sess = [d for d in s["a"] if d["peer"] == "%s:%d" % (ADDR_B, b.bport)]
			app = [d for d in s["a"] if port_of(d["local"]) == b.fport]
			bsess = [d for d in s["b"] if port_of(d["local"]) == b.bport]
			bapp = [d for d in s["b"] if port_of(d["peer"]) == b.iport]
			if sess:
				tcp(sess[0])
			if app:
				vals["app_recvq_kib"].append(max(d["recvq"] for d in app) / 1024)
			if bsess:
				vals["b_recvq_kib"].append(bsess[0]["recvq"] / 1024)
			if bapp:
				vals["b_app_sendq_kib"].append(max(d["sendq"] for d in bapp) / 1024)
	return {k: med(v) for k, v in vals.items()}


RAW_KEYS = ("local", "peer", "recvq", "sendq", "cc", "cwnd", "mss", "rtt_ms",
    "notsent", "unacked", "retrans", "bytes_acked", "bbr_bw_mbit", "pacing_mbit",
    "delivery_mbit", "app_limited")


def trim(rec, ports):
	"""A run's record for the raw file: the snapshots cut to the sockets on
	the path (not the iperf3 client's own, not idle ones) and a few fields."""
	def keep(ns, d):
		lp, pp = port_of(d["local"]), port_of(d["peer"])
		if ns == "a":
			return (d["peer"] in ("%s:%d" % (ADDR_B, ports["iperf"]),
			    "%s:%d" % (ADDR_B, ports["bob"])) or lp == ports["forward"])
		return lp == ports["bob"] or pp == ports["iperf"]
	out = dict(rec)
	out["snapshots"] = [{"at": s["at"], **{ns: [{k: d[k] for k in RAW_KEYS if k in d}
	    for d in s[ns] if keep(ns, d)] for ns in ("a", "b")}}
	    for s in rec.get("snapshots", [])]
	return out


def report(b, args, t_start, link_info):
	a = args
	stamp, md_path, png = benchlib.report_paths(a, "distance")
	elapsed = time.monotonic() - t_start
	ver = benchlib.stpgate_version(a.stpgate)
	try:
		iv = subprocess.run(["iperf3", "-v"], capture_output=True, text=True,
		    timeout=10).stdout.split()[1]
	except (OSError, IndexError, subprocess.TimeoutExpired):
		iv = "?"

	rows = []
	L = []
	L.append("# One TCP stream at a distance: direct and through stpgate")
	L.append("")
	L.extend(benchlib.environment_lines(a, elapsed,
	    "the emulator, iperf3 and the gateways"))
	L.append("- %s (%s), default configuration (no `workers:`, `flow:` or "
	    "`limits:` lines: flow.window 256 KiB, flow.max_window 16 MiB, "
	    "limits.session_buffer 16 MiB); iperf3 %s" % (ver, a.stpgate, iv))
	L.append("- TCP in both namespaces: congestion control %s, tcp_rmem %s, "
	    "tcp_wmem %s, tcp_no_metrics_save 1 (no cached ssthresh between runs)" % (
	    link_info["cc"], link_info["rmem"], link_info["wmem"]))
	L.append("- link: two namespaces, TUN devices (MTU 1500, no offloads) joined by "
	    "tests/hardening/hlib.py's userspace emulator with its rate knob: per "
	    "direction a drop-tail queue of %g× the bandwidth-delay product (at least "
	    "64 packets), a serializer at the rate, RTT/2 of delay, and independent "
	    "loss of each packet in both directions; no jitter, no reordering" % a.queue_bdp)
	L.append("- each cell: both gateways restarted (a new session on the new link), "
	    "one %g s stpgate warm-up not counted, then %d run(s) of %g s per system, "
	    "direct and stpgate alternating (A B, B A, ...); figures are medians "
	    "(min–max)" % (a.warm, a.runs, a.time))
	L.append("")
	L.append("## Rate of the emulated link")
	L.append("")
	if b.cal:
		L.append("Direct TCP at RTT %g ms, no loss, %d × %g s per rate, ascending "
		    "until one fails; the rate used is the highest at which direct TCP "
		    "reached 90%% of it over the second half of its runs (the median). "
		    "TCP's payload is at most 1448/1500 = 96.5%% of the IP bytes the link "
		    "counts. Emulator CPU: its one thread's share of a CPU over the run; "
		    "TUN drops: packets the kernel dropped because the emulator did not "
		    "read them in time." % (a.rtts[0], a.cal_runs, a.cal_time))
		L.append("")
		L.append("| rate set | direct Mbit/s | second half Mbit/s | of the rate | "
		    "emulator CPU | TUN drops | queue drops |")
		L.append("|---|---:|---:|---:|---:|---:|---:|")
		by = collections.OrderedDict()
		for r in b.cal:
			by.setdefault(r["rate"], []).append(r)
		for rate, rs in by.items():
			m = med([r["steady"] or r["mbit"] for r in rs])
			L.append("| %s | %s | %s | %s | %s | %d | %d |" % (
			    "none (unlimited)" if rate == 0 else "%g Mbit/s" % rate,
			    spread([r["mbit"] for r in rs]), spread([r["steady"] for r in rs]),
			    "-" if rate == 0 or m is None else "%.0f%%" % (100 * m / rate),
			    "%.0f%%" % (100 * med([r["cpu"].get("emu") for r in rs]))
			    if med([r["cpu"].get("emu") for r in rs]) is not None else "-",
			    sum(r["tun_drops"] for r in rs),
			    sum(v.get("overflow", 0) for r in rs for v in r["emu"].values())))
		L.append("")
	L.append("Rate used: **%g Mbit/s**%s." % (b.rate, " (given with --rate)" if a.rate else ""))
	L.append("")
	L.append("## Results")
	L.append("")
	L.append("Mbit/s received by iperf3 (one stream, %g s), and over the second half "
	    "of each run only (the receiver's intervals: the ramp left out). Ratio: "
	    "stpgate ÷ direct, of the medians; the issue's goal is ≥ 0.90 in every "
	    "cell." % a.time)
	L.append("")
	L.append("| RTT | loss | direct Mbit/s | stpgate Mbit/s | stpgate/direct | "
	    "direct, 2nd half | stpgate, 2nd half | 2nd half ratio | ≥ 0.9 |")
	L.append("|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
	for rtt in a.rtts:
		for loss in a.losses:
			cell = [r for r in b.runs if r["rtt"] == rtt and r["loss"] == loss]
			d = [r for r in cell if r["system"] == "direct"]
			s = [r for r in cell if r["system"] == "stpgate"]
			dm, sm = med([r["mbit"] for r in d]), med([r["mbit"] for r in s])
			dh, sh = med([r["steady"] for r in d]), med([r["steady"] for r in s])
			ratio = sm / dm if dm and sm is not None else None
			hratio = sh / dh if dh and sh is not None else None
			rows.append((rtt, loss, dm, sm, ratio, [r["mbit"] for r in d],
			    [r["mbit"] for r in s]))
			L.append("| %g ms | %g%% | %s | %s | %s | %s | %s | %s | %s |" % (
			    rtt, loss, spread([r["mbit"] for r in d]), spread([r["mbit"] for r in s]),
			    fmt(ratio, 2), spread([r["steady"] for r in d]),
			    spread([r["steady"] for r in s]), fmt(hratio, 2),
			    "-" if ratio is None else ("yes" if ratio >= 0.9 else "**no**")))
	L.append("")
	L.append("![direct and stpgate at a distance](%s)" % png)
	L.append("")
	L.append("## Where the bytes were")
	L.append("")
	L.append("Medians over the `ss` snapshots taken at 40, 60 and 80%% of each run, in "
	    "KiB unless said. The TCP connection that crosses the link: for direct, "
	    "iperf3's data connection; for stpgate, the session's connection from alice "
	    "to bob. Of it: cwnd × mss, the congestion control's bandwidth estimate "
	    "(BBR's `bw`, when the congestion control is BBR), smoothed RTT, and the "
	    "bytes in the sender's socket not yet sent (`notsent`: the connection, not "
	    "the application, is the limit while this is large). For stpgate also: the "
	    "Recv-Q of alice's sockets from iperf3 (bytes alice has not read: a stream "
	    "without send credit from bob stops being read, and stpgate stops reading "
	    "streams while the session's output is over its high-water mark: about "
	    "10 ms of the session's sending rate, at most limits.session_buffer / 4), "
	    "bob's session Recv-Q (bytes bob has not read) and the Send-Q of bob's "
	    "sockets to the iperf3 server. Lost / queue-dropped: the emulator's "
	    "packets, both directions, per run. CPU: process time over the run ÷ wall "
	    "time, medians over the runs (the emulator's over both systems' runs). BDP at %g Mbit/s: %s."
	    % (b.rate, ", ".join("%g ms %.0f KiB" % (rtt, b.rate * 1e6 / 8 * rtt / 1000
	    / 1024) for rtt in a.rtts)))
	L.append("")
	L.append("| RTT | loss | direct cwnd | direct bw Mbit/s | direct sRTT ms | direct "
	    "notsent | stpgate session cwnd | session bw Mbit/s | session sRTT ms | "
	    "session notsent | alice app Recv-Q | bob session Recv-Q | bob app Send-Q | "
	    "direct lost / queue-dropped | stpgate lost / queue-dropped | alice CPU | "
	    "bob CPU | emulator CPU |")
	L.append("|" + "---:|" * 18)
	for rtt in a.rtts:
		for loss in a.losses:
			cell = [r for r in b.runs if r["rtt"] == rtt and r["loss"] == loss]
			d = [r for r in cell if r["system"] == "direct"]
			s = [r for r in cell if r["system"] == "stpgate"]
			dd, sd = diag(d, "direct", b), diag(s, "stpgate", b)

			def lost(rs):
				lo = med([sum(v.get("lost", 0) for v in r["emu"].values()) for r in rs])
				ov = med([sum(v.get("overflow", 0) for v in r["emu"].values())
				    for r in rs])
				return "%s / %s" % (fmt(lo, 0), fmt(ov, 0))

			def cpu(rs, k):
				m = med([r["cpu"].get(k) for r in rs])
				return "-" if m is None else "%.0f%%" % (100 * m)
			L.append("| %g ms | %g%% | " % (rtt, loss) + " | ".join([
			    fmt(dd.get("cwnd_kib"), 0), fmt(dd.get("bw")), fmt(dd.get("rtt")),
			    fmt(dd.get("notsent_kib"), 0),
			    fmt(sd.get("cwnd_kib"), 0), fmt(sd.get("bw")), fmt(sd.get("rtt")),
			    fmt(sd.get("notsent_kib"), 0), fmt(sd.get("app_recvq_kib"), 0),
			    fmt(sd.get("b_recvq_kib"), 0), fmt(sd.get("b_app_sendq_kib"), 0),
			    lost(d), lost(s), cpu(s, "alice"), cpu(s, "bob"), cpu(cell, "emu")])
			    + " |")
	L.append("")
	errs = [r for r in b.cal + b.runs if r.get("error")]
	if errs:
		L.append("Runs with an error: " + "; ".join("#%d %s: %s" % (r["n"], r["system"],
		    r["error"]) for r in errs))
		L.append("")
	L.append("Raw records (every run, its per-second intervals and snapshots): `%s`." %
	    (stamp + ".json"))
	ports = {"iperf": b.iport, "bob": b.bport, "forward": b.fport}
	raw = {"args": {k: v for k, v in vars(a).items()}, "rate": b.rate,
	    "link": link_info, "ports": ports,
	    "calibration": [trim(r, ports) for r in b.cal],
	    "runs": [trim(r, ports) for r in b.runs]}
	return benchlib.save_report(md_path, L, raw,
	    lambda: plot(rows, b, a, os.path.join(a.out, png)))


def plot(rows, b, a, png):
	"""Bars per cell (direct, stpgate; median with min–max) with gnuplot, as
	bench/run.sh plots."""
	if shutil.which("gnuplot") is None:
		say("no gnuplot: no plot")
		return
	dat = os.path.join(b.tmp, "distance.dat")
	with open(dat, "w") as f:
		for rtt, loss, dm, sm, ratio, dl, sl in rows:
			dl = [x for x in dl if x is not None] or [0]
			sl = [x for x in sl if x is not None] or [0]
			f.write('"%g ms, %g%%" %g %g %g %g %g %g "%s"\n' % (rtt, loss, dm or 0,
			    min(dl), max(dl), sm or 0, min(sl), max(sl),
			    "" if ratio is None else "%.2f×" % ratio))
	gp = os.path.join(b.tmp, "distance.gp")
	with open(gp, "w") as f:
		f.write("""set terminal pngcairo size 1000,520 font "DejaVu Sans,10"
set encoding utf8
set output "%s"
set title "One TCP stream over a %g Mbit/s emulated link (median, min–max bars; %g s runs; label: stpgate ÷ direct)"
set xlabel "RTT, loss"
set ylabel "Mbit/s"
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics scale 0
set yrange [0:%g]
set grid ytics
set key top right
plot "%s" using 2:3:4:xtic(1) title "direct" lc rgb "#000000", \\
     "" using 5:6:7 title "stpgate" lc rgb "#1f3fbf", \\
     "" using ($0):(($7 > $4 ? $7 : $4)):(stringcolumn(8)) with labels offset 0,1 notitle, \\
     %g with lines dt 2 lc rgb "#d62728" title "link rate"
""" % (png, b.rate, a.time, b.rate * 1.25, dat, b.rate))
	benchlib.run_gnuplot(gp)


# ---------------------------------------------------------------------------

def floats(text):
	try:
		v = [float(x) for x in text.split(",") if x.strip()]
	except ValueError:
		raise argparse.ArgumentTypeError("a comma-separated list of numbers: %r" % text)
	if not v:
		raise argparse.ArgumentTypeError("an empty list")
	return v


def main():
	ap = argparse.ArgumentParser(description="One TCP stream across an emulated "
	    "slow, far link: direct and through stpgate.")
	ap.add_argument("--stpgate", required=True)
	ap.add_argument("--quick", action="store_true",
	    help="1 run of 5 s per cell and system, shorter calibration (~2 min)")
	ap.add_argument("--runs", type=int, help="runs per cell and system (3; --quick 1)")
	ap.add_argument("--time", type=float, help="seconds per run (8; --quick 5)")
	ap.add_argument("--rate", type=float, help="the link rate in Mbit/s: no calibration")
	ap.add_argument("--rates", type=floats, default=[50, 100, 200],
	    help="candidate rates to calibrate, ascending (50,100,200)")
	ap.add_argument("--rtts", type=floats, default=[50, 150], help="RTTs in ms (50,150)")
	ap.add_argument("--losses", type=floats, default=[0, 0.1, 1],
	    help="loss in percent, each direction (0,0.1,1)")
	ap.add_argument("--queue-bdp", type=float, default=1.0,
	    help="the link's queue in bandwidth-delay products (1)")
	benchlib.add_run_args(ap, 1500, 600)
	a = ap.parse_args()
	a.runs = a.runs or (1 if a.quick else 3)
	a.time = a.time or (5 if a.quick else 8)
	a.cal_runs = 1 if a.quick else 2
	a.cal_time = 4 if a.quick else 5
	a.warm = 2
	a.max_seconds = a.max_seconds or (600 if a.quick else 1500)
	a.command = a.command or " ".join(["bench/distance.py"] + sys.argv[1:])
	a.rates = sorted(a.rates)
	if not 1 <= a.runs <= 20 or not 1 <= a.time <= 60:
		ap.error("--runs takes 1..20, --time 1..60")
	if any(x <= 0 or x > 10000 for x in a.rates + ([a.rate] if a.rate else [])):
		ap.error("rates are in Mbit/s, 0 < rate <= 10000")
	if any(x < 0 or x > 2000 for x in a.rtts) or any(x < 0 or x >= 100 for x in a.losses):
		ap.error("RTTs 0..2000 ms, losses 0..100%")
	benchlib.check_can_run("distance.py", a.stpgate, ("ip", "ss", "iperf3", "sysctl"))
	benchlib.end_on_signals("distance.py")

	t_start = time.monotonic()
	a.load0 = loadavg()
	link = Link(a.seed)
	h = benchlib.start_harness("distance.py", a, link)
	link_info = benchlib.namespace_tcp("distance.py", link, a.cc)
	b = Bench(a, link, h)
	b.setup_gateways()
	b.calibrate()
	b.cells()
	for g in (b.ga, b.gb):
		if g.running():
			g.stop(check=False)
	report(b, a, t_start, link_info)
	benchlib.teardown(h, link)


if __name__ == "__main__":
	main()

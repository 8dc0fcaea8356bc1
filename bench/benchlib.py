# SPDX-License-Identifier: Apache-2.0
"""
benchlib.py: what the Python benches share (bench/distance.py and
bench/fairness.py; bench/soak.py uses the report's helpers).

  the link      Link: two namespaces of our own joined by TUN devices and
                tests/hardening/hlib.py's link emulator with its rate knob;
                ADDR_A and ADDR_B, their addresses; queue_limit, the
                emulator's queue for a rate and an RTT
  the gateways  pair_configs, gateway_pair, start_pair: alice in namespace
                A dialling bob in B, both in the default configuration
  measuring     ss (`ss -ti` of a namespace), port_of, listening,
                cpu_ticks, cpu_ticks_of, cpu_shares
  the run       add_run_args (the options every bench has), check_can_run,
                end_on_signals, start_harness (with the --max-seconds
                watchdog), namespace_tcp (--cc and the TCP settings),
                teardown
  the report    fmt, loadavg, cpu_model, stpgate_version, run_gnuplot,
                report_paths, environment_lines, save_report

Import it after putting tests/hardening and tests/integration on sys.path
(it imports hlib and gwlib).
"""

import argparse
import atexit
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import hlib
import gwlib
from gwlib import HOST, Harness, config_text, peer_line

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDR_A = "10.199.0.1"
ADDR_B = "10.199.0.2"
DEV = "stpd0"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------
# the link: hlib's namespaces and emulator, with its rate knob
# ---------------------------------------------------------------------------

class Link(hlib.NetPair):
	"""Our two namespaces (PREFIX<pid>-a and -b) joined by TUN devices and
	hlib's link emulator (always the emulator, never netem: see distance.py's
	docstring), with the per-run helpers the benches here need.  Leftover
	namespaces of a run that was killed (its pid gone) are deleted."""

	def __init__(self, seed, prefix="stpd-"):
		super().__init__(kind="tun", seed=seed, prefix=prefix, dev=DEV,
		    txqueuelen=1000)

	def shape(self, rate_mbit, loss, rtt_ms, qlimit):
		"""Both directions: a serializer at rate_mbit (0: none) behind a
		drop-tail queue of qlimit bytes, RTT/2 of delay, loss (a fraction);
		no packet limit (the queue's bytes are the limit).  The counters
		start again from 0."""
		self.set(loss=loss, delay_ms=rtt_ms / 2.0, limit=1 << 30,
		    rate_mbit=rate_mbit, queue_bytes=qlimit)
		self.zero()

	def counters(self):
		"""The emulator's counters per direction since the last zero():
		{"a_to_b": {...}, "b_to_a": {...}} (see hlib.NetPair.stats)."""
		return self.stats().get("dir", {})

	def sysctl(self, key, value=None):
		out = {}
		for ns in self.names:
			argv = ["ip", "netns", "exec", ns, "sysctl", "-n" if value is None
			    else "-w", key if value is None else "%s=%s" % (key, value)]
			out[ns] = hlib.run(argv).stdout.strip()
		return out

	def tun_drops(self):
		"""TX drops of both TUN devices (what the kernel could not hand the
		emulator because it fell behind)."""
		n = 0
		for ns in self.names:
			p = hlib.run(["ip", "netns", "exec", ns, "ip", "-s", "-j", "link",
			    "show", DEV], check=False)
			try:
				j = json.loads(p.stdout)[0]["stats64"]
				n += j["tx"]["dropped"] + j["rx"]["dropped"]
			except (ValueError, KeyError, IndexError):
				pass
		return n


def queue_limit(rate_mbit, rtt_ms, queue_bdp):
	"""The emulator's queue in bytes: queue_bdp bandwidth-delay products at
	rate_mbit and rtt_ms, at least 64 full packets (no rate: no limit)."""
	if not rate_mbit:
		return 1 << 30
	bdp = rate_mbit * 1e6 / 8 * rtt_ms / 1000.0
	return int(max(64 * 1500, queue_bdp * bdp))


# ---------------------------------------------------------------------------
# the gateways: alice in A, bob in B
# ---------------------------------------------------------------------------

def pair_configs(keys, port, services, forwards):
	"""alice's and bob's configuration texts: bob listens on ADDR_B:port
	with services, alice dials it with forwards; keys: {"alice": (id, key),
	"bob": (id, key)}.  The default configuration: no workers: line (workers:
	auto)."""
	alice_id, alice_key = keys["alice"]
	bob_id, bob_key = keys["bob"]
	b = config_text(bob_id, "X", listen=port,
	    peers={"alice": {"key": alice_key}}, services=services)
	b = b.replace('listen: "%s:%d"' % (HOST, port),
	    'listen: "%s:%d"' % (ADDR_B, port))
	a = config_text(alice_id, "X",
	    peers={"bob": {"key": bob_key, "dial": port}}, forwards=forwards)
	a = a.replace('dial: "%s:%d"' % (HOST, port),
	    'dial: "%s:%d"' % (ADDR_B, port))
	a = a.replace("workers: X\n", "")
	b = b.replace("workers: X\n", "")
	assert "workers" not in a and "workers" not in b
	return a, b


def gateway_pair(h, link, port, services, forwards, show_check=False):
	"""alice (in link's namespace A) and bob (in B), configured by
	pair_configs with new keys and checked by `stpgate check` (show_check:
	its workers line said); not started.  Returns (alice, bob)."""
	keys = {"alice": h.keygen("alice"), "bob": h.keygen("bob")}
	ta, tb = pair_configs(keys, port, services, forwards)
	ga = h.gateway("alice", ta)
	gb = h.gateway("bob", tb)
	ga.wrapper = ["ip", "netns", "exec", link.a]
	gb.wrapper = ["ip", "netns", "exec", link.b]
	for g in (ga, gb):
		rc, out, err = h.check(g.cfg_path)
		if rc != 0:
			raise RuntimeError("stpgate check %s: %s" % (g.name, err or out))
		if show_check:
			m = re.search(r"workers[^\n]*", out)
			gwlib.say("%s: stpgate check: %s" % (g.name, m.group(0) if m else "ok"))
	return ga, gb


def start_pair(h, ga, gb):
	"""Start bob, then alice, and wait for the session to come up (30 s)."""
	gb.start()
	ga.start()
	# each start logs to a new file: any "session up" in it is this one's
	la = ga.wait_log(peer_line("bob", "session up"), 30)
	lb = gb.wait_log(peer_line("alice", "session up"), 30)
	if la is None or lb is None:
		h.dump_logs(20)
		raise RuntimeError("the session did not come up across the link")


# ---------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------

def cpu_ticks(pid):
	try:
		with open("/proc/%d/stat" % pid) as f:
			f_ = f.read().rsplit(")", 1)[1].split()
		return int(f_[11]) + int(f_[12])
	except (OSError, IndexError, ValueError):
		return None


def cpu_ticks_of(pids):
	"""{name: CPU ticks so far} of {name: pid} (None: no pid, or gone)."""
	return {k: cpu_ticks(v) if v else None for k, v in pids.items()}


def cpu_shares(before, after, wall):
	"""{name: share of a CPU} between two cpu_ticks_of() wall seconds apart,
	for the names known both times."""
	out = {}
	for k in before:
		if before[k] is not None and after.get(k) is not None and wall > 0:
			out[k] = round((after[k] - before[k]) / CLK_TCK / wall, 3)
	return out


def ss(ns):
	"""Established TCP sockets of namespace ns: a list of dicts with local,
	peer, recvq, sendq and what `ss -ti` tells of each."""
	p = subprocess.run(["ip", "netns", "exec", ns, "ss", "-tinmHO"],
	    capture_output=True, text=True, timeout=10)
	out = []
	for line in p.stdout.splitlines():
		w = line.split()
		if len(w) < 5 or w[0] != "ESTAB":
			continue
		d = {"recvq": int(w[1]), "sendq": int(w[2]), "local": w[3], "peer": w[4]}
		rest = " ".join(w[5:])
		m = re.search(r"\bcwnd:(\d+)", rest)
		if m:
			d["cwnd"] = int(m.group(1))
		m = re.search(r"\bmss:(\d+)", rest)
		if m:
			d["mss"] = int(m.group(1))
		m = re.search(r"\brtt:([\d.]+)/", rest)
		if m:
			d["rtt_ms"] = float(m.group(1))
		for k in ("notsent", "unacked", "bytes_acked", "bytes_received", "lost",
		    "rcv_space", "snd_wnd"):
			m = re.search(r"\b%s:(\d+)" % k, rest)
			if m:
				d[k] = int(m.group(1))
		m = re.search(r"\bretrans:\d+/(\d+)", rest)
		if m:
			d["retrans"] = int(m.group(1))
		for k in ("rwnd_limited", "sndbuf_limited", "busy"):
			m = re.search(r"\b%s:(\d+)ms" % k, rest)
			if m:
				d[k + "_ms"] = int(m.group(1))
		m = re.search(r"\bdelivery_rate ([\d.]+)([KMG]?)bps", rest)
		if m:
			d["delivery_mbit"] = float(m.group(1)) * {"": 1e-6, "K": 1e-3, "M": 1,
			    "G": 1e3}[m.group(2)]
		m = re.search(r"\)\s+([a-z0-9_]+)\s+wscale:", rest) or re.match(
		    r"([a-z0-9_]+)\s+wscale:", rest)
		if m:
			d["cc"] = m.group(1)
		m = re.search(r"\bbbr:\(bw:([\d.]+)([KMG]?)bps,mrtt:([\d.]+)", rest)
		if m:
			d["bbr_bw_mbit"] = float(m.group(1)) * {"": 1e-6, "K": 1e-3, "M": 1,
			    "G": 1e3}[m.group(2)]
			d["bbr_mrtt_ms"] = float(m.group(3))
		m = re.search(r"\bpacing_rate ([\d.]+)([KMG]?)bps", rest)
		if m:
			d["pacing_mbit"] = float(m.group(1)) * {"": 1e-6, "K": 1e-3, "M": 1,
			    "G": 1e3}[m.group(2)]
		d["app_limited"] = " app_limited" in rest
		m = re.search(r"skmem:\(([^)]*)\)", rest)
		if m:
			for kv in m.group(1).split(","):
				mm = re.match(r"([a-z]+)(\d+)", kv)
				if mm:
					d["skmem_" + mm.group(1)] = int(mm.group(2))
		out.append(d)
	return out


def port_of(addr):
	return int(addr.rsplit(":", 1)[1])


def listening(ns, port, proc, timeout=10):
	"""Wait until something listens on TCP port in namespace ns: True, or
	False after timeout or once proc (the server) has ended."""
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline and proc.poll() is None:
		p = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Hltn",
		    "sport = :%d" % port], capture_output=True, text=True, timeout=10)
		if p.stdout.strip():
			return True
		time.sleep(0.05)
	return False


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------

def add_run_args(ap, max_seconds, max_seconds_quick):
	"""The options every bench here ends with: --cc, --out, --keep, --seed,
	--max-seconds (its defaults for the help) and --command (the wrapper's
	command line, for the report)."""
	ap.add_argument("--cc", help="TCP congestion control in both namespaces "
	    "(default: the kernel's default, inherited)")
	ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
	ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
	ap.add_argument("--seed", type=int, default=1)
	ap.add_argument("--max-seconds", type=float, help="end everything after this "
	    "(default %d; --quick %d)" % (max_seconds, max_seconds_quick))
	ap.add_argument("--command", default=None, help=argparse.SUPPRESS)


def check_can_run(name, stpgate, tools):
	"""Exit unless root (77), the tools are in PATH and stpgate is an
	executable (1); name: the script's, the prefix of the message."""
	if os.geteuid() != 0:
		sys.stderr.write("%s: needs root: it creates network namespaces and "
		    "TUN devices (CAP_SYS_ADMIN, CAP_NET_ADMIN); running as uid %d\n" % (
		    name, os.geteuid()))
		sys.exit(77)
	for tool in tools:
		if shutil.which(tool) is None:
			sys.stderr.write("%s: %s is not installed\n" % (name, tool))
			sys.exit(1)
	if not os.access(stpgate, os.X_OK):
		sys.stderr.write("%s: not an executable: %s\n" % (name, stpgate))
		sys.exit(1)


def end_on_signals(name):
	"""SIGTERM/SIGHUP end the run through atexit (processes killed,
	namespaces deleted), as ^C does."""
	def on_signal(sig, _frame):
		raise SystemExit("%s: signal %d" % (name, sig))
	signal.signal(signal.SIGTERM, on_signal)
	signal.signal(signal.SIGHUP, on_signal)


def start_harness(name, a, link):
	"""gwlib's Harness for a run (its directory removed at exit unless
	--keep), and a watchdog that stops everything after --max-seconds."""
	h = Harness(a.stpgate, workers="auto", keep=a.keep, timeout=a.max_seconds + 120)
	if not a.keep:
		atexit.register(shutil.rmtree, h.dir, True)

	def watchdog():
		time.sleep(a.max_seconds)
		gwlib.say("%s: no end after %d s (--max-seconds); stopping everything"
		    % (name, a.max_seconds))
		gwlib._kill_all()
		link.destroy()
		if not a.keep:
			shutil.rmtree(h.dir, ignore_errors=True)
		os._exit(3)
	threading.Thread(target=watchdog, daemon=True).start()
	return h


def namespace_tcp(name, link, cc):
	"""Sets TCP in both namespaces (congestion control cc, if given, and
	tcp_no_metrics_save 1) and returns what it is: {cc, rmem, wmem}.  Exit 2
	if the namespaces may not choose cc."""
	if cc:
		allowed = link.sysctl("net.ipv4.tcp_allowed_congestion_control")[link.a].split()
		if cc not in allowed:
			sys.stderr.write("%s: --cc %s: a namespace may only choose one of "
			    "net.ipv4.tcp_allowed_congestion_control (%s)\n" % (name, cc,
			    " ".join(allowed)))
			sys.exit(2)
		link.sysctl("net.ipv4.tcp_congestion_control", cc)
	link.sysctl("net.ipv4.tcp_no_metrics_save", 1)
	link_info = {
	    "cc": link.sysctl("net.ipv4.tcp_congestion_control")[link.a],
	    "rmem": link.sysctl("net.ipv4.tcp_rmem")[link.a].replace("\t", " "),
	    "wmem": link.sysctl("net.ipv4.tcp_wmem")[link.a].replace("\t", " "),
	}
	gwlib.say("TCP in the namespaces: %s" % link_info)
	return link_info


def teardown(h, link):
	"""The normal end: every process gwlib started killed, the namespaces
	deleted."""
	h._done.set()
	gwlib._kill_all()
	link.destroy()


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------

def fmt(x, nd=None):
	if x is None:
		return "-"
	if nd is None:
		nd = 1 if abs(x) < 100 else 0
		if abs(x) < 10:
			nd = 2
	return "%.*f" % (nd, x)


def loadavg():
	try:
		with open("/proc/loadavg") as f:
			return " ".join(f.read().split()[:3])
	except OSError:
		return "?"


def cpu_model():
	"""The CPU's model name (/proc/cpuinfo), or "?"."""
	try:
		with open("/proc/cpuinfo") as f:
			for line in f:
				if line.startswith("model name"):
					return line.split(":", 1)[1].strip()
	except OSError:
		pass
	return "?"


def stpgate_version(stpgate):
	"""The first line of `stpgate --version`, or "?"."""
	try:
		return subprocess.run([stpgate, "--version"], capture_output=True, text=True,
		    timeout=10).stdout.strip().splitlines()[0]
	except (OSError, IndexError, subprocess.TimeoutExpired):
		return "?"


def run_gnuplot(gp):
	"""Run gnuplot on the script gp; say so if it failed."""
	p = subprocess.run(["gnuplot", gp], capture_output=True, text=True, timeout=60)
	if p.returncode != 0:
		gwlib.say("gnuplot failed: %s" % p.stderr[:300])


def report_paths(a, what):
	"""(stamp, Markdown path, PNG name) of a run's report in --out (made if
	need be): <date>-<host>-<what>, -quick with --quick."""
	stamp = datetime.date.today().strftime("%Y%m%d") + "-" + os.uname().nodename + \
	    "-" + what
	if a.quick:
		stamp += "-quick"
	os.makedirs(a.out, exist_ok=True)
	return stamp, os.path.join(a.out, stamp + ".md"), stamp + ".png"


def environment_lines(a, elapsed, sharers):
	"""The report's first lines: date, host and CPUs; the command and how
	long it took; the load average before and after (sharers: what else
	shares the CPUs)."""
	u = os.uname()
	return [
	    "- date: %s, host: %s, %d CPUs (%s), Linux %s" % (
	        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
	        u.nodename, os.cpu_count(), cpu_model(), u.release),
	    "- command: `%s`, %.0f s" % (a.command, elapsed),
	    "- load average before: %s, after: %s (other work on the machine shares "
	    "the CPUs with %s)" % (a.load0, loadavg(), sharers),
	]


def save_report(md_path, lines, raw, draw):
	"""Write the report (lines) to md_path and raw as JSON beside it, draw
	the plot (draw()), say where the report is and print it."""
	text = "\n".join(lines) + "\n"
	with open(md_path, "w") as f:
		f.write(text)
	with open(md_path[:-len(".md")] + ".json", "w") as f:
		json.dump(raw, f, separators=(",", ":"))
	draw()
	gwlib.say("wrote %s" % md_path)
	sys.stdout.write("\n" + text)
	return md_path

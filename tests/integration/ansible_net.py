#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ansible_net.py: the network side of test_ansible.sh (Python 3 and PyYAML,
which ansible-core needs anyway).

  plan --tmp DIR --hosts N --stpgate BIN   choose free ports, write DIR/plan.json
  inventory --plan FILE --hosts N [--rotate H]   print an inventory for site.yml
  echo --plan FILE                 tagged echo servers, one per host, until killed
  wait-up --plan FILE --hosts N --timeout S [--sessions FILE]
                                   every gateway has every peer up; prints
                                   "HOST PID" per gateway
  same-sessions --before F --after F --involving H
                                   H's sessions are the ones it had before
  pairs --plan FILE --hosts N [--involving H] --timeout S
                                   traffic through every forward, checked
  stream --port P --tag H --state FILE           a long stream, checked, until SIGTERM
  keys --plan FILE --hosts N --rotated H --old K --new K
                                   the configs name only the new key of H

Each host's echo service first sends its host name and a newline, then
echoes, so a pair check knows the stream reached the right host.
"""
import argparse
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import yaml  # python3-yaml, which ansible-core needs anyway


def host_names(n):
    return ["h%02d" % i for i in range(1, n + 1)]


def load_plan(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ---- plan: ports, paths ---------------------------------------------------

def free_ports(count):
    """count distinct ports free on 127.0.0.1, outside the ephemeral range
    (outgoing connections between the gateways take ports from there)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
            lo, hi = (int(x) for x in f.read().split())
    except OSError:
        lo, hi = 32768, 60999
    ranges = [(10000, lo - 1)] if lo - 10000 >= 4 * count else [(hi + 1, 65535)]
    candidates = [p for a, b in ranges for p in range(a, b + 1)]
    random.shuffle(candidates)
    held, ports = [], []
    for p in candidates:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            s.close()
            continue
        held.append(s)
        ports.append(p)
        if len(ports) == count:
            break
    for s in held:
        s.close()
    if len(ports) < count:
        sys.exit("ansible_net: only %d free ports found" % len(ports))
    return ports


def cmd_plan(a):
    names = host_names(a.hosts)
    ports = iter(free_ports(len(names) * (len(names) + 1)))
    hosts = {}
    for h in names:
        d = os.path.join(a.tmp, h)
        hosts[h] = {
            "dir": d,
            "config": os.path.join(d, "stpgate.yaml"),
            "identity": os.path.join(d, "stpgate.key"),
            "bin": os.path.join(d, "stpgate"),
            "peer_port": next(ports),
            "echo_port": next(ports),
            "forwards": {o: next(ports) for o in names if o != h},
        }
    plan = {"tmp": a.tmp, "stpgate": a.stpgate, "hosts": hosts}
    with open(os.path.join(a.tmp, "plan.json"), "w", encoding="utf-8") as f:
        json.dump(plan, f, indent=1)


def cmd_inventory(a):
    plan = load_plan(a.plan)
    names = host_names(a.hosts)
    hosts = {}
    for h in names:
        p = plan["hosts"][h]
        addr = "127.0.0.1:%d" % p["peer_port"]
        hv = {
            "stpgate_dir": p["dir"],
            "stpgate_bin": p["bin"],
            "stpgate_control": os.path.join(p["dir"], "stpgate.sock"),
            "stpgate_listen": addr,
            "stpgate_address": addr,
            "stpgate_services": {
                "echo": {"connect": "127.0.0.1:%d" % p["echo_port"], "allow": "all"}},
            "stpgate_forwards": [
                {"listen": "127.0.0.1:%d" % p["forwards"][o], "peer": o, "service": "echo"}
                for o in names if o != h],
        }
        if h in (a.rotate or []):
            hv["stpgate_rotate"] = True
        hosts[h] = hv
    inv = {"all": {"children": {"stpgate": {
        "vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "ansible_become": False,
            "stpgate_install": "binary",
            "stpgate_binary": plan["stpgate"],
            "stpgate_service_manager": "none",
            "stpgate_settings": {
                "log": {"level": "info"},
                # Every gateway dials from 127.0.0.1 here.
                "limits": {"handshakes_per_source": 1000},
                "timeouts": {"reconnect_min": "100ms", "reconnect_max": "1s",
                             "drain": "1s"},
            },
        },
        "hosts": hosts,
    }}}}
    yaml.safe_dump(inv, sys.stdout, sort_keys=False)


# ---- echo ------------------------------------------------------------------

def echo_conn(conn, tag):
    try:
        conn.sendall(tag)
        while True:
            b = conn.recv(65536)
            if not b:
                break
            conn.sendall(b)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        conn.close()


def echo_listener(sock, tag):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=echo_conn, args=(conn, tag), daemon=True).start()


def cmd_echo(a):
    plan = load_plan(a.plan)
    for h, p in plan["hosts"].items():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p["echo_port"]))
        s.listen(128)
        threading.Thread(target=echo_listener, args=(s, (h + "\n").encode()),
                         daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()  # until SIGTERM


# ---- gateways up -----------------------------------------------------------

def status(plan, h):
    p = plan["hosts"][h]
    r = subprocess.run([plan["stpgate"], "status", "--json", "-c", p["config"]],
                       capture_output=True, text=True, timeout=10, check=False)
    if r.returncode != 0:
        return None, (r.stderr or r.stdout).strip()
    return json.loads(r.stdout), ""


def cmd_wait_up(a):
    plan = load_plan(a.plan)
    names = host_names(a.hosts)
    deadline = time.monotonic() + a.timeout
    while True:
        pending, pids, sessions = [], {}, {}
        for h in names:
            st, err = status(plan, h)
            if st is None:
                pending.append("%s: %s" % (h, err))
                continue
            pids[h] = st["pid"]
            peers = {x["peer"]: x for x in st["peers"]}
            sessions[h] = {p: x["session"] for p, x in peers.items()}
            for o in names:
                if o == h:
                    continue
                x = peers.get(o)
                if x is None:
                    pending.append("%s: no peer %s in its running config" % (h, o))
                elif x["state"] != "up":
                    pending.append("%s: peer %s is %s (%s)" % (
                        h, o, x["state"], x.get("last_error") or "no error"))
        if not pending:
            for h in names:
                print(h, pids[h])
            if a.sessions:
                with open(a.sessions, "w", encoding="utf-8") as f:
                    json.dump(sessions, f, indent=1)
            return 0
        if time.monotonic() > deadline:
            print("not up after %d s:" % a.timeout, file=sys.stderr)
            for line in pending[:20]:
                print("  " + line, file=sys.stderr)
            if len(pending) > 20:
                print("  ... and %d more" % (len(pending) - 20), file=sys.stderr)
            return 1
        time.sleep(0.2)


def cmd_same_sessions(a):
    """The sessions of H with its peers are the ones it had before (pairs
    that had none before, with a host that joined, are not compared)."""
    with open(a.before, encoding="utf-8") as f:
        before = json.load(f)
    with open(a.after, encoding="utf-8") as f:
        after = json.load(f)
    bad = []
    for h in sorted(after):
        for p in sorted(after[h]):
            # A pair that had no session before (a host that joined) is new.
            if p not in before.get(h, {}):
                continue
            if a.involving in (h, p) and before[h][p] != after[h][p]:
                bad.append("%s: its session with %s was %s, is %s" % (
                    h, p, before.get(h, {}).get(p), after[h][p]))
    for line in bad:
        print("  " + line, file=sys.stderr)
    return 1 if bad else 0


# ---- pairs -----------------------------------------------------------------

def recv_line(s, limit=64):
    buf = b""
    while not buf.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            raise ConnectionError("closed before the echo's tag (got %r)" % buf)
        buf += b
        if len(buf) > limit:
            raise ConnectionError("no tag line: %r" % buf)
    return buf[:-1].decode()


def check_pair(port, want_tag, timeout, size):
    data = os.urandom(size)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        tag = recv_line(s)
        if tag != want_tag:
            return "reached %s, not %s" % (tag, want_tag)
        got = bytearray()

        def reader():
            try:
                while len(got) < size:
                    b = s.recv(65536)
                    if not b:
                        break
                    got.extend(b)
            except OSError:
                pass

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        t.join()
        if bytes(got) != data:
            return "echo differs: sent %d bytes, got %d back%s" % (
                size, len(got), "" if len(got) != size else " (corrupted)")
        return None


def cmd_pairs(a):
    plan = load_plan(a.plan)
    names = host_names(a.hosts)
    pairs = [(x, y) for x in names for y in names if x != y
             and (not a.involving or a.involving in (x, y))]
    results = {}

    def one(x, y):
        port = plan["hosts"][x]["forwards"][y]
        deadline = time.monotonic() + a.timeout
        err = None
        while time.monotonic() < deadline:
            try:
                err = check_pair(port, y, a.timeout, a.size)
            except OSError as e:
                err = "%s: %s" % (type(e).__name__, e)
            if err is None:
                break
            time.sleep(0.2)
        results[(x, y)] = err

    threads = [threading.Thread(target=one, args=p) for p in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = [(p, e) for p, e in sorted(results.items()) if e]
    for (x, y), e in bad:
        print("  %s -> %s (port %d): %s" % (x, y, plan["hosts"][x]["forwards"][y], e),
              file=sys.stderr)
    print("%d of %d pairs passed %d bytes each way" % (len(pairs) - len(bad), len(pairs),
                                                      a.size))
    return 1 if bad else 0


# ---- a long stream ---------------------------------------------------------

CHUNK = 16384


def chunk(seed, i):
    """The i-th CHUNK bytes of the stream: SHAKE-256 of the seed and i."""
    return hashlib.shake_256(b"%s:%d" % (seed, i)).digest(CHUNK)


def cmd_stream(a):
    seed = b"%d" % a.seed
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    state = {"sent": 0, "verified": 0, "error": None}
    lock = threading.Lock()

    def save(final=False):
        with lock:
            st = dict(state, final=final)
        tmp = a.state + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(st, f)
        os.replace(tmp, a.state)

    try:
        s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        tag = recv_line(s)
        if tag != a.tag:
            raise ConnectionError("reached %s, not %s" % (tag, a.tag))
        s.settimeout(None)
    except OSError as e:
        state["error"] = "connect: %s" % e
        save(True)
        return 1

    def reader():
        buf = bytearray()
        i = 0
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                buf.extend(b)
                while len(buf) >= CHUNK:
                    if bytes(buf[:CHUNK]) != chunk(seed, i):
                        raise ValueError("byte %d..%d differs from what was sent"
                                         % (i * CHUNK, (i + 1) * CHUNK))
                    del buf[:CHUNK]
                    i += 1
                    with lock:
                        state["verified"] = i * CHUNK
            if buf:
                raise ValueError("%d stray bytes at the end" % len(buf))
        except (OSError, ValueError) as e:
            with lock:
                state["error"] = "read: %s" % e
        finally:
            stop.set()

    rt = threading.Thread(target=reader)
    rt.start()
    interval = CHUNK / float(a.rate)
    i = 0
    next_t = time.monotonic()
    last_save = 0.0
    try:
        while not stop.is_set():
            s.sendall(chunk(seed, i))
            i += 1
            with lock:
                state["sent"] = i * CHUNK
            now = time.monotonic()
            if now - last_save > 0.1:
                save()
                last_save = now
            next_t += interval
            stop.wait(max(0.0, next_t - time.monotonic()))
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        with lock:
            state["error"] = state["error"] or "write: %s" % e
    rt.join(timeout=15)
    with lock:
        if rt.is_alive():
            state["error"] = state["error"] or "the echo did not finish within 15 s"
        elif not state["error"] and state["verified"] != state["sent"]:
            state["error"] = "sent %d bytes, %d came back" % (state["sent"], state["verified"])
    save(True)
    s.close()
    return 1 if state["error"] else 0


# ---- the keys in the configs ----------------------------------------------

def cmd_keys(a):
    plan = load_plan(a.plan)
    names = host_names(a.hosts)
    bad = []
    for h in names:
        with open(plan["hosts"][h]["config"], encoding="utf-8") as f:
            text = f.read()
        cfg = yaml.safe_load(text)
        if a.old in text:
            bad.append("%s: its config still names the old key" % h)
        if h == a.rotated:
            if cfg.get("identity") != plan["hosts"][h]["identity"]:
                bad.append("%s: identity is %s" % (h, cfg.get("identity")))
            if "previous_identity" in cfg:
                bad.append("%s: previous_identity is still there" % h)
            continue
        key = cfg.get("peers", {}).get(a.rotated, {}).get("key")
        if key not in (a.new, [a.new]):
            bad.append("%s: peers.%s.key is %r, want %s" % (h, a.rotated, key, a.new))
    for line in bad:
        print("  " + line, file=sys.stderr)
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plan")
    p.add_argument("--tmp", required=True)
    p.add_argument("--hosts", type=int, required=True)
    p.add_argument("--stpgate", required=True)
    p = sub.add_parser("inventory")
    p.add_argument("--plan", required=True)
    p.add_argument("--hosts", type=int, required=True)
    p.add_argument("--rotate", action="append")
    p = sub.add_parser("echo")
    p.add_argument("--plan", required=True)
    p = sub.add_parser("wait-up")
    p.add_argument("--plan", required=True)
    p.add_argument("--hosts", type=int, required=True)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--sessions", help="write {host: {peer: session}} here")
    p = sub.add_parser("same-sessions")
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--involving", required=True)
    p = sub.add_parser("pairs")
    p.add_argument("--plan", required=True)
    p.add_argument("--hosts", type=int, required=True)
    p.add_argument("--involving")
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--size", type=int, default=65536)
    p = sub.add_parser("stream")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--rate", type=int, default=512 * 1024, help="bytes per second")
    p.add_argument("--seed", type=int, default=20261207)
    p = sub.add_parser("keys")
    p.add_argument("--plan", required=True)
    p.add_argument("--hosts", type=int, required=True)
    p.add_argument("--rotated", required=True)
    p.add_argument("--old", required=True)
    p.add_argument("--new", required=True)
    a = ap.parse_args()
    fn = {"plan": cmd_plan, "inventory": cmd_inventory, "echo": cmd_echo,
          "wait-up": cmd_wait_up, "same-sessions": cmd_same_sessions,
          "pairs": cmd_pairs, "stream": cmd_stream, "keys": cmd_keys}[a.cmd]
    sys.exit(fn(a) or 0)


if __name__ == "__main__":
    main()

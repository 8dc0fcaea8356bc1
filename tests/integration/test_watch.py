#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
test_watch.py: `watch: true` reloads the gateway when its config changes,
however the change is made, and only then.

bob (watch: true) listens, alice dials it; alice's forward reaches bob's
echo.  bob's config is changed in each way a person or a tool does it, and
each time bob must reload once (a "reloaded" line) with the new content:

  - edited in place (same file, new bytes): a second echo service appears,
    and alice's forward to it works;
  - replaced by an atomic rename (write elsewhere, rename over it);
  - swapped the Kubernetes ConfigMap way: the config path is a symlink
    into `..data/`, and `..data` is itself a symlink renamed to point to a
    new directory;
  - made invalid: one "reload failed" line naming the error, not repeated
    while the file stays bad; fixed again: reloaded;
  - another file in the same directory changes: no reload;
  - a file appears in an included directory (include: peers.d/*.yaml),
    then is edited: each reloads, and the peer it holds is added; the
    directory removed and made again with the file: still seen;
  - `watch: false` written: later edits do not reload until a SIGHUP.

Through all of it alice's session with bob never goes down.

usage: test_watch.py --stpgate PATH [--workers N] [--keep]
Prints progress lines and ends with "N passed, N failed"; exit 0 or 1.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwlib import (test_main, FAST_TIMEOUTS, HOST, UP_WAIT,  # noqa: E402
    config_text, echo_handler, echo_roundtrip, peer_line, say, wait_for)

QUIET_S = 1.5     # how long "no reload" must hold (settle time is 0.3 s)


def run(h):
	r = h.r
	alice_id, alice_key = h.keygen("alice")
	bob_id, bob_key = h.keygen("bob")
	bob_port = h.port()
	echo = h.server(echo_handler, "echo")
	echo2 = h.server(echo_handler, "echo2")
	fwd, fwd2 = h.port(), h.port()

	def bob_text(services, watch="true", note=""):
		return config_text(bob_id, h.workers, listen=bob_port,
		    peers={"alice": {"key": alice_key}},
		    services={name: (srv.port, ["alice"]) for name, srv in
		    services.items()}, timeouts=FAST_TIMEOUTS) + \
		    "watch: %s\ninclude: peers.d/*.yaml\n# %s\n" % (watch, note)

	a = h.gateway("alice", config_text(alice_id, h.workers,
	    peers={"bob": {"key": bob_key, "dial": bob_port}},
	    forwards=[(fwd, "bob", "echo"), (fwd2, "bob", "echo2")],
	    timeouts=FAST_TIMEOUTS))
	# bob's config lives behind a ConfigMap-style link from the start:
	# bob.yaml -> ..data/bob.yaml, ..data -> v1/.
	cdir = h.path("cm")
	os.makedirs(os.path.join(cdir, "v1"))
	os.makedirs(os.path.join(cdir, "peers.d"))   # empty: a glob may match nothing
	b = h.gateway("bob", bob_text({"echo": echo}))
	os.rename(b.cfg_path, os.path.join(cdir, "v1", "bob.yaml"))
	os.symlink("v1", os.path.join(cdir, "..data"))
	link = os.path.join(cdir, "bob.yaml")
	os.symlink(os.path.join("..data", "bob.yaml"), link)
	b.cfg_path = link
	b.start()
	a.start()
	r.ok(a.wait_log(peer_line("bob", "session up"), UP_WAIT) is not None,
	    "alice's session with bob comes up")
	r.ok(b.wait_log("watch: watching", 5) is not None,
	    "bob says what it watches")

	def reloads():
		return len(b.grep(r"reloaded |reload failed"))

	def expect_reload(what, want="reloaded ", since=None):
		line = b.wait_log(r"reloaded |reload failed", 10, since)
		r.ok(line is not None and want in line, what, line or "no reload")
		return line

	def real_path():
		return os.path.realpath(link)

	# 1. In place: same inode, new bytes.
	m = b.mark()
	with open(real_path(), "r+") as f:
		text = bob_text({"echo": echo, "echo2": echo2}, note="in place")
		f.seek(0)
		f.write(text)
		f.truncate()
	expect_reload("an edit in place reloads", since=m)
	r.ok(wait_for(lambda: echo_roundtrip(fwd2, b"in place") is None, 10),
	    "the new service works through alice's forward")

	# 2. Atomic rename over the file.
	m = b.mark()
	tmp = real_path() + ".new"
	with open(tmp, "w") as f:
		f.write(bob_text({"echo": echo}, note="renamed"))
	os.chmod(tmp, 0o600)
	os.replace(tmp, real_path())
	expect_reload("an atomic rename over the file reloads", since=m)
	r.ok(wait_for(lambda: echo_roundtrip(fwd2, b"gone") is not None, 10) and
	    echo_roundtrip(fwd, b"still") is None,
	    "the removed service is refused, the other still works")

	# 3. The ConfigMap swap: a new directory, ..data renamed to it.
	m = b.mark()
	os.makedirs(os.path.join(cdir, "v2"))
	with open(os.path.join(cdir, "v2", "bob.yaml"), "w") as f:
		f.write(bob_text({"echo": echo, "echo2": echo2}, note="swapped"))
	os.chmod(os.path.join(cdir, "v2", "bob.yaml"), 0o600)
	os.symlink("v2", os.path.join(cdir, "..data_tmp"))
	os.rename(os.path.join(cdir, "..data_tmp"), os.path.join(cdir, "..data"))
	expect_reload("a ConfigMap-style symlink swap reloads", since=m)
	r.ok(wait_for(lambda: echo_roundtrip(fwd2, b"swapped") is None, 10),
	    "the swapped-in config is the one running")

	# 4. A bad file: one failure, not repeated; then fixed.
	m = b.mark()
	with open(real_path(), "a") as f:
		f.write("listen2: oops\n")
	expect_reload("a bad edit is tried once and refused", "reload failed",
	    since=m)
	time.sleep(QUIET_S)
	r.ok(len(b.grep(r"reload failed", m)) == 1,
	    "the same bad file is not tried again",
	    "%d failures" % len(b.grep(r"reload failed", m)))
	r.ok(b.grep(r"listen2: unknown key", m), "the failure names the error")
	m = b.mark()
	with open(real_path(), "w") as f:
		f.write(bob_text({"echo": echo, "echo2": echo2}, note="fixed"))
	expect_reload("the fixed file reloads", since=m)

	# 5. Another file in the same directory: no reload.
	n = reloads()
	with open(os.path.join(os.path.dirname(real_path()), "notes.txt"), "w") as f:
		f.write("unrelated\n")
	time.sleep(QUIET_S)
	r.ok(reloads() == n, "a change to another file in the directory does "
	    "not reload")

	# 6. An included directory: a new file in it, then an edit of that file.
	carol_id, carol_key = h.keygen("carol")
	inc = os.path.join(cdir, "peers.d", "carol.yaml")
	m = b.mark()
	with open(inc + ".tmp", "w") as f:
		f.write("peers:\n  carol:\n    key: %s\n" % carol_key)
	os.chmod(inc + ".tmp", 0o600)
	os.replace(inc + ".tmp", inc)
	line = expect_reload("a new file in an included directory reloads", since=m)
	r.ok(line is not None and ": 2 peers," in line, "the included peer is "
	    "in the running config", line or "")
	m = b.mark()
	with open(inc, "a") as f:
		f.write("    dial: 127.0.0.1:9\n")
	expect_reload("an edit of an included file reloads", since=m)
	r.ok(b.wait_log(peer_line("carol", "reload: peer added"), 1) is not None,
	    "bob logs the included peer as added")
	# The included directory removed, then made again with a new file:
	# the new directory is watched, not the old one's dead inode.
	m = b.mark()
	os.unlink(inc)
	os.rmdir(os.path.dirname(inc))
	line = expect_reload("the included directory removed: reloaded", since=m,
	    want="reload")
	os.makedirs(os.path.dirname(inc))
	m = b.mark()
	with open(inc + ".tmp", "w") as f:
		f.write("peers:\n  carol:\n    key: %s\n" % carol_key)
	os.chmod(inc + ".tmp", 0o600)
	os.replace(inc + ".tmp", inc)
	line = expect_reload("a file in the directory made again reloads", since=m)
	r.ok(line is not None and ": 2 peers," in line, "its peer is back",
	    line or "")

	# 7. watch: false, then edits need a SIGHUP.
	m = b.mark()
	with open(real_path(), "w") as f:
		f.write(bob_text({"echo": echo}, watch="false", note="off"))
	expect_reload("turning watch off is itself a reload", since=m)
	n = reloads()
	with open(real_path(), "w") as f:
		f.write(bob_text({"echo": echo, "echo2": echo2}, watch="false",
		    note="unwatched"))
	time.sleep(QUIET_S)
	r.ok(reloads() == n, "with watch: false an edit does not reload")
	m = b.mark()
	b.hup()
	expect_reload("SIGHUP still reloads", since=m)

	r.ok(not a.grep(peer_line("bob", "session down")),
	    "alice's session stayed up through every reload")
	a.stop()
	b.stop()


def main():
	return test_main(run, "watch: true reloads on change", timeout=200)


if __name__ == "__main__":
	sys.exit(main())

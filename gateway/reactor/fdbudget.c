/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fdbudget.c: raising the open-files limit, counting what is open, and
 * fitting the connection and handshake limits to it.  See fdbudget.h.
 */
#include "fdbudget.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"

/*
 * Where descriptors go, beyond fd_base (counted at start, before the first
 * listener: stdin, stdout, stderr that the log writes to, libuv's epoll
 * descriptor, its eventfd (loop wake-ups; the worker pool's completions ride
 * on it too, the pool has no pipe of its own), its two signal pipes, and
 * anything inherited):
 */
#define FD_SPARES 2       /* listener.c's spare, and libuv's own, opened with the first TCP handle */
#define FD_OPS_CLIENTS 2  /* `stpgate status` clients, and metrics scrapes, each */
/*
 * Held for moments: a connection accepted past a limit to be closed (1),
 * name lookups in libuv's thread pool, a socket each (4: UV_THREADPOOL_SIZE's
 * default), a reload reading the config and the identity (2), the systemd
 * notification socket (1).
 */
#define FD_TRANSIENT 8
/*
 * Per peer: its session's connection, and one more while a dial is under
 * way (connecting, or our dialed connection in its handshake, alongside an
 * accepted one); a dialer plugin works on that same socket.
 */
#define FD_PER_PEER 2

/* fs.nr_open, the most RLIMIT_NOFILE may be (Linux refuses RLIM_INFINITY). */
static uint64_t
nr_open(void)
{
	unsigned long long n = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (f != NULL) {
		if (fscanf(f, "%llu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n > 0 ? n : 1048576;
}

/*
 * The soft limit goes up to the hard one: every tunneled connection holds
 * a descriptor, and the usual soft limit (1024) is below the default
 * limits.max_connections.
 */
uint64_t
fdbudget_raise(void)
{
	struct rlimit rl;
	rlim_t want, old;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn(NULL, NULL, "open files: cannot read the limit: %s", strerror(errno));
		return 1024;
	}
	want = rl.rlim_max == RLIM_INFINITY ? (rlim_t)nr_open() : rl.rlim_max;
	old = rl.rlim_cur;
	if (old != RLIM_INFINITY && old < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
			log_info(NULL, NULL, "open files: soft limit raised from %llu to %llu",
			    (unsigned long long)old, (unsigned long long)want);
		} else {
			log_warn(NULL, NULL, "open files: cannot raise the soft limit from %llu to "
			    "%llu: %s", (unsigned long long)old, (unsigned long long)want,
			    strerror(errno));
			rl.rlim_cur = old;
		}
	}
	return rl.rlim_cur == RLIM_INFINITY ? nr_open() : (uint64_t)rl.rlim_cur;
}

/* From /proc/self/fd, else by probing each descriptor below the limit. */
unsigned
fdbudget_count(uint64_t nofile)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned n = 0;
	int fd;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				n++;
		closedir(d);
		return n > 0 ? n - 1 : 0; /* not the directory's own */
	}
	for (fd = 0; (uint64_t)fd < nofile && fd < 65536; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

/*
 * Each app connection holds one descriptor (the app's socket or the one to
 * the service: max_connections counts both, and a stream holds one;
 * limits.max_streams is within it), each handshake in progress one (only
 * with a peer listener), each peer FD_PER_PEER (limits.max_sessions only
 * chooses among them), plus the fixed part above.  When they do not fit,
 * what is left after the fixed part and the peers is shared between
 * connections and handshakes in the proportion of their settings, and one
 * warning says so.
 */
void
fdbudget_fit(const config *c, unsigned fd_base, uint64_t nofile,
    unsigned *max_conns, unsigned *max_hs)
{
	unsigned cfg_conns = c->limits.max_connections;
	unsigned cfg_hs = c->has_listen ? c->limits.max_handshakes : 0;
	uint64_t fixed, peers, need, avail, hs_n, conns;

	fixed = (uint64_t)fd_base + FD_SPARES + FD_TRANSIENT +
	    (c->has_listen ? 1 : 0) + c->n_forwards +
	    (c->control[0] != '\0' ? 1 + FD_OPS_CLIENTS : 0) +
	    (c->has_metrics ? 1 + FD_OPS_CLIENTS : 0) +
	    (c->workers_auto ? 1 : 0); /* the pool's view of the loop: schedstat */
	peers = (uint64_t)FD_PER_PEER * c->n_peers;
	need = fixed + peers + cfg_hs + cfg_conns;
	log_debug(NULL, NULL, "open files: limit %llu; about %llu needed: %llu fixed (%u open "
	    "at start), %llu for %zu peers, %u handshakes, %u connections",
	    (unsigned long long)nofile, (unsigned long long)need,
	    (unsigned long long)fixed, fd_base, (unsigned long long)peers,
	    c->n_peers, cfg_hs, cfg_conns);
	*max_conns = cfg_conns;
	*max_hs = c->limits.max_handshakes;
	if (need <= nofile)
		return;
	avail = nofile > fixed + peers ? nofile - fixed - peers : 0;
	hs_n = cfg_hs > 0 ? avail * cfg_hs / (cfg_hs + cfg_conns) : 0;
	if (cfg_hs > 0 && hs_n < 1)
		hs_n = 1;
	conns = avail > hs_n ? avail - hs_n : 0;
	/* Never none: one connection at a time still serves, and beyond the
	 * budget accept sheds (listener.c). */
	if (conns < 1)
		conns = 1;
	if (conns > cfg_conns)
		conns = cfg_conns;
	*max_conns = (unsigned)conns;
	if (cfg_hs > 0)
		*max_hs = (unsigned)hs_n;
	if (cfg_hs > 0 && *max_hs < cfg_hs)
		log_warn(NULL, NULL, "limits.max_connections %u needs about %llu open files; the "
		    "limit is %llu: accepting at most %u (and %u handshakes at once, not "
		    "limits.max_handshakes %u); raise LimitNOFILE or lower limits.max_connections",
		    cfg_conns, (unsigned long long)need, (unsigned long long)nofile,
		    *max_conns, *max_hs, cfg_hs);
	else
		log_warn(NULL, NULL, "limits.max_connections %u needs about %llu open files; the "
		    "limit is %llu: accepting at most %u; raise LimitNOFILE or lower "
		    "limits.max_connections", cfg_conns, (unsigned long long)need,
		    (unsigned long long)nofile, *max_conns);
}

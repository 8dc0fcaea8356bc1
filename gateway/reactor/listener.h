/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listener.h: listening sockets that the loop polls and whose accept() we
 * call ourselves, so that every failed accept is counted and logged, and a
 * process at its open-files limit sheds waiting connections at once (the
 * spare-descriptor trick) or pauses a listener instead of spinning.
 *
 * The listeners of one loop form a set: they share the spare descriptor and
 * the timer that resumes those that paused.
 */
#ifndef STP_LISTENER_H
#define STP_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"

typedef struct listeners listeners;
typedef struct listener listener;

/*
 * The handle of an accepted connection: a uv_tcp_t, or on a unix:
 * listener a uv_pipe_t (h->type says which).  One size for both, so that
 * whoever takes it may keep it as either.
 */
union app_handle {
	uv_tcp_t tcp;
	uv_pipe_t pipe;
};

/*
 * A new connection: h is a union app_handle allocated with malloc,
 * initialised on the set's loop and open.  The callee owns it: to refuse
 * it, uv_close it with free as the close callback.
 */
typedef void (*listener_take_cb)(void *arg, uv_stream_t *h);

/* A unix: listener's socket file: its mode, owner and group (-1: ours). */
typedef struct listener_unix {
	unsigned mode;
	long uid, gid;
} listener_unix;

/*
 * The set of listeners on loop.  nofile (RLIMIT_NOFILE in force) is only
 * quoted in the logs.  NULL: out of memory.
 */
listeners *listeners_new(uv_loop_t *loop, uint64_t nofile);
/* Hold the spare descriptor if not already held: 0, or -1 with errno. */
int listeners_spare(listeners *ls);
/* The loop is stopping: close the set's timer.  Every listener is closed. */
void listeners_stop(listeners *ls);
/* After the loop has closed: release the spare and the set (NULL: nothing). */
void listeners_free(listeners *ls);

/*
 * Bind and listen on a, polled by the set's loop; take(arg, h) gets each
 * new connection.  kind (M_ACC_PEER, M_ACC_FORWARD: metrics.h) chooses the
 * accept-error counters and log keys.  A unix: address is made by
 * unixsock.c (a stale file replaced, a live one refused) with ux's mode
 * and owners (NULL: 0600, ours), and removed when the listener closes.  0
 * with the listener in *out, or STP_ENOMEM / STP_EIO with why in err
 * ("cannot listen on HOST:PORT: address already in use").
 */
int listener_open(listeners *ls, int kind, const cfg_addr *a,
    const listener_unix *ux, listener_take_cb take, void *arg, listener **out,
    char *err, size_t errlen);
/* The address listened on, as "host:port", "[v6]:port" or "unix:PATH". */
const char *listener_addr(const listener *l);
/* Stop listening now; take is not called again.  Frees the listener. */
void listener_close(listener *l);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream.h: one tunneled TCP connection: a local socket (an app's, accepted
 * on a forward listener, or ours, connected to a service) joined to a stream
 * id in its peer's session.
 *
 * Flow control (proto/STP.md "Streams"): each side grants the other a
 * receive window; StreamData never exceeds it; WindowUpdate adds to it once
 * the bytes were written to the local socket.  We read the local socket only
 * while the peer's window has room and the session's output is below its
 * high-water mark, so a slow app on the far side stops its sender instead of
 * filling a buffer, and never stalls the other streams.  A window grows (up
 * to flow.max_window) while the local app keeps up, so one stream can fill
 * the bandwidth-delay product.
 *
 * Half-close: EOF from the local socket becomes StreamFin; a StreamFin from
 * the peer becomes shutdown(SHUT_WR) once everything before it was written.
 * The stream is done when both directions have finished (or on a reset).
 */
#ifndef STP_STREAM_H
#define STP_STREAM_H

#include <stdint.h>

#include <uv.h>

#include "proxyhdr.h"
#include "stp.pb-c.h"

struct session;
struct cfg_addr;
typedef struct stream stream;

/*
 * An app connection accepted on a forward listener (a union app_handle:
 * TCP or unix:), for `service` on the session's peer, or with socks set
 * for a dynamic forward (service is then ""): the app first speaks SOCKS5
 * to name its destination (socks5srv.h), which the StreamOpen carries.
 * The stream takes the handle over (closes and frees it).  It sends
 * StreamOpen as soon as the session is up and the destination known, and
 * reads nothing more from the app until the peer accepts.  A refused open
 * reaches a SOCKS app as the SOCKS reply for the peer's reset code.  NULL
 * if out of memory (the handle is then closed).
 */
stream *stream_new_local(struct session *s, uv_stream_t *app,
    const char *service, int socks);

/* A StreamOpen from the peer, as the session checked it. */
typedef struct stream_req {
	uint32_t id, window;
	const char *service;            /* the service's name; "" if dynamic */
	const struct cfg_addr *to;      /* the service's connect address, or
					 * NULL: a dynamic open to host:port */
	const char *host;               /* dynamic: what the peer named */
	uint16_t port;
	int name_allowed;               /* dynamic: a name rule allowed host
					 * (else each address it resolves to
					 * must pass the peer's address rules) */
	int proxy_protocol;             /* cfg_proxy_protocol: a header first */
	proxyhdr_addr src, dst;         /* from the open (AF_UNSPEC: unknown) */
} stream_req;

/*
 * The peer opened stream q->id for a service we offer and allow, or a
 * dynamic destination its policy allows: connect to it (a name is resolved
 * now; unix:PATH too), write the PROXY header if the service wants one,
 * then answer StreamAccept, or StreamReset with the reason if the connect
 * fails, times out, or (dynamic) the name resolves to no allowed address.
 * Returns the stream (which may already have failed and sent its reset),
 * or NULL when none was made (limits.max_connections, out of memory): the
 * caller refuses the open.
 */
stream *stream_new_remote(struct session *s, const stream_req *q);

/* The session is up (again): a waiting local stream sends its StreamOpen. */
void stream_session_up(stream *st);

/* A record for this stream (accept, data, window, fin, reset). */
void stream_on_record(stream *st, const Stp__V1__Record *rec);

/* Credit or room again: resume reading (and send what waited) if we may. */
void stream_resume(stream *st);
/*
 * The session's turn (room in its output again): the stream may read once
 * this turn, even if the output fills first; then as stream_resume.  1 if
 * it is reading (it takes part in the turn).
 */
int stream_take_turn(stream *st);
/* The next stream on the session's turn list. */
stream *stream_turn_next(stream *st);

/*
 * Write the data gathered for this stream (session_gather) to the local
 * socket now, with one writev: what the socket does not take at once is
 * copied and queued.
 */
void stream_flush(stream *st);

/*
 * Abort: close the local socket at once (with an RST where possible) and,
 * when send_reset and the session is up, tell the peer.  The stream is
 * removed from its session and freed when its handle is closed.
 */
void stream_abort(stream *st, int send_reset, uint32_t code, const char *reason);

/*
 * Resumption (proto/STP.md, "Resumption"; stream_resume.c).  A session
 * whose connection broke holds its streams (stream_hold): they stop
 * reading their apps and keep what they sent and the peer has not
 * acknowledged.  A new session's exchange then gives each stream the
 * peer's state of it (stream_resync: send again what the peer did not
 * take, take its credit), or says the peer no longer has it
 * (stream_unnamed).
 */
void stream_hold(stream *st);
int stream_held(const stream *st);
/* Our state of st, as a StreamState of our resumption table. */
void stream_state(const stream *st, Stp__V1__StreamState *out);
/*
 * The peer's StreamState of st: resume it; returns the bytes it sends
 * again.  The stream may end here.
 */
uint64_t stream_resync(stream *st, const Stp__V1__StreamState *peer);
/*
 * The peer's table did not name st: our open that never arrived is sent
 * again; a stream both sides had finished ends; anything else is closed
 * (`why`).
 */
void stream_unnamed(stream *st, const char *why);

uint32_t stream_id(const stream *st);
/* The link the session's hash table chains streams with. */
stream **stream_hnext(stream *st);
/* Loop time when the stream last moved data (idle timeout). */
uint64_t stream_last_active_ms(const stream *st);
/* Bytes sent to / received from the peer on this stream. */
uint64_t stream_bytes_out(const stream *st);
uint64_t stream_bytes_in(const stream *st);

#endif

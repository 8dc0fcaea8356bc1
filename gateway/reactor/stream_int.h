/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream_int.h: a stream's insides (stream.h), shared by stream.c (flow
 * control, reading and writing the local socket, half-close, records from
 * the peer), stream_local.c (an app's stream waiting for the session and
 * sending its open), stream_connect.c (the accepter's side of an open:
 * resolving, checking a dynamic destination's addresses, connecting, the
 * PROXY header), stream_socks.c (a dynamic forward's app naming its
 * destination in SOCKS5) and stream_resume.c (what a stream keeps for a
 * resumption, and its part in one), and by nothing else.  Functions here
 * are named st_*.
 */
#ifndef STP_STREAM_INT_H
#define STP_STREAM_INT_H

#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "gateway.h"
#include "proxyhdr.h"
#include "session.h"
#include "socks5srv.h"
#include "stream.h"

enum st_state {
	ST_SOCKS,        /* local, dynamic: the app is naming its destination */
	ST_WAIT_SESSION, /* local: app accepted, no session yet */
	ST_OPENING,      /* local: StreamOpen sent, waiting for accept / reset */
	ST_CONNECTING,   /* remote: connecting to the service */
	ST_OPEN,
	ST_DEAD,         /* handles closing */
};

/*
 * What a stream sent and the peer has not acknowledged (stream_resume.c):
 * a ring of the bytes from offset `acked` to bytes_out.
 */
struct rtx {
	uint8_t *buf;
	size_t cap, head, len;
};

struct stream {
	struct session *s;
	gateway *gw;
	uint32_t id;
	int local;
	enum st_state state;
	char service[CFG_HOST_MAX + 16]; /* the service's name; dynamic: the
					  * destination, as "host:port" */
	int socks;              /* local: a dynamic forward's app (SOCKS5) */
	struct socks_phase *sx; /* local, ST_SOCKS: the app's SOCKS bytes */
	char dest[CFG_HOST_MAX];/* local, dynamic: the host the app named */
	uint16_t dest_port;
	int socks_rep;          /* local, dynamic: the SOCKS reply owed to the
				 * app if the stream ends before it opens */
	int name_allowed;       /* remote, dynamic: see stream_req */
	int dynamic;            /* remote: a dynamic open */
	int proxy;              /* remote: the PROXY header to write first */
	proxyhdr_addr src, dst; /* the app's connection (local: as accepted;
				 * remote: as the open said) */
	char host[CFG_HOST_MAX];        /* remote: the service's host or path */
	char target[CFG_HOST_MAX + 16]; /* as "host:port", "[v6]:port" or
					 * "unix:PATH", for logs */

	uv_stream_t *h;         /* the local socket: a union app_handle (a
				 * uv_tcp_t, or a uv_pipe_t for unix:) */
	uv_timer_t timer;
	uv_connect_t creq;
	uv_getaddrinfo_t gai;
	uv_shutdown_t sreq;
	int handles;
	int resolving, connecting;

	uint64_t send_credit;
	uint64_t recv_avail;
	uint32_t window;        /* current receive window we grant */
	uint64_t budget;        /* window growth counted in the session's budget */
	uint64_t unacked;
	uint64_t queued;        /* bytes in uv_write to the local socket */
	uint64_t gathered;      /* bytes noted in the session, not yet written */
	int reading;
	int eof_sent;           /* local EOF forwarded as StreamFin */
	int fin_recv;           /* peer's StreamFin arrived */
	int shut_done;          /* local shutdown(SHUT_WR) issued */
	uint8_t *pending;       /* read but not yet sent (session refused it) */
	size_t pending_len;
	int reserved;           /* the read buffer is an endpoint reservation */
	uint32_t ticket;        /* the session turn we may read in (0: none) */
	uint32_t read_turn;     /* the last session turn we read in */
	uint64_t vtime;         /* bytes read while contending (turn_left) */
	int heavy;              /* our last read filled its buffer: bulk */
	struct stream *turn_next, *turn_prev; /* the session's turn list */
	int turn_listed;        /* the session turn we may read in (0: none) */

	uint64_t bytes_in, bytes_out, last_active;
	stream *hnext;          /* session's hash chain */

	/* Resumption (stream_resume.c). */
	struct rtx rtx;         /* sent, not acknowledged: kept while the
				 * session can resume */
	uint64_t acked;         /* the stream offset of rtx's first byte */
	uint64_t resend;        /* resending: the next offset to send again */
	int resending;          /* bytes from resend to bytes_out to send again */
	int held;               /* in a broken session's resumption table */
	int app_eof;            /* the app's EOF came (our FIN may be owed) */
	int fin_owed;           /* a resumption found our FIN lost */
	int fin_acked;          /* the peer acknowledged our FIN */
	int fin_wait;           /* done but for that: the timer bounds the wait */
};

/* A dynamic forward's app, while it speaks SOCKS5. */
struct socks_phase {
	socks5srv m;
	uint8_t buf[SOCKS5SRV_BUF_MAX];
	size_t len;
};

/* The peer's name, for logs. */
const char *st_peer_name(const stream *st);
/* The close callback of every handle of a stream; the last one frees it. */
void st_on_closed(uv_handle_t *h);
/*
 * One fewer thing the stream waits for (a handle closed, a name lookup
 * done): the last frees it.  A lookup counts as one, since its callback
 * runs even when cancelled, and may run after the handles' close callbacks.
 */
void st_release(stream *st);
/* A stream-level failure: reset both ends and log it. */
void st_fail(stream *st, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A stream with its timer, before its socket: NULL if out of memory. */
stream *st_alloc(struct session *s, int local, const char *service);
/* Accepted or connected: data may flow. */
void st_become_open(stream *st);
/*
 * Before our open or accept names our window: on a long path, start it
 * above flow.window (stream.c), charged to the session's budget.
 */
void st_start_window(stream *st);
/*
 * Keep n bytes about to be sent (before the send: a sealed record's
 * plaintext is gone), while the session can resume: 1 kept, 0 not (not
 * resumable, or n 0), -1 out of memory.
 */
int st_keep_sent(stream *st, const uint8_t *p, size_t n);
/* The send of the last n bytes st_keep_sent kept failed: forget them. */
void st_unkeep_sent(stream *st, size_t n);
/* The peer took everything before `received` (and our FIN, with fin). */
void st_acked(stream *st, uint64_t received, int fin);
/*
 * After a resumption, send again what the peer did not take, then the FIN
 * if it was lost: 1 while some is left (the stream reads nothing new
 * until it is all sent), 0 when done.  The stream may have ended.
 */
int st_resend(stream *st);
/* Free what the stream kept. */
void st_free_kept(stream *st);
/* Send StreamOpen for a local stream that has its id (stream.c): 0 or -1. */
int st_send_open(stream *st);
/* Send StreamFin: session_send's result. */
int st_send_fin(stream *st);
/* Both directions finished: the stream is over (stream.c). */
void st_maybe_done(stream *st);
/* Stop reading the app's socket (stream.c). */
void st_stop_reading(stream *st);
/* Pause reading until the session's next turn (stream.c). */
void st_pause(stream *st);
/* No Nagle delay on a TCP socket. */
void st_nodelay(uv_stream_t *h);

/* Read the app's SOCKS5 greeting and request (stream_socks.c): 0, or -1
 * (out of memory; the caller aborts). */
int st_socks_start(stream *st);
/* The SOCKS reply for the peer's refusal of a dynamic open (code, reason). */
int st_socks_rep_for(uint32_t code, const char *why);
/* Answer the SOCKS app: 0, or the stream was aborted. */
int st_socks_answer(stream *st, int rep);

#endif

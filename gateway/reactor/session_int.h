/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session_int.h: a session's insides (session.h), shared by session.c (the
 * streams, sending, gathering, the connection's life), session_open.c (the
 * stream opens the peer sends: checks, refusals, dynamic destinations) and
 * session_dial.c (dialing: resolving, connecting, dialer plugins, retries
 * with backoff) and session_resume.c (holding the streams of a broken
 * connection, the resumption exchange), and by nothing else.  Functions
 * here are named sess_*.
 */
#ifndef STP_SESSION_INT_H
#define STP_SESSION_INT_H

#include <stdint.h>

#include <uv.h>

#include "conn.h"
#include "gateway.h"
#include "keysched.h"
#include "plugin.h"
#include "session.h"
#include "stream.h"

struct waiter {
	stream *st;
	struct waiter *next;
};

#define GATHER_MAX 256

struct gather {
	stream *st;              /* NULL: taken or dropped */
	const uint8_t *p;
	size_t len;
};

struct session {
	gateway *gw;
	const cfg_peer *peer;
	char name[CFG_NAME_MAX];
	unsigned dial_key;       /* index into peer->keys: the key we dial */
	int state;

	conn *c;                 /* the established connection */
	conn *dialed;            /* ours, in its handshake */
	uv_tcp_t *connecting;    /* TCP connect in progress */
	uv_connect_t creq;
	uv_getaddrinfo_t gai;
	int resolving;
	/* A dial through a dialer plugin (plugin_api.h), e.g. a SOCKS5 proxy. */
	plugins *dplug;          /* held from route to the end of the dial */
	const stp_dialer_ops *dops; /* NULL: a direct dial */
	void *dinst;
	void *dop;               /* the plugin's operation on the connected socket */
	char dhost[CFG_HOST_MAX]; /* where TCP goes: the route's endpoint */
	uint16_t dport;
	uv_timer_t retry;        /* backoff, connect timeout */
	uv_timer_t keep;         /* keepalive, rekey ticks, dead peer */
	uv_timer_t cover;        /* the next cover record (a shaping plugin) */
	int handles;
	unsigned attempts;
	unsigned attempts_before_up; /* restored when a session dies young */
	uint64_t probe_ms;       /* when we pinged a quiet session because a
				  * second connection came (refuse_rival); 0 none */
	uint64_t next_retry_ms;

	stream **buckets;
	size_t n_buckets, n_streams;
	uint32_t turn;           /* on_writable's turns, from 1 (0: none yet) */
	unsigned turn_readers;   /* streams that read in this turn */
	unsigned turn_ready;     /* streams this turn's tickets started reading */
	uint64_t turn_poll;      /* gateway_polls when this turn began */
	uint64_t heavy_at;       /* loop ms of the last heavy read (session_read_kind) */
	uint32_t heavy_id;       /* and its stream */
	struct stream *turn_list; /* streams waiting for a turn (stream.c) */
	int contended;           /* two or more read in the turn before */
	size_t read_share;       /* session_read_share; 0 before the first turn */
	uint64_t clock;          /* session_clock: the shares given out so far */
	struct waiter *waiting;  /* local streams waiting for the session */
	struct flow *flows;      /* datagram flows (flow.c keeps the list) */
	uint32_t next_id;
	uint32_t last_peer_id;   /* highest id the peer opened */
	uint64_t windows;        /* sum of receive windows granted beyond the initial */
	int64_t buffered;

	uint64_t up_since_ms, rtt_ms;
	uint64_t path_rtt_at;     /* when path_rtt_ms was read (loop ms) */
	uint32_t path_rtt_ms;     /* the session connection's TCP sRTT */
	uint64_t bytes_in, bytes_out;    /* of streams already closed */
	char last_error[160];
	uint8_t sid[16];

	void (*done)(void *);
	void *done_arg;
	int shutting_down;

	struct gather g[GATHER_MAX];
	unsigned ng;

	/* Resumption (session_resume.c; proto/STP.md, "Resumption"). */
	int resumable;           /* the connection agreed HS_FEATURE_RESUME */
	int held;                /* it broke: its streams wait for a new one */
	int resume_step;         /* RESUME_* below: the new connection's exchange */
	unsigned held_streams;
	uint64_t resent;         /* bytes the resyncs of this exchange send again */
	uint64_t held_since_ms;
	uv_timer_t resume_timer; /* resume_window */
	uint8_t rsecret[KS_RESUME_LEN];   /* the connection's resume secret */
	uint8_t old_sid[16], old_secret[KS_RESUME_LEN]; /* the broken one's */
};

/* resume_step */
enum { RESUME_NONE, RESUME_WAIT_PROOF, RESUME_WAIT_TABLE };

/* The owner callbacks a session's connections get (session.c). */
extern const conn_owner_ops sess_ops;

/* The stream with this id, or NULL (session.c). */
stream *sess_find_stream(session *s, uint32_t id);
/* The peer's StreamOpen: check it, refuse it or start the stream
 * (session_open.c). */
void sess_on_open(session *s, const Stp__V1__StreamOpen *o);
/* The peer key we dial with now (session.c). */
const uint8_t *sess_dial_key(const session *s);
/* Write what the streams gathered (before the connection's records go). */
void sess_flush_gathered(session *s);
/* Remember why the session is not up, for `stpgate status` (session.c). */
void sess_set_error(session *s, const char *why);
/* A session shutting down: free it once nothing of it is left (session.c). */
void sess_maybe_done(session *s);
/* Dial now: resolve, connect (directly or through a dialer plugin), then
 * hand the socket to a conn for the handshake (session_dial.c). */
void sess_dial(session *s);
/* Back off and dial again later, saying why (session_dial.c). */
void sess_schedule_retry(session *s, const char *why);
/* Stop a connect or dial in progress (session_dial.c). */
void sess_abandon_connect(session *s);

/*
 * Resumption (session_resume.c).  The connection broke (why): hold the
 * streams for resume_window if it agreed resumption; 1 if they are held
 * (else the caller ends them).
 */
int sess_hold(session *s, const char *why);
/*
 * A new connection was adopted while streams are held: start the exchange
 * (the initiator sends its Resume and table), or end the held streams if
 * it cannot resume.
 */
void sess_resume_start(session *s);
/* A record during the exchange: 1 if it was the exchange's (taken). */
int sess_resume_record(session *s, const Stp__V1__Record *r);
/* Nothing is held any more: the window's timer stops, the old secret goes. */
void sess_forget_held(session *s);
/* End the held streams (refused, the window passed, shutting down). */
void sess_release(session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

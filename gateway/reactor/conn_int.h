/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn_int.h: what conn.c and conn_hs.c share (a connection's insides).
 * Nothing else includes it.
 */
#ifndef STP_CONN_INT_H
#define STP_CONN_INT_H

#include "conn.h"

#include <uv.h>

#include "endpoint.h"
#include "gate.h"
#include "gateway.h"
#include "plugin.h"

#define CONN_MAX_IOV 64
#define CONN_LINGER_MS 2000   /* at most this long to flush a Close */
#define CONN_HIGH_WATER(c) ((c)->high)
#define CONN_LOW_WATER(c) ((c)->high / 2)

struct conn {
	gateway *gw;
	uv_tcp_t *tcp;
	uv_timer_t timer;        /* handshake timeout, then the linger on close */
	/*
	 * A responder's connection before mac1 has only its gate (gate.h):
	 * the endpoint, and everything else a session needs, is made once a
	 * HELLO passes.  Exactly one of gate and ep is set.
	 */
	gate *gate;
	endpoint *ep;
	int heard;               /* a byte came from the peer */
	uint8_t peer_pub[32];    /* the key we dialed (initiator), for messages */
	/*
	 * The identities this conn's handshake may answer as (held: a reload
	 * may replace the config's meanwhile): [0] ours, [1] the previous one
	 * during a rotation.  A responder's gate tries both; once a HELLO
	 * passed, ids[0] is the one it chose and ids[1] is dropped.
	 */
	sign_key *ids[2];
	const conn_owner_ops *ops;
	void *owner;
	int initiator;
	int reading, writing;
	int closing;             /* conn_close or a failure happened */
	/*
	 * Closing gracefully (linger): input is read and thrown away (so that
	 * closing never resets the connection under a Close still in flight),
	 * our side is shut once the output is out, and the conn goes when the
	 * peer's EOF comes or the linger time ends.
	 */
	int flushing;
	int peer_eof, shut;
	uv_shutdown_t shutreq;
	int handles;             /* open libuv handles (tcp, timer) */
	int congested;           /* owner was told output is full */
	unsigned jobs_out;       /* submitted to the pool, not back */
	endpoint_job **held;     /* the pool said EAGAIN: retry later */
	size_t n_held, cap_held;
	conn *starved_next;      /* on the list of conns with held jobs */
	int starved;
	conn *dirty_next;        /* on the list conn_turn_end goes over */
	int dirty;
	uv_write_t wreq;
	uv_buf_t *bufs;          /* CONN_MAX_IOV, made with the endpoint */
	size_t wbytes;
	/*
	 * Output pacing (conn_pace.c, "How much waits"): the high-water mark and
	 * the socket's TCP_NOTSENT_LOWAT follow the rate the kernel takes our
	 * bytes at, between OUT_FLOOR and high_cap.
	 */
	size_t high;             /* output high-water mark, now */
	size_t high_cap;         /* its ceiling: limits.session_buffer / 4 */
	size_t lowat;            /* TCP_NOTSENT_LOWAT set on the socket (0: none) */
	uint64_t rate;           /* bytes per second the kernel took, estimated */
	uint64_t rate_at;        /* loop ms: start of the current count */
	uint64_t rate_bytes;     /* bytes the kernel took since rate_at */
	uint64_t light_at;       /* loop ms: a light stream read beside bulk */
	/*
	 * BBR's ProbeRTT, followed (conn_pace.c, "Quiet"): the kernel's congestion
	 * control is bbr; its min_rtt as last read; the loop ms at which it
	 * last fell or a probe ended (the kernel's 10 s window starts
	 * again); in a probe now, seen first at probe_at; quiet now (heavy
	 * streams wait); the due time's Ping sent.
	 */
	int bbr;
	uint32_t min_rtt_us;
	uint64_t min_rtt_at;
	int probing;
	uint64_t probe_at;
	int quiet;
	int probe_pinged;
	char addr[64];
	struct sockaddr_storage ss;  /* the remote address (admission plugins) */
	plugins *plug;           /* the plugin set this conn's handshake uses */
	uint64_t last_recv_ms, established_ms;
	int established;
	int eof;                 /* the socket reached EOF; act once records are done */
	int peer_closed;         /* the peer's Close came */
	uint32_t peer_close_code;
	int confirmed;           /* initiator: a record from the responder arrived */
	int in_events;           /* inside deliver_events: an owner callback is running */
	uint64_t cover_seen;     /* cover records received, counted so far */
};

/* conn.c */
/* A failure: the owner hears why; whatever output is queued gets a short chance. */
void cn_fail(conn *c, int err, const char *reason);
/* Run the endpoint: events, jobs, output. */
void cn_process(conn *c);

/* The socket's descriptor: 0, or -1 when it has none (closed, not made). */
int cn_fd(const conn *c, uv_os_fd_t *fd);

/* conn_pace.c */
/* The floor, and the kernel's congestion control (at conn_new). */
void cn_pace_init(conn *c);
/* The kernel took `done` more bytes: the high-water mark and lowat follow. */
void cn_pace(conn *c, size_t done);

/* conn_hs.c */
/* Bytes for the gate (nread from the socket, or an error / EOF). */
void cn_gate_read(conn *c, ssize_t nread);
/* The endpoint and the write buffers.  0 or STP_ENOMEM. */
int cn_make_endpoint(conn *c, const uint8_t *peer_pub);
/* A responder's gate, keyed with our mac1 key.  0 or an error. */
int cn_make_gate(conn *c);
/* Drop the identities the conn holds (conn free). */
void cn_drop_ids(conn *c);

#endif

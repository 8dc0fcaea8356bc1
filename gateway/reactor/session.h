/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.h: everything about one peer: its STP connection (dialed or
 * accepted), its streams, keepalive, reconnect with backoff and jitter, and
 * what `stpgate status` and the metrics show about it.
 *
 * States:  IDLE (waiting for the peer to dial us) / BACKOFF -> CONNECTING
 * (resolving, TCP connect) -> HANDSHAKE -> UP -> (connection lost) BACKOFF or
 * IDLE.  Only a session whose peer has `dial` dials; either side may open
 * streams once it is up.  When both sides dial at once and two connections
 * come up, the one whose initiator has the smaller public key stays (both
 * ends apply the same rule) and the other is closed with CLOSE_REPLACED.
 */
#ifndef STP_SESSION_H
#define STP_SESSION_H

#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "conn.h"
#include "stp.pb-c.h"

struct gateway;
struct stream;
typedef struct session session;

enum session_state {
	SESS_IDLE, SESS_BACKOFF, SESS_CONNECTING, SESS_HANDSHAKE, SESS_UP,
	SESS_CLOSING
};

/* A session for peer p (p must outlive it; see session_set_peer). */
session *session_new(struct gateway *gw, const cfg_peer *p);
/* Begin: dial if the peer has `dial`, else wait to be dialed. */
void session_start(session *s);
/* Point at the peer's entry in a reloaded config (same name and key). */
void session_set_peer(session *s, const cfg_peer *p);
/*
 * May s stay the session of p (a reload)?  1 unless it is established and
 * p lists neither the key the peer's AUTH proved nor the one it updated to.
 */
int session_keeps(const session *s, const cfg_peer *p);
/* Our identity changed (a reload): tell the peer, if the session is up. */
void session_identity_changed(session *s);
/*
 * Stop: reset every stream, close the connection with `code`/`reason`,
 * stop timers; done(s) runs when all handles are closed and s is freed.
 */
void session_shutdown(session *s, uint32_t code, const char *reason,
    void (*done)(void *arg), void *arg);

/* An authenticated connection from or to this peer (the gateway hands it over). */
void session_attach(session *s, conn *c);

/*
 * An app connected to a forward for this peer's `service`, or (socks) to a
 * dynamic forward: it names its destination first (stream.h).
 */
void session_accept_app(session *s, uv_stream_t *app, const char *service,
    int socks);

/* Draining: no new streams; 1 when the session has no streams left. */
int session_idle(const session *s);

/* ---- for stream.c ---- */
struct gateway *session_gateway(session *s);
const cfg_peer *session_peer(const session *s);
int session_up(const session *s);
/* The head of the session's list of datagram flows (flow.c's). */
struct flow **session_flow_list(session *s);
/* The extensions both sides agreed (HS_FEATURE_*): 0 while not up. */
uint32_t session_features(const session *s);
/* The key the peer holds now (its AUTH's, or its last update's); only
 * while up. */
const uint8_t *session_peer_key(const session *s);
/* StreamReset{id, code, reason} to the peer: session_send's result. */
int session_send_reset(session *s, uint32_t id, uint32_t code,
    const char *reason);
/* A peer's reason as we show it: its first 129 bytes, each outside
 * 0x20..0x7e as '?'. */
#define SESSION_REASON_MAX 130
void session_reason_text(char out[SESSION_REASON_MAX], const char *reason);
/* Send a record body; 0, STP_EAGAIN (congested), STP_ESTATE (not up). */
int session_send(session *s, Stp__V1__Record *r);
int session_send_data(session *s, uint32_t id, const uint8_t *data, size_t len);
/*
 * Zero-copy sends (endpoint_data_reserve and friends on the session's
 * connection): where to read up to max bytes of a stream's data; NULL when
 * the session cannot take them now.
 */
uint8_t *session_data_reserve(session *s, size_t max);
int session_data_commit(session *s, uint32_t id, size_t len);
void session_data_cancel(session *s);
/*
 * While resumable (the connection agreed resumption, or is broken and its
 * streams held), streams keep what the peer has not acknowledged.
 */
int session_resumable(const session *s);
/* The connection broke and the streams wait for a resumption. */
int session_held(const session *s);
/* 1 when the connection's output is over its high-water mark. */
int session_congested(const session *s);
/* 1 while streams that send in bulk should wait (conn_quiet). */
int session_quiet(const session *s);
/*
 * A stream read from its app: heavy (the read filled its buffer: bulk) or
 * light.  A light read while another stream sends in bulk tells the
 * connection (conn_light).
 */
void session_read_kind(session *s, uint32_t stream_id, int heavy);
/* A new stream id of our parity; 0 when ids ran out. */
uint32_t session_next_id(session *s);
void session_add_stream(session *s, struct stream *st);
void session_remove_stream(session *s, struct stream *st);
/* A stream waits for the session: dial now if we dial and are backing off. */
void session_kick(session *s);
/*
 * May a stream grow its receive window by `grow` bytes?  1 if the sum of all
 * windows in the session stays within limits.session_buffer (and counts it).
 */
int session_window_budget(session *s, uint32_t grow);
/* A closing stream gives back the growth it was granted. */
void session_window_release(session *s, uint64_t n);
/*
 * The round trip of the session's path in ms, at least 1: the kernel's
 * smoothed RTT of its connection (read at most every 100 ms), else the last
 * ping's, else 100.  What a stream's receive window must cover.
 */
uint32_t session_path_rtt_ms(session *s);
/*
 * While streams contend for the session's output: what each may read in a
 * turn, the room the turn gave out shared among the streams that took part
 * (at least 4 KiB), so that each sends its part.  STP_MAX_DATA otherwise.
 */
size_t session_read_share(const session *s);
/* The sum of the shares of the turns while streams contended (stream.c, turn_left). */
uint64_t session_clock(const session *s);
/* A stream waits for the next turn: make sure one comes. */
void session_want_turn(session *s);
/* The head of the list of streams waiting for a turn (stream.c keeps it). */
struct stream **session_turn_list(session *s);
/* The current turn (on_writable's count; 0 before the first). */
uint32_t session_turn(const session *s);
/*
 * A stream read from its app: counted once per turn (*read_turn is the
 * stream's note of the last turn it read in).  1 if this is its first read
 * in the turn.
 */
int session_read_turn(session *s, uint32_t *read_turn);
/* 1 while streams contend for the output (two or more read last turn). */
int session_contended(const session *s);
/* Bytes held for local apps (in uv_write) went up or down by delta. */
void session_buffered(session *s, int64_t delta);

/*
 * Gathering received data (the record callback of a StreamData): keep the
 * record (conn_keep) and note len bytes at p for stream st, to be written
 * with the rest of st's data of this turn when the connection has delivered
 * every record it opened (stream_flush).  0, or STP_EAGAIN: write it now.
 */
int session_gather(session *s, struct stream *st, const uint8_t *p, size_t len);
/*
 * Take st's gathered pieces, oldest first, into iov (at most max); returns
 * how many.  The memory stays valid until the connection's flush ends.
 */
size_t session_gathered(session *s, struct stream *st, uv_buf_t *iov,
    size_t max);
/* Forget st's gathered pieces (the stream is going). */
void session_gather_drop(session *s, struct stream *st);

/* ---- for status and metrics ---- */
typedef struct session_info {
	const char *name;
	int state;
	char addr[CFG_HOST_MAX + 8];
	uint64_t up_since_ms, rtt_ms;
	uint64_t bytes_in, bytes_out;
	unsigned streams;
	int held;               /* the streams wait for a resumption */
	uint64_t rekeys;        /* key updates + fresh exchanges on the live connection */
	char last_error[160];
	uint8_t sid[16];
} session_info;
void session_get_info(const session *s, session_info *i);
const char *session_state_name(int state);

#endif

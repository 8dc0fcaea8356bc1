/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn.h: one TCP connection that carries STP: the uv_tcp_t, the endpoint
 * (endpoint.h) and the plumbing between them: reads fed to the endpoint while
 * it has room, its output written with one uv_write of many buffers at a
 * time, its jobs sent to the worker pool (or run inline), its events passed
 * to the owner.
 *
 * Turns.  What the owner sends during a turn of the loop is sealed at once
 * (or handed to the pool) but written at the turn's end: conn_turn_end(),
 * which the gateway runs after the loop's I/O callbacks and again before
 * it waits for I/O, writes every conn's ready frames with one write each,
 * so many streams' small records leave in one syscall and a request that
 * arrived is on the wire within the turn it arrived in.  Records received
 * are delivered as they are opened; data records are kept (endpoint_keep)
 * while the owner gathers them, and released after its flush callback.
 *
 * A conn is created for each dial and each accepted connection.  Until the
 * handshake is done its owner is the gateway; then the session of the peer
 * it authenticated takes it (conn_set_owner).
 *
 * Lifetime: conn_close() starts the end; the conn is freed once its handle is
 * closed and every job it sent to the pool is back.  The owner's on_closed
 * callback runs exactly once, from conn_close or from a failure, and after it
 * the owner must forget the conn.
 */
#ifndef STP_CONN_H
#define STP_CONN_H

#include <stdint.h>

#include <uv.h>

#include "endpoint.h"

typedef struct conn conn;
struct gateway;

typedef struct conn_owner_ops {
	/* The handshake completed; endpoint_peer(conn_endpoint(c)) is the peer. */
	void (*established)(void *owner, conn *c);
	/*
	 * A stream record (EP_RECORD).  rec is valid only during the call;
	 * its data stays valid until the flush callback returns if the owner
	 * kept it (conn_keep).
	 */
	void (*record)(void *owner, conn *c, const Stp__V1__Record *rec);
	/*
	 * Optional: the records delivered so far were all seen; write what
	 * was gathered from kept records now, their memory goes after this.
	 */
	void (*flush)(void *owner, conn *c);
	/* Output space freed: streams that stopped reading may resume. */
	void (*writable)(void *owner, conn *c);
	/* Pong arrived. */
	void (*pong)(void *owner, conn *c, uint64_t rtt_ms);
	/* Optional: the peer proved a new identity (endpoint_peer has it). */
	void (*peer_identity)(void *owner, conn *c);
	/* The connection is over (err 0: closed cleanly by either side). */
	void (*closed)(void *owner, conn *c, int err, const char *reason);
} conn_owner_ops;

/*
 * A conn around a connected (dialed) or accepted uv_tcp_t that the caller
 * initialised on gw's loop and allocated with malloc; the conn takes the
 * handle over (it closes and frees it).  initiator: 1 if we dialed.  The endpoint
 * is configured from the gateway's config (identity, rekey, workers).
 * Returns the conn or NULL (the handle is then closed for the caller).
 */
conn *conn_new(struct gateway *gw, uv_tcp_t *tcp, int initiator,
    const uint8_t *peer_pub, const conn_owner_ops *ops, void *owner);

/* Start: begin reading; the initiator sends its HELLO.  0 or an error. */
int conn_start(conn *c);

void conn_set_owner(conn *c, const conn_owner_ops *ops, void *owner);

/* The endpoint; NULL for a responder's conn whose HELLO has not passed mac1. */
endpoint *conn_endpoint(conn *c);
int conn_initiator(const conn *c);
/* 1 once any byte came from the peer (an initiator that heard nothing
 * may have dialed a key the peer does not hold). */
int conn_heard(const conn *c);
/* The remote address, "1.2.3.4:5678" / "[::1]:5678". */
const char *conn_peer_addr(const conn *c);
uint64_t conn_last_recv_ms(const conn *c);   /* loop time of the last bytes in */
uint64_t conn_established_ms(const conn *c);
/*
 * The kernel's smoothed RTT of the connection, in microseconds (TCP_INFO:
 * the sender's estimate, else the receiver's); 0 when it has none yet.
 */
uint32_t conn_rtt_us(const conn *c);

/*
 * After sending through the endpoint (endpoint_send*, endpoint_ping,
 * endpoint_close), flush: jobs go to the pool and output to the socket at
 * the end of this turn of the loop.
 */
void conn_flush(conn *c);

/*
 * During the record callback of a StreamData: keep its data valid until the
 * owner's flush callback returns.  0, or STP_EAGAIN: use it now.
 */
int conn_keep(conn *c);

/*
 * The end of a turn of the loop: write the output of every conn that has
 * some, hand the turn's jobs to the pool.  The gateway calls it from a
 * uv_check_t (after I/O) and a uv_prepare_t (before waiting for I/O).
 */
void conn_turn_end(struct gateway *gw);

/*
 * Output over the high-water mark (or held by conn_want_turn) and not yet
 * back under the low-water mark, half of it: streams wait.  The owner's
 * writable callback comes when it is back under.
 */
int conn_congested(const conn *c);
/*
 * The owner wants its writable callback (a turn) once the output is under
 * the low-water mark, even if it never went over the high one; until then
 * the output counts as congested from the low-water mark up.  Used when
 * the room was given out, so that nobody takes it between turns, and when
 * a stream stopped to wait for the next turn.
 */
void conn_want_turn(conn *c);
/*
 * 1 while pacing holds the output below its ceiling (a path slower than
 * high_cap per OUT_DELAY_MS, about 3 Gbit/s at the default session_buffer).
 */
int conn_paced(const conn *c);
/*
 * 1 while the connection is quiet: its congestion control (bbr) is about to
 * probe the path's RTT or is probing it, and streams that send in bulk
 * should wait (conn_pace.c, "Quiet"); conn_want_turn's turn comes when it ends.
 */
int conn_quiet(const conn *c);
/*
 * A light stream (its reads do not fill their buffer: requests, answers,
 * keystrokes) sent beside a stream that sends in bulk: for the next second
 * the output and the socket hold about 3 ms of the rate, not 10, and for
 * the next 10 s the connection goes quiet around BBR's probes (conn_pace.c,
 * "Shared" and "Quiet").
 */
void conn_light(conn *c);
/* Bytes of output below the high-water mark (0 when at or over it). */
size_t conn_output_room(const conn *c);

/* The peer ended the connection with a Close (and its code). */
int conn_closed_by_peer(const conn *c);
uint32_t conn_peer_close_code(const conn *c);
/*
 * Close: with a Close record first (code, reason) when established and
 * graceful, else at once.  on_closed runs (err 0 if graceful).  Idempotent.
 */
void conn_close(conn *c, int graceful, uint32_t code, const char *reason);

/* Called by the worker pool's done callback for jobs this conn submitted. */
void conn_job_done(void *owner, endpoint_job *job);

#endif

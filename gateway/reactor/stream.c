/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream.c: one tunneled connection.  See stream.h for the flow control
 * and half-close rules this file implements; a local stream's open is
 * stream_local.c, an open's far end (connecting to the service)
 * stream_connect.c, a dynamic forward's SOCKS5 part stream_socks.c, and
 * what a stream keeps for a resumption stream_resume.c.
 *
 * Credit, in bytes:
 *   send_credit   what the peer still lets us send (its window minus what we
 *                 sent, plus its WindowUpdates).  We read the local socket
 *                 only while it is > 0, and never more than it.
 *   recv_avail    what we still let the peer send.  A StreamData larger than
 *                 this is a flow-control violation and resets the stream.
 *   unacked       bytes written to the local socket since our last
 *                 WindowUpdate; at half the window we return them, and grow
 *                 the window if the local app kept up (nothing queued).
 *
 * A window starts at flow.window, or, on a long path, at what START_RATE
 * carries in one round trip of the session (st_start_window): a stream
 * that starts below the bandwidth-delay product is held to window / RTT
 * for its first round trips, and over a lossy path each stall of the
 * session's TCP (a lost segment holds back everything behind it) costs
 * another round trip before the window can grow; TCP's congestion control
 * then takes the stream for a slow sender and settles low.
 *
 * What we hold for the local app is at most our window (bytes in flight in
 * uv_write); the session caps the sum of all windows (limits.session_buffer).
 *
 * Reading from the local app: while the session's output has room, as the
 * socket gives; when it is full, the stream stops and waits on the
 * session's turn list (st_pause).  Each turn (session.c,
 * on_writable) gives every waiting stream a ticket, and while streams
 * contend on a paced connection, a share of the room per turn
 * (turn_left), so no stream takes every turn.
 *
 * Writing to the local app: the data of the records one read of the
 * session brought is gathered (session_gather: the records stay where they
 * were opened) and written with one writev per stream when the session has
 * seen them all (stream_flush); only what the socket does not take at once
 * is copied.  A record that cannot be gathered is written at once, behind
 * whatever this stream gathered before it, so the order never changes.
 */
#include "stream_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "frame.h"
#include "handshake.h"
#include "log.h"
#include "metrics.h"

/* One write to the local socket: the request and the bytes, one allocation. */
struct wreq {
	uv_write_t req;
	stream *st;
	size_t len;
	uint8_t data[];
};

static uint8_t read_buf[STP_MAX_DATA];

static void start_reading(stream *st);
static void leave_turns(stream *st);

uint32_t
stream_id(const stream *st)
{
	return st->id;
}

stream **
stream_hnext(stream *st)
{
	return &st->hnext;
}

uint64_t
stream_last_active_ms(const stream *st)
{
	return st->last_active;
}

uint64_t
stream_bytes_out(const stream *st)
{
	return st->bytes_out;
}

uint64_t
stream_bytes_in(const stream *st)
{
	return st->bytes_in;
}

const char *
st_peer_name(const stream *st)
{
	return session_peer(st->s)->name;
}

void
st_on_closed(uv_handle_t *h)
{
	stream *st = h->data;

	if (h == (uv_handle_t *)st->h) {
		free(st->h);
		st->h = NULL;
	}
	st_release(st);
}

void
st_release(stream *st)
{
	if (--st->handles > 0)
		return;
	free(st->pending);
	free(st->sx);
	st_free_kept(st);
	gateway_app_conn_del(st->gw);
	free(st);
}

/* Close everything now; the session forgets the stream. */
static void
teardown(stream *st, int rst)
{
	if (st->state == ST_DEAD)
		return;
	st->state = ST_DEAD;
	leave_turns(st);
	if (st->gathered > 0) {
		session_gather_drop(st->s, st);
		st->gathered = 0;
	}
	/* The window this stream grew is the session's to give to others again. */
	session_window_release(st->s, st->budget);
	st->budget = 0;
	/*
	 * So are the bytes still queued to the app: their writes complete (or
	 * are cancelled) after this, maybe after the session itself is gone,
	 * so on_local_written must not touch the session of a dead stream.
	 */
	session_buffered(st->s, -(int64_t)st->queued);
	session_remove_stream(st->s, st); /* from the table, or the waiting list */
	uv_timer_stop(&st->timer);
	if (st->resolving)
		uv_cancel((uv_req_t *)&st->gai);
	if (st->socks_rep >= 0 && st->h != NULL && st->socks) {
		/* A SOCKS app owed an answer gets it, and a plain close so
		 * that an RST does not discard it. */
		uint8_t out[SOCKS5SRV_REPLY_MAX];
		uv_buf_t b = uv_buf_init((char *)out,
		    (unsigned)socks5srv_reply((uint8_t)st->socks_rep, NULL, out));

		(void)uv_try_write(st->h, &b, 1);
		st->socks_rep = -1;
		rst = 0;
	}
	if (st->h != NULL && !uv_is_closing((uv_handle_t *)st->h)) {
		/*
		 * An RST tells the app at once that the stream broke.  libuv
		 * refuses it on a socket being connected or already shut down
		 * for writing; those get a plain close (a close that failed to
		 * start would leak the handle and the stream).  A Unix socket
		 * has no RST: a plain close.
		 */
		if (!rst || st->connecting || st->shut_done ||
		    st->h->type != UV_TCP ||
		    uv_tcp_close_reset((uv_tcp_t *)st->h, st_on_closed) != 0)
			uv_close((uv_handle_t *)st->h, st_on_closed);
	}
	uv_close((uv_handle_t *)&st->timer, st_on_closed);
	stp_metrics.streams_closed++;
}

void
stream_abort(stream *st, int tell_peer, uint32_t code, const char *reason)
{
	if (st->state == ST_DEAD)
		return;
	if (tell_peer && st->id != 0 && session_up(st->s))
		(void)session_send_reset(st->s, st->id, code, reason);
	teardown(st, 1);
}

/* A stream-level failure: reset both ends and log it. */
void
st_fail(stream *st, uint32_t code, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_info(st_peer_name(st), NULL, "stream %u (%s) reset: %s", st->id,
	    st->service, why);
	stream_abort(st, 1, code, why);
}

stream *
st_alloc(struct session *s, int local, const char *service)
{
	gateway *gw = session_gateway(s);
	stream *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->s = s;
	st->gw = gw;
	st->local = local;
	st->socks_rep = -1;
	snprintf(st->service, sizeof(st->service), "%s", service);
	st->window = gateway_config(gw)->flow.window;
	st->recv_avail = st->window;
	st->last_active = gateway_now(gw);
	if (uv_timer_init(gateway_loop(gw), &st->timer) != 0) {
		free(st);
		return NULL;
	}
	st->timer.data = st;
	st->handles = 1;
	return st;
}

/* 100 Mbit/s, in bytes per ms: the rate a new stream's window covers. */
#define START_RATE 12500

void
st_start_window(stream *st)
{
	const config *cfg = gateway_config(st->gw);
	uint64_t want = (uint64_t)session_path_rtt_ms(st->s) * START_RATE;
	uint32_t grow;

	if (want > cfg->flow.max_window)
		want = cfg->flow.max_window;
	if (want <= st->window)
		return;
	grow = (uint32_t)(want - st->window);
	if (!session_window_budget(st->s, grow))
		return;         /* the budget is taken: flow.window it is */
	st->budget += grow;     /* given back to the session at teardown */
	st->window += grow;
	st->recv_avail += grow;
}

/* ---- writing to the local socket ---- */

/*
 * WindowUpdate{increment, fin}: with resumption agreed, it also says what
 * we took so far (received), so that the peer may stop keeping it.
 */
static int
send_window(stream *st, uint32_t increment, int fin)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__WindowUpdate w = STP__V1__WINDOW_UPDATE__INIT;

	w.stream_id = st->id;
	w.increment = increment;
	if (session_features(st->s) & HS_FEATURE_RESUME)
		w.received = st->bytes_in;
	w.fin = fin != 0;
	r.body_case = STP__V1__RECORD__BODY_WINDOW;
	r.window = &w;
	return session_send(st->s, &r);
}

static void
send_window_update(stream *st)
{
	const config *cfg = gateway_config(st->gw);
	uint64_t inc = st->unacked;
	uint32_t grow = st->window;

	/*
	 * The app kept up (nothing waiting in uv_write): the window, not the
	 * app, limits this stream, so double it, within max_window and the
	 * session's budget.
	 */
	if (grow > cfg->flow.max_window - st->window)
		grow = cfg->flow.max_window - st->window;
	if (st->queued == 0 && grow > 0 && session_window_budget(st->s, grow)) {
		st->budget += grow; /* given back to the session at teardown */
		st->window += grow;
		inc += grow;
	}
	if (send_window(st, (uint32_t)inc, 0) == 0) {
		st->recv_avail += inc;
		st->unacked = 0;
	}
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	stream *st = req->data;

	(void)status;
	st_maybe_done(st);
}

/* The peer's FIN reaches the app once everything before it was written. */
static void
maybe_shutdown(stream *st)
{
	if (!st->fin_recv || st->shut_done || st->queued > 0 || st->gathered > 0 ||
	    st->state == ST_DEAD)
		return;
	st->shut_done = 1;
	st->sreq.data = st;
	if (uv_shutdown(&st->sreq, st->h, on_shutdown) != 0)
		st_maybe_done(st);
}

/* n bytes reached the local app: return them to the peer at half a window. */
static void
consumed(stream *st, size_t n)
{
	st->unacked += n;
	if (st->unacked >= st->window / 2 && !st->fin_recv)
		send_window_update(st);
	maybe_shutdown(st);
}

static void
on_local_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	stream *st = w->st;
	size_t w_len = w->len;

	st->queued -= w->len;
	if (st->state == ST_DEAD) {
		free(w);  /* teardown gave the session back its share */
		return;
	}
	session_buffered(st->s, -(int64_t)w->len);
	if (status < 0) {
		free(w);
		st_fail(st, STP__V1__RESET_CODE__RESET_ABORTED,
		    "writing to the local socket failed: %s", uv_strerror(status));
		return;
	}
	free(w);
	consumed(st, w_len);
}

/* Most pieces one writev takes: the gathered ones and one more. */
#define WRITE_IOV 64

/*
 * Write iov[0..n) (total bytes) to the local socket: at once as far as the
 * socket takes it, the rest copied and queued behind.  The pieces' memory
 * is not needed after this returns.
 */
static void
write_local(stream *st, uv_buf_t *iov, size_t n, size_t total)
{
	struct wreq *w = NULL;
	size_t done = 0, left, i, off, k;
	int rc;

	if (st->queued == 0) {
		rc = uv_try_write(st->h, iov, (unsigned)n);
		if (rc < 0 && rc != UV_EAGAIN)
			{ st_fail(st, STP__V1__RESET_CODE__RESET_ABORTED,
			    "writing to the local socket failed: %s", uv_strerror(rc)); return; }
		if (rc > 0)
			done = (size_t)rc;
	}
	/*
	 * Copy what is left before anything can send: a window update may
	 * flush the session, and the records' memory must not be needed then.
	 */
	if ((left = total - done) > 0) {
		if ((w = malloc(sizeof(*w) + left)) == NULL)
			{ st_fail(st, STP__V1__RESET_CODE__RESET_LIMIT, "out of memory"); return; }
		w->st = st;
		w->len = left;
		off = done;
		k = 0;
		for (i = 0; i < n; i++) {
			if (off >= iov[i].len) {
				off -= iov[i].len;
				continue;
			}
			memcpy(w->data + k, iov[i].base + off, iov[i].len - off);
			k += iov[i].len - off;
			off = 0;
		}
	}
	/*
	 * Queue the rest, and count it, before reporting what was written:
	 * consumed() may pass the peer's FIN on to the app (maybe_shutdown),
	 * and must see these bytes still waiting, or the FIN would go out
	 * ahead of them and they would be lost.
	 */
	if (w != NULL) {
		uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);

		rc = uv_write(&w->req, st->h, &b, 1,
		    on_local_written);
		if (rc != 0) {
			free(w);
			st_fail(st, STP__V1__RESET_CODE__RESET_ABORTED,
			    "writing to the local socket failed: %s",
			    uv_strerror(rc));
			return;
		}
		st->queued += w->len;
		session_buffered(st->s, (int64_t)w->len);
	}
	if (done > 0)
		consumed(st, done);
}

/* Take what this stream gathered (and p, len after it, if any) and write it. */
static void
write_gathered(stream *st, const uint8_t *p, size_t len)
{
	uv_buf_t iov[WRITE_IOV + 1];
	size_t n, i, total = 0;

	do {
		n = session_gathered(st->s, st, iov, WRITE_IOV);
		for (i = 0; i < n; i++)
			total += iov[i].len;
		/* All of it was taken when fewer than asked for came back. */
		if (n < WRITE_IOV) {
			st->gathered = 0;
			if (len > 0) {
				iov[n++] = uv_buf_init((char *)p, (unsigned)len);
				total += len;
			}
		} else
			st->gathered -= total;
		if (n > 0)
			write_local(st, iov, n, total);
		total = 0;
	} while (st->gathered > 0 && st->state != ST_DEAD);
}

void
stream_flush(stream *st)
{
	if (st->state != ST_DEAD && st->gathered > 0)
		write_gathered(st, NULL, 0);
}

static void
on_data(stream *st, const Stp__V1__StreamData *d)
{
	size_t len;

	if (st->fin_recv)
		{ st_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
		    "data after the peer's FIN"); return; }
	if (d->data.len > st->recv_avail)
		{ st_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
		    "peer sent %zu bytes with only %llu of window left", d->data.len,
		    (unsigned long long)st->recv_avail); return; }
	if (d->data.len == 0)
		return;
	len = d->data.len;
	st->recv_avail -= len;
	st->bytes_in += len;
	st->last_active = gateway_now(st->gw);
	/*
	 * With nothing queued for the socket, gather it: it is written with
	 * the rest of this turn's data for the stream (stream_flush).  Else
	 * (or if it cannot be gathered) write it now, behind what was.
	 */
	if (st->queued == 0 &&
	    session_gather(st->s, st, d->data.data, len) == 0) {
		st->gathered += len;
		return;
	}
	write_gathered(st, d->data.data, len);
}

/* ---- reading from the local socket ---- */

/*
 * What the stream may still read in this turn: while streams contend, what
 * keeps it level with the session's clock (session_clock: the bytes a
 * stream that took every share since the streams began to contend has
 * read); else a record's worth.  The clock is a share ahead of a stream
 * that took every one, so that is one share a turn; a stream that read
 * more than its shares reads less until the others caught up (a stream
 * whose read the loop saw first in a turn gained by a few percent a
 * turn, and over a run up to +24%); one that missed turns is owed at most
 * one share more, so time away earns no burst.
 */
static size_t
turn_left(stream *st)
{
	uint64_t clock, share;

	if (!session_contended(st->s))
		return STP_MAX_DATA;
	clock = session_clock(st->s);
	share = session_read_share(st->s);
	if (st->vtime + 2 * share < clock)
		st->vtime = clock - 2 * share;
	return st->vtime < clock ? (size_t)(clock - st->vtime) : 0;
}

/*
 * With some of this turn's share left, and: holding this turn's ticket
 * (for one read, or while streams contend, for the share), or neither
 * congested nor contending.  While streams contend, only a ticket lets a
 * stream read: one still reading from an earlier turn would otherwise
 * read whenever the output dipped below its low-water mark, before the
 * turn gave the others theirs, and keep doing so (in bench/fairness.py,
 * 2 of 8 downloads read in 70 of 185 turns in 2 s, the rest in 33, and
 * shares spread from -45% to +71%).
 */
/* A bulk stream, while the connection is quiet (conn_pace.c): it waits. */
static int
quiet_holds(stream *st)
{
	return st->heavy && session_quiet(st->s);
}

static int
may_send(stream *st)
{
	if (turn_left(st) == 0 || quiet_holds(st))
		return 0;
	if (st->ticket != 0 && st->ticket == session_turn(st->s))
		return 1;
	return !session_contended(st->s) && !session_congested(st->s);
}

static int
may_read(stream *st)
{
	return st->state == ST_OPEN && !st->eof_sent && st->send_credit > 0 &&
	    st->pending == NULL && !st->held && !st->resending && may_send(st);
}

void
st_stop_reading(stream *st)
{
	if (st->reading) {
		uv_read_stop(st->h);
		st->reading = 0;
	}
}

/* Off the session's list of streams waiting for a turn. */
static void
leave_turns(stream *st)
{
	if (!st->turn_listed)
		return;
	if (st->turn_prev != NULL)
		st->turn_prev->turn_next = st->turn_next;
	else
		*session_turn_list(st->s) = st->turn_next;
	if (st->turn_next != NULL)
		st->turn_next->turn_prev = st->turn_prev;
	st->turn_next = st->turn_prev = NULL;
	st->turn_listed = 0;
}

/*
 * Stop reading.  If the session's output (or a turn already used) is what
 * stops us, wait on the session's turn list for its next turn
 * (on_writable); no credit, EOF sent or a stream not open are not the
 * output's to resume (a WindowUpdate resumes the first).
 */
void
st_pause(stream *st)
{
	stream **head = session_turn_list(st->s);

	st_stop_reading(st);
	if (st->turn_listed || st->state != ST_OPEN || st->held ||
	    (st->eof_sent && !st->resending && !st->fin_owed) ||
	    (st->send_credit == 0 && st->pending == NULL && !st->resending &&
	    !st->fin_owed))
		return;
	if (!quiet_holds(st))
		session_want_turn(st->s);   /* quiet: its end brings the turn */
	st->turn_prev = NULL;
	st->turn_next = *head;
	if (*head != NULL)
		(*head)->turn_prev = st;
	*head = st;
	st->turn_listed = 1;
}

/*
 * Read straight into the next record's buffer (an endpoint reservation), so
 * the app's bytes are copied once, by the kernel; the shared buffer is only
 * the fallback when no reservation can be had.  libuv calls on_read right
 * after on_alloc, so one reservation per connection at a time is enough.
 */
#define QUIET_READ 2048

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	stream *st = h->data;
	uint64_t n = st->send_credit;
	uint8_t *p;

	(void)suggested;
	if (!may_read(st))
		n = 0;
	if (n > sizeof(read_buf))
		n = sizeof(read_buf);
	if (n > turn_left(st))
		n = turn_left(st);
	/*
	 * Quiet (conn_pace.c): light streams read little at a time, so a
	 * bulk stream that looked light (a short read) fills this at once,
	 * turns heavy and waits, having put at most this much ahead.
	 */
	if (n > QUIET_READ && session_quiet(st->s))
		n = QUIET_READ;
	if (n > 0 && (p = session_data_reserve(st->s, (size_t)n)) != NULL) {
		st->reserved = 1;
		buf->base = (char *)p;
	} else {
		buf->base = (char *)read_buf;
	}
	buf->len = (size_t)n;
}

int
st_send_fin(stream *st)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamFin f = STP__V1__STREAM_FIN__INIT;

	f.stream_id = st->id;
	r.body_case = STP__V1__RECORD__BODY_FIN;
	r.fin = &f;
	return session_send(st->s, &r);
}

/*
 * Send what we read; keep a copy if the session cannot take it right now.
 * With a reservation the data already sits in the record's buffer: commit
 * it, and give the reservation back whenever the commit failed (after the
 * copy, which reads from it).
 */
static void
forward(stream *st, const uint8_t *data, size_t len)
{
	int reserved = st->reserved, rc, kept;

	st->reserved = 0;
	if ((kept = st_keep_sent(st, data, len)) < 0) {
		if (reserved)
			session_data_cancel(st->s);
		st_fail(st, STP__V1__RESET_CODE__RESET_LIMIT, "out of memory");
		return;
	}
	rc = reserved ? session_data_commit(st->s, st->id, len) :
	    session_send_data(st->s, st->id, data, len);
	if (rc != 0 && kept)
		st_unkeep_sent(st, len);
	if (rc == STP_EAGAIN && (st->pending = malloc(len)) != NULL) {
		memcpy(st->pending, data, len);
		st->pending_len = len;
	}
	if (reserved && rc != 0)
		session_data_cancel(st->s);
	if (rc == STP_EAGAIN) {
		if (st->pending == NULL)
			{ st_fail(st, STP__V1__RESET_CODE__RESET_LIMIT,
			    "out of memory"); return; }
		st_pause(st);
		return;
	}
	if (rc != 0)
		{ stream_abort(st, 0, 0, "session gone"); return; }
	st->send_credit -= len;
	st->bytes_out += len;
	st->last_active = gateway_now(st->gw);
}

static void
on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
	stream *st = h->data;

	if (st->reserved && (nread <= 0 || st->state == ST_DEAD)) {
		/* Nothing was read into the reservation, or nobody will send it. */
		st->reserved = 0;
		session_data_cancel(st->s);
	}
	if (st->state == ST_DEAD)
		return;
	if (nread == UV_ENOBUFS) {
		st_pause(st);
		return;
	}
	if (nread == UV_EOF) {
		st_stop_reading(st);
		st->app_eof = 1;
		if (st_send_fin(st) == 0)
			st->eof_sent = 1;
		st_maybe_done(st);
		return;
	}
	if (nread < 0)
		{ st_fail(st, STP__V1__RESET_CODE__RESET_ABORTED,
		    "local connection: %s", uv_strerror((int)nread)); return; }
	if (nread == 0)
		return;
	if (session_contended(st->s))
		st->vtime += (uint64_t)nread;   /* the clock limits */
	else
		st->ticket = 0;                 /* one read */
	(void)session_read_turn(st->s, &st->read_turn);
	st->heavy = (size_t)nread == buf->len;
	session_read_kind(st->s, st->id, st->heavy);
	forward(st, (const uint8_t *)buf->base, (size_t)nread);
	if (st->state != ST_DEAD && !may_read(st))
		st_pause(st);
}

static void
start_reading(stream *st)
{
	if (st->reading)
		return;
	if (!may_read(st)) {
		st_pause(st);
		return;
	}
	if (uv_read_start(st->h, on_alloc, on_read) == 0)
		st->reading = 1;
}

void
stream_resume(stream *st)
{
	if (st->state != ST_OPEN || st->held)
		return;
	if ((st->resending || st->fin_owed) && st_resend(st) != 0)
		return;
	if (st->pending != NULL && may_send(st) &&
	    st->pending_len <= st->send_credit) {
		uint8_t *p = st->pending;
		size_t n = st->pending_len;

		st->pending = NULL;
		st->pending_len = 0;
		st->ticket = 0;
		forward(st, p, n);
		free(p);
		if (st->state == ST_DEAD)
			return;
	}
	start_reading(st);
}

int
stream_take_turn(stream *st)
{
	leave_turns(st);
	if (st->state != ST_OPEN)
		return 0;
	st->ticket = session_turn(st->s);
	stream_resume(st);
	return st->state == ST_OPEN && st->reading;
}

stream *
stream_turn_next(stream *st)
{
	return st->turn_next;
}

static void
fin_ack_expired(uv_timer_t *t)
{
	teardown(t->data, 0);
}

/*
 * Both directions finished: the stream is over.  While the session can
 * resume, only once the peer acknowledged our FIN (and so every byte
 * before it): until then a break could still lose them.
 */
void
st_maybe_done(stream *st)
{
	const config *cfg;

	if (st->state == ST_DEAD || !st->eof_sent || !st->shut_done ||
	    st->queued > 0)
		return;
	if (st->fin_acked || !session_resumable(st->s)) {
		teardown(st, 0);
		return;
	}
	/*
	 * Waiting for the acknowledgement, but not for ever: one that never
	 * comes (lost to a full output) must not keep the socket.  By
	 * dead_after plus resume_window a break was found and settled.
	 */
	if (!st->fin_wait) {
		cfg = gateway_config(st->gw);
		st->fin_wait = 1;
		uv_timer_start(&st->timer, fin_ack_expired,
		    cfg->timeouts.dead_ms + cfg->timeouts.resume_ms, 0);
	}
}

/* ---- opening ---- */

static void
idle_check(uv_timer_t *t)
{
	stream *st = t->data;
	uint64_t idle = gateway_config(st->gw)->timeouts.stream_idle_ms;
	uint64_t now = gateway_now(st->gw);

	if (idle == 0)
		return;
	if (now - st->last_active >= idle)
		{ st_fail(st, STP__V1__RESET_CODE__RESET_TIMEOUT,
		    "idle for %llu s", (unsigned long long)(idle / 1000)); return; }
	uv_timer_start(&st->timer, idle_check, idle - (now - st->last_active), 0);
}

/* The stream carries data from now on. */
void
st_become_open(stream *st)
{
	uint64_t idle = gateway_config(st->gw)->timeouts.stream_idle_ms;

	st->state = ST_OPEN;
	uv_timer_stop(&st->timer);
	if (idle > 0)
		uv_timer_start(&st->timer, idle_check, idle, 0);
	stp_metrics.streams_opened++;
	start_reading(st);
}

/* ---- records from the peer ---- */

void
stream_on_record(stream *st, const Stp__V1__Record *rec)
{
	if (st->state == ST_DEAD)
		return;
	switch (rec->body_case) {
	case STP__V1__RECORD__BODY_ACCEPT:
		if (!st->local || st->state != ST_OPENING)
			{ st_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
			    "unexpected accept"); return; }
		st->send_credit = rec->accept->window;
		log_debug(st_peer_name(st), NULL, "stream %u to %s open (windows: "
		    "ours %u, the peer's %llu)", st->id, st->service, st->window,
		    (unsigned long long)st->send_credit);
		if (st->socks && st_socks_answer(st, SOCKS5SRV_REP_OK) != 0)
			return;
		st_become_open(st);
		if (st->pending != NULL)
			stream_resume(st);
		break;
	case STP__V1__RECORD__BODY_DATA:
		if (st->state != ST_OPEN)
			{ st_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
			    "data before the stream was open"); return; }
		on_data(st, rec->data);
		break;
	case STP__V1__RECORD__BODY_WINDOW:
		if (st->send_credit + rec->window->increment > (1ull << 32))
			{ st_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
			    "window over 4 GiB"); return; }
		st->send_credit += rec->window->increment;
		st_acked(st, rec->window->received, rec->window->fin);
		if (st->state == ST_DEAD)
			return;
		/* A SOCKS app's first bytes may have waited for this credit. */
		stream_resume(st);
		break;
	case STP__V1__RECORD__BODY_FIN:
		st->fin_recv = 1;
		/*
		 * With resumption, acknowledge it (WindowUpdate{0, received,
		 * fin}), so that the peer may end the stream knowing nothing is
		 * left to send again; if it cannot go now, the next
		 * resumption's table says it.
		 */
		if (session_features(st->s) & HS_FEATURE_RESUME)
			(void)send_window(st, 0, 1);
		maybe_shutdown(st);
		st_maybe_done(st);
		break;
	case STP__V1__RECORD__BODY_RESET: {
		char why[SESSION_REASON_MAX];

		session_reason_text(why, rec->reset->reason);
		if (st->state == ST_OPENING) {
			st->socks_rep = st_socks_rep_for(rec->reset->code, why);
			stp_metrics.streams_refused[M_ST_PEER_REFUSED]++;
			log_info(st_peer_name(st), NULL,
			    "stream to %s refused by the peer: %s", st->service, why);
		} else {
			log_debug(st_peer_name(st), NULL, "stream %u reset by the peer: %s",
			    st->id, why);
		}
		stream_abort(st, 0, 0, why);
		break;
	}
	default:
		break;
	}
}

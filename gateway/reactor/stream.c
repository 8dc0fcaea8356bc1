/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream.c: one tunneled TCP connection.  See stream.h for the flow control
 * and half-close rules this file implements.
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
 * What we hold for the local app is at most our window (bytes in flight in
 * uv_write); the session caps the sum of all windows (limits.session_buffer).
 *
 * Writing to the local app: the data of the records one read of the
 * session brought is gathered (session_gather: the records stay where they
 * were opened) and written with one writev per stream when the session has
 * seen them all (stream_flush); only what the socket does not take at once
 * is copied.  A record that cannot be gathered is written at once, behind
 * whatever this stream gathered before it, so the order never changes.
 */
#include "stream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "frame.h"
#include "gateway.h"
#include "log.h"
#include "metrics.h"
#include "session.h"

enum st_state {
	ST_WAIT_SESSION, /* local: app accepted, no session yet */
	ST_OPENING,      /* local: StreamOpen sent, waiting for accept / reset */
	ST_CONNECTING,   /* remote: connecting to the service */
	ST_OPEN,
	ST_DEAD,         /* handles closing */
};

struct stream {
	struct session *s;
	gateway *gw;
	uint32_t id;
	int local;
	enum st_state state;
	char service[CFG_NAME_MAX];
	char target[CFG_HOST_MAX + 8];
	uint16_t port;

	uv_tcp_t *tcp;
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

	uint64_t bytes_in, bytes_out, last_active;
	stream *hnext;          /* session's hash chain */
};

/* One write to the local socket: the request and the bytes, one allocation. */
struct wreq {
	uv_write_t req;
	stream *st;
	size_t len;
	uint8_t data[];
};

static uint8_t read_buf[STP_MAX_DATA];

static void stream_maybe_done(stream *st);
static void start_reading(stream *st);

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

static const char *
peer_name(const stream *st)
{
	return session_peer(st->s)->name;
}

static void
on_closed(uv_handle_t *h)
{
	stream *st = h->data;

	if (h == (uv_handle_t *)st->tcp) {
		free(st->tcp);
		st->tcp = NULL;
	}
	if (--st->handles > 0)
		return;
	free(st->pending);
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
	if (st->tcp != NULL && !uv_is_closing((uv_handle_t *)st->tcp)) {
		/*
		 * An RST tells the app at once that the stream broke.  libuv
		 * refuses it on a socket being connected or already shut down
		 * for writing; those get a plain close (a close that failed to
		 * start would leak the handle and the stream).
		 */
		if (!rst || st->connecting || st->shut_done ||
		    uv_tcp_close_reset(st->tcp, on_closed) != 0)
			uv_close((uv_handle_t *)st->tcp, on_closed);
	}
	uv_close((uv_handle_t *)&st->timer, on_closed);
	stp_metrics.streams_closed++;
}

static int
send_reset(stream *st, uint32_t code, const char *reason)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamReset rs = STP__V1__STREAM_RESET__INIT;

	rs.stream_id = st->id;
	rs.code = code;
	rs.reason = (char *)reason;
	r.body_case = STP__V1__RECORD__BODY_RESET;
	r.reset = &rs;
	return session_send(st->s, &r);
}

void
stream_abort(stream *st, int tell_peer, uint32_t code, const char *reason)
{
	if (st->state == ST_DEAD)
		return;
	if (tell_peer && st->id != 0 && session_up(st->s))
		(void)send_reset(st, code, reason);
	teardown(st, 1);
}

/* A stream-level failure: reset both ends and log it. */
static void
stream_fail(stream *st, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
stream_fail(stream *st, uint32_t code, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_info(peer_name(st), NULL, "stream %u (%s) reset: %s", st->id,
	    st->service, why);
	stream_abort(st, 1, code, why);
}

static stream *
stream_alloc(struct session *s, int local, const char *service)
{
	gateway *gw = session_gateway(s);
	stream *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->s = s;
	st->gw = gw;
	st->local = local;
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

/* ---- writing to the local socket ---- */

static void
send_window_update(stream *st)
{
	const config *cfg = gateway_config(st->gw);
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__WindowUpdate w = STP__V1__WINDOW_UPDATE__INIT;
	uint64_t inc = st->unacked;

	/*
	 * The app kept up (nothing waiting in uv_write): the window, not the
	 * app, limits this stream, so double it, within max_window and the
	 * session's budget.
	 */
	if (st->queued == 0 && st->window < cfg->flow.max_window &&
	    session_window_budget(st->s, st->window)) {
		uint32_t grow = st->window;

		st->budget += grow; /* given back to the session at teardown */
		if ((uint64_t)st->window + grow > cfg->flow.max_window)
			grow = cfg->flow.max_window - st->window;
		st->window += grow;
		inc += grow;
	}
	w.stream_id = st->id;
	w.increment = (uint32_t)inc;
	r.body_case = STP__V1__RECORD__BODY_WINDOW;
	r.window = &w;
	if (session_send(st->s, &r) == 0) {
		st->recv_avail += inc;
		st->unacked = 0;
	}
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	stream *st = req->data;

	(void)status;
	stream_maybe_done(st);
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
	if (uv_shutdown(&st->sreq, (uv_stream_t *)st->tcp, on_shutdown) != 0)
		stream_maybe_done(st);
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
		stream_fail(st, STP__V1__RESET_CODE__RESET_ABORTED,
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
		rc = uv_try_write((uv_stream_t *)st->tcp, iov, (unsigned)n);
		if (rc < 0 && rc != UV_EAGAIN)
			{ stream_fail(st, STP__V1__RESET_CODE__RESET_ABORTED,
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
			{ stream_fail(st, STP__V1__RESET_CODE__RESET_LIMIT, "out of memory"); return; }
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

		rc = uv_write(&w->req, (uv_stream_t *)st->tcp, &b, 1,
		    on_local_written);
		if (rc != 0) {
			free(w);
			stream_fail(st, STP__V1__RESET_CODE__RESET_ABORTED,
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
		{ stream_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
		    "data after the peer's FIN"); return; }
	if (d->data.len > st->recv_avail)
		{ stream_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
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

static int
may_read(stream *st)
{
	return st->state == ST_OPEN && !st->eof_sent && st->send_credit > 0 &&
	    st->pending == NULL && !session_congested(st->s);
}

static void
stop_reading(stream *st)
{
	if (st->reading) {
		uv_read_stop((uv_stream_t *)st->tcp);
		st->reading = 0;
	}
}

/*
 * Read straight into the next record's buffer (an endpoint reservation), so
 * the app's bytes are copied once, by the kernel; the shared buffer is only
 * the fallback when no reservation can be had.  libuv calls on_read right
 * after on_alloc, so one reservation per connection at a time is enough.
 */
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
	if (n > 0 && (p = session_data_reserve(st->s, (size_t)n)) != NULL) {
		st->reserved = 1;
		buf->base = (char *)p;
	} else {
		buf->base = (char *)read_buf;
	}
	buf->len = (size_t)n;
}

static int
send_fin(stream *st)
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
	int reserved = st->reserved, rc;

	st->reserved = 0;
	rc = reserved ? session_data_commit(st->s, st->id, len) :
	    session_send_data(st->s, st->id, data, len);
	if (rc == STP_EAGAIN && (st->pending = malloc(len)) != NULL) {
		memcpy(st->pending, data, len);
		st->pending_len = len;
	}
	if (reserved && rc != 0)
		session_data_cancel(st->s);
	if (rc == STP_EAGAIN) {
		if (st->pending == NULL)
			{ stream_fail(st, STP__V1__RESET_CODE__RESET_LIMIT,
			    "out of memory"); return; }
		stop_reading(st);
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
		stop_reading(st);
		return;
	}
	if (nread == UV_EOF) {
		stop_reading(st);
		if (send_fin(st) == 0)
			st->eof_sent = 1;
		stream_maybe_done(st);
		return;
	}
	if (nread < 0)
		{ stream_fail(st, STP__V1__RESET_CODE__RESET_ABORTED,
		    "local connection: %s", uv_strerror((int)nread)); return; }
	if (nread == 0)
		return;
	forward(st, (const uint8_t *)buf->base, (size_t)nread);
	if (st->state != ST_DEAD && !may_read(st))
		stop_reading(st);
}

static void
start_reading(stream *st)
{
	if (st->reading || !may_read(st))
		return;
	if (uv_read_start((uv_stream_t *)st->tcp, on_alloc, on_read) == 0)
		st->reading = 1;
}

void
stream_resume(stream *st)
{
	if (st->state != ST_OPEN)
		return;
	if (st->pending != NULL && !session_congested(st->s)) {
		uint8_t *p = st->pending;
		size_t n = st->pending_len;

		st->pending = NULL;
		st->pending_len = 0;
		forward(st, p, n);
		free(p);
		if (st->state == ST_DEAD)
			return;
	}
	start_reading(st);
}

/* Both directions finished: the stream is over. */
static void
stream_maybe_done(stream *st)
{
	if (st->state == ST_DEAD)
		return;
	if (st->eof_sent && st->shut_done && st->queued == 0)
		teardown(st, 0);
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
		{ stream_fail(st, STP__V1__RESET_CODE__RESET_TIMEOUT,
		    "idle for %llu s", (unsigned long long)(idle / 1000)); return; }
	uv_timer_start(&st->timer, idle_check, idle - (now - st->last_active), 0);
}

/* The stream carries data from now on. */
static void
become_open(stream *st)
{
	uint64_t idle = gateway_config(st->gw)->timeouts.stream_idle_ms;

	st->state = ST_OPEN;
	uv_timer_stop(&st->timer);
	if (idle > 0)
		uv_timer_start(&st->timer, idle_check, idle, 0);
	stp_metrics.streams_opened++;
	start_reading(st);
}

static void
open_expired(uv_timer_t *t)
{
	stream *st = t->data;
	uint64_t ms = gateway_config(st->gw)->timeouts.connect_ms;

	stp_metrics.streams_refused[st->state == ST_WAIT_SESSION ? M_ST_NO_SESSION :
	    M_ST_CONNECT_FAILED]++;
	log_info(peer_name(st), NULL, "stream to %s closed: %s within %llu ms",
	    st->service, st->state == ST_WAIT_SESSION ? "no session to the peer" :
	    "the peer did not answer", (unsigned long long)ms);
	stream_abort(st, st->state == ST_OPENING, STP__V1__RESET_CODE__RESET_TIMEOUT,
	    "open timed out");
}

void
stream_session_up(stream *st)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamOpen o = STP__V1__STREAM_OPEN__INIT;

	if (st->state != ST_WAIT_SESSION)
		return;
	if ((st->id = session_next_id(st->s)) == 0)
		{ stream_abort(st, 0, 0, "stream ids exhausted"); return; }
	session_add_stream(st->s, st);
	o.stream_id = st->id;
	o.service = st->service;
	o.window = st->window;
	r.body_case = STP__V1__RECORD__BODY_OPEN;
	r.open = &o;
	if (session_send(st->s, &r) != 0) {
		stream_abort(st, 0, 0, "session refused the open");
		return;
	}
	st->state = ST_OPENING;
}

stream *
stream_new_local(struct session *s, uv_tcp_t *app, const char *service)
{
	stream *st = stream_alloc(s, 1, service);

	if (st == NULL) {
		uv_close((uv_handle_t *)app, (uv_close_cb)free);
		gateway_app_conn_del(session_gateway(s));
		return NULL;
	}
	st->tcp = app;
	app->data = st;
	st->handles++;
	uv_tcp_nodelay(app, 1);
	st->state = ST_WAIT_SESSION;
	/* Bounded wait for the session and then for the peer's answer. */
	uv_timer_start(&st->timer, open_expired,
	    gateway_config(st->gw)->timeouts.connect_ms, 0);
	if (session_up(s))
		stream_session_up(st);
	else
		session_kick(s);
	return st;
}

static void
on_target_connected(uv_connect_t *req, int status)
{
	stream *st = req->data;
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamAccept a = STP__V1__STREAM_ACCEPT__INIT;

	st->connecting = 0;
	if (st->state == ST_DEAD)
		return;
	if (status < 0) {
		stp_metrics.streams_refused[M_ST_CONNECT_FAILED]++;
		{ stream_fail(st, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "connect to %s:%u failed: %s", st->target, st->port,
		    uv_strerror(status)); return; }
	}
	uv_tcp_nodelay(st->tcp, 1);
	a.stream_id = st->id;
	a.window = st->window;
	r.body_case = STP__V1__RECORD__BODY_ACCEPT;
	r.accept = &a;
	if (session_send(st->s, &r) != 0)
		{ stream_abort(st, 0, 0, "session gone"); return; }
	log_debug(peer_name(st), NULL, "stream %u to %s (%s:%u) open", st->id,
	    st->service, st->target, st->port);
	become_open(st);
}

static void
connect_to(stream *st, const struct sockaddr *sa)
{
	int rc;

	st->creq.data = st;
	rc = uv_tcp_connect(&st->creq, st->tcp, sa, on_target_connected);
	if (rc != 0) {
		stp_metrics.streams_refused[M_ST_CONNECT_FAILED]++;
		{ stream_fail(st, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "connect to %s:%u failed: %s", st->target, st->port,
		    uv_strerror(rc)); return; }
	}
	st->connecting = 1;
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	stream *st = req->data;

	st->resolving = 0;
	if (st->state == ST_DEAD) {
		uv_freeaddrinfo(res);
		return;
	}
	if (status < 0 || res == NULL) {
		uv_freeaddrinfo(res);
		stp_metrics.streams_refused[M_ST_CONNECT_FAILED]++;
		{ stream_fail(st, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "cannot resolve %s: %s", st->target,
		    status < 0 ? uv_strerror(status) : "no address"); return; }
	}
	connect_to(st, res->ai_addr);
	uv_freeaddrinfo(res);
}

static void
connect_expired(uv_timer_t *t)
{
	stream *st = t->data;

	stp_metrics.streams_refused[M_ST_CONNECT_FAILED]++;
	stream_fail(st, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
	    "connect to %s:%u timed out", st->target, st->port);
}

stream *
stream_new_remote(struct session *s, uint32_t id, uint32_t peer_window,
    const char *host, uint16_t port, const char *service)
{
	gateway *gw = session_gateway(s);
	struct addrinfo hints;
	struct sockaddr_storage ss;
	char portstr[8];
	stream *st;
	int rc;

	if (gateway_app_conn_add(gw) != 0)
		return NULL;
	if ((st = stream_alloc(s, 0, service)) == NULL) {
		gateway_app_conn_del(gw);
		return NULL;
	}
	st->id = id;
	st->send_credit = peer_window;
	snprintf(st->target, sizeof(st->target), "%s", host);
	st->port = port;
	st->state = ST_CONNECTING;
	if ((st->tcp = malloc(sizeof(*st->tcp))) == NULL ||
	    uv_tcp_init(gateway_loop(gw), st->tcp) != 0) {
		free(st->tcp);
		st->tcp = NULL;
		uv_close((uv_handle_t *)&st->timer, on_closed);
		return NULL;
	}
	st->tcp->data = st;
	st->handles++;
	session_add_stream(s, st);
	uv_timer_start(&st->timer, connect_expired,
	    gateway_config(gw)->timeouts.connect_ms, 0);
	/* An IP literal connects at once; a name is resolved now, every time. */
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) == 0 ||
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) == 0) {
		connect_to(st, (struct sockaddr *)&ss);
		return st;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	st->gai.data = st;
	rc = uv_getaddrinfo(gateway_loop(gw), &st->gai, on_resolved, host, portstr,
	    &hints);
	if (rc != 0) {
		/* Reset (with this reason) and on its way out: not a refusal. */
		stream_fail(st, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "cannot resolve %s: %s", host, uv_strerror(rc));
		return st;
	}
	st->resolving = 1;
	return st;
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
			{ stream_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
			    "unexpected accept"); return; }
		st->send_credit = rec->accept->window;
		log_debug(peer_name(st), NULL, "stream %u to %s open", st->id,
		    st->service);
		become_open(st);
		break;
	case STP__V1__RECORD__BODY_DATA:
		if (st->state != ST_OPEN)
			{ stream_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
			    "data before the stream was open"); return; }
		on_data(st, rec->data);
		break;
	case STP__V1__RECORD__BODY_WINDOW:
		if (st->send_credit + rec->window->increment > (1ull << 32))
			{ stream_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
			    "window over 4 GiB"); return; }
		st->send_credit += rec->window->increment;
		start_reading(st);
		break;
	case STP__V1__RECORD__BODY_FIN:
		st->fin_recv = 1;
		maybe_shutdown(st);
		stream_maybe_done(st);
		break;
	case STP__V1__RECORD__BODY_RESET: {
		char why[130];
		size_t i;

		snprintf(why, sizeof(why), "%s", rec->reset->reason ?
		    rec->reset->reason : "");
		for (i = 0; why[i] != '\0'; i++)
			if (why[i] < 0x20 || why[i] > 0x7e)
				why[i] = '?';
		if (st->state == ST_OPENING) {
			stp_metrics.streams_refused[M_ST_PEER_REFUSED]++;
			log_info(peer_name(st), NULL,
			    "stream to %s refused by the peer: %s", st->service, why);
		} else {
			log_debug(peer_name(st), NULL, "stream %u reset by the peer: %s",
			    st->id, why);
		}
		stream_abort(st, 0, 0, why);
		break;
	}
	default:
		break;
	}
}

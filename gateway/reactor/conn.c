/*
 * conn.c: a TCP connection carrying STP, between libuv and the sans-I/O
 * endpoint.  See conn.h.
 *
 * The loop: bytes read -> endpoint_input -> process(): events to the owner
 * (data records kept while the owner gathers them, then its flush, then
 * released), jobs to the pool, reading resumed if the endpoint has room
 * again, and the conn marked dirty.  process() runs after every input, job
 * completion and write completion; the owner's sends only mark the conn
 * (conn_flush).  At the end of the turn conn_turn_end() goes over the
 * dirty conns: their jobs go to the pool's batch (handed over once, for all
 * conns) and their frames to the socket.
 *
 * Writing: every frame that is ready goes in one writev (up to CONN_MAX_IOV
 * buffers), tried at once with uv_try_write so written buffers are freed at
 * once; only what the socket did not take waits in one uv_write, and nothing
 * more is written until it completes.  Reads go straight into the
 * endpoint's input buffer, where records are opened in place.
 *
 * A responder's conn starts with a gate instead (gate.h): a few KiB that
 * read the first frame and say nothing whatever it is; the endpoint is
 * made only for a HELLO that passed mac1.
 */
#include "conn.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "config.h"
#include "crypto/crypto.h"
#include "err.h"
#include "gate.h"
#include "gateway.h"
#include "guard.h"
#include "handshake.h"
#include "keysched.h"
#include "log.h"
#include "metrics.h"
#include "plugin_api.h"
#include "workers.h"

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
	size_t high;             /* output high-water mark */
	char addr[64];
	struct sockaddr_storage ss;  /* the remote address (admission plugins) */
	plugins *plug;           /* the plugin set this conn's handshake uses */
	uint64_t last_recv_ms, established_ms;
	int established;
	int eof;                 /* the socket reached EOF; act once records are done */
	int confirmed;           /* initiator: a record from the responder arrived */
	int in_events;           /* inside deliver_events: an owner callback is running */
	uint64_t cover_seen;     /* cover records received, counted so far */
};

static conn *starved_head; /* conns holding jobs the pool refused */
static conn *dirty_head;   /* conns with jobs or output for the turn's end */

static void process(conn *c);
static void write_failed(conn *c, int rc);

/* Output or jobs are waiting: conn_turn_end will see to them. */
static void
mark_dirty(conn *c)
{
	if (c->dirty || c->handles == 0)
		return;
	c->dirty = 1;
	c->dirty_next = dirty_head;
	dirty_head = c;
}

static uint64_t
now_ms(conn *c)
{
	return gateway_now(c->gw);
}

static void
maybe_free(conn *c)
{
	gateway *gw = c->gw;

	if (c->handles > 0 || c->jobs_out > 0)
		return;
	endpoint_free(c->ep);
	if (c->gate != NULL)
		gate_wipe(c->gate);
	free(c->gate);
	free(c->bufs);
	plugins_unref(c->plug);
	free(c->held);
	free(c);
	gateway_conn_count(gw, -1);
}

static void
on_handle_closed(uv_handle_t *h)
{
	conn *c = h->data;

	if (h == (uv_handle_t *)c->tcp)
		free(c->tcp);
	c->handles--;
	maybe_free(c);
}

/* Take c off a list linked through the conn * at offset `next`. */
static void
list_remove(conn **head, conn *c, size_t next)
{
	conn **pp;

	for (pp = head; *pp != NULL; pp = (conn **)((char *)*pp + next)) {
		if (*pp == c) {
			*pp = *(conn **)((char *)c + next);
			return;
		}
	}
}

/* Tear down the socket and timer now; the conn goes once jobs are back. */
static void
close_handles(conn *c)
{
	/* Off the lists (a turn's pass in progress has it on its own: it skips it). */
	if (c->dirty)
		list_remove(&dirty_head, c, offsetof(conn, dirty_next));
	c->dirty = 0;
	if (c->starved)
		list_remove(&starved_head, c, offsetof(conn, starved_next));
	c->starved = 0;
	if (!uv_is_closing((uv_handle_t *)c->tcp))
		uv_close((uv_handle_t *)c->tcp, on_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* Tell the owner, once; after this the conn has no owner. */
static void
notify_closed(conn *c, int err, const char *reason)
{
	const conn_owner_ops *ops = c->ops;
	void *owner = c->owner;

	c->ops = NULL;
	c->owner = NULL;
	if (ops != NULL && ops->closed != NULL)
		ops->closed(owner, c, err, reason);
}

static void
linger_expired(uv_timer_t *t)
{
	close_handles(t->data);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/*
 * Closing: give the queued output (a Close record) a short time to leave,
 * reading meanwhile.  Were we to stop reading and close while the peer
 * still sends, the unread bytes would make our kernel answer with a reset,
 * which may destroy the Close before the peer reads it.
 */
static void
linger(conn *c)
{
	c->flushing = 1;
	c->peer_eof = c->eof;
	uv_timer_stop(&c->timer);
	uv_timer_start(&c->timer, linger_expired, CONN_LINGER_MS, 0);
	if (!c->reading && !c->peer_eof &&
	    uv_read_start((uv_stream_t *)c->tcp, on_alloc, on_read) == 0)
		c->reading = 1;
	process(c);
}

static void
on_shut(uv_shutdown_t *req, int status)
{
	conn *c = req->data;

	if (status == UV_ECANCELED)
		return;  /* the handle is closing already */
	if (status < 0 || c->peer_eof)
		close_handles(c);
}

/* The output is out: send our FIN, then wait for the peer's (or the timer). */
static void
linger_done(conn *c)
{
	if (c->peer_eof) {
		close_handles(c);
		return;
	}
	if (c->shut)
		return;
	c->shut = 1;
	c->shutreq.data = c;
	if (uv_shutdown(&c->shutreq, (uv_stream_t *)c->tcp, on_shut) != 0)
		close_handles(c);
}

/* A failure: the owner hears why; whatever output is queued gets a short chance. */
static void
fail(conn *c, int err, const char *reason)
{
	if (c->closing)
		return;
	c->closing = 1;
	notify_closed(c, err, reason);
	if (c->reading) {
		uv_read_stop((uv_stream_t *)c->tcp);
		c->reading = 0;
	}
	/* mac1 failures get silence; anything else may carry a Close record. */
	if (err != STP_EMAC1 && err != STP_EIO && c->ep != NULL &&
	    endpoint_output_pending(c->ep) > 0) {
		linger(c);
		return;
	}
	close_handles(c);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	conn *c = h->data;
	size_t room;

	(void)suggested;
	if (c->flushing) {
		static char sink[65536];  /* lingering: read and thrown away */

		buf->base = sink;
		buf->len = sizeof(sink);
		return;
	}
	/* Straight into the endpoint's input buffer: no copy on the way in. */
	if (c->gate != NULL)
		buf->base = (char *)gate_buf(c->gate, &room);
	else
		buf->base = (char *)endpoint_input_buf(c->ep, &room);
	buf->len = room;
}

static int make_endpoint(conn *c, const uint8_t *peer_pub);

/* Our Unix clock, for Hello.time and its check. */
static uint64_t
unix_now(void *arg)
{
	(void)arg;
	return (uint64_t)time(NULL);
}

/* The remote address as the guard's cookies bind it: 0x04 + IPv4 or 0x06 + IPv6. */
static size_t
src_bytes(const conn *c, uint8_t out[GUARD_SRC_MAX])
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->ss;

	if (sa->sa_family == AF_INET) {
		out[0] = 4;
		memcpy(out + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 5;
	}
	if (sa->sa_family == AF_INET6) {
		out[0] = 6;
		memcpy(out + 1, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return 17;
	}
	out[0] = 0;
	return 1;
}

struct cookie_write {
	uv_write_t req;
	uint8_t frame[HS_CHALLENGE_MAX];
};

static void
on_cookie_written(uv_write_t *req, int status)
{
	(void)status; /* a lost cookie: the initiator times out, as on any loss */
	free(req->data);
}

/*
 * The gate's HELLO passed mac1: run the listener's guard on it.  For a
 * cookie CHALLENGE, write it (41 bytes, from a small request that frees
 * itself) and count it.
 */
static int
gate_guard(conn *c, const uint8_t *f, size_t flen)
{
	struct cookie_write *w;
	uint8_t src[GUARD_SRC_MAX];
	size_t slen = src_bytes(c, src), n = 0;
	uv_buf_t b;
	int v;

	if ((w = malloc(sizeof(*w))) == NULL)
		return HS_GUARD_STALE; /* no memory: silence, as for any refusal */
	v = hs_guard_hello(gateway_guard(c->gw), f, flen, src, slen,
	    unix_now(NULL), w->frame, &n, NULL, 0);
	/* Past the last cookie we answer, gate_again() drains instead. */
	if (v != HS_GUARD_CHALLENGE || c->gate->cookies >= GATE_MAX_COOKIES) {
		free(w);
		return v;
	}
	stp_metrics.hello_cookies++;
	w->req.data = w;
	b = uv_buf_init((char *)w->frame, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)c->tcp, &b, 1, on_cookie_written) != 0) {
		free(w);
		return HS_GUARD_STALE;
	}
	return v;
}

/*
 * Bytes for the gate.  A HELLO that passes mac1 gets its endpoint, which
 * takes the frame; anything else is thrown away until the handshake timer
 * ends it (handshake_expired), or until the other side closes.
 */
static void
gate_read(conn *c, ssize_t nread)
{
	const uint8_t *f;
	size_t flen;
	int rc;

	if (nread < 0) {
		/* EOF or an error: whatever the gate held, the same silence. */
		fail(c, c->gate->state == GATE_DRAINING ? STP_EMAC1 : STP_EIO,
		    c->gate->state == GATE_DRAINING ? gate_reason(c->gate) :
		    nread == UV_EOF ? "connection closed by the other side before a HELLO" :
		    uv_strerror((int)nread));
		return;
	}
	if (gate_commit(c->gate, (size_t)nread) != GATE_PASSED)
		return;
	/* mac1 passed: is the HELLO fresh (proto/STP.md, "Freshness")? */
	f = gate_frame(c->gate, &flen);
	switch (gate_guard(c, f, flen)) {
	case HS_GUARD_PASS:
		break;
	case HS_GUARD_STALE:
		gate_refuse(c->gate, GATE_WHY_STALE);
		return;
	case HS_GUARD_REPLAY:
		gate_refuse(c->gate, GATE_WHY_REPLAY);
		return;
	default: /* a cookie went out: the next HELLO comes to the gate */
		gate_again(c->gate);
		return;
	}
	if ((rc = make_endpoint(c, NULL)) != 0) {
		fail(c, rc, "out of memory for a new session");
		return;
	}
	rc = endpoint_input(c->ep, f, flen, c->last_recv_ms);
	gate_wipe(c->gate);
	free(c->gate);
	c->gate = NULL;
	if (rc != 0) {
		fail(c, rc, endpoint_reason(c->ep));
		return;
	}
	/* The endpoint reads from here on: its own buffer, from the next read. */
	process(c);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	conn *c = s->data;
	int rc;

	if (c->flushing) {
		if (nread >= 0 || uv_is_closing((uv_handle_t *)c->tcp))
			return;
		/* The peer's EOF (or an error): nothing more can come. */
		uv_read_stop(s);
		c->reading = 0;
		c->peer_eof = 1;
		if (c->shut || nread != UV_EOF)
			close_handles(c);
		return;
	}
	if (nread == 0 || c->closing)
		return;
	if (c->gate != NULL) {
		if (nread > 0)
			c->last_recv_ms = now_ms(c);
		gate_read(c, nread);
		return;
	}
	if (nread == UV_ENOBUFS) {
		/* No room: stop until jobs or the app make some. */
		uv_read_stop(s);
		c->reading = 0;
		return;
	}
	if (nread == UV_EOF) {
		/*
		 * Records read before the EOF may still be in the pool (a Close
		 * among them): decide what the EOF means once they are back.
		 */
		uv_read_stop(s);
		c->reading = 0;
		c->eof = 1;
		process(c);
		return;
	}
	if (nread < 0) {
		char why[96];

		snprintf(why, sizeof(why), "connection %s", uv_strerror((int)nread));
		fail(c, STP_EIO, why);
		return;
	}
	c->last_recv_ms = now_ms(c);
	c->heard = 1;
	(void)buf;
	rc = endpoint_input_commit(c->ep, (size_t)nread, c->last_recv_ms);
	if (rc != 0) {
		fail(c, rc, endpoint_reason(c->ep));
		return;
	}
	process(c);
}

static void
on_written(uv_write_t *req, int status)
{
	conn *c = req->data;

	c->writing = 0;
	if (status < 0) {
		write_failed(c, status);
		return;
	}
	endpoint_output_done(c->ep, c->wbytes);
	c->wbytes = 0;
	process(c);
}

static void
write_failed(conn *c, int rc)
{
	char why[96];

	snprintf(why, sizeof(why), "write failed: %s", uv_strerror(rc));
	if (!c->closing)
		fail(c, STP_EIO, why);
	else
		close_handles(c);
}

/*
 * Write every frame that is ready: at once where the socket takes it, the
 * rest in one uv_write that must complete before anything more is written.
 */
static void
write_out(conn *c)
{
	struct iovec iov[CONN_MAX_IOV];
	size_t n, i, total, done;
	int rc;

	for (;;) {
		if (c->writing || uv_is_closing((uv_handle_t *)c->tcp))
			return;
		n = endpoint_output(c->ep, iov, CONN_MAX_IOV);
		if (n == 0) {
			if (c->flushing && endpoint_output_pending(c->ep) == 0)
				linger_done(c);
			return;
		}
		total = 0;
		for (i = 0; i < n; i++) {
			c->bufs[i] = uv_buf_init(iov[i].iov_base,
			    (unsigned)iov[i].iov_len);
			total += iov[i].iov_len;
		}
		rc = uv_try_write((uv_stream_t *)c->tcp, c->bufs, (unsigned)n);
		if (rc < 0 && rc != UV_EAGAIN) {
			write_failed(c, rc);
			return;
		}
		done = rc > 0 ? (size_t)rc : 0;
		/* Frees what was written; the rest of the buffers stay put. */
		endpoint_output_done(c->ep, done);
		if (done == total)
			continue;  /* more may be ready (over CONN_MAX_IOV) */
		for (i = 0; done >= c->bufs[i].len; i++)
			done -= c->bufs[i].len;
		c->bufs[i].base += done;
		c->bufs[i].len -= done;
		c->wbytes = total - (rc > 0 ? (size_t)rc : 0);
		c->wreq.data = c;
		rc = uv_write(&c->wreq, (uv_stream_t *)c->tcp, c->bufs + i,
		    (unsigned)(n - i), on_written);
		if (rc != 0) {
			write_failed(c, rc);
			return;
		}
		c->writing = 1;
		return;
	}
}

static void
hold(conn *c, endpoint_job *j)
{
	if (c->n_held == c->cap_held) {
		size_t cap = c->cap_held ? 2 * c->cap_held : 16;
		endpoint_job **h = realloc(c->held, cap * sizeof(*h));

		if (h == NULL) {
			/* Run it here rather than lose it. */
			static aead_ctx *ctx;

			if (ctx == NULL)
				ctx = aead_ctx_new();
			endpoint_job_run(j, ctx);
			c->jobs_out++;
			conn_job_done(c, j);
			return;
		}
		c->held = h;
		c->cap_held = cap;
	}
	c->held[c->n_held++] = j;
	if (!c->starved) {
		c->starved = 1;
		c->starved_next = starved_head;
		starved_head = c;
	}
}

/* Hand held jobs, then new ones, to the pool. */
static void
submit_jobs(conn *c)
{
	workers *w = gateway_workers(c->gw);
	endpoint_job *j;
	size_t i = 0;

	if (w == NULL)
		return; /* inline: the endpoint ran them already */
	while (i < c->n_held && workers_submit(w, c->held[i], c) == 0) {
		c->jobs_out++;
		i++;
	}
	if (i > 0) {
		memmove(c->held, c->held + i, (c->n_held - i) * sizeof(*c->held));
		c->n_held -= i;
	}
	while (c->n_held == 0 && (j = endpoint_job_take(c->ep)) != NULL) {
		if (workers_submit(w, j, c) == 0)
			c->jobs_out++;
		else
			hold(c, j);
	}
}

/* The session is really up: tell the owner. */
static void
confirm(conn *c)
{
	if (c->confirmed)
		return;
	c->confirmed = 1;
	c->established_ms = now_ms(c);
	uv_timer_stop(&c->timer);
	if (c->ops && c->ops->established)
		c->ops->established(c->owner, c);
}

/* Cover records (a shaping plugin's) the endpoint took and dropped: count them. */
static void
count_cover(conn *c)
{
	ep_stats st;

	endpoint_get_stats(c->ep, &st);
	if (st.cover_recv > c->cover_seen) {
		stp_count("padding", "cover_received", st.cover_recv - c->cover_seen);
		c->cover_seen = st.cover_recv;
	}
}

/*
 * Hand the endpoint's events to the owner.  Never re-entered: an owner
 * callback that sends (conn_flush -> process) must not poll the next event,
 * because polling releases the record the callback is still reading.
 */
static void
deliver_events(conn *c)
{
	ep_event ev;

	if (c->in_events)
		return;
	c->in_events = 1;

	while (!c->closing) {
		if (c->established && !c->confirmed) {
			ep_stats st;

			endpoint_get_stats(c->ep, &st);
			if (st.records_recv > 0)
				confirm(c);
			if (c->closing)
				break;
		}
		if (!endpoint_poll(c->ep, &ev)) {
			int rc;

			/*
			 * Every record so far was seen: the owner writes what it
			 * gathered, then the kept records go (which may let more
			 * records through).
			 */
			if (endpoint_kept(c->ep) == 0)
				break;
			if (c->ops && c->ops->flush)
				c->ops->flush(c->owner, c);
			if (c->closing)
				break;
			if ((rc = endpoint_release_kept(c->ep, now_ms(c))) != 0) {
				fail(c, rc, endpoint_reason(c->ep));
				break;
			}
			continue;
		}
		switch (ev.type) {
		case EP_ESTABLISHED:
			c->established = 1;
			/*
			 * An initiator's keys are ready once it sent AUTH_I, but the
			 * responder may still refuse it (unknown key): only its first
			 * record says it accepted, so wait for that (the responder
			 * pings at once).  The handshake timer keeps running.
			 */
			if (!c->initiator)
				confirm(c);
			break;
		case EP_RECORD:
			if (c->ops && c->ops->record)
				c->ops->record(c->owner, c, ev.rec);
			break;
		case EP_PONG:
			if (c->ops && c->ops->pong)
				c->ops->pong(c->owner, c, ev.rtt_ms);
			break;
		case EP_CLOSED: {
			char why[192];

			snprintf(why, sizeof(why), "closed by peer%s%s",
			    ev.reason && ev.reason[0] ? ": " : "",
			    ev.reason ? ev.reason : "");
			fail(c, 0, why);
			break;
		}
		default:
			break;
		}
	}
	c->in_events = 0;
	count_cover(c);
}

/* Output fell below the low-water mark: streams that stopped may read again. */
static void
writable(conn *c)
{
	if (c->congested && !c->closing &&
	    endpoint_output_pending(c->ep) < CONN_LOW_WATER(c)) {
		c->congested = 0;
		if (c->ops && c->ops->writable)
			c->ops->writable(c->owner, c);
	}
}

static void
process(conn *c)
{
	submit_jobs(c);
	deliver_events(c);
	/* Finished without an EP_CLOSED (which would have closed us): an error. */
	if (!c->closing && endpoint_finished(c->ep)) {
		fail(c, STP_EPROTO, endpoint_reason(c->ep));
		return;
	}
	if (c->closing && !c->flushing)
		return;
	/* Jobs and output: at the end of this turn. */
	mark_dirty(c);
	if (c->closing)
		return;
	if (c->eof) {
		if (c->jobs_out > 0 || c->n_held > 0)
			return; /* records still being opened */
		if (endpoint_finished(c->ep) && endpoint_established(c->ep))
			fail(c, 0, endpoint_reason(c->ep));
		else if (c->initiator && c->established && !c->confirmed)
			fail(c, STP_EPEER,
			    "the peer closed the connection after our AUTH: our key is probably not in its peer map");
		else {
			size_t part = endpoint_input_partial(c->ep);
			char why[128];

			/* Cut in the middle of a frame: a truncation, say so. */
			if (part > 0)
				snprintf(why, sizeof(why), "connection closed by the "
				    "other side in the middle of a frame (%zu bytes of "
				    "it received)", part);
			else
				snprintf(why, sizeof(why),
				    "connection closed by the other side");
			fail(c, STP_EIO, why);
		}
		return;
	}
	if (!c->reading && endpoint_input_room(c->ep) > 0 &&
	    !endpoint_finished(c->ep)) {
		if (uv_read_start((uv_stream_t *)c->tcp, on_alloc, on_read) == 0)
			c->reading = 1;
	}
	writable(c);
}

void
conn_job_done(void *owner, endpoint_job *job)
{
	conn *c = owner, *s;
	int rc;

	c->jobs_out--;
	rc = endpoint_job_done(c->ep, job, now_ms(c));
	if (c->handles == 0) {
		maybe_free(c);
	} else if (rc != 0) {
		fail(c, rc, endpoint_reason(c->ep));
	} else {
		process(c);
	}
	/* A slot in the pool is free: give starved conns a turn. */
	while ((s = starved_head) != NULL) {
		starved_head = s->starved_next;
		s->starved = 0;
		submit_jobs(s);
		if (s->n_held > 0)
			break; /* still full; it re-queued itself */
	}
}

static void
handshake_expired(uv_timer_t *t)
{
	conn *c = t->data;
	char why[256];

	/* A gate that refused what came: the silence ends now, as any other. */
	if (c->gate != NULL && c->gate->state == GATE_DRAINING) {
		fail(c, STP_EMAC1, gate_reason(c->gate));
		return;
	}
	/*
	 * A responder says nothing to a HELLO it will not take, so an
	 * initiator that heard nothing gets the likely causes.
	 */
	snprintf(why, sizeof(why), "handshake timed out after %llu ms%s",
	    (unsigned long long)gateway_config(c->gw)->timeouts.handshake_ms,
	    c->initiator && !c->heard ?
	    " without a word from the peer (wrong peer key or access_secret, "
	    "clocks more than 120 s apart, or not an STP v1.1 listener)" : "");
	fail(c, STP_EPROTO, why);
}

/* The endpoint's offload hook: the pool's rule, counting what stays here. */
static int
dispatch(void *pool, int kind, size_t len, int sig)
{
	if (pool != NULL && workers_offload(pool, kind, len, sig))
		return 1;
	stp_metrics.crypto_jobs_loop++;
	return 0;
}

/* Responder: is pk a peer, and must its records be signed (sign_records)? */
static int
lookup_peer(void *cookie, const uint8_t pk[32])
{
	const config *cfg = gateway_config(cookie);
	long p = config_peer_by_key(cfg, pk);

	if (p < 0)
		return STP_EPEER;
	return cfg->peers[p].sign_records ? EP_PEER_SIGN_RECORDS : 0;
}

/* Responder: the peer's name, for the reason a refused session gives. */
static const char *
peer_name(void *cookie, const uint8_t pk[32])
{
	const config *cfg = gateway_config(cookie);
	long p = config_peer_by_key(cfg, pk);

	return p >= 0 ? cfg->peers[p].name : NULL;
}

static void
format_addr(conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	memset(&ss, 0, sizeof(ss));
	if (uv_tcp_getpeername(c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		c->ss = ss;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			uv_ip4_name(a, host, sizeof(host));
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			uv_ip6_name(a, host, sizeof(host));
			port = ntohs(a->sin6_port);
		}
	}
	snprintf(c->addr, sizeof(c->addr), ss.ss_family == AF_INET6 ? "[%s]:%d" :
	    "%s:%d", host, port);
}

/* Responder admission (hs_admit_fn): the plugins decide, knowing the source. */
static int
admit(void *cookie, const uint8_t *adm, size_t adm_len, uint8_t *chal,
    size_t *chal_len)
{
	conn *c = cookie;

	return plugins_admit(c->plug, (const struct sockaddr *)&c->ss, adm,
	    adm_len, chal, chal_len);
}

/* Initiator (hs_answer_fn), in a worker: the plugin that set the challenge answers. */
static int
answer(void *cookie, const uint8_t *chal, size_t chal_len, uint8_t *ans,
    size_t *ans_len)
{
	conn *c = cookie;

	return plugins_answer(c->plug, chal, chal_len, ans, ans_len);
}

/*
 * The endpoint, and the write buffers: an initiator's at once, a
 * responder's once a HELLO passed its gate.  0 or STP_ENOMEM.
 */
static int
make_endpoint(conn *c, const uint8_t *peer_pub)
{
	const config *cfg = gateway_config(c->gw);
	endpoint_config ec;

	memset(&ec, 0, sizeof(ec));
	ec.hs.initiator = c->initiator;
	ec.hs.identity = cfg->identity;
	ec.hs.unix_now = unix_now;
	if (!c->initiator) {
		/* The gate judged the first HELLO; later ones (after a CHALLENGE) come here. */
		ec.hs.guard = gateway_guard(c->gw);
		ec.hs.src_len = src_bytes(c, ec.hs.src);
		ec.hs.first_guarded = 1;
		if (cfg->has_access_secret)
			ec.hs.access_secret = cfg->access_secret;
	}
	if (c->initiator && peer_pub != NULL) {
		long p = config_peer_by_key(cfg, peer_pub);

		memcpy(ec.hs.peer_pub, peer_pub, 32);
		if (p >= 0 && cfg->peers[p].has_access_secret)
			ec.hs.access_secret = cfg->peers[p].access_secret;
		/*
		 * sign_records: we sign, and we want the responder's records
		 * signed too (it must comply: proto/STP.md, "Record
		 * signatures").  A responder decides once it knows who we are.
		 */
		if (p >= 0 && cfg->peers[p].sign_records)
			ec.hs.flags = AUTH_FLAG_SIGN_RECORDS |
			    AUTH_FLAG_WANT_SIGNED;
	}
	if (!c->initiator && plugins_admission_on(c->plug))
		ec.hs.admit = admit;
	if (c->initiator)
		ec.hs.answer = answer;
	ec.hs.cookie = c;
	/* Record shaping (padding): c->plug outlives the endpoint. */
	{
		void *si = NULL;
		const stp_shaper_ops *sh = plugins_shaper(c->plug, &si);

		if (sh != NULL && sh->pad_to != NULL) {
			ec.pad_to = sh->pad_to;
			ec.pad_cookie = si;
		}
	}
	/*
	 * Where jobs run: the pool's rule decides each (workers.h); without a
	 * pool, all run on the loop, with the loop's cipher context.
	 */
	ec.actx = gateway_actx(c->gw);
	ec.offload = dispatch;
	ec.offload_cookie = gateway_workers(c->gw);
	ec.rekey_bytes = cfg->rekey.bytes;
	ec.rekey_interval_ms = cfg->rekey.interval_ms;
	ec.rekem_interval_ms = cfg->rekey.fresh_interval_ms;
	ec.max_output = 2 * c->high;
	ec.lookup = lookup_peer;
	ec.peer_name = peer_name;
	ec.cookie = c->gw;
	if ((c->bufs = calloc(CONN_MAX_IOV, sizeof(*c->bufs))) == NULL ||
	    (c->ep = endpoint_new(&ec, gateway_now(c->gw))) == NULL)
		return STP_ENOMEM;
	return 0;
}

/* A responder's gate, keyed with our own key's mac1 key.  0 or STP_ENOMEM. */
static int
make_gate(conn *c)
{
	uint8_t pub[32], key[32];
	int rc;

	if ((c->gate = malloc(sizeof(*c->gate))) == NULL)
		return STP_ENOMEM;
	sign_key_public(gateway_config(c->gw)->identity, pub);
	if ((rc = ks_mac1_key(key, pub, gateway_config(c->gw)->has_access_secret ?
	    gateway_config(c->gw)->access_secret : NULL)) != 0)
		return rc;
	gate_init(c->gate, key);
	crypto_wipe(key, sizeof(key));
	return 0;
}

conn *
conn_new(gateway *gw, uv_tcp_t *tcp, int initiator, const uint8_t *peer_pub,
    const conn_owner_ops *ops, void *owner)
{
	const config *cfg = gateway_config(gw);
	conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->gw = gw;
	c->tcp = tcp;
	c->initiator = initiator;
	c->ops = ops;
	c->owner = owner;
	/* Streams stop reading above this; sends are refused at twice it. */
	c->high = cfg->limits.session_buffer / 4;
	if (c->high < 256 * 1024)
		c->high = 256 * 1024;
	c->plug = plugins_ref(gateway_plugins(gw));
	if ((initiator ? make_endpoint(c, peer_pub) : make_gate(c)) != 0)
		goto fail;
	tcp->data = c;
	c->handles = 1;
	if (uv_timer_init(gateway_loop(gw), &c->timer) != 0)
		goto fail_handles;
	c->timer.data = c;
	c->handles = 2;
	uv_tcp_nodelay(tcp, 1);
	format_addr(c);
	gateway_conn_count(gw, 1);
	c->last_recv_ms = gateway_now(gw);
	return c;
fail_handles:
	c->ops = NULL;
	gateway_conn_count(gw, 1); /* maybe_free takes it back */
	close_handles(c);
	return NULL;
fail:
	if (c != NULL) {
		endpoint_free(c->ep);
		free(c->gate);
		free(c->bufs);
		plugins_unref(c->plug);
		free(c);
	}
	tcp->data = NULL;
	uv_close((uv_handle_t *)tcp, (uv_close_cb)free);
	return NULL;
}

int
conn_start(conn *c)
{
	uint64_t hs_ms = gateway_config(c->gw)->timeouts.handshake_ms;
	int rc;

	uv_timer_start(&c->timer, handshake_expired, hs_ms, 0);
	if (c->gate != NULL) {
		if ((rc = uv_read_start((uv_stream_t *)c->tcp, on_alloc, on_read)) != 0) {
			fail(c, STP_EIO, uv_strerror(rc));
			return STP_EIO;
		}
		c->reading = 1;
		return 0;
	}
	if (c->initiator && (rc = endpoint_start(c->ep, now_ms(c))) != 0) {
		fail(c, rc, endpoint_reason(c->ep));
		return rc;
	}
	process(c);
	return 0;
}

void
conn_set_owner(conn *c, const conn_owner_ops *ops, void *owner)
{
	c->ops = ops;
	c->owner = owner;
}

endpoint *
conn_endpoint(conn *c)
{
	return c->ep;
}

int
conn_initiator(const conn *c)
{
	return c->initiator;
}

const char *
conn_peer_addr(const conn *c)
{
	return c->addr;
}

uint64_t
conn_last_recv_ms(const conn *c)
{
	return c->last_recv_ms;
}

uint64_t
conn_established_ms(const conn *c)
{
	return c->established_ms;
}

void
conn_flush(conn *c)
{
	if (c->closing)
		return;
	mark_dirty(c);
}

int
conn_keep(conn *c)
{
	return endpoint_keep(c->ep);
}

/*
 * One conn's part of the turn's end: its jobs to the pool, its frames out,
 * and, if the socket took them at once, the streams that waited for room
 * may read again (what they read joins the next turn).
 */
static void
turn_end(conn *c)
{
	submit_jobs(c);
	write_out(c);
	writable(c);
}

void
conn_turn_end(gateway *gw)
{
	workers *w = gateway_workers(gw);
	conn *list, *c;
	int pass;

	/* Writing may make more output (a failure's Close): a few passes. */
	for (pass = 0; pass < 4 && dirty_head != NULL; pass++) {
		list = dirty_head;
		dirty_head = NULL;
		while ((c = list) != NULL) {
			list = c->dirty_next;
			if (!c->dirty)
				continue;  /* closed since it was marked */
			c->dirty = 0;
			turn_end(c);
		}
	}
	if (w != NULL)
		workers_flush(w);
	/* Keys retired this turn leave the loop's cipher context now. */
	(void)aead_ctx_sweep(gateway_actx(gw));
}

int
conn_congested(const conn *c)
{
	conn *m = (conn *)c;

	if (endpoint_output_pending(c->ep) >= CONN_HIGH_WATER(c))
		m->congested = 1;
	return m->congested;
}

void
conn_close(conn *c, int graceful, uint32_t code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = 1;
	notify_closed(c, 0, reason);
	if (c->reading) {
		uv_read_stop((uv_stream_t *)c->tcp);
		c->reading = 0;
	}
	if (graceful && c->ep != NULL && endpoint_established(c->ep) &&
	    !endpoint_finished(c->ep) &&
	    endpoint_close(c->ep, code, reason, now_ms(c)) == 0) {
		linger(c);
		return;
	}
	close_handles(c);
}

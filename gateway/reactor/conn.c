/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn.c: a TCP connection carrying STP, between libuv and the sans-I/O
 * endpoint.  See conn.h.
 *
 * The loop: bytes read -> endpoint_input -> cn_process(): events to the owner
 * (data records kept while the owner gathers them, then its flush, then
 * released), jobs to the pool, reading resumed if the endpoint has room
 * again, and the conn marked dirty.  cn_process() runs after every input, job
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
 * How much waits in the output and in the socket, and BBR's ProbeRTT:
 * conn_pace.c.
 *
 * A responder's conn starts with a gate instead (gate.h): a few KiB that
 * read the first frame and say nothing whatever it is; the endpoint is
 * made only for a HELLO that passed mac1 and the freshness step.  That
 * side, and the making of the endpoint, are in conn_hs.c.
 */
#include "conn_int.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto/crypto.h"
#include "err.h"
#include "gateway.h"
#include "log.h"
#include "metrics.h"
#include "workers.h"

/*
 * A responder says nothing to a HELLO it will not take (STP.md, "HELLO"),
 * so an initiator that heard nothing names the likely causes, first the
 * two that only a config fixes: the peer's key as we wrote it (file:line),
 * and the peer not listing ours.
 */
static const char *
no_word(conn *c, char *buf, size_t len)
{
	const config *cfg = gateway_config(c->gw);
	const cfg_peer *p;
	char which[32] = "";
	unsigned k;
	long i;

	if (!c->initiator || c->heard)
		return "";
	if ((i = config_peer_by_key(cfg, c->peer_pub)) < 0) {
		snprintf(buf, len, " without a word from the peer");
		return buf;
	}
	p = &cfg->peers[i];
	for (k = 0; k < p->n_keys && memcmp(p->keys[k], c->peer_pub, 32) != 0; k++)
		;
	if (p->n_keys > 1)
		snprintf(which, sizeof(which), "[%u]", k);
	snprintf(buf, len, " without a word from the peer: peers.%s.key%s (%s:%u) "
	    "may not be its key, or it does not list ours; else the "
	    "access_secret, clocks more than 120 s apart, or not an STP v1.1 "
	    "listener%s", p->name, which, config_pos_file(cfg, p->keys_pos[k]),
	    p->keys_pos[k].line,
	    p->n_keys > 1 ? " (the next dial tries its next key)" : "");
	return buf;
}

static conn *starved_head; /* conns holding jobs the pool refused */
static conn *dirty_head;   /* conns with jobs or output for the turn's end */

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
	cn_drop_ids(c);
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
	cn_process(c);
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
void
cn_fail(conn *c, int err, const char *reason)
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
		cn_gate_read(c, nread);
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
		cn_process(c);
		return;
	}
	if (nread < 0) {
		char why[96];

		snprintf(why, sizeof(why), "read failed: %s", uv_strerror((int)nread));
		cn_fail(c, STP_EIO, why);
		return;
	}
	c->last_recv_ms = now_ms(c);
	c->heard = 1;
	(void)buf;
	rc = endpoint_input_commit(c->ep, (size_t)nread, c->last_recv_ms);
	if (rc != 0) {
		cn_fail(c, rc, endpoint_reason(c->ep));
		return;
	}
	cn_process(c);
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
	cn_pace(c, c->wbytes);
	c->wbytes = 0;
	cn_process(c);
}

static void
write_failed(conn *c, int rc)
{
	char why[96];

	snprintf(why, sizeof(why), "write failed: %s", uv_strerror(rc));
	if (!c->closing)
		cn_fail(c, STP_EIO, why);
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
		cn_pace(c, done);
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
				cn_fail(c, rc, endpoint_reason(c->ep));
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
		case EP_PEER_IDENTITY:
			if (c->ops && c->ops->peer_identity)
				c->ops->peer_identity(c->owner, c);
			break;
		case EP_CLOSED: {
			char why[192];

			c->peer_closed = 1;
			c->peer_close_code = ev.code;
			snprintf(why, sizeof(why), "closed by peer%s%s",
			    ev.reason && ev.reason[0] ? ": " : "",
			    ev.reason ? ev.reason : "");
			cn_fail(c, 0, why);
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

void
cn_process(conn *c)
{
	submit_jobs(c);
	deliver_events(c);
	/* Finished without an EP_CLOSED (which would have closed us): an error. */
	if (!c->closing && endpoint_finished(c->ep)) {
		cn_fail(c, STP_EPROTO, endpoint_reason(c->ep));
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
			cn_fail(c, 0, endpoint_reason(c->ep));
		else if (c->initiator && c->established && !c->confirmed)
			cn_fail(c, STP_EPEER,
			    "the peer closed the connection after our AUTH: our key is probably not in its peer map");
		else {
			size_t part = endpoint_input_partial(c->ep);
			char why[CFG_PATH_MAX + 512], hint[CFG_PATH_MAX + 320];

			/* Cut in the middle of a frame: a truncation, say so. */
			if (part > 0)
				snprintf(why, sizeof(why), "connection closed by the "
				    "other side in the middle of a frame (%zu bytes of "
				    "it received)", part);
			else
				snprintf(why, sizeof(why),
				    "connection closed by the other side%s",
				    no_word(c, hint, sizeof(hint)));
			cn_fail(c, STP_EIO, why);
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
		cn_fail(c, rc, endpoint_reason(c->ep));
	} else {
		cn_process(c);
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
	char why[CFG_PATH_MAX + 512], hint[CFG_PATH_MAX + 320];

	/* A gate that refused what came: the silence ends now, as any other. */
	if (c->gate != NULL && c->gate->state == GATE_DRAINING) {
		cn_fail(c, STP_EMAC1, gate_reason(c->gate));
		return;
	}
	snprintf(why, sizeof(why), "handshake timed out after %llu ms%s",
	    (unsigned long long)gateway_config(c->gw)->timeouts.handshake_ms,
	    no_word(c, hint, sizeof(hint)));
	cn_fail(c, STP_EPROTO, why);
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
	/*
	 * Streams stop reading above high, which pace() moves up to high_cap;
	 * sends are refused at twice high_cap.
	 */
	c->high_cap = cfg->limits.session_buffer / 4;
	if (c->high_cap < 256 * 1024)
		c->high_cap = 256 * 1024;
	c->rate_at = gateway_now(gw);
	c->plug = plugins_ref(gateway_plugins(gw));
	if (initiator)
		memcpy(c->peer_pub, peer_pub, sizeof(c->peer_pub));
	if ((initiator ? cn_make_endpoint(c, peer_pub) : cn_make_gate(c)) != 0)
		goto fail;
	tcp->data = c;
	c->handles = 1;
	if (uv_timer_init(gateway_loop(gw), &c->timer) != 0)
		goto fail_handles;
	c->timer.data = c;
	c->handles = 2;
	uv_tcp_nodelay(tcp, 1);
	cn_pace_init(c);
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
		cn_drop_ids(c);
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
			cn_fail(c, STP_EIO, uv_strerror(rc));
			return STP_EIO;
		}
		c->reading = 1;
		return 0;
	}
	if (c->initiator && (rc = endpoint_start(c->ep, now_ms(c))) != 0) {
		cn_fail(c, rc, endpoint_reason(c->ep));
		return rc;
	}
	cn_process(c);
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
conn_heard(const conn *c)
{
	return c->heard;
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

int
cn_fd(const conn *c, uv_os_fd_t *fd)
{
	return c->tcp != NULL && uv_fileno((const uv_handle_t *)c->tcp, fd) == 0 ?
	    0 : -1;
}

uint32_t
conn_rtt_us(const conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	uv_os_fd_t fd;

	if (cn_fd(c, &fd) != 0)
		return 0;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	return ti.tcpi_rtt != 0 ? ti.tcpi_rtt : ti.tcpi_rcv_rtt;
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

	size_t p = endpoint_output_pending(c->ep);

	if (p >= CONN_HIGH_WATER(c))
		m->congested = 1;
	return m->congested && p >= CONN_LOW_WATER(c);
}

void
conn_want_turn(conn *c)
{
	c->congested = 1;
	mark_dirty(c);          /* conn_turn_end calls writable() */
}

size_t
conn_output_room(const conn *c)
{
	size_t p = endpoint_output_pending(c->ep);

	return p < c->high ? c->high - p : 0;
}

int
conn_closed_by_peer(const conn *c)
{
	return c->peer_closed;
}

uint32_t
conn_peer_close_code(const conn *c)
{
	return c->peer_close_code;
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

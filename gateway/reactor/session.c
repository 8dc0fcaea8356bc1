/*
 * session.c: one peer: its STP connection, its streams, keepalive and
 * reconnect.  See session.h.
 *
 * Streams live in a hash table keyed by id (chained, grown at load 1) so a
 * record finds its stream in O(1) with thousands open.  Local streams that
 * wait for the session are in the same table with id 0 until they get one;
 * they are kept on a separate list instead.
 *
 * Gathering.  The data of the records the connection delivers in one go
 * (all that one read brought, opened where they lie) is not written to
 * the apps record by record: each piece is noted here (the record kept)
 * and, once the connection has delivered them all, each stream writes its
 * pieces with one writev (on_flush -> stream_flush).  GATHER_MAX pieces at
 * most; beyond that, or when the connection cannot keep a record, the
 * stream writes at once.
 */
#include "session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "err.h"
#include "gateway.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "plugin.h"
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
	uint8_t key[32];
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
	uint64_t next_retry_ms;

	stream **buckets;
	size_t n_buckets, n_streams;
	struct waiter *waiting;  /* local streams waiting for the session */
	uint32_t next_id;
	uint32_t last_peer_id;   /* highest id the peer opened */
	uint64_t windows;        /* sum of receive windows granted beyond the initial */
	int64_t buffered;

	uint64_t up_since_ms, rtt_ms;
	uint64_t bytes_in, bytes_out;    /* of streams already closed */
	char last_error[160];
	uint8_t sid[16];

	void (*done)(void *);
	void *done_arg;
	int shutting_down;

	struct gather g[GATHER_MAX];
	unsigned ng;
};

static const conn_owner_ops session_ops;
static void dial(session *s);
static void schedule_retry(session *s, const char *why);

const char *
session_state_name(int state)
{
	switch (state) {
	case SESS_IDLE: return "idle";
	case SESS_BACKOFF: return "backoff";
	case SESS_CONNECTING: return "connecting";
	case SESS_HANDSHAKE: return "handshake";
	case SESS_UP: return "up";
	case SESS_CLOSING: return "closing";
	default: return "?";
	}
}

struct gateway *
session_gateway(session *s)
{
	return s->gw;
}

const cfg_peer *
session_peer(const session *s)
{
	return s->peer;
}

int
session_up(const session *s)
{
	return s->state == SESS_UP && s->c != NULL;
}

/* ---- the stream table ---- */

static size_t
bucket(const session *s, uint32_t id)
{
	return (id * 2654435761u) & (s->n_buckets - 1);
}

static stream *
find_stream(session *s, uint32_t id)
{
	stream *st;

	if (s->n_buckets == 0)
		return NULL;
	for (st = s->buckets[bucket(s, id)]; st != NULL; st = *stream_hnext(st))
		if (stream_id(st) == id)
			return st;
	return NULL;
}

static int
grow_table(session *s)
{
	size_t nb = s->n_buckets ? s->n_buckets * 2 : 64, i;
	stream **b = calloc(nb, sizeof(*b)), *st, *next;
	size_t old = s->n_buckets;
	stream **ob = s->buckets;

	if (b == NULL)
		return STP_ENOMEM;
	s->buckets = b;
	s->n_buckets = nb;
	for (i = 0; i < old; i++) {
		for (st = ob[i]; st != NULL; st = next) {
			size_t k = bucket(s, stream_id(st));

			next = *stream_hnext(st);
			*stream_hnext(st) = b[k];
			b[k] = st;
		}
	}
	free(ob);
	return 0;
}

void
session_add_stream(session *s, stream *st)
{
	size_t k;
	struct waiter **pp;

	/* A waiter that got its id leaves the waiting list. */
	for (pp = &s->waiting; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->st == st) {
			struct waiter *w = *pp;

			*pp = w->next;
			free(w);
			break;
		}
	}
	if (s->n_streams >= s->n_buckets && grow_table(s) != 0 && s->n_buckets == 0)
		return;
	k = bucket(s, stream_id(st));
	*stream_hnext(st) = s->buckets[k];
	s->buckets[k] = st;
	s->n_streams++;
}

void
session_remove_stream(session *s, stream *st)
{
	stream **pp;
	struct waiter **wp;

	for (wp = &s->waiting; *wp != NULL; wp = &(*wp)->next) {
		if ((*wp)->st == st) {
			struct waiter *w = *wp;

			*wp = w->next;
			free(w);
			return;
		}
	}
	if (s->n_buckets == 0)
		return;
	for (pp = &s->buckets[bucket(s, stream_id(st))]; *pp != NULL;
	    pp = stream_hnext(*pp)) {
		if (*pp == st) {
			*pp = *stream_hnext(st);
			s->n_streams--;
			s->bytes_in += stream_bytes_in(st);
			s->bytes_out += stream_bytes_out(st);
			return;
		}
	}
}

/* Abort every stream (the connection is gone or we are stopping). */
static void
abort_all(session *s, const char *why)
{
	size_t i;
	stream *st;

	for (i = 0; i < s->n_buckets; i++) {
		while ((st = s->buckets[i]) != NULL)
			stream_abort(st, 0, 0, why); /* removes itself */
	}
	while (s->waiting != NULL)
		stream_abort(s->waiting->st, 0, 0, why);
	s->windows = 0;
	s->ng = 0;  /* every piece belonged to a stream now gone */
}

uint32_t
session_next_id(session *s)
{
	uint32_t id = s->next_id;

	if (id == 0 || id > UINT32_MAX - 2)
		return 0;
	s->next_id += 2;
	return id;
}

void
session_window_release(session *s, uint64_t n)
{
	s->windows -= n < s->windows ? n : s->windows;
}

int
session_window_budget(session *s, uint32_t grow)
{
	uint64_t cap = gateway_config(s->gw)->limits.session_buffer;

	if (s->windows + grow > cap)
		return 0;
	s->windows += grow;
	return 1;
}

void
session_buffered(session *s, int64_t delta)
{
	s->buffered += delta;
}

/* ---- sending ---- */

int
session_send(session *s, Stp__V1__Record *r)
{
	int rc;

	if (!session_up(s))
		return STP_ESTATE;
	rc = endpoint_send(conn_endpoint(s->c), r, gateway_now(s->gw));
	if (rc == 0)
		conn_flush(s->c);
	return rc;
}

int
session_send_data(session *s, uint32_t id, const uint8_t *data, size_t len)
{
	int rc;

	if (!session_up(s))
		return STP_ESTATE;
	rc = endpoint_send_data(conn_endpoint(s->c), id, data, len,
	    gateway_now(s->gw));
	if (rc == 0)
		conn_flush(s->c);
	return rc;
}

uint8_t *
session_data_reserve(session *s, size_t max)
{
	if (!session_up(s) || conn_congested(s->c))
		return NULL;
	return endpoint_data_reserve(conn_endpoint(s->c), max);
}

int
session_data_commit(session *s, uint32_t id, size_t len)
{
	int rc;

	if (!session_up(s))
		return STP_ESTATE;
	rc = endpoint_data_commit(conn_endpoint(s->c), id, len, gateway_now(s->gw));
	if (rc == 0)
		conn_flush(s->c);
	return rc;
}

void
session_data_cancel(session *s)
{
	if (s->c != NULL)
		endpoint_data_cancel(conn_endpoint(s->c));
}

int
session_congested(const session *s)
{
	return s->c == NULL || conn_congested(s->c);
}

/* ---- gathering received data ---- */

int
session_gather(session *s, stream *st, const uint8_t *p, size_t len)
{
	if (s->c == NULL || s->ng == GATHER_MAX || conn_keep(s->c) != 0)
		return STP_EAGAIN;
	s->g[s->ng].st = st;
	s->g[s->ng].p = p;
	s->g[s->ng].len = len;
	s->ng++;
	return 0;
}

size_t
session_gathered(session *s, stream *st, uv_buf_t *iov, size_t max)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < s->ng && n < max; i++) {
		if (s->g[i].st != st)
			continue;
		iov[n++] = uv_buf_init((char *)s->g[i].p, (unsigned)s->g[i].len);
		s->g[i].st = NULL;
	}
	return n;
}

void
session_gather_drop(session *s, stream *st)
{
	unsigned i;

	for (i = 0; i < s->ng; i++)
		if (s->g[i].st == st)
			s->g[i].st = NULL;
}

/* The connection delivered what it had: every stream writes its pieces. */
static void
on_flush(void *owner, conn *c)
{
	session *s = owner;
	unsigned i;

	(void)c;
	for (i = 0; i < s->ng; i++)
		if (s->g[i].st != NULL)
			stream_flush(s->g[i].st); /* takes all of its pieces */
	s->ng = 0;
}

/* ---- connection life ---- */

static void
set_error(session *s, const char *why)
{
	snprintf(s->last_error, sizeof(s->last_error), "%s", why);
}

/* Key updates and fresh exchanges on a connection. */
static uint64_t
conn_rekeys(conn *c)
{
	ep_stats st;

	endpoint_get_stats(conn_endpoint(c), &st);
	return st.key_updates_sent + st.key_updates_recv + st.rekems;
}

/* Keepalive: ping, tick the endpoint's rekey timers, detect a dead peer. */
static void
keepalive(uv_timer_t *t)
{
	session *s = t->data;
	const config *cfg = gateway_config(s->gw);
	uint64_t now = gateway_now(s->gw);
	endpoint *e;
	int rc;

	if (!session_up(s))
		return;
	if (now - conn_last_recv_ms(s->c) >= cfg->timeouts.dead_ms) {
		char why[96];

		snprintf(why, sizeof(why), "peer dead: nothing received for %llu ms",
		    (unsigned long long)(now - conn_last_recv_ms(s->c)));
		conn_close(s->c, 0, 0, why); /* runs on_closed */
		return;
	}
	e = conn_endpoint(s->c);
	rc = endpoint_tick(e, now);
	if (rc == 0)
		rc = endpoint_ping(e, now);
	if (rc != 0 && rc != STP_EAGAIN) {
		conn_close(s->c, 0, 0, endpoint_reason(e));
		return;
	}
	conn_flush(s->c);
}

/* ---- cover records (plugins: padding: cover_rate) ---- */

static void cover_fired(uv_timer_t *t);

/*
 * Arm the timer for the next cover record when the running shaper wants
 * any.  The shaper is looked up each time, so a reload that turns cover off
 * stops it at the next record; one that turns it on starts with the next
 * session.
 */
static void
cover_arm(session *s)
{
	const stp_shaper_ops *sh;
	void *inst = NULL;
	uint64_t ms;

	sh = plugins_shaper(gateway_plugins(s->gw), &inst);
	if (sh == NULL || sh->cover_next_ms == NULL ||
	    (ms = sh->cover_next_ms(inst)) == 0)
		return;
	uv_timer_start(&s->cover, cover_fired, ms, 0);
}

/* Send one cover record of the size the shaper picks, unless congested. */
static void
cover_fired(uv_timer_t *t)
{
	session *s = t->data;
	const stp_shaper_ops *sh;
	void *inst = NULL;
	size_t size = 0;

	if (!session_up(s) || s->shutting_down)
		return;
	sh = plugins_shaper(gateway_plugins(s->gw), &inst);
	if (sh == NULL)
		return;
	if (sh->cover_size != NULL)
		size = sh->cover_size(inst, EP_PAD_MAX);
	if (endpoint_send_cover(conn_endpoint(s->c), size,
	    gateway_now(s->gw)) == 0) {
		stp_count("padding", "cover_sent", 1);
		conn_flush(s->c);
	}
	if (session_up(s))
		cover_arm(s);
}

static void
adopt(session *s, conn *c)
{
	/* By endpoint_signing's bits: what the session-up line says of them. */
	static const char *const signed_text[4] = { "",
	    ", records signed: ours", ", records signed: the peer's",
	    ", records signed both ways" };
	const config *cfg = gateway_config(s->gw);
	endpoint *e = conn_endpoint(c);
	struct waiter *w, *next;
	uint64_t ka = cfg->timeouts.keepalive_ms;

	s->c = c;
	conn_set_owner(c, &session_ops, s);
	s->state = SESS_UP;
	s->attempts = 0;
	s->up_since_ms = gateway_now(s->gw);
	s->next_id = conn_initiator(c) ? 1 : 2;
	s->last_peer_id = 0;
	memcpy(s->sid, endpoint_sid(e), sizeof(s->sid));
	s->last_error[0] = '\0';
	uv_timer_stop(&s->retry);
	/* Keepalive often enough to notice a dead peer within dead_after. */
	if (ka > cfg->timeouts.dead_ms / 2)
		ka = cfg->timeouts.dead_ms / 2;
	if (ka < 100)
		ka = 100;
	uv_timer_start(&s->keep, keepalive, ka, ka);
	cover_arm(s);
	/* The initiator counts the session up at our first record: send one now. */
	if (!conn_initiator(c) && endpoint_ping(e, gateway_now(s->gw)) == 0)
		conn_flush(c);
	stp_metrics.sessions_up++;
	log_info(s->name, s->sid, "session up (%s %s%s)",
	    conn_initiator(c) ? "dialed" : "accepted from", conn_peer_addr(c),
	    signed_text[endpoint_signing(e) & (EP_SIGN_SEND | EP_SIGN_VERIFY)]);
	for (w = s->waiting; w != NULL; w = next) {
		next = w->next;
		stream_session_up(w->st); /* may unlink w */
	}
}

/* Which of two connections to the same peer survives (both ends agree). */
static int
keep_new(session *s, conn *old, conn *nc)
{
	const uint8_t *our = NULL;
	uint8_t ours[32];

	/* The same side dialed both: the newer one replaces a stale one. */
	if (conn_initiator(old) == conn_initiator(nc))
		return 1;
	sign_key_public(gateway_config(s->gw)->identity, ours);
	our = ours;
	/* Keep the connection whose initiator has the smaller public key. */
	if (memcmp(our, s->key, 32) < 0)
		return conn_initiator(nc);
	return !conn_initiator(nc);
}

void
session_attach(session *s, conn *c)
{
	if (s->shutting_down) {
		conn_close(c, 1, STP__V1__CLOSE_CODE__CLOSE_SHUTDOWN, "peer removed");
		return;
	}
	if (c == s->dialed)
		s->dialed = NULL;
	if (s->c == NULL) {
		adopt(s, c);
		return;
	}
	if (keep_new(s, s->c, c)) {
		conn *old = s->c;

		log_info(s->name, s->sid, "session replaced by a %s connection (%s)",
		    conn_initiator(c) ? "dialed" : "accepted", conn_peer_addr(c));
		s->c = NULL;
		stp_metrics.rekeys += conn_rekeys(old);
		conn_set_owner(old, NULL, NULL);
		abort_all(s, "session replaced");
		conn_close(old, 1, STP__V1__CLOSE_CODE__CLOSE_REPLACED,
		    "replaced by a simultaneous session");
		adopt(s, c);
	} else {
		conn_set_owner(c, NULL, NULL);
		conn_close(c, 1, STP__V1__CLOSE_CODE__CLOSE_REPLACED,
		    "replaced by a simultaneous session");
	}
}

static void
on_established(void *owner, conn *c)
{
	stp_metrics.handshakes_ok++; /* one we dialed (the gateway counts inbound ones) */
	session_attach(owner, c);
}

static void
refuse_open(session *s, uint32_t id, uint32_t code, int metric, const char *fmt,
    ...) __attribute__((format(printf, 5, 6)));

static void
refuse_open(session *s, uint32_t id, uint32_t code, int metric, const char *fmt,
    ...)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamReset rs = STP__V1__STREAM_RESET__INIT;
	char why[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	stp_metrics.streams_refused[metric]++;
	log_limited(LOG_WARN, "stream refused", s->name, "stream refused: %s", why);
	rs.stream_id = id;
	rs.code = code;
	rs.reason = why;
	r.body_case = STP__V1__RECORD__BODY_RESET;
	r.reset = &rs;
	(void)session_send(s, &r);
}

static void
on_open(session *s, const Stp__V1__StreamOpen *o)
{
	gateway *gw = s->gw;
	const config *cfg = gateway_config(gw);
	int peer_parity = conn_initiator(s->c) ? 0 : 1; /* peer's ids: odd if it initiated */
	long svc, p;
	char svcname[CFG_NAME_MAX];

	snprintf(svcname, sizeof(svcname), "%s", o->service ? o->service : "");
	for (size_t i = 0; svcname[i]; i++)
		if (svcname[i] < 0x20 || svcname[i] > 0x7e)
			svcname[i] = '?';
	if (o->stream_id == 0 || (int)(o->stream_id & 1) != peer_parity ||
	    o->stream_id <= s->last_peer_id || find_stream(s, o->stream_id)) {
		stp_metrics.records_rejected[M_REC_PROTOCOL]++;
		conn_close(s->c, 1, STP__V1__CLOSE_CODE__CLOSE_PROTOCOL,
		    "stream id reused or of the wrong parity");
		return;
	}
	s->last_peer_id = o->stream_id;
	if (gateway_draining(gw))
		{ refuse_open(s, o->stream_id, STP__V1__RESET_CODE__RESET_REFUSED,
		    M_ST_LIMIT, "%s: gateway is shutting down", svcname); return; }
	/* Access is checked on every open, against the config in force now. */
	svc = config_service_by_name(cfg, svcname);
	if (svc < 0)
		{ refuse_open(s, o->stream_id,
		    STP__V1__RESET_CODE__RESET_UNKNOWN_SERVICE, M_ST_UNKNOWN_SERVICE,
		    "no service named \"%s\"", svcname); return; }
	p = config_peer_by_key(cfg, s->key);
	if (p < 0 || !config_service_allows(cfg, (size_t)svc, (size_t)p))
		{ refuse_open(s, o->stream_id, STP__V1__RESET_CODE__RESET_REFUSED,
		    M_ST_NOT_ALLOWED, "service \"%s\" does not allow peer %s", svcname,
		    s->name); return; }
	if (s->n_streams >= cfg->limits.max_streams) {
		stp_metrics.limits_hit++;
		{ refuse_open(s, o->stream_id, STP__V1__RESET_CODE__RESET_LIMIT,
		    M_ST_LIMIT, "%s: %u streams open, the limit (limits.max_streams)",
		    svcname, cfg->limits.max_streams); return; }
	}
	if (stream_new_remote(s, o->stream_id, o->window,
	    cfg->services[svc].connect.host, cfg->services[svc].connect.port,
	    svcname) == NULL && find_stream(s, o->stream_id) == NULL) {
		/* Not created at all (limit or memory): tell the peer. */
		stp_metrics.limits_hit++;
		refuse_open(s, o->stream_id, STP__V1__RESET_CODE__RESET_LIMIT, M_ST_LIMIT,
		    "%s: connection limit (limits.max_connections) reached", svcname);
	}
}

static uint32_t
record_stream_id(const Stp__V1__Record *r)
{
	switch (r->body_case) {
	case STP__V1__RECORD__BODY_ACCEPT: return r->accept->stream_id;
	case STP__V1__RECORD__BODY_DATA: return r->data->stream_id;
	case STP__V1__RECORD__BODY_WINDOW: return r->window->stream_id;
	case STP__V1__RECORD__BODY_FIN: return r->fin->stream_id;
	case STP__V1__RECORD__BODY_RESET: return r->reset->stream_id;
	default: return 0;
	}
}

static void
on_record(void *owner, conn *c, const Stp__V1__Record *r)
{
	session *s = owner;
	stream *st;
	uint32_t id;

	(void)c;
	if (r->body_case == STP__V1__RECORD__BODY_OPEN)
		{ on_open(s, r->open); return; }
	id = record_stream_id(r);
	if (id == 0)
		return;
	if ((st = find_stream(s, id)) != NULL) {
		stream_on_record(st, r);
		return;
	}
	/*
	 * A record for a stream we no longer know: normal just after a reset
	 * crossed it on the wire.  An accept for one we gave up on gets a reset,
	 * so the other side does not keep a half-open stream.
	 */
	if (r->body_case == STP__V1__RECORD__BODY_ACCEPT) {
		Stp__V1__Record rr = STP__V1__RECORD__INIT;
		Stp__V1__StreamReset rs = STP__V1__STREAM_RESET__INIT;

		rs.stream_id = id;
		rs.code = STP__V1__RESET_CODE__RESET_ABORTED;
		rs.reason = (char *)"stream already closed";
		rr.body_case = STP__V1__RECORD__BODY_RESET;
		rr.reset = &rs;
		(void)session_send(s, &rr);
	}
}

static void
on_writable(void *owner, conn *c)
{
	session *s = owner;
	size_t i;
	stream *st;

	(void)c;
	for (i = 0; i < s->n_buckets && !session_congested(s); i++)
		for (st = s->buckets[i]; st != NULL; st = *stream_hnext(st))
			stream_resume(st);
}

static void
on_pong(void *owner, conn *c, uint64_t rtt_ms)
{
	session *s = owner;

	(void)c;
	s->rtt_ms = rtt_ms;
}

static void
maybe_done(session *s)
{
	if (!s->shutting_down || s->handles > 0 || s->c != NULL ||
	    s->dialed != NULL || s->resolving)
		return;
	free(s->buckets);
	if (s->done)
		s->done(s->done_arg);
	free(s);
}

static void
on_conn_closed(void *owner, conn *c, int err, const char *reason)
{
	session *s = owner;

	if (c == s->dialed) {
		s->dialed = NULL;
		stp_metrics.handshakes_failed[err == STP_EIO ? M_HS_IO :
		    err == STP_EREJECTED ? M_HS_REJECTED : err == STP_EPEER ?
		    M_HS_UNKNOWN_PEER : M_HS_AUTH]++;
		log_limited(LOG_WARN, "handshake failed", s->name,
		    "handshake failed (dialed %s): %s", conn_peer_addr(c), reason);
		set_error(s, reason);
		if (s->shutting_down)
			{ maybe_done(s); return; }
		if (s->c == NULL)
			schedule_retry(s, reason);
		return;
	}
	if (c != s->c)
		return;
	s->c = NULL;
	uv_timer_stop(&s->keep);
	uv_timer_stop(&s->cover);
	stp_metrics.sessions_down++;
	stp_metrics.rekeys += conn_rekeys(c);
	switch (err) { /* an established session ended by a bad record */
	case STP_EAUTH: stp_metrics.records_rejected[M_REC_AUTH]++; break;
	case STP_EVERIFY: stp_metrics.records_rejected[M_REC_SIGNATURE]++; break;
	case STP_ETOOBIG: stp_metrics.records_rejected[M_REC_TOO_BIG]++; break;
	case STP_EPROTO: stp_metrics.records_rejected[M_REC_PROTOCOL]++; break;
	default: break;
	}
	log_info(s->name, s->sid, "session down: %s", reason && reason[0] ? reason :
	    "closed");
	set_error(s, reason && reason[0] ? reason : "closed");
	abort_all(s, "session down");
	s->rtt_ms = 0;
	if (s->shutting_down)
		{ maybe_done(s); return; }
	if (s->peer->has_dial)
		schedule_retry(s, reason);
	else
		s->state = SESS_IDLE;
}

static const conn_owner_ops session_ops = {
	.established = on_established,
	.record = on_record,
	.flush = on_flush,
	.writable = on_writable,
	.pong = on_pong,
	.closed = on_conn_closed,
};

/* ---- dialing ---- */

static void
on_connecting_closed(uv_handle_t *h)
{
	session *s = h->data;

	free(h);
	s->handles--;
	maybe_done(s);
}

/*
 * The dial is over: cancel the dialer plugin's operation if it still runs,
 * and drop the plugin set held for it.
 */
static void
dial_release(session *s)
{
	if (s->dop != NULL) {
		void *op = s->dop;

		s->dop = NULL;
		s->dops->cancel(op);
	}
	s->dops = NULL;
	s->dinst = NULL;
	if (s->dplug != NULL) {
		plugins_unref(s->dplug);
		s->dplug = NULL;
	}
}

/* What TCP connects to, for messages: the peer, or the proxy for it. */
static void
dial_target(const session *s, char *buf, size_t len)
{
	const cfg_addr *a = &s->peer->dial;

	if (s->dops != NULL)
		snprintf(buf, len, strchr(s->dhost, ':') ? "proxy [%s]:%u (for %s:%u)" :
		    "proxy %s:%u (for %s:%u)", s->dhost, s->dport, a->host, a->port);
	else
		snprintf(buf, len, "%s:%u", a->host, a->port);
}

/*
 * Drop a TCP connect (or a dialer's negotiation) in progress; the session
 * lives until its handle closed.
 */
static void
abandon_connect(session *s)
{
	uv_tcp_t *t = s->connecting;

	dial_release(s);
	if (t == NULL)
		return;
	s->connecting = NULL;
	t->data = s;
	s->handles++;
	uv_close((uv_handle_t *)t, on_connecting_closed);
}

static void
retry_fired(uv_timer_t *t)
{
	session *s = t->data;

	if (s->state == SESS_BACKOFF)
		dial(s);
	else if (s->state == SESS_CONNECTING && s->connecting != NULL) {
		/* TCP connect (and a proxy's negotiation) took longer than timeouts.connect. */
		char to[CFG_HOST_MAX * 2 + 48], why[sizeof(to) + 96];

		dial_target(s, to, sizeof(to));
		snprintf(why, sizeof(why), "%s %s timed out (timeouts.connect)",
		    s->dop != NULL ? "negotiation with" : "connect to", to);
		abandon_connect(s);
		schedule_retry(s, why);
	}
}

static void
schedule_retry(session *s, const char *why)
{
	const config *cfg = gateway_config(s->gw);
	uint64_t d = cfg->timeouts.reconnect_min_ms, max = cfg->timeouts.reconnect_max_ms;
	unsigned i;

	if (s->shutting_down || gateway_draining(s->gw) || !s->peer->has_dial) {
		s->state = SESS_IDLE;
		return;
	}
	for (i = 0; i < s->attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	/* +-25% jitter, so two gateways that lost each other do not re-collide. */
	d = d * 3 / 4 + rand_uniform((uint32_t)(d / 2 + 1));
	s->attempts++;
	s->state = SESS_BACKOFF;
	s->next_retry_ms = gateway_now(s->gw) + d;
	set_error(s, why);
	log_limited(LOG_INFO, "dial retry", s->name, "cannot reach peer (%s); retry %u in %llu ms",
	    why, s->attempts, (unsigned long long)d);
	uv_timer_stop(&s->retry);
	uv_timer_start(&s->retry, retry_fired, d, 0);
}

/* TCP is up and, through a dialer, the peer reached: STP's handshake starts. */
static void
handover(session *s, uv_tcp_t *tcp)
{
	conn *c;

	s->connecting = NULL;
	c = conn_new(s->gw, tcp, 1, s->key, &session_ops, s);
	if (c == NULL) {
		schedule_retry(s, "out of memory");
		return;
	}
	s->dialed = c;
	s->state = s->c ? SESS_UP : SESS_HANDSHAKE;
	conn_start(c);
}

/* The dialer plugin's stp_dial_done_fn. */
static void
on_dialed(void *arg, int status, const char *reason)
{
	session *s = arg;
	char why[384];

	s->dop = NULL; /* over: not to be cancelled */
	if (status == 0 && !s->shutting_down && s->connecting != NULL) {
		uv_timer_stop(&s->retry);
		dial_release(s);
		handover(s, s->connecting);
		return;
	}
	snprintf(why, sizeof(why), "%s", reason != NULL && reason[0] ?
	    reason : "the dialer plugin failed");
	abandon_connect(s);
	if (s->shutting_down)
		return;
	stp_metrics.handshakes_failed[M_HS_IO]++;
	schedule_retry(s, why);
}

static void
on_tcp_connected(uv_connect_t *req, int status)
{
	session *s = req->data;
	uv_tcp_t *tcp = (uv_tcp_t *)req->handle;

	if (tcp != s->connecting) {
		/* Abandoned (timed out or shutting down); handle already closing. */
		return;
	}
	if (status < 0) {
		char to[CFG_HOST_MAX * 2 + 48], why[sizeof(to) + 96];

		uv_timer_stop(&s->retry);
		dial_target(s, to, sizeof(to));
		abandon_connect(s);
		snprintf(why, sizeof(why), "connect to %s: %s", to,
		    uv_strerror(status));
		if (s->shutting_down)
			{ maybe_done(s); return; }
		stp_metrics.handshakes_failed[M_HS_IO]++;
		schedule_retry(s, why);
		return;
	}
	if (s->shutting_down) {
		uv_timer_stop(&s->retry);
		abandon_connect(s);
		return;
	}
	if (s->dops != NULL) {
		/* The plugin reaches the peer; timeouts.connect keeps running. */
		const cfg_peer *p = s->peer;
		stp_peer_view v;
		char why[384];

		v.name = p->name;
		v.key = p->key;
		v.host = p->dial.host;
		v.port = p->dial.port;
		v.proxy = p->has_proxy ? p->proxy : "";
		why[0] = '\0';
		s->dop = s->dops->start(s->dinst, &v, tcp, on_dialed, s, why,
		    sizeof(why));
		if (s->dop == NULL) {
			uv_timer_stop(&s->retry);
			abandon_connect(s);
			stp_metrics.handshakes_failed[M_HS_IO]++;
			schedule_retry(s, why[0] ? why : "the dialer plugin failed");
		}
		return;
	}
	uv_timer_stop(&s->retry);
	handover(s, tcp);
}

static void
connect_addr(session *s, const struct sockaddr *sa)
{
	const config *cfg = gateway_config(s->gw);
	int rc;

	if ((s->connecting = malloc(sizeof(*s->connecting))) == NULL) {
		dial_release(s);
		schedule_retry(s, "out of memory");
		return;
	}
	uv_tcp_init(gateway_loop(s->gw), s->connecting);
	s->connecting->data = s;
	s->creq.data = s;
	rc = uv_tcp_connect(&s->creq, s->connecting, sa, on_tcp_connected);
	if (rc != 0) {
		char to[CFG_HOST_MAX * 2 + 48], why[sizeof(to) + 96];

		dial_target(s, to, sizeof(to));
		abandon_connect(s);
		snprintf(why, sizeof(why), "connect to %s: %s", to, uv_strerror(rc));
		{ schedule_retry(s, why); return; }
	}
	uv_timer_stop(&s->retry);
	uv_timer_start(&s->retry, retry_fired, cfg->timeouts.connect_ms, 0);
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	session *s = req->data;

	s->resolving = 0;
	if (s->shutting_down) {
		uv_freeaddrinfo(res);
		dial_release(s);
		{ maybe_done(s); return; }
	}
	if (status < 0 || res == NULL) {
		char why[384];

		snprintf(why, sizeof(why), "cannot resolve %s%s: %s",
		    s->dops != NULL ? "proxy host " : "", s->dops != NULL ?
		    s->dhost : s->peer->dial.host,
		    status < 0 ? uv_strerror(status) : "no address");
		uv_freeaddrinfo(res);
		dial_release(s);
		{ schedule_retry(s, why); return; }
	}
	connect_addr(s, res->ai_addr);
	uv_freeaddrinfo(res);
}

/*
 * One attempt: names are resolved again every time (the address may move).
 * A dialer plugin (plugins_dialer) may route it: TCP then goes to the
 * plugin's endpoint (a proxy), and the plugin reaches the peer from there.
 */
static void
dial(session *s)
{
	const cfg_addr *a = &s->peer->dial;
	plugins *ps = gateway_plugins(s->gw);
	const stp_dialer_ops *ops = NULL;
	void *inst = NULL;
	struct addrinfo hints;
	struct sockaddr_storage ss;
	const char *host = a->host;
	char port[8], why[384], rhost[CFG_HOST_MAX];
	uint16_t rport = 0;
	int rc;

	if (s->shutting_down || !s->peer->has_dial || s->c != NULL ||
	    s->dialed != NULL || s->connecting != NULL || s->resolving)
		return;
	s->state = SESS_CONNECTING;
	why[0] = '\0';
	rc = plugins_dialer(ps, s->peer, &ops, &inst, rhost, sizeof(rhost),
	    &rport, why, sizeof(why));
	if (rc < 0)
		{ schedule_retry(s, why[0] ? why : "the dialer plugin refused"); return; }
	if (rc > 0) {
		s->dplug = plugins_ref(ps);
		s->dops = ops;
		s->dinst = inst;
		snprintf(s->dhost, sizeof(s->dhost), "%s", rhost);
		s->dport = rport;
		host = s->dhost;
		memset(&ss, 0, sizeof(ss));
		if (uv_ip4_addr(host, rport, (struct sockaddr_in *)&ss) == 0 ||
		    uv_ip6_addr(host, rport, (struct sockaddr_in6 *)&ss) == 0) {
			connect_addr(s, (const struct sockaddr *)&ss);
			return;
		}
	} else if (a->is_ip) {
		connect_addr(s, (const struct sockaddr *)&a->ss);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", s->dops != NULL ? rport : a->port);
	s->gai.data = s;
	rc = uv_getaddrinfo(gateway_loop(s->gw), &s->gai, on_resolved, host, port,
	    &hints);
	if (rc != 0) {
		snprintf(why, sizeof(why), "cannot resolve %s%s: %s",
		    s->dops != NULL ? "proxy host " : "", host, uv_strerror(rc));
		dial_release(s);
		{ schedule_retry(s, why); return; }
	}
	s->resolving = 1;
}

void
session_kick(session *s)
{
	/* A waiting app is a reason not to sit out a long backoff. */
	if (s->state == SESS_BACKOFF && s->attempts > 1) {
		s->attempts = 1;
		uv_timer_stop(&s->retry);
		dial(s);
	}
}

/* ---- life ---- */

static void
on_timer_closed(uv_handle_t *h)
{
	session *s = h->data;

	s->handles--;
	maybe_done(s);
}

session *
session_new(gateway *gw, const cfg_peer *p)
{
	session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->gw = gw;
	s->peer = p;
	snprintf(s->name, sizeof(s->name), "%s", p->name);
	memcpy(s->key, p->key, 32);
	s->state = SESS_IDLE;
	uv_timer_init(gateway_loop(gw), &s->retry);
	uv_timer_init(gateway_loop(gw), &s->keep);
	s->retry.data = s;
	s->keep.data = s;
	uv_timer_init(gateway_loop(gw), &s->cover);
	s->cover.data = s;
	s->handles = 3;
	return s;
}

void
session_start(session *s)
{
	if (s->peer->has_dial)
		dial(s);
}

void
session_set_peer(session *s, const cfg_peer *p)
{
	s->peer = p;
}

void
session_accept_app(session *s, uv_tcp_t *app, const char *service)
{
	stream *st;
	struct waiter *w;

	if (gateway_draining(s->gw)) {
		uv_close((uv_handle_t *)app, (uv_close_cb)free);
		gateway_app_conn_del(s->gw);
		return;
	}
	if (s->n_streams >= gateway_config(s->gw)->limits.max_streams) {
		stp_metrics.limits_hit++;
		stp_metrics.streams_refused[M_ST_LIMIT]++;
		log_limited(LOG_WARN, "stream limit", s->name,
		    "app connection for %s closed: %zu streams open, the limit (limits.max_streams)",
		    service, s->n_streams);
		uv_close((uv_handle_t *)app, (uv_close_cb)free);
		gateway_app_conn_del(s->gw);
		return;
	}
	if (!session_up(s)) {
		if ((w = calloc(1, sizeof(*w))) == NULL) {
			uv_close((uv_handle_t *)app, (uv_close_cb)free);
			gateway_app_conn_del(s->gw);
			return;
		}
		/* Listed before the stream exists, so stream_new_local can find it. */
		w->next = s->waiting;
		s->waiting = w;
		st = stream_new_local(s, app, service);
		if (st == NULL) {
			s->waiting = w->next;
			free(w);
			return;
		}
		w->st = st;
		return;
	}
	(void)stream_new_local(s, app, service);
}

int
session_idle(const session *s)
{
	return s->n_streams == 0 && s->waiting == NULL;
}

void
session_shutdown(session *s, uint32_t code, const char *reason,
    void (*done)(void *arg), void *arg)
{
	if (s->shutting_down)
		return;
	s->shutting_down = 1;
	s->done = done;
	s->done_arg = arg;
	s->state = SESS_CLOSING;
	abort_all(s, reason);
	if (s->resolving)
		uv_cancel((uv_req_t *)&s->gai);
	abandon_connect(s);
	if (s->dialed != NULL) {
		conn *d = s->dialed;

		s->dialed = NULL;
		conn_set_owner(d, NULL, NULL);
		conn_close(d, 0, code, reason);
	}
	if (s->c != NULL) {
		conn *c = s->c;

		s->c = NULL;
		conn_set_owner(c, NULL, NULL);
		log_info(s->name, s->sid, "session down: %s", reason);
		stp_metrics.sessions_down++;
		stp_metrics.rekeys += conn_rekeys(c);
		conn_close(c, 1, code, reason);
	}
	uv_close((uv_handle_t *)&s->retry, on_timer_closed);
	uv_close((uv_handle_t *)&s->keep, on_timer_closed);
	uv_close((uv_handle_t *)&s->cover, on_timer_closed);
}

void
session_get_info(const session *s, session_info *i)
{
	size_t b;
	stream *st;

	memset(i, 0, sizeof(*i));
	i->name = s->name;
	i->state = s->state;
	i->bytes_in = s->bytes_in;
	i->bytes_out = s->bytes_out;
	for (b = 0; b < s->n_buckets; b++) {
		for (st = s->buckets[b]; st != NULL; st = *stream_hnext(st)) {
			i->bytes_in += stream_bytes_in(st);
			i->bytes_out += stream_bytes_out(st);
		}
	}
	i->streams = (unsigned)s->n_streams;
	if (s->c != NULL) {
		snprintf(i->addr, sizeof(i->addr), "%s", conn_peer_addr(s->c));
		i->up_since_ms = s->up_since_ms;
		i->rekeys = conn_rekeys(s->c);
		memcpy(i->sid, s->sid, sizeof(i->sid));
	} else if (s->peer->has_dial) {
		snprintf(i->addr, sizeof(i->addr), "%s:%u", s->peer->dial.host,
		    s->peer->dial.port);
	}
	i->rtt_ms = s->rtt_ms;
	snprintf(i->last_error, sizeof(i->last_error), "%s", s->last_error);
}

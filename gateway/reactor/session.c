/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.c: one peer: its STP connection, its streams, keepalive and
 * reconnect.  See session.h.
 *
 * Streams live in a hash table keyed by id (chained, grown at load 1) so a
 * record finds its stream in O(1) with thousands open; local streams that
 * wait for the session are on a separate list until they get an id.
 *
 * Gathering.  The data of the records the connection delivers in one go
 * (all that one read brought, opened where they lie) is not written to
 * the apps record by record: each piece is noted (the record kept) and,
 * once the connection has delivered them all, each stream writes its
 * pieces with one writev (on_flush -> stream_flush).  GATHER_MAX pieces at
 * most; beyond that, or when the connection cannot keep a record, the
 * stream writes at once.
 *
 * The stream table, ids, window budget, sending and gathering are in
 * session_streams.c; dialing (resolve, connect, dialer plugins, backoff)
 * in session_dial.c; stream opens from the peer in session_open.c;
 * holding streams across a broken connection and resuming them in
 * session_resume.c.  session_int.h holds what they share.
 */
#include "session_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "err.h"
#include "flow.h"
#include "frame.h"
#include "gateway.h"
#include "identity.h"
#include "log.h"
#include "metrics.h"
#include "stream.h"

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

int
session_send_reset(session *s, uint32_t id, uint32_t code, const char *reason)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamReset rs = STP__V1__STREAM_RESET__INIT;

	rs.stream_id = id;
	rs.code = code;
	rs.reason = (char *)reason;
	r.body_case = STP__V1__RECORD__BODY_RESET;
	r.reset = &rs;
	return session_send(s, &r);
}

void
session_reason_text(char out[SESSION_REASON_MAX], const char *reason)
{
	size_t i;

	snprintf(out, SESSION_REASON_MAX, "%s", reason != NULL ? reason : "");
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			out[i] = '?';
}

struct flow **
session_flow_list(session *s)
{
	return &s->flows;
}

uint32_t
session_features(const session *s)
{
	return s->c != NULL && session_up(s) ? endpoint_features(conn_endpoint(s->c)) :
	    0;
}

const uint8_t *
session_peer_key(const session *s)
{
	return endpoint_peer(conn_endpoint(s->c));
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
	flow_abort_all(s, why);
	s->windows = 0;
	s->ng = 0;  /* every piece belonged to a stream now gone */
	if (s->held)
		sess_forget_held(s);
}

/* The connection delivered what it had: every stream writes its pieces. */
static void
on_flush(void *owner, conn *c)
{
	(void)c;
	sess_flush_gathered(owner);
}

/* ---- connection life ---- */

void
sess_set_error(session *s, const char *why)
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
	uint64_t quiet, dead = cfg->timeouts.dead_ms, ka = cfg->timeouts.keepalive_ms;
	endpoint *e;
	int rc;

	if (!session_up(s))
		return;
	quiet = now - conn_last_recv_ms(s->c);
	if (quiet >= dead) {
		char why[96];

		snprintf(why, sizeof(why), "peer dead: nothing received for %llu ms",
		    (unsigned long long)quiet);
		conn_close(s->c, 0, 0, why); /* runs on_closed */
		return;
	}
	/*
	 * When the peer would reach dead_after of silence before the next
	 * tick, look again then, so that a dead peer is found within
	 * dead_after (not dead_after plus up to one keepalive interval); the
	 * ticks then go on every keepalive from there.
	 */
	if (dead - quiet < ka)
		uv_timer_start(t, keepalive, dead - quiet, ka);
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

const uint8_t *
sess_dial_key(const session *s)
{
	return s->peer->keys[s->dial_key % s->peer->n_keys];
}

/*
 * Our identity changed (a rotation: reload with a new identity, or a session
 * that came up under previous_identity): tell the peer inside the session,
 * so that the session outlives our old key (proto/STP.md, "Identity
 * update").
 */
static void
tell_identity(session *s)
{
	const config *cfg = gateway_config(s->gw);
	endpoint *e = conn_endpoint(s->c);
	uint8_t pub[32];
	char text[IDENTITY_PUBTEXT_LEN + 1];
	int rc;

	sign_key_public(cfg->identity, pub);
	if (memcmp(pub, endpoint_self(e), 32) == 0)
		return;
	rc = endpoint_update_identity(e, cfg->identity, gateway_now(s->gw));
	identity_pub_encode(pub, text);
	if (rc == 0) {
		stp_metrics.identity_updates_sent++;
		log_info(s->name, s->sid, "told the peer our new identity %s", text);
		conn_flush(s->c);
	} else if (rc == STP_EPROTO) {
		log_warn(s->name, s->sid, "the peer does not take identity updates "
		    "(an older stpgate): this session stays under our previous "
		    "identity until it ends, and ends when the peer stops listing "
		    "that key; new sessions use %s", text);
	} else {
		log_warn(s->name, s->sid, "could not tell the peer our new identity: "
		    "%s", stp_strerror(rc));
	}
}

void
session_identity_changed(session *s)
{
	if (s->c != NULL && endpoint_established(conn_endpoint(s->c)))
		tell_identity(s);
}

/* The peer proved a new identity inside the session (EP_PEER_IDENTITY). */
static void
on_peer_identity(void *owner, conn *c)
{
	session *s = owner;
	const uint8_t *pk = endpoint_peer(conn_endpoint(c));
	char text[IDENTITY_PUBTEXT_LEN + 1], fp[IDENTITY_FP_MAX];

	stp_metrics.identity_updates_received++;
	identity_pub_encode(pk, text);
	identity_fingerprint(pk, fp, sizeof(fp));
	if (config_peer_has_key(s->peer, pk))
		log_info(s->name, s->sid, "the peer now uses identity %s (%s); "
		    "this session goes on under it", text, fp);
	else
		log_warn(s->name, s->sid, "the peer now uses identity %s (%s), "
		    "which peers.%s.key does not list: add it, or the peer's next "
		    "session will be refused", text, fp, s->name);
}

int
session_keeps(const session *s, const cfg_peer *p)
{
	endpoint *e;

	if (s->c == NULL || !endpoint_established(e = conn_endpoint(s->c)))
		return 1;
	return config_peer_has_key(p, endpoint_peer(e)) ||
	    config_peer_has_key(p, endpoint_peer_auth(e));
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
	conn_set_owner(c, &sess_ops, s);
	s->state = SESS_UP;
	/* Reset only once the session has lived (on_closed): one the peer ends
	 * at once, again and again, must not be redialed at reconnect_min. */
	s->attempts_before_up = s->attempts;
	s->attempts = 0;
	s->probe_ms = 0;
	s->up_since_ms = gateway_now(s->gw);
	/* Held streams keep their ids: ours go on with the same parity. */
	if (!s->held) {
		s->next_id = conn_initiator(c) ? 1 : 2;
		s->last_peer_id = 0;
	}
	memcpy(s->sid, endpoint_sid(e), sizeof(s->sid));
	s->resumable = endpoint_resume_secret(e, s->rsecret) == 0;
	s->last_error[0] = '\0';
	uv_timer_stop(&s->retry);
	/* Keepalive often enough to notice a dead peer within dead_after. */
	if (ka > cfg->timeouts.dead_ms / 2)
		ka = cfg->timeouts.dead_ms / 2;
	if (ka < 100)
		ka = 100;
	uv_timer_start(&s->keep, keepalive, ka, ka);
	cover_arm(s);
	/* Before anything else is sent: the initiator's Resume goes first. */
	if (s->held)
		sess_resume_start(s);
	/* The initiator counts the session up at our first record: send one now. */
	if (!conn_initiator(c) && endpoint_ping(e, gateway_now(s->gw)) == 0)
		conn_flush(c);
	stp_metrics.sessions_up++;
	/* Up under our previous identity (a peer that dialed that key). */
	tell_identity(s);
	log_info(s->name, s->sid, "session up (%s %s%s)",
	    conn_initiator(c) ? "dialed" : "accepted from", conn_peer_addr(c),
	    signed_text[endpoint_signing(e) & (EP_SIGN_SEND | EP_SIGN_VERIFY)]);
	for (w = s->waiting; w != NULL; w = next) {
		next = w->next;
		stream_session_up(w->st); /* may unlink w */
	}
	flow_session_up(s);
}

/*
 * A second connection accepted for a peer whose first one still answers.
 * The peer may have lost the first and come back (then the first is dead
 * here too; we only do not know it yet), or a second gateway holds the same
 * identity.  The first is live if it was heard within twice the RTT and a
 * second; if it was not, it gets a ping and the newcomer is refused this
 * time.  A live first one stays (a stable winner; the other, refused at
 * once each time, backs off); a first one that has not answered the ping
 * after that window is dead, and the next newcomer replaces it.  So a
 * reconnect pays one retry, and two gateways with one key no longer take
 * turns.
 */
#define LIVE_MS_MIN 1000
#define YOUNG_SESSION_MS 10000  /* a session ended sooner counts as a failed dial */

static int
refuse_rival(session *s, conn *nc)
{
	uint64_t now = gateway_now(s->gw), at, heard, win;
	char why[256];

	if (conn_initiator(s->c) || conn_initiator(nc))
		return 0;
	at = conn_last_recv_ms(s->c);
	heard = now - at;
	win = 2 * s->rtt_ms + LIVE_MS_MIN;
	if (heard >= win && s->probe_ms > at && now - s->probe_ms >= win) {
		/* Asked, and no answer within the window: the newcomer wins. */
		s->probe_ms = 0;
		return 0;
	}
	if (heard >= win) {
		/* Not heard lately: ask (once); the next attempt finds out. */
		if (s->probe_ms <= at) {
			s->probe_ms = now;
			if (endpoint_ping(conn_endpoint(s->c), now) == 0)
				conn_flush(s->c);
		}
		snprintf(why, sizeof(why), "this peer's session from %s is being "
		    "checked; retry", conn_peer_addr(s->c));
		log_info(s->name, s->sid, "a second connection (%s) while the "
		    "session from %s was quiet for %llu ms: checking that one, "
		    "refusing this one for now", conn_peer_addr(nc),
		    conn_peer_addr(s->c), (unsigned long long)heard);
	} else {
		stp_metrics.sessions_rival++;
		snprintf(why, sizeof(why), "this peer already has a live session "
		    "with this key, from %s: is another gateway running with the "
		    "same identity?", conn_peer_addr(s->c));
		log_limited(LOG_ERROR, "same identity twice", s->name,
		    "two gateways with one identity? %s connected while the "
		    "session from %s is live (heard %llu ms ago): keeping the "
		    "first, refusing the second", conn_peer_addr(nc),
		    conn_peer_addr(s->c), (unsigned long long)heard);
	}
	conn_set_owner(nc, NULL, NULL);
	conn_close(nc, 1, STP__V1__CLOSE_CODE__CLOSE_REPLACED, why);
	return 1;
}

/* Which of two connections to the same peer survives (both ends agree). */
static int
keep_new(session *s, conn *old, conn *nc)
{
	endpoint *e = conn_endpoint(nc);

	(void)s;
	/* The same side dialed both: the newer one replaces a stale one. */
	if (conn_initiator(old) == conn_initiator(nc))
		return 1;
	/* Keep the connection whose initiator has the smaller public key
	 * (the two keys nc's handshake proved, the same pair at both ends). */
	if (memcmp(endpoint_self(e), endpoint_peer(e), 32) < 0)
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
	if (refuse_rival(s, c))
		return;
	if (keep_new(s, s->c, c)) {
		conn *old = s->c;

		log_info(s->name, s->sid, "session replaced by a %s connection (%s)",
		    conn_initiator(c) ? "dialed" : "accepted", conn_peer_addr(c));
		s->c = NULL;
		/* The replaced session ends here: count it, as on_closed would. */
		stp_metrics.sessions_down++;
		stp_metrics.rekeys += conn_rekeys(old);
		conn_set_owner(old, NULL, NULL);
		if (!sess_hold(s, "session replaced"))
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

static uint32_t
record_stream_id(const Stp__V1__Record *r)
{
	switch (r->body_case) {
	case STP__V1__RECORD__BODY_ACCEPT: return r->accept->stream_id;
	case STP__V1__RECORD__BODY_DATA: return r->data->stream_id;
	case STP__V1__RECORD__BODY_WINDOW: return r->window->stream_id;
	case STP__V1__RECORD__BODY_FIN: return r->fin->stream_id;
	case STP__V1__RECORD__BODY_RESET: return r->reset->stream_id;
	case STP__V1__RECORD__BODY_DATAGRAM: return r->datagram->stream_id;
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
	if ((s->resume_step != RESUME_NONE ||
	    r->body_case == STP__V1__RECORD__BODY_RESUME ||
	    r->body_case == STP__V1__RECORD__BODY_RESUME_STREAMS) &&
	    sess_resume_record(s, r))
		return;
	if (r->body_case == STP__V1__RECORD__BODY_OPEN)
		{ sess_on_open(s, r->open); return; }
	id = record_stream_id(r);
	if (id == 0)
		return;
	if (r->body_case != STP__V1__RECORD__BODY_DATAGRAM &&
	    (st = sess_find_stream(s, id)) != NULL) {
		stream_on_record(st, r);
		return;
	}
	if (flow_on_record(s, id, r))
		return;
	/*
	 * A record for a stream we no longer know: normal just after a reset
	 * crossed it on the wire.  An accept for one we gave up on gets a reset,
	 * so the other side does not keep a half-open stream.
	 */
	if (r->body_case == STP__V1__RECORD__BODY_ACCEPT)
		(void)session_send_reset(s, id, STP__V1__RESET_CODE__RESET_ABORTED,
		    "stream already closed");
}

#define READ_SHARE_MIN (4 * 1024)

/* Every stream on the turn list takes this turn; how many read again. */
static unsigned
give_tickets(session *s)
{
	stream *st, *next;
	unsigned ready = 0;

	for (st = s->turn_list; st != NULL; st = next) {
		next = stream_turn_next(st);
		ready += (unsigned)stream_take_turn(st);
	}
	return ready;
}

static void
on_writable(void *owner, conn *c)
{
	session *s = owner;
	size_t waiting = 0;
	stream *st;

	/*
	 * A turn: the output has room again.  Every stream that stopped for
	 * it (on the turn list: the output, or a turn already used, stopped
	 * it) gets a ticket: one read, taken even if the others' reads fill
	 * the output first (stream_take_turn).  When streams contend (two or
	 * more read in the last turn, or wait for this one), each reads up to
	 * the session's clock (stream.c, turn_left: its share of the room)
	 * and then waits for the next turn, which comes when the output is
	 * back under its low-water mark (conn_want_turn) and the loop has
	 * polled since this one began.  So what each sends does not
	 * depend on the order the kernel reports sockets readable in: without
	 * turns the first in that order read again and again (libuv reads a
	 * socket up to 32 times per wakeup), took most of the link, and an
	 * interactive stream's answer waited behind it.  A turn before
	 * anyone read in the last one leaves `contended` as it was.  Only on
	 * a paced connection (conn_paced: a path slow enough that what waits
	 * in the output is worth sharing): on loopback, at gigabytes per
	 * second, the turns cost more in stopped and restarted reads (20%
	 * of 4-stream throughput) than they give.
	 */
	if (s->contended && s->turn_ready > 0 && (s->turn_readers == 0 ||
	    gateway_polls(s->gw) == s->turn_poll)) {
		/*
		 * This turn's tickets are out and the loop has not polled
		 * since (their reads come in its next poll), or no stream has
		 * read with one yet: a new turn now would make them stale
		 * before they were used, and the next such call would do it
		 * again.  Streams that stopped since join this turn instead.
		 * (Before the poll rule, a turn often ended after the first
		 * stream's read: the others lost it, and the first gained up
		 * to +25% over a run.)
		 */
		s->turn_ready += give_tickets(s);
		return;
	}
	for (st = s->turn_list; st != NULL; st = stream_turn_next(st))
		waiting++;
	if (s->turn_readers > 0 || waiting >= 2)
		s->contended = (s->turn_readers >= 2 || waiting >= 2) &&
		    conn_paced(c);
	s->turn_readers = 0;
	s->turn_poll = gateway_polls(s->gw);
	if (++s->turn == 0)
		s->turn = 1;
	/* The share and the clock first: taking a turn asks turn_left. */
	s->read_share = STP_MAX_DATA;
	if (s->contended && waiting > 0) {
		s->read_share = conn_output_room(c) / waiting;
		if (s->read_share < READ_SHARE_MIN)
			s->read_share = READ_SHARE_MIN;
		s->clock += s->read_share;
	}
	s->turn_ready = give_tickets(s);
	if (s->contended && s->turn_ready > 0)
		conn_want_turn(c);
}

uint64_t
session_clock(const session *s)
{
	return s->clock;
}

size_t
session_read_share(const session *s)
{
	return s->read_share != 0 ? s->read_share : STP_MAX_DATA;
}

void
session_want_turn(session *s)
{
	if (s->c != NULL)
		conn_want_turn(s->c);
}

stream **
session_turn_list(session *s)
{
	return &s->turn_list;
}

uint32_t
session_turn(const session *s)
{
	return s->turn;
}

int
session_contended(const session *s)
{
	return s->contended;
}

int
session_read_turn(session *s, uint32_t *read_turn)
{
	if (*read_turn == s->turn)
		return 0;
	*read_turn = s->turn;
	s->turn_readers++;
	return 1;
}

static void
on_pong(void *owner, conn *c, uint64_t rtt_ms)
{
	session *s = owner;

	(void)c;
	s->rtt_ms = rtt_ms;
}

void
sess_maybe_done(session *s)
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
	const char *why = reason && reason[0] ? reason : "closed";
	int held;

	if (c == s->dialed) {
		s->dialed = NULL;
		stp_metrics.handshakes_failed[err == STP_EIO ? M_HS_IO :
		    err == STP_EREJECTED ? M_HS_REJECTED : err == STP_EPEER ?
		    M_HS_UNKNOWN_PEER : M_HS_AUTH]++;
		log_limited(LOG_WARN, "handshake failed", s->name,
		    "handshake failed (dialed %s): %s", conn_peer_addr(c), reason);
		/* Not a word back: during a rotation, the next key may be it. */
		if (!conn_heard(c) && s->peer->n_keys > 1)
			s->dial_key = (s->dial_key + 1) % s->peer->n_keys;
		sess_set_error(s, reason);
		if (s->shutting_down)
			{ sess_maybe_done(s); return; }
		if (s->c == NULL)
			sess_schedule_retry(s, reason);
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
	/* A session the peer ended at once keeps the dial's backoff growing. */
	if (gateway_now(s->gw) - s->up_since_ms < YOUNG_SESSION_MS)
		s->attempts = s->attempts_before_up;
	sess_set_error(s, why);
	/*
	 * Broken (not closed by the peer, unless to replace it): the streams
	 * may wait for a resumption, once what they gathered is written.
	 */
	held = (!conn_closed_by_peer(c) ||
	    conn_peer_close_code(c) == STP__V1__CLOSE_CODE__CLOSE_REPLACED) &&
	    sess_hold(s, why);
	if (!held) {
		log_info(s->name, s->sid, "session down: %s", why);
		abort_all(s, "session down");
	}
	s->resumable = 0;
	s->rtt_ms = 0;
	if (s->shutting_down)
		{ sess_maybe_done(s); return; }
	if (s->peer->has_dial)
		sess_schedule_retry(s, reason);
	else
		s->state = SESS_IDLE;
}

const conn_owner_ops sess_ops = {
	.established = on_established,
	.record = on_record,
	.flush = on_flush,
	.writable = on_writable,
	.pong = on_pong,
	.peer_identity = on_peer_identity,
	.closed = on_conn_closed,
};

/* ---- life ---- */

static void
on_timer_closed(uv_handle_t *h)
{
	session *s = h->data;

	s->handles--;
	sess_maybe_done(s);
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
	s->state = SESS_IDLE;
	uv_timer_init(gateway_loop(gw), &s->retry);
	uv_timer_init(gateway_loop(gw), &s->keep);
	s->retry.data = s;
	s->keep.data = s;
	uv_timer_init(gateway_loop(gw), &s->cover);
	s->cover.data = s;
	uv_timer_init(gateway_loop(gw), &s->resume_timer);
	s->resume_timer.data = s;
	s->handles = 4;
	return s;
}

void
session_start(session *s)
{
	if (s->peer->has_dial)
		sess_dial(s);
}

void
session_set_peer(session *s, const cfg_peer *p)
{
	s->peer = p;
}

void
session_accept_app(session *s, uv_stream_t *app, const char *service, int socks)
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
	/* A SOCKS app waits too: the session may go down while it talks. */
	if (!session_up(s) || socks) {
		if ((w = calloc(1, sizeof(*w))) == NULL) {
			uv_close((uv_handle_t *)app, (uv_close_cb)free);
			gateway_app_conn_del(s->gw);
			return;
		}
		/* Listed before the stream exists, so stream_new_local can find it. */
		w->next = s->waiting;
		s->waiting = w;
		st = stream_new_local(s, app, service, socks);
		if (st == NULL) {
			s->waiting = w->next;
			free(w);
			return;
		}
		w->st = st;
		return;
	}
	(void)stream_new_local(s, app, service, socks);
}

int
session_idle(const session *s)
{
	/* Flows do not hold a drain: UDP has no end to wait for. */
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
	sess_abandon_connect(s);
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
	uv_close((uv_handle_t *)&s->resume_timer, on_timer_closed);
	crypto_wipe(s->rsecret, sizeof(s->rsecret));
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
	i->held = s->held;
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

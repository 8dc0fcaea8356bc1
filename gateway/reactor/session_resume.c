/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session_resume.c: a session's streams outlive a broken connection
 * (proto/STP.md, "Resumption").
 *
 * When a connection that agreed resumption breaks without the peer's Close,
 * the session holds its streams for timeouts.resume_window: they stop
 * reading their apps and keep what the peer has not acknowledged
 * (stream_resume.c).  The next connection to the peer (a full handshake)
 * starts the exchange: its initiator sends Resume{old session id, proof}
 * as its first record, the responder checks the proof and answers with its
 * own, and each sends its table of streams (ResumeStreams).  Each side
 * applies the other's table stream by stream: the stream sends again what
 * the peer did not take and goes on.  A refusal, a connection that cannot
 * resume, or the window passing ends the held streams with the reason.
 */
#include "session_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "endpoint.h"
#include "err.h"
#include "flow.h"
#include "log.h"
#include "metrics.h"
#include "stream.h"

/* StreamStates per ResumeStreams record: about 30 bytes each, so well
 * inside a record. */
#define TABLE_CHUNK 1000

int
session_resumable(const session *s)
{
	return s->resumable || s->held;
}

int
session_held(const session *s)
{
	return s->held;
}

/* resume_window as the logs say it: "30 s", or "500 ms". */
static void
window_text(const session *s, char *out, size_t n)
{
	uint64_t ms = gateway_config(s->gw)->timeouts.resume_ms;

	if (ms % 1000 == 0)
		snprintf(out, n, "%llu s", (unsigned long long)(ms / 1000));
	else
		snprintf(out, n, "%llu ms", (unsigned long long)ms);
}

void
sess_forget_held(session *s)
{
	s->held = 0;
	s->held_streams = 0;
	s->resent = 0;
	s->resume_step = RESUME_NONE;
	uv_timer_stop(&s->resume_timer);
	crypto_wipe(s->old_secret, sizeof(s->old_secret));
}

void
sess_release(session *s, const char *fmt, ...)
{
	char why[200];
	va_list ap;
	unsigned n = 0;
	size_t i;
	stream *st, *next;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	for (i = 0; i < s->n_buckets; i++) {
		for (st = s->buckets[i]; st != NULL; st = next) {
			next = *stream_hnext(st);
			if (!stream_held(st))
				continue;
			n++;
			stream_abort(st, session_up(s),
			    STP__V1__RESET_CODE__RESET_ABORTED, why);
		}
	}
	sess_forget_held(s);
	stp_metrics.resume_failed++;
	/* The peer's ids may start again (a restarted peer); ours take the
	 * new connection's parity, past every id used. */
	s->last_peer_id = 0;
	if (s->c != NULL && (s->next_id & 1) != (conn_initiator(s->c) ? 1u : 0u))
		s->next_id++;
	log_info(s->name, s->sid, "%s: %u streams closed", why, n);
}

static void
window_passed(uv_timer_t *t)
{
	session *s = t->data;
	char w[32];

	window_text(s, w, sizeof(w));
	sess_release(s, "session not resumed within %s", w);
}

int
sess_hold(session *s, const char *why)
{
	const config *cfg = gateway_config(s->gw);
	unsigned n = 0;
	size_t i;
	stream *st;
	char w[32];

	if (!s->resumable || cfg->timeouts.resume_ms == 0 || s->shutting_down ||
	    s->n_streams == 0)
		return 0;
	/* What the streams took from the connection reaches their apps. */
	sess_flush_gathered(s);
	for (i = 0; i < s->n_buckets; i++)
		for (st = s->buckets[i]; st != NULL; st = *stream_hnext(st)) {
			stream_hold(st);
			n++;
		}
	flow_abort_all(s, why);
	s->resumable = 0;
	s->resume_step = RESUME_NONE;
	s->resent = 0;
	s->held_streams = n;
	/* A break during an exchange keeps the first break's session and
	 * deadline: the window does not grow by breaking again. */
	if (!s->held) {
		s->held = 1;
		s->held_since_ms = gateway_now(s->gw);
		memcpy(s->old_sid, s->sid, sizeof(s->old_sid));
		memcpy(s->old_secret, s->rsecret, sizeof(s->old_secret));
		uv_timer_start(&s->resume_timer, window_passed,
		    cfg->timeouts.resume_ms, 0);
	}
	crypto_wipe(s->rsecret, sizeof(s->rsecret));
	window_text(s, w, sizeof(w));
	log_info(s->name, s->sid, "session down: %s; holding %u streams for %s "
	    "to resume", why, n, w);
	return 1;
}

/* Resume{old id, proof(side)}, or a refusal naming id with its reason. */
static int
send_resume(session *s, char side, const uint8_t *id, const char *refusal)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Resume m = STP__V1__RESUME__INIT;
	uint8_t proof[KS_PROOF_LEN];
	int rc;

	m.session_id.data = (uint8_t *)(id != NULL ? id : s->old_sid);
	m.session_id.len = sizeof(s->old_sid);
	if (refusal != NULL) {
		m.reason = (char *)refusal;
	} else {
		if (ks_resume_proof(proof, s->old_secret, side, s->old_sid,
		    s->sid) != 0)
			return STP_ECRYPTO;
		m.proof.data = proof;
		m.proof.len = sizeof(proof);
	}
	r.body_case = STP__V1__RECORD__BODY_RESUME;
	r.resume = &m;
	rc = session_send(s, &r);
	crypto_wipe(proof, sizeof(proof));
	return rc;
}

/* One ResumeStreams record of n states. */
static int
table_record(session *s, Stp__V1__StreamState **p, size_t n, int last)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__ResumeStreams m = STP__V1__RESUME_STREAMS__INIT;

	m.streams = p;
	m.n_streams = n;
	m.last = last;
	r.body_case = STP__V1__RECORD__BODY_RESUME_STREAMS;
	r.resume_streams = &m;
	return session_send(s, &r);
}

/* Our table: every held stream's state, in records of TABLE_CHUNK. */
static int
send_table(session *s)
{
	Stp__V1__StreamState *v = calloc(TABLE_CHUNK, sizeof(*v));
	Stp__V1__StreamState **p = calloc(TABLE_CHUNK, sizeof(*p));
	size_t i, n = 0;
	stream *st;
	int rc = STP_ENOMEM;

	if (v == NULL || p == NULL)
		goto out;
	for (i = 0; i < s->n_buckets; i++) {
		for (st = s->buckets[i]; st != NULL; st = *stream_hnext(st)) {
			if (!stream_held(st))
				continue;
			if (n == TABLE_CHUNK) {
				if ((rc = table_record(s, p, n, 0)) != 0)
					goto out;
				n = 0;
			}
			stp__v1__stream_state__init(&v[n]);
			stream_state(st, &v[n]);
			p[n] = &v[n];
			n++;
		}
	}
	rc = table_record(s, p, n, 1);
out:
	free(v);
	free(p);
	return rc;
}

void
sess_resume_start(session *s)
{
	if (!s->resumable) {
		sess_release(s, "session not resumed: the peer's new connection "
		    "does not offer resumption");
		return;
	}
	s->resume_step = RESUME_WAIT_PROOF;
	if (!conn_initiator(s->c))
		return;  /* the initiator's first record decides */
	if (send_resume(s, 'i', NULL, NULL) != 0 || send_table(s) != 0)
		sess_release(s, "session not resumed: cannot send the resumption");
}

/* Is m the proof `side` owes for the session we hold? */
static int
proof_ok(session *s, char side, const Stp__V1__Resume *m)
{
	uint8_t want[KS_PROOF_LEN];
	int ok;

	/* The endpoint checked the lengths: a 16-byte id, a proof of 32 or
	 * none (a refusal). */
	if (!crypto_memeq(m->session_id.data, s->old_sid, sizeof(s->old_sid)) ||
	    m->proof.len != KS_PROOF_LEN ||
	    ks_resume_proof(want, s->old_secret, side, s->old_sid, s->sid) != 0)
		return 0;
	ok = crypto_memeq(want, m->proof.data, KS_PROOF_LEN);
	crypto_wipe(want, sizeof(want));
	return ok;
}

/* The peer's whole table was applied: the session is resumed. */
static void
resumed(session *s)
{
	unsigned kept;
	uint64_t resent;
	size_t i;
	stream *st, *next;

	for (i = 0; i < s->n_buckets; i++) {
		for (st = s->buckets[i]; st != NULL; st = next) {
			next = *stream_hnext(st);
			if (stream_held(st))
				stream_unnamed(st, "the peer closed the stream while "
				    "the session was down");
		}
	}
	kept = (unsigned)s->n_streams;
	resent = s->resent;
	sess_forget_held(s);
	stp_metrics.sessions_resumed++;
	stp_metrics.resume_bytes_resent += resent;
	log_info(s->name, s->sid, "session resumed: %u streams kept, %llu bytes "
	    "sent again", kept, (unsigned long long)resent);
}

int
sess_resume_record(session *s, const Stp__V1__Record *r)
{
	const Stp__V1__Resume *m;
	const Stp__V1__ResumeStreams *t;
	char why[SESSION_REASON_MAX];
	stream *st;
	size_t i;

	switch (r->body_case) {
	case STP__V1__RECORD__BODY_RESUME:
		m = r->resume;
		if (s->resume_step != RESUME_WAIT_PROOF) {
			/* Nothing held here (a restart, or the window passed). */
			if (!conn_initiator(s->c))  /* the endpoint checked: 16 bytes */
				(void)send_resume(s, 'r', m->session_id.data,
				    "no session to resume here");
			return 1;
		}
		if (conn_initiator(s->c)) {
			if (m->reason != NULL && m->reason[0] != '\0') {
				session_reason_text(why, m->reason);
				sess_release(s, "session not resumed: the peer "
				    "refused: %s", why);
			} else if (!proof_ok(s, 'r', m)) {
				sess_release(s, "session not resumed: the peer's "
				    "proof does not verify");
			} else {
				s->resume_step = RESUME_WAIT_TABLE;
			}
			return 1;
		}
		if (!proof_ok(s, 'i', m)) {
			(void)send_resume(s, 'r', NULL, "that session is not "
			    "held here, or the proof does not verify");
			sess_release(s, "session not resumed: the peer's resume "
			    "names another session or its proof does not verify");
			return 1;
		}
		if (send_resume(s, 'r', NULL, NULL) != 0 || send_table(s) != 0) {
			sess_release(s, "session not resumed: cannot send the "
			    "resumption");
			return 1;
		}
		s->resume_step = RESUME_WAIT_TABLE;
		return 1;
	case STP__V1__RECORD__BODY_RESUME_STREAMS:
		if (s->resume_step != RESUME_WAIT_TABLE)
			return 1;  /* after a refusal: nothing to apply */
		t = r->resume_streams;
		for (i = 0; i < t->n_streams; i++) {
			st = sess_find_stream(s, t->streams[i]->stream_id);
			if (st != NULL && stream_held(st))
				s->resent += stream_resync(st, t->streams[i]);
			else if (st == NULL)
				(void)session_send_reset(s, t->streams[i]->stream_id,
				    STP__V1__RESET_CODE__RESET_ABORTED,
				    "stream closed while the session was down");
		}
		if (t->last)
			resumed(s);
		return 1;
	default:
		/* The initiator's first record was not a Resume. */
		if (s->resume_step == RESUME_WAIT_PROOF && !conn_initiator(s->c))
			sess_release(s, "session not resumed: the peer's gateway "
			    "did not resume it (restarted?)");
		return 0;
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpoint_recv.c: the receiving half of an endpoint (endpoint.h,
 * endpoint_int.h): opening records, processing them in order, key updates
 * of the peer's direction, and the in-session hybrid exchange.
 *
 * Receive order.  OPEN jobs sit in a list ordered by sequence number and are
 * processed only from its head, only once done: a record a fast worker opened
 * early waits for the ones before it.  A job that failed to open (or whose
 * signature failed) ends the connection and nothing of it is looked at.
 * Processing parses the plaintext into the endpoint's arena and checks
 * Record.seq and the body against the frame type.  A stream record becomes
 * an EP_RECORD event that holds the arena until the application polls past
 * it, and no further record is processed meanwhile, so a record costs at
 * most one arena however slowly the application reads.  A data record read
 * in place (no arena) may be kept instead (endpoint_keep): its job moves to
 * the kept list, processing goes on, and endpoint_release_kept frees them
 * all; EP_KEEP_MAX bounds what is kept.
 *
 * Rekey exchange (STP.md "Rekey").  The handshake initiator sends
 * KemInit{x25519, mlkem_ek}; the responder encapsulates, answers KemReply
 * and at once sends KEY_UPDATE{fresh}; the initiator, on the KemReply,
 * decapsulates and sends its own KEY_UPDATE{fresh}.  Both sides compute
 * xh = H(KemInit bytes || KemReply bytes) over the canonical protobuf
 * encodings of the two sub-messages' known fields only (1,221 and 1,125
 * bytes: STP.md, "Rekey"), never the bytes received, so that an unknown
 * field changes nothing.  The shared secrets and xh
 * are kept until both directions used them, then wiped.
 */
#include "endpoint_int.h"

#include <string.h>

#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "err.h"

static int rx_identity_update(endpoint *e, uint64_t seq,
    const Stp__V1__IdentityUpdate *u);

/* ---- the in-session hybrid exchange ---- */

static void
rekem_maybe_finish(endpoint *e)
{
	if (e->rk.have_ss && e->rk.send_done && e->rk.recv_done) {
		ep_rekem_wipe(&e->rk);
		e->st.rekems++;
	}
}

/* Initiator: fresh key pairs, KemInit. */
int
ep_rekem_start(endpoint *e)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__KemInit ki = STP__V1__KEM_INIT__INIT;
	uint8_t xpub[X25519_LEN], ek[MLKEM768_EK_LEN];
	int rc;

	e->rk.last_ms = e->now;
	if ((rc = x25519_keypair(e->rk.x_priv, xpub)) != 0 ||
	    (rc = mlkem768_keygen(ek, e->rk.dk)) != 0)
		goto out;
	ki.x25519.data = xpub;
	ki.x25519.len = X25519_LEN;
	ki.mlkem_ek.data = ek;
	ki.mlkem_ek.len = MLKEM768_EK_LEN;
	if ((rc = env_pack(&ki.base, e->rk.init_msg, sizeof(e->rk.init_msg))) < 0)
		goto out;
	e->rk.init_len = (size_t)rc;
	r.body_case = STP__V1__RECORD__BODY_KEM_INIT;
	r.kem_init = &ki;
	if ((rc = ep_tx_message(e, FRAME_RECORD, &r)) != 0)
		goto out;
	e->rk.sent = 1;
out:
	if (rc != 0) {
		ep_rekem_wipe(&e->rk);
		rc = ep_fail_send(e, rc, "cannot start a rekey exchange: %s",
		    stp_strerror(rc));
	}
	return rc;
}

/*
 * xh = H(KemInit bytes || KemReply bytes): init is the canonical KemInit
 * (ours, or rekem_canon_init of the one received); the KemReply is encoded
 * from its two fields alone.
 */
static int
rekem_hash(uint8_t xh[KS_TH_LEN], const uint8_t *init, size_t init_len,
    const uint8_t xr[X25519_LEN], const uint8_t ct[MLKEM768_CT_LEN])
{
	Stp__V1__KemReply kr = STP__V1__KEM_REPLY__INIT;
	uint8_t buf[2 * REKEM_MSG_MAX];
	int n;

	if (init_len > REKEM_MSG_MAX)
		return STP_ETOOBIG;
	memcpy(buf, init, init_len);
	kr.x25519.data = (uint8_t *)xr;
	kr.x25519.len = X25519_LEN;
	kr.mlkem_ct.data = (uint8_t *)ct;
	kr.mlkem_ct.len = MLKEM768_CT_LEN;
	if ((n = env_pack(&kr.base, buf + init_len, REKEM_MSG_MAX)) < 0)
		return n;
	return hash_sha512(xh, buf, init_len + (size_t)n);
}

/* Responder: KemInit -> KemReply, KEY_UPDATE{fresh}. */
static int
rekem_on_init(endpoint *e, uint64_t seq, const Stp__V1__KemInit *ki)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__KemReply kr = STP__V1__KEM_REPLY__INIT;
	uint8_t xpriv[X25519_LEN], xpub[X25519_LEN], ct[MLKEM768_CT_LEN];
	uint8_t init[REKEM_MSG_MAX];
	int rc, n;

	if (e->cfg.hs.initiator)
		return ep_fail(e, STP_EPROTO,
		    "record %llu: kem_init from the handshake responder",
		    (unsigned long long)seq);
	if (e->rk.have_ss)
		return ep_fail(e, STP_EPROTO,
		    "record %llu: kem_init while an exchange is in progress",
		    (unsigned long long)seq);
	if (ki == NULL || ki->x25519.len != X25519_LEN ||
	    ki->mlkem_ek.len != MLKEM768_EK_LEN)
		return ep_fail(e, STP_EPROTO,
		    "record %llu: kem_init field of the wrong length",
		    (unsigned long long)seq);
	if (!ep_can_send(e))
		return 0;  /* we are closing: no more keys */
	{
		/* Its two fields alone, canonically: unknown fields are not in xh. */
		Stp__V1__KemInit canon = STP__V1__KEM_INIT__INIT;

		canon.x25519 = ki->x25519;
		canon.mlkem_ek = ki->mlkem_ek;
		if ((n = env_pack(&canon.base, init, sizeof(init))) < 0)
			return ep_fail(e, n, "record %llu: kem_init too large",
			    (unsigned long long)seq);
	}
	if ((rc = x25519_keypair(xpriv, xpub)) != 0) {
		rc = ep_fail(e, rc, "rekey exchange: X25519 key generation failed");
		goto out;
	}
	if ((rc = x25519_shared_pair(e->rk.ss_x, xpriv, xpub,
	    ki->x25519.data)) != 0) {
		rc = ep_fail(e, STP_EPROTO,
		    "record %llu: kem_init X25519 key is degenerate",
		    (unsigned long long)seq);
		goto out;
	}
	if ((rc = mlkem768_encaps(ct, e->rk.ss_m, ki->mlkem_ek.data,
	    ki->mlkem_ek.len)) != 0) {
		rc = ep_fail(e, rc == STP_EKEY ? STP_EPROTO : rc,
		    "record %llu: kem_init ML-KEM key refused",
		    (unsigned long long)seq);
		goto out;
	}
	kr.x25519.data = xpub;
	kr.x25519.len = X25519_LEN;
	kr.mlkem_ct.data = ct;
	kr.mlkem_ct.len = MLKEM768_CT_LEN;
	if ((rc = rekem_hash(e->rk.xh, init, (size_t)n, xpub, ct)) != 0) {
		rc = ep_fail(e, rc, "rekey exchange: hash failed");
		goto out;
	}
	e->rk.have_ss = 1;
	r.body_case = STP__V1__RECORD__BODY_KEM_REPLY;
	r.kem_reply = &kr;
	if ((rc = ep_tx_message(e, FRAME_RECORD, &r)) != 0) {
		rc = ep_fail_send(e, rc, "cannot send kem_reply: %s",
		    stp_strerror(rc));
		goto out;
	}
	if ((rc = ep_tx_key_update(e, 1)) != 0)
		goto out;
	e->rk.send_done = 1;
	rekem_maybe_finish(e);
out:
	crypto_wipe(xpriv, sizeof(xpriv));
	return rc;
}

/* Initiator: KemReply -> KEY_UPDATE{fresh}. */
static int
rekem_on_reply(endpoint *e, uint64_t seq, const Stp__V1__KemReply *kr)
{
	int rc;

	if (!e->cfg.hs.initiator || !e->rk.sent)
		return ep_fail(e, STP_EPROTO,
		    "record %llu: kem_reply without a kem_init",
		    (unsigned long long)seq);
	if (kr == NULL || kr->x25519.len != X25519_LEN ||
	    kr->mlkem_ct.len != MLKEM768_CT_LEN)
		return ep_fail(e, STP_EPROTO,
		    "record %llu: kem_reply field of the wrong length",
		    (unsigned long long)seq);
	if ((rc = x25519_shared(e->rk.ss_x, e->rk.x_priv, kr->x25519.data)) != 0)
		return ep_fail(e, STP_EPROTO,
		    "record %llu: kem_reply X25519 key is degenerate",
		    (unsigned long long)seq);
	if ((rc = mlkem768_decaps(e->rk.ss_m, kr->mlkem_ct.data,
	    kr->mlkem_ct.len, e->rk.dk, sizeof(e->rk.dk))) != 0)
		return ep_fail(e, rc, "rekey exchange: ML-KEM decapsulation failed");
	if ((rc = rekem_hash(e->rk.xh, e->rk.init_msg, e->rk.init_len,
	    kr->x25519.data, kr->mlkem_ct.data)) != 0)
		return ep_fail(e, rc, "rekey exchange: hash failed");
	crypto_wipe(e->rk.x_priv, sizeof(e->rk.x_priv));
	crypto_wipe(e->rk.dk, sizeof(e->rk.dk));
	e->rk.sent = 0;
	e->rk.have_ss = 1;
	if (!ep_can_send(e)) {
		e->rk.send_done = 1;  /* closing: our direction will not move */
		return 0;
	}
	if ((rc = ep_tx_key_update(e, 1)) != 0)
		return rc;
	e->rk.send_done = 1;
	rekem_maybe_finish(e);
	return 0;
}

/* ---- receiving ---- */

/* The peer's KEY_UPDATE opened: move the receive key on. */
static int
rx_key_update(endpoint *e, uint64_t seq, const Stp__V1__KeyUpdate *ku)
{
	int rc;

	if (ku != NULL && ku->fresh) {
		if (!e->rk.have_ss || e->rk.recv_done)
			return ep_fail(e, STP_EPROTO,
			    "record %llu: key_update{fresh} with no exchange completed",
			    (unsigned long long)seq);
		rc = ks_fresh(e->rx.ts, e->rk.ss_m, e->rk.ss_x, e->rk.xh);
		e->rk.recv_done = 1;
	} else
		rc = ks_ratchet(e->rx.ts);
	if (rc == 0)
		rc = ks_record_key(&e->rx.dk, e->rx.ts);
	if (rc != 0)
		return ep_fail(e, rc, "receive key update failed: %s",
		    stp_strerror(rc));
	e->rx.bytes = 0;
	e->rx.key_ms = e->now;
	e->rx_barrier = 0;
	e->st.key_updates_recv++;
	rekem_maybe_finish(e);
	return 0;
}

/*
 * A StreamOpen's extension fields (STP.md, "Stream addresses", "Dynamic
 * opens", "Datagram flows") count only when both Auths set the extension's bit; otherwise
 * they are cleared, so the owner sees what a receiver without them would.
 */
static void
ep_open_strip(const endpoint *e, Stp__V1__StreamOpen *o)
{
	if (!(e->features & HS_FEATURE_STREAM_ADDRESSES)) {
		o->source_ip.len = o->destination_ip.len = 0;
		o->source_port = o->destination_port = 0;
	}
	if (!(e->features & HS_FEATURE_DYNAMIC_OPEN)) {
		o->target_host = (char *)protobuf_c_empty_string;
		o->target_port = 0;
	}
	if (!(e->features & HS_FEATURE_DATAGRAMS))
		o->datagram = 0;
}

/*
 * A Resume or ResumeStreams in its place (STP.md, "Resumption"): only with
 * the extension agreed; the initiator's Resume before any stream or
 * identity record of its, the responder's in answer to ours; ResumeStreams
 * after the sender's Resume and up to its last; a Resume well formed.  0,
 * or the session fails.
 */
static const char *body_name(int b);

static int
rx_resume_ok(endpoint *e, uint64_t seq, const Stp__V1__Record *rec)
{
	const char *what = NULL;

	const Stp__V1__Resume *m = rec->resume;

	if (!(e->features & HS_FEATURE_RESUME))
		what = "an extension not agreed in the Auths";
	else if (rec->body_case == STP__V1__RECORD__BODY_RESUME &&
	    (m->session_id.len != KS_SID_LEN ||
	    (m->proof.len != 0 && m->proof.len != KS_PROOF_LEN) ||
	    (m->proof.len == 0) == (m->reason == NULL || m->reason[0] == '\0') ||
	    (m->reason != NULL && strlen(m->reason) > REASON_MAX)))
		what = "malformed (a 16-byte session id, and a 32-byte proof or "
		    "a reason of at most 128 bytes)";
	else if (rec->body_case == STP__V1__RECORD__BODY_RESUME_STREAMS) {
		if (!(e->resume_rx & RESUME_SENT))
			what = "before the peer's resume";
		else if (e->resume_rx & RESUME_STREAMS_DONE)
			what = "after the peer's last";
		else if (rec->resume_streams->last)
			e->resume_rx |= RESUME_STREAMS_DONE;
	} else if (e->resume_rx & RESUME_SENT)
		what = "a second one";
	else if (e->cfg.hs.initiator ? !(e->resume_tx & RESUME_SENT) :
	    (e->resume_rx & RESUME_LATE) != 0)
		what = e->cfg.hs.initiator ? "not an answer to ours" :
		    "after the initiator's stream records";
	else
		e->resume_rx |= RESUME_SENT;
	if (what == NULL)
		return 0;
	return ep_fail(e, STP_EPROTO, "record %llu: %s, %s",
	    (unsigned long long)seq, body_name(rec->body_case), what);
}

static const char *
body_name(int b)
{
	switch (b) {
	case STP__V1__RECORD__BODY_OPEN: return "open";
	case STP__V1__RECORD__BODY_ACCEPT: return "accept";
	case STP__V1__RECORD__BODY_DATA: return "data";
	case STP__V1__RECORD__BODY_WINDOW: return "window";
	case STP__V1__RECORD__BODY_FIN: return "fin";
	case STP__V1__RECORD__BODY_RESET: return "reset";
	case STP__V1__RECORD__BODY_PING: return "ping";
	case STP__V1__RECORD__BODY_PONG: return "pong";
	case STP__V1__RECORD__BODY_KEY_UPDATE: return "key_update";
	case STP__V1__RECORD__BODY_KEM_INIT: return "kem_init";
	case STP__V1__RECORD__BODY_KEM_REPLY: return "kem_reply";
	case STP__V1__RECORD__BODY_CLOSE: return "close";
	case STP__V1__RECORD__BODY_COVER: return "cover";
	case STP__V1__RECORD__BODY_RESUME: return "resume";
	case STP__V1__RECORD__BODY_RESUME_STREAMS: return "resume_streams";
	case STP__V1__RECORD__BODY_IDENTITY_UPDATE: return "identity_update";
	case STP__V1__RECORD__BODY_DATAGRAM: return "datagram";
	default: return "no";
	}
}

/* One opened record, in sequence order.  The job is the caller's to free. */
static int
rx_record(endpoint *e, endpoint_job *j)
{
	uint64_t seq = j->rj.seq;
	uint8_t type = j->rj.buf[0];
	Stp__V1__Record *rec;
	int body, rc;

	if (e->peer_closed)
		return ep_fail(e, STP_EPROTO, "record after close");
	if (j->rj.result == STP_EVERIFY)
		return ep_fail(e, STP_EVERIFY,
		    "record %llu: signature missing or bad",
		    (unsigned long long)seq);
	if (j->rj.result != 0)
		return ep_fail(e, j->rj.result == STP_EAUTH ||
		    j->rj.result == STP_EINVAL ? STP_EAUTH : j->rj.result,
		    "record %llu failed to open (tampered, replayed, reordered or dropped)",
		    (unsigned long long)seq);
	/*
	 * The hot path: a data record in its canonical encoding is read in
	 * place, without protobuf-c and without copying the data.  A signed
	 * one is read without its signature field, which record_job_run found
	 * last and verified.
	 */
	if (type == FRAME_RECORD && (j->rj.verifier == NULL ||
	    j->rj.pt_len >= RECORD_SIG_FIELD_LEN)) {
		uint64_t rseq, rtime;
		uint32_t sid;
		const uint8_t *data;
		size_t dlen, ul, plen = j->rj.pt_len -
		    (j->rj.verifier != NULL ? RECORD_SIG_FIELD_LEN : 0);
		const uint8_t *pt = j->rj.buf + j->rj.pt_off;

		/* A padded one too, read without its padding field. */
		if (env_decode_data_record(pt, plen, &rseq, &rtime, &sid,
		    &data, &dlen) == 1 || ((ul = env_pad_find(pt, plen)) <
		    plen && env_decode_data_record(pt, ul, &rseq, &rtime,
		    &sid, &data, &dlen) == 1)) {
			if (rseq != seq)
				return ep_fail(e, STP_EPROTO,
				    "record %llu says it is record %llu",
				    (unsigned long long)seq, (unsigned long long)rseq);
			e->st.records_recv++;
			e->st.bytes_recv += j->rj.pt_len;
			e->rx.bytes += j->rj.pt_len;
			memset(&e->fast_data, 0, sizeof(e->fast_data));
			memset(&e->fast_rec, 0, sizeof(e->fast_rec));
			e->fast_data.stream_id = sid;
			e->fast_data.data.data = (uint8_t *)data;
			e->fast_data.data.len = dlen;
			e->fast_rec.seq = rseq;
			e->fast_rec.time_ms = rtime;
			e->fast_rec.body_case = STP__V1__RECORD__BODY_DATA;
			e->resume_rx |= RESUME_LATE;
			e->fast_rec.data = &e->fast_data;
			if (plen != j->rj.pt_len) {
				/* The verified signature, as the arena path gives it. */
				e->fast_rec.signature.data = (uint8_t *)pt + plen +
				    RECORD_SIG_FIELD_LEN - SIGN_SIG_LEN;
				e->fast_rec.signature.len = SIGN_SIG_LEN;
			}
			e->ev_job = j;
			return ep_push_event(e, EP_RECORD, &e->fast_rec, 0, 0, NULL);
		}
	}
	env_arena_reset(e->arena);
	rec = (Stp__V1__Record *)env_unpack(e->arena,
	    &stp__v1__record__descriptor, j->rj.buf + j->rj.pt_off,
	    j->rj.pt_len);
	if (rec == NULL)
		return ep_fail(e, STP_EPROTO, "record %llu does not parse",
		    (unsigned long long)seq);
	if (rec->seq != seq)
		return ep_fail(e, STP_EPROTO, "record %llu says it is record %llu",
		    (unsigned long long)seq, (unsigned long long)rec->seq);
	if (j->rj.verifier != NULL && rec->signature.len != SIGN_SIG_LEN)
		return ep_fail(e, STP_EVERIFY,
		    "record %llu: signature field malformed",
		    (unsigned long long)seq);
	body = rec->body_case;
	if (body == STP__V1__RECORD__BODY__NOT_SET)
		return ep_fail(e, STP_EPROTO, "record %llu has no body",
		    (unsigned long long)seq);
	if ((type == FRAME_KEY_UPDATE) !=
	    (body == STP__V1__RECORD__BODY_KEY_UPDATE))
		return ep_fail(e, STP_EPROTO, "record %llu: %s body in a %s frame",
		    (unsigned long long)seq, body_name(body),
		    frame_type_name(type));
	/* STP v1.1: the limit a sender keeps is one a receiver enforces. */
	if (body == STP__V1__RECORD__BODY_DATA && rec->data != NULL &&
	    rec->data->data.len > STP_MAX_DATA)
		return ep_fail(e, STP_EPROTO,
		    "record %llu: data of %zu bytes, over the %d allowed",
		    (unsigned long long)seq, rec->data->data.len, STP_MAX_DATA);
	e->st.records_recv++;
	e->st.bytes_recv += j->rj.pt_len;
	e->rx.bytes += j->rj.pt_len;

	if (ep_stream_layer_body(body))
		e->resume_rx |= RESUME_LATE;

	switch (body) {
	case STP__V1__RECORD__BODY_OPEN:
		/* Fields of an extension not agreed are as if absent: what a
		 * receiver that does not know them would see. */
		if (rec->open != NULL)
			ep_open_strip(e, rec->open);
		/* The arena now belongs to this event until the next poll. */
		return ep_push_event(e, EP_RECORD, rec, 0, 0, NULL);
	case STP__V1__RECORD__BODY_WINDOW:
		if (rec->window != NULL && !(e->features & HS_FEATURE_RESUME)) {
			rec->window->received = 0;
			rec->window->fin = 0;
		}
		return ep_push_event(e, EP_RECORD, rec, 0, 0, NULL);
	case STP__V1__RECORD__BODY_RESUME:
	case STP__V1__RECORD__BODY_RESUME_STREAMS:
		if (rec->resume == NULL)  /* any member of the body union */
			return ep_fail(e, STP_EPROTO, "record %llu: %s without "
			    "a body", (unsigned long long)seq, body_name(body));
		if ((rc = rx_resume_ok(e, seq, rec)) != 0)
			return rc;
		return ep_push_event(e, EP_RECORD, rec, 0, 0, NULL);
	case STP__V1__RECORD__BODY_ACCEPT:
	case STP__V1__RECORD__BODY_DATA:
	case STP__V1__RECORD__BODY_FIN:
	case STP__V1__RECORD__BODY_RESET:
		/* The arena now belongs to this event until the next poll. */
		return ep_push_event(e, EP_RECORD, rec, 0, 0, NULL);
	case STP__V1__RECORD__BODY_PING:
		ep_send_pong(e, rec->ping != NULL ? rec->ping->id : 0);
		return 0;
	case STP__V1__RECORD__BODY_PONG: {
		uint64_t id = rec->pong != NULL ? rec->pong->id : 0;

		return ep_push_event(e, EP_PONG, NULL,
		    e->now >= id ? e->now - id : 0, 0, NULL);
	}
	case STP__V1__RECORD__BODY_COVER:
		/* Authenticated (and verified) like any record; then dropped. */
		e->st.cover_recv++;  /* the owner counts them (ep_stats) */
		return 0;
	case STP__V1__RECORD__BODY_CLOSE: {
		uint32_t code = rec->close != NULL ? rec->close->code : 0;

		ep_sanitize(e->peer_reason, sizeof(e->peer_reason),
		    rec->close != NULL ? rec->close->reason : NULL);
		e->peer_closed = 1;
		if (e->cfg.hs.initiator && seq == 0) {
			/*
			 * The responder's first record, the one that says it
			 * accepted us, is a Close: it refused the session after
			 * our AUTH.  A failed handshake, not a session that came
			 * up and went down; nothing is said back.
			 */
			e->send_broken = 1;
			return ep_fail(e, STP_EREJECTED,
			    "the responder refused the session: %s",
			    e->peer_reason[0] ? e->peer_reason : "no reason given");
		}
		if (e->err == 0)
			ep_note(e, "closed by the peer (code %u)%s%s", code,
			    e->peer_reason[0] ? ": " : "", e->peer_reason);
		return ep_push_event(e, EP_CLOSED, NULL, 0, code, e->peer_reason);
	}
	case STP__V1__RECORD__BODY_KEY_UPDATE:
		return rx_key_update(e, seq, rec->key_update);
	case STP__V1__RECORD__BODY_KEM_INIT:
		return rekem_on_init(e, seq, rec->kem_init);
	case STP__V1__RECORD__BODY_KEM_REPLY:
		return rekem_on_reply(e, seq, rec->kem_reply);
	case STP__V1__RECORD__BODY_DATAGRAM:
		if (!(e->features & HS_FEATURE_DATAGRAMS))
			return ep_fail(e, STP_EPROTO, "record %llu: datagram, "
			    "an extension not agreed in the Auths",
			    (unsigned long long)seq);
		if (rec->datagram == NULL ||
		    rec->datagram->data.len > STP_MAX_DATAGRAM)
			return ep_fail(e, STP_EPROTO, "record %llu: datagram of "
			    "%zu bytes, over the %d allowed",
			    (unsigned long long)seq, rec->datagram != NULL ?
			    rec->datagram->data.len : 0, STP_MAX_DATAGRAM);
		/* The arena now belongs to this event until the next poll. */
		return ep_push_event(e, EP_RECORD, rec, 0, 0, NULL);
	case STP__V1__RECORD__BODY_IDENTITY_UPDATE:
		if (e->features & HS_FEATURE_IDENTITY_UPDATE)
			return rx_identity_update(e, seq, rec->identity_update);
		return ep_fail(e, STP_EPROTO, "record %llu: identity_update, "
		    "an extension not agreed in the Auths",
		    (unsigned long long)seq);
	default:
		return ep_fail(e, STP_EPROTO, "record %llu: unknown body %d",
		    (unsigned long long)seq, body);
	}
}

/*
 * IdentityUpdate (proto/STP.md, "Identity update"): the peer proves it holds
 * a new identity; from this record on the session is that identity's.
 */
static int
rx_identity_update(endpoint *e, uint64_t seq, const Stp__V1__IdentityUpdate *u)
{
	uint8_t msg[KS_IDUP_MSG_LEN];
	int rc;

	if (u == NULL || u->identity.len != 32 || u->signature.len != SIGN_SIG_LEN)
		return ep_fail(e, STP_EPROTO, "record %llu: identity_update with "
		    "malformed fields", (unsigned long long)seq);
	if (memcmp(u->identity.data, e->peer_pub, 32) == 0)
		return 0;
	ks_identity_update_message(msg, e->sid, e->recv_dir, e->peer_pub,
	    u->identity.data);
	if ((rc = sign_verify(u->identity.data, msg, sizeof(msg),
	    u->signature.data, u->signature.len)) != 0)
		return ep_fail(e, STP_EPROTO, "record %llu: identity_update "
		    "whose signature does not verify (%s)",
		    (unsigned long long)seq, stp_strerror(rc));
	memcpy(e->peer_pub, u->identity.data, 32);
	return ep_push_event(e, EP_PEER_IDENTITY, NULL, 0, 0, NULL);
}

/* Process opened records from the head of the receive list, in order. */
int
ep_rx_process(endpoint *e)
{
	endpoint_job *j;
	int rc;

	while (e->err == 0 && (j = e->rxl.head) != NULL &&
	    j->state == JS_DONE && !e->rec_queued && !e->rec_out &&
	    e->ev_count < EV_CAP) {
		(void)ep_list_pop(&e->rxl);
		e->rx_count--;
		rc = rx_record(e, j);
		if (e->ev_job != j)
			ep_job_put(e, j);
		if (rc != 0)
			return rc;
	}
	return e->err;
}

/*
 * A RECORD or KEY_UPDATE frame: an OPEN job under the current receive key.
 * here: it runs now, on the frame where it lies in e->in (dispatch_one let
 * it through only with nothing before it waiting); else the job gets its
 * own copy and goes to the owner's queue.
 */
int
ep_rx_dispatch(endpoint *e, uint8_t *frame, size_t len, int here)
{
	endpoint_job *j;

	if (e->rx.seq == UINT64_MAX)
		return ep_fail(e, STP_EPROTO, "receive sequence numbers exhausted");
	if ((j = ep_job_get(e, here ? 0 : len)) == NULL)
		return ep_fail(e, STP_ENOMEM, "out of memory");
	if (here) {
		j->inplace = 1;
		j->rj.buf = frame;
		j->rj.cap = len;
		e->in_held++;
	} else
		memcpy(j->rj.buf, frame, len);
	j->kind = JOB_OPEN;
	j->rj.op = RECORD_OPEN;
	j->rj.len = len;
	j->rj.key = e->rx.dk;
	j->rj.seq = e->rx.seq++;
	j->rj.verifier = (e->signing & EP_SIGN_VERIFY) ? e->peer_vk : NULL;
	memcpy(j->rj.sid, e->sid, KS_SID_LEN);
	j->rj.dir = e->recv_dir;
	ep_list_push(&e->rxl, j);
	e->rx_count++;
	if (frame[0] == FRAME_KEY_UPDATE)
		e->rx_barrier = 1;
	if (here)
		ep_run_inline(e, j);
	else
		ep_todo_push(e, j);
	return 0;
}

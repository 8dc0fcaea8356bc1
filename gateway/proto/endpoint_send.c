/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpoint_send.c: the sending half of an endpoint (endpoint.h,
 * endpoint_int.h): sealing records in order, padding, key updates of our
 * direction, and the send calls of the API.
 *
 * Send order.  Every record is encoded into a SEAL job (header, plaintext,
 * room for the tag, and the reserved signature field when we sign) under a
 * copy of the send key with the next sequence number.  SEAL jobs sit in a
 * list ordered by sequence number and move to the output queue only from its
 * head, so frames reach the wire in sequence order whatever order workers
 * finish in.  Handshake output goes straight to the output queue; it always
 * precedes the first record because no record is made before the handshake
 * is done.  Application sends are refused (STP_EAGAIN) while the output
 * queue and the records being sealed hold more than max_output bytes; our
 * own protocol records (pong, key update, rekey exchange, close) are not
 * refused, and a pong that finds the output full is deferred (only the
 * latest) until it drains, so a peer cannot grow our output by pinging.
 *
 * Padding.  With a pad_to hook (a shaping plugin), every record we seal,
 * ours and the app's alike, gets a padding field (30) after its body so its
 * plaintext is exactly the size the hook gives (pad_target, env_pad_fill); the
 * signature field, when we sign, comes after it and covers it.  Buffers are
 * sized for the padded record from the start, a zero-copy reservation
 * included, so padding costs no copy but the zeros, and nothing at all
 * without the hook.  Received data records with a padding field are still
 * read in place (env_pad_find).  Cover records are sent with the size asked
 * (endpoint_send_cover) and dropped on receipt.
 */
#include "endpoint_int.h"

#include <string.h>

#include "crypto/crypto.h"
#include "err.h"

static const uint8_t sig_field_tag[3] = { 0xfa, 0x01, 0x40 };

/* ---- sending ---- */

int
ep_can_send(const endpoint *e)
{
	return e->established && !e->we_closed && !e->send_broken &&
	    !e->dead;
}

/* Plaintext bytes the reserved signature field takes in our records. */
static size_t
sig_room(const endpoint *e)
{
	return (e->signing & EP_SIGN_SEND) ? RECORD_SIG_FIELD_LEN : 0;
}

/* The key our records are signed with (a test may swap it). */
static const sign_key *
record_signer(const endpoint *e)
{
	return e->test_signer != NULL ? e->test_signer : e->cfg.hs.identity;
}

/* ---- padding (proto/STP.md, "Padding and cover records") ---- */

/* Room a zero-copy reservation loses to its header (data_hdr_max) stays below this. */
#define PAD_RESV_SLACK 48
_Static_assert(EP_PAD_MAX + RECORD_SIG_FIELD_LEN + PAD_RESV_SLACK <=
    STP_MAX_RECORD_PT, "EP_PAD_MAX leaves no room for a signature");

/*
 * The largest padded plaintext (without a signature) of a frame type: what
 * the frame's maximum holds beside the tag and a signature field, and at
 * most EP_PAD_MAX, so the padded size never depends on whether we sign.
 */
static size_t
pad_max(uint8_t type)
{
	size_t m = frame_max_body(type) - AEAD_TAG_LEN - RECORD_SIG_FIELD_LEN;

	return m < EP_PAD_MAX ? m : EP_PAD_MAX;
}

/*
 * The plaintext size a record of len bytes goes out with: e->pad_want when
 * it holds the record (a cover record), else the shaper's answer, within
 * len..pad_max.  A
 * padding field takes at least 3 bytes, so a gap of 1 or 2 cannot be filled:
 * then the size the shaper gives for len + 3 is taken (the next bucket).
 * len when nothing pads, or when not even the smallest field fits (never for
 * the records this endpoint makes: the largest is far below pad_max).
 */
static size_t
pad_target(const endpoint *e, uint8_t type, size_t len)
{
	size_t max = pad_max(type), t;

	if ((e->cfg.pad_to == NULL && e->pad_want == 0) ||
	    len + ENV_PAD_MIN > max)
		return len;
	t = e->pad_want;
	if (t < len)
		t = e->cfg.pad_to != NULL ?
		    e->cfg.pad_to(e->cfg.pad_cookie, len, max) : len;
	if (t > max)
		t = max;
	if (t > len && t - len < ENV_PAD_MIN) {
		t = e->cfg.pad_to != NULL ?
		    e->cfg.pad_to(e->cfg.pad_cookie, len + ENV_PAD_MIN, max) :
		    len + ENV_PAD_MIN;
		if (t > max)
			t = max;
		if (t < len + ENV_PAD_MIN)
			t = len + ENV_PAD_MIN;
	}
	return t > len ? t : len;
}

/*
 * Finish a SEAL job whose plaintext (pt_len bytes) is at buf + 4: reserve the
 * signature field when we sign, write the header, take the next sequence
 * number and key, and queue it (or seal it now).
 */
static int
tx_submit(endpoint *e, endpoint_job *j, uint8_t type, size_t pt_len)
{
	uint8_t *pt = j->rj.buf + FRAME_HDR_LEN;
	int sign = (e->signing & EP_SIGN_SEND) != 0;

	if (sign) {
		memcpy(pt + pt_len, sig_field_tag, sizeof(sig_field_tag));
		memset(pt + pt_len + sizeof(sig_field_tag), 0, SIGN_SIG_LEN);
		pt_len += RECORD_SIG_FIELD_LEN;
	}
	if (pt_len > STP_MAX_RECORD_PT ||
	    pt_len + AEAD_TAG_LEN > frame_max_body(type)) {
		j->rj.len = FRAME_HDR_LEN + pt_len;
		ep_job_put(e, j);
		return STP_ETOOBIG;
	}
	frame_put_header(j->rj.buf, type, pt_len + AEAD_TAG_LEN);
	j->kind = JOB_SEAL;
	j->rj.op = RECORD_SEAL;
	j->rj.len = FRAME_HDR_LEN + pt_len;
	j->rj.key = e->tx.dk;
	j->rj.seq = e->tx.seq++;
	j->rj.signer = sign ? record_signer(e) : NULL;
	j->rj.verifier = NULL;
	memcpy(j->rj.sid, e->sid, KS_SID_LEN);
	j->rj.dir = e->send_dir;
	e->tx.bytes += pt_len;
	e->st.records_sent++;
	e->st.bytes_sent += pt_len;
	e->seal_bytes += j->rj.len + AEAD_TAG_LEN;
	ep_list_push(&e->txl, j);
	if (ep_run_here(e, EP_JOB_SEAL, j->rj.len + AEAD_TAG_LEN, sign)) {
		ep_run_inline(e, j);
		ep_tx_release(e);
	} else
		ep_todo_push(e, j);
	return 0;
}

/* Sealed records go to the output from the head of the send list, in order. */
void
ep_tx_release(endpoint *e)
{
	endpoint_job *j;

	while ((j = e->txl.head) != NULL && j->state == JS_DONE) {
		(void)ep_list_pop(&e->txl);
		e->seal_bytes -= j->rj.len + (j->rj.result == 0 ? 0 : AEAD_TAG_LEN);
		if (j->rj.result != 0 || e->send_broken) {
			uint64_t seq = j->rj.seq;
			int rc = j->rj.result;

			ep_job_put(e, j);
			if (rc != 0) {
				ep_drop_list(e, &e->txl);
				e->seal_bytes = 0;
				(void)ep_fail_send(e, rc, "record %llu failed to seal: %s",
				    (unsigned long long)seq, stp_strerror(rc));
			}
			continue;
		}
		j->clear = 1;
		ep_out_push(e, j);
	}
}

/* Encode and send a Record; seq and time_ms are set here. */
int
ep_tx_message(endpoint *e, uint8_t type, Stp__V1__Record *r)
{
	ProtobufCBinaryData sig = r->signature;
	endpoint_job *j;
	size_t n, t;
	int rc;

	r->seq = e->tx.seq;
	r->time_ms = e->now;
	/* Field 31 is ours to write, last, when we sign. */
	r->signature.len = 0;
	r->signature.data = NULL;
	n = protobuf_c_message_get_packed_size(&r->base);
	t = pad_target(e, type, n);
	if (t + sig_room(e) > STP_MAX_RECORD_PT) {
		rc = STP_ETOOBIG;
		goto out;
	}
	if ((j = ep_job_get(e, FRAME_HDR_LEN + t + sig_room(e) +
	    AEAD_TAG_LEN)) == NULL) {
		rc = STP_ENOMEM;
		goto out;
	}
	if ((rc = env_pack(&r->base, j->rj.buf + FRAME_HDR_LEN, n)) < 0) {
		ep_job_put(e, j);
		goto out;
	}
	if ((size_t)rc != n)
		t = (size_t)rc;
	env_pad_fill(j->rj.buf + FRAME_HDR_LEN + (size_t)rc, t - (size_t)rc);
	rc = tx_submit(e, j, type, t);
out:
	r->signature = sig;
	return rc;
}

int
ep_send_close(endpoint *e, uint32_t code, const char *reason)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Close c = STP__V1__CLOSE__INIT;
	char why[REASON_MAX + 1];
	int rc;

	ep_sanitize(why, sizeof(why), reason);
	c.code = code;
	c.reason = why;
	r.body_case = STP__V1__RECORD__BODY_CLOSE;
	r.close = &c;
	rc = ep_tx_message(e, FRAME_RECORD, &r);
	e->we_closed = 1;
	return rc;
}

/* Seal a KEY_UPDATE under the current key, then move the send key on. */
int
ep_tx_key_update(endpoint *e, int fresh)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__KeyUpdate ku = STP__V1__KEY_UPDATE__INIT;
	int rc;

	ku.fresh = fresh ? 1 : 0;
	r.body_case = STP__V1__RECORD__BODY_KEY_UPDATE;
	r.key_update = &ku;
	if ((rc = ep_tx_message(e, FRAME_KEY_UPDATE, &r)) != 0)
		return ep_fail_send(e, rc, "cannot send a key update: %s",
		    stp_strerror(rc));
	if (fresh)
		rc = ks_fresh(e->tx.ts, e->rk.ss_m, e->rk.ss_x, e->rk.xh);
	else
		rc = ks_ratchet(e->tx.ts);
	if (rc == 0)
		rc = ks_record_key(&e->tx.dk, e->tx.ts);
	if (rc != 0)
		return ep_fail_send(e, rc, "send key update failed: %s",
		    stp_strerror(rc));
	e->tx.bytes = 0;
	e->tx.key_ms = e->now;
	e->st.key_updates_sent++;
	return 0;
}

static uint64_t
rekey_bytes(const endpoint *e)
{
	return e->cfg.rekey_bytes;
}

/* After a send: a key update once enough bytes went under one key. */
static int
tx_maybe_rekey(endpoint *e)
{
	if (ep_can_send(e) && e->tx.bytes >= rekey_bytes(e))
		return ep_tx_key_update(e, 0);
	return 0;
}

/*
 * Checks common to application sends.  A stream's control records (accept,
 * window update, fin, reset) are small, one at most per stream event, and
 * losing one stalls or strands a stream (a window update the peer never
 * sees leaves it without credit for good): they are taken until output
 * reaches twice max_output, where data and opens stop at max_output.
 */
static int
app_send_ok_for(endpoint *e, int control)
{
	if (e->dead || !e->established || e->we_closed || e->send_broken ||
	    e->err != 0)
		return STP_ESTATE;
	if (e->tx.seq >= SEQ_LAST_REGULAR) {
		(void)ep_send_close(e, STP__V1__CLOSE_CODE__CLOSE_LIMIT,
		    "sequence numbers exhausted");
		ep_note(e, "closed: sequence numbers exhausted");
		return STP_ESTATE;
	}
	if (control ? endpoint_output_pending(e) > 2 * e->cfg.max_output :
	    ep_over_output(e))
		return STP_EAGAIN;
	return 0;
}

static int
app_send_ok(endpoint *e)
{
	return app_send_ok_for(e, 0);
}

/* Is r's body one of a stream's control records (app_send_ok_for)? */
static int
control_body(const Stp__V1__Record *r)
{
	switch (r->body_case) {
	case STP__V1__RECORD__BODY_ACCEPT:
	case STP__V1__RECORD__BODY_WINDOW:
	case STP__V1__RECORD__BODY_FIN:
	case STP__V1__RECORD__BODY_RESET:
	case STP__V1__RECORD__BODY_RESUME:
	case STP__V1__RECORD__BODY_RESUME_STREAMS:
		return 1;
	default:
		return 0;
	}
}

/*
 * The resumption exchange's order (STP.md, "Resumption"): the initiator's
 * Resume comes before any stream or identity record of its own (pings,
 * pongs, covers and key updates may precede it), the responder's answers
 * it, and a side's ResumeStreams follow its own Resume, up to its last.
 * 0 or STP_EPROTO.
 */
static int
resume_send_ok(endpoint *e, int body)
{
	if (!(e->features & HS_FEATURE_RESUME))
		return STP_EPROTO;
	if (body == STP__V1__RECORD__BODY_RESUME_STREAMS)
		return (e->resume_tx & RESUME_SENT) &&
		    !(e->resume_tx & RESUME_STREAMS_DONE) ? 0 : STP_EPROTO;
	if (e->resume_tx & RESUME_SENT)
		return STP_EPROTO;
	if (e->cfg.hs.initiator ? (e->resume_tx & RESUME_LATE) != 0 :
	    !(e->resume_rx & RESUME_SENT))
		return STP_EPROTO;
	return 0;
}

void
ep_send_pong(endpoint *e, uint64_t id)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Ping p = STP__V1__PING__INIT;

	if (!ep_can_send(e) || e->tx.seq >= SEQ_LAST_REGULAR)
		return;
	if (ep_over_output(e)) {
		e->pong_pending = 1;
		e->pong_id = id;
		return;
	}
	e->pong_pending = 0;
	p.id = id;
	r.body_case = STP__V1__RECORD__BODY_PONG;
	r.pong = &p;
	if (ep_tx_message(e, FRAME_RECORD, &r) == 0)
		(void)tx_maybe_rekey(e);
}

void
ep_flush_pong(endpoint *e)
{
	if (e->pong_pending && !ep_over_output(e))
		ep_send_pong(e, e->pong_id);
}

int
endpoint_send(endpoint *e, Stp__V1__Record *r, uint64_t now_ms)
{
	Stp__V1__Record rr;
	Stp__V1__StreamReset rs;
	Stp__V1__Resume rm;
	char why[REASON_MAX + 1];
	const char *reason;
	int rc;

	e->now = now_ms;
	if ((rc = app_send_ok_for(e, control_body(r))) != 0)
		return rc;
	switch (r->body_case) {
	case STP__V1__RECORD__BODY_OPEN:
	case STP__V1__RECORD__BODY_ACCEPT:
	case STP__V1__RECORD__BODY_WINDOW:
	case STP__V1__RECORD__BODY_FIN:
	case STP__V1__RECORD__BODY_RESET:
	case STP__V1__RECORD__BODY_PING:
	case STP__V1__RECORD__BODY_PONG:
	case STP__V1__RECORD__BODY_COVER:
		break;
	case STP__V1__RECORD__BODY_DATA:
		if (r->data != NULL && r->data->data.len > STP_MAX_DATA)
			return STP_ETOOBIG;
		break;
	case STP__V1__RECORD__BODY_DATAGRAM:
		if (!(e->features & HS_FEATURE_DATAGRAMS))
			return STP_EPROTO;
		if (r->datagram != NULL &&
		    r->datagram->data.len > STP_MAX_DATAGRAM)
			return STP_ETOOBIG;
		break;
	case STP__V1__RECORD__BODY_RESUME:
	case STP__V1__RECORD__BODY_RESUME_STREAMS:
		if ((rc = resume_send_ok(e, r->body_case)) != 0)
			return rc;
		break;
	default:
		return STP_EINVAL;  /* no body, or one that is the endpoint's */
	}
	if (r->open == NULL)  /* any member of the body union */
		return STP_EINVAL;
	/*
	 * A reset's reason (and a resume refusal's) is at most REASON_MAX
	 * bytes of printable ASCII on the wire (stp.proto), whatever the
	 * caller wrote: sent from a copy.
	 */
	reason = r->body_case == STP__V1__RECORD__BODY_RESET ? r->reset->reason :
	    r->body_case == STP__V1__RECORD__BODY_RESUME ? r->resume->reason : NULL;
	if (reason != NULL && reason[0] != '\0') {
		ep_sanitize(why, sizeof(why), reason);
		rr = *r;
		if (r->body_case == STP__V1__RECORD__BODY_RESET) {
			rs = *r->reset;
			rs.reason = why;
			rr.reset = &rs;
		} else {
			rm = *r->resume;
			rm.reason = why;
			rr.resume = &rm;
		}
		r = &rr;
	}
	rc = ep_tx_message(e, FRAME_RECORD, r);
	if (rc != 0)
		return rc;
	if (r->body_case == STP__V1__RECORD__BODY_RESUME)
		e->resume_tx |= RESUME_SENT;
	else if (r->body_case == STP__V1__RECORD__BODY_RESUME_STREAMS) {
		if (r->resume_streams->last)
			e->resume_tx |= RESUME_STREAMS_DONE;
	} else if (ep_stream_layer_body(r->body_case))
		e->resume_tx |= RESUME_LATE;
	return tx_maybe_rekey(e);
}

int
endpoint_send_data(endpoint *e, uint32_t stream_id, const uint8_t *data,
    size_t len, uint64_t now_ms)
{
	endpoint_job *j;
	size_t n, t;
	int rc;

	e->now = now_ms;
	if ((rc = app_send_ok(e)) != 0)
		return rc;
	if (len > STP_MAX_DATA)
		return STP_ETOOBIG;
	e->resume_tx |= RESUME_LATE;
	n = env_data_record_len(e->tx.seq, e->now, stream_id, len);
	t = pad_target(e, FRAME_RECORD, n);
	if (t + sig_room(e) > STP_MAX_RECORD_PT)
		return STP_ETOOBIG;
	if ((j = ep_job_get(e, FRAME_HDR_LEN + t + sig_room(e) +
	    AEAD_TAG_LEN)) == NULL)
		return STP_ENOMEM;
	if ((rc = env_encode_data_record(j->rj.buf + FRAME_HDR_LEN, n,
	    e->tx.seq, e->now, stream_id, data, len)) < 0) {
		ep_job_put(e, j);
		return rc;
	}
	if (t != n)
		env_pad_fill(j->rj.buf + FRAME_HDR_LEN + n, t - n);
	if ((rc = tx_submit(e, j, FRAME_RECORD, t)) != 0)
		return rc;
	return tx_maybe_rekey(e);
}

/* The longest data-record header (all varints at their widest) for len bytes. */
static size_t
data_hdr_max(size_t len)
{
	return env_data_record_len(UINT64_MAX, UINT64_MAX, UINT32_MAX, len) - len;
}

uint8_t *
endpoint_data_reserve(endpoint *e, size_t max)
{
	endpoint_job *j;
	size_t hdr;

	if (e->resv != NULL || max == 0 || max > STP_MAX_DATA ||
	    app_send_ok(e) != 0)
		return NULL;
	hdr = data_hdr_max(max);
	/* Room for the padding too: what the shaper says for the longest record. */
	if ((j = ep_job_get(e, FRAME_HDR_LEN + pad_target(e, FRAME_RECORD,
	    hdr + max) + sig_room(e) + AEAD_TAG_LEN)) == NULL)
		return NULL;
	e->resv = j;
	e->resv_hdr = hdr;
	e->resv_max = max;
	return j->rj.buf + FRAME_HDR_LEN + hdr;
}

int
endpoint_data_commit(endpoint *e, uint32_t stream_id, size_t len,
    uint64_t now_ms)
{
	endpoint_job *j = e->resv, *nj = NULL;
	uint8_t *data;
	size_t n, shift, t;
	int rc;

	e->now = now_ms;
	if (j == NULL)
		return STP_ESTATE;
	if (len > e->resv_max)
		return STP_ETOOBIG;
	if ((rc = app_send_ok(e)) != 0)
		return rc;
	if (len == 0) {
		endpoint_data_cancel(e);
		return 0;
	}
	e->resume_tx |= RESUME_LATE;
	data = j->rj.buf + FRAME_HDR_LEN + e->resv_hdr;
	n = env_data_record_len(e->tx.seq, e->now, stream_id, len);
	/*
	 * The real header is at most resv_hdr long: start the frame later by
	 * the difference, so the header ends exactly where the data begins and
	 * the data never moves.
	 */
	shift = e->resv_hdr - (n - len);
	/*
	 * Padded beyond what the reservation holds (the shaper stepped up
	 * further than when it was made): the record moves to a job that holds
	 * it, the one copy padding may cost.  Out of memory: the reservation stays.
	 */
	t = pad_target(e, FRAME_RECORD, n);
	if (t != n && FRAME_HDR_LEN + t + sig_room(e) + AEAD_TAG_LEN >
	    j->rj.cap - shift && (nj = ep_job_get(e, FRAME_HDR_LEN + t +
	    sig_room(e) + AEAD_TAG_LEN)) == NULL)
		return STP_ENOMEM;
	/*
	 * A small record read into a whole-frame reservation moves to a job
	 * of its size (a copy of at most COPY_DOWN_MAX bytes), so the big
	 * buffer is free for the next read at once instead of waiting, cold,
	 * for the write: many streams' small requests then cost little memory.
	 * Out of memory: it simply stays where it is.
	 */
	if (nj == NULL && j->cls == POOL_CLASSES &&
	    FRAME_HDR_LEN + t + sig_room(e) + AEAD_TAG_LEN <= COPY_DOWN_MAX)
		nj = ep_job_get(e, FRAME_HDR_LEN + t + sig_room(e) + AEAD_TAG_LEN);
	j->rj.buf += shift;
	j->rj.cap -= shift;
	e->resv = NULL;
	if ((rc = env_encode_data_record(j->rj.buf + FRAME_HDR_LEN, n, e->tx.seq,
	    e->now, stream_id, data, len)) < 0) {
		j->rj.len = j->rj.cap; /* app bytes are in there: wipe them all */
		ep_job_put(e, j);
		if (nj != NULL)
			ep_job_put(e, nj);
		return rc;
	}
	if (nj != NULL) {
		memcpy(nj->rj.buf + FRAME_HDR_LEN, j->rj.buf + FRAME_HDR_LEN, n);
		/* Wipe only what was written: the record, from the shifted start. */
		j->rj.len = FRAME_HDR_LEN + n;
		ep_job_put(e, j);
		j = nj;
	}
	if (t != n)
		env_pad_fill(j->rj.buf + FRAME_HDR_LEN + n, t - n);
	if ((rc = tx_submit(e, j, FRAME_RECORD, t)) != 0)
		return rc;
	return tx_maybe_rekey(e);
}

void
endpoint_data_cancel(endpoint *e)
{
	if (e->resv != NULL) {
		/* The caller may have read app bytes into it: wipe it all. */
		e->resv->rj.len = e->resv->rj.cap;
		ep_job_put(e, e->resv);
		e->resv = NULL;
	}
}

int
endpoint_ping(endpoint *e, uint64_t now_ms)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Ping p = STP__V1__PING__INIT;

	p.id = now_ms;
	r.body_case = STP__V1__RECORD__BODY_PING;
	r.ping = &p;
	return endpoint_send(e, &r, now_ms);
}

int
endpoint_send_cover(endpoint *e, size_t size, uint64_t now_ms)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Cover c = STP__V1__COVER__INIT;
	int rc;

	e->now = now_ms;
	if ((rc = app_send_ok(e)) != 0)
		return rc;
	r.body_case = STP__V1__RECORD__BODY_COVER;
	r.cover = &c;
	e->pad_want = size < EP_PAD_MAX ? size : EP_PAD_MAX;
	rc = ep_tx_message(e, FRAME_RECORD, &r);
	e->pad_want = 0;
	if (rc != 0)
		return rc;
	e->st.cover_sent++;
	return tx_maybe_rekey(e);
}

/*
 * IdentityUpdate{pub, Sign(signer, message)}: endpoint_update_identity, and
 * (with a signer that does not hold pub, or without the feature agreed)
 * endpoint_test_update_as.
 */
static int
send_identity_update(endpoint *e, const uint8_t pub[32], const sign_key *signer,
    int agreed_only, uint64_t now_ms)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__IdentityUpdate u = STP__V1__IDENTITY_UPDATE__INIT;
	uint8_t msg[KS_IDUP_MSG_LEN], sig[SIGN_SIG_LEN];
	int rc;

	e->now = now_ms;
	if (e->dead || !e->established || e->we_closed || e->send_broken ||
	    e->err != 0 || !ep_can_send(e) || e->tx.seq >= SEQ_LAST_REGULAR)
		return STP_ESTATE;
	if (agreed_only && !(e->features & HS_FEATURE_IDENTITY_UPDATE))
		return STP_EPROTO;
	if (memcmp(pub, e->self_pub, 32) == 0)
		return 0;
	ks_identity_update_message(msg, e->sid, e->send_dir, e->self_pub, pub);
	if ((rc = sign_sign(signer, msg, sizeof(msg), sig)) != 0)
		return rc;
	u.identity.data = (uint8_t *)pub;
	u.identity.len = 32;
	u.signature.data = sig;
	u.signature.len = sizeof(sig);
	r.body_case = STP__V1__RECORD__BODY_IDENTITY_UPDATE;
	r.identity_update = &u;
	if ((rc = ep_tx_message(e, FRAME_RECORD, &r)) != 0)
		return rc;
	e->resume_tx |= RESUME_LATE;
	memcpy(e->self_pub, pub, 32);
	return tx_maybe_rekey(e);
}

int
endpoint_update_identity(endpoint *e, const sign_key *k, uint64_t now_ms)
{
	uint8_t pub[32];

	sign_key_public(k, pub);
	return send_identity_update(e, pub, k, 1, now_ms);
}

int
endpoint_test_update_as(endpoint *e, const uint8_t pub[32],
    const sign_key *signer, uint64_t now_ms)
{
	return send_identity_update(e, pub, signer, 0, now_ms);
}

int
endpoint_close(endpoint *e, uint32_t code, const char *reason, uint64_t now_ms)
{
	int rc;

	e->now = now_ms;
	if (e->dead || !e->established || e->we_closed || e->send_broken)
		return STP_ESTATE;
	rc = ep_send_close(e, code, reason);
	if (e->err == 0 && !e->peer_closed)
		ep_note(e, "closed by us (code %u)%s%s", code,
		    reason != NULL && reason[0] ? ": " : "",
		    reason != NULL ? reason : "");
	return rc;
}

int
endpoint_tick(endpoint *e, uint64_t now_ms)
{
	int rc = 0;

	e->now = now_ms;
	if (e->err != 0)
		return e->err;
	if (!ep_can_send(e))
		return 0;
	ep_flush_pong(e);
	if (e->tx.seq >= SEQ_LAST_REGULAR)
		return 0;
	if (now_ms >= e->tx.key_ms &&
	    now_ms - e->tx.key_ms >= e->cfg.rekey_interval_ms &&
	    (rc = ep_tx_key_update(e, 0)) != 0)
		return rc;
	if (e->cfg.hs.initiator && !e->rk.sent && !e->rk.have_ss &&
	    now_ms >= e->rk.last_ms &&
	    now_ms - e->rk.last_ms >= e->cfg.rekem_interval_ms)
		rc = ep_rekem_start(e);
	return rc;
}

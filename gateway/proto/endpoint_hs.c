/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpoint_hs.c: an endpoint's handshake driver (see endpoint.c): frames to
 * hs_input, pending steps to jobs or inline, the handshake's output to the
 * wire, and, when it is done, the keys into place, the peer checked against
 * the owner's map and the record-signing decision (STP.md, "Record
 * signatures").
 */
#include "endpoint_int.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

/*
 * Who signs and who verifies (STP.md "Record signatures").  We sign every
 * record we send when we committed to it or the peer asked for it, and
 * verify every record we receive when we asked for it or the peer committed:
 * both ends see both Auths, so whenever one verifies, the other signs.  A
 * responder whose peer map says sign_records for the initiator does both,
 * whatever the flags (establish() refuses an initiator that will not sign).
 */
static unsigned
signing_of(uint32_t ours, uint32_t theirs, int policy)
{
	unsigned s = 0;

	if ((ours & AUTH_FLAG_SIGN_RECORDS) || (theirs & AUTH_FLAG_WANT_SIGNED))
		s |= EP_SIGN_SEND;
	if ((ours & AUTH_FLAG_WANT_SIGNED) || (theirs & AUTH_FLAG_SIGN_RECORDS))
		s |= EP_SIGN_VERIFY;
	if (policy & EP_PEER_SIGN_RECORDS)
		s |= EP_SIGN_SEND | EP_SIGN_VERIFY;
	return s;
}

/*
 * Responder: the peer map wants this initiator's records signed, and the
 * initiator will not sign them (its AUTH did not commit to it, and ours did
 * not ask).  The record keys exist, so a Close tells the initiator why (it
 * logs it), then the session fails here too.
 */
static int
refuse_unsigned(endpoint *e)
{
	char text[9 + 2 * 32 + 1];
	const char *who = NULL;
	int i;

	if (e->cfg.peer_name != NULL)
		who = e->cfg.peer_name(e->cfg.cookie, e->peer_pub);
	if (who == NULL) {
		/* No name from the owner: the key, in hex (the owner has its text). */
		memcpy(text, "with key ", 9);
		for (i = 0; i < 32 && 9 + 2 * i + 2 < (int)sizeof(text); i++)
			snprintf(text + 9 + 2 * i, 3, "%02x", e->peer_pub[i]);
		who = text;
	}
	(void)ep_send_close(e, STP__V1__CLOSE_CODE__CLOSE_PROTOCOL,
	    "you must sign records: sign_records is set for you on this side; "
	    "set sign_records for this peer on yours too");
	return ep_fail(e, STP_EPROTO,
	    "peer %s must sign records (sign_records is set for it here) and did "
	    "not commit to it; set sign_records for this gateway on the peer's "
	    "side too", who);
}

/* hs finished: keys into place, the peer checked, EP_ESTABLISHED. */
static int
establish(endpoint *e)
{
	hs_result r;
	int rc, policy = 0;

	if ((rc = hs_result_take(e->h, &r)) != 0)
		return ep_fail(e, rc, "handshake result unavailable");
	memcpy(e->peer_pub, r.peer_pub, 32);
	e->have_peer = 1;
	hs_free(e->h);
	e->h = NULL;
	if (!e->cfg.hs.initiator) {
		policy = e->cfg.lookup != NULL ?
		    e->cfg.lookup(e->cfg.cookie, r.peer_pub) : STP_EPEER;
		if (policy < 0) {
			hs_result_wipe(&r);
			return ep_fail(e, STP_EPEER, "peer key not in the peer map");
		}
	}
	memcpy(e->sid, r.sid, KS_SID_LEN);
	memcpy(e->auth_pub, r.peer_pub, 32);
	sign_key_public(e->cfg.hs.identity, e->self_pub);
	e->features = r.peer_features & e->cfg.hs.features;
	if (e->features & HS_FEATURE_RESUME)
		memcpy(e->resume, r.resume, KS_RESUME_LEN);
	e->peer_flags = r.peer_flags;
	e->our_flags = r.our_flags;
	e->signing = signing_of(r.our_flags, r.peer_flags, policy);
	if ((e->signing & EP_SIGN_VERIFY) &&
	    (rc = sign_pub_new(&e->peer_vk, r.peer_pub)) != 0) {
		hs_result_wipe(&r);
		return ep_fail(e, rc, "the peer's key cannot check signatures: %s",
		    stp_strerror(rc));
	}
	e->send_dir = r.send_dir;
	e->recv_dir = r.recv_dir;
	memcpy(e->tx.ts, r.ts_send, KS_SECRET_LEN);
	memcpy(e->rx.ts, r.ts_recv, KS_SECRET_LEN);
	hs_result_wipe(&r);
	if ((rc = ks_record_key(&e->tx.dk, e->tx.ts)) != 0 ||
	    (rc = ks_record_key(&e->rx.dk, e->rx.ts)) != 0)
		return ep_fail(e, rc, "record key derivation failed");
	e->tx.seq = e->rx.seq = 0;
	e->tx.bytes = e->rx.bytes = 0;
	e->tx.key_ms = e->rx.key_ms = e->now;
	e->rk.last_ms = e->now;
	e->established = 1;
	e->phase = PH_ESTABLISHED;
	/* The peer signs if it committed or we asked (see signing_of). */
	if ((policy & EP_PEER_SIGN_RECORDS) &&
	    !(e->peer_flags & AUTH_FLAG_SIGN_RECORDS) &&
	    !(e->our_flags & AUTH_FLAG_WANT_SIGNED))
		return refuse_unsigned(e);
	return ep_push_event(e, EP_ESTABLISHED, NULL, 0, 0, NULL);
}

/* After hs_input or hs_work returned rc: output, failure, completion. */
int
ep_hs_after(endpoint *e, int rc)
{
	const uint8_t *p;
	size_t len;
	int orc;

	if (rc < 0) {
		const char *why = hs_reason(e->h);

		return ep_fail(e, rc, "handshake: %s",
		    why[0] ? why : stp_strerror(rc));
	}
	if ((p = hs_output(e->h, &len)) != NULL && len > 0) {
		orc = ep_out_raw(e, p, len);
		hs_output_clear(e->h);
		if (orc != 0)
			return ep_fail(e, orc, "out of memory");
	}
	if (hs_failed(e->h)) {
		/* A responder's REJECT: it is in the output; we are done. */
		const char *why = hs_reason(e->h);

		return ep_fail(e, STP_EREJECTED, "handshake: %s",
		    why[0] ? why : "refused the initiator");
	}
	if (hs_done(e->h))
		return establish(e);
	return 0;
}

/* Start the pending handshake step (inline, or as a job for the owner). */
int
ep_hs_kick(endpoint *e)
{
	endpoint_job *j;

	if (ep_run_here(e, EP_JOB_HANDSHAKE, 0, 1))
		return ep_hs_after(e, hs_work(e->h));
	if ((j = ep_job_get(e, 0)) == NULL)
		return ep_fail(e, STP_ENOMEM, "out of memory");
	j->kind = JOB_HS;
	j->clear = 1;
	j->h = e->h;
	e->hs_pending = 1;
	ep_todo_push(e, j);
	return 0;
}

int
ep_hs_frame(endpoint *e, const uint8_t *frame, size_t len)
{
	uint8_t type = frame[0];
	int rc;

	rc = hs_input(e->h, frame, len);
	if (rc < 0)
		return ep_hs_after(e, rc);
	if (e->phase == PH_WAIT_REPLY && type == FRAME_REPLY)
		e->phase = PH_WAIT_AUTH;
	if (e->phase == PH_WAIT_HELLO && rc == HS_WORK)
		e->phase = PH_WAIT_AUTH;
	if (rc == HS_WORK)
		return ep_hs_kick(e);
	return ep_hs_after(e, rc);
}


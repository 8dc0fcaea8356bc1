/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_endpoint_est.c: endpoint_input (gateway/proto/endpoint.h) on the receiver
 * of an established session.  The harness is the peer: it holds that
 * session's traffic secret (the real handshake of fuzz_prefix, replayed by
 * the endpoint from the same RNG stream), so besides raw bytes it can send
 * records that open and carry whatever plaintext the fuzzer chose: the
 * record parser, the body dispatch, key updates, the rekey exchange and
 * Close all see hostile but authenticated input.
 *
 * Input: one control byte, then the rest.
 *   bit 0: the endpoint is the initiator (else the responder)
 *   bit 1: both sides committed to record signatures
 *   bit 2: raw mode: the rest goes on the wire as it is
 *   bit 3: job mode (crypto as jobs, handed back newest first with bit 4)
 * Sealed mode: the rest is a list of [flags][len hi][len lo][len bytes]:
 *   flags bit 0: a KEY_UPDATE frame (else RECORD)
 *   flags bit 1: do not put Record.seq (= the right number) in front
 *   flags bit 2: do not sign (when signatures are on)
 *   flags bits 4-7: advance the clock by that many 40 s steps, then tick
 * Each piece is sealed as the next record under the peer's key; a
 * KEY_UPDATE whose plaintext is a plain KeyUpdate moves the peer's key on as
 * the endpoint will.
 *
 * Invariants (fuzz_ep_feed, fuzz_ep_settle): a failed endpoint stays failed
 * and refuses input; events are well formed; no second EP_ESTABLISHED; it
 * never counts more records received than were sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "err.h"
#include "frame.h"
#include "fuzz.h"
#include "keysched.h"
#include "record.h"

#define NOW_MS 1700000000000ull
#define ARENA_CAP (2 * STP_MAX_RECORD_PT)

static uint8_t pk_i[32];
static aead_ctx *actx;
static env_arena *arena;
static uint8_t *frame;

static int
lookup(void *cookie, const uint8_t pk[32])
{
	(void)cookie;
	return memcmp(pk, pk_i, 32) == 0 ? 0 : STP_EPEER;
}

/* The endpoint side of the real handshake, established, or NULL. */
static endpoint *
establish(int initiator, uint32_t flags, int jobs, int reverse,
    struct fuzz_ep_seen *seen)
{
	const struct fuzz_prefix *p = fuzz_prefix(flags);
	endpoint_config c;
	endpoint *e;
	int rc;

	memset(&c, 0, sizeof(c));
	fuzz_hs_config(&c.hs, initiator, flags);
	c.inline_crypto = !jobs;
	c.lookup = lookup;
	fuzz_rng(initiator ? FUZZ_TAG_I : FUZZ_TAG_R);
	if ((e = endpoint_new(&c, NOW_MS)) == NULL)
		return NULL;
	if (initiator) {
		rc = endpoint_start(e, NOW_MS);
		if (rc == 0)
			rc = fuzz_ep_settle(e, actx, jobs, reverse, NOW_MS, seen);
		if (rc == 0)
			rc = fuzz_ep_feed(e, actx, jobs, reverse, p->reply,
			    p->reply_len, 0, NOW_MS, seen);
	} else {
		rc = fuzz_ep_feed(e, actx, jobs, reverse, p->hello,
		    p->hello_len, 0, NOW_MS, seen);
		if (rc == 0)
			rc = fuzz_ep_feed(e, actx, jobs, reverse, p->auth_i,
			    p->auth_i_len, 0, NOW_MS, seen);
	}
	if (rc != 0 || !endpoint_established(e) || seen->established != 1) {
		endpoint_free(e);
		return NULL;
	}
	return e;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct fuzz_ep_seen seen;
	endpoint *e;
	int k;

	(void)argc;
	(void)argv;
	fuzz_pub(0, pk_i);
	if ((actx = aead_ctx_new()) == NULL ||
	    (arena = env_arena_new(ARENA_CAP)) == NULL ||
	    (frame = malloc(FRAME_HDR_LEN + FRAME_MAX_BODY)) == NULL)
		fuzz_fail(__FILE__, __LINE__, "init");
	/* Every way in must get established, or the harness tests nothing. */
	for (k = 0; k < 8; k++) {
		memset(&seen, 0, sizeof(seen));
		if ((e = establish(k & 1, (k >> 1) & 1, (k >> 2) & 1, 0,
		    &seen)) == NULL)
			fuzz_fail(__FILE__, __LINE__, "cannot establish");
		endpoint_free(e);
	}
	return 0;
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t sig_tag[3] = { 0xfa, 0x01, 0x40 };
	const struct fuzz_prefix *p;
	struct fuzz_ep_seen seen;
	ep_stats st;
	endpoint *e;
	record_job j;
	aead_dirkey dk;
	uint8_t ts[KS_SECRET_LEN], ctl;
	uint64_t now = NOW_MS, seq = 0;
	size_t off, plen, pt_len;
	int initiator, sign, raw, jobs, reverse, rc = 0;

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	initiator = ctl & 1;
	sign = (ctl >> 1) & 1;
	raw = (ctl >> 2) & 1;
	jobs = (ctl >> 3) & 1;
	reverse = (ctl >> 4) & 1;

	memset(&seen, 0, sizeof(seen));
	p = fuzz_prefix(sign ? AUTH_FLAG_SIGN_RECORDS : 0);
	if ((e = establish(initiator, sign ? AUTH_FLAG_SIGN_RECORDS : 0, jobs,
	    reverse, &seen)) == NULL)
		fuzz_fail(__FILE__, __LINE__, "cannot establish");

	if (raw) {
		(void)fuzz_ep_feed(e, actx, jobs, reverse, data, size, 0, now,
		    &seen);
		goto out;
	}

	/* We are the other side: our sending secret is the endpoint's receiving one. */
	memcpy(ts, initiator ? p->ts_r : p->ts_i, KS_SECRET_LEN);
	if (ks_record_key(&dk, ts) != 0)
		fuzz_fail(__FILE__, __LINE__, "ks_record_key");
	off = 0;
	while (off + 3 <= size && rc == 0) {
		uint8_t fl = data[off];
		int ku = fl & 1, put_seq = !((fl >> 1) & 1);
		int do_sign = sign && !((fl >> 2) & 1);
		size_t hdr = 0;

		plen = (size_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (plen > size - off)
			plen = size - off;
		if (put_seq) {
			frame[FRAME_HDR_LEN] = 0x08;
			hdr = 1 + put_varint(frame + FRAME_HDR_LEN + 1, seq);
		}
		pt_len = hdr + plen + (do_sign ? RECORD_SIG_FIELD_LEN : 0);
		if (pt_len + AEAD_TAG_LEN > FRAME_MAX_BODY)
			break;
		memcpy(frame + FRAME_HDR_LEN + hdr, data + off, plen);
		off += plen;
		if (do_sign)
			memcpy(frame + FRAME_HDR_LEN + hdr + plen, sig_tag,
			    sizeof(sig_tag));
		frame_put_header(frame, ku ? FRAME_KEY_UPDATE : FRAME_RECORD,
		    pt_len + AEAD_TAG_LEN);

		/* Will the endpoint move its key on?  Decode as it will. */
		ku = 0;
		if (frame[0] == FRAME_KEY_UPDATE) {
			Stp__V1__Record *r;

			env_arena_reset(arena);
			r = (Stp__V1__Record *)env_unpack(arena,
			    &stp__v1__record__descriptor, frame + FRAME_HDR_LEN,
			    pt_len);
			if (r != NULL && r->body_case ==
			    STP__V1__RECORD__BODY_KEY_UPDATE)
				ku = r->key_update == NULL ||
				    !r->key_update->fresh ? 1 : 2;
		}

		memset(&j, 0, sizeof(j));
		j.op = RECORD_SEAL;
		j.key = dk;
		j.seq = seq;
		j.buf = frame;
		j.len = FRAME_HDR_LEN + pt_len;
		j.cap = j.len + AEAD_TAG_LEN;
		j.signer = do_sign ? fuzz_id(initiator ? 1 : 0) : NULL;
		memcpy(j.sid, p->sid, KS_SID_LEN);
		j.dir = initiator ? 'r' : 'i';
		if (record_job_run(&j, actx) != 0)
			fuzz_fail(__FILE__, __LINE__, "seal");
		seq++;
		rc = fuzz_ep_feed(e, actx, jobs, reverse, frame, j.len, 0, now,
		    &seen);
		if (rc != 0)
			break;
		if (ku == 2)
			break;  /* a fresh key we cannot follow */
		if (ku == 1 && (ks_ratchet(ts) != 0 ||
		    ks_record_key(&dk, ts) != 0))
			fuzz_fail(__FILE__, __LINE__, "ratchet");
		if (fl >> 4) {
			now += (uint64_t)(fl >> 4) * 40000;
			rc = endpoint_tick(e, now);
			if (rc == 0)
				rc = fuzz_ep_settle(e, actx, jobs, reverse, now,
				    &seen);
			else
				FUZZ_ASSERT(rc < 0 && endpoint_finished(e));
		}
	}
	endpoint_get_stats(e, &st);
	FUZZ_ASSERT(st.records_recv <= seq);
out:
	FUZZ_ASSERT(seen.established == 1);
	if (fuzz_verbose()) {
		endpoint_get_stats(e, &st);
		fprintf(stderr, "endpoint_est: sent %llu, received %llu "
		    "records (%u stream, %u closed), key updates %llu, "
		    "finished %d: %s\n", (unsigned long long)seq,
		    (unsigned long long)st.records_recv, seen.records,
		    seen.closed, (unsigned long long)st.key_updates_recv,
		    endpoint_finished(e), endpoint_reason(e));
	}
	endpoint_free(e);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * record.c: one RECORD or KEY_UPDATE frame sealed or opened as a
 * self-contained job (proto/STP.md, "Records" and "Record signatures").
 *
 * The frame header is the AEAD's additional data, so a changed type or length
 * fails to open.  A signed record's plaintext ends with field 31: the bytes
 * 0xfa 0x01 0x40 and a 64-byte Ed25519 signature over
 * "stp1 record" || 0 || sid || dir || SHA-512(P), P being everything before
 * those 67 bytes.  The sender reserves the field when it encodes the record
 * and the job fills it in, so the signature costs no copy.
 *
 * Nothing of a record that failed leaves a job: on any error the plaintext
 * (or what would have been it) is wiped.  The direction key copy in the job is
 * wiped whatever happens.
 */
#include "record.h"

#include <string.h>

#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "err.h"

static const uint8_t sig_field_tag[3] = { 0xfa, 0x01, 0x40 };

/* The body length written in a frame header. */
static size_t
hdr_body_len(const uint8_t *hdr)
{
	return ((size_t)hdr[1] << 16) | ((size_t)hdr[2] << 8) | hdr[3];
}

static int
hdr_type_ok(uint8_t type)
{
	return type == FRAME_RECORD || type == FRAME_KEY_UPDATE;
}

int
record_sig_message(uint8_t out[RECORD_SIG_MSG_LEN],
    const uint8_t sid[KS_SID_LEN], char dir, const uint8_t *p, size_t p_len)
{
	uint8_t h[HASH_SHA512_LEN];
	int rc;

	if (dir != 'i' && dir != 'r')
		return STP_EINVAL;
	if ((rc = hash_sha512(h, p, p_len)) != 0)
		return rc;
	memcpy(out, "stp1 record", 11);
	out[11] = 0x00;
	memcpy(out + 12, sid, KS_SID_LEN);
	out[12 + KS_SID_LEN] = (uint8_t)dir;
	memcpy(out + 12 + KS_SID_LEN + 1, h, sizeof(h));
	return 0;
}

/* SEAL: sign the reserved trailing field if asked, then seal in place. */
static int
seal_in_place(record_job *j, aead_ctx *ctx)
{
	uint8_t msg[RECORD_SIG_MSG_LEN];
	uint8_t *pt;
	size_t pt_len;
	int rc;

	if (j->buf == NULL || j->len < FRAME_HDR_LEN ||
	    j->cap < j->len || j->cap - j->len < AEAD_TAG_LEN)
		return STP_EINVAL;
	pt = j->buf + FRAME_HDR_LEN;
	pt_len = j->len - FRAME_HDR_LEN;
	if (!hdr_type_ok(j->buf[0]) ||
	    hdr_body_len(j->buf) != pt_len + AEAD_TAG_LEN)
		return STP_EINVAL;

	if (j->signer != NULL) {
		if (pt_len < RECORD_SIG_FIELD_LEN ||
		    memcmp(pt + pt_len - RECORD_SIG_FIELD_LEN, sig_field_tag,
		    sizeof(sig_field_tag)) != 0)
			return STP_EINVAL;
		if ((rc = record_sig_message(msg, j->sid, j->dir, pt,
		    pt_len - RECORD_SIG_FIELD_LEN)) != 0)
			return rc;
		if ((rc = sign_sign(j->signer, msg, sizeof(msg),
		    pt + pt_len - SIGN_SIG_LEN)) != 0)
			return rc;
	}
	if ((rc = aead_dirkey_seal(ctx, &j->key, j->seq, j->buf, FRAME_HDR_LEN,
	    pt, pt_len, pt)) != 0)
		return rc;
	j->len += AEAD_TAG_LEN;
	j->pt_off = FRAME_HDR_LEN;
	j->pt_len = pt_len;
	return 0;
}

/* OPEN: open in place, then check the trailing signature if asked. */
static int
open_in_place(record_job *j, aead_ctx *ctx)
{
	uint8_t msg[RECORD_SIG_MSG_LEN];
	uint8_t *pt;
	size_t pt_len;
	int rc;

	if (j->buf == NULL || j->len < FRAME_HDR_LEN + AEAD_TAG_LEN ||
	    j->cap < j->len)
		return STP_EINVAL;
	if (!hdr_type_ok(j->buf[0]) ||
	    hdr_body_len(j->buf) != j->len - FRAME_HDR_LEN)
		return STP_EINVAL;
	pt = j->buf + FRAME_HDR_LEN;
	pt_len = j->len - FRAME_HDR_LEN - AEAD_TAG_LEN;
	if ((rc = aead_dirkey_open(ctx, &j->key, j->seq, j->buf, FRAME_HDR_LEN,
	    pt, pt_len + AEAD_TAG_LEN, pt)) != 0)
		return rc;

	if (j->verifier != NULL) {
		if (pt_len < RECORD_SIG_FIELD_LEN ||
		    memcmp(pt + pt_len - RECORD_SIG_FIELD_LEN, sig_field_tag,
		    sizeof(sig_field_tag)) != 0)
			return STP_EVERIFY;
		if ((rc = record_sig_message(msg, j->sid, j->dir, pt,
		    pt_len - RECORD_SIG_FIELD_LEN)) != 0)
			return rc;
		/* A bad signature and a failure to check one: the same answer. */
		if (sign_pub_verify(j->verifier, msg, sizeof(msg),
		    pt + pt_len - SIGN_SIG_LEN, SIGN_SIG_LEN) != 0)
			return STP_EVERIFY;
	}
	j->pt_off = FRAME_HDR_LEN;
	j->pt_len = pt_len;
	return 0;
}

int
record_job_run(record_job *j, aead_ctx *ctx)
{
	int rc;

	if (j->op == RECORD_SEAL)
		rc = seal_in_place(j, ctx);
	else if (j->op == RECORD_OPEN)
		rc = open_in_place(j, ctx);
	else
		rc = STP_EINVAL;
	if (rc != 0) {
		/* Whatever the buffer held past the header is gone. */
		if (j->buf != NULL && j->len > FRAME_HDR_LEN && j->cap >= j->len)
			crypto_wipe(j->buf + FRAME_HDR_LEN,
			    j->len - FRAME_HDR_LEN);
		j->pt_off = 0;
		j->pt_len = 0;
	}
	aead_dirkey_wipe(&j->key);
	j->result = rc;
	return rc;
}

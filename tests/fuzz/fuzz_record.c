/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_record.c: record_job_run OPEN (gateway/proto/record.h) on hostile frames.
 *
 * Input: one control byte, then the rest R.
 *   bit 1 clear (raw): R is a whole received frame, opened as it is.
 *   bit 1 set (sealed): R is a plaintext; the harness seals it (RECORD, or
 *     KEY_UPDATE with bit 3; signed with bit 2, the signature field appended
 *     by the harness) at sequence 0, direction 'i', then opens it.
 *   bit 0: open with a record signature check (verify_pk)
 *   bit 4: open as direction 'r' instead of 'i'
 *   bits 5-7: the sequence number the open expects (0..7)
 *
 * Invariants: a failed open leaves pt_off = pt_len = 0 and every byte after
 * the header zero (no plaintext escapes); a successful open points inside
 * the frame.  Sealed mode knows the answer: the open succeeds exactly when
 * the sequence matches and, if verifying, the record was signed for this
 * direction, and then gives back the plaintext that was sealed.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "err.h"
#include "frame.h"
#include "fuzz.h"
#include "keysched.h"
#include "record.h"

static aead_ctx *actx;
static aead_dirkey dkey;
static uint8_t sid[KS_SID_LEN];
static uint8_t pub_i[32];
static sign_pub *vk_i;           /* pub_i, to check record signatures */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t ts[KS_SECRET_LEN];

	(void)argc;
	(void)argv;
	memset(ts, 0x74, sizeof(ts));
	memset(sid, 0x53, sizeof(sid));
	if ((actx = aead_ctx_new()) == NULL || ks_record_key(&dkey, ts) != 0)
		fuzz_fail(__FILE__, __LINE__, "init");
	fuzz_pub(0, pub_i);
	if (sign_pub_new(&vk_i, pub_i) != 0)
		fuzz_fail(__FILE__, __LINE__, "init");
	return 0;
}

static void
check_failed(const record_job *j, const uint8_t *buf, size_t len)
{
	size_t i;

	FUZZ_ASSERT(j->result < 0);
	FUZZ_ASSERT(j->pt_off == 0 && j->pt_len == 0);
	for (i = FRAME_HDR_LEN; i < len; i++)
		FUZZ_ASSERT(buf[i] == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t sig_tag[3] = { 0xfa, 0x01, 0x40 };
	record_job j;
	uint8_t ctl, *buf, *orig = NULL;
	size_t len, cap, pt_len;
	int rc, verify, sealed, sign, ku, dir_r, seq;

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	verify = ctl & 1;
	sealed = (ctl >> 1) & 1;
	sign = (ctl >> 2) & 1;
	ku = (ctl >> 3) & 1;
	dir_r = (ctl >> 4) & 1;
	seq = ctl >> 5;

	memset(&j, 0, sizeof(j));
	if (!sealed) {
		len = size;
		cap = len;
		if ((buf = malloc(cap ? cap : 1)) == NULL)
			return 0;
		memcpy(buf, data, len);
	} else {
		pt_len = size + (sign ? RECORD_SIG_FIELD_LEN : 0);
		if (pt_len > STP_MAX_RECORD_PT)
			return 0;
		len = FRAME_HDR_LEN + pt_len;
		cap = len + AEAD_TAG_LEN;
		if ((buf = malloc(cap)) == NULL || (orig = malloc(pt_len + 1)) == NULL) {
			free(buf);
			return 0;
		}
		frame_put_header(buf, ku ? FRAME_KEY_UPDATE : FRAME_RECORD,
		    pt_len + AEAD_TAG_LEN);
		memcpy(buf + FRAME_HDR_LEN, data, size);
		if (sign) {
			memcpy(buf + FRAME_HDR_LEN + size, sig_tag, sizeof(sig_tag));
			memset(buf + FRAME_HDR_LEN + size + sizeof(sig_tag), 0,
			    SIGN_SIG_LEN);
		}
		j.op = RECORD_SEAL;
		j.key = dkey;
		j.seq = 0;
		j.buf = buf;
		j.len = len;
		j.cap = cap;
		j.signer = sign ? fuzz_id(0) : NULL;
		memcpy(j.sid, sid, sizeof(sid));
		j.dir = 'i';
		rc = record_job_run(&j, actx);
		FUZZ_ASSERT(rc == 0);
		FUZZ_ASSERT(j.len == cap);
		/* What the open must give back: the plaintext, signature included. */
		{
			record_job o;

			memset(&o, 0, sizeof(o));
			o.op = RECORD_OPEN;
			o.key = dkey;
			o.buf = malloc(cap);
			if (o.buf == NULL) {
				free(buf);
				free(orig);
				return 0;
			}
			memcpy(o.buf, buf, cap);
			o.len = o.cap = cap;
			rc = record_job_run(&o, actx);
			FUZZ_ASSERT(rc == 0);
			FUZZ_ASSERT(o.pt_off == FRAME_HDR_LEN && o.pt_len == pt_len);
			memcpy(orig, o.buf + FRAME_HDR_LEN, pt_len);
			FUZZ_ASSERT(memcmp(orig, data, size) == 0);
			free(o.buf);
		}
		len = cap;
		memset(&j, 0, sizeof(j));
	}

	j.op = RECORD_OPEN;
	j.key = dkey;
	j.seq = (uint64_t)seq;
	j.buf = buf;
	j.len = len;
	j.cap = cap;
	j.verifier = verify ? vk_i : NULL;
	memcpy(j.sid, sid, sizeof(sid));
	j.dir = dir_r ? 'r' : 'i';
	rc = record_job_run(&j, actx);
	FUZZ_ASSERT(rc == j.result);
	if (rc != 0) {
		check_failed(&j, buf, len);
	} else {
		FUZZ_ASSERT(j.pt_off == FRAME_HDR_LEN);
		FUZZ_ASSERT(len >= FRAME_HDR_LEN + AEAD_TAG_LEN);
		FUZZ_ASSERT(j.pt_len == len - FRAME_HDR_LEN - AEAD_TAG_LEN);
		FUZZ_ASSERT(!verify || j.pt_len >= RECORD_SIG_FIELD_LEN);
	}
	if (sealed) {
		int want_ok = seq == 0 && (!verify || (sign && !dir_r));

		FUZZ_ASSERT((rc == 0) == want_ok);
		if (rc == 0)
			FUZZ_ASSERT(memcmp(buf + FRAME_HDR_LEN, orig,
			    j.pt_len) == 0);
		else if (seq != 0)
			FUZZ_ASSERT(rc == STP_EAUTH);
		else
			FUZZ_ASSERT(rc == STP_EVERIFY);
	}
	free(buf);
	free(orig);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_record.c: record jobs (gateway/proto/record.c): sealing and opening RECORD
 * and KEY_UPDATE frames, the sequence number in the nonce, the header as
 * additional data, and record signatures.
 *
 * The sealed bytes are checked against a one-shot XChaCha20-Poly1305 with
 * the nonce prefix || be64(seq) built here, and the signature message against
 * the FIPS 180-2 SHA-512("abc") digest, so the construction is checked and
 * not only its round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "crypto/sign.h"
#include "err.h"
#include "frame.h"
#include "record.h"
#include "testlib.h"

static const uint8_t key_raw[32] = {
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a,
	0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
	0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
};
static const uint8_t prefix[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a,
	0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
};
static const uint8_t sid[KS_SID_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};

static aead_ctx *ctx;
static aead_dirkey dk;       /* HChaCha20(key_raw, prefix) */
static aead_dirkey dk_other; /* another direction's key */
static sign_key *alice, *mallory;
static uint8_t alice_pub[32];
static sign_pub *alice_vk;       /* alice_pub, to check record signatures */

static int
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* A plaintext of n bytes (a recognisable pattern, never all zero). */
static void
fill_pt(uint8_t *p, size_t n, unsigned salt)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(0x11 + i * 7 + salt);
}

/*
 * A SEAL job over buf: header of `type` whose length counts the tag, then
 * pt_len bytes of plaintext already in buf + 4.
 */
static void
seal_job(record_job *j, uint8_t *buf, size_t cap, uint8_t type, size_t pt_len,
    uint64_t seq, const sign_key *signer, char dir)
{
	memset(j, 0, sizeof(*j));
	frame_put_header(buf, type, pt_len + AEAD_TAG_LEN);
	j->op = RECORD_SEAL;
	j->key = dk;
	j->seq = seq;
	j->buf = buf;
	j->len = FRAME_HDR_LEN + pt_len;
	j->cap = cap;
	j->signer = signer;
	memcpy(j->sid, sid, KS_SID_LEN);
	j->dir = dir;
}

static void
open_job(record_job *j, uint8_t *buf, size_t len, size_t cap, uint64_t seq,
    const aead_dirkey *k, const sign_pub *verifier, char dir)
{
	memset(j, 0, sizeof(*j));
	j->op = RECORD_OPEN;
	j->key = *k;
	j->seq = seq;
	j->buf = buf;
	j->len = len;
	j->cap = cap;
	j->verifier = verifier;
	memcpy(j->sid, sid, KS_SID_LEN);
	j->dir = dir;
}

static void
test_sig_message(void)
{
	/* FIPS 180-2 appendix C.1: SHA-512("abc"). */
	static const char abc512[] =
	    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
	uint8_t msg[RECORD_SIG_MSG_LEN], want[RECORD_SIG_MSG_LEN], *h;
	size_t hlen;

	t_set_ctx("record_sig_message");
	T_INT(RECORD_SIG_MSG_LEN, 93);
	h = t_unhex(abc512, &hlen);
	memcpy(want, "stp1 record", 11);
	want[11] = 0;
	memcpy(want + 12, sid, 16);
	want[28] = 'r';
	memcpy(want + 29, h, 64);
	free(h);
	T_INT(record_sig_message(msg, sid, 'r', (const uint8_t *)"abc", 3), 0);
	T_MEM(msg, sizeof(msg), want, sizeof(want));
	T_INT(record_sig_message(msg, sid, 'i', (const uint8_t *)"abc", 3), 0);
	T_INT(msg[28], 'i');
	T_INT(record_sig_message(msg, sid, 'x', (const uint8_t *)"abc", 3),
	    STP_EINVAL);
}

/* Round trips of several sizes, checked against a one-shot XChaCha20-Poly1305. */
static void
test_roundtrip(void)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 255, 4096,
	    STP_MAX_RECORD_PT };
	static const uint64_t seqs[] = { 0, 1, 0x0102030405060708ull,
	    UINT64_MAX - 1 };
	size_t cap = RECORD_FRAME_MAX, si, n;
	uint8_t *buf = malloc(cap), *pt = malloc(cap), *ref = malloc(cap);
	uint8_t nonce[24];
	record_job j;
	int q, rc, k;

	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		for (q = 0; q < 4; q++) {
			uint8_t type = (q & 1) ? FRAME_KEY_UPDATE : FRAME_RECORD;

			n = sizes[si];
			if (type == FRAME_KEY_UPDATE &&
			    n + AEAD_TAG_LEN > FRAME_MAX_KEY_UPDATE)
				continue;
			t_set_ctx("roundtrip %zu bytes seq %llu type %u", n,
			    (unsigned long long)seqs[q], type);
			fill_pt(pt, n, (unsigned)q);
			memcpy(buf + FRAME_HDR_LEN, pt, n);
			seal_job(&j, buf, cap, type, n, seqs[q], NULL, 'i');
			rc = record_job_run(&j, ctx);
			T_INT(rc, 0);
			T_INT(j.result, 0);
			T_INT((long long)j.len, (long long)(FRAME_HDR_LEN + n + 16));
			T_OK(all_zero((const uint8_t *)&j.key, sizeof(j.key)));

			/* The same bytes from the one-shot construction. */
			memcpy(nonce, prefix, 16);
			for (k = 0; k < 8; k++)
				nonce[16 + k] = (uint8_t)(seqs[q] >> (56 - 8 * k));
			T_INT(aead_xchacha_seal(ctx, key_raw, nonce, 24, buf,
			    FRAME_HDR_LEN, pt, n, ref), 0);
			T_MEM(buf + FRAME_HDR_LEN, n + 16, ref, n + 16);

			open_job(&j, buf, FRAME_HDR_LEN + n + 16, cap, seqs[q],
			    &dk, NULL, 'i');
			rc = record_job_run(&j, ctx);
			T_INT(rc, 0);
			T_INT((long long)j.pt_off, FRAME_HDR_LEN);
			T_INT((long long)j.pt_len, (long long)n);
			T_MEM(buf + j.pt_off, j.pt_len, pt, n);
			T_OK(all_zero((const uint8_t *)&j.key, sizeof(j.key)));
		}
	}
	free(buf);
	free(pt);
	free(ref);
}

/* Seal a 64-byte-plaintext RECORD at seq into buf; returns the frame length. */
static size_t
make_frame(uint8_t *buf, size_t cap, uint64_t seq, size_t n)
{
	record_job j;

	fill_pt(buf + FRAME_HDR_LEN, n, 3);
	seal_job(&j, buf, cap, FRAME_RECORD, n, seq, NULL, 'r');
	if (record_job_run(&j, ctx) != 0)
		return 0;
	return j.len;
}

/* Expect an OPEN to fail and leave nothing of the plaintext behind. */
static void
expect_open_fails(uint8_t *buf, size_t len, size_t cap, uint64_t seq,
    const aead_dirkey *k, const sign_pub *verifier, char dir, int want)
{
	record_job j;
	int rc;

	open_job(&j, buf, len, cap, seq, k, verifier, dir);
	rc = record_job_run(&j, ctx);
	T_INT(rc, want);
	T_INT(j.result, want);
	T_INT((long long)j.pt_len, 0);
	if (len > FRAME_HDR_LEN)
		T_OK(all_zero(buf + FRAME_HDR_LEN, len - FRAME_HDR_LEN));
	T_OK(all_zero((const uint8_t *)&j.key, sizeof(j.key)));
}

static void
test_tamper(void)
{
	uint8_t good[512], buf[512];
	size_t len, i;
	unsigned bit, failed = 0, cases = 0;
	record_job j;
	int rc;

	len = make_frame(good, sizeof(good), 17, 300);
	T_INT((long long)len, 4 + 300 + 16);

	/* Every byte, one bit at a time for the header, 0x01 for the rest. */
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < (i < FRAME_HDR_LEN ? 8u : 1u); bit++) {
			t_set_ctx("tamper byte %zu bit %u", i, bit);
			memcpy(buf, good, len);
			buf[i] ^= (uint8_t)(1u << bit);
			open_job(&j, buf, len, sizeof(buf), 17, &dk, NULL, 'r');
			rc = record_job_run(&j, ctx);
			cases++;
			if (rc == 0 || j.pt_len != 0 ||
			    !all_zero(buf + FRAME_HDR_LEN, len - FRAME_HDR_LEN)) {
				failed++;
				T_OK(!"tampered frame opened or left plaintext");
			}
		}
	}
	t_set_ctx("tamper");
	T_INT(cases, (len - FRAME_HDR_LEN) + FRAME_HDR_LEN * 8);
	T_INT(failed, 0);

	/* Untouched, it still opens. */
	memcpy(buf, good, len);
	open_job(&j, buf, len, sizeof(buf), 17, &dk, NULL, 'r');
	T_INT(record_job_run(&j, ctx), 0);

	/* Tag-only errors are STP_EAUTH; a header that lies is STP_EINVAL. */
	t_set_ctx("tamper: last tag byte");
	memcpy(buf, good, len);
	buf[len - 1] ^= 0x80;
	expect_open_fails(buf, len, sizeof(buf), 17, &dk, NULL, 'r', STP_EAUTH);
	t_set_ctx("tamper: type RECORD -> KEY_UPDATE");
	memcpy(buf, good, len);
	buf[0] = FRAME_KEY_UPDATE;
	expect_open_fails(buf, len, sizeof(buf), 17, &dk, NULL, 'r', STP_EAUTH);
	t_set_ctx("tamper: unknown type");
	memcpy(buf, good, len);
	buf[0] = FRAME_AUTH;
	expect_open_fails(buf, len, sizeof(buf), 17, &dk, NULL, 'r', STP_EINVAL);
	t_set_ctx("truncated by one byte, header fixed");
	memcpy(buf, good, len);
	frame_put_header(buf, FRAME_RECORD, len - FRAME_HDR_LEN - 1);
	expect_open_fails(buf, len - 1, sizeof(buf), 17, &dk, NULL, 'r',
	    STP_EAUTH);
	t_set_ctx("truncated, header not fixed");
	memcpy(buf, good, len);
	expect_open_fails(buf, len - 1, sizeof(buf), 17, &dk, NULL, 'r',
	    STP_EINVAL);
	t_set_ctx("shorter than a tag");
	frame_put_header(buf, FRAME_RECORD, 15);
	expect_open_fails(buf, 19, sizeof(buf), 17, &dk, NULL, 'r', STP_EINVAL);
}

static void
test_wrong_seq_key(void)
{
	static const uint64_t wrong[] = { 16, 18, 0, UINT64_MAX,
	    17ull | (1ull << 32) };
	uint8_t good[256], buf[256];
	size_t len, i;

	len = make_frame(good, sizeof(good), 17, 64);
	for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		t_set_ctx("open record 17 as %llu", (unsigned long long)wrong[i]);
		memcpy(buf, good, len);
		expect_open_fails(buf, len, sizeof(buf), wrong[i], &dk, NULL,
		    'r', STP_EAUTH);
	}
	t_set_ctx("other direction's key");
	memcpy(buf, good, len);
	expect_open_fails(buf, len, sizeof(buf), 17, &dk_other, NULL, 'r',
	    STP_EAUTH);
	t_set_ctx("right seq and key");
	memcpy(buf, good, len);
	{
		record_job j;

		open_job(&j, buf, len, sizeof(buf), 17, &dk, NULL, 'r');
		T_INT(record_job_run(&j, ctx), 0);
	}
}

/* A plaintext of n bytes followed by the reserved signature field. */
static size_t
put_signed_pt(uint8_t *pt, size_t n)
{
	fill_pt(pt, n, 9);
	pt[n] = 0xfa;
	pt[n + 1] = 0x01;
	pt[n + 2] = 0x40;
	memset(pt + n + 3, 0, 64);
	return n + RECORD_SIG_FIELD_LEN;
}

static void
test_signatures(void)
{
	uint8_t buf[1024], copy[1024], msg[RECORD_SIG_MSG_LEN], bad[64];
	size_t n = 200, pt_len, len;
	record_job j;
	int rc;

	/* Signed, and the signature is the one STP.md defines. */
	t_set_ctx("signed round trip");
	pt_len = put_signed_pt(buf + FRAME_HDR_LEN, n);
	seal_job(&j, buf, sizeof(buf), FRAME_RECORD, pt_len, 5, alice, 'i');
	T_INT(record_job_run(&j, ctx), 0);
	len = j.len;
	memcpy(copy, buf, len);
	open_job(&j, buf, len, sizeof(buf), 5, &dk, alice_vk, 'i');
	T_INT(record_job_run(&j, ctx), 0);
	T_INT((long long)j.pt_len, (long long)pt_len);
	T_INT(record_sig_message(msg, sid, 'i', buf + FRAME_HDR_LEN, n), 0);
	T_INT(sign_verify(alice_pub, msg, sizeof(msg),
	    buf + FRAME_HDR_LEN + pt_len - 64, 64), 0);
	{
		uint8_t want[256];

		fill_pt(want, n, 9);
		T_MEM(buf + FRAME_HDR_LEN, n, want, n);
	}

	/* The receiver's idea of sid or direction differs: no. */
	t_set_ctx("signed, receiver expects direction r");
	memcpy(buf, copy, len);
	expect_open_fails(buf, len, sizeof(buf), 5, &dk, alice_vk, 'r',
	    STP_EVERIFY);
	t_set_ctx("signed, verified under another key");
	{
		uint8_t mpub[32];
		sign_pub *mvk = NULL;

		sign_key_public(mallory, mpub);
		memcpy(buf, copy, len);
		if (T_INT(sign_pub_new(&mvk, mpub), 0))
			expect_open_fails(buf, len, sizeof(buf), 5, &dk, mvk, 'i',
			    STP_EVERIFY);
		sign_pub_free(mvk);
	}
	t_set_ctx("signed by another key");
	pt_len = put_signed_pt(buf + FRAME_HDR_LEN, n);
	seal_job(&j, buf, sizeof(buf), FRAME_RECORD, pt_len, 5, mallory, 'i');
	T_INT(record_job_run(&j, ctx), 0);
	expect_open_fails(buf, j.len, sizeof(buf), 5, &dk, alice_vk, 'i',
	    STP_EVERIFY);

	/* No signature field at all. */
	t_set_ctx("signature missing");
	fill_pt(buf + FRAME_HDR_LEN, n, 9);
	seal_job(&j, buf, sizeof(buf), FRAME_RECORD, n, 6, NULL, 'i');
	T_INT(record_job_run(&j, ctx), 0);
	expect_open_fails(buf, j.len, sizeof(buf), 6, &dk, alice_vk, 'i',
	    STP_EVERIFY);
	t_set_ctx("signature missing, plaintext shorter than the field");
	fill_pt(buf + FRAME_HDR_LEN, 10, 9);
	seal_job(&j, buf, sizeof(buf), FRAME_RECORD, 10, 6, NULL, 'i');
	T_INT(record_job_run(&j, ctx), 0);
	expect_open_fails(buf, j.len, sizeof(buf), 6, &dk, alice_vk, 'i',
	    STP_EVERIFY);

	/* The field is there but never filled in (zeros). */
	t_set_ctx("signature all zero");
	pt_len = put_signed_pt(buf + FRAME_HDR_LEN, n);
	seal_job(&j, buf, sizeof(buf), FRAME_RECORD, pt_len, 7, NULL, 'i');
	T_INT(record_job_run(&j, ctx), 0);
	expect_open_fails(buf, j.len, sizeof(buf), 7, &dk, alice_vk, 'i',
	    STP_EVERIFY);

	/* A real signature by alice, but over another plaintext. */
	t_set_ctx("signature over another plaintext");
	pt_len = put_signed_pt(buf + FRAME_HDR_LEN, n);
	T_INT(record_sig_message(msg, sid, 'i', buf + FRAME_HDR_LEN, n - 1), 0);
	T_INT(sign_sign(alice, msg, sizeof(msg), bad), 0);
	memcpy(buf + FRAME_HDR_LEN + pt_len - 64, bad, 64);
	seal_job(&j, buf, sizeof(buf), FRAME_RECORD, pt_len, 8, NULL, 'i');
	T_INT(record_job_run(&j, ctx), 0);
	expect_open_fails(buf, j.len, sizeof(buf), 8, &dk, alice_vk, 'i',
	    STP_EVERIFY);

	/* The field tag is wrong (field 31 must be 0xfa 0x01 0x40). */
	t_set_ctx("signature field tag wrong");
	pt_len = put_signed_pt(buf + FRAME_HDR_LEN, n);
	buf[FRAME_HDR_LEN + n + 2] = 0x41;
	seal_job(&j, buf, sizeof(buf), FRAME_RECORD, pt_len, 9, NULL, 'i');
	T_INT(record_job_run(&j, ctx), 0);
	expect_open_fails(buf, j.len, sizeof(buf), 9, &dk, alice_vk, 'i',
	    STP_EVERIFY);

	/* SEAL with a signer refuses a plaintext without the reserved field. */
	t_set_ctx("seal signed without the field");
	fill_pt(buf + FRAME_HDR_LEN, n, 9);
	seal_job(&j, buf, sizeof(buf), FRAME_RECORD, n, 10, alice, 'i');
	rc = record_job_run(&j, ctx);
	T_INT(rc, STP_EINVAL);
	T_OK(all_zero(buf + FRAME_HDR_LEN, n));
	T_OK(all_zero((const uint8_t *)&j.key, sizeof(j.key)));
}

static void
test_seal_refusals(void)
{
	uint8_t buf[256];
	record_job j;

	t_set_ctx("seal: header length does not count the tag");
	fill_pt(buf + FRAME_HDR_LEN, 50, 1);
	seal_job(&j, buf, sizeof(buf), FRAME_RECORD, 50, 1, NULL, 'i');
	frame_put_header(buf, FRAME_RECORD, 50);
	T_INT(record_job_run(&j, ctx), STP_EINVAL);
	T_OK(all_zero(buf + FRAME_HDR_LEN, 50));

	t_set_ctx("seal: no room for the tag");
	fill_pt(buf + FRAME_HDR_LEN, 50, 1);
	seal_job(&j, buf, FRAME_HDR_LEN + 50 + 15, FRAME_RECORD, 50, 1, NULL,
	    'i');
	T_INT(record_job_run(&j, ctx), STP_EINVAL);
	T_OK(all_zero(buf + FRAME_HDR_LEN, 50));

	t_set_ctx("seal: not a record frame type");
	fill_pt(buf + FRAME_HDR_LEN, 50, 1);
	seal_job(&j, buf, sizeof(buf), FRAME_AUTH, 50, 1, NULL, 'i');
	T_INT(record_job_run(&j, ctx), STP_EINVAL);

	t_set_ctx("bad op");
	memset(&j, 0, sizeof(j));
	j.op = 0;
	j.key = dk;
	T_INT(record_job_run(&j, ctx), STP_EINVAL);
	T_OK(all_zero((const uint8_t *)&j.key, sizeof(j.key)));
}

int
main(void)
{
	static const uint8_t seed[] = "test_record";
	uint8_t s[32], other[32];

	rand_test_seed(seed, sizeof(seed) - 1);
	ctx = aead_ctx_new();
	aead_dirkey_init(&dk, key_raw, prefix);
	memcpy(other, prefix, 16);
	other[0] ^= 1;
	aead_dirkey_init(&dk_other, key_raw, other);
	memset(s, 0x5a, sizeof(s));
	if (ctx == NULL || sign_key_from_seed(&alice, s) != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	memset(s, 0xa5, sizeof(s));
	if (sign_key_from_seed(&mallory, s) != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	sign_key_public(alice, alice_pub);
	if (sign_pub_new(&alice_vk, alice_pub) != 0)
		return 2;

	test_sig_message();
	t_section("signature message");
	test_roundtrip();
	t_section("seal/open round trip");
	test_tamper();
	t_section("tampering");
	test_wrong_seq_key();
	t_section("wrong sequence number or key");
	test_signatures();
	t_section("record signatures");
	test_seal_refusals();
	t_section("seal refusals");

	sign_key_free(alice);
	sign_key_free(mallory);
	aead_ctx_free(ctx);
	sign_pub_free(alice_vk);
	return t_done();
}

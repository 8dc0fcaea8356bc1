/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vectors_stp.c: the STP v1.1 transcript vectors (proto/STP.md, "Test
 * vectors"), in tests/protocol/stp_v1_1_transcript.txt.
 *
 * Usage: test_vectors_stp <path to stp_v1_1_transcript.txt> [--write]
 *
 * The run, fixed so that anyone can repeat it:
 *   - rand_test_seed("stp1 test vector") (16 ASCII bytes, no terminator):
 *     from then on every random byte is SHAKE-256("stpgate test rng v1" ||
 *     "stp1 test vector"), read in order.  The handshake draws, in this
 *     order: I's X25519 secret (32), I's ML-KEM d (32) and z (32), I's
 *     Hello.nonce (32); then R's X25519 secret (32), ML-KEM encaps m (32),
 *     Reply.nonce (32).  Nothing else draws.
 *   - I's identity seed is 32 bytes of 0x01, R's 32 bytes of 0x02.  I's
 *     Auth flags are 0; R's are AUTH_FLAG_SIGN_RECORDS, so R's records carry
 *     signatures (Ed25519 is deterministic: they are vectors too).
 *   - The clock reads 1700000000000 ms; both sides' Unix clock reads
 *     1700000000 s (Hello.time).  After the handshake I sends
 *     StreamData{1, "stp1 vector: I->R record 0"} and {1, "... record 1"},
 *     R sends {2, "stp1 vector: R->I record 0"} and {2, "... record 1"}; the
 *     clock moves on by the default rekey interval (600000 ms) and each side
 *     ticks, which sends a KEY_UPDATE (seq 2, under generation 0), then
 *     each sends {.., "... record 3"} (seq 3, under generation 1).
 *     payload_x_N is that StreamData.data (the ASCII string, no
 *     terminator) of record N of direction x, so the *_pt values can be
 *     checked without reading this file.
 *   - No owner sits on top of these endpoints, so R sends no first Ping
 *     (the gateway's session layer does that, reactor/session.c adopt()):
 *     R's record 0 here is its first data record.  R's first Ping,
 *     padding, a CHALLENGE round and a fresh exchange are in
 *     stp_v1_1_more.txt (test_vectors_stp_more.c), in runs of their own so
 *     that nothing here changes.
 *
 * The handshake runs twice: through hs_* directly (for the traffic secrets,
 * which no endpoint exposes) and through two endpoints (for the records);
 * both must put the same handshake frames on the wire.
 *
 * Then everything is recomputed from proto/STP.md, independently of
 * handshake.c and keysched.c: the ephemeral keys from the RNG stream (they
 * must give the ephemeral public keys and ciphertext in the frames), ss_x
 * and ss_m, mac1, TH2, hs = HMAC-SHA512(TH2, ss_m || ss_x), every Derive()
 * with HKDF-Expand written out here over HMAC-SHA512, both AUTH frames
 * opened with aead_xchacha_open (nonce = prefix || be64(0), the header as
 * additional data), their signatures and Finished MACs, TH3, TH4, app, sid,
 * ts_i/ts_r (which must equal what hs_result gave), the record keys of
 * generations 0 and 1, and every record frame opened with
 * aead_xchacha_open under nonce = prefix || be64(seq), its Record parsed
 * and, for R, its record signature verified.
 *
 * Finally every value is compared with the file, byte for byte; a name
 * missing on either side is a failure.  When the spec changes, run with
 * --write to rewrite the file, and review the diff.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/mlkem768.h"
#include "crypto/rand.h"
#include "crypto/sign.h"
#include "crypto/x25519.h"
#include "endpoint.h"
#include "err.h"
#include "frame.h"
#include "handshake.h"
#include "keysched.h"
#include "record.h"
#include "stp.pb-c.h"
#include "testlib.h"
#include "vectors_common.h"

#define REKEY_MS EP_DEFAULT_REKEY_INTERVAL_MS
#define N_VALUES 72   /* names in the file */

/* ---- the runs ---- */

/* hs_* directly: I's frames in ir (HELLO, AUTH_I), R's in ri (REPLY, AUTH_R). */
static int
run_hs(struct frames *ir, struct frames *ri, hs_result *res_i, hs_result *res_r)
{
	hs_config ci = { 0 }, cr = { 0 };
	const uint8_t *p;
	size_t n;
	hs *i = NULL, *r = NULL;
	int ok = 0;

	memset(ir, 0, sizeof(*ir));
	memset(ri, 0, sizeof(*ri));
	rand_test_seed(RNG_SEED, strlen(RNG_SEED));
	ci.initiator = 1;
	ci.identity = id_i;
	memcpy(ci.peer_pub, pk_r, 32);
	ci.flags = flags_i;
	ci.unix_now = vec_clock;
	cr.identity = id_r;
	cr.flags = flags_r;
	cr.unix_now = vec_clock;
	if (!T_OK((i = hs_new(&ci)) != NULL && (r = hs_new(&cr)) != NULL))
		goto out;
	if (!T_INT(hs_start(i), HS_WORK) || !T_INT(hs_work(i), 0))
		goto out;
	p = hs_output(i, &n);
	split(ir, p, n);
	hs_output_clear(i);
	if (!T_INT(ir->n, 1) ||
	    !T_INT(hs_input(r, ir->f[0], ir->len[0]), HS_WORK) || !T_INT(hs_work(r), 0))
		goto out;
	p = hs_output(r, &n);
	split(ri, p, n);
	hs_output_clear(r);
	if (!T_INT(ri->n, 2) ||
	    !T_INT(hs_input(i, ri->f[0], ri->len[0]), HS_WORK) || !T_INT(hs_work(i), 0) ||
	    !T_INT(hs_input(i, ri->f[1], ri->len[1]), HS_WORK) || !T_INT(hs_work(i), 0))
		goto out;
	p = hs_output(i, &n);
	split(ir, p, n);
	hs_output_clear(i);
	if (!T_INT(ir->n, 2) ||
	    !T_INT(hs_input(r, ir->f[1], ir->len[1]), HS_WORK) || !T_INT(hs_work(r), 0))
		goto out;
	if (!T_OK(hs_done(i) && hs_done(r)) ||
	    !T_INT(hs_result_take(i, res_i), 0) || !T_INT(hs_result_take(r, res_r), 0))
		goto out;
	ok = 1;
out:
	rand_test_seed(NULL, 0);
	hs_free(i);
	hs_free(r);
	return ok ? 0 : -1;
}

static const char *const payload[2][4] = {
	{ "stp1 vector: I->R record 0", "stp1 vector: I->R record 1", NULL,
	    "stp1 vector: I->R record 3" },
	{ "stp1 vector: R->I record 0", "stp1 vector: R->I record 1", NULL,
	    "stp1 vector: R->I record 3" },
};

/* Endpoints: the handshake, then records 0, 1, a key update, record 3 each way. */
static int
run_ep(struct wire log[2])
{
	endpoint_config ci, cr;
	endpoint *e[2] = { NULL, NULL };
	int delivered[2] = { 0, 0 }, k, n, ok = 0;
	uint64_t now = NOW_MS;

	rand_test_seed(RNG_SEED, strlen(RNG_SEED));
	vec_configs(&ci, &cr, flags_i, flags_r, 0, 0);
	e[0] = endpoint_new(&ci, now);
	e[1] = endpoint_new(&cr, now);
	if (!T_OK(e[0] != NULL && e[1] != NULL) || !T_INT(endpoint_start(e[0], now), 0))
		goto out;
	ep_pump(e, log, now, delivered, 0);
	if (!T_OK(endpoint_established(e[0]) && endpoint_established(e[1])))
		goto out;
	for (n = 0; n < 2; n++)
		for (k = 0; k < 2; k++)
			T_INT(endpoint_send_data(e[k], (uint32_t)(k + 1),
			    (const uint8_t *)payload[k][n], strlen(payload[k][n]), now), 0);
	ep_pump(e, log, now, delivered, 0);
	now += REKEY_MS;
	for (k = 0; k < 2; k++)
		T_INT(endpoint_tick(e[k], now), 0);
	for (k = 0; k < 2; k++)
		T_INT(endpoint_send_data(e[k], (uint32_t)(k + 1),
		    (const uint8_t *)payload[k][3], strlen(payload[k][3]), now), 0);
	ep_pump(e, log, now, delivered, 0);
	T_INT(delivered[0], 3);
	T_INT(delivered[1], 3);
	ok = 1;
out:
	rand_test_seed(NULL, 0);
	endpoint_free(e[0]);
	endpoint_free(e[1]);
	return ok ? 0 : -1;
}

/* ---- the independent recomputation ---- */

/* Open and check one AUTH frame; returns 0 and the plaintext. */
static int
check_auth(const char *side_name, const uint8_t *f, size_t flen, const uint8_t *hsec,
    char side, const uint8_t th[64], const uint8_t pk[32], const sign_key *sk,
    uint32_t flags, uint8_t *pt, size_t *pt_len)
{
	uint8_t key[32], prefix[16], fk[64], msg[11 + 64], sig[64], fin_in[11 + 64 + 32 + 64 + 4];
	uint8_t mac[64];
	char label[16];
	Stp__V1__Auth *m;
	int ok = 0;

	t_set_ctx("AUTH_%c", side == 'r' ? 'R' : 'I');
	snprintf(label, sizeof(label), "hs %c key", side);
	derive(key, 32, hsec, 64, label, NULL, 0);
	snprintf(label, sizeof(label), "hs %c prefix", side);
	derive(prefix, 16, hsec, 64, label, NULL, 0);
	snprintf(label, sizeof(label), "fin %c", side);
	derive(fk, 64, hsec, 64, label, NULL, 0);
	{
		char nm[32];

		snprintf(nm, sizeof(nm), "k_hs_%c", side);
		put(nm, key, 32);
		snprintf(nm, sizeof(nm), "p_hs_%c", side);
		put(nm, prefix, 16);
		snprintf(nm, sizeof(nm), "fk_%c", side);
		put(nm, fk, 64);
	}
	T_INT(f[0], FRAME_AUTH);
	if (!T_INT(open_frame(f, flen, key, prefix, 0, pt, pt_len), 0))
		return -1;
	m = stp__v1__auth__unpack(NULL, *pt_len, pt);
	if (!T_OK(m != NULL))
		return -1;
	/* sig = Ed25519(sk, "stp1 sig " || side || 0 || TH); deterministic. */
	memcpy(msg, "stp1 sig ", 9);
	msg[9] = (uint8_t)side;
	msg[10] = 0;
	memcpy(msg + 11, th, 64);
	T_INT(sign_sign(sk, msg, sizeof(msg), sig), 0);
	/* fin = HMAC(fk, "stp1 fin " || side || 0 || TH || pk || sig || be32(flags))[0..32). */
	memcpy(fin_in, "stp1 fin ", 9);
	fin_in[9] = (uint8_t)side;
	fin_in[10] = 0;
	memcpy(fin_in + 11, th, 64);
	memcpy(fin_in + 75, pk, 32);
	memcpy(fin_in + 107, sig, 64);
	be32(fin_in + 171, flags);
	hash_hmac_sha512(mac, fk, 64, fin_in, sizeof(fin_in));
	if (T_OK(m->identity.len == 32 && m->signature.len == 64 && m->finished.len == 32)) {
		T_MEM(m->identity.data, 32, pk, 32);
		T_MEM(m->signature.data, 64, sig, 64);
		T_INT(sign_verify(pk, msg, sizeof(msg), m->signature.data, 64), 0);
		T_MEM(m->finished.data, 32, mac, 32);
		T_INT(m->flags, flags);
		ok = 1;
	}
	/*
	 * The encoding is the canonical one of these four fields, then field
	 * 15 (padding: 0x7a, a one-byte length, zeros) to 160 bytes.
	 */
	{
		Stp__V1__Auth a = STP__V1__AUTH__INIT;
		uint8_t enc[512];
		size_t n;

		a.identity.data = (uint8_t *)pk;
		a.identity.len = 32;
		a.signature.data = sig;
		a.signature.len = 64;
		a.finished.data = mac;
		a.finished.len = 32;
		a.flags = flags;
		n = stp__v1__auth__pack(&a, enc);
		enc[n] = 0x7a;
		enc[n + 1] = (uint8_t)(160 - n - 2);
		memset(enc + n + 2, 0, 160 - n - 2);
		T_MEM(pt, *pt_len, enc, 160);
	}
	stp__v1__auth__free_unpacked(m, NULL);
	(void)side_name;
	return ok ? 0 : -1;
}

/*
 * Open one record frame of direction d (0: I -> R) at seq under (key,
 * prefix); check its Record; record frame and plaintext.
 */
static void
check_record(const char *nm, const uint8_t *f, size_t flen, int d, uint64_t seq,
    const uint8_t key[32], const uint8_t prefix[16], uint64_t time_ms,
    const uint8_t *sid, int signed_)
{
	uint8_t pt[FMAX], msg[12 + 16 + 1 + 64], h[64];
	size_t pt_len = 0;
	Stp__V1__Record *r;
	char name[48];

	t_set_ctx("%s", nm);
	if (!T_INT(open_frame(f, flen, key, prefix, seq, pt, &pt_len), 0))
		return;
	snprintf(name, sizeof(name), "%s_pt", nm);
	put(name, pt, pt_len);
	put(nm, f, flen);
	r = stp__v1__record__unpack(NULL, pt_len, pt);
	if (!T_OK(r != NULL))
		return;
	T_INT(r->seq, seq);
	T_INT(r->time_ms, time_ms);
	if (seq == 2) {
		T_INT(f[0], FRAME_KEY_UPDATE);
		T_INT(r->body_case, STP__V1__RECORD__BODY_KEY_UPDATE);
		T_OK(r->key_update != NULL && !r->key_update->fresh);
	} else {
		T_INT(f[0], FRAME_RECORD);
		if (T_INT(r->body_case, STP__V1__RECORD__BODY_DATA) && T_OK(r->data != NULL)) {
			T_INT(r->data->stream_id, d + 1);
			T_MEM(r->data->data.data, r->data->data.len, payload[d][seq],
			    strlen(payload[d][seq]));
		}
	}
	if (signed_) {
		/* signature = Ed25519(sk_R, "stp1 record" || 0 || sid || 'r' || H(P)). */
		if (T_INT(r->signature.len, 64) && T_OK(pt_len > RECORD_SIG_FIELD_LEN)) {
			T_MEM(pt + pt_len - RECORD_SIG_FIELD_LEN, 3, "\xfa\x01\x40", 3);
			memcpy(msg, "stp1 record", 11);
			msg[11] = 0;
			memcpy(msg + 12, sid, 16);
			msg[28] = 'r';
			hash_sha512(h, pt, pt_len - RECORD_SIG_FIELD_LEN);
			memcpy(msg + 29, h, 64);
			T_INT(sign_verify(pk_r, msg, sizeof(msg), r->signature.data, 64), 0);
			{
				uint8_t sig[64];

				T_INT(sign_sign(id_r, msg, sizeof(msg), sig), 0);
				T_MEM(r->signature.data, 64, sig, 64);
			}
		}
	} else
		T_INT(r->signature.len, 0);
	stp__v1__record__free_unpacked(r, NULL);
}

static void
run_all(const char *file)
{
	struct frames ir, ri, wi, wr;
	struct wire log[2];
	hs_result res_i, res_r;
	uint8_t stream[224], ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], ct[MLKEM768_CT_LEN];
	uint8_t pub[32], ss_m[32], ss_m2[32], ss_x[32], ss_x2[32], mac1_key[32], tmp[96], h64[64];
	uint8_t th2[64], th3[64], th4[64], hsec[64], ikm[64], app[64], sid[16];
	uint8_t ts[2][2][64], key[2][2][32], prefix[2][2][16];
	uint8_t auth_r_pt[512], auth_i_pt[512];
	size_t auth_r_len = 0, auth_i_len = 0;
	const mlkem768_backend *kem = mlkem768_default();
	hash_ctx *t = NULL;
	Stp__V1__Hello *hello = NULL;
	Stp__V1__Reply *reply = NULL;
	int d, g, k;

	(void)file;
	memset(log, 0, sizeof(log));
	memset(&res_i, 0, sizeof(res_i));
	memset(&res_r, 0, sizeof(res_r));
	put("rng_seed", RNG_SEED, strlen(RNG_SEED));
	put("identity_seed_i", seed_i, 32);
	put("pk_i", pk_i, 32);
	put("identity_seed_r", seed_r, 32);
	put("pk_r", pk_r, 32);
	put_be("flags_i", flags_i, 4);
	put_be("flags_r", flags_r, 4);
	put_be("time_ms", NOW_MS, 8);
	put_be("time_ms_after_rekey", NOW_MS + REKEY_MS, 8);

	/* The RNG stream, in the order the handshake draws it. */
	rand_test_seed(RNG_SEED, strlen(RNG_SEED));
	rand_bytes(stream, sizeof(stream));
	rand_test_seed(NULL, 0);
	put("i_x25519_sk", stream, 32);
	put("i_mlkem_d", stream + 32, 32);
	put("i_mlkem_z", stream + 64, 32);
	put("i_nonce", stream + 96, 32);
	put("r_x25519_sk", stream + 128, 32);
	put("r_mlkem_m", stream + 160, 32);
	put("r_nonce", stream + 192, 32);

	/* The implementation, twice. */
	t_set_ctx("hs run");
	if (run_hs(&ir, &ri, &res_i, &res_r) != 0)
		goto out;
	t_set_ctx("endpoint run");
	if (run_ep(log) != 0)
		goto out;
	memset(&wi, 0, sizeof(wi));
	memset(&wr, 0, sizeof(wr));
	split(&wi, log[0].b, log[0].len);
	split(&wr, log[1].b, log[1].len);
	t_set_ctx("endpoint frames");
	if (!T_INT(wi.n, 6) || !T_INT(wr.n, 6))
		goto out;
	/* The endpoints' handshake is hs_*'s, byte for byte. */
	T_MEM(wi.f[0], wi.len[0], ir.f[0], ir.len[0]);
	T_MEM(wi.f[1], wi.len[1], ir.f[1], ir.len[1]);
	T_MEM(wr.f[0], wr.len[0], ri.f[0], ri.len[0]);
	T_MEM(wr.f[1], wr.len[1], ri.f[1], ri.len[1]);
	put("hello", ir.f[0], ir.len[0]);
	put("reply", ri.f[0], ri.len[0]);
	put("auth_r", ri.f[1], ri.len[1]);
	put("auth_i", ir.f[1], ir.len[1]);

	/* HELLO: the fields are the RNG's, mac1 is the spec's. */
	t_set_ctx("HELLO");
	T_INT(ir.f[0][0], FRAME_HELLO);
	hello = stp__v1__hello__unpack(NULL, ir.len[0] - FRAME_HDR_LEN - KS_MAC1_LEN,
	    ir.f[0] + FRAME_HDR_LEN);
	if (!T_OK(hello != NULL))
		goto out;
	T_OK(hello->n_versions == 1 && hello->versions[0] == 2);
	T_OK(hello->n_suites == 1 && hello->suites[0] == 1);
	T_INT(hello->admission.len, 0);
	T_INT(hello->time, NOW_MS / 1000);
	T_INT(hello->cookie.len, 0);
	x25519_public(pub, stream);
	T_MEM(hello->x25519.data, hello->x25519.len, pub, 32);
	T_INT(kem->keygen_derand(ek, dk, stream + 32, stream + 64), 0);
	T_MEM(hello->mlkem_ek.data, hello->mlkem_ek.len, ek, sizeof(ek));
	T_MEM(hello->nonce.data, hello->nonce.len, stream + 96, 32);
	memcpy(tmp, "stp1 mac1", 9);
	tmp[9] = 0;
	memcpy(tmp + 10, pk_r, 32);
	hash_sha512(h64, tmp, 42);
	memcpy(mac1_key, h64, 32);
	put("mac1_key", mac1_key, 32);
	{
		uint8_t mk[32];

		T_INT(ks_mac1_key(mk, pk_r, NULL), 0);
		T_MEM(mk, 32, mac1_key, 32);
		/* With an access secret of 32 bytes 0x03 (not used below). */
		memset(tmp + 42, 0x03, 32);
		hash_sha512(h64, tmp, 74);
		put("mac1_key_with_secret", h64, 32);
		memset(tmp + 42, 0x03, 32);
		T_INT(ks_mac1_key(mk, pk_r, tmp + 42), 0);
		T_MEM(mk, 32, h64, 32);
	}
	hash_hmac_sha256(tmp, mac1_key, 32, ir.f[0], ir.len[0] - KS_MAC1_LEN);
	T_MEM(ir.f[0] + ir.len[0] - KS_MAC1_LEN, KS_MAC1_LEN, tmp, KS_MAC1_LEN);

	/* REPLY: R's ephemeral key and ciphertext from the RNG. */
	t_set_ctx("REPLY");
	T_INT(ri.f[0][0], FRAME_REPLY);
	reply = stp__v1__reply__unpack(NULL, ri.len[0] - FRAME_HDR_LEN,
	    ri.f[0] + FRAME_HDR_LEN);
	if (!T_OK(reply != NULL))
		goto out;
	T_INT(reply->version, 2);
	T_INT(reply->suite, 1);
	x25519_public(pub, stream + 128);
	T_MEM(reply->x25519.data, reply->x25519.len, pub, 32);
	T_INT(kem->encaps_derand(ct, ss_m, ek, sizeof(ek), stream + 160), 0);
	T_MEM(reply->mlkem_ct.data, reply->mlkem_ct.len, ct, sizeof(ct));
	T_MEM(reply->nonce.data, reply->nonce.len, stream + 192, 32);
	T_INT(kem->decaps(ss_m2, ct, sizeof(ct), dk, sizeof(dk)), 0);
	T_MEM(ss_m2, 32, ss_m, 32);
	T_INT(x25519_shared(ss_x, stream, pub), 0);
	T_INT(x25519_shared(ss_x2, stream + 128, hello->x25519.data), 0);
	T_MEM(ss_x2, 32, ss_x, 32);
	put("ss_x", ss_x, 32);
	put("ss_m", ss_m, 32);

	/* The transcript and the handshake secret. */
	t_set_ctx("transcript");
	if (!T_OK((t = hash_sha512_new()) != NULL))
		goto out;
	hash_update(t, "stp1 transcript", 16);  /* with its 0x00 */
	hash_update(t, pk_r, 32);
	hash_update(t, ir.f[0], ir.len[0]);
	hash_update(t, ri.f[0], ri.len[0]);
	hash_peek(t, th2);
	put("th2", th2, 64);
	memcpy(ikm, ss_m, 32);
	memcpy(ikm + 32, ss_x, 32);
	hash_hmac_sha512(hsec, th2, 64, ikm, 64);   /* Extract(salt = TH2, ikm) */
	put("hs", hsec, 64);

	if (check_auth("AUTH_R", ri.f[1], ri.len[1], hsec, 'r', th2, pk_r, id_r, flags_r,
	    auth_r_pt, &auth_r_len) != 0)
		goto out;
	put("auth_r_pt", auth_r_pt, auth_r_len);
	hash_update(t, auth_r_pt, auth_r_len);
	hash_peek(t, th3);
	put("th3", th3, 64);
	if (check_auth("AUTH_I", ir.f[1], ir.len[1], hsec, 'i', th3, pk_i, id_i, flags_i,
	    auth_i_pt, &auth_i_len) != 0)
		goto out;
	put("auth_i_pt", auth_i_pt, auth_i_len);
	hash_update(t, auth_i_pt, auth_i_len);
	hash_peek(t, th4);
	put("th4", th4, 64);

	/* Traffic secrets and session id; hs_* must have the same. */
	t_set_ctx("traffic secrets");
	derive(app, 64, hsec, 64, "app", th4, 64);
	derive(sid, 16, hsec, 64, "session id", th4, 64);
	derive(ts[0][0], 64, app, 64, "ts i", NULL, 0);
	derive(ts[1][0], 64, app, 64, "ts r", NULL, 0);
	put("app", app, 64);
	put("sid", sid, 16);
	T_MEM(res_i.sid, 16, sid, 16);
	T_MEM(res_r.sid, 16, sid, 16);
	T_MEM(res_i.ts_send, 64, ts[0][0], 64);
	T_MEM(res_r.ts_recv, 64, ts[0][0], 64);
	T_MEM(res_r.ts_send, 64, ts[1][0], 64);
	T_MEM(res_i.ts_recv, 64, ts[1][0], 64);
	T_INT(res_i.peer_flags, flags_r);
	T_INT(res_r.peer_flags, flags_i);
	for (d = 0; d < 2; d++) {
		derive(ts[d][1], 64, ts[d][0], 64, "next", NULL, 0);
		for (g = 0; g < 2; g++) {
			char nm[32];

			derive(key[d][g], 32, ts[d][g], 64, "key", NULL, 0);
			derive(prefix[d][g], 16, ts[d][g], 64, "prefix", NULL, 0);
			snprintf(nm, sizeof(nm), "ts_%c_%d", "ir"[d], g);
			put(nm, ts[d][g], 64);
			snprintf(nm, sizeof(nm), "key_%c_%d", "ir"[d], g);
			put(nm, key[d][g], 32);
			snprintf(nm, sizeof(nm), "prefix_%c_%d", "ir"[d], g);
			put(nm, prefix[d][g], 16);
		}
		/* ks_ratchet is the same step. */
		memcpy(tmp, ts[d][0], 64);
		T_INT(ks_ratchet(tmp), 0);
		T_MEM(tmp, 64, ts[d][1], 64);
	}

	/* The records: 0 and 1 under generation 0, the KEY_UPDATE (2) too, 3 under 1. */
	for (d = 0; d < 2; d++) {
		struct frames *w = d == 0 ? &wi : &wr;

		for (k = 0; k < 4; k++) {
			char nm[32];

			if (k != 2) {
				/* What the record carries, as the app gave it. */
				snprintf(nm, sizeof(nm), "payload_%c_%d", "ir"[d], k);
				put(nm, payload[d][k], strlen(payload[d][k]));
			}
			snprintf(nm, sizeof(nm), "%s_%c_%d", k == 2 ? "key_update" : "record",
			    "ir"[d], k);
			check_record(nm, w->f[2 + k], w->len[2 + k], d, (uint64_t)k,
			    key[d][k < 3 ? 0 : 1], prefix[d][k < 3 ? 0 : 1],
			    k < 2 ? NOW_MS : NOW_MS + REKEY_MS, sid,
			    d == 1 && (flags_r & AUTH_FLAG_SIGN_RECORDS));
		}
		/* Record 3 does not open under generation 0: the key did move. */
		{
			uint8_t pt[FMAX];
			size_t pl;

			t_set_ctx("record 3 under generation 0");
			T_INT(open_frame(w->f[5], w->len[5], key[d][0], prefix[d][0], 3, pt,
			    &pl), STP_EAUTH);
		}
	}
out:
	if (hello != NULL)
		stp__v1__hello__free_unpacked(hello, NULL);
	if (reply != NULL)
		stp__v1__reply__free_unpacked(reply, NULL);
	hash_free(t);
	hs_result_wipe(&res_i);
	hs_result_wipe(&res_r);
	free(log[0].b);
	free(log[1].b);
}

int
main(int argc, char **argv)
{
	return vec_main(argc, argv, run_all, N_VALUES,
	    "# STP v1.1 transcript vectors: proto/STP.md, \"Test vectors\".\n"
	    "# Written by tests/protocol/test_vectors_stp.c --write; that file's top\n"
	    "# comment says exactly how the run is set up (RNG seed and draw order,\n"
	    "# identity seeds, flags, clock, payloads).  One value per line: name = hex.\n"
	    "# Frames are whole (header || body); *_pt are plaintexts; ts_x_N, key_x_N,\n"
	    "# prefix_x_N are generation N of direction x (i: I -> R, r: R -> I);\n"
	    "# payload_x_N is the StreamData.data of record N of direction x.\n"
	    "# More vectors (R's first ping, padding, a CHALLENGE round, a fresh\n"
	    "# exchange): stp_v1_1_more.txt.\n");
}

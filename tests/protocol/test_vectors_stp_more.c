/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vectors_stp_more.c: more STP v1.1 vectors (proto/STP.md, "Test
 * vectors"), in tests/protocol/stp_v1_1_more.txt: R's first Ping, record
 * padding to exact sizes, a CHALLENGE round, and a fresh exchange.
 *
 * Usage: test_vectors_stp_more <path to stp_v1_1_more.txt> [--write]
 * It also reads stp_v1_1_transcript.txt from the same directory (never
 * writes it): the session run below must repeat that file's handshake.
 *
 * Everything the transcript run fixes holds here too (test_vectors_stp.c):
 * RNG seed "stp1 test vector" (SHAKE-256("stpgate test rng v1" || seed),
 * read in order), identity seeds 32 x 0x01 (I) and 32 x 0x02 (R), Auth
 * flags 0 (I) and AUTH_FLAG_SIGN_RECORDS (R, so every R record ends with a
 * signature field), Unix clock 1700000000 s, record clock
 * 1700000000000 ms.  Two runs, each from a freshly seeded RNG:
 *
 * 1. The session run: two endpoints, exactly as the transcript run up to
 *    the end of the handshake (so HELLO, REPLY, AUTH_R, AUTH_I, sid and
 *    ts_i_0/ts_r_0 are stp_v1_1_transcript.txt's; checked), except that
 *    both have a pad_to hook and rekem_interval_ms = 60000.  Then:
 *    - R, on EP_ESTABLISHED, sends a Ping at once with id = its clock
 *      (1700000000000), as the gateway's session layer does when it accepts
 *      I (reactor/session.c, adopt()): R's record 0, r_first_ping_*.  I
 *      answers with a Pong of the same id: I's record 0, i_first_pong_*.
 *    - At the same clock I sends StreamData{1, pad_i_payload} with pad_to
 *      answering 192: the record is 61 bytes unpadded, so the gap is 131
 *      bytes, the first of the two gaps between varint widths: the padding
 *      field is 0xf2 0x01, the overlong varint 0xff 0x00 (127), 127 zeros.
 *      R sends StreamData{2, pad_r_payload} padded to 128 (52 bytes
 *      unpadded, an ordinary gap of 76: 0xf2 0x01 0x49, 73 zeros), and its
 *      signature field after the padding.  Both are record 1; every other
 *      record has no padding (pad_to answers the length it is given).
 *    - The clock moves to 1700000060000 ms (time_ms_rekem) and both sides
 *      tick: I starts a fresh exchange (the ratchet interval, 600000 ms,
 *      has not passed, so no ratchet KEY_UPDATE).  I's record 2 is
 *      KemInit, R's record 2 KemReply and its record 3 KEY_UPDATE{fresh},
 *      I's record 3 KEY_UPDATE{fresh} (both sealed under generation 0).
 *      Then each sends StreamData (after_fresh_x_payload, stream 1 / 2) as
 *      record 4, under the fresh keys.
 *    RNG draws: the handshake's 224 bytes as in the transcript run; then
 *    I's KemInit X25519 secret (32), ML-KEM d (32), z (32); then R's
 *    KemReply X25519 secret (32), ML-KEM encaps m (32): 384 bytes in all.
 *    Pings, pongs, padding and signatures draw nothing.
 *
 * 2. The CHALLENGE run, through hs_* directly.  R has a HELLO guard of one
 *    bucket (guard_new(8)) filled first with 8 live entries (guard_check of
 *    mac1 values 16 x 0xe0 .. 16 x 0xe7 at Hello.time = now, from the same
 *    address), so the bucket I's HELLO needs is full and R answers it with
 *    CHALLENGE{cookie}.  The initiator's address is challenge_src (0x04 ||
 *    192.0.2.1).  RNG draws, in order: I's X25519 secret, ML-KEM d, z,
 *    first Hello.nonce (32 each: the transcript's 128 bytes, so the first
 *    HELLO is the transcript's hello); R's guard: k1 (8), k2 (8), the
 *    cookie key (32); I's second Hello.nonce (32); R's X25519 secret (32),
 *    ML-KEM encaps m (32), Reply.nonce (32): 304 bytes in all.  I answers
 *    with a second HELLO (same X25519 and ML-KEM keys, the new nonce,
 *    Hello.cookie = the cookie, the same time); R's guard admits it by
 *    its cookie and the handshake completes.  The transcript holds only
 *    the second HELLO.
 *
 * Recomputed from proto/STP.md alone, as test_vectors_stp.c does: the
 * handshakes (ephemeral keys from the RNG stream, ss_x, ss_m, TH2, hs, both
 * AUTH frames opened and their signatures and Finished MACs checked, TH3,
 * TH4, app, sid, ts), every record opened with XChaCha20-Poly1305 under
 * Derive()d keys and parsed, and its whole plaintext rebuilt: the Record
 * packed by protobuf-c without padding, the padding field written by the
 * rule in "Padding and cover records", R's signature field (Ed25519,
 * deterministic).  The fresh exchange: KemInit and KemReply rebuilt from
 * the RNG draws (X25519, ML-KEM KeyGen/Encaps/Decaps), their canonical
 * bytes written out by hand, xh = SHA-512(KemInit || KemReply), m =
 * HMAC-SHA512(Derive(ts[0], "next", "", 64), ss_m' || ss_x'), ts[1] =
 * Derive(m, "fresh", xh, 64), and record 4 opened under ts[1]'s key (and
 * not under generation 0's, nor a plain ratchet's).  The CHALLENGE: the
 * cookie as stpgate makes it (HMAC-SHA256(cookie key, be64(1700000000 /
 * 60) || src)[0..16)), both HELLOs rebuilt field by field with their mac1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/mlkem768.h"
#include "crypto/rand.h"
#include "crypto/sign.h"
#include "crypto/x25519.h"
#include "endpoint.h"
#include "err.h"
#include "frame.h"
#include "guard.h"
#include "handshake.h"
#include "keysched.h"
#include "record.h"
#include "stp.pb-c.h"
#include "testlib.h"
#include "vectors_common.h"

#define N_VALUES 70
#define REKEM_MS 60000ull
#define PAD_I_TARGET 192
#define PAD_R_TARGET 128
#define CANON_INIT_LEN 1221
#define CANON_REPLY_LEN 1125

static const char pad_payload[2][48] = {
	"stp1 vector: I->R padded to 192 bytes, gap 131",
	"stp1 vector: R->I padded to 128 bytes",
};
static const char fresh_payload[2][32] = {
	"stp1 vector: I->R after fresh",
	"stp1 vector: R->I after fresh",
};
static const uint8_t challenge_src[5] = { 0x04, 192, 0, 2, 1 };

static char transcript[1024];

/* The first n bytes of the seeded RNG stream. */
static void
rng_stream(uint8_t *out, size_t n)
{
	rand_test_seed(RNG_SEED, strlen(RNG_SEED));
	rand_bytes(out, n);
	rand_test_seed(NULL, 0);
}

/* ---- a handshake recomputed from its frames and the RNG draws ---- */

struct hs_keys {
	uint8_t sid[16], ts[2][64];
};

/* mac1 of a HELLO frame whose body ends with 16 bytes for it. */
static void
mac1_of(uint8_t out[16], const uint8_t *f, size_t len)
{
	uint8_t in[42], key[64], mac[32];

	memcpy(in, "stp1 mac1", 9);
	in[9] = 0x00;
	memcpy(in + 10, pk_r, 32);
	hash_sha512(key, in, sizeof(in));
	hash_hmac_sha256(mac, key, 32, f, len - 16);
	memcpy(out, mac, 16);
}

/*
 * Open an AUTH frame of side ('r' or 'i') under hs, check it against pk,
 * the transcript hash th and flags; the plaintext goes into pt.
 */
static int
auth_open(char side, const uint8_t *f, size_t flen, const uint8_t hsec[64],
    const uint8_t th[64], const uint8_t pk[32], uint32_t flags, uint8_t *pt,
    size_t *pt_len)
{
	uint8_t key[32], prefix[16], fk[64], msg[75], fin_in[175], mac[64];
	char label[16];
	Stp__V1__Auth *m;
	int ok = 0;

	snprintf(label, sizeof(label), "hs %c key", side);
	derive(key, 32, hsec, 64, label, NULL, 0);
	snprintf(label, sizeof(label), "hs %c prefix", side);
	derive(prefix, 16, hsec, 64, label, NULL, 0);
	snprintf(label, sizeof(label), "fin %c", side);
	derive(fk, 64, hsec, 64, label, NULL, 0);
	if (!T_INT(f[0], FRAME_AUTH) ||
	    !T_INT(open_frame(f, flen, key, prefix, 0, pt, pt_len), 0) ||
	    !T_INT(*pt_len, 160))
		return -1;
	if (!T_OK((m = stp__v1__auth__unpack(NULL, *pt_len, pt)) != NULL))
		return -1;
	memcpy(msg, "stp1 sig ", 9);
	msg[9] = (uint8_t)side;
	msg[10] = 0;
	memcpy(msg + 11, th, 64);
	if (T_OK(m->identity.len == 32 && m->signature.len == 64 &&
	    m->finished.len == 32)) {
		memcpy(fin_in, "stp1 fin ", 9);
		fin_in[9] = (uint8_t)side;
		fin_in[10] = 0;
		memcpy(fin_in + 11, th, 64);
		memcpy(fin_in + 75, pk, 32);
		memcpy(fin_in + 107, m->signature.data, 64);
		be32(fin_in + 171, flags);
		hash_hmac_sha512(mac, fk, 64, fin_in, sizeof(fin_in));
		ok = T_MEM(m->identity.data, 32, pk, 32) &&
		    T_INT(sign_verify(pk, msg, sizeof(msg), m->signature.data, 64), 0) &&
		    T_MEM(m->finished.data, 32, mac, 32) && T_INT(m->flags, flags);
	}
	stp__v1__auth__free_unpacked(m, NULL);
	return ok ? 0 : -1;
}

/*
 * The handshake of HELLO, REPLY, AUTH_R, AUTH_I, from I's draws (X25519
 * secret, d, z: 96 bytes) and R's (X25519 secret, m: 64 bytes).  With pfx,
 * its secrets and hashes are vectors named pfx...
 */
static int
hs_recompute(const char *pfx, const uint8_t *hello, size_t hello_len,
    const uint8_t *reply, size_t reply_len, const uint8_t *auth_r, size_t ar_len,
    const uint8_t *auth_i, size_t ai_len, const uint8_t *di, const uint8_t *dr,
    struct hs_keys *k)
{
	static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], ct[MLKEM768_CT_LEN];
	const mlkem768_backend *kem = mlkem768_default();
	uint8_t pub[32], ss_x[32], ss_x2[32], ss_m[32], ss_m2[32], ikm[64];
	uint8_t th2[64], th3[64], th4[64], hsec[64], app[64], pt[512];
	size_t pt_len = 0;
	Stp__V1__Hello *h = NULL;
	Stp__V1__Reply *r = NULL;
	hash_ctx *t = NULL;
	char nm[48];
	int ok = 0;

	T_INT(kem->keygen_derand(ek, dk, di + 32, di + 64), 0);
	h = stp__v1__hello__unpack(NULL, hello_len - FRAME_HDR_LEN - 16,
	    hello + FRAME_HDR_LEN);
	r = stp__v1__reply__unpack(NULL, reply_len - FRAME_HDR_LEN,
	    reply + FRAME_HDR_LEN);
	if (!T_OK(h != NULL && r != NULL))
		goto out;
	x25519_public(pub, di);
	T_MEM(h->x25519.data, h->x25519.len, pub, 32);
	T_MEM(h->mlkem_ek.data, h->mlkem_ek.len, ek, sizeof(ek));
	x25519_public(pub, dr);
	T_MEM(r->x25519.data, r->x25519.len, pub, 32);
	T_INT(kem->encaps_derand(ct, ss_m, ek, sizeof(ek), dr + 32), 0);
	T_MEM(r->mlkem_ct.data, r->mlkem_ct.len, ct, sizeof(ct));
	T_INT(kem->decaps(ss_m2, ct, sizeof(ct), dk, sizeof(dk)), 0);
	T_MEM(ss_m2, 32, ss_m, 32);
	T_INT(x25519_shared(ss_x, di, pub), 0);
	T_INT(x25519_shared(ss_x2, dr, h->x25519.data), 0);
	T_MEM(ss_x2, 32, ss_x, 32);

	if (!T_OK((t = hash_sha512_new()) != NULL))
		goto out;
	hash_update(t, "stp1 transcript", 16);  /* with its 0x00 */
	hash_update(t, pk_r, 32);
	hash_update(t, hello, hello_len);
	hash_update(t, reply, reply_len);
	hash_peek(t, th2);
	memcpy(ikm, ss_m, 32);
	memcpy(ikm + 32, ss_x, 32);
	hash_hmac_sha512(hsec, th2, 64, ikm, 64);   /* Extract(salt = TH2, ikm) */
	if (auth_open('r', auth_r, ar_len, hsec, th2, pk_r, flags_r, pt, &pt_len) != 0)
		goto out;
	hash_update(t, pt, pt_len);
	hash_peek(t, th3);
	if (auth_open('i', auth_i, ai_len, hsec, th3, pk_i, flags_i, pt, &pt_len) != 0)
		goto out;
	hash_update(t, pt, pt_len);
	hash_peek(t, th4);
	derive(app, 64, hsec, 64, "app", th4, 64);
	derive(k->sid, 16, hsec, 64, "session id", th4, 64);
	derive(k->ts[0], 64, app, 64, "ts i", NULL, 0);
	derive(k->ts[1], 64, app, 64, "ts r", NULL, 0);
	if (pfx != NULL) {
#define PUT(what, v, n) (snprintf(nm, sizeof(nm), "%s%s", pfx, what), put(nm, v, n))
		PUT("ss_x", ss_x, 32);
		PUT("ss_m", ss_m, 32);
		PUT("th2", th2, 64);
		PUT("th3", th3, 64);
		PUT("th4", th4, 64);
		PUT("sid", k->sid, 16);
		PUT("ts_i_0", k->ts[0], 64);
		PUT("ts_r_0", k->ts[1], 64);
#undef PUT
	}
	ok = 1;
out:
	if (h != NULL)
		stp__v1__hello__free_unpacked(h, NULL);
	if (r != NULL)
		stp__v1__reply__free_unpacked(r, NULL);
	hash_free(t);
	return ok ? 0 : -1;
}

/* ---- records ---- */

/* key and prefix of a traffic secret. */
static void
record_key(const uint8_t ts[64], uint8_t key[32], uint8_t prefix[16])
{
	derive(key, 32, ts, 64, "key", NULL, 0);
	derive(prefix, 16, ts, 64, "prefix", NULL, 0);
}

static size_t
varint_len(uint64_t x)
{
	size_t n = 1;

	while (x >= 0x80) {
		x >>= 7;
		n++;
	}
	return n;
}

/*
 * The padding field that fills a gap of g bytes (STP.md, "Padding and
 * cover records"): 0xf2 0x01, varint(L), L zeros, 2 + len(varint(L)) + L =
 * g; for the gaps 131 and 16388, which no minimal varint fits, L is written
 * one byte wider than needed.
 */
static size_t
pad_field(uint8_t *p, size_t g)
{
	size_t w, l = 0, i;

	if (g == 0)
		return 0;
	for (w = 1; w <= 3; w++)
		if (g >= 2 + w && varint_len(l = g - 2 - w) == w)
			break;
	if (w > 3) {
		T_OK(g == 131 || g == 16388);
		w = g == 131 ? 2 : 3;
		l = g - 2 - w;
	}
	p[0] = 0xf2;
	p[1] = 0x01;
	for (i = 0; i < w; i++)
		p[2 + i] = (uint8_t)(((l >> (7 * i)) & 0x7f) | (i + 1 < w ? 0x80 : 0));
	memset(p + 2 + w, 0, l);
	return g;
}

/*
 * The plaintext a sender of direction d must seal for r: r packed (no
 * padding), the padding field of a gap of g bytes, and for R (which signs)
 * the signature field 0xfa 0x01 0x40 || Ed25519(sk_R, "stp1 record" || 0 ||
 * sid || 'r' || H(P)).  *n gets the unpadded length.
 */
static size_t
expect_pt(uint8_t *out, const Stp__V1__Record *r, size_t g, int d,
    const uint8_t sid[16], size_t *n)
{
	uint8_t msg[12 + 16 + 1 + 64];
	size_t len;

	*n = stp__v1__record__pack(r, out);
	len = *n + pad_field(out + *n, g);
	if (d == 1) {
		memcpy(msg, "stp1 record", 11);
		msg[11] = 0;
		memcpy(msg + 12, sid, 16);
		msg[28] = 'r';
		hash_sha512(msg + 29, out, len);
		memcpy(out + len, "\xfa\x01\x40", 3);
		T_INT(sign_sign(id_r, msg, sizeof(msg), out + len + 3), 0);
		T_INT(sign_verify(pk_r, msg, sizeof(msg), out + len + 3, 64), 0);
		len += RECORD_SIG_FIELD_LEN;
	}
	return len;
}

/*
 * Open frame f as record seq of direction d under (key, prefix); it must
 * be of frame type `type` and its plaintext exactly `want`.  The frame and
 * plaintext become vectors nm_frame and nm_pt.  Returns the parsed Record
 * (free it) for body checks, or NULL.
 */
static Stp__V1__Record *
check_record(const char *nm, const uint8_t *f, size_t flen, uint8_t type,
    uint64_t seq, const uint8_t key[32], const uint8_t prefix[16],
    const uint8_t *want, size_t want_len)
{
	static uint8_t pt[FMAX];
	size_t pt_len = 0;
	Stp__V1__Record *r;
	char name[48];

	t_set_ctx("%s", nm);
	T_INT(f[0], type);
	if (!T_INT(open_frame(f, flen, key, prefix, seq, pt, &pt_len), 0))
		return NULL;
	snprintf(name, sizeof(name), "%s_pt", nm);
	put(name, pt, pt_len);
	snprintf(name, sizeof(name), "%s_frame", nm);
	put(name, f, flen);
	T_MEM(pt, pt_len, want, want_len);
	if (!T_OK((r = stp__v1__record__unpack(NULL, pt_len, pt)) != NULL))
		return NULL;
	T_INT(r->seq, seq);
	return r;
}

/* ---- run 1: the session ---- */

struct pad {
	size_t target;   /* 0: no padding */
	size_t asked;    /* the length the endpoint asked about */
};

static size_t
pad_to(void *cookie, size_t len, size_t max)
{
	struct pad *p = cookie;

	(void)max;
	if (p->target == 0)
		return len;
	p->asked = len;
	return p->target;
}

static int
run_session(struct wire log[2], struct pad pad[2], ep_stats st[2])
{
	endpoint_config ci, cr;
	endpoint *e[2] = { NULL, NULL };
	int delivered[2] = { 0, 0 }, k, ok = 0;
	uint64_t now = NOW_MS;

	rand_test_seed(RNG_SEED, strlen(RNG_SEED));
	vec_configs(&ci, &cr, flags_i, flags_r, 0, 0);
	ci.rekem_interval_ms = cr.rekem_interval_ms = REKEM_MS;
	ci.pad_to = cr.pad_to = pad_to;
	ci.pad_cookie = &pad[0];
	cr.pad_cookie = &pad[1];
	e[0] = endpoint_new(&ci, now);
	e[1] = endpoint_new(&cr, now);
	if (!T_OK(e[0] != NULL && e[1] != NULL) || !T_INT(endpoint_start(e[0], now), 0))
		goto out;
	/* The handshake; R pings as it comes up, I pongs. */
	ep_pump(e, log, now, delivered, 1);
	if (!T_OK(endpoint_established(e[0]) && endpoint_established(e[1])))
		goto out;
	/* Record 1 each way, padded. */
	pad[0].target = PAD_I_TARGET;
	pad[1].target = PAD_R_TARGET;
	for (k = 0; k < 2; k++)
		T_INT(endpoint_send_data(e[k], (uint32_t)(k + 1),
		    (const uint8_t *)pad_payload[k], strlen(pad_payload[k]), now), 0);
	pad[0].target = pad[1].target = 0;
	ep_pump(e, log, now, delivered, 1);
	/* The fresh exchange, then record 4 each way. */
	now += REKEM_MS;
	for (k = 0; k < 2; k++)
		T_INT(endpoint_tick(e[k], now), 0);
	ep_pump(e, log, now, delivered, 1);
	for (k = 0; k < 2; k++)
		T_INT(endpoint_send_data(e[k], (uint32_t)(k + 1),
		    (const uint8_t *)fresh_payload[k], strlen(fresh_payload[k]), now), 0);
	ep_pump(e, log, now, delivered, 1);
	T_INT(delivered[0], 2);
	T_INT(delivered[1], 2);
	for (k = 0; k < 2; k++)
		endpoint_get_stats(e[k], &st[k]);
	ok = 1;
out:
	rand_test_seed(NULL, 0);
	endpoint_free(e[0]);
	endpoint_free(e[1]);
	return ok ? 0 : -1;
}

/* The four handshake frames must be the transcript file's. */
static void
same_as_transcript(const char *name, const uint8_t *f, size_t len)
{
	uint8_t *v;
	size_t n;

	t_set_ctx("%s of %s", name, transcript);
	if ((v = vec_file_value(transcript, name, &n)) != NULL)
		T_MEM(f, len, v, n);
	free(v);
}

/* The fresh exchange, from the RNG draws; records 2 and 3 each way. */
static void
check_fresh(struct frames *w[2], const uint8_t *draws, const uint8_t sid[16],
    uint8_t ts[2][64], uint8_t key[2][32], uint8_t prefix[2][16])
{
	static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], ct[MLKEM768_CT_LEN];
	static uint8_t canon[CANON_INIT_LEN + CANON_REPLY_LEN], want[FMAX];
	const mlkem768_backend *kem = mlkem768_default();
	uint8_t xi[32], xr[32], ss_x[32], ss_x2[32], ss_m[32], ss_m2[32], xh[64];
	uint8_t salt[64], ikm[64], m[64], next[2][64], tmp[64];
	Stp__V1__Record rec = STP__V1__RECORD__INIT, *r;
	Stp__V1__KemInit ki = STP__V1__KEM_INIT__INIT;
	Stp__V1__KemReply kr = STP__V1__KEM_REPLY__INIT;
	Stp__V1__KeyUpdate ku = STP__V1__KEY_UPDATE__INIT;
	size_t len, n;
	char nm[48];
	int d;

	t_set_ctx("fresh exchange");
	put("rekem_i_x25519_sk", draws, 32);
	put("rekem_i_mlkem_d", draws + 32, 32);
	put("rekem_i_mlkem_z", draws + 64, 32);
	put("rekem_r_x25519_sk", draws + 96, 32);
	put("rekem_r_mlkem_m", draws + 128, 32);
	x25519_public(xi, draws);
	T_INT(kem->keygen_derand(ek, dk, draws + 32, draws + 64), 0);
	x25519_public(xr, draws + 96);
	T_INT(kem->encaps_derand(ct, ss_m, ek, sizeof(ek), draws + 128), 0);
	T_INT(kem->decaps(ss_m2, ct, sizeof(ct), dk, sizeof(dk)), 0);
	T_MEM(ss_m2, 32, ss_m, 32);
	T_INT(x25519_shared(ss_x, draws, xr), 0);
	T_INT(x25519_shared(ss_x2, draws + 96, xi), 0);
	T_MEM(ss_x2, 32, ss_x, 32);

	/* The canonical encodings, written out: 0x0a 0x20 x || 0x12 len ek / ct. */
	memcpy(canon, "\x0a\x20", 2);
	memcpy(canon + 2, xi, 32);
	memcpy(canon + 34, "\x12\xa0\x09", 3);
	memcpy(canon + 37, ek, sizeof(ek));
	memcpy(canon + CANON_INIT_LEN, "\x0a\x20", 2);
	memcpy(canon + CANON_INIT_LEN + 2, xr, 32);
	memcpy(canon + CANON_INIT_LEN + 34, "\x12\xc0\x08", 3);
	memcpy(canon + CANON_INIT_LEN + 37, ct, sizeof(ct));
	put("kem_init_canon", canon, CANON_INIT_LEN);

	/* I's record 2: KemInit; its body is the canonical KemInit. */
	ki.x25519.data = xi;
	ki.x25519.len = 32;
	ki.mlkem_ek.data = ek;
	ki.mlkem_ek.len = sizeof(ek);
	T_INT(stp__v1__kem_init__get_packed_size(&ki), CANON_INIT_LEN);
	rec.seq = 2;
	rec.time_ms = NOW_MS + REKEM_MS;
	rec.body_case = STP__V1__RECORD__BODY_KEM_INIT;
	rec.kem_init = &ki;
	len = expect_pt(want, &rec, 0, 0, sid, &n);
	T_MEM(want + n - CANON_INIT_LEN, CANON_INIT_LEN, canon, CANON_INIT_LEN);
	if ((r = check_record("kem_init", w[0]->f[4], w[0]->len[4], FRAME_RECORD, 2,
	    key[0], prefix[0], want, len)) != NULL) {
		T_INT(r->body_case, STP__V1__RECORD__BODY_KEM_INIT);
		stp__v1__record__free_unpacked(r, NULL);
	}

	/* R's record 2: KemReply. */
	put("kem_reply_canon", canon + CANON_INIT_LEN, CANON_REPLY_LEN);
	kr.x25519.data = xr;
	kr.x25519.len = 32;
	kr.mlkem_ct.data = ct;
	kr.mlkem_ct.len = sizeof(ct);
	rec.body_case = STP__V1__RECORD__BODY_KEM_REPLY;
	rec.kem_reply = &kr;
	len = expect_pt(want, &rec, 0, 1, sid, &n);
	T_MEM(want + n - CANON_REPLY_LEN, CANON_REPLY_LEN, canon + CANON_INIT_LEN,
	    CANON_REPLY_LEN);
	if ((r = check_record("kem_reply", w[1]->f[4], w[1]->len[4], FRAME_RECORD, 2,
	    key[1], prefix[1], want, len)) != NULL) {
		T_INT(r->body_case, STP__V1__RECORD__BODY_KEM_REPLY);
		stp__v1__record__free_unpacked(r, NULL);
	}

	t_set_ctx("fresh exchange");
	put("rekem_ss_x", ss_x, 32);
	put("rekem_ss_m", ss_m, 32);
	hash_sha512(xh, canon, sizeof(canon));
	put("rekem_xh", xh, 64);

	/* Record 3 each way: KEY_UPDATE{fresh}, under generation 0. */
	ku.fresh = 1;
	rec.seq = 3;
	rec.body_case = STP__V1__RECORD__BODY_KEY_UPDATE;
	rec.key_update = &ku;
	for (d = 1; d >= 0; d--) {
		snprintf(nm, sizeof(nm), "key_update_fresh_%c", "ir"[d]);
		len = expect_pt(want, &rec, 0, d, sid, &n);
		if ((r = check_record(nm, w[d]->f[5], w[d]->len[5], FRAME_KEY_UPDATE,
		    3, key[d], prefix[d], want, len)) != NULL) {
			T_OK(r->body_case == STP__V1__RECORD__BODY_KEY_UPDATE &&
			    r->key_update != NULL && r->key_update->fresh);
			stp__v1__record__free_unpacked(r, NULL);
		}
	}

	/* ts[1] = Derive(Extract(Derive(ts[0], "next"), ss_m' || ss_x'), "fresh", xh). */
	t_set_ctx("fresh exchange");
	memcpy(ikm, ss_m, 32);
	memcpy(ikm + 32, ss_x, 32);
	for (d = 0; d < 2; d++) {
		derive(salt, 64, ts[d], 64, "next", NULL, 0);
		memcpy(next[d], salt, 64);
		hash_hmac_sha512(m, salt, 64, ikm, 64);
		memcpy(tmp, ts[d], 64);
		derive(ts[d], 64, m, 64, "fresh", xh, 64);
		T_INT(ks_fresh(tmp, ss_m, ss_x, xh), 0);   /* keysched.c agrees */
		T_MEM(tmp, 64, ts[d], 64);
		snprintf(nm, sizeof(nm), "rekem_salt_%c", "ir"[d]);
		put(nm, salt, 64);
		snprintf(nm, sizeof(nm), "rekem_m_%c", "ir"[d]);
		put(nm, m, 64);
		snprintf(nm, sizeof(nm), "ts_%c_fresh", "ir"[d]);
		put(nm, ts[d], 64);
	}
	/* The keys after it; and what a plain ratchet would have given. */
	for (d = 0; d < 2; d++) {
		record_key(next[d], tmp, tmp + 32);
		record_key(ts[d], key[d], prefix[d]);
		snprintf(nm, sizeof(nm), "key_%c_fresh", "ir"[d]);
		put(nm, key[d], 32);
		snprintf(nm, sizeof(nm), "prefix_%c_fresh", "ir"[d]);
		put(nm, prefix[d], 16);
		memcpy(next[d], tmp, 48);   /* ratchet key || prefix */
	}
	/* Record 4 each way: data, under the fresh keys only. */
	rec.seq = 4;
	for (d = 0; d < 2; d++) {
		Stp__V1__StreamData sd = STP__V1__STREAM_DATA__INIT;
		uint8_t pt[FMAX];
		size_t pl;

		sd.stream_id = (uint32_t)(d + 1);
		sd.data.data = (uint8_t *)fresh_payload[d];
		sd.data.len = strlen(fresh_payload[d]);
		rec.body_case = STP__V1__RECORD__BODY_DATA;
		rec.data = &sd;
		snprintf(nm, sizeof(nm), "after_fresh_%c_payload", "ir"[d]);
		put(nm, fresh_payload[d], strlen(fresh_payload[d]));
		snprintf(nm, sizeof(nm), "after_fresh_%c", "ir"[d]);
		len = expect_pt(want, &rec, 0, d, sid, &n);
		if ((r = check_record(nm, w[d]->f[6], w[d]->len[6], FRAME_RECORD, 4,
		    key[d], prefix[d], want, len)) != NULL)
			stp__v1__record__free_unpacked(r, NULL);
		T_INT(open_frame(w[d]->f[6], w[d]->len[6], next[d], next[d] + 32, 4,
		    pt, &pl), STP_EAUTH);
	}
}

static void
session(void)
{
	static const char *const hs_names[2][2] = {
		{ "hello", "auth_i" }, { "reply", "auth_r" } };
	static struct frames wf[2];
	struct frames *w[2] = { &wf[0], &wf[1] };
	struct wire log[2];
	struct pad pad[2];
	ep_stats st[2];
	struct hs_keys hk;
	uint8_t stream[384], ts[2][64], key[2][32], prefix[2][16], want[FMAX];
	Stp__V1__Record rec = STP__V1__RECORD__INIT, *r;
	Stp__V1__Ping ping = STP__V1__PING__INIT;
	size_t len, n;
	char nm[48];
	int d, k;

	memset(log, 0, sizeof(log));
	memset(pad, 0, sizeof(pad));
	memset(st, 0, sizeof(st));
	memset(wf, 0, sizeof(wf));
	t_set_ctx("session run");
	if (run_session(log, pad, st) != 0)
		goto out;
	split(w[0], log[0].b, log[0].len);
	split(w[1], log[1].b, log[1].len);
	if (!T_INT(w[0]->n, 7) || !T_INT(w[1]->n, 7))
		goto out;
	for (d = 0; d < 2; d++)
		for (k = 0; k < 2; k++)
			same_as_transcript(hs_names[d][k], w[d]->f[k], w[d]->len[k]);
	T_INT(st[0].rekems, 1);
	T_INT(st[1].rekems, 1);

	/* The handshake, recomputed; it must be the transcript's. */
	t_set_ctx("session handshake");
	rng_stream(stream, sizeof(stream));
	if (hs_recompute(NULL, w[0]->f[0], w[0]->len[0], w[1]->f[0], w[1]->len[0],
	    w[1]->f[1], w[1]->len[1], w[0]->f[1], w[0]->len[1], stream, stream + 128,
	    &hk) != 0)
		goto out;
	same_as_transcript("sid", hk.sid, 16);
	same_as_transcript("ts_i_0", hk.ts[0], 64);
	same_as_transcript("ts_r_0", hk.ts[1], 64);
	memcpy(ts, hk.ts, sizeof(ts));
	for (d = 0; d < 2; d++)
		record_key(ts[d], key[d], prefix[d]);
	put_be("time_ms_rekem", NOW_MS + REKEM_MS, 8);

	/* Record 0: R's first ping (id = R's clock), I's pong. */
	ping.id = NOW_MS;
	rec.time_ms = NOW_MS;
	for (d = 1; d >= 0; d--) {
		rec.body_case = d ? STP__V1__RECORD__BODY_PING : STP__V1__RECORD__BODY_PONG;
		rec.ping = &ping;   /* the same member of the union */
		len = expect_pt(want, &rec, 0, d, hk.sid, &n);
		if ((r = check_record(d ? "r_first_ping" : "i_first_pong", w[d]->f[2],
		    w[d]->len[2], FRAME_RECORD, 0, key[d], prefix[d], want, len)) != NULL) {
			T_INT(r->time_ms, NOW_MS);
			if (d)
				T_OK(r->body_case == STP__V1__RECORD__BODY_PING &&
				    r->ping != NULL && r->ping->id == NOW_MS);
			else
				T_OK(r->body_case == STP__V1__RECORD__BODY_PONG &&
				    r->pong != NULL && r->pong->id == NOW_MS);
			stp__v1__record__free_unpacked(r, NULL);
		}
	}

	/* Record 1: padded to PAD_I_TARGET (gap 131) and PAD_R_TARGET. */
	rec.seq = 1;
	for (d = 0; d < 2; d++) {
		Stp__V1__StreamData sd = STP__V1__STREAM_DATA__INIT;
		size_t target = d ? PAD_R_TARGET : PAD_I_TARGET;
		uint8_t unpadded[FMAX];

		t_set_ctx("padding %c", "ir"[d]);
		sd.stream_id = (uint32_t)(d + 1);
		sd.data.data = (uint8_t *)pad_payload[d];
		sd.data.len = strlen(pad_payload[d]);
		rec.body_case = STP__V1__RECORD__BODY_DATA;
		rec.data = &sd;
		n = stp__v1__record__pack(&rec, unpadded);
		T_INT(pad[d].asked, n);   /* the hook was asked about n */
		if (d == 0)
			T_INT(target - n, 131);
		len = expect_pt(want, &rec, target - n, d, hk.sid, &n);
		T_INT(len, target + (d ? RECORD_SIG_FIELD_LEN : 0));
		if (d == 0)
			T_MEM(want + n, 4, "\xf2\x01\xff\x00", 4);
		snprintf(nm, sizeof(nm), "pad_%c_payload", "ir"[d]);
		put(nm, pad_payload[d], strlen(pad_payload[d]));
		snprintf(nm, sizeof(nm), "pad_%c_target", "ir"[d]);
		put_be(nm, target, 4);
		snprintf(nm, sizeof(nm), "pad_%c_unpadded", "ir"[d]);
		put(nm, unpadded, n);
		snprintf(nm, sizeof(nm), "pad_%c", "ir"[d]);
		if ((r = check_record(nm, w[d]->f[3], w[d]->len[3], FRAME_RECORD, 1,
		    key[d], prefix[d], want, len)) != NULL) {
			T_INT(r->padding.len, target - n - (d ? 3 : 4));
			T_OK(r->body_case == STP__V1__RECORD__BODY_DATA && r->data != NULL &&
			    r->data->data.len == strlen(pad_payload[d]));
			stp__v1__record__free_unpacked(r, NULL);
		}
		/* The wire size is a function of the target alone. */
		T_INT(w[d]->len[3], FRAME_HDR_LEN + target + 16 + (d ? 67 : 0));
	}

	check_fresh(w, stream + 224, hk.sid, ts, key, prefix);
out:
	free(log[0].b);
	free(log[1].b);
}

/* ---- run 2: a CHALLENGE round ---- */

/* A HELLO frame from its fields, as the spec lays it out; returns its length. */
static size_t
build_hello(uint8_t *f, const uint8_t x[32], const uint8_t *ek,
    const uint8_t nonce[32], const uint8_t *cookie)
{
	Stp__V1__Hello m = STP__V1__HELLO__INIT;
	uint32_t versions[1] = { 2 }, suites[1] = { 1 };
	size_t n;

	m.n_versions = 1;
	m.versions = versions;
	m.n_suites = 1;
	m.suites = suites;
	m.x25519.data = (uint8_t *)x;
	m.x25519.len = 32;
	m.mlkem_ek.data = (uint8_t *)ek;
	m.mlkem_ek.len = MLKEM768_EK_LEN;
	m.nonce.data = (uint8_t *)nonce;
	m.nonce.len = 32;
	m.time = NOW_MS / 1000;
	if (cookie != NULL) {
		m.cookie.data = (uint8_t *)cookie;
		m.cookie.len = 16;
	}
	n = stp__v1__hello__pack(&m, f + FRAME_HDR_LEN);
	f[0] = FRAME_HELLO;
	f[1] = (uint8_t)((n + 16) >> 16);
	f[2] = (uint8_t)((n + 16) >> 8);
	f[3] = (uint8_t)(n + 16);
	mac1_of(f + FRAME_HDR_LEN + n, f, FRAME_HDR_LEN + n + 16);
	return FRAME_HDR_LEN + n + 16;
}

static int
run_challenge(struct frames *ir, struct frames *ri, hs_result *res_i,
    hs_result *res_r)
{
	hs_config ci = { 0 }, cr = { 0 };
	uint8_t m1[16], ck[GUARD_COOKIE_LEN];
	const uint8_t *p;
	size_t n;
	hs *i = NULL, *r = NULL;
	guard *g = NULL;
	int ok = 0, k;

	rand_test_seed(RNG_SEED, strlen(RNG_SEED));
	ci.initiator = 1;
	ci.identity = id_i;
	memcpy(ci.peer_pub, pk_r, 32);
	ci.flags = flags_i;
	ci.unix_now = vec_clock;
	if (!T_OK((i = hs_new(&ci)) != NULL) ||
	    !T_INT(hs_start(i), HS_WORK) || !T_INT(hs_work(i), 0))
		goto out;
	p = hs_output(i, &n);
	split(ir, p, n);
	hs_output_clear(i);
	/* R's listener: a one-bucket guard, filled by 8 other HELLOs. */
	if (!T_OK((g = guard_new(8)) != NULL))
		goto out;
	for (k = 0; k < 8; k++) {
		memset(m1, 0xe0 + k, sizeof(m1));
		T_INT(guard_check(g, m1, NOW_MS / 1000, NULL, 0, challenge_src,
		    sizeof(challenge_src), NOW_MS / 1000, ck), GUARD_ADMIT);
	}
	cr.identity = id_r;
	cr.flags = flags_r;
	cr.unix_now = vec_clock;
	cr.guard = g;
	memcpy(cr.src, challenge_src, sizeof(challenge_src));
	cr.src_len = sizeof(challenge_src);
	if (!T_OK((r = hs_new(&cr)) != NULL) || !T_INT(ir->n, 1) ||
	    !T_INT(hs_input(r, ir->f[0], ir->len[0]), HS_OUT) || !T_OK(!hs_failed(r)))
		goto out;
	p = hs_output(r, &n);      /* the CHALLENGE */
	split(ri, p, n);
	hs_output_clear(r);
	if (!T_INT(ri->n, 1) ||
	    !T_INT(hs_input(i, ri->f[0], ri->len[0]), HS_WORK) || !T_INT(hs_work(i), 0))
		goto out;
	p = hs_output(i, &n);      /* the second HELLO */
	split(ir, p, n);
	hs_output_clear(i);
	if (!T_INT(ir->n, 2) ||
	    !T_INT(hs_input(r, ir->f[1], ir->len[1]), HS_WORK) || !T_INT(hs_work(r), 0))
		goto out;
	p = hs_output(r, &n);      /* REPLY, AUTH_R */
	split(ri, p, n);
	hs_output_clear(r);
	if (!T_INT(ri->n, 3) ||
	    !T_INT(hs_input(i, ri->f[1], ri->len[1]), HS_WORK) || !T_INT(hs_work(i), 0) ||
	    !T_INT(hs_input(i, ri->f[2], ri->len[2]), HS_WORK) || !T_INT(hs_work(i), 0))
		goto out;
	p = hs_output(i, &n);      /* AUTH_I */
	split(ir, p, n);
	hs_output_clear(i);
	if (!T_INT(ir->n, 3) ||
	    !T_INT(hs_input(r, ir->f[2], ir->len[2]), HS_WORK) || !T_INT(hs_work(r), 0))
		goto out;
	if (!T_OK(hs_done(i) && hs_done(r)) ||
	    !T_INT(hs_result_take(i, res_i), 0) || !T_INT(hs_result_take(r, res_r), 0))
		goto out;
	ok = 1;
out:
	rand_test_seed(NULL, 0);
	hs_free(i);
	hs_free(r);
	guard_free(g);
	return ok ? 0 : -1;
}

static void
challenge(void)
{
	static struct frames ir, ri;
	static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN], f[FMAX];
	hs_result res_i, res_r;
	struct hs_keys hk;
	uint8_t stream[304], x[32], ep[8], in[8 + sizeof(challenge_src)], mac[32];
	uint8_t cookie[16], chal[22], *v;
	uint64_t epoch = NOW_MS / 1000 / 60;
	Stp__V1__Hello *h;
	size_t n;
	int k;

	memset(&res_i, 0, sizeof(res_i));
	memset(&res_r, 0, sizeof(res_r));
	t_set_ctx("challenge run");
	if (run_challenge(&ir, &ri, &res_i, &res_r) != 0)
		goto out;
	rng_stream(stream, sizeof(stream));
	put("challenge_src", challenge_src, sizeof(challenge_src));
	put("challenge_cookie_key", stream + 144, 32);

	/* The cookie: HMAC-SHA256(key, be64(floor(t / 60)) || src)[0..16). */
	t_set_ctx("CHALLENGE");
	for (k = 0; k < 8; k++)
		ep[k] = (uint8_t)(epoch >> (56 - 8 * k));
	memcpy(in, ep, 8);
	memcpy(in + 8, challenge_src, sizeof(challenge_src));
	hash_hmac_sha256(mac, stream + 144, 32, in, sizeof(in));
	memcpy(cookie, mac, 16);
	put("challenge_cookie", cookie, 16);
	/* Frame 0x02, body Challenge{cookie}: field 2, 16 bytes. */
	memcpy(chal, "\x02\x00\x00\x12\x12\x10", 6);
	memcpy(chal + 6, cookie, 16);
	T_MEM(ri.f[0], ri.len[0], chal, sizeof(chal));
	put("challenge_frame", ri.f[0], ri.len[0]);

	/* Both HELLOs, rebuilt; the first is the transcript's. */
	t_set_ctx("HELLO 1");
	x25519_public(x, stream);
	T_INT(mlkem768_default()->keygen_derand(ek, dk, stream + 32, stream + 64), 0);
	n = build_hello(f, x, ek, stream + 96, NULL);
	T_MEM(ir.f[0], ir.len[0], f, n);
	if ((v = vec_file_value(transcript, "hello", &n)) != NULL)
		T_MEM(ir.f[0], ir.len[0], v, n);
	free(v);
	put("challenge_hello_1", ir.f[0], ir.len[0]);
	t_set_ctx("HELLO 2");
	put("challenge_i_nonce_2", stream + 176, 32);
	n = build_hello(f, x, ek, stream + 176, cookie);
	T_MEM(ir.f[1], ir.len[1], f, n);
	put("challenge_hello_2", ir.f[1], ir.len[1]);
	/* Parsed: the same keys and time, the new nonce, the cookie echoed. */
	h = stp__v1__hello__unpack(NULL, ir.len[1] - FRAME_HDR_LEN - 16,
	    ir.f[1] + FRAME_HDR_LEN);
	if (T_OK(h != NULL)) {
		T_MEM(h->x25519.data, h->x25519.len, x, 32);
		T_MEM(h->mlkem_ek.data, h->mlkem_ek.len, ek, sizeof(ek));
		T_MEM(h->nonce.data, h->nonce.len, stream + 176, 32);
		T_MEM(h->cookie.data, h->cookie.len, cookie, 16);
		T_INT(h->time, NOW_MS / 1000);
		T_INT(h->admission.len, 0);
		stp__v1__hello__free_unpacked(h, NULL);
	}
	mac1_of(mac, ir.f[1], ir.len[1]);
	T_MEM(ir.f[1] + ir.len[1] - 16, 16, mac, 16);

	/* The handshake on the second HELLO: the first is in no transcript. */
	t_set_ctx("challenge handshake");
	put("challenge_r_x25519_sk", stream + 208, 32);
	put("challenge_r_mlkem_m", stream + 240, 32);
	put("challenge_r_nonce", stream + 272, 32);
	put("challenge_reply", ri.f[1], ri.len[1]);
	put("challenge_auth_r", ri.f[2], ri.len[2]);
	put("challenge_auth_i", ir.f[2], ir.len[2]);
	{
		Stp__V1__Reply *rp = stp__v1__reply__unpack(NULL,
		    ri.len[1] - FRAME_HDR_LEN, ri.f[1] + FRAME_HDR_LEN);

		if (T_OK(rp != NULL)) {
			T_MEM(rp->nonce.data, rp->nonce.len, stream + 272, 32);
			stp__v1__reply__free_unpacked(rp, NULL);
		}
	}
	if (hs_recompute("challenge_", ir.f[1], ir.len[1], ri.f[1], ri.len[1],
	    ri.f[2], ri.len[2], ir.f[2], ir.len[2], stream, stream + 208, &hk) != 0)
		goto out;
	T_MEM(res_i.sid, 16, hk.sid, 16);
	T_MEM(res_r.sid, 16, hk.sid, 16);
	T_MEM(res_i.ts_send, 64, hk.ts[0], 64);
	T_MEM(res_r.ts_recv, 64, hk.ts[0], 64);
	T_MEM(res_r.ts_send, 64, hk.ts[1], 64);
	T_MEM(res_i.ts_recv, 64, hk.ts[1], 64);
out:
	hs_result_wipe(&res_i);
	hs_result_wipe(&res_r);
}

static void
run_all(const char *file)
{
	const char *slash = strrchr(file, '/');

	snprintf(transcript, sizeof(transcript), "%.*sstp_v1_1_transcript.txt",
	    slash != NULL ? (int)(slash - file + 1) : 0, file);
	session();
	challenge();
}

int
main(int argc, char **argv)
{
	return vec_main(argc, argv, run_all, N_VALUES,
	    "# More STP v1.1 vectors: proto/STP.md, \"Test vectors\".\n"
	    "# Written by tests/protocol/test_vectors_stp_more.c --write; that file's\n"
	    "# top comment says exactly how each run is set up (RNG seed and draw\n"
	    "# order, clock, pad targets, the guard).  One value per line: name = hex.\n"
	    "# *_frame are whole frames (header || body), *_pt their plaintexts.\n"
	    "# The session run repeats stp_v1_1_transcript.txt's handshake; then\n"
	    "# r_first_ping/i_first_pong are record 0, pad_x record 1, kem_init and\n"
	    "# kem_reply record 2, key_update_fresh_x record 3, after_fresh_x record 4\n"
	    "# of direction x (i: I -> R, r: R -> I).  challenge_*: the CHALLENGE run.\n");
}

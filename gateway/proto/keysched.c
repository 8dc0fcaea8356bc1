/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keysched.c: the STP v1 key schedule.  Every label of proto/STP.md "Key
 * schedule" appears here and nowhere else.
 */
#include "keysched.h"

#include <string.h>

#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "err.h"

/* "stp1 " || label || 0x00 || ctx: the longest label plus a transcript hash. */
#define INFO_MAX 64

int
ks_derive(uint8_t *out, size_t out_len, const uint8_t *secret,
    size_t secret_len, const char *label, const uint8_t *ctx, size_t ctx_len)
{
	uint8_t info[5 + 32 + 1 + INFO_MAX];
	size_t ll = strlen(label), n = 0;

	if (ll > 32 || ctx_len > INFO_MAX)
		return STP_EINVAL;
	memcpy(info, "stp1 ", 5);
	n = 5;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0x00;
	if (ctx_len > 0) {
		memcpy(info + n, ctx, ctx_len);
		n += ctx_len;
	}
	return kdf_expand(out, out_len, secret, secret_len, info, n);
}

/* One direction's handshake key: k and prefix derived, folded by HChaCha20. */
static int
hs_dirkey(aead_dirkey *dk, const uint8_t hs[KS_SECRET_LEN], const char *klabel,
    const char *plabel)
{
	uint8_t k[32], p[16];
	int rc;

	if ((rc = ks_derive(k, sizeof(k), hs, KS_SECRET_LEN, klabel, NULL, 0)) == 0 &&
	    (rc = ks_derive(p, sizeof(p), hs, KS_SECRET_LEN, plabel, NULL, 0)) == 0)
		aead_dirkey_init(dk, k, p);
	crypto_wipe(k, sizeof(k));
	crypto_wipe(p, sizeof(p));
	return rc;
}

int
ks_handshake_init(ks_handshake *k, const uint8_t th2[KS_TH_LEN],
    const uint8_t ss_m[32], const uint8_t ss_x[32])
{
	uint8_t ikm[64];
	int rc;

	/* ML-KEM's secret first, then X25519's; the transcript is the salt. */
	memcpy(ikm, ss_m, 32);
	memcpy(ikm + 32, ss_x, 32);
	rc = kdf_extract(k->hs, th2, KS_TH_LEN, ikm, sizeof(ikm));
	crypto_wipe(ikm, sizeof(ikm));
	if (rc == 0)
		rc = hs_dirkey(&k->key_r, k->hs, "hs r key", "hs r prefix");
	if (rc == 0)
		rc = hs_dirkey(&k->key_i, k->hs, "hs i key", "hs i prefix");
	if (rc == 0)
		rc = ks_derive(k->fk_r, KS_SECRET_LEN, k->hs, KS_SECRET_LEN, "fin r",
		    NULL, 0);
	if (rc == 0)
		rc = ks_derive(k->fk_i, KS_SECRET_LEN, k->hs, KS_SECRET_LEN, "fin i",
		    NULL, 0);
	if (rc != 0)
		ks_handshake_wipe(k);
	return rc;
}

void
ks_handshake_wipe(ks_handshake *k)
{
	crypto_wipe(k, sizeof(*k));
	aead_key_retired();
}

int
ks_app(const ks_handshake *k, const uint8_t th4[KS_TH_LEN],
    uint8_t ts_i[KS_SECRET_LEN], uint8_t ts_r[KS_SECRET_LEN],
    uint8_t sid[KS_SID_LEN])
{
	uint8_t app[KS_SECRET_LEN];
	int rc;

	rc = ks_derive(app, sizeof(app), k->hs, KS_SECRET_LEN, "app", th4, KS_TH_LEN);
	if (rc == 0)
		rc = ks_derive(sid, KS_SID_LEN, k->hs, KS_SECRET_LEN, "session id",
		    th4, KS_TH_LEN);
	if (rc == 0)
		rc = ks_derive(ts_i, KS_SECRET_LEN, app, sizeof(app), "ts i", NULL, 0);
	if (rc == 0)
		rc = ks_derive(ts_r, KS_SECRET_LEN, app, sizeof(app), "ts r", NULL, 0);
	crypto_wipe(app, sizeof(app));
	if (rc != 0) {
		crypto_wipe(ts_i, KS_SECRET_LEN);
		crypto_wipe(ts_r, KS_SECRET_LEN);
	}
	return rc;
}

int
ks_record_key(aead_dirkey *dk, const uint8_t ts[KS_SECRET_LEN])
{
	/* The key dk held until now is retired: cipher contexts let go of it. */
	aead_key_retired();
	return hs_dirkey(dk, ts, "key", "prefix");
}

int
ks_ratchet(uint8_t ts[KS_SECRET_LEN])
{
	uint8_t next[KS_SECRET_LEN];
	int rc;

	rc = ks_derive(next, sizeof(next), ts, KS_SECRET_LEN, "next", NULL, 0);
	if (rc == 0)
		memcpy(ts, next, KS_SECRET_LEN);
	crypto_wipe(next, sizeof(next));
	return rc;
}

int
ks_fresh(uint8_t ts[KS_SECRET_LEN], const uint8_t ss_m[32],
    const uint8_t ss_x[32], const uint8_t xh[KS_TH_LEN])
{
	uint8_t next[KS_SECRET_LEN], m[KDF_PRK_LEN], ikm[64];
	int rc;

	memcpy(ikm, ss_m, 32);
	memcpy(ikm + 32, ss_x, 32);
	rc = ks_derive(next, sizeof(next), ts, KS_SECRET_LEN, "next", NULL, 0);
	if (rc == 0)
		rc = kdf_extract(m, next, sizeof(next), ikm, sizeof(ikm));
	if (rc == 0)
		rc = ks_derive(ts, KS_SECRET_LEN, m, sizeof(m), "fresh", xh, KS_TH_LEN);
	crypto_wipe(next, sizeof(next));
	crypto_wipe(m, sizeof(m));
	crypto_wipe(ikm, sizeof(ikm));
	return rc;
}

int
ks_mac1_key(uint8_t key[32], const uint8_t pk_r[32], const uint8_t *secret)
{
	uint8_t in[10 + 32 + KS_ACCESS_SECRET_LEN], h[HASH_SHA512_LEN];
	size_t n = 10 + 32;
	int rc;

	memcpy(in, "stp1 mac1", 9);
	in[9] = 0x00;
	memcpy(in + 10, pk_r, 32);
	if (secret != NULL) {
		memcpy(in + n, secret, KS_ACCESS_SECRET_LEN);
		n += KS_ACCESS_SECRET_LEN;
	}
	if ((rc = hash_sha512(h, in, n)) == 0)
		memcpy(key, h, 32);
	crypto_wipe(h, sizeof(h));
	crypto_wipe(in, sizeof(in));
	return rc;
}

void
ks_identity_update_message(uint8_t out[KS_IDUP_MSG_LEN],
    const uint8_t sid[KS_SID_LEN], char dir, const uint8_t pk_cur[32],
    const uint8_t pk_new[32])
{
	uint8_t *p = out;

	memcpy(p, "stp1 identity update", 20);
	p += 20;
	*p++ = 0x00;
	memcpy(p, sid, KS_SID_LEN);
	p += KS_SID_LEN;
	*p++ = (uint8_t)dir;
	memcpy(p, pk_cur, 32);
	memcpy(p + 32, pk_new, 32);
}

int
ks_mac1(uint8_t mac[KS_MAC1_LEN], const uint8_t key[32], const uint8_t *data,
    size_t len)
{
	uint8_t full[HASH_SHA256_LEN];
	int rc;

	/* SHA-256: the cheapest check a stranger can make us run (SHA-NI). */
	if ((rc = hash_hmac_sha256(full, key, 32, data, len)) == 0)
		memcpy(mac, full, KS_MAC1_LEN);
	crypto_wipe(full, sizeof(full));
	return rc;
}

/* HMAC-SHA512(key, msg), its first out_len bytes (out_len <= 64). */
static int
hmac_cut(uint8_t *out, size_t out_len, const uint8_t *key, size_t key_len,
    const uint8_t *msg, size_t n)
{
	uint8_t full[HASH_SHA512_LEN];
	int rc;

	if ((rc = hash_hmac_sha512(full, key, key_len, msg, n)) == 0)
		memcpy(out, full, out_len);
	crypto_wipe(full, sizeof(full));
	return rc;
}

int
ks_finished(uint8_t fin[KS_FIN_LEN], const uint8_t fk[KS_SECRET_LEN],
    char side, const uint8_t th[KS_TH_LEN], const uint8_t pk[32],
    const uint8_t sig[64], uint32_t flags)
{
	uint8_t msg[11 + KS_TH_LEN + 32 + 64 + 4];
	size_t n = 0;

	memcpy(msg, "stp1 fin ", 9);
	n = 9;
	msg[n++] = (uint8_t)side;
	msg[n++] = 0x00;
	memcpy(msg + n, th, KS_TH_LEN);
	n += KS_TH_LEN;
	memcpy(msg + n, pk, 32);
	n += 32;
	memcpy(msg + n, sig, 64);
	n += 64;
	msg[n++] = (uint8_t)(flags >> 24);
	msg[n++] = (uint8_t)(flags >> 16);
	msg[n++] = (uint8_t)(flags >> 8);
	msg[n++] = (uint8_t)flags;
	return hmac_cut(fin, KS_FIN_LEN, fk, KS_SECRET_LEN, msg, n);
}

int
ks_resume_secret(const ks_handshake *k, const uint8_t th4[KS_TH_LEN],
    uint8_t rs[KS_RESUME_LEN])
{
	return ks_derive(rs, KS_RESUME_LEN, k->hs, KS_SECRET_LEN, "resume", th4,
	    KS_TH_LEN);
}

int
ks_resume_proof(uint8_t proof[KS_PROOF_LEN], const uint8_t rs_old[KS_RESUME_LEN],
    char side, const uint8_t sid_old[KS_SID_LEN], const uint8_t sid_new[KS_SID_LEN])
{
	uint8_t msg[12 + 2 + 2 * KS_SID_LEN];
	size_t n;

	memcpy(msg, "stp1 resume ", 12);
	n = 12;
	msg[n++] = (uint8_t)side;
	msg[n++] = 0x00;
	memcpy(msg + n, sid_old, KS_SID_LEN);
	n += KS_SID_LEN;
	memcpy(msg + n, sid_new, KS_SID_LEN);
	n += KS_SID_LEN;
	return hmac_cut(proof, KS_PROOF_LEN, rs_old, KS_RESUME_LEN, msg, n);
}

size_t
ks_sig_message(uint8_t out[11 + KS_TH_LEN], char side, const uint8_t th[KS_TH_LEN])
{
	memcpy(out, "stp1 sig ", 9);
	out[9] = (uint8_t)side;
	out[10] = 0x00;
	memcpy(out + 11, th, KS_TH_LEN);
	return 11 + KS_TH_LEN;
}

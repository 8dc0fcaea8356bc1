/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aead.c: ChaCha20-Poly1305 through OpenSSL's EVP, and XChaCha20-Poly1305 on
 * top of it with our HChaCha20.  See aead.h for the construction.
 *
 * Open decrypts into out and only then learns whether the tag verified
 * (OpenSSL checks it in the Final call); on a mismatch out is wiped before we
 * return, so no byte of an unauthenticated record survives the call.
 */
#include "crypto/aead.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "crypto/hchacha20.h"
#include "crypto/ossl.h"
#include "err.h"

/*
 * One context per direction of use, each bound to ChaCha20-Poly1305 once:
 * re-binding the cipher on every call costs more than sealing a small
 * record, while a new key and nonce on a bound context cost almost nothing.
 */
struct aead_ctx {
	EVP_CIPHER_CTX *enc, *dec;
	/*
	 * The key each context holds now: a record direction seals many
	 * records under one key, and setting only the nonce is cheaper than
	 * setting both.  Secret; wiped on free.
	 */
	uint8_t enc_key[AEAD_KEY_LEN], dec_key[AEAD_KEY_LEN];
	int enc_keyed, dec_keyed;
	/* Retirements counted when each key was set (aead_ctx_sweep). */
	uint64_t enc_gen, dec_gen;
};

/*
 * Retired keys.  A context keeps the last key it was given, and OpenSSL's
 * state under it keeps that key's schedule, until a call with another key:
 * for a context many sessions share (a worker's, the loop's) that can be
 * long after the session retired the key.  Every retirement counts one
 * here; aead_ctx_sweep, which a context's owner calls when it goes idle,
 * drops a key set before the latest retirement.
 */
static _Atomic uint64_t retirements;

void
aead_key_retired(void)
{
	atomic_fetch_add_explicit(&retirements, 1, memory_order_release);
}

static uint64_t
retired_now(void)
{
	return atomic_load_explicit(&retirements, memory_order_acquire);
}

/* Point e at key and nonce, skipping the key setup when e already holds it. */
static int
rekey(EVP_CIPHER_CTX *e, uint8_t held[AEAD_KEY_LEN], int *keyed,
    uint64_t *gen, const uint8_t *key, const uint8_t *nonce, int enc)
{
	int same = *keyed && CRYPTO_memcmp(held, key, AEAD_KEY_LEN) == 0;

	if (EVP_CipherInit_ex2(e, NULL, same ? NULL : key, nonce, enc, NULL) != 1) {
		*keyed = 0;
		return STP_ECRYPTO;
	}
	if (!same) {
		memcpy(held, key, AEAD_KEY_LEN);
		*keyed = 1;
		*gen = retired_now();
	}
	return 0;
}

/*
 * Drop what e holds: OpenSSL frees its state with a wipe
 * (EVP_CIPHER_CTX_reset), and the context is bound to the cipher again.
 */
static int
unkey(EVP_CIPHER_CTX *e, uint8_t held[AEAD_KEY_LEN], int *keyed, int enc)
{
	const struct ossl_algs *a = ossl_algs();

	crypto_wipe(held, AEAD_KEY_LEN);
	*keyed = 0;
	if (a == NULL || EVP_CIPHER_CTX_reset(e) != 1 ||
	    EVP_CipherInit_ex2(e, a->chacha20_poly1305, NULL, NULL, enc, NULL) != 1)
		return STP_ECRYPTO;
	return 0;
}

int
aead_ctx_sweep(aead_ctx *c)
{
	uint64_t now;
	int rc = 0;

	if (c == NULL || (!c->enc_keyed && !c->dec_keyed))
		return 0;
	now = retired_now();
	if (c->enc_keyed && c->enc_gen < now && unkey(c->enc, c->enc_key,
	    &c->enc_keyed, 1) != 0)
		rc = STP_ECRYPTO;
	if (c->dec_keyed && c->dec_gen < now && unkey(c->dec, c->dec_key,
	    &c->dec_keyed, 0) != 0)
		rc = STP_ECRYPTO;
	return rc;
}

aead_ctx *
aead_ctx_new(void)
{
	aead_ctx *c;

	if (crypto_init() != 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->enc = EVP_CIPHER_CTX_new()) == NULL ||
	    (c->dec = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex2(c->enc, ossl_algs()->chacha20_poly1305, NULL, NULL,
	    NULL) != 1 ||
	    EVP_DecryptInit_ex2(c->dec, ossl_algs()->chacha20_poly1305, NULL, NULL,
	    NULL) != 1) {
		aead_ctx_free(c);
		return NULL;
	}
	return c;
}

void
aead_ctx_free(aead_ctx *c)
{
	if (c == NULL)
		return;
	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	crypto_wipe(c, sizeof(*c));
	free(c);
}

static int
lengths_ok(size_t aad_len, size_t len)
{
	return aad_len <= AEAD_MAX_PT && len <= AEAD_MAX_PT;
}

/* RFC 8439 AEAD seal with a 12-byte nonce; lengths already checked. */
static int
seal12(aead_ctx *c, const uint8_t *key, const uint8_t nonce[12],
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
    uint8_t *out)
{
	EVP_CIPHER_CTX *e = c->enc;
	int n, rc = STP_ECRYPTO;

	if (rekey(e, c->enc_key, &c->enc_keyed, &c->enc_gen, key, nonce, 1) != 0)
		goto out;
	if (aad_len > 0 && EVP_EncryptUpdate(e, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	if (pt_len > 0 && EVP_EncryptUpdate(e, out, &n, pt, (int)pt_len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(e, out + pt_len, &n) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN,
	    out + pt_len) != 1)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		crypto_wipe(out, pt_len + AEAD_TAG_LEN);
	return rc;
}

/* RFC 8439 AEAD open; in is ct || tag, in_len >= 16 already checked. */
static int
open12(aead_ctx *c, const uint8_t *key, const uint8_t nonce[12],
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
    uint8_t *out)
{
	EVP_CIPHER_CTX *d = c->dec;
	size_t ct_len = in_len - AEAD_TAG_LEN;
	uint8_t tag[AEAD_TAG_LEN];
	int n, rc = STP_ECRYPTO;

	/* Copy the tag first: with out == in, decryption may overwrite it. */
	memcpy(tag, in + ct_len, AEAD_TAG_LEN);
	if (rekey(d, c->dec_key, &c->dec_keyed, &c->dec_gen, key, nonce, 0) != 0)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(d, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) != 1)
		goto out;
	if (aad_len > 0 && EVP_DecryptUpdate(d, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	if (ct_len > 0 && EVP_DecryptUpdate(d, out, &n, in, (int)ct_len) != 1)
		goto out;
	/* Final compares the computed tag with ours in constant time. */
	rc = EVP_DecryptFinal_ex(d, out + ct_len, &n) == 1 ? 0 : STP_EAUTH;
out:
	if (rc != 0)
		crypto_wipe(out, ct_len);
	return rc;
}

int
aead_chacha_seal(aead_ctx *c, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *out)
{
	if (nonce_len != AEAD_CHACHA_NONCE_LEN || !lengths_ok(aad_len, pt_len))
		return STP_EINVAL;
	return seal12(c, key, nonce, aad, aad_len, pt, pt_len, out);
}

int
aead_chacha_open(aead_ctx *c, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t in_len, uint8_t *out)
{
	if (nonce_len != AEAD_CHACHA_NONCE_LEN || in_len < AEAD_TAG_LEN ||
	    !lengths_ok(aad_len, in_len))
		return STP_EINVAL;
	return open12(c, key, nonce, aad, aad_len, in, in_len, out);
}

/* XChaCha20 -> (subkey, 12-byte nonce 0^4 || nonce[16:24]). */
static void
xchacha_split(uint8_t subkey[32], uint8_t n12[12], const uint8_t *key,
    const uint8_t *nonce24)
{
	hchacha20(subkey, key, nonce24);
	memset(n12, 0, 4);
	memcpy(n12 + 4, nonce24 + 16, 8);
}

int
aead_xchacha_seal(aead_ctx *c, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *out)
{
	uint8_t subkey[32], n12[12];
	int rc;

	if (nonce_len != AEAD_XCHACHA_NONCE_LEN || !lengths_ok(aad_len, pt_len))
		return STP_EINVAL;
	xchacha_split(subkey, n12, key, nonce);
	rc = seal12(c, subkey, n12, aad, aad_len, pt, pt_len, out);
	crypto_wipe(subkey, sizeof(subkey));
	return rc;
}

int
aead_xchacha_open(aead_ctx *c, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t in_len, uint8_t *out)
{
	uint8_t subkey[32], n12[12];
	int rc;

	if (nonce_len != AEAD_XCHACHA_NONCE_LEN || in_len < AEAD_TAG_LEN ||
	    !lengths_ok(aad_len, in_len))
		return STP_EINVAL;
	xchacha_split(subkey, n12, key, nonce);
	rc = open12(c, subkey, n12, aad, aad_len, in, in_len, out);
	crypto_wipe(subkey, sizeof(subkey));
	return rc;
}

void
aead_dirkey_init(aead_dirkey *dk, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t prefix[AEAD_PREFIX_LEN])
{
	hchacha20(dk->subkey, key, prefix);
}

void
aead_dirkey_wipe(aead_dirkey *dk)
{
	crypto_wipe(dk, sizeof(*dk));
}

/* The ChaCha20-Poly1305 nonce of record seq: 0^4 || seq big-endian. */
static void
seq_nonce(uint8_t n12[12], uint64_t seq)
{
	int i;

	memset(n12, 0, 4);
	for (i = 0; i < 8; i++)
		n12[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

int
aead_dirkey_seal(aead_ctx *c, const aead_dirkey *dk, uint64_t seq,
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
    uint8_t *out)
{
	uint8_t n12[12];

	if (!lengths_ok(aad_len, pt_len))
		return STP_EINVAL;
	seq_nonce(n12, seq);
	return seal12(c, dk->subkey, n12, aad, aad_len, pt, pt_len, out);
}

int
aead_dirkey_open(aead_ctx *c, const aead_dirkey *dk, uint64_t seq,
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
    uint8_t *out)
{
	uint8_t n12[12];

	if (in_len < AEAD_TAG_LEN || !lengths_ok(aad_len, in_len))
		return STP_EINVAL;
	seq_nonce(n12, seq);
	return open12(c, dk->subkey, n12, aad, aad_len, in, in_len, out);
}

int
aead_chacha20_xor(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[12],
    uint32_t counter, const uint8_t *in, size_t len, uint8_t *out)
{
	const struct ossl_algs *a = ossl_algs();
	EVP_CIPHER_CTX *evp = NULL;
	uint8_t iv[16];
	int n, rc = STP_ECRYPTO;

	if (len > AEAD_MAX_PT)
		return STP_EINVAL;
	if (a == NULL || (evp = EVP_CIPHER_CTX_new()) == NULL)
		return STP_ECRYPTO;
	/* OpenSSL's ChaCha20 IV is the 32-bit block counter (LE) || nonce. */
	iv[0] = (uint8_t)counter;
	iv[1] = (uint8_t)(counter >> 8);
	iv[2] = (uint8_t)(counter >> 16);
	iv[3] = (uint8_t)(counter >> 24);
	memcpy(iv + 4, nonce, 12);
	if (EVP_EncryptInit_ex2(evp, a->chacha20, key, iv, NULL) != 1)
		goto out;
	if (len > 0 && EVP_EncryptUpdate(evp, out, &n, in, (int)len) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(evp);
	return rc;
}

int
aead_xchacha20_xor(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[24],
    uint32_t counter, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t subkey[32], n12[12];
	int rc;

	xchacha_split(subkey, n12, key, nonce);
	rc = aead_chacha20_xor(subkey, n12, counter, in, len, out);
	crypto_wipe(subkey, sizeof(subkey));
	return rc;
}

int
aead_poly1305(uint8_t tag[AEAD_TAG_LEN], const uint8_t key[32],
    const uint8_t *msg, size_t len)
{
	const struct ossl_algs *a = ossl_algs();
	EVP_MAC_CTX *m = NULL;
	size_t outl;
	int rc = STP_ECRYPTO;

	if (a == NULL || (m = EVP_MAC_CTX_new(a->poly1305)) == NULL)
		return STP_ECRYPTO;
	if (EVP_MAC_init(m, key, 32, NULL) != 1 ||
	    (len > 0 && EVP_MAC_update(m, msg, len) != 1) ||
	    EVP_MAC_final(m, tag, &outl, AEAD_TAG_LEN) != 1 ||
	    outl != AEAD_TAG_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(m);
	return rc;
}

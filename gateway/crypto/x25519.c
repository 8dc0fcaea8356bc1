/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x25519.c: X25519 through OpenSSL's EVP.  OpenSSL clamps the scalar, masks
 * bit 255 of u, and fails the derivation when the result is all zero; that
 * failure is the only one a well-formed call can meet, so we report it as
 * STP_EWEAKKEY.
 *
 * Where the time goes (OpenSSL 3.0.22 on this project's 2-CPU AMD EPYC VM:
 * best of 9 interleaved rounds of bench_crypto, instructions by callgrind):
 *   x25519_public       29 us  EVP_PKEY from the private key, which derives
 *                              the public key (~575,000 instructions) by
 *                              OpenSSL's fixed-base Edwards multiplication:
 *                              here no cheaper than the ladder below.
 *   x25519_keypair      32 us  rand_bytes, then x25519_public.
 *   x25519_shared_pair  36 us  EVP_PKEY_derive, the ladder: 504,000; set-up
 *                              ~88,000 (~8 us): our EVP_PKEY from both halves
 *                              72,000 (3.1 us), the peer's 32,500 (3.0 us),
 *                              the derive context 21,500 (1.9 us).
 *   x25519_shared       64 us  the same, deriving our public key again.
 * Each EVP_PKEY made and freed also takes ~7 process-wide write locks
 * (ENGINE and ex_data tables).  Only an object kept from key generation to
 * agreement (an API change for the handshake) could spare our EVP_PKEY,
 * ~3 us a side; the peer's key and the context are new per call by nature.
 */
#include "crypto/x25519.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto/crypto.h"
#include "crypto/rand.h"
#include "err.h"

int
x25519_public(uint8_t pub[X25519_LEN], const uint8_t priv[X25519_LEN])
{
	EVP_PKEY *k;
	size_t n = X25519_LEN;
	int rc = STP_ECRYPTO;

	if (crypto_init() != 0)
		return STP_ECRYPTO;
	k = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, X25519_LEN);
	if (k != NULL && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 &&
	    n == X25519_LEN)
		rc = 0;
	EVP_PKEY_free(k);
	return rc;
}

int
x25519_keypair(uint8_t priv[X25519_LEN], uint8_t pub[X25519_LEN])
{
	int rc;

	if ((rc = rand_bytes(priv, X25519_LEN)) == 0)
		rc = x25519_public(pub, priv);
	if (rc != 0)
		crypto_wipe(priv, X25519_LEN);
	return rc;
}

/* Derive with our key k (freed here) and the peer's public key. */
static int
derive(uint8_t out[X25519_LEN], EVP_PKEY *k, const uint8_t peer[X25519_LEN])
{
	EVP_PKEY *p = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t n = X25519_LEN;
	int rc = STP_ECRYPTO;

	p = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer, X25519_LEN);
	if (k == NULL || p == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, p, 0) != 1)
		goto out;
	if (EVP_PKEY_derive(ctx, out, &n) != 1 || n != X25519_LEN) {
		rc = STP_EWEAKKEY;
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		crypto_wipe(out, X25519_LEN);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(p);
	EVP_PKEY_free(k);
	return rc;
}

int
x25519_shared(uint8_t out[X25519_LEN], const uint8_t priv[X25519_LEN],
    const uint8_t peer[X25519_LEN])
{
	if (crypto_init() != 0)
		return STP_ECRYPTO;
	return derive(out, EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL,
	    priv, X25519_LEN), peer);
}

int
x25519_shared_pair(uint8_t out[X25519_LEN], const uint8_t priv[X25519_LEN],
    const uint8_t pub[X25519_LEN], const uint8_t peer[X25519_LEN])
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;

	if (crypto_init() != 0)
		return STP_ECRYPTO;
	/* Both halves given: OpenSSL skips deriving the public key. */
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,
	    (void *)priv, X25519_LEN);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pub, X25519_LEN);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	if (k == NULL) {
		crypto_wipe(out, X25519_LEN);
		return STP_ECRYPTO;
	}
	return derive(out, k, peer);
}

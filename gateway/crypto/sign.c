/*
 * sign.c: Ed25519 through OpenSSL's EVP (one-shot EVP_DigestSign, as pure
 * Ed25519 requires).  The EVP_PKEY is made once per key; each call uses its
 * own EVP_MD_CTX, so one key may sign on several threads at once.
 */
#include "crypto/sign.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "crypto/rand.h"
#include "err.h"

struct sign_key {
	EVP_PKEY *pkey;
	uint8_t pub[SIGN_PUB_LEN];
	uint8_t seed[SIGN_SEED_LEN];
};

int
sign_key_from_seed(sign_key **out, const uint8_t seed[SIGN_SEED_LEN])
{
	sign_key *k;
	size_t n = SIGN_PUB_LEN;
	int rc = STP_ECRYPTO;

	if (crypto_init() != 0)
		return STP_ECRYPTO;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return STP_ENOMEM;
	k->pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed,
	    SIGN_SEED_LEN);
	if (k->pkey == NULL ||
	    EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &n) != 1 ||
	    n != SIGN_PUB_LEN)
		goto out;
	memcpy(k->seed, seed, SIGN_SEED_LEN);
	*out = k;
	k = NULL;
	rc = 0;
out:
	sign_key_free(k);
	return rc;
}

int
sign_key_generate(sign_key **out)
{
	uint8_t seed[SIGN_SEED_LEN];
	int rc;

	if ((rc = rand_bytes(seed, sizeof(seed))) == 0)
		rc = sign_key_from_seed(out, seed);
	crypto_wipe(seed, sizeof(seed));
	return rc;
}

void
sign_key_public(const sign_key *k, uint8_t pub[SIGN_PUB_LEN])
{
	memcpy(pub, k->pub, SIGN_PUB_LEN);
}

void
sign_key_seed(const sign_key *k, uint8_t seed[SIGN_SEED_LEN])
{
	memcpy(seed, k->seed, SIGN_SEED_LEN);
}

void
sign_key_free(sign_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	crypto_wipe(k, sizeof(*k));
	free(k);
}

int
sign_sign(const sign_key *k, const uint8_t *msg, size_t len,
    uint8_t sig[SIGN_SIG_LEN])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t n = SIGN_SIG_LEN;
	int rc = STP_ECRYPTO;

	if (m == NULL)
		goto out;
	if (EVP_DigestSignInit_ex(m, NULL, NULL, NULL, NULL, k->pkey, NULL) != 1 ||
	    EVP_DigestSign(m, sig, &n, len ? msg : (const uint8_t *)"", len) != 1 ||
	    n != SIGN_SIG_LEN)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		crypto_wipe(sig, SIGN_SIG_LEN);
	EVP_MD_CTX_free(m);
	return rc;
}

int
sign_verify(const uint8_t pub[SIGN_PUB_LEN], const uint8_t *msg, size_t len,
    const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *m = NULL;
	int rc = STP_EVERIFY;

	if (sig_len != SIGN_SIG_LEN)
		return STP_EVERIFY;
	if (crypto_init() != 0)
		return STP_ECRYPTO;
	pk = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub,
	    SIGN_PUB_LEN);
	if (pk == NULL) {
		rc = STP_EKEY;
		goto out;
	}
	if ((m = EVP_MD_CTX_new()) == NULL) {
		rc = STP_ECRYPTO;
		goto out;
	}
	if (EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL, pk, NULL) != 1) {
		rc = STP_ECRYPTO;
		goto out;
	}
	/* 1 = valid; 0 = invalid; < 0 = could not decode (also invalid). */
	if (EVP_DigestVerify(m, sig, sig_len, len ? msg : (const uint8_t *)"",
	    len) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(pk);
	return rc;
}

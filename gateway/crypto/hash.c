/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hash.c: SHA-256, SHA-512 and HMAC-SHA-512 through OpenSSL's EVP.
 */
#include "crypto/hash.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "crypto/ossl.h"
#include "err.h"

struct hash_ctx {
	EVP_MD_CTX *md;
};

static int
digest(const EVP_MD *md, uint8_t *out, size_t out_len, const void *data,
    size_t len)
{
	unsigned int n = 0;

	if (md == NULL || EVP_Digest(data, len, out, &n, md, NULL) != 1 ||
	    n != out_len) {
		crypto_wipe(out, out_len);
		return STP_ECRYPTO;
	}
	return 0;
}

int
hash_sha256(uint8_t out[HASH_SHA256_LEN], const void *data, size_t len)
{
	const struct ossl_algs *a = ossl_algs();

	return digest(a ? a->sha256 : NULL, out, HASH_SHA256_LEN, data, len);
}

int
hash_sha512(uint8_t out[HASH_SHA512_LEN], const void *data, size_t len)
{
	const struct ossl_algs *a = ossl_algs();

	return digest(a ? a->sha512 : NULL, out, HASH_SHA512_LEN, data, len);
}

/*
 * HMAC (RFC 2104) over a digest fetched once: two digest passes and nothing
 * else.  OpenSSL's EVP_MAC fetches the digest by name and builds a MAC
 * context on every call, which cost more than the hashing itself for the
 * small inputs we MAC (mac1 of a HELLO: 2.3 of 7.6 us).
 */
static int
hmac(const EVP_MD *md, size_t block, uint8_t *out, size_t out_len,
    const void *key, size_t key_len, const void *data, size_t len)
{
	uint8_t k[128], pad[128], inner[HASH_SHA512_LEN];
	EVP_MD_CTX *c = NULL;
	unsigned int n = 0;
	size_t i;
	int rc = STP_ECRYPTO;

	memset(k, 0, sizeof(k));
	if (md == NULL || (c = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (key_len > block) {
		if (EVP_Digest(key, key_len, k, &n, md, NULL) != 1)
			goto out;
	} else if (key_len > 0) {
		memcpy(k, key, key_len);
	}
	for (i = 0; i < block; i++)
		pad[i] = k[i] ^ 0x36;
	if (EVP_DigestInit_ex(c, md, NULL) != 1 ||
	    EVP_DigestUpdate(c, pad, block) != 1 ||
	    (len > 0 && EVP_DigestUpdate(c, data, len) != 1) ||
	    EVP_DigestFinal_ex(c, inner, &n) != 1 || n != out_len)
		goto out;
	for (i = 0; i < block; i++)
		pad[i] = k[i] ^ 0x5c;
	if (EVP_DigestInit_ex(c, md, NULL) != 1 ||
	    EVP_DigestUpdate(c, pad, block) != 1 ||
	    EVP_DigestUpdate(c, inner, out_len) != 1 ||
	    EVP_DigestFinal_ex(c, out, &n) != 1 || n != out_len)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		crypto_wipe(out, out_len);
	crypto_wipe(k, sizeof(k));
	crypto_wipe(pad, sizeof(pad));
	crypto_wipe(inner, sizeof(inner));
	EVP_MD_CTX_free(c);
	return rc;
}

int
hash_hmac_sha512(uint8_t out[HASH_SHA512_LEN], const void *key, size_t key_len,
    const void *data, size_t len)
{
	const struct ossl_algs *a = ossl_algs();

	return hmac(a ? a->sha512 : NULL, 128, out, HASH_SHA512_LEN, key, key_len,
	    data, len);
}

int
hash_hmac_sha256(uint8_t out[HASH_SHA256_LEN], const void *key, size_t key_len,
    const void *data, size_t len)
{
	const struct ossl_algs *a = ossl_algs();

	return hmac(a ? a->sha256 : NULL, 64, out, HASH_SHA256_LEN, key, key_len,
	    data, len);
}

hash_ctx *
hash_sha512_new(void)
{
	const struct ossl_algs *a = ossl_algs();
	hash_ctx *h;

	if (a == NULL || (h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex2(h->md, a->sha512, NULL) != 1) {
		hash_free(h);
		return NULL;
	}
	return h;
}

int
hash_update(hash_ctx *h, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	return EVP_DigestUpdate(h->md, data, len) == 1 ? 0 : STP_ECRYPTO;
}

int
hash_peek(const hash_ctx *h, uint8_t out[HASH_SHA512_LEN])
{
	EVP_MD_CTX *tmp = EVP_MD_CTX_new();
	unsigned int n = 0;
	int rc = STP_ECRYPTO;

	/* Finalising consumes a context, so finalise a copy. */
	if (tmp != NULL && EVP_MD_CTX_copy_ex(tmp, h->md) == 1 &&
	    EVP_DigestFinal_ex(tmp, out, &n) == 1 && n == HASH_SHA512_LEN)
		rc = 0;
	if (rc != 0)
		crypto_wipe(out, HASH_SHA512_LEN);
	EVP_MD_CTX_free(tmp);
	return rc;
}

hash_ctx *
hash_dup(const hash_ctx *h)
{
	hash_ctx *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	if ((d->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_MD_CTX_copy_ex(d->md, h->md) != 1) {
		hash_free(d);
		return NULL;
	}
	return d;
}

void
hash_free(hash_ctx *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->md); /* cleanses the state */
	free(h);
}

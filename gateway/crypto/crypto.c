/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.c: one-time OpenSSL set-up and the wipe / constant-time compare
 * helpers.  Fetching an algorithm takes a global lock inside OpenSSL, so we
 * fetch each one once and share the (immutable) objects between threads.
 */
#include "crypto/crypto.h"

#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/ossl.h"
#include "err.h"

static struct ossl_algs algs;
static int algs_ok;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void
fetch_all(void)
{
	algs.chacha20_poly1305 = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	algs.chacha20 = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	algs.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	algs.sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
	algs.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	algs.poly1305 = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	algs.hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	algs_ok = algs.chacha20_poly1305 != NULL && algs.chacha20 != NULL &&
	    algs.sha256 != NULL && algs.sha512 != NULL && algs.hmac != NULL &&
	    algs.poly1305 != NULL && algs.hkdf != NULL;
}

int
crypto_init(void)
{
	if (pthread_once(&algs_once, fetch_all) != 0)
		return STP_ECRYPTO;
	return algs_ok ? 0 : STP_ECRYPTO;
}

const struct ossl_algs *
ossl_algs(void)
{
	return crypto_init() == 0 ? &algs : NULL;
}

/*
 * glibc's explicit_bzero is its vectorised memset behind a compiler barrier;
 * OPENSSL_cleanse stores a byte at a time, which showed as 5% of a gateway's
 * CPU when every opened record is wiped.
 */
void
crypto_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

int
crypto_memeq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

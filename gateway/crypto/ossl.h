/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ossl.h: private to gateway/crypto/.  The OpenSSL algorithm objects fetched
 * once by crypto_init(); read-only afterwards, so any thread may use them.
 */
#ifndef STP_OSSL_H
#define STP_OSSL_H

#include <openssl/evp.h>
#include <openssl/kdf.h>

struct ossl_algs {
	EVP_CIPHER *chacha20_poly1305;
	EVP_CIPHER *chacha20;
	EVP_MD *sha256;
	EVP_MD *sha512;
	EVP_MAC *hmac;
	EVP_MAC *poly1305;
	EVP_KDF *hkdf;
};

/* The fetched algorithms, or NULL if crypto_init() failed. */
const struct ossl_algs *ossl_algs(void);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kdf.c: HKDF-SHA512 (RFC 5869) through OpenSSL's EVP_KDF, in the three
 * modes: extract only, expand only, both.
 */
#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>

#include "crypto/crypto.h"
#include "crypto/ossl.h"
#include "err.h"

static int
hkdf(int mode, uint8_t *out, size_t out_len, const uint8_t *key,
    size_t key_len, const uint8_t *salt, size_t salt_len, const uint8_t *info,
    size_t info_len)
{
	const struct ossl_algs *a = ossl_algs();
	OSSL_PARAM p[6], *q = p;
	EVP_KDF_CTX *k = NULL;
	int rc = STP_ECRYPTO;

	if (a == NULL || (k = EVP_KDF_CTX_new(a->hkdf)) == NULL)
		goto out;
	*q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA512", 0);
	/* An empty key is legal in HKDF; OpenSSL wants a non-NULL pointer. */
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    key_len ? (void *)key : (void *)"", key_len);
	/* No salt param = HashLen zero bytes, which is what RFC 5869 says. */
	if (salt_len > 0)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, salt_len);
	if (info_len > 0)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)info, info_len);
	*q = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(k, out, out_len, p) != 1)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		crypto_wipe(out, out_len);
	EVP_KDF_CTX_free(k);
	return rc;
}

int
kdf_extract(uint8_t prk[KDF_PRK_LEN], const uint8_t *salt, size_t salt_len,
    const uint8_t *ikm, size_t ikm_len)
{
	return hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, prk, KDF_PRK_LEN, ikm,
	    ikm_len, salt, salt_len, NULL, 0);
}

int
kdf_expand(uint8_t *out, size_t out_len, const uint8_t *prk, size_t prk_len,
    const uint8_t *info, size_t info_len)
{
	if (out_len == 0 || out_len > KDF_MAX_OUT || prk_len < KDF_PRK_LEN)
		return STP_EINVAL;
	return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, out, out_len, prk, prk_len,
	    NULL, 0, info, info_len);
}

int
kdf_hkdf(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
    const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len)
{
	if (out_len == 0 || out_len > KDF_MAX_OUT)
		return STP_EINVAL;
	return hkdf(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, out, out_len, ikm,
	    ikm_len, salt, salt_len, info, info_len);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mlkem768_ossl.c: the "openssl" ML-KEM-768 backend: OpenSSL 3.5's ML-KEM
 * behind the five calls of mlkem768.h.  Built only when STP_HAVE_OSSL_MLKEM
 * is defined (OpenSSL 3.5 or newer found at build time).  Exports only
 * mlkem768_openssl.
 *
 * Keys cross into OpenSSL as their FIPS 203 byte encodings:
 *
 *   KeyGen_internal(d, z)  a keygen context for "ML-KEM-768" is given the
 *                          64-byte seed d || z ("seed",
 *                          OSSL_PKEY_PARAM_ML_KEM_SEED); ek and the 2400-byte
 *                          expanded dk are then read back as "pub" and "priv".
 *   ek                     imported as "pub" (EVP_PKEY_PUBLIC_KEY).  OpenSSL
 *                          decodes every 12-bit value and refuses the key if
 *                          one is >= q: that is the section 7.2 modulus check,
 *                          so a refused import means STP_EKEY.
 *   dk                     imported as "priv" (EVP_PKEY_KEYPAIR).  OpenSSL
 *                          refuses it when the stored H(ek) differs from the
 *                          hash of the embedded ek (the section 7.3 check),
 *                          and also when a value of dk_PKE or of the embedded
 *                          ek is >= q or its pairwise encaps/decaps test
 *                          fails; any refusal means STP_EKEY.  (Those extra
 *                          checks only refuse keys KeyGen cannot produce; the
 *                          builtin backend, which checks only what section
 *                          7.3 asks, would accept them.)
 *   Encaps_internal(ek, m) m goes in as "ikme" (OSSL_KEM_PARAM_IKME), the
 *                          parameter OpenSSL offers for deterministic
 *                          encapsulation; without it OpenSSL draws m itself.
 *
 * The lengths are checked here first, so OpenSSL only ever sees keys and
 * ciphertexts of the right size.  Every EVP object is freed on every path.
 * OpenSSL writes into local buffers that are copied out only on success and
 * wiped afterwards: on failure keygen zeroes ek and dk, encaps leaves ct and
 * ss untouched, decaps zeroes ss.  A refused key also clears the errors
 * OpenSSL queued for it: a bad peer key is not an internal error.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>

#include "crypto/crypto.h"
#include "crypto/mlkem768.h"
#include "err.h"

#if !OPENSSL_VERSION_PREREQ(3, 5)
#error "mlkem768_ossl.c needs OpenSSL 3.5 or newer"
#endif

#define ALG "ML-KEM-768"

/*
 * Import one FIPS 203 encoding: ek as "pub" with EVP_PKEY_PUBLIC_KEY, or the
 * expanded dk as "priv" with EVP_PKEY_KEYPAIR.  Returns 0 with *out set,
 * STP_EKEY if OpenSSL refused the bytes, or STP_ECRYPTO if it could not even
 * start (no context: out of memory, or no ML-KEM in the loaded providers).
 */
static int
import_key(EVP_PKEY **out, const char *param, int selection,
    const uint8_t *buf, size_t len)
{
	EVP_PKEY_CTX *ctx;
	OSSL_PARAM params[2];
	int rc = STP_ECRYPTO;

	*out = NULL;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, ALG, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1)
		goto out;
	params[0] = OSSL_PARAM_construct_octet_string(param, (void *)buf, len);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata(ctx, out, selection, params) != 1) {
		/* EVP_PKEY_fromdata frees the key it made and resets *out. */
		*out = NULL;
		ERR_clear_error();
		rc = STP_EKEY;
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* ML-KEM.KeyGen_internal(d, z) (FIPS 203 Algorithm 16). */
static int
keygen_derand(uint8_t *ek, uint8_t *dk, const uint8_t d[MLKEM768_SEED_LEN],
    const uint8_t z[MLKEM768_SEED_LEN])
{
	uint8_t seed[2 * MLKEM768_SEED_LEN];
	uint8_t ek_out[MLKEM768_EK_LEN], dk_out[MLKEM768_DK_LEN];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM params[2];
	size_t n;
	int rc = STP_ECRYPTO;

	memcpy(seed, d, MLKEM768_SEED_LEN);
	memcpy(seed + MLKEM768_SEED_LEN, z, MLKEM768_SEED_LEN);
	if (crypto_init() != 0)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, ALG, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) != 1)
		goto out;
	params[0] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_ML_KEM_SEED, seed, sizeof(seed));
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_CTX_set_params(ctx, params) != 1 ||
	    EVP_PKEY_generate(ctx, &pkey) != 1)
		goto out;
	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY,
	    ek_out, sizeof(ek_out), &n) != 1 || n != sizeof(ek_out))
		goto out;
	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY,
	    dk_out, sizeof(dk_out), &n) != 1 || n != sizeof(dk_out))
		goto out;
	memcpy(ek, ek_out, sizeof(ek_out));
	memcpy(dk, dk_out, sizeof(dk_out));
	rc = 0;
out:
	if (rc != 0) {
		crypto_wipe(ek, MLKEM768_EK_LEN);
		crypto_wipe(dk, MLKEM768_DK_LEN);
	}
	crypto_wipe(seed, sizeof(seed));
	crypto_wipe(dk_out, sizeof(dk_out));
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* Section 7.2 check (length, then OpenSSL's decode), then Encaps_internal. */
static int
encaps_derand(uint8_t *ct, uint8_t ss[MLKEM768_SS_LEN], const uint8_t *ek,
    size_t ek_len, const uint8_t m[MLKEM768_SEED_LEN])
{
	uint8_t ct_out[MLKEM768_CT_LEN], ss_out[MLKEM768_SS_LEN];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM params[2];
	size_t ct_n = sizeof(ct_out), ss_n = sizeof(ss_out);
	int rc;

	if (ek == NULL || ek_len != MLKEM768_EK_LEN)
		return STP_EKEY;
	if (crypto_init() != 0)
		return STP_ECRYPTO;
	if ((rc = import_key(&pkey, OSSL_PKEY_PARAM_PUB_KEY,
	    EVP_PKEY_PUBLIC_KEY, ek, ek_len)) != 0)
		goto out;
	rc = STP_ECRYPTO;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KEM_PARAM_IKME,
	    (void *)m, MLKEM768_SEED_LEN);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_encapsulate_init(ctx, params) != 1)
		goto out;
	if (EVP_PKEY_encapsulate(ctx, ct_out, &ct_n, ss_out, &ss_n) != 1 ||
	    ct_n != sizeof(ct_out) || ss_n != sizeof(ss_out))
		goto out;
	memcpy(ct, ct_out, sizeof(ct_out));
	memcpy(ss, ss_out, sizeof(ss_out));
	rc = 0;
out:
	crypto_wipe(ss_out, sizeof(ss_out));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc;
}

/*
 * Section 7.3 checks (ct length, dk length, then OpenSSL's import, which
 * compares H(ek)), then Decaps_internal; OpenSSL does the implicit rejection
 * itself, returning J(z || c) for a ciphertext that does not re-encrypt.
 */
static int
decaps(uint8_t ss[MLKEM768_SS_LEN], const uint8_t *ct, size_t ct_len,
    const uint8_t *dk, size_t dk_len)
{
	uint8_t ss_out[MLKEM768_SS_LEN];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	size_t ss_n = sizeof(ss_out);
	int rc;

	if (ct == NULL || ct_len != MLKEM768_CT_LEN) {
		rc = STP_EINVAL;
		goto out;
	}
	if (dk == NULL || dk_len != MLKEM768_DK_LEN) {
		rc = STP_EKEY;
		goto out;
	}
	if (crypto_init() != 0) {
		rc = STP_ECRYPTO;
		goto out;
	}
	if ((rc = import_key(&pkey, OSSL_PKEY_PARAM_PRIV_KEY,
	    EVP_PKEY_KEYPAIR, dk, dk_len)) != 0)
		goto out;
	rc = STP_ECRYPTO;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_decapsulate_init(ctx, NULL) != 1)
		goto out;
	if (EVP_PKEY_decapsulate(ctx, ss_out, &ss_n, ct, ct_len) != 1 ||
	    ss_n != sizeof(ss_out))
		goto out;
	memcpy(ss, ss_out, sizeof(ss_out));
	rc = 0;
out:
	if (rc != 0)
		crypto_wipe(ss, MLKEM768_SS_LEN);
	crypto_wipe(ss_out, sizeof(ss_out));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc;
}

/*
 * The checks alone, by importing.  The header allows only 0 or STP_EKEY, so
 * a key that cannot be checked at all (OpenSSL failed internally) is refused
 * too.
 */
static int
check_ek(const uint8_t *ek, size_t ek_len)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	if (ek == NULL || ek_len != MLKEM768_EK_LEN || crypto_init() != 0)
		return STP_EKEY;
	rc = import_key(&pkey, OSSL_PKEY_PARAM_PUB_KEY, EVP_PKEY_PUBLIC_KEY,
	    ek, ek_len);
	EVP_PKEY_free(pkey);
	return rc == 0 ? 0 : STP_EKEY;
}

static int
check_dk(const uint8_t *dk, size_t dk_len)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	if (dk == NULL || dk_len != MLKEM768_DK_LEN || crypto_init() != 0)
		return STP_EKEY;
	rc = import_key(&pkey, OSSL_PKEY_PARAM_PRIV_KEY, EVP_PKEY_KEYPAIR,
	    dk, dk_len);
	EVP_PKEY_free(pkey);
	return rc == 0 ? 0 : STP_EKEY;
}

const mlkem768_backend mlkem768_openssl = {
	"openssl",
	keygen_derand,
	encaps_derand,
	decaps,
	check_ek,
	check_dk,
};

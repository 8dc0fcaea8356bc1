/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mlkem768.c: ML-KEM-768 backend selection and the randomised convenience
 * calls.  The backends themselves are mlkem768_ref.c (always built) and
 * mlkem768_ossl.c (OpenSSL 3.5+, when STP_HAVE_OSSL_MLKEM is defined).
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "crypto/crypto.h"
#include "crypto/mlkem768.h"
#include "crypto/rand.h"

/* Every backend built in, the preferred one first; NULL-terminated. */
static const mlkem768_backend *const backends[] = {
#ifdef STP_HAVE_OSSL_MLKEM
	&mlkem768_openssl,
#endif
	&mlkem768_builtin,
	NULL,
};

const mlkem768_backend *
mlkem768_default(void)
{
	return backends[0];
}

const mlkem768_backend *const *
mlkem768_backends(void)
{
	return backends;
}

/*
 * ML-KEM.KeyGen (Algorithm 19): d and z fresh from the RNG, then
 * KeyGen_internal.  On failure ek and dk are zeroed.
 */
int
mlkem768_keygen(uint8_t ek[MLKEM768_EK_LEN], uint8_t dk[MLKEM768_DK_LEN])
{
	uint8_t dz[2 * MLKEM768_SEED_LEN];
	int rc;

	if ((rc = rand_bytes(dz, sizeof(dz))) == 0)
		rc = mlkem768_default()->keygen_derand(ek, dk, dz,
		    dz + MLKEM768_SEED_LEN);
	crypto_wipe(dz, sizeof(dz));
	if (rc != 0) {
		crypto_wipe(ek, MLKEM768_EK_LEN);
		crypto_wipe(dk, MLKEM768_DK_LEN);
		return rc < 0 ? rc : STP_ECRYPTO;
	}
	return STP_OK;
}

/*
 * ML-KEM.Encaps (Algorithm 20): m fresh from the RNG, then the backend's ek
 * check and Encaps_internal.  Nothing is written on failure.
 */
int
mlkem768_encaps(uint8_t ct[MLKEM768_CT_LEN], uint8_t ss[MLKEM768_SS_LEN],
    const uint8_t *ek, size_t ek_len)
{
	uint8_t m[MLKEM768_SEED_LEN];
	int rc;

	if ((rc = rand_bytes(m, sizeof(m))) == 0)
		rc = mlkem768_default()->encaps_derand(ct, ss, ek, ek_len, m);
	crypto_wipe(m, sizeof(m));
	if (rc != 0)
		return rc < 0 ? rc : STP_ECRYPTO;
	return STP_OK;
}

/* ML-KEM.Decaps (Algorithm 21): no randomness; the backend does the rest. */
int
mlkem768_decaps(uint8_t ss[MLKEM768_SS_LEN], const uint8_t *ct,
    size_t ct_len, const uint8_t *dk, size_t dk_len)
{
	return mlkem768_default()->decaps(ss, ct, ct_len, dk, dk_len);
}

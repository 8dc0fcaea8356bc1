/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mlkem768.h: ML-KEM-768 (FIPS 203).
 *
 * Two backends with one shape: "builtin" (mlkem768_ref.c, portable C of our
 * own, constant time on secrets) and, when the OpenSSL found at build time is
 * 3.5 or newer, "openssl" (mlkem768_ossl.c).  mlkem768_default() picks OpenSSL's
 * where built, else ours; tests run every backend in mlkem768_backends().
 *
 * Keys and ciphertexts are the FIPS 203 byte encodings; dk is the full
 * 2400-byte expanded form dk_PKE || ek || H(ek) || z.  Lengths are passed in
 * so that the section 7 input checks can refuse wrong sizes.
 */
#ifndef STP_MLKEM768_H
#define STP_MLKEM768_H

#include <stddef.h>
#include <stdint.h>

#define MLKEM768_EK_LEN 1184
#define MLKEM768_DK_LEN 2400
#define MLKEM768_CT_LEN 1088
#define MLKEM768_SS_LEN 32
#define MLKEM768_SEED_LEN 32 /* each of d, z, m */

typedef struct mlkem768_backend {
	const char *name;
	/*
	 * ML-KEM.KeyGen_internal(d, z): writes ek (1184) and dk (2400).
	 * Returns 0 or STP_ECRYPTO.
	 */
	int (*keygen_derand)(uint8_t *ek, uint8_t *dk,
	    const uint8_t d[MLKEM768_SEED_LEN], const uint8_t z[MLKEM768_SEED_LEN]);
	/*
	 * Encapsulation-key check (FIPS 203 section 7.2: length, and every
	 * coefficient < q), then ML-KEM.Encaps_internal(ek, m): writes ct (1088)
	 * and ss (32).  Returns 0, STP_EKEY (check failed; nothing written) or
	 * STP_ECRYPTO.
	 */
	int (*encaps_derand)(uint8_t *ct, uint8_t ss[MLKEM768_SS_LEN],
	    const uint8_t *ek, size_t ek_len, const uint8_t m[MLKEM768_SEED_LEN]);
	/*
	 * Input checks (section 7.3: ct length 1088, dk length 2400, H(ek) stored
	 * in dk matches), then ML-KEM.Decaps_internal with implicit rejection:
	 * a ciphertext that does not re-encrypt gives J(z || ct), not an error.
	 * Returns 0, STP_EINVAL (ct length), STP_EKEY (dk check) or STP_ECRYPTO;
	 * on error ss is zeroed.
	 */
	int (*decaps)(uint8_t ss[MLKEM768_SS_LEN], const uint8_t *ct, size_t ct_len,
	    const uint8_t *dk, size_t dk_len);
	/* The checks alone: 0 if the key passes, STP_EKEY if not. */
	int (*check_ek)(const uint8_t *ek, size_t ek_len);
	int (*check_dk)(const uint8_t *dk, size_t dk_len);
} mlkem768_backend;

extern const mlkem768_backend mlkem768_builtin;
#ifdef STP_HAVE_OSSL_MLKEM
extern const mlkem768_backend mlkem768_openssl;
#endif

/* The backend the gateway uses. */
const mlkem768_backend *mlkem768_default(void);
/* NULL-terminated list of every backend built in. */
const mlkem768_backend *const *mlkem768_backends(void);

/* Convenience calls on the default backend, drawing d, z and m from rand_bytes. */
int mlkem768_keygen(uint8_t ek[MLKEM768_EK_LEN], uint8_t dk[MLKEM768_DK_LEN]);
int mlkem768_encaps(uint8_t ct[MLKEM768_CT_LEN], uint8_t ss[MLKEM768_SS_LEN],
    const uint8_t *ek, size_t ek_len);
int mlkem768_decaps(uint8_t ss[MLKEM768_SS_LEN], const uint8_t *ct,
    size_t ct_len, const uint8_t *dk, size_t dk_len);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kdf.h: HKDF with SHA-512 (RFC 5869).
 */
#ifndef STP_KDF_H
#define STP_KDF_H

#include <stddef.h>
#include <stdint.h>

#define KDF_PRK_LEN 64
#define KDF_MAX_OUT (255 * 64) /* RFC 5869: L <= 255 * HashLen */

/* PRK = HMAC-SHA512(salt, ikm); an empty salt means 64 zero bytes.  0 or STP_ECRYPTO. */
int kdf_extract(uint8_t prk[KDF_PRK_LEN], const uint8_t *salt, size_t salt_len,
    const uint8_t *ikm, size_t ikm_len);

/*
 * OKM = HKDF-Expand(prk, info, out_len).  prk_len must be >= 64; out_len in
 * 1..KDF_MAX_OUT, else STP_EINVAL and nothing written.
 */
int kdf_expand(uint8_t *out, size_t out_len, const uint8_t *prk, size_t prk_len,
    const uint8_t *info, size_t info_len);

/* Extract then expand. */
int kdf_hkdf(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
    const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len);

#endif

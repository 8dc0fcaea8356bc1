/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hash.h: SHA-256, SHA-512 (one-shot and running, for handshake transcripts),
 * HMAC-SHA-512 and HMAC-SHA-256.  SHA-3/SHAKE live in keccak.h (ML-KEM needs its own fast
 * incremental XOF).
 */
#ifndef STP_HASH_H
#define STP_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SHA256_LEN 32
#define HASH_SHA512_LEN 64

/* One-shot digests.  Return 0 or STP_ECRYPTO. */
int hash_sha256(uint8_t out[HASH_SHA256_LEN], const void *data, size_t len);
int hash_sha512(uint8_t out[HASH_SHA512_LEN], const void *data, size_t len);

/* HMAC-SHA-512 of data under key.  Returns 0 or STP_ECRYPTO. */
int hash_hmac_sha512(uint8_t out[HASH_SHA512_LEN], const void *key,
    size_t key_len, const void *data, size_t len);

/* HMAC-SHA-256 (admission plugins' stateless challenges).  0 or STP_ECRYPTO. */
int hash_hmac_sha256(uint8_t out[HASH_SHA256_LEN], const void *key,
    size_t key_len, const void *data, size_t len);
/* A running SHA-512. */
typedef struct hash_ctx hash_ctx;

/* New running SHA-512, or NULL when out of memory. */
hash_ctx *hash_sha512_new(void);
/* Absorb len bytes.  Returns 0 or STP_ECRYPTO. */
int hash_update(hash_ctx *h, const void *data, size_t len);
/* Digest of everything absorbed so far; h stays usable.  0 or STP_ECRYPTO. */
int hash_peek(const hash_ctx *h, uint8_t out[HASH_SHA512_LEN]);
/* A copy of h (same state), or NULL. */
hash_ctx *hash_dup(const hash_ctx *h);
/* Frees h; hash_free(NULL) is a no-op. */
void hash_free(hash_ctx *h);

#endif

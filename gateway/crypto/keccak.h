/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keccak.h: SHA3-256, SHA3-512, SHAKE-128 and SHAKE-256 (FIPS 202), our own
 * Keccak-f[1600].  ML-KEM calls these many times on short inputs and needs
 * SHAKE squeezed incrementally, which OpenSSL 3.0's EVP cannot do; a plain
 * struct with no allocation also keeps ML-KEM free of failure paths.
 * Constant time in the data (no data-dependent branch or index).
 */
#ifndef STP_KECCAK_H
#define STP_KECCAK_H

#include <stddef.h>
#include <stdint.h>

typedef struct keccak_ctx {
	uint64_t s[25];
	unsigned rate; /* bytes: 168 SHAKE-128, 136 SHAKE-256/SHA3-256, 72 SHA3-512 */
	unsigned pos;  /* bytes absorbed into / squeezed from the current block */
	uint8_t dsep;  /* domain separation byte: 0x1f SHAKE, 0x06 SHA-3 */
	uint8_t squeezing;
} keccak_ctx;

void shake128_init(keccak_ctx *k);
void shake256_init(keccak_ctx *k);
/* Absorb more input; only before the first squeeze. */
void keccak_absorb(keccak_ctx *k, const void *in, size_t len);
/* Squeeze len more bytes of output; the first call pads and switches to squeezing. */
void keccak_squeeze(keccak_ctx *k, void *out, size_t len);
/* Wipe the state. */
void keccak_wipe(keccak_ctx *k);

void sha3_256(uint8_t out[32], const void *in, size_t len);
void sha3_512(uint8_t out[64], const void *in, size_t len);
void shake128(void *out, size_t out_len, const void *in, size_t len);
void shake256(void *out, size_t out_len, const void *in, size_t len);

#endif

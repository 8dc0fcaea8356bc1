/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hchacha20.c: HChaCha20, draft-irtf-cfrg-xchacha-03 section 2.2.
 *
 * The state is the ChaCha20 block state with the 16-byte input in place of
 * counter || nonce: "expand 32-byte k" constants, 8 key words, 4 input words,
 * all little-endian.  After 20 rounds (10 column + diagonal double rounds)
 * the output is words 0..3 and 12..15, without the final addition of the
 * input state that a ChaCha20 block would do.  Only additions, xors and fixed
 * rotations: constant time by construction.
 */
#include "crypto/hchacha20.h"

#include "crypto/crypto.h"

#define ROTL32(v, n) (((v) << (n)) | ((v) >> (32 - (n))))

#define QR(a, b, c, d) do {                                  \
	a += b; d ^= a; d = ROTL32(d, 16);                     \
	c += d; b ^= c; b = ROTL32(b, 12);                     \
	a += b; d ^= a; d = ROTL32(d, 8);                      \
	c += d; b ^= c; b = ROTL32(b, 7);                      \
} while (0)

static uint32_t
load32_le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
store32_le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void
hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t in[16])
{
	uint32_t x[16];
	int i;

	x[0] = 0x61707865; /* "expa" */
	x[1] = 0x3320646e; /* "nd 3" */
	x[2] = 0x79622d32; /* "2-by" */
	x[3] = 0x6b206574; /* "te k" */
	for (i = 0; i < 8; i++)
		x[4 + i] = load32_le(key + 4 * i);
	for (i = 0; i < 4; i++)
		x[12 + i] = load32_le(in + 4 * i);

	for (i = 0; i < 10; i++) {
		/* column round */
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		/* diagonal round */
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}

	for (i = 0; i < 4; i++) {
		store32_le(out + 4 * i, x[i]);
		store32_le(out + 16 + 4 * i, x[12 + i]);
	}
	crypto_wipe(x, sizeof(x));
}

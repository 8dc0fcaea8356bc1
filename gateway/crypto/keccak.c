/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keccak.c: Keccak-f[1600] and the sponge on top of it (FIPS 202), giving
 * SHA3-256, SHA3-512, SHAKE-128 and SHAKE-256 as declared in keccak.h.
 *
 * The state is 25 64-bit lanes; lane (x, y) is s[x + 5y] and byte i of the
 * sponge's byte view is byte i % 8 (little-endian) of lane i / 8.  Bytes are
 * moved in and out with explicit shifts, so the code does not depend on the
 * host's byte order or alignment.  Nothing branches on or indexes by data:
 * the only branches depend on lengths and positions.
 */
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "crypto/keccak.h"

#define SHAKE128_RATE 168
#define SHAKE256_RATE 136
#define SHA3_256_RATE 136
#define SHA3_512_RATE 72

/*
 * The domain separation bits of FIPS 202 section 6 (01 for SHA-3, 1111 for
 * SHAKE) merged with the first bit of the pad10*1 padding, as one byte.
 */
#define DSEP_SHA3 0x06
#define DSEP_SHAKE 0x1f

#define ROL64(v, n) (((v) << (n)) | ((v) >> ((64 - (n)) & 63)))

/*
 * Round constants RC[i] for the iota step, i = 0..23: bit 2^j - 1 of RC[i] is
 * rc(j + 7i) for j = 0..6, rc being the LFSR of FIPS 202 Algorithm 5
 * (x^8 + x^6 + x^5 + x^4 + 1).  Computed once by a small generator.
 */
static const uint64_t keccak_rc[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL,
	0x800000000000808aULL, 0x8000000080008000ULL,
	0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL,
	0x000000000000008aULL, 0x0000000000000088ULL,
	0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL,
	0x8000000000008089ULL, 0x8000000000008003ULL,
	0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL,
	0x8000000080008081ULL, 0x8000000000008080ULL,
	0x0000000080000001ULL, 0x8000000080008008ULL,
};

static uint64_t
load64_le(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	    (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static void
store64_le(uint8_t *p, uint64_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	p[4] = (uint8_t)(v >> 32);
	p[5] = (uint8_t)(v >> 40);
	p[6] = (uint8_t)(v >> 48);
	p[7] = (uint8_t)(v >> 56);
}

/* rho offsets (FIPS 202 Table 2) indexed by lane x + 5y. */
static const unsigned keccak_rho[25] = {
	0, 1, 62, 28, 27,
	36, 44, 6, 55, 20,
	3, 10, 43, 25, 39,
	41, 45, 15, 21, 8,
	18, 2, 61, 56, 14,
};

/*
 * One round Rnd(A, ir) (FIPS 202 section 3.3) from lanes A[] into lanes E[].
 *
 * theta: C[x] is the parity of column x, and every lane (x, y) is XORed with
 * D[x] = C[x - 1] ^ ROT(C[x + 1], 1).
 * rho and pi: pi sets A'[x, y] = A[(x + 3y) mod 5, x], so the lane landing
 * at (X, Y) is source lane ((X + 3Y) mod 5, X), rotated by that source
 * lane's rho offset.  KECCAK_B gives it, theta included.
 * chi works on one row at a time: E[X, Y] = B[X] ^ (~B[X + 1] & B[X + 2]),
 * so only the five B values of the row are live at once.
 * iota XORs the round constant into lane (0, 0).
 *
 * All indices are constant expressions, so after expansion every lane is a
 * plain variable to the compiler.
 */
#define KECCAK_SRC(X, Y) (((X) + 3 * (Y)) % 5 + 5 * (X))
#define KECCAK_B(A, X, Y) \
	ROL64((A)[KECCAK_SRC(X, Y)] ^ d[((X) + 3 * (Y)) % 5], \
	    keccak_rho[KECCAK_SRC(X, Y)])
#define KECCAK_ROW(A, E, Y) do { \
	b0 = KECCAK_B(A, 0, Y); \
	b1 = KECCAK_B(A, 1, Y); \
	b2 = KECCAK_B(A, 2, Y); \
	b3 = KECCAK_B(A, 3, Y); \
	b4 = KECCAK_B(A, 4, Y); \
	(E)[5 * (Y) + 0] = b0 ^ (~b1 & b2); \
	(E)[5 * (Y) + 1] = b1 ^ (~b2 & b3); \
	(E)[5 * (Y) + 2] = b2 ^ (~b3 & b4); \
	(E)[5 * (Y) + 3] = b3 ^ (~b4 & b0); \
	(E)[5 * (Y) + 4] = b4 ^ (~b0 & b1); \
} while (0)
#define KECCAK_ROUND(A, E, RC) do { \
	c0 = (A)[0] ^ (A)[5] ^ (A)[10] ^ (A)[15] ^ (A)[20]; \
	c1 = (A)[1] ^ (A)[6] ^ (A)[11] ^ (A)[16] ^ (A)[21]; \
	c2 = (A)[2] ^ (A)[7] ^ (A)[12] ^ (A)[17] ^ (A)[22]; \
	c3 = (A)[3] ^ (A)[8] ^ (A)[13] ^ (A)[18] ^ (A)[23]; \
	c4 = (A)[4] ^ (A)[9] ^ (A)[14] ^ (A)[19] ^ (A)[24]; \
	d[0] = c4 ^ ROL64(c1, 1); \
	d[1] = c0 ^ ROL64(c2, 1); \
	d[2] = c1 ^ ROL64(c3, 1); \
	d[3] = c2 ^ ROL64(c4, 1); \
	d[4] = c3 ^ ROL64(c0, 1); \
	KECCAK_ROW(A, E, 0); \
	KECCAK_ROW(A, E, 1); \
	KECCAK_ROW(A, E, 2); \
	KECCAK_ROW(A, E, 3); \
	KECCAK_ROW(A, E, 4); \
	(E)[0] ^= (RC); \
} while (0)

/*
 * Keccak-f[1600] (FIPS 202 Algorithm 7): 24 rounds, two per loop pass so the
 * state moves a -> e -> a without copying.
 */
static void
keccak_f1600(uint64_t st[25])
{
	uint64_t a[25], e[25], d[5];
	uint64_t b0, b1, b2, b3, b4, c0, c1, c2, c3, c4;
	unsigned i, r;

	for (i = 0; i < 25; i++)
		a[i] = st[i];
	for (r = 0; r < 24; r += 2) {
		KECCAK_ROUND(a, e, keccak_rc[r]);
		KECCAK_ROUND(e, a, keccak_rc[r + 1]);
	}
	for (i = 0; i < 25; i++)
		st[i] = a[i];
}

#undef KECCAK_ROUND
#undef KECCAK_ROW
#undef KECCAK_B
#undef KECCAK_SRC

/*
 * The permutation's working state is secret when the sponge's input is
 * (ML-KEM's PRF of its noise seed), and it outlives the call in the dead
 * stack below its caller: the compiler keeps the 50 lanes of a and e in
 * registers and spills them where it likes, so wiping a and e in
 * keccak_f1600 does not reach them.  keccak_wipe, which ends every sponge
 * that saw a secret, runs this: one frame of KECCAK_BURN zero bytes laid
 * over the frames the sponge's calls used (measured: under 1 KiB for
 * keccak_squeeze with keccak_f1600 inside it).  About 50 ns, once per
 * sponge, not per permutation.
 */
#define KECCAK_BURN 4096

static __attribute__((noinline)) void
burn_stack(void)
{
	uint8_t region[KECCAK_BURN];

	crypto_wipe(region, sizeof(region));
	__asm__ __volatile__("" : : "r"(region) : "memory");
}

/* XOR len bytes of in into the byte view of the state from byte pos on. */
static void
xor_bytes(uint64_t st[25], unsigned pos, const uint8_t *in, size_t len)
{
	/* Leading bytes up to a lane boundary, */
	while (len > 0 && (pos & 7) != 0) {
		st[pos >> 3] ^= (uint64_t)*in++ << (8 * (pos & 7));
		pos++;
		len--;
	}
	/* whole lanes, */
	while (len >= 8) {
		st[pos >> 3] ^= load64_le(in);
		in += 8;
		pos += 8;
		len -= 8;
	}
	/* trailing bytes. */
	while (len > 0) {
		st[pos >> 3] ^= (uint64_t)*in++ << (8 * (pos & 7));
		pos++;
		len--;
	}
}

/* Copy len bytes of the state's byte view, from byte pos on, to out. */
static void
extract_bytes(const uint64_t st[25], unsigned pos, uint8_t *out, size_t len)
{
	while (len > 0 && (pos & 7) != 0) {
		*out++ = (uint8_t)(st[pos >> 3] >> (8 * (pos & 7)));
		pos++;
		len--;
	}
	while (len >= 8) {
		store64_le(out, st[pos >> 3]);
		out += 8;
		pos += 8;
		len -= 8;
	}
	while (len > 0) {
		*out++ = (uint8_t)(st[pos >> 3] >> (8 * (pos & 7)));
		pos++;
		len--;
	}
}

static void
keccak_init(keccak_ctx *k, unsigned rate, uint8_t dsep)
{
	unsigned i;

	for (i = 0; i < 25; i++)
		k->s[i] = 0;
	k->rate = rate;
	k->pos = 0;
	k->dsep = dsep;
	k->squeezing = 0;
}

void
shake128_init(keccak_ctx *k)
{
	keccak_init(k, SHAKE128_RATE, DSEP_SHAKE);
}

void
shake256_init(keccak_ctx *k)
{
	keccak_init(k, SHAKE256_RATE, DSEP_SHAKE);
}

/*
 * Absorb: XOR input into the first rate bytes of the state, permuting each
 * time a block fills.  A full block is permuted at once, so pos < rate
 * between calls and the padding always has room in the current block.
 */
void
keccak_absorb(keccak_ctx *k, const void *in, size_t len)
{
	const uint8_t *p = in;
	size_t n;

	if (k->squeezing)
		return; /* misuse: the sponge has been finalised */
	while (len > 0) {
		n = k->rate - k->pos;
		if (n > len)
			n = len;
		xor_bytes(k->s, k->pos, p, n);
		k->pos += (unsigned)n;
		p += n;
		len -= n;
		if (k->pos == k->rate) {
			keccak_f1600(k->s);
			k->pos = 0;
		}
	}
}

/*
 * Squeeze.  The first call pads (domain bits and the leading 1 of pad10*1 at
 * pos, the final 1 in the last byte of the block; they share a byte when pos
 * = rate - 1) and permutes.  Output is then read from the first rate bytes,
 * permuting again whenever a block has been used up, so output of any length
 * may be taken in any number of calls.
 */
void
keccak_squeeze(keccak_ctx *k, void *out, size_t len)
{
	uint8_t *p = out;
	size_t n;

	if (!k->squeezing) {
		k->s[k->pos >> 3] ^= (uint64_t)k->dsep << (8 * (k->pos & 7));
		k->s[(k->rate - 1) >> 3] ^= (uint64_t)0x80 << (8 * ((k->rate - 1) & 7));
		keccak_f1600(k->s);
		k->pos = 0;
		k->squeezing = 1;
	}
	while (len > 0) {
		if (k->pos == k->rate) {
			keccak_f1600(k->s);
			k->pos = 0;
		}
		n = k->rate - k->pos;
		if (n > len)
			n = len;
		extract_bytes(k->s, k->pos, p, n);
		k->pos += (unsigned)n;
		p += n;
		len -= n;
	}
}

void
keccak_wipe(keccak_ctx *k)
{
	crypto_wipe(k, sizeof(*k));
	burn_stack();
}

/* One-shot helper: hash in with the given rate and domain byte, wipe after. */
static void
keccak_oneshot(unsigned rate, uint8_t dsep, void *out, size_t out_len,
    const void *in, size_t len)
{
	keccak_ctx k;

	keccak_init(&k, rate, dsep);
	keccak_absorb(&k, in, len);
	keccak_squeeze(&k, out, out_len);
	keccak_wipe(&k);
}

void
sha3_256(uint8_t out[32], const void *in, size_t len)
{
	keccak_oneshot(SHA3_256_RATE, DSEP_SHA3, out, 32, in, len);
}

void
sha3_512(uint8_t out[64], const void *in, size_t len)
{
	keccak_oneshot(SHA3_512_RATE, DSEP_SHA3, out, 64, in, len);
}

void
shake128(void *out, size_t out_len, const void *in, size_t len)
{
	keccak_oneshot(SHAKE128_RATE, DSEP_SHAKE, out, out_len, in, len);
}

void
shake256(void *out, size_t out_len, const void *in, size_t len)
{
	keccak_oneshot(SHAKE256_RATE, DSEP_SHAKE, out, out_len, in, len);
}

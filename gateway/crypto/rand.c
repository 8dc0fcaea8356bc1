/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rand.c: randomness from OpenSSL's CSPRNG (RAND_priv_bytes: every byte we
 * draw is, or protects, a secret).
 *
 * Built a second time with STP_RAND_TEST_HOOK for tests and bench tools only:
 * rand_test_seed() then switches rand_bytes() to a SHAKE-256 stream, so a
 * handshake run twice gives the same bytes (the transcript vectors in
 * tests/ depend on it).  The stpgate binary links the build without it.
 */
#include "crypto/rand.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/rand.h>

#include "crypto/crypto.h"
#include "err.h"

#ifdef STP_RAND_TEST_HOOK
#include <string.h>

#include "crypto/keccak.h"

static keccak_ctx test_xof;
static int test_seeded;

void
rand_test_seed(const void *seed, size_t seed_len)
{
	static const char label[] = "stpgate test rng v1";

	keccak_wipe(&test_xof);
	test_seeded = seed != NULL;
	if (!test_seeded)
		return;
	shake256_init(&test_xof);
	keccak_absorb(&test_xof, label, sizeof(label) - 1);
	keccak_absorb(&test_xof, seed, seed_len);
}
#endif

int
rand_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

#ifdef STP_RAND_TEST_HOOK
	if (test_seeded) {
		keccak_squeeze(&test_xof, buf, n);
		return 0;
	}
#endif
	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;

		if (RAND_priv_bytes(p, chunk) != 1) {
			crypto_wipe(buf, (size_t)(p - (unsigned char *)buf) + n);
			return STP_ECRYPTO;
		}
		p += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

uint32_t
rand_uniform(uint32_t bound)
{
	uint32_t x, min;

	if (bound < 2)
		return 0;
	/* Reject the low 2^32 mod bound values so every residue is equally likely. */
	min = (uint32_t)(-bound) % bound;
	do {
		if (rand_bytes(&x, sizeof(x)) != 0) {
			/* No safe way on without randomness. */
			fputs("stpgate: the system random number generator failed\n",
			    stderr);
			abort();
		}
	} while (x < min);
	return x % bound;
}

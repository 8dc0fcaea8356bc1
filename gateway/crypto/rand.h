/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rand.h: the one source of randomness.  Every key, nonce and KEM seed in the
 * project is drawn here, so a test build can make a whole handshake
 * deterministic.
 *
 * Two objects implement this header: rand.c (OpenSSL's CSPRNG, linked into
 * stpgate) and rand.c compiled with STP_RAND_TEST_HOOK (linked only into
 * tests and bench tools), which adds rand_test_seed().
 */
#ifndef STP_RAND_H
#define STP_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Fill buf with n random bytes.  Returns 0 or STP_ECRYPTO (buf is then zeroed). */
int rand_bytes(void *buf, size_t n);

/* A uniformly random integer in [0, bound); bound must be > 0. */
uint32_t rand_uniform(uint32_t bound);

#ifdef STP_RAND_TEST_HOOK
/*
 * Test builds only: from now on rand_bytes() returns the SHAKE-256 stream of
 * (label || seed), so runs are reproducible.  A NULL seed restores the real
 * CSPRNG.  Not thread-safe; call before starting threads.
 */
void rand_test_seed(const void *seed, size_t seed_len);
#endif

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.h: library-wide setup and the two helpers every secret-handling
 * caller needs.  gateway/crypto/ is the only directory that includes OpenSSL;
 * everything outside it uses these headers.
 */
#ifndef STP_CRYPTO_H
#define STP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fetch the OpenSSL algorithms once (cipher, digests, KDF).  Safe to call from
 * any thread, any number of times; the first call does the work.  Every other
 * function in crypto/ calls it itself, so callers need not, but calling it at
 * start-up keeps the first handshake from paying for it.  Returns 0 or
 * STP_ECRYPTO.
 */
int crypto_init(void);

/* Overwrite n bytes at p with zeros in a way the compiler cannot elide. */
void crypto_wipe(void *p, size_t n);

/* Constant-time comparison: 1 if the n bytes at a and b are equal, else 0. */
int crypto_memeq(const void *a, const void *b, size_t n);

#endif

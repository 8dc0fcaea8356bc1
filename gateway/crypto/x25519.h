/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x25519.h: X25519 (RFC 7748).  Scalars are clamped and bit 255 of u masked,
 * as the RFC says; an all-zero shared secret is refused (RFC 7748 section 6.1).
 */
#ifndef STP_X25519_H
#define STP_X25519_H

#include <stdint.h>

#define X25519_LEN 32

/* A new key pair; priv drawn from rand_bytes.  0 or STP_ECRYPTO. */
int x25519_keypair(uint8_t priv[X25519_LEN], uint8_t pub[X25519_LEN]);
/* pub = X25519(priv, 9).  0 or STP_ECRYPTO. */
int x25519_public(uint8_t pub[X25519_LEN], const uint8_t priv[X25519_LEN]);
/*
 * out = X25519(priv, peer).  0; STP_EWEAKKEY if the result is all zero (a
 * low-order peer point), out zeroed; STP_ECRYPTO.
 */
int x25519_shared(uint8_t out[X25519_LEN], const uint8_t priv[X25519_LEN],
    const uint8_t peer[X25519_LEN]);
/*
 * The same for a pair from x25519_keypair, given its public half too: OpenSSL
 * then takes the public key as given instead of deriving it again, which
 * saves a scalar multiplication.  pub must be X25519(priv, 9).
 */
int x25519_shared_pair(uint8_t out[X25519_LEN], const uint8_t priv[X25519_LEN],
    const uint8_t pub[X25519_LEN], const uint8_t peer[X25519_LEN]);

#endif

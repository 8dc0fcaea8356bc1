/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign.h: Ed25519 (RFC 8032, pure, no context).
 *
 * A sign_key is made once from its 32-byte seed (deriving the public key is
 * the expensive part) and may then sign from several threads at once.  A
 * sign_pub is the same for the other side: made once from a peer's public
 * key, then verifying from several threads at once; sign_verify() does the
 * same from the 32 bytes each time, for one-off checks.
 *
 * Verification follows OpenSSL 3.0: R must be canonical (R is compared as
 * bytes with the re-encoded point), S < L enforced, cofactorless equation.
 * A is taken as OpenSSL decodes it: its y is read modulo p (so the few
 * non-canonical encodings with y >= p, and x = 0 with the sign bit set, are
 * accepted as the point they reduce to); a y with no matching x makes every
 * signature under that key fail, and is reported as STP_EKEY.
 */
#ifndef STP_SIGN_H
#define STP_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define SIGN_SEED_LEN 32
#define SIGN_PUB_LEN 32
#define SIGN_SIG_LEN 64

typedef struct sign_key sign_key;

/* Key from a seed.  *out set only on success.  0, STP_ENOMEM or STP_ECRYPTO. */
int sign_key_from_seed(sign_key **out, const uint8_t seed[SIGN_SEED_LEN]);
/* New key from a fresh random seed (rand_bytes). */
int sign_key_generate(sign_key **out);
/* The public key / the seed (secret: wipe the copy when done). */
void sign_key_public(const sign_key *k, uint8_t pub[SIGN_PUB_LEN]);
void sign_key_seed(const sign_key *k, uint8_t seed[SIGN_SEED_LEN]);
/*
 * One more owner of k (returned); each owner calls sign_key_free once, and
 * the last one's call wipes and frees.  The count is not atomic: take and
 * drop references on one thread (the gateway's loop); signing from other
 * threads meanwhile is fine.
 */
sign_key *sign_key_ref(sign_key *k);
/* Drops one owner; the last wipes and frees.  sign_key_free(NULL): no-op. */
void sign_key_free(sign_key *k);

/* sig = Sign(k, msg).  0 or STP_ECRYPTO (sig zeroed). */
int sign_sign(const sign_key *k, const uint8_t *msg, size_t len,
    uint8_t sig[SIGN_SIG_LEN]);

/*
 * 0 if sig is a valid signature of msg under pub; STP_EKEY if pub cannot be
 * decoded (whatever sig is); else STP_EVERIFY if not valid (including
 * sig_len != 64); STP_ECRYPTO if OpenSSL failed.  The same result as
 * sign_pub_new() then sign_pub_verify(), without keeping the object.
 */
int sign_verify(const uint8_t pub[SIGN_PUB_LEN], const uint8_t *msg,
    size_t len, const uint8_t *sig, size_t sig_len);

typedef struct sign_pub sign_pub;

/*
 * A verification key for pub, to verify many signatures under one peer key
 * (its AUTH, its signed records).  *out set only on success.  0; STP_EKEY if
 * pub does not decode to a curve point (no signature could verify under
 * it); STP_ENOMEM; STP_ECRYPTO.  Immutable once made: any number of threads
 * may call sign_pub_verify() and sign_pub_key() on one sign_pub at once.
 */
int sign_pub_new(sign_pub **out, const uint8_t pub[SIGN_PUB_LEN]);
/*
 * Exactly sign_verify(pub, ...) for the pub p was made from: 0 if valid;
 * STP_EVERIFY if not (including sig_len != 64); STP_ECRYPTO if OpenSSL
 * failed.
 */
int sign_pub_verify(const sign_pub *p, const uint8_t *msg, size_t len,
    const uint8_t *sig, size_t sig_len);
/* The 32 bytes p was made from; owned by p, valid until sign_pub_free(p). */
const uint8_t *sign_pub_key(const sign_pub *p);
/* Frees; sign_pub_free(NULL) is a no-op.  No call on p may be running. */
void sign_pub_free(sign_pub *p);

#endif

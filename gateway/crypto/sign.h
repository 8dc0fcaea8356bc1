/*
 * sign.h: Ed25519 (RFC 8032, pure, no context).
 *
 * A sign_key is made once from its 32-byte seed (deriving the public key is
 * the expensive part) and may then sign from several threads at once.
 * Verification follows OpenSSL 3.0: canonical encodings of A and R required,
 * S < L enforced, cofactorless equation.
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
/* Wipes and frees; sign_key_free(NULL) is a no-op. */
void sign_key_free(sign_key *k);

/* sig = Sign(k, msg).  0 or STP_ECRYPTO (sig zeroed). */
int sign_sign(const sign_key *k, const uint8_t *msg, size_t len,
    uint8_t sig[SIGN_SIG_LEN]);

/*
 * 0 if sig is a valid signature of msg under pub; STP_EVERIFY if not
 * (including sig_len != 64); STP_EKEY if pub cannot be decoded.
 */
int sign_verify(const uint8_t pub[SIGN_PUB_LEN], const uint8_t *msg,
    size_t len, const uint8_t *sig, size_t sig_len);

#endif

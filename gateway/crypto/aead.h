/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aead.h: ChaCha20-Poly1305 (RFC 8439) and XChaCha20-Poly1305
 * (draft-irtf-cfrg-xchacha-03), sealing to and opening from ct || tag.
 *
 * XChaCha20 is HChaCha20(key, nonce[0:16]) -> subkey, then ChaCha20-Poly1305
 * under subkey with nonce 0x00000000 || nonce[16:24].  The HChaCha20 step
 * depends only on key and the 16-byte prefix, so a record direction computes
 * it once (aead_dirkey_init) and then seals every record with a cheap
 * per-record nonce; an aead_dirkey is plain data that a worker job can carry
 * by value.
 *
 * Thread model: an aead_ctx holds OpenSSL's cipher context and belongs to one
 * thread at a time (each crypto worker owns one).  Keys are passed per call.
 * In-place operation (out == in) is allowed; partial overlap is not.
 */
#ifndef STP_AEAD_H
#define STP_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN 32
#define AEAD_TAG_LEN 16
#define AEAD_CHACHA_NONCE_LEN 12
#define AEAD_XCHACHA_NONCE_LEN 24
#define AEAD_PREFIX_LEN 16 /* XChaCha nonce prefix fixed per direction */
/* Largest plaintext one call accepts (OpenSSL takes int lengths). */
#define AEAD_MAX_PT ((size_t)1 << 30)

typedef struct aead_ctx aead_ctx;

/* A per-direction key: the HChaCha20 subkey of (key, prefix).  Secret. */
typedef struct aead_dirkey {
	uint8_t subkey[AEAD_KEY_LEN];
} aead_dirkey;

/* New cipher context, or NULL when out of memory.  aead_ctx_free(NULL) is a no-op. */
aead_ctx *aead_ctx_new(void);
void aead_ctx_free(aead_ctx *c);

/*
 * A key that contexts may still hold is retired (a session's direction
 * moved to its next key, or the session ended): count it.  Any thread.
 */
void aead_key_retired(void);
/*
 * Wipe the key c holds, and OpenSSL's state under it, if it was set before
 * the latest retirement; cheap when nothing was retired since.  Called by
 * c's owner when it goes idle (a worker before it sleeps, the loop at the
 * end of its turn), so no retired key outlives the turn that retired it.
 * 0, or STP_ECRYPTO (c then fails every call).
 */
int aead_ctx_sweep(aead_ctx *c);

/*
 * ChaCha20-Poly1305.  seal writes pt_len + AEAD_TAG_LEN bytes to out; open
 * reads in_len >= AEAD_TAG_LEN bytes (ct || tag) and writes in_len - 16 bytes
 * of plaintext to out, only if the tag verifies.  nonce_len must be 12.
 * Returns 0, STP_EINVAL (bad lengths), STP_EAUTH (open: tag mismatch; out is
 * zeroed), or STP_ECRYPTO.
 */
int aead_chacha_seal(aead_ctx *c, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *out);
int aead_chacha_open(aead_ctx *c, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t in_len, uint8_t *out);

/* XChaCha20-Poly1305, one-shot; as above with nonce_len == 24. */
int aead_xchacha_seal(aead_ctx *c, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *out);
int aead_xchacha_open(aead_ctx *c, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t in_len, uint8_t *out);

/* Derive the direction key for (key, prefix): one HChaCha20. */
void aead_dirkey_init(aead_dirkey *dk, const uint8_t key[AEAD_KEY_LEN],
    const uint8_t prefix[AEAD_PREFIX_LEN]);
void aead_dirkey_wipe(aead_dirkey *dk);

/*
 * Seal / open record number seq under dk: the XChaCha20-Poly1305 nonce is
 * prefix || seq as 8 bytes big-endian (the prefix is already folded into dk).
 * Same lengths and returns as aead_chacha_seal/open.
 */
int aead_dirkey_seal(aead_ctx *c, const aead_dirkey *dk, uint64_t seq,
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
    uint8_t *out);
int aead_dirkey_open(aead_ctx *c, const aead_dirkey *dk, uint64_t seq,
    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
    uint8_t *out);

/*
 * The raw parts, exposed so the RFC 8439 known-answer tests can check each
 * one: ChaCha20 keystream XOR from block `counter` (12-byte nonce), and
 * one-time Poly1305 (32-byte key r || s).  Return 0, STP_EINVAL or STP_ECRYPTO.
 */
int aead_chacha20_xor(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[12],
    uint32_t counter, const uint8_t *in, size_t len, uint8_t *out);
int aead_poly1305(uint8_t tag[AEAD_TAG_LEN], const uint8_t key[32],
    const uint8_t *msg, size_t len);
/* XChaCha20 keystream XOR (24-byte nonce) from block `counter`. */
int aead_xchacha20_xor(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[24],
    uint32_t counter, const uint8_t *in, size_t len, uint8_t *out);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keysched.h: the STP v1 key schedule (proto/STP.md, "Key schedule"): every
 * HKDF label in one place.
 *
 *   Derive(secret, label, ctx, L) = HKDF-Expand(secret, "stp1 " || label || 0 || ctx, L)
 *
 * All outputs are secrets except ks_app's session id; callers wipe them.
 */
#ifndef STP_KEYSCHED_H
#define STP_KEYSCHED_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/aead.h"

#define KS_SECRET_LEN 64
#define KS_TH_LEN 64       /* transcript hash (SHA-512) */
#define KS_SID_LEN 16
#define KS_MAC1_LEN 16
#define KS_FIN_LEN 32
#define KS_RESUME_LEN 32
#define KS_PROOF_LEN 32

/* Derive(secret, label, ctx, out_len).  0 or STP_ECRYPTO / STP_EINVAL. */
int ks_derive(uint8_t *out, size_t out_len, const uint8_t *secret,
    size_t secret_len, const char *label, const uint8_t *ctx, size_t ctx_len);

/* The handshake's secrets, derived from the hybrid shared secret and TH2. */
typedef struct ks_handshake {
	uint8_t hs[KS_SECRET_LEN];
	aead_dirkey key_r, key_i;   /* HChaCha20 subkeys of (k_hs_x, p_hs_x) */
	uint8_t fk_r[KS_SECRET_LEN], fk_i[KS_SECRET_LEN];
} ks_handshake;

/* hs = Extract(TH2, ss_m || ss_x) and everything derived from it. */
int ks_handshake_init(ks_handshake *k, const uint8_t th2[KS_TH_LEN],
    const uint8_t ss_m[32], const uint8_t ss_x[32]);
void ks_handshake_wipe(ks_handshake *k);

/* Traffic secrets of both directions and the session id, from hs and TH4. */
int ks_app(const ks_handshake *k, const uint8_t th4[KS_TH_LEN],
    uint8_t ts_i[KS_SECRET_LEN], uint8_t ts_r[KS_SECRET_LEN],
    uint8_t sid[KS_SID_LEN]);

/*
 * The session's resume secret (STP.md, "Resumption"): Derive(hs, "resume",
 * TH4, 32), from the same hs and TH4 as ks_app.
 */
int ks_resume_secret(const ks_handshake *k, const uint8_t th4[KS_TH_LEN],
    uint8_t rs[KS_RESUME_LEN]);
/*
 * A resumption proof: HMAC-SHA512(rs_old, "stp1 resume " || side || 0 ||
 * sid_old || sid_new)[0..32), side 'i' (the new connection's initiator) or
 * 'r'.
 */
int ks_resume_proof(uint8_t proof[KS_PROOF_LEN], const uint8_t rs_old[KS_RESUME_LEN],
    char side, const uint8_t sid_old[KS_SID_LEN], const uint8_t sid_new[KS_SID_LEN]);

/* The record key of a traffic secret: HChaCha20(key, prefix) ready to seal. */
int ks_record_key(aead_dirkey *dk, const uint8_t ts[KS_SECRET_LEN]);

/* ts = Derive(ts, "next", "", 64), in place; the old value is gone. */
int ks_ratchet(uint8_t ts[KS_SECRET_LEN]);

/*
 * ts = Derive(Extract(Derive(ts, "next"), ss_m || ss_x), "fresh", xh, 64),
 * in place; xh = H(KemInit bytes || KemReply bytes).
 */
int ks_fresh(uint8_t ts[KS_SECRET_LEN], const uint8_t ss_m[32],
    const uint8_t ss_x[32], const uint8_t xh[KS_TH_LEN]);

#define KS_ACCESS_SECRET_LEN 32
/*
 * mac1_key = H("stp1 mac1" || 0 || pk_R [|| access secret])[0..32): the
 * listener's access secret (32 bytes) when it has one, else NULL.
 */
int ks_mac1_key(uint8_t key[32], const uint8_t pk_r[32], const uint8_t *secret);
/* mac = HMAC-SHA256(key, data)[0..16) (STP.md, "HELLO"). */
int ks_mac1(uint8_t mac[KS_MAC1_LEN], const uint8_t key[32], const uint8_t *data,
    size_t len);

/*
 * fin = HMAC(fk, "stp1 fin " || side || 0 || th || pk || sig || be32(flags))[0..32),
 * side 'r' or 'i'.
 */
int ks_finished(uint8_t fin[KS_FIN_LEN], const uint8_t fk[KS_SECRET_LEN],
    char side, const uint8_t th[KS_TH_LEN], const uint8_t pk[32],
    const uint8_t sig[64], uint32_t flags);

/*
 * The message an IdentityUpdate's new key signs (STP.md, "Identity
 * update"): "stp1 identity update" || 0 || sid || dir || pk_cur || pk_new.
 */
#define KS_IDUP_MSG_LEN (20 + 1 + KS_SID_LEN + 1 + 32 + 32)
void ks_identity_update_message(uint8_t out[KS_IDUP_MSG_LEN],
    const uint8_t sid[KS_SID_LEN], char dir, const uint8_t pk_cur[32],
    const uint8_t pk_new[32]);

/* The message a side signs: "stp1 sig " || side || 0 || th.  Returns its length. */
size_t ks_sig_message(uint8_t out[11 + KS_TH_LEN], char side,
    const uint8_t th[KS_TH_LEN]);

#endif

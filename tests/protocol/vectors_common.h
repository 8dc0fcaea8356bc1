/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vectors_common.h: what the STP vector programs share
 * (test_vectors_stp.c: stp_v1_1_transcript.txt; test_vectors_stp_more.c:
 * stp_v1_1_more.txt; test_vectors_identity.c, test_vectors_opens.c: the
 * Auth.features extensions): the list of `name = hex` values and its file, the
 * key schedule written out from proto/STP.md (HKDF-Expand over HMAC-SHA512,
 * Derive), a record opened with plain XChaCha20-Poly1305, frame splitting,
 * the fixed identities and clocks, and a pump between two endpoints.
 *
 * Nothing here calls handshake.c or keysched.c to compute a value; derive()
 * only cross-checks ks_derive after computing.
 */
#ifndef STP_VECTORS_COMMON_H
#define STP_VECTORS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sign.h"
#include "endpoint.h"

#define RNG_SEED "stp1 test vector"
#define NOW_MS 1700000000000ull
#define FMAX 4096             /* the largest frame a vector run keeps */
#define VEC_MAX_FRAMES 12     /* frames kept per direction */

/* ---- name = hex values ---- */

/* Record a value under a new name (a second put of a name is a failure). */
void put(const char *name, const void *v, size_t len);
/* x as n big-endian bytes. */
void put_be(const char *name, uint64_t x, size_t n);
/* How many values were put. */
size_t vec_count(void);
/*
 * A value read from another vector file (name = hex lines), or NULL (a
 * failure) when the file or the name is missing.  Free with free().
 */
uint8_t *vec_file_value(const char *path, const char *name, size_t *len);

/*
 * The program: usage "prog FILE [--write]".  Makes the identities, calls
 * run(file), checks that n_values values were put, then writes FILE (with
 * header, "# " lines) or compares every value with it.  Returns the exit
 * status.
 */
int vec_main(int argc, char **argv, void (*run)(const char *file),
    size_t n_values, const char *header);

/* ---- the key schedule, from the spec ---- */

/* HKDF-Expand(prk, info, L) over HMAC-SHA512 (RFC 5869 section 2.3). */
void expand(uint8_t *out, size_t len, const uint8_t *prk, size_t prk_len,
    const uint8_t *info, size_t info_len);
/*
 * Derive(secret, label, ctx, L) = Expand(secret, "stp1 " || label || 0x00 ||
 * ctx, L); then checks that keysched.c's ks_derive agrees.
 */
void derive(uint8_t *out, size_t len, const uint8_t *secret, size_t slen,
    const char *label, const uint8_t *ctx, size_t ctx_len);
/* XChaCha20-Poly1305 open, nonce = prefix || be64(seq), the header as AAD. */
int open_frame(const uint8_t *f, size_t flen, const uint8_t key[32],
    const uint8_t prefix[16], uint64_t seq, uint8_t *pt, size_t *pt_len);

/* ---- frames and the wire ---- */

struct frames {
	uint8_t f[VEC_MAX_FRAMES][FMAX];
	size_t len[VEC_MAX_FRAMES];
	int n;
};

/* Append the whole frames in p to fr (a frame over FMAX is a failure). */
void split(struct frames *fr, const uint8_t *p, size_t len);

struct wire {
	uint8_t *b;
	size_t len, cap;
};

void wire_add(struct wire *w, const void *p, size_t n);

/*
 * Move everything each endpoint (0: I, 1: R) has for the wire to the other,
 * logging it in log[k], until both are quiet; counts EP_RECORD events in
 * delivered[k].  With r_pings, R does what the gateway's session layer does
 * when a session comes up (reactor/session.c, adopt()): on EP_ESTABLISHED
 * it sends a Ping (id = now) at once.
 */
void ep_pump(endpoint *e[2], struct wire log[2], uint64_t now, int delivered[2],
    int r_pings);

/*
 * The same without failing on input errors, for runs that provoke them: the
 * first endpoint_input error each side k gets is kept in err[k]; I's output
 * is appended to log_i when it is not NULL; every event goes to
 * on(cookie, k, ev) (when on is not NULL) before the next poll, while
 * ev->rec is valid.
 */
void vec_pump(endpoint *e[2], struct wire *log_i, uint64_t now, int err[2],
    void (*on)(void *cookie, int k, const ep_event *ev), void *cookie);

/* ---- the fixed parties ---- */

extern sign_key *id_i, *id_r;
extern uint8_t pk_i[32], pk_r[32], seed_i[32], seed_r[32];
extern const uint32_t flags_i, flags_r;

/* Both sides' Unix clock: NOW_MS in seconds (Hello.time). */
uint64_t vec_clock(void *arg);
/* R's peer map: I's key only. */
int lookup_i(void *cookie, const uint8_t pk[32]);
/*
 * The vector runs' endpoint configs: I (id_i) dials R (id_r) with these
 * Auth flags and features, crypto inline, both clocks vec_clock, R's peer
 * map lookup_i; the rest zero for the caller to add to.
 */
void vec_configs(endpoint_config *ci, endpoint_config *cr, uint32_t fl_i,
    uint32_t fl_r, uint32_t features_i, uint32_t features_r);
/*
 * e[0] (I) and e[1] (R) from vec_configs with both Auth flags 0 and these
 * features, I started at now (its HELLO is waiting in its output).  0, or -1
 * (a failure) when either cannot be made; free both with endpoint_free
 * either way.
 */
int vec_pair(endpoint *e[2], uint32_t features_i, uint32_t features_r,
    uint64_t now);
/* be32 into b. */
void be32(uint8_t b[4], uint32_t x);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handshake.c: the STP v1 handshake (proto/STP.md, "Handshake"), sans I/O.
 *
 * The message sequence, with the step that does each piece of work:
 *
 *   I hs_start     -> work: X25519 + ML-KEM key pairs, HELLO (+mac1)
 *   R hs_input     HELLO: mac1, admission, decode + field checks (cheap)
 *                  -> work: X25519, ML-KEM encaps, keys, sign; REPLY + AUTH_R
 *   I hs_input     CHALLENGE -> work: answer hook, HELLO again
 *                  REJECT -> fail; REPLY: decode + checks
 *                  -> work: X25519, ML-KEM decaps, handshake keys
 *   I hs_input     AUTH_R -> work: open, check identity, verify, Finished;
 *                  sign, AUTH_I, traffic secrets: done
 *   R hs_input     AUTH_I -> work: open, verify, Finished, traffic secrets: done
 *
 * The transcript T is one running SHA-512 over "stp1 transcript" || 0 ||
 * pk_R, the HELLO and REPLY frames, and the two Auth plaintexts.  Every
 * secret lives in struct hs and is wiped when it is no longer needed and in
 * hs_free().
 */
#include "handshake.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/mlkem768.h"
#include "crypto/rand.h"
#include "crypto/x25519.h"
#include "envelope.h"
#include "err.h"
#include "frame.h"

enum hs_state {
	ST_START,
	ST_I_WAIT_REPLY,
	ST_I_WAIT_AUTH,
	ST_R_WAIT_HELLO,
	ST_R_WAIT_AUTH,
	ST_DONE,
	ST_FAILED,
};

/* Expensive steps left for hs_work(). */
enum hs_work {
	W_NONE,
	W_I_HELLO,     /* key pairs, build HELLO */
	W_I_CHALLENGE, /* answer a CHALLENGE, build HELLO again */
	W_I_REPLY,     /* shared secrets, handshake keys */
	W_I_AUTH,      /* check AUTH_R, send AUTH_I */
	W_R_HELLO,     /* shared secrets, REPLY + AUTH_R */
	W_R_AUTH,      /* check AUTH_I */
};

#define NONCE_LEN 32
#define ARENA_CAP 8192 /* the largest handshake message decoded, with room */
#define HS_FRAME_MAX (FRAME_HDR_LEN + FRAME_MAX_REPLY)
#define OUT_CAP (2 * HS_FRAME_MAX)

struct hs {
	hs_config c;
	enum hs_state state;
	enum hs_work work;
	hash_ctx *t;                 /* the transcript */
	env_arena *arena;            /* decoded handshake messages */
	uint8_t our_pub[32];
	uint8_t pk_r[32];            /* the responder's key: transcript prefix, mac1 */
	uint8_t mac1_key[32];

	/* Ephemeral key material. */
	uint8_t x_priv[32], x_pub[32], x_peer[32];
	uint8_t ek[MLKEM768_EK_LEN];  /* I: ours; R: the initiator's */
	uint8_t dk[MLKEM768_DK_LEN];  /* I only */
	uint8_t ct[MLKEM768_CT_LEN];  /* I: from REPLY */

	uint8_t admission[HS_MAX_ADMISSION];
	size_t admission_len;
	uint8_t challenge[HS_MAX_ADMISSION];
	size_t challenge_len;
	int challenges;
	uint8_t hcookie[GUARD_COOKIE_LEN]; /* I: the last Challenge.cookie */
	size_t hcookie_len;
	int hellos;                  /* R: HELLOs seen on this connection */

	/* An AUTH frame waiting for hs_work(). */
	uint8_t auth[FRAME_HDR_LEN + FRAME_MAX_AUTH];
	size_t auth_len;

	ks_handshake ks;
	uint8_t th2[KS_TH_LEN], th3[KS_TH_LEN];
	uint8_t peer_pub[32];
	uint32_t peer_flags, peer_features;
	uint32_t version, suite;
	uint8_t ts_i[KS_SECRET_LEN], ts_r[KS_SECRET_LEN], sid[KS_SID_LEN];
	uint8_t resume[KS_RESUME_LEN]; /* the resume secret (ks_resume_secret) */
	int result_taken;

	uint8_t out[OUT_CAP];
	size_t out_len;
	char reason[192];
};

/* Record why we failed (first reason wins) and return err. */
static int fail(hs *h, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(hs *h, int err, const char *fmt, ...)
{
	va_list ap;

	if (h->reason[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(h->reason, sizeof(h->reason), fmt, ap);
		va_end(ap);
	}
	h->state = ST_FAILED;
	h->work = W_NONE;
	return err;
}

static int
transcript_reset(hs *h)
{
	static const char label[] = "stp1 transcript";

	hash_free(h->t);
	if ((h->t = hash_sha512_new()) == NULL)
		return STP_ENOMEM;
	if (hash_update(h->t, label, sizeof(label)) != 0 || /* with its NUL */
	    hash_update(h->t, h->pk_r, 32) != 0)
		return STP_ECRYPTO;
	return 0;
}

hs *
hs_new(const hs_config *c)
{
	hs *h;

	if (c->identity == NULL || (c->flags & ~AUTH_FLAGS_KNOWN) != 0)
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->c = *c;
	sign_key_public(c->identity, h->our_pub);
	memcpy(h->pk_r, c->initiator ? c->peer_pub : h->our_pub, 32);
	h->state = c->initiator ? ST_START : ST_R_WAIT_HELLO;
	h->c.access_secret = NULL; /* used once, below; never kept */
	if (ks_mac1_key(h->mac1_key, h->pk_r, c->access_secret) != 0 ||
	    transcript_reset(h) != 0) {
		hs_free(h);
		return NULL;
	}
	return h;
}

void
hs_free(hs *h)
{
	if (h == NULL)
		return;
	hash_free(h->t);
	env_arena_free(h->arena);
	crypto_wipe(h, sizeof(*h));
	free(h);
}

static uint64_t
unix_now(const hs *h)
{
	return h->c.unix_now != NULL ? h->c.unix_now(h->c.clock_arg) :
	    (uint64_t)time(NULL);
}

/* Decode a handshake message from the arena (reset first). */
static ProtobufCMessage *
decode(hs *h, const ProtobufCMessageDescriptor *d, const uint8_t *buf,
    size_t len)
{
	if (h->arena == NULL && (h->arena = env_arena_new(ARENA_CAP)) == NULL)
		return NULL;
	env_arena_reset(h->arena);
	return env_unpack(h->arena, d, buf, len);
}

/* Append a frame of `type` holding message m to the output. */
static int
out_frame(hs *h, uint8_t type, const ProtobufCMessage *m)
{
	size_t room = sizeof(h->out) - h->out_len, max = frame_max_body(type);
	uint8_t *f = h->out + h->out_len;
	int n;

	if (room < FRAME_HDR_LEN)
		return STP_ETOOBIG;
	n = env_pack(m, f + FRAME_HDR_LEN, room - FRAME_HDR_LEN);
	if (n < 0 || (size_t)n > max)
		return STP_ETOOBIG;
	frame_put_header(f, type, (size_t)n);
	h->out_len += FRAME_HDR_LEN + (size_t)n;
	return 0;
}

/* Copy text into a log-safe form: printable ASCII only. */
static void
sanitize(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < cap; i++)
		dst[i] = isprint((unsigned char)src[i]) ? src[i] : '?';
	dst[i] = '\0';
}

static const char *
reject_name(uint32_t code)
{
	switch (code) {
	case STP__V1__REJECT_CODE__REJECT_VERSION: return "no common version";
	case STP__V1__REJECT_CODE__REJECT_SUITE: return "no common suite";
	case STP__V1__REJECT_CODE__REJECT_BUSY: return "busy or not admitted";
	case STP__V1__REJECT_CODE__REJECT_MALFORMED: return "malformed hello";
	default: return "unspecified";
	}
}

/* ---- the initiator ---- */

/* Build (or rebuild, after a CHALLENGE) the HELLO from our key pairs. */
static int
build_hello(hs *h)
{
	Stp__V1__Hello m = STP__V1__HELLO__INIT;
	uint32_t versions[] = { HS_VERSION }, suites[] = { HS_SUITE };
	uint8_t nonce[NONCE_LEN], *f;
	size_t body;
	int rc;

	if ((rc = rand_bytes(nonce, sizeof(nonce))) != 0)
		return rc;
	m.n_versions = 1;
	m.versions = versions;
	m.n_suites = 1;
	m.suites = suites;
	m.x25519.data = h->x_pub;
	m.x25519.len = 32;
	m.mlkem_ek.data = h->ek;
	m.mlkem_ek.len = MLKEM768_EK_LEN;
	m.nonce.data = nonce;
	m.nonce.len = NONCE_LEN;
	m.admission.data = h->admission;
	m.admission.len = h->admission_len;
	m.time = unix_now(h);
	m.cookie.data = h->hcookie;
	m.cookie.len = h->hcookie_len;

	h->out_len = 0;
	f = h->out;
	rc = env_pack(&m.base, f + FRAME_HDR_LEN,
	    FRAME_MAX_HELLO - KS_MAC1_LEN);
	if (rc < 0)
		return rc;
	body = (size_t)rc + KS_MAC1_LEN;
	/* mac1 covers the real header (whose length counts mac1) and the Hello. */
	frame_put_header(f, FRAME_HELLO, body);
	if ((rc = ks_mac1(f + FRAME_HDR_LEN + body - KS_MAC1_LEN, h->mac1_key, f,
	    FRAME_HDR_LEN + body - KS_MAC1_LEN)) != 0)
		return rc;
	h->out_len = FRAME_HDR_LEN + body;
	/* A new HELLO starts a new transcript. */
	if ((rc = transcript_reset(h)) != 0)
		return rc;
	return hash_update(h->t, f, h->out_len);
}

int
hs_start(hs *h)
{
	if (!h->c.initiator || h->state != ST_START || h->work != W_NONE)
		return STP_ESTATE;
	h->work = W_I_HELLO;
	return HS_WORK;
}

static int
work_i_hello(hs *h)
{
	int rc;

	if ((rc = x25519_keypair(h->x_priv, h->x_pub)) != 0)
		return fail(h, rc, "X25519 key generation failed");
	if ((rc = mlkem768_keygen(h->ek, h->dk)) != 0)
		return fail(h, rc, "ML-KEM-768 key generation failed");
	if ((rc = build_hello(h)) != 0)
		return fail(h, rc, "cannot build HELLO: %s", stp_strerror(rc));
	h->state = ST_I_WAIT_REPLY;
	return 0;
}

static int
work_i_challenge(hs *h)
{
	size_t n = sizeof(h->admission);
	int rc;

	/*
	 * A cookie alone (the responder is under load) needs no answer: the
	 * next HELLO echoes it, with the admission answer it had.
	 */
	if (h->challenge_len > 0) {
		rc = h->c.answer(h->c.cookie, h->challenge, h->challenge_len,
		    h->admission, &n);
		if (rc != 0 || n > sizeof(h->admission))
			return fail(h, rc ? rc : STP_EINVAL,
			    "could not answer the responder's admission challenge");
		h->admission_len = n;
	}
	if ((rc = build_hello(h)) != 0)
		return fail(h, rc, "cannot build HELLO: %s", stp_strerror(rc));
	return 0;
}

static int
input_i_reply_state(hs *h, uint8_t type, const uint8_t *frame, size_t len)
{
	const uint8_t *body = frame + FRAME_HDR_LEN;
	size_t blen = len - FRAME_HDR_LEN;

	if (type == FRAME_REJECT) {
		Stp__V1__Reject *m = (Stp__V1__Reject *)decode(h,
		    &stp__v1__reject__descriptor, body, blen);
		char why[130];

		if (m == NULL)
			return fail(h, STP_EREJECTED, "peer refused us (unreadable REJECT)");
		sanitize(why, sizeof(why), m->reason);
		if (m->code == STP__V1__REJECT_CODE__REJECT_VERSION)
			return fail(h, STP_EREJECTED,
			    "peer refused us: no common version: %s%swe speak "
			    HS_VERSION_NAME " only; a peer that speaks STP v1 "
			    "(version 1) must be upgraded", why, why[0] ? "; " : "");
		return fail(h, STP_EREJECTED, "peer refused us: %s%s%s",
		    reject_name(m->code), why[0] ? ": " : "", why);
	}
	if (type == FRAME_CHALLENGE) {
		Stp__V1__Challenge *m = (Stp__V1__Challenge *)decode(h,
		    &stp__v1__challenge__descriptor, body, blen);

		if (m == NULL || m->data.len > sizeof(h->challenge) ||
		    (m->cookie.len != 0 && m->cookie.len != GUARD_COOKIE_LEN) ||
		    (m->data.len == 0 && m->cookie.len == 0))
			return fail(h, STP_EPROTO, "malformed CHALLENGE");
		if (++h->challenges > HS_MAX_CHALLENGES)
			return fail(h, STP_EPROTO,
			    "responder sent more than %d admission challenges",
			    HS_MAX_CHALLENGES);
		if (m->cookie.len > 0) {
			memcpy(h->hcookie, m->cookie.data, GUARD_COOKIE_LEN);
			h->hcookie_len = GUARD_COOKIE_LEN;
		}
		if (m->data.len > 0 && h->c.answer == NULL)
			return fail(h, STP_EREJECTED,
			    "responder demands an admission answer (proof of work?) and none is configured");
		/* protobuf-c gives NULL for empty bytes: no memcpy from NULL. */
		if (m->data.len > 0)
			memcpy(h->challenge, m->data.data, m->data.len);
		h->challenge_len = m->data.len;
		h->work = W_I_CHALLENGE;
		return HS_WORK;
	}
	if (type == FRAME_REPLY) {
		Stp__V1__Reply *m = (Stp__V1__Reply *)decode(h,
		    &stp__v1__reply__descriptor, body, blen);

		if (m == NULL)
			return fail(h, STP_EPROTO, "malformed REPLY");
		/* We offered exactly one version and one suite. */
		if (m->version != HS_VERSION || m->suite != HS_SUITE)
			return fail(h, STP_EDOWNGRADE,
			    "responder chose version %u suite %u, which we did not offer",
			    m->version, m->suite);
		if (m->x25519.len != 32 || m->mlkem_ct.len != MLKEM768_CT_LEN ||
		    m->nonce.len != NONCE_LEN)
			return fail(h, STP_EPROTO, "REPLY field of the wrong length");
		memcpy(h->x_peer, m->x25519.data, 32);
		memcpy(h->ct, m->mlkem_ct.data, MLKEM768_CT_LEN);
		h->version = m->version;
		h->suite = m->suite;
		if (hash_update(h->t, frame, len) != 0)
			return fail(h, STP_ECRYPTO, "transcript hash failed");
		h->work = W_I_REPLY;
		return HS_WORK;
	}
	return fail(h, STP_EPROTO, "%s frame while waiting for REPLY",
	    frame_type_name(type));
}

/* ss_m || ss_x -> handshake keys; ephemeral secrets erased. */
static int
derive_hs(hs *h, const uint8_t ss_m[32], const uint8_t ss_x[32])
{
	int rc;

	if ((rc = hash_peek(h->t, h->th2)) != 0)
		return rc;
	return ks_handshake_init(&h->ks, h->th2, ss_m, ss_x);
}

static int
work_i_reply(hs *h)
{
	uint8_t ss_x[32], ss_m[32];
	int rc;

	rc = x25519_shared_pair(ss_x, h->x_priv, h->x_pub, h->x_peer);
	if (rc != 0) {
		rc = fail(h, rc, "responder's X25519 key is degenerate");
		goto out;
	}
	rc = mlkem768_decaps(ss_m, h->ct, MLKEM768_CT_LEN, h->dk, MLKEM768_DK_LEN);
	if (rc != 0) {
		rc = fail(h, rc, "ML-KEM-768 decapsulation failed");
		goto out;
	}
	if ((rc = derive_hs(h, ss_m, ss_x)) != 0) {
		rc = fail(h, rc, "handshake key derivation failed");
		goto out;
	}
	h->state = ST_I_WAIT_AUTH;
out:
	crypto_wipe(ss_x, sizeof(ss_x));
	crypto_wipe(ss_m, sizeof(ss_m));
	crypto_wipe(h->x_priv, sizeof(h->x_priv));
	crypto_wipe(h->dk, sizeof(h->dk));
	return rc;
}

/*
 * Open an AUTH frame under key, decode it, check the signature over th and
 * the Finished MAC under fk.  On success *out is the decoded Auth and the
 * plaintext is at pt/pt_len (inside h->auth).
 */
static int
check_auth(hs *h, const aead_dirkey *key, char side, const uint8_t th[KS_TH_LEN],
    const uint8_t fk[KS_SECRET_LEN], const uint8_t *expect_pub,
    Stp__V1__Auth **out, uint8_t **pt, size_t *pt_len)
{
	uint8_t sigmsg[11 + KS_TH_LEN], fin[KS_FIN_LEN];
	Stp__V1__Auth *m;
	aead_ctx *ctx;
	size_t n;
	int rc;

	if (h->auth_len < FRAME_HDR_LEN + AEAD_TAG_LEN)
		return fail(h, STP_EPROTO, "AUTH frame too short");
	if ((ctx = aead_ctx_new()) == NULL)
		return fail(h, STP_ENOMEM, "out of memory");
	n = h->auth_len - FRAME_HDR_LEN;
	rc = aead_dirkey_open(ctx, key, 0, h->auth, FRAME_HDR_LEN,
	    h->auth + FRAME_HDR_LEN, n, h->auth + FRAME_HDR_LEN);
	aead_ctx_free(ctx);
	if (rc != 0)
		return fail(h, rc == STP_EAUTH ? STP_EAUTH : rc, side == 'r' ?
		    "AUTH from the responder did not open: the handshake was relayed or tampered with" :
		    "AUTH from the initiator did not open: the handshake was relayed or tampered with");
	*pt = h->auth + FRAME_HDR_LEN;
	*pt_len = n - AEAD_TAG_LEN;
	if (*pt_len != HS_AUTH_PT_LEN)
		return fail(h, STP_EPROTO, "AUTH plaintext is %zu bytes, not %d",
		    *pt_len, HS_AUTH_PT_LEN);
	m = (Stp__V1__Auth *)decode(h, &stp__v1__auth__descriptor, *pt, *pt_len);
	if (m == NULL || m->identity.len != 32 || m->signature.len != 64 ||
	    m->finished.len != KS_FIN_LEN)
		return fail(h, STP_EPROTO, "malformed AUTH");
	if ((m->flags & ~AUTH_FLAGS_KNOWN) != 0)
		return fail(h, STP_EPROTO, "AUTH has unknown flags 0x%x", m->flags);
	if (expect_pub != NULL && !crypto_memeq(m->identity.data, expect_pub, 32))
		return fail(h, STP_EPEER,
		    "responder's identity is not the key we dialed");
	ks_sig_message(sigmsg, side, th);
	if ((rc = sign_verify(m->identity.data, sigmsg, sizeof(sigmsg),
	    m->signature.data, 64)) != 0)
		return fail(h, STP_EVERIFY, "%s's transcript signature does not verify",
		    side == 'r' ? "responder" : "initiator");
	if ((rc = ks_finished(fin, fk, side, th, m->identity.data,
	    m->signature.data, m->flags)) != 0)
		return fail(h, rc, "Finished computation failed");
	if (!crypto_memeq(fin, m->finished.data, KS_FIN_LEN))
		return fail(h, STP_EAUTH, "%s's Finished MAC does not match",
		    side == 'r' ? "responder" : "initiator");
	*out = m;
	return 0;
}

/* Our Auth, sealed under key, appended to the output; absorbed into T. */
static int
send_auth(hs *h, const aead_dirkey *key, char side, const uint8_t th[KS_TH_LEN],
    const uint8_t fk[KS_SECRET_LEN])
{
	Stp__V1__Auth m = STP__V1__AUTH__INIT;
	uint8_t sigmsg[11 + KS_TH_LEN], sig[64], fin[KS_FIN_LEN], *f;
	size_t room = sizeof(h->out) - h->out_len;
	aead_ctx *ctx;
	int rc, n;

	ks_sig_message(sigmsg, side, th);
	if ((rc = sign_sign(h->c.identity, sigmsg, sizeof(sigmsg), sig)) != 0 ||
	    (rc = ks_finished(fin, fk, side, th, h->our_pub, sig, h->c.flags)) != 0)
		return rc;
	m.identity.data = h->our_pub;
	m.identity.len = 32;
	m.signature.data = sig;
	m.signature.len = 64;
	m.finished.data = fin;
	m.finished.len = KS_FIN_LEN;
	m.flags = h->c.flags;
	m.features = h->c.features;
	f = h->out + h->out_len;
	if (room < FRAME_HDR_LEN + HS_AUTH_PT_LEN + AEAD_TAG_LEN)
		return STP_ETOOBIG;
	n = env_pack(&m.base, f + FRAME_HDR_LEN, HS_AUTH_PT_LEN);
	/*
	 * Pad to HS_AUTH_PT_LEN with field 15 (tag 0x7a, a one-byte length,
	 * zeros), so that the frame's length shows neither flags nor features.
	 */
	if (n < 0 || (size_t)n + 2 > HS_AUTH_PT_LEN)
		return STP_ETOOBIG;
	f[FRAME_HDR_LEN + n] = 0x7a;
	f[FRAME_HDR_LEN + n + 1] = (uint8_t)(HS_AUTH_PT_LEN - n - 2);
	memset(f + FRAME_HDR_LEN + n + 2, 0, (size_t)(HS_AUTH_PT_LEN - n - 2));
	n = HS_AUTH_PT_LEN;
	if ((rc = hash_update(h->t, f + FRAME_HDR_LEN, (size_t)n)) != 0)
		return rc;
	frame_put_header(f, FRAME_AUTH, (size_t)n + AEAD_TAG_LEN);
	if ((ctx = aead_ctx_new()) == NULL)
		return STP_ENOMEM;
	rc = aead_dirkey_seal(ctx, key, 0, f, FRAME_HDR_LEN, f + FRAME_HDR_LEN,
	    (size_t)n, f + FRAME_HDR_LEN);
	aead_ctx_free(ctx);
	if (rc != 0)
		return rc;
	h->out_len += FRAME_HDR_LEN + (size_t)n + AEAD_TAG_LEN;
	return 0;
}

/* TH4 -> traffic secrets and session id; the handshake secrets go. */
static int
finish(hs *h)
{
	uint8_t th4[KS_TH_LEN];
	int rc;

	if ((rc = hash_peek(h->t, th4)) == 0)
		rc = ks_app(&h->ks, th4, h->ts_i, h->ts_r, h->sid);
	if (rc == 0)
		rc = ks_resume_secret(&h->ks, th4, h->resume);
	ks_handshake_wipe(&h->ks);
	if (rc != 0)
		return fail(h, rc, "traffic key derivation failed");
	h->state = ST_DONE;
	return 0;
}

static int
work_i_auth(hs *h)
{
	Stp__V1__Auth *m = NULL;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc;

	if ((rc = check_auth(h, &h->ks.key_r, 'r', h->th2, h->ks.fk_r, h->pk_r, &m,
	    &pt, &pt_len)) != 0)
		return rc;
	memcpy(h->peer_pub, m->identity.data, 32);
	h->peer_flags = m->flags;
	h->peer_features = m->features;
	if ((rc = hash_update(h->t, pt, pt_len)) != 0 ||
	    (rc = hash_peek(h->t, h->th3)) != 0)
		return fail(h, rc, "transcript hash failed");
	/* Only now, with the responder proven, do we show who we are. */
	if ((rc = send_auth(h, &h->ks.key_i, 'i', h->th3, h->ks.fk_i)) != 0)
		return fail(h, rc, "cannot build our AUTH: %s", stp_strerror(rc));
	return finish(h);
}

/* ---- the responder ---- */

/* Answer with a REJECT (after mac1 passed) and stop. */
static int
reject(hs *h, uint32_t code, const char *why)
{
	Stp__V1__Reject m = STP__V1__REJECT__INIT;

	m.code = code;
	m.reason = (char *)why;
	h->out_len = 0;
	(void)out_frame(h, FRAME_REJECT, &m.base);
	fail(h, STP_EREJECTED, "we refused the initiator: %s", why);
	return HS_OUT;
}

static int
contains(const uint32_t *v, size_t n, uint32_t x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

/*
 * REJECT_VERSION naming both sides' versions, in the REJECT (for the
 * initiator's log) and in our reason (for ours).
 */
static int
reject_version(hs *h, const uint8_t *body, size_t blen)
{
	char offered[48] = "", why[128];
	size_t n = 0;
	uint32_t v;

	for (v = 1; v <= 8 && n + 4 < sizeof(offered); v++)
		if (env_has_uint(body, blen, 1, v) == 1)
			n += (size_t)snprintf(offered + n, sizeof(offered) - n,
			    "%s%u", n ? "," : "", v);
	snprintf(why, sizeof(why), "we speak " HS_VERSION_NAME " only; you offer "
	    "version %s%s", n ? offered : "none we know",
	    env_has_uint(body, blen, 1, 1) == 1 ? " (1 is STP v1)" : "");
	return reject(h, STP__V1__REJECT_CODE__REJECT_VERSION, why);
}

static int
input_r_hello(hs *h, uint8_t type, const uint8_t *frame, size_t len)
{
	const uint8_t *body = frame + FRAME_HDR_LEN, *adm = NULL;
	size_t blen = len - FRAME_HDR_LEN, adm_len = 0, chal_len;
	uint8_t mac[KS_MAC1_LEN];
	Stp__V1__Hello *m;
	int rc;

	if (type != FRAME_HELLO)
		return fail(h, STP_EMAC1, "%s frame where a HELLO must come",
		    frame_type_name(type));
	/* 1. mac1, before anything else: one HMAC, no allocation. */
	if (blen < KS_MAC1_LEN + 1 ||
	    ks_mac1(mac, h->mac1_key, frame, len - KS_MAC1_LEN) != 0 ||
	    !crypto_memeq(mac, frame + len - KS_MAC1_LEN, KS_MAC1_LEN))
		return fail(h, STP_EMAC1,
		    "HELLO failed mac1 (the sender does not know our public key)");
	blen -= KS_MAC1_LEN;

	/*
	 * 2. Freshness (time window, replay, cookie under load), unless the
	 * owner's gate already judged this first HELLO.  Then a HELLO that
	 * does not offer STP v1.1 is refused by version, before admission.
	 */
	if (!(h->c.first_guarded && h->hellos == 0)) {
		uint8_t chal[HS_CHALLENGE_MAX];
		size_t cl = 0;
		char why[128];

		rc = hs_guard_hello(h->c.guard, frame, len, h->c.src,
		    h->c.src_len, unix_now(h), chal, &cl, why, sizeof(why));
		if (rc == HS_GUARD_STALE || rc == HS_GUARD_REPLAY)
			return fail(h, STP_EMAC1, "%s", why);
		if (rc == HS_GUARD_CHALLENGE) {
			if (++h->challenges > HS_MAX_CHALLENGES)
				return fail(h, STP_EMAC1,
				    "initiator sent %d HELLOs without our cookie",
				    h->challenges);
			h->hellos++;
			memcpy(h->out, chal, cl);
			h->out_len = cl;
			return HS_OUT;
		}
	}
	h->hellos++;
	if (env_has_uint(body, blen, 1, HS_VERSION) == 0)
		return reject_version(h, body, blen);

	/* 3. Admission, still without decoding the Hello. */
	rc = env_find_bytes(body, blen, 6, &adm, &adm_len);
	if (rc < 0 || adm_len > HS_MAX_ADMISSION)
		return reject(h, STP__V1__REJECT_CODE__REJECT_MALFORMED,
		    "malformed hello");
	if (h->c.admit != NULL) {
		chal_len = sizeof(h->challenge);
		rc = h->c.admit(h->c.cookie, adm, adm_len, h->challenge, &chal_len);
		if (rc == HS_ADMIT_CHALLENGE) {
			Stp__V1__Challenge c = STP__V1__CHALLENGE__INIT;

			c.data.data = h->challenge;
			c.data.len = chal_len <= sizeof(h->challenge) ? chal_len : 0;
			h->out_len = 0;
			if (out_frame(h, FRAME_CHALLENGE, &c.base) != 0)
				return fail(h, STP_EINVAL, "admission challenge too large");
			return HS_OUT; /* stay in WAIT_HELLO for the answer */
		}
		if (rc != HS_ADMIT)
			return reject(h, STP__V1__REJECT_CODE__REJECT_BUSY,
			    "not admitted");
	}

	/* 4. Decode and check every field; choose version and suite. */
	m = (Stp__V1__Hello *)decode(h, &stp__v1__hello__descriptor, body, blen);
	if (m == NULL)
		return reject(h, STP__V1__REJECT_CODE__REJECT_MALFORMED,
		    "malformed hello");
	if (!contains(m->versions, m->n_versions, HS_VERSION))
		return reject_version(h, body, blen);
	if (!contains(m->suites, m->n_suites, HS_SUITE))
		return reject(h, STP__V1__REJECT_CODE__REJECT_SUITE,
		    "we speak suite 1 only");
	if (m->x25519.len != 32 || m->mlkem_ek.len != MLKEM768_EK_LEN ||
	    m->nonce.len != NONCE_LEN)
		return reject(h, STP__V1__REJECT_CODE__REJECT_MALFORMED,
		    "hello field of the wrong length");
	/* The FIPS 203 section 7.2 check is cheap; do it before any real work. */
	if (mlkem768_default()->check_ek(m->mlkem_ek.data, m->mlkem_ek.len) != 0)
		return reject(h, STP__V1__REJECT_CODE__REJECT_MALFORMED,
		    "ML-KEM key failed the modulus check");
	memcpy(h->x_peer, m->x25519.data, 32);
	memcpy(h->ek, m->mlkem_ek.data, MLKEM768_EK_LEN);
	h->version = HS_VERSION;
	h->suite = HS_SUITE;
	if (hash_update(h->t, frame, len) != 0)
		return fail(h, STP_ECRYPTO, "transcript hash failed");
	h->work = W_R_HELLO;
	return HS_WORK;
}

static int
work_r_hello(hs *h)
{
	Stp__V1__Reply m = STP__V1__REPLY__INIT;
	uint8_t ss_x[32], ss_m[32], nonce[NONCE_LEN];
	size_t start;
	int rc;

	if ((rc = x25519_keypair(h->x_priv, h->x_pub)) != 0) {
		rc = fail(h, rc, "X25519 key generation failed");
		goto out;
	}
	if ((rc = x25519_shared_pair(ss_x, h->x_priv, h->x_pub, h->x_peer)) != 0) {
		rc = fail(h, rc, "initiator's X25519 key is degenerate");
		goto out;
	}
	if ((rc = mlkem768_encaps(h->ct, ss_m, h->ek, MLKEM768_EK_LEN)) != 0) {
		rc = fail(h, rc, "ML-KEM-768 encapsulation failed");
		goto out;
	}
	if ((rc = rand_bytes(nonce, sizeof(nonce))) != 0) {
		rc = fail(h, rc, "random number generator failed");
		goto out;
	}
	m.version = h->version;
	m.suite = h->suite;
	m.x25519.data = h->x_pub;
	m.x25519.len = 32;
	m.mlkem_ct.data = h->ct;
	m.mlkem_ct.len = MLKEM768_CT_LEN;
	m.nonce.data = nonce;
	m.nonce.len = NONCE_LEN;
	h->out_len = 0;
	start = h->out_len;
	if ((rc = out_frame(h, FRAME_REPLY, &m.base)) != 0 ||
	    (rc = hash_update(h->t, h->out + start, h->out_len - start)) != 0) {
		rc = fail(h, rc, "cannot build REPLY");
		goto out;
	}
	if ((rc = derive_hs(h, ss_m, ss_x)) != 0) {
		rc = fail(h, rc, "handshake key derivation failed");
		goto out;
	}
	if ((rc = send_auth(h, &h->ks.key_r, 'r', h->th2, h->ks.fk_r)) != 0 ||
	    (rc = hash_peek(h->t, h->th3)) != 0) {
		rc = fail(h, rc, "cannot build our AUTH: %s", stp_strerror(rc));
		goto out;
	}
	h->state = ST_R_WAIT_AUTH;
out:
	crypto_wipe(ss_x, sizeof(ss_x));
	crypto_wipe(ss_m, sizeof(ss_m));
	crypto_wipe(h->x_priv, sizeof(h->x_priv));
	return rc;
}

static int
work_r_auth(hs *h)
{
	Stp__V1__Auth *m = NULL;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc;

	if ((rc = check_auth(h, &h->ks.key_i, 'i', h->th3, h->ks.fk_i, NULL, &m,
	    &pt, &pt_len)) != 0)
		return rc;
	memcpy(h->peer_pub, m->identity.data, 32);
	h->peer_flags = m->flags;
	h->peer_features = m->features;
	if ((rc = hash_update(h->t, pt, pt_len)) != 0)
		return fail(h, rc, "transcript hash failed");
	return finish(h);
}

/* ---- the common entry points ---- */

/* Keep an AUTH frame for hs_work(). */
static int
take_auth(hs *h, const uint8_t *frame, size_t len, enum hs_work w)
{
	if (len > sizeof(h->auth))
		return fail(h, STP_EPROTO, "AUTH frame too long");
	memcpy(h->auth, frame, len);
	h->auth_len = len;
	h->work = w;
	return HS_WORK;
}

int
hs_input(hs *h, const uint8_t *frame, size_t len)
{
	uint8_t type;
	size_t blen;

	if (h->work != W_NONE || h->state == ST_FAILED || h->state == ST_DONE ||
	    h->state == ST_START)
		return STP_ESTATE;
	if (len < FRAME_HDR_LEN)
		return fail(h, h->state == ST_R_WAIT_HELLO ? STP_EMAC1 : STP_EPROTO,
		    "truncated frame");
	if (frame_get_header(frame, &type, &blen) != 0 ||
	    blen != len - FRAME_HDR_LEN)
		return fail(h, h->state == ST_R_WAIT_HELLO ? STP_EMAC1 : STP_EPROTO,
		    "bad frame header");
	switch (h->state) {
	case ST_I_WAIT_REPLY:
		return input_i_reply_state(h, type, frame, len);
	case ST_I_WAIT_AUTH:
		if (type != FRAME_AUTH)
			return fail(h, STP_EPROTO, "%s frame while waiting for AUTH",
			    frame_type_name(type));
		return take_auth(h, frame, len, W_I_AUTH);
	case ST_R_WAIT_HELLO:
		return input_r_hello(h, type, frame, len);
	case ST_R_WAIT_AUTH:
		if (type != FRAME_AUTH)
			return fail(h, STP_EPROTO, "%s frame while waiting for AUTH",
			    frame_type_name(type));
		return take_auth(h, frame, len, W_R_AUTH);
	default:
		return STP_ESTATE;
	}
}

int
hs_work(hs *h)
{
	enum hs_work w = h->work;

	h->work = W_NONE;
	switch (w) {
	case W_I_HELLO: return work_i_hello(h);
	case W_I_CHALLENGE: return work_i_challenge(h);
	case W_I_REPLY: return work_i_reply(h);
	case W_I_AUTH: return work_i_auth(h);
	case W_R_HELLO: return work_r_hello(h);
	case W_R_AUTH: return work_r_auth(h);
	default: return STP_ESTATE;
	}
}

const uint8_t *
hs_output(hs *h, size_t *len)
{
	*len = h->out_len;
	return h->out_len ? h->out : NULL;
}

void
hs_output_clear(hs *h)
{
	h->out_len = 0;
}

int
hs_done(const hs *h)
{
	return h->state == ST_DONE;
}

int
hs_failed(const hs *h)
{
	return h->state == ST_FAILED;
}

int
hs_result_take(hs *h, hs_result *r)
{
	if (h->state != ST_DONE || h->result_taken)
		return STP_ESTATE;
	memset(r, 0, sizeof(*r));
	memcpy(r->peer_pub, h->peer_pub, 32);
	memcpy(r->sid, h->sid, KS_SID_LEN);
	memcpy(r->resume, h->resume, KS_RESUME_LEN);
	memcpy(r->ts_send, h->c.initiator ? h->ts_i : h->ts_r, KS_SECRET_LEN);
	memcpy(r->ts_recv, h->c.initiator ? h->ts_r : h->ts_i, KS_SECRET_LEN);
	r->peer_flags = h->peer_flags;
	r->peer_features = h->peer_features;
	r->our_flags = h->c.flags;
	r->version = h->version;
	r->suite = h->suite;
	r->send_dir = h->c.initiator ? 'i' : 'r';
	r->recv_dir = h->c.initiator ? 'r' : 'i';
	crypto_wipe(h->ts_i, sizeof(h->ts_i));
	crypto_wipe(h->ts_r, sizeof(h->ts_r));
	crypto_wipe(h->resume, sizeof(h->resume));
	h->result_taken = 1;
	return 0;
}

void
hs_result_wipe(hs_result *r)
{
	crypto_wipe(r, sizeof(*r));
}

const char *
hs_reason(const hs *h)
{
	return h->reason;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handshake.h: the STP v1 handshake as a sans-I/O state machine
 * (proto/STP.md, "Handshake").  Frames in, frames out, keys at the end; no
 * sockets, no clocks.
 *
 * Cheap steps (frame checks, mac1, admission) run inside hs_input().  Each
 * expensive step (key generation, X25519, ML-KEM, signing, verifying) is left
 * pending and hs_input() returns HS_WORK: the owner then calls hs_work(),
 * from any thread (the crypto worker pool), and must not touch the hs in the
 * meantime.  After hs_work() returns, output may be waiting (hs_output) and
 * the handshake may be done (hs_done).
 *
 * States and the frames each accepts (anything else: STP_EPROTO):
 *   I: START -(hs_start)-> WAIT_REPLY {CHALLENGE, REJECT, REPLY}
 *      -> WAIT_AUTH {AUTH} -> DONE
 *   R: WAIT_HELLO {HELLO} -> WAIT_AUTH {AUTH} -> DONE
 */
#ifndef STP_HANDSHAKE_H
#define STP_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sign.h"
#include "guard.h"
#include "keysched.h"

/*
 * STP v1.1 is version 2 on the wire; it answers a HELLO that offers only
 * version 1 (STP v1) with REJECT_VERSION and never speaks v1.
 */
#define HS_VERSION 2
#define HS_VERSION_NAME "STP v1.1 (version 2)"
#define HS_SUITE 1
#define HS_AUTH_PT_LEN 160    /* every Auth plaintext, padded (STP.md, "AUTH") */
#define HS_MAX_ADMISSION 256  /* Hello.admission and Challenge.data */
#define HS_MAX_CHALLENGES 3   /* an initiator answers at most this many */
/*
 * Auth flags (proto/STP.md, "Signatures and Finished"): bit 0, the sender
 * signs every record it sends in this session; bit 1, the sender wants every
 * record the other side sends it signed.  Other bits are refused.
 */
#define AUTH_FLAG_SIGN_RECORDS 1u
#define AUTH_FLAG_WANT_SIGNED 2u
#define AUTH_FLAGS_KNOWN (AUTH_FLAG_SIGN_RECORDS | AUTH_FLAG_WANT_SIGNED)

/*
 * Auth.features bits (proto/STP.md, "Extensions"): bit 0, the sender
 * understands IdentityUpdate records ("Identity update"); bit 1, the
 * addresses in StreamOpen ("Stream addresses"); bit 2, StreamOpen naming a
 * host and port instead of a service ("Dynamic opens"); bit 3, datagram
 * flows: StreamOpen.datagram and Datagram records ("Datagram flows"); bit 4,
 * streams that outlive a broken connection: Resume and ResumeStreams
 * records, WindowUpdate.received and .fin ("Resumption").  A receiver
 * ignores bits it does not know; an extension is used only when both Auths
 * set its bit.
 */
#define HS_FEATURE_IDENTITY_UPDATE 1u
#define HS_FEATURE_STREAM_ADDRESSES 2u
#define HS_FEATURE_DYNAMIC_OPEN 4u
#define HS_FEATURE_DATAGRAMS 8u
#define HS_FEATURE_RESUME 16u
#define HS_FEATURES_ALL (HS_FEATURE_IDENTITY_UPDATE | \
	HS_FEATURE_STREAM_ADDRESSES | HS_FEATURE_DYNAMIC_OPEN | \
	HS_FEATURE_DATAGRAMS | HS_FEATURE_RESUME)

/* hs_input / hs_start results (non-negative); errors are negative STP_E*. */
enum {
	HS_OK = 0,     /* nothing to do yet */
	HS_WORK = 1,   /* call hs_work() (any thread), then look at output/done */
	HS_OUT = 2,    /* output is ready (CHALLENGE, REJECT), no work needed */
};

/* Admission verdicts. */
enum { HS_ADMIT = 0, HS_ADMIT_CHALLENGE = 1, HS_ADMIT_REJECT = 2 };

/*
 * Responder admission hook: runs after mac1 checked out and before anything
 * expensive, on the thread that called hs_input().  admission is
 * Hello.admission (found without decoding the whole Hello).  For
 * HS_ADMIT_CHALLENGE write at most *chal_len (in: capacity) bytes to chal and
 * set *chal_len.
 */
typedef int (*hs_admit_fn)(void *cookie, const uint8_t *admission,
    size_t admission_len, uint8_t *chal, size_t *chal_len);

/*
 * Initiator challenge hook: given a Challenge's data, write the answer to
 * put in the next Hello.admission.  Returns 0, or an error to give up.
 */
typedef int (*hs_answer_fn)(void *cookie, const uint8_t *chal, size_t chal_len,
    uint8_t *answer, size_t *answer_len);

typedef struct hs_config {
	int initiator;
	const sign_key *identity;  /* ours; borrowed, must outlive the hs */
	uint8_t peer_pub[32];      /* initiator: the responder key we dial */
	uint32_t flags;            /* our Auth flags */
	hs_admit_fn admit;         /* responder; NULL admits everyone */
	hs_answer_fn answer;       /* initiator; NULL gives up on a challenge */
	void *cookie;              /* passed to admit / answer */
	/*
	 * The listener's access secret (KS_ACCESS_SECRET_LEN bytes): an
	 * initiator's for the responder it dials, a responder's own.  NULL:
	 * none (mac1 keyed by pk_R alone).  Copied by hs_new.
	 */
	const uint8_t *access_secret;
	uint32_t features;         /* our Auth features: HS_FEATURE_* */
	/* Unix time in seconds; NULL: time(2).  Hello.time and its check. */
	uint64_t (*unix_now)(void *clock_arg);
	void *clock_arg;
	/*
	 * Responder: the listener's HELLO guard (replays, cookies), and the
	 * initiator's address for cookies (guard.h).  NULL: only the time
	 * window is checked.  first_guarded: the owner already ran
	 * hs_guard_hello on the first HELLO (the gate does), so it is not
	 * judged twice.
	 */
	guard *guard;
	uint8_t src[GUARD_SRC_MAX];
	size_t src_len;
	int first_guarded;
} hs_config;

typedef struct hs_result {
	uint8_t peer_pub[32];
	uint8_t sid[KS_SID_LEN];
	uint8_t resume[KS_RESUME_LEN];  /* the session's resume secret */
	uint8_t ts_send[KS_SECRET_LEN], ts_recv[KS_SECRET_LEN];
	uint32_t peer_flags, our_flags;
	uint32_t peer_features;
	uint32_t version, suite;
	char send_dir, recv_dir;   /* 'i' / 'r' */
} hs_result;

typedef struct hs hs;

/* New handshake, or NULL when out of memory or c->flags has undefined bits. */
hs *hs_new(const hs_config *c);
/* Wipes every secret and frees; hs_free(NULL) is a no-op. */
void hs_free(hs *h);

/* Initiator: begin.  Returns HS_WORK (the HELLO needs fresh key pairs). */
int hs_start(hs *h);

/*
 * One complete frame (header and body).  Returns HS_OK, HS_WORK, HS_OUT or
 * an error: STP_EMAC1 (responder: say nothing, close), STP_EPROTO,
 * STP_EREJECTED (initiator got REJECT; see hs_reason), STP_ESTATE (called
 * while work is pending or after an error).
 */
int hs_input(hs *h, const uint8_t *frame, size_t len);

/* Run the pending expensive step.  0 or an error (STP_EAUTH, STP_EVERIFY, STP_EPEER, STP_EDOWNGRADE, STP_EKEY, ...). */
int hs_work(hs *h);

/* Bytes to send (whole frames), or NULL with *len 0; valid until the next call on h. */
const uint8_t *hs_output(hs *h, size_t *len);
/* Mark the output as taken. */
void hs_output_clear(hs *h);

/* 1 once the handshake succeeded. */
int hs_done(const hs *h);
/*
 * 1 once it failed.  A responder that refused the initiator after mac1
 * (REJECT) returns HS_OUT with hs_failed() true: send the output, then close.
 */
int hs_failed(const hs *h);

/* Move the keys out (once, after hs_done); secrets in h are wiped. 0 or STP_ESTATE. */
int hs_result_take(hs *h, hs_result *r);
/* Wipe a result's secrets. */
void hs_result_wipe(hs_result *r);

/* Why the handshake failed, for logs ("" if it did not). */
const char *hs_reason(const hs *h);

/* hs_guard_hello verdicts. */
enum {
	HS_GUARD_PASS = 0,     /* go on: hand the HELLO to the handshake */
	HS_GUARD_STALE,        /* Hello.time outside the window: say nothing */
	HS_GUARD_REPLAY,       /* seen before: say nothing (like a failed mac1) */
	HS_GUARD_CHALLENGE,    /* send the CHALLENGE frame written to out */
};

/*
 * A responder's freshness check of a HELLO frame whose mac1 passed
 * (proto/STP.md, "Freshness"): Hello.time within the window, not a replay,
 * and under load a cookie for src.  A HELLO that does not offer STP v1.1
 * passes (the handshake refuses it with REJECT_VERSION, naming both).
 * g NULL checks the time window only.  For HS_GUARD_CHALLENGE, out (at least
 * HS_CHALLENGE_MAX bytes) receives the frame and *out_len its length.  why
 * (may be NULL) receives a sentence for logs.
 */
#define HS_CHALLENGE_MAX 64
int hs_guard_hello(guard *g, const uint8_t *frame, size_t len,
    const uint8_t *src, size_t src_len, uint64_t now, uint8_t *out,
    size_t *out_len, char *why, size_t why_len);

#endif

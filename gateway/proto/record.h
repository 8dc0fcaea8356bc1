/* SPDX-License-Identifier: Apache-2.0 */
/*
 * record.h: sealing and opening RECORD and KEY_UPDATE frames as
 * self-contained jobs (proto/STP.md, "Records").
 *
 * A job carries everything it needs (a copy of the direction key, the
 * sequence number, the frame buffer, and for signed records the signing key or
 * the peer's public key), so any thread may run it: the crypto worker pool
 * runs jobs, or with `workers: 0` the loop does.  Whoever made the job puts
 * the results back in sequence order.
 */
#ifndef STP_RECORD_H
#define STP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/aead.h"
#include "crypto/sign.h"
#include "frame.h"
#include "keysched.h"

/* Bytes of a trailing record signature: field 31 tag (0xfa 0x01), length 0x40, 64 bytes. */
#define RECORD_SIG_FIELD_LEN 67
/* Largest whole frame a job can hold. */
#define RECORD_FRAME_MAX (FRAME_HDR_LEN + FRAME_MAX_RECORD)

typedef enum { RECORD_SEAL = 1, RECORD_OPEN = 2 } record_op;

typedef struct record_job record_job;
struct record_job {
	record_op op;
	aead_dirkey key;          /* copy; wiped by record_job_run */
	uint64_t seq;
	/*
	 * The frame.  SEAL: on input buf holds header (4) || plaintext, len =
	 * 4 + plaintext length, cap >= len + 16; on output header || ct || tag.
	 * OPEN: on input the received frame; on success the plaintext is at
	 * buf + pt_off, pt_len bytes (decrypted in place).
	 */
	uint8_t *buf;
	size_t len, cap;
	size_t pt_off, pt_len;
	/* Record signatures (STP.md "Record signatures"), both NULL when off. */
	const sign_key *signer;   /* SEAL: fill the trailing 64 signature bytes */
	const sign_pub *verifier; /* OPEN: verify the trailing signature */
	uint8_t sid[KS_SID_LEN];
	char dir;                 /* 'i' or 'r': direction of this record */
	int result;               /* 0, or the error record_job_run returned */
	/* For the owner: queue link, enqueue time, its own pointer. */
	record_job *next;
	uint64_t t_queued_ns;
	void *owner;
};

/*
 * Run the job: SEAL (sign if signer, then seal in place) or OPEN (open in
 * place, then verify if verifier).  Sets and returns j->result: 0,
 * STP_EAUTH (tag), STP_EVERIFY (record signature bad or missing), STP_EINVAL.
 * On failure no plaintext is left in buf.  Thread-safe: touches only j and
 * ctx (one aead_ctx per thread).
 */
int record_job_run(record_job *j, aead_ctx *ctx);

/*
 * The message a record signature signs (STP.md "Record signatures"):
 * "stp1 record" || 0 || sid || dir || SHA-512(P), P the plaintext without the
 * trailing signature field.  Writes RECORD_SIG_MSG_LEN bytes.
 */
#define RECORD_SIG_MSG_LEN (12 + KS_SID_LEN + 1 + 64)
int record_sig_message(uint8_t out[RECORD_SIG_MSG_LEN],
    const uint8_t sid[KS_SID_LEN], char dir, const uint8_t *p, size_t p_len);

#endif

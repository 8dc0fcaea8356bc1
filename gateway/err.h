/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.h: the project's error codes.
 *
 * Every function that can fail returns 0 (or a byte count) on success and one
 * of these negative codes on failure.  Outputs are written only on success.
 */
#ifndef STP_ERR_H
#define STP_ERR_H

enum {
	STP_OK = 0,
	STP_ENOMEM = -1,    /* allocation failed */
	STP_EINVAL = -2,    /* bad argument: wrong length, out of range */
	STP_ECRYPTO = -3,   /* the crypto library failed internally */
	STP_EAUTH = -4,     /* authentication failed: AEAD tag, MAC */
	STP_EVERIFY = -5,   /* signature did not verify */
	STP_EKEY = -6,      /* key rejected: malformed, failed an input check */
	STP_EWEAKKEY = -7,  /* key agreement gave a degenerate (all-zero) secret */
	STP_EPARSE = -8,    /* input is not well formed */
	STP_EIO = -9,       /* a system call failed; errno says why */
	STP_EPERM = -10,    /* file permissions unsafe */
	STP_EEXIST = -11,   /* would overwrite an existing file */
	STP_ETOOBIG = -12,  /* length over a fixed limit */
	STP_EAGAIN = -13,   /* need more input (parsers) */
	STP_ESTATE = -14,   /* call not valid in the current state */
	STP_EPROTO = -15,   /* peer violated the protocol */
	STP_EMAC1 = -16,    /* first message failed mac1: answer nothing */
	STP_EPEER = -17,    /* peer key not in the peer map, or not the one dialed */
	STP_EREJECTED = -18,/* peer refused us (REJECT frame) */
	STP_EDOWNGRADE = -19,/* version or suite not one we offered */
	STP_ECLOSED = -20,  /* session closed */
};

/* Returns a short, static, human-readable description of an error code. */
const char *stp_strerror(int err);

#include <stddef.h>
/* Format a message into err (errlen bytes); nothing when err is NULL. */
void stp_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

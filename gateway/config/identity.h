/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity.h: our long-term Ed25519 identity: the secret key file, the
 * public key as text, and the fingerprint people compare out of band.
 *
 * Public key text (the only form the peer map accepts):
 *
 *	"stp1:" || base64url(pk || check)
 *
 * where pk is the 32-byte Ed25519 public key, check is the first 4 bytes of
 * SHA-256("stpgate key checksum v1" || pk) (the label's 23 ASCII bytes, no
 * terminator), and base64url is RFC 4648 section 5 without padding.  36 bytes
 * give exactly 48 characters, so a key text is always 53 characters long.
 * The checksum catches a mistyped or truncated key before it reaches a
 * config; it is not a security feature (anyone can compute it).
 *
 * Identity file (secret; mode 0600, written atomically):
 *
 *	# stpgate identity: Ed25519 secret key. Keep it secret; mode 0600.
 *	# public: stp1:<48 characters>
 *	stp-identity-v1 <base64url of the 32-byte seed, 43 characters>
 *
 * Lines starting with '#' and blank lines are comments, except that a
 * "# public:" comment, when present, must name the key the seed derives (it
 * catches a file spliced from two keys).  Exactly one stp-identity-v1 line is
 * required; anything else is an error.  A trailing "\r" is tolerated.  Files
 * over IDENTITY_FILE_MAX bytes, files that are not regular files and files
 * that group or others may read or write are refused.
 *
 * Fingerprint: 8 words joined by '-'; word i is wordlist_word(h[i]) where h
 * is SHA-512("stpgate fingerprint v1" || pk) (the label's 22 ASCII bytes, no
 * terminator).  64 bits: enough to notice a substituted key when reading it
 * aloud, not a replacement for comparing the key text itself in a config.
 */
#ifndef STP_IDENTITY_H
#define STP_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sign.h"

#define IDENTITY_PUBTEXT_PREFIX "stp1:"
#define IDENTITY_PUBTEXT_PREFIX_LEN 5
#define IDENTITY_PUBTEXT_B64_LEN 48   /* characters after the prefix */
#define IDENTITY_PUBTEXT_LEN \
	(IDENTITY_PUBTEXT_PREFIX_LEN + IDENTITY_PUBTEXT_B64_LEN)
#define IDENTITY_CHECK_LEN 4          /* checksum bytes inside the key text */

#define IDENTITY_FILE_TAG "stp-identity-v1"
#define IDENTITY_SEED_B64_LEN 43      /* characters of the seed on that line */
#define IDENTITY_FILE_MAX 4096        /* bytes; larger files are refused */

#define IDENTITY_FP_WORDS 8
/* Buffer size for a fingerprint: 8 words of up to 7 letters, 7 dashes, NUL. */
#define IDENTITY_FP_MAX (IDENTITY_FP_WORDS * 8)

/* A new identity from the RNG.  *out set only on success.  0 or STP_E*. */
int identity_generate(sign_key **out);

/*
 * Write a new file holding a secret (buf, n bytes): mode exactly 0600,
 * through a temporary name, fsync'd, then linked in (refusing an existing
 * name) or, with force, renamed over it.  0 or STP_EEXIST / STP_EIO /
 * STP_ENOMEM with errno kept and err saying why.
 */
int identity_file_write(const char *path, const char *buf, size_t n, int force,
    char *err, size_t errlen);
/*
 * Write key's identity file at path, mode 0600: a temporary file in the same
 * directory (created exclusively, 0600, fsynced) is moved into place, then
 * the directory is fsynced (best effort).  Without force an existing path
 * (even a dangling symlink) is never replaced: the move is a link(2) that
 * fails if the name exists.  With force the move is a rename(2), atomic over
 * an old file.  Returns 0; STP_EEXIST (path exists, force not set); STP_EIO
 * (errno is left saying why); STP_ENOMEM; STP_ECRYPTO.  On failure err holds
 * "PATH: reason" and no temporary file is left behind.
 */
int identity_save(const char *path, const sign_key *key, int force, char *err,
    size_t errlen);

/*
 * Load the identity file at path into *out (set only on success; free with
 * sign_key_free).  Returns 0 or, with "PATH: reason" (or "PATH:LINE: reason")
 * in err: STP_EIO (cannot open or read), STP_EINVAL (not a regular file),
 * STP_EPERM (group/other bits set; the message gives the mode and the chmod
 * to run), STP_ETOOBIG, STP_EPARSE (not an identity file, bad or truncated
 * key), STP_EKEY (the "# public:" comment disagrees with the key), STP_ENOMEM,
 * STP_ECRYPTO.
 */
int identity_load(const char *path, sign_key **out, char *err, size_t errlen);

/*
 * The text of key's identity file (what identity_save writes) into buf and
 * a NUL; returns its length, or a negative STP_E* (buf wiped).  For
 * `stpgate keygen -o -`.
 */
int identity_encode(const sign_key *key, char *buf, size_t len);

/*
 * Parse an identity file's text, buf[0..len), as identity_load does after
 * reading the file (name stands for the file in messages).  buf must have
 * room for one byte more than len and is changed.  For `stpgate pubkey`
 * reading standard input.
 */
int identity_parse(const char *name, char *buf, size_t len, sign_key **out,
    char *err, size_t errlen);

/* Write pub's key text and a NUL to out.  Returns 0 or STP_ECRYPTO. */
int identity_pub_encode(const uint8_t pub[SIGN_PUB_LEN],
    char out[IDENTITY_PUBTEXT_LEN + 1]);

/*
 * Parse a NUL-terminated key text into pub (written only on success).  The
 * text must be exact: no surrounding spaces.  Returns 0 or, with a reason
 * (no path, no key text) in err: STP_EPARSE for a wrong prefix, padding '=',
 * a wrong length or a character outside the alphabet; STP_EKEY for a
 * checksum mismatch; STP_ECRYPTO.  Callers holding counted strings must
 * refuse embedded NUL bytes first.
 */
int identity_pub_decode(const char *text, uint8_t pub[SIGN_PUB_LEN],
    char *err, size_t errlen);

/*
 * Write pub's fingerprint words and a NUL to out (outlen >= IDENTITY_FP_MAX).
 * Returns 0, STP_EINVAL (buffer too small) or STP_ECRYPTO.
 */
int identity_fingerprint(const uint8_t pub[SIGN_PUB_LEN], char *out,
    size_t outlen);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secret.h: the access secret, 32 random bytes that a listener and every
 * gateway that dials it hold in their configs (access_secret: and
 * peers.NAME.access_secret:, conf/example.yaml), as text.
 *
 * Secret text (the only form a config accepts):
 *
 *	"stps1:" || base64url(secret || check)
 *
 * where check is the first 4 bytes of SHA-256("stpgate secret checksum v1"
 * || secret) (the label's 26 ASCII bytes, no terminator), and base64url is
 * RFC 4648 section 5 without padding.  36 bytes give exactly 48 characters,
 * so a secret text is always 54 characters long.  It is written like a
 * public key's text (identity.h) with its own prefix and checksum label, so
 * that neither is taken for the other when pasted into the wrong key.  The
 * checksum catches a mistyped or truncated line; it is not a security
 * feature.
 *
 * Secret file (what `stpgate secret -o FILE` writes; mode 0600): the secret
 * text and a newline, nothing else, ready to paste into a config.
 */
#ifndef STP_SECRET_H
#define STP_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define SECRET_LEN 32
#define SECRET_TEXT_PREFIX "stps1:"
#define SECRET_TEXT_PREFIX_LEN 6
#define SECRET_TEXT_B64_LEN 48        /* characters after the prefix */
#define SECRET_TEXT_LEN (SECRET_TEXT_PREFIX_LEN + SECRET_TEXT_B64_LEN)
#define SECRET_CHECK_LEN 4            /* checksum bytes inside the text */

/* A new secret from the CSPRNG (crypto/rand.h).  0 or STP_ECRYPTO. */
int secret_generate(uint8_t secret[SECRET_LEN]);

/* Write secret's text and a NUL to out.  Returns 0 or STP_ECRYPTO. */
int secret_text_encode(const uint8_t secret[SECRET_LEN],
    char out[SECRET_TEXT_LEN + 1]);

/*
 * Parse a NUL-terminated secret text into secret (written only on success).
 * The text must be exact: no surrounding spaces.  Returns 0 or, with a
 * reason in err that never quotes the text: STP_EPARSE for a wrong prefix
 * (a public key's "stp1:" is named as such), padding '=', a character
 * outside the alphabet or a wrong length; STP_EKEY for a checksum mismatch;
 * STP_ECRYPTO.  Callers holding counted strings must refuse embedded NUL
 * bytes first.
 */
int secret_text_decode(const char *text, uint8_t secret[SECRET_LEN],
    char *err, size_t errlen);

/*
 * Write secret's text and a newline to a new file at path, mode 0600.  An
 * existing path (even a dangling symlink) is never replaced.  Returns 0;
 * STP_EEXIST (path exists); STP_EIO (errno is left saying why); STP_ECRYPTO.
 * On failure err holds "PATH: reason" and no file is left behind.
 */
int secret_save(const char *path, const uint8_t secret[SECRET_LEN],
    char *err, size_t errlen);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base64url.h: unpadded base64url (RFC 4648 section 5), strict.
 *
 * The alphabet is A-Z a-z 0-9 '-' '_'.  We never write padding and never
 * accept it.  Decoding is canonical: every text maps to exactly one byte
 * string and back, so a text whose last character carries non-zero unused
 * bits is refused rather than silently normalised.  Character translation is
 * branch-free and table-free, so decoding a secret (an identity seed) does
 * not leak it through the data cache.
 */
#ifndef STP_BASE64URL_H
#define STP_BASE64URL_H

#include <stddef.h>
#include <stdint.h>

/* Length in characters (no padding, no NUL) of the encoding of n bytes. */
#define BASE64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/*
 * Write the encoding of in[0..len) and a terminating NUL to out, which holds
 * outsize bytes.  Returns 0, or STP_EINVAL if outsize < BASE64URL_LEN(len) + 1
 * (out untouched).
 */
int base64url_encode(char *out, size_t outsize, const void *in, size_t len);

/*
 * Decode the inlen characters at in into exactly outlen bytes.  Returns 0;
 * STP_EINVAL if inlen != BASE64URL_LEN(outlen); STP_EPARSE if a character is
 * outside the alphabet (padding '=' included) or the unused low bits of the
 * last character are not zero.  out is written only on success.
 */
int base64url_decode(uint8_t *out, size_t outlen, const char *in, size_t inlen);

/*
 * Number of leading characters of s[0..len) that are in the alphabet, so a
 * caller can say where a text goes wrong.  Not constant-time.
 */
size_t base64url_span(const char *s, size_t len);

/*
 * Why s[0..len) is not in the alphabet, written to buf and returned, or NULL
 * if every character is: "padding '=' is not allowed", "invalid character
 * 'c' at position N" (printable ASCII) or "invalid byte 0xNN at position N".
 * N counts from 1 + base, so a caller that stripped a prefix of base
 * characters names the position in the text the user wrote.  Shared by the
 * text forms of keys and secrets (identity.c, secret.c); not constant-time.
 */
const char *base64url_reason(const char *s, size_t len, size_t base,
    char *buf, size_t buflen);

/*
 * A "checked text": prefix, then base64url-unpadded of a 32-byte value and
 * its checksum SHA-256(label || value)[0..4) (48 characters), as public keys
 * (stp1:) and access secrets (stps1:) are written.  Decoding: text must
 * start with prefix (the caller checks, to say what else it might be);
 * errors name `what` ("key", "secret"): STP_EPARSE for the alphabet,
 * padding or length, STP_EKEY for a checksum mismatch.  Both wipe the bytes
 * they handled from the stack.
 */
#define BASE64URL_CHECKED_LEN 48
int base64url_checked_encode(const uint8_t v[32], const char *prefix,
    const char *label, char *out, size_t outsize);
int base64url_checked_decode(const char *text, const char *prefix,
    const char *what, const char *label, uint8_t out[32], char *err,
    size_t errlen);

#endif

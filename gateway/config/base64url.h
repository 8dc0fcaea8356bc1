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

#endif

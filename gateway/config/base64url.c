/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base64url.c: unpadded, canonical base64url.  See base64url.h.
 *
 * The 6-bit value <-> character maps are computed with masks instead of a
 * lookup table: for a small int c, ((lo - 1 - c) & (c - hi - 1)) >> 8 is -1
 * exactly when lo <= c <= hi and 0 otherwise (both operands are negative only
 * inside the range; right-shifting a negative int is arithmetic on every
 * compiler we build with).
 */
#include "base64url.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "err.h"

/* -1 when lo <= c <= hi, else 0. */
#define IN_RANGE(c, lo, hi) ((((lo) - 1 - (c)) & ((c) - (hi) - 1)) >> 8)

/* The character for a 6-bit value v. */
static char
enc6(unsigned v)
{
	int x = (int)v, c;

	c = x + 'A';
	c += (IN_RANGE(x, 26, 63) & ('a' - 'A' - 26));
	c += (IN_RANGE(x, 52, 63) & ('0' - 'a' - 26));
	c += (IN_RANGE(x, 62, 63) & ('-' - '0' - 10));
	c += (IN_RANGE(x, 63, 63) & ('_' - '-' - 1));
	return (char)c;
}

/* The 6-bit value of character ch, or -1 if ch is not in the alphabet. */
static int
dec6(unsigned char ch)
{
	int c = ch, v = -1;

	v += IN_RANGE(c, 'A', 'Z') & (c - 'A' + 1);
	v += IN_RANGE(c, 'a', 'z') & (c - 'a' + 27);
	v += IN_RANGE(c, '0', '9') & (c - '0' + 53);
	v += IN_RANGE(c, '-', '-') & 63;
	v += IN_RANGE(c, '_', '_') & 64;
	return v;
}

int
base64url_encode(char *out, size_t outsize, const void *in, size_t len)
{
	const uint8_t *p = in;
	size_t i, o = 0;
	uint32_t w;

	if (outsize < BASE64URL_LEN(len) + 1)
		return STP_EINVAL;
	for (i = 0; i + 3 <= len; i += 3) {
		w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = enc6(w >> 18);
		out[o++] = enc6((w >> 12) & 63);
		out[o++] = enc6((w >> 6) & 63);
		out[o++] = enc6(w & 63);
	}
	if (len - i == 1) {
		w = (uint32_t)p[i] << 16;
		out[o++] = enc6(w >> 18);
		out[o++] = enc6((w >> 12) & 63);
	} else if (len - i == 2) {
		w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = enc6(w >> 18);
		out[o++] = enc6((w >> 12) & 63);
		out[o++] = enc6((w >> 6) & 63);
	}
	out[o] = '\0';
	return 0;
}

int
base64url_decode(uint8_t *out, size_t outlen, const char *in, size_t inlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i, o;
	int neg = 0, tail = 0;
	uint32_t w;

	if (inlen != BASE64URL_LEN(outlen))
		return STP_EINVAL;

	/*
	 * Validate everything before writing anything.  An invalid character
	 * sets the sign bit of neg.  The last character of a 1- or 2-byte tail
	 * has 4 or 2 low bits that encode nothing; they must be zero.
	 */
	for (i = 0; i < inlen; i++)
		neg |= dec6(s[i]);
	if (inlen % 4 == 2)
		tail = dec6(s[inlen - 1]) & 0x0f;
	else if (inlen % 4 == 3)
		tail = dec6(s[inlen - 1]) & 0x03;
	if (neg < 0 || tail != 0)
		return STP_EPARSE;

	for (i = 0, o = 0; i + 4 <= inlen; i += 4) {
		w = (uint32_t)dec6(s[i]) << 18 |
		    (uint32_t)dec6(s[i + 1]) << 12 |
		    (uint32_t)dec6(s[i + 2]) << 6 | (uint32_t)dec6(s[i + 3]);
		out[o++] = (uint8_t)(w >> 16);
		out[o++] = (uint8_t)(w >> 8);
		out[o++] = (uint8_t)w;
	}
	if (inlen - i >= 2) {
		w = (uint32_t)dec6(s[i]) << 18 | (uint32_t)dec6(s[i + 1]) << 12;
		if (inlen - i == 3)
			w |= (uint32_t)dec6(s[i + 2]) << 6;
		out[o++] = (uint8_t)(w >> 16);
		if (inlen - i == 3)
			out[o++] = (uint8_t)(w >> 8);
	}
	return 0;
}

size_t
base64url_span(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (dec6((unsigned char)s[i]) < 0)
			break;
	return i;
}

const char *
base64url_reason(const char *s, size_t len, size_t base, char *buf,
    size_t buflen)
{
	size_t n = base64url_span(s, len);
	unsigned char c;

	if (n == len)
		return NULL;
	c = (unsigned char)s[n];
	if (c == '=')
		snprintf(buf, buflen, "padding '=' is not allowed");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(buf, buflen, "invalid character '%c' at position %zu",
		    c, base + n + 1);
	else
		snprintf(buf, buflen, "invalid byte 0x%02x at position %zu",
		    c, base + n + 1);
	return buf;
}

/* The checksum of a checked text: SHA-256(label || value)[0..4). */
static int
checked_sum(const char *label, const uint8_t v[32], uint8_t c[4])
{
	uint8_t msg[64 + 32], h[HASH_SHA256_LEN];
	size_t n = strlen(label);
	int rc;

	if (n > 64)
		return STP_EINVAL;
	memcpy(msg, label, n);
	memcpy(msg + n, v, 32);
	if ((rc = hash_sha256(h, msg, n + 32)) == 0)
		memcpy(c, h, 4);
	crypto_wipe(msg, sizeof(msg));
	crypto_wipe(h, sizeof(h));
	return rc;
}

int
base64url_checked_encode(const uint8_t v[32], const char *prefix,
    const char *label, char *out, size_t outsize)
{
	uint8_t raw[32 + 4];
	size_t plen = strlen(prefix);
	int rc;

	if (outsize < plen + BASE64URL_CHECKED_LEN + 1)
		return STP_EINVAL;
	memcpy(raw, v, 32);
	if ((rc = checked_sum(label, v, raw + 32)) == 0) {
		memcpy(out, prefix, plen);
		rc = base64url_encode(out + plen, outsize - plen, raw,
		    sizeof(raw));
	}
	crypto_wipe(raw, sizeof(raw));
	return rc;
}

int
base64url_checked_decode(const char *text, const char *prefix,
    const char *what, const char *label, uint8_t out[32], char *err,
    size_t errlen)
{
	uint8_t raw[32 + 4], c[4];
	size_t plen = strlen(prefix), len;
	const char *b64 = text + plen, *why;
	char whybuf[80];
	int rc;

	len = strlen(b64);
	/* A character outside the alphabet is never part of the value. */
	if ((why = base64url_reason(b64, len, plen, whybuf,
	    sizeof(whybuf))) != NULL) {
		stp_seterr(err, errlen, "%s in %s text", why, what);
		return STP_EPARSE;
	}
	if (len != BASE64URL_CHECKED_LEN) {
		stp_seterr(err, errlen, "wrong length: %zu characters after "
		    "'%s', expected %d", len, prefix, BASE64URL_CHECKED_LEN);
		return STP_EPARSE;
	}
	if ((rc = base64url_decode(raw, sizeof(raw), b64, len)) != 0) {
		stp_seterr(err, errlen, "malformed %s text", what);
		goto out;
	}
	if ((rc = checked_sum(label, raw, c)) != 0) {
		stp_seterr(err, errlen, "%s", stp_strerror(rc));
		goto out;
	}
	if (!crypto_memeq(c, raw + 32, 4)) {
		rc = STP_EKEY;
		stp_seterr(err, errlen,
		    "checksum mismatch: %s text mistyped or corrupted", what);
		goto out;
	}
	memcpy(out, raw, 32);
out:
	crypto_wipe(raw, sizeof(raw));
	return rc;
}

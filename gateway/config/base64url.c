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

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxyhdr.c: PROXY protocol v1 and v2 headers.  See proxyhdr.h.
 *
 * Written from the public specification (haproxy's doc/proxy-protocol.txt).
 * Both encoders first work out the family both addresses are written in,
 * then the exact size, and touch out only once they know it fits.
 */
#include "proxyhdr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define V2_VER_CMD 0x21         /* version 2, command PROXY */
#define V2_TCP4 0x11            /* AF_INET, STREAM */
#define V2_TCP6 0x21            /* AF_INET6, STREAM */
#define V2_UNSPEC 0x00          /* AF_UNSPEC, UNSPEC */
#define V2_ADDR4 12             /* 2 * 4 + 2 * 2 */
#define V2_ADDR6 36             /* 2 * 16 + 2 * 2 */
#define V2_LEN_MAX 0xffff       /* what the length field counts */

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/*
 * The family both addresses are written in: AF_INET when both are IPv4,
 * AF_INET6 when both are known and one is IPv6, else AF_UNSPEC.
 */
static int
common_family(const proxyhdr_addr *src, const proxyhdr_addr *dst)
{
	if ((src->family != AF_INET && src->family != AF_INET6) ||
	    (dst->family != AF_INET && dst->family != AF_INET6))
		return AF_UNSPEC;
	if (src->family == AF_INET && dst->family == AF_INET)
		return AF_INET;
	return AF_INET6;
}

/* a (known) as 16 bytes of IPv6: IPv4 becomes ::ffff:a.b.c.d. */
static void
as_v6(const proxyhdr_addr *a, uint8_t ip[16])
{
	if (a->family == AF_INET6) {
		memcpy(ip, a->ip, 16);
		return;
	}
	memset(ip, 0, 10);
	ip[10] = 0xff;
	ip[11] = 0xff;
	memcpy(ip + 12, a->ip, 4);
}

/* a (known) in family fam's text form; buf holds INET6_ADDRSTRLEN. */
static void
addr_text(const proxyhdr_addr *a, int fam, char *buf)
{
	uint8_t ip[16];

	if (fam == AF_INET)
		inet_ntop(AF_INET, a->ip, buf, INET6_ADDRSTRLEN);
	else {
		as_v6(a, ip);
		inet_ntop(AF_INET6, ip, buf, INET6_ADDRSTRLEN);
	}
}

int
proxyhdr_v1(const proxyhdr_addr *src, const proxyhdr_addr *dst, char *out,
    size_t len)
{
	/* Room for the longest text inet_ntop could give, not only what fits. */
	char line[2 * INET6_ADDRSTRLEN + 32];
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int fam, n;

	fam = common_family(src, dst);
	if (fam == AF_UNSPEC)
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	else {
		addr_text(src, fam, s);
		addr_text(dst, fam, d);
		n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
		    fam == AF_INET ? "TCP4" : "TCP6", s, d,
		    (unsigned)src->port, (unsigned)dst->port);
	}
	if (n < 0 || (size_t)n >= sizeof(line) || (size_t)n >= len)
		return -1;
	memcpy(out, line, (size_t)n + 1);
	return n;
}

/* 1 if peer is 1..PROXYHDR_PEER_MAX bytes of [A-Za-z0-9_.-]; its length in *plen. */
static int
peer_ok(const char *peer, size_t *plen)
{
	size_t i;
	char c;

	for (i = 0; peer[i] != '\0'; i++) {
		if (i == PROXYHDR_PEER_MAX)
			return 0;
		c = peer[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	*plen = i;
	return i > 0;
}

static uint8_t *
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put_tlv(uint8_t *p, uint8_t type, const char *v, size_t vlen)
{
	*p++ = type;
	p = put16(p, (unsigned)vlen);
	memcpy(p, v, vlen);
	return p + vlen;
}

int
proxyhdr_v2(const proxyhdr_addr *src, const proxyhdr_addr *dst,
    const char *peer, const char *key, uint8_t *out, size_t len)
{
	uint8_t s6[16], d6[16], *p;
	size_t peer_len = 0, key_len = 0, body;
	int fam;

	if (peer != NULL && !peer_ok(peer, &peer_len))
		return -1;
	if (key != NULL && (key_len = strnlen(key, V2_LEN_MAX + 1)) > V2_LEN_MAX)
		return -1;
	fam = common_family(src, dst);
	body = fam == AF_INET ? V2_ADDR4 : fam == AF_INET6 ? V2_ADDR6 : 0;
	if (peer != NULL)
		body += 3 + peer_len;
	if (key != NULL)
		body += 3 + key_len;
	if (body > V2_LEN_MAX || len < PROXYHDR_V2_HEAD ||
	    len - PROXYHDR_V2_HEAD < body)
		return -1;

	p = out;
	memcpy(p, v2_sig, sizeof(v2_sig));
	p += sizeof(v2_sig);
	*p++ = V2_VER_CMD;
	*p++ = fam == AF_INET ? V2_TCP4 : fam == AF_INET6 ? V2_TCP6 : V2_UNSPEC;
	p = put16(p, (unsigned)body);
	if (fam == AF_INET) {
		memcpy(p, src->ip, 4);
		memcpy(p + 4, dst->ip, 4);
		p += 8;
	} else if (fam == AF_INET6) {
		as_v6(src, s6);
		as_v6(dst, d6);
		memcpy(p, s6, 16);
		memcpy(p + 16, d6, 16);
		p += 32;
	}
	if (fam != AF_UNSPEC) {
		p = put16(p, src->port);
		p = put16(p, dst->port);
	}
	if (peer != NULL)
		p = put_tlv(p, PROXYHDR_TLV_STP_PEER, peer, peer_len);
	if (key != NULL)
		p = put_tlv(p, PROXYHDR_TLV_STP_KEY, key, key_len);
	return (int)(p - out);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_proxyhdr.c: PROXY protocol headers (gateway/reactor/proxyhdr.c) read
 * back by a small parser of the test's own, written from the specification
 * and not from the encoder: TCP4, TCP6, mixed families (IPv4-mapped),
 * IPv4-mapped IPv6 kept as such, unknown addresses, with and without the
 * peer and key TLVs.  The exact bytes are pinned by hand-written v1 lines
 * and v2 hex; buffers one byte short are refused with nothing written;
 * peer names outside 1..63 of [A-Za-z0-9_.-] and headers whose length field
 * would overflow are refused; the largest headers fit the _MAX constants.
 * The parsers are checked to refuse broken input, or a round trip would
 * prove nothing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxyhdr.h"
#include "testlib.h"

#define CANARY 0xa5

/* ---- addresses ---- */

static proxyhdr_addr
addr(int family, const char *text, uint16_t port)
{
	proxyhdr_addr a;

	memset(&a, 0, sizeof(a));
	a.family = family;
	a.port = port;
	if (text != NULL && inet_pton(family, text, a.ip) != 1) {
		fprintf(stderr, "bad test address %s\n", text);
		exit(2);
	}
	return a;
}

static proxyhdr_addr
unknown(int family)
{
	return addr(family, NULL, 0);
}

static size_t
ip_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* got == want: family, address bytes, port (unknown: family only). */
static void
check_addr(const char *which, const proxyhdr_addr *got,
    const proxyhdr_addr *want)
{
	char saved[sizeof(t_ctx)];

	memcpy(saved, t_ctx, sizeof(saved));
	t_set_ctx("%.200s %s", saved, which);
	T_INT(got->family, want->family);
	if (want->family != AF_UNSPEC) {
		T_MEM(got->ip, ip_len(got->family), want->ip, ip_len(want->family));
		T_INT(got->port, want->port);
	}
	memcpy(t_ctx, saved, sizeof(saved));
}

/* ---- the test's own parsers ---- */

/* A decimal port: digits only, no leading zero, at most 65535. */
static int
parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0') || strlen(s) > 5)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/*
 * A v1 line of n bytes, NUL-terminated at b[n]: "PROXY UNKNOWN\r\n" (both
 * addresses AF_UNSPEC) or "PROXY TCP4|TCP6 src dst sport dport\r\n" with
 * single spaces.  0, or -1 if it is not exactly that.
 */
static int
parse_v1(const char *b, size_t n, proxyhdr_addr *src, proxyhdr_addr *dst)
{
	char tmp[128], *tok[8], *p;
	size_t ntok = 0;
	int fam;

	if (n > 107 || strlen(b) != n || n < 2 || strcmp(b + n - 2, "\r\n") != 0)
		return -1;
	memcpy(tmp, b, n - 2);
	tmp[n - 2] = '\0';
	if (strchr(tmp, '\r') != NULL || strchr(tmp, '\n') != NULL)
		return -1;
	for (p = tmp;;) {
		if (ntok == 8)
			return -1;
		tok[ntok++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	if (strcmp(tok[0], "PROXY") != 0)
		return -1;
	if (strcmp(tok[1], "UNKNOWN") == 0 && ntok == 2) {
		*src = unknown(AF_UNSPEC);
		*dst = unknown(AF_UNSPEC);
		return 0;
	}
	if (ntok != 6)
		return -1;
	if (strcmp(tok[1], "TCP4") == 0)
		fam = AF_INET;
	else if (strcmp(tok[1], "TCP6") == 0)
		fam = AF_INET6;
	else
		return -1;
	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	src->family = dst->family = fam;
	if (inet_pton(fam, tok[2], src->ip) != 1 ||
	    inet_pton(fam, tok[3], dst->ip) != 1 ||
	    parse_port(tok[4], &src->port) != 0 ||
	    parse_port(tok[5], &dst->port) != 0)
		return -1;
	return 0;
}

typedef struct v2hdr {
	proxyhdr_addr src, dst;
	size_t tlv_off;                 /* where the TLVs start */
	const uint8_t *peer, *key;      /* NULL: TLV absent */
	size_t peer_len, key_len;
	uint8_t types[4];               /* TLV types in order */
	size_t ntlv;
} v2hdr;

static unsigned
get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/*
 * A whole v2 header of exactly n bytes: signature, version 2, command
 * PROXY, TCP4 / TCP6 / UNSPEC, the length counting the rest exactly, then
 * TLVs each within the header (E0, E1 at most once each).  0 or -1.
 */
static int
parse_v2(const uint8_t *b, size_t n, v2hdr *h)
{
	static const uint8_t sig[12] = { '\r', '\n', '\r', '\n', 0, '\r', '\n',
	    'Q', 'U', 'I', 'T', '\n' };
	size_t alen, off, vlen;
	int fam;

	memset(h, 0, sizeof(*h));
	if (n < 16 || memcmp(b, sig, 12) != 0 || b[12] != 0x21)
		return -1;
	switch (b[13]) {
	case 0x11: fam = AF_INET; alen = 12; break;
	case 0x21: fam = AF_INET6; alen = 36; break;
	case 0x00: fam = AF_UNSPEC; alen = 0; break;
	default: return -1;
	}
	if (get16(b + 14) != n - 16 || n - 16 < alen)
		return -1;
	h->src.family = h->dst.family = fam;
	if (fam != AF_UNSPEC) {
		memcpy(h->src.ip, b + 16, ip_len(fam));
		memcpy(h->dst.ip, b + 16 + ip_len(fam), ip_len(fam));
		h->src.port = (uint16_t)get16(b + 16 + 2 * ip_len(fam));
		h->dst.port = (uint16_t)get16(b + 18 + 2 * ip_len(fam));
	}
	h->tlv_off = off = 16 + alen;
	while (off < n) {
		if (n - off < 3 || h->ntlv == sizeof(h->types))
			return -1;
		vlen = get16(b + off + 1);
		if (n - off - 3 < vlen)
			return -1;
		h->types[h->ntlv++] = b[off];
		if (b[off] == 0xe0) {
			if (h->peer != NULL)
				return -1;
			h->peer = b + off + 3;
			h->peer_len = vlen;
		} else if (b[off] == 0xe1) {
			if (h->key != NULL)
				return -1;
			h->key = b + off + 3;
			h->key_len = vlen;
		}
		off += 3 + vlen;
	}
	return 0;
}

/* ---- helpers ---- */

/* 1 when buf[from..to) all hold the canary. */
static int
untouched(const uint8_t *buf, size_t from, size_t to)
{
	for (; from < to; from++) {
		if (buf[from] != CANARY)
			return 0;
	}
	return 1;
}

static uint8_t *
unhex(const char *hex, size_t *len)
{
	uint8_t *b = t_unhex(hex, len);

	if (b == NULL) {
		fprintf(stderr, "bad test hex\n");
		exit(2);
	}
	return b;
}

/*
 * v1 for src -> dst: the line is want_line exactly, parses back to wsrc ->
 * wdst, a buffer of every size below line + NUL is refused untouched, and
 * one of exactly that size gets the line with nothing written past it.
 */
static void
check_v1(const proxyhdr_addr *src, const proxyhdr_addr *dst,
    const proxyhdr_addr *wsrc, const proxyhdr_addr *wdst, const char *want_line)
{
	char line[PROXYHDR_V1_MAX];
	uint8_t buf[PROXYHDR_V1_MAX + 16];
	proxyhdr_addr ps, pd;
	size_t len;
	int n, r;

	memset(line, CANARY, sizeof(line));
	n = proxyhdr_v1(src, dst, line, sizeof(line));
	if (!T_INT(n, (long long)strlen(want_line)))
		return;
	T_OK(line[n] == '\0');
	T_MEM(line, (size_t)n, want_line, strlen(want_line));
	if (T_INT(parse_v1(line, (size_t)n, &ps, &pd), 0)) {
		check_addr("v1 src", &ps, wsrc);
		check_addr("v1 dst", &pd, wdst);
	}
	for (len = 0; len <= (size_t)n; len++) {
		memset(buf, CANARY, sizeof(buf));
		r = proxyhdr_v1(src, dst, (char *)buf, len);
		if (!T_INT(r, -1) || !T_OK(untouched(buf, 0, sizeof(buf))))
			break;
	}
	memset(buf, CANARY, sizeof(buf));
	T_INT(proxyhdr_v1(src, dst, (char *)buf, (size_t)n + 1), n);
	T_MEM(buf, (size_t)n + 1, want_line, (size_t)n + 1);
	T_OK(untouched(buf, (size_t)n + 1, sizeof(buf)));
}

/*
 * v2 for src -> dst with peer and key (either NULL): parses back to wsrc ->
 * wdst and the TLVs given, in order, right after the addresses; sizes as
 * for v1 (no NUL here).  Returns the header's length (or -1).
 */
static int
check_v2(const proxyhdr_addr *src, const proxyhdr_addr *dst,
    const proxyhdr_addr *wsrc, const proxyhdr_addr *wdst, const char *peer,
    const char *key)
{
	uint8_t out[PROXYHDR_V2_MAX], buf[PROXYHDR_V2_MAX + 16];
	size_t want_n, len;
	v2hdr h;
	int n;

	want_n = 16 + 2 * ip_len(wsrc->family) + (wsrc->family != AF_UNSPEC ? 4 : 0) +
	    (peer ? 3 + strlen(peer) : 0) + (key ? 3 + strlen(key) : 0);
	n = proxyhdr_v2(src, dst, peer, key, out, sizeof(out));
	if (!T_INT(n, (long long)want_n))
		return -1;
	if (!T_INT(parse_v2(out, (size_t)n, &h), 0))
		return n;
	check_addr("v2 src", &h.src, wsrc);
	check_addr("v2 dst", &h.dst, wdst);
	T_INT((long long)h.tlv_off, 16 + 2 * (long long)ip_len(wsrc->family) +
	    (wsrc->family != AF_UNSPEC ? 4 : 0));
	T_INT((long long)h.ntlv, (peer != NULL) + (key != NULL));
	if (peer != NULL && T_OK(h.peer != NULL)) {
		T_INT(h.types[0], 0xe0);
		T_MEM(h.peer, h.peer_len, peer, strlen(peer));
	}
	if (key != NULL && T_OK(h.key != NULL)) {
		T_INT(h.types[peer != NULL], 0xe1);
		T_MEM(h.key, h.key_len, key, strlen(key));
	}
	T_OK(peer != NULL || h.peer == NULL);
	T_OK(key != NULL || h.key == NULL);
	for (len = 0; len < (size_t)n; len++) {
		memset(buf, CANARY, sizeof(buf));
		if (!T_INT(proxyhdr_v2(src, dst, peer, key, buf, len), -1) ||
		    !T_OK(untouched(buf, 0, sizeof(buf))))
			break;
	}
	memset(buf, CANARY, sizeof(buf));
	T_INT(proxyhdr_v2(src, dst, peer, key, buf, (size_t)n), n);
	T_MEM(buf, (size_t)n, out, (size_t)n);
	T_OK(untouched(buf, (size_t)n, sizeof(buf)));
	return n;
}

/* ---- cases ---- */

#define KEY53 "stp1:Q2Fmx1hT0bX3n9VvS0x2dC1rZXktZm9yLXRlc3RzLWFiY2Qx"

typedef struct rt_case {
	const char *name;
	proxyhdr_addr src, dst;         /* given */
	proxyhdr_addr wsrc, wdst;       /* as the receiver must read them */
	const char *v1;                 /* the exact line */
} rt_case;

static void
test_round_trips(void)
{
	static const char *peers[] = { NULL, "alice", "gw-2.eu_west" };
	static const char *keys[] = { NULL, KEY53, "" };
	rt_case c[12];
	size_t nc = 0, i, p, k;

	T_INT((long long)strlen(KEY53), 53);
	c[nc++] = (rt_case){ "tcp4",
	    addr(AF_INET, "192.0.2.1", 56324), addr(AF_INET, "198.51.100.7", 443),
	    addr(AF_INET, "192.0.2.1", 56324), addr(AF_INET, "198.51.100.7", 443),
	    "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n" };
	c[nc++] = (rt_case){ "tcp4 extremes",
	    addr(AF_INET, "0.0.0.0", 0), addr(AF_INET, "255.255.255.255", 65535),
	    addr(AF_INET, "0.0.0.0", 0), addr(AF_INET, "255.255.255.255", 65535),
	    "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n" };
	c[nc++] = (rt_case){ "tcp6",
	    addr(AF_INET6, "2001:db8::1", 1), addr(AF_INET6, "2001:db8:0:0:1:0:0:ff", 65535),
	    addr(AF_INET6, "2001:db8::1", 1), addr(AF_INET6, "2001:db8:0:0:1:0:0:ff", 65535),
	    "PROXY TCP6 2001:db8::1 2001:db8::1:0:0:ff 1 65535\r\n" };
	c[nc++] = (rt_case){ "tcp6 any loopback",
	    addr(AF_INET6, "::", 80), addr(AF_INET6, "::1", 8080),
	    addr(AF_INET6, "::", 80), addr(AF_INET6, "::1", 8080),
	    "PROXY TCP6 :: ::1 80 8080\r\n" };
	c[nc++] = (rt_case){ "mixed v4 -> v6",
	    addr(AF_INET, "192.0.2.1", 1234), addr(AF_INET6, "2001:db8::2", 443),
	    addr(AF_INET6, "::ffff:192.0.2.1", 1234), addr(AF_INET6, "2001:db8::2", 443),
	    "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1234 443\r\n" };
	c[nc++] = (rt_case){ "mixed v6 -> v4",
	    addr(AF_INET6, "2001:db8::2", 443), addr(AF_INET, "10.1.2.3", 0),
	    addr(AF_INET6, "2001:db8::2", 443), addr(AF_INET6, "::ffff:10.1.2.3", 0),
	    "PROXY TCP6 2001:db8::2 ::ffff:10.1.2.3 443 0\r\n" };
	c[nc++] = (rt_case){ "mapped v6 stays v6",
	    addr(AF_INET6, "::ffff:10.0.0.1", 1), addr(AF_INET6, "::ffff:10.0.0.2", 2),
	    addr(AF_INET6, "::ffff:10.0.0.1", 1), addr(AF_INET6, "::ffff:10.0.0.2", 2),
	    "PROXY TCP6 ::ffff:10.0.0.1 ::ffff:10.0.0.2 1 2\r\n" };
	c[nc++] = (rt_case){ "mapped v6 with v4",
	    addr(AF_INET6, "::ffff:10.0.0.1", 1), addr(AF_INET, "10.0.0.2", 2),
	    addr(AF_INET6, "::ffff:10.0.0.1", 1), addr(AF_INET6, "::ffff:10.0.0.2", 2),
	    "PROXY TCP6 ::ffff:10.0.0.1 ::ffff:10.0.0.2 1 2\r\n" };
	c[nc++] = (rt_case){ "unknown src",
	    unknown(AF_UNSPEC), addr(AF_INET, "192.0.2.1", 80),
	    unknown(AF_UNSPEC), unknown(AF_UNSPEC), "PROXY UNKNOWN\r\n" };
	c[nc++] = (rt_case){ "unknown dst",
	    addr(AF_INET6, "2001:db8::1", 80), unknown(AF_UNSPEC),
	    unknown(AF_UNSPEC), unknown(AF_UNSPEC), "PROXY UNKNOWN\r\n" };
	c[nc++] = (rt_case){ "both unknown",
	    unknown(AF_UNSPEC), unknown(AF_UNSPEC),
	    unknown(AF_UNSPEC), unknown(AF_UNSPEC), "PROXY UNKNOWN\r\n" };
	c[nc++] = (rt_case){ "AF_UNIX is unknown",
	    unknown(AF_UNIX), addr(AF_INET, "192.0.2.1", 80),
	    unknown(AF_UNSPEC), unknown(AF_UNSPEC), "PROXY UNKNOWN\r\n" };

	for (i = 0; i < nc; i++) {
		t_set_ctx("%s", c[i].name);
		check_v1(&c[i].src, &c[i].dst, &c[i].wsrc, &c[i].wdst, c[i].v1);
		for (p = 0; p < sizeof(peers) / sizeof(peers[0]); p++) {
			for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
				t_set_ctx("%s peer %s key %s", c[i].name,
				    peers[p] ? peers[p] : "-",
				    keys[k] ? (keys[k][0] ? "53" : "empty") : "-");
				check_v2(&c[i].src, &c[i].dst, &c[i].wsrc,
				    &c[i].wdst, peers[p], keys[k]);
			}
		}
	}
	t_section("round trips");
}

/* The bytes themselves, written out by hand from the specification. */
static void
test_pinned(void)
{
	static const struct {
		const char *name;
		proxyhdr_addr src, dst;
		const char *peer, *key, *hex;
	} v[] = {
		{ "tcp4 peer key",
		  { AF_INET, { 192, 0, 2, 1 }, 56324 },
		  { AF_INET, { 198, 51, 100, 7 }, 443 }, "alice", "stp1:K",
		  "0d0a0d0a000d0a515549540a" "21" "11" "001d"
		  "c0000201" "c6336407" "dc04" "01bb"
		  "e0" "0005" "616c696365"
		  "e1" "0006" "737470313a4b" },
		{ "mixed, no tlv",
		  { AF_INET, { 192, 0, 2, 1 }, 1234 },
		  { AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 }, 443 }, NULL, NULL,
		  "0d0a0d0a000d0a515549540a" "21" "21" "0024"
		  "00000000000000000000ffffc0000201"
		  "20010db8000000000000000000000002" "04d2" "01bb" },
		{ "unspec key only",
		  { AF_UNSPEC, { 0 }, 0 }, { AF_INET, { 10, 0, 0, 1 }, 80 }, NULL, "k",
		  "0d0a0d0a000d0a515549540a" "21" "00" "0004" "e1" "0001" "6b" },
		{ "unspec peer",
		  { AF_UNSPEC, { 0 }, 0 }, { AF_UNSPEC, { 0 }, 0 }, "alice", NULL,
		  "0d0a0d0a000d0a515549540a" "21" "00" "0008" "e0" "0005" "616c696365" },
		{ "unspec bare",
		  { AF_UNSPEC, { 0 }, 0 }, { AF_UNSPEC, { 0 }, 0 }, NULL, NULL,
		  "0d0a0d0a000d0a515549540a" "21" "00" "0000" },
	};
	uint8_t out[PROXYHDR_V2_MAX], *want;
	char line[PROXYHDR_V1_MAX];
	size_t i, wlen;
	int n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t_set_ctx("pinned v2 %s", v[i].name);
		want = unhex(v[i].hex, &wlen);
		n = proxyhdr_v2(&v[i].src, &v[i].dst, v[i].peer, v[i].key, out,
		    sizeof(out));
		if (T_INT(n, (long long)wlen))
			T_MEM(out, (size_t)n, want, wlen);
		free(want);
	}
	t_set_ctx("pinned v1");
	n = proxyhdr_v1(&v[0].src, &v[0].dst, line, sizeof(line));
	T_INT(n, 45);
	T_OK(n > 0 && strcmp(line, "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n") == 0);
	n = proxyhdr_v1(&v[1].src, &v[1].dst, line, sizeof(line));
	T_OK(n > 0 && strcmp(line, "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1234 443\r\n") == 0);
	t_section("pinned bytes");
}

static void
test_peer_names(void)
{
	static const char *bad[] = { "",
	    "a234567890123456789012345678901234567890123456789012345678901234",
	    "two words", "a/b", "caf\xc3\xa9", "tab\t", "new\nline", "a:b" };
	proxyhdr_addr s = addr(AF_INET, "192.0.2.1", 1);
	proxyhdr_addr d = addr(AF_INET, "192.0.2.2", 2);
	char name63[64];
	uint8_t buf[PROXYHDR_V2_MAX + 16];
	size_t i;

	memset(name63, 'z', 63);
	name63[63] = '\0';
	t_set_ctx("peer of 63 bytes");
	T_INT(check_v2(&s, &d, &s, &d, name63, KEY53), 16 + 12 + 66 + 56);
	T_INT((long long)strlen(bad[1]), 64);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t_set_ctx("bad peer %zu", i);
		memset(buf, CANARY, sizeof(buf));
		T_INT(proxyhdr_v2(&s, &d, bad[i], NULL, buf, sizeof(buf)), -1);
		T_OK(untouched(buf, 0, sizeof(buf)));
	}
	t_set_ctx("all peer characters");
	check_v2(&s, &d, &s, &d, "AZaz09_.-", NULL);
	t_section("peer names");
}

/* The largest headers, and keys as long as the length field allows. */
static void
test_limits(void)
{
	proxyhdr_addr s6 = addr(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	proxyhdr_addr s4 = addr(AF_INET, "192.0.2.1", 1);
	proxyhdr_addr un = unknown(AF_UNSPEC);
	char peer[64], key[129], line[PROXYHDR_V1_MAX], *big;
	uint8_t *out;
	size_t bigcap = 70000;
	v2hdr h;
	int n;

	t_set_ctx("v1 max");
	n = proxyhdr_v1(&s6, &s6, line, PROXYHDR_V1_MAX);
	T_INT(n, 104);
	T_OK(n <= 107);
	t_set_ctx("v1 max mixed");
	{
		proxyhdr_addr b4 = addr(AF_INET, "255.255.255.255", 65535);
		T_INT(proxyhdr_v1(&s6, &b4, line, PROXYHDR_V1_MAX), 87);
	}

	t_set_ctx("v2 max");
	T_INT(PROXYHDR_V2_MAX, 249);
	memset(peer, 'p', 63);
	peer[63] = '\0';
	memset(key, 'k', 128);
	memcpy(key, "stp1:", 5);
	key[128] = '\0';
	T_INT(check_v2(&s6, &s6, &s6, &s6, peer, key), PROXYHDR_V2_MAX);

	/* The length field counts 65535 bytes after the head, no more. */
	if ((big = malloc(bigcap)) == NULL || (out = malloc(bigcap)) == NULL) {
		perror("malloc");
		exit(2);
	}
	memset(big, 'k', bigcap);
	t_set_ctx("v2 unspec key 65532");
	big[65532] = '\0';
	n = proxyhdr_v2(&un, &un, NULL, big, out, bigcap);
	if (T_INT(n, 16 + 65535) && T_INT(parse_v2(out, (size_t)n, &h), 0)) {
		T_INT((long long)h.key_len, 65532);
		T_INT((long long)h.tlv_off, 16);
	}
	t_set_ctx("v2 unspec key 65533");
	big[65532] = 'k';
	big[65533] = '\0';
	memset(out, CANARY, bigcap);
	T_INT(proxyhdr_v2(&un, &un, NULL, big, out, bigcap), -1);
	T_OK(untouched(out, 0, bigcap));
	t_set_ctx("v2 tcp4 peer key to 65535");
	big[65533] = 'k';
	big[65535 - 12 - 8 - 3] = '\0';
	T_INT(proxyhdr_v2(&s4, &s4, "alice", big, out, bigcap), 16 + 65535);
	big[65535 - 12 - 8 - 3] = 'k';
	big[65535 - 12 - 8 - 2] = '\0';
	T_INT(proxyhdr_v2(&s4, &s4, "alice", big, out, bigcap), -1);
	t_set_ctx("v2 key over 65535");
	big[65535 - 12 - 8 - 2] = 'k';
	big[65536] = '\0';
	T_INT(proxyhdr_v2(&un, &un, NULL, big, out, bigcap), -1);
	free(big);
	free(out);
	t_section("limits");
}

/* The parsers refuse what is broken, so that their "0" means something. */
static void
test_parsers(void)
{
	static const char *bad_v1[] = {
	    "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443",
	    "PROXY TCP4 192.0.2.1  198.51.100.7 56324 443\r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.7 56324\r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443 1\r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.7 65536 443\r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.7 0443 443\r\n",
	    "PROXY TCP4 192.0.2.1 198.51.100.7 +443 443\r\n",
	    "PROXY TCP4 2001:db8::1 198.51.100.7 1 2\r\n",
	    "PROXY TCP6 192.0.2.1 2001:db8::1 1 2\r\n",
	    "PROXY TCP5 192.0.2.1 198.51.100.7 1 2\r\n",
	    "proxy TCP4 192.0.2.1 198.51.100.7 1 2\r\n",
	    "PROXY UNKNOWN 1\r\n",
	};
	static const char good_hex[] =
	    "0d0a0d0a000d0a515549540a" "21" "11" "0014"
	    "c0000201" "c6336407" "dc04" "01bb" "e0" "0005" "616c696365";
	proxyhdr_addr s, d;
	uint8_t *good, b[64];
	size_t i, n;
	v2hdr h;

	for (i = 0; i < sizeof(bad_v1) / sizeof(bad_v1[0]); i++) {
		t_set_ctx("parser refuses v1 %zu", i);
		T_INT(parse_v1(bad_v1[i], strlen(bad_v1[i]), &s, &d), -1);
	}
	t_set_ctx("parser v1 good");
	T_INT(parse_v1("PROXY TCP4 1.2.3.4 5.6.7.8 9 10\r\n", 33, &s, &d), 0);
	T_INT(s.port, 9);

	good = unhex(good_hex, &n);
	t_set_ctx("parser v2 good");
	if (T_INT(parse_v2(good, n, &h), 0)) {
		T_INT(h.src.port, 56324);
		T_INT((long long)h.peer_len, 5);
	}
#define BROKEN(what, i, v) do { \
	memcpy(b, good, n); \
	b[i] = (v); \
	t_set_ctx("parser refuses v2 %s", what); \
	T_INT(parse_v2(b, n, &h), -1); \
} while (0)
	BROKEN("signature", 7, 0x50);
	BROKEN("version 1", 12, 0x11);
	BROKEN("command LOCAL", 12, 0x20);
	BROKEN("family UDP4", 13, 0x12);
	BROKEN("length +1", 15, 0x15);
	BROKEN("length -1", 15, 0x13);
	BROKEN("tlv past the end", 30, 0x06);
#undef BROKEN
	t_set_ctx("parser refuses v2 short");
	T_INT(parse_v2(good, 15, &h), -1);
	T_INT(parse_v2(good, n - 1, &h), -1);
	free(good);
	t_section("parsers");
}

int
main(void)
{
	test_parsers();
	test_pinned();
	test_round_trips();
	test_peer_names();
	test_limits();
	return t_done();
}

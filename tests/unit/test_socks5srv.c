/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_socks5srv.c: the SOCKS5 server machine of dynamic forwards
 * (gateway/reactor/socks5srv.h), driven as the listener will drive it: the
 * application's bytes arrive in chunks of every size into a buffer of
 * SOCKS5SRV_BUF_MAX bytes, and whatever was not consumed is fed again.
 * Checked: greeting and request byte by byte and in one write with the
 * application's data after them (exactly the protocol's bytes consumed),
 * IPv4, IPv6 and name requests (up to 255 bytes), the refusals and their
 * reply bytes (05 FF, REP 07, REP 08, REP 01 for port 0), what closes
 * without a reply (version 4, RSV, bad names), the reply encoder against
 * fixed bytes, the socket address of a request, and the errno mapping.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "socks5srv.h"
#include "testlib.h"

/* What drive() saw. */
struct run {
	socks5srv s;
	int rc;                 /* the last feed's result */
	size_t consumed;        /* bytes consumed in all */
	size_t left;            /* bytes delivered or not, never consumed */
	size_t delivered;       /* bytes given to the machine */
	uint8_t out[64];        /* every byte the machine asked us to write */
	size_t out_len;
	int sends;
	int bad_more;           /* MORE with *used != 0 or *out_len != 0 */
	int full;               /* the buffer filled up while MORE */
};

/*
 * Deliver in[0..len) chunk bytes at a time (as far as the buffer has room),
 * feeding after each arrival, until REQUEST, an error, or the end of in.
 */
static void
drive(struct run *r, const uint8_t *in, size_t len, size_t chunk)
{
	uint8_t buf[SOCKS5SRV_BUF_MAX], o[SOCKS5SRV_REPLY_MAX];
	size_t have = 0, off = 0, used, olen, k;
	int rc = SOCKS5SRV_MORE;

	memset(r, 0, sizeof(*r));
	socks5srv_init(&r->s);
	while (off < len) {
		k = len - off;
		if (k > chunk)
			k = chunk;
		if (k > sizeof(buf) - have)
			k = sizeof(buf) - have;
		if (k == 0) {
			r->full = 1;
			break;
		}
		memcpy(buf + have, in + off, k);
		have += k;
		off += k;
		for (;;) {
			used = 12345;
			olen = 12345;
			rc = socks5srv_feed(&r->s, buf, have, &used, o, &olen);
			if (olen > SOCKS5SRV_REPLY_MAX || used > have) {
				r->rc = 99;
				return;
			}
			if (rc == SOCKS5SRV_MORE && (used != 0 || olen != 0))
				r->bad_more++;
			if (r->out_len + olen <= sizeof(r->out)) {
				memcpy(r->out + r->out_len, o, olen);
				r->out_len += olen;
			}
			r->consumed += used;
			memmove(buf, buf + used, have - used);
			have -= used;
			if (rc != SOCKS5SRV_SEND)
				break;
			r->sends++;
		}
		if (rc != SOCKS5SRV_MORE)
			break;
	}
	r->rc = rc;
	r->left = have + (len - off);
	r->delivered = off;
}

/* Concatenate parts into buf; returns the length. */
static size_t
cat(uint8_t *buf, const void *a, size_t alen, const void *b, size_t blen,
    const void *c, size_t clen)
{
	memcpy(buf, a, alen);
	memcpy(buf + alen, b, blen);
	if (clen > 0)
		memcpy(buf + alen + blen, c, clen);
	return alen + blen + clen;
}

static const uint8_t greet1[] = { 0x05, 0x01, 0x00 };
static const uint8_t greet3[] = { 0x05, 0x03, 0x02, 0x01, 0x00 };
static const uint8_t ok_sel[] = { 0x05, 0x00 };
static const uint8_t req4[] = { 0x05, 0x01, 0x00, 0x01, 0xc0, 0x00, 0x02,
	0x07, 0x1f, 0x90 };                         /* 192.0.2.7:8080 */
static const uint8_t req6[] = { 0x05, 0x01, 0x00, 0x04, 0x20, 0x01, 0x0d,
	0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07, 0x01, 0xbb };  /* [2001:db8::7]:443 */
static const uint8_t reqn[] = { 0x05, 0x01, 0x00, 0x03, 11, 'e', 'x', 'a',
	'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x00, 0x50 };      /* example.com:80 */
static const char appdata[] = "GET / HTTP/1.1\r\n";

static void
test_ipv4(void)
{
	uint8_t in[64], o[SOCKS5SRV_REPLY_MAX];
	size_t n, chunk, used, olen;
	struct run r;
	socks5srv s;

	n = cat(in, greet1, sizeof(greet1), req4, sizeof(req4), NULL, 0);
	for (chunk = 1; chunk <= n; chunk++) {
		t_set_ctx("ipv4, chunks of %zu", chunk);
		drive(&r, in, n, chunk);
		T_INT(r.rc, SOCKS5SRV_REQUEST);
		T_INT(r.sends, 1);
		T_INT(r.bad_more, 0);
		T_INT(r.consumed, n);
		T_INT(r.left, 0);
		T_MEM(r.out, r.out_len, ok_sel, sizeof(ok_sel));
		T_INT(r.s.atyp, SOCKS5SRV_ATYP_IPV4);
		T_OK(strcmp(r.s.host, "192.0.2.7") == 0);
		T_INT(r.s.port, 8080);
		T_MEM(r.s.addr, 4, req4 + 4, 4);
	}

	/* Step by step by hand: each prefix is MORE with nothing consumed. */
	t_set_ctx("ipv4 by hand");
	socks5srv_init(&s);
	for (n = 0; n < sizeof(greet1); n++) {
		T_INT(socks5srv_feed(&s, greet1, n, &used, o, &olen),
		    SOCKS5SRV_MORE);
		T_INT(used, 0);
		T_INT(olen, 0);
	}
	T_INT(socks5srv_feed(&s, greet1, sizeof(greet1), &used, o, &olen),
	    SOCKS5SRV_SEND);
	T_INT(used, 3);
	T_MEM(o, olen, ok_sel, sizeof(ok_sel));
	for (n = 0; n < sizeof(req4); n++) {
		T_INT(socks5srv_feed(&s, req4, n, &used, o, &olen),
		    SOCKS5SRV_MORE);
		T_INT(used, 0);
		T_INT(olen, 0);
	}
	T_INT(socks5srv_feed(&s, req4, sizeof(req4), &used, o, &olen),
	    SOCKS5SRV_REQUEST);
	T_INT(used, sizeof(req4));
	T_INT(olen, 0);
	/* The machine is finished: it takes nothing more. */
	T_INT(socks5srv_feed(&s, req4, sizeof(req4), &used, o, &olen),
	    SOCKS5SRV_EBAD);
	T_INT(used, 0);
	t_section("IPv4 request, byte by byte and in chunks");
}

static void
test_pipelined(void)
{
	uint8_t in[128], o[SOCKS5SRV_REPLY_MAX];
	size_t n, used, olen, chunk;
	struct run r;
	socks5srv s;

	/* Greeting (3 methods), IPv6 request and the app's data in one write. */
	t_set_ctx("one write");
	n = cat(in, greet3, sizeof(greet3), req6, sizeof(req6), appdata,
	    strlen(appdata));
	socks5srv_init(&s);
	T_INT(socks5srv_feed(&s, in, n, &used, o, &olen), SOCKS5SRV_SEND);
	T_INT(used, sizeof(greet3));
	T_MEM(o, olen, ok_sel, sizeof(ok_sel));
	T_INT(socks5srv_feed(&s, in + sizeof(greet3), n - sizeof(greet3),
	    &used, o, &olen), SOCKS5SRV_REQUEST);
	T_INT(used, sizeof(req6));
	T_INT(olen, 0);
	T_INT(s.atyp, SOCKS5SRV_ATYP_IPV6);
	T_OK(strcmp(s.host, "2001:db8::7") == 0);
	T_INT(s.port, 443);
	T_MEM(s.addr, 16, req6 + 4, 16);

	/* However it arrives, the app's data is left over, untouched. */
	for (chunk = 1; chunk <= n; chunk++) {
		t_set_ctx("ipv6 + data, chunks of %zu", chunk);
		drive(&r, in, n, chunk);
		T_INT(r.rc, SOCKS5SRV_REQUEST);
		T_INT(r.bad_more, 0);
		T_INT(r.consumed, sizeof(greet3) + sizeof(req6));
		T_INT(r.left, strlen(appdata));
		T_OK(strcmp(r.s.host, "2001:db8::7") == 0);
	}

	/* A name request followed by data whose first byte looks like SOCKS. */
	for (chunk = 1; chunk <= 40; chunk += 13) {
		t_set_ctx("name + data, chunks of %zu", chunk);
		n = cat(in, greet1, sizeof(greet1), reqn, sizeof(reqn),
		    "\x05\x01\x00", 3);
		drive(&r, in, n, chunk);
		T_INT(r.rc, SOCKS5SRV_REQUEST);
		T_INT(r.consumed, sizeof(greet1) + sizeof(reqn));
		T_INT(r.left, 3);
		T_INT(r.s.atyp, SOCKS5SRV_ATYP_NAME);
		T_OK(strcmp(r.s.host, "example.com") == 0);
		T_INT(r.s.port, 80);
	}
	t_section("pipelining: exactly the protocol's bytes consumed");
}

static void
test_names(void)
{
	uint8_t in[3 + SOCKS5SRV_REQUEST_MAX + 16], req[SOCKS5SRV_REQUEST_MAX];
	uint8_t o[SOCKS5SRV_REPLY_MAX];
	char want[SOCKS5SRV_NAME_MAX + 1];
	static const uint8_t badbytes[] = { 0x00, 0x0a, 0x1f, 0x20, 0x7f, 0x80,
	    0xff };
	size_t n, i, used, olen, chunk;
	struct run r;
	socks5srv s;

	/* The longest name: 255 bytes, a 262-byte request, buffer-sized. */
	T_INT(SOCKS5SRV_BUF_MAX, 262);
	req[0] = 5;
	req[1] = 1;
	req[2] = 0;
	req[3] = 3;
	req[4] = 255;
	for (i = 0; i < 255; i++)
		req[5 + i] = (uint8_t)('a' + i % 26);
	req[260] = 0xff;
	req[261] = 0xff;
	memcpy(want, req + 5, 255);
	want[255] = '\0';
	n = cat(in, greet1, sizeof(greet1), req, sizeof(req), "xyz", 3);
	for (chunk = 1; chunk <= n; chunk = chunk * 2 + 1) {
		t_set_ctx("255-byte name, chunks of %zu", chunk);
		drive(&r, in, n, chunk);
		T_INT(r.full, 0);
		T_INT(r.rc, SOCKS5SRV_REQUEST);
		T_INT(r.consumed, 3 + 262);
		T_INT(r.left, 3);
		T_INT(strlen(r.s.host), 255);
		T_OK(strcmp(r.s.host, want) == 0);
		T_INT(r.s.port, 65535);
	}

	/* One byte short of the whole request: still MORE. */
	t_set_ctx("255-byte name, one short");
	socks5srv_init(&s);
	T_INT(socks5srv_feed(&s, greet1, 3, &used, o, &olen), SOCKS5SRV_SEND);
	T_INT(socks5srv_feed(&s, req, 261, &used, o, &olen), SOCKS5SRV_MORE);
	T_INT(socks5srv_feed(&s, req, 262, &used, o, &olen), SOCKS5SRV_REQUEST);
	T_INT(used, 262);

	/* Printable ASCII passes: the edges 0x21 and 0x7e. */
	t_set_ctx("name edges");
	{
		static const uint8_t edge[] = { 5, 1, 0, 3, 2, 0x21, 0x7e, 0, 1 };

		socks5srv_init(&s);
		T_INT(socks5srv_feed(&s, greet1, 3, &used, o, &olen),
		    SOCKS5SRV_SEND);
		T_INT(socks5srv_feed(&s, edge, sizeof(edge), &used, o, &olen),
		    SOCKS5SRV_REQUEST);
		T_OK(strcmp(s.host, "!~") == 0);
		T_INT(s.port, 1);
	}

	/* A control byte, NUL, space, DEL or high byte anywhere: closed. */
	for (i = 0; i < sizeof(badbytes); i++) {
		t_set_ctx("name with byte 0x%02x", badbytes[i]);
		memcpy(req, reqn, sizeof(reqn));
		req[5 + 3] = badbytes[i];       /* "exa?ple.com" */
		n = cat(in, greet1, 3, req, sizeof(reqn), NULL, 0);
		drive(&r, in, n, 1);
		T_INT(r.rc, SOCKS5SRV_EBAD);
		T_INT(r.out_len, 2);            /* only the 05 00 */
		T_INT(r.s.host[0], 0);
		drive(&r, in, n, n);
		T_INT(r.rc, SOCKS5SRV_EBAD);
	}
	/* The first and last byte of the name too. */
	for (i = 0; i < 2; i++) {
		t_set_ctx("name with a newline at its %s", i ? "end" : "start");
		memcpy(req, reqn, sizeof(reqn));
		req[i ? 5 + 10 : 5] = '\n';
		n = cat(in, greet1, 3, req, sizeof(reqn), NULL, 0);
		drive(&r, in, n, n);
		T_INT(r.rc, SOCKS5SRV_EBAD);
	}

	/* A zero-length name. */
	t_set_ctx("empty name");
	{
		static const uint8_t empty[] = { 5, 1, 0, 3, 0, 0, 80 };

		n = cat(in, greet1, 3, empty, sizeof(empty), NULL, 0);
		drive(&r, in, n, 1);
		T_INT(r.rc, SOCKS5SRV_EBAD);
		/* Refused as soon as the length byte came: nothing more read. */
		T_INT(r.delivered, 3 + 5);
	}
	t_section("names: 1..255 bytes of printable ASCII");
}

static void
test_refusals(void)
{
	static const uint8_t no_method[] = { 0x05, 0x02, 0x01, 0x02 };
	static const uint8_t no_methods[] = { 0x05, 0x00 };
	static const uint8_t ff[] = { 0x05, 0xff };
	static const uint8_t rep07[] = { 0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0,
	    0 };
	static const uint8_t rep08[] = { 0x05, 0x08, 0x00, 0x01, 0, 0, 0, 0, 0,
	    0 };
	static const uint8_t rep01[] = { 0x05, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0,
	    0 };
	uint8_t in[64], req[64];
	size_t n, chunk;
	struct run r;
	unsigned cmd;

	for (chunk = 1; chunk <= 4; chunk += 3) {
		t_set_ctx("no acceptable method, chunks of %zu", chunk);
		drive(&r, no_method, sizeof(no_method), chunk);
		T_INT(r.rc, SOCKS5SRV_ENOMETHOD);
		T_MEM(r.out, r.out_len, ff, sizeof(ff));
		T_INT(r.consumed, 4);
	}
	t_set_ctx("NMETHODS 0");
	drive(&r, no_methods, sizeof(no_methods), 2);
	T_INT(r.rc, SOCKS5SRV_ENOMETHOD);
	T_MEM(r.out, r.out_len, ff, sizeof(ff));

	/* BIND (2), UDP ASSOCIATE (3) and an unknown command: REP 07. */
	for (cmd = 0; cmd < 256; cmd += (cmd < 4 ? 1 : 251)) {
		if (cmd == 1)
			continue;
		for (chunk = 1; chunk <= 32; chunk += 31) {
			t_set_ctx("command %u, chunks of %zu", cmd, chunk);
			memcpy(req, cmd == 3 ? reqn : req4, cmd == 3 ?
			    sizeof(reqn) : sizeof(req4));
			req[1] = (uint8_t)cmd;
			n = cat(in, greet1, 3, req, cmd == 3 ? sizeof(reqn) :
			    sizeof(req4), "zz", 2);
			drive(&r, in, n, chunk);
			T_INT(r.rc, SOCKS5SRV_ECMD);
			/* 05 00, then the refusal, the whole request consumed. */
			T_INT(r.out_len, 2 + sizeof(rep07));
			T_MEM(r.out + 2, r.out_len - 2, rep07, sizeof(rep07));
			T_INT(r.consumed, n - 2);
			T_INT(r.s.host[0], 0);
		}
	}

	/* ATYP 2 (and others): REP 08 as soon as the header is in. */
	for (cmd = 0; cmd < 256; cmd++) {
		if (cmd == 1 || cmd == 3 || cmd == 4)
			continue;
		t_set_ctx("atyp %u", cmd);
		memcpy(req, req4, sizeof(req4));
		req[3] = (uint8_t)cmd;
		n = cat(in, greet1, 3, req, sizeof(req4), NULL, 0);
		drive(&r, in, n, 1);
		T_INT(r.rc, SOCKS5SRV_EATYP);
		T_INT(r.out_len, 2 + sizeof(rep08));
		T_MEM(r.out + 2, r.out_len - 2, rep08, sizeof(rep08));
		T_INT(r.consumed, 3 + 4);
		T_INT(r.left, sizeof(req4) - 4);
	}

	/* Port 0: REP 01 (general failure) after the whole request. */
	t_set_ctx("port 0");
	memcpy(req, req4, sizeof(req4));
	req[8] = req[9] = 0;
	n = cat(in, greet1, 3, req, sizeof(req4), NULL, 0);
	drive(&r, in, n, 1);
	T_INT(r.rc, SOCKS5SRV_EPORT);
	T_MEM(r.out + 2, r.out_len - 2, rep01, sizeof(rep01));
	T_INT(r.consumed, n);
	t_set_ctx("port 0, name");
	memcpy(req, reqn, sizeof(reqn));
	req[sizeof(reqn) - 1] = 0;
	n = cat(in, greet1, 3, req, sizeof(reqn), NULL, 0);
	drive(&r, in, n, n);
	T_INT(r.rc, SOCKS5SRV_EPORT);
	t_section("refusals: 05 FF, REP 07, REP 08, REP 01");
}

static void
test_bad(void)
{
	static const uint8_t socks4[] = { 0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1,
	    0 };
	static const char http[] = "CONNECT example.com:443 HTTP/1.1\r\n\r\n";
	static const uint8_t no_method[] = { 0x05, 0x02, 0x01, 0x02 };
	uint8_t in[64], req[64], o[SOCKS5SRV_REPLY_MAX];
	size_t n, used, olen;
	struct run r;
	socks5srv s;

	t_set_ctx("socks4");
	drive(&r, socks4, sizeof(socks4), 1);
	T_INT(r.rc, SOCKS5SRV_EBAD);
	T_INT(r.out_len, 0);
	T_INT(r.delivered, 1);          /* refused on its first byte */

	t_set_ctx("http");
	drive(&r, (const uint8_t *)http, strlen(http), 1);
	T_INT(r.rc, SOCKS5SRV_EBAD);
	T_INT(r.delivered, 1);

	t_set_ctx("request version 4");
	memcpy(req, req4, sizeof(req4));
	req[0] = 4;
	n = cat(in, greet1, 3, req, sizeof(req4), NULL, 0);
	drive(&r, in, n, 1);
	T_INT(r.rc, SOCKS5SRV_EBAD);
	T_INT(r.delivered, 3 + 1);
	T_MEM(r.out, r.out_len, ok_sel, sizeof(ok_sel));

	t_set_ctx("RSV not 0");
	memcpy(req, req4, sizeof(req4));
	req[2] = 1;
	n = cat(in, greet1, 3, req, sizeof(req4), NULL, 0);
	drive(&r, in, n, 1);
	T_INT(r.rc, SOCKS5SRV_EBAD);
	T_INT(r.delivered, 3 + 3);

	/* After an error, the machine stays finished. */
	t_set_ctx("after an error");
	socks5srv_init(&s);
	T_INT(socks5srv_feed(&s, socks4, 1, &used, o, &olen), SOCKS5SRV_EBAD);
	T_INT(socks5srv_feed(&s, greet1, 3, &used, o, &olen), SOCKS5SRV_EBAD);
	T_INT(olen, 0);
	socks5srv_init(&s);
	T_INT(socks5srv_feed(&s, no_method, 4, &used, o, &olen),
	    SOCKS5SRV_ENOMETHOD);
	T_INT(socks5srv_feed(&s, greet1, 3, &used, o, &olen), SOCKS5SRV_EBAD);
	t_section("closed without a reply: EBAD");
}

static void
test_reply(void)
{
	static const uint8_t ok4[] = { 0x05, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00,
	    0x01, 0x9c, 0x40 };
	static const uint8_t ok0[] = { 0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0 };
	static const uint8_t deny[] = { 0x05, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0,
	    0 };
	static const uint8_t ok6[] = { 0x05, 0x00, 0x00, 0x04, 0x20, 0x01, 0x0d,
	    0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x04, 0x38 };
	uint8_t o[SOCKS5SRV_REPLY_MAX + 8];
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	size_t n;

	t_set_ctx("success, IPv4 bound");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	memset(o, 0xaa, sizeof(o));
	n = socks5srv_reply(SOCKS5SRV_REP_OK, (struct sockaddr *)&sin, o);
	T_MEM(o, n, ok4, sizeof(ok4));
	T_INT(o[n], 0xaa);                      /* nothing past its length */

	t_set_ctx("success, no bound address");
	n = socks5srv_reply(SOCKS5SRV_REP_OK, NULL, o);
	T_MEM(o, n, ok0, sizeof(ok0));

	t_set_ctx("not allowed by ruleset");
	n = socks5srv_reply(SOCKS5SRV_REP_NOTALLOWED, NULL, o);
	T_MEM(o, n, deny, sizeof(deny));

	t_set_ctx("success, IPv6 bound");
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(1080);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	memset(o, 0xaa, sizeof(o));
	n = socks5srv_reply(SOCKS5SRV_REP_OK, (struct sockaddr *)&sin6, o);
	T_INT(n, SOCKS5SRV_REPLY_MAX);
	T_MEM(o, n, ok6, sizeof(ok6));
	T_INT(o[n], 0xaa);

	t_set_ctx("another family is 0.0.0.0:0");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = socks5srv_reply(SOCKS5SRV_REP_REFUSED, (struct sockaddr *)&sun, o);
	T_INT(n, 10);
	T_INT(o[1], 5);
	T_MEM(o + 3, 7, ok0 + 3, 7);

	t_set_ctx("the codes");
	T_INT(SOCKS5SRV_REP_FAILURE, 1);
	T_INT(SOCKS5SRV_REP_NETUNREACH, 3);
	T_INT(SOCKS5SRV_REP_HOSTUNREACH, 4);
	T_INT(SOCKS5SRV_REP_REFUSED, 5);
	T_INT(SOCKS5SRV_REP_TTL, 6);
	T_INT(SOCKS5SRV_REP_CMD, 7);
	T_INT(SOCKS5SRV_REP_ATYP, 8);
	t_section("replies, byte for byte");
}

static void
test_sockaddr(void)
{
	uint8_t in[64];
	struct sockaddr_storage ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	char txt[INET6_ADDRSTRLEN];
	struct run r;
	size_t n;

	t_set_ctx("ipv4");
	n = cat(in, greet1, 3, req4, sizeof(req4), NULL, 0);
	drive(&r, in, n, n);
	T_INT(socks5srv_sockaddr(&r.s, &ss), 0);
	T_INT(ss.ss_family, AF_INET);
	T_INT(ntohs(sin->sin_port), 8080);
	T_OK(inet_ntop(AF_INET, &sin->sin_addr, txt, sizeof(txt)) != NULL &&
	    strcmp(txt, "192.0.2.7") == 0);

	t_set_ctx("ipv6");
	n = cat(in, greet1, 3, req6, sizeof(req6), NULL, 0);
	drive(&r, in, n, n);
	T_INT(socks5srv_sockaddr(&r.s, &ss), 0);
	T_INT(ss.ss_family, AF_INET6);
	T_INT(ntohs(sin6->sin6_port), 443);
	T_OK(inet_ntop(AF_INET6, &sin6->sin6_addr, txt, sizeof(txt)) != NULL &&
	    strcmp(txt, "2001:db8::7") == 0);

	t_set_ctx("name");
	n = cat(in, greet1, 3, reqn, sizeof(reqn), NULL, 0);
	drive(&r, in, n, n);
	T_INT(socks5srv_sockaddr(&r.s, &ss), -1);
	t_section("the request as a socket address");
}

static void
test_errno(void)
{
	t_set_ctx("errno");
	T_INT(socks5srv_rep_errno(ECONNREFUSED), 5);
	T_INT(socks5srv_rep_errno(-ECONNREFUSED), 5);
	T_INT(socks5srv_rep_errno(ENETUNREACH), 3);
	T_INT(socks5srv_rep_errno(-EHOSTUNREACH), 4);
	T_INT(socks5srv_rep_errno(-ETIMEDOUT), 4);
	T_INT(socks5srv_rep_errno(EHOSTDOWN), 4);
	T_INT(socks5srv_rep_errno(-EACCES), 2);
	T_INT(socks5srv_rep_errno(EPERM), 2);
	T_INT(socks5srv_rep_errno(-ENOMEM), 1);
	T_INT(socks5srv_rep_errno(0), 1);
	T_INT(socks5srv_rep_errno(-2147483647 - 1), 1);
	t_section("REP for a failed connect");
}

int
main(void)
{
	test_ipv4();
	test_pipelined();
	test_names();
	test_refusals();
	test_bad();
	test_reply();
	test_sockaddr();
	test_errno();
	return t_done();
}

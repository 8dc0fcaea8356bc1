/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_socks5srv.c: what an application sends to a dynamic forward's
 * SOCKS5 listener, through the server machine (gateway/reactor/socks5srv.h).
 *
 * Input: one control byte, then the application's bytes.  Control bits 0-5:
 * the chunk size (1..64) the bytes arrive in; bit 6: rep for the reply
 * encoder's check comes from the input's last byte rather than 0.
 *
 * The bytes are delivered as the listener will: into a buffer of
 * SOCKS5SRV_BUF_MAX bytes, feeding everything unconsumed after each
 * arrival (and again after each SEND).  Invariants: the buffer never fills
 * while the machine wants more; MORE consumes and writes nothing; the
 * outcome (result, bytes consumed, bytes written, the request) is the same
 * as when the whole input is fed at once, whatever the chunk size; SEND is
 * 05 00 and comes once, first; a REQUEST consumed exactly a well-formed
 * greeting offering method 0 and a well-formed CONNECT whose address is
 * what s->host says (a name: printable ASCII only) and whose port is not 0;
 * each refusal writes its fixed reply; after the end every feed is EBAD.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "socks5srv.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

struct outcome {
	int rc;
	size_t consumed;
	uint8_t out[2 + SOCKS5SRV_REPLY_MAX];
	size_t out_len;
	int sends;
	socks5srv s;
};

static void
drive(struct outcome *o, const uint8_t *in, size_t len, size_t chunk)
{
	uint8_t buf[SOCKS5SRV_BUF_MAX], w[SOCKS5SRV_REPLY_MAX];
	size_t have = 0, off = 0, used, wlen, k;
	int rc = SOCKS5SRV_MORE;

	memset(o, 0, sizeof(*o));
	socks5srv_init(&o->s);
	while (off < len) {
		k = len - off;
		if (k > chunk)
			k = chunk;
		if (k > sizeof(buf) - have)
			k = sizeof(buf) - have;
		/* While the machine wants more, it never needs a fuller buffer. */
		FUZZ_ASSERT(k > 0);
		memcpy(buf + have, in + off, k);
		have += k;
		off += k;
		for (;;) {
			rc = socks5srv_feed(&o->s, buf, have, &used, w, &wlen);
			FUZZ_ASSERT(used <= have && wlen <= SOCKS5SRV_REPLY_MAX);
			if (rc == SOCKS5SRV_MORE)
				FUZZ_ASSERT(used == 0 && wlen == 0);
			if (rc == SOCKS5SRV_EBAD)
				FUZZ_ASSERT(wlen == 0);
			FUZZ_ASSERT(o->out_len + wlen <= sizeof(o->out));
			memcpy(o->out + o->out_len, w, wlen);
			o->out_len += wlen;
			o->consumed += used;
			memmove(buf, buf + used, have - used);
			have -= used;
			if (rc != SOCKS5SRV_SEND)
				break;
			FUZZ_ASSERT(++o->sends == 1);
			FUZZ_ASSERT(wlen == 2 && w[0] == 5 && w[1] == 0);
			FUZZ_ASSERT(o->consumed >= 3);
		}
		if (rc != SOCKS5SRV_MORE)
			break;
	}
	o->rc = rc;
	if (rc != SOCKS5SRV_MORE) {
		/* Finished: nothing more is taken. */
		FUZZ_ASSERT(socks5srv_feed(&o->s, in, len, &used, w, &wlen) ==
		    SOCKS5SRV_EBAD);
		FUZZ_ASSERT(used == 0 && wlen == 0);
	}
}

/* The reply bytes of a refusal: 05 rep 00 01 and six zeros. */
static int
is_refusal(const uint8_t *b, size_t n, uint8_t rep)
{
	static const uint8_t z[6];

	return n == 10 && b[0] == 5 && b[1] == rep && b[2] == 0 && b[3] == 1 &&
	    memcmp(b + 4, z, 6) == 0;
}

/* A REQUEST consumed exactly a greeting with method 0 and a CONNECT for s. */
static void
check_request(const struct outcome *o, const uint8_t *in, size_t len)
{
	const uint8_t *q;
	size_t g, alen, off, i;
	char txt[INET6_ADDRSTRLEN];

	FUZZ_ASSERT(o->sends == 1 && o->out_len == 2);
	FUZZ_ASSERT(len >= 2 && in[0] == 5);
	g = 2 + (size_t)in[1];
	FUZZ_ASSERT(g <= len && memchr(in + 2, 0, in[1]) != NULL);
	q = in + g;
	FUZZ_ASSERT(o->consumed > g + 4);
	FUZZ_ASSERT(q[0] == 5 && q[1] == 1 && q[2] == 0 && q[3] == o->s.atyp);
	switch (q[3]) {
	case SOCKS5SRV_ATYP_IPV4:
		alen = 4;
		off = 4;
		FUZZ_ASSERT(inet_ntop(AF_INET, q + 4, txt, sizeof(txt)) != NULL);
		FUZZ_ASSERT(strcmp(txt, o->s.host) == 0);
		FUZZ_ASSERT(memcmp(o->s.addr, q + 4, 4) == 0);
		break;
	case SOCKS5SRV_ATYP_IPV6:
		alen = 16;
		off = 4;
		FUZZ_ASSERT(inet_ntop(AF_INET6, q + 4, txt, sizeof(txt)) != NULL);
		FUZZ_ASSERT(strcmp(txt, o->s.host) == 0);
		FUZZ_ASSERT(memcmp(o->s.addr, q + 4, 16) == 0);
		break;
	default:
		FUZZ_ASSERT(q[3] == SOCKS5SRV_ATYP_NAME);
		alen = q[4];
		off = 5;
		FUZZ_ASSERT(alen >= 1 && strlen(o->s.host) == alen);
		FUZZ_ASSERT(memcmp(o->s.host, q + 5, alen) == 0);
		for (i = 0; i < alen; i++)
			FUZZ_ASSERT(q[5 + i] >= 0x21 && q[5 + i] <= 0x7e);
		break;
	}
	FUZZ_ASSERT(o->consumed == g + off + alen + 2);
	FUZZ_ASSERT(o->s.port != 0 &&
	    o->s.port == (q[off + alen] << 8 | q[off + alen + 1]));
}

/* The reply encoder, for the address the input names. */
static void
check_reply(const uint8_t *in, size_t len, uint8_t rep)
{
	uint8_t o[SOCKS5SRV_REPLY_MAX];
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	size_t n;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	sin.sin_family = AF_INET;
	sin6.sin6_family = AF_INET6;
	if (len >= 6) {
		memcpy(&sin.sin_addr, in, 4);
		memcpy(&sin.sin_port, in + 4, 2);
		n = socks5srv_reply(rep, (struct sockaddr *)&sin, o);
		FUZZ_ASSERT(n == 10 && o[0] == 5 && o[1] == rep && o[2] == 0 &&
		    o[3] == 1 && memcmp(o + 4, in, 6) == 0);
	}
	if (len >= 18) {
		memcpy(&sin6.sin6_addr, in, 16);
		memcpy(&sin6.sin6_port, in + 16, 2);
		n = socks5srv_reply(rep, (struct sockaddr *)&sin6, o);
		FUZZ_ASSERT(n == 22 && o[0] == 5 && o[1] == rep && o[2] == 0 &&
		    o[3] == 4 && memcmp(o + 4, in, 18) == 0);
	}
	n = socks5srv_reply(rep, NULL, o);
	FUZZ_ASSERT(is_refusal(o, n, rep));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome a, b;
	const uint8_t *in;
	size_t len;
	uint8_t ctl;

	if (size == 0)
		return 0;
	ctl = data[0];
	in = data + 1;
	len = size - 1;
	drive(&a, in, len, 1 + (ctl & 63));
	drive(&b, in, len, len > 0 ? len : 1);
	FUZZ_ASSERT(a.rc == b.rc && a.consumed == b.consumed &&
	    a.sends == b.sends && a.out_len == b.out_len &&
	    memcmp(a.out, b.out, a.out_len) == 0);
	switch (a.rc) {
	case SOCKS5SRV_MORE:
		FUZZ_ASSERT(a.consumed <= len && len - a.consumed <
		    SOCKS5SRV_BUF_MAX);
		break;
	case SOCKS5SRV_REQUEST:
		FUZZ_ASSERT(memcmp(&a.s, &b.s, sizeof(a.s)) == 0);
		check_request(&a, in, len);
		break;
	case SOCKS5SRV_ENOMETHOD:
		FUZZ_ASSERT(a.sends == 0 && a.out_len == 2 && a.out[0] == 5 &&
		    a.out[1] == 0xff);
		FUZZ_ASSERT(a.consumed == 2 + (size_t)in[1]);
		FUZZ_ASSERT(memchr(in + 2, 0, in[1]) == NULL);
		break;
	case SOCKS5SRV_ECMD:
		FUZZ_ASSERT(a.sends == 1 && is_refusal(a.out + 2, a.out_len - 2,
		    SOCKS5SRV_REP_CMD));
		FUZZ_ASSERT(in[2 + in[1] + 1] != 1);
		break;
	case SOCKS5SRV_EATYP:
		FUZZ_ASSERT(a.sends == 1 && is_refusal(a.out + 2, a.out_len - 2,
		    SOCKS5SRV_REP_ATYP));
		FUZZ_ASSERT(a.consumed == 2 + (size_t)in[1] + 4);
		break;
	case SOCKS5SRV_EPORT:
		FUZZ_ASSERT(a.sends == 1 && is_refusal(a.out + 2, a.out_len - 2,
		    SOCKS5SRV_REP_FAILURE));
		FUZZ_ASSERT(in[a.consumed - 1] == 0 && in[a.consumed - 2] == 0);
		break;
	default:
		FUZZ_ASSERT(a.rc == SOCKS5SRV_EBAD);
		FUZZ_ASSERT(a.out_len == 0 || (a.sends == 1 && a.out_len == 2));
		break;
	}
	check_reply(in, len, (ctl & 64) && len > 0 ? in[len - 1] : 0);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * socks5srv.c: the SOCKS5 server machine of dynamic forwards (socks5srv.h
 * says what it accepts and in which order it checks a request).
 *
 * Two states take input: GREETING, then REQUEST.  Each looks at the whole
 * unconsumed input, answers MORE until its message is complete, and then
 * consumes exactly that message.  A header byte that is wrong is reported as
 * soon as it arrives (a SOCKS4 or HTTP client is closed on its first byte),
 * the rest only once the message is whole.  After the request, or an error,
 * the machine is DONE and takes nothing more.
 */
#include "socks5srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define VER 0x05
#define CMD_CONNECT 0x01
#define METHOD_NONE 0x00
#define METHOD_REFUSED 0xff

enum { S_GREETING, S_REQUEST, S_DONE };

void
socks5srv_init(socks5srv *s)
{
	memset(s, 0, sizeof(*s));
	s->state = S_GREETING;
}

/* Method selection: 05 NMETHODS METHODS[NMETHODS]. */
static int
greeting(socks5srv *s, const uint8_t *in, size_t len, size_t *used,
    uint8_t *out, size_t *out_len)
{
	size_t n;

	if (len >= 1 && in[0] != VER)
		return SOCKS5SRV_EBAD;
	if (len < 2 || len < 2 + (size_t)in[1])
		return SOCKS5SRV_MORE;
	n = in[1];
	*used = 2 + n;
	out[0] = VER;
	*out_len = 2;
	/* NMETHODS 0 (RFC 1928 says 1..255) offers nothing: none acceptable. */
	if (memchr(in + 2, METHOD_NONE, n) == NULL) {
		out[1] = METHOD_REFUSED;
		return SOCKS5SRV_ENOMETHOD;
	}
	out[1] = METHOD_NONE;
	s->state = S_REQUEST;
	return SOCKS5SRV_SEND;
}

/* A domain name is passed on only if it is 1..255 bytes of 0x21..0x7e. */
static int
name_ok(const uint8_t *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return 0;
	return 1;
}

/* The request: 05 CMD 00 ATYP DST.ADDR DST.PORT. */
static int
request(socks5srv *s, const uint8_t *in, size_t len, size_t *used,
    uint8_t *out, size_t *out_len)
{
	size_t alen, total, off;
	uint16_t port;

	if (len >= 1 && in[0] != VER)
		return SOCKS5SRV_EBAD;
	if (len >= 3 && in[2] != 0x00)
		return SOCKS5SRV_EBAD;
	if (len < 4)
		return SOCKS5SRV_MORE;
	switch (in[3]) {
	case SOCKS5SRV_ATYP_IPV4:
		alen = 4;
		off = 4;
		break;
	case SOCKS5SRV_ATYP_IPV6:
		alen = 16;
		off = 4;
		break;
	case SOCKS5SRV_ATYP_NAME:
		if (len < 5)
			return SOCKS5SRV_MORE;
		if ((alen = in[4]) == 0)
			return SOCKS5SRV_EBAD;
		off = 5;
		break;
	default:
		/* Its length is unknown: refuse what came so far. */
		*used = 4;
		*out_len = socks5srv_reply(SOCKS5SRV_REP_ATYP, NULL, out);
		return SOCKS5SRV_EATYP;
	}
	total = off + alen + 2;
	if (len < total)
		return SOCKS5SRV_MORE;
	if (in[3] == SOCKS5SRV_ATYP_NAME && !name_ok(in + off, alen))
		return SOCKS5SRV_EBAD;
	*used = total;
	if (in[1] != CMD_CONNECT) {
		*out_len = socks5srv_reply(SOCKS5SRV_REP_CMD, NULL, out);
		return SOCKS5SRV_ECMD;
	}
	port = (uint16_t)(in[off + alen] << 8 | in[off + alen + 1]);
	if (port == 0) {
		*out_len = socks5srv_reply(SOCKS5SRV_REP_FAILURE, NULL, out);
		return SOCKS5SRV_EPORT;
	}
	memset(s->addr, 0, sizeof(s->addr));
	memset(s->host, 0, sizeof(s->host));
	if (in[3] == SOCKS5SRV_ATYP_NAME)
		memcpy(s->host, in + off, alen);
	else {
		memcpy(s->addr, in + off, alen);
		if (inet_ntop(alen == 4 ? AF_INET : AF_INET6, s->addr, s->host,
		    sizeof(s->host)) == NULL)
			return SOCKS5SRV_EBAD;      /* cannot happen: room for both */
	}
	s->atyp = in[3];
	s->port = port;
	return SOCKS5SRV_REQUEST;
}

int
socks5srv_feed(socks5srv *s, const uint8_t *in, size_t len, size_t *used,
    uint8_t *out, size_t *out_len)
{
	int rc;

	*used = 0;
	*out_len = 0;
	switch (s->state) {
	case S_GREETING:
		rc = greeting(s, in, len, used, out, out_len);
		break;
	case S_REQUEST:
		rc = request(s, in, len, used, out, out_len);
		break;
	default:
		return SOCKS5SRV_EBAD;
	}
	if (rc == SOCKS5SRV_REQUEST || rc < 0)
		s->state = S_DONE;
	if (rc == SOCKS5SRV_EBAD)
		*used = 0;
	return rc;
}

size_t
socks5srv_reply(uint8_t rep, const struct sockaddr *bound, uint8_t *out)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	size_t n;

	out[0] = VER;
	out[1] = rep;
	out[2] = 0x00;
	if (bound != NULL && bound->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)bound;
		out[3] = SOCKS5SRV_ATYP_IPV6;
		memcpy(out + 4, &sin6->sin6_addr, 16);
		memcpy(out + 20, &sin6->sin6_port, 2);  /* network order */
		n = 22;
	} else if (bound != NULL && bound->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)bound;
		out[3] = SOCKS5SRV_ATYP_IPV4;
		memcpy(out + 4, &sin->sin_addr, 4);
		memcpy(out + 8, &sin->sin_port, 2);
		n = 10;
	} else {
		out[3] = SOCKS5SRV_ATYP_IPV4;
		memset(out + 4, 0, 6);
		n = 10;
	}
	return n;
}

int
socks5srv_sockaddr(const socks5srv *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;

	if (s->atyp == SOCKS5SRV_ATYP_IPV4) {
		memset(ss, 0, sizeof(*ss));
		sin = (struct sockaddr_in *)(void *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, s->addr, 4);
		sin->sin_port = htons(s->port);
		return 0;
	}
	if (s->atyp == SOCKS5SRV_ATYP_IPV6) {
		memset(ss, 0, sizeof(*ss));
		sin6 = (struct sockaddr_in6 *)(void *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, s->addr, 16);
		sin6->sin6_port = htons(s->port);
		return 0;
	}
	return -1;
}

uint8_t
socks5srv_rep_errno(int err)
{
	long e = err < 0 ? -(long)err : err;

	switch (e) {
	case ECONNREFUSED:
		return SOCKS5SRV_REP_REFUSED;
	case ENETUNREACH:
		return SOCKS5SRV_REP_NETUNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case ETIMEDOUT:
		return SOCKS5SRV_REP_HOSTUNREACH;
	case EACCES:
	case EPERM:
		return SOCKS5SRV_REP_NOTALLOWED;
	default:
		return SOCKS5SRV_REP_FAILURE;
	}
}

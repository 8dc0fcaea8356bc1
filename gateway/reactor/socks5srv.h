/* SPDX-License-Identifier: Apache-2.0 */
/*
 * socks5srv.h: the server side of SOCKS5 (RFC 1928) for dynamic forwards,
 * sans I/O: the local listener's connection hands the bytes an application
 * sent to socks5srv_feed, which says what to write back and, at the end, the
 * host:port the application asked for.  Touches no socket and no loop.
 *
 * Only what a dynamic forward needs: method 0x00 (no authentication: the
 * listener is on loopback) and the CONNECT command.  The exchange is
 *
 *   app:  05 NMETHODS METHODS...        (greeting, NMETHODS 1..255)
 *   us:   05 00                         (or 05 FF when 00 is not among the
 *                                        methods, or NMETHODS is 0: close)
 *   app:  05 CMD 00 ATYP DST.ADDR DST.PORT
 *   us:   05 REP 00 ATYP BND.ADDR BND.PORT   (socks5srv_reply, once the
 *                                             connect succeeded or failed)
 *
 * Buffering belongs to the caller: it keeps the bytes received and not yet
 * consumed, feeds all of them after every read, and drops the *used bytes
 * the machine consumed.  The machine only consumes whole messages (the
 * greeting, then the request), so a return of SOCKS5SRV_MORE consumes
 * nothing.  It never needs more than SOCKS5SRV_BUF_MAX (262) unconsumed
 * bytes to finish a message: a buffer of that size always has room for the
 * next read while SOCKS5SRV_MORE is returned.  The application may pipeline
 * (greeting and request in one write, its data right after the request): the
 * machine consumes exactly the protocol's bytes and what follows the request
 * is the application's stream, to be forwarded once the connect is done.
 *
 * The request is checked in this order: VER 5 and RSV 0 (else EBAD), the
 * address type (1, 3 or 4, else REP 08 at once: the length of an unknown
 * address is unknown), then the whole request is awaited and its address
 * checked (a name of 1..255 bytes of printable ASCII 0x21..0x7e, else EBAD:
 * no control byte, NUL or space is ever passed on), then the command
 * (CONNECT, else REP 07: BIND, UDP ASSOCIATE and unknown commands), then the
 * port (0 is refused with REP 01, general failure: no service listens
 * there, and a reply tells the application why rather than a bare close).
 */
#ifndef STP_SOCKS5SRV_H
#define STP_SOCKS5SRV_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;
struct sockaddr_storage;

#define SOCKS5SRV_NAME_MAX 255          /* ATYP 3: a name of 1..255 bytes */
#define SOCKS5SRV_GREETING_MAX (2 + 255)        /* VER NMETHODS METHODS */
#define SOCKS5SRV_REQUEST_MAX (5 + SOCKS5SRV_NAME_MAX + 2)      /* 262 */
/* The most unconsumed bytes the machine ever needs: size the buffer so. */
#define SOCKS5SRV_BUF_MAX SOCKS5SRV_REQUEST_MAX
/* The longest message we write (a reply with an IPv6 BND.ADDR): out's size. */
#define SOCKS5SRV_REPLY_MAX (4 + 16 + 2)

/* Address types (ATYP). */
#define SOCKS5SRV_ATYP_IPV4 0x01
#define SOCKS5SRV_ATYP_NAME 0x03
#define SOCKS5SRV_ATYP_IPV6 0x04

/* Reply codes (REP), RFC 1928 section 6. */
#define SOCKS5SRV_REP_OK 0x00           /* succeeded */
#define SOCKS5SRV_REP_FAILURE 0x01      /* general SOCKS server failure */
#define SOCKS5SRV_REP_NOTALLOWED 0x02   /* connection not allowed by ruleset */
#define SOCKS5SRV_REP_NETUNREACH 0x03   /* network unreachable */
#define SOCKS5SRV_REP_HOSTUNREACH 0x04  /* host unreachable */
#define SOCKS5SRV_REP_REFUSED 0x05      /* connection refused */
#define SOCKS5SRV_REP_TTL 0x06          /* TTL expired */
#define SOCKS5SRV_REP_CMD 0x07          /* command not supported */
#define SOCKS5SRV_REP_ATYP 0x08         /* address type not supported */

/* What socks5srv_feed returns. */
enum {
	SOCKS5SRV_MORE = 0,     /* feed again when more bytes came (*used 0) */
	SOCKS5SRV_SEND = 1,     /* write out, drop *used bytes, feed the rest */
	SOCKS5SRV_REQUEST = 2,  /* a CONNECT request: s->host, s->port, s->atyp */
	/* Errors: the connection is to be closed, after writing out when *out_len > 0. */
	SOCKS5SRV_EBAD = -1,    /* not SOCKS5, malformed, or fed after the end: out empty */
	SOCKS5SRV_ENOMETHOD = -2,       /* no method 0x00 offered: out is 05 FF */
	SOCKS5SRV_ECMD = -3,    /* not CONNECT: out is a reply with REP 07 */
	SOCKS5SRV_EATYP = -4,   /* ATYP not 1, 3 or 4: out is a reply with REP 08 */
	SOCKS5SRV_EPORT = -5    /* DST.PORT 0: out is a reply with REP 01 */
};

typedef struct socks5srv {
	int state;                              /* private */
	/* Set when socks5srv_feed returns SOCKS5SRV_REQUEST: */
	uint8_t atyp;                           /* SOCKS5SRV_ATYP_* */
	uint8_t addr[16];                       /* ATYP 1: 4 bytes, ATYP 4: 16 bytes */
	char host[SOCKS5SRV_NAME_MAX + 1];      /* dotted quad, IPv6 text (no
	                                           brackets) or the name, NUL-terminated */
	uint16_t port;                          /* 1..65535 */
} socks5srv;

/* Start a machine: it waits for the greeting. */
void socks5srv_init(socks5srv *s);

/*
 * Feed in[0..len): every byte received and not yet consumed.  Always sets
 * *used (the bytes consumed: the caller drops them; 0 with SOCKS5SRV_MORE)
 * and *out_len (0 unless there is something to write).  out has room for
 * SOCKS5SRV_REPLY_MAX bytes.  Returns
 *   SOCKS5SRV_MORE     the message is incomplete; feed again after a read;
 *   SOCKS5SRV_SEND     out holds 05 00 (method chosen): write it and feed
 *                      the bytes after *used at once, they may hold the
 *                      request already;
 *   SOCKS5SRV_REQUEST  a CONNECT request, *used its bytes: s->atyp, s->addr,
 *                      s->host and s->port hold it; in[*used..len) is the
 *                      application's data.  Answer with socks5srv_reply;
 *   < 0                an error above (the machine is then finished, as it
 *                      is after SOCKS5SRV_REQUEST: another feed is EBAD).
 */
int socks5srv_feed(socks5srv *s, const uint8_t *in, size_t len, size_t *used,
    uint8_t *out, size_t *out_len);

/*
 * The reply to a request: VER 5, REP rep (SOCKS5SRV_REP_*), BND.ADDR and
 * BND.PORT from bound when it is an AF_INET or AF_INET6 address (the local
 * address of the connection made), else 0.0.0.0:0 (bound NULL).  Writes
 * out (SOCKS5SRV_REPLY_MAX bytes of room) and returns its length: 10, or 22
 * for an IPv6 address.
 */
size_t socks5srv_reply(uint8_t rep, const struct sockaddr *bound, uint8_t *out);

/*
 * The request's address as a socket address with its port, for ATYP 1 and
 * 4 (a name has none until resolved): 0, or -1 for a name.  Call after
 * SOCKS5SRV_REQUEST.
 */
int socks5srv_sockaddr(const socks5srv *s, struct sockaddr_storage *ss);

/*
 * The REP code for a failed connect: err is an errno value, positive or
 * negative (libuv's UV_E* codes are -errno on Unix).  ECONNREFUSED 5,
 * ENETUNREACH 3, EHOSTUNREACH, EHOSTDOWN and ETIMEDOUT 4, EACCES and EPERM
 * (a local firewall) 2, anything else 1.
 */
uint8_t socks5srv_rep_errno(int err);

#endif

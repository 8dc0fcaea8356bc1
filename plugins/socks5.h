/* SPDX-License-Identifier: Apache-2.0 */
/*
 * socks5.h: the socks5 dialer plugin's pure part: the proxy URL, the
 * messages a SOCKS5 client sends (RFC 1928, with RFC 1929 username/password
 * authentication) and the parsers of what the proxy answers, tied together
 * in a client state machine that touches no socket.  plugins/socks5.c runs
 * it on the connected TCP handle; the unit test and the fuzzer call it
 * directly.
 *
 * The machine reads exactly what the proxy's replies hold: socks5_client_want
 * says how many bytes to read next (a reply's length depends on its first
 * five bytes, so a CONNECT reply is read as 5 bytes, then the rest), and not
 * one byte past the CONNECT reply is ever asked for.
 *
 * Every function writes its outputs only on success, except that why (a
 * reason that completes "proxy HOST:PORT ...") is written on failure.  No
 * reason ever holds a username or password.
 */
#ifndef STP_SOCKS5_H
#define STP_SOCKS5_H

#include <stddef.h>
#include <stdint.h>

#define SOCKS5_NAME_MAX 255              /* a domain name in a request or reply */
#define SOCKS5_CRED_MAX 255              /* RFC 1929: username, password */
#define SOCKS5_GREETING_MAX 4            /* VER NMETHODS METHODS(2) */
#define SOCKS5_AUTH_MAX (3 + 2 * SOCKS5_CRED_MAX)
#define SOCKS5_REQ_MAX (5 + SOCKS5_NAME_MAX + 2)
#define SOCKS5_REPLY_MAX (5 + SOCKS5_NAME_MAX + 2)
#define SOCKS5_REPLY_HEAD 5              /* enough of a reply to know its size */
#define SOCKS5_MSG_MAX SOCKS5_AUTH_MAX   /* the largest message we send */

/* Address types (ATYP). */
#define SOCKS5_ATYP_IPV4 0x01
#define SOCKS5_ATYP_NAME 0x03
#define SOCKS5_ATYP_IPV6 0x04

/* Methods. */
#define SOCKS5_METHOD_NONE 0x00
#define SOCKS5_METHOD_USERPASS 0x02
#define SOCKS5_METHOD_REFUSED 0xff

/* Results. */
enum {
	SOCKS5_DONE = 0,        /* the proxy connected us: the tunnel is open */
	SOCKS5_MORE = 1,        /* read socks5_client_want() more bytes */
	SOCKS5_SEND = 2,        /* send out[0..*out_len), then keep reading */
	SOCKS5_EBAD = -1,       /* a malformed reply: not SOCKS5, or broken */
	SOCKS5_EREFUSED = -2,   /* the proxy said no: REP != 0, or no method */
	SOCKS5_EAUTH = -3,      /* credentials refused, or needed and not given */
	SOCKS5_EINVAL = -4      /* a bad setting or a misuse (why says which) */
};

/* A parsed socks5://[USER:PASS@]HOST:PORT.  user/pass are secrets. */
typedef struct socks5_url {
	char host[SOCKS5_NAME_MAX + 1];          /* IPv6 without brackets */
	uint16_t port;
	char hostport[SOCKS5_NAME_MAX + 9];      /* "host:port", "[v6]:port", for messages */
	int has_auth;
	uint8_t user[SOCKS5_CRED_MAX], pass[SOCKS5_CRED_MAX];
	size_t user_len, pass_len;
} socks5_url;

/*
 * Parse url (NUL-terminated).  The username is what precedes the first ':'
 * before the last '@', the password the rest up to that '@'; each 1..255
 * bytes, taken as written (no %-decoding).  0 or SOCKS5_EINVAL.
 */
int socks5_url_parse(const char *url, socks5_url *u, char *why, size_t why_len);

/* The CONNECT reply, parsed. */
typedef struct socks5_reply {
	uint8_t rep;                    /* REP: 0 succeeded */
	uint8_t atyp;                   /* of BND.ADDR */
	uint8_t addr[SOCKS5_NAME_MAX];  /* BND.ADDR: 4 or 16 bytes, or the name */
	size_t addr_len;
	uint16_t port;                  /* BND.PORT */
	size_t size;                    /* bytes the reply took */
} socks5_reply;

/* ---- what we send ---- */

/* The greeting: no authentication, plus username/password when auth.  Its length (<= cap), or 0. */
size_t socks5_greeting(uint8_t *out, size_t cap, int auth);
/* The RFC 1929 request for u's credentials.  Its length, or 0 (none, or cap too small). */
size_t socks5_auth_request(uint8_t *out, size_t cap, const socks5_url *u);
/*
 * CONNECT to host:port: ATYP 1 or 4 for an IPv4/IPv6 literal, else ATYP 3
 * with the name as written (the proxy resolves it: .onion names work through
 * Tor).  Writes *len; 0 or SOCKS5_EINVAL (empty or over-long name, cap).
 */
int socks5_connect_request(uint8_t *out, size_t cap, const char *host,
    uint16_t port, size_t *len, char *why, size_t why_len);

/* ---- what the proxy answers ---- */

/*
 * The method selection reply (2 bytes: VER METHOD).  offered_auth: whether
 * the greeting offered username/password.  0 with *method set, SOCKS5_EBAD
 * (not version 5, a method we did not offer, len != 2), SOCKS5_EREFUSED
 * (0xFF: none of ours).
 */
int socks5_method_reply(const uint8_t *b, size_t len, int offered_auth,
    uint8_t *method, char *why, size_t why_len);
/*
 * The RFC 1929 status reply (2 bytes: VER STATUS; VER 1, or 5 as some
 * proxies send).  0, SOCKS5_EAUTH (status != 0) or SOCKS5_EBAD.
 */
int socks5_auth_reply(const uint8_t *b, size_t len, char *why, size_t why_len);
/*
 * The total size of a CONNECT reply from its first len bytes: SOCKS5_MORE
 * when len < SOCKS5_REPLY_HEAD, 0 with *size (<= SOCKS5_REPLY_MAX), or
 * SOCKS5_EBAD (version, address type).
 */
int socks5_reply_size(const uint8_t *b, size_t len, size_t *size, char *why,
    size_t why_len);
/*
 * A whole CONNECT reply, exactly len bytes: 0 with *r filled (whatever REP
 * says), or SOCKS5_EBAD (malformed, or len not its size).
 */
int socks5_reply_parse(const uint8_t *b, size_t len, socks5_reply *r,
    char *why, size_t why_len);
/* What a REP code means (RFC 1928, and Tor's onion service codes 0xF0..0xF7). */
const char *socks5_rep_text(unsigned rep);

/* ---- the client ---- */

enum { SOCKS5_S_METHOD, SOCKS5_S_AUTH, SOCKS5_S_REPLY, SOCKS5_S_DONE,
    SOCKS5_S_FAILED };

typedef struct socks5_client {
	int state;
	int offered_auth;
	uint8_t in[SOCKS5_REPLY_MAX];           /* the reply being read */
	size_t have, need;                      /* bytes in in[], bytes it needs */
	uint8_t auth[SOCKS5_AUTH_MAX];          /* RFC 1929 request (secret) */
	size_t auth_len;
	uint8_t req[SOCKS5_REQ_MAX];            /* CONNECT */
	size_t req_len;
	char target[SOCKS5_NAME_MAX + 9];       /* "host:port" for messages */
	socks5_reply reply;                     /* valid once done */
} socks5_client;

/*
 * Start a client that asks proxy u to reach host:port: writes the greeting
 * to out (*out_len: in capacity, at least SOCKS5_GREETING_MAX; out its
 * length).  SOCKS5_SEND, or SOCKS5_EINVAL.
 */
int socks5_client_init(socks5_client *c, const socks5_url *u, const char *host,
    uint16_t port, uint8_t *out, size_t *out_len, char *why, size_t why_len);
/* How many bytes to read next: never more than the current reply still holds; 0 when done or failed. */
size_t socks5_client_want(const socks5_client *c);
/*
 * Take len (1..want) bytes from the proxy.  SOCKS5_MORE, SOCKS5_SEND (out,
 * capacity *out_len >= SOCKS5_MSG_MAX, holds the next message), SOCKS5_DONE,
 * or an error (why set; the client is then failed).
 */
int socks5_client_input(socks5_client *c, const uint8_t *in, size_t len,
    uint8_t *out, size_t *out_len, char *why, size_t why_len);
/*
 * The proxy closed the connection (or it broke) before the end: the error to
 * report, with why saying where we were.  SOCKS5_EREFUSED if the part of the
 * CONNECT reply that came says REP != 0, SOCKS5_EAUTH if it closed after we
 * sent credentials, else SOCKS5_EBAD.
 */
int socks5_client_eof(socks5_client *c, char *why, size_t why_len);
/* Wipe the credentials and replies c holds. */
void socks5_client_wipe(socks5_client *c);

#endif

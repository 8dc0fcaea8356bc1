/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_socks5.c: what a SOCKS5 proxy answers, through the socks5 plugin's
 * parsers and its client machine (plugins/socks5.h).
 *
 * Input: one control byte, then the proxy's bytes.  Control bit 0: the proxy
 * URL has a username and password; bits 1-2: the target is a name, an IPv4
 * literal, an IPv6 literal or a 255-byte name; bits 3-7: the chunk size
 * (1..32) the bytes are fed in.
 *
 * Invariants: the client never asks for more than the reply in progress still
 * holds (so it can never take a byte of STP), never more than
 * SOCKS5_REPLY_MAX; it sends the greeting, then the RFC 1929 request only if
 * the proxy chose username/password, then CONNECT; it finishes only on a
 * well-formed REP 0 reply, having taken exactly the bytes of the replies; a
 * failure leaves it wanting nothing and its reason never holds the password.
 * The parsers alone: a method, status or CONNECT reply is accepted exactly
 * when it is well formed, its size agrees with its address type, and a URL
 * that parses prints back to itself.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "socks5.h"

#define PASSWORD "FuzzPassw0rd"
#define USER "fuzzuser"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void
check_client(uint8_t ctl, const uint8_t *in, size_t len)
{
	static const char *const targets[3] = { "peer.example", "192.0.2.7",
	    "2001:db8::7" };
	char name[SOCKS5_NAME_MAX + 1], why[512];
	const char *url = (ctl & 1) ? "socks5://" USER ":" PASSWORD
	    "@127.0.0.1:1080" : "socks5://127.0.0.1:1080";
	const char *host;
	uint8_t out[SOCKS5_MSG_MAX], greet[SOCKS5_GREETING_MAX];
	uint8_t req[SOCKS5_REQ_MAX], auth[SOCKS5_AUTH_MAX];
	size_t out_len = sizeof(out), chunk = 1 + (ctl >> 3), off = 0, sends = 0;
	size_t reply_at = 0, req_len, auth_len, k, want;
	socks5_client c;
	socks5_url u;
	socks5_reply r;
	int rc, used_auth = 0;

	if (((ctl >> 1) & 3) == 3) {
		memset(name, 'n', SOCKS5_NAME_MAX);
		name[SOCKS5_NAME_MAX] = '\0';
		host = name;
	} else
		host = targets[(ctl >> 1) & 3];
	FUZZ_ASSERT(socks5_url_parse(url, &u, why, sizeof(why)) == 0);
	FUZZ_ASSERT(socks5_connect_request(req, sizeof(req), host, 7400,
	    &req_len, why, sizeof(why)) == 0);
	auth_len = socks5_auth_request(auth, sizeof(auth), &u);
	FUZZ_ASSERT((auth_len != 0) == ((ctl & 1) != 0));
	rc = socks5_client_init(&c, &u, host, 7400, out, &out_len, why,
	    sizeof(why));
	FUZZ_ASSERT(rc == SOCKS5_SEND);
	FUZZ_ASSERT(out_len == socks5_greeting(greet, sizeof(greet), ctl & 1));
	FUZZ_ASSERT(memcmp(out, greet, out_len) == 0);
	for (;;) {
		want = socks5_client_want(&c);
		FUZZ_ASSERT(want > 0 && want <= SOCKS5_REPLY_MAX);
		if (off == len) {
			rc = socks5_client_eof(&c, why, sizeof(why));
			FUZZ_ASSERT(rc < 0);
			break;
		}
		k = len - off;
		if (k > want)
			k = want;
		if (k > chunk)
			k = chunk;
		out_len = sizeof(out);
		rc = socks5_client_input(&c, in + off, k, out, &out_len, why,
		    sizeof(why));
		off += k;
		if (rc == SOCKS5_MORE)
			continue;
		if (rc != SOCKS5_SEND)
			break;
		sends++;
		/* After the method reply: credentials if chosen, else CONNECT. */
		if (sends == 1 && off == 2 && in[1] == SOCKS5_METHOD_USERPASS) {
			FUZZ_ASSERT(ctl & 1);
			FUZZ_ASSERT(out_len == auth_len &&
			    memcmp(out, auth, auth_len) == 0);
			used_auth = 1;
		} else {
			FUZZ_ASSERT(out_len == req_len &&
			    memcmp(out, req, req_len) == 0);
			FUZZ_ASSERT(off == (used_auth ? 4u : 2u));
			reply_at = off;
		}
		FUZZ_ASSERT(sends <= 2);
	}
	FUZZ_ASSERT(socks5_client_want(&c) == 0);
	if (rc == SOCKS5_DONE) {
		/* Exactly the replies' bytes: method, status, CONNECT reply. */
		FUZZ_ASSERT(reply_at == (used_auth ? 4u : 2u));
		FUZZ_ASSERT(socks5_reply_parse(in + reply_at, off - reply_at, &r,
		    why, sizeof(why)) == 0);
		FUZZ_ASSERT(r.rep == 0 && c.reply.rep == 0);
		FUZZ_ASSERT(r.size == off - reply_at && c.reply.size == r.size);
		FUZZ_ASSERT(in[0] == 5 && (in[1] == 0 || (ctl & 1)));
	} else {
		FUZZ_ASSERT(rc < 0);
		FUZZ_ASSERT(why[0] != '\0');
		FUZZ_ASSERT(strstr(why, PASSWORD) == NULL);
		FUZZ_ASSERT(strstr(why, USER) == NULL);
	}
	/* Nothing left to take, whatever else the proxy sends. */
	out_len = sizeof(out);
	FUZZ_ASSERT(socks5_client_input(&c, (const uint8_t *)"x", 1, out,
	    &out_len, why, sizeof(why)) == SOCKS5_EINVAL);
	socks5_client_wipe(&c);
}

static void
check_parsers(const uint8_t *in, size_t len)
{
	char why[512], url[SOCKS5_NAME_MAX + 2 * SOCKS5_CRED_MAX + 64];
	char again[sizeof(url)], host[SOCKS5_NAME_MAX + 1];
	uint8_t m = 0xee, req[SOCKS5_REQ_MAX];
	size_t size = 0, n, hl;
	socks5_reply r;
	socks5_url u, v;
	int rc, a;

	for (a = 0; a < 2; a++) {
		n = len <= 3 ? len : 2;
		m = 0xee;
		rc = socks5_method_reply(in, n, a, &m, why, sizeof(why));
		if (rc == 0)
			FUZZ_ASSERT(n == 2 && in[0] == 5 && m == in[1] &&
			    (m == 0 || (a && m == 2)));
		else
			FUZZ_ASSERT(m == 0xee && (rc == SOCKS5_EBAD ||
			    (rc == SOCKS5_EREFUSED && in[1] == 0xff)));
	}
	n = len <= 3 ? len : 2;
	rc = socks5_auth_reply(in, n, why, sizeof(why));
	FUZZ_ASSERT(rc != 0 || (n == 2 && in[1] == 0 &&
	    (in[0] == 1 || in[0] == 5)));

	rc = socks5_reply_size(in, len, &size, why, sizeof(why));
	if (len < SOCKS5_REPLY_HEAD)
		FUZZ_ASSERT(rc == SOCKS5_MORE);
	else if (rc == 0)
		FUZZ_ASSERT(size >= 7 && size <= SOCKS5_REPLY_MAX);
	else
		FUZZ_ASSERT(rc == SOCKS5_EBAD);
	memset(&r, 0xcc, sizeof(r));
	if (socks5_reply_parse(in, len, &r, why, sizeof(why)) == 0) {
		FUZZ_ASSERT(rc == 0 && size == len && r.size == len);
		FUZZ_ASSERT(r.rep == in[1] && r.atyp == in[3]);
		FUZZ_ASSERT(r.addr_len + (r.atyp == SOCKS5_ATYP_NAME) + 6 == len);
		FUZZ_ASSERT(r.atyp != SOCKS5_ATYP_IPV4 || r.addr_len == 4);
		FUZZ_ASSERT(r.atyp != SOCKS5_ATYP_IPV6 || r.addr_len == 16);
		FUZZ_ASSERT(r.port == (in[len - 2] << 8 | in[len - 1]));
	} else {
		FUZZ_ASSERT(rc != 0 || size != len);
		FUZZ_ASSERT(r.rep == 0xcc);
	}
	if (rc == 0 && size <= len)
		FUZZ_ASSERT(socks5_reply_parse(in, size, &r, why,
		    sizeof(why)) == 0);
	FUZZ_ASSERT(socks5_rep_text(len ? in[0] : 0) != NULL);

	/* The input as a proxy URL (after "socks5://"), and as a target name. */
	n = len < sizeof(url) - 10 ? len : sizeof(url) - 10;
	memcpy(url, "socks5://", 9);
	memcpy(url + 9, in, n);
	url[9 + n] = '\0';
	memset(&u, 0x5a, sizeof(u));
	if (socks5_url_parse(url, &u, why, sizeof(why)) == 0) {
		hl = strlen(u.host);
		FUZZ_ASSERT(hl >= 1 && hl <= SOCKS5_NAME_MAX && u.port >= 1);
		FUZZ_ASSERT(!u.has_auth || (u.user_len >= 1 &&
		    u.user_len <= SOCKS5_CRED_MAX && u.pass_len >= 1 &&
		    u.pass_len <= SOCKS5_CRED_MAX));
		snprintf(again, sizeof(again), "socks5://%s", u.hostport);
		FUZZ_ASSERT(socks5_url_parse(again, &v, why, sizeof(why)) == 0);
		FUZZ_ASSERT(strcmp(v.host, u.host) == 0 && v.port == u.port &&
		    !v.has_auth);
	} else
		FUZZ_ASSERT(u.port == 0x5a5a);
	n = len < SOCKS5_NAME_MAX + 1 ? len : SOCKS5_NAME_MAX + 1;
	memcpy(host, in, n < sizeof(host) ? n : sizeof(host) - 1);
	host[n < sizeof(host) ? n : sizeof(host) - 1] = '\0';
	hl = strlen(host);
	size = 0;
	if (socks5_connect_request(req, sizeof(req), host, 1, &size, why,
	    sizeof(why)) == 0) {
		FUZZ_ASSERT(hl > 0 && req[0] == 5 && req[1] == 1 && req[2] == 0);
		if (req[3] == SOCKS5_ATYP_NAME)
			FUZZ_ASSERT(size == 7 + hl && req[4] == hl &&
			    memcmp(req + 5, host, hl) == 0);
		else
			FUZZ_ASSERT(size == (req[3] == SOCKS5_ATYP_IPV4 ? 10u :
			    22u));
	} else
		FUZZ_ASSERT(hl == 0 && size == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	check_client(data[0], data + 1, size - 1);
	check_parsers(data + 1, size - 1);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_socks5_unit.c: the socks5 dialer plugin (plugins/socks5.c).
 *
 * The pure part: proxy URLs, the messages we send (greeting, RFC 1929
 * request, CONNECT with each ATYP, an over-long name), the parsers of what a
 * proxy answers (method, auth status, CONNECT replies with each ATYP,
 * truncated and over-long), every REP code through the client machine, a
 * closed connection at every byte, and one byte at a time.
 *
 * The plugin on real sockets: a scripted SOCKS5 server on 127.0.0.1 in the
 * same libuv loop.  route() and start() on a connected uv_tcp_t; the bytes
 * the server sends right after its reply must still be there for the core
 * to read (the plugin took only the reply); refusals and a wrong password
 * give their reasons (never the password); cancel() at every stage leaves
 * the socket as it was, calls nothing back and leaks nothing (ASan run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "plugin.h"
#include "socks5.h"
#include "testlib.h"

extern const stp_plugin stp_plugin_socks5;

/* ---- the URL ---- */

static void
url_ok(const char *url, const char *host, unsigned port, const char *hostport,
    const char *user, const char *pass)
{
	socks5_url u;
	char why[256] = "";

	t_set_ctx("url %s", url);
	memset(&u, 0xaa, sizeof(u));
	if (!T_INT(socks5_url_parse(url, &u, why, sizeof(why)), 0)) {
		fprintf(stderr, "  why: %s\n", why);
		return;
	}
	T_OK(strcmp(u.host, host) == 0);
	T_INT(u.port, port);
	T_OK(strcmp(u.hostport, hostport) == 0);
	T_INT(u.has_auth, user != NULL);
	if (user != NULL) {
		T_MEM(u.user, u.user_len, user, strlen(user));
		T_MEM(u.pass, u.pass_len, pass, strlen(pass));
	}
}

static void
url_bad(const char *url, const char *want, const char *secret)
{
	socks5_url u;
	char why[256] = "";

	t_set_ctx("url %s", url);
	memset(&u, 0x5a, sizeof(u));
	T_INT(socks5_url_parse(url, &u, why, sizeof(why)), SOCKS5_EINVAL);
	if (!T_OK(strstr(why, want) != NULL))
		fprintf(stderr, "  got  %s\n  want ...%s...\n", why, want);
	/* Outputs untouched on failure, and no secret in the reason. */
	T_OK(u.port == 0x5a5a && u.host[0] == 0x5a);
	if (secret != NULL)
		T_OK(strstr(why, secret) == NULL);
}

static void
test_url(void)
{
	char big[600];

	url_ok("socks5://127.0.0.1:9050", "127.0.0.1", 9050, "127.0.0.1:9050",
	    NULL, NULL);
	url_ok("socks5://proxy.example:1080", "proxy.example", 1080,
	    "proxy.example:1080", NULL, NULL);
	url_ok("socks5://[::1]:1080", "::1", 1080, "[::1]:1080", NULL, NULL);
	url_ok("socks5://alice:s3cr:et@127.0.0.1:1", "127.0.0.1", 1,
	    "127.0.0.1:1", "alice", "s3cr:et");
	/* The last '@' ends the password. */
	url_ok("socks5://u:p@ss@[::1]:65535", "::1", 65535, "[::1]:65535", "u",
	    "p@ss");

	url_bad("http://127.0.0.1:8080", "socks5://[USER:PASS@]HOST:PORT", NULL);
	url_bad("socks5://127.0.0.1", "HOST:PORT", NULL);
	url_bad("socks5://127.0.0.1:0", "port 1..65535", NULL);
	url_bad("socks5://127.0.0.1:65536", "port 1..65535", NULL);
	url_bad("socks5://127.0.0.1:123456", "port 1..65535", NULL);
	url_bad("socks5://127.0.0.1:9x", "port 1..65535", NULL);
	url_bad("socks5://:9050", "host name or IP address", NULL);
	url_bad("socks5://::1:9050", "IPv6 in brackets", NULL);
	url_bad("socks5://[::1]9050", "[IPV6]:PORT", NULL);
	url_bad("socks5://[nothex]:9050", "host name or IP address", NULL);
	url_bad("socks5://hunter2@127.0.0.1:9050", "USER:PASS", "hunter2");
	url_bad("socks5://:hunter2@127.0.0.1:9050", "each must be 1..255",
	    "hunter2");
	url_bad("socks5://alice:@127.0.0.1:9050", "each must be 1..255", NULL);
	memset(big, 'p', sizeof(big));
	memcpy(big, "socks5://u:", 11);
	memcpy(big + 11 + 256, "@127.0.0.1:1", 13);
	url_bad(big, "password 256", "pppppppp");
	memset(big, 'h', sizeof(big));
	memcpy(big, "socks5://", 9);
	memcpy(big + 9 + 256, ":1", 3);
	url_bad(big, "host name or IP address", NULL);
	t_set_ctx("%s", "");
	t_section("url");
}

/* ---- what we send ---- */

static void
test_requests(void)
{
	static const uint8_t g0[] = { 5, 1, 0 }, g1[] = { 5, 2, 0, 2 };
	static const uint8_t c4[] = { 5, 1, 0, 1, 192, 0, 2, 7, 0x1c, 0xe8 };
	static const uint8_t c6[] = { 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80 };
	static const uint8_t cn[] = { 5, 1, 0, 3, 9, 'l', 'o', 'c', 'a', 'l',
	    'h', 'o', 's', 't', 0x1c, 0xe8 };
	uint8_t out[SOCKS5_MSG_MAX], want[SOCKS5_REQ_MAX];
	char name[300], why[256];
	socks5_url u;
	size_t n = 0;

	T_MEM(out, socks5_greeting(out, sizeof(out), 0), g0, sizeof(g0));
	T_MEM(out, socks5_greeting(out, sizeof(out), 1), g1, sizeof(g1));
	T_INT((long long)socks5_greeting(out, 3, 1), 0);

	T_INT(socks5_url_parse("socks5://bob:pw@127.0.0.1:1080", &u, why,
	    sizeof(why)), 0);
	n = socks5_auth_request(out, sizeof(out), &u);
	T_MEM(out, n, "\x01\x03" "bob" "\x02" "pw", 8);
	T_INT((long long)socks5_auth_request(out, 7, &u), 0);
	u.has_auth = 0;
	T_INT((long long)socks5_auth_request(out, sizeof(out), &u), 0);

	T_INT(socks5_connect_request(out, sizeof(out), "192.0.2.7", 7400, &n,
	    why, sizeof(why)), 0);
	T_MEM(out, n, c4, sizeof(c4));
	T_INT(socks5_connect_request(out, sizeof(out), "2001:db8::1", 80, &n,
	    why, sizeof(why)), 0);
	T_MEM(out, n, c6, sizeof(c6));
	/* A name goes as written, unresolved (ATYP 3): .onion through Tor. */
	T_INT(socks5_connect_request(out, sizeof(out), "localhost", 7400, &n,
	    why, sizeof(why)), 0);
	T_MEM(out, n, cn, sizeof(cn));
	T_INT(socks5_connect_request(out, sizeof(out),
	    "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion",
	    7400, &n, why, sizeof(why)), 0);
	T_INT(out[3], SOCKS5_ATYP_NAME);
	T_INT(out[4], 62);
	/* 255 bytes is the most a name can be; 256 is refused. */
	memset(name, 'a', sizeof(name));
	name[255] = '\0';
	T_INT(socks5_connect_request(out, sizeof(out), name, 1, &n, why,
	    sizeof(why)), 0);
	T_INT((long long)n, SOCKS5_REQ_MAX);
	want[0] = 5; want[1] = 1; want[2] = 0; want[3] = 3; want[4] = 255;
	memset(want + 5, 'a', 255);
	want[260] = 0; want[261] = 1;
	T_MEM(out, n, want, SOCKS5_REQ_MAX);
	name[255] = 'a';
	name[256] = '\0';
	n = 77;
	T_INT(socks5_connect_request(out, sizeof(out), name, 1, &n, why,
	    sizeof(why)), SOCKS5_EINVAL);
	T_OK(strstr(why, "at most 255 bytes") != NULL);
	T_INT((long long)n, 77);
	T_INT(socks5_connect_request(out, sizeof(out), "", 1, &n, why,
	    sizeof(why)), SOCKS5_EINVAL);
	T_INT(socks5_connect_request(out, 9, "192.0.2.7", 1, &n, why,
	    sizeof(why)), SOCKS5_EINVAL);
	t_section("requests");
}

/* ---- the parsers ---- */

static void
test_method_auth(void)
{
	char why[256];
	uint8_t m = 0x77;

	T_INT(socks5_method_reply((const uint8_t *)"\x05\x00", 2, 0, &m, why,
	    sizeof(why)), 0);
	T_INT(m, 0);
	T_INT(socks5_method_reply((const uint8_t *)"\x05\x02", 2, 1, &m, why,
	    sizeof(why)), 0);
	T_INT(m, 2);
	m = 0x77;
	T_INT(socks5_method_reply((const uint8_t *)"\x05\x02", 2, 0, &m, why,
	    sizeof(why)), SOCKS5_EBAD);
	T_OK(strstr(why, "method 0x02, which we did not offer") != NULL);
	T_INT(socks5_method_reply((const uint8_t *)"\x05\x01", 2, 1, &m, why,
	    sizeof(why)), SOCKS5_EBAD);
	T_INT(socks5_method_reply((const uint8_t *)"\x05\xff", 2, 0, &m, why,
	    sizeof(why)), SOCKS5_EREFUSED);
	T_OK(strstr(why, "socks5://USER:PASS@HOST:PORT") != NULL);
	T_INT(socks5_method_reply((const uint8_t *)"\x05\xff", 2, 1, &m, why,
	    sizeof(why)), SOCKS5_EREFUSED);
	T_OK(strstr(why, "none of our authentication methods") != NULL);
	T_INT(socks5_method_reply((const uint8_t *)"HT", 2, 0, &m, why,
	    sizeof(why)), SOCKS5_EBAD);
	T_OK(strstr(why, "an HTTP proxy?") != NULL);
	T_INT(socks5_method_reply((const uint8_t *)"\x04\x00", 2, 0, &m, why,
	    sizeof(why)), SOCKS5_EBAD);
	T_INT(socks5_method_reply((const uint8_t *)"\x05", 1, 0, &m, why,
	    sizeof(why)), SOCKS5_EBAD);
	T_INT(socks5_method_reply((const uint8_t *)"\x05\x00\x00", 3, 0, &m,
	    why, sizeof(why)), SOCKS5_EBAD);
	T_INT(m, 0x77);

	T_INT(socks5_auth_reply((const uint8_t *)"\x01\x00", 2, why,
	    sizeof(why)), 0);
	T_INT(socks5_auth_reply((const uint8_t *)"\x05\x00", 2, why,
	    sizeof(why)), 0);
	T_INT(socks5_auth_reply((const uint8_t *)"\x01\x01", 2, why,
	    sizeof(why)), SOCKS5_EAUTH);
	T_OK(strstr(why, "refused our username/password (RFC 1929 status 1)") !=
	    NULL);
	T_INT(socks5_auth_reply((const uint8_t *)"\x01\xff", 2, why,
	    sizeof(why)), SOCKS5_EAUTH);
	T_INT(socks5_auth_reply((const uint8_t *)"\x02\x00", 2, why,
	    sizeof(why)), SOCKS5_EBAD);
	T_INT(socks5_auth_reply((const uint8_t *)"\x01", 1, why,
	    sizeof(why)), SOCKS5_EBAD);
	t_section("method and auth replies");
}

/* A CONNECT reply with rep/atyp and an address of alen bytes (name: alen is its length). */
static size_t
mkreply(uint8_t *b, uint8_t rep, uint8_t atyp, size_t alen)
{
	size_t n = 0, i;

	b[n++] = 5;
	b[n++] = rep;
	b[n++] = 0;
	b[n++] = atyp;
	if (atyp == SOCKS5_ATYP_NAME)
		b[n++] = (uint8_t)alen;
	for (i = 0; i < alen; i++)
		b[n++] = (uint8_t)('a' + i % 26);
	b[n++] = 0x12;
	b[n++] = 0x34;
	return n;
}

static void
test_reply(void)
{
	static const struct { uint8_t atyp; size_t alen, size; } c[] = {
		{ SOCKS5_ATYP_IPV4, 4, 10 },
		{ SOCKS5_ATYP_IPV6, 16, 22 },
		{ SOCKS5_ATYP_NAME, 0, 7 },
		{ SOCKS5_ATYP_NAME, 11, 18 },
		{ SOCKS5_ATYP_NAME, 255, 262 },
	};
	uint8_t b[SOCKS5_REPLY_MAX + 8];
	socks5_reply r;
	char why[256];
	size_t i, n, size, k;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		t_set_ctx("reply atyp %u addr %zu", c[i].atyp, c[i].alen);
		n = mkreply(b, 0, c[i].atyp, c[i].alen);
		T_INT((long long)n, (long long)c[i].size);
		for (k = 0; k < SOCKS5_REPLY_HEAD; k++)
			T_INT(socks5_reply_size(b, k, &size, why, sizeof(why)),
			    SOCKS5_MORE);
		size = 0;
		T_INT(socks5_reply_size(b, SOCKS5_REPLY_HEAD, &size, why,
		    sizeof(why)), 0);
		T_INT((long long)size, (long long)n);
		memset(&r, 0, sizeof(r));
		T_INT(socks5_reply_parse(b, n, &r, why, sizeof(why)), 0);
		T_INT(r.rep, 0);
		T_INT(r.atyp, c[i].atyp);
		T_INT((long long)r.addr_len, (long long)c[i].alen);
		T_INT(r.port, 0x1234);
		T_INT((long long)r.size, (long long)n);
		if (c[i].alen > 0)
			T_MEM(r.addr, r.addr_len, b + n - 2 - c[i].alen,
			    c[i].alen);
		/* Truncated anywhere, or one byte too many: malformed. */
		for (k = 0; k < n; k++) {
			memset(&r, 0x33, sizeof(r));
			T_INT(socks5_reply_parse(b, k, &r, why, sizeof(why)),
			    SOCKS5_EBAD);
			T_INT(r.rep, 0x33);
		}
		b[n] = 0;
		T_INT(socks5_reply_parse(b, n + 1, &r, why, sizeof(why)),
		    SOCKS5_EBAD);
		T_OK(strstr(why, "CONNECT reply of") != NULL);
	}
	t_set_ctx("%s", "");
	for (k = 0; k < 256; k++) {
		if (k == 1 || k == 3 || k == 4)
			continue;
		mkreply(b, 0, 1, 4);
		b[3] = (uint8_t)k;
		T_INT(socks5_reply_size(b, 10, &size, why, sizeof(why)),
		    SOCKS5_EBAD);
	}
	T_OK(strstr(why, "unknown address type 0xff") != NULL);
	mkreply(b, 0, 1, 4);
	b[0] = 4;
	T_INT(socks5_reply_parse(b, 10, &r, why, sizeof(why)), SOCKS5_EBAD);
	T_OK(strstr(why, "version 0x04, not SOCKS5") != NULL);
	t_section("CONNECT replies");
}

/* ---- the client machine ---- */

/*
 * Run a client for proxy url to host:port against server bytes srv (fed
 * `chunk` bytes at a time, never more than it wants).  Returns the last
 * result; *used gets the bytes it took, sent[] what it sent (concatenated).
 */
static int
run_client(const char *url, const char *host, uint16_t port, const uint8_t *srv,
    size_t srv_len, size_t chunk, size_t *used, uint8_t *sent, size_t *sent_len,
    char *why, size_t why_len)
{
	socks5_client c;
	socks5_url u;
	uint8_t out[SOCKS5_MSG_MAX];
	size_t out_len = sizeof(out), off = 0, k, sl = 0;
	int rc;

	if (socks5_url_parse(url, &u, why, why_len) != 0)
		return -100;
	rc = socks5_client_init(&c, &u, host, port, out, &out_len, why, why_len);
	if (rc != SOCKS5_SEND)
		return rc;
	memcpy(sent + sl, out, out_len);
	sl += out_len;
	for (;;) {
		size_t want = socks5_client_want(&c);

		if (want > SOCKS5_REPLY_MAX) {
			rc = -101;
			break;
		}
		if (off == srv_len) {
			rc = socks5_client_eof(&c, why, why_len);
			break;
		}
		k = srv_len - off;
		if (k > want)
			k = want;
		if (k > chunk)
			k = chunk;
		out_len = sizeof(out);
		rc = socks5_client_input(&c, srv + off, k, out, &out_len, why,
		    why_len);
		off += k;
		if (rc == SOCKS5_SEND) {
			memcpy(sent + sl, out, out_len);
			sl += out_len;
			continue;
		}
		if (rc == SOCKS5_MORE)
			continue;
		break;
	}
	if (rc == SOCKS5_DONE && socks5_client_want(&c) != 0)
		rc = -102;
	socks5_client_wipe(&c);
	*used = off;
	*sent_len = sl;
	return rc;
}

static void
test_client(void)
{
	uint8_t srv[1024], sent[2048], rep[SOCKS5_REPLY_MAX];
	char why[512];
	size_t n, rn, used, sl, k, chunk;
	int rc;
	unsigned r;

	/* No auth, each reply ATYP, any chunking; the bytes after the reply stay. */
	for (chunk = 1; chunk <= 300; chunk = chunk < 8 ? chunk + 1 : chunk * 3) {
		static const uint8_t at[3] = { 1, 4, 3 };

		for (k = 0; k < 3; k++) {
			t_set_ctx("no auth, atyp %u, chunk %zu", at[k], chunk);
			n = 0;
			srv[n++] = 5;
			srv[n++] = 0;
			rn = mkreply(rep, 0, at[k], at[k] == 1 ? 4 : at[k] == 4 ?
			    16 : 200);
			memcpy(srv + n, rep, rn);
			n += rn;
			memcpy(srv + n, "STP-FIRST-BYTES", 15);
			rc = run_client("socks5://127.0.0.1:1080", "peer.example",
			    7400, srv, n + 15, chunk, &used, sent, &sl, why,
			    sizeof(why));
			T_INT(rc, SOCKS5_DONE);
			T_INT((long long)used, (long long)n);
			T_MEM(sent, sl, "\x05\x01\x00" "\x05\x01\x00\x03\x0c"
			    "peer.example\x1c\xe8", 3 + 19);
		}
	}
	/* User/password: greeting offers both, credentials go, then CONNECT. */
	t_set_ctx("auth");
	n = 0;
	memcpy(srv, "\x05\x02\x01\x00", 4);
	n = 4 + mkreply(srv + 4, 0, 1, 4);
	rc = run_client("socks5://alice:pw@127.0.0.1:1080", "10.1.2.3", 22, srv,
	    n, 1, &used, sent, &sl, why, sizeof(why));
	T_INT(rc, SOCKS5_DONE);
	T_INT((long long)used, (long long)n);
	T_MEM(sent, sl, "\x05\x02\x00\x02" "\x01\x05" "alice" "\x02" "pw"
	    "\x05\x01\x00\x01\x0a\x01\x02\x03\x00\x16", 4 + 10 + 10);
	/* A proxy that needs no auth may skip it even when we have some. */
	memcpy(srv, "\x05\x00", 2);
	n = 2 + mkreply(srv + 2, 0, 1, 4);
	T_INT(run_client("socks5://alice:pw@127.0.0.1:1080", "::1", 22, srv, n,
	    64, &used, sent, &sl, why, sizeof(why)), SOCKS5_DONE);
	T_INT(sent[4 + 3], SOCKS5_ATYP_IPV6);
	/* Auth refused: EAUTH, a clear reason, and no secret in it. */
	memcpy(srv, "\x05\x02\x01\x01", 4);
	T_INT(run_client("socks5://alice:Sup3rSecret@127.0.0.1:1080", "h", 1,
	    srv, 4, 64, &used, sent, &sl, why, sizeof(why)), SOCKS5_EAUTH);
	T_OK(strstr(why, "refused our username/password") != NULL);
	T_OK(strstr(why, "Sup3rSecret") == NULL && strstr(why, "alice") == NULL);
	/* Closed after the credentials, without a status. */
	T_INT(run_client("socks5://alice:Sup3rSecret@127.0.0.1:1080", "h", 1,
	    srv, 2, 64, &used, sent, &sl, why, sizeof(why)), SOCKS5_EAUTH);
	T_OK(strstr(why, "without a status") != NULL);
	/* Auth needed but we have none. */
	memcpy(srv, "\x05\xff", 2);
	T_INT(run_client("socks5://127.0.0.1:1080", "h", 1, srv, 2, 64, &used,
	    sent, &sl, why, sizeof(why)), SOCKS5_EREFUSED);
	/* Every REP code. */
	for (r = 0; r < 256; r++) {
		char want[128];

		t_set_ctx("REP %u", r);
		memcpy(srv, "\x05\x00", 2);
		n = 2 + mkreply(srv + 2, (uint8_t)r, 1, 4);
		rc = run_client("socks5://127.0.0.1:1080", "peer.example", 7400,
		    srv, n, 3, &used, sent, &sl, why, sizeof(why));
		T_INT((long long)used, (long long)n);
		if (r == 0) {
			T_INT(rc, SOCKS5_DONE);
			continue;
		}
		T_INT(rc, SOCKS5_EREFUSED);
		snprintf(want, sizeof(want), "refused CONNECT to peer.example:7400: "
		    "%s (REP %u)", socks5_rep_text(r), r);
		if (!T_OK(strcmp(why, want) == 0))
			fprintf(stderr, "  got  %s\n  want %s\n", why, want);
	}
	t_set_ctx("%s", "");
	T_OK(strcmp(socks5_rep_text(5), "connection refused") == 0);
	T_OK(strcmp(socks5_rep_text(1), "general SOCKS server failure") == 0);
	T_OK(strcmp(socks5_rep_text(2), "connection not allowed by ruleset") == 0);
	T_OK(strcmp(socks5_rep_text(3), "network unreachable") == 0);
	T_OK(strcmp(socks5_rep_text(4), "host unreachable") == 0);
	T_OK(strcmp(socks5_rep_text(6), "TTL expired") == 0);
	T_OK(strcmp(socks5_rep_text(7), "command not supported") == 0);
	T_OK(strcmp(socks5_rep_text(8), "address type not supported") == 0);
	T_OK(strcmp(socks5_rep_text(9), "unassigned reply code") == 0);
	T_OK(strcmp(socks5_rep_text(0xf6), "invalid onion address") == 0);
	/* IPv6 target in the message. */
	memcpy(srv, "\x05\x00", 2);
	n = 2 + mkreply(srv + 2, 4, 1, 4);
	T_INT(run_client("socks5://127.0.0.1:1080", "2001:db8::9", 443, srv, n,
	    64, &used, sent, &sl, why, sizeof(why)), SOCKS5_EREFUSED);
	T_OK(strcmp(why, "refused CONNECT to [2001:db8::9]:443: host unreachable "
	    "(REP 4)") == 0);

	/* Truncated: the connection closes after every prefix of a good exchange. */
	memcpy(srv, "\x05\x02\x01\x00", 4);
	n = 4 + mkreply(srv + 4, 0, 3, 40);
	for (k = 0; k < n; k++) {
		t_set_ctx("closed after %zu of %zu bytes", k, n);
		rc = run_client("socks5://u:p@127.0.0.1:1080", "peer.example", 1,
		    srv, k, 5, &used, sent, &sl, why, sizeof(why));
		T_INT((long long)used, (long long)k);
		T_INT(rc, k == 2 || k == 3 ? SOCKS5_EAUTH : SOCKS5_EBAD);
		T_OK(strstr(why, "closed the connection") != NULL);
	}
	/* A refusal cut short after its REP still names the REP. */
	t_set_ctx("short refusal");
	memcpy(srv, "\x05\x00\x05\x05", 4);
	T_INT(run_client("socks5://127.0.0.1:1080", "peer.example", 7400, srv, 4,
	    64, &used, sent, &sl, why, sizeof(why)), SOCKS5_EREFUSED);
	T_OK(strstr(why, "connection refused (REP 5)") != NULL);
	/* Garbage instead of a reply. */
	t_set_ctx("garbage");
	memcpy(srv, "HTTP/1.1 400 Bad Request\r\n", 26);
	T_INT(run_client("socks5://127.0.0.1:1080", "peer.example", 7400, srv, 26,
	    64, &used, sent, &sl, why, sizeof(why)), SOCKS5_EBAD);
	T_INT((long long)used, 2);
	T_OK(strstr(why, "an HTTP proxy?") != NULL);
	memcpy(srv, "\x05\x00\x05\x00\x00\x09\x00\x00\x00\x00", 10);
	T_INT(run_client("socks5://127.0.0.1:1080", "peer.example", 7400, srv, 10,
	    64, &used, sent, &sl, why, sizeof(why)), SOCKS5_EBAD);
	T_INT((long long)used, 7);
	/* An over-long target name is refused before anything is sent. */
	{
		char name[300];
		socks5_client c;
		socks5_url u;
		uint8_t out[SOCKS5_MSG_MAX];
		size_t ol = sizeof(out);

		memset(name, 'x', sizeof(name));
		name[256] = '\0';
		T_INT(socks5_url_parse("socks5://127.0.0.1:1", &u, why,
		    sizeof(why)), 0);
		T_INT(socks5_client_init(&c, &u, name, 1, out, &ol, why,
		    sizeof(why)), SOCKS5_EINVAL);
		T_INT((long long)socks5_client_want(&c), 0);
		T_INT((long long)ol, (long long)sizeof(out));
		/* Misuse: more than it wants. */
		ol = sizeof(out);
		T_INT(socks5_client_init(&c, &u, "h", 1, out, &ol, why,
		    sizeof(why)), SOCKS5_SEND);
		ol = sizeof(out);
		T_INT(socks5_client_input(&c, (const uint8_t *)"\x05\x00\x05", 3,
		    out, &ol, why, sizeof(why)), SOCKS5_EINVAL);
		T_INT((long long)socks5_client_want(&c), 0);
	}
	t_set_ctx("%s", "");
	t_section("client machine");
}

/* ---- the plugin on sockets ---- */

struct step {
	size_t expect;          /* bytes the client must send first */
	const uint8_t *send;    /* then this goes back */
	size_t send_len;
	int close;              /* then close */
};

/* One scripted proxy connection and one client, in one loop. */
struct rig {
	uv_loop_t *loop;
	uv_tcp_t lsn, srv, cli;
	int srv_open, lsn_open;
	uv_connect_t creq;
	uv_timer_t guard;
	const struct step *steps;
	size_t nsteps, at;
	uint8_t got[2048];              /* what the proxy received */
	size_t got_len, step_base;
	uint8_t after[256];             /* what the client read after done */
	size_t after_len;
	int connected, done_calls, done_status, timed_out;
	char reason[512];
	void *op;
	int cancel_at_step;             /* cancel once the proxy reached this step (-1: never) */
	int cancelled;
	int marker;
	uint16_t port;
};

static void
srv_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	struct rig *r = h->data;

	(void)sz;
	*b = uv_buf_init((char *)r->got + r->got_len,
	    (unsigned)(sizeof(r->got) - r->got_len));
}

static void
srv_write_done(uv_write_t *w, int status)
{
	(void)status;
	free(w);
}

static void rig_maybe_cancel(struct rig *r);

static void
srv_advance(struct rig *r)
{
	while (r->at < r->nsteps &&
	    r->got_len - r->step_base >= r->steps[r->at].expect) {
		const struct step *s = &r->steps[r->at];

		r->step_base += s->expect;
		r->at++;
		if (s->send_len > 0) {
			uv_write_t *w = malloc(sizeof(*w));
			uv_buf_t b = uv_buf_init((char *)s->send,
			    (unsigned)s->send_len);

			if (w == NULL || uv_write(w, (uv_stream_t *)&r->srv, &b, 1,
			    srv_write_done) != 0)
				free(w);
		}
		if (s->close && r->srv_open) {
			r->srv_open = 0;
			uv_close((uv_handle_t *)&r->srv, NULL);
			break;
		}
	}
	rig_maybe_cancel(r);
}

static void
srv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct rig *r = s->data;

	(void)b;
	if (n < 0) {
		if (r->srv_open) {
			r->srv_open = 0;
			uv_close((uv_handle_t *)&r->srv, NULL);
		}
		return;
	}
	r->got_len += (size_t)n;
	srv_advance(r);
}

static void
on_conn(uv_stream_t *l, int status)
{
	struct rig *r = l->data;

	if (status != 0 || r->srv_open)
		return;
	uv_tcp_init(r->loop, &r->srv);
	r->srv.data = r;
	if (uv_accept(l, (uv_stream_t *)&r->srv) == 0) {
		r->srv_open = 1;
		uv_read_start((uv_stream_t *)&r->srv, srv_alloc, srv_read);
		srv_advance(r); /* a first step that expects nothing */
	} else
		uv_close((uv_handle_t *)&r->srv, NULL);
}

static void
cli_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	struct rig *r = h->data;

	(void)sz;
	*b = uv_buf_init((char *)r->after + r->after_len,
	    (unsigned)(sizeof(r->after) - r->after_len));
}

static void
rig_stop(struct rig *r)
{
	if (!uv_is_closing((uv_handle_t *)&r->cli))
		uv_close((uv_handle_t *)&r->cli, NULL);
	if (r->srv_open) {
		r->srv_open = 0;
		uv_close((uv_handle_t *)&r->srv, NULL);
	}
	if (r->lsn_open) {
		r->lsn_open = 0;
		uv_close((uv_handle_t *)&r->lsn, NULL);
	}
	if (!uv_is_closing((uv_handle_t *)&r->guard))
		uv_close((uv_handle_t *)&r->guard, NULL);
}

static void
cli_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct rig *r = s->data;

	(void)b;
	if (n > 0)
		r->after_len += (size_t)n;
	if (n < 0 || r->after_len >= 15)
		rig_stop(r);
}

static void
on_done(void *arg, int status, const char *reason)
{
	struct rig *r = arg;

	r->done_calls++;
	r->done_status = status;
	snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "(null)");
	/* The socket is ours again, as we left it. */
	T_OK(r->cli.data == &r->marker);
	if (status == 0) {
		/* Like the core: STP starts reading on it now. */
		r->cli.data = r;
		uv_read_start((uv_stream_t *)&r->cli, cli_alloc, cli_read);
	} else
		rig_stop(r);
}

static void
rig_maybe_cancel(struct rig *r)
{
	const stp_dialer_ops *d = stp_plugin_socks5.dialer;

	if (r->op == NULL || r->cancelled || r->done_calls ||
	    r->cancel_at_step < 0 || r->at < (size_t)r->cancel_at_step)
		return;
	r->cancelled = 1;
	d->cancel(r->op);
	T_OK(r->cli.data == &r->marker);
	rig_stop(r);
}

static const char *rig_url, *rig_host;

static void
on_connected(uv_connect_t *req, int status)
{
	struct rig *r = req->data;
	const stp_dialer_ops *d = stp_plugin_socks5.dialer;
	stp_peer_view v = { "bob", (const uint8_t *)"k", rig_host, 7400, rig_url };
	char why[256] = "";

	if (!T_INT(status, 0)) {
		rig_stop(r);
		return;
	}
	r->connected = 1;
	r->cli.data = &r->marker;
	r->op = d->start(NULL, &v, &r->cli, on_done, r, why, sizeof(why));
	if (!T_OK(r->op != NULL)) {
		fprintf(stderr, "  start: %s\n", why);
		rig_stop(r);
		return;
	}
	if (r->cancel_at_step == 0)
		rig_maybe_cancel(r);
}

static void
on_guard(uv_timer_t *t)
{
	struct rig *r = t->data;

	r->timed_out = 1;
	if (r->op != NULL && !r->done_calls && !r->cancelled) {
		r->cancelled = 1;
		stp_plugin_socks5.dialer->cancel(r->op);
	}
	rig_stop(r);
}

/* Run the plugin against steps; url's host:port is replaced by the rig's proxy. */
static void
rig_run(struct rig *r, const char *creds, const char *host,
    const struct step *steps, size_t nsteps, int cancel_at)
{
	const stp_dialer_ops *d = stp_plugin_socks5.dialer;
	struct sockaddr_in sa;
	int namelen = sizeof(sa);
	static char url[128];
	char rhost[64], why[256];
	uint16_t rport = 0;
	stp_peer_view v = { "bob", (const uint8_t *)"k", NULL, 7400, url };

	memset(r, 0, sizeof(*r));
	r->loop = uv_default_loop();
	r->steps = steps;
	r->nsteps = nsteps;
	r->cancel_at_step = cancel_at;
	uv_tcp_init(r->loop, &r->lsn);
	r->lsn.data = r;
	uv_ip4_addr("127.0.0.1", 0, &sa);
	if (uv_tcp_bind(&r->lsn, (const struct sockaddr *)&sa, 0) != 0 ||
	    uv_listen((uv_stream_t *)&r->lsn, 4, on_conn) != 0) {
		T_OK(!"listen on 127.0.0.1");
		return;
	}
	r->lsn_open = 1;
	uv_tcp_getsockname(&r->lsn, (struct sockaddr *)&sa, &namelen);
	r->port = ntohs(sa.sin_port);
	snprintf(url, sizeof(url), "socks5://%s127.0.0.1:%u", creds, r->port);
	rig_url = url;
	rig_host = host;
	v.host = host;
	/* route: the proxy's endpoint. */
	T_INT(d->route(NULL, &v, rhost, sizeof(rhost), &rport, why, sizeof(why)),
	    1);
	T_OK(strcmp(rhost, "127.0.0.1") == 0);
	T_INT(rport, r->port);
	uv_timer_init(r->loop, &r->guard);
	r->guard.data = r;
	uv_timer_start(&r->guard, on_guard, 10000, 0);
	uv_tcp_init(r->loop, &r->cli);
	r->creq.data = r;
	uv_tcp_connect(&r->creq, &r->cli, (const struct sockaddr *)&sa,
	    on_connected);
	uv_run(r->loop, UV_RUN_DEFAULT);
	T_OK(!r->timed_out);
}

static void
test_plugin(void)
{
	static const uint8_t m0[] = { 5, 0 }, m2[] = { 5, 2 }, a0[] = { 1, 0 },
	    a1[] = { 1, 1 };
	static const uint8_t ok_extra[] = { 5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90,
	    'S', 'T', 'P', '-', 'F', 'I', 'R', 'S', 'T', '-', 'B', 'Y', 'T', 'E',
	    'S' };
	static const uint8_t ok6_extra[] = { 5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 1, 0x1f, 0x90,
	    'S', 'T', 'P', '-', 'F', 'I', 'R', 'S', 'T', '-', 'B', 'Y', 'T', 'E',
	    'S' };
	static const uint8_t ref5[] = { 5, 5, 0, 1, 0, 0, 0, 0, 0, 0 };
	const size_t greet0 = 3, greet2 = 4, conn_name = 7 + 12;
	const size_t auth = 3 + 5 + 10, auth_bad = 3 + 5 + 11;
	struct step noauth[] = {
		{ greet0, m0, 2, 0 }, { conn_name, ok_extra, sizeof(ok_extra), 0 } };
	struct step withauth[] = {
		{ greet2, m2, 2, 0 }, { auth, a0, 2, 0 },
		{ 10, ok6_extra, sizeof(ok6_extra), 0 } };
	struct step refused[] = {
		{ greet0, m0, 2, 0 }, { conn_name, ref5, sizeof(ref5), 1 } };
	struct step badpw[] = {
		{ greet2, m2, 2, 0 }, { auth_bad, a1, 2, 1 } };
	struct step silent[] = { { greet0, NULL, 0, 1 } };
	struct step hang[] = {
		{ greet2, m2, 2, 0 }, { auth, a0, 2, 0 }, { 10, ok_extra, 5, 0 },
		{ 1000, NULL, 0, 0 } };
	struct rig r;
	char want[256];
	int i;

	plugin_runtime(uv_default_loop(), NULL, NULL);

	t_set_ctx("plugin: no auth, name unresolved");
	rig_run(&r, "", "peer.example", noauth, 2, -1);
	T_INT(r.done_calls, 1);
	T_INT(r.done_status, 0);
	T_MEM(r.got, r.got_len, "\x05\x01\x00" "\x05\x01\x00\x03\x0c"
	    "peer.example\x1c\xe8", 3 + conn_name);
	/* Not one byte after the reply was taken: STP finds all of them. */
	T_MEM(r.after, r.after_len, "STP-FIRST-BYTES", 15);

	t_set_ctx("plugin: username/password, IPv4 target, IPv6 bound address");
	rig_run(&r, "alice:opensesame@", "10.9.8.7", withauth, 3, -1);
	T_INT(r.done_calls, 1);
	T_INT(r.done_status, 0);
	T_MEM(r.got, r.got_len, "\x05\x02\x00\x02" "\x01\x05" "alice"
	    "\x0a" "opensesame" "\x05\x01\x00\x01\x0a\x09\x08\x07\x1c\xe8",
	    greet2 + auth + 10);
	T_MEM(r.after, r.after_len, "STP-FIRST-BYTES", 15);

	t_set_ctx("plugin: REP 5");
	rig_run(&r, "", "peer.example", refused, 2, -1);
	T_INT(r.done_calls, 1);
	T_INT(r.done_status, -1);
	snprintf(want, sizeof(want), "proxy 127.0.0.1:%u refused CONNECT to "
	    "peer.example:7400: connection refused (REP 5)", r.port);
	if (!T_OK(strcmp(r.reason, want) == 0))
		fprintf(stderr, "  got  %s\n  want %s\n", r.reason, want);

	t_set_ctx("plugin: wrong password");
	rig_run(&r, "alice:wrongpass00@", "peer.example", badpw, 2, -1);
	T_INT(r.done_calls, 1);
	T_INT(r.done_status, -1);
	T_OK(strstr(r.reason, "refused our username/password (RFC 1929 status "
	    "1)") != NULL);
	T_OK(strstr(r.reason, "wrongpass00") == NULL);

	t_set_ctx("plugin: proxy closes at once");
	rig_run(&r, "", "peer.example", silent, 1, -1);
	T_INT(r.done_calls, 1);
	T_INT(r.done_status, -1);
	T_OK(strstr(r.reason, "without answering our greeting") != NULL);

	/* cancel() at every stage: nothing called back, the socket as it was. */
	for (i = 0; i <= 3; i++) {
		t_set_ctx("plugin: cancel at step %d", i);
		rig_run(&r, "alice:opensesame@", "peer.example", hang, 4, i);
		T_INT(r.cancelled, 1);
		T_INT(r.done_calls, 0);
	}
	t_set_ctx("%s", "");
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	T_INT(uv_loop_close(uv_default_loop()), 0);
	t_section("plugin on sockets");
}

static void
test_config_hook(void)
{
	void *cfg = (void *)1;
	int en = 0;

	/* No settings, and not needed: configure(NULL) enables it. */
	T_INT(stp_plugin_socks5.configure(NULL, NULL, &cfg, &en), 0);
	T_OK(cfg == NULL && en == 1);
	T_OK(stp_plugin_socks5.dialer != NULL &&
	    stp_plugin_socks5.admission == NULL &&
	    stp_plugin_socks5.shaper == NULL);
	{
		stp_peer_view v = { "bob", (const uint8_t *)"k", "h", 1, "" };
		char host[64], why[64];
		uint16_t port = 0;

		T_INT(stp_plugin_socks5.dialer->route(NULL, &v, host, sizeof(host),
		    &port, why, sizeof(why)), 0);
		v.proxy = "socks5://u:secretpw@h:"; /* bad: no port */
		T_INT(stp_plugin_socks5.dialer->route(NULL, &v, host, sizeof(host),
		    &port, why, sizeof(why)), -1);
		T_OK(strstr(why, "secretpw") == NULL);
		v.proxy = "socks5://proxy.example:1080";
		T_INT(stp_plugin_socks5.dialer->route(NULL, &v, host, 8, &port,
		    why, sizeof(why)), -1);
		T_INT(stp_plugin_socks5.dialer->route(NULL, &v, host, sizeof(host),
		    &port, why, sizeof(why)), 1);
		T_OK(strcmp(host, "proxy.example") == 0 && port == 1080);
	}
	t_section("config and route");
}

int
main(void)
{
	test_url();
	test_requests();
	test_method_auth();
	test_reply();
	test_client();
	test_config_hook();
	test_plugin();
	return t_done();
}

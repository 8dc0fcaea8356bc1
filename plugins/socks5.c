/* SPDX-License-Identifier: Apache-2.0 */
/*
 * socks5.c: the socks5 dialer plugin: a peer with `proxy: socks5://...` is
 * dialed through that SOCKS5 proxy (RFC 1928; username/password per RFC
 * 1929 when the URL has them).  The core connects TCP to the proxy (route),
 * then start() runs the client below on that socket: greeting, method,
 * credentials, CONNECT with the peer's dial host (a name goes unresolved, so
 * Tor reaches .onion names), reply.  Reads ask for exactly what the current
 * reply still holds, and reading stops before done() is called, so STP's
 * first byte is never taken.
 *
 * The pure part (URL, messages, parsers, the client machine) is declared in
 * socks5.h for the unit test and the fuzzer.  Nothing here logs or keeps a
 * username or password beyond the messages that carry them, which are wiped.
 *
 * Events (stp_count "socks5"): connected, auth_failed, refused, bad_reply,
 * io_error.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_api.h"
#include "socks5.h"

#define PFX "socks5://"
#define PFX_LEN (sizeof(PFX) - 1)

/* ---- the proxy URL ---- */

int
socks5_url_parse(const char *url, socks5_url *u, char *why, size_t why_len)
{
	static const char badhost[] = "expected a host name or IP address (IPv6 "
	    "in brackets) of 1..255 bytes before the port";
	static const char badport[] = "expected a port 1..65535 after the host";
	const char *hp, *end, *at = NULL, *colon, *h, *ps = NULL, *p;
	const char *err = NULL;
	socks5_url t;
	size_t hlen = 0, plen;
	unsigned long pv = 0;
	struct in6_addr a6;

	memset(&t, 0, sizeof(t));
	if (url == NULL || strncmp(url, PFX, PFX_LEN) != 0) {
		err = "expected socks5://[USER:PASS@]HOST:PORT";
		goto out;
	}
	hp = url + PFX_LEN;
	end = hp + strlen(hp);
	for (p = hp; p < end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		colon = memchr(hp, ':', (size_t)(at - hp));
		if (colon == NULL) {
			err = "expected USER:PASS before the \"@\" (RFC 1929 "
			    "needs both)";
			goto out;
		}
		t.user_len = (size_t)(colon - hp);
		t.pass_len = (size_t)(at - colon - 1);
		if (t.user_len < 1 || t.user_len > SOCKS5_CRED_MAX ||
		    t.pass_len < 1 || t.pass_len > SOCKS5_CRED_MAX) {
			snprintf(why, why_len, "the username is %zu bytes and the "
			    "password %zu; each must be 1..%d (RFC 1929)",
			    t.user_len, t.pass_len, SOCKS5_CRED_MAX);
			goto out;
		}
		memcpy(t.user, hp, t.user_len);
		memcpy(t.pass, colon + 1, t.pass_len);
		t.has_auth = 1;
		hp = at + 1;
	}
	if (hp < end && *hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(end - hp));

		if (rb == NULL || rb + 1 == end || rb[1] != ':')
			err = "expected [IPV6]:PORT after the \"[\"";
		else {
			h = hp + 1;
			hlen = (size_t)(rb - h);
			ps = rb + 2;
			if (hlen == 0 || hlen > SOCKS5_NAME_MAX)
				err = badhost;
			else {
				memcpy(t.host, h, hlen);
				if (inet_pton(AF_INET6, t.host, &a6) != 1)
					err = badhost;
			}
		}
	} else {
		colon = NULL;
		for (p = hp; p < end; p++)
			if (*p == ':')
				colon = p;
		if (colon == NULL)
			err = at != NULL ? "expected HOST:PORT after the \"@\"" :
			    "expected HOST:PORT after \"socks5://\"";
		else {
			hlen = (size_t)(colon - hp);
			ps = colon + 1;
			if (hlen == 0 || hlen > SOCKS5_NAME_MAX ||
			    memchr(hp, ':', hlen) != NULL)
				err = badhost;
			else
				memcpy(t.host, hp, hlen);
		}
	}
	if (err != NULL)
		goto out;
	plen = (size_t)(end - ps);
	if (plen < 1 || plen > 5)
		err = badport;
	for (p = ps; err == NULL && p < end; p++) {
		if (*p < '0' || *p > '9')
			err = badport;
		pv = pv * 10 + (unsigned long)(*p - '0');
	}
	if (err == NULL && (pv < 1 || pv > 65535))
		err = badport;
	if (err != NULL)
		goto out;
	t.port = (uint16_t)pv;
	snprintf(t.hostport, sizeof(t.hostport), strchr(t.host, ':') != NULL ?
	    "[%s]:%u" : "%s:%u", t.host, (unsigned)t.port);
	memcpy(u, &t, sizeof(t));
	stp_wipe(&t, sizeof(t));
	return 0;
out:
	if (err != NULL)
		snprintf(why, why_len, "%s", err);
	stp_wipe(&t, sizeof(t));
	return SOCKS5_EINVAL;
}

/* ---- what we send ---- */

size_t
socks5_greeting(uint8_t *out, size_t cap, int auth)
{
	size_t n = auth ? 4 : 3;

	if (cap < n)
		return 0;
	out[0] = 5;
	out[1] = auth ? 2 : 1;
	out[2] = SOCKS5_METHOD_NONE;
	if (auth)
		out[3] = SOCKS5_METHOD_USERPASS;
	return n;
}

size_t
socks5_auth_request(uint8_t *out, size_t cap, const socks5_url *u)
{
	size_t n;

	if (!u->has_auth || u->user_len < 1 || u->user_len > SOCKS5_CRED_MAX ||
	    u->pass_len < 1 || u->pass_len > SOCKS5_CRED_MAX)
		return 0;
	n = 3 + u->user_len + u->pass_len;
	if (cap < n)
		return 0;
	out[0] = 1;
	out[1] = (uint8_t)u->user_len;
	memcpy(out + 2, u->user, u->user_len);
	out[2 + u->user_len] = (uint8_t)u->pass_len;
	memcpy(out + 3 + u->user_len, u->pass, u->pass_len);
	return n;
}

int
socks5_connect_request(uint8_t *out, size_t cap, const char *host,
    uint16_t port, size_t *len, char *why, size_t why_len)
{
	uint8_t a[16];
	size_t alen, n, hl;
	uint8_t atyp;

	hl = host != NULL ? strnlen(host, SOCKS5_NAME_MAX + 1) : 0;
	if (hl == 0) {
		snprintf(why, why_len, "no host name to CONNECT to");
		return SOCKS5_EINVAL;
	}
	if (inet_pton(AF_INET, host, a) == 1) {
		atyp = SOCKS5_ATYP_IPV4;
		alen = 4;
	} else if (inet_pton(AF_INET6, host, a) == 1) {
		atyp = SOCKS5_ATYP_IPV6;
		alen = 16;
	} else {
		if (hl > SOCKS5_NAME_MAX) {
			snprintf(why, why_len, "cannot CONNECT to \"%.32s...\": "
			    "SOCKS5 carries names of at most %d bytes",
			    host, SOCKS5_NAME_MAX);
			return SOCKS5_EINVAL;
		}
		atyp = SOCKS5_ATYP_NAME;
		alen = hl;
	}
	n = 4 + (atyp == SOCKS5_ATYP_NAME) + alen + 2;
	if (cap < n) {
		snprintf(why, why_len, "no room for the CONNECT request");
		return SOCKS5_EINVAL;
	}
	out[0] = 5;
	out[1] = 1;             /* CONNECT */
	out[2] = 0;
	out[3] = atyp;
	if (atyp == SOCKS5_ATYP_NAME) {
		out[4] = (uint8_t)alen;
		memcpy(out + 5, host, alen);
	} else
		memcpy(out + 4, a, alen);
	out[n - 2] = (uint8_t)(port >> 8);
	out[n - 1] = (uint8_t)port;
	*len = n;
	return 0;
}

/* ---- what the proxy answers ---- */

/* A hint when the first byte says the proxy speaks something else. */
static const char *
version_hint(uint8_t v)
{
	if (v == 'H')
		return ": an HTTP proxy?";
	if (v == 4 || v == 0)
		return ": a SOCKS4 proxy?";
	return "";
}

int
socks5_method_reply(const uint8_t *b, size_t len, int offered_auth,
    uint8_t *method, char *why, size_t why_len)
{
	if (len != 2) {
		snprintf(why, why_len, "sent a method reply of %zu bytes "
		    "(expected 2)", len);
		return SOCKS5_EBAD;
	}
	if (b[0] != 5) {
		snprintf(why, why_len, "answered our greeting with version "
		    "0x%02x, not SOCKS5%s", b[0], version_hint(b[0]));
		return SOCKS5_EBAD;
	}
	if (b[1] == SOCKS5_METHOD_REFUSED) {
		if (offered_auth)
			snprintf(why, why_len, "accepts none of our "
			    "authentication methods (we offered none and "
			    "username/password)");
		else
			snprintf(why, why_len, "accepts none of our "
			    "authentication methods (we offered none; if it "
			    "needs a username and password, write "
			    "socks5://USER:PASS@HOST:PORT)");
		return SOCKS5_EREFUSED;
	}
	if (b[1] != SOCKS5_METHOD_NONE &&
	    !(b[1] == SOCKS5_METHOD_USERPASS && offered_auth)) {
		snprintf(why, why_len, "chose authentication method 0x%02x, "
		    "which we did not offer", b[1]);
		return SOCKS5_EBAD;
	}
	*method = b[1];
	return 0;
}

int
socks5_auth_reply(const uint8_t *b, size_t len, char *why, size_t why_len)
{
	if (len != 2) {
		snprintf(why, why_len, "sent a username/password reply of %zu "
		    "bytes (expected 2)", len);
		return SOCKS5_EBAD;
	}
	if (b[0] != 1 && b[0] != 5) {
		snprintf(why, why_len, "sent a username/password reply of "
		    "version 0x%02x (expected 1)", b[0]);
		return SOCKS5_EBAD;
	}
	if (b[1] != 0) {
		snprintf(why, why_len, "refused our username/password (RFC 1929 "
		    "status %u)", b[1]);
		return SOCKS5_EAUTH;
	}
	return 0;
}

int
socks5_reply_size(const uint8_t *b, size_t len, size_t *size, char *why,
    size_t why_len)
{
	size_t alen;

	if (len < SOCKS5_REPLY_HEAD)
		return SOCKS5_MORE;
	if (b[0] != 5) {
		snprintf(why, why_len, "answered CONNECT with version 0x%02x, "
		    "not SOCKS5%s", b[0], version_hint(b[0]));
		return SOCKS5_EBAD;
	}
	switch (b[3]) {
	case SOCKS5_ATYP_IPV4: alen = 4; break;
	case SOCKS5_ATYP_IPV6: alen = 16; break;
	case SOCKS5_ATYP_NAME: alen = 1 + (size_t)b[4]; break;
	default:
		snprintf(why, why_len, "answered CONNECT (REP %u) with unknown "
		    "address type 0x%02x", b[1], b[3]);
		return SOCKS5_EBAD;
	}
	*size = 4 + alen + 2;
	return 0;
}

int
socks5_reply_parse(const uint8_t *b, size_t len, socks5_reply *r, char *why,
    size_t why_len)
{
	size_t size, off;
	int rc;

	rc = socks5_reply_size(b, len, &size, why, why_len);
	if (rc == SOCKS5_MORE || (rc == 0 && len != size)) {
		snprintf(why, why_len, "sent a CONNECT reply of %zu bytes (its "
		    "header says %s%zu)", len, rc == SOCKS5_MORE ? "at least " :
		    "", rc == SOCKS5_MORE ? (size_t)7 : size);
		return SOCKS5_EBAD;
	}
	if (rc != 0)
		return rc;
	r->rep = b[1];
	r->atyp = b[3];
	off = 4;
	if (b[3] == SOCKS5_ATYP_NAME)
		off++;
	r->addr_len = size - off - 2;
	memcpy(r->addr, b + off, r->addr_len);
	r->port = (uint16_t)(b[size - 2] << 8 | b[size - 1]);
	r->size = size;
	return 0;
}

const char *
socks5_rep_text(unsigned rep)
{
	switch (rep) {
	case 0x00: return "succeeded";
	case 0x01: return "general SOCKS server failure";
	case 0x02: return "connection not allowed by ruleset";
	case 0x03: return "network unreachable";
	case 0x04: return "host unreachable";
	case 0x05: return "connection refused";
	case 0x06: return "TTL expired";
	case 0x07: return "command not supported";
	case 0x08: return "address type not supported";
	/* Tor with ExtendedErrors on its SocksPort (its proposal 304). */
	case 0xf0: return "onion service descriptor not found";
	case 0xf1: return "onion service descriptor invalid";
	case 0xf2: return "onion service introduction failed";
	case 0xf3: return "onion service rendezvous failed";
	case 0xf4: return "onion service needs client authorization";
	case 0xf5: return "onion service client authorization wrong";
	case 0xf6: return "invalid onion address";
	case 0xf7: return "onion service introduction timed out";
	default: return "unassigned reply code";
	}
}

/* ---- the client ---- */

static void
client_fail(socks5_client *c)
{
	c->state = SOCKS5_S_FAILED;
	stp_wipe(c->auth, sizeof(c->auth));
	c->auth_len = 0;
}

int
socks5_client_init(socks5_client *c, const socks5_url *u, const char *host,
    uint16_t port, uint8_t *out, size_t *out_len, char *why, size_t why_len)
{
	size_t g;

	memset(c, 0, sizeof(*c));
	c->state = SOCKS5_S_FAILED;
	if (socks5_connect_request(c->req, sizeof(c->req), host, port,
	    &c->req_len, why, why_len) != 0)
		return SOCKS5_EINVAL;
	if (u->has_auth) {
		c->auth_len = socks5_auth_request(c->auth, sizeof(c->auth), u);
		if (c->auth_len == 0) {
			client_fail(c);
			snprintf(why, why_len, "bad username/password lengths");
			return SOCKS5_EINVAL;
		}
	}
	g = socks5_greeting(out, *out_len, u->has_auth);
	if (g == 0) {
		client_fail(c);
		snprintf(why, why_len, "no room for the greeting");
		return SOCKS5_EINVAL;
	}
	snprintf(c->target, sizeof(c->target), strchr(host, ':') != NULL ?
	    "[%s]:%u" : "%s:%u", host, (unsigned)port);
	c->offered_auth = u->has_auth;
	c->state = SOCKS5_S_METHOD;
	c->need = 2;
	*out_len = g;
	return SOCKS5_SEND;
}

size_t
socks5_client_want(const socks5_client *c)
{
	if (c->state != SOCKS5_S_METHOD && c->state != SOCKS5_S_AUTH &&
	    c->state != SOCKS5_S_REPLY)
		return 0;
	return c->need - c->have;
}

/* Next: the message msg[0..n) to out, and read a reply of `need` bytes in state. */
static int
client_send(socks5_client *c, const uint8_t *msg, size_t n, int state,
    size_t need, uint8_t *out, size_t *out_len, char *why, size_t why_len)
{
	if (*out_len < n) {
		client_fail(c);
		snprintf(why, why_len, "no room for our next message");
		return SOCKS5_EINVAL;
	}
	memcpy(out, msg, n);
	*out_len = n;
	c->state = state;
	c->have = 0;
	c->need = need;
	return SOCKS5_SEND;
}

int
socks5_client_input(socks5_client *c, const uint8_t *in, size_t len,
    uint8_t *out, size_t *out_len, char *why, size_t why_len)
{
	size_t want = socks5_client_want(c), size;
	uint8_t method;
	int rc;

	if (want == 0 || len == 0 || len > want) {
		snprintf(why, why_len, "client misuse: %zu bytes offered, %zu "
		    "wanted", len, want);
		if (want != 0)
			client_fail(c);
		return SOCKS5_EINVAL;
	}
	memcpy(c->in + c->have, in, len);
	c->have += len;
	if (c->have < c->need)
		return SOCKS5_MORE;
	switch (c->state) {
	case SOCKS5_S_METHOD:
		rc = socks5_method_reply(c->in, c->have, c->offered_auth,
		    &method, why, why_len);
		if (rc != 0)
			break;
		if (method == SOCKS5_METHOD_USERPASS) {
			rc = client_send(c, c->auth, c->auth_len, SOCKS5_S_AUTH,
			    2, out, out_len, why, why_len);
			stp_wipe(c->auth, sizeof(c->auth));
			c->auth_len = 0;
			return rc;
		}
		stp_wipe(c->auth, sizeof(c->auth));
		c->auth_len = 0;
		return client_send(c, c->req, c->req_len, SOCKS5_S_REPLY,
		    SOCKS5_REPLY_HEAD, out, out_len, why, why_len);
	case SOCKS5_S_AUTH:
		rc = socks5_auth_reply(c->in, c->have, why, why_len);
		if (rc != 0)
			break;
		return client_send(c, c->req, c->req_len, SOCKS5_S_REPLY,
		    SOCKS5_REPLY_HEAD, out, out_len, why, why_len);
	default: /* SOCKS5_S_REPLY */
		if (c->need == SOCKS5_REPLY_HEAD) {
			rc = socks5_reply_size(c->in, c->have, &size, why,
			    why_len);
			if (rc != 0)
				break;
			c->need = size; /* > SOCKS5_REPLY_HEAD, <= SOCKS5_REPLY_MAX */
			return SOCKS5_MORE;
		}
		rc = socks5_reply_parse(c->in, c->have, &c->reply, why,
		    why_len);
		if (rc != 0)
			break;
		if (c->reply.rep != 0) {
			snprintf(why, why_len, "refused CONNECT to %s: %s "
			    "(REP %u)", c->target, socks5_rep_text(c->reply.rep),
			    c->reply.rep);
			rc = SOCKS5_EREFUSED;
			break;
		}
		c->state = SOCKS5_S_DONE;
		return SOCKS5_DONE;
	}
	client_fail(c);
	return rc;
}

int
socks5_client_eof(socks5_client *c, char *why, size_t why_len)
{
	int rc = SOCKS5_EBAD;

	switch (c->state) {
	case SOCKS5_S_METHOD:
		snprintf(why, why_len, "closed the connection %s our greeting "
		    "(is it a SOCKS5 proxy?)", c->have ? "while answering" :
		    "without answering");
		break;
	case SOCKS5_S_AUTH:
		snprintf(why, why_len, "closed the connection after our "
		    "username/password without a status (refused them?)");
		rc = SOCKS5_EAUTH;
		break;
	case SOCKS5_S_REPLY:
		/* Some proxies cut a refusal short: its REP is still the answer. */
		if (c->have >= 2 && c->in[0] == 5 && c->in[1] != 0) {
			snprintf(why, why_len, "refused CONNECT to %s: %s (REP %u)",
			    c->target, socks5_rep_text(c->in[1]), c->in[1]);
			rc = SOCKS5_EREFUSED;
		} else if (c->have > 0)
			snprintf(why, why_len, "closed the connection in the "
			    "middle of its CONNECT reply (%zu bytes came)",
			    c->have);
		else
			snprintf(why, why_len, "closed the connection without "
			    "answering CONNECT to %s", c->target);
		break;
	default:
		snprintf(why, why_len, "closed the connection");
		break;
	}
	client_fail(c);
	return rc;
}

void
socks5_client_wipe(socks5_client *c)
{
	stp_wipe(c, sizeof(*c));
}

/* ---- the plugin: the client on the core's connected socket ---- */

struct op;

/* One message on its way to the proxy; it may carry credentials. */
struct wreq {
	uv_write_t req;         /* first: the callback gets it */
	struct op *op;
	size_t len;
	uint8_t buf[SOCKS5_MSG_MAX];
};

/*
 * One dial.  It lives until the core is done with it (done called, or
 * cancel) and no write of ours is still in libuv's hands.
 */
struct op {
	socks5_client cl;
	uv_tcp_t *tcp;          /* NULL once over */
	void *tcp_data;         /* the core's tcp->data, given back at the end */
	stp_dial_done_fn done;
	void *arg;
	unsigned writes;        /* in flight */
	int over;
	uint8_t rbuf[SOCKS5_REPLY_MAX];
	char proxy[SOCKS5_NAME_MAX + 9];
	char peer[64];
};

static void
op_maybe_free(struct op *op)
{
	if (!op->over || op->writes > 0)
		return;
	stp_wipe(op, sizeof(*op));
	free(op);
}

/* Stop reading and give the socket back as we found it. */
static void
op_release(struct op *op)
{
	if (op->tcp != NULL) {
		uv_read_stop((uv_stream_t *)op->tcp);
		op->tcp->data = op->tcp_data;
		op->tcp = NULL;
	}
	op->over = 1;
	socks5_client_wipe(&op->cl);
}

static void
op_finish(struct op *op, int rc, const char *why)
{
	stp_dial_done_fn done = op->done;
	void *arg = op->arg;
	char reason[512];

	switch (rc) {
	case SOCKS5_DONE: stp_count("socks5", "connected", 1); break;
	case SOCKS5_EAUTH: stp_count("socks5", "auth_failed", 1); break;
	case SOCKS5_EREFUSED: stp_count("socks5", "refused", 1); break;
	case SOCKS5_EBAD: stp_count("socks5", "bad_reply", 1); break;
	default: stp_count("socks5", "io_error", 1); break;
	}
	if (rc == SOCKS5_DONE) {
		stp_log(STP_LOG_DEBUG, "socks5", NULL, "peer %s: proxy %s "
		    "connected us to %s", op->peer, op->proxy, op->cl.target);
		reason[0] = '\0';
	} else
		snprintf(reason, sizeof(reason), "proxy %s %s", op->proxy, why);
	op_release(op);
	op_maybe_free(op);
	done(arg, rc == SOCKS5_DONE ? 0 : -1, reason);
}

static void
on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct op *op = w->op;
	char why[160];

	stp_wipe(w, sizeof(*w));
	free(w);
	op->writes--;
	if (op->over) {
		op_maybe_free(op);
		return;
	}
	if (status < 0) {
		snprintf(why, sizeof(why), "could not be written to: %s",
		    uv_strerror(status));
		op_finish(op, SOCKS5_EINVAL, why);
	}
}

static int
op_send(struct op *op, const uint8_t *msg, size_t len)
{
	struct wreq *w;
	uv_buf_t b;
	int rc;

	if (len > sizeof(w->buf) || (w = malloc(sizeof(*w))) == NULL)
		return UV_ENOMEM;
	w->op = op;
	w->len = len;
	memcpy(w->buf, msg, len);
	b = uv_buf_init((char *)w->buf, (unsigned)len);
	rc = uv_write(&w->req, (uv_stream_t *)op->tcp, &b, 1, on_write);
	if (rc != 0) {
		stp_wipe(w, sizeof(*w));
		free(w);
		return rc;
	}
	op->writes++;
	return 0;
}

/* Exactly what the current reply still holds: never a byte of STP. */
static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct op *op = h->data;
	size_t want = socks5_client_want(&op->cl);

	(void)suggested;
	if (want > sizeof(op->rbuf))
		want = 0;
	*buf = uv_buf_init((char *)op->rbuf, (unsigned)want);
}

static const char *
stage(const socks5_client *c)
{
	switch (c->state) {
	case SOCKS5_S_METHOD: return "greeting";
	case SOCKS5_S_AUTH: return "username/password exchange";
	default: return "CONNECT";
	}
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct op *op = s->data;
	uint8_t out[SOCKS5_MSG_MAX];
	size_t out_len = sizeof(out);
	char why[384];
	int rc;

	(void)buf;
	if (nread == 0)
		return;
	if (nread == UV_EOF) {
		rc = socks5_client_eof(&op->cl, why, sizeof(why));
		op_finish(op, rc, why);
		return;
	}
	if (nread < 0) {
		snprintf(why, sizeof(why), "broke the connection during the %s: "
		    "%s", stage(&op->cl), uv_strerror((int)nread));
		op_finish(op, SOCKS5_EINVAL, why);
		return;
	}
	rc = socks5_client_input(&op->cl, op->rbuf, (size_t)nread, out,
	    &out_len, why, sizeof(why));
	stp_wipe(op->rbuf, (size_t)nread);
	if (rc == SOCKS5_MORE)
		return;
	if (rc == SOCKS5_SEND) {
		rc = op_send(op, out, out_len);
		stp_wipe(out, out_len);
		if (rc != 0) {
			snprintf(why, sizeof(why), "could not be written to: %s",
			    uv_strerror(rc));
			op_finish(op, SOCKS5_EINVAL, why);
		}
		return;
	}
	op_finish(op, rc, why);
}

static int
configure(stp_cfg *cx, const stp_node *node, void **cfg, int *enabled)
{
	static const char *const keys[] = { NULL };

	*cfg = NULL;
	*enabled = 1; /* it dials every peer with a socks5:// proxy */
	return stp_cfg_keys(cx, node, keys);
}

static int
open_(const void *cfg, int enabled, void **inst)
{
	(void)cfg;
	(void)enabled;
	*inst = NULL; /* no state: each dial carries its own */
	return 0;
}

static void
close_(void *inst)
{
	(void)inst;
}

static int
route(void *inst, const stp_peer_view *p, char *host, size_t host_len,
    uint16_t *port, char *why, size_t why_len)
{
	socks5_url u;
	char w[256];
	int rc = -1;

	(void)inst;
	if (p->proxy == NULL || strncmp(p->proxy, PFX, PFX_LEN) != 0)
		return 0;
	if (socks5_url_parse(p->proxy, &u, w, sizeof(w)) != 0) {
		snprintf(why, why_len, "peer %s: proxy: %s", p->name, w);
		goto out;
	}
	if (strlen(u.host) >= host_len) {
		snprintf(why, why_len, "peer %s: proxy host name too long",
		    p->name);
		goto out;
	}
	memcpy(host, u.host, strlen(u.host) + 1);
	*port = u.port;
	rc = 1;
out:
	stp_wipe(&u, sizeof(u));
	return rc;
}

static void *
start(void *inst, const stp_peer_view *p, uv_tcp_t *tcp, stp_dial_done_fn done,
    void *arg, char *why, size_t why_len)
{
	uint8_t out[SOCKS5_GREETING_MAX];
	size_t out_len = sizeof(out);
	struct op *op = NULL;
	socks5_url u;
	char w[256];
	int rc;

	(void)inst;
	memset(&u, 0, sizeof(u));
	if (socks5_url_parse(p->proxy, &u, w, sizeof(w)) != 0) {
		snprintf(why, why_len, "peer %s: proxy: %s", p->name, w);
		goto out;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL) {
		snprintf(why, why_len, "proxy %s: out of memory", u.hostport);
		goto out;
	}
	snprintf(op->proxy, sizeof(op->proxy), "%s", u.hostport);
	snprintf(op->peer, sizeof(op->peer), "%s", p->name);
	op->done = done;
	op->arg = arg;
	if (socks5_client_init(&op->cl, &u, p->host, p->port, out, &out_len, w,
	    sizeof(w)) != SOCKS5_SEND) {
		snprintf(why, why_len, "proxy %s: %s", op->proxy, w);
		goto out;
	}
	op->tcp = tcp;
	op->tcp_data = tcp->data;
	tcp->data = op;
	if ((rc = uv_read_start((uv_stream_t *)tcp, on_alloc, on_read)) != 0 ||
	    (rc = op_send(op, out, out_len)) != 0) {
		snprintf(why, why_len, "proxy %s: %s", op->proxy, uv_strerror(rc));
		goto out;
	}
	stp_wipe(&u, sizeof(u));
	return op;
out:
	if (op != NULL) {
		op_release(op);
		op_maybe_free(op); /* no write went out: freed now */
	}
	stp_wipe(&u, sizeof(u));
	return NULL;
}

static void
cancel(void *opp)
{
	struct op *op = opp;

	if (op == NULL || op->over)
		return;
	op_release(op);
	op_maybe_free(op);
}

static const stp_dialer_ops dialer = {
	.route = route,
	.start = start,
	.cancel = cancel,
};

const stp_plugin stp_plugin_socks5 = {
	.api_version = STP_PLUGIN_API_VERSION,
	.name = "socks5",
	.summary = "dial peers with proxy: socks5://[USER:PASS@]HOST:PORT "
	    "(RFC 1928/1929; names go unresolved, for Tor)",
	.configure = configure,
	.open = open_,
	.close = close_,
	.dialer = &dialer,
};

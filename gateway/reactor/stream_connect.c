/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream_connect.c: the accepter's side of an open (stream.h): connect to
 * the service's address (a name resolved each time; unix:PATH) or to a
 * dynamic destination, whose resolved addresses must each pass the peer's
 * destinations: before one is used; write the PROXY header the service
 * asks for; then StreamAccept, or StreamReset with why.
 */
#include "stream_int.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "destpolicy.h"
#include "identity.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"

static void
on_header_written(uv_write_t *req, int status)
{
	stream *st = req->data;

	free(req);
	if (status < 0 && status != UV_ECANCELED && st->state != ST_DEAD)
		st_fail(st, STP__V1__RESET_CODE__RESET_ABORTED,
		    "writing the PROXY header failed: %s", uv_strerror(status));
}

/*
 * The PROXY header (proxyhdr.h) goes first on the service's connection:
 * the app's addresses as the peer's open gave them, and in v2 the peer's
 * name and the key it proved.  Queued before anything else can be, so the
 * app's bytes follow it.  0, or the stream failed.
 */
static int
write_proxy_header(stream *st)
{
	char key[IDENTITY_PUBTEXT_LEN + 1];
	uv_write_t *req;
	uint8_t *hdr;
	uv_buf_t b;
	int n;

	if ((req = malloc(sizeof(*req) + PROXYHDR_V2_MAX)) == NULL) {
		st_fail(st, STP__V1__RESET_CODE__RESET_LIMIT, "out of memory");
		return -1;
	}
	hdr = (uint8_t *)(req + 1);
	if (st->proxy == PROXY_V1)
		n = proxyhdr_v1(&st->src, &st->dst, (char *)hdr, PROXYHDR_V2_MAX);
	else if (identity_pub_encode(session_peer_key(st->s), key) != 0)
		n = -1;
	else
		n = proxyhdr_v2(&st->src, &st->dst, st_peer_name(st), key, hdr,
		    PROXYHDR_V2_MAX);
	if (n < 0) {
		free(req);
		st_fail(st, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "cannot make the PROXY header");
		return -1;
	}
	req->data = st;
	b = uv_buf_init((char *)hdr, (unsigned)n);
	if ((n = uv_write(req, st->h, &b, 1, on_header_written)) != 0) {
		free(req);
		st_fail(st, STP__V1__RESET_CODE__RESET_ABORTED,
		    "writing the PROXY header failed: %s", uv_strerror(n));
		return -1;
	}
	return 0;
}

static void
on_target_connected(uv_connect_t *req, int status)
{
	stream *st = req->data;
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamAccept a = STP__V1__STREAM_ACCEPT__INIT;

	st->connecting = 0;
	if (st->state == ST_DEAD)
		return;
	if (status < 0) {
		stp_metrics.streams_refused[M_ST_CONNECT_FAILED]++;
		{ st_fail(st, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "connect to %s failed: %s", st->target,
		    uv_strerror(status)); return; }
	}
	st_nodelay(st->h);
	if (st->proxy != PROXY_OFF && write_proxy_header(st) != 0)
		return;
	a.stream_id = st->id;
	st_start_window(st);
	a.window = st->window;
	r.body_case = STP__V1__RECORD__BODY_ACCEPT;
	r.accept = &a;
	/* A session held for a resumption: the table says we accepted. */
	if (session_send(st->s, &r) != 0 && !session_held(st->s))
		{ stream_abort(st, 0, 0, "session gone"); return; }
	log_debug(st_peer_name(st), NULL, "stream %u to %s (%s) open (windows: "
	    "ours %u, the peer's %llu)", st->id, st->service, st->target,
	    st->window, (unsigned long long)st->send_credit);
	st_become_open(st);
}

static void
connect_to(stream *st, const struct sockaddr *sa)
{
	int rc;

	st->creq.data = st;
	if (sa->sa_family == AF_UNIX) {
		/* Its errors come to on_target_connected. */
		uv_pipe_connect(&st->creq, (uv_pipe_t *)st->h,
		    ((const struct sockaddr_un *)(const void *)sa)->sun_path,
		    on_target_connected);
		st->connecting = 1;
		return;
	}
	rc = uv_tcp_connect(&st->creq, (uv_tcp_t *)st->h, sa, on_target_connected);
	if (rc != 0) {
		stp_metrics.streams_refused[M_ST_CONNECT_FAILED]++;
		{ st_fail(st, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "connect to %s failed: %s", st->target,
		    uv_strerror(rc)); return; }
	}
	st->connecting = 1;
}

/* Does the peer's destinations: (in the config in force) allow sa? */
static int
dest_allowed(stream *st, const struct sockaddr *sa)
{
	const config *cfg = gateway_config(st->gw);
	long p = config_peer_by_name(cfg, st_peer_name(st));

	return p >= 0 && cfg->peers[p].destinations != NULL &&
	    destpolicy_allows_addr(cfg->peers[p].destinations, sa,
	    st->dest_port);
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	stream *st = req->data;

	st->resolving = 0;
	if (st->state == ST_DEAD) {
		uv_freeaddrinfo(res);
		st_release(st);
		return;
	}
	st->handles--;  /* the lookup's; the handles keep the stream */
	if (status < 0 || res == NULL) {
		uv_freeaddrinfo(res);
		stp_metrics.streams_refused[M_ST_CONNECT_FAILED]++;
		{ st_fail(st, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "cannot resolve %s: %s", st->host,
		    status < 0 ? uv_strerror(status) : "no address"); return; }
	}
	if (st->dynamic && !st->name_allowed) {
		/* Only an address the peer's rules allow, checked against
		 * the config in force now: DNS cannot steer us elsewhere. */
		const struct addrinfo *ai;

		for (ai = res; ai != NULL; ai = ai->ai_next)
			if (dest_allowed(st, ai->ai_addr))
				break;
		if (ai == NULL) {
			uv_freeaddrinfo(res);
			stp_metrics.streams_refused[M_ST_NOT_ALLOWED]++;
			st_fail(st, STP__V1__RESET_CODE__RESET_REFUSED,
			    "destination %s is not allowed for peer %s (nor "
			    "is any address it resolves to)", st->target,
			    st_peer_name(st));
			return;
		}
		connect_to(st, ai->ai_addr);
		uv_freeaddrinfo(res);
		return;
	}
	connect_to(st, res->ai_addr);
	uv_freeaddrinfo(res);
}

static void
connect_expired(uv_timer_t *t)
{
	stream *st = t->data;

	stp_metrics.streams_refused[M_ST_CONNECT_FAILED]++;
	st_fail(st, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
	    "connect to %s timed out", st->target);
}

stream *
stream_new_remote(struct session *s, const stream_req *q)
{
	gateway *gw = session_gateway(s);
	const cfg_addr *to = q->to;
	const char *host = to != NULL ? to->host : q->host;
	uint16_t port = to != NULL ? to->port : q->port;
	int is_unix = to != NULL && to->is_unix;
	union app_handle *h;
	struct addrinfo hints;
	struct sockaddr_storage ss;
	char portstr[8];
	stream *st;
	int rc;

	if (gateway_app_conn_add(gw) != 0)
		return NULL;
	if ((st = st_alloc(s, 0, q->service)) == NULL) {
		gateway_app_conn_del(gw);
		return NULL;
	}
	st->id = q->id;
	st->send_credit = q->window;
	st->proxy = q->proxy_protocol;
	st->src = q->src;
	st->dst = q->dst;
	st->dynamic = to == NULL;
	st->name_allowed = q->name_allowed;
	st->dest_port = port;
	snprintf(st->host, sizeof(st->host), "%s", host);
	if (to != NULL)
		config_addr_text(st->target, sizeof(st->target), to);
	else
		config_hostport_text(st->target, sizeof(st->target), host, port);
	st->state = ST_CONNECTING;
	if (st->dynamic)
		snprintf(st->service, sizeof(st->service), "%s", st->target);
	if ((h = malloc(sizeof(*h))) == NULL || (is_unix ?
	    uv_pipe_init(gateway_loop(gw), &h->pipe, 0) :
	    uv_tcp_init(gateway_loop(gw), &h->tcp)) != 0) {
		free(h);
		uv_close((uv_handle_t *)&st->timer, st_on_closed);
		return NULL;
	}
	st->h = (uv_stream_t *)h;
	st->h->data = st;
	st->handles++;
	session_add_stream(s, st);
	uv_timer_start(&st->timer, connect_expired,
	    gateway_config(gw)->timeouts.connect_ms, 0);
	if (is_unix) {
		connect_to(st, (const struct sockaddr *)&to->ss);
		return st;
	}
	/* An IP literal connects at once; a name is resolved now, every time. */
	if (gateway_ip_literal(host, port, &ss)) {
		connect_to(st, (struct sockaddr *)&ss);
		return st;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	st->gai.data = st;
	rc = uv_getaddrinfo(gateway_loop(gw), &st->gai, on_resolved, host, portstr,
	    &hints);
	if (rc != 0) {
		/* Reset (with this reason) and on its way out: not a refusal. */
		st_fail(st, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "cannot resolve %s: %s", host, uv_strerror(rc));
		return st;
	}
	st->resolving = 1;
	st->handles++;  /* released in on_resolved */
	return st;
}

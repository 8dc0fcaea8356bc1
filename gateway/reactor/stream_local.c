/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream_local.c: a local stream's start (stream.h): an app accepted on a
 * forward waits for the session (bounded by timeouts.connect), then sends
 * its StreamOpen, with the app's addresses when the peer takes them
 * (PROXY headers) and a dynamic forward's destination; the peer's answer
 * is stream.c's.
 */
#include "stream_int.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "handshake.h"
#include "log.h"
#include "metrics.h"

static void
open_expired(uv_timer_t *t)
{
	stream *st = t->data;
	uint64_t ms = gateway_config(st->gw)->timeouts.connect_ms;

	stp_metrics.streams_refused[st->state == ST_WAIT_SESSION ? M_ST_NO_SESSION :
	    M_ST_CONNECT_FAILED]++;
	log_info(st_peer_name(st), NULL, "stream to %s closed: %s within %llu ms",
	    st->service, st->state == ST_SOCKS ? "the app named no destination" :
	    st->state == ST_WAIT_SESSION ? "no session to the peer" :
	    "the peer did not answer", (unsigned long long)ms);
	if (st->state != ST_SOCKS)
		st->socks_rep = SOCKS5SRV_REP_HOSTUNREACH;
	stream_abort(st, st->state == ST_OPENING, STP__V1__RESET_CODE__RESET_TIMEOUT,
	    "open timed out");
}

/* An address as a StreamOpen carries it: 4 or 16 bytes, or none. */
static void
open_addr(const proxyhdr_addr *a, ProtobufCBinaryData *ip, uint32_t *port)
{
	if (a->family != AF_INET && a->family != AF_INET6)
		return;
	ip->data = (uint8_t *)a->ip;
	ip->len = a->family == AF_INET ? 4 : 16;
	*port = a->port;
}

int
st_send_open(stream *st)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamOpen o = STP__V1__STREAM_OPEN__INIT;
	uint32_t features = session_features(st->s);

	o.stream_id = st->id;
	o.service = st->socks ? (char *)"" : st->service;
	o.window = st->window;
	if (features & HS_FEATURE_STREAM_ADDRESSES) {
		open_addr(&st->src, &o.source_ip, &o.source_port);
		open_addr(&st->dst, &o.destination_ip, &o.destination_port);
	}
	if (st->socks) {
		o.target_host = st->dest;
		o.target_port = st->dest_port;
	}
	r.body_case = STP__V1__RECORD__BODY_OPEN;
	r.open = &o;
	return session_send(st->s, &r) == 0 ? 0 : -1;
}

void
stream_session_up(stream *st)
{
	if (st->state != ST_WAIT_SESSION)
		return;
	if (st->socks && !(session_features(st->s) & HS_FEATURE_DYNAMIC_OPEN)) {
		stp_metrics.streams_refused[M_ST_PEER_REFUSED]++;
		log_info(st_peer_name(st), NULL, "stream to %s refused: the peer's "
		    "gateway does not take dynamic opens (an older version)",
		    st->service);
		st->socks_rep = SOCKS5SRV_REP_NOTALLOWED;
		stream_abort(st, 0, 0, "no dynamic opens");
		return;
	}
	if ((st->id = session_next_id(st->s)) == 0)
		{ stream_abort(st, 0, 0, "stream ids exhausted"); return; }
	session_add_stream(st->s, st);
	st_start_window(st);
	if (st_send_open(st) != 0) {
		stream_abort(st, 0, 0, "session refused the open");
		return;
	}
	st->state = ST_OPENING;
}

/* A socket address as a PROXY header takes it; an IPv4-mapped IPv6
 * address (an IPv4 app on a [::] listener) as the IPv4 address it is. */
static void
pp_addr(const struct sockaddr_storage *ss, proxyhdr_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_UNSPEC;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		a->family = AF_INET;
		memcpy(a->ip, &sin->sin_addr, 4);
		a->port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			a->family = AF_INET;
			memcpy(a->ip, sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			a->family = AF_INET6;
			memcpy(a->ip, &sin6->sin6_addr, 16);
		}
		a->port = ntohs(sin6->sin6_port);
	}
}

/* No Nagle delay on a TCP socket: the app's writes are the records' sizes. */
void
st_nodelay(uv_stream_t *h)
{
	if (h->type == UV_TCP)
		uv_tcp_nodelay((uv_tcp_t *)h, 1);
}

stream *
stream_new_local(struct session *s, uv_stream_t *app, const char *service,
    int socks)
{
	stream *st = st_alloc(s, 1, socks ? "socks" : service);
	struct sockaddr_storage ss;
	int len;

	if (st == NULL) {
		uv_close((uv_handle_t *)app, (uv_close_cb)free);
		gateway_app_conn_del(session_gateway(s));
		return NULL;
	}
	st->h = app;
	app->data = st;
	st->handles++;
	st_nodelay(app);
	/* The app's connection as we see it, for the peer (PROXY headers). */
	if (app->type == UV_TCP) {
		memset(&ss, 0, sizeof(ss));
		len = sizeof(ss);
		if (uv_tcp_getpeername((uv_tcp_t *)app, (struct sockaddr *)&ss,
		    &len) == 0)
			pp_addr(&ss, &st->src);
		memset(&ss, 0, sizeof(ss));
		len = sizeof(ss);
		if (uv_tcp_getsockname((uv_tcp_t *)app, (struct sockaddr *)&ss,
		    &len) == 0)
			pp_addr(&ss, &st->dst);
	}
	st->state = ST_WAIT_SESSION;
	/* Bounded wait for the session and then for the peer's answer. */
	uv_timer_start(&st->timer, open_expired,
	    gateway_config(st->gw)->timeouts.connect_ms, 0);
	if (socks) {
		st->socks = 1;
		st->state = ST_SOCKS;
		if (st_socks_start(st) != 0) {
			stream_abort(st, 0, 0, "out of memory");
			return NULL;
		}
		return st;
	}
	if (session_up(s))
		stream_session_up(st);
	else
		session_kick(s);
	return st;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session_dial.c: how a session reaches its peer (session_int.h): the name
 * resolved again on every attempt, a direct TCP connect or a dialer
 * plugin's route (a SOCKS5 proxy, Tor), the connect timeout, and retries
 * with exponential backoff and jitter between reconnect_min and
 * reconnect_max.  A connected socket becomes a conn whose handshake the
 * session then waits for.
 */
#include "session_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "err.h"
#include "gateway.h"
#include "log.h"
#include "metrics.h"

/* ---- dialing ---- */

static void
on_connecting_closed(uv_handle_t *h)
{
	session *s = h->data;

	free(h);
	s->handles--;
	sess_maybe_done(s);
}

/*
 * The dial is over: cancel the dialer plugin's operation if it still runs,
 * and drop the plugin set held for it.
 */
static void
dial_release(session *s)
{
	if (s->dop != NULL) {
		void *op = s->dop;

		s->dop = NULL;
		s->dops->cancel(op);
	}
	s->dops = NULL;
	s->dinst = NULL;
	if (s->dplug != NULL) {
		plugins_unref(s->dplug);
		s->dplug = NULL;
	}
}

/* What TCP connects to, for messages: the peer, or the proxy for it. */
static void
dial_target(const session *s, char *buf, size_t len)
{
	const cfg_addr *a = &s->peer->dial;

	if (s->dops != NULL)
		snprintf(buf, len, strchr(s->dhost, ':') ? "proxy [%s]:%u (for %s:%u)" :
		    "proxy %s:%u (for %s:%u)", s->dhost, s->dport, a->host, a->port);
	else
		snprintf(buf, len, "%s:%u", a->host, a->port);
}

/*
 * Drop a TCP connect (or a dialer's negotiation) in progress; the session
 * lives until its handle closed.
 */
void
sess_abandon_connect(session *s)
{
	uv_tcp_t *t = s->connecting;

	dial_release(s);
	if (t == NULL)
		return;
	s->connecting = NULL;
	t->data = s;
	s->handles++;
	uv_close((uv_handle_t *)t, on_connecting_closed);
}

static void
retry_fired(uv_timer_t *t)
{
	session *s = t->data;

	if (s->state == SESS_BACKOFF)
		sess_dial(s);
	else if (s->state == SESS_CONNECTING && s->connecting != NULL) {
		/* TCP connect (and a proxy's negotiation) took longer than timeouts.connect. */
		char to[CFG_HOST_MAX * 2 + 48], why[sizeof(to) + 96];

		dial_target(s, to, sizeof(to));
		snprintf(why, sizeof(why), "%s %s timed out (timeouts.connect)",
		    s->dop != NULL ? "negotiation with" : "connect to", to);
		sess_abandon_connect(s);
		sess_schedule_retry(s, why);
	}
}

void
sess_schedule_retry(session *s, const char *why)
{
	const config *cfg = gateway_config(s->gw);
	uint64_t d = cfg->timeouts.reconnect_min_ms, max = cfg->timeouts.reconnect_max_ms;
	unsigned i;

	if (s->shutting_down || gateway_draining(s->gw) || !s->peer->has_dial) {
		s->state = SESS_IDLE;
		return;
	}
	for (i = 0; i < s->attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	/* +-25% jitter, so two gateways that lost each other do not re-collide. */
	d = d * 3 / 4 + rand_uniform((uint32_t)(d / 2 + 1));
	s->attempts++;
	s->state = SESS_BACKOFF;
	s->next_retry_ms = gateway_now(s->gw) + d;
	sess_set_error(s, why);
	log_limited(LOG_INFO, "dial retry", s->name, "cannot reach peer (%s); retry %u in %llu ms",
	    why, s->attempts, (unsigned long long)d);
	uv_timer_stop(&s->retry);
	uv_timer_start(&s->retry, retry_fired, d, 0);
}

/* TCP is up and, through a dialer, the peer reached: STP's handshake starts. */
static void
handover(session *s, uv_tcp_t *tcp)
{
	conn *c;

	s->connecting = NULL;
	c = conn_new(s->gw, tcp, 1, sess_dial_key(s), &sess_ops, s);
	if (c == NULL) {
		sess_schedule_retry(s, "out of memory");
		return;
	}
	s->dialed = c;
	s->state = s->c ? SESS_UP : SESS_HANDSHAKE;
	conn_start(c);
}

/* The dialer plugin's stp_dial_done_fn. */
static void
on_dialed(void *arg, int status, const char *reason)
{
	session *s = arg;
	char why[384];

	s->dop = NULL; /* over: not to be cancelled */
	if (status == 0 && !s->shutting_down && s->connecting != NULL) {
		uv_timer_stop(&s->retry);
		dial_release(s);
		handover(s, s->connecting);
		return;
	}
	snprintf(why, sizeof(why), "%s", reason != NULL && reason[0] ?
	    reason : "the dialer plugin failed");
	sess_abandon_connect(s);
	if (s->shutting_down)
		return;
	stp_metrics.handshakes_failed[M_HS_IO]++;
	sess_schedule_retry(s, why);
}

static void
on_tcp_connected(uv_connect_t *req, int status)
{
	session *s = req->data;
	uv_tcp_t *tcp = (uv_tcp_t *)req->handle;

	if (tcp != s->connecting) {
		/* Abandoned (timed out or shutting down); handle already closing. */
		return;
	}
	if (status < 0) {
		char to[CFG_HOST_MAX * 2 + 48], why[sizeof(to) + 96];

		uv_timer_stop(&s->retry);
		dial_target(s, to, sizeof(to));
		sess_abandon_connect(s);
		snprintf(why, sizeof(why), "connect to %s: %s", to,
		    uv_strerror(status));
		if (s->shutting_down)
			{ sess_maybe_done(s); return; }
		stp_metrics.handshakes_failed[M_HS_IO]++;
		sess_schedule_retry(s, why);
		return;
	}
	if (s->shutting_down) {
		uv_timer_stop(&s->retry);
		sess_abandon_connect(s);
		return;
	}
	if (s->dops != NULL) {
		/* The plugin reaches the peer; timeouts.connect keeps running. */
		const cfg_peer *p = s->peer;
		stp_peer_view v;
		char why[384];

		v.name = p->name;
		v.key = sess_dial_key(s);
		v.host = p->dial.host;
		v.port = p->dial.port;
		v.proxy = p->has_proxy ? p->proxy : "";
		why[0] = '\0';
		s->dop = s->dops->start(s->dinst, &v, tcp, on_dialed, s, why,
		    sizeof(why));
		if (s->dop == NULL) {
			uv_timer_stop(&s->retry);
			sess_abandon_connect(s);
			stp_metrics.handshakes_failed[M_HS_IO]++;
			sess_schedule_retry(s, why[0] ? why : "the dialer plugin failed");
		}
		return;
	}
	uv_timer_stop(&s->retry);
	handover(s, tcp);
}

static void
connect_addr(session *s, const struct sockaddr *sa)
{
	const config *cfg = gateway_config(s->gw);
	int rc;

	if ((s->connecting = malloc(sizeof(*s->connecting))) == NULL) {
		dial_release(s);
		sess_schedule_retry(s, "out of memory");
		return;
	}
	uv_tcp_init(gateway_loop(s->gw), s->connecting);
	s->connecting->data = s;
	s->creq.data = s;
	rc = uv_tcp_connect(&s->creq, s->connecting, sa, on_tcp_connected);
	if (rc != 0) {
		char to[CFG_HOST_MAX * 2 + 48], why[sizeof(to) + 96];

		dial_target(s, to, sizeof(to));
		sess_abandon_connect(s);
		snprintf(why, sizeof(why), "connect to %s: %s", to, uv_strerror(rc));
		{ sess_schedule_retry(s, why); return; }
	}
	uv_timer_stop(&s->retry);
	uv_timer_start(&s->retry, retry_fired, cfg->timeouts.connect_ms, 0);
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	session *s = req->data;

	s->resolving = 0;
	if (s->shutting_down) {
		uv_freeaddrinfo(res);
		dial_release(s);
		{ sess_maybe_done(s); return; }
	}
	if (status < 0 || res == NULL) {
		char why[384];

		snprintf(why, sizeof(why), "cannot resolve %s%s: %s",
		    s->dops != NULL ? "proxy host " : "", s->dops != NULL ?
		    s->dhost : s->peer->dial.host,
		    status < 0 ? uv_strerror(status) : "no address");
		uv_freeaddrinfo(res);
		dial_release(s);
		{ sess_schedule_retry(s, why); return; }
	}
	connect_addr(s, res->ai_addr);
	uv_freeaddrinfo(res);
}

/*
 * One attempt: names are resolved again every time (the address may move).
 * A dialer plugin (plugins_dialer) may route it: TCP then goes to the
 * plugin's endpoint (a proxy), and the plugin reaches the peer from there.
 */
void
sess_dial(session *s)
{
	const cfg_addr *a = &s->peer->dial;
	plugins *ps = gateway_plugins(s->gw);
	const stp_dialer_ops *ops = NULL;
	void *inst = NULL;
	struct addrinfo hints;
	struct sockaddr_storage ss;
	const char *host = a->host;
	char port[8], why[384], rhost[CFG_HOST_MAX];
	uint16_t rport = 0;
	int rc;

	if (s->shutting_down || !s->peer->has_dial || s->c != NULL ||
	    s->dialed != NULL || s->connecting != NULL || s->resolving)
		return;
	s->state = SESS_CONNECTING;
	why[0] = '\0';
	rc = plugins_dialer(ps, s->peer, &ops, &inst, rhost, sizeof(rhost),
	    &rport, why, sizeof(why));
	if (rc < 0)
		{ sess_schedule_retry(s, why[0] ? why : "the dialer plugin refused"); return; }
	if (rc > 0) {
		s->dplug = plugins_ref(ps);
		s->dops = ops;
		s->dinst = inst;
		snprintf(s->dhost, sizeof(s->dhost), "%s", rhost);
		s->dport = rport;
		host = s->dhost;
		if (gateway_ip_literal(host, rport, &ss)) {
			connect_addr(s, (const struct sockaddr *)&ss);
			return;
		}
	} else if (a->is_ip) {
		connect_addr(s, (const struct sockaddr *)&a->ss);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", s->dops != NULL ? rport : a->port);
	s->gai.data = s;
	rc = uv_getaddrinfo(gateway_loop(s->gw), &s->gai, on_resolved, host, port,
	    &hints);
	if (rc != 0) {
		snprintf(why, sizeof(why), "cannot resolve %s%s: %s",
		    s->dops != NULL ? "proxy host " : "", host, uv_strerror(rc));
		dial_release(s);
		{ sess_schedule_retry(s, why); return; }
	}
	s->resolving = 1;
}

void
session_kick(session *s)
{
	/* A waiting app is a reason not to sit out a long backoff. */
	if (s->state == SESS_BACKOFF && s->attempts > 1) {
		s->attempts = 1;
		uv_timer_stop(&s->retry);
		sess_dial(s);
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway.c: the process: config, listeners, sessions, handshakes in
 * progress, the worker pool, signals and drain.  See gateway.h.  Applying
 * a reload is gateway_reload.c; the listening sockets and their accept
 * loop are listener.c; the open-files limit and budget are fdbudget.c.
 *
 * Inbound STP connections are owned here until their handshake completes;
 * then the session of the authenticated peer takes them.  Before a handshake
 * may start, the source passes a per-address token bucket and the global cap
 * on handshakes in progress: a flood of connections costs one accept and a
 * close each, and never touches established sessions' work.
 *
 * Under systemd (notify.h) the service manager hears READY=1 once every
 * listener and the control socket are up, RELOADING=1 and READY=1 around
 * every reload with STATUS= saying how it went, and STOPPING=1 at drain.
 */
#include "gateway.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "crypto/aead.h"
#include "control.h"
#include "guard.h"
#include "err.h"
#include "fdbudget.h"
#include "gateway_int.h"
#include "identity.h"
#include "flow.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "notify.h"
#include "session.h"
#include "workers.h"

#define RATE_SLOTS 4096   /* source addresses remembered by the rate limiter */
#define RATE_PROBE 8

struct pending {
	conn *c;
	struct pending *next;
};

struct rate_slot {
	uint8_t addr[16];
	uint8_t used;
	double tokens;
	uint64_t last_ms;
};

static const conn_owner_ops inbound_ops;
static void stop_now(gateway *gw);

uv_loop_t *
gateway_loop(gateway *gw)
{
	return &gw->loop;
}

const config *
gateway_config(const gateway *gw)
{
	return gw->cfg;
}

plugins *
gateway_plugins(gateway *gw)
{
	return gw->plug;
}

static uint64_t
loop_now(void *arg)
{
	return uv_now(arg);
}

struct workers *
gateway_workers(gateway *gw)
{
	return gw->pool;
}

struct aead_ctx *
gateway_actx(gateway *gw)
{
	return gw->actx;
}

guard *
gateway_guard(gateway *gw)
{
	return gw->guard;
}

/*
 * The end of a turn: what conns were given to send during this turn goes
 * out now, jobs in one batch, frames in one write per conn.  From the check
 * phase (right after the I/O callbacks that made it), and from the prepare
 * phase for anything made after that (timers, closes), before the loop
 * waits again.
 */
static void
turn_check(uv_check_t *h)
{
	conn_turn_end(h->data);
}

static void
turn_prepare(uv_prepare_t *h)
{
	gateway *gw = h->data;

	conn_turn_end(gw);
	gw->polls++;    /* the poll comes next */
}

uint64_t
gateway_polls(const gateway *gw)
{
	return gw->polls;
}

int
gateway_draining(const gateway *gw)
{
	return gw->draining;
}

int
gateway_ip_literal(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	return uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0 ||
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0;
}

uint64_t
gateway_now(gateway *gw)
{
	return uv_now(&gw->loop);
}

int
gateway_app_conn_add(gateway *gw)
{
	if (gw->n_app >= gw->max_conns) {
		stp_metrics.limits_hit++;
		if (gw->max_conns < gw->cfg->limits.max_connections)
			log_limited(LOG_WARN, "connection limit", NULL,
			    "connection refused: %u connections open, the limit (limits.max_connections, "
			    "lowered from %u to fit the open-files limit %llu)", gw->n_app,
			    gw->cfg->limits.max_connections, (unsigned long long)gw->nofile);
		else
			log_limited(LOG_WARN, "connection limit", NULL,
			    "connection refused: %u connections open, the limit (limits.max_connections)",
			    gw->n_app);
		return STP_ETOOBIG;
	}
	gw->n_app++;
	return 0;
}

void
gateway_app_conn_del(gateway *gw)
{
	if (gw->n_app > 0)
		gw->n_app--;
}

void
gateway_conn_count(gateway *gw, int delta)
{
	gw->n_conns += delta;
	if (gw->stopping && gw->n_conns == 0 && gw->n_sessions_closing == 0)
		stop_now(gw);
}

session *
gateway_session(gateway *gw, size_t i)
{
	return gw->sessions[i];
}

session *
gateway_session_for(gateway *gw, const uint8_t key[32])
{
	long p = config_peer_by_key(gw->cfg, key);

	return p < 0 ? NULL : gw->sessions[p];
}

void
gateway_foreach_session(gateway *gw, void (*cb)(void *arg, const session_info *i),
    void *arg)
{
	session_info info;
	size_t i;

	for (i = 0; i < gw->n_sessions; i++) {
		if (gw->sessions[i] == NULL)
			continue;
		session_get_info(gw->sessions[i], &info);
		cb(arg, &info);
	}
}

/* ---- inbound handshakes ---- */

static void
pending_del(gateway *gw, conn *c)
{
	struct pending **pp;

	for (pp = &gw->pending; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->c == c) {
			struct pending *p = *pp;

			*pp = p->next;
			free(p);
			gw->n_pending--;
			stp_metrics.handshakes_pending = gw->n_pending;
			return;
		}
	}
}

static unsigned
sessions_up(const gateway *gw)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < gw->n_sessions; i++)
		if (gw->sessions[i] != NULL && session_up(gw->sessions[i]))
			n++;
	return n;
}

static void
inbound_established(void *owner, conn *c)
{
	gateway *gw = owner;
	endpoint *e = conn_endpoint(c);
	session *s = gateway_session_for(gw, endpoint_peer(e));

	pending_del(gw, c);
	if (s == NULL) { /* the lookup passed, so only a reload can get here */
		conn_close(c, 1, STP__V1__CLOSE_CODE__CLOSE_SHUTDOWN,
		    "peer removed from the config");
		return;
	}
	if (!session_up(s) && sessions_up(gw) >= gw->cfg->limits.max_sessions) {
		stp_metrics.limits_hit++;
		log_limited(LOG_WARN, "session limit", NULL,
		    "session with %s refused: %u sessions up, the limit (limits.max_sessions)",
		    conn_peer_addr(c), gw->cfg->limits.max_sessions);
		conn_close(c, 1, STP__V1__CLOSE_CODE__CLOSE_LIMIT, "too many sessions");
		return;
	}
	stp_metrics.handshakes_ok++;
	session_attach(s, c);
}

static int
hs_reason_metric(int err)
{
	switch (err) {
	case STP_EMAC1: return M_HS_MAC1;
	case STP_EPEER: return M_HS_UNKNOWN_PEER;
	case STP_EREJECTED: return M_HS_ADMISSION;
	case STP_EIO: return M_HS_IO;
	case STP_EAUTH: case STP_EVERIFY: return M_HS_AUTH;
	default: return M_HS_PROTOCOL;
	}
}

static void
inbound_closed(void *owner, conn *c, int err, const char *reason)
{
	gateway *gw = owner;
	endpoint *e = conn_endpoint(c);
	int r = hs_reason_metric(err);

	pending_del(gw, c);
	if (err == STP_EPROTO && strstr(reason, "timed out") != NULL)
		r = M_HS_TIMEOUT;
	/* Silence for a HELLO that is stale or replayed, counted apart. */
	if (err == STP_EMAC1 && strstr(reason, "HELLO is stale") != NULL)
		r = M_HS_STALE;
	if (err == STP_EMAC1 && strstr(reason, "HELLO replayed") != NULL)
		r = M_HS_REPLAY;
	stp_metrics.handshakes_failed[r]++;
	if (err == STP_EPEER && e != NULL && endpoint_peer(e) != NULL) {
		/* Someone holding a real key we do not know: name it, so an
		 * operator can add it after checking the fingerprint. */
		char text[IDENTITY_PUBTEXT_LEN + 1], fp[IDENTITY_FP_MAX];

		identity_pub_encode(endpoint_peer(e), text);
		identity_fingerprint(endpoint_peer(e), fp, sizeof(fp));
		log_limited(LOG_WARN, "unknown peer", NULL,
		    "handshake failed from %s: key not in the peer map: %s (fingerprint %s)",
		    conn_peer_addr(c), text, fp);
		return;
	}
	log_limited(err == STP_EMAC1 ? LOG_INFO : LOG_WARN,
	    err == STP_EMAC1 ? "probe" : "handshake failed", NULL,
	    "handshake failed from %s: %s", conn_peer_addr(c), reason);
}

static const conn_owner_ops inbound_ops = {
	.established = inbound_established,
	.closed = inbound_closed,
};

/* Token bucket per source address: handshakes_per_source a second, that burst. */
static int
rate_ok(gateway *gw, const struct sockaddr_storage *ss)
{
	uint8_t key[16] = { 0 };
	double rate = gw->cfg->limits.handshakes_per_source;
	uint64_t now = gateway_now(gw);
	struct rate_slot *victim = NULL, *sl;
	uint32_t h = 2166136261u;
	size_t i;

	if (ss->ss_family == AF_INET)
		memcpy(key, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(key, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	for (i = 0; i < RATE_PROBE; i++) {
		sl = &gw->rate[(h + i) % RATE_SLOTS];
		if (sl->used && memcmp(sl->addr, key, 16) == 0) {
			sl->tokens += (double)(now - sl->last_ms) * rate / 1000.0;
			if (sl->tokens > rate)
				sl->tokens = rate;
			sl->last_ms = now;
			if (sl->tokens < 1.0)
				return 0;
			sl->tokens -= 1.0;
			return 1;
		}
		if (victim == NULL || !sl->used ||
		    (victim->used && sl->last_ms < victim->last_ms))
			victim = sl;
	}
	/* New source: take a free slot or the stalest of the probe window. */
	memcpy(victim->addr, key, 16);
	victim->used = 1;
	victim->tokens = rate - 1.0;
	victim->last_ms = now;
	return 1;
}

/* A connection the peer listener accepted. */
static void
on_peer_connection(void *arg, uv_stream_t *h)
{
	uv_tcp_t *tcp = (uv_tcp_t *)h;  /* the peer listener is never unix: */
	gateway *gw = arg;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	struct pending *p;
	conn *c;

	memset(&ss, 0, sizeof(ss));
	uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len);
	if (gw->draining || gw->n_pending >= gw->max_hs || !rate_ok(gw, &ss)) {
		stp_metrics.handshakes_failed[M_HS_RATE]++;
		/* One rate-limit key per reason, so one flood cannot hide the other. */
		if (gw->draining)
			log_limited(LOG_WARN, "handshake drain", NULL,
			    "peer connection dropped: shutting down");
		else if (gw->n_pending >= gw->max_hs && gw->max_hs < gw->cfg->limits.max_handshakes)
			log_limited(LOG_WARN, "handshake global", NULL,
			    "peer connection dropped: too many handshakes in progress (limits.max_handshakes, "
			    "lowered from %u to %u to fit the open-files limit %llu)",
			    gw->cfg->limits.max_handshakes, gw->max_hs,
			    (unsigned long long)gw->nofile);
		else if (gw->n_pending >= gw->max_hs)
			log_limited(LOG_WARN, "handshake global", NULL,
			    "peer connection dropped: too many handshakes in progress (limits.max_handshakes)");
		else
			log_limited(LOG_WARN, "handshake source", NULL,
			    "peer connection dropped: too many handshakes from one address (limits.handshakes_per_source)");
		uv_close((uv_handle_t *)tcp, (uv_close_cb)free);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		uv_close((uv_handle_t *)tcp, (uv_close_cb)free);
		return;
	}
	if ((c = conn_new(gw, tcp, 0, NULL, &inbound_ops, gw)) == NULL) {
		free(p);
		return;
	}
	p->c = c;
	p->next = gw->pending;
	gw->pending = p;
	gw->n_pending++;
	stp_metrics.handshakes_pending = gw->n_pending;
	conn_start(c);
}

/* ---- forwards ---- */

/* A connection a forward listener accepted. */
static void
on_app_connection(void *arg, uv_stream_t *app)
{
	struct fwd *f = arg;
	gateway *gw = f->gw;
	long p;

	p = config_peer_by_name(gw->cfg, f->peer);
	if (gw->draining || p < 0 || gateway_app_conn_add(gw) != 0) {
		uv_close((uv_handle_t *)app, (uv_close_cb)free);
		return;
	}
	session_accept_app(gw->sessions[p], app, f->service, f->socks);
}

int
gw_fwd_open(gateway *gw, size_t i, char *err, size_t errlen)
{
	const cfg_forward *fc = &gw->cfg->forwards[i];
	struct fwd *f = calloc(1, sizeof(*f));
	int rc;

	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		return STP_ENOMEM;
	}
	f->gw = gw;
	f->idx = i;
	snprintf(f->peer, sizeof(f->peer), "%s", gw->cfg->peers[fc->peer].name);
	snprintf(f->service, sizeof(f->service), "%s", fc->service);
	f->listen = fc->listen;
	f->allow_remote = fc->allow_remote;
	f->socks = fc->socks;
	f->ux.mode = fc->mode;
	f->ux.uid = fc->uid;
	f->ux.gid = fc->gid;
	if (fc->listen.is_udp) {
		if ((rc = udpfwd_open(gw, fc, f->peer, &f->uf, err, errlen)) != 0) {
			free(f);
			return rc;
		}
		log_info(f->peer, NULL, "listening on %s for %s/%s (datagrams)%s",
		    udpfwd_addr(f->uf), f->peer, f->service, fc->allow_remote ?
		    " (non-loopback: allow_remote is set)" : "");
		f->next = gw->fwds;
		gw->fwds = f;
		return 0;
	}
	if ((rc = listener_open(gw->ls, M_ACC_FORWARD, &fc->listen, &f->ux,
	    on_app_connection, f, &f->l, err, errlen)) != 0) {
		free(f);
		return rc;
	}
	if (fc->socks)
		log_info(f->peer, NULL, "listening on %s (SOCKS5) for dynamic "
		    "forwards through %s%s", listener_addr(f->l), f->peer,
		    fc->allow_remote ? " (non-loopback: allow_remote is set)" : "");
	else if (fc->listen.is_unix)
		log_info(f->peer, NULL, "listening on %s (mode %04o) for %s/%s",
		    listener_addr(f->l), fc->mode, f->peer, f->service);
	else
		log_info(f->peer, NULL, "listening on %s for %s/%s%s",
		    listener_addr(f->l), f->peer, f->service, fc->allow_remote ?
		    " (non-loopback: allow_remote is set)" : "");
	f->next = gw->fwds;
	gw->fwds = f;
	return 0;
}

void
gw_fwd_close(struct fwd *f)
{
	if (f->uf != NULL)
		udpfwd_close(f->uf);
	else
		listener_close(f->l);
	free(f);
}

const char *
gw_fwd_addr(const struct fwd *f)
{
	return f->uf != NULL ? udpfwd_addr(f->uf) : listener_addr(f->l);
}

/* Close every forward listener (drain and stop: no new app connections). */
static void
close_forwards(gateway *gw)
{
	struct fwd *f;

	while ((f = gw->fwds) != NULL) {
		gw->fwds = f->next;
		gw_fwd_close(f);
	}
}

int
gw_plisten_open(gateway *gw, char *err, size_t errlen)
{
	int rc;

	if (!gw->cfg->has_listen)
		return 0;
	if ((rc = listener_open(gw->ls, M_ACC_PEER, &gw->cfg->listen, NULL,
	    on_peer_connection, gw, &gw->plisten, err, errlen)) != 0) {
		gw->plisten = NULL;
		return rc;
	}
	log_info(NULL, NULL, "listening for peers on %s", listener_addr(gw->plisten));
	return 0;
}

void
gw_plisten_close(gateway *gw)
{
	if (gw->plisten != NULL) {
		listener_close(gw->plisten);
		gw->plisten = NULL;
	}
}

/* ---- control socket and metrics endpoint ---- */

/* (Re)open the control socket unless it is open on old's path, the same. */
int
gw_control_reopen(gateway *gw, const config *old, char *err, size_t errlen)
{
	if (old != NULL && strcmp(old->control, gw->cfg->control) == 0 &&
	    (gw->ctl != NULL || gw->cfg->control[0] == '\0'))
		return 0;
	if (gw->ctl != NULL) {
		control_close(gw->ctl);
		gw->ctl = NULL;
	}
	if (gw->cfg->control[0] == '\0')
		return 0;
	return control_open(gw, gw->cfg->control, gw->cfg->control_default,
	    &gw->ctl, err, errlen);
}

/* (Re)open the metrics endpoint unless it is open on old's address, the same. */
int
gw_metrics_reopen(gateway *gw, const config *old, char *err, size_t errlen)
{
	const config *nc = gw->cfg;

	if (old != NULL && old->has_metrics == nc->has_metrics && (!nc->has_metrics ||
	    (gw->mh != NULL && strcmp(old->metrics.host, nc->metrics.host) == 0 &&
	    old->metrics.port == nc->metrics.port)))
		return 0;
	if (gw->mh != NULL) {
		metrics_http_close(gw->mh);
		gw->mh = NULL;
	}
	if (!nc->has_metrics)
		return 0;
	return metrics_http_open(gw, &nc->metrics, &gw->mh, err, errlen);
}

/* ---- log settings, sessions closed ---- */

/* The log settings: the config's, but the command line's level if given. */
void
gw_apply_log(gateway *gw)
{
	log_setup(gw->log_level >= 0 ? gw->log_level : gw->cfg->log_level,
	    gw->cfg->log_format, NULL);
}

void
gw_session_closed(void *arg)
{
	gateway *gw = arg;

	gw->n_sessions_closing--;
	if (gw->stopping && gw->n_conns == 0 && gw->n_sessions_closing == 0)
		stop_now(gw);
}

/* ---- stop and drain ---- */

static void
pool_stopped(void *arg)
{
	gateway *gw = arg;

	gw->pool = NULL;
}

static void
stop_now(gateway *gw)
{
	/* Everything that could send a job is gone: stop the pool, then the loop empties. */
	if (gw->pool != NULL) {
		workers *w = gw->pool;

		workers_stop(w, pool_stopped, gw);
	}
	if (!uv_is_closing((uv_handle_t *)&gw->turn_check)) {
		uv_close((uv_handle_t *)&gw->turn_check, NULL);
		uv_close((uv_handle_t *)&gw->turn_prepare, NULL);
	}
	if (!uv_is_closing((uv_handle_t *)&gw->sig_term)) {
		uv_close((uv_handle_t *)&gw->sig_term, NULL);
		uv_close((uv_handle_t *)&gw->sig_int, NULL);
		uv_close((uv_handle_t *)&gw->sig_hup, NULL);
		uv_close((uv_handle_t *)&gw->drain_timer, NULL);
	}
	if (gw->ls != NULL)
		listeners_stop(gw->ls);
}

/* Close every session and handshake; stop_now runs once all are gone. */
static void
shutdown_all(gateway *gw)
{
	struct pending *p;
	size_t i;

	if (gw->stopping)
		return;
	/* Straight here (a start that failed half-way) the manager was never
	 * told we are ready; at drain it heard STOPPING=1 already. */
	if (gw->ready && !gw->draining)
		notify_send("STOPPING=1\nSTATUS=stopping");
	gw->stopping = 1;
	gw->draining = 1;
	uv_timer_stop(&gw->drain_timer);
	gw_plisten_close(gw);
	if (gw->ctl != NULL)
		control_close(gw->ctl);
	if (gw->mh != NULL)
		metrics_http_close(gw->mh);
	gw->ctl = NULL;
	gw->mh = NULL;
	gw_watch_close(gw);
	close_forwards(gw);
	while ((p = gw->pending) != NULL) {
		conn *c = p->c;

		gw->pending = p->next;
		free(p);
		gw->n_pending--;
		stp_metrics.handshakes_pending = gw->n_pending;
		conn_set_owner(c, NULL, NULL);
		conn_close(c, 0, 0, "shutting down");
	}
	for (i = 0; i < gw->n_sessions; i++) {
		if (gw->sessions[i] == NULL)
			continue;
		gw->n_sessions_closing++;
		session_shutdown(gw->sessions[i], STP__V1__CLOSE_CODE__CLOSE_SHUTDOWN,
		    "gateway shutting down", gw_session_closed, gw);
		gw->sessions[i] = NULL;
	}
	if (gw->n_conns == 0 && gw->n_sessions_closing == 0)
		stop_now(gw);
}

static void
drain_check(uv_timer_t *t)
{
	gateway *gw = t->data;
	size_t i, busy = 0;

	for (i = 0; i < gw->n_sessions; i++)
		if (gw->sessions[i] != NULL && !session_idle(gw->sessions[i]))
			busy++;
	if (busy == 0) {
		log_info(NULL, NULL, "drained: every stream finished");
		shutdown_all(gw);
	} else if (gateway_now(gw) >= gw->drain_deadline) {
		log_warn(NULL, NULL, "drain time (timeouts.drain) is up: closing %zu busy sessions",
		    busy);
		shutdown_all(gw);
	}
}

static void
on_signal(uv_signal_t *h, int signum)
{
	gateway *gw = h->data;

	if (signum == SIGHUP) {
		char msg[1536];

		(void)gateway_reload(gw, msg, sizeof(msg));
		return;
	}
	if (gw->draining) {
		log_info(NULL, NULL, "second signal: stopping now");
		shutdown_all(gw);
		return;
	}
	gw->draining = 1;
	notify_send("STOPPING=1\nSTATUS=draining");
	log_info(NULL, NULL, "%s: draining (no new streams; up to %llu ms for open ones)",
	    signum == SIGTERM ? "SIGTERM" : "SIGINT",
	    (unsigned long long)gw->cfg->timeouts.drain_ms);
	gw_plisten_close(gw);
	close_forwards(gw);
	gw->drain_deadline = gateway_now(gw) + gw->cfg->timeouts.drain_ms;
	uv_timer_start(&gw->drain_timer, drain_check, 0, 100);
}

/* ---- run ---- */

int
gateway_run(const char *path, int log_level)
{
	gateway *gw;
	char err[1024];
	int rc, code = 1, werr = 0;
	unsigned nworkers;
	size_t i;

	if ((gw = calloc(1, sizeof(*gw))) == NULL) {
		fprintf(stderr, "stpgate: out of memory\n");
		return 1;
	}
	if ((rc = config_load(path, &gw->cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "stpgate: %s\n", err);
		free(gw);
		return rc == STP_ENOMEM ? 1 : 2;
	}
	gw->log_level = log_level < 0 ? -1 : log_level;
	gw_apply_log(gw);
	gw->nofile = fdbudget_raise();
	signal(SIGPIPE, SIG_IGN);
	if (uv_loop_init(&gw->loop) != 0 ||
	    (gw->rate = calloc(RATE_SLOTS, sizeof(*gw->rate))) == NULL ||
	    (gw->actx = aead_ctx_new()) == NULL ||
	    (gw->guard = guard_new(gw->cfg->limits.replay_slots)) == NULL) {
		log_error(NULL, NULL, "cannot start: out of memory");
		goto out_cfg;
	}
	uv_check_init(&gw->loop, &gw->turn_check);
	uv_prepare_init(&gw->loop, &gw->turn_prepare);
	gw->turn_check.data = gw->turn_prepare.data = gw;
	uv_check_start(&gw->turn_check, turn_check);
	uv_prepare_start(&gw->turn_prepare, turn_prepare);
	if ((gw->ls = listeners_new(&gw->loop, gw->nofile)) == NULL) {
		log_error(NULL, NULL, "cannot start: out of memory");
		goto out_stop;
	}
	nworkers = gw->cfg->workers_auto ? workers_auto_threads() :
	    gw->cfg->workers;
	if (nworkers > 0) {
		gw->pool = workers_new(&gw->loop, nworkers, gw->cfg->workers_auto,
		    conn_job_done, &werr);
		if (gw->pool == NULL) {
			log_error(NULL, NULL, "cannot start %u crypto workers: %s",
			    nworkers, stp_strerror(werr));
			goto out_stop;
		}
	}
	plugin_runtime(&gw->loop, loop_now, &gw->loop);
	if (plugins_open(gw->cfg, &gw->plug, err, sizeof(err)) != 0) {
		log_error(NULL, NULL, "cannot start: %s", err);
		goto out_stop;
	}
	gw->n_sessions = gw->cfg->n_peers;
	if ((gw->sessions = calloc(gw->n_sessions ? gw->n_sessions : 1,
	    sizeof(*gw->sessions))) == NULL)
		goto out_stop;
	for (i = 0; i < gw->n_sessions; i++)
		if ((gw->sessions[i] = session_new(gw, &gw->cfg->peers[i])) == NULL)
			goto out_stop;
	/* What is open before the first listener (fdbudget_fit); then the spare. */
	gw->fd_base = fdbudget_count(gw->nofile);
	if (listeners_spare(gw->ls) != 0)
		log_warn(NULL, NULL, "open files: cannot keep a spare descriptor: %s",
		    strerror(errno));
	fdbudget_fit(gw->cfg, gw->fd_base, gw->nofile, &gw->max_conns, &gw->max_hs);
	if (gw_plisten_open(gw, err, sizeof(err)) != 0) {
		log_error(NULL, NULL, "%s", err);
		goto out_stop;
	}
	for (i = 0; i < gw->cfg->n_forwards; i++) {
		if (gw_fwd_open(gw, i, err, sizeof(err)) != 0) {
			log_error(NULL, NULL, "%s", err);
			goto out_stop;
		}
	}
	if (gw_control_reopen(gw, NULL, err, sizeof(err)) != 0 ||
	    gw_metrics_reopen(gw, NULL, err, sizeof(err)) != 0) {
		log_error(NULL, NULL, "%s", err);
		goto out_stop;
	}
	uv_signal_init(&gw->loop, &gw->sig_term);
	uv_signal_init(&gw->loop, &gw->sig_int);
	uv_signal_init(&gw->loop, &gw->sig_hup);
	uv_timer_init(&gw->loop, &gw->drain_timer);
	gw->sig_term.data = gw->sig_int.data = gw->sig_hup.data = gw;
	gw->drain_timer.data = gw;
	uv_signal_start(&gw->sig_term, on_signal, SIGTERM);
	uv_signal_start(&gw->sig_int, on_signal, SIGINT);
	uv_signal_start(&gw->sig_hup, on_signal, SIGHUP);
	{
		char summary[512];

		config_summary(gw->cfg, summary, sizeof(summary));
		log_info(NULL, NULL, "started: %s", summary);
		if (gw->cfg->n_peers == 0)
			log_warn(NULL, NULL, "%s lists no peers: no session can be "
			    "made with this config (see peers: in conf/example.yaml)",
			    gw->cfg->path);
	}
	for (i = 0; i < gw->n_sessions; i++)
		session_start(gw->sessions[i]);
	if (gw_watch_apply(gw, err, sizeof(err)) != 0)
		log_warn(NULL, NULL, "%s; changes there are not seen until it can "
		    "be watched", err);
	/* Every listener and the control socket are up: the manager may start
	 * what depends on us, and `stpgate reload` finds the socket. */
	{
		char cpath[CFG_PATH_MAX];

		notify_clean(gw->cfg->path, cpath, sizeof(cpath));
		notify_send("READY=1\nMAINPID=%ld\nSTATUS=running %s: %zu peers, "
		    "%zu forwards, %zu services", (long)getpid(), cpath,
		    gw->cfg->n_peers, gw->cfg->n_forwards, gw->cfg->n_services);
	}
	gw->ready = 1;
	uv_run(&gw->loop, UV_RUN_DEFAULT);
	log_info(NULL, NULL, "stopped");
	code = 0;
	goto out_loop;
out_stop:
	/* Start-up failed half-way: close what exists and let the loop empty. */
	signal(SIGPIPE, SIG_DFL);
	uv_signal_init(&gw->loop, &gw->sig_term);
	uv_signal_init(&gw->loop, &gw->sig_int);
	uv_signal_init(&gw->loop, &gw->sig_hup);
	uv_timer_init(&gw->loop, &gw->drain_timer);
	shutdown_all(gw);
	uv_run(&gw->loop, UV_RUN_DEFAULT);
	code = 1;
out_loop:
	/* Plugins close their (unreferenced) handles; let those closes finish. */
	plugins_unref(gw->plug);
	gw->plug = NULL;
	uv_run(&gw->loop, UV_RUN_DEFAULT);
	free(gw->sessions);
	uv_loop_close(&gw->loop);
out_cfg:
	listeners_free(gw->ls);
	aead_ctx_free(gw->actx);
	guard_free(gw->guard);
	free(gw->rate);
	config_free(gw->cfg);
	free(gw);
	return code;
}

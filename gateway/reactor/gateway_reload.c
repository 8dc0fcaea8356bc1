/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway_reload.c: a new config applied to the running gateway (SIGHUP,
 * `stpgate reload`): sessions of peers that stay keep their streams,
 * unchanged listeners stay open, and what would not open is reported as a
 * partial failure.  See gateway_reload in gateway.h.
 */
#include "gateway_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sign.h"
#include "err.h"
#include "identity.h"
#include "fdbudget.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"

/*
 * What failed while applying a new config (a listener, the control socket,
 * the metrics endpoint that would not open): logged at once, and gathered
 * "; "-separated, as much as fits, for the reload's answer.
 */
struct part {
	char text[1024];
	unsigned n;
};

/* Append s to p->text, cut short if need be. */
static void
part_put(struct part *p, const char *s)
{
	size_t used = strlen(p->text), n = strlen(s);

	if (n > sizeof(p->text) - 1 - used)
		n = sizeof(p->text) - 1 - used;
	memcpy(p->text + used, s, n);
	p->text[used + n] = '\0';
}

static void
part_fail(struct part *p, const char *peer, const char *why)
{
	log_error(peer, NULL, "reload: %s", why);
	if (p->n > 0)
		part_put(p, "; ");
	part_put(p, why);
	p->n++;
}

/* A reload that changed nothing: say so everywhere, count it. */
static int
reload_refused(const char *why, char *msg, size_t len)
{
	char clean[1100];

	stp_metrics.config_reload_failures++;
	log_error(NULL, NULL, "reload failed: %s; keeping the old config", why);
	snprintf(msg, len, "reload failed: %s; running the old config", why);
	notify_clean(why, clean, sizeof(clean));
	notify_send("READY=1\nSTATUS=reload failed: %s; running the old config", clean);
	return 1;
}

/* The open forward f is nf of config c: its listener may stay. */
static int
same_forward(const struct fwd *f, const config *c, const cfg_forward *nf)
{
	return strcmp(f->listen.host, nf->listen.host) == 0 &&
	    f->listen.port == nf->listen.port &&
	    f->listen.is_unix == nf->listen.is_unix && f->socks == nf->socks &&
	    f->listen.is_udp == nf->listen.is_udp &&
	    f->ux.mode == nf->mode && f->ux.uid == nf->uid &&
	    f->ux.gid == nf->gid &&
	    strcmp(f->peer, c->peers[nf->peer].name) == 0 &&
	    strcmp(f->service, nf->service) == 0 &&
	    f->allow_remote == nf->allow_remote;
}

/*
 * Load the config file again and apply it: see gateway.h.  A file that does
 * not load, or plugins that do not start, change nothing; otherwise the new
 * config is applied as far as it goes, and what did not open is a partial
 * failure.  Either failure counts in config_reload_failures.
 */
static int
reload(gateway *gw, char *msg, size_t len)
{
	config *nc = NULL, *oc = gw->cfg;
	char err[1024], clean[1100];
	uint8_t okey[32], nkey[32];
	int new_id;
	struct part part;
	session **ns;
	struct fwd **fp, *f;
	size_t i, j;

	if (gw->draining) {
		/* The manager heard STOPPING=1 already: no RELOADING=1 now. */
		log_warn(NULL, NULL, "reload refused: the gateway is shutting down");
		snprintf(msg, len, "reload failed: the gateway is shutting down");
		return 1;
	}
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu", notify_monotonic_usec());
	stp_metrics.config_reloads++;
	if (config_load(oc->path, &nc, err, sizeof(err)) != 0)
		return reload_refused(err, msg, len);
	if ((ns = calloc(nc->n_peers ? nc->n_peers : 1, sizeof(*ns))) == NULL) {
		config_free(nc);
		return reload_refused("out of memory", msg, len);
	}
	{
		plugins *np;

		if (plugins_open(nc, &np, err, sizeof(err)) != 0) {
			free(ns);
			config_free(nc);
			return reload_refused(err, msg, len);
		}
		/* Handshakes under way keep the old set until they end; from
		 * here nothing goes back to the old config. */
		plugins_unref(gw->plug);
		gw->plug = np;
	}
	memset(&part, 0, sizeof(part));
	/*
	 * A new identity (a rotation) takes over at once: new dials use it,
	 * HELLOs to it are answered (and to previous_identity, if given), and
	 * every session tells its peer below.  Conns hold the keys they use.
	 */
	sign_key_public(oc->identity, okey);
	sign_key_public(nc->identity, nkey);
	new_id = memcmp(okey, nkey, 32) != 0;
	if (new_id) {
		char text[IDENTITY_PUBTEXT_LEN + 1], words[IDENTITY_FP_MAX];

		identity_pub_encode(nkey, text);
		identity_fingerprint(nkey, words, sizeof(words));
		log_info(NULL, NULL, "reload: new identity %s (%s)%s", text, words,
		    nc->previous_identity != NULL ? "; still answering to "
		    "previous_identity" : "");
	}
	if (nc->workers != oc->workers || nc->workers_auto != oc->workers_auto)
		log_warn(NULL, NULL, "reload: a new workers setting needs a restart");
	nc->workers = oc->workers;
	nc->workers_auto = oc->workers_auto;
	/* Handshakes in progress point at the guard: it keeps its size. */
	if (nc->limits.replay_slots != oc->limits.replay_slots)
		log_warn(NULL, NULL, "reload: a new limits.replay_slots needs a restart");
	nc->limits.replay_slots = oc->limits.replay_slots;
	/* Sessions: same name and key stay, with their streams; others go or come. */
	for (i = 0; i < oc->n_peers; i++) {
		long k = config_peer_by_name(nc, oc->peers[i].name);

		if (k >= 0 && session_keeps(gw->sessions[i], &nc->peers[k])) {
			ns[k] = gw->sessions[i];
			session_set_peer(ns[k], &nc->peers[k]);
		} else {
			log_info(oc->peers[i].name, NULL, k >= 0 ? "reload: the "
			    "peer's key is no longer listed; closing its session" :
			    "reload: peer removed");
			gw->n_sessions_closing++;
			session_shutdown(gw->sessions[i], STP__V1__CLOSE_CODE__CLOSE_SHUTDOWN,
			    k >= 0 ? "your key was removed from the config" :
			    "peer removed from the config", gw_session_closed, gw);
		}
	}
	gw->cfg = nc;
	free(gw->sessions);
	gw->sessions = ns;
	gw->n_sessions = nc->n_peers;
	for (i = 0; i < nc->n_peers; i++) {
		if (ns[i] != NULL)
			continue;
		if ((ns[i] = session_new(gw, &nc->peers[i])) == NULL) {
			snprintf(err, sizeof(err), "peer %s: out of memory", nc->peers[i].name);
			part_fail(&part, nc->peers[i].name, err);
			continue;
		}
		log_info(nc->peers[i].name, NULL, "reload: peer added");
		session_start(ns[i]);
	}
	if (new_id)
		for (i = 0; i < nc->n_peers; i++)
			if (ns[i] != NULL)
				session_identity_changed(ns[i]);
	/* Forwards: unchanged listeners stay open; others close or open. */
	for (fp = &gw->fwds; (f = *fp) != NULL;) {
		for (j = 0; j < nc->n_forwards; j++)
			if (same_forward(f, nc, &nc->forwards[j]))
				break;
		if (j < nc->n_forwards) {
			f->idx = j;
			fp = &f->next;
			continue;
		}
		*fp = f->next;
		log_info(f->peer, NULL, "reload: forward %s closed",
		    gw_fwd_addr(f));
		gw_fwd_close(f);
	}
	for (j = 0; j < nc->n_forwards; j++) {
		for (f = gw->fwds; f != NULL; f = f->next)
			if (f->idx == j && same_forward(f, nc, &nc->forwards[j]))
				break;
		if (f == NULL && gw_fwd_open(gw, j, err, sizeof(err)) != 0)
			part_fail(&part, NULL, err);
	}
	/* The peer listener, if its address changed (or it failed to open before). */
	if (oc->has_listen != nc->has_listen || (nc->has_listen &&
	    (gw->plisten == NULL || strcmp(oc->listen.host, nc->listen.host) != 0 ||
	    oc->listen.port != nc->listen.port))) {
		gw_plisten_close(gw);
		if (gw_plisten_open(gw, err, sizeof(err)) != 0)
			part_fail(&part, NULL, err);
	}
	/* This may close the control socket whose client asked for the reload:
	 * control.c keeps that client (and its control object) to answer. */
	if (gw_control_reopen(gw, oc, err, sizeof(err)) != 0)
		part_fail(&part, NULL, err);
	if (gw_metrics_reopen(gw, oc, err, sizeof(err)) != 0)
		part_fail(&part, NULL, err);
	gw_apply_log(gw);
	/* The new limits, forwards, metrics or control change the budget. */
	fdbudget_fit(gw->cfg, gw->fd_base, gw->nofile, &gw->max_conns, &gw->max_hs);
	config_free(oc);
	log_info(NULL, NULL, "reloaded %s: %zu peers, %zu forwards, %zu services",
	    nc->path, nc->n_peers, nc->n_forwards, nc->n_services);
	if (part.n > 0) {
		stp_metrics.config_reload_failures++;
		log_error(NULL, NULL, "reload partly failed: %s; the rest of %s is applied",
		    part.text, nc->path);
		snprintf(msg, len, "reload partly failed: %s; the rest of %s is applied",
		    part.text, nc->path);
		notify_clean(msg, clean, sizeof(clean));
		notify_send("READY=1\nSTATUS=%s", clean);
		return 1;
	}
	snprintf(msg, len, "reloaded %s: %zu peers, %zu forwards, %zu services",
	    nc->path, nc->n_peers, nc->n_forwards, nc->n_services);
	notify_clean(msg, clean, sizeof(clean));
	notify_send("READY=1\nSTATUS=%s", clean);
	return 0;
}

int
gateway_reload(gateway *gw, char *msg, size_t len)
{
	char err[CFG_PATH_MAX + 128];
	int rc = reload(gw, msg, len);

	/* watch: may have been turned on or off, or the files moved. */
	if (gw_watch_apply(gw, err, sizeof(err)) != 0)
		log_warn(NULL, NULL, "%s; changes there are not seen until it can "
		    "be watched", err);
	return rc;
}

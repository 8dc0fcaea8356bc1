/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c: the YAML peer map -> struct config.  See config.h; every key,
 * its default and its range is documented in conf/example.yaml.
 *
 * The ytree is checked in passes; each reports the error that comes first
 * in the file (with includes, in load order: the main file, then the
 * included files as they were read), so the same files always give the
 * same one line:
 *
 *  0. Includes (config_include.c).  The files `include:` names are read
 *     and checked (mode, size, YAML, only peers, services and forwards, no
 *     name defined in two files), and their entries appended to the main
 *     file's, so that the passes below see one tree whose nodes each say
 *     which file they are in.  Like the main file's YAML syntax, this
 *     comes before any value is looked at.
 *  1. Values.  Every mapping is walked in file order against a schema table
 *     (key, parser, offset, required, range); the walk stops at the first
 *     unknown key, wrong type, malformed or out-of-range value, invalid
 *     name, or missing required key.  The first access secret given in a
 *     file also checks that the file is not readable by every user.
 *  2. Relations.  Names a forward or a service refers to, two peers with
 *     one key, listeners that would collide, a remote forward listener
 *     without allow_remote, and orderings between values (window <=
 *     max_window, keepalive < dead_after, reconnect_min <= reconnect_max).
 *     Every candidate is considered and the earliest in the file is kept.
 *  3. The identity file (identity_load), and no peer with our own key.
 *
 * Relative paths (identity, control, include) are taken relative to the
 * directory of the config file, so `stpgate check` and the daemon agree
 * whatever their working directory; the stored paths are the resolved ones.
 *
 * The lookups are linear scans: they run once per handshake or stream open,
 * next to public-key crypto, and work on any config, loaded or built.  The
 * load itself sorts, so a map with many thousands of entries stays fast.
 *
 * The parts are split by idea (config_int.h): this file has the schema
 * tables, the walk and the interface; pass 1's value parsers are in
 * config_values.c, reporting and value formats in config_text.c, the
 * plugins' settings in config_plugins.c, passes 2 and 3 in config_check.c,
 * includes in config_include.c.
 */
#include "config_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "destpolicy.h"
#include "err.h"
#include "identity.h"
#include "plugin.h"
#include "secret.h"

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned is 32 bits");

/* ---- the schema (pass 1) ---- */

static int walk(struct ld *l, const ytree_node *m, const struct field *tab,
    void *base);

/* A nested mapping whose table is relative to the same struct. */
static int
p_map(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	if (v->kind != YTREE_MAP)
		return ld_fail_type(l, v, "a mapping");
	return walk(l, v, f->sub, (char *)dst - f->off);
}

/* plugins: NAME: {...}; each NAME must be a plugin built in.  Checked later. */
static int
p_plugins(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	char names[256];
	size_t i, j, o, mark;
	int rc = 0;

	(void)f;
	(void)dst;
	if (v->kind != YTREE_MAP)
		return ld_fail_type(l, v, "a mapping of plugin names to their settings");
	for (i = 0; i < ytree_count(v) && rc == 0; i++) {
		const ytree_node *k = ytree_key(v, i);

		if (plugin_find(k->str) >= 0)
			continue;
		for (o = 0, j = 0; j < plugin_count() && o < sizeof(names); j++)
			o += (size_t)snprintf(names + o, sizeof(names) - o,
			    "%s%s", j ? ", " : "", plugin_at(j)->name);
		mark = ld_push_key(l, k->str, k->len);
		rc = ld_fail(l, k, "unknown plugin (built in: %s)", names);
		ld_pop(l, mark);
	}
	l->plugins = v;
	return rc;
}

/* include: read and merged before pass 1 (config_include.c). */
static int
p_include(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	(void)l;
	(void)v;
	(void)f;
	(void)dst;
	return 0;
}

/* allow: [NAME, ...]; the names are resolved in pass 2. */
static int
p_allow(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	size_t i, mark;
	int rc;

	(void)dst;
	if (v->kind != YTREE_SEQ)
		return ld_fail_type(l, v, "a sequence of peer names");
	for (i = 0; i < v->n; i++) {
		mark = ld_push_index(l, i);
		rc = ld_p_name(l, v->kids[i], f, NULL);
		ld_pop(l, mark);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * destinations: what this peer's dynamic forwards may reach here: a
 * sequence of HOST:PORTS rules (destpolicy.h).
 */
static int
p_destinations(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst)
{
	destpolicy **out = dst, *dp;
	char rule[CFG_HOST_MAX + 16], why[256];
	size_t i, mark;
	int rc = 0;

	(void)f;
	if (v->kind != YTREE_SEQ)
		return ld_fail_type(l, v, "a sequence of HOST:PORTS rules");
	if ((dp = destpolicy_new()) == NULL)
		return ld_oom(l);
	for (i = 0; i < v->n && rc == 0; i++) {
		const ytree_node *r = v->kids[i];

		mark = ld_push_index(l, i);
		if (r->kind != YTREE_SCALAR || ytree_is_null(r) ||
		    r->len >= sizeof(rule) || memchr(r->str, '\0', r->len) != NULL)
			rc = ld_fail_type(l, r, "a HOST:PORTS rule such as "
			    "\"10.0.0.0/8:443\" or \"*.example.com:*\"");
		else {
			memcpy(rule, r->str, r->len + 1);
			if (destpolicy_add(dp, rule, why, sizeof(why)) != 0)
				rc = ld_fail(l, r, "%s", why);
		}
		ld_pop(l, mark);
	}
	if (rc != 0) {
		destpolicy_free(dp);
		return rc;
	}
	destpolicy_free(*out);
	*out = dp;
	return 0;
}

#define MSIZE(t, m) sizeof(((t *)0)->m)
#define F(n, fn, t, m) .name = n, .parse = fn, .off = offsetof(t, m), \
	.w = MSIZE(t, m)
#define RANGE(lo, hi) .min = (lo), .max = (hi)
#define HAS(t, m) .has = 1, .has_off = offsetof(t, m)

static const char *const log_levels[] = { "error", "warn", "info", "debug",
    NULL };
static const char *const log_formats[] = { "text", "json", NULL };

static const struct field log_fields[] = {
	{ F("level", ld_p_enum, config, log_level), .words = log_levels },
	{ F("format", ld_p_enum, config, log_format), .words = log_formats },
	{ .name = NULL }
};

/* metrics: as a mapping, for the explicit non-loopback form. */
static const struct field metrics_fields[] = {
	{ F("listen", ld_p_addr, config, metrics), .required = 1, .flags = A_IP,
	    HAS(config, has_metrics) },
	{ F("allow_remote", ld_p_bool, config, metrics_allow_remote) },
	{ .name = NULL }
};

/*
 * metrics: ADDR (loopback only), or {listen: ADDR, allow_remote: true} to
 * serve the unauthenticated plain-HTTP endpoint beyond this host on
 * purpose.  Whether the address is loopback is checked with the relations
 * (config_check.c), once both keys are known.
 */
static int
p_metrics(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	if (v->kind == YTREE_MAP)
		return walk(l, v, f->sub, (char *)dst - f->off);
	return ld_p_addr(l, v, f, dst);
}

static const struct field limits_fields[] = {
	{ F("max_sessions", ld_p_int, config, limits.max_sessions),
	    RANGE(1, 1000000) },
	{ F("max_handshakes", ld_p_int, config, limits.max_handshakes),
	    RANGE(1, 1000000) },
	{ F("handshakes_per_source", ld_p_int, config,
	    limits.handshakes_per_source), RANGE(1, 1000000) },
	{ F("max_streams", ld_p_int, config, limits.max_streams),
	    RANGE(1, 1000000) },
	{ F("max_connections", ld_p_int, config, limits.max_connections),
	    RANGE(1, 1000000) },
	{ F("session_buffer", ld_p_size, config, limits.session_buffer),
	    RANGE(64 * KiB, 64 * GiB) },
	{ F("replay_slots", ld_p_slots, config, limits.replay_slots),
	    RANGE(8, 1048576) },
	{ .name = NULL }
};

static const struct field timeouts_fields[] = {
	{ F("handshake", ld_p_dur, config, timeouts.handshake_ms),
	    RANGE(100, 10 * MINUTE) },
	{ F("connect", ld_p_dur, config, timeouts.connect_ms),
	    RANGE(100, 10 * MINUTE) },
	{ F("keepalive", ld_p_dur, config, timeouts.keepalive_ms),
	    RANGE(100, HOUR) },
	{ F("dead_after", ld_p_dur, config, timeouts.dead_ms),
	    RANGE(100, 24 * HOUR) },
	{ F("stream_idle", ld_p_dur, config, timeouts.stream_idle_ms),
	    RANGE(0, 720 * HOUR) },
	{ F("drain", ld_p_dur, config, timeouts.drain_ms), RANGE(0, HOUR) },
	{ F("datagram_idle", ld_p_dur, config, timeouts.datagram_idle_ms),
	    RANGE(SEC, 24 * HOUR) },
	{ F("resume_window", ld_p_dur, config, timeouts.resume_ms),
	    RANGE(0, HOUR) },
	{ F("reconnect_min", ld_p_dur, config, timeouts.reconnect_min_ms),
	    RANGE(10, HOUR) },
	{ F("reconnect_max", ld_p_dur, config, timeouts.reconnect_max_ms),
	    RANGE(10, 24 * HOUR) },
	{ .name = NULL }
};

static const struct field flow_fields[] = {
	{ F("window", ld_p_size, config, flow.window), RANGE(16 * KiB, GiB) },
	{ F("max_window", ld_p_size, config, flow.max_window),
	    RANGE(16 * KiB, GiB) },
	{ .name = NULL }
};

static const struct field rekey_fields[] = {
	{ F("bytes", ld_p_size, config, rekey.bytes), RANGE(MiB, 1024 * GiB) },
	{ F("interval", ld_p_dur, config, rekey.interval_ms),
	    RANGE(SEC, 24 * HOUR) },
	{ F("fresh_interval", ld_p_dur, config, rekey.fresh_interval_ms),
	    RANGE(MINUTE, 168 * HOUR) },
	{ .name = NULL }
};

static const struct field peer_fields[] = {
	{ F("key", ld_p_key, cfg_peer, keys), .required = 1 },
	{ F("dial", ld_p_addr, cfg_peer, dial), .flags = A_IP | A_NAME,
	    HAS(cfg_peer, has_dial) },
	{ F("access_secret", ld_p_secret, cfg_peer, access_secret),
	    HAS(cfg_peer, has_access_secret) },
	{ F("proxy", ld_p_proxy, cfg_peer, proxy), HAS(cfg_peer, has_proxy) },
	{ F("sign_records", ld_p_bool, cfg_peer, sign_records) },
	{ F("destinations", p_destinations, cfg_peer, destinations) },
	{ .name = NULL }
};

static const struct field forward_fields[] = {
	/* listen: with service:, or socks: (forward_kind checks which). */
	{ F("listen", ld_p_addr, cfg_forward, listen),
	    .flags = A_IP | A_UNIX | A_UDP },
	{ F("socks", ld_p_addr, cfg_forward, listen), .flags = A_IP | A_UNIX,
	    HAS(cfg_forward, socks) },
	/* Checked as a name here, resolved to an index in pass 2. */
	{ .name = "peer", .parse = ld_p_name, .required = 1 },
	{ F("service", ld_p_name, cfg_forward, service) },
	{ F("allow_remote", ld_p_bool, cfg_forward, allow_remote) },
	{ F("mode", ld_p_mode, cfg_forward, mode), HAS(cfg_forward, has_mode) },
	{ F("owner", ld_p_owner, cfg_forward, uid) },
	{ F("group", ld_p_owner, cfg_forward, gid), .flags = P_GROUP },
	{ .name = NULL }
};

static const char *const proxy_protocols[] = { "off", "v1", "v2", NULL };

static const struct field service_fields[] = {
	{ F("connect", ld_p_addr, cfg_service, connect), .required = 1,
	    .flags = A_IP | A_NAME | A_UNIX | A_UDP },
	{ F("proxy_protocol", ld_p_enum, cfg_service, proxy_protocol),
	    .words = proxy_protocols },
	{ .name = "allow", .parse = p_allow },
	{ .name = NULL }
};

const struct ld_list ld_lists[LD_NLISTS] = {
	[LD_PEERS] = { "peers", YTREE_MAP, "a mapping of peer names to peers" },
	[LD_SERVICES] = { "services", YTREE_MAP,
	    "a mapping of service names to services" },
	[LD_FORWARDS] = { "forwards", YTREE_SEQ, "a sequence of forwards" },
};

static int p_peers(struct ld *, const ytree_node *, const struct field *,
    void *);
static int p_forwards(struct ld *, const ytree_node *, const struct field *,
    void *);
static int p_services(struct ld *, const ytree_node *, const struct field *,
    void *);

static const struct field top_fields[] = {
	{ F("identity", ld_p_path, config, identity_path), .required = 1,
	    .flags = P_IDENTITY },
	{ F("previous_identity", ld_p_path, config, previous_identity_path),
	    .flags = P_IDENTITY | P_PREVIOUS },
	{ F("listen", ld_p_addr, config, listen), .flags = A_IP,
	    HAS(config, has_listen) },
	{ F("access_secret", ld_p_secret, config, access_secret),
	    HAS(config, has_access_secret) },
	{ .name = "workers", .parse = ld_p_workers, RANGE(0, WORKERS_MAX) },
	{ .name = "log", .parse = p_map, .sub = log_fields },
	{ F("metrics", p_metrics, config, metrics), .flags = A_IP,
	    HAS(config, has_metrics), .sub = metrics_fields },
	{ F("control", ld_p_control, config, control),
	    .flags = P_EMPTY_OK | P_SOCKET, HAS(config, has_control) },
	{ F("watch", ld_p_bool, config, watch) },
	{ .name = "include", .parse = p_include },
	{ .name = "peers", .parse = p_peers },
	{ .name = "forwards", .parse = p_forwards },
	{ .name = "services", .parse = p_services },
	{ .name = "limits", .parse = p_map, .sub = limits_fields },
	{ .name = "timeouts", .parse = p_map, .sub = timeouts_fields },
	{ .name = "flow", .parse = p_map, .sub = flow_fields },
	{ .name = "rekey", .parse = p_map, .sub = rekey_fields },
	{ .name = "plugins", .parse = p_plugins },
	{ .name = NULL }
};

static void
each_key(const struct field *tab, const char *prefix,
    void (*fn)(const char *, void *), void *arg)
{
	static const struct {
		const char *name;
		const struct field *items;
		const char *item_prefix;
	} lists[] = {
		{ "peers", peer_fields, "peers.NAME." },
		{ "forwards", forward_fields, "forwards." },
		{ "services", service_fields, "services.NAME." },
	};
	char key[128];
	size_t i, j;

	for (i = 0; tab[i].name != NULL; i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, tab[i].name);
		fn(key, arg);
		if (tab[i].sub != NULL) {
			snprintf(key, sizeof(key), "%s%s.", prefix, tab[i].name);
			each_key(tab[i].sub, key, fn, arg);
		}
		for (j = 0; j < sizeof(lists) / sizeof(lists[0]); j++)
			if (prefix[0] == '\0' &&
			    strcmp(tab[i].name, lists[j].name) == 0)
				each_key(lists[j].items, lists[j].item_prefix,
				    fn, arg);
	}
}

void
config_each_key(void (*fn)(const char *key, void *arg), void *arg)
{
	each_key(top_fields, "", fn, arg);
}

/*
 * Walk mapping m in file order against tab, filling base.  A null value
 * leaves an optional key at its default.
 */
static int
walk(struct ld *l, const ytree_node *m, const struct field *tab, void *base)
{
	uint64_t seen = 0;
	const struct field *f;
	const ytree_node *k, *v;
	char names[256];
	size_t i, j, mark, o;
	int rc;

	for (i = 0; i < ytree_count(m); i++) {
		k = ytree_key(m, i);
		v = ytree_value(m, i);
		for (j = 0; tab[j].name != NULL; j++)
			if (strlen(tab[j].name) == k->len &&
			    memcmp(tab[j].name, k->str, k->len) == 0)
				break;
		f = &tab[j];
		mark = ld_push_key(l, k->str, k->len);
		if (f->name == NULL) {
			for (o = 0, j = 0; tab[j].name != NULL &&
			    o < sizeof(names); j++)
				o += (size_t)snprintf(names + o,
				    sizeof(names) - o, "%s%s", j ? ", " : "",
				    tab[j].name);
			rc = ld_fail(l, k, "unknown key (expected one of: %s)",
			    names);
		} else {
			seen |= 1ull << j;
			l->cur_key = k;
			if (ytree_is_null(v) && !f->required)
				rc = 0;
			else
				rc = f->parse(l, v, f, (char *)base + f->off);
		}
		ld_pop(l, mark);
		if (rc != 0)
			return rc;
	}
	for (j = 0; tab[j].name != NULL; j++)
		if (tab[j].required && !(seen & (1ull << j)))
			return ld_fail(l, m, "missing key \"%s\"", tab[j].name);
	return 0;
}

/* Check a name used as a mapping key (peers, services). */
static int
check_key_name(struct ld *l, const ytree_node *k, const char *what)
{
	if (config_name_ok(k->str, k->len))
		return 0;
	return ld_fail(l, k, "invalid %s name (expected 1..63 characters from "
	    "A-Z a-z 0-9 _ . -)", what);
}

static int
p_peers(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	config *c = l->c;
	const ytree_node *k, *pv;
	size_t i, n, mark;
	int rc;

	(void)f;
	(void)dst;
	if (v->kind != ld_lists[LD_PEERS].kind)
		return ld_fail_type(l, v, ld_lists[LD_PEERS].what);
	l->peers = v;
	if ((n = ytree_count(v)) == 0)
		return 0;
	if ((c->peers = calloc(n, sizeof(*c->peers))) == NULL ||
	    (l->key_pos = calloc(n, sizeof(*l->key_pos))) == NULL)
		return ld_oom(l);
	c->n_peers = n;
	for (i = 0; i < n; i++) {
		cfg_peer *p = &c->peers[i];

		k = ytree_key(v, i);
		pv = ytree_value(v, i);
		mark = ld_push_key(l, k->str, k->len);
		if ((rc = check_key_name(l, k, "peer")) == 0) {
			memcpy(p->name, k->str, k->len + 1);
			p->pos = ld_pos(k);
			l->cur_peer = i;
			if (pv->kind != YTREE_MAP)
				rc = ld_fail_type(l, pv, "a mapping with at "
				    "least \"key\"");
			else
				rc = walk(l, pv, peer_fields, p);
		}
		/* A proxy carries our dials: without dial it would do nothing. */
		if (rc == 0 && p->has_proxy && !p->has_dial) {
			const ytree_node *pn = ytree_get(pv, "proxy");
			size_t m2 = ld_push_key(l, "proxy", 5);

			rc = ld_fail(l, pn, "a proxy needs \"dial\" (the peer's "
			    "HOST:PORT, which the proxy connects to); without it "
			    "we never dial this peer");
			ld_pop(l, m2);
		}
		ld_pop(l, mark);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* A forward is listen: with service:, or socks: alone. */
static int
forward_kind(struct ld *l, const ytree_node *item)
{
	const ytree_node *ln = ytree_get(item, "listen");
	const ytree_node *sn = ytree_get(item, "socks");
	const ytree_node *sv = ytree_get(item, "service");

	if (ln != NULL && sn != NULL)
		return ld_fail(l, sn, "a forward has listen: (with service:) or "
		    "socks: (a dynamic forward), not both");
	if (ln == NULL && sn == NULL)
		return ld_fail(l, item, "missing key \"listen\" (or \"socks\" "
		    "for a dynamic forward)");
	if (ln != NULL && sv == NULL)
		return ld_fail(l, item, "missing key \"service\"");
	if (sn != NULL && sv != NULL)
		return ld_fail(l, sv, "a dynamic forward (socks:) takes its "
		    "destination from each app; it has no service");
	return 0;
}

static int
p_forwards(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst)
{
	config *c = l->c;
	const ytree_node *item;
	size_t i, n, mark;
	int rc;

	(void)f;
	(void)dst;
	if (v->kind != ld_lists[LD_FORWARDS].kind)
		return ld_fail_type(l, v, ld_lists[LD_FORWARDS].what);
	l->forwards = v;
	if ((n = ytree_count(v)) == 0)
		return 0;
	if ((c->forwards = calloc(n, sizeof(*c->forwards))) == NULL)
		return ld_oom(l);
	c->n_forwards = n;
	for (i = 0; i < n; i++) {
		cfg_forward *fw = &c->forwards[i];

		item = ytree_item(v, i);
		/* As the file it is in numbers it. */
		mark = ld_push_index(l, ld_forward_index(l, i));
		fw->pos = ld_pos(item);
		fw->mode = 0600;
		fw->uid = fw->gid = -1;
		if (item->kind != YTREE_MAP)
			rc = ld_fail_type(l, item, "a mapping (listen, peer, "
			    "service, ...)");
		else if ((rc = walk(l, item, forward_fields, fw)) == 0)
			rc = forward_kind(l, item);
		ld_pop(l, mark);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
p_services(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst)
{
	config *c = l->c;
	const ytree_node *k, *sv;
	size_t i, n, mark;
	int rc;

	(void)f;
	(void)dst;
	if (v->kind != ld_lists[LD_SERVICES].kind)
		return ld_fail_type(l, v, ld_lists[LD_SERVICES].what);
	l->services = v;
	if ((n = ytree_count(v)) == 0)
		return 0;
	if ((c->services = calloc(n, sizeof(*c->services))) == NULL)
		return ld_oom(l);
	c->n_services = n;
	for (i = 0; i < n; i++) {
		cfg_service *s = &c->services[i];

		k = ytree_key(v, i);
		sv = ytree_value(v, i);
		mark = ld_push_key(l, k->str, k->len);
		if ((rc = check_key_name(l, k, "service")) == 0) {
			memcpy(s->name, k->str, k->len + 1);
			s->pos = ld_pos(k);
			if (sv->kind != YTREE_MAP)
				rc = ld_fail_type(l, sv, "a mapping with at "
				    "least \"connect\"");
			else
				rc = walk(l, sv, service_fields, s);
		}
		ld_pop(l, mark);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- the interface ---- */

static void
set_defaults(config *c)
{
	c->workers_auto = 1;
	c->log_level = LOG_INFO;
	c->log_format = LOG_TEXT;
	c->limits.max_sessions = 64;
	c->limits.max_handshakes = 64;
	c->limits.handshakes_per_source = 20;
	c->limits.max_streams = 1024;
	c->limits.max_connections = 4096;
	c->limits.session_buffer = 16 * MiB;
	c->limits.replay_slots = 16384;
	c->timeouts.handshake_ms = 10 * SEC;
	c->timeouts.connect_ms = 10 * SEC;
	c->timeouts.keepalive_ms = 15 * SEC;
	c->timeouts.dead_ms = 45 * SEC;
	c->timeouts.stream_idle_ms = 0;
	c->timeouts.drain_ms = 10 * SEC;
	c->timeouts.datagram_idle_ms = 30 * SEC;
	c->timeouts.resume_ms = 30 * SEC;
	c->timeouts.reconnect_min_ms = 1 * SEC;
	c->timeouts.reconnect_max_ms = 60 * SEC;
	c->flow.window = 256 * KiB;
	c->flow.max_window = 16 * MiB;
	c->rekey.bytes = GiB;
	c->rekey.interval_ms = 10 * MINUTE;
	c->rekey.fresh_interval_ms = HOUR;
}

int
config_control_in(const char *dir, const char *config_path, char *out,
    size_t len)
{
	const char *base = strrchr(config_path, '/');
	size_t n;

	base = base != NULL ? base + 1 : config_path;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".yaml") == 0)
		n -= 5;
	else if (n > 4 && strcmp(base + n - 4, ".yml") == 0)
		n -= 4;
	if (strlen(dir) + 1 + n + 5 >=
	    sizeof(((struct sockaddr_un *)0)->sun_path) || strlen(dir) + 1 +
	    n + 5 >= len) {
		snprintf(out, len, "the default control socket in %s would be "
		    "too long for a Unix socket; set control: to a shorter path, "
		    "or off", dir);
		return STP_ETOOBIG;
	}
	snprintf(out, len, "%s/%.*s.sock", dir, (int)n, base);
	return 0;
}

int
config_default_control(const char *config_path, char *out, size_t len)
{
	const char *env;
	char dir[CFG_PATH_MAX];

	out[0] = '\0';
	dir[0] = '\0';
	/* systemd may list several directories, separated by ':'. */
	if ((env = getenv("RUNTIME_DIRECTORY")) != NULL && env[0] == '/')
		snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(env, ":"), env);
	else if (geteuid() == 0)
		snprintf(dir, sizeof(dir), "/run/stpgate");
	else if ((env = getenv("XDG_RUNTIME_DIR")) != NULL && env[0] == '/')
		snprintf(dir, sizeof(dir), "%s/stpgate", env);
	if (dir[0] == '\0')
		return 1;
	return config_control_in(dir, config_path, out, len);
}

int
config_find_control(const char *path, char *out, size_t len,
    int *is_default, char *err, size_t errlen)
{
	const ytree_node *v = NULL;
	ytree *t = NULL;
	int rc;

	*is_default = 0;
	out[0] = '\0';
	rc = ytree_load_file(path, CFG_FILE_MAX, &t, err, errlen);
	if (rc == STP_EIO || rc == STP_ETOOBIG || rc == STP_ENOMEM)
		return rc;
	if (rc == 0)
		v = ytree_get(ytree_root(t), "control");
	if (v != NULL && v->kind == YTREE_SCALAR && !ytree_is_null(v) &&
	    memchr(v->str, '\0', v->len) == NULL) {
		if (!ld_control_off(v))
			snprintf(out, len, "%.*s%s", (int)ld_dir_len(path, v->str),
			    path, v->str);
	} else {
		*is_default = 1;
		if (config_default_control(path, out, len) != 0)
			out[0] = '\0';
	}
	ytree_free(t);
	return 0;
}

int
config_load(const char *path, config **out, char *err, size_t err_len)
{
	const ytree_node *root;
	struct ld l;
	ytree *t = NULL;
	config *c = NULL;
	char d[SHOW_BUF + 16];
	int rc;

	memset(&l, 0, sizeof(l));
	l.file = path;
	l.err = err;
	l.err_len = err_len;
	if (err != NULL && err_len > 0)
		err[0] = '\0';
	if (strlen(path) >= CFG_PATH_MAX) {
		ld_fail_key(&l, 0, 0, NULL, "path too long");
		rc = STP_ETOOBIG;
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->files = calloc(1, sizeof(*c->files))) == NULL ||
	    (c->files[0] = strdup(path)) == NULL) {
		rc = ld_oom(&l);
		goto out;
	}
	c->n_files = 1;
	memcpy(c->path, path, strlen(path) + 1);
	set_defaults(c);
	l.c = c;
	if ((rc = ld_check_file_mode(&l, 0)) != 0 ||
	    (rc = ytree_load_file(path, CFG_FILE_MAX, &t, err, err_len)) != 0)
		goto out;
	root = l.root = ytree_root(t);
	if (root->line == 0 || ytree_is_null(root)) {
		rc = ld_fail_key(&l, root->line, root->col, NULL, "the file is "
		    "empty: expected a mapping with at least \"identity\"");
		goto out;
	}
	if (root->kind != YTREE_MAP) {
		rc = ld_fail_key(&l, root->line, root->col, NULL, "expected a "
		    "mapping at the top level, got %s", ld_describe(d, root));
		goto out;
	}
	if ((rc = ld_include(&l)) != 0)
		goto out;
	/* Now that every file is known, one flag each (check_secret_mode). */
	if ((l.secret_seen = calloc(c->n_files, 1)) == NULL) {
		rc = ld_oom(&l);
		goto out;
	}
	if ((rc = walk(&l, l.root, top_fields, c)) != 0 ||
	    (rc = ld_configure_plugins(&l)) != 0 ||
	    (rc = ld_relations(&l)) != 0 ||
	    (rc = ld_load_identity(&l)) != 0)
		goto out;
	if (!c->has_control) {
		rc = config_default_control(path, c->control, sizeof(c->control));
		if (rc == STP_ETOOBIG) {
			ld_fail_key(&l, 0, 0, "control", "%s", c->control);
			goto out;
		}
		c->control_default = rc == 0;
		rc = 0;
	}
	/* Each file as read, for watch: (gateway_watch.c). */
	if ((c->file_ids = calloc(c->n_files, sizeof(*c->file_ids))) == NULL) {
		rc = ld_oom(&l);
		goto out;
	}
	c->file_ids[0] = ytree_file_id(t);
	ld_include_ids(&l, c->file_ids);
	*out = c;
	c = NULL;
	rc = 0;
out:
	free(l.key_pos);
	free(l.secret_seen);
	ld_include_free(&l);
	config_free(c);
	ytree_free(t);
	return rc;
}

void
config_free(config *c)
{
	size_t i;

	if (c == NULL)
		return;
	sign_key_free(c->identity);
	sign_key_free(c->previous_identity);
	for (i = 0; i < c->n_files; i++)
		free(c->files[i]);
	free(c->files);
	for (i = 0; i < c->n_watch_dirs; i++)
		free(c->watch_dirs[i]);
	free(c->watch_dirs);
	free(c->watch_dir_ids);
	free(c->file_ids);
	plugin_cfgs_free(&c->plugins);
	for (i = 0; i < c->n_services; i++)
		free(c->services[i].allow);
	free(c->services);
	free(c->forwards);
	for (i = 0; i < c->n_peers; i++) {
		crypto_wipe(c->peers[i].access_secret,
		    sizeof(c->peers[i].access_secret));
		destpolicy_free(c->peers[i].destinations);
	}
	free(c->peers);
	crypto_wipe(c->access_secret, sizeof(c->access_secret));
	free(c);
}

long
config_peer_by_key(const config *c, const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < c->n_peers; i++)
		if (config_peer_has_key(&c->peers[i], key))
			return (long)i;
	return -1;
}

int
config_peer_has_key(const cfg_peer *p, const uint8_t key[32])
{
	unsigned i;

	for (i = 0; i < p->n_keys; i++)
		if (memcmp(p->keys[i], key, 32) == 0)
			return 1;
	return 0;
}

long
config_peer_by_name(const config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_peers; i++)
		if (strcmp(c->peers[i].name, name) == 0)
			return (long)i;
	return -1;
}

long
config_service_by_name(const config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_services; i++)
		if (strcmp(c->services[i].name, name) == 0)
			return (long)i;
	return -1;
}

int
config_service_allows(const config *c, size_t s, size_t p)
{
	size_t i;

	if (s >= c->n_services)
		return 0;
	for (i = 0; i < c->services[s].n_allow; i++)
		if (c->services[s].allow[i] == p)
			return 1;
	return 0;
}

void
config_summary(const config *c, char *out, size_t len)
{
	char pub[IDENTITY_PUBTEXT_LEN + 1] = "?", lsn[CFG_HOST_MAX + 64], wk[32];
	char sec[48] = "", prev[IDENTITY_PUBTEXT_LEN + 32] = "", inc[48] = "";
	uint8_t pk[SIGN_PUB_LEN];
	size_t i, dialed = 0, secrets = 0, o;

	if (out == NULL || len == 0)
		return;
	if (c->identity != NULL) {
		sign_key_public(c->identity, pk);
		if (identity_pub_encode(pk, pub) != 0)
			snprintf(pub, sizeof(pub), "?");
	}
	if (c->previous_identity != NULL) {
		char t[IDENTITY_PUBTEXT_LEN + 1];

		sign_key_public(c->previous_identity, pk);
		if (identity_pub_encode(pk, t) == 0)
			snprintf(prev, sizeof(prev), " (and previous %s)", t);
	}
	/* Whether secrets are set, never what they are. */
	for (i = 0; i < c->n_peers; i++) {
		dialed += c->peers[i].has_dial != 0;
		secrets += c->peers[i].has_access_secret != 0;
	}
	if (secrets > 0)
		snprintf(sec, sizeof(sec), ", %zu with an access secret",
		    secrets);
	if (c->has_listen) {
		memcpy(lsn, "listen ", 7);
		config_addr_text(lsn + 7, sizeof(lsn) - 7, &c->listen);
	} else {
		snprintf(lsn, sizeof(lsn), "not listening");
	}
	if (c->has_access_secret) {
		o = strlen(lsn);
		snprintf(lsn + o, sizeof(lsn) - o, " (access secret: set)");
	}
	if (c->n_files > 1)
		snprintf(inc, sizeof(inc), ", %zu included file%s",
		    c->n_files - 1, c->n_files == 2 ? "" : "s");
	if (c->workers_auto)
		snprintf(wk, sizeof(wk), "workers auto");
	else
		snprintf(wk, sizeof(wk), "%u worker%s", c->workers,
		    c->workers == 1 ? "" : "s");
	snprintf(out, len, "%s: ok: identity %s%s, %zu peer%s (%zu dialed%s), "
	    "%zu forward%s, %zu service%s%s, %s, %s, control %s", c->path, pub,
	    prev, c->n_peers, c->n_peers == 1 ? "" : "s", dialed, sec,
	    c->n_forwards, c->n_forwards == 1 ? "" : "s", c->n_services,
	    c->n_services == 1 ? "" : "s", inc, lsn, wk,
	    c->control[0] != '\0' ? c->control : "off");
}

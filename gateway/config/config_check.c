/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_check.c: passes 2 and 3 of the config loader (config_int.h):
 * relations between values (names a forward or service refers to, two
 * peers with one key, listeners that collide, orderings between values),
 * each candidate error considered and the earliest kept (in load order:
 * the main file, then the included files as they were read); then
 * the identity file, and no peer with our own key.
 */
#include "config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "identity.h"

/* ---- relations (pass 2) ---- */

/* Load order: the main file, then the included files as they were read. */
static int
pos_cmp(cfg_pos a, cfg_pos b)
{
	if (a.file != b.file)
		return a.file < b.file ? -1 : 1;
	if (a.line != b.line)
		return a.line < b.line ? -1 : 1;
	return a.col < b.col ? -1 : a.col > b.col;
}

static int
cmp_peer_name(const void *pa, const void *pb)
{
	const cfg_peer *a = *(const cfg_peer *const *)pa;
	const cfg_peer *b = *(const cfg_peer *const *)pb;

	return strcmp(a->name, b->name);
}

/* One key of one peer, for finding a key two peers list. */
struct keyref {
	const cfg_peer *p;
	unsigned k;
};

/* Keys sorted by value; equal keys in file (array, list) order. */
static int
cmp_keyref(const void *pa, const void *pb)
{
	const struct keyref *a = pa, *b = pb;
	int d = memcmp(a->p->keys[a->k], b->p->keys[b->k], 32);

	if (d != 0)
		return d;
	if (a->p != b->p)
		return a->p < b->p ? -1 : 1;
	return a->k < b->k ? -1 : a->k > b->k;
}

/* Index of the peer named name in the sorted list, or -1. */
static long
find_peer(const config *c, const cfg_peer *const *byname, const char *name)
{
	size_t lo = 0, hi = c->n_peers, mid;
	int d;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		d = strcmp(name, byname[mid]->name);
		if (d == 0)
			return (long)(byname[mid] - c->peers);
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* "(known: a, b, c)" in file order, or that there are none. */
static const char *
known_peers(const config *c, char *buf, size_t len)
{
	size_t i, o;

	if (c->n_peers == 0) {
		snprintf(buf, len, "(no peers are defined)");
		return buf;
	}
	o = (size_t)snprintf(buf, len, "(known: ");
	for (i = 0; i < c->n_peers && i < KNOWN_MAX && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "",
		    c->peers[i].name);
	if (o < len)
		snprintf(buf + o, len - o, "%s)", i < c->n_peers ? ", ..." : "");
	return buf;
}

/* Resolve a peer name node used at key; returns the index or -1 (reported). */
static long
resolve_peer(struct ld *l, const cfg_peer *const *byname,
    const ytree_node *n, const char *key)
{
	char q[SHOW_BUF], known[KNOWN_MAX * (CFG_NAME_MAX + 2) + 32];
	long i = find_peer(l->c, byname, n->str);

	if (i < 0)
		ld_xfail(l, ld_pos(n), key, "no peer named %s %s",
		    ld_show(q, n->str, n->len), known_peers(l->c, known,
		    sizeof(known)));
	return i;
}

static int
cmp_size_t(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	return a < b ? -1 : a > b;
}

/* Listeners: the top-level listen, metrics, every forward. */
struct lsn {
	const cfg_addr *a;
	int kind;           /* 0 listen, 1 metrics, 2 forward */
	size_t idx;
};

static int
cmp_lsn(const void *pa, const void *pb)
{
	const struct lsn *a = pa, *b = pb;

	if (a->a->port != b->a->port)
		return a->a->port < b->a->port ? -1 : 1;
	return pos_cmp(a->a->pos, b->a->pos);
}

static const char *
lsn_name(const struct ld *l, char *buf, size_t len, const struct lsn *x)
{
	if (x->kind == 0)
		snprintf(buf, len, "listen");
	else if (x->kind == 1)
		snprintf(buf, len, "metrics");
	else
		snprintf(buf, len, "forwards[%zu].listen",
		    ld_forward_index(l, x->idx));
	return buf;
}

static int
addr_is_any(const cfg_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)&a->ss)->
		    sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
	    &((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_addr);
}

/* Same port: would binding both fail?  0 same address, 1 overlap, -1 no. */
static int
addr_clash(const cfg_addr *a, const cfg_addr *b)
{
	int fa = a->ss.ss_family, fb = b->ss.ss_family;

	if (a->is_udp != b->is_udp)
		return -1;      /* UDP and TCP ports are apart */
	if (a->is_unix || b->is_unix)
		return a->is_unix && b->is_unix && strcmp(a->host, b->host) == 0 ?
		    0 : -1;
	if (fa == fb && a->ss_len == b->ss_len) {
		if (fa == AF_INET && memcmp(
		    &((const struct sockaddr_in *)(const void *)&a->ss)->sin_addr,
		    &((const struct sockaddr_in *)(const void *)&b->ss)->sin_addr,
		    sizeof(struct in_addr)) == 0)
			return 0;
		if (fa == AF_INET6 && memcmp(
		    &((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_addr,
		    &((const struct sockaddr_in6 *)(const void *)&b->ss)->sin6_addr,
		    sizeof(struct in6_addr)) == 0)
			return 0;
	}
	/* [::] takes IPv4 too unless IPV6_V6ONLY; 0.0.0.0 takes all of IPv4. */
	if ((fa == AF_INET6 && addr_is_any(a)) ||
	    (fb == AF_INET6 && addr_is_any(b)))
		return 1;
	if (fa == AF_INET && fb == AF_INET && (addr_is_any(a) || addr_is_any(b)))
		return 1;
	return -1;
}

static int
check_listeners(struct ld *l)
{
	const config *c = l->c;
	struct lsn *v;
	size_t n = 0, i, j, g;
	char an[64], bn[64], as[CFG_HOST_MAX + 16], bs[CFG_HOST_MAX + 16];
	char at[CFG_PATH_MAX + 32];
	int k;

	if ((v = calloc(c->n_forwards + 2, sizeof(*v))) == NULL)
		return ld_oom(l);
	if (c->has_listen)
		v[n++] = (struct lsn){ &c->listen, 0, 0 };
	if (c->has_metrics)
		v[n++] = (struct lsn){ &c->metrics, 1, 0 };
	for (i = 0; i < c->n_forwards; i++)
		v[n++] = (struct lsn){ &c->forwards[i].listen, 2, i };
	qsort(v, n, sizeof(*v), cmp_lsn);
	for (g = 0; g < n; g = j) {
		for (j = g + 1; j < n && v[j].a->port == v[g].a->port; j++)
			;
		/* v[g..j) share a port, in file order. */
		for (size_t b = g + 1; b < j; b++) {
			for (size_t a = g; a < b; a++) {
				if ((k = addr_clash(v[a].a, v[b].a)) < 0)
					continue;
				lsn_name(l, an, sizeof(an), &v[a]);
				lsn_name(l, bn, sizeof(bn), &v[b]);
				ld_where(l, at, sizeof(at), v[b].a->pos,
				    v[a].a->pos);
				if (k == 0)
					ld_xfail(l, v[b].a->pos, bn, "same address "
					    "as %s (%s)", an, at);
				else
					ld_xfail(l, v[b].a->pos, bn, "%s overlaps "
					    "%s %s (%s)", config_addr_text(bs,
					    sizeof(bs), v[b].a), an, config_addr_text(as,
					    sizeof(as), v[a].a), at);
				break;
			}
		}
	}
	free(v);
	return 0;
}

/* The value node of sect.key when given and not null, else NULL. */
static const ytree_node *
given(struct ld *l, const char *sect, const char *key)
{
	const ytree_node *n = ytree_get(ytree_get(l->root, sect), key);

	return n == NULL || ytree_is_null(n) ? NULL : n;
}

/*
 * sect.ka must be below (strict) or at most sect.kb.  The key blamed is the
 * one given in the file (the later one when both are).
 */
static void
check_order(struct ld *l, const char *sect, const char *ka, uint64_t va,
    const char *kb, uint64_t vb, int strict,
    const char *(*fmt)(char *, size_t, uint64_t))
{
	const ytree_node *na = given(l, sect, ka), *nb = given(l, sect, kb);
	const ytree_node *blame;
	char key[64], sa[32], sb[32];

	if (strict ? va < vb : va <= vb)
		return;
	if (na != NULL && nb != NULL)
		blame = (na->line > nb->line || (na->line == nb->line &&
		    na->col > nb->col)) ? na : nb;
	else
		blame = na != NULL ? na : nb;
	if (blame == NULL)
		return;     /* the defaults are consistent */
	snprintf(key, sizeof(key), "%s.%s", sect, blame == na ? ka : kb);
	ld_xfail(l, ld_pos(blame), key, "%s.%s (%s) must be %s %s.%s (%s)", sect, ka,
	    fmt(sa, sizeof(sa), va), strict ? "less than" : "at most", sect,
	    kb, fmt(sb, sizeof(sb), vb));
}

int
ld_relations(struct ld *l)
{
	config *c = l->c;
	const cfg_peer **byname = NULL;
	struct keyref *bykey = NULL;
	const ytree_node *item, *n;
	char key[128], at[CFG_PATH_MAX + 32];
	size_t i, j, k, m;
	long pi;
	int rc;

	for (i = m = 0; i < c->n_peers; i++)
		m += c->peers[i].n_keys;
	if (c->n_peers > 0 &&
	    ((byname = calloc(c->n_peers, sizeof(*byname))) == NULL ||
	    (bykey = calloc(m, sizeof(*bykey))) == NULL)) {
		rc = ld_oom(l);
		goto out;
	}
	for (i = m = 0; i < c->n_peers; i++) {
		byname[i] = &c->peers[i];
		for (k = 0; k < c->peers[i].n_keys; k++, m++) {
			bykey[m].p = &c->peers[i];
			bykey[m].k = (unsigned)k;
		}
	}
	if (c->n_peers > 0) {
		qsort(byname, c->n_peers, sizeof(*byname), cmp_peer_name);
		qsort(bykey, m, sizeof(*bykey), cmp_keyref);
	}

	/* Two peers with one key: blame each later one, naming the first. */
	for (i = 0; i < m; i = j) {
		for (j = i + 1; j < m && memcmp(bykey[i].p->keys[bykey[i].k],
		    bykey[j].p->keys[bykey[j].k], 32) == 0; j++) {
			const cfg_peer *a = bykey[i].p, *b = bykey[j].p;

			snprintf(key, sizeof(key), "peers.%s.key", b->name);
			ld_xfail(l, b->keys_pos[bykey[j].k], key, "same key as "
			    "peers.%s (%s)", a->name, ld_where(l, at, sizeof(at),
			    b->keys_pos[bykey[j].k], a->keys_pos[bykey[i].k]));
		}
	}

	for (i = 0; i < c->n_forwards; i++) {
		cfg_forward *fw = &c->forwards[i];

		item = ytree_item(l->forwards, i);
		snprintf(key, sizeof(key), "forwards[%zu].peer",
		    ld_forward_index(l, i));
		if ((pi = resolve_peer(l, byname, ytree_get(item, "peer"),
		    key)) >= 0)
			fw->peer = (size_t)pi;
		if (!fw->listen.is_unix) {
			static const char *const unix_only[] = { "mode", "owner",
			    "group" };
			const ytree_node *kv;

			for (size_t u = 0; u < 3; u++) {
				if ((kv = ytree_get(item, unix_only[u])) == NULL)
					continue;
				snprintf(key, sizeof(key), "forwards[%zu].%s",
				    ld_forward_index(l, i), unix_only[u]);
				ld_xfail(l, ld_pos(kv), key, "applies only to a "
				    "unix:PATH listen address");
			}
		} else if (c->control[0] != '\0' &&
		    strcmp(c->control, fw->listen.host) == 0) {
			snprintf(key, sizeof(key), "forwards[%zu].listen",
			    ld_forward_index(l, i));
			ld_xfail(l, fw->listen.pos, key, "the same path as the "
			    "control socket");
		}
		if (!fw->allow_remote && !ld_addr_is_loopback(&fw->listen)) {
			snprintf(key, sizeof(key), "forwards[%zu].listen",
			    ld_forward_index(l, i));
			ld_xfail(l, fw->listen.pos, key, "%s is not a loopback "
			    "address; set allow_remote: true to listen there",
			    fw->listen.host);
		}
	}

	/* The metrics endpoint is unauthenticated plain HTTP: loopback unless
	 * the config asks for more in so many words. */
	if (c->has_metrics && !c->metrics_allow_remote &&
	    !ld_addr_is_loopback(&c->metrics)) {
		const ytree_node *mv = ytree_get(l->root, "metrics");

		if (mv != NULL && mv->kind == YTREE_MAP)
			ld_xfail(l, c->metrics.pos, "metrics.listen", "%s is not a "
			    "loopback address; the endpoint is unauthenticated "
			    "plain HTTP: set metrics.allow_remote: true to serve "
			    "it there", c->metrics.host);
		else
			ld_xfail(l, c->metrics.pos, "metrics", "%s is not a "
			    "loopback address (expected 127.0.0.0/8 or [::1]); the "
			    "endpoint is unauthenticated plain HTTP: write metrics: "
			    "{listen: ..., allow_remote: true} to serve it there",
			    c->metrics.host);
	}

	for (i = 0; i < c->n_services; i++) {
		cfg_service *s = &c->services[i];

		/* A PROXY header leads a byte stream; a datagram has none. */
		n = ytree_get(ytree_value(l->services, i), "proxy_protocol");
		if (s->connect.is_udp && s->proxy_protocol != PROXY_OFF &&
		    n != NULL) {
			snprintf(key, sizeof(key), "services.%s.proxy_protocol",
			    s->name);
			ld_xfail(l, ld_pos(n), key, "applies to stream services, "
			    "not to a udp: one");
		}
		n = ytree_get(ytree_value(l->services, i), "allow");
		if (n == NULL || (m = ytree_count(n)) == 0)
			continue;
		if ((s->allow = calloc(m, sizeof(*s->allow))) == NULL) {
			rc = ld_oom(l);
			goto out;
		}
		for (j = 0; j < m; j++) {
			snprintf(key, sizeof(key), "services.%s.allow[%zu]",
			    s->name, j);
			if ((pi = resolve_peer(l, byname, ytree_item(n, j),
			    key)) >= 0)
				s->allow[s->n_allow++] = (size_t)pi;
		}
		/* Sorted and unique: a name listed twice is harmless. */
		qsort(s->allow, s->n_allow, sizeof(*s->allow), cmp_size_t);
		for (j = k = 0; j < s->n_allow; j++)
			if (k == 0 || s->allow[k - 1] != s->allow[j])
				s->allow[k++] = s->allow[j];
		s->n_allow = k;
	}

	if ((rc = check_listeners(l)) != 0)
		goto out;

	check_order(l, "flow", "window", c->flow.window, "max_window",
	    c->flow.max_window, 0, ld_fmt_size);
	check_order(l, "timeouts", "keepalive", c->timeouts.keepalive_ms,
	    "dead_after", c->timeouts.dead_ms, 1, ld_fmt_dur);
	check_order(l, "timeouts", "reconnect_min",
	    c->timeouts.reconnect_min_ms, "reconnect_max",
	    c->timeouts.reconnect_max_ms, 0, ld_fmt_dur);
	rc = l->xhave ? STP_EPARSE : 0;
out:
	free(byname);
	free(bykey);
	return rc;
}

/* ---- the identity (pass 3) ---- */

/* Load one identity file (identity: or previous_identity:, at node v). */
static int
load_one(struct ld *l, const ytree_node *v, const char *name, const char *path,
    sign_key **out)
{
	config *c = l->c;
	uint8_t pub[SIGN_PUB_LEN];
	char msg[CFG_PATH_MAX * 2 + 256], key[128];
	long i;
	int rc;

	if ((rc = identity_load(path, out, msg, sizeof(msg))) != 0) {
		ld_fail_pos(l, ld_pos(v), name, "%s", msg);
		if (rc == STP_EINVAL)
			rc = STP_EIO;       /* not a regular file */
		else if (rc == STP_EKEY)
			rc = STP_EPARSE;    /* "# public:" disagrees */
		return rc;
	}
	sign_key_public(*out, pub);
	if ((i = config_peer_by_key(c, pub)) >= 0) {
		const cfg_peer *p = &c->peers[i];
		unsigned k = 0;

		while (k + 1 < p->n_keys && memcmp(p->keys[k], pub, 32) != 0)
			k++;
		snprintf(key, sizeof(key), "peers.%s.key", p->name);
		return ld_fail_pos(l, p->keys_pos[k], key,
		    "this is our own public key (%s: %s); a gateway "
		    "cannot be its own peer", name, path);
	}
	return 0;
}

int
ld_load_identity(struct ld *l)
{
	config *c = l->c;
	uint8_t a[SIGN_PUB_LEN], b[SIGN_PUB_LEN];
	int rc;

	if ((rc = load_one(l, l->identity, "identity", c->identity_path,
	    &c->identity)) != 0)
		return rc;
	if (l->previous == NULL || c->previous_identity_path[0] == '\0')
		return 0;
	if ((rc = load_one(l, l->previous, "previous_identity",
	    c->previous_identity_path, &c->previous_identity)) != 0)
		return rc;
	sign_key_public(c->identity, a);
	sign_key_public(c->previous_identity, b);
	if (memcmp(a, b, sizeof(a)) == 0)
		return ld_fail_pos(l, ld_pos(l->previous), "previous_identity",
		    "the same key as identity: (%s); after a rotation, remove "
		    "previous_identity", c->identity_path);
	return 0;
}

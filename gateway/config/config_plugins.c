/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_plugins.c: the plugins' own settings (plugin_api.h, stp_cfg_*):
 * each built-in plugin reads its subtree of plugins: with the loader's own
 * value parsers, and its errors name file:line:col: plugins.NAME.key as the
 * core's do (config_int.h).
 */
#include "config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "plugin.h"

/* ---- the plugins' settings (plugin_api.h: stp_cfg_*) ---- */

struct stp_cfg {
	struct ld *l;
	const ytree_node *root;         /* the plugin's subtree */
};

/* Push the key path from m down to node n (1 if found; nothing pushed if not). */
static int
push_path(struct ld *l, const ytree_node *m, const ytree_node *n, int depth)
{
	size_t i, mark;

	if (m == NULL || m->kind != YTREE_MAP || depth > 8)
		return 0;
	for (i = 0; i < ytree_count(m); i++) {
		const ytree_node *k = ytree_key(m, i), *v = ytree_value(m, i);

		mark = ld_push_key(l, k->str, k->len);
		if (v == n || push_path(l, v, n, depth + 1))
			return 1;
		ld_pop(l, mark);
	}
	return 0;
}

/* Report at n (or the plugin's own key) under plugins.NAME[.key]. */
static int cfg_report(stp_cfg *cx, const ytree_node *n, const char *key,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static int
cfg_report(stp_cfg *cx, const ytree_node *n, const char *key, const char *fmt,
    va_list ap)
{
	struct ld *l = cx->l;
	size_t mark = l->plen;
	unsigned line = n != NULL ? n->line : 0, col = n != NULL ? n->col : 0;

	if (key != NULL)
		ld_push_key(l, key, strlen(key));
	else if (n != NULL && n != cx->root)
		push_path(l, cx->root, n, 0);
	ld_vreport(l, line, col, l->path, fmt, ap);
	ld_pop(l, mark);
	return STP_PLUGIN_EBADCFG;
}

int
stp_cfg_error(stp_cfg *cx, const stp_node *n, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cfg_report(cx, n, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

const stp_node *
stp_cfg_get(const stp_node *map, const char *key)
{
	return map != NULL ? ytree_get(map, key) : NULL;
}

/* Run one of the loader's value parsers on map.key as a field with min..max. */
static int
cfg_field(stp_cfg *cx, const stp_node *map, const char *key, parse_fn parse,
    uint64_t min, uint64_t max, void *dst, size_t w)
{
	struct ld *l = cx->l;
	const ytree_node *v = stp_cfg_get(map, key);
	struct field f;
	size_t mark;
	int rc;

	if (v == NULL || ytree_is_null(v))
		return 0;
	memset(&f, 0, sizeof(f));
	f.name = key;
	f.min = min;
	f.max = max;
	f.w = w;
	mark = ld_push_key(l, key, strlen(key));
	rc = parse(l, v, &f, dst);
	ld_pop(l, mark);
	return rc == 0 ? 0 : STP_PLUGIN_EBADCFG;
}

int
stp_cfg_keys(stp_cfg *cx, const stp_node *map, const char *const *keys)
{
	char names[256], d[SHOW_BUF + 16];
	size_t i, j, o;

	if (map == NULL || ytree_is_null(map))
		return 0;
	if (map->kind != YTREE_MAP)
		return stp_cfg_error(cx, map, "expected a mapping of settings, got %s",
		    ld_describe(d, map));
	for (i = 0; i < ytree_count(map); i++) {
		const ytree_node *k = ytree_key(map, i);

		for (j = 0; keys[j] != NULL; j++)
			if (strlen(keys[j]) == k->len &&
			    memcmp(keys[j], k->str, k->len) == 0)
				break;
		if (keys[j] != NULL)
			continue;
		names[0] = '\0';
		if (keys[0] == NULL)
			snprintf(names, sizeof(names), "none: this plugin has no settings");
		for (o = 0, j = 0; keys[j] != NULL && o < sizeof(names); j++)
			o += (size_t)snprintf(names + o, sizeof(names) - o,
			    "%s%s", j ? ", " : "", keys[j]);
		{
			size_t mark = ld_push_key(cx->l, k->str, k->len);

			ld_fail(cx->l, k, "unknown key (expected one of: %s)", names);
			ld_pop(cx->l, mark);
		}
		return STP_PLUGIN_EBADCFG;
	}
	return 0;
}

int
stp_cfg_uint(stp_cfg *cx, const stp_node *map, const char *key, uint64_t min,
    uint64_t max, uint64_t *out)
{
	return cfg_field(cx, map, key, ld_p_int, min, max, out, sizeof(*out));
}

int
stp_cfg_size(stp_cfg *cx, const stp_node *map, const char *key, uint64_t min,
    uint64_t max, uint64_t *out)
{
	return cfg_field(cx, map, key, ld_p_size, min, max, out, sizeof(*out));
}

int
stp_cfg_duration(stp_cfg *cx, const stp_node *map, const char *key,
    uint64_t min_ms, uint64_t max_ms, uint64_t *out_ms)
{
	return cfg_field(cx, map, key, ld_p_dur, min_ms, max_ms, out_ms,
	    sizeof(*out_ms));
}

int
stp_cfg_bool(stp_cfg *cx, const stp_node *map, const char *key, int *out)
{
	return cfg_field(cx, map, key, ld_p_bool, 0, 1, out, sizeof(*out));
}

int
stp_cfg_number(stp_cfg *cx, const stp_node *map, const char *key, double min,
    double max, double *out)
{
	const ytree_node *v = stp_cfg_get(map, key);
	char d[SHOW_BUF + 16], *end;
	size_t mark;
	double x;
	int rc = 0;

	if (v == NULL || ytree_is_null(v))
		return 0;
	mark = ld_push_key(cx->l, key, strlen(key));
	if (!ld_is_plain(v) || v->len == 0 || v->len > 32 ||
	    strspn(v->str, "0123456789.eE+-") != v->len) {
		rc = ld_fail(cx->l, v, "expected a number %g..%g, got %s", min,
		    max, ld_describe(d, v));
	} else {
		errno = 0;
		x = strtod(v->str, &end);
		if (errno != 0 || *end != '\0' || !(x >= min && x <= max))
			rc = ld_fail(cx->l, v, "%s is out of range %g..%g", v->str,
			    min, max);
		else
			*out = x;
	}
	ld_pop(cx->l, mark);
	return rc == 0 ? 0 : STP_PLUGIN_EBADCFG;
}

int
stp_cfg_sizes(stp_cfg *cx, const stp_node *map, const char *key, uint64_t min,
    uint64_t max, uint64_t *out, size_t max_n, size_t *n_out)
{
	const ytree_node *v = stp_cfg_get(map, key);
	struct field f;
	char d[SHOW_BUF + 16];
	size_t i, mark;
	int rc = 0;

	if (v == NULL || ytree_is_null(v))
		return 0;
	mark = ld_push_key(cx->l, key, strlen(key));
	if (v->kind != YTREE_SEQ || v->n == 0 || v->n > max_n) {
		rc = ld_fail(cx->l, v, "expected a sequence of 1..%zu sizes, got %s",
		    max_n, v->kind == YTREE_SEQ ? "a longer one" :
		    ld_describe(d, v));
		goto out;
	}
	memset(&f, 0, sizeof(f));
	f.name = key;
	f.min = min;
	f.max = max;
	f.w = sizeof(*out);
	for (i = 0; i < v->n && rc == 0; i++)
		rc = ld_p_size(cx->l, v->kids[i], &f, &out[i]);
	if (rc == 0)
		*n_out = v->n;
out:
	ld_pop(cx->l, mark);
	return rc == 0 ? 0 : STP_PLUGIN_EBADCFG;
}

int
stp_cfg_string(stp_cfg *cx, const stp_node *map, const char *key, char *out,
    size_t out_len)
{
	const ytree_node *v = stp_cfg_get(map, key);
	char d[SHOW_BUF + 16];
	size_t mark;
	int rc = 0;

	if (v == NULL || ytree_is_null(v))
		return 0;
	mark = ld_push_key(cx->l, key, strlen(key));
	if (v->kind != YTREE_SCALAR)
		rc = ld_fail_type(cx->l, v, "a string");
	else if (v->len >= out_len || memchr(v->str, '\0', v->len) != NULL)
		rc = ld_fail(cx->l, v, "expected a string of at most %zu bytes "
		    "without NUL, got %s", out_len - 1, ld_describe(d, v));
	else
		memcpy(out, v->str, v->len + 1);
	ld_pop(cx->l, mark);
	return rc == 0 ? 0 : STP_PLUGIN_EBADCFG;
}

/* Every built-in plugin sees its subtree (NULL when absent). */
int
ld_configure_plugins(struct ld *l)
{
	stp_cfg cx = { l, NULL };
	size_t i, mark;
	int rc;

	for (i = 0; i < plugin_count(); i++) {
		const stp_plugin *p = plugin_at(i);
		const ytree_node *n = l->plugins != NULL ?
		    ytree_get(l->plugins, p->name) : NULL;

		cx.root = n;
		mark = ld_push_key(l, "plugins", 7);
		ld_push_key(l, p->name, strlen(p->name));
		rc = p->configure(&cx, n, &l->c->plugins.cfg[i],
		    &l->c->plugins.enabled[i]);
		ld_pop(l, mark);
		if (rc != 0) {
			if (l->err != NULL && l->err_len > 0 && l->err[0] == '\0')
				ld_fail_key(l, n ? n->line : 0, n ? n->col : 0,
				    p->name, "plugin settings refused");
			return STP_EPARSE;
		}
	}
	return 0;
}

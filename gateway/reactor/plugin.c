/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plugin.c: the plugins built in, their running set, and the run-time
 * services plugin_api.h promises (stp_log, stp_count, stp_random, hashes).
 * The configuration getters (stp_cfg_*) live in config.c, beside the loader
 * whose file:line:col messages they share.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "err.h"
#include "handshake.h"
#include "log.h"
#include "plugin.h"

extern const stp_plugin stp_plugin_pow;
extern const stp_plugin stp_plugin_padding;
extern const stp_plugin stp_plugin_socks5;

static const stp_plugin *builtin[PLUGIN_MAX] = {
	&stp_plugin_pow, &stp_plugin_padding, &stp_plugin_socks5,
};
static size_t n_builtin = 3;

int
plugin_register(const stp_plugin *p)
{
	if (p == NULL || p->name == NULL || p->configure == NULL ||
	    (p->api_version >> 16) != STP_PLUGIN_API_MAJOR ||
	    plugin_find(p->name) >= 0)
		return STP_EINVAL;
	if (n_builtin == PLUGIN_MAX)
		return STP_ENOMEM;
	builtin[n_builtin++] = p;
	return 0;
}

size_t
plugin_count(void)
{
	return n_builtin;
}

const stp_plugin *
plugin_at(size_t i)
{
	return i < n_builtin ? builtin[i] : NULL;
}

long
plugin_find(const char *name)
{
	size_t i;

	for (i = 0; i < n_builtin; i++)
		if (strcmp(builtin[i]->name, name) == 0)
			return (long)i;
	return -1;
}

void
plugin_cfgs_free(plugin_cfgs *pc)
{
	size_t i;

	for (i = 0; i < n_builtin; i++) {
		if (pc->cfg[i] != NULL && builtin[i]->cfg_free != NULL)
			builtin[i]->cfg_free(pc->cfg[i]);
		pc->cfg[i] = NULL;
	}
}

/* ---- the running set ---- */

struct plugins {
	unsigned refs;
	size_t n;
	void *inst[PLUGIN_MAX];
	int enabled[PLUGIN_MAX];
	int open[PLUGIN_MAX];
};

int
plugins_open(const config *c, plugins **out, char *why, size_t why_len)
{
	plugins *ps;
	size_t i;
	int rc;

	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		snprintf(why, why_len, "out of memory");
		return STP_ENOMEM;
	}
	ps->refs = 1;
	ps->n = n_builtin;
	for (i = 0; i < n_builtin; i++) {
		ps->enabled[i] = c->plugins.enabled[i];
		if (builtin[i]->open == NULL)
			continue;
		rc = builtin[i]->open(c->plugins.cfg[i], ps->enabled[i], &ps->inst[i]);
		if (rc != 0) {
			snprintf(why, why_len, "plugin %s: could not start",
			    builtin[i]->name);
			plugins_unref(ps);
			return rc < 0 ? rc : STP_EINVAL;
		}
		ps->open[i] = 1;
	}
	*out = ps;
	return 0;
}

plugins *
plugins_ref(plugins *ps)
{
	if (ps != NULL)
		ps->refs++;
	return ps;
}

void
plugins_unref(plugins *ps)
{
	size_t i;

	if (ps == NULL || --ps->refs > 0)
		return;
	for (i = 0; i < ps->n; i++)
		if (ps->open[i] && builtin[i]->close != NULL)
			builtin[i]->close(ps->inst[i]);
	free(ps);
}

int
plugins_admission_on(const plugins *ps)
{
	size_t i;

	if (ps == NULL)
		return 0;
	for (i = 0; i < ps->n; i++)
		if (ps->enabled[i] && builtin[i]->admission != NULL &&
		    builtin[i]->admission->admit != NULL)
			return 1;
	return 0;
}

int
plugins_admit(plugins *ps, const struct sockaddr *src,
    const uint8_t *admission, size_t admission_len, uint8_t *chal,
    size_t *chal_len)
{
	size_t i, cap = *chal_len;
	int v;

	for (i = 0; ps != NULL && i < ps->n; i++) {
		const stp_admission_ops *a = builtin[i]->admission;

		if (!ps->enabled[i] || a == NULL || a->admit == NULL)
			continue;
		*chal_len = cap;
		v = a->admit(ps->inst[i], src, admission, admission_len, chal,
		    chal_len);
		if (v == STP_ADMIT)
			continue;
		if (v == STP_ADMIT_CHALLENGE && *chal_len >= 1 &&
		    *chal_len <= cap && chal[0] == a->tag)
			return HS_ADMIT_CHALLENGE;
		return HS_ADMIT_REJECT;
	}
	return HS_ADMIT;
}

int
plugins_answer(plugins *ps, const uint8_t *chal, size_t chal_len,
    uint8_t *ans, size_t *ans_len)
{
	size_t i;

	if (chal_len == 0)
		return STP_EPROTO;
	for (i = 0; i < n_builtin; i++) {
		const stp_admission_ops *a = builtin[i]->admission;

		if (a == NULL || a->answer == NULL || a->tag != chal[0])
			continue;
		return a->answer(ps != NULL && ps->open[i] ? ps->inst[i] : NULL,
		    chal, chal_len, ans, ans_len) == 0 ? 0 : STP_EREJECTED;
	}
	return STP_EPROTO;
}

int
plugins_dialer(plugins *ps, const cfg_peer *p, const stp_dialer_ops **ops,
    void **inst, char *host, size_t host_len, uint16_t *port, char *why,
    size_t why_len)
{
	stp_peer_view v;
	size_t i;
	int rc;

	if (ps == NULL)
		return 0;
	v.name = p->name;
	v.key = p->keys[0];
	v.host = p->dial.host;
	v.port = p->dial.port;
	v.proxy = p->has_proxy ? p->proxy : "";
	for (i = 0; i < ps->n; i++) {
		const stp_dialer_ops *d = builtin[i]->dialer;

		if (!ps->open[i] || d == NULL || d->route == NULL)
			continue;
		rc = d->route(ps->inst[i], &v, host, host_len, port, why, why_len);
		if (rc == 0)
			continue;
		if (rc > 0) {
			*ops = d;
			*inst = ps->inst[i];
			return 1;
		}
		return STP_EINVAL;
	}
	return 0;
}

const stp_shaper_ops *
plugins_shaper(plugins *ps, void **inst)
{
	size_t i;

	for (i = 0; ps != NULL && i < ps->n; i++)
		if (ps->enabled[i] && builtin[i]->shaper != NULL) {
			*inst = ps->inst[i];
			return builtin[i]->shaper;
		}
	return NULL;
}

/* ---- run-time services ---- */

static uv_loop_t *rt_loop;
static uint64_t (*rt_now)(void *);
static void *rt_now_arg;

void
plugin_runtime(uv_loop_t *loop, uint64_t (*now_ms)(void *), void *now_arg)
{
	rt_loop = loop;
	rt_now = now_ms;
	rt_now_arg = now_arg;
}

uv_loop_t *
stp_loop(void)
{
	return rt_loop;
}

uint64_t
stp_now_ms(void)
{
	return rt_now != NULL ? rt_now(rt_now_arg) : uv_hrtime() / 1000000;
}

void
stp_log(int level, const char *plugin, const char *key, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (key != NULL)
		log_limited(level, key, NULL, "plugin %s: %s", plugin, line);
	else
		log_msg(level, NULL, NULL, "plugin %s: %s", plugin, line);
}

#define EVENTS_MAX 64

static struct {
	const char *plugin, *event;
	uint64_t n;
} events[EVENTS_MAX];
static size_t n_events;
static pthread_mutex_t events_mu = PTHREAD_MUTEX_INITIALIZER;

void
stp_count(const char *plugin, const char *event, uint64_t n)
{
	size_t i;

	pthread_mutex_lock(&events_mu);
	for (i = 0; i < n_events; i++)
		if (events[i].event == event && events[i].plugin == plugin)
			break;
	if (i == n_events && n_events < EVENTS_MAX) {
		events[i].plugin = plugin;
		events[i].event = event;
		n_events++;
	}
	if (i < n_events)
		events[i].n += n;
	pthread_mutex_unlock(&events_mu);
}

void
plugin_events_foreach(void (*fn)(void *arg, const char *plugin,
    const char *event, uint64_t n), void *arg)
{
	size_t i, k;
	struct { const char *plugin, *event; uint64_t n; } copy[EVENTS_MAX];

	pthread_mutex_lock(&events_mu);
	k = n_events;
	for (i = 0; i < k; i++) {
		copy[i].plugin = events[i].plugin;
		copy[i].event = events[i].event;
		copy[i].n = events[i].n;
	}
	pthread_mutex_unlock(&events_mu);
	for (i = 0; i < k; i++)
		fn(arg, copy[i].plugin, copy[i].event, copy[i].n);
}

void
stp_random(void *buf, size_t len)
{
	if (rand_bytes(buf, len) != 0)
		abort(); /* no randomness: nothing safe is left to do */
}

uint32_t
stp_random_uniform(uint32_t bound)
{
	return rand_uniform(bound);
}

/* Plugins hash and MAC a few small fields: gather them, then one call. */
#define GATHER_MAX 1024

static int
gather(uint8_t *buf, const struct iovec *iov, size_t n, size_t *len)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (iov[i].iov_len > GATHER_MAX - k)
			return STP_ETOOBIG;
		memcpy(buf + k, iov[i].iov_base, iov[i].iov_len);
		k += iov[i].iov_len;
	}
	*len = k;
	return 0;
}

int
stp_sha256(uint8_t out[32], const struct iovec *iov, size_t n)
{
	uint8_t buf[GATHER_MAX];
	size_t len;
	int rc;

	if ((rc = gather(buf, iov, n, &len)) != 0)
		return rc;
	return hash_sha256(out, buf, len);
}

int
stp_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len,
    const struct iovec *iov, size_t n)
{
	uint8_t buf[GATHER_MAX];
	size_t len;
	int rc;

	if ((rc = gather(buf, iov, n, &len)) != 0)
		return rc;
	rc = hash_hmac_sha256(out, key, key_len, buf, len);
	crypto_wipe(buf, len);
	return rc;
}

int
stp_memeq(const void *a, const void *b, size_t n)
{
	return crypto_memeq(a, b, n);
}

void
stp_wipe(void *p, size_t n)
{
	crypto_wipe(p, n);
}

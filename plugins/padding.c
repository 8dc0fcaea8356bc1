/* SPDX-License-Identifier: Apache-2.0 */
/*
 * padding.c: the record-shaping plugin (after KARA and Kamune).  Every
 * record a gateway seals is padded, inside the AEAD, to one of a few sizes
 * (buckets), sometimes one bucket more at random, and while a session is up
 * cover records of a bucket's size go out at random intervals.  The core
 * does the padding and sends the cover (endpoint.c, session.c); this file
 * only decides sizes and times.  proto/STP.md, "Padding and cover records",
 * says what that hides and what it does not.
 *
 *     plugins:
 *       padding:
 *         enabled: true      # the default once the key is there
 *         buckets: [512, 1KiB, 4KiB, 16KiB, 32KiB]   # the record maximum is always last
 *         step_up: 0.1       # chance a record goes one bucket further
 *         cover_rate: 0.5    # mean cover records per second per session; 0: none
 *         cover_size: 512    # a size (rounded up to a bucket) or "random"
 *
 * Settings are copied into the instance at open, so a reload that frees
 * the config never pulls them from under a connection still using them.
 */
#include <stdlib.h>
#include <string.h>

#include "plugin_api.h"

#define NAME "padding"
#define BUCKETS_MAX 16
#define BUCKET_MIN 16
#define BUCKET_MAX 65536             /* larger ones are the record maximum anyway */
#define COVER_RATE_MAX 1000.0        /* records per second */
#define COVER_GAP_MAX_MS 3600000u    /* no gap is drawn longer than an hour */
#define STEP_ONE (1u << 24)          /* step_up's resolution */

struct settings {
	uint64_t buckets[BUCKETS_MAX];   /* strictly increasing */
	size_t n;
	uint32_t step;                   /* step_up * STEP_ONE */
	double cover_rate;
	uint64_t cover_size;             /* 0: a bucket at random */
};

static const uint64_t default_buckets[] = {
	512, 1024, 4096, 16384, 32768,
};

/* ---- configuration ---- */

static int
configure(stp_cfg *cx, const stp_node *node, void **cfg, int *enabled)
{
	static const char *const keys[] = { "enabled", "buckets", "step_up",
	    "cover_rate", "cover_size", NULL };
	struct settings *s;
	char csize[32] = "";
	double step = 0;
	size_t i;
	int on = 1, rc = STP_PLUGIN_EBADCFG;

	*cfg = NULL;
	*enabled = 0;
	if (node == NULL)
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return stp_cfg_error(cx, node, "out of memory");
	memcpy(s->buckets, default_buckets, sizeof(default_buckets));
	s->n = sizeof(default_buckets) / sizeof(default_buckets[0]);
	if (stp_cfg_keys(cx, node, keys) != 0 ||
	    stp_cfg_bool(cx, node, "enabled", &on) != 0 ||
	    stp_cfg_sizes(cx, node, "buckets", BUCKET_MIN, BUCKET_MAX,
	    s->buckets, BUCKETS_MAX, &s->n) != 0 ||
	    stp_cfg_number(cx, node, "step_up", 0, 1, &step) != 0 ||
	    stp_cfg_number(cx, node, "cover_rate", 0, COVER_RATE_MAX,
	    &s->cover_rate) != 0 ||
	    stp_cfg_string(cx, node, "cover_size", csize, sizeof(csize)) != 0)
		goto out;
	for (i = 1; i < s->n; i++) {
		if (s->buckets[i] <= s->buckets[i - 1]) {
			stp_cfg_error(cx, stp_cfg_get(node, "buckets"),
			    "buckets must be strictly increasing (%llu after %llu)",
			    (unsigned long long)s->buckets[i],
			    (unsigned long long)s->buckets[i - 1]);
			goto out;
		}
	}
	if (strcmp(csize, "random") == 0)
		s->cover_size = 0;
	else if (csize[0] == '\0')
		s->cover_size = s->buckets[0];
	else if (stp_cfg_size(cx, node, "cover_size", 1, BUCKET_MAX,
	    &s->cover_size) != 0)
		goto out;
	s->step = (uint32_t)(step * STEP_ONE);
	*cfg = s;
	*enabled = on;
	s = NULL;
	rc = 0;
out:
	free(s);
	return rc;
}

static void
cfg_free(void *cfg)
{
	free(cfg);
}

static int
open_(const void *cfg, int enabled, void **inst)
{
	struct settings *s;

	*inst = NULL;
	if (!enabled || cfg == NULL)
		return 0;
	if ((s = malloc(sizeof(*s))) == NULL)
		return -1;
	memcpy(s, cfg, sizeof(*s));
	*inst = s;
	return 0;
}

static void
close_(void *inst)
{
	free(inst);
}

/* ---- shaping ---- */

/* Bucket i of the list with the record maximum appended, clamped to max. */
static size_t
bucket(const struct settings *s, size_t i, size_t max)
{
	if (i < s->n && s->buckets[i] < max)
		return (size_t)s->buckets[i];
	return max;
}

/* The smallest bucket >= len, then one more with probability step_up. */
static size_t
pad_to(void *inst, size_t len, size_t max)
{
	const struct settings *s = inst;
	size_t i, b;

	if (s == NULL || len >= max)
		return len;
	for (i = 0; bucket(s, i, max) < len; i++)
		;
	b = bucket(s, i, max);
	if (s->step != 0 && b < max && stp_random_uniform(STEP_ONE) < s->step)
		b = bucket(s, i + 1, max);
	return b;
}

/* -ln(u) for u in (0, 1]: u = m * 2^-k with m in [1/2, 1), then a series. */
static double
neg_ln(double u)
{
	double z, z2, term, sum = 0;
	int k = 0, i;

	while (u < 0.5) {
		u *= 2;
		k++;
	}
	/* ln(u) = 2 atanh(z), z = (u - 1) / (u + 1), |z| <= 1/3 */
	z = (u - 1) / (u + 1);
	z2 = z * z;
	term = z;
	for (i = 1; i < 60; i += 2) {
		sum += term / i;
		term *= z2;
	}
	return k * 0.69314718055994530942 - 2 * sum;
}

/*
 * Exponential gaps (a Poisson process) with mean 1 / cover_rate: no
 * rhythm for an observer to lock on to.
 */
static uint64_t
cover_next_ms(void *inst)
{
	const struct settings *s = inst;
	uint32_t r;
	double ms;

	if (s == NULL || s->cover_rate <= 0)
		return 0;
	stp_random(&r, sizeof(r));
	ms = neg_ln(((double)r + 1) / 4294967296.0) * 1000.0 / s->cover_rate;
	if (ms < 1)
		return 1;
	if (ms > COVER_GAP_MAX_MS)
		return COVER_GAP_MAX_MS;
	return (uint64_t)ms;
}

/* cover_size rounded up to a bucket, or any bucket with equal chance. */
static size_t
cover_size(void *inst, size_t max)
{
	const struct settings *s = inst;
	size_t i;

	if (s == NULL)
		return 0;
	if (s->cover_size == 0)
		return bucket(s, stp_random_uniform((uint32_t)s->n + 1), max);
	for (i = 0; bucket(s, i, max) < s->cover_size && bucket(s, i, max) < max;
	    i++)
		;
	return bucket(s, i, max);
}

static const stp_shaper_ops shaper = {
	.pad_to = pad_to,
	.cover_next_ms = cover_next_ms,
	.cover_size = cover_size,
};

const stp_plugin stp_plugin_padding = {
	.api_version = STP_PLUGIN_API_VERSION,
	.name = NAME,
	.summary = "pad records to size buckets and send cover records at random",
	.configure = configure,
	.cfg_free = cfg_free,
	.open = open_,
	.close = close_,
	.shaper = &shaper,
};

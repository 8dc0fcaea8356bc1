/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pow.c: proof-of-work admission (after kkv).  A responder answers a HELLO
 * that brings no solution with a stateless challenge: difficulty, expiry,
 * a random nonce and a MAC under a per-instance secret that also covers the
 * source address, so it keeps nothing per stranger.  The initiator finds a
 * solution nonce (SHA-256 with `difficulty` leading zero bits) and sends the
 * challenge back with it in its next HELLO; only a valid, fresh, unreplayed
 * solution from the address the challenge was made for is admitted, and
 * only then does the core do KEM or signature work.  proto/STP.md,
 * "Admission by proof of work", is the puzzle; plugins/README.md, "pow",
 * the settings:
 *
 *     plugins:
 *       pow:
 *         difficulty: 18          # leading zero bits
 *         max_difficulty: 22      # ceiling of the automatic rise
 *         rate: 0                 # unsolved HELLOs/s above which it rises; 0: off
 *         challenge_ttl: 10s
 *         replay_cache: 8192      # solved challenges remembered until they expire
 *         answer_max_difficulty: 26   # as an initiator: solve nothing harder
 *
 * The only state a stranger can make us keep is one replay-cache slot, and
 * only after paying for a solution; the cache is a fixed table of buckets
 * that refuses (cache_full) rather than grows.  The difficulty rises one bit
 * per second in which more than `rate` HELLOs came without a valid solution,
 * and falls one bit per calmer second, computed lazily in admit().
 *
 * Threads: admit() runs on the loop and owns the responder state; answer()
 * runs in a worker and reads only answer_max, fixed at open.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_api.h"

#define NAME "pow"
#define POW_VERSION 1
#define PREFIX "stpgate pow v1"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

/* The challenge: tag, version, difficulty, expiry, nonce, hint, mac. */
#define O_TAG 0
#define O_VER 1
#define O_DIFF 2
#define O_EXP 3                  /* 8 bytes, big-endian ms, responder's clock */
#define O_NONCE 11               /* 16 random bytes */
#define O_HINT 27                /* 4 bytes: which address (a counter hint only) */
#define O_MAC 31                 /* 16 bytes of HMAC-SHA-256 */
#define NONCE_LEN 16
#define MAC_LEN 16
#define CHAL_LEN 47
#define SOL_LEN 8
#define ANS_LEN (CHAL_LEN + SOL_LEN)

#define DIFF_MAX 32              /* bits; 2^32 hashes is already half an hour */
#define TTL_MIN_MS 1000u
#define TTL_MAX_MS 600000u
#define RATE_MAX 1000000u
#define CACHE_MIN 8u
#define CACHE_MAX (1u << 20)
#define BUCKET 8                 /* replay-cache slots per bucket */
#define POOL_LEN 512             /* random bytes drawn at once for nonces */

#define DEF_DIFFICULTY 18
#define DEF_RISE 4               /* max_difficulty defaults to difficulty + 4 */
#define DEF_TTL_MS 10000u
#define DEF_CACHE 8192u
#define DEF_ANSWER_MAX 26

struct settings {
	int enabled;
	uint64_t difficulty, max_difficulty, ttl_ms, rate, cache, answer_max;
};

struct slot {
	uint8_t nonce[NONCE_LEN];
	uint64_t expiry;
	int used;
};

struct pow {
	struct settings s;       /* copied at open; answer() reads answer_max */
	int enabled;
	/* Responder state (loop thread). */
	uint8_t key[32];
	uint8_t pool[POOL_LEN];
	size_t pool_off;
	uint64_t win_start, win_count;
	/*
	 * Added to the clock in every expiry we write and read: our monotonic
	 * clock counts from boot, and an expiry in clear would tell anyone who
	 * asks for a challenge how long this host has been up.
	 */
	uint64_t clock_off;
	unsigned extra;          /* bits above s.difficulty */
	struct slot *slots;
	size_t nbuckets;         /* a power of two */
};

/* ---- configuration ---- */

static int
configure(stp_cfg *cx, const stp_node *node, void **cfg, int *enabled)
{
	static const char *const keys[] = { "enabled", "difficulty",
	    "max_difficulty", "challenge_ttl", "rate", "replay_cache",
	    "answer_max_difficulty", NULL };
	struct settings *s;
	int rc = STP_PLUGIN_EBADCFG;

	*cfg = NULL;
	*enabled = 0;
	if (node == NULL)
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return stp_cfg_error(cx, node, "out of memory");
	s->enabled = 1;
	s->difficulty = DEF_DIFFICULTY;
	s->max_difficulty = DIFF_MAX + 1;        /* not given */
	s->ttl_ms = DEF_TTL_MS;
	s->cache = DEF_CACHE;
	s->answer_max = DEF_ANSWER_MAX;
	if (stp_cfg_keys(cx, node, keys) != 0 ||
	    stp_cfg_bool(cx, node, "enabled", &s->enabled) != 0 ||
	    stp_cfg_uint(cx, node, "difficulty", 0, DIFF_MAX,
	    &s->difficulty) != 0 ||
	    stp_cfg_uint(cx, node, "max_difficulty", 0, DIFF_MAX,
	    &s->max_difficulty) != 0 ||
	    stp_cfg_duration(cx, node, "challenge_ttl", TTL_MIN_MS, TTL_MAX_MS,
	    &s->ttl_ms) != 0 ||
	    stp_cfg_uint(cx, node, "rate", 0, RATE_MAX, &s->rate) != 0 ||
	    stp_cfg_uint(cx, node, "replay_cache", CACHE_MIN, CACHE_MAX,
	    &s->cache) != 0 ||
	    stp_cfg_uint(cx, node, "answer_max_difficulty", 0, DIFF_MAX,
	    &s->answer_max) != 0)
		goto out;
	if (s->max_difficulty > DIFF_MAX) {
		s->max_difficulty = s->difficulty + DEF_RISE;
		if (s->max_difficulty > DIFF_MAX)
			s->max_difficulty = DIFF_MAX;
	} else if (s->max_difficulty < s->difficulty) {
		stp_cfg_error(cx, stp_cfg_get(node, "max_difficulty"),
		    "max_difficulty (%llu) is below difficulty (%llu)",
		    (unsigned long long)s->max_difficulty,
		    (unsigned long long)s->difficulty);
		goto out;
	}
	*cfg = s;
	*enabled = s->enabled;
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

/* ---- instance ---- */

static int
open_(const void *cfg, int enabled, void **inst)
{
	const struct settings *s = cfg;
	struct pow *p;

	*inst = NULL;
	if (s == NULL)
		return 0;        /* not configured: answer() uses its defaults */
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->s = *s;
	p->enabled = enabled;
	if (enabled) {
		p->nbuckets = 1;
		while (p->nbuckets * BUCKET < s->cache)
			p->nbuckets <<= 1;
		if ((p->slots = calloc(p->nbuckets * BUCKET,
		    sizeof(*p->slots))) == NULL) {
			free(p);
			return -1;
		}
		stp_random(p->key, sizeof(p->key));
		stp_random(&p->clock_off, sizeof(p->clock_off));
		p->clock_off >>= 2;  /* far from wrapping, whatever is added */
		p->pool_off = POOL_LEN;
		p->win_start = stp_now_ms();
	}
	*inst = p;
	return 0;
}

static void
close_(void *inst)
{
	struct pow *p = inst;

	if (p == NULL)
		return;
	stp_wipe(p->key, sizeof(p->key));
	stp_wipe(p->pool, sizeof(p->pool));
	free(p->slots);
	free(p);
}

/* ---- the puzzle ---- */

static void
put_be64(uint8_t *b, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

static uint64_t
get_be64(const uint8_t *b)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

/* 1 if SHA-256(PREFIX || challenge || solution) has ans[O_DIFF] leading zero bits. */
static int
solved(const uint8_t ans[ANS_LEN])
{
	struct iovec iov[2];
	uint8_t h[32];
	unsigned d = ans[O_DIFF], i;

	iov[0].iov_base = (void *)PREFIX;
	iov[0].iov_len = PREFIX_LEN;
	iov[1].iov_base = (void *)ans;
	iov[1].iov_len = ANS_LEN;
	if (d > DIFF_MAX || stp_sha256(h, iov, 2) != 0)
		return 0;
	for (i = 0; i < d / 8; i++)
		if (h[i] != 0)
			return 0;
	return d % 8 == 0 || (h[d / 8] >> (8 - d % 8)) == 0;
}

/* The source as bytes: 4 or 6, then its address (not the port).  Length. */
static size_t
src_bytes(const struct sockaddr *sa, uint8_t out[17])
{
	if (sa != NULL && sa->sa_family == AF_INET) {
		out[0] = 4;
		memcpy(out + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 5;
	}
	if (sa != NULL && sa->sa_family == AF_INET6) {
		out[0] = 6;
		memcpy(out + 1, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return 17;
	}
	out[0] = 0;
	return 1;
}

/* The source for log lines. */
static const char *
src_text(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = NULL;

	if (sa != NULL && sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa != NULL && sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "an unknown address");
	return buf;
}

/*
 * The hint: FNV-1a of the source bytes.  Not secret and decides nothing;
 * after a MAC mismatch it only tells "answered from another address"
 * (wrong_source) from "tampered" (bad_solution).
 */
static void
hint(uint8_t out[4], const uint8_t *sb, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ sb[i]) * 16777619u;
	out[0] = (uint8_t)(h >> 24);
	out[1] = (uint8_t)(h >> 16);
	out[2] = (uint8_t)(h >> 8);
	out[3] = (uint8_t)h;
}

/* HMAC-SHA-256(key, challenge[0..O_MAC) || source bytes). */
static int
mac(const struct pow *p, const uint8_t *chal, const uint8_t *sb, size_t n,
    uint8_t out[32])
{
	struct iovec iov[2];

	iov[0].iov_base = (void *)chal;
	iov[0].iov_len = O_MAC;
	iov[1].iov_base = (void *)sb;
	iov[1].iov_len = n;
	return stp_hmac_sha256(out, p->key, sizeof(p->key), iov, 2);
}

/* ---- the responder ---- */

/*
 * The difficulty now, after rolling the one-second windows that ended:
 * +1 bit for a window with more than rate unsolved HELLOs, -1 for a calmer
 * one (an empty second is calm).  rate 0: always the configured one.
 */
static unsigned
difficulty_now(struct pow *p, uint64_t now)
{
	uint64_t n, calm;
	unsigned top = (unsigned)(p->s.max_difficulty - p->s.difficulty);
	unsigned was = p->extra;

	if (p->s.rate == 0)
		return (unsigned)p->s.difficulty;
	if (now < p->win_start)
		p->win_start = now;
	n = (now - p->win_start) / 1000;
	if (n > 0) {
		if (p->win_count > p->s.rate) {
			if (p->extra < top)
				p->extra++;
			calm = n - 1;
		} else
			calm = n;
		p->extra = calm >= p->extra ? 0 : p->extra - (unsigned)calm;
		if (p->extra > was)
			stp_log(STP_LOG_INFO, NAME, "pow difficulty",
			    "difficulty up to %u bits: %llu HELLOs without a solution in a second (rate %llu/s)",
			    (unsigned)p->s.difficulty + p->extra,
			    (unsigned long long)p->win_count,
			    (unsigned long long)p->s.rate);
		else if (p->extra < was)
			stp_log(STP_LOG_INFO, NAME, "pow difficulty",
			    "difficulty down to %u bits (calm)",
			    (unsigned)p->s.difficulty + p->extra);
		p->win_start += n * 1000;
		p->win_count = 0;
	}
	return (unsigned)p->s.difficulty + p->extra;
}

static int
challenge(struct pow *p, unsigned d, uint64_t now, const uint8_t *sb,
    size_t sn, uint8_t *chal, size_t *chal_len)
{
	uint8_t c[CHAL_LEN], full[32];
	int rc;

	if (*chal_len < CHAL_LEN)
		return STP_ADMIT_REJECT;
	if (p->pool_off + NONCE_LEN > sizeof(p->pool)) {
		stp_random(p->pool, sizeof(p->pool));
		p->pool_off = 0;
	}
	c[O_TAG] = STP_TAG_POW;
	c[O_VER] = POW_VERSION;
	c[O_DIFF] = (uint8_t)d;
	put_be64(c + O_EXP, now + p->s.ttl_ms);
	memcpy(c + O_NONCE, p->pool + p->pool_off, NONCE_LEN);
	p->pool_off += NONCE_LEN;
	hint(c + O_HINT, sb, sn);
	rc = mac(p, c, sb, sn, full);
	memcpy(c + O_MAC, full, MAC_LEN);
	stp_wipe(full, sizeof(full));
	if (rc != 0)
		return STP_ADMIT_REJECT;
	memcpy(chal, c, CHAL_LEN);
	*chal_len = CHAL_LEN;
	stp_count(NAME, "challenged", 1);
	return STP_ADMIT_CHALLENGE;
}

/* Refuse an answer: count, log (rate-limited), REJECT. */
static int
refuse(const struct sockaddr *src, const char *why)
{
	char a[INET6_ADDRSTRLEN + 1];

	stp_log(STP_LOG_INFO, NAME, "pow refused", "refused the answer from %s: %s",
	    src_text(src, a, sizeof(a)), why);
	return STP_ADMIT_REJECT;
}

enum { FRESH, REPLAYED, CACHE_FULL };

/*
 * Is the challenge with this nonce, expiring then, new?  Remembers it until
 * it expires.  The bucket comes from MAC bytes nobody else sees, so a
 * stranger cannot aim its solutions at one bucket.
 */
static int
remember(struct pow *p, const uint8_t *nonce, uint64_t expiry,
    const uint8_t full[32], uint64_t now)
{
	uint32_t b = ((uint32_t)full[16] << 24) | ((uint32_t)full[17] << 16) |
	    ((uint32_t)full[18] << 8) | full[19];
	struct slot *sl = p->slots + (b & (p->nbuckets - 1)) * BUCKET, *fr = NULL;
	size_t i;

	for (i = 0; i < BUCKET; i++) {
		if (sl[i].used && sl[i].expiry >= now) {
			if (memcmp(sl[i].nonce, nonce, NONCE_LEN) == 0)
				return REPLAYED;
		} else if (fr == NULL)
			fr = &sl[i];
	}
	if (fr == NULL)
		return CACHE_FULL;
	memcpy(fr->nonce, nonce, NONCE_LEN);
	fr->expiry = expiry;
	fr->used = 1;
	return FRESH;
}

static int
admit(void *inst, const struct sockaddr *src, const uint8_t *adm,
    size_t adm_len, uint8_t *chal, size_t *chal_len)
{
	struct pow *p = inst;
	uint8_t sb[17], full[32], hn[4];
	uint64_t now, expiry;
	size_t sn;
	unsigned d;
	int rc;

	if (p == NULL || !p->enabled)
		return STP_ADMIT;
	now = stp_now_ms();
	d = difficulty_now(p, now);
	sn = src_bytes(src, sb);
	p->win_count++;          /* taken back below if this one pays */
	if (adm_len == 0)
		return challenge(p, d, now + p->clock_off, sb, sn, chal, chal_len);

	/*
	 * Cheapest checks first: garbage costs at most one SHA-256, and the
	 * HMAC only runs for answers that did at least our base difficulty's
	 * work (no challenge of ours asks for less).
	 */
	if (adm_len != ANS_LEN || adm[O_TAG] != STP_TAG_POW ||
	    adm[O_VER] != POW_VERSION || adm[O_DIFF] > DIFF_MAX ||
	    adm[O_DIFF] < p->s.difficulty) {
		stp_count(NAME, "bad_solution", 1);
		return refuse(src, "not a pow v1 answer");
	}
	if (!solved(adm)) {
		stp_count(NAME, "bad_solution", 1);
		return refuse(src, "wrong solution");
	}
	if (mac(p, adm, sb, sn, full) != 0) {
		stp_wipe(full, sizeof(full));
		return STP_ADMIT_REJECT;
	}
	if (!stp_memeq(full, adm + O_MAC, MAC_LEN)) {
		stp_wipe(full, sizeof(full));
		hint(hn, sb, sn);
		if (memcmp(hn, adm + O_HINT, sizeof(hn)) != 0) {
			stp_count(NAME, "wrong_source", 1);
			return refuse(src, "the challenge was made for another address");
		}
		stp_count(NAME, "bad_solution", 1);
		return refuse(src, "not our challenge (bad MAC)");
	}
	expiry = get_be64(adm + O_EXP);
	if (now + p->clock_off > expiry) {
		/* Ours but too old (a slow solver?): a fresh one, maybe easier. */
		stp_wipe(full, sizeof(full));
		stp_count(NAME, "stale", 1);
		return challenge(p, d, now + p->clock_off, sb, sn, chal, chal_len);
	}
	rc = remember(p, adm + O_NONCE, expiry, full, now + p->clock_off);
	stp_wipe(full, sizeof(full));
	if (rc == REPLAYED) {
		stp_count(NAME, "replayed", 1);
		return refuse(src, "replayed solution");
	}
	if (rc == CACHE_FULL) {
		stp_count(NAME, "cache_full", 1);
		return refuse(src, "replay cache full (replay_cache)");
	}
	p->win_count--;
	stp_count(NAME, "admitted", 1);
	return STP_ADMIT;
}

/* ---- the initiator ---- */

static int
answer(void *inst, const uint8_t *chal, size_t chal_len, uint8_t *ans,
    size_t *ans_len)
{
	const struct pow *p = inst;
	unsigned max = p != NULL ? (unsigned)p->s.answer_max : DEF_ANSWER_MAX;
	uint8_t a[ANS_LEN];
	uint64_t n, tries;
	unsigned d;

	if (chal_len != CHAL_LEN || chal[O_TAG] != STP_TAG_POW ||
	    chal[O_VER] != POW_VERSION) {
		stp_log(STP_LOG_WARN, NAME, "pow answer",
		    "cannot answer the responder's challenge: not pow v1 (tag 0x%02x, version %u, %zu bytes)",
		    chal_len > O_TAG ? chal[O_TAG] : 0,
		    chal_len > O_VER ? chal[O_VER] : 0, chal_len);
		return -1;
	}
	d = chal[O_DIFF];
	if (d > max) {
		stp_count(NAME, "too_hard", 1);
		stp_log(STP_LOG_WARN, NAME, "pow answer",
		    "the responder demands %u bits of proof of work, more than answer_max_difficulty (%u): not solving",
		    d, max);
		return -1;
	}
	if (*ans_len < ANS_LEN)
		return -1;
	memcpy(a, chal, CHAL_LEN);
	/* 64 * 2^d tries miss a solution with probability e^-64. */
	tries = d + 6 < 64 ? (uint64_t)1 << (d + 6) : UINT64_MAX;
	for (n = 0; n < tries; n++) {
		put_be64(a + CHAL_LEN, n);
		if (solved(a)) {
			memcpy(ans, a, ANS_LEN);
			*ans_len = ANS_LEN;
			stp_count(NAME, "solved", 1);
			return 0;
		}
	}
	stp_log(STP_LOG_WARN, NAME, "pow answer",
	    "no solution to a %u-bit challenge in %llu tries", d,
	    (unsigned long long)tries);
	return -1;
}

static const stp_admission_ops admission = {
	.tag = STP_TAG_POW,
	.admit = admit,
	.answer = answer,
};

const stp_plugin stp_plugin_pow = {
	.api_version = STP_PLUGIN_API_VERSION,
	.name = NAME,
	.summary = "proof-of-work admission: strangers solve a SHA-256 puzzle before any KEM or signature work",
	.configure = configure,
	.cfg_free = cfg_free,
	.open = open_,
	.close = close_,
	.admission = &admission,
};

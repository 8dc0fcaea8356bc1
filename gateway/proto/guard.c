/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guard.c: freshness, replay and cookies for a responder's HELLOs.  See
 * guard.h and proto/STP.md, "Freshness: replayed HELLOs".
 */
#include "guard.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/rand.h"

typedef struct slot {
	uint64_t tag;           /* the first 8 bytes of the HELLO's mac1 */
	uint64_t expiry;        /* Unix seconds; 0: free */
} slot;

struct guard {
	size_t nbuckets;
	uint64_t k1, k2;        /* bucket hash key */
	uint8_t cookie_key[32];
	slot *slots;            /* nbuckets * GUARD_BUCKET */
};

guard *
guard_new(unsigned slots)
{
	guard *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->nbuckets = (slots + GUARD_BUCKET - 1) / GUARD_BUCKET;
	if (g->nbuckets == 0)
		g->nbuckets = 1;
	if ((g->slots = calloc(g->nbuckets * GUARD_BUCKET, sizeof(slot))) == NULL ||
	    rand_bytes(&g->k1, sizeof(g->k1)) != 0 ||
	    rand_bytes(&g->k2, sizeof(g->k2)) != 0 ||
	    rand_bytes(g->cookie_key, sizeof(g->cookie_key)) != 0) {
		guard_free(g);
		return NULL;
	}
	g->k2 |= 1;
	return g;
}

void
guard_free(guard *g)
{
	if (g == NULL)
		return;
	free(g->slots);
	crypto_wipe(g, sizeof(*g));
	free(g);
}

size_t
guard_memory(const guard *g)
{
	return sizeof(*g) + g->nbuckets * GUARD_BUCKET * sizeof(slot);
}

static uint64_t
load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/*
 * The bucket of a tag: a multiply-xorshift mix under two secret words.
 * Whoever knows the listener's key can choose mac1 values, but not where
 * they land; and a full bucket costs its HELLOs only a cookie round trip.
 */
static slot *
bucket_of(const guard *g, uint64_t tag)
{
	uint64_t x = (tag ^ g->k1) * g->k2;

	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ull;
	x ^= x >> 29;
	return g->slots + (size_t)((x >> 16) % g->nbuckets) * GUARD_BUCKET;
}

/* cookie = HMAC-SHA256(cookie_key, be64(epoch) || src)[0..16). */
static int
cookie_for(const guard *g, uint64_t epoch, const uint8_t *src, size_t src_len,
    uint8_t out[GUARD_COOKIE_LEN])
{
	uint8_t in[8 + GUARD_SRC_MAX], mac[HASH_SHA256_LEN];
	int i, rc;

	if (src_len > GUARD_SRC_MAX)
		src_len = GUARD_SRC_MAX;
	for (i = 0; i < 8; i++)
		in[i] = (uint8_t)(epoch >> (56 - 8 * i));
	memcpy(in + 8, src, src_len);
	rc = hash_hmac_sha256(mac, g->cookie_key, sizeof(g->cookie_key), in,
	    8 + src_len);
	memcpy(out, mac, GUARD_COOKIE_LEN);
	crypto_wipe(mac, sizeof(mac));
	return rc;
}

/* Does the cookie match this address in this epoch or the one before? */
static int
cookie_ok(const guard *g, const uint8_t *cookie, size_t cookie_len,
    const uint8_t *src, size_t src_len, uint64_t now)
{
	uint8_t want[GUARD_COOKIE_LEN];
	uint64_t e = now / GUARD_EPOCH_S;
	int ok = 0;

	if (cookie_len != GUARD_COOKIE_LEN)
		return 0;
	if (cookie_for(g, e, src, src_len, want) == 0 &&
	    crypto_memeq(want, cookie, GUARD_COOKIE_LEN))
		ok = 1;
	else if (e > 0 && cookie_for(g, e - 1, src, src_len, want) == 0 &&
	    crypto_memeq(want, cookie, GUARD_COOKIE_LEN))
		ok = 1;
	return ok;
}

int
guard_check(guard *g, const uint8_t mac1[16], uint64_t t,
    const uint8_t *cookie, size_t cookie_len, const uint8_t *src,
    size_t src_len, uint64_t now, uint8_t cookie_out[GUARD_COOKIE_LEN])
{
	uint64_t tag = load64(mac1);
	slot *b, *free_slot = NULL;
	int i;

	if (t + GUARD_WINDOW_S < now || t > now + GUARD_WINDOW_S)
		return GUARD_STALE;
	b = bucket_of(g, tag);
	for (i = 0; i < GUARD_BUCKET; i++) {
		if (b[i].expiry < now) {
			/* Expired (or never used): a HELLO it held is stale now. */
			if (free_slot == NULL)
				free_slot = &b[i];
			continue;
		}
		if (b[i].tag == tag)
			return GUARD_REPLAY;
	}
	if (free_slot != NULL) {
		free_slot->tag = tag;
		free_slot->expiry = t + GUARD_WINDOW_S;
		return GUARD_ADMIT;
	}
	/*
	 * Under load: no room to remember this HELLO.  A cookie for this
	 * address says the sender got our answer within the last two epochs;
	 * without one, ask for it.
	 */
	if (cookie_ok(g, cookie, cookie_len, src, src_len, now))
		return GUARD_ADMIT;
	if (cookie_for(g, now / GUARD_EPOCH_S, src, src_len, cookie_out) != 0)
		return GUARD_STALE; /* cannot make one: say nothing */
	return GUARD_COOKIE;
}

size_t
guard_live(const guard *g, uint64_t now)
{
	size_t i, n = 0;

	for (i = 0; i < g->nbuckets * GUARD_BUCKET; i++)
		if (g->slots[i].expiry >= now && g->slots[i].expiry != 0)
			n++;
	return n;
}

const char *
guard_verdict_name(int v)
{
	switch (v) {
	case GUARD_ADMIT: return "admitted";
	case GUARD_STALE: return "stale";
	case GUARD_REPLAY: return "replayed";
	case GUARD_COOKIE: return "cookie";
	default: return "unknown";
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_guard.c: a listener's HELLO guard (gateway/proto/guard.h), with a
 * clock of our own.
 *
 *   - the time window: exactly GUARD_WINDOW_S either way is fresh, one second
 *     more is stale, whatever the table holds;
 *   - replays: a mac1 seen is refused until the HELLO it came in would be
 *     stale anyway, then its slot is free again;
 *   - the load case: one bucket full of live entries, a new HELLO gets a
 *     cookie; that cookie admits it from the same address in this epoch and
 *     the next, never from another address or two epochs on; a wrong or
 *     short cookie gets a new one; a HELLO admitted by cookie is not
 *     remembered (no room), a replay of one still in the table is refused
 *     even with a good cookie;
 *   - the memory bound is slots * 16 bytes plus the keys, and the table
 *     never grows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "testlib.h"

#define T0 1700000000ull

static const uint8_t src_a[5] = { 4, 127, 0, 0, 1 };
static const uint8_t src_b[5] = { 4, 127, 0, 0, 2 };

static void
tag(uint8_t mac1[16], unsigned i)
{
	memset(mac1, 0, 16);
	memcpy(mac1, &i, sizeof(i));
	mac1[12] = 0x5a;
}

static int
check(guard *g, unsigned i, uint64_t t, const uint8_t *ck, size_t cklen,
    const uint8_t *src, uint64_t now, uint8_t out[GUARD_COOKIE_LEN])
{
	uint8_t m[16], scratch[GUARD_COOKIE_LEN];

	tag(m, i);
	return guard_check(g, m, t, ck, cklen, src, 5, now, out ? out : scratch);
}

static void
test_window(void)
{
	guard *g = guard_new(64);

	t_set_ctx("window");
	T_OK(g != NULL);
	T_INT(check(g, 1, T0 - GUARD_WINDOW_S, NULL, 0, src_a, T0, NULL), GUARD_ADMIT);
	T_INT(check(g, 2, T0 + GUARD_WINDOW_S, NULL, 0, src_a, T0, NULL), GUARD_ADMIT);
	T_INT(check(g, 3, T0 - GUARD_WINDOW_S - 1, NULL, 0, src_a, T0, NULL), GUARD_STALE);
	T_INT(check(g, 4, T0 + GUARD_WINDOW_S + 1, NULL, 0, src_a, T0, NULL), GUARD_STALE);
	T_INT(check(g, 5, 0, NULL, 0, src_a, T0, NULL), GUARD_STALE);
	T_INT(guard_live(g, T0), 2);
	guard_free(g);
}

static void
test_replay(void)
{
	guard *g = guard_new(64);
	uint64_t t = T0;

	t_set_ctx("replay");
	T_INT(check(g, 7, t, NULL, 0, src_a, T0, NULL), GUARD_ADMIT);
	T_INT(check(g, 7, t, NULL, 0, src_a, T0, NULL), GUARD_REPLAY);
	T_INT(check(g, 7, t, NULL, 0, src_b, T0 + 60, NULL), GUARD_REPLAY);
	/* Its last fresh second: still remembered; then stale, not "new". */
	T_INT(check(g, 7, t, NULL, 0, src_a, t + GUARD_WINDOW_S, NULL), GUARD_REPLAY);
	T_INT(check(g, 7, t, NULL, 0, src_a, t + GUARD_WINDOW_S + 1, NULL), GUARD_STALE);
	T_INT(guard_live(g, t + GUARD_WINDOW_S + 1), 0);
	/* Another HELLO of the same mac1 prefix but a later time: new. */
	T_INT(check(g, 7, t + 300, NULL, 0, src_a, t + 300, NULL), GUARD_ADMIT);
	guard_free(g);
}

static void
test_load(void)
{
	guard *g = guard_new(GUARD_BUCKET); /* one bucket */
	uint8_t ck[GUARD_COOKIE_LEN], ck2[GUARD_COOKIE_LEN], bad[GUARD_COOKIE_LEN];
	unsigned i;

	t_set_ctx("load");
	T_OK(g != NULL);
	for (i = 0; i < GUARD_BUCKET; i++)
		T_INT(check(g, 100 + i, T0, NULL, 0, src_a, T0, NULL), GUARD_ADMIT);
	T_INT(guard_live(g, T0), GUARD_BUCKET);
	T_INT(check(g, 200, T0, NULL, 0, src_a, T0, ck), GUARD_COOKIE);
	/* The same address and epoch: the same cookie; another: another. */
	T_INT(check(g, 201, T0, NULL, 0, src_a, T0, ck2), GUARD_COOKIE);
	T_MEM(ck2, 16, ck, 16);
	T_INT(check(g, 201, T0, NULL, 0, src_b, T0, ck2), GUARD_COOKIE);
	T_OK(memcmp(ck2, ck, 16) != 0);
	/* Admitted with it, from its address, this epoch and the next. */
	T_INT(check(g, 200, T0, ck, 16, src_a, T0, NULL), GUARD_ADMIT);
	T_INT(check(g, 202, T0 + GUARD_EPOCH_S, ck, 16, src_a,
	    T0 + GUARD_EPOCH_S, NULL), GUARD_ADMIT);
	/* Not from another address, not two epochs on, not short or wrong. */
	T_INT(check(g, 203, T0, ck, 16, src_b, T0, NULL), GUARD_COOKIE);
	T_INT(check(g, 204, T0 + 2 * GUARD_EPOCH_S, ck, 16, src_a,
	    T0 + 2 * GUARD_EPOCH_S, NULL), GUARD_COOKIE);
	T_INT(check(g, 205, T0, ck, 15, src_a, T0, NULL), GUARD_COOKIE);
	memcpy(bad, ck, 16);
	bad[15] ^= 1;
	T_INT(check(g, 206, T0, bad, 16, src_a, T0, NULL), GUARD_COOKIE);
	/* A replay of a remembered HELLO stays refused, cookie or not. */
	T_INT(check(g, 100, T0, ck, 16, src_a, T0, NULL), GUARD_REPLAY);
	/* Cookie admissions took no slot: the table did not grow. */
	T_INT(guard_live(g, T0), GUARD_BUCKET);
	/* Once the entries expire, HELLOs are remembered again, no cookie. */
	T_INT(check(g, 300, T0 + GUARD_WINDOW_S + 1, NULL, 0, src_a,
	    T0 + GUARD_WINDOW_S + 1, NULL), GUARD_ADMIT);
	guard_free(g);
}

static void
test_memory(void)
{
	guard *g = guard_new(GUARD_DEFAULT_SLOTS), *h = guard_new(0), *k;
	unsigned i, admitted = 0;

	t_set_ctx("memory");
	T_OK(g != NULL && h != NULL);
	T_OK(guard_memory(g) >= (size_t)GUARD_DEFAULT_SLOTS * GUARD_SLOT_BYTES);
	T_OK(guard_memory(g) <= (size_t)GUARD_DEFAULT_SLOTS * GUARD_SLOT_BYTES + 128);
	T_OK(guard_memory(h) >= GUARD_BUCKET * GUARD_SLOT_BYTES); /* one bucket at least */
	printf("guard: %u slots hold %zu bytes\n", GUARD_DEFAULT_SLOTS, guard_memory(g));
	/* 4 buckets: at most 32 remembered, whatever comes. */
	k = guard_new(4 * GUARD_BUCKET);
	for (i = 0; i < 1000; i++)
		admitted += check(k, i, T0, NULL, 0, src_a, T0, NULL) == GUARD_ADMIT;
	T_OK(admitted <= 4 * GUARD_BUCKET && admitted >= GUARD_BUCKET);
	T_OK(guard_live(k, T0) == admitted);
	guard_free(g);
	guard_free(h);
	guard_free(k);
}

int
main(void)
{
	test_window();
	t_section("window");
	test_replay();
	t_section("replay");
	test_load();
	t_section("load");
	test_memory();
	t_section("memory");
	return t_done();
}

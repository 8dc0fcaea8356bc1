/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_reserve.c: zero-copy sending (endpoint_data_reserve / commit /
 * cancel) between two endpoints pumped in memory: every length and header
 * width puts the data where the record needs it, cancelled reservations send
 * nothing, and the contract's refusals hold.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "crypto/sign.h"
#include "endpoint.h"
#include "err.h"
#include "frame.h"
#include "testlib.h"

static endpoint *a, *b;
static uint64_t now = 1700000000000ull;

static int
lookup_any(void *cookie, const uint8_t pk[32])
{
	(void)cookie;
	(void)pk;
	return 0;
}

/* Move all output from one endpoint into the other, both ways, until quiet. */
static void
pump(void)
{
	struct iovec iov[64];
	int moved = 1, i;

	while (moved) {
		endpoint *from[2] = { a, b }, *to[2] = { b, a };

		moved = 0;
		for (i = 0; i < 2; i++) {
			size_t n = endpoint_output(from[i], iov, 64), k, total = 0;

			for (k = 0; k < n; k++) {
				T_INT(endpoint_input(to[i], iov[k].iov_base,
				    iov[k].iov_len, now), 0);
				total += iov[k].iov_len;
			}
			if (total > 0) {
				endpoint_output_done(from[i], total);
				moved = 1;
			}
		}
	}
}

/* Drain b's events into got (data only). */
static size_t
collect(uint8_t *got, size_t cap, uint32_t want_id)
{
	ep_event ev;
	size_t n = 0;

	while (endpoint_poll(b, &ev)) {
		if (ev.type != EP_RECORD)
			continue;
		if (!T_OK(ev.rec->body_case == STP__V1__RECORD__BODY_DATA))
			continue;
		T_INT(ev.rec->data->stream_id, want_id);
		if (T_OK(n + ev.rec->data->data.len <= cap)) {
			memcpy(got + n, ev.rec->data->data.data, ev.rec->data->data.len);
			n += ev.rec->data->data.len;
		}
	}
	return n;
}

int
main(void)
{
	static uint8_t want[STP_MAX_DATA], got[STP_MAX_DATA + 16];
	uint8_t seed_a[32], seed_b[32], pub_b[32];
	endpoint_config ca, cb;
	sign_key *ka, *kb;
	ep_event ev;
	uint8_t *p;
	size_t i, len, max, n, sent = 0, cancelled = 0;
	uint32_t id;

	rand_test_seed("test_reserve", 12);
	memset(seed_a, 1, sizeof(seed_a));
	memset(seed_b, 2, sizeof(seed_b));
	T_INT(sign_key_from_seed(&ka, seed_a), 0);
	T_INT(sign_key_from_seed(&kb, seed_b), 0);
	sign_key_public(kb, pub_b);
	memset(&ca, 0, sizeof(ca));
	memset(&cb, 0, sizeof(cb));
	ca.hs.initiator = 1;
	ca.hs.identity = ka;
	memcpy(ca.hs.peer_pub, pub_b, 32);
	ca.inline_crypto = 1;
	cb.hs.identity = kb;
	cb.inline_crypto = 1;
	cb.lookup = lookup_any;
	a = endpoint_new(&ca, now);
	b = endpoint_new(&cb, now);
	if (!T_OK(a != NULL && b != NULL))
		return t_done();

	t_set_ctx("before the handshake");
	T_OK(endpoint_data_reserve(a, 100) == NULL);
	T_INT(endpoint_data_commit(a, 1, 10, now), STP_ESTATE);
	T_INT(endpoint_start(a, now), 0);
	pump();
	while (endpoint_poll(a, &ev) || endpoint_poll(b, &ev))
		;
	T_OK(endpoint_established(a) && endpoint_established(b));
	t_section("handshake");

	for (i = 0; i < 3000; i++) {
		/* Lengths across every varint width of the data length. */
		max = 1 + (size_t)rand() % STP_MAX_DATA;
		if (i % 7 == 0)
			max = STP_MAX_DATA;
		len = 1 + (size_t)rand() % max;
		id = 1 + 2 * (uint32_t)(rand() % 200000);
		now += (uint64_t)(rand() % 100000); /* time_ms widths vary too */
		t_set_ctx("round %zu: max %zu len %zu", i, max, len);
		if (!T_OK((p = endpoint_data_reserve(a, max)) != NULL))
			break;
		T_OK(endpoint_data_reserve(a, 10) == NULL); /* one at a time */
		for (n = 0; n < len; n++)
			want[n] = (uint8_t)(i * 31 + n * 7);
		memcpy(p, want, len);
		if (i % 5 == 3) {
			/* Cancelled: nothing may arrive. */
			endpoint_data_cancel(a);
			cancelled++;
			pump();
			T_INT((long long)collect(got, sizeof(got), id), 0);
			continue;
		}
		if (i % 11 == 4) {
			/* Over the reservation: refused, and the reservation stays. */
			if (max < STP_MAX_DATA) {
				T_INT(endpoint_data_commit(a, id, max + 1, now),
				    STP_ETOOBIG);
				T_OK(endpoint_data_reserve(a, 10) == NULL);
			}
		}
		T_INT(endpoint_data_commit(a, id, len, now), 0);
		pump();
		n = collect(got, sizeof(got), id);
		T_MEM(got, n, want, len);
		sent++;
	}
	t_set_ctx("totals");
	T_OK(sent > 2000 && cancelled > 500);
	/* A zero-length commit sends nothing and frees the reservation. */
	T_OK(endpoint_data_reserve(a, 10) != NULL);
	T_INT(endpoint_data_commit(a, 1, 0, now), 0);
	T_OK(endpoint_data_reserve(a, 10) != NULL);
	endpoint_data_cancel(a);
	t_section("reserve, commit, cancel");

	/* Freeing with a reservation out is clean (ASan/valgrind would say). */
	T_OK(endpoint_data_reserve(a, 1000) != NULL);
	endpoint_free(a);
	endpoint_free(b);
	sign_key_free(ka);
	sign_key_free(kb);
	t_section("free");
	return t_done();
}

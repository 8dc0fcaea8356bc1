/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_gate.c: a responder's gate (gateway/proto/gate.h), the part of a
 * connection before mac1.
 *
 *   - a real HELLO passes, fed in every split (one byte at a time, whole,
 *     header then body), and the gate never offers room beyond the frame;
 *     the responder's handshake accepts what passed;
 *   - every refusal drains, whatever its cause: another frame type, a length
 *     over the maximum, a HELLO too short for mac1, a HELLO that fails mac1
 *     (one flipped bit anywhere, or made for another key); a draining gate
 *     keeps offering its whole buffer and never passes again;
 *   - gate_wipe leaves nothing of a HELLO that passed;
 *   - a gate with two keys (a rotation's identity and previous identity)
 *     passes a HELLO made for either and says which, and drains one made
 *     for a third key;
 *   - the gate is small: one object with a fixed buffer, nothing allocated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sign.h"
#include "err.h"
#include "gate.h"
#include "handshake.h"
#include "keysched.h"
#include "testlib.h"

static sign_key *resp_key, *other_key;
static uint8_t resp_pub[32], other_pub[32];

/* A fresh initiator's HELLO for pk_r: its frame, in a malloc'd buffer. */
static uint8_t *
make_hello(const uint8_t pk_r[32], size_t *len)
{
	hs_config c;
	hs *h;
	const uint8_t *out;
	uint8_t *copy = NULL;

	memset(&c, 0, sizeof(c));
	c.initiator = 1;
	c.identity = other_key;
	memcpy(c.peer_pub, pk_r, 32);
	if ((h = hs_new(&c)) == NULL || hs_start(h) != HS_WORK || hs_work(h) != 0 ||
	    (out = hs_output(h, len)) == NULL || (copy = malloc(*len)) == NULL) {
		T_OK(!"an initiator makes a HELLO");
		hs_free(h);
		return NULL;
	}
	memcpy(copy, out, *len);
	hs_free(h);
	return copy;
}

static void
init_gate(gate *g)
{
	uint8_t key[32];

	T_INT(ks_mac1_key(key, resp_pub, NULL), 0);
	gate_init(g, (const uint8_t (*)[32])key, 1);
}

/*
 * Feed f to gate g (initialised) in pieces of at most `step` bytes, never
 * more than the gate offers.  Returns the final state; *offered_over is set
 * when the gate ever offered room past the end of the frame while reading.
 */
static int
feed_into(gate *g, const uint8_t *f, size_t len, size_t step, int *offered_over)
{
	size_t off = 0, room, n;
	uint8_t *dst;
	int st = GATE_READING;

	*offered_over = 0;
	while (off < len) {
		dst = gate_buf(g, &room);
		if (dst == NULL || room == 0)
			break;
		if (st == GATE_READING && off + room > len)
			*offered_over = 1;
		n = room < step ? room : step;
		if (n > len - off)
			n = len - off;
		memcpy(dst, f + off, n);
		off += n;
		st = gate_commit(g, n);
	}
	return st;
}

/* The same into a new one-key gate, zeroed first (so a missed wipe shows). */
static int
feed(gate *g, const uint8_t *f, size_t len, size_t step, int *offered_over)
{
	memset(g, 0, sizeof(*g));
	init_gate(g);
	return feed_into(g, f, len, step, offered_over);
}

static void
test_passes(void)
{
	static const size_t steps[] = { 1, 3, 4, 5, 100, 4096 };
	gate g;
	uint8_t *f;
	size_t len, i, glen;
	int over;

	t_set_ctx("pass");
	if ((f = make_hello(resp_pub, &len)) == NULL)
		return;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const uint8_t *got;

		t_set_ctx("pass, pieces of %zu", steps[i]);
		T_INT(feed(&g, f, len, steps[i], &over), GATE_PASSED);
		T_OK(!over);
		got = gate_frame(&g, &glen);
		T_MEM(got, glen, f, len);
		T_OK(gate_buf(&g, &glen) == NULL && glen == 0);
		T_INT((long long)gate_partial(&g), 0);
		T_OK(gate_reason(&g)[0] == '\0');
		gate_wipe(&g);
		T_OK(t_all_zero((const uint8_t *)&g, sizeof(g)));
	}

	/* What passed is what the responder's handshake takes. */
	t_set_ctx("pass, then the handshake");
	{
		hs_config c;
		hs *h;

		memset(&c, 0, sizeof(c));
		c.identity = resp_key;
		T_INT(feed(&g, f, len, 4096, &over), GATE_PASSED);
		h = hs_new(&c);
		T_OK(h != NULL);
		if (h != NULL) {
			const uint8_t *fr = gate_frame(&g, &glen);

			T_INT(hs_input(h, fr, glen), HS_WORK);
			hs_free(h);
		}
	}

	/* A partial frame is partial; the header alone says how much is left. */
	t_set_ctx("partial");
	init_gate(&g);
	{
		size_t room;
		uint8_t *dst = gate_buf(&g, &room);

		T_INT((long long)room, FRAME_HDR_LEN);
		memcpy(dst, f, 3);
		T_INT(gate_commit(&g, 3), GATE_READING);
		T_INT((long long)gate_partial(&g), 3);
		dst = gate_buf(&g, &room);
		T_INT((long long)room, 1);
		memcpy(dst, f + 3, 1);
		T_INT(gate_commit(&g, 1), GATE_READING);
		(void)gate_buf(&g, &room);
		T_INT((long long)room, (long long)(len - FRAME_HDR_LEN));
		/* More than was offered is refused, not taken. */
		T_INT(gate_commit(&g, len), GATE_READING);
		T_INT((long long)gate_partial(&g), FRAME_HDR_LEN);
	}
	free(f);
}

/* f fed whole must drain, for `why`, and keep draining. */
static void
expect_drain(const uint8_t *f, size_t len, int why)
{
	gate g;
	size_t room, flen;
	uint8_t *dst;
	int over, i;

	T_INT(feed(&g, f, len, 4096, &over), GATE_DRAINING);
	T_INT(g.why, why);
	T_OK(gate_reason(&g)[0] != '\0');
	T_OK(gate_frame(&g, &flen) == NULL && flen == 0);
	T_INT((long long)gate_partial(&g), 0);
	for (i = 0; i < 3; i++) {
		dst = gate_buf(&g, &room);
		T_OK(dst != NULL && room == sizeof(g.buf));
		if (dst == NULL)
			return;
		/* Even a valid HELLO, now, is only thrown away. */
		memcpy(dst, f, len < room ? len : room);
		T_INT(gate_commit(&g, len < room ? len : room), GATE_DRAINING);
	}
}

static void
test_drains(void)
{
	uint8_t *f, *g2, junk[FRAME_HDR_LEN + FRAME_MAX_HELLO];
	size_t len, len2, bit;
	unsigned n = 0, fails = 0;

	if ((f = make_hello(resp_pub, &len)) == NULL)
		return;

	t_set_ctx("another frame type");
	{
		static const uint8_t types[] = { 0x00, FRAME_CHALLENGE, FRAME_REJECT,
			FRAME_REPLY, FRAME_AUTH, FRAME_RECORD, FRAME_KEY_UPDATE, 0x08,
			0x16 /* a TLS handshake */, 'G' /* GET */, 'S' /* SSH- */, 0xff };
		size_t i;

		for (i = 0; i < sizeof(types); i++) {
			memcpy(junk, f, len);
			junk[0] = types[i];
			t_set_ctx("type 0x%02x", types[i]);
			expect_drain(junk, len, GATE_WHY_TYPE);
		}
	}

	t_set_ctx("over the maximum");
	memcpy(junk, f, FRAME_HDR_LEN);
	frame_put_header(junk, FRAME_HELLO, FRAME_MAX_HELLO);
	junk[3]++; /* 2049 */
	expect_drain(junk, FRAME_HDR_LEN, GATE_WHY_LENGTH);
	junk[1] = junk[2] = junk[3] = 0xff;
	expect_drain(junk, FRAME_HDR_LEN, GATE_WHY_LENGTH);

	t_set_ctx("too short for mac1");
	{
		size_t b;

		for (b = 0; b <= KS_MAC1_LEN; b++) {
			frame_put_header(junk, FRAME_HELLO, b);
			memset(junk + FRAME_HDR_LEN, 0x5a, b);
			expect_drain(junk, FRAME_HDR_LEN + b, GATE_WHY_LENGTH);
		}
	}

	/* One flipped bit anywhere after the header fails mac1 (in the header
	 * it changes the length or type: covered above). */
	for (bit = 8 * FRAME_HDR_LEN; bit < 8 * len; bit += 13) {
		memcpy(junk, f, len);
		junk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		t_set_ctx("bit %zu flipped", bit);
		{
			gate g;
			int over;

			n++;
			if (feed(&g, junk, len, 4096, &over) != GATE_DRAINING ||
			    g.why != GATE_WHY_MAC1)
				fails++;
		}
	}
	t_set_ctx("flipped bits");
	T_OK(n > 700);
	T_INT(fails, 0);

	t_set_ctx("a HELLO for another key");
	if ((g2 = make_hello(other_pub, &len2)) != NULL) {
		expect_drain(g2, len2, GATE_WHY_MAC1);
		free(g2);
	}
	free(f);
}

static void
test_two_keys(void)
{
	uint8_t keys[2][32], third_pub[32];
	sign_key *third = NULL;
	uint8_t *f;
	size_t len, k;
	int over;
	gate g;

	t_set_ctx("two keys");
	T_INT(ks_mac1_key(keys[0], resp_pub, NULL), 0);
	T_INT(ks_mac1_key(keys[1], other_pub, NULL), 0);
	for (k = 0; k < 2; k++) {
		t_set_ctx("two keys, a HELLO for key %zu", k);
		if ((f = make_hello(k == 0 ? resp_pub : other_pub, &len)) == NULL)
			return;
		gate_init(&g, (const uint8_t (*)[32])keys, 2);
		T_INT(feed_into(&g, f, len, len, &over), GATE_PASSED);
		T_INT((long long)gate_which(&g), (long long)k);
		gate_wipe(&g);
		free(f);
	}
	t_set_ctx("two keys, a HELLO for a third key");
	T_INT(sign_key_generate(&third), 0);
	sign_key_public(third, third_pub);
	if ((f = make_hello(third_pub, &len)) != NULL) {
		gate_init(&g, (const uint8_t (*)[32])keys, 2);
		T_INT(feed_into(&g, f, len, len, &over), GATE_DRAINING);
		T_OK(strcmp(gate_reason(&g), "HELLO failed mac1 (the sender "
		    "does not know our public key)") == 0);
		free(f);
	}
	sign_key_free(third);
}

static void
test_size(void)
{
	t_set_ctx("size");
	/* The buffer holds the largest HELLO; the rest is a few bytes. */
	T_OK(sizeof(((gate *)0)->buf) == FRAME_HDR_LEN + FRAME_MAX_HELLO);
	T_OK(sizeof(gate) <= FRAME_HDR_LEN + FRAME_MAX_HELLO + 32 * GATE_MAX_KEYS + 32);
	printf("sizeof(gate) = %zu bytes\n", sizeof(gate));
}

int
main(void)
{
	if (sign_key_generate(&resp_key) != 0 ||
	    sign_key_generate(&other_key) != 0) {
		fprintf(stderr, "cannot make keys\n");
		return 1;
	}
	sign_key_public(resp_key, resp_pub);
	sign_key_public(other_key, other_pub);
	test_passes();
	t_section("passing");
	test_drains();
	t_section("draining");
	test_two_keys();
	t_section("two keys");
	test_size();
	sign_key_free(resp_key);
	sign_key_free(other_key);
	return t_done();
}

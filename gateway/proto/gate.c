/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gate.c: a responder's connection before mac1.  See gate.h.
 */
#include "gate.h"

#include <stddef.h>
#include <string.h>

#include "crypto/crypto.h"
#include "keysched.h"

void
gate_init(gate *g, const uint8_t mac1_keys[][32], size_t n)
{
	memset(g, 0, offsetof(gate, buf));
	if (n > GATE_MAX_KEYS)
		n = GATE_MAX_KEYS;
	memcpy(g->mac1_key, mac1_keys, n * 32);
	g->nkeys = (uint8_t)n;
	g->state = GATE_READING;
}

size_t
gate_which(const gate *g)
{
	return g->which;
}

static void
drain(gate *g, int why)
{
	g->state = GATE_DRAINING;
	g->why = (uint8_t)why;
	crypto_wipe(g->buf, g->len);
	g->len = 0;
}

uint8_t *
gate_buf(gate *g, size_t *room)
{
	switch (g->state) {
	case GATE_READING:
		/* The header first, then exactly the body it announced. */
		*room = (g->want == 0 ? FRAME_HDR_LEN : g->want) - g->len;
		return g->buf + g->len;
	case GATE_DRAINING:
		*room = sizeof(g->buf);
		return g->buf;
	default:
		*room = 0;
		return NULL;
	}
}

/* The frame is complete: does its mac1 check out? */
static void
check(gate *g)
{
	uint8_t mac[KS_MAC1_LEN];
	size_t covered = g->len - KS_MAC1_LEN, i;

	/* Every key is tried, so the time taken does not say which matched. */
	for (i = 0; i < g->nkeys; i++)
		if (ks_mac1(mac, g->mac1_key[i], g->buf, covered) == 0 &&
		    crypto_memeq(mac, g->buf + covered, KS_MAC1_LEN) &&
		    g->state != GATE_PASSED) {
			g->state = GATE_PASSED;
			g->which = (uint8_t)i;
		}
	if (g->state != GATE_PASSED)
		drain(g, GATE_WHY_MAC1);
	crypto_wipe(mac, sizeof(mac));
}

int
gate_commit(gate *g, size_t n)
{
	size_t room;

	if (g->state == GATE_DRAINING)
		return g->state; /* thrown away */
	if (gate_buf(g, &room) == NULL || n > room)
		return g->state;
	g->len += (uint32_t)n;
	if (g->want == 0 && g->len == FRAME_HDR_LEN) {
		uint8_t type;
		size_t blen;

		g->type = g->buf[0];
		if (g->type != FRAME_HELLO) {
			drain(g, GATE_WHY_TYPE);
			return g->state;
		}
		/* A HELLO must hold at least one Hello byte and mac1. */
		if (frame_get_header(g->buf, &type, &blen) != 0 ||
		    blen < KS_MAC1_LEN + 1) {
			drain(g, GATE_WHY_LENGTH);
			return g->state;
		}
		g->want = (uint32_t)(FRAME_HDR_LEN + blen);
	}
	if (g->want != 0 && g->len == g->want)
		check(g);
	return g->state;
}

const uint8_t *
gate_frame(const gate *g, size_t *len)
{
	if (g->state != GATE_PASSED) {
		*len = 0;
		return NULL;
	}
	*len = g->len;
	return g->buf;
}

void
gate_refuse(gate *g, int why)
{
	drain(g, why);
}

int
gate_again(gate *g)
{
	if (g->state != GATE_PASSED)
		return g->state;
	if (++g->cookies > GATE_MAX_COOKIES) {
		drain(g, GATE_WHY_COOKIES);
		return g->state;
	}
	crypto_wipe(g->buf, g->len);
	g->len = 0;
	g->want = 0;
	g->state = GATE_READING;
	return g->state;
}

size_t
gate_partial(const gate *g)
{
	return g->state == GATE_READING ? g->len : 0;
}

const char *
gate_reason(const gate *g)
{
	switch (g->why) {
	case GATE_WHY_TYPE:
		return "the first frame was not a HELLO";
	case GATE_WHY_LENGTH:
		return "a HELLO of impossible length";
	case GATE_WHY_MAC1:
		return "HELLO failed mac1 (the sender does not know our public key)";
	case GATE_WHY_STALE:
		return "HELLO is stale: its time is more than 120 s from ours "
		    "(clocks apart, or a recorded HELLO)";
	case GATE_WHY_REPLAY:
		return "HELLO replayed (its mac1 was seen within the window)";
	case GATE_WHY_COOKIES:
		return "HELLOs kept coming without our cookie";
	default:
		return "";
	}
}

void
gate_wipe(gate *g)
{
	crypto_wipe(g, sizeof(*g));
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hello.c: a responder's freshness step on a HELLO whose mac1 passed
 * (proto/STP.md, "Freshness: replayed HELLOs"), read without decoding the
 * Hello: the offered versions, Hello.time and Hello.cookie, judged by the
 * listener's guard (guard.h).  The gate runs it on a connection's first
 * HELLO, the handshake on every later one.  Declared in handshake.h.
 */
#include "handshake.h"

#include <stdio.h>

#include "envelope.h"
#include "frame.h"
#include "stp.pb-c.h"

int
hs_guard_hello(guard *g, const uint8_t *frame, size_t len,
    const uint8_t *src, size_t src_len, uint64_t now, uint8_t *out,
    size_t *out_len, char *why, size_t why_len)
{
	const uint8_t *body = frame + FRAME_HDR_LEN, *ck = NULL;
	size_t blen, ck_len = 0;
	uint8_t cookie[GUARD_COOKIE_LEN];
	uint64_t t = 0;
	int v;

	*out_len = 0;
	if (why != NULL && why_len > 0)
		why[0] = '\0';
	if (len < FRAME_HDR_LEN + KS_MAC1_LEN + 1)
		return HS_GUARD_PASS;
	blen = len - FRAME_HDR_LEN - KS_MAC1_LEN;
	/*
	 * Not offering v1.1, or not parsing: the handshake answers with
	 * REJECT_VERSION or REJECT_MALFORMED, work that does not depend on
	 * the HELLO being fresh and costs no key operation.
	 */
	if (env_has_uint(body, blen, 1, HS_VERSION) != 1 ||
	    env_find_varint(body, blen, 7, &t) < 0 ||
	    env_find_bytes(body, blen, 8, &ck, &ck_len) < 0)
		return HS_GUARD_PASS;
	if (g == NULL)
		v = (t + GUARD_WINDOW_S < now || t > now + GUARD_WINDOW_S) ?
		    GUARD_STALE : GUARD_ADMIT;
	else
		v = guard_check(g, frame + len - KS_MAC1_LEN, t, ck, ck_len,
		    src, src_len, now, cookie);
	switch (v) {
	case GUARD_ADMIT:
		return HS_GUARD_PASS;
	case GUARD_COOKIE: {
		Stp__V1__Challenge c = STP__V1__CHALLENGE__INIT;
		int n;

		c.cookie.data = cookie;
		c.cookie.len = GUARD_COOKIE_LEN;
		n = env_pack(&c.base, out + FRAME_HDR_LEN,
		    HS_CHALLENGE_MAX - FRAME_HDR_LEN);
		if (n < 0)
			return HS_GUARD_STALE;
		frame_put_header(out, FRAME_CHALLENGE, (size_t)n);
		*out_len = FRAME_HDR_LEN + (size_t)n;
		if (why != NULL)
			snprintf(why, why_len, "under load: asked the initiator "
			    "for a cookie round trip");
		return HS_GUARD_CHALLENGE;
	}
	case GUARD_REPLAY:
		if (why != NULL)
			snprintf(why, why_len, "HELLO replayed (its mac1 was "
			    "seen within the last %d s)", 2 * GUARD_WINDOW_S);
		return HS_GUARD_REPLAY;
	default:
		if (why != NULL)
			snprintf(why, why_len, "HELLO is stale: its time is "
			    "%lld s from ours (clocks more than %d s apart, or "
			    "a recorded HELLO)", (long long)(t - now),
			    GUARD_WINDOW_S);
		return HS_GUARD_STALE;
	}
}

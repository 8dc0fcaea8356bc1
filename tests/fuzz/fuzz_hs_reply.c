/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_hs_reply.c: an initiator handshake (gateway/proto/handshake.h) that sent
 * its HELLO and waits for the responder, fed hostile frames.
 *
 * Input: one control byte, then frames (each cut where its header says).
 *   bit 0: install a challenge-answer hook (answers with the challenge
 *          reversed); without it a CHALLENGE ends the handshake
 *
 * The HELLO comes from the seeded RNG (FUZZ_TAG_I), so the real REPLY and
 * AUTH_R for it (see fuzz_prefix) are valid inputs and seeds.
 *
 * Invariants: an error leaves the hs failed with a reason and every later
 * hs_input refused; a CHALLENGE answered gives one new HELLO whose mac1
 * checks out under the responder's key; the initiator completes only with
 * the key it dialed, and then has an AUTH_I to send.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "frame.h"
#include "fuzz.h"
#include "keysched.h"

static uint8_t pk_r[32], mac1_key[32];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_pub(1, pk_r);
	if (ks_mac1_key(mac1_key, pk_r, NULL) != 0)
		fuzz_fail(__FILE__, __LINE__, "mac1 key");
	(void)fuzz_prefix(0);
	return 0;
}

static int
answer(void *cookie, const uint8_t *chal, size_t chal_len, uint8_t *ans,
    size_t *ans_len)
{
	size_t i;

	(void)cookie;
	FUZZ_ASSERT(chal_len <= HS_MAX_ADMISSION);
	if (chal_len > *ans_len)
		return STP_ETOOBIG;
	for (i = 0; i < chal_len; i++)
		ans[i] = chal[chal_len - 1 - i];
	*ans_len = chal_len;
	return 0;
}

/* A HELLO frame with a good mac1. */
static void
check_hello(const uint8_t *out, size_t len)
{
	uint8_t type, mac[KS_MAC1_LEN];
	size_t blen;

	FUZZ_ASSERT(out != NULL && len > FRAME_HDR_LEN + KS_MAC1_LEN);
	FUZZ_ASSERT(frame_get_header(out, &type, &blen) == 0);
	FUZZ_ASSERT(type == FRAME_HELLO && blen == len - FRAME_HDR_LEN);
	FUZZ_ASSERT(ks_mac1(mac, mac1_key, out, len - KS_MAC1_LEN) == 0);
	FUZZ_ASSERT(memcmp(mac, out + len - KS_MAC1_LEN, KS_MAC1_LEN) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hs_config c;
	hs_result r;
	hs *h;
	const uint8_t *f, *out;
	size_t off = 0, flen, olen;
	int rc;

	if (size < 1)
		return 0;
	fuzz_hs_config(&c, 1, 0);
	if (data[0] & 1)
		c.answer = answer;
	data++;
	size--;

	fuzz_rng(FUZZ_TAG_I);
	if ((h = hs_new(&c)) == NULL || hs_start(h) != HS_WORK || hs_work(h) != 0)
		fuzz_fail(__FILE__, __LINE__, "initiator start");
	out = hs_output(h, &olen);
	check_hello(out, olen);
	FUZZ_ASSERT(olen == fuzz_prefix(0)->hello_len &&
	    memcmp(out, fuzz_prefix(0)->hello, olen) == 0);
	hs_output_clear(h);

	while (fuzz_next_frame(data, size, &off, &f, &flen) == 0) {
		rc = hs_input(h, f, flen);
		if (rc == HS_WORK) {
			FUZZ_ASSERT(f[0] == FRAME_CHALLENGE || f[0] == FRAME_REPLY ||
			    f[0] == FRAME_AUTH);
			rc = hs_work(h);
			if (rc == 0 && f[0] == FRAME_CHALLENGE) {
				out = hs_output(h, &olen);
				check_hello(out, olen);
				hs_output_clear(h);
			}
		}
		FUZZ_ASSERT(rc != HS_OUT);
		if (rc < 0) {
			FUZZ_ASSERT(hs_failed(h));
			FUZZ_ASSERT(hs_reason(h)[0] != '\0');
		}
		if (hs_done(h)) {
			FUZZ_ASSERT(f[0] == FRAME_AUTH);
			out = hs_output(h, &olen);
			FUZZ_ASSERT(out != NULL && out[0] == FRAME_AUTH);
			FUZZ_ASSERT(hs_result_take(h, &r) == 0);
			FUZZ_ASSERT(memcmp(r.peer_pub, pk_r, 32) == 0);
			FUZZ_ASSERT(hs_result_take(h, &r) == STP_ESTATE);
			hs_result_wipe(&r);
			FUZZ_ASSERT(hs_input(h, f, flen) == STP_ESTATE);
			break;
		}
		if (hs_failed(h)) {
			FUZZ_ASSERT(hs_input(h, f, flen) == STP_ESTATE);
			break;
		}
	}
	if (fuzz_verbose())
		fprintf(stderr, "%s: done %d failed %d: %s\n", __FILE__,
		    hs_done(h), hs_failed(h), hs_reason(h));
	hs_free(h);
	return 0;
}

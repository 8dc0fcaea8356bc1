/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_hs_auth.c: a handshake (gateway/proto/handshake.h) in WAIT_AUTH fed
 * hostile frames.  WAIT_AUTH is reached by a real handshake prefix run with
 * the seeded RNG (fuzz.h): the responder took the real HELLO and answered;
 * or the initiator took the real REPLY.
 *
 * Input: one control byte, then frames (each cut where its header says).
 *   bit 0 clear: the responder waits for AUTH_I
 *   bit 0 set:   the initiator waits for AUTH_R
 *
 * Invariants: an error leaves the hs failed with a reason and every later
 * hs_input refused; it completes only with the real peer (the initiator:
 * the key it dialed; the responder: the one initiator able to sign), after
 * which a second hs_result_take is refused.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "frame.h"
#include "fuzz.h"

static uint8_t pk_i[32], pk_r[32];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_pub(0, pk_i);
	fuzz_pub(1, pk_r);
	(void)fuzz_prefix(0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hs_result r;
	hs *h;
	const uint8_t *f;
	size_t off = 0, flen;
	int rc, initiator;

	if (size < 1)
		return 0;
	initiator = data[0] & 1;
	data++;
	size--;
	h = initiator ? fuzz_hs_initiator_wait_auth() :
	    fuzz_hs_responder_wait_auth();
	if (h == NULL)
		fuzz_fail(__FILE__, __LINE__, "handshake prefix");
	while (fuzz_next_frame(data, size, &off, &f, &flen) == 0) {
		rc = hs_input(h, f, flen);
		if (rc == HS_WORK) {
			FUZZ_ASSERT(f[0] == FRAME_AUTH);
			rc = hs_work(h);
		}
		FUZZ_ASSERT(rc <= 0);
		if (rc < 0) {
			FUZZ_ASSERT(hs_failed(h));
			FUZZ_ASSERT(hs_reason(h)[0] != '\0');
			FUZZ_ASSERT(hs_input(h, f, flen) == STP_ESTATE);
			break;
		}
		if (hs_done(h)) {
			FUZZ_ASSERT(hs_result_take(h, &r) == 0);
			FUZZ_ASSERT(memcmp(r.peer_pub, initiator ? pk_r : pk_i,
			    32) == 0);
			FUZZ_ASSERT(hs_result_take(h, &r) == STP_ESTATE);
			hs_result_wipe(&r);
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

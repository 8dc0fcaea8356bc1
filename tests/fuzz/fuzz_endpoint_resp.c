/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_endpoint_resp.c: endpoint_input (gateway/proto/endpoint.h) of arbitrary
 * bytes on a fresh responder endpoint: framing, the handshake and (given
 * the real initiator's frames, which the seeds hold) the record layer.
 *
 * Input: one control byte, then the bytes of the wire.
 *   bit 0: repair mac1 of every HELLO-typed frame (cut where headers say)
 *   bits 1-3: the size of the pieces the wire is fed in
 *   bit 4: job mode (crypto handed out as jobs) instead of inline crypto
 *   bit 5: in job mode, hand each batch of jobs back newest first
 *   bit 6: the peer map refuses the initiator's key
 *   bit 7: record signatures from us (Auth flags)
 *
 * The responder's RNG stream is FUZZ_TAG_R on every input, so the real
 * initiator's AUTH_I and records (make_corpus.c) stay valid.
 *
 * Invariants (fuzz_ep_feed, fuzz_ep_settle): a failed endpoint stays failed
 * and refuses input; events are well formed; it is established only with
 * the real initiator and only when the peer map has it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "frame.h"
#include "fuzz.h"
#include "keysched.h"

#define NOW_MS 1700000000000ull

static uint8_t pk_i[32], pk_r[32];
static aead_ctx *actx;
static int refuse;

static const size_t chunks[8] = { 0, 1, 3, 4, 17, 64, 1000, 4096 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_pub(0, pk_i);
	fuzz_pub(1, pk_r);
	if ((actx = aead_ctx_new()) == NULL)
		fuzz_fail(__FILE__, __LINE__, "aead_ctx_new");
	return 0;
}

static int
lookup(void *cookie, const uint8_t pk[32])
{
	(void)cookie;
	if (refuse)
		return STP_EPEER;
	return memcmp(pk, pk_i, 32) == 0 ? 0 : STP_EPEER;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ep_seen seen;
	endpoint_config c;
	endpoint *e;
	uint8_t *copy, ctl;
	const uint8_t *f;
	size_t off = 0, flen;
	int jobs, reverse;

	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (ctl & 1) {
		while (fuzz_next_frame(copy, size, &off, &f, &flen) == 0) {
			uint8_t *fw = copy + (f - copy);

			if (flen >= FRAME_HDR_LEN + KS_MAC1_LEN &&
			    fw[0] == FRAME_HELLO)
				fuzz_fix_mac1(fw, flen, pk_r);
		}
	}
	jobs = (ctl >> 4) & 1;
	reverse = (ctl >> 5) & 1;
	refuse = (ctl >> 6) & 1;

	memset(&c, 0, sizeof(c));
	fuzz_hs_config(&c.hs, 0, (ctl >> 7) ? AUTH_FLAG_SIGN_RECORDS : 0);
	c.inline_crypto = !jobs;
	c.lookup = lookup;
	fuzz_rng(FUZZ_TAG_R);
	if ((e = endpoint_new(&c, NOW_MS)) == NULL)
		fuzz_fail(__FILE__, __LINE__, "endpoint_new");
	memset(&seen, 0, sizeof(seen));
	(void)fuzz_ep_feed(e, actx, jobs, reverse, copy, size,
	    chunks[(ctl >> 1) & 7], NOW_MS, &seen);
	FUZZ_ASSERT(seen.established <= 1);
	if (endpoint_established(e)) {
		FUZZ_ASSERT(!refuse);
		FUZZ_ASSERT(memcmp(endpoint_peer(e), pk_i, 32) == 0);
		FUZZ_ASSERT(endpoint_sid(e) != NULL);
	}
	if (refuse)
		FUZZ_ASSERT(seen.established == 0 && seen.records == 0);
	if (fuzz_verbose())
		fprintf(stderr, "endpoint_resp: established %u records %u "
		    "closed %u finished %d: %s\n", seen.established,
		    seen.records, seen.closed, endpoint_finished(e),
		    endpoint_reason(e));
	endpoint_free(e);
	free(copy);
	return 0;
}

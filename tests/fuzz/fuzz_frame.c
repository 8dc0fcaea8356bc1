/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_frame.c: frame_get_header (gateway/proto/frame.h) on every 4-byte window of
 * the input.
 *
 * Invariants: a header is accepted exactly when its type is known and its
 * length is at most frame_max_body(type); an accepted length never exceeds
 * that maximum (nor FRAME_MAX_BODY); the outputs are untouched on failure;
 * frame_put_header gives the same 4 bytes back.
 */
#include <string.h>

#include "err.h"
#include "frame.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t type, hdr[FRAME_HDR_LEN];
	size_t i, blen, max, wire;
	int rc;

	for (i = 0; i + FRAME_HDR_LEN <= size; i++) {
		const uint8_t *h = data + i;

		type = 0xee;
		blen = (size_t)-1;
		max = frame_max_body(h[0]);
		wire = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
		rc = frame_get_header(h, &type, &blen);
		FUZZ_ASSERT(frame_type_name(h[0]) != NULL);
		FUZZ_ASSERT(max <= FRAME_MAX_BODY);
		if (rc != 0) {
			FUZZ_ASSERT(type == 0xee && blen == (size_t)-1);
			FUZZ_ASSERT(rc == (max == 0 ? STP_EPARSE : STP_ETOOBIG));
			FUZZ_ASSERT(max == 0 || wire > max);
			continue;
		}
		FUZZ_ASSERT(max > 0);
		FUZZ_ASSERT(type == h[0]);
		FUZZ_ASSERT(blen == wire);
		FUZZ_ASSERT(blen <= frame_max_body(type));
		FUZZ_ASSERT(strcmp(frame_type_name(type), "unknown") != 0);
		frame_put_header(hdr, type, blen);
		FUZZ_ASSERT(memcmp(hdr, h, FRAME_HDR_LEN) == 0);
	}
	return 0;
}

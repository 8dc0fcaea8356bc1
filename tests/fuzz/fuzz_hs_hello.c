/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_hs_hello.c: a responder handshake (gateway/proto/handshake.h) in
 * WAIT_HELLO fed hostile frames.
 *
 * Input: one control byte, then frames (each cut where its header says).
 *   bit 0: repair mac1 of every HELLO-typed frame first, so that the fuzzer
 *          gets past the HMAC to the admission hook and the Hello decoder
 *   bit 1: install an admission hook driven by Hello.admission: empty or
 *          first byte % 4 == 0 admits; 1 challenges with the rest; 2 refuses;
 *          3 claims a challenge longer than the buffer it was given
 *
 * Invariants: an error leaves the hs failed with a reason, and every later
 * hs_input is refused (STP_ESTATE); HS_OUT comes with whole CHALLENGE or
 * REJECT frames; a HELLO that was answered leaves whole REPLY and AUTH
 * frames; a responder completes only with the real initiator's AUTH_I.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "frame.h"
#include "fuzz.h"
#include "keysched.h"

static uint8_t pk_r[32], pk_i[32];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_pub(1, pk_r);
	fuzz_pub(0, pk_i);
	return 0;
}

static int
admit(void *cookie, const uint8_t *adm, size_t adm_len, uint8_t *chal,
    size_t *chal_len)
{
	size_t n;

	(void)cookie;
	FUZZ_ASSERT(adm_len <= HS_MAX_ADMISSION);
	FUZZ_ASSERT(adm_len == 0 || adm != NULL);
	if (adm_len == 0)
		return HS_ADMIT;
	switch (adm[0] % 4) {
	case 1:
		n = adm_len - 1 < *chal_len ? adm_len - 1 : *chal_len;
		memcpy(chal, adm + 1, n);
		*chal_len = n;
		return HS_ADMIT_CHALLENGE;
	case 2:
		return HS_ADMIT_REJECT;
	case 3:
		*chal_len = *chal_len + 1 + adm[adm_len - 1];
		return HS_ADMIT_CHALLENGE;
	default:
		return HS_ADMIT;
	}
}

/* out[0..len) must be whole frames of the given types. */
static void
check_frames(const uint8_t *out, size_t len, int t1, int t2)
{
	size_t off = 0, blen;
	uint8_t type;

	FUZZ_ASSERT(out != NULL && len > 0);
	while (off < len) {
		FUZZ_ASSERT(len - off >= FRAME_HDR_LEN);
		FUZZ_ASSERT(frame_get_header(out + off, &type, &blen) == 0);
		FUZZ_ASSERT(type == t1 || type == t2);
		FUZZ_ASSERT(blen <= len - off - FRAME_HDR_LEN);
		off += FRAME_HDR_LEN + blen;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hs_config c;
	hs *h;
	const uint8_t *f, *out;
	uint8_t *copy;
	size_t off = 0, flen, olen;
	int rc, fix, hook;

	if (size < 1)
		return 0;
	fix = data[0] & 1;
	hook = (data[0] >> 1) & 1;
	data++;
	size--;
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);

	fuzz_rng(FUZZ_TAG_R);
	fuzz_hs_config(&c, 0, 0);
	if (hook)
		c.admit = admit;
	if ((h = hs_new(&c)) == NULL)
		fuzz_fail(__FILE__, __LINE__, "hs_new");
	while (fuzz_next_frame(copy, size, &off, &f, &flen) == 0) {
		uint8_t *fw = copy + (f - copy);

		if (fix && flen >= FRAME_HDR_LEN + KS_MAC1_LEN &&
		    fw[0] == FRAME_HELLO)
			fuzz_fix_mac1(fw, flen, pk_r);
		rc = hs_input(h, f, flen);
		if (rc == HS_WORK) {
			FUZZ_ASSERT(f[0] == FRAME_HELLO || f[0] == FRAME_AUTH);
			rc = hs_work(h);
			if (rc == 0 && f[0] == FRAME_HELLO) {
				out = hs_output(h, &olen);
				check_frames(out, olen, FRAME_REPLY, FRAME_AUTH);
				hs_output_clear(h);
			}
		} else if (rc == HS_OUT) {
			out = hs_output(h, &olen);
			check_frames(out, olen, FRAME_CHALLENGE, FRAME_REJECT);
			FUZZ_ASSERT(hook || out[0] == FRAME_REJECT);
			hs_output_clear(h);
			if (out[0] == FRAME_REJECT)
				FUZZ_ASSERT(hs_failed(h));
		}
		if (hs_done(h)) {
			/* Only the real initiator can sign an AUTH_I. */
			hs_result r;

			FUZZ_ASSERT(rc == 0 && f[0] == FRAME_AUTH);
			FUZZ_ASSERT(hs_result_take(h, &r) == 0);
			FUZZ_ASSERT(memcmp(r.peer_pub, pk_i, 32) == 0);
			hs_result_wipe(&r);
			break;
		}
		if (rc < 0) {
			FUZZ_ASSERT(hs_failed(h));
			FUZZ_ASSERT(hs_reason(h)[0] != '\0');
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
	free(copy);
	return 0;
}

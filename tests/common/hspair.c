/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hspair.c: one handshake run in memory between two fresh identities (see
 * hspair.h).
 */
#include "hspair.h"

#include <stdio.h>
#include <string.h>

#include "crypto/sign.h"
#include "err.h"
#include "frame.h"

int
hspair_pass(hs *from, hs *to, int *frames)
{
	const uint8_t *out;
	size_t len, off = 0, body;
	uint8_t type;
	int rc;

	out = hs_output(from, &len);
	while (off + FRAME_HDR_LEN <= len) {
		if (frame_get_header(out + off, &type, &body) != 0)
			return STP_EPROTO;
		rc = hs_input(to, out + off, FRAME_HDR_LEN + body);
		if (rc == HS_WORK)
			rc = hs_work(to);
		if (rc < 0)
			return rc;
		off += FRAME_HDR_LEN + body;
		if (frames != NULL)
			(*frames)++;
	}
	hs_output_clear(from);
	return 0;
}

int
hspair_run(hs_answer_fn answer, void *answer_cookie, hs_admit_fn admit,
    void *admit_cookie, int *frames, char *why, size_t why_len)
{
	sign_key *ki = NULL, *kr = NULL;
	hs_config ci, cr;
	hs *i = NULL, *r = NULL;
	int rc, n;

	memset(&ci, 0, sizeof(ci));
	memset(&cr, 0, sizeof(cr));
	rc = STP_ENOMEM;
	if (sign_key_generate(&ki) != 0 || sign_key_generate(&kr) != 0)
		goto out;
	ci.initiator = 1;
	ci.identity = ki;
	sign_key_public(kr, ci.peer_pub);
	ci.answer = answer;
	ci.cookie = answer_cookie;
	cr.identity = kr;
	cr.admit = admit;
	cr.cookie = admit_cookie;
	i = hs_new(&ci);
	r = hs_new(&cr);
	if (i == NULL || r == NULL)
		goto out;
	if (frames != NULL)
		*frames = 0;
	if ((rc = hs_start(i)) == HS_WORK)
		rc = hs_work(i);
	for (n = 0; rc >= 0 && n < 16 && !(hs_done(i) && hs_done(r)); n++) {
		if ((rc = hspair_pass(i, r, frames)) < 0 || hs_failed(r))
			break;
		rc = hspair_pass(r, i, frames);
	}
	if (rc >= 0)
		rc = hs_done(i) && hs_done(r) ? 0 : STP_EREJECTED;
	snprintf(why, why_len, "%s / %s", hs_reason(i), hs_reason(r));
out:
	hs_free(i);
	hs_free(r);
	sign_key_free(ki);
	sign_key_free(kr);
	return rc;
}

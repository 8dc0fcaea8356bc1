/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hspair.h: one handshake (gateway/proto/handshake.h) run in memory between two
 * fresh identities, frame by frame, for the tests of admission hooks.
 */
#ifndef STP_HSPAIR_H
#define STP_HSPAIR_H

#include <stddef.h>

#include "handshake.h"

/*
 * Move every whole frame of from's output into to (running to's work when
 * it asks), counting them in *frames unless frames is NULL; 0, or the
 * first error.
 */
int hspair_pass(hs *from, hs *to, int *frames);

/*
 * A handshake of a fresh initiator (answer, answer_cookie) with a fresh
 * responder (admit, admit_cookie).  0 when both sides are done, else the
 * first error or STP_EREJECTED; why gets "I's reason / R's reason".  With
 * frames, the frames that crossed are counted there (from 0).
 */
int hspair_run(hs_answer_fn answer, void *answer_cookie, hs_admit_fn admit,
    void *admit_cookie, int *frames, char *why, size_t why_len);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz.h: what the libFuzzer harnesses in tests/fuzz share: the libFuzzer
 * entry points, the seeded RNG, fixed identities, a way to cut an input into
 * frames, and the handshake prefixes some harnesses start from.
 *
 * Every harness is a file fuzz_<name>.c defining LLVMFuzzerInitialize and
 * LLVMFuzzerTestOneInput.  It is linked twice: with -fsanitize=fuzzer
 * (clang only) for fuzzing, and with replay_main.c (any compiler) so that the
 * committed corpus runs as a regression test in every build.
 *
 * Determinism: a harness that draws randomness calls fuzz_rng() with a fixed
 * tag at the start of every input, so one input always takes one path and a
 * reproducer reproduces.  make_corpus.c uses the same tags to build seeds
 * that get through the handshake.
 */
#ifndef STP_FUZZ_H
#define STP_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/aead.h"
#include "crypto/sign.h"
#include "endpoint.h"
#include "handshake.h"
#include "keysched.h"

/* libFuzzer's entry points (declared here for -Wmissing-prototypes). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A check that holds for every input; a failure aborts, so the fuzzer keeps the input. */
#define FUZZ_ASSERT(cond) \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))
void fuzz_fail(const char *file, int line, const char *what)
    __attribute__((noreturn));

/*
 * Nonzero when STP_FUZZ_VERBOSE is set: harnesses then say how far each
 * input got (for checking that the seeds reach what they are meant to).
 */
int fuzz_verbose(void);

/* Seed the test RNG with tag (a fixed string): the stream starts over. */
void fuzz_rng(const char *tag);

/* Tags of the RNG streams the handshake prefixes use (make_corpus.c too). */
#define FUZZ_TAG_I "fuzz initiator"
#define FUZZ_TAG_R "fuzz responder"

/* The fixed identities: 0 the initiator, 1 the responder.  Made on first use. */
const sign_key *fuzz_id(int which);
void fuzz_pub(int which, uint8_t pub[32]);

/*
 * The next frame of in[0..len) at *off: its header's length decides where it
 * ends (cut short at the end of the input, so a truncated frame is passed on
 * as it is).  Returns 0 and sets *f, *flen; 1 when the input is used up.
 */
int fuzz_next_frame(const uint8_t *in, size_t len, size_t *off,
    const uint8_t **f, size_t *flen);

/* Recompute mac1 of a HELLO frame (header + Hello + 16 mac1 bytes) for pk_r, in place. */
void fuzz_fix_mac1(uint8_t *frame, size_t len, const uint8_t pk_r[32]);

/* hs configs for the fixed identities: initiator dials the responder. */
void fuzz_hs_config(hs_config *c, int initiator, uint32_t flags);

/*
 * hs_input, then hs_work when it asks for it.  Returns what the last of the
 * two returned.
 */
int fuzz_hs_feed(hs *h, const uint8_t *frame, size_t len);

/*
 * A real handshake, computed once per process (per flags value) with the
 * seeded RNG and the fixed identities, both sides with Auth flags `flags`:
 *   hello     the initiator's HELLO (stream FUZZ_TAG_I, right after hs_start)
 *   reply     the responder's REPLY || AUTH_R for it (stream FUZZ_TAG_R)
 *   auth_i    the initiator's AUTH_I after that
 *   ts_i, ts_r, sid  the traffic secrets and session id it ends with
 * A side that replays its stream (same tag, same identity, same flags) gets
 * the same bytes, so a harness can stand in for either side.  Aborts if the
 * handshake does not complete.
 */
struct fuzz_prefix {
	uint8_t hello[4 + 2048];
	size_t hello_len;
	uint8_t reply[2 * (4 + 2048)];
	size_t reply_len;
	size_t reply_frame_len;  /* the REPLY frame alone; AUTH_R follows */
	uint8_t auth_i[4 + 512];
	size_t auth_i_len;
	uint8_t ts_i[KS_SECRET_LEN], ts_r[KS_SECRET_LEN], sid[KS_SID_LEN];
};
const struct fuzz_prefix *fuzz_prefix(uint32_t flags);

/*
 * A responder hs in WAIT_AUTH (it took the flags-0 prefix HELLO and
 * answered), or an initiator hs in WAIT_AUTH (it took the prefix REPLY;
 * AUTH_R not yet).  Each call reseeds the RNG so the result is the same every
 * time.  NULL on failure.
 */
hs *fuzz_hs_responder_wait_auth(void);
hs *fuzz_hs_initiator_wait_auth(void);

/* What fuzz_ep_settle saw. */
struct fuzz_ep_seen {
	unsigned established, records, pongs, closed;
};

/*
 * Let endpoint e run until nothing moves: in job mode (jobs != 0) take every
 * job, run it, hand the batch back in order (or newest first when reverse);
 * take every event; put every output byte on the floor.  Checks the event
 * invariants (an EP_RECORD carries a stream body; EP_CLOSED means
 * finished) and counts events in *seen.  Returns the first error that
 * endpoint_job_done gave, or 0.
 */
int fuzz_ep_settle(endpoint *e, aead_ctx *ctx, int jobs, int reverse,
    uint64_t now_ms, struct fuzz_ep_seen *seen);

/*
 * Feed in[0..len) to e in pieces of at most chunk bytes (0: as much as
 * fits), settling after each.  Stops at the first error (returned) or when
 * e takes no more input (returns 0).  Checks that an endpoint which failed
 * stays failed: finished, no room, every later input refused.
 */
int fuzz_ep_feed(endpoint *e, aead_ctx *ctx, int jobs, int reverse,
    const uint8_t *in, size_t len, size_t chunk, uint64_t now_ms,
    struct fuzz_ep_seen *seen);

/* A scratch directory in /dev/shm (or TMPDIR), removed at exit with the files named. */
const char *fuzz_tmpdir(void);
/* Write len bytes to dir/name with mode; returns 0 or -1. */
int fuzz_write_file(const char *path, const void *buf, size_t len, int mode);

#endif

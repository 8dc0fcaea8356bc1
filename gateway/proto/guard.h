/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guard.h: a responder's memory of the HELLOs it has seen (proto/STP.md,
 * "Freshness: replayed HELLOs").  Sans-I/O: the caller gives the clock.
 *
 * A HELLO that passed mac1 carries its sender's Unix time.  The guard
 * refuses one more than GUARD_WINDOW_S away from ours (stale), and one whose
 * mac1 it has already seen within the window (replayed); both get silence.
 * It remembers each admitted HELLO's mac1 until the HELLO would be stale
 * anyway, in a table of fixed size: slots of 16 bytes in buckets of
 * GUARD_BUCKET, the bucket picked by a keyed hash of the mac1, so that
 * nobody can aim HELLOs at one bucket.  The table never grows.  When the
 * bucket a HELLO needs is full of live entries (the load case), the guard
 * stops remembering and asks for a cookie instead: 16 bytes bound to the
 * sender's address and the current minute, under a key that never leaves
 * the process.  A HELLO that echoes a valid cookie is admitted without a
 * slot.  Checking costs a keyed hash and a bucket scan; a cookie costs one
 * HMAC-SHA256 more.
 *
 * One guard per listener, used from one thread (the event loop).
 */
#ifndef STP_GUARD_H
#define STP_GUARD_H

#include <stddef.h>
#include <stdint.h>

#define GUARD_WINDOW_S 120      /* |Hello.time - now| allowed, seconds */
#define GUARD_EPOCH_S 60        /* a cookie is good for this epoch and the next */
#define GUARD_BUCKET 8          /* slots per bucket */
#define GUARD_SLOT_BYTES 16
#define GUARD_COOKIE_LEN 16
#define GUARD_SRC_MAX 17        /* 0x04 + IPv4, or 0x06 + IPv6 */
#define GUARD_DEFAULT_SLOTS 16384

enum guard_verdict {
	GUARD_ADMIT = 0,        /* fresh and new: go on */
	GUARD_STALE,            /* Hello.time outside the window: silence */
	GUARD_REPLAY,           /* seen within the window: silence */
	GUARD_COOKIE,           /* under load: answer with the cookie written */
};

typedef struct guard guard;

/*
 * A guard of `slots` slots (rounded up to a multiple of GUARD_BUCKET, at
 * least one bucket), with fresh random keys.  NULL when out of memory or the
 * RNG fails.
 */
guard *guard_new(unsigned slots);
void guard_free(guard *g);
/* Bytes the guard holds: its table and keys (the stated memory bound). */
size_t guard_memory(const guard *g);

/*
 * Judge a HELLO whose mac1 checked out.  mac1: its 16-byte tag; t: its
 * Hello.time; cookie/cookie_len: its Hello.cookie (cookie_len 0 when none);
 * src/src_len: the sender's address in the form above; now: our Unix time.
 * For GUARD_COOKIE, cookie_out receives the cookie to send.
 */
int guard_check(guard *g, const uint8_t mac1[16], uint64_t t,
    const uint8_t *cookie, size_t cookie_len, const uint8_t *src,
    size_t src_len, uint64_t now, uint8_t cookie_out[GUARD_COOKIE_LEN]);

/* Live (unexpired) entries at time now, for metrics and tests. */
size_t guard_live(const guard *g, uint64_t now);

/* A verdict's name for logs and counters: "stale", "replayed", ... */
const char *guard_verdict_name(int v);

#endif

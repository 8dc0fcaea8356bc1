/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gate.h: what a responder does with a connection before a HELLO has passed
 * mac1 (proto/STP.md, "Before mac1: a listener that says nothing").
 *
 * A gate is one fixed buffer, big enough for the largest HELLO, and a few
 * bytes of state: it allocates nothing and never writes.  Reads are sized so
 * that the gate never takes a byte beyond the first frame.  Whatever goes
 * wrong (a type other than HELLO, a length over the maximum, a failed mac1)
 * gets the same answer: the gate keeps reading into its own buffer and
 * throwing the bytes away, and the owner closes the connection when the
 * handshake timeout that began at accept runs out, exactly as it does for a
 * HELLO that never completes.  So neither bytes nor timing tell a prober
 * without the responder's key that STP listens here.
 *
 * Sans-I/O: no sockets, no clock.  The owner reads into gate_buf(), reports
 * with gate_commit(), and once it returns GATE_PASSED hands gate_frame() to
 * the endpoint (which checks mac1 again, for itself) and frees the gate.
 */
#ifndef STP_GATE_H
#define STP_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define GATE_CAP (FRAME_HDR_LEN + FRAME_MAX_HELLO)

enum gate_state {
	GATE_READING = 0,  /* the first frame is not complete yet */
	GATE_PASSED,       /* a HELLO whose mac1 checked out: gate_frame() */
	GATE_DRAINING,     /* refused: reads are thrown away until the deadline */
};

/* Why a gate drains (gate_why), for the owner's counters and logs. */
enum gate_why {
	GATE_WHY_NONE = 0,
	GATE_WHY_TYPE,     /* the first frame is not a HELLO */
	GATE_WHY_LENGTH,   /* a HELLO longer than its maximum, or too short for mac1 */
	GATE_WHY_MAC1,     /* mac1 failed: the sender does not know our key */
	GATE_WHY_STALE,    /* Hello.time outside the window (guard.h) */
	GATE_WHY_REPLAY,   /* a HELLO seen before */
	GATE_WHY_COOKIES,  /* more HELLOs without our cookie than we answer */
};

/* Cookie CHALLENGEs a gate answers before it refuses (as I's limit). */
#define GATE_MAX_COOKIES 3

/*
 * The identities a gate answers to: ours, and during a rotation the previous
 * one (config previous_identity).  A HELLO passes when its mac1 checks out
 * under any of their keys; gate_which() says whose.
 */
#define GATE_MAX_KEYS 2

typedef struct gate {
	uint8_t mac1_key[GATE_MAX_KEYS][32];
	uint8_t nkeys;
	uint8_t which;     /* the key the passed HELLO's mac1 is under */
	uint8_t state;
	uint8_t why;
	uint8_t type;      /* the first frame's type byte, once read */
	uint8_t cookies;   /* cookie CHALLENGEs sent */
	uint32_t want;     /* frame length once the header is in: header + body */
	uint32_t len;      /* bytes in buf */
	uint8_t buf[GATE_CAP];
} gate;

/*
 * Start reading the first frame; mac1_keys are ks_mac1_key's for each of our
 * n (1..GATE_MAX_KEYS) identities, in order.
 */
void gate_init(gate *g, const uint8_t mac1_keys[][32], size_t n);

/* Once GATE_PASSED: the index (into gate_init's keys) of the matching key. */
size_t gate_which(const gate *g);

/*
 * Where the next read goes and how many bytes it may take: only what the
 * first frame still lacks while reading, the whole buffer while draining,
 * nothing once passed.
 */
uint8_t *gate_buf(gate *g, size_t *room);

/* n bytes were read into gate_buf(): the state after them. */
int gate_commit(gate *g, size_t n);

/* The HELLO frame (header and body) once GATE_PASSED, else NULL. */
const uint8_t *gate_frame(const gate *g, size_t *len);

/*
 * The owner's freshness check (hs_guard_hello) refused the passed HELLO:
 * drain, silently, like a failed mac1.  why: GATE_WHY_STALE or _REPLAY.
 */
void gate_refuse(gate *g, int why);

/*
 * The owner sent a cookie CHALLENGE for the passed HELLO: read the next
 * HELLO into the same buffer.  Past GATE_MAX_COOKIES the gate drains
 * instead.  Returns the new state.
 */
int gate_again(gate *g);

/* Bytes of the first frame received so far (0 once draining). */
size_t gate_partial(const gate *g);

/* A sentence for logs: why the gate drains ("" when it does not). */
const char *gate_reason(const gate *g);

/* Wipe the buffer (it held a HELLO) and the key. */
void gate_wipe(gate *g);

#endif

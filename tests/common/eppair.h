/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eppair.h: two endpoints (gateway/proto/endpoint.h) on an in-memory wire, for the
 * tests that drive a whole session without sockets: the wire in both
 * directions, input fed in random pieces, crypto inline or in jobs handed
 * back out of order, events polled and the first error each side meets.
 *
 * A test keeps its own per-side state in a struct whose first member is a
 * struct eppair_side, points eppair.s[0] (the initiator) and s[1] (the
 * responder) at them, and sees every event through the event hook.
 */
#ifndef STP_EPPAIR_H
#define STP_EPPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/aead.h"
#include "crypto/sign.h"
#include "endpoint.h"

#define EPPAIR_MAXJOBS 4096
#define EPPAIR_MAXKEPT 256

/* Where a side's first error came from (eppair_side.err_from). */
#define EPPAIR_FROM_JOB   0      /* endpoint_job_done */
#define EPPAIR_FROM_INPUT 1      /* endpoint_input */
#define EPPAIR_FROM_POLL  2      /* a record processed while polling */

struct eppair_side {
	endpoint *e;
	int k;                   /* 0: initiator, 1: responder */
	uint8_t *in;             /* bytes on the wire towards this side */
	size_t in_len, in_cap;
	size_t in_fed;           /* of them fed (only with keep_input) */
	int err;                 /* first error an endpoint call returned */
	int err_from;            /* EPPAIR_FROM_* */
	char why[256];           /* endpoint_reason() when err was set */
	/* Counted by eppair_poll before the event hook sees the event. */
	int established, closed;
	uint32_t close_code;
	char close_reason[160];
	uint64_t pongs;
	/* Job mode: the jobs out, the order each was taken in. */
	endpoint_job *jobs[EPPAIR_MAXJOBS];
	uint64_t job_no[EPPAIR_MAXJOBS];
	size_t njobs;
	uint64_t taken;
	uint64_t overtakes;      /* jobs handed back while an older one was out */
	/* Keep mode: data records kept (endpoint_keep), their bytes' hashes. */
	const uint8_t *kept[EPPAIR_MAXKEPT];
	size_t kept_len[EPPAIR_MAXKEPT];
	uint64_t kept_sum[EPPAIR_MAXKEPT];
	size_t nkept;
	uint64_t kept_total;     /* records kept over the run */
	uint64_t kept_changed;   /* kept bytes that changed before release */
};

typedef struct eppair eppair;

struct eppair {
	struct eppair_side *s[2];
	uint64_t now;            /* the fake clock every call is given */
	uint64_t rng;            /* shuffles and chunk sizes (not the test RNG) */
	int jobs;                /* crypto in jobs (endpoint inline_crypto off) */
	/*
	 * With jobs: an offload hook sends each job to the queue or runs it
	 * inline, at random (set before eppair_init).
	 */
	int mixed;
	uint64_t coins[2];       /* mixed: jobs run inline [0], handed out [1] */
	/*
	 * Keep every data record the endpoint lets us keep, check its bytes
	 * stay as they were, and release them at random times (and whenever
	 * input is blocked), as a gateway writing several records at once.
	 */
	int keep;
	int jobs_all;            /* every job back each round (else a random part) */
	int hold;                /* output stays in the endpoints */
	int keep_input;          /* fed bytes stay in in[] (offsets into it hold) */
	unsigned split;          /* 1 input piece in split is cut short; 0 never */
	unsigned max_rounds;     /* eppair_pump's bound; 0: 1,000,000 */
	aead_ctx *actx;
	int early;               /* data records I sends the moment it is established */
	int (*send)(eppair *p, int k);  /* sends side k's next one (needed with early) */
	/* Every event side s polls, after the counting above (and early). */
	void (*event)(eppair *p, struct eppair_side *s, const ep_event *ev);
	/* Side k's output was just appended to the peer's in[] from offset from. */
	void (*moved)(eppair *p, int k, size_t from);
	void *cookie;            /* the test's */
};

/* Next value of p's shuffle/chunk generator. */
uint64_t eppair_prng(eppair *p);

/*
 * Point p at the test's sides i (initiator) and r (responder), with the
 * event hook and the test's cookie; everything else in p zero.
 */
void eppair_attach(eppair *p, struct eppair_side *i, struct eppair_side *r,
    void (*event)(eppair *, struct eppair_side *, const ep_event *),
    void *cookie);
/*
 * Configs for I (id_i) dialing R (id_r) with the given Auth flags and crypto
 * inline unless jobs; the rest zero, for the caller to fill (R's lookup).
 */
void eppair_configs(endpoint_config *ci, endpoint_config *cr,
    const sign_key *id_i, const sign_key *id_r, uint32_t flags_i,
    uint32_t flags_r, int jobs);
/*
 * Make both endpoints from ci/cr at now, with the test RNG seeded from seed
 * and p's generator from rng.  p->s[] must be set; the hooks, split, hold,
 * keep_input and max_rounds are left as the caller set them.  0 or -1.
 */
int eppair_init(eppair *p, const endpoint_config *ci,
    const endpoint_config *cr, uint64_t now, uint64_t rng, int jobs,
    const char *seed);
/* Hand every job back, free both endpoints and the wire; p->s[] stays. */
void eppair_free(eppair *p);

/* Record rc as s's first error (with the endpoint's reason), from where. */
void eppair_err(struct eppair_side *s, int rc, int from);
/* Keep mode: check and release what s keeps; 1 if anything was kept. */
int eppair_release(eppair *p, struct eppair_side *s);
/* Poll every event of s; 1 if there was one. */
int eppair_poll(eppair *p, struct eppair_side *s);
/* Take s's jobs, run some (all: every one) and hand them back shuffled; 1 if any. */
int eppair_run_jobs(eppair *p, struct eppair_side *s, int all);
/* Move side k's output to the other side's wire; 1 if anything moved. */
int eppair_move(eppair *p, int k);
/* Feed the bytes waiting for s, polling as it goes; 1 if anything moved. */
int eppair_feed(eppair *p, struct eppair_side *s);
/* Run both sides until nothing moves (a check fails at the bound). */
void eppair_pump(eppair *p);
/* eppair_pump, then in job mode every job back and pump, a few times. */
void eppair_settle(eppair *p);

#endif

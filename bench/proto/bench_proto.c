/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_proto.c: throughput and cost of the STP protocol core, on one
 * thread except where a case says it uses the worker pool:
 *
 *   record.seal+open/N  a RECORD frame (header + a StreamData record of N
 *                       payload bytes, encoded by env_encode_data_record)
 *                       sealed then opened in place by record_job_run, under
 *                       a record key from ks_record_key;
 *   raw.evp/N           the baseline: EVP_EncryptUpdate of ChaCha20-Poly1305
 *                       on a context initialized once, in place, over the
 *                       same bytes (two calls of the record plaintext length
 *                       per operation, as seal and open each pass the record
 *                       once) -- what `openssl speed -evp` measures;
 *   endpoint.data/N     two endpoints in memory (inline crypto):
 *                       endpoint_send_data of N bytes on A, A's output into
 *                       B, B's events polled; one direction;
 *   endpoint.data.signed/N  the same with AUTH_FLAG_SIGN_RECORDS on A;
 *   endpoint.signed.wT/N  signed records through the crypto worker pool
 *                       (gateway/reactor/workers.c) with T threads, 0 meaning
 *                       inline crypto: A (flags SIGN_RECORDS | WANT_SIGNED)
 *                       and B (whose lookup says sign_records for A), the
 *                       pair a gateway makes of `sign_records: true` on
 *                       both sides; A sends N-byte data records, each signed
 *                       and sealed in a SEAL job, B opens and verifies each
 *                       in an OPEN job; one pool serves both ends, and the
 *                       loop thread moves bytes, takes jobs and polls, as a
 *                       gateway's loop does.  A keeps at most 512 KiB in
 *                       flight and the wire between them holds 1 MiB;
 *                       wall time is what the pool speeds up;
 *   handshake           two hs objects pumped in memory from hs_start to
 *                       done on both sides, identities made once, with the
 *                       time of each hs_work step;
 *   handshake.responder the same exchange, timing only the responder's hs
 *                       calls: hs_new, HELLO in (hs_input, hs_work) and
 *                       REPLY + AUTH_R out (hs_output), then AUTH_I in and
 *                       the keys out (hs_result_take), hs_free.  Its op/s
 *                       and per-op figures are over those calls alone: the
 *                       responder halves one core does per second, what a
 *                       gateway that accepts connections spends on each.
 *   hello.mac1_fail     what a listener spends on a HELLO that fails mac1:
 *                       a gate (gate.h) set up and fed the whole frame;
 *   hello.replayed      on a HELLO that passes mac1 and is a replay: the gate
 *                       passes it, hs_guard_hello reads its versions, time
 *                       and cookie and the listener's guard (guard.h) finds
 *                       its mac1 (proto/STP.md, "Freshness");
 *   hello.stale         the same for a HELLO whose time is 10 minutes off.
 *
 * Only the baseline calls OpenSSL directly; everything measured goes through
 * the project's headers.  Every case runs --rounds times, interleaved (each
 * record case right beside its baseline: A B A B ...), so load drift hits
 * both; the reported figure is the median over rounds, and the ratio
 * ours/raw the median of the per-round ratios.  Wall (CLOCK_MONOTONIC) and
 * process CPU time are both kept: on a shared machine cpu% < 100 shows the
 * run was preempted, and CPU-time figures are the less disturbed ones.
 * MB is 10^6 bytes.  Results go to stdout, progress to stderr.
 *
 * bench/proto/run.sh drives this program and judges the targets.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include <openssl/evp.h>
#include <uv.h>

#include "endpoint.h"
#include "envelope.h"
#include "err.h"
#include "frame.h"
#include "gate.h"
#include "guard.h"
#include "handshake.h"
#include "keysched.h"
#include "record.h"
#include "workers.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/rand.h"
#include "crypto/sign.h"

#define MAX_FILTERS 32
#define MAX_ROUNDS 25
#define MAX_CASES 32
#define BATCHES_PER_RUN 50  /* batch size aims at this many batches per run */
#define STREAM_ID 1
#define TIME_MS 1700000000000ull  /* a realistic Record.time_ms (6-byte varint) */

static volatile uint8_t sink;

/* Handshake steps timed separately: the hs_work call that does each. */
enum {
	STEP_I_HELLO,   /* I: X25519 + ML-KEM key pairs, HELLO */
	STEP_R_HELLO,   /* R: X25519, encaps, keys, sign, REPLY + AUTH_R */
	STEP_I_REPLY,   /* I: X25519, decaps, handshake keys */
	STEP_I_AUTH,    /* I: open AUTH_R, verify, Finished, sign, AUTH_I */
	STEP_R_AUTH,    /* R: open AUTH_I, verify, Finished */
	NSTEPS
};
static const char *const step_name[NSTEPS] = {
	"i_hello", "r_hello", "i_reply", "i_auth", "r_auth",
};
static const char *const step_what[NSTEPS] = {
	"I hello: X25519 + ML-KEM keygen",
	"R hello: X25519, encaps, sign",
	"I reply: X25519, decaps",
	"I auth: verify R, sign",
	"R auth: verify I",
};

enum kind { K_RECORD = 1, K_RAW, K_EP, K_EP_SIGNED, K_POOL, K_HS, K_HS_R,
    K_HELLO };

struct result {
	uint64_t ops;
	double wall, cpu;            /* seconds */
	uint64_t step_ns[NSTEPS];    /* handshake: wall ns in each step */
};

struct bcase {
	char name[64];
	int kind;
	size_t size;        /* payload bytes (0: handshake) */
	size_t bytes;       /* bytes per operation counted in MB/s */
	int partner;        /* record <-> raw: index of the other, else -1 */
	unsigned threads;   /* K_POOL: worker threads, 0 = inline crypto; K_HELLO: which frame */
	/* Run n operations; called through the table, so never inlined (the
	 * op_* symbols stay visible to callgrind and perf). */
	int (*run)(const struct bcase *bc, uint64_t n);
	int selected;
	int nres;
	struct result res[MAX_ROUNDS];
};

static struct bcase cases[MAX_CASES];
static int ncases;

static const size_t sizes[3] = { 1024, 16384, STP_MAX_DATA };
static const unsigned pool_threads[3] = { 0, 1, 2 };

/* Long-lived state: identities, the record key, the cipher context. */
static struct {
	sign_key *id_i, *id_r;
	uint8_t pk_i[32], pk_r[32];
	aead_ctx *actx;
	aead_dirkey dk;
	uint8_t *payload;            /* STP_MAX_DATA bytes of data */
} g;

/* What the case being measured works on; set up per measurement. */
static struct {
	/* record / raw */
	uint8_t *buf, *ref;
	size_t cap, frame_len, pt_len;
	uint64_t seq;
	EVP_CIPHER_CTX *evp;
	EVP_CIPHER *cipher;
	/* endpoint */
	endpoint *a, *b;
	uint64_t got;
	/* handshake */
	uint64_t step_ns[NSTEPS];
	/* handshake.responder: the responder's calls, wall and thread CPU */
	uint64_t resp_wall_ns, resp_cpu_ns;
} cur;

static uint64_t
now_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0) {
		perror("clock_gettime");
		exit(1);
	}
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
now_ms(void)
{
	return now_ns(CLOCK_MONOTONIC) / 1000000u;
}

/* ---- record layer: seal then open through record_job_run ---- */

static int
record_setup(const struct bcase *bc)
{
	int n;

	cur.cap = RECORD_FRAME_MAX;
	if ((cur.buf = malloc(cur.cap)) == NULL ||
	    (cur.ref = malloc(cur.cap)) == NULL)
		return STP_ENOMEM;
	n = env_encode_data_record(cur.buf + FRAME_HDR_LEN,
	    cur.cap - FRAME_HDR_LEN - AEAD_TAG_LEN, 1, TIME_MS, STREAM_ID,
	    g.payload, bc->size);
	if (n < 0)
		return n;
	cur.pt_len = (size_t)n;
	frame_put_header(cur.buf, FRAME_RECORD, cur.pt_len + AEAD_TAG_LEN);
	cur.frame_len = FRAME_HDR_LEN + cur.pt_len;
	memcpy(cur.ref, cur.buf, cur.frame_len);
	cur.seq = 0;
	return 0;
}

/* After the run the frame must be back to its plaintext, byte for byte. */
static int
record_teardown(void)
{
	int rc = 0;

	if (cur.buf != NULL && cur.ref != NULL &&
	    memcmp(cur.buf, cur.ref, cur.frame_len) != 0)
		rc = STP_EAUTH;
	free(cur.buf);
	free(cur.ref);
	cur.buf = cur.ref = NULL;
	return rc;
}

/* One operation: SEAL job then OPEN job on the same frame, in place. */
static int
op_record(const struct bcase *bc, uint64_t n)
{
	record_job j;
	int rc;

	(void)bc;
	for (; n > 0; n--) {
		memset(&j, 0, sizeof(j));
		j.op = RECORD_SEAL;
		j.key = g.dk;
		j.seq = cur.seq;
		j.buf = cur.buf;
		j.len = cur.frame_len;
		j.cap = cur.cap;
		j.dir = 'i';
		if ((rc = record_job_run(&j, g.actx)) != 0)
			return rc;

		memset(&j, 0, sizeof(j));
		j.op = RECORD_OPEN;
		j.key = g.dk;
		j.seq = cur.seq++;
		j.buf = cur.buf;
		j.len = cur.frame_len + AEAD_TAG_LEN;
		j.cap = cur.cap;
		j.dir = 'i';
		if ((rc = record_job_run(&j, g.actx)) != 0)
			return rc;
		if (j.pt_len != cur.pt_len)
			return STP_EINVAL;
		sink ^= cur.buf[j.pt_off + j.pt_len - 1];
	}
	return 0;
}

/* ---- the baseline: raw EVP ChaCha20-Poly1305 updates ---- */

static int
raw_setup(const struct bcase *bc)
{
	uint8_t key[32], iv[12];
	int rc;

	/* Same plaintext length as the record case of this size. */
	if ((rc = record_setup(bc)) != 0)
		return rc;
	if ((rc = rand_bytes(key, sizeof(key))) != 0 ||
	    (rc = rand_bytes(iv, sizeof(iv))) != 0)
		goto out;
	rc = STP_ECRYPTO;
	if ((cur.cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305",
	    NULL)) == NULL || (cur.evp = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex2(cur.evp, cur.cipher, key, iv, NULL) != 1)
		goto out;
	rc = 0;
out:
	crypto_wipe(key, sizeof(key));
	return rc;
}

static void
raw_teardown(void)
{
	EVP_CIPHER_CTX_free(cur.evp);
	EVP_CIPHER_free(cur.cipher);
	cur.evp = NULL;
	cur.cipher = NULL;
	free(cur.buf);
	free(cur.ref);
	cur.buf = cur.ref = NULL;
}

static int
op_raw(const struct bcase *bc, uint64_t n)
{
	uint8_t *p = cur.buf + FRAME_HDR_LEN;
	int outl, len = (int)cur.pt_len;

	(void)bc;
	for (; n > 0; n--) {
		if (EVP_EncryptUpdate(cur.evp, p, &outl, p, len) != 1 ||
		    EVP_EncryptUpdate(cur.evp, p, &outl, p, len) != 1)
			return STP_ECRYPTO;
		sink ^= p[len - 1];
	}
	return 0;
}

/* ---- two endpoints in memory ---- */

static int
lookup_i(void *cookie, const uint8_t pk[32])
{
	(void)cookie;
	return crypto_memeq(pk, g.pk_i, 32) ? 0 : STP_EPEER;
}

/* Poll every event of e; payload bytes of data records add to cur.got. */
static int
ep_drain(endpoint *e)
{
	ep_event ev;

	while (endpoint_poll(e, &ev) == 1) {
		if (ev.type == EP_RECORD && ev.rec != NULL &&
		    ev.rec->body_case == STP__V1__RECORD__BODY_DATA &&
		    ev.rec->data != NULL) {
			cur.got += ev.rec->data->data.len;
			if (ev.rec->data->data.len > 0)
				sink ^= ev.rec->data->data.data[0];
		} else if (ev.type == EP_CLOSED) {
			fprintf(stderr, "bench_proto: endpoint closed: %s\n",
			    endpoint_reason(e));
			return STP_ECLOSED;
		}
	}
	if (endpoint_finished(e)) {
		fprintf(stderr, "bench_proto: endpoint failed: %s\n",
		    endpoint_reason(e));
		return STP_EPROTO;
	}
	return 0;
}

/* Everything `from` has for the wire, into `to` (as much as it takes at once). */
static int
ep_deliver(endpoint *from, endpoint *to, uint64_t now)
{
	struct iovec iov[16];
	size_t cnt, k, off, total, room, chunk;
	int rc;

	while ((cnt = endpoint_output(from, iov, 16)) > 0) {
		total = 0;
		for (k = 0; k < cnt; k++) {
			for (off = 0; off < iov[k].iov_len; off += chunk) {
				if ((room = endpoint_input_room(to)) == 0) {
					if ((rc = ep_drain(to)) != 0)
						return rc;
					if ((room = endpoint_input_room(to)) == 0)
						return STP_ESTATE;
				}
				chunk = iov[k].iov_len - off;
				if (chunk > room)
					chunk = room;
				rc = endpoint_input(to,
				    (const uint8_t *)iov[k].iov_base + off,
				    chunk, now);
				if (rc != 0) {
					fprintf(stderr, "bench_proto: input: "
					    "%s (%s)\n", stp_strerror(rc),
					    endpoint_reason(to));
					return rc;
				}
			}
			total += iov[k].iov_len;
		}
		endpoint_output_done(from, total);
	}
	return 0;
}

static void
ep_teardown(void)
{
	endpoint_free(cur.a);
	endpoint_free(cur.b);
	cur.a = cur.b = NULL;
}

/* A (initiator, signing if asked) and B, handshaken and quiet. */
static int
ep_setup(const struct bcase *bc)
{
	endpoint_config ca, cb;
	uint64_t t = now_ms();
	int i, rc;

	memset(&ca, 0, sizeof(ca));
	memset(&cb, 0, sizeof(cb));
	ca.hs.initiator = 1;
	ca.hs.identity = g.id_i;
	memcpy(ca.hs.peer_pub, g.pk_r, 32);
	ca.hs.flags = bc->kind == K_EP_SIGNED ? AUTH_FLAG_SIGN_RECORDS : 0;
	ca.inline_crypto = 1;
	cb.hs.initiator = 0;
	cb.hs.identity = g.id_r;
	cb.inline_crypto = 1;
	cb.lookup = lookup_i;
	if ((cur.a = endpoint_new(&ca, t)) == NULL ||
	    (cur.b = endpoint_new(&cb, t)) == NULL)
		return STP_ENOMEM;
	if ((rc = endpoint_start(cur.a, t)) != 0)
		return rc;
	for (i = 0; i < 16; i++) {
		if ((rc = ep_deliver(cur.a, cur.b, t)) != 0 ||
		    (rc = ep_drain(cur.b)) != 0 ||
		    (rc = ep_deliver(cur.b, cur.a, t)) != 0 ||
		    (rc = ep_drain(cur.a)) != 0)
			return rc;
		if (endpoint_established(cur.a) && endpoint_established(cur.b) &&
		    endpoint_output_pending(cur.a) == 0 &&
		    endpoint_output_pending(cur.b) == 0)
			return 0;
	}
	return STP_ESTATE;
}

/* One operation: one data record from A to B, delivered and polled. */
static int
op_ep(const struct bcase *bc, uint64_t n)
{
	uint64_t t = now_ms(), want;
	int rc;

	for (; n > 0; n--) {
		want = cur.got + bc->size;
		rc = endpoint_send_data(cur.a, STREAM_ID, g.payload, bc->size, t);
		if (rc != 0)
			return rc;
		if ((rc = ep_deliver(cur.a, cur.b, t)) != 0 ||
		    (rc = ep_drain(cur.b)) != 0 ||
		    (rc = ep_deliver(cur.b, cur.a, t)) != 0)
			return rc;
		if (cur.got != want)
			return STP_EPROTO;
	}
	return 0;
}

/* ---- signed records through the worker pool ---- */

#define POOL_MAX_OUTPUT (512u * 1024)  /* A's max_output: records in flight */
#define POOL_WIRE_MAX (1u << 20)       /* bytes the wire holds, each way */
#define POOL_IDLE_MAX 8                /* steps with nothing to do: stuck */

/* One end: its endpoint, the bytes on their way to it, its jobs out. */
struct pside {
	endpoint *e;
	endpoint_job *held;     /* the pool was full: submit it next */
	unsigned out;           /* in the pool, done callback not yet run */
	uint8_t *wire;
	size_t wire_off, wire_len, wire_cap;
	int err;
};

static struct {
	uv_loop_t loop;
	int loop_ok;
	workers *w;
	struct pside a, b;
	int idle;
	uint64_t credit;        /* payload bytes the calls so far asked for */
} pl;

/* B's peer map: A, with sign_records. */
static int
lookup_sign(void *cookie, const uint8_t pk[32])
{
	(void)cookie;
	return crypto_memeq(pk, g.pk_i, 32) ? EP_PEER_SIGN_RECORDS : STP_EPEER;
}

static void
pool_done(void *owner, endpoint_job *j)
{
	struct pside *s = owner;
	int rc;

	s->out--;
	rc = endpoint_job_done(s->e, j, now_ms());
	if (rc != 0 && s->err == 0)
		s->err = rc;
}

/* Hand s's jobs to the pool (inline crypto made none).  1 if any went. */
static int
pool_submit(struct pside *s)
{
	endpoint_job *j;
	int moved = 0;

	if (pl.w == NULL)
		return 0;
	if (s->held != NULL) {
		if (workers_submit(pl.w, s->held, s) != 0)
			return 0;
		s->held = NULL;
		s->out++;
		moved = 1;
	}
	while ((j = endpoint_job_take(s->e)) != NULL) {
		moved = 1;
		if (workers_submit(pl.w, j, s) != 0) {
			s->held = j;
			break;
		}
		s->out++;
	}
	return moved;
}

/* from's output onto the wire to `to`, while the wire has room. */
static int
pool_move(struct pside *from, struct pside *to)
{
	struct iovec iov[64];
	size_t cnt, k, total;
	int moved = 0;

	while (to->wire_len - to->wire_off < POOL_WIRE_MAX &&
	    (cnt = endpoint_output(from->e, iov, 64)) > 0) {
		total = 0;
		for (k = 0; k < cnt; k++)
			total += iov[k].iov_len;
		if (to->wire_len + total > to->wire_cap) {
			size_t cap = to->wire_cap ? to->wire_cap : POOL_WIRE_MAX;
			uint8_t *p;

			if (to->wire_off > 0) {
				memmove(to->wire, to->wire + to->wire_off,
				    to->wire_len - to->wire_off);
				to->wire_len -= to->wire_off;
				to->wire_off = 0;
			}
			while (cap < to->wire_len + total)
				cap *= 2;
			if (cap != to->wire_cap) {
				if ((p = realloc(to->wire, cap)) == NULL)
					return STP_ENOMEM;
				to->wire = p;
				to->wire_cap = cap;
			}
		}
		for (k = 0; k < cnt; k++) {
			memcpy(to->wire + to->wire_len, iov[k].iov_base,
			    iov[k].iov_len);
			to->wire_len += iov[k].iov_len;
		}
		endpoint_output_done(from->e, total);
		moved = 1;
	}
	return moved;
}

/* The wire's bytes into s, as far as it takes them.  1 if any went. */
static int
pool_feed(struct pside *s, uint64_t t)
{
	size_t room, chunk;
	int rc, moved = 0;

	while (s->wire_off < s->wire_len &&
	    (room = endpoint_input_room(s->e)) > 0) {
		chunk = s->wire_len - s->wire_off;
		if (chunk > room)
			chunk = room;
		rc = endpoint_input(s->e, s->wire + s->wire_off, chunk, t);
		s->wire_off += chunk;
		moved = 1;
		if (rc != 0) {
			fprintf(stderr, "bench_proto: input: %s (%s)\n",
			    stp_strerror(rc), endpoint_reason(s->e));
			return rc;
		}
	}
	if (s->wire_off == s->wire_len)
		s->wire_off = s->wire_len = 0;
	return moved;
}

/*
 * One turn of the loop: jobs to the pool, output onto the wires, wires into
 * the endpoints, events polled.  When nothing moved and jobs are out, wait
 * for the pool (the loop's async wakes us).
 */
static int
pool_step(uint64_t t)
{
	int moved, rc;

	moved = pool_submit(&pl.a) | pool_submit(&pl.b);
	if ((rc = pool_move(&pl.a, &pl.b)) < 0)
		return rc;
	moved |= rc;
	if ((rc = pool_move(&pl.b, &pl.a)) < 0)
		return rc;
	moved |= rc;
	if ((rc = pool_feed(&pl.b, t)) < 0)
		return rc;
	moved |= rc;
	if ((rc = pool_feed(&pl.a, t)) < 0)
		return rc;
	moved |= rc;
	if ((rc = ep_drain(pl.b.e)) != 0 || (rc = ep_drain(pl.a.e)) != 0)
		return rc;
	if (pl.a.err != 0 || pl.b.err != 0) {
		fprintf(stderr, "bench_proto: job: %s\n", endpoint_reason(
		    pl.a.err != 0 ? pl.a.e : pl.b.e));
		return pl.a.err != 0 ? pl.a.err : pl.b.err;
	}
	if (moved) {
		pl.idle = 0;
		return 0;
	}
	if (pl.a.out + pl.b.out > 0) {
		(void)uv_run(&pl.loop, UV_RUN_ONCE);
		pl.idle = 0;
		return 0;
	}
	/* Polling may have let more records in: look again before giving up. */
	return ++pl.idle > POOL_IDLE_MAX ? STP_ESTATE : 0;
}

static void
pool_closed(void *arg)
{
	(void)arg;
}

static void
pool_teardown(void)
{
	struct pside *s;
	int k;

	/* Every job back before the endpoints go. */
	while (pl.w != NULL && pl.a.out + pl.b.out > 0)
		(void)uv_run(&pl.loop, UV_RUN_ONCE);
	for (k = 0; k < 2; k++) {
		s = k ? &pl.b : &pl.a;
		if (s->held != NULL) {
			endpoint_job_run(s->held, g.actx);
			(void)endpoint_job_done(s->e, s->held, now_ms());
			s->held = NULL;
		}
		endpoint_free(s->e);
		s->e = NULL;
		free(s->wire);
		s->wire = NULL;
	}
	if (pl.w != NULL) {
		workers_stop(pl.w, pool_closed, NULL);
		(void)uv_run(&pl.loop, UV_RUN_DEFAULT);
		pl.w = NULL;
	}
	if (pl.loop_ok)
		(void)uv_loop_close(&pl.loop);
	memset(&pl, 0, sizeof(pl));
}

/* A and B as two gateways with sign_records for each other, handshaken. */
static int
pool_setup(const struct bcase *bc)
{
	endpoint_config ca, cb;
	uint64_t t = now_ms();
	int i, rc;

	memset(&pl, 0, sizeof(pl));
	if (uv_loop_init(&pl.loop) != 0)
		return STP_EIO;
	pl.loop_ok = 1;
	if (bc->threads > 0 &&
	    (pl.w = workers_new(&pl.loop, bc->threads, 0, pool_done, &rc)) == NULL)
		return rc;
	memset(&ca, 0, sizeof(ca));
	memset(&cb, 0, sizeof(cb));
	ca.hs.initiator = 1;
	ca.hs.identity = g.id_i;
	memcpy(ca.hs.peer_pub, g.pk_r, 32);
	ca.hs.flags = AUTH_FLAG_SIGN_RECORDS | AUTH_FLAG_WANT_SIGNED;
	ca.inline_crypto = bc->threads == 0;
	ca.max_output = POOL_MAX_OUTPUT;
	cb.hs.initiator = 0;
	cb.hs.identity = g.id_r;
	cb.inline_crypto = bc->threads == 0;
	cb.lookup = lookup_sign;
	if ((pl.a.e = endpoint_new(&ca, t)) == NULL ||
	    (pl.b.e = endpoint_new(&cb, t)) == NULL)
		return STP_ENOMEM;
	if ((rc = endpoint_start(pl.a.e, t)) != 0)
		return rc;
	for (i = 0; i < 10000; i++) {
		if ((rc = pool_step(t)) != 0)
			return rc;
		if (endpoint_established(pl.a.e) &&
		    endpoint_established(pl.b.e) &&
		    endpoint_output_pending(pl.a.e) == 0 &&
		    endpoint_output_pending(pl.b.e) == 0 &&
		    pl.a.out + pl.b.out == 0)
			break;
	}
	if (endpoint_signing(pl.a.e) != (EP_SIGN_SEND | EP_SIGN_VERIFY) ||
	    endpoint_signing(pl.b.e) != (EP_SIGN_SEND | EP_SIGN_VERIFY)) {
		fprintf(stderr, "bench_proto: the pair does not sign both ways\n");
		return STP_ESTATE;
	}
	pl.credit = cur.got;
	return 0;
}

/*
 * n more data records delivered from A to B.  A sends whenever it may, so
 * the pipeline stays full across calls (a steady stream, as through a
 * gateway): records delivered beyond this call's n count toward the next.
 */
static int
op_pool(const struct bcase *bc, uint64_t n)
{
	uint64_t t = now_ms();
	int rc;

	pl.credit += n * bc->size;
	while (cur.got < pl.credit) {
		while ((rc = endpoint_send_data(pl.a.e, STREAM_ID, g.payload,
		    bc->size, t)) == 0)
			;
		if (rc != STP_EAGAIN)
			return rc;
		if ((rc = pool_step(t)) != 0)
			return rc;
	}
	return 0;
}

/* ---- full handshakes ---- */

/* A handshake pair's end: say why it failed (if it did), free both; rc. */
static int
hs_pair_end(int rc, hs *hi, hs *hr, hs_result *ri, hs_result *rr)
{
	if (rc != 0) {
		if (hi != NULL && hs_reason(hi)[0] != '\0')
			fprintf(stderr, "bench_proto: handshake I: %s\n",
			    hs_reason(hi));
		if (hr != NULL && hs_reason(hr)[0] != '\0')
			fprintf(stderr, "bench_proto: handshake R: %s\n",
			    hs_reason(hr));
	}
	hs_result_wipe(ri);
	hs_result_wipe(rr);
	hs_free(hi);
	hs_free(hr);
	return rc;
}

/* Feed whole frames to h (side 'i' or 'r'), running and timing its work. */
static int
hs_feed(hs *h, char side, const uint8_t *p, size_t len)
{
	size_t blen, flen;
	uint64_t t0;
	uint8_t type;
	int rc, step;

	while (len > 0) {
		if (len < FRAME_HDR_LEN ||
		    (rc = frame_get_header(p, &type, &blen)) != 0 ||
		    len - FRAME_HDR_LEN < blen)
			return STP_EPARSE;
		flen = FRAME_HDR_LEN + blen;
		if ((rc = hs_input(h, p, flen)) < 0)
			return rc;
		if (rc == HS_WORK) {
			if (side == 'r')
				step = type == FRAME_HELLO ? STEP_R_HELLO :
				    STEP_R_AUTH;
			else
				step = type == FRAME_REPLY ? STEP_I_REPLY :
				    STEP_I_AUTH;
			t0 = now_ns(CLOCK_MONOTONIC);
			rc = hs_work(h);
			cur.step_ns[step] += now_ns(CLOCK_MONOTONIC) - t0;
			if (rc < 0)
				return rc;
		}
		p += flen;
		len -= flen;
	}
	return 0;
}

static int
op_hs(const struct bcase *bc, uint64_t n)
{
	hs_config ci, cr;
	hs_result ri, rr;
	hs *hi = NULL, *hr = NULL, *from, *to;
	const uint8_t *p;
	size_t len;
	uint64_t t0;
	int rc = 0, k;

	(void)bc;
	memset(&ci, 0, sizeof(ci));
	memset(&cr, 0, sizeof(cr));
	ci.initiator = 1;
	ci.identity = g.id_i;
	memcpy(ci.peer_pub, g.pk_r, 32);
	cr.initiator = 0;
	cr.identity = g.id_r;
	memset(&ri, 0, sizeof(ri));
	memset(&rr, 0, sizeof(rr));
	for (; n > 0; n--) {
		rc = STP_ENOMEM;
		if ((hi = hs_new(&ci)) == NULL || (hr = hs_new(&cr)) == NULL)
			goto out;
		if ((rc = hs_start(hi)) != HS_WORK) {
			rc = rc < 0 ? rc : STP_ESTATE;
			goto out;
		}
		t0 = now_ns(CLOCK_MONOTONIC);
		rc = hs_work(hi);
		cur.step_ns[STEP_I_HELLO] += now_ns(CLOCK_MONOTONIC) - t0;
		if (rc < 0)
			goto out;
		from = hi;
		to = hr;
		for (k = 0; k < 8 && !(hs_done(hi) && hs_done(hr)); k++) {
			if ((p = hs_output(from, &len)) == NULL) {
				rc = STP_ESTATE;
				goto out;
			}
			if ((rc = hs_feed(to, to == hi ? 'i' : 'r', p, len)) != 0)
				goto out;
			hs_output_clear(from);
			from = to;
			to = to == hi ? hr : hi;
		}
		if ((rc = hs_result_take(hi, &ri)) != 0 ||
		    (rc = hs_result_take(hr, &rr)) != 0)
			goto out;
		if (!crypto_memeq(ri.ts_send, rr.ts_recv, KS_SECRET_LEN) ||
		    !crypto_memeq(ri.ts_recv, rr.ts_send, KS_SECRET_LEN) ||
		    !crypto_memeq(ri.sid, rr.sid, KS_SID_LEN)) {
			rc = STP_EAUTH;
			goto out;
		}
		sink ^= ri.sid[0];
		hs_result_wipe(&ri);
		hs_result_wipe(&rr);
		hs_free(hi);
		hs_free(hr);
		hi = hr = NULL;
	}
	rc = 0;
out:
	return hs_pair_end(rc, hi, hr, &ri, &rr);
}

/*
 * handshake.responder: the responder's calls are timed in two spans per
 * handshake, thread CPU time outside and wall time inside (reading the
 * thread CPU clock is a system call here, ~1.6 us; the wall clock ~30 ns).
 */
struct span {
	uint64_t cpu, wall;
};

static void
span_start(struct span *sp)
{
	sp->cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
	sp->wall = now_ns(CLOCK_MONOTONIC);
}

static void
span_end(const struct span *sp)
{
	cur.resp_wall_ns += now_ns(CLOCK_MONOTONIC) - sp->wall;
	cur.resp_cpu_ns += now_ns(CLOCK_THREAD_CPUTIME_ID) - sp->cpu;
}

/*
 * One handshake, straight through: I's HELLO (untimed); R: hs_new, HELLO in,
 * REPLY + AUTH_R out (timed); I: REPLY and AUTH_R in, AUTH_I out (untimed);
 * R: AUTH_I in, keys out, checked against I's, freed (timed).
 */
static int
op_hs_resp(const struct bcase *bc, uint64_t n)
{
	hs_config ci, cr;
	hs_result ri, rr;
	hs *hi = NULL, *hr = NULL;
	const uint8_t *p;
	struct span sp;
	size_t len;
	int rc = 0, same;

	(void)bc;
	memset(&ci, 0, sizeof(ci));
	memset(&cr, 0, sizeof(cr));
	ci.initiator = 1;
	ci.identity = g.id_i;
	memcpy(ci.peer_pub, g.pk_r, 32);
	cr.initiator = 0;
	cr.identity = g.id_r;
	memset(&ri, 0, sizeof(ri));
	memset(&rr, 0, sizeof(rr));
	for (; n > 0; n--) {
		if ((hi = hs_new(&ci)) == NULL) {
			rc = STP_ENOMEM;
			goto out;
		}
		if ((rc = hs_start(hi)) != HS_WORK) {
			rc = rc < 0 ? rc : STP_ESTATE;
			goto out;
		}
		if ((rc = hs_work(hi)) < 0)
			goto out;
		if ((p = hs_output(hi, &len)) == NULL) {
			rc = STP_ESTATE;
			goto out;
		}

		span_start(&sp);
		if ((hr = hs_new(&cr)) == NULL)
			rc = STP_ENOMEM;
		else
			rc = hs_feed(hr, 'r', p, len);
		p = rc == 0 ? hs_output(hr, &len) : NULL;
		span_end(&sp);
		if (rc != 0)
			goto out;
		if (p == NULL) {
			rc = STP_ESTATE;
			goto out;
		}

		hs_output_clear(hi);
		if ((rc = hs_feed(hi, 'i', p, len)) != 0)
			goto out;
		if ((p = hs_output(hi, &len)) == NULL || !hs_done(hi)) {
			rc = STP_ESTATE;
			goto out;
		}
		if ((rc = hs_result_take(hi, &ri)) != 0)
			goto out;

		/* Includes three compares of the keys (~0.1 us): scaffolding. */
		span_start(&sp);
		hs_output_clear(hr);
		if ((rc = hs_feed(hr, 'r', p, len)) == 0 &&
		    (rc = hs_result_take(hr, &rr)) == 0) {
			same = crypto_memeq(ri.ts_send, rr.ts_recv,
			    KS_SECRET_LEN) && crypto_memeq(ri.ts_recv,
			    rr.ts_send, KS_SECRET_LEN) && crypto_memeq(ri.sid,
			    rr.sid, KS_SID_LEN);
			sink ^= rr.sid[0];
			hs_result_wipe(&rr);
			hs_free(hr);
			hr = NULL;
			if (!same)
				rc = STP_EAUTH;
		}
		span_end(&sp);
		if (rc != 0)
			goto out;
		hs_output_clear(hi);
		hs_result_wipe(&ri);
		hs_free(hi);
		hi = NULL;
	}
	rc = 0;
out:
	return hs_pair_end(rc, hi, hr, &ri, &rr);
}

/* ---- the case table ---- */

/*
 * hello.*: one HELLO made by an initiator hs for R's key, a guard that has
 * seen it, and R's mac1 key; each op is what the listener does with one
 * connection's first frame (a gate, then the freshness step).
 */
static struct {
	uint8_t frame[FRAME_HDR_LEN + FRAME_MAX_HELLO], bad[FRAME_HDR_LEN + FRAME_MAX_HELLO];
	uint8_t stale[FRAME_HDR_LEN + FRAME_MAX_HELLO];
	size_t len, stale_len;
	uint8_t mac1_key[32];
	guard *g;
	uint64_t now;
} hl;

static uint64_t
stale_clock(void *arg)
{
	(void)arg;
	return (uint64_t)time(NULL) - 600;
}

static int
hello_make(uint8_t *out, size_t *len, uint64_t (*clock)(void *))
{
	hs_config c;
	const uint8_t *p;
	hs *h;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.initiator = 1;
	c.identity = g.id_i;
	memcpy(c.peer_pub, g.pk_r, 32);
	c.unix_now = clock;
	if ((h = hs_new(&c)) != NULL && hs_start(h) == HS_WORK &&
	    hs_work(h) == 0 && (p = hs_output(h, len)) != NULL) {
		memcpy(out, p, *len);
		rc = 0;
	}
	hs_free(h);
	return rc;
}

static int
hello_setup(void)
{
	uint8_t chal[HS_CHALLENGE_MAX];
	size_t cl;

	if (hello_make(hl.frame, &hl.len, NULL) != 0 ||
	    hello_make(hl.stale, &hl.stale_len, stale_clock) != 0 ||
	    ks_mac1_key(hl.mac1_key, g.pk_r, NULL) != 0 ||
	    (hl.g = guard_new(GUARD_DEFAULT_SLOTS)) == NULL)
		return -1;
	memcpy(hl.bad, hl.frame, hl.len);
	hl.bad[hl.len - 1] ^= 1;
	hl.now = (uint64_t)time(NULL);
	/* The guard has seen it once: every op below is a replay. */
	return hs_guard_hello(hl.g, hl.frame, hl.len, (const uint8_t *)"\x04\x7f\0\0\1",
	    5, hl.now, chal, &cl, NULL, 0) == HS_GUARD_PASS ? 0 : -1;
}

/* One connection's first frame through a gate; the verdict. */
static int
hello_gate(const uint8_t *f, size_t len, gate *gt)
{
	size_t room, off = 0;
	uint8_t *b;
	int st = GATE_READING;

	gate_init(gt, (const uint8_t (*)[32])hl.mac1_key, 1);
	while (off < len && (b = gate_buf(gt, &room)) != NULL && room > 0) {
		if (room > len - off)
			room = len - off;
		memcpy(b, f + off, room);
		off += room;
		st = gate_commit(gt, room);
	}
	return st;
}

static int
op_hello(const struct bcase *bc, uint64_t n)
{
	static gate gt;
	uint8_t chal[HS_CHALLENGE_MAX];
	/* bc->threads picks the frame: 1 bad mac1, 2 replayed, 3 stale. */
	unsigned k = bc->threads;
	const uint8_t *f = k == 1 ? hl.bad : k == 3 ? hl.stale : hl.frame;
	size_t len = k == 3 ? hl.stale_len : hl.len, cl;
	uint64_t i;
	int want = k == 1 ? GATE_DRAINING : GATE_PASSED;
	int verdict = k == 3 ? HS_GUARD_STALE : HS_GUARD_REPLAY;

	for (i = 0; i < n; i++) {
		if (hello_gate(f, len, &gt) != want)
			return -1;
		if (want == GATE_PASSED && hs_guard_hello(hl.g, gt.buf, gt.len,
		    (const uint8_t *)"\x04\x7f\0\0\1", 5, hl.now, chal, &cl,
		    NULL, 0) != verdict)
			return -1;
	}
	return 0;
}

static void
add_case(const char *name, int kind, size_t size, size_t bytes, int partner,
    int (*run)(const struct bcase *, uint64_t))
{
	struct bcase *bc = &cases[ncases++];

	if (size != 0)
		snprintf(bc->name, sizeof(bc->name), "%s/%zu", name, size);
	else
		snprintf(bc->name, sizeof(bc->name), "%s", name);
	bc->kind = kind;
	bc->size = size;
	bc->bytes = bytes;
	bc->partner = partner;
	bc->run = run;
}

static void
build_cases(void)
{
	size_t pt;
	int i;

	for (i = 0; i < 3; i++) {
		pt = env_data_record_len(1, TIME_MS, STREAM_ID, sizes[i]);
		add_case("record.seal+open", K_RECORD, sizes[i], 2 * pt,
		    ncases + 1, op_record);
		add_case("raw.evp", K_RAW, sizes[i], 2 * pt, ncases - 1, op_raw);
	}
	for (i = 0; i < 3; i++)
		add_case("endpoint.data", K_EP, sizes[i], sizes[i], -1, op_ep);
	for (i = 0; i < 3; i++)
		add_case("endpoint.data.signed", K_EP_SIGNED, sizes[i],
		    sizes[i], -1, op_ep);
	for (i = 0; i < 3; i++) {
		int t;

		for (t = 0; t < 3; t++) {
			char name[32];

			snprintf(name, sizeof(name), "endpoint.signed.w%u",
			    pool_threads[t]);
			add_case(name, K_POOL, sizes[i], sizes[i], -1, op_pool);
			cases[ncases - 1].threads = pool_threads[t];
		}
	}
	add_case("handshake", K_HS, 0, 0, -1, op_hs);
	add_case("handshake.responder", K_HS_R, 0, 0, -1, op_hs_resp);
	/* threads picks the frame (op_hello): 1 bad mac1, 2 replayed, 3 stale. */
	add_case("hello.mac1_fail", K_HELLO, 0, 0, -1, op_hello);
	cases[ncases - 1].threads = 1;
	add_case("hello.replayed", K_HELLO, 0, 0, -1, op_hello);
	cases[ncases - 1].threads = 2;
	add_case("hello.stale", K_HELLO, 0, 0, -1, op_hello);
	cases[ncases - 1].threads = 3;
}

static int
case_setup(const struct bcase *bc)
{
	memset(cur.step_ns, 0, sizeof(cur.step_ns));
	cur.resp_wall_ns = cur.resp_cpu_ns = 0;
	switch (bc->kind) {
	case K_RECORD: return record_setup(bc);
	case K_RAW: return raw_setup(bc);
	case K_EP:
	case K_EP_SIGNED: return ep_setup(bc);
	case K_POOL: return pool_setup(bc);
	case K_HELLO: return hl.g != NULL ? 0 : hello_setup();
	default: return 0;
	}
}

static int
case_teardown(const struct bcase *bc)
{
	switch (bc->kind) {
	case K_RECORD: return record_teardown();
	case K_RAW: raw_teardown(); return 0;
	case K_EP:
	case K_EP_SIGNED: ep_teardown(); return 0;
	case K_POOL: pool_teardown(); return 0;
	default: return 0;
	}
}

static int
case_run(const struct bcase *bc, uint64_t n)
{
	return bc->run(bc, n);
}

/* ---- measuring ---- */

/*
 * fixed_ops == 0: warm up for about a tenth of the run (20 .. 250 ms),
 * doubling the batch until one batch is long enough to time, then measure
 * whole batches until `secs` have passed.  fixed_ops > 0: exactly that many
 * operations, no warm-up (for instruction counts under callgrind).
 */
static int
measure(const struct bcase *bc, double secs, uint64_t fixed_ops,
    struct result *res)
{
	uint64_t warm_ns, run_ns, n, batch, ops, t0, t1, w0, c0, w, c;
	double per_op;
	int rc;

	if (fixed_ops > 0) {
		w0 = now_ns(CLOCK_MONOTONIC);
		c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
		memset(cur.step_ns, 0, sizeof(cur.step_ns));
		cur.resp_wall_ns = cur.resp_cpu_ns = 0;
		if ((rc = case_run(bc, fixed_ops)) != 0)
			return rc;
		w = now_ns(CLOCK_MONOTONIC);
		c = now_ns(CLOCK_PROCESS_CPUTIME_ID);
		ops = fixed_ops;
		goto done;
	}

	warm_ns = (uint64_t)(secs * 1e8);
	if (warm_ns < 20000000u)
		warm_ns = 20000000u;
	if (warm_ns > 250000000u)
		warm_ns = 250000000u;
	run_ns = (uint64_t)(secs * 1e9);

	n = 1;
	w0 = now_ns(CLOCK_MONOTONIC);
	for (;;) {
		t0 = now_ns(CLOCK_MONOTONIC);
		if ((rc = case_run(bc, n)) != 0)
			return rc;
		t1 = now_ns(CLOCK_MONOTONIC);
		if (t1 - w0 >= warm_ns && t1 - t0 >= 1000000u)
			break;
		if (t1 - t0 < 1000000u)
			n *= 2;
	}
	per_op = (double)(t1 - t0) / (double)n;
	batch = (uint64_t)((double)run_ns / BATCHES_PER_RUN / per_op);
	if (batch == 0)
		batch = 1;

	memset(cur.step_ns, 0, sizeof(cur.step_ns));
	cur.resp_wall_ns = cur.resp_cpu_ns = 0;
	ops = 0;
	w0 = now_ns(CLOCK_MONOTONIC);
	c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	do {
		if ((rc = case_run(bc, batch)) != 0)
			return rc;
		ops += batch;
		w = now_ns(CLOCK_MONOTONIC);
	} while (w - w0 < run_ns);
	c = now_ns(CLOCK_PROCESS_CPUTIME_ID);
done:
	res->ops = ops;
	res->wall = (double)(w - w0) / 1e9;
	res->cpu = (double)(c - c0) / 1e9;
	if (bc->kind == K_HS_R) {
		/* Only the responder's calls count. */
		res->wall = (double)cur.resp_wall_ns / 1e9;
		res->cpu = (double)cur.resp_cpu_ns / 1e9;
	}
	memcpy(res->step_ns, cur.step_ns, sizeof(res->step_ns));
	return 0;
}

/* ---- reporting ---- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Steps a case's per-step figures cover: all, or the responder's. */
static int
step_counts(const struct bcase *bc, int k)
{
	return bc->kind != K_HS_R || k == STEP_R_HELLO || k == STEP_R_AUTH;
}

/* Per-round figures of a case. */
static double ops_wall(const struct result *r) { return (double)r->ops / r->wall; }
static double ops_cpu(const struct result *r) { return (double)r->ops / r->cpu; }

struct summary {
	double ops_s, cpu_ops_s;   /* medians: operations per wall / CPU second */
	double mb_s, cpu_mb_s;
	double ns_op, cpu_ns_op;
	double cpu_pct;            /* median of per-round cpu / wall */
	double step_ns[NSTEPS];    /* medians, per handshake */
	double other_ns;           /* median of wall minus the steps, per handshake
	                              (handshake.responder: the responder's) */
};

static void
summarize(const struct bcase *bc, struct summary *s)
{
	double w[MAX_ROUNDS], c[MAX_ROUNDS], p[MAX_ROUNDS];
	int i, k;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < bc->nres; i++) {
		w[i] = ops_wall(&bc->res[i]);
		c[i] = ops_cpu(&bc->res[i]);
		p[i] = 100 * bc->res[i].cpu / bc->res[i].wall;
	}
	s->ops_s = median(w, bc->nres);
	s->cpu_ops_s = median(c, bc->nres);
	s->cpu_pct = median(p, bc->nres);
	s->mb_s = s->ops_s * (double)bc->bytes / 1e6;
	s->cpu_mb_s = s->cpu_ops_s * (double)bc->bytes / 1e6;
	s->ns_op = 1e9 / s->ops_s;
	s->cpu_ns_op = 1e9 / s->cpu_ops_s;
	for (k = 0; k < NSTEPS; k++) {
		for (i = 0; i < bc->nres; i++)
			w[i] = (double)bc->res[i].step_ns[k] /
			    (double)bc->res[i].ops;
		s->step_ns[k] = median(w, bc->nres);
	}
	for (i = 0; i < bc->nres; i++) {
		w[i] = bc->res[i].wall * 1e9;
		for (k = 0; k < NSTEPS; k++)
			if (step_counts(bc, k))
				w[i] -= (double)bc->res[i].step_ns[k];
		w[i] /= (double)bc->res[i].ops;
	}
	s->other_ns = median(w, bc->nres);
}

/* Median over rounds of ours/raw per round (wall or CPU), paired by round. */
static double
paired_ratio(const struct bcase *ours, const struct bcase *raw, int cpu)
{
	double r[MAX_ROUNDS];
	int i, n = ours->nres < raw->nres ? ours->nres : raw->nres;

	for (i = 0; i < n; i++)
		r[i] = cpu ? ops_cpu(&ours->res[i]) / ops_cpu(&raw->res[i]) :
		    ops_wall(&ours->res[i]) / ops_wall(&raw->res[i]);
	return n > 0 ? median(r, n) : 0;
}

static void
print_csv(void)
{
	struct summary s;
	const struct result *r;
	int i, k;

	printf("case,round,bytes,ops,wall_s,cpu_s,ops_per_s,mb_per_s,"
	    "ns_per_op,cpu_ns_per_op\n");
	for (i = 0; i < ncases; i++) {
		const struct bcase *bc = &cases[i];

		if (!bc->selected || bc->nres == 0)
			continue;
		for (k = 0; k < bc->nres; k++) {
			r = &bc->res[k];
			printf("%s,%d,%zu,%" PRIu64 ",%.6f,%.6f,%.1f,%.2f,%.1f,"
			    "%.1f\n", bc->name, k + 1, bc->bytes, r->ops,
			    r->wall, r->cpu, ops_wall(r),
			    ops_wall(r) * (double)bc->bytes / 1e6,
			    r->wall * 1e9 / (double)r->ops,
			    r->cpu * 1e9 / (double)r->ops);
		}
		summarize(bc, &s);
		printf("%s,median,%zu,,,,%.1f,%.2f,%.1f,%.1f\n", bc->name,
		    bc->bytes, s.ops_s, s.mb_s, s.ns_op, s.cpu_ns_op);
		if (bc->kind == K_HS) {
			for (k = 0; k < NSTEPS; k++)
				printf("handshake.step.%s,median,0,,,,,,%.1f,\n",
				    step_name[k], s.step_ns[k]);
			printf("handshake.step.other,median,0,,,,,,%.1f,\n",
			    s.other_ns);
		}
		if (bc->kind == K_HS_R) {
			for (k = 0; k < NSTEPS; k++)
				if (step_counts(bc, k))
					printf("handshake.responder.step.%s,"
					    "median,0,,,,,,%.1f,\n",
					    step_name[k], s.step_ns[k]);
			printf("handshake.responder.step.other,median,0,,,,,,"
			    "%.1f,\n", s.other_ns);
		}
	}
}

static void
print_human(double secs, int rounds)
{
	struct summary s;
	int i, k;

	printf("# %d round(s) of %.2f s per case, interleaved; median over "
	    "rounds.  MB = 10^6 bytes.\n", rounds, secs);
	printf("# record/raw MB/s count the bytes through the AEAD (seal + "
	    "open = 2 x record plaintext); endpoint MB/s count payload.\n");
	printf("%-28s %12s %11s %11s %12s %12s %5s\n", "case", "op/s",
	    "MB/s", "cpu MB/s", "per op", "cpu per op", "cpu%");
	for (i = 0; i < ncases; i++) {
		const struct bcase *bc = &cases[i];

		if (!bc->selected || bc->nres == 0)
			continue;
		summarize(bc, &s);
		printf("%-28s %12.0f %11.1f %11.1f %9.2f us %9.2f us %4.0f%%\n",
		    bc->name, s.ops_s, s.mb_s, s.cpu_mb_s, s.ns_op / 1000,
		    s.cpu_ns_op / 1000, s.cpu_pct);
		if (bc->kind == K_RAW && cases[bc->partner].selected)
			printf("%-28s ours/raw = %.3f (wall), %.3f (cpu); "
			    "median of per-round ratios\n", "  ratio",
			    paired_ratio(&cases[bc->partner], bc, 0),
			    paired_ratio(&cases[bc->partner], bc, 1));
		if (bc->kind == K_HS) {
			for (k = 0; k < NSTEPS; k++)
				printf("  %-34s %9.1f us  %4.1f%%\n",
				    step_what[k], s.step_ns[k] / 1000,
				    100 * s.step_ns[k] / s.ns_op);
			printf("  %-34s %9.1f us  %4.1f%%\n",
			    "other (hs_new/input/free, results)",
			    s.other_ns / 1000, 100 * s.other_ns / s.ns_op);
		}
		if (bc->kind == K_HS_R) {
			printf("  %-34s %9.0f per second of one core's CPU "
			    "time\n", "responder halves", s.cpu_ops_s);
			for (k = 0; k < NSTEPS; k++)
				if (step_counts(bc, k))
					printf("  %-34s %9.1f us  %4.1f%%\n",
					    step_what[k], s.step_ns[k] / 1000,
					    100 * s.step_ns[k] / s.ns_op);
			printf("  %-34s %9.1f us  %4.1f%%\n",
			    "other (hs_new/input/output/free)",
			    s.other_ns / 1000, 100 * s.other_ns / s.ns_op);
		}
	}
	fflush(stdout);
}

/* ---- setup ---- */

static int
state_init(void)
{
	uint8_t ts[KS_SECRET_LEN];
	int rc;

	if ((rc = crypto_init()) != 0)
		return rc;
	if ((g.actx = aead_ctx_new()) == NULL ||
	    (g.payload = malloc(STP_MAX_DATA)) == NULL)
		return STP_ENOMEM;
	if ((rc = rand_bytes(g.payload, STP_MAX_DATA)) != 0 ||
	    (rc = rand_bytes(ts, sizeof(ts))) != 0)
		goto out;
	if ((rc = ks_record_key(&g.dk, ts)) != 0)
		goto out;
	if ((rc = sign_key_generate(&g.id_i)) != 0 ||
	    (rc = sign_key_generate(&g.id_r)) != 0)
		goto out;
	sign_key_public(g.id_i, g.pk_i);
	sign_key_public(g.id_r, g.pk_r);
	rc = 0;
out:
	crypto_wipe(ts, sizeof(ts));
	return rc;
}

static void
state_free(void)
{
	aead_ctx_free(g.actx);
	sign_key_free(g.id_i);
	sign_key_free(g.id_r);
	aead_dirkey_wipe(&g.dk);
	free(g.payload);
	memset(&g, 0, sizeof(g));
}

/* ---- command line ---- */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: bench_proto [--time S] [--rounds N] [--filter SUBSTR]... [--csv]\n"
	    "                   [--ops N] [--seed STR] [--list] [--help]\n"
	    "\n"
	    "Times the STP protocol core on one thread: record seal+open through\n"
	    "record_job_run beside raw EVP ChaCha20-Poly1305 updates (1 KiB, 16 KiB,\n"
	    "64 KiB payloads), one direction through two endpoints in memory, with\n"
	    "and without signed records, and full handshakes with a per-step\n"
	    "breakdown (handshake.responder: the responder's calls alone, as\n"
	    "responder halves per second).  The endpoint.signed.wT cases move\n"
	    "records signed and verified both ways (sign_records on both sides)\n"
	    "through the crypto worker pool with T = 0 (inline), 1 and 2\n"
	    "threads.\n"
	    "\n"
	    "  --time S         seconds of wall time per case and round (default 1.0)\n"
	    "  --rounds N       rounds, cases interleaved; median reported (default 3)\n"
	    "  --filter SUBSTR  run only cases whose name contains SUBSTR; may be\n"
	    "                   repeated.  A record case brings its raw baseline\n"
	    "                   along and the other way round\n"
	    "  --csv            per-round rows, then a median row per case:\n"
	    "                   case,round,bytes,ops,wall_s,cpu_s,ops_per_s,mb_per_s,\n"
	    "                   ns_per_op,cpu_ns_per_op; handshake.step.* rows give\n"
	    "                   the wall ns of each hs_work step per handshake,\n"
	    "                   handshake.responder.step.* the responder's\n"
	    "  --ops N          exactly N operations per case, one round, no warm-up\n"
	    "                   (instruction counts under callgrind)\n"
	    "  --seed STR       seed the test RNG (reproducible keys and handshakes)\n"
	    "  --list           print the case names and exit\n"
	    "  --help           this text\n");
}

int
main(int argc, char *argv[])
{
	const char *filters[MAX_FILTERS];
	double secs = 1.0;
	uint64_t fixed_ops = 0;
	size_t nfilters = 0, j;
	int rounds = 3, csv = 0, list = 0, nsel = 0, failed = 0, rc, i, round;
	char *end;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
			errno = 0;
			secs = strtod(argv[++i], &end);
			if (errno != 0 || *end != '\0' || !(secs >= 0.01) ||
			    secs > 600) {
				fprintf(stderr, "bench_proto: --time wants "
				    "seconds in 0.01..600\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
			errno = 0;
			rounds = (int)strtol(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || rounds < 1 ||
			    rounds > MAX_ROUNDS) {
				fprintf(stderr, "bench_proto: --rounds wants "
				    "1..%d\n", MAX_ROUNDS);
				return 2;
			}
		} else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
			errno = 0;
			fixed_ops = strtoull(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || fixed_ops == 0) {
				fprintf(stderr, "bench_proto: --ops wants a "
				    "positive count\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			i++;
			rand_test_seed(argv[i], strlen(argv[i]));
		} else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
			if (nfilters == MAX_FILTERS) {
				fprintf(stderr, "bench_proto: too many "
				    "--filter\n");
				return 2;
			}
			filters[nfilters++] = argv[++i];
		} else if (strcmp(argv[i], "--csv") == 0) {
			csv = 1;
		} else if (strcmp(argv[i], "--list") == 0) {
			list = 1;
		} else {
			fprintf(stderr, "bench_proto: bad argument: %s\n",
			    argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (fixed_ops > 0)
		rounds = 1;

	build_cases();
	for (i = 0; i < ncases; i++) {
		cases[i].selected = (nfilters == 0);
		for (j = 0; j < nfilters; j++)
			if (strstr(cases[i].name, filters[j]) != NULL)
				cases[i].selected = 1;
	}
	for (i = 0; i < ncases; i++)
		if (cases[i].selected && cases[i].partner >= 0)
			cases[cases[i].partner].selected = 1;
	for (i = 0; i < ncases; i++)
		nsel += cases[i].selected;
	if (list) {
		for (i = 0; i < ncases; i++)
			if (cases[i].selected)
				printf("%s\n", cases[i].name);
		return 0;
	}
	if (nsel == 0) {
		fprintf(stderr, "bench_proto: no case matches the filter\n");
		return 2;
	}

	if ((rc = state_init()) != 0) {
		fprintf(stderr, "bench_proto: setup: %s\n", stp_strerror(rc));
		state_free();
		return 1;
	}
	for (round = 0; round < rounds; round++) {
		for (i = 0; i < ncases; i++) {
			struct bcase *bc = &cases[i];
			struct result res;
			int trc;

			if (!bc->selected)
				continue;
			fprintf(stderr, "bench_proto: round %d/%d: %s\n",
			    round + 1, rounds, bc->name);
			rc = case_setup(bc);
			if (rc == 0)
				rc = measure(bc, secs, fixed_ops, &res);
			trc = case_teardown(bc);
			if (rc == 0)
				rc = trc;
			if (rc != 0) {
				fprintf(stderr, "bench_proto: %s: %s\n",
				    bc->name, stp_strerror(rc));
				bc->selected = 0;
				failed = 1;
				continue;
			}
			bc->res[bc->nres++] = res;
		}
	}
	if (csv)
		print_csv();
	else
		print_human(secs, rounds);
	state_free();
	return failed;
}

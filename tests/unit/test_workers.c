/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_workers.c: the crypto worker pool (gateway/reactor/workers.c) on a real uv
 * loop, fed with real endpoint jobs.
 *
 * Stress: two endpoints in job mode handshake and then exchange 20,000 data
 * records of random sizes, every job going through the pool; each done
 * callback gives the job back and pumps both sides (output of one into the
 * input of the other, events polled, more records sent).  Every byte must
 * arrive in order: SHA-512 of what was sent equals SHA-512 of what arrived,
 * per direction.  Key updates (a low rekey_bytes) and record signatures (one
 * direction) put the KEY_UPDATE barrier and Ed25519 in the workers too.
 *
 * Backpressure: the pool's bound covers jobs queued, running and finished
 * but not yet delivered, and only the loop delivers.  So a loop thread that
 * submits in a row without returning to the loop must see exactly
 * WORKERS_QUEUE submits succeed and the next refused with STP_EAGAIN, even
 * after the workers have run every job; once the loop delivers them, the
 * rest go in.  5,000 real SEAL jobs of an established pair make the load.
 *
 * Rate: the same with 20,000 records of 1..256 bytes and two threads, to
 * print the number of jobs per second the pool carries.
 *
 * Stop: a one-thread pool gets 3,000 signed SEAL jobs and is stopped at
 * once: every done callback runs exactly once, inside workers_stop, before
 * closed; closed runs once, from the loop.  In both of these the records
 * are then carried to the peer, which must read them back intact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/sign.h"
#include "endpoint.h"
#include "err.h"
#include "frame.h"
#include "testlib.h"
#include "workers.h"

#define WIRE_CAP (1u << 20)
#define NIOV 64
#define STREAM 7u
#define WATCHDOG_MS 240000

struct run;

struct side {
	struct run *run;
	int k;
	endpoint *e;
	int established;

	/* Bytes on their way to the peer. */
	uint8_t *wire;
	size_t woff, wlen;
	struct iovec iov[NIOV];
	size_t niov, iov_i, iov_off;

	/* Jobs taken while the pool said STP_EAGAIN, oldest first. */
	endpoint_job **held;
	size_t held_head, held_n, held_cap;

	/* The data: records to send, their sizes and bytes from a PRNG. */
	uint64_t to_send, rng;
	unsigned max_shift;       /* sizes 1 .. 2^max_shift */
	size_t fixed_len;         /* nonzero: every record this long */
	uint8_t *buf;
	size_t pending;           /* bytes in buf not yet accepted */
	hash_ctx *h_sent, *h_recv;
	uint64_t recs_sent, recs_recv, bytes_sent, bytes_recv;
};

struct run {
	const char *name;
	uv_loop_t loop;
	uv_timer_t watchdog;
	workers *w;
	int direct;               /* run jobs here, on this thread */
	aead_ctx *ctx;
	struct side s[2];

	int failed, stopping, closed, done_in_stop_after_close;
	uint64_t delivered;
	uint64_t eagain;
	uint64_t t0_ns, t1_ns;
	workers_stats final;

	/* Jobs seen by the collecting callback (backpressure, stop). */
	endpoint_job **seen;
	size_t nseen, seen_cap;
};

static sign_key *id_i, *id_r;
static uint8_t pub_i[32];

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int
lookup_i(void *cookie, const uint8_t pk[32])
{
	(void)cookie;
	return memcmp(pk, pub_i, 32) == 0 ? 0 : STP_EPEER;
}

static uint64_t
now_ms(struct run *r)
{
	return uv_now(&r->loop);
}

static void stop_pool(struct run *r);

static void
fail(struct run *r, const char *what)
{
	t_check(0, __FILE__, __LINE__, r->name, "%s (I: %s; R: %s)", what,
	    r->s[0].e ? endpoint_reason(r->s[0].e) : "-",
	    r->s[1].e ? endpoint_reason(r->s[1].e) : "-");
	r->failed = 1;
	if (!r->direct)
		stop_pool(r);
}

/* ---- pumping ---- */

static int
held_push(struct side *s, endpoint_job *j)
{
	if (s->held_head + s->held_n == s->held_cap) {
		if (s->held_head > 0) {
			memmove(s->held, s->held + s->held_head,
			    s->held_n * sizeof(*s->held));
			s->held_head = 0;
		} else {
			size_t cap = s->held_cap ? 2 * s->held_cap : 256;
			endpoint_job **p = realloc(s->held, cap * sizeof(*p));

			if (p == NULL)
				return -1;
			s->held = p;
			s->held_cap = cap;
		}
	}
	s->held[s->held_head + s->held_n++] = j;
	return 0;
}

/* Hand the side's jobs to the pool (or run them here when direct). */
static int
submit_jobs(struct side *s)
{
	struct run *r = s->run;
	endpoint_job *j;
	int rc, progress = 0;

	if (r->direct) {
		while ((j = endpoint_job_take(s->e)) != NULL) {
			endpoint_job_run(j, r->ctx);
			if (endpoint_job_done(s->e, j, now_ms(r)) != 0)
				fail(r, "endpoint_job_done failed");
			progress = 1;
		}
		return progress;
	}
	if (r->stopping)
		return 0;
	while (s->held_n > 0) {
		rc = workers_submit(r->w, s->held[s->held_head], s);
		if (rc == STP_EAGAIN) {
			r->eagain++;
			return progress;
		}
		if (rc != 0) {
			fail(r, "workers_submit failed");
			return 0;
		}
		s->held_head++;
		s->held_n--;
		progress = 1;
	}
	s->held_head = 0;
	while ((j = endpoint_job_take(s->e)) != NULL) {
		progress = 1;
		rc = workers_submit(r->w, j, s);
		if (rc == STP_EAGAIN) {
			r->eagain++;
			if (held_push(s, j) != 0)
				fail(r, "out of memory");
			break;
		}
		if (rc != 0) {
			fail(r, "workers_submit failed");
			break;
		}
	}
	return progress;
}

/* Side's output into its wire, as far as the wire has room. */
static int
move_output(struct side *s)
{
	size_t space, n;
	int progress = 0;

	for (;;) {
		if (s->iov_i == s->niov) {
			s->niov = endpoint_output(s->e, s->iov, NIOV);
			s->iov_i = s->iov_off = 0;
			if (s->niov == 0)
				return progress;
		}
		if (s->wlen == 0)
			s->woff = 0;
		/* Slide down only when half the buffer is consumed: amortized O(1). */
		if (s->woff >= WIRE_CAP / 2) {
			memmove(s->wire, s->wire + s->woff, s->wlen);
			s->woff = 0;
		}
		space = WIRE_CAP - s->woff - s->wlen;
		if (space == 0)
			return progress;
		n = s->iov[s->iov_i].iov_len - s->iov_off;
		if (n > space)
			n = space;
		memcpy(s->wire + s->woff + s->wlen,
		    (uint8_t *)s->iov[s->iov_i].iov_base + s->iov_off, n);
		s->wlen += n;
		s->iov_off += n;
		endpoint_output_done(s->e, n);
		progress = 1;
		if (s->iov_off == s->iov[s->iov_i].iov_len) {
			s->iov_i++;
			s->iov_off = 0;
		}
	}
}

/* The peer's wire into this side's input, as far as it has room. */
static int
feed_input(struct side *s)
{
	struct side *p = &s->run->s[!s->k];
	size_t n;

	if (s->run->failed)
		return 0;
	n = endpoint_input_room(s->e);
	if (n > p->wlen)
		n = p->wlen;
	if (n == 0)
		return 0;
	if (endpoint_input(s->e, p->wire + p->woff, n, now_ms(s->run)) != 0) {
		fail(s->run, "endpoint_input failed");
		return 0;
	}
	p->woff += n;
	p->wlen -= n;
	return 1;
}

static int
poll_events(struct side *s)
{
	ep_event ev;
	int progress = 0;

	while (endpoint_poll(s->e, &ev)) {
		progress = 1;
		switch (ev.type) {
		case EP_ESTABLISHED:
			s->established = 1;
			break;
		case EP_RECORD:
			if (ev.rec->body_case != STP__V1__RECORD__BODY_DATA ||
			    ev.rec->data->stream_id != STREAM) {
				fail(s->run, "unexpected record");
				break;
			}
			(void)hash_update(s->h_recv, ev.rec->data->data.data,
			    ev.rec->data->data.len);
			s->recs_recv++;
			s->bytes_recv += ev.rec->data->data.len;
			break;
		case EP_CLOSED:
			fail(s->run, "unexpected close");
			break;
		default:
			break;
		}
	}
	return progress;
}

static void
gen_record(struct side *s)
{
	size_t len, i;
	uint64_t x;

	if (s->fixed_len)
		len = s->fixed_len;
	else {
		x = rng_next(&s->rng);
		len = 1 + (size_t)((x >> 8) %
		    ((uint64_t)1 << ((x & 0xff) % (s->max_shift + 1))));
	}
	for (i = 0; i < len; i += 8) {
		x = rng_next(&s->rng);
		memcpy(s->buf + i, &x, len - i < 8 ? len - i : 8);
	}
	s->pending = len;
}

static int
send_more(struct side *s)
{
	int rc, progress = 0;

	while (s->established && s->to_send > 0 && !s->run->failed) {
		if (s->pending == 0)
			gen_record(s);
		rc = endpoint_send_data(s->e, STREAM, s->buf, s->pending,
		    now_ms(s->run));
		if (rc == STP_EAGAIN)
			break;
		if (rc != 0) {
			fail(s->run, "endpoint_send_data failed");
			break;
		}
		(void)hash_update(s->h_sent, s->buf, s->pending);
		s->recs_sent++;
		s->bytes_sent += s->pending;
		s->pending = 0;
		s->to_send--;
		progress = 1;
	}
	return progress;
}

static int
all_received(struct run *r)
{
	return r->s[0].to_send == 0 && r->s[1].to_send == 0 &&
	    r->s[0].recs_recv == r->s[1].recs_sent &&
	    r->s[1].recs_recv == r->s[0].recs_sent;
}

/* Move everything that can move; then finish, or notice a stall. */
static void
pump_all(struct run *r)
{
	int k, progress;

	do {
		progress = 0;
		for (k = 0; k < 2 && !r->failed; k++) {
			struct side *s = &r->s[k];

			progress |= submit_jobs(s);
			progress |= send_more(s);
			progress |= move_output(s);
			progress |= poll_events(s);
			progress |= feed_input(&r->s[!k]);
		}
	} while (progress && !r->failed);
	if (r->direct || r->stopping || r->w == NULL)
		return;
	if (endpoint_jobs_out(r->s[0].e) + endpoint_jobs_out(r->s[1].e) > 0)
		return;  /* a done callback will pump again */
	if (all_received(r)) {
		r->t1_ns = mono_ns();
		workers_get_stats(r->w, &r->final);
		stop_pool(r);
	} else
		fail(r, "stalled: no jobs out, transfer incomplete");
}

/* ---- the pool's callbacks ---- */

static void
on_done_pump(void *owner, endpoint_job *job)
{
	struct side *s = owner;
	struct run *r = s->run;

	r->delivered++;
	if (r->closed)
		r->done_in_stop_after_close++;
	if (endpoint_job_done(s->e, job, now_ms(r)) != 0 && !r->failed)
		fail(r, "endpoint_job_done failed");
	if (!r->stopping)
		pump_all(r);
}

static void
on_closed(void *arg)
{
	struct run *r = arg;

	r->closed++;
	r->w = NULL;
}

static void
on_watchdog(uv_timer_t *t)
{
	fail(t->data, "watchdog: no end in sight");
}

/* Return held jobs (run here), stop the pool and the watchdog. */
static void
stop_pool(struct run *r)
{
	int k;

	if (r->stopping || r->w == NULL)
		return;
	r->stopping = 1;
	for (k = 0; k < 2; k++) {
		struct side *s = &r->s[k];

		while (s->held_n > 0) {
			endpoint_job *j = s->held[s->held_head++];

			s->held_n--;
			endpoint_job_run(j, r->ctx);
			(void)endpoint_job_done(s->e, j, now_ms(r));
		}
	}
	workers_stop(r->w, on_closed, r);
	if (uv_is_active((uv_handle_t *)&r->watchdog))
		uv_timer_stop(&r->watchdog);
	if (!uv_is_closing((uv_handle_t *)&r->watchdog))
		uv_close((uv_handle_t *)&r->watchdog, NULL);
}

/* ---- set-up ---- */

/* Two endpoints in job mode; the initiator signs its records if sign_i. */
static int
run_init(struct run *r, const char *name, int sign_i, uint64_t rekey_bytes)
{
	endpoint_config ci, cr;
	int k;

	memset(r, 0, sizeof(*r));
	r->name = name;
	t_set_ctx("%s", name);
	if (!T_INT(uv_loop_init(&r->loop), 0))
		return -1;
	uv_timer_init(&r->loop, &r->watchdog);
	r->watchdog.data = r;
	if ((r->ctx = aead_ctx_new()) == NULL)
		return -1;

	memset(&ci, 0, sizeof(ci));
	ci.hs.initiator = 1;
	ci.hs.identity = id_i;
	sign_key_public(id_r, ci.hs.peer_pub);
	ci.hs.flags = sign_i ? AUTH_FLAG_SIGN_RECORDS : 0;
	ci.inline_crypto = 0;
	ci.rekey_bytes = rekey_bytes;
	cr = ci;
	cr.hs.initiator = 0;
	cr.hs.identity = id_r;
	memset(cr.hs.peer_pub, 0, 32);
	cr.hs.flags = 0;
	cr.lookup = lookup_i;

	for (k = 0; k < 2; k++) {
		struct side *s = &r->s[k];

		s->run = r;
		s->k = k;
		s->rng = 0x5eed0000ull + (uint64_t)k;
		s->max_shift = 16;
		s->e = endpoint_new(k == 0 ? &ci : &cr, now_ms(r));
		s->wire = malloc(WIRE_CAP);
		s->buf = malloc(STP_MAX_DATA + 8);
		s->h_sent = hash_sha512_new();
		s->h_recv = hash_sha512_new();
		if (!T_OK(s->e != NULL && s->wire != NULL && s->buf != NULL &&
		    s->h_sent != NULL && s->h_recv != NULL))
			return -1;
	}
	return 0;
}

static void
run_free(struct run *r)
{
	int k;

	for (k = 0; k < 2; k++) {
		struct side *s = &r->s[k];

		if (s->e != NULL)
			T_INT(endpoint_jobs_out(s->e), 0);
		endpoint_free(s->e);
		free(s->wire);
		free(s->buf);
		free(s->held);
		hash_free(s->h_sent);
		hash_free(s->h_recv);
	}
	if (!uv_is_closing((uv_handle_t *)&r->watchdog))
		uv_close((uv_handle_t *)&r->watchdog, NULL);
	(void)uv_run(&r->loop, UV_RUN_DEFAULT);
	T_INT(uv_loop_close(&r->loop), 0);
	aead_ctx_free(r->ctx);
	free(r->seen);
}

/* Handshake with the jobs run here (not through the pool). */
static int
connect_direct(struct run *r)
{
	r->direct = 1;
	if (!T_INT(endpoint_start(r->s[0].e, now_ms(r)), 0))
		return -1;
	pump_all(r);
	r->direct = 0;
	if (!T_OK(r->s[0].established && r->s[1].established))
		return -1;
	return 0;
}

/* SHA-512 of sent and received agree per direction, and the counts. */
static void
check_streams(struct run *r, uint64_t recs_i, uint64_t recs_r)
{
	uint8_t a[HASH_SHA512_LEN], b[HASH_SHA512_LEN];
	int k;

	for (k = 0; k < 2; k++) {
		struct side *s = &r->s[k], *p = &r->s[!k];

		t_set_ctx("%s: %s -> %s", r->name, k == 0 ? "I" : "R",
		    k == 0 ? "R" : "I");
		T_INT((long long)s->recs_sent, (long long)(k == 0 ? recs_i : recs_r));
		T_INT((long long)p->recs_recv, (long long)s->recs_sent);
		T_INT((long long)p->bytes_recv, (long long)s->bytes_sent);
		T_INT(hash_peek(s->h_sent, a), 0);
		T_INT(hash_peek(p->h_recv, b), 0);
		T_MEM(b, sizeof(b), a, sizeof(a));
	}
	t_set_ctx("%s", r->name);
}

/* ---- the tests ---- */

static void
test_args(void)
{
	uv_loop_t loop;
	int err;

	t_set_ctx("workers_new arguments");
	T_INT(uv_loop_init(&loop), 0);
	err = 0;
	T_OK(workers_new(&loop, 0, 0, on_done_pump, &err) == NULL);
	T_INT(err, STP_EINVAL);
	err = 0;
	T_OK(workers_new(&loop, WORKERS_MAX + 1, 0, on_done_pump, &err) == NULL);
	T_INT(err, STP_EINVAL);
	err = 0;
	T_OK(workers_new(&loop, 1, 0, NULL, &err) == NULL);
	T_INT(err, STP_EINVAL);
	T_INT(uv_loop_close(&loop), 0);
	t_section("arguments");
}

/*
 * records per direction, threads, sizes 1 .. 2^max_shift; prints the job
 * rate through the pool.
 */
static void
test_stress(const char *name, unsigned threads, uint64_t records,
    unsigned max_shift, int sign_i, uint64_t rekey_bytes)
{
	struct run r;
	workers_stats st;
	uint64_t lat_total = 0;
	double secs;
	unsigned b;
	int err = 0, k;

	if (run_init(&r, name, sign_i, rekey_bytes) != 0)
		goto out;
	for (k = 0; k < 2; k++) {
		r.s[k].to_send = records;
		r.s[k].max_shift = max_shift;
	}
	r.w = workers_new(&r.loop, threads, 0, on_done_pump, &err);
	if (!T_OK(r.w != NULL)) {
		T_INT(err, 0);
		goto out;
	}
	uv_timer_start(&r.watchdog, on_watchdog, WATCHDOG_MS, 0);
	r.t0_ns = mono_ns();
	if (!T_INT(endpoint_start(r.s[0].e, now_ms(&r)), 0)) {
		stop_pool(&r);
		goto run;
	}
	pump_all(&r);
run:
	(void)uv_run(&r.loop, UV_RUN_DEFAULT);

	T_INT(r.failed, 0);
	T_INT(r.closed, 1);
	T_OK(r.s[0].established && r.s[1].established);
	check_streams(&r, records, records);
	/* The pool's statistics, read when the transfer was complete. */
	st = r.final;
	T_INT(st.threads, threads);
	T_INT(st.queued, 0);
	T_INT(st.running, 0);
	T_INT((long long)st.done, (long long)r.delivered);
	for (b = 0; b < WORKERS_LAT_BUCKETS; b++)
		lat_total += st.lat_count[b];
	T_INT((long long)lat_total, (long long)st.done);
	T_OK(st.lat_sum_us > 0);
	secs = (double)(r.t1_ns - r.t0_ns) / 1e9;
	if (r.t1_ns > r.t0_ns)
		printf("  %s: %u threads, %llu jobs in %.2f s: %.0f jobs/s, "
		    "%.1f MB/s of data each way, %llu submits refused\n", name,
		    threads, (unsigned long long)r.delivered, secs,
		    (double)r.delivered / secs,
		    (double)r.s[0].bytes_sent / secs / 1e6,
		    (unsigned long long)r.eagain);
	{
		ep_stats es;

		endpoint_get_stats(r.s[0].e, &es);
		T_OK(es.key_updates_sent > 0 || rekey_bytes == 0);
	}
out:
	run_free(&r);
	t_section(name);
}

/* Callback that gives the job back and remembers it, without pumping. */
static void
on_done_collect(void *owner, endpoint_job *job)
{
	struct side *s = owner;
	struct run *r = s->run;

	if (r->closed)
		r->done_in_stop_after_close++;
	if (r->nseen == r->seen_cap) {
		size_t cap = r->seen_cap ? 2 * r->seen_cap : 1024;
		endpoint_job **p = realloc(r->seen, cap * sizeof(*p));

		if (p == NULL)
			abort();
		r->seen = p;
		r->seen_cap = cap;
	}
	r->seen[r->nseen++] = job;
	r->delivered++;
	if (endpoint_job_done(s->e, job, now_ms(r)) != 0)
		fail(r, "endpoint_job_done failed");
}

static int
ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(endpoint_job *const *)a;
	uintptr_t y = (uintptr_t)*(endpoint_job *const *)b;

	return x < y ? -1 : x > y;
}

/* Each job in taken[] came back exactly once (sorts both arrays). */
static void
check_each_once(struct run *r, endpoint_job **taken, size_t n)
{
	size_t i, dup = 0, diff = 0;

	T_INT((long long)r->nseen, (long long)n);
	if (r->nseen != n)
		return;
	qsort(taken, n, sizeof(*taken), ptr_cmp);
	qsort(r->seen, n, sizeof(*r->seen), ptr_cmp);
	for (i = 0; i < n; i++) {
		diff += taken[i] != r->seen[i];
		dup += i > 0 && r->seen[i] == r->seen[i - 1];
	}
	T_INT((long long)diff, 0);
	T_INT((long long)dup, 0);
}

/* Queue n SEAL jobs on the initiator and take them all. */
static endpoint_job **
make_seal_jobs(struct run *r, size_t n, size_t len)
{
	struct side *s = &r->s[0];
	endpoint_job **jobs, *j;
	size_t i, got = 0;

	if ((jobs = calloc(n + 1, sizeof(*jobs))) == NULL)
		return NULL;
	s->fixed_len = len;
	s->to_send = n;
	(void)send_more(s);
	T_INT((long long)s->recs_sent, (long long)n);
	for (i = 0; i <= n && (j = endpoint_job_take(s->e)) != NULL; i++)
		jobs[got++] = j;
	if (!T_INT((long long)got, (long long)n)) {
		free(jobs);
		return NULL;
	}
	return jobs;
}

/* Run the loop without blocking until cond or about 30 s passed. */
#define LOOP_UNTIL(r, cond) do { \
	int spins_ = 0; \
	while (!(cond) && spins_++ < 30000) { \
		(void)uv_run(&(r)->loop, UV_RUN_NOWAIT); \
		if (!(cond)) { \
			struct timespec ts_ = { 0, 1000000 }; \
			nanosleep(&ts_, NULL); \
		} \
	} \
} while (0)

static void
test_backpressure(void)
{
	const size_t n = WORKERS_QUEUE + 904;
	struct run r;
	workers_stats st;
	endpoint_job **jobs = NULL;
	struct timespec ms1 = { 0, 1000000 };
	size_t i, accepted = 0;
	int err = 0, rc = 0, spins;

	if (run_init(&r, "backpressure", 0, 0) != 0 || connect_direct(&r) != 0)
		goto out;
	if ((jobs = make_seal_jobs(&r, n, 16)) == NULL)
		goto out;
	r.w = workers_new(&r.loop, 2, 0, on_done_collect, &err);
	if (!T_OK(r.w != NULL))
		goto out;

	/* In a row, from the loop thread: exactly WORKERS_QUEUE go in. */
	for (i = 0; i < n; i++) {
		if ((rc = workers_submit(r.w, jobs[i], &r.s[0])) != 0)
			break;
		accepted++;
	}
	T_INT((long long)accepted, WORKERS_QUEUE);
	T_INT(rc, STP_EAGAIN);
	/* Submits are batched until the loop's turn ends: hand them over now. */
	workers_flush(r.w);

	/* The workers finish them all; still nothing more goes in. */
	for (spins = 0; spins < 30000; spins++) {
		workers_get_stats(r.w, &st);
		if (st.done == WORKERS_QUEUE && st.queued == 0 && st.running == 0)
			break;
		nanosleep(&ms1, NULL);
	}
	T_INT((long long)st.done, WORKERS_QUEUE);
	T_INT(st.queued, 0);
	T_INT(st.running, 0);
	T_INT(workers_submit(r.w, jobs[accepted], &r.s[0]), STP_EAGAIN);
	T_INT((long long)r.delivered, 0);

	/* The loop delivers; then the rest fit. */
	LOOP_UNTIL(&r, r.delivered == WORKERS_QUEUE);
	T_INT((long long)r.delivered, WORKERS_QUEUE);
	for (i = accepted; i < n; i++)
		if (!T_INT(workers_submit(r.w, jobs[i], &r.s[0]), 0))
			break;
	LOOP_UNTIL(&r, r.delivered == n);
	T_INT((long long)r.delivered, (long long)n);
	check_each_once(&r, jobs, n);

	workers_get_stats(r.w, &st);
	{
		uint64_t sum = 0;
		unsigned b;

		for (b = 0; b < WORKERS_LAT_BUCKETS; b++)
			sum += st.lat_count[b];
		T_INT((long long)st.done, (long long)n);
		T_INT((long long)sum, (long long)n);
		T_OK(st.lat_sum_us > 0);
	}

	workers_stop(r.w, on_closed, &r);
	T_INT(workers_submit(r.w, jobs[0], &r.s[0]), STP_ESTATE);
	(void)uv_run(&r.loop, UV_RUN_DEFAULT);
	T_INT(r.closed, 1);

	/* The records sealed under pressure read back intact. */
	r.direct = 1;
	pump_all(&r);
	check_streams(&r, n, 0);
out:
	free(jobs);
	run_free(&r);
	t_section("backpressure (STP_EAGAIN at WORKERS_QUEUE)");
}

static void
test_stop_queued(void)
{
	const size_t n = 3000;
	struct run r;
	workers_stats st;
	endpoint_job **jobs = NULL;
	size_t i;
	int err = 0;

	/* The initiator signs: each job costs an Ed25519 signature. */
	if (run_init(&r, "stop with jobs queued", 1, 0) != 0 ||
	    connect_direct(&r) != 0)
		goto out;
	if ((jobs = make_seal_jobs(&r, n, 1024)) == NULL)
		goto out;
	r.w = workers_new(&r.loop, 1, 0, on_done_collect, &err);
	if (!T_OK(r.w != NULL))
		goto out;
	for (i = 0; i < n; i++)
		if (!T_INT(workers_submit(r.w, jobs[i], &r.s[0]), 0))
			goto out;
	workers_get_stats(r.w, &st);
	printf("  stop: %u of %zu jobs still queued at workers_stop\n",
	    st.queued, n);
	T_OK(st.queued > 0);

	workers_stop(r.w, on_closed, &r);
	/* Every done callback ran inside workers_stop; closed waits for the loop. */
	T_INT((long long)r.delivered, (long long)n);
	T_INT(r.closed, 0);
	T_INT(workers_submit(r.w, jobs[0], &r.s[0]), STP_ESTATE);
	(void)uv_run(&r.loop, UV_RUN_DEFAULT);
	T_INT(r.closed, 1);
	T_INT(r.done_in_stop_after_close, 0);
	T_INT((long long)r.delivered, (long long)n);
	check_each_once(&r, jobs, n);

	r.direct = 1;
	pump_all(&r);
	check_streams(&r, n, 0);
out:
	free(jobs);
	run_free(&r);
	t_section("stop with jobs queued");
}

/* ---- the dispatch rule of workers: auto ---- */

static void
test_rule(void)
{
	static const struct {
		int on;
		double busy;
		int want;
	} v[] = {
		/* Off: on once the loop was busy 90% of a window. */
		{ 0, 0.95, 1 }, { 0, 0.90, 1 }, { 0, 0.89, 0 }, { 0, 0.0, 0 },
		/* On: stays on down to 60% (hysteresis). */
		{ 1, 0.70, 1 }, { 1, 0.60, 1 }, { 1, 0.59, 0 }, { 1, 0.10, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t_set_ctx("rule: offloading %d, loop busy %.2f", v[i].on,
		    v[i].busy);
		T_INT(workers_rule(v[i].on, v[i].busy), v[i].want);
	}
	t_section("the dispatch rule's state change");
}

/* This thread's CPU time, ms. */
static uint64_t
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct busy {
	workers *w;
	uv_timer_t t;
	int phase;               /* 0: spin, 1 and 2: idle waits, 3: done */
	int big_busy, big_idle;  /* a 64 KiB record's answer in each phase */
	double share;            /* the CPU the spinning thread got (0..1) */
	workers_stats st_busy, st_idle;
};

/* Spin the loop thread for 350 ms, asking the rule now and then; then idle. */
static void
busy_tick(uv_timer_t *t)
{
	struct busy *b = t->data;
	uint64_t end;

	if (b->phase == 0) {
		uint64_t w0 = mono_ms(), c0 = cpu_ms();

		end = w0 + 350;
		while (mono_ms() < end) {
			uv_update_time(t->loop);
			b->big_busy = workers_offload(b->w, EP_JOB_SEAL, 65536, 0);
		}
		b->share = (double)(cpu_ms() - c0) / (double)(mono_ms() - w0);
		workers_get_stats(b->w, &b->st_busy);
		b->phase = 1;
		uv_timer_start(t, busy_tick, 350, 0);  /* the loop idles */
		return;
	}
	/* After an idle window: one call closes it, the next one the window after. */
	b->big_idle = workers_offload(b->w, EP_JOB_SEAL, 65536, 0);
	if (b->phase == 1) {
		b->phase = 2;
		uv_timer_start(t, busy_tick, 150, 0);
		return;
	}
	workers_get_stats(b->w, &b->st_idle);
	b->phase = 3;
	uv_close((uv_handle_t *)t, NULL);
}

static void
test_offload(void)
{
	uv_loop_t loop;
	struct busy b;
	workers *fixed;
	int err = 0;

	t_set_ctx("offload decisions");
	memset(&b, 0, sizeof(b));
	T_INT(uv_loop_init(&loop), 0);
	b.w = workers_new(&loop, 1, 1, on_done_collect, &err);
	fixed = workers_new(&loop, 1, 0, on_done_collect, &err);
	if (!T_OK(b.w != NULL && fixed != NULL))
		return;
	/* A fixed pool takes everything. */
	T_INT(workers_offload(fixed, EP_JOB_SEAL, 64, 0), 1);
	T_INT(workers_offload(fixed, EP_JOB_OPEN, 65536, 0), 1);
	T_INT(workers_offload(fixed, EP_JOB_HANDSHAKE, 0, 1), 1);
	/* auto: handshakes and signatures always, small records never. */
	T_INT(workers_offload(b.w, EP_JOB_HANDSHAKE, 0, 1), 1);
	T_INT(workers_offload(b.w, EP_JOB_SEAL, 64, 1), 1);
	T_INT(workers_offload(b.w, EP_JOB_OPEN, 1024, 1), 1);
	T_INT(workers_offload(b.w, EP_JOB_SEAL, 64, 0), 0);
	T_INT(workers_offload(b.w, EP_JOB_OPEN, 16384, 0), 0);
	/* A loop that waits for I/O keeps its records, whatever their size. */
	T_INT(workers_offload(b.w, EP_JOB_SEAL, 65536, 0), 0);

	/* A loop thread busy for 350 ms is seen as busy; once idle, not. */
	b.t.data = &b;
	uv_timer_init(&loop, &b.t);
	uv_timer_start(&b.t, busy_tick, 10, 0);
	while (b.phase != 3)   /* the pools' async handles keep the loop alive */
		(void)uv_run(&loop, UV_RUN_ONCE);
	t_set_ctx("offload decisions: busy loop");
	T_OK(b.st_busy.adaptive == 1);
	/*
	 * Busy is the loop thread's CPU over the window: all of it when the
	 * machine is free, less when other work took the core (CI runs tests
	 * side by side).  It must follow what the thread really got.
	 */
	T_OK(b.st_busy.loop_busy >= b.share - 0.25 && b.st_busy.loop_busy >= 0.2);
	/* Offloading follows the busy share (on at 0.9, kept down to 0.6). */
	T_OK(!b.st_busy.offloading || b.st_busy.loop_busy >= 0.6);
	T_OK(b.st_busy.loop_busy < 0.9 || b.st_busy.offloading);
	T_INT(b.big_busy, b.st_busy.offloading);
	printf("  busy: loop busy %.2f (the thread got %.2f of a core), "
	    "offloading %d\n", b.st_busy.loop_busy, b.share,
	    b.st_busy.offloading);
	t_set_ctx("offload decisions: idle loop");
	T_OK(b.st_idle.loop_busy < 0.2);
	T_INT(b.st_idle.offloading, 0);
	T_INT(b.big_idle, 0);
	printf("  idle: loop busy %.2f, offloading %d\n", b.st_idle.loop_busy,
	    b.st_idle.offloading);

	workers_stop(b.w, NULL, NULL);
	workers_stop(fixed, NULL, NULL);
	(void)uv_run(&loop, UV_RUN_DEFAULT);
	T_INT(uv_loop_close(&loop), 0);
	t_section("offload decisions (workers: auto)");
}

int
main(void)
{
	if (sign_key_generate(&id_i) != 0 || sign_key_generate(&id_r) != 0) {
		fprintf(stderr, "cannot make identities\n");
		return 1;
	}
	sign_key_public(id_i, pub_i);

	test_args();
	test_rule();
	test_offload();
	/* 20,000 records, sizes 1 .. 64 KiB, signed one way, key updates. */
	test_stress("stress: 4 threads, 1..65536 bytes", 4, 10000, 16, 1,
	    8u << 20);
	/* 20,000 small records: the job rate of the pool itself. */
	test_stress("rate: 2 threads, 1..256 bytes", 2, 10000, 8, 0, 0);
	test_backpressure();
	test_stop_queued();

	sign_key_free(id_i);
	sign_key_free(id_r);
	return t_done();
}

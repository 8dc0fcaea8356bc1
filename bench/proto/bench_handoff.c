/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_handoff.c: what handing a crypto job to the worker pool costs, beside
 * what the job itself costs: the measurements behind the dispatch rule of
 * `workers: auto` (gateway/reactor/workers.c).
 *
 * One endpoint, established with a peer in memory, sends data records of a
 * given size; its offload hook says, per phase, whether each SEAL job runs
 * inline (inside endpoint_send_data, on this thread, as on a gateway's
 * loop) or is handed to a one-thread pool (gateway/reactor/workers.c) on a libuv
 * loop, exactly as a gateway hands jobs over.  Output is thrown away.
 *
 *   rtt        one job at a time, the loop waiting in epoll and the worker
 *              asleep in between (an idle gateway answering one request):
 *              the time from workers_submit to the done callback, as
 *              percentiles over --count jobs of 64 bytes;
 *   cost/N     batches of 64 records of N bytes: the loop thread's own CPU
 *              time per record (CLOCK_THREAD_CPUTIME_ID), inline versus
 *              handed out, and the difference: positive when the pool takes
 *              work off the loop, negative when the hand-off costs the loop
 *              more than the crypto it moves away.
 *
 * Usage: bench_handoff [--count N] [--rounds R]; prints a table.  Local CPU
 * only.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "endpoint.h"
#include "err.h"
#include "frame.h"
#include "record.h"
#include "workers.h"
#include "crypto/aead.h"
#include "crypto/sign.h"

#define BATCH 64
#define MAX_COUNT 100000

static int want_out;            /* the offload hook's answer */
static endpoint *ea, *eb;
static uv_loop_t loop;
static workers *pool;
static unsigned back;           /* done callbacks so far */
static aead_ctx *actx;
static uint8_t payload[STP_MAX_DATA];

static int
hook(void *cookie, int kind, size_t len, int sig)
{
	(void)cookie;
	(void)len;
	(void)sig;
	return kind == EP_JOB_SEAL ? want_out : 0;
}

static int
lookup_any(void *cookie, const uint8_t pk[32])
{
	(void)cookie;
	(void)pk;
	return 0;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* from's output into to's input (the handshake), or thrown away (to NULL). */
static int
move(endpoint *from, endpoint *to)
{
	struct iovec iov[64];
	size_t n, i, total;
	int rc, moved = 0;

	while ((n = endpoint_output(from, iov, 64)) > 0) {
		total = 0;
		for (i = 0; i < n; i++) {
			if (to != NULL && (rc = endpoint_input(to,
			    iov[i].iov_base, iov[i].iov_len, 1)) != 0)
				return rc;
			total += iov[i].iov_len;
		}
		endpoint_output_done(from, total);
		moved = 1;
	}
	return moved;
}

static void
on_done(void *owner, endpoint_job *j)
{
	(void)owner;
	back++;
	if (endpoint_job_done(ea, j, 1) != 0) {
		fprintf(stderr, "bench_handoff: %s\n", endpoint_reason(ea));
		exit(1);
	}
}

static int
setup(void)
{
	endpoint_config ca, cb;
	sign_key *ka, *kb;
	ep_event ev;
	int rc, i;

	if (sign_key_generate(&ka) != 0 || sign_key_generate(&kb) != 0 ||
	    (actx = aead_ctx_new()) == NULL)
		return -1;
	memset(&ca, 0, sizeof(ca));
	ca.hs.initiator = 1;
	ca.hs.identity = ka;
	sign_key_public(kb, ca.hs.peer_pub);
	ca.offload = hook;
	ca.actx = actx;
	ca.max_output = 2 * BATCH * (size_t)RECORD_FRAME_MAX;  /* a batch fits */
	cb = ca;
	cb.hs.initiator = 0;
	cb.hs.identity = kb;
	cb.lookup = lookup_any;
	if ((ea = endpoint_new(&ca, 1)) == NULL ||
	    (eb = endpoint_new(&cb, 1)) == NULL ||
	    endpoint_start(ea, 1) != 0)
		return -1;
	for (i = 0; i < 100 && !(endpoint_established(ea) &&
	    endpoint_established(eb)); i++) {
		if ((rc = move(ea, eb)) < 0 || (rc = move(eb, ea)) < 0)
			return -1;
		while (endpoint_poll(ea, &ev) || endpoint_poll(eb, &ev))
			;
	}
	if (!endpoint_established(ea))
		return -1;
	if (uv_loop_init(&loop) != 0 ||
	    (pool = workers_new(&loop, 1, 0, on_done, &rc)) == NULL)
		return -1;
	memset(payload, 0x5a, sizeof(payload));
	return 0;
}

/* Send one record; hand its job out if there is one.  1 if a job went. */
static int
send_one(size_t len)
{
	endpoint_job *j;
	int rc;

	if ((rc = endpoint_send_data(ea, 1, payload, len, 1)) != 0) {
		fprintf(stderr, "bench_handoff: send: %s %s\n", stp_strerror(rc),
		    endpoint_reason(ea));
		exit(1);
	}
	if ((j = endpoint_job_take(ea)) == NULL)
		return 0;
	if (workers_submit(pool, j, NULL) != 0) {
		fprintf(stderr, "bench_handoff: the pool refused a job\n");
		exit(1);
	}
	return 1;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return (double)v[i < n ? i : n - 1] / 1e3;
}

/* One job at a time from an idle loop: submit to done callback. */
static void
bench_rtt(size_t count)
{
	uint64_t *v = malloc(count * sizeof(*v)), t0;
	size_t i;
	unsigned want;

	if (v == NULL)
		exit(1);
	want_out = 1;
	for (i = 0; i < count + 100; i++) {
		want = back + 1;
		t0 = mono_ns();
		(void)send_one(64);
		workers_flush(pool);
		while (back < want)
			(void)uv_run(&loop, UV_RUN_ONCE);
		if (i >= 100)
			v[i - 100] = mono_ns() - t0;
		(void)move(ea, NULL);
	}
	qsort(v, count, sizeof(*v), cmp_u64);
	printf("%-22s %10.1f %10.1f %10.1f %10.1f   (%zu jobs of 64 B, one at "
	    "a time)\n", "rtt", pct(v, count, 0.5), pct(v, count, 0.9),
	    pct(v, count, 0.99), (double)v[count - 1] / 1e3, count);
	free(v);
}

/* Loop-thread CPU per record of len bytes: inline (out 0) or handed out. */
static double
loop_cpu_per_record(size_t len, int out, unsigned batches)
{
	uint64_t c0, c1;
	unsigned b, k, sent, want;

	want_out = out;
	c0 = thread_cpu_ns();
	for (b = 0; b < batches; b++) {
		for (k = 0, sent = 0; k < BATCH; k++)
			sent += (unsigned)send_one(len);
		want = back + sent;
		workers_flush(pool);
		while (back < want)
			(void)uv_run(&loop, UV_RUN_ONCE);
		(void)move(ea, NULL);
	}
	c1 = thread_cpu_ns();
	return (double)(c1 - c0) / ((double)batches * BATCH);
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
bench_cost(size_t len, int rounds)
{
	double in[32], out[32], d[32];
	unsigned batches = len >= 16384 ? 40 : 200;
	int r;

	(void)loop_cpu_per_record(len, 0, 4);  /* warm both paths */
	(void)loop_cpu_per_record(len, 1, 4);
	for (r = 0; r < rounds; r++) {
		in[r] = loop_cpu_per_record(len, 0, batches);
		out[r] = loop_cpu_per_record(len, 1, batches);
		d[r] = in[r] - out[r];
	}
	qsort(in, (size_t)rounds, sizeof(double), cmp_d);
	qsort(out, (size_t)rounds, sizeof(double), cmp_d);
	qsort(d, (size_t)rounds, sizeof(double), cmp_d);
	printf("cost/%-17zu %10.2f %10.2f %10.2f   [%.2f..%.2f]\n", len,
	    in[rounds / 2] / 1e3, out[rounds / 2] / 1e3, d[rounds / 2] / 1e3,
	    d[0] / 1e3, d[rounds - 1] / 1e3);
}

int
main(int argc, char *argv[])
{
	static const size_t sizes[] = { 64, 1024, 4096, 16384, 32768, 49152, 65536 };
	size_t count = 20000, i;
	int rounds = 5;
	char *end;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--count") == 0 && i + 1 < (size_t)argc) {
			count = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || count < 100 || count > MAX_COUNT) {
				fprintf(stderr, "bench_handoff: --count wants "
				    "100..%d\n", MAX_COUNT);
				return 2;
			}
		} else if (strcmp(argv[i], "--rounds") == 0 &&
		    i + 1 < (size_t)argc) {
			rounds = (int)strtol(argv[++i], &end, 10);
			if (*end != '\0' || rounds < 1 || rounds > 31) {
				fprintf(stderr, "bench_handoff: --rounds wants "
				    "1..31\n");
				return 2;
			}
		} else {
			fprintf(stderr, "usage: bench_handoff [--count N] "
			    "[--rounds R]\n\nWhat handing a SEAL job to the "
			    "crypto worker pool costs: the round trip\nfrom an "
			    "idle loop (percentiles, µs), and the loop thread's "
			    "CPU per\nrecord inline and handed out, by record "
			    "size (medians over R rounds).\n");
			return strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	/*
	 * Record buffers stay mapped between uses, as in `stpgate run`, with
	 * room for a whole batch of the largest records freed at once (64 x
	 * 66 KiB): a trimmed heap would refault every page of every batch, and
	 * the figures would be page faults, not hand-offs.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	if (setup() != 0) {
		fprintf(stderr, "bench_handoff: setup failed\n");
		return 1;
	}
	printf("# hand-off round trip, µs: %-9s %10s %10s %10s\n", "p50",
	    "p90", "p99", "max");
	bench_rtt(count);
	printf("# loop CPU per record, µs:   inline   handed out   saved "
	    "(median, [min..max] of %d rounds)\n", rounds);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bench_cost(sizes[i], rounds);
	workers_stop(pool, NULL, NULL);
	(void)uv_run(&loop, UV_RUN_DEFAULT);
	endpoint_free(ea);
	endpoint_free(eb);
	aead_ctx_free(actx);
	return 0;
}

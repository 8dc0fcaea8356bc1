/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workers.c: the crypto worker pool and its dispatch rule (workers.h).  N
 * threads, each with its own aead_ctx, take (job, owner) entries from the
 * `todo` ring, run them with no lock held, and put them on the `done` ring;
 * the loop thread learns of finished jobs through one uv_async_t and hands
 * each to the done callback.
 *
 * Accounting.  `inflight` counts jobs from workers_submit until their done
 * callback is called: batched, queued, running, finished and not yet
 * delivered.  It is touched only on the loop thread (submit and delivery
 * both run there), so it needs no lock, and because it never exceeds
 * WORKERS_QUEUE neither ring can overflow.  A loop thread that keeps
 * submitting without returning to the loop sees exactly WORKERS_QUEUE
 * submits succeed: finished jobs wait on the done ring until the loop
 * delivers them.
 *
 * Batches and wake-ups.  workers_submit only appends to `batch` (loop thread,
 * no lock).  workers_flush, run by the pool's uv_prepare_t before the loop
 * waits for I/O (and by the gateway after its own end-of-turn flush, and
 * when the batch is full), moves the batch to `todo` under one lock and signals
 * as many sleeping threads as there are new jobs, never more than sleep
 * unsignalled (`nwake`); a thread that finishes a job takes the next one
 * without sleeping.  A worker sends the async only when it put the first
 * entry on an empty done ring: any later entry is picked up by the drain
 * that the first one's send causes, since a drain empties the ring.
 *
 * Latency runs from CLOCK_MONOTONIC at submit to the end of the job's run
 * and is counted by the worker under the done lock, together with the push.
 * The running count is an atomic kept apart from the rings, so a worker
 * takes each lock once per job.
 *
 * The dispatch rule (workers_offload), for `workers: auto`.  Measured on
 * the 2-CPU development machine (AMD EPYC, OpenSSL 3.0), Release build,
 * with bench_handoff and bench_crypto (bench/proto/run.sh runs both):
 *
 *   - A hand-off is slow next to a record's crypto.  One job from a loop
 *     waiting in epoll to a sleeping worker and back (futex wake, run,
 *     eventfd, epoll wake-up) takes 19-26 us at p50 and 41-52 us at p99
 *     (bench_handoff, "rtt"): a request's round trip through two gateways
 *     pays that four times.
 *   - Handing a record out costs the loop thread itself about 1 us (batch
 *     submit, the async, the done callback) plus cache misses on buffers
 *     another core wrote, against 0.6 us + 0.25 ns per byte to seal it
 *     here.  The loop's own CPU per record, inline vs handed out
 *     (bench_handoff, "cost/N"): 64 B 0.8 vs 1.6 us, 4 KiB 1.7 vs 2.9,
 *     16 KiB 4.9 vs 4.8, 32 KiB 9.2 vs 7.0, 64 KiB 18.3 vs 6.9.  Only
 *     records of 32 KiB and more take clearly less of the loop handed out.
 *   - An Ed25519 signature costs 28-49 us to make and 74-120 us to check,
 *     a handshake step 75-160 us (bench_crypto, bench_proto --filter
 *     handshake): several hand-offs' worth, and long enough to stall
 *     every other stream of the loop.
 *
 *   - With the loop the bottleneck, handing its large records out pays
 *     even when no core is idle: one iperf3 stream through two gateways
 *     on the 2-CPU machine (everything, iperf3 included, on 2 CPUs), three
 *     interleaved runs each way: every record in the pool 7.1, 6.4, 7.1
 *     Gbit/s forward and 5.7, 5.9, 6.0 reverse; every record on the loop
 *     5.5, 4.6, 3.7 and 4.4, 5.3, 3.9.  The loop's own CPU per GB fell from
 *     0.84-0.91 s to 0.53 s at the sending end while the workers spent
 *     0.28-0.29 s (the crypto alone): with the cipher's long AVX-512 loops
 *     elsewhere, the loop's socket work runs faster, and the total CPU per
 *     GB did not rise (bench/run.sh, "The reactor": the loop thread's and
 *     the workers' CPU per GB, workers: 0 beside workers: 2).
 *
 * So: handshake steps and signed records always go to the pool.  Unsigned
 * records of OFFLOAD_MIN_LEN bytes and more go to the pool while offloading
 * is on: the loop was busy BUSY_ON of the last window of WINDOW_MS.  Busy
 * is the time the loop thread ran or waited to run (its CPU time plus its
 * run-queue delay, /proc/thread-self/schedstat) over the window's wall
 * time: on a machine where everything competes for the cores a saturated
 * loop gets only part of one, and CPU time alone (0.6 of a core for each
 * gateway in the iperf3 runs above) would never call it busy.  Not libuv's
 * idle-time metric either, which costs an extra epoll_wait every turn.
 * Without schedstat, the thread's CPU time stands in.  It turns
 * off below BUSY_OFF (hysteresis, so the relief the pool brings does not
 * switch it off at once), and a sealing job is kept on the loop while the
 * pool is behind (more than QUEUE_AHEAD jobs queued per thread).  Not an
 * opening job: records are delivered in order, so a record opened on the
 * loop behind records still in the pool waits for them anyway, and the
 * loop stops reading until they are back.  Capping opens too cost the
 * default a tenth of its throughput in interleaved runs of one gateway pair
 * on the 2-CPU machine (iperf3 through it, 5 s each, capped vs not): four
 * streams 4.34, 3.85, 4.25, 3.33 vs 4.76, 4.61, 4.09, 3.82 Gbit/s; one
 * stream 4.50, 4.57, 4.16, 4.11 vs 5.14, 4.57, 4.69, 4.25.  Everything else
 * runs where it was made: a request/response record, a window update or a
 * ping never waits for a hand-off, and an idle gateway's bulk transfer
 * (loop not the bottleneck) does not pay for one either.
 */
#include "workers.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

/* Entries a drain copies out per lock (a pass delivers at most WORKERS_QUEUE). */
#define DRAIN_BATCH 64
/* Jobs held on the loop thread before workers_flush must run. */
#define BATCH_MAX 256

/* The dispatch rule's constants (see the head comment for where they come from). */
#define OFFLOAD_MIN_LEN (32u * 1024)
#define WINDOW_MS 100
#define BUSY_ON 0.90
#define BUSY_OFF 0.60
#define QUEUE_AHEAD 4

const double workers_lat_bounds_us[WORKERS_LAT_BUCKETS - 1] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
};

struct wentry {
	endpoint_job *job;
	void *owner;
	uint64_t t_queued_ns;
};

/* A bounded ring of WORKERS_QUEUE entries; the owner's lock guards it. */
struct wring {
	struct wentry e[WORKERS_QUEUE];
	unsigned head, count;
};

struct wthread {
	workers *w;
	pthread_t tid;
	aead_ctx *ctx;
	int started;
};

/* What the rule last saw, and where its window started. */
struct load {
	int adaptive;
	int offloading;
	uint64_t win_ms;        /* uv_now at the window's start */
	uint64_t hr0, cpu0;     /* uv_hrtime, the loop thread's busy ns then */
	int sched_fd;           /* /proc/thread-self/schedstat; -1 none, -2 not tried */
	double loop_busy;
};

struct workers {
	uv_loop_t *loop;
	uv_async_t async;
	uv_prepare_t prepare;   /* before the loop waits: the batch goes out */
	int handles;            /* open handles (async, prepare) */
	workers_done_fn done;
	void (*closed)(void *);
	void *closed_arg;

	/* Loop thread only. */
	unsigned inflight;
	int stopping;
	struct wentry batch[BATCH_MAX];
	unsigned nbatch;
	struct load ld;

	/* todo: guarded by todo_mu. */
	pthread_mutex_t todo_mu;
	pthread_cond_t todo_cv;
	struct wring todo;
	unsigned idle;          /* threads waiting on todo_cv */
	unsigned nwake;         /* signals sent and not yet consumed */
	int stop;

	atomic_uint running;    /* jobs between pop and push: stats only */

	/* done: guarded by done_mu, with the statistics. */
	pthread_mutex_t done_mu;
	struct wring dq;
	uint64_t ndone;
	uint64_t lat_count[WORKERS_LAT_BUCKETS];
	double lat_sum_us;

	int have_todo_mu, have_todo_cv, have_done_mu;
	unsigned nthreads;
	struct wthread th[WORKERS_MAX];
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
ring_push(struct wring *r, const struct wentry *x)
{
	r->e[(r->head + r->count) % WORKERS_QUEUE] = *x;
	r->count++;
}

static void
ring_pop(struct wring *r, struct wentry *x)
{
	*x = r->e[r->head];
	r->head = (r->head + 1) % WORKERS_QUEUE;
	r->count--;
}

static unsigned
lat_bucket(double us)
{
	unsigned i;

	for (i = 0; i < WORKERS_LAT_BUCKETS - 1; i++)
		if (us <= workers_lat_bounds_us[i])
			break;
	return i;
}

static void *
worker_main(void *arg)
{
	struct wthread *t = arg;
	workers *w = t->w;
	struct wentry x;
	uint64_t t_end;
	double us;
	unsigned b;
	int was_empty, swept = 1;

	pthread_mutex_lock(&w->todo_mu);
	for (;;) {
		while (w->todo.count == 0 && !w->stop) {
			/* Going idle: no retired key stays in our context. */
			if (!swept) {
				pthread_mutex_unlock(&w->todo_mu);
				(void)aead_ctx_sweep(t->ctx);
				swept = 1;
				pthread_mutex_lock(&w->todo_mu);
				continue;
			}
			w->idle++;
			pthread_cond_wait(&w->todo_cv, &w->todo_mu);
			w->idle--;
			if (w->nwake > 0)
				w->nwake--;
		}
		if (w->todo.count == 0)
			break;  /* stopping, and nothing left to run */
		ring_pop(&w->todo, &x);
		atomic_fetch_add_explicit(&w->running, 1, memory_order_relaxed);
		pthread_mutex_unlock(&w->todo_mu);

		endpoint_job_run(x.job, t->ctx);
		swept = 0;
		t_end = now_ns();
		atomic_fetch_sub_explicit(&w->running, 1, memory_order_relaxed);

		us = t_end > x.t_queued_ns ? (double)(t_end - x.t_queued_ns) / 1e3 : 0;
		b = lat_bucket(us);
		pthread_mutex_lock(&w->done_mu);
		was_empty = w->dq.count == 0;
		ring_push(&w->dq, &x);
		w->ndone++;
		w->lat_count[b]++;
		w->lat_sum_us += us;
		pthread_mutex_unlock(&w->done_mu);
		if (was_empty)
			uv_async_send(&w->async);

		pthread_mutex_lock(&w->todo_mu);
	}
	pthread_mutex_unlock(&w->todo_mu);
	return NULL;
}

/*
 * Deliver finished jobs to their owners, at most one ring's worth per call so
 * that owners submitting from their callbacks cannot keep the loop here.
 */
static void
drain(workers *w)
{
	struct wentry batch[DRAIN_BATCH];
	unsigned n, i, total = 0;

	for (;;) {
		pthread_mutex_lock(&w->done_mu);
		for (n = 0; n < DRAIN_BATCH && w->dq.count > 0; n++)
			ring_pop(&w->dq, &batch[n]);
		pthread_mutex_unlock(&w->done_mu);
		if (n == 0)
			return;
		/* These are the owners' again: room for new submits. */
		w->inflight -= n;
		for (i = 0; i < n; i++)
			w->done(batch[i].owner, batch[i].job);
		total += n;
		if (total >= WORKERS_QUEUE && !w->stopping) {
			/* Come back on the next loop iteration for the rest. */
			uv_async_send(&w->async);
			return;
		}
	}
}

static void
async_cb(uv_async_t *a)
{
	drain(a->data);
}

void
workers_flush(workers *w)
{
	unsigned i, wake;

	if (w->nbatch == 0)
		return;
	pthread_mutex_lock(&w->todo_mu);
	for (i = 0; i < w->nbatch; i++)
		ring_push(&w->todo, &w->batch[i]);
	/* One signal per new job, to threads that sleep and were not told yet. */
	wake = w->idle > w->nwake ? w->idle - w->nwake : 0;
	if (wake > w->nbatch)
		wake = w->nbatch;
	w->nwake += wake;
	while (wake-- > 0)
		pthread_cond_signal(&w->todo_cv);
	pthread_mutex_unlock(&w->todo_mu);
	w->nbatch = 0;
}

static void
prepare_cb(uv_prepare_t *p)
{
	workers_flush(p->data);
}

/* Tell the started threads to finish, and join them. */
static void
join_all(workers *w)
{
	unsigned i;

	pthread_mutex_lock(&w->todo_mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->todo_cv);
	pthread_mutex_unlock(&w->todo_mu);
	for (i = 0; i < w->nthreads; i++) {
		if (w->th[i].started) {
			pthread_join(w->th[i].tid, NULL);
			w->th[i].started = 0;
		}
	}
}

static void
free_pool(workers *w)
{
	unsigned i;

	for (i = 0; i < w->nthreads; i++)
		aead_ctx_free(w->th[i].ctx);
	if (w->have_done_mu)
		pthread_mutex_destroy(&w->done_mu);
	if (w->have_todo_cv)
		pthread_cond_destroy(&w->todo_cv);
	if (w->have_todo_mu)
		pthread_mutex_destroy(&w->todo_mu);
	free(w);
}

unsigned
workers_auto_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n <= 1)
		return 0;
	return n > WORKERS_MAX ? WORKERS_MAX : (unsigned)n;
}

workers *
workers_new(uv_loop_t *loop, unsigned n, int adaptive, workers_done_fn done,
    int *err)
{
	workers *w = NULL;
	unsigned i;
	int rc;

	if (loop == NULL || done == NULL || n < 1 || n > WORKERS_MAX) {
		rc = STP_EINVAL;
		goto out;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		rc = STP_ENOMEM;
		goto out;
	}
	w->loop = loop;
	w->done = done;
	w->nthreads = n;
	w->ld.adaptive = adaptive;
	w->ld.sched_fd = -2;
	rc = STP_ENOMEM;
	if (pthread_mutex_init(&w->todo_mu, NULL) != 0)
		goto out;
	w->have_todo_mu = 1;
	if (pthread_cond_init(&w->todo_cv, NULL) != 0)
		goto out;
	w->have_todo_cv = 1;
	if (pthread_mutex_init(&w->done_mu, NULL) != 0)
		goto out;
	w->have_done_mu = 1;
	for (i = 0; i < n; i++) {
		w->th[i].w = w;
		if ((w->th[i].ctx = aead_ctx_new()) == NULL)
			goto out;
	}
	rc = STP_EIO;
	for (i = 0; i < n; i++) {
		if (pthread_create(&w->th[i].tid, NULL, worker_main, &w->th[i]) != 0)
			goto out;
		w->th[i].started = 1;
	}
	/* Last: a pool that fails before here has no handle to close. */
	if (uv_async_init(loop, &w->async, async_cb) != 0)
		goto out;
	w->async.data = w;
	w->handles = 1;
	uv_prepare_init(loop, &w->prepare);
	w->prepare.data = w;
	w->handles = 2;
	uv_prepare_start(&w->prepare, prepare_cb);
	/* The pool alone does not keep a loop running. */
	uv_unref((uv_handle_t *)&w->prepare);
	rc = 0;
out:
	if (rc != 0) {
		if (w != NULL) {
			if (w->have_todo_mu && w->have_todo_cv)
				join_all(w);
			free_pool(w);
		}
		w = NULL;
		if (err != NULL)
			*err = rc;
	}
	return w;
}

int
workers_submit(workers *w, endpoint_job *job, void *owner)
{
	struct wentry *x;

	if (w->stopping)
		return STP_ESTATE;
	if (w->inflight >= WORKERS_QUEUE)
		return STP_EAGAIN;
	if (w->nbatch == BATCH_MAX)
		workers_flush(w);
	x = &w->batch[w->nbatch++];
	x->job = job;
	x->owner = owner;
	x->t_queued_ns = now_ns();
	w->inflight++;
	return 0;
}

/* ---- the dispatch rule ---- */

/*
 * The calling thread's (the loop's) busy time so far, in ns: on a CPU plus
 * waiting for one, from schedstat ("run_ns wait_ns slices"), read again
 * through one descriptor opened on first use; else its CPU time.
 */
static uint64_t
thread_busy_ns(struct load *ld)
{
	unsigned long long run, wait;
	struct timespec ts;
	char buf[96];
	ssize_t n;

	if (ld->sched_fd == -2)
		ld->sched_fd = open("/proc/thread-self/schedstat",
		    O_RDONLY | O_CLOEXEC);
	if (ld->sched_fd >= 0 &&
	    (n = pread(ld->sched_fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "%llu %llu", &run, &wait) == 2)
			return run + wait;
	}
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
workers_rule(int offloading, double loop_busy)
{
	return loop_busy >= (offloading ? BUSY_OFF : BUSY_ON);
}

/* Close the window if WINDOW_MS passed: how busy was the loop? */
static void
sample(workers *w)
{
	struct load *ld = &w->ld;
	uint64_t now_ms = uv_now(w->loop), hr, cpu;

	if (ld->hr0 != 0 && now_ms - ld->win_ms < WINDOW_MS)
		return;
	hr = uv_hrtime();
	cpu = thread_busy_ns(ld);
	if (ld->hr0 != 0 && hr > ld->hr0) {
		ld->loop_busy = (double)(cpu - ld->cpu0) / (double)(hr - ld->hr0);
		if (ld->loop_busy > 1)
			ld->loop_busy = 1;
		ld->offloading = workers_rule(ld->offloading, ld->loop_busy);
	}
	ld->win_ms = now_ms;
	ld->hr0 = hr;
	ld->cpu0 = cpu;
}

int
workers_offload(void *arg, int kind, size_t len, int sig)
{
	workers *w = arg;
	struct load *ld = &w->ld;

	if (!ld->adaptive)
		return 1;
	if (kind == EP_JOB_HANDSHAKE || sig)
		return 1;
	if (len >= OFFLOAD_MIN_LEN) {
		sample(w);
		/* Opens are never held back: see the head comment. */
		if (ld->offloading && (kind == EP_JOB_OPEN ||
		    w->inflight < QUEUE_AHEAD * w->nthreads + w->nthreads))
			return 1;
	}
	return 0;
}

/* ---- stopping ---- */

static void
close_cb(uv_handle_t *h)
{
	workers *w = h->data;

	if (--w->handles > 0)
		return;
	if (w->ld.sched_fd >= 0)
		close(w->ld.sched_fd);
	if (w->closed != NULL)
		w->closed(w->closed_arg);
	free_pool(w);
}

void
workers_stop(workers *w, void (*closed)(void *arg), void *arg)
{
	if (w->stopping)
		return;
	w->stopping = 1;
	w->closed = closed;
	w->closed_arg = arg;
	/* The threads run what is queued (the batch too), then exit. */
	workers_flush(w);
	join_all(w);
	/* Every job is on the done ring now: deliver them all. */
	drain(w);
	uv_close((uv_handle_t *)&w->prepare, close_cb);
	uv_close((uv_handle_t *)&w->async, close_cb);
}

void
workers_get_stats(workers *w, workers_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->threads = w->nthreads;
	s->adaptive = w->ld.adaptive;
	s->loop_busy = w->ld.loop_busy;
	s->offloading = w->ld.offloading;
	pthread_mutex_lock(&w->todo_mu);
	s->queued = w->todo.count + w->nbatch;
	pthread_mutex_unlock(&w->todo_mu);
	s->running = atomic_load_explicit(&w->running, memory_order_relaxed);
	pthread_mutex_lock(&w->done_mu);
	s->done = w->ndone;
	memcpy(s->lat_count, w->lat_count, sizeof(s->lat_count));
	s->lat_sum_us = w->lat_sum_us;
	pthread_mutex_unlock(&w->done_mu);
}

/*
 * workers.c: the crypto worker pool (workers.h).  N threads, each with its
 * own aead_ctx, take (job, owner) entries from the `todo` ring, run them with
 * no lock held, and put them on the `done` ring; the loop thread learns of
 * finished jobs through one uv_async_t and hands each to the done callback.
 *
 * Accounting.  `inflight` counts jobs from workers_submit until their done
 * callback is called: queued, running, finished and not yet delivered.  It
 * is touched only on the loop thread (submit and delivery both run there),
 * so it needs no lock, and because it never exceeds WORKERS_QUEUE neither
 * ring can overflow.  A loop thread that keeps submitting without returning
 * to the loop sees exactly WORKERS_QUEUE submits succeed: finished jobs wait
 * on the done ring until the loop delivers them.
 *
 * Wake-ups.  A submit signals one idle thread, and only when more threads
 * sleep than were already signalled (`nwake`); a thread that finishes a job
 * takes the next one without sleeping.  A worker sends the async only when
 * it put the first entry on an empty done ring: any later entry is picked up
 * by the drain that the first one's send causes, since a drain empties the
 * ring.
 *
 * Latency runs from CLOCK_MONOTONIC at submit to the end of the job's run
 * and is counted by the worker under the done lock, together with the push.
 * The running count is an atomic kept apart from the rings (statistics
 * only), so a worker takes each lock once per job.
 */
#include "workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

/* Entries a drain copies out per lock (a pass delivers at most WORKERS_QUEUE). */
#define DRAIN_BATCH 64

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

struct workers {
	uv_loop_t *loop;
	uv_async_t async;
	workers_done_fn done;
	void (*closed)(void *);
	void *closed_arg;

	/* Loop thread only. */
	unsigned inflight;
	int stopping;

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
	int was_empty;

	pthread_mutex_lock(&w->todo_mu);
	for (;;) {
		while (w->todo.count == 0 && !w->stop) {
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
		atomic_fetch_sub_explicit(&w->running, 1, memory_order_relaxed);

		t_end = now_ns();
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

workers *
workers_new(uv_loop_t *loop, unsigned n, workers_done_fn done, int *err)
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
	struct wentry x;

	if (w->stopping)
		return STP_ESTATE;
	if (w->inflight >= WORKERS_QUEUE)
		return STP_EAGAIN;
	x.job = job;
	x.owner = owner;
	x.t_queued_ns = now_ns();
	w->inflight++;
	pthread_mutex_lock(&w->todo_mu);
	ring_push(&w->todo, &x);
	if (w->idle > w->nwake) {
		w->nwake++;
		pthread_cond_signal(&w->todo_cv);
	}
	pthread_mutex_unlock(&w->todo_mu);
	return 0;
}

static void
close_cb(uv_handle_t *h)
{
	workers *w = h->data;

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
	/* The threads run what is queued, then exit. */
	join_all(w);
	/* Every job is on the done ring now: deliver them all. */
	drain(w);
	uv_close((uv_handle_t *)&w->async, close_cb);
}

void
workers_get_stats(workers *w, workers_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->threads = w->nthreads;
	pthread_mutex_lock(&w->todo_mu);
	s->queued = w->todo.count;
	pthread_mutex_unlock(&w->todo_mu);
	s->running = atomic_load_explicit(&w->running, memory_order_relaxed);
	pthread_mutex_lock(&w->done_mu);
	s->done = w->ndone;
	memcpy(s->lat_count, w->lat_count, sizeof(s->lat_count));
	s->lat_sum_us = w->lat_sum_us;
	pthread_mutex_unlock(&w->done_mu);
}

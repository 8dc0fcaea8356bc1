/*
 * workers.h: the crypto worker pool.  N threads run endpoint jobs (record
 * sealing and opening, handshake work); finished jobs come back to the loop
 * thread through a queue and one uv_async_t, and the owner's done callback
 * puts them in order (endpoint_job_done).
 *
 * Jobs are self-contained (endpoint.h): a worker touches only the job and its
 * own aead_ctx.  No lock is held while a job runs; the two queues are bounded
 * rings of (job, owner) pairs, so the pool allocates nothing per job.
 */
#ifndef STP_WORKERS_H
#define STP_WORKERS_H

#include <stdint.h>

#include <uv.h>

#include "endpoint.h"

#define WORKERS_MAX 64
#define WORKERS_QUEUE 4096 /* jobs queued or running, all owners together */

typedef struct workers workers;

/* Runs on the loop thread for each finished job, in completion order. */
typedef void (*workers_done_fn)(void *owner, endpoint_job *job);

/* Latency histogram buckets (microseconds, upper bounds; last is +Inf). */
#define WORKERS_LAT_BUCKETS 12
extern const double workers_lat_bounds_us[WORKERS_LAT_BUCKETS - 1];

typedef struct workers_stats {
	unsigned threads;
	unsigned queued;        /* waiting for a thread now */
	unsigned running;       /* being run now */
	uint64_t done;          /* jobs finished since start */
	uint64_t lat_count[WORKERS_LAT_BUCKETS]; /* queue-to-done time, per bucket */
	double lat_sum_us;
} workers_stats;

/*
 * Start n threads (1..WORKERS_MAX) on loop.  Returns the pool, or NULL with
 * *err set (STP_EINVAL, STP_ENOMEM, STP_EIO if a thread cannot start).
 */
workers *workers_new(uv_loop_t *loop, unsigned n, workers_done_fn done, int *err);

/*
 * Queue a job for owner.  0, or STP_EAGAIN when WORKERS_QUEUE jobs are
 * already out (the caller keeps the job and tries again after a done
 * callback), or STP_ESTATE after workers_stop.
 */
int workers_submit(workers *w, endpoint_job *job, void *owner);

/*
 * Stop: let the threads finish every queued job (their done callbacks still
 * run), join them, close the async handle, then call closed(arg) on the loop
 * and free the pool.  Call once.
 */
void workers_stop(workers *w, void (*closed)(void *arg), void *arg);

void workers_get_stats(workers *w, workers_stats *s);

#endif

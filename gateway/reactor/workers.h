/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workers.h: the crypto worker pool, and the rule that decides which jobs
 * go to it.  N threads run endpoint jobs (record sealing and opening,
 * handshake work); finished jobs come back to the loop thread through a
 * queue and one uv_async_t, and the owner's done callback puts them in order
 * (endpoint_job_done).
 *
 * Jobs are self-contained (endpoint.h): a worker touches only the job and its
 * own aead_ctx.  No lock is held while a job runs; the two queues are bounded
 * rings of (job, owner) pairs, so the pool allocates nothing per job.
 *
 * Batches.  Jobs submitted during one turn of the loop wait on the loop
 * thread and are handed to the threads together, under one lock, at the end
 * of the turn (workers_flush; the pool's uv_prepare_t does it at the
 * latest, before the loop waits for I/O): one
 * wake-up carries many jobs, and one async brings many results back.
 *
 * Dispatch (workers_offload, the endpoint's offload hook).  A fixed pool
 * (`workers: N`) takes every job.  An adaptive pool (`workers: auto`) takes
 * only the jobs whose hand-off pays: the expensive ones always (handshake
 * steps, record signatures), large records only while the loop is the
 * bottleneck; everything else runs on the loop.  The rule and the measurements behind its constants are in
 * workers.c.
 *
 * Threading: every call is made on the loop thread.
 */
#ifndef STP_WORKERS_H
#define STP_WORKERS_H

#include <stddef.h>
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
	int adaptive;           /* workers: auto */
	unsigned queued;        /* waiting for a thread now (batch included) */
	unsigned running;       /* being run now */
	uint64_t done;          /* jobs finished since start */
	uint64_t lat_count[WORKERS_LAT_BUCKETS]; /* queue-to-done time, per bucket */
	double lat_sum_us;
	double loop_busy;       /* adaptive: the loop's busy share, last window */
	int offloading;         /* adaptive: bulk records go to the pool now */
} workers_stats;

/*
 * Start n threads (1..WORKERS_MAX) on loop; adaptive: decide per job
 * (workers_offload), else the pool takes every job.  Returns the pool, or
 * NULL with *err set (STP_EINVAL, STP_ENOMEM, STP_EIO if a thread cannot
 * start).
 */
workers *workers_new(uv_loop_t *loop, unsigned n, int adaptive,
    workers_done_fn done, int *err);

/*
 * The threads `workers: auto` starts on this machine: one per online CPU
 * (idle threads cost nothing; the rule decides what they get), 0 on one CPU.
 */
unsigned workers_auto_threads(void);

/*
 * Queue a job for owner.  It goes to the threads at workers_flush, at once
 * when a batch is full, and at the latest before the loop waits.  0, or
 * STP_EAGAIN when WORKERS_QUEUE jobs are already out (the caller keeps the
 * job and tries again after a done callback), or STP_ESTATE after
 * workers_stop.
 */
int workers_submit(workers *w, endpoint_job *job, void *owner);

/* Hand the jobs submitted so far to the threads now. */
void workers_flush(workers *w);

/*
 * The endpoint's offload hook (endpoint_config.offload, cookie w): 1 if a
 * job of this kind, frame length and signature work should go to the pool,
 * 0 to run it on the loop.  Cheap: reads the clock the loop cached and, at
 * most every 100 ms, the loop thread's CPU time.  Call it on the loop
 * thread.
 */
int workers_offload(void *w, int kind, size_t len, int sig);

/*
 * The rule's state change, once per window (exposed for its tests): whether
 * large records go to the pool next, given whether they did and the loop's
 * busy share (0..1) in the window that ended.
 */
int workers_rule(int offloading, double loop_busy);

/*
 * Stop: let the threads finish every queued job (their done callbacks still
 * run), join them, close the handles, then call closed(arg) on the loop and
 * free the pool.  Call once.
 */
void workers_stop(workers *w, void (*closed)(void *arg), void *arg);

void workers_get_stats(workers *w, workers_stats *s);

#endif

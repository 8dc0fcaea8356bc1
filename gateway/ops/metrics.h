/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h: the gateway's counters, in one place, rendered as Prometheus
 * text exposition.  Counters are touched only on the loop thread (the worker
 * pool keeps its own, read through workers_get_stats), so plain integers do.
 *
 * Per-peer figures (bytes, streams, state) live in the session and are
 * rendered by the caller through metrics_render's peer callback.
 *
 * Every metric is named stpgate_*; counters end in _total.  The families:
 *   stpgate_sessions{state}                     gauge, one sample per state
 *   stpgate_sessions_established_total, stpgate_sessions_closed_total
 *   stpgate_handshakes_total{result="ok"}, {result="fail",reason},
 *   stpgate_handshakes_in_progress (gauge: accepted, not yet a session)
 *   stpgate_streams_opened_total, stpgate_streams_closed_total,
 *   stpgate_streams_refused_total{reason}, stpgate_streams_active (gauge)
 *   stpgate_peer_up{peer}, stpgate_peer_streams{peer},
 *   stpgate_peer_rtt_seconds{peer} (gauges),
 *   stpgate_peer_bytes_total{peer,direction="in"|"out"} (app bytes)
 *   stpgate_rekeys_total, stpgate_records_rejected_total{reason},
 *   stpgate_limits_hit_total, stpgate_config_reloads_total{result}
 *   stpgate_accept_errors_total{listener="peer"|"forward",
 *   reason="emfile"|"enfile"|"other"} (connections a listener could not take)
 *   stpgate_worker_threads, stpgate_worker_queue_depth,
 *   stpgate_worker_jobs_running (gauges), stpgate_worker_jobs_total,
 *   stpgate_worker_job_latency_seconds (histogram, queue to done)
 *   stpgate_crypto_jobs_total{where="loop"|"pool"} (where each ran),
 *   stpgate_loop_busy_ratio, stpgate_worker_offloading (gauges, workers:
 *   auto: the dispatch rule's view of the last window)
 */
#ifndef STP_METRICS_H
#define STP_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Why a handshake failed (label "reason" of stpgate_handshakes_total{result="fail"}). */
enum m_hs_reason {
	M_HS_MAC1,        /* first message failed mac1: silence */
	M_HS_ADMISSION,   /* admission refused or challenged away */
	M_HS_RATE,        /* per-source or global limit */
	M_HS_UNKNOWN_PEER,
	M_HS_AUTH,        /* AUTH did not open, signature or Finished bad */
	M_HS_TIMEOUT,
	M_HS_PROTOCOL,    /* anything else the peer got wrong */
	M_HS_REJECTED,    /* the peer refused us */
	M_HS_IO,          /* connect failed, reset */
	M_HS_STALE,       /* Hello.time outside the window: silence */
	M_HS_REPLAY,      /* a HELLO seen before: silence */
	M_HS_REASONS
};

/* Why a stream open was refused. */
enum m_stream_reason {
	M_ST_NOT_ALLOWED, M_ST_UNKNOWN_SERVICE, M_ST_CONNECT_FAILED, M_ST_LIMIT,
	M_ST_NO_SESSION, M_ST_PEER_REFUSED, M_ST_SOCKS, M_ST_MALFORMED,
	M_ST_REASONS
};

/* Why a record (or session) was rejected after keys existed. */
enum m_rec_reason {
	M_REC_AUTH,       /* failed to open: tampered, replayed, reordered, dropped */
	M_REC_SIGNATURE,
	M_REC_PROTOCOL,   /* malformed, wrong state, after close, flow control */
	M_REC_TOO_BIG,
	M_REC_REASONS
};

/* Datagrams of flows (flow.h): which way, and why one was dropped. */
enum m_dg_dir { M_DG_SENT, M_DG_RECEIVED, M_DG_DIRS };
enum m_dg_drop {
	M_DG_CONGESTED,   /* the session's output, or a socket, was full */
	M_DG_QUEUE,       /* before the peer accepted, the flow's queue was full */
	M_DG_TOO_BIG,     /* over STP_MAX_DATAGRAM, or cut by the socket */
	M_DG_LIMIT,       /* a new flow over limits.max_connections */
	M_DG_CLOSED,      /* its flow ended before it could go */
	M_DG_DROPS
};

/* Which listener could not accept, and why (stpgate_accept_errors_total). */
enum m_acc_listener { M_ACC_PEER, M_ACC_FORWARD, M_ACC_LISTENERS };
enum m_acc_reason {
	M_ACC_EMFILE,     /* the process's open-files limit (RLIMIT_NOFILE) */
	M_ACC_ENFILE,     /* the system's (fs.file-max) */
	M_ACC_OTHER,      /* ENOBUFS, ENOMEM, ... */
	M_ACC_REASONS
};

typedef struct metrics {
	uint64_t handshakes_ok;
	uint64_t handshakes_failed[M_HS_REASONS];
	uint64_t hello_cookies;       /* cookie CHALLENGEs sent (the guard under load) */
	uint64_t handshakes_pending;  /* gauge: accepted connections not yet a session */
	uint64_t streams_opened, streams_closed;
	uint64_t streams_refused[M_ST_REASONS];
	uint64_t records_rejected[M_REC_REASONS];
	uint64_t sessions_up, sessions_down;
	uint64_t sessions_rival;    /* refused: the peer's key already had a live session */
	uint64_t sessions_resumed;  /* a new connection took a broken one's streams */
	uint64_t resume_failed;     /* held streams closed: refused, or the window passed */
	uint64_t resume_bytes_resent; /* stream bytes sent again by resumptions */
	uint64_t probe_quiets;      /* bulk held around the kernel's RTT probe (conn_pace.c) */
	uint64_t identity_updates_sent, identity_updates_received;
	uint64_t rekeys;
	uint64_t limits_hit;          /* any configured cap reached */
	/* Per failed accept, or per waiting connection closed because of one. */
	uint64_t accept_errors[M_ACC_LISTENERS][M_ACC_REASONS];
	uint64_t config_reloads, config_reload_failures;
	uint64_t crypto_jobs_loop;    /* jobs run on the loop (pool ones: workers_stats) */
	uint64_t datagrams[M_DG_DIRS];          /* to / from peers */
	uint64_t datagrams_dropped[M_DG_DROPS];
	uint64_t flows_active;                  /* gauge: datagram flows */
} metrics;

/* The process-wide counters. */
extern metrics stp_metrics;

struct session_info;
struct workers_stats;

/* How metrics_render sees the sessions: foreach(src, cb, arg) calls cb(arg, i) per peer. */
typedef void (*metrics_peer_cb)(void *arg, const struct session_info *i);
typedef void (*metrics_foreach_fn)(void *src, metrics_peer_cb cb, void *arg);

/*
 * Render stp_metrics, the sessions (foreach over src; foreach may be NULL)
 * and the worker pool (ws; NULL when the crypto runs on the loop) as
 * Prometheus text exposition (format 0.0.4).  On success *out is a malloc'd,
 * NUL-terminated text of *len bytes.  0 or STP_ENOMEM.
 */
int metrics_render(metrics_foreach_fn foreach, void *src,
    const struct workers_stats *ws, char **out, size_t *len);

const char *metrics_hs_reason_name(int r);
const char *metrics_stream_reason_name(int r);
const char *metrics_rec_reason_name(int r);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.c: the process-wide counters (metrics.h), the label values that
 * name each failure reason, and their rendering as Prometheus text
 * exposition: per family a "# HELP" and a "# TYPE" line, then its samples,
 * "name{label="value",...} number", one per line.  A histogram's buckets
 * are cumulative and end with le="+Inf", which equals its _count.
 *
 * The text is built in one growing buffer; a failed allocation is remembered
 * and reported once at the end, so the writers need no error paths.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "session.h"
#include "workers.h"

#define LABEL_MAX (CFG_NAME_MAX * 2 + 8) /* a name, every byte escaped */

metrics stp_metrics;

static const char *const hs_reason_names[M_HS_REASONS] = {
	[M_HS_MAC1] = "mac1",
	[M_HS_ADMISSION] = "admission",
	[M_HS_RATE] = "rate_limited",
	[M_HS_UNKNOWN_PEER] = "unknown_peer",
	[M_HS_AUTH] = "auth",
	[M_HS_TIMEOUT] = "timeout",
	[M_HS_PROTOCOL] = "protocol",
	[M_HS_REJECTED] = "rejected",
	[M_HS_IO] = "io",
	[M_HS_STALE] = "stale",
	[M_HS_REPLAY] = "replayed",
};

static const char *const stream_reason_names[M_ST_REASONS] = {
	[M_ST_NOT_ALLOWED] = "not_allowed",
	[M_ST_UNKNOWN_SERVICE] = "unknown_service",
	[M_ST_CONNECT_FAILED] = "connect_failed",
	[M_ST_LIMIT] = "limit",
	[M_ST_NO_SESSION] = "no_session",
	[M_ST_PEER_REFUSED] = "peer_refused",
	[M_ST_SOCKS] = "socks_request",     /* an app's SOCKS5 we cannot serve */
	[M_ST_MALFORMED] = "malformed",     /* an open with bad addresses */
};

static const char *const dg_drop_names[M_DG_DROPS] = {
	[M_DG_CONGESTED] = "congested",
	[M_DG_QUEUE] = "queue",
	[M_DG_TOO_BIG] = "too_big",
	[M_DG_LIMIT] = "limit",
	[M_DG_CLOSED] = "closed",
};

static const char *const rec_reason_names[M_REC_REASONS] = {
	[M_REC_AUTH] = "auth",
	[M_REC_SIGNATURE] = "signature",
	[M_REC_PROTOCOL] = "protocol",
	[M_REC_TOO_BIG] = "too_big",
};

static const char *const acc_listener_names[M_ACC_LISTENERS] = {
	[M_ACC_PEER] = "peer",
	[M_ACC_FORWARD] = "forward",
};

static const char *const acc_reason_names[M_ACC_REASONS] = {
	[M_ACC_EMFILE] = "emfile",
	[M_ACC_ENFILE] = "enfile",
	[M_ACC_OTHER] = "other",
};

/* Out-of-range reasons get a name too, so a label is never NULL. */
static const char *
name_of(const char *const *names, int n, int r)
{
	if (r < 0 || r >= n || names[r] == NULL)
		return "unknown";
	return names[r];
}

const char *
metrics_hs_reason_name(int r)
{
	return name_of(hs_reason_names, M_HS_REASONS, r);
}

const char *
metrics_stream_reason_name(int r)
{
	return name_of(stream_reason_names, M_ST_REASONS, r);
}

const char *
metrics_rec_reason_name(int r)
{
	return name_of(rec_reason_names, M_REC_REASONS, r);
}

/* ---- rendering ---- */

struct mbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void mb_printf(struct mbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mb_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = STP_EINVAL;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t ncap = b->cap * 2 + (size_t)n;
			char *np = realloc(b->p, ncap);

			if (np == NULL) {
				b->err = STP_ENOMEM;
				return;
			}
			b->p = np;
			b->cap = ncap;
		}
	}
}

static void
family(struct mbuf *b, const char *name, const char *type, const char *help)
{
	mb_printf(b, "# HELP stpgate_%s %s\n# TYPE stpgate_%s %s\n", name, help,
	    name, type);
}

/* A label value: backslash, double quote and newline escaped (the format's rule). */
static void
label_escape(const char *v, char *out, size_t len)
{
	size_t o = 0;

	for (; *v != '\0' && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"') {
			out[o++] = '\\';
			out[o++] = *v;
		} else if (*v == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
}

struct peers {
	session_info *v;
	size_t n, cap;
	int err;
};

static void
collect(void *arg, const session_info *i)
{
	struct peers *ps = arg;

	if (ps->err)
		return;
	if (ps->n == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 16;
		session_info *nv = realloc(ps->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			ps->err = STP_ENOMEM;
			return;
		}
		ps->v = nv;
		ps->cap = ncap;
	}
	ps->v[ps->n++] = *i;
}

static void
render_sessions(struct mbuf *b, const struct peers *ps)
{
	const metrics *m = &stp_metrics;
	unsigned long long n;
	size_t i;
	int st;

	family(b, "sessions", "gauge", "Peers by session state.");
	for (st = SESS_IDLE; st <= SESS_CLOSING; st++) {
		for (n = 0, i = 0; i < ps->n; i++)
			if (ps->v[i].state == st)
				n++;
		mb_printf(b, "stpgate_sessions{state=\"%s\"} %llu\n",
		    session_state_name(st), n);
	}
	family(b, "sessions_established_total", "counter",
	    "Sessions that came up (after a handshake) since start.");
	mb_printf(b, "stpgate_sessions_established_total %llu\n",
	    (unsigned long long)m->sessions_up);
	family(b, "sessions_closed_total", "counter",
	    "Established sessions that went down since start.");
	mb_printf(b, "stpgate_sessions_closed_total %llu\n",
	    (unsigned long long)m->sessions_down);
	family(b, "sessions_rival_total", "counter",
	    "Connections refused because the peer's key already had a live "
	    "session (two gateways with one identity).");
	mb_printf(b, "stpgate_sessions_rival_total %llu\n",
	    (unsigned long long)m->sessions_rival);
	family(b, "sessions_resumed_total", "counter",
	    "Sessions whose connection broke and whose streams a new "
	    "connection took over (proto/STP.md, \"Resumption\").");
	mb_printf(b, "stpgate_sessions_resumed_total %llu\n",
	    (unsigned long long)m->sessions_resumed);
	family(b, "resume_failed_total", "counter",
	    "Broken sessions whose held streams were closed: the resumption "
	    "was refused, or resume_window passed.");
	mb_printf(b, "stpgate_resume_failed_total %llu\n",
	    (unsigned long long)m->resume_failed);
	family(b, "resume_bytes_resent_total", "counter",
	    "Stream bytes sent again after resumptions (the peer had not "
	    "received them when the connection broke).");
	mb_printf(b, "stpgate_resume_bytes_resent_total %llu\n",
	    (unsigned long long)m->resume_bytes_resent);
	family(b, "probe_quiets_total", "counter",
	    "Times a session's connection held its bulk streams around the "
	    "kernel's RTT probe (BBR's ProbeRTT), so that a light stream's "
	    "records did not wait behind them.");
	mb_printf(b, "stpgate_probe_quiets_total %llu\n",
	    (unsigned long long)m->probe_quiets);
	family(b, "identity_updates_total", "counter",
	    "Identity updates (a key rotation told inside a running session) "
	    "sent to peers and received from them.");
	mb_printf(b, "stpgate_identity_updates_total{direction=\"sent\"} %llu\n",
	    (unsigned long long)m->identity_updates_sent);
	mb_printf(b, "stpgate_identity_updates_total{direction=\"received\"} %llu\n",
	    (unsigned long long)m->identity_updates_received);
}

static void
render_handshakes(struct mbuf *b)
{
	const metrics *m = &stp_metrics;
	int r;

	family(b, "handshakes_total", "counter",
	    "Handshakes finished, by result and, for failures, reason.");
	mb_printf(b, "stpgate_handshakes_total{result=\"ok\"} %llu\n",
	    (unsigned long long)m->handshakes_ok);
	for (r = 0; r < M_HS_REASONS; r++)
		mb_printf(b, "stpgate_handshakes_total{result=\"fail\",reason=\"%s\"} %llu\n",
		    metrics_hs_reason_name(r),
		    (unsigned long long)m->handshakes_failed[r]);
	family(b, "hello_cookies_total", "counter",
	    "Cookie round trips asked of initiators because the HELLO replay table was full (limits.replay_slots).");
	mb_printf(b, "stpgate_hello_cookies_total %llu\n",
	    (unsigned long long)m->hello_cookies);
	family(b, "handshakes_in_progress", "gauge",
	    "Accepted peer connections whose handshake has not ended yet (limits.max_handshakes caps them).");
	mb_printf(b, "stpgate_handshakes_in_progress %llu\n",
	    (unsigned long long)m->handshakes_pending);
}

static void
render_streams(struct mbuf *b, const struct peers *ps)
{
	const metrics *m = &stp_metrics;
	unsigned long long active = 0;
	size_t i;
	int r;

	family(b, "streams_opened_total", "counter",
	    "Streams that opened (either side asked) since start.");
	mb_printf(b, "stpgate_streams_opened_total %llu\n",
	    (unsigned long long)m->streams_opened);
	family(b, "streams_closed_total", "counter", "Streams that ended since start.");
	mb_printf(b, "stpgate_streams_closed_total %llu\n",
	    (unsigned long long)m->streams_closed);
	family(b, "streams_refused_total", "counter",
	    "Stream opens refused or failed, by reason.");
	for (r = 0; r < M_ST_REASONS; r++)
		mb_printf(b, "stpgate_streams_refused_total{reason=\"%s\"} %llu\n",
		    metrics_stream_reason_name(r),
		    (unsigned long long)m->streams_refused[r]);
	for (i = 0; i < ps->n; i++)
		active += ps->v[i].streams;
	family(b, "streams_active", "gauge", "Streams open now, all peers.");
	mb_printf(b, "stpgate_streams_active %llu\n", active);
	family(b, "flows_active", "gauge",
	    "Datagram (UDP) flows open or opening now, all peers.");
	mb_printf(b, "stpgate_flows_active %llu\n",
	    (unsigned long long)m->flows_active);
	family(b, "datagrams_total", "counter",
	    "Datagrams of UDP flows sent to peers and received from them.");
	mb_printf(b, "stpgate_datagrams_total{direction=\"sent\"} %llu\n",
	    (unsigned long long)m->datagrams[M_DG_SENT]);
	mb_printf(b, "stpgate_datagrams_total{direction=\"received\"} %llu\n",
	    (unsigned long long)m->datagrams[M_DG_RECEIVED]);
	family(b, "datagrams_dropped_total", "counter",
	    "Datagrams dropped (UDP's contract), by reason.");
	for (r = 0; r < M_DG_DROPS; r++)
		mb_printf(b, "stpgate_datagrams_dropped_total{reason=\"%s\"} %llu\n",
		    dg_drop_names[r], (unsigned long long)m->datagrams_dropped[r]);
}

static void
render_peers(struct mbuf *b, const struct peers *ps)
{
	char lab[LABEL_MAX];
	size_t i;

	family(b, "peer_up", "gauge", "1 if the peer's session is up, else 0.");
	for (i = 0; i < ps->n; i++) {
		label_escape(ps->v[i].name, lab, sizeof(lab));
		mb_printf(b, "stpgate_peer_up{peer=\"%s\"} %d\n", lab,
		    ps->v[i].state == SESS_UP);
	}
	family(b, "peer_streams", "gauge", "Streams open now, per peer.");
	for (i = 0; i < ps->n; i++) {
		label_escape(ps->v[i].name, lab, sizeof(lab));
		mb_printf(b, "stpgate_peer_streams{peer=\"%s\"} %u\n", lab,
		    ps->v[i].streams);
	}
	family(b, "peer_rtt_seconds", "gauge",
	    "Last measured round-trip time to the peer (0 until measured).");
	for (i = 0; i < ps->n; i++) {
		label_escape(ps->v[i].name, lab, sizeof(lab));
		mb_printf(b, "stpgate_peer_rtt_seconds{peer=\"%s\"} %.3f\n", lab,
		    (double)ps->v[i].rtt_ms / 1000.0);
	}
	family(b, "peer_bytes_total", "counter",
	    "App bytes carried, per peer: in = from the peer, out = to the peer.");
	for (i = 0; i < ps->n; i++) {
		label_escape(ps->v[i].name, lab, sizeof(lab));
		mb_printf(b, "stpgate_peer_bytes_total{peer=\"%s\",direction=\"in\"} %llu\n",
		    lab, (unsigned long long)ps->v[i].bytes_in);
		mb_printf(b, "stpgate_peer_bytes_total{peer=\"%s\",direction=\"out\"} %llu\n",
		    lab, (unsigned long long)ps->v[i].bytes_out);
	}
}

static void
render_misc(struct mbuf *b, const struct peers *ps)
{
	const metrics *m = &stp_metrics;
	uint64_t rekeys = m->rekeys;
	size_t i;
	int r, l;

	for (i = 0; i < ps->n; i++)
		rekeys += ps->v[i].rekeys;
	family(b, "rekeys_total", "counter",
	    "Key updates sent and received plus fresh key exchanges, all sessions.");
	mb_printf(b, "stpgate_rekeys_total %llu\n", (unsigned long long)rekeys);
	family(b, "records_rejected_total", "counter",
	    "Established sessions ended by a bad record, by reason.");
	for (r = 0; r < M_REC_REASONS; r++)
		mb_printf(b, "stpgate_records_rejected_total{reason=\"%s\"} %llu\n",
		    metrics_rec_reason_name(r),
		    (unsigned long long)m->records_rejected[r]);
	family(b, "limits_hit_total", "counter",
	    "Times a configured limit (limits.*) refused something.");
	mb_printf(b, "stpgate_limits_hit_total %llu\n", (unsigned long long)m->limits_hit);
	family(b, "accept_errors_total", "counter",
	    "Connections the peer or a forward listener could not take (accept failed), by reason; emfile, enfile: the open-files limit (each waiting connection is closed at once).");
	for (l = 0; l < M_ACC_LISTENERS; l++)
		for (r = 0; r < M_ACC_REASONS; r++)
			mb_printf(b, "stpgate_accept_errors_total{listener=\"%s\",reason=\"%s\"} %llu\n",
			    acc_listener_names[l], acc_reason_names[r],
			    (unsigned long long)m->accept_errors[l][r]);
	family(b, "config_reloads_total", "counter", "Reloads (SIGHUP or stpgate reload), by result.");
	mb_printf(b, "stpgate_config_reloads_total{result=\"ok\"} %llu\n",
	    (unsigned long long)(m->config_reloads - m->config_reload_failures));
	mb_printf(b, "stpgate_config_reloads_total{result=\"fail\"} %llu\n",
	    (unsigned long long)m->config_reload_failures);
}

static void
render_workers(struct mbuf *b, const workers_stats *ws)
{
	workers_stats zero;
	uint64_t cum = 0;
	int i;

	if (ws == NULL) {
		memset(&zero, 0, sizeof(zero));
		ws = &zero;
	}
	family(b, "worker_threads", "gauge",
	    "Crypto worker threads (0: crypto runs on the event loop).");
	mb_printf(b, "stpgate_worker_threads %u\n", ws->threads);
	family(b, "worker_queue_depth", "gauge", "Crypto jobs waiting for a thread.");
	mb_printf(b, "stpgate_worker_queue_depth %u\n", ws->queued);
	family(b, "worker_jobs_running", "gauge", "Crypto jobs being run now.");
	mb_printf(b, "stpgate_worker_jobs_running %u\n", ws->running);
	family(b, "worker_jobs_total", "counter", "Crypto jobs finished since start.");
	mb_printf(b, "stpgate_worker_jobs_total %llu\n", (unsigned long long)ws->done);
	family(b, "worker_job_latency_seconds", "histogram",
	    "Time from queueing a crypto job to its completion.");
	for (i = 0; i < WORKERS_LAT_BUCKETS; i++) {
		cum += ws->lat_count[i];
		if (i < WORKERS_LAT_BUCKETS - 1)
			mb_printf(b, "stpgate_worker_job_latency_seconds_bucket{le=\"%g\"} %llu\n",
			    workers_lat_bounds_us[i] / 1e6, (unsigned long long)cum);
		else
			mb_printf(b, "stpgate_worker_job_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	}
	mb_printf(b, "stpgate_worker_job_latency_seconds_sum %.9g\n", ws->lat_sum_us / 1e6);
	mb_printf(b, "stpgate_worker_job_latency_seconds_count %llu\n",
	    (unsigned long long)cum);
	family(b, "crypto_jobs_total", "counter",
	    "Crypto jobs (record seal/open, handshake steps) by where they ran.");
	mb_printf(b, "stpgate_crypto_jobs_total{where=\"loop\"} %llu\n",
	    (unsigned long long)stp_metrics.crypto_jobs_loop);
	mb_printf(b, "stpgate_crypto_jobs_total{where=\"pool\"} %llu\n",
	    (unsigned long long)ws->done);
	family(b, "loop_busy_ratio", "gauge",
	    "workers: auto: share of the last window the event loop was busy.");
	mb_printf(b, "stpgate_loop_busy_ratio %.3f\n", ws->loop_busy);
	family(b, "worker_offloading", "gauge",
	    "workers: auto: 1 while large records go to the pool (the loop is busy).");
	mb_printf(b, "stpgate_worker_offloading %d\n", ws->offloading);
}

static void
plugin_event(void *arg, const char *plugin, const char *event, uint64_t n)
{
	struct mbuf *b = arg;
	char p[128], e[128];

	label_escape(plugin, p, sizeof(p));
	label_escape(event, e, sizeof(e));
	mb_printf(b, "stpgate_plugin_events_total{plugin=\"%s\",event=\"%s\"} %llu\n",
	    p, e, (unsigned long long)n);
}

static void
render_plugins(struct mbuf *b)
{
	family(b, "plugin_events_total", "counter",
	    "Events counted by plugins (challenges, rejections, proxy errors, cover records).");
	plugin_events_foreach(plugin_event, b);
}

int
metrics_render(metrics_foreach_fn foreach, void *src, const workers_stats *ws,
    char **out, size_t *len)
{
	struct peers ps = { NULL, 0, 0, 0 };
	struct mbuf b = { NULL, 0, 0, 0 };
	int rc;

	if ((b.p = malloc(8192)) == NULL)
		return STP_ENOMEM;
	b.cap = 8192;
	if (foreach != NULL)
		foreach(src, collect, &ps);
	if ((rc = ps.err) != 0)
		goto out;
	render_sessions(&b, &ps);
	render_handshakes(&b);
	render_streams(&b, &ps);
	render_peers(&b, &ps);
	render_misc(&b, &ps);
	render_workers(&b, ws);
	render_plugins(&b);
	if ((rc = b.err) != 0)
		goto out;
	*out = b.p;
	*len = b.len;
	b.p = NULL;
out:
	free(b.p);
	free(ps.v);
	return rc;
}

/*
 * metrics.c: the process-wide counters (metrics.h) and the label values
 * that name each failure reason.  Prometheus rendering is not here yet.
 */
#include "metrics.h"

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
};

static const char *const stream_reason_names[M_ST_REASONS] = {
	[M_ST_NOT_ALLOWED] = "not_allowed",
	[M_ST_UNKNOWN_SERVICE] = "unknown_service",
	[M_ST_CONNECT_FAILED] = "connect_failed",
	[M_ST_LIMIT] = "limit",
	[M_ST_NO_SESSION] = "no_session",
	[M_ST_PEER_REFUSED] = "peer_refused",
};

static const char *const rec_reason_names[M_REC_REASONS] = {
	[M_REC_AUTH] = "auth",
	[M_REC_SIGNATURE] = "signature",
	[M_REC_PROTOCOL] = "protocol",
	[M_REC_TOO_BIG] = "too_big",
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

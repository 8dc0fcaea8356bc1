/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream_socks.c: a dynamic forward's app names its destination (stream.h):
 * its SOCKS5 greeting and request are read into a buffer of
 * SOCKS5SRV_BUF_MAX bytes and fed to socks5srv.c, which says what to
 * answer; the bytes the app sent after its request are kept as the
 * stream's first.  The stream then opens like any other, its StreamOpen
 * naming the host and port (proto/STP.md "Dynamic opens"); the peer's
 * accept becomes SOCKS reply 0 and its refusal the reply for its code.
 */
#include "stream_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

static void
on_socks_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	stream *st = h->data;
	struct socks_phase *x = st->sx;

	(void)suggested;
	buf->base = (char *)x->buf + x->len;
	buf->len = sizeof(x->buf) - x->len;
}

/* The request is complete: the destination is known; open the stream. */
static void
socks_named(stream *st, const char *host, uint16_t port)
{
	struct socks_phase *x = st->sx;

	uv_read_stop(st->h);
	snprintf(st->dest, sizeof(st->dest), "%s", host);
	st->dest_port = port;
	config_hostport_text(st->service, sizeof(st->service), host, port);
	st->socks_rep = SOCKS5SRV_REP_FAILURE;
	/* Bytes the app sent after its request are its stream's first. */
	if (x->len > 0) {
		if ((st->pending = malloc(x->len)) == NULL) {
			stream_abort(st, 0, 0, "out of memory");
			return;
		}
		memcpy(st->pending, x->buf, x->len);
		st->pending_len = x->len;
	}
	free(st->sx);
	st->sx = NULL;
	st->state = ST_WAIT_SESSION;
	if (session_up(st->s))
		stream_session_up(st);
	else
		session_kick(st->s);
}

static void
on_socks_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
	stream *st = h->data;
	struct socks_phase *x = st->sx;
	uint8_t out[SOCKS5SRV_REPLY_MAX + 2];
	size_t used, out_len;
	uv_buf_t b;
	int rc;

	(void)buf;
	if (st->state != ST_SOCKS || nread == 0)
		return;
	if (nread < 0) {
		stream_abort(st, 0, 0, "the app left before naming a destination");
		return;
	}
	x->len += (size_t)nread;
	for (;;) {
		used = out_len = 0;
		rc = socks5srv_feed(&x->m, x->buf, x->len, &used, out, &out_len);
		memmove(x->buf, x->buf + used, x->len - used);
		x->len -= used;
		if (rc == SOCKS5SRV_MORE)
			return;
		if (out_len > 0) {
			b = uv_buf_init((char *)out, (unsigned)out_len);
			if (uv_try_write(st->h, &b, 1) != (int)out_len)
				rc = SOCKS5SRV_EBAD;
		}
		if (rc == SOCKS5SRV_SEND)
			continue;
		if (rc == SOCKS5SRV_REQUEST) {
			socks_named(st, x->m.host, x->m.port);
			return;
		}
		stp_metrics.streams_refused[M_ST_SOCKS]++;
		log_limited(LOG_INFO, "socks refused", st_peer_name(st),
		    "dynamic forward: app connection closed: %s",
		    rc == SOCKS5SRV_ENOMETHOD ? "it offers no SOCKS5 method "
		    "without authentication" : rc == SOCKS5SRV_ECMD ? "it asked "
		    "for a command other than CONNECT" : rc == SOCKS5SRV_EATYP ?
		    "unknown address type" : rc == SOCKS5SRV_EPORT ? "port 0" :
		    "not a SOCKS5 request");
		stream_abort(st, 0, 0, "bad SOCKS request");
		return;
	}
}

/* The SOCKS reply for a peer's refusal (code, reason) of a dynamic open. */
int
st_socks_rep_for(uint32_t code, const char *why)
{
	switch (code) {
	case STP__V1__RESET_CODE__RESET_REFUSED:
	case STP__V1__RESET_CODE__RESET_UNKNOWN_SERVICE:
		return SOCKS5SRV_REP_NOTALLOWED;
	case STP__V1__RESET_CODE__RESET_CONNECT_FAILED:
		if (strstr(why, "resolve") != NULL || strstr(why, "timed out") != NULL)
			return SOCKS5SRV_REP_HOSTUNREACH;
		if (strstr(why, "unreachable") != NULL)
			return SOCKS5SRV_REP_NETUNREACH;
		return SOCKS5SRV_REP_REFUSED;
	case STP__V1__RESET_CODE__RESET_TIMEOUT:
		return SOCKS5SRV_REP_HOSTUNREACH;
	default:
		return SOCKS5SRV_REP_FAILURE;
	}
}

/* Answer a SOCKS app (10 bytes to a socket that holds nothing else: they
 * fit).  0, or the stream was aborted. */
int
st_socks_answer(stream *st, int rep)
{
	uint8_t out[SOCKS5SRV_REPLY_MAX];
	uv_buf_t b = uv_buf_init((char *)out,
	    (unsigned)socks5srv_reply((uint8_t)rep, NULL, out));

	st->socks_rep = -1;
	if (uv_try_write(st->h, &b, 1) != (int)b.len) {
		stream_abort(st, 1, STP__V1__RESET_CODE__RESET_ABORTED,
		    "the app's connection failed");
		return -1;
	}
	return 0;
}

int
st_socks_start(stream *st)
{
	if ((st->sx = calloc(1, sizeof(*st->sx))) == NULL ||
	    uv_read_start(st->h, on_socks_alloc, on_socks_read) != 0)
		return -1;
	socks5srv_init(&st->sx->m);
	return 0;
}

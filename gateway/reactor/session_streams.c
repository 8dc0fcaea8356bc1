/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session_streams.c: a session's streams (session.h): the table of
 * streams by id, their ids, the budget their windows share, the path's
 * round trip a window covers, sending their records, and gathering the
 * data the connection brings them so that each writes it at once.
 */
#include "session_int.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "stream.h"

/* ---- the stream table ---- */

static size_t
bucket(const session *s, uint32_t id)
{
	return (id * 2654435761u) & (s->n_buckets - 1);
}

stream *
sess_find_stream(session *s, uint32_t id)
{
	stream *st;

	if (s->n_buckets == 0)
		return NULL;
	for (st = s->buckets[bucket(s, id)]; st != NULL; st = *stream_hnext(st))
		if (stream_id(st) == id)
			return st;
	return NULL;
}

static int
grow_table(session *s)
{
	size_t nb = s->n_buckets ? s->n_buckets * 2 : 64, i;
	stream **b = calloc(nb, sizeof(*b)), *st, *next;
	size_t old = s->n_buckets;
	stream **ob = s->buckets;

	if (b == NULL)
		return STP_ENOMEM;
	s->buckets = b;
	s->n_buckets = nb;
	for (i = 0; i < old; i++) {
		for (st = ob[i]; st != NULL; st = next) {
			size_t k = bucket(s, stream_id(st));

			next = *stream_hnext(st);
			*stream_hnext(st) = b[k];
			b[k] = st;
		}
	}
	free(ob);
	return 0;
}

void
session_add_stream(session *s, stream *st)
{
	size_t k;
	struct waiter **pp;

	/* A waiter that got its id leaves the waiting list. */
	for (pp = &s->waiting; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->st == st) {
			struct waiter *w = *pp;

			*pp = w->next;
			free(w);
			break;
		}
	}
	if (s->n_streams >= s->n_buckets && grow_table(s) != 0 && s->n_buckets == 0)
		return;
	k = bucket(s, stream_id(st));
	*stream_hnext(st) = s->buckets[k];
	s->buckets[k] = st;
	s->n_streams++;
}

void
session_remove_stream(session *s, stream *st)
{
	stream **pp;
	struct waiter **wp;

	for (wp = &s->waiting; *wp != NULL; wp = &(*wp)->next) {
		if ((*wp)->st == st) {
			struct waiter *w = *wp;

			*wp = w->next;
			free(w);
			return;
		}
	}
	if (s->n_buckets == 0)
		return;
	for (pp = &s->buckets[bucket(s, stream_id(st))]; *pp != NULL;
	    pp = stream_hnext(*pp)) {
		if (*pp == st) {
			*pp = *stream_hnext(st);
			s->n_streams--;
			s->bytes_in += stream_bytes_in(st);
			s->bytes_out += stream_bytes_out(st);
			return;
		}
	}
}

uint32_t
session_next_id(session *s)
{
	uint32_t id = s->next_id;

	if (id == 0 || id > UINT32_MAX - 2)
		return 0;
	s->next_id += 2;
	return id;
}

void
session_window_release(session *s, uint64_t n)
{
	s->windows -= n < s->windows ? n : s->windows;
}

int
session_window_budget(session *s, uint32_t grow)
{
	uint64_t cap = gateway_config(s->gw)->limits.session_buffer;

	if (s->windows + grow > cap)
		return 0;
	s->windows += grow;
	return 1;
}

#define PATH_RTT_REFRESH_MS 100
#define PATH_RTT_GUESS_MS 100

uint32_t
session_path_rtt_ms(session *s)
{
	uint64_t now = gateway_now(s->gw);
	uint32_t us;

	if (s->path_rtt_ms == 0 || now - s->path_rtt_at >= PATH_RTT_REFRESH_MS) {
		us = s->c != NULL ? conn_rtt_us(s->c) : 0;
		if (us != 0)
			s->path_rtt_ms = (us + 999) / 1000;
		else if (s->rtt_ms != 0)
			s->path_rtt_ms = (uint32_t)(s->rtt_ms < 60000 ? s->rtt_ms : 60000);
		else if (s->path_rtt_ms == 0)
			s->path_rtt_ms = PATH_RTT_GUESS_MS;
		s->path_rtt_at = now;
	}
	return s->path_rtt_ms;
}

void
session_buffered(session *s, int64_t delta)
{
	s->buffered += delta;
}

/* ---- sending ---- */

int
session_send(session *s, Stp__V1__Record *r)
{
	int rc;

	if (!session_up(s))
		return s->held ? STP_EAGAIN : STP_ESTATE;
	rc = endpoint_send(conn_endpoint(s->c), r, gateway_now(s->gw));
	if (rc == 0)
		conn_flush(s->c);
	return rc;
}

int
session_send_data(session *s, uint32_t id, const uint8_t *data, size_t len)
{
	int rc;

	if (!session_up(s))
		return s->held ? STP_EAGAIN : STP_ESTATE;
	rc = endpoint_send_data(conn_endpoint(s->c), id, data, len,
	    gateway_now(s->gw));
	if (rc == 0)
		conn_flush(s->c);
	return rc;
}

uint8_t *
session_data_reserve(session *s, size_t max)
{
	if (!session_up(s) || conn_congested(s->c))
		return NULL;
	return endpoint_data_reserve(conn_endpoint(s->c), max);
}

int
session_data_commit(session *s, uint32_t id, size_t len)
{
	int rc;

	if (!session_up(s))
		return s->held ? STP_EAGAIN : STP_ESTATE;
	rc = endpoint_data_commit(conn_endpoint(s->c), id, len, gateway_now(s->gw));
	if (rc == 0)
		conn_flush(s->c);
	return rc;
}

void
session_data_cancel(session *s)
{
	if (s->c != NULL)
		endpoint_data_cancel(conn_endpoint(s->c));
}

int
session_congested(const session *s)
{
	return s->c == NULL || conn_congested(s->c);
}

int
session_quiet(const session *s)
{
	return s->c != NULL && conn_quiet(s->c);
}

#define HEAVY_RECENT_MS 100

void
session_read_kind(session *s, uint32_t stream_id, int heavy)
{
	uint64_t now = gateway_now(s->gw);

	if (heavy) {
		s->heavy_at = now;
		s->heavy_id = stream_id;
	} else if (s->c != NULL && s->heavy_at != 0 &&
	    now - s->heavy_at < HEAVY_RECENT_MS && stream_id != s->heavy_id) {
		conn_light(s->c);
	}
}

/* ---- gathering received data ---- */

int
session_gather(session *s, stream *st, const uint8_t *p, size_t len)
{
	if (s->c == NULL || s->ng == GATHER_MAX || conn_keep(s->c) != 0)
		return STP_EAGAIN;
	s->g[s->ng].st = st;
	s->g[s->ng].p = p;
	s->g[s->ng].len = len;
	s->ng++;
	return 0;
}

size_t
session_gathered(session *s, stream *st, uv_buf_t *iov, size_t max)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < s->ng && n < max; i++) {
		if (s->g[i].st != st)
			continue;
		iov[n++] = uv_buf_init((char *)s->g[i].p, (unsigned)s->g[i].len);
		s->g[i].st = NULL;
	}
	return n;
}

void
session_gather_drop(session *s, stream *st)
{
	unsigned i;

	for (i = 0; i < s->ng; i++)
		if (s->g[i].st == st)
			s->g[i].st = NULL;
}

void
sess_flush_gathered(session *s)
{
	unsigned i;

	for (i = 0; i < s->ng; i++)
		if (s->g[i].st != NULL)
			stream_flush(s->g[i].st); /* takes all of its pieces */
	s->ng = 0;
}

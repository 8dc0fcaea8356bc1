/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream_resume.c: a stream's part in a resumption (proto/STP.md,
 * "Resumption").
 *
 * While the session can resume, every byte a stream sends is kept until
 * the peer says it took it (WindowUpdate.received): a ring from offset
 * `acked` to bytes_out.  That is at most the window the peer granted, so
 * the peer's limits bound it.  When the connection breaks the session
 * holds the stream (no reading from the app; writes to it go on), and a
 * new session's exchange hands it the peer's StreamState: the stream
 * drops what the peer took, sends the rest again from `received`, then
 * its FIN if that was lost, and only then reads its app again.
 */
#include "stream_int.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "frame.h"
#include "handshake.h"
#include "log.h"
#include "metrics.h"

/*
 * Ring growth starts here, doubling up to what is unacknowledged: small,
 * since an idle stream keeps its last unacknowledged bytes (acknowledgements
 * come at half a window).  Starting at 16 KiB, 1,000 idle echo connections
 * cost both gateways 8 MiB more RSS than without resumption; at 256 bytes,
 * 0.7 MiB.
 */
#define RTX_MIN 256u

static int
rtx_grow(struct rtx *r, size_t need)
{
	size_t cap = r->cap != 0 ? r->cap : RTX_MIN, first;
	uint8_t *b;

	while (cap < need)
		cap *= 2;
	if ((b = malloc(cap)) == NULL)
		return -1;
	first = r->cap - r->head < r->len ? r->cap - r->head : r->len;
	if (r->len > 0) {
		memcpy(b, r->buf + r->head, first);
		memcpy(b + first, r->buf, r->len - first);
	}
	free(r->buf);
	r->buf = b;
	r->cap = cap;
	r->head = 0;
	return 0;
}

int
st_keep_sent(stream *st, const uint8_t *p, size_t n)
{
	struct rtx *r = &st->rtx;
	size_t tail, first;

	if (n == 0 || !session_resumable(st->s))
		return 0;
	if (r->len + n > r->cap && rtx_grow(r, r->len + n) != 0)
		return -1;
	tail = (r->head + r->len) % r->cap;
	first = r->cap - tail < n ? r->cap - tail : n;
	memcpy(r->buf + tail, p, first);
	memcpy(r->buf, p + first, n - first);
	r->len += n;
	return 1;
}

void
st_unkeep_sent(stream *st, size_t n)
{
	st->rtx.len -= n;
}

void
st_free_kept(stream *st)
{
	free(st->rtx.buf);
	memset(&st->rtx, 0, sizeof(st->rtx));
}

/* Drop what the peer took: everything before offset `to`. */
static void
rtx_drop_to(stream *st, uint64_t to)
{
	struct rtx *r = &st->rtx;
	uint64_t n;

	if (to <= st->acked)
		return;
	n = to - st->acked;
	if (n > r->len)
		n = r->len;
	st->acked += n;
	r->len -= (size_t)n;
	/*
	 * Emptied, the ring stays: freeing it here and growing it again for
	 * the next bytes cost page faults on every refill (half of loopback
	 * throughput).  It is at most the stream's window, and goes with it.
	 */
	r->head = r->len == 0 ? 0 : (r->head + (size_t)n) % r->cap;
}

void
st_acked(stream *st, uint64_t received, int fin)
{
	/* More than we sent is a peer's error; what we sent is the most it took. */
	if (received > st->bytes_out)
		received = st->bytes_out;
	rtx_drop_to(st, received);
	if (fin && st->eof_sent) {
		st->fin_acked = 1;
		st_maybe_done(st);
	}
}

void
stream_hold(stream *st)
{
	if (st->state == ST_DEAD)
		return;
	st->held = 1;
	st->resending = 0;
	st_stop_reading(st);
}

int
stream_held(const stream *st)
{
	return st->held;
}

void
stream_state(const stream *st, Stp__V1__StreamState *out)
{
	out->stream_id = st->id;
	out->received = st->bytes_in;
	out->limit = st->bytes_in + st->recv_avail;
	out->fin = st->fin_recv != 0;
	out->open = st->state == ST_OPEN;
}

uint64_t
stream_resync(stream *st, const Stp__V1__StreamState *peer)
{
	uint64_t again;

	if (st->state == ST_DEAD)
		return 0;
	st->held = 0;
	if (st->state == ST_OPENING) {
		if (!peer->open)
			return 0;  /* the peer is still connecting: its accept comes */
		/* The peer accepted; its StreamAccept was lost in the break. */
		st->send_credit = peer->limit;
		if (st->socks && st_socks_answer(st, SOCKS5SRV_REP_OK) != 0)
			return 0;
		st_become_open(st);
		return 0;
	}
	if (st->state != ST_OPEN)
		return 0;  /* ours still connecting: the accept goes when it can */
	if (peer->received > st->bytes_out || peer->limit < peer->received) {
		st_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
		    "resumption: the peer says it took %llu bytes of %llu sent, "
		    "limit %llu", (unsigned long long)peer->received,
		    (unsigned long long)st->bytes_out,
		    (unsigned long long)peer->limit);
		return 0;
	}
	if (st->acked + st->rtx.len != st->bytes_out) {
		/* Sent while nothing was kept: cannot happen on a resumable
		 * connection, and must not resend what was never kept. */
		st_fail(st, STP__V1__RESET_CODE__RESET_ABORTED,
		    "resumption: bytes %llu..%llu were not kept",
		    (unsigned long long)(st->acked + st->rtx.len),
		    (unsigned long long)st->bytes_out);
		return 0;
	}
	if (peer->received < st->acked) {
		st_fail(st, STP__V1__RESET_CODE__RESET_PROTOCOL,
		    "resumption: the peer lost bytes it had acknowledged "
		    "(%llu < %llu)", (unsigned long long)peer->received,
		    (unsigned long long)st->acked);
		return 0;
	}
	rtx_drop_to(st, peer->received);
	again = st->bytes_out - peer->received;
	st->resend = peer->received;
	st->resending = st->resend < st->bytes_out;
	/* The peer's credit, exactly: what it allows past what we sent. */
	st->send_credit = peer->limit > st->bytes_out ?
	    peer->limit - st->bytes_out : 0;
	if (peer->fin)
		st->fin_acked = st->eof_sent;
	else if (st->eof_sent || st->app_eof)
		st->fin_owed = 1;
	stream_resume(st);
	if (st->state != ST_DEAD)
		st_maybe_done(st);
	return again;
}

int
st_resend(stream *st)
{
	struct rtx *r = &st->rtx;
	size_t off, n;
	int rc;

	while (st->resending) {
		if (session_congested(st->s)) {
			st_pause(st);
			return 1;
		}
		/* The ring holds acked..bytes_out: resend sits inside it. */
		off = (r->head + (size_t)(st->resend - st->acked)) % r->cap;
		n = (size_t)(st->bytes_out - st->resend);
		if (n > r->cap - off)
			n = r->cap - off;
		if (n > STP_MAX_DATA)
			n = STP_MAX_DATA;
		rc = session_send_data(st->s, st->id, r->buf + off, n);
		if (rc == STP_EAGAIN) {
			st_pause(st);
			return 1;
		}
		if (rc != 0) {
			stream_abort(st, 0, 0, "session gone");
			return 1;
		}
		st->resend += n;
		if (st->resend >= st->bytes_out)
			st->resending = 0;
	}
	if (st->fin_owed) {
		if ((rc = st_send_fin(st)) == STP_EAGAIN) {
			st_pause(st);
			return 1;
		}
		if (rc != 0) {
			stream_abort(st, 0, 0, "session gone");
			return 1;
		}
		st->fin_owed = 0;
		st->eof_sent = 1;
		st_maybe_done(st);
	}
	return 0;
}

void
stream_unnamed(stream *st, const char *why)
{
	if (st->state == ST_DEAD)
		return;
	st->held = 0;
	if (st->local && st->state == ST_OPENING) {
		/* Our open never arrived: it goes again, under the same id. */
		if (st_send_open(st) != 0)
			stream_abort(st, 0, 0, "session refused the open");
		return;
	}
	/*
	 * The peer ends a stream only once it had our FIN (so every byte
	 * before it) and we acknowledged its own: with both FINs here, the
	 * stream was finished on both sides.
	 */
	if (st->state == ST_OPEN && st->eof_sent && st->fin_recv) {
		st_free_kept(st);
		st->acked = st->bytes_out;
		st->fin_acked = 1;
		st_maybe_done(st);
		return;
	}
	log_info(st_peer_name(st), NULL, "stream %u (%s) closed: %s", st->id,
	    st->service, why);
	stream_abort(st, 0, 0, why);
}

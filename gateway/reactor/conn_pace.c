/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn_pace.c: how much of a connection's output waits, and when bulk
 * streams hold back (conn_int.h, conn.h).
 *
 * How much waits: a record waits behind our output (sealed or being
 * sealed) and behind the bytes in the socket the kernel has not sent.
 * Both are held to about OUT_DELAY_MS of the rate the kernel takes our
 * bytes at (cn_pace(): the high-water mark at which streams stop reading,
 * and the socket's TCP_NOTSENT_LOWAT), between OUT_FLOOR and high_cap.
 * That keeps the connection busy while an interactive stream's record
 * waits milliseconds, not the seconds a full send buffer of bulk data
 * takes on a slow path.  10 ms, not 5: at 5, a loop held up by a busy CPU
 * let the pipe run dry (0.90 of direct TCP at 200 Mbit/s and 50 ms,
 * against 1.00 at 10).  On loopback the rate is gigabytes per second and
 * the ceiling applies.
 *
 * Shared: while a light stream (its reads do not fill their buffer: a
 * request, an answer, keystrokes) sends beside a stream that sends in
 * bulk (conn_light), a paced connection holds both to OUT_SHARED_MS
 * instead, for a second after the light stream's last read: its records
 * wait behind 3 ms of bulk, not 20.  Bulk alone, where a deep buffer pays
 * and nobody waits behind it, keeps 10 ms.
 */
#include "conn_int.h"

#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "gateway.h"
#include "metrics.h"

#define OUT_FLOOR (64 * 1024)
#define OUT_DELAY_MS 10
#define OUT_SHARED_MS 3
#define OUT_SHARED_FLOOR (16 * 1024)
#define SHARED_HOLD_MS 1000
#define RATE_PERIOD_MS 10

/*
 * Quiet: BBR (tcp_bbr.c) enters ProbeRTT at the first acknowledgement
 * after its min_rtt turned 10 s old (neither lowered nor refreshed by a
 * probe since), and then keeps 4 packets in flight for 200 ms and a round
 * trip.  Everything committed to the socket waits that long.  With one
 * connection for every stream, an interactive answer queued behind bulk
 * bytes waited the whole probe: in bench/fairness.sh, about 300 ms every
 * 10 s, the whole tail of the interactive latency under load.
 *
 * So on a paced connection whose congestion control is bbr we read its
 * min_rtt and gains (TCP_CC_INFO) each rate period, and while a light
 * stream sent beside bulk in the last 10 s (conn_light: someone would
 * wait; a lone bulk stream would only lose time), the connection is
 * quiet (conn_quiet) from two min_rtts before the probe is due until
 * PROBE_HOLD_MS and a min_rtt after it began: streams whose last read
 * filled its buffer (bulk) wait; the others' records go out with nothing
 * ahead of them, and the bulk already sent drains, so the probe finds
 * few packets in flight.  At the due time a Ping goes, so that an
 * acknowledgement starts the probe even when nothing else is sent.  When
 * the hold ends the bulk streams read again, which also lets the kernel
 * end its probe (it checks when sending resumes).  A fresh, lower min_rtt
 * (the drained queue may give one) postpones the probe by the kernel's
 * 10 s and ends the quiet; no probe two min_rtts after the due time, the
 * guess was wrong, and the quiet ends too.  Bulk gives up about two round
 * trips every 10 s, beside the probe itself.
 */
#define PROBE_WINDOW_MS 10000   /* tcp_bbr.c: bbr_min_rtt_win_sec */
#define PROBE_HOLD_MS 200       /* tcp_bbr.c: bbr_probe_rtt_mode_ms */
#define PROBE_GAIN 256          /* tcp_bbr.c: BBR_UNIT, cwnd_gain in ProbeRTT */
#define QUIET_TICK_MS 5

static void follow_probe(conn *c);

static void
quiet_tick(uv_timer_t *t)
{
	follow_probe(t->data);
}

static void
set_quiet(conn *c, int on)
{
	if (on == c->quiet)
		return;
	if (on && (c->closing || c->flushing || !c->confirmed))
		return;         /* c->timer is the handshake's or the linger's */
	c->quiet = on;
	if (on) {
		stp_metrics.probe_quiets++;
		c->probe_pinged = 0;
		uv_timer_start(&c->timer, quiet_tick, QUIET_TICK_MS, QUIET_TICK_MS);
		return;
	}
	if (c->closing || c->flushing)
		return;         /* the timer is the linger's now */
	uv_timer_stop(&c->timer);
	conn_want_turn(c);      /* the streams that waited read again */
}

/* Read BBR's state and follow its probe (see "Quiet"). */
static void
follow_probe(conn *c)
{
	struct tcp_bbr_info b;
	socklen_t len = sizeof(b);
	uv_os_fd_t fd;
	uint64_t now = gateway_now(c->gw), due, lead, rtt_ms;
	int probing, quiet;

	if (cn_fd(c, &fd) != 0 ||
	    getsockopt(fd, IPPROTO_TCP, TCP_CC_INFO, &b, &len) != 0 ||
	    len < sizeof(b) || b.bbr_min_rtt == 0) {
		set_quiet(c, 0);
		return;
	}
	probing = b.bbr_cwnd_gain == PROBE_GAIN;
	if (probing && !c->probing)
		c->probe_at = now;
	if (c->probing && !probing)
		c->min_rtt_at = now;    /* a probe ended: the window starts again */
	else if (!probing && (c->min_rtt_us == 0 || b.bbr_min_rtt < c->min_rtt_us))
		c->min_rtt_at = now;    /* a lower RTT: so does it */
	c->probing = probing;
	c->min_rtt_us = b.bbr_min_rtt;
	rtt_ms = b.bbr_min_rtt / 1000;
	lead = 2 * rtt_ms + QUIET_TICK_MS;
	due = c->min_rtt_at + PROBE_WINDOW_MS;
	if (!probing && now >= due + lead) {
		c->min_rtt_at = now;    /* no probe came: wait for the next */
		due = now + PROBE_WINDOW_MS;
	}
	if (probing)
		quiet = now < c->probe_at + PROBE_HOLD_MS + rtt_ms;
	else
		quiet = now + lead >= due;
	set_quiet(c, quiet && conn_paced(c) && c->light_at != 0 &&
	    now - c->light_at < PROBE_WINDOW_MS);
	if (c->quiet && !probing && now >= due && !c->probe_pinged &&
	    endpoint_ping(c->ep, now) == 0) {
		c->probe_pinged = 1;
		conn_flush(c);
	}
}

static int
cc_is_bbr(const conn *c)
{
	char name[16] = "";
	socklen_t len = sizeof(name) - 1;
	uv_os_fd_t fd;

	return cn_fd(c, &fd) == 0 &&
	    getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) == 0 &&
	    strcmp(name, "bbr") == 0;
}

static void
set_lowat(conn *c, size_t lowat)
{
	uv_os_fd_t fd;
	int v = (int)lowat;

	if (cn_fd(c, &fd) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v)) != 0)
		return;
	c->lowat = lowat;
}

/* The kernel took `done` more bytes: follow its rate (see the top). */
void
cn_pace(conn *c, size_t done)
{
	uint64_t now = gateway_now(c->gw), el, r, want;

	c->rate_bytes += done;
	el = now - c->rate_at;
	if (el < RATE_PERIOD_MS)
		return;
	r = c->rate_bytes * 1000 / el;
	/* Up at once; down by a quarter a period (a pause is not a slow path). */
	c->rate = r >= c->rate ? r : c->rate - (c->rate - r) / 4;
	c->rate_at = now;
	c->rate_bytes = 0;
	if (c->bbr && !c->quiet)
		follow_probe(c);
	want = c->rate * OUT_DELAY_MS / 1000;
	if (want < OUT_FLOOR)
		want = OUT_FLOOR;
	if (want < c->high_cap && c->light_at != 0 &&
	    now - c->light_at < SHARED_HOLD_MS) {
		want = c->rate * OUT_SHARED_MS / 1000;   /* paced and shared */
		if (want < OUT_SHARED_FLOOR)
			want = OUT_SHARED_FLOOR;
	}
	if (want > c->high_cap)
		want = c->high_cap;
	c->high = (size_t)want;
	/* The socket option only when it moves by a quarter or more. */
	if (want > c->lowat + c->lowat / 4 || want < c->lowat - c->lowat / 4)
		set_lowat(c, (size_t)want);
}

void
conn_light(conn *c)
{
	c->light_at = gateway_now(c->gw);
}

int
conn_quiet(const conn *c)
{
	return c->quiet;
}

int
conn_paced(const conn *c)
{
	return c->high < c->high_cap;
}

/* At the start: the floor, and whether the kernel's congestion control is bbr. */
void
cn_pace_init(conn *c)
{
	c->high = OUT_FLOOR;
	set_lowat(c, OUT_FLOOR);
	c->bbr = cc_is_bbr(c);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flood.c: a bounded handshake flood against one stpgate responder on
 * loopback, for tests/hardening/test_flood.py.  One mode per run:
 *
 *   idle     connect and send nothing (slowloris);
 *   drip     connect and send a valid HELLO one byte a second (slowloris);
 *   stall    send a whole valid HELLO (mac1 right, so the responder does its
 *            expensive work and answers), then never answer;
 *   unknown  complete handshakes with a key the responder does not know
 *            (the library's endpoint, as an initiator, over the socket): the
 *            responder does all its work and refuses at the end.  Our side
 *            of the handshake completes (the responder proved its key); the
 *            session is accepted only if a record from the responder
 *            follows (proto/STP.md, "Key confirmation"), which must not
 *            happen.
 *
 * Each connection's end is counted: closed by the responder (EOF or reset,
 * with how long it was held; held_long counts those it kept 1 s or more,
 * that is, admitted as handshakes rather than dropped at once), refused at
 * connect, or given up by us after --hold seconds; for stall and unknown
 * also whether the responder answered (any byte came back), and for unknown
 * whether our AUTH went out, whether a REJECT came, and (never expected)
 * whether a record came after it (the session was accepted).
 *
 * Bounded in every way: at most --conns connections at once (<= 4096),
 * --total in all (<= 1,000,000), started at --rate a second, none started
 * after --seconds (<= 600), none held past --hold (<= 600); the target and
 * the source addresses must be loopback (127.0.0.0/8).  Prints one line of
 * key=value pairs.  Exit status: 0 done, 1 a failure, 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "endpoint.h"
#include "err.h"
#include "identity.h"

#define FLOOD_MAX_CONNS 4096
#define FLOOD_MAX_TOTAL 1000000L
#define FLOOD_MAX_SECONDS 600
#define FLOOD_MAX_SOURCES 16
#define FLOOD_OUT_MAX 8192      /* bytes of our handshake output held */
#define FLOOD_READ 65536
#define FLOOD_LONG_MS 1000     /* held_long: the responder kept it this long */

enum mode { M_IDLE, M_DRIP, M_STALL, M_UNKNOWN };
enum cstate { C_FREE, C_CONNECTING, C_OPEN };
enum cend { END_EOF, END_RESET, END_GAVE_UP, END_CONNECT, END_ERROR };

struct fconn {
	enum cstate state;
	int fd;
	uint64_t t_start, t_open, t_drip;
	endpoint *ep;            /* unknown */
	uint8_t out[FLOOD_OUT_MAX];
	size_t out_len, out_off;
	size_t drip_off;         /* drip: HELLO bytes sent */
	size_t got;              /* bytes received */
	unsigned writes;         /* output batches taken (HELLO, then AUTH) */
	int rejected, hs_done, accepted;
};

struct opts {
	enum mode mode;
	struct sockaddr_in to;
	struct in_addr from[FLOOD_MAX_SOURCES];
	size_t n_from;
	uint8_t pk[SIGN_PUB_LEN];
	int have_pk;
	long conns, total, rate, seconds, hold;
};

static struct {
	long started, connected, connect_failed, closed_eof, closed_reset,
	    gave_up, errors, replied, auth_sent, rejected, hs_done, accepted,
	    held_long;
	uint64_t *holds;         /* ms, of connections the responder closed */
	size_t n_holds;
} st;

static sign_key *unknown_id;
static uint8_t hello[FLOOD_OUT_MAX];   /* drip: one valid HELLO */
static size_t hello_len;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: flood --to 127.0.0.1:PORT --mode idle|drip|stall|unknown\n"
	    "             [--key stp1:...] [--from 127.0.0.2[,...]] [--conns N]\n"
	    "             [--total N] [--rate N] [--seconds S] [--hold S]\n"
	    "  --key is the responder's public key (needed by drip, stall, unknown)\n");
}

static int
loopback(struct in_addr a)
{
	return (ntohl(a.s_addr) >> 24) == 127;
}

static int
parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return STP_EINVAL;
	*out = v;
	return 0;
}

static int
parse_to(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return STP_EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1 ||
	    parse_long(colon + 1, 1, 65535, &port) != 0)
		return STP_EINVAL;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

static int
parse_from(char *s, struct opts *o)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (o->n_from == FLOOD_MAX_SOURCES ||
		    inet_pton(AF_INET, tok, &o->from[o->n_from]) != 1 ||
		    !loopback(o->from[o->n_from]))
			return STP_EINVAL;
		o->n_from++;
	}
	return o->n_from > 0 ? 0 : STP_EINVAL;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	int i, have_to = 0, have_mode = 0;
	char err[128];

	memset(o, 0, sizeof(*o));
	o->conns = 64;
	o->total = 100;
	o->rate = 100;
	o->seconds = 10;
	o->hold = 30;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (v == NULL)
			return STP_EINVAL;
		i++;
		if (strcmp(a, "--to") == 0) {
			rc = parse_to(v, &o->to);
			have_to = rc == 0;
		} else if (strcmp(a, "--mode") == 0) {
			have_mode = 1;
			if (strcmp(v, "idle") == 0)
				o->mode = M_IDLE;
			else if (strcmp(v, "drip") == 0)
				o->mode = M_DRIP;
			else if (strcmp(v, "stall") == 0)
				o->mode = M_STALL;
			else if (strcmp(v, "unknown") == 0)
				o->mode = M_UNKNOWN;
			else
				rc = STP_EINVAL;
		} else if (strcmp(a, "--key") == 0) {
			rc = identity_pub_decode(v, o->pk, err, sizeof(err));
			if (rc != 0)
				fprintf(stderr, "flood: --key: %s\n", err);
			o->have_pk = rc == 0;
		} else if (strcmp(a, "--from") == 0) {
			char buf[1024];

			snprintf(buf, sizeof(buf), "%s", v);
			rc = parse_from(buf, o);
		} else if (strcmp(a, "--conns") == 0)
			rc = parse_long(v, 1, FLOOD_MAX_CONNS, &o->conns);
		else if (strcmp(a, "--total") == 0)
			rc = parse_long(v, 1, FLOOD_MAX_TOTAL, &o->total);
		else if (strcmp(a, "--rate") == 0)
			rc = parse_long(v, 1, 100000, &o->rate);
		else if (strcmp(a, "--seconds") == 0)
			rc = parse_long(v, 1, FLOOD_MAX_SECONDS, &o->seconds);
		else if (strcmp(a, "--hold") == 0)
			rc = parse_long(v, 1, FLOOD_MAX_SECONDS, &o->hold);
		else
			rc = STP_EINVAL;
		if (rc != 0) {
			fprintf(stderr, "flood: bad %s %s\n", a, v);
			return STP_EINVAL;
		}
	}
	if (!have_to || !have_mode)
		return STP_EINVAL;
	if (!loopback(o->to.sin_addr)) {
		fprintf(stderr, "flood: the target must be a loopback address\n");
		return STP_EINVAL;
	}
	if (o->mode != M_IDLE && !o->have_pk) {
		fprintf(stderr, "flood: this mode needs --key\n");
		return STP_EINVAL;
	}
	return 0;
}

/* An initiator endpoint for the responder's key, with our unknown identity. */
static endpoint *
new_initiator(const struct opts *o)
{
	endpoint_config c;
	endpoint *e;

	memset(&c, 0, sizeof(c));
	c.hs.initiator = 1;
	c.hs.identity = unknown_id;
	memcpy(c.hs.peer_pub, o->pk, SIGN_PUB_LEN);
	c.inline_crypto = 1;
	if ((e = endpoint_new(&c, now_ms())) == NULL)
		return NULL;
	if (endpoint_start(e, now_ms()) != 0) {
		endpoint_free(e);
		return NULL;
	}
	return e;
}

/* Move the endpoint's output into c->out (all of it, or fail). */
static int
take_output(struct fconn *c)
{
	struct iovec iov[16];
	size_t n, i, total = 0;

	n = endpoint_output(c->ep, iov, 16);
	if (n == 0)
		return 0;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	for (i = 0; i < n; i++) {
		if (iov[i].iov_len > sizeof(c->out) - c->out_len)
			return STP_ETOOBIG;
		memcpy(c->out + c->out_len, iov[i].iov_base, iov[i].iov_len);
		c->out_len += iov[i].iov_len;
		total += iov[i].iov_len;
	}
	endpoint_output_done(c->ep, total);
	c->writes++;
	return 0;
}

static void
record_end(struct fconn *c, enum cend how, uint64_t now)
{
	switch (how) {
	case END_EOF:
		st.closed_eof++;
		break;
	case END_RESET:
		st.closed_reset++;
		break;
	case END_GAVE_UP:
		st.gave_up++;
		break;
	case END_CONNECT:
		st.connect_failed++;
		break;
	case END_ERROR:
		st.errors++;
		break;
	}
	if ((how == END_EOF || how == END_RESET) && c->t_open != 0) {
		st.holds[st.n_holds++] = now - c->t_open;
		if (now - c->t_open >= FLOOD_LONG_MS)
			st.held_long++;
	}
	if (c->got > 0)
		st.replied++;
	if (c->writes > 1)
		st.auth_sent++;
	if (c->rejected)
		st.rejected++;
	if (c->hs_done)
		st.hs_done++;
	if (c->accepted)
		st.accepted++;
	if (c->ep != NULL)
		endpoint_free(c->ep);
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->state = C_FREE;
}

static int
start_conn(const struct opts *o, struct fconn *c, uint64_t now)
{
	struct sockaddr_in src;
	int fd, rc;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return STP_EIO;
	if (o->n_from > 0) {
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr = o->from[st.started % (long)o->n_from];
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
			close(fd);
			return STP_EIO;
		}
	}
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->t_start = now;
	st.started++;
	rc = connect(fd, (const struct sockaddr *)&o->to, sizeof(o->to));
	if (rc != 0 && errno != EINPROGRESS) {
		c->state = C_OPEN;
		record_end(c, END_CONNECT, now);
		return 0;
	}
	c->state = C_CONNECTING;
	return 0;
}

/* The connection is up: make what this mode sends. */
static int
on_open(const struct opts *o, struct fconn *c, uint64_t now)
{
	c->state = C_OPEN;
	c->t_open = now;
	st.connected++;
	switch (o->mode) {
	case M_IDLE:
		break;
	case M_DRIP:
		c->t_drip = now;
		break;
	case M_STALL:
	case M_UNKNOWN:
		if ((c->ep = new_initiator(o)) == NULL || take_output(c) != 0)
			return STP_ENOMEM;
		if (o->mode == M_STALL) {
			/* The HELLO is all we will ever send. */
			endpoint_free(c->ep);
			c->ep = NULL;
		}
		break;
	}
	return 0;
}

static void
flush_out(struct fconn *c, uint64_t now)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			record_end(c, errno == ECONNRESET || errno == EPIPE ?
			    END_RESET : END_ERROR, now);
			return;
		}
		c->out_off += (size_t)n;
	}
}

/* Bytes from the responder: discard, or (unknown) run the handshake. */
static void
on_readable(struct fconn *c, uint64_t now)
{
	static uint8_t buf[FLOOD_READ];
	ep_event ev;
	ep_stats stats;
	ssize_t n;
	size_t room;
	int rc;

	room = sizeof(buf);
	if (c->ep != NULL && (room = endpoint_input_room(c->ep)) > sizeof(buf))
		room = sizeof(buf);
	if (room == 0)
		room = 1;    /* finished endpoint: read only to see the end */
	n = recv(c->fd, buf, room, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		record_end(c, errno == ECONNRESET ? END_RESET : END_ERROR, now);
		return;
	}
	if (n == 0) {
		record_end(c, END_EOF, now);
		return;
	}
	c->got += (size_t)n;
	if (c->ep == NULL || endpoint_finished(c->ep))
		return;
	rc = endpoint_input(c->ep, buf, (size_t)n, now);
	if (rc == STP_EREJECTED)
		c->rejected = 1;
	while (endpoint_poll(c->ep, &ev) == 1)
		if (ev.type == EP_ESTABLISHED)
			c->hs_done = 1;
	endpoint_get_stats(c->ep, &stats);
	if (stats.records_recv > 0)
		c->accepted = 1;
	if (rc == 0 && take_output(c) != 0) {
		record_end(c, END_ERROR, now);
		return;
	}
	flush_out(c, now);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
report(const struct opts *o, uint64_t elapsed)
{
	static const char *names[] = { "idle", "drip", "stall", "unknown" };
	uint64_t mn = 0, md = 0, mx = 0;

	if (st.n_holds > 0) {
		qsort(st.holds, st.n_holds, sizeof(*st.holds), cmp_u64);
		mn = st.holds[0];
		md = st.holds[st.n_holds / 2];
		mx = st.holds[st.n_holds - 1];
	}
	printf("flood mode=%s started=%ld connected=%ld connect_failed=%ld "
	    "closed_eof=%ld closed_reset=%ld gave_up=%ld errors=%ld replied=%ld "
	    "auth_sent=%ld rejected=%ld hs_done=%ld accepted=%ld hold_ms_min=%llu "
	    "hold_ms_median=%llu hold_ms_max=%llu held_long=%ld seconds=%.1f\n",
	    names[o->mode], st.started, st.connected, st.connect_failed,
	    st.closed_eof, st.closed_reset, st.gave_up, st.errors, st.replied,
	    st.auth_sent, st.rejected, st.hs_done, st.accepted, (unsigned long long)mn,
	    (unsigned long long)md, (unsigned long long)mx, st.held_long,
	    (double)elapsed / 1000);
	fflush(stdout);
}

static int
run(const struct opts *o)
{
	struct fconn *cs;
	struct pollfd *pfd;
	size_t *idx;
	uint64_t t0 = now_ms(), now, stop_start, stop_all;
	long open = 0, i;
	int rc = 0;

	cs = calloc((size_t)o->conns, sizeof(*cs));
	pfd = calloc((size_t)o->conns, sizeof(*pfd));
	idx = calloc((size_t)o->conns, sizeof(*idx));
	st.holds = calloc((size_t)o->total, sizeof(*st.holds));
	if (cs == NULL || pfd == NULL || idx == NULL || st.holds == NULL) {
		rc = STP_ENOMEM;
		goto out;
	}
	for (i = 0; i < o->conns; i++)
		cs[i].fd = -1;
	stop_start = t0 + (uint64_t)o->seconds * 1000;
	stop_all = stop_start + (uint64_t)o->hold * 1000;
	for (;;) {
		size_t n = 0;
		long due;

		now = now_ms();
		/* Start what the rate allows, while below the caps. */
		due = (long)((now - t0) * (uint64_t)o->rate / 1000) + 1;
		for (i = 0; i < o->conns && now < stop_start && st.started < o->total &&
		    st.started < due; i++) {
			if (cs[i].state != C_FREE)
				continue;
			if ((rc = start_conn(o, &cs[i], now)) != 0)
				goto out;
		}
		open = 0;
		for (i = 0; i < o->conns; i++) {
			struct fconn *c = &cs[i];

			if (c->state == C_FREE)
				continue;
			if (now - c->t_start >= (uint64_t)o->hold * 1000 || now >= stop_all) {
				record_end(c, END_GAVE_UP, now);
				continue;
			}
			if (c->state == C_OPEN && o->mode == M_DRIP &&
			    c->drip_off < hello_len && now >= c->t_drip) {
				if (send(c->fd, hello + c->drip_off, 1, MSG_NOSIGNAL) == 1) {
					c->drip_off++;
					c->t_drip = now + 1000;
				}
			}
			open++;
			pfd[n].fd = c->fd;
			pfd[n].events = POLLIN;
			if (c->state == C_CONNECTING || c->out_off < c->out_len)
				pfd[n].events |= POLLOUT;
			pfd[n].revents = 0;
			idx[n++] = (size_t)i;
		}
		if (open == 0 && (now >= stop_start || st.started >= o->total))
			break;
		if (poll(pfd, n, 20) < 0 && errno != EINTR) {
			rc = STP_EIO;
			goto out;
		}
		now = now_ms();
		for (i = 0; i < (long)n; i++) {
			struct fconn *c = &cs[idx[i]];
			short re = pfd[i].revents;

			if (re == 0 || c->state == C_FREE)
				continue;
			if (c->state == C_CONNECTING) {
				int err = 0;
				socklen_t len = sizeof(err);

				if (!(re & (POLLOUT | POLLERR | POLLHUP)))
					continue;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err != 0) {
					record_end(c, END_CONNECT, now);
					continue;
				}
				if ((rc = on_open(o, c, now)) != 0)
					goto out;
			}
			if (c->state == C_OPEN && c->out_off < c->out_len)
				flush_out(c, now);
			if (c->state == C_OPEN && (re & (POLLIN | POLLERR | POLLHUP)))
				on_readable(c, now);
		}
	}
	report(o, now_ms() - t0);
out:
	if (cs != NULL)
		for (i = 0; i < o->conns; i++)
			if (cs[i].state != C_FREE)
				record_end(&cs[i], END_GAVE_UP, now_ms());
	free(cs);
	free(pfd);
	free(idx);
	free(st.holds);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct rlimit rl;
	endpoint *e = NULL;
	struct fconn tmp;
	int rc;

	if (parse_args(argc, argv, &o) != 0) {
		usage();
		return 2;
	}
	if (crypto_init() != 0 || identity_generate(&unknown_id) != 0) {
		fprintf(stderr, "flood: crypto setup failed\n");
		return 1;
	}
	/* Enough descriptors for --conns at once. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)o.conns + 64) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (o.mode == M_DRIP) {
		memset(&tmp, 0, sizeof(tmp));
		if ((e = new_initiator(&o)) == NULL) {
			fprintf(stderr, "flood: cannot make a HELLO\n");
			rc = STP_ENOMEM;
			goto out;
		}
		tmp.ep = e;
		if ((rc = take_output(&tmp)) != 0)
			goto out;
		memcpy(hello, tmp.out, tmp.out_len);
		hello_len = tmp.out_len;
	}
	rc = run(&o);
	if (rc != 0)
		fprintf(stderr, "flood: %s\n", stp_strerror(rc));
out:
	endpoint_free(e);
	sign_key_free(unknown_id);
	return rc == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_net.c: the network load tool of bench/run.sh, plain sockets on
 * 127.0.0.1 only.  One mode per run:
 *
 *   ports N          print N free TCP ports of 127.0.0.1 (bound, then
 *                    released), one per line;
 *   echo  -p PORT    an epoll echo server for the modes below: any number of
 *                    connections, each gets back every byte it sends, in
 *                    order (a connection whose echo cannot be written at once
 *                    keeps the rest and is not read again until it is out);
 *                    stops on SIGTERM/SIGINT or after --max-time;
 *   wait  -p PORT    until a 1-byte echo round trip through PORT succeeds
 *                    (a tunnel is up end to end), retrying every 50 ms;
 *   rr    -p PORT    small-request load: -c connections (1) opened one after
 *                    another, then driven together from one thread with epoll
 *                    (non-blocking, TCP_NODELAY).  Each keeps --depth
 *                    requests (1) of --size bytes (64) outstanding: it
 *                    writes a request whenever fewer are in flight, and a
 *                    request is done when its size in echoed bytes is back
 *                    (the echo keeps the order, so a byte count per
 *                    connection says which).  Every request is filled from
 *                    (connection, sequence number) and its echo is compared
 *                    byte for byte.  First --warmup transactions in total,
 *                    and at least one on every connection, untimed; then
 *                    -n transactions, or --duration seconds, timed; then the
 *                    requests still in flight are drained, checked and not
 *                    counted.  Latency is from the moment a request is
 *                    queued for writing to its last echoed byte; prints
 *                    microsecond percentiles and transactions per second;
 *   connect -p PORT  N new connections one after another: connect, send 1
 *                    byte, wait for its echo, close; the time of each is
 *                    from connect() to the echoed byte; prints percentiles;
 *   idle  -p PORT    opens N connections, at most --inflight (4) being set
 *                    up at once (tunnels with a short listen queue drop SYNs
 *                    beyond theirs, which costs a 1 s retransmit each), each
 *                    confirmed by a 1-byte echo, prints "ready N",
 *                    holds them until SIGTERM/SIGINT or --max-time, then
 *                    closes them.
 *
 * Every mode is bounded: counts are capped, every wait has a deadline
 * (--max-time, default 60 s; 3600 s for echo), and sockets have timeouts.
 * Results go to stdout as one line of key=value pairs; --samples FILE also
 * writes the timed samples (microseconds, sorted) one per line, for CDFs.
 * At most MAX_COUNT samples are kept (see struct tally); n, min, max and
 * mean always cover every timed transaction.
 * Exit status: 0 done, 1 a failure (message on stderr), 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_COUNT 1000000       /* rr / connect: samples kept, and -n */
#define MAX_IDLE 20000          /* idle connections */
#define MAX_SIZE 65536          /* rr message */
#define MAX_CONNS 1000          /* rr -c */
#define MAX_DEPTH 256           /* rr --depth */
#define MAX_PORTS 256
#define MAX_INFLIGHT 64         /* idle: connections being set up at once */
#define ECHO_BUF 65536
#define ECHO_EVENTS 256
#define ECHO_READS 16           /* echo: reads per connection per wake-up */
#define RR_OUT 65536            /* rr: unwritten request bytes per connection */
#define RR_BUF 65536            /* rr: one receive buffer for all connections */
#define RR_READS 8              /* rr: reads per connection per wake-up */

static volatile sig_atomic_t stop;

struct opts {
	const char *mode;
	const char *samples;    /* --samples FILE or NULL */
	unsigned port;
	long count;
	long warmup;
	long size;
	long inflight;
	long conns;             /* rr -c */
	long depth;             /* rr --depth */
	double duration;        /* rr --duration, seconds; 0: -n decides */
	double max_time;
};

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Milliseconds left before deadline (ns), at least 0, at most INT_MAX. */
static int
ms_left(uint64_t deadline)
{
	uint64_t t = now_ns();

	if (t >= deadline)
		return 0;
	t = (deadline - t) / 1000000u + 1;
	return t > INT_MAX ? INT_MAX : (int)t;
}

static void
loopback(struct sockaddr_in *sa, unsigned port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static int
set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl);
}

static void
set_timeouts(int fd, int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * A blocking TCP connection to 127.0.0.1:port made within ms milliseconds,
 * or -1.  The socket is left blocking with send/receive timeouts of ms.
 */
static int
dial(unsigned port, int ms)
{
	struct sockaddr_in sa;
	struct pollfd pfd;
	socklen_t len;
	int fd, one = 1, soerr = 0;

	loopback(&sa, port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (set_nonblock(fd, 1) < 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if ((soerr = poll(&pfd, 1, ms)) != 1) {
			if (soerr == 0)
				errno = ETIMEDOUT;
			goto fail;
		}
		soerr = 0;
		len = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 ||
		    soerr != 0) {
			errno = soerr ? soerr : errno;
			goto fail;
		}
	}
	if (set_nonblock(fd, 0) < 0)
		goto fail;
	set_timeouts(fd, ms);
	return fd;
fail:
	soerr = errno;
	close(fd);
	errno = soerr;
	return -1;
}

/* Write all of buf; 0 or -1. */
static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes; 0, or -1 on error, timeout or end of stream. */
static int
read_all(int fd, uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = recv(fd, buf, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One byte out and back on a connected socket; 0 or -1. */
static int
echo_byte(int fd)
{
	uint8_t b = 'x', r = 0;

	if (write_all(fd, &b, 1) < 0 || read_all(fd, &r, 1) < 0)
		return -1;
	if (r != b) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile p (0..100) of n sorted values. */
static uint64_t
pct(const uint64_t *v, size_t n, double p)
{
	size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

/* A 64-bit mixing function (a bijection): neighbouring inputs give
 * unrelated outputs.  Seeds rr's request bytes and its reservoir. */
static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185u;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44du;
	x ^= x >> 33;
	return x;
}

/*
 * Timed samples (ns).  Every sample counts in n, min, max and sum.  The
 * first MAX_COUNT are all kept; after that the kept set is a uniform
 * reservoir: the k-th sample takes the place of a random kept one with
 * probability MAX_COUNT / k, so at any moment every sample seen so far is
 * kept with the same probability.  Percentiles come from the kept samples:
 * exact up to MAX_COUNT, an unbiased estimate beyond.
 */
struct tally {
	uint64_t *v;
	size_t kept, cap;       /* cap grows by doubling up to MAX_COUNT */
	uint64_t n, min, max;
	double sum;
	uint64_t rng;           /* reservoir's random state; fixed start */
};

/* Room for hint samples to begin with (more as they come); 0 or -1. */
static int
tally_init(struct tally *t, size_t hint)
{
	memset(t, 0, sizeof(*t));
	t->cap = hint < 1024 ? 1024 : hint > MAX_COUNT ? MAX_COUNT : hint;
	t->min = UINT64_MAX;
	if ((t->v = malloc(t->cap * sizeof(*t->v))) == NULL)
		return -1;
	return 0;
}

static void
tally_free(struct tally *t)
{
	free(t->v);
	t->v = NULL;
}

/* Count one sample; 0, or -1 (ENOMEM) when the kept set cannot grow. */
static int
tally_add(struct tally *t, uint64_t x)
{
	uint64_t *nv, j;
	size_t ncap;

	t->n++;
	t->sum += (double)x;
	if (x < t->min)
		t->min = x;
	if (x > t->max)
		t->max = x;
	if (t->kept == t->cap && t->cap < MAX_COUNT) {
		ncap = t->cap * 2 > MAX_COUNT ? MAX_COUNT : t->cap * 2;
		if ((nv = realloc(t->v, ncap * sizeof(*nv))) == NULL)
			return -1;
		t->v = nv;
		t->cap = ncap;
	}
	if (t->kept < t->cap) {
		t->v[t->kept++] = x;
		return 0;
	}
	t->rng += 0x9e3779b97f4a7c15u;
	j = mix64(t->rng) % t->n;
	if (j < t->kept)
		t->v[j] = x;
	return 0;
}

/*
 * Sort the kept samples, print the summary line (tail, if not NULL, is
 * appended to it), write --samples.
 */
static int
report(const struct opts *o, struct tally *t, uint64_t wall_ns,
    const char *tail)
{
	uint64_t *v = t->v;
	size_t n = t->kept, i;
	FILE *f;

	qsort(v, n, sizeof(*v), cmp_u64);
	printf("mode=%s n=%llu p50=%.1f p90=%.1f p99=%.1f max=%.1f min=%.1f "
	    "mean=%.1f wall_s=%.3f%s\n", o->mode, (unsigned long long)t->n,
	    pct(v, n, 50) / 1e3, pct(v, n, 90) / 1e3, pct(v, n, 99) / 1e3,
	    t->max / 1e3, t->min / 1e3, t->sum / (double)t->n / 1e3,
	    wall_ns / 1e9, tail != NULL ? tail : "");
	if (o->samples == NULL)
		return 0;
	if ((f = fopen(o->samples, "w")) == NULL) {
		fprintf(stderr, "bench_net: %s: %s\n", o->samples,
		    strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%.2f\n", v[i] / 1e3);
	if (fclose(f) != 0) {
		fprintf(stderr, "bench_net: %s: write failed\n", o->samples);
		return 1;
	}
	return 0;
}

/* ---- modes ---- */

static int
mode_ports(long n)
{
	struct sockaddr_in sa;
	socklen_t len;
	int fds[MAX_PORTS];
	long i, got = 0;
	int rc = 1;

	for (i = 0; i < n; i++) {
		loopback(&sa, 0);
		if ((fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			goto out;
		got = i + 1;
		len = sizeof(sa);
		if (bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&sa, &len) < 0)
			goto out;
		printf("%u\n", ntohs(sa.sin_port));
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "bench_net: ports: %s\n", strerror(errno));
	for (i = 0; i < got; i++)
		close(fds[i]);
	return rc;
}

struct econn {
	int fd;
	uint8_t *pend;          /* bytes not yet written back, or NULL */
	size_t len, off;
};

static void
econn_close(int ep, struct econn *c)
{
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->pend);
	free(c);
}

/* Write back what is pending; 1 all out, 0 would block, -1 error. */
static int
econn_flush(struct econn *c)
{
	ssize_t n;

	while (c->off < c->len) {
		n = send(c->fd, c->pend + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->off += (size_t)n;
	}
	free(c->pend);
	c->pend = NULL;
	c->len = c->off = 0;
	return 1;
}

/*
 * Read and echo until the socket would block, at most ECHO_READS reads (the
 * epoll is level-triggered: what is left is served on the next turn, after
 * the other connections); -1 closes the connection.  An echo that cannot be
 * written whole is kept, and the connection is not read again until it is
 * out: bytes go back in the order they came, none dropped.
 */
static int
econn_serve(int ep, struct econn *c, uint8_t *buf)
{
	struct epoll_event ev;
	ssize_t n, w;
	int r, k;

	if (c->pend != NULL) {
		if ((r = econn_flush(c)) <= 0)
			return r;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			return -1;
	}
	for (k = 0; k < ECHO_READS; k++) {
		n = recv(c->fd, buf, ECHO_BUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		if (n == 0)
			return -1;
		w = send(c->fd, buf, (size_t)n, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (w < 0)
			w = 0;
		if (w < n) {
			/* Keep the rest, stop reading until it is out. */
			if ((c->pend = malloc((size_t)(n - w))) == NULL)
				return -1;
			memcpy(c->pend, buf + w, (size_t)(n - w));
			c->len = (size_t)(n - w);
			c->off = 0;
			ev.events = EPOLLOUT;
			ev.data.ptr = c;
			return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0 ?
			    -1 : 0;
		}
	}
	return 0;
}

static int
mode_echo(const struct opts *o)
{
	struct epoll_event evs[ECHO_EVENTS], ev;
	struct sockaddr_in sa;
	struct econn *c;
	uint8_t *buf = NULL;
	uint64_t deadline;
	int lfd = -1, ep = -1, one = 1, n, i, fd, rc = 1;

	deadline = now_ns() + (uint64_t)(o->max_time * 1e9);
	if ((buf = malloc(ECHO_BUF)) == NULL)
		goto out;
	loopback(&sa, o->port);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 4096) < 0)
		goto out;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto out;
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		goto out;
	printf("ready port=%u\n", o->port);
	fflush(stdout);
	while (!stop && ms_left(deadline) > 0) {
		n = epoll_wait(ep, evs, ECHO_EVENTS,
		    ms_left(deadline) < 200 ? ms_left(deadline) : 200);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr != NULL) {
				c = evs[i].data.ptr;
				if (econn_serve(ep, c, buf) < 0)
					econn_close(ep, c);
				continue;
			}
			while ((fd = accept(lfd, NULL, NULL)) >= 0) {
				if (set_nonblock(fd, 1) < 0) {
					close(fd);
					continue;
				}
				(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY,
				    &one, sizeof(one));
				if ((c = calloc(1, sizeof(*c))) == NULL) {
					close(fd);
					continue;
				}
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
					close(fd);
					free(c);
				}
			}
		}
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "bench_net: echo: %s\n", strerror(errno));
	/* Connections still open go with the process. */
	if (ep >= 0)
		close(ep);
	if (lfd >= 0)
		close(lfd);
	free(buf);
	return rc;
}

static int
mode_wait(const struct opts *o)
{
	uint64_t deadline = now_ns() + (uint64_t)(o->max_time * 1e9);
	struct timespec pause = { 0, 50 * 1000000L };
	int fd, left, err = 0;

	while (!stop && (left = ms_left(deadline)) > 0) {
		if ((fd = dial(o->port, left < 2000 ? left : 2000)) >= 0) {
			if (echo_byte(fd) == 0) {
				close(fd);
				printf("mode=wait up=1\n");
				return 0;
			}
			err = errno;
			close(fd);
		} else
			err = errno;
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "bench_net: wait: port %u not echoing after %.0f s "
	    "(%s)\n", o->port, o->max_time, strerror(err));
	return 1;
}

/* ---- rr: small requests over many connections, pipelined ---- */

/*
 * One rr connection.  Requests are numbered per connection from 0; request
 * k's bytes come from rr_fill(rr_seed(id, k)).  The echo returns bytes in
 * order, so the received byte count says which request is being echoed:
 * `done` requests are complete and `got` bytes of request `done` are in.
 */
struct rconn {
	int fd;
	unsigned id;            /* 0 .. conns-1 */
	int want_out;           /* EPOLLOUT armed: unwritten bytes wait */
	uint64_t issued;        /* requests queued for writing so far */
	uint64_t done;          /* requests whose whole echo came back */
	size_t got;             /* echoed bytes of request `done` so far */
	uint64_t wrote, read;   /* bytes written and echoed, in total */
	uint64_t *sent_at;      /* ring of depth: queue time of request k at
	                         * [k % depth], for the requests in flight */
	uint8_t *out;           /* queued, unwritten bytes: out[off..len) */
	size_t off, len, cap;
};

enum rr_phase { RR_WARM, RR_TIMED, RR_DRAIN, RR_DONE };

struct rr {
	const struct opts *o;
	int ep;
	size_t size;
	struct rconn *c;
	long n_conns;           /* connections open (set up so far) */
	uint8_t *rbuf, *want;   /* received bytes; the bytes expected */
	enum rr_phase phase;
	uint64_t warmed;        /* transactions completed while warming up */
	long fresh;             /* connections without a completed one yet */
	uint64_t inflight;      /* requests queued and not yet fully echoed */
	uint64_t t_start;       /* the timed phase: [t_start, t_stop) */
	uint64_t t_stop;        /* --duration: planned; -n: the N-th echo */
	struct tally t;
	char why[256];          /* what went wrong, for the message */
};

static int rr_fail(struct rr *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Keep the message for the end of the run; -1. */
static int
rr_fail(struct rr *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t
rr_seed(unsigned id, uint64_t seq)
{
	return mix64(((uint64_t)id << 40) ^ seq);
}

/* Bytes off .. off+len-1 of the request with this seed, into dst. */
static void
rr_fill(uint8_t *dst, uint64_t seed, size_t off, size_t len)
{
	uint64_t w = mix64(seed + (off >> 3));
	size_t i;

	for (i = off; i < off + len; i++) {
		if ((i & 7) == 0)
			w = mix64(seed + (i >> 3));
		*dst++ = (uint8_t)(w >> ((i & 7) * 8));
	}
}

/* A request's echo is complete at now: count it by phase. */
static int
rr_complete(struct rr *r, struct rconn *c, uint64_t now)
{
	const struct opts *o = r->o;
	uint64_t lat = now - c->sent_at[c->done % (uint64_t)o->depth];

	if (c->done++ == 0)
		r->fresh--;
	r->inflight--;
	switch (r->phase) {
	case RR_WARM:
		/* The transaction that ends the warm-up is not timed. */
		if (++r->warmed >= (uint64_t)o->warmup && r->fresh == 0) {
			r->phase = RR_TIMED;
			r->t_start = now;
			if (o->duration > 0)
				r->t_stop = now + (uint64_t)(o->duration * 1e9);
		}
		return 0;
	case RR_TIMED:
		if (o->duration > 0 && now >= r->t_stop) {
			r->phase = RR_DRAIN;
			return 0;
		}
		if (tally_add(&r->t, lat) < 0)
			return rr_fail(r, "out of memory for samples");
		if (o->duration == 0 && r->t.n == (uint64_t)o->count) {
			r->t_stop = now;
			r->phase = RR_DRAIN;
		}
		return 0;
	default:
		return 0;
	}
}

/* Check received bytes against what was sent, completing requests. */
static int
rr_take(struct rr *r, struct rconn *c, const uint8_t *p, size_t n,
    uint64_t now)
{
	size_t span, i;

	if (c->read + n > c->wrote)
		return rr_fail(r, "connection %u: %llu bytes echoed, only %llu "
		    "sent", c->id + 1, (unsigned long long)(c->read + n),
		    (unsigned long long)c->wrote);
	c->read += n;
	while (n > 0) {
		span = r->size - c->got < n ? r->size - c->got : n;
		rr_fill(r->want, rr_seed(c->id, c->done), c->got, span);
		if (memcmp(p, r->want, span) != 0) {
			for (i = 0; p[i] == r->want[i]; i++)
				;
			return rr_fail(r, "connection %u, request %llu, byte "
			    "%zu of %zu: echoed 0x%02x, sent 0x%02x: the echo "
			    "does not match the request", c->id + 1,
			    (unsigned long long)c->done + 1, c->got + i + 1,
			    r->size,
			    p[i], r->want[i]);
		}
		c->got += span;
		p += span;
		n -= span;
		if (c->got == r->size) {
			c->got = 0;
			if (rr_complete(r, c, now) < 0)
				return -1;
		}
	}
	return 0;
}

static int
rr_read(struct rr *r, struct rconn *c)
{
	ssize_t n;
	int k;

	for (k = 0; k < RR_READS; k++) {
		n = recv(c->fd, r->rbuf, RR_BUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return rr_fail(r, "connection %u: receive: %s",
			    c->id + 1, strerror(errno));
		if (n == 0)
			return rr_fail(r, "connection %u: closed by the other "
			    "end with %llu request(s) in flight", c->id + 1,
			    (unsigned long long)(c->issued - c->done));
		if (rr_take(r, c, r->rbuf, (size_t)n, now_ns()) < 0)
			return -1;
		if (n < RR_BUF)
			return 0;       /* most likely nothing more yet */
	}
	return 0;
}

/* Write what is queued; arm EPOLLOUT while some of it must wait. */
static int
rr_flush(struct rr *r, struct rconn *c)
{
	struct epoll_event ev;
	ssize_t n;
	int want;

	while (c->off < c->len) {
		n = send(c->fd, c->out + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return rr_fail(r, "connection %u: send: %s", c->id + 1,
			    strerror(errno));
		c->off += (size_t)n;
		c->wrote += (uint64_t)n;
	}
	if (c->off == c->len)
		c->off = c->len = 0;
	want = c->len > 0;
	if (want != c->want_out) {
		ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
		ev.data.ptr = c;
		if (epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			return rr_fail(r, "epoll: %s", strerror(errno));
		c->want_out = want;
	}
	return 0;
}

/* Queue requests while fewer than depth are in flight, then write. */
static int
rr_issue(struct rr *r, struct rconn *c, uint64_t now)
{
	uint64_t depth = (uint64_t)r->o->depth;

	while ((r->phase == RR_WARM || r->phase == RR_TIMED) &&
	    c->issued - c->done < depth) {
		if (c->len + r->size > c->cap) {
			if (c->off == 0)
				break;          /* full: the rest waits */
			memmove(c->out, c->out + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
			continue;
		}
		rr_fill(c->out + c->len, rr_seed(c->id, c->issued), 0, r->size);
		c->len += r->size;
		c->sent_at[c->issued % depth] = now;
		c->issued++;
		r->inflight++;
	}
	return rr_flush(r, c);
}

/* Open the connections, one after another; 0 or -1. */
static int
rr_open(struct rr *r, uint64_t deadline)
{
	const struct opts *o = r->o;
	struct epoll_event ev;
	struct rconn *c;
	size_t per;
	int ms;

	/* Unwritten bytes: up to depth requests, within RR_OUT (but one
	 * request always fits). */
	per = RR_OUT / r->size;
	if (per < 1)
		per = 1;
	if (per > (size_t)o->depth)
		per = (size_t)o->depth;
	while (r->n_conns < o->conns) {
		c = &r->c[r->n_conns];
		c->id = (unsigned)r->n_conns++;
		c->fd = -1;
		c->cap = per * r->size;
		if ((c->out = malloc(c->cap)) == NULL ||
		    (c->sent_at = calloc((size_t)o->depth,
		    sizeof(*c->sent_at))) == NULL)
			return rr_fail(r, "out of memory");
		if ((ms = ms_left(deadline)) == 0)
			return rr_fail(r, "--max-time reached while connecting "
			    "(%u of %ld connected)", c->id, o->conns);
		if ((c->fd = dial(o->port, ms < 10000 ? ms : 10000)) < 0)
			return rr_fail(r, "connection %u of %ld: connect: %s",
			    c->id + 1, o->conns, strerror(errno));
		if (set_nonblock(c->fd, 1) < 0)
			return rr_fail(r, "fcntl: %s", strerror(errno));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			return rr_fail(r, "epoll: %s", strerror(errno));
	}
	return 0;
}

/* Why --max-time ran out, with where the run was. */
static int
rr_late(struct rr *r)
{
	const struct opts *o = r->o;

	switch (r->phase) {
	case RR_WARM:
		return rr_fail(r, "--max-time (%g s) reached while warming up: "
		    "%llu of %ld untimed transactions, %ld of %ld connections "
		    "still without an echo", o->max_time,
		    (unsigned long long)r->warmed, o->warmup, r->fresh,
		    o->conns);
	case RR_TIMED:
		return rr_fail(r, "--max-time (%g s) reached after %llu timed "
		    "transactions", o->max_time, (unsigned long long)r->t.n);
	default:
		return rr_fail(r, "--max-time (%g s) reached while waiting for "
		    "the echo of %llu request(s) still in flight", o->max_time,
		    (unsigned long long)r->inflight);
	}
}

/* The event loop, until the last request in flight is drained. */
static int
rr_loop(struct rr *r, uint64_t deadline)
{
	struct epoll_event evs[ECHO_EVENTS];
	struct rconn *c;
	uint64_t now;
	long i;
	int n, ms;

	now = now_ns();
	for (i = 0; i < r->n_conns; i++)
		if (rr_issue(r, &r->c[i], now) < 0)
			return -1;
	while (r->phase != RR_DONE) {
		if (stop)
			return rr_fail(r, "interrupted");
		if ((ms = ms_left(deadline)) == 0)
			return rr_late(r);
		if (ms > 200)
			ms = 200;
		if (r->phase == RR_TIMED && r->o->duration > 0) {
			now = now_ns();
			/* wake up for the end of the timed phase */
			if (now < r->t_stop &&
			    (r->t_stop - now) / 1000000u + 1 < (uint64_t)ms)
				ms = (int)((r->t_stop - now) / 1000000u + 1);
		}
		n = epoll_wait(r->ep, evs, ECHO_EVENTS, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rr_fail(r, "epoll: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
			    rr_read(r, c) < 0)
				return -1;
			if (rr_issue(r, c, now_ns()) < 0)
				return -1;
		}
		if (r->phase == RR_TIMED && r->o->duration > 0 &&
		    now_ns() >= r->t_stop)
			r->phase = RR_DRAIN;
		if (r->phase == RR_DRAIN && r->inflight == 0)
			r->phase = RR_DONE;
	}
	return 0;
}

static int
mode_rr(const struct opts *o)
{
	struct rr r;
	uint64_t t0, deadline, timed_ns;
	char tail[160];
	long i;
	int rc = 1;

	t0 = now_ns();
	deadline = t0 + (uint64_t)(o->max_time * 1e9);
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.ep = -1;
	r.size = (size_t)o->size;
	r.fresh = o->conns;
	if (tally_init(&r.t, o->duration > 0 ? 65536 : (size_t)o->count) < 0 ||
	    (r.c = calloc((size_t)o->conns, sizeof(*r.c))) == NULL ||
	    (r.rbuf = malloc(RR_BUF)) == NULL ||
	    (r.want = malloc(RR_BUF > MAX_SIZE ? RR_BUF : MAX_SIZE)) == NULL) {
		rr_fail(&r, "out of memory");
		goto out;
	}
	if ((r.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		rr_fail(&r, "epoll: %s", strerror(errno));
		goto out;
	}
	if (rr_open(&r, deadline) < 0)
		goto out;
	if (o->warmup == 0) {
		/* Nothing untimed, not even each connection's first. */
		r.phase = RR_TIMED;
		r.t_start = now_ns();
		if (o->duration > 0)
			r.t_stop = r.t_start + (uint64_t)(o->duration * 1e9);
	}
	if (rr_loop(&r, deadline) < 0)
		goto out;
	if (r.t.n == 0) {
		rr_fail(&r, "no transaction completed in the timed phase");
		goto out;
	}
	timed_ns = r.t_stop > r.t_start ? r.t_stop - r.t_start : 1;
	snprintf(tail, sizeof(tail), " tps=%.1f timed_s=%.3f conns=%ld "
	    "depth=%ld size=%ld kept=%zu", (double)r.t.n / (timed_ns / 1e9),
	    timed_ns / 1e9, o->conns, o->depth, o->size, r.t.kept);
	rc = report(o, &r.t, now_ns() - t0, tail);
	r.why[0] = '\0';
out:
	if (rc != 0 && r.why[0] != '\0')
		fprintf(stderr, "bench_net: rr: %s\n", r.why);
	for (i = 0; i < r.n_conns; i++) {
		if (r.c[i].fd >= 0)
			close(r.c[i].fd);
		free(r.c[i].out);
		free(r.c[i].sent_at);
	}
	if (r.ep >= 0)
		close(r.ep);
	free(r.c);
	free(r.rbuf);
	free(r.want);
	tally_free(&r.t);
	return rc;
}

static int
mode_connect(const struct opts *o)
{
	struct tally tl;
	uint64_t t0, t, deadline;
	long i = -o->warmup;
	int fd, rc = 1, ms, done = 0;

	t0 = now_ns();
	deadline = t0 + (uint64_t)(o->max_time * 1e9);
	if (tally_init(&tl, (size_t)o->count) < 0)
		goto out;
	for (; i < o->count; i++) {
		if (stop || (ms = ms_left(deadline)) == 0) {
			errno = ETIMEDOUT;
			goto out;
		}
		t = now_ns();
		if ((fd = dial(o->port, ms < 10000 ? ms : 10000)) < 0)
			goto out;
		if (echo_byte(fd) < 0) {
			ms = errno;
			close(fd);
			errno = ms;
			goto out;
		}
		if (i >= 0 && tally_add(&tl, now_ns() - t) < 0) {
			close(fd);
			goto out;
		}
		close(fd);
	}
	done = 1;
	rc = report(o, &tl, now_ns() - t0, NULL);
out:
	if (!done)
		fprintf(stderr, "bench_net: connect: connection %ld "
		    "(counting %ld untimed): %s\n", i + o->warmup + 1,
		    o->warmup, strerror(errno));
	tally_free(&tl);
	return rc;
}

static int
mode_idle(const struct opts *o)
{
	struct pollfd pend[MAX_INFLIGHT];
	uint64_t t0, deadline;
	const char *what = "setup";
	int *fds = NULL, fd, ms, n = 0, i, j, rc = 1;
	long opened = 0, ready = 0, k;
	uint8_t b = 'x';

	t0 = now_ns();
	deadline = t0 + (uint64_t)(o->max_time * 1e9);
	if ((fds = malloc((size_t)o->count * sizeof(*fds))) == NULL)
		goto out;
	n = 0;
	/* Keep up to --inflight connections waiting for their echo. */
	while (ready < o->count) {
		if (stop) {
			what = "stopped";
			errno = EINTR;
			goto out;
		}
		if ((ms = ms_left(deadline)) == 0) {
			what = "--max-time";
			errno = ETIMEDOUT;
			goto out;
		}
		while (n < o->inflight && opened < o->count) {
			if ((fd = dial(o->port, ms < 10000 ? ms : 10000)) < 0) {
				what = "connect";
				goto out;
			}
			fds[opened++] = fd;
			if (write_all(fd, &b, 1) < 0) {
				what = "send";
				goto out;
			}
			pend[n].fd = fd;
			pend[n].events = POLLIN;
			pend[n].revents = 0;
			n++;
		}
		if ((i = poll(pend, (nfds_t)n, ms < 1000 ? ms : 1000)) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (pend[i].revents == 0)
				continue;
			if (read_all(pend[i].fd, &b, 1) < 0) {
				what = "echo";
				goto out;
			}
			ready++;
			for (j = i; j < n - 1; j++)
				pend[j] = pend[j + 1];
			n--;
			i--;
		}
	}
	printf("ready %ld setup_s=%.3f\n", ready, (now_ns() - t0) / 1e9);
	fflush(stdout);
	while (!stop && (ms = ms_left(deadline)) > 0)
		poll(NULL, 0, ms < 200 ? ms : 200);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "bench_net: idle: %ld of %ld ready, %ld opened, "
		    "%d waiting for their echo; %s: %s\n", ready, o->count,
		    opened, n, what, strerror(errno));
	for (k = 0; k < opened; k++)
		close(fds[k]);
	free(fds);
	return rc;
}

/* ---- command line ---- */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: bench_net ports N\n"
	    "       bench_net echo -p PORT [--max-time S]\n"
	    "       bench_net wait -p PORT [--max-time S]\n"
	    "       bench_net rr -p PORT [-c CONNS] [--depth D] [--size B]\n"
	    "                    [-n N | --duration S] [--warmup N] "
	    "[--samples FILE]\n"
	    "                    [--max-time S]\n"
	    "       bench_net connect -p PORT [-n N] [--warmup N] "
	    "[--samples FILE] [--max-time S]\n"
	    "       bench_net idle -p PORT -n N [--inflight N] [--max-time S]\n"
	    "\n"
	    "Load tool for bench/run.sh, 127.0.0.1 only.  Times are microseconds.\n"
	    "rr: CONNS connections (1..%d, default 1) driven together, each with\n"
	    "  D requests of B bytes in flight (D 1..%d, default 1; B 1..%d,\n"
	    "  default 64); every echo is checked byte for byte.  The first\n"
	    "  --warmup N transactions in total (default 100), and at least one\n"
	    "  on every connection, are untimed; then -n N transactions\n"
	    "  (default 1000) or --duration S seconds are timed.  Prints their\n"
	    "  percentiles and tps (transactions per second of the timed phase).\n"
	    "connect: N sequential new connections, connect() to the first\n"
	    "  echoed byte (--warmup default 10).\n"
	    "idle: hold N echo-confirmed connections until SIGTERM, at most\n"
	    "  --inflight (default 4) being set up at once.\n"
	    "echo: the echo server.  wait: until a 1-byte echo through PORT works.\n"
	    "--max-time bounds the whole run: default 60 s (3600 s for echo).\n"
	    "--samples FILE: the timed samples, sorted (at most %d, a uniform\n"
	    "  sample of them beyond).\n", MAX_CONNS, MAX_DEPTH, MAX_SIZE,
	    MAX_COUNT);
}

/* A whole number in [lo, hi], or -1. */
static long
num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct sigaction sa;
	char *end;
	long v;
	int i, is_rr, rr_only = 0, n_set = 0;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	memset(&o, 0, sizeof(o));
	o.mode = argv[1];
	o.count = 1000;
	o.size = 64;
	o.inflight = 4;
	o.conns = 1;
	o.depth = 1;
	o.warmup = strcmp(o.mode, "rr") == 0 ? 100 : 10;
	o.max_time = strcmp(o.mode, "echo") == 0 ? 3600 : 60;
	if (strcmp(o.mode, "ports") == 0) {
		if (argc != 3 || (v = num(argv[2], 1, MAX_PORTS)) < 0) {
			usage(stderr);
			return 2;
		}
		return mode_ports(v);
	}
	for (i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			goto bad;
		if (strcmp(argv[i], "-p") == 0) {
			if ((v = num(argv[++i], 1, 65535)) < 0)
				goto bad;
			o.port = (unsigned)v;
		} else if (strcmp(argv[i], "-n") == 0) {
			if ((v = num(argv[++i], 1, MAX_COUNT)) < 0)
				goto bad;
			o.count = v;
			n_set = 1;
		} else if (strcmp(argv[i], "-c") == 0) {
			if ((v = num(argv[++i], 1, MAX_CONNS)) < 0)
				goto bad;
			o.conns = v;
			rr_only = 1;
		} else if (strcmp(argv[i], "--depth") == 0) {
			if ((v = num(argv[++i], 1, MAX_DEPTH)) < 0)
				goto bad;
			o.depth = v;
			rr_only = 1;
		} else if (strcmp(argv[i], "--duration") == 0) {
			o.duration = strtod(argv[++i], &end);
			if (*end != '\0' || !(o.duration > 0) ||
			    o.duration > 86400)
				goto bad;
			rr_only = 1;
		} else if (strcmp(argv[i], "--size") == 0) {
			if ((v = num(argv[++i], 1, MAX_SIZE)) < 0)
				goto bad;
			o.size = v;
		} else if (strcmp(argv[i], "--warmup") == 0) {
			if ((v = num(argv[++i], 0, MAX_COUNT)) < 0)
				goto bad;
			o.warmup = v;
		} else if (strcmp(argv[i], "--inflight") == 0) {
			if ((v = num(argv[++i], 1, MAX_INFLIGHT)) < 0)
				goto bad;
			o.inflight = v;
		} else if (strcmp(argv[i], "--samples") == 0) {
			o.samples = argv[++i];
		} else if (strcmp(argv[i], "--max-time") == 0) {
			o.max_time = strtod(argv[++i], &end);
			if (*end != '\0' || !(o.max_time > 0) ||
			    o.max_time > 86400)
				goto bad;
		} else
			goto bad;
	}
	if (o.port == 0)
		goto bad;
	is_rr = strcmp(o.mode, "rr") == 0;
	if ((rr_only && !is_rr) || (n_set && o.duration > 0))
		goto bad;
	if (strcmp(o.mode, "idle") == 0 && o.count > MAX_IDLE)
		goto bad;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(o.mode, "echo") == 0)
		return mode_echo(&o);
	if (strcmp(o.mode, "wait") == 0)
		return mode_wait(&o);
	if (strcmp(o.mode, "rr") == 0)
		return mode_rr(&o);
	if (strcmp(o.mode, "connect") == 0)
		return mode_connect(&o);
	if (strcmp(o.mode, "idle") == 0)
		return mode_idle(&o);
bad:
	usage(stderr);
	return 2;
}

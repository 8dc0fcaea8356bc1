/*
 * bench_net.c: the network load tool of bench/run.sh, plain sockets on
 * 127.0.0.1 only.  One mode per run:
 *
 *   ports N          print N free TCP ports of 127.0.0.1 (bound, then
 *                    released), one per line;
 *   echo  -p PORT    an epoll echo server for the modes below: any number of
 *                    connections, each gets back every byte it sends; stops
 *                    on SIGTERM/SIGINT or after --max-time;
 *   wait  -p PORT    until a 1-byte echo round trip through PORT succeeds
 *                    (a tunnel is up end to end), retrying every 50 ms;
 *   rr    -p PORT    N request/response round trips of --size bytes (64) on
 *                    one open connection (TCP_NODELAY), after --warmup
 *                    untimed ones; prints microsecond percentiles;
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
 * writes every timed sample (microseconds, sorted) one per line, for CDFs.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_COUNT 1000000       /* rr / connect samples */
#define MAX_IDLE 20000          /* idle connections */
#define MAX_SIZE 65536          /* rr message */
#define MAX_PORTS 256
#define MAX_INFLIGHT 64         /* idle: connections being set up at once */
#define ECHO_BUF 65536
#define ECHO_EVENTS 256

static volatile sig_atomic_t stop;

struct opts {
	const char *mode;
	const char *samples;    /* --samples FILE or NULL */
	unsigned port;
	long count;
	long warmup;
	long size;
	long inflight;
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

/* Sort the samples (ns), print the summary line, write --samples. */
static int
report(const struct opts *o, uint64_t *v, size_t n, uint64_t wall_ns)
{
	FILE *f;
	double sum = 0;
	size_t i;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (i = 0; i < n; i++)
		sum += (double)v[i];
	printf("mode=%s n=%zu p50=%.1f p90=%.1f p99=%.1f max=%.1f min=%.1f "
	    "mean=%.1f wall_s=%.3f\n", o->mode, n,
	    pct(v, n, 50) / 1e3, pct(v, n, 90) / 1e3, pct(v, n, 99) / 1e3,
	    v[n - 1] / 1e3, v[0] / 1e3, sum / (double)n / 1e3, wall_ns / 1e9);
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

/* Read and echo until the socket would block; -1 closes the connection. */
static int
econn_serve(int ep, struct econn *c, uint8_t *buf)
{
	struct epoll_event ev;
	ssize_t n, w;
	int r;

	if (c->pend != NULL) {
		if ((r = econn_flush(c)) <= 0)
			return r;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			return -1;
	}
	for (;;) {
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

static int
mode_rr(const struct opts *o)
{
	uint64_t *v = NULL, t0, t, deadline;
	uint8_t *out = NULL, *in = NULL;
	size_t sz = (size_t)o->size;
	long i;
	int fd = -1, rc = 1, ms, done = 0;

	t0 = now_ns();
	deadline = t0 + (uint64_t)(o->max_time * 1e9);
	ms = ms_left(deadline) < 10000 ? ms_left(deadline) : 10000;
	if ((v = calloc((size_t)o->count, sizeof(*v))) == NULL ||
	    (out = malloc(sz)) == NULL || (in = malloc(sz)) == NULL)
		goto out;
	for (i = 0; i < (long)sz; i++)
		out[i] = (uint8_t)('a' + i % 26);
	if ((fd = dial(o->port, ms)) < 0)
		goto out;
	for (i = -o->warmup; i < o->count; i++) {
		if (stop || ms_left(deadline) == 0) {
			errno = ETIMEDOUT;
			goto out;
		}
		t = now_ns();
		if (write_all(fd, out, sz) < 0 || read_all(fd, in, sz) < 0)
			goto out;
		if (i >= 0)
			v[i] = now_ns() - t;
	}
	if (memcmp(in, out, sz) != 0) {
		errno = EPROTO;
		goto out;
	}
	done = 1;
	rc = report(o, v, (size_t)o->count, now_ns() - t0);
out:
	if (!done)
		fprintf(stderr, "bench_net: rr: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
	free(v);
	free(out);
	free(in);
	return rc;
}

static int
mode_connect(const struct opts *o)
{
	uint64_t *v = NULL, t0, t, deadline;
	long i = -o->warmup;
	int fd, rc = 1, ms, done = 0;

	t0 = now_ns();
	deadline = t0 + (uint64_t)(o->max_time * 1e9);
	if ((v = calloc((size_t)o->count, sizeof(*v))) == NULL)
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
		if (i >= 0)
			v[i] = now_ns() - t;
		close(fd);
	}
	done = 1;
	rc = report(o, v, (size_t)o->count, now_ns() - t0);
out:
	if (!done)
		fprintf(stderr, "bench_net: connect: connection %ld "
		    "(counting %ld untimed): %s\n", i + o->warmup + 1,
		    o->warmup, strerror(errno));
	free(v);
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
	    "       bench_net rr -p PORT [-n N] [--size B] [--warmup N] "
	    "[--samples FILE] [--max-time S]\n"
	    "       bench_net connect -p PORT [-n N] [--warmup N] "
	    "[--samples FILE] [--max-time S]\n"
	    "       bench_net idle -p PORT -n N [--inflight N] [--max-time S]\n"
	    "\n"
	    "Load tool for bench/run.sh, 127.0.0.1 only.  rr: N round trips of B\n"
	    "bytes (default 64) on one connection; connect: N sequential new\n"
	    "connections, connect() to the first echoed byte; idle: hold N echo-\n"
	    "confirmed connections until SIGTERM; echo: the echo server; wait:\n"
	    "until a 1-byte echo through PORT works.  Times are microseconds.\n"
	    "Defaults: -n 1000, --warmup 100 (rr) or 10 (connect), --inflight 4,\n"
	    "--max-time 60\n"
	    "(3600 for echo).\n");
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
	int i;

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

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_pow_flood.c: what HELLOs without a proof of work cost a responder
 * with the pow plugin on (plugins/pow.c), and pow's refusals over the wire.
 * One mode per run:
 *
 *   inproc [-n N] [-d BITS] [-s SOLVES]
 *        in this process, through the real handshake code: a responder hs
 *        whose admit hook is the pow plugin (as conn.c wires it) is fed N
 *        HELLOs (8 real ones made by initiator hs, reused) without a
 *        solution; prints the CPU time per message on one hs, on a fresh
 *        hs per message (as per connection), for admit() alone, for a HELLO
 *        failing mac1 and for one carrying a wrong solution; then SOLVES
 *        answers at BITS (the solve time an honest initiator pays).
 *   flood -p PORT -k KEY [-n N] [-c CONNS] [--per M] [--bind ADDR]
 *        N HELLOs without a solution to 127.0.0.1:PORT (a gateway whose
 *        public key is KEY), M per connection, CONNS connections at once,
 *        each waiting for its CHALLENGE before the next HELLO; prints what
 *        came back.  The caller reads the gateway's CPU from /proc.
 *   wire -p PORT -k KEY [--ttl-ms MS] [--bind2 ADDR]
 *        real initiators over TCP: a correct solution gets a REPLY; the same
 *        answer again (replayed), a wrong solution, and a challenge answered
 *        from ADDR (default 127.0.0.3) get a REJECT; an answer held past the
 *        challenge's ttl (MS, the gateway's challenge_ttl) gets a fresh
 *        CHALLENGE instead of a REPLY.  Exit 1 if any of that differs.
 *
 * Every mode is bounded in count and time (--max-time, default 120 s;
 * sockets time out after 10 s); targets are 127.0.0.0/8 only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypto/crypto.h"
#include "crypto/rand.h"
#include "envelope.h"
#include "keysched.h"
#include "crypto/sign.h"
#include "err.h"
#include "frame.h"
#include "handshake.h"
#include "identity.h"
#include "plugin.h"

#define HELLOS 8
#define FRAME_BUF (FRAME_HDR_LEN + FRAME_MAX_BODY)
#define CONNS_MAX 512
#define ANS_LEN 55

static struct {
	const char *mode;
	long n, conns, per, solves, port, ttl_ms, max_time;
	int difficulty;
	const char *key, *bind, *bind2;
} opt = {
	.n = 20000, .conns = 32, .per = 50, .solves = 10, .ttl_ms = 1000,
	.max_time = 120, .difficulty = 18, .bind = "127.0.0.2",
	.bind2 = "127.0.0.3",
};

static double
clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static double
wall_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_pow_flood: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- HELLOs ---- */

struct hello {
	uint8_t b[FRAME_HDR_LEN + FRAME_MAX_HELLO];
	size_t len;
};

/* A HELLO to the responder with key pub, as an initiator makes it. */
static int
make_hello(const uint8_t pub[32], const sign_key *me, struct hello *out)
{
	const uint8_t *p;
	hs_config c;
	size_t len;
	hs *h;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.initiator = 1;
	c.identity = me;
	memcpy(c.peer_pub, pub, 32);
	if ((h = hs_new(&c)) == NULL)
		return -1;
	if (hs_start(h) == HS_WORK && hs_work(h) == 0 &&
	    (p = hs_output(h, &len)) != NULL && len <= sizeof(out->b)) {
		memcpy(out->b, p, len);
		out->len = len;
		rc = 0;
	}
	hs_free(h);
	return rc;
}

static void
make_hellos(const uint8_t pub[32], struct hello *h, size_t n)
{
	sign_key *me;
	size_t i;

	if (sign_key_generate(&me) != 0)
		die("%s", "no key");
	for (i = 0; i < n; i++)
		if (make_hello(pub, me, &h[i]) != 0)
			die("%s", "cannot make a HELLO");
	sign_key_free(me);
}

/*
 * A copy of h with a new nonce and its mac1 recomputed: what an attacker who
 * knows the responder's key sends, since the same HELLO twice gets silence
 * (proto/STP.md, "Freshness").  Costs an HMAC, not a key pair.
 */
static void
fresh_hello(const struct hello *h, const uint8_t mac1_key[32], struct hello *out)
{
	const uint8_t *nonce;
	size_t nlen, blen = h->len - FRAME_HDR_LEN - KS_MAC1_LEN;

	*out = *h;
	if (env_find_bytes(out->b + FRAME_HDR_LEN, blen, 5, &nonce, &nlen) != 1 ||
	    rand_bytes((uint8_t *)nonce, nlen) != 0 ||
	    ks_mac1(out->b + out->len - KS_MAC1_LEN, mac1_key, out->b,
	    out->len - KS_MAC1_LEN) != 0)
		die("%s", "cannot refresh a HELLO");
}

/* ---- in process ---- */

static plugins *ps;
static struct sockaddr_in src;

static int
r_admit(void *cookie, const uint8_t *adm, size_t adm_len, uint8_t *chal,
    size_t *chal_len)
{
	(void)cookie;
	return plugins_admit(ps, (struct sockaddr *)&src, adm, adm_len, chal,
	    chal_len);
}

/* Answers with 55 bytes that are not a solution. */
static int
junk_answer(void *cookie, const uint8_t *chal, size_t chal_len, uint8_t *ans,
    size_t *ans_len)
{
	(void)cookie;
	if (*ans_len < ANS_LEN || chal_len + 8 != ANS_LEN)
		return -1;
	memcpy(ans, chal, chal_len);
	memset(ans + chal_len, 0xa5, 8);
	*ans_len = ANS_LEN;
	return 0;
}

/* A HELLO carrying a wrong solution to a real challenge of ps. */
static int
make_wrong_hello(const uint8_t pub[32], hs_config *cr, struct hello *out)
{
	const uint8_t *p;
	sign_key *me;
	hs_config c;
	size_t len;
	hs *i = NULL, *r = NULL;
	int rc = -1;

	if (sign_key_generate(&me) != 0)
		return -1;
	memset(&c, 0, sizeof(c));
	c.initiator = 1;
	c.identity = me;
	c.answer = junk_answer;
	memcpy(c.peer_pub, pub, 32);
	if ((i = hs_new(&c)) == NULL || (r = hs_new(cr)) == NULL)
		goto out;
	if (hs_start(i) != HS_WORK || hs_work(i) != 0 ||
	    (p = hs_output(i, &len)) == NULL ||
	    hs_input(r, p, len) != HS_OUT)
		goto out;
	hs_output_clear(i);
	if ((p = hs_output(r, &len)) == NULL || p[0] != FRAME_CHALLENGE ||
	    hs_input(i, p, len) != HS_WORK || hs_work(i) != 0 ||
	    (p = hs_output(i, &len)) == NULL || len > sizeof(out->b))
		goto out;
	memcpy(out->b, p, len);
	out->len = len;
	rc = 0;
out:
	hs_free(i);
	hs_free(r);
	sign_key_free(me);
	return rc;
}

static char tmpdir[64];
static char cfgpath[128], idpath[128];

static config *
inproc_config(void)
{
	char err[512];
	sign_key *k;
	config *c = NULL;
	FILE *f;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/stp-bench-pow-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		die("%s", "mkdtemp failed");
	snprintf(cfgpath, sizeof(cfgpath), "%s/c.yaml", tmpdir);
	snprintf(idpath, sizeof(idpath), "%s/id.key", tmpdir);
	if (identity_generate(&k) != 0 ||
	    identity_save(idpath, k, 0, err, sizeof(err)) != 0)
		die("%s", "cannot make an identity");
	sign_key_free(k);
	if ((f = fopen(cfgpath, "w")) == NULL)
		die("%s", "cannot write the config");
	fprintf(f, "identity: %s\nplugins:\n  pow: {difficulty: %d}\n", idpath,
	    opt.difficulty);
	fclose(f);
	if (config_load(cfgpath, &c, err, sizeof(err)) != 0)
		die("config: %s", err);
	unlink(cfgpath);
	unlink(idpath);
	rmdir(tmpdir);
	return c;
}

static void
report(const char *what, double cpu, long n, const char *note)
{
	printf("  %-22s %8.2f us/message  (%ld messages, %.3f s CPU)%s%s\n",
	    what, cpu / (double)n * 1e6, n, cpu, note[0] ? "  " : "", note);
}

static int
mode_inproc(void)
{
	static struct hello hello[HELLOS], badmac[HELLOS], wrong;
	uint8_t pub[32], chal[STP_ADMISSION_MAX], ans[STP_ADMISSION_MAX];
	double t0, cpu, first = 0, sum = 0, mn = 1e9, mx = 0, w0;
	hs_config cr;
	char why[256];
	config *c;
	size_t len, cl, al;
	long i, bad = 0;
	hs *r;

	c = inproc_config();
	if (plugins_open(c, &ps, why, sizeof(why)) != 0)
		die("plugins: %s", why);
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000002);
	sign_key_public(c->identity, pub);
	make_hellos(pub, hello, HELLOS);
	for (i = 0; i < HELLOS; i++) {
		badmac[i] = hello[i];
		badmac[i].b[badmac[i].len - 1] ^= 1;
	}
	memset(&cr, 0, sizeof(cr));
	cr.identity = c->identity;
	cr.admit = r_admit;
	if (make_wrong_hello(pub, &cr, &wrong) != 0)
		die("%s", "cannot make a HELLO with a wrong solution");
	printf("in process: %ld HELLOs of %zu bytes without a solution, pow difficulty %d\n",
	    opt.n, hello[0].len, opt.difficulty);

	/* One responder hs: every HELLO answered with a CHALLENGE. */
	if ((r = hs_new(&cr)) == NULL)
		die("%s", "hs_new");
	t0 = cpu_s();
	for (i = 0; i < opt.n; i++) {
		if (hs_input(r, hello[i % HELLOS].b, hello[i % HELLOS].len) != HS_OUT ||
		    hs_output(r, &len) == NULL)
			bad++;
		hs_output_clear(r);
	}
	cpu = cpu_s() - t0;
	hs_free(r);
	report("HELLO -> CHALLENGE", cpu, opt.n, "one responder hs (a connection sending many)");
	first = cpu / (double)opt.n;

	/* A fresh hs per HELLO, as a connection each. */
	t0 = cpu_s();
	for (i = 0; i < opt.n; i++) {
		if ((r = hs_new(&cr)) == NULL)
			die("%s", "hs_new");
		if (hs_input(r, hello[i % HELLOS].b, hello[i % HELLOS].len) != HS_OUT)
			bad++;
		hs_free(r);
	}
	cpu = cpu_s() - t0;
	report("HELLO -> CHALLENGE", cpu, opt.n, "a new responder hs each (hs_new + hs_free)");

	t0 = cpu_s();
	for (i = 0; i < opt.n; i++) {
		if ((r = hs_new(&cr)) == NULL)
			die("%s", "hs_new");
		if (hs_input(r, badmac[i % HELLOS].b, badmac[i % HELLOS].len) != STP_EMAC1)
			bad++;
		hs_free(r);
	}
	cpu = cpu_s() - t0;
	report("bad mac1 (no pow)", cpu, opt.n, "a new responder hs each: the core's share");

	t0 = cpu_s();
	for (i = 0; i < opt.n; i++) {
		if ((r = hs_new(&cr)) == NULL)
			die("%s", "hs_new");
		if (hs_input(r, wrong.b, wrong.len) != HS_OUT || !hs_failed(r))
			bad++;
		hs_free(r);
	}
	cpu = cpu_s() - t0;
	report("wrong solution -> REJECT", cpu, opt.n, "a new responder hs each");

	/* The plugin alone. */
	t0 = cpu_s();
	for (i = 0; i < opt.n; i++) {
		cl = sizeof(chal);
		if (plugins_admit(ps, (struct sockaddr *)&src, NULL, 0, chal,
		    &cl) != HS_ADMIT_CHALLENGE)
			bad++;
	}
	cpu = cpu_s() - t0;
	report("pow admit() alone", cpu, opt.n, "challenge: MAC + nonce");
	if (bad != 0) {
		fprintf(stderr, "bench_pow_flood: %ld messages got an unexpected verdict\n", bad);
		return 1;
	}
	printf("  target: < 5 us CPU per rejected message: %s (%.2f us on one hs)\n",
	    first * 1e6 < 5 ? "met" : "MISSED", first * 1e6);

	/* What an honest initiator pays. */
	for (i = 0; i < opt.solves; i++) {
		cl = sizeof(chal);
		al = sizeof(ans);
		if (plugins_admit(ps, (struct sockaddr *)&src, NULL, 0, chal,
		    &cl) != HS_ADMIT_CHALLENGE)
			die("%s", "no challenge");
		w0 = wall_s();
		if (plugins_answer(NULL, chal, cl, ans, &al) != 0)
			die("%s", "no answer");
		w0 = wall_s() - w0;
		sum += w0;
		mn = w0 < mn ? w0 : mn;
		mx = w0 > mx ? w0 : mx;
		cl = sizeof(chal);
		if (plugins_admit(ps, (struct sockaddr *)&src, ans, al, chal,
		    &cl) != HS_ADMIT)
			die("%s", "a solution was not admitted");
	}
	if (opt.solves > 0)
		printf("  solving %d bits: mean %.0f ms, min %.0f ms, max %.0f ms over %ld solves (one core, wall time)\n",
		    opt.difficulty, sum / (double)opt.solves * 1e3, mn * 1e3,
		    mx * 1e3, opt.solves);
	plugins_unref(ps);
	config_free(c);
	return 0;
}

/* ---- sockets ---- */

static int
dial(const char *bind_addr, int nonblock)
{
	struct sockaddr_in a, b;
	struct timeval tv = { 10, 0 };
	int fd, one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)opt.port);
	a.sin_addr.s_addr = htonl(0x7f000001);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (bind_addr != NULL) {
		memset(&b, 0, sizeof(b));
		b.sin_family = AF_INET;
		if (inet_pton(AF_INET, bind_addr, &b.sin_addr) != 1 ||
		    (ntohl(b.sin_addr.s_addr) >> 24) != 127 ||
		    bind(fd, (struct sockaddr *)&b, sizeof(b)) != 0) {
			close(fd);
			return -1;
		}
	}
	if (nonblock)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 &&
	    !(nonblock && errno == EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = send(fd, p, n, MSG_NOSIGNAL)) <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
recv_all(int fd, uint8_t *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = recv(fd, p, n, 0)) <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One whole frame into buf; its length, or -1 (closed, timeout). */
static long
read_frame(int fd, uint8_t *buf)
{
	uint8_t type;
	size_t body;

	if (recv_all(fd, buf, FRAME_HDR_LEN) != 0 ||
	    frame_get_header(buf, &type, &body) != 0 || body > FRAME_MAX_BODY ||
	    recv_all(fd, buf + FRAME_HDR_LEN, body) != 0)
		return -1;
	return (long)(FRAME_HDR_LEN + body);
}

static void
parse_key(uint8_t pub[32])
{
	char err[256];

	if (opt.key == NULL || identity_pub_decode(opt.key, pub, err,
	    sizeof(err)) != 0)
		die("-k: %s", opt.key ? err : "the gateway's public key is needed");
}

/* ---- flood ---- */

/* Close with a RST: thousands of short connections leave no TIME_WAIT behind. */
static void
abort_fd(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

struct fconn {
	int fd;
	int connected;
	long sent, got;          /* HELLOs sent / frames back on this one */
	size_t off;              /* of the HELLO being written */
	struct hello cur;        /* the HELLO being written */
	uint8_t in[FRAME_HDR_LEN + FRAME_MAX_CHALLENGE];
	size_t have, need;
	int waiting;             /* a HELLO is out, its answer not yet in */
};

static int
mode_flood(void)
{
	static struct hello hello[HELLOS];
	static struct fconn fc[CONNS_MAX];
	struct pollfd pfd[CONNS_MAX];
	uint8_t pub[32], mac1_key[32];
	long sent = 0, chal = 0, rej = 0, other = 0, closed = 0, opened = 0;
	long failed = 0, i, live;
	double t0 = wall_s(), deadline = t0 + (double)opt.max_time;

	parse_key(pub);
	if (opt.conns < 1 || opt.conns > CONNS_MAX || opt.per < 1)
		die("%s", "-c must be 1..512 and --per at least 1");
	make_hellos(pub, hello, HELLOS);
	if (ks_mac1_key(mac1_key, pub, NULL) != 0)
		die("%s", "mac1 key");
	for (i = 0; i < opt.conns; i++)
		fc[i].fd = -1;
	for (;;) {
		live = 0;
		for (i = 0; i < opt.conns; i++) {
			struct fconn *f = &fc[i];

			if (f->fd < 0 && sent < opt.n && failed < 1000) {
				memset(f, 0, sizeof(*f));
				if ((f->fd = dial(opt.bind, 1)) < 0) {
					failed++;
					continue;
				}
				opened++;
			}
			if (f->fd >= 0 && f->connected && !f->waiting &&
			    sent >= opt.n) {
				abort_fd(f->fd);
				f->fd = -1;
			}
			if (f->fd < 0)
				continue;
			pfd[live].fd = f->fd;
			pfd[live].events = !f->connected || (!f->waiting &&
			    sent < opt.n) ? POLLOUT : POLLIN;
			pfd[live].revents = 0;
			live++;
		}
		if (live == 0 || wall_s() > deadline)
			break;
		if (poll(pfd, (nfds_t)live, 1000) < 0 && errno != EINTR)
			break;
		for (i = 0, live = 0; i < opt.conns; i++) {
			struct fconn *f = &fc[i];
			const struct hello *h;
			short re;
			ssize_t k;

			if (f->fd < 0)
				continue;
			re = pfd[live++].revents;
			if (re == 0)
				continue;
			if (re & (POLLERR | POLLHUP | POLLNVAL) && !(re & POLLIN))
				goto drop;
			if (!f->connected) {
				int e = 0;
				socklen_t el = sizeof(e);

				getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &e, &el);
				if (e != 0)
					goto drop;
				f->connected = 1;
			}
			if ((re & POLLOUT) && !f->waiting && sent < opt.n) {
				if (f->off == 0)
					fresh_hello(&hello[(f->sent + i) % HELLOS],
					    mac1_key, &f->cur);
				h = &f->cur;
				k = send(f->fd, h->b + f->off, h->len - f->off,
				    MSG_NOSIGNAL);
				if (k < 0 && errno != EAGAIN)
					goto drop;
				if (k > 0 && (f->off += (size_t)k) == h->len) {
					f->off = 0;
					f->sent++;
					sent++;
					f->waiting = 1;
					f->have = 0;
					f->need = FRAME_HDR_LEN;
				}
			}
			if ((re & POLLIN) && f->waiting) {
				k = recv(f->fd, f->in + f->have, f->need - f->have, 0);
				if (k == 0 || (k < 0 && errno != EAGAIN))
					goto drop;
				if (k > 0 && (f->have += (size_t)k) == f->need) {
					uint8_t type;
					size_t body;

					if (f->need == FRAME_HDR_LEN) {
						if (frame_get_header(f->in, &type, &body) != 0 ||
						    body > FRAME_MAX_CHALLENGE)
							goto drop;
						f->need += body;
					}
					if (f->have == f->need) {
						if (f->in[0] == FRAME_CHALLENGE)
							chal++;
						else if (f->in[0] == FRAME_REJECT)
							rej++;
						else
							other++;
						f->got++;
						f->waiting = 0;
						if (f->in[0] != FRAME_CHALLENGE ||
						    f->sent >= opt.per) {
							abort_fd(f->fd);
							f->fd = -1;
						}
					}
				}
			}
			continue;
drop:
			closed++;
			abort_fd(f->fd);
			f->fd = -1;
		}
	}
	for (i = 0; i < opt.conns; i++)
		if (fc[i].fd >= 0)
			abort_fd(fc[i].fd);
	printf("flood: sent=%ld challenged=%ld rejected=%ld other=%ld "
	    "connections=%ld dropped=%ld dial_failures=%ld seconds=%.2f\n",
	    sent, chal, rej, other, opened, closed, failed, wall_s() - t0);
	return sent > 0 ? 0 : 1;
}

/* ---- wire ---- */

enum { A_SOLVE, A_REPLAY, A_WRONG, A_SLOW, A_STEAL };

struct actx {
	int mode;
	int calls;
	uint8_t saved[STP_ADMISSION_MAX];
	size_t saved_len;
};

static unsigned
zero_bits(const uint8_t *ans, size_t len)
{
	struct iovec iov[2] = { { (void *)"stpgate pow v1", 14 },
	    { (void *)ans, len } };
	uint8_t h[32];
	unsigned n = 0, i, b;

	if (stp_sha256(h, iov, 2) != 0)
		return 0;
	for (i = 0; i < 32; i++)
		for (b = 0x80; b != 0; b >>= 1) {
			if (h[i] & b)
				return n;
			n++;
		}
	return n;
}

static int
w_answer(void *cookie, const uint8_t *chal, size_t chal_len, uint8_t *ans,
    size_t *ans_len)
{
	struct actx *a = cookie;
	struct timespec ts;
	size_t cap = *ans_len;
	int rc;

	if (a->mode == A_REPLAY) {
		if (a->saved_len > cap)
			return -1;
		memcpy(ans, a->saved, a->saved_len);
		*ans_len = a->saved_len;
		return 0;
	}
	if ((rc = plugins_answer(NULL, chal, chal_len, ans, ans_len)) != 0)
		return rc;
	a->calls++;
	memcpy(a->saved, ans, *ans_len);
	a->saved_len = *ans_len;
	if (a->mode == A_WRONG) {
		do
			ans[*ans_len - 1]++;
		while (zero_bits(ans, *ans_len) >= chal[2]);
	} else if (a->mode == A_SLOW && a->calls == 1) {
		ts.tv_sec = (opt.ttl_ms + 500) / 1000;
		ts.tv_nsec = ((opt.ttl_ms + 500) % 1000) * 1000000;
		nanosleep(&ts, NULL);
	} else if (a->mode == A_STEAL)
		return -1;       /* keep the solution, give up here */
	return 0;
}

/*
 * One initiator over TCP from bind_addr: HELLO, then frames until a REPLY,
 * a REJECT or an error.  Returns the type of the frame that ended it (0 for
 * an error), with the number of CHALLENGEs on the way in *chals.
 */
static int
attempt(const uint8_t pub[32], const sign_key *me, const char *bind_addr,
    struct actx *a, int *chals)
{
	static uint8_t buf[FRAME_BUF];
	const uint8_t *p;
	hs_config c;
	size_t len;
	long n;
	int fd, rc, end = 0;
	hs *h;

	*chals = 0;
	memset(&c, 0, sizeof(c));
	c.initiator = 1;
	c.identity = me;
	memcpy(c.peer_pub, pub, 32);
	c.answer = w_answer;
	c.cookie = a;
	if ((h = hs_new(&c)) == NULL)
		return 0;
	if ((fd = dial(bind_addr, 0)) < 0) {
		hs_free(h);
		return 0;
	}
	rc = hs_start(h) == HS_WORK ? hs_work(h) : -1;
	while (rc >= 0) {
		if ((p = hs_output(h, &len)) != NULL && len > 0) {
			if (send_all(fd, p, len) != 0)
				break;
			hs_output_clear(h);
		}
		if ((n = read_frame(fd, buf)) < 0)
			break;
		if (buf[0] != FRAME_CHALLENGE) {
			end = buf[0];
			break;
		}
		(*chals)++;
		rc = hs_input(h, buf, (size_t)n);
		if (rc == HS_WORK)
			rc = hs_work(h);
	}
	close(fd);
	hs_free(h);
	return end;
}

static int
mode_wire(void)
{
	struct actx a, b;
	uint8_t pub[32];
	sign_key *me;
	int end, ch, fails = 0;

	parse_key(pub);
	if (sign_key_generate(&me) != 0)
		die("%s", "no key");
	memset(&a, 0, sizeof(a));
	a.mode = A_SOLVE;
	end = attempt(pub, me, NULL, &a, &ch);
	printf("wire: correct solution: %s after %d challenge(s)\n",
	    end == FRAME_REPLY ? "admitted (REPLY)" : "NOT ADMITTED", ch);
	fails += end != FRAME_REPLY;

	a.mode = A_REPLAY;
	end = attempt(pub, me, NULL, &a, &ch);
	printf("wire: the same answer again (replayed): %s\n",
	    end == FRAME_REJECT ? "refused (REJECT)" : "NOT REFUSED");
	fails += end != FRAME_REJECT;

	memset(&b, 0, sizeof(b));
	b.mode = A_WRONG;
	end = attempt(pub, me, NULL, &b, &ch);
	printf("wire: wrong solution: %s\n",
	    end == FRAME_REJECT ? "refused (REJECT)" : "NOT REFUSED");
	fails += end != FRAME_REJECT;

	memset(&b, 0, sizeof(b));
	b.mode = A_STEAL;
	(void)attempt(pub, me, NULL, &b, &ch);
	b.mode = A_REPLAY;
	end = b.saved_len > 0 ? attempt(pub, me, opt.bind2, &b, &ch) : 0;
	printf("wire: solved for 127.0.0.1, sent from %s: %s\n", opt.bind2,
	    end == FRAME_REJECT ? "refused (REJECT)" : "NOT REFUSED");
	fails += end != FRAME_REJECT;

	memset(&b, 0, sizeof(b));
	b.mode = A_SLOW;
	end = attempt(pub, me, NULL, &b, &ch);
	printf("wire: solution sent %ld ms after the challenge (stale): %s\n",
	    opt.ttl_ms + 500, ch >= 2 && end == FRAME_REPLY ?
	    "refused with a fresh CHALLENGE; its solution admitted" :
	    "NOT AS EXPECTED");
	fails += !(ch >= 2 && end == FRAME_REPLY);
	sign_key_free(me);
	return fails == 0 ? 0 : 1;
}

/* ---- options ---- */

static long
num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		die("bad value for %s", what);
	return v;
}

int
main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_pow_flood inproc|flood|wire [options]\n");
		return 2;
	}
	opt.mode = argv[1];
	for (i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			die("%s needs a value", o);
		i++;
		if (strcmp(o, "-n") == 0)
			opt.n = num(v, 1, 10000000, o);
		else if (strcmp(o, "-d") == 0)
			opt.difficulty = (int)num(v, 0, 32, o);
		else if (strcmp(o, "-s") == 0)
			opt.solves = num(v, 0, 1000, o);
		else if (strcmp(o, "-c") == 0)
			opt.conns = num(v, 1, CONNS_MAX, o);
		else if (strcmp(o, "--per") == 0)
			opt.per = num(v, 1, 1000000, o);
		else if (strcmp(o, "-p") == 0)
			opt.port = num(v, 1, 65535, o);
		else if (strcmp(o, "-k") == 0)
			opt.key = v;
		else if (strcmp(o, "--bind") == 0)
			opt.bind = v;
		else if (strcmp(o, "--bind2") == 0)
			opt.bind2 = v;
		else if (strcmp(o, "--ttl-ms") == 0)
			opt.ttl_ms = num(v, 1, 600000, o);
		else if (strcmp(o, "--max-time") == 0)
			opt.max_time = num(v, 1, 3600, o);
		else
			die("unknown option %s", o);
	}
	if (crypto_init() != 0)
		die("%s", "crypto_init failed");
	if (strcmp(opt.mode, "inproc") == 0)
		return mode_inproc();
	if (strcmp(opt.mode, "flood") == 0)
		return mode_flood();
	if (strcmp(opt.mode, "wire") == 0)
		return mode_wire();
	fprintf(stderr, "usage: bench_pow_flood inproc|flood|wire [options]\n");
	return 2;
}

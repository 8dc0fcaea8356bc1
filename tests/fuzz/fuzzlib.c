/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzzlib.c: the helpers every harness in tests/fuzz shares (see fuzz.h):
 * the seeded RNG, the two fixed identities, frame cutting, mac1 repair, the
 * real handshake prefix and the scratch directory.
 *
 * Everything cached here is computed once per process and never changed by
 * an input, so no state leaks from one run of a harness to the next.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/rand.h"
#include "err.h"
#include "frame.h"
#include "keysched.h"
#include "stp.pb-c.h"

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, what);
	abort();
}

int
fuzz_verbose(void)
{
	static int v = -1;

	if (v < 0)
		v = getenv("STP_FUZZ_VERBOSE") != NULL;
	return v;
}

void
fuzz_rng(const char *tag)
{
	rand_test_seed(tag, strlen(tag));
}

static sign_key *ids[2];

const sign_key *
fuzz_id(int which)
{
	uint8_t seed[SIGN_SEED_LEN];

	which = which != 0;
	if (ids[which] == NULL) {
		/* Fixed seeds: the identities never depend on the RNG's state. */
		memset(seed, which ? 0x52 : 0x49, sizeof(seed));
		if (sign_key_from_seed(&ids[which], seed) != 0)
			fuzz_fail(__FILE__, __LINE__, "sign_key_from_seed");
	}
	return ids[which];
}

void
fuzz_pub(int which, uint8_t pub[32])
{
	sign_key_public(fuzz_id(which), pub);
}

int
fuzz_next_frame(const uint8_t *in, size_t len, size_t *off, const uint8_t **f,
    size_t *flen)
{
	size_t avail, blen;

	if (*off >= len)
		return 1;
	avail = len - *off;
	*f = in + *off;
	if (avail < FRAME_HDR_LEN) {
		*flen = avail;
	} else {
		blen = ((size_t)(*f)[1] << 16) | ((size_t)(*f)[2] << 8) | (*f)[3];
		*flen = blen <= avail - FRAME_HDR_LEN ? FRAME_HDR_LEN + blen : avail;
	}
	*off += *flen;
	return 0;
}

void
fuzz_fix_mac1(uint8_t *frame, size_t len, const uint8_t pk_r[32])
{
	uint8_t key[32];

	if (len < FRAME_HDR_LEN + KS_MAC1_LEN)
		return;
	if (ks_mac1_key(key, pk_r, NULL) != 0 ||
	    ks_mac1(frame + len - KS_MAC1_LEN, key, frame, len - KS_MAC1_LEN) != 0)
		fuzz_fail(__FILE__, __LINE__, "ks_mac1");
}

/*
 * Both sides' Unix clock: fixed, so that a HELLO (Hello.time) is the same
 * bytes in every run and every iteration, and always fresh to R.
 */
static uint64_t
fuzz_clock(void *arg)
{
	(void)arg;
	return 1700000000;
}

void
fuzz_hs_config(hs_config *c, int initiator, uint32_t flags)
{
	memset(c, 0, sizeof(*c));
	c->unix_now = fuzz_clock;
	c->initiator = initiator;
	c->identity = fuzz_id(initiator ? 0 : 1);
	if (initiator)
		fuzz_pub(1, c->peer_pub);
	c->flags = flags;
}

int
fuzz_hs_feed(hs *h, const uint8_t *frame, size_t len)
{
	int rc = hs_input(h, frame, len);

	if (rc == HS_WORK)
		rc = hs_work(h);
	return rc;
}

/* Append h's output to buf (cap bytes) at *len and clear it. */
static void
take_output(hs *h, uint8_t *buf, size_t cap, size_t *len)
{
	const uint8_t *p;
	size_t n;

	if ((p = hs_output(h, &n)) == NULL)
		return;
	if (n > cap - *len)
		fuzz_fail(__FILE__, __LINE__, "handshake output too large");
	memcpy(buf + *len, p, n);
	*len += n;
	hs_output_clear(h);
}

static struct fuzz_prefix prefix[2];
static int prefix_made[2];

static void
make_prefix(struct fuzz_prefix *p, uint32_t flags)
{
	hs_config ci, cr;
	hs_result ri, rr;
	hs *i = NULL, *r = NULL;
	size_t n;

	memset(p, 0, sizeof(*p));
	fuzz_hs_config(&ci, 1, flags);
	fuzz_hs_config(&cr, 0, flags);
	fuzz_rng(FUZZ_TAG_I);
	if ((i = hs_new(&ci)) == NULL || hs_start(i) != HS_WORK || hs_work(i) != 0)
		fuzz_fail(__FILE__, __LINE__, "prefix: initiator start");
	take_output(i, p->hello, sizeof(p->hello), &p->hello_len);

	fuzz_rng(FUZZ_TAG_R);
	if ((r = hs_new(&cr)) == NULL ||
	    fuzz_hs_feed(r, p->hello, p->hello_len) != 0)
		fuzz_fail(__FILE__, __LINE__, "prefix: responder HELLO");
	take_output(r, p->reply, sizeof(p->reply), &p->reply_len);

	/* The REPLY frame, then AUTH_R. */
	n = 0;
	{
		const uint8_t *f;
		size_t fl;

		if (fuzz_next_frame(p->reply, p->reply_len, &n, &f, &fl) != 0)
			fuzz_fail(__FILE__, __LINE__, "prefix: no REPLY");
		p->reply_frame_len = fl;
		if (fuzz_hs_feed(i, f, fl) != 0 ||
		    fuzz_next_frame(p->reply, p->reply_len, &n, &f, &fl) != 0 ||
		    fuzz_hs_feed(i, f, fl) != 0 || !hs_done(i))
			fuzz_fail(__FILE__, __LINE__, "prefix: initiator AUTH_R");
	}
	take_output(i, p->auth_i, sizeof(p->auth_i), &p->auth_i_len);
	if (fuzz_hs_feed(r, p->auth_i, p->auth_i_len) != 0 || !hs_done(r))
		fuzz_fail(__FILE__, __LINE__, "prefix: responder AUTH_I");
	if (hs_result_take(i, &ri) != 0 || hs_result_take(r, &rr) != 0)
		fuzz_fail(__FILE__, __LINE__, "prefix: results");
	memcpy(p->ts_i, ri.ts_send, KS_SECRET_LEN);
	memcpy(p->ts_r, rr.ts_send, KS_SECRET_LEN);
	memcpy(p->sid, ri.sid, KS_SID_LEN);
	hs_result_wipe(&ri);
	hs_result_wipe(&rr);
	hs_free(i);
	hs_free(r);
	rand_test_seed(NULL, 0);
}

const struct fuzz_prefix *
fuzz_prefix(uint32_t flags)
{
	int k = flags != 0;

	if (flags > AUTH_FLAG_SIGN_RECORDS)
		fuzz_fail(__FILE__, __LINE__, "prefix: flags");
	if (!prefix_made[k]) {
		make_prefix(&prefix[k], flags);
		prefix_made[k] = 1;
	}
	return &prefix[k];
}

hs *
fuzz_hs_responder_wait_auth(void)
{
	const struct fuzz_prefix *p = fuzz_prefix(0);
	hs_config c;
	hs *h;

	fuzz_hs_config(&c, 0, 0);
	fuzz_rng(FUZZ_TAG_R);
	if ((h = hs_new(&c)) == NULL)
		return NULL;
	if (fuzz_hs_feed(h, p->hello, p->hello_len) != 0) {
		hs_free(h);
		return NULL;
	}
	hs_output_clear(h);
	return h;
}

hs *
fuzz_hs_initiator_wait_auth(void)
{
	const struct fuzz_prefix *p = fuzz_prefix(0);
	hs_config c;
	hs *h;

	fuzz_hs_config(&c, 1, 0);
	fuzz_rng(FUZZ_TAG_I);
	if ((h = hs_new(&c)) == NULL)
		return NULL;
	if (hs_start(h) != HS_WORK || hs_work(h) != 0) {
		hs_free(h);
		return NULL;
	}
	hs_output_clear(h);
	if (fuzz_hs_feed(h, p->reply, p->reply_frame_len) != 0) {
		hs_free(h);
		return NULL;
	}
	return h;
}

/* ---- the scratch directory ---- */

static char tmpdir[256];
static char *made_files[8];
static size_t n_made;

static void
tmp_cleanup(void)
{
	size_t i;

	for (i = 0; i < n_made; i++) {
		(void)unlink(made_files[i]);
		free(made_files[i]);
	}
	n_made = 0;
	if (tmpdir[0] != '\0')
		(void)rmdir(tmpdir);
	tmpdir[0] = '\0';
}

const char *
fuzz_tmpdir(void)
{
	const char *base;

	if (tmpdir[0] != '\0')
		return tmpdir;
	base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/stpfuzz.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL)
		fuzz_fail(__FILE__, __LINE__, "mkdtemp");
	atexit(tmp_cleanup);
	return tmpdir;
}

int
fuzz_write_file(const char *path, const void *buf, size_t len, int mode)
{
	const uint8_t *p = buf;
	size_t i;
	ssize_t w;
	int fd, known = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) == -1)
		return -1;
	(void)fchmod(fd, (mode_t)mode);
	while (len > 0) {
		if ((w = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			(void)close(fd);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) != 0)
		return -1;
	for (i = 0; i < n_made; i++)
		if (strcmp(made_files[i], path) == 0)
			known = 1;
	if (!known && n_made < sizeof(made_files) / sizeof(made_files[0]))
		made_files[n_made++] = strdup(path);
	return 0;
}

/* ---- endpoints ---- */

#define SETTLE_MAX_JOBS 256

static int
drain_output(endpoint *e)
{
	struct iovec iov[32];
	size_t n, i, total = 0;
	int moved = 0;

	while ((n = endpoint_output(e, iov, 32)) > 0) {
		for (i = 0; i < n; i++) {
			FUZZ_ASSERT(iov[i].iov_len >= FRAME_HDR_LEN);
			total += iov[i].iov_len;
		}
		moved = 1;
	}
	if (total > 0)
		endpoint_output_done(e, total);
	return moved;
}

int
fuzz_ep_settle(endpoint *e, aead_ctx *ctx, int jobs, int reverse,
    uint64_t now_ms, struct fuzz_ep_seen *seen)
{
	endpoint_job *batch[SETTLE_MAX_JOBS];
	size_t n, i, rounds;
	ep_event ev;
	int moved, rc, first = 0;

	for (rounds = 0; rounds < 100000; rounds++) {
		moved = 0;
		if (jobs) {
			n = 0;
			while (n < SETTLE_MAX_JOBS &&
			    (batch[n] = endpoint_job_take(e)) != NULL)
				n++;
			for (i = 0; i < n; i++)
				endpoint_job_run(batch[i], ctx);
			for (i = 0; i < n; i++) {
				rc = endpoint_job_done(e,
				    batch[reverse ? n - 1 - i : i], now_ms);
				if (rc != 0) {
					FUZZ_ASSERT(rc < 0);
					FUZZ_ASSERT(endpoint_finished(e));
					if (first == 0)
						first = rc;
				}
			}
			if (n > 0)
				moved = 1;
			FUZZ_ASSERT(endpoint_jobs_out(e) == 0);
		}
		while (endpoint_poll(e, &ev) == 1) {
			moved = 1;
			switch (ev.type) {
			case EP_ESTABLISHED:
				FUZZ_ASSERT(endpoint_established(e));
				FUZZ_ASSERT(endpoint_peer(e) != NULL);
				seen->established++;
				break;
			case EP_RECORD:
				FUZZ_ASSERT(ev.rec != NULL);
				switch (ev.rec->body_case) {
				case STP__V1__RECORD__BODY_OPEN:
				case STP__V1__RECORD__BODY_ACCEPT:
				case STP__V1__RECORD__BODY_DATA:
				case STP__V1__RECORD__BODY_WINDOW:
				case STP__V1__RECORD__BODY_FIN:
				case STP__V1__RECORD__BODY_RESET:
					break;
				default:
					FUZZ_ASSERT(!"record event with a non-stream body");
				}
				FUZZ_ASSERT(ev.rec->open != NULL);
				if (ev.rec->body_case == STP__V1__RECORD__BODY_DATA)
					FUZZ_ASSERT(ev.rec->data->data.len == 0 ||
					    ev.rec->data->data.data != NULL);
				seen->records++;
				break;
			case EP_PONG:
				seen->pongs++;
				break;
			case EP_CLOSED:
				FUZZ_ASSERT(endpoint_finished(e));
				seen->closed++;
				break;
			default:
				FUZZ_ASSERT(!"unknown event type");
			}
		}
		if (drain_output(e))
			moved = 1;
		if (!moved)
			return first;
	}
	fuzz_fail(__FILE__, __LINE__, "endpoint does not settle");
}

/* A failed endpoint stays failed. */
static void
check_failed(endpoint *e, int rc, uint64_t now_ms)
{
	static const uint8_t junk[FRAME_HDR_LEN] = { FRAME_RECORD, 0, 0, 16 };

	FUZZ_ASSERT(rc < 0);
	FUZZ_ASSERT(endpoint_finished(e));
	FUZZ_ASSERT(endpoint_input_room(e) == 0);
	FUZZ_ASSERT(endpoint_input(e, junk, sizeof(junk), now_ms) < 0);
	FUZZ_ASSERT(endpoint_input(e, junk, 0, now_ms) < 0);
	FUZZ_ASSERT(endpoint_reason(e) != NULL && endpoint_reason(e)[0] != '\0');
}

int
fuzz_ep_feed(endpoint *e, aead_ctx *ctx, int jobs, int reverse,
    const uint8_t *in, size_t len, size_t chunk, uint64_t now_ms,
    struct fuzz_ep_seen *seen)
{
	size_t off = 0, n, room;
	int rc;

	while (off < len) {
		room = endpoint_input_room(e);
		n = len - off;
		if (chunk != 0 && n > chunk)
			n = chunk;
		if (n > room)
			n = room;
		if (n == 0)
			return 0;   /* stalled: the owner would stop reading */
		rc = endpoint_input(e, in + off, n, now_ms);
		off += n;
		if (rc == 0)
			rc = fuzz_ep_settle(e, ctx, jobs, reverse, now_ms, seen);
		else
			(void)fuzz_ep_settle(e, ctx, jobs, reverse, now_ms, seen);
		if (rc == 0 && endpoint_finished(e) && seen->closed == 0) {
			/*
			 * Finished without an EP_CLOSED: it failed while we
			 * polled (a bad record queued behind an event).
			 */
			rc = endpoint_input(e, in, 0, now_ms);
			FUZZ_ASSERT(rc < 0);
		}
		if (rc != 0) {
			check_failed(e, rc, now_ms);
			return rc;
		}
	}
	return 0;
}

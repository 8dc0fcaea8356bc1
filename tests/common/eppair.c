/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eppair.c: two endpoints on an in-memory wire (see eppair.h): the wire,
 * feeding, job hand-back, polling and the pump that runs them to rest.
 */
/* rand_test_seed: every program that links this links stp_rand_test. */
#define STP_RAND_TEST_HOOK 1

#include "eppair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "err.h"
#include "testlib.h"

uint64_t
eppair_prng(eppair *p)
{
	p->rng = t_mix64(p->rng);
	return p->rng;
}

void
eppair_attach(eppair *p, struct eppair_side *i, struct eppair_side *r,
    void (*event)(eppair *, struct eppair_side *, const ep_event *),
    void *cookie)
{
	memset(p, 0, sizeof(*p));
	p->s[0] = i;
	p->s[1] = r;
	p->event = event;
	p->cookie = cookie;
}

/*
 * Both sides' Unix clock (Hello.time), fixed: two pairs from one seed must
 * be the same session byte for byte, even when a second ticks between them.
 */
static uint64_t
fixed_unix_clock(void *arg)
{
	(void)arg;
	return 1700000000u;
}

void
eppair_configs(endpoint_config *ci, endpoint_config *cr,
    const sign_key *id_i, const sign_key *id_r, uint32_t flags_i,
    uint32_t flags_r, int jobs)
{
	memset(ci, 0, sizeof(*ci));
	ci->hs.initiator = 1;
	ci->hs.identity = id_i;
	sign_key_public(id_r, ci->hs.peer_pub);
	ci->hs.flags = flags_i;
	ci->inline_crypto = !jobs;
	ci->hs.unix_now = fixed_unix_clock;
	*cr = *ci;
	cr->hs.initiator = 0;
	cr->hs.identity = id_r;
	memset(cr->hs.peer_pub, 0, sizeof(cr->hs.peer_pub));
	cr->hs.flags = flags_r;
}

/* Mixed mode's offload hook: a coin per job, from the pair's generator. */
static int
offload_coin(void *cookie, int kind, size_t len, int sig)
{
	eppair *p = cookie;
	int out = (int)(eppair_prng(p) & 1);

	(void)kind;
	(void)len;
	(void)sig;
	p->coins[out]++;
	return out;
}

int
eppair_init(eppair *p, const endpoint_config *ci, const endpoint_config *cr,
    uint64_t now, uint64_t rng, int jobs, const char *seed)
{
	endpoint_config c[2];
	int k;

	for (k = 0; k < 2; k++) {
		memset(p->s[k], 0, sizeof(*p->s[k]));
		p->s[k]->k = k;
	}
	p->now = now;
	p->rng = rng;
	p->jobs = jobs;
	if ((p->actx = aead_ctx_new()) == NULL)
		return -1;
	rand_test_seed(seed, strlen(seed));
	c[0] = *ci;
	c[1] = *cr;
	for (k = 0; jobs && p->mixed && k < 2; k++) {
		c[k].offload = offload_coin;
		c[k].offload_cookie = p;
	}
	p->s[0]->e = endpoint_new(&c[0], p->now);
	p->s[1]->e = endpoint_new(&c[1], p->now);
	return p->s[0]->e != NULL && p->s[1]->e != NULL ? 0 : -1;
}

void
eppair_free(eppair *p)
{
	struct eppair_side *s;
	int k;

	for (k = 0; k < 2; k++) {
		s = p->s[k];
		if (s->e != NULL && p->jobs)
			(void)eppair_run_jobs(p, s, 1);
		s->nkept = 0;
		endpoint_free(s->e);
		s->e = NULL;
		free(s->in);
		s->in = NULL;
		s->in_len = s->in_cap = s->in_fed = 0;
	}
	aead_ctx_free(p->actx);
	p->actx = NULL;
	rand_test_seed(NULL, 0);
}

void
eppair_err(struct eppair_side *s, int rc, int from)
{
	if (s->err == 0) {
		s->err = rc;
		s->err_from = from;
		snprintf(s->why, sizeof(s->why), "%s", endpoint_reason(s->e));
	}
}

/* FNV-1a over a kept record's bytes. */
static uint64_t
kept_hash(const uint8_t *b, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

int
eppair_release(eppair *p, struct eppair_side *s)
{
	size_t i;
	int rc;

	if (s->nkept == 0 && endpoint_kept(s->e) == 0)
		return 0;
	for (i = 0; i < s->nkept; i++)
		if (kept_hash(s->kept[i], s->kept_len[i]) != s->kept_sum[i])
			s->kept_changed++;
	T_INT(s->kept_changed, 0);
	s->nkept = 0;
	rc = endpoint_release_kept(s->e, p->now);
	if (rc < 0)
		eppair_err(s, rc, EPPAIR_FROM_POLL);
	T_INT(endpoint_kept(s->e), 0);
	return 1;
}

/* Keep mode: keep the data record just handed out, if the endpoint lets us. */
static void
keep_record(struct eppair_side *s, const ep_event *ev)
{
	const Stp__V1__Record *r = ev->rec;

	if (ev->type != EP_RECORD || r == NULL ||
	    r->body_case != STP__V1__RECORD__BODY_DATA || r->data == NULL)
		return;
	if (s->nkept == EPPAIR_MAXKEPT || endpoint_keep(s->e) != 0)
		return;
	s->kept[s->nkept] = r->data->data.data;
	s->kept_len[s->nkept] = r->data->data.len;
	s->kept_sum[s->nkept] = kept_hash(r->data->data.data, r->data->data.len);
	s->nkept++;
	s->kept_total++;
	/* A second keep of the same record is refused. */
	T_INT(endpoint_keep(s->e), STP_EAGAIN);
}

int
eppair_poll(eppair *p, struct eppair_side *s)
{
	ep_event ev;
	int got = 0;

	while (endpoint_poll(s->e, &ev)) {
		got = 1;
		switch (ev.type) {
		case EP_ESTABLISHED:
			s->established++;
			/* Right behind AUTH_I, before R has even seen it. */
			for (; s->k == 0 && p->early > 0; p->early--)
				T_INT(p->send(p, 0), 0);
			break;
		case EP_CLOSED:
			s->closed++;
			s->close_code = ev.code;
			snprintf(s->close_reason, sizeof(s->close_reason), "%s",
			    ev.reason != NULL ? ev.reason : "");
			break;
		case EP_PONG:
			s->pongs++;
			break;
		default:
			break;
		}
		if (p->event != NULL)
			p->event(p, s, &ev);
		if (p->keep)
			keep_record(s, &ev);
		/* Now and then let go of everything kept (it may free input). */
		if (p->keep && eppair_prng(p) % 8 == 0)
			(void)eppair_release(p, s);
	}
	/*
	 * A record processed while polling (one that arrived behind a record
	 * the application had not taken yet) may have failed: the next
	 * endpoint_input, even of nothing, returns that error.
	 */
	if (s->err == 0 && endpoint_finished(s->e)) {
		uint8_t none = 0;
		int rc = endpoint_input(s->e, &none, 0, p->now);

		if (rc < 0)
			eppair_err(s, rc, EPPAIR_FROM_POLL);
	}
	return got;
}

/* Fisher-Yates on two parallel arrays. */
static void
shuffle2(eppair *p, endpoint_job **j, uint64_t *no, size_t cnt)
{
	endpoint_job *tj;
	uint64_t t;
	size_t i, k;

	for (i = cnt; i > 1; i--) {
		k = (size_t)(eppair_prng(p) % i);
		tj = j[i - 1];
		j[i - 1] = j[k];
		j[k] = tj;
		t = no[i - 1];
		no[i - 1] = no[k];
		no[k] = t;
	}
}

/*
 * Take every job there is, run a random part of what is out (all: every
 * one) and hand those back in another random order; the rest stay out for a
 * later round, so younger jobs overtake older ones.
 */
int
eppair_run_jobs(eppair *p, struct eppair_side *s, int all)
{
	endpoint_job *run[EPPAIR_MAXJOBS];
	uint64_t run_no[EPPAIR_MAXJOBS], oldest;
	size_t i, k, cnt;
	int rc;

	while (s->njobs < EPPAIR_MAXJOBS &&
	    (s->jobs[s->njobs] = endpoint_job_take(s->e)) != NULL)
		s->job_no[s->njobs++] = s->taken++;
	if (s->njobs == 0)
		return 0;
	shuffle2(p, s->jobs, s->job_no, s->njobs);
	cnt = all || p->jobs_all ? s->njobs :
	    1 + (size_t)(eppair_prng(p) % s->njobs);
	memcpy(run, s->jobs + s->njobs - cnt, cnt * sizeof(run[0]));
	memcpy(run_no, s->job_no + s->njobs - cnt, cnt * sizeof(run_no[0]));
	s->njobs -= cnt;
	for (i = 0; i < cnt; i++)
		endpoint_job_run(run[i], p->actx);
	shuffle2(p, run, run_no, cnt);
	for (i = 0; i < cnt; i++) {
		/* Is an older job still out? */
		oldest = run_no[i];
		for (k = 0; k < s->njobs; k++)
			if (s->job_no[k] < oldest)
				oldest = s->job_no[k];
		for (k = i + 1; k < cnt; k++)
			if (run_no[k] < oldest)
				oldest = run_no[k];
		if (oldest < run_no[i])
			s->overtakes++;
		rc = endpoint_job_done(s->e, run[i], p->now);
		if (rc < 0)
			eppair_err(s, rc, EPPAIR_FROM_JOB);
	}
	return 1;
}

static void
wire_append(struct eppair_side *s, const void *buf, size_t len)
{
	size_t cap;

	if (s->in_len + len > s->in_cap) {
		cap = s->in_cap ? s->in_cap : 65536;
		while (cap < s->in_len + len)
			cap *= 2;
		if ((s->in = realloc(s->in, cap)) == NULL) {
			fprintf(stderr, "eppair: out of memory for the wire\n");
			exit(2);
		}
		s->in_cap = cap;
	}
	memcpy(s->in + s->in_len, buf, len);
	s->in_len += len;
}

int
eppair_move(eppair *p, int k)
{
	struct eppair_side *s = p->s[k], *o = p->s[1 - k];
	struct iovec iov[64];
	size_t cnt, i, total, from;
	int moved = 0;

	if (p->hold)
		return 0;
	while ((cnt = endpoint_output(s->e, iov, 64)) > 0) {
		total = 0;
		from = o->in_len;
		for (i = 0; i < cnt; i++) {
			wire_append(o, iov[i].iov_base, iov[i].iov_len);
			total += iov[i].iov_len;
		}
		endpoint_output_done(s->e, total);
		if (p->moved != NULL)
			p->moved(p, k, from);
		moved = 1;
	}
	return moved;
}

int
eppair_feed(eppair *p, struct eppair_side *s)
{
	size_t room, chunk, off = s->in_fed;
	int rc, moved = 0;

	for (;;) {
		if (s->err != 0 || off >= s->in_len)
			break;
		/* Kept records may pin the input buffer: release them to go on. */
		if ((room = endpoint_input_room(s->e)) == 0 &&
		    (!p->keep || !eppair_release(p, s) ||
		    (room = endpoint_input_room(s->e)) == 0))
			break;
		chunk = s->in_len - off;
		if (chunk > room)
			chunk = room;
		/* Mostly big pieces; sometimes a few bytes, to split headers. */
		if (p->split > 0 && eppair_prng(p) % p->split == 0)
			chunk = 1 + (size_t)(eppair_prng(p) % chunk);
		rc = endpoint_input(s->e, s->in + off, chunk, p->now);
		off += chunk;
		moved = 1;
		if (rc < 0)
			eppair_err(s, rc, EPPAIR_FROM_INPUT);
		eppair_poll(p, s);
	}
	if (p->keep_input)
		s->in_fed = off;
	else if (off > 0) {
		memmove(s->in, s->in + off, s->in_len - off);
		s->in_len -= off;
	}
	moved |= eppair_poll(p, s);
	if (p->keep && eppair_release(p, s))
		moved |= eppair_poll(p, s);
	return moved;
}

void
eppair_pump(eppair *p)
{
	unsigned max = p->max_rounds ? p->max_rounds : 1000000, rounds = 0;
	int progress, k;

	do {
		progress = 0;
		for (k = 0; k < 2; k++) {
			if (p->jobs)
				progress |= eppair_run_jobs(p, p->s[k], 0);
			progress |= eppair_move(p, k);
			progress |= eppair_feed(p, p->s[k]);
		}
	} while (progress && ++rounds < max);
	T_OK(rounds < max);
}

void
eppair_settle(eppair *p)
{
	int k, i;

	eppair_pump(p);
	for (i = 0; p->jobs && i < 4; i++) {
		for (k = 0; k < 2; k++)
			(void)eppair_run_jobs(p, p->s[k], 1);
		eppair_pump(p);
	}
}

/*
 * test_padding.c: the padding plugin (plugins/padding.c) and the core's pad
 * hook (endpoint.c), through the plugin's own functions and two endpoints on
 * an in-memory wire whose frames are all looked at.
 *
 * Sections:
 *   1. the plugin's settings (defaults, every key, refusals with file:line:
 *      col) and its functions: pad_to for every length 0..EP_PAD_MAX, the
 *      step-up's frequency, cover sizes, and the cover gaps' mean;
 *   2. records through an endpoint pair padded by the plugin, unsigned and
 *      signed, crypto inline and in jobs: data lengths swept densely around
 *      every bucket and with a stride over 0..STP_MAX_DATA, by copy
 *      (endpoint_send_data) and zero-copy (reserve/commit) alternately.
 *      Every RECORD frame's body is exactly the bucket the rule gives for
 *      the record + the tag (+ the 67-byte signature field when signed), and
 *      the data arrives intact (unsigned: still read in place);
 *   3. a hook that asks for any size: every gap 0..1000 and 16,000..17,000
 *      and a stride beyond, so the padding field's length varint crosses its
 *      widths (a gap of 1 or 2 moves to len + 3; 131 and 16,388 need an
 *      overlong varint); above the maximum is clamped;
 *   4. a zero-copy reservation the padding outgrows (the shaper asks more at
 *      commit than at reserve): moved, intact, exact;
 *   5. the protocol's own records (open, accept, window, fin, reset, ping,
 *      pong, key updates, the rekey exchange, close) and cover records are
 *      padded too; KEY_UPDATE frames have one size; cover records are
 *      counted on receipt and never become an EP_RECORD;
 *   6. a cover record is authenticated: one with a flipped byte fails the
 *      session (STP_EAUTH), unsigned and signed;
 *   7. without a hook nothing is padded (the frame is the bare record).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/rand.h"
#include "crypto/sign.h"
#include "endpoint.h"
#include "envelope.h"
#include "err.h"
#include "frame.h"
#include "identity.h"
#include "plugin.h"
#include "record.h"
#include "testlib.h"

#define T0_MS 1700000000000ull
#define MAXJOBS 256
#define FR_MAX 65536
#define EXP_MAX 64
#define KU_BODY 256              /* FRAME_MAX_KEY_UPDATE: every padded KEY_UPDATE */

static char tmpdir[64], cfgpath[128], idpath[128];
static sign_key *id_i, *id_r;
static uint8_t pk_i[32];
static uint8_t *txbuf;

static const size_t def_buckets[] = { 512, 1024, 4096, 16384, 32768, EP_PAD_MAX };
#define NDEF (sizeof(def_buckets) / sizeof(def_buckets[0]))

/* ---- the plugin's settings ---- */

static void
write_cfg(const char *body)
{
	FILE *f = fopen(cfgpath, "w");

	if (f == NULL || fprintf(f, "identity: %s\n%s", idpath, body) < 0 ||
	    fclose(f) != 0) {
		perror(cfgpath);
		exit(2);
	}
}

/* A running plugin set from a `plugins:` body, and its shaper. */
struct shaper {
	config *c;
	plugins *ps;
	const stp_shaper_ops *sh;
	void *inst;
};

static int
shaper_load(struct shaper *s, const char *body)
{
	char err[512] = "";

	memset(s, 0, sizeof(*s));
	write_cfg(body);
	if (!T_INT(config_load(cfgpath, &s->c, err, sizeof(err)), 0)) {
		fprintf(stderr, "  %s\n", err);
		return -1;
	}
	if (!T_INT(plugins_open(s->c, &s->ps, err, sizeof(err)), 0))
		return -1;
	s->sh = plugins_shaper(s->ps, &s->inst);
	return 0;
}

static void
shaper_free(struct shaper *s)
{
	plugins_unref(s->ps);
	config_free(s->c);
	memset(s, 0, sizeof(*s));
}

/* body must be refused with an error containing want. */
static void
refused(const char *body, const char *want)
{
	char err[512] = "";
	config *c = NULL;

	write_cfg(body);
	T_INT(config_load(cfgpath, &c, err, sizeof(err)), STP_EPARSE);
	T_OK(c == NULL);
	if (!T_OK(strstr(err, want) != NULL))
		fprintf(stderr, "  got  %s\n  want ...%s...\n", err, want);
}

/* The smallest of b[0..n) that is >= len. */
static size_t
smallest(const size_t *b, size_t n, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] >= len)
			return b[i];
	return 0;
}

static void
test_settings(void)
{
	struct shaper s;
	size_t len, got, bad = 0, i, up = 0, seen[NDEF];
	uint64_t sum = 0, ms, zero = 0;
	const int N = 20000;

	/* Left out: no shaper at all. */
	if (shaper_load(&s, "plugins: {}\n") == 0) {
		T_INT(s.c->plugins.enabled[plugin_find("padding")], 0);
		T_OK(s.sh == NULL);
		shaper_free(&s);
	}
	/* Switched off: no shaper, though the settings are checked. */
	if (shaper_load(&s, "plugins:\n  padding:\n    enabled: false\n"
	    "    step_up: 0.5\n") == 0) {
		T_INT(s.c->plugins.enabled[plugin_find("padding")], 0);
		T_OK(s.sh == NULL);
		shaper_free(&s);
	}
	/* Present with nothing set: Kamune's buckets, no step-up, no cover. */
	if (shaper_load(&s, "plugins:\n  padding:\n") == 0 && T_OK(s.sh != NULL)) {
		for (len = 0; len <= EP_PAD_MAX; len++) {
			got = s.sh->pad_to(s.inst, len, EP_PAD_MAX);
			if (got != smallest(def_buckets, NDEF, len))
				bad++;
		}
		T_INT(bad, 0);
		T_INT(s.sh->pad_to(s.inst, 9, 300), 300);    /* clamped to max */
		T_INT(s.sh->pad_to(s.inst, 400, 300), 400);  /* over max: untouched */
		T_INT(s.sh->cover_next_ms(s.inst), 0);
		T_INT(s.sh->cover_size(s.inst, EP_PAD_MAX), 512);
		shaper_free(&s);
	}
	/* Every key. */
	if (shaper_load(&s, "plugins:\n  padding:\n    buckets: [100, 1KiB]\n"
	    "    step_up: 1\n    cover_rate: 2\n    cover_size: 3000\n") == 0 &&
	    T_OK(s.sh != NULL)) {
		T_INT(s.sh->pad_to(s.inst, 0, EP_PAD_MAX), 1024);
		T_INT(s.sh->pad_to(s.inst, 100, EP_PAD_MAX), 1024);
		T_INT(s.sh->pad_to(s.inst, 101, EP_PAD_MAX), EP_PAD_MAX);
		T_INT(s.sh->pad_to(s.inst, 5000, EP_PAD_MAX), EP_PAD_MAX);
		T_INT(s.sh->cover_size(s.inst, EP_PAD_MAX), EP_PAD_MAX);
		T_INT(s.sh->cover_size(s.inst, 2000), 2000);
		/* Exponential gaps, mean 500 ms: a distribution, not a clock. */
		rand_test_seed("cover gaps", 10);
		for (i = 0; i < (size_t)N; i++) {
			ms = s.sh->cover_next_ms(s.inst);
			if (ms == 0)
				zero++;
			sum += ms;
		}
		T_INT(zero, 0);
		if (!T_OK(sum / N > 475 && sum / N < 525))
			fprintf(stderr, "  mean gap %llu ms\n",
			    (unsigned long long)(sum / N));
		shaper_free(&s);
	}
	/* step_up 0.25: about a quarter of the records go one bucket further. */
	if (shaper_load(&s, "plugins:\n  padding:\n    step_up: 0.25\n"
	    "    cover_size: random\n") == 0 && T_OK(s.sh != NULL)) {
		rand_test_seed("step up", 7);
		for (i = 0; i < (size_t)N; i++) {
			got = s.sh->pad_to(s.inst, 700, EP_PAD_MAX);
			if (got == 4096)
				up++;
			else if (got != 1024)
				bad++;
		}
		T_INT(bad, 0);
		if (!T_OK(up > N / 4 - N / 40 && up < N / 4 + N / 40))
			fprintf(stderr, "  %zu of %d stepped up\n", up, N);
		/* The top bucket has nowhere to step. */
		T_INT(s.sh->pad_to(s.inst, 40000, EP_PAD_MAX), EP_PAD_MAX);
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < 1000; i++) {
			got = s.sh->cover_size(s.inst, EP_PAD_MAX);
			for (len = 0; len < NDEF && def_buckets[len] != got; len++)
				;
			if (len == NDEF)
				bad++;
			else
				seen[len]++;
		}
		T_INT(bad, 0);
		for (len = 0; len < NDEF; len++)
			T_OK(seen[len] > 0);
		shaper_free(&s);
	}
	rand_test_seed(NULL, 0);

	refused("plugins:\n  padding:\n    bucket: [1KiB]\n",
	    "4:5: plugins.padding.bucket: unknown key (expected one of: enabled, "
	    "buckets, step_up, cover_rate, cover_size)");
	refused("plugins:\n  padding:\n    enabled: maybe\n",
	    "4:14: plugins.padding.enabled");
	refused("plugins:\n  padding:\n    buckets: [1KiB, 512]\n",
	    "4:14: plugins.padding.buckets: buckets must be strictly increasing "
	    "(512 after 1024)");
	refused("plugins:\n  padding:\n    buckets: [512, 512]\n",
	    "plugins.padding.buckets: buckets must be strictly increasing");
	refused("plugins:\n  padding:\n    buckets: [8]\n", "4:15: plugins.padding.buckets");
	refused("plugins:\n  padding:\n    buckets: [1MiB]\n", "plugins.padding.buckets");
	refused("plugins:\n  padding:\n    buckets: []\n", "plugins.padding.buckets");
	refused("plugins:\n  padding:\n    step_up: 1.5\n",
	    "4:14: plugins.padding.step_up: 1.5 is out of range 0..1");
	refused("plugins:\n  padding:\n    cover_rate: -1\n",
	    "plugins.padding.cover_rate");
	refused("plugins:\n  padding:\n    cover_size: huge\n",
	    "4:17: plugins.padding.cover_size");
	refused("plugins:\n  padding: [1]\n",
	    "3:12: plugins.padding: expected a mapping of settings");
}

/* ---- an endpoint pair on an in-memory wire ---- */

static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint8_t
rec_byte(uint64_t no, size_t i)
{
	return (uint8_t)(mix64((no << 24) ^ (i >> 3)) >> (8 * (i & 7)));
}

struct frame {
	uint8_t type;
	size_t len;
	size_t off;              /* where its body starts in the receiver's input */
};

/* The pad hook as the test sets it: the plugin's, or one size for all. */
struct hook {
	const stp_shaper_ops *sh;
	void *inst;
	size_t fixed;            /* when sh is NULL */
	unsigned calls;
};

static size_t
hook_pad(void *cookie, size_t len, size_t max)
{
	struct hook *h = cookie;

	h->calls++;
	if (h->sh != NULL)
		return h->sh->pad_to(h->inst, len, max);
	return h->fixed;
}

struct expect {
	uint64_t no;             /* data record number: its bytes */
	size_t len;
};

struct side {
	endpoint *e;
	int k;
	uint8_t *in;             /* bytes on the wire towards this side */
	size_t in_len, in_cap, in_fed;
	/* The frames this side sent, as the receiver's scanner found them. */
	struct frame *fr;
	size_t nfr;
	uint8_t hdr[FRAME_HDR_LEN];
	size_t hlen, left, scanned;
	endpoint_job *jobs[MAXJOBS];
	size_t njobs;
	struct hook hook;
	int err;
	/* What this side expects of the peer's data records, in order. */
	struct expect exp[EXP_MAX];
	size_t exp_head, exp_n;
	uint64_t rx_data, rx_other, rx_bad, rx_padded, closed, pongs;
	uint64_t next_no;
};

struct net {
	struct side s[2];
	uint64_t now;
	int jobs;
	aead_ctx *actx;
	int corrupt;             /* flip a byte of the next RECORD body from side 0 */
};

static int
map_lookup(void *cookie, const uint8_t pk[32])
{
	(void)cookie;
	return memcmp(pk, pk_i, 32) == 0 ? 0 : STP_EPEER;
}

/* Scan what was appended to the receiver's input: the sender's frames. */
static void
scan(struct side *snd, struct side *rcv)
{
	size_t take;

	while (snd->scanned < rcv->in_len) {
		if (snd->left > 0) {
			take = rcv->in_len - snd->scanned;
			if (take > snd->left)
				take = snd->left;
			snd->left -= take;
			snd->scanned += take;
			continue;
		}
		snd->hdr[snd->hlen++] = rcv->in[snd->scanned++];
		if (snd->hlen < FRAME_HDR_LEN)
			continue;
		snd->hlen = 0;
		snd->left = (size_t)snd->hdr[1] << 16 | (size_t)snd->hdr[2] << 8 |
		    snd->hdr[3];
		if (snd->nfr < FR_MAX) {
			snd->fr[snd->nfr].type = snd->hdr[0];
			snd->fr[snd->nfr].len = snd->left;
			snd->fr[snd->nfr].off = snd->scanned;
			snd->nfr++;
		}
	}
}

static void
append(struct side *s, const void *p, size_t len)
{
	if (s->in_len + len > s->in_cap) {
		size_t cap = s->in_cap ? s->in_cap : 1 << 20;

		while (cap < s->in_len + len)
			cap *= 2;
		if ((s->in = realloc(s->in, cap)) == NULL)
			exit(2);
		s->in_cap = cap;
	}
	memcpy(s->in + s->in_len, p, len);
	s->in_len += len;
}

static void
check_data(struct side *s, const Stp__V1__Record *r)
{
	struct expect *x;
	size_t i;

	if (s->exp_n == 0) {
		s->rx_bad++;
		return;
	}
	x = &s->exp[s->exp_head];
	s->exp_head = (s->exp_head + 1) % EXP_MAX;
	s->exp_n--;
	s->rx_data++;
	if (r->data->data.len != x->len) {
		s->rx_bad++;
		return;
	}
	for (i = 0; i < x->len; i++)
		if (r->data->data.data[i] != rec_byte(x->no, i)) {
			s->rx_bad++;
			return;
		}
	/*
	 * Decoded by protobuf-c (a signed record; an unsigned padded one only
	 * if it could not be read in place): its padding or signature shows.
	 */
	if (r->padding.len > 0 || r->signature.len > 0)
		s->rx_padded++;
}

static void
poll_side(struct side *s)
{
	ep_event ev;

	while (endpoint_poll(s->e, &ev)) {
		if (ev.type == EP_RECORD) {
			if (ev.rec->body_case == STP__V1__RECORD__BODY_DATA)
				check_data(s, ev.rec);
			else
				s->rx_other++;
		} else if (ev.type == EP_CLOSED)
			s->closed++;
		else if (ev.type == EP_PONG)
			s->pongs++;
	}
	if (s->err == 0 && endpoint_finished(s->e) && !s->closed) {
		uint8_t none = 0;
		int rc = endpoint_input(s->e, &none, 0, 0);

		if (rc < 0)
			s->err = rc;
	}
}

static int
run_jobs(struct net *n, struct side *s)
{
	size_t i;
	int rc;

	while (s->njobs < MAXJOBS &&
	    (s->jobs[s->njobs] = endpoint_job_take(s->e)) != NULL)
		s->njobs++;
	if (s->njobs == 0)
		return 0;
	for (i = 0; i < s->njobs; i++)
		endpoint_job_run(s->jobs[i], n->actx);
	/* Back in reverse: the endpoint puts them in order. */
	for (i = s->njobs; i > 0; i--)
		if ((rc = endpoint_job_done(s->e, s->jobs[i - 1], n->now)) < 0 &&
		    s->err == 0)
			s->err = rc;
	s->njobs = 0;
	return 1;
}

static int
move_output(struct net *n, int k)
{
	struct side *s = &n->s[k], *p = &n->s[1 - k];
	struct iovec iov[64];
	size_t cnt, i, total, from;
	int moved = 0;

	while ((cnt = endpoint_output(s->e, iov, 64)) > 0) {
		total = 0;
		for (i = 0; i < cnt; i++) {
			append(p, iov[i].iov_base, iov[i].iov_len);
			total += iov[i].iov_len;
		}
		endpoint_output_done(s->e, total);
		from = s->nfr;
		scan(s, p);
		for (i = from; k == 0 && n->corrupt && i < s->nfr; i++)
			if (s->fr[i].type == FRAME_RECORD &&
			    s->fr[i].off + s->fr[i].len <= p->in_len) {
				p->in[s->fr[i].off + s->fr[i].len / 2] ^= 0x40;
				n->corrupt = 0;
			}
		moved = 1;
	}
	return moved;
}

static int
feed(struct net *n, struct side *s)
{
	size_t room, chunk;
	int rc, moved = 0;

	while (s->err == 0 && s->in_fed < s->in_len &&
	    (room = endpoint_input_room(s->e)) > 0) {
		chunk = s->in_len - s->in_fed;
		if (chunk > room)
			chunk = room;
		rc = endpoint_input(s->e, s->in + s->in_fed, chunk, n->now);
		s->in_fed += chunk;
		moved = 1;
		if (rc < 0)
			s->err = rc;
		poll_side(s);
	}
	poll_side(s);
	return moved;
}

static void
pump(struct net *n)
{
	int progress, k, rounds = 0;

	do {
		progress = 0;
		for (k = 0; k < 2; k++) {
			if (n->jobs)
				progress |= run_jobs(n, &n->s[k]);
			progress |= move_output(n, k);
			progress |= feed(n, &n->s[k]);
		}
	} while (progress && ++rounds < 100000);
	T_OK(rounds < 100000);
}

/*
 * Two endpoints, I dials R.  sign: both sign and verify (sign_records on the
 * dialing side).  hook: 0 none, 1 the plugin's shaper sh/inst, 2 a fixed size.
 */
static int
net_init(struct net *n, int sign, int jobs, int hook,
    const struct shaper *sh)
{
	endpoint_config ci, cr;
	int k;

	memset(n, 0, sizeof(*n));
	n->now = T0_MS;
	n->jobs = jobs;
	if ((n->actx = aead_ctx_new()) == NULL)
		return -1;
	rand_test_seed("padding pair", 12);
	memset(&ci, 0, sizeof(ci));
	ci.hs.initiator = 1;
	ci.hs.identity = id_i;
	sign_key_public(id_r, ci.hs.peer_pub);
	ci.hs.flags = sign ? AUTH_FLAG_SIGN_RECORDS | AUTH_FLAG_WANT_SIGNED : 0;
	ci.inline_crypto = !jobs;
	cr = ci;
	cr.hs.initiator = 0;
	cr.hs.identity = id_r;
	memset(cr.hs.peer_pub, 0, 32);
	cr.hs.flags = 0;
	cr.lookup = map_lookup;
	for (k = 0; k < 2; k++) {
		struct side *s = &n->s[k];

		s->k = k;
		if ((s->fr = calloc(FR_MAX, sizeof(*s->fr))) == NULL)
			return -1;
		if (hook == 1) {
			s->hook.sh = sh->sh;
			s->hook.inst = sh->inst;
		}
	}
	if (hook != 0) {
		ci.pad_to = cr.pad_to = hook_pad;
		ci.pad_cookie = &n->s[0].hook;
		cr.pad_cookie = &n->s[1].hook;
	}
	n->s[0].e = endpoint_new(&ci, n->now);
	n->s[1].e = endpoint_new(&cr, n->now);
	if (n->s[0].e == NULL || n->s[1].e == NULL)
		return -1;
	if (endpoint_start(n->s[0].e, n->now) != 0)
		return -1;
	pump(n);
	if (!endpoint_established(n->s[0].e) || !endpoint_established(n->s[1].e)) {
		fprintf(stderr, "  not established: I %s / R %s\n",
		    endpoint_reason(n->s[0].e), endpoint_reason(n->s[1].e));
		return -1;
	}
	return 0;
}

static void
net_free(struct net *n)
{
	int k;

	for (k = 0; k < 2; k++) {
		if (n->s[k].e != NULL && n->jobs)
			(void)run_jobs(n, &n->s[k]);
		endpoint_free(n->s[k].e);
		free(n->s[k].in);
		free(n->s[k].fr);
	}
	aead_ctx_free(n->actx);
	rand_test_seed(NULL, 0);
}

/* Records side k sealed so far: its next sequence number. */
static uint64_t
sealed(const struct side *s)
{
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < s->nfr; i++)
		if (s->fr[i].type == FRAME_RECORD || s->fr[i].type == FRAME_KEY_UPDATE)
			c++;
	return c;
}

static size_t
sigroom(const struct side *s)
{
	return (endpoint_signing(s->e) & EP_SIGN_SEND) ? RECORD_SIG_FIELD_LEN : 0;
}

/*
 * One data record of len bytes from side k, by copy or zero-copy; after it
 * is through, the plaintext size its frame says it had (-1 if not exactly one
 * frame came) and in *n the bare record's size.
 */
static long
send_data(struct net *n, int k, size_t len, int zero_copy, size_t *bare)
{
	struct side *s = &n->s[k], *p = &n->s[1 - k];
	uint64_t no = ++s->next_no + ((uint64_t)k << 40);
	size_t i, before = s->nfr;
	uint32_t sid = k == 0 ? 1 : 2;
	uint8_t *buf;
	int rc;

	*bare = env_data_record_len(sealed(s), n->now, sid, len);
	if (zero_copy && len > 0) {
		if ((buf = endpoint_data_reserve(s->e, len)) == NULL)
			return -2;
		for (i = 0; i < len; i++)
			buf[i] = rec_byte(no, i);
		rc = endpoint_data_commit(s->e, sid, len, n->now);
	} else {
		for (i = 0; i < len; i++)
			txbuf[i] = rec_byte(no, i);
		rc = endpoint_send_data(s->e, sid, txbuf, len, n->now);
	}
	if (rc != 0)
		return -3;
	p->exp[(p->exp_head + p->exp_n) % EXP_MAX].no = no;
	p->exp[(p->exp_head + p->exp_n) % EXP_MAX].len = len;
	p->exp_n++;
	pump(n);
	if (s->nfr != before + 1 || s->fr[before].type != FRAME_RECORD)
		return -1;
	return (long)(s->fr[before].len - AEAD_TAG_LEN - sigroom(s));
}

/* What the rule gives a bare record of n bytes with the plugin's buckets. */
static size_t
want_bucket(size_t n)
{
	size_t t = smallest(def_buckets, NDEF, n);

	if (t > n && t - n < 3)
		t = smallest(def_buckets, NDEF, n + 3);
	return t;
}

static int
is_bucket(size_t pt)
{
	size_t i;

	for (i = 0; i < NDEF; i++)
		if (def_buckets[i] == pt)
			return 1;
	return 0;
}

/* Every RECORD frame either side sent is a bucket + tag (+ signature). */
static size_t
off_bucket(const struct net *n)
{
	size_t bad = 0, i;
	int k;

	for (k = 0; k < 2; k++) {
		const struct side *s = &n->s[k];

		for (i = 0; i < s->nfr; i++) {
			if (s->fr[i].type == FRAME_RECORD &&
			    !is_bucket(s->fr[i].len - AEAD_TAG_LEN - sigroom(s))) {
				if (bad++ < 5)
					fprintf(stderr, "  side %d frame %zu: RECORD body %zu\n",
					    k, i, s->fr[i].len);
			}
			if (s->fr[i].type == FRAME_KEY_UPDATE && s->fr[i].len !=
			    KU_BODY - (RECORD_SIG_FIELD_LEN - sigroom(s))) {
				if (bad++ < 5)
					fprintf(stderr, "  side %d frame %zu: KEY_UPDATE body %zu\n",
					    k, i, s->fr[i].len);
			}
		}
	}
	return bad;
}

/* 2. the plugin's buckets through an endpoint pair */
static void
test_buckets(void)
{
	struct shaper sh;
	struct net *n = calloc(1, sizeof(*n));
	size_t b, len, bare, wrong, sent;
	int sign, jobs, k;
	long pt;

	if (n == NULL || shaper_load(&sh, "plugins:\n  padding:\n") != 0 ||
	    !T_OK(sh.sh != NULL))
		exit(2);
	for (sign = 0; sign < 2; sign++) {
		for (jobs = 0; jobs < 2; jobs++) {
			t_set_ctx("buckets, %s, %s", sign ? "signed" : "unsigned",
			    jobs ? "jobs" : "inline");
			if (!T_INT(net_init(n, sign, jobs, 1, &sh), 0))
				goto next;
			T_INT(endpoint_signing(n->s[0].e) != 0, sign);
			wrong = sent = 0;
			for (b = 0; b < NDEF; b++) {
				size_t lo = def_buckets[b] > 80 ? def_buckets[b] - 80 : 0;

				for (len = lo; len <= def_buckets[b] + 8 &&
				    len <= STP_MAX_DATA; len++) {
					k = (int)(len & 1);
					pt = send_data(n, k, len, (int)(len >> 1) & 1, &bare);
					sent++;
					if (pt != (long)want_bucket(bare) && wrong++ < 5)
						fprintf(stderr, "  len %zu bare %zu: %ld, want %zu\n",
						    len, bare, pt, want_bucket(bare));
				}
			}
			for (len = 0; len <= STP_MAX_DATA; len += jobs ? 257 : 61) {
				k = (int)((len / 61) & 1);
				pt = send_data(n, k, len, (int)(len / 122) & 1, &bare);
				sent++;
				if (pt != (long)want_bucket(bare) && wrong++ < 5)
					fprintf(stderr, "  len %zu bare %zu: %ld, want %zu\n",
					    len, bare, pt, want_bucket(bare));
			}
			/* The largest, both ways: the top bucket, zero-copy included. */
			for (k = 0; k < 4; k++) {
				pt = send_data(n, k & 1, STP_MAX_DATA, k >> 1, &bare);
				sent++;
				if (pt != EP_PAD_MAX && wrong++ < 5)
					fprintf(stderr, "  max data: %ld\n", pt);
			}
			T_INT(wrong, 0);
			T_INT(off_bucket(n), 0);
			for (k = 0; k < 2; k++) {
				T_INT(n->s[k].err, 0);
				T_INT(n->s[k].rx_bad, 0);
				T_INT(n->s[k].exp_n, 0);
				/*
				 * Unsigned padded data records are read in place (no
				 * padding field seen); signed ones go through
				 * protobuf-c, which sees it.
				 */
				if (!sign)
					T_INT(n->s[k].rx_padded, 0);
				else
					T_INT(n->s[k].rx_padded, n->s[k].rx_data);
			}
			T_INT(n->s[0].rx_data + n->s[1].rx_data, sent);
next:
			net_free(n);
		}
	}
	t_set_ctx("%s", "");
	shaper_free(&sh);
	free(n);
}

/* 3. any size a hook asks: every gap near the varint widths, a stride beyond */
static void
test_gaps(void)
{
	struct net *n = calloc(1, sizeof(*n));
	size_t gap, bare, want, wrong, step = 1, dlen = 100;
	int sign;
	long pt;

	if (n == NULL)
		exit(2);
	for (sign = 0; sign < 2; sign++) {
		t_set_ctx("gaps, %s", sign ? "signed" : "unsigned");
		if (!T_INT(net_init(n, sign, 0, 2, NULL), 0))
			goto next;
		wrong = 0;
		for (gap = 0; gap < EP_PAD_MAX + 300; gap += step) {
			bare = env_data_record_len(sealed(&n->s[0]), n->now, 1, dlen);
			n->s[0].hook.fixed = bare + gap;
			want = bare + gap;
			if (gap == 1 || gap == 2)
				want = bare + 3;
			if (want > EP_PAD_MAX)
				want = EP_PAD_MAX;
			pt = send_data(n, 0, dlen, (int)(gap & 1), &bare);
			if (pt != (long)want && wrong++ < 5)
				fprintf(stderr, "  gap %zu: %ld, want %zu\n", gap, pt, want);
			step = gap < 1000 || (gap >= 16000 && gap < 17000) ? 1 : 53;
		}
		T_INT(wrong, 0);
		T_INT(n->s[1].err, 0);
		T_INT(n->s[1].rx_bad, 0);
		T_INT(n->s[1].exp_n, 0);
		T_OK(n->s[1].rx_data > 2500);
next:
		net_free(n);
	}
	t_set_ctx("%s", "");
	free(n);
}

/* 4. a reservation the padding outgrows at commit */
static void
test_outgrown(void)
{
	struct net *n = calloc(1, sizeof(*n));
	struct side *s;
	uint8_t *buf;
	size_t i, len, bare;
	int sign;

	if (n == NULL)
		exit(2);
	for (sign = 0; sign < 2; sign++) {
		t_set_ctx("outgrown, %s", sign ? "signed" : "unsigned");
		if (!T_INT(net_init(n, sign, 0, 2, NULL), 0))
			goto next;
		s = &n->s[0];
		for (len = 1; len <= 4000; len = len * 3 + 7) {
			uint64_t no = ++s->next_no;
			size_t before = s->nfr;

			s->hook.fixed = 600;        /* what the reservation is sized for */
			if (!T_OK((buf = endpoint_data_reserve(s->e, len)) != NULL))
				break;
			for (i = 0; i < len; i++)
				buf[i] = rec_byte(no, i);
			bare = env_data_record_len(sealed(s), n->now, 1, len);
			s->hook.fixed = 60000;      /* what the commit asks */
			T_INT(endpoint_data_commit(s->e, 1, len, n->now), 0);
			n->s[1].exp[(n->s[1].exp_head + n->s[1].exp_n) % EXP_MAX].no = no;
			n->s[1].exp[(n->s[1].exp_head + n->s[1].exp_n) % EXP_MAX].len = len;
			n->s[1].exp_n++;
			pump(n);
			T_INT(s->nfr, before + 1);
			T_INT(s->fr[before].len, 60000 + AEAD_TAG_LEN + sigroom(s));
			(void)bare;
		}
		T_INT(n->s[1].err, 0);
		T_INT(n->s[1].rx_bad, 0);
		T_INT(n->s[1].exp_n, 0);
		T_INT(n->s[1].rx_data, 7);   /* 1, 10, 37, ... 3277 */
next:
		net_free(n);
	}
	t_set_ctx("%s", "");
	free(n);
}

/* One stream record body from side k through endpoint_send. */
static int
send_body(struct net *n, int k, int body)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamOpen o = STP__V1__STREAM_OPEN__INIT;
	Stp__V1__StreamAccept a = STP__V1__STREAM_ACCEPT__INIT;
	Stp__V1__WindowUpdate w = STP__V1__WINDOW_UPDATE__INIT;
	Stp__V1__StreamFin f = STP__V1__STREAM_FIN__INIT;
	Stp__V1__StreamReset rs = STP__V1__STREAM_RESET__INIT;

	r.body_case = body;
	switch (body) {
	case STP__V1__RECORD__BODY_OPEN:
		o.stream_id = 7;
		o.service = (char *)"a service name";
		o.window = 1 << 20;
		r.open = &o;
		break;
	case STP__V1__RECORD__BODY_ACCEPT:
		a.stream_id = 7;
		a.window = 1 << 20;
		r.accept = &a;
		break;
	case STP__V1__RECORD__BODY_WINDOW:
		w.stream_id = 7;
		w.increment = 123456;
		r.window = &w;
		break;
	case STP__V1__RECORD__BODY_FIN:
		f.stream_id = 7;
		r.fin = &f;
		break;
	default:
		rs.stream_id = 7;
		rs.code = 4;
		rs.reason = (char *)"a reason for the reset";
		r.reset = &rs;
		break;
	}
	return endpoint_send(n->s[k].e, &r, n->now);
}

/* 5. the protocol's own records and cover records */
static void
test_protocol(void)
{
	static const int bodies[] = { STP__V1__RECORD__BODY_OPEN,
	    STP__V1__RECORD__BODY_ACCEPT, STP__V1__RECORD__BODY_WINDOW,
	    STP__V1__RECORD__BODY_FIN, STP__V1__RECORD__BODY_RESET };
	/* Sizes asked: buckets, none (0, 1: the hook's), over the maximum. */
	static const size_t covers[] = { 512, 4096, 0, 1, 16384, 1000000, 32768 };
	static const size_t cover_want[] = { 512, 4096, 512, 512, 16384,
	    EP_PAD_MAX, 32768 };
	struct shaper sh;
	struct net *n = calloc(1, sizeof(*n));
	ep_stats st[2];
	size_t i, before, bare;
	int sign, jobs, k, ncover = 0;
	uint64_t recs;

	if (n == NULL || shaper_load(&sh, "plugins:\n  padding:\n") != 0 ||
	    !T_OK(sh.sh != NULL))
		exit(2);
	for (sign = 0; sign < 2; sign++) {
		for (jobs = 0; jobs < 2; jobs++) {
			t_set_ctx("protocol, %s, %s", sign ? "signed" : "unsigned",
			    jobs ? "jobs" : "inline");
			if (!T_INT(net_init(n, sign, jobs, 1, &sh), 0))
				goto next;
			ncover = 0;
			for (k = 0; k < 2; k++) {
				for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
					T_INT(send_body(n, k, bodies[i]), 0);
				T_INT(endpoint_ping(n->s[k].e, n->now), 0);
				pump(n);
				for (i = 0; i < sizeof(covers) / sizeof(covers[0]); i++) {
					before = n->s[k].nfr;
					T_INT(endpoint_send_cover(n->s[k].e, covers[i],
					    n->now), 0);
					ncover++;
					pump(n);
					if (T_INT(n->s[k].nfr, before + 1))
						T_INT(n->s[k].fr[before].len, cover_want[i] +
						    AEAD_TAG_LEN + sigroom(&n->s[k]));
				}
				(void)send_data(n, k, 10, k, &bare);
			}
			/* Key updates by time, then a fresh exchange (I starts it). */
			n->now += EP_DEFAULT_REKEY_INTERVAL_MS + 1;
			for (k = 0; k < 2; k++)
				T_INT(endpoint_tick(n->s[k].e, n->now), 0);
			pump(n);
			n->now += EP_DEFAULT_REKEM_INTERVAL_MS + 1;
			T_INT(endpoint_tick(n->s[0].e, n->now), 0);
			pump(n);
			for (k = 0; k < 2; k++)
				(void)send_data(n, k, 3000, 0, &bare);
			for (k = 0; k < 2; k++)
				endpoint_get_stats(n->s[k].e, &st[k]);
			T_OK(st[0].key_updates_sent >= 2 && st[1].key_updates_sent >= 2);
			T_INT(st[0].rekems, 1);
			T_INT(st[1].rekems, 1);
			T_INT(endpoint_close(n->s[0].e, 0, "done here", n->now), 0);
			pump(n);
			T_INT(n->s[1].closed, 1);
			T_INT(off_bucket(n), 0);
			for (k = 0; k < 2; k++) {
				const struct side *s = &n->s[k];

				T_INT(s->err, 0);
				T_INT(s->rx_bad, 0);
				T_INT(s->exp_n, 0);
				T_INT(s->rx_data, 2);
				T_INT(s->rx_other, 5);     /* the five stream bodies */
				T_INT(s->pongs, 1);
				/* Cover: counted, sealed, opened, never an event. */
				T_INT(st[k].cover_sent, 7);
				T_INT(st[1 - k].cover_recv, 7);
			}
			/*
			 * Everything I sealed was opened, cover records included
			 * (its Close came after the stats were taken).
			 */
			recs = sealed(&n->s[0]);
			T_INT(st[1].records_recv, recs - 1);
next:
			net_free(n);
		}
	}
	T_INT(ncover, 14);
	t_set_ctx("%s", "");
	shaper_free(&sh);
	free(n);
}

/* 6. a cover record with a flipped byte fails the session */
static void
test_cover_tamper(void)
{
	struct shaper sh;
	struct net *n = calloc(1, sizeof(*n));
	ep_stats st;
	int sign;

	if (n == NULL || shaper_load(&sh, "plugins:\n  padding:\n") != 0)
		exit(2);
	for (sign = 0; sign < 2; sign++) {
		t_set_ctx("tampered cover, %s", sign ? "signed" : "unsigned");
		if (!T_INT(net_init(n, sign, 0, 1, &sh), 0))
			goto next;
		T_INT(endpoint_send_cover(n->s[0].e, 512, n->now), 0);
		pump(n);
		n->corrupt = 1;
		T_INT(endpoint_send_cover(n->s[0].e, 512, n->now), 0);
		pump(n);
		T_INT(n->corrupt, 0);
		endpoint_get_stats(n->s[1].e, &st);
		T_INT(st.cover_recv, 1);
		T_INT(n->s[1].err, STP_EAUTH);
		T_INT(n->s[1].rx_data + n->s[1].rx_other, 0);
		T_OK(strstr(endpoint_reason(n->s[1].e), "failed to open") != NULL);
next:
		net_free(n);
	}
	t_set_ctx("%s", "");
	shaper_free(&sh);
	free(n);
}

/* 7. no hook: the bare record */
static void
test_no_hook(void)
{
	struct net *n = calloc(1, sizeof(*n));
	size_t len, bare, wrong = 0;
	long pt;

	if (n == NULL)
		exit(2);
	if (T_INT(net_init(n, 0, 0, 0, NULL), 0)) {
		for (len = 0; len <= STP_MAX_DATA; len += 997) {
			pt = send_data(n, 0, len, (int)(len & 1), &bare);
			if (pt != (long)bare && wrong++ < 5)
				fprintf(stderr, "  len %zu: %ld, bare %zu\n", len, pt, bare);
		}
		T_INT(wrong, 0);
		T_INT(endpoint_send_cover(n->s[0].e, 700, n->now), 0);
		pump(n);
		T_INT(n->s[0].fr[n->s[0].nfr - 1].len, 700 + AEAD_TAG_LEN);
		T_INT(n->s[1].rx_bad, 0);
		T_INT(n->s[1].err, 0);
	}
	net_free(n);
	free(n);
}

int
main(void)
{
	uint8_t seed[SIGN_SEED_LEN];
	sign_key *k;
	char err[256];

	if (crypto_init() != 0 || (txbuf = malloc(STP_MAX_DATA)) == NULL)
		return 2;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/stp-test-padding-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	snprintf(cfgpath, sizeof(cfgpath), "%s/c.yaml", tmpdir);
	snprintf(idpath, sizeof(idpath), "%s/id.key", tmpdir);
	if (identity_generate(&k) != 0 ||
	    identity_save(idpath, k, 0, err, sizeof(err)) != 0)
		return 2;
	sign_key_free(k);
	memset(seed, 0x5a, sizeof(seed));
	if (sign_key_from_seed(&id_i, seed) != 0)
		return 2;
	sign_key_public(id_i, pk_i);
	memset(seed, 0x6b, sizeof(seed));
	if (sign_key_from_seed(&id_r, seed) != 0)
		return 2;

	test_settings();
	t_section("1 settings and the plugin's sizes");
	test_buckets();
	t_section("2 records padded to the buckets, on the wire");
	test_gaps();
	t_section("3 every gap: exact sizes");
	test_outgrown();
	t_section("4 a reservation outgrown by its padding");
	test_protocol();
	t_section("5 protocol and cover records");
	test_cover_tamper();
	t_section("6 cover records are authenticated");
	test_no_hook();
	t_section("7 no hook, no padding");

	sign_key_free(id_i);
	sign_key_free(id_r);
	free(txbuf);
	unlink(cfgpath);
	unlink(idpath);
	rmdir(tmpdir);
	return t_done();
}

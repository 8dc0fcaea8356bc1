/* SPDX-License-Identifier: Apache-2.0 */
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
#include "eppair.h"
#include "tcfg.h"
#include "testlib.h"

#define T0_MS 1700000000000ull
#define FR_MAX 65536
#define EXP_MAX 64
#define KU_BODY 256              /* FRAME_MAX_KEY_UPDATE: every padded KEY_UPDATE */

static sign_key *id_i, *id_r;
static uint8_t pk_i[32];
static uint8_t *txbuf;

static const size_t def_buckets[] = { 512, 1024, 4096, 16384, 32768, EP_PAD_MAX };
#define NDEF (sizeof(def_buckets) / sizeof(def_buckets[0]))

/* ---- the plugin's settings ---- */

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
	tcfg_write(body);
	if (!T_INT(config_load(tcfg_path(), &s->c, err, sizeof(err)), 0)) {
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

	tcfg_write(body);
	T_INT(config_load(tcfg_path(), &c, err, sizeof(err)), STP_EPARSE);
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

/* ---- an endpoint pair on an in-memory wire (tests/common/eppair.c) ---- */

static uint8_t
rec_byte(uint64_t no, size_t i)
{
	return (uint8_t)(t_mix64((no << 24) ^ (i >> 3)) >> (8 * (i & 7)));
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
	struct eppair_side c;    /* first: eppair's view of this side */
	/* The frames this side sent, as the receiver's scanner found them. */
	struct frame *fr;
	size_t nfr;
	uint8_t hdr[FRAME_HDR_LEN];
	size_t hlen, left, scanned;
	struct hook hook;
	/* What this side expects of the peer's data records, in order. */
	struct expect exp[EXP_MAX];
	size_t exp_head, exp_n;
	uint64_t rx_data, rx_other, rx_bad, rx_padded;
	uint64_t next_no;
};

struct net {
	struct side s[2];
	eppair p;
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

	while (snd->scanned < rcv->c.in_len) {
		if (snd->left > 0) {
			take = rcv->c.in_len - snd->scanned;
			if (take > snd->left)
				take = snd->left;
			snd->left -= take;
			snd->scanned += take;
			continue;
		}
		snd->hdr[snd->hlen++] = rcv->c.in[snd->scanned++];
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

/* eppair's event hook: closes and pongs are counted there. */
static void
on_event(eppair *p, struct eppair_side *es, const ep_event *ev)
{
	struct side *s = (struct side *)es;

	(void)p;
	if (ev->type != EP_RECORD)
		return;
	if (ev->rec->body_case == STP__V1__RECORD__BODY_DATA)
		check_data(s, ev->rec);
	else
		s->rx_other++;
}

/* eppair's wire hook: find side k's frames, and flip one when asked. */
static void
on_moved(eppair *p, int k, size_t from)
{
	struct net *n = p->cookie;
	struct side *s = &n->s[k], *o = &n->s[1 - k];
	size_t i, first = s->nfr;

	(void)from;
	scan(s, o);
	for (i = first; k == 0 && n->corrupt && i < s->nfr; i++)
		if (s->fr[i].type == FRAME_RECORD &&
		    s->fr[i].off + s->fr[i].len <= o->c.in_len) {
			o->c.in[s->fr[i].off + s->fr[i].len / 2] ^= 0x40;
			n->corrupt = 0;
		}
}

static void
pump(struct net *n)
{
	eppair_pump(&n->p);
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
	eppair_attach(&n->p, &n->s[0].c, &n->s[1].c, on_event, n);
	n->p.moved = on_moved;
	n->p.jobs_all = 1;
	n->p.keep_input = 1;         /* the frames' offsets point into it */
	n->p.max_rounds = 100000;
	eppair_configs(&ci, &cr, id_i, id_r,
	    sign ? AUTH_FLAG_SIGN_RECORDS | AUTH_FLAG_WANT_SIGNED : 0, 0, jobs);
	cr.lookup = map_lookup;
	if (hook != 0) {
		ci.pad_to = cr.pad_to = hook_pad;
		ci.pad_cookie = &n->s[0].hook;
		cr.pad_cookie = &n->s[1].hook;
	}
	if (eppair_init(&n->p, &ci, &cr, T0_MS, t_mix64(0x706164ull ^
	    (uint64_t)jobs), jobs, "padding pair") != 0)
		return -1;
	for (k = 0; k < 2; k++) {
		struct side *s = &n->s[k];

		if ((s->fr = calloc(FR_MAX, sizeof(*s->fr))) == NULL)
			return -1;
		if (hook == 1) {
			s->hook.sh = sh->sh;
			s->hook.inst = sh->inst;
		}
	}
	if (endpoint_start(n->s[0].c.e, n->p.now) != 0)
		return -1;
	pump(n);
	if (!endpoint_established(n->s[0].c.e) ||
	    !endpoint_established(n->s[1].c.e)) {
		fprintf(stderr, "  not established: I %s / R %s\n",
		    endpoint_reason(n->s[0].c.e), endpoint_reason(n->s[1].c.e));
		return -1;
	}
	return 0;
}

static void
net_free(struct net *n)
{
	int k;

	eppair_free(&n->p);
	for (k = 0; k < 2; k++) {
		free(n->s[k].fr);
		n->s[k].fr = NULL;
	}
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
	return (endpoint_signing(s->c.e) & EP_SIGN_SEND) ? RECORD_SIG_FIELD_LEN : 0;
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

	*bare = env_data_record_len(sealed(s), n->p.now, sid, len);
	if (zero_copy && len > 0) {
		if ((buf = endpoint_data_reserve(s->c.e, len)) == NULL)
			return -2;
		for (i = 0; i < len; i++)
			buf[i] = rec_byte(no, i);
		rc = endpoint_data_commit(s->c.e, sid, len, n->p.now);
	} else {
		for (i = 0; i < len; i++)
			txbuf[i] = rec_byte(no, i);
		rc = endpoint_send_data(s->c.e, sid, txbuf, len, n->p.now);
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
			T_INT(endpoint_signing(n->s[0].c.e) != 0, sign);
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
				T_INT(n->s[k].c.err, 0);
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
			bare = env_data_record_len(sealed(&n->s[0]), n->p.now, 1, dlen);
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
		T_INT(n->s[1].c.err, 0);
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
			if (!T_OK((buf = endpoint_data_reserve(s->c.e, len)) != NULL))
				break;
			for (i = 0; i < len; i++)
				buf[i] = rec_byte(no, i);
			bare = env_data_record_len(sealed(s), n->p.now, 1, len);
			s->hook.fixed = 60000;      /* what the commit asks */
			T_INT(endpoint_data_commit(s->c.e, 1, len, n->p.now), 0);
			n->s[1].exp[(n->s[1].exp_head + n->s[1].exp_n) % EXP_MAX].no = no;
			n->s[1].exp[(n->s[1].exp_head + n->s[1].exp_n) % EXP_MAX].len = len;
			n->s[1].exp_n++;
			pump(n);
			T_INT(s->nfr, before + 1);
			T_INT(s->fr[before].len, 60000 + AEAD_TAG_LEN + sigroom(s));
			(void)bare;
		}
		T_INT(n->s[1].c.err, 0);
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
	return endpoint_send(n->s[k].c.e, &r, n->p.now);
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
				T_INT(endpoint_ping(n->s[k].c.e, n->p.now), 0);
				pump(n);
				for (i = 0; i < sizeof(covers) / sizeof(covers[0]); i++) {
					before = n->s[k].nfr;
					T_INT(endpoint_send_cover(n->s[k].c.e, covers[i],
					    n->p.now), 0);
					ncover++;
					pump(n);
					if (T_INT(n->s[k].nfr, before + 1))
						T_INT(n->s[k].fr[before].len, cover_want[i] +
						    AEAD_TAG_LEN + sigroom(&n->s[k]));
				}
				(void)send_data(n, k, 10, k, &bare);
			}
			/* Key updates by time, then a fresh exchange (I starts it). */
			n->p.now += EP_DEFAULT_REKEY_INTERVAL_MS + 1;
			for (k = 0; k < 2; k++)
				T_INT(endpoint_tick(n->s[k].c.e, n->p.now), 0);
			pump(n);
			n->p.now += EP_DEFAULT_REKEM_INTERVAL_MS + 1;
			T_INT(endpoint_tick(n->s[0].c.e, n->p.now), 0);
			pump(n);
			for (k = 0; k < 2; k++)
				(void)send_data(n, k, 3000, 0, &bare);
			for (k = 0; k < 2; k++)
				endpoint_get_stats(n->s[k].c.e, &st[k]);
			T_OK(st[0].key_updates_sent >= 2 && st[1].key_updates_sent >= 2);
			T_INT(st[0].rekems, 1);
			T_INT(st[1].rekems, 1);
			T_INT(endpoint_close(n->s[0].c.e, 0, "done here", n->p.now), 0);
			pump(n);
			T_INT(n->s[1].c.closed, 1);
			T_INT(off_bucket(n), 0);
			for (k = 0; k < 2; k++) {
				const struct side *s = &n->s[k];

				T_INT(s->c.err, 0);
				T_INT(s->rx_bad, 0);
				T_INT(s->exp_n, 0);
				T_INT(s->rx_data, 2);
				T_INT(s->rx_other, 5);     /* the five stream bodies */
				T_INT(s->c.pongs, 1);
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
		T_INT(endpoint_send_cover(n->s[0].c.e, 512, n->p.now), 0);
		pump(n);
		n->corrupt = 1;
		T_INT(endpoint_send_cover(n->s[0].c.e, 512, n->p.now), 0);
		pump(n);
		T_INT(n->corrupt, 0);
		endpoint_get_stats(n->s[1].c.e, &st);
		T_INT(st.cover_recv, 1);
		T_INT(n->s[1].c.err, STP_EAUTH);
		T_INT(n->s[1].rx_data + n->s[1].rx_other, 0);
		T_OK(strstr(endpoint_reason(n->s[1].c.e), "failed to open") != NULL);
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
		T_INT(endpoint_send_cover(n->s[0].c.e, 700, n->p.now), 0);
		pump(n);
		T_INT(n->s[0].fr[n->s[0].nfr - 1].len, 700 + AEAD_TAG_LEN);
		T_INT(n->s[1].rx_bad, 0);
		T_INT(n->s[1].c.err, 0);
	}
	net_free(n);
	free(n);
}

int
main(void)
{
	uint8_t seed[SIGN_SEED_LEN];

	if (crypto_init() != 0 || (txbuf = malloc(STP_MAX_DATA)) == NULL ||
	    tcfg_init("padding") != 0)
		return 2;
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
	tcfg_cleanup();
	return t_done();
}

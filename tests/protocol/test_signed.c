/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_signed.c: who signs and who verifies records (proto/STP.md, "Record
 * signatures"), through two endpoints on an in-memory wire, each case with
 * inline crypto and with jobs run and handed back out of order.
 *
 * Sections:
 *   1. the Auth flags of both sides (SIGN_RECORDS, WANT_SIGNED) and the
 *      responder's peer map (sign_records for the initiator), in the
 *      combinations the gateway makes (on neither side, on the dialing side,
 *      on both) and the others the protocol allows: what endpoint_signing
 *      says on each side, that whoever verifies faces a signer, and that
 *      every record arrives intact and carries a signature exactly when its
 *      sender signs, the initiator's records right behind AUTH_I included;
 *   2. a record signed with the wrong key (endpoint_test_sign_with) in the
 *      middle of a stream, each way: a receiver that verifies fails with
 *      STP_EVERIFY, delivers the records before it and nothing from it on
 *      (later good records were opened too, in job mode often first), and
 *      its Close tells the sender why; a receiver that does not verify takes
 *      all of them, so this section shows who really verifies;
 *   3. sign_records on the responder's side only: an initiator that will not
 *      sign is refused, the reason is in both endpoints' reasons (the
 *      initiator's from R's Close), nothing it sent behind AUTH_I is
 *      delivered, and neither side sends anything after.
 *
 * Every section counts the cases it ran and checks the count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/rand.h"
#include "crypto/sign.h"
#include "endpoint.h"
#include "envelope.h"
#include "err.h"
#include "frame.h"
#include "eppair.h"
#include "testlib.h"

#define T0_MS 1700000000000ull
#define NREC 24                  /* data records each way, section 1 */
#define EARLY 3                  /* records I sends as it is established */

#define S AUTH_FLAG_SIGN_RECORDS
#define W AUTH_FLAG_WANT_SIGNED
#define P EP_PEER_SIGN_RECORDS
#define SND EP_SIGN_SEND
#define VFY EP_SIGN_VERIFY

static sign_key *id_i, *id_r, *id_x;  /* initiator, responder, a third key */
static uint8_t pk_i[32];
static uint8_t *txbuf;                /* STP_MAX_DATA bytes */

/* ---- deterministic records ---- */

/* Data record number no of side k: its length and bytes depend on (k, no) alone. */
static size_t
rec_len(int k, uint64_t no)
{
	uint64_t x = t_mix64(((uint64_t)k << 40) ^ no ^ 0x7369676e6564ull);

	switch (x % 10) {
	case 0: return 0;
	case 1: return STP_MAX_DATA;
	case 2: case 3: return (size_t)((x >> 8) % 8192);
	default: return (size_t)((x >> 8) % 600);
	}
}

static uint8_t
rec_byte(int k, uint64_t no, size_t i)
{
	return (uint8_t)(t_mix64(((uint64_t)k << 56) ^ (no << 24) ^ (i >> 3)) >>
	    (8 * (i & 7)));
}

static uint32_t
rec_stream(int k, uint64_t no)
{
	return (uint32_t)(k == 0 ? 1 : 2) + 2u * (uint32_t)(no % 3);
}

/* ---- the wire (tests/common/eppair.c) ---- */

struct side {
	struct eppair_side c;    /* first: eppair's view of this side */
	uint64_t tx;             /* data records sent */
	uint64_t rx, rx_signed;  /* data records received, of them with field 31 */
	uint64_t rx_bad;
};

struct net {
	struct side s[2];
	eppair p;                /* p.early: records I sends when established */
};

/* R's peer map: one key, what lookup says of it, and whether it has a name. */
struct peermap {
	uint8_t pk[32];
	int bits;
	int named;
};

static struct peermap map;

static int
map_lookup(void *cookie, const uint8_t pk[32])
{
	const struct peermap *m = cookie;

	return memcmp(m->pk, pk, 32) == 0 ? m->bits : STP_EPEER;
}

static const char *
map_name(void *cookie, const uint8_t pk[32])
{
	const struct peermap *m = cookie;

	return m->named && memcmp(m->pk, pk, 32) == 0 ? "alice" : NULL;
}

static int
send_one(struct net *n, int k)
{
	struct side *s = &n->s[k];
	size_t len = rec_len(k, s->tx), i;
	int rc;

	for (i = 0; i < len; i++)
		txbuf[i] = rec_byte(k, s->tx, i);
	rc = endpoint_send_data(s->c.e, rec_stream(k, s->tx), txbuf, len,
	    n->p.now);
	if (rc == 0)
		s->tx++;
	return rc;
}

/* One EP_RECORD at side s: the peer's next data record, byte for byte? */
static void
check_record(struct side *s, const Stp__V1__Record *r)
{
	int pk = 1 - s->c.k;
	size_t len, i;

	if (r == NULL || r->body_case != STP__V1__RECORD__BODY_DATA ||
	    r->data == NULL) {
		s->rx_bad++;
		return;
	}
	len = rec_len(pk, s->rx);
	if (r->data->stream_id != rec_stream(pk, s->rx) ||
	    r->data->data.len != len)
		s->rx_bad++;
	else
		for (i = 0; i < len; i++)
			if (r->data->data.data[i] != rec_byte(pk, s->rx, i)) {
				s->rx_bad++;
				break;
			}
	if (r->signature.len == SIGN_SIG_LEN)
		s->rx_signed++;
	else if (r->signature.len != 0)
		s->rx_bad++;
	s->rx++;
}

/* eppair's event hook: established and closed are counted there. */
static void
on_event(eppair *p, struct eppair_side *es, const ep_event *ev)
{
	(void)p;
	if (ev->type == EP_RECORD)
		check_record((struct side *)es, ev->rec);
	else if (ev->type != EP_ESTABLISHED && ev->type != EP_CLOSED)
		((struct side *)es)->rx_bad++;
}

static int
send_early(eppair *p, int k)
{
	return send_one(p->cookie, k);
}

static void
pump(struct net *n)
{
	eppair_pump(&n->p);
}

/* Every job back, and whatever that lets move. */
static void
settle(struct net *n)
{
	eppair_settle(&n->p);
}

static int
net_init(struct net *n, uint32_t flags_i, uint32_t flags_r, int bits,
    int named, int jobs, const char *seed)
{
	endpoint_config ci, cr;

	memset(n, 0, sizeof(*n));
	eppair_attach(&n->p, &n->s[0].c, &n->s[1].c, on_event, n);
	n->p.send = send_early;
	n->p.split = 3;
	n->p.max_rounds = 100000;
	eppair_configs(&ci, &cr, id_i, id_r, flags_i, flags_r, jobs);
	memcpy(map.pk, pk_i, 32);
	map.bits = bits;
	map.named = named;
	cr.lookup = map_lookup;
	cr.peer_name = map_name;
	cr.cookie = &map;
	return eppair_init(&n->p, &ci, &cr, T0_MS, t_mix64(0x77697265ull ^
	    (uint64_t)jobs ^ (uint64_t)flags_i << 8 ^ (uint64_t)flags_r << 16 ^
	    (uint64_t)bits << 24), jobs, seed);
}

static void
net_free(struct net *n)
{
	eppair_free(&n->p);
}

/* ---- the cases ---- */

struct scase {
	const char *name;
	uint32_t flags_i, flags_r;
	int map;                 /* R's lookup answer for I */
	unsigned sig_i, sig_r;   /* endpoint_signing on I and on R; refused: 0 */
	int refused;
};

static const struct scase cases[] = {
	/* What the gateway makes of sign_records: */
	{ "sign_records on neither side", 0, 0, 0, 0, 0, 0 },
	{ "sign_records on the dialing side only", S | W, 0, 0,
	    SND | VFY, SND | VFY, 0 },
	{ "sign_records on both sides", S | W, 0, P,
	    SND | VFY, SND | VFY, 0 },
	{ "sign_records on the accepting side only", 0, 0, P, 0, 0, 1 },
	/* The other combinations the protocol allows: */
	{ "I commits (SIGN) only", S, 0, 0, SND, VFY, 0 },
	{ "I asks (WANT) only", W, 0, 0, VFY, SND, 0 },
	{ "R commits in AUTH_R (the transcript vector's flags)", 0, S, 0,
	    VFY, SND, 0 },
	{ "R asks in AUTH_R", 0, W, 0, SND, VFY, 0 },
	{ "both commit in AUTH", S, S, 0, SND | VFY, SND | VFY, 0 },
	{ "R's map, I commits without asking", S, 0, P, SND, SND | VFY, 0 },
	{ "R's map, R asks in AUTH_R, I sets nothing", 0, W, P,
	    SND, SND | VFY, 0 },
	{ "every flag and R's map", S | W, S | W, P, SND | VFY, SND | VFY, 0 },
	{ "R's map, I only asks", W, 0, P, 0, 0, 1 },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* 1. who signs, who verifies; every record through, signed exactly when it should be */
static void
test_combinations(void)
{
	struct net *n = calloc(1, sizeof(*n));
	size_t c;
	int jobs, r, k, ran = 0;
	uint64_t ooo = 0;

	if (n == NULL)
		exit(2);
	for (c = 0; c < NCASES; c++) {
		const struct scase *sc = &cases[c];

		if (sc->refused)
			continue;
		for (jobs = 0; jobs < 2; jobs++) {
			struct side *si = &n->s[0], *sr = &n->s[1];

			t_set_ctx("%s (%s)", sc->name, jobs ? "jobs" : "inline");
			if (!T_INT(net_init(n, sc->flags_i, sc->flags_r, sc->map,
			    1, jobs, sc->name), 0))
				goto next;
			n->p.early = EARLY;
			T_INT(endpoint_start(si->c.e, n->p.now), 0);
			pump(n);
			if (!T_INT(si->c.established, 1) || !T_INT(sr->c.established, 1)) {
				fprintf(stderr, "  I: %s\n  R: %s\n",
				    endpoint_reason(si->c.e), endpoint_reason(sr->c.e));
				goto next;
			}
			T_INT(endpoint_signing(si->c.e), sc->sig_i);
			T_INT(endpoint_signing(sr->c.e), sc->sig_r);
			/* Whoever verifies faces a signer (the point of the rules). */
			T_OK(!(sc->sig_i & VFY) || (sc->sig_r & SND));
			T_OK(!(sc->sig_r & VFY) || (sc->sig_i & SND));
			for (r = 0; r < NREC; r++) {
				for (k = 0; k < 2; k++)
					if (!T_INT(send_one(n, k), 0))
						fprintf(stderr, "  %s\n",
						    endpoint_reason(n->s[k].c.e));
				if (r % 5 == 4)
					pump(n);
			}
			settle(n);
			T_INT(si->tx, NREC + EARLY);
			T_INT(sr->tx, NREC);
			for (k = 0; k < 2; k++) {
				struct side *s = &n->s[k], *o = &n->s[1 - k];
				unsigned osig = k ? sc->sig_i : sc->sig_r;

				if (!T_INT(s->c.err, 0))
					fprintf(stderr, "  %s: %s\n", k ? "R" : "I",
					    s->c.why);
				T_INT(s->c.closed, 0);
				T_INT(s->rx_bad, 0);
				T_INT(s->rx, o->tx);
				T_INT(s->rx_signed, (osig & SND) ? o->tx : 0);
				ooo += s->c.overtakes;
			}
			ran++;
next:
			net_free(n);
		}
	}
	t_set_ctx("combinations");
	/* Job mode really handed jobs back out of order. */
	T_OK(ooo > 0);
	T_INT(ran, 2 * 11);
	free(n);
}

/*
 * 2. the record after `good` good ones from side k is signed by id_x, the
 * three after it by the right key again.
 */
static void
test_wrong_key(void)
{
	struct net *n = calloc(1, sizeof(*n));
	size_t c;
	int jobs, k, i, ran = 0, verified = 0, unverified = 0;

	if (n == NULL)
		exit(2);
	for (c = 0; c < NCASES; c++) {
		const struct scase *sc = &cases[c];

		if (sc->refused)
			continue;
		for (jobs = 0; jobs < 2; jobs++) {
			for (k = 0; k < 2; k++) {
				struct side *s = &n->s[k], *o = &n->s[1 - k];
				unsigned ssig = k ? sc->sig_r : sc->sig_i;
				unsigned osig = k ? sc->sig_i : sc->sig_r;
				uint64_t before;

				t_set_ctx("%s (%s): a record from %s signed by "
				    "the wrong key", sc->name,
				    jobs ? "jobs" : "inline", k ? "R" : "I");
				if (!T_INT(net_init(n, sc->flags_i, sc->flags_r,
				    sc->map, 1, jobs, "wrong key"), 0))
					goto next;
				T_INT(endpoint_start(n->s[0].c.e, n->p.now), 0);
				pump(n);
				/* Both ways first: the Close below is no first record. */
				for (i = 0; i < 4; i++) {
					T_INT(send_one(n, 0), 0);
					T_INT(send_one(n, 1), 0);
				}
				settle(n);
				if (!T_INT(o->rx, 4) || !T_INT(s->rx, 4))
					goto next;
				before = o->rx;
				for (i = 0; i < 7; i++) {
					endpoint_test_sign_with(s->c.e,
					    i == 3 ? id_x : NULL);
					T_INT(send_one(n, k), 0);
				}
				endpoint_test_sign_with(s->c.e, NULL);
				settle(n);
				T_INT(o->rx_bad, 0);
				T_INT(s->c.err, 0);
				if (osig & VFY) {
					/* The three before it, nothing from it on. */
					T_INT(o->c.err, STP_EVERIFY);
					T_OK(strstr(o->c.why, "signature") != NULL);
					T_INT(o->rx, before + 3);
					T_OK(endpoint_finished(o->c.e));
					T_INT(endpoint_input_room(o->c.e), 0);
					/* Its Close told the sender why. */
					T_INT(s->c.closed, 1);
					T_INT(s->c.close_code,
					    STP__V1__CLOSE_CODE__CLOSE_PROTOCOL);
					T_OK(strstr(s->c.close_reason, "signature") != NULL);
					verified++;
				} else {
					/* Not checked here: all seven arrive. */
					T_INT(o->c.err, 0);
					T_INT(o->rx, before + 7);
					T_INT(o->rx_signed, (ssig & SND) ? o->rx : 0);
					T_INT(s->c.closed, 0);
					unverified++;
				}
				ran++;
next:
				net_free(n);
			}
		}
	}
	t_set_ctx("wrong key");
	T_INT(ran, 2 * 2 * 11);
	T_OK(verified > 0 && unverified > 0);
	printf("wrong key: %d sessions refused the record, %d took it unchecked\n",
	    verified, unverified);
	free(n);
}

/* 3. sign_records on the accepting side only: the initiator is refused. */
static void
test_refused(void)
{
	struct net *n = calloc(1, sizeof(*n));
	struct side *si, *sr;
	struct iovec iov[4];
	size_t c;
	int jobs, named, ran = 0;

	if (n == NULL)
		exit(2);
	si = &n->s[0];
	sr = &n->s[1];
	for (c = 0; c < NCASES; c++) {
		const struct scase *sc = &cases[c];

		if (!sc->refused)
			continue;
		for (jobs = 0; jobs < 2; jobs++) {
			for (named = 0; named < 2; named++) {
				t_set_ctx("%s (%s, %s)", sc->name,
				    jobs ? "jobs" : "inline",
				    named ? "named" : "unnamed");
				if (!T_INT(net_init(n, sc->flags_i, sc->flags_r,
				    sc->map, named, jobs, "refused"), 0))
					goto next;
				n->p.early = EARLY;
				T_INT(endpoint_start(si->c.e, n->p.now), 0);
				settle(n);
				/* I saw R prove itself and sent right away... */
				T_INT(si->c.established, 1);
				T_INT(si->tx, EARLY);
				/* ...R refused, and said why in its Close. */
				T_INT(sr->c.established, 0);
				T_INT(sr->c.err, STP_EPROTO);
				T_OK(strstr(sr->c.why, named ? "peer alice must sign records" :
				    "peer with key ") == sr->c.why);
				T_OK(strstr(sr->c.why, "set sign_records for this "
				    "gateway on the peer's side too") != NULL);
				T_INT(sr->rx, 0);
				T_INT(si->c.err, STP_EREJECTED);
				T_OK(strstr(si->c.why, "the responder refused the "
				    "session: you must sign records: sign_records "
				    "is set for you on this side") == si->c.why);
				/* A refusal, not a session that came up and closed. */
				T_INT(si->c.closed, 0);
				T_INT(si->rx, 0);
				T_INT(si->rx_bad + sr->rx_bad, 0);
				T_OK(endpoint_finished(si->c.e) &&
				    endpoint_finished(sr->c.e));
				/* Nobody says anything after. */
				T_INT(endpoint_output(si->c.e, iov, 4), 0);
				T_INT(endpoint_output(sr->c.e, iov, 4), 0);
				T_INT(endpoint_send_data(si->c.e, 1,
				    (const uint8_t *)"x", 1, n->p.now), STP_ESTATE);
				ran++;
next:
				net_free(n);
			}
		}
	}
	t_set_ctx("refused");
	T_INT(ran, 2 * 2 * 2);
	free(n);
}

static void
make_id(sign_key **k, uint8_t pk[32], uint8_t fill)
{
	uint8_t seed[SIGN_SEED_LEN], tmp[32];

	memset(seed, fill, sizeof(seed));
	if (sign_key_from_seed(k, seed) != 0) {
		fprintf(stderr, "cannot make identity\n");
		exit(2);
	}
	sign_key_public(*k, pk != NULL ? pk : tmp);
}

int
main(void)
{
	if ((txbuf = malloc(STP_MAX_DATA)) == NULL)
		return 2;
	make_id(&id_i, pk_i, 0x5a);
	make_id(&id_r, NULL, 0x6b);
	make_id(&id_x, NULL, 0x7c);

	test_combinations();
	t_section("1 who signs and who verifies, records through");
	test_wrong_key();
	t_section("2 a signature by the wrong key mid-stream");
	test_refused();
	t_section("3 sign_records on the accepting side only: refused");

	sign_key_free(id_i);
	sign_key_free(id_r);
	sign_key_free(id_x);
	free(txbuf);
	return t_done();
}

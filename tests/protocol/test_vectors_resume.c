/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vectors_resume.c: stream resumption (proto/STP.md, "Resumption";
 * Auth.features bit 4, HS_FEATURE_RESUME): the resume secret and the
 * proofs checked against OpenSSL, vectors in
 * tests/protocol/stp_v1_1_resume.txt, and the order rules of the exchange
 * at both ends.
 *
 * Usage: test_vectors_resume <path to stp_v1_1_resume.txt> [--write]
 *
 * The key schedule, from the spec and OpenSSL alone (no keysched.c on the
 * expected side): for a ks_handshake whose hs is the bytes 0x00..0x3f and a
 * TH4 of the bytes 0x40..0x7f, ks_resume_secret must be
 *   HKDF-Expand(SHA-512, PRK = hs, info = "stp1 resume" || 0x00 || TH4, 32)
 * as OpenSSL's EVP_PKEY_HKDF computes it in expand-only mode, and
 * ks_resume_proof(rs, side, sid_old, sid_new) must be
 *   HMAC-SHA512(rs, "stp1 resume " || side || 0x00 || sid_old || sid_new)
 * cut to 32 bytes, by OpenSSL's HMAC(), for side 'i' and 'r'.
 *
 * The vector run: the parties, RNG seed and clocks of stp_v1_1_opens.txt
 * (identity seeds 32 x 0x01 for I and 32 x 0x02 for R, RNG "stp1 test
 * vector", Unix clock 1700000000 s, record clock 1700000000000 ms, both
 * Auth flags 0, R does not ping), except that both Auths set features = 31
 * (every extension, FEATURE_RESUME included).  Two sessions in one run:
 *   session 1: I dials R; established, nothing sent.  Its sid is sid_1 and
 *     its resume secret (endpoint_resume_secret, the same at both ends)
 *     rs_1.
 *   session 2: a second pair of endpoints, same configs; the RNG goes on
 *     from where session 1 left it, so the ephemeral keys, and everything
 *     from the HELLO on, differ.  Its sid is sid_2; ts_i_0 is I's
 *     generation-0 traffic secret of session 2.  proof_i and proof_r are
 *     ks_resume_proof(rs_1, 'i' / 'r', sid_1, sid_2).  I's record 0 is
 *     Record{time_ms, resume = 25 {session_id = sid_1, proof = proof_i}}
 *     (resume_pt, resume_frame) and its record 1 is Record{seq = 1,
 *     time_ms, resume_streams = 26 {streams = [{stream_id 1, received 1000,
 *     limit 263144, fin false, open true}], last = true}} (streams_pt,
 *     streams_frame).
 * Each plaintext is written out here by hand from the protobuf encoding
 * rules and compared with what protobuf-c packs, and each frame is opened
 * with XChaCha20-Poly1305 under Derive(ts_i_0, "key") and Derive(ts_i_0,
 * "prefix") at sequence numbers 0 and 1.  R must take both records, and the
 * proof R received must be the one R computes from its own copy of rs_1.
 *
 * Then behaviour, with fresh endpoints:
 *   - endpoint_resume_secret: 0 and the same 32 bytes at both ends with
 *     bit 4 agreed; STP_ESTATE at both ends before the handshake and when
 *     only one side sets the bit (31 and 15, 15 and 31), the caller's
 *     buffer untouched.
 *   - endpoint_send's order rules (STP_EPROTO, nothing sent): R's Resume
 *     or ResumeStreams before I's Resume came; I's ResumeStreams before its
 *     Resume; I's Resume after a StreamOpen (after a Ping it is fine: the
 *     initiator answers the responder's first Ping before its session
 *     layer sees the session), and I's ResumeStreams after its last; a
 *     second Resume from either side; Resume or ResumeStreams without bit 4 agreed.
 *   - a whole exchange that takes over a real session's secret: I sends
 *     Resume and a ResumeStreams (last = false) at once, R pings first,
 *     answers Resume and sends its table (last = false, then an empty last
 *     = true), I sends its last = true; each side sees the other's records
 *     in order and whole, the proofs verify, and StreamData and a Ping
 *     still flow both ways after it.
 *   - the receiver's order rules, with records forced onto the wire
 *     (ep_tx_message, as the endpoint seals its own, without endpoint_send's
 *     checks): a Resume from I after its StreamOpen, a malformed Resume (a
 *     15-byte session id, a proof and a reason, neither), a second Resume, a
 *     ResumeStreams after the sender's last or before any Resume, a Resume
 *     from R that answers nothing, a Resume or ResumeStreams without bit 4;
 *     each makes the receiver fail with STP_EPROTO and a reason naming the
 *     rule and tell the peer with a Close, and the record is never
 *     delivered.  R has sent a record (a Ping, as the gateway does on
 *     accepting I) before it fails, so that its Close is not its record 0,
 *     which I would take for a refused handshake.
 *   - WindowUpdate.received and .fin arrive intact with bit 4 agreed, and
 *     as 0 and false without it (stream_id and increment intact).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "crypto/rand.h"
#include "endpoint.h"
#include "endpoint_int.h"
#include "err.h"
#include "frame.h"
#include "handshake.h"
#include "keysched.h"
#include "testlib.h"
#include "vectors_common.h"

#define N_VALUES 10
#define FEATURES_15 (HS_FEATURE_IDENTITY_UPDATE | \
	HS_FEATURE_STREAM_ADDRESSES | HS_FEATURE_DYNAMIC_OPEN | \
	HS_FEATURE_DATAGRAMS)
#define FEATURES_31 (FEATURES_15 | HS_FEATURE_RESUME)
#define MAX_STATES 8

_Static_assert(FEATURES_31 == 31, "features 31");
_Static_assert(KS_SID_LEN == 16 && KS_RESUME_LEN == 32 &&
    KS_PROOF_LEN == 32, "the sizes STP.md gives");

/* ---- the key schedule with OpenSSL ---- */

/* HKDF-Expand over SHA-512 by OpenSSL's EVP_PKEY_HKDF, expand only. */
static int
ossl_expand(uint8_t *out, size_t len, const uint8_t *prk, size_t prk_len,
    const uint8_t *info, size_t info_len)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t outlen = len;
	int ok;

	ok = pc != NULL && EVP_PKEY_derive_init(pc) > 0 &&
	    EVP_PKEY_CTX_set_hkdf_mode(pc, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY) > 0 &&
	    EVP_PKEY_CTX_set_hkdf_md(pc, EVP_sha512()) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_key(pc, prk, (int)prk_len) > 0 &&
	    EVP_PKEY_CTX_add1_hkdf_info(pc, info, (int)info_len) > 0 &&
	    EVP_PKEY_derive(pc, out, &outlen) > 0 && outlen == len;
	EVP_PKEY_CTX_free(pc);
	return ok ? 0 : -1;
}

/*
 * The proof from the spec with OpenSSL's HMAC(): the 46-byte message
 * "stp1 resume " || side || 0x00 || sid_old || sid_new, HMAC-SHA512, the
 * first 32 bytes.
 */
static int
ossl_proof(uint8_t proof[32], const uint8_t rs[32], char side,
    const uint8_t sid_old[16], const uint8_t sid_new[16])
{
	uint8_t msg[46], mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;

	memcpy(msg, "stp1 resume ", 12);
	msg[12] = (uint8_t)side;
	msg[13] = 0x00;
	memcpy(msg + 14, sid_old, 16);
	memcpy(msg + 30, sid_new, 16);
	if (HMAC(EVP_sha512(), rs, 32, msg, sizeof(msg), mac, &mlen) == NULL ||
	    mlen != 64)
		return -1;
	memcpy(proof, mac, 32);
	return 0;
}

static int
differ(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n) != 0;
}

static void
test_keysched(void)
{
	ks_handshake k;
	uint8_t th4[KS_TH_LEN], th4b[KS_TH_LEN], info[11 + 1 + KS_TH_LEN];
	uint8_t rs[KS_RESUME_LEN], want[KS_RESUME_LEN], other[KS_RESUME_LEN];
	uint8_t sid_old[16], sid_new[16];
	uint8_t pi[KS_PROOF_LEN], pr[KS_PROOF_LEN], wi[32], wr[32];
	size_t i;

	t_set_ctx("resume secret");
	memset(&k, 0, sizeof(k));
	for (i = 0; i < KS_SECRET_LEN; i++)
		k.hs[i] = (uint8_t)i;
	for (i = 0; i < KS_TH_LEN; i++)
		th4[i] = (uint8_t)(0x40 + i);
	/* keysched.c's layout: "stp1 " || label || 0x00 || ctx. */
	memcpy(info, "stp1 resume", 11);
	info[11] = 0x00;
	memcpy(info + 12, th4, KS_TH_LEN);
	if (!T_INT(ossl_expand(want, sizeof(want), k.hs, sizeof(k.hs), info,
	    sizeof(info)), 0))
		return;
	memset(rs, 0, sizeof(rs));
	T_INT(ks_resume_secret(&k, th4, rs), 0);
	T_MEM(rs, sizeof(rs), want, sizeof(want));
	/* It is a function of TH4 and of hs: one bit of either changes it. */
	memcpy(th4b, th4, sizeof(th4));
	th4b[63] ^= 1;
	T_INT(ks_resume_secret(&k, th4b, other), 0);
	T_OK(differ(other, rs, sizeof(rs)));
	k.hs[0] ^= 1;
	T_INT(ks_resume_secret(&k, th4, other), 0);
	T_OK(differ(other, rs, sizeof(rs)));
	/* And it is not the session id's derivation under another name. */
	k.hs[0] ^= 1;
	T_INT(ks_derive(other, sizeof(other), k.hs, sizeof(k.hs), "session id",
	    th4, sizeof(th4)), 0);
	T_OK(differ(other, rs, 16));

	t_set_ctx("resume proofs");
	for (i = 0; i < 16; i++) {
		sid_old[i] = (uint8_t)(0x80 + i);
		sid_new[i] = (uint8_t)(0x90 + i);
	}
	if (!T_INT(ossl_proof(wi, rs, 'i', sid_old, sid_new), 0) ||
	    !T_INT(ossl_proof(wr, rs, 'r', sid_old, sid_new), 0))
		return;
	T_INT(ks_resume_proof(pi, rs, 'i', sid_old, sid_new), 0);
	T_MEM(pi, sizeof(pi), wi, sizeof(wi));
	T_INT(ks_resume_proof(pr, rs, 'r', sid_old, sid_new), 0);
	T_MEM(pr, sizeof(pr), wr, sizeof(wr));
	T_OK(differ(pi, pr, sizeof(pi)));
	/* The ids are in order, old first: swapped, the proof is another. */
	T_INT(ks_resume_proof(other, rs, 'i', sid_new, sid_old), 0);
	T_OK(differ(other, pi, sizeof(pi)));
	ks_handshake_wipe(&k);
	T_OK(t_all_zero(k.hs, sizeof(k.hs)));
}

/* ---- records ---- */

struct state_want {
	uint32_t stream_id;
	uint64_t received, limit;
	int fin, open;
};

/* The vector run's table: one stream. */
static const struct state_want vec_state = { 1, 1000, 263144, 0, 1 };

/* r as Record{resume{sid, proof}}; proof NULL: none (m: its storage). */
static void
resume_msg(Stp__V1__Record *r, Stp__V1__Resume *m, const uint8_t *sid,
    const uint8_t *proof)
{
	stp__v1__record__init(r);
	stp__v1__resume__init(m);
	m->session_id.data = (uint8_t *)sid;
	m->session_id.len = KS_SID_LEN;
	if (proof != NULL) {
		m->proof.data = (uint8_t *)proof;
		m->proof.len = KS_PROOF_LEN;
	}
	r->body_case = STP__V1__RECORD__BODY_RESUME;
	r->resume = m;
}

struct streams_buf {
	Stp__V1__ResumeStreams m;
	Stp__V1__StreamState st[MAX_STATES];
	Stp__V1__StreamState *p[MAX_STATES];
};

/* r as Record{resume_streams{w[0..n), last}} (b: its storage). */
static void
streams_msg(Stp__V1__Record *r, struct streams_buf *b,
    const struct state_want *w, size_t n, int last)
{
	size_t i;

	stp__v1__record__init(r);
	stp__v1__resume_streams__init(&b->m);
	for (i = 0; i < n && i < MAX_STATES; i++) {
		stp__v1__stream_state__init(&b->st[i]);
		b->st[i].stream_id = w[i].stream_id;
		b->st[i].received = w[i].received;
		b->st[i].limit = w[i].limit;
		b->st[i].fin = w[i].fin != 0;
		b->st[i].open = w[i].open != 0;
		b->p[i] = &b->st[i];
	}
	b->m.n_streams = i;
	b->m.streams = i > 0 ? b->p : NULL;
	b->m.last = last != 0;
	r->body_case = STP__V1__RECORD__BODY_RESUME_STREAMS;
	r->resume_streams = &b->m;
}

static int
send_resume(endpoint *e, const uint8_t *sid, const uint8_t *proof)
{
	Stp__V1__Record r;
	Stp__V1__Resume m;

	resume_msg(&r, &m, sid, proof);
	return endpoint_send(e, &r, NOW_MS);
}

static int
send_streams(endpoint *e, const struct state_want *w, size_t n, int last)
{
	Stp__V1__Record r;
	struct streams_buf b;

	streams_msg(&r, &b, w, n, last);
	return endpoint_send(e, &r, NOW_MS);
}

/*
 * The same records sealed without endpoint_send's checks (ep_tx_message,
 * as the endpoint seals its own): what a peer that ignores the rules puts
 * on the wire.
 */
static int
force_resume(endpoint *e, const uint8_t *sid, const uint8_t *proof)
{
	Stp__V1__Record r;
	Stp__V1__Resume m;

	e->now = NOW_MS;
	resume_msg(&r, &m, sid, proof);
	return ep_tx_message(e, FRAME_RECORD, &r);
}

static int
force_streams(endpoint *e, const struct state_want *w, size_t n, int last)
{
	Stp__V1__Record r;
	struct streams_buf b;

	e->now = NOW_MS;
	streams_msg(&r, &b, w, n, last);
	return ep_tx_message(e, FRAME_RECORD, &r);
}

static int
send_window(endpoint *e, uint32_t sid, uint32_t inc, uint64_t received,
    int fin)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__WindowUpdate w = STP__V1__WINDOW_UPDATE__INIT;

	w.stream_id = sid;
	w.increment = inc;
	w.received = received;
	w.fin = fin != 0;
	r.body_case = STP__V1__RECORD__BODY_WINDOW;
	r.window = &w;
	return endpoint_send(e, &r, NOW_MS);
}

static int
send_open(endpoint *e, uint32_t sid, const char *service)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamOpen o = STP__V1__STREAM_OPEN__INIT;

	o.stream_id = sid;
	o.service = (char *)service;
	o.window = 262144;
	r.body_case = STP__V1__RECORD__BODY_OPEN;
	r.open = &o;
	return endpoint_send(e, &r, NOW_MS);
}

static uint64_t
records_sent(endpoint *e)
{
	ep_stats st;

	endpoint_get_stats(e, &st);
	return st.records_sent;
}

/* ---- what each side saw ---- */

struct side_seen {
	int records, closed, pongs;
	int resumes;                     /* Resume records */
	uint8_t sid[KS_SID_LEN], proof[KS_PROOF_LEN];  /* the last one's */
	size_t sid_len, proof_len;
	char reason[160];
	int streams_recs;                /* ResumeStreams records */
	int last[4];                     /* their last flags, in order */
	struct state_want states[MAX_STATES];  /* every StreamState, in order */
	int n_states;
	int windows;                     /* WindowUpdates */
	uint32_t w_sid, w_inc;
	uint64_t w_received;
	int w_fin;
	int datas;                       /* StreamData records */
	uint32_t d_sid;
	char data[64];
	size_t data_len;
	int order[16];                   /* body_case of each record, in order */
};

struct seen {
	struct side_seen s[2];
	int err[2];                      /* the first endpoint_input error */
};

/* vec_pump's callback: what side k was given, copied while valid. */
static void
on_event(void *cookie, int k, const ep_event *ev)
{
	struct side_seen *s = &((struct seen *)cookie)->s[k];
	const Stp__V1__Record *r = ev->rec;
	size_t i, n;

	s->closed += ev->type == EP_CLOSED;
	s->pongs += ev->type == EP_PONG;
	if (ev->type != EP_RECORD || r == NULL)
		return;
	if (s->records < 16)
		s->order[s->records] = r->body_case;
	s->records++;
	switch (r->body_case) {
	case STP__V1__RECORD__BODY_RESUME:
		s->resumes++;
		s->sid_len = r->resume->session_id.len;
		memcpy(s->sid, r->resume->session_id.data,
		    s->sid_len < sizeof(s->sid) ? s->sid_len : sizeof(s->sid));
		s->proof_len = r->resume->proof.len;
		memcpy(s->proof, r->resume->proof.data, s->proof_len <
		    sizeof(s->proof) ? s->proof_len : sizeof(s->proof));
		snprintf(s->reason, sizeof(s->reason), "%s",
		    r->resume->reason != NULL ? r->resume->reason : "");
		break;
	case STP__V1__RECORD__BODY_RESUME_STREAMS:
		if (s->streams_recs < 4)
			s->last[s->streams_recs] = r->resume_streams->last;
		s->streams_recs++;
		n = r->resume_streams->n_streams;
		for (i = 0; i < n && s->n_states < MAX_STATES; i++) {
			const Stp__V1__StreamState *st =
			    r->resume_streams->streams[i];
			struct state_want *g = &s->states[s->n_states++];

			g->stream_id = st->stream_id;
			g->received = st->received;
			g->limit = st->limit;
			g->fin = st->fin;
			g->open = st->open;
		}
		break;
	case STP__V1__RECORD__BODY_WINDOW:
		s->windows++;
		s->w_sid = r->window->stream_id;
		s->w_inc = r->window->increment;
		s->w_received = r->window->received;
		s->w_fin = r->window->fin;
		break;
	case STP__V1__RECORD__BODY_DATA:
		s->datas++;
		s->d_sid = r->data->stream_id;
		s->data_len = r->data->data.len < sizeof(s->data) ?
		    r->data->data.len : sizeof(s->data);
		memcpy(s->data, r->data->data.data, s->data_len);
		break;
	default:
		break;
	}
}

static void
check_state(const struct state_want *g, const struct state_want *w)
{
	T_INT(g->stream_id, w->stream_id);
	T_INT(g->received, w->received);
	T_INT(g->limit, w->limit);
	T_INT(g->fin, w->fin);
	T_INT(g->open, w->open);
}

static void
pump(endpoint *e[2], struct wire *log_i, struct seen *sn)
{
	vec_pump(e, log_i, NOW_MS, sn->err, on_event, sn);
}

/* e from vec_pair(fi, fr), pumped until both are up with agreed.  0 or -1. */
static int
up(endpoint *e[2], struct seen *sn, uint32_t fi, uint32_t fr,
    uint32_t agreed)
{
	memset(sn, 0, sizeof(*sn));
	if (vec_pair(e, fi, fr, NOW_MS) != 0)
		return -1;
	pump(e, NULL, sn);
	if (!T_OK(endpoint_established(e[0]) && endpoint_established(e[1])))
		return -1;
	T_INT(endpoint_features(e[0]), agreed);
	T_INT(endpoint_features(e[1]), agreed);
	T_INT(records_sent(e[0]), 0);
	T_INT(records_sent(e[1]), 0);
	return 0;
}

static void
down(endpoint *e[2])
{
	endpoint_free(e[0]);
	endpoint_free(e[1]);
	e[0] = e[1] = NULL;
}

/* ---- the vector run ---- */

/*
 * Record{seq, time_ms = NOW_MS, <tag> body} by hand: seq (field 1) is left
 * out when 0, time_ms is field 2, then the body's field.  Returns the
 * length written.
 */
static size_t
record_pt(uint8_t *out, uint64_t seq, const uint8_t tag[2],
    const uint8_t *body, size_t blen)
{
	uint8_t *w = out;
	uint64_t t;

	if (seq != 0) {
		*w++ = 0x08;                /* field 1 (seq), varint */
		*w++ = (uint8_t)seq;        /* < 128 here */
	}
	*w++ = 0x10;                        /* field 2 (time_ms), varint */
	for (t = NOW_MS; t >= 0x80; t >>= 7)
		*w++ = (uint8_t)(t | 0x80);
	*w++ = (uint8_t)t;
	*w++ = tag[0];                      /* a two-byte tag: field >= 16 */
	*w++ = tag[1];
	*w++ = (uint8_t)blen;               /* < 128 here */
	memcpy(w, body, blen);
	return (size_t)(w - out) + blen;
}

/* Field 25 and 26, wire type 2: 25 << 3 | 2 = 202, 26 << 3 | 2 = 210. */
static const uint8_t tag_resume[2] = { 0xca, 0x01 };
static const uint8_t tag_streams[2] = { 0xd2, 0x01 };

/* ResumeStreams{streams = [vec_state], last = true} byte by byte. */
static const uint8_t streams_body[] = {
	0x0a, 0x0b,                       /* 1 streams: an 11-byte StreamState */
	0x08, 0x01,                       /*   1 stream_id: 1 */
	0x10, 0xe8, 0x07,                 /*   2 received: 1000 = 7 * 128 + 104 */
	0x18, 0xe8, 0x87, 0x10,           /*   3 limit: 263144 = 2^18 + 1000 */
	                                  /*   4 fin: false, left out */
	0x28, 0x01,                       /*   5 open: true */
	0x10, 0x01,                       /* 2 last: true */
};

/* Resume{session_id = sid, proof} byte by byte: 52 bytes. */
static size_t
resume_body(uint8_t out[52], const uint8_t sid[16], const uint8_t proof[32])
{
	out[0] = 0x0a;                      /* 1 session_id, 16 bytes */
	out[1] = 0x10;
	memcpy(out + 2, sid, 16);
	out[18] = 0x12;                     /* 2 proof, 32 bytes */
	out[19] = 0x20;
	memcpy(out + 20, proof, 32);
	return 52;
}

/* I's record i of session 2 as protobuf-c packs it; its length, or 0. */
static size_t
pack_record(int i, const uint8_t *sid, const uint8_t *proof, uint8_t *out,
    size_t cap)
{
	Stp__V1__Record r;
	Stp__V1__Resume m;
	struct streams_buf b;

	if (i == 0)
		resume_msg(&r, &m, sid, proof);
	else
		streams_msg(&r, &b, &vec_state, 1, 1);
	r.seq = (uint64_t)i;
	r.time_ms = NOW_MS;
	if (!T_OK(stp__v1__record__get_packed_size(&r) <= cap))
		return 0;
	return stp__v1__record__pack(&r, out);
}

static void
run(const char *file)
{
	static const char *const pt_name[2] = { "resume_pt", "streams_pt" };
	static const char *const frame_name[2] = { "resume_frame",
		"streams_frame" };
	struct wire log = { NULL, 0, 0 };
	struct frames fr;
	struct seen sn;
	endpoint *e1[2] = { NULL, NULL }, *e2[2] = { NULL, NULL };
	uint8_t sid_1[16], sid_2[16], rs_1[32], rs_1r[32], rs_2[32], rs_2r[32];
	uint8_t proof_i[32], proof_r[32], want_p[32], ts[64], key[32];
	uint8_t prefix[16], body[52], want[256], packed[256], pt[FMAX];
	size_t hs_len, pt_len, pk_len, n;
	int i;

	(void)file;
	rand_test_seed(RNG_SEED, strlen(RNG_SEED));

	t_set_ctx("vector run: session 1");
	memset(&sn, 0, sizeof(sn));
	if (vec_pair(e1, FEATURES_31, FEATURES_31, NOW_MS) != 0)
		goto out;
	pump(e1, NULL, &sn);
	if (!T_OK(endpoint_established(e1[0]) && endpoint_established(e1[1])))
		goto out;
	T_INT(endpoint_features(e1[0]), FEATURES_31);
	T_INT(endpoint_features(e1[1]), FEATURES_31);
	memcpy(sid_1, endpoint_sid(e1[0]), 16);
	T_MEM(endpoint_sid(e1[1]), 16, sid_1, 16);
	if (!T_INT(endpoint_resume_secret(e1[0], rs_1), 0) ||
	    !T_INT(endpoint_resume_secret(e1[1], rs_1r), 0))
		goto out;
	T_MEM(rs_1r, 32, rs_1, 32);
	T_OK(!t_all_zero(rs_1, 32));
	put("sid_1", sid_1, 16);
	put("rs_1", rs_1, 32);

	t_set_ctx("vector run: session 2");
	if (vec_pair(e2, FEATURES_31, FEATURES_31, NOW_MS) != 0)
		goto out;
	pump(e2, &log, &sn);
	if (!T_OK(endpoint_established(e2[0]) && endpoint_established(e2[1])))
		goto out;
	T_INT(endpoint_features(e2[0]), FEATURES_31);
	T_INT(endpoint_features(e2[1]), FEATURES_31);
	memcpy(sid_2, endpoint_sid(e2[0]), 16);
	T_MEM(endpoint_sid(e2[1]), 16, sid_2, 16);
	T_OK(differ(sid_2, sid_1, 16));
	/* A new session, a new resume secret. */
	if (T_INT(endpoint_resume_secret(e2[0], rs_2), 0) &&
	    T_INT(endpoint_resume_secret(e2[1], rs_2r), 0)) {
		T_MEM(rs_2r, 32, rs_2, 32);
		T_OK(differ(rs_2, rs_1, 32));
	}
	memcpy(ts, e2[0]->tx.ts, 64);
	put("sid_2", sid_2, 16);
	put("ts_i_0", ts, 64);

	t_set_ctx("vector run: proofs");
	T_INT(ks_resume_proof(proof_i, rs_1, 'i', sid_1, sid_2), 0);
	T_INT(ks_resume_proof(proof_r, rs_1, 'r', sid_1, sid_2), 0);
	if (T_INT(ossl_proof(want_p, rs_1, 'i', sid_1, sid_2), 0))
		T_MEM(proof_i, 32, want_p, 32);
	if (T_INT(ossl_proof(want_p, rs_1, 'r', sid_1, sid_2), 0))
		T_MEM(proof_r, 32, want_p, 32);
	T_OK(differ(proof_i, proof_r, 32));
	put("proof_i", proof_i, 32);
	put("proof_r", proof_r, 32);

	t_set_ctx("vector run: I's records");
	hs_len = log.len;
	T_INT(send_resume(e2[0], sid_1, proof_i), 0);
	T_INT(send_streams(e2[0], &vec_state, 1, 1), 0);
	pump(e2, &log, &sn);
	T_INT(sn.err[0], 0);
	T_INT(sn.err[1], 0);
	T_INT(sn.s[1].records, 2);
	if (T_INT(sn.s[1].resumes, 1)) {
		/* What R checks: the proof from its own rs_1 and sid_2. */
		T_INT(ks_resume_proof(want_p, rs_1r, 'i', sid_1,
		    endpoint_sid(e2[1])), 0);
		T_MEM(sn.s[1].sid, sn.s[1].sid_len, sid_1, 16);
		T_MEM(sn.s[1].proof, sn.s[1].proof_len, want_p, 32);
	}
	if (T_INT(sn.s[1].streams_recs, 1) && T_INT(sn.s[1].n_states, 1)) {
		T_INT(sn.s[1].last[0], 1);
		check_state(&sn.s[1].states[0], &vec_state);
	}

	memset(&fr, 0, sizeof(fr));
	split(&fr, log.b + hs_len, log.len - hs_len);
	if (!T_INT(fr.n, 2))
		goto out;
	derive(key, 32, ts, 64, "key", NULL, 0);
	derive(prefix, 16, ts, 64, "prefix", NULL, 0);
	for (i = 0; i < 2; i++) {
		t_set_ctx("vector run: %s", pt_name[i]);
		if (i == 0)
			n = record_pt(want, 0, tag_resume, body,
			    resume_body(body, sid_1, proof_i));
		else
			n = record_pt(want, 1, tag_streams, streams_body,
			    sizeof(streams_body));
		/* The hand-written bytes are what protobuf-c packs. */
		pk_len = pack_record(i, sid_1, proof_i, packed, sizeof(packed));
		T_MEM(packed, pk_len, want, n);
		T_INT(fr.f[i][0], FRAME_RECORD);
		pt_len = sizeof(pt);
		T_INT(open_frame(fr.f[i], fr.len[i], key, prefix, (uint64_t)i,
		    pt, &pt_len), 0);
		T_MEM(pt, pt_len, want, n);
		put(pt_name[i], pt, pt_len);
		put(frame_name[i], fr.f[i], fr.len[i]);
	}
	/* Record 1 does not open as record 0: the nonce has the seq. */
	t_set_ctx("vector run: streams_frame at seq 0");
	pt_len = sizeof(pt);
	T_INT(open_frame(fr.f[1], fr.len[1], key, prefix, 0, pt, &pt_len),
	    STP_EAUTH);
out:
	rand_test_seed(NULL, 0);
	down(e1);
	down(e2);
	free(log.b);
}

/* ---- behaviour ---- */

static const uint8_t some_sid[16] = { 0x5e, 0x55, 0x10, 0x4e, 1, 2, 3, 4,
	5, 6, 7, 8, 9, 10, 11, 12 };
static const uint8_t some_proof[32] = { 0x70, 0x72, 0x6f, 0x6f, 0x66 };
static const struct state_want a_state = { 3, 10, 65546, 1, 1 };

static void
secret_not_agreed(const char *name, uint32_t fi, uint32_t fr)
{
	endpoint *e[2] = { NULL, NULL };
	struct seen sn;
	uint8_t out[32], fill[32];
	int k;

	t_set_ctx("%s", name);
	memset(fill, 0xa5, sizeof(fill));
	if (up(e, &sn, fi, fr, FEATURES_15) == 0)
		for (k = 0; k < 2; k++) {
			memcpy(out, fill, sizeof(out));
			T_INT(endpoint_resume_secret(e[k], out), STP_ESTATE);
			T_MEM(out, sizeof(out), fill, sizeof(fill));
		}
	down(e);
}

static void
test_secret(void)
{
	endpoint *e[2] = { NULL, NULL };
	struct seen sn;
	uint8_t a[32], b[32], fill[32];

	t_set_ctx("resume secret: before the handshake");
	memset(fill, 0xa5, sizeof(fill));
	if (vec_pair(e, FEATURES_31, FEATURES_31, NOW_MS) == 0) {
		memcpy(a, fill, 32);
		T_INT(endpoint_resume_secret(e[0], a), STP_ESTATE);
		T_INT(endpoint_resume_secret(e[1], a), STP_ESTATE);
		T_MEM(a, 32, fill, 32);
	}
	down(e);

	t_set_ctx("resume secret: 31 and 31");
	if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) == 0) {
		memset(a, 0, 32);
		memset(b, 0xff, 32);
		T_INT(endpoint_resume_secret(e[0], a), 0);
		T_INT(endpoint_resume_secret(e[1], b), 0);
		T_MEM(a, 32, b, 32);
		T_OK(!t_all_zero(a, 32));
		/* Not the session id (its first 16 bytes), not a traffic secret. */
		T_OK(differ(a, endpoint_sid(e[0]), 16));
		T_OK(differ(a, e[0]->tx.ts, 32));
		T_OK(differ(a, e[0]->rx.ts, 32));
	}
	down(e);

	secret_not_agreed("resume secret: I 31, R 15", FEATURES_31, FEATURES_15);
	secret_not_agreed("resume secret: I 15, R 31", FEATURES_15, FEATURES_31);
}

/* endpoint_send(e, Resume or ResumeStreams) refused, nothing sent. */
static void
refused(endpoint *e, int streams)
{
	uint64_t sent = records_sent(e);
	size_t pending = endpoint_output_pending(e);

	if (streams)
		T_INT(send_streams(e, &a_state, 1, 1), STP_EPROTO);
	else
		T_INT(send_resume(e, some_sid, some_proof), STP_EPROTO);
	T_INT(records_sent(e), sent);
	T_INT(endpoint_output_pending(e), pending);
}

static void
test_send_order(void)
{
	endpoint *e[2] = { NULL, NULL };
	struct seen sn;

	/* With the bit agreed: each refusal, then what the rules allow. */
	t_set_ctx("send: R first");
	if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) == 0) {
		refused(e[1], 0);            /* R's Resume before I's came */
		refused(e[1], 1);            /* R's ResumeStreams too */
		t_set_ctx("send: I's table before its Resume");
		refused(e[0], 1);
		t_set_ctx("send: I's Resume, R's answer");
		T_INT(send_resume(e[0], some_sid, some_proof), 0);
		T_INT(records_sent(e[0]), 1);
		t_set_ctx("send: I's second Resume");
		refused(e[0], 0);
		t_set_ctx("send: R's Resume before I's arrived");
		refused(e[1], 0);
		pump(e, NULL, &sn);
		T_INT(sn.s[1].resumes, 1);
		T_INT(sn.err[1], 0);
		t_set_ctx("send: R's table before its own Resume");
		refused(e[1], 1);
		t_set_ctx("send: R's answer");
		T_INT(send_resume(e[1], some_sid, some_proof), 0);
		T_INT(records_sent(e[1]), 1);
		t_set_ctx("send: R's second Resume");
		refused(e[1], 0);
		t_set_ctx("send: tables after the Resumes");
		T_INT(send_streams(e[0], &a_state, 1, 1), 0);
		T_INT(send_streams(e[1], &a_state, 1, 1), 0);
		pump(e, NULL, &sn);
		T_INT(sn.err[0], 0);
		T_INT(sn.err[1], 0);
		T_INT(sn.s[0].resumes, 1);
		T_INT(sn.s[0].streams_recs, 1);
		T_INT(sn.s[1].streams_recs, 1);
	}
	down(e);

	/*
	 * A Ping (or a Pong, a cover, a key update) may come first: the
	 * initiator answers the responder's first Ping before its session
	 * layer sees the session.  Only stream records make it too late.
	 */
	t_set_ctx("send: I's Resume after a Ping");
	if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) == 0) {
		T_INT(endpoint_ping(e[0], NOW_MS), 0);
		T_INT(records_sent(e[0]), 1);
		T_INT(send_resume(e[0], some_sid, some_proof), 0);
		T_INT(records_sent(e[0]), 2);
		T_INT(send_streams(e[0], &a_state, 1, 1), 0);
		t_set_ctx("send: I's table after its last");
		refused(e[0], 1);
		pump(e, NULL, &sn);
		T_INT(sn.s[0].pongs, 1);
		T_INT(sn.s[1].resumes, 1);
		T_INT(sn.s[1].streams_recs, 1);
		T_INT(sn.err[1], 0);
	}
	down(e);

	t_set_ctx("send: I's Resume after a StreamOpen");
	if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) == 0) {
		T_INT(send_open(e[0], 1, "db"), 0);
		refused(e[0], 0);
		pump(e, NULL, &sn);
		T_INT(sn.s[1].records, 1);
		T_INT(sn.s[1].order[0], STP__V1__RECORD__BODY_OPEN);
	}
	down(e);

	t_set_ctx("send: I 31, R 15");
	if (up(e, &sn, FEATURES_31, FEATURES_15, FEATURES_15) == 0) {
		refused(e[0], 0);
		refused(e[0], 1);
		refused(e[1], 0);
		refused(e[1], 1);
		/* The session itself is fine: I's first record goes. */
		T_INT(endpoint_ping(e[0], NOW_MS), 0);
		pump(e, NULL, &sn);
		T_INT(sn.s[0].pongs, 1);
		T_INT(sn.err[0], 0);
		T_INT(sn.err[1], 0);
	}
	down(e);

	t_set_ctx("send: I 15, R 31");
	if (up(e, &sn, FEATURES_15, FEATURES_31, FEATURES_15) == 0)
		refused(e[0], 0);
	down(e);
}

/*
 * The whole exchange over a session that takes over a real one: session A
 * comes up and is dropped (its secrets kept); session B's I resumes it.
 */
static void
test_exchange(void)
{
	static const struct state_want i_states[2] = {
		{ 1, 5000, 267144, 0, 1 },
		{ 3, 0, 262144, 1, 0 },
	};
	static const struct state_want r_states[1] = {
		{ 2, 123456789012ull, 123457051156ull, 1, 1 },
	};
	static const char to_r[] = "after the resumption, I -> R";
	static const char to_i[] = "after the resumption, R -> I";
	endpoint *a[2] = { NULL, NULL }, *e[2] = { NULL, NULL };
	struct seen sn;
	uint8_t sid_a[16], rs_i[32], rs_r[32], p_i[32], p_r[32], want[32];

	t_set_ctx("exchange: session A");
	if (up(a, &sn, FEATURES_31, FEATURES_31, FEATURES_31) != 0)
		goto out;
	memcpy(sid_a, endpoint_sid(a[0]), 16);
	if (!T_INT(endpoint_resume_secret(a[0], rs_i), 0) ||
	    !T_INT(endpoint_resume_secret(a[1], rs_r), 0))
		goto out;
	down(a);

	t_set_ctx("exchange: session B");
	if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) != 0)
		goto out;
	T_OK(differ(endpoint_sid(e[0]), sid_a, 16));
	/* I: Resume as record 0, its first table record, without waiting. */
	T_INT(ks_resume_proof(p_i, rs_i, 'i', sid_a, endpoint_sid(e[0])), 0);
	T_INT(send_resume(e[0], sid_a, p_i), 0);
	T_INT(send_streams(e[0], &i_states[0], 1, 0), 0);
	/* R: its ping first (the gateway's accept), then the answer. */
	T_INT(endpoint_ping(e[1], NOW_MS), 0);
	pump(e, NULL, &sn);
	T_INT(sn.err[0], 0);
	T_INT(sn.err[1], 0);
	if (!T_INT(sn.s[1].resumes, 1))
		goto out;
	T_INT(sn.s[1].order[0], STP__V1__RECORD__BODY_RESUME);
	T_INT(sn.s[1].order[1], STP__V1__RECORD__BODY_RESUME_STREAMS);
	T_MEM(sn.s[1].sid, sn.s[1].sid_len, sid_a, 16);
	T_INT(ks_resume_proof(want, rs_r, 'i', sid_a, endpoint_sid(e[1])), 0);
	T_MEM(sn.s[1].proof, sn.s[1].proof_len, want, 32);
	T_INT(ks_resume_proof(p_r, rs_r, 'r', sid_a, endpoint_sid(e[1])), 0);
	T_INT(send_resume(e[1], sid_a, p_r), 0);
	T_INT(send_streams(e[1], r_states, 1, 0), 0);
	T_INT(send_streams(e[1], NULL, 0, 1), 0);
	T_INT(send_streams(e[0], &i_states[1], 1, 1), 0);
	pump(e, NULL, &sn);
	T_INT(sn.err[0], 0);
	T_INT(sn.err[1], 0);

	t_set_ctx("exchange: what I got");
	T_INT(sn.s[0].pongs, 0);
	if (T_INT(sn.s[0].resumes, 1)) {
		T_MEM(sn.s[0].sid, sn.s[0].sid_len, sid_a, 16);
		T_INT(ks_resume_proof(want, rs_i, 'r', sid_a,
		    endpoint_sid(e[0])), 0);
		T_MEM(sn.s[0].proof, sn.s[0].proof_len, want, 32);
		T_OK(differ(sn.s[0].proof, p_i, 32));
		T_INT(strlen(sn.s[0].reason), 0);
	}
	if (T_INT(sn.s[0].streams_recs, 2)) {
		T_INT(sn.s[0].last[0], 0);
		T_INT(sn.s[0].last[1], 1);
	}
	if (T_INT(sn.s[0].n_states, 1))
		check_state(&sn.s[0].states[0], &r_states[0]);
	T_INT(sn.s[0].records, 3);

	t_set_ctx("exchange: what R got");
	if (T_INT(sn.s[1].streams_recs, 2)) {
		T_INT(sn.s[1].last[0], 0);
		T_INT(sn.s[1].last[1], 1);
	}
	if (T_INT(sn.s[1].n_states, 2)) {
		check_state(&sn.s[1].states[0], &i_states[0]);
		check_state(&sn.s[1].states[1], &i_states[1]);
	}
	T_INT(sn.s[1].records, 3);
	T_INT(sn.s[1].pongs, 1);     /* I answered R's ping */

	t_set_ctx("exchange: afterwards");
	T_INT(endpoint_send_data(e[0], 1, (const uint8_t *)to_r, strlen(to_r),
	    NOW_MS), 0);
	T_INT(endpoint_send_data(e[1], 2, (const uint8_t *)to_i, strlen(to_i),
	    NOW_MS), 0);
	T_INT(endpoint_ping(e[0], NOW_MS), 0);
	pump(e, NULL, &sn);
	T_INT(sn.s[1].datas, 1);
	T_INT(sn.s[1].d_sid, 1);
	T_MEM(sn.s[1].data, sn.s[1].data_len, to_r, strlen(to_r));
	T_INT(sn.s[0].datas, 1);
	T_INT(sn.s[0].d_sid, 2);
	T_MEM(sn.s[0].data, sn.s[0].data_len, to_i, strlen(to_i));
	T_INT(sn.s[0].pongs, 1);
	T_INT(sn.err[0], 0);
	T_INT(sn.err[1], 0);
	T_INT(sn.s[0].closed, 0);
	T_INT(sn.s[1].closed, 0);
	T_OK(!endpoint_finished(e[0]) && !endpoint_finished(e[1]));
	/* Still no third Resume from either side. */
	refused(e[0], 0);
	refused(e[1], 0);
out:
	down(a);
	down(e);
}

/*
 * After the forced record: the receiver (k) failed with STP_EPROTO and a
 * reason holding what, told the sender with a Close, and delivered no
 * more Resume or ResumeStreams records than before (resumes, streams).
 */
static void
failed(endpoint *e[2], struct seen *sn, int k, const char *what,
    int resumes, int streams)
{
	const char *why = endpoint_reason(e[k]);

	T_INT(sn->err[k], STP_EPROTO);
	if (!T_OK(why != NULL && strstr(why, what) != NULL))
		fprintf(stderr, "  reason: %s\n", why != NULL ? why : "(none)");
	T_INT(sn->s[k].resumes, resumes);
	T_INT(sn->s[k].streams_recs, streams);
	T_INT(sn->s[1 - k].closed, 1);
	T_INT(sn->err[1 - k], 0);
	T_OK(endpoint_finished(e[k]));
}

/*
 * R's first record, queued before I's offending one reaches it: what the
 * gateway sends on accepting I.  Without it R's Close would be its record
 * 0, which I takes for a refused handshake (STP_EREJECTED), not a session
 * that R closed.
 */
static void
r_accepts(endpoint *r)
{
	T_INT(endpoint_ping(r, NOW_MS), 0);
}

static void
test_recv_order(void)
{
	endpoint *e[2] = { NULL, NULL };
	struct seen sn;

	t_set_ctx("receive: I's Resume after a StreamOpen");
	if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) == 0) {
		r_accepts(e[1]);
		T_INT(endpoint_ping(e[0], NOW_MS), 0);
		T_INT(send_open(e[0], 1, "db"), 0);
		pump(e, NULL, &sn);
		T_INT(sn.s[0].pongs, 1);
		T_INT(sn.err[1], 0);
		T_INT(force_resume(e[0], some_sid, some_proof), 0);
		pump(e, NULL, &sn);
		failed(e, &sn, 1, "after the initiator's stream records", 0, 0);
	}
	down(e);

	/* Malformed: a short session id; both a proof and a reason; neither. */
	for (int k = 0; k < 3; k++) {
		t_set_ctx("receive: a malformed Resume (%d)", k);
		if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) != 0) {
			down(e);
			continue;
		}
		r_accepts(e[1]);
		{
			Stp__V1__Record r;
			Stp__V1__Resume m;

			resume_msg(&r, &m, some_sid, k == 2 ? NULL : some_proof);
			if (k == 0)
				m.session_id.len = KS_SID_LEN - 1;
			if (k == 1)
				m.reason = (char *)"no";
			e[0]->now = NOW_MS;
			T_INT(ep_tx_message(e[0], FRAME_RECORD, &r), 0);
		}
		pump(e, NULL, &sn);
		failed(e, &sn, 1, "malformed", 0, 0);
		down(e);
	}

	t_set_ctx("receive: I's second Resume");
	if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) == 0) {
		T_INT(send_resume(e[0], some_sid, some_proof), 0);
		pump(e, NULL, &sn);
		T_INT(sn.s[1].resumes, 1);
		T_INT(sn.err[1], 0);
		r_accepts(e[1]);
		T_INT(force_resume(e[0], some_sid, some_proof), 0);
		pump(e, NULL, &sn);
		failed(e, &sn, 1, "a second one", 1, 0);
	}
	down(e);

	t_set_ctx("receive: ResumeStreams after the last");
	if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) == 0) {
		T_INT(send_resume(e[0], some_sid, some_proof), 0);
		T_INT(send_streams(e[0], &a_state, 1, 0), 0);
		T_INT(send_streams(e[0], &a_state, 1, 1), 0);
		pump(e, NULL, &sn);
		T_INT(sn.s[1].streams_recs, 2);
		T_INT(sn.err[1], 0);
		r_accepts(e[1]);
		T_INT(force_streams(e[0], &a_state, 1, 1), 0);
		pump(e, NULL, &sn);
		failed(e, &sn, 1, "after the peer's last", 1, 2);
	}
	down(e);

	t_set_ctx("receive: R's ResumeStreams after its last");
	if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) == 0) {
		T_INT(send_resume(e[0], some_sid, some_proof), 0);
		pump(e, NULL, &sn);
		T_INT(send_resume(e[1], some_sid, some_proof), 0);
		T_INT(send_streams(e[1], NULL, 0, 1), 0);
		pump(e, NULL, &sn);
		T_INT(sn.s[0].resumes, 1);
		T_INT(sn.s[0].streams_recs, 1);
		T_INT(sn.err[0], 0);
		T_INT(force_streams(e[1], NULL, 0, 0), 0);
		pump(e, NULL, &sn);
		failed(e, &sn, 0, "after the peer's last", 1, 1);
	}
	down(e);

	t_set_ctx("receive: ResumeStreams before any Resume");
	if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) == 0) {
		r_accepts(e[1]);
		T_INT(force_streams(e[0], &a_state, 1, 1), 0);
		pump(e, NULL, &sn);
		failed(e, &sn, 1, "before the peer's resume", 0, 0);
	}
	down(e);

	t_set_ctx("receive: R's Resume that answers nothing");
	if (up(e, &sn, FEATURES_31, FEATURES_31, FEATURES_31) == 0) {
		T_INT(force_resume(e[1], some_sid, some_proof), 0);
		pump(e, NULL, &sn);
		failed(e, &sn, 0, "not an answer to ours", 0, 0);
	}
	down(e);

	t_set_ctx("receive: Resume, I 31 and R 15");
	if (up(e, &sn, FEATURES_31, FEATURES_15, FEATURES_15) == 0) {
		r_accepts(e[1]);
		T_INT(force_resume(e[0], some_sid, some_proof), 0);
		pump(e, NULL, &sn);
		failed(e, &sn, 1, "an extension not agreed", 0, 0);
	}
	down(e);

	t_set_ctx("receive: ResumeStreams, I 15 and R 31");
	if (up(e, &sn, FEATURES_15, FEATURES_31, FEATURES_15) == 0) {
		T_INT(force_streams(e[1], &a_state, 1, 1), 0);
		pump(e, NULL, &sn);
		failed(e, &sn, 0, "an extension not agreed", 0, 0);
	}
	down(e);
}

/* A WindowUpdate each way; both sides see received/fin only when agreed. */
static void
window_case(const char *name, uint32_t fi, uint32_t fr, uint32_t agreed)
{
	const uint64_t big = 5000000000ull;    /* over 32 bits */
	const int on = (agreed & HS_FEATURE_RESUME) != 0;
	endpoint *e[2] = { NULL, NULL };
	struct seen sn;
	int k;

	t_set_ctx("%s", name);
	if (up(e, &sn, fi, fr, agreed) == 0) {
		T_INT(send_window(e[0], 1, 65536, big, 1), 0);
		T_INT(send_window(e[1], 2, 0, 77, 1), 0);
		pump(e, NULL, &sn);
		for (k = 0; k < 2; k++)
			if (T_INT(sn.s[k].windows, 1)) {
				T_INT(sn.s[k].w_sid, k == 1 ? 1 : 2);
				T_INT(sn.s[k].w_inc, k == 1 ? 65536 : 0);
				T_INT(sn.s[k].w_received,
				    on ? (k == 1 ? big : 77) : 0);
				T_INT(sn.s[k].w_fin, on);
			}
		/* received without fin stays so. */
		T_INT(send_window(e[0], 1, 100, 42, 0), 0);
		pump(e, NULL, &sn);
		if (T_INT(sn.s[1].windows, 2)) {
			T_INT(sn.s[1].w_inc, 100);
			T_INT(sn.s[1].w_received, on ? 42 : 0);
			T_INT(sn.s[1].w_fin, 0);
		}
		T_INT(sn.err[0], 0);
		T_INT(sn.err[1], 0);
	}
	down(e);
}

static void
run_all(const char *file)
{
	test_keysched();
	t_section("key schedule (OpenSSL)");
	run(file);
	t_section("vector run");
	test_secret();
	t_section("endpoint_resume_secret");
	test_send_order();
	t_section("order rules on sending");
	test_exchange();
	t_section("the exchange");
	test_recv_order();
	t_section("order rules on receipt");
	window_case("window: 31 and 31", FEATURES_31, FEATURES_31, FEATURES_31);
	window_case("window: I 31, R 15", FEATURES_31, FEATURES_15, FEATURES_15);
	window_case("window: I 15, R 31", FEATURES_15, FEATURES_31, FEATURES_15);
	t_section("WindowUpdate fields");
}

int
main(int argc, char **argv)
{
	return vec_main(argc, argv, run_all, N_VALUES,
	    "# STP v1.1 stream resumption vectors: proto/STP.md, \"Resumption\"\n"
	    "# and \"Test vectors\".\n"
	    "# Written by tests/protocol/test_vectors_resume.c --write; its\n"
	    "# top comment says how the run is set up (two sessions in one run,\n"
	    "# both Auths features = 31; ts_i_0 is session 2's).  One value per\n"
	    "# line: name = hex.\n");
}

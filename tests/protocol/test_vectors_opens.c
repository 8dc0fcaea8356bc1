/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vectors_opens.c: the StreamOpen extensions (proto/STP.md, "Stream
 * addresses" and "Dynamic opens"): vectors in
 * tests/protocol/stp_v1_1_opens.txt, and what a receiver sees of their
 * fields with and without the bits agreed.
 *
 * Usage: test_vectors_opens <path to stp_v1_1_opens.txt> [--write]
 *
 * The vector run: the parties, RNG seed and clocks of stp_v1_1_identity.txt
 * (identity seeds 32 x 0x01 for I and 32 x 0x02 for R, RNG "stp1 test
 * vector", Unix clock 1700000000 s, record clock 1700000000000 ms, both Auth
 * flags 0, R does not ping), except that both Auths set features = 7
 * (FEATURE_IDENTITY_UPDATE | FEATURE_STREAM_ADDRESSES | FEATURE_DYNAMIC_OPEN),
 * so AUTH_R, AUTH_I and everything derived after TH2 differ from that file's.
 * Once established, I sends three StreamOpens as its records 0, 1 and 2:
 *   1: stream 1, service "db", window 262144, source 192.0.2.10:50000,
 *      destination 127.0.0.1:5432;
 *   3: stream 3, service "web", window 262144, source [2001:db8::1]:443,
 *      destination [::1]:8443 (16-byte addresses);
 *   5: stream 5, no service, window 262144, target example.com:443, no
 *      addresses.
 * Values: sid, ts_i_0 (I's traffic secret, generation 0), then openN_pt (the
 * record's plaintext) and openN_frame for N = 1, 2, 3.
 *
 * Recomputed from the spec alone: each plaintext written out by hand
 * (Record{seq = 1 (absent when 0), time_ms = 2, open = 10 {fields 1..9}}),
 * checked against what protobuf-c packs, and each frame opened with
 * XChaCha20-Poly1305 under Derive(ts_i_0, "key") and Derive(ts_i_0,
 * "prefix") at sequence numbers 0, 1, 2.
 *
 * Then behaviour, with fresh endpoints: I always sends all three opens with
 * every field (the endpoint does not hold a sender back; the reactor sends
 * the fields only when agreed), and R's EP_RECORD events show exactly the
 * fields of the extensions both Auths set: all of them at 7 and 7; none at
 * 7 and 1 (stream_id, service and window intact); the addresses but no
 * target at 3 and 7.  A feature bit neither side knows (1 << 9), set by one
 * side, changes nothing.  In every case data still flows after the opens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "endpoint.h"
#include "endpoint_int.h"
#include "err.h"
#include "handshake.h"
#include "testlib.h"
#include "vectors_common.h"

#define N_VALUES 8
#define N_OPENS 3
#define WINDOW 262144u
#define FEATURES_7 (HS_FEATURE_IDENTITY_UPDATE | \
	HS_FEATURE_STREAM_ADDRESSES | HS_FEATURE_DYNAMIC_OPEN)
#define UNKNOWN_BIT (1u << 9)

/* One StreamOpen, as I sends it. */
struct open_want {
	uint32_t stream_id;
	const char *service;             /* "": absent */
	uint32_t window;
	uint8_t sip[16], dip[16];
	size_t sip_len, dip_len;         /* 0: absent */
	uint32_t sport, dport;
	const char *host;                /* "": absent */
	uint32_t tport;
};

static const struct open_want opens[N_OPENS] = {
	{ 1, "db", WINDOW, { 192, 0, 2, 10 }, { 127, 0, 0, 1 }, 4, 4,
	    50000, 5432, "", 0 },
	{ 3, "web", WINDOW, { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 },
	    { [15] = 0x01 }, 16, 16, 443, 8443, "", 0 },
	{ 5, "", WINDOW, { 0 }, { 0 }, 0, 0, 0, 0, "example.com", 443 },
};

/*
 * The same three StreamOpen messages byte by byte from stp.proto: each
 * field's tag is field << 3 | wire type (0 varint, 2 length-delimited);
 * proto3 leaves out empty and zero fields.
 */
static const uint8_t body1[] = {
	0x08, 0x01,                       /* 1 stream_id: 1 */
	0x12, 0x02, 'd', 'b',             /* 2 service: "db" */
	0x18, 0x80, 0x80, 0x10,           /* 3 window: 262144 = 2^18 */
	0x22, 0x04, 192, 0, 2, 10,        /* 4 source_ip: 192.0.2.10 */
	0x28, 0xd0, 0x86, 0x03,           /* 5 source_port: 50000 */
	0x32, 0x04, 127, 0, 0, 1,         /* 6 destination_ip: 127.0.0.1 */
	0x38, 0xb8, 0x2a,                 /* 7 destination_port: 5432 */
};
static const uint8_t body2[] = {
	0x08, 0x03,                       /* 1 stream_id: 3 */
	0x12, 0x03, 'w', 'e', 'b',        /* 2 service: "web" */
	0x18, 0x80, 0x80, 0x10,           /* 3 window */
	0x22, 0x10,                       /* 4 source_ip: 2001:db8::1 */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0x28, 0xbb, 0x03,                 /* 5 source_port: 443 */
	0x32, 0x10,                       /* 6 destination_ip: ::1 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0x38, 0xfb, 0x41,                 /* 7 destination_port: 8443 */
};
static const uint8_t body3[] = {
	0x08, 0x05,                       /* 1 stream_id: 5 (no 2 service) */
	0x18, 0x80, 0x80, 0x10,           /* 3 window */
	0x42, 0x0b,                       /* 8 target_host: "example.com" */
	'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
	0x48, 0xbb, 0x03,                 /* 9 target_port: 443 */
};
static const uint8_t *const bodies[N_OPENS] = { body1, body2, body3 };
static const size_t body_len[N_OPENS] = { sizeof(body1), sizeof(body2),
	sizeof(body3) };

/*
 * Record{seq, time_ms = NOW_MS, open = body} by hand: seq (field 1) is left
 * out when 0, time_ms is field 2, open field 10 (tag 0x52).  Returns the
 * length written.
 */
static size_t
record_pt(uint8_t *out, uint64_t seq, const uint8_t *body, size_t blen)
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
	*w++ = 0x52;                        /* field 10 (open), length-delim. */
	*w++ = (uint8_t)blen;               /* < 128 here */
	memcpy(w, body, blen);
	return (size_t)(w - out) + blen;
}

/* o as the message I sends: every field of it. */
static void
to_msg(const struct open_want *w, Stp__V1__StreamOpen *o)
{
	stp__v1__stream_open__init(o);
	o->stream_id = w->stream_id;
	o->service = (char *)w->service;
	o->window = w->window;
	o->source_ip.data = (uint8_t *)w->sip;
	o->source_ip.len = w->sip_len;
	o->source_port = w->sport;
	o->destination_ip.data = (uint8_t *)w->dip;
	o->destination_ip.len = w->dip_len;
	o->destination_port = w->dport;
	o->target_host = (char *)w->host;
	o->target_port = w->tport;
}

/* I sends the three opens, then (with data) a StreamData on stream 1. */
static void
send_opens(endpoint *e, const char *data)
{
	Stp__V1__Record r;
	Stp__V1__StreamOpen o;
	int i;

	for (i = 0; i < N_OPENS; i++) {
		stp__v1__record__init(&r);
		to_msg(&opens[i], &o);
		r.body_case = STP__V1__RECORD__BODY_OPEN;
		r.open = &o;
		T_INT(endpoint_send(e, &r, NOW_MS), 0);
	}
	if (data != NULL)
		T_INT(endpoint_send_data(e, 1, (const uint8_t *)data,
		    strlen(data), NOW_MS), 0);
}

/* ---- what the receiver saw ---- */

struct got_open {
	uint32_t stream_id, window, sport, dport, tport;
	char service[80], host[300];
	uint8_t sip[16], dip[16];
	size_t sip_len, dip_len;         /* as received, even over 16 */
};

struct seen {
	struct got_open open[8];
	int opens;                       /* StreamOpens R got */
	int records[2];                  /* EP_RECORD events */
	int closed[2];                   /* EP_CLOSED events */
	int err[2];                      /* the first endpoint_input error */
	char data[64];                   /* the last StreamData R got */
	size_t data_len;
};

static void
copy_ip(uint8_t to[16], size_t *to_len, const ProtobufCBinaryData *b)
{
	*to_len = b->len;
	if (b->len > 0)
		memcpy(to, b->data, b->len < 16 ? b->len : 16);
}

/* vec_pump's callback: R's opens and data, copied while valid. */
static void
on_event(void *cookie, int k, const ep_event *ev)
{
	struct seen *sn = cookie;
	const Stp__V1__StreamOpen *o;
	const Stp__V1__StreamData *d;
	struct got_open *g;

	sn->closed[k] += ev->type == EP_CLOSED;
	if (ev->type != EP_RECORD)
		return;
	sn->records[k]++;
	if (k != 1)
		return;
	if (ev->rec->body_case == STP__V1__RECORD__BODY_DATA &&
	    (d = ev->rec->data) != NULL) {
		sn->data_len = d->data.len < sizeof(sn->data) ? d->data.len :
		    sizeof(sn->data);
		memcpy(sn->data, d->data.data, sn->data_len);
	}
	if (ev->rec->body_case != STP__V1__RECORD__BODY_OPEN ||
	    (o = ev->rec->open) == NULL || sn->opens == 8)
		return;
	g = &sn->open[sn->opens++];
	g->stream_id = o->stream_id;
	g->window = o->window;
	snprintf(g->service, sizeof(g->service), "%s",
	    o->service != NULL ? o->service : "");
	copy_ip(g->sip, &g->sip_len, &o->source_ip);
	copy_ip(g->dip, &g->dip_len, &o->destination_ip);
	g->sport = o->source_port;
	g->dport = o->destination_port;
	snprintf(g->host, sizeof(g->host), "%s",
	    o->target_host != NULL ? o->target_host : "");
	g->tport = o->target_port;
}

static void
check_str(const char *got, const char *want)
{
	T_MEM(got, strlen(got), want, strlen(want));
}

/*
 * R's copy of open w when the agreed set is agreed: the fields of an
 * extension not in it read as absent (STP.md, "Auth": treated as absent).
 */
static void
check_open(const struct got_open *g, const struct open_want *w,
    uint32_t agreed)
{
	T_INT(g->stream_id, w->stream_id);
	check_str(g->service, w->service);
	T_INT(g->window, w->window);
	if (agreed & HS_FEATURE_STREAM_ADDRESSES) {
		T_MEM(g->sip, g->sip_len < 16 ? g->sip_len : 16, w->sip,
		    w->sip_len);
		T_INT(g->sip_len, w->sip_len);
		T_INT(g->sport, w->sport);
		T_MEM(g->dip, g->dip_len < 16 ? g->dip_len : 16, w->dip,
		    w->dip_len);
		T_INT(g->dip_len, w->dip_len);
		T_INT(g->dport, w->dport);
	} else {
		T_INT(g->sip_len, 0);
		T_INT(g->sport, 0);
		T_INT(g->dip_len, 0);
		T_INT(g->dport, 0);
	}
	if (agreed & HS_FEATURE_DYNAMIC_OPEN) {
		check_str(g->host, w->host);
		T_INT(g->tport, w->tport);
	} else {
		check_str(g->host, "");
		T_INT(g->tport, 0);
	}
}

/* ---- the vector run ---- */

static void
run(const char *file)
{
	static const char *const pt_name[N_OPENS] = { "open1_pt", "open2_pt",
		"open3_pt" };
	static const char *const frame_name[N_OPENS] = { "open1_frame",
		"open2_frame", "open3_frame" };
	struct wire log = { NULL, 0, 0 };
	struct frames fr;
	struct seen sn;
	endpoint *e[2] = { NULL, NULL };
	Stp__V1__Record r;
	Stp__V1__StreamOpen o;
	uint8_t ts[64], key[32], prefix[16], want[256], packed[256], pt[FMAX];
	size_t hs_len, pt_len, pk_len, n, i;

	(void)file;
	t_set_ctx("vector run");
	memset(&sn, 0, sizeof(sn));
	rand_test_seed(RNG_SEED, strlen(RNG_SEED));
	if (vec_pair(e, FEATURES_7, FEATURES_7, NOW_MS) != 0)
		goto out;
	vec_pump(e, &log, NOW_MS, sn.err, on_event, &sn);
	if (!T_OK(endpoint_established(e[0]) && endpoint_established(e[1])))
		goto out;
	T_INT(endpoint_features(e[0]), FEATURES_7);
	T_INT(endpoint_features(e[1]), FEATURES_7);
	memcpy(ts, e[0]->tx.ts, 64);
	put("sid", endpoint_sid(e[0]), 16);
	put("ts_i_0", ts, 64);
	hs_len = log.len;
	send_opens(e[0], NULL);
	vec_pump(e, &log, NOW_MS, sn.err, on_event, &sn);
	T_INT(sn.err[0], 0);
	T_INT(sn.err[1], 0);
	if (T_INT(sn.opens, N_OPENS))
		for (i = 0; i < N_OPENS; i++)
			check_open(&sn.open[i], &opens[i], FEATURES_7);

	/* I's three record frames: open them under ts_i_0's key. */
	memset(&fr, 0, sizeof(fr));
	split(&fr, log.b + hs_len, log.len - hs_len);
	if (!T_INT(fr.n, N_OPENS))
		goto out;
	derive(key, 32, ts, 64, "key", NULL, 0);
	derive(prefix, 16, ts, 64, "prefix", NULL, 0);
	for (i = 0; i < N_OPENS; i++) {
		t_set_ctx("vector run: open %zu", i + 1);
		n = record_pt(want, i, bodies[i], body_len[i]);
		/* The hand-written bytes are what protobuf-c packs. */
		stp__v1__record__init(&r);
		to_msg(&opens[i], &o);
		r.seq = i;
		r.time_ms = NOW_MS;
		r.body_case = STP__V1__RECORD__BODY_OPEN;
		r.open = &o;
		if (T_OK(stp__v1__record__get_packed_size(&r) <=
		    sizeof(packed))) {
			pk_len = stp__v1__record__pack(&r, packed);
			T_MEM(packed, pk_len, want, n);
		}
		pt_len = sizeof(pt);
		T_INT(open_frame(fr.f[i], fr.len[i], key, prefix, i, pt,
		    &pt_len), 0);
		T_MEM(pt, pt_len, want, n);
		put(pt_name[i], pt, pt_len);
		put(frame_name[i], fr.f[i], fr.len[i]);
	}
out:
	rand_test_seed(NULL, 0);
	endpoint_free(e[0]);
	endpoint_free(e[1]);
	free(log.b);
}

/* ---- behaviour ---- */

/*
 * I (features feat_i) sends the three opens with every field and then data
 * to R (feat_r); both must agree on agreed, and R must see exactly the
 * fields of agreed's extensions.
 */
static void
test_agreed(const char *name, uint32_t feat_i, uint32_t feat_r,
    uint32_t agreed)
{
	static const char data[] = "after the opens";
	endpoint *e[2] = { NULL, NULL };
	struct seen sn;
	int i;

	t_set_ctx("%s", name);
	memset(&sn, 0, sizeof(sn));
	if (vec_pair(e, feat_i, feat_r, NOW_MS) != 0)
		goto out;
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	if (!T_OK(endpoint_established(e[0]) && endpoint_established(e[1])))
		goto out;
	T_INT(endpoint_features(e[0]), agreed);
	T_INT(endpoint_features(e[1]), agreed);
	send_opens(e[0], data);
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	if (T_INT(sn.opens, N_OPENS))
		for (i = 0; i < N_OPENS; i++)
			check_open(&sn.open[i], &opens[i], agreed);
	/* The session stays up: the data behind the opens arrives. */
	T_INT(sn.records[1], N_OPENS + 1);
	T_MEM(sn.data, sn.data_len, data, strlen(data));
	T_INT(sn.err[0], 0);
	T_INT(sn.err[1], 0);
	T_INT(sn.closed[0], 0);
	T_INT(sn.closed[1], 0);
	T_OK(!endpoint_finished(e[0]) && !endpoint_finished(e[1]));
out:
	endpoint_free(e[0]);
	endpoint_free(e[1]);
}

static void
run_all(const char *file)
{
	run(file);
	t_section("vector run");
	test_agreed("features 7 both sides", FEATURES_7, FEATURES_7,
	    FEATURES_7);
	test_agreed("I 7, R 1: neither extension",
	    FEATURES_7, HS_FEATURE_IDENTITY_UPDATE,
	    HS_FEATURE_IDENTITY_UPDATE);
	test_agreed("I 3, R 7: addresses, no dynamic opens",
	    HS_FEATURE_IDENTITY_UPDATE | HS_FEATURE_STREAM_ADDRESSES,
	    FEATURES_7,
	    HS_FEATURE_IDENTITY_UPDATE | HS_FEATURE_STREAM_ADDRESSES);
	t_section("agreed fields");
	test_agreed("unknown bit at I", FEATURES_7 | UNKNOWN_BIT,
	    FEATURES_7, FEATURES_7);
	test_agreed("unknown bit at R, I 3",
	    HS_FEATURE_IDENTITY_UPDATE | HS_FEATURE_STREAM_ADDRESSES,
	    FEATURES_7 | UNKNOWN_BIT,
	    HS_FEATURE_IDENTITY_UPDATE | HS_FEATURE_STREAM_ADDRESSES);
	test_agreed("unknown bit at R, R 1", FEATURES_7,
	    HS_FEATURE_IDENTITY_UPDATE | UNKNOWN_BIT,
	    HS_FEATURE_IDENTITY_UPDATE);
	t_section("unknown bits");
}

int
main(int argc, char **argv)
{
	return vec_main(argc, argv, run_all, N_VALUES,
	    "# STP v1.1 StreamOpen extension vectors: proto/STP.md, \"Stream\n"
	    "# addresses\", \"Dynamic opens\" and \"Test vectors\".\n"
	    "# Written by tests/protocol/test_vectors_opens.c --write; its\n"
	    "# top comment says how the run is set up.  One value per line:\n"
	    "# name = hex.\n");
}

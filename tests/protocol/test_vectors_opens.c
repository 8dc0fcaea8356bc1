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
 * flags 0, R does not ping), except that both Auths set features = 15
 * (FEATURE_IDENTITY_UPDATE | FEATURE_STREAM_ADDRESSES | FEATURE_DYNAMIC_OPEN
 * | FEATURE_DATAGRAMS), so AUTH_R, AUTH_I and everything derived after TH2
 * differ from that file's.  Once established, I sends five records, 0 to 4:
 *   1: StreamOpen stream 1, service "db", window 262144, source
 *      192.0.2.10:50000, destination 127.0.0.1:5432;
 *   3: StreamOpen stream 3, service "web", window 262144, source
 *      [2001:db8::1]:443, destination [::1]:8443 (16-byte addresses);
 *   5: StreamOpen stream 5, no service, window 262144, target
 *      example.com:443, no addresses;
 *   7: StreamOpen stream 7, service "dns", window 262144, datagram true;
 *   Datagram on stream 7: a 24-byte DNS query for "a.test" A IN (id 0x1234,
 *      flags 0x0100 (RD), one question).
 * Values: sid, ts_i_0 (I's traffic secret, generation 0), then openN_pt (the
 * record's plaintext) and openN_frame for N = 1..4, dgram_pt and
 * dgram_frame.
 *
 * Recomputed from the spec alone: each plaintext written out by hand
 * (Record{seq = 1 (absent when 0), time_ms = 2, open = 10 {fields 1..10}} and
 * Record{seq, time_ms, datagram = 24 {stream_id = 1, data = 2}}), checked
 * against what protobuf-c packs, and each frame opened with
 * XChaCha20-Poly1305 under Derive(ts_i_0, "key") and Derive(ts_i_0,
 * "prefix") at sequence numbers 0..4.
 *
 * Then behaviour, with fresh endpoints: I always sends all three opens with
 * every field (the endpoint does not hold a sender back; the reactor sends
 * the fields only when agreed), and R's EP_RECORD events show exactly the
 * fields of the extensions both Auths set: all of them at 7 and 7 and at 15
 * and 15; none at 7 and 1 (stream_id, service and window intact); the
 * addresses but no target at 3 and 7.  A feature bit neither side knows
 * (1 << 9), set by one side, changes nothing.  In every case data still
 * flows after the opens.
 *
 * Datagrams: at 15 and 15 R sees the "dns" open with datagram set and each
 * Datagram whole (the DNS query, one of 65507 bytes, STP_MAX_DATAGRAM, and
 * an empty one); endpoint_send refuses one of 65508 bytes (STP_ETOOBIG,
 * nothing sent), and one of 65508 bytes forced onto the wire
 * (ep_tx_message) makes R close the session.  At I 15 and R 7 R sees the
 * open with datagram cleared, endpoint_send refuses a Datagram
 * (STP_EPROTO, nothing sent), and one forced onto the wire makes R close
 * the session ("an extension not agreed").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "endpoint.h"
#include "endpoint_int.h"
#include "err.h"
#include "frame.h"
#include "handshake.h"
#include "testlib.h"
#include "vectors_common.h"

#define N_VALUES 12
#define N_OPENS 3                /* the opens every behaviour case sends */
#define N_RECORDS 5              /* the vector run's records */
#define WINDOW 262144u
#define FEATURES_7 (HS_FEATURE_IDENTITY_UPDATE | \
	HS_FEATURE_STREAM_ADDRESSES | HS_FEATURE_DYNAMIC_OPEN)
#define FEATURES_15 (FEATURES_7 | HS_FEATURE_DATAGRAMS)
#define DNS_SID 7u
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
	int datagram;
};

static const struct open_want opens[N_OPENS] = {
	{ 1, "db", WINDOW, { 192, 0, 2, 10 }, { 127, 0, 0, 1 }, 4, 4,
	    50000, 5432, "", 0, 0 },
	{ 3, "web", WINDOW, { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 },
	    { [15] = 0x01 }, 16, 16, 443, 8443, "", 0, 0 },
	{ 5, "", WINDOW, { 0 }, { 0 }, 0, 0, 0, 0, "example.com", 443, 0 },
};

/* The vector run's fourth record: a datagram flow. */
static const struct open_want open_dns =
	{ DNS_SID, "dns", WINDOW, { 0 }, { 0 }, 0, 0, 0, 0, "", 0, 1 };

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
static const uint8_t body4[] = {
	0x08, 0x07,                       /* 1 stream_id: 7 */
	0x12, 0x03, 'd', 'n', 's',        /* 2 service: "dns" */
	0x18, 0x80, 0x80, 0x10,           /* 3 window */
	0x50, 0x01,                       /* 10 datagram: true */
};
/*
 * The Datagram message; its data is a DNS query (RFC 1035, 4.1) written
 * out: a 12-byte header, the name (8 bytes), type and class (4): 24 bytes.
 */
static const uint8_t body5[] = {
	0x08, 0x07,                       /* 1 stream_id: 7 */
	0x12, 0x18,                       /* 2 data: 24 bytes */
	0x12, 0x34,                       /*   id 0x1234 */
	0x01, 0x00,                       /*   flags: RD */
	0x00, 0x01,                       /*   qdcount 1 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* an-, ns-, arcount 0 */
	0x01, 'a', 0x04, 't', 'e', 's', 't', 0x00, /* qname a.test */
	0x00, 0x01,                       /*   qtype A */
	0x00, 0x01,                       /*   qclass IN */
};
#define DNS_QUERY (body5 + 4)
#define DNS_QUERY_LEN (sizeof(body5) - 4)
_Static_assert(sizeof(body5) - 4 == 24, "the DNS query is 24 bytes");

static const uint8_t *const bodies[N_RECORDS] = { body1, body2, body3,
	body4, body5 };
static const size_t body_len[N_RECORDS] = { sizeof(body1), sizeof(body2),
	sizeof(body3), sizeof(body4), sizeof(body5) };
/* The Record field each body goes in: open (10, tag 0x52) or datagram
 * (24, tag 24 << 3 | 2 = 194, a two-byte varint). */
static const uint8_t tag_open[] = { 0x52 }, tag_dgram[] = { 0xc2, 0x01 };

/*
 * Record{seq, time_ms = NOW_MS, <tag> body} by hand: seq (field 1) is left
 * out when 0, time_ms is field 2, then the body's field (tag: open 10 or
 * datagram 24).  Returns the length written.
 */
static size_t
record_pt(uint8_t *out, uint64_t seq, const uint8_t *tag, size_t tag_len,
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
	memcpy(w, tag, tag_len);            /* the body's field, length-delim. */
	w += tag_len;
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
	o->datagram = w->datagram != 0;
}

/* I sends open w. */
static int
send_open(endpoint *e, const struct open_want *w)
{
	Stp__V1__Record r;
	Stp__V1__StreamOpen o;

	stp__v1__record__init(&r);
	to_msg(w, &o);
	r.body_case = STP__V1__RECORD__BODY_OPEN;
	r.open = &o;
	return endpoint_send(e, &r, NOW_MS);
}

/* r as Record{datagram{sid, data}} (d: its storage). */
static void
dgram_msg(Stp__V1__Record *r, Stp__V1__Datagram *d, uint32_t sid,
    const uint8_t *data, size_t len)
{
	stp__v1__record__init(r);
	stp__v1__datagram__init(d);
	d->stream_id = sid;
	d->data.data = (uint8_t *)data;
	d->data.len = len;
	r->body_case = STP__V1__RECORD__BODY_DATAGRAM;
	r->datagram = d;
}

/* endpoint_send of a Datagram on stream sid. */
static int
send_dgram(endpoint *e, uint32_t sid, const uint8_t *data, size_t len)
{
	Stp__V1__Record r;
	Stp__V1__Datagram d;

	dgram_msg(&r, &d, sid, data, len);
	return endpoint_send(e, &r, NOW_MS);
}

/*
 * The same Datagram sealed without endpoint_send's checks (ep_tx_message,
 * as the endpoint seals its own records): what a peer that ignores the
 * rules puts on the wire.
 */
static int
force_dgram(endpoint *e, uint32_t sid, const uint8_t *data, size_t len)
{
	Stp__V1__Record r;
	Stp__V1__Datagram d;

	e->now = NOW_MS;
	dgram_msg(&r, &d, sid, data, len);
	return ep_tx_message(e, FRAME_RECORD, &r);
}

/* I sends the three opens, then (with data) a StreamData on stream 1. */
static void
send_opens(endpoint *e, const char *data)
{
	int i;

	for (i = 0; i < N_OPENS; i++)
		T_INT(send_open(e, &opens[i]), 0);
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
	int datagram;
};

/* The last Datagram R got (up to the largest allowed and one more byte). */
static uint8_t dgram_buf[STP_MAX_DATAGRAM + 1];

struct seen {
	struct got_open open[8];
	int opens;                       /* StreamOpens R got */
	int records[2];                  /* EP_RECORD events */
	int closed[2];                   /* EP_CLOSED events */
	int err[2];                      /* the first endpoint_input error */
	char data[64];                   /* the last StreamData R got */
	size_t data_len;
	int dgrams;                      /* Datagrams R got */
	uint32_t dgram_sid;              /* the last one's stream and length; */
	size_t dgram_len;                /* its bytes are in dgram_buf */
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
	const Stp__V1__Datagram *dg;
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
	if (ev->rec->body_case == STP__V1__RECORD__BODY_DATAGRAM &&
	    (dg = ev->rec->datagram) != NULL) {
		sn->dgrams++;
		sn->dgram_sid = dg->stream_id;
		sn->dgram_len = dg->data.len;
		if (dg->data.len > 0)
			memcpy(dgram_buf, dg->data.data, dg->data.len <
			    sizeof(dgram_buf) ? dg->data.len : sizeof(dgram_buf));
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
	g->datagram = o->datagram;
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
	T_INT(g->datagram, (agreed & HS_FEATURE_DATAGRAMS) ? w->datagram : 0);
}

/* R's last Datagram is len bytes of data on stream sid. */
static void
check_dgram(const struct seen *sn, uint32_t sid, const uint8_t *data,
    size_t len)
{
	T_INT(sn->dgram_sid, sid);
	T_INT(sn->dgram_len, len);
	if (sn->dgram_len == len)
		T_MEM(dgram_buf, len, data, len);
}

/* ---- the vector run ---- */

/* Record i of the vector run as protobuf-c packs it; its length, or 0. */
static size_t
pack_record(size_t i, uint8_t *out, size_t cap)
{
	Stp__V1__Record r;
	Stp__V1__StreamOpen o;
	Stp__V1__Datagram d;

	if (i < N_RECORDS - 1) {
		stp__v1__record__init(&r);
		to_msg(i < N_OPENS ? &opens[i] : &open_dns, &o);
		r.body_case = STP__V1__RECORD__BODY_OPEN;
		r.open = &o;
	} else
		dgram_msg(&r, &d, DNS_SID, DNS_QUERY, DNS_QUERY_LEN);
	r.seq = i;
	r.time_ms = NOW_MS;
	if (!T_OK(stp__v1__record__get_packed_size(&r) <= cap))
		return 0;
	return stp__v1__record__pack(&r, out);
}

static void
run(const char *file)
{
	static const char *const pt_name[N_RECORDS] = { "open1_pt",
		"open2_pt", "open3_pt", "open4_pt", "dgram_pt" };
	static const char *const frame_name[N_RECORDS] = { "open1_frame",
		"open2_frame", "open3_frame", "open4_frame", "dgram_frame" };
	struct wire log = { NULL, 0, 0 };
	struct frames fr;
	struct seen sn;
	endpoint *e[2] = { NULL, NULL };
	uint8_t ts[64], key[32], prefix[16], want[256], packed[256], pt[FMAX];
	size_t hs_len, pt_len, pk_len, n, i;

	(void)file;
	t_set_ctx("vector run");
	memset(&sn, 0, sizeof(sn));
	rand_test_seed(RNG_SEED, strlen(RNG_SEED));
	if (vec_pair(e, FEATURES_15, FEATURES_15, NOW_MS) != 0)
		goto out;
	vec_pump(e, &log, NOW_MS, sn.err, on_event, &sn);
	if (!T_OK(endpoint_established(e[0]) && endpoint_established(e[1])))
		goto out;
	T_INT(endpoint_features(e[0]), 15);
	T_INT(endpoint_features(e[1]), 15);
	memcpy(ts, e[0]->tx.ts, 64);
	put("sid", endpoint_sid(e[0]), 16);
	put("ts_i_0", ts, 64);
	hs_len = log.len;
	send_opens(e[0], NULL);
	T_INT(send_open(e[0], &open_dns), 0);
	T_INT(send_dgram(e[0], DNS_SID, DNS_QUERY, DNS_QUERY_LEN), 0);
	vec_pump(e, &log, NOW_MS, sn.err, on_event, &sn);
	T_INT(sn.err[0], 0);
	T_INT(sn.err[1], 0);
	if (T_INT(sn.opens, N_OPENS + 1)) {
		for (i = 0; i < N_OPENS; i++)
			check_open(&sn.open[i], &opens[i], FEATURES_15);
		check_open(&sn.open[N_OPENS], &open_dns, FEATURES_15);
		T_INT(sn.open[N_OPENS].datagram, 1);
	}
	T_INT(sn.dgrams, 1);
	check_dgram(&sn, DNS_SID, DNS_QUERY, DNS_QUERY_LEN);
	T_INT(sn.records[1], N_RECORDS);

	/* I's five record frames: open them under ts_i_0's key. */
	memset(&fr, 0, sizeof(fr));
	split(&fr, log.b + hs_len, log.len - hs_len);
	if (!T_INT(fr.n, N_RECORDS))
		goto out;
	derive(key, 32, ts, 64, "key", NULL, 0);
	derive(prefix, 16, ts, 64, "prefix", NULL, 0);
	for (i = 0; i < N_RECORDS; i++) {
		t_set_ctx("vector run: %s", pt_name[i]);
		if (i < N_RECORDS - 1)
			n = record_pt(want, i, tag_open, sizeof(tag_open),
			    bodies[i], body_len[i]);
		else
			n = record_pt(want, i, tag_dgram, sizeof(tag_dgram),
			    bodies[i], body_len[i]);
		/* The hand-written bytes are what protobuf-c packs. */
		pk_len = pack_record(i, packed, sizeof(packed));
		T_MEM(packed, pk_len, want, n);
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

/* I's records sent so far. */
static uint64_t
records_sent(endpoint *e)
{
	ep_stats st;

	endpoint_get_stats(e, &st);
	return st.records_sent;
}

/*
 * Both Auths set FEATURE_DATAGRAMS: R sees the "dns" open as a datagram flow
 * and every Datagram whole, 0 and STP_MAX_DATAGRAM bytes included; one byte
 * more is refused by the sender, and forced onto the wire closes the session.
 */
static void
test_datagrams(void)
{
	static const char data[] = "after the datagrams";
	static uint8_t big[STP_MAX_DATAGRAM + 1];
	endpoint *e[2] = { NULL, NULL };
	struct seen sn;
	uint64_t sent;
	size_t i;

	t_set_ctx("datagrams, 15 and 15");
	memset(&sn, 0, sizeof(sn));
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + (i >> 8));
	if (vec_pair(e, FEATURES_15, FEATURES_15, NOW_MS) != 0)
		goto out;
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	if (!T_OK(endpoint_established(e[0]) && endpoint_established(e[1])))
		goto out;
	T_INT(endpoint_features(e[0]), FEATURES_15);
	T_INT(endpoint_features(e[1]), FEATURES_15);
	/* R's first record (a Close there would mean a refused handshake). */
	T_INT(endpoint_ping(e[1], NOW_MS), 0);
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	T_INT(send_open(e[0], &open_dns), 0);
	T_INT(send_dgram(e[0], DNS_SID, DNS_QUERY, DNS_QUERY_LEN), 0);
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	if (T_INT(sn.opens, 1)) {
		check_open(&sn.open[0], &open_dns, FEATURES_15);
		T_INT(sn.open[0].datagram, 1);
	}
	T_INT(sn.dgrams, 1);
	check_dgram(&sn, DNS_SID, DNS_QUERY, DNS_QUERY_LEN);

	t_set_ctx("datagrams: %d bytes", STP_MAX_DATAGRAM);
	T_INT(send_dgram(e[0], DNS_SID, big, STP_MAX_DATAGRAM), 0);
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	T_INT(sn.dgrams, 2);
	check_dgram(&sn, DNS_SID, big, STP_MAX_DATAGRAM);

	t_set_ctx("datagrams: empty");
	T_INT(send_dgram(e[0], DNS_SID, NULL, 0), 0);
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	T_INT(sn.dgrams, 3);
	check_dgram(&sn, DNS_SID, NULL, 0);

	t_set_ctx("datagrams: %d bytes refused", STP_MAX_DATAGRAM + 1);
	sent = records_sent(e[0]);
	T_INT(send_dgram(e[0], DNS_SID, big, STP_MAX_DATAGRAM + 1),
	    STP_ETOOBIG);
	T_INT(records_sent(e[0]), sent);
	T_INT(endpoint_send_data(e[0], 1, (const uint8_t *)data,
	    strlen(data), NOW_MS), 0);
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	T_INT(sn.dgrams, 3);
	T_MEM(sn.data, sn.data_len, data, strlen(data));
	T_INT(sn.records[1], 1 + 3 + 1);
	T_INT(sn.err[0], 0);
	T_INT(sn.err[1], 0);
	T_INT(sn.closed[0], 0);
	T_INT(sn.closed[1], 0);
	T_OK(!endpoint_finished(e[0]) && !endpoint_finished(e[1]));

	t_set_ctx("datagrams: %d bytes forced", STP_MAX_DATAGRAM + 1);
	T_INT(force_dgram(e[0], DNS_SID, big, STP_MAX_DATAGRAM + 1), 0);
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	T_INT(sn.err[1], STP_EPROTO);
	T_OK(strstr(endpoint_reason(e[1]), "over the") != NULL);
	T_INT(sn.dgrams, 3);
	T_INT(sn.closed[0], 1);   /* R said why before it closed */
out:
	endpoint_free(e[0]);
	endpoint_free(e[1]);
}

/*
 * I sets FEATURE_DATAGRAMS, R does not: R sees the open's datagram flag
 * cleared, I's endpoint_send refuses a Datagram, and one forced onto the
 * wire closes the session.
 */
static void
test_datagrams_not_agreed(void)
{
	static const char data[] = "after the refusal";
	endpoint *e[2] = { NULL, NULL };
	struct seen sn;
	uint64_t sent;

	t_set_ctx("datagrams, I 15 and R 7");
	memset(&sn, 0, sizeof(sn));
	if (vec_pair(e, FEATURES_15, FEATURES_7, NOW_MS) != 0)
		goto out;
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	if (!T_OK(endpoint_established(e[0]) && endpoint_established(e[1])))
		goto out;
	T_INT(endpoint_features(e[0]), FEATURES_7);
	T_INT(endpoint_features(e[1]), FEATURES_7);
	/* R's first record (a Close there would mean a refused handshake). */
	T_INT(endpoint_ping(e[1], NOW_MS), 0);
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	T_INT(send_open(e[0], &open_dns), 0);
	sent = records_sent(e[0]);
	T_INT(send_dgram(e[0], DNS_SID, DNS_QUERY, DNS_QUERY_LEN), STP_EPROTO);
	T_INT(records_sent(e[0]), sent);
	T_INT(endpoint_send_data(e[0], 1, (const uint8_t *)data,
	    strlen(data), NOW_MS), 0);
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	if (T_INT(sn.opens, 1)) {
		check_open(&sn.open[0], &open_dns, FEATURES_7);
		T_INT(sn.open[0].datagram, 0);
	}
	T_INT(sn.dgrams, 0);
	T_INT(sn.records[1], 2);  /* the open and the data */
	T_MEM(sn.data, sn.data_len, data, strlen(data));
	T_INT(sn.err[1], 0);
	T_INT(sn.closed[0], 0);
	T_OK(!endpoint_finished(e[0]) && !endpoint_finished(e[1]));

	t_set_ctx("datagrams, I 15 and R 7: forced");
	T_INT(force_dgram(e[0], DNS_SID, DNS_QUERY, DNS_QUERY_LEN), 0);
	vec_pump(e, NULL, NOW_MS, sn.err, on_event, &sn);
	T_INT(sn.err[1], STP_EPROTO);
	T_OK(strstr(endpoint_reason(e[1]), "not agreed") != NULL);
	T_INT(sn.dgrams, 0);
	T_INT(sn.closed[0], 1);   /* R said why before it closed */
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
	test_agreed("features 15 both sides", FEATURES_15, FEATURES_15,
	    FEATURES_15);
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
	test_datagrams();
	test_datagrams_not_agreed();
	t_section("datagrams");
}

int
main(int argc, char **argv)
{
	return vec_main(argc, argv, run_all, N_VALUES,
	    "# STP v1.1 StreamOpen extension and Datagram vectors: proto/STP.md,\n"
	    "# \"Stream addresses\", \"Dynamic opens\", \"Datagram flows\" and\n"
	    "# \"Test vectors\".\n"
	    "# Written by tests/protocol/test_vectors_opens.c --write; its\n"
	    "# top comment says how the run is set up.  One value per line:\n"
	    "# name = hex.\n");
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_envelope.c: the protobuf glue (gateway/proto/envelope.c): arena bounds and
 * reuse, a round trip of every message in proto/stp.proto, the bounded wire
 * scanner against protobuf-c's own encodings, truncations and garbage, and
 * the hand-written data record encoder byte for byte against protobuf-c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "err.h"
#include "frame.h"
#include "testlib.h"

/* stp.proto defines 18 messages; Record's body oneof has 13 members. */
#define N_MESSAGES 22
#define N_BODIES 17
#define N_GARBAGE 100000

/* splitmix64: a fixed, seedable stream, so every run tests the same inputs. */
static uint64_t rng_state = 0x5354502d656e7631ULL;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

/* A heap copy of exactly n bytes, so that ASan sees any read past the end. */
static uint8_t *
dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);

	if (q == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	if (n != 0)
		memcpy(q, p, n);
	return q;
}

/* Pack with protobuf-c itself into a new buffer; *len gets its length. */
static uint8_t *
pb_pack(const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);

	if (buf == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	*len = protobuf_c_message_pack(m, buf);
	return buf;
}

/* Is p inside [lo, lo + n)? */
static int
inside(const void *p, const void *lo, size_t n)
{
	uintptr_t x = (uintptr_t)p, b = (uintptr_t)lo;

	return x >= b && x - b < n;
}

/* ---- fixtures ---- */

static uint8_t x25519_a[32], ek_a[1184], ct_a[1088], nonce_a[32], adm_a[256];
static uint8_t sig_a[64], fin_a[32], pad_a[40], data_a[STP_MAX_DATA];
static uint32_t versions_a[] = { 1, 300, 70000 };
static uint32_t suites_a[] = { 1, 2 };

static void
fixtures_init(void)
{
	rng_fill(x25519_a, sizeof(x25519_a));
	rng_fill(ek_a, sizeof(ek_a));
	rng_fill(ct_a, sizeof(ct_a));
	rng_fill(nonce_a, sizeof(nonce_a));
	rng_fill(adm_a, sizeof(adm_a));
	rng_fill(sig_a, sizeof(sig_a));
	rng_fill(fin_a, sizeof(fin_a));
	rng_fill(pad_a, sizeof(pad_a));
	rng_fill(data_a, sizeof(data_a));
}

static ProtobufCBinaryData
bin(uint8_t *p, size_t n)
{
	ProtobufCBinaryData b;

	b.data = p;
	b.len = n;
	return b;
}

static Stp__V1__Hello
full_hello(size_t adm_len)
{
	Stp__V1__Hello h = STP__V1__HELLO__INIT;

	h.n_versions = sizeof(versions_a) / sizeof(versions_a[0]);
	h.versions = versions_a;
	h.n_suites = sizeof(suites_a) / sizeof(suites_a[0]);
	h.suites = suites_a;
	h.x25519 = bin(x25519_a, sizeof(x25519_a));
	h.mlkem_ek = bin(ek_a, sizeof(ek_a));
	h.nonce = bin(nonce_a, sizeof(nonce_a));
	h.admission = bin(adm_a, adm_len);
	h.time = 1700000000;
	h.cookie = bin(fin_a, 16);
	return h;
}

/*
 * Fields of m (and of its sub-messages) left at their zero value, or -1 when
 * a field has a type this test does not know.  The name of the first one
 * goes to what.  A oneof counts only its selected member.
 */
static int
unset_fields(const ProtobufCMessage *m, const char **what)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const ProtobufCFieldDescriptor *f;
	const uint8_t *base = (const uint8_t *)m, *mem;
	int unset = 0, sub, zero;
	uint32_t u32, which;
	uint64_t u64;
	size_t n;
	unsigned i;
	ProtobufCBinaryData bd;
	const void *ptr;

	for (i = 0; i < d->n_fields; i++) {
		f = &d->fields[i];
		mem = base + f->offset;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			memcpy(&which, base + f->quantifier_offset, sizeof(which));
			if (which != f->id)
				continue;
		}
		zero = 0;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			memcpy(&n, base + f->quantifier_offset, sizeof(n));
			zero = n == 0;
		} else {
			switch (f->type) {
			case PROTOBUF_C_TYPE_UINT32:
			case PROTOBUF_C_TYPE_ENUM:
				memcpy(&u32, mem, sizeof(u32));
				zero = u32 == 0;
				break;
			case PROTOBUF_C_TYPE_UINT64:
				memcpy(&u64, mem, sizeof(u64));
				zero = u64 == 0;
				break;
			case PROTOBUF_C_TYPE_BOOL:
				memcpy(&u32, mem, sizeof(u32));
				zero = u32 == 0;
				break;
			case PROTOBUF_C_TYPE_BYTES:
				memcpy(&bd, mem, sizeof(bd));
				zero = bd.len == 0;
				break;
			case PROTOBUF_C_TYPE_STRING:
				memcpy(&ptr, mem, sizeof(ptr));
				zero = ptr == NULL || *(const char *)ptr == '\0';
				break;
			case PROTOBUF_C_TYPE_MESSAGE:
				memcpy(&ptr, mem, sizeof(ptr));
				if (ptr == NULL) {
					zero = 1;
					break;
				}
				if ((sub = unset_fields(ptr, what)) < 0)
					return -1;
				unset += sub;
				break;
			default:
				*what = f->name;
				return -1;
			}
		}
		if (zero) {
			if (unset == 0)
				*what = f->name;
			unset++;
		}
	}
	return unset;
}

/*
 * Pack m with env_pack, check the size limit and that a refused pack writes
 * nothing, unpack it into a, check every field came back set and that it
 * packs to the same bytes.  Returns the unpacked message or NULL.
 */
static ProtobufCMessage *
roundtrip(env_arena *a, const ProtobufCMessage *m)
{
	static uint8_t buf[STP_MAX_RECORD_PT], buf2[STP_MAX_RECORD_PT];
	static uint8_t canary[STP_MAX_RECORD_PT];
	ProtobufCMessage *u;
	const char *what = "";
	size_t want = protobuf_c_message_get_packed_size(m);
	int n, n2;

	n = env_pack(m, buf, sizeof(buf));
	T_INT(n, (long long)want);
	if (n < 0)
		return NULL;
	if (n > 0) {
		memset(buf2, 0xa5, (size_t)n);
		memset(canary, 0xa5, (size_t)n);
		T_INT(env_pack(m, buf2, (size_t)n - 1), STP_ETOOBIG);
		T_MEM(buf2, (size_t)n, canary, (size_t)n);
	}
	T_INT(env_pack(m, buf2, (size_t)n), n);
	T_MEM(buf2, (size_t)n, buf, (size_t)n);

	u = env_unpack(a, m->descriptor, buf, (size_t)n);
	T_OK(u != NULL);
	if (u == NULL)
		return NULL;
	T_OK(u->descriptor == m->descriptor);
	t_check(unset_fields(u, &what) == 0, __FILE__, __LINE__, t_ctx,
	    "field %s not set after unpack", what);
	n2 = env_pack(u, buf2, sizeof(buf2));
	T_MEM(buf2, n2 < 0 ? 0 : (size_t)n2, buf, (size_t)n);
	return u;
}

/* ---- arena ---- */

/*
 * The smallest arena capacity in which buf unpacks as d; checks that every
 * smaller one fails cleanly and a few larger ones succeed.
 */
static size_t
min_cap(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
    size_t limit)
{
	env_arena *a;
	size_t cap;
	int ok = 0;

	for (cap = 0; cap <= limit; cap++) {
		if ((a = env_arena_new(cap)) == NULL)
			break;
		ok = env_unpack(a, d, buf, len) != NULL;
		env_arena_free(a);
		if (ok)
			break;
	}
	T_OK(ok);
	for (size_t c = cap; ok && c < cap + 64; c++) {
		a = env_arena_new(c);
		T_OK(a != NULL && env_unpack(a, d, buf, len) != NULL);
		env_arena_free(a);
	}
	return cap;
}

static void
test_arena(void)
{
	Stp__V1__Hello h = full_hello(256);
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamData sd = STP__V1__STREAM_DATA__INIT;
	Stp__V1__Hello *u;
	Stp__V1__Record *ur;
	env_arena *a;
	uint8_t *hb, *rb, unk[3 * 300], bad[8];
	size_t hlen, rlen, cap, rcap, i, ulen;
	ProtobufCMessage *m1, *m2, *m3;

	t_set_ctx("arena");
	T_OK(env_arena_new(SIZE_MAX) == NULL);
	env_arena_reset(NULL);
	env_arena_free(NULL);

	/* An arena of 0 bytes holds not even an empty message. */
	a = env_arena_new(0);
	T_OK(a != NULL);
	T_OK(env_unpack(a, &stp__v1__cover__descriptor, NULL, 0) == NULL);
	env_arena_free(a);
	a = env_arena_new(4096);
	T_OK(env_unpack(a, &stp__v1__cover__descriptor, NULL, 0) != NULL);
	T_OK(env_unpack(a, NULL, NULL, 0) == NULL);
	T_OK(env_unpack(NULL, &stp__v1__cover__descriptor, NULL, 0) == NULL);
	env_arena_free(a);

	hb = pb_pack(&h.base, &hlen);
	sd.stream_id = 7;
	sd.data = bin(data_a, 1000);
	r.seq = 9;
	r.body_case = STP__V1__RECORD__BODY_DATA;
	r.data = &sd;
	r.padding = bin(pad_a, sizeof(pad_a));
	rb = pb_pack(&r.base, &rlen);

	/* Every capacity below the need fails; the need is at least the bytes. */
	t_set_ctx("arena: min cap Hello");
	cap = min_cap(&stp__v1__hello__descriptor, hb, hlen, 1 << 16);
	T_OK(cap >= 32 + 1184 + 32 + 256);
	t_set_ctx("arena: min cap Record");
	rcap = min_cap(&stp__v1__record__descriptor, rb, rlen, 1 << 16);
	T_OK(rcap >= 1000 + sizeof(pad_a));

	/*
	 * 300 unknown fields: protobuf-c keeps a copy of each and, past 16
	 * fields, allocates its scan slabs from the arena too.
	 */
	for (i = 0, ulen = 0; i < 300; i++) {
		unk[ulen++] = 0x38;     /* field 7, varint */
		unk[ulen++] = (uint8_t)(0x80 | i);
		unk[ulen++] = 0x01;
	}
	t_set_ctx("arena: min cap 300 unknown fields");
	T_OK(min_cap(&stp__v1__hello__descriptor, unk, ulen, 1 << 16) >
	    300 * (sizeof(ProtobufCMessageUnknownField) + 3));

	/* A failed unpack gives back what it took. */
	t_set_ctx("arena: rewind after failure");
	a = env_arena_new(cap);
	bad[0] = 0x08; bad[1] = 0x05;           /* seq = 5 */
	bad[2] = 0x62; bad[3] = 0x02;           /* data: 2 bytes ... */
	bad[4] = 0x08; bad[5] = 0x80;           /* ... an unterminated varint */
	T_OK(env_unpack(a, &stp__v1__record__descriptor, bad, 6) == NULL);
	T_OK(env_unpack(a, &stp__v1__record__descriptor, bad, 6) == NULL);
	m1 = env_unpack(a, &stp__v1__hello__descriptor, hb, hlen);
	T_OK(m1 != NULL);

	/* Full until reset; reset hands out the same memory again. */
	t_set_ctx("arena: reset");
	m2 = env_unpack(a, &stp__v1__hello__descriptor, hb, hlen);
	T_OK(m2 == NULL);
	env_arena_reset(a);
	m3 = env_unpack(a, &stp__v1__hello__descriptor, hb, hlen);
	T_OK(m3 != NULL);
	T_OK(m3 == m1);

	/* Everything the message points to lives in the arena. */
	t_set_ctx("arena: pointers");
	u = (Stp__V1__Hello *)m3;
	if (u != NULL) {
		T_OK(inside(u->versions, u, cap));
		T_OK(inside(u->suites, u, cap));
		T_OK(inside(u->x25519.data, u, cap));
		T_OK(inside(u->mlkem_ek.data, u, cap));
		T_OK(inside(u->nonce.data, u, cap));
		T_OK(inside(u->admission.data, u, cap));
		T_MEM(u->admission.data, u->admission.len, adm_a, 256);
	}
	env_arena_free(a);

	a = env_arena_new(2 * rcap);
	ur = (Stp__V1__Record *)env_unpack(a, &stp__v1__record__descriptor,
	    rb, rlen);
	T_OK(ur != NULL);
	if (ur != NULL) {
		T_OK(ur->body_case == STP__V1__RECORD__BODY_DATA);
		T_OK(inside(ur->data, ur, rcap));
		T_OK(ur->data != NULL && inside(ur->data->data.data, ur, rcap));
		T_OK(inside(ur->padding.data, ur, rcap));
	}
	/* Twice the need holds the record twice, not three times. */
	T_OK(env_unpack(a, &stp__v1__record__descriptor, rb, rlen) != NULL);
	T_OK(env_unpack(a, &stp__v1__record__descriptor, rb, rlen) == NULL);
	env_arena_reset(a);
	T_OK(env_unpack(a, &stp__v1__record__descriptor, rb, rlen) ==
	    (ProtobufCMessage *)ur);
	env_arena_free(a);

	free(hb);
	free(rb);
	t_section("arena");
}

/* ---- round trips ---- */

static void
test_roundtrip(void)
{
	Stp__V1__Hello hello = full_hello(200);
	Stp__V1__Challenge chal = STP__V1__CHALLENGE__INIT;
	Stp__V1__Reject rej = STP__V1__REJECT__INIT;
	Stp__V1__Reply reply = STP__V1__REPLY__INIT;
	Stp__V1__Auth auth = STP__V1__AUTH__INIT;
	Stp__V1__StreamOpen open = STP__V1__STREAM_OPEN__INIT;
	Stp__V1__StreamAccept acc = STP__V1__STREAM_ACCEPT__INIT;
	Stp__V1__StreamData sd = STP__V1__STREAM_DATA__INIT;
	Stp__V1__WindowUpdate win = STP__V1__WINDOW_UPDATE__INIT;
	Stp__V1__StreamFin fin = STP__V1__STREAM_FIN__INIT;
	Stp__V1__StreamReset rst = STP__V1__STREAM_RESET__INIT;
	Stp__V1__Ping ping = STP__V1__PING__INIT;
	Stp__V1__KeyUpdate ku = STP__V1__KEY_UPDATE__INIT;
	Stp__V1__KemInit ki = STP__V1__KEM_INIT__INIT;
	Stp__V1__KemReply kr = STP__V1__KEM_REPLY__INIT;
	Stp__V1__Close cl = STP__V1__CLOSE__INIT;
	Stp__V1__Cover cov = STP__V1__COVER__INIT;
	Stp__V1__IdentityUpdate idu = STP__V1__IDENTITY_UPDATE__INIT;
	Stp__V1__Datagram dg = STP__V1__DATAGRAM__INIT;
	Stp__V1__Resume res = STP__V1__RESUME__INIT;
	Stp__V1__ResumeStreams rss = STP__V1__RESUME_STREAMS__INIT;
	Stp__V1__StreamState ss[2] = { STP__V1__STREAM_STATE__INIT,
	    STP__V1__STREAM_STATE__INIT };
	Stp__V1__StreamState *ssp[2] = { &ss[0], &ss[1] };
	Stp__V1__Record rec = STP__V1__RECORD__INIT;
	const ProtobufCMessageDescriptor *seen[N_MESSAGES + 4];
	const ProtobufCFieldDescriptor *f;
	ProtobufCMessage *bodies[N_BODIES], *tops[5], *u;
	Stp__V1__Record *ur;
	char reason[] = "a reason", svc[] = "ssh";
	size_t nseen = 0, i, j;
	unsigned nbodies = 0, noneof = 0;
	env_arena *a;

	chal.data = bin(adm_a, 100);
	chal.cookie = bin(fin_a, 16);
	rej.code = STP__V1__REJECT_CODE__REJECT_MALFORMED;
	rej.reason = reason;
	reply.version = 2;
	reply.suite = 1;
	reply.x25519 = bin(x25519_a, 32);
	reply.mlkem_ct = bin(ct_a, sizeof(ct_a));
	reply.nonce = bin(nonce_a, 32);
	auth.identity = bin(x25519_a, 32);
	auth.signature = bin(sig_a, 64);
	auth.finished = bin(fin_a, 32);
	auth.flags = 1;
	auth.features = 1;
	auth.padding = bin(pad_a, 20);
	open.stream_id = 3;
	open.service = svc;
	open.window = 262144;
	/* The extensions' fields (STP.md "Stream addresses", "Dynamic opens"):
	 * only an encoding check, so one open may hold them all. */
	open.source_ip.data = (uint8_t *)"\xc0\x00\x02\x0a";
	open.source_ip.len = 4;
	open.source_port = 50000;
	open.destination_ip.data = (uint8_t *)"\x7f\x00\x00\x01";
	open.destination_ip.len = 4;
	open.destination_port = 5432;
	open.target_host = (char *)"example.com";
	open.target_port = 443;
	open.datagram = 1;
	acc.stream_id = 3;
	acc.window = 1 << 20;
	sd.stream_id = 5;
	sd.data = bin(data_a, STP_MAX_DATA);
	win.stream_id = 5;
	win.increment = 65536;
	win.received = 1ull << 33;      /* the resumption's fields */
	win.fin = 1;
	fin.stream_id = 7;
	rst.stream_id = 9;
	rst.code = STP__V1__RESET_CODE__RESET_TIMEOUT;
	rst.reason = reason;
	ping.id = UINT64_MAX;
	ku.fresh = 1;
	ki.x25519 = bin(x25519_a, 32);
	ki.mlkem_ek = bin(ek_a, sizeof(ek_a));
	kr.x25519 = bin(x25519_a, 32);
	kr.mlkem_ct = bin(ct_a, sizeof(ct_a));
	cl.code = STP__V1__CLOSE_CODE__CLOSE_LIMIT;
	cl.reason = reason;
	idu.identity = bin(x25519_a, 32);
	idu.signature = bin(sig_a, 64);
	dg.stream_id = 7;
	dg.data = bin(sig_a, 29);
	/* Resumption (STP.md, "Resumption"): a proof and a refusal's reason
	 * in one message, only an encoding check. */
	res.session_id = bin(fin_a, 16);
	res.proof = bin(fin_a, 32);
	res.reason = reason;
	for (i = 0; i < 2; i++) {
		ss[i].stream_id = 3 + 2 * (uint32_t)i;
		ss[i].received = (1ull << 34) + i;
		ss[i].limit = (1ull << 35) + i;
		ss[i].fin = 1;
		ss[i].open = 1;
	}
	rss.n_streams = 2;
	rss.streams = ssp;
	rss.last = 1;

	tops[0] = &hello.base;
	tops[1] = &chal.base;
	tops[2] = &rej.base;
	tops[3] = &reply.base;
	tops[4] = &auth.base;
	bodies[0] = &open.base;
	bodies[1] = &acc.base;
	bodies[2] = &sd.base;
	bodies[3] = &win.base;
	bodies[4] = &fin.base;
	bodies[5] = &rst.base;
	bodies[6] = &ping.base;         /* ping */
	bodies[7] = &ping.base;         /* pong */
	bodies[8] = &ku.base;
	bodies[9] = &ki.base;
	bodies[10] = &kr.base;
	bodies[11] = &cl.base;
	bodies[12] = &cov.base;
	bodies[13] = &idu.base;
	bodies[14] = &dg.base;
	bodies[15] = &res.base;
	bodies[16] = &rss.base;

	a = env_arena_new(2 * STP_MAX_RECORD_PT);
	T_OK(a != NULL);

	/* The handshake messages. */
	for (i = 0; i < 5; i++) {
		t_set_ctx("roundtrip %s", tops[i]->descriptor->name);
		env_arena_reset(a);
		roundtrip(a, tops[i]);
		seen[nseen++] = tops[i]->descriptor;
	}

	/* Every body alone, then inside a Record with every other field. */
	rec.seq = 1ULL << 40;
	rec.time_ms = 1700000000000ULL;
	rec.padding = bin(pad_a, sizeof(pad_a));
	rec.signature = bin(sig_a, 64);
	seen[nseen++] = rec.base.descriptor;
	for (i = 0; i < rec.base.descriptor->n_fields; i++) {
		f = &rec.base.descriptor->fields[i];
		if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			continue;
		if (noneof++ >= N_BODIES)
			break;
		u = bodies[noneof - 1];
		t_set_ctx("roundtrip Record.%s", f->name);
		T_OK(u->descriptor == f->descriptor);
		if (u->descriptor != f->descriptor)
			continue;
		for (j = 0; j < nseen && seen[j] != u->descriptor; j++)
			;
		if (j == nseen) {
			env_arena_reset(a);
			roundtrip(a, u);
			seen[nseen++] = u->descriptor;
		}
		/* Every member of the oneof is a message pointer. */
		memcpy((uint8_t *)&rec + f->offset, &u, sizeof(u));
		rec.body_case = f->id;
		env_arena_reset(a);
		ur = (Stp__V1__Record *)roundtrip(a, &rec.base);
		T_OK(ur != NULL && (uint32_t)ur->body_case == f->id);
		nbodies++;
	}
	T_INT(noneof, N_BODIES);
	T_INT(nbodies, N_BODIES);
	t_set_ctx("roundtrip");
	T_INT(nseen, N_MESSAGES);

	/* No body at all, and the defaults of an empty encoding. */
	t_set_ctx("roundtrip: empty Record");
	env_arena_reset(a);
	ur = (Stp__V1__Record *)env_unpack(a, &stp__v1__record__descriptor,
	    NULL, 0);
	T_OK(ur != NULL && ur->seq == 0 && ur->body_case == 0 &&
	    ur->padding.len == 0);

	/* Two bodies on the wire: the last one wins, as protobuf says. */
	t_set_ctx("roundtrip: two bodies");
	{
		static const uint8_t two[] = { 0x82, 0x01, 0x02, 0x08, 0x2a,
		    0xaa, 0x01, 0x02, 0x08, 0x02 };
		env_arena_reset(a);
		ur = (Stp__V1__Record *)env_unpack(a,
		    &stp__v1__record__descriptor, two, sizeof(two));
		T_OK(ur != NULL &&
		    ur->body_case == STP__V1__RECORD__BODY_CLOSE &&
		    ur->close != NULL && ur->close->code == 2);
	}
	env_arena_free(a);
	t_section("roundtrip");
}

/* ---- env_find_bytes ---- */

struct scan_case {
	const char *name;
	uint8_t b[16];
	size_t len;
	int want;
};

static const struct scan_case scan_cases[] = {
	{ "empty", { 0 }, 0, 0 },
	{ "admission", { 0x32, 0x01, 0x41 }, 3, 1 },
	{ "empty admission", { 0x32, 0x00 }, 2, 1 },
	{ "field 0 varint", { 0x00, 0x01 }, 2, STP_EPARSE },
	{ "field 0 bytes", { 0x02, 0x00 }, 2, STP_EPARSE },
	{ "group start", { 0x3b, 0x3c }, 2, STP_EPARSE },
	{ "group end", { 0x3c }, 1, STP_EPARSE },
	{ "wire type 6", { 0x3e, 0x00 }, 2, STP_EPARSE },
	{ "wire type 7", { 0x3f, 0x00 }, 2, STP_EPARSE },
	{ "admission as varint", { 0x30, 0x01 }, 2, STP_EPARSE },
	{ "admission as fixed32", { 0x35, 1, 2, 3, 4 }, 5, STP_EPARSE },
	{ "varint 10 bytes", { 0x38, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x7f }, 11, 0 },
	{ "varint 11 bytes", { 0x38, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x80, 0x00 }, 12, STP_EPARSE },
	{ "varint unterminated", { 0x38, 0x80 }, 2, STP_EPARSE },
	{ "tag unterminated", { 0xb2 }, 1, STP_EPARSE },
	{ "tag 5 bytes", { 0xb2, 0x80, 0x80, 0x80, 0x00, 0x01, 0x41 }, 7, 1 },
	{ "tag 6 bytes", { 0xb2, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x41 }, 8,
	    STP_EPARSE },
	{ "field 2^32-1", { 0xfa, 0xff, 0xff, 0xff, 0x7f, 0x01, 0x41 }, 7, 0 },
	{ "length 5 bytes", { 0x32, 0x81, 0x80, 0x80, 0x80, 0x00, 0x41 }, 7, 1 },
	{ "length 6 bytes", { 0x32, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x41 },
	    8, STP_EPARSE },
	{ "length 2^32+1", { 0x32, 0x81, 0x80, 0x80, 0x80, 0x10, 0x41 }, 7,
	    STP_EPARSE },
	{ "length past end", { 0x32, 0x02, 0x41 }, 3, STP_EPARSE },
	{ "unknown length past end", { 0x3a, 0x05, 0x41 }, 3, STP_EPARSE },
	{ "fixed64 short", { 0x39, 1, 2, 3, 4, 5, 6, 7 }, 8, STP_EPARSE },
	{ "fixed64", { 0x39, 1, 2, 3, 4, 5, 6, 7, 8, 0x32, 0x01, 0x42 }, 12, 1 },
	{ "fixed32 short", { 0x3d, 1, 2, 3 }, 4, STP_EPARSE },
	{ "fixed32", { 0x3d, 1, 2, 3, 4 }, 5, 0 },
	{ "good then bad", { 0x32, 0x01, 0x41, 0x3b }, 4, STP_EPARSE },
};

/*
 * Whenever protobuf-c decodes buf as a Hello, env_find_bytes must have
 * accepted it and found the same admission.  Returns 1 if that holds.
 * *decoded tells whether protobuf-c decoded it.
 */
static int
agrees(env_arena *a, const uint8_t *buf, size_t len, int r,
    const uint8_t *val, size_t val_len, int *decoded)
{
	Stp__V1__Hello *h;

	env_arena_reset(a);
	h = (Stp__V1__Hello *)env_unpack(a, &stp__v1__hello__descriptor, buf,
	    len);
	*decoded = h != NULL;
	if (h == NULL)
		return 1;
	if (r == 0)
		return h->admission.len == 0;
	if (r != 1 || val_len != h->admission.len)
		return 0;
	return val_len == 0 || memcmp(val, h->admission.data, val_len) == 0;
}

static void
test_find_cases(env_arena *a)
{
	const uint8_t *val;
	uint8_t *b;
	size_t vlen, i;
	int r, dec = 0;

	for (i = 0; i < sizeof(scan_cases) / sizeof(scan_cases[0]); i++) {
		t_set_ctx("find_bytes: %s", scan_cases[i].name);
		b = dup_exact(scan_cases[i].b, scan_cases[i].len);
		val = NULL;
		vlen = 99;
		r = env_find_bytes(b, scan_cases[i].len, 6, &val, &vlen);
		T_INT(r, scan_cases[i].want);
		if (r == 1)
			T_OK(val != NULL && val >= b &&
			    vlen <= scan_cases[i].len - (size_t)(val - b));
		else
			T_OK(val == NULL && vlen == 99);
		T_OK(agrees(a, b, scan_cases[i].len, r, val, vlen, &dec));
		free(b);
	}
	t_set_ctx("find_bytes: arguments");
	T_INT(env_find_bytes(scan_cases[1].b, 3, 0, &val, &vlen), STP_EINVAL);
	T_INT(env_find_bytes(scan_cases[1].b, 3, 1u << 29, &val, &vlen),
	    STP_EINVAL);
	T_INT(env_find_bytes(NULL, 0, 6, &val, &vlen), 0);
}

static void
test_find_hellos(env_arena *a)
{
	static const size_t adm_lens[] = { 0, 1, 127, 128, 255, 256 };
	Stp__V1__Hello h, part;
	const uint8_t *val;
	uint8_t *full, *b, *cat;
	size_t flen, vlen, k, i, j, bounds[7], nb, clen, plen[3];
	int r, dec = 0, ok;

	for (i = 0; i < sizeof(adm_lens) / sizeof(adm_lens[0]); i++) {
		t_set_ctx("find_bytes: Hello admission %zu", adm_lens[i]);
		h = full_hello(adm_lens[i]);
		/* Admission last: v1.1's time and cookie are tried below. */
		h.time = 0;
		h.cookie = bin(NULL, 0);
		full = pb_pack(&h.base, &flen);
		r = env_find_bytes(full, flen, 6, &val, &vlen);
		if (adm_lens[i] == 0) {
			T_INT(r, 0);
		} else {
			T_INT(r, 1);
			T_MEM(val, r == 1 ? vlen : 0, adm_a, adm_lens[i]);
			T_OK(r == 1 && val + vlen == full + flen);
		}
		/* The other bytes fields, found where protobuf-c put them. */
		T_INT(env_find_bytes(full, flen, 3, &val, &vlen), 1);
		T_MEM(val, vlen, x25519_a, 32);
		T_INT(env_find_bytes(full, flen, 4, &val, &vlen), 1);
		T_MEM(val, vlen, ek_a, sizeof(ek_a));
		T_INT(env_find_bytes(full, flen, 5, &val, &vlen), 1);
		T_MEM(val, vlen, nonce_a, 32);
		T_INT(env_find_bytes(full, flen, 9, &val, &vlen), 0);

		/*
		 * Field boundaries: the sizes of the Hello filled one field
		 * more at a time (protobuf-c writes fields in number order).
		 */
		part = (Stp__V1__Hello)STP__V1__HELLO__INIT;
		nb = 0;
		bounds[nb++] = 0;
		part.n_versions = h.n_versions;
		part.versions = h.versions;
		bounds[nb++] = protobuf_c_message_get_packed_size(&part.base);
		part.n_suites = h.n_suites;
		part.suites = h.suites;
		bounds[nb++] = protobuf_c_message_get_packed_size(&part.base);
		part.x25519 = h.x25519;
		bounds[nb++] = protobuf_c_message_get_packed_size(&part.base);
		part.mlkem_ek = h.mlkem_ek;
		bounds[nb++] = protobuf_c_message_get_packed_size(&part.base);
		part.nonce = h.nonce;
		bounds[nb++] = protobuf_c_message_get_packed_size(&part.base);

		/* Every truncation: 0 at a field boundary, else a parse error. */
		ok = 1;
		for (k = 0; k < flen; k++) {
			int at_bound = 0;

			for (j = 0; j < nb; j++)
				at_bound |= bounds[j] == k;
			b = dup_exact(full, k);
			r = env_find_bytes(b, k, 6, &val, &vlen);
			if (r != (at_bound ? 0 : STP_EPARSE) ||
			    !agrees(a, b, k, r, val, vlen, &dec) ||
			    dec != at_bound) {
				if (ok)
					t_check(0, __FILE__, __LINE__, t_ctx,
					    "truncated to %zu: %d (decoded %d)",
					    k, r, dec);
				ok = 0;
			}
			free(b);
		}
		T_OK(ok);

		/*
		 * Duplicates: admission ‖ everything ‖ admission again,
		 * concatenated encodings as a protobuf merge would see them;
		 * the last copy wins, here and in protobuf-c.
		 */
		if (adm_lens[i] != 0) {
			Stp__V1__Hello first = STP__V1__HELLO__INIT;
			Stp__V1__Hello last = STP__V1__HELLO__INIT;
			uint8_t *p0, *p1;

			first.admission = bin(adm_a + 1, adm_lens[i] - 1);
			last.admission = bin(data_a, 7);
			p0 = pb_pack(&first.base, &plen[0]);
			p1 = pb_pack(&last.base, &plen[2]);
			plen[1] = flen;
			clen = plen[0] + plen[1] + plen[2];
			cat = malloc(clen + 2);
			memcpy(cat, p0, plen[0]);
			memcpy(cat + plen[0], full, flen);
			memcpy(cat + plen[0] + flen, p1, plen[2]);
			T_INT(env_find_bytes(cat, clen, 6, &val, &vlen), 1);
			T_MEM(val, vlen, data_a, 7);
			T_OK(agrees(a, cat, clen, 1, val, vlen, &dec) && dec);
			/* Without the last copy: the full Hello's. */
			T_INT(env_find_bytes(cat, clen - plen[2], 6, &val,
			    &vlen), 1);
			T_MEM(val, vlen, adm_a, adm_lens[i]);
			/* An empty last copy wins too. */
			cat[clen] = 0x32;
			cat[clen + 1] = 0x00;
			T_INT(env_find_bytes(cat, clen + 2, 6, &val, &vlen), 1);
			T_INT(vlen, 0);
			T_OK(agrees(a, cat, clen + 2, 1, val, vlen, &dec) &&
			    dec);
			/* Truncations of the concatenation never overrun. */
			ok = 1;
			for (k = 0; k < clen; k++) {
				b = dup_exact(cat, k);
				r = env_find_bytes(b, k, 6, &val, &vlen);
				if ((r != 0 && r != 1 && r != STP_EPARSE) ||
				    !agrees(a, b, k, r, val, vlen, &dec))
					ok = 0;
				free(b);
			}
			T_OK(ok);
			free(cat);
			free(p0);
			free(p1);
		}
		free(full);
	}
}

/*
 * Random buffers: half plain random bytes, half random sequences of
 * well-formed-looking fields (so that the deep paths run).  No crash, no read
 * past the end (ASan), results in range, and agreement with protobuf-c.
 */
static void
test_find_garbage(env_arena *a)
{
	static const uint8_t wts[] = { 0, 1, 2, 5, 3, 4, 6, 7 };
	uint8_t tmp[64], *b;
	const uint8_t *val;
	size_t len, vlen, i, nbad = 0, nfound = 0, ndecoded = 0, nparse = 0;
	uint64_t x;
	unsigned fld, wt;
	int r, dec, bad;

	t_set_ctx("find_bytes: garbage");
	for (i = 0; i < N_GARBAGE; i++) {
		if (i % 2 == 0) {
			len = rng() % (sizeof(tmp) + 1);
			rng_fill(tmp, len);
		} else {
			len = 0;
			while (len + 12 <= sizeof(tmp) && rng() % 8 != 0) {
				x = rng();
				/*
				 * Field 6 (the one wanted, mostly with wire
				 * type 2) a third of the time; now and then an
				 * invalid wire type.
				 */
				fld = x % 3 == 0 ? 6 : (unsigned)(x >> 4) % 8 + 1;
				wt = wts[(x >> 8) % ((x >> 12) % 16 == 0 ? 8 : 4)];
				if (fld == 6 && (x >> 16) % 8 != 0)
					wt = 2;
				tmp[len++] = (uint8_t)(fld << 3 | wt);
				switch (tmp[len - 1] & 7) {
				case 0:
					tmp[len++] = (uint8_t)(x >> 24) & 0x7f;
					break;
				case 1:
					rng_fill(tmp + len, 8);
					len += 8;
					break;
				case 5:
					rng_fill(tmp + len, 4);
					len += 4;
					break;
				case 2:
					tmp[len] = (uint8_t)((x >> 24) % 6);
					rng_fill(tmp + len + 1, tmp[len]);
					len += 1 + tmp[len];
					break;
				}
			}
			if (len != 0 && rng() % 4 == 0)
				len = rng() % len;      /* cut it short */
		}
		b = dup_exact(tmp, len);
		val = NULL;
		vlen = 0;
		r = env_find_bytes(b, len, 6, &val, &vlen);
		bad = 0;
		if (r == 1) {
			nfound++;
			if (val < b || (size_t)(val - b) > len ||
			    vlen > len - (size_t)(val - b))
				bad = 1;
		} else if (r == STP_EPARSE) {
			nparse++;
		} else if (r != 0) {
			bad = 1;
		}
		if (!agrees(a, b, len, r, val, vlen, &dec))
			bad = 1;
		ndecoded += dec;
		if (bad && nbad++ == 0)
			t_check(0, __FILE__, __LINE__, t_ctx, "buffer %zu: %s -> %d",
			    i, t_hex(b, len), r);
		free(b);
	}
	T_INT(nbad, 0);
	/* The generator must reach every outcome, or it tests little. */
	T_OK(nfound > N_GARBAGE / 50);
	T_OK(nparse > N_GARBAGE / 4);
	T_OK(ndecoded > N_GARBAGE / 50);
	printf("garbage: %d buffers: %zu found, %zu parse errors, "
	    "%zu decoded by protobuf-c\n", N_GARBAGE, nfound, nparse, ndecoded);
}

/* env_find_varint and env_has_uint: what R reads of a Hello before decoding it. */
static void
test_find_varint(void)
{
	static const uint8_t unpacked[] = { 0x08, 0x02, 0x08, 0x05 };
	static const uint8_t dup[] = { 0x38, 0x01, 0x38, 0x96, 0x01 };
	static const uint8_t wrong[] = { 0x3a, 0x01, 0x00 };
	static const uint8_t cut[] = { 0x38, 0x80 };
	static const uint8_t fixed[] = { 0x3d, 0, 0, 0, 0 };
	static const uint8_t packed_cut[] = { 0x0a, 0x02, 0x02, 0x80 };
	Stp__V1__Hello h = full_hello(10);
	uint8_t *full;
	size_t flen;
	uint64_t v = 99;

	t_set_ctx("find_varint");
	full = pb_pack(&h.base, &flen);
	T_INT(env_find_varint(full, flen, 7, &v), 1);
	T_INT(v, 1700000000);
	T_INT(env_has_uint(full, flen, 1, 1), 1);
	T_INT(env_has_uint(full, flen, 1, 300), 1);
	T_INT(env_has_uint(full, flen, 1, 70000), 1);
	T_INT(env_has_uint(full, flen, 1, 2), 0);
	T_INT(env_has_uint(full, flen, 2, 2), 1);
	free(full);
	h.time = 0;
	full = pb_pack(&h.base, &flen);
	T_INT(env_find_varint(full, flen, 7, &v), 0);
	T_INT(v, 0);
	free(full);
	T_INT(env_has_uint(unpacked, sizeof(unpacked), 1, 2), 1);
	T_INT(env_has_uint(unpacked, sizeof(unpacked), 1, 5), 1);
	T_INT(env_has_uint(unpacked, sizeof(unpacked), 1, 1), 0);
	T_INT(env_find_varint(dup, sizeof(dup), 7, &v), 1);
	T_INT(v, 150); /* the last occurrence, as protobuf-c decodes it */
	T_INT(env_find_varint(wrong, sizeof(wrong), 7, &v), STP_EPARSE);
	T_INT(env_has_uint(wrong, sizeof(wrong), 7, 0), 1); /* packed: [0] */
	T_INT(env_has_uint(fixed, sizeof(fixed), 7, 0), STP_EPARSE);
	T_INT(env_find_varint(cut, sizeof(cut), 7, &v), STP_EPARSE);
	T_INT(env_has_uint(packed_cut, sizeof(packed_cut), 1, 2), STP_EPARSE);
	T_INT(env_find_varint(NULL, 0, 7, &v), 0);
	T_INT(env_find_varint(dup, 1, 0, &v), STP_EINVAL);
}

static void
test_find_bytes(void)
{
	env_arena *a = env_arena_new(65536);

	test_find_cases(a);
	test_find_hellos(a);
	test_find_garbage(a);
	env_arena_free(a);
	t_section("find_bytes");
}

/* ---- the data record encoder ---- */

static void
test_data_record(void)
{
	static const uint64_t u64s[] = { 0, 1, 127, 128, 16383, 16384,
	    UINT32_MAX, 1ULL << 63, UINT64_MAX };
	static const uint64_t times[] = { 0, 1, 127, 128, UINT32_MAX,
	    1ULL << 63, UINT64_MAX };
	static const uint32_t sids[] = { 0, 1, 127, 128, UINT32_MAX };
	static const size_t lens[] = { 0, 1, 127, 128, 16383, 16384, 65535,
	    STP_MAX_DATA };
	static uint8_t out[STP_MAX_RECORD_PT + 64], want[STP_MAX_RECORD_PT + 64];
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamData sd = STP__V1__STREAM_DATA__INIT;
	Stp__V1__Record *u;
	size_t is, it, id, il, wlen, n, combos = 0, hdr;
	uint8_t empty[1] = { 0 };
	env_arena *a;
	int rc;

	a = env_arena_new(STP_MAX_RECORD_PT + 4096);
	T_OK(a != NULL);
	for (is = 0; is < sizeof(u64s) / sizeof(u64s[0]); is++)
	for (it = 0; it < sizeof(times) / sizeof(times[0]); it++)
	for (id = 0; id < sizeof(sids) / sizeof(sids[0]); id++)
	for (il = 0; il < sizeof(lens) / sizeof(lens[0]); il++) {
		t_set_ctx("data record seq %llu time %llu stream %u len %zu",
		    (unsigned long long)u64s[is], (unsigned long long)times[it],
		    sids[id], lens[il]);
		r.seq = u64s[is];
		r.time_ms = times[it];
		r.body_case = STP__V1__RECORD__BODY_DATA;
		r.data = &sd;
		sd.stream_id = sids[id];
		/* An empty data field with and without a pointer. */
		sd.data = bin(lens[il] == 0 && combos % 2 ? empty :
		    lens[il] == 0 ? NULL : data_a, lens[il]);
		wlen = protobuf_c_message_pack(&r.base, want);

		n = env_data_record_len(r.seq, r.time_ms, sd.stream_id,
		    lens[il]);
		T_INT(n, wlen);
		rc = env_encode_data_record(out, wlen, r.seq, r.time_ms,
		    sd.stream_id, lens[il] ? data_a : NULL, lens[il]);
		T_INT(rc, wlen);
		T_MEM(out, rc < 0 ? 0 : (size_t)rc, want, wlen);
		T_INT(env_encode_data_record(out, wlen - 1, r.seq, r.time_ms,
		    sd.stream_id, data_a, lens[il]), STP_ETOOBIG);

		/* The in-place decoder reads the canonical bytes back. */
		{
			uint64_t ds = 0, dt = 0;
			uint32_t dsid = 0;
			const uint8_t *dd = NULL;
			size_t dl = 0;

			T_INT(env_decode_data_record(want, wlen, &ds, &dt, &dsid,
			    &dd, &dl), 1);
			T_OK(ds == r.seq && dt == r.time_ms && dsid == sids[id]);
			T_MEM(dd, dl, data_a, lens[il]);
			T_OK(dl == 0 || (dd >= want && dd + dl == want + wlen));
		}
		env_arena_reset(a);
		u = (Stp__V1__Record *)env_unpack(a,
		    &stp__v1__record__descriptor, want, wlen);
		T_OK(u != NULL);
		if (u != NULL) {
			T_OK(u->seq == r.seq && u->time_ms == r.time_ms);
			T_OK(u->body_case == STP__V1__RECORD__BODY_DATA &&
			    u->data != NULL);
			if (u->data != NULL) {
				T_INT(u->data->stream_id, sids[id]);
				T_MEM(u->data->data.data, u->data->data.len,
				    data_a, lens[il]);
			}
		}
		combos++;
	}
	t_set_ctx("data record");
	T_INT(combos, 9 * 7 * 5 * 8);

	/* Room to spare is fine; too much data is refused. */
	n = env_data_record_len(5, 6, 7, 10);
	T_INT(env_encode_data_record(out, sizeof(out), 5, 6, 7, data_a, 10), n);
	T_INT(env_encode_data_record(out, sizeof(out), 5, 6, 7, data_a,
	    STP_MAX_DATA + 1), STP_ETOOBIG);
	T_INT(env_encode_data_record(out, sizeof(out), 5, 6, 7, NULL, 1),
	    STP_EINVAL);
	T_OK(env_data_record_len(1, 1, 1, SIZE_MAX) == SIZE_MAX);

	/* Data already in place behind the header: no copy needed, same bytes. */
	n = env_data_record_len(1ULL << 63, 99, 3, STP_MAX_DATA);
	hdr = n - STP_MAX_DATA;
	memcpy(out + hdr, data_a, STP_MAX_DATA);
	T_INT(env_encode_data_record(out, n, 1ULL << 63, 99, 3, out + hdr,
	    STP_MAX_DATA), n);
	sd.stream_id = 3;
	sd.data = bin(data_a, STP_MAX_DATA);
	r.seq = 1ULL << 63;
	r.time_ms = 99;
	wlen = protobuf_c_message_pack(&r.base, want);
	T_MEM(out, n, want, wlen);

	env_arena_free(a);
	t_section("data record");
}


/*
 * env_decode_data_record must never decide differently from protobuf-c: on
 * records with padding, signatures or other bodies it declines (0), and on
 * every byte string it accepts, protobuf-c decodes the same values.  Random
 * mutations of canonical records probe the edges; ASan checks the bounds.
 */
static void
test_decode_agrees(void)
{
	static uint8_t buf[STP_MAX_RECORD_PT + 64];
	Stp__V1__Record r = STP__V1__RECORD__INIT, *u;
	Stp__V1__StreamData sd = STP__V1__STREAM_DATA__INIT;
	Stp__V1__Ping ping = STP__V1__PING__INIT;
	uint8_t pad[3] = { 1, 2, 3 };
	size_t n, k, accepted = 0, declined = 0;
	uint64_t ds, dt;
	uint32_t dsid;
	const uint8_t *dd;
	size_t dl;
	env_arena *a = env_arena_new(STP_MAX_RECORD_PT + 4096);
	int i;

	t_set_ctx("decode declines");
	r.seq = 7;
	r.time_ms = 8;
	r.body_case = STP__V1__RECORD__BODY_DATA;
	r.data = &sd;
	sd.stream_id = 9;
	sd.data = bin(data_a, 100);
	r.padding = bin(pad, sizeof(pad));
	n = protobuf_c_message_pack(&r.base, buf);
	T_INT(env_decode_data_record(buf, n, &ds, &dt, &dsid, &dd, &dl), 0);
	r.padding = bin(NULL, 0);
	r.signature = bin(data_a, 64);
	n = protobuf_c_message_pack(&r.base, buf);
	T_INT(env_decode_data_record(buf, n, &ds, &dt, &dsid, &dd, &dl), 0);
	r.signature = bin(NULL, 0);
	r.body_case = STP__V1__RECORD__BODY_PING;
	r.ping = &ping;
	n = protobuf_c_message_pack(&r.base, buf);
	T_INT(env_decode_data_record(buf, n, &ds, &dt, &dsid, &dd, &dl), 0);

	t_set_ctx("decode agrees with protobuf-c");
	srand(20261122);
	for (i = 0; i < 200000; i++) {
		r.body_case = STP__V1__RECORD__BODY_DATA;
		r.data = &sd;
		r.seq = (uint64_t)rand() << (rand() % 40);
		r.time_ms = rand() % 3 ? (uint64_t)rand() : 0;
		sd.stream_id = rand() % 4 ? (uint32_t)rand() : 0;
		sd.data = bin(data_a, (size_t)(rand() % 300));
		n = protobuf_c_message_pack(&r.base, buf);
		/* Mutate: a byte, a truncation, or an extension. */
		switch (rand() % 3) {
		case 0:
			buf[rand() % n] ^= (uint8_t)(1 + rand() % 255);
			break;
		case 1:
			n = (size_t)(rand() % (int)n);
			break;
		default:
			for (k = 0; k < 4; k++)
				buf[n + k] = (uint8_t)rand();
			n += 1 + (size_t)(rand() % 4);
		}
		if (env_decode_data_record(buf, n, &ds, &dt, &dsid, &dd, &dl) != 1) {
			declined++;
			continue;
		}
		accepted++;
		env_arena_reset(a);
		u = (Stp__V1__Record *)env_unpack(a, &stp__v1__record__descriptor,
		    buf, n);
		if (!T_OK(u != NULL && u->body_case == STP__V1__RECORD__BODY_DATA &&
		    u->data != NULL))
			break;
		T_OK(u->seq == ds && u->time_ms == dt && u->data->stream_id == dsid &&
		    u->padding.len == 0 && u->signature.len == 0);
		T_MEM(u->data->data.data, u->data->data.len, dd, dl);
	}
	t_set_ctx("decode agrees with protobuf-c: %zu accepted, %zu declined",
	    accepted, declined);
	T_OK(accepted > 1000 && declined > 1000);
	env_arena_free(a);
	t_section("decode in place");
}

int
main(void)
{
	fixtures_init();
	test_arena();
	test_roundtrip();
	test_find_bytes();
	test_find_varint();
	test_data_record();
	test_decode_agrees();
	return t_done();
}

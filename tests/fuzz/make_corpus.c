/* SPDX-License-Identifier: Apache-2.0 */
/*
 * make_corpus.c: writes the seed corpora of tests/fuzz (corpus/<name>/):
 * a few meaningful inputs per harness, most of them taken from a real
 * handshake run with the harnesses' own RNG streams (fuzz.h), so that the
 * fuzzer starts from inputs that get all the way through.
 *
 * Usage: fuzz_make_corpus tests/fuzz/corpus conf/example.yaml
 * (files of the same names are replaced, others are left alone)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base64url.h"
#include "crypto/aead.h"
#include "envelope.h"
#include "err.h"
#include "frame.h"
#include "fuzz.h"
#include "identity.h"
#include "keysched.h"
#include "record.h"

static const char *outdir;
static aead_ctx *actx;

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_make_corpus: %s\n", what);
	exit(1);
}

/* Write corpus/<h>/<name>: an optional control byte, then the parts. */
static void
put(const char *h, const char *name, int ctl, const void *a, size_t alen,
    const void *b, size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, h);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, h, name);
	if ((f = fopen(path, "wb")) == NULL)
		die(path);
	if (ctl >= 0)
		fputc(ctl, f);
	if (alen > 0)
		fwrite(a, 1, alen, f);
	if (blen > 0)
		fwrite(b, 1, blen, f);
	if (fclose(f) != 0)
		die(path);
}

static void
put_str(const char *h, const char *name, int ctl, const char *s)
{
	put(h, name, ctl, s, strlen(s), NULL, 0);
}

/* A growing byte string. */
struct buf {
	uint8_t b[65536];
	size_t n;
};

static void
add(struct buf *b, const void *p, size_t n)
{
	if (n > sizeof(b->b) - b->n)
		die("buffer full");
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static size_t
pack(const ProtobufCMessage *m, uint8_t *out, size_t cap)
{
	int n = env_pack(m, out, cap);

	if (n < 0)
		die("pack");
	return (size_t)n;
}

/* A sealed record frame: Record{seq, body from r} under dk, appended to out. */
static void
seal_record(struct buf *out, const aead_dirkey *dk, uint64_t seq,
    Stp__V1__Record *r, uint8_t type)
{
	uint8_t fr[4 + 4096 + 16];
	record_job j;
	size_t n;

	r->seq = seq;
	n = pack(&r->base, fr + FRAME_HDR_LEN, 4096);
	frame_put_header(fr, type, n + AEAD_TAG_LEN);
	memset(&j, 0, sizeof(j));
	j.op = RECORD_SEAL;
	j.key = *dk;
	j.seq = seq;
	j.buf = fr;
	j.len = FRAME_HDR_LEN + n;
	j.cap = sizeof(fr);
	j.dir = 'i';
	if (record_job_run(&j, actx) != 0)
		die("seal");
	add(out, fr, j.len);
}

/* One piece of fuzz_endpoint_est's sealed-mode list: r without seq. */
static void
est_piece(struct buf *out, uint8_t flags, Stp__V1__Record *r)
{
	uint8_t p[4096], hdr[3];
	size_t n;

	r->seq = 0;
	n = pack(&r->base, p, sizeof(p));
	hdr[0] = flags;
	hdr[1] = (uint8_t)(n >> 8);
	hdr[2] = (uint8_t)n;
	add(out, hdr, 3);
	add(out, p, n);
}

static void
frames(void)
{
	const struct fuzz_prefix *p = fuzz_prefix(0);
	uint8_t h[4];
	int t;
	char name[64];

	for (t = 1; t <= 7; t++) {
		frame_put_header(h, (uint8_t)t, frame_max_body((uint8_t)t));
		snprintf(name, sizeof(name), "max-%d", t);
		put("frame", name, -1, h, 4, NULL, 0);
	}
	put("frame", "toobig", -1, "\x06\x01\x04\x11", 4, NULL, 0);
	put("frame", "unknown", -1, "\x08\x00\x00\x10", 4, NULL, 0);
	put("frame", "hello", -1, p->hello, p->hello_len, NULL, 0);
}

static void
records(void)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Ping ping = STP__V1__PING__INIT;
	Stp__V1__KeyUpdate ku = STP__V1__KEY_UPDATE__INIT;
	uint8_t pt[4096], ts[KS_SECRET_LEN];
	aead_dirkey dk;
	struct buf b;
	size_t n;

	ping.id = 7;
	r.seq = 0;
	r.time_ms = 1700000000000ull;
	r.body_case = STP__V1__RECORD__BODY_PING;
	r.ping = &ping;
	n = pack(&r.base, pt, sizeof(pt));
	put("record", "sealed-ping", 0x02, pt, n, NULL, 0);
	put("record", "sealed-signed-ping", 0x07, pt, n, NULL, 0);
	put("record", "sealed-seq3", 0x62, pt, n, NULL, 0);
	r.body_case = STP__V1__RECORD__BODY_KEY_UPDATE;
	r.key_update = &ku;
	n = pack(&r.base, pt, sizeof(pt));
	put("record", "sealed-keyupdate", 0x0a, pt, n, NULL, 0);
	/* The harness's own key: a raw frame that opens. */
	memset(ts, 0x74, sizeof(ts));
	if (ks_record_key(&dk, ts) != 0)
		die("record key");
	b.n = 0;
	r.body_case = STP__V1__RECORD__BODY_PING;
	r.ping = &ping;
	seal_record(&b, &dk, 0, &r, FRAME_RECORD);
	put("record", "raw-ok", 0x00, b.b, b.n, NULL, 0);
	put("record", "raw-verify", 0x01, b.b, b.n, NULL, 0);
	put("record", "raw-short", 0x00, "\x06\x00\x00\x10", 4, NULL, 0);
}

static void
envelopes(void)
{
	const struct fuzz_prefix *p = fuzz_prefix(0);
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamOpen so = STP__V1__STREAM_OPEN__INIT;
	Stp__V1__Close cl = STP__V1__CLOSE__INIT;
	Stp__V1__Reject rj = STP__V1__REJECT__INIT;
	uint8_t m[8192], hdr[2];
	size_t n;

	/* Indexes into fuzz_envelope.c's type table. */
	hdr[0] = 0;  /* Hello */
	hdr[1] = 6;  /* admission */
	put("envelope", "hello", -1, hdr, 2, p->hello + FRAME_HDR_LEN,
	    p->hello_len - FRAME_HDR_LEN - KS_MAC1_LEN);
	hdr[0] = 3;  /* Reply */
	hdr[1] = 4;
	put("envelope", "reply", -1, hdr, 2, p->reply + FRAME_HDR_LEN,
	    p->reply_frame_len - FRAME_HDR_LEN);
	so.stream_id = 3;
	so.service = "postgres";
	so.window = 262144;
	r.seq = 12;
	r.time_ms = 1700000000000ull;
	r.body_case = STP__V1__RECORD__BODY_OPEN;
	r.open = &so;
	r.padding.data = (uint8_t *)"pppp";
	r.padding.len = 4;
	n = pack(&r.base, m, sizeof(m));
	hdr[0] = 5;  /* Record */
	hdr[1] = 30;
	put("envelope", "record-open", -1, hdr, 2, m, n);
	cl.code = 2;
	cl.reason = "protocol";
	r.body_case = STP__V1__RECORD__BODY_CLOSE;
	r.close = &cl;
	n = pack(&r.base, m, sizeof(m));
	put("envelope", "record-close", -1, hdr, 2, m, n);
	rj.code = 4;
	rj.reason = "malformed hello";
	n = pack(&rj.base, m, sizeof(m));
	hdr[0] = 2;  /* Reject */
	hdr[1] = 2;
	put("envelope", "reject", -1, hdr, 2, m, n);
	/* Encoder mode: seq, time, stream id, data. */
	memcpy(m, "\xf0\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x01\x8b\xcf"
	    "\xe5\x68\x00\x00\x00\x00\x07hello", 27);
	put("envelope", "encode-data", -1, m, 27, NULL, 0);
	/* A field numbered 0 in a two-byte tag: protobuf-c takes it, env_find_bytes not. */
	put("envelope", "field0-tag", -1, "\x00\x00\x80\x00\x2d\x10\xf5\x60", 8,
	    NULL, 0);
	/* ... and inside a sub-message (Record.open). */
	put("envelope", "field0-nested", -1, "\x05\x1e\x52\x10\x08\x03\x12\x08"
	    "\x80\x80\x00\x22\x00\x22\x80\x80\x80\x00\x80\x24\xf2\x01\x04pppp",
	    27, NULL, 0);
}

static void
handshakes(void)
{
	const struct fuzz_prefix *p = fuzz_prefix(0);
	Stp__V1__Challenge ch = STP__V1__CHALLENGE__INIT;
	Stp__V1__Reject rj = STP__V1__REJECT__INIT;
	Stp__V1__Hello *hm;
	env_arena *a;
	uint8_t f[4 + 2048];
	size_t n;

	put("hs_hello", "hello", 0x00, p->hello, p->hello_len, NULL, 0);
	put("hs_hello", "hello-fix-hook", 0x03, p->hello, p->hello_len, NULL, 0);
	put("hs_hello", "hello-auth", 0x00, p->hello, p->hello_len, p->auth_i,
	    p->auth_i_len);
	/* The same Hello asking for a challenge (mac1 repaired by the harness). */
	if ((a = env_arena_new(16384)) == NULL)
		die("arena");
	hm = (Stp__V1__Hello *)env_unpack(a, &stp__v1__hello__descriptor,
	    p->hello + FRAME_HDR_LEN, p->hello_len - FRAME_HDR_LEN - KS_MAC1_LEN);
	if (hm == NULL)
		die("hello");
	hm->admission.data = (uint8_t *)"\x01proof-of-work?";
	hm->admission.len = 15;
	n = pack(&hm->base, f + FRAME_HDR_LEN, 2048 - KS_MAC1_LEN);
	memset(f + FRAME_HDR_LEN + n, 0, KS_MAC1_LEN);
	frame_put_header(f, FRAME_HELLO, n + KS_MAC1_LEN);
	put("hs_hello", "hello-challenge", 0x03, f, FRAME_HDR_LEN + n + KS_MAC1_LEN,
	    NULL, 0);
	env_arena_free(a);

	put("hs_reply", "reply-authr", 0x00, p->reply, p->reply_len, NULL, 0);
	put("hs_reply", "reply", 0x00, p->reply, p->reply_frame_len, NULL, 0);
	ch.data.data = (uint8_t *)"solve me";
	ch.data.len = 8;
	n = pack(&ch.base, f + FRAME_HDR_LEN, 512);
	frame_put_header(f, FRAME_CHALLENGE, n);
	put("hs_reply", "challenge", 0x01, f, FRAME_HDR_LEN + n, NULL, 0);
	rj.code = 3;
	rj.reason = "busy";
	n = pack(&rj.base, f + FRAME_HDR_LEN, 256);
	frame_put_header(f, FRAME_REJECT, n);
	put("hs_reply", "reject", 0x00, f, FRAME_HDR_LEN + n, NULL, 0);

	put("hs_auth", "auth-i", 0x00, p->auth_i, p->auth_i_len, NULL, 0);
	put("hs_auth", "auth-r", 0x01, p->reply + p->reply_frame_len,
	    p->reply_len - p->reply_frame_len, NULL, 0);
	put("hs_auth", "short", 0x00, "\x05\x00\x00\x01\x00", 5, NULL, 0);
}

static void
endpoints(void)
{
	const struct fuzz_prefix *p = fuzz_prefix(0);
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Ping ping = STP__V1__PING__INIT;
	Stp__V1__StreamOpen so = STP__V1__STREAM_OPEN__INIT;
	Stp__V1__StreamData sd = STP__V1__STREAM_DATA__INIT;
	Stp__V1__WindowUpdate wu = STP__V1__WINDOW_UPDATE__INIT;
	Stp__V1__StreamFin fin = STP__V1__STREAM_FIN__INIT;
	Stp__V1__StreamReset rs = STP__V1__STREAM_RESET__INIT;
	Stp__V1__KeyUpdate ku = STP__V1__KEY_UPDATE__INIT;
	Stp__V1__KemInit ki = STP__V1__KEM_INIT__INIT;
	Stp__V1__Close cl = STP__V1__CLOSE__INIT;
	Stp__V1__Cover cv = STP__V1__COVER__INIT;
	Stp__V1__Hello *hm;
	env_arena *a;
	uint8_t ts[KS_SECRET_LEN];
	aead_dirkey dk;
	struct buf *w, *e;

	if ((w = calloc(1, sizeof(*w))) == NULL || (e = calloc(1, sizeof(*e))) == NULL)
		die("out of memory");
	ping.id = 1700000000000ull;
	so.stream_id = 1;
	so.service = "ssh";
	so.window = 262144;
	sd.stream_id = 1;
	sd.data.data = (uint8_t *)"SSH-2.0-OpenSSH_9.2\r\n";
	sd.data.len = 21;
	wu.stream_id = 1;
	wu.increment = 65536;
	fin.stream_id = 1;
	rs.stream_id = 3;
	rs.code = 1;
	rs.reason = "refused";
	cl.code = 0;
	cl.reason = "bye";

	/* fuzz_endpoint_resp: the whole initiator side of a session. */
	add(w, p->hello, p->hello_len);
	add(w, p->auth_i, p->auth_i_len);
	memcpy(ts, p->ts_i, sizeof(ts));
	if (ks_record_key(&dk, ts) != 0)
		die("key");
	r.body_case = STP__V1__RECORD__BODY_PING;
	r.ping = &ping;
	seal_record(w, &dk, 0, &r, FRAME_RECORD);
	r.body_case = STP__V1__RECORD__BODY_OPEN;
	r.open = &so;
	seal_record(w, &dk, 1, &r, FRAME_RECORD);
	r.body_case = STP__V1__RECORD__BODY_DATA;
	r.data = &sd;
	seal_record(w, &dk, 2, &r, FRAME_RECORD);
	r.body_case = STP__V1__RECORD__BODY_KEY_UPDATE;
	r.key_update = &ku;
	seal_record(w, &dk, 3, &r, FRAME_KEY_UPDATE);
	if (ks_ratchet(ts) != 0 || ks_record_key(&dk, ts) != 0)
		die("ratchet");
	r.body_case = STP__V1__RECORD__BODY_DATA;
	r.data = &sd;
	seal_record(w, &dk, 4, &r, FRAME_RECORD);
	r.body_case = STP__V1__RECORD__BODY_CLOSE;
	r.close = &cl;
	seal_record(w, &dk, 5, &r, FRAME_RECORD);
	put("endpoint_resp", "session", 0x00, w->b, w->n, NULL, 0);
	put("endpoint_resp", "session-bytewise", 0x02, w->b, w->n, NULL, 0);
	put("endpoint_resp", "session-jobs", 0x30, w->b, w->n, NULL, 0);
	put("endpoint_resp", "hello-refused", 0x40, w->b, w->n, NULL, 0);
	/* A HELLO header announcing 32 bytes, and 32 bytes that are no Hello. */
	put("endpoint_resp", "junk", 0x01, "\x01\x00\x00\x20 not a hello at all.............", 36,
	    NULL, 0);

	/* fuzz_endpoint_est: pieces, the harness seals them. */
	r.time_ms = 1700000000000ull;
	r.body_case = STP__V1__RECORD__BODY_PING;
	r.ping = &ping;
	est_piece(e, 0x00, &r);
	r.body_case = STP__V1__RECORD__BODY_OPEN;
	r.open = &so;
	est_piece(e, 0x00, &r);
	r.body_case = STP__V1__RECORD__BODY_DATA;
	r.data = &sd;
	est_piece(e, 0x00, &r);
	r.body_case = STP__V1__RECORD__BODY_WINDOW;
	r.window = &wu;
	est_piece(e, 0x00, &r);
	r.body_case = STP__V1__RECORD__BODY_COVER;
	r.cover = &cv;
	est_piece(e, 0x00, &r);
	r.body_case = STP__V1__RECORD__BODY_KEY_UPDATE;
	r.key_update = &ku;
	est_piece(e, 0x01, &r);
	r.body_case = STP__V1__RECORD__BODY_FIN;
	r.fin = &fin;
	est_piece(e, 0x30, &r);
	r.body_case = STP__V1__RECORD__BODY_RESET;
	r.reset = &rs;
	est_piece(e, 0x00, &r);
	r.body_case = STP__V1__RECORD__BODY_CLOSE;
	r.close = &cl;
	est_piece(e, 0x00, &r);
	put("endpoint_est", "responder", 0x00, e->b, e->n, NULL, 0);
	put("endpoint_est", "initiator", 0x01, e->b, e->n, NULL, 0);
	put("endpoint_est", "signed", 0x02, e->b, e->n, NULL, 0);
	put("endpoint_est", "jobs-reverse", 0x18, e->b, e->n, NULL, 0);
	put("endpoint_est", "raw", 0x04, p->auth_i, p->auth_i_len, NULL, 0);
	/* A rekey exchange started by the initiator (keys from the real HELLO). */
	e->n = 0;
	if ((a = env_arena_new(16384)) == NULL)
		die("arena");
	hm = (Stp__V1__Hello *)env_unpack(a, &stp__v1__hello__descriptor,
	    p->hello + FRAME_HDR_LEN, p->hello_len - FRAME_HDR_LEN - KS_MAC1_LEN);
	if (hm == NULL)
		die("hello");
	ki.x25519 = hm->x25519;
	ki.mlkem_ek = hm->mlkem_ek;
	r.body_case = STP__V1__RECORD__BODY_KEM_INIT;
	r.kem_init = &ki;
	est_piece(e, 0x00, &r);
	r.body_case = STP__V1__RECORD__BODY_PING;
	r.ping = &ping;
	est_piece(e, 0x00, &r);
	put("endpoint_est", "kem-init", 0x00, e->b, e->n, NULL, 0);
	env_arena_free(a);
	free(w);
	free(e);
}

static const char minimal_yaml[] = "identity: id.key\n";

static void
yamls(const char *example)
{
	char pk0[IDENTITY_PUBTEXT_LEN + 1], text[4096];
	uint8_t pub[32];
	FILE *f;
	char *ex;
	long n;

	/* conf/example.yaml with our scratch identity. */
	if ((f = fopen(example, "rb")) == NULL)
		die(example);
	if ((ex = malloc(65536)) == NULL)
		die("out of memory");
	n = (long)fread(ex, 1, 65535, f);
	fclose(f);
	ex[n] = '\0';
	{
		char *id = strstr(ex, "identity: /etc/stpgate/alice.key");
		struct buf *b;

		if (id == NULL)
			die("example.yaml: no identity line");
		if ((b = calloc(1, sizeof(*b))) == NULL)
			die("out of memory");
		add(b, ex, (size_t)(id - ex));
		add(b, "identity: id.key", 16);
		add(b, id + 32, strlen(id + 32));
		put("config", "example", -1, b->b, b->n, NULL, 0);
		put("ytree", "example", -1, ex, (size_t)n, NULL, 0);
		free(b);
	}
	free(ex);
	put_str("config", "minimal", -1, minimal_yaml);
	fuzz_pub(0, pub);
	if (identity_pub_encode(pub, pk0) != 0)
		die("encode");
	snprintf(text, sizeof(text),
	    "identity: id.key\n"
	    "listen: \"[::]:7400\"\n"
	    "workers: 0\n"
	    "log: {level: debug, format: json}\n"
	    "peers:\n"
	    "  alice:\n"
	    "    key: %s\n"
	    "    dial: 127.0.0.1:7401\n"
	    "    sign_records: yes\n"
	    "forwards:\n"
	    "  - listen: \"[::1]:2222\"\n"
	    "    peer: alice\n"
	    "    service: ssh\n"
	    "  - {listen: 10.1.2.3:80, peer: alice, service: web, allow_remote: on}\n"
	    "services:\n"
	    "  ssh: {connect: \"localhost:22\", allow: [alice, alice]}\n"
	    "limits: {session_buffer: 64 KiB}\n"
	    "timeouts: {keepalive: 500ms, dead_after: 2m, stream_idle: 720h}\n"
	    "flow: {window: 16K, max_window: 1g}\n"
	    "rekey: {bytes: 1MiB, interval: 1s, fresh_interval: 168h}\n"
	    "plugins: {pow: {bits: 20}}\n", pk0);
	put_str("config", "one-peer", -1, text);
	/* The other kinds of forward and service: unix:, socks:, udp:. */
	snprintf(text, sizeof(text),
	    "identity: id.key\n"
	    "peers:\n"
	    "  alice:\n"
	    "    key: %s\n"
	    "    destinations: [\"10.0.0.0/8:*\", \"[fd00::]/8:443\", "
	    "db.internal:5432, \"*.corp:80-90\"]\n"
	    "forwards:\n"
	    "  - {listen: unix:s/pg.sock, mode: \"0660\", group: 0, peer: alice, "
	    "service: pg}\n"
	    "  - {socks: 127.0.0.1:1080, peer: alice}\n"
	    "  - {socks: unix:/tmp/socks.sock, peer: alice}\n"
	    "  - {listen: udp:127.0.0.1:5353, peer: alice, service: dns}\n"
	    "services:\n"
	    "  pg: {connect: unix:/run/postgresql/.s.PGSQL.5432, allow: [alice], "
	    "proxy_protocol: v2}\n"
	    "  web: {connect: 127.0.0.1:80, allow: [alice], proxy_protocol: v1}\n"
	    "  dns: {connect: \"udp:[::1]:53\", allow: [alice]}\n"
	    "timeouts: {datagram_idle: 5s}\n", pk0);
	put_str("config", "reach", -1, text);
	put_str("config", "json", -1,
	    "{\"identity\": \"id.key\", \"peers\": {}, \"forwards\": [], "
	    "\"metrics\": \"127.0.0.1:9474\"}\n");
	put_str("config", "bad-ref", -1,
	    "identity: id.key\nforwards:\n  - listen: 127.0.0.1:1\n    peer: nobody\n"
	    "    service: x\n");

	put_str("ytree", "flow", -1, "{a: [1, 2, {b: c}], \"d\": 'e', f: ~, g: \"\\x00\"}\n");
	put_str("ytree", "block", -1, "a:\n  - x\n  - y: z\n    w: |\n      text\n      more\nb: >-\n  folded\n");
	put_str("ytree", "anchor", -1, "a: &x [1]\nb: *x\n");
	put_str("ytree", "dupkey", -1, "a: 1\na: 2\n");
	put_str("ytree", "deep", -1,
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n");
	put_str("ytree", "twodocs", -1, "a: 1\n---\nb: 2\n");
	put_str("ytree", "tag", -1, "a: !!str 1\n");
}

static void
keytexts(void)
{
	char pk[IDENTITY_PUBTEXT_LEN + 1], seedtext[64], text[512];
	uint8_t pub[32], seed[32];

	fuzz_pub(0, pub);
	if (identity_pub_encode(pub, pk) != 0)
		die("encode");
	put_str("keytext", "pub", 0, pk);
	pk[IDENTITY_PUBTEXT_LEN - 1] = pk[IDENTITY_PUBTEXT_LEN - 1] == 'A' ? 'B' : 'A';
	put_str("keytext", "pub-badcheck", 0, pk);
	put_str("keytext", "pub-short", 0, "stp1:Z3Vx6lG1c-xjsv3E6EG2w13YkSe4z0Ug");
	put("keytext", "raw-pub", 1, pub, 32, NULL, 0);
	put_str("keytext", "b64", 2, "Z3Vx6lG1c-xjsv3E6EG2w13YkSe4z0UgUHgZNFtTgNiiw8b0");
	put_str("keytext", "b64-bits", 2, "AB");
	put_str("keytext", "b64-pad", 2, "QUJD=");
	sign_key_seed(fuzz_id(0), seed);
	if (base64url_encode(seedtext, sizeof(seedtext), seed, 32) != 0)
		die("encode");
	if (identity_pub_encode(pub, pk) != 0)
		die("encode");
	snprintf(text, sizeof(text),
	    "# stpgate identity: Ed25519 secret key. Keep it secret; mode 0600.\n"
	    "# public: %s\n%s %s\n", pk, IDENTITY_FILE_TAG, seedtext);
	put_str("keytext", "idfile", 3, text);
	snprintf(text, sizeof(text), "\r\n%s %s\r\n", IDENTITY_FILE_TAG, seedtext);
	put_str("keytext", "idfile-crlf", 3, text);
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fuzz_make_corpus CORPUS_DIR conf/example.yaml\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
		die(outdir);
	if ((actx = aead_ctx_new()) == NULL)
		die("aead_ctx_new");
	frames();
	records();
	envelopes();
	handshakes();
	endpoints();
	yamls(argv[2]);
	keytexts();
	aead_ctx_free(actx);
	return 0;
}

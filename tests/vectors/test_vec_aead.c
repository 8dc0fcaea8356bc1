/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vec_aead.c: ChaCha20-Poly1305 and XChaCha20-Poly1305 (aead.h) and
 * HChaCha20 (hchacha20.h) against the Wycheproof AEAD files and the RFC 8439
 * / XChaCha draft known answers in rfc/rfc_kats.json; then the properties the
 * record layer leans on: a direction key seals exactly like one-shot
 * XChaCha20-Poly1305 with nonce prefix || be64(seq), in-place operation, and
 * a flipped bit anywhere in ct || tag or aad is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/hchacha20.h"
#include "crypto/rand.h"
#include "err.h"
#include "testlib.h"
#include "ytree.h"

typedef int (*aead_fn)(aead_ctx *, const uint8_t *, const uint8_t *, size_t,
    const uint8_t *, size_t, const uint8_t *, size_t, uint8_t *);

static int
has_flag(const ytree_node *t, const char *flag)
{
	const ytree_node *fl = ytree_get(t, "flags");
	size_t i;

	for (i = 0; i < ytree_count(fl); i++) {
		const ytree_node *f = ytree_item(fl, i);

		if (f->kind == YTREE_SCALAR && strcmp(f->str, flag) == 0)
			return 1;
	}
	return 0;
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

struct wcounts {
	unsigned long ran, valid, modtag, badnonce;
};

/* One Wycheproof AEAD case. */
static void
wyche_case(aead_ctx *c, const char *file, const ytree_node *t, aead_fn seal,
    aead_fn open, struct wcounts *cnt)
{
	uint8_t *key = NULL, *iv = NULL, *aad = NULL, *msg = NULL, *ct = NULL;
	uint8_t *tag = NULL, *in = NULL, *out = NULL;
	size_t key_len, iv_len, aad_len, msg_len, ct_len, tag_len;
	const char *res = ytree_get_str(t, "result");
	int rc;

	t_set_ctx("%s tcId %s", file, ytree_get_str(t, "tcId"));
	cnt->ran++;
	key = t_unhex_node(ytree_get(t, "key"), &key_len);
	iv = t_unhex_node(ytree_get(t, "iv"), &iv_len);
	aad = t_unhex_node(ytree_get(t, "aad"), &aad_len);
	msg = t_unhex_node(ytree_get(t, "msg"), &msg_len);
	ct = t_unhex_node(ytree_get(t, "ct"), &ct_len);
	tag = t_unhex_node(ytree_get(t, "tag"), &tag_len);
	if (!T_OK(key && iv && aad && msg && ct && tag && res) ||
	    !T_INT(key_len, AEAD_KEY_LEN))
		goto out;

	/* The wire form ct || tag. */
	in = xmalloc(ct_len + tag_len);
	memcpy(in, ct, ct_len);
	memcpy(in + ct_len, tag, tag_len);
	out = xmalloc(ct_len + tag_len + msg_len + AEAD_TAG_LEN);

	if (strcmp(res, "valid") == 0) {
		cnt->valid++;
		memset(out, 0xa5, msg_len + AEAD_TAG_LEN);
		rc = seal(c, key, iv, iv_len, aad, aad_len, msg, msg_len, out);
		if (T_INT(rc, 0))
			T_MEM(out, msg_len + AEAD_TAG_LEN, in, ct_len + tag_len);
		memset(out, 0xa5, msg_len + 1);
		rc = open(c, key, iv, iv_len, aad, aad_len, in, ct_len + tag_len,
		    out);
		if (T_INT(rc, 0))
			T_MEM(out, ct_len + tag_len - AEAD_TAG_LEN, msg, msg_len);
	} else if (strcmp(res, "invalid") == 0 && has_flag(t, "ModifiedTag")) {
		cnt->modtag++;
		memset(out, 0xa5, ct_len + 1);
		rc = open(c, key, iv, iv_len, aad, aad_len, in, ct_len + tag_len,
		    out);
		T_INT(rc, STP_EAUTH);
		if (rc == STP_EAUTH && !T_OK(t_all_zero(out, ct_len)))
			fprintf(stderr, "  output not zeroed on STP_EAUTH: %s\n",
			    t_hex(out, ct_len > 64 ? 64 : ct_len));
	} else if (strcmp(res, "invalid") == 0 &&
	    has_flag(t, "InvalidNonceSize")) {
		cnt->badnonce++;
		memset(out, 0xa5, msg_len + AEAD_TAG_LEN);
		rc = seal(c, key, iv, iv_len, aad, aad_len, msg, msg_len, out);
		T_INT(rc, STP_EINVAL);
		rc = open(c, key, iv, iv_len, aad, aad_len, in, ct_len + tag_len,
		    out);
		T_INT(rc, STP_EINVAL);
	} else
		T_OK(!"result/flags combination this test knows");
out:
	free(key);
	free(iv);
	free(aad);
	free(msg);
	free(ct);
	free(tag);
	free(in);
	free(out);
}

static void
wyche_file(aead_ctx *c, const char *relpath, aead_fn seal, aead_fn open,
    unsigned long want_total, unsigned long want_valid)
{
	ytree *y = t_load_vectors(relpath);
	const ytree_node *root = ytree_root(y), *groups, *g, *tests;
	struct wcounts cnt = { 0, 0, 0, 0 };
	size_t i, j;

	groups = ytree_get(root, "testGroups");
	for (i = 0; i < ytree_count(groups); i++) {
		g = ytree_item(groups, i);
		tests = ytree_get(g, "tests");
		for (j = 0; j < ytree_count(tests); j++)
			wyche_case(c, relpath, ytree_item(tests, j), seal, open,
			    &cnt);
	}
	t_set_ctx("%s counts", relpath);
	T_INT(cnt.ran, want_total);
	T_INT(strtoul(ytree_get_str(root, "numberOfTests"), NULL, 10),
	    want_total);
	T_INT(cnt.valid, want_valid);
	T_INT(cnt.modtag, 60);
	T_INT(cnt.badnonce, 9);
	printf("%s: %lu cases (%lu valid, %lu ModifiedTag, %lu InvalidNonceSize)\n",
	    relpath, cnt.ran, cnt.valid, cnt.modtag, cnt.badnonce);
	ytree_free(y);
}

/* Hex field of an rfc_kats entry; a missing field is a failure. */
static uint8_t *
kat_hex(const ytree_node *e, const char *field, size_t *len)
{
	return t_unhex_node(ytree_get(e, field), len);
}

static const ytree_node *
kat_list(const ytree_node *root, const char *key, size_t want)
{
	const ytree_node *l = ytree_get(root, key);

	t_set_ctx("rfc_kats %s", key);
	T_INT(ytree_count(l), want);
	return l;
}

static unsigned long
kat_chacha20_block(const ytree_node *root)
{
	const ytree_node *l = kat_list(root, "chacha20_block", 1);
	unsigned long ran = 0;
	size_t i;

	for (i = 0; i < ytree_count(l); i++) {
		const ytree_node *e = ytree_item(l, i);
		size_t kl, nl, sl;
		uint8_t *k = kat_hex(e, "key", &kl), *n = kat_hex(e, "nonce", &nl);
		uint8_t *ks = kat_hex(e, "keystream", &sl);
		uint8_t zero[64] = { 0 }, out[64];
		const char *ctr = ytree_get_str(e, "counter");

		t_set_ctx("rfc_kats chacha20_block %zu", i);
		ran++;
		if (T_OK(k && n && ks && ctr) && T_INT(kl, 32) && T_INT(nl, 12) &&
		    T_INT(sl, 64) &&
		    T_INT(aead_chacha20_xor(k, n, (uint32_t)strtoul(ctr, NULL, 10),
		    zero, 64, out), 0))
			T_MEM(out, 64, ks, sl);
		free(k);
		free(n);
		free(ks);
	}
	return ran;
}

static unsigned long
kat_chacha20_encrypt(const ytree_node *root)
{
	const ytree_node *l = kat_list(root, "chacha20_encrypt", 1);
	unsigned long ran = 0;
	size_t i;

	for (i = 0; i < ytree_count(l); i++) {
		const ytree_node *e = ytree_item(l, i);
		size_t kl, nl, pl, cl;
		uint8_t *k = kat_hex(e, "key", &kl), *n = kat_hex(e, "nonce", &nl);
		uint8_t *p = kat_hex(e, "plaintext", &pl);
		uint8_t *ct = kat_hex(e, "ciphertext", &cl), *out;
		const char *ctr = ytree_get_str(e, "counter");

		t_set_ctx("rfc_kats chacha20_encrypt %zu", i);
		ran++;
		if (T_OK(k && n && p && ct && ctr) && T_INT(kl, 32) &&
		    T_INT(nl, 12) && T_INT(pl, cl)) {
			uint32_t c0 = (uint32_t)strtoul(ctr, NULL, 10);

			out = xmalloc(pl);
			if (T_INT(aead_chacha20_xor(k, n, c0, p, pl, out), 0))
				T_MEM(out, pl, ct, cl);
			if (T_INT(aead_chacha20_xor(k, n, c0, ct, cl, out), 0))
				T_MEM(out, cl, p, pl);
			free(out);
		}
		free(k);
		free(n);
		free(p);
		free(ct);
	}
	return ran;
}

static unsigned long
kat_poly1305(const ytree_node *root)
{
	const ytree_node *l = kat_list(root, "poly1305", 8);
	unsigned long ran = 0;
	size_t i;

	for (i = 0; i < ytree_count(l); i++) {
		const ytree_node *e = ytree_item(l, i);
		size_t kl, ml, tl;
		uint8_t *k = kat_hex(e, "key", &kl), *m = kat_hex(e, "msg", &ml);
		uint8_t *tag = kat_hex(e, "tag", &tl), out[AEAD_TAG_LEN];

		t_set_ctx("rfc_kats poly1305 %zu (%s)", i,
		    ytree_get_str(e, "source"));
		ran++;
		if (T_OK(k && m && tag) && T_INT(kl, 32) &&
		    T_INT(aead_poly1305(out, k, m, ml), 0))
			T_MEM(out, AEAD_TAG_LEN, tag, tl);
		free(k);
		free(m);
		free(tag);
	}
	return ran;
}

static unsigned long
kat_poly1305_key_gen(const ytree_node *root)
{
	const ytree_node *l = kat_list(root, "poly1305_key_gen", 1);
	unsigned long ran = 0;
	size_t i;

	for (i = 0; i < ytree_count(l); i++) {
		const ytree_node *e = ytree_item(l, i);
		size_t kl, nl, ol;
		uint8_t *k = kat_hex(e, "key", &kl), *n = kat_hex(e, "nonce", &nl);
		uint8_t *otk = kat_hex(e, "otk", &ol), zero[32] = { 0 }, out[32];

		t_set_ctx("rfc_kats poly1305_key_gen %zu", i);
		ran++;
		/* The one-time key is the first half of ChaCha20 block 0. */
		if (T_OK(k && n && otk) && T_INT(kl, 32) && T_INT(nl, 12) &&
		    T_INT(aead_chacha20_xor(k, n, 0, zero, 32, out), 0))
			T_MEM(out, 32, otk, ol);
		free(k);
		free(n);
		free(otk);
	}
	return ran;
}

/* chacha20_poly1305 and xchacha20_poly1305 entries: seal and open. */
static unsigned long
kat_aead(aead_ctx *c, const ytree_node *root, const char *key, aead_fn seal,
    aead_fn open)
{
	const ytree_node *l = kat_list(root, key, 1);
	unsigned long ran = 0;
	size_t i;

	for (i = 0; i < ytree_count(l); i++) {
		const ytree_node *e = ytree_item(l, i);
		size_t kl, nl, al, pl, cl, tl;
		uint8_t *k = kat_hex(e, "key", &kl), *n = kat_hex(e, "nonce", &nl);
		uint8_t *a = kat_hex(e, "aad", &al), *p = kat_hex(e, "plaintext", &pl);
		uint8_t *ct = kat_hex(e, "ciphertext", &cl), *tag = kat_hex(e, "tag", &tl);
		uint8_t *want = NULL, *out = NULL;

		t_set_ctx("rfc_kats %s %zu", key, i);
		ran++;
		if (T_OK(k && n && a && p && ct && tag) && T_INT(kl, 32) &&
		    T_INT(tl, AEAD_TAG_LEN) && T_INT(cl, pl)) {
			want = xmalloc(cl + tl);
			memcpy(want, ct, cl);
			memcpy(want + cl, tag, tl);
			out = xmalloc(pl + AEAD_TAG_LEN);
			if (T_INT(seal(c, k, n, nl, a, al, p, pl, out), 0))
				T_MEM(out, pl + AEAD_TAG_LEN, want, cl + tl);
			if (T_INT(open(c, k, n, nl, a, al, want, cl + tl, out), 0))
				T_MEM(out, cl, p, pl);
		}
		free(k);
		free(n);
		free(a);
		free(p);
		free(ct);
		free(tag);
		free(want);
		free(out);
	}
	return ran;
}

static unsigned long
kat_hchacha20(const ytree_node *root)
{
	const ytree_node *l = kat_list(root, "hchacha20", 1);
	unsigned long ran = 0;
	size_t i;

	for (i = 0; i < ytree_count(l); i++) {
		const ytree_node *e = ytree_item(l, i);
		size_t kl, nl, sl;
		uint8_t *k = kat_hex(e, "key", &kl), *n = kat_hex(e, "nonce16", &nl);
		uint8_t *sk = kat_hex(e, "subkey", &sl), out[32];
		aead_dirkey dk;

		t_set_ctx("rfc_kats hchacha20 %zu", i);
		ran++;
		if (T_OK(k && n && sk) && T_INT(kl, 32) && T_INT(nl, 16)) {
			hchacha20(out, k, n);
			T_MEM(out, 32, sk, sl);
			/* The direction key is that same subkey. */
			aead_dirkey_init(&dk, k, n);
			T_MEM(dk.subkey, sizeof(dk.subkey), sk, sl);
			aead_dirkey_wipe(&dk);
			T_OK(t_all_zero(dk.subkey, sizeof(dk.subkey)));
		}
		free(k);
		free(n);
		free(sk);
	}
	return ran;
}

static unsigned long
kat_xchacha20_encrypt(const ytree_node *root)
{
	const ytree_node *l = kat_list(root, "xchacha20_encrypt", 1);
	unsigned long ran = 0;
	size_t i;

	for (i = 0; i < ytree_count(l); i++) {
		const ytree_node *e = ytree_item(l, i);
		size_t kl, nl, pl, sl, cl;
		uint8_t *k = kat_hex(e, "key", &kl), *n = kat_hex(e, "nonce", &nl);
		uint8_t *p = kat_hex(e, "plaintext", &pl);
		uint8_t *ks = kat_hex(e, "keystream", &sl);
		uint8_t *ct = kat_hex(e, "ciphertext", &cl), *zero, *out;
		const char *ctr = ytree_get_str(e, "counter");

		t_set_ctx("rfc_kats xchacha20_encrypt %zu", i);
		ran++;
		if (T_OK(k && n && p && ks && ct && ctr) && T_INT(kl, 32) &&
		    T_INT(nl, 24) && T_INT(pl, cl) && T_INT(sl, pl)) {
			uint32_t c0 = (uint32_t)strtoul(ctr, NULL, 10);

			zero = calloc(1, sl + 1);
			out = xmalloc(pl);
			if (zero == NULL) {
				fprintf(stderr, "out of memory\n");
				exit(2);
			}
			if (T_INT(aead_xchacha20_xor(k, n, c0, zero, sl, out), 0))
				T_MEM(out, sl, ks, sl);
			if (T_INT(aead_xchacha20_xor(k, n, c0, p, pl, out), 0))
				T_MEM(out, pl, ct, cl);
			free(zero);
			free(out);
		}
		free(k);
		free(n);
		free(p);
		free(ks);
		free(ct);
	}
	return ran;
}

static void
rfc_kats(aead_ctx *c)
{
	ytree *y = t_load_vectors("rfc/rfc_kats.json");
	const ytree_node *root = ytree_root(y);
	unsigned long ran = 0;

	ran += kat_chacha20_block(root);
	ran += kat_chacha20_encrypt(root);
	ran += kat_poly1305(root);
	ran += kat_poly1305_key_gen(root);
	ran += kat_aead(c, root, "chacha20_poly1305", aead_chacha_seal,
	    aead_chacha_open);
	ran += kat_hchacha20(root);
	ran += kat_xchacha20_encrypt(root);
	ran += kat_aead(c, root, "xchacha20_poly1305", aead_xchacha_seal,
	    aead_xchacha_open);
	t_set_ctx("rfc_kats aead counts");
	T_INT(ran, 15);
	printf("rfc_kats: %lu AEAD/ChaCha/Poly1305/HChaCha entries\n", ran);
	ytree_free(y);
}

static uint64_t
rand_u64(void)
{
	uint8_t b[8];
	uint64_t v = 0;
	int i;

	rand_bytes(b, sizeof(b));
	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static void
nonce_for(uint8_t nonce[AEAD_XCHACHA_NONCE_LEN],
    const uint8_t prefix[AEAD_PREFIX_LEN], uint64_t seq)
{
	int i;

	memcpy(nonce, prefix, AEAD_PREFIX_LEN);
	for (i = 0; i < 8; i++)
		nonce[AEAD_PREFIX_LEN + i] = (uint8_t)(seq >> (56 - 8 * i));
}

#define DIRKEY_RUNS 200

/* aead_dirkey_seal(dk(key, prefix), seq) == aead_xchacha_seal(key, prefix || be64(seq)). */
static void
dirkey_equivalence(aead_ctx *c)
{
	static const uint64_t fixed[] = { 0, UINT64_MAX, 1, 0xffffffffu,
	    (uint64_t)1 << 32, (uint64_t)1 << 63 };
	uint8_t key[AEAD_KEY_LEN], prefix[AEAD_PREFIX_LEN];
	uint8_t nonce[AEAD_XCHACHA_NONCE_LEN], sub[32], aad[48], pt[300];
	uint8_t a[300 + AEAD_TAG_LEN], b[300 + AEAD_TAG_LEN], back[300];
	aead_dirkey dk;
	unsigned long ran = 0;
	int i;

	for (i = 0; i < DIRKEY_RUNS; i++) {
		uint64_t seq = i < (int)(sizeof(fixed) / sizeof(fixed[0])) ?
		    fixed[i] : rand_u64();
		size_t al = rand_uniform(sizeof(aad) + 1);
		size_t pl = rand_uniform(sizeof(pt) + 1);

		t_set_ctx("dirkey run %d seq %llu aad %zu pt %zu", i,
		    (unsigned long long)seq, al, pl);
		ran++;
		rand_bytes(key, sizeof(key));
		rand_bytes(prefix, sizeof(prefix));
		rand_bytes(aad, sizeof(aad));
		rand_bytes(pt, sizeof(pt));
		nonce_for(nonce, prefix, seq);

		aead_dirkey_init(&dk, key, prefix);
		hchacha20(sub, key, prefix);
		T_MEM(dk.subkey, sizeof(dk.subkey), sub, sizeof(sub));

		memset(a, 0x11, sizeof(a));
		memset(b, 0x22, sizeof(b));
		if (!T_INT(aead_dirkey_seal(c, &dk, seq, aad, al, pt, pl, a), 0) ||
		    !T_INT(aead_xchacha_seal(c, key, nonce, sizeof(nonce), aad, al,
		    pt, pl, b), 0))
			goto next;
		T_MEM(a, pl + AEAD_TAG_LEN, b, pl + AEAD_TAG_LEN);

		memset(back, 0x33, sizeof(back));
		if (T_INT(aead_dirkey_open(c, &dk, seq, aad, al, a,
		    pl + AEAD_TAG_LEN, back), 0))
			T_MEM(back, pl, pt, pl);
		memset(back, 0x33, sizeof(back));
		if (T_INT(aead_xchacha_open(c, key, nonce, sizeof(nonce), aad, al,
		    a, pl + AEAD_TAG_LEN, back), 0))
			T_MEM(back, pl, pt, pl);
		/* Another record number must not open it. */
		T_INT(aead_dirkey_open(c, &dk, seq ^ 1, aad, al, a,
		    pl + AEAD_TAG_LEN, back), STP_EAUTH);
next:
		aead_dirkey_wipe(&dk);
	}
	t_set_ctx("dirkey counts");
	T_INT(ran, DIRKEY_RUNS);
}

enum { K_CHACHA, K_XCHACHA, K_DIRKEY };
static const char *const kind_name[] = { "chacha", "xchacha", "dirkey" };

static int
kseal(aead_ctx *c, int kind, const uint8_t *key, const aead_dirkey *dk,
    const uint8_t *nonce, uint64_t seq, const uint8_t *aad, size_t al,
    const uint8_t *in, size_t len, uint8_t *out)
{
	switch (kind) {
	case K_CHACHA:
		return aead_chacha_seal(c, key, nonce, AEAD_CHACHA_NONCE_LEN, aad,
		    al, in, len, out);
	case K_XCHACHA:
		return aead_xchacha_seal(c, key, nonce, AEAD_XCHACHA_NONCE_LEN,
		    aad, al, in, len, out);
	default:
		return aead_dirkey_seal(c, dk, seq, aad, al, in, len, out);
	}
}

static int
kopen(aead_ctx *c, int kind, const uint8_t *key, const aead_dirkey *dk,
    const uint8_t *nonce, uint64_t seq, const uint8_t *aad, size_t al,
    const uint8_t *in, size_t len, uint8_t *out)
{
	switch (kind) {
	case K_CHACHA:
		return aead_chacha_open(c, key, nonce, AEAD_CHACHA_NONCE_LEN, aad,
		    al, in, len, out);
	case K_XCHACHA:
		return aead_xchacha_open(c, key, nonce, AEAD_XCHACHA_NONCE_LEN,
		    aad, al, in, len, out);
	default:
		return aead_dirkey_open(c, dk, seq, aad, al, in, len, out);
	}
}

#define PROP_PT 40
#define PROP_AAD 13

/* In-place seal/open, every single-bit flip refused, short input refused. */
static void
properties(aead_ctx *c)
{
	uint8_t key[AEAD_KEY_LEN], nonce[AEAD_XCHACHA_NONCE_LEN];
	uint8_t aad[PROP_AAD], pt[PROP_PT], ref[PROP_PT + AEAD_TAG_LEN];
	uint8_t buf[PROP_PT + AEAD_TAG_LEN], back[PROP_PT];
	aead_dirkey dk;
	uint64_t seq;
	size_t bit;
	int kind, rc;

	rand_bytes(key, sizeof(key));
	rand_bytes(nonce, sizeof(nonce));
	rand_bytes(aad, sizeof(aad));
	rand_bytes(pt, sizeof(pt));
	seq = rand_u64();
	aead_dirkey_init(&dk, key, nonce);

	for (kind = K_CHACHA; kind <= K_DIRKEY; kind++) {
		unsigned long flips = 0;

		t_set_ctx("%s in-place", kind_name[kind]);
		if (!T_INT(kseal(c, kind, key, &dk, nonce, seq, aad, sizeof(aad),
		    pt, sizeof(pt), ref), 0))
			continue;
		memcpy(buf, pt, sizeof(pt));
		if (T_INT(kseal(c, kind, key, &dk, nonce, seq, aad, sizeof(aad),
		    buf, sizeof(pt), buf), 0))
			T_MEM(buf, sizeof(buf), ref, sizeof(ref));
		memcpy(buf, ref, sizeof(ref));
		if (T_INT(kopen(c, kind, key, &dk, nonce, seq, aad, sizeof(aad),
		    buf, sizeof(buf), buf), 0))
			T_MEM(buf, sizeof(pt), pt, sizeof(pt));

		for (bit = 0; bit < 8 * sizeof(ref); bit++) {
			t_set_ctx("%s flip ct||tag bit %zu", kind_name[kind], bit);
			memcpy(buf, ref, sizeof(ref));
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			memset(back, 0xa5, sizeof(back));
			rc = kopen(c, kind, key, &dk, nonce, seq, aad, sizeof(aad),
			    buf, sizeof(buf), back);
			T_INT(rc, STP_EAUTH);
			T_OK(t_all_zero(back, sizeof(back)));
			flips++;
		}
		for (bit = 0; bit < 8 * sizeof(aad); bit++) {
			t_set_ctx("%s flip aad bit %zu", kind_name[kind], bit);
			aad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			rc = kopen(c, kind, key, &dk, nonce, seq, aad, sizeof(aad),
			    ref, sizeof(ref), back);
			aad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			T_INT(rc, STP_EAUTH);
			flips++;
		}
		t_set_ctx("%s flips", kind_name[kind]);
		T_INT(flips, 8 * (sizeof(ref) + sizeof(aad)));

		/* Less than a tag, or a truncated tag, is not a record. */
		t_set_ctx("%s short input", kind_name[kind]);
		T_INT(kopen(c, kind, key, &dk, nonce, seq, aad, sizeof(aad), ref,
		    AEAD_TAG_LEN - 1, back), STP_EINVAL);
		T_INT(kopen(c, kind, key, &dk, nonce, seq, aad, sizeof(aad), ref,
		    0, back), STP_EINVAL);
		/* The empty message seals to just a tag and opens back. */
		t_set_ctx("%s empty message", kind_name[kind]);
		if (T_INT(kseal(c, kind, key, &dk, nonce, seq, aad, 0, pt, 0,
		    buf), 0))
			T_INT(kopen(c, kind, key, &dk, nonce, seq, aad, 0, buf,
			    AEAD_TAG_LEN, back), 0);
	}
	aead_dirkey_wipe(&dk);
}

int
main(void)
{
	static const uint8_t seed[] = "test_vec_aead";
	aead_ctx *c;

	t_set_ctx("setup");
	T_INT(crypto_init(), 0);
	if (!T_OK((c = aead_ctx_new()) != NULL))
		return t_done();

	wyche_file(c, "wycheproof/chacha20_poly1305_test.json",
	    aead_chacha_seal, aead_chacha_open, 325, 256);
	t_section("wycheproof chacha20_poly1305");
	wyche_file(c, "wycheproof/xchacha20_poly1305_test.json",
	    aead_xchacha_seal, aead_xchacha_open, 315, 246);
	t_section("wycheproof xchacha20_poly1305");

	rfc_kats(c);
	t_section("rfc_kats chacha20/poly1305/hchacha20/xchacha20");

	/* Reproducible "random" inputs: a failure can be replayed. */
	rand_test_seed(seed, sizeof(seed));
	dirkey_equivalence(c);
	t_section("dirkey == xchacha(prefix || be64(seq))");
	properties(c);
	t_section("in-place, bit flips, lengths");
	rand_test_seed(NULL, 0);

	aead_ctx_free(c);
	aead_ctx_free(NULL);
	t_set_ctx("%s", "");
	return t_done();
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_crypto.c: the small contracts of crypto/: crypto_memeq and
 * crypto_wipe; rand_bytes, rand_uniform and the test seed; SHA-256/512
 * known answers (FIPS 180 examples) and the running SHA-512 (chunking, peek,
 * dup); HMAC-SHA-512 (RFC 4231 test cases 1-7); Ed25519 round trip and
 * refusals, through sign_verify and a sign_pub, and one sign_pub shared by
 * several verifying threads; X25519 agreement.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/rand.h"
#include "crypto/sign.h"
#include "crypto/x25519.h"
#include "err.h"
#include "testlib.h"

static int
all_byte(const uint8_t *p, size_t n, uint8_t b)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != b)
			return 0;
	return 1;
}

/* Decode a hex literal of known length into out (test data is well formed). */
static void
unhex_into(uint8_t *out, size_t len, const char *hex)
{
	size_t n;
	uint8_t *b = t_unhex(hex, &n);

	if (!T_INT(n, len) || b == NULL)
		memset(out, 0, len);
	else
		memcpy(out, b, len);
	free(b);
}

static void
test_memeq_wipe(void)
{
	uint8_t a[64], b[64], buf[100];
	size_t i;

	t_set_ctx("crypto_memeq");
	for (i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i * 7 + 1);
	T_INT(crypto_memeq(a, b, sizeof(a)), 1);
	T_INT(crypto_memeq(a, b, 0), 1);
	for (i = 0; i < sizeof(a); i++) {
		t_set_ctx("crypto_memeq differ at %zu", i);
		b[i] ^= 0x01;
		T_INT(crypto_memeq(a, b, sizeof(a)), 0);
		/* A difference past n is not looked at. */
		T_INT(crypto_memeq(a, b, i), 1);
		b[i] ^= 0x81;
		T_INT(crypto_memeq(a, b, sizeof(a)), 0);
		b[i] ^= 0x80;
	}
	t_set_ctx("crypto_memeq");
	T_INT(crypto_memeq(a, b, sizeof(a)), 1);

	t_set_ctx("crypto_wipe");
	memset(buf, 0xaa, sizeof(buf));
	crypto_wipe(buf + 10, 80);
	T_OK(all_byte(buf, 10, 0xaa));
	T_OK(all_byte(buf + 10, 80, 0));
	T_OK(all_byte(buf + 90, 10, 0xaa));
	crypto_wipe(buf, 0);
	T_OK(all_byte(buf, 10, 0xaa));
	crypto_wipe(buf, sizeof(buf));
	T_OK(all_byte(buf, sizeof(buf), 0));
}

static void
test_rand(void)
{
	static const char s1[] = "seed one", s2[] = "seed two";
	uint8_t a[64], b[64], c[64], d[64];
	int seen[7] = { 0 };
	uint32_t v;
	int i, ok;

	t_set_ctx("rand_bytes");
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	T_INT(rand_bytes(a, sizeof(a)), 0);
	T_INT(rand_bytes(b, sizeof(b)), 0);
	T_OK(!all_byte(a, sizeof(a), 0));
	T_OK(memcmp(a, b, sizeof(a)) != 0);
	T_INT(rand_bytes(a, 0), 0);

	t_set_ctx("rand_uniform");
	for (ok = 1, i = 0; i < 1000; i++)
		ok &= rand_uniform(1) == 0;
	T_OK(ok);
	for (ok = 1, i = 0; i < 2000; i++) {
		v = rand_uniform(7);
		ok &= v < 7;
		if (v < 7)
			seen[v] = 1;
	}
	T_OK(ok);
	for (i = 0; i < 7; i++)
		T_OK(seen[i]);
	for (ok = 1, i = 0; i < 1000; i++)
		ok &= rand_uniform(1000) < 1000;
	T_OK(ok);
	for (ok = 1, i = 0; i < 1000; i++)
		ok &= rand_uniform(0x80000001u) < 0x80000001u;
	T_OK(ok);
	for (ok = 1, i = 0; i < 1000; i++)
		ok &= rand_uniform(UINT32_MAX) < UINT32_MAX;
	T_OK(ok);

	t_set_ctx("rand_test_seed");
	rand_test_seed(s1, sizeof(s1));
	T_INT(rand_bytes(a, sizeof(a)), 0);
	T_INT(rand_bytes(b, sizeof(b)), 0);
	T_OK(memcmp(a, b, sizeof(a)) != 0);
	rand_test_seed(s1, sizeof(s1));
	T_INT(rand_bytes(c, sizeof(c)), 0);
	T_MEM(c, sizeof(c), a, sizeof(a));
	T_INT(rand_bytes(c, sizeof(c)), 0);
	T_MEM(c, sizeof(c), b, sizeof(b));
	/* The stream does not depend on how it is cut into calls. */
	rand_test_seed(s1, sizeof(s1));
	T_INT(rand_bytes(c, 10), 0);
	T_INT(rand_bytes(c + 10, 54), 0);
	T_MEM(c, sizeof(c), a, sizeof(a));
	rand_test_seed(s2, sizeof(s2));
	T_INT(rand_bytes(c, sizeof(c)), 0);
	T_OK(memcmp(c, a, sizeof(a)) != 0);
	rand_test_seed(NULL, 0);
	T_INT(rand_bytes(c, sizeof(c)), 0);
	T_INT(rand_bytes(d, sizeof(d)), 0);
	T_OK(memcmp(c, a, sizeof(a)) != 0);
	T_OK(memcmp(c, d, sizeof(c)) != 0);
	T_OK(!all_byte(c, sizeof(c), 0));
}

static void
test_hash_kat(void)
{
	static const struct {
		const char *msg, *sha256, *sha512;
	} kat[] = {
		{ "",
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
		  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e" },
		{ "abc",
		  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
	};
	static const char million_256[] =
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	static const char million_512[] =
	    "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
	    "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b";
	uint8_t d256[HASH_SHA256_LEN], d512[HASH_SHA512_LEN];
	uint8_t w256[HASH_SHA256_LEN], w512[HASH_SHA512_LEN];
	uint8_t *m;
	hash_ctx *h;
	size_t i;

	for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		t_set_ctx("sha2 \"%s\"", kat[i].msg);
		unhex_into(w256, sizeof(w256), kat[i].sha256);
		unhex_into(w512, sizeof(w512), kat[i].sha512);
		if (T_INT(hash_sha256(d256, kat[i].msg, strlen(kat[i].msg)), 0))
			T_MEM(d256, sizeof(d256), w256, sizeof(w256));
		if (T_INT(hash_sha512(d512, kat[i].msg, strlen(kat[i].msg)), 0))
			T_MEM(d512, sizeof(d512), w512, sizeof(w512));
		if (T_OK((h = hash_sha512_new()) != NULL)) {
			if (T_INT(hash_update(h, kat[i].msg, strlen(kat[i].msg)),
			    0) && T_INT(hash_peek(h, d512), 0))
				T_MEM(d512, sizeof(d512), w512, sizeof(w512));
			hash_free(h);
		}
	}

	t_set_ctx("sha2 one million 'a'");
	if ((m = malloc(1000000)) == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	memset(m, 'a', 1000000);
	unhex_into(w256, sizeof(w256), million_256);
	unhex_into(w512, sizeof(w512), million_512);
	if (T_INT(hash_sha256(d256, m, 1000000), 0))
		T_MEM(d256, sizeof(d256), w256, sizeof(w256));
	if (T_INT(hash_sha512(d512, m, 1000000), 0))
		T_MEM(d512, sizeof(d512), w512, sizeof(w512));
	if (T_OK((h = hash_sha512_new()) != NULL)) {
		int ok = 1;

		for (i = 0; i < 1000; i++)
			ok &= hash_update(h, m, 1000) == 0;
		T_OK(ok);
		if (T_INT(hash_peek(h, d512), 0))
			T_MEM(d512, sizeof(d512), w512, sizeof(w512));
		hash_free(h);
	}
	free(m);
	hash_free(NULL);
}

#define RUN_LEN 5000

static void
test_hash_running(void)
{
	static uint8_t data[RUN_LEN], other[RUN_LEN];
	uint8_t want[HASH_SHA512_LEN], got[HASH_SHA512_LEN];
	uint8_t mid[HASH_SHA512_LEN], want_mid[HASH_SHA512_LEN];
	hash_ctx *h, *d;
	size_t off, n, cut;
	int round, ok;

	rand_bytes(data, sizeof(data));
	rand_bytes(other, sizeof(other));
	T_INT(hash_sha512(want, data, sizeof(data)), 0);

	for (round = 0; round < 20; round++) {
		t_set_ctx("running sha512 round %d", round);
		if (!T_OK((h = hash_sha512_new()) != NULL))
			return;
		cut = rand_uniform(RUN_LEN + 1);
		for (ok = 1, off = 0; off < cut; off += n) {
			n = rand_uniform(300);
			if (n > cut - off)
				n = cut - off;
			ok &= hash_update(h, data + off, n) == 0;
		}
		T_OK(ok);

		/* Peek at the prefix: right, and the state goes on unchanged. */
		T_INT(hash_sha512(want_mid, data, cut), 0);
		if (T_INT(hash_peek(h, mid), 0))
			T_MEM(mid, sizeof(mid), want_mid, sizeof(want_mid));
		if (T_INT(hash_peek(h, mid), 0))
			T_MEM(mid, sizeof(mid), want_mid, sizeof(want_mid));

		/* A copy goes its own way. */
		if (T_OK((d = hash_dup(h)) != NULL)) {
			uint8_t *both = malloc(cut + sizeof(other) + 1);

			if (both == NULL) {
				fprintf(stderr, "out of memory\n");
				exit(2);
			}
			memcpy(both, data, cut);
			memcpy(both + cut, other, sizeof(other));
			T_INT(hash_update(d, other, sizeof(other)), 0);
			T_INT(hash_sha512(want_mid, both, cut + sizeof(other)), 0);
			if (T_INT(hash_peek(d, got), 0))
				T_MEM(got, sizeof(got), want_mid, sizeof(want_mid));
			free(both);
		}

		for (ok = 1, off = cut; off < RUN_LEN; off += n) {
			n = rand_uniform(700);
			if (n > RUN_LEN - off)
				n = RUN_LEN - off;
			ok &= hash_update(h, data + off, n) == 0;
		}
		T_OK(ok);
		if (T_INT(hash_peek(h, got), 0))
			T_MEM(got, sizeof(got), want, sizeof(want));
		hash_free(h);

		/* The copy outlives the original. */
		if (d != NULL) {
			T_INT(hash_update(d, "", 0), 0);
			if (T_INT(hash_peek(d, got), 0))
				T_MEM(got, sizeof(got), want_mid, sizeof(want_mid));
			hash_free(d);
		}
	}
}

/* RFC 4231 section 4: HMAC-SHA-512 test cases 1-7. */
static void
test_hmac(void)
{
	static const struct {
		int id;
		const char *key, *data, *mac;
		size_t mac_len;
	} tc[] = {
		{ 1, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		  "4869205468657265",
		  "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
		  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
		  64 },
		{ 2, "4a656665",
		  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		  "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
		  64 },
		{ 3, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		  "dddddddddddddddddddddddddddddddddddd",
		  "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
		  "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
		  64 },
		{ 4, "0102030405060708090a0b0c0d0e0f10111213141516171819",
		  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
		  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
		  "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
		  "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
		  64 },
		/* Test case 5 lists only the first 128 bits. */
		{ 5, "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
		  "546573742057697468205472756e636174696f6e",
		  "415fad6271580a531d4179bc891d87a6", 16 },
		{ 6, NULL,
		  "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
		  "65204b6579202d2048617368204b6579204669727374",
		  "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
		  "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
		  64 },
		{ 7, NULL,
		  "5468697320697320612074657374207573696e672061206c6172676572207468"
		  "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
		  "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
		  "647320746f20626520686173686564206265666f7265206265696e6720757365"
		  "642062792074686520484d414320616c676f726974686d2e",
		  "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
		  "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
		  64 },
	};
	/* RFC 4231's HMAC-SHA-256 results for the same cases (5: first 128 bits). */
	static const char *const mac256[] = {
		"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
		"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
		"a3b6167473100ee06e0c796c2955552b",
		"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
	};
	uint8_t big_key[131], out[HASH_SHA512_LEN], want[HASH_SHA512_LEN];
	size_t i, kl, dl;

	/* Test cases 6 and 7 use 131 bytes of 0xaa as the key. */
	memset(big_key, 0xaa, sizeof(big_key));
	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		uint8_t *key = NULL, *data;

		t_set_ctx("RFC 4231 test case %d", tc[i].id);
		if (tc[i].key != NULL)
			key = t_unhex(tc[i].key, &kl);
		data = t_unhex(tc[i].data, &dl);
		unhex_into(want, tc[i].mac_len, tc[i].mac);
		if (T_OK(data && (tc[i].key == NULL || key)) &&
		    T_INT(hash_hmac_sha512(out, key ? key : big_key,
		    key ? kl : sizeof(big_key), data, dl), 0))
			T_MEM(out, tc[i].mac_len, want, tc[i].mac_len);
		free(key);
		free(data);
	}
	t_set_ctx("RFC 4231 counts");
	T_INT(i, 7);

	/* The same seven cases under HMAC-SHA-256 (mac1, admission plugins). */
	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		uint8_t *key = NULL, *data, o256[HASH_SHA256_LEN], w256[HASH_SHA256_LEN];
		size_t ml = tc[i].id == 5 ? 16 : 32;

		t_set_ctx("RFC 4231 test case %d, SHA-256", tc[i].id);
		if (tc[i].key != NULL)
			key = t_unhex(tc[i].key, &kl);
		data = t_unhex(tc[i].data, &dl);
		unhex_into(w256, ml, mac256[i]);
		if (T_OK(data && (tc[i].key == NULL || key)) &&
		    T_INT(hash_hmac_sha256(o256, key ? key : big_key,
		    key ? kl : sizeof(big_key), data, dl), 0))
			T_MEM(o256, ml, w256, ml);
		free(key);
		free(data);
	}
	t_set_ctx("RFC 4231 SHA-256 counts");
	T_INT(i, 7);
}

static void
test_sign(void)
{
	static const uint8_t msg[] = "a message to be signed";
	uint8_t pub[SIGN_PUB_LEN], pub2[SIGN_PUB_LEN], pubc[SIGN_PUB_LEN];
	uint8_t seed[SIGN_SEED_LEN], sig[SIGN_SIG_LEN + 1], sig2[SIGN_SIG_LEN];
	uint8_t bad[sizeof(msg)];
	sign_key *k = NULL, *k2 = NULL, *kc = NULL;
	size_t i;

	t_set_ctx("sign");
	if (!T_INT(sign_key_generate(&k), 0) || !T_OK(k != NULL) ||
	    !T_INT(sign_key_generate(&k2), 0) || !T_OK(k2 != NULL))
		goto out;
	sign_key_public(k, pub);
	sign_key_public(k2, pub2);
	T_OK(memcmp(pub, pub2, sizeof(pub)) != 0);

	/* The seed rebuilds the same key. */
	sign_key_seed(k, seed);
	if (T_INT(sign_key_from_seed(&kc, seed), 0)) {
		sign_key_public(kc, pubc);
		T_MEM(pubc, sizeof(pubc), pub, sizeof(pub));
	}
	crypto_wipe(seed, sizeof(seed));

	memset(sig, 0, sizeof(sig));
	if (!T_INT(sign_sign(k, msg, sizeof(msg), sig), 0))
		goto out;
	T_INT(sign_verify(pub, msg, sizeof(msg), sig, SIGN_SIG_LEN), 0);
	/* Deterministic, and the rebuilt key signs alike. */
	if (kc != NULL && T_INT(sign_sign(kc, msg, sizeof(msg), sig2), 0))
		T_MEM(sig2, sizeof(sig2), sig, SIGN_SIG_LEN);

	t_set_ctx("sign wrong message");
	memcpy(bad, msg, sizeof(msg));
	bad[0] ^= 1;
	T_INT(sign_verify(pub, bad, sizeof(bad), sig, SIGN_SIG_LEN), STP_EVERIFY);
	T_INT(sign_verify(pub, msg, sizeof(msg) - 1, sig, SIGN_SIG_LEN),
	    STP_EVERIFY);
	t_set_ctx("sign wrong key");
	T_INT(sign_verify(pub2, msg, sizeof(msg), sig, SIGN_SIG_LEN),
	    STP_EVERIFY);
	t_set_ctx("sign wrong length");
	T_INT(sign_verify(pub, msg, sizeof(msg), sig, SIGN_SIG_LEN - 1),
	    STP_EVERIFY);
	T_INT(sign_verify(pub, msg, sizeof(msg), sig, SIGN_SIG_LEN + 1),
	    STP_EVERIFY);
	T_INT(sign_verify(pub, msg, sizeof(msg), sig, 0), STP_EVERIFY);
	for (i = 0; i < 8 * SIGN_SIG_LEN; i++) {
		int rc;

		t_set_ctx("sign flipped sig bit %zu", i);
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		rc = sign_verify(pub, msg, sizeof(msg), sig, SIGN_SIG_LEN);
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		/* A flipped R bit can make R undecodable: still STP_EVERIFY. */
		T_INT(rc, STP_EVERIFY);
	}
	t_set_ctx("sign intact after flips");
	T_INT(sign_verify(pub, msg, sizeof(msg), sig, SIGN_SIG_LEN), 0);

	t_set_ctx("sign empty message");
	if (T_INT(sign_sign(k, msg, 0, sig2), 0))
		T_INT(sign_verify(pub, msg, 0, sig2, sizeof(sig2)), 0);
out:
	sign_key_free(k);
	sign_key_free(k2);
	sign_key_free(kc);
	sign_key_free(NULL);
}

/* y = 2 has no x (u / v is not a square mod p): not a point. */
static const uint8_t undecodable_pub[SIGN_PUB_LEN] = { 2 };

static void
test_sign_pub(void)
{
	static const uint8_t msg[] = "a record to be signed";
	/* y = p + 1 = 2^255 - 18: non-canonical, read as y = 1 (x = 0). */
	static const uint8_t noncanon_pub[SIGN_PUB_LEN] = {
		0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	};
	uint8_t pub[SIGN_PUB_LEN], pub2[SIGN_PUB_LEN], sig[SIGN_SIG_LEN + 1];
	uint8_t bad[sizeof(msg)];
	sign_key *k = NULL, *k2 = NULL;
	sign_pub *p = NULL, *p2 = NULL, *q;
	size_t i;
	int rc;

	t_set_ctx("sign_pub");
	if (!T_INT(sign_key_generate(&k), 0) ||
	    !T_INT(sign_key_generate(&k2), 0))
		goto out;
	sign_key_public(k, pub);
	sign_key_public(k2, pub2);
	if (!T_INT(sign_pub_new(&p, pub), 0) || !T_OK(p != NULL) ||
	    !T_INT(sign_pub_new(&p2, pub2), 0) || !T_OK(p2 != NULL))
		goto out;
	T_MEM(sign_pub_key(p), SIGN_PUB_LEN, pub, sizeof(pub));
	T_MEM(sign_pub_key(p2), SIGN_PUB_LEN, pub2, sizeof(pub2));

	memset(sig, 0, sizeof(sig));
	if (!T_INT(sign_sign(k, msg, sizeof(msg), sig), 0))
		goto out;
	T_INT(sign_pub_verify(p, msg, sizeof(msg), sig, SIGN_SIG_LEN), 0);
	/* The same object, again: nothing is used up by a verification. */
	T_INT(sign_pub_verify(p, msg, sizeof(msg), sig, SIGN_SIG_LEN), 0);

	t_set_ctx("sign_pub wrong message");
	memcpy(bad, msg, sizeof(msg));
	bad[0] ^= 1;
	T_INT(sign_pub_verify(p, bad, sizeof(bad), sig, SIGN_SIG_LEN),
	    STP_EVERIFY);
	T_INT(sign_pub_verify(p, msg, sizeof(msg) - 1, sig, SIGN_SIG_LEN),
	    STP_EVERIFY);
	T_INT(sign_pub_verify(p, msg, 0, sig, SIGN_SIG_LEN), STP_EVERIFY);
	t_set_ctx("sign_pub wrong key");
	T_INT(sign_pub_verify(p2, msg, sizeof(msg), sig, SIGN_SIG_LEN),
	    STP_EVERIFY);
	t_set_ctx("sign_pub wrong length");
	T_INT(sign_pub_verify(p, msg, sizeof(msg), sig, SIGN_SIG_LEN - 1),
	    STP_EVERIFY);
	T_INT(sign_pub_verify(p, msg, sizeof(msg), sig, SIGN_SIG_LEN + 1),
	    STP_EVERIFY);
	T_INT(sign_pub_verify(p, msg, sizeof(msg), sig, 0), STP_EVERIFY);
	for (i = 0; i < 8 * SIGN_SIG_LEN; i++) {
		t_set_ctx("sign_pub flipped sig bit %zu", i);
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		rc = sign_pub_verify(p, msg, sizeof(msg), sig, SIGN_SIG_LEN);
		T_INT(rc, sign_verify(pub, msg, sizeof(msg), sig, SIGN_SIG_LEN));
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		T_INT(rc, STP_EVERIFY);
	}
	t_set_ctx("sign_pub intact after flips");
	T_INT(sign_pub_verify(p, msg, sizeof(msg), sig, SIGN_SIG_LEN), 0);

	t_set_ctx("sign_pub empty message");
	if (T_INT(sign_sign(k, msg, 0, sig), 0))
		T_INT(sign_pub_verify(p, NULL, 0, sig, SIGN_SIG_LEN), 0);

	t_set_ctx("sign_pub undecodable key");
	q = (sign_pub *)&q; /* untouched on failure */
	T_INT(sign_pub_new(&q, undecodable_pub), STP_EKEY);
	T_OK(q == (sign_pub *)&q);
	/* sign_verify says the same, whatever the signature. */
	T_INT(sign_verify(undecodable_pub, msg, sizeof(msg), sig,
	    SIGN_SIG_LEN), STP_EKEY);
	T_INT(sign_verify(undecodable_pub, msg, sizeof(msg), sig, 3), STP_EKEY);

	t_set_ctx("sign_pub non-canonical key");
	/* Decodes, as OpenSSL reads it; no signature of ours verifies. */
	q = NULL;
	if (T_INT(sign_pub_new(&q, noncanon_pub), 0) && T_OK(q != NULL)) {
		T_MEM(sign_pub_key(q), SIGN_PUB_LEN, noncanon_pub,
		    sizeof(noncanon_pub));
		T_INT(sign_pub_verify(q, NULL, 0, sig, SIGN_SIG_LEN),
		    STP_EVERIFY);
	}
	T_INT(sign_verify(noncanon_pub, NULL, 0, sig, SIGN_SIG_LEN),
	    STP_EVERIFY);
	sign_pub_free(q);

	t_set_ctx("sign_pub_free(NULL)");
	sign_pub_free(NULL);
	T_OK(1);
out:
	sign_pub_free(p);
	sign_pub_free(p2);
	sign_key_free(k);
	sign_key_free(k2);
}

/*
 * One sign_pub, many threads: each thread verifies PUB_ITERS signatures on
 * the shared object, every other one corrupted (a flipped bit in the
 * signature or in the message, at a place that varies), and counts results
 * that differ from what it expected.  Checked on the main thread after the
 * join (the test macros are not thread-safe).
 */
#define PUB_THREADS 4
#define PUB_ITERS 2000
#define PUB_MSGS 8

static struct {
	const sign_pub *p;
	uint8_t msg[PUB_MSGS][48];
	uint8_t sig[PUB_MSGS][SIGN_SIG_LEN];
	pthread_barrier_t start;
} pt;

struct pub_worker {
	pthread_t th;
	unsigned id;
	unsigned long ok, bad, wrong;
	int first_wrong_iter, first_wrong_rc;
};

static void *
pub_worker_run(void *arg)
{
	struct pub_worker *w = arg;
	uint8_t msg[48], sig[SIGN_SIG_LEN];
	unsigned i, m, pos;
	int rc, want;

	(void)pthread_barrier_wait(&pt.start);
	for (i = 0; i < PUB_ITERS; i++) {
		m = (w->id + i) % PUB_MSGS;
		memcpy(msg, pt.msg[m], sizeof(msg));
		memcpy(sig, pt.sig[m], sizeof(sig));
		want = 0;
		if (i % 2 == 1) {
			pos = (unsigned)(t_mix64(((uint64_t)w->id << 32) | i) %
			    (8 * (sizeof(sig) + sizeof(msg))));
			if (pos < 8 * sizeof(sig))
				sig[pos / 8] ^= (uint8_t)(1u << (pos % 8));
			else {
				pos -= 8 * sizeof(sig);
				msg[pos / 8] ^= (uint8_t)(1u << (pos % 8));
			}
			want = STP_EVERIFY;
		}
		rc = sign_pub_verify(pt.p, msg, sizeof(msg), sig, sizeof(sig));
		if (rc == want) {
			if (rc == 0)
				w->ok++;
			else
				w->bad++;
		} else if (w->wrong++ == 0) {
			w->first_wrong_iter = (int)i;
			w->first_wrong_rc = rc;
		}
	}
	return NULL;
}

static void
test_sign_pub_threads(void)
{
	struct pub_worker w[PUB_THREADS];
	sign_key *k = NULL;
	sign_pub *p = NULL;
	uint8_t pub[SIGN_PUB_LEN];
	unsigned i, started = 0;

	t_set_ctx("sign_pub threads setup");
	memset(w, 0, sizeof(w));
	if (!T_INT(sign_key_generate(&k), 0))
		return;
	sign_key_public(k, pub);
	if (!T_INT(sign_pub_new(&p, pub), 0))
		goto out;
	pt.p = p;
	for (i = 0; i < PUB_MSGS; i++) {
		if (!T_INT(rand_bytes(pt.msg[i], sizeof(pt.msg[i])), 0) ||
		    !T_INT(sign_sign(k, pt.msg[i], sizeof(pt.msg[i]), pt.sig[i]),
		    0))
			goto out;
	}
	if (!T_INT(pthread_barrier_init(&pt.start, NULL, PUB_THREADS), 0))
		goto out;
	for (i = 0; i < PUB_THREADS; i++) {
		w[i].id = i;
		if (!T_INT(pthread_create(&w[i].th, NULL, pub_worker_run, &w[i]),
		    0))
			break;
		started++;
	}
	/* A thread that did not start would leave the others at the barrier. */
	if (started < PUB_THREADS)
		abort();
	for (i = 0; i < started; i++)
		T_INT(pthread_join(w[i].th, NULL), 0);
	(void)pthread_barrier_destroy(&pt.start);
	for (i = 0; i < started; i++) {
		t_set_ctx("sign_pub thread %u", i);
		if (!T_INT(w[i].wrong, 0))
			fprintf(stderr, "  first at iteration %d: got %d\n",
			    w[i].first_wrong_iter, w[i].first_wrong_rc);
		T_INT(w[i].ok, PUB_ITERS / 2);
		T_INT(w[i].bad, PUB_ITERS / 2);
	}
out:
	sign_pub_free(p);
	sign_key_free(k);
	memset(&pt, 0, sizeof(pt));
}

static void
test_x25519(void)
{
	uint8_t a_priv[X25519_LEN], a_pub[X25519_LEN];
	uint8_t b_priv[X25519_LEN], b_pub[X25519_LEN];
	uint8_t ab[X25519_LEN], ba[X25519_LEN], p[X25519_LEN];
	static const uint8_t zero_point[X25519_LEN];
	int i;

	for (i = 0; i < 10; i++) {
		t_set_ctx("x25519 agreement %d", i);
		if (!T_INT(x25519_keypair(a_priv, a_pub), 0) ||
		    !T_INT(x25519_keypair(b_priv, b_pub), 0))
			return;
		T_OK(memcmp(a_priv, b_priv, sizeof(a_priv)) != 0);
		if (T_INT(x25519_public(p, a_priv), 0))
			T_MEM(p, sizeof(p), a_pub, sizeof(a_pub));
		if (T_INT(x25519_shared(ab, a_priv, b_pub), 0) &&
		    T_INT(x25519_shared(ba, b_priv, a_pub), 0)) {
			T_MEM(ab, sizeof(ab), ba, sizeof(ba));
			T_OK(!all_byte(ab, sizeof(ab), 0));
		}
		/* The pair form gives the same secret. */
		if (T_INT(x25519_shared_pair(p, a_priv, a_pub, b_pub), 0))
			T_MEM(p, sizeof(p), ab, sizeof(ab));
		/* The zero point is of low order: refused, by both forms. */
		memset(p, 0xa5, sizeof(p));
		T_INT(x25519_shared(p, a_priv, zero_point), STP_EWEAKKEY);
		T_OK(all_byte(p, sizeof(p), 0));
		memset(p, 0xa5, sizeof(p));
		T_INT(x25519_shared_pair(p, a_priv, a_pub, zero_point), STP_EWEAKKEY);
		T_OK(all_byte(p, sizeof(p), 0));
	}
	crypto_wipe(a_priv, sizeof(a_priv));
	crypto_wipe(b_priv, sizeof(b_priv));
}

/*
 * Retired keys leave the cipher contexts (aead_ctx_sweep).  The key is
 * planted in static memory, used to seal and to open in one context, and
 * the process heap ([heap] in /proc/self/maps, where the context and
 * OpenSSL's state under it live) is searched for its 32 bytes: found while
 * the context holds it (so the search can see it), still found after a
 * sweep with nothing retired, gone after a retirement and a sweep, and the
 * context still works.  Sanitizer builds keep their heap elsewhere: there
 * the search is not possible and the case says so.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HEAP_SCAN 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HEAP_SCAN 0
#endif
#endif
#ifndef HEAP_SCAN
#define HEAP_SCAN 1
#endif

static uint8_t planted_key[AEAD_KEY_LEN];

/* Copies of needle (n bytes) in the process heap; -1 if it cannot look. */
static long
heap_count(const uint8_t *needle, size_t n)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	long found = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		const uint8_t *p;

		if (strstr(line, "[heap]") == NULL ||
		    sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		found = 0;
		for (p = (const uint8_t *)lo; p + n <= (const uint8_t *)hi; p++)
			if (p[0] == needle[0] && memcmp(p, needle, n) == 0)
				found++;
	}
	fclose(f);
	return found;
}

static void
test_aead_sweep(void)
{
	static const uint8_t nonce[12] = { 7 };
	static uint8_t plain[64], ct[64 + AEAD_TAG_LEN], back[64];
	aead_ctx *c;
	size_t i;

	t_set_ctx("aead sweep");
	for (i = 0; i < sizeof(planted_key); i++)
		planted_key[i] = (uint8_t)(0xa0 ^ (i * 37));
	if ((c = aead_ctx_new()) == NULL) {
		T_OK(!"aead_ctx_new");
		return;
	}
	T_INT(aead_chacha_seal(c, planted_key, nonce, 12, NULL, 0, plain, sizeof(plain), ct), 0);
	T_INT(aead_chacha_open(c, planted_key, nonce, 12, NULL, 0, ct, sizeof(ct), back), 0);
	if (!HEAP_SCAN) {
		printf("aead sweep: heap search not possible in a sanitizer build\n");
	} else {
		T_OK(heap_count(planted_key, sizeof(planted_key)) >= 2);
		T_INT(aead_ctx_sweep(c), 0);
		T_OK(heap_count(planted_key, sizeof(planted_key)) >= 2);
	}
	aead_key_retired();
	T_INT(aead_ctx_sweep(c), 0);
	if (HEAP_SCAN)
		T_INT(heap_count(planted_key, sizeof(planted_key)), 0);
	/* Swept, and as good as new. */
	memset(back, 0, sizeof(back));
	T_INT(aead_chacha_seal(c, planted_key, nonce, 12, NULL, 0, plain, sizeof(plain), ct), 0);
	T_INT(aead_chacha_open(c, planted_key, nonce, 12, NULL, 0, ct, sizeof(ct), back), 0);
	T_MEM(back, sizeof(back), plain, sizeof(plain));
	aead_ctx_free(c);
}

int
main(void)
{
	t_set_ctx("crypto_init");
	T_INT(crypto_init(), 0);
	T_INT(crypto_init(), 0);

	test_memeq_wipe();
	t_section("crypto_memeq, crypto_wipe");
	test_rand();
	t_section("rand");
	test_hash_kat();
	t_section("sha256/sha512 known answers");
	test_hash_running();
	t_section("running sha512");
	test_hmac();
	t_section("hmac-sha512, hmac-sha256 (RFC 4231)");
	test_sign();
	t_section("ed25519 sign/verify");
	test_sign_pub();
	t_section("ed25519 sign_pub");
	test_sign_pub_threads();
	t_section("ed25519 sign_pub shared by 4 threads");
	test_x25519();
	t_section("x25519 agreement");
	test_aead_sweep();
	t_section("aead: retired keys swept from a context");

	t_set_ctx("%s", "");
	return t_done();
}

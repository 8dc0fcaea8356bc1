/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_keccak.c: unit test for crypto/keccak.c.
 *
 * 1. Known answers for SHA3-256, SHA3-512, SHAKE-128 and SHAKE-256 (FIPS 202
 *    example values for the empty string and "abc").
 * 2. OpenSSL's EVP as an oracle: every rate-boundary length and many random
 *    input lengths in 0..600, for the one-shot calls and for the incremental
 *    keccak_absorb/keccak_squeeze in random chunk sizes (zero-length chunks
 *    included), with random output lengths.  OpenSSL 3.0 cannot squeeze a
 *    SHAKE incrementally, so incremental output is compared with one
 *    EVP_DigestFinalXOF of the total length.
 * 3. keccak_wipe leaves zeros, and a permutation leaves no lane of the state
 *    it computed on the stack.
 *
 * Usage: test_keccak [seed].  Last line: "P passed, F failed"; exit 1 on any
 * failure.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/keccak.h"

#define MAX_IN 600
#define MAX_OUT 700

static unsigned passed, failed;
static uint64_t rng_state = 0x5eed5eed12345678ULL;

/* splitmix64: a small deterministic generator for lengths and data. */
static uint64_t
rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t
rng_below(size_t bound)
{
	return (size_t)(rng_next() % bound);
}

static void
rng_fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rng_next();
}

static int
unhex(uint8_t *out, size_t out_len, const char *hex)
{
	size_t i;
	unsigned v;

	if (strlen(hex) != 2 * out_len)
		return -1;
	for (i = 0; i < out_len; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void
check(int ok, const char *what, size_t in_len, size_t out_len)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	if (failed <= 30)
		printf("FAIL %s (in_len %zu, out_len %zu)\n", what, in_len, out_len);
}

/* ---- known answers --------------------------------------------------- */

static void
kat(const char *what, const char *msg, size_t out_len, const char *hex)
{
	uint8_t want[128], got[128];
	size_t len = strlen(msg);

	if (unhex(want, out_len, hex) != 0) {
		check(0, "bad KAT hex", len, out_len);
		return;
	}
	memset(got, 0, sizeof(got));
	if (strcmp(what, "sha3-256") == 0)
		sha3_256(got, msg, len);
	else if (strcmp(what, "sha3-512") == 0)
		sha3_512(got, msg, len);
	else if (strcmp(what, "shake128") == 0)
		shake128(got, out_len, msg, len);
	else
		shake256(got, out_len, msg, len);
	check(memcmp(got, want, out_len) == 0, what, len, out_len);
}

static void
test_kats(void)
{
	kat("sha3-256", "", 32,
	    "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
	kat("sha3-256", "abc", 32,
	    "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
	kat("sha3-512", "", 64,
	    "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a6"
	    "15b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26");
	kat("sha3-512", "abc", 64,
	    "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
	    "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0");
	kat("shake128", "", 16, "7f9c2ba4e88f827d616045507605853e");
	kat("shake128", "", 32,
	    "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26");
	kat("shake256", "", 64,
	    "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f"
	    "d75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be");
}

/* ---- OpenSSL oracle -------------------------------------------------- */

static int
ossl_digest(const EVP_MD *md, int xof, uint8_t *out, size_t out_len,
    const uint8_t *in, size_t in_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return 0;
	ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	    EVP_DigestUpdate(ctx, in, in_len) == 1 &&
	    (xof ? EVP_DigestFinalXOF(ctx, out, out_len) == 1 :
	    EVP_DigestFinal_ex(ctx, out, NULL) == 1);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/*
 * Absorb in in random chunks, squeeze out_len bytes in random chunks; zero
 * length chunks are allowed on both sides.
 */
static void
incremental(int which, uint8_t *out, size_t out_len, const uint8_t *in,
    size_t in_len)
{
	keccak_ctx k;
	size_t off, n;

	if (which == 128)
		shake128_init(&k);
	else
		shake256_init(&k);
	for (off = 0; off < in_len; off += n) {
		n = rng_below(in_len - off + 1);
		if (rng_below(4) == 0)
			n = rng_below(9); /* favour small chunks too */
		if (n > in_len - off)
			n = in_len - off;
		keccak_absorb(&k, in + off, n);
	}
	if (rng_below(2))
		keccak_absorb(&k, in, 0);
	for (off = 0; off < out_len; off += n) {
		n = rng_below(out_len - off + 1);
		if (rng_below(3) == 0)
			n = rng_below(10);
		if (n > out_len - off)
			n = out_len - off;
		keccak_squeeze(&k, out + off, n);
	}
	keccak_wipe(&k);
}

static void
oracle_one(size_t in_len, size_t out_len)
{
	static uint8_t buf[MAX_IN + 8];
	uint8_t want[MAX_OUT], got[MAX_OUT];
	const uint8_t *in;
	int ok;

	/* Unaligned input now and then. */
	in = buf + rng_below(8);
	rng_fill(buf, sizeof(buf));

	ok = ossl_digest(EVP_sha3_256(), 0, want, 32, in, in_len);
	sha3_256(got, in, in_len);
	check(ok && memcmp(got, want, 32) == 0, "sha3-256 vs EVP", in_len, 32);

	ok = ossl_digest(EVP_sha3_512(), 0, want, 64, in, in_len);
	sha3_512(got, in, in_len);
	check(ok && memcmp(got, want, 64) == 0, "sha3-512 vs EVP", in_len, 64);

	ok = ossl_digest(EVP_shake128(), 1, want, out_len, in, in_len);
	shake128(got, out_len, in, in_len);
	check(ok && memcmp(got, want, out_len) == 0, "shake128 vs EVP", in_len,
	    out_len);
	memset(got, 0, sizeof(got));
	incremental(128, got, out_len, in, in_len);
	check(ok && memcmp(got, want, out_len) == 0,
	    "shake128 incremental vs EVP", in_len, out_len);

	ok = ossl_digest(EVP_shake256(), 1, want, out_len, in, in_len);
	shake256(got, out_len, in, in_len);
	check(ok && memcmp(got, want, out_len) == 0, "shake256 vs EVP", in_len,
	    out_len);
	memset(got, 0, sizeof(got));
	incremental(256, got, out_len, in, in_len);
	check(ok && memcmp(got, want, out_len) == 0,
	    "shake256 incremental vs EVP", in_len, out_len);
}

static void
test_oracle(void)
{
	/* Lengths around the rates: 72 (SHA3-512), 136, 168, and multiples. */
	static const size_t edges[] = {
		0, 1, 7, 8, 9, 71, 72, 73, 135, 136, 137, 143, 144, 145, 167, 168,
		169, 271, 272, 273, 335, 336, 337, 407, 408, 409, 503, 504, 505,
		543, 544, 545, 599, 600,
	};
	size_t i, j;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		for (j = 0; j < sizeof(edges) / sizeof(edges[0]); j++)
			if (edges[j] > 0)
				oracle_one(edges[i], edges[j]);
	for (i = 0; i < 2000; i++)
		oracle_one(rng_below(MAX_IN + 1), 1 + rng_below(MAX_OUT));
}

/* keccak_wipe must leave no state behind. */
static void
test_wipe(void)
{
	keccak_ctx k;
	const uint8_t *p = (const uint8_t *)&k;
	uint8_t out[10], acc = 0;
	size_t i;

	shake256_init(&k);
	keccak_absorb(&k, "secret", 6);
	keccak_squeeze(&k, out, sizeof(out));
	keccak_wipe(&k);
	for (i = 0; i < sizeof(k); i++)
		acc |= p[i];
	check(acc == 0, "keccak_wipe leaves zeros", 6, sizeof(out));
}

/*
 * Nothing of a permutation's state is left on the stack after it returns.
 * The state after the last permutation of a sponge is copied aside (to
 * static memory, outside the stack) and the stack below the caller's frame,
 * where the sponge's frames were, is searched for any of its non-zero
 * lanes.  The search reads memory below its own frame through a volatile
 * pointer: outside C's rules, so it is a noinline function of its own, and
 * not instrumented by ASan (that memory belongs to no live object).
 */
#define STACK_SCAN 16384
static uint64_t final_lanes[25];

static __attribute__((noinline)) void
run_sponge(const uint8_t *secret, size_t len)
{
	keccak_ctx k;
	uint8_t out[32];
	size_t i;

	shake256_init(&k);
	keccak_absorb(&k, secret, len);
	keccak_squeeze(&k, out, sizeof(out));
	for (i = 0; i < 25; i++)
		final_lanes[i] = k.s[i];
	keccak_wipe(&k);
	/* The output is lanes 0-3: ours to wipe, not the sponge's. */
	explicit_bzero(out, sizeof(out));
}

static __attribute__((noinline, no_sanitize_address)) unsigned
scan_stack(void)
{
	const volatile uint64_t *top = (const volatile uint64_t *)
	    ((uintptr_t)__builtin_frame_address(0) & ~(uintptr_t)7);
	unsigned found = 0;
	size_t i, j;

	for (i = 1; i <= STACK_SCAN / 8; i++) {
		uint64_t v = top[-(ptrdiff_t)i];

		for (j = 0; j < 25; j++)
			if (final_lanes[j] != 0 && v == final_lanes[j])
				found++;
	}
	return found;
}

static void
test_stack(void)
{
	static const uint8_t secret[32] = "a secret noise seed, 32 bytes..";
	unsigned found;

	run_sponge(secret, sizeof(secret));
	found = scan_stack();
	check(found == 0, "no lane of the last permutation's state left on the stack",
	    sizeof(secret), found);
}

int
main(int argc, char **argv)
{
	if (argc > 1)
		rng_state = strtoull(argv[1], NULL, 0);

	test_kats();
	test_oracle();
	test_wipe();
	test_stack();

	printf("%u passed, %u failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mlkem_accum.c: the "accumulated" ML-KEM-768 test (C2SP CCTV,
 * procedure in tests/vectors/README section 4), run against every backend
 * in mlkem768_backends().
 *
 * An RNG (SHAKE-128 of the empty string, read as one stream) supplies, per
 * iteration, d, z, m and a random 1088-byte ciphertext; a second SHAKE-128
 * absorbs ek, dk, c, K and the implicit-rejection key of the random
 * ciphertext.  After N iterations its first 32 output bytes must equal the
 * final-FIPS-203 digest for N.  Each iteration also checks that
 * Decaps(dk, c) gives back K.
 *
 * Usage: test_mlkem_accum [N]   (default 100; digests known for N = 1, 10,
 * 100, 1000, 10000).  Last line: "P passed, F failed"; exit 1 on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keccak.h"
#include "crypto/mlkem768.h"

static const struct {
	unsigned long n;
	const char *digest;
} expected[] = {
	{ 1, "f98f7d4cdfead60fca190b36cf84af5438f98a03c5ca3780ee73fea10fa834a6" },
	{ 10, "3313043a4b8d07165cc64e27ff58f11d8527cae5db1767f85529b6a505faa833" },
	{ 100, "8d65b902f28edc683cebee2872962fd165a4d197c9e24ec74caa4470270df0b7" },
	{ 1000, "5706194c22e3e0977b570e636de7364abce0609b341433cc4eb48062080b7c76" },
	{ 10000, "f959d18d3d1180121433bf0e05f11e7908cf9d03edc150b2b07cb90bef5bc1c1" },
};

static unsigned passed, failed;

static void
check(int ok, const char *backend, const char *what)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		printf("FAIL [%s] %s\n", backend, what);
	}
}

static void
tohex(char *out, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
run(const mlkem768_backend *b, unsigned long n, const char *want)
{
	static uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN];
	static uint8_t ct[MLKEM768_CT_LEN], ct_rand[MLKEM768_CT_LEN];
	uint8_t d[32], z[32], m[32], k[32], k2[32], k3[32], digest[32];
	char hex[65];
	keccak_ctx rng, acc;
	unsigned long i, api_fail = 0, roundtrip_fail = 0;

	shake128_init(&rng);
	shake128_init(&acc);
	for (i = 0; i < n; i++) {
		keccak_squeeze(&rng, d, 32);
		keccak_squeeze(&rng, z, 32);
		keccak_squeeze(&rng, m, 32);
		keccak_squeeze(&rng, ct_rand, sizeof(ct_rand));

		if (b->keygen_derand(ek, dk, d, z) != 0)
			api_fail++;
		keccak_absorb(&acc, ek, sizeof(ek));
		keccak_absorb(&acc, dk, sizeof(dk));

		if (b->encaps_derand(ct, k, ek, sizeof(ek), m) != 0)
			api_fail++;
		keccak_absorb(&acc, ct, sizeof(ct));
		keccak_absorb(&acc, k, sizeof(k));

		if (b->decaps(k3, ct, sizeof(ct), dk, sizeof(dk)) != 0)
			api_fail++;
		if (memcmp(k3, k, sizeof(k)) != 0)
			roundtrip_fail++;

		if (b->decaps(k2, ct_rand, sizeof(ct_rand), dk, sizeof(dk)) != 0)
			api_fail++;
		keccak_absorb(&acc, k2, sizeof(k2));
	}
	keccak_squeeze(&acc, digest, sizeof(digest));
	tohex(hex, digest, sizeof(digest));

	printf("[%s] N=%lu digest %s\n", b->name, n, hex);
	check(api_fail == 0, b->name, "a keygen/encaps/decaps call returned an error");
	check(roundtrip_fail == 0, b->name, "Decaps(dk, c) != K");
	if (want != NULL)
		check(strcmp(hex, want) == 0, b->name, "digest differs from the FIPS 203 value");
	else
		printf("[%s] no reference digest for N=%lu; digest not checked\n",
		    b->name, n);
}

int
main(int argc, char **argv)
{
	const mlkem768_backend *const *bp;
	const char *want = NULL;
	unsigned long n = 100;
	char *end;
	size_t i;

	if (argc > 1) {
		n = strtoul(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || n == 0) {
			fprintf(stderr, "usage: %s [iterations]\n", argv[0]);
			return 2;
		}
	}
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		if (expected[i].n == n)
			want = expected[i].digest;

	for (bp = mlkem768_backends(); *bp != NULL; bp++)
		run(*bp, n, want);

	printf("%u passed, %u failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ct_mlkem.c: the builtin ML-KEM-768 backend neither branches nor
 * indexes memory on its secrets, as far as valgrind's memcheck can tell.
 *
 * Run under "valgrind --tool=memcheck --error-exitcode=99".  Before each call
 * the secret inputs are marked undefined (VALGRIND_MAKE_MEM_UNDEFINED):
 * memcheck then reports every conditional jump, and every load or store
 * address, that depends on them, and any report makes valgrind exit 99.
 * Arithmetic on undefined bytes is not reported, so a constant-time
 * implementation runs clean.  Outputs are marked defined again before this
 * program looks at them, so its own checks do not trip memcheck.
 *
 *   keygen_derand   d and z secret
 *   encaps_derand   m secret (ek is public)
 *   decaps          dk_PKE (dk[0..1151]) and z (dk[2368..2399]) secret; the
 *                   embedded ek and H(ek) are public, as is the ciphertext.
 *                   Run with the true ciphertext and with ciphertexts that
 *                   fail re-encryption, so both the accepting path and
 *                   implicit rejection are covered.
 *
 * The return codes must not depend on secrets either: each one goes through
 * VALGRIND_CHECK_VALUE_IS_DEFINED.  The builtin backend marks rho defined
 * itself after deriving it from d (rho is public, part of ek, and SampleNTT
 * may branch on it); see mlkem768_ref.c.
 *
 * "--selftest-leak" and "--selftest-index" prove the harness: each branches,
 * or indexes a table, on one marked byte, which memcheck must report (the
 * ctest entries for them are expected to fail).  Without valgrind the program
 * refuses to pass, since it would prove nothing.
 */
#include <stdio.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include "crypto/keccak.h"
#include "crypto/mlkem768.h"
#include "crypto/rand.h"
#include "err.h"
#include "testlib.h"

#define EK_LEN MLKEM768_EK_LEN
#define DK_LEN MLKEM768_DK_LEN
#define CT_LEN MLKEM768_CT_LEN
#define SS_LEN MLKEM768_SS_LEN
#define SEED_LEN MLKEM768_SEED_LEN

/* dk = dk_PKE || ek || H(ek) || z */
#define DK_PKE_LEN 1152
#define DK_Z_OFF (DK_PKE_LEN + EK_LEN + 32)

#define ITERATIONS 12

#define SECRET(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#define PUBLIC(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))

/* memcheck reports rc if it depends on a marked secret; then it is made
 * defined so that the checks that follow do not report it again. */
static int
public_rc(int rc)
{
	(void)VALGRIND_CHECK_VALUE_IS_DEFINED(rc);
	PUBLIC(&rc, sizeof(rc));
	return rc;
}

/* Marks the secret parts of an expanded dk undefined, the rest defined. */
static void
secret_dk(uint8_t dk[DK_LEN])
{
	PUBLIC(dk, DK_LEN);
	SECRET(dk, DK_PKE_LEN);
	SECRET(dk + DK_Z_OFF, SEED_LEN);
}

/* J(z || c) = SHAKE256(z || c, 32): the implicit-rejection key. */
static void
j_reject(uint8_t out[SS_LEN], const uint8_t z[SEED_LEN],
    const uint8_t c[CT_LEN])
{
	keccak_ctx x;

	shake256_init(&x);
	keccak_absorb(&x, z, SEED_LEN);
	keccak_absorb(&x, c, CT_LEN);
	keccak_squeeze(&x, out, SS_LEN);
	keccak_wipe(&x);
}

/* Decaps with the secret parts of dk marked; ss comes back defined. */
static int
decaps_marked(const mlkem768_backend *b, uint8_t ss[SS_LEN],
    const uint8_t c[CT_LEN], const uint8_t dk[DK_LEN])
{
	uint8_t sdk[DK_LEN];
	int rc;

	memcpy(sdk, dk, DK_LEN);
	secret_dk(sdk);
	rc = public_rc(b->decaps(ss, c, CT_LEN, sdk, DK_LEN));
	PUBLIC(ss, SS_LEN);
	PUBLIC(sdk, DK_LEN);
	return rc;
}

static void
one_round(const mlkem768_backend *b, unsigned iter)
{
	uint8_t d[SEED_LEN], z[SEED_LEN], m[SEED_LEN];
	uint8_t ek[EK_LEN], dk[DK_LEN], ct[CT_LEN], bad[CT_LEN];
	uint8_t ss[SS_LEN], ss2[SS_LEN], want[SS_LEN];
	uint8_t ek2[EK_LEN], dk2[DK_LEN], ct2[CT_LEN], ss3[SS_LEN];
	size_t pos;

	t_set_ctx("%s iteration %u", b->name, iter);
	T_INT(rand_bytes(d, sizeof(d)), 0);
	T_INT(rand_bytes(z, sizeof(z)), 0);
	T_INT(rand_bytes(m, sizeof(m)), 0);

	/* KeyGen_internal(d, z) with d and z secret. */
	SECRET(d, sizeof(d));
	SECRET(z, sizeof(z));
	T_INT(public_rc(b->keygen_derand(ek, dk, d, z)), 0);
	PUBLIC(d, sizeof(d));
	PUBLIC(z, sizeof(z));
	PUBLIC(ek, sizeof(ek));
	PUBLIC(dk, sizeof(dk));
	/* Marking changes nothing: an unmarked run gives the same keys. */
	T_INT(b->keygen_derand(ek2, dk2, d, z), 0);
	T_MEM(ek, sizeof(ek), ek2, sizeof(ek2));
	T_MEM(dk, sizeof(dk), dk2, sizeof(dk2));

	/* The input checks with dk's secret parts marked. */
	secret_dk(dk2);
	T_INT(public_rc(b->check_dk(dk2, DK_LEN)), 0);
	PUBLIC(dk2, sizeof(dk2));
	T_INT(public_rc(b->check_ek(ek, EK_LEN)), 0);

	/* Encaps_internal(ek, m) with m secret. */
	SECRET(m, sizeof(m));
	T_INT(public_rc(b->encaps_derand(ct, ss, ek, EK_LEN, m)), 0);
	PUBLIC(m, sizeof(m));
	PUBLIC(ct, sizeof(ct));
	PUBLIC(ss, sizeof(ss));
	T_INT(b->encaps_derand(ct2, ss3, ek, EK_LEN, m), 0);
	T_MEM(ct, sizeof(ct), ct2, sizeof(ct2));
	T_MEM(ss, sizeof(ss), ss3, sizeof(ss3));

	/* Decaps of the true ciphertext: re-encryption matches. */
	T_INT(decaps_marked(b, ss2, ct, dk), 0);
	T_MEM(ss2, sizeof(ss2), ss, sizeof(ss));

	/* One flipped bit, a different one each round: implicit rejection. */
	memcpy(bad, ct, sizeof(bad));
	pos = (size_t)iter * 97 % CT_LEN;
	bad[pos] ^= (uint8_t)(1u << (iter % 8));
	T_INT(decaps_marked(b, ss2, bad, dk), 0);
	j_reject(want, z, bad);
	T_MEM(ss2, sizeof(ss2), want, sizeof(want));
	T_OK(memcmp(ss2, ss, sizeof(ss)) != 0);

	/* A random ciphertext: implicit rejection again. */
	T_INT(rand_bytes(bad, sizeof(bad)), 0);
	T_INT(decaps_marked(b, ss2, bad, dk), 0);
	j_reject(want, z, bad);
	T_MEM(ss2, sizeof(ss2), want, sizeof(want));
}

/* A deliberate leak, to prove memcheck and this harness catch one. */
static int
selftest(int index)
{
	static const uint8_t table[256] = { 1, 2, 3 };
	volatile uint8_t sink = 0;
	uint8_t secret[1];

	if (rand_bytes(secret, sizeof(secret)) != 0)
		return 2;
	SECRET(secret, sizeof(secret));
	if (index)
		sink = table[secret[0]]; /* address from a secret */
	else if (secret[0] & 1)  /* branch on a secret */
		sink = 1;
	(void)sink;
	printf("selftest %s ran: valgrind must have reported it\n",
	    index ? "index" : "leak");
	return 0;
}

int
main(int argc, char **argv)
{
	static const char seed[] = "test_ct_mlkem";
	unsigned i;

	rand_test_seed(seed, sizeof(seed) - 1);
	if (argc > 1 && strcmp(argv[1], "--selftest-leak") == 0)
		return selftest(0);
	if (argc > 1 && strcmp(argv[1], "--selftest-index") == 0)
		return selftest(1);
	if (argc > 1) {
		fprintf(stderr,
		    "usage: %s [--selftest-leak | --selftest-index]\n", argv[0]);
		return 2;
	}

	t_set_ctx("valgrind");
	if (!RUNNING_ON_VALGRIND)
		fprintf(stderr, "test_ct_mlkem proves nothing outside "
		    "valgrind; run it under valgrind --tool=memcheck "
		    "--error-exitcode=99\n");
	T_OK(RUNNING_ON_VALGRIND);
	t_section("under memcheck");

	for (i = 0; i < ITERATIONS; i++)
		one_round(&mlkem768_builtin, i);
	t_section("builtin keygen/encaps/decaps with secrets marked");
	return t_done();
}

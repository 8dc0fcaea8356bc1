/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vec_hkdf.c: HKDF-SHA-512 (kdf.h) against Wycheproof: every valid case
 * through kdf_hkdf and through kdf_extract + kdf_expand, the SizeTooLarge
 * cases refused with nothing written, an empty salt equal to 64 zero bytes,
 * and the argument checks of kdf_expand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "err.h"
#include "testlib.h"
#include "ytree.h"

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

static int
all_byte(const uint8_t *p, size_t n, uint8_t b)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != b)
			return 0;
	return 1;
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

struct hcounts {
	unsigned long ran, valid, toolarge, emptysalt;
};

static void
wyche_case(const char *file, const ytree_node *t, struct hcounts *cnt)
{
	static const uint8_t zeros[KDF_PRK_LEN];
	const char *res = ytree_get_str(t, "result");
	const char *size = ytree_get_str(t, "size");
	uint8_t *ikm, *salt, *info, *okm, *out = NULL;
	uint8_t prk[KDF_PRK_LEN], prk0[KDF_PRK_LEN];
	size_t ikml, saltl, infol, okml, L;

	t_set_ctx("%s tcId %s", file, ytree_get_str(t, "tcId"));
	cnt->ran++;
	ikm = t_unhex_node(ytree_get(t, "ikm"), &ikml);
	salt = t_unhex_node(ytree_get(t, "salt"), &saltl);
	info = t_unhex_node(ytree_get(t, "info"), &infol);
	okm = t_unhex_node(ytree_get(t, "okm"), &okml);
	if (!T_OK(ikm && salt && info && okm && res && size))
		goto out;
	L = strtoul(size, NULL, 10);
	out = xmalloc(L);

	if (strcmp(res, "valid") == 0) {
		cnt->valid++;
		if (!T_INT(okml, L))
			goto out;
		memset(out, 0xa5, L);
		if (T_INT(kdf_hkdf(out, L, salt, saltl, ikm, ikml, info, infol), 0))
			T_MEM(out, L, okm, okml);
		/* The two halves give the same. */
		memset(out, 0xa5, L);
		if (T_INT(kdf_extract(prk, salt, saltl, ikm, ikml), 0) &&
		    T_INT(kdf_expand(out, L, prk, sizeof(prk), info, infol), 0))
			T_MEM(out, L, okm, okml);
		if (saltl == 0) {
			/* No salt means HashLen zero bytes (RFC 5869 2.2). */
			cnt->emptysalt++;
			if (T_INT(kdf_extract(prk0, zeros, sizeof(zeros), ikm,
			    ikml), 0))
				T_MEM(prk0, sizeof(prk0), prk, sizeof(prk));
			memset(out, 0xa5, L);
			if (T_INT(kdf_hkdf(out, L, zeros, sizeof(zeros), ikm, ikml,
			    info, infol), 0))
				T_MEM(out, L, okm, okml);
		}
	} else if (strcmp(res, "invalid") == 0 && has_flag(t, "SizeTooLarge")) {
		cnt->toolarge++;
		T_OK(L > KDF_MAX_OUT);
		memset(out, 0xa5, L);
		T_INT(kdf_hkdf(out, L, salt, saltl, ikm, ikml, info, infol),
		    STP_EINVAL);
		T_OK(all_byte(out, L, 0xa5));
		if (T_INT(kdf_extract(prk, salt, saltl, ikm, ikml), 0)) {
			T_INT(kdf_expand(out, L, prk, sizeof(prk), info, infol),
			    STP_EINVAL);
			T_OK(all_byte(out, L, 0xa5));
		}
	} else
		T_OK(!"result/flags combination this test knows");
out:
	crypto_wipe(prk, sizeof(prk));
	free(ikm);
	free(salt);
	free(info);
	free(okm);
	free(out);
}

static void
wyche(void)
{
	const char *file = "wycheproof/hkdf_sha512_test.json";
	ytree *y = t_load_vectors(file);
	const ytree_node *root = ytree_root(y), *groups;
	struct hcounts cnt = { 0, 0, 0, 0 };
	size_t i, j;

	groups = ytree_get(root, "testGroups");
	for (i = 0; i < ytree_count(groups); i++) {
		const ytree_node *tests = ytree_get(ytree_item(groups, i), "tests");

		for (j = 0; j < ytree_count(tests); j++)
			wyche_case(file, ytree_item(tests, j), &cnt);
	}
	t_set_ctx("%s counts", file);
	T_INT(cnt.ran, 83);
	T_INT(strtoul(ytree_get_str(root, "numberOfTests"), NULL, 10), 83);
	T_INT(cnt.valid, 80);
	T_INT(cnt.toolarge, 3);
	T_OK(cnt.emptysalt > 0);
	printf("%s: %lu cases (%lu valid, %lu with empty salt, %lu SizeTooLarge)\n",
	    file, cnt.ran, cnt.valid, cnt.emptysalt, cnt.toolarge);
	ytree_free(y);
}

/* kdf_expand's documented limits: prk_len >= 64, out_len in 1..KDF_MAX_OUT. */
static void
limits(void)
{
	static const uint8_t prk[KDF_PRK_LEN + 1] = { 1, 2, 3 };
	static uint8_t out[KDF_MAX_OUT + 1];
	uint8_t a[64];

	t_set_ctx("kdf_expand limits");
	memset(out, 0xa5, sizeof(out));
	T_INT(kdf_expand(out, 0, prk, KDF_PRK_LEN, prk, 0), STP_EINVAL);
	T_INT(kdf_expand(out, 32, prk, KDF_PRK_LEN - 1, prk, 0), STP_EINVAL);
	T_INT(kdf_expand(out, KDF_MAX_OUT + 1, prk, KDF_PRK_LEN, prk, 0),
	    STP_EINVAL);
	T_INT(kdf_hkdf(out, 0, prk, 0, prk, 8, prk, 0), STP_EINVAL);
	T_INT(kdf_hkdf(out, KDF_MAX_OUT + 1, prk, 0, prk, 8, prk, 0),
	    STP_EINVAL);
	T_OK(all_byte(out, sizeof(out), 0xa5));
	T_INT(kdf_expand(out, KDF_MAX_OUT, prk, KDF_PRK_LEN, prk, 0), 0);
	T_INT(kdf_expand(out, 1, prk, KDF_PRK_LEN, prk, 0), 0);
	/* A longer PRK is accepted. */
	T_INT(kdf_expand(a, sizeof(a), prk, KDF_PRK_LEN + 1, prk, 3), 0);
	/* A prefix of a longer output is the shorter output. */
	if (T_INT(kdf_expand(out, 200, prk, KDF_PRK_LEN, prk, 3), 0) &&
	    T_INT(kdf_expand(a, 50, prk, KDF_PRK_LEN, prk, 3), 0))
		T_MEM(a, 50, out, 50);
}

int
main(void)
{
	t_set_ctx("setup");
	T_INT(crypto_init(), 0);

	wyche();
	t_section("wycheproof hkdf_sha512");
	limits();
	t_section("kdf limits");

	t_set_ctx("%s", "");
	return t_done();
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vec_ed25519.c: Ed25519 (sign.h) against Wycheproof (verification; the
 * legacy file also carries secret keys, so key derivation and deterministic
 * signing too), the RFC 8032 section 7.1 tests in rfc/rfc_kats.json, and the
 * CCTV edge cases with our verification policy asserted per case: accept
 * exactly when a case is flagged neither non_canonical_R nor
 * low_order_residue (canonical R, cofactorless equation, as OpenSSL 3.0).
 *
 * Every verification runs twice, through sign_verify() and through a
 * sign_pub made for the case (Wycheproof: also one sign_pub per group, reused
 * for all its cases), and the results must be identical, return code for
 * return code, refusals included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "err.h"
#include "testlib.h"
#include "ytree.h"

static int
has_flag(const ytree_node *flags, const char *flag)
{
	size_t i;

	for (i = 0; i < ytree_count(flags); i++) {
		const ytree_node *f = ytree_item(flags, i);

		if (f->kind == YTREE_SCALAR && strcmp(f->str, flag) == 0)
			return 1;
	}
	return 0;
}

/* A refusal is STP_EVERIFY, or STP_EKEY for an undecodable public key. */
static int
refused(int rc)
{
	return rc == STP_EVERIFY || rc == STP_EKEY;
}

static unsigned long both_runs, both_ekey;

/*
 * sign_verify(pk, ...), checked against sign_pub_new(pk) then
 * sign_pub_verify() (sign_pub_new's error when it refuses the key) and, when
 * given, against the shared sign_pub `reuse` made from the same pk.
 * Returns sign_verify's result.
 */
static int
verify_both(const uint8_t pk[SIGN_PUB_LEN], const sign_pub *reuse,
    const uint8_t *msg, size_t ml, const uint8_t *sig, size_t sl)
{
	sign_pub *p = NULL;
	int want, got;

	want = sign_verify(pk, msg, ml, sig, sl);
	if ((got = sign_pub_new(&p, pk)) == 0 && T_OK(p != NULL)) {
		T_MEM(sign_pub_key(p), SIGN_PUB_LEN, pk, SIGN_PUB_LEN);
		got = sign_pub_verify(p, msg, ml, sig, sl);
	}
	sign_pub_free(p);
	if (!T_INT(got, want))
		fprintf(stderr, "  sign_pub path differs from sign_verify\n");
	if (reuse != NULL && !T_INT(sign_pub_verify(reuse, msg, ml, sig, sl),
	    want))
		fprintf(stderr, "  reused sign_pub differs from sign_verify\n");
	both_runs++;
	both_ekey += want == STP_EKEY;
	return want;
}

/* wycheproof/ed25519_test.json: verification only. */
static void
wyche_verify(void)
{
	const char *file = "wycheproof/ed25519_test.json";
	ytree *y = t_load_vectors(file);
	const ytree_node *root = ytree_root(y), *groups;
	unsigned long ran = 0, valid = 0, invalid = 0;
	size_t i, j;

	groups = ytree_get(root, "testGroups");
	for (i = 0; i < ytree_count(groups); i++) {
		const ytree_node *g = ytree_item(groups, i);
		const ytree_node *tests = ytree_get(g, "tests");
		sign_pub *gp = NULL;
		size_t pl;
		uint8_t *pk;
		int prc = 0;

		t_set_ctx("%s group %zu", file, i);
		pk = t_unhex_node(ytree_get(ytree_get(g, "publicKey"), "pk"), &pl);
		if (pk != NULL && !T_INT(pl, SIGN_PUB_LEN)) {
			free(pk);
			pk = NULL;
		}
		/* One sign_pub for the group's key, reused for all its cases. */
		if (pk != NULL && (prc = sign_pub_new(&gp, pk)) != 0)
			T_INT(prc, STP_EKEY);
		for (j = 0; j < ytree_count(tests); j++) {
			const ytree_node *t = ytree_item(tests, j);
			const char *res = ytree_get_str(t, "result");
			size_t ml, sl;
			uint8_t *msg, *sig;
			int rc;

			t_set_ctx("%s tcId %s", file, ytree_get_str(t, "tcId"));
			ran++;
			msg = t_unhex_node(ytree_get(t, "msg"), &ml);
			sig = t_unhex_node(ytree_get(t, "sig"), &sl);
			if (T_OK(pk && msg && sig && res)) {
				rc = verify_both(pk, gp, msg, ml, sig, sl);
				if (strcmp(res, "valid") == 0) {
					valid++;
					T_INT(rc, 0);
				} else if (strcmp(res, "invalid") == 0) {
					invalid++;
					if (!T_OK(refused(rc)))
						fprintf(stderr, "  got %d\n", rc);
				} else
					T_OK(!"result is valid or invalid");
			}
			free(msg);
			free(sig);
		}
		sign_pub_free(gp);
		free(pk);
	}
	t_set_ctx("%s counts", file);
	T_INT(ran, 151);
	T_INT(strtoul(ytree_get_str(root, "numberOfTests"), NULL, 10), 151);
	T_INT(valid, 88);
	T_INT(invalid, 63);
	printf("%s: %lu cases (%lu valid, %lu invalid)\n", file, ran, valid,
	    invalid);
	ytree_free(y);
}

/* wycheproof/legacy_v0/eddsa_test.json: derive, sign, verify. */
static void
wyche_legacy(void)
{
	const char *file = "wycheproof/legacy_v0/eddsa_test.json";
	ytree *y = t_load_vectors(file);
	const ytree_node *root = ytree_root(y), *groups;
	unsigned long ran = 0, valid = 0, invalid = 0, signed_ok = 0;
	size_t i, j;

	groups = ytree_get(root, "testGroups");
	for (i = 0; i < ytree_count(groups); i++) {
		const ytree_node *g = ytree_item(groups, i);
		const ytree_node *kn = ytree_get(g, "key");
		const ytree_node *tests = ytree_get(g, "tests");
		uint8_t *sk, *pk, pub[SIGN_PUB_LEN], seed[SIGN_SEED_LEN];
		sign_key *k = NULL;
		size_t skl, pkl;

		t_set_ctx("%s group %zu", file, i);
		sk = t_unhex_node(ytree_get(kn, "sk"), &skl);
		pk = t_unhex_node(ytree_get(kn, "pk"), &pkl);
		if (T_OK(sk && pk) && T_INT(skl, SIGN_SEED_LEN) &&
		    T_INT(pkl, SIGN_PUB_LEN) &&
		    T_INT(sign_key_from_seed(&k, sk), 0) && T_OK(k != NULL)) {
			sign_key_public(k, pub);
			T_MEM(pub, sizeof(pub), pk, pkl);
			sign_key_seed(k, seed);
			T_MEM(seed, sizeof(seed), sk, skl);
			crypto_wipe(seed, sizeof(seed));
		}
		for (j = 0; j < ytree_count(tests); j++) {
			const ytree_node *t = ytree_item(tests, j);
			const char *res = ytree_get_str(t, "result");
			uint8_t *msg, *sig, out[SIGN_SIG_LEN];
			size_t ml, sl;
			int rc;

			t_set_ctx("%s tcId %s", file, ytree_get_str(t, "tcId"));
			ran++;
			msg = t_unhex_node(ytree_get(t, "msg"), &ml);
			sig = t_unhex_node(ytree_get(t, "sig"), &sl);
			if (T_OK(k && pk && msg && sig && res)) {
				rc = verify_both(pk, NULL, msg, ml, sig, sl);
				if (strcmp(res, "valid") == 0) {
					valid++;
					T_INT(rc, 0);
					/* Ed25519 signing is deterministic. */
					if (T_INT(sign_sign(k, msg, ml, out), 0) &&
					    T_MEM(out, sizeof(out), sig, sl))
						signed_ok++;
				} else if (strcmp(res, "invalid") == 0) {
					invalid++;
					if (!T_OK(refused(rc)))
						fprintf(stderr, "  got %d\n", rc);
				} else
					T_OK(!"result is valid or invalid");
			}
			free(msg);
			free(sig);
		}
		sign_key_free(k);
		free(sk);
		free(pk);
	}
	t_set_ctx("%s counts", file);
	T_INT(ran, 145);
	T_INT(strtoul(ytree_get_str(root, "numberOfTests"), NULL, 10), 145);
	T_INT(valid, 84);
	T_INT(invalid, 61);
	T_INT(signed_ok, 84);
	printf("%s: %lu cases (%lu valid, %lu invalid, %lu signed exactly)\n",
	    file, ran, valid, invalid, signed_ok);
	ytree_free(y);
}

/* rfc/rfc_kats.json "ed25519": RFC 8032 section 7.1. */
static void
rfc_kats(void)
{
	ytree *y = t_load_vectors("rfc/rfc_kats.json");
	const ytree_node *l = ytree_get(ytree_root(y), "ed25519");
	unsigned long ran = 0;
	size_t i;

	for (i = 0; i < ytree_count(l); i++) {
		const ytree_node *e = ytree_item(l, i);
		size_t skl, pkl, ml, sl;
		uint8_t *sk, *pk, *msg, *sig, pub[SIGN_PUB_LEN], out[SIGN_SIG_LEN];
		sign_key *k = NULL;

		t_set_ctx("rfc_kats ed25519 %zu (%s)", i,
		    ytree_get_str(e, "source"));
		ran++;
		sk = t_unhex_node(ytree_get(e, "secret_key"), &skl);
		pk = t_unhex_node(ytree_get(e, "public_key"), &pkl);
		msg = t_unhex_node(ytree_get(e, "message"), &ml);
		sig = t_unhex_node(ytree_get(e, "signature"), &sl);
		if (T_OK(sk && pk && msg && sig) && T_INT(skl, SIGN_SEED_LEN) &&
		    T_INT(pkl, SIGN_PUB_LEN) &&
		    T_INT(sign_key_from_seed(&k, sk), 0)) {
			sign_key_public(k, pub);
			T_MEM(pub, sizeof(pub), pk, pkl);
			if (T_INT(sign_sign(k, msg, ml, out), 0))
				T_MEM(out, sizeof(out), sig, sl);
			T_INT(verify_both(pk, NULL, msg, ml, sig, sl), 0);
			sign_key_free(k);
		}
		free(sk);
		free(pk);
		free(msg);
		free(sig);
	}
	t_set_ctx("rfc_kats ed25519 counts");
	T_INT(ran, 5);
	printf("rfc_kats ed25519: %lu entries\n", ran);
	ytree_free(y);
}

/* cctv-ed25519/ed25519vectors.json: policy per flag. */
static void
cctv(void)
{
	const char *file = "cctv-ed25519/ed25519vectors.json";
	ytree *y = t_load_vectors(file);
	const ytree_node *root = ytree_root(y);
	unsigned long ran = 0, accepted = 0, rejected = 0, nullflags = 0;
	size_t i;

	for (i = 0; i < ytree_count(root); i++) {
		const ytree_node *e = ytree_item(root, i);
		const ytree_node *flags = ytree_get(e, "flags");
		const ytree_node *msg = ytree_get(e, "msg");
		size_t kl, sl;
		uint8_t *key, *sig;
		int want_accept, rc;

		t_set_ctx("%s number %s", file, ytree_get_str(e, "number"));
		ran++;
		if (flags == NULL || ytree_is_null(flags))
			nullflags++;
		else
			T_INT(flags->kind, YTREE_SEQ);
		want_accept = !has_flag(flags, "non_canonical_R") &&
		    !has_flag(flags, "low_order_residue");
		key = t_unhex_node(ytree_get(e, "key"), &kl);
		sig = t_unhex_node(ytree_get(e, "sig"), &sl);
		/* msg is ASCII text here, not hex. */
		if (T_OK(key && sig && msg && msg->kind == YTREE_SCALAR) &&
		    T_INT(kl, SIGN_PUB_LEN) && T_INT(sl, SIGN_SIG_LEN)) {
			rc = verify_both(key, NULL, (const uint8_t *)msg->str,
			    msg->len, sig, sl);
			if (rc == 0)
				accepted++;
			else
				rejected++;
			if (want_accept)
				T_INT(rc, 0);
			else if (!T_OK(refused(rc)))
				fprintf(stderr, "  got %d\n", rc);
		}
		free(key);
		free(sig);
	}
	t_set_ctx("%s counts", file);
	T_INT(ran, 914);
	T_INT(nullflags, 1);
	T_INT(accepted, 208);
	T_INT(rejected, 706);
	printf("%s: %lu cases, %lu accepted, %lu rejected\n", file, ran,
	    accepted, rejected);
	ytree_free(y);
}

int
main(void)
{
	t_set_ctx("setup");
	T_INT(crypto_init(), 0);

	wyche_verify();
	t_section("wycheproof ed25519");
	wyche_legacy();
	t_section("wycheproof legacy eddsa (derive, sign, verify)");
	rfc_kats();
	t_section("rfc_kats ed25519");
	cctv();
	t_section("cctv ed25519 edge cases (policy)");
	t_set_ctx("sign_verify and sign_pub agree");
	/* 151 + 145 + 5 + 914 verifications above, each on both paths. */
	T_INT(both_runs, 1215);
	printf("sign_verify and sign_pub_verify agreed on %lu verifications "
	    "(%lu with an undecodable key)\n", both_runs, both_ekey);

	t_set_ctx("%s", "");
	return t_done();
}

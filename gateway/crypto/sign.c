/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign.c: Ed25519 through OpenSSL's EVP (one-shot EVP_DigestSign, as pure
 * Ed25519 requires).  The EVP_PKEY is made once per key (sign_key, sign_pub);
 * each call uses its own EVP_MD_CTX, so one key may sign or verify on several
 * threads at once.
 *
 * OpenSSL 3.0 takes any 32 bytes as an Ed25519 public key and decodes the
 * point inside every verification, failing it when y has no x.  pub_decodes()
 * makes that one check up front (RFC 8032 section 5.1.3, step 2, on y taken
 * modulo p as OpenSSL takes it), so that a key which could never verify is
 * refused as STP_EKEY when it is made rather than showing up as bad
 * signatures.
 */
#include "crypto/sign.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "crypto/rand.h"
#include "err.h"

/*
 * A sign_key keeps its EVP_PKEY and, as a sign_pub does (see there), a
 * context through EVP_DigestSignInit_ex that each signature copies.  Per
 * signature of a 64-byte message, measured as for sign_pub: outside
 * EVP_DigestSign (590,468 instructions, 8 read locks) a fresh init cost
 * 21,990 instructions and 20 read locks, the copy 1,427 and none; on the
 * clock (bench_crypto, 21 rounds paired as for sign_pub) CPU time per
 * signature copy / init 0.932 (0.878..1.088), 31.9 -> 30.3 us.
 */
struct sign_key {
	EVP_PKEY *pkey;
	EVP_MD_CTX *tmpl;
	uint8_t pub[SIGN_PUB_LEN];
	uint8_t seed[SIGN_SEED_LEN];
	unsigned refs;          /* owners less one (sign_key_ref) */
};

int
sign_key_from_seed(sign_key **out, const uint8_t seed[SIGN_SEED_LEN])
{
	sign_key *k;
	size_t n = SIGN_PUB_LEN;
	int rc = STP_ECRYPTO;

	if (crypto_init() != 0)
		return STP_ECRYPTO;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return STP_ENOMEM;
	k->pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed,
	    SIGN_SEED_LEN);
	if (k->pkey == NULL ||
	    EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &n) != 1 ||
	    n != SIGN_PUB_LEN || (k->tmpl = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(k->tmpl, NULL, NULL, NULL, NULL, k->pkey,
	    NULL) != 1)
		goto out;
	memcpy(k->seed, seed, SIGN_SEED_LEN);
	*out = k;
	k = NULL;
	rc = 0;
out:
	sign_key_free(k);
	return rc;
}

int
sign_key_generate(sign_key **out)
{
	uint8_t seed[SIGN_SEED_LEN];
	int rc;

	if ((rc = rand_bytes(seed, sizeof(seed))) == 0)
		rc = sign_key_from_seed(out, seed);
	crypto_wipe(seed, sizeof(seed));
	return rc;
}

void
sign_key_public(const sign_key *k, uint8_t pub[SIGN_PUB_LEN])
{
	memcpy(pub, k->pub, SIGN_PUB_LEN);
}

void
sign_key_seed(const sign_key *k, uint8_t seed[SIGN_SEED_LEN])
{
	memcpy(seed, k->seed, SIGN_SEED_LEN);
}

void
sign_key_free(sign_key *k)
{
	if (k == NULL)
		return;
	if (k->refs > 0) {
		k->refs--;
		return;
	}
	EVP_MD_CTX_free(k->tmpl);
	EVP_PKEY_free(k->pkey);
	crypto_wipe(k, sizeof(*k));
	free(k);
}

sign_key *
sign_key_ref(sign_key *k)
{
	if (k != NULL)
		k->refs++;
	return k;
}

int
sign_sign(const sign_key *k, const uint8_t *msg, size_t len,
    uint8_t sig[SIGN_SIG_LEN])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t n = SIGN_SIG_LEN;
	int rc = STP_ECRYPTO;

	if (m == NULL)
		goto out;
	if (EVP_MD_CTX_copy_ex(m, k->tmpl) != 1 ||
	    EVP_DigestSign(m, sig, &n, len ? msg : (const uint8_t *)"", len) != 1 ||
	    n != SIGN_SIG_LEN)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		crypto_wipe(sig, SIGN_SIG_LEN);
	EVP_MD_CTX_free(m);
	return rc;
}

/*
 * Does pub decode to a point of edwards25519?  With y = pub (bit 255
 * cleared) mod p, RFC 8032 section 5.1.3 recovers x from x^2 = u / v,
 * u = y^2 - 1, v = d y^2 + 1 (v is never 0: -1/d is not a square).  It
 * fails exactly when u / v, or equally u * v, is not a square mod p, which
 * the Legendre symbol (BN_kronecker, p prime) tells.  Public data, so
 * variable time is fine.  1 if it decodes, 0 if not, STP_ENOMEM or
 * STP_ECRYPTO.
 */
static int
pub_decodes(const uint8_t pub[SIGN_PUB_LEN])
{
	/* p = 2^255 - 19 and d = -121665/121666 mod p, big-endian. */
	static const uint8_t p_be[32] = {
		0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xed,
	};
	static const uint8_t d_be[32] = {
		0x52, 0x03, 0x6c, 0xee, 0x2b, 0x6f, 0xfe, 0x73,
		0x8c, 0xc7, 0x40, 0x79, 0x77, 0x79, 0xe8, 0x98,
		0x00, 0x70, 0x0a, 0x4d, 0x41, 0x41, 0xd8, 0xab,
		0x75, 0xeb, 0x4d, 0xca, 0x13, 0x59, 0x78, 0xa3,
	};
	uint8_t yb[SIGN_PUB_LEN];
	BN_CTX *bc;
	BIGNUM *p, *d, *y, *u, *v;
	int rc = STP_ECRYPTO, j;

	if ((bc = BN_CTX_new()) == NULL)
		return STP_ENOMEM;
	BN_CTX_start(bc);
	p = BN_CTX_get(bc);
	d = BN_CTX_get(bc);
	y = BN_CTX_get(bc);
	u = BN_CTX_get(bc);
	v = BN_CTX_get(bc);
	memcpy(yb, pub, sizeof(yb));
	yb[31] &= 0x7f; /* the sign of x */
	if (v == NULL ||
	    BN_bin2bn(p_be, sizeof(p_be), p) == NULL ||
	    BN_bin2bn(d_be, sizeof(d_be), d) == NULL ||
	    BN_lebin2bn(yb, sizeof(yb), y) == NULL ||
	    !BN_nnmod(y, y, p, bc) ||
	    !BN_mod_sqr(y, y, p, bc) ||                   /* y^2 */
	    !BN_mod_sub(u, y, BN_value_one(), p, bc) ||   /* u */
	    !BN_mod_mul(v, d, y, p, bc) ||
	    !BN_mod_add(v, v, BN_value_one(), p, bc) ||   /* v */
	    !BN_mod_mul(u, u, v, p, bc))                  /* u * v */
		goto out;
	if ((j = BN_kronecker(u, p, bc)) == -2)
		goto out;
	rc = j != -1; /* 0 (x = 0) and 1 decode */
out:
	BN_CTX_end(bc);
	BN_CTX_free(bc);
	return rc;
}

/*
 * The one-shot verification under pk, on a fresh context.  0, STP_EVERIFY
 * or STP_ECRYPTO.
 */
static int
verify_pkey(EVP_PKEY *pk, const uint8_t *msg, size_t len, const uint8_t *sig)
{
	EVP_MD_CTX *m;
	int rc = STP_ECRYPTO;

	if ((m = EVP_MD_CTX_new()) == NULL)
		return STP_ECRYPTO;
	if (EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL, pk, NULL) != 1)
		goto out;
	/* 1 = valid; 0 = invalid; < 0 = could not decode (also invalid). */
	rc = EVP_DigestVerify(m, sig, SIGN_SIG_LEN, len ? msg :
	    (const uint8_t *)"", len) == 1 ? 0 : STP_EVERIFY;
out:
	EVP_MD_CTX_free(m);
	return rc;
}

int
sign_verify(const uint8_t pub[SIGN_PUB_LEN], const uint8_t *msg, size_t len,
    const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY *pk;
	int rc = STP_EVERIFY, dec;

	if (crypto_init() != 0)
		return STP_ECRYPTO;
	if (sig_len == SIGN_SIG_LEN) {
		pk = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub,
		    SIGN_PUB_LEN);
		if (pk == NULL)
			return STP_ECRYPTO;
		rc = verify_pkey(pk, msg, len, sig);
		EVP_PKEY_free(pk);
	}
	/*
	 * A key that decodes is needed for any signature to verify, so only
	 * a refusal pays for telling an undecodable key (sign_pub_new's
	 * STP_EKEY) from a bad signature.
	 */
	if (rc == STP_EVERIFY && (dec = pub_decodes(pub)) != 1)
		rc = dec == 0 ? STP_EKEY : dec;
	return rc;
}

/*
 * A sign_pub keeps the EVP_PKEY and a context already through
 * EVP_DigestVerifyInit_ex under it; each verification copies that context
 * (EVP_MD_CTX_copy_ex) instead of initialising one.  Measured per
 * verification of a 64-byte message, OpenSSL 3.0.22 on this project's 2-CPU
 * AMD EPYC VM: instructions by callgrind on bench_crypto --ops 200, lock
 * calls by counting pthread_rwlock_rdlock / _wrlock, time as the median of
 * 5 rounds of a loop around each call alone:
 *
 *   outside EVP_DigestVerify            instructions  rd / wr locks  time
 *   sign_verify: key + context per call       55,160      36 / 7    5.1 us
 *   sign_pub, context initialised per call    21,747      20 / 0    2.0 us
 *   sign_pub, copy of the template             1,418       0 / 0    0.2 us
 *   EVP_DigestVerify itself              ~1,510,000       8 / 0     75 us
 *
 * So the copy takes the per-call set-up from 21,747 instructions to 1,418
 * and from 20 shared-lock round trips to none.  On the clock (bench_crypto,
 * 21 rounds, each build's run beside the other's; CPU time per verification,
 * median of the per-round ratios, min..max): copy / init per call 0.970
 * (0.798..1.090); sign_pub with the copy / sign_verify 0.935 (0.868..1.008),
 * 83.2 -> 78.8 us.  The 7 write locks, which make threads wait for each other, all came from
 * building the EVP_PKEY and context per call.  The 8 read locks left are
 * inside EVP_DigestVerify: the Ed25519 provider fetches SHA-512 on every
 * call, and OpenSSL 3.0 gives no way to pass it one.
 *
 * The copy reads the template only (EVP_MD_CTX_copy_ex takes it const, and
 * duplicating Ed25519's provider context takes counted references), so
 * threads may copy from one template at once, as openssl-threads(7) allows
 * for calls that do not modify an object.
 */
struct sign_pub {
	EVP_PKEY *pkey;
	EVP_MD_CTX *tmpl;
	uint8_t pub[SIGN_PUB_LEN];
};

int
sign_pub_new(sign_pub **out, const uint8_t pub[SIGN_PUB_LEN])
{
	sign_pub *p;
	int rc;

	if (crypto_init() != 0)
		return STP_ECRYPTO;
	if ((rc = pub_decodes(pub)) != 1)
		return rc == 0 ? STP_EKEY : rc;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return STP_ENOMEM;
	p->pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub,
	    SIGN_PUB_LEN);
	if (p->pkey == NULL || (p->tmpl = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(p->tmpl, NULL, NULL, NULL, NULL, p->pkey,
	    NULL) != 1) {
		sign_pub_free(p);
		return STP_ECRYPTO;
	}
	memcpy(p->pub, pub, SIGN_PUB_LEN);
	*out = p;
	return 0;
}

int
sign_pub_verify(const sign_pub *p, const uint8_t *msg, size_t len,
    const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *m;
	int rc = STP_ECRYPTO;

	if (sig_len != SIGN_SIG_LEN)
		return STP_EVERIFY;
	if ((m = EVP_MD_CTX_new()) == NULL)
		return STP_ECRYPTO;
	if (EVP_MD_CTX_copy_ex(m, p->tmpl) != 1)
		goto out;
	rc = EVP_DigestVerify(m, sig, SIGN_SIG_LEN, len ? msg :
	    (const uint8_t *)"", len) == 1 ? 0 : STP_EVERIFY;
out:
	EVP_MD_CTX_free(m);
	return rc;
}

const uint8_t *
sign_pub_key(const sign_pub *p)
{
	return p->pub;
}

void
sign_pub_free(sign_pub *p)
{
	if (p == NULL)
		return;
	EVP_MD_CTX_free(p->tmpl);
	EVP_PKEY_free(p->pkey);
	free(p);
}

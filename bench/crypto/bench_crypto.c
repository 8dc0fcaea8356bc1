/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_crypto.c: throughput and latency of the crypto primitives, measured
 * through the project's own headers (gateway/crypto/), never OpenSSL directly.
 *
 * Each case is one operation repeated: it is warmed up, its batch size set so
 * that a batch takes about a fiftieth of the run, and batches are run until
 * --time seconds of CLOCK_MONOTONIC have passed.  Process CPU time is taken
 * over the same span, so a run disturbed by other work shows cpu% < 100.
 * Sizes are plaintext / message bytes; MB is 10^6 bytes, as in `openssl speed`.
 * Every return code is checked and every output folded into a volatile sink,
 * so no work can be dropped.
 *
 * Cases named .t2. run the same operation on two threads at once (each
 * batch split between them, both on the same key object), so op/s against
 * the one-thread case shows how it scales; cpu% near 200 means both threads
 * had a core.
 *
 * bench/crypto/run.sh drives this program and sets its figures beside
 * `openssl speed`.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "crypto/aead.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "crypto/mlkem768.h"
#include "crypto/rand.h"
#include "crypto/sign.h"
#include "crypto/x25519.h"

#define MAX_SIZE 16384
#define AAD_LEN 8           /* a record header's worth of associated data */
#define MAX_FILTERS 32
#define BATCHES_PER_RUN 50  /* batch size aims at this many batches per run */

static volatile uint8_t sink;

/* Everything an operation reads or writes; set up once by state_init. */
static struct {
	aead_ctx *ctx;
	uint8_t key[AEAD_KEY_LEN];
	uint8_t nonce24[AEAD_XCHACHA_NONCE_LEN];
	uint8_t nonce12[AEAD_CHACHA_NONCE_LEN];
	uint8_t aad[AAD_LEN];
	aead_dirkey dk;
	uint64_t seq;
	uint8_t pt[MAX_SIZE];
	uint8_t out[MAX_SIZE + AEAD_TAG_LEN];
	/* One sealed record per size for the open cases, under dk at seq 0. */
	uint8_t sealed[3][MAX_SIZE + AEAD_TAG_LEN];

	uint8_t hkey[64];
	uint8_t salt[32];
	uint8_t info[16];

	sign_key *sk;
	sign_pub *sp;
	uint8_t spub[SIGN_PUB_LEN];
	uint8_t smsg[64];
	uint8_t ssig[SIGN_SIG_LEN];

	uint8_t xpriv[X25519_LEN];
	uint8_t xpub[X25519_LEN];
	uint8_t xpeer[X25519_LEN];

	/* ML-KEM: one key pair and ciphertext, made by the backend being run. */
	uint8_t d[MLKEM768_SEED_LEN];
	uint8_t z[MLKEM768_SEED_LEN];
	uint8_t m[MLKEM768_SEED_LEN];
	uint8_t ek[MLKEM768_EK_LEN];
	uint8_t dk_kem[MLKEM768_DK_LEN];
	uint8_t ct[MLKEM768_CT_LEN];
	uint8_t ss[MLKEM768_SS_LEN];
} st;

/* One benchmark: run n operations of `size` bytes, 0 or an error code. */
struct bcase {
	char name[64];
	size_t size;   /* bytes per operation, 0 for fixed-size operations */
	int sizeidx;   /* index into sizes[] for the open cases */
	const mlkem768_backend *kem;
	int (*run)(const struct bcase *bc, uint64_t n);
	int (*each)(uint64_t n);  /* op_threads: the work each thread does */
	int selected;
};

static const size_t sizes[3] = { 64, 1024, 16384 };

static uint64_t
now_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0) {
		perror("clock_gettime");
		exit(1);
	}
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- the operations --- */

static int
op_dirkey_seal(const struct bcase *bc, uint64_t n)
{
	int rc;

	for (; n > 0; n--) {
		rc = aead_dirkey_seal(st.ctx, &st.dk, st.seq++, st.aad, AAD_LEN,
		    st.pt, bc->size, st.out);
		if (rc != 0)
			return rc;
		sink ^= st.out[bc->size];
	}
	return 0;
}

static int
op_dirkey_open(const struct bcase *bc, uint64_t n)
{
	int rc;

	for (; n > 0; n--) {
		rc = aead_dirkey_open(st.ctx, &st.dk, 0, st.aad, AAD_LEN,
		    st.sealed[bc->sizeidx], bc->size + AEAD_TAG_LEN, st.out);
		if (rc != 0)
			return rc;
		sink ^= st.out[bc->size - 1];
	}
	return 0;
}

static int
op_xchacha_seal(const struct bcase *bc, uint64_t n)
{
	int rc;

	for (; n > 0; n--) {
		st.nonce24[23]++;
		rc = aead_xchacha_seal(st.ctx, st.key, st.nonce24,
		    sizeof(st.nonce24), st.aad, AAD_LEN, st.pt, bc->size, st.out);
		if (rc != 0)
			return rc;
		sink ^= st.out[bc->size];
	}
	return 0;
}

static int
op_chacha_seal(const struct bcase *bc, uint64_t n)
{
	int rc;

	for (; n > 0; n--) {
		st.nonce12[11]++;
		rc = aead_chacha_seal(st.ctx, st.key, st.nonce12,
		    sizeof(st.nonce12), st.aad, AAD_LEN, st.pt, bc->size, st.out);
		if (rc != 0)
			return rc;
		sink ^= st.out[bc->size];
	}
	return 0;
}

static int
op_sha512(const struct bcase *bc, uint64_t n)
{
	uint8_t h[HASH_SHA512_LEN];
	int rc;

	for (; n > 0; n--) {
		if ((rc = hash_sha512(h, st.pt, bc->size)) != 0)
			return rc;
		sink ^= h[0];
	}
	return 0;
}

static int
op_hmac(const struct bcase *bc, uint64_t n)
{
	uint8_t h[HASH_SHA512_LEN];
	int rc;

	for (; n > 0; n--) {
		rc = hash_hmac_sha512(h, st.hkey, sizeof(st.hkey), st.pt,
		    bc->size);
		if (rc != 0)
			return rc;
		sink ^= h[0];
	}
	return 0;
}

static int
op_hkdf(const struct bcase *bc, uint64_t n)
{
	uint8_t okm[64];
	int rc;

	(void)bc;
	for (; n > 0; n--) {
		rc = kdf_hkdf(okm, sizeof(okm), st.salt, sizeof(st.salt),
		    st.hkey, sizeof(st.hkey), st.info, sizeof(st.info));
		if (rc != 0)
			return rc;
		sink ^= okm[0];
	}
	return 0;
}

static int
op_ed_sign(const struct bcase *bc, uint64_t n)
{
	uint8_t sig[SIGN_SIG_LEN];
	int rc;

	(void)bc;
	for (; n > 0; n--) {
		if ((rc = sign_sign(st.sk, st.smsg, sizeof(st.smsg), sig)) != 0)
			return rc;
		sink ^= sig[0];
	}
	return 0;
}

static int
op_ed_verify(const struct bcase *bc, uint64_t n)
{
	int rc;

	(void)bc;
	for (; n > 0; n--) {
		rc = sign_verify(st.spub, st.smsg, sizeof(st.smsg), st.ssig,
		    sizeof(st.ssig));
		if (rc != 0)
			return rc;
		sink ^= (uint8_t)rc;
	}
	return 0;
}

static int
ed_verify(uint64_t n)
{
	int rc;

	for (; n > 0; n--) {
		rc = sign_verify(st.spub, st.smsg, sizeof(st.smsg), st.ssig,
		    sizeof(st.ssig));
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
ed_verify_cached(uint64_t n)
{
	int rc;

	for (; n > 0; n--) {
		rc = sign_pub_verify(st.sp, st.smsg, sizeof(st.smsg), st.ssig,
		    sizeof(st.ssig));
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
op_ed_verify_cached(const struct bcase *bc, uint64_t n)
{
	(void)bc;
	return ed_verify_cached(n);
}

/* Making the verification key itself: once per peer key. */
static int
op_ed_pub_new(const struct bcase *bc, uint64_t n)
{
	sign_pub *p;
	int rc;

	(void)bc;
	for (; n > 0; n--) {
		if ((rc = sign_pub_new(&p, st.spub)) != 0)
			return rc;
		sink ^= sign_pub_key(p)[0];
		sign_pub_free(p);
	}
	return 0;
}

struct half {
	pthread_t th;
	int (*each)(uint64_t n);
	uint64_t n;
	int rc;
};

static void *
half_run(void *arg)
{
	struct half *h = arg;

	h->rc = h->each(h->n);
	return NULL;
}

/*
 * n operations split between two threads started for this batch (starting
 * them costs tens of microseconds against a batch of about 1/50 of the run).
 */
static int
op_threads(const struct bcase *bc, uint64_t n)
{
	struct half h[2];
	int k;

	for (k = 0; k < 2; k++) {
		h[k].each = bc->each;
		h[k].n = k == 0 ? n / 2 : n - n / 2;
		h[k].rc = 0;
		if (pthread_create(&h[k].th, NULL, half_run, &h[k]) != 0) {
			if (k == 1)
				(void)pthread_join(h[0].th, NULL);
			return STP_ENOMEM;
		}
	}
	for (k = 0; k < 2; k++)
		(void)pthread_join(h[k].th, NULL);
	return h[0].rc != 0 ? h[0].rc : h[1].rc;
}

static int
op_x_keypair(const struct bcase *bc, uint64_t n)
{
	uint8_t priv[X25519_LEN], pub[X25519_LEN];
	int rc;

	(void)bc;
	for (; n > 0; n--) {
		if ((rc = x25519_keypair(priv, pub)) != 0)
			return rc;
		sink ^= pub[0];
	}
	crypto_wipe(priv, sizeof(priv));
	return 0;
}

static int
op_x_shared(const struct bcase *bc, uint64_t n)
{
	uint8_t ss[X25519_LEN];
	int rc;

	(void)bc;
	for (; n > 0; n--) {
		if ((rc = x25519_shared(ss, st.xpriv, st.xpeer)) != 0)
			return rc;
		sink ^= ss[0];
	}
	return 0;
}

static int
op_x_public(const struct bcase *bc, uint64_t n)
{
	uint8_t pub[X25519_LEN];
	int rc;

	(void)bc;
	for (; n > 0; n--) {
		if ((rc = x25519_public(pub, st.xpriv)) != 0)
			return rc;
		sink ^= pub[0];
	}
	return 0;
}

static int
op_x_shared_pair(const struct bcase *bc, uint64_t n)
{
	uint8_t ss[X25519_LEN];
	int rc;

	(void)bc;
	for (; n > 0; n--) {
		rc = x25519_shared_pair(ss, st.xpriv, st.xpub, st.xpeer);
		if (rc != 0)
			return rc;
		sink ^= ss[0];
	}
	return 0;
}

static int
op_kem_keygen(const struct bcase *bc, uint64_t n)
{
	uint8_t ek[MLKEM768_EK_LEN], dk[MLKEM768_DK_LEN];
	int rc;

	for (; n > 0; n--) {
		st.d[0]++;
		if ((rc = bc->kem->keygen_derand(ek, dk, st.d, st.z)) != 0)
			return rc;
		sink ^= ek[0] ^ dk[0];
	}
	crypto_wipe(dk, sizeof(dk));
	return 0;
}

static int
op_kem_encaps(const struct bcase *bc, uint64_t n)
{
	uint8_t ct[MLKEM768_CT_LEN], ss[MLKEM768_SS_LEN];
	int rc;

	for (; n > 0; n--) {
		st.m[0]++;
		rc = bc->kem->encaps_derand(ct, ss, st.ek, sizeof(st.ek), st.m);
		if (rc != 0)
			return rc;
		sink ^= ct[0] ^ ss[0];
	}
	return 0;
}

static int
op_kem_decaps(const struct bcase *bc, uint64_t n)
{
	uint8_t ss[MLKEM768_SS_LEN];
	int rc;

	for (; n > 0; n--) {
		rc = bc->kem->decaps(ss, st.ct, sizeof(st.ct), st.dk_kem,
		    sizeof(st.dk_kem));
		if (rc != 0)
			return rc;
		sink ^= ss[0];
	}
	return 0;
}

/* --- setup --- */

static int
state_init(void)
{
	uint8_t seed[SIGN_SEED_LEN];
	int i, rc;

	if ((rc = crypto_init()) != 0)
		return rc;
	if ((st.ctx = aead_ctx_new()) == NULL)
		return STP_ENOMEM;
	if ((rc = rand_bytes(st.key, sizeof(st.key))) != 0 ||
	    (rc = rand_bytes(st.nonce24, sizeof(st.nonce24))) != 0 ||
	    (rc = rand_bytes(st.nonce12, sizeof(st.nonce12))) != 0 ||
	    (rc = rand_bytes(st.aad, sizeof(st.aad))) != 0 ||
	    (rc = rand_bytes(st.pt, sizeof(st.pt))) != 0 ||
	    (rc = rand_bytes(st.hkey, sizeof(st.hkey))) != 0 ||
	    (rc = rand_bytes(st.salt, sizeof(st.salt))) != 0 ||
	    (rc = rand_bytes(st.info, sizeof(st.info))) != 0 ||
	    (rc = rand_bytes(st.smsg, sizeof(st.smsg))) != 0 ||
	    (rc = rand_bytes(seed, sizeof(seed))) != 0)
		goto out;

	aead_dirkey_init(&st.dk, st.key, st.nonce24);
	for (i = 0; i < 3; i++) {
		rc = aead_dirkey_seal(st.ctx, &st.dk, 0, st.aad, AAD_LEN, st.pt,
		    sizes[i], st.sealed[i]);
		if (rc != 0)
			goto out;
	}
	st.seq = 1;

	if ((rc = sign_key_from_seed(&st.sk, seed)) != 0)
		goto out;
	sign_key_public(st.sk, st.spub);
	if ((rc = sign_pub_new(&st.sp, st.spub)) != 0)
		goto out;
	if ((rc = sign_sign(st.sk, st.smsg, sizeof(st.smsg), st.ssig)) != 0)
		goto out;

	{
		uint8_t peerpriv[X25519_LEN];

		rc = x25519_keypair(st.xpriv, st.xpub);
		if (rc == 0)
			rc = x25519_keypair(peerpriv, st.xpeer);
		crypto_wipe(peerpriv, sizeof(peerpriv));
		if (rc != 0)
			goto out;
	}

	if ((rc = rand_bytes(st.d, sizeof(st.d))) != 0 ||
	    (rc = rand_bytes(st.z, sizeof(st.z))) != 0 ||
	    (rc = rand_bytes(st.m, sizeof(st.m))) != 0)
		goto out;
	rc = 0;
out:
	crypto_wipe(seed, sizeof(seed));
	return rc;
}

/* Give the ML-KEM cases a key pair and ciphertext from backend b. */
static int
kem_prepare(const mlkem768_backend *b)
{
	int rc;

	if ((rc = b->keygen_derand(st.ek, st.dk_kem, st.d, st.z)) != 0)
		return rc;
	return b->encaps_derand(st.ct, st.ss, st.ek, sizeof(st.ek), st.m);
}

static void
state_free(void)
{
	aead_ctx_free(st.ctx);
	sign_key_free(st.sk);
	sign_pub_free(st.sp);
	aead_dirkey_wipe(&st.dk);
	crypto_wipe(&st, sizeof(st));
}

/* --- the case table --- */

static struct bcase cases[64];
static size_t ncases;

static void
add_case(const char *name, size_t size, int sizeidx,
    const mlkem768_backend *kem, int (*run)(const struct bcase *, uint64_t))
{
	struct bcase *bc;

	if (ncases == sizeof(cases) / sizeof(cases[0])) {
		fprintf(stderr, "bench_crypto: too many cases\n");
		exit(1);
	}
	bc = &cases[ncases++];
	if (size != 0 && kem == NULL)
		snprintf(bc->name, sizeof(bc->name), "%s/%zu", name, size);
	else if (kem != NULL)
		snprintf(bc->name, sizeof(bc->name), "%s/%s", name, kem->name);
	else
		snprintf(bc->name, sizeof(bc->name), "%s", name);
	bc->size = size;
	bc->sizeidx = sizeidx;
	bc->kem = kem;
	bc->run = run;
}

static void
build_cases(void)
{
	const mlkem768_backend *const *kb;
	int i;

	for (i = 0; i < 3; i++)
		add_case("aead.xchacha.dirkey.seal", sizes[i], i, NULL,
		    op_dirkey_seal);
	for (i = 0; i < 3; i++)
		add_case("aead.xchacha.dirkey.open", sizes[i], i, NULL,
		    op_dirkey_open);
	for (i = 0; i < 3; i++)
		add_case("aead.xchacha.oneshot.seal", sizes[i], i, NULL,
		    op_xchacha_seal);
	for (i = 0; i < 3; i++)
		add_case("aead.chacha.seal", sizes[i], i, NULL, op_chacha_seal);
	for (i = 0; i < 3; i++)
		add_case("sha512", sizes[i], i, NULL, op_sha512);
	for (i = 0; i < 3; i++)
		add_case("hmac-sha512", sizes[i], i, NULL, op_hmac);
	add_case("hkdf-sha512.out64", 0, 0, NULL, op_hkdf);
	add_case("ed25519.sign.msg64", 0, 0, NULL, op_ed_sign);
	add_case("ed25519.verify.msg64", 0, 0, NULL, op_ed_verify);
	add_case("ed25519.verify.cached.msg64", 0, 0, NULL,
	    op_ed_verify_cached);
	add_case("ed25519.t2.verify.msg64", 0, 0, NULL, op_threads);
	cases[ncases - 1].each = ed_verify;
	add_case("ed25519.t2.verify.cached.msg64", 0, 0, NULL, op_threads);
	cases[ncases - 1].each = ed_verify_cached;
	add_case("ed25519.pub_new", 0, 0, NULL, op_ed_pub_new);
	add_case("x25519.keypair", 0, 0, NULL, op_x_keypair);
	add_case("x25519.public", 0, 0, NULL, op_x_public);
	add_case("x25519.shared", 0, 0, NULL, op_x_shared);
	add_case("x25519.shared_pair", 0, 0, NULL, op_x_shared_pair);
	for (kb = mlkem768_backends(); *kb != NULL; kb++) {
		add_case("mlkem768.keygen", 0, 0, *kb, op_kem_keygen);
		add_case("mlkem768.encaps", 0, 0, *kb, op_kem_encaps);
		add_case("mlkem768.decaps", 0, 0, *kb, op_kem_decaps);
	}
}

/* --- measuring --- */

struct result {
	uint64_t ops;
	double wall;  /* seconds */
	double cpu;   /* seconds */
};

/*
 * fixed_ops == 0: warm up for about a tenth of the run (20 ms .. 250 ms),
 * doubling the batch until one batch is long enough to time, then measure
 * whole batches until `secs` have elapsed.  fixed_ops > 0: exactly that many
 * operations, no warm-up (instruction counts under callgrind, which on a
 * shared machine are steadier than any clock).
 */
static int
measure(const struct bcase *bc, double secs, uint64_t fixed_ops,
    struct result *res)
{
	uint64_t warm_ns, run_ns, n, batch, ops, t0, t1, w0, c0, w, c;
	double per_op;
	int rc;

	if (fixed_ops > 0) {
		w0 = now_ns(CLOCK_MONOTONIC);
		c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
		if ((rc = bc->run(bc, fixed_ops)) != 0)
			return rc;
		w = now_ns(CLOCK_MONOTONIC);
		c = now_ns(CLOCK_PROCESS_CPUTIME_ID);
		ops = fixed_ops;
		goto done;
	}

	warm_ns = (uint64_t)(secs * 1e8);
	if (warm_ns < 20000000u)
		warm_ns = 20000000u;
	if (warm_ns > 250000000u)
		warm_ns = 250000000u;
	run_ns = (uint64_t)(secs * 1e9);

	n = 1;
	w0 = now_ns(CLOCK_MONOTONIC);
	for (;;) {
		t0 = now_ns(CLOCK_MONOTONIC);
		if ((rc = bc->run(bc, n)) != 0)
			return rc;
		t1 = now_ns(CLOCK_MONOTONIC);
		if (t1 - w0 >= warm_ns && t1 - t0 >= 1000000u)
			break;
		if (t1 - t0 < 1000000u)
			n *= 2;
	}
	per_op = (double)(t1 - t0) / (double)n;
	batch = (uint64_t)((double)run_ns / BATCHES_PER_RUN / per_op);
	if (batch == 0)
		batch = 1;

	ops = 0;
	w0 = now_ns(CLOCK_MONOTONIC);
	c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	do {
		if ((rc = bc->run(bc, batch)) != 0)
			return rc;
		ops += batch;
		w = now_ns(CLOCK_MONOTONIC);
	} while (w - w0 < run_ns);
	c = now_ns(CLOCK_PROCESS_CPUTIME_ID);
done:
	res->ops = ops;
	res->wall = (double)(w - w0) / 1e9;
	res->cpu = (double)(c - c0) / 1e9;
	return 0;
}

static void
print_result(const struct bcase *bc, const struct result *r, int csv)
{
	double ops_s, mb_s, ns_op;
	char per[32], mb[32];

	ops_s = (double)r->ops / r->wall;
	mb_s = ops_s * (double)bc->size / 1e6;
	ns_op = r->wall * 1e9 / (double)r->ops;

	if (csv) {
		printf("%s,%zu,%" PRIu64 ",%.6f,%.6f,%.1f,%.2f,%.1f\n",
		    bc->name, bc->size, r->ops, r->wall, r->cpu, ops_s,
		    mb_s, ns_op);
		fflush(stdout);
		return;
	}
	if (ns_op >= 10000)
		snprintf(per, sizeof(per), "%.2f us/op", ns_op / 1000);
	else
		snprintf(per, sizeof(per), "%.1f ns/op", ns_op);
	if (bc->size != 0)
		snprintf(mb, sizeof(mb), "%.1f MB/s", mb_s);
	else
		snprintf(mb, sizeof(mb), "-");
	printf("%-34s %12.0f op/s %14s %16s  cpu %3.0f%%\n", bc->name, ops_s,
	    mb, per, 100.0 * r->cpu / r->wall);
	fflush(stdout);
}

/* --- command line --- */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: bench_crypto [--time S] [--filter SUBSTR]... [--csv] [--ops N]\n"
	    "                    [--list]\n"
	    "\n"
	    "Times each crypto primitive through gateway/crypto/: AEAD seal/open\n"
	    "(64 B, 1 KiB, 16 KiB, 8 bytes of AAD), SHA-512, HMAC-SHA-512, HKDF,\n"
	    "Ed25519 (verification also through a sign_pub, and on two threads:\n"
	    "the .t2. cases), X25519 and ML-KEM-768 on every built backend.\n"
	    "\n"
	    "  --time S         seconds of wall time per case (default 1.0)\n"
	    "  --filter SUBSTR  run only cases whose name contains SUBSTR; may be\n"
	    "                   repeated (a case runs if any filter matches)\n"
	    "  --csv            one line per case: name,bytes,ops,wall_s,cpu_s,\n"
	    "                   ops_per_s,mb_per_s,ns_per_op (MB = 10^6 bytes)\n"
	    "  --ops N          exactly N operations per case, no warm-up\n"
	    "                   (instruction counts under callgrind)\n"
	    "  --list           print the case names and exit\n"
	    "  --help           this text\n");
}

int
main(int argc, char *argv[])
{
	const char *filters[MAX_FILTERS];
	const mlkem768_backend *prepared = NULL;
	struct result res;
	double secs = 1.0;
	uint64_t fixed_ops = 0;
	size_t nfilters = 0, i, j, nsel = 0;
	int csv = 0, list = 0, failed = 0, rc;
	char *end;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--time") == 0 && i + 1 < (size_t)argc) {
			errno = 0;
			secs = strtod(argv[++i], &end);
			if (errno != 0 || *end != '\0' || !(secs >= 0.01) ||
			    secs > 600) {
				fprintf(stderr, "bench_crypto: --time wants "
				    "seconds in 0.01..600\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--ops") == 0 && i + 1 < (size_t)argc) {
			errno = 0;
			fixed_ops = strtoull(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || fixed_ops == 0) {
				fprintf(stderr, "bench_crypto: --ops wants a "
				    "positive count\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--filter") == 0 &&
		    i + 1 < (size_t)argc) {
			if (nfilters == MAX_FILTERS) {
				fprintf(stderr, "bench_crypto: too many "
				    "--filter\n");
				return 2;
			}
			filters[nfilters++] = argv[++i];
		} else if (strcmp(argv[i], "--csv") == 0) {
			csv = 1;
		} else if (strcmp(argv[i], "--list") == 0) {
			list = 1;
		} else {
			fprintf(stderr, "bench_crypto: bad argument: %s\n",
			    argv[i]);
			usage(stderr);
			return 2;
		}
	}

	build_cases();
	for (i = 0; i < ncases; i++) {
		cases[i].selected = (nfilters == 0);
		for (j = 0; j < nfilters; j++)
			if (strstr(cases[i].name, filters[j]) != NULL)
				cases[i].selected = 1;
		nsel += cases[i].selected;
	}
	if (list) {
		for (i = 0; i < ncases; i++)
			if (cases[i].selected)
				printf("%s\n", cases[i].name);
		return 0;
	}
	if (nsel == 0) {
		fprintf(stderr, "bench_crypto: no case matches the filter\n");
		return 2;
	}

	if ((rc = state_init()) != 0) {
		fprintf(stderr, "bench_crypto: setup: %s\n", stp_strerror(rc));
		state_free();
		return 1;
	}
	if (csv)
		printf("case,bytes,ops,wall_s,cpu_s,ops_per_s,mb_per_s,"
		    "ns_per_op\n");
	else
		printf("# %.2f s per case; MB = 10^6 bytes; cpu = process CPU "
		    "time / wall time\n", secs);
	for (i = 0; i < ncases; i++) {
		if (!cases[i].selected)
			continue;
		if (cases[i].kem != NULL && cases[i].kem != prepared) {
			if ((rc = kem_prepare(cases[i].kem)) != 0) {
				fprintf(stderr, "bench_crypto: %s: setup: "
				    "%s\n", cases[i].kem->name,
				    stp_strerror(rc));
				failed = 1;
				continue;
			}
			prepared = cases[i].kem;
		}
		if ((rc = measure(&cases[i], secs, fixed_ops, &res)) != 0) {
			fprintf(stderr, "bench_crypto: %s: %s\n", cases[i].name,
			    stp_strerror(rc));
			failed = 1;
			continue;
		}
		print_result(&cases[i], &res, csv);
	}
	state_free();
	return failed;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vectors_identity.c: the IdentityUpdate extension (proto/STP.md,
 * "Identity update"): vectors in tests/protocol/stp_v1_1_identity.txt, and
 * what a receiver does with good and bad updates.
 *
 * Usage: test_vectors_identity <path to stp_v1_1_identity.txt> [--write]
 *
 * The vector run: the transcript's parties, RNG seed and clocks
 * (test_vectors_stp.c: identity seeds 32 x 0x01 for I and 32 x 0x02 for R,
 * RNG "stp1 test vector", Unix clock 1700000000 s, record clock
 * 1700000000000 ms), except that both Auth flags are 0 and both Auths set
 * features = 1 (FEATURE_IDENTITY_UPDATE), so AUTH_R, AUTH_I and everything
 * derived after TH2 differ from the transcript's.  R does not ping.  Once
 * established, I sends IdentityUpdate for the identity whose seed is
 * 32 x 0x04 as its record 0.  Values: sid, ts_i_0 (I's traffic secret,
 * generation 0), idu_new_pub, idu_message, idu_signature, idu_pt (the
 * record's plaintext) and idu_frame.
 *
 * Recomputed from the spec alone: the signed message byte by byte, the
 * signature checked under the new key and equal to Ed25519's deterministic
 * signature by seed 0x04, the record plaintext written out by hand
 * (Record{time_ms = 2, identity_update = 23 {identity = 1, signature = 2}}),
 * and the frame opened with XChaCha20-Poly1305 under Derive(ts_i_0, "key")
 * and Derive(ts_i_0, "prefix").
 *
 * Then behaviour, with fresh endpoints: the receiver takes the new key
 * (EP_PEER_IDENTITY; endpoint_peer changes, endpoint_peer_auth does not)
 * and data flows on; updates both ways and twice in a row (the second names
 * the first as the current key); an update to the key already held sends
 * nothing; without the extension agreed (one side's features 0) the sender
 * refuses and a receiver closes the session on an update; an update whose
 * signature is not by the key it names closes the session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rand.h"
#include "crypto/sign.h"
#include "endpoint.h"
#include "endpoint_int.h"
#include "err.h"
#include "keysched.h"
#include "testlib.h"
#include "vectors_common.h"

#define N_VALUES 7

static sign_key *id_new, *id_third;
static uint8_t pk_new[32], pk_third[32];

struct seen {
	int identity[2];         /* EP_PEER_IDENTITY events */
	int records[2];          /* EP_RECORD events */
	int closed[2];           /* EP_CLOSED events */
	int err[2];              /* the first endpoint_input error */
};

/* Count what each side saw (a vec_pump callback). */
static void
count_event(void *cookie, int k, const ep_event *ev)
{
	struct seen *sn = cookie;

	sn->identity[k] += ev->type == EP_PEER_IDENTITY;
	sn->records[k] += ev->type == EP_RECORD;
	sn->closed[k] += ev->type == EP_CLOSED;
}

/* Move output both ways until quiet; errors are recorded, not failures. */
static void
pump(endpoint *e[2], struct wire *log, uint64_t now, struct seen *sn)
{
	vec_pump(e, log, now, sn->err, count_event, sn);
}

/* The vector run. */
static void
run(const char *file)
{
	struct wire log = { NULL, 0, 0 };
	struct frames fr;
	struct seen sn;
	endpoint *e[2] = { NULL, NULL };
	uint8_t ts[64], key[32], prefix[16], msg[KS_IDUP_MSG_LEN], sig[64];
	uint8_t want[256], pt[FMAX], *w;
	size_t hs_len, pt_len, n;
	uint64_t t;

	(void)file;
	t_set_ctx("vector run");
	memset(&sn, 0, sizeof(sn));
	rand_test_seed(RNG_SEED, strlen(RNG_SEED));
	if (vec_pair(e, HS_FEATURE_IDENTITY_UPDATE, HS_FEATURE_IDENTITY_UPDATE,
	    NOW_MS) != 0)
		goto out;
	pump(e, &log, NOW_MS, &sn);
	if (!T_OK(endpoint_established(e[0]) && endpoint_established(e[1])))
		goto out;
	T_INT(endpoint_features(e[0]), HS_FEATURE_IDENTITY_UPDATE);
	T_INT(endpoint_features(e[1]), HS_FEATURE_IDENTITY_UPDATE);
	memcpy(ts, e[0]->tx.ts, 64);
	put("sid", endpoint_sid(e[0]), 16);
	put("ts_i_0", ts, 64);
	put("idu_new_pub", pk_new, 32);
	hs_len = log.len;
	T_INT(endpoint_update_identity(e[0], id_new, NOW_MS), 0);
	pump(e, &log, NOW_MS, &sn);
	T_INT(sn.identity[1], 1);
	T_INT(sn.err[0], 0);
	T_INT(sn.err[1], 0);

	/* The message, byte by byte from the spec. */
	memcpy(want, "stp1 identity update", 20);
	want[20] = 0x00;
	memcpy(want + 21, endpoint_sid(e[0]), 16);
	want[37] = 'i';
	memcpy(want + 38, pk_i, 32);
	memcpy(want + 70, pk_new, 32);
	ks_identity_update_message(msg, endpoint_sid(e[0]), 'i', pk_i, pk_new);
	T_MEM(msg, sizeof(msg), want, 102);
	put("idu_message", want, 102);
	T_INT(sign_sign(id_new, want, 102, sig), 0);
	T_INT(sign_verify(pk_new, want, 102, sig, 64), 0);
	put("idu_signature", sig, 64);

	/* The plaintext, written out: time_ms, then field 23. */
	w = want;
	*w++ = 0x10;                        /* field 2 (time_ms), varint */
	for (t = NOW_MS; t >= 0x80; t >>= 7)
		*w++ = (uint8_t)(t | 0x80);
	*w++ = (uint8_t)t;
	*w++ = 0xba;                        /* field 23, length-delimited */
	*w++ = 0x01;
	*w++ = 2 + 32 + 2 + 64;
	*w++ = 0x0a;                        /* identity */
	*w++ = 32;
	memcpy(w, pk_new, 32);
	w += 32;
	*w++ = 0x12;                        /* signature */
	*w++ = 64;
	memcpy(w, sig, 64);
	w += 64;
	n = (size_t)(w - want);

	/* I's only record frame: open it under ts_i_0's key. */
	memset(&fr, 0, sizeof(fr));
	split(&fr, log.b + hs_len, log.len - hs_len);
	if (!T_INT(fr.n, 1))
		goto out;
	derive(key, 32, ts, 64, "key", NULL, 0);
	derive(prefix, 16, ts, 64, "prefix", NULL, 0);
	pt_len = sizeof(pt);
	T_INT(open_frame(fr.f[0], fr.len[0], key, prefix, 0, pt, &pt_len), 0);
	T_MEM(pt, pt_len, want, n);
	put("idu_pt", pt, pt_len);
	put("idu_frame", fr.f[0], fr.len[0]);
out:
	rand_test_seed(NULL, 0);
	endpoint_free(e[0]);
	endpoint_free(e[1]);
	free(log.b);
}

/* ---- behaviour ---- */

static void
test_both_ways(void)
{
	static const uint8_t data[] = "after the update";
	endpoint *e[2] = { NULL, NULL };
	struct seen sn;
	ep_stats st;
	uint64_t sent;

	t_set_ctx("both ways");
	memset(&sn, 0, sizeof(sn));
	if (vec_pair(e, HS_FEATURE_IDENTITY_UPDATE | 0x80000000u,
	    HS_FEATURE_IDENTITY_UPDATE, NOW_MS) != 0)
		goto out;
	pump(e, NULL, NOW_MS, &sn);
	/* An unknown feature bit is ignored. */
	T_INT(endpoint_features(e[1]), HS_FEATURE_IDENTITY_UPDATE);
	T_INT(endpoint_update_identity(e[0], id_new, NOW_MS), 0);
	T_INT(endpoint_send_data(e[0], 1, data, sizeof(data), NOW_MS), 0);
	pump(e, NULL, NOW_MS, &sn);
	T_INT(sn.identity[1], 1);
	T_INT(sn.records[1], 1);
	T_MEM(endpoint_peer(e[1]), 32, pk_new, 32);
	T_MEM(endpoint_peer_auth(e[1]), 32, pk_i, 32);
	T_MEM(endpoint_self(e[0]), 32, pk_new, 32);
	/* The same key again: nothing is sent. */
	endpoint_get_stats(e[0], &st);
	sent = st.records_sent;
	T_INT(endpoint_update_identity(e[0], id_new, NOW_MS), 0);
	endpoint_get_stats(e[0], &st);
	T_INT((long long)st.records_sent, (long long)sent);
	/* Twice in a row: the second names the first as the current key. */
	T_INT(endpoint_update_identity(e[0], id_third, NOW_MS), 0);
	pump(e, NULL, NOW_MS, &sn);
	T_INT(sn.identity[1], 2);
	T_MEM(endpoint_peer(e[1]), 32, pk_third, 32);
	/* R the other way. */
	T_INT(endpoint_update_identity(e[1], id_new, NOW_MS), 0);
	pump(e, NULL, NOW_MS, &sn);
	T_INT(sn.identity[0], 1);
	T_MEM(endpoint_peer(e[0]), 32, pk_new, 32);
	T_MEM(endpoint_peer_auth(e[0]), 32, pk_r, 32);
	T_INT(sn.err[0], 0);
	T_INT(sn.err[1], 0);
	T_OK(!endpoint_finished(e[0]) && !endpoint_finished(e[1]));
out:
	endpoint_free(e[0]);
	endpoint_free(e[1]);
}

static void
test_refusals(void)
{
	endpoint *e[2] = { NULL, NULL };
	struct seen sn;

	t_set_ctx("not agreed");
	memset(&sn, 0, sizeof(sn));
	if (vec_pair(e, HS_FEATURE_IDENTITY_UPDATE, 0, NOW_MS) != 0)
		goto out;
	pump(e, NULL, NOW_MS, &sn);
	/* R's first record (a Close there would mean a refused handshake). */
	T_INT(endpoint_ping(e[1], NOW_MS), 0);
	pump(e, NULL, NOW_MS, &sn);
	T_INT(endpoint_features(e[0]), 0);
	T_INT(endpoint_features(e[1]), 0);
	T_INT(endpoint_update_identity(e[0], id_new, NOW_MS), STP_EPROTO);
	T_INT(endpoint_test_update_as(e[0], pk_new, id_new, NOW_MS), 0);
	pump(e, NULL, NOW_MS, &sn);
	T_INT(sn.err[1], STP_EPROTO);
	T_OK(strstr(endpoint_reason(e[1]), "not agreed") != NULL);
	T_INT(sn.identity[1], 0);
	T_INT(sn.closed[0], 1);   /* R said why before it closed */
	endpoint_free(e[0]);
	endpoint_free(e[1]);
	e[0] = e[1] = NULL;

	t_set_ctx("signed by another key");
	memset(&sn, 0, sizeof(sn));
	if (vec_pair(e, HS_FEATURE_IDENTITY_UPDATE, HS_FEATURE_IDENTITY_UPDATE,
	    NOW_MS) != 0)
		goto out;
	pump(e, NULL, NOW_MS, &sn);
	T_INT(endpoint_ping(e[1], NOW_MS), 0);
	pump(e, NULL, NOW_MS, &sn);
	/* I names pk_new but signs with its old key: it does not hold pk_new. */
	T_INT(endpoint_test_update_as(e[0], pk_new, id_i, NOW_MS), 0);
	pump(e, NULL, NOW_MS, &sn);
	T_INT(sn.err[1], STP_EPROTO);
	T_OK(strstr(endpoint_reason(e[1]), "does not verify") != NULL);
	T_INT(sn.identity[1], 0);
	T_MEM(endpoint_peer(e[1]), 32, pk_i, 32);
	T_INT(sn.closed[0], 1);
out:
	endpoint_free(e[0]);
	endpoint_free(e[1]);
}

static void
run_all(const char *file)
{
	uint8_t seed[32];

	memset(seed, 0x04, 32);
	if (sign_key_from_seed(&id_new, seed) != 0)
		abort();
	memset(seed, 0x05, 32);
	if (sign_key_from_seed(&id_third, seed) != 0)
		abort();
	sign_key_public(id_new, pk_new);
	sign_key_public(id_third, pk_third);
	run(file);
	t_section("vector run");
	test_both_ways();
	t_section("both ways");
	test_refusals();
	t_section("refusals");
	sign_key_free(id_new);
	sign_key_free(id_third);
}

int
main(int argc, char **argv)
{
	return vec_main(argc, argv, run_all, N_VALUES,
	    "# STP v1.1 IdentityUpdate vectors: proto/STP.md, \"Identity update\"\n"
	    "# and \"Test vectors\".  Written by\n"
	    "# tests/protocol/test_vectors_identity.c --write; its top comment\n"
	    "# says how the run is set up.  One value per line: name = hex.\n");
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_pow.c: the pow plugin (plugins/pow.c) through its plugin table, as
 * the core drives it: settings from a real config file (and every refusal
 * as file:line:col: plugins.pow.KEY: reason), a challenge, its answer and
 * the verdict on it; a wrong, stale, replayed, re-addressed or tampered
 * answer refused and counted; the replay cache full; the automatic
 * difficulty under a burst and after it, on a fake clock; the initiator's
 * answer_max_difficulty; and whole handshakes through the challenge.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "crypto/crypto.h"
#include "err.h"
#include "frame.h"
#include "handshake.h"
#include "identity.h"
#include "plugin.h"
#include "hspair.h"
#include "tcfg.h"
#include "testlib.h"

/* The challenge's layout (proto/STP.md, "Admission by proof of work"). */
#define CHAL_LEN 47
#define ANS_LEN 55
#define O_DIFF 2
#define O_EXP 3
#define O_NONCE 11
#define O_HINT 27

static const stp_plugin *pow_p;
static uint64_t clock_ms = 1000000;

static uint64_t
fake_now(void *arg)
{
	(void)arg;
	return clock_ms;
}

/* body must be refused with "<config path>:" want. */
static void
refused_at(int line, const char *body, const char *want)
{
	char err[512] = "", full[640];
	config *c = NULL;
	int rc;

	tcfg_write(body);
	rc = config_load(tcfg_path(), &c, err, sizeof(err));
	t_check(rc == STP_EPARSE && c == NULL, __FILE__, line, t_ctx,
	    "rc %d, want STP_EPARSE", rc);
	snprintf(full, sizeof(full), "%s:%s", tcfg_path(), want);
	t_check(strcmp(err, full) == 0, __FILE__, line, t_ctx,
	    "error\n    got  \"%s\"\n    want \"%s\"", err, full);
	if (c != NULL)
		config_free(c);
}
#define refused(body, want) refused_at(__LINE__, (body), (want))

/* A pow instance opened with the settings of `plugins: pow: BODY`. */
struct inst {
	config *c;
	void *p;
	int enabled;
};

static int
open_with(struct inst *in, const char *body)
{
	char err[512] = "", text[1024];
	long i = plugin_find("pow");

	memset(in, 0, sizeof(*in));
	snprintf(text, sizeof(text), "plugins:\n  pow:%s\n", body);
	tcfg_write(text);
	if (!T_INT(config_load(tcfg_path(), &in->c, err, sizeof(err)), 0)) {
		fprintf(stderr, "  %s\n", err);
		return -1;
	}
	in->enabled = in->c->plugins.enabled[i];
	if (!T_INT(pow_p->open(in->c->plugins.cfg[i], in->enabled, &in->p), 0))
		return -1;
	return 0;
}

static void
close_inst(struct inst *in)
{
	pow_p->close(in->p);
	config_free(in->c);
}

/* ---- counters ---- */

static uint64_t found_n;
static const char *want_event;

static void
find_event(void *arg, const char *plugin, const char *event, uint64_t n)
{
	(void)arg;
	if (strcmp(plugin, "pow") == 0 && strcmp(event, want_event) == 0)
		found_n = n;
}

static uint64_t
count(const char *event)
{
	found_n = 0;
	want_event = event;
	plugin_events_foreach(find_event, NULL);
	return found_n;
}

static const char *const events[] = { "challenged", "admitted",
	"bad_solution", "stale", "replayed", "wrong_source", "cache_full",
	"solved", "too_hard" };
#define N_EVENTS (sizeof(events) / sizeof(events[0]))

static void
snap(uint64_t out[N_EVENTS])
{
	size_t i;

	for (i = 0; i < N_EVENTS; i++)
		out[i] = count(events[i]);
}

/* The counters moved by exactly: one event by one (or none when NULL). */
static void
moved_at(int line, const uint64_t before[N_EVENTS], const char *event,
    const char *also)
{
	uint64_t now[N_EVENTS];
	size_t i;

	snap(now);
	for (i = 0; i < N_EVENTS; i++) {
		uint64_t want = before[i] + ((event != NULL &&
		    strcmp(events[i], event) == 0) || (also != NULL &&
		    strcmp(events[i], also) == 0));

		t_check(now[i] == want, __FILE__, line, t_ctx,
		    "counter %s: %llu, want %llu", events[i],
		    (unsigned long long)now[i], (unsigned long long)want);
	}
}
#define moved(before, ev) moved_at(__LINE__, (before), (ev), NULL)
#define moved2(before, ev, also) moved_at(__LINE__, (before), (ev), (also))

/* ---- driving it ---- */

static struct sockaddr_in src4, src4b, src4port;
static struct sockaddr_in6 src6;

static int
admit(void *p, const void *src, const uint8_t *adm, size_t len,
    uint8_t *chal, size_t *chal_len)
{
	size_t cap = STP_ADMISSION_MAX;
	uint8_t buf[STP_ADMISSION_MAX];

	if (chal == NULL) {
		chal = buf;
		chal_len = &cap;
	}
	return pow_p->admission->admit(p, src, adm, len, chal, chal_len);
}

/* A fresh challenge for src; 0 or -1. */
static int
get_challenge(void *p, const void *src, uint8_t chal[CHAL_LEN])
{
	uint8_t buf[STP_ADMISSION_MAX];
	size_t n = sizeof(buf);

	if (!T_INT(admit(p, src, NULL, 0, buf, &n), STP_ADMIT_CHALLENGE) ||
	    !T_INT((long long)n, CHAL_LEN))
		return -1;
	memcpy(chal, buf, CHAL_LEN);
	return 0;
}

static int
solve(void *p, const uint8_t *chal, size_t len, uint8_t ans[ANS_LEN])
{
	uint8_t buf[STP_ADMISSION_MAX];
	size_t n = sizeof(buf);
	int rc;

	rc = pow_p->admission->answer(p, chal, len, buf, &n);
	if (rc == 0 && T_INT((long long)n, ANS_LEN))
		memcpy(ans, buf, ANS_LEN);
	return rc;
}

/* Leading zero bits of SHA-256("stpgate pow v1" || answer), computed here. */
static unsigned
zero_bits(const uint8_t ans[ANS_LEN])
{
	struct iovec iov[2] = { { (void *)"stpgate pow v1", 14 },
	    { (void *)ans, ANS_LEN } };
	uint8_t h[32];
	unsigned n = 0, i, b;

	if (stp_sha256(h, iov, 2) != 0)
		return 0;
	for (i = 0; i < 32; i++) {
		for (b = 0x80; b != 0; b >>= 1) {
			if (h[i] & b)
				return n;
			n++;
		}
	}
	return n;
}

static uint64_t
be64(const uint8_t *b)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

/* ---- the cases ---- */

static void
test_roundtrip(void)
{
	uint8_t chal[CHAL_LEN], chal2[CHAL_LEN], ans[ANS_LEN], ans2[ANS_LEN];
	uint64_t c0[N_EVENTS], off;
	struct inst in;

	t_set_ctx("roundtrip");
	if (open_with(&in, "\n    difficulty: 12\n    challenge_ttl: 5s\n") != 0)
		return;
	T_INT(in.enabled, 1);
	snap(c0);
	if (get_challenge(in.p, &src4, chal) != 0)
		goto out;
	moved(c0, "challenged");
	T_INT(chal[0], STP_TAG_POW);
	T_INT(chal[1], 1);
	T_INT(chal[O_DIFF], 12);
	/*
	 * The expiry is the clock plus the ttl plus an offset the instance
	 * drew at start, so that it does not tell our uptime; the same offset
	 * for every challenge of the instance.
	 */
	off = be64(chal + O_EXP) - (uint64_t)clock_ms - 5000;
	T_OK(off != 0);
	clock_ms += 777;
	if (get_challenge(in.p, &src4, chal2) != 0)
		goto out;
	T_INT((long long)(be64(chal2 + O_EXP) - (uint64_t)clock_ms), (long long)(off + 5000));
	clock_ms -= 777;

	snap(c0);
	T_INT(solve(in.p, chal, CHAL_LEN, ans), 0);
	moved(c0, "solved");
	T_MEM(ans, CHAL_LEN, chal, CHAL_LEN);
	T_OK(zero_bits(ans) >= 12);
	/* Without an instance (pow not configured here): the same answer. */
	T_INT(solve(NULL, chal, CHAL_LEN, ans2), 0);
	T_MEM(ans2, ANS_LEN, ans, ANS_LEN);

	snap(c0);
	T_INT(admit(in.p, &src4, ans, ANS_LEN, NULL, NULL), STP_ADMIT);
	moved(c0, "admitted");

	/* The port is not bound: the same address on another port is fine. */
	if (get_challenge(in.p, &src4, chal2) == 0 &&
	    T_INT(solve(in.p, chal2, CHAL_LEN, ans2), 0))
		T_INT(admit(in.p, &src4port, ans2, ANS_LEN, NULL, NULL),
		    STP_ADMIT);
	/* IPv6 sources too. */
	if (get_challenge(in.p, &src6, chal2) == 0 &&
	    T_INT(solve(in.p, chal2, CHAL_LEN, ans2), 0))
		T_INT(admit(in.p, &src6, ans2, ANS_LEN, NULL, NULL), STP_ADMIT);
out:
	close_inst(&in);
	t_section("roundtrip");
}

static void
test_nonces(void)
{
	static uint8_t seen[200][16];
	uint8_t chal[CHAL_LEN];
	struct inst in;
	int i, j, dup = 0;

	/* 200 challenges (several refills of the random pool): no nonce twice. */
	t_set_ctx("nonces");
	if (open_with(&in, " {difficulty: 4}") != 0)
		return;
	for (i = 0; i < 200; i++) {
		if (get_challenge(in.p, &src4, chal) != 0)
			break;
		memcpy(seen[i], chal + O_NONCE, 16);
		for (j = 0; j < i; j++)
			dup += memcmp(seen[j], seen[i], 16) == 0;
	}
	T_INT(dup, 0);
	close_inst(&in);
	t_section("nonces");
}

static void
test_refusals(void)
{
	uint8_t chal[CHAL_LEN], ans[ANS_LEN], bad[ANS_LEN], ans2[ANS_LEN];
	uint8_t out[STP_ADMISSION_MAX];
	uint64_t c0[N_EVENTS], expiry, off;
	size_t n, len;
	struct inst in;
	int i;

	if (open_with(&in, "\n    difficulty: 10\n    challenge_ttl: 2s\n") != 0)
		return;

	/* A wrong solution; the right one still works afterwards. */
	t_set_ctx("wrong solution");
	if (get_challenge(in.p, &src4, chal) != 0 ||
	    !T_INT(solve(in.p, chal, CHAL_LEN, ans), 0))
		goto out;
	memcpy(bad, ans, ANS_LEN);
	do
		bad[ANS_LEN - 1]++;
	while (zero_bits(bad) >= 10);
	snap(c0);
	T_INT(admit(in.p, &src4, bad, ANS_LEN, NULL, NULL), STP_ADMIT_REJECT);
	moved(c0, "bad_solution");

	/* Not an answer at all: every length but the right one, and garbage. */
	t_set_ctx("malformed");
	for (len = 1; len <= STP_ADMISSION_MAX; len++) {
		uint8_t junk[STP_ADMISSION_MAX];

		if (len == ANS_LEN)
			continue;
		memset(junk, 0, sizeof(junk));
		memcpy(junk, ans, len < ANS_LEN ? len : ANS_LEN);
		snap(c0);
		T_INT(admit(in.p, &src4, junk, len, NULL, NULL),
		    STP_ADMIT_REJECT);
		moved(c0, "bad_solution");
	}

	/* Tampered: flip every bit of each challenge byte in turn, keeping
	 * the solution, and again with the tampered challenge solved. */
	t_set_ctx("tampered");
	for (i = 0; i < CHAL_LEN; i++) {
		memcpy(bad, ans, ANS_LEN);
		bad[i] ^= 0xff;
		snap(c0);
		T_INT(admit(in.p, &src4, bad, ANS_LEN, NULL, NULL),
		    STP_ADMIT_REJECT);
		moved(c0, zero_bits(bad) >= 10 && bad[O_DIFF] <= 32 &&
		    i >= O_HINT && i < O_HINT + 4 ? "wrong_source" :
		    "bad_solution");
		/* Solved for real: only the MAC stands in the way. */
		memcpy(bad, ans, CHAL_LEN);
		bad[i] ^= i == O_DIFF ? 0x01 : 0xff;
		if (solve(NULL, bad, CHAL_LEN, ans2) != 0) {
			/* Not ours to solve (tag, version): refused to answer. */
			T_OK(i < O_DIFF);
			continue;
		}
		snap(c0);
		T_INT(admit(in.p, &src4, ans2, ANS_LEN, NULL, NULL),
		    STP_ADMIT_REJECT);
		/* A changed hint looks like another address; nothing else does. */
		moved(c0, i >= O_HINT && i < O_HINT + 4 ? "wrong_source" :
		    "bad_solution");
	}

	/* Easier than any challenge of ours (and solved): refused at once. */
	t_set_ctx("too easy");
	memcpy(bad, ans, CHAL_LEN);
	bad[O_DIFF] = 9;
	if (T_INT(solve(NULL, bad, CHAL_LEN, ans2), 0)) {
		snap(c0);
		T_INT(admit(in.p, &src4, ans2, ANS_LEN, NULL, NULL),
		    STP_ADMIT_REJECT);
		moved(c0, "bad_solution");
	}

	/* From another address: refused, nothing remembered. */
	t_set_ctx("other source");
	snap(c0);
	T_INT(admit(in.p, &src4b, ans, ANS_LEN, NULL, NULL), STP_ADMIT_REJECT);
	moved(c0, "wrong_source");
	snap(c0);
	T_INT(admit(in.p, &src6, ans, ANS_LEN, NULL, NULL), STP_ADMIT_REJECT);
	moved(c0, "wrong_source");

	/* After all that, the genuine answer is admitted once, then replayed. */
	t_set_ctx("replayed");
	snap(c0);
	T_INT(admit(in.p, &src4, ans, ANS_LEN, NULL, NULL), STP_ADMIT);
	moved(c0, "admitted");
	snap(c0);
	T_INT(admit(in.p, &src4, ans, ANS_LEN, NULL, NULL), STP_ADMIT_REJECT);
	T_INT(admit(in.p, &src4port, ans, ANS_LEN, NULL, NULL),
	    STP_ADMIT_REJECT);
	T_INT(count("replayed"), (long long)c0[4] + 2);

	/* Stale: on the last millisecond it counts, one later it is too old
	 * and a fresh challenge comes back instead. */
	t_set_ctx("stale");
	if (get_challenge(in.p, &src4, chal) != 0 ||
	    !T_INT(solve(in.p, chal, CHAL_LEN, ans), 0))
		goto out;
	expiry = be64(chal + O_EXP);
	off = expiry - (uint64_t)clock_ms - 2000;  /* the instance's clock offset */
	clock_ms = expiry - off;
	T_INT(admit(in.p, &src4, ans, ANS_LEN, NULL, NULL), STP_ADMIT);
	if (get_challenge(in.p, &src4, chal) != 0 ||
	    !T_INT(solve(in.p, chal, CHAL_LEN, ans), 0))
		goto out;
	clock_ms = be64(chal + O_EXP) - off + 1;
	snap(c0);
	n = sizeof(out);
	T_INT(admit(in.p, &src4, ans, ANS_LEN, out, &n), STP_ADMIT_CHALLENGE);
	moved2(c0, "stale", "challenged");
	T_INT((long long)n, CHAL_LEN);
	T_INT((long long)(be64(out + O_EXP) - off), (long long)(clock_ms + 2000));
	/* And a replay of an expired one is stale, not admitted. */
	clock_ms += 60000;
	snap(c0);
	T_INT(admit(in.p, &src4, ans, ANS_LEN, NULL, NULL), STP_ADMIT_CHALLENGE);
	moved2(c0, "stale", "challenged");
out:
	close_inst(&in);
	t_section("refusals");
}

static void
test_cache(void)
{
	uint8_t chal[10][CHAL_LEN], ans[10][ANS_LEN];
	uint64_t c0[N_EVENTS];
	struct inst in;
	int i;

	/* replay_cache: 8 is one bucket of eight slots. */
	t_set_ctx("replay cache");
	if (open_with(&in, " {difficulty: 6, replay_cache: 8, challenge_ttl: 3s}") != 0)
		return;
	for (i = 0; i < 10; i++)
		if (get_challenge(in.p, &src4, chal[i]) != 0 ||
		    !T_INT(solve(in.p, chal[i], CHAL_LEN, ans[i]), 0))
			goto out;
	for (i = 0; i < 8; i++)
		T_INT(admit(in.p, &src4, ans[i], ANS_LEN, NULL, NULL), STP_ADMIT);
	snap(c0);
	T_INT(admit(in.p, &src4, ans[8], ANS_LEN, NULL, NULL), STP_ADMIT_REJECT);
	moved(c0, "cache_full");
	/* Full, yet a replay is still recognised as one. */
	snap(c0);
	T_INT(admit(in.p, &src4, ans[0], ANS_LEN, NULL, NULL), STP_ADMIT_REJECT);
	moved(c0, "replayed");
	/* Once those expire their slots are free again. */
	clock_ms += 3001;
	for (i = 0; i < 10; i++)
		if (get_challenge(in.p, &src4, chal[i]) != 0 ||
		    !T_INT(solve(in.p, chal[i], CHAL_LEN, ans[i]), 0))
			goto out;
	for (i = 0; i < 8; i++)
		T_INT(admit(in.p, &src4, ans[i], ANS_LEN, NULL, NULL), STP_ADMIT);
	T_INT(admit(in.p, &src4, ans[8], ANS_LEN, NULL, NULL), STP_ADMIT_REJECT);
out:
	close_inst(&in);
	t_section("replay cache");
}

/* n HELLOs without a solution at the current time; the last challenge's difficulty. */
static int
burst(void *p, int n)
{
	uint8_t chal[CHAL_LEN];
	int i, d = -1;

	for (i = 0; i < n; i++) {
		if (get_challenge(p, &src4, chal) != 0)
			return -1;
		d = chal[O_DIFF];
	}
	return d;
}

static void
test_auto_difficulty(void)
{
	uint8_t chal[CHAL_LEN], ans[ANS_LEN];
	uint64_t t;
	struct inst in;
	int s;

	t_set_ctx("auto difficulty");
	if (open_with(&in, " {difficulty: 8, max_difficulty: 11, rate: 10}") != 0)
		return;
	t = clock_ms;
	/* Within the rate: nothing moves. */
	for (s = 0; s < 3; s++) {
		clock_ms = t + 1000 * (uint64_t)s;
		T_INT(burst(in.p, 10), 8);
	}
	/* A burst: one bit more per second of it, up to the ceiling. */
	t = clock_ms + 1000;
	clock_ms = t;
	T_INT(burst(in.p, 50), 8);     /* the rise shows after the second */
	clock_ms = t + 1000;
	T_INT(burst(in.p, 50), 9);
	/* A challenge issued now carries its difficulty; answered later, fine. */
	if (get_challenge(in.p, &src4, chal) != 0 ||
	    !T_INT(solve(in.p, chal, CHAL_LEN, ans), 0))
		goto out;
	T_INT(chal[O_DIFF], 9);
	T_OK(zero_bits(ans) >= 9);
	clock_ms = t + 2000;
	T_INT(burst(in.p, 50), 10);
	clock_ms = t + 3000;
	T_INT(burst(in.p, 50), 11);
	clock_ms = t + 4000;
	T_INT(burst(in.p, 50), 11);    /* max_difficulty */
	clock_ms = t + 5000;
	T_INT(burst(in.p, 1), 11);
	/* Calm: one bit less per calm second. */
	clock_ms = t + 6000;
	T_INT(burst(in.p, 1), 10);
	T_INT(admit(in.p, &src4, ans, ANS_LEN, NULL, NULL), STP_ADMIT);
	clock_ms = t + 7000;
	T_INT(burst(in.p, 1), 9);
	clock_ms = t + 8000;
	T_INT(burst(in.p, 1), 8);
	clock_ms = t + 9000;
	T_INT(burst(in.p, 1), 8);      /* never below difficulty */
	/* Up again, then a long silence takes it all the way back at once. */
	clock_ms = t + 10000;
	T_INT(burst(in.p, 50), 8);
	clock_ms = t + 11000;
	T_INT(burst(in.p, 50), 9);
	clock_ms = t + 12000;
	T_INT(burst(in.p, 50), 10);
	clock_ms = t + 60000;
	T_INT(burst(in.p, 1), 8);
	close_inst(&in);

	/* rate 0 (the default): a burst changes nothing. */
	if (open_with(&in, " {difficulty: 8}") != 0)
		return;
	t = clock_ms;
	for (s = 0; s < 4; s++) {
		clock_ms = t + 1000 * (uint64_t)s;
		T_INT(burst(in.p, 200), 8);
	}
out:
	close_inst(&in);
	t_section("auto difficulty");
}

static void
test_initiator(void)
{
	uint8_t chal[CHAL_LEN], ans[ANS_LEN];
	uint64_t c0[N_EVENTS];
	struct inst r, i;

	t_set_ctx("initiator");
	/* answer_max_difficulty below the responder's difficulty: no answer. */
	if (open_with(&r, " {difficulty: 12}") != 0)
		return;
	if (open_with(&i, " {enabled: false, answer_max_difficulty: 11}") != 0) {
		close_inst(&r);
		return;
	}
	T_INT(i.enabled, 0);
	/* A disabled pow admits everything and keeps no responder state. */
	T_INT(admit(i.p, &src4, NULL, 0, NULL, NULL), STP_ADMIT);
	if (get_challenge(r.p, &src4, chal) == 0) {
		snap(c0);
		T_OK(solve(i.p, chal, CHAL_LEN, ans) < 0);
		moved(c0, "too_hard");
		T_INT(solve(r.p, chal, CHAL_LEN, ans), 0);  /* default 26 */
		T_OK(solve(i.p, chal, CHAL_LEN - 1, ans) < 0);
	}
	close_inst(&i);
	close_inst(&r);
	/* Without an instance the default ceiling, 26 bits, applies. */
	if (open_with(&r, " {difficulty: 27}") != 0)
		return;
	if (get_challenge(r.p, &src4, chal) == 0)
		T_OK(solve(NULL, chal, CHAL_LEN, ans) < 0);
	close_inst(&r);
	t_section("initiator");
}

static void
test_config(void)
{
	char err[512];
	long i = plugin_find("pow");
	config *c = NULL;
	uint8_t chal[CHAL_LEN];
	struct inst in;

	t_set_ctx("config");
	/* Absent: not enabled, no settings (answers with defaults). */
	tcfg_write("plugins: {}\n");
	if (T_INT(config_load(tcfg_path(), &c, err, sizeof(err)), 0)) {
		T_INT(c->plugins.enabled[i], 0);
		T_OK(c->plugins.cfg[i] == NULL);
		config_free(c);
	}
	/* Present with no value: on, with the defaults (18 bits). */
	if (open_with(&in, "") == 0) {
		T_INT(in.enabled, 1);
		if (get_challenge(in.p, &src4, chal) == 0) {
			uint8_t ans[ANS_LEN], out[STP_ADMISSION_MAX];
			size_t n = sizeof(out);
			uint64_t t0 = clock_ms;

			T_INT(chal[O_DIFF], 18);
			/* The default ttl, 10 s: good on its last millisecond... */
			T_INT(solve(in.p, chal, CHAL_LEN, ans), 0);
			clock_ms = t0 + 10000;
			T_INT(admit(in.p, &src4, ans, ANS_LEN, NULL, NULL), STP_ADMIT);
			/* ...and stale one later. */
			clock_ms = t0;
			if (get_challenge(in.p, &src4, chal) == 0) {
				T_INT(solve(in.p, chal, CHAL_LEN, ans), 0);
				clock_ms = t0 + 10001;
				T_INT(admit(in.p, &src4, ans, ANS_LEN, out, &n),
				    STP_ADMIT_CHALLENGE);
			}
			clock_ms = t0;
		}
		close_inst(&in);
	}
	refused("plugins:\n  pow:\n    dificulty: 3\n",
	    "4:5: plugins.pow.dificulty: unknown key (expected one of: enabled, "
	    "difficulty, max_difficulty, challenge_ttl, rate, replay_cache, "
	    "answer_max_difficulty)");
	refused("plugins:\n  pow:\n    difficulty: 33\n",
	    "4:17: plugins.pow.difficulty: 33 is out of range 0..32");
	refused("plugins:\n  pow:\n    difficulty: x\n",
	    "4:17: plugins.pow.difficulty: expected an integer 0..32, got \"x\"");
	refused("plugins:\n  pow:\n    difficulty: 20\n    max_difficulty: 19\n",
	    "5:21: plugins.pow.max_difficulty: max_difficulty (19) is below difficulty (20)");
	refused("plugins:\n  pow:\n    challenge_ttl: 500ms\n",
	    "4:20: plugins.pow.challenge_ttl: 500ms is out of range 1s..10m");
	refused("plugins:\n  pow:\n    rate: -1\n",
	    "4:11: plugins.pow.rate: -1 is out of range 0..1000000");
	refused("plugins:\n  pow:\n    replay_cache: 4\n",
	    "4:19: plugins.pow.replay_cache: 4 is out of range 8..1048576");
	refused("plugins:\n  pow:\n    answer_max_difficulty: 40\n",
	    "4:28: plugins.pow.answer_max_difficulty: 40 is out of range 0..32");
	refused("plugins:\n  pow:\n    enabled: maybe\n",
	    "4:14: plugins.pow.enabled: expected true or false, got \"maybe\"");
	refused("plugins:\n  pow: [1]\n",
	    "3:8: plugins.pow: expected a mapping of settings, got a sequence");
	t_section("config");
}

/* ---- whole handshakes through plugins_admit / plugins_answer ---- */

static plugins *resp_set;

static int
h_admit(void *cookie, const uint8_t *adm, size_t adm_len, uint8_t *chal,
    size_t *chal_len)
{
	(void)cookie;
	return plugins_admit(resp_set, (struct sockaddr *)&src4, adm, adm_len,
	    chal, chal_len);
}

static int
h_answer(void *cookie, const uint8_t *chal, size_t chal_len, uint8_t *ans,
    size_t *ans_len)
{
	return plugins_answer(cookie, chal, chal_len, ans, ans_len);
}

static void
test_handshake(void)
{
	char err[512], why[512];
	config *cr = NULL, *ci = NULL;
	plugins *iset = NULL;
	uint64_t c0[N_EVENTS];

	t_set_ctx("handshake");
	tcfg_write("plugins:\n  pow: {difficulty: 12}\n");
	if (!T_INT(config_load(tcfg_path(), &cr, err, sizeof(err)), 0))
		return;
	T_INT(plugins_open(cr, &resp_set, err, sizeof(err)), 0);
	T_OK(plugins_admission_on(resp_set));
	/* An initiator without pow in its config answers with the defaults. */
	tcfg_write("plugins: {}\n");
	T_INT(config_load(tcfg_path(), &ci, err, sizeof(err)), 0);
	T_INT(plugins_open(ci, &iset, err, sizeof(err)), 0);
	snap(c0);
	T_INT(hspair_run(h_answer, iset, h_admit, NULL, NULL, why, sizeof(why)), 0);
	T_INT(count("challenged"), (long long)c0[0] + 1);
	T_INT(count("admitted"), (long long)c0[1] + 1);
	T_INT(count("solved"), (long long)c0[7] + 1);
	/* With no plugin set at all (NULL) too. */
	T_INT(hspair_run(h_answer, NULL, h_admit, NULL, NULL, why, sizeof(why)), 0);
	plugins_unref(iset);
	config_free(ci);

	/* One that will not solve 12 bits fails with a clear reason. */
	tcfg_write("plugins:\n  pow: {enabled: false, answer_max_difficulty: 8}\n");
	ci = NULL;
	iset = NULL;
	T_INT(config_load(tcfg_path(), &ci, err, sizeof(err)), 0);
	T_INT(plugins_open(ci, &iset, err, sizeof(err)), 0);
	T_OK(!plugins_admission_on(iset));
	T_OK(hspair_run(h_answer, iset, h_admit, NULL, NULL, why, sizeof(why)) < 0);
	T_OK(strstr(why, "admission challenge") != NULL);
	plugins_unref(iset);
	config_free(ci);
	plugins_unref(resp_set);
	resp_set = NULL;
	config_free(cr);
	t_section("handshake");
}

int
main(void)
{
	long i;

	if (crypto_init() != 0)
		return 2;
	if ((i = plugin_find("pow")) < 0 || (pow_p = plugin_at((size_t)i)) == NULL ||
	    pow_p->admission == NULL) {
		fprintf(stderr, "no pow plugin built in\n");
		return 1;
	}
	plugin_runtime(NULL, fake_now, NULL);
	if (tcfg_init("pow") != 0)
		return 2;

	src4.sin_family = AF_INET;
	src4.sin_addr.s_addr = htonl(0xc0000201);      /* 192.0.2.1 */
	src4.sin_port = htons(40000);
	src4port = src4;
	src4port.sin_port = htons(40001);
	src4b = src4;
	src4b.sin_addr.s_addr = htonl(0xc0000202);
	src6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &src6.sin6_addr);

	test_config();
	test_roundtrip();
	test_nonces();
	test_refusals();
	test_cache();
	test_auto_difficulty();
	test_initiator();
	test_handshake();

	tcfg_cleanup();
	return t_done();
}

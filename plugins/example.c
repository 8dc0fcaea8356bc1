/* SPDX-License-Identifier: Apache-2.0 */
/*
 * example.c: the smallest complete plugin, for plugins/README.md and the
 * interface's own test (tests/plugins/test_plugin_api.c).  It is not built
 * into stpgate.
 *
 * "knock": a responder with `plugins: example: {phrase: ...}` challenges
 * every HELLO that does not carry the knock, and admits one that does.  The
 * challenge is the tag and 16 random bytes; the knock is the challenge
 * followed by HMAC-SHA-256(phrase, challenge).  Both sides need the phrase.
 * A toy: it shows each hook once, and keeps no state per stranger, but it
 * does not stop a replayed knock (plugins/pow.c shows how to).
 */
#include <string.h>

#include "plugin_api.h"

#define NAME "example"
#define RAND_LEN 16
#define CHAL_LEN (1 + RAND_LEN)
#define KNOCK_LEN (CHAL_LEN + 32)
#define PHRASE_MAX 128

struct settings {
	char phrase[PHRASE_MAX];
};

static int
configure(stp_cfg *cx, const stp_node *node, void **cfg, int *enabled)
{
	static const char *const keys[] = { "phrase", NULL };
	static struct settings s; /* one config at a time in the test */

	memset(&s, 0, sizeof(s));
	*cfg = NULL;
	*enabled = 0;
	if (node == NULL)
		return 0;
	if (stp_cfg_keys(cx, node, keys) != 0 ||
	    stp_cfg_string(cx, node, "phrase", s.phrase, sizeof(s.phrase)) != 0)
		return STP_PLUGIN_EBADCFG;
	if (strlen(s.phrase) < 8)
		return stp_cfg_error(cx, stp_cfg_get(node, "phrase"),
		    "a phrase of at least 8 characters is needed");
	*cfg = &s;
	*enabled = 1;
	return 0;
}

static int
open_(const void *cfg, int enabled, void **inst)
{
	/* The instance is the settings: nothing changes at run time. */
	*inst = enabled ? (void *)cfg : NULL;
	return 0;
}

static int
knock(const struct settings *s, const uint8_t chal[CHAL_LEN], uint8_t mac[32])
{
	struct iovec iov = { (void *)chal, CHAL_LEN };

	return stp_hmac_sha256(mac, (const uint8_t *)s->phrase,
	    strlen(s->phrase), &iov, 1);
}

static int
admit(void *inst, const struct sockaddr *src, const uint8_t *adm,
    size_t adm_len, uint8_t *chal, size_t *chal_len)
{
	uint8_t mac[32];

	(void)src;
	if (adm_len == KNOCK_LEN && adm[0] == STP_TAG_EXAMPLE &&
	    knock(inst, adm, mac) == 0 && stp_memeq(mac, adm + CHAL_LEN, 32)) {
		stp_count(NAME, "admitted", 1);
		return STP_ADMIT;
	}
	if (adm_len != 0) {
		stp_count(NAME, "bad_knock", 1);
		stp_log(STP_LOG_INFO, NAME, "example bad knock", "a HELLO knocked wrong");
		return STP_ADMIT_REJECT;
	}
	if (*chal_len < CHAL_LEN)
		return STP_ADMIT_REJECT;
	chal[0] = STP_TAG_EXAMPLE;
	stp_random(chal + 1, RAND_LEN);
	*chal_len = CHAL_LEN;
	stp_count(NAME, "challenged", 1);
	return STP_ADMIT_CHALLENGE;
}

static int
answer(void *inst, const uint8_t *chal, size_t chal_len, uint8_t *ans,
    size_t *ans_len)
{
	if (inst == NULL || chal_len != CHAL_LEN || *ans_len < KNOCK_LEN)
		return -1;  /* no phrase here, or not our challenge */
	memcpy(ans, chal, CHAL_LEN);
	if (knock(inst, chal, ans + CHAL_LEN) != 0)
		return -1;
	*ans_len = KNOCK_LEN;
	return 0;
}

static const stp_admission_ops admission = {
	.tag = STP_TAG_EXAMPLE,
	.admit = admit,
	.answer = answer,
};

const stp_plugin stp_plugin_example = {
	.api_version = STP_PLUGIN_API_VERSION,
	.name = NAME,
	.summary = "knock with a shared phrase before the handshake (example)",
	.configure = configure,
	.open = open_,
	.admission = &admission,
};

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_plugin_api.c: the plugin interface end to end with the example plugin
 * (plugins/example.c): registration rules, its YAML subtree checked with
 * file:line:col messages, the running set's admission routing, and a real
 * handshake that goes through a challenge and its answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netinet/in.h>

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

extern const stp_plugin stp_plugin_example;

/* body must be refused with an error that ends in want after "<config path>:". */
static void
refused(const char *body, const char *want)
{
	char err[512] = "", full[640];
	config *c = NULL;

	tcfg_write(body);
	T_INT(config_load(tcfg_path(), &c, err, sizeof(err)), STP_EPARSE);
	T_OK(c == NULL);
	snprintf(full, sizeof(full), "%s:%s", tcfg_path(), want);
	if (!T_OK(strcmp(err, full) == 0))
		fprintf(stderr, "  got  %s\n  want %s\n", err, full);
}

static void
test_register(void)
{
	stp_plugin bad = stp_plugin_example;

	T_INT(plugin_register(&stp_plugin_example), 0);
	T_INT(plugin_register(&stp_plugin_example), STP_EINVAL);  /* name taken */
	bad.name = "other";
	bad.api_version = (STP_PLUGIN_API_MAJOR + 1) << 16;
	T_INT(plugin_register(&bad), STP_EINVAL);                  /* wrong major */
	bad.api_version = STP_PLUGIN_API_VERSION;
	bad.configure = NULL;
	T_INT(plugin_register(&bad), STP_EINVAL);
	T_OK(plugin_find("example") >= 0);
	T_OK(plugin_find("pow") >= 0 && plugin_find("padding") >= 0 &&
	    plugin_find("socks5") >= 0);
	T_OK(plugin_find("nope") == -1);
	t_section("register");
}

static void
test_config(void)
{
	char err[512];
	config *c = NULL;
	long i;

	tcfg_write("plugins:\n  example:\n    phrase: \"open sesame\"\n");
	T_INT(config_load(tcfg_path(), &c, err, sizeof(err)), 0);
	if (T_OK(c != NULL)) {
		i = plugin_find("example");
		T_INT(c->plugins.enabled[i], 1);
		T_OK(c->plugins.cfg[i] != NULL);
		config_free(c);
	}
	/* Left out: configured with NULL, not enabled. */
	tcfg_write("plugins: {}\n");
	c = NULL;
	T_INT(config_load(tcfg_path(), &c, err, sizeof(err)), 0);
	if (T_OK(c != NULL)) {
		T_INT(c->plugins.enabled[plugin_find("example")], 0);
		config_free(c);
	}
	refused("plugins:\n  example:\n    phrases: x\n",
	    "4:5: plugins.example.phrases: unknown key (expected one of: phrase)");
	refused("plugins:\n  example:\n    phrase: short\n",
	    "4:13: plugins.example.phrase: a phrase of at least 8 characters is needed");
	refused("plugins:\n  example:\n    phrase: [a]\n",
	    "4:13: plugins.example.phrase: expected a string, got a sequence");
	refused("plugins:\n  example: 5\n",
	    "3:12: plugins.example: expected a mapping of settings, got \"5\"");
	refused("plugins:\n  exampel: {}\n",
	    "3:3: plugins.exampel: unknown plugin (built in: pow, padding, socks5, example)");
	t_section("config");
}

/* Admission hooks as conn.c sets them, for a handshake run in memory. */
static plugins *running;
static struct sockaddr_in src;

static int
t_admit(void *cookie, const uint8_t *adm, size_t adm_len, uint8_t *chal,
    size_t *chal_len)
{
	(void)cookie;
	return plugins_admit(running, (struct sockaddr *)&src, adm, adm_len,
	    chal, chal_len);
}

static int
t_answer(void *cookie, const uint8_t *chal, size_t chal_len, uint8_t *ans,
    size_t *ans_len)
{
	return plugins_answer(cookie, chal, chal_len, ans, ans_len);
}

static void
test_admission(void)
{
	uint8_t chal[STP_ADMISSION_MAX], ans[STP_ADMISSION_MAX];
	size_t cl = sizeof(chal), al = sizeof(ans);
	char err[512], why[512];
	config *c = NULL, *c2 = NULL;
	plugins *other = NULL;
	int frames = 0;

	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000001);
	tcfg_write("plugins:\n  example:\n    phrase: \"open sesame\"\n");
	if (!T_INT(config_load(tcfg_path(), &c, err, sizeof(err)), 0))
		return;
	T_INT(plugins_open(c, &running, err, sizeof(err)), 0);
	T_OK(plugins_admission_on(running));

	/* Routing: an empty admission is challenged with the plugin's tag. */
	T_INT(plugins_admit(running, (struct sockaddr *)&src, NULL, 0, chal, &cl),
	    HS_ADMIT_CHALLENGE);
	T_INT(chal[0], STP_TAG_EXAMPLE);
	T_INT(plugins_answer(running, chal, cl, ans, &al), 0);
	T_INT(plugins_admit(running, (struct sockaddr *)&src, ans, al, chal,
	    &(size_t){ sizeof(chal) }), HS_ADMIT);
	ans[al - 1] ^= 1;
	T_INT(plugins_admit(running, (struct sockaddr *)&src, ans, al, chal,
	    &(size_t){ sizeof(chal) }), HS_ADMIT_REJECT);
	/* A challenge no plugin claims. */
	chal[0] = 0xee;
	al = sizeof(ans);
	T_INT(plugins_answer(running, chal, cl, ans, &al), STP_EPROTO);

	/* A whole handshake: HELLO, CHALLENGE, HELLO with the knock, REPLY, AUTHs. */
	T_INT(hspair_run(t_answer, running, t_admit, NULL, &frames, why,
	    sizeof(why)), 0);
	T_OK(frames >= 5);

	/* An initiator without the phrase cannot answer: a clear failure. */
	tcfg_write("plugins: {}\n");
	T_INT(config_load(tcfg_path(), &c2, err, sizeof(err)), 0);
	T_INT(plugins_open(c2, &other, err, sizeof(err)), 0);
	T_OK(!plugins_admission_on(other));
	T_OK(hspair_run(t_answer, other, t_admit, NULL, &frames, why,
	    sizeof(why)) < 0);
	T_OK(strstr(why, "admission challenge") != NULL);

	/* References: the set outlives a reload until its last user lets go. */
	T_OK(plugins_ref(running) == running);
	plugins_unref(running);
	plugins_unref(running);
	plugins_unref(other);
	running = NULL;
	config_free(c);
	config_free(c2);
	t_section("admission");
}

int
main(void)
{
	if (crypto_init() != 0 || tcfg_init("plugin") != 0)
		return 2;

	test_register();
	test_config();
	test_admission();

	tcfg_cleanup();
	return t_done();
}

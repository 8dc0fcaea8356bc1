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
#include "testlib.h"

extern const stp_plugin stp_plugin_example;

static char tmpdir[64], cfgpath[128], idpath[128];

static void
write_cfg(const char *body)
{
	FILE *f = fopen(cfgpath, "w");

	if (f == NULL || fprintf(f, "identity: %s\n%s", idpath, body) < 0 ||
	    fclose(f) != 0) {
		perror(cfgpath);
		exit(1);
	}
}

/* body must be refused with an error that ends in want after "cfgpath:". */
static void
refused(const char *body, const char *want)
{
	char err[512] = "", full[640];
	config *c = NULL;

	write_cfg(body);
	T_INT(config_load(cfgpath, &c, err, sizeof(err)), STP_EPARSE);
	T_OK(c == NULL);
	snprintf(full, sizeof(full), "%s:%s", cfgpath, want);
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

	write_cfg("plugins:\n  example:\n    phrase: \"open sesame\"\n");
	T_INT(config_load(cfgpath, &c, err, sizeof(err)), 0);
	if (T_OK(c != NULL)) {
		i = plugin_find("example");
		T_INT(c->plugins.enabled[i], 1);
		T_OK(c->plugins.cfg[i] != NULL);
		config_free(c);
	}
	/* Left out: configured with NULL, not enabled. */
	write_cfg("plugins: {}\n");
	c = NULL;
	T_INT(config_load(cfgpath, &c, err, sizeof(err)), 0);
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

/* Move every whole frame of from's output into to; <0 on a failure. */
static int
pass(hs *from, hs *to, int *frames)
{
	const uint8_t *out;
	size_t len, off = 0, body;
	uint8_t type;
	int rc;

	out = hs_output(from, &len);
	while (off + FRAME_HDR_LEN <= len) {
		if (frame_get_header(out + off, &type, &body) != 0)
			return STP_EPROTO;
		rc = hs_input(to, out + off, FRAME_HDR_LEN + body);
		if (rc == HS_WORK)
			rc = hs_work(to);
		if (rc < 0)
			return rc;
		off += FRAME_HDR_LEN + body;
		(*frames)++;
	}
	hs_output_clear(from);
	return 0;
}

/* One handshake with the example's admission; initiator answers with ans_set. */
static int
handshake(plugins *ans_set, int *frames, char *why, size_t why_len)
{
	sign_key *ki = NULL, *kr = NULL;
	hs_config ci, cr;
	hs *i = NULL, *r = NULL;
	int rc, n;

	memset(&ci, 0, sizeof(ci));
	memset(&cr, 0, sizeof(cr));
	if (sign_key_generate(&ki) != 0 || sign_key_generate(&kr) != 0)
		return STP_ENOMEM;
	ci.initiator = 1;
	ci.identity = ki;
	sign_key_public(kr, ci.peer_pub);
	ci.answer = t_answer;
	ci.cookie = ans_set;
	cr.identity = kr;
	cr.admit = t_admit;
	i = hs_new(&ci);
	r = hs_new(&cr);
	rc = STP_ENOMEM;
	if (i == NULL || r == NULL)
		goto out;
	*frames = 0;
	if ((rc = hs_start(i)) == HS_WORK)
		rc = hs_work(i);
	for (n = 0; rc >= 0 && n < 16 && !(hs_done(i) && hs_done(r)); n++) {
		if ((rc = pass(i, r, frames)) < 0 || hs_failed(r))
			break;
		rc = pass(r, i, frames);
	}
	if (rc >= 0)
		rc = hs_done(i) && hs_done(r) ? 0 : STP_EREJECTED;
	snprintf(why, why_len, "%s / %s", hs_reason(i), hs_reason(r));
out:
	hs_free(i);
	hs_free(r);
	sign_key_free(ki);
	sign_key_free(kr);
	return rc;
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
	write_cfg("plugins:\n  example:\n    phrase: \"open sesame\"\n");
	if (!T_INT(config_load(cfgpath, &c, err, sizeof(err)), 0))
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
	T_INT(handshake(running, &frames, why, sizeof(why)), 0);
	T_OK(frames >= 5);

	/* An initiator without the phrase cannot answer: a clear failure. */
	write_cfg("plugins: {}\n");
	T_INT(config_load(cfgpath, &c2, err, sizeof(err)), 0);
	T_INT(plugins_open(c2, &other, err, sizeof(err)), 0);
	T_OK(!plugins_admission_on(other));
	T_OK(handshake(other, &frames, why, sizeof(why)) < 0);
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
	sign_key *k;
	char err[256];

	if (crypto_init() != 0)
		return 2;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/stp-test-plugin-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	snprintf(cfgpath, sizeof(cfgpath), "%s/c.yaml", tmpdir);
	snprintf(idpath, sizeof(idpath), "%s/id.key", tmpdir);
	if (identity_generate(&k) != 0 ||
	    identity_save(idpath, k, 0, err, sizeof(err)) != 0)
		return 2;
	sign_key_free(k);

	test_register();
	test_config();
	test_admission();

	unlink(cfgpath);
	unlink(idpath);
	rmdir(tmpdir);
	return t_done();
}

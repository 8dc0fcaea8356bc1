/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config.c: the YAML peer map loader: conf/example.yaml, defaults,
 * value syntax (sizes, durations, booleans, addresses), relations between
 * entries, the identity file, lookups, and every refusal with its exact
 * "file:line:col: key: reason" message.
 *
 * Configs are written into a fresh temporary directory next to a generated
 * identity file.  In the texts below, @ID@ is that identity's path, @OWN@
 * its public key text, @ID2@ and @OWN2@ a second identity's (a rotation's
 * previous_identity), @K1@..@K3@ three other peers' key texts and @BAD@ the
 * first of them with one character changed; @S1@ and @S2@ are two access
 * secret texts and @SBAD@ the first with one character changed.
 * Placeholders sit at the ends of lines so that they never move a reported
 * column.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "destpolicy.h"
#include "crypto/sign.h"
#include "err.h"
#include "identity.h"
#include "secret.h"
#include "testlib.h"

static char tmpdir[64];
static char cfgpath[128];           /* tmpdir/c.yaml */
static char idpath[128];            /* tmpdir/id.key, mode 0600 */
static char own[IDENTITY_PUBTEXT_LEN + 1];
static char idpath2[128];           /* tmpdir/id2.key, mode 0600 */
static char own2[IDENTITY_PUBTEXT_LEN + 1];
static char keytext[3][IDENTITY_PUBTEXT_LEN + 1];
static uint8_t keyraw[3][SIGN_PUB_LEN];
static char badkey[IDENTITY_PUBTEXT_LEN + 1];
static char sectext[2][SECRET_TEXT_LEN + 1];
static uint8_t secraw[2][SECRET_LEN];
static char badsecret[SECRET_TEXT_LEN + 1];
static mode_t cfg_mode = 0600;      /* load() writes the config so */
static unsigned bad_cases;          /* refusals checked by bad() */

/* ---- helpers ---- */

static const char *
tpath(const char *name)
{
	static char buf[4][256];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return p;
}

static int
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	FILE *f;
	size_t n;

	unlink(path);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	n = fwrite(data, 1, len, f);
	if (fclose(f) != 0 || n != len)
		return -1;
	return chmod(path, mode);
}

/* text with the placeholders replaced; free() the result. */
static char *
expand(const char *text)
{
	static const struct { const char *tok; const char *val; } subst[] = {
		{ "@ID2@", idpath2 }, { "@OWN2@", own2 },
		{ "@ID@", idpath }, { "@OWN@", own }, { "@K1@", keytext[0] },
		{ "@K2@", keytext[1] }, { "@K3@", keytext[2] },
		{ "@BAD@", badkey }, { "@S1@", sectext[0] },
		{ "@S2@", sectext[1] }, { "@SBAD@", badsecret },
	};
	size_t cap = strlen(text) * 4 + 1024, o = 0, i;
	char *out = malloc(cap);

	if (out == NULL)
		abort();
	while (*text != '\0') {
		for (i = 0; i < sizeof(subst) / sizeof(subst[0]); i++) {
			size_t tl = strlen(subst[i].tok);

			if (strncmp(text, subst[i].tok, tl) == 0) {
				size_t vl = strlen(subst[i].val);

				memcpy(out + o, subst[i].val, vl);
				o += vl;
				text += tl;
				break;
			}
		}
		if (i == sizeof(subst) / sizeof(subst[0]))
			out[o++] = *text++;
	}
	out[o] = '\0';
	return out;
}

/* Write text (expanded) to cfgpath and load it. */
static int
load(const char *text, config **out, char *err, size_t errlen)
{
	char *s = expand(text);
	int rc;

	if (write_file(cfgpath, s, strlen(s), cfg_mode) != 0) {
		fprintf(stderr, "cannot write %s\n", cfgpath);
		abort();
	}
	free(s);
	rc = config_load(cfgpath, out, err, errlen);
	return rc;
}

/* text must load; returns the config (caller frees) or NULL. */
static config *
good_at(int line, const char *text)
{
	char err[1024] = "";
	config *c = NULL;
	int rc;

	rc = load(text, &c, err, sizeof(err));
	t_check(rc == 0 && c != NULL, __FILE__, line, t_ctx,
	    "config should load: rc %d: %s", rc, err);
	return rc == 0 ? c : NULL;
}
#define good(text) good_at(__LINE__, (text))

/*
 * text must be refused with want_rc and an error starting with "<file>:"
 * want (file: cfgpath, or an included file); *out must stay untouched.
 */
static void
bad_in_at(int line, int want_rc, const char *text, const char *file,
    const char *want)
{
	char err[2048] = "", exp[2048];
	config *c = (config *)&bad_cases; /* a sentinel: must not change */
	int rc;

	bad_cases++;
	rc = load(text, &c, err, sizeof(err));
	t_check(rc == want_rc, __FILE__, line, t_ctx, "rc %d, want %d (%s)",
	    rc, want_rc, err);
	t_check(c == (config *)&bad_cases, __FILE__, line, t_ctx,
	    "output written on failure");
	snprintf(exp, sizeof(exp), "%s:%s", file, want);
	t_check(strncmp(err, exp, strlen(exp)) == 0, __FILE__, line, t_ctx,
	    "error\n    got  \"%s\"\n    want \"%s...\"", err, exp);
	t_check(strchr(err, '\n') == NULL, __FILE__, line, t_ctx,
	    "error is more than one line");
	if (rc == 0 && c != (config *)&bad_cases)
		config_free(c);
}
#define bad(rc, text, want) bad_in_at(__LINE__, (rc), (text), cfgpath, (want))
/* The error is in tmpdir/name, an included file. */
#define bad_in(rc, text, name, want) \
	bad_in_at(__LINE__, (rc), (text), tpath(name), (want))

/* A new identity file at path (mode 0600); its key text into text. */
static void
make_identity(const char *path, char text[IDENTITY_PUBTEXT_LEN + 1])
{
	sign_key *k;
	uint8_t pub[SIGN_PUB_LEN];
	char err[512];

	if (identity_generate(&k) != 0 ||
	    identity_save(path, k, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "cannot make an identity: %s\n", err);
		exit(1);
	}
	sign_key_public(k, pub);
	identity_pub_encode(pub, text);
	sign_key_free(k);
}

static void
setup(void)
{
	sign_key *k;
	int i;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/stp-test-config-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(cfgpath, sizeof(cfgpath), "%s/c.yaml", tmpdir);
	/* The default control socket follows the environment: fix it. */
	setenv("RUNTIME_DIRECTORY", "/run/stp-test", 1);
	snprintf(idpath, sizeof(idpath), "%s/id.key", tmpdir);
	snprintf(idpath2, sizeof(idpath2), "%s/id2.key", tmpdir);
	make_identity(idpath, own);
	make_identity(idpath2, own2);
	for (i = 0; i < 3; i++) {
		if (identity_generate(&k) != 0)
			exit(1);
		sign_key_public(k, keyraw[i]);
		identity_pub_encode(keyraw[i], keytext[i]);
		sign_key_free(k);
	}
	/* One changed character: still well formed, checksum wrong. */
	memcpy(badkey, keytext[0], sizeof(badkey));
	badkey[10] = badkey[10] == 'A' ? 'B' : 'A';
	for (i = 0; i < 2; i++)
		if (secret_generate(secraw[i]) != 0 ||
		    secret_text_encode(secraw[i], sectext[i]) != 0)
			exit(1);
	memcpy(badsecret, sectext[0], sizeof(badsecret));
	badsecret[20] = badsecret[20] == 'A' ? 'B' : 'A';
}

/* Remove path and everything under it (directories, files: no more). */
static void
rm_path(const char *path, int depth)
{
	char sub[512];
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode) && depth < 8 && (d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			rm_path(sub, depth + 1);
		}
		closedir(d);
	}
	remove(path);
}

/* Remove tmpdir/name and everything under it. */
static void
rm_tree(const char *name)
{
	rm_path(tpath(name), 0);
}

/* Everything the tests wrote (some cases leave files and directories). */
static void
cleanup(void)
{
	rm_path(tmpdir, 0);
}

/* Write text (expanded) to tmpdir/name with mode; its directory must exist. */
static void
put(const char *name, const char *text, mode_t mode)
{
	char *s = expand(text);

	if (write_file(tpath(name), s, strlen(s), mode) != 0) {
		fprintf(stderr, "cannot write %s\n", tpath(name));
		abort();
	}
	free(s);
}

/* ---- loading ---- */

static void
test_minimal_defaults(void)
{
	config *c;

	t_set_ctx("minimal");
	if ((c = good("identity: @ID@\n")) == NULL)
		return;
	T_OK(strcmp(c->path, cfgpath) == 0);
	T_OK(strcmp(c->identity_path, idpath) == 0);
	T_OK(c->identity != NULL);
	T_INT(c->has_listen, 0);
	/* workers: auto is the default; the gateway counts CPUs at start. */
	T_INT(c->workers_auto, 1);
	T_INT(c->workers, 0);
	{
		char sum[512];
		config *a;

		config_summary(c, sum, sizeof(sum));
		T_OK(strstr(sum, ", workers auto") != NULL);
		t_set_ctx("workers: auto, workers: 3");
		if ((a = good("identity: @ID@\nworkers: auto\n")) != NULL) {
			T_INT(a->workers_auto, 1);
			config_free(a);
		}
		if ((a = good("identity: @ID@\nworkers: \"auto\"\n")) != NULL) {
			T_INT(a->workers_auto, 1);
			config_free(a);
		}
		if ((a = good("identity: @ID@\nworkers: 3\n")) != NULL) {
			T_INT(a->workers_auto, 0);
			T_INT(a->workers, 3);
			config_summary(a, sum, sizeof(sum));
			T_OK(strstr(sum, ", 3 workers") != NULL);
			config_free(a);
		}
		t_set_ctx("minimal");
	}
	T_INT(c->log_level, LOG_INFO);
	T_INT(c->log_format, LOG_TEXT);
	T_INT(c->has_metrics, 0);
	/* setup() set RUNTIME_DIRECTORY: the default socket is named after c.yaml. */
	T_OK(strcmp(c->control, "/run/stp-test/c.sock") == 0);
	T_INT(c->has_control, 0);
	T_INT(c->control_default, 1);
	T_INT((long long)c->n_peers, 0);
	T_INT((long long)c->n_forwards, 0);
	T_INT((long long)c->n_services, 0);
	T_OK(c->peers == NULL && c->forwards == NULL && c->services == NULL);
	T_INT(c->limits.max_sessions, 64);
	T_INT(c->limits.max_handshakes, 64);
	T_INT(c->limits.handshakes_per_source, 20);
	T_INT(c->limits.max_streams, 1024);
	T_INT(c->limits.max_connections, 4096);
	T_INT((long long)c->limits.session_buffer, 16ll << 20);
	T_INT(c->limits.replay_slots, 16384);
	T_INT(c->has_access_secret, 0);
	T_OK(t_all_zero(c->access_secret, sizeof(c->access_secret)));
	T_INT((long long)c->timeouts.handshake_ms, 10000);
	T_INT((long long)c->timeouts.connect_ms, 10000);
	T_INT((long long)c->timeouts.keepalive_ms, 15000);
	T_INT((long long)c->timeouts.dead_ms, 45000);
	T_INT((long long)c->timeouts.stream_idle_ms, 0);
	T_INT((long long)c->timeouts.drain_ms, 10000);
	T_INT((long long)c->timeouts.reconnect_min_ms, 1000);
	T_INT((long long)c->timeouts.reconnect_max_ms, 60000);
	T_INT(c->flow.window, 256 << 10);
	T_INT(c->flow.max_window, 16 << 20);
	T_INT((long long)c->rekey.bytes, 1ll << 30);
	T_INT((long long)c->rekey.interval_ms, 600000);
	T_INT((long long)c->rekey.fresh_interval_ms, 3600000);
	T_INT(config_peer_by_key(c, keyraw[0]), -1);
	T_INT(config_peer_by_name(c, "bob"), -1);
	T_INT(config_service_by_name(c, "pg"), -1);
	T_INT(config_service_allows(c, 0, 0), 0);
	config_free(c);

	/* Keys given with no value (null) keep their defaults. */
	t_set_ctx("null values");
	c = good("identity: @ID@\nlisten:\nworkers: ~\nlog:\nmetrics: null\n"
	    "control:\npeers:\nforwards:\nservices:\nlimits:\n"
	    "timeouts: {keepalive: ~}\nflow:\nrekey:\nplugins:\n"
	    "access_secret:\n");
	if (c != NULL) {
		T_INT(c->has_listen, 0);
		T_INT(c->has_access_secret, 0);
		T_INT(c->workers_auto, 1);
		T_INT(c->workers, 0);
		T_INT((long long)c->timeouts.keepalive_ms, 15000);
		T_INT((long long)c->n_peers, 0);
		config_free(c);
	}
	config_free(NULL);
}

/* conf/example.yaml with its identity path replaced by ours. */
static void
test_example(void)
{
	const char *src = t_vector_path("../../conf/example.yaml");
	char *text = NULL, *line, *end, *patched;
	char err[1024] = "", sum[512], want[512];
	size_t len, n;
	config *c = NULL;
	long i;
	FILE *f;

	t_set_ctx("example.yaml");
	if ((f = fopen(src, "rb")) == NULL) {
		T_OK(!"cannot open conf/example.yaml");
		return;
	}
	text = malloc(1 << 20);
	len = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[len] = '\0';
	/* The top-level "identity: PATH" line. */
	line = strstr(text, "\nidentity: ");
	if (!T_OK(line != NULL)) {
		free(text);
		return;
	}
	line += strlen("\nidentity: ");
	end = strchr(line, '\n');
	n = (size_t)(line - text);
	patched = malloc(len + strlen(idpath) + 1);
	memcpy(patched, text, n);
	memcpy(patched + n, idpath, strlen(idpath));
	strcpy(patched + n + strlen(idpath), end);
	write_file(tpath("ex.yaml"), patched, strlen(patched), 0644);
	free(text);

	T_INT(config_load(tpath("ex.yaml"), &c, err, sizeof(err)), 0);
	if (c == NULL) {
		printf("  %s\n", err);
		free(patched);
		return;
	}
	T_OK(c->has_listen && c->listen.port == 7400 &&
	    strcmp(c->listen.host, "0.0.0.0") == 0);
	T_INT(c->workers_auto, 1);
	T_INT(c->log_level, LOG_INFO);
	T_INT(c->log_format, LOG_TEXT);
	T_OK(c->has_metrics && c->metrics.port == 9474);
	T_OK(c->control_default && !c->has_control);
	T_INT((long long)c->n_peers, 3);
	T_INT((long long)c->n_forwards, 3);
	T_INT((long long)c->n_services, 2);
	if (c->n_peers == 3 && c->n_forwards == 3 && c->n_services == 2) {
		T_OK(strcmp(c->peers[0].name, "bob") == 0);
		T_OK(c->peers[0].has_dial && !c->peers[0].dial.is_ip &&
		    strcmp(c->peers[0].dial.host, "bob.example.net") == 0 &&
		    c->peers[0].dial.port == 7400);
		T_OK(!c->peers[0].has_proxy && !c->peers[0].sign_records);
		T_OK(c->peers[1].has_proxy &&
		    strcmp(c->peers[1].proxy, "socks5://127.0.0.1:9050") == 0);
		T_OK(!c->peers[2].has_dial);
		T_INT((long long)c->forwards[0].peer, 0);
		T_OK(strcmp(c->forwards[0].service, "postgres") == 0);
		T_INT(c->forwards[1].listen.ss.ss_family, AF_INET6);
		T_INT(c->forwards[1].listen.port, 16379);
		T_INT((long long)c->forwards[2].peer, 1);
		i = config_service_by_name(c, "postgres");
		T_INT(i, 0);
		T_INT(config_service_allows(c, 0, 0), 1);   /* bob */
		T_INT(config_service_allows(c, 0, 1), 0);   /* carol */
		T_INT(config_service_allows(c, 0, 2), 1);   /* dave */
		T_INT(config_service_allows(c, 1, 0), 0);
		T_INT(config_service_allows(c, 1, 2), 1);
		T_OK(!c->services[1].connect.is_ip);
		T_INT((long long)c->limits.session_buffer, 16ll << 20);
		T_INT(c->limits.replay_slots, 16384);
		/* Shown commented out: the example is mode 0644. */
		T_INT(c->has_access_secret, 0);
		T_OK(!c->peers[0].has_access_secret &&
		    !c->peers[1].has_access_secret &&
		    !c->peers[2].has_access_secret);
		T_INT((long long)c->timeouts.dead_ms, 45000);
		T_INT(c->flow.max_window, 16 << 20);
		T_INT((long long)c->rekey.fresh_interval_ms, 3600000);
	}
	config_summary(c, sum, sizeof(sum));
	snprintf(want, sizeof(want), "%s: ok: identity %s, 3 peers (2 dialed), "
	    "3 forwards, 2 services, listen 0.0.0.0:7400, workers auto, "
	    "control /run/stp-test/ex.sock", tpath("ex.yaml"), own);
	t_check(strcmp(sum, want) == 0, __FILE__, __LINE__, t_ctx,
	    "summary\n    got  \"%s\"\n    want \"%s\"", sum, want);
	config_free(c);

	/*
	 * The access secrets shown commented out are valid: uncommented, in
	 * a copy only its owner may read, they load.
	 */
	t_set_ctx("example.yaml, secrets uncommented");
	n = 0;
	while ((line = strstr(patched, "#access_secret: ")) != NULL) {
		memmove(line, line + 1, strlen(line + 1) + 1);
		n++;
	}
	T_INT((long long)n, 2);
	write_file(tpath("ex.yaml"), patched, strlen(patched), 0600);
	free(patched);
	c = NULL;
	T_INT(config_load(tpath("ex.yaml"), &c, err, sizeof(err)), 0);
	if (c == NULL) {
		printf("  %s\n", err);
		return;
	}
	T_INT(c->has_access_secret, 1);
	if (c->n_peers == 3) {
		T_INT(c->peers[0].has_access_secret, 1);
		T_OK(memcmp(c->access_secret, c->peers[0].access_secret, 32) != 0);
	}
	config_free(c);
}

static void
test_full(void)
{
	const char *text =
	    "identity: @ID@\n"
	    "listen: \"[::]:7400\"\n"
	    "workers: 0\n"
	    "log: {level: debug, format: json}\n"
	    "metrics: \"[::1]:9100\"\n"
	    "control: ctl.sock\n"
	    "peers:\n"
	    "  bob:\n"
	    "    dial: 192.0.2.7:7400\n"
	    "    sign_records: yes\n"
	    "    key: @K1@\n"
	    "  carol: {dial: \"c.example:7400\", sign_records: off, proxy: \"socks5://u:p@[::1]:1080\", key: @K2@\n"
	    "    }\n"
	    "  dave.x_y-1:\n"
	    "    key: \"@K3@\"\n"
	    "forwards:\n"
	    "  - {listen: 127.0.0.2:1, peer: dave.x_y-1, service: s1}\n"
	    "  - {listen: 127.0.0.1:1, peer: carol, service: s1}\n"
	    "  - {listen: \"[::1]:2\", peer: bob, service: s2}\n"
	    "  - {listen: 192.0.2.1:3, peer: bob, service: s2, allow_remote: true}\n"
	    "services:\n"
	    "  a: {connect: \"[2001:db8::1]:22\", allow: [carol, bob, carol]}\n"
	    "  b: {connect: host-1.example.:80, allow: []}\n"
	    "  c: {connect: 10.0.0.1:65535}\n"
	    "plugins: {pow: {difficulty: 20}}\n";
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;
	char sum[512], want[512];
	config *c;

	t_set_ctx("full");
	if ((c = good(text)) == NULL)
		return;
	T_OK(c->has_listen && c->listen.is_ip &&
	    c->listen.ss.ss_family == AF_INET6 &&
	    strcmp(c->listen.host, "::") == 0);
	s6 = (const struct sockaddr_in6 *)(const void *)&c->listen.ss;
	T_INT(ntohs(s6->sin6_port), 7400);
	T_INT(c->listen.ss_len, sizeof(struct sockaddr_in6));
	T_INT(c->listen.pos.line, 2);
	T_INT(c->listen.pos.col, 9);
	T_INT(c->workers, 0);
	T_INT(c->log_level, LOG_DEBUG);
	T_INT(c->log_format, LOG_JSON);
	T_OK(c->has_metrics && c->metrics.port == 9100);
	T_OK(strcmp(c->control, tpath("ctl.sock")) == 0);
	T_INT((long long)c->n_peers, 3);
	T_INT((long long)c->n_forwards, 4);
	T_INT((long long)c->n_services, 3);
	if (c->n_peers != 3 || c->n_forwards != 4 || c->n_services != 3)
		goto out;
	T_OK(c->peers[0].has_dial && c->peers[0].dial.is_ip &&
	    c->peers[0].sign_records == 1);
	s4 = (const struct sockaddr_in *)(const void *)&c->peers[0].dial.ss;
	T_INT(s4->sin_family, AF_INET);
	T_INT(ntohs(s4->sin_port), 7400);
	T_INT(ntohl(s4->sin_addr.s_addr), 0xc0000207);
	T_INT(c->peers[0].pos.line, 8);
	T_INT(c->peers[0].pos.col, 3);
	T_INT(c->peers[1].sign_records, 0);
	T_OK(strcmp(c->peers[1].proxy, "socks5://u:p@[::1]:1080") == 0);
	T_OK(strcmp(c->peers[2].name, "dave.x_y-1") == 0);
	T_MEM(c->peers[2].keys[0], 32, keyraw[2], 32);
	T_INT((long long)c->forwards[0].peer, 2);
	T_INT((long long)c->forwards[1].peer, 1);
	T_INT((long long)c->forwards[2].peer, 0);
	T_INT(c->forwards[3].allow_remote, 1);
	T_INT(c->forwards[1].pos.line, 18);
	T_INT(c->forwards[1].pos.col, 5);
	T_OK(strcmp(c->forwards[2].service, "s2") == 0);
	/* allow is sorted and without repeats. */
	T_INT((long long)c->services[0].n_allow, 2);
	T_INT(config_service_allows(c, 0, 0), 1);
	T_INT(config_service_allows(c, 0, 1), 1);
	T_INT(config_service_allows(c, 0, 2), 0);
	T_INT((long long)c->services[1].n_allow, 0);
	T_INT(config_service_allows(c, 1, 0), 0);
	T_INT((long long)c->services[2].n_allow, 0);
	T_INT(config_service_allows(c, 3, 0), 0);   /* no such service */
	T_INT(config_service_allows(c, 0, 99), 0);
	T_OK(c->services[0].connect.is_ip &&
	    c->services[0].connect.ss.ss_family == AF_INET6 &&
	    c->services[0].connect.port == 22);
	T_OK(!c->services[1].connect.is_ip &&
	    strcmp(c->services[1].connect.host, "host-1.example.") == 0);
	T_INT(c->services[2].connect.port, 65535);
	/* Lookups. */
	T_INT(config_peer_by_key(c, keyraw[0]), 0);
	T_INT(config_peer_by_key(c, keyraw[1]), 1);
	T_INT(config_peer_by_key(c, keyraw[2]), 2);
	T_INT(config_peer_by_name(c, "bob"), 0);
	T_INT(config_peer_by_name(c, "dave.x_y-1"), 2);
	T_INT(config_peer_by_name(c, "Bob"), -1);
	T_INT(config_peer_by_name(c, ""), -1);
	T_INT(config_service_by_name(c, "a"), 0);
	T_INT(config_service_by_name(c, "c"), 2);
	T_INT(config_service_by_name(c, "d"), -1);
	config_summary(c, sum, sizeof(sum));
	snprintf(want, sizeof(want), "%s: ok: identity %s, 3 peers (2 dialed), "
	    "4 forwards, 3 services, listen [::]:7400, 0 workers, control %s",
	    cfgpath, own, tpath("ctl.sock"));
	t_check(strcmp(sum, want) == 0, __FILE__, __LINE__, t_ctx,
	    "summary\n    got  \"%s\"\n    want \"%s\"", sum, want);
out:
	config_free(c);

	/* Singular words and no listener. */
	t_set_ctx("summary");
	c = good("identity: @ID@\nworkers: 1\npeers: {bob: {key: @K1@}}\n"
	    "forwards: [{listen: 127.0.0.1:1, peer: bob, service: x}]\n"
	    "services: {x: {connect: 127.0.0.1:2}}\n");
	if (c != NULL) {
		config_summary(c, sum, sizeof(sum));
		snprintf(want, sizeof(want), "%s: ok: identity %s, 1 peer "
		    "(0 dialed), 1 forward, 1 service, not listening, 1 worker, "
		    "control /run/stp-test/c.sock", cfgpath, own);
		t_check(strcmp(sum, want) == 0, __FILE__, __LINE__, t_ctx,
		    "summary\n    got  \"%s\"\n    want \"%s\"", sum, want);
		config_summary(c, sum, 10);     /* truncates, terminated */
		T_INT((long long)strlen(sum), 9);
		config_free(c);
	}
}

/* Relative paths follow the config file, not the working directory. */
/*
 * control: its default named after the config ($RUNTIME_DIRECTORY, /run/stpgate
 * as root, $XDG_RUNTIME_DIR/stpgate), off, a missing directory, and loading
 * without the identity (status, reload).
 */
static void
test_control(void)
{
	char out[256], err[1024] = "";
	config *c = NULL;
	int root = geteuid() == 0;

	t_set_ctx("control defaults");
	setenv("RUNTIME_DIRECTORY", "/run/a:/run/b", 1);
	T_INT(config_default_control("/etc/stpgate/stpgate.yaml", out,
	    sizeof(out)), 0);
	T_OK(strcmp(out, "/run/a/stpgate.sock") == 0);
	T_INT(config_default_control("alice.yml", out, sizeof(out)), 0);
	T_OK(strcmp(out, "/run/a/alice.sock") == 0);
	T_INT(config_default_control("/x/peer.conf", out, sizeof(out)), 0);
	T_OK(strcmp(out, "/run/a/peer.conf.sock") == 0);
	T_INT(config_default_control("/x/.yaml", out, sizeof(out)), 0);
	T_OK(strcmp(out, "/run/a/.yaml.sock") == 0);
	unsetenv("RUNTIME_DIRECTORY");
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	T_INT(config_default_control("/etc/stpgate/bob.yaml", out,
	    sizeof(out)), 0);
	T_OK(strcmp(out, root ? "/run/stpgate/bob.sock" :
	    "/run/user/1000/stpgate/bob.sock") == 0);
	unsetenv("XDG_RUNTIME_DIR");
	T_INT(config_default_control("/etc/stpgate/bob.yaml", out,
	    sizeof(out)), root ? 0 : 1);
	setenv("RUNTIME_DIRECTORY", "/run/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1);
	T_INT(config_default_control("/etc/stpgate/bob.yaml", out, sizeof(out)),
	    STP_ETOOBIG);
	T_OK(strstr(out, "too long for a Unix socket") != NULL);
	setenv("RUNTIME_DIRECTORY", "/run/stp-test", 1);

	t_set_ctx("control: off");
	c = good("identity: @ID@\ncontrol: off\n");
	if (c != NULL) {
		T_OK(c->control[0] == '\0' && c->has_control &&
		    !c->control_default);
		config_free(c);
	}
	c = good("identity: @ID@\ncontrol: \"\"\n");
	if (c != NULL) {
		T_OK(c->control[0] == '\0' && c->has_control);
		config_free(c);
	}
	t_set_ctx("control: missing directory");
	bad(STP_EPARSE, "identity: @ID@\ncontrol: /nonexistent-stp/x.sock\n",
	    "2:10: control: directory /nonexistent-stp: No such file or "
	    "directory");
	bad(STP_EPARSE, "identity: @ID@\ncontrol: /etc/passwd/x.sock\n",
	    "2:10: control: /etc/passwd is not a directory");

	t_set_ctx("config_find_control");
	{
		int dflt = -1;

		write_file(cfgpath, "identity: /nonexistent-stp.key\n", 31, 0600);
		T_INT(config_find_control(cfgpath, out, sizeof(out), &dflt, err,
		    sizeof(err)), 0);
		T_OK(strcmp(out, "/run/stp-test/c.sock") == 0 && dflt == 1);
		/* A file the loader refuses still names its socket. */
		write_file(cfgpath, "control: run/x.sock\nbogus: [\n", 29, 0600);
		T_INT(config_find_control(cfgpath, out, sizeof(out), &dflt, err,
		    sizeof(err)), 0);
		T_OK(strcmp(out, "/run/stp-test/c.sock") == 0 && dflt == 1);
		write_file(cfgpath, "control: run/x.sock\nbogus: 1\n", 29, 0600);
		T_INT(config_find_control(cfgpath, out, sizeof(out), &dflt, err,
		    sizeof(err)), 0);
		T_OK(strcmp(out, tpath("run/x.sock")) == 0 && dflt == 0);
		write_file(cfgpath, "control: off\n", 13, 0600);
		T_INT(config_find_control(cfgpath, out, sizeof(out), &dflt, err,
		    sizeof(err)), 0);
		T_OK(out[0] == '\0' && dflt == 0);
		T_INT(config_find_control(tpath("absent.yaml"), out, sizeof(out),
		    &dflt, err, sizeof(err)), STP_EIO);
		T_OK(strstr(err, "absent.yaml") != NULL);
	}
}

/* Sizes and durations may be quoted: a config generated as JSON must. */
static void
test_quoted_units(void)
{
	config *c;

	t_set_ctx("quoted sizes and durations");
	c = good("{\"identity\": \"@ID@\", \"timeouts\": {\"handshake\": \"10s\", "
	    "\"drain\": \"250ms\", \"keepalive\": \"20\"}, \"flow\": "
	    "{\"window\": \"1MiB\"}, \"rekey\": {\"bytes\": \"2 GiB\"}}\n");
	if (c != NULL) {
		T_INT((long long)c->timeouts.handshake_ms, 10000);
		T_INT((long long)c->timeouts.drain_ms, 250);
		T_INT((long long)c->timeouts.keepalive_ms, 20000);
		T_INT((long long)c->flow.window, 1 << 20);
		T_INT((long long)c->rekey.bytes, 2LL << 30);
		config_free(c);
	}
	bad(STP_EPARSE, "identity: @ID@\ntimeouts: {drain: \"soon\"}\n",
	    "2:19: timeouts.drain: expected a duration");
	bad(STP_EPARSE, "identity: @ID@\ntimeouts: {drain: \"\"}\n",
	    "2:19: timeouts.drain: expected a duration");
}

static void
test_relative_paths(void)
{
	char err[1024] = "";
	config *c = NULL;
	sign_key *k;
	const char *text = "identity: id.key\ncontrol: run/ctl\n";

	t_set_ctx("relative paths");
	mkdir(tpath("sub"), 0700);
	mkdir(tpath("sub/run"), 0700);
	if (identity_generate(&k) != 0 ||
	    identity_save(tpath("sub/id.key"), k, 0, err, sizeof(err)) != 0) {
		T_OK(!"identity_save");
		return;
	}
	sign_key_free(k);
	write_file(tpath("sub/c.yaml"), text, strlen(text), 0644);
	T_INT(config_load(tpath("sub/c.yaml"), &c, err, sizeof(err)), 0);
	if (c != NULL) {
		T_OK(strcmp(c->identity_path, tpath("sub/id.key")) == 0);
		T_OK(strcmp(c->control, tpath("sub/run/ctl")) == 0);
		config_free(c);
	}
}

/* Sizes, durations, integers and booleans at and past their edges. */
static void
test_units(void)
{
	static const struct {
		const char *key, *val;  /* "limits.session_buffer", "64KiB" */
		long long want;         /* -1: refused */
	} v[] = {
		{ "limits.session_buffer", "65536", 65536 },
		{ "limits.session_buffer", "64KiB", 65536 },
		{ "limits.session_buffer", "64 kib", 65536 },
		{ "limits.session_buffer", "64K", 65536 },
		{ "limits.session_buffer", "64k", 65536 },
		{ "limits.session_buffer", "65536B", 65536 },
		{ "limits.session_buffer", "65536 b", 65536 },
		{ "limits.session_buffer", "1M", 1ll << 20 },
		{ "limits.session_buffer", "1g", 1ll << 30 },
		{ "limits.session_buffer", "1 GIB", 1ll << 30 },
		{ "limits.session_buffer", "64GiB", 64ll << 30 },
		{ "limits.session_buffer", "65536MiB", 64ll << 30 },
		{ "limits.session_buffer", "65537MiB", -1 },
		{ "limits.session_buffer", "65535", -1 },
		{ "limits.session_buffer", "0", -1 },
		{ "limits.session_buffer", "99999999999 GiB", -1 },
		{ "limits.session_buffer", "18446744073709551615", -1 },
		{ "limits.session_buffer", "18446744073709551616", -1 },
		{ "limits.session_buffer", "17179869184GiB", -1 }, /* 2^64 */
		{ "limits.session_buffer", "1.5MiB", -1 },
		{ "limits.session_buffer", "1 TiB", -1 },
		{ "limits.session_buffer", "16 MB", -1 },
		{ "limits.session_buffer", "MiB", -1 },
		{ "limits.session_buffer", "-1", -1 },
		{ "limits.session_buffer", "0x10000", -1 },
		{ "limits.session_buffer", "\"64KiB\"", 64 << 10 },  /* JSON */
		{ "flow.window", "16KiB", 16 << 10 },
		{ "flow.window", "16383", -1 },
		{ "flow.max_window", "1GiB", 1 << 30 },
		{ "flow.max_window", "1073741825", -1 },
		{ "rekey.bytes", "1024GiB", 1ll << 40 },
		{ "rekey.bytes", "1025GiB", -1 },
		{ "rekey.bytes", "1MiB", 1 << 20 },
		{ "rekey.bytes", "1048575", -1 },
		{ "timeouts.stream_idle", "0", 0 },
		{ "timeouts.stream_idle", "0ms", 0 },
		{ "timeouts.stream_idle", "500ms", 500 },
		{ "timeouts.stream_idle", "10 s", 10000 },
		{ "timeouts.stream_idle", "90", 90000 },
		{ "timeouts.stream_idle", "2m", 120000 },
		{ "timeouts.stream_idle", "720h", 720ll * 3600000 },
		{ "timeouts.stream_idle", "43200m", 720ll * 3600000 },
		{ "timeouts.stream_idle", "43201m", -1 },
		{ "timeouts.stream_idle", "721h", -1 },
		{ "timeouts.stream_idle", "99999999999999999h", -1 },
		{ "timeouts.stream_idle", "99999999999999999999", -1 },
		{ "timeouts.stream_idle", "18446744073709551615ms", -1 },
		{ "timeouts.stream_idle", "1.5s", -1 },
		{ "timeouts.stream_idle", "1h30m", -1 },
		{ "timeouts.stream_idle", "10S", -1 },
		{ "timeouts.stream_idle", "10sec", -1 },
		{ "timeouts.stream_idle", "10d", -1 },
		{ "timeouts.stream_idle", "-5s", -1 },
		{ "timeouts.stream_idle", "\"10s\"", 10000 },
		{ "timeouts.handshake", "100ms", 100 },
		{ "timeouts.handshake", "99ms", -1 },
		{ "timeouts.handshake", "10m", 600000 },
		{ "timeouts.handshake", "601s", -1 },
		{ "timeouts.drain", "0", 0 },
		{ "timeouts.drain", "1h", 3600000 },
		{ "rekey.interval", "1s", 1000 },
		{ "rekey.interval", "999ms", -1 },
		{ "rekey.fresh_interval", "168h", 168ll * 3600000 },
		{ "rekey.fresh_interval", "59s", -1 },
		{ "limits.max_connections", "1000000", 1000000 },
		{ "limits.max_connections", "1000001", -1 },
		{ "limits.max_connections", "1", 1 },
		{ "limits.max_connections", "0", -1 },
		{ "limits.max_streams", "99999999999999999999999", -1 },
		{ "limits.max_streams", "1e3", -1 },
		{ "limits.max_streams", "+5", -1 },
		{ "limits.max_streams", "007", -1 },
		{ "limits.max_streams", "1_000", -1 },
		{ "limits.replay_slots", "8", 8 },
		{ "limits.replay_slots", "16", 16 },
		{ "limits.replay_slots", "16384", 16384 },
		{ "limits.replay_slots", "1048576", 1048576 },
		{ "limits.replay_slots", "0", -1 },
		{ "limits.replay_slots", "7", -1 },
		{ "limits.replay_slots", "12", -1 },
		{ "limits.replay_slots", "1048575", -1 },
		{ "limits.replay_slots", "1048584", -1 },
		{ "limits.replay_slots", "16KiB", -1 },
		{ "limits.replay_slots", "\"64\"", -1 },
		{ "workers", "64", 64 },
		{ "workers", "65", -1 },
		{ "workers", "0", 0 },
	};
	static const struct { const char *val; int want; } b[] = {
		{ "true", 1 }, { "false", 0 }, { "yes", 1 }, { "no", 0 },
		{ "on", 1 }, { "off", 0 }, { "True", 1 }, { "FALSE", 0 },
		{ "YES", 1 }, { "Off", 0 }, { "1", -1 }, { "0", -1 },
		{ "\"true\"", -1 }, { "'yes'", -1 }, { "y", -1 }, { "[]", -1 },
	};
	char text[512], err[1024];
	const char *dot;
	long long got = 0;
	config *c;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t_set_ctx("units %s: %s", v[i].key, v[i].val);
		dot = strchr(v[i].key, '.');
		if (dot != NULL)
			snprintf(text, sizeof(text), "identity: @ID@\n%.*s:\n"
			    "  %s: %s\n", (int)(dot - v[i].key), v[i].key,
			    dot + 1, v[i].val);
		else
			snprintf(text, sizeof(text), "identity: @ID@\n%s: %s\n",
			    v[i].key, v[i].val);
		/* Keep the orderings satisfied while one edge moves. */
		if (strcmp(v[i].key, "flow.max_window") == 0)
			strcat(text, "  window: 16KiB\n");
		c = NULL;
		err[0] = '\0';
		rc = load(text, &c, err, sizeof(err));
		if (v[i].want < 0) {
			T_INT(rc, STP_EPARSE);
			T_OK(c == NULL);
			/* The message names the key (exact texts: test_errors). */
			T_OK(strstr(err, v[i].key) != NULL);
			continue;
		}
		if (!T_INT(rc, 0)) {
			printf("  %s\n", err);
			continue;
		}
		if (strcmp(v[i].key, "limits.session_buffer") == 0)
			got = (long long)c->limits.session_buffer;
		else if (strcmp(v[i].key, "flow.window") == 0)
			got = c->flow.window;
		else if (strcmp(v[i].key, "flow.max_window") == 0)
			got = c->flow.max_window;
		else if (strcmp(v[i].key, "rekey.bytes") == 0)
			got = (long long)c->rekey.bytes;
		else if (strcmp(v[i].key, "timeouts.stream_idle") == 0)
			got = (long long)c->timeouts.stream_idle_ms;
		else if (strcmp(v[i].key, "timeouts.handshake") == 0)
			got = (long long)c->timeouts.handshake_ms;
		else if (strcmp(v[i].key, "timeouts.drain") == 0)
			got = (long long)c->timeouts.drain_ms;
		else if (strcmp(v[i].key, "rekey.interval") == 0)
			got = (long long)c->rekey.interval_ms;
		else if (strcmp(v[i].key, "rekey.fresh_interval") == 0)
			got = (long long)c->rekey.fresh_interval_ms;
		else if (strcmp(v[i].key, "limits.max_connections") == 0)
			got = c->limits.max_connections;
		else if (strcmp(v[i].key, "limits.replay_slots") == 0)
			got = c->limits.replay_slots;
		else if (strcmp(v[i].key, "workers") == 0)
			got = c->workers;
		T_INT(got, v[i].want);
		config_free(c);
	}
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		t_set_ctx("bool %s", b[i].val);
		snprintf(text, sizeof(text), "identity: @ID@\npeers:\n  bob:\n"
		    "    sign_records: %s\n    key: @K1@\n", b[i].val);
		c = NULL;
		rc = load(text, &c, err, sizeof(err));
		if (b[i].want < 0) {
			T_INT(rc, STP_EPARSE);
			T_OK(strstr(err, ":4:19: peers.bob.sign_records: "
			    "expected true or false, got ") != NULL);
			continue;
		}
		if (T_INT(rc, 0))
			T_INT(c->peers[0].sign_records, b[i].want);
		config_free(c);
	}
}

/* Addresses that load, with what they parse to. */
static void
test_addresses(void)
{
	static const struct {
		const char *val;
		int family;             /* 0: a DNS name */
		const char *host;
		unsigned port;
	} v[] = {
		{ "127.0.0.1:1", AF_INET, "127.0.0.1", 1 },
		{ "0.0.0.0:65535", AF_INET, "0.0.0.0", 65535 },
		{ "\"[::1]:7400\"", AF_INET6, "::1", 7400 },
		{ "'[fe80::1:2]:80'", AF_INET6, "fe80::1:2", 80 },
		{ "\"[::ffff:10.0.0.1]:80\"", AF_INET6, "::ffff:10.0.0.1", 80 },
		{ "a:1", 0, "a", 1 },
		{ "a-b.c-d.example:443", 0, "a-b.c-d.example", 443 },
		{ "x1.onion:80", 0, "x1.onion", 80 },
		{ "1a.example:80", 0, "1a.example", 80 },
		{ "example.com.:80", 0, "example.com.", 80 },
	};
	char text[512], err[1024];
	config *c;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t_set_ctx("address %s", v[i].val);
		snprintf(text, sizeof(text), "identity: @ID@\npeers:\n  bob:\n"
		    "    dial: %s\n    key: @K1@\n", v[i].val);
		c = NULL;
		if (!T_INT(load(text, &c, err, sizeof(err)), 0)) {
			printf("  %s\n", err);
			continue;
		}
		T_INT(c->peers[0].dial.is_ip, v[i].family != 0);
		if (v[i].family != 0)
			T_INT(c->peers[0].dial.ss.ss_family, v[i].family);
		T_OK(strcmp(c->peers[0].dial.host, v[i].host) == 0);
		T_INT(c->peers[0].dial.port, v[i].port);
		T_INT(c->peers[0].dial.pos.line, 4);
		T_INT(c->peers[0].dial.pos.col, 11);
		config_free(c);
	}

	/* A 253-character name loads; 254 does not; a 64-character label neither. */
	t_set_ctx("long DNS names");
	{
		char name[300];

		memset(name, 'a', sizeof(name));
		name[63] = name[127] = name[191] = '.';
		name[253] = '\0';
		snprintf(text, sizeof(text), "identity: @ID@\npeers:\n  bob:\n"
		    "    dial: %s:1\n    key: @K1@\n", name);
		c = NULL;
		T_INT(load(text, &c, err, sizeof(err)), 0);
		config_free(c);
		name[253] = 'a';
		name[254] = '\0';
		snprintf(text, sizeof(text), "identity: @ID@\npeers:\n  bob:\n"
		    "    dial: %s:1\n    key: @K1@\n", name);
		c = NULL;
		T_INT(load(text, &c, err, sizeof(err)), STP_EPARSE);
		memset(name, 'a', 64);
		memcpy(name + 64, ".b", 3);
		snprintf(text, sizeof(text), "identity: @ID@\npeers:\n  bob:\n"
		    "    dial: %s:1\n    key: @K1@\n", name);
		c = NULL;
		T_INT(load(text, &c, err, sizeof(err)), STP_EPARSE);
	}
}

/*
 * Beyond TCP ports: unix: and udp: addresses, a unix: listener's mode and
 * owners, socks: forwards, proxy_protocol, destinations, datagram_idle;
 * what each refuses.
 */
static void
test_reach(void)
{
	config *c;

	t_set_ctx("reach: loads");
	c = good("identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    destinations: [\"10.0.0.0/8:*\", \"db.x:5432\"]\n"
	    "forwards:\n"
	    "  - {listen: \"unix:s/pg.sock\", mode: \"0660\", group: 0, "
	    "peer: bob, service: pg}\n"
	    "  - {socks: 127.0.0.1:1080, peer: bob}\n"
	    "  - {listen: \"udp:127.0.0.1:1080\", peer: bob, service: dns}\n"
	    "services:\n"
	    "  pg: {connect: \"unix:/run/pg.sock\", allow: [bob], "
	    "proxy_protocol: v2}\n"
	    "  dns: {connect: \"udp:127.0.0.1:53\", allow: [bob]}\n"
	    "timeouts: {datagram_idle: 5s}\n");
	if (c != NULL) {
		T_INT(c->forwards[0].listen.is_unix, 1);
		T_OK(strstr(c->forwards[0].listen.host, "/s/pg.sock") != NULL &&
		    c->forwards[0].listen.host[0] == '/');
		T_INT(c->forwards[0].mode, 0660);
		T_INT(c->forwards[0].gid, 0);
		T_INT(c->forwards[0].uid, -1);
		T_INT(c->forwards[1].socks, 1);
		T_OK(c->forwards[1].service[0] == '\0');
		T_INT(c->forwards[2].listen.is_udp, 1);
		T_INT(c->forwards[2].listen.port, 1080);
		T_INT(c->forwards[0].mode == 0660 && c->forwards[1].mode == 0600, 1);
		T_INT(c->services[0].connect.is_unix, 1);
		T_INT(c->services[0].proxy_protocol, PROXY_V2);
		T_INT(c->services[1].connect.is_udp, 1);
		T_INT(c->services[1].proxy_protocol, PROXY_OFF);
		T_INT(c->timeouts.datagram_idle_ms, 5000);
		T_OK(c->peers[0].destinations != NULL &&
		    destpolicy_count(c->peers[0].destinations) == 2);
		config_free(c);
	}
	c = good("identity: @ID@\n");
	if (c != NULL) {
		T_INT(c->timeouts.datagram_idle_ms, 30000);
		T_INT(c->timeouts.resume_ms, 30000);
		config_free(c);
	}
	/* resume_window: 0 turns resumption off; an hour at most. */
	c = good("identity: @ID@\ntimeouts: {resume_window: 0}\n");
	if (c != NULL) {
		T_INT(c->timeouts.resume_ms, 0);
		config_free(c);
	}
	bad(STP_EPARSE, "identity: @ID@\ntimeouts: {resume_window: 2h}\n",
	    "2:27: timeouts.resume_window: 2h is out of range 0ms..1h");

	t_set_ctx("reach: refusals");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {listen: 127.0.0.1:1, mode: \"0660\", peer: bob, service: x}\n",
	    "5:33: forwards[0].mode: applies only to a unix:PATH listen "
	    "address");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {listen: \"unix:a.sock\", mode: \"0460\", peer: bob, "
	    "service: x}\n", "5:35: forwards[0].mode: 0460 leaves the gateway itself "
	    "without read and write on its own socket");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {listen: \"unix:a.sock\", mode: \"1777\", peer: bob, "
	    "service: x}\n", "5:35: forwards[0].mode: 1777 is over 0777 (setuid, setgid "
	    "and sticky bits mean nothing on a socket)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {listen: \"unix:a.sock\", owner: no-such-user-here, peer: bob, "
	    "service: x}\n", "5:36: forwards[0].owner: no user named no-such-user-here on "
	    "this system");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {listen: \"unix:\", peer: bob, service: x}\n", "5:14: forwards[0].listen: expected unix:PATH, got an empty "
	    "path");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {listen: 127.0.0.1:1, socks: 127.0.0.1:2, peer: bob}\n",
	    "5:34: forwards[0]: a forward has listen: (with service:) or "
	    "socks: (a dynamic forward), not both");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {peer: bob, service: x}\n", "5:5: forwards[0]: missing key \"listen\" (or \"socks\" for "
	    "a dynamic forward)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {socks: 127.0.0.1:2, peer: bob, service: x}\n", "5:46: forwards[0]: a dynamic forward (socks:) takes its "
	    "destination from each app; it has no service");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {listen: 127.0.0.1:2, peer: bob}\n", "5:5: forwards[0]: missing key \"service\"");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {socks: \"udp:127.0.0.1:2\", peer: bob}\n", "5:13: forwards[0].socks: expected HOST:PORT with an IP "
	    "address, or unix:PATH; UDP is not allowed here");
	bad(STP_EPARSE, "identity: @ID@\nlisten: \"udp:127.0.0.1:2\"\n",
	    "2:9: listen: expected HOST:PORT with an IP address; UDP is "
	    "not allowed here");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\n"
	    "services:\n  d: {connect: \"udp:127.0.0.1:53\", allow: [bob], "
	    "proxy_protocol: v1}\n", "5:66: services.d.proxy_protocol: applies to stream "
	    "services, not to a udp: one");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\n"
	    "services:\n  d: {connect: x:1, proxy_protocol: v3}\n", "5:37: services.d.proxy_protocol: expected off, v1 or v2, "
	    "got \"v3\"");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    destinations: [\"10.0.0.1/8:*\"]\n", "5:20: peers.bob.destinations[0]: 10.0.0.1 has bits set past "
	    "its prefix length 8");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    destinations: \"*:*\"\n", "5:19: peers.bob.destinations: expected a sequence of "
	    "HOST:PORTS rules, got a quoted string \"*:*\"");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {listen: \"udp:127.0.0.1:7\", peer: bob, service: x}\n"
	    "  - {listen: \"udp:127.0.0.1:7\", peer: bob, service: y}\n",
	    "6:14: forwards[1].listen: same address as "
	    "forwards[0].listen (line 5)");
	bad(STP_EPARSE, "identity: @ID@\ntimeouts: {datagram_idle: 500ms}\n",
	    "2:27: timeouts.datagram_idle: 500ms is out of range 1s..24h");
	/* One TCP and one UDP listener may share a port. */
	c = good("identity: @ID@\npeers:\n  bob: {key: @K1@}\nforwards:\n"
	    "  - {listen: \"udp:127.0.0.1:7\", peer: bob, service: x}\n"
	    "  - {listen: 127.0.0.1:7, peer: bob, service: y}\n");
	config_free(c);
	t_section("unix:, udp:, socks:, proxy_protocol, destinations");
}

/* Every refusal: exact position, key path and reason. */
static void
test_errors(void)
{
	char big[200];

	t_set_ctx("errors: file");
	bad(STP_EPARSE, "", " the file is empty: expected a mapping with at "
	    "least \"identity\"");
	bad(STP_EPARSE, "# only a comment\n", " the file is empty");
	bad(STP_EPARSE, "- identity\n", "1:1: expected a mapping at the top "
	    "level, got a sequence");
	bad(STP_EPARSE, "just text\n", "1:1: expected a mapping at the top "
	    "level, got \"just text\"");
	bad(STP_EPARSE, "{}\n", "1:1: missing key \"identity\"");
	bad(STP_EPARSE, "workers: 2\n", "1:1: missing key \"identity\"");
	bad(STP_EPARSE, "identity: @ID@\nworkers: 1\nworkers: 2\n",
	    "3:1: workers: duplicate key (first at line 2)");
	bad(STP_EPARSE, "identity: @ID@\nlisten: &a 127.0.0.1:1\n",
	    "2:9: anchors are not supported");
	bad(STP_EPARSE, "identity: @ID@\nlisten: [::1]:7400\n", "2:10: ");

	t_set_ctx("errors: keys");
	bad(STP_EPARSE, "identity: @ID@\nlisten2: 127.0.0.1:1\n",
	    "2:1: listen2: unknown key (expected one of: identity, "
	    "previous_identity, listen, access_secret, workers, log, metrics, "
	    "control, watch, include, peers, forwards, services, limits, "
	    "timeouts, flow, rekey, plugins)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    kye: x\n"
	    "    key: @K1@\n",
	    "4:5: peers.bob.kye: unknown key (expected one of: key, dial, "
	    "access_secret, proxy, sign_records, destinations)");
	bad(STP_EPARSE, "identity: @ID@\nlimits: {max_stream: 5}\n",
	    "2:10: limits.max_stream: unknown key (expected one of: "
	    "max_sessions, max_handshakes, handshakes_per_source, max_streams, "
	    "max_connections, session_buffer, replay_slots)");
	bad(STP_EPARSE, "identity: @ID@\nforwards:\n  - listen: 127.0.0.1:1\n"
	    "    peer: bob\n    service: x\n    remote: true\n",
	    "6:5: forwards[0].remote: unknown key (expected one of: listen, "
	    "socks, peer, service, allow_remote, mode, owner, group)");
	bad(STP_EPARSE, "identity: @ID@\nservices:\n  x:\n    connect: a:1\n"
	    "    allowed: [bob]\n",
	    "5:5: services.x.allowed: unknown key (expected one of: connect, "
	    "proxy_protocol, allow)");
	bad(STP_EPARSE, "identity: @ID@\ntimeouts:\n  idle: 5s\n",
	    "3:3: timeouts.idle: unknown key (expected one of: handshake, "
	    "connect, keepalive, dead_after, stream_idle, drain, "
	    "datagram_idle, resume_window, reconnect_min, reconnect_max)");
	bad(STP_EPARSE, "identity: @ID@\nlog: {colour: yes}\n",
	    "2:7: log.colour: unknown key (expected one of: level, format)");
	bad(STP_EPARSE, "identity: @ID@\nbad\xc3\xa9key: 1\n",
	    "2:1: bad??key: unknown key");

	t_set_ctx("errors: types");
	bad(STP_EPARSE, "identity: @ID@\nworkers: {a: 1}\n",
	    "2:10: workers: expected auto, or an integer 0..64, got a mapping");
	bad(STP_EPARSE, "identity: @ID@\nworkers: [1]\n",
	    "2:10: workers: expected auto, or an integer 0..64, got a sequence");
	bad(STP_EPARSE, "identity: @ID@\nworkers: \"4\"\n",
	    "2:10: workers: expected auto, or an integer 0..64, got a quoted "
	    "string \"4\"");
	bad(STP_EPARSE, "identity: @ID@\nworkers: 65\n",
	    "2:10: workers: 65 is out of range 0..64 (or auto)");
	bad(STP_EPARSE, "identity: @ID@\nworkers: -1\n",
	    "2:10: workers: expected auto, or an integer 0..64, got \"-1\"");
	bad(STP_EPARSE, "identity: @ID@\nworkers: 1.5\n",
	    "2:10: workers: expected auto, or an integer 0..64, got \"1.5\"");
	bad(STP_EPARSE, "identity: @ID@\nworkers: 010\n",
	    "2:10: workers: expected auto, or an integer 0..64, got \"010\"");
	bad(STP_EPARSE, "identity: @ID@\nworkers: Auto\n",
	    "2:10: workers: expected auto, or an integer 0..64, got \"Auto\"");
	bad(STP_EPARSE, "identity: @ID@\nforwards: {a: 1}\n",
	    "2:11: forwards: expected a sequence");
	bad(STP_EPARSE, "identity: @ID@\nforwards: 127.0.0.1:1\n",
	    "2:11: forwards: expected a sequence of forwards, got "
	    "\"127.0.0.1:1\"");
	bad(STP_EPARSE, "identity: @ID@\npeers: [bob]\n",
	    "2:8: peers: expected a mapping of peer names to peers, got a "
	    "sequence");
	bad(STP_EPARSE, "identity: @ID@\nservices: []\n",
	    "2:11: services: expected a mapping of service names to services, "
	    "got a sequence");
	bad(STP_EPARSE, "identity: @ID@\nlog: debug\n",
	    "2:6: log: expected a mapping, got \"debug\"");
	bad(STP_EPARSE, "identity: @ID@\nlog:\n  level: verbose\n",
	    "3:10: log.level: expected error, warn, info or debug, got "
	    "\"verbose\"");
	bad(STP_EPARSE, "identity: @ID@\nlog:\n  format: JSON\n",
	    "3:11: log.format: expected text or json, got \"JSON\"");
	bad(STP_EPARSE, "identity: @ID@\nplugins: pow\n",
	    "2:10: plugins: expected a mapping of plugin names to their settings, got \"pow\"");
	bad(STP_EPARSE, "identity: @ID@\nplugins: {powder: {}}\n",
	    "2:11: plugins.powder: unknown plugin (built in: pow, padding, socks5)");
	bad(STP_EPARSE, "identity: @ID@\nlimits: 5\n",
	    "2:9: limits: expected a mapping, got \"5\"");
	bad(STP_EPARSE, "identity: @ID@\nlimits:\n  max_streams: 0\n",
	    "3:16: limits.max_streams: 0 is out of range 1..1000000");
	bad(STP_EPARSE, "identity: @ID@\nlimits:\n  session_buffer: "
	    "99999999999 GiB\n",
	    "3:19: limits.session_buffer: 99999999999 GiB is out of range "
	    "64KiB..64GiB");
	bad(STP_EPARSE, "identity: @ID@\nlimits:\n  replay_slots: 7\n",
	    "3:17: limits.replay_slots: 7 is out of range 8..1048576");
	bad(STP_EPARSE, "identity: @ID@\nlimits:\n  replay_slots: 2097152\n",
	    "3:17: limits.replay_slots: 2097152 is out of range 8..1048576");
	bad(STP_EPARSE, "identity: @ID@\nlimits:\n  replay_slots: 100\n",
	    "3:17: limits.replay_slots: 100 is not a multiple of 8 (nearest: "
	    "96 or 104)");
	bad(STP_EPARSE, "identity: @ID@\nlimits:\n  replay_slots: 9\n",
	    "3:17: limits.replay_slots: 9 is not a multiple of 8 (nearest: 8 "
	    "or 16)");
	bad(STP_EPARSE, "identity: @ID@\nlimits:\n  replay_slots: 1048575\n",
	    "3:17: limits.replay_slots: 1048575 is not a multiple of 8 "
	    "(nearest: 1048568 or 1048576)");
	bad(STP_EPARSE, "identity: @ID@\nlimits: {replay_slots: lots}\n",
	    "2:24: limits.replay_slots: expected an integer 8..1048576, got "
	    "\"lots\"");
	bad(STP_EPARSE, "identity: @ID@\nlimits:\n  replay_slots: -8\n",
	    "3:17: limits.replay_slots: -8 is out of range 8..1048576");
	bad(STP_EPARSE, "identity: @ID@\nlimits:\n  session_buffer: 16 MB\n",
	    "3:19: limits.session_buffer: expected a size 64KiB..64GiB (bytes, "
	    "or a number with B, KiB, MiB or GiB), got \"16 MB\"");
	bad(STP_EPARSE, "identity: @ID@\ntimeouts:\n  keepalive: 1.5s\n",
	    "3:14: timeouts.keepalive: expected a duration 100ms..1h (a number "
	    "with ms, s, m or h; a bare number is seconds), got \"1.5s\"");
	bad(STP_EPARSE, "identity: @ID@\ntimeouts:\n  handshake: 0\n",
	    "3:14: timeouts.handshake: 0 is out of range 100ms..10m");
	bad(STP_EPARSE, "identity: @ID@\ntimeouts: {stream_idle: yes}\n",
	    "2:25: timeouts.stream_idle: expected a duration 0ms..720h");
	bad(STP_EPARSE, "identity: @ID@\nflow:\n  window: 8KiB\n",
	    "3:11: flow.window: 8KiB is out of range 16KiB..1GiB");
	bad(STP_EPARSE, "identity: @ID@\nflow:\n  max_window: 2GiB\n",
	    "3:15: flow.max_window: 2GiB is out of range 16KiB..1GiB");
	bad(STP_EPARSE, "identity: @ID@\nrekey:\n  interval: 500ms\n",
	    "3:13: rekey.interval: 500ms is out of range 1s..24h");
	bad(STP_EPARSE, "identity: @ID@\nrekey:\n  bytes: lots\n",
	    "3:10: rekey.bytes: expected a size 1MiB..1024GiB");

	t_set_ctx("errors: addresses");
	bad(STP_EPARSE, "identity: @ID@\nlisten: localhost:70000\n",
	    "2:9: listen: expected HOST:PORT with an IP address, got "
	    "\"localhost:70000\"");
	bad(STP_EPARSE, "identity: @ID@\nlisten: 127.0.0.1:70000\n",
	    "2:9: listen: port out of range 1..65535 in \"127.0.0.1:70000\"");
	bad(STP_EPARSE, "identity: @ID@\nlisten: 127.0.0.1:0\n",
	    "2:9: listen: port out of range 1..65535 in \"127.0.0.1:0\"");
	bad(STP_EPARSE, "identity: @ID@\nlisten: 127.0.0.1:http\n",
	    "2:9: listen: expected a numeric port after the ':', got "
	    "\"127.0.0.1:http\"");
	bad(STP_EPARSE, "identity: @ID@\nlisten: 127.0.0.1\n",
	    "2:9: listen: expected HOST:PORT with an IP address, got "
	    "\"127.0.0.1\"");
	bad(STP_EPARSE, "identity: @ID@\nlisten: \":7400\"\n",
	    "2:9: listen: expected HOST:PORT with an IP address, got "
	    "\":7400\"");
	bad(STP_EPARSE, "identity: @ID@\nlisten: \"::1:7400\"\n",
	    "2:9: listen: expected HOST:PORT with an IP address, got "
	    "\"::1:7400\" (write an IPv6 address in brackets, e.g. "
	    "\"[::1]:7400\")");
	bad(STP_EPARSE, "identity: @ID@\nlisten: \"[127.0.0.1]:80\"\n",
	    "2:9: listen: expected an IPv6 address inside [ ], got "
	    "\"[127.0.0.1]:80\"");
	bad(STP_EPARSE, "identity: @ID@\nlisten: \"[::1]7400\"\n",
	    "2:9: listen: expected HOST:PORT with an IP address, got "
	    "\"[::1]7400\"");
	bad(STP_EPARSE, "identity: @ID@\nlisten: 256.1.1.1:80\n",
	    "2:9: listen: expected HOST:PORT with an IP address, got "
	    "\"256.1.1.1:80\"");
	bad(STP_EPARSE, "identity: @ID@\nlisten: [a, b]\n",
	    "2:9: listen: expected HOST:PORT with an IP address, got a "
	    "sequence (quote IPv6 addresses: \"[::1]:7400\")");
	bad(STP_EPARSE, "identity: @ID@\nmetrics: 0.0.0.0:9100\n",
	    "2:10: metrics: 0.0.0.0 is not a loopback address (expected "
	    "127.0.0.0/8 or [::1])");
	bad(STP_EPARSE, "identity: @ID@\nmetrics: \"[::]:9100\"\n",
	    "2:10: metrics: :: is not a loopback address");
	bad(STP_EPARSE, "identity: @ID@\nmetrics: {listen: 0.0.0.0:9100}\n",
	    "2:19: metrics.listen: 0.0.0.0 is not a loopback address; the "
	    "endpoint is unauthenticated plain HTTP: set metrics.allow_remote: "
	    "true to serve it there");
	bad(STP_EPARSE, "identity: @ID@\nmetrics: {allow_remote: true}\n",
	    "2:10: metrics: missing key \"listen\"");
	bad(STP_EPARSE, "identity: @ID@\nmetrics: {listen: 0.0.0.0:9100, "
	    "allow_remote: maybe}\n", "2:47: metrics.allow_remote: expected "
	    "true or false");
	{
		config *c = good("identity: @ID@\nmetrics:\n  listen: 0.0.0.0:9100\n"
		    "  allow_remote: true\n");

		if (c != NULL) {
			T_OK(c->has_metrics && c->metrics_allow_remote &&
			    c->metrics.port == 9100);
			config_free(c);
		}
		c = good("identity: @ID@\nmetrics: {listen: 127.0.0.1:9100}\n");
		if (c != NULL) {
			T_OK(c->has_metrics && !c->metrics_allow_remote);
			config_free(c);
		}
	}
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    dial: bad_host:7400\n",
	    "5:11: peers.bob.dial: expected HOST:PORT with an IP address or "
	    "DNS name, got \"bad_host:7400\"");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    dial: -a.example:7400\n",
	    "5:11: peers.bob.dial: expected HOST:PORT with an IP address or "
	    "DNS name, got \"-a.example:7400\"");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    dial: 10.0.0.300:7400\n",
	    "5:11: peers.bob.dial: expected HOST:PORT with an IP address or "
	    "DNS name, got \"10.0.0.300:7400\"");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    dial: a..b:1\n",
	    "5:11: peers.bob.dial: expected HOST:PORT with an IP address or "
	    "DNS name");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    proxy: http://127.0.0.1:8080\n",
	    "5:12: peers.bob.proxy: expected socks5://[USER:PASS@]HOST:PORT: "
	    "the value must start with \"socks5://\"");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    proxy: socks5://user:secret@127.0.0.1\n",
	    "5:12: peers.bob.proxy: expected socks5://[USER:PASS@]HOST:PORT; "
	    "after the \"socks5://\" and the \"@\": expected HOST:PORT with an "
	    "IP address or DNS name, got \"127.0.0.1\"");
	bad(STP_EPARSE, "identity: @ID@\nservices:\n  x:\n"
	    "    connect: db.example:99999\n",
	    "4:14: services.x.connect: port out of range 1..65535 in "
	    "\"db.example:99999\"");
	bad(STP_EPARSE, "identity: @ID@\nservices:\n  x:\n    connect: 5432\n",
	    "4:14: services.x.connect: expected HOST:PORT with an IP address "
	    "or DNS name, got \"5432\"");

	t_set_ctx("errors: keys and names");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @BAD@\n",
	    "4:10: peers.bob.key: checksum mismatch: key text mistyped or "
	    "corrupted");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: ssh-ed25519 "
	    "AAAA\n",
	    "4:10: peers.bob.key: not a public key: key text starts with "
	    "'stp1:'");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: stp1:abc\n",
	    "4:10: peers.bob.key: wrong length: 3 characters after 'stp1:', "
	    "expected 48");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: 5\n",
	    "4:10: peers.bob.key: not a public key");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: [a]\n",
	    "4:11: peers.bob.key: not a public key: key text starts with "
	    "'stp1:'");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: []\n",
	    "4:10: peers.bob.key: a list of 0 keys; a peer lists 1 to 4 (more "
	    "than one only while it rotates its key)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: [@K1@, "
	    "@K2@, @K3@, @OWN2@, @OWN@]\n",
	    "4:10: peers.bob.key: a list of 5 keys; a peer lists 1 to 4");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key:\n"
	    "      - @K1@\n      - @K1@\n",
	    "6:9: peers.bob.key: listed twice (also at line 5)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: [{a: 1}]\n",
	    "4:11: peers.bob.key: expected a public key (stp1:..., as "
	    "`stpgate pubkey` prints it), or a list of them during a rotation, "
	    "got a mapping");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key:\n",
	    "4:9: peers.bob.key: expected a public key (stp1:..., as "
	    "`stpgate pubkey` prints it), or a list of them during a rotation, "
	    "got null");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    dial: 10.0.0.1:1\n",
	    "4:5: peers.bob: missing key \"key\"");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {}\n",
	    "3:8: peers.bob: missing key \"key\"");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: @K1@\n",
	    "3:8: peers.bob: expected a mapping with at least \"key\", got "
	    "\"stp1:");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n",
	    "3:7: peers.bob: expected a mapping with at least \"key\", got "
	    "null");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  b@d:\n    key: @K1@\n",
	    "3:3: peers.b@d: invalid peer name (expected 1..63 characters from "
	    "A-Z a-z 0-9 _ . -)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  \"\":\n    key: @K1@\n",
	    "3:3: peers.\"\": invalid peer name");
	memset(big, 'n', 64);
	snprintf(big + 64, sizeof(big) - 64, ":\n    key: @K1@\n");
	{
		char text[300];

		snprintf(text, sizeof(text), "identity: @ID@\npeers:\n  %s",
		    big);
		bad(STP_EPARSE, text, "3:3: peers.nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn: invalid peer name");
	}
	bad(STP_EPARSE, "identity: @ID@\nservices:\n  my service:\n"
	    "    connect: a:1\n",
	    "3:3: services.my service: invalid service name");
	bad(STP_EPARSE, "identity: @ID@\nservices:\n  x:\n    allow: [bob]\n",
	    "4:5: services.x: missing key \"connect\"");
	bad(STP_EPARSE, "identity: @ID@\nservices:\n  x: {connect: a:1, "
	    "allow: bob}\n",
	    "3:28: services.x.allow: expected a sequence of peer names, got "
	    "\"bob\"");
	bad(STP_EPARSE, "identity: @ID@\nservices:\n  x: {connect: a:1, "
	    "allow: [bob, b!]}\n",
	    "3:34: services.x.allow[1]: expected a name of 1..63 characters "
	    "from A-Z a-z 0-9 _ . -, got \"b!\"");
	bad(STP_EPARSE, "identity: @ID@\nforwards:\n  - 127.0.0.1:1\n",
	    "3:5: forwards[0]: expected a mapping (listen, peer, service, "
	    "...), got \"127.0.0.1:1\"");
	bad(STP_EPARSE, "identity: @ID@\nforwards:\n  - listen: 127.0.0.1:1\n"
	    "    peer: bob\n",
	    "3:5: forwards[0]: missing key \"service\"");
	bad(STP_EPARSE, "identity: @ID@\nforwards:\n  - listen: 127.0.0.1:1\n"
	    "    peer: bob\n    service: pg sql\n",
	    "5:14: forwards[0].service: expected a name of 1..63 characters "
	    "from A-Z a-z 0-9 _ . -, got \"pg sql\"");
	bad(STP_EPARSE, "identity: @ID@\nforwards:\n  - listen: 127.0.0.1:1\n"
	    "    peer: {bob: 1}\n    service: x\n",
	    "4:11: forwards[0].peer: expected a name of 1..63 characters from "
	    "A-Z a-z 0-9 _ . -, got a mapping");
	bad(STP_EPARSE, "identity: @ID@\nforwards:\n  - listen: 127.0.0.1:1\n"
	    "    peer: bob\n    service: x\n    allow_remote: \"true\"\n",
	    "6:19: forwards[0].allow_remote: expected true or false, got a "
	    "quoted string \"true\"");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    sign_records: maybe\n",
	    "5:19: peers.bob.sign_records: expected true or false, got "
	    "\"maybe\"");

	t_set_ctx("errors: paths");
	bad(STP_EPARSE, "identity:\n", "1:10: identity: expected a path, got "
	    "null");
	bad(STP_EPARSE, "identity: \"\"\n", "1:11: identity: expected a path, "
	    "got a quoted string \"\"");
	bad(STP_EPARSE, "identity: {a: b}\n", "1:11: identity: expected a "
	    "path, got a mapping");
	bad(STP_EPARSE, "identity: @ID@\ncontrol: /run/stpgate/xxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxx.sock\n",
	    "2:10: control: path is 123 bytes; the limit is 107 for a socket");
}

/* Relations between entries (pass 2) and the identity file (pass 3). */
/* A rotation: previous_identity, and a peer listing two keys. */
static void
test_rotation(void)
{
	config *c;
	uint8_t pk[SIGN_PUB_LEN];
	char text[IDENTITY_PUBTEXT_LEN + 1], sum[1024];

	t_set_ctx("rotation");
	if ((c = good("identity: @ID@\nprevious_identity: @ID2@\npeers:\n"
	    "  bob:\n    key: [@K1@, @K2@]\n  carol: {key: @K3@}\n")) == NULL)
		return;
	T_OK(c->previous_identity != NULL);
	T_OK(strcmp(c->previous_identity_path, idpath2) == 0);
	if (c->previous_identity != NULL) {
		sign_key_public(c->previous_identity, pk);
		identity_pub_encode(pk, text);
		T_OK(strcmp(text, own2) == 0);
	}
	T_INT(c->peers[0].n_keys, 2);
	T_INT(c->peers[1].n_keys, 1);
	T_INT(c->peers[0].keys_pos[1].line, 5);
	T_INT(c->peers[0].keys_pos[1].col, 11 + IDENTITY_PUBTEXT_LEN + 2);
	T_INT(config_peer_by_key(c, keyraw[0]), 0);
	T_INT(config_peer_by_key(c, keyraw[1]), 0);
	T_INT(config_peer_by_key(c, keyraw[2]), 1);
	T_INT(config_peer_has_key(&c->peers[0], keyraw[1]), 1);
	T_INT(config_peer_has_key(&c->peers[0], keyraw[2]), 0);
	config_summary(c, sum, sizeof(sum));
	T_OK(strstr(sum, own2) != NULL && strstr(sum, "(and previous ") != NULL);
	config_free(c);
	/* Block style, one key in a list: the same as the plain form. */
	if ((c = good("identity: @ID@\npeers:\n  bob:\n    key:\n"
	    "      - @K1@\n")) == NULL)
		return;
	T_INT(c->peers[0].n_keys, 1);
	T_INT(config_peer_by_key(c, keyraw[0]), 0);
	T_OK(c->previous_identity == NULL);
	config_free(c);
}

static void
test_relations(void)
{
	t_set_ctx("errors: relations");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "  carol:\n    key: @K2@\n  dave:\n    key: @K1@\n",
	    "8:10: peers.dave.key: same key as peers.bob (line 4)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\n"
	    "  carol: {key: @K1@}\n  dave: {key: @K1@}\n",
	    "4:16: peers.carol.key: same key as peers.bob (line 3)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\n"
	    "  carol: {key: @K2@}\nforwards:\n"
	    "  - {listen: 127.0.0.1:1, peer: bobb, service: x}\n",
	    "6:33: forwards[0].peer: no peer named \"bobb\" (known: bob, "
	    "carol)");
	bad(STP_EPARSE, "identity: @ID@\nforwards:\n"
	    "  - {listen: 127.0.0.1:1, peer: bob, service: x}\n",
	    "3:33: forwards[0].peer: no peer named \"bob\" (no peers are "
	    "defined)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  p1: {key: @K1@}\n"
	    "  p2: {key: @K2@}\n  p3: {key: @K3@}\n  p4: {key: @OWN@}\n",
	    "6:13: peers.p4.key: this is our own public key (identity: ");
	/* A rotation's lists: a key in two peers' lists, wherever it sits. */
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key:\n"
	    "      - @K1@\n      - @K2@\n  carol:\n    key:\n"
	    "      - @K3@\n      - @K2@\n",
	    "10:9: peers.carol.key: same key as peers.bob (line 6)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  p1: {key: [@OWN@, @K1@]}\n",
	    "3:14: peers.p1.key: this is our own public key (identity: ");
	/* previous_identity: a second identity we answer to. */
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  p1:\n    key:\n"
	    "      - @K1@\n      - @OWN2@\nprevious_identity: @ID2@\n",
	    "6:9: peers.p1.key: this is our own public key (previous_identity: ");
	bad(STP_EPARSE, "identity: @ID@\nprevious_identity: @ID@\n",
	    "2:20: previous_identity: the same key as identity: (");
	bad(STP_EIO, "identity: @ID@\nprevious_identity: nothere.key\n",
	    "2:20: previous_identity: ");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\n"
	    "services:\n  pg:\n    connect: 127.0.0.1:5432\n"
	    "    allow: [bob, eve]\n",
	    "7:18: services.pg.allow[1]: no peer named \"eve\" (known: bob)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\n"
	    "forwards:\n  - {listen: 127.0.0.1:8080, peer: bob, service: x}\n"
	    "  - {listen: 0.0.0.0:8081, peer: bob, service: x}\n",
	    "6:14: forwards[1].listen: 0.0.0.0 is not a loopback address; set "
	    "allow_remote: true to listen there");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\n"
	    "forwards:\n  - {listen: \"[::]:80\", peer: bob, service: x}\n",
	    "5:14: forwards[0].listen: :: is not a loopback address");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\n"
	    "forwards:\n  - {listen: 127.0.0.1:8080, peer: bob, service: x}\n"
	    "  - {listen: 127.0.0.1:8080, peer: bob, service: y}\n",
	    "6:14: forwards[1].listen: same address as forwards[0].listen "
	    "(line 5)");
	bad(STP_EPARSE, "identity: @ID@\nlisten: 0.0.0.0:7400\n"
	    "peers:\n  bob: {key: @K1@}\n"
	    "forwards:\n  - {listen: 127.0.0.1:7400, peer: bob, service: x}\n",
	    "6:14: forwards[0].listen: 127.0.0.1:7400 overlaps listen "
	    "0.0.0.0:7400 (line 2)");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K1@}\n"
	    "forwards:\n  - {listen: 127.0.0.1:9100, peer: bob, service: x}\n"
	    "listen: \"[::]:9100\"\n",
	    "6:9: listen: [::]:9100 overlaps forwards[0].listen 127.0.0.1:9100 "
	    "(line 5)");
	bad(STP_EPARSE, "identity: @ID@\nlisten: 127.0.0.1:9100\n"
	    "metrics: 127.0.0.1:9100\n",
	    "3:10: metrics: same address as listen (line 2)");
	bad(STP_EPARSE, "identity: @ID@\nflow:\n  window: 32MiB\n",
	    "3:11: flow.window: flow.window (32MiB) must be at most "
	    "flow.max_window (16MiB)");
	bad(STP_EPARSE, "identity: @ID@\nflow:\n  max_window: 64KiB\n",
	    "3:15: flow.max_window: flow.window (256KiB) must be at most "
	    "flow.max_window (64KiB)");
	bad(STP_EPARSE, "identity: @ID@\nflow:\n  max_window: 1MiB\n"
	    "  window: 2MiB\n",
	    "4:11: flow.window: flow.window (2MiB) must be at most "
	    "flow.max_window (1MiB)");
	bad(STP_EPARSE, "identity: @ID@\ntimeouts:\n  dead_after: 10s\n",
	    "3:15: timeouts.dead_after: timeouts.keepalive (15s) must be less "
	    "than timeouts.dead_after (10s)");
	bad(STP_EPARSE, "identity: @ID@\ntimeouts:\n  keepalive: 45s\n",
	    "3:14: timeouts.keepalive: timeouts.keepalive (45s) must be less "
	    "than timeouts.dead_after (45s)");
	bad(STP_EPARSE, "identity: @ID@\ntimeouts:\n  reconnect_max: 500ms\n",
	    "3:18: timeouts.reconnect_max: timeouts.reconnect_min (1s) must be "
	    "at most timeouts.reconnect_max (500ms)");

	/* The first error in the file wins, whatever the order of checks. */
	t_set_ctx("errors: file order");
	bad(STP_EPARSE, "identity: @ID@\nforwards:\n"
	    "  - {listen: 0.0.0.0:1, peer: nobody, service: x}\n"
	    "peers:\n  bob: {key: @K1@}\n  carol: {key: @K1@}\n",
	    "3:14: forwards[0].listen: 0.0.0.0 is not a loopback address");
	bad(STP_EPARSE, "identity: @ID@\nflow:\n  window: 32MiB\nforwards:\n"
	    "  - {listen: 127.0.0.1:1, peer: nobody, service: x}\n",
	    "3:11: flow.window: flow.window (32MiB)");
	bad(STP_EPARSE, "identity: @ID@\nforwards:\n"
	    "  - {listen: 127.0.0.1:1, peer: nobody, service: x}\n"
	    "flow:\n  window: 32MiB\n",
	    "3:33: forwards[0].peer: no peer named \"nobody\"");
	/* Values are checked before relations, relations before the identity. */
	bad(STP_EPARSE, "identity: @ID@\nforwards:\n"
	    "  - {listen: 127.0.0.1:1, peer: nobody, service: x}\n"
	    "workers: 99\n",
	    "4:10: workers: 99 is out of range 0..64");
	bad(STP_EPARSE, "identity: /nonexistent/stp-id.key\nforwards:\n"
	    "  - {listen: 127.0.0.1:1, peer: nobody, service: x}\n",
	    "3:33: forwards[0].peer: no peer named \"nobody\"");
}

static void
test_identity_file(void)
{
	char text[256], want[512];
	sign_key *k;
	char err[512];
	const char *notid = "this is not an identity file\n";

	t_set_ctx("errors: identity file");
	snprintf(want, sizeof(want), "1:11: identity: %s/missing.key: No such "
	    "file or directory", tmpdir);
	snprintf(text, sizeof(text), "identity: %s/missing.key\n", tmpdir);
	bad(STP_EIO, text, want);

	if (identity_generate(&k) != 0 ||
	    identity_save(tpath("id644.key"), k, 0, err, sizeof(err)) != 0) {
		T_OK(!"identity_save");
		return;
	}
	sign_key_free(k);
	chmod(tpath("id644.key"), 0644);
	snprintf(text, sizeof(text), "identity: %s\n", tpath("id644.key"));
	snprintf(want, sizeof(want), "1:11: identity: %s: mode 0644 lets group "
	    "or others access this secret key; run: chmod 600 %s",
	    tpath("id644.key"), tpath("id644.key"));
	bad(STP_EPERM, text, want);

	write_file(tpath("notid.key"), notid, strlen(notid), 0600);
	snprintf(text, sizeof(text), "peers: {}\nidentity: %s\n",
	    tpath("notid.key"));
	snprintf(want, sizeof(want), "2:11: identity: %s:1: unexpected text",
	    tpath("notid.key"));
	bad(STP_EPARSE, text, want);

	snprintf(text, sizeof(text), "identity: %s\n", tmpdir);
	snprintf(want, sizeof(want), "1:11: identity: %s: not a regular file",
	    tmpdir);
	bad(STP_EIO, text, want);
}

/* access_secret and peers.NAME.access_secret, and the config file's mode. */
static void
test_secrets(void)
{
	char text[512], want[1024], sum[512], err[1024];
	const char *p;
	config *c = NULL;
	int rc;

	t_set_ctx("access secrets");
	c = good("identity: @ID@\nlisten: 127.0.0.1:7400\n"
	    "access_secret: @S1@\n"
	    "peers:\n  bob:\n    key: @K1@\n    dial: 192.0.2.7:7400\n"
	    "    access_secret: \"@S2@\"\n"
	    "  carol:\n    key: @K2@\n"
	    "  dave:\n    key: @K3@\n    access_secret:\n");
	if (c != NULL) {
		T_INT(c->has_access_secret, 1);
		T_MEM(c->access_secret, 32, secraw[0], 32);
		T_INT((long long)c->n_peers, 3);
		if (c->n_peers == 3) {
			T_INT(c->peers[0].has_access_secret, 1);
			T_MEM(c->peers[0].access_secret, 32, secraw[1], 32);
			T_INT(c->peers[1].has_access_secret, 0);
			T_OK(t_all_zero(c->peers[1].access_secret, 32));
			/* Given with no value: not set. */
			T_INT(c->peers[2].has_access_secret, 0);
		}
		/* The summary says a secret is set, never what it is. */
		config_summary(c, sum, sizeof(sum));
		snprintf(want, sizeof(want), "%s: ok: identity %s, 3 peers "
		    "(1 dialed, 1 with an access secret), 0 forwards, "
		    "0 services, listen 127.0.0.1:7400 (access secret: set), "
		    "workers auto, control /run/stp-test/c.sock", cfgpath, own);
		t_check(strcmp(sum, want) == 0, __FILE__, __LINE__, t_ctx,
		    "summary\n    got  \"%s\"\n    want \"%s\"", sum, want);
		T_OK(strstr(sum, sectext[0]) == NULL);
		T_OK(strstr(sum, "stps1:") == NULL);
		config_free(c);
	}
	/* One secret, on a peer only (a gateway that dials but does not listen). */
	c = good("identity: @ID@\npeers:\n  bob:\n    access_secret: @S1@\n"
	    "    key: @K1@\n");
	if (c != NULL) {
		T_INT(c->has_access_secret, 0);
		T_INT(c->peers[0].has_access_secret, 1);
		T_MEM(c->peers[0].access_secret, 32, secraw[0], 32);
		config_summary(c, sum, sizeof(sum));
		T_OK(strstr(sum, "(0 dialed, 1 with an access secret)") != NULL);
		T_OK(strstr(sum, "not listening, ") != NULL);
		config_free(c);
	}
	/* Allowed without listen (no use until the gateway listens). */
	c = good("identity: @ID@\naccess_secret: @S2@\n");
	if (c != NULL) {
		T_INT(c->has_access_secret, 1);
		T_MEM(c->access_secret, 32, secraw[1], 32);
		config_free(c);
	}
	/* Group may read it (root:stpgate 0640 is the usual set-up). */
	cfg_mode = 0640;
	c = good("identity: @ID@\naccess_secret: @S1@\n");
	config_free(c);
	cfg_mode = 0600;

	t_set_ctx("errors: access secrets");
	bad(STP_EPARSE, "identity: @ID@\naccess_secret: @SBAD@\n",
	    "2:16: access_secret: checksum mismatch: secret text mistyped or "
	    "corrupted");
	bad(STP_EPARSE, "identity: @ID@\naccess_secret: @K1@\n",
	    "2:16: access_secret: this is a public key ('stp1:...'), not an "
	    "access secret: secret text starts with 'stps1:' (`stpgate "
	    "secret` makes one)");
	bad(STP_EPARSE, "identity: @ID@\naccess_secret: hunter2\n",
	    "2:16: access_secret: not an access secret: secret text starts "
	    "with 'stps1:'");
	bad(STP_EPARSE, "identity: @ID@\naccess_secret: stps1:abc\n",
	    "2:16: access_secret: wrong length: 3 characters after 'stps1:', "
	    "expected 48");
	bad(STP_EPARSE, "identity: @ID@\naccess_secret: stps1:ab+c\n",
	    "2:16: access_secret: invalid character '+' at position 9 in "
	    "secret text");
	bad(STP_EPARSE, "identity: @ID@\naccess_secret: stps1:AAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
	    "2:16: access_secret: padding '=' is not allowed in secret text");
	bad(STP_EPARSE, "identity: @ID@\naccess_secret: 5\n",
	    "2:16: access_secret: not an access secret");
	bad(STP_EPARSE, "identity: @ID@\naccess_secret: [a]\n",
	    "2:16: access_secret: expected an access secret (stps1:..., as "
	    "`stpgate secret` prints it), got a sequence");
	bad(STP_EPARSE, "identity: @ID@\naccess_secret: {a: b}\n",
	    "2:16: access_secret: expected an access secret (stps1:..., as "
	    "`stpgate secret` prints it), got a mapping");
	bad(STP_EPARSE, "identity: @ID@\naccess_secret: \"stps1:\\0\"\n",
	    "2:16: access_secret: an access secret cannot contain a NUL byte");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    access_secret: @SBAD@\n",
	    "5:20: peers.bob.access_secret: checksum mismatch: secret text "
	    "mistyped or corrupted");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    access_secret: @OWN@\n",
	    "5:20: peers.bob.access_secret: this is a public key");
	bad(STP_EPARSE, "identity: @ID@\npeers:\n  bob:\n    key: @K1@\n"
	    "    access_secret: \"stps1:\"\n",
	    "5:20: peers.bob.access_secret: wrong length: 0 characters");
	/* No message quotes a secret, even a mistyped one. */
	snprintf(text, sizeof(text), "identity: %s\naccess_secret: %s\n",
	    idpath, badsecret);
	write_file(cfgpath, text, strlen(text), 0600);
	T_INT(config_load(cfgpath, &c, err, sizeof(err)), STP_EPARSE);
	T_OK(strstr(err, badsecret + SECRET_TEXT_PREFIX_LEN) == NULL);

	/* A secret in a file every user may read: refused at the first one. */
	t_set_ctx("errors: access secret, config mode");
	cfg_mode = 0644;
	snprintf(want, sizeof(want), "2:1: access_secret: %s is readable by "
	    "every user (mode 0644); chmod o-r it, since it holds a secret",
	    cfgpath);
	bad(STP_EPERM, "identity: @ID@\naccess_secret: @S1@\n"
	    "peers:\n  bob: {key: @K1@, access_secret: @S2@}\n", want);
	cfg_mode = 0604;
	snprintf(want, sizeof(want), "4:5: peers.bob.access_secret: %s is "
	    "readable by every user (mode 0604); chmod o-r it, since it holds "
	    "a secret", cfgpath);
	bad(STP_EPERM, "identity: @ID@\npeers:\n  bob:\n"
	    "    access_secret: @S2@\n    key: @K1@\naccess_secret: @S1@\n",
	    want);
	/* The value is checked first: a bad one is reported as such. */
	cfg_mode = 0644;
	bad(STP_EPARSE, "identity: @ID@\naccess_secret: @SBAD@\n",
	    "2:16: access_secret: checksum mismatch");
	/* Errors earlier in the file still come first. */
	bad(STP_EPARSE, "identity: @ID@\nworkers: 99\naccess_secret: @S1@\n",
	    "2:10: workers: 99 is out of range 0..64");
	/* Without a secret, or with one given no value, the mode is free. */
	c = good("identity: @ID@\naccess_secret:\npeers:\n  bob: {key: @K1@}\n");
	config_free(c);
	cfg_mode = 0600;

	/* The check follows a symlink to the file it names. */
	snprintf(text, sizeof(text), "identity: %s\naccess_secret: %s\n",
	    idpath, sectext[0]);
	write_file(tpath("ex.yaml"), text, strlen(text), 0644);
	unlink(tpath("link.yaml"));
	p = tpath("link.yaml");
	if (T_INT(symlink("ex.yaml", p), 0)) {
		c = NULL;
		rc = config_load(p, &c, err, sizeof(err));
		T_INT(rc, STP_EPERM);
		T_OK(c == NULL);
		T_OK(strstr(err, "(mode 0644)") != NULL);
		chmod(tpath("ex.yaml"), 0600);
		T_INT(config_load(p, &c, err, sizeof(err)), 0);
		config_free(c);
		unlink(p);
	}
	unlink(tpath("ex.yaml"));
}

/* The config file itself. */
static void
test_config_file(void)
{
	char err[1024] = "", want[512];
	config *c = NULL;
	char *buf;
	size_t n = CFG_FILE_MAX + 1;

	t_set_ctx("config file");
	T_INT(config_load(tpath("nonexistent.yaml"), &c, err, sizeof(err)),
	    STP_EIO);
	T_OK(c == NULL);
	snprintf(want, sizeof(want), "%s: ", tpath("nonexistent.yaml"));
	T_OK(strncmp(err, want, strlen(want)) == 0);

	/* Writable by others: refused, as an identity readable by others is. */
	t_set_ctx("config file: writable by others");
	write_file(tpath("gw.yaml"), "identity: x.key\n", 16, 0600);
	chmod(tpath("gw.yaml"), 0664);
	T_INT(config_load(tpath("gw.yaml"), &c, err, sizeof(err)), STP_EPERM);
	T_OK(c == NULL);
	snprintf(want, sizeof(want), "%s: writable by its group (mode 0664): "
	    "whoever can change it chooses the keys this gateway trusts; chmod "
	    "go-w %s", tpath("gw.yaml"), tpath("gw.yaml"));
	t_check(strcmp(err, want) == 0, __FILE__, __LINE__, t_ctx,
	    "got \"%s\"", err);
	chmod(tpath("gw.yaml"), 0602);
	T_INT(config_load(tpath("gw.yaml"), &c, err, sizeof(err)), STP_EPERM);
	T_OK(strstr(err, "writable by every user (mode 0602)") != NULL);
	t_set_ctx("config file");

	buf = malloc(n);
	memset(buf, '#', n);
	buf[n - 1] = '\n';
	write_file(tpath("big.yaml"), buf, n, 0600);
	free(buf);
	T_INT(config_load(tpath("big.yaml"), &c, err, sizeof(err)),
	    STP_ETOOBIG);
	T_OK(c == NULL);

	/* A tiny error buffer is filled and terminated, never overrun. */
	{
		char small[8];

		memset(small, 'x', sizeof(small));
		T_INT(config_load(tpath("nonexistent.yaml"), &c, small, 5),
		    STP_EIO);
		T_INT((long long)strlen(small), 4);
		T_INT(small[5], 'x');
		T_INT(config_load(tpath("nonexistent.yaml"), &c, NULL, 0),
		    STP_EIO);
	}
}

/* ---- include: ---- */

/* The files the include tests share, under tmpdir/inc. */
static void
include_files(void)
{
	rm_tree("inc");
	mkdir(tpath("inc"), 0700);
	mkdir(tpath("inc/peers.d"), 0700);
	mkdir(tpath("inc/empty.d"), 0700);
	mkdir(tpath("inc/x"), 0700);
	put("inc/peers.d/a.yaml",
	    "peers:\n"
	    "  bob:\n"
	    "    key: @K1@\n"
	    "    dial: bob.example.net:7400\n"
	    "services:\n"
	    "  pg:\n"
	    "    connect: 127.0.0.1:5432\n"
	    "    allow: [bob, carol]\n", 0600);
	put("inc/peers.d/b.yaml",
	    "# carol, and a forward to bob's pg\n"
	    "peers:\n"
	    "  carol: {key: @K2@}\n"
	    "forwards:\n"
	    "  - {listen: 127.0.0.1:15433, peer: bob, service: pg}\n", 0600);
	put("inc/peers.d/c.yaml", "", 0600);
	put("inc/peers.d/d.yaml", "# nothing here yet\n\n", 0640);
	/* Not matched by *.yaml: a dot file and another suffix. */
	put("inc/peers.d/.e.yaml", "identity: [\n", 0600);
	put("inc/peers.d/notes.txt", "identity: [\n", 0600);
	put("inc/services.yaml",
	    "services:\n"
	    "  web:\n"
	    "    connect: wiki.internal.example:80\n"
	    "    allow: [carol, dave]\n", 0600);
}

/* Peers, services and forwards from several files, merged in load order. */
static void
test_include_merge(void)
{
	char sum[512], want[512];
	config *c;

	t_set_ctx("include: merged");
	include_files();
	c = good("identity: @ID@\n"
	    "include:\n"
	    "  - inc/peers.d/*.yaml\n"
	    "  - inc/services.yaml\n"
	    "peers:\n"
	    "  dave: {key: @K3@}\n"
	    "forwards:\n"
	    "  - {listen: 127.0.0.1:15432, peer: carol, service: web}\n");
	if (c == NULL)
		return;
	T_INT((long long)c->n_peers, 3);
	T_INT((long long)c->n_forwards, 2);
	T_INT((long long)c->n_services, 2);
	/* The files read, in load order: each pattern's matches sorted. */
	T_INT((long long)c->n_files, 6);
	if (c->n_files == 6) {
		T_OK(strcmp(c->files[0], cfgpath) == 0);
		T_OK(strcmp(c->files[1], tpath("inc/peers.d/a.yaml")) == 0);
		T_OK(strcmp(c->files[2], tpath("inc/peers.d/b.yaml")) == 0);
		T_OK(strcmp(c->files[3], tpath("inc/peers.d/c.yaml")) == 0);
		T_OK(strcmp(c->files[4], tpath("inc/peers.d/d.yaml")) == 0);
		T_OK(strcmp(c->files[5], tpath("inc/services.yaml")) == 0);
	}
	/* The glob's directory, to watch; a plain path adds none. */
	T_INT((long long)c->n_watch_dirs, 1);
	if (c->n_watch_dirs == 1)
		T_OK(strcmp(c->watch_dirs[0], tpath("inc/peers.d")) == 0);
	if (c->n_peers == 3 && c->n_forwards == 2 && c->n_services == 2) {
		/* The main file's first, then the included files'. */
		T_OK(strcmp(c->peers[0].name, "dave") == 0);
		T_OK(strcmp(c->peers[1].name, "bob") == 0);
		T_OK(strcmp(c->peers[2].name, "carol") == 0);
		T_MEM(c->peers[1].keys[0], 32, keyraw[0], 32);
		T_OK(c->peers[1].has_dial && c->peers[1].dial.port == 7400);
		T_INT(config_peer_by_key(c, keyraw[1]), 2);
		/* Positions name their file. */
		T_INT(c->peers[0].pos.file, 0);
		T_INT(c->peers[1].pos.file, 1);
		T_INT(c->peers[1].pos.line, 2);
		T_INT(c->peers[1].pos.col, 3);
		T_INT(c->peers[1].key_pos.file, 1);
		T_INT(c->peers[1].dial.pos.file, 1);
		T_INT(c->peers[2].pos.file, 2);
		T_OK(strcmp(config_pos_file(c, c->peers[2].pos),
		    tpath("inc/peers.d/b.yaml")) == 0);
		T_OK(strcmp(config_pos_file(c, c->peers[0].pos), cfgpath) == 0);
		/* Forwards: a main one to an included peer, an included one. */
		T_INT((long long)c->forwards[0].peer, 2);
		T_OK(strcmp(c->forwards[0].service, "web") == 0);
		T_INT(c->forwards[0].pos.file, 0);
		T_INT((long long)c->forwards[1].peer, 1);
		T_INT(c->forwards[1].listen.port, 15433);
		T_INT(c->forwards[1].pos.file, 2);
		T_INT(c->forwards[1].pos.line, 5);
		/* Services allow peers of any file. */
		T_INT(config_service_by_name(c, "pg"), 0);
		T_INT(config_service_by_name(c, "web"), 1);
		T_INT(c->services[0].pos.file, 1);
		T_INT(c->services[1].pos.file, 5);
		T_INT(config_service_allows(c, 0, 1), 1);
		T_INT(config_service_allows(c, 0, 2), 1);
		T_INT(config_service_allows(c, 0, 0), 0);
		T_INT(config_service_allows(c, 1, 0), 1);
		T_INT(config_service_allows(c, 1, 2), 1);
	}
	config_summary(c, sum, sizeof(sum));
	snprintf(want, sizeof(want), "%s: ok: identity %s, 3 peers (1 dialed), "
	    "2 forwards, 2 services, 5 included files, not listening, workers "
	    "auto, control /run/stp-test/c.sock", cfgpath, own);
	t_check(strcmp(sum, want) == 0, __FILE__, __LINE__, t_ctx,
	    "summary\n    got  \"%s\"\n    want \"%s\"", sum, want);
	config_free(c);

	/* A list in another order; the main file's lists null, empty or absent. */
	t_set_ctx("include: main lists null, empty, absent");
	c = good("identity: @ID@\npeers:\nservices: {}\n"
	    "include: [inc/peers.d/b.yaml, inc/peers.d/a.yaml]\n");
	if (c != NULL) {
		T_INT((long long)c->n_peers, 2);
		T_INT((long long)c->n_forwards, 1);
		T_INT((long long)c->n_services, 1);
		if (c->n_peers == 2 && c->n_forwards == 1) {
			T_OK(strcmp(c->peers[0].name, "carol") == 0);
			T_OK(strcmp(c->peers[1].name, "bob") == 0);
			T_INT((long long)c->forwards[0].peer, 1);
		}
		T_INT((long long)c->n_files, 3);
		T_INT((long long)c->n_watch_dirs, 0);
		config_summary(c, sum, sizeof(sum));
		T_OK(strstr(sum, ", 1 service, 2 included files, ") != NULL);
		config_free(c);
	}

	/* Nothing to include: a glob that matches nothing, an empty list. */
	t_set_ctx("include: nothing");
	c = good("identity: @ID@\ninclude: inc/empty.d/*.yaml\n");
	if (c != NULL) {
		T_INT((long long)c->n_files, 1);
		T_INT((long long)c->n_watch_dirs, 1);
		if (c->n_watch_dirs == 1)
			T_OK(strcmp(c->watch_dirs[0], tpath("inc/empty.d")) == 0);
		config_summary(c, sum, sizeof(sum));
		T_OK(strstr(sum, "included") == NULL);
		config_free(c);
	}
	c = good("identity: @ID@\ninclude: []\n");
	config_free(c);
	/* Empty lists in an included file. */
	put("inc/x/e.yaml", "peers: {}\nforwards: []\nservices:\n", 0600);
	c = good("identity: @ID@\ninclude: inc/x/e.yaml\nforwards: []\n");
	if (c != NULL) {
		T_INT((long long)c->n_files, 2);
		T_INT((long long)(c->n_peers + c->n_forwards + c->n_services), 0);
	}
	config_free(c);
	c = good("identity: @ID@\ninclude:\n");
	if (c != NULL)
		T_INT((long long)c->n_files, 1);
	config_free(c);
	/* Two patterns searching one directory: it is listed once. */
	c = good("identity: @ID@\ninclude: [inc/empty.d/*.yaml, "
	    "inc/./empty.d/*.yml, \"inc/peers.d/[ab].yaml\"]\n");
	if (c != NULL) {
		T_INT((long long)c->n_files, 3);
		T_INT((long long)c->n_watch_dirs, 2);
		if (c->n_watch_dirs == 2) {
			T_OK(strcmp(c->watch_dirs[0], tpath("inc/empty.d")) == 0);
			T_OK(strcmp(c->watch_dirs[1], tpath("inc/peers.d")) == 0);
		}
		config_free(c);
	}
}

/* Where the main file is, and what it is called, do not matter. */
static void
test_include_paths(void)
{
	char err[1024] = "", cwd[1024];
	config *c = NULL;

	t_set_ctx("include: the main file's directory");
	include_files();
	/* A directory whose name glob(3) would read as a pattern. */
	mkdir(tpath("inc/w[1]"), 0700);
	mkdir(tpath("inc/w[1]/p"), 0700);
	put("inc/w[1]/p/a.yaml", "peers:\n  bob: {key: @K1@}\n", 0600);
	put("inc/w[1]/c.yaml", "identity: @ID@\ninclude: p/*.yaml\n", 0600);
	T_INT(config_load(tpath("inc/w[1]/c.yaml"), &c, err, sizeof(err)), 0);
	if (c != NULL) {
		T_INT((long long)c->n_peers, 1);
		T_INT((long long)c->n_files, 2);
		if (c->n_files == 2)
			T_OK(strcmp(c->files[1], tpath("inc/w[1]/p/a.yaml")) == 0);
		if (c->n_watch_dirs == 1)
			T_OK(strcmp(c->watch_dirs[0], tpath("inc/w[1]/p")) == 0);
		config_free(c);
		c = NULL;
	} else {
		printf("  %s\n", err);
	}

	/* A relative main path: the files are named as resolved from it. */
	t_set_ctx("include: relative main path");
	if (!T_OK(getcwd(cwd, sizeof(cwd)) != NULL) || !T_INT(chdir(tmpdir), 0))
		return;
	put("inc/x/c.yaml", "identity: @ID@\ninclude: [../peers.d/a.yaml, "
	    "\"*.none\", ../peers.d/b.yaml]\n", 0600);
	T_INT(config_load("inc/x/c.yaml", &c, err, sizeof(err)), 0);
	if (c != NULL) {
		if (T_INT((long long)c->n_files, 3)) {
			T_OK(strcmp(c->files[1], "inc/x/../peers.d/a.yaml") == 0);
			T_OK(strcmp(c->files[2], "inc/x/../peers.d/b.yaml") == 0);
		}
		if (T_INT((long long)c->n_watch_dirs, 1))
			T_OK(strcmp(c->watch_dirs[0], "inc/x") == 0);
		config_free(c);
		c = NULL;
	} else {
		printf("  %s\n", err);
	}
	put("c2.yaml", "identity: @ID@\ninclude: [inc/services.yaml, "
	    "\"*.none\"]\npeers: {carol: {key: @K2@}, dave: {key: @K3@}}\n",
	    0600);
	T_INT(config_load("c2.yaml", &c, err, sizeof(err)), 0);
	if (c != NULL) {
		if (T_INT((long long)c->n_files, 2))
			T_OK(strcmp(c->files[1], "inc/services.yaml") == 0);
		if (T_INT((long long)c->n_watch_dirs, 1))
			T_OK(strcmp(c->watch_dirs[0], ".") == 0);
		config_free(c);
	} else {
		printf("  %s\n", err);
	}
	unlink("c2.yaml");
	T_INT(chdir(cwd), 0);
}

/* config_find_control reads only the main file's control:. */
static void
test_include_control(void)
{
	char out[256], err[256], want[256];
	int is_default = -1;

	t_set_ctx("include: config_find_control");
	include_files();
	put("inc/x/i.yaml", "identity: @ID@\n", 0600);
	put("c.yaml", "identity: @ID@\ninclude: [inc/x/i.yaml, inc/none.yaml]\n"
	    "control: run.sock\n", 0600);
	T_INT(config_find_control(cfgpath, out, sizeof(out), &is_default, err,
	    sizeof(err)), 0);
	T_INT(is_default, 0);
	snprintf(want, sizeof(want), "%s/run.sock", tmpdir);
	T_OK(strcmp(out, want) == 0);
}

static void
test_include_errors(void)
{
	char want[1024], big[4096];
	size_t o, i;

	t_set_ctx("errors: include:, the patterns");
	include_files();
	bad(STP_EPARSE, "identity: @ID@\ninclude: {a: b}\n",
	    "2:10: include: expected a path or glob, or a list of them, got a "
	    "mapping");
	bad(STP_EPARSE, "identity: @ID@\ninclude: [inc/services.yaml, [a]]\n",
	    "2:30: include[1]: expected a path or glob, got a sequence");
	bad(STP_EPARSE, "identity: @ID@\ninclude: \"\"\n",
	    "2:10: include: expected a path or glob, got a quoted string \"\"");
	bad(STP_EPARSE, "identity: @ID@\ninclude: \"a\\0b\"\n",
	    "2:10: include: expected a path, got a string with a NUL byte");
	o = (size_t)snprintf(big, sizeof(big), "identity: @ID@\ninclude: [");
	for (i = 0; i < 65; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "%sinc/empty.d/"
		    "%zu*", i ? ", " : "", i);
	snprintf(big + o, sizeof(big) - o, "]\n");
	bad(STP_EPARSE, big, "2:10: include: a list of 65 patterns; at most 64");
	/* 64 is fine. */
	o = (size_t)snprintf(big, sizeof(big), "identity: @ID@\ninclude: [");
	for (i = 0; i < 64; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "%sinc/empty.d/"
		    "%zu*", i ? ", " : "", i);
	snprintf(big + o, sizeof(big) - o, "]\n");
	{
		config *c = good(big);

		if (c != NULL)
			T_INT((long long)c->n_watch_dirs, 1);
		config_free(c);
	}
	bad(STP_EPARSE, "identity: @ID@\ninclude: inc/*/a.yaml\n",
	    "2:10: include: a wildcard may only be in the last part of a "
	    "pattern, not in a directory: \"inc/*/a.yaml\"");
	/* A plain path must exist; a glob's directory too. */
	snprintf(want, sizeof(want), "2:10: include: %s: No such file or "
	    "directory", tpath("inc/services.yml"));
	bad(STP_EIO, "identity: @ID@\ninclude: inc/services.yml\n", want);
	snprintf(want, sizeof(want), "4:5: include[1]: %s: No such file or "
	    "directory", tpath("inc/nothere.d"));
	bad(STP_EIO, "identity: @ID@\ninclude:\n  - inc/services.yaml\n"
	    "  - inc/nothere.d/*.yaml\n", want);
	/* A match that is not a regular file. */
	mkdir(tpath("inc/x/dir.yaml"), 0700);
	snprintf(want, sizeof(want), "2:10: include: %s: not a regular file",
	    tpath("inc/x/dir.yaml"));
	bad(STP_EIO, "identity: @ID@\ninclude: inc/x/*.yaml\n", want);
	snprintf(want, sizeof(want), "2:10: include: %s/: not a regular file "
	    "but a directory (for its files, write a glob such as "
	    "\"inc/peers.d/*.yaml\")", tpath("inc/peers.d"));
	bad(STP_EIO, "identity: @ID@\ninclude: inc/peers.d/\n", want);
	rmdir(tpath("inc/x/dir.yaml"));
	/* The main file itself, and one file twice. */
	snprintf(want, sizeof(want), "2:10: include: %s is this config file "
	    "itself", tpath("c.yaml"));
	bad(STP_EPARSE, "identity: @ID@\ninclude: c.yaml\n", want);
	snprintf(want, sizeof(want), "2:30: include[1]: %s is included twice",
	    tpath("inc/services.yaml"));
	bad(STP_EPARSE, "identity: @ID@\ninclude: [inc/services.yaml, "
	    "inc/*.yaml]\n", want);
	snprintf(want, sizeof(want), "2:30: include[1]: %s is included twice "
	    "(first as %s)", tpath("inc/x/../services.yaml"),
	    tpath("inc/services.yaml"));
	bad(STP_EPARSE, "identity: @ID@\ninclude: [inc/services.yaml, "
	    "inc/x/../services.yaml]\n", want);
	/* The patterns are all checked before any file is read. */
	put("inc/x/bad.yaml", "peers: [\n", 0600);
	snprintf(want, sizeof(want), "2:27: include[1]: %s: No such file or "
	    "directory", tpath("inc/nothere.yaml"));
	bad(STP_EIO, "identity: @ID@\ninclude: [inc/x/bad.yaml, "
	    "inc/nothere.yaml]\n", want);

	t_set_ctx("errors: include:, an included file");
	/* Its YAML, reported as the main file's is. */
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/bad.yaml\n",
	    "inc/x/bad.yaml", "2:1: did not find expected node content while "
	    "parsing a flow node");
	put("inc/x/bad.yaml", "peers:\n  bob: {key: @K1@}\n  bob: {key: @K2@}\n",
	    0600);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/bad.yaml\n",
	    "inc/x/bad.yaml", "3:3: bob: duplicate key (first at line 2)");
	/* What it may hold. */
	put("inc/x/i.yaml", "# a whole config, included by mistake\n"
	    "identity: @ID@\n", 0600);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/i.yaml\n",
	    "inc/x/i.yaml", "2:1: identity: an included file may hold only "
	    "peers, services and forwards");
	put("inc/x/i.yaml", "peers: {}\ninclude: other.yaml\n", 0600);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/i.yaml\n",
	    "inc/x/i.yaml", "2:1: include: an included file may hold only "
	    "peers, services and forwards (includes do not nest)");
	put("inc/x/i.yaml", "- peers\n", 0600);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/i.yaml\n",
	    "inc/x/i.yaml", "1:1: expected a mapping (peers, services, "
	    "forwards) at the top level, got a sequence");
	put("inc/x/i.yaml", "peers: [bob]\n", 0600);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/i.yaml\n",
	    "inc/x/i.yaml", "1:8: peers: expected a mapping of peer names to "
	    "peers, got a sequence");
	put("inc/x/i.yaml", "forwards: {a: b}\n", 0600);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/i.yaml\n",
	    "inc/x/i.yaml", "1:11: forwards: expected a sequence of forwards, "
	    "got a mapping");
	/* A bad value, under its own key path. */
	put("inc/x/v.yaml", "peers:\n  bob:\n    key: @K1@\n"
	    "    dial: nowhere\n", 0600);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/v.yaml\n",
	    "inc/x/v.yaml", "4:11: peers.bob.dial: expected HOST:PORT with an "
	    "IP address or DNS name, got \"nowhere\"");
	/* A forward is numbered in the file it is in. */
	put("inc/x/f.yaml", "forwards:\n"
	    "  - {listen: 127.0.0.1:9, peer: bob, service: pg}\n"
	    "  - {listen: 127.0.0.1:10, peer: bob, servic: pg}\n", 0600);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: [inc/peers.d/a.yaml, "
	    "inc/x/f.yaml]\nforwards:\n"
	    "  - {listen: 127.0.0.1:8, peer: bob, service: pg}\n",
	    "inc/x/f.yaml", "3:39: forwards[1].servic: unknown key (expected "
	    "one of: listen, socks, peer, service, allow_remote, mode, owner, "
	    "group)");
	/* Values in the main file come in its order, then the included lists. */
	bad(STP_EPARSE, "identity: @ID@\ninclude: inc/x/v.yaml\nworkers: 99\n",
	    "3:10: workers: 99 is out of range 0..64");

	t_set_ctx("errors: include:, names in two files");
	put("inc/x/a.yaml", "peers:\n  bob: {key: @K1@}\n", 0600);
	put("inc/x/b.yaml", "# bob again\npeers:\n  bob: {key: @K2@}\n", 0600);
	snprintf(want, sizeof(want), "3:3: peers.bob: defined twice (first in "
	    "%s:2:3)", tpath("inc/x/a.yaml"));
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/[ab].yaml\n",
	    "inc/x/b.yaml", want);
	snprintf(want, sizeof(want), "2:3: peers.bob: defined twice (first in "
	    "%s:3:3)", cfgpath);
	bad_in(STP_EPARSE, "identity: @ID@\npeers:\n  bob: {key: @K3@}\n"
	    "include: inc/x/a.yaml\n", "inc/x/a.yaml", want);
	snprintf(want, sizeof(want), "2:3: services.web: defined twice (first "
	    "in %s:4:3)", cfgpath);
	put("inc/x/s.yaml", "services:\n  web: {connect: 127.0.0.1:80}\n", 0600);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/s.yaml\nservices:\n"
	    "  web: {connect: 127.0.0.1:81}\n", "inc/x/s.yaml", want);
	/* The first in load order of all such is reported. */
	put("inc/x/c.yaml", "services:\n  web: {connect: 127.0.0.1:80}\n"
	    "peers:\n  bob: {key: @K3@}\n", 0600);
	snprintf(want, sizeof(want), "2:3: services.web: defined twice (first "
	    "in %s:2:3)", tpath("inc/x/s.yaml"));
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: [inc/x/a.yaml, "
	    "inc/x/s.yaml, inc/x/c.yaml]\n", "inc/x/c.yaml", want);

	t_set_ctx("errors: include:, relations across files");
	/* Two peers with one key. */
	put("inc/x/k.yaml", "peers:\n  carol:\n    key: @K1@\n", 0600);
	snprintf(want, sizeof(want), "3:10: peers.carol.key: same key as "
	    "peers.bob (%s:2)", tpath("inc/x/a.yaml"));
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: [inc/x/a.yaml, "
	    "inc/x/k.yaml]\n", "inc/x/k.yaml", want);
	/* The main file's peer comes first: the included one is blamed. */
	snprintf(want, sizeof(want), "3:10: peers.carol.key: same key as "
	    "peers.dave (%s:5)", cfgpath);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/k.yaml\npeers:\n"
	    "  dave:\n    key: @K1@\n", "inc/x/k.yaml", want);
	/* A forward in the main file naming a peer no file defines. */
	bad(STP_EPARSE, "identity: @ID@\ninclude: inc/x/a.yaml\nforwards:\n"
	    "  - {listen: 127.0.0.1:1, peer: zed, service: x}\n",
	    "4:33: forwards[0].peer: no peer named \"zed\" (known: bob)");
	/* A service allowing a peer no file defines. */
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: [inc/x/a.yaml, "
	    "inc/services.yaml]\npeers:\n  carol: {key: @K2@}\n",
	    "inc/services.yaml", "4:20: services.web.allow[1]: no peer named "
	    "\"dave\" (known: carol, bob)");
	/* Listeners: one in each file; the later is blamed. */
	put("inc/x/f.yaml", "forwards:\n"
	    "  - {listen: 127.0.0.1:9, peer: bob, service: x}\n", 0600);
	snprintf(want, sizeof(want), "2:14: forwards[0].listen: same address "
	    "as forwards[1].listen (%s:5)", cfgpath);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: [inc/x/a.yaml, "
	    "inc/x/f.yaml]\nforwards:\n"
	    "  - {listen: 127.0.0.1:8, peer: bob, service: y}\n"
	    "  - {listen: 127.0.0.1:9, peer: bob, service: y}\n",
	    "inc/x/f.yaml", want);
	snprintf(want, sizeof(want), "2:14: forwards[0].listen: 127.0.0.1:7400 "
	    "overlaps listen 0.0.0.0:7400 (%s:2)", cfgpath);
	put("inc/x/f.yaml", "forwards:\n"
	    "  - {listen: 127.0.0.1:7400, peer: bob, service: x}\n", 0600);
	bad_in(STP_EPARSE, "identity: @ID@\nlisten: 0.0.0.0:7400\n"
	    "include: [inc/x/a.yaml, inc/x/f.yaml]\n", "inc/x/f.yaml", want);
	put("inc/x/f.yaml", "forwards:\n"
	    "  - {listen: 0.0.0.0:9, peer: bob, service: x}\n", 0600);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: [inc/x/a.yaml, "
	    "inc/x/f.yaml]\nforwards:\n"
	    "  - {listen: 127.0.0.1:8, peer: bob, service: y}\n",
	    "inc/x/f.yaml", "2:14: forwards[0].listen: 0.0.0.0 is not a "
	    "loopback address; set allow_remote: true to listen there");
	/* Our own key, in an included file. */
	put("inc/x/o.yaml", "peers:\n  me:\n    key: @OWN@\n", 0600);
	bad_in(STP_EPARSE, "identity: @ID@\ninclude: inc/x/o.yaml\n",
	    "inc/x/o.yaml", "3:10: peers.me.key: this is our own public key "
	    "(identity: ");
	/* Errors in the main file come before those in included files. */
	bad(STP_EPARSE, "identity: @ID@\ninclude: inc/x/f.yaml\nforwards:\n"
	    "  - {listen: 127.0.0.1:8, peer: zed, service: y}\n",
	    "4:33: forwards[0].peer: no peer named \"zed\" (no peers are "
	    "defined)");
}

/* The modes of included files: as the main file's. */
static void
test_include_modes(void)
{
	char want[1024];
	config *c;

	t_set_ctx("errors: include:, file modes");
	include_files();
	put("inc/x/w.yaml", "peers:\n  bob: {key: @K1@}\n", 0600);
	chmod(tpath("inc/x/w.yaml"), 0664);
	snprintf(want, sizeof(want), " writable by its group (mode 0664): "
	    "whoever can change it chooses the keys this gateway trusts; chmod "
	    "go-w %s", tpath("inc/x/w.yaml"));
	bad_in(STP_EPERM, "identity: @ID@\ninclude: inc/x/*.yaml\n",
	    "inc/x/w.yaml", want);
	chmod(tpath("inc/x/w.yaml"), 0602);
	snprintf(want, sizeof(want), " writable by every user (mode 0602)");
	bad_in(STP_EPERM, "identity: @ID@\ninclude: inc/x/*.yaml\n",
	    "inc/x/w.yaml", want);
	chmod(tpath("inc/x/w.yaml"), 0644);
	c = good("identity: @ID@\ninclude: inc/x/*.yaml\n");
	config_free(c);

	/* A secret: the file it is in must not be readable by every user. */
	put("inc/x/s.yaml", "peers:\n  carol:\n    key: @K2@\n"
	    "    access_secret: @S1@\n", 0644);
	snprintf(want, sizeof(want), "4:5: peers.carol.access_secret: %s is "
	    "readable by every user (mode 0644); chmod o-r it, since it holds a "
	    "secret", tpath("inc/x/s.yaml"));
	bad_in(STP_EPERM, "identity: @ID@\ninclude: inc/x/*.yaml\n",
	    "inc/x/s.yaml", want);
	/* Each file is judged by its own secrets. */
	chmod(tpath("inc/x/s.yaml"), 0640);
	cfg_mode = 0644;
	c = good("identity: @ID@\ninclude: inc/x/*.yaml\n");
	if (c != NULL && T_INT((long long)c->n_peers, 2)) {
		T_INT(c->peers[0].has_access_secret, 1);    /* carol, s.yaml */
		T_INT(c->peers[1].has_access_secret, 0);
	}
	config_free(c);
	snprintf(want, sizeof(want), "3:1: access_secret: %s is readable by "
	    "every user (mode 0644)", cfgpath);
	bad(STP_EPERM, "identity: @ID@\ninclude: inc/x/*.yaml\n"
	    "access_secret: @S2@\n", want);
	cfg_mode = 0600;
}

/* At most 1024 included files. */
static void
test_include_many(void)
{
	enum { N = 1025 };
	char name[64], text[128], want[256];
	config *c;
	size_t i;

	t_set_ctx("include: 1024 files");
	include_files();
	mkdir(tpath("inc/many"), 0700);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "inc/many/s%04zu.yaml", i);
		snprintf(text, sizeof(text), "services:\n  s%04zu: {connect: "
		    "h%zu.example:80}\n", i, i);
		put(name, text, 0600);
	}
	snprintf(want, sizeof(want), "2:10: include: more than 1024 files to "
	    "include (the limit)");
	bad(STP_ETOOBIG, "identity: @ID@\ninclude: inc/many/*.yaml\n", want);
	unlink(tpath("inc/many/s0000.yaml"));
	c = good("identity: @ID@\ninclude: inc/many/*.yaml\n");
	if (c != NULL) {
		T_INT((long long)c->n_files, 1025);
		T_INT((long long)c->n_services, 1024);
		if (c->n_files == 1025 && c->n_services == 1024) {
			T_OK(strcmp(c->files[1024],
			    tpath("inc/many/s1024.yaml")) == 0);
			T_OK(strcmp(c->services[0].name, "s0001") == 0);
			T_INT(c->services[1023].pos.file, 1024);
		}
		config_free(c);
	}
	rm_tree("inc");
}

/* No fixed limits: thousands of peers, forwards and services. */
static void
test_many(void)
{
	enum { N = 3000 };
	char kt[IDENTITY_PUBTEXT_LEN + 1], line[512];
	uint8_t pk[SIGN_PUB_LEN];
	size_t cap = (size_t)N * 400 + 1024, o = 0, i;
	char *text = malloc(cap), err[1024] = "";
	config *c = NULL;

	t_set_ctx("many entries");
	o += (size_t)snprintf(text + o, cap - o, "identity: %s\npeers:\n",
	    idpath);
	for (i = 0; i < N; i++) {
		memset(pk, 0, sizeof(pk));
		pk[0] = (uint8_t)i;
		pk[1] = (uint8_t)(i >> 8);
		pk[31] = 0x55;
		identity_pub_encode(pk, kt);
		o += (size_t)snprintf(text + o, cap - o, "  p%zu: {key: %s}\n",
		    i, kt);
	}
	o += (size_t)snprintf(text + o, cap - o, "forwards:\n");
	for (i = 0; i < N; i++) {
		snprintf(line, sizeof(line), "  - {listen: 127.0.%zu.%zu:%zu, "
		    "peer: p%zu, service: s}\n", i / 250, i % 250 + 1,
		    1000 + i % 7, (i * 7) % N);
		o += (size_t)snprintf(text + o, cap - o, "%s", line);
	}
	o += (size_t)snprintf(text + o, cap - o, "services:\n");
	for (i = 0; i < N; i++)
		o += (size_t)snprintf(text + o, cap - o, "  s%zu: {connect: "
		    "h%zu.example:80, allow: [p%zu, p%zu]}\n", i, i, i,
		    N - 1 - i);
	write_file(cfgpath, text, o, 0600);
	free(text);
	T_INT(config_load(cfgpath, &c, err, sizeof(err)), 0);
	if (c == NULL) {
		printf("  %s\n", err);
		return;
	}
	T_INT((long long)c->n_peers, N);
	T_INT((long long)c->n_forwards, N);
	T_INT((long long)c->n_services, N);
	T_INT((long long)c->forwards[10].peer, 70);
	T_INT(config_peer_by_name(c, "p2999"), 2999);
	memset(pk, 0, sizeof(pk));
	pk[0] = (uint8_t)1234;
	pk[1] = (uint8_t)(1234 >> 8);
	pk[31] = 0x55;
	T_INT(config_peer_by_key(c, pk), 1234);
	T_INT(config_service_by_name(c, "s2500"), 2500);
	T_INT(config_service_allows(c, 2500, 2500), 1);
	T_INT(config_service_allows(c, 2500, 499), 1);
	T_INT(config_service_allows(c, 2500, 500), 0);
	config_free(c);
}

int
main(void)
{
	setup();
	test_minimal_defaults();
	test_example();
	test_full();
	test_relative_paths();
	test_control();
	test_quoted_units();
	t_section("loading");
	test_units();
	test_addresses();
	test_reach();
	t_section("values");
	test_errors();
	test_relations();
	test_identity_file();
	test_rotation();
	test_secrets();
	test_config_file();
	t_section("errors");
	test_include_merge();
	test_include_paths();
	test_include_control();
	test_include_errors();
	test_include_modes();
	test_include_many();
	t_section("include");
	t_set_ctx("error cases");
	t_check(bad_cases >= 40, __FILE__, __LINE__, t_ctx,
	    "only %u bad configs checked", bad_cases);
	printf("%u bad configs checked\n", bad_cases);
	test_many();
	t_section("scale");
	cleanup();
	return t_done();
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config.c: config_load (gateway/config/config.h), the whole peer-map loader:
 * YAML through ytree, the schema walk, the cross-references and the
 * identity file.  config.h has no entry point for a buffer, so each input
 * is written to a file in a scratch directory on /dev/shm (beside a valid
 * mode-0600 identity file, id.key, which configs may name relatively).
 *
 * Invariants: a failure returns one of the documented codes with a message
 * naming the file (the config, or a file its include: names), and leaves
 * *out alone; a success holds an identity,
 * peers with unique names and keys (each found again by name and key),
 * forwards and service allow-lists that point at real peers (the lists
 * sorted, without repeats), forward listeners that are unix paths or
 * IP addresses with a port (non-loopback only with allow_remote), and the documented orderings (window <= max_window,
 * keepalive < dead_after, reconnect_min <= reconnect_max).
 */
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/un.h>

#include "base64url.h"
#include "config.h"
#include "err.h"
#include "fuzz.h"
#include "identity.h"

static char cfgpath[512];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char idpath[512], text[128], seedtext[64];
	uint8_t seed[SIGN_SEED_LEN];

	(void)argc;
	(void)argv;
	snprintf(cfgpath, sizeof(cfgpath), "%s/c.yaml", fuzz_tmpdir());
	snprintf(idpath, sizeof(idpath), "%s/id.key", fuzz_tmpdir());
	/* Identity 1 (the responder's), so the peers in the seeds are others. */
	sign_key_seed(fuzz_id(1), seed);
	if (base64url_encode(seedtext, sizeof(seedtext), seed, sizeof(seed)) != 0)
		fuzz_fail(__FILE__, __LINE__, "encode");
	snprintf(text, sizeof(text), "%s %s\n", IDENTITY_FILE_TAG, seedtext);
	if (fuzz_write_file(idpath, text, strlen(text), 0600) != 0)
		fuzz_fail(__FILE__, __LINE__, "identity file");
	return 0;
}

static int
is_loopback(const cfg_addr *a)
{
	static const uint8_t v6[16] = { [15] = 1 };

	if (!a->is_ip)
		return 0;
	if (a->ss.ss_family == AF_INET)
		return ((const uint8_t *)&((const struct sockaddr_in *)
		    (const void *)&a->ss)->sin_addr)[0] == 127;
	if (a->ss.ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)
		    &a->ss)->sin6_addr, v6, 16) == 0;
	return 0;
}

static void
check(const config *c)
{
	char sum[512];
	size_t i, k;

	FUZZ_ASSERT(c->identity != NULL);
	for (i = 0; i < plugin_count(); i++)
		FUZZ_ASSERT(c->plugins.enabled[i] == 0 || c->plugins.enabled[i] == 1);
	FUZZ_ASSERT(c->workers <= 64);
	FUZZ_ASSERT(c->n_peers == 0 || c->peers != NULL);
	for (i = 0; i < c->n_peers; i++) {
		const cfg_peer *p = &c->peers[i];

		FUZZ_ASSERT(strlen(p->name) > 0 && strlen(p->name) < CFG_NAME_MAX);
		FUZZ_ASSERT(config_peer_by_name(c, p->name) == (long)i);
		FUZZ_ASSERT(p->n_keys >= 1 && p->n_keys <= CFG_KEYS_MAX);
		for (k = 0; k < p->n_keys; k++)
			FUZZ_ASSERT(config_peer_by_key(c, p->keys[k]) == (long)i);
	}
	for (i = 0; i < c->n_forwards; i++) {
		const cfg_forward *f = &c->forwards[i];

		FUZZ_ASSERT(f->peer < c->n_peers);
		if (f->listen.is_unix) {
			/* unix:PATH: a path that fits sun_path, no port */
			FUZZ_ASSERT(!f->listen.is_ip && !f->listen.is_udp);
			FUZZ_ASSERT(f->listen.ss.ss_family == AF_UNIX);
			FUZZ_ASSERT(f->listen.host[0] != '\0');
			FUZZ_ASSERT(strlen(f->listen.host) <
			    sizeof(((struct sockaddr_un *)0)->sun_path));
			FUZZ_ASSERT(strcmp(((const struct sockaddr_un *)(const void *)
			    &f->listen.ss)->sun_path, f->listen.host) == 0);
		} else {
			FUZZ_ASSERT(f->listen.is_ip);
			FUZZ_ASSERT(f->listen.port != 0);
			FUZZ_ASSERT(f->allow_remote || is_loopback(&f->listen));
		}
	}
	for (i = 0; i < c->n_services; i++) {
		const cfg_service *s = &c->services[i];

		FUZZ_ASSERT(config_service_by_name(c, s->name) == (long)i);
		for (k = 0; k < s->n_allow; k++) {
			FUZZ_ASSERT(s->allow[k] < c->n_peers);
			FUZZ_ASSERT(k == 0 || s->allow[k - 1] < s->allow[k]);
			FUZZ_ASSERT(config_service_allows(c, i, s->allow[k]));
		}
	}
	FUZZ_ASSERT(c->flow.window <= c->flow.max_window);
	FUZZ_ASSERT(c->timeouts.keepalive_ms < c->timeouts.dead_ms);
	FUZZ_ASSERT(c->timeouts.reconnect_min_ms <= c->timeouts.reconnect_max_ms);
	if (c->has_metrics)
		FUZZ_ASSERT(is_loopback(&c->metrics));
	config_summary(c, sum, sizeof(sum));
	FUZZ_ASSERT(strlen(sum) < sizeof(sum));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	config *c = (config *)1;
	char err[8192];
	int rc;

	if (fuzz_write_file(cfgpath, data, size, 0644) != 0)
		fuzz_fail(__FILE__, __LINE__, "write");
	err[0] = '\0';
	rc = config_load(cfgpath, &c, err, sizeof(err));
	if (rc != 0) {
		FUZZ_ASSERT(rc == STP_EPARSE || rc == STP_EIO || rc == STP_EPERM ||
		    rc == STP_ETOOBIG || rc == STP_ENOMEM);
		FUZZ_ASSERT(c == (config *)1);
		FUZZ_ASSERT(err[0] != '\0');
		/*
		 * include: may name any file; a relative pattern is taken from
		 * cfgpath's directory, so every file named is an absolute path.
		 */
		if (rc == STP_EPARSE)
			FUZZ_ASSERT(strncmp(err, cfgpath, strlen(cfgpath)) == 0 ||
			    (err[0] == '/' && strstr(err, ": ") != NULL));
		return 0;
	}
	FUZZ_ASSERT(c != NULL && c != (config *)1);
	check(c);
	config_free(c);
	return 0;
}

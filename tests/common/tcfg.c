/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tcfg.c: the tests' config file and identity in a temporary directory (see
 * tcfg.h).
 */
#include "tcfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "crypto/sign.h"
#include "identity.h"

static char tmpdir[96], cfgpath[128], idpath[128];

int
tcfg_init(const char *name)
{
	sign_key *k = NULL;
	char err[256];
	int rc;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/stp-test-%s-XXXXXX", name);
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return -1;
	}
	snprintf(cfgpath, sizeof(cfgpath), "%s/c.yaml", tmpdir);
	snprintf(idpath, sizeof(idpath), "%s/id.key", tmpdir);
	rc = identity_generate(&k) == 0 &&
	    identity_save(idpath, k, 0, err, sizeof(err)) == 0 ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "cannot make the test identity in %s\n", tmpdir);
	sign_key_free(k);
	return rc;
}

void
tcfg_write(const char *body)
{
	FILE *f = fopen(cfgpath, "w");

	if (f == NULL || fprintf(f, "identity: %s\n%s", idpath, body) < 0 ||
	    fclose(f) != 0) {
		perror(cfgpath);
		exit(1);
	}
}

const char *
tcfg_path(void)
{
	return cfgpath;
}

void
tcfg_cleanup(void)
{
	unlink(cfgpath);
	unlink(idpath);
	rmdir(tmpdir);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_keys: print every config key the loader accepts (config_each_key),
 * one dotted path per line, so tests/unit/test_man.sh can check that
 * stpgate.yaml(5) documents each one.  The list comes from the loader's own
 * tables: a new key without documentation fails that test.
 */
#include <stdio.h>

#include "config.h"

static void
print_key(const char *key, void *arg)
{
	(void)arg;
	printf("%s\n", key);
}

int
main(void)
{
	config_each_key(print_key, NULL);
	return fflush(stdout) == 0 ? 0 : 1;
}

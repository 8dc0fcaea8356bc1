/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tcfg.h: a config file of the tests' own in a fresh temporary directory,
 * next to a fresh identity it names, for tests that load configs
 * (gateway/config/config.h) and open plugins from them.
 */
#ifndef STP_TCFG_H
#define STP_TCFG_H

/*
 * Make /tmp/stp-test-<name>-XXXXXX with a new identity in it; call after
 * crypto_init().  0, or -1 with a message on stderr.
 */
int tcfg_init(const char *name);
/* Write "identity: <the identity>\n" and body as the config; exits on failure. */
void tcfg_write(const char *body);
/* The config file's path. */
const char *tcfg_path(void);
/* Remove the config, the identity and the directory. */
void tcfg_cleanup(void);

#endif

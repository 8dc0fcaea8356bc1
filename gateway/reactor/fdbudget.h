/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fdbudget.h: the open-files budget.  Every tunneled connection holds a
 * descriptor, so the gateway raises RLIMIT_NOFILE at start and fits
 * limits.max_connections and limits.max_handshakes to the limit it got,
 * rather than discover the limit one failed accept at a time.
 */
#ifndef STP_FDBUDGET_H
#define STP_FDBUDGET_H

#include <stdint.h>

#include "config.h"

/*
 * Raise RLIMIT_NOFILE's soft limit to the hard one (logged); returns the
 * soft limit in force.
 */
uint64_t fdbudget_raise(void);

/* Descriptors open now (nofile bounds the probe when /proc is not there). */
unsigned fdbudget_count(uint64_t nofile);

/*
 * The limits to enforce under the open-files limit nofile, given fd_base
 * descriptors open before any listener: *max_conns for
 * limits.max_connections, *max_hs for limits.max_handshakes.  The config's,
 * or fewer (with one warning) when they do not fit; c is not changed.  At
 * start and after every reload.
 */
void fdbudget_fit(const config *c, unsigned fd_base, uint64_t nofile,
    unsigned *max_conns, unsigned *max_hs);

#endif

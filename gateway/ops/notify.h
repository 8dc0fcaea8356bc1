/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify.h: telling the service manager (systemd, Type=notify) how we are,
 * through the datagram socket it names in NOTIFY_SOCKET.
 *
 * A message is newline-separated VAR=value assignments, e.g.
 * "READY=1\nSTATUS=running".  The gateway sends READY=1 once it serves,
 * RELOADING=1 (with MONOTONIC_USEC) and READY=1 around every reload, and
 * STOPPING=1 when it drains.  Values must be one line each: pass text that
 * may hold newlines (an error message) through notify_clean first.
 *
 * Without NOTIFY_SOCKET every call is a no-op.  A failure to send is never
 * fatal: the first one is logged as a warning, later ones at debug.
 */
#ifndef STP_NOTIFY_H
#define STP_NOTIFY_H

#include <stddef.h>

/* Send one message built from fmt; nothing when NOTIFY_SOCKET is unset. */
void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copy s into out (len bytes) with control characters as ' ': one line. */
void notify_clean(const char *s, char *out, size_t len);

/* CLOCK_MONOTONIC in microseconds, as MONOTONIC_USEC wants it. */
unsigned long long notify_monotonic_usec(void);

#endif

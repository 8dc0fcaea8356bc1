/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h: leveled log lines to stderr (or a given stream), as text or JSON
 * lines, each naming the peer and session where there is one.  Never pass key
 * material: public keys as their stp1: text, session ids as the 8-hex-digit
 * short form (log_sid).
 *
 * Text:  2026-11-22T10:00:00.123Z info peer=bob sid=1a2b3c4d session up ...
 * JSON:  {"ts":"2026-11-22T10:00:00.123Z","level":"info","peer":"bob",
 *         "sid":"1a2b3c4d","msg":"session up ..."}
 *
 * Under journald (JOURNAL_STREAM names our stderr, and we log to stderr)
 * each line starts with its syslog priority, <3> error, <4> warn, <6> info,
 * <7> debug, which journald takes as the entry's priority and strips; the
 * text format then leaves out our timestamp (journald stamps every entry):
 *        <6>info peer=bob sid=1a2b3c4d session up ...
 *        <6>{"ts":"2026-11-22T10:00:00.123Z","level":"info",...}
 */
#ifndef STP_LOG_H
#define STP_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "config.h" /* LOG_ERROR .. LOG_DEBUG, LOG_TEXT / LOG_JSON */

/*
 * Set level, format and stream (NULL: stderr).  Callable again on reload.
 * Decides journal mode (above) too: on when the stream is stderr and
 * JOURNAL_STREAM is "DEV:INO" of the file stderr is open on.
 */
void log_setup(int level, int format, FILE *out);
int log_enabled(int level);
/* 1 if lines carry the journal's <N> prefix (and text no timestamp). */
int log_journal(void);
/* For tests: force journal mode on or off, until the next log_setup. */
void log_set_journal(int on);

/* One line.  peer and sid may be NULL. */
void log_msg(int level, const char *peer, const uint8_t *sid, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Rate-limited line for floods (rejections): at most `burst` lines per
 * 10 seconds per key; when lines were dropped, the next one that passes says
 * how many.  key is a static string naming the kind of event.
 */
void log_limited(int level, const char *key, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* First 4 bytes of a session id as 8 hex digits, in a static ring of buffers. */
const char *log_sid(const uint8_t *sid);

#define log_error(peer, sid, ...) log_msg(LOG_ERROR, peer, sid, __VA_ARGS__)
#define log_warn(peer, sid, ...) log_msg(LOG_WARN, peer, sid, __VA_ARGS__)
#define log_info(peer, sid, ...) log_msg(LOG_INFO, peer, sid, __VA_ARGS__)
#define log_debug(peer, sid, ...) \
	do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, peer, sid, __VA_ARGS__); } while (0)

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c: the log lines (log.h).  A line is built whole in a buffer on the
 * caller's stack and written with one fwrite and a fflush, so lines from
 * several threads never interleave.  Level, format and stream are atomics,
 * so log_setup on reload races with nobody.
 *
 * Whatever goes into a line is made safe for its format: in JSON, quotes,
 * backslashes and control characters are escaped and bytes that are not
 * well-formed UTF-8 become U+FFFD; in text, control characters are written
 * as \n, \t, \xNN and the same bad bytes as '?', so a message can never
 * start a line of its own.  A peer name in text keeps only the characters a
 * config name may hold.
 *
 * log_limited keeps a small fixed table of keys (matched by pointer, then by
 * strcmp), each with a 10-second window from its first line: LIMIT_BURST
 * lines pass per window, the rest are counted, and the first line to pass in
 * a later window carries the count.
 *
 * log_sid's ring of buffers is per thread; lines format the sid on the stack.
 *
 * Journal mode (log.h) is decided in log_setup, not per line: JOURNAL_STREAM
 * is what systemd sets when it connects our stderr to journald, and
 * comparing its DEV:INO with stderr's tells a real journal stream from a
 * variable inherited by a process whose stderr was redirected since.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define LOG_MSG_MAX 1024        /* formatted message, before escaping */
#define LOG_PEER_MAX 64         /* peer name bytes kept */
#define LOG_LINE_MAX 8192       /* enough for the worst escaping of the above */
#define LIMIT_SLOTS 32
#define LIMIT_BURST 10
#define LIMIT_WINDOW_MS 10000u
#define SID_RING 8

static atomic_int log_level = LOG_INFO;
static atomic_int log_format = LOG_TEXT;
static _Atomic(FILE *) log_out;
static atomic_int log_jrnl;     /* <N> prefixes, no timestamp in text */

struct limit {
	const char *key;
	uint64_t start_ms;
	unsigned count;         /* lines passed in this window */
	uint64_t dropped;       /* lines dropped since the last one passed */
};

static pthread_mutex_t limit_mu = PTHREAD_MUTEX_INITIALIZER;
static struct limit limits[LIMIT_SLOTS];

struct line {
	char b[LOG_LINE_MAX];
	size_t n;
};

static const char *const level_names[] = { "error", "warn", "info", "debug" };
/* The syslog priority of each level, as journald reads it from "<N>". */
static const char *const level_prio[] = { "<3>", "<4>", "<6>", "<7>" };

/* The short session id: 8 hex digits and a NUL. */
static void
sid_hex(char out[9], const uint8_t *sid)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 4; i++) {
		out[2 * i] = hex[sid[i] >> 4];
		out[2 * i + 1] = hex[sid[i] & 15];
	}
	out[8] = '\0';
}

/* 1 if JOURNAL_STREAM is "DEV:INO" of the file stderr is open on. */
static int
journal_stream(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (v == NULL || *v < '0' || *v > '9')
		return 0;
	errno = 0;
	dev = strtoull(v, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return 0;
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	if (fstat(fileno(stderr), &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_setup(int level, int format, FILE *out)
{
	if (level < LOG_ERROR)
		level = LOG_ERROR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	atomic_store(&log_level, level);
	atomic_store(&log_format, format == LOG_JSON ? LOG_JSON : LOG_TEXT);
	atomic_store(&log_jrnl, (out == NULL || out == stderr) && journal_stream());
	atomic_store(&log_out, out);
}

int
log_journal(void)
{
	return atomic_load(&log_jrnl);
}

void
log_set_journal(int on)
{
	atomic_store(&log_jrnl, on != 0);
}

int
log_enabled(int level)
{
	return level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

/* ---- building a line ---- */

/* Append len bytes; what does not fit is dropped (the tail is reserved). */
static void
put(struct line *l, const char *s, size_t len)
{
	/* Keep room for the closing "\"}\n". */
	size_t room = sizeof(l->b) - 4 - l->n;

	if (len > room)
		len = room;
	memcpy(l->b + l->n, s, len);
	l->n += len;
}

static void
puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at p (n bytes left), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;      /* overlong */
		else if (c == 0xed)
			hi = 0x9f;      /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;      /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;      /* over U+10FFFF */
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* Append s made safe for the format (see the top of the file). */
static void
put_esc(struct line *l, const char *s, int json)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), k;
	char e[8];

	while (n > 0) {
		unsigned char c = *p;

		if (c >= 0x80) {
			if ((k = utf8_len(p, n)) == 0) {
				puts_(l, json ? "\\ufffd" : "?");
				k = 1;
			} else
				put(l, (const char *)p, k);
			p += k;
			n -= k;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n': puts_(l, "\\n"); break;
			case '\r': puts_(l, "\\r"); break;
			case '\t': puts_(l, "\\t"); break;
			default:
				if (json) {
					memcpy(e, "\\u00", 4);
					e[4] = hex[c >> 4];
					e[5] = hex[c & 15];
					put(l, e, 6);
				} else {
					e[0] = '\\';
					e[1] = 'x';
					e[2] = hex[c >> 4];
					e[3] = hex[c & 15];
					put(l, e, 4);
				}
				break;
			}
		} else if (json && (c == '"' || c == '\\')) {
			e[0] = '\\';
			e[1] = (char)c;
			put(l, e, 2);
		} else
			put(l, (const char *)p, 1);
		p++;
		n--;
	}
}

/* Text peer names: the characters of a config name, anything else '?'. */
static void
put_name(struct line *l, const char *s)
{
	size_t i;
	char c;

	for (i = 0; s[i] != '\0' && i < LOG_PEER_MAX; i++) {
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			c = '?';
		put(l, &c, 1);
	}
}

static void
put_ts(struct line *l)
{
	struct timespec ts;
	struct tm tm;
	char b[40];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(b + n, sizeof(b) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	puts_(l, b);
}

static void
vlog(int level, const char *peer, const uint8_t *sid, uint64_t dropped,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static void
vlog(int level, const char *peer, const uint8_t *sid, uint64_t dropped,
    const char *fmt, va_list ap)
{
	struct line l;
	char msg[LOG_MSG_MAX];
	char peerbuf[LOG_PEER_MAX + 1];
	char note[64];
	char sidbuf[9];
	FILE *out;
	int json, jrnl, n;

	json = atomic_load_explicit(&log_format, memory_order_relaxed) == LOG_JSON;
	jrnl = atomic_load_explicit(&log_jrnl, memory_order_relaxed);
	if ((out = atomic_load(&log_out)) == NULL)
		out = stderr;
	if (level < LOG_ERROR)
		level = LOG_ERROR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(unprintable message)");
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	note[0] = '\0';
	if (dropped > 0)
		snprintf(note, sizeof(note), " (%llu similar message%s suppressed)",
		    (unsigned long long)dropped, dropped == 1 ? "" : "s");
	if (peer != NULL) {
		snprintf(peerbuf, sizeof(peerbuf), "%s", peer);
		peer = peerbuf;
	}

	l.n = 0;
	if (jrnl)
		puts_(&l, level_prio[level]);
	if (json) {
		puts_(&l, "{\"ts\":\"");
		put_ts(&l);
		puts_(&l, "\",\"level\":\"");
		puts_(&l, level_names[level]);
		puts_(&l, "\"");
		if (peer != NULL) {
			puts_(&l, ",\"peer\":\"");
			put_esc(&l, peer, 1);
			puts_(&l, "\"");
		}
		if (sid != NULL) {
			puts_(&l, ",\"sid\":\"");
			sid_hex(sidbuf, sid);
			puts_(&l, sidbuf);
			puts_(&l, "\"");
		}
		puts_(&l, ",\"msg\":\"");
		put_esc(&l, msg, 1);
		puts_(&l, note);
		/* put() kept room for this. */
		memcpy(l.b + l.n, "\"}\n", 3);
		l.n += 3;
	} else {
		if (!jrnl) {
			put_ts(&l);
			puts_(&l, " ");
		}
		puts_(&l, level_names[level]);
		if (peer != NULL) {
			puts_(&l, " peer=");
			put_name(&l, peer);
		}
		if (sid != NULL) {
			puts_(&l, " sid=");
			sid_hex(sidbuf, sid);
			puts_(&l, sidbuf);
		}
		puts_(&l, " ");
		put_esc(&l, msg, 0);
		puts_(&l, note);
		l.b[l.n++] = '\n';
	}
	(void)fwrite(l.b, 1, l.n, out);
	(void)fflush(out);
}

void
log_msg(int level, const char *peer, const uint8_t *sid, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vlog(level, peer, sid, 0, fmt, ap);
	va_end(ap);
}

/* ---- rate limiting ---- */

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The slot for key: same pointer, same text, a free slot, or the oldest. */
static struct limit *
limit_slot(const char *key)
{
	struct limit *free_slot = NULL, *oldest = &limits[0];
	size_t i;

	for (i = 0; i < LIMIT_SLOTS; i++)
		if (limits[i].key == key)
			return &limits[i];
	for (i = 0; i < LIMIT_SLOTS; i++) {
		if (limits[i].key == NULL) {
			if (free_slot == NULL)
				free_slot = &limits[i];
			continue;
		}
		if (strcmp(limits[i].key, key) == 0)
			return &limits[i];
		if (limits[i].start_ms < oldest->start_ms)
			oldest = &limits[i];
	}
	if (free_slot != NULL)
		return free_slot;
	memset(oldest, 0, sizeof(*oldest));
	return oldest;
}

void
log_limited(int level, const char *key, const char *peer, const char *fmt, ...)
{
	struct limit *s;
	uint64_t now, dropped = 0;
	va_list ap;
	int pass;

	if (!log_enabled(level))
		return;
	if (key == NULL)
		key = "";
	now = mono_ms();
	pthread_mutex_lock(&limit_mu);
	s = limit_slot(key);
	if (s->key == NULL)
		s->key = key;  /* kept: the caller's string must be static */
	if (s->count == 0 || now - s->start_ms >= LIMIT_WINDOW_MS) {
		s->start_ms = now;
		s->count = 0;
	}
	pass = s->count < LIMIT_BURST;
	if (pass) {
		s->count++;
		dropped = s->dropped;
		s->dropped = 0;
	} else
		s->dropped++;
	pthread_mutex_unlock(&limit_mu);
	if (!pass)
		return;
	va_start(ap, fmt);
	vlog(level, peer, NULL, dropped, fmt, ap);
	va_end(ap);
}

/* The ring is per thread, so threads never overwrite each other's buffers. */
const char *
log_sid(const uint8_t *sid)
{
	static _Thread_local char ring[SID_RING][9];
	static _Thread_local unsigned next;
	char *b;

	if (sid == NULL)
		return "-";
	b = ring[next++ % SID_RING];
	sid_hex(b, sid);
	return b;
}

/*
 * config.c: the YAML peer map -> struct config.  See config.h; every key,
 * its default and its range is documented in conf/example.yaml.
 *
 * The ytree is checked in three passes; each reports the error that comes
 * first in the file, so the same file always gives the same one line:
 *
 *  1. Values.  Every mapping is walked in file order against a schema table
 *     (key, parser, offset, required, range); the walk stops at the first
 *     unknown key, wrong type, malformed or out-of-range value, invalid
 *     name, or missing required key.
 *  2. Relations.  Names a forward or a service refers to, two peers with
 *     one key, listeners that would collide, a remote forward listener
 *     without allow_remote, and orderings between values (window <=
 *     max_window, keepalive < dead_after, reconnect_min <= reconnect_max).
 *     Every candidate is considered and the earliest in the file is kept.
 *  3. The identity file (identity_load), and no peer with our own key.
 *
 * Relative paths (identity, control) are taken relative to the directory of
 * the config file, so `stpgate check` and the daemon agree whatever their
 * working directory; the stored paths are the resolved ones.
 *
 * The lookups are linear scans: they run once per handshake or stream open,
 * next to public-key crypto, and work on any config, loaded or built.  The
 * load itself sorts, so a map with many thousands of entries stays fast.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "identity.h"
#include "ytree.h"

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned is 32 bits");

#define KEYPATH_MAX 512    /* dotted key path in messages */
#define SHOW_MAX 64        /* characters of a value quoted in a message */
#define SHOW_BUF (SHOW_MAX * 4 + 8)
#define KNOWN_MAX 8        /* peer names listed after "no peer named" */
#define WORKERS_MAX 64

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define SEC 1000ull
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)

/* Address flags: what the host of HOST:PORT may be. */
#define A_IP 0x1           /* an IP literal */
#define A_NAME 0x2         /* a DNS name (with A_IP: either) */
#define A_LOOPBACK 0x4     /* an IP literal on the loopback interface */

/* Path flags. */
#define P_EMPTY_OK 0x1     /* "" means none */
#define P_SOCKET 0x2       /* must fit sockaddr_un.sun_path */
#define P_IDENTITY 0x4     /* remember the node for pass 3 */

struct ld;
struct field;

typedef int (*parse_fn)(struct ld *, const ytree_node *, const struct field *,
    void *);

/* One key of a mapping. */
struct field {
	const char *name;
	parse_fn parse;
	size_t off;                 /* target, from the struct the table fills */
	size_t w;                   /* target size (integers, names, strings) */
	int required;
	uint64_t min, max;          /* integers, sizes, durations (ms) */
	int flags;                  /* A_* or P_* */
	int has;                    /* set the int at has_off when given */
	size_t has_off;
	const struct field *sub;    /* p_map: the nested table */
	const char *const *words;   /* p_enum: the accepted words; value = index */
};

/* Loader state. */
struct ld {
	const char *file;
	char *err;
	size_t err_len;
	config *c;
	const ytree_node *root;
	const ytree_node *identity;     /* value of identity: */
	const ytree_node *peers, *forwards, *services;
	cfg_pos *key_pos;               /* per peer: where its key is */
	size_t cur_peer;                /* p_key: the peer being filled */
	char path[KEYPATH_MAX];         /* dotted key path being checked */
	size_t plen;
	int xhave;                      /* pass 2: an error is held */
	const ytree_node *plugins;      /* value of plugins: */
	cfg_pos xpos;
};

/* ---- messages ---- */

static void vreport(struct ld *l, unsigned line, unsigned col,
    const char *key, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* "file:line:col: key: " (parts left out when absent), then the message. */
static void
vreport(struct ld *l, unsigned line, unsigned col, const char *key,
    const char *fmt, va_list ap)
{
	size_t k;
	int n;

	if (l->err == NULL || l->err_len == 0)
		return;
	if (line > 0)
		n = snprintf(l->err, l->err_len, "%s:%u:%u: ", l->file, line,
		    col);
	else
		n = snprintf(l->err, l->err_len, "%s: ", l->file);
	if (n < 0 || (size_t)n >= l->err_len)
		return;
	k = (size_t)n;
	if (key != NULL && key[0] != '\0') {
		n = snprintf(l->err + k, l->err_len - k, "%s: ", key);
		if (n < 0 || (size_t)n >= l->err_len - k)
			return;
		k += (size_t)n;
	}
	vsnprintf(l->err + k, l->err_len - k, fmt, ap);
}

static int fail_at(struct ld *l, unsigned line, unsigned col,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(struct ld *l, const ytree_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_key(struct ld *l, unsigned line, unsigned col,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void xfail(struct ld *l, cfg_pos pos, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Report at line:col under the current key path.  Returns STP_EPARSE. */
static int
fail_at(struct ld *l, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(l, line, col, l->path, fmt, ap);
	va_end(ap);
	return STP_EPARSE;
}

/* Report at node n under the current key path.  Returns STP_EPARSE. */
static int
fail(struct ld *l, const ytree_node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(l, n->line, n->col, l->path, fmt, ap);
	va_end(ap);
	return STP_EPARSE;
}

/* Report at line:col under an explicit key.  Returns STP_EPARSE. */
static int
fail_key(struct ld *l, unsigned line, unsigned col, const char *key,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(l, line, col, key, fmt, ap);
	va_end(ap);
	return STP_EPARSE;
}

/* Pass 2: keep this error if it comes before the one held. */
static void
xfail(struct ld *l, cfg_pos pos, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (l->xhave && (pos.line > l->xpos.line ||
	    (pos.line == l->xpos.line && pos.col >= l->xpos.col)))
		return;
	l->xhave = 1;
	l->xpos = pos;
	va_start(ap, fmt);
	vreport(l, pos.line, pos.col, key, fmt, ap);
	va_end(ap);
}

static int
oom(struct ld *l)
{
	fail_key(l, 0, 0, NULL, "out of memory");
	return STP_ENOMEM;
}

/*
 * s[0..len) in double quotes for a message: at most SHOW_MAX characters,
 * '"' and '\' escaped, other bytes outside printable ASCII as \xNN.
 */
static const char *
show(char buf[SHOW_BUF], const char *s, size_t len)
{
	size_t i, o = 0;
	unsigned char ch;

	buf[o++] = '"';
	for (i = 0; i < len && i < SHOW_MAX; i++) {
		ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			snprintf(buf + o, 5, "\\x%02x", ch);
			o += 4;
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o++] = '"';
	if (i < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* What a node is, for "got ...". */
static const char *
describe(char buf[SHOW_BUF + 16], const ytree_node *n)
{
	if (n->kind == YTREE_MAP)
		return "a mapping";
	if (n->kind == YTREE_SEQ)
		return "a sequence";
	if (ytree_is_null(n))
		return "null";
	if (n->quoted) {
		memcpy(buf, "a quoted string ", 16);
		show(buf + 16, n->str, n->len);
		return buf;
	}
	return show(buf, n->str, n->len);
}

/* "expected WHAT, got DESCRIPTION" at n. */
static int
fail_type(struct ld *l, const ytree_node *n, const char *what)
{
	char d[SHOW_BUF + 16];

	return fail(l, n, "expected %s, got %s", what, describe(d, n));
}

/* ---- key paths ---- */

/* Append ".s" (or "s" at the start); returns the length to pop back to. */
static size_t
push_key(struct ld *l, const char *s, size_t len)
{
	size_t mark = l->plen, i, o = l->plen;

	if (o > 0 && o + 1 < sizeof(l->path))
		l->path[o++] = '.';
	if (len == 0 && o + 3 < sizeof(l->path)) {
		memcpy(l->path + o, "\"\"", 2);     /* an empty key */
		o += 2;
	}
	for (i = 0; i < len && i < SHOW_MAX && o + 1 < sizeof(l->path); i++) {
		unsigned char ch = (unsigned char)s[i];

		l->path[o++] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
	}
	if (i < len && o + 4 < sizeof(l->path)) {
		memcpy(l->path + o, "...", 3);
		o += 3;
	}
	l->path[o] = '\0';
	l->plen = o;
	return mark;
}

static size_t
push_index(struct ld *l, size_t i)
{
	size_t mark = l->plen;
	int n;

	n = snprintf(l->path + l->plen, sizeof(l->path) - l->plen, "[%zu]", i);
	if (n > 0 && (size_t)n < sizeof(l->path) - l->plen)
		l->plen += (size_t)n;
	else
		l->path[l->plen] = '\0';
	return mark;
}

static void
pop(struct ld *l, size_t mark)
{
	l->plen = mark;
	l->path[mark] = '\0';
}

/* ---- number formats ---- */

/* A size as the largest unit dividing it exactly: "16MiB", "1000B". */
static const char *
fmt_size(char *buf, size_t len, uint64_t v)
{
	if (v != 0 && v % GiB == 0)
		snprintf(buf, len, "%lluGiB", (unsigned long long)(v / GiB));
	else if (v != 0 && v % MiB == 0)
		snprintf(buf, len, "%lluMiB", (unsigned long long)(v / MiB));
	else if (v != 0 && v % KiB == 0)
		snprintf(buf, len, "%lluKiB", (unsigned long long)(v / KiB));
	else
		snprintf(buf, len, "%lluB", (unsigned long long)v);
	return buf;
}

/* A duration in ms as the largest unit dividing it exactly: "10s", "2m". */
static const char *
fmt_dur(char *buf, size_t len, uint64_t ms)
{
	if (ms != 0 && ms % HOUR == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / HOUR));
	else if (ms != 0 && ms % MINUTE == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / MINUTE));
	else if (ms != 0 && ms % SEC == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / SEC));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	return buf;
}

/*
 * Leading decimal digits of s[0..len) into *v (no sign, no leading zeros
 * but "0" itself).  Returns the digits consumed (0: none or a leading zero),
 * and sets *over when the number does not fit 64 bits.
 */
static size_t
scan_u64(const char *s, size_t len, uint64_t *v, int *over)
{
	size_t i = 0;
	uint64_t x = 0;

	*over = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		unsigned d = (unsigned)(s[i] - '0');

		if (x > (UINT64_MAX - d) / 10)
			*over = 1;
		else
			x = x * 10 + d;
		i++;
	}
	if (i > 1 && s[0] == '0')
		return 0;
	*v = x;
	return i;
}

static int
lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Case-insensitive s[0..len) == w. */
static int
word_eq(const char *s, size_t len, const char *w)
{
	size_t i;

	if (strlen(w) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (lower((unsigned char)s[i]) != w[i])
			return 0;
	return 1;
}

/*
 * A size: digits, optional blanks, optional unit (B, K, KiB, M, MiB, G, GiB,
 * any case).  Returns 0, -1 (malformed) or -2 (too large for 64 bits).
 */
static int
parse_size(const char *s, size_t len, uint64_t *out)
{
	static const struct { const char *u; uint64_t mul; } units[] = {
		{ "", 1 }, { "b", 1 }, { "k", KiB }, { "kib", KiB },
		{ "m", MiB }, { "mib", MiB }, { "g", GiB }, { "gib", GiB },
	};
	uint64_t v;
	size_t i, n;
	int over;

	if ((n = scan_u64(s, len, &v, &over)) == 0)
		return -1;
	while (n < len && (s[n] == ' ' || s[n] == '\t'))
		n++;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!word_eq(s + n, len - n, units[i].u))
			continue;
		if (over || v > UINT64_MAX / units[i].mul)
			return -2;
		*out = v * units[i].mul;
		return 0;
	}
	return -1;
}

/*
 * A duration: digits, optional blanks, optional unit (ms, s, m, h; a bare
 * number is seconds).  Result in ms.  Returns 0, -1 or -2 as parse_size.
 */
static int
parse_dur(const char *s, size_t len, uint64_t *out)
{
	static const struct { const char *u; uint64_t mul; } units[] = {
		{ "", SEC }, { "ms", 1 }, { "s", SEC }, { "m", MINUTE },
		{ "h", HOUR },
	};
	uint64_t v;
	size_t i, n;
	int over;

	if ((n = scan_u64(s, len, &v, &over)) == 0)
		return -1;
	while (n < len && (s[n] == ' ' || s[n] == '\t'))
		n++;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (len - n != strlen(units[i].u) ||
		    memcmp(s + n, units[i].u, len - n) != 0)
			continue;
		if (over || v > UINT64_MAX / units[i].mul)
			return -2;
		*out = v * units[i].mul;
		return 0;
	}
	return -1;
}

static void
store_u(void *dst, size_t w, uint64_t v)
{
	if (w == sizeof(uint64_t)) {
		memcpy(dst, &v, sizeof(v));
	} else {
		uint32_t x = (uint32_t)v;

		memcpy(dst, &x, sizeof(x));
	}
}

/* ---- names and addresses ---- */

static int
is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9');
}

/* [A-Za-z0-9_.-]{1,63} */
static int
name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= CFG_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

/*
 * A DNS host name (RFC 1123): dot-separated labels of 1..63 letters, digits
 * and hyphens, no hyphen first or last, at most 253 characters, an optional
 * final dot.  The last label may not be all digits: that is a mistyped IPv4
 * address, not a name.
 */
static int
dns_ok(const char *s, size_t len)
{
	size_t i, start = 0;
	int digits = 1;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (i == start || i - start > 63 || s[start] == '-' ||
			    s[i - 1] == '-')
				return 0;
			if (i == len && digits)
				return 0;
			start = i + 1;
			digits = 1;
			continue;
		}
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		if (s[i] < '0' || s[i] > '9')
			digits = 0;
	}
	return 1;
}

static int
addr_is_loopback(const cfg_addr *a)
{
	if (!a->is_ip)
		return 0;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&a->ss;

		return ((const uint8_t *)&sin->sin_addr)[0] == 127;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)&a->ss;

		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return 0;
}

/* "host:port", or "[host]:port" for IPv6. */
static const char *
fmt_addr(char *buf, size_t len, const cfg_addr *a)
{
	if (a->is_ip && a->ss.ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a->host, (unsigned)a->port);
	else
		snprintf(buf, len, "%s:%u", a->host, (unsigned)a->port);
	return buf;
}

/*
 * Parse "HOST:PORT" (IPv6 in brackets) into *out.  flags (A_*) say what the
 * host may be.  Returns 0, or -1 with the reason (after "KEY: ") in why.
 */
static int
addr_parse(const char *s, size_t len, int flags, cfg_addr *out, char *why,
    size_t whylen)
{
	const char *host, *port, *colon, *what;
	size_t hlen, plen;
	uint64_t pv;
	char q[SHOW_BUF];
	cfg_addr a;
	int over, v6 = 0;

	memset(&a, 0, sizeof(a));
	what = (flags & A_NAME) ? (flags & A_IP ?
	    "HOST:PORT with an IP address or DNS name" :
	    "HOST:PORT with a DNS name") : "HOST:PORT with an IP address";
	show(q, s, len);
	if (memchr(s, '\0', len) != NULL) {
		snprintf(why, whylen, "expected %s, got a string with a NUL "
		    "byte", what);
		return -1;
	}
	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL || rb + 1 == s + len || rb[1] != ':') {
			snprintf(why, whylen, "expected %s, got %s", what, q);
			return -1;
		}
		host = s + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
		v6 = 1;
	} else {
		colon = NULL;
		for (port = s; port < s + len; port++)
			if (*port == ':')
				colon = port;
		if (colon == NULL || colon == s) {
			snprintf(why, whylen, "expected %s, got %s", what, q);
			return -1;
		}
		host = s;
		hlen = (size_t)(colon - s);
		if (memchr(host, ':', hlen) != NULL) {
			snprintf(why, whylen, "expected %s, got %s (write an "
			    "IPv6 address in brackets, e.g. \"[::1]:7400\")",
			    what, q);
			return -1;
		}
	}
	port = colon + 1;
	plen = (size_t)(s + len - port);
	if (hlen == 0 || hlen >= sizeof(a.host)) {
		snprintf(why, whylen, "expected %s, got %s", what, q);
		return -1;
	}
	memcpy(a.host, host, hlen);
	a.host[hlen] = '\0';

	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

		if (inet_pton(AF_INET6, a.host, &sin6->sin6_addr) != 1) {
			snprintf(why, whylen, "expected an IPv6 address inside "
			    "[ ], got %s", q);
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		a.ss_len = sizeof(*sin6);
		a.is_ip = 1;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

		if (inet_pton(AF_INET, a.host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			a.ss_len = sizeof(*sin);
			a.is_ip = 1;
		} else if (!(flags & A_NAME) || !dns_ok(a.host, hlen)) {
			snprintf(why, whylen, "expected %s, got %s", what, q);
			return -1;
		}
	}
	if (a.is_ip && !(flags & A_IP)) {
		snprintf(why, whylen, "expected %s, got %s", what, q);
		return -1;
	}
	if (plen == 0 || scan_u64(port, plen, &pv, &over) != plen) {
		snprintf(why, whylen, "expected a numeric port after the ':', "
		    "got %s", q);
		return -1;
	}
	if (over || pv < 1 || pv > 65535) {
		snprintf(why, whylen, "port out of range 1..65535 in %s", q);
		return -1;
	}
	a.port = (uint16_t)pv;
	if (a.ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a.ss)->sin_port = htons(a.port);
	else if (a.ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a.ss)->sin6_port = htons(a.port);
	if ((flags & A_LOOPBACK) && !addr_is_loopback(&a)) {
		snprintf(why, whylen, "%s is not a loopback address (expected "
		    "127.0.0.0/8 or [::1])", a.host);
		return -1;
	}
	*out = a;
	return 0;
}

/* ---- value parsers (pass 1) ---- */

/* Integers, sizes, durations and booleans are never quoted strings. */
static int
is_plain(const ytree_node *v)
{
	return v->kind == YTREE_SCALAR && !v->quoted && !ytree_is_null(v);
}

static int
p_int(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	char what[64];
	uint64_t x;
	int over;
	size_t n;

	snprintf(what, sizeof(what), "an integer %llu..%llu",
	    (unsigned long long)f->min, (unsigned long long)f->max);
	if (!is_plain(v))
		return fail_type(l, v, what);
	n = v->len > 0 && v->str[0] == '-' ? 1 : 0;
	if (scan_u64(v->str + n, v->len - n, &x, &over) != v->len - n ||
	    v->len == n)
		return fail_type(l, v, what);
	if (n == 1 || over || x < f->min || x > f->max)
		return fail(l, v, "%s is out of range %llu..%llu", v->str,
		    (unsigned long long)f->min,
		    (unsigned long long)f->max);
	store_u(dst, f->w, x);
	return 0;
}

/* workers: auto, or a thread count (0: crypto on the loop). */
static int
p_workers(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	config *c = dst;
	char what[64];
	uint64_t x;
	int over;

	(void)f;
	if (v->kind == YTREE_SCALAR && !ytree_is_null(v) && v->len == 4 &&
	    memcmp(v->str, "auto", 4) == 0) {
		c->workers_auto = 1;
		c->workers = 0;  /* the gateway counts the CPUs when it starts */
		return 0;
	}
	snprintf(what, sizeof(what), "auto, or an integer 0..%u", WORKERS_MAX);
	if (!is_plain(v) || (v->len > 0 && v->str[0] == '-') ||
	    scan_u64(v->str, v->len, &x, &over) != v->len || v->len == 0)
		return fail_type(l, v, what);
	if (over || x > WORKERS_MAX)
		return fail(l, v, "%s is out of range 0..%u (or auto)", v->str,
		    WORKERS_MAX);
	c->workers_auto = 0;
	c->workers = (unsigned)x;
	return 0;
}

/* A quantity with units (a size or a duration): the same checks, other words. */
struct unitkind {
	const char *noun;   /* "a size" */
	const char *units;  /* how to write one */
	const char *(*fmt)(char *, size_t, uint64_t);
	int (*parse)(const char *, size_t, uint64_t *);
};

static const struct unitkind size_kind = {
	"a size", "bytes, or a number with B, KiB, MiB or GiB", fmt_size, parse_size
};
static const struct unitkind dur_kind = {
	"a duration", "a number with ms, s, m or h; a bare number is seconds",
	fmt_dur, parse_dur
};

static int
p_units(struct ld *l, const ytree_node *v, const struct field *f, void *dst,
    const struct unitkind *k)
{
	char what[160], lo[32], hi[32];
	uint64_t x = 0;
	int rc = -1;

	k->fmt(lo, sizeof(lo), f->min);
	k->fmt(hi, sizeof(hi), f->max);
	snprintf(what, sizeof(what), "%s %s..%s (%s)", k->noun, lo, hi, k->units);
	if (is_plain(v))
		rc = k->parse(v->str, v->len, &x);
	if (rc == -1)
		return fail_type(l, v, what);
	if (rc == -2 || x < f->min || x > f->max)
		return fail(l, v, "%s is out of range %s..%s", v->str, lo,
		    hi);
	store_u(dst, f->w, x);
	return 0;
}

static int
p_size(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	return p_units(l, v, f, dst, &size_kind);
}

static int
p_dur(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	return p_units(l, v, f, dst, &dur_kind);
}

static int
p_bool(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	int b = -1;
	size_t i;

	(void)f;
	if (is_plain(v)) {
		for (i = 0; i < 3; i++) {
			if (word_eq(v->str, v->len, yes[i]))
				b = 1;
			if (word_eq(v->str, v->len, no[i]))
				b = 0;
		}
	}
	if (b == -1)
		return fail_type(l, v, "true or false");
	memcpy(dst, &b, sizeof(b));
	return 0;
}

static int
p_enum(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	char what[128];
	size_t i, o = 0, n;
	int k;

	for (n = 0; f->words[n] != NULL; n++)
		;
	if (v->kind == YTREE_SCALAR && !ytree_is_null(v)) {
		for (k = 0; f->words[k] != NULL; k++) {
			if (strlen(f->words[k]) == v->len &&
			    memcmp(f->words[k], v->str, v->len) == 0) {
				memcpy(dst, &k, sizeof(k));
				return 0;
			}
		}
	}
	for (i = 0; i < n && o < sizeof(what); i++)
		o += (size_t)snprintf(what + o, sizeof(what) - o, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", f->words[i]);
	return fail_type(l, v, what);
}

/* A name, [A-Za-z0-9_.-]{1,63}; stored when f->w (the buffer size) != 0. */
static int
p_name(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	if (v->kind != YTREE_SCALAR || ytree_is_null(v) ||
	    !name_ok(v->str, v->len))
		return fail_type(l, v, "a name of 1..63 characters from "
		    "A-Z a-z 0-9 _ . -");
	if (f->w != 0 && dst != NULL)
		memcpy(dst, v->str, v->len + 1);
	return 0;
}

/* A file system path; relative ones are taken from the config's directory. */
static int
p_path(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	const char *slash = strrchr(l->file, '/');
	size_t dlen = 0, max = CFG_PATH_MAX - 1;
	char *out = dst;

	if (v->kind != YTREE_SCALAR || ytree_is_null(v) ||
	    (v->len == 0 && !(f->flags & P_EMPTY_OK)))
		return fail_type(l, v, "a path");
	if (memchr(v->str, '\0', v->len) != NULL)
		return fail(l, v, "expected a path, got a string with a NUL "
		    "byte");
	if (f->flags & P_IDENTITY)
		l->identity = v;
	if (v->len == 0) {
		out[0] = '\0';
		return 0;
	}
	if (v->str[0] != '/' && slash != NULL)
		dlen = (size_t)(slash - l->file) + 1;
	if (f->flags & P_SOCKET)
		max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	if (dlen + v->len > max)
		return fail(l, v, "path is %zu bytes%s; the limit is %zu%s",
		    dlen + v->len, dlen ? " (after the config file's "
		    "directory)" : "", max, (f->flags & P_SOCKET) ?
		    " for a socket" : "");
	memcpy(out, l->file, dlen);
	memcpy(out + dlen, v->str, v->len + 1);
	return 0;
}

static int
p_addr(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	const char *what = (f->flags & A_NAME) ?
	    "HOST:PORT with an IP address or DNS name" :
	    "HOST:PORT with an IP address";
	char why[2 * SHOW_BUF], d[SHOW_BUF + 16];
	cfg_addr *a = dst;
	int one = 1;

	if (v->kind == YTREE_SEQ)
		return fail(l, v, "expected %s, got %s (quote IPv6 addresses: "
		    "\"[::1]:7400\")", what, describe(d, v));
	if (v->kind != YTREE_SCALAR || ytree_is_null(v))
		return fail_type(l, v, what);
	if (addr_parse(v->str, v->len, f->flags, a, why, sizeof(why)) != 0)
		return fail(l, v, "%s", why);
	a->pos.line = v->line;
	a->pos.col = v->col;
	if (f->has)
		memcpy((char *)dst - f->off + f->has_off, &one, sizeof(one));
	return 0;
}

/* socks5://[USER:PASS@]HOST:PORT; the plugin parses it fully. */
static int
p_proxy(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	static const char pfx[] = "socks5://";
	const char *what = "socks5://[USER:PASS@]HOST:PORT";
	const char *hp, *at;
	char why[2 * SHOW_BUF];
	cfg_addr a;
	int one = 1;

	if (v->kind != YTREE_SCALAR || ytree_is_null(v))
		return fail_type(l, v, what);
	/* Shown without what may be a password. */
	if (v->len < sizeof(pfx) - 1 || memcmp(v->str, pfx, sizeof(pfx) - 1) != 0)
		return fail(l, v, "expected %s: the value must start with "
		    "\"socks5://\"", what);
	if (v->len >= f->w)
		return fail(l, v, "expected %s of at most %zu characters, got "
		    "%zu", what, f->w - 1, v->len);
	hp = v->str + sizeof(pfx) - 1;
	at = NULL;
	for (const char *p = hp; p < v->str + v->len; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		/* RFC 1929: USER and PASS of 1..255 bytes each (never shown). */
		const char *u = v->str + sizeof(pfx) - 1;
		const char *c = memchr(u, ':', (size_t)(at - u));

		if (c == NULL || c == u || c + 1 == at || c - u > 255 ||
		    at - c - 1 > 255)
			return fail(l, v, "expected %s: before the \"@\" "
			    "write USER:PASS, each 1..255 bytes (RFC 1929)",
			    what);
		hp = at + 1;
	}
	if (addr_parse(hp, (size_t)(v->str + v->len - hp), A_IP | A_NAME, &a,
	    why, sizeof(why)) != 0)
		return fail(l, v, "expected %s; after the \"socks5://\"%s: %s",
		    what, at != NULL ? " and the \"@\"" : "", why);
	memcpy(dst, v->str, v->len + 1);
	if (f->has)
		memcpy((char *)dst - f->off + f->has_off, &one, sizeof(one));
	return 0;
}

/* A peer's public key text; its position is kept for pass 2. */
static int
p_key(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	char msg[256];

	(void)f;
	if (v->kind != YTREE_SCALAR || ytree_is_null(v))
		return fail_type(l, v, "a public key (stp1:..., as `stpgate "
		    "pubkey` prints it)");
	if (memchr(v->str, '\0', v->len) != NULL)
		return fail(l, v, "a public key cannot contain a NUL byte");
	if (identity_pub_decode(v->str, dst, msg, sizeof(msg)) != 0)
		return fail(l, v, "%s", msg);
	l->key_pos[l->cur_peer].line = v->line;
	l->key_pos[l->cur_peer].col = v->col;
	return 0;
}

static int walk(struct ld *l, const ytree_node *m, const struct field *tab,
    void *base);

/* A nested mapping whose table is relative to the same struct. */
static int
p_map(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	if (v->kind != YTREE_MAP)
		return fail_type(l, v, "a mapping");
	return walk(l, v, f->sub, (char *)dst - f->off);
}

/* plugins: NAME: {...}; each NAME must be a plugin built in.  Checked later. */
static int
p_plugins(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	char names[256];
	size_t i, j, o, mark;
	int rc = 0;

	(void)f;
	(void)dst;
	if (v->kind != YTREE_MAP)
		return fail_type(l, v, "a mapping of plugin names to their settings");
	for (i = 0; i < ytree_count(v) && rc == 0; i++) {
		const ytree_node *k = ytree_key(v, i);

		if (plugin_find(k->str) >= 0)
			continue;
		for (o = 0, j = 0; j < plugin_count() && o < sizeof(names); j++)
			o += (size_t)snprintf(names + o, sizeof(names) - o,
			    "%s%s", j ? ", " : "", plugin_at(j)->name);
		mark = push_key(l, k->str, k->len);
		rc = fail(l, k, "unknown plugin (built in: %s)", names);
		pop(l, mark);
	}
	l->plugins = v;
	return rc;
}

/* ---- the plugins' settings (plugin_api.h: stp_cfg_*) ---- */

struct stp_cfg {
	struct ld *l;
	const ytree_node *root;         /* the plugin's subtree */
};

/* Push the key path from m down to node n (1 if found; nothing pushed if not). */
static int
push_path(struct ld *l, const ytree_node *m, const ytree_node *n, int depth)
{
	size_t i, mark;

	if (m == NULL || m->kind != YTREE_MAP || depth > 8)
		return 0;
	for (i = 0; i < ytree_count(m); i++) {
		const ytree_node *k = ytree_key(m, i), *v = ytree_value(m, i);

		mark = push_key(l, k->str, k->len);
		if (v == n || push_path(l, v, n, depth + 1))
			return 1;
		pop(l, mark);
	}
	return 0;
}

/* Report at n (or the plugin's own key) under plugins.NAME[.key]. */
static int cfg_report(stp_cfg *cx, const ytree_node *n, const char *key,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static int
cfg_report(stp_cfg *cx, const ytree_node *n, const char *key, const char *fmt,
    va_list ap)
{
	struct ld *l = cx->l;
	size_t mark = l->plen;
	unsigned line = n != NULL ? n->line : 0, col = n != NULL ? n->col : 0;

	if (key != NULL)
		push_key(l, key, strlen(key));
	else if (n != NULL && n != cx->root)
		push_path(l, cx->root, n, 0);
	vreport(l, line, col, l->path, fmt, ap);
	pop(l, mark);
	return STP_PLUGIN_EBADCFG;
}

int
stp_cfg_error(stp_cfg *cx, const stp_node *n, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cfg_report(cx, n, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

const stp_node *
stp_cfg_get(const stp_node *map, const char *key)
{
	return map != NULL ? ytree_get(map, key) : NULL;
}

/* Run one of the loader's value parsers on map.key as a field with min..max. */
static int
cfg_field(stp_cfg *cx, const stp_node *map, const char *key, parse_fn parse,
    uint64_t min, uint64_t max, void *dst, size_t w)
{
	struct ld *l = cx->l;
	const ytree_node *v = stp_cfg_get(map, key);
	struct field f;
	size_t mark;
	int rc;

	if (v == NULL || ytree_is_null(v))
		return 0;
	memset(&f, 0, sizeof(f));
	f.name = key;
	f.min = min;
	f.max = max;
	f.w = w;
	mark = push_key(l, key, strlen(key));
	rc = parse(l, v, &f, dst);
	pop(l, mark);
	return rc == 0 ? 0 : STP_PLUGIN_EBADCFG;
}

int
stp_cfg_keys(stp_cfg *cx, const stp_node *map, const char *const *keys)
{
	char names[256], d[SHOW_BUF + 16];
	size_t i, j, o;

	if (map == NULL || ytree_is_null(map))
		return 0;
	if (map->kind != YTREE_MAP)
		return stp_cfg_error(cx, map, "expected a mapping of settings, got %s",
		    describe(d, map));
	for (i = 0; i < ytree_count(map); i++) {
		const ytree_node *k = ytree_key(map, i);

		for (j = 0; keys[j] != NULL; j++)
			if (strlen(keys[j]) == k->len &&
			    memcmp(keys[j], k->str, k->len) == 0)
				break;
		if (keys[j] != NULL)
			continue;
		names[0] = '\0';
		if (keys[0] == NULL)
			snprintf(names, sizeof(names), "none: this plugin has no settings");
		for (o = 0, j = 0; keys[j] != NULL && o < sizeof(names); j++)
			o += (size_t)snprintf(names + o, sizeof(names) - o,
			    "%s%s", j ? ", " : "", keys[j]);
		{
			size_t mark = push_key(cx->l, k->str, k->len);

			fail(cx->l, k, "unknown key (expected one of: %s)", names);
			pop(cx->l, mark);
		}
		return STP_PLUGIN_EBADCFG;
	}
	return 0;
}

int
stp_cfg_uint(stp_cfg *cx, const stp_node *map, const char *key, uint64_t min,
    uint64_t max, uint64_t *out)
{
	return cfg_field(cx, map, key, p_int, min, max, out, sizeof(*out));
}

int
stp_cfg_size(stp_cfg *cx, const stp_node *map, const char *key, uint64_t min,
    uint64_t max, uint64_t *out)
{
	return cfg_field(cx, map, key, p_size, min, max, out, sizeof(*out));
}

int
stp_cfg_duration(stp_cfg *cx, const stp_node *map, const char *key,
    uint64_t min_ms, uint64_t max_ms, uint64_t *out_ms)
{
	return cfg_field(cx, map, key, p_dur, min_ms, max_ms, out_ms,
	    sizeof(*out_ms));
}

int
stp_cfg_bool(stp_cfg *cx, const stp_node *map, const char *key, int *out)
{
	return cfg_field(cx, map, key, p_bool, 0, 1, out, sizeof(*out));
}

int
stp_cfg_number(stp_cfg *cx, const stp_node *map, const char *key, double min,
    double max, double *out)
{
	const ytree_node *v = stp_cfg_get(map, key);
	char d[SHOW_BUF + 16], *end;
	size_t mark;
	double x;
	int rc = 0;

	if (v == NULL || ytree_is_null(v))
		return 0;
	mark = push_key(cx->l, key, strlen(key));
	if (!is_plain(v) || v->len == 0 || v->len > 32 ||
	    strspn(v->str, "0123456789.eE+-") != v->len) {
		rc = fail(cx->l, v, "expected a number %g..%g, got %s", min,
		    max, describe(d, v));
	} else {
		errno = 0;
		x = strtod(v->str, &end);
		if (errno != 0 || *end != '\0' || !(x >= min && x <= max))
			rc = fail(cx->l, v, "%s is out of range %g..%g", v->str,
			    min, max);
		else
			*out = x;
	}
	pop(cx->l, mark);
	return rc == 0 ? 0 : STP_PLUGIN_EBADCFG;
}

int
stp_cfg_sizes(stp_cfg *cx, const stp_node *map, const char *key, uint64_t min,
    uint64_t max, uint64_t *out, size_t max_n, size_t *n_out)
{
	const ytree_node *v = stp_cfg_get(map, key);
	struct field f;
	char d[SHOW_BUF + 16];
	size_t i, mark;
	int rc = 0;

	if (v == NULL || ytree_is_null(v))
		return 0;
	mark = push_key(cx->l, key, strlen(key));
	if (v->kind != YTREE_SEQ || v->n == 0 || v->n > max_n) {
		rc = fail(cx->l, v, "expected a sequence of 1..%zu sizes, got %s",
		    max_n, v->kind == YTREE_SEQ ? "a longer one" :
		    describe(d, v));
		goto out;
	}
	memset(&f, 0, sizeof(f));
	f.name = key;
	f.min = min;
	f.max = max;
	f.w = sizeof(*out);
	for (i = 0; i < v->n && rc == 0; i++)
		rc = p_size(cx->l, v->kids[i], &f, &out[i]);
	if (rc == 0)
		*n_out = v->n;
out:
	pop(cx->l, mark);
	return rc == 0 ? 0 : STP_PLUGIN_EBADCFG;
}

int
stp_cfg_string(stp_cfg *cx, const stp_node *map, const char *key, char *out,
    size_t out_len)
{
	const ytree_node *v = stp_cfg_get(map, key);
	char d[SHOW_BUF + 16];
	size_t mark;
	int rc = 0;

	if (v == NULL || ytree_is_null(v))
		return 0;
	mark = push_key(cx->l, key, strlen(key));
	if (v->kind != YTREE_SCALAR)
		rc = fail_type(cx->l, v, "a string");
	else if (v->len >= out_len || memchr(v->str, '\0', v->len) != NULL)
		rc = fail(cx->l, v, "expected a string of at most %zu bytes "
		    "without NUL, got %s", out_len - 1, describe(d, v));
	else
		memcpy(out, v->str, v->len + 1);
	pop(cx->l, mark);
	return rc == 0 ? 0 : STP_PLUGIN_EBADCFG;
}

/* Every built-in plugin sees its subtree (NULL when absent). */
static int
configure_plugins(struct ld *l)
{
	stp_cfg cx = { l, NULL };
	size_t i, mark;
	int rc;

	for (i = 0; i < plugin_count(); i++) {
		const stp_plugin *p = plugin_at(i);
		const ytree_node *n = l->plugins != NULL ?
		    ytree_get(l->plugins, p->name) : NULL;

		cx.root = n;
		mark = push_key(l, "plugins", 7);
		push_key(l, p->name, strlen(p->name));
		rc = p->configure(&cx, n, &l->c->plugins.cfg[i],
		    &l->c->plugins.enabled[i]);
		pop(l, mark);
		if (rc != 0) {
			if (l->err != NULL && l->err_len > 0 && l->err[0] == '\0')
				fail_key(l, n ? n->line : 0, n ? n->col : 0,
				    p->name, "plugin settings refused");
			return STP_EPARSE;
		}
	}
	return 0;
}

/* allow: [NAME, ...]; the names are resolved in pass 2. */
static int
p_allow(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	size_t i, mark;
	int rc;

	(void)dst;
	if (v->kind != YTREE_SEQ)
		return fail_type(l, v, "a sequence of peer names");
	for (i = 0; i < v->n; i++) {
		mark = push_index(l, i);
		rc = p_name(l, v->kids[i], f, NULL);
		pop(l, mark);
		if (rc != 0)
			return rc;
	}
	return 0;
}

#define MSIZE(t, m) sizeof(((t *)0)->m)
#define F(n, fn, t, m) .name = n, .parse = fn, .off = offsetof(t, m), \
	.w = MSIZE(t, m)
#define RANGE(lo, hi) .min = (lo), .max = (hi)
#define HAS(t, m) .has = 1, .has_off = offsetof(t, m)

static const char *const log_levels[] = { "error", "warn", "info", "debug",
    NULL };
static const char *const log_formats[] = { "text", "json", NULL };

static const struct field log_fields[] = {
	{ F("level", p_enum, config, log_level), .words = log_levels },
	{ F("format", p_enum, config, log_format), .words = log_formats },
	{ .name = NULL }
};

static const struct field limits_fields[] = {
	{ F("max_sessions", p_int, config, limits.max_sessions),
	    RANGE(1, 1000000) },
	{ F("max_handshakes", p_int, config, limits.max_handshakes),
	    RANGE(1, 1000000) },
	{ F("handshakes_per_source", p_int, config,
	    limits.handshakes_per_source), RANGE(1, 1000000) },
	{ F("max_streams", p_int, config, limits.max_streams),
	    RANGE(1, 1000000) },
	{ F("max_connections", p_int, config, limits.max_connections),
	    RANGE(1, 1000000) },
	{ F("session_buffer", p_size, config, limits.session_buffer),
	    RANGE(64 * KiB, 64 * GiB) },
	{ .name = NULL }
};

static const struct field timeouts_fields[] = {
	{ F("handshake", p_dur, config, timeouts.handshake_ms),
	    RANGE(100, 10 * MINUTE) },
	{ F("connect", p_dur, config, timeouts.connect_ms),
	    RANGE(100, 10 * MINUTE) },
	{ F("keepalive", p_dur, config, timeouts.keepalive_ms),
	    RANGE(100, HOUR) },
	{ F("dead_after", p_dur, config, timeouts.dead_ms),
	    RANGE(100, 24 * HOUR) },
	{ F("stream_idle", p_dur, config, timeouts.stream_idle_ms),
	    RANGE(0, 720 * HOUR) },
	{ F("drain", p_dur, config, timeouts.drain_ms), RANGE(0, HOUR) },
	{ F("reconnect_min", p_dur, config, timeouts.reconnect_min_ms),
	    RANGE(10, HOUR) },
	{ F("reconnect_max", p_dur, config, timeouts.reconnect_max_ms),
	    RANGE(10, 24 * HOUR) },
	{ .name = NULL }
};

static const struct field flow_fields[] = {
	{ F("window", p_size, config, flow.window), RANGE(16 * KiB, GiB) },
	{ F("max_window", p_size, config, flow.max_window),
	    RANGE(16 * KiB, GiB) },
	{ .name = NULL }
};

static const struct field rekey_fields[] = {
	{ F("bytes", p_size, config, rekey.bytes), RANGE(MiB, 1024 * GiB) },
	{ F("interval", p_dur, config, rekey.interval_ms),
	    RANGE(SEC, 24 * HOUR) },
	{ F("fresh_interval", p_dur, config, rekey.fresh_interval_ms),
	    RANGE(MINUTE, 168 * HOUR) },
	{ .name = NULL }
};

static const struct field peer_fields[] = {
	{ F("key", p_key, cfg_peer, key), .required = 1 },
	{ F("dial", p_addr, cfg_peer, dial), .flags = A_IP | A_NAME,
	    HAS(cfg_peer, has_dial) },
	{ F("proxy", p_proxy, cfg_peer, proxy), HAS(cfg_peer, has_proxy) },
	{ F("sign_records", p_bool, cfg_peer, sign_records) },
	{ .name = NULL }
};

static const struct field forward_fields[] = {
	{ F("listen", p_addr, cfg_forward, listen), .required = 1,
	    .flags = A_IP },
	/* Checked as a name here, resolved to an index in pass 2. */
	{ .name = "peer", .parse = p_name, .required = 1 },
	{ F("service", p_name, cfg_forward, service), .required = 1 },
	{ F("allow_remote", p_bool, cfg_forward, allow_remote) },
	{ .name = NULL }
};

static const struct field service_fields[] = {
	{ F("connect", p_addr, cfg_service, connect), .required = 1,
	    .flags = A_IP | A_NAME },
	{ .name = "allow", .parse = p_allow },
	{ .name = NULL }
};

static int p_peers(struct ld *, const ytree_node *, const struct field *,
    void *);
static int p_forwards(struct ld *, const ytree_node *, const struct field *,
    void *);
static int p_services(struct ld *, const ytree_node *, const struct field *,
    void *);

static const struct field top_fields[] = {
	{ F("identity", p_path, config, identity_path), .required = 1,
	    .flags = P_IDENTITY },
	{ F("listen", p_addr, config, listen), .flags = A_IP,
	    HAS(config, has_listen) },
	{ .name = "workers", .parse = p_workers, RANGE(0, WORKERS_MAX) },
	{ .name = "log", .parse = p_map, .sub = log_fields },
	{ F("metrics", p_addr, config, metrics), .flags = A_IP | A_LOOPBACK,
	    HAS(config, has_metrics) },
	{ F("control", p_path, config, control),
	    .flags = P_EMPTY_OK | P_SOCKET },
	{ .name = "peers", .parse = p_peers },
	{ .name = "forwards", .parse = p_forwards },
	{ .name = "services", .parse = p_services },
	{ .name = "limits", .parse = p_map, .sub = limits_fields },
	{ .name = "timeouts", .parse = p_map, .sub = timeouts_fields },
	{ .name = "flow", .parse = p_map, .sub = flow_fields },
	{ .name = "rekey", .parse = p_map, .sub = rekey_fields },
	{ .name = "plugins", .parse = p_plugins },
	{ .name = NULL }
};

/*
 * Walk mapping m in file order against tab, filling base.  A null value
 * leaves an optional key at its default.
 */
static int
walk(struct ld *l, const ytree_node *m, const struct field *tab, void *base)
{
	uint64_t seen = 0;
	const struct field *f;
	const ytree_node *k, *v;
	char names[256];
	size_t i, j, mark, o;
	int rc;

	for (i = 0; i < ytree_count(m); i++) {
		k = ytree_key(m, i);
		v = ytree_value(m, i);
		for (j = 0; tab[j].name != NULL; j++)
			if (strlen(tab[j].name) == k->len &&
			    memcmp(tab[j].name, k->str, k->len) == 0)
				break;
		f = &tab[j];
		mark = push_key(l, k->str, k->len);
		if (f->name == NULL) {
			for (o = 0, j = 0; tab[j].name != NULL &&
			    o < sizeof(names); j++)
				o += (size_t)snprintf(names + o,
				    sizeof(names) - o, "%s%s", j ? ", " : "",
				    tab[j].name);
			rc = fail(l, k, "unknown key (expected one of: %s)",
			    names);
		} else {
			seen |= 1ull << j;
			if (ytree_is_null(v) && !f->required)
				rc = 0;
			else
				rc = f->parse(l, v, f, (char *)base + f->off);
		}
		pop(l, mark);
		if (rc != 0)
			return rc;
	}
	for (j = 0; tab[j].name != NULL; j++)
		if (tab[j].required && !(seen & (1ull << j)))
			return fail_at(l, m->line, m->col, "missing key \"%s\"",
			    tab[j].name);
	return 0;
}

/* Check a name used as a mapping key (peers, services). */
static int
check_key_name(struct ld *l, const ytree_node *k, const char *what)
{
	if (name_ok(k->str, k->len))
		return 0;
	return fail(l, k, "invalid %s name (expected 1..63 characters from "
	    "A-Z a-z 0-9 _ . -)", what);
}

static int
p_peers(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	config *c = l->c;
	const ytree_node *k, *pv;
	size_t i, n, mark;
	int rc;

	(void)f;
	(void)dst;
	if (v->kind != YTREE_MAP)
		return fail_type(l, v, "a mapping of peer names to peers");
	l->peers = v;
	if ((n = ytree_count(v)) == 0)
		return 0;
	if ((c->peers = calloc(n, sizeof(*c->peers))) == NULL ||
	    (l->key_pos = calloc(n, sizeof(*l->key_pos))) == NULL)
		return oom(l);
	c->n_peers = n;
	for (i = 0; i < n; i++) {
		cfg_peer *p = &c->peers[i];

		k = ytree_key(v, i);
		pv = ytree_value(v, i);
		mark = push_key(l, k->str, k->len);
		if ((rc = check_key_name(l, k, "peer")) == 0) {
			memcpy(p->name, k->str, k->len + 1);
			p->pos.line = k->line;
			p->pos.col = k->col;
			l->cur_peer = i;
			if (pv->kind != YTREE_MAP)
				rc = fail_type(l, pv, "a mapping with at "
				    "least \"key\"");
			else
				rc = walk(l, pv, peer_fields, p);
		}
		/* A proxy carries our dials: without dial it would do nothing. */
		if (rc == 0 && p->has_proxy && !p->has_dial) {
			const ytree_node *pn = ytree_get(pv, "proxy");
			size_t m2 = push_key(l, "proxy", 5);

			rc = fail(l, pn, "a proxy needs \"dial\" (the peer's "
			    "HOST:PORT, which the proxy connects to); without it "
			    "we never dial this peer");
			pop(l, m2);
		}
		pop(l, mark);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
p_forwards(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst)
{
	config *c = l->c;
	const ytree_node *item;
	size_t i, n, mark;
	int rc;

	(void)f;
	(void)dst;
	if (v->kind != YTREE_SEQ)
		return fail_type(l, v, "a sequence of forwards");
	l->forwards = v;
	if ((n = ytree_count(v)) == 0)
		return 0;
	if ((c->forwards = calloc(n, sizeof(*c->forwards))) == NULL)
		return oom(l);
	c->n_forwards = n;
	for (i = 0; i < n; i++) {
		cfg_forward *fw = &c->forwards[i];

		item = ytree_item(v, i);
		mark = push_index(l, i);
		fw->pos.line = item->line;
		fw->pos.col = item->col;
		if (item->kind != YTREE_MAP)
			rc = fail_type(l, item, "a mapping (listen, peer, "
			    "service, allow_remote)");
		else
			rc = walk(l, item, forward_fields, fw);
		pop(l, mark);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
p_services(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst)
{
	config *c = l->c;
	const ytree_node *k, *sv;
	size_t i, n, mark;
	int rc;

	(void)f;
	(void)dst;
	if (v->kind != YTREE_MAP)
		return fail_type(l, v, "a mapping of service names to services");
	l->services = v;
	if ((n = ytree_count(v)) == 0)
		return 0;
	if ((c->services = calloc(n, sizeof(*c->services))) == NULL)
		return oom(l);
	c->n_services = n;
	for (i = 0; i < n; i++) {
		cfg_service *s = &c->services[i];

		k = ytree_key(v, i);
		sv = ytree_value(v, i);
		mark = push_key(l, k->str, k->len);
		if ((rc = check_key_name(l, k, "service")) == 0) {
			memcpy(s->name, k->str, k->len + 1);
			s->pos.line = k->line;
			s->pos.col = k->col;
			if (sv->kind != YTREE_MAP)
				rc = fail_type(l, sv, "a mapping with at "
				    "least \"connect\"");
			else
				rc = walk(l, sv, service_fields, s);
		}
		pop(l, mark);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- relations (pass 2) ---- */

static int
pos_cmp(cfg_pos a, cfg_pos b)
{
	if (a.line != b.line)
		return a.line < b.line ? -1 : 1;
	return a.col < b.col ? -1 : a.col > b.col;
}

static int
cmp_peer_name(const void *pa, const void *pb)
{
	const cfg_peer *a = *(const cfg_peer *const *)pa;
	const cfg_peer *b = *(const cfg_peer *const *)pb;

	return strcmp(a->name, b->name);
}

/* Peers sorted by key; equal keys in file (array) order. */
static int
cmp_peer_key(const void *pa, const void *pb)
{
	const cfg_peer *a = *(const cfg_peer *const *)pa;
	const cfg_peer *b = *(const cfg_peer *const *)pb;
	int d = memcmp(a->key, b->key, sizeof(a->key));

	if (d != 0)
		return d;
	return a < b ? -1 : a > b;
}

/* Index of the peer named name in the sorted list, or -1. */
static long
find_peer(const config *c, const cfg_peer *const *byname, const char *name)
{
	size_t lo = 0, hi = c->n_peers, mid;
	int d;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		d = strcmp(name, byname[mid]->name);
		if (d == 0)
			return (long)(byname[mid] - c->peers);
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* "(known: a, b, c)" in file order, or that there are none. */
static const char *
known_peers(const config *c, char *buf, size_t len)
{
	size_t i, o;

	if (c->n_peers == 0) {
		snprintf(buf, len, "(no peers are defined)");
		return buf;
	}
	o = (size_t)snprintf(buf, len, "(known: ");
	for (i = 0; i < c->n_peers && i < KNOWN_MAX && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "",
		    c->peers[i].name);
	if (o < len)
		snprintf(buf + o, len - o, "%s)", i < c->n_peers ? ", ..." : "");
	return buf;
}

/* Resolve a peer name node used at key; returns the index or -1 (reported). */
static long
resolve_peer(struct ld *l, const cfg_peer *const *byname,
    const ytree_node *n, const char *key)
{
	char q[SHOW_BUF], known[KNOWN_MAX * (CFG_NAME_MAX + 2) + 32];
	cfg_pos pos = { n->line, n->col };
	long i = find_peer(l->c, byname, n->str);

	if (i < 0)
		xfail(l, pos, key, "no peer named %s %s",
		    show(q, n->str, n->len), known_peers(l->c, known,
		    sizeof(known)));
	return i;
}

static int
cmp_size_t(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	return a < b ? -1 : a > b;
}

/* Listeners: the top-level listen, metrics, every forward. */
struct lsn {
	const cfg_addr *a;
	int kind;           /* 0 listen, 1 metrics, 2 forward */
	size_t idx;
};

static int
cmp_lsn(const void *pa, const void *pb)
{
	const struct lsn *a = pa, *b = pb;

	if (a->a->port != b->a->port)
		return a->a->port < b->a->port ? -1 : 1;
	return pos_cmp(a->a->pos, b->a->pos);
}

static const char *
lsn_name(char *buf, size_t len, const struct lsn *x)
{
	if (x->kind == 0)
		snprintf(buf, len, "listen");
	else if (x->kind == 1)
		snprintf(buf, len, "metrics");
	else
		snprintf(buf, len, "forwards[%zu].listen", x->idx);
	return buf;
}

static int
addr_is_any(const cfg_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)&a->ss)->
		    sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
	    &((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_addr);
}

/* Same port: would binding both fail?  0 same address, 1 overlap, -1 no. */
static int
addr_clash(const cfg_addr *a, const cfg_addr *b)
{
	int fa = a->ss.ss_family, fb = b->ss.ss_family;

	if (fa == fb && a->ss_len == b->ss_len) {
		if (fa == AF_INET && memcmp(
		    &((const struct sockaddr_in *)(const void *)&a->ss)->sin_addr,
		    &((const struct sockaddr_in *)(const void *)&b->ss)->sin_addr,
		    sizeof(struct in_addr)) == 0)
			return 0;
		if (fa == AF_INET6 && memcmp(
		    &((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_addr,
		    &((const struct sockaddr_in6 *)(const void *)&b->ss)->sin6_addr,
		    sizeof(struct in6_addr)) == 0)
			return 0;
	}
	/* [::] takes IPv4 too unless IPV6_V6ONLY; 0.0.0.0 takes all of IPv4. */
	if ((fa == AF_INET6 && addr_is_any(a)) ||
	    (fb == AF_INET6 && addr_is_any(b)))
		return 1;
	if (fa == AF_INET && fb == AF_INET && (addr_is_any(a) || addr_is_any(b)))
		return 1;
	return -1;
}

static int
check_listeners(struct ld *l)
{
	const config *c = l->c;
	struct lsn *v;
	size_t n = 0, i, j, g;
	char an[64], bn[64], as[CFG_HOST_MAX + 16], bs[CFG_HOST_MAX + 16];
	int k;

	if ((v = calloc(c->n_forwards + 2, sizeof(*v))) == NULL)
		return oom(l);
	if (c->has_listen)
		v[n++] = (struct lsn){ &c->listen, 0, 0 };
	if (c->has_metrics)
		v[n++] = (struct lsn){ &c->metrics, 1, 0 };
	for (i = 0; i < c->n_forwards; i++)
		v[n++] = (struct lsn){ &c->forwards[i].listen, 2, i };
	qsort(v, n, sizeof(*v), cmp_lsn);
	for (g = 0; g < n; g = j) {
		for (j = g + 1; j < n && v[j].a->port == v[g].a->port; j++)
			;
		/* v[g..j) share a port, in file order. */
		for (size_t b = g + 1; b < j; b++) {
			for (size_t a = g; a < b; a++) {
				if ((k = addr_clash(v[a].a, v[b].a)) < 0)
					continue;
				lsn_name(an, sizeof(an), &v[a]);
				lsn_name(bn, sizeof(bn), &v[b]);
				if (k == 0)
					xfail(l, v[b].a->pos, bn, "same address "
					    "as %s (line %u)", an,
					    v[a].a->pos.line);
				else
					xfail(l, v[b].a->pos, bn, "%s overlaps "
					    "%s %s (line %u)", fmt_addr(bs,
					    sizeof(bs), v[b].a), an, fmt_addr(as,
					    sizeof(as), v[a].a), v[a].a->pos.line);
				break;
			}
		}
	}
	free(v);
	return 0;
}

/* The value node of sect.key when given and not null, else NULL. */
static const ytree_node *
given(struct ld *l, const char *sect, const char *key)
{
	const ytree_node *n = ytree_get(ytree_get(l->root, sect), key);

	return n == NULL || ytree_is_null(n) ? NULL : n;
}

/*
 * sect.ka must be below (strict) or at most sect.kb.  The key blamed is the
 * one given in the file (the later one when both are).
 */
static void
check_order(struct ld *l, const char *sect, const char *ka, uint64_t va,
    const char *kb, uint64_t vb, int strict,
    const char *(*fmt)(char *, size_t, uint64_t))
{
	const ytree_node *na = given(l, sect, ka), *nb = given(l, sect, kb);
	const ytree_node *blame;
	char key[64], sa[32], sb[32];
	cfg_pos pos;

	if (strict ? va < vb : va <= vb)
		return;
	if (na != NULL && nb != NULL)
		blame = (na->line > nb->line || (na->line == nb->line &&
		    na->col > nb->col)) ? na : nb;
	else
		blame = na != NULL ? na : nb;
	if (blame == NULL)
		return;     /* the defaults are consistent */
	snprintf(key, sizeof(key), "%s.%s", sect, blame == na ? ka : kb);
	pos.line = blame->line;
	pos.col = blame->col;
	xfail(l, pos, key, "%s.%s (%s) must be %s %s.%s (%s)", sect, ka,
	    fmt(sa, sizeof(sa), va), strict ? "less than" : "at most", sect,
	    kb, fmt(sb, sizeof(sb), vb));
}

static int
relations(struct ld *l)
{
	config *c = l->c;
	const cfg_peer **byname = NULL, **bykey = NULL;
	const ytree_node *item, *n;
	char key[128];
	size_t i, j, k, m;
	long pi;
	int rc;

	if (c->n_peers > 0 &&
	    ((byname = calloc(c->n_peers, sizeof(*byname))) == NULL ||
	    (bykey = calloc(c->n_peers, sizeof(*bykey))) == NULL)) {
		rc = oom(l);
		goto out;
	}
	for (i = 0; i < c->n_peers; i++)
		byname[i] = bykey[i] = &c->peers[i];
	if (c->n_peers > 0) {
		qsort(byname, c->n_peers, sizeof(*byname), cmp_peer_name);
		qsort(bykey, c->n_peers, sizeof(*bykey), cmp_peer_key);
	}

	/* Two peers with one key: blame each later one, naming the first. */
	for (i = 0; i < c->n_peers; i = j) {
		for (j = i + 1; j < c->n_peers && memcmp(bykey[i]->key,
		    bykey[j]->key, sizeof(bykey[i]->key)) == 0; j++) {
			size_t a = (size_t)(bykey[i] - c->peers);
			size_t b = (size_t)(bykey[j] - c->peers);

			snprintf(key, sizeof(key), "peers.%s.key",
			    c->peers[b].name);
			xfail(l, l->key_pos[b], key, "same key as peers.%s "
			    "(line %u)", c->peers[a].name, l->key_pos[a].line);
		}
	}

	for (i = 0; i < c->n_forwards; i++) {
		cfg_forward *fw = &c->forwards[i];

		item = ytree_item(l->forwards, i);
		snprintf(key, sizeof(key), "forwards[%zu].peer", i);
		if ((pi = resolve_peer(l, byname, ytree_get(item, "peer"),
		    key)) >= 0)
			fw->peer = (size_t)pi;
		if (!fw->allow_remote && !addr_is_loopback(&fw->listen)) {
			snprintf(key, sizeof(key), "forwards[%zu].listen", i);
			xfail(l, fw->listen.pos, key, "%s is not a loopback "
			    "address; set allow_remote: true to listen there",
			    fw->listen.host);
		}
	}

	for (i = 0; i < c->n_services; i++) {
		cfg_service *s = &c->services[i];

		n = ytree_get(ytree_value(l->services, i), "allow");
		if (n == NULL || (m = ytree_count(n)) == 0)
			continue;
		if ((s->allow = calloc(m, sizeof(*s->allow))) == NULL) {
			rc = oom(l);
			goto out;
		}
		for (j = 0; j < m; j++) {
			snprintf(key, sizeof(key), "services.%s.allow[%zu]",
			    s->name, j);
			if ((pi = resolve_peer(l, byname, ytree_item(n, j),
			    key)) >= 0)
				s->allow[s->n_allow++] = (size_t)pi;
		}
		/* Sorted and unique: a name listed twice is harmless. */
		qsort(s->allow, s->n_allow, sizeof(*s->allow), cmp_size_t);
		for (j = k = 0; j < s->n_allow; j++)
			if (k == 0 || s->allow[k - 1] != s->allow[j])
				s->allow[k++] = s->allow[j];
		s->n_allow = k;
	}

	if ((rc = check_listeners(l)) != 0)
		goto out;

	check_order(l, "flow", "window", c->flow.window, "max_window",
	    c->flow.max_window, 0, fmt_size);
	check_order(l, "timeouts", "keepalive", c->timeouts.keepalive_ms,
	    "dead_after", c->timeouts.dead_ms, 1, fmt_dur);
	check_order(l, "timeouts", "reconnect_min",
	    c->timeouts.reconnect_min_ms, "reconnect_max",
	    c->timeouts.reconnect_max_ms, 0, fmt_dur);
	rc = l->xhave ? STP_EPARSE : 0;
out:
	free(byname);
	free(bykey);
	return rc;
}

/* ---- the identity (pass 3) ---- */

static int
load_identity(struct ld *l)
{
	config *c = l->c;
	const ytree_node *v = l->identity;
	uint8_t pub[SIGN_PUB_LEN];
	char msg[CFG_PATH_MAX * 2 + 256], key[128];
	long i;
	int rc;

	if ((rc = identity_load(c->identity_path, &c->identity, msg,
	    sizeof(msg))) != 0) {
		fail_key(l, v->line, v->col, "identity", "%s", msg);
		if (rc == STP_EINVAL)
			rc = STP_EIO;       /* not a regular file */
		else if (rc == STP_EKEY)
			rc = STP_EPARSE;    /* "# public:" disagrees */
		return rc;
	}
	sign_key_public(c->identity, pub);
	if ((i = config_peer_by_key(c, pub)) >= 0) {
		snprintf(key, sizeof(key), "peers.%s.key", c->peers[i].name);
		return fail_key(l, l->key_pos[i].line, l->key_pos[i].col, key,
		    "this is our own public key (identity: %s); a gateway "
		    "cannot be its own peer", c->identity_path);
	}
	return 0;
}

/* ---- the interface ---- */

static void
set_defaults(config *c)
{
	c->workers_auto = 1;
	c->log_level = LOG_INFO;
	c->log_format = LOG_TEXT;
	c->limits.max_sessions = 64;
	c->limits.max_handshakes = 64;
	c->limits.handshakes_per_source = 20;
	c->limits.max_streams = 1024;
	c->limits.max_connections = 4096;
	c->limits.session_buffer = 16 * MiB;
	c->timeouts.handshake_ms = 10 * SEC;
	c->timeouts.connect_ms = 10 * SEC;
	c->timeouts.keepalive_ms = 15 * SEC;
	c->timeouts.dead_ms = 45 * SEC;
	c->timeouts.stream_idle_ms = 0;
	c->timeouts.drain_ms = 10 * SEC;
	c->timeouts.reconnect_min_ms = 1 * SEC;
	c->timeouts.reconnect_max_ms = 60 * SEC;
	c->flow.window = 256 * KiB;
	c->flow.max_window = 16 * MiB;
	c->rekey.bytes = GiB;
	c->rekey.interval_ms = 10 * MINUTE;
	c->rekey.fresh_interval_ms = HOUR;
}

int
config_load(const char *path, config **out, char *err, size_t err_len)
{
	const ytree_node *root;
	struct ld l;
	ytree *t = NULL;
	config *c = NULL;
	char d[SHOW_BUF + 16];
	int rc;

	memset(&l, 0, sizeof(l));
	l.file = path;
	l.err = err;
	l.err_len = err_len;
	if (err != NULL && err_len > 0)
		err[0] = '\0';
	if (strlen(path) >= CFG_PATH_MAX) {
		fail_key(&l, 0, 0, NULL, "path too long");
		rc = STP_ETOOBIG;
		goto out;
	}
	if ((rc = ytree_load_file(path, CFG_FILE_MAX, &t, err, err_len)) != 0)
		goto out;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		rc = oom(&l);
		goto out;
	}
	memcpy(c->path, path, strlen(path) + 1);
	set_defaults(c);
	l.c = c;
	root = l.root = ytree_root(t);
	if (root->line == 0 || ytree_is_null(root)) {
		rc = fail_key(&l, root->line, root->col, NULL, "the file is "
		    "empty: expected a mapping with at least \"identity\"");
		goto out;
	}
	if (root->kind != YTREE_MAP) {
		rc = fail_key(&l, root->line, root->col, NULL, "expected a "
		    "mapping at the top level, got %s", describe(d, root));
		goto out;
	}
	if ((rc = walk(&l, root, top_fields, c)) != 0 ||
	    (rc = configure_plugins(&l)) != 0 ||
	    (rc = relations(&l)) != 0 ||
	    (rc = load_identity(&l)) != 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	free(l.key_pos);
	config_free(c);
	ytree_free(t);
	return rc;
}

void
config_free(config *c)
{
	size_t i;

	if (c == NULL)
		return;
	sign_key_free(c->identity);
	plugin_cfgs_free(&c->plugins);
	for (i = 0; i < c->n_services; i++)
		free(c->services[i].allow);
	free(c->services);
	free(c->forwards);
	free(c->peers);
	free(c);
}

long
config_peer_by_key(const config *c, const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < c->n_peers; i++)
		if (memcmp(c->peers[i].key, key, sizeof(c->peers[i].key)) == 0)
			return (long)i;
	return -1;
}

long
config_peer_by_name(const config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_peers; i++)
		if (strcmp(c->peers[i].name, name) == 0)
			return (long)i;
	return -1;
}

long
config_service_by_name(const config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_services; i++)
		if (strcmp(c->services[i].name, name) == 0)
			return (long)i;
	return -1;
}

int
config_service_allows(const config *c, size_t s, size_t p)
{
	size_t i;

	if (s >= c->n_services)
		return 0;
	for (i = 0; i < c->services[s].n_allow; i++)
		if (c->services[s].allow[i] == p)
			return 1;
	return 0;
}

void
config_summary(const config *c, char *out, size_t len)
{
	char pub[IDENTITY_PUBTEXT_LEN + 1] = "?", lsn[CFG_HOST_MAX + 32], wk[32];
	uint8_t pk[SIGN_PUB_LEN];
	size_t i, dialed = 0;

	if (out == NULL || len == 0)
		return;
	if (c->identity != NULL) {
		sign_key_public(c->identity, pk);
		if (identity_pub_encode(pk, pub) != 0)
			snprintf(pub, sizeof(pub), "?");
	}
	for (i = 0; i < c->n_peers; i++)
		dialed += c->peers[i].has_dial != 0;
	if (c->has_listen) {
		memcpy(lsn, "listen ", 7);
		fmt_addr(lsn + 7, sizeof(lsn) - 7, &c->listen);
	} else {
		snprintf(lsn, sizeof(lsn), "not listening");
	}
	if (c->workers_auto)
		snprintf(wk, sizeof(wk), "workers auto");
	else
		snprintf(wk, sizeof(wk), "%u worker%s", c->workers,
		    c->workers == 1 ? "" : "s");
	snprintf(out, len, "%s: ok: identity %s, %zu peer%s (%zu dialed), "
	    "%zu forward%s, %zu service%s, %s, %s", c->path, pub,
	    c->n_peers, c->n_peers == 1 ? "" : "s", dialed, c->n_forwards,
	    c->n_forwards == 1 ? "" : "s", c->n_services,
	    c->n_services == 1 ? "" : "s", lsn, wk);
}

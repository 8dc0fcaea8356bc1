/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_text.c: how the config loader writes and reads values and reports
 * errors (config_int.h): "file:line:col: key: reason" under the dotted key
 * path being checked, values quoted safely, sizes and durations in their
 * largest exact unit, names and HOST:PORT addresses.
 */
#include "config_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

/* ---- messages ---- */

cfg_pos
ld_pos(const ytree_node *n)
{
	cfg_pos p = { n->line, n->col, n->file };

	return p;
}

const char *
config_pos_file(const config *c, cfg_pos pos)
{
	return pos.file < c->n_files ? c->files[pos.file] : c->path;
}

const char *
ld_file_name(const struct ld *l, unsigned f)
{
	/* Before config.files is filled, only the main file can be meant. */
	if (l->c == NULL || f >= l->c->n_files)
		return l->file;
	return l->c->files[f];
}

const char *
ld_where(const struct ld *l, char *buf, size_t len, cfg_pos at,
    cfg_pos other)
{
	if (other.file == at.file)
		snprintf(buf, len, "line %u", other.line);
	else
		snprintf(buf, len, "%s:%u", ld_file_name(l, other.file),
		    other.line);
	return buf;
}

void
ld_vreport_pos(struct ld *l, cfg_pos pos, const char *key, const char *fmt,
    va_list ap)
{
	const char *file = ld_file_name(l, pos.file);
	size_t k;
	int n;

	if (l->err == NULL || l->err_len == 0)
		return;
	if (pos.line > 0)
		n = snprintf(l->err, l->err_len, "%s:%u:%u: ", file, pos.line,
		    pos.col);
	else
		n = snprintf(l->err, l->err_len, "%s: ", file);
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

void
ld_vreport(struct ld *l, unsigned line, unsigned col, const char *key,
    const char *fmt, va_list ap)
{
	cfg_pos pos = { line, col, 0 };

	ld_vreport_pos(l, pos, key, fmt, ap);
}

/* Report at node n under the current key path.  Returns STP_EPARSE. */
int
ld_fail(struct ld *l, const ytree_node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_vreport_pos(l, ld_pos(n), l->path, fmt, ap);
	va_end(ap);
	return STP_EPARSE;
}

/* Report at pos under an explicit key.  Returns STP_EPARSE. */
int
ld_fail_pos(struct ld *l, cfg_pos pos, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_vreport_pos(l, pos, key, fmt, ap);
	va_end(ap);
	return STP_EPARSE;
}

/* Report at line:col of the main file under an explicit key. */
int
ld_fail_key(struct ld *l, unsigned line, unsigned col, const char *key,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_vreport(l, line, col, key, fmt, ap);
	va_end(ap);
	return STP_EPARSE;
}

/*
 * Pass 2: keep this error if it comes before the one held, in load order:
 * the main file first, then the included files as they were read.
 */
void
ld_xfail(struct ld *l, cfg_pos pos, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (l->xhave && (pos.file > l->xpos.file || (pos.file ==
	    l->xpos.file && (pos.line > l->xpos.line ||
	    (pos.line == l->xpos.line && pos.col >= l->xpos.col)))))
		return;
	l->xhave = 1;
	l->xpos = pos;
	va_start(ap, fmt);
	ld_vreport_pos(l, pos, key, fmt, ap);
	va_end(ap);
}

int
ld_oom(struct ld *l)
{
	ld_fail_key(l, 0, 0, NULL, "out of memory");
	return STP_ENOMEM;
}

/*
 * s[0..len) in double quotes for a message: at most SHOW_MAX characters,
 * '"' and '\' escaped, other bytes outside printable ASCII as \xNN.
 */
const char *
ld_show(char buf[SHOW_BUF], const char *s, size_t len)
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
const char *
ld_describe(char buf[SHOW_BUF + 16], const ytree_node *n)
{
	if (n->kind == YTREE_MAP)
		return "a mapping";
	if (n->kind == YTREE_SEQ)
		return "a sequence";
	if (ytree_is_null(n))
		return "null";
	if (n->quoted) {
		memcpy(buf, "a quoted string ", 16);
		ld_show(buf + 16, n->str, n->len);
		return buf;
	}
	return ld_show(buf, n->str, n->len);
}

/* "expected WHAT, got DESCRIPTION" at n. */
int
ld_fail_type(struct ld *l, const ytree_node *n, const char *what)
{
	char d[SHOW_BUF + 16];

	return ld_fail(l, n, "expected %s, got %s", what, ld_describe(d, n));
}

/* ---- key paths ---- */

/* Append ".s" (or "s" at the start); returns the length to pop back to. */
size_t
ld_push_key(struct ld *l, const char *s, size_t len)
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

size_t
ld_push_index(struct ld *l, size_t i)
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

void
ld_pop(struct ld *l, size_t mark)
{
	l->plen = mark;
	l->path[mark] = '\0';
}

/* ---- number formats ---- */

/* A size as the largest unit dividing it exactly: "16MiB", "1000B". */
const char *
ld_fmt_size(char *buf, size_t len, uint64_t v)
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
const char *
ld_fmt_dur(char *buf, size_t len, uint64_t ms)
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
size_t
ld_scan_u64(const char *s, size_t len, uint64_t *v, int *over)
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
int
ld_word_eq(const char *s, size_t len, const char *w)
{
	size_t i;

	if (strlen(w) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (lower((unsigned char)s[i]) != w[i])
			return 0;
	return 1;
}

struct unit {
	const char *u;
	uint64_t mul;
};

/*
 * Digits, optional blanks, then one of the n units (fold: in any case),
 * "" among them for a bare number; *out is the number times the unit.
 * Returns 0, -1 (malformed) or -2 (too large for 64 bits).
 */
static int
parse_scaled(const char *s, size_t len, const struct unit *units, size_t nu,
    int fold, uint64_t *out)
{
	uint64_t v;
	size_t i, n;
	int over;

	if ((n = ld_scan_u64(s, len, &v, &over)) == 0)
		return -1;
	while (n < len && (s[n] == ' ' || s[n] == '\t'))
		n++;
	for (i = 0; i < nu; i++) {
		if (fold ? !ld_word_eq(s + n, len - n, units[i].u) :
		    len - n != strlen(units[i].u) ||
		    memcmp(s + n, units[i].u, len - n) != 0)
			continue;
		if (over || v > UINT64_MAX / units[i].mul)
			return -2;
		*out = v * units[i].mul;
		return 0;
	}
	return -1;
}

/*
 * A size: digits, optional blanks, optional unit (B, K, KiB, M, MiB, G, GiB,
 * any case).  Returns 0, -1 (malformed) or -2 (too large for 64 bits).
 */
int
ld_parse_size(const char *s, size_t len, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1 }, { "b", 1 }, { "k", KiB }, { "kib", KiB },
		{ "m", MiB }, { "mib", MiB }, { "g", GiB }, { "gib", GiB },
	};

	return parse_scaled(s, len, units, sizeof(units) / sizeof(units[0]), 1,
	    out);
}

/*
 * A duration: digits, optional blanks, optional unit (ms, s, m, h, exactly
 * so; a bare number is seconds).  Result in ms.  Returns as ld_parse_size.
 */
int
ld_parse_dur(const char *s, size_t len, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", SEC }, { "ms", 1 }, { "s", SEC }, { "m", MINUTE },
		{ "h", HOUR },
	};

	return parse_scaled(s, len, units, sizeof(units) / sizeof(units[0]), 0,
	    out);
}

void
ld_store_u(void *dst, size_t w, uint64_t v)
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
int
config_name_ok(const char *s, size_t len)
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

int
ld_addr_is_loopback(const cfg_addr *a)
{
	if (a->is_unix)
		return 1;       /* local by nature: its mode says who */
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

const char *
config_hostport_text(char *buf, size_t len, const char *host, unsigned port)
{
	/* Only an IPv6 literal holds a ':'. */
	snprintf(buf, len, strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u", host,
	    port);
	return buf;
}

const char *
config_addr_text(char *buf, size_t len, const cfg_addr *a)
{
	if (a->is_unix)
		snprintf(buf, len, "unix:%s", a->host);
	else if (a->is_udp && len > 4) {
		memcpy(buf, "udp:", 4);
		config_hostport_text(buf + 4, len - 4, a->host, a->port);
	} else
		config_hostport_text(buf, len, a->host, a->port);
	return buf;
}

/*
 * Parse "HOST:PORT" (IPv6 in brackets) into *out.  flags (A_*) say what the
 * host may be.  Returns 0, or -1 with the reason (after "KEY: ") in why.
 */
int
ld_addr_parse(const char *s, size_t len, int flags, cfg_addr *out, char *why,
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
	ld_show(q, s, len);
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
	if (plen == 0 || ld_scan_u64(port, plen, &pv, &over) != plen) {
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
	if ((flags & A_LOOPBACK) && !ld_addr_is_loopback(&a)) {
		snprintf(why, whylen, "%s is not a loopback address (expected "
		    "127.0.0.0/8 or [::1])", a.host);
		return -1;
	}
	*out = a;
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * destpolicy.c: a peer's destination policy (destpolicy.h gives the rule
 * syntax and how requests are judged).
 *
 * A policy is a bounded array of parsed rules, each with its text for the
 * logs.  A rule's HOST becomes one of five kinds: any, a name, a name
 * suffix (*.NAME), an IPv4 prefix or an IPv6 prefix (an address is a prefix
 * of full length).  Names are kept in lower case without their trailing
 * dot, so that matching is a length check and an ASCII case-insensitive
 * compare.  Nothing here depends on the locale.
 */
#include "destpolicy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NAME_MAX_LEN 253    /* a host name without its trailing dot */
#define LABEL_MAX 63

enum { K_NONE, K_ANY, K_NAME, K_SUFFIX, K_V4, K_V6 };

struct rule {
	int kind;
	uint16_t lo, hi;                    /* ports, both included */
	unsigned plen;                      /* K_V4, K_V6: prefix length */
	uint8_t addr[16];                   /* K_V4: 4 bytes, K_V6: 16 */
	size_t nlen;                        /* K_NAME, K_SUFFIX */
	char name[NAME_MAX_LEN + 1];        /* lower case, no trailing dot */
	char text[DESTPOLICY_RULE_MAX + 1]; /* as given */
};

/* Rules grow as they are added: a peer with two rules costs two. */
struct destpolicy {
	size_t n, cap;
	struct rule *r;
};

destpolicy *
destpolicy_new(void)
{
	return calloc(1, sizeof(destpolicy));
}

void
destpolicy_free(destpolicy *p)
{
	if (p == NULL)
		return;
	free(p->r);
	free(p);
}

size_t
destpolicy_count(const destpolicy *p)
{
	return p->n;
}

const char *
destpolicy_rule(const destpolicy *p, size_t i)
{
	return i < p->n ? p->r[i].text : NULL;
}

int
destpolicy_has_addr_rules(const destpolicy *p, uint16_t port)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if ((p->r[i].kind == K_V4 || p->r[i].kind == K_V6) &&
		    port >= p->r[i].lo && port <= p->r[i].hi)
			return 1;
	return 0;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive equality of n bytes. */
static int
ieq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return 0;
	return 1;
}

/*
 * A decimal number of s[0..n): 0 and *v (capped at 999999), or -1 when it
 * is empty or holds a non-digit.
 */
static int
decimal(const char *s, size_t n, unsigned long *v)
{
	unsigned long x = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (x < 999999)
			x = x * 10 + (unsigned long)(s[i] - '0');
	}
	*v = x > 999999 ? 999999 : x;
	return 0;
}

/* PORTS: *, N or N-M.  0 and r->lo, r->hi, or -1 with why. */
static int
parse_ports(struct rule *r, const char *s, char *why, size_t whylen)
{
	static const char expected[] = "expected PORTS after the ':': *, N or "
	    "N-M (1..65535)";
	const char *dash, *hs;
	unsigned long lo, hi;
	size_t n = strlen(s), ln, hn;

	if (n == 1 && s[0] == '*') {
		r->lo = 1;
		r->hi = 65535;
		return 0;
	}
	ln = n;
	hs = s;
	hn = n;
	if ((dash = strchr(s, '-')) != NULL) {
		ln = (size_t)(dash - s);
		hs = dash + 1;
		hn = strlen(hs);
	}
	if (decimal(s, ln, &lo) != 0 || decimal(hs, hn, &hi) != 0) {
		snprintf(why, whylen, "%s", expected);
		return -1;
	}
	if (lo < 1 || lo > 65535 || hi < 1 || hi > 65535) {
		if (lo >= 1 && lo <= 65535) {
			s = hs;
			ln = hn;
		}
		snprintf(why, whylen, "port %.*s is out of range 1..65535",
		    (int)(ln > 20 ? 20 : ln), s);
		return -1;
	}
	if (lo > hi) {
		snprintf(why, whylen, "port range %lu-%lu is backwards", lo, hi);
		return -1;
	}
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
}

/*
 * A host name s[0..n), one trailing dot allowed: labels of letters, digits,
 * '-' and '_', the last not all digits.  0 with r->name, r->nlen (lower
 * case, no dot), or -1 with why.
 */
static int
parse_name(struct rule *r, const char *s, size_t n, char *why, size_t whylen)
{
	size_t i, start = 0;
	int digits = 1;
	char c;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0) {
		snprintf(why, whylen, "expected a host name");
		return -1;
	}
	if (n > NAME_MAX_LEN) {
		snprintf(why, whylen, "the host name is over %d bytes",
		    NAME_MAX_LEN);
		return -1;
	}
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (i == start) {
				snprintf(why, whylen, "\"%.*s\" has an empty "
				    "label", (int)n, s);
				return -1;
			}
			if (i - start > LABEL_MAX) {
				snprintf(why, whylen, "a label of the host name "
				    "is over %d bytes", LABEL_MAX);
				return -1;
			}
			if (i < n) {
				start = i + 1;
				digits = 1;
			}
			continue;
		}
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_')) {
			snprintf(why, whylen, "'%c' is not allowed in a host "
			    "name (letters, digits, '-', '_')", c);
			return -1;
		}
		if (c < '0' || c > '9')
			digits = 0;
	}
	if (digits) {
		snprintf(why, whylen, "\"%.*s\" is neither an IPv4 address nor "
		    "a host name", (int)n, s);
		return -1;
	}
	for (i = 0; i < n; i++)
		r->name[i] = lower(s[i]);
	r->name[n] = '\0';
	r->nlen = n;
	return 0;
}

/* Whether every bit of a (alen bytes) past the first plen is zero. */
static int
host_bits_clear(const uint8_t *a, size_t alen, unsigned plen)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		if (8 * (i + 1) <= plen)
			continue;
		if (8 * i >= plen) {
			if (a[i] != 0)
				return 0;
		} else if (a[i] & (0xff >> (plen - 8 * i)))
			return 0;
	}
	return 1;
}

/* Whether a and b (alen bytes) agree on their first plen bits. */
static int
prefix_eq(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;
	uint8_t mask;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a[full] ^ b[full]) & mask) == 0;
}

/*
 * An address: text t[0..n) of family af (AF_INET or AF_INET6), with the
 * prefix length text pl[0..pln) when pl is not NULL.  0 with the rule's
 * kind, addr and plen, or -1 with why.
 */
static int
parse_addr(struct rule *r, int af, const char *t, size_t n, const char *pl,
    size_t pln, char *why, size_t whylen)
{
	char buf[64];
	unsigned long len;
	unsigned max = af == AF_INET ? 32 : 128;
	const char *fam = af == AF_INET ? "IPv4" : "IPv6";
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (n == 0 || n >= sizeof(buf)) {
		snprintf(why, whylen, "expected an %s address", fam);
		return -1;
	}
	memcpy(buf, t, n);
	buf[n] = '\0';
	if (inet_pton(af, buf, r->addr) != 1) {
		snprintf(why, whylen, "\"%s\" is not an %s address", buf, fam);
		return -1;
	}
	len = max;
	if (pl != NULL) {
		if (decimal(pl, pln, &len) != 0) {
			snprintf(why, whylen, "expected a prefix length 0..%u "
			    "after the '/'", max);
			return -1;
		}
		if (len > max) {
			snprintf(why, whylen, "prefix length %lu is over %u for "
			    "%s", len, max, fam);
			return -1;
		}
	}
	if (!host_bits_clear(r->addr, max / 8, (unsigned)len)) {
		snprintf(why, whylen, "%s has bits set past its prefix length "
		    "%lu", buf, len);
		return -1;
	}
	r->kind = af == AF_INET ? K_V4 : K_V6;
	r->plen = (unsigned)len;
	/* ::ffff:a.b.c.d/96+N is a.b.c.d/N: requests are matched so. */
	if (r->kind == K_V6 && r->plen >= 96 &&
	    memcmp(r->addr, mapped, sizeof(mapped)) == 0) {
		memmove(r->addr, r->addr + 12, 4);
		memset(r->addr + 4, 0, 12);
		r->kind = K_V4;
		r->plen -= 96;
	}
	return 0;
}

/* HOST (not bracketed) h[0..n). */
static int
parse_host(struct rule *r, const char *h, size_t n, char *why, size_t whylen)
{
	const char *slash;
	uint8_t a4[4];
	char buf[16];

	if (n == 1 && h[0] == '*') {
		r->kind = K_ANY;
		return 0;
	}
	if (n >= 2 && h[0] == '*' && h[1] == '.') {
		if (memchr(h + 2, '*', n - 2) != NULL)
			goto star;
		if (parse_name(r, h + 2, n - 2, why, whylen) != 0)
			return -1;
		r->kind = K_SUFFIX;
		return 0;
	}
	if (memchr(h, '*', n) != NULL)
		goto star;
	if (memchr(h, ':', n) != NULL) {
		snprintf(why, whylen, "an IPv6 address goes in brackets, as in "
		    "[::1]:443 or [fd00::]/8:*");
		return -1;
	}
	if (memchr(h, '[', n) != NULL || memchr(h, ']', n) != NULL) {
		snprintf(why, whylen, "brackets go around a whole IPv6 address, "
		    "first in the rule");
		return -1;
	}
	if ((slash = memchr(h, '/', n)) != NULL)
		return parse_addr(r, AF_INET, h, (size_t)(slash - h), slash + 1,
		    (size_t)(h + n - slash - 1), why, whylen);
	if (n < sizeof(buf)) {
		memcpy(buf, h, n);
		buf[n] = '\0';
		if (inet_pton(AF_INET, buf, a4) == 1)
			return parse_addr(r, AF_INET, h, n, NULL, 0, why,
			    whylen);
	}
	if (parse_name(r, h, n, why, whylen) != 0)
		return -1;
	r->kind = K_NAME;
	return 0;
star:
	snprintf(why, whylen, "'*' is only a whole HOST (*) or the start of "
	    "one (*.NAME)");
	return -1;
}

int
destpolicy_add(destpolicy *p, const char *rule, char *why, size_t whylen)
{
	struct rule *r;
	const char *rb, *after, *colon, *pl = NULL;
	char scratch[8];
	size_t len, i, pln = 0;
	int rc = -1;

	if (why == NULL) {
		why = scratch;
		whylen = sizeof(scratch);
	}
	if (whylen > 0)
		why[0] = '\0';
	if (p->n >= DESTPOLICY_MAX) {
		snprintf(why, whylen, "more than %d rules", DESTPOLICY_MAX);
		return -1;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		struct rule *nr = realloc(p->r, cap * sizeof(*nr));

		if (nr == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		p->r = nr;
		p->cap = cap;
	}
	r = &p->r[p->n];
	memset(r, 0, sizeof(*r));
	len = strlen(rule);
	if (len == 0) {
		snprintf(why, whylen, "empty rule: expected HOST:PORTS");
		goto out;
	}
	if (len > DESTPOLICY_RULE_MAX) {
		snprintf(why, whylen, "the rule is over %d bytes",
		    DESTPOLICY_RULE_MAX);
		goto out;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)rule[i] < 0x21 ||
		    (unsigned char)rule[i] > 0x7e) {
			snprintf(why, whylen, "byte 0x%02x at offset %zu: a rule "
			    "is printable ASCII, no spaces",
			    (unsigned char)rule[i], i);
			goto out;
		}
	if (rule[0] == '[') {
		/* [IPV6]:PORTS or [IPV6]/LEN:PORTS */
		if ((rb = strchr(rule, ']')) == NULL) {
			snprintf(why, whylen, "expected ']' after the IPv6 "
			    "address");
			goto out;
		}
		if (memchr(rule + 1, '/', (size_t)(rb - rule - 1)) != NULL) {
			snprintf(why, whylen, "the prefix length goes after the "
			    "']', as in [fd00::]/8:443");
			goto out;
		}
		after = rb + 1;
		if (*after == '/') {
			pl = after + 1;
			after = strchr(pl, ':');
			pln = after != NULL ? (size_t)(after - pl) : strlen(pl);
		}
		if (after == NULL || *after != ':') {
			snprintf(why, whylen, "expected :PORTS after the IPv6 "
			    "address");
			goto out;
		}
		if (parse_addr(r, AF_INET6, rule + 1, (size_t)(rb - rule - 1),
		    pl, pln, why, whylen) != 0)
			goto out;
		colon = after;
	} else {
		if ((colon = strrchr(rule, ':')) == NULL) {
			snprintf(why, whylen, "expected HOST:PORTS");
			goto out;
		}
		if (colon == rule) {
			snprintf(why, whylen, "expected a HOST before the ':'");
			goto out;
		}
		if (parse_host(r, rule, (size_t)(colon - rule), why,
		    whylen) != 0)
			goto out;
	}
	if (parse_ports(r, colon + 1, why, whylen) != 0)
		goto out;
	memcpy(r->text, rule, len + 1);
	p->n++;
	rc = 0;
out:
	if (rc != 0)
		memset(r, 0, sizeof(*r));
	return rc;
}

static int
port_in(const struct rule *r, uint16_t port)
{
	return port >= r->lo && port <= r->hi;
}

int
destpolicy_allows_name(const destpolicy *p, const char *name, uint16_t port)
{
	const struct rule *r;
	size_t n, i;

	n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
		return 0;
	for (i = 1; i < n; i++)
		if (name[i] == '.' && name[i - 1] == '.')
			return 0;
	for (i = 0; i < p->n; i++) {
		r = &p->r[i];
		if (!port_in(r, port))
			continue;
		if (r->kind == K_ANY ||
		    (r->kind == K_NAME && n == r->nlen &&
		    ieq(name, r->name, n)) ||
		    (r->kind == K_SUFFIX && n > r->nlen + 1 &&
		    name[n - r->nlen - 1] == '.' &&
		    ieq(name + n - r->nlen, r->name, r->nlen)))
			return (int)i + 1;
	}
	return 0;
}

int
destpolicy_allows_addr(const destpolicy *p, const struct sockaddr *sa,
    uint16_t port)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const struct rule *r;
	uint8_t a[16];
	int kind;
	size_t i;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		memcpy(a, &sin->sin_addr, 4);
		kind = K_V4;
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(a, sin6->sin6_addr.s6_addr + 12, 4);
			kind = K_V4;
		} else {
			memcpy(a, &sin6->sin6_addr, 16);
			kind = K_V6;
		}
	} else
		return 0;
	for (i = 0; i < p->n; i++) {
		r = &p->r[i];
		if (!port_in(r, port))
			continue;
		if (r->kind == K_ANY ||
		    (r->kind == kind && prefix_eq(a, r->addr, r->plen)))
			return (int)i + 1;
	}
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_destpolicy.c: a peer's destination policy (gateway/config/
 * destpolicy.h): every parse error with its reason (and the policy left as
 * it was), then matching: exact, wildcard, case and trailing-dot names, the
 * apex not matched by *.x, names never matched by address rules and the
 * reverse, CIDR boundaries (/0, /32, /128, odd lengths, the first and last
 * address), IPv4-mapped addresses in requests and in rules, port range
 * edges, '*', the first matching rule's number, the 256-rule bound.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "destpolicy.h"
#include "testlib.h"

/* A socket address from text (IPv4 or IPv6), its own port 9 (ignored). */
static const struct sockaddr *
sa(const char *txt)
{
	static struct sockaddr_storage ring[4];
	static unsigned next;
	struct sockaddr_storage *ss = &ring[next++ % 4];
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, txt, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(9);
	} else if (inet_pton(AF_INET6, txt, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(9);
	} else {
		fprintf(stderr, "test_destpolicy: bad address %s\n", txt);
		t_failed++;
	}
	return (const struct sockaddr *)ss;
}

/* A policy of the given rules (NULL-terminated); each must parse. */
static destpolicy *
policy(const char *const *rules)
{
	destpolicy *p = destpolicy_new();
	char why[256];
	size_t i;

	T_OK(p != NULL);
	for (i = 0; p != NULL && rules[i] != NULL; i++) {
		why[0] = '\0';
		if (!T_INT(destpolicy_add(p, rules[i], why, sizeof(why)), 0))
			printf("  rule \"%s\": %s\n", rules[i], why);
	}
	return p;
}

static void
test_errors(void)
{
	static const struct {
		const char *rule, *why;
	} bad[] = {
		{ "", "empty rule: expected HOST:PORTS" },
		{ "10.0.0.1 :80", "byte 0x20 at offset 8: a rule is printable "
		    "ASCII, no spaces" },
		{ "a\tb:80", "byte 0x09 at offset 1" },
		{ "caf\xc3\xa9.example:80", "byte 0xc3 at offset 3" },
		{ "10.0.0.1", "expected HOST:PORTS" },
		{ "*", "expected HOST:PORTS" },
		{ ":80", "expected a HOST before the ':'" },
		{ "10.0.0.1:", "expected PORTS after the ':': *, N or N-M "
		    "(1..65535)" },
		{ "10.0.0.1:http", "expected PORTS" },
		{ "10.0.0.1:+80", "expected PORTS" },
		{ "10.0.0.1:80-", "expected PORTS" },
		{ "10.0.0.1:-80", "expected PORTS" },
		{ "10.0.0.1:1-2-3", "expected PORTS" },
		{ "10.0.0.1:**", "expected PORTS" },
		{ "10.0.0.1:0", "port 0 is out of range 1..65535" },
		{ "10.0.0.1:65536", "port 65536 is out of range 1..65535" },
		{ "10.0.0.1:99999999999999999999", "port 99999999999999999999 is "
		    "out of range" },
		{ "10.0.0.1:0080-0079", "port range 80-79 is backwards" },
		{ "10.0.0.1:0-80", "port 0 is out of range" },
		{ "10.0.0.1:80-70000", "port 70000 is out of range" },
		{ "10.0.0.1:90-80", "port range 90-80 is backwards" },
		{ "10.0.0.0/33:80", "prefix length 33 is over 32 for IPv4" },
		{ "[fd00::]/129:80", "prefix length 129 is over 128 for IPv6" },
		{ "10.0.0.0/:80", "expected a prefix length 0..32 after the '/'" },
		{ "[fd00::]/:80", "expected a prefix length 0..128 after the '/'" },
		{ "10.0.0.0/x:80", "expected a prefix length 0..32" },
		{ "10.0.0.0/8/8:80", "expected a prefix length 0..32" },
		{ "10.0.0.1/8:*", "10.0.0.1 has bits set past its prefix length 8" },
		{ "10.0.0.128/24:*", "has bits set past its prefix length 24" },
		{ "[fd00::1]/8:443", "fd00::1 has bits set past its prefix "
		    "length 8" },
		{ "[2001:db8::]/28:1", "has bits set past its prefix length 28" },
		{ "300.0.0.0/8:80", "\"300.0.0.0\" is not an IPv4 address" },
		{ "/8:80", "expected an IPv4 address" },
		{ "fd00::/8:443", "an IPv6 address goes in brackets, as in "
		    "[::1]:443 or [fd00::]/8:*" },
		{ "::1:80", "an IPv6 address goes in brackets" },
		{ "[fd00::/8]:443", "the prefix length goes after the ']', as in "
		    "[fd00::]/8:443" },
		{ "[::1:80", "expected ']' after the IPv6 address" },
		{ "[::1]", "expected :PORTS after the IPv6 address" },
		{ "[::1]80", "expected :PORTS after the IPv6 address" },
		{ "[::1]/128", "expected :PORTS after the IPv6 address" },
		{ "[]:80", "expected an IPv6 address" },
		{ "[10.0.0.1]:80", "\"10.0.0.1\" is not an IPv6 address" },
		{ "[fe80::1%eth0]:80", "is not an IPv6 address" },
		{ "[example.com]:80", "is not an IPv6 address" },
		{ "a]b:80", "brackets go around a whole IPv6 address" },
		{ "10.0.0.256:80", "\"10.0.0.256\" is neither an IPv4 address "
		    "nor a host name" },
		{ "10.0.0.1.:80", "is neither an IPv4 address nor a host name" },
		{ "0x7f.1:80", "is neither an IPv4 address nor a host name" },
		{ "a..b:80", "\"a..b\" has an empty label" },
		{ ".a:80", "has an empty label" },
		{ "a.b..:80", "has an empty label" },
		{ ".:80", "expected a host name" },
		{ "ex!ample.com:80", "'!' is not allowed in a host name" },
		{ "x/y.com:80", "\"x\" is not an IPv4 address" },
		{ "*.:80", "expected a host name" },
		{ "*.*.example:80", "'*' is only a whole HOST (*) or the start of "
		    "one (*.NAME)" },
		{ "a.*.example:80", "'*' is only a whole HOST" },
		{ "**:80", "'*' is only a whole HOST" },
		{ "*example.com:80", "'*' is only a whole HOST" },
		{ "*.10:80", "is neither an IPv4 address nor a host name" },
	};
	char why[256], rule[512];
	destpolicy *p;
	size_t i, n;

	p = destpolicy_new();
	T_OK(p != NULL);
	if (p == NULL)
		return;
	T_INT(destpolicy_add(p, "127.0.0.1:5432", why, sizeof(why)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t_set_ctx("rule \"%s\"", bad[i].rule);
		memset(why, 0, sizeof(why));
		T_INT(destpolicy_add(p, bad[i].rule, why, sizeof(why)), -1);
		if (!T_OK(strstr(why, bad[i].why) != NULL))
			printf("  why: %s\n", why);
		T_INT(destpolicy_count(p), 1);
	}

	/* Labels of 63 bytes pass, 64 do not; names of 253 bytes pass, 254 do not. */
	t_set_ctx("name lengths");
	memset(rule, 'a', 63);
	strcpy(rule + 63, ".example:1");
	T_INT(destpolicy_add(p, rule, why, sizeof(why)), 0);
	memset(rule, 'a', 64);
	strcpy(rule + 64, ".example:1");
	T_INT(destpolicy_add(p, rule, why, sizeof(why)), -1);
	T_OK(strcmp(why, "a label of the host name is over 63 bytes") == 0);
	/* 4 labels: 63+1+63+1+63+1+61 = 253. */
	memset(rule, 'b', 253);
	rule[63] = rule[127] = rule[191] = '.';
	strcpy(rule + 253, ".:1");                  /* with its trailing dot */
	T_INT(destpolicy_add(p, rule, why, sizeof(why)), 0);
	memset(rule, 'b', 254);
	rule[63] = rule[127] = rule[191] = '.';
	strcpy(rule + 254, ":1");
	T_INT(destpolicy_add(p, rule, why, sizeof(why)), -1);
	T_OK(strcmp(why, "the host name is over 253 bytes") == 0);
	T_INT(destpolicy_count(p), 3);

	/* The whole rule: 300 bytes pass the length check, 301 do not. */
	t_set_ctx("rule length");
	memset(rule, 'c', 300);
	rule[300] = '\0';
	T_INT(destpolicy_add(p, rule, why, sizeof(why)), -1);
	T_OK(strcmp(why, "expected HOST:PORTS") == 0);
	rule[300] = 'c';
	rule[301] = '\0';
	T_INT(destpolicy_add(p, rule, why, sizeof(why)), -1);
	T_OK(strcmp(why, "the rule is over 300 bytes") == 0);

	/* why may be NULL; a short why is cut, still a string. */
	t_set_ctx("why");
	T_INT(destpolicy_add(p, "nope", NULL, 0), -1);
	memset(why, 'x', sizeof(why));
	T_INT(destpolicy_add(p, "nope", why, 5), -1);
	T_OK(strcmp(why, "expe") == 0);
	T_INT(destpolicy_count(p), 3);

	/* At most DESTPOLICY_MAX rules. */
	t_set_ctx("bound");
	for (n = destpolicy_count(p); n < DESTPOLICY_MAX; n++) {
		snprintf(rule, sizeof(rule), "h%zu.example:%zu", n, n + 1);
		if (!T_INT(destpolicy_add(p, rule, why, sizeof(why)), 0))
			break;
	}
	T_INT(destpolicy_count(p), 256);
	T_INT(destpolicy_add(p, "*:*", why, sizeof(why)), -1);
	T_OK(strcmp(why, "more than 256 rules") == 0);
	T_INT(destpolicy_count(p), 256);
	T_OK(strcmp(destpolicy_rule(p, 255), "h255.example:256") == 0);
	T_OK(destpolicy_rule(p, 256) == NULL);
	T_INT(destpolicy_allows_name(p, "H255.example", 256), 256);
	destpolicy_free(p);
	destpolicy_free(NULL);
	t_section("parse errors, each with its reason");
}

static void
test_names(void)
{
	static const char *const rules[] = {
		"DB.Example.COM.:5432",         /* 1 */
		"*.internal.example:443",       /* 2 */
		"127.0.0.1:5432",               /* 3 */
		"10.0.0.0/8:*",                 /* 4 */
		"*.Internal.Example:443",       /* 5: same as 2 */
		"under_score.example:1",        /* 6 */
		"1e100.net:80",                 /* 7 */
		NULL
	};
	char name[300];
	destpolicy *p;

	t_set_ctx("names");
	if ((p = policy(rules)) == NULL)
		return;
	T_INT(destpolicy_count(p), 7);
	T_OK(strcmp(destpolicy_rule(p, 0), "DB.Example.COM.:5432") == 0);
	T_OK(strcmp(destpolicy_rule(p, 4), "*.Internal.Example:443") == 0);
	/* Exact: any case, one trailing dot on either side. */
	T_INT(destpolicy_allows_name(p, "db.example.com", 5432), 1);
	T_INT(destpolicy_allows_name(p, "DB.EXAMPLE.COM", 5432), 1);
	T_INT(destpolicy_allows_name(p, "db.example.com.", 5432), 1);
	T_INT(destpolicy_allows_name(p, "db.example.com..", 5432), 0);
	T_INT(destpolicy_allows_name(p, "db.example.com", 5433), 0);
	T_INT(destpolicy_allows_name(p, "db.example.com", 5431), 0);
	T_INT(destpolicy_allows_name(p, "xdb.example.com", 5432), 0);
	T_INT(destpolicy_allows_name(p, "a.db.example.com", 5432), 0);
	T_INT(destpolicy_allows_name(p, "db.example.co", 5432), 0);
	T_INT(destpolicy_allows_name(p, "db.example.comm", 5432), 0);
	T_INT(destpolicy_allows_name(p, "b.example.com", 5432), 0);
	T_INT(destpolicy_allows_name(p, "under_score.example", 1), 6);
	T_INT(destpolicy_allows_name(p, "1E100.NET", 80), 7);
	/* Wildcard: strictly below, any depth; the first rule that matches. */
	T_INT(destpolicy_allows_name(p, "a.internal.example", 443), 2);
	T_INT(destpolicy_allows_name(p, "a.b.c.internal.example", 443), 2);
	T_INT(destpolicy_allows_name(p, "A.INTERNAL.EXAMPLE.", 443), 2);
	T_INT(destpolicy_allows_name(p, "x.internal.example", 444), 0);
	T_INT(destpolicy_allows_name(p, "x.internal.example", 442), 0);
	/* The apex, look-alikes, and names with empty labels. */
	T_INT(destpolicy_allows_name(p, "internal.example", 443), 0);
	T_INT(destpolicy_allows_name(p, "internal.example.", 443), 0);
	T_INT(destpolicy_allows_name(p, "xinternal.example", 443), 0);
	T_INT(destpolicy_allows_name(p, "a-internal.example", 443), 0);
	T_INT(destpolicy_allows_name(p, ".internal.example", 443), 0);
	T_INT(destpolicy_allows_name(p, "a..internal.example", 443), 0);
	T_INT(destpolicy_allows_name(p, "internal.example.evil", 443), 0);
	T_INT(destpolicy_allows_name(p, "a.internal.example.evil", 443), 0);
	T_INT(destpolicy_allows_name(p, "a.internal.exampl", 443), 0);
	T_INT(destpolicy_allows_name(p, "", 443), 0);
	T_INT(destpolicy_allows_name(p, ".", 443), 0);
	/* Address rules never answer a name request, even one that looks like an address. */
	T_INT(destpolicy_allows_name(p, "127.0.0.1", 5432), 0);
	T_INT(destpolicy_allows_name(p, "10.1.2.3", 80), 0);
	/* Name rules never answer an address. */
	T_INT(destpolicy_allows_addr(p, sa("127.0.0.1"), 5432), 3);
	T_INT(destpolicy_allows_addr(p, sa("127.0.0.2"), 5432), 0);
	T_INT(destpolicy_allows_addr(p, sa("10.1.2.3"), 443), 4);
	/* The longest name: 253 bytes (254 with the trailing dot); 254 is over. */
	memset(name, 'q', 236);
	name[50] = name[100] = name[150] = name[200] = '.';
	strcpy(name + 236, ".internal.example");
	T_INT(strlen(name), 253);
	T_INT(destpolicy_allows_name(p, name, 443), 2);
	strcat(name, ".");
	T_INT(destpolicy_allows_name(p, name, 443), 2);
	memmove(name + 1, name, strlen(name) + 1);  /* 254 bytes and the dot */
	T_INT(destpolicy_allows_name(p, name, 443), 0);
	name[254] = '\0';                           /* 254 bytes, no dot */
	T_INT(destpolicy_allows_name(p, name, 443), 0);
	memmove(name, name + 1, 254);
	name[0] = '.';                              /* 253 bytes from a dot */
	T_INT(strlen(name), 253);
	T_INT(destpolicy_allows_name(p, name, 443), 0);
	destpolicy_free(p);
	t_section("names: exact, wildcard, case, trailing dot");
}

static void
test_cidr(void)
{
	static const char *const v4[] = {
		"10.0.0.0/8:*",                 /* 1 */
		"192.0.2.7/32:80",              /* 2 */
		"192.0.2.128/25:81",            /* 3 */
		"172.16.0.0/12:82",             /* 4 */
		"198.51.100.9:83",              /* 5 */
		NULL
	};
	static const char *const v6[] = {
		"[2001:db8::7]/128:80",         /* 1 */
		"[fd00::]/8:443",               /* 2 */
		"[2001:db8::]/33:81",           /* 3 */
		"[::1]:82",                     /* 4 */
		"[2001:db8:0:1::]/64:83",       /* 5 */
		NULL
	};
	static const char *const zero4[] = { "0.0.0.0/0:443", NULL };
	static const char *const zero6[] = { "[::]/0:443", NULL };
	destpolicy *p;

	t_set_ctx("IPv4");
	if ((p = policy(v4)) == NULL)
		return;
	T_INT(destpolicy_allows_addr(p, sa("10.0.0.0"), 1), 1);
	T_INT(destpolicy_allows_addr(p, sa("10.255.255.255"), 65535), 1);
	T_INT(destpolicy_allows_addr(p, sa("9.255.255.255"), 80), 0);
	T_INT(destpolicy_allows_addr(p, sa("11.0.0.0"), 80), 0);
	T_INT(destpolicy_allows_addr(p, sa("192.0.2.7"), 80), 2);
	T_INT(destpolicy_allows_addr(p, sa("192.0.2.6"), 80), 0);
	T_INT(destpolicy_allows_addr(p, sa("192.0.2.8"), 80), 0);
	T_INT(destpolicy_allows_addr(p, sa("192.0.2.128"), 81), 3);
	T_INT(destpolicy_allows_addr(p, sa("192.0.2.255"), 81), 3);
	T_INT(destpolicy_allows_addr(p, sa("192.0.2.127"), 81), 0);
	T_INT(destpolicy_allows_addr(p, sa("192.0.3.128"), 81), 0);
	T_INT(destpolicy_allows_addr(p, sa("172.16.0.0"), 82), 4);
	T_INT(destpolicy_allows_addr(p, sa("172.31.255.255"), 82), 4);
	T_INT(destpolicy_allows_addr(p, sa("172.15.255.255"), 82), 0);
	T_INT(destpolicy_allows_addr(p, sa("172.32.0.0"), 82), 0);
	T_INT(destpolicy_allows_addr(p, sa("198.51.100.9"), 83), 5);
	T_INT(destpolicy_allows_addr(p, sa("198.51.100.8"), 83), 0);
	/* An IPv4-mapped IPv6 address is its IPv4 address. */
	T_INT(destpolicy_allows_addr(p, sa("::ffff:10.1.2.3"), 80), 1);
	T_INT(destpolicy_allows_addr(p, sa("::ffff:192.0.2.7"), 80), 2);
	T_INT(destpolicy_allows_addr(p, sa("::ffff:11.0.0.0"), 80), 0);
	/* ... but not the IPv4-compatible form, nor NAT64. */
	T_INT(destpolicy_allows_addr(p, sa("::10.1.2.3"), 80), 0);
	T_INT(destpolicy_allows_addr(p, sa("64:ff9b::10.1.2.3"), 80), 0);
	T_INT(destpolicy_allows_addr(p, sa("::1"), 80), 0);
	destpolicy_free(p);
	t_section("IPv4 prefixes");

	t_set_ctx("IPv6");
	if ((p = policy(v6)) == NULL)
		return;
	T_INT(destpolicy_allows_addr(p, sa("2001:db8::7"), 80), 1);
	T_INT(destpolicy_allows_addr(p, sa("2001:db8::6"), 80), 0);
	T_INT(destpolicy_allows_addr(p, sa("2001:db8::8"), 80), 0);
	T_INT(destpolicy_allows_addr(p, sa("2001:db8::7"), 79), 0);
	T_INT(destpolicy_allows_addr(p, sa("fd00::"), 443), 2);
	T_INT(destpolicy_allows_addr(p, sa("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	    443), 2);
	T_INT(destpolicy_allows_addr(p, sa("fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	    443), 0);
	T_INT(destpolicy_allows_addr(p, sa("fe00::"), 443), 0);
	T_INT(destpolicy_allows_addr(p, sa("2001:db8::"), 81), 3);
	T_INT(destpolicy_allows_addr(p, sa("2001:db8:7fff:ffff:ffff:ffff:ffff:ffff"),
	    81), 3);
	T_INT(destpolicy_allows_addr(p, sa("2001:db8:8000::"), 81), 0);
	T_INT(destpolicy_allows_addr(p, sa("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"),
	    81), 0);
	T_INT(destpolicy_allows_addr(p, sa("::1"), 82), 4);
	T_INT(destpolicy_allows_addr(p, sa("::"), 82), 0);
	T_INT(destpolicy_allows_addr(p, sa("::2"), 82), 0);
	T_INT(destpolicy_allows_addr(p, sa("127.0.0.1"), 82), 0);
	T_INT(destpolicy_allows_addr(p, sa("2001:db8:0:1::"), 83), 5);
	T_INT(destpolicy_allows_addr(p, sa("2001:db8:0:1:ffff:ffff:ffff:ffff"),
	    83), 5);
	T_INT(destpolicy_allows_addr(p, sa("2001:db8:0:2::"), 83), 0);
	T_INT(destpolicy_allows_addr(p, sa("2001:db8:0:0:ffff:ffff:ffff:ffff"),
	    83), 0);
	destpolicy_free(p);
	t_section("IPv6 prefixes");

	t_set_ctx("/0");
	if ((p = policy(zero4)) == NULL)
		return;
	T_INT(destpolicy_allows_addr(p, sa("0.0.0.0"), 443), 1);
	T_INT(destpolicy_allows_addr(p, sa("255.255.255.255"), 443), 1);
	T_INT(destpolicy_allows_addr(p, sa("::ffff:1.2.3.4"), 443), 1);
	T_INT(destpolicy_allows_addr(p, sa("::2"), 443), 0);
	T_INT(destpolicy_allows_addr(p, sa("1.2.3.4"), 444), 0);
	T_INT(destpolicy_allows_name(p, "example.com", 443), 0);
	destpolicy_free(p);
	if ((p = policy(zero6)) == NULL)
		return;
	T_INT(destpolicy_allows_addr(p, sa("::"), 443), 1);
	T_INT(destpolicy_allows_addr(p, sa("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	    443), 1);
	/* A mapped address is IPv4: IPv6 rules do not see it. */
	T_INT(destpolicy_allows_addr(p, sa("::ffff:1.2.3.4"), 443), 0);
	T_INT(destpolicy_allows_addr(p, sa("1.2.3.4"), 443), 0);
	destpolicy_free(p);
	t_section("/0");
}

static void
test_mapped_rules(void)
{
	static const char *const rules[] = {
		"[::ffff:192.168.0.0]/112:22",  /* 1: 192.168.0.0/16 */
		"[::ffff:10.0.0.1]:80",         /* 2: 10.0.0.1 */
		"[::ffff:0:0]/96:443",          /* 3: 0.0.0.0/0 */
		"[::]/95:444",                  /* 4: IPv6 only */
		NULL
	};
	destpolicy *p;

	t_set_ctx("mapped rules");
	if ((p = policy(rules)) == NULL)
		return;
	T_INT(destpolicy_allows_addr(p, sa("192.168.0.0"), 22), 1);
	T_INT(destpolicy_allows_addr(p, sa("192.168.255.255"), 22), 1);
	T_INT(destpolicy_allows_addr(p, sa("::ffff:192.168.1.1"), 22), 1);
	T_INT(destpolicy_allows_addr(p, sa("192.169.0.0"), 22), 0);
	T_INT(destpolicy_allows_addr(p, sa("192.167.255.255"), 22), 0);
	T_INT(destpolicy_allows_addr(p, sa("10.0.0.1"), 80), 2);
	T_INT(destpolicy_allows_addr(p, sa("::ffff:10.0.0.1"), 80), 2);
	T_INT(destpolicy_allows_addr(p, sa("10.0.0.2"), 80), 0);
	T_INT(destpolicy_allows_addr(p, sa("203.0.113.1"), 443), 3);
	T_INT(destpolicy_allows_addr(p, sa("::1"), 443), 0);
	T_INT(destpolicy_allows_addr(p, sa("::1"), 444), 4);
	T_INT(destpolicy_allows_addr(p, sa("203.0.113.1"), 444), 0);
	destpolicy_free(p);
	t_section("IPv4-mapped rules are IPv4 rules");
}

static void
test_ports_any(void)
{
	static const char *const rules[] = {
		"[::1]:8000-8100",              /* 1 */
		"edge.example:65535",           /* 2 */
		"low.example:1-1",              /* 3 */
		"*:80",                         /* 4 */
		"all.example:*",                /* 5 */
		NULL
	};
	static const char *const any[] = { "*:*", NULL };
	struct sockaddr_un sun;
	destpolicy *p;

	t_set_ctx("ports");
	if ((p = policy(rules)) == NULL)
		return;
	T_INT(destpolicy_allows_addr(p, sa("::1"), 7999), 0);
	T_INT(destpolicy_allows_addr(p, sa("::1"), 8000), 1);
	T_INT(destpolicy_allows_addr(p, sa("::1"), 8100), 1);
	T_INT(destpolicy_allows_addr(p, sa("::1"), 8101), 0);
	T_INT(destpolicy_allows_name(p, "edge.example", 65535), 2);
	T_INT(destpolicy_allows_name(p, "edge.example", 65534), 0);
	T_INT(destpolicy_allows_name(p, "low.example", 1), 3);
	T_INT(destpolicy_allows_name(p, "low.example", 2), 0);
	T_INT(destpolicy_allows_name(p, "all.example", 1), 5);
	T_INT(destpolicy_allows_name(p, "all.example", 65535), 5);
	T_INT(destpolicy_allows_name(p, "all.example", 0), 0);
	/* '*' is every name and every address, on its ports only. */
	T_INT(destpolicy_allows_name(p, "anything.example", 80), 4);
	T_INT(destpolicy_allows_name(p, "edge.example", 80), 4);
	T_INT(destpolicy_allows_name(p, "anything.example", 81), 0);
	T_INT(destpolicy_allows_addr(p, sa("203.0.113.9"), 80), 4);
	T_INT(destpolicy_allows_addr(p, sa("2001:db8::1"), 80), 4);
	T_INT(destpolicy_allows_addr(p, sa("::1"), 80), 4);
	T_INT(destpolicy_allows_addr(p, sa("203.0.113.9"), 81), 0);
	/* Another family never passes, not even '*'. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	T_INT(destpolicy_allows_addr(p, (struct sockaddr *)&sun, 80), 0);
	destpolicy_free(p);

	t_set_ctx("any");
	if ((p = policy(any)) == NULL)
		return;
	T_INT(destpolicy_allows_name(p, "x", 1), 1);
	T_INT(destpolicy_allows_name(p, "a.b", 65535), 1);
	T_INT(destpolicy_allows_name(p, "a.b", 0), 0);
	T_INT(destpolicy_allows_name(p, "a..b", 80), 0);
	T_INT(destpolicy_allows_addr(p, sa("0.0.0.0"), 1), 1);
	T_INT(destpolicy_allows_addr(p, sa("::"), 65535), 1);
	destpolicy_free(p);

	t_set_ctx("empty");
	p = destpolicy_new();
	T_OK(p != NULL);
	if (p == NULL)
		return;
	T_INT(destpolicy_count(p), 0);
	T_INT(destpolicy_has_addr_rules(p, 1), 0);
	T_OK(destpolicy_rule(p, 0) == NULL);
	T_INT(destpolicy_add(p, "*.example:1", NULL, 0), 0);
	T_INT(destpolicy_add(p, "db.example:1", NULL, 0), 0);
	T_INT(destpolicy_has_addr_rules(p, 1), 0);
	T_INT(destpolicy_add(p, "[::1]:1", NULL, 0), 0);
	T_INT(destpolicy_has_addr_rules(p, 1), 1);
	T_INT(destpolicy_has_addr_rules(p, 2), 0);
	destpolicy_free(p);
	p = destpolicy_new();
	T_OK(p != NULL);
	if (p == NULL)
		return;
	T_INT(destpolicy_add(p, "192.0.2.0/24:1-9", NULL, 0), 0);
	T_INT(destpolicy_has_addr_rules(p, 1), 1);
	T_INT(destpolicy_has_addr_rules(p, 9), 1);
	T_INT(destpolicy_has_addr_rules(p, 10), 0);
	destpolicy_free(p);
	p = destpolicy_new();
	T_OK(p != NULL);
	if (p == NULL)
		return;
	T_INT(destpolicy_add(p, "*:1", NULL, 0), 0);
	T_INT(destpolicy_has_addr_rules(p, 1), 0);
	T_INT(destpolicy_allows_name(p, "example.com", 1), 1);
	T_INT(destpolicy_allows_name(p, "example.com", 80), 0);
	T_INT(destpolicy_allows_addr(p, sa("127.0.0.1"), 80), 0);
	destpolicy_free(p);
	t_section("port ranges, '*', the empty policy, address rules");
}

int
main(void)
{
	test_errors();
	test_names();
	test_cidr();
	test_mapped_rules();
	test_ports_any();
	return t_done();
}

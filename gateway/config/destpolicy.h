/* SPDX-License-Identifier: Apache-2.0 */
/*
 * destpolicy.h: a peer's destination policy: what a dynamic forward of that
 * peer may reach through us.  The config gives it as a list of rules
 * HOST:PORTS, parsed here one at a time (the loader reports the reason with
 * file:line:col: key:); the gateway asks it about each request.  Pure: no
 * socket, no resolver, no allocation after destpolicy_new.
 *
 * A rule is HOST:PORTS, the PORTS after the last ':' (after the ']' of an
 * IPv6 HOST), with no space anywhere:
 *
 *   HOST   *                   any host: every name and every address
 *          *.example.com       any name strictly below example.com, at any
 *                              depth (a.example.com, a.b.example.com), not
 *                              example.com itself
 *          db.example.com      that name
 *          192.0.2.7           that IPv4 address (dotted quad)
 *          10.0.0.0/8          an IPv4 prefix, length 0..32
 *          [2001:db8::7]       that IPv6 address: IPv6 is always in brackets
 *          [fd00::]/8          an IPv6 prefix, length 0..128, after the ']'
 *   PORTS  *                   1..65535
 *          443                 one port, 1..65535
 *          8000-8100           a range N-M, N <= M, both ends included
 *
 * e.g. "127.0.0.1:5432", "10.0.0.0/8:*", "*.internal.example:443",
 * "[::1]:8000-8100", "[fd00::]/8:443", "*:80".
 *
 * Names are compared case-insensitively, with one trailing dot ignored on
 * either side; a rule's name is labels of letters, digits, '-' and '_' (1..63
 * bytes each, 253 in all) whose last label is not all digits (so a mistyped
 * address such as 10.0.0.256 is an error, not a name).  A prefix must have
 * no bits set past its length (10.0.0.1/8 is an error: 10.0.0.0/8 or
 * 10.0.0.1 was meant).  An IPv4-mapped IPv6 address or prefix in a rule
 * (::ffff:a.b.c.d, with a length of 96 or more) is stored as the IPv4 one.
 *
 * How a request is judged (the gateway does the resolving):
 *   - a name request (SOCKS5 ATYP 3) is allowed when a name rule (a name,
 *     *.suffix, or *) matches the name and the port: the gateway then
 *     connects to what the name resolves to;
 *   - otherwise the gateway resolves the name and connects only to a
 *     resolved address that destpolicy_allows_addr allows, so that DNS
 *     cannot steer a request to an address the rules do not name;
 *   - an address request (ATYP 1 or 4) is allowed when an address rule (an
 *     address, a prefix, or *) matches the address and the port.  An
 *     IPv4-mapped IPv6 address (::ffff:a.b.c.d) is matched as the IPv4
 *     address a.b.c.d, by IPv4 rules only.
 * The rules are tried in order and the first that matches is reported; the
 * order does not change the answer (there are no deny rules).  A policy
 * with no rules allows nothing.
 */
#ifndef STP_DESTPOLICY_H
#define STP_DESTPOLICY_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#define DESTPOLICY_MAX 256          /* rules in one policy */
#define DESTPOLICY_RULE_MAX 300     /* bytes in one rule's text */

typedef struct destpolicy destpolicy;

/* An empty policy (it allows nothing).  NULL: out of memory. */
destpolicy *destpolicy_new(void);
/* Free p (NULL: nothing). */
void destpolicy_free(destpolicy *p);

/*
 * Parse rule (NUL-terminated) and append it to p: 0, or -1 with why (whylen
 * bytes, NULL for none) saying why in a few words, e.g. "prefix length 33 is
 * over 32 for IPv4", "port range 90-80 is backwards", "more than 256 rules".
 * p is unchanged on error.
 */
int destpolicy_add(destpolicy *p, const char *rule, char *why, size_t whylen);

/* How many rules p holds. */
size_t destpolicy_count(const destpolicy *p);

/* Rule i (0-based, < destpolicy_count) as it was given; NULL past the end. */
const char *destpolicy_rule(const destpolicy *p, size_t i);

/*
 * Whether p has an address rule (an address or a prefix) for port: when it
 * has none, a name that no name rule allows is refused without resolving
 * it (so a peer cannot make us look up names no rule could let through).
 * A '*' host rule is not counted: it allows every name already.
 */
int destpolicy_has_addr_rules(const destpolicy *p, uint16_t port);

/*
 * May a request for name (NUL-terminated) and port pass?  Only name rules
 * (names, *.suffix, *) are consulted.  A name that is empty, over 253 bytes
 * (254 with a trailing dot), or has an empty label ("a..b", ".a") matches
 * nothing.  Returns the number (1-based) of the first rule that allows it,
 * or 0.
 */
int destpolicy_allows_name(const destpolicy *p, const char *name,
    uint16_t port);

/*
 * May a connect to sa (AF_INET or AF_INET6; its own port is ignored) on port
 * pass?  Only address rules (addresses, prefixes, *) are consulted.  Returns
 * the number (1-based) of the first rule that allows it, or 0 (also for
 * another address family).
 */
int destpolicy_allows_addr(const destpolicy *p, const struct sockaddr *sa,
    uint16_t port);

#endif

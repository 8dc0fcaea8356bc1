/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_values.c: pass 1's value parsers (config.c walks the schema
 * tables that name them): integers, workers, sizes and durations (quoted
 * or not), booleans, words, names, paths and the control socket, addresses,
 * proxies, public keys, access secrets, the replay table's size.  Each
 * takes one ytree value, checks its type and range, stores it at its field's
 * offset, and on error reports file:line:col: key: reason (config_text.c).
 * Also the config files' modes: none may be writable by others, and one
 * that holds a secret may not be readable by every user.
 */
#include "config_int.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "identity.h"
#include "secret.h"

/* Integers and booleans are never quoted strings (sizes and durations may be). */
int
ld_is_plain(const ytree_node *v)
{
	return v->kind == YTREE_SCALAR && !v->quoted && !ytree_is_null(v);
}

int
ld_p_int(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	char what[64];
	uint64_t x;
	int over;
	size_t n;

	snprintf(what, sizeof(what), "an integer %llu..%llu",
	    (unsigned long long)f->min, (unsigned long long)f->max);
	if (!ld_is_plain(v))
		return ld_fail_type(l, v, what);
	n = v->len > 0 && v->str[0] == '-' ? 1 : 0;
	if (ld_scan_u64(v->str + n, v->len - n, &x, &over) != v->len - n ||
	    v->len == n)
		return ld_fail_type(l, v, what);
	if (n == 1 || over || x < f->min || x > f->max)
		return ld_fail(l, v, "%s is out of range %llu..%llu", v->str,
		    (unsigned long long)f->min,
		    (unsigned long long)f->max);
	ld_store_u(dst, f->w, x);
	return 0;
}

/* workers: auto, or a thread count (0: crypto on the loop). */
int
ld_p_workers(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
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
	if (!ld_is_plain(v) || (v->len > 0 && v->str[0] == '-') ||
	    ld_scan_u64(v->str, v->len, &x, &over) != v->len || v->len == 0)
		return ld_fail_type(l, v, what);
	if (over || x > WORKERS_MAX)
		return ld_fail(l, v, "%s is out of range 0..%u (or auto)", v->str,
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
	"a size", "bytes, or a number with B, KiB, MiB or GiB", ld_fmt_size, ld_parse_size
};
static const struct unitkind dur_kind = {
	"a duration", "a number with ms, s, m or h; a bare number is seconds",
	ld_fmt_dur, ld_parse_dur
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
	/* Quoted too: a config written as JSON can only say "10s" that way. */
	if (v->kind == YTREE_SCALAR && (v->quoted || !ytree_is_null(v)) &&
	    memchr(v->str, '\0', v->len) == NULL)
		rc = k->parse(v->str, v->len, &x);
	if (rc == -1)
		return ld_fail_type(l, v, what);
	if (rc == -2 || x < f->min || x > f->max)
		return ld_fail(l, v, "%s is out of range %s..%s", v->str, lo,
		    hi);
	ld_store_u(dst, f->w, x);
	return 0;
}

int
ld_p_size(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	return p_units(l, v, f, dst, &size_kind);
}

int
ld_p_dur(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	return p_units(l, v, f, dst, &dur_kind);
}

int
ld_p_bool(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	int b = -1;
	size_t i;

	(void)f;
	if (ld_is_plain(v)) {
		for (i = 0; i < 3; i++) {
			if (ld_word_eq(v->str, v->len, yes[i]))
				b = 1;
			if (ld_word_eq(v->str, v->len, no[i]))
				b = 0;
		}
	}
	if (b == -1)
		return ld_fail_type(l, v, "true or false");
	memcpy(dst, &b, sizeof(b));
	return 0;
}

int
ld_p_enum(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
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
	return ld_fail_type(l, v, what);
}

/* A name, [A-Za-z0-9_.-]{1,63}; stored when f->w (the buffer size) != 0. */
int
ld_p_name(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	if (v->kind != YTREE_SCALAR || ytree_is_null(v) ||
	    !config_name_ok(v->str, v->len))
		return ld_fail_type(l, v, "a name of 1..63 characters from "
		    "A-Z a-z 0-9 _ . -");
	if (f->w != 0 && dst != NULL)
		memcpy(dst, v->str, v->len + 1);
	return 0;
}

size_t
ld_dir_len(const char *file, const char *path)
{
	const char *slash = strrchr(file, '/');

	return path[0] != '/' && slash != NULL ? (size_t)(slash - file) + 1 : 0;
}

int
ld_control_off(const ytree_node *v)
{
	return v->kind == YTREE_SCALAR && (v->len == 0 ||
	    (v->len == 3 && memcmp(v->str, "off", 3) == 0));
}

/* A file system path; relative ones are taken from the config's directory. */
int
ld_p_path(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	size_t dlen, max = CFG_PATH_MAX - 1;
	char *out = dst;

	if (v->kind != YTREE_SCALAR || ytree_is_null(v) ||
	    (v->len == 0 && !(f->flags & P_EMPTY_OK)))
		return ld_fail_type(l, v, "a path");
	if (memchr(v->str, '\0', v->len) != NULL)
		return ld_fail(l, v, "expected a path, got a string with a NUL "
		    "byte");
	if (f->flags & P_IDENTITY)
		*(f->flags & P_PREVIOUS ? &l->previous : &l->identity) = v;
	if (v->len == 0) {
		out[0] = '\0';
		return 0;
	}
	dlen = ld_dir_len(l->file, v->str);
	if (f->flags & P_SOCKET)
		max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	if (dlen + v->len > max)
		return ld_fail(l, v, "path is %zu bytes%s; the limit is %zu%s",
		    dlen + v->len, dlen ? " (after the config file's "
		    "directory)" : "", max, (f->flags & P_SOCKET) ?
		    " for a socket" : "");
	memcpy(out, l->file, dlen);
	memcpy(out + dlen, v->str, v->len + 1);
	return 0;
}

/*
 * control: a socket path (relative to the config's directory) whose
 * directory must exist, or "off" (also "") for none.  A missing directory
 * is caught here, so `stpgate check` says so rather than the gateway's bind.
 */
int
ld_p_control(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	char *out = dst, dir[CFG_PATH_MAX], *slash;
	struct stat st;
	int rc, one = 1;

	if (f->has)
		memcpy((char *)dst - f->off + f->has_off, &one, sizeof(one));
	if (ld_control_off(v)) {
		out[0] = '\0';
		return 0;
	}
	if ((rc = ld_p_path(l, v, f, dst)) != 0 || out[0] == '\0')
		return rc;
	snprintf(dir, sizeof(dir), "%s", out);
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0;       /* the working directory */
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) != 0)
		return ld_fail(l, v, "directory %s: %s (create it, or leave "
		    "control: out for the default)", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ld_fail(l, v, "%s is not a directory", dir);
	return 0;
}

/* unix:PATH (v->str starts with "unix:"): the path, resolved. */
static int
unix_addr(struct ld *l, const ytree_node *v, cfg_addr *a)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
	const char *p = v->str + 5;
	size_t plen = v->len - 5, dlen, max = sizeof(sun->sun_path) - 1;

	if (plen == 0)
		return ld_fail(l, v, "expected unix:PATH, got an empty path");
	if (memchr(p, '\0', plen) != NULL)
		return ld_fail(l, v, "expected unix:PATH, got a path with a NUL "
		    "byte");
	dlen = ld_dir_len(l->file, p);
	if (dlen + plen > max)
		return ld_fail(l, v, "the socket path is %zu bytes%s; the limit is "
		    "%zu", dlen + plen, dlen ? " (after the config file's "
		    "directory)" : "", max);
	memset(a, 0, sizeof(*a));
	memcpy(a->host, l->file, dlen);
	memcpy(a->host + dlen, p, plen);
	a->host[dlen + plen] = '\0';
	a->is_unix = 1;
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, a->host, dlen + plen + 1);
	a->ss_len = (socklen_t)sizeof(*sun);
	return 0;
}

int
ld_p_addr(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	const char *what = (f->flags & A_UDP) ? ((f->flags & A_NAME) ?
	    "HOST:PORT with an IP address or DNS name, unix:PATH or "
	    "udp:HOST:PORT" : "HOST:PORT with an IP address, unix:PATH or "
	    "udp:HOST:PORT") : (f->flags & A_UNIX) ? ((f->flags & A_NAME) ?
	    "HOST:PORT with an IP address or DNS name, or unix:PATH" :
	    "HOST:PORT with an IP address, or unix:PATH") : (f->flags & A_NAME) ?
	    "HOST:PORT with an IP address or DNS name" :
	    "HOST:PORT with an IP address";
	char why[2 * SHOW_BUF], d[SHOW_BUF + 16];
	cfg_addr *a = dst;
	int one = 1, rc;

	if (v->kind == YTREE_SEQ)
		return ld_fail(l, v, "expected %s, got %s (quote IPv6 addresses: "
		    "\"[::1]:7400\")", what, ld_describe(d, v));
	if (v->kind != YTREE_SCALAR || ytree_is_null(v))
		return ld_fail_type(l, v, what);
	if (v->len >= 5 && memcmp(v->str, "unix:", 5) == 0) {
		if (!(f->flags & A_UNIX))
			return ld_fail(l, v, "expected %s; a Unix socket is not "
			    "allowed here", what);
		if ((rc = unix_addr(l, v, a)) != 0)
			return rc;
	} else if (v->len >= 4 && memcmp(v->str, "udp:", 4) == 0) {
		if (!(f->flags & A_UDP))
			return ld_fail(l, v, "expected %s; UDP is not allowed "
			    "here", what);
		if (ld_addr_parse(v->str + 4, v->len - 4, f->flags, a, why,
		    sizeof(why)) != 0)
			return ld_fail(l, v, "%s", why);
		a->is_udp = 1;
	} else if (ld_addr_parse(v->str, v->len, f->flags, a, why,
	    sizeof(why)) != 0) {
		return ld_fail(l, v, "%s", why);
	}
	a->pos = ld_pos(v);
	if (f->has)
		memcpy((char *)dst - f->off + f->has_off, &one, sizeof(one));
	return 0;
}

/* socks5://[USER:PASS@]HOST:PORT; the plugin parses it fully. */
int
ld_p_proxy(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	static const char pfx[] = "socks5://";
	const char *what = "socks5://[USER:PASS@]HOST:PORT";
	const char *hp, *at;
	char why[2 * SHOW_BUF];
	cfg_addr a;
	int one = 1;

	if (v->kind != YTREE_SCALAR || ytree_is_null(v))
		return ld_fail_type(l, v, what);
	/* Shown without what may be a password. */
	if (v->len < sizeof(pfx) - 1 || memcmp(v->str, pfx, sizeof(pfx) - 1) != 0)
		return ld_fail(l, v, "expected %s: the value must start with "
		    "\"socks5://\"", what);
	if (v->len >= f->w)
		return ld_fail(l, v, "expected %s of at most %zu characters, got "
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
			return ld_fail(l, v, "expected %s: before the \"@\" "
			    "write USER:PASS, each 1..255 bytes (RFC 1929)",
			    what);
		hp = at + 1;
	}
	if (ld_addr_parse(hp, (size_t)(v->str + v->len - hp), A_IP | A_NAME, &a,
	    why, sizeof(why)) != 0)
		return ld_fail(l, v, "expected %s; after the \"socks5://\"%s: %s",
		    what, at != NULL ? " and the \"@\"" : "", why);
	memcpy(dst, v->str, v->len + 1);
	if (f->has)
		memcpy((char *)dst - f->off + f->has_off, &one, sizeof(one));
	return 0;
}

/* A peer's public key text; its position is kept for pass 2. */
/* One public key at v into out; 0 or STP_EPARSE. */
static int
one_key(struct ld *l, const ytree_node *v, uint8_t out[32])
{
	char msg[256];

	if (v->kind != YTREE_SCALAR || ytree_is_null(v))
		return ld_fail_type(l, v, "a public key (stp1:..., as `stpgate "
		    "pubkey` prints it), or a list of them during a rotation");
	if (memchr(v->str, '\0', v->len) != NULL)
		return ld_fail(l, v, "a public key cannot contain a NUL byte");
	if (identity_pub_decode(v->str, out, msg, sizeof(msg)) != 0)
		return ld_fail(l, v, "%s", msg);
	return 0;
}

/* peers.NAME.key: one key, or a list of 1..CFG_KEYS_MAX different keys. */
int
ld_p_key(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	cfg_peer *p = (cfg_peer *)((char *)dst - offsetof(cfg_peer, keys));
	const ytree_node *item;
	size_t i, j, n;
	int rc;

	(void)f;
	p->key_pos = ld_pos(v);
	l->key_pos[l->cur_peer] = p->key_pos;
	if (v->kind != YTREE_SEQ) {
		p->keys_pos[0] = p->key_pos;
		p->n_keys = 1;
		return one_key(l, v, p->keys[0]);
	}
	if ((n = ytree_count(v)) == 0 || n > CFG_KEYS_MAX)
		return ld_fail(l, v, "a list of %zu keys; a peer lists 1 to %d "
		    "(more than one only while it rotates its key)", n,
		    CFG_KEYS_MAX);
	for (i = 0; i < n; i++) {
		item = ytree_item(v, i);
		if ((rc = one_key(l, item, p->keys[i])) != 0)
			return rc;
		p->keys_pos[i] = ld_pos(item);
		for (j = 0; j < i; j++)
			if (memcmp(p->keys[j], p->keys[i], 32) == 0)
				return ld_fail(l, item, "listed twice (also at "
				    "line %u)", p->keys_pos[j].line);
	}
	p->n_keys = (unsigned)n;
	return 0;
}

/*
 * A config that others may write is refused, as an identity that others may
 * read is: whoever can change it chooses which keys the gateway trusts and
 * where it forwards.  An included file as much as the main one: it names
 * peers and their keys.  (Being readable is checked only when it holds a
 * secret, check_secret_mode.)  0, STP_EPERM; a file that cannot be stat'ed
 * is left to the loader to report.
 */
int
ld_check_file_mode(struct ld *l, unsigned f)
{
	const char *file = ld_file_name(l, f);
	cfg_pos pos = { 0, 0, f };
	struct stat st;

	if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		ld_fail_pos(l, pos, NULL, "writable by %s (mode %04o): whoever "
		    "can change it chooses the keys this gateway trusts; chmod "
		    "go-w %s", (st.st_mode & S_IWOTH) ? "every user" :
		    "its group", (unsigned)(st.st_mode & 07777), file);
		return STP_EPERM;
	}
	return 0;
}

/*
 * A config that holds an access secret must not be readable by every user:
 * then it would be no secret (identity_load refuses a readable key file for
 * the same reason).  Group read is left alone: a config owned root:stpgate
 * mode 0640 is the usual set-up.  The file checked is the one the secret
 * is written in (an included file's peers may hold secrets too), once per
 * file, at the first secret given there; k is its key.  0, STP_EPERM or
 * STP_EIO.
 */
static int
check_secret_mode(struct ld *l, const ytree_node *k)
{
	const char *file = ld_file_name(l, k->file);
	struct stat st;
	int e;

	/* config_load sized secret_seen for every file read. */
	if (l->secret_seen[k->file])
		return 0;
	l->secret_seen[k->file] = 1;
	if (stat(file, &st) == -1) {
		e = errno;
		ld_fail(l, k, "cannot check the mode of %s: %s", file,
		    strerror(e));
		return STP_EIO;
	}
	if ((st.st_mode & S_IROTH) != 0) {
		ld_fail(l, k, "%s is readable by every user (mode %04o); chmod "
		    "o-r it, since it holds a secret", file,
		    (unsigned)(st.st_mode & 07777));
		return STP_EPERM;
	}
	return 0;
}

/*
 * An access secret's text (stps1:..., secret.h).  Messages never quote the
 * value: even a mistyped secret is most of a secret.
 */
int
ld_p_secret(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	char msg[256];
	int one = 1, rc;

	/* ld_describe quotes scalars only, and none reaches it here. */
	if (v->kind != YTREE_SCALAR || ytree_is_null(v))
		return ld_fail_type(l, v, "an access secret (stps1:..., as "
		    "`stpgate secret` prints it)");
	if (memchr(v->str, '\0', v->len) != NULL)
		return ld_fail(l, v, "an access secret cannot contain a NUL "
		    "byte");
	if (secret_text_decode(v->str, dst, msg, sizeof(msg)) != 0)
		return ld_fail(l, v, "%s", msg);
	if ((rc = check_secret_mode(l, l->cur_key)) != 0)
		return rc;
	if (f->has)
		memcpy((char *)dst - f->off + f->has_off, &one, sizeof(one));
	return 0;
}

/*
 * limits.replay_slots: the listener's table of HELLOs seen is made of
 * buckets of 8 slots, so the count is a whole number of buckets.  Rather
 * than round silently, name the two counts nearest to the one written.
 */
int
ld_p_slots(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	unsigned x;
	int rc;

	if ((rc = ld_p_int(l, v, f, &x)) != 0)
		return rc;
	if (x % 8 != 0)
		return ld_fail(l, v, "%u is not a multiple of 8 (nearest: %u or "
		    "%u)", x, x - x % 8, x - x % 8 + 8);
	memcpy(dst, &x, sizeof(x));
	return 0;
}

/* A file mode in octal: "0660", "660" (quoted or not); at most 0777. */
int
ld_p_mode(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	unsigned m = 0;
	size_t i;
	int one = 1;

	if (v->kind != YTREE_SCALAR || ytree_is_null(v) || v->len == 0 ||
	    v->len > 4)
		return ld_fail_type(l, v, "an octal file mode such as \"0660\"");
	for (i = 0; i < v->len; i++) {
		if (v->str[i] < '0' || v->str[i] > '7')
			return ld_fail_type(l, v, "an octal file mode such as "
			    "\"0660\"");
		m = m * 8 + (unsigned)(v->str[i] - '0');
	}
	if (m > 0777)
		return ld_fail(l, v, "%s is over 0777 (setuid, setgid and sticky "
		    "bits mean nothing on a socket)", v->str);
	if ((m & 0600) != 0600)
		return ld_fail(l, v, "%04o leaves the gateway itself without read "
		    "and write on its own socket", m);
	memcpy(dst, &m, sizeof(m));
	if (f->has)
		memcpy((char *)dst - f->off + f->has_off, &one, sizeof(one));
	return 0;
}

/*
 * owner: / group: a user or group name that exists here, or a number: the
 * id (a long), looked up now so that `stpgate check` finds a typo.
 */
int
ld_p_owner(struct ld *l, const ytree_node *v, const struct field *f, void *dst)
{
	const int group = (f->flags & P_GROUP) != 0;
	const char *what = group ? "a group name or gid" : "a user name or uid";
	char name[256];
	uint64_t x;
	long id;
	int over;

	if (v->kind != YTREE_SCALAR || ytree_is_null(v) || v->len == 0 ||
	    v->len >= sizeof(name) || memchr(v->str, '\0', v->len) != NULL)
		return ld_fail_type(l, v, what);
	memcpy(name, v->str, v->len + 1);
	if (ld_scan_u64(v->str, v->len, &x, &over) == v->len) {
		if (over || x >= 0xffffffffull)
			return ld_fail(l, v, "%s is out of range for an id", name);
		id = (long)x;
	} else if (group) {
		struct group *gr = getgrnam(name);

		if (gr == NULL)
			return ld_fail(l, v, "no group named %s on this system",
			    name);
		id = (long)gr->gr_gid;
	} else {
		struct passwd *pw = getpwnam(name);

		if (pw == NULL)
			return ld_fail(l, v, "no user named %s on this system",
			    name);
		id = (long)pw->pw_uid;
	}
	memcpy(dst, &id, sizeof(id));
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_int.h: the config loader's insides, shared by the files that load
 * a peer map and by nothing else:
 *
 *   config.c          the loader: the schema tables, the value parsers of
 *                     pass 1, the walk, defaults, and the interface;
 *   config_text.c     how values are written and read (sizes, durations,
 *                     names, addresses) and how errors are reported
 *                     (file:line:col: key: reason) under the key path;
 *   config_plugins.c  the plugins' own settings (plugin_api.h stp_cfg_*);
 *   config_check.c    pass 2 (relations between values) and pass 3 (the
 *                     identity file);
 *   config_include.c  include: the other files, read before pass 1 and
 *                     merged into the main file's tree.
 *
 * config.c's head comment says how the passes fit.  Functions here are
 * named ld_* (they work on the loader's state, struct ld).
 */
#ifndef STP_CONFIG_INT_H
#define STP_CONFIG_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ytree.h"

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
#define A_UNIX 0x8         /* or unix:PATH, a Unix socket */
#define A_UDP 0x10         /* or udp:HOST:PORT, datagrams */

/* Path flags. */
#define P_EMPTY_OK 0x1     /* "" means none */
#define P_SOCKET 0x2       /* must fit sockaddr_un.sun_path */
#define P_IDENTITY 0x4     /* remember the node for pass 3 */
#define P_PREVIOUS 0x8     /* with P_IDENTITY: it is previous_identity's */
#define P_GROUP 0x10       /* ld_p_owner: a group, not a user */

struct ld;
struct ld_inc;
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

/*
 * The keys an included file may hold, and what each must be (config.c's
 * table; p_peers and the others check the same).
 */
enum { LD_PEERS, LD_SERVICES, LD_FORWARDS, LD_NLISTS };
struct ld_list {
	const char *name;
	ytree_kind kind;
	const char *what;           /* "expected WHAT" */
};
extern const struct ld_list ld_lists[LD_NLISTS];

/* Loader state. */
struct ld {
	const char *file;               /* the main file (config.files[0]) */
	char *err;
	size_t err_len;
	config *c;
	const ytree_node *root;         /* the main file's; after ld_include,
					 * with the included lists merged */
	const ytree_node *identity;     /* value of identity: */
	const ytree_node *previous;     /* value of previous_identity: */
	const ytree_node *peers, *forwards, *services;
	cfg_pos *key_pos;               /* per peer: where its key is */
	size_t cur_peer;                /* p_key: the peer being filled */
	char path[KEYPATH_MAX];         /* dotted key path being checked */
	size_t plen;
	int xhave;                      /* pass 2: an error is held */
	const ytree_node *plugins;      /* value of plugins: */
	cfg_pos xpos;
	const ytree_node *cur_key;      /* walk: the key whose value is parsed */
	unsigned char *secret_seen;     /* per file: an access_secret was
					 * given there (pass 1) */
	struct ld_inc *inc;             /* the included files (config_include.c) */
};

/* ---- messages and key paths (config_text.c) ---- */

/* Where node n is. */
cfg_pos ld_pos(const ytree_node *n);
/* The name of file number f (config.files), for messages. */
const char *ld_file_name(const struct ld *l, unsigned f);
/*
 * "line N" of other, for a message reported at `at`; "FILE:N" when other
 * is in another file.
 */
const char *ld_where(const struct ld *l, char *buf, size_t len, cfg_pos at,
    cfg_pos other);
/*
 * "file:line:col: key: " (parts left out when absent: "file: " when
 * pos.line is 0), then the message.  The file is pos.file's.
 */
void ld_vreport_pos(struct ld *l, cfg_pos pos, const char *key,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
/* The same at line:col of the main file (plugins: is only there). */
void ld_vreport(struct ld *l, unsigned line, unsigned col, const char *key,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
/*
 * Report at node n under the current key path, at pos or at line:col of
 * the main file under an explicit key; STP_EPARSE.
 */
int ld_fail(struct ld *l, const ytree_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ld_fail_pos(struct ld *l, cfg_pos pos, const char *key, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
int ld_fail_key(struct ld *l, unsigned line, unsigned col, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Pass 2: keep this error if it comes before the one held. */
void ld_xfail(struct ld *l, cfg_pos pos, const char *key, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
/* Out of memory, said once; STP_ENOMEM. */
int ld_oom(struct ld *l);
/* A value quoted for a message, and what a node is ("got ..."). */
const char *ld_show(char buf[SHOW_BUF], const char *s, size_t len);
const char *ld_describe(char buf[SHOW_BUF + 16], const ytree_node *n);
/* "expected WHAT, got DESCRIPTION" at n; STP_EPARSE. */
int ld_fail_type(struct ld *l, const ytree_node *n, const char *what);
/* The key path: push a key or an index (returns the mark), pop to a mark. */
size_t ld_push_key(struct ld *l, const char *s, size_t len);
size_t ld_push_index(struct ld *l, size_t i);
void ld_pop(struct ld *l, size_t mark);

/* ---- numbers, names, addresses (config_text.c) ---- */

const char *ld_fmt_size(char *buf, size_t len, uint64_t v);
const char *ld_fmt_dur(char *buf, size_t len, uint64_t ms);
/* Decimal digits of s: how many were read; *over on overflow. */
size_t ld_scan_u64(const char *s, size_t len, uint64_t *v, int *over);
/* Case-insensitive s[0..len) == w. */
int ld_word_eq(const char *s, size_t len, const char *w);
/* 0, -1 (not a size / duration), -2 (out of range). */
int ld_parse_size(const char *s, size_t len, uint64_t *out);
int ld_parse_dur(const char *s, size_t len, uint64_t *out);
/* Store v in an unsigned integer of w bytes at dst. */
void ld_store_u(void *dst, size_t w, uint64_t v);
int ld_addr_is_loopback(const cfg_addr *a);
/* HOST:PORT as flags (A_*) allow; 0, or -1 with why. */
int ld_addr_parse(const char *s, size_t len, int flags, cfg_addr *out,
    char *why, size_t whylen);

/* ---- value parsers (config_values.c; the plugins' settings reuse some) ---- */

/* A plain scalar: not quoted, not null. */
int ld_is_plain(const ytree_node *v);
int ld_p_int(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_size(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_dur(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_bool(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
/*
 * How many bytes of the config file's name (its directory and '/') go
 * before path: 0 when path is absolute or the file has no directory.
 */
size_t ld_dir_len(const char *file, const char *path);
/*
 * A config file that its group or every user may write is refused: file
 * number f (0 the main one).  0, STP_EPERM.
 */
int ld_check_file_mode(struct ld *l, unsigned f);
/* control: off (or ""): no control socket. */
int ld_control_off(const ytree_node *v);
/* The schema's other value parsers (config_values.c). */
int ld_p_workers(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_enum(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_name(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_path(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_control(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_addr(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
/* A socket file's mode (octal), owner and group (P_GROUP): */
int ld_p_mode(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_owner(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_proxy(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_key(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_secret(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);
int ld_p_slots(struct ld *l, const ytree_node *v, const struct field *f,
    void *dst);

/* ---- the other passes ---- */

/*
 * Before pass 1: read the files include: names (checking each), and make
 * l->root the main file's root with their peers, services and forwards
 * merged in.  Fills config.files and watch_dirs (config_include.c).
 */
int ld_include(struct ld *l);
/* ids[i] = included file i as it was read (i >= 1; ids[0] is the main's). */
void ld_include_ids(const struct ld *l, ytree_fid *ids);
/* Frees what ld_include kept (the trees); l->root is then invalid. */
void ld_include_free(struct ld *l);
/* forwards[i]'s index in the file it is in, for key paths. */
size_t ld_forward_index(const struct ld *l, size_t i);

/* Every built-in plugin checks its subtree (config_plugins.c). */
int ld_configure_plugins(struct ld *l);
/* Pass 2: relations between values (config_check.c). */
int ld_relations(struct ld *l);
/* Pass 3: the identity file, and no peer with our own key (config_check.c). */
int ld_load_identity(struct ld *l);

#endif

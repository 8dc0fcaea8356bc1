/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ytree.h: a YAML (and so JSON) document as a tree of nodes that remember
 * where they came from, so every later check can say file:line:col.
 *
 * libyaml's event stream is folded into scalars, sequences and mappings.
 * Anchors, aliases and tags are refused (a peer map never needs them and they
 * are the usual way to make a small YAML file expand without bound); so are
 * duplicate keys in one mapping, documents after the first, nesting deeper
 * than YTREE_MAX_DEPTH and inputs larger than the caller's limit.
 *
 * Loading never exits the process and never prints: errors come back as
 * "file:line:col: reason" in the caller's buffer.
 */
#ifndef STP_YTREE_H
#define STP_YTREE_H

#include <stddef.h>
#include <stdint.h>

#define YTREE_MAX_DEPTH 64

typedef enum { YTREE_SCALAR, YTREE_SEQ, YTREE_MAP } ytree_kind;

typedef struct ytree_node ytree_node;
struct ytree_node {
	ytree_kind kind;
	unsigned line, col; /* 1-based position of the node's first character */
	unsigned file;      /* which file, for a caller that loads several and
			     * merges their nodes (ytree_set_file); 0 unless set */
	int quoted;         /* scalar written in quotes ("null" then means the string) */
	const char *str;    /* scalar text, NUL-terminated; "" for collections */
	size_t len;         /* scalar length in bytes (may contain NUL bytes) */
	/* SEQ: n items.  MAP: n/2 pairs, kids[2i] the key scalar, kids[2i+1] its value. */
	ytree_node **kids;
	size_t n;
};

typedef struct ytree ytree;

/*
 * Parse the file at path (at most max_bytes long).  On success *out owns the
 * tree and 0 is returned.  On failure returns STP_EIO, STP_ETOOBIG, STP_EPARSE
 * or STP_ENOMEM and writes "path:line:col: reason" (or "path: reason") to err.
 */
int ytree_load_file(const char *path, size_t max_bytes, ytree **out,
    char *err, size_t err_len);

/*
 * Which file, and which version of it: device, inode, size and mtime.  A
 * file replaced (a rename over it, a symlink moved) or changed has another.
 */
typedef struct ytree_fid {
	uint64_t dev, ino, size, mtime_ns;
} ytree_fid;

/* The file t was read from, as it was then (fstat of the open file); zeros
 * for a tree loaded from memory. */
ytree_fid ytree_file_id(const ytree *t);
/* path now, through symlinks: 0, or -1 (errno set) with *out zeroed. */
int ytree_path_id(const char *path, ytree_fid *out);

/* As ytree_load_file, from memory; name is used in messages. */
int ytree_load_buf(const char *name, const void *buf, size_t len, ytree **out,
    char *err, size_t err_len);

/* The document's root node; an empty document gives an empty mapping. */
const ytree_node *ytree_root(const ytree *t);
/* The name given at load (the path), for messages. */
const char *ytree_name(const ytree *t);
/*
 * Mark every node of t as coming from file number `file` (the caller's
 * numbering; ytree only keeps it), so that a caller that gathers the nodes
 * of several trees into one collection can still say where each was written.
 */
void ytree_set_file(ytree *t, unsigned file);
/* Frees the tree and every node; ytree_free(NULL) is a no-op. */
void ytree_free(ytree *t);

/* Value for key in a mapping, or NULL (absent, or map is not a mapping). */
const ytree_node *ytree_get(const ytree_node *map, const char *key);
/* Number of items (SEQ), pairs (MAP), or 0 (SCALAR). */
size_t ytree_count(const ytree_node *n);
/* i-th item of a sequence, or NULL. */
const ytree_node *ytree_item(const ytree_node *seq, size_t i);
/* i-th key / value of a mapping, or NULL. */
const ytree_node *ytree_key(const ytree_node *map, size_t i);
const ytree_node *ytree_value(const ytree_node *map, size_t i);
/* 1 if n is an unquoted scalar spelling YAML/JSON null ("null", "~", ""). */
int ytree_is_null(const ytree_node *n);
/* Scalar text of ytree_get(map, key) when it is a scalar, else NULL. */
const char *ytree_get_str(const ytree_node *map, const char *key);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ytree.c: libyaml events -> node tree with positions.  See ytree.h.
 */
#include "ytree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "err.h"

struct ytree {
	ytree_node *root;
	char *name;
	ytree_fid fid;      /* ytree_load_file's file, as read */
};

static void
fid_of(const struct stat *st, ytree_fid *out)
{
	out->dev = (uint64_t)st->st_dev;
	out->ino = (uint64_t)st->st_ino;
	out->size = (uint64_t)st->st_size;
	out->mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u +
	    (uint64_t)st->st_mtim.tv_nsec;
}

ytree_fid
ytree_file_id(const ytree *t)
{
	return t->fid;
}

int
ytree_path_id(const char *path, ytree_fid *out)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st) != 0)
		return -1;
	fid_of(&st, out);
	return 0;
}

/* Builder state: the open collections, innermost last. */
struct builder {
	const char *name;
	ytree_node *stack[YTREE_MAX_DEPTH];
	size_t cap[YTREE_MAX_DEPTH]; /* allocated length of stack[i]->kids */
	size_t depth;
	ytree_node *root;
	int docs;
	char *err;
	size_t err_len;
};

static const ytree_node empty_map = { .kind = YTREE_MAP, .str = "" };

static void
node_free(ytree_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++)
		node_free(n->kids[i]);
	free(n->kids);
	if (n->kind == YTREE_SCALAR)
		free((char *)n->str);
	free(n);
}

static void fail_at(struct builder *b, unsigned line, unsigned col,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail_at(struct builder *b, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->err == NULL || b->err_len == 0)
		return;
	if (line > 0)
		k = snprintf(b->err, b->err_len, "%s:%u:%u: ", b->name, line, col);
	else
		k = snprintf(b->err, b->err_len, "%s: ", b->name);
	if (k < 0 || (size_t)k >= b->err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(b->err + k, b->err_len - (size_t)k, fmt, ap);
	va_end(ap);
}

static ytree_node *
node_new(ytree_kind kind, const yaml_mark_t *m)
{
	ytree_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	n->str = "";
	return n;
}

/* Attach n to the innermost open collection (or make it the root). */
static int
attach(struct builder *b, ytree_node *n)
{
	ytree_node *top;
	size_t *cap;

	if (b->depth == 0) {
		b->root = n;
		return 0;
	}
	top = b->stack[b->depth - 1];
	cap = &b->cap[b->depth - 1];
	if (top->kind == YTREE_MAP && top->n % 2 == 0 && n->kind != YTREE_SCALAR) {
		fail_at(b, n->line, n->col, "mapping keys must be plain scalars");
		return STP_EPARSE;
	}
	if (top->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		ytree_node **k = realloc(top->kids, ncap * sizeof(*k));

		if (k == NULL)
			return STP_ENOMEM;
		top->kids = k;
		*cap = ncap;
	}
	top->kids[top->n++] = n;
	return 0;
}

static int
key_cmp(const void *pa, const void *pb)
{
	const ytree_node *a = *(ytree_node *const *)pa;
	const ytree_node *b = *(ytree_node *const *)pb;
	int c;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	c = memcmp(a->str, b->str, a->len);
	if (c != 0)
		return c;
	/* Equal keys: order by position so the later one is reported. */
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->col < b->col ? -1 : (a->col > b->col);
}

/* Refuse a mapping that names a key twice: O(n log n), so size does not hurt. */
static int
check_dup_keys(struct builder *b, const ytree_node *map)
{
	size_t i, np = map->n / 2;
	const ytree_node **keys;
	int rc = 0;

	if (np < 2)
		return 0;
	keys = malloc(np * sizeof(*keys));
	if (keys == NULL)
		return STP_ENOMEM;
	for (i = 0; i < np; i++)
		keys[i] = map->kids[2 * i];
	qsort(keys, np, sizeof(*keys), key_cmp);
	for (i = 1; i < np; i++) {
		if (keys[i]->len == keys[i - 1]->len &&
		    memcmp(keys[i]->str, keys[i - 1]->str, keys[i]->len) == 0) {
			fail_at(b, keys[i]->line, keys[i]->col,
			    "%s: duplicate key (first at line %u)", keys[i]->str,
			    keys[i - 1]->line);
			rc = STP_EPARSE;
			break;
		}
	}
	free(keys);
	return rc;
}

static int
on_event(struct builder *b, const yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	ytree_node *n;
	int rc;

	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_END_EVENT:
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (b->docs++ > 0) {
			fail_at(b, (unsigned)m->line + 1, (unsigned)m->column + 1,
			    "only one document is allowed");
			return STP_EPARSE;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		fail_at(b, (unsigned)m->line + 1, (unsigned)m->column + 1,
		    "aliases are not supported");
		return STP_EPARSE;
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor != NULL) {
			fail_at(b, (unsigned)m->line + 1, (unsigned)m->column + 1,
			    "anchors are not supported");
			return STP_EPARSE;
		}
		if ((n = node_new(YTREE_SCALAR, m)) == NULL)
			return STP_ENOMEM;
		n->len = ev->data.scalar.length;
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		if ((n->str = malloc(n->len + 1)) == NULL) {
			free(n);
			return STP_ENOMEM;
		}
		memcpy((char *)n->str, ev->data.scalar.value, n->len);
		((char *)n->str)[n->len] = '\0';
		if ((rc = attach(b, n)) != 0)
			node_free(n);
		return rc;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if ((ev->type == YAML_SEQUENCE_START_EVENT ?
			ev->data.sequence_start.anchor :
			ev->data.mapping_start.anchor) != NULL) {
			fail_at(b, (unsigned)m->line + 1, (unsigned)m->column + 1,
			    "anchors are not supported");
			return STP_EPARSE;
		}
		if (b->depth == YTREE_MAX_DEPTH) {
			fail_at(b, (unsigned)m->line + 1, (unsigned)m->column + 1,
			    "nested deeper than %d levels", YTREE_MAX_DEPTH);
			return STP_EPARSE;
		}
		n = node_new(ev->type == YAML_SEQUENCE_START_EVENT ? YTREE_SEQ :
		    YTREE_MAP, m);
		if (n == NULL)
			return STP_ENOMEM;
		if ((rc = attach(b, n)) != 0) {
			node_free(n);
			return rc;
		}
		b->stack[b->depth] = n;
		b->cap[b->depth] = 0;
		b->depth++;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
		b->depth--;
		return 0;
	case YAML_MAPPING_END_EVENT:
		b->depth--;
		return check_dup_keys(b, b->stack[b->depth]);
	default:
		return 0;
	}
}

int
ytree_load_buf(const char *name, const void *buf, size_t len, ytree **out,
    char *err, size_t err_len)
{
	struct builder b;
	yaml_parser_t p;
	yaml_event_t ev;
	ytree *t = NULL;
	int rc = 0, done = 0;

	memset(&b, 0, sizeof(b));
	b.name = name;
	b.err = err;
	b.err_len = err_len;
	if (!yaml_parser_initialize(&p))
		return STP_ENOMEM;
	yaml_parser_set_input_string(&p, buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			if (p.error == YAML_MEMORY_ERROR) {
				rc = STP_ENOMEM;
			} else {
				/* libyaml's problem_mark is where it gave up. */
				fail_at(&b, (unsigned)p.problem_mark.line + 1,
				    (unsigned)p.problem_mark.column + 1, "%s%s%s",
				    p.problem ? p.problem : "syntax error",
				    p.context ? " " : "", p.context ? p.context : "");
				rc = STP_EPARSE;
			}
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&b, &ev);
		yaml_event_delete(&ev);
		if (rc != 0)
			break;
	}
	yaml_parser_delete(&p);
	if (rc != 0)
		goto out;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->name = strdup(name)) == NULL) {
		rc = STP_ENOMEM;
		goto out;
	}
	t->root = b.root;
	b.root = NULL;
	*out = t;
	t = NULL;
out:
	if (rc == STP_ENOMEM)
		fail_at(&b, 0, 0, "out of memory");
	node_free(b.root);
	if (t != NULL)
		free(t->name);
	free(t);
	return rc;
}

int
ytree_load_file(const char *path, size_t max_bytes, ytree **out, char *err,
    size_t err_len)
{
	struct builder b = { .name = path, .err = err, .err_len = err_len };
	struct stat st;
	char *buf = NULL, *nb;
	size_t got = 0, cap, n;
	FILE *f;
	int fd, rc;

	/* O_NONBLOCK: a FIFO put where the config was is refused below, not
	 * waited on for ever.  It changes nothing for a regular file. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 ||
	    (f = fdopen(fd, "rb")) == NULL) {
		fail_at(&b, 0, 0, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return STP_EIO;
	}
	if (fstat(fileno(f), &st) != 0) {
		fail_at(&b, 0, 0, "%s", strerror(errno));
		rc = STP_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail_at(&b, 0, 0, "not a regular file");
		rc = STP_EIO;
		goto out;
	}
	if ((uintmax_t)st.st_size > max_bytes) {
		fail_at(&b, 0, 0, "file is %jd bytes, over the limit of %zu",
		    (intmax_t)st.st_size, max_bytes);
		rc = STP_ETOOBIG;
		goto out;
	}
	/*
	 * Read to EOF rather than trusting st_size: the file may change under
	 * us.  The buffer starts at the size stat gave (and a little), and
	 * grows only if the file did, up to one byte over the limit.
	 */
	cap = (size_t)st.st_size + 4096;
	if (cap > max_bytes + 1)
		cap = max_bytes + 1;
	for (;;) {
		if ((nb = realloc(buf, cap)) == NULL) {
			rc = STP_ENOMEM;
			fail_at(&b, 0, 0, "out of memory");
			goto out;
		}
		buf = nb;
		n = fread(buf + got, 1, cap - got, f);
		got += n;
		if (ferror(f)) {
			fail_at(&b, 0, 0, "%s", strerror(errno));
			rc = STP_EIO;
			goto out;
		}
		if (got < cap || cap == max_bytes + 1)
			break;
		cap = cap > (max_bytes + 1) / 2 ? max_bytes + 1 : cap * 2;
	}
	if (got > max_bytes) {
		fail_at(&b, 0, 0, "file grew over the limit of %zu bytes", max_bytes);
		rc = STP_ETOOBIG;
		goto out;
	}
	if ((rc = ytree_load_buf(path, buf, got, out, err, err_len)) == 0)
		fid_of(&st, &(*out)->fid);
out:
	free(buf);
	fclose(f);
	return rc;
}

const ytree_node *
ytree_root(const ytree *t)
{
	return t->root != NULL ? t->root : &empty_map;
}

const char *
ytree_name(const ytree *t)
{
	return t->name;
}

static void
node_set_file(ytree_node *n, unsigned file)
{
	size_t i;

	/* Recursion is bounded: nesting stops at YTREE_MAX_DEPTH. */
	n->file = file;
	for (i = 0; i < n->n; i++)
		node_set_file(n->kids[i], file);
}

void
ytree_set_file(ytree *t, unsigned file)
{
	if (t != NULL && t->root != NULL)
		node_set_file(t->root, file);
}

void
ytree_free(ytree *t)
{
	if (t == NULL)
		return;
	node_free(t->root);
	free(t->name);
	free(t);
}

const ytree_node *
ytree_get(const ytree_node *map, const char *key)
{
	size_t i, klen = strlen(key);

	if (map == NULL || map->kind != YTREE_MAP)
		return NULL;
	for (i = 0; i + 1 < map->n; i += 2) {
		if (map->kids[i]->len == klen &&
		    memcmp(map->kids[i]->str, key, klen) == 0)
			return map->kids[i + 1];
	}
	return NULL;
}

size_t
ytree_count(const ytree_node *n)
{
	if (n == NULL || n->kind == YTREE_SCALAR)
		return 0;
	return n->kind == YTREE_MAP ? n->n / 2 : n->n;
}

const ytree_node *
ytree_item(const ytree_node *seq, size_t i)
{
	if (seq == NULL || seq->kind != YTREE_SEQ || i >= seq->n)
		return NULL;
	return seq->kids[i];
}

const ytree_node *
ytree_key(const ytree_node *map, size_t i)
{
	if (map == NULL || map->kind != YTREE_MAP || i >= map->n / 2)
		return NULL;
	return map->kids[2 * i];
}

const ytree_node *
ytree_value(const ytree_node *map, size_t i)
{
	if (map == NULL || map->kind != YTREE_MAP || i >= map->n / 2)
		return NULL;
	return map->kids[2 * i + 1];
}

int
ytree_is_null(const ytree_node *n)
{
	if (n == NULL || n->kind != YTREE_SCALAR || n->quoted)
		return 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	    strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	    strcmp(n->str, "NULL") == 0;
}

const char *
ytree_get_str(const ytree_node *map, const char *key)
{
	const ytree_node *v = ytree_get(map, key);

	return v != NULL && v->kind == YTREE_SCALAR ? v->str : NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_include.c: `include:`, pass 0 of the config loader (config.c's
 * head comment, config_int.h).  A fleet keeps one small main file per host
 * and the peer map in files of its own (say, every .yaml file in peers.d);
 * the main file names them with a pattern, or a list of up to 64.
 *
 * Each pattern is a path, or a glob (it has *, ? or [) whose wildcards are
 * in its last part only, so that the directory it searches is one known
 * directory (config.watch_dirs, for `watch: true`).  Relative patterns are
 * taken from the main file's directory, as `identity:` is.  A glob that
 * matches nothing is fine (an empty peers.d is normal); a plain path that
 * does not exist is not.  The files are read in pattern order, each
 * pattern's matches in byte order (strcmp: the same whatever the locale).
 *
 * It runs in two steps, so that a mistake in the list is reported before
 * a thousand files are read: first every pattern is expanded and each file
 * found is stat'ed (at most 1024 in all; the main file itself, or one file
 * reached twice by any path, is refused), then each file is checked as the
 * main one is (ld_check_file_mode, CFG_FILE_MAX, its YAML) and may hold
 * only peers, services and forwards.
 *
 * The trees stay alive for the load.  The merge builds a root of its own:
 * the main file's pairs, with the three lists replaced (or added) by nodes
 * made here whose items are the files' own nodes, borrowed in load order
 * (the main file's first).  Every node keeps its file (ytree_set_file), so
 * passes 1 to 3 run unchanged on the merged tree and still report
 * FILE:LINE:COL.  No tree is changed, so freeing stays each tree's business.
 */
#include "config_int.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"

#define PATTERNS_MAX 64     /* patterns in include: */
#define INCLUDED_MAX 1024   /* included files in all */

/* A file read, by its index in config.files. */
struct inc_file {
	ytree *t;           /* NULL for the main file (config_load has it) */
	dev_t dev;          /* its identity, to refuse one file read twice */
	ino_t ino;
	int have_id;
};

struct ld_inc {
	struct inc_file *f;         /* one per config.files entry */
	size_t cap;                 /* allocated length of f and config.files */
	struct {
		dev_t dev;
		ino_t ino;
		int have_id;
	} wd[PATTERNS_MAX];         /* config.watch_dirs' identities */
	size_t *fw_base;            /* per file: its first forward, merged */
	ytree_node root;            /* the merged tree (l->root) */
	ytree_node lists[LD_NLISTS]; /* peers, services, forwards, merged */
	const ytree_node *keys[LD_NLISTS]; /* their keys, when the main file
					     * has none: the first included */
};

/*
 * glob(3)'s error callback has no argument for us: what it reports is kept
 * here, per thread, until glob returns.
 */
static _Thread_local struct {
	char path[CFG_PATH_MAX];
	int err;
} glob_fail;

static int
on_glob_error(const char *path, int err)
{
	snprintf(glob_fail.path, sizeof(glob_fail.path), "%s", path);
	glob_fail.err = err;
	return 1;           /* stop (GLOB_ERR says so too) */
}

static int
cmp_str(const void *pa, const void *pb)
{
	return strcmp(*(char *const *)pa, *(char *const *)pb);
}

/* Room in config.files and inc->f for one more file. */
static int
grow(struct ld *l)
{
	struct ld_inc *inc = l->inc;
	struct inc_file *nf;
	char **np;
	size_t ncap;

	if (l->c->n_files < inc->cap)
		return 0;
	ncap = inc->cap * 2;
	if ((np = realloc(l->c->files, ncap * sizeof(*np))) == NULL)
		return ld_oom(l);
	l->c->files = np;
	if ((nf = realloc(inc->f, ncap * sizeof(*nf))) == NULL)
		return ld_oom(l);
	inc->f = nf;
	inc->cap = ncap;
	return 0;
}

/*
 * The file at path, found by the pattern at node at (a glob when is_glob is
 * set): refuse what cannot be included, else add it to config.files (read
 * later, read_file).
 */
static int
add_file(struct ld *l, const ytree_node *at, const char *path, int is_glob)
{
	struct ld_inc *inc = l->inc;
	config *c = l->c;
	struct stat st;
	size_t i;
	int e, rc;

	if (c->n_files > INCLUDED_MAX) {
		ld_fail(l, at, "more than %d files to include (the limit)",
		    INCLUDED_MAX);
		return STP_ETOOBIG;
	}
	if (strlen(path) >= CFG_PATH_MAX) {
		ld_fail(l, at, "%s: path too long", path);
		return STP_ETOOBIG;
	}
	if (stat(path, &st) != 0) {
		e = errno;
		ld_fail(l, at, "%s: %s", path, strerror(e));
		return STP_EIO;
	}
	/* Before anything opens it: a FIFO would block the open. */
	if (!S_ISREG(st.st_mode)) {
		/* include: peers.d, meaning the files in it. */
		if (!is_glob && S_ISDIR(st.st_mode))
			ld_fail(l, at, "%s: not a regular file but a directory "
			    "(for its files, write a glob such as "
			    "\"%.*s/*.yaml\")", path, (int)(at->len -
			    (at->str[at->len - 1] == '/')), at->str);
		else
			ld_fail(l, at, "%s: not a regular file", path);
		return STP_EIO;
	}
	for (i = 0; i < c->n_files; i++) {
		if (!inc->f[i].have_id || inc->f[i].dev != st.st_dev ||
		    inc->f[i].ino != st.st_ino)
			continue;
		if (i == 0)
			return ld_fail(l, at, "%s is this config file itself",
			    path);
		if (strcmp(c->files[i], path) == 0)
			return ld_fail(l, at, "%s is included twice", path);
		return ld_fail(l, at, "%s is included twice (first as %s)",
		    path, c->files[i]);
	}
	if ((rc = grow(l)) != 0)
		return rc;
	if ((c->files[c->n_files] = strdup(path)) == NULL)
		return ld_oom(l);
	inc->f[c->n_files].t = NULL;
	inc->f[c->n_files].dev = st.st_dev;
	inc->f[c->n_files].ino = st.st_ino;
	inc->f[c->n_files].have_id = 1;
	c->n_files++;
	return 0;
}

/* Remember dir (a glob's directory) in config.watch_dirs, once. */
static int
add_watch_dir(struct ld *l, const char *dir)
{
	struct ld_inc *inc = l->inc;
	config *c = l->c;
	struct stat st;
	int have = stat(dir, &st) == 0;
	size_t i;

	for (i = 0; i < c->n_watch_dirs; i++)
		if (strcmp(c->watch_dirs[i], dir) == 0 || (have &&
		    inc->wd[i].have_id && inc->wd[i].dev == st.st_dev &&
		    inc->wd[i].ino == st.st_ino))
			return 0;
	/* One directory per pattern at most: PATTERNS_MAX bounds them. */
	if (c->watch_dirs == NULL && ((c->watch_dirs = calloc(PATTERNS_MAX,
	    sizeof(*c->watch_dirs))) == NULL || (c->watch_dir_ids =
	    calloc(PATTERNS_MAX, sizeof(*c->watch_dir_ids))) == NULL))
		return ld_oom(l);
	if (c->n_watch_dirs == PATTERNS_MAX)
		return 0;
	if ((c->watch_dirs[c->n_watch_dirs] = strdup(dir)) == NULL)
		return ld_oom(l);
	inc->wd[c->n_watch_dirs].have_id = have;
	/* Before the glob reads it: a file added later changes its mtime. */
	(void)ytree_path_id(dir, &c->watch_dir_ids[c->n_watch_dirs]);
	if (have) {
		inc->wd[c->n_watch_dirs].dev = st.st_dev;
		inc->wd[c->n_watch_dirs].ino = st.st_ino;
	}
	c->n_watch_dirs++;
	return 0;
}

/*
 * A glob's directory: our directory's dlen bytes of path, then the plen
 * bytes of the pattern before its last '/', unescaped ("\x" is x, as glob
 * reads it); "." when that is nothing.
 */
static void
glob_dir(char *out, size_t len, const char *path, size_t dlen,
    const char *pat, size_t plen)
{
	size_t o, i;

	o = (size_t)snprintf(out, len, "%.*s", (int)dlen, path);
	for (i = 0; i < plen && o + 1 < len; i++) {
		if (pat[i] == '\\' && i + 1 < plen)
			i++;
		out[o++] = pat[i];
	}
	out[o] = '\0';
	if (o > 1 && out[o - 1] == '/')
		out[o - 1] = '\0';     /* "/etc/stpgate/" is /etc/stpgate */
	if (o == 0)
		snprintf(out, len, ".");
}

/* One pattern (node v; the key path names it): add the files it names. */
static int
expand(struct ld *l, const ytree_node *v)
{
	static const struct field f = { .name = "include" };
	char path[CFG_PATH_MAX], pat[2 * CFG_PATH_MAX], dir[CFG_PATH_MAX];
	char q[SHOW_BUF];
	const char *last;
	size_t dlen, o, i;
	glob_t g;
	int rc;

	if (v->kind != YTREE_SCALAR || ytree_is_null(v) || v->len == 0)
		return ld_fail_type(l, v, "a path or glob");
	/* The NUL and length checks, and the path joined to our directory. */
	if ((rc = ld_p_path(l, v, &f, path)) != 0)
		return rc;
	if (strpbrk(v->str, "*?[") == NULL)
		return add_file(l, v, path, 0);
	last = strrchr(v->str, '/');
	for (i = 0; last != NULL && v->str + i < last; i++)
		if (strchr("*?[", v->str[i]) != NULL)
			return ld_fail(l, v, "a wildcard may only be in the "
			    "last part of a pattern, not in a directory: %s",
			    ld_show(q, v->str, v->len));
	/*
	 * Our own directory goes in escaped: a '[' in it is no wildcard.
	 * Each byte at most doubles, so pat holds it all.
	 */
	dlen = ld_dir_len(l->file, v->str);
	for (i = o = 0; i < dlen; i++) {
		if (strchr("*?[\\", path[i]) != NULL)
			pat[o++] = '\\';
		pat[o++] = path[i];
	}
	memcpy(pat + o, v->str, v->len + 1);
	/* A pattern right under the root: its directory is the slash. */
	glob_dir(dir, sizeof(dir), path, dlen, v->str,
	    last != NULL ? (size_t)(last - v->str) + (last == v->str) : 0);

	memset(&g, 0, sizeof(g));
	glob_fail.path[0] = '\0';
	glob_fail.err = 0;
	/* GLOB_ERR: an unreadable or missing directory is an error, not "no
	 * match".  Sorted below, in byte order rather than the locale's. */
	rc = glob(pat, GLOB_ERR | GLOB_NOSORT, on_glob_error, &g);
	if (rc == GLOB_NOSPACE) {
		globfree(&g);
		return ld_oom(l);
	}
	if (rc != 0 && rc != GLOB_NOMATCH) {
		globfree(&g);
		ld_fail(l, v, "%s: %s", glob_fail.path[0] != '\0' ?
		    glob_fail.path : dir, glob_fail.err != 0 ?
		    strerror(glob_fail.err) : "cannot be read");
		return STP_EIO;
	}
	if (rc == 0)
		qsort(g.gl_pathv, g.gl_pathc, sizeof(*g.gl_pathv), cmp_str);
	rc = add_watch_dir(l, dir);
	for (i = 0; rc == 0 && i < g.gl_pathc; i++)
		rc = add_file(l, v, g.gl_pathv[i], 1);
	globfree(&g);
	return rc;
}

/* Read file number f and check what it holds. */
static int
read_file(struct ld *l, unsigned f)
{
	char d[SHOW_BUF + 16];
	const ytree_node *root, *k, *v;
	size_t i, j, mark;
	int rc;

	if ((rc = ld_check_file_mode(l, f)) != 0 ||
	    (rc = ytree_load_file(l->c->files[f], CFG_FILE_MAX, &l->inc->f[f].t,
	    l->err, l->err_len)) != 0)
		return rc;
	ytree_set_file(l->inc->f[f].t, f);
	root = ytree_root(l->inc->f[f].t);
	if (root->line == 0 || ytree_is_null(root))
		return 0;   /* empty, or only comments: nothing to add */
	if (root->kind != YTREE_MAP)
		return ld_fail(l, root, "expected a mapping (peers, services, "
		    "forwards) at the top level, got %s", ld_describe(d, root));
	for (i = 0; i < ytree_count(root); i++) {
		k = ytree_key(root, i);
		v = ytree_value(root, i);
		for (j = 0; j < LD_NLISTS; j++)
			if (strlen(ld_lists[j].name) == k->len &&
			    memcmp(ld_lists[j].name, k->str, k->len) == 0)
				break;
		mark = ld_push_key(l, k->str, k->len);
		if (j == LD_NLISTS)
			rc = ld_fail(l, k, "an included file may hold only "
			    "peers, services and forwards%s", k->len == 7 &&
			    memcmp(k->str, "include", 7) == 0 ?
			    " (includes do not nest)" : "");
		else if (!ytree_is_null(v) && v->kind != ld_lists[j].kind)
			rc = ld_fail_type(l, v, ld_lists[j].what);
		ld_pop(l, mark);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The list (LD_*) file f holds, or NULL. */
static const ytree_node *
file_list(const struct ld *l, unsigned f, size_t j)
{
	const ytree_node *v = ytree_get(ytree_root(l->inc->f[f].t),
	    ld_lists[j].name);

	return v == NULL || ytree_is_null(v) ? NULL : v;
}

/*
 * Merge list j (LD_*) of the included files into the main file's: 1 when
 * merged (inc->lists[j] holds them all), 0 when there is nothing to merge
 * or the main file's is not a list (pass 1 says so), or STP_ENOMEM.
 */
static int
merge_list(struct ld *l, size_t j, const ytree_node *main_v)
{
	struct ld_inc *inc = l->inc;
	ytree_node *m = &inc->lists[j];
	const ytree_node *v, *first = NULL;
	size_t n = 0, f;

	if (main_v != NULL && ytree_is_null(main_v))
		main_v = NULL;
	if (main_v != NULL && main_v->kind != ld_lists[j].kind)
		return 0;
	for (f = 1; f < l->c->n_files; f++)
		if ((v = file_list(l, (unsigned)f, j)) != NULL) {
			n += v->n;
			if (first == NULL)
				first = v;
		}
	if (first == NULL)
		return 0;
	n += main_v != NULL ? main_v->n : 0;
	/* Positions for messages about the list itself; none is expected. */
	*m = main_v != NULL ? *main_v : *first;
	m->n = 0;
	/* One more than needed: every list may be empty ({} or []). */
	if ((m->kids = calloc(n + 1, sizeof(*m->kids))) == NULL)
		return ld_oom(l);
	/* The nodes are the trees'; the loader only reads them. */
	if (main_v != NULL && main_v->n > 0) {
		memcpy(m->kids, main_v->kids, main_v->n * sizeof(*m->kids));
		m->n = main_v->n;
	}
	for (f = 1; f < l->c->n_files; f++) {
		if ((v = file_list(l, (unsigned)f, j)) == NULL)
			continue;
		if (j == LD_FORWARDS)
			inc->fw_base[f] = m->n;
		if (v->n > 0)
			memcpy(m->kids + m->n, v->kids,
			    v->n * sizeof(*m->kids));
		m->n += v->n;
	}
	if (main_v == NULL) {
		const ytree_node *froot = ytree_root(inc->f[first->file].t);

		/* The main file has no such key: the first included one's. */
		for (f = 0; f < ytree_count(froot); f++)
			if (ytree_value(froot, f) == first)
				inc->keys[j] = ytree_key(froot, f);
	}
	return 1;
}

/* l->root becomes the main file's with every included list merged in. */
static int
merge(struct ld *l)
{
	struct ld_inc *inc = l->inc;
	const ytree_node *main_root = l->root;
	const ytree_node *mv[LD_NLISTS];
	ytree_node *r = &inc->root;
	int merged[LD_NLISTS], rc;
	size_t i, j;

	if ((inc->fw_base = calloc(l->c->n_files, sizeof(*inc->fw_base))) ==
	    NULL)
		return ld_oom(l);
	for (j = 0; j < LD_NLISTS; j++) {
		mv[j] = ytree_get(main_root, ld_lists[j].name);
		if ((rc = merge_list(l, j, mv[j])) < 0)
			return rc;
		merged[j] = rc;
	}
	*r = *main_root;
	if ((r->kids = calloc(main_root->n + 2 * LD_NLISTS,
	    sizeof(*r->kids))) == NULL)
		return ld_oom(l);
	/* Never empty: it holds include: at least. */
	memcpy(r->kids, main_root->kids, main_root->n * sizeof(*r->kids));
	for (j = 0; j < LD_NLISTS; j++) {
		if (!merged[j])
			continue;
		if (mv[j] == NULL) {
			/* Only read, as every borrowed node. */
			r->kids[r->n++] = (ytree_node *)inc->keys[j];
			r->kids[r->n++] = &inc->lists[j];
			continue;
		}
		for (i = 1; i < r->n; i += 2)
			if (r->kids[i] == mv[j])
				r->kids[i] = &inc->lists[j];
	}
	l->root = r;
	return 0;
}

static int
same_name(const ytree_node *a, const ytree_node *b)
{
	return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
}

/* Load order. */
static int
before(const ytree_node *a, const ytree_node *b)
{
	if (a->file != b->file)
		return a->file < b->file;
	if (a->line != b->line)
		return a->line < b->line;
	return a->col < b->col;
}

/* Equal names together, each name's in load order. */
static int
cmp_name(const void *pa, const void *pb)
{
	const ytree_node *a = *(const ytree_node *const *)pa;
	const ytree_node *b = *(const ytree_node *const *)pb;
	int d;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if ((d = memcmp(a->str, b->str, a->len)) != 0)
		return d;
	return before(a, b) ? -1 : before(b, a);
}

/*
 * A name the mapping map (merged peers or services) holds twice, which
 * can only be from two files (ytree refuses two in one).  Of all such, the
 * second definition that comes first in load order is kept in *again if
 * it comes before the one there, and its name's first definition in
 * *first.  0 or STP_ENOMEM.
 */
static int
find_twice(struct ld *l, const ytree_node *map, const ytree_node **first,
    const ytree_node **again)
{
	const ytree_node **k;
	size_t i, j, n = ytree_count(map);

	if (n < 2)
		return 0;
	if ((k = calloc(n, sizeof(*k))) == NULL)
		return ld_oom(l);
	for (i = 0; i < n; i++)
		k[i] = ytree_key(map, i);
	qsort(k, n, sizeof(*k), cmp_name);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && same_name(k[i], k[j]); j++)
			;
		if (j - i > 1 && (*again == NULL || before(k[i + 1], *again))) {
			*again = k[i + 1];
			*first = k[i];
		}
	}
	free(k);
	return 0;
}

int
ld_include(struct ld *l)
{
	static const size_t named[] = { LD_PEERS, LD_SERVICES };
	const ytree_node *v = ytree_get(l->root, "include");
	const ytree_node *first = NULL, *again = NULL;
	const char *sect = NULL;
	struct ld_inc *inc;
	struct stat st;
	size_t i, n, mark, m2;
	int rc = 0;

	if (v == NULL || ytree_is_null(v))
		return 0;
	if ((inc = l->inc = calloc(1, sizeof(*l->inc))) == NULL ||
	    (inc->f = calloc(1, sizeof(*inc->f))) == NULL)
		return ld_oom(l);
	inc->cap = 1;
	if (stat(l->file, &st) == 0) {
		inc->f[0].dev = st.st_dev;
		inc->f[0].ino = st.st_ino;
		inc->f[0].have_id = 1;
	}

	/* Every pattern expanded, every file found, before any is read. */
	mark = ld_push_key(l, "include", 7);
	if (v->kind == YTREE_SCALAR) {
		rc = expand(l, v);
	} else if (v->kind != YTREE_SEQ) {
		rc = ld_fail_type(l, v, "a path or glob, or a list of them");
	} else if ((n = ytree_count(v)) > PATTERNS_MAX) {
		rc = ld_fail(l, v, "a list of %zu patterns; at most %d", n,
		    PATTERNS_MAX);
	} else {
		for (i = 0; i < n && rc == 0; i++) {
			m2 = ld_push_index(l, i);
			rc = expand(l, ytree_item(v, i));
			ld_pop(l, m2);
		}
	}
	ld_pop(l, mark);
	for (i = 1; i < l->c->n_files && rc == 0; i++)
		rc = read_file(l, (unsigned)i);
	if (rc != 0 || l->c->n_files == 1 || (rc = merge(l)) != 0)
		return rc;

	/* A name defined in two files: report the second, naming the first. */
	for (i = 0; i < sizeof(named) / sizeof(named[0]) && rc == 0; i++) {
		const char *name = ld_lists[named[i]].name;
		const ytree_node *list = ytree_get(l->root, name);
		const ytree_node *a0 = again;

		if (list != NULL && list->kind == YTREE_MAP &&
		    (rc = find_twice(l, list, &first, &again)) == 0 &&
		    again != a0)
			sect = name;
	}
	if (rc != 0 || again == NULL)
		return rc;
	mark = ld_push_key(l, sect, strlen(sect));
	ld_push_key(l, again->str, again->len);
	rc = ld_fail(l, again, "defined twice (first in %s:%u:%u)",
	    ld_file_name(l, first->file), first->line, first->col);
	ld_pop(l, mark);
	return rc;
}

void
ld_include_ids(const struct ld *l, ytree_fid *ids)
{
	size_t i;

	for (i = 1; l->inc != NULL && i < l->c->n_files; i++)
		ids[i] = ytree_file_id(l->inc->f[i].t);
}

void
ld_include_free(struct ld *l)
{
	struct ld_inc *inc = l->inc;
	size_t i, j;

	if (inc == NULL)
		return;
	/* Entries past n_files were never filled. */
	for (i = 1; i < l->c->n_files; i++)
		ytree_free(inc->f[i].t);
	for (j = 0; j < LD_NLISTS; j++)
		free(inc->lists[j].kids);
	free(inc->root.kids);
	free(inc->fw_base);
	free(inc->f);
	free(inc);
	l->inc = NULL;
}

size_t
ld_forward_index(const struct ld *l, size_t i)
{
	const ytree_node *item = ytree_item(l->forwards, i);

	if (l->inc == NULL || l->inc->fw_base == NULL || item == NULL)
		return i;
	return i - l->inc->fw_base[item->file];
}

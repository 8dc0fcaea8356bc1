/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway_watch.c: `watch: true`: the gateway reloads by itself when its
 * config file, or a file it includes, changes.
 *
 * What is watched is the directories that hold those files, not the files.
 * An editor that writes a new file and renames it over the old one, a config
 * manager's atomic rename, and a Kubernetes ConfigMap volume (a `..data`
 * symlink swapped to a new directory) all replace the file rather than
 * change it, and a watch on the old file would hear nothing more.  A
 * file's directory is watched, and, when the path leads through symlinks,
 * the directory of the file it resolves to as well.
 *
 * Any event in a watched directory (re)starts a short settle timer, so that
 * a burst of writes makes one reload.  When it fires, each file is stat'ed
 * through its symlinks, and so is each directory an include: glob searches
 * (a new file there changes its mtime), and compared with what the running
 * config recorded as it read them (ytree_fid: the open file's fstat, and
 * the directory's stat before its glob); only when one is another file, or
 * has another size or mtime, is the config reloaded, so other files
 * changing in /etc cost a stat per config file and nothing more.  Because
 * the comparison is with what was read, a change made while a reload runs
 * is not taken for the state it loaded; and every reload ends with one
 * such check, for an event that came while the watches were being made
 * afresh.  A reload that fails (the new file is wrong) is reported as any
 * reload is, and the same bad files are not tried again until they change.
 */
#include "gateway_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SETTLE_MS 300          /* quiet time after the last event */
#define WATCH_MAX_DIRS 256     /* directories watched at most */

struct gw_watch {
	gateway *gw;
	uv_fs_event_t *ev[WATCH_MAX_DIRS];
	char *dirs[WATCH_MAX_DIRS];
	size_t n;
	uv_timer_t settle;
	int renew;                 /* watch every directory afresh at the next apply */
	uint64_t tried;            /* changed()'s state at the last reload that failed */
};

/* FNV-1a over bytes, folded into h. */
static uint64_t
fold(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * Whether any file or include directory is not what the running config
 * read; *state gets a digest of what they are now (to remember a failed
 * attempt by).
 */
static int
changed(const gateway *gw, uint64_t *state)
{
	const config *c = gw->cfg;
	uint64_t h = 0xcbf29ce484222325ull;
	ytree_fid now;
	int differs = 0;
	size_t i;

	for (i = 0; i < c->n_files; i++) {
		(void)ytree_path_id(c->files[i], &now);
		h = fold(h, &now, sizeof(now));
		differs |= memcmp(&now, &c->file_ids[i], sizeof(now)) != 0;
	}
	for (i = 0; i < c->n_watch_dirs; i++) {
		(void)ytree_path_id(c->watch_dirs[i], &now);
		h = fold(h, &now, sizeof(now));
		differs |= memcmp(&now, &c->watch_dir_ids[i], sizeof(now)) != 0;
	}
	*state = h;
	return differs;
}

/* Add dir to the set (no duplicates); 0, or -1 when it is full. */
static int
add_dir(char **set, size_t *n, const char *dir)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(set[i], dir) == 0)
			return 0;
	if (*n >= WATCH_MAX_DIRS || (set[*n] = strdup(dir)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* The directory part of path into out ("." when there is none). */
static void
dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(out, len, ".");
	else if (slash == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* The directories to watch for cfg: each file's, and its resolved file's. */
static size_t
dirs_for(const config *cfg, char **set)
{
	char dir[CFG_PATH_MAX], real[PATH_MAX];
	size_t i, n = 0;

	for (i = 0; i < cfg->n_files; i++) {
		dir_of(cfg->files[i], dir, sizeof(dir));
		if (add_dir(set, &n, dir) != 0)
			break;
		if (realpath(cfg->files[i], real) != NULL) {
			dir_of(real, dir, sizeof(dir));
			if (add_dir(set, &n, dir) != 0)
				break;
		}
	}
	for (i = 0; i < cfg->n_watch_dirs; i++)
		if (add_dir(set, &n, cfg->watch_dirs[i]) != 0)
			break;
	return n;
}

static void
free_dirs(char **set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(set[i]);
}

static void
settle_fired(uv_timer_t *t)
{
	struct gw_watch *w = t->data;
	gateway *gw = w->gw;
	uint64_t state;
	char msg[1400];

	if (gw->draining || !changed(gw, &state) || state == w->tried)
		return;
	/* A directory deleted and made again (or swapped) is a new inode: the
	 * old watch hears nothing more, so every watch is made afresh. */
	w->renew = 1;
	log_info(NULL, NULL, "watch: %s or a file it includes changed; reloading",
	    gw->cfg->path);
	/* gateway_reload calls gw_watch_apply, which checks once more. */
	if (gateway_reload(gw, msg, sizeof(msg)) != 0 && gw->watch != NULL)
		gw->watch->tried = state;
}

static void
on_event(uv_fs_event_t *h, const char *name, int events, int status)
{
	struct gw_watch *w = h->data;

	(void)name;
	(void)events;
	if (status < 0) {
		log_warn(NULL, NULL, "watch: %s: %s", h->path ? h->path : "?",
		    uv_strerror(status));
		return;
	}
	uv_timer_stop(&w->settle);
	uv_timer_start(&w->settle, settle_fired, SETTLE_MS, 0);
}

static void
close_ev(struct gw_watch *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (w->ev[i] != NULL)
			uv_close((uv_handle_t *)w->ev[i], (uv_close_cb)free);
		free(w->dirs[i]);
		w->ev[i] = NULL;
		w->dirs[i] = NULL;
	}
	w->n = 0;
}

static void
free_watch(uv_handle_t *h)
{
	free(h->data);
}

void
gw_watch_close(gateway *gw)
{
	struct gw_watch *w = gw->watch;

	if (w == NULL)
		return;
	gw->watch = NULL;
	close_ev(w);
	uv_timer_stop(&w->settle);
	uv_close((uv_handle_t *)&w->settle, free_watch);
}

/* Do the two sets hold the same directories, in the same order? */
static int
same_dirs(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

int
gw_watch_apply(gateway *gw, char *err, size_t errlen)
{
	struct gw_watch *w = gw->watch;
	char *dirs[WATCH_MAX_DIRS];
	size_t n, i;
	int rc, moved;

	if (!gw->cfg->watch || gw->draining) {
		gw_watch_close(gw);
		return 0;
	}
	if (w == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL) {
			snprintf(err, errlen, "watch: out of memory");
			return -1;
		}
		w->gw = gw;
		uv_timer_init(&gw->loop, &w->settle);
		w->settle.data = w;
		gw->watch = w;
	}
	n = dirs_for(gw->cfg, dirs);
	moved = !same_dirs(dirs, n, w->dirs, w->n);
	if (w->renew || moved) {
		size_t ok = 0;

		w->renew = 0;
		close_ev(w);
		err[0] = '\0';
		/*
		 * A directory that cannot be watched (gone for now, say) is
		 * named and skipped: the others, among them the main file's,
		 * still see it come back, and every reload watches afresh.
		 */
		for (i = 0; i < n; i++) {
			w->dirs[i] = dirs[i];
			if ((w->ev[i] = malloc(sizeof(*w->ev[i]))) == NULL) {
				rc = UV_ENOMEM;
			} else {
				uv_fs_event_init(&gw->loop, w->ev[i]);
				w->ev[i]->data = w;
				rc = uv_fs_event_start(w->ev[i], on_event, dirs[i], 0);
			}
			if (rc != 0) {
				if (err[0] == '\0')
					snprintf(err, errlen, "watch: cannot watch %s: %s",
					    dirs[i], uv_strerror(rc));
				if (w->ev[i] != NULL)
					uv_close((uv_handle_t *)w->ev[i],
					    (uv_close_cb)free);
				w->ev[i] = NULL;
			} else {
				ok++;
			}
		}
		w->n = n;
		if (moved && ok > 0)
			log_info(NULL, NULL, "watch: watching %zu director%s for "
			    "changes to %s and %zu included file%s", ok,
			    ok == 1 ? "y" : "ies", gw->cfg->path,
			    gw->cfg->n_files - 1, gw->cfg->n_files == 2 ? "" : "s");
		if (ok < n) {
			uv_timer_start(&w->settle, settle_fired, SETTLE_MS, 0);
			return -1;
		}
	} else {
		free_dirs(dirs, n);
	}
	/* A change while the config was read, or while the watches were made
	 * afresh: one check after the settle time sees it. */
	uv_timer_start(&w->settle, settle_fired, SETTLE_MS, 0);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ytree.c: the YAML/JSON node tree: shapes, positions, and every refusal
 * with its file:line:col message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "testlib.h"
#include "ytree.h"

static ytree *
load(const char *text, int want_rc, const char *want_err)
{
	char err[256] = "";
	ytree *t = NULL;
	int rc;

	rc = ytree_load_buf("mem.yaml", text, strlen(text), &t, err, sizeof(err));
	T_INT(rc, want_rc);
	if (want_err != NULL)
		t_check(strstr(err, want_err) != NULL, __FILE__, __LINE__, t_ctx,
		    "error \"%s\" lacks \"%s\"", err, want_err);
	if (rc != 0)
		T_OK(t == NULL);
	return t;
}

static void
test_shapes(void)
{
	const char *doc =
	    "identity: /etc/stpgate/alice.key\n"
	    "peers:\n"
	    "  bob:\n"
	    "    key: \"stp1:abc\"\n"
	    "    allow: [a, b, 'null']\n"
	    "empty:\n"
	    "tilde: ~\n";
	const ytree_node *root, *peers, *bob, *allow;
	ytree *t;

	t_set_ctx("shapes");
	t = load(doc, 0, NULL);
	if (t == NULL)
		return;
	root = ytree_root(t);
	T_INT(root->kind, YTREE_MAP);
	T_INT((long long)ytree_count(root), 4);
	T_OK(strcmp(ytree_get_str(root, "identity"), "/etc/stpgate/alice.key") == 0);
	peers = ytree_get(root, "peers");
	T_OK(peers != NULL && peers->kind == YTREE_MAP);
	T_INT(peers->line, 3); /* a block mapping starts at its first key */
	bob = ytree_get(peers, "bob");
	T_OK(bob != NULL);
	T_OK(ytree_get(bob, "key")->quoted);
	allow = ytree_get(bob, "allow");
	T_INT(allow->kind, YTREE_SEQ);
	T_INT((long long)ytree_count(allow), 3);
	T_INT(ytree_item(allow, 1)->line, 5);
	T_INT(ytree_item(allow, 1)->col, 16);
	T_OK(ytree_item(allow, 3) == NULL);
	T_OK(!ytree_is_null(ytree_item(allow, 2))); /* 'null' quoted is a string */
	T_OK(ytree_is_null(ytree_get(root, "empty")));
	T_OK(ytree_is_null(ytree_get(root, "tilde")));
	T_OK(ytree_get(root, "missing") == NULL);
	T_OK(ytree_get(allow, "a") == NULL); /* not a map */
	T_OK(strcmp(ytree_key(root, 1)->str, "peers") == 0);
	T_OK(ytree_value(root, 1) == peers);
	T_OK(ytree_key(root, 4) == NULL);
	T_OK(strcmp(ytree_name(t), "mem.yaml") == 0);
	ytree_free(t);
	ytree_free(NULL);
}

static void
test_json(void)
{
	const char *doc = "{\n  \"a\": [1, \"x\\u0041\", null, true],\n  \"b\": {}\n}\n";
	const ytree_node *a;
	ytree *t;

	t_set_ctx("json");
	if ((t = load(doc, 0, NULL)) == NULL)
		return;
	a = ytree_get(ytree_root(t), "a");
	T_INT((long long)ytree_count(a), 4);
	T_OK(strcmp(ytree_item(a, 1)->str, "xA") == 0);
	T_OK(ytree_is_null(ytree_item(a, 2)));
	T_OK(!ytree_item(a, 0)->quoted && strcmp(ytree_item(a, 0)->str, "1") == 0);
	T_INT(ytree_get(ytree_root(t), "b")->kind, YTREE_MAP);
	ytree_free(t);

	/* An empty document is an empty mapping. */
	t_set_ctx("empty");
	if ((t = load("", 0, NULL)) == NULL)
		return;
	T_INT(ytree_root(t)->kind, YTREE_MAP);
	T_INT((long long)ytree_count(ytree_root(t)), 0);
	ytree_free(t);
}

static void
test_refusals(void)
{
	char deep[4 * (YTREE_MAX_DEPTH + 2) + 8];
	size_t i;

	t_set_ctx("duplicate key");
	load("a: 1\nb: 2\na: 3\n", STP_EPARSE, "mem.yaml:3:1: a: duplicate key (first at line 1)");
	t_set_ctx("duplicate nested key");
	load("p:\n  x: 1\n  y: 2\n  x: 3\n", STP_EPARSE, "mem.yaml:4:3: x: duplicate key");
	t_set_ctx("alias");
	load("a: &x 1\nb: *x\n", STP_EPARSE, "mem.yaml:1:4: anchors are not supported");
	t_set_ctx("alias only");
	load("a: [1]\nb: *x\n", STP_EPARSE, NULL);
	t_set_ctx("two documents");
	load("a: 1\n---\nb: 2\n", STP_EPARSE, "mem.yaml:2:1: only one document");
	t_set_ctx("syntax error");
	load("a: [1, 2\n", STP_EPARSE, "mem.yaml:");
	t_set_ctx("complex key");
	load("? [a, b]\n: 1\n", STP_EPARSE, "mapping keys must be plain scalars");
	t_set_ctx("bad indentation");
	load("a:\n  b: 1\n c: 2\n", STP_EPARSE, "mem.yaml:3:");

	t_set_ctx("depth limit");
	for (i = 0; i < YTREE_MAX_DEPTH + 1; i++)
		deep[i] = '[';
	for (i = 0; i < YTREE_MAX_DEPTH + 1; i++)
		deep[YTREE_MAX_DEPTH + 1 + i] = ']';
	deep[2 * (YTREE_MAX_DEPTH + 1)] = '\0';
	load(deep, STP_EPARSE, "nested deeper than 64 levels");
	deep[0] = ' '; /* now exactly YTREE_MAX_DEPTH levels: allowed */
	deep[2 * YTREE_MAX_DEPTH + 1] = ' ';
	ytree_free(load(deep, 0, NULL));
}

static void
test_files(void)
{
	char dir[] = "/tmp/test_ytree.XXXXXX", path[64], err[256];
	ytree *t = NULL;
	FILE *f;

	t_set_ctx("files");
	if (!T_OK(mkdtemp(dir) != NULL))
		return;
	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	f = fopen(path, "w");
	fputs("listen: 127.0.0.1:7400\n", f);
	fclose(f);
	T_INT(ytree_load_file(path, 1024, &t, err, sizeof(err)), 0);
	T_OK(t != NULL && strcmp(ytree_get_str(ytree_root(t), "listen"),
	    "127.0.0.1:7400") == 0);
	ytree_free(t);
	t = NULL;

	T_INT(ytree_load_file(path, 10, &t, err, sizeof(err)), STP_ETOOBIG);
	T_OK(strstr(err, "over the limit of 10") != NULL && strstr(err, path) == err);
	T_INT(ytree_load_file(dir, 1024, &t, err, sizeof(err)), STP_EIO);
	T_OK(strstr(err, "not a regular file") != NULL);
	unlink(path);
	T_INT(ytree_load_file(path, 1024, &t, err, sizeof(err)), STP_EIO);
	T_OK(strstr(err, "No such file") != NULL);
	T_OK(t == NULL);
	/* A FIFO where the file was is refused at once, not waited on. */
	if (T_INT(mkfifo(path, 0600), 0)) {
		T_INT(ytree_load_file(path, 1024, &t, err, sizeof(err)), STP_EIO);
		T_OK(strstr(err, "not a regular file") != NULL);
		unlink(path);
	}
	/* A file much bigger than the first read buffer is read whole. */
	f = fopen(path, "w");
	fputs("a: [", f);
	for (int i = 0; i < 20000; i++)
		fputs("1, ", f);
	fputs("2]\n", f);
	fclose(f);
	T_INT(ytree_load_file(path, 1 << 20, &t, err, sizeof(err)), 0);
	T_OK(t != NULL && ytree_count(ytree_get(ytree_root(t), "a")) == 20001);
	ytree_free(t);
	t = NULL;
	unlink(path);
	rmdir(dir);
}

/* Every node of a tree in file f, however deep; 0 means none differs. */
static int
all_in(const ytree_node *n, unsigned f)
{
	size_t i;

	if (n->file != f)
		return 1;
	for (i = 0; i < n->n; i++)
		if (all_in(n->kids[i], f) != 0)
			return 1;
	return 0;
}

/* ytree_set_file: the file number a loader that merges trees gives each. */
static void
test_set_file(void)
{
	const char *doc = "peers:\n  bob: {key: x, allow: [a, [b, {c: d}]]}\n"
	    "forwards:\n  - {listen: 127.0.0.1:1}\n";
	ytree *t;

	t_set_ctx("set_file");
	if ((t = load(doc, 0, NULL)) == NULL)
		return;
	/* Loading leaves it 0: one file, or the first of several. */
	T_INT(all_in(ytree_root(t), 0), 0);
	ytree_set_file(t, 7);
	T_INT(all_in(ytree_root(t), 7), 0);
	T_INT(ytree_item(ytree_get(ytree_root(t), "forwards"), 0)->file, 7);
	T_INT(ytree_root(t)->line, 1);     /* positions untouched */
	ytree_set_file(t, 0);
	T_INT(all_in(ytree_root(t), 0), 0);
	ytree_free(t);
	/* An empty document's root is shared: it is left alone. */
	if ((t = load("# nothing\n", 0, NULL)) != NULL) {
		ytree_set_file(t, 3);
		T_INT(ytree_root(t)->file, 0);
		T_INT(ytree_root(t)->line, 0);
		ytree_free(t);
	}
	ytree_set_file(NULL, 1);
}

int
main(void)
{
	test_shapes();
	t_section("shapes");
	test_json();
	t_section("json");
	test_refusals();
	t_section("refusals");
	test_files();
	t_section("files");
	test_set_file();
	t_section("set_file");
	return t_done();
}

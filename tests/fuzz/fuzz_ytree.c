/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_ytree.c: ytree_load_buf (gateway/config/ytree.h), the YAML reader under
 * the config loader, on arbitrary bytes, and a walk over what it built.
 *
 * Invariants: success gives a tree whose root is a node; no deeper than
 * YTREE_MAX_DEPTH; every scalar is NUL-terminated at its length and has no
 * kids; every mapping has an even number of kids, all keys scalars, no key
 * twice, each found again by ytree_get; positions are 1-based.  Failure
 * leaves no tree, and a parse error says "name:" first.
 */
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "ytree.h"

#define NAME "fuzz.yaml"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static size_t
walk(const ytree_node *n, size_t depth)
{
	size_t i, j, count = 1;

	FUZZ_ASSERT(n != NULL);
	FUZZ_ASSERT(depth <= YTREE_MAX_DEPTH + 1);
	FUZZ_ASSERT(n->line >= 1 && n->col >= 1);
	FUZZ_ASSERT(n->str != NULL);
	switch (n->kind) {
	case YTREE_SCALAR:
		FUZZ_ASSERT(n->n == 0);
		FUZZ_ASSERT(n->str[n->len] == '\0');
		FUZZ_ASSERT(ytree_count(n) == 0);
		FUZZ_ASSERT(ytree_get(n, "x") == NULL);
		FUZZ_ASSERT(ytree_item(n, 0) == NULL);
		(void)ytree_is_null(n);
		break;
	case YTREE_SEQ:
		FUZZ_ASSERT(n->str[0] == '\0');
		FUZZ_ASSERT(ytree_count(n) == n->n);
		FUZZ_ASSERT(ytree_item(n, n->n) == NULL);
		for (i = 0; i < n->n; i++) {
			FUZZ_ASSERT(ytree_item(n, i) == n->kids[i]);
			count += walk(n->kids[i], depth + 1);
		}
		break;
	case YTREE_MAP:
		FUZZ_ASSERT(n->str[0] == '\0');
		FUZZ_ASSERT(n->n % 2 == 0);
		FUZZ_ASSERT(ytree_count(n) == n->n / 2);
		FUZZ_ASSERT(ytree_key(n, n->n / 2) == NULL);
		for (i = 0; i < n->n / 2; i++) {
			const ytree_node *k = ytree_key(n, i);
			const ytree_node *v = ytree_value(n, i);

			FUZZ_ASSERT(k == n->kids[2 * i] && v == n->kids[2 * i + 1]);
			FUZZ_ASSERT(k->kind == YTREE_SCALAR);
			/* Duplicate keys are refused at load. */
			for (j = 0; j < i; j++)
				FUZZ_ASSERT(ytree_key(n, j)->len != k->len ||
				    memcmp(ytree_key(n, j)->str, k->str,
				    k->len) != 0);
			/* ytree_get finds a key without NUL bytes again. */
			if (strlen(k->str) == k->len)
				FUZZ_ASSERT(ytree_get(n, k->str) == v);
			if (v->kind == YTREE_SCALAR && strlen(k->str) == k->len)
				FUZZ_ASSERT(ytree_get_str(n, k->str) == v->str);
			count += walk(k, depth + 1);
			count += walk(v, depth + 1);
		}
		break;
	default:
		FUZZ_ASSERT(!"unknown node kind");
	}
	return count;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ytree *t = (ytree *)1;
	char err[512];
	int rc;

	err[0] = '\0';
	rc = ytree_load_buf(NAME, data, size, &t, err, sizeof(err));
	if (rc != 0) {
		FUZZ_ASSERT(rc < 0);
		FUZZ_ASSERT(t == (ytree *)1);
		if (rc == STP_EPARSE)
			FUZZ_ASSERT(strncmp(err, NAME ":", strlen(NAME) + 1) == 0);
		FUZZ_ASSERT(strlen(err) < sizeof(err));
		return 0;
	}
	FUZZ_ASSERT(t != NULL && t != (ytree *)1);
	FUZZ_ASSERT(strcmp(ytree_name(t), NAME) == 0);
	if (ytree_root(t)->line != 0)
		(void)walk(ytree_root(t), 1);
	ytree_free(t);
	return 0;
}

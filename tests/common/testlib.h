/* SPDX-License-Identifier: Apache-2.0 */
/*
 * testlib.h: what every test program shares: typed checks that print both
 * sides, a pass/fail tally, hex decoding and vector-file loading.
 *
 * A check that fails prints "file:line: what: got X, want Y" and counts one
 * failure; the program goes on so that one run shows every broken case.
 * t_done() prints the closing "N passed, N failed" line and gives the exit
 * status.
 */
#ifndef STP_TESTLIB_H
#define STP_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "ytree.h"

extern unsigned long t_passed, t_failed;

/* Count one case: ok != 0 passes.  Prints ctx and the message when it fails. */
int t_check(int ok, const char *file, int line, const char *ctx,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int t_check_mem(const char *file, int line, const char *ctx,
    const void *got, size_t got_len, const void *want, size_t want_len);
int t_check_int(const char *file, int line, const char *ctx, long long got,
    long long want);

/* Per-case context prefix for messages, e.g. "x25519_test.json tcId 17". */
extern char t_ctx[256];
void t_set_ctx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define T_OK(cond) t_check(!!(cond), __FILE__, __LINE__, t_ctx, "%s", #cond)
#define T_MEM(got, glen, want, wlen) \
	t_check_mem(__FILE__, __LINE__, t_ctx, (got), (glen), (want), (wlen))
#define T_INT(got, want) t_check_int(__FILE__, __LINE__, t_ctx, (got), (want))

/* Print "<label>: N passed, N failed" for the counts since the last call. */
void t_section(const char *label);
/* Print the closing "N passed, N failed" line; returns the exit status. */
int t_done(void);

/*
 * Decode hex (either case, even length) into a new buffer; *len gets its
 * length.  Returns NULL only for malformed hex (counted as a failure); an
 * empty string gives a valid 1-byte allocation with *len 0.  Free with free().
 */
uint8_t *t_unhex(const char *hex, size_t *len);
/* Decode a scalar node's hex; a missing node counts as a failure. */
uint8_t *t_unhex_node(const ytree_node *n, size_t *len);
/* Lowercase hex of buf, in a static ring of buffers (for messages). */
const char *t_hex(const void *buf, size_t len);

/*
 * A fixed, seedless 64-bit mixer (splitmix64's finalizer) for the tests'
 * deterministic data, shuffles and choices.
 */
uint64_t t_mix64(uint64_t x);

/* 1 when all n bytes at p are zero (a wipe's check). */
int t_all_zero(const void *p, size_t n);

/* Load STP_VECTOR_DIR/relpath; aborts the program with a message if it cannot. */
ytree *t_load_vectors(const char *relpath);
/* Full path of a vector file, in a static buffer. */
const char *t_vector_path(const char *relpath);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
#include "testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef STP_VECTOR_DIR
#error "STP_VECTOR_DIR must point at tests/vectors"
#endif

unsigned long t_passed, t_failed;
char t_ctx[256];
static unsigned long sec_passed, sec_failed;

void
t_set_ctx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t_ctx, sizeof(t_ctx), fmt, ap);
	va_end(ap);
}

int
t_check(int ok, const char *file, int line, const char *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		t_passed++;
		return 1;
	}
	t_failed++;
	fprintf(stderr, "FAIL %s:%d: %s%s", file, line, ctx, ctx[0] ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 0;
}

int
t_check_mem(const char *file, int line, const char *ctx, const void *got,
    size_t got_len, const void *want, size_t want_len)
{
	int ok = got_len == want_len &&
	    (want_len == 0 || memcmp(got, want, want_len) == 0);

	if (ok)
		return t_check(1, file, line, ctx, "%s", "");
	return t_check(0, file, line, ctx, "bytes differ:\n  got  (%zu) %s\n  want (%zu) %s",
	    got_len, t_hex(got, got_len > 256 ? 256 : got_len), want_len,
	    t_hex(want, want_len > 256 ? 256 : want_len));
}

int
t_check_int(const char *file, int line, const char *ctx, long long got,
    long long want)
{
	return t_check(got == want, file, line, ctx, "got %lld, want %lld", got, want);
}

void
t_section(const char *label)
{
	printf("%s: %lu passed, %lu failed\n", label, t_passed - sec_passed,
	    t_failed - sec_failed);
	fflush(stdout);
	sec_passed = t_passed;
	sec_failed = t_failed;
}

int
t_done(void)
{
	printf("%lu passed, %lu failed\n", t_passed, t_failed);
	fflush(stdout);
	return t_failed == 0 && t_passed > 0 ? 0 : 1;
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *
t_unhex(const char *hex, size_t *len)
{
	size_t i, n = strlen(hex);
	uint8_t *out;

	if (n % 2 != 0)
		goto bad;
	if ((out = malloc(n / 2 + 1)) == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	for (i = 0; i < n / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(out);
			goto bad;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
bad:
	t_check(0, __FILE__, __LINE__, t_ctx, "malformed hex \"%.40s\"", hex);
	return NULL;
}

uint8_t *
t_unhex_node(const ytree_node *n, size_t *len)
{
	if (n == NULL || n->kind != YTREE_SCALAR) {
		t_check(0, __FILE__, __LINE__, t_ctx, "missing hex field");
		return NULL;
	}
	return t_unhex(n->str, len);
}

uint64_t
t_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

const char *
t_hex(const void *buf, size_t len)
{
	static char ring[4][1024];
	static unsigned k;
	char *o = ring[k++ % 4];
	const uint8_t *p = buf;
	size_t i;

	if (len > (sizeof(ring[0]) - 4) / 2)
		len = (sizeof(ring[0]) - 4) / 2;
	for (i = 0; i < len; i++)
		snprintf(o + 2 * i, 3, "%02x", p[i]);
	o[2 * len] = '\0';
	return o;
}

const char *
t_vector_path(const char *relpath)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", STP_VECTOR_DIR, relpath);
	return path;
}

ytree *
t_load_vectors(const char *relpath)
{
	char err[512];
	ytree *t = NULL;

	if (ytree_load_file(t_vector_path(relpath), 64u << 20, &t, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "cannot load vectors: %s\n", err);
		exit(2);
	}
	return t;
}

int
t_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vectors_common.c: see vectors_common.h.
 */
#include "vectors_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "err.h"
#include "frame.h"
#include "handshake.h"
#include "keysched.h"
#include "testlib.h"

/* ---- name = hex values ---- */

struct kv {
	char name[48];
	uint8_t *v;
	size_t len;
};

static struct kv got[160];
static size_t ngot;

void
put(const char *name, const void *v, size_t len)
{
	struct kv *k;
	size_t i;

	for (i = 0; i < ngot; i++)
		if (strcmp(got[i].name, name) == 0) {
			t_check(0, __FILE__, __LINE__, name, "value set twice");
			return;
		}
	if (!T_OK(ngot < sizeof(got) / sizeof(got[0])) ||
	    !T_OK(strlen(name) < sizeof(got[0].name)))
		return;
	k = &got[ngot++];
	snprintf(k->name, sizeof(k->name), "%s", name);
	if ((k->v = malloc(len + 1)) == NULL)
		exit(2);
	if (len > 0)
		memcpy(k->v, v, len);
	k->len = len;
}

void
put_be(const char *name, uint64_t x, size_t n)
{
	uint8_t b[8];
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(x >> (8 * (n - 1 - i)));
	put(name, b, n);
}

size_t
vec_count(void)
{
	return ngot;
}

static void
write_file(const char *path, const char *header)
{
	FILE *f = fopen(path, "w");
	size_t i, j;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fputs(header, f);
	for (i = 0; i < ngot; i++) {
		fprintf(f, "%s = ", got[i].name);
		for (j = 0; j < got[i].len; j++)
			fprintf(f, "%02x", got[i].v[j]);
		fprintf(f, "\n");
	}
	if (fclose(f) != 0) {
		perror(path);
		exit(2);
	}
	printf("wrote %zu values to %s\n", ngot, path);
}

/* One line of a vector file: 1 and name/hex set, 0 for a comment or blank. */
static int
parse_line(char *line, char **name, char **hex)
{
	size_t n = strlen(line);
	char *eq, *end;

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0 || line[0] == '#')
		return 0;
	if ((eq = strstr(line, " = ")) == NULL)
		return -1;
	*eq = '\0';
	*name = line;
	*hex = eq + 3;
	for (end = *hex + strlen(*hex); end > *hex && end[-1] == ' '; end--)
		end[-1] = '\0';
	return 1;
}

static char line[1 << 17];

static void
compare_file(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t i, n, seen = 0, lines = 0;
	int *found = calloc(ngot + 1, sizeof(int));

	if (f == NULL || found == NULL) {
		t_check(0, __FILE__, __LINE__, path, "cannot open the vector file");
		free(found);
		if (f != NULL)
			fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *name = NULL, *hex = NULL;
		uint8_t *want;
		int rc;

		lines++;
		t_set_ctx("%s line %zu", path, lines);
		if ((rc = parse_line(line, &name, &hex)) == 0 || !T_OK(rc == 1))
			continue;
		for (i = 0; i < ngot; i++)
			if (strcmp(got[i].name, name) == 0)
				break;
		t_set_ctx("vector %s", name);
		if (!T_OK(i < ngot)) {
			fprintf(stderr, "  %s is in the file but not computed\n", name);
			continue;
		}
		if (!T_OK(!found[i]))
			continue;
		found[i] = 1;
		seen++;
		if ((want = t_unhex(hex, &n)) != NULL)
			T_MEM(got[i].v, got[i].len, want, n);
		free(want);
	}
	fclose(f);
	t_set_ctx("vector file");
	for (i = 0; i < ngot; i++)
		if (!found[i]) {
			t_check(0, __FILE__, __LINE__, got[i].name,
			    "computed but missing from the file");
		}
	T_INT(seen, ngot);
	free(found);
}

uint8_t *
vec_file_value(const char *path, const char *want, size_t *len)
{
	FILE *f = fopen(path, "r");
	uint8_t *v = NULL;

	*len = 0;
	if (f == NULL) {
		t_check(0, __FILE__, __LINE__, path, "cannot open the vector file");
		return NULL;
	}
	while (v == NULL && fgets(line, sizeof(line), f) != NULL) {
		char *name = NULL, *hex = NULL;

		if (parse_line(line, &name, &hex) == 1 && strcmp(name, want) == 0)
			v = t_unhex(hex, len);
	}
	fclose(f);
	if (v == NULL)
		t_check(0, __FILE__, __LINE__, path, "no value named %s", want);
	return v;
}

sign_key *id_i, *id_r;
uint8_t pk_i[32], pk_r[32], seed_i[32], seed_r[32];
const uint32_t flags_i = 0, flags_r = AUTH_FLAG_SIGN_RECORDS;

int
vec_main(int argc, char **argv, void (*run)(const char *file),
    size_t n_values, const char *header)
{
	const char *path;
	int write;
	size_t i;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--write") != 0)) {
		fprintf(stderr, "usage: %s <vector file> [--write]\n", argv[0]);
		return 2;
	}
	path = argv[1];
	write = argc == 3;
	memset(seed_i, 0x01, 32);
	memset(seed_r, 0x02, 32);
	if (sign_key_from_seed(&id_i, seed_i) != 0 || sign_key_from_seed(&id_r, seed_r) != 0)
		return 2;
	sign_key_public(id_i, pk_i);
	sign_key_public(id_r, pk_r);

	run(path);
	t_set_ctx("values");
	T_INT(ngot, n_values);
	t_section("recomputed from the spec");
	if (write) {
		if (t_failed != 0) {
			fprintf(stderr, "not writing %s: the run itself failed\n", path);
			return 1;
		}
		write_file(path, header);
	} else {
		compare_file(path);
		t_section(path);
	}
	for (i = 0; i < ngot; i++)
		free(got[i].v);
	sign_key_free(id_i);
	sign_key_free(id_r);
	return t_done();
}

/* ---- the key schedule, written out from the spec ---- */

void
expand(uint8_t *out, size_t len, const uint8_t *prk, size_t prk_len,
    const uint8_t *info, size_t info_len)
{
	uint8_t t[64], in[64 + 256 + 1];
	size_t tl = 0, done = 0, n;
	uint8_t ctr = 1;

	if (info_len > 256)
		abort();
	while (done < len) {
		memcpy(in, t, tl);
		memcpy(in + tl, info, info_len);
		in[tl + info_len] = ctr++;
		hash_hmac_sha512(t, prk, prk_len, in, tl + info_len + 1);
		tl = 64;
		n = len - done < 64 ? len - done : 64;
		memcpy(out + done, t, n);
		done += n;
	}
}

void
derive(uint8_t *out, size_t len, const uint8_t *secret, size_t slen,
    const char *label, const uint8_t *ctx, size_t ctx_len)
{
	uint8_t info[256];
	size_t n = 0, ll = strlen(label);

	memcpy(info, "stp1 ", 5);
	n = 5;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0x00;
	if (ctx_len > 0)
		memcpy(info + n, ctx, ctx_len);
	n += ctx_len;
	expand(out, len, secret, slen, info, n);

	/* And keysched.c must agree. */
	{
		uint8_t ks[128];

		if (T_INT(ks_derive(ks, len, secret, slen, label, ctx, ctx_len), 0))
			T_MEM(ks, len, out, len);
	}
}

int
open_frame(const uint8_t *f, size_t flen, const uint8_t key[32],
    const uint8_t prefix[16], uint64_t seq, uint8_t *pt, size_t *pt_len)
{
	uint8_t nonce[24];
	aead_ctx *c = aead_ctx_new();
	int i, rc;

	memcpy(nonce, prefix, 16);
	for (i = 0; i < 8; i++)
		nonce[16 + i] = (uint8_t)(seq >> (56 - 8 * i));
	if (c == NULL || flen < FRAME_HDR_LEN + AEAD_TAG_LEN)
		rc = STP_EINVAL;
	else
		rc = aead_xchacha_open(c, key, nonce, sizeof(nonce), f, FRAME_HDR_LEN,
		    f + FRAME_HDR_LEN, flen - FRAME_HDR_LEN, pt);
	aead_ctx_free(c);
	if (rc == 0)
		*pt_len = flen - FRAME_HDR_LEN - AEAD_TAG_LEN;
	return rc;
}

/* ---- frames and the wire ---- */

void
split(struct frames *fr, const uint8_t *p, size_t len)
{
	uint8_t type;
	size_t off = 0, blen;

	while (off < len) {
		if (!T_OK(fr->n < VEC_MAX_FRAMES) ||
		    !T_OK(len - off >= FRAME_HDR_LEN &&
		    frame_get_header(p + off, &type, &blen) == 0 &&
		    len - off - FRAME_HDR_LEN >= blen && FRAME_HDR_LEN + blen <= FMAX))
			return;
		memcpy(fr->f[fr->n], p + off, FRAME_HDR_LEN + blen);
		fr->len[fr->n++] = FRAME_HDR_LEN + blen;
		off += FRAME_HDR_LEN + blen;
	}
}

void
wire_add(struct wire *w, const void *p, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2;
		if ((w->b = realloc(w->b, w->cap)) == NULL)
			exit(2);
	}
	memcpy(w->b + w->len, p, n);
	w->len += n;
}

void
ep_pump(endpoint *e[2], struct wire log[2], uint64_t now, int delivered[2],
    int r_pings)
{
	struct iovec iov[16];
	ep_event ev;
	size_t cnt, k, total, i;
	int moved;

	do {
		moved = 0;
		for (k = 0; k < 2; k++) {
			while ((cnt = endpoint_output(e[k], iov, 16)) > 0) {
				total = 0;
				for (i = 0; i < cnt; i++) {
					size_t start = log[k].len;

					wire_add(&log[k], iov[i].iov_base, iov[i].iov_len);
					T_INT(endpoint_input(e[1 - k], log[k].b + start,
					    iov[i].iov_len, now), 0);
					total += iov[i].iov_len;
				}
				endpoint_output_done(e[k], total);
				moved = 1;
			}
			while (endpoint_poll(e[k], &ev)) {
				moved = 1;
				if (ev.type == EP_RECORD)
					delivered[k]++;
				if (ev.type == EP_ESTABLISHED && k == 1 && r_pings)
					T_INT(endpoint_ping(e[1], now), 0);
			}
		}
	} while (moved);
}

void
vec_pump(endpoint *e[2], struct wire *log_i, uint64_t now, int err[2],
    void (*on)(void *cookie, int k, const ep_event *ev), void *cookie)
{
	struct iovec iov[16];
	ep_event ev;
	size_t cnt, i, total;
	int k, moved, rc;

	do {
		moved = 0;
		for (k = 0; k < 2; k++) {
			while ((cnt = endpoint_output(e[k], iov, 16)) > 0) {
				total = 0;
				for (i = 0; i < cnt; i++) {
					if (log_i != NULL && k == 0)
						wire_add(log_i, iov[i].iov_base,
						    iov[i].iov_len);
					rc = endpoint_input(e[1 - k],
					    iov[i].iov_base, iov[i].iov_len, now);
					if (rc != 0 && err[1 - k] == 0)
						err[1 - k] = rc;
					total += iov[i].iov_len;
				}
				endpoint_output_done(e[k], total);
				moved = 1;
			}
			while (endpoint_poll(e[k], &ev)) {
				moved = 1;
				if (on != NULL)
					on(cookie, k, &ev);
			}
		}
	} while (moved);
}

/* ---- the fixed parties ---- */

uint64_t
vec_clock(void *arg)
{
	(void)arg;
	return NOW_MS / 1000;
}

void
vec_configs(endpoint_config *ci, endpoint_config *cr, uint32_t fl_i,
    uint32_t fl_r, uint32_t features_i, uint32_t features_r)
{
	memset(ci, 0, sizeof(*ci));
	ci->hs.initiator = 1;
	ci->hs.identity = id_i;
	memcpy(ci->hs.peer_pub, pk_r, 32);
	ci->hs.flags = fl_i;
	ci->hs.features = features_i;
	ci->hs.unix_now = vec_clock;
	ci->inline_crypto = 1;
	*cr = *ci;
	cr->hs.initiator = 0;
	cr->hs.identity = id_r;
	memset(cr->hs.peer_pub, 0, 32);
	cr->hs.flags = fl_r;
	cr->hs.features = features_r;
	cr->lookup = lookup_i;
}

int
vec_pair(endpoint *e[2], uint32_t features_i, uint32_t features_r,
    uint64_t now)
{
	endpoint_config ci, cr;

	vec_configs(&ci, &cr, 0, 0, features_i, features_r);
	e[0] = endpoint_new(&ci, now);
	e[1] = endpoint_new(&cr, now);
	if (!T_OK(e[0] != NULL && e[1] != NULL) ||
	    !T_INT(endpoint_start(e[0], now), 0))
		return -1;
	return 0;
}

int
lookup_i(void *cookie, const uint8_t pk[32])
{
	(void)cookie;
	return memcmp(pk, pk_i, 32) == 0 ? 0 : STP_EPEER;
}

void
be32(uint8_t b[4], uint32_t x)
{
	b[0] = (uint8_t)(x >> 24);
	b[1] = (uint8_t)(x >> 16);
	b[2] = (uint8_t)(x >> 8);
	b[3] = (uint8_t)x;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_identity.c: base64url, public key text, fingerprints, identity files,
 * access secret text and files (secret.h), and the fingerprint word list.
 *
 * The expected key text, seed line and fingerprint for the RFC 8032 test-1
 * key, and the secret text of the bytes 0x00..0x1f, were computed
 * independently of this code (Python hashlib + base64) from the formats in
 * identity.h and secret.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64url.h"
#include "crypto/rand.h"
#include "crypto/sign.h"
#include "err.h"
#include "identity.h"
#include "secret.h"
#include "testlib.h"
#include "wordlist.h"

/* RFC 8032 section 7.1, TEST 1. */
static const char rfc_seed_hex[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc_pub_hex[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc_pubtext[] =
    "stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr8";
static const char rfc_seedline[] =
    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
static const char rfc_fp[] =
    "wizard-beaver-farmer-whistle-iceberg-hunter-candle-vanilla";

/* secret.h's text of the 32 bytes 0x00, 0x01, ..., 0x1f. */
static const char seq_secrettext[] =
    "stps1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9hB";

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char tmpdir[64];

/* ---- helpers ---- */

static const char *
tpath(const char *name)
{
	static char buf[4][256];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return p;
}

static int
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return -1;
	if (write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) == -1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Read a whole (small) file into buf; returns its length or -1. */
static long
read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (long)n;
}

static int
count_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static sign_key *
key_from_hex(const char *hex)
{
	uint8_t *seed;
	sign_key *k = NULL;
	size_t len;

	seed = t_unhex(hex, &len);
	if (seed == NULL || len != SIGN_SEED_LEN ||
	    sign_key_from_seed(&k, seed) != 0)
		k = NULL;
	free(seed);
	return k;
}

/* ---- base64url ---- */

static void
test_b64_vectors(void)
{
	/* RFC 4648 section 10, without the padding we never write. */
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	char out[16];
	uint8_t back[16];
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t_set_ctx("b64 vector '%s'", v[i].in);
		n = strlen(v[i].in);
		T_INT(BASE64URL_LEN(n), (long long)strlen(v[i].out));
		T_INT(base64url_encode(out, sizeof(out), v[i].in, n), 0);
		T_OK(strcmp(out, v[i].out) == 0);
		T_INT(base64url_decode(back, n, v[i].out, strlen(v[i].out)), 0);
		T_MEM(back, n, v[i].in, n);
	}
	t_set_ctx("%s", "");
}

static void
test_b64_alphabet(void)
{
	uint8_t in[48], back[48];
	char out[65];
	size_t i;

	/* 48 bytes that spell the 6-bit values 0, 1, ..., 63 in order. */
	for (i = 0; i < 16; i++) {
		uint32_t w = (uint32_t)(4 * i) << 18 |
		    (uint32_t)(4 * i + 1) << 12 | (uint32_t)(4 * i + 2) << 6 |
		    (uint32_t)(4 * i + 3);
		in[3 * i] = (uint8_t)(w >> 16);
		in[3 * i + 1] = (uint8_t)(w >> 8);
		in[3 * i + 2] = (uint8_t)w;
	}
	T_INT(base64url_encode(out, sizeof(out), in, sizeof(in)), 0);
	T_OK(strcmp(out, alphabet) == 0);
	T_INT(base64url_decode(back, sizeof(back), alphabet, 64), 0);
	T_MEM(back, sizeof(back), in, sizeof(in));
	T_INT(base64url_span(alphabet, 64), 64);

	/* Every byte outside the alphabet is refused, alone and in context. */
	for (i = 0; i < 256; i++) {
		char s[4] = { 'A', 'A', 'A', 'A' };
		int in_alpha = i != 0 && strchr(alphabet, (int)i) != NULL;

		s[2] = (char)i;
		t_set_ctx("byte 0x%02zx", i);
		T_INT(base64url_decode(back, 3, s, 4),
		    in_alpha ? 0 : STP_EPARSE);
		T_INT(base64url_span(s, 4), in_alpha ? 4 : 2);
	}
	t_set_ctx("%s", "");
}

static void
test_b64_roundtrip(void)
{
	uint8_t in[70], back[70];
	char out[BASE64URL_LEN(70) + 1];
	size_t len, i;
	int ok = 1;

	for (len = 0; len <= sizeof(in); len++) {
		for (i = 0; i < len; i++)
			in[i] = (uint8_t)(i * 37 + len * 11 + 0xa5);
		if (base64url_encode(out, sizeof(out), in, len) != 0 ||
		    strlen(out) != BASE64URL_LEN(len) ||
		    base64url_decode(back, len, out, strlen(out)) != 0 ||
		    (len > 0 && memcmp(back, in, len) != 0))
			ok = 0;
	}
	t_set_ctx("round trips of lengths 0..70");
	T_OK(ok);
	/* All-ones bytes exercise '-' and '_'. */
	memset(in, 0xff, 3);
	T_INT(base64url_encode(out, sizeof(out), in, 3), 0);
	T_OK(strcmp(out, "____") == 0);
	in[0] = 0xfb;
	T_INT(base64url_encode(out, sizeof(out), in, 2), 0);
	T_OK(strcmp(out, "-_8") == 0);
	t_set_ctx("%s", "");
}

static void
test_b64_reject(void)
{
	uint8_t out[8], keep[8];
	char small[4];

	memset(out, 0x5a, sizeof(out));
	memcpy(keep, out, sizeof(out));

	/* Lengths that do not match the requested output. */
	T_INT(base64url_decode(out, 3, "Zm9", 3), STP_EINVAL);
	T_INT(base64url_decode(out, 3, "Zm9vY", 5), STP_EINVAL);
	T_INT(base64url_decode(out, 1, "Z", 1), STP_EINVAL);
	/* Padding, standard-alphabet characters, blanks. */
	T_INT(base64url_decode(out, 1, "Zg==", 4), STP_EINVAL);
	T_INT(base64url_decode(out, 3, "Zg==", 4), STP_EPARSE);
	T_INT(base64url_decode(out, 3, "Zm9=", 4), STP_EPARSE);
	T_INT(base64url_decode(out, 3, "a+b/", 4), STP_EPARSE);
	T_INT(base64url_decode(out, 3, "Zm9 ", 4), STP_EPARSE);
	T_INT(base64url_decode(out, 3, "Zm\0v", 4), STP_EPARSE);
	/* Non-zero unused bits: "Zg" is 'f', as "Zh".."Zv" would be. */
	T_INT(base64url_decode(out, 1, "Zh", 2), STP_EPARSE);
	T_INT(base64url_decode(out, 1, "Zv", 2), STP_EPARSE);
	T_INT(base64url_decode(out, 1, "Zw", 2), 0);
	T_INT(out[0], 'g');
	memcpy(out, keep, sizeof(out));
	T_INT(base64url_decode(out, 2, "Zm8", 3), 0);
	T_MEM(out, 2, "fo", 2);
	memcpy(out, keep, sizeof(out));
	T_INT(base64url_decode(out, 2, "Zm9", 3), STP_EPARSE);
	T_INT(base64url_decode(out, 2, "Zm-", 3), STP_EPARSE);
	T_INT(base64url_decode(out, 2, "Zm_", 3), STP_EPARSE);
	/* Untouched on failure. */
	T_MEM(out, sizeof(out), keep, sizeof(keep));
	/* Encoding into a buffer without room for the NUL. */
	memset(small, 'x', sizeof(small));
	T_INT(base64url_encode(small, 4, "foo", 3), STP_EINVAL);
	T_INT(small[0], 'x');
	T_INT(base64url_encode(small, 4, "fo", 2), 0);
	T_OK(strcmp(small, "Zm8") == 0);
}

/* base64url_reason: the first character at fault, numbered after a base. */
static void
test_b64_reason(void)
{
	char buf[80];

	t_set_ctx("base64url_reason");
	T_OK(base64url_reason("Zm9v", 4, 0, buf, sizeof(buf)) == NULL);
	T_OK(base64url_reason("", 0, 5, buf, sizeof(buf)) == NULL);
	T_OK(base64url_reason("Zg==", 4, 0, buf, sizeof(buf)) == buf);
	T_OK(strcmp(buf, "padding '=' is not allowed") == 0);
	T_OK(base64url_reason("Zm+v", 4, 0, buf, sizeof(buf)) != NULL);
	T_OK(strcmp(buf, "invalid character '+' at position 3") == 0);
	T_OK(base64url_reason("Zm+v", 4, 5, buf, sizeof(buf)) != NULL);
	T_OK(strcmp(buf, "invalid character '+' at position 8") == 0);
	T_OK(base64url_reason("Z\tm", 3, 0, buf, sizeof(buf)) != NULL);
	T_OK(strcmp(buf, "invalid byte 0x09 at position 2") == 0);
	/* Counted: a NUL inside the length is a character at fault. */
	T_OK(base64url_reason("Zm\0v", 4, 0, buf, sizeof(buf)) != NULL);
	T_OK(strcmp(buf, "invalid byte 0x00 at position 3") == 0);
	t_set_ctx("%s", "");
}

/* ---- public key text ---- */

static void
test_pubtext(void)
{
	uint8_t *pub, got[SIGN_PUB_LEN];
	char text[IDENTITY_PUBTEXT_LEN + 1], err[256];
	size_t len;

	pub = t_unhex(rfc_pub_hex, &len);
	T_INT(identity_pub_encode(pub, text), 0);
	T_OK(strcmp(text, rfc_pubtext) == 0);
	T_INT(strlen(text), IDENTITY_PUBTEXT_LEN);
	T_INT(identity_pub_decode(rfc_pubtext, got, err, sizeof(err)), 0);
	T_MEM(got, sizeof(got), pub, SIGN_PUB_LEN);
	free(pub);
}

/* One rejection: code, a substring of the message, got[] untouched. */
static void
pub_reject(const char *text, int want_rc, const char *want_msg)
{
	uint8_t got[SIGN_PUB_LEN], keep[SIGN_PUB_LEN];
	char err[256] = "";

	memset(got, 0x77, sizeof(got));
	memcpy(keep, got, sizeof(got));
	t_set_ctx("pub_decode '%s'", text);
	T_INT(identity_pub_decode(text, got, err, sizeof(err)), want_rc);
	if (!T_OK(strstr(err, want_msg) != NULL))
		fprintf(stderr, "  message was: %s\n", err);
	T_MEM(got, sizeof(got), keep, sizeof(keep));
	T_OK(strchr(err, '\n') == NULL);
	t_set_ctx("%s", "");
}

static void
test_pubtext_reject(void)
{
	char t[128];
	size_t i, n = strlen(rfc_pubtext);
	int caught = 0;

	pub_reject("", STP_EPARSE, "starts with 'stp1:'");
	pub_reject("stp2:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr8",
	    STP_EPARSE, "starts with 'stp1:'");
	pub_reject("STP1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr8",
	    STP_EPARSE, "starts with 'stp1:'");
	pub_reject("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr8",
	    STP_EPARSE, "starts with 'stp1:'");
	/* Wrong length: truncated, extended, empty. */
	pub_reject("stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr",
	    STP_EPARSE, "wrong length: 47 characters");
	pub_reject("stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr8A",
	    STP_EPARSE, "wrong length: 49 characters");
	pub_reject("stp1:", STP_EPARSE, "wrong length: 0 characters");
	/* Characters outside the alphabet. */
	pub_reject("stp1:11qYAYKxCrfVS+7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr8",
	    STP_EPARSE, "invalid character '+' at position 19");
	pub_reject("stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr8 ",
	    STP_EPARSE, "invalid character ' '");
	pub_reject("stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr8\n",
	    STP_EPARSE, "invalid byte 0x0a");
	/* Padding. */
	pub_reject("stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZD==",
	    STP_EPARSE, "padding '=' is not allowed");
	/* Checksum: one character changed in the key, then in the checksum. */
	pub_reject("stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr9",
	    STP_EKEY, "checksum mismatch: key text mistyped or corrupted");
	pub_reject("stp1:11qYAYKxCrfVS_7TyWQHOg8hcvPapiMlrwIaaPcHURo8ZDr8",
	    STP_EKEY, "checksum mismatch");
	/* Swapping two adjacent characters is a typical typo. */
	pub_reject("stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZrD8",
	    STP_EKEY, "checksum mismatch");

	/* Every single-character substitution after the prefix is caught. */
	for (i = IDENTITY_PUBTEXT_PREFIX_LEN; i < n; i++) {
		const char *c;

		for (c = alphabet; *c != '\0'; c++) {
			uint8_t got[SIGN_PUB_LEN];

			if (*c == rfc_pubtext[i])
				continue;
			memcpy(t, rfc_pubtext, n + 1);
			t[i] = *c;
			if (identity_pub_decode(t, got, NULL, 0) != 0)
				caught++;
		}
	}
	t_set_ctx("single substitutions caught");
	T_INT(caught, (long long)(n - IDENTITY_PUBTEXT_PREFIX_LEN) * 63);
	t_set_ctx("%s", "");
}

/* ---- access secret text and files ---- */

static void
test_secret_text(void)
{
	uint8_t seq[SECRET_LEN], got[SECRET_LEN], a[SECRET_LEN], b[SECRET_LEN];
	char text[SECRET_TEXT_LEN + 1], err[256];
	size_t i;

	t_set_ctx("secret: known text");
	for (i = 0; i < SECRET_LEN; i++)
		seq[i] = (uint8_t)i;
	T_INT(secret_text_encode(seq, text), 0);
	if (!T_OK(strcmp(text, seq_secrettext) == 0))
		fprintf(stderr, "  got %s\n", text);
	T_INT(strlen(text), SECRET_TEXT_LEN);
	T_INT(SECRET_TEXT_LEN, 54);
	memset(got, 0, sizeof(got));
	T_INT(secret_text_decode(seq_secrettext, got, err, sizeof(err)), 0);
	T_MEM(got, sizeof(got), seq, sizeof(seq));
	/* A counted-out NUL ends the text, as for key text. */
	T_INT(secret_text_decode(seq_secrettext, got, NULL, 0), 0);

	t_set_ctx("secret: round trips");
	for (i = 0; i < 64; i++) {
		T_INT(secret_generate(a), 0);
		T_INT(secret_text_encode(a, text), 0);
		T_OK(strncmp(text, SECRET_TEXT_PREFIX,
		    SECRET_TEXT_PREFIX_LEN) == 0);
		T_INT(base64url_span(text + SECRET_TEXT_PREFIX_LEN,
		    strlen(text) - SECRET_TEXT_PREFIX_LEN), SECRET_TEXT_B64_LEN);
		memset(b, 0, sizeof(b));
		T_INT(secret_text_decode(text, b, err, sizeof(err)), 0);
		T_MEM(b, sizeof(b), a, sizeof(a));
	}
	/* Two secrets from the generator differ. */
	T_INT(secret_generate(b), 0);
	T_OK(memcmp(a, b, SECRET_LEN) != 0);
	t_set_ctx("%s", "");
}

/* One rejection: code, a substring of the message, got[] untouched. */
static void
secret_reject(const char *text, int want_rc, const char *want_msg)
{
	uint8_t got[SECRET_LEN], keep[SECRET_LEN];
	char err[256] = "";

	memset(got, 0x77, sizeof(got));
	memcpy(keep, got, sizeof(got));
	t_set_ctx("secret_text_decode '%s'", text);
	T_INT(secret_text_decode(text, got, err, sizeof(err)), want_rc);
	if (!T_OK(strstr(err, want_msg) != NULL))
		fprintf(stderr, "  message was: %s\n", err);
	T_MEM(got, sizeof(got), keep, sizeof(keep));
	T_OK(strchr(err, '\n') == NULL);
	/* The message never quotes the text (most of a secret). */
	if (strlen(text) > SECRET_TEXT_PREFIX_LEN + 8)
		T_OK(strstr(err, text + SECRET_TEXT_PREFIX_LEN) == NULL);
	t_set_ctx("%s", "");
}

static void
test_secret_reject(void)
{
	char t[128];
	size_t i, n = strlen(seq_secrettext);
	int caught = 0;

	/* Prefixes: none, another, a public key's, wrong case. */
	secret_reject("", STP_EPARSE, "not an access secret: secret text "
	    "starts with 'stps1:'");
	secret_reject("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9hB",
	    STP_EPARSE, "starts with 'stps1:'");
	secret_reject("stps2:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9hB",
	    STP_EPARSE, "not an access secret");
	secret_reject("STPS1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9hB",
	    STP_EPARSE, "starts with 'stps1:'");
	secret_reject(rfc_pubtext, STP_EPARSE, "this is a public key "
	    "('stp1:...'), not an access secret");
	/* Wrong length: truncated, extended, empty. */
	secret_reject("stps1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9h",
	    STP_EPARSE, "wrong length: 47 characters after 'stps1:', "
	    "expected 48");
	secret_reject("stps1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9hBA",
	    STP_EPARSE, "wrong length: 49 characters");
	secret_reject("stps1:", STP_EPARSE, "wrong length: 0 characters");
	/* Characters outside the alphabet, numbered in the whole text. */
	secret_reject("stps1:AAECAwQFBgcICQoLDA0O+xAREhMUFRYXGBkaGxwdHh9Rm9hB",
	    STP_EPARSE, "invalid character '+' at position 27 in secret "
	    "text");
	secret_reject("stps1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9h/",
	    STP_EPARSE, "invalid character '/'");
	secret_reject(" stps1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9hB",
	    STP_EPARSE, "starts with 'stps1:'");
	secret_reject("stps1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9hB ",
	    STP_EPARSE, "invalid character ' ' at position 55");
	secret_reject("stps1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9hB\r",
	    STP_EPARSE, "invalid byte 0x0d");
	/* Padding. */
	secret_reject("stps1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9==",
	    STP_EPARSE, "padding '=' is not allowed");
	/* Checksum: one character changed in the secret, then in the check. */
	secret_reject("stps1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8Rm9hB",
	    STP_EKEY, "checksum mismatch: secret text mistyped or corrupted");
	secret_reject("stps1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9Rm9hC",
	    STP_EKEY, "checksum mismatch");
	/* Two adjacent characters swapped. */
	secret_reject("stps1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH9hRm9hB",
	    STP_EKEY, "checksum mismatch");
	/* A public key's 48 characters behind the secret prefix. */
	snprintf(t, sizeof(t), "%s%s", SECRET_TEXT_PREFIX,
	    rfc_pubtext + IDENTITY_PUBTEXT_PREFIX_LEN);
	secret_reject(t, STP_EKEY, "checksum mismatch");

	/* Every single-character substitution after the prefix is caught. */
	for (i = SECRET_TEXT_PREFIX_LEN; i < n; i++) {
		const char *c;

		for (c = alphabet; *c != '\0'; c++) {
			uint8_t got[SECRET_LEN];

			if (*c == seq_secrettext[i])
				continue;
			memcpy(t, seq_secrettext, n + 1);
			t[i] = *c;
			if (secret_text_decode(t, got, NULL, 0) != 0)
				caught++;
		}
	}
	t_set_ctx("secret: single substitutions caught");
	T_INT(caught, (long long)(n - SECRET_TEXT_PREFIX_LEN) * 63);
	t_set_ctx("%s", "");
}

static void
test_secret_save(void)
{
	uint8_t seq[SECRET_LEN], other[SECRET_LEN], got[SECRET_LEN];
	char buf[256], err[512], want[128], path[256];
	struct stat st;
	size_t i;

	t_set_ctx("secret file");
	for (i = 0; i < SECRET_LEN; i++) {
		seq[i] = (uint8_t)i;
		other[i] = (uint8_t)(0xff - i);
	}
	snprintf(path, sizeof(path), "%s", tpath("access.secret"));
	T_INT(secret_save(path, seq, err, sizeof(err)), 0);
	T_INT(stat(path, &st), 0);
	T_OK(S_ISREG(st.st_mode));
	T_INT(st.st_mode & 07777, 0600);
	/* Exactly the text and a newline. */
	snprintf(want, sizeof(want), "%s\n", seq_secrettext);
	T_INT(read_file(path, buf, sizeof(buf)), (long)strlen(want));
	T_OK(strcmp(buf, want) == 0);
	buf[SECRET_TEXT_LEN] = '\0';
	T_INT(secret_text_decode(buf, got, err, sizeof(err)), 0);
	T_MEM(got, sizeof(got), seq, sizeof(seq));

	/* Never replaced: the old file stays as it was. */
	err[0] = '\0';
	T_INT(secret_save(path, other, err, sizeof(err)), STP_EEXIST);
	T_OK(strstr(err, path) != NULL && strstr(err, "already exists") != NULL);
	T_OK(read_file(path, buf, sizeof(buf)) > 0);
	T_OK(strcmp(buf, want) == 0);
	T_INT(count_dir_entries(tmpdir), 1);

	/* Nor is a dangling symlink followed. */
	T_INT(symlink("nowhere", tpath("dangling.secret")), 0);
	T_INT(secret_save(tpath("dangling.secret"), other, err, sizeof(err)),
	    STP_EEXIST);
	T_INT(lstat(tpath("dangling.secret"), &st), 0);
	T_OK(S_ISLNK(st.st_mode));
	T_INT(access(tpath("nowhere"), F_OK), -1);
	unlink(tpath("dangling.secret"));

	/* A restrictive umask still gives exactly 0600; a lax one no more. */
	{
		mode_t old = umask(0277);

		T_INT(secret_save(tpath("u.secret"), other, err, sizeof(err)), 0);
		umask(0);
		T_INT(secret_save(tpath("v.secret"), other, err, sizeof(err)), 0);
		umask(old);
		T_INT(stat(tpath("u.secret"), &st), 0);
		T_INT(st.st_mode & 07777, 0600);
		T_INT(stat(tpath("v.secret"), &st), 0);
		T_INT(st.st_mode & 07777, 0600);
		unlink(tpath("u.secret"));
		unlink(tpath("v.secret"));
	}

	/* A missing directory: STP_EIO, errno ENOENT, path named, no file. */
	errno = 0;
	T_INT(secret_save(tpath("missing/dir.secret"), seq, err, sizeof(err)),
	    STP_EIO);
	T_INT(errno, ENOENT);
	T_OK(strstr(err, "missing/dir.secret") != NULL);
	T_OK(strstr(err, "stps1:") == NULL);
	T_INT(count_dir_entries(tmpdir), 1);

	unlink(path);
	t_set_ctx("%s", "");
}

/* ---- fingerprints ---- */

static void
test_fingerprint(void)
{
	uint8_t *pub, other[SIGN_PUB_LEN];
	char fp[IDENTITY_FP_MAX], fp2[IDENTITY_FP_MAX];
	char small[IDENTITY_FP_MAX - 1];
	size_t len, i, words = 1;
	char *p, *tok, *save;

	pub = t_unhex(rfc_pub_hex, &len);
	T_INT(identity_fingerprint(pub, fp, sizeof(fp)), 0);
	T_OK(strcmp(fp, rfc_fp) == 0);
	T_INT(identity_fingerprint(pub, fp2, sizeof(fp2)), 0);
	T_OK(strcmp(fp, fp2) == 0);
	memcpy(other, pub, SIGN_PUB_LEN);
	other[31] ^= 1;
	T_INT(identity_fingerprint(other, fp2, sizeof(fp2)), 0);
	T_OK(strcmp(fp, fp2) != 0);
	memset(small, 'x', sizeof(small));
	T_INT(identity_fingerprint(pub, small, sizeof(small)), STP_EINVAL);
	T_INT(small[0], 'x');

	/* Shape: 8 list words joined by '-'. */
	for (i = 0; fp[i] != '\0'; i++)
		words += fp[i] == '-';
	T_INT(words, IDENTITY_FP_WORDS);
	p = strdup(fp);
	for (tok = strtok_r(p, "-", &save); tok != NULL;
	    tok = strtok_r(NULL, "-", &save)) {
		int found = 0;

		for (i = 0; i < WORDLIST_SIZE; i++)
			found |= strcmp(tok, wordlist_word((uint8_t)i)) == 0;
		T_OK(found);
	}
	free(p);
	free(pub);
}

/* ---- identity files ---- */

static void
test_save_load(void)
{
	char buf[8192], err[512], want[256];
	uint8_t pub[SIGN_PUB_LEN], pub2[SIGN_PUB_LEN], *rfcpub;
	sign_key *k, *k2, *got = NULL;
	char path[256];
	struct stat st;
	size_t len;

	snprintf(path, sizeof(path), "%s", tpath("alice.key"));
	rfcpub = t_unhex(rfc_pub_hex, &len);
	k = key_from_hex(rfc_seed_hex);
	T_OK(k != NULL);
	if (k == NULL)
		return;
	sign_key_public(k, pub);
	T_MEM(pub, sizeof(pub), rfcpub, len);

	T_INT(identity_save(path, k, 0, err, sizeof(err)), 0);
	T_INT(stat(path, &st), 0);
	T_INT(st.st_mode & 07777, 0600);
	T_OK(S_ISREG(st.st_mode));
	T_INT(count_dir_entries(tmpdir), 1);   /* no temporary left behind */

	/* The exact file contents. */
	snprintf(want, sizeof(want), "# stpgate identity: Ed25519 secret key. "
	    "Keep it secret; mode 0600.\n# public: %s\n%s\n", rfc_pubtext,
	    rfc_seedline);
	T_OK(read_file(path, buf, sizeof(buf)) > 0);
	T_OK(strcmp(buf, want) == 0);

	T_INT(identity_load(path, &got, err, sizeof(err)), 0);
	T_OK(got != NULL);
	if (got != NULL) {
		sign_key_public(got, pub2);
		T_MEM(pub2, sizeof(pub2), pub, sizeof(pub));
		sign_key_free(got);
		got = NULL;
	}

	/* No clobbering without force; the old file stays as it was. */
	T_INT(identity_generate(&k2), 0);
	err[0] = '\0';
	T_INT(identity_save(path, k2, 0, err, sizeof(err)), STP_EEXIST);
	T_OK(strstr(err, path) != NULL && strstr(err, "exists") != NULL);
	T_OK(read_file(path, buf, sizeof(buf)) > 0);
	T_OK(strcmp(buf, want) == 0);
	T_INT(count_dir_entries(tmpdir), 1);

	/* A dangling symlink is not replaced either. */
	T_INT(symlink("nowhere", tpath("dangling.key")), 0);
	T_INT(identity_save(tpath("dangling.key"), k2, 0, err, sizeof(err)),
	    STP_EEXIST);
	T_INT(lstat(tpath("dangling.key"), &st), 0);
	T_OK(S_ISLNK(st.st_mode));
	unlink(tpath("dangling.key"));

	/* With force the new key replaces the old, still mode 0600. */
	T_INT(chmod(path, 0644), 0);
	T_INT(identity_save(path, k2, 1, err, sizeof(err)), 0);
	T_INT(stat(path, &st), 0);
	T_INT(st.st_mode & 07777, 0600);
	T_INT(identity_load(path, &got, err, sizeof(err)), 0);
	if (got != NULL) {
		sign_key_public(got, pub2);
		sign_key_public(k2, pub);
		T_MEM(pub2, sizeof(pub2), pub, sizeof(pub));
		sign_key_free(got);
		got = NULL;
	}
	T_INT(count_dir_entries(tmpdir), 1);

	/* Force creates a missing file too. */
	T_INT(identity_save(tpath("new.key"), k2, 1, err, sizeof(err)), 0);
	T_INT(identity_load(tpath("new.key"), &got, err, sizeof(err)), 0);
	sign_key_free(got);
	got = NULL;
	unlink(tpath("new.key"));

	/* A missing directory: STP_EIO, errno ENOENT, path named. */
	errno = 0;
	T_INT(identity_save(tpath("missing/dir.key"), k2, 0, err, sizeof(err)),
	    STP_EIO);
	T_INT(errno, ENOENT);
	T_OK(strstr(err, "missing/dir.key") != NULL);
	T_INT(count_dir_entries(tmpdir), 1);

	unlink(path);
	sign_key_free(k);
	sign_key_free(k2);
	free(rfcpub);
}

/*
 * Write contents to a file with mode, load it, expect want_rc and a message
 * that names the file and contains want_msg.
 */
static void
load_case(const char *label, const char *contents, size_t len, mode_t mode,
    int want_rc, const char *want_msg)
{
	const char *path = tpath("case.key");
	char err[1024] = "";
	sign_key *k = NULL;
	int rc;

	t_set_ctx("load: %s", label);
	if (!T_INT(write_file(path, contents, len, mode), 0))
		goto out;
	rc = identity_load(path, &k, err, sizeof(err));
	T_INT(rc, want_rc);
	if (want_rc != 0) {
		T_OK(k == NULL);
		T_OK(strncmp(err, path, strlen(path)) == 0);
		if (!T_OK(strstr(err, want_msg) != NULL))
			fprintf(stderr, "  message was: %s\n", err);
		T_OK(strchr(err, '\n') == NULL);
	}
out:
	sign_key_free(k);
	unlink(path);
	t_set_ctx("%s", "");
}

#define LOAD_CASE(label, s, mode, rc, msg) \
	load_case(label, s, sizeof(s) - 1, mode, rc, msg)

static void
test_load_reject(void)
{
	char good[512], buf[8192], other[IDENTITY_PUBTEXT_LEN + 1];
	uint8_t pub[SIGN_PUB_LEN];
	sign_key *k;
	size_t glen, i;
	int n, bad;

	snprintf(good, sizeof(good), "# public: %s\n%s\n", rfc_pubtext,
	    rfc_seedline);
	glen = strlen(good);

	/* Accepted variants. */
	load_case("minimal", good, glen, 0600, 0, "");
	load_case("mode 0400", good, glen, 0400, 0, "");
	LOAD_CASE("no public comment",
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n",
	    0600, 0, "");
	LOAD_CASE("no final newline",
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
	    0600, 0, "");
	LOAD_CASE("CRLF, blanks and comments",
	    "\r\n# a note\r\n\t\r\n  stp-identity-v1\tnWGxne_9WmC6hEr0kuwsxERJx"
	    "Wl7MmkZcDusAxyuf2A  \r\n#public:stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPa"
	    "piMlrwIaaPcHURo8ZDr8\r\n", 0600, 0, "");

	/* Permissions. */
	load_case("mode 0644", good, glen, 0644, STP_EPERM, "chmod 600");
	load_case("mode 0644 names the mode", good, glen, 0644, STP_EPERM,
	    "mode 0644");
	load_case("mode 0640", good, glen, 0640, STP_EPERM, "mode 0640");
	load_case("mode 0602", good, glen, 0602, STP_EPERM, "group or others");
	load_case("mode 0610", good, glen, 0610, STP_EPERM, "chmod 600");

	/* Not an identity file. */
	LOAD_CASE("empty", "", 0600, STP_EPARSE, "no stp-identity-v1 line");
	LOAD_CASE("comments only", "# hello\n\n", 0600, STP_EPARSE,
	    "no stp-identity-v1 line");
	LOAD_CASE("text", "hello world\n", 0600, STP_EPARSE,
	    ":1: unexpected text");
	LOAD_CASE("binary", "\x7f" "ELF\x02\x01\x01\0\0\0", 0600, STP_EPARSE,
	    "binary data");
	LOAD_CASE("public key only",
	    "stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr8\n", 0600,
	    STP_EPARSE, "not an stpgate identity file");
	LOAD_CASE("other version",
	    "stp-identity-v2 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n",
	    0600, STP_EPARSE, "unsupported identity file version");
	LOAD_CASE("two key lines",
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n"
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n",
	    0600, STP_EPARSE, ":2: second stp-identity-v1 line");
	LOAD_CASE("tag glued to key",
	    "stp-identity-v1nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n",
	    0600, STP_EPARSE, "unexpected text");

	/* Bad keys. */
	LOAD_CASE("no key", "stp-identity-v1\n", 0600, STP_EPARSE,
	    "key is 0 characters, expected 43");
	LOAD_CASE("short key",
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2\n",
	    0600, STP_EPARSE, "key is 42 characters, expected 43");
	LOAD_CASE("long key",
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2AA\n",
	    0600, STP_EPARSE, "key is 44 characters");
	LOAD_CASE("padded key",
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n",
	    0600, STP_EPARSE, "padding '=' is not allowed");
	LOAD_CASE("standard base64",
	    "stp-identity-v1 nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n",
	    0600, STP_EPARSE, "invalid character '/' at position 7");
	LOAD_CASE("key split by a blank",
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuws xERJxWl7MmkZcDusAxyuf2A\n",
	    0600, STP_EPARSE, "invalid character ' '");
	LOAD_CASE("non-canonical key",
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B\n",
	    0600, STP_EPARSE, "not canonical");

	/* The public comment must agree with the key. */
	k = NULL;
	T_INT(identity_generate(&k), 0);
	if (k != NULL) {
		sign_key_public(k, pub);
		T_INT(identity_pub_encode(pub, other), 0);
		sign_key_free(k);
		n = snprintf(buf, sizeof(buf), "# public: %s\n%s\n", other,
		    rfc_seedline);
		load_case("public comment of another key", buf, (size_t)n,
		    0600, STP_EKEY, ":1: '# public:' comment does not match");
	}
	LOAD_CASE("public comment mistyped",
	    "# public: stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr9\n"
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n",
	    0600, STP_EKEY, "'# public:' comment: checksum mismatch");
	LOAD_CASE("public comment truncated",
	    "# public: stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPa\n"
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n",
	    0600, STP_EPARSE, "'# public:' comment: wrong length");
	LOAD_CASE("two public comments",
	    "# public: stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr8\n"
	    "# public: stp1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo8ZDr8\n"
	    "stp-identity-v1 nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n",
	    0600, STP_EPARSE, ":2: second '# public:' line");

	/* Every truncation of a valid file short of the last newline fails. */
	bad = 0;
	for (i = 0; i + 1 < glen; i++) {
		sign_key *kk = NULL;
		char err[512];

		if (write_file(tpath("trunc.key"), good, i, 0600) != 0 ||
		    identity_load(tpath("trunc.key"), &kk, err,
		    sizeof(err)) == 0 || kk != NULL)
			bad++;
		sign_key_free(kk);
	}
	unlink(tpath("trunc.key"));
	t_set_ctx("every truncation rejected");
	T_INT(bad, 0);
	t_set_ctx("%s", "");

	/* Size limit: 4096 bytes of comments load, 4097 do not. */
	memset(buf, '#', IDENTITY_FILE_MAX + 1);
	n = snprintf(buf, 200, "%s\n", rfc_seedline);
	buf[n] = '#';
	load_case("4096 bytes", buf, IDENTITY_FILE_MAX, 0600, 0, "");
	load_case("4097 bytes", buf, IDENTITY_FILE_MAX + 1, 0600, STP_ETOOBIG,
	    "too big");

	/* Not a regular file, or not there. */
	{
		sign_key *kk = NULL;
		char err[512] = "";

		t_set_ctx("load: directory");
		T_INT(mkdir(tpath("dir.key"), 0700), 0);
		T_INT(identity_load(tpath("dir.key"), &kk, err, sizeof(err)),
		    STP_EINVAL);
		T_OK(strstr(err, "not a regular file") != NULL);
		rmdir(tpath("dir.key"));
		t_set_ctx("load: missing file");
		T_INT(identity_load(tpath("absent.key"), &kk, err, sizeof(err)),
		    STP_EIO);
		T_OK(strstr(err, "absent.key: ") != NULL);
		T_OK(kk == NULL);
		t_set_ctx("%s", "");
	}
}

/* ---- word list ---- */

static void
test_wordlist(void)
{
	size_t i, j, n, bad_shape = 0, dup = 0, prefix = 0, order = 0;
	const char *w, *v;

	for (i = 0; i < WORDLIST_SIZE; i++) {
		w = wordlist_word((uint8_t)i);
		n = strlen(w);
		if (n < 3 || n > WORDLIST_MAXLEN || strspn(w,
		    "abcdefghijklmnopqrstuvwxyz") != n) {
			fprintf(stderr, "bad word %zu '%s'\n", i, w);
			bad_shape++;
		}
		if (i > 0 && strcmp(wordlist_word((uint8_t)(i - 1)), w) >= 0)
			order++;
		for (j = i + 1; j < WORDLIST_SIZE; j++) {
			v = wordlist_word((uint8_t)j);
			if (strcmp(w, v) == 0)
				dup++;
			/* Same first four letters (a shorter word: all of it),
			 * or one word a prefix of the other. */
			if (strncmp(w, v, 4) == 0 ||
			    strncmp(w, v, strlen(w) < strlen(v) ? strlen(w) :
			    strlen(v)) == 0) {
				fprintf(stderr, "prefix clash '%s' '%s'\n",
				    w, v);
				prefix++;
			}
		}
	}
	T_INT(bad_shape, 0);
	T_INT(dup, 0);
	T_INT(prefix, 0);
	T_INT(order, 0);
	T_INT(IDENTITY_FP_MAX, IDENTITY_FP_WORDS * WORDLIST_MAXLEN +
	    IDENTITY_FP_WORDS - 1 + 1);
	/* Distinct pointers for all 256 byte values, none NULL. */
	for (i = 0; i < WORDLIST_SIZE; i++)
		T_OK(wordlist_word((uint8_t)i) != NULL);

	/* proto/wordlist.txt, the spec's copy: line i is word i, exactly. */
	{
		FILE *f = fopen(STP_WORDLIST, "r");
		char line[64];
		size_t k = 0, wrong = 0;

		if (!T_OK(f != NULL))
			return;
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (k >= WORDLIST_SIZE ||
			    strcmp(line, wordlist_word((uint8_t)k)) != 0)
				wrong++;
			k++;
		}
		fclose(f);
		T_INT((long long)k, WORDLIST_SIZE);
		T_INT((long long)wrong, 0);
	}
}

int
main(void)
{
	static const uint8_t seed[] = "test_identity";

	rand_test_seed(seed, sizeof(seed) - 1);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_identity.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}

	test_b64_vectors();
	test_b64_alphabet();
	test_b64_roundtrip();
	test_b64_reject();
	test_b64_reason();
	t_section("base64url");
	test_pubtext();
	test_pubtext_reject();
	t_section("public key text");
	test_secret_text();
	test_secret_reject();
	test_secret_save();
	t_section("access secret text");
	test_fingerprint();
	t_section("fingerprint");
	test_save_load();
	test_load_reject();
	t_section("identity files");
	test_wordlist();
	t_section("word list");

	if (rmdir(tmpdir) != 0) {
		t_set_ctx("temp dir");
		T_OK(!"temporary directory left non-empty");
	}
	return t_done();
}

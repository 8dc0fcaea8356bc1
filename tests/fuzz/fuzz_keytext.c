/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keytext.c: the text forms of keys: identity_pub_decode and the
 * identity file reader (gateway/config/identity.h), and strict base64url
 * (gateway/config/base64url.h).
 *
 * Input: one control byte (mode = byte % 4), then the text.
 *   0: identity_pub_decode of the text (up to its first NUL)
 *   1: the first 32 bytes as a public key: encode, decode, fingerprint
 *   2: base64url_decode / base64url_span of the text
 *   3: identity_load of a mode-0600 file holding the text
 *
 * Invariants: a key text decodes only when it is exactly what
 * identity_pub_encode writes for that key (53 characters), and the output
 * is untouched otherwise; base64url decoding is canonical (success only for
 * the one length that fits, and re-encoding gives the input back) and fails
 * wherever base64url_span says a character is outside the alphabet;
 * fingerprints are 8 words; every failure comes with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "err.h"
#include "fuzz.h"
#include "identity.h"

static char idpath[512];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void
pub_decode(const uint8_t *data, size_t size)
{
	char *text, enc[IDENTITY_PUBTEXT_LEN + 1], err[256];
	uint8_t pub[SIGN_PUB_LEN], none[SIGN_PUB_LEN];
	int rc;

	if ((text = malloc(size + 1)) == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(pub, 0xa5, sizeof(pub));
	memset(none, 0xa5, sizeof(none));
	err[0] = '\0';
	rc = identity_pub_decode(text, pub, err, sizeof(err));
	if (rc != 0) {
		FUZZ_ASSERT(rc == STP_EPARSE || rc == STP_EKEY);
		FUZZ_ASSERT(memcmp(pub, none, sizeof(pub)) == 0);
		FUZZ_ASSERT(err[0] != '\0');
	} else {
		FUZZ_ASSERT(strlen(text) == IDENTITY_PUBTEXT_LEN);
		FUZZ_ASSERT(identity_pub_encode(pub, enc) == 0);
		FUZZ_ASSERT(strcmp(enc, text) == 0);
	}
	free(text);
}

static void
pub_roundtrip(const uint8_t *data, size_t size)
{
	char enc[IDENTITY_PUBTEXT_LEN + 1], fp[IDENTITY_FP_MAX], err[256];
	uint8_t pub[SIGN_PUB_LEN], back[SIGN_PUB_LEN];
	size_t i, dashes = 0;

	if (size < SIGN_PUB_LEN)
		return;
	memcpy(pub, data, SIGN_PUB_LEN);
	FUZZ_ASSERT(identity_pub_encode(pub, enc) == 0);
	FUZZ_ASSERT(strlen(enc) == IDENTITY_PUBTEXT_LEN);
	FUZZ_ASSERT(identity_pub_decode(enc, back, err, sizeof(err)) == 0);
	FUZZ_ASSERT(memcmp(pub, back, SIGN_PUB_LEN) == 0);
	/* One character changed (within the alphabet) is caught. */
	i = IDENTITY_PUBTEXT_PREFIX_LEN + data[SIGN_PUB_LEN % size] %
	    IDENTITY_PUBTEXT_B64_LEN;
	enc[i] = enc[i] == 'A' ? 'B' : 'A';
	FUZZ_ASSERT(identity_pub_decode(enc, back, err, sizeof(err)) != 0);
	FUZZ_ASSERT(identity_fingerprint(pub, fp, 8) == STP_EINVAL);
	FUZZ_ASSERT(identity_fingerprint(pub, fp, sizeof(fp)) == 0);
	FUZZ_ASSERT(strlen(fp) < sizeof(fp));
	for (i = 0; fp[i] != '\0'; i++) {
		if (fp[i] == '-')
			dashes++;
		else
			FUZZ_ASSERT(fp[i] >= 'a' && fp[i] <= 'z');
	}
	FUZZ_ASSERT(dashes == IDENTITY_FP_WORDS - 1);
}

static void
b64(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t n, span;
	uint8_t *out;
	char *enc;
	int rc;

	span = base64url_span(in, size);
	FUZZ_ASSERT(span <= size);
	n = size / 4 * 3 + (size % 4 ? size % 4 - 1 : 0);
	if ((out = malloc(n + 2)) == NULL || (enc = malloc(size + 2)) == NULL) {
		free(out);
		return;
	}
	/* Only the one output length whose encoding has size characters. */
	FUZZ_ASSERT(base64url_decode(out, n + 1, in, size) == STP_EINVAL);
	rc = base64url_decode(out, n, in, size);
	if (BASE64URL_LEN(n) != size) {
		FUZZ_ASSERT(size % 4 == 1 && rc == STP_EINVAL);
	} else if (span < size) {
		FUZZ_ASSERT(rc == STP_EPARSE);
	} else if (rc == 0) {
		FUZZ_ASSERT(base64url_encode(enc, size + 1, out, n) == 0);
		FUZZ_ASSERT(memcmp(enc, in, size) == 0 && enc[size] == '\0');
		FUZZ_ASSERT(base64url_encode(enc, size, out, n) == STP_EINVAL);
	} else {
		/* Every character in the alphabet: only stray low bits fail. */
		FUZZ_ASSERT(rc == STP_EPARSE && size % 4 != 0);
	}
	free(out);
	free(enc);
}

static void
id_load(const uint8_t *data, size_t size)
{
	sign_key *k = NULL;
	char err[4096 + 256];
	int rc;

	if (idpath[0] == '\0')
		snprintf(idpath, sizeof(idpath), "%s/id.key", fuzz_tmpdir());
	if (fuzz_write_file(idpath, data, size, 0600) != 0)
		fuzz_fail(__FILE__, __LINE__, "write");
	err[0] = '\0';
	rc = identity_load(idpath, &k, err, sizeof(err));
	if (rc != 0) {
		FUZZ_ASSERT(rc < 0 && k == NULL);
		FUZZ_ASSERT(err[0] != '\0');
		if (size > IDENTITY_FILE_MAX)
			FUZZ_ASSERT(rc == STP_ETOOBIG);
	} else {
		FUZZ_ASSERT(k != NULL);
		FUZZ_ASSERT(size <= IDENTITY_FILE_MAX);
		sign_key_free(k);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		pub_decode(data + 1, size - 1);
		break;
	case 1:
		pub_roundtrip(data + 1, size - 1);
		break;
	case 2:
		b64(data + 1, size - 1);
		break;
	default:
		id_load(data + 1, size - 1);
		break;
	}
	return 0;
}

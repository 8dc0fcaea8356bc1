/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secret.c: the access secret's text form and file.  The formats are
 * specified in secret.h.
 *
 * Like identity.c this runs at start-up, on reload and from the CLI, never
 * per connection.  Every decoded buffer and every copy of the text made here
 * is wiped before returning; no message ever quotes the secret text.
 */
#include "secret.h"

#include <errno.h>
#include <string.h>

#include "base64url.h"
#include "crypto/crypto.h"
#include "crypto/rand.h"
#include "err.h"
#include "identity.h"

#define CHECK_LABEL "stpgate secret checksum v1"

_Static_assert(BASE64URL_LEN(SECRET_LEN + SECRET_CHECK_LEN) ==
    SECRET_TEXT_B64_LEN, "36 bytes are 48 base64url characters");

int
secret_generate(uint8_t secret[SECRET_LEN])
{
	return rand_bytes(secret, SECRET_LEN);
}

int
secret_text_encode(const uint8_t secret[SECRET_LEN],
    char out[SECRET_TEXT_LEN + 1])
{
	return base64url_checked_encode(secret, SECRET_TEXT_PREFIX, CHECK_LABEL,
	    out, SECRET_TEXT_LEN + 1);
}

int
secret_text_decode(const char *text, uint8_t secret[SECRET_LEN], char *err,
    size_t errlen)
{
	if (strncmp(text, SECRET_TEXT_PREFIX, SECRET_TEXT_PREFIX_LEN) != 0) {
		/* The likely slip: the listener's public key pasted here. */
		if (strncmp(text, IDENTITY_PUBTEXT_PREFIX,
		    IDENTITY_PUBTEXT_PREFIX_LEN) == 0)
			stp_seterr(err, errlen, "this is a public key ('%s...'), not "
			    "an access secret: secret text starts with '%s' "
			    "(`stpgate secret` makes one)",
			    IDENTITY_PUBTEXT_PREFIX, SECRET_TEXT_PREFIX);
		else
			stp_seterr(err, errlen, "not an access secret: secret text "
			    "starts with '%s' (`stpgate secret` makes one)",
			    SECRET_TEXT_PREFIX);
		return STP_EPARSE;
	}
	return base64url_checked_decode(text, SECRET_TEXT_PREFIX, "secret",
	    CHECK_LABEL, secret, err, errlen);
}

int
secret_save(const char *path, const uint8_t secret[SECRET_LEN], char *err,
    size_t errlen)
{
	char buf[SECRET_TEXT_LEN + 2];
	int rc, saved;

	if ((rc = secret_text_encode(secret, buf)) != 0) {
		stp_seterr(err, errlen, "%s: %s", path, stp_strerror(rc));
		return rc;
	}
	buf[SECRET_TEXT_LEN] = '\n';
	buf[SECRET_TEXT_LEN + 1] = '\0';
	/* Never over an existing file: a secret is not replaced by accident. */
	rc = identity_file_write(path, buf, SECRET_TEXT_LEN + 1, 0, err, errlen);
	saved = errno;
	crypto_wipe(buf, sizeof(buf));
	errno = saved;
	return rc;
}

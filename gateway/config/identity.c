/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity.c: the identity file, public key text and fingerprints.  The
 * formats are specified in identity.h.
 *
 * Everything here runs at start-up or from the CLI, never per connection, so
 * it favours plain code and precise error messages over speed.  The file
 * buffer and every decoded seed are wiped before returning.
 */
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "base64url.h"
#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "err.h"
#include "wordlist.h"

#define CHECK_LABEL "stpgate key checksum v1"
#define FP_LABEL "stpgate fingerprint v1"
#define FILE_HEADER \
	"# stpgate identity: Ed25519 secret key. Keep it secret; mode 0600.\n"

int
identity_generate(sign_key **out)
{
	return sign_key_generate(out);
}

int
identity_pub_encode(const uint8_t pub[SIGN_PUB_LEN],
    char out[IDENTITY_PUBTEXT_LEN + 1])
{
	return base64url_checked_encode(pub, IDENTITY_PUBTEXT_PREFIX,
	    CHECK_LABEL, out, IDENTITY_PUBTEXT_LEN + 1);
}

int
identity_pub_decode(const char *text, uint8_t pub[SIGN_PUB_LEN], char *err,
    size_t errlen)
{
	if (strncmp(text, IDENTITY_PUBTEXT_PREFIX,
	    IDENTITY_PUBTEXT_PREFIX_LEN) != 0) {
		stp_seterr(err, errlen, "not a public key: key text starts with "
		    "'%s'", IDENTITY_PUBTEXT_PREFIX);
		return STP_EPARSE;
	}
	return base64url_checked_decode(text, IDENTITY_PUBTEXT_PREFIX, "key",
	    CHECK_LABEL, pub, err, errlen);
}

int
identity_fingerprint(const uint8_t pub[SIGN_PUB_LEN], char *out,
    size_t outlen)
{
	uint8_t msg[sizeof(FP_LABEL) - 1 + SIGN_PUB_LEN], h[HASH_SHA512_LEN];
	char fp[IDENTITY_FP_MAX];
	size_t i, o = 0, n;
	const char *w;
	int rc;

	if (outlen < IDENTITY_FP_MAX)
		return STP_EINVAL;
	memcpy(msg, FP_LABEL, sizeof(FP_LABEL) - 1);
	memcpy(msg + sizeof(FP_LABEL) - 1, pub, SIGN_PUB_LEN);
	if ((rc = hash_sha512(h, msg, sizeof(msg))) != 0)
		return rc;
	for (i = 0; i < IDENTITY_FP_WORDS; i++) {
		if (i > 0)
			fp[o++] = '-';
		w = wordlist_word(h[i]);
		n = strlen(w);
		memcpy(fp + o, w, n);
		o += n;
	}
	fp[o] = '\0';
	memcpy(out, fp, o + 1);
	return 0;
}

/* write(2) all of buf, retrying short writes and EINTR.  0 or -1 (errno). */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * fsync the directory holding path so that a new name survives a crash.
 * Best effort: some file systems cannot fsync a directory, and the file is
 * already complete by then.
 */
static void
sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

int
identity_file_write(const char *path, const char *buf, size_t n, int force,
    char *err, size_t errlen)
{
	static const char suffix[] = ".tmp-XXXXXX";
	char *tmp = NULL;
	struct stat st;
	size_t plen;
	int fd = -1, made = 0, saved = 0, rc;

	/* Fail early and leave nothing behind; link() below closes the race. */
	if (!force && lstat(path, &st) == 0) {
		rc = STP_EEXIST;
		stp_seterr(err, errlen, "%s: already exists", path);
		goto out;
	}

	plen = strlen(path);
	if ((tmp = malloc(plen + sizeof(suffix))) == NULL) {
		rc = STP_ENOMEM;
		stp_seterr(err, errlen, "%s: %s", path, stp_strerror(rc));
		goto out;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, suffix, sizeof(suffix));

	/* mkstemp creates with O_EXCL and mode 0600 (less the umask). */
	if ((fd = mkstemp(tmp)) == -1) {
		saved = errno;
		rc = STP_EIO;
		stp_seterr(err, errlen, "%s: cannot create: %s", path,
		    strerror(saved));
		goto out;
	}
	made = 1;
	if (fchmod(fd, S_IRUSR | S_IWUSR) == -1 ||
	    write_all(fd, buf, n) == -1 || fsync(fd) == -1) {
		saved = errno;
		rc = STP_EIO;
		stp_seterr(err, errlen, "%s: cannot write: %s", path,
		    strerror(saved));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		saved = errno;
		rc = STP_EIO;
		stp_seterr(err, errlen, "%s: cannot write: %s", path,
		    strerror(saved));
		goto out;
	}
	fd = -1;

	if (force) {
		if (rename(tmp, path) == -1) {
			saved = errno;
			rc = STP_EIO;
			stp_seterr(err, errlen, "%s: cannot replace: %s", path,
			    strerror(saved));
			goto out;
		}
		made = 0;
	} else {
		if (link(tmp, path) == -1) {
			saved = errno;
			rc = saved == EEXIST ? STP_EEXIST : STP_EIO;
			if (rc == STP_EEXIST)
				stp_seterr(err, errlen, "%s: already exists", path);
			else
				stp_seterr(err, errlen, "%s: cannot create: %s",
				    path, strerror(saved));
			goto out;
		}
		/* The name is in place; the temporary name goes at out:. */
	}
	sync_parent(path);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (made)
		(void)unlink(tmp);
	free(tmp);
	errno = saved;
	return rc;
}

int
identity_encode(const sign_key *key, char *buf, size_t len)
{
	uint8_t seed[SIGN_SEED_LEN], pub[SIGN_PUB_LEN];
	char pubtext[IDENTITY_PUBTEXT_LEN + 1];
	char seedtext[IDENTITY_SEED_B64_LEN + 1];
	int n, rc;

	sign_key_public(key, pub);
	if ((rc = identity_pub_encode(pub, pubtext)) != 0)
		return rc;
	sign_key_seed(key, seed);
	rc = base64url_encode(seedtext, sizeof(seedtext), seed, sizeof(seed));
	if (rc == 0) {
		n = snprintf(buf, len, FILE_HEADER "# public: %s\n%s %s\n",
		    pubtext, IDENTITY_FILE_TAG, seedtext);
		rc = n < 0 || (size_t)n >= len ? STP_EINVAL : n;
	}
	crypto_wipe(seed, sizeof(seed));
	crypto_wipe(seedtext, sizeof(seedtext));
	if (rc < 0)
		crypto_wipe(buf, len);
	return rc;
}

int
identity_save(const char *path, const sign_key *key, int force, char *err,
    size_t errlen)
{
	char buf[256];
	int n, rc, saved;

	if ((n = identity_encode(key, buf, sizeof(buf))) < 0) {
		stp_seterr(err, errlen, "%s: %s", path, stp_strerror(n));
		return n;
	}
	rc = identity_file_write(path, buf, (size_t)n, force, err, errlen);
	saved = errno;
	crypto_wipe(buf, sizeof(buf));
	errno = saved;
	return rc;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Does line[0..len) start with the word w followed by a blank or its end? */
static int
starts_word(const char *line, size_t len, const char *w)
{
	size_t n = strlen(w);

	return len >= n && memcmp(line, w, n) == 0 &&
	    (len == n || is_blank(line[n]));
}

/* Does the line start with "stp-identity-v<digits>" and a blank or its end? */
static int
is_version_tag(const char *line, size_t len)
{
	size_t i = sizeof("stp-identity-v") - 1;

	if (len <= i || memcmp(line, "stp-identity-v", i) != 0)
		return 0;
	while (i < len && line[i] >= '0' && line[i] <= '9')
		i++;
	return i > sizeof("stp-identity-v") - 1 &&
	    (i == len || is_blank(line[i]));
}

/*
 * Parse the file contents buf[0..len) (buf has room for one more byte, which
 * is used to terminate the "# public:" value in place).
 */
int
identity_parse(const char *path, char *buf, size_t len, sign_key **out,
    char *err, size_t errlen)
{
	uint8_t seed[SIGN_SEED_LEN], pub[SIGN_PUB_LEN], want[SIGN_PUB_LEN];
	char *p = buf, *end = buf + len, *line, *nl, *key = NULL, *pubt = NULL;
	size_t n, keylen = 0;
	unsigned lineno = 0, keyline = 0, publine = 0;
	const char *why;
	char whybuf[80], perr[128];
	sign_key *k = NULL;
	int rc;

	if (memchr(buf, '\0', len) != NULL) {
		rc = STP_EPARSE;
		stp_seterr(err, errlen, "%s: binary data: not an stpgate identity "
		    "file", path);
		goto out;
	}
	for (; p < end; p = nl + 1) {
		lineno++;
		line = p;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		while (n > 0 && is_blank(line[n - 1]))
			n--;
		while (n > 0 && is_blank(line[0])) {
			line++;
			n--;
		}
		if (n == 0)
			continue;
		if (line[0] == '#') {
			line++;
			n--;
			while (n > 0 && is_blank(line[0])) {
				line++;
				n--;
			}
			if (n < 7 || memcmp(line, "public:", 7) != 0)
				continue;
			if (pubt != NULL) {
				rc = STP_EPARSE;
				stp_seterr(err, errlen, "%s:%u: second '# public:' "
				    "line", path, lineno);
				goto out;
			}
			line += 7;
			n -= 7;
			while (n > 0 && is_blank(line[0])) {
				line++;
				n--;
			}
			pubt = line;
			pubt[n] = '\0';   /* a blank, '\r', '\n' or buf[len] */
			publine = lineno;
			continue;
		}
		if (starts_word(line, n, IDENTITY_FILE_TAG)) {
			if (key != NULL) {
				rc = STP_EPARSE;
				stp_seterr(err, errlen, "%s:%u: second %s line",
				    path, lineno, IDENTITY_FILE_TAG);
				goto out;
			}
			key = line + strlen(IDENTITY_FILE_TAG);
			keylen = n - strlen(IDENTITY_FILE_TAG);
			while (keylen > 0 && is_blank(key[0])) {
				key++;
				keylen--;
			}
			keyline = lineno;
			continue;
		}
		rc = STP_EPARSE;
		if (is_version_tag(line, n))
			stp_seterr(err, errlen, "%s:%u: unsupported identity file "
			    "version (this stpgate reads %s)", path, lineno,
			    IDENTITY_FILE_TAG);
		else
			stp_seterr(err, errlen, "%s:%u: unexpected text: not an "
			    "stpgate identity file", path, lineno);
		goto out;
	}

	if (key == NULL) {
		rc = STP_EPARSE;
		stp_seterr(err, errlen, "%s: no %s line: not an stpgate identity "
		    "file, or truncated", path, IDENTITY_FILE_TAG);
		goto out;
	}
	why = base64url_reason(key, keylen, 0, whybuf, sizeof(whybuf));
	if (why != NULL) {
		rc = STP_EPARSE;
		stp_seterr(err, errlen, "%s:%u: %s in the key", path, keyline, why);
		goto out;
	}
	if (keylen != IDENTITY_SEED_B64_LEN) {
		rc = STP_EPARSE;
		stp_seterr(err, errlen, "%s:%u: key is %zu characters, expected "
		    "%d: truncated or corrupted", path, keyline, keylen,
		    IDENTITY_SEED_B64_LEN);
		goto out;
	}
	if (base64url_decode(seed, sizeof(seed), key, keylen) != 0) {
		rc = STP_EPARSE;
		stp_seterr(err, errlen, "%s:%u: key is not canonical base64url: "
		    "corrupted", path, keyline);
		goto out;
	}
	if ((rc = sign_key_from_seed(&k, seed)) != 0) {
		stp_seterr(err, errlen, "%s: %s", path, stp_strerror(rc));
		goto out;
	}
	if (pubt != NULL) {
		if ((rc = identity_pub_decode(pubt, want, perr,
		    sizeof(perr))) != 0) {
			stp_seterr(err, errlen, "%s:%u: '# public:' comment: %s",
			    path, publine, perr);
			goto out;
		}
		sign_key_public(k, pub);
		if (memcmp(pub, want, SIGN_PUB_LEN) != 0) {
			rc = STP_EKEY;
			stp_seterr(err, errlen, "%s:%u: '# public:' comment does "
			    "not match the secret key: file edited or "
			    "corrupted", path, publine);
			goto out;
		}
	}
	*out = k;
	k = NULL;
	rc = 0;
out:
	sign_key_free(k);
	crypto_wipe(seed, sizeof(seed));
	return rc;
}

int
identity_load(const char *path, sign_key **out, char *err, size_t errlen)
{
	char buf[IDENTITY_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) ==
	    -1) {
		rc = STP_EIO;
		stp_seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		rc = STP_EIO;
		stp_seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = STP_EINVAL;
		stp_seterr(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		rc = STP_EPERM;
		stp_seterr(err, errlen, "%s: mode %04o lets group or others access "
		    "this secret key; run: chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > IDENTITY_FILE_MAX) {
		rc = STP_ETOOBIG;
		stp_seterr(err, errlen, "%s: %lld bytes is too big for an identity "
		    "file (limit %d)", path, (long long)st.st_size,
		    IDENTITY_FILE_MAX);
		goto out;
	}
	/* Read one byte past the limit in case the file grew since fstat. */
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = STP_EIO;
			stp_seterr(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > IDENTITY_FILE_MAX) {
		rc = STP_ETOOBIG;
		stp_seterr(err, errlen, "%s: too big for an identity file (limit "
		    "%d bytes)", path, IDENTITY_FILE_MAX);
		goto out;
	}
	rc = identity_parse(path, buf, len, out, err, errlen);
out:
	if (fd != -1)
		close(fd);
	crypto_wipe(buf, len);
	return rc;
}

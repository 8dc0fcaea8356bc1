/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c: the stpgate command line: the table of commands, their shared
 * option handling, and the identity and secret commands (keygen, pubkey,
 * fingerprint, secret); cli_gateway.c has run, check, status and reload.
 *
 * Subcommands live in one table; "stpgate --help" lists it and each entry
 * answers its own --help.  Options are parsed with getopt_long (so -cFILE,
 * -c FILE, --config FILE and --config=FILE all work) and every command
 * reports a bad one in the same words (opt_next).  Exit status: 0 success,
 * 1 runtime failure (RNG, disk, memory, a gateway not running, a failed
 * reload), 2 usage or input error (bad option, unreadable or unsafe file,
 * malformed key).  Every error is one line on stderr, "stpgate: WHAT:
 * reason", where WHAT is the file or argument at fault.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <uv.h>

#include "cli.h"
#include "config.h"
#include "crypto/crypto.h"
#include "crypto/mlkem768.h"
#include "crypto/sign.h"
#include "err.h"
#include "identity.h"
#include "secret.h"

#ifndef STP_VERSION
#define STP_VERSION "unknown"
#endif
#ifndef STP_GIT_COMMIT
#define STP_GIT_COMMIT "unknown"
#endif

/*
 * Print "stpgate: <message>" on stderr as exactly one line: control
 * characters (a newline in a file name, say) are shown as '?'.
 */
void
fail(const char *fmt, ...)
{
	char msg[ERRBUF_LEN + 256];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	fprintf(stderr, "stpgate: %s\n", msg);
}

/* Report a usage error for command c (NULL: the top level); returns 2. */
int
usage_error(const struct cmd *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c != NULL)
		fail("%s: %s (see 'stpgate %s --help')", c->name, msg, c->name);
	else
		fail("%s (see 'stpgate --help')", msg);
	return EXIT_USAGE;
}

static int
cmd_help(const struct cmd *c)
{
	printf("usage: stpgate %s\n\n%s", c->usage, c->help);
	return 0;
}

/* Exit status for a failure to read or parse user input. */
static int
input_status(int rc)
{
	if (rc == STP_ENOMEM || rc == STP_ECRYPTO)
		return EXIT_RUNTIME;
	return EXIT_USAGE;
}

/*
 * getopt_long with our messages: the next option, -1 when they are done
 * (optind is then the first operand), or -2 after reporting a usage error
 * (unknown option, missing value).  Call with optind = 0 first.
 */
int
opt_next(const struct cmd *c, int argc, char **argv, const char *shortopts,
    const struct option *longopts)
{
	char sopts[32];
	const char *a;
	int o;

	snprintf(sopts, sizeof(sopts), ":%s", shortopts);
	opterr = 0;
	o = getopt_long(argc, argv, sopts, longopts, NULL);
	if (o != '?' && o != ':')
		return o;
	a = argv[optind - 1];
	if (optopt != 0 && !(a[0] == '-' && a[1] == '-'))
		usage_error(c, o == ':' ? "option '-%c' needs a value" :
		    "unknown option '-%c'", optopt);
	else
		usage_error(c, o == ':' ? "option '%.*s' needs a value" :
		    "unknown option '%.*s'", (int)strcspn(a, "="), a);
	return -2;
}

/* No operands allowed after the options: 0, or the usage exit status. */
int
no_operands(const struct cmd *c, int argc, char **argv)
{
	if (optind < argc)
		return usage_error(c, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/*
 * The one operand of a command that takes at most one (pubkey,
 * fingerprint): *out is NULL when there is none.
 */
static int
one_operand(const struct cmd *c, int argc, char **argv, const char **out)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int o, status;

	optind = 0;
	while ((o = opt_next(c, argc, argv, "h", lo)) != -1)
		if (o == -2)
			return EXIT_USAGE;
	*out = optind < argc ? argv[optind++] : NULL;
	if ((status = no_operands(c, argc, argv)) != 0)
		return status;
	if (*out != NULL && (*out)[0] == '\0')
		return usage_error(c, "empty argument");
	return 0;
}

/* Print the "public key:" and "fingerprint:" lines for pub on out. */
static int
print_key(FILE *out, const uint8_t pub[SIGN_PUB_LEN])
{
	char text[IDENTITY_PUBTEXT_LEN + 1], fp[IDENTITY_FP_MAX];
	int rc;

	if ((rc = identity_pub_encode(pub, text)) != 0 ||
	    (rc = identity_fingerprint(pub, fp, sizeof(fp))) != 0) {
		fail("cannot encode the public key: %s", stp_strerror(rc));
		return EXIT_RUNTIME;
	}
	fprintf(out, "public key:  %s\nfingerprint: %s\n", text, fp);
	return 0;
}

/* Is a failed save's errno about the path the user gave (so exit 2)? */
static int
path_errno(int e)
{
	switch (e) {
	case ENOENT: case ENOTDIR: case EACCES: case EPERM: case EROFS:
	case EISDIR: case ELOOP: case ENAMETOOLONG: case EEXIST:
		return 1;
	default:
		return 0;
	}
}

/*
 * The options of a command that writes a new file: -o/--output FILE, and
 * -f/--force where force is not NULL.  0, or the usage exit status.
 */
static int
output_opts(const struct cmd *c, int argc, char **argv, const char **path,
    int *force)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int o;

	optind = 0;
	while ((o = opt_next(c, argc, argv, force != NULL ? "o:fh" : "o:h",
	    lo)) != -1) {
		if (o == -2)
			return EXIT_USAGE;
		if (o == 'o')
			*path = optarg;
		else if (o == 'f' && force != NULL)
			*force = 1;
		else if (o == 'f')
			return usage_error(c, "unknown option '--force'");
	}
	return no_operands(c, argc, argv);
}

/*
 * keygen -o -: the identity file's text on standard output (for a secret
 * store or a pipe), and the public key lines on standard error, where a
 * user still sees them.
 */
static int
keygen_stdout(const sign_key *k)
{
	char buf[256];
	uint8_t pub[SIGN_PUB_LEN];
	int n;

	if ((n = identity_encode(k, buf, sizeof(buf))) < 0) {
		fail("cannot encode the identity: %s", stp_strerror(n));
		return EXIT_RUNTIME;
	}
	fwrite(buf, 1, (size_t)n, stdout);
	crypto_wipe(buf, sizeof(buf));
	sign_key_public(k, pub);
	return print_key(stderr, pub);
}

static int
keygen_main(const struct cmd *c, int argc, char **argv)
{
	char err[ERRBUF_LEN];
	const char *path = NULL;
	uint8_t pub[SIGN_PUB_LEN];
	sign_key *k = NULL;
	int force = 0, rc, status;

	if ((status = output_opts(c, argc, argv, &path, &force)) != 0)
		return status;
	if (path == NULL || path[0] == '\0')
		return usage_error(c, "missing -o FILE");
	if (strcmp(path, "-") == 0 && force)
		return usage_error(c, "--force has no meaning with -o -");

	if ((rc = identity_generate(&k)) != 0) {
		fail("cannot generate a key: %s", stp_strerror(rc));
		status = EXIT_RUNTIME;
		goto out;
	}
	if (strcmp(path, "-") == 0) {
		status = keygen_stdout(k);
		goto out;
	}
	if ((rc = identity_save(path, k, force, err, sizeof(err))) != 0) {
		if (rc == STP_EEXIST) {
			fail("%s: already exists; use --force to replace it",
			    path);
			status = EXIT_USAGE;
		} else {
			/* identity_save left errno saying why. */
			status = rc == STP_EIO && path_errno(errno) ?
			    EXIT_USAGE : EXIT_RUNTIME;
			fail("%s", err);
		}
		goto out;
	}
	sign_key_public(k, pub);
	printf("identity:    %s\n", path);
	status = print_key(stdout, pub);
out:
	sign_key_free(k);
	return status;
}

/* An identity file's text from standard input (pubkey with - or no FILE). */
static int
identity_read_stdin(sign_key **k, char *err, size_t errlen)
{
	char buf[IDENTITY_FILE_MAX + 2];
	size_t len = 0, n;
	int rc;

	if (isatty(STDIN_FILENO)) {
		stp_seterr(err, errlen, "standard input is a terminal: give an "
		    "identity FILE, or pipe one in");
		return STP_EINVAL;
	}
	while (len < IDENTITY_FILE_MAX + 1 &&
	    (n = fread(buf + len, 1, IDENTITY_FILE_MAX + 1 - len, stdin)) > 0)
		len += n;
	if (ferror(stdin)) {
		stp_seterr(err, errlen, "standard input: %s", strerror(errno));
		rc = STP_EIO;
	} else if (len > IDENTITY_FILE_MAX) {
		stp_seterr(err, errlen, "standard input: over %d bytes: not an "
		    "identity file", IDENTITY_FILE_MAX);
		rc = STP_ETOOBIG;
	} else {
		rc = identity_parse("standard input", buf, len, k, err, errlen);
	}
	crypto_wipe(buf, sizeof(buf));
	return rc;
}

static int
pubkey_main(const struct cmd *c, int argc, char **argv)
{
	char err[ERRBUF_LEN], text[IDENTITY_PUBTEXT_LEN + 1];
	const char *path = NULL;
	uint8_t pub[SIGN_PUB_LEN];
	sign_key *k = NULL;
	int rc, status;

	if ((status = one_operand(c, argc, argv, &path)) != 0)
		return status;
	if (path == NULL || strcmp(path, "-") == 0)
		rc = identity_read_stdin(&k, err, sizeof(err));
	else
		rc = identity_load(path, &k, err, sizeof(err));
	if (rc != 0) {
		fail("%s", err);
		return input_status(rc);
	}
	sign_key_public(k, pub);
	sign_key_free(k);
	if ((rc = identity_pub_encode(pub, text)) != 0) {
		fail("cannot encode the public key: %s", stp_strerror(rc));
		return EXIT_RUNTIME;
	}
	printf("%s\n", text);
	return 0;
}

static int
fingerprint_main(const struct cmd *c, int argc, char **argv)
{
	char err[ERRBUF_LEN];
	const char *arg = NULL;
	uint8_t pub[SIGN_PUB_LEN];
	sign_key *k = NULL;
	struct stat st;
	int rc, status;

	if ((status = one_operand(c, argc, argv, &arg)) != 0)
		return status;
	if (arg == NULL)
		return usage_error(c, "missing KEY or FILE");
	if (strncmp(arg, IDENTITY_PUBTEXT_PREFIX,
	    IDENTITY_PUBTEXT_PREFIX_LEN) == 0) {
		rc = identity_pub_decode(arg, pub, err, sizeof(err));
		if (rc != 0) {
			fail("%s: %s", arg, err);
			return input_status(rc);
		}
		return print_key(stdout, pub);
	}
	if (stat(arg, &st) == -1 && errno == ENOENT) {
		fail("%s: no such file, and not a key text (those start with "
		    "'%s')", arg, IDENTITY_PUBTEXT_PREFIX);
		return EXIT_USAGE;
	}
	if ((rc = identity_load(arg, &k, err, sizeof(err))) != 0) {
		fail("%s", err);
		return input_status(rc);
	}
	sign_key_public(k, pub);
	sign_key_free(k);
	return print_key(stdout, pub);
}

static int
secret_main(const struct cmd *c, int argc, char **argv)
{
	char err[ERRBUF_LEN], text[SECRET_TEXT_LEN + 1];
	const char *path = NULL;
	uint8_t secret[SECRET_LEN];
	int rc, status;

	if ((status = output_opts(c, argc, argv, &path, NULL)) != 0)
		return status;
	if (path != NULL && path[0] == '\0')
		return usage_error(c, "-o needs a FILE");

	if ((rc = secret_generate(secret)) != 0) {
		fail("cannot generate a secret: %s", stp_strerror(rc));
		status = EXIT_RUNTIME;
		goto out;
	}
	if (path == NULL) {
		if ((rc = secret_text_encode(secret, text)) != 0) {
			fail("cannot encode the secret: %s", stp_strerror(rc));
			status = EXIT_RUNTIME;
			goto out;
		}
		printf("%s\n", text);
		status = 0;
		goto out;
	}
	/* With -o the secret goes to the file only, not to the terminal. */
	if ((rc = secret_save(path, secret, err, sizeof(err))) != 0) {
		if (rc == STP_EEXIST) {
			fail("%s: already exists; remove it or choose another "
			    "FILE", path);
			status = EXIT_USAGE;
		} else {
			/* secret_save left errno saying why. */
			status = rc == STP_EIO && path_errno(errno) ?
			    EXIT_USAGE : EXIT_RUNTIME;
			fail("%s", err);
		}
		goto out;
	}
	status = 0;
out:
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(text, sizeof(text));
	return status;
}

static const char keygen_help[] =
    "Create a new identity: a fresh Ed25519 secret key, written to FILE\n"
    "with mode 0600.  Prints the public key text, which your peers put in\n"
    "their configs, and its fingerprint, which you read to them so they\n"
    "can check they got the right key.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  where to write the identity (required); '-' writes\n"
    "                     it to standard output and the public key lines to\n"
    "                     standard error\n"
    "  -f, --force        replace FILE if it exists (default: refuse)\n"
    "  -h, --help         show this help\n";

static const char secret_help[] =
    "Print a new random access secret: one line, \"stps1:\" and 48\n"
    "characters (32 secret bytes and a checksum).  Put the same line in the\n"
    "listener's `access_secret:` and in `peers.NAME.access_secret:` of every\n"
    "gateway that dials it.  The listener then answers only HELLOs made with\n"
    "it, and a passive observer who holds a list of candidate public keys\n"
    "can no longer tell from a captured HELLO which of them the listener\n"
    "has (conf/example.yaml).  Keep it as secret as an identity: a config\n"
    "that holds one must not be readable by every user.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  write the line to FILE instead, created with mode\n"
    "                     0600 (an existing FILE is never replaced), and\n"
    "                     print nothing\n"
    "  -h, --help         show this help\n";

static const char pubkey_help[] =
    "Print the public key text (\"stp1:...\") of the identity in FILE,\n"
    "alone on one line, for scripts and config files.  Without FILE, or\n"
    "with '-', the identity is read from standard input.\n"
    "\n"
    "options:\n"
    "  -h, --help  show this help\n";

static const char fingerprint_help[] =
    "Print a public key text and its fingerprint, eight words to compare\n"
    "aloud with the key's owner, who runs 'stpgate fingerprint' on their\n"
    "own identity file.  KEY is a public key text (\"stp1:...\"); any\n"
    "other argument is read as an identity file (write ./stp1:x for a\n"
    "file so named).\n"
    "\n"
    "options:\n"
    "  -h, --help  show this help\n";


static const struct cmd commands[] = {
	{ "run", "run the gateway described by a config file",
	    "run [-c FILE] [--log-level LEVEL] [-v]", run_help, run_main },
	{ "check", "validate a config file and print a summary",
	    "check [-c FILE]", check_help, check_main },
	{ "status", "show the running gateway's peers and sessions",
	    "status [-c FILE] [-s PATH] [--json] [PEER]", status_help, status_main },
	{ "reload", "make the running gateway read its config again",
	    "reload [-c FILE] [-s PATH]", reload_help, reload_main },
	{ "keygen", "create a new identity (a secret key file)",
	    "keygen -o FILE|- [--force]", keygen_help, keygen_main },
	{ "pubkey", "print the public key text of an identity file",
	    "pubkey [FILE|-]", pubkey_help, pubkey_main },
	{ "fingerprint", "print a public key and its fingerprint words",
	    "fingerprint KEY|FILE", fingerprint_help, fingerprint_main },
	{ "secret", "create a new access secret for a listener",
	    "secret [-o FILE]", secret_help, secret_main },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
main_help(void)
{
	size_t i;

	printf("usage: stpgate COMMAND [options]\n"
	    "       stpgate --help | --version\n"
	    "\n"
	    "stpgate carries local TCP connections inside authenticated,\n"
	    "end-to-end encrypted sessions between peers named by their keys.\n"
	    "\n"
	    "commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		printf("  %-12s %s\n", commands[i].name, commands[i].summary);
	printf("\nRun 'stpgate COMMAND --help' for a command's options.\n"
	    "\n"
	    "exit status: 0 success, 1 runtime failure (e.g. an address in use, a\n"
	    "gateway not running), 2 usage, input or config error.\n");
}

/* What a bug report needs: our version and what we run on. */
static int
print_version(void)
{
	printf("stpgate %s (commit %s)\n", STP_VERSION, STP_GIT_COMMIT);
	printf("  %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("  libuv %s\n", uv_version_string());
	printf("  ML-KEM-768: %s\n", mlkem768_default()->name);
	return 0;
}

/* True if argv[1..] asks for help before any "--". */
static int
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

static int
dispatch(int argc, char **argv)
{
	const char *a;
	size_t i;

	if (argc < 2)
		return usage_error(NULL, "missing command");
	a = argv[1];
	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
		main_help();
		return 0;
	}
	if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)
		return print_version();
	if (a[0] == '-')
		return usage_error(NULL, "unknown option '%s'", a);
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(a, commands[i].name) != 0)
			continue;
		if (wants_help(argc - 1, argv + 1))
			return cmd_help(&commands[i]);
		return commands[i].fn(&commands[i], argc - 1, argv + 1);
	}
	return usage_error(NULL, "%s: unknown command", a);
}

int
main(int argc, char **argv)
{
	int status = dispatch(argc, argv);

	if (fflush(stdout) != 0 || ferror(stdout)) {
		fail("stdout: write error: %s", strerror(errno));
		if (status == 0)
			status = EXIT_RUNTIME;
	}
	return status;
}

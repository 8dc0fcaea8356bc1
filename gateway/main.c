/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c: the stpgate command line.
 *
 * Subcommands live in one table; "stpgate --help" lists it and each entry
 * answers its own --help.  Exit status: 0 success, 1 runtime failure (RNG,
 * disk, memory), 2 usage or input error (bad option, unreadable or unsafe
 * file, malformed key).  Every error is one line on stderr, "stpgate: WHAT:
 * reason", where WHAT is the file or argument at fault.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "err.h"
#include "gateway.h"
#include "identity.h"
#include "secret.h"

#ifndef STP_VERSION
#define STP_VERSION "unknown"
#endif

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

#define DEFAULT_CONFIG "/etc/stpgate/stpgate.yaml"
#define STATUS_TIMEOUT_S 5
#define STATUS_ANSWER_MAX (64u << 20)

/* Room for messages that quote a path (twice, for the chmod hint). */
#define ERRBUF_LEN 8448

struct cmd {
	const char *name;
	const char *summary;   /* one line for "stpgate --help" */
	const char *usage;     /* synopsis, after "usage: stpgate " */
	const char *help;      /* the rest of "stpgate NAME --help" */
	/* argv[0] is the command name; returns the exit status. */
	int (*fn)(const struct cmd *c, int argc, char **argv);
};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const struct cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Print "stpgate: <message>" on stderr as exactly one line: control
 * characters (a newline in a file name, say) are shown as '?'.
 */
static void
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
static int
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
 * Pick out the single FILE operand of a command that takes no options
 * (besides --help, handled before).  "--" ends the options.
 */
static int
one_operand(const struct cmd *c, int argc, char **argv, const char **out)
{
	const char *arg = NULL;
	int i, opts = 1;

	for (i = 1; i < argc; i++) {
		if (opts && strcmp(argv[i], "--") == 0) {
			opts = 0;
			continue;
		}
		if (opts && argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error(c, "unknown option '%s'", argv[i]);
		if (arg != NULL)
			return usage_error(c, "unexpected argument '%s'",
			    argv[i]);
		arg = argv[i];
	}
	if (arg == NULL || arg[0] == '\0')
		return usage_error(c, "missing argument");
	*out = arg;
	return 0;
}

/* Print the "public key:" and "fingerprint:" lines for pub. */
static int
print_key(const uint8_t pub[SIGN_PUB_LEN])
{
	char text[IDENTITY_PUBTEXT_LEN + 1], fp[IDENTITY_FP_MAX];
	int rc;

	if ((rc = identity_pub_encode(pub, text)) != 0 ||
	    (rc = identity_fingerprint(pub, fp, sizeof(fp))) != 0) {
		fail("cannot encode the public key: %s", stp_strerror(rc));
		return EXIT_RUNTIME;
	}
	printf("public key:  %s\nfingerprint: %s\n", text, fp);
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
	const char *a;
	int i;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			if (i + 1 >= argc)
				return usage_error(c, "%s needs a FILE", a);
			*path = argv[++i];
		} else if (strncmp(a, "--output=", 9) == 0) {
			*path = a + 9;
		} else if (force != NULL &&
		    (strcmp(a, "-f") == 0 || strcmp(a, "--force") == 0)) {
			*force = 1;
		} else if (a[0] == '-') {
			return usage_error(c, "unknown option '%s'", a);
		} else {
			return usage_error(c, "unexpected argument '%s'", a);
		}
	}
	return 0;
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

	if ((rc = identity_generate(&k)) != 0) {
		fail("cannot generate a key: %s", stp_strerror(rc));
		status = EXIT_RUNTIME;
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
	status = print_key(pub);
out:
	sign_key_free(k);
	return status;
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
	if ((rc = identity_load(path, &k, err, sizeof(err))) != 0) {
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
	if (strncmp(arg, IDENTITY_PUBTEXT_PREFIX,
	    IDENTITY_PUBTEXT_PREFIX_LEN) == 0) {
		rc = identity_pub_decode(arg, pub, err, sizeof(err));
		if (rc != 0) {
			fail("%s: %s", arg, err);
			return input_status(rc);
		}
		return print_key(pub);
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
	return print_key(pub);
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
    "  -o, --output FILE  where to write the identity (required)\n"
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
    "alone on one line, for scripts and config files.\n"
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


/*
 * The -c FILE option of run and check (the only option either takes).
 * Returns 0 with *path set, or the usage exit status.
 */
static int
config_option(const struct cmd *c, int argc, char **argv, const char **path)
{
	int i;

	*path = NULL;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc)
				return usage_error(c, "%s needs a FILE", argv[i]);
			*path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			*path = argv[i] + 9;
		} else {
			return usage_error(c, "unexpected argument '%s'", argv[i]);
		}
	}
	if (*path == NULL || (*path)[0] == '\0')
		return usage_error(c, "missing -c FILE");
	return 0;
}

static int
check_main(const struct cmd *c, int argc, char **argv)
{
	char err[2048], summary[1024];
	const char *path;
	config *cfg = NULL;
	int rc;

	if ((rc = config_option(c, argc, argv, &path)) != 0)
		return rc;
	if ((rc = config_load(path, &cfg, err, sizeof(err))) != 0) {
		fail("%s", err);
		return rc == STP_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	config_summary(cfg, summary, sizeof(summary));
	printf("%s\n", summary);
	config_free(cfg);
	return 0;
}

static int
run_main(const struct cmd *c, int argc, char **argv)
{
	const char *path;
	int rc;

	if ((rc = config_option(c, argc, argv, &path)) != 0)
		return rc;
	/*
	 * Records are sealed and opened in buffers of up to 64 KiB that come
	 * and go at line rate.  glibc's defaults hand freed memory at the top
	 * of the heap back to the kernel above 128 KiB, so the next buffers
	 * fault their pages in again (8% of a gateway's CPU in perf).  Keep up
	 * to 8 MiB, and serve blocks up to 1 MiB from the heap.
	 */
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	return gateway_run(path);
}

static const char check_help[] =
    "Load and validate the config FILE exactly as 'stpgate run' would\n"
    "(YAML, every key and address, cross-references, the identity file and\n"
    "its mode), start nothing, and print a one-line summary.  Errors are\n"
    "printed as FILE:LINE:COL: KEY: REASON.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE  the config file (see conf/example.yaml)\n"
    "  -h, --help         show this help\n"
    "\n"
    "exit status: 0 valid, 2 invalid.\n";

static const char run_help[] =
    "Run the gateway described by the config FILE in the foreground, logging\n"
    "to stderr.  Signals: SIGHUP reloads FILE (a bad file is reported and\n"
    "the running config kept; unchanged peers keep their sessions and\n"
    "streams); SIGTERM or SIGINT drain (no new streams, open ones get up to\n"
    "timeouts.drain to finish), then stop; a second one stops at once.\n"
    "With 'control:' set it answers 'stpgate status' on that Unix socket;\n"
    "with 'metrics:' set it serves Prometheus text at http://ADDR/metrics.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE  the config file (see conf/example.yaml)\n"
    "  -h, --help         show this help\n"
    "\n"
    "exit status: 0 stopped cleanly, 1 runtime failure (e.g. an address in\n"
    "use), 2 config error.\n";

/* ---- status ---- */

/*
 * Send req to the control socket at path and copy the answer to stdout.
 * Returns the exit status.
 */
static int
control_ask(const char *path, const char *req)
{
	struct sockaddr_un sa;
	struct timeval tv = { STATUS_TIMEOUT_S, 0 };
	char *buf = NULL;
	size_t len = 0, cap = 0, rl = strlen(req);
	ssize_t n;
	int fd, e, status = EXIT_RUNTIME;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fail("%s: path too long for a Unix socket", path);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fail("socket: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		e = errno;
		if (e == ENOENT || e == ECONNREFUSED)
			fail("%s: gateway not running (connect: %s)", path, strerror(e));
		else
			fail("%s: connect: %s", path, strerror(e));
		goto out;
	}
	if (write(fd, req, rl) != (ssize_t)rl) {
		fail("%s: cannot send the request: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		if (cap - len < 4096) {
			char *nb;

			if (cap >= STATUS_ANSWER_MAX) {
				fail("%s: answer over %u MiB", path, STATUS_ANSWER_MAX >> 20);
				goto out;
			}
			if ((nb = realloc(buf, cap ? cap * 2 : 16384)) == NULL) {
				fail("out of memory");
				goto out;
			}
			buf = nb;
			cap = cap ? cap * 2 : 16384;
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("%s: %s", path, errno == EAGAIN || errno == EWOULDBLOCK ?
			    "no answer from the gateway within 5 s" : strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len == 0) {
		fail("%s: the gateway closed the connection without an answer", path);
		goto out;
	}
	if (len >= 6 && memcmp(buf, "error:", 6) == 0) {
		buf[len - 1] = '\0';
		fail("%s: gateway says %s", path, buf);
		goto out;
	}
	fwrite(buf, 1, len, stdout);
	status = 0;
out:
	free(buf);
	close(fd);
	return status;
}

static int
status_main(const struct cmd *c, int argc, char **argv)
{
	char err[2048], sock[CFG_PATH_MAX];
	const char *path = NULL;
	config *cfg = NULL;
	int i, rc, json = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc)
				return usage_error(c, "%s needs a FILE", argv[i]);
			path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			path = argv[i] + 9;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (argv[i][0] == '-') {
			return usage_error(c, "unknown option '%s'", argv[i]);
		} else {
			return usage_error(c, "unexpected argument '%s'", argv[i]);
		}
	}
	if (path == NULL) {
		path = getenv("STPGATE_CONFIG");
		if (path == NULL || path[0] == '\0')
			path = DEFAULT_CONFIG;
	}
	if (path[0] == '\0')
		return usage_error(c, "missing -c FILE");
	if ((rc = config_load(path, &cfg, err, sizeof(err))) != 0) {
		fail("%s", err);
		return rc == STP_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	snprintf(sock, sizeof(sock), "%s", cfg->control);
	config_free(cfg);
	if (sock[0] == '\0') {
		fail("%s: no control socket configured; set 'control:' to a path "
		    "(see conf/example.yaml) and restart the gateway", path);
		return EXIT_USAGE;
	}
	return control_ask(sock, json ? "status json\n" : "status\n");
}

static const char status_help[] =
    "Ask the running gateway how its peers are, through its control socket\n"
    "(the config's 'control:' path, mode 0600: run as the gateway's user or\n"
    "root), and print one row per peer:\n"
    "\n"
    "  PEER STATE ADDRESS UPTIME RTT IN OUT STREAMS LAST-ERROR\n"
    "\n"
    "STATE is idle (waiting to be dialed), backoff, connecting, handshake,\n"
    "up or closing; IN and OUT are the apps' bytes from and to the peer.\n"
    "With --json, one JSON document instead:\n"
    "  {\"version\":1,\"pid\":N,\"draining\":false,\"peers\":[{\"peer\":\"bob\",\n"
    "   \"state\":\"up\",\"address\":\"HOST:PORT\",\"session\":\"1a2b3c4d\",\n"
    "   \"uptime_ms\":N,\"rtt_ms\":N,\"bytes_in\":N,\"bytes_out\":N,\n"
    "   \"streams\":N,\"last_error\":\"...\"}]}\n"
    "(\"session\" is null while the session is not up.)\n"
    "\n"
    "options:\n"
    "  -c, --config FILE  the gateway's config file (default: $STPGATE_CONFIG,\n"
    "                     else " DEFAULT_CONFIG ")\n"
    "      --json         print JSON, for scripts\n"
    "  -h, --help         show this help\n"
    "\n"
    "exit status: 0 printed, 1 gateway not running or not answering,\n"
    "2 usage or config error (also: the config has no 'control:').\n";

static const struct cmd commands[] = {
	{ "run", "run the gateway described by a config file",
	    "run -c FILE", run_help, run_main },
	{ "check", "validate a config file and print a summary",
	    "check -c FILE", check_help, check_main },
	{ "status", "show the running gateway's peers and sessions",
	    "status [-c FILE] [--json]", status_help, status_main },
	{ "keygen", "create a new identity (a secret key file)",
	    "keygen -o FILE [--force]", keygen_help, keygen_main },
	{ "pubkey", "print the public key text of an identity file",
	    "pubkey FILE", pubkey_help, pubkey_main },
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
	if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
		printf("stpgate %s\n", STP_VERSION);
		return 0;
	}
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

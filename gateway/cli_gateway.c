/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_gateway.c: the commands about a gateway: run and check (given a
 * config), status and reload (asking a running gateway over its control
 * socket, found from the config without reading the identity, or named
 * with --socket).  The config is $STPGATE_CONFIG, else DEFAULT_CONFIG, when
 * -c is not given.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "gateway.h"

#define STATUS_TIMEOUT_S 5
#define STATUS_ANSWER_MAX (64u << 20)

/* The config a command uses without -c: $STPGATE_CONFIG, else the default. */
static const char *
default_config(void)
{
	const char *p = getenv("STPGATE_CONFIG");

	return p != NULL && p[0] != '\0' ? p : DEFAULT_CONFIG;
}

/*
 * Without -c, a missing default config is said as such (1, reported), so
 * that the user learns which file was tried and how to name another.
 */
static int
default_missing(const char *path, int given)
{
	if (given || access(path, F_OK) == 0)
		return 0;
	fail("%s: %s (the default config; name one with -c FILE or "
	    "$STPGATE_CONFIG)", path, strerror(errno));
	return 1;
}

/* Load path for check, saying so when it is the default and missing. */
static int
load_config(const char *path, int given, config **cfg)
{
	char err[2048];
	int rc;

	if ((rc = config_load(path, cfg, err, sizeof(err))) == 0)
		return 0;
	if (!default_missing(path, given))
		fail("%s", err);
	return rc == STP_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
}

enum { OPT_JSON = 256 };

/*
 * The options of run, check, status and reload (each takes a subset); the
 * operands start at optind (the caller checks them).
 */
struct gw_opts {
	const char *config;
	int config_given;
	const char *socket;
	int json;
	int log_level;          /* -1: the config's */
};

static int
gw_options(const struct cmd *c, int argc, char **argv, const char *shortopts,
    int allow_json, struct gw_opts *g)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	size_t i;
	int o;

	memset(g, 0, sizeof(*g));
	g->log_level = -1;
	optind = 0;
	while ((o = opt_next(c, argc, argv, shortopts, lo)) != -1) {
		if (o == -2)
			return EXIT_USAGE;
		/* A long option of the table this command does not take. */
		if ((o == OPT_JSON && !allow_json) ||
		    (o != OPT_JSON && strchr(shortopts, o) == NULL))
			return usage_error(c, "unknown option '%.*s'",
			    (int)strcspn(argv[optind - 1], "="),
			    argv[optind - 1]);
		switch (o) {
		case 'c':
			if (optarg[0] == '\0')
				return usage_error(c, "-c needs a FILE");
			g->config = optarg;
			g->config_given = 1;
			break;
		case 's':
			if (optarg[0] == '\0')
				return usage_error(c, "-s needs a PATH");
			g->socket = optarg;
			break;
		case 'l':
			for (i = 0; i < 4; i++)
				if (strcmp(optarg, levels[i]) == 0)
					g->log_level = (int)i;
			if (g->log_level < 0)
				return usage_error(c, "--log-level: '%s' is not "
				    "one of error, warn, info, debug", optarg);
			break;
		case 'v':
			g->log_level = LOG_DEBUG;
			break;
		case OPT_JSON:
			g->json = 1;
			break;
		}
	}
	if (g->config == NULL)
		g->config = default_config();
	return 0;
}

int
check_main(const struct cmd *c, int argc, char **argv)
{
	char summary[1024];
	struct gw_opts g;
	config *cfg = NULL;
	int status;

	if ((status = gw_options(c, argc, argv, "c:h", 0, &g)) != 0 ||
	    (status = no_operands(c, argc, argv)) != 0 ||
	    (status = load_config(g.config, g.config_given, &cfg)) != 0)
		return status;
	config_summary(cfg, summary, sizeof(summary));
	printf("%s\n", summary);
	if (cfg->n_peers == 0)
		fprintf(stderr, "stpgate: warning: %s lists no peers: no session "
		    "can be made with this config\n", g.config);
	config_free(cfg);
	return 0;
}

int
run_main(const struct cmd *c, int argc, char **argv)
{
	struct gw_opts g;
	int status;

	if ((status = gw_options(c, argc, argv, "c:l:vh", 0, &g)) != 0 ||
	    (status = no_operands(c, argc, argv)) != 0)
		return status;
	if (default_missing(g.config, g.config_given))
		return EXIT_USAGE;
	/*
	 * Records are sealed and opened in buffers of up to 64 KiB that come
	 * and go at line rate.  glibc's defaults hand freed memory at the top
	 * of the heap back to the kernel above 128 KiB, so the next buffers
	 * fault their pages in again (8% of a gateway's CPU in perf).  Keep up
	 * to 8 MiB, and serve blocks up to 1 MiB from the heap.
	 */
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	return gateway_run(g.config, g.log_level);
}

#define CONFIG_OPT_HELP \
    "  -c, --config FILE  the config file (default: $STPGATE_CONFIG, else\n" \
    "                     " DEFAULT_CONFIG ")\n"

const char check_help[] =
    "Load and validate the config FILE exactly as 'stpgate run' would\n"
    "(YAML, every key and address, cross-references, the identity file and\n"
    "its mode, the control socket's directory), start nothing, and print a\n"
    "one-line summary.  Errors are printed as FILE:LINE:COL: KEY: REASON.\n"
    "\n"
    "options:\n"
    CONFIG_OPT_HELP
    "  -h, --help         show this help\n"
    "\n"
    "exit status: 0 valid, 2 invalid.\n";

const char run_help[] =
    "Run the gateway described by the config FILE in the foreground, logging\n"
    "to stderr.  Signals: SIGHUP reloads FILE (a bad file is reported and\n"
    "the running config kept; unchanged peers keep their sessions and\n"
    "streams); SIGTERM or SIGINT drain (no new streams, open ones get up to\n"
    "timeouts.drain to finish), then stop; a second one stops at once.\n"
    "It answers 'stpgate status' and 'stpgate reload' on its control socket\n"
    "(see 'stpgate status --help'); with 'metrics:' set it serves Prometheus\n"
    "text at http://ADDR/metrics.  Under systemd (Type=notify) it reports\n"
    "when it is ready and each reload's outcome; under journald each line\n"
    "carries its syslog priority instead of a timestamp.\n"
    "\n"
    "options:\n"
    CONFIG_OPT_HELP
    "  -l, --log-level LEVEL  error, warn, info or debug: overrides the\n"
    "                     config's log.level, also after a reload\n"
    "  -v, --verbose      the same as --log-level debug\n"
    "  -h, --help         show this help\n"
    "\n"
    "exit status: 0 stopped cleanly, 1 runtime failure (e.g. an address in\n"
    "use), 2 config error.\n";

/* ---- status and reload ---- */

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
		else if (e == EACCES)
			fail("%s: connect: %s (the socket is mode 0600: run as the "
			    "gateway's user or root)", path, strerror(e));
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
		fail("%s: the gateway says: %s", path, buf + 6 + (buf[6] == ' '));
		goto out;
	}
	fwrite(buf, 1, len, stdout);
	status = 0;
out:
	free(buf);
	close(fd);
	return status;
}

/*
 * The control socket of the gateway run with g's config, into sock:
 * --socket, else the config's control: (or its default).  Reads only that
 * key (config_find_control): never the identity, which an operator may not
 * be allowed to read, and a config the gateway would refuse still names
 * its socket, so `reload` can tell why it was refused.
 */
static int
find_socket(const struct gw_opts *g, char *sock, size_t len)
{
	char err[2048];
	struct stat st;
	int rc, dflt;

	if (g->socket != NULL) {
		snprintf(sock, len, "%s", g->socket);
		return 0;
	}
	if ((rc = config_find_control(g->config, sock, len, &dflt, err,
	    sizeof(err))) != 0) {
		if (!default_missing(g->config, g->config_given))
			fail("%s", err);
		return rc == STP_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	/*
	 * The default depends on who runs us: a gateway started by systemd or
	 * root has its socket in /run/stpgate, where an operator who is not
	 * root would not look first.
	 */
	if (dflt) {
		char alt[CFG_PATH_MAX];

		if ((sock[0] == '\0' || stat(sock, &st) != 0) &&
		    config_control_in("/run/stpgate", g->config, alt,
		    sizeof(alt)) == 0 && stat(alt, &st) == 0 &&
		    S_ISSOCK(st.st_mode))
			snprintf(sock, len, "%s", alt);
	}
	if (sock[0] == '\0') {
		if (!dflt)
			fail("%s: 'control: off': this gateway has no control "
			    "socket", g->config);
		else
			fail("%s: no control socket: without 'control:' the "
			    "gateway puts one in $RUNTIME_DIRECTORY, /run/stpgate "
			    "(as root) or $XDG_RUNTIME_DIR/stpgate, and none of "
			    "those applies here; set 'control:' to a path, or use "
			    "--socket", g->config);
		return EXIT_USAGE;
	}
	return 0;
}

int
status_main(const struct cmd *c, int argc, char **argv)
{
	char sock[CFG_PATH_MAX];
	char req[CFG_NAME_MAX + 16];
	const char *peer = NULL;
	struct gw_opts g;
	int status;

	/* One operand at most: a peer's name, for its row only. */
	if ((status = gw_options(c, argc, argv, "c:s:h", 1, &g)) != 0)
		return status;
	if (optind < argc)
		peer = argv[optind++];
	if ((status = no_operands(c, argc, argv)) != 0)
		return status;
	if (peer != NULL && !config_name_ok(peer, strlen(peer)))
		return usage_error(c, "'%s' is not a peer name (letters, digits, "
		    "'_', '.', '-'; 1 to %d)", peer, CFG_NAME_MAX - 1);
	if ((status = find_socket(&g, sock, sizeof(sock))) != 0)
		return status;
	snprintf(req, sizeof(req), "status%s%s%s\n", g.json ? " json" : "",
	    peer != NULL ? " " : "", peer != NULL ? peer : "");
	return control_ask(sock, req);
}

int
reload_main(const struct cmd *c, int argc, char **argv)
{
	char sock[CFG_PATH_MAX];
	struct gw_opts g;
	int status;

	if ((status = gw_options(c, argc, argv, "c:s:h", 0, &g)) != 0 ||
	    (status = no_operands(c, argc, argv)) != 0 ||
	    (status = find_socket(&g, sock, sizeof(sock))) != 0)
		return status;
	return control_ask(sock, "reload\n");
}

#define SOCKET_OPT_HELP \
    "  -s, --socket PATH  the gateway's control socket (default: the config's\n" \
    "                     'control:'; without one, NAME.sock in\n" \
    "                     $RUNTIME_DIRECTORY, /run/stpgate (as root) or\n" \
    "                     $XDG_RUNTIME_DIR/stpgate, NAME being the config\n" \
    "                     file's name less .yaml)\n"

const char status_help[] =
    "Ask the running gateway how its peers are, through its control socket\n"
    "(mode 0600: run as the gateway's user or root), and print one row per\n"
    "peer (with PEER, that peer's row only; exit 1 if the running config\n"
    "has no such peer):\n"
    "\n"
    "  PEER STATE ADDRESS UPTIME RTT IN OUT STREAMS LAST-ERROR\n"
    "\n"
    "STATE is idle (waiting to be dialed), backoff, connecting, handshake,\n"
    "up or closing; IN and OUT are the apps' bytes from and to the peer.\n"
    "With --json, one JSON document instead:\n"
    "  {\"version\":1,\"pid\":N,\"draining\":false,\"peers\":[{\"peer\":\"bob\",\n"
    "   \"state\":\"up\",\"address\":\"HOST:PORT\",\"session\":\"1a2b3c4d\",\n"
    "   \"uptime_ms\":N,\"rtt_ms\":N,\"bytes_in\":N,\"bytes_out\":N,\n"
    "   \"streams\":N,\"held\":false,\"last_error\":\"...\"}]}\n"
    "(\"session\" is null while the session is not up; \"held\": the\n"
    "streams wait for a resumption after the connection broke, and STREAMS\n"
    "then reads \"N held\".)  The config is read\n"
    "only to find the socket; the identity file is not.\n"
    "\n"
    "options:\n"
    CONFIG_OPT_HELP
    SOCKET_OPT_HELP
    "      --json         print JSON, for scripts\n"
    "  -h, --help         show this help\n"
    "\n"
    "exit status: 0 printed, 1 gateway not running or not answering,\n"
    "2 usage or config error (also: no control socket, control: off).\n";

const char reload_help[] =
    "Ask the running gateway to read its config file again, through its\n"
    "control socket, and print the outcome.  As SIGHUP does: a file that\n"
    "does not load is reported and the running config kept; unchanged peers\n"
    "keep their sessions and streams.  Unlike SIGHUP, the exit status says\n"
    "whether it worked (the systemd units' ExecReload= uses this).\n"
    "\n"
    "options:\n"
    CONFIG_OPT_HELP
    SOCKET_OPT_HELP
    "  -h, --help         show this help\n"
    "\n"
    "exit status: 0 reloaded, 1 the reload failed (the reason is printed)\n"
    "or the gateway is not running, 2 usage or config error.\n";

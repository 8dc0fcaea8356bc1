/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h: what the command line's files share (main.c: the table, the key
 * and secret commands; cli_gateway.c: run, check, status, reload).
 */
#ifndef STP_CLI_H
#define STP_CLI_H

#include <getopt.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

#define DEFAULT_CONFIG "/etc/stpgate/stpgate.yaml"

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

/* "stpgate: <message>" on stderr as exactly one line. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error for command c (NULL: the top level); returns EXIT_USAGE. */
int usage_error(const struct cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * getopt_long with our messages: the next option, -1 when they are done
 * (optind is then the first operand), or -2 after reporting a usage error
 * (unknown option, missing value).  Set optind = 0 before the first call.
 */
int opt_next(const struct cmd *c, int argc, char **argv, const char *shortopts,
    const struct option *longopts);
/* No operands allowed after the options: 0, or the usage exit status. */
int no_operands(const struct cmd *c, int argc, char **argv);

/* cli_gateway.c */
int run_main(const struct cmd *c, int argc, char **argv);
int check_main(const struct cmd *c, int argc, char **argv);
int status_main(const struct cmd *c, int argc, char **argv);
int reload_main(const struct cmd *c, int argc, char **argv);
extern const char run_help[], check_help[], status_help[], reload_help[];

#endif

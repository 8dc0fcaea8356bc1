/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay_main.c: a main() for a fuzz harness built without libFuzzer (any
 * compiler): runs every file named on the command line, and every regular
 * file in every directory named, through LLVMFuzzerTestOneInput once, in
 * name order.  A harness invariant that fails aborts the program; a
 * sanitizer build reports memory errors as usual.  Finding no input at all
 * is a failure, so an emptied corpus is noticed.
 *
 * Usage: fuzz_<name>_replay PATH...
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static unsigned long runs;

static int
run_file(const char *path)
{
	FILE *f;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 4096) {
			uint8_t *nb = realloc(buf, cap + 65536);

			if (nb == NULL) {
				fclose(f);
				free(buf);
				fprintf(stderr, "%s: out of memory\n", path);
				return -1;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	/* An exact-size copy, so an overread past the input is caught. */
	{
		uint8_t *in = malloc(len ? len : 1);

		if (in == NULL) {
			free(buf);
			return -1;
		}
		memcpy(in, buf, len);
		free(buf);
		(void)LLVMFuzzerTestOneInput(in, len);
		free(in);
	}
	runs++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_dir(const char *dir)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i;
	struct stat st;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap + 64) * sizeof(*names));

			if (nn == NULL) {
				rc = -1;
				break;
			}
			names = nn;
			cap += 64;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(path) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	struct stat st;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH...\n", argv[0]);
		return 2;
	}
	(void)LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode) ? run_dir(argv[i]) != 0 :
		    run_file(argv[i]) != 0) {
			rc = 1;
		}
	}
	if (runs == 0) {
		fprintf(stderr, "no input found\n");
		rc = 1;
	}
	printf("replay: %lu passed, %d failed\n", runs, rc);
	return rc;
}

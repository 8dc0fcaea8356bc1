/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_log.c: log lines (gateway/log.c) written to a temporary file and read
 * back: the text and JSON layouts, the timestamp, escaping of hostile bytes
 * in messages and peer names, levels, truncation, log_sid, whole lines from
 * several threads at once, log_limited's burst and its "N similar
 * messages suppressed" note (which needs one 10-second window to pass), and
 * journal mode: the <N> priority prefix, text without our timestamp, and
 * when JOURNAL_STREAM turns it on (stderr pointed at a temporary file).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "testlib.h"

/* log.c lets this many lines per key through in one 10-second window. */
#define BURST 10

static FILE *cap;
static char got[1 << 20];

static void
capture(int level, int format)
{
	if (cap != NULL)
		fclose(cap);
	if ((cap = tmpfile()) == NULL) {
		perror("tmpfile");
		exit(2);
	}
	log_setup(level, format, cap);
}

/* Everything written since capture(), NUL-terminated; returns the length. */
static size_t
captured(void)
{
	size_t n;

	fflush(cap);
	rewind(cap);
	n = fread(got, 1, sizeof(got) - 1, cap);
	got[n] = '\0';
	return n;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
utc_now(char out[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* s starts with YYYY-MM-DDTHH:MM:SS.mmmZ between lo and hi. */
static int
ts_ok(const char *s, const char *lo, const char *hi)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return 0;
	}
	return strncmp(s, lo, 24) >= 0 && strncmp(s, hi, 24) <= 0;
}

static const uint8_t sid[16] = { 0x1a, 0x2b, 0x3c, 0x4d, 0xff, 0xee };

/* One line logged between utc_now() calls: timestamp checked, rest compared. */
#define ONE_LINE(want_rest, call) do { \
	char lo_[32], hi_[32]; \
	size_t n_; \
	utc_now(lo_); \
	call; \
	utc_now(hi_); \
	n_ = captured(); \
	T_INT((long long)count_lines(got), 1); \
	if (T_OK(n_ > 24 && ts_ok(got + (json_ ? 7 : 0), lo_, hi_))) \
		check_rest(got, json_, want_rest); \
} while (0)

static void
check_rest(const char *line, int json, const char *want)
{
	/* JSON: {"ts":"<24>" then the rest; text: <24> then the rest. */
	const char *rest = line + (json ? 7 + 24 : 24);

	if (!t_check(strcmp(rest, want) == 0, __FILE__, __LINE__, t_ctx,
	    "line\n  got  %s  want %s", rest, want))
		return;
}

static void
test_text(void)
{
	const int json_ = 0;

	t_set_ctx("text");
	capture(LOG_INFO, LOG_TEXT);
	ONE_LINE(" info peer=bob sid=1a2b3c4d session up 3\n",
	    log_info("bob", sid, "session up %d", 3));
	capture(LOG_INFO, LOG_TEXT);
	ONE_LINE(" error listening on 127.0.0.1:7000\n",
	    log_error(NULL, NULL, "listening on %s:%d", "127.0.0.1", 7000));
	capture(LOG_INFO, LOG_TEXT);
	ONE_LINE(" warn sid=1a2b3c4d x\n", log_warn(NULL, sid, "x"));

	t_set_ctx("text escaping");
	capture(LOG_INFO, LOG_TEXT);
	ONE_LINE(" info peer=b?b?x line\\nfake 2026 error\\ttab\\x01\\x7f \"q\" \\ \xc3\xa9 ?? ???\n",
	    log_info("b b\nx", NULL, "line\nfake 2026 error\ttab\x01\x7f \"q\" \\ "
	    "\xc3\xa9 \xff\x80 \xed\xa0\x80"));
	t_section("text");
}

static void
test_json(void)
{
	const int json_ = 1;

	t_set_ctx("json");
	capture(LOG_INFO, LOG_JSON);
	ONE_LINE("\",\"level\":\"info\",\"peer\":\"bob\",\"sid\":\"1a2b3c4d\","
	    "\"msg\":\"session up 3\"}\n",
	    log_info("bob", sid, "session up %d", 3));
	T_OK(strncmp(got, "{\"ts\":\"", 7) == 0);
	capture(LOG_DEBUG, LOG_JSON);
	ONE_LINE("\",\"level\":\"debug\",\"msg\":\"no peer\"}\n",
	    log_debug(NULL, NULL, "no peer"));

	t_set_ctx("json escaping");
	capture(LOG_INFO, LOG_JSON);
	ONE_LINE("\",\"level\":\"warn\",\"peer\":\"a\\\"b\\\\\\n\","
	    "\"msg\":\"q\\\" b\\\\ n\\n r\\r t\\t c\\u0001\\u001f\\u007f "
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91 \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd "
	    "\\ufffd\\ufffd\"}\n",
	    log_warn("a\"b\\\n", NULL, "q\" b\\ n\n r\r t\t c\x01\x1f\x7f "
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91 \xc0\xaf \xed\xa0\x80 \xf4\x90"));
	t_section("json");
}

static void
test_levels(void)
{
	t_set_ctx("levels");
	capture(LOG_WARN, LOG_TEXT);
	T_OK(log_enabled(LOG_ERROR));
	T_OK(log_enabled(LOG_WARN));
	T_OK(!log_enabled(LOG_INFO));
	T_OK(!log_enabled(LOG_DEBUG));
	log_debug(NULL, NULL, "d");
	log_info(NULL, NULL, "i");
	log_warn(NULL, NULL, "w");
	log_error(NULL, NULL, "e");
	captured();
	T_INT((long long)count_lines(got), 2);
	T_OK(strstr(got, " warn w\n") != NULL && strstr(got, " error e\n") != NULL);

	capture(LOG_ERROR, LOG_TEXT);
	log_warn(NULL, NULL, "w");
	log_limited(LOG_WARN, "levels", NULL, "w");
	captured();
	T_INT((long long)count_lines(got), 0);

	capture(LOG_DEBUG, LOG_TEXT);
	T_OK(log_enabled(LOG_DEBUG));
	log_debug("p", NULL, "d");
	captured();
	T_OK(strstr(got, " debug peer=p d\n") != NULL);
	t_section("levels");
}

static void
test_truncation(void)
{
	static char big[5000];

	t_set_ctx("truncation");
	memset(big, 'x', sizeof(big) - 1);
	capture(LOG_INFO, LOG_JSON);
	log_info("p", NULL, "%s", big);
	captured();
	T_INT((long long)count_lines(got), 1);
	T_OK(strlen(got) < 2048);
	T_OK(strlen(got) > 4 && strcmp(got + strlen(got) - 6, "...\"}\n") == 0);
	t_section("truncation");
}

static void
test_sid(void)
{
	const char *p[8];
	int i, j, distinct = 1;

	t_set_ctx("log_sid");
	T_OK(strcmp(log_sid(sid), "1a2b3c4d") == 0);
	T_OK(strcmp(log_sid(NULL), "-") == 0);
	for (i = 0; i < 8; i++)
		p[i] = log_sid(sid);
	for (i = 0; i < 8; i++)
		for (j = i + 1; j < 8; j++)
			distinct &= p[i] != p[j];
	T_OK(distinct);
	t_section("log_sid");
}

#define THREADS 4
#define PER_THREAD 2000

static void *
writer(void *arg)
{
	int t = (int)(intptr_t)arg - 1, i;

	for (i = 0; i < PER_THREAD; i++) {
		log_info("peer", sid, "thread %d line %d %s", t, i,
		    "padding padding padding padding padding padding padding");
		if (strcmp(log_sid(sid), "1a2b3c4d") != 0)
			return arg;  /* any non-NULL: a buffer was overwritten */
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t th[THREADS];
	int seen[THREADS] = { 0 }, i, t, n, bad = 0;
	char *line, *save = NULL;

	t_set_ctx("threads");
	capture(LOG_INFO, LOG_TEXT);
	for (i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, writer, (void *)(intptr_t)(i + 1));
	for (i = 0; i < THREADS; i++) {
		void *ret = NULL;

		pthread_join(th[i], &ret);
		T_OK(ret == NULL);
	}
	captured();
	T_INT((long long)count_lines(got), THREADS * PER_THREAD);
	for (line = strtok_r(got, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strlen(line) < 24 ||
		    sscanf(line + 24, " info peer=peer sid=1a2b3c4d thread %d line %d",
		    &t, &n) != 2 || t < 0 || t >= THREADS || n != seen[t] ||
		    strcmp(line + strlen(line) - 15, "padding padding") != 0) {
			bad++;
			continue;
		}
		seen[t]++;
	}
	T_INT(bad, 0);
	for (i = 0; i < THREADS; i++)
		T_INT(seen[i], PER_THREAD);
	t_section("whole lines from 4 threads");
}

static void
test_limited(void)
{
	static const char k1[] = "handshake_rejected";
	char k1_copy[sizeof(k1)];
	struct timespec ts = { 10, 200 * 1000000 };
	int i;

	t_set_ctx("log_limited");
	capture(LOG_INFO, LOG_TEXT);
	for (i = 0; i < 25; i++)
		log_limited(LOG_WARN, k1, "bob", "rejected %d", i);
	for (i = 0; i < 3; i++)
		log_limited(LOG_WARN, "other_key", NULL, "other %d", i);
	/* Same text at another address: the same key. */
	memcpy(k1_copy, k1, sizeof(k1));
	log_limited(LOG_WARN, k1_copy, "bob", "rejected copy");
	/* A disabled level is neither written nor counted. */
	log_limited(LOG_DEBUG, k1, "bob", "debug");
	captured();
	T_INT((long long)count_lines(got), BURST + 3);
	T_OK(strstr(got, "rejected 9\n") != NULL);
	T_OK(strstr(got, "rejected 10\n") == NULL);
	T_OK(strstr(got, "rejected copy") == NULL);
	T_OK(strstr(got, "other 2\n") != NULL);
	T_OK(strstr(got, "suppressed") == NULL);

	/* A new window: the first line that passes carries the count. */
	nanosleep(&ts, NULL);
	capture(LOG_INFO, LOG_TEXT);
	log_limited(LOG_WARN, k1, "bob", "again");
	log_limited(LOG_WARN, k1, "bob", "and again");
	log_limited(LOG_WARN, "other_key", NULL, "other again");
	captured();
	T_INT((long long)count_lines(got), 3);
	T_OK(strstr(got, " warn peer=bob again (16 similar messages suppressed)\n")
	    != NULL);
	T_OK(strstr(got, " warn peer=bob and again\n") != NULL);
	T_OK(strstr(got, " warn other again\n") != NULL);

	capture(LOG_INFO, LOG_JSON);
	for (i = 0; i < BURST + 1; i++)
		log_limited(LOG_WARN, "json_key", NULL, "j %d", i);
	captured();
	T_INT((long long)count_lines(got), BURST);
	t_section("log_limited");
}

/* The exact bytes of one line logged by call, journal mode forced on. */
#define JOURNAL_LINE(want, call) do { \
	capture(LOG_DEBUG, LOG_TEXT); \
	log_set_journal(1); \
	call; \
	captured(); \
	t_check(strcmp(got, want) == 0, __FILE__, __LINE__, t_ctx, \
	    "line\n  got  %s  want %s", got, want); \
} while (0)

/*
 * Point stderr at a new temporary file, set JOURNAL_STREAM to env (NULL:
 * unset; "MATCH": that file's DEV:INO), log_setup(LOG_INFO, format, out),
 * log one info line, put stderr back.  Returns log_journal() as log_setup
 * left it; the file's bytes are in got.
 */
static int
journal_env(const char *env, int format, int out_stderr)
{
	FILE *f = tmpfile();
	char v[64];
	struct stat st;
	int saved, on;

	fflush(stderr);
	if (f == NULL || (saved = dup(2)) < 0 || dup2(fileno(f), 2) < 0) {
		perror("journal_env");
		exit(2);
	}
	if (env == NULL)
		unsetenv("JOURNAL_STREAM");
	else if (strcmp(env, "MATCH") == 0) {
		fstat(fileno(f), &st);
		snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", v, 1);
	} else
		setenv("JOURNAL_STREAM", env, 1);
	log_setup(LOG_INFO, format, out_stderr ? stderr : NULL);
	on = log_journal();
	log_info("bob", NULL, "hello %d", 7);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	rewind(f);
	got[fread(got, 1, sizeof(got) - 1, f)] = '\0';
	fclose(f);
	return on;
}

static void
test_journal(void)
{
	char lo[32], hi[32], v[64];
	struct stat st;
	FILE *f;

	t_set_ctx("journal text");
	JOURNAL_LINE("<6>info peer=bob sid=1a2b3c4d session up 3\n",
	    log_info("bob", sid, "session up %d", 3));
	JOURNAL_LINE("<3>error listening on 127.0.0.1:7000\n",
	    log_error(NULL, NULL, "listening on %s:%d", "127.0.0.1", 7000));
	JOURNAL_LINE("<4>warn sid=1a2b3c4d x\n", log_warn(NULL, sid, "x"));
	JOURNAL_LINE("<7>debug peer=p d\n", log_debug("p", NULL, "d"));
	/* A message cannot forge a priority of its own on a new line. */
	JOURNAL_LINE("<6>info a\\n<3>forged\n", log_info(NULL, NULL, "a\n<3>forged"));
	JOURNAL_LINE("<4>warn peer=bob again\n",
	    log_limited(LOG_WARN, "journal_key", "bob", "again"));

	t_set_ctx("journal json");
	capture(LOG_INFO, LOG_JSON);
	log_set_journal(1);
	T_OK(log_journal());
	utc_now(lo);
	log_warn("bob", sid, "x %d", 1);
	utc_now(hi);
	captured();
	T_INT((long long)count_lines(got), 1);
	/* <4>{"ts":"<24>" then the rest: JSON keeps its timestamp. */
	if (T_OK(strncmp(got, "<4>{\"ts\":\"", 10) == 0 && strlen(got) > 34 &&
	    ts_ok(got + 10, lo, hi)))
		T_OK(strcmp(got + 34, "\",\"level\":\"warn\",\"peer\":\"bob\","
		    "\"sid\":\"1a2b3c4d\",\"msg\":\"x 1\"}\n") == 0);

	t_set_ctx("journal off again");
	/* log_setup decides again: a stream of our own is never the journal. */
	capture(LOG_INFO, LOG_TEXT);
	T_OK(!log_journal());
	log_info(NULL, NULL, "plain");
	captured();
	T_OK(got[0] >= '0' && got[0] <= '9' && strlen(got) > 24 &&
	    strcmp(got + 24, " info plain\n") == 0);

	t_set_ctx("JOURNAL_STREAM");
	T_OK(journal_env("MATCH", LOG_TEXT, 0));
	T_OK(strcmp(got, "<6>info peer=bob hello 7\n") == 0);
	T_OK(journal_env("MATCH", LOG_TEXT, 1));     /* stderr named, not NULL */
	T_OK(strcmp(got, "<6>info peer=bob hello 7\n") == 0);
	T_OK(journal_env("MATCH", LOG_JSON, 0));
	T_OK(strncmp(got, "<6>{\"ts\":\"", 10) == 0 && strlen(got) > 34 &&
	    strcmp(got + 34, "\",\"level\":\"info\",\"peer\":\"bob\",\"msg\":\"hello 7\"}\n") == 0);
	/* Another file (stderr redirected since systemd set it), unset, malformed. */
	if ((f = tmpfile()) == NULL || fstat(fileno(f), &st) != 0) {
		perror("tmpfile");
		exit(2);
	}
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	T_OK(!journal_env(v, LOG_TEXT, 0));
	T_OK(strlen(got) > 24 && got[0] != '<' &&
	    strcmp(got + 24, " info peer=bob hello 7\n") == 0);
	fclose(f);
	T_OK(!journal_env(NULL, LOG_TEXT, 0));
	T_OK(got[0] != '<');
	T_OK(!journal_env("", LOG_TEXT, 0));
	T_OK(!journal_env("garbage", LOG_TEXT, 0));
	T_OK(!journal_env("12", LOG_TEXT, 0));
	T_OK(!journal_env("12:", LOG_TEXT, 0));
	T_OK(!journal_env(":12", LOG_TEXT, 0));
	T_OK(!journal_env("-1:-1", LOG_TEXT, 0));
	T_OK(!journal_env("99999999999999999999999:1", LOG_TEXT, 0));
	T_OK(got[0] != '<');
	t_section("journal mode");
}

int
main(void)
{
	test_text();
	test_json();
	test_levels();
	test_truncation();
	test_sid();
	test_threads();
	test_limited();
	test_journal();
	log_setup(LOG_INFO, LOG_TEXT, NULL);
	fclose(cap);
	return t_done();
}

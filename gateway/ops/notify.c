/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify.c: the service manager's notification protocol (notify.h), our own
 * few lines rather than libsystemd: one AF_UNIX datagram per message to the
 * socket NOTIFY_SOCKET names, a filesystem path ("/run/...") or, with a
 * leading '@', a name in the abstract namespace (the '@' stands for the
 * leading NUL byte, and the address length counts only the name).
 *
 * A socket is made for each message and closed after it: messages are a
 * handful per reload, and nothing is left open for a child to inherit or for
 * a restarted manager to find stale.  The socket is non-blocking, so a
 * manager that does not read can cost us a lost message, never a stalled
 * loop.
 */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define NOTIFY_MSG_MAX 2048

static int warned;      /* the first failure is a warning, later ones debug */

static void notify_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
notify_fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!warned) {
		warned = 1;
		log_warn(NULL, NULL, "%s (further notify errors are logged at debug)", msg);
	} else
		log_debug(NULL, NULL, "%s", msg);
}

/* NOTIFY_SOCKET as an address; 0, or -1 after saying why not. */
static int
notify_addr(const char *name, struct sockaddr_un *sa, socklen_t *salen)
{
	size_t n = strlen(name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (name[0] != '/' && name[0] != '@') {
		notify_fail("NOTIFY_SOCKET=%s: not a socket path or @name; not notifying",
		    name);
		return -1;
	}
	if (n >= sizeof(sa->sun_path)) {
		notify_fail("NOTIFY_SOCKET=%s: longer than a socket address; not notifying",
		    name);
		return -1;
	}
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@') {
		sa->sun_path[0] = '\0';
		*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else
		*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

void
notify_send(const char *fmt, ...)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	char msg[NOTIFY_MSG_MAX];
	va_list ap;
	ssize_t sent;
	int fd, n, e;

	if (name == NULL || name[0] == '\0')
		return;
	if (notify_addr(name, &sa, &salen) != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;    /* a STATUS cut short still parses */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1) {
		notify_fail("notify: cannot make a socket: %s", strerror(errno));
		return;
	}
	sent = sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	e = errno;
	close(fd);
	if (sent < 0)
		notify_fail("notify: cannot send to NOTIFY_SOCKET=%s: %s", name, strerror(e));
	else
		log_debug(NULL, NULL, "notify: %.*s", n, msg);
}

void
notify_clean(const char *s, char *out, size_t len)
{
	size_t i;

	if (len == 0)
		return;
	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
	out[i] = '\0';
}

unsigned long long
notify_monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull +
	    (unsigned long long)ts.tv_nsec / 1000ull;
}

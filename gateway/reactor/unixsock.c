/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unixsock.c: listening Unix sockets at a path (unixsock.h).  We make and
 * bind the socket ourselves: uv_pipe_bind reports a missing directory
 * (ENOENT) as EACCES, "permission denied", which sends an operator looking
 * at the wrong thing.
 */
#include "unixsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

static int
sun_of(const char *path, struct sockaddr_un *sa)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n == 0 || n > UNIXSOCK_PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, path, n);
	return 0;
}

int
unixsock_probe(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc, e;

	if (sun_of(path, &sa) != 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	/* A full backlog (EAGAIN) still means someone listens. */
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
		return 1;
	if (e == ECONNREFUSED)
		return 0;
	errno = e;
	return -1;
}

/* Replace a stale socket file at path; refuse a live one or a non-socket. */
static int
clear_path(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int live;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return STP_EIO;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s %s: exists and is not a socket; not "
		    "replacing it", what, path);
		return STP_EEXIST;
	}
	if ((live = unixsock_probe(path)) == 1) {
		snprintf(err, errlen, "%s %s: a running process listens on it "
		    "(another gateway?)", what, path);
		return STP_EEXIST;
	}
	if (live < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return STP_EIO;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s %s: cannot remove the stale socket: %s",
		    what, path, strerror(errno));
		return STP_EIO;
	}
	log_info(NULL, NULL, "%s %s: removed a stale socket", what, path);
	return 0;
}

int
unixsock_listen(unixsock *u, const char *what, const char *path, int backlog,
    mode_t mode, uid_t uid, gid_t gid, int *fd, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t mask;
	int s, rc, e;

	memset(u, 0, sizeof(*u));
	if (sun_of(path, &sa) != 0) {
		snprintf(err, errlen, "%s %s: the path is too long for a socket "
		    "(at most %zu bytes)", what, path, UNIXSOCK_PATH_MAX);
		return STP_EIO;
	}
	if ((rc = clear_path(what, path, err, errlen)) != 0)
		return rc;
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "%s %s: cannot make a socket: %s", what, path,
		    strerror(errno));
		return STP_EIO;
	}
	/* Born 0600: nobody else can connect before the mode below. */
	mask = umask(0177);
	rc = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	umask(mask);
	if (rc != 0) {
		snprintf(err, errlen, "%s %s: cannot bind: %s", what, path, strerror(e));
		close(s);
		return STP_EIO;
	}
	snprintf(u->path, sizeof(u->path), "%s", path);
	if (lstat(path, &st) != 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		goto fail;
	}
	u->dev = st.st_dev;
	u->ino = st.st_ino;
	u->bound = 1;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0) {
		snprintf(err, errlen, "%s %s: cannot set its owner/group to %ld:%ld: %s",
		    what, path, uid == (uid_t)-1 ? -1L : (long)uid,
		    gid == (gid_t)-1 ? -1L : (long)gid, strerror(errno));
		goto fail;
	}
	if (chmod(path, mode) != 0) {
		snprintf(err, errlen, "%s %s: chmod %04o: %s", what, path,
		    (unsigned)mode, strerror(errno));
		goto fail;
	}
	if (listen(s, backlog) != 0) {
		snprintf(err, errlen, "%s %s: cannot listen: %s", what, path,
		    strerror(errno));
		goto fail;
	}
	*fd = s;
	return 0;
fail:
	close(s);
	unixsock_unlink(u);
	return STP_EIO;
}

void
unixsock_unlink(unixsock *u)
{
	struct stat st;

	if (u->bound && lstat(u->path, &st) == 0 && st.st_dev == u->dev &&
	    st.st_ino == u->ino)
		unlink(u->path);
	u->bound = 0;
}

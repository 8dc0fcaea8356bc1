/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unixsock.h: a listening Unix socket at a path, made the one safe way for
 * the control socket and for forwards that listen on `unix:PATH`.
 *
 * - A socket file nobody accepts on any more (left by a process that is
 *   gone) is replaced, and the log says so; a file where a process still
 *   accepts, or a file that is not a socket, is refused and left alone.
 * - The socket is bound under umask 0177, so it is born 0600; it then gets
 *   its owner and group, then its mode.  Nobody the final mode does not
 *   admit can connect at any moment in between.
 * - unixsock_unlink removes the file only while it is still the one bound
 *   here (same device and inode), never a socket another process put there
 *   since.
 *
 * No libuv: the caller hands the descriptor to uv_pipe_open or polls it.
 */
#ifndef STP_UNIXSOCK_H
#define STP_UNIXSOCK_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#define UNIXSOCK_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

typedef struct unixsock {
	char path[UNIXSOCK_PATH_MAX + 1];
	dev_t dev;
	ino_t ino;
	int bound;              /* the file at path is ours */
} unixsock;

/*
 * Bind and listen at path (what names it in messages: "control socket",
 * "forward"); mode (e.g. 0600, 0660) is applied last, uid / gid first
 * unless (uid_t)-1 / (gid_t)-1.  0 with *fd (non-blocking, close-on-exec)
 * and *u filled; else STP_EEXIST (a live socket or not a socket there) or
 * STP_EIO, with one line in err: "WHAT PATH: reason".
 */
int unixsock_listen(unixsock *u, const char *what, const char *path, int backlog,
    mode_t mode, uid_t uid, gid_t gid, int *fd, char *err, size_t errlen);

/* Remove the socket file if it is still the one u bound; then u is unbound. */
void unixsock_unlink(unixsock *u);

/*
 * Is a process accepting on the socket at path?  1 yes, 0 no (a stale
 * file: connect refused), or -1 with errno when that cannot be told.
 */
int unixsock_probe(const char *path);

#endif

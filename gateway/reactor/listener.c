/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listener.c: listening sockets polled by the loop, accepted by hand, and
 * what happens at the open-files limit.  See listener.h.
 *
 * Why not uv_listen: libuv 1.44 answers EMFILE on accept by closing a spare
 * descriptor of its own, accepting and closing every pending connection,
 * and telling the connection callback nothing, so such refusals could be
 * neither logged nor counted; and once that spare is gone (another thread
 * took the slot before libuv could reopen it), it calls back with UV_EMFILE
 * and accepts again at once, in a loop that never returns while the process
 * is at its limit.  Here every failed accept is counted and logged, the same
 * spare trick sheds the pending connections (each app sees its connection
 * closed at once), and a listener that cannot shed pauses for
 * ACCEPT_PAUSE_MS instead of spinning.
 */
#define _GNU_SOURCE /* accept4: a new connection non-blocking and close-on-exec in one call */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "metrics.h"
#include "unixsock.h"

#define BACKLOG 511
#define ACCEPT_BATCH 64   /* accepts per readable event, then other work */
#define ACCEPT_PAUSE_MS 1000 /* a listener that could not shed waits this long */

struct listeners {
	uv_loop_t *loop;
	uint64_t nofile;            /* RLIMIT_NOFILE's soft limit, for logs */
	int spare_fd;               /* closed to accept and shed at EMFILE */
	uv_timer_t accept_timer;    /* resumes paused listeners */
	struct listener *all;       /* the open ones */
};

struct listener {
	uv_poll_t poll;             /* first: the handle's address is the listener's */
	int fd;
	int kind;                   /* M_ACC_PEER or M_ACC_FORWARD */
	int paused;                 /* polling stopped until the accept timer */
	listeners *set;
	struct listener *next;      /* in set->all */
	char at[CFG_HOST_MAX + 8];  /* the address, for logs */
	int is_unix;
	unixsock us;                /* a unix: listener's socket file */
	listener_take_cb take;      /* a new connection */
	void *arg;
};

static void accept_timer_fired(uv_timer_t *t);
static void on_listener_readable(uv_poll_t *h, int status, int events);

listeners *
listeners_new(uv_loop_t *loop, uint64_t nofile)
{
	listeners *ls = calloc(1, sizeof(*ls));

	if (ls == NULL)
		return NULL;
	ls->loop = loop;
	ls->nofile = nofile;
	ls->spare_fd = -1;
	uv_timer_init(loop, &ls->accept_timer);
	ls->accept_timer.data = ls;
	return ls;
}

/* Keep a descriptor in reserve (see above); 0 if one is held. */
int
listeners_spare(listeners *ls)
{
	if (ls->spare_fd < 0)
		ls->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return ls->spare_fd >= 0 ? 0 : -1;
}

void
listeners_stop(listeners *ls)
{
	if (!uv_is_closing((uv_handle_t *)&ls->accept_timer))
		uv_close((uv_handle_t *)&ls->accept_timer, NULL);
}

void
listeners_free(listeners *ls)
{
	if (ls == NULL)
		return;
	if (ls->spare_fd >= 0)
		close(ls->spare_fd);
	free(ls);
}

const char *
listener_addr(const listener *l)
{
	return l->at;
}

/* A handle for an accepted descriptor: a uv_tcp_t, or a uv_pipe_t. */
static uv_stream_t *
handle_open(struct listener *l, int fd, int *rc)
{
	union app_handle *h = malloc(sizeof(*h));

	if (h == NULL) {
		*rc = UV_ENOMEM;
		return NULL;
	}
	if (l->is_unix) {
		uv_pipe_init(l->set->loop, &h->pipe, 0);
		*rc = uv_pipe_open(&h->pipe, fd);
	} else {
		uv_tcp_init(l->set->loop, &h->tcp);
		*rc = uv_tcp_open(&h->tcp, fd);
	}
	if (*rc != 0) {
		uv_close((uv_handle_t *)h, (uv_close_cb)free);
		return NULL;
	}
	return (uv_stream_t *)h;
}

/* The accept-error counter's reason for errno e. */
static int
accept_reason(int e)
{
	return e == EMFILE ? M_ACC_EMFILE : e == ENFILE ? M_ACC_ENFILE : M_ACC_OTHER;
}

static void
listener_pause(struct listener *l)
{
	if (l->paused)
		return;
	uv_poll_stop(&l->poll);
	l->paused = 1;
	if (!uv_is_active((uv_handle_t *)&l->set->accept_timer))
		uv_timer_start(&l->set->accept_timer, accept_timer_fired, ACCEPT_PAUSE_MS, 0);
}

/*
 * accept() failed with errno e.  At the open-files limit (EMFILE, or the
 * system's: ENFILE) free the spare descriptor, accept and close every
 * pending connection so each app hears at once that we cannot take it, and
 * take the spare again.  Without a spare (or on ENOBUFS, ENOMEM...) the
 * listener pauses: the loop must not spin on a listener it cannot drain.
 */
static void
accept_failed(struct listener *l, int e)
{
	/* One rate-limit key per listener and reason. */
	static const char *const keys[M_ACC_LISTENERS][M_ACC_REASONS] = {
		{ "accept peer emfile", "accept peer enfile", "accept peer other" },
		{ "accept forward emfile", "accept forward enfile", "accept forward other" },
	};
	listeners *ls = l->set;
	int r = accept_reason(e), fd;
	unsigned shed = 0;

	if ((e == EMFILE || e == ENFILE) && ls->spare_fd >= 0) {
		close(ls->spare_fd);
		ls->spare_fd = -1;
		for (;;) {
			fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0) {
				close(fd);
				shed++;
			} else if (errno != EINTR && errno != ECONNABORTED) {
				break;
			}
		}
		(void)listeners_spare(ls);
	}
	/* A connection refused, or at least the one accept that failed. */
	stp_metrics.accept_errors[l->kind][r] += shed > 0 ? shed : 1;
	if (shed > 0)
		log_limited(LOG_WARN, keys[l->kind][r], NULL,
		    "accept on %s failed: %s (open files: limit %llu); closed %u waiting "
		    "connection%s at once", l->at, strerror(e), (unsigned long long)ls->nofile,
		    shed, shed == 1 ? "" : "s");
	else
		log_limited(LOG_WARN, keys[l->kind][r], NULL,
		    "accept on %s failed: %s (open files: limit %llu); not accepting for %u ms",
		    l->at, strerror(e), (unsigned long long)ls->nofile, ACCEPT_PAUSE_MS);
	if (shed == 0 || ls->spare_fd < 0)
		listener_pause(l);
}

static void
on_listener_readable(uv_poll_t *h, int status, int events)
{
	struct listener *l = h->data;
	uv_stream_t *app;
	int i, fd, rc;

	(void)events;
	if (status < 0) {
		stp_metrics.accept_errors[l->kind][M_ACC_OTHER]++;
		log_limited(LOG_WARN, l->kind == M_ACC_PEER ? "accept peer other" :
		    "accept forward other", NULL, "listening on %s failed: %s", l->at,
		    uv_strerror(status));
		listener_pause(l);
		return;
	}
	for (i = 0; i < ACCEPT_BATCH && !l->paused; i++) {
		if ((fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Gone before we took it, or (Linux) the new socket's
			 * pending network error: the next one may be fine. */
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO ||
			    errno == ENETDOWN || errno == ENOPROTOOPT || errno == EHOSTDOWN ||
			    errno == ENONET || errno == EHOSTUNREACH || errno == EOPNOTSUPP ||
			    errno == ENETUNREACH)
				continue;
			accept_failed(l, errno);
			return;
		}
		if ((app = handle_open(l, fd, &rc)) == NULL) {
			close(fd);
			if (rc == UV_ENOMEM) {
				accept_failed(l, ENOMEM);
				return;
			}
			stp_metrics.accept_errors[l->kind][accept_reason(-rc)]++;
			log_limited(LOG_WARN, l->kind == M_ACC_PEER ? "accept peer other" :
			    "accept forward other", NULL, "accept on %s failed: %s", l->at,
			    uv_strerror(rc));
			continue;
		}
		/* take may close the listener (not today; cheap to allow): its
		 * memory lasts until the close callback, after this returns. */
		l->take(l->arg, app);
		if (uv_is_closing((uv_handle_t *)&l->poll))
			return;
	}
}

/* Resume the listeners that paused; those still failing pause again. */
static void
accept_timer_fired(uv_timer_t *t)
{
	listeners *ls = t->data;
	struct listener *l;

	(void)listeners_spare(ls);
	for (l = ls->all; l != NULL; l = l->next) {
		if (l->paused) {
			l->paused = 0;
			uv_poll_start(&l->poll, UV_READABLE, on_listener_readable);
		}
	}
}

int
listener_open(listeners *ls, int kind, const cfg_addr *a,
    const listener_unix *ux, listener_take_cb take, void *arg, listener **out,
    char *err, size_t errlen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
	socklen_t salen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	struct listener *l = calloc(1, sizeof(*l));
	int on = 1, off = 0, e, rc;

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return STP_ENOMEM;
	}
	config_addr_text(l->at, sizeof(l->at), a);
	l->set = ls;
	l->kind = kind;
	l->take = take;
	l->arg = arg;
	if (a->is_unix) {
		l->is_unix = 1;
		if ((rc = unixsock_listen(&l->us, "unix socket", a->host,
		    BACKLOG, ux != NULL ? ux->mode : 0600, ux != NULL ?
		    (uid_t)ux->uid : (uid_t)-1, ux != NULL ? (gid_t)ux->gid :
		    (gid_t)-1, &l->fd, err, errlen)) != 0) {
			free(l);
			return rc == STP_EEXIST ? STP_EIO : rc;
		}
		goto poll;
	}
	if ((l->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		goto fail;
	/* As uv_tcp_bind did: rebind at once after a restart, and an IPv6
	 * address takes IPv4-mapped connections too. */
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    (sa->sa_family == AF_INET6 && setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &off, sizeof(off)) != 0) ||
	    bind(l->fd, sa, salen) != 0 || listen(l->fd, BACKLOG) != 0)
		goto fail;
poll:
	if ((e = uv_poll_init_socket(ls->loop, &l->poll, l->fd)) != 0) {
		close(l->fd);
		unixsock_unlink(&l->us);
		snprintf(err, errlen, "cannot listen on %s: %s", l->at, uv_strerror(e));
		free(l);
		return STP_EIO;
	}
	l->poll.data = l;
	uv_poll_start(&l->poll, UV_READABLE, on_listener_readable);
	l->next = ls->all;
	ls->all = l;
	*out = l;
	return 0;
fail:
	e = errno;
	if (l->fd >= 0)
		close(l->fd);
	snprintf(err, errlen, "cannot listen on %s: %s", l->at, uv_strerror(-e));
	free(l);
	return STP_EIO;
}

void
listener_close(listener *l)
{
	struct listener **pp;

	for (pp = &l->set->all; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	/* uv_close takes the socket out of the poll set at once: close it now.
	 * The poll handle is first in the listener: the close frees it. */
	uv_close((uv_handle_t *)&l->poll, (uv_close_cb)free);
	close(l->fd);
	l->fd = -1;
	unixsock_unlink(&l->us);
}

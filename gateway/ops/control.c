/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control.c: the control socket (control.h): a uv_pipe_t listener on the
 * config's `control` path, the status answer, rendered here as a table or
 * as JSON from gateway_foreach_session, and the reload request.
 *
 * The socket is made by unixsock.c (born 0600, a stale file replaced, a
 * live one refused) and handed to libuv (uv_pipe_open).  Each client gets
 * a fixed line buffer and a timer; a client that sends too much, too slowly, or nothing is
 * closed.  Everything that goes out is ASCII: peer-supplied text (a close
 * reason in last_error) has control characters and other bytes replaced.
 *
 * A "reload" can close this very control object (the config moved the
 * socket): the client that asked is marked busy while the gateway reloads,
 * control_close leaves a busy client open, and the control object lives
 * until its last client is gone, so the answer still goes out on the
 * connection it was asked on.
 */
#include "control.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "err.h"
#include "gateway.h"
#include "log.h"
#include "session.h"
#include "unixsock.h"

#define BACKLOG 16

struct client {
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_write_t wr;
	control *ctl;
	char line[CONTROL_LINE_MAX];
	size_t len;
	char *out;
	int handles;            /* of pipe and timer, not yet closed */
	int answered, closing;
	int busy;               /* its request is being answered (a reload):
				 * control_close leaves it to finish */
	struct client *next;
};

struct control {
	uv_pipe_t pipe;
	gateway *gw;
	char path[CFG_PATH_MAX];
	unixsock us;            /* the socket file: removed at close if ours */
	int listening;          /* listener handle not yet closed */
	int closing;
	struct client *clients;
	unsigned n_clients;
};

/* ---- output buffer ---- */

struct obuf {
	char *p;
	size_t len, cap;
	int err;
};

static void ob_printf(struct obuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ob_printf(struct obuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	while (!b->err) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = STP_EINVAL;
		} else if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		} else {
			size_t ncap = b->cap * 2 + (size_t)n;
			char *np = realloc(b->p, ncap);

			if (np == NULL)
				b->err = STP_ENOMEM;
			else {
				b->p = np;
				b->cap = ncap;
			}
		}
	}
}

/* A JSON string body: quote, backslash and control characters escaped, non-ASCII as '?'. */
static void
ob_json_str(struct obuf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	ob_printf(b, "\"");
	for (; *u != '\0'; u++) {
		if (*u == '"' || *u == '\\')
			ob_printf(b, "\\%c", *u);
		else if (*u < 0x20 || *u == 0x7f)
			ob_printf(b, "\\u%04x", *u);
		else
			ob_printf(b, "%c", *u < 0x80 ? *u : '?');
	}
	ob_printf(b, "\"");
}

/* ---- rendering ---- */

struct infos {
	session_info *v;
	size_t n, cap;
	int err;
};

static void
collect(void *arg, const session_info *i)
{
	struct infos *is = arg;

	if (is->err)
		return;
	if (is->n == is->cap) {
		size_t ncap = is->cap ? is->cap * 2 : 16;
		session_info *nv = realloc(is->v, ncap * sizeof(*nv));

		if (nv == NULL) {
			is->err = STP_ENOMEM;
			return;
		}
		is->v = nv;
		is->cap = ncap;
	}
	is->v[is->n++] = *i;
}

static uint64_t
uptime_ms(gateway *gw, const session_info *i)
{
	uint64_t now = gateway_now(gw);

	if (i->state != SESS_UP || i->up_since_ms > now)
		return 0;
	return now - i->up_since_ms;
}

static void
render_json(struct obuf *b, gateway *gw, const struct infos *is)
{
	size_t k;

	ob_printf(b, "{\"version\":1,\"pid\":%ld,\"draining\":%s,\"peers\":[",
	    (long)getpid(), gateway_draining(gw) ? "true" : "false");
	for (k = 0; k < is->n; k++) {
		const session_info *i = &is->v[k];

		ob_printf(b, "%s\n{\"peer\":", k ? "," : "");
		ob_json_str(b, i->name);
		ob_printf(b, ",\"state\":\"%s\",\"address\":", session_state_name(i->state));
		ob_json_str(b, i->addr);
		if (i->state == SESS_UP)
			ob_printf(b, ",\"session\":\"%s\"", log_sid(i->sid));
		else
			ob_printf(b, ",\"session\":null");
		ob_printf(b, ",\"uptime_ms\":%llu,\"rtt_ms\":%llu,\"bytes_in\":%llu,"
		    "\"bytes_out\":%llu,\"streams\":%u,\"held\":%s,\"last_error\":",
		    (unsigned long long)uptime_ms(gw, i), (unsigned long long)i->rtt_ms,
		    (unsigned long long)i->bytes_in, (unsigned long long)i->bytes_out,
		    i->streams, i->held ? "true" : "false");
		ob_json_str(b, i->last_error);
		ob_printf(b, "}");
	}
	ob_printf(b, "]}\n");
}

static void
fmt_duration(uint64_t ms, char *out, size_t len)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(out, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(out, len, "%llum%02llus", (unsigned long long)(s / 60),
		    (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(out, len, "%lluh%02llum", (unsigned long long)(s / 3600),
		    (unsigned long long)(s % 3600 / 60));
	else
		snprintf(out, len, "%llud%02lluh", (unsigned long long)(s / 86400),
		    (unsigned long long)(s % 86400 / 3600));
}

static void
fmt_bytes(uint64_t n, char *out, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(out, len, "%lluB", (unsigned long long)n);
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, "%.1f%s", v, unit[u]);
}

/* Copy s as printable ASCII ('?' for anything else); "-" when empty. */
static void
fmt_text(const char *s, char *out, size_t len)
{
	size_t o = 0;

	if (*s == '\0')
		s = "-";
	for (; *s != '\0' && o + 1 < len; s++)
		out[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out[o] = '\0';
}

enum { C_PEER, C_STATE, C_ADDR, C_UPTIME, C_RTT, C_IN, C_OUT, C_STREAMS, C_ERR, NCOLS };

struct row {
	char c[NCOLS][CFG_HOST_MAX + 16];
};

static void
render_table(struct obuf *b, gateway *gw, const struct infos *is)
{
	static const char *const head[NCOLS] = { "PEER", "STATE", "ADDRESS",
	    "UPTIME", "RTT", "IN", "OUT", "STREAMS", "LAST-ERROR" };
	size_t w[NCOLS], k, n = is->n + 1, len;
	struct row *rows = calloc(n, sizeof(*rows));
	int col;

	if (rows == NULL) {
		b->err = STP_ENOMEM;
		return;
	}
	for (col = 0; col < NCOLS; col++)
		snprintf(rows[0].c[col], sizeof(rows[0].c[col]), "%s", head[col]);
	for (k = 0; k < is->n; k++) {
		const session_info *i = &is->v[k];
		struct row *r = &rows[k + 1];
		int up = i->state == SESS_UP;

		fmt_text(i->name, r->c[C_PEER], sizeof(r->c[C_PEER]));
		fmt_text(session_state_name(i->state), r->c[C_STATE], sizeof(r->c[C_STATE]));
		fmt_text(i->addr, r->c[C_ADDR], sizeof(r->c[C_ADDR]));
		if (up)
			fmt_duration(uptime_ms(gw, i), r->c[C_UPTIME], sizeof(r->c[C_UPTIME]));
		else
			snprintf(r->c[C_UPTIME], sizeof(r->c[C_UPTIME]), "-");
		if (up)
			snprintf(r->c[C_RTT], sizeof(r->c[C_RTT]), "%llums",
			    (unsigned long long)i->rtt_ms);
		else
			snprintf(r->c[C_RTT], sizeof(r->c[C_RTT]), "-");
		fmt_bytes(i->bytes_in, r->c[C_IN], sizeof(r->c[C_IN]));
		fmt_bytes(i->bytes_out, r->c[C_OUT], sizeof(r->c[C_OUT]));
		snprintf(r->c[C_STREAMS], sizeof(r->c[C_STREAMS]), i->held ?
		    "%u held" : "%u", i->streams);
		fmt_text(i->last_error, r->c[C_ERR], sizeof(r->c[C_ERR]));
	}
	for (col = 0; col < NCOLS; col++) {
		w[col] = 0;
		for (k = 0; k < n; k++)
			if ((len = strlen(rows[k].c[col])) > w[col])
				w[col] = len;
	}
	for (k = 0; k < n; k++) {
		for (col = 0; col < NCOLS - 1; col++)
			ob_printf(b, "%-*s  ", (int)w[col], rows[k].c[col]);
		ob_printf(b, "%s\n", rows[k].c[NCOLS - 1]);
	}
	if (gateway_draining(gw))
		ob_printf(b, "(draining: no new streams)\n");
	free(rows);
}

/* The answer to one request line; NULL when out of memory. */
static char *
answer(gateway *gw, const char *req, size_t *len)
{
	struct infos is = { NULL, 0, 0, 0 };
	struct obuf b = { NULL, 0, 0, 0 };
	const char *peer = NULL;
	int json = 0, status = 0;
	size_t i, k;

	/* "status", "status json", either with one peer's name after it. */
	if (strncmp(req, "status", 6) == 0 && (req[6] == '\0' || req[6] == ' ')) {
		status = 1;
		req += 6;
		while (*req == ' ')
			req++;
		if (strncmp(req, "json", 4) == 0 && (req[4] == '\0' || req[4] == ' ')) {
			json = 1;
			req += 4;
			while (*req == ' ')
				req++;
		}
		if (*req != '\0')
			peer = req;
	}

	if ((b.p = malloc(1024)) == NULL)
		return NULL;
	b.cap = 1024;
	if (strcmp(req, "reload") == 0) {
		char msg[1536], clean[1536];
		int rc = gateway_reload(gw, msg, sizeof(msg));

		/* One line, ASCII, like everything else we send. */
		fmt_text(msg, clean, sizeof(clean));
		ob_printf(&b, "%s: %s\n", rc == 0 ? "ok" : "error", clean);
	} else if (!status) {
		ob_printf(&b, "error: unknown request (try \"status [json] [PEER]\" "
		    "or \"reload\")\n");
	} else {
		gateway_foreach_session(gw, collect, &is);
		/* One peer: keep its row only. */
		for (i = k = 0; peer != NULL && i < is.n; i++)
			if (strcmp(is.v[i].name, peer) == 0)
				is.v[k++] = is.v[i];
		if (peer != NULL)
			is.n = k;
		if (is.err)
			b.err = is.err;
		else if (peer != NULL && is.n == 0) {
			char clean[CONTROL_LINE_MAX];

			fmt_text(peer, clean, sizeof(clean));
			ob_printf(&b, "error: no peer named %s in the running config\n",
			    clean);
		} else if (json)
			render_json(&b, gw, &is);
		else
			render_table(&b, gw, &is);
	}
	free(is.v);
	if (b.err) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- clients ---- */

static void
maybe_free(control *ctl)
{
	if (ctl->closing && !ctl->listening && ctl->n_clients == 0)
		free(ctl);
}

static void
client_handle_closed(uv_handle_t *h)
{
	struct client *c = h->data, **pp;
	control *ctl = c->ctl;

	if (--c->handles > 0)
		return;
	for (pp = &ctl->clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	ctl->n_clients--;
	free(c->out);
	free(c);
	maybe_free(ctl);
}

static void
client_close(struct client *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->pipe, client_handle_closed);
	uv_close((uv_handle_t *)&c->timer, client_handle_closed);
}

static void
client_timeout(uv_timer_t *t)
{
	client_close(t->data);
}

static void
client_written(uv_write_t *req, int status)
{
	(void)status;
	client_close(req->data);
}

static void
client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct client *c = h->data;

	(void)hint;
	*buf = uv_buf_init(c->line + c->len, (unsigned)(sizeof(c->line) - c->len));
}

static void
client_send(struct client *c, char *text, size_t len)
{
	uv_buf_t b = uv_buf_init(text, (unsigned)len);

	c->answered = 1;
	c->out = text;
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_start(&c->timer, client_timeout, CONTROL_TIMEOUT_MS, 0);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1, client_written) != 0)
		client_close(c);
}

static void
client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct client *c = s->data;
	char *nl, *text;
	size_t len;

	(void)buf;
	if (nread == 0 || c->answered)
		return;
	if (nread < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)nread;
	if ((nl = memchr(c->line, '\n', c->len)) == NULL) {
		if (c->len < sizeof(c->line))
			return;
		if ((text = strdup("error: request line too long\n")) == NULL)
			client_close(c);
		else
			client_send(c, text, strlen(text));
		return;
	}
	*nl = '\0';
	if (nl > c->line && nl[-1] == '\r')
		nl[-1] = '\0';
	/* A reload may control_close(c->ctl) meanwhile: c stays open (busy), and
	 * c->ctl with it, until c is closed below or after the answer. */
	c->busy = 1;
	text = answer(c->ctl->gw, c->line, &len);
	c->busy = 0;
	if (text == NULL) {
		log_warn(NULL, NULL, "control: out of memory for an answer");
		client_close(c);
		return;
	}
	client_send(c, text, len);
}

static void
on_client(uv_stream_t *server, int status)
{
	control *ctl = server->data;
	struct client *c;

	if (status < 0)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->ctl = ctl;
	uv_pipe_init(server->loop, &c->pipe, 0);
	uv_timer_init(server->loop, &c->timer);
	c->pipe.data = c->timer.data = c;
	c->handles = 2;
	c->next = ctl->clients;
	ctl->clients = c;
	ctl->n_clients++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 ||
	    ctl->n_clients > CONTROL_CLIENTS_MAX) {
		client_close(c);
		return;
	}
	uv_timer_start(&c->timer, client_timeout, CONTROL_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->pipe, client_alloc, client_read) != 0)
		client_close(c);
}

/* ---- the listener ---- */

static void
listener_closed(uv_handle_t *h)
{
	control *ctl = h->data;

	ctl->listening = 0;
	maybe_free(ctl);
}

void
control_close(control *ctl)
{
	struct client *c;

	if (ctl == NULL || ctl->closing)
		return;
	ctl->closing = 1;
	/* A busy client is answering a reload that closes us: it closes after
	 * its answer (or its timeout), and maybe_free waits for it. */
	for (c = ctl->clients; c != NULL; c = c->next)
		if (!c->busy)
			client_close(c);
	/* Remove the file only if nobody replaced it since we bound it. */
	unixsock_unlink(&ctl->us);
	uv_close((uv_handle_t *)&ctl->pipe, listener_closed);
}

/*
 * The default socket's directory ($RUNTIME_DIRECTORY, /run/stpgate,
 * $XDG_RUNTIME_DIR/stpgate), made if missing: its last component only, mode 0750 exactly.  One that
 * exists is left as it is, whatever its mode: the operator chose it.
 */
static int
make_dir(const char *path, char *err, size_t errlen)
{
	char dir[CFG_PATH_MAX];
	char *slash;
	mode_t mask;
	int rc;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	mask = umask(0);
	rc = mkdir(dir, 0750);
	umask(mask);
	if (rc == 0) {
		log_info(NULL, NULL, "control socket %s: made its directory %s (mode 0750)",
		    path, dir);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	snprintf(err, errlen, "control socket %s: cannot make its directory %s: %s",
	    path, dir, strerror(errno));
	return STP_EIO;
}

int
control_open(gateway *gw, const char *path, int dir_default, control **out,
    char *err, size_t errlen)
{
	control *ctl;
	int rc = STP_EIO, uvrc, fd;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL) {
		snprintf(err, errlen, "control socket %s: out of memory", path);
		return STP_ENOMEM;
	}
	ctl->gw = gw;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	uv_pipe_init(gateway_loop(gw), &ctl->pipe, 0);
	ctl->pipe.data = ctl;
	ctl->listening = 1;
	if (dir_default && make_dir(path, err, errlen) != 0)
		goto out;
	if ((rc = unixsock_listen(&ctl->us, "control socket", path, BACKLOG, 0600,
	    (uid_t)-1, (gid_t)-1, &fd, err, errlen)) != 0)
		goto out;
	rc = STP_EIO;
	/* Once opened, the pipe owns fd: closing the pipe closes it. */
	if ((uvrc = uv_pipe_open(&ctl->pipe, fd)) != 0) {
		snprintf(err, errlen, "control socket %s: %s", path, uv_strerror(uvrc));
		close(fd);
		goto out;
	}
	if ((uvrc = uv_listen((uv_stream_t *)&ctl->pipe, BACKLOG, on_client)) != 0) {
		snprintf(err, errlen, "cannot listen on control socket %s: %s", path,
		    uv_strerror(uvrc));
		goto out;
	}
	log_info(NULL, NULL, "control socket on %s (mode 0600)", path);
	*out = ctl;
	rc = 0;
out:
	if (rc != 0)
		control_close(ctl);
	return rc;
}

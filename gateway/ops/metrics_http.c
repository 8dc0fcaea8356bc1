/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics_http.c: the metrics endpoint (metrics_http.h).
 *
 * A scrape: accept, read into a fixed METRICS_HTTP_HEAD_MAX buffer until the
 * blank line that ends the headers (CRLF CRLF, or LF LF from lenient
 * clients), answer from the request line alone, shut our side down, read
 * and drop whatever else the client sends until it closes, close (a client
 * that half-closed after its request is closed as soon as the answer is
 * written).  One timer bounds the request and, restarted, the answer.
 * Nothing in the headers is interpreted, so nothing there can steer us.
 */
#include "metrics_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "err.h"
#include "gateway.h"
#include "log.h"
#include "metrics.h"
#include "workers.h"

#define BACKLOG 64

struct scrape {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	uv_shutdown_t sh;
	metrics_http *m;
	char req[METRICS_HTTP_HEAD_MAX];
	size_t len;
	char head[256];
	char *body;
	int handles;            /* of tcp and timer, not yet closed */
	int answered, writing, eof, closing;
	struct scrape *next;
};

struct metrics_http {
	uv_tcp_t tcp;
	gateway *gw;
	int listening;          /* listener handle not yet closed */
	int closing;
	struct scrape *scrapes;
	unsigned n_scrapes;
};

static const char root_text[] =
    "stpgate: metrics in Prometheus text format are at /metrics\n";

/* ---- answering ---- */

static void
foreach_session(void *src, metrics_peer_cb cb, void *arg)
{
	gateway_foreach_session(src, cb, arg);
}

static void
maybe_free(metrics_http *m)
{
	if (m->closing && !m->listening && m->n_scrapes == 0)
		free(m);
}

static void
scrape_handle_closed(uv_handle_t *h)
{
	struct scrape *s = h->data, **pp;
	metrics_http *m = s->m;

	if (--s->handles > 0)
		return;
	for (pp = &m->scrapes; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	m->n_scrapes--;
	free(s->body);
	free(s);
	maybe_free(m);
}

static void
scrape_close(struct scrape *s)
{
	if (s->closing)
		return;
	s->closing = 1;
	uv_close((uv_handle_t *)&s->tcp, scrape_handle_closed);
	uv_close((uv_handle_t *)&s->timer, scrape_handle_closed);
}

static void
scrape_timeout(uv_timer_t *t)
{
	scrape_close(t->data);
}

static void
scrape_shut(uv_shutdown_t *req, int status)
{
	/* Our side is done; the read callback closes on the client's EOF. */
	if (status < 0)
		scrape_close(req->data);
}

static void
scrape_written(uv_write_t *req, int status)
{
	struct scrape *s = req->data;

	s->writing = 0;
	/* Done, or the client already finished sending: nothing to wait for. */
	if (status < 0 || s->closing || s->eof) {
		scrape_close(s);
		return;
	}
	s->sh.data = s;
	if (uv_shutdown(&s->sh, (uv_stream_t *)&s->tcp, scrape_shut) != 0)
		scrape_close(s);
}

/* Send status and, unless head_only, body (ours to free; NULL for none). */
static void
respond(struct scrape *s, const char *status, const char *type, const char *extra,
    char *body, size_t len, int head_only)
{
	uv_buf_t b[2];
	int n;

	s->answered = 1;
	s->len = 0;
	s->body = body;
	n = snprintf(s->head, sizeof(s->head), "HTTP/1.1 %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
	    status, type, len, extra);
	b[0] = uv_buf_init(s->head, (unsigned)n);
	b[1] = uv_buf_init(body, (unsigned)len);
	uv_timer_start(&s->timer, scrape_timeout, METRICS_HTTP_TIMEOUT_MS, 0);
	s->wr.data = s;
	s->writing = 1;
	if (uv_write(&s->wr, (uv_stream_t *)&s->tcp, b,
	    head_only || body == NULL ? 1 : 2, scrape_written) != 0) {
		s->writing = 0;
		scrape_close(s);
	}
}

/* A short text body; NULL (and an empty answer) when out of memory. */
static void
respond_text(struct scrape *s, const char *status, const char *extra,
    const char *text, int head_only)
{
	char *body = strdup(text);

	respond(s, status, "text/plain; charset=utf-8", extra, body,
	    body ? strlen(body) : 0, head_only);
}

static void
respond_metrics(struct scrape *s, int head_only)
{
	gateway *gw = s->m->gw;
	workers *w = gateway_workers(gw);
	workers_stats ws;
	char *text = NULL;
	size_t len = 0;

	if (w != NULL)
		workers_get_stats(w, &ws);
	if (metrics_render(foreach_session, gw, w ? &ws : NULL, &text, &len) != 0) {
		respond_text(s, "500 Internal Server Error", "", "out of memory\n", head_only);
		return;
	}
	respond(s, "200 OK", "text/plain; version=0.0.4; charset=utf-8", "", text,
	    len, head_only);
}

/* Answer from the request line (line, NUL-terminated, no CR LF). */
static void
serve(struct scrape *s, char *line)
{
	char *method = line, *target, *version, *q;
	int head_only;

	if ((target = strchr(method, ' ')) == NULL) {
		respond_text(s, "400 Bad Request", "", "bad request line\n", 0);
		return;
	}
	*target++ = '\0';
	if ((version = strchr(target, ' ')) == NULL) {
		respond_text(s, "400 Bad Request", "", "bad request line\n", 0);
		return;
	}
	*version++ = '\0';
	if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0) {
		respond_text(s, "400 Bad Request", "", "HTTP/1.0 or HTTP/1.1 only\n", 0);
		return;
	}
	head_only = strcmp(method, "HEAD") == 0;
	if (!head_only && strcmp(method, "GET") != 0) {
		respond_text(s, "405 Method Not Allowed", "Allow: GET, HEAD\r\n",
		    "only GET (or HEAD) is served here\n", 0);
		return;
	}
	if ((q = strchr(target, '?')) != NULL)
		*q = '\0';
	if (strcmp(target, "/metrics") == 0)
		respond_metrics(s, head_only);
	else if (strcmp(target, "/") == 0)
		respond_text(s, "200 OK", "", root_text, head_only);
	else
		respond_text(s, "404 Not Found", "", "not found; try /metrics\n", head_only);
}

/* ---- reading ---- */

static void
scrape_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct scrape *s = h->data;

	(void)hint;
	/* Once answered, the buffer only swallows what the client still sends. */
	*buf = uv_buf_init(s->req + s->len, (unsigned)(sizeof(s->req) - s->len));
}

/* Offset just past the blank line ending the headers in req[0..len), or 0. */
static size_t
head_end(const char *req, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (req[i] != '\n')
			continue;
		if (req[i + 1] == '\n')
			return i + 2;
		if (req[i + 1] == '\r' && i + 2 < len && req[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static void
scrape_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct scrape *s = st->data;
	size_t from;
	char *nl;

	(void)buf;
	if (nread < 0) {
		/* A client may half-close after its request: let the answer finish. */
		if (s->writing) {
			s->eof = 1;
			uv_read_stop(st);
		} else {
			scrape_close(s);
		}
		return;
	}
	if (nread == 0 || s->answered)
		return;
	from = s->len > 3 ? s->len - 3 : 0;
	s->len += (size_t)nread;
	if (head_end(s->req + from, s->len - from) == 0) {
		if (s->len == sizeof(s->req))
			respond_text(s, "431 Request Header Fields Too Large", "",
			    "request head over 8 KiB\n", 0);
		return;
	}
	/* The request line ends at the first LF (the headers' end is after it). */
	nl = memchr(s->req, '\n', s->len);
	if (memchr(s->req, '\0', (size_t)(nl - s->req)) != NULL) {
		respond_text(s, "400 Bad Request", "", "bad request line\n", 0);
		return;
	}
	*nl = '\0';
	if (nl > s->req && nl[-1] == '\r')
		nl[-1] = '\0';
	serve(s, s->req);
}

static void
on_scrape(uv_stream_t *server, int status)
{
	metrics_http *m = server->data;
	struct scrape *s;

	if (status < 0)
		return;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return;
	s->m = m;
	uv_tcp_init(server->loop, &s->tcp);
	uv_timer_init(server->loop, &s->timer);
	s->tcp.data = s->timer.data = s;
	s->handles = 2;
	s->next = m->scrapes;
	m->scrapes = s;
	m->n_scrapes++;
	if (uv_accept(server, (uv_stream_t *)&s->tcp) != 0 ||
	    m->n_scrapes > METRICS_HTTP_CLIENTS_MAX) {
		log_limited(LOG_WARN, "metrics scrapes", NULL,
		    "metrics: connection dropped (%u scrapes in progress, the limit)",
		    m->n_scrapes - 1);
		scrape_close(s);
		return;
	}
	uv_timer_start(&s->timer, scrape_timeout, METRICS_HTTP_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&s->tcp, scrape_alloc, scrape_read) != 0)
		scrape_close(s);
}

/* ---- the listener ---- */

static void
listener_closed(uv_handle_t *h)
{
	metrics_http *m = h->data;

	m->listening = 0;
	maybe_free(m);
}

void
metrics_http_close(metrics_http *m)
{
	struct scrape *s;

	if (m == NULL || m->closing)
		return;
	m->closing = 1;
	for (s = m->scrapes; s != NULL; s = s->next)
		scrape_close(s);
	uv_close((uv_handle_t *)&m->tcp, listener_closed);
}

int
metrics_http_open(gateway *gw, const cfg_addr *a, metrics_http **out, char *err,
    size_t errlen)
{
	metrics_http *m;
	char at[CFG_HOST_MAX + 8];
	int rc = STP_EIO, uvrc;

	snprintf(at, sizeof(at), strchr(a->host, ':') ? "[%s]:%u" : "%s:%u", a->host,
	    a->port);
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "metrics on %s: out of memory", at);
		return STP_ENOMEM;
	}
	m->gw = gw;
	uv_tcp_init(gateway_loop(gw), &m->tcp);
	m->tcp.data = m;
	m->listening = 1;
	if ((uvrc = uv_tcp_bind(&m->tcp, (const struct sockaddr *)&a->ss, 0)) != 0 ||
	    (uvrc = uv_listen((uv_stream_t *)&m->tcp, BACKLOG, on_scrape)) != 0) {
		snprintf(err, errlen, "cannot serve metrics on %s: %s", at,
		    uv_strerror(uvrc));
		goto out;
	}
	log_info(NULL, NULL, "metrics on http://%s/metrics", at);
	*out = m;
	rc = 0;
out:
	if (rc != 0)
		metrics_http_close(m);
	return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics_http.h: the metrics endpoint, a small HTTP/1.x listener on the
 * config's loopback `metrics` address that serves metrics_render's text.
 *
 *   GET /metrics   200, text/plain; version=0.0.4 (Prometheus text format)
 *   GET /          200, a line pointing at /metrics
 *   GET other      404
 *   other methods  405 (HEAD is served like GET, without the body)
 *
 * Every answer carries Content-Length and "Connection: close", and the
 * connection ends after it.  The request line and headers may take at most
 * METRICS_HTTP_HEAD_MAX bytes (else 431) and must arrive within
 * METRICS_HTTP_TIMEOUT_MS; at most METRICS_HTTP_CLIENTS_MAX scrapes at once
 * (more are closed at once).
 *
 * The reader is our own rather than a library: Debian 12 has no llhttp,
 * and its libhttp-parser (2.9.4) comes from nodejs/http-parser, which is
 * archived and unmaintained.  Serving one GET needs only the request line
 * and the end of the headers, which a bounded reader finds in a few lines.
 */
#ifndef STP_METRICS_HTTP_H
#define STP_METRICS_HTTP_H

#include <stddef.h>

#include "config.h"

#define METRICS_HTTP_HEAD_MAX 8192
#define METRICS_HTTP_TIMEOUT_MS 5000
#define METRICS_HTTP_CLIENTS_MAX 32

struct gateway;
typedef struct metrics_http metrics_http;

/*
 * Listen on a for gw.  Returns 0 with *out set, or STP_EIO / STP_ENOMEM with
 * one line in err.
 */
int metrics_http_open(struct gateway *gw, const cfg_addr *a, metrics_http **out,
    char *err, size_t errlen);

/* Stop listening and drop the scrapes in progress; freed once all handles closed. */
void metrics_http_close(metrics_http *m);

#endif

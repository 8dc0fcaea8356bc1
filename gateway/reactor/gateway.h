/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway.h: the running gateway: one libuv loop that owns the config, the
 * peer listener, the forward listeners, a session per peer, the connections
 * still in their handshake, the worker pool, and the signals (SIGTERM/SIGINT
 * drain and stop, SIGHUP reloads the file).
 */
#ifndef STP_GATEWAY_H
#define STP_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"

struct session;
struct session_info;
struct workers;
struct conn;

typedef struct gateway gateway;

/*
 * Load the config at path, start everything and run the loop until SIGTERM
 * or SIGINT has drained it.  log_level (LOG_ERROR .. LOG_DEBUG) overrides
 * the config's log.level, at start and after every reload; -1: use the
 * config's.  Returns the process exit status: 0 after a clean stop, 1 on a
 * runtime failure (e.g. cannot bind), 2 on a config error.
 */
int gateway_run(const char *path, int log_level);

/*
 * Load the config file again and apply it (SIGHUP, the control socket's
 * "reload").  Returns 0 with "reloaded FILE: N peers, M forwards, K
 * services" in msg, or 1 with why not: "reload failed: REASON; running the
 * old config" when the file does not load, its plugins do not start, or the
 * gateway is draining (nothing changed), or "reload partly failed: REASON;
 * ..." when the new config is applied but a listener, the control socket or
 * the metrics endpoint would not open.  The control socket may be closed and
 * reopened elsewhere meanwhile (when `control:` changed).
 */
int gateway_reload(gateway *gw, char *msg, size_t len);

/* ---- for the other gateway objects ---- */
uv_loop_t *gateway_loop(gateway *gw);
const config *gateway_config(const gateway *gw);
struct workers *gateway_workers(gateway *gw);      /* NULL: crypto inline */
/* The cipher context for crypto run on the loop thread (conns share it). */
struct aead_ctx *gateway_actx(gateway *gw);
/* The listener's HELLO guard (replays, cookies); lives as long as gw. */
struct guard *gateway_guard(gateway *gw);
struct plugins *gateway_plugins(gateway *gw);      /* the running plugin set */
int gateway_draining(const gateway *gw);
/* Loop time in ms (uv_now). */
uint64_t gateway_now(gateway *gw);
/* How many times the loop went to poll for I/O so far (a turn's clock). */
uint64_t gateway_polls(const gateway *gw);
/*
 * host as an IP literal (IPv4, or IPv6 without brackets) with port, in *ss:
 * 1 if it is one, 0 if it is a name (a DNS name to resolve).
 */
int gateway_ip_literal(const char *host, uint16_t port,
    struct sockaddr_storage *ss);
/*
 * App connections (both accepted and connected to services): 0 if one more
 * is allowed under limits.max_connections (and counts it), else STP_ETOOBIG.
 */
int gateway_app_conn_add(gateway *gw);
void gateway_app_conn_del(gateway *gw);
/* A conn we dialed or accepted authenticated peer `key`: its session, or NULL. */
struct session *gateway_session_for(gateway *gw, const uint8_t key[32]);
/* The session of config.peers[i]. */
struct session *gateway_session(gateway *gw, size_t i);
/* STP connections alive (conn.c counts them: +1 new, -1 freed). */
void gateway_conn_count(gateway *gw, int delta);

/* ---- for status and metrics ---- */
/* Call cb(arg, info) for each peer's session, in config order; info is valid during the call. */
void gateway_foreach_session(gateway *gw,
    void (*cb)(void *arg, const struct session_info *i), void *arg);

#endif

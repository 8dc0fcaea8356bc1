/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control.h: the control socket, a Unix stream socket through which
 * `stpgate status` asks the running gateway how its peers are, and
 * `stpgate reload` has it reload its config.
 *
 * Protocol: the client connects and sends one line, "status" (a table for
 * people), "status json" (one JSON document for scripts), either followed
 * by a peer's name (that peer's row only; "error: no peer named ..." when
 * the running config has none), or "reload"
 * (answered "ok: reloaded FILE: N peers, M forwards, K services" or "error:
 * reload failed: REASON", one line, see gateway_reload); the gateway
 * answers and closes.  Any other line gets "error: ..." and a close.  A
 * request line is at most CONTROL_LINE_MAX bytes and must arrive within
 * CONTROL_TIMEOUT_MS; at most CONTROL_CLIENTS_MAX clients at once.
 *
 * The JSON document:
 *   {"version":1,"pid":N,"draining":false,"peers":[{"peer":"bob",
 *    "state":"up","address":"127.0.0.1:7400","session":"1a2b3c4d",
 *    "uptime_ms":N,"rtt_ms":N,"bytes_in":N,"bytes_out":N,"streams":N,
 *    "last_error":""}, ...]}
 * "session" is null when the session is not up; bytes are the apps' bytes
 * (in: from the peer, out: to the peer), since the peer entered the config.
 *
 * The socket file is made mode 0600 (owner only): whoever can connect sees
 * every peer's address and traffic figures.
 */
#ifndef STP_CONTROL_H
#define STP_CONTROL_H

#include <stddef.h>

#define CONTROL_LINE_MAX 128      /* "status json " and a 63-byte name fit */
#define CONTROL_TIMEOUT_MS 2000
#define CONTROL_CLIENTS_MAX 16

struct gateway;
typedef struct control control;

/*
 * Listen on path for gw.  A socket file left by a gateway that is gone
 * (connecting to it is refused) is removed first; a path that exists and is
 * not a socket, or a socket another process still listens on, is an error.
 * dir_default: path is the default socket (config.control_default), whose
 * directory is made (last component only, mode 0750) when missing; a path
 * the user named needs its directory to exist.  Returns 0 with *out set, or
 * STP_EEXIST, STP_EIO, STP_ENOMEM with one line in err, the errno's text as
 * it is ("control socket /x/y.sock: cannot bind: No such file or directory").
 */
int control_open(struct gateway *gw, const char *path, int dir_default,
    control **out, char *err, size_t errlen);

/* Stop listening, drop the clients, remove the socket file if it is still ours. */
void control_close(control *ctl);

#endif

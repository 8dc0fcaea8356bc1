/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flow.h: datagram flows: UDP carried through a session (proto/STP.md
 * "Datagram flows").
 *
 * The forwarding side listens on a udp: forward (udpfwd).  Each source
 * address that sends it a datagram becomes a flow: a stream id in the
 * peer's session, opened with StreamOpen{datagram}; its datagrams travel
 * as Datagram records, one datagram per record, whole.  The accepting side
 * gives each flow its own UDP socket connected to the service, so the
 * service's answers come back to the app that asked.
 *
 * UDP's contract, kept: a datagram is delivered whole or not at all, to
 * its own flow only, never twice.  Nothing queues without a bound: before
 * the peer accepts, a flow holds at most FLOW_QUEUE_MAX datagrams
 * (FLOW_QUEUE_BYTES in all); after, a datagram the session cannot take at
 * once (its output is over the limit), the socket cannot take at once, or
 * that is over STP_MAX_DATAGRAM bytes is dropped and counted
 * (stpgate_datagrams_dropped_total{reason}).  A flow ends after
 * timeouts.datagram_idle without a datagram either way (StreamReset with
 * RESET_TIMEOUT), when either side resets it, and with its session: the
 * app's next datagram opens a new one.
 */
#ifndef STP_FLOW_H
#define STP_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "stp.pb-c.h"

struct gateway;
struct session;
typedef struct flow flow;
typedef struct udpfwd udpfwd;

#define FLOW_QUEUE_MAX 16            /* datagrams held before the accept */
#define FLOW_QUEUE_BYTES (64 * 1024) /* ... and their bytes */

/*
 * Listen for datagrams on a udp: forward (fc->listen) for fc->service on
 * peer `peer`.  0 with *out, or STP_EIO / STP_ENOMEM with why in err.
 */
int udpfwd_open(struct gateway *gw, const cfg_forward *fc, const char *peer,
    udpfwd **out, char *err, size_t errlen);
/* The address listened on, "udp:host:port", for logs. */
const char *udpfwd_addr(const udpfwd *u);
/* Stop listening; its flows end (their peers are told). */
void udpfwd_close(udpfwd *u);

/*
 * The peer opened flow id for udp: service `to` (the session checked the
 * service and the peer): resolve, connect a UDP socket, answer
 * StreamAccept, or StreamReset with why.  0, or -1 when none was made
 * (limits.max_connections, memory): the caller refuses the open.
 */
int flow_new_remote(struct session *s, uint32_t id, const char *service,
    const cfg_addr *to);

/* A record for a flow of s (accept, reset, datagram): 1 if it was one of
 * its flows', 0 if s has no flow with that id. */
int flow_on_record(struct session *s, uint32_t id, const Stp__V1__Record *r);
/* s came up: its flows waiting for it send their opens. */
void flow_session_up(struct session *s);
/* s went down or stops: every flow of s ends (nothing is sent). */
void flow_abort_all(struct session *s, const char *why);
/* Flows of s, open or waiting. */
size_t flow_count(const struct session *s);

#endif

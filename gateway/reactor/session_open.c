/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session_open.c: the stream opens a peer sends (proto/STP.md "Opening",
 * "Stream addresses", "Dynamic opens"): the id rules, the checks in the
 * order STP.md lists them, each refusal answered with a StreamReset and
 * counted, and for what passes a stream that connects (stream.c).
 *
 * Access is checked on every open against the config in force now: a
 * reload that removes a service, a peer from its allow list, or a rule from
 * a peer's destinations refuses the next open at once.
 */
#include "session_int.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "destpolicy.h"
#include "flow.h"
#include "log.h"
#include "metrics.h"

static void
refuse_open(session *s, uint32_t id, uint32_t code, int metric, const char *fmt,
    ...) __attribute__((format(printf, 5, 6)));

static void
refuse_open(session *s, uint32_t id, uint32_t code, int metric, const char *fmt,
    ...)
{
	char why[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	stp_metrics.streams_refused[metric]++;
	log_limited(LOG_WARN, "stream refused", s->name, "stream refused: %s", why);
	(void)session_send_reset(s, id, code, why);
}

/*
 * An address of the open (STP.md "Stream addresses"): none, or 4 or 16
 * bytes with a port below 65536.  0, or -1 when malformed.
 */
static int
open_addr(const ProtobufCBinaryData *ip, uint32_t port, proxyhdr_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_UNSPEC;
	if (port > 65535)
		return -1;
	if (ip->len == 0)
		return port == 0 ? 0 : -1;
	if (ip->len != 4 && ip->len != 16)
		return -1;
	a->family = ip->len == 4 ? AF_INET : AF_INET6;
	memcpy(a->ip, ip->data, ip->len);
	a->port = (uint16_t)port;
	return 0;
}

/* A dynamic open's host: 1..255 bytes of printable ASCII, no space. */
static int
target_ok(const char *h, uint32_t port)
{
	size_t n = 0;

	for (; h[n] != '\0'; n++)
		if (h[n] < 0x21 || h[n] > 0x7e)
			return 0;
	return n >= 1 && n <= 255 && port >= 1 && port <= 65535;
}

void
sess_on_open(session *s, const Stp__V1__StreamOpen *o)
{
	gateway *gw = s->gw;
	const config *cfg = gateway_config(gw);
	/* The peer's ids: the other parity than ours (odd for the initiator;
	 * a resumed session keeps the parities of the one it resumed). */
	int peer_parity = (int)((s->next_id & 1) ^ 1);
	const char *target = o->target_host != NULL ? o->target_host : "";
	const destpolicy *dp;
	struct sockaddr_storage ss;
	stream_req q;
	long svc = -1, p;
	char svcname[CFG_HOST_MAX + 16];
	int long_name, is_literal;

	/*
	 * For logs and the lookup: a name longer than any service can have is
	 * cut here, and refused below as unknown, never matched by its start.
	 */
	snprintf(svcname, CFG_NAME_MAX, "%s", o->service ? o->service : "");
	for (size_t i = 0; svcname[i]; i++)
		if (svcname[i] < 0x20 || svcname[i] > 0x7e)
			svcname[i] = '?';
	long_name = o->service != NULL && strlen(o->service) >= CFG_NAME_MAX;
	if (o->stream_id == 0 || (int)(o->stream_id & 1) != peer_parity ||
	    (o->stream_id <= s->last_peer_id && s->resume_step == RESUME_NONE) ||
	    sess_find_stream(s, o->stream_id)) {
		stp_metrics.records_rejected[M_REC_PROTOCOL]++;
		conn_close(s->c, 1, STP__V1__CLOSE_CODE__CLOSE_PROTOCOL,
		    "stream id reused or of the wrong parity");
		return;
	}
	s->last_peer_id = o->stream_id;

	memset(&q, 0, sizeof(q));
	q.id = o->stream_id;
	q.window = o->window;
	if (open_addr(&o->source_ip, o->source_port, &q.src) != 0 ||
	    open_addr(&o->destination_ip, o->destination_port, &q.dst) != 0)
		{ refuse_open(s, o->stream_id, STP__V1__RESET_CODE__RESET_PROTOCOL,
		    M_ST_MALFORMED, "malformed stream address"); return; }
	if (target[0] != '\0' && o->datagram)
		{ refuse_open(s, o->stream_id, STP__V1__RESET_CODE__RESET_PROTOCOL,
		    M_ST_MALFORMED, "a datagram flow names a service, not a "
		    "target"); return; }
	if (target[0] != '\0') {
		if (svcname[0] != '\0')
			{ refuse_open(s, o->stream_id,
			    STP__V1__RESET_CODE__RESET_PROTOCOL, M_ST_MALFORMED,
			    "an open names both a service and a target"); return; }
		if (!target_ok(target, o->target_port))
			{ refuse_open(s, o->stream_id,
			    STP__V1__RESET_CODE__RESET_PROTOCOL, M_ST_MALFORMED,
			    "malformed target"); return; }
		config_hostport_text(svcname, sizeof(svcname), target,
		    o->target_port);
	}
	if (gateway_draining(gw))
		{ refuse_open(s, o->stream_id, STP__V1__RESET_CODE__RESET_REFUSED,
		    M_ST_LIMIT, "%s: gateway is shutting down", svcname); return; }
	p = config_peer_by_name(cfg, s->name);
	if (target[0] != '\0') {
		/* A dynamic open: the peer's destinations: decide. */
		dp = p >= 0 ? cfg->peers[p].destinations : NULL;
		if (dp == NULL)
			{ refuse_open(s, o->stream_id,
			    STP__V1__RESET_CODE__RESET_REFUSED, M_ST_NOT_ALLOWED,
			    "%s: peer %s may not open dynamic streams here (its "
			    "entry has no destinations)", svcname, s->name); return; }
		is_literal = gateway_ip_literal(target, (uint16_t)o->target_port,
		    &ss);
		if (is_literal)
			q.name_allowed = destpolicy_allows_addr(dp,
			    (const struct sockaddr *)&ss, (uint16_t)o->target_port);
		else
			q.name_allowed = destpolicy_allows_name(dp, target,
			    (uint16_t)o->target_port);
		/* A name no name rule allows may still resolve to an address
		 * an address rule allows (stream.c checks each). */
		if (!q.name_allowed && (is_literal ||
		    !destpolicy_has_addr_rules(dp, (uint16_t)o->target_port)))
			{ refuse_open(s, o->stream_id,
			    STP__V1__RESET_CODE__RESET_REFUSED, M_ST_NOT_ALLOWED,
			    "destination %s is not allowed for peer %s", svcname,
			    s->name); return; }
		q.service = "";
		q.host = target;
		q.port = (uint16_t)o->target_port;
	} else {
		svc = long_name ? -1 : config_service_by_name(cfg, svcname);
		if (svc < 0)
			{ refuse_open(s, o->stream_id,
			    STP__V1__RESET_CODE__RESET_UNKNOWN_SERVICE,
			    M_ST_UNKNOWN_SERVICE, "no service named \"%s\"",
			    svcname); return; }
		if (p < 0 || !config_service_allows(cfg, (size_t)svc, (size_t)p))
			{ refuse_open(s, o->stream_id,
			    STP__V1__RESET_CODE__RESET_REFUSED, M_ST_NOT_ALLOWED,
			    "service \"%s\" does not allow peer %s", svcname,
			    s->name); return; }
		/* A flow for a udp: service, a stream for any other. */
		if (o->datagram != cfg->services[svc].connect.is_udp)
			{ refuse_open(s, o->stream_id,
			    STP__V1__RESET_CODE__RESET_REFUSED, M_ST_NOT_ALLOWED,
			    o->datagram ? "service \"%s\" is not a datagram (udp:) "
			    "service" : "service \"%s\" takes datagrams (udp:), "
			    "not a stream", svcname); return; }
		if (o->datagram) {
			if (flow_new_remote(s, o->stream_id, svcname,
			    &cfg->services[svc].connect) != 0) {
				stp_metrics.limits_hit++;
				refuse_open(s, o->stream_id,
				    STP__V1__RESET_CODE__RESET_LIMIT, M_ST_LIMIT,
				    "%s: connection limit (limits.max_connections) "
				    "reached", svcname);
			}
			return;
		}
		q.service = svcname;
		q.to = &cfg->services[svc].connect;
		q.proxy_protocol = cfg->services[svc].proxy_protocol;
	}
	if (s->n_streams >= cfg->limits.max_streams) {
		stp_metrics.limits_hit++;
		{ refuse_open(s, o->stream_id, STP__V1__RESET_CODE__RESET_LIMIT,
		    M_ST_LIMIT, "%s: %u streams open, the limit (limits.max_streams)",
		    svcname, cfg->limits.max_streams); return; }
	}
	if (stream_new_remote(s, &q) == NULL &&
	    sess_find_stream(s, o->stream_id) == NULL) {
		/* Not created at all (limit or memory): tell the peer. */
		stp_metrics.limits_hit++;
		refuse_open(s, o->stream_id, STP__V1__RESET_CODE__RESET_LIMIT, M_ST_LIMIT,
		    "%s: connection limit (limits.max_connections) reached", svcname);
	}
}

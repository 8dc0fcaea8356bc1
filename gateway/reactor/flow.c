/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flow.c: datagram flows (flow.h).  A session's flows are a list (the
 * session holds its head: session_flow_list), looked up by id with the
 * last one found moved to the front; a udp: forward finds a source's flow
 * in a small hash of its own.  Every datagram is copied at most once on
 * each side: into a Datagram record, or out of one into sendto.
 */
#include "flow.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "err.h"
#include "frame.h"
#include "gateway.h"
#include "handshake.h"
#include "log.h"
#include "metrics.h"
#include "session.h"

#define SRC_BUCKETS 256
#define FWD_RCVBUF (4 << 20)     /* a udp: forward's receive buffer */

enum fl_state {
	FL_WAIT,        /* local: no session yet */
	FL_OPENING,     /* local: open sent; remote: resolving or connecting */
	FL_OPEN,
	FL_DEAD,
};

struct qd {
	size_t len;
	uint8_t *p;
};

struct flow {
	struct session *s;
	struct gateway *gw;
	uint32_t id;                /* 0 until its open is sent */
	int local;
	enum fl_state state;
	char service[CFG_NAME_MAX];
	char where[CFG_HOST_MAX + 16]; /* local: the app's address; remote:
					* the service's, for logs */
	/* local */
	udpfwd *u;
	struct sockaddr_storage src; /* the app's address */
	struct qd q[FLOW_QUEUE_MAX];
	unsigned nq;
	size_t qbytes;
	flow *snext;                /* in u's source hash */
	flow *unext;                /* in u's list of flows */
	/* remote */
	uv_udp_t *udp;              /* connected to the service */
	uv_getaddrinfo_t gai;
	int resolving;
	uint16_t port;
	/* both */
	uv_timer_t timer;           /* open deadline, then the idle check */
	int handles;
	uint64_t last_ms;
	flow *next;                 /* in the session's list */
};

struct udpfwd {
	uv_udp_t udp;               /* first: its address is the forward's */
	struct gateway *gw;
	char peer[CFG_NAME_MAX];
	char service[CFG_NAME_MAX];
	char at[CFG_HOST_MAX + 16];
	flow *src[SRC_BUCKETS];
	flow *all;
};

static uint8_t rbuf[65536];

static void flow_end(flow *f, int tell, uint32_t code, const char *why);

static const char *
peer_name(const flow *f)
{
	return session_peer(f->s)->name;
}

static uint64_t
now_ms(const flow *f)
{
	return gateway_now(f->gw);
}

static void
drop(int reason)
{
	stp_metrics.datagrams_dropped[reason]++;
}

static void
addr_text(const struct sockaddr *sa, char *out, size_t len)
{
	char h[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		uv_ip4_name((const struct sockaddr_in *)(const void *)sa, h,
		    sizeof(h));
		port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
		snprintf(out, len, "%s:%u", h, port);
	} else {
		uv_ip6_name((const struct sockaddr_in6 *)(const void *)sa, h,
		    sizeof(h));
		port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
		snprintf(out, len, "[%s]:%u", h, port);
	}
}

/* ---- the session's list ---- */

static flow *
find(struct session *s, uint32_t id)
{
	flow **pp, *f;

	for (pp = session_flow_list(s); (f = *pp) != NULL; pp = &f->next) {
		if (f->id == id && id != 0) {
			/* To the front: a busy flow is found at once. */
			*pp = f->next;
			f->next = *session_flow_list(s);
			*session_flow_list(s) = f;
			return f;
		}
	}
	return NULL;
}

static void
unlink_session(flow *f)
{
	flow **pp;

	for (pp = session_flow_list(f->s); *pp != NULL; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			return;
		}
	}
}

size_t
flow_count(const struct session *s)
{
	const flow *f;
	size_t n = 0;

	for (f = *session_flow_list((struct session *)s); f != NULL; f = f->next)
		n++;
	return n;
}

/* ---- life and death ---- */

static void
on_closed(uv_handle_t *h)
{
	flow *f = h->data;

	if (h == (uv_handle_t *)f->udp) {
		free(f->udp);
		f->udp = NULL;
	}
	if (--f->handles > 0)
		return;
	free(f);
}

static size_t
src_bucket(const struct sockaddr_storage *ss)
{
	const uint8_t *p = (const uint8_t *)ss;
	size_t n = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6), i;
	uint32_t h = 2166136261u;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % SRC_BUCKETS;
}

static void
unlink_fwd(flow *f)
{
	flow **pp;

	if (f->u == NULL)
		return;
	for (pp = &f->u->src[src_bucket(&f->src)]; *pp != NULL; pp = &(*pp)->snext)
		if (*pp == f) {
			*pp = f->snext;
			break;
		}
	for (pp = &f->u->all; *pp != NULL; pp = &(*pp)->unext)
		if (*pp == f) {
			*pp = f->unext;
			break;
		}
	f->u = NULL;
}

/* End the flow now: tell the peer if asked (and the session is up). */
static void
flow_end(flow *f, int tell, uint32_t code, const char *why)
{
	unsigned i;

	if (f->state == FL_DEAD)
		return;
	if (tell && f->id != 0 && session_up(f->s))
		(void)session_send_reset(f->s, f->id, code, why);
	log_debug(peer_name(f), NULL, "flow %u (%s, %s) closed: %s", f->id,
	    f->service, f->where, why);
	f->state = FL_DEAD;
	unlink_session(f);
	unlink_fwd(f);
	for (i = 0; i < f->nq; i++) {
		free(f->q[i].p);
		drop(M_DG_CLOSED);
	}
	f->nq = 0;
	if (f->resolving)
		uv_cancel((uv_req_t *)&f->gai);
	if (f->udp != NULL && !uv_is_closing((uv_handle_t *)f->udp))
		uv_close((uv_handle_t *)f->udp, on_closed);
	uv_close((uv_handle_t *)&f->timer, on_closed);
	gateway_app_conn_del(f->gw);
	stp_metrics.flows_active--;
}

static void
idle_check(uv_timer_t *t)
{
	flow *f = t->data;
	uint64_t idle = gateway_config(f->gw)->timeouts.datagram_idle_ms;
	uint64_t quiet = now_ms(f) - f->last_ms;

	if (quiet >= idle) {
		flow_end(f, 1, STP__V1__RESET_CODE__RESET_TIMEOUT, "idle");
		return;
	}
	uv_timer_start(&f->timer, idle_check, idle - quiet, 0);
}

static void
open_expired(uv_timer_t *t)
{
	flow *f = t->data;

	log_info(peer_name(f), NULL, "flow from %s to %s: %s", f->where,
	    f->service, f->local ? "the peer did not answer in time" :
	    "no connect in time");
	flow_end(f, 1, f->local ? STP__V1__RESET_CODE__RESET_TIMEOUT :
	    STP__V1__RESET_CODE__RESET_CONNECT_FAILED, "open timed out");
}

static void
become_open(flow *f)
{
	f->state = FL_OPEN;
	f->last_ms = now_ms(f);
	uv_timer_start(&f->timer, idle_check,
	    gateway_config(f->gw)->timeouts.datagram_idle_ms, 0);
}

static flow *
flow_alloc(struct session *s, int local, const char *service)
{
	struct gateway *gw = session_gateway(s);
	flow *f;

	if (gateway_app_conn_add(gw) != 0)
		return NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    uv_timer_init(gateway_loop(gw), &f->timer) != 0) {
		free(f);
		gateway_app_conn_del(gw);
		return NULL;
	}
	f->s = s;
	f->gw = gw;
	f->local = local;
	f->handles = 1;
	f->timer.data = f;
	f->last_ms = gateway_now(gw);
	snprintf(f->service, sizeof(f->service), "%s", service);
	f->next = *session_flow_list(s);
	*session_flow_list(s) = f;
	stp_metrics.flows_active++;
	return f;
}

/* ---- datagrams ---- */

/* One datagram to the peer: 0, or dropped (and counted). */
static int
to_peer(flow *f, const uint8_t *p, size_t len)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Datagram d = STP__V1__DATAGRAM__INIT;
	int rc;

	if (len > STP_MAX_DATAGRAM) {
		drop(M_DG_TOO_BIG);
		return -1;
	}
	d.stream_id = f->id;
	d.data.data = (uint8_t *)p;
	d.data.len = len;
	r.body_case = STP__V1__RECORD__BODY_DATAGRAM;
	r.datagram = &d;
	if ((rc = session_send(f->s, &r)) != 0) {
		drop(rc == STP_EAGAIN ? M_DG_CONGESTED : M_DG_CLOSED);
		return -1;
	}
	stp_metrics.datagrams[M_DG_SENT]++;
	f->last_ms = now_ms(f);
	return 0;
}

/* A datagram from the peer, to the app (local) or the service (remote). */
static void
from_peer(flow *f, const ProtobufCBinaryData *d)
{
	uv_buf_t b = uv_buf_init((char *)d->data, (unsigned)d->len);
	int rc;

	stp_metrics.datagrams[M_DG_RECEIVED]++;
	f->last_ms = now_ms(f);
	if (f->local)
		rc = uv_udp_try_send(&f->u->udp, &b, 1,
		    (const struct sockaddr *)&f->src);
	else
		rc = uv_udp_try_send(f->udp, &b, 1, NULL);
	if (rc < 0)
		drop(M_DG_CONGESTED);   /* the socket's buffer is full */
}

static void
flush_queue(flow *f)
{
	unsigned i;

	for (i = 0; i < f->nq; i++) {
		if (f->state == FL_OPEN)
			(void)to_peer(f, f->q[i].p, f->q[i].len);
		free(f->q[i].p);
	}
	f->nq = 0;
	f->qbytes = 0;
}

static void
send_open(flow *f)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamOpen o = STP__V1__STREAM_OPEN__INIT;

	if (!(session_features(f->s) & HS_FEATURE_DATAGRAMS)) {
		log_limited(LOG_WARN, "flow no datagrams", peer_name(f),
		    "flow from %s to %s dropped: the peer's gateway does not carry "
		    "datagrams (an older version)", f->where, f->service);
		flow_end(f, 0, 0, "no datagram flows");
		return;
	}
	if ((f->id = session_next_id(f->s)) == 0) {
		flow_end(f, 0, 0, "stream ids exhausted");
		return;
	}
	o.stream_id = f->id;
	o.service = f->service;
	o.datagram = 1;
	r.body_case = STP__V1__RECORD__BODY_OPEN;
	r.open = &o;
	if (session_send(f->s, &r) != 0) {
		flow_end(f, 0, 0, "the session refused the open");
		return;
	}
	f->state = FL_OPENING;
}

void
flow_session_up(struct session *s)
{
	flow *f, *next;

	for (f = *session_flow_list(s); f != NULL; f = next) {
		next = f->next;
		if (f->state == FL_WAIT)
			send_open(f);  /* may end f */
	}
}

void
flow_abort_all(struct session *s, const char *why)
{
	while (*session_flow_list(s) != NULL)
		flow_end(*session_flow_list(s), 0, 0, why);
}

int
flow_on_record(struct session *s, uint32_t id, const Stp__V1__Record *r)
{
	flow *f = find(s, id);

	if (f == NULL)
		return 0;
	switch (r->body_case) {
	case STP__V1__RECORD__BODY_ACCEPT:
		if (!f->local || f->state != FL_OPENING) {
			flow_end(f, 1, STP__V1__RESET_CODE__RESET_PROTOCOL,
			    "unexpected accept");
			break;
		}
		log_debug(peer_name(f), NULL, "flow %u from %s to %s/%s open",
		    f->id, f->where, peer_name(f), f->service);
		become_open(f);
		flush_queue(f);
		break;
	case STP__V1__RECORD__BODY_DATAGRAM:
		if (f->state != FL_OPEN) {
			flow_end(f, 1, STP__V1__RESET_CODE__RESET_PROTOCOL,
			    "datagram before the flow was open");
			break;
		}
		from_peer(f, &r->datagram->data);
		break;
	case STP__V1__RECORD__BODY_RESET: {
		char why[SESSION_REASON_MAX];

		session_reason_text(why, r->reset->reason);
		if (f->state == FL_OPENING && f->local)
			log_info(peer_name(f), NULL, "flow from %s to %s refused by "
			    "the peer: %s", f->where, f->service, why);
		flow_end(f, 0, 0, why);
		break;
	}
	default:
		/* data, window, fin: not for a flow. */
		flow_end(f, 1, STP__V1__RESET_CODE__RESET_PROTOCOL,
		    "a stream record for a datagram flow");
		break;
	}
	return 1;
}

/* ---- the forwarding side: a udp: forward ---- */

static void
on_fwd_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = (char *)rbuf;
	buf->len = sizeof(rbuf);
}

/* A new source: a flow, opened now or when the session comes up. */
static flow *
new_local(udpfwd *u, const struct sockaddr *sa)
{
	const config *cfg = gateway_config(u->gw);
	long p = config_peer_by_name(cfg, u->peer);
	struct session *s;
	flow *f;
	size_t k;

	if (p < 0 || gateway_draining(u->gw))
		return NULL;
	s = gateway_session(u->gw, (size_t)p);
	if ((f = flow_alloc(s, 1, u->service)) == NULL) {
		drop(M_DG_LIMIT);
		log_limited(LOG_WARN, "flow limit", u->peer, "datagram from a new "
		    "source on %s dropped: connection limit "
		    "(limits.max_connections) reached", u->at);
		return NULL;
	}
	f->u = u;
	memcpy(&f->src, sa, sa->sa_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	addr_text(sa, f->where, sizeof(f->where));
	k = src_bucket(&f->src);
	f->snext = u->src[k];
	u->src[k] = f;
	f->unext = u->all;
	u->all = f;
	f->state = FL_WAIT;
	uv_timer_start(&f->timer, open_expired, cfg->timeouts.connect_ms, 0);
	if (session_up(s))
		send_open(f);
	else
		session_kick(s);
	return f;
}

static flow *
find_src(udpfwd *u, const struct sockaddr *sa)
{
	struct sockaddr_storage ss;
	size_t n = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	flow *f;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, n);
	for (f = u->src[src_bucket(&ss)]; f != NULL; f = f->snext)
		if (memcmp(&f->src, &ss, n) == 0)
			return f;
	return NULL;
}

static void
on_fwd_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
    const struct sockaddr *sa, unsigned flags)
{
	udpfwd *u = (udpfwd *)h;
	flow *f;
	struct qd *q;

	if (nread < 0 || sa == NULL)
		return;     /* nothing more to read now, or a socket error */
	if (flags & UV_UDP_PARTIAL) {
		drop(M_DG_TOO_BIG);
		return;
	}
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return;
	if ((f = find_src(u, sa)) == NULL && (f = new_local(u, sa)) == NULL)
		return;
	if (f->state == FL_OPEN) {
		(void)to_peer(f, (const uint8_t *)buf->base, (size_t)nread);
		return;
	}
	if (f->state == FL_DEAD)
		return;
	/* Before the accept: a few, then drop. */
	if (f->nq >= FLOW_QUEUE_MAX || f->qbytes + (size_t)nread > FLOW_QUEUE_BYTES) {
		drop(M_DG_QUEUE);
		return;
	}
	q = &f->q[f->nq];
	if ((q->p = malloc((size_t)nread > 0 ? (size_t)nread : 1)) == NULL) {
		drop(M_DG_QUEUE);
		return;
	}
	memcpy(q->p, buf->base, (size_t)nread);
	q->len = (size_t)nread;
	f->nq++;
	f->qbytes += q->len;
}

/*
 * One socket takes the datagrams of every app on the forward, so a burst
 * from many at once overflows the kernel's default receive buffer (about
 * 208 KiB) before the loop reads it, unseen by our counters.  Ask for
 * FWD_RCVBUF: past net.core.rmem_max when we may (CAP_NET_ADMIN), else as
 * far as rmem_max lets us.  The kernel counts what it still drops (Udp
 * RcvbufErrors).
 */
static void
fwd_rcvbuf(udpfwd *u)
{
	int fd, want = FWD_RCVBUF;
	uv_os_fd_t ufd;

	if (uv_fileno((uv_handle_t *)&u->udp, &ufd) != 0)
		return;
	fd = (int)ufd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
}

int
udpfwd_open(struct gateway *gw, const cfg_forward *fc, const char *peer,
    udpfwd **out, char *err, size_t errlen)
{
	udpfwd *u = calloc(1, sizeof(*u));
	int rc;

	if (u == NULL) {
		snprintf(err, errlen, "out of memory");
		return STP_ENOMEM;
	}
	u->gw = gw;
	snprintf(u->peer, sizeof(u->peer), "%s", peer);
	snprintf(u->service, sizeof(u->service), "%s", fc->service);
	config_addr_text(u->at, sizeof(u->at), &fc->listen);
	uv_udp_init(gateway_loop(gw), &u->udp);
	u->udp.data = u;
	if ((rc = uv_udp_bind(&u->udp, (const struct sockaddr *)&fc->listen.ss,
	    0)) != 0 || (rc = uv_udp_recv_start(&u->udp, on_fwd_alloc,
	    on_fwd_recv)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", u->at,
		    uv_strerror(rc));
		uv_close((uv_handle_t *)&u->udp, (uv_close_cb)free);
		return STP_EIO;
	}
	fwd_rcvbuf(u);
	*out = u;
	return 0;
}

const char *
udpfwd_addr(const udpfwd *u)
{
	return u->at;
}

void
udpfwd_close(udpfwd *u)
{
	while (u->all != NULL)
		flow_end(u->all, 1, STP__V1__RESET_CODE__RESET_ABORTED,
		    "the forward closed");
	uv_close((uv_handle_t *)&u->udp, (uv_close_cb)free);
}

/* ---- the accepting side: a flow to a udp: service ---- */

static void
on_svc_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
    const struct sockaddr *sa, unsigned flags)
{
	flow *f = h->data;

	(void)sa;
	if (f->state != FL_OPEN || nread < 0 || (nread == 0 && sa == NULL))
		return;
	if (flags & UV_UDP_PARTIAL) {
		drop(M_DG_TOO_BIG);
		return;
	}
	(void)to_peer(f, (const uint8_t *)buf->base, (size_t)nread);
}

static void
connect_to(flow *f, const struct sockaddr *sa)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__StreamAccept a = STP__V1__STREAM_ACCEPT__INIT;
	int rc;

	if ((rc = uv_udp_connect(f->udp, sa)) != 0 ||
	    (rc = uv_udp_recv_start(f->udp, on_fwd_alloc, on_svc_recv)) != 0) {
		log_info(peer_name(f), NULL, "flow %u to %s: connect to %s failed: %s",
		    f->id, f->service, f->where, uv_strerror(rc));
		flow_end(f, 1, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "connect failed");
		return;
	}
	a.stream_id = f->id;
	r.body_case = STP__V1__RECORD__BODY_ACCEPT;
	r.accept = &a;
	if (session_send(f->s, &r) != 0) {
		flow_end(f, 0, 0, "session gone");
		return;
	}
	log_debug(peer_name(f), NULL, "flow %u to %s (%s) open", f->id,
	    f->service, f->where);
	become_open(f);
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	flow *f = req->data;

	f->resolving = 0;
	if (f->state == FL_DEAD) {
		uv_freeaddrinfo(res);
		if (--f->handles == 0)
			free(f);
		return;
	}
	f->handles--;   /* the lookup's (flow_new_remote) */
	if (status < 0 || res == NULL) {
		uv_freeaddrinfo(res);
		log_info(peer_name(f), NULL, "flow %u to %s: cannot resolve %s",
		    f->id, f->service, f->where);
		flow_end(f, 1, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "cannot resolve the service's host");
		return;
	}
	connect_to(f, res->ai_addr);
	uv_freeaddrinfo(res);
}

int
flow_new_remote(struct session *s, uint32_t id, const char *service,
    const cfg_addr *to)
{
	struct gateway *gw = session_gateway(s);
	struct addrinfo hints;
	char portstr[8];
	flow *f;
	int rc;

	if ((f = flow_alloc(s, 0, service)) == NULL)
		return -1;
	f->id = id;
	f->port = to->port;
	config_addr_text(f->where, sizeof(f->where), to);
	f->state = FL_OPENING;
	if ((f->udp = malloc(sizeof(*f->udp))) == NULL ||
	    uv_udp_init(gateway_loop(gw), f->udp) != 0) {
		free(f->udp);
		f->udp = NULL;
		flow_end(f, 1, STP__V1__RESET_CODE__RESET_LIMIT, "out of memory");
		return 0;
	}
	f->udp->data = f;
	f->handles++;
	uv_timer_start(&f->timer, open_expired,
	    gateway_config(gw)->timeouts.connect_ms, 0);
	if (to->is_ip) {
		connect_to(f, (const struct sockaddr *)&to->ss);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	snprintf(portstr, sizeof(portstr), "%u", to->port);
	f->gai.data = f;
	rc = uv_getaddrinfo(gateway_loop(gw), &f->gai, on_resolved, to->host,
	    portstr, &hints);
	if (rc != 0) {
		flow_end(f, 1, STP__V1__RESET_CODE__RESET_CONNECT_FAILED,
		    "cannot resolve the service's host");
		return 0;
	}
	f->resolving = 1;
	f->handles++;   /* a cancelled lookup still calls back: wait for it */
	return 0;
}

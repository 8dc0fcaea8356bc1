/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn_hs.c: a connection's handshake side (see conn.c).  A responder's
 * connection starts as a gate (gate.h) reading the first HELLO into its
 * fixed buffer; once mac1 passes, the freshness step (hs_guard_hello, with
 * the listener's guard) admits it, answers with a cookie, or refuses it in
 * silence; an admitted HELLO gets the endpoint, built here with the hooks
 * that tie it to the gateway (the pool's dispatch rule, the peer map, the
 * admission and shaping plugins, the Unix clock, the access secret).
 */
#include "conn_int.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "crypto/crypto.h"
#include "err.h"
#include "gateway.h"
#include "guard.h"
#include "handshake.h"
#include "keysched.h"
#include "metrics.h"
#include "plugin_api.h"
#include "workers.h"

/* Our Unix clock, for Hello.time and its check. */
static uint64_t
unix_now(void *arg)
{
	(void)arg;
	return (uint64_t)time(NULL);
}

/* The remote address as the guard's cookies bind it: 0x04 + IPv4 or 0x06 + IPv6. */
static size_t
src_bytes(const conn *c, uint8_t out[GUARD_SRC_MAX])
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->ss;

	if (sa->sa_family == AF_INET) {
		out[0] = 4;
		memcpy(out + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 5;
	}
	if (sa->sa_family == AF_INET6) {
		out[0] = 6;
		memcpy(out + 1, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return 17;
	}
	out[0] = 0;
	return 1;
}

struct cookie_write {
	uv_write_t req;
	uint8_t frame[HS_CHALLENGE_MAX];
};

static void
on_cookie_written(uv_write_t *req, int status)
{
	(void)status; /* a lost cookie: the initiator times out, as on any loss */
	free(req->data);
}

/*
 * The gate's HELLO passed mac1: run the listener's guard on it.  For a
 * cookie CHALLENGE, write it (41 bytes, copied into a small request that
 * frees itself: the only allocation, made only when a cookie goes out) and
 * count it.
 */
static int
gate_guard(conn *c, const uint8_t *f, size_t flen)
{
	struct cookie_write *w;
	uint8_t src[GUARD_SRC_MAX], chal[HS_CHALLENGE_MAX];
	size_t slen = src_bytes(c, src), n = 0;
	uv_buf_t b;
	int v;

	v = hs_guard_hello(gateway_guard(c->gw), f, flen, src, slen,
	    unix_now(NULL), chal, &n, NULL, 0);
	/* Past the last cookie we answer, gate_again() drains instead. */
	if (v != HS_GUARD_CHALLENGE || c->gate->cookies >= GATE_MAX_COOKIES)
		return v;
	if ((w = malloc(sizeof(*w))) == NULL)
		return HS_GUARD_STALE; /* no memory: silence, as for any refusal */
	memcpy(w->frame, chal, n);
	stp_metrics.hello_cookies++;
	w->req.data = w;
	b = uv_buf_init((char *)w->frame, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)c->tcp, &b, 1, on_cookie_written) != 0) {
		free(w);
		return HS_GUARD_STALE;
	}
	return v;
}

/*
 * Bytes for the gate.  A HELLO that passes mac1 gets its endpoint, which
 * takes the frame; anything else is thrown away until the handshake timer
 * ends it (handshake_expired), or until the other side closes.
 */
void
cn_gate_read(conn *c, ssize_t nread)
{
	const uint8_t *f;
	size_t flen;
	int rc;

	if (nread < 0) {
		/* EOF or an error: whatever the gate held, the same silence. */
		cn_fail(c, c->gate->state == GATE_DRAINING ? STP_EMAC1 : STP_EIO,
		    c->gate->state == GATE_DRAINING ? gate_reason(c->gate) :
		    nread == UV_EOF ? "connection closed by the other side before a HELLO" :
		    uv_strerror((int)nread));
		return;
	}
	if (gate_commit(c->gate, (size_t)nread) != GATE_PASSED)
		return;
	/* mac1 passed: is the HELLO fresh (proto/STP.md, "Freshness")? */
	f = gate_frame(c->gate, &flen);
	switch (gate_guard(c, f, flen)) {
	case HS_GUARD_PASS:
		break;
	case HS_GUARD_STALE:
		gate_refuse(c->gate, GATE_WHY_STALE);
		return;
	case HS_GUARD_REPLAY:
		gate_refuse(c->gate, GATE_WHY_REPLAY);
		return;
	default: /* a cookie went out: the next HELLO comes to the gate */
		gate_again(c->gate);
		return;
	}
	if ((rc = cn_make_endpoint(c, NULL)) != 0) {
		cn_fail(c, rc, "out of memory for a new session");
		return;
	}
	rc = endpoint_input(c->ep, f, flen, c->last_recv_ms);
	gate_wipe(c->gate);
	free(c->gate);
	c->gate = NULL;
	if (rc != 0) {
		cn_fail(c, rc, endpoint_reason(c->ep));
		return;
	}
	/* The endpoint reads from here on: its own buffer, from the next read. */
	cn_process(c);
}

/* The endpoint's offload hook: the pool's rule, counting what stays here. */
static int
dispatch(void *pool, int kind, size_t len, int sig)
{
	if (pool != NULL && workers_offload(pool, kind, len, sig))
		return 1;
	stp_metrics.crypto_jobs_loop++;
	return 0;
}

/* Responder: is pk a peer, and must its records be signed (sign_records)? */
static int
lookup_peer(void *cookie, const uint8_t pk[32])
{
	const config *cfg = gateway_config(cookie);
	long p = config_peer_by_key(cfg, pk);

	if (p < 0)
		return STP_EPEER;
	return cfg->peers[p].sign_records ? EP_PEER_SIGN_RECORDS : 0;
}

/* Responder: the peer's name, for the reason a refused session gives. */
static const char *
peer_name(void *cookie, const uint8_t pk[32])
{
	const config *cfg = gateway_config(cookie);
	long p = config_peer_by_key(cfg, pk);

	return p >= 0 ? cfg->peers[p].name : NULL;
}

/* Responder admission (hs_admit_fn): the plugins decide, knowing the source. */
static int
admit(void *cookie, const uint8_t *adm, size_t adm_len, uint8_t *chal,
    size_t *chal_len)
{
	conn *c = cookie;

	return plugins_admit(c->plug, (const struct sockaddr *)&c->ss, adm,
	    adm_len, chal, chal_len);
}

/* Initiator (hs_answer_fn), in a worker: the plugin that set the challenge answers. */
static int
answer(void *cookie, const uint8_t *chal, size_t chal_len, uint8_t *ans,
    size_t *ans_len)
{
	conn *c = cookie;

	return plugins_answer(c->plug, chal, chal_len, ans, ans_len);
}

/*
 * The endpoint, and the write buffers: an initiator's at once, a
 * responder's once a HELLO passed its gate.  0 or STP_ENOMEM.
 */
int
cn_make_endpoint(conn *c, const uint8_t *peer_pub)
{
	const config *cfg = gateway_config(c->gw);
	endpoint_config ec;

	memset(&ec, 0, sizeof(ec));
	ec.hs.initiator = c->initiator;
	if (c->initiator) {
		/* We dial as our identity now, never the previous one. */
		c->ids[0] = sign_key_ref(cfg->identity);
	} else if (c->gate != NULL && gate_which(c->gate) == 1) {
		/* The HELLO was addressed to our previous identity. */
		sign_key_free(c->ids[0]);
		c->ids[0] = c->ids[1];
		c->ids[1] = NULL;
	}
	sign_key_free(c->ids[1]);
	c->ids[1] = NULL;
	ec.hs.identity = c->ids[0];
	/* Resumption is offered only while a broken session's streams wait. */
	ec.hs.features = HS_FEATURES_ALL;
	if (cfg->timeouts.resume_ms == 0)
		ec.hs.features &= ~HS_FEATURE_RESUME;
	ec.hs.unix_now = unix_now;
	if (!c->initiator) {
		/* The gate judged the first HELLO; later ones (after a CHALLENGE) come here. */
		ec.hs.guard = gateway_guard(c->gw);
		ec.hs.src_len = src_bytes(c, ec.hs.src);
		ec.hs.first_guarded = 1;
		if (cfg->has_access_secret)
			ec.hs.access_secret = cfg->access_secret;
	}
	if (c->initiator && peer_pub != NULL) {
		long p = config_peer_by_key(cfg, peer_pub);

		memcpy(ec.hs.peer_pub, peer_pub, 32);
		if (p >= 0 && cfg->peers[p].has_access_secret)
			ec.hs.access_secret = cfg->peers[p].access_secret;
		/*
		 * sign_records: we sign, and we want the responder's records
		 * signed too (it must comply: proto/STP.md, "Record
		 * signatures").  A responder decides once it knows who we are.
		 */
		if (p >= 0 && cfg->peers[p].sign_records)
			ec.hs.flags = AUTH_FLAG_SIGN_RECORDS |
			    AUTH_FLAG_WANT_SIGNED;
	}
	if (!c->initiator && plugins_admission_on(c->plug))
		ec.hs.admit = admit;
	if (c->initiator)
		ec.hs.answer = answer;
	ec.hs.cookie = c;
	/* Record shaping (padding): c->plug outlives the endpoint. */
	{
		void *si = NULL;
		const stp_shaper_ops *sh = plugins_shaper(c->plug, &si);

		if (sh != NULL && sh->pad_to != NULL) {
			ec.pad_to = sh->pad_to;
			ec.pad_cookie = si;
		}
	}
	/*
	 * Where jobs run: the pool's rule decides each (workers.h); without a
	 * pool, all run on the loop, with the loop's cipher context.
	 */
	ec.actx = gateway_actx(c->gw);
	ec.offload = dispatch;
	ec.offload_cookie = gateway_workers(c->gw);
	ec.rekey_bytes = cfg->rekey.bytes;
	ec.rekey_interval_ms = cfg->rekey.interval_ms;
	ec.rekem_interval_ms = cfg->rekey.fresh_interval_ms;
	ec.max_output = 2 * c->high_cap;
	ec.lookup = lookup_peer;
	ec.peer_name = peer_name;
	ec.cookie = c->gw;
	if ((c->bufs = calloc(CONN_MAX_IOV, sizeof(*c->bufs))) == NULL ||
	    (c->ep = endpoint_new(&ec, gateway_now(c->gw))) == NULL)
		return STP_ENOMEM;
	return 0;
}

/*
 * A responder's gate, keyed with our identity's mac1 key and, during a
 * rotation, our previous identity's.  0 or an error.
 */
int
cn_make_gate(conn *c)
{
	const config *cfg = gateway_config(c->gw);
	const uint8_t *secret = cfg->has_access_secret ? cfg->access_secret : NULL;
	uint8_t pub[32], keys[GATE_MAX_KEYS][32];
	size_t n = 0;
	int rc = 0;

	if ((c->gate = malloc(sizeof(*c->gate))) == NULL)
		return STP_ENOMEM;
	c->ids[0] = sign_key_ref(cfg->identity);
	c->ids[1] = sign_key_ref(cfg->previous_identity);
	for (n = 0; n < GATE_MAX_KEYS && c->ids[n] != NULL && rc == 0; n++) {
		sign_key_public(c->ids[n], pub);
		rc = ks_mac1_key(keys[n], pub, secret);
	}
	if (rc == 0)
		gate_init(c->gate, (const uint8_t (*)[32])keys, n);
	crypto_wipe(keys, sizeof(keys));
	return rc;
}

void
cn_drop_ids(conn *c)
{
	sign_key_free(c->ids[0]);
	sign_key_free(c->ids[1]);
	c->ids[0] = c->ids[1] = NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpoint.c: one side of an STP connection, sans I/O (proto/STP.md): the
 * frame reader, the handshake driver, the record layer with its two
 * sequence-ordered job lists, key updates, the in-session hybrid exchange,
 * close and errors.  See endpoint.h for the calling contract.
 *
 * Input.  Bytes land in one buffer of two maximum frames, allocated once,
 * that the owner reads its socket straight into.  A frame's header is
 * judged as soon as its 4 bytes are in (type allowed in this state, length
 * within the type's maximum), before any of its body is waited for.
 * Handshake frames go to hs_input(); a handshake step that needs work stops
 * the reader until it is done.  Each RECORD or KEY_UPDATE frame becomes an
 * OPEN job carrying a copy of the receive key and the sequence number it
 * must open under.  Where the job runs is decided as it is made (run_here:
 * the owner's offload hook).  A job that runs here is opened where it lies
 * in the input buffer (in place: no copy), and only when nothing before it
 * is still waiting, so records opened here go one at a time; such a frame
 * pins the buffer (in_held), which is then neither compacted nor rewound
 * until the record is released.  A job handed out gets a copy of the frame,
 * so any thread can open it while the buffer moves on; up to max_jobs of
 * them run ahead.  A KEY_UPDATE frame is a barrier: nothing after it is
 * dispatched until it and everything before it were opened and processed
 * and the receive key moved on.
 *
 * Job buffers.  A job and its buffer are one allocation from size classes
 * of powers of two (512 bytes up to one whole record frame), so a record
 * costs at most twice its size while queued, and max_output bounds memory in
 * real bytes.  Freed jobs are kept on per-class free lists up to a small
 * byte budget (POOL_SPARE_BYTES): in a steady stream the same few buffers
 * go round without malloc, while an idle endpoint keeps little.  Buffers
 * that held plaintext are wiped before reuse or free.
 *
 * Keys.  Each direction keeps its traffic secret, the record key derived
 * from it, the next sequence number, the plaintext bytes under the key and
 * when the key last changed.  Secrets are wiped when replaced and in
 * endpoint_free; every job's key copy is wiped by record_job_run or when the
 * job is dropped.
 *
 * Record signatures (STP.md "Record signatures").  establish()
 * (endpoint_hs.c) decides,
 * from both Auths' flags and the responder's lookup, whether we sign what we
 * send and verify what we receive (signing_of): SEAL jobs then reserve the
 * signature field and carry the signing key, OPEN jobs carry the peer's key.
 * A responder whose lookup wants signatures from an initiator that will not
 * sign sends a Close saying why and fails (refuse_unsigned); an initiator
 * whose first record from the responder is a Close reports the session as
 * refused, with the responder's reason.
 *
 * Errors.  The first error finishes the endpoint and names the cause in
 * reason.  If keys exist and our send direction is sound, a
 * Close{CLOSE_PROTOCOL, reason} is queued behind the records already on
 * their way, so the peer learns why.  The receive side is torn down at once.
 *
 * Sealing (send order, padding) is in endpoint_send.c, opening (receive
 * order, the in-session exchange) in endpoint_recv.c, the handshake driver
 * (and establishing) in endpoint_hs.c; endpoint_int.h holds what the four
 * share.
 */
#include "endpoint_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "err.h"

/* ---- small helpers ---- */

static size_t
class_size(int cls)
{
	if (cls == POOL_CLASSES)
		return sizeof(endpoint_job) + RECORD_FRAME_MAX;
	return (size_t)1 << (POOL_MIN_SHIFT + cls);
}

/* A job whose buffer holds at least cap bytes, or NULL. */
endpoint_job *
ep_job_get(endpoint *e, size_t cap)
{
	endpoint_job *j;
	size_t need;
	int cls;

	if (cap > RECORD_FRAME_MAX)
		return NULL;
	need = sizeof(endpoint_job) + cap;
	for (cls = 0; cls < POOL_CLASSES && class_size(cls) < need; cls++)
		;
	if ((j = e->spare[cls]) != NULL) {
		e->spare[cls] = j->lnext;
		e->nspare[cls]--;
		e->spare_bytes -= class_size(cls);
	} else if ((j = malloc(class_size(cls))) == NULL)
		return NULL;
	memset(j, 0, sizeof(*j));
	j->e = e;
	j->cls = cls;
	j->rj.buf = (uint8_t *)(j + 1);
	j->rj.cap = class_size(cls) - sizeof(*j);
	j->rj.owner = j;
	return j;
}

/*
 * An in-place job lets go of the input buffer; once none is left and all
 * of the input was used, the next read may start at its beginning again.
 */
static void
job_unhold(endpoint_job *j)
{
	endpoint *e = j->e;

	if (!j->inplace)
		return;
	j->inplace = 0;
	if (--e->in_held == 0 && e->in_off == e->in_len)
		e->in_off = e->in_len = 0;
}

/* Wipe what a job may hold of secrets and free it. */
static void
job_free(endpoint_job *j)
{
	if (j->inplace) {
		/* The frame lives in e->in: wipe it there, free only the job. */
		crypto_wipe(j->rj.buf, j->rj.len);
		j->clear = 1;
		job_unhold(j);
	}
	aead_dirkey_wipe(&j->rj.key);
	if (!j->clear && j->rj.len > 0)
		crypto_wipe(j->rj.buf, j->rj.len <= j->rj.cap ?
		    j->rj.len : j->rj.cap);
	free(j);
}

/* Give a job back: to the free list if the budget allows, else free it. */
void
ep_job_put(endpoint *e, endpoint_job *j)
{
	size_t sz = class_size(j->cls);

	if (e->dead || e->nspare[j->cls] >= POOL_SPARE_PER_CLASS ||
	    e->spare_bytes + sz > POOL_SPARE_BYTES) {
		job_free(j);
		return;
	}
	aead_dirkey_wipe(&j->rj.key);
	if (!j->clear && j->rj.len > 0)
		crypto_wipe(j->rj.buf, j->rj.len <= j->rj.cap ?
		    j->rj.len : j->rj.cap);
	job_unhold(j);
	j->lnext = e->spare[j->cls];
	e->spare[j->cls] = j;
	e->nspare[j->cls]++;
	e->spare_bytes += sz;
}

void
ep_list_push(struct jlist *l, endpoint_job *j)
{
	j->lnext = NULL;
	if (l->tail != NULL)
		l->tail->lnext = j;
	else
		l->head = j;
	l->tail = j;
}

endpoint_job *
ep_list_pop(struct jlist *l)
{
	endpoint_job *j = l->head;

	if (j != NULL) {
		l->head = j->lnext;
		if (l->head == NULL)
			l->tail = NULL;
		j->lnext = NULL;
	}
	return j;
}

void
ep_todo_push(endpoint *e, endpoint_job *j)
{
	j->qnext = NULL;
	j->state = JS_QUEUED;
	if (e->todo.tail != NULL)
		e->todo.tail->qnext = j;
	else
		e->todo.head = j;
	e->todo.tail = j;
}

/* Take a queued job off the owner's queue (it will never be run). */
static void
todo_remove(endpoint *e, endpoint_job *j)
{
	endpoint_job **pp, *prev = NULL;

	for (pp = &e->todo.head; *pp != NULL; prev = *pp, pp = &(*pp)->qnext) {
		if (*pp == j) {
			*pp = j->qnext;
			if (e->todo.tail == j)
				e->todo.tail = prev;
			j->qnext = NULL;
			return;
		}
	}
}

/*
 * Empty a send or receive list: jobs not yet run are dropped, jobs out are
 * marked to be freed when they come back.
 */
void
ep_drop_list(endpoint *e, struct jlist *l)
{
	endpoint_job *j;

	while ((j = ep_list_pop(l)) != NULL) {
		if (j->state == JS_OUT) {
			j->orphan = 1;
			continue;
		}
		if (j->state == JS_QUEUED)
			todo_remove(e, j);
		ep_job_put(e, j);
	}
}

static uint64_t
be24(const uint8_t *p)
{
	return (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
}

/* Peer text in a log-safe form: printable ASCII, at most cap - 1 bytes. */
void
ep_sanitize(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < cap; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static void set_reason(endpoint *e, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
set_reason(endpoint *e, const char *fmt, va_list ap)
{
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
}

void
ep_note(endpoint *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_reason(e, fmt, ap);
	va_end(ap);
}

int
ep_push_event(endpoint *e, int type, const Stp__V1__Record *rec, uint64_t rtt,
    uint32_t code, const char *reason)
{
	ep_event *ev;

	if (e->ev_count == EV_CAP)
		return STP_ETOOBIG;  /* callers check for room first */
	ev = &e->evq[(e->ev_head + e->ev_count) % EV_CAP];
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->rec = rec;
	ev->rtt_ms = rtt;
	ev->code = code;
	ev->reason = reason;
	e->ev_count++;
	if (type == EP_RECORD)
		e->rec_queued = 1;
	return 0;
}

void
ep_rekem_wipe(struct rekem *rk)
{
	uint64_t last = rk->last_ms;

	crypto_wipe(rk, sizeof(*rk));
	rk->last_ms = last;
}

/*
 * The connection failed: remember why (the first error wins), tear down the
 * receive side and, when we can still send, tell the peer.  Returns err.
 */
int
ep_fail(endpoint *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e->err != 0)
		return e->err;
	e->err = err;
	va_start(ap, fmt);
	set_reason(e, fmt, ap);
	va_end(ap);

	/* Nothing more is read or opened. */
	ep_drop_list(e, &e->rxl);
	e->rx_count = 0;
	e->rx_barrier = 0;
	crypto_wipe(&e->rx, sizeof(e->rx));
	e->in_off = e->in_len = 0;
	e->pong_pending = 0;
	if (e->h != NULL && !e->hs_pending) {
		hs_free(e->h);
		e->h = NULL;
	}

	if (e->established && !e->we_closed && !e->send_broken)
		(void)ep_send_close(e, STP__V1__CLOSE_CODE__CLOSE_PROTOCOL, e->reason);
	ep_rekem_wipe(&e->rk);
	return err;
}

/* The send direction cannot go on (a record was lost): stop sealing. */
int
ep_fail_send(endpoint *e, int err, const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	e->send_broken = 1;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return ep_fail(e, err, "%s", buf);
}

static const char *
phase_name(int ph)
{
	switch (ph) {
	case PH_START: return "START";
	case PH_WAIT_REPLY: return "WAIT_REPLY";
	case PH_WAIT_HELLO: return "WAIT_HELLO";
	case PH_WAIT_AUTH: return "WAIT_AUTH";
	case PH_ESTABLISHED: return "ESTABLISHED";
	default: return "?";
	}
}

static int
type_allowed(const endpoint *e, uint8_t type)
{
	switch (e->phase) {
	case PH_WAIT_REPLY:
		return type == FRAME_CHALLENGE || type == FRAME_REJECT ||
		    type == FRAME_REPLY;
	case PH_WAIT_HELLO:
		return type == FRAME_HELLO;
	case PH_WAIT_AUTH:
		return type == FRAME_AUTH;
	case PH_ESTABLISHED:
		return type == FRAME_RECORD || type == FRAME_KEY_UPDATE;
	default:
		return 0;
	}
}

/* ---- output ---- */

void
ep_out_push(endpoint *e, endpoint_job *j)
{
	j->off = 0;
	j->handed = 0;
	ep_list_push(&e->outq, j);
	if (e->out_next == NULL)
		e->out_next = j;
	e->out_bytes += j->rj.len;
}

/* Copy handshake output into the output queue. */
int
ep_out_raw(endpoint *e, const uint8_t *p, size_t len)
{
	endpoint_job *j;

	if ((j = ep_job_get(e, len)) == NULL)
		return STP_ENOMEM;
	j->kind = JOB_RAW;
	j->clear = 1;
	j->state = JS_DONE;
	memcpy(j->rj.buf, p, len);
	j->rj.len = len;
	ep_out_push(e, j);
	return 0;
}

static size_t
pending(const endpoint *e)
{
	return e->out_bytes + e->seal_bytes;
}

int
ep_over_output(const endpoint *e)
{
	return pending(e) > e->cfg.max_output;
}

/*
 * Does a job of this kind run here, inside the call that makes it (1), or
 * go to the owner's queue (0)?  The owner's hook decides; without one,
 * inline_crypto decides for all.
 */
int
ep_run_here(const endpoint *e, int kind, size_t len, int sig)
{
	if (e->cfg.offload == NULL)
		return e->cfg.inline_crypto;
	return !e->cfg.offload(e->cfg.offload_cookie, kind, len, sig);
}

void
ep_run_inline(endpoint *e, endpoint_job *j)
{
	if (j->kind == JOB_HS)
		j->hs_rc = hs_work(j->h);
	else
		(void)record_job_run(&j->rj, e->actx);
	j->state = JS_DONE;
}

/* ---- the frame reader ---- */

/*
 * Look at the next frame in the input.  Returns 1 when one was consumed, 0
 * when nothing can be done now, or an error.
 */
static int
dispatch_one(endpoint *e)
{
	uint8_t *hdr;
	size_t avail, blen;
	uint8_t type;
	int rc, here = 0;

	if (e->err != 0 || e->hs_pending || e->rx_barrier)
		return 0;
	avail = e->in_len - e->in_off;
	if (avail < FRAME_HDR_LEN)
		return 0;
	hdr = e->in + e->in_off;
	type = hdr[0];
	if (e->peer_closed)
		return ep_fail(e, STP_EPROTO, "record after close");
	if (!type_allowed(e, type))
		return ep_fail(e, e->phase == PH_WAIT_HELLO ? STP_EMAC1 : STP_EPROTO,
		    "frame type 0x%02x not allowed in state %s", type,
		    phase_name(e->phase));
	if (frame_get_header(hdr, &type, &blen) != 0)
		return ep_fail(e, e->phase == PH_WAIT_HELLO ? STP_EMAC1 : STP_EPROTO,
		    "frame length %llu over the maximum %zu for %s",
		    (unsigned long long)be24(hdr), frame_max_body(type),
		    frame_type_name(type));
	if (e->established && e->rx_count >= e->cfg.max_jobs)
		return 0;
	if (avail - FRAME_HDR_LEN < blen)
		return 0;
	if (e->established) {
		/*
		 * Opened here: in place, one record at a time, nothing opened
		 * ahead (the one before may still be in e->in, or out).
		 */
		if (!e->here_known || e->here_seq != e->rx.seq) {
			e->here_val = ep_run_here(e, EP_JOB_OPEN, FRAME_HDR_LEN +
			    blen, (e->signing & EP_SIGN_VERIFY) != 0);
			e->here_seq = e->rx.seq;
			e->here_known = 1;
		}
		here = e->here_val;
		if (here && e->rxl.head != NULL)
			return 0;
	}
	e->in_off += FRAME_HDR_LEN + blen;
	if (e->established)
		rc = ep_rx_dispatch(e, hdr, FRAME_HDR_LEN + blen, here);
	else
		rc = ep_hs_frame(e, hdr, FRAME_HDR_LEN + blen);
	if (e->in_off == e->in_len && e->in_held == 0)
		e->in_off = e->in_len = 0;
	return rc < 0 ? rc : 1;
}

/* Process what can be processed: opened records, then more input. */
static int
pump(endpoint *e)
{
	int rc;

	for (;;) {
		if ((rc = ep_rx_process(e)) != 0)
			return rc;
		if ((rc = dispatch_one(e)) <= 0)
			return rc < 0 ? rc : e->err;
	}
}

/* ---- the API ---- */

endpoint *
endpoint_new(const endpoint_config *c, uint64_t now_ms)
{
	endpoint *e;

	if (c == NULL || c->hs.identity == NULL)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->cfg = *c;
	if (e->cfg.rekey_bytes == 0)
		e->cfg.rekey_bytes = EP_DEFAULT_REKEY_BYTES;
	if (e->cfg.rekey_interval_ms == 0)
		e->cfg.rekey_interval_ms = EP_DEFAULT_REKEY_INTERVAL_MS;
	if (e->cfg.rekem_interval_ms == 0)
		e->cfg.rekem_interval_ms = EP_DEFAULT_REKEM_INTERVAL_MS;
	if (e->cfg.max_output == 0)
		e->cfg.max_output = EP_DEFAULT_MAX_OUTPUT;
	if (e->cfg.max_jobs == 0)
		e->cfg.max_jobs = EP_DEFAULT_MAX_JOBS;
	e->now = now_ms;
	e->phase = c->hs.initiator ? PH_START : PH_WAIT_HELLO;
	if ((e->in = malloc(IN_CAP)) == NULL ||
	    (e->arena = env_arena_new(ARENA_CAP)) == NULL ||
	    (e->h = hs_new(&c->hs)) == NULL) {
		endpoint_free(e);
		return NULL;
	}
	if ((e->actx = c->actx) == NULL &&
	    (c->inline_crypto || c->offload != NULL)) {
		if ((e->actx = aead_ctx_new()) == NULL) {
			endpoint_free(e);
			return NULL;
		}
		e->own_actx = 1;
	}
	return e;
}

/* Free everything but the jobs that are out (and what they use). */
static void
release(endpoint *e)
{
	endpoint_job *j;
	int i;

	ep_drop_list(e, &e->txl);
	ep_drop_list(e, &e->rxl);
	if (e->ev_job != NULL) {
		job_free(e->ev_job);
		e->ev_job = NULL;
	}
	/* Before e->in goes: kept jobs may lie in it. */
	while ((j = ep_list_pop(&e->kept)) != NULL)
		job_free(j);
	e->kept_bytes = 0;
	if (e->resv != NULL) {
		e->resv->rj.len = e->resv->rj.cap;
		job_free(e->resv);
		e->resv = NULL;
	}
	while ((j = ep_list_pop(&e->outq)) != NULL)
		job_free(j);
	e->out_next = NULL;
	/* Only the handshake job can still be queued here. */
	while ((j = e->todo.head) != NULL) {
		e->todo.head = j->qnext;
		if (j->kind == JOB_HS)
			e->hs_pending = 0;
		job_free(j);
	}
	e->todo.tail = NULL;
	for (i = 0; i <= POOL_CLASSES; i++) {
		while ((j = e->spare[i]) != NULL) {
			e->spare[i] = j->lnext;
			free(j);
		}
		e->nspare[i] = 0;
	}
	e->spare_bytes = 0;
	if (e->in != NULL) {
		crypto_wipe(e->in, IN_CAP);
		free(e->in);
		e->in = NULL;
	}
	env_arena_free(e->arena);
	e->arena = NULL;
	if (e->own_actx)
		aead_ctx_free(e->actx);
	e->actx = NULL;
	crypto_wipe(&e->tx, sizeof(e->tx));
	crypto_wipe(&e->rx, sizeof(e->rx));
	aead_key_retired();
	ep_rekem_wipe(&e->rk);
	if (!e->hs_pending) {
		hs_free(e->h);
		e->h = NULL;
	}
}

static void
destroy(endpoint *e)
{
	hs_free(e->h);
	sign_pub_free(e->peer_vk);
	crypto_wipe(e, sizeof(*e));
	free(e);
}

void
endpoint_free(endpoint *e)
{
	if (e == NULL)
		return;
	e->dead = 1;  /* from here on jobs are freed, not kept */
	release(e);
	if (e->jobs_out == 0)
		destroy(e);
	/* Else the last endpoint_job_done() frees what is left. */
}

int
endpoint_start(endpoint *e, uint64_t now_ms)
{
	int rc;

	e->now = now_ms;
	if (!e->cfg.hs.initiator || e->phase != PH_START || e->err != 0)
		return STP_ESTATE;
	if ((rc = hs_start(e->h)) < 0)
		return ep_hs_after(e, rc);
	e->phase = PH_WAIT_REPLY;
	if (rc == HS_WORK)
		return ep_hs_kick(e);
	return ep_hs_after(e, rc);
}

size_t
endpoint_input_room(const endpoint *e)
{
	if (e->err != 0 || e->dead)
		return 0;
	/*
	 * The frame a pending handshake step came from, and records opened in
	 * place, stay where they are.
	 */
	if (e->hs_pending || e->in_held > 0)
		return IN_CAP - e->in_len;
	return IN_CAP - (e->in_len - e->in_off);
}

size_t
endpoint_input_partial(const endpoint *e)
{
	return e->hs_pending ? 0 : e->in_len - e->in_off;
}

/* Move the unprocessed input to the front of the buffer. */
static void
in_compact(endpoint *e)
{
	if (e->in_off == 0 || e->hs_pending || e->in_held > 0)
		return;
	memmove(e->in, e->in + e->in_off, e->in_len - e->in_off);
	e->in_len -= e->in_off;
	e->in_off = 0;
}

uint8_t *
endpoint_input_buf(endpoint *e, size_t *room)
{
	if (endpoint_input_room(e) == 0) {
		*room = 0;
		return NULL;
	}
	/*
	 * The buffer holds two maximum frames, so the tail is mostly roomy;
	 * move the partial frame down only when it is not.
	 */
	if (IN_CAP - e->in_len < IN_CAP / 4)
		in_compact(e);
	if ((*room = IN_CAP - e->in_len) == 0)
		return NULL;
	return e->in + e->in_len;
}

int
endpoint_input_commit(endpoint *e, size_t len, uint64_t now_ms)
{
	int rc;

	if (e->dead)
		return STP_ESTATE;
	if (e->err != 0)
		return e->err;
	if (len > IN_CAP - e->in_len)
		return STP_EINVAL;
	e->now = now_ms;
	e->in_len += len;
	e->st.wire_recv += len;
	rc = pump(e);
	return rc < 0 ? rc : 0;
}

int
endpoint_input(endpoint *e, const uint8_t *buf, size_t len, uint64_t now_ms)
{
	if (e->dead)
		return STP_ESTATE;
	if (e->err != 0)
		return e->err;
	if (len > endpoint_input_room(e))
		return STP_EINVAL;
	if (e->in_len + len > IN_CAP)
		in_compact(e);
	memcpy(e->in + e->in_len, buf, len);
	return endpoint_input_commit(e, len, now_ms);
}

int
endpoint_poll(endpoint *e, ep_event *ev)
{
	if (e->rec_out) {
		/* The application is done with the last record, or keeps it. */
		e->rec_out = 0;
		if (e->ev_job != NULL) {
			if (e->ev_keep) {
				ep_list_push(&e->kept, e->ev_job);
				e->kept_bytes += e->ev_job->rj.len;
			} else
				ep_job_put(e, e->ev_job);
			e->ev_job = NULL;
		}
		e->ev_keep = 0;
		env_arena_reset(e->arena);
		(void)pump(e);
	}
	if (e->ev_count == 0)
		return 0;
	*ev = e->evq[e->ev_head];
	e->ev_head = (e->ev_head + 1) % EV_CAP;
	e->ev_count--;
	if (ev->type == EP_RECORD) {
		e->rec_queued = 0;
		e->rec_out = 1;
	}
	return 1;
}

int
endpoint_keep(endpoint *e)
{
	/* Only a data record read without the arena has memory of its own. */
	if (!e->rec_out || e->ev_job == NULL || e->ev_keep)
		return STP_EAGAIN;
	if (e->kept_bytes + e->ev_job->rj.len > EP_KEEP_MAX)
		return STP_EAGAIN;
	e->ev_keep = 1;
	return 0;
}

int
endpoint_release_kept(endpoint *e, uint64_t now_ms)
{
	endpoint_job *j;
	int rc;

	if (e->kept.head == NULL)
		return e->err;
	e->now = now_ms;
	while ((j = ep_list_pop(&e->kept)) != NULL)
		ep_job_put(e, j);
	e->kept_bytes = 0;
	if (e->dead)
		return STP_ESTATE;
	rc = pump(e);
	return rc < 0 ? rc : 0;
}

size_t
endpoint_kept(const endpoint *e)
{
	return e->kept_bytes;
}

size_t
endpoint_output(endpoint *e, struct iovec *iov, size_t max_iov)
{
	endpoint_job *j;
	size_t n = 0;

	for (j = e->out_next; j != NULL && n < max_iov; j = j->lnext) {
		iov[n].iov_base = j->rj.buf;
		iov[n].iov_len = j->rj.len;
		j->handed = 1;
		n++;
	}
	e->out_next = j;
	return n;
}

void
endpoint_output_done(endpoint *e, size_t n)
{
	endpoint_job *j;
	size_t take;

	while (n > 0 && (j = e->outq.head) != NULL && j->handed) {
		take = j->rj.len - j->off;
		if (take > n)
			take = n;
		j->off += take;
		n -= take;
		e->out_bytes -= take;
		e->st.wire_sent += take;
		if (j->off == j->rj.len) {
			(void)ep_list_pop(&e->outq);
			ep_job_put(e, j);
		}
	}
	if (e->err == 0)
		ep_flush_pong(e);
}

size_t
endpoint_output_pending(const endpoint *e)
{
	return pending(e);
}

endpoint_job *
endpoint_job_take(endpoint *e)
{
	endpoint_job *j = e->todo.head;

	if (j == NULL)
		return NULL;
	e->todo.head = j->qnext;
	if (e->todo.head == NULL)
		e->todo.tail = NULL;
	j->qnext = NULL;
	j->state = JS_OUT;
	e->jobs_out++;
	return j;
}

void
endpoint_job_run(endpoint_job *j, aead_ctx *ctx)
{
	if (j->kind == JOB_HS)
		j->hs_rc = hs_work(j->h);
	else
		(void)record_job_run(&j->rj, ctx);
}

int
endpoint_job_done(endpoint *e, endpoint_job *j, uint64_t now_ms)
{
	int had_err, rc;

	e->jobs_out--;
	j->state = JS_DONE;
	if (e->dead) {
		if (j->kind == JOB_HS)
			e->hs_pending = 0;
		job_free(j);
		if (e->jobs_out == 0)
			destroy(e);
		return 0;
	}
	e->now = now_ms;
	had_err = e->err != 0;
	if (j->orphan) {
		ep_job_put(e, j);
		return 0;
	}
	switch (j->kind) {
	case JOB_HS:
		e->hs_pending = 0;
		rc = j->hs_rc;
		ep_job_put(e, j);
		if (e->err == 0)
			(void)ep_hs_after(e, rc);
		break;
	case JOB_SEAL:
		ep_tx_release(e);
		break;
	default:
		break;
	}
	(void)pump(e);
	return !had_err && e->err != 0 ? e->err : 0;
}

unsigned
endpoint_jobs_out(const endpoint *e)
{
	return e->jobs_out;
}

int
endpoint_established(const endpoint *e)
{
	return e->established;
}

int
endpoint_finished(const endpoint *e)
{
	return e->err != 0 || e->peer_closed || e->we_closed;
}

const uint8_t *
endpoint_peer(const endpoint *e)
{
	return e->have_peer ? e->peer_pub : NULL;
}

const uint8_t *
endpoint_peer_auth(const endpoint *e)
{
	return e->have_peer ? e->auth_pub : NULL;
}

const uint8_t *
endpoint_self(const endpoint *e)
{
	return e->established ? e->self_pub : NULL;
}

uint32_t
endpoint_features(const endpoint *e)
{
	return e->established ? e->features : 0;
}

const uint8_t *
endpoint_sid(const endpoint *e)
{
	return e->established ? e->sid : NULL;
}

int
endpoint_resume_secret(const endpoint *e, uint8_t out[KS_RESUME_LEN])
{
	if (!e->established || !(e->features & HS_FEATURE_RESUME))
		return STP_ESTATE;
	memcpy(out, e->resume, KS_RESUME_LEN);
	return 0;
}

const char *
endpoint_reason(const endpoint *e)
{
	return e->reason;
}

unsigned
endpoint_signing(const endpoint *e)
{
	return e->established ? e->signing : 0;
}

void
endpoint_test_sign_with(endpoint *e, const sign_key *k)
{
	e->test_signer = k;
}

void
endpoint_get_stats(const endpoint *e, ep_stats *s)
{
	*s = e->st;
}

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
 * Receive order.  OPEN jobs sit in a list ordered by sequence number and are
 * processed only from its head, only once done: a record a fast worker opened
 * early waits for the ones before it.  A job that failed to open (or whose
 * signature failed) ends the connection and nothing of it is looked at.
 * Processing parses the plaintext into the endpoint's arena and checks
 * Record.seq and the body against the frame type.  A stream record becomes
 * an EP_RECORD event that holds the arena until the application polls past
 * it, and no further record is processed meanwhile, so a record costs at
 * most one arena however slowly the application reads.  A data record read
 * in place (no arena) may be kept instead (endpoint_keep): its job moves to
 * the kept list, processing goes on, and endpoint_release_kept frees them
 * all; EP_KEEP_MAX bounds what is kept.
 *
 * Send order.  Every record is encoded into a SEAL job (header, plaintext,
 * room for the tag, and the reserved signature field when we sign) under a
 * copy of the send key with the next sequence number.  SEAL jobs sit in a
 * list ordered by sequence number and move to the output queue only from its
 * head, so frames reach the wire in sequence order whatever order workers
 * finish in.  Handshake output goes straight to the output queue; it always
 * precedes the first record because no record is made before the handshake
 * is done.  Application sends are refused (STP_EAGAIN) while the output
 * queue and the records being sealed hold more than max_output bytes; our
 * own protocol records (pong, key update, rekey exchange, close) are not
 * refused, and a pong that finds the output full is deferred (only the
 * latest) until it drains, so a peer cannot grow our output by pinging.
 *
 * Job buffers.  A job and its buffer are one allocation from size classes
 * of powers of two (512 bytes up to one whole record frame), so a record
 * costs at most twice its size while queued, and max_output bounds memory in
 * real bytes.  Freed jobs are kept on per-class free lists up to a small
 * byte budget (POOL_SPARE_BYTES): in a steady stream the same few buffers
 * go round without malloc, while an idle endpoint keeps little.  Buffers
 * that held plaintext are wiped before reuse or free.
 *
 * Padding.  With a pad_to hook (a shaping plugin), every record we seal,
 * ours and the app's alike, gets a padding field (30) after its body so its
 * plaintext is exactly the size the hook gives (pad_target, env_pad_fill); the
 * signature field, when we sign, comes after it and covers it.  Buffers are
 * sized for the padded record from the start, a zero-copy reservation
 * included, so padding costs no copy but the zeros, and nothing at all
 * without the hook.  Received data records with a padding field are still
 * read in place (env_pad_find).  Cover records are sent with the size asked
 * (endpoint_send_cover) and dropped on receipt.
 *
 * Keys.  Each direction keeps its traffic secret, the record key derived
 * from it, the next sequence number, the plaintext bytes under the key and
 * when the key last changed.  Secrets are wiped when replaced and in
 * endpoint_free; every job's key copy is wiped by record_job_run or when the
 * job is dropped.
 *
 * Record signatures (STP.md "Record signatures").  establish() decides,
 * from both Auths' flags and the responder's lookup, whether we sign what we
 * send and verify what we receive (signing_of): SEAL jobs then reserve the
 * signature field and carry the signing key, OPEN jobs carry the peer's key.
 * A responder whose lookup wants signatures from an initiator that will not
 * sign sends a Close saying why and fails (refuse_unsigned); an initiator
 * whose first record from the responder is a Close reports the session as
 * refused, with the responder's reason.
 *
 * Rekey exchange (STP.md "Rekey").  The handshake initiator sends
 * KemInit{x25519, mlkem_ek}; the responder encapsulates, answers KemReply
 * and at once sends KEY_UPDATE{fresh}; the initiator, on the KemReply,
 * decapsulates and sends its own KEY_UPDATE{fresh}.  Both sides compute
 * xh = H(KemInit bytes || KemReply bytes) over the canonical protobuf
 * encodings (env_pack) of the two sub-messages.  The shared secrets and xh
 * are kept until both directions used them, then wiped.
 *
 * Errors.  The first error finishes the endpoint and names the cause in
 * reason.  If keys exist and our send direction is sound, a
 * Close{CLOSE_PROTOCOL, reason} is queued behind the records already on
 * their way, so the peer learns why.  The receive side is torn down at once.
 */
#include "endpoint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/hash.h"
#include "crypto/mlkem768.h"
#include "crypto/x25519.h"
#include "envelope.h"
#include "err.h"
#include "frame.h"
#include "identity.h"
#include "keysched.h"
#include "plugin_api.h"
#include "record.h"

/* Received bytes not yet framed: two maximum frames, so reads go straight in. */
#define IN_CAP (2 * (FRAME_HDR_LEN + FRAME_MAX_BODY))
#define ARENA_CAP (2 * STP_MAX_RECORD_PT)
#define EV_CAP 8
#define REASON_MAX 128          /* Close.reason on the wire */
#define REKEM_MSG_MAX 1280      /* KemInit / KemReply encodings (1221 / 1125) */
/* The last sequence numbers are kept for the Close that ends the session. */
#define SEQ_LAST_REGULAR (UINT64_MAX - 8)

#define POOL_MIN_SHIFT 9        /* smallest class: 512 bytes */
#define POOL_CLASSES 9          /* 512 ... 65536, then one whole frame */
#define POOL_SPARE_BYTES (256u * 1024)
#define POOL_SPARE_PER_CLASS 16
#define COPY_DOWN_MAX 8192      /* endpoint_data_commit: smaller records move */

static const uint8_t sig_field_tag[3] = { 0xfa, 0x01, 0x40 };

enum job_kind { JOB_HS = 1, JOB_SEAL, JOB_OPEN, JOB_RAW };
enum job_state { JS_NEW = 0, JS_QUEUED, JS_OUT, JS_DONE };

struct endpoint_job {
	record_job rj;          /* buf/len/cap also used by JOB_RAW */
	endpoint *e;
	hs *h;                  /* JOB_HS */
	int hs_rc;
	int kind;
	int state;
	int orphan;             /* out when its list was dropped: free on return */
	int clear;              /* nothing secret in buf (ciphertext, handshake) */
	int cls;                /* pool size class */
	int inplace;            /* OPEN: buf is the frame in e->in (pins it) */
	endpoint_job *qnext;    /* the queue of jobs for the owner */
	endpoint_job *lnext;    /* send, receive or output list */
	size_t off;             /* output: bytes already written */
	int handed;             /* output: given out by endpoint_output */
};

/* One direction's key state. */
struct rdir {
	uint8_t ts[KS_SECRET_LEN];
	aead_dirkey dk;
	uint64_t seq;           /* next sequence number */
	uint64_t bytes;         /* plaintext bytes under the current key */
	uint64_t key_ms;        /* when the key last changed */
};

/* The in-session hybrid exchange. */
struct rekem {
	int sent;               /* initiator: KemInit out, KemReply awaited */
	uint8_t x_priv[X25519_LEN];
	uint8_t dk[MLKEM768_DK_LEN];
	uint8_t init_msg[REKEM_MSG_MAX];
	size_t init_len;
	int have_ss;            /* an exchange completed; its secrets below */
	int send_done, recv_done;
	uint8_t ss_m[32], ss_x[32], xh[KS_TH_LEN];
	uint64_t last_ms;
};

struct jlist {
	endpoint_job *head, *tail;
};

enum phase {
	PH_START,               /* initiator before endpoint_start */
	PH_WAIT_REPLY,
	PH_WAIT_HELLO,
	PH_WAIT_AUTH,
	PH_ESTABLISHED,
};

struct endpoint {
	endpoint_config cfg;
	uint64_t now;
	aead_ctx *actx;         /* jobs run here; cfg.actx, or our own */
	int own_actx;

	hs *h;
	int phase;
	int hs_pending;         /* the handshake job is not back */
	int established;
	int err;                /* the first error, 0 if none */
	int peer_closed, we_closed;
	int send_broken;        /* no record may be sealed any more */
	int dead;               /* endpoint_free called while jobs were out */

	uint8_t peer_pub[32];
	int have_peer;
	/*
	 * The peer's verification key, made once in establish() when we check
	 * its record signatures; jobs out may use it, so it goes in destroy().
	 */
	sign_pub *peer_vk;
	uint8_t sid[KS_SID_LEN];
	uint32_t peer_flags, our_flags;
	unsigned signing;       /* EP_SIGN_*, decided in establish() */
	const sign_key *test_signer;  /* endpoint_test_sign_with */
	char send_dir, recv_dir;
	struct rdir tx, rx;
	struct rekem rk;

	uint8_t *in;
	size_t in_off, in_len;
	unsigned in_held;       /* in-place jobs alive: e->in may not move */
	struct jlist kept;      /* endpoint_keep: linked by lnext */
	size_t kept_bytes;
	int ev_keep;            /* the record handed out is to be kept */

	struct jlist todo;      /* linked by qnext */
	unsigned jobs_out;
	struct jlist txl, rxl;  /* linked by lnext */
	unsigned rx_count;
	int rx_barrier;         /* a KEY_UPDATE is being opened */
	/* Where the next frame's OPEN job runs, once asked (one question a frame). */
	int here_known, here_val;
	uint64_t here_seq;
	size_t seal_bytes;      /* frames in the send list */

	struct jlist outq;      /* linked by lnext */
	endpoint_job *out_next; /* first not handed out */
	size_t out_bytes;       /* not yet written */

	endpoint_job *spare[POOL_CLASSES + 1];
	unsigned nspare[POOL_CLASSES + 1];
	size_t spare_bytes;

	ep_event evq[EV_CAP];
	unsigned ev_head, ev_count;
	int rec_queued;         /* an EP_RECORD waits in evq */
	int rec_out;            /* the last event handed out was EP_RECORD */
	env_arena *arena;
	/*
	 * A data record decoded in place: the event points into this job's
	 * plaintext, so the job lives until the app polls past the event.
	 */
	endpoint_job *ev_job;
	Stp__V1__Record fast_rec;
	Stp__V1__StreamData fast_data;
	/* endpoint_data_reserve: the job, where its data starts, how much fits. */
	endpoint_job *resv;
	size_t resv_hdr, resv_max;

	int pong_pending;
	uint64_t pong_id;
	size_t pad_want;        /* endpoint_send_cover: the size asked for */

	char reason[256];
	char peer_reason[REASON_MAX + 1];
	ep_stats st;
};

static int tx_message(endpoint *e, uint8_t type, Stp__V1__Record *r);
static void tx_release(endpoint *e);

/* ---- small helpers ---- */

static size_t
class_size(int cls)
{
	if (cls == POOL_CLASSES)
		return sizeof(endpoint_job) + RECORD_FRAME_MAX;
	return (size_t)1 << (POOL_MIN_SHIFT + cls);
}

/* A job whose buffer holds at least cap bytes, or NULL. */
static endpoint_job *
job_get(endpoint *e, size_t cap)
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
static void
job_put(endpoint *e, endpoint_job *j)
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

static void
list_push(struct jlist *l, endpoint_job *j)
{
	j->lnext = NULL;
	if (l->tail != NULL)
		l->tail->lnext = j;
	else
		l->head = j;
	l->tail = j;
}

static endpoint_job *
list_pop(struct jlist *l)
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

static void
todo_push(endpoint *e, endpoint_job *j)
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
static void
drop_list(endpoint *e, struct jlist *l)
{
	endpoint_job *j;

	while ((j = list_pop(l)) != NULL) {
		if (j->state == JS_OUT) {
			j->orphan = 1;
			continue;
		}
		if (j->state == JS_QUEUED)
			todo_remove(e, j);
		job_put(e, j);
	}
}

static uint64_t
be24(const uint8_t *p)
{
	return (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
}

/* Peer text in a log-safe form: printable ASCII, at most cap - 1 bytes. */
static void
sanitize(char *dst, size_t cap, const char *src)
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

static void
note(endpoint *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
note(endpoint *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_reason(e, fmt, ap);
	va_end(ap);
}

static int
push_event(endpoint *e, int type, const Stp__V1__Record *rec, uint64_t rtt,
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

static void
rekem_wipe(struct rekem *rk)
{
	uint64_t last = rk->last_ms;

	crypto_wipe(rk, sizeof(*rk));
	rk->last_ms = last;
}

static int send_close(endpoint *e, uint32_t code, const char *reason);

/*
 * The connection failed: remember why (the first error wins), tear down the
 * receive side and, when we can still send, tell the peer.  Returns err.
 */
static int
fail(endpoint *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
fail(endpoint *e, int err, const char *fmt, ...)
{
	va_list ap;

	if (e->err != 0)
		return e->err;
	e->err = err;
	va_start(ap, fmt);
	set_reason(e, fmt, ap);
	va_end(ap);

	/* Nothing more is read or opened. */
	drop_list(e, &e->rxl);
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
		(void)send_close(e, STP__V1__CLOSE_CODE__CLOSE_PROTOCOL, e->reason);
	rekem_wipe(&e->rk);
	return err;
}

/* The send direction cannot go on (a record was lost): stop sealing. */
static int
fail_send(endpoint *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
fail_send(endpoint *e, int err, const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	e->send_broken = 1;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return fail(e, err, "%s", buf);
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

static void
out_push(endpoint *e, endpoint_job *j)
{
	j->off = 0;
	j->handed = 0;
	list_push(&e->outq, j);
	if (e->out_next == NULL)
		e->out_next = j;
	e->out_bytes += j->rj.len;
}

/* Copy handshake output into the output queue. */
static int
out_raw(endpoint *e, const uint8_t *p, size_t len)
{
	endpoint_job *j;

	if ((j = job_get(e, len)) == NULL)
		return STP_ENOMEM;
	j->kind = JOB_RAW;
	j->clear = 1;
	j->state = JS_DONE;
	memcpy(j->rj.buf, p, len);
	j->rj.len = len;
	out_push(e, j);
	return 0;
}

static size_t
pending(const endpoint *e)
{
	return e->out_bytes + e->seal_bytes;
}

static int
over_output(const endpoint *e)
{
	return pending(e) > e->cfg.max_output;
}

/* ---- sending ---- */

static int
can_send(const endpoint *e)
{
	return e->established && !e->we_closed && !e->send_broken &&
	    !e->dead;
}

/*
 * Does a job of this kind run here, inside the call that makes it (1), or
 * go to the owner's queue (0)?  The owner's hook decides; without one,
 * inline_crypto decides for all.
 */
static int
run_here(const endpoint *e, int kind, size_t len, int sig)
{
	if (e->cfg.offload == NULL)
		return e->cfg.inline_crypto;
	return !e->cfg.offload(e->cfg.offload_cookie, kind, len, sig);
}

static void
run_inline(endpoint *e, endpoint_job *j)
{
	if (j->kind == JOB_HS)
		j->hs_rc = hs_work(j->h);
	else
		(void)record_job_run(&j->rj, e->actx);
	j->state = JS_DONE;
}

/* Plaintext bytes the reserved signature field takes in our records. */
static size_t
sig_room(const endpoint *e)
{
	return (e->signing & EP_SIGN_SEND) ? RECORD_SIG_FIELD_LEN : 0;
}

/* The key our records are signed with (a test may swap it). */
static const sign_key *
record_signer(const endpoint *e)
{
	return e->test_signer != NULL ? e->test_signer : e->cfg.hs.identity;
}

/* ---- padding (proto/STP.md, "Padding and cover records") ---- */

/* Room a zero-copy reservation loses to its header (data_hdr_max) stays below this. */
#define PAD_RESV_SLACK 48
_Static_assert(EP_PAD_MAX + RECORD_SIG_FIELD_LEN + PAD_RESV_SLACK <=
    STP_MAX_RECORD_PT, "EP_PAD_MAX leaves no room for a signature");

/*
 * The largest padded plaintext (without a signature) of a frame type: what
 * the frame's maximum holds beside the tag and a signature field, and at
 * most EP_PAD_MAX, so the padded size never depends on whether we sign.
 */
static size_t
pad_max(uint8_t type)
{
	size_t m = frame_max_body(type) - AEAD_TAG_LEN - RECORD_SIG_FIELD_LEN;

	return m < EP_PAD_MAX ? m : EP_PAD_MAX;
}

/*
 * The plaintext size a record of len bytes goes out with: e->pad_want when
 * it holds the record (a cover record), else the shaper's answer, within
 * len..pad_max.  A
 * padding field takes at least 3 bytes, so a gap of 1 or 2 cannot be filled:
 * then the size the shaper gives for len + 3 is taken (the next bucket).
 * len when nothing pads, or when not even the smallest field fits (never for
 * the records this endpoint makes: the largest is far below pad_max).
 */
static size_t
pad_target(const endpoint *e, uint8_t type, size_t len)
{
	size_t max = pad_max(type), t;

	if ((e->cfg.pad_to == NULL && e->pad_want == 0) ||
	    len + ENV_PAD_MIN > max)
		return len;
	t = e->pad_want;
	if (t < len)
		t = e->cfg.pad_to != NULL ?
		    e->cfg.pad_to(e->cfg.pad_cookie, len, max) : len;
	if (t > max)
		t = max;
	if (t > len && t - len < ENV_PAD_MIN) {
		t = e->cfg.pad_to != NULL ?
		    e->cfg.pad_to(e->cfg.pad_cookie, len + ENV_PAD_MIN, max) :
		    len + ENV_PAD_MIN;
		if (t > max)
			t = max;
		if (t < len + ENV_PAD_MIN)
			t = len + ENV_PAD_MIN;
	}
	return t > len ? t : len;
}

/*
 * Finish a SEAL job whose plaintext (pt_len bytes) is at buf + 4: reserve the
 * signature field when we sign, write the header, take the next sequence
 * number and key, and queue it (or seal it now).
 */
static int
tx_submit(endpoint *e, endpoint_job *j, uint8_t type, size_t pt_len)
{
	uint8_t *pt = j->rj.buf + FRAME_HDR_LEN;
	int sign = (e->signing & EP_SIGN_SEND) != 0;

	if (sign) {
		memcpy(pt + pt_len, sig_field_tag, sizeof(sig_field_tag));
		memset(pt + pt_len + sizeof(sig_field_tag), 0, SIGN_SIG_LEN);
		pt_len += RECORD_SIG_FIELD_LEN;
	}
	if (pt_len > STP_MAX_RECORD_PT ||
	    pt_len + AEAD_TAG_LEN > frame_max_body(type)) {
		j->rj.len = FRAME_HDR_LEN + pt_len;
		job_put(e, j);
		return STP_ETOOBIG;
	}
	frame_put_header(j->rj.buf, type, pt_len + AEAD_TAG_LEN);
	j->kind = JOB_SEAL;
	j->rj.op = RECORD_SEAL;
	j->rj.len = FRAME_HDR_LEN + pt_len;
	j->rj.key = e->tx.dk;
	j->rj.seq = e->tx.seq++;
	j->rj.signer = sign ? record_signer(e) : NULL;
	j->rj.verifier = NULL;
	memcpy(j->rj.sid, e->sid, KS_SID_LEN);
	j->rj.dir = e->send_dir;
	e->tx.bytes += pt_len;
	e->st.records_sent++;
	e->st.bytes_sent += pt_len;
	e->seal_bytes += j->rj.len + AEAD_TAG_LEN;
	list_push(&e->txl, j);
	if (run_here(e, EP_JOB_SEAL, j->rj.len + AEAD_TAG_LEN, sign)) {
		run_inline(e, j);
		tx_release(e);
	} else
		todo_push(e, j);
	return 0;
}

/* Sealed records go to the output from the head of the send list, in order. */
static void
tx_release(endpoint *e)
{
	endpoint_job *j;

	while ((j = e->txl.head) != NULL && j->state == JS_DONE) {
		(void)list_pop(&e->txl);
		e->seal_bytes -= j->rj.len + (j->rj.result == 0 ? 0 : AEAD_TAG_LEN);
		if (j->rj.result != 0 || e->send_broken) {
			uint64_t seq = j->rj.seq;
			int rc = j->rj.result;

			job_put(e, j);
			if (rc != 0) {
				drop_list(e, &e->txl);
				e->seal_bytes = 0;
				(void)fail_send(e, rc, "record %llu failed to seal: %s",
				    (unsigned long long)seq, stp_strerror(rc));
			}
			continue;
		}
		j->clear = 1;
		out_push(e, j);
	}
}

/* Encode and send a Record; seq and time_ms are set here. */
static int
tx_message(endpoint *e, uint8_t type, Stp__V1__Record *r)
{
	ProtobufCBinaryData sig = r->signature;
	endpoint_job *j;
	size_t n, t;
	int rc;

	r->seq = e->tx.seq;
	r->time_ms = e->now;
	/* Field 31 is ours to write, last, when we sign. */
	r->signature.len = 0;
	r->signature.data = NULL;
	n = protobuf_c_message_get_packed_size(&r->base);
	t = pad_target(e, type, n);
	if (t + sig_room(e) > STP_MAX_RECORD_PT) {
		rc = STP_ETOOBIG;
		goto out;
	}
	if ((j = job_get(e, FRAME_HDR_LEN + t + sig_room(e) +
	    AEAD_TAG_LEN)) == NULL) {
		rc = STP_ENOMEM;
		goto out;
	}
	if ((rc = env_pack(&r->base, j->rj.buf + FRAME_HDR_LEN, n)) < 0) {
		job_put(e, j);
		goto out;
	}
	if ((size_t)rc != n)
		t = (size_t)rc;
	env_pad_fill(j->rj.buf + FRAME_HDR_LEN + (size_t)rc, t - (size_t)rc);
	rc = tx_submit(e, j, type, t);
out:
	r->signature = sig;
	return rc;
}

static int
send_close(endpoint *e, uint32_t code, const char *reason)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Close c = STP__V1__CLOSE__INIT;
	char why[REASON_MAX + 1];
	int rc;

	sanitize(why, sizeof(why), reason);
	c.code = code;
	c.reason = why;
	r.body_case = STP__V1__RECORD__BODY_CLOSE;
	r.close = &c;
	rc = tx_message(e, FRAME_RECORD, &r);
	e->we_closed = 1;
	return rc;
}

/* Seal a KEY_UPDATE under the current key, then move the send key on. */
static int
tx_key_update(endpoint *e, int fresh)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__KeyUpdate ku = STP__V1__KEY_UPDATE__INIT;
	int rc;

	ku.fresh = fresh ? 1 : 0;
	r.body_case = STP__V1__RECORD__BODY_KEY_UPDATE;
	r.key_update = &ku;
	if ((rc = tx_message(e, FRAME_KEY_UPDATE, &r)) != 0)
		return fail_send(e, rc, "cannot send a key update: %s",
		    stp_strerror(rc));
	if (fresh)
		rc = ks_fresh(e->tx.ts, e->rk.ss_m, e->rk.ss_x, e->rk.xh);
	else
		rc = ks_ratchet(e->tx.ts);
	if (rc == 0)
		rc = ks_record_key(&e->tx.dk, e->tx.ts);
	if (rc != 0)
		return fail_send(e, rc, "send key update failed: %s",
		    stp_strerror(rc));
	e->tx.bytes = 0;
	e->tx.key_ms = e->now;
	e->st.key_updates_sent++;
	return 0;
}

static uint64_t
rekey_bytes(const endpoint *e)
{
	return e->cfg.rekey_bytes;
}

/* After a send: a key update once enough bytes went under one key. */
static int
tx_maybe_rekey(endpoint *e)
{
	if (can_send(e) && e->tx.bytes >= rekey_bytes(e))
		return tx_key_update(e, 0);
	return 0;
}

/* Checks common to application sends. */
static int
app_send_ok(endpoint *e)
{
	if (e->dead || !e->established || e->we_closed || e->send_broken ||
	    e->err != 0)
		return STP_ESTATE;
	if (e->tx.seq >= SEQ_LAST_REGULAR) {
		(void)send_close(e, STP__V1__CLOSE_CODE__CLOSE_LIMIT,
		    "sequence numbers exhausted");
		note(e, "closed: sequence numbers exhausted");
		return STP_ESTATE;
	}
	if (over_output(e))
		return STP_EAGAIN;
	return 0;
}

static void
send_pong(endpoint *e, uint64_t id)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Ping p = STP__V1__PING__INIT;

	if (!can_send(e) || e->tx.seq >= SEQ_LAST_REGULAR)
		return;
	if (over_output(e)) {
		e->pong_pending = 1;
		e->pong_id = id;
		return;
	}
	e->pong_pending = 0;
	p.id = id;
	r.body_case = STP__V1__RECORD__BODY_PONG;
	r.pong = &p;
	if (tx_message(e, FRAME_RECORD, &r) == 0)
		(void)tx_maybe_rekey(e);
}

static void
flush_pong(endpoint *e)
{
	if (e->pong_pending && !over_output(e))
		send_pong(e, e->pong_id);
}

/* ---- the in-session hybrid exchange ---- */

static void
rekem_maybe_finish(endpoint *e)
{
	if (e->rk.have_ss && e->rk.send_done && e->rk.recv_done) {
		rekem_wipe(&e->rk);
		e->st.rekems++;
	}
}

/* Initiator: fresh key pairs, KemInit. */
static int
rekem_start(endpoint *e)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__KemInit ki = STP__V1__KEM_INIT__INIT;
	uint8_t xpub[X25519_LEN], ek[MLKEM768_EK_LEN];
	int rc;

	e->rk.last_ms = e->now;
	if ((rc = x25519_keypair(e->rk.x_priv, xpub)) != 0 ||
	    (rc = mlkem768_keygen(ek, e->rk.dk)) != 0)
		goto out;
	ki.x25519.data = xpub;
	ki.x25519.len = X25519_LEN;
	ki.mlkem_ek.data = ek;
	ki.mlkem_ek.len = MLKEM768_EK_LEN;
	if ((rc = env_pack(&ki.base, e->rk.init_msg, sizeof(e->rk.init_msg))) < 0)
		goto out;
	e->rk.init_len = (size_t)rc;
	r.body_case = STP__V1__RECORD__BODY_KEM_INIT;
	r.kem_init = &ki;
	if ((rc = tx_message(e, FRAME_RECORD, &r)) != 0)
		goto out;
	e->rk.sent = 1;
out:
	if (rc != 0) {
		rekem_wipe(&e->rk);
		rc = fail_send(e, rc, "cannot start a rekey exchange: %s",
		    stp_strerror(rc));
	}
	return rc;
}

/* xh = H(KemInit bytes || KemReply bytes). */
static int
rekem_hash(uint8_t xh[KS_TH_LEN], const uint8_t *init, size_t init_len,
    const Stp__V1__KemReply *kr)
{
	uint8_t buf[2 * REKEM_MSG_MAX];
	int n;

	if (init_len > REKEM_MSG_MAX)
		return STP_ETOOBIG;
	memcpy(buf, init, init_len);
	if ((n = env_pack(&kr->base, buf + init_len, REKEM_MSG_MAX)) < 0)
		return n;
	return hash_sha512(xh, buf, init_len + (size_t)n);
}

/* Responder: KemInit -> KemReply, KEY_UPDATE{fresh}. */
static int
rekem_on_init(endpoint *e, uint64_t seq, const Stp__V1__KemInit *ki)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__KemReply kr = STP__V1__KEM_REPLY__INIT;
	uint8_t xpriv[X25519_LEN], xpub[X25519_LEN], ct[MLKEM768_CT_LEN];
	uint8_t init[REKEM_MSG_MAX];
	int rc, n;

	if (e->cfg.hs.initiator)
		return fail(e, STP_EPROTO,
		    "record %llu: kem_init from the handshake responder",
		    (unsigned long long)seq);
	if (e->rk.have_ss)
		return fail(e, STP_EPROTO,
		    "record %llu: kem_init while an exchange is in progress",
		    (unsigned long long)seq);
	if (ki == NULL || ki->x25519.len != X25519_LEN ||
	    ki->mlkem_ek.len != MLKEM768_EK_LEN)
		return fail(e, STP_EPROTO,
		    "record %llu: kem_init field of the wrong length",
		    (unsigned long long)seq);
	if (!can_send(e))
		return 0;  /* we are closing: no more keys */
	if ((n = env_pack(&ki->base, init, sizeof(init))) < 0)
		return fail(e, n, "record %llu: kem_init too large",
		    (unsigned long long)seq);
	if ((rc = x25519_keypair(xpriv, xpub)) != 0) {
		rc = fail(e, rc, "rekey exchange: X25519 key generation failed");
		goto out;
	}
	if ((rc = x25519_shared_pair(e->rk.ss_x, xpriv, xpub,
	    ki->x25519.data)) != 0) {
		rc = fail(e, STP_EPROTO,
		    "record %llu: kem_init X25519 key is degenerate",
		    (unsigned long long)seq);
		goto out;
	}
	if ((rc = mlkem768_encaps(ct, e->rk.ss_m, ki->mlkem_ek.data,
	    ki->mlkem_ek.len)) != 0) {
		rc = fail(e, rc == STP_EKEY ? STP_EPROTO : rc,
		    "record %llu: kem_init ML-KEM key refused",
		    (unsigned long long)seq);
		goto out;
	}
	kr.x25519.data = xpub;
	kr.x25519.len = X25519_LEN;
	kr.mlkem_ct.data = ct;
	kr.mlkem_ct.len = MLKEM768_CT_LEN;
	if ((rc = rekem_hash(e->rk.xh, init, (size_t)n, &kr)) != 0) {
		rc = fail(e, rc, "rekey exchange: hash failed");
		goto out;
	}
	e->rk.have_ss = 1;
	r.body_case = STP__V1__RECORD__BODY_KEM_REPLY;
	r.kem_reply = &kr;
	if ((rc = tx_message(e, FRAME_RECORD, &r)) != 0) {
		rc = fail_send(e, rc, "cannot send kem_reply: %s",
		    stp_strerror(rc));
		goto out;
	}
	if ((rc = tx_key_update(e, 1)) != 0)
		goto out;
	e->rk.send_done = 1;
	rekem_maybe_finish(e);
out:
	crypto_wipe(xpriv, sizeof(xpriv));
	return rc;
}

/* Initiator: KemReply -> KEY_UPDATE{fresh}. */
static int
rekem_on_reply(endpoint *e, uint64_t seq, const Stp__V1__KemReply *kr)
{
	int rc;

	if (!e->cfg.hs.initiator || !e->rk.sent)
		return fail(e, STP_EPROTO,
		    "record %llu: kem_reply without a kem_init",
		    (unsigned long long)seq);
	if (kr == NULL || kr->x25519.len != X25519_LEN ||
	    kr->mlkem_ct.len != MLKEM768_CT_LEN)
		return fail(e, STP_EPROTO,
		    "record %llu: kem_reply field of the wrong length",
		    (unsigned long long)seq);
	if ((rc = x25519_shared(e->rk.ss_x, e->rk.x_priv, kr->x25519.data)) != 0)
		return fail(e, STP_EPROTO,
		    "record %llu: kem_reply X25519 key is degenerate",
		    (unsigned long long)seq);
	if ((rc = mlkem768_decaps(e->rk.ss_m, kr->mlkem_ct.data,
	    kr->mlkem_ct.len, e->rk.dk, sizeof(e->rk.dk))) != 0)
		return fail(e, rc, "rekey exchange: ML-KEM decapsulation failed");
	if ((rc = rekem_hash(e->rk.xh, e->rk.init_msg, e->rk.init_len, kr)) != 0)
		return fail(e, rc, "rekey exchange: hash failed");
	crypto_wipe(e->rk.x_priv, sizeof(e->rk.x_priv));
	crypto_wipe(e->rk.dk, sizeof(e->rk.dk));
	e->rk.sent = 0;
	e->rk.have_ss = 1;
	if (!can_send(e)) {
		e->rk.send_done = 1;  /* closing: our direction will not move */
		return 0;
	}
	if ((rc = tx_key_update(e, 1)) != 0)
		return rc;
	e->rk.send_done = 1;
	rekem_maybe_finish(e);
	return 0;
}

/* ---- receiving ---- */

/* The peer's KEY_UPDATE opened: move the receive key on. */
static int
rx_key_update(endpoint *e, uint64_t seq, const Stp__V1__KeyUpdate *ku)
{
	int rc;

	if (ku != NULL && ku->fresh) {
		if (!e->rk.have_ss || e->rk.recv_done)
			return fail(e, STP_EPROTO,
			    "record %llu: key_update{fresh} with no exchange completed",
			    (unsigned long long)seq);
		rc = ks_fresh(e->rx.ts, e->rk.ss_m, e->rk.ss_x, e->rk.xh);
		e->rk.recv_done = 1;
	} else
		rc = ks_ratchet(e->rx.ts);
	if (rc == 0)
		rc = ks_record_key(&e->rx.dk, e->rx.ts);
	if (rc != 0)
		return fail(e, rc, "receive key update failed: %s",
		    stp_strerror(rc));
	e->rx.bytes = 0;
	e->rx.key_ms = e->now;
	e->rx_barrier = 0;
	e->st.key_updates_recv++;
	rekem_maybe_finish(e);
	return 0;
}

static const char *
body_name(int b)
{
	switch (b) {
	case STP__V1__RECORD__BODY_OPEN: return "open";
	case STP__V1__RECORD__BODY_ACCEPT: return "accept";
	case STP__V1__RECORD__BODY_DATA: return "data";
	case STP__V1__RECORD__BODY_WINDOW: return "window";
	case STP__V1__RECORD__BODY_FIN: return "fin";
	case STP__V1__RECORD__BODY_RESET: return "reset";
	case STP__V1__RECORD__BODY_PING: return "ping";
	case STP__V1__RECORD__BODY_PONG: return "pong";
	case STP__V1__RECORD__BODY_KEY_UPDATE: return "key_update";
	case STP__V1__RECORD__BODY_KEM_INIT: return "kem_init";
	case STP__V1__RECORD__BODY_KEM_REPLY: return "kem_reply";
	case STP__V1__RECORD__BODY_CLOSE: return "close";
	case STP__V1__RECORD__BODY_COVER: return "cover";
	default: return "no";
	}
}

/* One opened record, in sequence order.  The job is the caller's to free. */
static int
rx_record(endpoint *e, endpoint_job *j)
{
	uint64_t seq = j->rj.seq;
	uint8_t type = j->rj.buf[0];
	Stp__V1__Record *rec;
	int body;

	if (e->peer_closed)
		return fail(e, STP_EPROTO, "record after close");
	if (j->rj.result == STP_EVERIFY)
		return fail(e, STP_EVERIFY,
		    "record %llu: signature missing or bad",
		    (unsigned long long)seq);
	if (j->rj.result != 0)
		return fail(e, j->rj.result == STP_EAUTH ||
		    j->rj.result == STP_EINVAL ? STP_EAUTH : j->rj.result,
		    "record %llu failed to open (tampered, replayed, reordered or dropped)",
		    (unsigned long long)seq);
	/*
	 * The hot path: a data record in its canonical encoding is read in
	 * place, without protobuf-c and without copying the data.  A signed
	 * one is read without its signature field, which record_job_run found
	 * last and verified.
	 */
	if (type == FRAME_RECORD && (j->rj.verifier == NULL ||
	    j->rj.pt_len >= RECORD_SIG_FIELD_LEN)) {
		uint64_t rseq, rtime;
		uint32_t sid;
		const uint8_t *data;
		size_t dlen, ul, plen = j->rj.pt_len -
		    (j->rj.verifier != NULL ? RECORD_SIG_FIELD_LEN : 0);
		const uint8_t *pt = j->rj.buf + j->rj.pt_off;

		/* A padded one too, read without its padding field. */
		if (env_decode_data_record(pt, plen, &rseq, &rtime, &sid,
		    &data, &dlen) == 1 || ((ul = env_pad_find(pt, plen)) <
		    plen && env_decode_data_record(pt, ul, &rseq, &rtime,
		    &sid, &data, &dlen) == 1)) {
			if (rseq != seq)
				return fail(e, STP_EPROTO,
				    "record %llu says it is record %llu",
				    (unsigned long long)seq, (unsigned long long)rseq);
			e->st.records_recv++;
			e->st.bytes_recv += j->rj.pt_len;
			e->rx.bytes += j->rj.pt_len;
			memset(&e->fast_data, 0, sizeof(e->fast_data));
			memset(&e->fast_rec, 0, sizeof(e->fast_rec));
			e->fast_data.stream_id = sid;
			e->fast_data.data.data = (uint8_t *)data;
			e->fast_data.data.len = dlen;
			e->fast_rec.seq = rseq;
			e->fast_rec.time_ms = rtime;
			e->fast_rec.body_case = STP__V1__RECORD__BODY_DATA;
			e->fast_rec.data = &e->fast_data;
			if (plen != j->rj.pt_len) {
				/* The verified signature, as the arena path gives it. */
				e->fast_rec.signature.data = (uint8_t *)pt + plen +
				    RECORD_SIG_FIELD_LEN - SIGN_SIG_LEN;
				e->fast_rec.signature.len = SIGN_SIG_LEN;
			}
			e->ev_job = j;
			return push_event(e, EP_RECORD, &e->fast_rec, 0, 0, NULL);
		}
	}
	env_arena_reset(e->arena);
	rec = (Stp__V1__Record *)env_unpack(e->arena,
	    &stp__v1__record__descriptor, j->rj.buf + j->rj.pt_off,
	    j->rj.pt_len);
	if (rec == NULL)
		return fail(e, STP_EPROTO, "record %llu does not parse",
		    (unsigned long long)seq);
	if (rec->seq != seq)
		return fail(e, STP_EPROTO, "record %llu says it is record %llu",
		    (unsigned long long)seq, (unsigned long long)rec->seq);
	if (j->rj.verifier != NULL && rec->signature.len != SIGN_SIG_LEN)
		return fail(e, STP_EVERIFY,
		    "record %llu: signature field malformed",
		    (unsigned long long)seq);
	body = rec->body_case;
	if (body == STP__V1__RECORD__BODY__NOT_SET)
		return fail(e, STP_EPROTO, "record %llu has no body",
		    (unsigned long long)seq);
	if ((type == FRAME_KEY_UPDATE) !=
	    (body == STP__V1__RECORD__BODY_KEY_UPDATE))
		return fail(e, STP_EPROTO, "record %llu: %s body in a %s frame",
		    (unsigned long long)seq, body_name(body),
		    frame_type_name(type));
	e->st.records_recv++;
	e->st.bytes_recv += j->rj.pt_len;
	e->rx.bytes += j->rj.pt_len;

	switch (body) {
	case STP__V1__RECORD__BODY_OPEN:
	case STP__V1__RECORD__BODY_ACCEPT:
	case STP__V1__RECORD__BODY_DATA:
	case STP__V1__RECORD__BODY_WINDOW:
	case STP__V1__RECORD__BODY_FIN:
	case STP__V1__RECORD__BODY_RESET:
		/* The arena now belongs to this event until the next poll. */
		return push_event(e, EP_RECORD, rec, 0, 0, NULL);
	case STP__V1__RECORD__BODY_PING:
		send_pong(e, rec->ping != NULL ? rec->ping->id : 0);
		return 0;
	case STP__V1__RECORD__BODY_PONG: {
		uint64_t id = rec->pong != NULL ? rec->pong->id : 0;

		return push_event(e, EP_PONG, NULL,
		    e->now >= id ? e->now - id : 0, 0, NULL);
	}
	case STP__V1__RECORD__BODY_COVER:
		/* Authenticated (and verified) like any record; then dropped. */
		e->st.cover_recv++;
		stp_count("padding", "cover_received", 1);
		return 0;
	case STP__V1__RECORD__BODY_CLOSE: {
		uint32_t code = rec->close != NULL ? rec->close->code : 0;

		sanitize(e->peer_reason, sizeof(e->peer_reason),
		    rec->close != NULL ? rec->close->reason : NULL);
		e->peer_closed = 1;
		if (e->cfg.hs.initiator && seq == 0) {
			/*
			 * The responder's first record, the one that says it
			 * accepted us, is a Close: it refused the session after
			 * our AUTH.  A failed handshake, not a session that came
			 * up and went down; nothing is said back.
			 */
			e->send_broken = 1;
			return fail(e, STP_EREJECTED,
			    "the responder refused the session: %s",
			    e->peer_reason[0] ? e->peer_reason : "no reason given");
		}
		if (e->err == 0)
			note(e, "closed by the peer (code %u)%s%s", code,
			    e->peer_reason[0] ? ": " : "", e->peer_reason);
		return push_event(e, EP_CLOSED, NULL, 0, code, e->peer_reason);
	}
	case STP__V1__RECORD__BODY_KEY_UPDATE:
		return rx_key_update(e, seq, rec->key_update);
	case STP__V1__RECORD__BODY_KEM_INIT:
		return rekem_on_init(e, seq, rec->kem_init);
	case STP__V1__RECORD__BODY_KEM_REPLY:
		return rekem_on_reply(e, seq, rec->kem_reply);
	default:
		return fail(e, STP_EPROTO, "record %llu: unknown body %d",
		    (unsigned long long)seq, body);
	}
}

/* Process opened records from the head of the receive list, in order. */
static int
rx_process(endpoint *e)
{
	endpoint_job *j;
	int rc;

	while (e->err == 0 && (j = e->rxl.head) != NULL &&
	    j->state == JS_DONE && !e->rec_queued && !e->rec_out &&
	    e->ev_count < EV_CAP) {
		(void)list_pop(&e->rxl);
		e->rx_count--;
		rc = rx_record(e, j);
		if (e->ev_job != j)
			job_put(e, j);
		if (rc != 0)
			return rc;
	}
	return e->err;
}

/*
 * A RECORD or KEY_UPDATE frame: an OPEN job under the current receive key.
 * here: it runs now, on the frame where it lies in e->in (dispatch_one let
 * it through only with nothing before it waiting); else the job gets its
 * own copy and goes to the owner's queue.
 */
static int
rx_dispatch(endpoint *e, uint8_t *frame, size_t len, int here)
{
	endpoint_job *j;

	if (e->rx.seq == UINT64_MAX)
		return fail(e, STP_EPROTO, "receive sequence numbers exhausted");
	if ((j = job_get(e, here ? 0 : len)) == NULL)
		return fail(e, STP_ENOMEM, "out of memory");
	if (here) {
		j->inplace = 1;
		j->rj.buf = frame;
		j->rj.cap = len;
		e->in_held++;
	} else
		memcpy(j->rj.buf, frame, len);
	j->kind = JOB_OPEN;
	j->rj.op = RECORD_OPEN;
	j->rj.len = len;
	j->rj.key = e->rx.dk;
	j->rj.seq = e->rx.seq++;
	j->rj.verifier = (e->signing & EP_SIGN_VERIFY) ? e->peer_vk : NULL;
	memcpy(j->rj.sid, e->sid, KS_SID_LEN);
	j->rj.dir = e->recv_dir;
	list_push(&e->rxl, j);
	e->rx_count++;
	if (frame[0] == FRAME_KEY_UPDATE)
		e->rx_barrier = 1;
	if (here)
		run_inline(e, j);
	else
		todo_push(e, j);
	return 0;
}

/* ---- the handshake ---- */

/*
 * Who signs and who verifies (STP.md "Record signatures").  We sign every
 * record we send when we committed to it or the peer asked for it, and
 * verify every record we receive when we asked for it or the peer committed:
 * both ends see both Auths, so whenever one verifies, the other signs.  A
 * responder whose peer map says sign_records for the initiator does both,
 * whatever the flags (establish() refuses an initiator that will not sign).
 */
static unsigned
signing_of(uint32_t ours, uint32_t theirs, int policy)
{
	unsigned s = 0;

	if ((ours & AUTH_FLAG_SIGN_RECORDS) || (theirs & AUTH_FLAG_WANT_SIGNED))
		s |= EP_SIGN_SEND;
	if ((ours & AUTH_FLAG_WANT_SIGNED) || (theirs & AUTH_FLAG_SIGN_RECORDS))
		s |= EP_SIGN_VERIFY;
	if (policy & EP_PEER_SIGN_RECORDS)
		s |= EP_SIGN_SEND | EP_SIGN_VERIFY;
	return s;
}

/*
 * Responder: the peer map wants this initiator's records signed, and the
 * initiator will not sign them (its AUTH did not commit to it, and ours did
 * not ask).  The record keys exist, so a Close tells the initiator why (it
 * logs it), then the session fails here too.
 */
static int
refuse_unsigned(endpoint *e)
{
	char text[IDENTITY_PUBTEXT_LEN + 1];
	const char *who = NULL;

	if (e->cfg.peer_name != NULL)
		who = e->cfg.peer_name(e->cfg.cookie, e->peer_pub);
	if (who == NULL) {
		if (identity_pub_encode(e->peer_pub, text) != 0)
			snprintf(text, sizeof(text), "?");
		who = text;
	}
	(void)send_close(e, STP__V1__CLOSE_CODE__CLOSE_PROTOCOL,
	    "you must sign records: sign_records is set for you on this side; "
	    "set sign_records for this peer on yours too");
	return fail(e, STP_EPROTO,
	    "peer %s must sign records (sign_records is set for it here) and did "
	    "not commit to it; set sign_records for this gateway on the peer's "
	    "side too", who);
}

/* hs finished: keys into place, the peer checked, EP_ESTABLISHED. */
static int
establish(endpoint *e)
{
	hs_result r;
	int rc, policy = 0;

	if ((rc = hs_result_take(e->h, &r)) != 0)
		return fail(e, rc, "handshake result unavailable");
	memcpy(e->peer_pub, r.peer_pub, 32);
	e->have_peer = 1;
	hs_free(e->h);
	e->h = NULL;
	if (!e->cfg.hs.initiator) {
		policy = e->cfg.lookup != NULL ?
		    e->cfg.lookup(e->cfg.cookie, r.peer_pub) : STP_EPEER;
		if (policy < 0) {
			hs_result_wipe(&r);
			return fail(e, STP_EPEER, "peer key not in the peer map");
		}
	}
	memcpy(e->sid, r.sid, KS_SID_LEN);
	e->peer_flags = r.peer_flags;
	e->our_flags = r.our_flags;
	e->signing = signing_of(r.our_flags, r.peer_flags, policy);
	if ((e->signing & EP_SIGN_VERIFY) &&
	    (rc = sign_pub_new(&e->peer_vk, r.peer_pub)) != 0) {
		hs_result_wipe(&r);
		return fail(e, rc, "the peer's key cannot check signatures: %s",
		    stp_strerror(rc));
	}
	e->send_dir = r.send_dir;
	e->recv_dir = r.recv_dir;
	memcpy(e->tx.ts, r.ts_send, KS_SECRET_LEN);
	memcpy(e->rx.ts, r.ts_recv, KS_SECRET_LEN);
	hs_result_wipe(&r);
	if ((rc = ks_record_key(&e->tx.dk, e->tx.ts)) != 0 ||
	    (rc = ks_record_key(&e->rx.dk, e->rx.ts)) != 0)
		return fail(e, rc, "record key derivation failed");
	e->tx.seq = e->rx.seq = 0;
	e->tx.bytes = e->rx.bytes = 0;
	e->tx.key_ms = e->rx.key_ms = e->now;
	e->rk.last_ms = e->now;
	e->established = 1;
	e->phase = PH_ESTABLISHED;
	/* The peer signs if it committed or we asked (see signing_of). */
	if ((policy & EP_PEER_SIGN_RECORDS) &&
	    !(e->peer_flags & AUTH_FLAG_SIGN_RECORDS) &&
	    !(e->our_flags & AUTH_FLAG_WANT_SIGNED))
		return refuse_unsigned(e);
	return push_event(e, EP_ESTABLISHED, NULL, 0, 0, NULL);
}

/* After hs_input or hs_work returned rc: output, failure, completion. */
static int
hs_after(endpoint *e, int rc)
{
	const uint8_t *p;
	size_t len;
	int orc;

	if (rc < 0) {
		const char *why = hs_reason(e->h);

		return fail(e, rc, "handshake: %s",
		    why[0] ? why : stp_strerror(rc));
	}
	if ((p = hs_output(e->h, &len)) != NULL && len > 0) {
		orc = out_raw(e, p, len);
		hs_output_clear(e->h);
		if (orc != 0)
			return fail(e, orc, "out of memory");
	}
	if (hs_failed(e->h)) {
		/* A responder's REJECT: it is in the output; we are done. */
		const char *why = hs_reason(e->h);

		return fail(e, STP_EREJECTED, "handshake: %s",
		    why[0] ? why : "refused the initiator");
	}
	if (hs_done(e->h))
		return establish(e);
	return 0;
}

/* Start the pending handshake step (inline, or as a job for the owner). */
static int
hs_kick(endpoint *e)
{
	endpoint_job *j;

	if (run_here(e, EP_JOB_HANDSHAKE, 0, 1))
		return hs_after(e, hs_work(e->h));
	if ((j = job_get(e, 0)) == NULL)
		return fail(e, STP_ENOMEM, "out of memory");
	j->kind = JOB_HS;
	j->clear = 1;
	j->h = e->h;
	e->hs_pending = 1;
	todo_push(e, j);
	return 0;
}

static int
hs_frame(endpoint *e, const uint8_t *frame, size_t len)
{
	uint8_t type = frame[0];
	int rc;

	rc = hs_input(e->h, frame, len);
	if (rc < 0)
		return hs_after(e, rc);
	if (e->phase == PH_WAIT_REPLY && type == FRAME_REPLY)
		e->phase = PH_WAIT_AUTH;
	if (e->phase == PH_WAIT_HELLO && rc == HS_WORK)
		e->phase = PH_WAIT_AUTH;
	if (rc == HS_WORK)
		return hs_kick(e);
	return hs_after(e, rc);
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
		return fail(e, STP_EPROTO, "record after close");
	if (!type_allowed(e, type))
		return fail(e, e->phase == PH_WAIT_HELLO ? STP_EMAC1 : STP_EPROTO,
		    "frame type 0x%02x not allowed in state %s", type,
		    phase_name(e->phase));
	if (frame_get_header(hdr, &type, &blen) != 0)
		return fail(e, e->phase == PH_WAIT_HELLO ? STP_EMAC1 : STP_EPROTO,
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
			e->here_val = run_here(e, EP_JOB_OPEN, FRAME_HDR_LEN +
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
		rc = rx_dispatch(e, hdr, FRAME_HDR_LEN + blen, here);
	else
		rc = hs_frame(e, hdr, FRAME_HDR_LEN + blen);
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
		if ((rc = rx_process(e)) != 0)
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

	drop_list(e, &e->txl);
	drop_list(e, &e->rxl);
	if (e->ev_job != NULL) {
		job_free(e->ev_job);
		e->ev_job = NULL;
	}
	/* Before e->in goes: kept jobs may lie in it. */
	while ((j = list_pop(&e->kept)) != NULL)
		job_free(j);
	e->kept_bytes = 0;
	if (e->resv != NULL) {
		e->resv->rj.len = e->resv->rj.cap;
		job_free(e->resv);
		e->resv = NULL;
	}
	while ((j = list_pop(&e->outq)) != NULL)
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
	rekem_wipe(&e->rk);
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
		return hs_after(e, rc);
	e->phase = PH_WAIT_REPLY;
	if (rc == HS_WORK)
		return hs_kick(e);
	return hs_after(e, rc);
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
				list_push(&e->kept, e->ev_job);
				e->kept_bytes += e->ev_job->rj.len;
			} else
				job_put(e, e->ev_job);
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
	while ((j = list_pop(&e->kept)) != NULL)
		job_put(e, j);
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

int
endpoint_send(endpoint *e, Stp__V1__Record *r, uint64_t now_ms)
{
	int rc;

	e->now = now_ms;
	if ((rc = app_send_ok(e)) != 0)
		return rc;
	switch (r->body_case) {
	case STP__V1__RECORD__BODY_OPEN:
	case STP__V1__RECORD__BODY_ACCEPT:
	case STP__V1__RECORD__BODY_WINDOW:
	case STP__V1__RECORD__BODY_FIN:
	case STP__V1__RECORD__BODY_RESET:
	case STP__V1__RECORD__BODY_PING:
	case STP__V1__RECORD__BODY_PONG:
	case STP__V1__RECORD__BODY_COVER:
		break;
	case STP__V1__RECORD__BODY_DATA:
		if (r->data != NULL && r->data->data.len > STP_MAX_DATA)
			return STP_ETOOBIG;
		break;
	default:
		return STP_EINVAL;  /* no body, or one that is the endpoint's */
	}
	if (r->open == NULL)  /* any member of the body union */
		return STP_EINVAL;
	if ((rc = tx_message(e, FRAME_RECORD, r)) != 0)
		return rc;
	return tx_maybe_rekey(e);
}

int
endpoint_send_data(endpoint *e, uint32_t stream_id, const uint8_t *data,
    size_t len, uint64_t now_ms)
{
	endpoint_job *j;
	size_t n, t;
	int rc;

	e->now = now_ms;
	if ((rc = app_send_ok(e)) != 0)
		return rc;
	if (len > STP_MAX_DATA)
		return STP_ETOOBIG;
	n = env_data_record_len(e->tx.seq, e->now, stream_id, len);
	t = pad_target(e, FRAME_RECORD, n);
	if (t + sig_room(e) > STP_MAX_RECORD_PT)
		return STP_ETOOBIG;
	if ((j = job_get(e, FRAME_HDR_LEN + t + sig_room(e) +
	    AEAD_TAG_LEN)) == NULL)
		return STP_ENOMEM;
	if ((rc = env_encode_data_record(j->rj.buf + FRAME_HDR_LEN, n,
	    e->tx.seq, e->now, stream_id, data, len)) < 0) {
		job_put(e, j);
		return rc;
	}
	if (t != n)
		env_pad_fill(j->rj.buf + FRAME_HDR_LEN + n, t - n);
	if ((rc = tx_submit(e, j, FRAME_RECORD, t)) != 0)
		return rc;
	return tx_maybe_rekey(e);
}

/* The longest data-record header (all varints at their widest) for len bytes. */
static size_t
data_hdr_max(size_t len)
{
	return env_data_record_len(UINT64_MAX, UINT64_MAX, UINT32_MAX, len) - len;
}

uint8_t *
endpoint_data_reserve(endpoint *e, size_t max)
{
	endpoint_job *j;
	size_t hdr;

	if (e->resv != NULL || max == 0 || max > STP_MAX_DATA ||
	    app_send_ok(e) != 0)
		return NULL;
	hdr = data_hdr_max(max);
	/* Room for the padding too: what the shaper says for the longest record. */
	if ((j = job_get(e, FRAME_HDR_LEN + pad_target(e, FRAME_RECORD,
	    hdr + max) + sig_room(e) + AEAD_TAG_LEN)) == NULL)
		return NULL;
	e->resv = j;
	e->resv_hdr = hdr;
	e->resv_max = max;
	return j->rj.buf + FRAME_HDR_LEN + hdr;
}

int
endpoint_data_commit(endpoint *e, uint32_t stream_id, size_t len,
    uint64_t now_ms)
{
	endpoint_job *j = e->resv, *nj = NULL;
	uint8_t *data;
	size_t n, shift, t;
	int rc;

	e->now = now_ms;
	if (j == NULL)
		return STP_ESTATE;
	if (len > e->resv_max)
		return STP_ETOOBIG;
	if ((rc = app_send_ok(e)) != 0)
		return rc;
	if (len == 0) {
		endpoint_data_cancel(e);
		return 0;
	}
	data = j->rj.buf + FRAME_HDR_LEN + e->resv_hdr;
	n = env_data_record_len(e->tx.seq, e->now, stream_id, len);
	/*
	 * The real header is at most resv_hdr long: start the frame later by
	 * the difference, so the header ends exactly where the data begins and
	 * the data never moves.
	 */
	shift = e->resv_hdr - (n - len);
	/*
	 * Padded beyond what the reservation holds (the shaper stepped up
	 * further than when it was made): the record moves to a job that holds
	 * it, the one copy padding may cost.  Out of memory: the reservation stays.
	 */
	t = pad_target(e, FRAME_RECORD, n);
	if (t != n && FRAME_HDR_LEN + t + sig_room(e) + AEAD_TAG_LEN >
	    j->rj.cap - shift && (nj = job_get(e, FRAME_HDR_LEN + t +
	    sig_room(e) + AEAD_TAG_LEN)) == NULL)
		return STP_ENOMEM;
	/*
	 * A small record read into a whole-frame reservation moves to a job
	 * of its size (a copy of at most COPY_DOWN_MAX bytes), so the big
	 * buffer is free for the next read at once instead of waiting, cold,
	 * for the write: many streams' small requests then cost little memory.
	 * Out of memory: it simply stays where it is.
	 */
	if (nj == NULL && j->cls == POOL_CLASSES &&
	    FRAME_HDR_LEN + t + sig_room(e) + AEAD_TAG_LEN <= COPY_DOWN_MAX)
		nj = job_get(e, FRAME_HDR_LEN + t + sig_room(e) + AEAD_TAG_LEN);
	j->rj.buf += shift;
	j->rj.cap -= shift;
	e->resv = NULL;
	if ((rc = env_encode_data_record(j->rj.buf + FRAME_HDR_LEN, n, e->tx.seq,
	    e->now, stream_id, data, len)) < 0) {
		j->rj.len = j->rj.cap; /* app bytes are in there: wipe them all */
		job_put(e, j);
		if (nj != NULL)
			job_put(e, nj);
		return rc;
	}
	if (nj != NULL) {
		memcpy(nj->rj.buf + FRAME_HDR_LEN, j->rj.buf + FRAME_HDR_LEN, n);
		/* Wipe only what was written: the record, from the shifted start. */
		j->rj.len = FRAME_HDR_LEN + n;
		job_put(e, j);
		j = nj;
	}
	if (t != n)
		env_pad_fill(j->rj.buf + FRAME_HDR_LEN + n, t - n);
	if ((rc = tx_submit(e, j, FRAME_RECORD, t)) != 0)
		return rc;
	return tx_maybe_rekey(e);
}

void
endpoint_data_cancel(endpoint *e)
{
	if (e->resv != NULL) {
		/* The caller may have read app bytes into it: wipe it all. */
		e->resv->rj.len = e->resv->rj.cap;
		job_put(e, e->resv);
		e->resv = NULL;
	}
}

int
endpoint_ping(endpoint *e, uint64_t now_ms)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Ping p = STP__V1__PING__INIT;

	p.id = now_ms;
	r.body_case = STP__V1__RECORD__BODY_PING;
	r.ping = &p;
	return endpoint_send(e, &r, now_ms);
}

int
endpoint_send_cover(endpoint *e, size_t size, uint64_t now_ms)
{
	Stp__V1__Record r = STP__V1__RECORD__INIT;
	Stp__V1__Cover c = STP__V1__COVER__INIT;
	int rc;

	e->now = now_ms;
	if ((rc = app_send_ok(e)) != 0)
		return rc;
	r.body_case = STP__V1__RECORD__BODY_COVER;
	r.cover = &c;
	e->pad_want = size < EP_PAD_MAX ? size : EP_PAD_MAX;
	rc = tx_message(e, FRAME_RECORD, &r);
	e->pad_want = 0;
	if (rc != 0)
		return rc;
	e->st.cover_sent++;
	return tx_maybe_rekey(e);
}

int
endpoint_close(endpoint *e, uint32_t code, const char *reason, uint64_t now_ms)
{
	int rc;

	e->now = now_ms;
	if (e->dead || !e->established || e->we_closed || e->send_broken)
		return STP_ESTATE;
	rc = send_close(e, code, reason);
	if (e->err == 0 && !e->peer_closed)
		note(e, "closed by us (code %u)%s%s", code,
		    reason != NULL && reason[0] ? ": " : "",
		    reason != NULL ? reason : "");
	return rc;
}

int
endpoint_tick(endpoint *e, uint64_t now_ms)
{
	int rc = 0;

	e->now = now_ms;
	if (e->err != 0)
		return e->err;
	if (!can_send(e))
		return 0;
	flush_pong(e);
	if (e->tx.seq >= SEQ_LAST_REGULAR)
		return 0;
	if (now_ms >= e->tx.key_ms &&
	    now_ms - e->tx.key_ms >= e->cfg.rekey_interval_ms &&
	    (rc = tx_key_update(e, 0)) != 0)
		return rc;
	if (e->cfg.hs.initiator && !e->rk.sent && !e->rk.have_ss &&
	    now_ms >= e->rk.last_ms &&
	    now_ms - e->rk.last_ms >= e->cfg.rekem_interval_ms)
		rc = rekem_start(e);
	return rc;
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
			(void)list_pop(&e->outq);
			job_put(e, j);
		}
	}
	if (e->err == 0)
		flush_pong(e);
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
		job_put(e, j);
		return 0;
	}
	switch (j->kind) {
	case JOB_HS:
		e->hs_pending = 0;
		rc = j->hs_rc;
		job_put(e, j);
		if (e->err == 0)
			(void)hs_after(e, rc);
		break;
	case JOB_SEAL:
		tx_release(e);
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
endpoint_sid(const endpoint *e)
{
	return e->established ? e->sid : NULL;
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

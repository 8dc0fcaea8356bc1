/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpoint_int.h: the inside of an endpoint (endpoint.h), shared by the
 * three files that make it and by nothing else:
 *
 *   endpoint.c       the state, jobs and their size-class pool, failures and
 *                    events, the output queue, where jobs run, the
 *                    handshake driver, the frame reader, input, polling,
 *                    kept records, and the API's core;
 *   endpoint_send.c  sealing: padding, the send list, key updates of our
 *                    direction, and every send call of the API;
 *   endpoint_recv.c  opening: the receive list, processing records in
 *                    order, key updates of the peer's direction, and the
 *                    in-session hybrid exchange.
 *
 * endpoint.c's head comment says how the parts fit.  Functions here are
 * named ep_*; each is called on the owner's thread only.
 */
#ifndef STP_ENDPOINT_INT_H
#define STP_ENDPOINT_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mlkem768.h"
#include "crypto/x25519.h"
#include "endpoint.h"
#include "envelope.h"
#include "frame.h"
#include "keysched.h"
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

	uint8_t peer_pub[32];   /* the peer's identity now: its AUTH's, or
				 * the last IdentityUpdate's */
	uint8_t auth_pub[32];   /* the identity the peer's AUTH proved */
	uint8_t self_pub[32];   /* ours as the peer knows it (the same) */
	uint32_t features;      /* extensions both Auths set: HS_FEATURE_* */
	unsigned resume_tx, resume_rx; /* RESUME_* bits: the exchange's order
					* (STP.md, "Resumption") */
	int have_peer;
	/*
	 * The peer's verification key, made once in establish() when we check
	 * its record signatures; jobs out may use it, so it goes in destroy().
	 */
	sign_pub *peer_vk;
	uint8_t sid[KS_SID_LEN];
	uint8_t resume[KS_RESUME_LEN]; /* with HS_FEATURE_RESUME agreed; wiped
					* with the endpoint */
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

/* ---- jobs and their lists (endpoint.c) ---- */

/* A job whose buffer holds at least cap bytes (a size class), or NULL. */
endpoint_job *ep_job_get(endpoint *e, size_t cap);
/* Give a job back (wiping what it held): to its class's free list or free. */
void ep_job_put(endpoint *e, endpoint_job *j);
void ep_list_push(struct jlist *l, endpoint_job *j);
endpoint_job *ep_list_pop(struct jlist *l);
/* Queue a job for the owner (endpoint_job_take). */
void ep_todo_push(endpoint *e, endpoint_job *j);
/* Empty a send or receive list: jobs out are freed when they come back. */
void ep_drop_list(endpoint *e, struct jlist *l);

/* ---- failures, events, output, where jobs run (endpoint.c) ---- */

/* Peer text in a log-safe form: printable ASCII, at most cap - 1 bytes. */
void ep_sanitize(char *dst, size_t cap, const char *src);
/* Set the reason without failing. */
void ep_note(endpoint *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * The connection failed: the first error wins and names the reason; the
 * receive side is torn down and, if we can still send, a Close says why.
 * Returns err.
 */
int ep_fail(endpoint *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As ep_fail, when our send direction cannot go on (nothing more sealed). */
int ep_fail_send(endpoint *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Queue an event; STP_ETOOBIG if the queue is full (callers check first). */
int ep_push_event(endpoint *e, int type, const Stp__V1__Record *rec,
    uint64_t rtt, uint32_t code, const char *reason);
/* Wipe the in-session exchange's secrets (its clock stays). */
void ep_rekem_wipe(struct rekem *rk);
/* Append a finished frame to the output queue. */
void ep_out_push(endpoint *e, endpoint_job *j);
/* Output queued and being sealed beyond max_output. */
int ep_over_output(const endpoint *e);
/* Does a job of this kind run here (1) or go to the owner (0)? */
int ep_run_here(const endpoint *e, int kind, size_t len, int sig);
/* Run a job here, now. */
void ep_run_inline(endpoint *e, endpoint_job *j);

/* ---- sealing (endpoint_send.c) ---- */

/* May a record still be sealed? */
int ep_can_send(const endpoint *e);
/* Encode and send a Record (seq and time set here); 0 or an error. */
/* endpoint_hs.c: the handshake driver. */
int ep_hs_after(endpoint *e, int rc);   /* after hs_input/hs_work returned rc */
int ep_hs_kick(endpoint *e);            /* run the pending step */
int ep_hs_frame(endpoint *e, const uint8_t *frame, size_t len);
/* Raw bytes (handshake frames) onto the output. */
int ep_out_raw(endpoint *e, const uint8_t *p, size_t len);

int ep_tx_message(endpoint *e, uint8_t type, Stp__V1__Record *r);
/* Sealed records from the head of the send list to the output, in order. */
void ep_tx_release(endpoint *e);
/* Close{code, reason} as our last record. */
int ep_send_close(endpoint *e, uint32_t code, const char *reason);
/* KEY_UPDATE under the current key, then the send key moves on. */
int ep_tx_key_update(endpoint *e, int fresh);
/* Answer a ping (deferred, only the latest, while the output is full). */
void ep_send_pong(endpoint *e, uint64_t id);
/* Send a deferred pong once the output has room. */
void ep_flush_pong(endpoint *e);

/* ---- opening (endpoint_recv.c) ---- */

/* Initiator: start an in-session hybrid exchange (KemInit). */
int ep_rekem_start(endpoint *e);
/* Process opened records from the head of the receive list, in order. */
int ep_rx_process(endpoint *e);
/* A RECORD or KEY_UPDATE frame becomes an OPEN job (here: in place, now). */
int ep_rx_dispatch(endpoint *e, uint8_t *frame, size_t len, int here);

/* resume_tx / resume_rx bits. */
#define RESUME_SENT 1u          /* a Resume went (came) */
#define RESUME_STREAMS_DONE 2u  /* the last ResumeStreams went (came) */
#define RESUME_LATE 4u          /* a stream or identity record went (came):
				 * too late for the initiator's Resume */

/*
 * Is body a stream or identity record (open, accept, data, window, fin,
 * reset, datagram, identity_update)?  Once one went from the initiator,
 * its Resume is too late (STP.md, "Resumption"); pings, pongs, covers,
 * rekey records, a close and the resumption's own records are not.
 */
static inline int
ep_stream_layer_body(int body)
{
	switch (body) {
	case STP__V1__RECORD__BODY_PING:
	case STP__V1__RECORD__BODY_PONG:
	case STP__V1__RECORD__BODY_COVER:
	case STP__V1__RECORD__BODY_KEY_UPDATE:
	case STP__V1__RECORD__BODY_KEM_INIT:
	case STP__V1__RECORD__BODY_KEM_REPLY:
	case STP__V1__RECORD__BODY_CLOSE:
	case STP__V1__RECORD__BODY_RESUME:
	case STP__V1__RECORD__BODY_RESUME_STREAMS:
		return 0;
	default:
		return 1;
	}
}

#endif

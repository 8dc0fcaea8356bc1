/* SPDX-License-Identifier: Apache-2.0 */
/*
 * endpoint.h: one side of an STP connection, sans I/O: framing, the
 * handshake, the record layer, rekeying and close (proto/STP.md).  Bytes in,
 * events and bytes out; the caller owns the socket and the clock.
 *
 * Crypto runs in jobs, and where each job runs is decided when it is made:
 * the owner's offload hook (or, without one, inline_crypto for all of them)
 * says whether it runs inside the call that made it, on the owner's thread,
 * or goes to the owner's queue.  The owner takes queued jobs with
 * endpoint_job_take(), runs endpoint_job_run() on any thread, and hands each
 * back with endpoint_job_done(); the endpoint puts results back in sequence
 * order, so frames reach the wire and records reach the app in order
 * whatever order the workers finish in, and whichever jobs ran where.
 *
 * Input is taken only while there is room (endpoint_input_room): a receiver
 * that cannot keep up stops reading its socket instead of buffering.  A
 * record opened inline is opened in the input buffer itself, where the
 * socket's bytes were read to (no copy); one handed out is copied into its
 * job first.  Data records can be kept past the next poll
 * (endpoint_keep), so the owner can write several of them with one writev.
 *
 * Threading: every endpoint_* call except endpoint_job_run is made on the
 * owner's thread.
 */
#ifndef STP_ENDPOINT_H
#define STP_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "crypto/aead.h"
#include "handshake.h"
#include "stp.pb-c.h"

/* Defaults (proto/STP.md, "Rekey"). */
#define EP_DEFAULT_REKEY_BYTES (1ull << 30)
#define EP_DEFAULT_REKEY_INTERVAL_MS (10ull * 60 * 1000)
#define EP_DEFAULT_REKEM_INTERVAL_MS (60ull * 60 * 1000)
#define EP_DEFAULT_MAX_OUTPUT (4u << 20)
#define EP_DEFAULT_MAX_JOBS 64     /* records in flight per direction */

/* Job kinds, for the offload hook. */
enum ep_job_kind {
	EP_JOB_HANDSHAKE = 1, /* a handshake step: KEM, X25519, signatures */
	EP_JOB_SEAL,          /* seal a record (and sign it, with sig) */
	EP_JOB_OPEN,          /* open a record (and verify it, with sig) */
};

typedef struct endpoint_config {
	hs_config hs;
	int inline_crypto;            /* no offload hook: run every job inline */
	/*
	 * Optional: decide where a job runs, as it is made.  Nonzero hands it
	 * to the owner's queue (endpoint_job_take); zero runs it now, inside
	 * the call that made it.  kind is an ep_job_kind, len the record
	 * frame's bytes (0 for a handshake step), sig nonzero when the job
	 * signs or verifies a record signature.  Called on the owner's thread.
	 */
	int (*offload)(void *cookie, int kind, size_t len, int sig);
	void *offload_cookie;
	/*
	 * The cipher context for jobs run inline (the owner's thread only);
	 * NULL: the endpoint makes its own.  Must outlive the endpoint.
	 */
	aead_ctx *actx;
	uint64_t rekey_bytes;         /* 0: EP_DEFAULT_REKEY_BYTES */
	uint64_t rekey_interval_ms;   /* 0: default */
	uint64_t rekem_interval_ms;   /* 0: default; only the initiator starts one */
	/*
	 * Bytes queued for the wire before app sends are refused; 0: default.
	 * The protocol's own records (pong, key update, rekey exchange, close)
	 * are never refused; of pongs only the latest is kept while full.
	 */
	size_t max_output;
	unsigned max_jobs;            /* opens in flight (receive side); 0: default */
	/*
	 * Responder: is this key in the peer map?  A negative error if not;
	 * else 0 or EP_PEER_* bits saying what the map asks of this peer.
	 * Called on the owner's thread when AUTH_I checked out, before any
	 * record is accepted.  NULL refuses every key (a responder fails
	 * closed).
	 */
	int (*lookup)(void *cookie, const uint8_t pk[32]);
	/*
	 * Responder, optional: the peer map's name for a key, for the reason
	 * a refused session gives.  NULL, or a NULL answer: the key's text.
	 */
	const char *(*peer_name)(void *cookie, const uint8_t pk[32]);
	void *cookie;
	/*
	 * Optional record shaping (plugin_api.h, stp_shaper_ops.pad_to): the
	 * plaintext size every record we seal is padded to, given its length
	 * and the largest size allowed (both without a record signature, which
	 * comes on top).  See proto/STP.md, "Padding and cover records".  NULL:
	 * no padding, and the data path does no extra work.
	 */
	size_t (*pad_to)(void *pad_cookie, size_t len, size_t max);
	void *pad_cookie;
} endpoint_config;

/*
 * The largest padded plaintext of a RECORD frame, without its signature:
 * below STP_MAX_RECORD_PT by a signature field and the slack a zero-copy
 * reservation needs, so that it is the same whether we sign or not.
 */
#define EP_PAD_MAX 66432

/*
 * lookup bits.  EP_PEER_SIGN_RECORDS: every record of the session, both
 * ways, is signed and verified; an initiator that will not sign (it did not
 * set AUTH_FLAG_SIGN_RECORDS, and our AUTH did not set
 * AUTH_FLAG_WANT_SIGNED) is refused with a Close saying why.
 */
#define EP_PEER_SIGN_RECORDS 1

/* endpoint_signing bits. */
#define EP_SIGN_SEND 1     /* we sign every record we send */
#define EP_SIGN_VERIFY 2   /* we verify every record we receive */

enum ep_event_type {
	EP_ESTABLISHED = 1, /* handshake done: endpoint_peer() etc. now valid */
	EP_RECORD,          /* a stream record for the mux: ev.rec */
	EP_PONG,            /* answer to our ping: ev.rtt_ms */
	EP_CLOSED,          /* the peer closed: ev.code, ev.reason */
	EP_PEER_IDENTITY,   /* the peer proved a new identity (IdentityUpdate):
			     * endpoint_peer() returns it from now on */
};

typedef struct ep_event {
	int type;
	/* EP_RECORD: open/accept/data/window/fin/reset; valid until the next endpoint_poll. */
	const Stp__V1__Record *rec;
	uint64_t rtt_ms;
	uint32_t code;
	const char *reason;
} ep_event;

typedef struct ep_stats {
	uint64_t records_sent, records_recv;
	uint64_t bytes_sent, bytes_recv;     /* plaintext */
	uint64_t wire_sent, wire_recv;       /* frame bytes */
	uint64_t key_updates_sent, key_updates_recv, rekems;
	uint64_t cover_sent, cover_recv;     /* cover records (discarded on receipt) */
} ep_stats;

typedef struct endpoint endpoint;
typedef struct endpoint_job endpoint_job;

/* New endpoint, or NULL when out of memory. */
endpoint *endpoint_new(const endpoint_config *c, uint64_t now_ms);
/*
 * Wipes all keys and frees, including jobs still queued and output already
 * handed out (so never free during a write of it).  A job that is out stays
 * valid: endpoint_job_done on it remains legal and frees the rest.
 */
void endpoint_free(endpoint *e);

/* Initiator: queue the HELLO.  0 or an error. */
int endpoint_start(endpoint *e, uint64_t now_ms);

/* Bytes received that do not make a whole frame yet (for an EOF's reason). */
size_t endpoint_input_partial(const endpoint *e);

/* How many more bytes endpoint_input will take now. */
size_t endpoint_input_room(const endpoint *e);
/*
 * Received bytes (len <= endpoint_input_room).  Processes every complete
 * frame it can.  0, or an error: the connection is finished (endpoint_reason
 * says why; a Close may still be waiting in the output).  STP_EMAC1 means
 * say nothing and close.
 */
int endpoint_input(endpoint *e, const uint8_t *buf, size_t len, uint64_t now_ms);

/*
 * Zero-copy input: where to put up to *room received bytes (read the socket
 * straight into it), or NULL with *room 0 when no input is taken now; then
 * endpoint_input_commit() the bytes actually there (returns as
 * endpoint_input).  Nothing else may be called on e in between.
 */
uint8_t *endpoint_input_buf(endpoint *e, size_t *room);
int endpoint_input_commit(endpoint *e, size_t len, uint64_t now_ms);

/*
 * Next event: 1 and *ev filled, or 0.  An EP_RECORD is valid until the next
 * endpoint_poll (or, kept, until endpoint_release_kept).  A bad record queued behind an event
 * the owner had not taken yet is found here, and poll cannot return it: after
 * polling, check endpoint_finished() (finished without an EP_CLOSED means
 * failed; endpoint_reason says why).
 */
int endpoint_poll(endpoint *e, ep_event *ev);

/*
 * During an EP_RECORD carrying StreamData (before the next poll): keep its
 * data valid until endpoint_release_kept, so the owner can gather the data
 * of several records and write it at once.  Records behind it are still
 * processed.  0, or STP_EAGAIN when this one cannot be kept (not data read
 * in place, or EP_KEEP_MAX bytes kept already): use it before the next poll.
 */
#define EP_KEEP_MAX (512u * 1024)
int endpoint_keep(endpoint *e);
/*
 * Done with every kept record: their plaintext is wiped and their memory
 * reused, so input may be taken again.  Processing may resume: poll for
 * events afterwards.  Returns as endpoint_input.
 */
int endpoint_release_kept(endpoint *e, uint64_t now_ms);
/* Plaintext bytes kept now. */
size_t endpoint_kept(const endpoint *e);

/*
 * Send one record whose body the caller set in *r (seq and time are filled
 * in here).  Not for key updates, rekey exchanges or close.  0, STP_EAGAIN
 * (output over max_output, or for a stream's accept, window update, fin and
 * reset over twice it, so that those are not lost to back-pressure: wait for
 * endpoint_output_done), STP_ESTATE (not established, or closed),
 * STP_ETOOBIG.
 */
int endpoint_send(endpoint *e, Stp__V1__Record *r, uint64_t now_ms);
/* Send StreamData{stream_id, data}; len <= STP_MAX_DATA.  As endpoint_send. */
int endpoint_send_data(endpoint *e, uint32_t stream_id, const uint8_t *data,
    size_t len, uint64_t now_ms);
/*
 * Zero-copy sending: reserve room for up to max (<= STP_MAX_DATA) bytes of
 * StreamData and get where to put them (read the app's socket straight into
 * it); then commit the bytes actually there, or cancel.  At most one
 * reservation at a time.  reserve returns NULL when a send would fail now
 * (not established, closed, output full, out of memory).  commit returns as
 * endpoint_send; on an error the reservation stays (copy the data out if it
 * must survive) until endpoint_data_cancel.
 */
uint8_t *endpoint_data_reserve(endpoint *e, size_t max);
int endpoint_data_commit(endpoint *e, uint32_t stream_id, size_t len,
    uint64_t now_ms);
void endpoint_data_cancel(endpoint *e);
/* Send a Ping (id = now); its Pong comes back as EP_PONG. */
int endpoint_ping(endpoint *e, uint64_t now_ms);
/*
 * Send a cover record (Record{cover}) whose plaintext is size bytes, without
 * a signature (at most EP_PAD_MAX; a size the bare record does not fit in,
 * 0 say, is left to pad_to as for any record).  The peer authenticates and
 * discards it.  As endpoint_send: STP_EAGAIN while the output is full (skip
 * it then).
 */
int endpoint_send_cover(endpoint *e, size_t size, uint64_t now_ms);
/* Send Close{code, reason} as the last record; later sends fail. */
int endpoint_close(endpoint *e, uint32_t code, const char *reason, uint64_t now_ms);
/* Timers: key update by time, fresh exchange.  0 or an error. */
int endpoint_tick(endpoint *e, uint64_t now_ms);

/*
 * Frames ready for the wire, not yet handed out, as iovecs in order; returns
 * the count.  Output handed out is never handed out again: a caller that
 * writes only part of it keeps its own iovecs for the rest.
 */
size_t endpoint_output(endpoint *e, struct iovec *iov, size_t max_iov);
/* n bytes of the handed-out output are on the wire; their buffers are freed. */
void endpoint_output_done(endpoint *e, size_t n);
/* Bytes queued for the wire or being sealed. */
size_t endpoint_output_pending(const endpoint *e);

/* Jobs handed out (offload, or no inline_crypto): next job to run, or NULL. */
endpoint_job *endpoint_job_take(endpoint *e);
/* Run a job; any thread, one aead_ctx per thread. */
void endpoint_job_run(endpoint_job *j, aead_ctx *ctx);
/* A job is back; 0 or an error as for endpoint_input. */
int endpoint_job_done(endpoint *e, endpoint_job *j, uint64_t now_ms);
/* Jobs handed out and not yet back. */
unsigned endpoint_jobs_out(const endpoint *e);

int endpoint_established(const endpoint *e);
/* 1 once a Close was sent or received, or an error happened. */
int endpoint_finished(const endpoint *e);
/*
 * Peer identity and session id; valid once established.  The peer's
 * identity is the one its AUTH proved until it sends an IdentityUpdate
 * (EP_PEER_IDENTITY); endpoint_peer_auth() stays the AUTH's.  Record
 * signatures are always under the AUTH identities (proto/STP.md).
 */
const uint8_t *endpoint_peer(const endpoint *e);
const uint8_t *endpoint_peer_auth(const endpoint *e);
/* Our identity as this session knows it: the AUTH's, or the last update's. */
const uint8_t *endpoint_self(const endpoint *e);
/* The extensions both sides set in their Auth (HS_FEATURE_* bits). */
uint32_t endpoint_features(const endpoint *e);
/*
 * Tell the peer that we now hold identity k (proto/STP.md, "Identity
 * update"): an IdentityUpdate record signed by k, sent whatever the output
 * holds (a protocol record).  k is used only inside this call.  0 (also
 * when k is already the session's), STP_ESTATE (not established, or
 * closed), STP_EPROTO (the peer did not set HS_FEATURE_IDENTITY_UPDATE),
 * or an error from signing.
 */
int endpoint_update_identity(endpoint *e, const sign_key *k, uint64_t now_ms);
const uint8_t *endpoint_sid(const endpoint *e);
/*
 * The session's resume secret (proto/STP.md, "Resumption"), for a later
 * session's proofs (ks_resume_proof): 0 and out filled, or STP_ESTATE (not
 * established, or HS_FEATURE_RESUME not agreed).  The caller wipes its copy.
 */
int endpoint_resume_secret(const endpoint *e, uint8_t out[KS_RESUME_LEN]);
/* Why the connection failed or closed, for logs. */
const char *endpoint_reason(const endpoint *e);
/*
 * Record signatures in this session: EP_SIGN_* bits, decided when the
 * handshake ends (proto/STP.md, "Record signatures"); 0 before.
 */
unsigned endpoint_signing(const endpoint *e);
/*
 * Tests only: sign the records sent from now on with k instead of our
 * identity (NULL: our identity again), so a test can show that a receiver
 * refuses a signature by the wrong key.  No effect when we do not sign.
 */
void endpoint_test_sign_with(endpoint *e, const sign_key *k);
/*
 * Tests only: send an IdentityUpdate naming pub but signed by signer, even
 * when the extension was not agreed, so a test can show what a receiver
 * refuses.  As endpoint_update_identity otherwise.
 */
int endpoint_test_update_as(endpoint *e, const uint8_t pub[32],
    const sign_key *signer, uint64_t now_ms);
void endpoint_get_stats(const endpoint *e, ep_stats *s);

#endif

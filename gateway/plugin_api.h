/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plugin_api.h: the one header a plugin includes.  A plugin is a table of
 * hooks (stp_plugin) compiled into stpgate and switched on from the YAML
 * peer map; the core calls the hooks at four points:
 *
 *   config     the plugin's subtree under `plugins: NAME:` is handed to
 *              configure() at load (so `stpgate check` and SIGHUP reload see
 *              its errors as file:line:col: plugins.NAME.key: reason);
 *   admission  a responder decides about a HELLO after its mac1 checked out
 *              and before any KEM or signature work (admit), and an
 *              initiator answers the challenge it got back (answer);
 *   dialer     how a peer's address is reached (route, then start on the
 *              connected TCP socket, before STP's first byte);
 *   shaping    the plaintext size each record is padded to, and cover
 *              records sent at random intervals.
 *
 * Threads: every hook runs on the gateway's loop thread except answer(),
 * which runs in the crypto worker pool (it may be slow: a proof of work) and
 * must touch nothing but its arguments and its immutable instance (and the
 * services marked "any thread" below).
 *
 * Versioning: a plugin sets api_version to the STP_PLUGIN_API_VERSION it
 * was written against; the core refuses a table with another major version.
 * Hook tables only ever grow at their end, so a plugin built against an
 * older minor version keeps working.
 */
#ifndef STP_PLUGIN_API_H
#define STP_PLUGIN_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <uv.h>

#define STP_PLUGIN_API_MAJOR 1
#define STP_PLUGIN_API_MINOR 0
#define STP_PLUGIN_API_VERSION ((STP_PLUGIN_API_MAJOR << 16) | STP_PLUGIN_API_MINOR)

/* ---- configuration ---- */

/* The loader's context for one plugin's subtree (errors name file:line:col). */
typedef struct stp_cfg stp_cfg;
/* A YAML node: a scalar, a sequence or a mapping. */
typedef struct ytree_node stp_node;

/*
 * Every getter looks up key in the mapping `map`.  An absent key leaves *out
 * untouched and returns 0 (the plugin set its default before); a present one
 * is checked and stored, or reported (file:line:col: plugins.NAME.key:
 * reason) and STP_PLUGIN_EBADCFG returned.  Unknown keys are refused by
 * stp_cfg_keys().
 */
#define STP_PLUGIN_EBADCFG (-1)
/* Refuse any key of map not in keys (a NULL-terminated list). */
int stp_cfg_keys(stp_cfg *cx, const stp_node *map, const char *const *keys);
int stp_cfg_uint(stp_cfg *cx, const stp_node *map, const char *key,
    uint64_t min, uint64_t max, uint64_t *out);
/* "16KiB", "1MiB", 4096. */
int stp_cfg_size(stp_cfg *cx, const stp_node *map, const char *key,
    uint64_t min, uint64_t max, uint64_t *out);
/* "250ms", "2s", "1m"; stored in milliseconds. */
int stp_cfg_duration(stp_cfg *cx, const stp_node *map, const char *key,
    uint64_t min_ms, uint64_t max_ms, uint64_t *out_ms);
/* A decimal number such as 0.25 or 3. */
int stp_cfg_number(stp_cfg *cx, const stp_node *map, const char *key,
    double min, double max, double *out);
int stp_cfg_bool(stp_cfg *cx, const stp_node *map, const char *key, int *out);
/* A sequence of sizes (min..max each); at most max_n; *n_out set. */
int stp_cfg_sizes(stp_cfg *cx, const stp_node *map, const char *key,
    uint64_t min, uint64_t max, uint64_t *out, size_t max_n, size_t *n_out);
/* A scalar string, NUL-terminated, shorter than out_len. */
int stp_cfg_string(stp_cfg *cx, const stp_node *map, const char *key,
    char *out, size_t out_len);
/* The value node of key (to report on it), or NULL. */
const stp_node *stp_cfg_get(const stp_node *map, const char *key);
/* Report at node n (or at the plugin's key when n is NULL); returns STP_PLUGIN_EBADCFG. */
int stp_cfg_error(stp_cfg *cx, const stp_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- what the core gives plugins at run time ---- */

enum { STP_LOG_ERROR = 0, STP_LOG_WARN = 1, STP_LOG_INFO = 2, STP_LOG_DEBUG = 3 };

/* A log line "plugin NAME: ..." at level (rate-limited per key when key != NULL).  Any thread. */
void stp_log(int level, const char *plugin, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * Count an event: shows as stpgate_plugin_events_total{plugin,event}.  plugin
 * and event must be string literals (they are kept by pointer).  Any thread.
 */
void stp_count(const char *plugin, const char *event, uint64_t n);
/* The loop's clock, milliseconds (loop thread only). */
uint64_t stp_now_ms(void);
/* The event loop (loop thread only), for timers. */
uv_loop_t *stp_loop(void);
/* Cryptographically random bytes / a uniform integer in [0, bound).  Any thread. */
void stp_random(void *buf, size_t len);
uint32_t stp_random_uniform(uint32_t bound);
/* SHA-256 of the concatenation of iov[0..n).  Any thread.  0 or <0. */
int stp_sha256(uint8_t out[32], const struct iovec *iov, size_t n);
/* HMAC-SHA-256 under key of the concatenation of iov[0..n).  Any thread.  0 or <0. */
int stp_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len,
    const struct iovec *iov, size_t n);
/* Constant-time comparison (1 if equal) and a wipe the compiler keeps. */
int stp_memeq(const void *a, const void *b, size_t n);
void stp_wipe(void *p, size_t n);

/* ---- admission ---- */

/* admit() verdicts. */
enum { STP_ADMIT = 0, STP_ADMIT_CHALLENGE = 1, STP_ADMIT_REJECT = 2 };
#define STP_ADMISSION_MAX 256   /* bytes of Hello.admission and of a challenge */

typedef struct stp_admission_ops {
	/*
	 * Every challenge this plugin issues starts with this byte, so an
	 * initiator knows which plugin answers it (see STP_TAG_* below).
	 */
	uint8_t tag;
	/*
	 * Responder: a HELLO whose mac1 checked out came from src.  admission
	 * is the HELLO's admission field (the answer to an earlier challenge,
	 * or empty).  Return STP_ADMIT, STP_ADMIT_REJECT, or STP_ADMIT_CHALLENGE
	 * after writing at most *chal_len (in: capacity) bytes to chal, the
	 * first being tag.  Must be cheap: it runs for every stranger.
	 */
	int (*admit)(void *inst, const struct sockaddr *src,
	    const uint8_t *admission, size_t admission_len,
	    uint8_t *chal, size_t *chal_len);
	/*
	 * Initiator, in a worker thread: write the answer to chal (which starts
	 * with tag) to ans, at most *ans_len (in: capacity) bytes.  0, or <0 to
	 * give up (the handshake then fails with a clear reason).  inst may be
	 * NULL when the plugin is not configured here: answer with defaults.
	 */
	int (*answer)(void *inst, const uint8_t *chal, size_t chal_len,
	    uint8_t *ans, size_t *ans_len);
} stp_admission_ops;

#define STP_TAG_EXAMPLE 0x7e
#define STP_TAG_POW 0x01

/* ---- dialer ---- */

/* What a dialer knows about the peer it reaches (valid during the call). */
typedef struct stp_peer_view {
	const char *name;
	const uint8_t *key;        /* Ed25519 public key, 32 bytes */
	const char *host;          /* peers.NAME.dial, as written */
	uint16_t port;
	const char *proxy;         /* peers.NAME.proxy, or "" */
} stp_peer_view;

/* How a dial ended: status 0 (the socket now carries the peer's STP) or <0 with a reason. */
typedef void (*stp_dial_done_fn)(void *arg, int status, const char *reason);

typedef struct stp_dialer_ops {
	/*
	 * Does this plugin reach peer p?  Return 1 after writing the TCP
	 * endpoint to connect to (a host name or IP literal, resolved by the
	 * core) to host/port, 0 if not, <0 on a bad setting (reason in why).
	 */
	int (*route)(void *inst, const stp_peer_view *p, char *host,
	    size_t host_len, uint16_t *port, char *why, size_t why_len);
	/*
	 * The core connected tcp to the route's endpoint: make it reach p (for
	 * a proxy: its handshake), reading and writing tcp as needed, and stop
	 * reading before calling done.  Nothing but the proxy's own replies may
	 * be read: STP starts right after.  Returns an operation handle, or
	 * NULL with why set (done is then not called).  done is called exactly
	 * once unless cancel() was called first.
	 */
	void *(*start)(void *inst, const stp_peer_view *p, uv_tcp_t *tcp,
	    stp_dial_done_fn done, void *arg, char *why, size_t why_len);
	/* Abandon an operation (timeout, shutdown): done is not called. */
	void (*cancel)(void *op);
} stp_dialer_ops;

/* ---- record shaping ---- */

typedef struct stp_shaper_ops {
	/*
	 * The plaintext size a record of len bytes is to be padded to: at least
	 * len, at most max (larger answers are clamped).  Return len for none.
	 * The core adds the padding inside the AEAD.
	 */
	size_t (*pad_to)(void *inst, size_t len, size_t max);
	/* Milliseconds until the next cover record on a session; 0 for none. */
	uint64_t (*cover_next_ms)(void *inst);
	/* Plaintext size of the next cover record (at most max). */
	size_t (*cover_size)(void *inst, size_t max);
} stp_shaper_ops;

/* ---- the plugin ---- */

typedef struct stp_plugin {
	uint32_t api_version;      /* STP_PLUGIN_API_VERSION */
	const char *name;          /* its key under `plugins:` */
	const char *summary;       /* one line for docs and `stpgate --help` */
	/*
	 * Check the plugin's subtree (node; NULL when the plugin is not in the
	 * config) and return its settings in *cfg (may stay NULL).  0 or
	 * STP_PLUGIN_EBADCFG (after stp_cfg_error).  *enabled says whether the
	 * plugin acts here; a plugin left out of the config may still answer
	 * challenges and dial (with its defaults).
	 */
	int (*configure)(stp_cfg *cx, const stp_node *node, void **cfg,
	    int *enabled);
	void (*cfg_free)(void *cfg);
	/* Start with the settings (loop thread): *inst is its state.  0 or <0. */
	int (*open)(const void *cfg, int enabled, void **inst);
	/* Stop: cancel timers, free inst. */
	void (*close)(void *inst);
	/* Hook tables; NULL when the plugin has none. */
	const stp_admission_ops *admission;
	const stp_dialer_ops *dialer;
	const stp_shaper_ops *shaper;
} stp_plugin;

#endif

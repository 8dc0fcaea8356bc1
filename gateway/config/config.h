/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h: the peer map, loaded from YAML (conf/example.yaml documents every
 * key and its default), as one typed, validated struct.
 *
 * config_load() reads the file through ytree (which keeps line:col), walks a
 * schema table, and checks cross-references (a forward naming an unknown
 * peer, a service allowing an unknown peer, duplicate names, overlapping
 * listen addresses) and the identity file (exists, mode 0600, parses); a
 * config that holds an access secret must not be readable by others.  Every
 * error is "file:line:col: key: reason"; loading never exits and never
 * starts anything, so `stpgate check` and SIGHUP reload use the same code.
 * Relative `identity` and `control` paths are taken relative to the config
 * file's directory, and stored resolved.
 *
 * The main file may name others with `include:` (paths or globs); those
 * hold only peers, services and forwards, which are merged with the main
 * file's in load order (config_include.c).  An error in one of them names
 * it: "included-file:line:col: key: reason".
 */
#ifndef STP_CONFIG_H
#define STP_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/sign.h"
#include "plugin.h"
#include "ytree.h"

#define CFG_NAME_MAX 64      /* peer and service names: [A-Za-z0-9_.-], 1..63 */
#define CFG_HOST_MAX 256
#define CFG_PATH_MAX 4096
#define CFG_FILE_MAX (1u << 20) /* a config file over 1 MiB is refused */
#define CFG_KEYS_MAX 4       /* keys one peer may list (a rotation needs 2) */

/*
 * Where a value came from, for messages that outlive the YAML tree: file is
 * an index into config.files (0, the main file, unless the value is in an
 * included file); config_pos_file() names it.
 */
typedef struct cfg_pos {
	unsigned line, col;
	unsigned file;
} cfg_pos;

/*
 * host:port as written.  host is an IP literal or (dial, proxy, a
 * service's connect) a DNS name.  Where a Unix socket is allowed (a
 * forward's listen, a service's connect), "unix:PATH" gives is_unix, host
 * the path (relative to the config's directory, resolved) and port 0; and
 * "udp:HOST:PORT" is HOST:PORT with is_udp (datagram flows, flow.h).
 */
typedef struct cfg_addr {
	char host[CFG_HOST_MAX];
	uint16_t port;
	int is_ip;                          /* host parsed as an IPv4/IPv6 literal */
	int is_unix;                        /* unix:PATH: ss is its sockaddr_un */
	int is_udp;                         /* udp:HOST:PORT: datagrams (a forward's
					     * listen, a service's connect) */
	struct sockaddr_storage ss;         /* valid when is_ip or is_unix */
	socklen_t ss_len;
	cfg_pos pos;
} cfg_addr;

typedef struct cfg_peer {
	char name[CFG_NAME_MAX];
	/*
	 * key: one public key, or a list during a rotation (README, "Rotating
	 * a key"): a session is this peer's when the peer proves any of them;
	 * we dial with keys[dial_key], moving on to the next after a dial
	 * that got no answer (session_dial.c).
	 */
	uint8_t keys[CFG_KEYS_MAX][32];
	unsigned n_keys;
	int has_dial;
	cfg_addr dial;                      /* we dial this peer here */
	int has_access_secret;
	uint8_t access_secret[32];          /* the secret of the listener we
					     * dial: it keys our HELLO's mac1
					     * (secret.h) */
	int has_proxy;
	char proxy[CFG_HOST_MAX + 32];      /* socks5://[user:pass@]host:port (plugins) */
	int sign_records;                   /* every record both ways is signed (STP.md) */
	struct destpolicy *destinations;    /* what its dynamic forwards may
					     * reach through us; NULL: nothing */
	cfg_pos pos;
	cfg_pos key_pos;                    /* where its key: is, for messages */
	cfg_pos keys_pos[CFG_KEYS_MAX];     /* where each key is */
} cfg_peer;

typedef struct cfg_forward {
	cfg_addr listen;                    /* local listener for apps */
	int socks;                          /* socks: a dynamic forward: apps
					     * speak SOCKS5 and name their
					     * destination; service is "" */
	size_t peer;                        /* index into config.peers */
	char service[CFG_NAME_MAX];         /* name in the peer's services map */
	int allow_remote;                   /* a non-loopback listen address needs this */
	/* A unix: listener's file: mode (default 0600), owner and group
	 * (default: the gateway's; uid/gid -1). */
	unsigned mode;
	int has_mode;
	long uid, gid;
	cfg_pos pos;
} cfg_forward;

/* proxy_protocol: what a service's connection hears first (proxyhdr.h). */
enum cfg_proxy_protocol { PROXY_OFF = 0, PROXY_V1 = 1, PROXY_V2 = 2 };

typedef struct cfg_service {
	char name[CFG_NAME_MAX];
	cfg_addr connect;                   /* where we connect for a stream */
	int proxy_protocol;                 /* cfg_proxy_protocol */
	size_t n_allow;
	size_t *allow;                      /* indexes into config.peers */
	cfg_pos pos;
} cfg_service;

enum cfg_log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
enum cfg_log_format { LOG_TEXT = 0, LOG_JSON = 1 };

typedef struct config {
	char path[CFG_PATH_MAX];
	char identity_path[CFG_PATH_MAX];
	sign_key *identity;                 /* loaded and checked (0600): we dial
					     * with it and answer to it */
	char previous_identity_path[CFG_PATH_MAX];
	sign_key *previous_identity;        /* previous_identity: during a
					     * rotation we also answer HELLOs
					     * addressed to it; NULL: none */
	int has_listen;
	cfg_addr listen;                    /* peers may dial us here */
	int has_access_secret;
	uint8_t access_secret[32];          /* our listener's: a HELLO whose
					     * mac1 it does not key gets no
					     * answer (secret.h) */
	unsigned workers;                   /* crypto threads; 0 = on the loop */
	int workers_auto;                   /* workers: auto (the default; then
					     * workers is 0): the gateway starts
					     * workers_auto_threads() and the
					     * dispatch rule sends the jobs */
	int log_level, log_format;
	int has_metrics;
	cfg_addr metrics;                   /* loopback unless metrics_allow_remote */
	int metrics_allow_remote;           /* metrics: {listen:, allow_remote: true} */
	char control[CFG_PATH_MAX];         /* control socket path; "" = none */
	int has_control;                    /* `control:` was given (a path or off) */
	int control_default;                /* control is config_default_control's:
					     * the gateway creates its directory */

	cfg_peer *peers;
	size_t n_peers;
	cfg_forward *forwards;
	size_t n_forwards;
	cfg_service *services;
	size_t n_services;

	struct {
		unsigned max_sessions;          /* sessions at once (all peers) */
		unsigned max_handshakes;        /* handshakes in progress at once */
		unsigned handshakes_per_source; /* new handshakes per second per source address */
		unsigned max_streams;           /* open streams per session */
		unsigned max_connections;       /* local app connections, all forwards */
		uint64_t session_buffer;        /* bytes buffered per session, both ways */
		unsigned replay_slots;          /* HELLOs the listener remembers
						 * against replays; a multiple
						 * of 8 */
	} limits;
	struct {
		uint64_t handshake_ms, connect_ms, keepalive_ms, dead_ms;
		uint64_t stream_idle_ms;        /* 0 = no idle timeout */
		uint64_t drain_ms;
		uint64_t datagram_idle_ms;      /* a UDP flow ends after this
						 * long without a datagram */
		uint64_t resume_ms;             /* resume_window: a broken
						 * session's streams wait this
						 * long for a resumption; 0 off */
		uint64_t reconnect_min_ms, reconnect_max_ms;
	} timeouts;
	struct {
		uint32_t window;                /* initial per-stream receive window */
		uint32_t max_window;            /* a stream's window grows up to this */
	} flow;
	struct {
		uint64_t bytes, interval_ms, fresh_interval_ms;
	} rekey;
	plugin_cfgs plugins;                /* each built-in plugin's settings (plugin.h) */
	int watch;                          /* watch: true: reload when one of
					     * files changes (gateway_watch.c) */
	char **files;                       /* every file the config was read
					     * from: path first, then each
					     * included file, in load order
					     * (as resolved: relative patterns
					     * joined to path's directory) */
	size_t n_files;
	ytree_fid *file_ids;                /* each of files as it was read:
					     * watch: reloads when one differs */
	char **watch_dirs;                  /* the distinct directories that
					     * the include: globs search, as
					     * resolved, so that a file added
					     * there can be noticed; plain
					     * paths add none */
	size_t n_watch_dirs;
	ytree_fid *watch_dir_ids;           /* each of watch_dirs as it was
					     * before its glob ran */
} config;

/*
 * Load and validate path.  On success *out owns the config and 0 is
 * returned; otherwise err holds one line, "file:line:col: key: reason" (or
 * "file: reason" when there is no position), and the return is STP_EPARSE,
 * STP_EIO, STP_EPERM (identity file mode, or an access secret in a config
 * file that every user may read), STP_ETOOBIG or STP_ENOMEM.
 */
int config_load(const char *path, config **out, char *err, size_t err_len);

/*
 * The control socket a config without `control:` gets, named after the
 * config file (its name less .yaml or .yml, then ".sock"): in
 * $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=) when set, else in
 * /run/stpgate when run as root, else in $XDG_RUNTIME_DIR/stpgate.
 * Returns 0 with out set; 1 with out "" when none of those applies;
 * STP_ETOOBIG when the path does not fit a Unix socket (out says it).
 */
int config_default_control(const char *config_path, char *out, size_t len);
/* The same name in dir: "DIR/NAME.sock" (0, or STP_ETOOBIG as above). */
int config_control_in(const char *dir, const char *config_path, char *out,
    size_t len);

/*
 * The control socket of the gateway run with the config at path, for
 * `stpgate status` and `reload`, reading as little as it can: only the
 * top-level `control:` (resolved against the config's directory; off or ""
 * gives ""), else config_default_control's path (*is_default set).  A file
 * that does not load as a config still names its socket, so that `reload`
 * can report why the gateway refused it.  *is_default is set when the
 * file has no `control:` (out is then "" if no default applies).  0, or STP_EIO / STP_ETOOBIG /
 * STP_ENOMEM with err saying why (the file cannot be read).  Included
 * files are not read: `control:` is a key of the main file only.
 */
int config_find_control(const char *path, char *out, size_t len,
    int *is_default, char *err, size_t errlen);

/*
 * Frees everything, including the identity key, and wipes the access
 * secrets; config_free(NULL) is a no-op.
 */
void config_free(config *c);

/* The file a position is in (config.files), for messages: never NULL. */
const char *config_pos_file(const config *c, cfg_pos pos);

/* A peer or service name: 1..63 of A-Z a-z 0-9 _ . - (config_text.c). */
int config_name_ok(const char *s, size_t len);

/* "host:port", with an IPv6 host in brackets ("[::1]:7400"); returns buf. */
const char *config_hostport_text(char *buf, size_t len, const char *host,
    unsigned port);
/* An address as written: host:port as above, "unix:PATH", or "udp:" and
 * host:port; returns buf. */
const char *config_addr_text(char *buf, size_t len, const cfg_addr *a);

/* Index of the peer that lists this public key, or -1. */
long config_peer_by_key(const config *c, const uint8_t key[32]);
/* 1 if peer p lists key (any of its keys). */
int config_peer_has_key(const cfg_peer *p, const uint8_t key[32]);
/* Index of the peer / service with this name, or -1. */
long config_peer_by_name(const config *c, const char *name);
long config_service_by_name(const config *c, const char *name);
/* 1 if service s allows peer p. */
int config_service_allows(const config *c, size_t s, size_t p);

/*
 * Call fn once for every key the loader accepts outside plugins:, as a
 * dotted path ("log.level", "peers.NAME.dial", "forwards.listen", where NAME
 * stands for the user's name and a forwards entry is one item of the list),
 * in table order.  For the documentation's completeness test.
 */
void config_each_key(void (*fn)(const char *key, void *arg), void *arg);

/*
 * A one-line summary for `stpgate check`: counts of peers, forwards,
 * services (and included files, when there are any).
 */
void config_summary(const config *c, char *out, size_t len);

#endif

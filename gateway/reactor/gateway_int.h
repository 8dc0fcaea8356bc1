/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway_int.h: what gateway.c and gateway_reload.c share (the gateway's
 * insides, and the steps that open what a config names, used at start and
 * again by a reload).  Nothing else includes it.
 */
#ifndef STP_GATEWAY_INT_H
#define STP_GATEWAY_INT_H

#include "gateway.h"

#include <uv.h>

#include "config.h"
#include "control.h"
#include "crypto/aead.h"
#include "guard.h"
#include "listener.h"
#include "metrics_http.h"
#include "plugin.h"
#include "session.h"
#include "workers.h"

/* A forward listener: app connections to it go to a service of a peer. */
struct fwd {
	listener *l;                /* a stream forward's listener, or */
	struct udpfwd *uf;          /* a udp: forward's socket */
	gateway *gw;
	size_t idx;                 /* in the current config's forwards */
	char peer[CFG_NAME_MAX];
	char service[CFG_NAME_MAX];
	cfg_addr listen;
	listener_unix ux;           /* a unix: listener's mode and owners */
	int socks;                  /* a dynamic forward (service is "") */
	int allow_remote;
	struct fwd *next;
};

/* The running gateway (gateway.h). */
struct gateway {
	uv_loop_t loop;
	config *cfg;
	workers *pool;
	aead_ctx *actx;             /* crypto run on the loop */
	guard *guard;               /* HELLOs seen by our listener (guard.h) */
	uv_check_t turn_check;      /* the end of a turn: after I/O callbacks */
	uv_prepare_t turn_prepare;  /* ... and before waiting for I/O */
	uint64_t polls;             /* times the loop went to poll (gateway_polls) */
	listeners *ls;              /* the listeners' spare descriptor and timer */
	listener *plisten;          /* peers dial us here */
	struct fwd *fwds;
	session **sessions;         /* parallel to cfg->peers */
	size_t n_sessions;
	struct pending *pending;    /* inbound conns in their handshake */
	unsigned n_pending;
	unsigned n_app, n_conns, n_sessions_closing;
	/*
	 * limits.max_connections and limits.max_handshakes as enforced: the
	 * config's, or fewer when the open-files limit cannot hold them
	 * (fdbudget_fit).  The config keeps what the file says.
	 */
	unsigned max_conns, max_hs;
	uint64_t nofile;            /* RLIMIT_NOFILE's soft limit in force */
	unsigned fd_base;           /* descriptors open before any listener */
	struct rate_slot *rate;
	control *ctl;               /* `stpgate status` talks to us here */
	metrics_http *mh;           /* the Prometheus endpoint */
	plugins *plug;              /* the running plugins (a reload replaces them) */
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t drain_timer;
	int draining, stopping, exit_code;
	int log_level;              /* -1: the config's log.level; else the
				     * command line's, across reloads too */
	int ready;                  /* READY=1 went out: the manager waits
				     * for STOPPING=1 */
	uint64_t drain_deadline;
	struct gw_watch *watch;     /* watch: true (gateway_watch.c); NULL: off */
};

/* gateway.c */
/* Open forward i of gw->cfg and put it on gw->fwds; 0, or why not in err. */
int gw_fwd_open(gateway *gw, size_t i, char *err, size_t errlen);
/* Close a forward's listener and free it (already off gw->fwds). */
void gw_fwd_close(struct fwd *f);
/* What a forward listens on, for logs ("udp:..." for datagrams). */
const char *gw_fwd_addr(const struct fwd *f);
/* The peer listener, if gw->cfg has one; 0, or why not in err. */
int gw_plisten_open(gateway *gw, char *err, size_t errlen);
void gw_plisten_close(gateway *gw);
/* (Re)open the control socket / the metrics endpoint if gw->cfg moved it
 * from old's (NULL: at start); 0, or why not in err. */
int gw_control_reopen(gateway *gw, const config *old, char *err, size_t errlen);
int gw_metrics_reopen(gateway *gw, const config *old, char *err, size_t errlen);
/* The log settings: the config's, but the command line's level if given. */
void gw_apply_log(gateway *gw);
/* gateway_watch.c */
/*
 * Start, move or stop watching the config's files for changes, as
 * gw->cfg->watch says (at start and after every reload); a change reloads.
 * 0, or -1 with err naming the first directory that could not be watched
 * (the others are).
 */
int gw_watch_apply(gateway *gw, char *err, size_t errlen);
void gw_watch_close(gateway *gw);

/* session_shutdown's callback: one closing session fewer (arg: gw). */
void gw_session_closed(void *arg);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plugin.h: the core's side of plugin_api.h: the list of plugins built in,
 * their settings inside a loaded config, and a running set of them that the
 * gateway, its connections and sessions consult at the hook points.
 *
 * Settings belong to a config (config_load calls plugin_configure_all; a
 * failed reload never touches the running set).  A running set (plugins_open)
 * is reference-counted: every conn holds one, so a reload that replaces the
 * set never frees it under a handshake whose answer runs in a worker.
 */
#ifndef STP_PLUGIN_H
#define STP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "plugin_api.h"

#define PLUGIN_MAX 8

struct config;
struct cfg_peer;

/* Per config: what each built-in plugin's configure() returned. */
typedef struct plugin_cfgs {
	void *cfg[PLUGIN_MAX];
	int enabled[PLUGIN_MAX];
} plugin_cfgs;

/*
 * Add a plugin to the built-in list (tests and embedders; before any
 * config_load).  0, STP_EINVAL (wrong API major version, no name, a name
 * already taken) or STP_ENOMEM (list full).
 */
int plugin_register(const stp_plugin *p);
/* The built-in plugins, in order. */
size_t plugin_count(void);
const stp_plugin *plugin_at(size_t i);
/* Index of the plugin with this name, or -1. */
long plugin_find(const char *name);

/* Free every setting in pc (config_free). */
void plugin_cfgs_free(plugin_cfgs *pc);

typedef struct plugins plugins;

/* Start every plugin with c's settings.  0 or an error (why says which). */
int plugins_open(const struct config *c, plugins **out, char *why, size_t why_len);
/* Take / drop a reference; the last drop closes every plugin.  Loop thread. */
plugins *plugins_ref(plugins *ps);
void plugins_unref(plugins *ps);

/*
 * Responder admission: ask every enabled admission plugin in order; the
 * first that does not admit decides.  HS_ADMIT* verdicts (handshake.h).
 */
int plugins_admit(plugins *ps, const struct sockaddr *src,
    const uint8_t *admission, size_t admission_len, uint8_t *chal,
    size_t *chal_len);
/* 1 if some admission plugin is enabled (else the hook need not be set). */
int plugins_admission_on(const plugins *ps);
/*
 * Initiator, any thread: answer a challenge with the plugin whose tag is
 * its first byte.  0 or an error.
 */
int plugins_answer(plugins *ps, const uint8_t *chal, size_t chal_len,
    uint8_t *ans, size_t *ans_len);

/*
 * The dialer for peer p: 1 with *ops and *inst set and host/port the TCP
 * endpoint to connect to, 0 to dial p directly, or <0 (why set).
 */
int plugins_dialer(plugins *ps, const struct cfg_peer *p,
    const stp_dialer_ops **ops, void **inst, char *host, size_t host_len,
    uint16_t *port, char *why, size_t why_len);

/* The enabled shaper (first one), or NULL. */
const stp_shaper_ops *plugins_shaper(plugins *ps, void **inst);

/* ---- run-time services behind plugin_api.h ---- */

/* Where stp_now_ms and stp_loop look (the gateway sets it at start). */
void plugin_runtime(uv_loop_t *loop, uint64_t (*now_ms)(void *), void *now_arg);

/* stp_count's table, for metrics: calls fn for every (plugin, event, count). */
void plugin_events_foreach(void (*fn)(void *arg, const char *plugin,
    const char *event, uint64_t n), void *arg);

#endif

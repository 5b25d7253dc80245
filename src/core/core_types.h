/* The daemon's runtime objects. A runtime is one config generation made
 * ready to serve (TLS contexts, trust stores, strip sets); workers and
 * connections hold references to it. */
#ifndef CERTGATE_CORE_TYPES_H
#define CERTGATE_CORE_TYPES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>
#include <openssl/types.h>

#include "config/config_types.h"
#include "proxy/strip.h"
#include "core/metrics_types.h"

struct certgate_policy;
struct ocsp_service;
struct tls_server;
struct server_state;
struct server_registry;
struct tls_keys;
struct route_metrics;
struct hist;

struct rt_policy {
    const struct cfg_policy *cfg;
    struct certgate_policy *policy; /* built once per generation, shared by the workers */
    unsigned index;                 /* position in runtime->policies: part of cache keys */
};

struct rt_listener {
    const struct cfg_listener *cfg;
    struct tls_server *tls; /* NULL for plain HTTP */
    struct rt_policy *gate; /* the client_auth policy; NULL with mode ignore */
    struct strip_set strip;
    atomic_size_t conns;            /* open connections, all workers */
    char *own_uri;                  /* the URI SAN of its certificate: XFCC's By */
    int *fds;                       /* one SO_REUSEPORT socket per worker */
    struct route_metrics **route_m; /* per route, in cfg->routes order (process-wide entries) */
    char **route_label;             /* "<host or *><path_prefix>", for the access log */
    struct hist *request_hist;      /* certgate_request_duration_seconds{listener} */
};

struct rt_server {
    const struct cfg_server *cfg;
    struct server_state *st; /* shared with every worker and generation (upstream/servers.h) */
    char *tls_name;          /* https: SNI and the name checked (server_name or the URL host) */
};

struct rt_backend {
    const struct cfg_backend *cfg;
    struct rt_server *servers;
    size_t n_servers;
    SSL_CTX *tls;               /* client context for its https:// servers; NULL when none */
    struct hist *upstream_hist; /* certgate_upstream_duration_seconds{backend} */
    int *sched;                 /* round_robin: server indices in smooth weighted order */
    size_t n_sched;
    atomic_uint next; /* position in <sched>; least_conn's tie breaker */
};

struct runtime {
    struct config *cfg; /* owned */
    atomic_int refs;
    struct rt_listener *listeners;
    size_t n_listeners;
    struct rt_policy *policies; /* named and inline policies */
    size_t n_policies;
    struct rt_backend *backends;
    size_t n_backends;
    size_t n_backends_cap;     /* slots allocated (freeing a half-built runtime) */
    struct cfg_listener admin; /* synthesized admin listener, when configured */
    int n_workers;
    uint64_t generation;             /* distinct for every runtime of the process */
    uint64_t crl_stamp;              /* runtime_crl_stamp() when built */
    uint64_t crl_refresh_ms;         /* how often to look at the CRL files again; 0 = never */
    struct ocsp_service *ocsp;       /* borrowed from the gateway: OCSP queries and their cache */
    struct server_registry *servers; /* borrowed from the gateway: backend servers' state */
    struct tls_keys *ticket_keys;    /* session tickets of every TLS listener */
    struct metrics *metrics;         /* borrowed from the gateway: survives reloads */
};

#endif

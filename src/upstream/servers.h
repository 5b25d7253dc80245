/* What every worker must agree on about a backend server: its address (names
 * are resolved off the workers' loops), whether probes find it healthy, how
 * many exchanges it has in flight (least_conn), and passive ejection after
 * connect failures. Kept in a registry owned by the gateway, so that this
 * state survives reloads for servers that stay in the configuration. */
#ifndef CERTGATE_UPSTREAM_SERVERS_H
#define CERTGATE_UPSTREAM_SERVERS_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

struct server_state {
    char *key;     /* "<backend> <url>" */
    char *backend; /* points into key */
    const char *url;
    uv_mutex_t lock;              /* guards <addr> */
    struct sockaddr_storage addr; /* valid once <resolved> */
    atomic_int resolved;
    atomic_int up;                  /* the active probes' view; servers start up */
    atomic_int inflight;            /* exchanges in progress, all workers */
    atomic_int fails;               /* connect failures in a row */
    atomic_ullong ejected_until_ms; /* passive ejection (monotonic clock) */
    atomic_ullong probes;           /* probes sent (metrics, tests) */
    atomic_int refs;
    /* the main thread's probe bookkeeping */
    int ok_run, fail_run;
};

struct server_registry;

struct server_registry *servers_new(void);
/* Free the registry; every state must have been released. NULL is fine. */
void servers_free(struct server_registry *r);
/* The state of server <url> of backend <backend>: the existing one (reloads keep it) or a
 * new one (up, unresolved). Referenced: release with servers_release. NULL when out of
 * memory. Thread-safe. */
struct server_state *servers_get(struct server_registry *r, const char *backend, const char *url);
void servers_release(struct server_registry *r, struct server_state *s);

/* Copy the address: 0, or -1 while it is not resolved. */
int server_addr(struct server_state *s, struct sockaddr_storage *out);
void server_set_addr(struct server_state *s, const struct sockaddr *sa);

uint64_t servers_now_ms(void);
/* Usable for a new exchange now: resolved, up, not ejected. */
int server_available(struct server_state *s, uint64_t now);
/* A connect to it failed / succeeded: passive ejection after <max_fails> in a row (0 = off)
 * for <fail_timeout_ms>. Returns 1 when this failure ejected it. */
int server_connect_failed(struct server_state *s, int max_fails, uint64_t fail_timeout_ms);
void server_connect_ok(struct server_state *s);

#endif

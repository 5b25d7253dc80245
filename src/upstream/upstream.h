/* Connections to backend servers, pooled per worker and server. */
#ifndef CERTGATE_UPSTREAM_UPSTREAM_H
#define CERTGATE_UPSTREAM_UPSTREAM_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "core/sock.h"
#include "upstream/servers.h"
#include "http/http_types.h"

#define UPSTREAM_MAX_HEADERS 128
#define UPSTREAM_HEAD_MAX    (64 * 1024)

struct conn;
struct worker;
struct rt_server;

enum upstream_state { UP_CONNECTING, UP_IDLE, UP_BUSY, UP_CLOSING };

/* Why a connection failed, for the relay's choice between retry, 502 and 504. */
enum upstream_failure {
    UPF_CONNECT = 0,      /* TCP connect refused or failed: nothing was sent */
    UPF_CONNECT_TIMEOUT,  /* connect (or the TLS handshake) took longer than timeouts.connect */
    UPF_TLS,              /* the TLS handshake failed (upstream->why says why) */
    UPF_CLOSED,           /* closed or broken after it was connected */
    UPF_RESPONSE_TIMEOUT, /* no (more) response within timeouts.response */
};

struct upstream {
    struct sock sock; /* first */
    struct worker *w;
    struct pool *pool;
    struct conn *client; /* the exchange using it; NULL when idle */
    enum upstream_state state;
    uv_timer_t timer; /* connect / response / idle-in-pool */
    int handles;
    int reused;         /* came from the idle pool */
    uint64_t sent;      /* request bytes written in this exchange */
    char why[256];      /* UPF_TLS / UPF_CONNECT: what failed, one sentence */
    char tls_name[256]; /* https: the name checked */
    int head_done;
    uint64_t got; /* response bytes received in this exchange */
    struct http_response resp;
    struct http_header hdrs[UPSTREAM_MAX_HEADERS];
    struct http_body_state body;
    struct upstream *next, *prev;
};

struct pool {
    struct worker *w;
    struct server_state *st; /* the server (referenced): pools outlive config generations */
    char *backend;           /* the backend's name: pools are per backend and server */
    SSL_SESSION *session;    /* https: the last session, resumed by the next connection */
    size_t max_idle;         /* pool: of the generation that last used it */
    uint64_t idle_ms;
    struct upstream *idle; /* most recently used first */
    size_t n_idle;
    size_t n_busy;
};

/* Get a connection for <c>'s exchange to <p>: an idle one (state UP_BUSY:
 * ready at once, the caller proceeds) or a new one (UP_CONNECTING: the relay
 * hears relay_upstream_ready() or relay_upstream_failed() later). <tls> (NULL
 * for http://) and <name> (SNI and the name checked) make it https. Counts
 * the exchange in the server's in-flight number until release. Returns NULL
 * if none could even be started. */
struct upstream *upstream_acquire(struct pool *p, struct conn *c, uint64_t connect_ms, SSL_CTX *tls,
                                  const char *name);
/* The exchange is over: pool the connection if <reusable>, else close it. */
void upstream_release(struct upstream *u, int reusable);
/* Arm (ms > 0) or stop (0) the response timer. */
void upstream_timer(struct upstream *u, uint64_t ms);
/* Close every idle connection of <p> (drain, reload). */
void pool_close_idle(struct pool *p);

#endif

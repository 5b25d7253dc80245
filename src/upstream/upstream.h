/* Connections to backend servers, pooled per worker and server. */
#ifndef CERTGATE_UPSTREAM_UPSTREAM_H
#define CERTGATE_UPSTREAM_UPSTREAM_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "core/sock.h"
#include "http/http_types.h"

#define UPSTREAM_MAX_HEADERS 128
#define UPSTREAM_HEAD_MAX    (64 * 1024)
#define POOL_MAX_IDLE        64

struct conn;
struct worker;
struct rt_server;

enum upstream_state { UP_CONNECTING, UP_IDLE, UP_BUSY, UP_CLOSING };

struct upstream {
    struct sock sock; /* first */
    struct worker *w;
    struct pool *pool;
    struct conn *client; /* the exchange using it; NULL when idle */
    enum upstream_state state;
    uv_timer_t timer; /* connect / response / idle-in-pool */
    int handles;
    int reused; /* came from the idle pool */
    int head_done;
    uint64_t got; /* response bytes received in this exchange */
    struct http_response resp;
    struct http_header hdrs[UPSTREAM_MAX_HEADERS];
    struct http_body_state body;
    struct upstream *next, *prev;
};

struct pool {
    struct worker *w;
    struct sockaddr_storage addr; /* the server: pools outlive config generations */
    char *backend;                /* the backend's name: pools are per backend and server */
    struct upstream *idle;        /* most recently used first */
    size_t n_idle;
    size_t n_busy;
};

/* Get a connection for <c>'s exchange to <p>: an idle one (state UP_BUSY:
 * ready at once, the caller proceeds) or a new one (UP_CONNECTING: the relay
 * hears relay_upstream_ready() or relay_upstream_failed() later). Returns
 * NULL if none could even be started. */
struct upstream *upstream_acquire(struct pool *p, struct conn *c, uint64_t connect_ms);
/* The exchange is over: pool the connection if <reusable>, else close it. */
void upstream_release(struct upstream *u, int reusable);
/* Arm (ms > 0) or stop (0) the response timer. */
void upstream_timer(struct upstream *u, uint64_t ms);
/* Close every idle connection of <p> (drain, reload). */
void pool_close_idle(struct pool *p);

#endif

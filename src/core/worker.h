/* A worker: one thread, one libuv loop, its share of every listening socket. */
#ifndef CERTGATE_CORE_WORKER_H
#define CERTGATE_CORE_WORKER_H

#include <stdatomic.h>
#include <uv.h>

#include "core/core_types.h"
#include "core/log.h"
#include "core/sock.h"
#include "proxy/verdict_cache.h"

struct conn;
struct pool;

struct worker {
    int id;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_async_t wake;
    struct runtime *rt; /* reference held; connections take their own */
    uv_tcp_t *lst;      /* one per runtime listener */
    uv_tcp_t *retired;  /* the previous generation's array: closing handles point into it */
    size_t n_lst;
    struct conn *conns; /* every open client connection */
    size_t n_conns;
    struct pool **pools; /* one per backend server address, kept across reloads */
    size_t n_pools;
    struct runtime *_next; /* set by the main thread on reload, then <wake> */
    uv_mutex_t _next_lock;
    atomic_int want_drain;       /* set by the main thread, then <wake> */
    atomic_int want_admin_close; /* likewise: the drain is over everywhere */
    atomic_int *serving;         /* the gateway's count of workers still serving while draining */
    int done_serving;            /* this worker has counted itself out */
    int draining;
    uv_timer_t drain_deadline; /* forces the end of a drain */
    int stopped;
    struct verdict_cache verdicts; /* this worker's cache of certificate judgements */
    struct log_buffer logbuf;      /* access log lines on their way out */
    struct http_header *hdrs;      /* the request head being read: parsed and used at once */
    size_t n_hdrs;
    char rbuf[65536];    /* scratch for TLS reads: every read is consumed at once */
    struct sock_loop sl; /* this loop's socks: read scratch, writes once per turn */
};

/* Start the worker thread on <rt> (a reference is taken). 0 or a libuv error code. */
int worker_start(struct worker *w, int id, struct runtime *rt);
/* Ask the worker to stop accepting and finish what is in flight. Thread-safe. */
void worker_drain(struct worker *w, atomic_int *serving);
/* Every worker has finished its last request: close the admin listeners too. Thread-safe. */
void worker_close_admin(struct worker *w);
/* Room for <n> parsed header fields, shared by the worker's connections: a head is parsed
 * and handled in one go (never kept across an event), so one array serves them all. NULL
 * when memory ran out. */
struct http_header *worker_headers(struct worker *w, size_t n);
/* Wait for the thread to end and free the worker's resources. */
void worker_join(struct worker *w);

/* Called by connections: the worker may finish draining when none is left. */
void worker_conn_gone(struct worker *w);
/* This worker's pool for server <srv> of backend <backend> (created on first
 * use, kept across reloads); NULL when out of memory. */
struct pool *worker_pool(struct worker *w, const char *backend, const struct rt_server *srv);
/* Hand the worker a new config generation (a reference is taken). Thread-safe. */
void worker_reload(struct worker *w, struct runtime *rt);

#endif

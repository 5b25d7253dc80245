#include "core/runtime.h"
#include "core/worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/log.h"
#include "tls/tls_server.h"
#include "upstream/servers.h"
#include "upstream/upstream.h"

#define DRAIN_MAX_MS 30000 /* drain_timeout's default */

static void close_listeners(struct worker *w);
static void adopt(struct worker *w, struct runtime *rt);

static void on_connection(uv_stream_t *server, int status)
{
    struct worker *w = server->loop->data;
    const struct rt_listener *rl = server->data;
    if (status < 0 || (w->draining && !rl->cfg->admin))
        return; /* while draining only the admin listener takes connections */
    conn_accept(w, server->data, server);
}

static void on_closed_nothing(uv_handle_t *h)
{
    (void)h;
}

static void worker_finish(struct worker *w)
{
    if (w->stopped)
        return;
    w->stopped = 1;
    close_listeners(w);
    log_buffer_close(&w->logbuf);
    sock_loop_close(&w->sl);
    for (size_t i = 0; i < w->n_pools; i++)
        pool_close_idle(w->pools[i]);
    uv_close((uv_handle_t *)&w->wake, on_closed_nothing);
    if (w->draining)
        uv_close((uv_handle_t *)&w->drain_deadline, on_closed_nothing);
}

/* During a drain the admin listener stays open (so that /ready says 503 draining) until the
 * last connection of every other listener is gone; then it closes too. */
static int serving_conns(const struct worker *w)
{
    for (const struct conn *c = w->conns; c; c = c->next)
        if (!c->l->cfg->admin)
            return 1;
    return 0;
}

static void close_admin(struct worker *w)
{
    close_listeners(w);
    struct conn *next;
    for (struct conn *c = w->conns; c; c = next) {
        next = c->next;
        conn_close(c, c->state == CONN_IDLE);
    }
    if (w->n_conns == 0)
        worker_finish(w);
}

/* Count this worker out once its last request is done; the gateway closes the admin
 * listeners when every worker is out (a worker closing its own alone would leave its
 * SO_REUSEPORT share of the admin port unanswered). */
static void check_served(struct worker *w)
{
    if (w->done_serving || serving_conns(w))
        return;
    w->done_serving = 1;
    if (w->serving)
        atomic_fetch_sub(w->serving, 1);
}

struct http_header *worker_headers(struct worker *w, size_t n)
{
    if (n > w->n_hdrs) {
        struct http_header *h = realloc(w->hdrs, n * sizeof(*h));
        if (h == NULL)
            return NULL;
        w->hdrs = h;
        w->n_hdrs = n;
    }
    return w->hdrs;
}

void worker_conn_gone(struct worker *w)
{
    if (!w->draining)
        return;
    check_served(w);
    if (w->n_conns == 0 && w->n_lst == 0)
        worker_finish(w);
}

static void on_drain_deadline(uv_timer_t *t)
{
    struct worker *w = t->data;
    close_listeners(w);
    for (struct conn *c = w->conns; c; c = c->next) {
        conn_close(c, 0);
        sock_close(&c->sock); /* also those already lingering in a graceful close */
    }
}

static void start_drain(struct worker *w)
{
    w->draining = 1;
    uv_timer_init(&w->loop, &w->drain_deadline);
    w->drain_deadline.data = w;
    /* stop accepting, except on the admin listener */
    for (size_t i = 0; i < w->n_lst; i++) {
        const struct rt_listener *rl = w->lst[i].data;
        if (!rl->cfg->admin)
            uv_close((uv_handle_t *)&w->lst[i], on_closed_nothing);
    }
    for (size_t i = 0; i < w->n_pools; i++)
        pool_close_idle(w->pools[i]);
    /* idle keep-alive connections go now; busy ones close after their response */
    struct conn *next;
    for (struct conn *c = w->conns; c; c = next) {
        next = c->next;
        if (c->state == CONN_IDLE || c->state == CONN_HANDSHAKE)
            conn_close(c, c->state == CONN_IDLE);
    }
    check_served(w);
    uint64_t ms = w->rt->cfg->drain_timeout_ms ? w->rt->cfg->drain_timeout_ms : DRAIN_MAX_MS;
    uv_timer_start(&w->drain_deadline, on_drain_deadline, ms, 0);
}

static void on_wake(uv_async_t *a)
{
    struct worker *w = a->data;
    uv_mutex_lock(&w->_next_lock);
    struct runtime *next = w->_next;
    w->_next = NULL;
    uv_mutex_unlock(&w->_next_lock);
    if (next && !w->draining)
        adopt(w, next);
    else if (next)
        runtime_unref(next);
    if (atomic_load(&w->want_drain) && !w->draining)
        start_drain(w);
    if (atomic_load(&w->want_admin_close) && w->draining && !w->stopped)
        close_admin(w);
    /* OCSP answers wake the worker: every parked request asks again (the cache answers) */
    struct conn *cnext;
    for (struct conn *c = w->conns; c; c = cnext) {
        cnext = c->next;
        if (c->state == CONN_WAIT)
            conn_resume(c);
    }
}

static void worker_main(void *arg)
{
    struct worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    tls_server_thread_done();
}

struct pool *worker_pool(struct worker *w, const char *backend, const struct rt_server *srv)
{
    for (size_t i = 0; i < w->n_pools; i++)
        if (w->pools[i]->st == srv->st && strcmp(w->pools[i]->backend, backend) == 0)
            return w->pools[i];
    struct pool **np = realloc(w->pools, (w->n_pools + 1) * sizeof(*np));
    if (np == NULL)
        return NULL;
    w->pools = np;
    struct pool *p = calloc(1, sizeof(*p));
    if (p == NULL || (p->backend = strdup(backend)) == NULL) {
        free(p);
        return NULL;
    }
    p->w = w;
    p->st = srv->st;
    atomic_fetch_add(&p->st->refs, 1); /* released when the worker ends */
    w->pools[w->n_pools++] = p;
    return p;
}

/* 0, or a libuv error code (negative errno). */
static int open_listeners(struct worker *w, struct runtime *rt)
{
    int rc;
    w->lst = calloc(rt->n_listeners, sizeof(*w->lst));
    w->n_lst = 0;
    if (w->lst == NULL)
        return UV_ENOMEM;
    for (size_t i = 0; i < rt->n_listeners; i++) {
        struct rt_listener *rl = &rt->listeners[i];
        int fd = dup(rl->fds[w->id]);
        if (fd < 0)
            return -errno;
        if ((rc = uv_tcp_init(&w->loop, &w->lst[i])) < 0) {
            close(fd);
            return rc;
        }
        w->n_lst++;
        w->lst[i].data = rl;
        if ((rc = uv_tcp_open(&w->lst[i], fd)) < 0 ||
            (rc = uv_listen((uv_stream_t *)&w->lst[i], 511, on_connection)) < 0) {
            log_msg("error", "worker %d: cannot listen on %s: %s", w->id, rl->cfg->address,
                    uv_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* Close this worker's listening handles; their sockets stay open in the
 * runtimes that own them, so no connection is refused meanwhile. */
static void close_listeners(struct worker *w)
{
    for (size_t i = 0; i < w->n_lst; i++)
        if (!uv_is_closing((uv_handle_t *)&w->lst[i]))
            uv_close((uv_handle_t *)&w->lst[i], on_closed_nothing);
    w->n_lst = 0;
}

/* A new config generation: new connections use it at once, existing ones at
 * their next request (proxy_switch_runtime). */
static void adopt(struct worker *w, struct runtime *rt)
{
    uv_tcp_t *old = w->lst;
    close_listeners(w);
    free(w->retired); /* its handles finished closing in an earlier loop turn */
    w->retired = old; /* closing handles still point into it */
    struct runtime *prev = w->rt;
    w->rt = rt;
    if (open_listeners(w, rt) < 0)
        log_msg("error", "worker %d: listeners of the new configuration failed", w->id);
    runtime_unref(prev);
}

int worker_start(struct worker *w, int id, struct runtime *rt)
{
    int rc;
    w->id = id;
    w->rt = runtime_ref(rt);
    atomic_init(&w->want_drain, 0);
    if ((rc = uv_loop_init(&w->loop)) < 0)
        return rc;
    w->loop.data = w;
    if ((rc = uv_async_init(&w->loop, &w->wake, on_wake)) < 0)
        return rc;
    w->wake.data = w;
    if (verdict_cache_init(&w->verdicts, 4096) < 0)
        return UV_ENOMEM;
    if ((rc = uv_mutex_init(&w->_next_lock)) < 0)
        return rc;
    log_buffer_init(&w->logbuf, &w->loop);
    if ((rc = sock_loop_init(&w->sl, &w->loop, w->rbuf, sizeof(w->rbuf))) < 0)
        return rc;
    if ((rc = open_listeners(w, rt)) < 0)
        return rc;
    return uv_thread_create(&w->thread, worker_main, w);
}

void worker_reload(struct worker *w, struct runtime *rt)
{
    uv_mutex_lock(&w->_next_lock);
    if (w->_next)
        runtime_unref(w->_next); /* two reloads before the worker woke: the last wins */
    w->_next = runtime_ref(rt);
    uv_mutex_unlock(&w->_next_lock);
    uv_async_send(&w->wake);
}

void worker_drain(struct worker *w, atomic_int *serving)
{
    w->serving = serving;
    atomic_store(&w->want_drain, 1);
    uv_async_send(&w->wake);
}

void worker_close_admin(struct worker *w)
{
    atomic_store(&w->want_admin_close, 1);
    uv_async_send(&w->wake);
}

void worker_join(struct worker *w)
{
    uv_thread_join(&w->thread);
    uv_loop_close(&w->loop);
    free(w->lst);
    free(w->retired);
    for (size_t i = 0; i < w->n_pools; i++) {
        servers_release(w->rt->servers, w->pools[i]->st);
        SSL_SESSION_free(w->pools[i]->session);
        free(w->pools[i]->backend);
        free(w->pools[i]);
    }
    free(w->pools);
    uv_mutex_destroy(&w->_next_lock);
    verdict_cache_free(&w->verdicts);
    free(w->hdrs);
    buf_free(&w->logbuf.pending);
    buf_free(&w->logbuf.writing);
    runtime_unref(w->rt);
    w->rt = NULL;
}

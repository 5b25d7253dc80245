#include "core/runtime.h"
#include "core/worker.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/log.h"
#include "upstream/upstream.h"

#define DRAIN_MAX_MS 30000

static void on_connection(uv_stream_t *server, int status)
{
    struct worker *w = server->loop->data;
    if (status < 0 || w->draining)
        return;
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
    for (size_t i = 0; i < w->n_pools; i++)
        pool_close_idle(&w->pools[i]);
    uv_close((uv_handle_t *)&w->wake, on_closed_nothing);
    if (w->draining)
        uv_close((uv_handle_t *)&w->drain_deadline, on_closed_nothing);
}

void worker_conn_gone(struct worker *w)
{
    if (w->draining && w->n_conns == 0)
        worker_finish(w);
}

static void on_drain_deadline(uv_timer_t *t)
{
    struct worker *w = t->data;
    for (struct conn *c = w->conns; c; c = c->next)
        conn_close(c, 0);
}

static void start_drain(struct worker *w)
{
    w->draining = 1;
    uv_timer_init(&w->loop, &w->drain_deadline);
    w->drain_deadline.data = w;
    for (size_t i = 0; i < w->n_lst; i++)
        uv_close((uv_handle_t *)&w->lst[i], on_closed_nothing);
    for (size_t i = 0; i < w->n_pools; i++)
        pool_close_idle(&w->pools[i]);
    /* idle keep-alive connections go now; busy ones close after their response */
    struct conn *next;
    for (struct conn *c = w->conns; c; c = next) {
        next = c->next;
        if (c->state == CONN_IDLE || c->state == CONN_HANDSHAKE)
            conn_close(c, c->state == CONN_IDLE);
    }
    if (w->n_conns == 0) {
        worker_finish(w);
        return;
    }
    uv_timer_start(&w->drain_deadline, on_drain_deadline, DRAIN_MAX_MS, 0);
}

static void on_wake(uv_async_t *a)
{
    struct worker *w = a->data;
    if (atomic_load(&w->want_drain) && !w->draining)
        start_drain(w);
}

static void worker_main(void *arg)
{
    struct worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

struct pool *worker_pool(struct worker *w, int backend, int server)
{
    size_t off = 0;
    for (int i = 0; i < backend; i++)
        off += w->rt->backends[i].n_servers;
    return &w->pools[off + (size_t)server];
}

static int open_pools(struct worker *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->rt->n_backends; i++)
        n += w->rt->backends[i].n_servers;
    w->pools = calloc(n ? n : 1, sizeof(*w->pools));
    if (w->pools == NULL)
        return -1;
    w->n_pools = n;
    size_t k = 0;
    for (size_t i = 0; i < w->rt->n_backends; i++)
        for (size_t s = 0; s < w->rt->backends[i].n_servers; s++) {
            w->pools[k].w = w;
            w->pools[k].server = &w->rt->backends[i].servers[s];
            k++;
        }
    return 0;
}

int worker_start(struct worker *w, int id, struct runtime *rt)
{
    w->id = id;
    w->rt = runtime_ref(rt);
    atomic_init(&w->want_drain, 0);
    if (uv_loop_init(&w->loop) < 0)
        return -1;
    w->loop.data = w;
    if (uv_async_init(&w->loop, &w->wake, on_wake) < 0)
        return -1;
    w->wake.data = w;
    if (open_pools(w) < 0 || verdict_cache_init(&w->verdicts, 4096) < 0)
        return -1;
    w->lst = calloc(rt->n_listeners, sizeof(*w->lst));
    if (w->lst == NULL)
        return -1;
    for (size_t i = 0; i < rt->n_listeners; i++) {
        struct rt_listener *rl = &rt->listeners[i];
        int fd = dup(rl->fds[id]);
        if (fd < 0 || uv_tcp_init(&w->loop, &w->lst[i]) < 0) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
        w->n_lst++;
        w->lst[i].data = rl;
        if (uv_tcp_open(&w->lst[i], fd) < 0 ||
            uv_listen((uv_stream_t *)&w->lst[i], 511, on_connection) < 0) {
            log_msg("error", "worker %d: cannot listen on %s", id, rl->cfg->address);
            return -1;
        }
    }
    return uv_thread_create(&w->thread, worker_main, w) == 0 ? 0 : -1;
}

void worker_drain(struct worker *w)
{
    atomic_store(&w->want_drain, 1);
    uv_async_send(&w->wake);
}

void worker_join(struct worker *w)
{
    uv_thread_join(&w->thread);
    uv_loop_close(&w->loop);
    free(w->lst);
    free(w->pools);
    verdict_cache_free(&w->verdicts);
    runtime_unref(w->rt);
    w->rt = NULL;
}

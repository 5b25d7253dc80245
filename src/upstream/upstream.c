#include "upstream/upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conn.h"
#include "core/worker.h"
#include "proxy/relay.h"
#include "tls/tls_client.h"

static void up_on_data(struct sock *s);
static void up_on_drain(struct sock *s);
static void up_on_connect(struct sock *s, int status);
static void up_on_closed(struct sock *s);
static void up_on_handshake(struct sock *s);

static const struct sock_events up_events = {
    .on_data = up_on_data,
    .on_handshake = up_on_handshake,
    .on_drain = up_on_drain,
    .on_connect = up_on_connect,
    .on_closed = up_on_closed,
};

/* The exchange is no longer in flight on this server (least_conn). */
static void up_done(struct upstream *u)
{
    if (u->client) {
        atomic_fetch_sub(&u->pool->st->inflight, 1);
        u->client = NULL;
    }
}

static void up_free(struct upstream *u)
{
    free(u);
}

static void up_handle_closed(uv_handle_t *h)
{
    struct upstream *u = h->data;
    if (--u->handles == 0)
        up_free(u);
}

static void up_on_closed(struct sock *s)
{
    struct upstream *u = (struct upstream *)s;
    if (--u->handles == 0)
        up_free(u);
}

static void idle_unlink(struct upstream *u)
{
    struct pool *p = u->pool;
    if (u->next)
        u->next->prev = u->prev;
    if (u->prev)
        u->prev->next = u->next;
    else if (p->idle == u)
        p->idle = u->next;
    u->next = u->prev = NULL;
    p->n_idle--;
}

/* Keep the newest TLS session of a healthy connection for the next one: with TLS 1.3 the
 * ticket arrives after the handshake, so the exchange's end is the time to take it. */
static void keep_session(struct upstream *u)
{
    SSL_SESSION *sess;
    if (u->sock.ssl == NULL || !(u->sock.flags & SOCK_HANDSHAKE_DONE) ||
        (u->sock.flags & SOCK_ERROR))
        return;
    sess = SSL_get1_session(u->sock.ssl);
    if (sess == NULL)
        return;
    if (SSL_SESSION_is_resumable(sess)) {
        SSL_SESSION_free(u->pool->session);
        u->pool->session = sess;
    } else {
        SSL_SESSION_free(sess);
    }
}

static void up_close(struct upstream *u)
{
    if (u->state == UP_CLOSING)
        return;
    keep_session(u);
    if (u->state == UP_IDLE)
        idle_unlink(u);
    else
        u->pool->n_busy--;
    u->state = UP_CLOSING;
    up_done(u);
    uv_close((uv_handle_t *)&u->timer, up_handle_closed);
    sock_close(&u->sock);
}

static void on_timer(uv_timer_t *t)
{
    struct upstream *u = t->data;
    if (u->state == UP_IDLE) {
        up_close(u);
        return;
    }
    if (u->client)
        relay_upstream_failed(u, u->state == UP_CONNECTING ? UPF_CONNECT_TIMEOUT
                                                           : UPF_RESPONSE_TIMEOUT);
    else
        up_close(u);
}

void upstream_timer(struct upstream *u, uint64_t ms)
{
    if (u->state == UP_CLOSING)
        return;
    if (ms)
        uv_timer_start(&u->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&u->timer);
}

static void up_on_connect(struct sock *s, int status)
{
    struct upstream *u = (struct upstream *)s;
    if (u->client == NULL) {
        up_close(u);
        return;
    }
    if (status < 0) {
        snprintf(u->why, sizeof(u->why), "%s", uv_strerror(status));
        relay_upstream_failed(u, UPF_CONNECT);
        return;
    }
    uv_tcp_nodelay(&u->sock.tcp, 1);
    if (u->sock.flags & SOCK_TLS) {
        sock_start_read(&u->sock); /* the handshake: on_handshake or an error follows */
        sock_pump(&u->sock);
        return;
    }
    server_connect_ok(u->pool->st);
    u->state = UP_BUSY;
    uv_timer_stop(&u->timer);
    relay_upstream_ready(u);
}

static void up_on_handshake(struct sock *s)
{
    struct upstream *u = (struct upstream *)s;
    if (u->client == NULL) {
        up_close(u);
        return;
    }
    server_connect_ok(u->pool->st);
    u->state = UP_BUSY;
    uv_timer_stop(&u->timer);
    relay_upstream_ready(u);
}

static void up_on_data(struct sock *s)
{
    struct upstream *u = (struct upstream *)s;
    if (u->state == UP_IDLE || u->client == NULL) {
        up_close(u); /* the backend spoke or closed while pooled: never reuse it */
        return;
    }
    if (u->state == UP_CONNECTING) {
        if (!(s->flags & (SOCK_ERROR | SOCK_EOF)))
            return;
        if (s->ssl == NULL) { /* plain TCP reports its connect through up_on_connect */
            relay_upstream_failed(u, UPF_CONNECT);
            return;
        }
        tls_client_verify_error(s->ssl, u->tls_name, u->why, sizeof(u->why));
        relay_upstream_failed(u, UPF_TLS); /* the TLS handshake failed */
        return;
    }
    if (s->in.len)
        u->got += 1;
    relay_upstream_data(u);
}

static void up_on_drain(struct sock *s)
{
    struct upstream *u = (struct upstream *)s;
    if (u->client)
        relay_upstream_drain(u);
}

struct upstream *upstream_acquire(struct pool *p, struct conn *c, uint64_t connect_ms, SSL_CTX *tls,
                                  const char *name)
{
    struct upstream *u = p->idle;
    struct sockaddr_storage addr;
    if (u) {
        idle_unlink(u);
        p->n_busy++;
        u->state = UP_BUSY;
        u->client = c;
        atomic_fetch_add(&p->st->inflight, 1);
        u->reused = 1;
        u->head_done = 0;
        u->got = 0;
        uv_timer_stop(&u->timer);
        return u;
    }
    if (server_addr(p->st, &addr) < 0)
        return NULL;
    u = calloc(1, sizeof(*u));
    if (u == NULL)
        return NULL;
    if (sock_init(&u->sock, &p->w->loop, &p->w->sl, &up_events, u, UPSTREAM_HEAD_MAX) < 0) {
        free(u);
        return NULL;
    }
    u->w = p->w;
    u->pool = p;
    u->client = c;
    atomic_fetch_add(&p->st->inflight, 1);
    u->handles = 1;
    uv_timer_init(&p->w->loop, &u->timer);
    u->timer.data = u;
    u->handles++;
    u->state = UP_CONNECTING;
    p->n_busy++;
    if (tls) {
        SSL *ssl = SSL_new(tls);
        if (ssl == NULL || tls_client_prepare(ssl, name) < 0) {
            SSL_free(ssl);
            up_close(u);
            return NULL;
        }
        snprintf(u->tls_name, sizeof(u->tls_name), "%s", name);
        if (p->session)
            SSL_set_session(ssl, p->session);
        sock_set_tls(&u->sock, ssl, 0);
    }
    if (sock_connect(&u->sock, (const struct sockaddr *)&addr) < 0) {
        up_close(u);
        return NULL;
    }
    upstream_timer(u, connect_ms);
    return u;
}

void upstream_release(struct upstream *u, int reusable)
{
    struct pool *p = u->pool;
    if (!reusable || u->state != UP_BUSY || p->w->draining || p->n_idle >= p->max_idle ||
        (u->sock.flags & (SOCK_EOF | SOCK_ERROR)) || u->sock.in.len) {
        up_close(u);
        return;
    }
    p->n_busy--;
    u->state = UP_IDLE;
    up_done(u);
    buf_free(&u->sock.in); /* a pooled connection keeps no read buffer */
    u->next = p->idle;
    u->prev = NULL;
    if (p->idle)
        p->idle->prev = u;
    p->idle = u;
    p->n_idle++;
    sock_start_read(&u->sock); /* notice a close by the backend while pooled */
    upstream_timer(u, p->idle_ms);
}

void pool_close_idle(struct pool *p)
{
    while (p->idle)
        up_close(p->idle);
}

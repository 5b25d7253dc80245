#include "core/conn.h"
#include "core/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "core/runtime.h"
#include "core/worker.h"
#include "proxy/pipeline.h"
#include "tls/tls_server.h"

#define CONN_IN_MIN (64 * 1024)

static void conn_on_data(struct sock *s);
static void conn_on_handshake(struct sock *s);
static void conn_on_drain(struct sock *s);
static void conn_on_closed(struct sock *s);

static const struct sock_events conn_events = {
    .on_data = conn_on_data,
    .on_handshake = conn_on_handshake,
    .on_drain = conn_on_drain,
    .on_closed = conn_on_closed,
};

uint64_t conn_now(const struct conn *c)
{
    return uv_now(c->w ? &c->w->loop : NULL);
}

static void conn_free(struct conn *c)
{
    struct worker *w = c->w;
    proxy_exchange_free(c);
    conn_cert_set(c, NULL, NULL);
    free(c->sni);
    atomic_fetch_sub(&c->l->conns, 1);
    atomic_fetch_sub(&c->rt->metrics->connections_open, 1);
    if (c->next)
        c->next->prev = c->prev;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    w->n_conns--;
    runtime_unref(c->rt);
    free(c);
    worker_conn_gone(w);
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles == 0)
        conn_free(c);
}

static void conn_on_closed(struct sock *s)
{
    struct conn *c = (struct conn *)s;
    if (--c->handles == 0)
        conn_free(c);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->closed)
        return;
    switch (c->state) {
    case CONN_HANDSHAKE:
    case CONN_IDLE:
        conn_close(c, 0);
        break;
    case CONN_HEAD:
    case CONN_ACTIVE:
        proxy_on_timeout(c);
        break;
    case CONN_WAIT: /* a safety net: ask again (the cache or a new query answers) */
        conn_resume(c);
        break;
    case CONN_CLOSING:
        conn_close(c, 0);
        break;
    }
}

static uint64_t state_timeout(const struct conn *c, enum conn_state st)
{
    const struct cfg_timeouts *t = &c->l->cfg->timeouts;
    switch (st) {
    case CONN_HANDSHAKE:
        return t->handshake;
    case CONN_IDLE:
        return c->w->draining && !c->l->cfg->admin ? 1 : t->idle;
    case CONN_HEAD:
        return t->header;
    case CONN_ACTIVE:
        return proxy_active_timeout(c); /* a stalled or too slow request body */
    case CONN_WAIT:
        return 15000; /* longer than any OCSP query: the answer normally wakes us first */
    default:
        return 0;
    }
}

void conn_touch(struct conn *c)
{
    uint64_t ms = state_timeout(c, c->state);
    if (ms && !c->closed)
        uv_timer_start(&c->timer, on_timer, ms, 0);
}

void conn_timer_stop(struct conn *c)
{
    uv_timer_stop(&c->timer);
}

void conn_set_state(struct conn *c, enum conn_state st)
{
    if (c->state == st)
        return;
    c->state = st;
    if (st == CONN_CLOSING) {
        if (!c->closed)
            uv_timer_stop(&c->timer);
    } else {
        conn_touch(c);
    }
}

void conn_wait_revocation(struct conn *c)
{
    sock_stop_read(&c->sock);
    conn_set_state(c, CONN_WAIT);
}

void conn_resume(struct conn *c)
{
    if (c->state != CONN_WAIT || c->closed)
        return;
    conn_set_state(c, CONN_IDLE);
    sock_start_read(&c->sock);
    proxy_on_data(c);
}

int conn_write(struct conn *c, const void *data, size_t len)
{
    if (c->closed)
        return -1;
    return sock_write(&c->sock, data, len);
}

void conn_close(struct conn *c, int graceful)
{
    if (c->closed)
        return;
    c->closed = 1;
    conn_set_state(c, CONN_CLOSING);
    proxy_on_close(c);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    if (graceful)
        sock_shutdown(&c->sock);
    else
        sock_close(&c->sock);
}

static void conn_on_handshake(struct sock *s)
{
    struct conn *c = (struct conn *)s;
    struct tls_peer p;
    tls_server_peer(s->ssl, &p);
    atomic_fetch_add(&c->rt->metrics->handshakes_total, 1);
    if (SSL_session_reused(s->ssl))
        atomic_fetch_add(&c->rt->metrics->handshakes_resumed, 1);
    hist_observe(&c->rt->metrics->handshake_seconds, (conn_now(c) - c->accept_ms) * 1000u);
    if (p.sni)
        c->sni = strdup(p.sni);
    if (p.leaf && c->cert.leaf == NULL) {
        X509_up_ref(p.leaf);
        c->cert.leaf = p.leaf;
        c->cert.chain = p.chain ? X509_chain_up_ref(p.chain) : NULL;
    }
    if (c->cert.leaf)
        c->cert.id_ok = certgate_identity_from_x509(c->cert.leaf, &c->cert.id) == 0;
    conn_set_state(c, CONN_IDLE);
}

/* Move to the worker's newest config generation, so that a reload applies
 * to every request from now on, on old connections too. Returns -1 when
 * the connection's listener is gone from the new config. */
/* What was derived from the certificate under the current config: encoded
 * header values (per forward header) and the gate's validated chain. */
static void cert_forget_derived(struct conn *c)
{
    if (c->cert.values) {
        for (size_t i = 0; i < c->l->cfg->forward.n_headers; i++)
            free(c->cert.values[i]);
        free(c->cert.values);
        c->cert.values = NULL;
    }
    sk_X509_pop_free(c->cert.validated, X509_free);
    c->cert.validated = NULL;
}

/* The plaintext input bound: room for the largest head, never under 64 KiB. */
static size_t in_max_of(const struct cfg_listener *l)
{
    return l->limits.header_bytes > CONN_IN_MIN ? l->limits.header_bytes : CONN_IN_MIN;
}

void conn_cert_set(struct conn *c, X509 *leaf, STACK_OF(X509) *chain)
{
    cert_forget_derived(c);
    X509_free(c->cert.leaf);
    sk_X509_pop_free(c->cert.chain, X509_free);
    certgate_identity_free(&c->cert.id);
    memset(&c->cert, 0, sizeof(c->cert));
    c->cert.leaf = leaf;
    c->cert.chain = chain;
    if (leaf)
        c->cert.id_ok = certgate_identity_from_x509(leaf, &c->cert.id) == 0;
}

int conn_follow_config(struct conn *c)
{
    struct runtime *rt = c->w->rt;
    if (c->rt == rt)
        return 0;
    struct rt_listener *nl = NULL;
    for (size_t i = 0; i < rt->n_listeners; i++)
        if (strcmp(rt->listeners[i].cfg->name, c->l->cfg->name) == 0 &&
            strcmp(rt->listeners[i].cfg->address, c->l->cfg->address) == 0 &&
            rt->listeners[i].cfg->tls == c->l->cfg->tls)
            nl = &rt->listeners[i];
    if (nl == NULL)
        return -1;
    cert_forget_derived(c); /* forward headers and the gate may have changed */
    size_t in_max = in_max_of(nl->cfg);
    c->sock.in.max = in_max > c->sock.in.len ? in_max : c->sock.in.len;
    atomic_fetch_sub(&c->l->conns, 1);
    atomic_fetch_add(&nl->conns, 1);
    struct runtime *old = c->rt;
    c->rt = runtime_ref(rt);
    c->l = nl;
    runtime_unref(old);
    return 0;
}

static void conn_on_data(struct sock *s)
{
    struct conn *c = (struct conn *)s;
    if (c->closed)
        return;
    if (c->state == CONN_HANDSHAKE) {
        /* still handshaking: only an error or EOF can bring us here */
        if (s->flags & (SOCK_ERROR | SOCK_EOF)) {
            atomic_fetch_add(&c->rt->metrics->handshake_failures_total, 1);
            conn_close(c, 0);
        }
        return;
    }
    proxy_on_data(c);
}

static void conn_on_drain(struct sock *s)
{
    struct conn *c = (struct conn *)s;
    if (!c->closed)
        proxy_on_drain(c);
}

static void peer_name(struct conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    c->peer_ip[0] = 0;
    if (uv_tcp_getpeername(&c->sock.tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    c->peer = ss;
    if (ss.ss_family == AF_INET)
        uv_ip4_name((struct sockaddr_in *)&ss, c->peer_ip, sizeof(c->peer_ip));
    else if (ss.ss_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer_ip, sizeof(c->peer_ip));
}

void conn_accept(struct worker *w, struct rt_listener *rl, uv_stream_t *server)
{
    const struct cfg_listener *l = rl->cfg;
    struct conn *c = calloc(1, sizeof(*c));
    size_t in_max = in_max_of(l);
    if (c == NULL || sock_init(&c->sock, &w->loop, &w->sl, &conn_events, c, in_max) < 0) {
        free(c);
        return;
    }
    c->w = w;
    c->rt = runtime_ref(w->rt);
    c->l = rl;
    c->handles = 1; /* the sock reports once for its own handles */
    uv_timer_init(&w->loop, &c->timer);
    c->timer.data = c;
    c->handles++;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->n_conns++;
    atomic_fetch_add(&rl->conns, 1);
    atomic_fetch_add(&c->rt->metrics->connections_total, 1);
    atomic_fetch_add(&c->rt->metrics->connections_open, 1);
    if (uv_accept(server, (uv_stream_t *)&c->sock.tcp) < 0) {
        conn_close(c, 0);
        return;
    }
    if (atomic_load(&rl->conns) > l->limits.connections) {
        atomic_fetch_add(&c->rt->metrics->connections_refused, 1);
        conn_close(c, 0); /* over the listener's limit: refuse at once */
        return;
    }
    c->accept_ms = conn_now(c);
    uv_tcp_nodelay(&c->sock.tcp, 1);
    /* a client that reads nothing for an idle period while we flush is gone */
    c->sock.flush_ms = l->timeouts.idle ? l->timeouts.idle : 60000;
    peer_name(c);
    c->state = CONN_CLOSING; /* so that the first set_state arms a timer */
    if (rl->tls) {
        SSL *ssl = tls_server_ssl(rl->tls);
        if (ssl == NULL) {
            conn_close(c, 0);
            return;
        }
        SSL_set_app_data(ssl, c); /* the handshake's verdict hook finds us */
        sock_set_tls(&c->sock, ssl, 1);
        conn_set_state(c, CONN_HANDSHAKE);
    } else {
        conn_set_state(c, CONN_IDLE);
    }
    sock_start_read(&c->sock);
}

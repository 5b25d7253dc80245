#include "proxy/relay.h"

#include <stdio.h>
#include <string.h>

#include "core/conn.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/runtime.h"
#include "core/worker.h"
#include "http/http_parse.h"
#include "proxy/pipeline.h"
#include "proxy/respond.h"
#include "upstream/balance.h"
#include "upstream/upstream.h"

/* Past this much queued output, stop reading from the other side. */
#define RELAY_HIGH (256 * 1024)

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static const struct cfg_timeouts *timeouts(struct conn *c)
{
    return &c->l->cfg->timeouts;
}

static uint64_t backend_timeout(struct conn *c, int response)
{
    const struct cfg_backend *b = c->rt->backends[c->ex.backend].cfg;
    uint64_t v = response ? b->timeouts.response : b->timeouts.connect;
    if (v == 0)
        v = response ? timeouts(c)->response : timeouts(c)->connect;
    return v ? v : (response ? 60000 : 5000);
}

/* Start the exchange on a server of the backend (never <avoid>, -1: any). A
 * new connection when <fresh> (the pooled one just failed). */
static void acquire(struct conn *c, int fresh, int avoid)
{
    struct exchange *ex = &c->ex;
    struct rt_backend *b = &c->rt->backends[ex->backend];
    char why[300];
    int i = balance_pick(b, avoid, why, sizeof(why));
    if (i < 0) {
        respond_error(c, 503, "NoHealthyBackend", why);
        return;
    }
    ex->server = i;
    struct rt_server *srv = &b->servers[i];
    struct pool *p = worker_pool(c->w, b->cfg->name, srv);
    if (p == NULL) {
        respond_error(c, 502, "BadGateway", "out of memory");
        return;
    }
    p->max_idle = b->cfg->pool.max_idle;
    p->idle_ms = b->cfg->pool.idle_timeout_ms ? b->cfg->pool.idle_timeout_ms : 30000;
    if (fresh)
        pool_close_idle(p);
    if (b->cfg->pool.max_connections && p->idle == NULL &&
        p->n_busy >= b->cfg->pool.max_connections) {
        respond_error(c, 503, "BackendBusy",
                      "every connection this worker may open to the backend is in use");
        return;
    }
    ex->up =
        upstream_acquire(p, c, backend_timeout(c, 0), srv->cfg->tls ? b->tls : NULL, srv->tls_name);
    if (ex->up == NULL)
        respond_error(c, 502, "BadGateway", "no connection to the backend could be started");
    else if (ex->up->state == UP_BUSY)
        relay_upstream_ready(ex->up);
}

/* The exchange with the backend is over (answered or failed): time it. */
static void upstream_done(struct conn *c)
{
    struct exchange *ex = &c->ex;
    if (ex->up_start_ms && !ex->up_ms) {
        ex->up_ms = conn_now(c) - ex->up_start_ms + 1; /* +1: 0 means "not ended" */
        hist_observe(c->rt->backends[ex->backend].upstream_hist, (ex->up_ms - 1) * 1000u);
    }
}

void relay_start(struct conn *c)
{
    conn_timer_stop(c);
    c->ex.up_start_ms = conn_now(c);
    acquire(c, 0, -1);
}

static void finish(struct conn *c, int reusable)
{
    struct exchange *ex = &c->ex;
    struct upstream *u = ex->up;
    ex->up = NULL;
    upstream_done(c);
    if (u)
        upstream_release(u, reusable && ex->req_done);
    ex->resp_done = 1;
    if (!ex->req_done)
        ex->close_after = 1;
    sock_start_read(&c->sock);
    proxy_response_done(c);
}

/* Before any response byte reached the client an error can still be told. */
static void fail(struct conn *c, int status, const char *code, const char *detail)
{
    struct exchange *ex = &c->ex;
    struct upstream *u = ex->up;
    ex->up = NULL;
    upstream_done(c);
    if (u)
        upstream_release(u, 0);
    atomic_fetch_add(&c->rt->metrics->upstream_errors_total, 1);
    if (!ex->resp_started) {
        respond_error(c, status, code, detail);
        return;
    }
    conn_close(c, 0); /* mid-response: only cutting the connection tells the client */
}

/* Read the client's body while the backend keeps up; the body clock does not run while the
 * backend holds it back. */
static void body_flow(struct conn *c, int flowing)
{
    struct exchange *ex = &c->ex;
    uint64_t now = conn_now(c);
    if (flowing) {
        if (ex->body_pause_since) {
            ex->body_paused_ms += now - ex->body_pause_since;
            ex->body_pause_since = 0;
        }
        sock_start_read(&c->sock);
    } else {
        if (!ex->body_pause_since && !ex->req_done)
            ex->body_pause_since = now;
        sock_stop_read(&c->sock);
    }
    if (!ex->req_done)
        conn_touch(c); /* the deadline depends on the bytes read and on the pause */
}

void relay_client_body(struct conn *c)
{
    struct exchange *ex = &c->ex;
    struct upstream *u = ex->up;
    struct buf *in = &c->sock.in;
    if (u == NULL || u->state != UP_BUSY || ex->req_done)
        return;
    if (in->len) {
        long n = http_body_feed(&ex->reqbody, in->data, in->len, NULL, NULL);
        if (n < 0) {
            ex->keep_alive = 0;
            fail(c, 400, "BadRequest", "the request body's chunked framing is invalid");
            return;
        }
        if (n > 0 && sock_write(&u->sock, in->data, (size_t)n) < 0) {
            fail(c, 502, "BadGateway", "the backend closed the connection");
            return;
        }
        ex->req_bytes += (uint64_t)n;
        buf_consume(in, (size_t)n);
    }
    if (ex->reqbody.done) {
        ex->req_done = 1;
        conn_timer_stop(c);
        upstream_timer(u, backend_timeout(c, 1));
    }
    body_flow(c, u->sock.wpending <= RELAY_HIGH);
}

void relay_upstream_ready(struct upstream *u)
{
    struct conn *c = u->client;
    struct exchange *ex = &c->ex;
    if (sock_write(&u->sock, ex->up_head.data, ex->up_head.len) < 0) {
        fail(c, 502, "BadGateway", "the backend connection failed");
        return;
    }
    if (!ex->req_done && ex->reqbody.kind != HTTP_BODY_NONE && ex->body_start_ms == 0)
        ex->body_start_ms = conn_now(c); /* the body can flow from now on */
    if (ex->expect_continue && !ex->req_done && !ex->sent_continue) {
        ex->sent_continue = 1;
        conn_write(c, continue_100, sizeof(continue_100) - 1);
    }
    sock_start_read(&u->sock);
    if (ex->req_done)
        upstream_timer(u, backend_timeout(c, 1));
    else
        conn_touch(c);
    proxy_on_data(c); /* body bytes already buffered go out now */
}

/* RFC 9110 9.2.2: only these may be sent twice (a body-less POST may not). */
static int idempotent(const char *m)
{
    static const char *const ok[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", NULL};
    for (const char *const *p = ok; *p; p++)
        if (strcmp(m, *p) == 0)
            return 1;
    return 0;
}

void relay_upstream_failed(struct upstream *u, enum upstream_failure why)
{
    struct conn *c = u->client;
    struct exchange *ex = &c->ex;
    const struct rt_backend *b = &c->rt->backends[ex->backend];
    const char *url = b->servers[ex->server].cfg->url;
    char detail[512];
    int connecting = why == UPF_CONNECT || why == UPF_CONNECT_TIMEOUT;
    if (connecting &&
        server_connect_failed(u->pool->st, b->cfg->passive.max_fails,
                              b->cfg->passive.fail_timeout_ms ? b->cfg->passive.fail_timeout_ms
                                                              : 10000))
        log_msg("warn", "backend '%s' server %s: %d connect failures in a row, not used for %llums",
                b->cfg->name, url, b->cfg->passive.max_fails,
                (unsigned long long)(b->cfg->passive.fail_timeout_ms
                                         ? b->cfg->passive.fail_timeout_ms
                                         : 10000));
    /* nothing was sent: an idempotent request may go to another server, once */
    if (connecting && !ex->resp_started && !ex->retried && idempotent(ex->method) &&
        b->n_servers > 1) {
        ex->up = NULL;
        upstream_release(u, 0);
        ex->retried = 1;
        acquire(c, 0, ex->server);
        return;
    }
    /* a pooled connection the backend had closed: retry once on a new one */
    if (why == UPF_CLOSED && u->reused && u->got == 0 && !ex->resp_started && !ex->retried &&
        ex->reqbody.kind == HTTP_BODY_NONE && idempotent(ex->method)) {
        ex->up = NULL;
        upstream_release(u, 0);
        ex->retried = 1;
        acquire(c, 1, -1);
        return;
    }
    switch (why) {
    case UPF_CONNECT:
        snprintf(detail, sizeof(detail), "the backend server %s cannot be reached (%s)", url,
                 u->why[0] ? u->why : "connection failed");
        break;
    case UPF_CONNECT_TIMEOUT:
        snprintf(detail, sizeof(detail),
                 "the backend server %s did not accept the connection in time", url);
        break;
    case UPF_TLS:
        snprintf(detail, sizeof(detail), "TLS to the backend server %s failed: %s", url, u->why);
        log_msg("error", "backend '%s' server %s: TLS failed: %s", b->cfg->name, url, u->why);
        break;
    case UPF_RESPONSE_TIMEOUT:
        snprintf(detail, sizeof(detail), "the backend server %s did not answer in time", url);
        break;
    default: {
        char what[96] = "closed the connection";
        if (u->sock.err)
            snprintf(what, sizeof(what), "broke the connection (%s)", uv_strerror(u->sock.err));
        snprintf(detail, sizeof(detail), "the backend server %s %s", url, what);
        log_msg("warn", "backend '%s' server %s %s before answering %s%s (%s connection, %s)",
                b->cfg->name, url, what, ex->method, ex->retried ? " on its retry" : "",
                u->reused ? "pooled" : "new",
                u->got ? "part of a head received" : "nothing received");
    }
    }
    if (why == UPF_CONNECT_TIMEOUT || why == UPF_RESPONSE_TIMEOUT)
        fail(c, 504, "GatewayTimeout", detail);
    else
        fail(c, 502, "BadGateway", detail);
}

static int hop_by_hop_response(const struct http_header *h)
{
    return http_name_eq(h, "connection") || http_name_eq(h, "keep-alive") ||
           http_name_eq(h, "proxy-connection") || http_name_eq(h, "te") ||
           http_name_eq(h, "upgrade") || http_name_eq(h, "transfer-encoding");
}

static int send_head(struct conn *c, struct upstream *u)
{
    struct exchange *ex = &c->ex;
    const struct http_response *r = &u->resp;
    struct buf b;
    if (r->body == HTTP_BODY_UNTIL_EOF)
        ex->close_after = 1;
    if (r->body == HTTP_BODY_CHUNKED && ex->client_minor == 0) {
        ex->chunked_to_10 = 1; /* HTTP/1.0 has no chunked: send it plain, end by close */
        ex->close_after = 1;
    }
    if (!ex->keep_alive || c->w->draining)
        ex->close_after = 1;
    buf_init(&b, UPSTREAM_HEAD_MAX + 256);
    buf_printf(&b, "HTTP/1.1 %d ", r->status);
    buf_append(&b, r->reason, r->reason_len);
    buf_puts(&b, "\r\n");
    for (size_t i = 0; i < r->num_headers; i++) {
        const struct http_header *h = &r->headers[i];
        if (hop_by_hop_response(h))
            continue;
        buf_append(&b, h->name, h->name_len);
        buf_puts(&b, ": ");
        buf_append(&b, h->value, h->value_len);
        buf_puts(&b, "\r\n");
    }
    if (r->body == HTTP_BODY_CHUNKED && !ex->chunked_to_10)
        buf_puts(&b, "Transfer-Encoding: chunked\r\n");
    if (r->status == 101)
        buf_puts(&b, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
    else if (ex->close_after)
        buf_puts(&b, "Connection: close\r\n");
    int rc = buf_puts(&b, "\r\n");
    if (rc == 0)
        rc = conn_write(c, b.data, b.len);
    buf_free(&b);
    ex->status = r->status;
    ex->resp_started = 1;
    buf_free(&ex->up_head); /* no retry after this point */
    return rc;
}

static void write_decoded(void *arg, const char *data, size_t len)
{
    struct conn *c = arg;
    conn_write(c, data, len);
}

/* Returns 1 when the response head is through (or the exchange ended). */
static int read_response_head(struct conn *c, struct upstream *u)
{
    struct buf *in = &u->sock.in;
    struct http_limits lim = {8192, UPSTREAM_HEAD_MAX, UPSTREAM_MAX_HEADERS};
    for (;;) {
        memset(&u->resp, 0, sizeof(u->resp));
        u->resp.headers = u->hdrs;
        u->resp.max_headers = UPSTREAM_MAX_HEADERS;
        int r = http_parse_response(in->data, in->len, &lim, c->ex.is_head, &u->resp);
        if (r == HTTP_INCOMPLETE) {
            if (u->sock.flags & (SOCK_EOF | SOCK_ERROR))
                relay_upstream_failed(u, UPF_CLOSED);
            else if (in->len >= UPSTREAM_HEAD_MAX)
                fail(c, 502, "BadGateway", "the backend's response head is too large");
            return 0;
        }
        if (r < 0 || (u->resp.status == 101 && !c->ex.upgrade)) {
            fail(c, 502, "BadGateway", "the backend sent an invalid response");
            return 0;
        }
        if (u->resp.status == 101) {
            /* the WebSocket is accepted: from here on both directions are raw bytes */
            c->ex.keep_alive = 0;
            if (send_head(c, u) < 0) {
                conn_close(c, 0);
                return 0;
            }
            buf_consume(in, (size_t)r);
            u->head_done = 1;
            c->ex.tunnel = 1;
            upstream_timer(u, 0);
            conn_touch(c);
            proxy_on_data(c); /* frames the client sent early */
            return 1;
        }
        if (u->resp.status < 200) {
            buf_consume(in, (size_t)r); /* interim responses: we sent our own 100 */
            continue;
        }
        if (send_head(c, u) < 0) {
            conn_close(c, 0);
            return 0;
        }
        http_body_init(&u->body, u->resp.body, u->resp.content_length);
        buf_consume(in, (size_t)r);
        u->head_done = 1;
        if (!c->ex.req_done)
            conn_touch(c); /* the body deadline no longer applies: back to timeouts.idle */
        return 1;
    }
}

/* WebSocket: the backend's bytes to the client as they come. */
static void tunnel_from_upstream(struct conn *c, struct upstream *u)
{
    struct buf *in = &u->sock.in;
    do {
        if (in->len) {
            if (conn_write(c, in->data, in->len) < 0) {
                conn_close(c, 0);
                return;
            }
            c->ex.resp_bytes += in->len;
            buf_consume(in, in->len);
            conn_touch(c);
        }
        if (u->sock.flags & (SOCK_EOF | SOCK_ERROR)) {
            conn_close(c, 1); /* what was queued for the client still goes */
            return;
        }
        if (c->sock.wpending > RELAY_HIGH) {
            sock_stop_read(&u->sock);
            return;
        }
        sock_start_read(&u->sock);
    } while (sock_fill(&u->sock));
}

void relay_tunnel_client(struct conn *c)
{
    struct upstream *u = c->ex.up;
    struct sock *s = &c->sock;
    if (u == NULL) {
        conn_close(c, 0);
        return;
    }
    do {
        if (s->in.len) {
            if (sock_write(&u->sock, s->in.data, s->in.len) < 0) {
                conn_close(c, 0);
                return;
            }
            c->ex.req_bytes += s->in.len;
            buf_consume(&s->in, s->in.len);
            conn_touch(c);
        }
        if (s->flags & (SOCK_EOF | SOCK_ERROR)) {
            conn_close(c, 0);
            return;
        }
        if (u->sock.wpending > RELAY_HIGH) {
            sock_stop_read(s);
            return;
        }
        sock_start_read(s);
    } while (sock_fill(s));
}

void relay_upstream_data(struct upstream *u)
{
    struct conn *c = u->client;
    struct exchange *ex = &c->ex;
    struct buf *in = &u->sock.in;
    if (in->len && !ex->tunnel)
        upstream_timer(u, backend_timeout(c, 1));
    if (!u->head_done && !read_response_head(c, u))
        return;
    if (c->closed || ex->up != u)
        return;
    if (ex->tunnel) {
        tunnel_from_upstream(c, u);
        return;
    }
    long n =
        http_body_feed(&u->body, in->data, in->len, ex->chunked_to_10 ? write_decoded : NULL, c);
    if (n < 0) {
        conn_close(c, 0);
        return;
    }
    if (n > 0 && !ex->chunked_to_10 && conn_write(c, in->data, (size_t)n) < 0) {
        conn_close(c, 0);
        return;
    }
    ex->resp_bytes += (uint64_t)n;
    buf_consume(in, (size_t)n);
    if (u->body.done) {
        int reusable = u->resp.keep_alive && in->len == 0 && !(u->sock.flags & SOCK_EOF);
        upstream_timer(u, 0);
        finish(c, reusable);
        return;
    }
    if (u->sock.flags & (SOCK_EOF | SOCK_ERROR)) {
        if (u->body.kind == HTTP_BODY_UNTIL_EOF && !(u->sock.flags & SOCK_ERROR)) {
            finish(c, 0);
            return;
        }
        conn_close(c, 0); /* truncated response: the client must not take it as whole */
        return;
    }
    if (c->sock.wpending > RELAY_HIGH) {
        /* the client does not read: stop reading the backend, which is not late, and give
         * the client timeouts.idle to make room (else the connection is cut) */
        sock_stop_read(&u->sock);
        upstream_timer(u, 0);
        conn_touch(c);
        return;
    }
    sock_fill(&u->sock);
}

void relay_upstream_drain(struct upstream *u)
{
    struct conn *c = u->client;
    if (c && !c->closed) {
        sock_start_read(&c->sock);
        proxy_on_data(c);
    }
}

void relay_client_drain(struct conn *c)
{
    struct upstream *u = c->ex.up;
    if (u && u->head_done) {
        if (!c->ex.tunnel) {
            conn_timer_stop(c); /* the client reads again: the backend's clock runs */
            upstream_timer(u, backend_timeout(c, 1));
        }
        sock_start_read(&u->sock);
        if (u->sock.in.len || c->ex.tunnel)
            relay_upstream_data(u);
    }
}

void relay_abort(struct conn *c)
{
    struct upstream *u = c->ex.up;
    c->ex.up = NULL;
    if (u)
        upstream_release(u, 0);
}

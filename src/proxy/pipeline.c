#include "proxy/pipeline.h"

#include <string.h>

#include "core/conn.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/worker.h"
#include "http/http_parse.h"
#include "proxy/relay.h"
#include "proxy/request.h"
#include "proxy/respond.h"

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void parse_error(struct conn *c, int r)
{
    struct exchange *ex = &c->ex;
    ex->keep_alive = 0;
    ex->close_after = 1;
    snprintf(ex->method, sizeof(ex->method), "-");
    switch (r) {
    case HTTP_ERR_TOO_LONG_LINE:
        respond_error(c, 414, "URITooLong", "the request line is longer than this listener allows");
        break;
    case HTTP_ERR_TOO_LARGE:
        respond_error(c, 431, "RequestHeaderFieldsTooLarge",
                      "the request head has more bytes or fields than this listener allows");
        break;
    case HTTP_ERR_VERSION:
        respond_error(c, 505, "HTTPVersionNotSupported", "only HTTP/1.0 and HTTP/1.1 are served");
        break;
    case HTTP_ERR_NOT_IMPLEMENTED:
        respond_error(c, 501, "NotImplemented", "only the chunked transfer coding is supported");
        break;
    default:
        respond_error(c, 400, "BadRequest", "the request is not valid HTTP/1.1");
        break;
    }
}

/* Read a request head; returns 1 if an exchange started. */
static int read_head(struct conn *c)
{
    struct sock *s = &c->sock;
    if (s->in.len == 0) {
        /* a clean end between requests (FIN, close_notify) is answered in kind, after
         * whatever answer is still queued; only a broken connection is dropped */
        if (s->flags & SOCK_ERROR)
            conn_close(c, 0);
        else if (s->flags & SOCK_EOF)
            conn_close(c, 1);
        else if (c->state == CONN_IDLE)
            buf_free(&s->in); /* an idle connection keeps no read buffer (16 KiB or more) */
        return 0;
    }
    if (c->state == CONN_IDLE) {
        if (conn_follow_config(c) < 0) {
            conn_close(c, 0); /* its listener left the configuration */
            return 0;
        }
        memset(&c->ex, 0, sizeof(c->ex));
        c->ex.start_ms = conn_now(c);
        c->ex.keep_alive = 1;
        conn_set_state(c, CONN_HEAD);
    }
    const struct cfg_limits *lim = &c->l->cfg->limits; /* after a config switch */
    struct http_limits hl = {lim->request_line, lim->header_bytes, lim->headers};
    struct http_request req = {.headers = worker_headers(c->w, lim->headers ? lim->headers : 1),
                               .max_headers = lim->headers};
    if (req.headers == NULL) {
        conn_close(c, 0);
        return 0;
    }
    int r = http_parse_request(s->in.data, s->in.len, &hl, &req);
    if (r == HTTP_INCOMPLETE) {
        if (s->flags & (SOCK_EOF | SOCK_ERROR))
            conn_close(c, 0);
        return 0;
    }
    conn_set_state(c, CONN_ACTIVE);
    if (r < 0) {
        parse_error(c, r);
        return 0;
    }
    request_begin(c, &req);
    return 1;
}

static void local_body(void *arg, const char *data, size_t len)
{
    struct exchange *ex = arg;
    if (ex->local_body)
        ex->local_body(ex, data, len);
}

/* A body for certgate itself (echo): decode and hand it over. */
static void read_local_body(struct conn *c)
{
    struct exchange *ex = &c->ex;
    struct buf *in = &c->sock.in;
    if (ex->expect_continue && !ex->sent_continue) {
        ex->sent_continue = 1;
        conn_write(c, continue_100, sizeof(continue_100) - 1);
    }
    long n = http_body_feed(&ex->reqbody, in->data, in->len, local_body, ex);
    if (n < 0) {
        ex->req_done = 1;
        ex->keep_alive = 0;
        respond_error(c, 400, "BadRequest", "the request body's chunked framing is invalid");
        return;
    }
    ex->req_bytes += (uint64_t)n;
    buf_consume(in, (size_t)n);
    conn_touch(c);
    if (ex->reqbody.done) {
        ex->req_done = 1;
        if (ex->local_done)
            ex->local_done(c);
    }
}

/* Answers queued to a client that does not read stop the next request. */
#define CLIENT_OUT_HIGH (1024 * 1024)

static void proxy_loop(struct conn *c)
{
    struct sock *s = &c->sock;
    /* input is bounded (s->in and one socket read in the TLS BIO), so this ends */
    while (!c->closed) {
        struct exchange *ex = &c->ex;
        if (c->state == CONN_IDLE || c->state == CONN_HEAD) {
            if (s->wpending > CLIENT_OUT_HIGH) {
                sock_stop_read(s);
                return;
            }
            if (!read_head(c) && !(c->state == CONN_ACTIVE))
                goto fill;
            continue;
        }
        if (c->state != CONN_ACTIVE)
            return;
        if (ex->tunnel) {
            relay_tunnel_client(c);
            return;
        }
        if (!ex->req_done) {
            if (ex->target == EX_UPSTREAM)
                relay_client_body(c);
            else if (ex->target == EX_LOCAL && s->in.len)
                read_local_body(c);
            if (c->closed)
                return;
            if (!ex->req_done && (s->flags & (SOCK_EOF | SOCK_ERROR)) && s->in.len == 0) {
                conn_close(c, 0); /* the client gave up mid-body */
                return;
            }
        } else if ((s->flags & SOCK_ERROR) && !ex->resp_done) {
            conn_close(c, 0); /* the client is gone (reset, failed write): stop the backend too */
            return;
        } else if ((s->flags & SOCK_EOF) && !ex->resp_done && s->in.len == 0) {
            /* half-closed after its last request: answer it, then close (requests still
             * buffered behind this one are answered first) */
            ex->close_after = 1;
        }
    fill:
        if (c->closed || !sock_fill(s))
            return;
    }
}

void proxy_on_data(struct conn *c)
{
    if (c->busy)
        return;
    c->busy = 1;
    proxy_loop(c);
    c->busy = 0;
}

void proxy_on_drain(struct conn *c)
{
    if (c->ex.target == EX_UPSTREAM && c->ex.up) {
        relay_client_drain(c);
        return;
    }
    if (c->state == CONN_IDLE || c->state == CONN_HEAD) {
        sock_start_read(&c->sock);
        proxy_on_data(c);
    }
}

/* When the body read so far is due, or 0 while the body clock is not running (no body, not
 * flowing yet, complete, or paused by the backend's backpressure). */
static uint64_t body_deadline(const struct conn *c)
{
    const struct exchange *ex = &c->ex;
    const struct cfg_listener *l = c->l->cfg;
    if (ex->body_start_ms == 0 || ex->req_done || ex->resp_started || ex->body_pause_since ||
        !l->limits.body_min_rate)
        return 0; /* once the backend answers, the exchange is its to pace */
    return ex->body_start_ms + ex->body_paused_ms + l->timeouts.body +
           ex->req_bytes * 1000 / l->limits.body_min_rate;
}

uint64_t proxy_active_timeout(const struct conn *c)
{
    uint64_t idle = c->l->cfg->timeouts.idle, due = body_deadline(c), now = conn_now(c);
    if (due == 0)
        return idle;
    if (due <= now)
        return 1;
    return due - now < idle ? due - now : idle;
}

void proxy_on_timeout(struct conn *c)
{
    struct exchange *ex = &c->ex;
    if (c->state == CONN_HEAD || (c->state == CONN_ACTIVE && !ex->resp_started)) {
        uint64_t due = c->state == CONN_ACTIVE ? body_deadline(c) : 0;
        char detail[160] = "the request was not received in time";
        if (due && due <= conn_now(c)) {
            snprintf(detail, sizeof(detail),
                     "the request body arrived slower than %zu bytes per second",
                     c->l->cfg->limits.body_min_rate);
            atomic_fetch_add(&c->rt->metrics->slow_bodies, 1);
        }
        if (c->state == CONN_HEAD)
            snprintf(ex->method, sizeof(ex->method), "-");
        ex->keep_alive = 0;
        respond_error(c, 408, "RequestTimeout", detail);
        return;
    }
    conn_close(c, 0);
}

/* The route's response counter and the listener's duration histogram (not for a WebSocket:
 * a session of hours is no request latency). */
static void count_response(struct conn *c)
{
    struct exchange *ex = &c->ex;
    if (ex->status >= 100 && ex->status < 600) {
        if (ex->route && c->l->route_m)
            atomic_fetch_add(
                &c->l->route_m[ex->route - c->l->cfg->routes]->responses[ex->status / 100], 1);
    }
    if (!ex->tunnel)
        hist_observe(c->l->request_hist, (conn_now(c) - ex->start_ms) * 1000u);
}

void proxy_on_close(struct conn *c)
{
    if (c->ex.up)
        relay_abort(c);
    if (c->ex.tunnel) { /* a WebSocket's line is written when it ends: bytes and duration */
        count_response(c);
        log_access(c);
        c->ex.tunnel = 0;
    }
}

void proxy_exchange_free(struct conn *c)
{
    struct exchange *ex = &c->ex;
    EVP_MD_CTX_free(ex->sha);
    ex->sha = NULL;
    buf_free(&ex->echo);
    buf_free(&ex->up_head);
}

void proxy_response_done(struct conn *c)
{
    struct exchange *ex = &c->ex;
    count_response(c);
    log_access(c);
    int again = ex->keep_alive && !ex->close_after && ex->req_done && !c->w->draining &&
                !(c->sock.flags & SOCK_ERROR) &&
                !((c->sock.flags & SOCK_EOF) && c->sock.in.len == 0);
    proxy_exchange_free(c);
    if (!again) {
        conn_close(c, 1);
        return;
    }
    memset(ex, 0, sizeof(*ex));
    conn_set_state(c, CONN_IDLE);
    if (c->sock.in.len == 0)
        buf_free(&c->sock.in); /* idle: no read buffer kept (a relayed answer ends here) */
    /* a pipelined request may already be buffered: outside the read loop
     * (a backend just finished) nobody else would look at it */
    if (!c->busy && c->sock.in.len)
        proxy_on_data(c);
}

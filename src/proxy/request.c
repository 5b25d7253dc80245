#include "proxy/request.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin/admin.h"
#include "core/conn.h"
#include "core/runtime.h"
#include "core/worker.h"
#include "http/http_parse.h"
#include "proxy/echo.h"
#include "proxy/forward.h"
#include "proxy/header_source.h"
#include "proxy/relay.h"
#include "proxy/respond.h"
#include "proxy/verdict.h"

static const char *const verify_failed[CERTGATE_REASON_MAX] = {
    [CERTGATE_NOT_FOUND] = "FAILED:ClientCertificateNotFound",
    [CERTGATE_MALFORMED] = "FAILED:ClientCertificateMalformed",
    [CERTGATE_NOT_YET_VALID] = "FAILED:ClientCertificateNotYetValid",
    [CERTGATE_EXPIRED] = "FAILED:ClientCertificateExpired",
    [CERTGATE_NOT_TRUSTED] = "FAILED:ClientCertificateNotTrusted",
    [CERTGATE_REVOKED] = "FAILED:ClientCertificateRevoked",
    [CERTGATE_REVOCATION_UNKNOWN] = "FAILED:ClientCertificateRevocationUnknown",
    [CERTGATE_IDENTITY_NOT_MATCHED] = "FAILED:ClientCertificateIdentityNotMatched",
};

/* X-Client-Cert-Verify: SUCCESS, FAILED:<ReasonCode> or NONE (SPEC §5). */
static const char *verify_string(enum certgate_reason r, int have_cert)
{
    if (!have_cert)
        return "NONE";
    if (r == CERTGATE_OK || r >= CERTGATE_REASON_MAX)
        return "SUCCESS";
    return verify_failed[r];
}

/* Host without its port, for comparing with SNI and route hosts. */
static size_t host_len(const char *h, size_t len)
{
    if (len && h[0] == '[') {
        const char *e = memchr(h, ']', len);
        return e ? (size_t)(e - h) + 1 : len;
    }
    const char *colon = memchr(h, ':', len);
    return colon ? (size_t)(colon - h) : len;
}

static const struct cfg_route *route_find(const struct cfg_listener *l,
                                          const struct http_request *req, const char *path,
                                          size_t plen)
{
    const char *host = req->host ? req->host->value : "";
    size_t hlen = req->host ? host_len(req->host->value, req->host->value_len) : 0;
    for (size_t i = 0; i < l->n_routes; i++) {
        const struct cfg_route *r = &l->routes[i];
        if (r->host && (strlen(r->host) != hlen || strncasecmp(r->host, host, hlen) != 0))
            continue;
        if (r->path_prefix) {
            size_t n = strlen(r->path_prefix);
            if (n > plen || memcmp(r->path_prefix, path, n) != 0)
                continue;
        }
        return r;
    }
    return NULL;
}

/* SPEC §3 modes, then the route's policy. Returns the reason to reject with
 * (and in *by the policy that decided it), or CERTGATE_OK; *verify gets
 * what X-Client-Cert-Verify will say. */
static enum certgate_reason decide(struct conn *c, const struct cfg_route *route,
                                   const char **verify, const struct rt_policy **by, char *detail,
                                   size_t dlen)
{
    const struct cfg_client_auth *ca = &c->l->cfg->client_auth;
    const struct rt_policy *gate = c->l->gate;
    const struct rt_policy *rp = route->policy ? runtime_policy(c->rt, route->policy) : NULL;
    int have = c->cert.leaf != NULL;
    enum certgate_reason g = CERTGATE_OK;
    detail[0] = 0;
    *by = gate;
    if (have && gate)
        g = verdict_of(c, gate, detail, dlen);
    *verify = verify_string(g, have);
    if (c->l->cfg->client_cert.from_header && gate) {
        /* a trusted gateway's header: like require, but policy none bypasses */
        if (route->policy_none)
            return CERTGATE_OK;
        if (!have)
            return verdict_of(c, gate, detail, dlen);
        if (g != CERTGATE_OK)
            return g;
        if (rp == NULL || rp == gate)
            return CERTGATE_OK;
        *by = rp;
        return verdict_of(c, rp, detail, dlen);
    }
    if (!c->l->cfg->tls || ca->mode == CA_IGNORE || gate == NULL) {
        if (route->policy_none || rp == NULL)
            return CERTGATE_OK;
        *by = rp;
        return verdict_of(c, rp, detail, dlen);
    }
    if (ca->mode == CA_REQUIRE || ca->mode == CA_OPTIONAL) {
        if (!have && ca->mode == CA_REQUIRE)
            return verdict_of(c, gate, detail, dlen);
        if (have && g != CERTGATE_OK)
            return g;
        if (route->policy_none || rp == NULL || rp == gate)
            return CERTGATE_OK;
        *by = rp;
        return verdict_of(c, rp, detail, dlen);
    }
    /* request: the route decides; policy none lets everything through */
    if (route->policy_none)
        return CERTGATE_OK;
    if (rp == NULL || rp == gate) {
        if (!have)
            return verdict_of(c, gate, detail, dlen);
        return g;
    }
    *by = rp;
    return verdict_of(c, rp, detail, dlen);
}

/* xfcc_mode: append keeps the XFCC a trusted proxy sent; remember it before the strip. */
static void xfcc_keep(struct conn *c, const struct http_request *req)
{
    const struct cfg_forward *f = &c->l->cfg->forward;
    const struct cfg_client_cert *cc = &c->l->cfg->client_cert;
    c->ex.xfcc_in = NULL;
    c->ex.xff_in = NULL;
    if (!header_source_trusted(&c->peer, cc->trusted_proxies, cc->n_trusted_proxies))
        return;
    /* a trusted proxy's X-Forwarded-For names the real client: extend it, do not replace it */
    for (size_t j = 0; j < req->num_headers; j++)
        if (http_name_eq(&req->headers[j], "x-forwarded-for") && req->headers[j].value_len) {
            c->ex.xff_in = req->headers[j].value;
            c->ex.xff_in_len = req->headers[j].value_len;
        }
    for (size_t i = 0; i < f->n_headers; i++) {
        if (f->headers[i].format != FWD_XFCC || !f->headers[i].xfcc_append)
            continue;
        for (size_t j = 0; j < req->num_headers; j++)
            if (strip_name_match(req->headers[j].name, req->headers[j].name_len,
                                 "x-forwarded-client-cert") &&
                req->headers[j].value_len) {
                c->ex.xfcc_in = req->headers[j].value; /* the head stays until forwarded */
                c->ex.xfcc_in_len = req->headers[j].value_len;
            }
    }
}

static int host_matches_sni(const struct conn *c, const struct http_request *req)
{
    if (c->sni == NULL || req->host == NULL)
        return 1;
    size_t n = host_len(req->host->value, req->host->value_len);
    return strlen(c->sni) == n && strncasecmp(c->sni, req->host->value, n) == 0;
}

static void copy_for_log(struct exchange *ex, const struct http_request *req)
{
    size_t n = req->method_len < sizeof(ex->method) - 1 ? req->method_len : sizeof(ex->method) - 1;
    memcpy(ex->method, req->method, n);
    ex->method[n] = 0;
    n = req->target_len < sizeof(ex->target_path) - 1 ? req->target_len
                                                      : sizeof(ex->target_path) - 1;
    memcpy(ex->target_path, req->target, n);
    ex->target_path[n] = 0;
}

static int emit_head(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct buf *b = arg;
    if (buf_append(b, name, nlen) < 0 || buf_append(b, ": ", 2) < 0 ||
        buf_append(b, value, vlen) < 0 || buf_append(b, "\r\n", 2) < 0)
        return -1;
    return 0;
}

/* Does header <name> hold the comma-separated token <tok>, in any case? */
static int has_token(const struct http_request *req, const char *name, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (!http_name_eq(h, name))
            continue;
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                p++;
            const char *t = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t')
                p++;
            if ((size_t)(p - t) == tl && strncasecmp(t, tok, tl) == 0)
                return 1;
        }
    }
    return 0;
}

/* RFC 6455 4.1: a GET with Upgrade: websocket and Connection: upgrade, no body. Other
 * upgrades (h2c, TLS) are not tunnelled: the Upgrade header is dropped as hop-by-hop. */
static int websocket_upgrade(const struct http_request *req)
{
    return req->upgrade && req->minor == 1 && req->body == HTTP_BODY_NONE && req->method_len == 3 &&
           memcmp(req->method, "GET", 3) == 0 && has_token(req, "upgrade", "websocket") &&
           has_token(req, "connection", "upgrade");
}

static int build_upstream_head(struct conn *c, const struct http_request *req, int with_cert,
                               const char *verify)
{
    struct buf *b = &c->ex.up_head;
    buf_init(b, c->l->cfg->limits.header_bytes + 64 * 1024);
    if (buf_append(b, req->method, req->method_len) < 0 || buf_append(b, " ", 1) < 0 ||
        forward_target(req, b) < 0 || buf_puts(b, " HTTP/1.1\r\n") < 0)
        return -1;
    if (forward_emit(c, req, with_cert, verify, emit_head, b) < 0)
        return -1;
    if (c->ex.upgrade && buf_puts(b, "Connection: Upgrade\r\nUpgrade: websocket\r\n") < 0)
        return -1;
    return buf_append(b, "\r\n", 2);
}

void request_begin(struct conn *c, struct http_request *req)
{
    struct exchange *ex = &c->ex;
    size_t head_len = req->head_len;
    char detail[320];
    const char *verify = "NONE";

    c->requests++;
    atomic_fetch_add(&c->rt->metrics->requests_total, 1);
    copy_for_log(ex, req);
    ex->is_head = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
    ex->client_minor = req->minor;
    ex->keep_alive = req->keep_alive && !c->w->draining;
    http_body_init(&ex->reqbody, req->body, req->content_length);
    ex->req_done = req->body == HTTP_BODY_NONE;
    ex->upgrade = websocket_upgrade(req);

    if (c->l->cfg->client_cert.from_header) {
        if (header_source_take(c, req, detail, sizeof(detail)) < 0) {
            buf_consume(&c->sock.in, head_len);
            respond_reject(c, CERTGATE_MALFORMED, verdict_status(c->l->gate, CERTGATE_MALFORMED),
                           detail);
            return;
        }
        xfcc_keep(c, req);
    }
    /* SPEC §5: nothing the client sent may pose as certgate's own headers */
    strip_apply(&c->l->strip, req->headers, req->num_headers);
    forward_mark_hop_by_hop(req);

    const char *path;
    size_t plen;
    int add_slash;
    forward_target_view(req, &path, &plen, &add_slash);
    if (add_slash) {
        path = "/"; /* "http://host?q": only the root matches */
        plen = 1;
    }
    if (c->l->cfg->admin) {
        admin_handle(c, req, path, plen); /* consumes nothing it needs later */
        buf_consume(&c->sock.in, head_len);
        return;
    }
    if (c->l->cfg->tls && c->l->cfg->client_auth.mode != CA_IGNORE && !host_matches_sni(c, req)) {
        buf_consume(&c->sock.in, head_len);
        respond_error(c, 421, "MisdirectedRequest",
                      "the Host header names a different server than the TLS connection (SNI)");
        return;
    }
    const struct cfg_route *route = route_find(c->l->cfg, req, path, plen);
    if (route == NULL) {
        buf_consume(&c->sock.in, head_len);
        respond_error(c, 404, "NotFound", "no route of this listener matches the request");
        return;
    }
    ex->route = route;
    const struct rt_policy *by = NULL;
    enum certgate_reason r = decide(c, route, &verify, &by, detail, sizeof(detail));
    if (r == VERDICT_PENDING) {
        /* the head stays buffered and is read again on the answer: count it then */
        c->requests--;
        atomic_fetch_sub(&c->rt->metrics->requests_total, 1);
        conn_wait_revocation(c);
        return;
    }
    ex->verify = verify;
    if ((by != NULL || r != CERTGATE_OK) && (size_t)r < METRICS_REASONS) {
        struct route_metrics *rm = c->l->route_m[route - c->l->cfg->routes];
        ex->judged = 1;
        ex->reason = r;
        atomic_fetch_add(&rm->verdicts[r], 1);
    }
    if (r != CERTGATE_OK) {
        if (r == CERTGATE_NOT_FOUND && ex->untrusted_header) {
            size_t n = strlen(detail);
            snprintf(detail + n, sizeof(detail) - n,
                     " (a %s header from %s was ignored: that address is not in trusted_proxies)",
                     c->l->cfg->client_cert.header, c->peer_ip);
        }
        buf_consume(&c->sock.in, head_len);
        respond_reject(c, r, verdict_status(by, r), detail);
        return;
    }
    const struct cfg_backend *be = route->backend;
    if (be == NULL || be->builtin_echo) {
        echo_begin(c, req, verify);
        buf_consume(&c->sock.in, head_len);
        return;
    }
    ex->backend = runtime_backend_index(c->rt, be);
    if (ex->backend < 0 || build_upstream_head(c, req, 1, verify) < 0) {
        buf_consume(&c->sock.in, head_len);
        respond_error(c, 500, "InternalError", "the request could not be prepared for the backend");
        return;
    }
    ex->expect_continue = req->expect_continue;
    buf_consume(&c->sock.in, head_len);
    ex->target = EX_UPSTREAM;
    relay_start(c);
}

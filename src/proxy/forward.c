#include "proxy/forward.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conn.h"
#include "http/http_parse.h"
#include "core/runtime.h"
#include "proxy/verdict.h"
#include <certgate/policy.h>
#include <stdio.h>

static const char *const hop_by_hop[] = {
    "connection",      "keep-alive",        "proxy-connection", "te", "upgrade", "expect",
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", NULL,
};

/* Never dropped because a Connection header named them: framing and routing. */
static int protected_name(const struct http_header *h)
{
    return http_name_eq(h, "host") || http_name_eq(h, "content-length") ||
           http_name_eq(h, "transfer-encoding");
}

static int token_names(const char *tok, size_t tlen, const struct http_header *h)
{
    return tlen == h->name_len && strncasecmp(tok, h->name, tlen) == 0;
}

void forward_mark_hop_by_hop(struct http_request *req)
{
    for (size_t i = 0; i < req->num_headers; i++) {
        struct http_header *h = &req->headers[i];
        for (const char *const *n = hop_by_hop; *n; n++)
            if (http_name_eq(h, *n))
                h->removed = 1;
        if (!http_name_eq(h, "connection"))
            continue;
        /* every token of Connection names another hop-by-hop header */
        const char *p = h->value, *end = h->value + h->value_len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                p++;
            const char *t = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t')
                p++;
            if (p == t)
                continue;
            for (size_t j = 0; j < req->num_headers; j++)
                if (token_names(t, (size_t)(p - t), &req->headers[j]) &&
                    !protected_name(&req->headers[j]))
                    req->headers[j].removed = 1;
        }
    }
}

void forward_target_view(const struct http_request *req, const char **path, size_t *len,
                         int *add_slash)
{
    const char *t = req->target, *end = req->target + req->target_len;
    *add_slash = 0;
    if (t == end || t[0] == '/' || t[0] == '*' ||
        !(req->target_len > 7 &&
          (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0))) {
        *path = t;
        *len = req->target_len;
        return;
    }
    const char *p = memchr(t, ':', req->target_len) + 3;
    while (p < end && *p != '/' && *p != '?')
        p++;
    *add_slash = p == end || *p == '?';
    *path = p;
    *len = (size_t)(end - p);
}

int forward_target(const struct http_request *req, struct buf *out)
{
    const char *p;
    size_t n;
    int slash;
    forward_target_view(req, &p, &n, &slash);
    if (slash && buf_append(out, "/", 1) < 0)
        return -1;
    return buf_append(out, p, n);
}

static int emit_str(forward_emit_fn emit, void *arg, const char *name, const char *value)
{
    if (name == NULL || name[0] == 0 || value == NULL)
        return 0;
    return emit(arg, name, strlen(name), value, strlen(value));
}

/* The chain a backend is told about (SPEC §5: Client-Cert-Chain and XFCC's Chain): the
 * validated one (leaf first, up to the anchor), computed once per certificate. A chain
 * that did not validate (or was never judged) is not vouched for: none is sent, and the
 * client's extra certificates never reach the backend under that name. */
static STACK_OF(X509) *validated_chain(struct conn *c)
{
    verdict_chain(c, c->l->gate);
    return c->cert.validated;
}

static const char *cert_value(struct conn *c, size_t i)
{
    const struct cfg_forward *f = &c->l->cfg->forward;
    if (c->cert.values == NULL) {
        c->cert.values = calloc(f->n_headers, sizeof(char *));
        if (c->cert.values == NULL)
            return NULL;
    }
    if (c->cert.values[i] != NULL)
        return c->cert.values[i];
    if (f->headers[i].format == FWD_XFCC)
        c->cert.values[i] = certgate_encode_xfcc(c->cert.leaf, validated_chain(c), c->l->own_uri);
    else
        c->cert.values[i] =
            certgate_encode(c->cert.leaf, (enum certgate_format)f->headers[i].format);
    return c->cert.values[i];
}

/* xfcc_mode: append — the trusted proxy's elements, then ours after a ','. */
static int emit_xfcc_append(struct conn *c, const char *name, const char *ours,
                            forward_emit_fn emit, void *arg)
{
    struct buf b;
    buf_init(&b, c->ex.xfcc_in_len + strlen(ours) + 2);
    int rc = buf_append(&b, c->ex.xfcc_in, c->ex.xfcc_in_len) < 0 || buf_puts(&b, ",") < 0 ||
                     buf_puts(&b, ours) < 0
                 ? -1
                 : emit(arg, name, strlen(name), b.data, b.len);
    buf_free(&b);
    return rc;
}

static int emit_cert(struct conn *c, forward_emit_fn emit, void *arg)
{
    const struct cfg_forward *f = &c->l->cfg->forward;
    for (size_t i = 0; i < f->n_headers; i++) {
        const struct cfg_fwd_header *fh = &f->headers[i];
        if (fh->name == NULL || fh->name[0] == 0)
            continue;
        const char *v = cert_value(c, i);
        int r = fh->format == FWD_XFCC && fh->xfcc_append && c->ex.xfcc_in && v
                    ? emit_xfcc_append(c, fh->name, v, emit, arg)
                    : emit_str(emit, arg, fh->name, v);
        if (r < 0)
            return -1;
        if (fh->format == FWD_RFC9440 && fh->chain) {
            char *cv = certgate_encode_rfc9440_chain(validated_chain(c));
            char hname[300];
            snprintf(hname, sizeof(hname), "%s-Chain", fh->name); /* Client-Cert-Chain */
            r = (cv && cv[0]) ? emit_str(emit, arg, hname, cv) : 0;
            free(cv);
            if (r < 0)
                return -1;
        }
    }
    const struct cfg_identity_headers *ih = &f->identity;
    const struct certgate_identity *id = &c->cert.id;
    if (!c->cert.id_ok)
        return 0;
    if (emit_str(emit, arg, ih->subject, id->subject) < 0 ||
        emit_str(emit, arg, ih->issuer, id->issuer) < 0 ||
        emit_str(emit, arg, ih->serial, id->serial) < 0 ||
        emit_str(emit, arg, ih->sha1, id->sha1) < 0 ||
        emit_str(emit, arg, ih->sha256, id->sha256) < 0 ||
        emit_str(emit, arg, ih->not_before, id->not_before) < 0 ||
        emit_str(emit, arg, ih->not_after, id->not_after) < 0)
        return -1;
    return 0;
}

int forward_emit(struct conn *c, const struct http_request *req, int with_cert, const char *verify,
                 forward_emit_fn emit, void *arg)
{
    int cl_sent = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (h->removed)
            continue;
        if (http_name_eq(h, "content-length")) {
            /* "5, 5" or two equal lines were accepted as one length: the backend gets one
             * value, so that it cannot read the framing another way */
            char v[24];
            int n = snprintf(v, sizeof(v), "%llu", (unsigned long long)req->content_length);
            if (!cl_sent && req->body == HTTP_BODY_LENGTH &&
                emit(arg, "Content-Length", 14, v, (size_t)n) < 0)
                return -1;
            cl_sent = 1;
            continue;
        }
        if (emit(arg, h->name, h->name_len, h->value, h->value_len) < 0)
            return -1;
    }
    struct buf xff;
    buf_init(&xff, c->ex.xff_in_len + INET6_ADDRSTRLEN + 4);
    if (c->ex.xff_in) /* after a trusted proxy: its list, then the proxy itself */
        buf_append(&xff, c->ex.xff_in, c->ex.xff_in_len);
    if (xff.len)
        buf_puts(&xff, ", ");
    buf_puts(&xff, c->peer_ip);
    int rc = emit(arg, "X-Forwarded-For", 15, xff.data, xff.len);
    buf_free(&xff);
    if (rc < 0 || emit_str(emit, arg, "X-Forwarded-Proto", c->l->tls ? "https" : "http") < 0)
        return -1;
    if (req->host && emit(arg, "X-Forwarded-Host", 16, req->host->value, req->host->value_len) < 0)
        return -1;
    if (with_cert && c->cert.leaf && emit_cert(c, emit, arg) < 0)
        return -1;
    return emit_str(emit, arg, c->l->cfg->forward.identity.verify, verify);
}

#include "proxy/echo.h"

#include <stdio.h>
#include <string.h>

#include "core/conn.h"
#include "proxy/forward.h"
#include "proxy/respond.h"

#define ECHO_MAX (1024 * 1024)

static int emit_json(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct buf *b = arg;
    if (b->len && b->data[b->len - 1] != '[')
        buf_puts(b, ",");
    buf_puts(b, "[\"");
    buf_json_escape(b, name, nlen);
    buf_puts(b, "\",\"");
    buf_json_escape(b, value, vlen);
    return buf_puts(b, "\"]");
}

static void put_field(struct buf *b, const char *key, const char *v)
{
    buf_printf(b, ",\"%s\":\"", key);
    buf_json_escape(b, v, strlen(v));
    buf_puts(b, "\"");
}

static void echo_body(void *arg, const char *data, size_t len)
{
    struct exchange *ex = arg;
    EVP_DigestUpdate(ex->sha, data, len);
}

static void echo_done(struct conn *c)
{
    struct exchange *ex = &c->ex;
    unsigned char md[32];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(ex->sha, md, &mdlen);
    buf_printf(&ex->echo, ",\"body_bytes\":%llu,\"body_sha256\":\"",
               (unsigned long long)ex->req_bytes);
    for (unsigned i = 0; i < mdlen; i++)
        buf_printf(&ex->echo, "%02x", md[i]);
    buf_puts(&ex->echo, "\"}\n");
    respond(c, 200, "application/json", ex->echo.data, ex->echo.len);
}

void echo_begin(struct conn *c, const struct http_request *req, const char *verify)
{
    struct exchange *ex = &c->ex;
    struct buf *b = &ex->echo;
    buf_init(b, ECHO_MAX);
    ex->target = EX_LOCAL;
    ex->sha = EVP_MD_CTX_new();
    if (ex->sha == NULL || EVP_DigestInit_ex(ex->sha, EVP_sha256(), NULL) != 1) {
        respond_error(c, 500, "InternalError", "out of memory");
        return;
    }
    buf_puts(b, "{\"method\":\"");
    buf_json_escape(b, req->method, req->method_len);
    buf_puts(b, "\",\"target\":\"");
    struct buf t;
    buf_init(&t, req->target_len + 1);
    forward_target(req, &t);
    buf_json_escape(b, t.data, t.len);
    buf_free(&t);
    buf_puts(b, "\",\"headers\":[");
    forward_emit(c, req, 1, verify, emit_json, b);
    buf_puts(b, "],\"client\":{");
    buf_printf(b, "\"verify\":\"%s\"", verify);
    if (c->cert.leaf && c->cert.id_ok) {
        const struct certgate_identity *id = &c->cert.id;
        put_field(b, "subject", id->subject);
        put_field(b, "issuer", id->issuer);
        put_field(b, "serial", id->serial);
        put_field(b, "sha1", id->sha1);
        put_field(b, "sha256", id->sha256);
        put_field(b, "not_before", id->not_before);
        put_field(b, "not_after", id->not_after);
    }
    buf_puts(b, "}");
    ex->local_body = echo_body;
    ex->local_done = echo_done;
    if (ex->req_done)
        echo_done(c);
}

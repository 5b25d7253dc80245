#include "proxy/respond.h"

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/worker.h"
#include "proxy/pipeline.h"

const char *respond_reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 421:
        return "Misdirected Request";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

void respond(struct conn *c, int status, const char *content_type, const char *body, size_t len)
{
    struct exchange *ex = &c->ex;
    struct buf b;
    if (c->closed)
        return;
    if (!ex->req_done || c->w->draining)
        ex->close_after = 1; /* an unread body or a drain ends the connection */
    if (!ex->keep_alive)
        ex->close_after = 1;
    buf_init(&b, 4096 + len);
    buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n", status,
               respond_reason_phrase(status), content_type, len);
    if (ex->close_after)
        buf_puts(&b, "Connection: close\r\n");
    buf_puts(&b, "Cache-Control: no-store\r\n\r\n");
    if (!ex->is_head)
        buf_append(&b, body, len);
    ex->status = status;
    ex->resp_started = 1;
    ex->resp_bytes = ex->is_head ? 0 : len;
    conn_write(c, b.data, b.len);
    buf_free(&b);
    ex->resp_done = 1;
    proxy_response_done(c);
}

void respond_error(struct conn *c, int status, const char *code, const char *detail)
{
    struct buf b;
    buf_init(&b, 2048);
    buf_puts(&b, "{\"error\":\"");
    buf_json_escape(&b, code, strlen(code));
    buf_puts(&b, "\",\"detail\":\"");
    buf_json_escape(&b, detail, strlen(detail));
    buf_puts(&b, "\"}\n");
    respond(c, status, "application/json", b.data, b.len);
    buf_free(&b);
}

void respond_reject(struct conn *c, enum certgate_reason r, int status, const char *detail)
{
    c->ex.reason = r;
    if ((size_t)r < METRICS_REASONS)
        atomic_fetch_add(&c->rt->metrics->rejections_by_reason[r], 1);
    log_reject(c, r, detail);
    respond_error(c, status, certgate_reason_code(r), detail);
}

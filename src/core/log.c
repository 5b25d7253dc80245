#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "core/conn.h"

static void put_time(struct buf *b)
{
    struct timespec ts;
    struct tm tm;
    char t[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
    buf_printf(b, "{\"time\":\"%s.%03ldZ\"", t, ts.tv_nsec / 1000000);
}

static void put_str(struct buf *b, const char *key, const char *v)
{
    buf_printf(b, ",\"%s\":\"", key);
    buf_json_escape(b, v ? v : "", v ? strlen(v) : 0);
    buf_puts(b, "\"");
}

/* One write(2) per line keeps lines whole across worker threads. */
static void emit(int fd, struct buf *b)
{
    buf_puts(b, "}\n");
    ssize_t off = 0;
    while ((size_t)off < b->len) {
        ssize_t n = write(fd, b->data + off, b->len - (size_t)off);
        if (n <= 0)
            break;
        off += n;
    }
    buf_free(b);
}

static void put_client(struct buf *b, struct conn *c)
{
    put_str(b, "listener", c->l->cfg->name);
    put_str(b, "remote", c->peer_ip);
    if (c->cert.leaf && c->cert.id_ok) {
        put_str(b, "client_subject", c->cert.id.subject);
        put_str(b, "client_sha256", c->cert.id.sha256);
    }
}

void log_access(struct conn *c)
{
    if (!c->rt->cfg->log.access || c->l->cfg->admin)
        return;
    struct buf b;
    struct exchange *ex = &c->ex;
    buf_init(&b, 8192);
    put_time(&b);
    put_client(&b, c);
    put_str(&b, "method", ex->method);
    put_str(&b, "target", ex->target_path);
    buf_printf(&b, ",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,\"ms\":%llu", ex->status,
               (unsigned long long)ex->req_bytes, (unsigned long long)ex->resp_bytes,
               (unsigned long long)(conn_now(c) - ex->start_ms));
    if (ex->verify)
        put_str(&b, "verify", ex->verify);
    if (ex->reason != CERTGATE_OK)
        put_str(&b, "reason", certgate_reason_code(ex->reason));
    emit(STDOUT_FILENO, &b);
}

void log_reject(struct conn *c, enum certgate_reason r, const char *detail)
{
    struct buf b;
    buf_init(&b, 8192);
    put_time(&b);
    put_str(&b, "level", "warn");
    put_str(&b, "msg", "client certificate rejected");
    put_str(&b, "reason", certgate_reason_code(r));
    put_str(&b, "detail", detail);
    put_client(&b, c);
    emit(STDERR_FILENO, &b);
}

void log_msg(const char *level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct buf b;
    buf_init(&b, 4096);
    put_time(&b);
    put_str(&b, "level", level);
    put_str(&b, "msg", msg);
    emit(STDERR_FILENO, &b);
}

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config_types.h"
#include "core/conn.h"
#include "core/runtime.h"
#include "core/worker.h"

#define FLUSH_AT    (64 * 1024)       /* write at once past this much */
#define PENDING_MAX (4 * 1024 * 1024) /* past this, lines are dropped and counted */
#define FLUSH_MS    100

/* The log targets: descriptors whose numbers never change once set (a reopen dup2()s onto
 * them), paths (NULL: stdout / stderr) and the error log's level. Written by the main thread
 * only; workers read the descriptors. */
static atomic_int access_fd = -1, error_fd = -1;
static char *access_path, *errors_path;
static atomic_int min_level = LOG_INFO;

static int level_of(const char *s)
{
    return strcmp(s, "debug") == 0   ? LOG_DEBUG
           : strcmp(s, "warn") == 0  ? LOG_WARN
           : strcmp(s, "error") == 0 ? LOG_ERROR
                                     : LOG_INFO;
}

static int fd_of(atomic_int *fd, int dflt)
{
    int v = atomic_load(fd);
    return v >= 0 ? v : dflt;
}

/* Make <*fd> refer to <path> (NULL: <dflt>), keeping its number once it has one. */
static int point(atomic_int *fd, const char *path, int dflt, char *err, size_t errlen)
{
    int nfd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640) : dup(dflt);
    if (nfd < 0) {
        snprintf(err, errlen, "cannot open log file '%s': %s", path ? path : "-", strerror(errno));
        return -1;
    }
    int cur = atomic_load(fd);
    if (cur < 0) {
        atomic_store(fd, nfd);
        return 0;
    }
    if (dup2(nfd, cur) < 0) {
        snprintf(err, errlen, "cannot switch the log to '%s': %s", path ? path : "-",
                 strerror(errno));
        close(nfd);
        return -1;
    }
    close(nfd);
    return 0;
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

int log_configure(const struct cfg_log *lg, char *err, size_t errlen)
{
    atomic_store(&min_level, lg->level);
    if (atomic_load(&access_fd) < 0 || !same(access_path, lg->access_path)) {
        if (point(&access_fd, lg->access_path, STDOUT_FILENO, err, errlen) < 0)
            return -1;
        free(access_path);
        access_path = lg->access_path ? strdup(lg->access_path) : NULL;
    }
    if (atomic_load(&error_fd) < 0 || !same(errors_path, lg->errors_path)) {
        if (point(&error_fd, lg->errors_path, STDERR_FILENO, err, errlen) < 0)
            return -1;
        free(errors_path);
        errors_path = lg->errors_path ? strdup(lg->errors_path) : NULL;
    }
    return 0;
}

void log_reopen(void)
{
    char err[300];
    if (access_path && point(&access_fd, access_path, STDOUT_FILENO, err, sizeof(err)) < 0)
        log_msg("error", "%s", err);
    if (errors_path && point(&error_fd, errors_path, STDERR_FILENO, err, sizeof(err)) < 0)
        log_msg("error", "%s", err);
    log_msg("info", "log files reopened");
}

/* ---- lines ---- */

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

/* One write(2) per line keeps lines whole across threads. */
static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        p += n;
        len -= (size_t)n;
    }
}

static void emit_error(struct buf *b)
{
    buf_puts(b, "}\n");
    write_all(fd_of(&error_fd, STDERR_FILENO), b->data, b->len);
    buf_free(b);
}

static void put_client(struct buf *b, struct conn *c)
{
    put_str(b, "listener", c->l->cfg->name);
    put_str(b, "remote", c->peer_ip);
    if (c->cert.leaf && c->cert.id_ok) {
        put_str(b, "client_subject", c->cert.id.subject);
        put_str(b, "client_issuer", c->cert.id.issuer);
        put_str(b, "client_sha256", c->cert.id.sha256);
    }
}

/* ---- the access log, buffered per worker ---- */

static void flush(struct log_buffer *lb);

static void on_written(uv_fs_t *req)
{
    struct log_buffer *lb = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    lb->in_flight = 0;
    if (n > 0)
        lb->written += (size_t)n;
    if (n > 0 && lb->written < lb->writing.len) {
        flush(lb); /* a short write: the rest */
        return;
    }
    lb->writing.len = 0;
    lb->written = 0;
    if (lb->closing) {
        write_all(fd_of(&access_fd, STDOUT_FILENO), lb->pending.data, lb->pending.len);
        lb->pending.len = 0;
        return;
    }
    if (lb->pending.len >= FLUSH_AT)
        flush(lb);
}

static void flush(struct log_buffer *lb)
{
    if (lb->in_flight)
        return;
    if (lb->writing.len == 0) {
        if (lb->pending.len == 0)
            return;
        struct buf t = lb->writing;
        lb->writing = lb->pending;
        lb->pending = t;
        lb->pending.len = 0;
        lb->written = 0;
    }
    uv_buf_t b =
        uv_buf_init(lb->writing.data + lb->written, (unsigned)(lb->writing.len - lb->written));
    lb->req.data = lb;
    if (uv_fs_write(lb->loop, &lb->req, fd_of(&access_fd, STDOUT_FILENO), &b, 1, -1, on_written) ==
        0)
        lb->in_flight = 1;
    else
        lb->writing.len = lb->written = 0; /* the log is broken: nothing to do but go on */
}

static void on_flush_timer(uv_timer_t *t)
{
    flush(t->data);
}

void log_buffer_init(struct log_buffer *lb, uv_loop_t *loop)
{
    memset(lb, 0, sizeof(*lb));
    lb->loop = loop;
    buf_init(&lb->pending, PENDING_MAX + 65536);
    buf_init(&lb->writing, PENDING_MAX + 65536);
    uv_timer_init(loop, &lb->timer);
    lb->timer.data = lb;
}

static void on_timer_closed(uv_handle_t *h)
{
    (void)h;
}

void log_buffer_close(struct log_buffer *lb)
{
    if (lb->closing)
        return;
    lb->closing = 1;
    uv_close((uv_handle_t *)&lb->timer, on_timer_closed);
    if (!lb->in_flight) {
        write_all(fd_of(&access_fd, STDOUT_FILENO), lb->pending.data, lb->pending.len);
        lb->pending.len = 0;
    }
}

/* The verdict for the log: "OK" or the reason code, when a policy judged or refused. */
static const char *verdict_text(const struct exchange *ex)
{
    if (ex->judged && ex->reason == CERTGATE_OK)
        return "OK";
    if (ex->reason != CERTGATE_OK)
        return certgate_reason_code(ex->reason);
    return NULL;
}

void log_access(struct conn *c)
{
    if (!c->rt->cfg->log.access || c->l->cfg->admin)
        return;
    struct log_buffer *lb = &c->w->logbuf;
    struct exchange *ex = &c->ex;
    if (lb->closing || lb->pending.len >= PENDING_MAX) {
        atomic_fetch_add(&c->rt->metrics->log_dropped, 1);
        return;
    }
    struct buf *b = &lb->pending;
    put_time(b);
    put_client(b, c);
    if (ex->route && c->l->route_label)
        put_str(b, "route", c->l->route_label[ex->route - c->l->cfg->routes]);
    if (c->sock.ssl) {
        if (c->sni)
            put_str(b, "sni", c->sni);
        put_str(b, "tls_version", SSL_get_version(c->sock.ssl));
        put_str(b, "cipher", SSL_get_cipher_name(c->sock.ssl));
        buf_printf(b, ",\"resumed\":%s", SSL_session_reused(c->sock.ssl) ? "true" : "false");
    }
    const char *v = verdict_text(ex);
    if (v)
        put_str(b, "verdict", v);
    if (ex->verify)
        put_str(b, "verify", ex->verify);
    put_str(b, "method", ex->method);
    put_str(b, "target", ex->target_path);
    buf_printf(b, ",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,\"ms\":%llu", ex->status,
               (unsigned long long)ex->req_bytes, (unsigned long long)ex->resp_bytes,
               (unsigned long long)(conn_now(c) - ex->start_ms));
    if (ex->up_start_ms) {
        const struct rt_backend *rb = &c->rt->backends[ex->backend];
        if (ex->up_ms)
            buf_printf(b, ",\"upstream_ms\":%llu", (unsigned long long)(ex->up_ms - 1));
        if ((size_t)ex->server < rb->n_servers)
            put_str(b, "upstream", rb->servers[ex->server].cfg->url);
    }
    buf_puts(b, "}\n");
    if (lb->pending.len >= FLUSH_AT)
        flush(lb);
    else if (!uv_is_active((uv_handle_t *)&lb->timer))
        uv_timer_start(&lb->timer, on_flush_timer, FLUSH_MS, 0);
}

void log_reject(struct conn *c, enum certgate_reason r, const char *detail)
{
    struct buf b;
    if (atomic_load(&min_level) > LOG_WARN)
        return;
    buf_init(&b, 8192);
    put_time(&b);
    put_str(&b, "level", "warn");
    put_str(&b, "msg", "client certificate rejected");
    put_str(&b, "reason", certgate_reason_code(r));
    put_str(&b, "detail", detail);
    put_client(&b, c);
    emit_error(&b);
}

void log_msg(const char *level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (level_of(level) < atomic_load(&min_level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct buf b;
    buf_init(&b, 4096);
    put_time(&b);
    put_str(&b, "level", level);
    put_str(&b, "msg", msg);
    emit_error(&b);
}

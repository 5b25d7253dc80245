#include "admin/admin.h"

#include <string.h>

#include "core/conn.h"
#include "core/worker.h"
#include "proxy/respond.h"
#include "revocation/ocsp_service.h"
#include "upstream/servers.h"

static int path_is(const char *path, size_t plen, const char *want)
{
    size_t n = strlen(want);
    return plen >= n && memcmp(path, want, n) == 0 && (plen == n || path[n] == '?');
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label(struct buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            buf_puts(b, "\\n");
        else
            buf_append(b, v, 1);
    }
}

/* One line per backend server of the current generation. */
static void upstream_servers(struct buf *b, const struct runtime *rt)
{
    static const char *const names[] = {"certgate_upstream_server_up",
                                        "certgate_upstream_server_in_flight",
                                        "certgate_upstream_health_probes_total"};
    static const char *const types[] = {"gauge", "gauge", "counter"};
    for (int k = 0; k < 3; k++) {
        buf_printf(b, "# TYPE %s %s\n", names[k], types[k]);
        for (size_t i = 0; i < rt->n_backends; i++) {
            const struct rt_backend *rb = &rt->backends[i];
            for (size_t s = 0; s < rb->n_servers; s++) {
                struct server_state *st = rb->servers[s].st;
                unsigned long long v =
                    k == 0   ? (unsigned long long)server_available(st, servers_now_ms())
                    : k == 1 ? (unsigned long long)atomic_load(&st->inflight)
                             : (unsigned long long)atomic_load(&st->probes);
                buf_printf(b, "%s{backend=\"", names[k]);
                label(b, rb->cfg->name);
                buf_puts(b, "\",server=\"");
                label(b, rb->servers[s].cfg->url);
                buf_printf(b, "\"} %llu\n", v);
            }
        }
    }
}

static void metrics(struct conn *c)
{
    const struct metrics *m = c->rt->metrics;
    struct buf b;
    buf_init(&b, 64 * 1024);
    buf_printf(&b, "# TYPE certgate_connections_total counter\ncertgate_connections_total %lu\n",
               atomic_load(&m->connections_total));
    buf_printf(&b, "# TYPE certgate_connections_open gauge\ncertgate_connections_open %ld\n",
               atomic_load(&m->connections_open));
    buf_printf(&b,
               "# TYPE certgate_tls_handshakes_total counter\ncertgate_tls_handshakes_total %lu\n",
               atomic_load(&m->handshakes_total));
    buf_printf(&b,
               "# TYPE certgate_tls_handshake_failures_total counter\n"
               "certgate_tls_handshake_failures_total %lu\n",
               atomic_load(&m->handshake_failures_total));
    buf_printf(&b, "# TYPE certgate_requests_total counter\ncertgate_requests_total %lu\n",
               atomic_load(&m->requests_total));
    buf_puts(&b, "# TYPE certgate_responses_total counter\n");
    for (int i = 1; i <= 5; i++)
        buf_printf(&b, "certgate_responses_total{class=\"%dxx\"} %lu\n", i,
                   atomic_load(&m->responses_by_class[i]));
    buf_puts(&b, "# TYPE certgate_client_cert_rejections_total counter\n");
    for (int r = 1; r < CERTGATE_REASON_MAX && r < METRICS_REASONS; r++)
        buf_printf(&b, "certgate_client_cert_rejections_total{reason=\"%s\"} %lu\n",
                   certgate_reason_code((enum certgate_reason)r),
                   atomic_load(&m->rejections_by_reason[r]));
    buf_printf(
        &b, "# TYPE certgate_upstream_errors_total counter\ncertgate_upstream_errors_total %lu\n",
        atomic_load(&m->upstream_errors_total));
    buf_printf(&b,
               "# TYPE certgate_verdict_cache_hits_total counter\n"
               "certgate_verdict_cache_hits_total %lu\n"
               "# TYPE certgate_verdict_cache_misses_total counter\n"
               "certgate_verdict_cache_misses_total %lu\n",
               atomic_load(&m->verdict_cache_hits), atomic_load(&m->verdict_cache_misses));
    buf_printf(&b,
               "# TYPE certgate_ocsp_queries_total counter\ncertgate_ocsp_queries_total %llu\n"
               "# TYPE certgate_crl_fetches_total counter\ncertgate_crl_fetches_total %llu\n"
               "# TYPE certgate_revocation_fail_open_total counter\n"
               "certgate_revocation_fail_open_total %lu\n",
               (unsigned long long)ocsp_service_queries(c->rt->ocsp),
               (unsigned long long)crl_service_fetches(c->rt->ocsp),
               atomic_load(&m->revocation_fail_open));
    upstream_servers(&b, c->rt);
    respond(c, 200, "text/plain; version=0.0.4", b.data, b.len);
    buf_free(&b);
}

void admin_handle(struct conn *c, const struct http_request *req, const char *path, size_t plen)
{
    static const char ok[] = "{\"status\":\"ok\"}\n";
    static const char ready[] = "{\"status\":\"ready\"}\n";
    static const char draining[] = "{\"status\":\"draining\"}\n";
    c->ex.target = EX_LOCAL;
    if (!(req->method_len == 3 && memcmp(req->method, "GET", 3) == 0) && !c->ex.is_head) {
        respond_error(c, 405, "MethodNotAllowed", "the admin endpoints answer GET only");
        return;
    }
    if (path_is(path, plen, "/health"))
        respond(c, 200, "application/json", ok, sizeof(ok) - 1);
    else if (path_is(path, plen, "/ready") && !c->w->draining)
        respond(c, 200, "application/json", ready, sizeof(ready) - 1);
    else if (path_is(path, plen, "/ready"))
        respond(c, 503, "application/json", draining, sizeof(draining) - 1);
    else if (path_is(path, plen, "/metrics"))
        metrics(c);
    else
        respond_error(c, 404, "NotFound", "the admin listener serves /health, /ready and /metrics");
}

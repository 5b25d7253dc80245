#include "core/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <certgate/certgate.h>

#include "core/core_types.h"
#include "revocation/ocsp_service.h"
#include "revocation/ocsp_staple.h"
#include "tls/tls_server.h"
#include "tls/tls_staple.h"
#include "upstream/servers.h"

#ifndef CERTGATE_VERSION
#define CERTGATE_VERSION "0.1.0" /* as src/main.c prints it */
#endif

/* upper bounds in microseconds: 0.5 ms .. 10 s */
static const uint64_t bounds_us[HIST_BUCKETS] = {500,     1000,    2500,    5000,    10000,
                                                 25000,   50000,   100000,  250000,  500000,
                                                 1000000, 2500000, 5000000, 10000000};

void metrics_init(struct metrics *m)
{
    uv_mutex_init(&m->lock);
    atomic_store(&m->last_reload_ok, 1);
}

static void free_hists(struct labelled_hist *h)
{
    while (h) {
        struct labelled_hist *next = h->next;
        free(h->label);
        free(h);
        h = next;
    }
}

void metrics_free(struct metrics *m)
{
    for (struct route_metrics *r = m->routes; r;) {
        struct route_metrics *next = r->next;
        free(r->listener);
        free(r->route);
        free(r);
        r = next;
    }
    free_hists(m->request_seconds);
    free_hists(m->upstream_seconds);
    uv_mutex_destroy(&m->lock);
}

struct route_metrics *metrics_route(struct metrics *m, const char *listener, const char *route)
{
    struct route_metrics *r;
    uv_mutex_lock(&m->lock);
    for (r = m->routes; r; r = r->next)
        if (strcmp(r->listener, listener) == 0 && strcmp(r->route, route) == 0)
            goto out;
    r = calloc(1, sizeof(*r));
    if (r && (!(r->listener = strdup(listener)) || !(r->route = strdup(route)))) {
        free(r->listener);
        free(r);
        r = NULL;
    }
    if (r) {
        r->next = m->routes;
        m->routes = r;
    }
out:
    uv_mutex_unlock(&m->lock);
    return r;
}

static struct hist *labelled(struct metrics *m, struct labelled_hist **list, const char *label)
{
    struct labelled_hist *h;
    uv_mutex_lock(&m->lock);
    for (h = *list; h; h = h->next)
        if (strcmp(h->label, label) == 0)
            goto out;
    h = calloc(1, sizeof(*h));
    if (h && !(h->label = strdup(label))) {
        free(h);
        h = NULL;
    }
    if (h) {
        h->next = *list;
        *list = h;
    }
out:
    uv_mutex_unlock(&m->lock);
    return h ? &h->h : NULL;
}

struct hist *metrics_request_hist(struct metrics *m, const char *listener)
{
    return labelled(m, &m->request_seconds, listener);
}

struct hist *metrics_upstream_hist(struct metrics *m, const char *backend)
{
    return labelled(m, &m->upstream_seconds, backend);
}

void hist_observe(struct hist *h, uint64_t us)
{
    int i = 0;
    if (h == NULL)
        return;
    while (i < HIST_BUCKETS && us > bounds_us[i])
        i++;
    atomic_fetch_add_explicit(&h->b[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void metrics_route_label(const char *host, const char *path_prefix, char *out, size_t len)
{
    snprintf(out, len, "%s%s", host ? host : "*", path_prefix ? path_prefix : "/");
}

/* ---- text ---- */

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

static void counter(struct buf *b, const char *name, unsigned long long v, const char *type)
{
    buf_printf(b, "# TYPE %s %s\n%s %llu\n", name, type, name, v);
}

/* One histogram's lines; <lname>=<lvalue> its label, or none when <lname> is NULL. */
static void hist_lines(struct buf *b, const char *name, const char *lname, const char *lvalue,
                       const struct hist *h)
{
    unsigned long long cum = 0;
    for (int i = 0; i <= HIST_BUCKETS; i++) {
        cum += atomic_load(&((struct hist *)h)->b[i]);
        buf_printf(b, "%s_bucket{", name);
        if (lname) {
            buf_printf(b, "%s=\"", lname);
            label(b, lvalue);
            buf_puts(b, "\",");
        }
        if (i < HIST_BUCKETS)
            buf_printf(b, "le=\"%g\"} %llu\n", (double)bounds_us[i] / 1e6, cum);
        else
            buf_printf(b, "le=\"+Inf\"} %llu\n", cum);
    }
    const char *suffix[] = {"_sum", "_count"};
    for (int k = 0; k < 2; k++) {
        buf_printf(b, "%s%s", name, suffix[k]);
        if (lname) {
            buf_printf(b, "{%s=\"", lname);
            label(b, lvalue);
            buf_puts(b, "\"}");
        }
        if (k == 0)
            buf_printf(b, " %.6f\n", (double)atomic_load(&((struct hist *)h)->sum_us) / 1e6);
        else
            buf_printf(b, " %llu\n", (unsigned long long)cum);
    }
}

static void hist_family(struct buf *b, const char *name, const char *lname,
                        const struct labelled_hist *list)
{
    buf_printf(b, "# TYPE %s histogram\n", name);
    for (const struct labelled_hist *h = list; h; h = h->next)
        hist_lines(b, name, lname, h->label, &h->h);
}

static void routes(struct buf *b, struct metrics *m)
{
    uv_mutex_lock(&m->lock);
    buf_puts(b, "# TYPE certgate_responses_total counter\n");
    for (const struct route_metrics *r = m->routes; r; r = r->next)
        for (int i = 1; i <= 5; i++) {
            buf_puts(b, "certgate_responses_total{listener=\"");
            label(b, r->listener);
            buf_puts(b, "\",route=\"");
            label(b, r->route);
            buf_printf(b, "\",class=\"%dxx\"} %lu\n", i, atomic_load(&r->responses[i]));
        }
    buf_puts(b, "# TYPE certgate_verdicts_total counter\n");
    for (const struct route_metrics *r = m->routes; r; r = r->next)
        for (int i = 0; i < CERTGATE_REASON_MAX && i < METRICS_REASONS; i++) {
            unsigned long v = atomic_load(&r->verdicts[i]);
            if (v == 0)
                continue; /* a route sees few of the reasons: only those */
            buf_puts(b, "certgate_verdicts_total{listener=\"");
            label(b, r->listener);
            buf_puts(b, "\",route=\"");
            label(b, r->route);
            buf_printf(b, "\",reason=\"%s\"} %lu\n",
                       i == CERTGATE_OK ? "OK" : certgate_reason_code((enum certgate_reason)i), v);
        }
    hist_family(b, "certgate_request_duration_seconds", "listener", m->request_seconds);
    hist_family(b, "certgate_upstream_duration_seconds", "backend", m->upstream_seconds);
    uv_mutex_unlock(&m->lock);
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

/* tls.ocsp_stapling: 1 while a certificate has a response to staple, 0 otherwise. */
static void staples(struct buf *b, const struct runtime *rt)
{
    time_t now = time(NULL);
    buf_puts(b, "# TYPE certgate_ocsp_staple_valid gauge\n");
    for (size_t i = 0; i < rt->n_listeners; i++) {
        const struct rt_listener *rl = &rt->listeners[i];
        const struct tls_staples *sp = rl->tls ? tls_server_staples(rl->tls) : NULL;
        for (size_t k = 0; k < tls_staples_count(sp); k++) {
            struct ocsp_staple *st = tls_staples_get(sp, k);
            buf_puts(b, "certgate_ocsp_staple_valid{listener=\"");
            label(b, rl->cfg->name);
            buf_puts(b, "\",certificate=\"");
            label(b, ocsp_staple_subject(st));
            buf_puts(b, "\",serial=\"");
            label(b, ocsp_staple_serial(st));
            buf_printf(b, "\"} %d\n", ocsp_staple_valid(st, now));
        }
    }
}

void metrics_render(struct buf *b, const struct runtime *rt)
{
    struct metrics *m = rt->metrics;
    buf_puts(b, "# TYPE certgate_build_info gauge\ncertgate_build_info{version=\"" CERTGATE_VERSION
                "\",openssl=\"");
    label(b, OpenSSL_version(OPENSSL_VERSION));
    buf_puts(b, "\"} 1\n");
    counter(b, "certgate_connections_total", atomic_load(&m->connections_total), "counter");
    buf_printf(b, "# TYPE certgate_connections_open gauge\ncertgate_connections_open %ld\n",
               atomic_load(&m->connections_open));
    counter(b, "certgate_connections_refused_total", atomic_load(&m->connections_refused),
            "counter");
    counter(b, "certgate_tls_handshakes_total", atomic_load(&m->handshakes_total), "counter");
    counter(b, "certgate_tls_handshake_failures_total", atomic_load(&m->handshake_failures_total),
            "counter");
    counter(b, "certgate_tls_handshakes_resumed_total", atomic_load(&m->handshakes_resumed),
            "counter");
    buf_puts(b, "# TYPE certgate_tls_handshake_duration_seconds histogram\n");
    hist_lines(b, "certgate_tls_handshake_duration_seconds", NULL, NULL, &m->handshake_seconds);
    counter(b, "certgate_requests_total", atomic_load(&m->requests_total), "counter");
    routes(b, m);
    buf_puts(b, "# TYPE certgate_client_cert_rejections_total counter\n");
    for (int r = 1; r < CERTGATE_REASON_MAX && r < METRICS_REASONS; r++)
        buf_printf(b, "certgate_client_cert_rejections_total{reason=\"%s\"} %lu\n",
                   certgate_reason_code((enum certgate_reason)r),
                   atomic_load(&m->rejections_by_reason[r]));
    counter(b, "certgate_upstream_errors_total", atomic_load(&m->upstream_errors_total), "counter");
    upstream_servers(b, rt);
    counter(b, "certgate_verdict_cache_hits_total", atomic_load(&m->verdict_cache_hits), "counter");
    counter(b, "certgate_verdict_cache_misses_total", atomic_load(&m->verdict_cache_misses),
            "counter");
    struct ocsp_stats os;
    ocsp_service_stats(rt->ocsp, &os);
    counter(b, "certgate_ocsp_queries_total", os.queries, "counter");
    counter(b, "certgate_ocsp_cache_hits_total", os.hits, "counter");
    counter(b, "certgate_ocsp_cache_misses_total", os.misses, "counter");
    buf_puts(b, "# TYPE certgate_ocsp_responder_duration_seconds histogram\n");
    hist_lines(b, "certgate_ocsp_responder_duration_seconds", NULL, NULL, os.responder);
    counter(b, "certgate_crl_fetches_total", os.crl_fetches, "counter");
    counter(b, "certgate_ocsp_stapling_fetches_total", os.staple_fetches, "counter");
    staples(b, rt);
    counter(b, "certgate_revocation_fail_open_total", atomic_load(&m->revocation_fail_open),
            "counter");
    buf_puts(b, "# TYPE certgate_reloads_total counter\n");
    buf_printf(b, "certgate_reloads_total{result=\"success\"} %lu\n", atomic_load(&m->reloads_ok));
    buf_printf(b, "certgate_reloads_total{result=\"failure\"} %lu\n",
               atomic_load(&m->reloads_failed));
    counter(b, "certgate_config_generation", rt->generation, "gauge");
    counter(b, "certgate_config_last_reload_successful",
            (unsigned long long)atomic_load(&m->last_reload_ok), "gauge");
    counter(b, "certgate_access_log_dropped_total", atomic_load(&m->log_dropped), "counter");
    counter(b, "certgate_slow_request_bodies_total", atomic_load(&m->slow_bodies), "counter");
}

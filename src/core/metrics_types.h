/* Process-wide counters, updated with relaxed atomics from every worker, and
 * the labelled families (per route, listener, backend) whose entries live as
 * long as the process so that a reload never resets a counter. */
#ifndef CERTGATE_CORE_METRICS_TYPES_H
#define CERTGATE_CORE_METRICS_TYPES_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#define METRICS_REASONS 10 /* enum certgate_reason values */
#define HIST_BUCKETS    14 /* upper bounds in metrics.c, then +Inf */

/* A latency histogram (Prometheus buckets, seconds). */
struct hist {
    atomic_ulong b[HIST_BUCKETS + 1]; /* per bucket, not cumulative; the last is +Inf */
    atomic_ullong sum_us;
    atomic_ulong count;
};

/* Counters of one route: responses by status class and verdicts by reason. */
struct route_metrics {
    char *listener, *route;                 /* labels */
    atomic_ulong responses[6];              /* 1xx..5xx; [0] unused */
    atomic_ulong verdicts[METRICS_REASONS]; /* by enum certgate_reason, OK included */
    struct route_metrics *next;
};

/* A histogram with one label (listener or backend name). */
struct labelled_hist {
    char *label;
    struct hist h;
    struct labelled_hist *next;
};

struct metrics {
    atomic_ulong connections_total;
    atomic_long connections_open;
    atomic_ulong connections_refused; /* over limits.connections */
    atomic_ulong handshakes_total;
    atomic_ulong handshake_failures_total;
    atomic_ulong handshakes_resumed;
    struct hist handshake_seconds;
    atomic_ulong requests_total;
    atomic_ulong rejections_by_reason[METRICS_REASONS];
    atomic_ulong upstream_errors_total;
    atomic_ulong verdict_cache_hits;   /* judgements reused (per worker cache) */
    atomic_ulong verdict_cache_misses; /* judgements computed */
    atomic_ulong revocation_fail_open; /* unknown statuses let in by fail: open */
    atomic_ulong reloads_ok, reloads_failed;
    atomic_int last_reload_ok; /* 1 until a reload fails */
    atomic_ulong log_dropped;  /* access log lines dropped: the log could not keep up */
    atomic_ulong slow_bodies;  /* requests cut with 408: body below limits.body_min_rate */
    /* the families; entries are added when a runtime is built (main thread) */
    uv_mutex_t lock;
    struct route_metrics *routes;
    struct labelled_hist *request_seconds;  /* by listener */
    struct labelled_hist *upstream_seconds; /* by backend */
};

#endif

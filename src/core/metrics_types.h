/* Process-wide counters, updated with relaxed atomics from every worker. */
#ifndef CERTGATE_CORE_METRICS_TYPES_H
#define CERTGATE_CORE_METRICS_TYPES_H

#include <stdatomic.h>

#define METRICS_REASONS 10 /* enum certgate_reason values */

struct metrics {
    atomic_ulong connections_total;
    atomic_long connections_open;
    atomic_ulong handshakes_total;
    atomic_ulong handshake_failures_total;
    atomic_ulong requests_total;
    atomic_ulong responses_by_class[6]; /* 1xx..5xx; [0] unused */
    atomic_ulong rejections_by_reason[METRICS_REASONS];
    atomic_ulong upstream_errors_total;
    atomic_ulong verdict_cache_hits;   /* judgements reused (per worker cache) */
    atomic_ulong verdict_cache_misses; /* judgements computed */
    atomic_ulong revocation_fail_open; /* unknown statuses let in by fail: open */
};

#endif

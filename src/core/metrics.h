/* The metrics registry and its Prometheus text (GET /metrics). */
#ifndef CERTGATE_CORE_METRICS_H
#define CERTGATE_CORE_METRICS_H

#include <stdint.h>

#include "base/buf.h"
#include "core/metrics_types.h"

struct runtime;

void metrics_init(struct metrics *m);
void metrics_free(struct metrics *m);
/* The counters of route <route> of listener <listener>: found or added (never removed). NULL
 * when memory ran out. */
struct route_metrics *metrics_route(struct metrics *m, const char *listener, const char *route);
/* The request histogram of a listener, the upstream histogram of a backend. */
struct hist *metrics_request_hist(struct metrics *m, const char *listener);
struct hist *metrics_upstream_hist(struct metrics *m, const char *backend);
void hist_observe(struct hist *h, uint64_t us);
/* "<host or *><path_prefix>": a route's label. */
void metrics_route_label(const char *host, const char *path_prefix, char *out, size_t len);
/* Everything, as Prometheus text 0.0.4, for the current generation <rt>. */
void metrics_render(struct buf *b, const struct runtime *rt);

#endif

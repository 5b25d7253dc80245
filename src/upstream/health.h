/* Backend servers watched from the gateway's own loop, off the workers: host
 * names resolved (at start, on reload, then every 30 s) and active health
 * probes (backends: health:, seed 003). What they learn goes into the shared
 * server state (upstream/servers.h) that the workers' balancing reads. */
#ifndef CERTGATE_UPSTREAM_HEALTH_H
#define CERTGATE_UPSTREAM_HEALTH_H

#include <uv.h>

struct runtime;
struct health;

/* Start watching the servers of <rt> (a reference is taken) on <loop>. NULL when memory ran
 * out. */
struct health *health_start(uv_loop_t *loop, struct runtime *rt);
/* A new generation: stop the old probes (one in flight is abandoned), start the new ones.
 * Server state (up/down, addresses) carries over for servers that stay. */
void health_update(struct health *h, struct runtime *rt);
/* Stop everything; the memory goes once <loop> has run the close callbacks. NULL is fine. */
void health_stop(struct health *h);

#endif

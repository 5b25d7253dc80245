#include "upstream/balance.h"

#include <stdio.h>

#include "core/core_types.h"
#include "upstream/servers.h"

/* 2: available, 1: only passively ejected, 0: not usable. */
static int usable(const struct rt_backend *b, int i, int avoid, uint64_t now)
{
    struct server_state *st = b->servers[i].st;
    if (i == avoid || !atomic_load(&st->resolved) || !atomic_load(&st->up))
        return 0;
    return now >= atomic_load(&st->ejected_until_ms) ? 2 : 1;
}

static int round_robin(struct rt_backend *b, int avoid, uint64_t now, int level)
{
    unsigned start = atomic_fetch_add(&b->next, 1);
    for (size_t k = 0; k < b->n_sched; k++) {
        int i = b->sched[(start + k) % b->n_sched];
        if (usable(b, i, avoid, now) >= level)
            return i;
    }
    return -1;
}

static int least_conn(struct rt_backend *b, int avoid, uint64_t now, int level)
{
    unsigned start = atomic_fetch_add(&b->next, 1);
    int best = -1;
    long best_n = 0, best_w = 1;
    for (size_t k = 0; k < b->n_servers; k++) {
        int i = (int)((start + k) % b->n_servers);
        if (usable(b, i, avoid, now) < level)
            continue;
        long n = atomic_load(&b->servers[i].st->inflight);
        long w = b->servers[i].cfg->weight > 0 ? b->servers[i].cfg->weight : 1;
        /* n / w < best_n / best_w, without division */
        if (best < 0 || n * best_w < best_n * w) {
            best = i;
            best_n = n;
            best_w = w;
        }
    }
    return best;
}

int balance_pick(struct rt_backend *b, int avoid, char *why, size_t whylen)
{
    uint64_t now = servers_now_ms();
    for (int level = 2; level >= 1; level--) {
        int i = b->cfg->balance == BALANCE_LEAST_CONN ? least_conn(b, avoid, now, level)
                                                      : round_robin(b, avoid, now, level);
        if (i >= 0)
            return i;
    }
    size_t down = 0, unresolved = 0;
    for (size_t i = 0; i < b->n_servers; i++) {
        down += !atomic_load(&b->servers[i].st->up);
        unresolved += !atomic_load(&b->servers[i].st->resolved);
    }
    if (b->n_servers == 0)
        snprintf(why, whylen, "backend '%s' has no servers", b->cfg->name);
    else if (avoid >= 0 && b->n_servers == 1)
        snprintf(why, whylen, "backend '%s' has no other server to try", b->cfg->name);
    else if (unresolved == b->n_servers)
        snprintf(why, whylen, "no server of backend '%s' has an address yet (name resolution)",
                 b->cfg->name);
    else
        snprintf(why, whylen,
                 "no server of backend '%s' is healthy (%zu of %zu failed their health probes)",
                 b->cfg->name, down, b->n_servers);
    return -1;
}

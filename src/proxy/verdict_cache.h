/* Per-worker cache of time-independent verdicts (certgate_judgement), keyed
 * by the client's chain, the policy and the config generation. Direct-mapped
 * and bounded: a collision replaces the older entry. Not thread-safe: each
 * worker owns one. */
#ifndef CERTGATE_PROXY_VERDICT_CACHE_H
#define CERTGATE_PROXY_VERDICT_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <certgate/policy.h>

struct verdict_key {
    unsigned char chain[32]; /* SHA-256 over the DER of leaf + presented chain */
    uint64_t generation;     /* config generation */
    unsigned policy;         /* index of the policy in that generation */
};

struct verdict_entry {
    struct verdict_key key;
    int used;
    struct certgate_judgement j;
};

struct verdict_cache {
    struct verdict_entry *slots;
    size_t n; /* a power of two */
};

/* <n> slots (rounded up to a power of two, at least 16). 0 or -1. */
int verdict_cache_init(struct verdict_cache *vc, size_t n);
void verdict_cache_free(struct verdict_cache *vc);
/* The cached judgement for <k>, or NULL. */
const struct certgate_judgement *verdict_cache_get(struct verdict_cache *vc,
                                                   const struct verdict_key *k);
/* Store a copy of <j> under <k>. */
void verdict_cache_put(struct verdict_cache *vc, const struct verdict_key *k,
                       const struct certgate_judgement *j);

#endif

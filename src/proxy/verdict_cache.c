#include "proxy/verdict_cache.h"

#include <stdlib.h>
#include <string.h>

int verdict_cache_init(struct verdict_cache *vc, size_t n)
{
    size_t size = 16;
    while (size < n)
        size *= 2;
    memset(vc, 0, sizeof(*vc));
    vc->slots = calloc(size, sizeof(*vc->slots));
    if (vc->slots == NULL)
        return -1;
    vc->n = size;
    return 0;
}

void verdict_cache_free(struct verdict_cache *vc)
{
    free(vc->slots);
    vc->slots = NULL;
    vc->n = 0;
}

static size_t slot_of(const struct verdict_cache *vc, const struct verdict_key *k)
{
    uint64_t h;
    memcpy(&h, k->chain, sizeof(h)); /* already a uniform hash */
    h ^= k->generation * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)k->policy * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h & (vc->n - 1));
}

static int key_eq(const struct verdict_key *a, const struct verdict_key *b)
{
    return a->generation == b->generation && a->policy == b->policy &&
           memcmp(a->chain, b->chain, sizeof(a->chain)) == 0;
}

const struct certgate_judgement *verdict_cache_get(struct verdict_cache *vc,
                                                   const struct verdict_key *k)
{
    if (vc->slots == NULL)
        return NULL;
    struct verdict_entry *e = &vc->slots[slot_of(vc, k)];
    if (e->used && key_eq(&e->key, k)) {
        return &e->j;
    }
    return NULL;
}

void verdict_cache_put(struct verdict_cache *vc, const struct verdict_key *k,
                       const struct certgate_judgement *j)
{
    if (vc->slots == NULL)
        return;
    struct verdict_entry *e = &vc->slots[slot_of(vc, k)];
    e->key = *k;
    e->j = *j;
    e->used = 1;
}

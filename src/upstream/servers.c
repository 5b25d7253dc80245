#include "upstream/servers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct server_registry {
    uv_mutex_t lock;
    struct server_state **v;
    size_t n;
};

uint64_t servers_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct server_registry *servers_new(void)
{
    struct server_registry *r = calloc(1, sizeof(*r));
    if (r)
        uv_mutex_init(&r->lock);
    return r;
}

static void state_free(struct server_state *s)
{
    uv_mutex_destroy(&s->lock);
    free(s->key);
    free(s);
}

void servers_free(struct server_registry *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        state_free(r->v[i]);
    free(r->v);
    uv_mutex_destroy(&r->lock);
    free(r);
}

struct server_state *servers_get(struct server_registry *r, const char *backend, const char *url)
{
    size_t blen = strlen(backend), ulen = strlen(url);
    struct server_state *s = NULL;
    uv_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n; i++) {
        struct server_state *c = r->v[i];
        if (strncmp(c->key, backend, blen) == 0 && c->key[blen] == ' ' &&
            strcmp(c->key + blen + 1, url) == 0) {
            s = c;
            atomic_fetch_add(&s->refs, 1);
            goto out;
        }
    }
    struct server_state **nv = realloc(r->v, (r->n + 1) * sizeof(*nv));
    if (nv == NULL)
        goto out;
    r->v = nv;
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->key = malloc(blen + ulen + 2)) == NULL) {
        free(s);
        s = NULL;
        goto out;
    }
    snprintf(s->key, blen + ulen + 2, "%s %s", backend, url);
    s->key[blen] = '\0'; /* "<backend>\0<url>": two strings in one allocation */
    s->backend = s->key;
    s->url = s->key + blen + 1;
    uv_mutex_init(&s->lock);
    atomic_init(&s->up, 1);
    atomic_init(&s->refs, 1);
    r->v[r->n++] = s;
out:
    uv_mutex_unlock(&r->lock);
    return s;
}

void servers_release(struct server_registry *r, struct server_state *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    uv_mutex_lock(&r->lock);
    if (atomic_load(&s->refs) == 0) {
        for (size_t i = 0; i < r->n; i++)
            if (r->v[i] == s) {
                r->v[i] = r->v[--r->n];
                state_free(s);
                break;
            }
    }
    uv_mutex_unlock(&r->lock);
}

int server_addr(struct server_state *s, struct sockaddr_storage *out)
{
    if (!atomic_load(&s->resolved))
        return -1;
    uv_mutex_lock(&s->lock);
    *out = s->addr;
    uv_mutex_unlock(&s->lock);
    return 0;
}

void server_set_addr(struct server_state *s, const struct sockaddr *sa)
{
    uv_mutex_lock(&s->lock);
    memset(&s->addr, 0, sizeof(s->addr));
    memcpy(&s->addr, sa,
           sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    uv_mutex_unlock(&s->lock);
    atomic_store(&s->resolved, 1);
}

int server_available(struct server_state *s, uint64_t now)
{
    return atomic_load(&s->resolved) && atomic_load(&s->up) &&
           now >= atomic_load(&s->ejected_until_ms);
}

int server_connect_failed(struct server_state *s, int max_fails, uint64_t fail_timeout_ms)
{
    int n = atomic_fetch_add(&s->fails, 1) + 1;
    if (max_fails <= 0 || n < max_fails)
        return 0;
    atomic_store(&s->fails, 0);
    atomic_store(&s->ejected_until_ms, servers_now_ms() + fail_timeout_ms);
    return 1;
}

void server_connect_ok(struct server_state *s)
{
    if (atomic_load(&s->fails))
        atomic_store(&s->fails, 0);
}

#include "core/runtime.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <certgate/certgate.h>
#include <certgate/policy.h>

#include "config/config.h"
#include "core/metrics.h"
#include "proxy/verdict.h"
#include "tls/tls_client.h"
#include "tls/tls_keys.h"
#include "tls/tls_server.h"
#include "upstream/servers.h"

/* The library's view of a config policy. */
static void policy_spec(const struct cfg_policy *p, struct certgate_policy_spec *sp)
{
    memset(sp, 0, sizeof(*sp));
    sp->trusted_ca = (const char *const *)p->trusted_ca;
    sp->n_trusted_ca = p->n_trusted_ca;
    sp->intermediates = (const char *const *)p->intermediates;
    sp->n_intermediates = p->n_intermediates;
    sp->allowed_issuer_dns = (const char *const *)p->allowed_issuer_dns;
    sp->n_allowed_issuer_dns = p->n_allowed_issuer_dns;
    sp->allowed_issuer_files = (const char *const *)p->allowed_issuer_files;
    sp->n_allowed_issuer_files = p->n_allowed_issuer_files;
    sp->max_depth = p->max_depth;
    sp->eku = p->require_client_auth_eku ? CERTGATE_EKU_CLIENT_AUTH : CERTGATE_EKU_NONE;
    sp->min_rsa_bits = p->min_rsa_bits;
    sp->min_ec_bits = p->min_ec_bits;
    sp->allow_weak_signatures = p->allow_weak_signatures;
    if (p->revocation.mode == REV_CRL || p->revocation.mode == REV_OCSP) {
        sp->crl_files = (const char *const *)p->revocation.crl;
        sp->n_crl_files = p->revocation.n_crl;
        sp->crl_scope_chain = p->revocation.scope_chain;
    }
    for (int k = 0; k < CERTGATE_ALLOW_COUNT && k < CFG_ALLOW_KINDS; k++) {
        sp->allow[k] = (const char *const *)p->allow[k];
        sp->n_allow[k] = p->n_allow[k];
    }
}

static struct rt_policy *add_policy(struct runtime *rt, const struct cfg_policy *p, char *err,
                                    size_t errlen)
{
    for (size_t i = 0; i < rt->n_policies; i++)
        if (rt->policies[i].cfg == p)
            return &rt->policies[i];
    struct rt_policy *rp = &rt->policies[rt->n_policies];
    struct certgate_policy_spec sp;
    char perr[400] = "";
    policy_spec(p, &sp);
    rp->cfg = p;
    rp->index = (unsigned)rt->n_policies;
    rp->policy = certgate_policy_new(&sp, perr, sizeof(perr));
    if (rp->policy == NULL) {
        snprintf(err, errlen, "policy '%s': %s", p->name ? p->name : "(inline)", perr);
        return NULL;
    }
    rt->n_policies++;
    return rp;
}

static int resolve(const char *host, int port, struct sockaddr_storage *out, int passive)
{
    struct addrinfo hints = {0}, *res = NULL;
    char ports[16];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE | AI_NUMERICHOST : 0;
    snprintf(ports, sizeof(ports), "%d", port);
    if (getaddrinfo(host && *host ? host : NULL, ports, &hints, &res) != 0 || res == NULL)
        return -1;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static int resolve_numeric(const char *host, int port, struct sockaddr_storage *out)
{
    struct addrinfo hints = {0}, *res = NULL;
    char ports[16];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    snprintf(ports, sizeof(ports), "%d", port);
    if (getaddrinfo(host, ports, &hints, &res) != 0 || res == NULL)
        return -1;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static int listen_socket(const struct sockaddr_storage *addr, char *err, size_t errlen,
                         const char *what)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    socklen_t len =
        addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (const struct sockaddr *)addr, len) < 0 || listen(fd, 511) < 0)
        goto fail;
    return fd;
fail:
    snprintf(err, errlen, "cannot listen on %s: %s", what, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

static int open_listener(struct runtime *rt, struct rt_listener *rl, const struct runtime *prev,
                         char *err, size_t errlen)
{
    const struct cfg_listener *l = rl->cfg;
    rl->fds = calloc((size_t)rt->n_workers, sizeof(int));
    if (rl->fds == NULL)
        return -1;
    for (int i = 0; i < rt->n_workers; i++)
        rl->fds[i] = -1;
    /* on reload, the same address keeps its sockets: no connection is refused */
    for (size_t i = 0; prev && i < prev->n_listeners; i++) {
        const struct rt_listener *pl = &prev->listeners[i];
        if (pl->fds && strcmp(pl->cfg->address, l->address) == 0) {
            for (int w = 0; w < rt->n_workers; w++)
                rl->fds[w] = dup(pl->fds[w]);
            return 0;
        }
    }
    struct sockaddr_storage ss;
    if (resolve(l->host, l->port, &ss, 1) < 0) {
        snprintf(err, errlen, "listener '%s': cannot use address '%s'", l->name, l->address);
        return -1;
    }
    for (int w = 0; w < rt->n_workers; w++) {
        rl->fds[w] = listen_socket(&ss, err, errlen, l->address);
        if (rl->fds[w] < 0)
            return -1;
    }
    return 0;
}

static int build_listener(struct runtime *rt, struct rt_listener *rl, const struct cfg_listener *l,
                          const struct runtime *prev, char *err, size_t errlen)
{
    rl->cfg = l;
    atomic_init(&rl->conns, 0);
    rl->route_m = calloc(l->n_routes + 1, sizeof(*rl->route_m));
    rl->route_label = calloc(l->n_routes + 1, sizeof(*rl->route_label));
    rl->request_hist = metrics_request_hist(rt->metrics, l->name);
    if (rl->route_m == NULL || rl->route_label == NULL || rl->request_hist == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < l->n_routes; i++) {
        char lab[600];
        metrics_route_label(l->routes[i].host, l->routes[i].path_prefix, lab, sizeof(lab));
        rl->route_label[i] = strdup(lab);
        rl->route_m[i] = metrics_route(rt->metrics, l->name, lab);
        if (rl->route_label[i] == NULL || rl->route_m[i] == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    if (strip_set_init(&rl->strip, l) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const struct cfg_policy *gp = l->client_cert.from_header         ? l->client_cert.auth.policy
                                  : l->client_auth.mode != CA_IGNORE ? l->client_auth.policy
                                                                     : NULL;
    if (gp) {
        rl->gate = add_policy(rt, gp, err, errlen);
        if (rl->gate == NULL)
            return -1;
    }
    for (size_t i = 0; i < l->n_routes; i++) {
        if (l->routes[i].policy && add_policy(rt, l->routes[i].policy, err, errlen) == NULL)
            return -1;
    }
    if (l->tls) {
        rl->tls = tls_server_new(l, verdict_tls_gate, rt->ticket_keys, err, errlen);
        if (rl->tls == NULL)
            return -1;
        rl->own_uri = tls_server_own_uri(rl->tls);
    }
    return open_listener(rt, rl, prev, err, errlen);
}

/* Smooth weighted round robin (each server as often as its weight, spread out):
 * the order is computed once and the workers walk it with one atomic counter. */
static int make_schedule(struct rt_backend *rb)
{
    size_t total = 0, n = rb->n_servers;
    for (size_t i = 0; i < n; i++)
        total += (size_t)(rb->servers[i].cfg->weight > 0 ? rb->servers[i].cfg->weight : 1);
    rb->sched = calloc(total ? total : 1, sizeof(*rb->sched));
    long *cur = calloc(n ? n : 1, sizeof(*cur));
    if (rb->sched == NULL || cur == NULL) {
        free(cur);
        return -1;
    }
    for (size_t k = 0; k < total; k++) {
        size_t best = 0;
        for (size_t i = 0; i < n; i++) {
            cur[i] += rb->servers[i].cfg->weight > 0 ? rb->servers[i].cfg->weight : 1;
            if (cur[i] > cur[best])
                best = i;
        }
        cur[best] -= (long)total;
        rb->sched[k] = (int)best;
    }
    rb->n_sched = total;
    free(cur);
    return 0;
}

static int build_backend(struct runtime *rt, struct rt_backend *rb, const struct cfg_backend *b,
                         char *err, size_t errlen)
{
    int any_tls = 0;
    rb->cfg = b;
    rb->servers = calloc(b->n_servers + 1, sizeof(*rb->servers));
    if (rb->servers == NULL)
        goto oom;
    for (size_t s = 0; s < b->n_servers; s++) {
        struct rt_server *rs = &rb->servers[s];
        const struct cfg_server *cs = &b->servers[s];
        struct sockaddr_storage ss;
        rs->cfg = cs;
        rs->st = servers_get(rt->servers, b->name, cs->url);
        if (rs->st == NULL)
            goto oom;
        rb->n_servers = s + 1;
        /* an IP literal is its own address; names are resolved by the gateway's loop */
        if (resolve_numeric(cs->host, cs->port, &ss) == 0)
            server_set_addr(rs->st, (const struct sockaddr *)&ss);
        if (cs->tls) {
            any_tls = 1;
            rs->tls_name = strdup(b->tls.server_name ? b->tls.server_name : cs->host);
            if (rs->tls_name == NULL)
                goto oom;
        }
    }
    if (make_schedule(rb) < 0 || !(rb->upstream_hist = metrics_upstream_hist(rt->metrics, b->name)))
        goto oom;
    if (any_tls) {
        char why[400];
        rb->tls = tls_client_ctx_new(&b->tls, why, sizeof(why));
        if (rb->tls == NULL) {
            snprintf(err, errlen, "backend '%s': %s", b->name, why);
            return -1;
        }
    }
    return 0;
oom:
    snprintf(err, errlen, "backend '%s': out of memory", b->name);
    return -1;
}

struct runtime *runtime_new(struct config *cfg, int n_workers, struct metrics *m,
                            struct server_registry *servers, const struct runtime *prev, char *err,
                            size_t errlen)
{
    struct runtime *rt = calloc(1, sizeof(*rt));
    if (rt == NULL)
        return NULL;
    rt->cfg = cfg;
    rt->n_workers = n_workers;
    rt->metrics = m;
    rt->servers = servers;
    static atomic_ullong generations;
    rt->generation = atomic_fetch_add(&generations, 1) + 1;
    atomic_init(&rt->refs, 1);
    rt->crl_stamp = runtime_crl_stamp(cfg, &rt->crl_refresh_ms);
    rt->ticket_keys = tls_keys_new(cfg->ticket_keys, err, errlen);
    if (rt->ticket_keys == NULL)
        goto fail;
    size_t nl = cfg->n_listeners + (cfg->admin.address ? 1 : 0);
    size_t np = cfg->n_policies + cfg->n_listeners * 1 + 1;
    for (size_t i = 0; i < cfg->n_listeners; i++)
        np += cfg->listeners[i].n_routes;
    rt->listeners = calloc(nl, sizeof(*rt->listeners));
    rt->policies = calloc(np, sizeof(*rt->policies));
    rt->backends = calloc(cfg->n_backends + 1, sizeof(*rt->backends));
    rt->n_backends_cap = cfg->n_backends + 1;
    if (!rt->listeners || !rt->policies || !rt->backends)
        goto fail;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        if (build_backend(rt, &rt->backends[i], &cfg->backends[i], err, errlen) < 0)
            goto fail;
        rt->n_backends++;
    }
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        if (build_listener(rt, &rt->listeners[i], &cfg->listeners[i], prev, err, errlen) < 0) {
            rt->n_listeners = i + 1;
            goto fail;
        }
        rt->n_listeners = i + 1;
    }
    if (cfg->admin.address) {
        struct cfg_listener *a = &rt->admin;
        a->name = "admin";
        a->address = cfg->admin.address;
        a->host = cfg->admin.host;
        a->port = cfg->admin.port;
        a->admin = 1;
        a->limits.request_line = 8192;
        a->limits.header_bytes = 16384;
        a->limits.headers = 64;
        a->limits.connections = 256;
        a->timeouts.header = a->timeouts.idle = a->timeouts.handshake = 10000;
        if (build_listener(rt, &rt->listeners[rt->n_listeners], a, prev, err, errlen) < 0) {
            rt->n_listeners++;
            goto fail;
        }
        rt->n_listeners++;
    }
    return rt;
fail:
    rt->cfg = NULL; /* the caller still owns it */
    runtime_unref(rt);
    return NULL;
}

uint64_t runtime_crl_stamp(const struct config *cfg, uint64_t *refresh_ms)
{
    uint64_t stamp = 1469598103934665603ull, every = 0;
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const struct cfg_revocation *rv = &cfg->policies[i].revocation;
        if (rv->mode != REV_CRL)
            continue;
        if (rv->refresh_ms && (every == 0 || rv->refresh_ms < every))
            every = rv->refresh_ms;
        for (size_t k = 0; k < rv->n_crl; k++) {
            struct stat st;
            uint64_t v = 0;
            if (stat(rv->crl[k], &st) == 0)
                v = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec +
                    (uint64_t)st.st_size * 31u + (uint64_t)st.st_ino;
            stamp = (stamp ^ v) * 1099511628211ull;
        }
    }
    if (refresh_ms)
        *refresh_ms = every;
    return stamp;
}

void runtime_set_ocsp(struct runtime *rt, struct ocsp_service *s)
{
    rt->ocsp = s;
    for (size_t i = 0; i < rt->n_listeners; i++)
        if (rt->listeners[i].tls != NULL)
            tls_server_start_stapling(rt->listeners[i].tls, s);
}

void runtime_stop_listening(struct runtime *rt)
{
    for (size_t i = 0; i < rt->n_listeners; i++) {
        struct rt_listener *rl = &rt->listeners[i];
        if (rl->cfg->admin || rl->fds == NULL)
            continue;
        for (int w = 0; w < rt->n_workers; w++)
            if (rl->fds[w] >= 0) {
                close(rl->fds[w]);
                rl->fds[w] = -1;
            }
    }
}

struct runtime *runtime_ref(struct runtime *rt)
{
    atomic_fetch_add(&rt->refs, 1);
    return rt;
}

void runtime_unref(struct runtime *rt)
{
    if (rt == NULL || atomic_fetch_sub(&rt->refs, 1) != 1)
        return;
    for (size_t i = 0; i < rt->n_listeners; i++) {
        struct rt_listener *rl = &rt->listeners[i];
        tls_server_free(rl->tls);
        free(rl->own_uri);
        for (size_t r = 0; rl->route_label && rl->cfg && r < rl->cfg->n_routes; r++)
            free(rl->route_label[r]);
        free(rl->route_label);
        free(rl->route_m);
        strip_set_free(&rl->strip);
        for (int w = 0; rl->fds && w < rt->n_workers; w++)
            if (rl->fds[w] >= 0)
                close(rl->fds[w]);
        free(rl->fds);
    }
    for (size_t i = 0; i < rt->n_policies; i++)
        certgate_policy_free(rt->policies[i].policy);
    for (size_t i = 0; rt->backends && i < rt->n_backends_cap; i++) {
        struct rt_backend *rb = &rt->backends[i];
        for (size_t s = 0; s < rb->n_servers; s++) {
            servers_release(rt->servers, rb->servers[s].st);
            free(rb->servers[s].tls_name);
        }
        free(rb->servers);
        free(rb->sched);
        SSL_CTX_free(rb->tls);
    }
    free(rt->listeners);
    free(rt->policies);
    free(rt->backends);
    tls_keys_free(rt->ticket_keys);
    config_free(rt->cfg);
    free(rt);
}

struct rt_policy *runtime_policy(struct runtime *rt, const struct cfg_policy *p)
{
    for (size_t i = 0; i < rt->n_policies; i++)
        if (rt->policies[i].cfg == p)
            return &rt->policies[i];
    return NULL;
}

int runtime_backend_index(const struct runtime *rt, const struct cfg_backend *b)
{
    for (size_t i = 0; i < rt->n_backends; i++)
        if (rt->backends[i].cfg == b)
            return (int)i;
    return -1;
}

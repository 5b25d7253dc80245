#include "core/files_stamp.h"

#include <sys/stat.h>

#include "config/config_types.h"

static void mix(uint64_t *h, const char *path)
{
    struct stat st;
    uint64_t v = 0;
    if (path == NULL)
        return;
    if (stat(path, &st) == 0)
        v = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec +
            (uint64_t)st.st_size * 31u + (uint64_t)st.st_ino * 131u;
    *h = (*h ^ v) * 1099511628211ull;
}

static void mix_list(uint64_t *h, char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mix(h, v[i]);
}

static void mix_cert(uint64_t *h, const struct cfg_cert *c)
{
    mix(h, c->cert);
    mix(h, c->key);
    mix(h, c->pkcs12);
    mix(h, c->password_file);
}

static void mix_policy(uint64_t *h, const struct cfg_policy *p)
{
    if (p == NULL)
        return;
    mix_list(h, p->trusted_ca, p->n_trusted_ca);
    mix_list(h, p->intermediates, p->n_intermediates);
    mix_list(h, p->allowed_issuer_files, p->n_allowed_issuer_files);
    mix_list(h, p->revocation.crl, p->revocation.n_crl);
}

uint64_t files_stamp(const struct config *cfg)
{
    uint64_t h = 1469598103934665603ull;
    mix(&h, cfg->path);
    mix(&h, cfg->ticket_keys);
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const struct cfg_listener *l = &cfg->listeners[i];
        for (size_t k = 0; k < l->n_certs; k++)
            mix_cert(&h, &l->certs[k]);
        mix_policy(&h, l->client_auth.policy);
        mix_policy(&h, l->client_cert.auth.policy);
        for (size_t r = 0; r < l->n_routes; r++)
            mix_policy(&h, l->routes[r].policy);
    }
    for (size_t i = 0; i < cfg->n_policies; i++)
        mix_policy(&h, &cfg->policies[i]);
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct cfg_backend *b = &cfg->backends[i];
        mix(&h, b->tls.ca);
        if (b->tls.has_client_cert)
            mix_cert(&h, &b->tls.client_cert);
    }
    return h;
}

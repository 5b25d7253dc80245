/* Freeing a config, whole or half-built: every array is zeroed at birth and
 * its count set at once, so a loader that stops anywhere can call config_free. */
#include <stdlib.h>

#include "config/config_internal.h"

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void cfg_policy_clear(struct cfg_policy *p)
{
    free(p->name);
    free(p->inherit);
    free_strv(p->trusted_ca, p->n_trusted_ca);
    free_strv(p->intermediates, p->n_intermediates);
    free_strv(p->revocation.crl, p->revocation.n_crl);
    p->revocation.crl = NULL;
    p->revocation.n_crl = 0;
    free(p->revocation.ocsp_url);
    p->revocation.ocsp_url = NULL;
    free_strv(p->allowed_issuer_dns, p->n_allowed_issuer_dns);
    free_strv(p->allowed_issuer_files, p->n_allowed_issuer_files);
    p->name = p->inherit = NULL;
    p->trusted_ca = p->intermediates = NULL;
    p->allowed_issuer_dns = p->allowed_issuer_files = NULL;
    p->n_trusted_ca = p->n_intermediates = 0;
    p->n_allowed_issuer_dns = p->n_allowed_issuer_files = 0;
    for (int k = 0; k < CFG_ALLOW_KINDS; k++) {
        free_strv(p->allow[k], p->n_allow[k]);
        p->allow[k] = NULL;
        p->n_allow[k] = 0;
    }
}

void cfg_cert_clear(struct cfg_cert *c)
{
    free(c->cert);
    free(c->key);
    free(c->pkcs12);
    free(c->password_env);
    free(c->password_file);
    c->cert = c->key = c->pkcs12 = c->password_env = c->password_file = NULL;
}

void cfg_identity_clear(struct cfg_identity_headers *id)
{
    char **names[] = {&id->verify, &id->subject, &id->issuer,     &id->serial,
                      &id->sha1,   &id->sha256,  &id->not_before, &id->not_after};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        free(*names[i]);
        *names[i] = NULL;
    }
}

void cfg_forward_clear(struct cfg_forward *fwd)
{
    for (size_t i = 0; i < fwd->n_headers; i++)
        free(fwd->headers[i].name);
    free(fwd->headers);
    fwd->headers = NULL;
    fwd->n_headers = 0;
    cfg_identity_clear(&fwd->identity);
}

static void free_listener(struct cfg_listener *l)
{
    free(l->name);
    free(l->address);
    free(l->host);
    for (size_t i = 0; i < l->n_certs; i++)
        cfg_cert_clear(&l->certs[i]);
    free(l->certs);
    free(l->stapling.responder);
    if (l->client_auth.policy_inline && l->client_auth.policy) {
        cfg_policy_clear(l->client_auth.policy);
        free(l->client_auth.policy);
    }
    if (l->client_cert.auth.policy_inline && l->client_cert.auth.policy) {
        cfg_policy_clear(l->client_cert.auth.policy);
        free(l->client_cert.auth.policy);
    }
    free(l->client_cert.header);
    free(l->client_cert.trusted_proxies);
    cfg_forward_clear(&l->forward);
    for (size_t i = 0; i < l->n_routes; i++) {
        free(l->routes[i].host);
        free(l->routes[i].path_prefix);
    }
    free(l->routes);
}

static void free_backend(struct cfg_backend *b)
{
    free(b->name);
    for (size_t i = 0; i < b->n_servers; i++) {
        free(b->servers[i].url);
        free(b->servers[i].host);
    }
    free(b->servers);
    free(b->tls.ca);
    free(b->tls.server_name);
    cfg_cert_clear(&b->tls.client_cert);
    config_password_free(b->tls.password); /* OPENSSL_cleanse, then free */
    b->tls.ca = b->tls.server_name = b->tls.password = NULL;
    free(b->health.path);
    b->health.path = NULL;
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_listeners; i++)
        free_listener(&cfg->listeners[i]);
    free(cfg->listeners);
    for (size_t i = 0; i < cfg->n_policies; i++)
        cfg_policy_clear(&cfg->policies[i]);
    free(cfg->policies);
    for (size_t i = 0; i < cfg->n_backends; i++)
        free_backend(&cfg->backends[i]);
    free(cfg->backends);
    free(cfg->admin.address);
    free(cfg->admin.host);
    free(cfg->log.access_path);
    free(cfg->log.errors_path);
    free(cfg->ticket_keys);
    free(cfg->path);
    free(cfg->dir);
    free(cfg);
}

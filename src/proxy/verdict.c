#include "proxy/verdict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <certgate/crl.h>
#include <certgate/policy.h>

#include "core/conn.h"
#include "core/log.h"
#include "core/worker.h"
#include "revocation/ocsp_service.h"

/* SHA-256 over the DER of leaf + presented chain, once per connection. */
static int chain_hash(struct conn *c)
{
    if (c->cert.hashed)
        return 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    int n = c->cert.chain ? sk_X509_num(c->cert.chain) : 0;
    for (int i = -1; ok && i < n; i++) {
        X509 *x = i < 0 ? c->cert.leaf : sk_X509_value(c->cert.chain, i);
        if (i == 0 && x == c->cert.leaf)
            continue; /* the chain usually starts with the leaf */
        unsigned char *der = NULL;
        int len = i2d_X509(x, &der);
        ok = len > 0 && EVP_DigestUpdate(md, der, (size_t)len) == 1;
        OPENSSL_free(der);
    }
    ok = ok && EVP_DigestFinal_ex(md, c->cert.chain_hash, NULL) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        return -1;
    c->cert.hashed = 1;
    return 0;
}

STACK_OF(X509) *verdict_chain(struct conn *c, const struct rt_policy *p)
{
    if (c->cert.validated == NULL && c->cert.leaf && (p || c->l->gate)) {
        struct certgate_judgement j;
        certgate_policy_judge((p ? p : c->l->gate)->policy, c->cert.leaf, c->cert.chain, &j, NULL,
                              &c->cert.validated);
    }
    return c->cert.validated ? c->cert.validated : c->cert.chain;
}

/* OCSP, after every other check passed: the answer comes from the shared
 * cache, or the request waits (VERDICT_PENDING) while the OCSP thread asks. */
static enum certgate_reason verdict_ocsp(struct conn *c, const struct rt_policy *p, char *detail,
                                         size_t detail_len)
{
    const struct cfg_revocation *rv = &p->cfg->revocation;
    STACK_OF(X509) *chain = verdict_chain(c, p);
    X509 *issuer = chain && sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
    struct ocsp_options o = {rv->ocsp_url, rv->ocsp_nonce, rv->ocsp_timeout_ms, rv->cache_ms};
    struct certgate_ocsp_result res;
    if (issuer == NULL || c->rt->ocsp == NULL) {
        snprintf(detail, detail_len, "revocation status is unknown: no issuer to ask OCSP about");
        return rv->fail_open ? CERTGATE_OK : CERTGATE_REVOCATION_UNKNOWN;
    }
    if (!ocsp_service_status(c->rt->ocsp, c->cert.leaf, issuer, &o, &c->w->wake, &res))
        return VERDICT_PENDING;
    enum certgate_reason r = certgate_ocsp_reason(res.status);
    snprintf(detail, detail_len, "%s", res.detail);
    if (r == CERTGATE_REVOCATION_UNKNOWN && rv->fail_open) {
        atomic_fetch_add(&c->rt->metrics->revocation_fail_open, 1);
        return CERTGATE_OK;
    }
    return r;
}

/* The leaf against the CRL of its distribution point (crl_fetch: true), fetched and cached by
 * the revocation thread; the request waits (VERDICT_PENDING) while the first fetch runs. */
static enum certgate_reason verdict_crl_dp(struct conn *c, const struct rt_policy *p, char *detail,
                                           size_t detail_len)
{
    const struct cfg_revocation *rv = &p->cfg->revocation;
    STACK_OF(X509) *chain = verdict_chain(c, p);
    X509 *issuer = chain && sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
    struct crl_options o = {rv->crl_timeout_ms, rv->cache_ms};
    char why[1600];
    X509_CRL *crl = NULL;
    enum certgate_reason r;
    char *url = certgate_crl_dp_url(c->cert.leaf, why, sizeof(why));
    if (url == NULL || issuer == NULL || c->rt->ocsp == NULL) {
        snprintf(detail, detail_len, "revocation status is unknown: %.440s",
                 url == NULL ? why : "no issuer to check a CRL with");
        r = CERTGATE_REVOCATION_UNKNOWN;
    } else if (!crl_service_get(c->rt->ocsp, url, issuer, &o, &c->w->wake, &crl, why,
                                sizeof(why))) {
        free(url);
        return VERDICT_PENDING;
    } else if (crl == NULL) {
        snprintf(detail, detail_len, "revocation status is unknown: %.440s", why);
        r = CERTGATE_REVOCATION_UNKNOWN;
    } else {
        r = certgate_crl_check(crl, c->cert.leaf, 0, CERTGATE_OCSP_DEFAULT_SKEW, detail,
                               detail_len);
    }
    X509_CRL_free(crl);
    free(url);
    if (r == CERTGATE_REVOCATION_UNKNOWN && rv->fail_open) {
        atomic_fetch_add(&c->rt->metrics->revocation_fail_open, 1);
        return CERTGATE_OK;
    }
    return r;
}

enum certgate_reason verdict_of(struct conn *c, const struct rt_policy *p, char *detail,
                                size_t detail_len)
{
    if (c->cert.leaf == NULL) {
        snprintf(detail, detail_len,
                 "this resource requires a client certificate and none was sent");
        return CERTGATE_NOT_FOUND;
    }
    struct certgate_judgement local;
    const struct certgate_judgement *j = NULL;
    struct verdict_key k;
    int cacheable = chain_hash(c) == 0;
    if (cacheable) {
        memcpy(k.chain, c->cert.chain_hash, sizeof(k.chain));
        k.generation = c->rt->generation;
        k.policy = p->index;
        j = verdict_cache_get(&c->w->verdicts, &k);
    }
    atomic_fetch_add(
        j ? &c->rt->metrics->verdict_cache_hits : &c->rt->metrics->verdict_cache_misses, 1);
    if (j == NULL) {
        certgate_policy_judge(p->policy, c->cert.leaf, c->cert.chain, &local, NULL, NULL);
        if (cacheable)
            verdict_cache_put(&c->w->verdicts, &k, &local);
        j = &local;
    }
    if (p->cfg->revocation.fail_open &&
        (j->revocation == CERTGATE_REVOCATION_UNKNOWN || j->crl_next_update)) {
        local = *j; /* fail: open — an unknown status, a stale CRL too, lets the client in */
        if (local.revocation == CERTGATE_REVOCATION_UNKNOWN)
            local.revocation = CERTGATE_OK;
        local.crl_this_update = local.crl_next_update = 0;
        j = &local;
    }
    enum certgate_reason r = certgate_judgement_at(j, 0, detail, detail_len);
    /* OCSP and fetched CRLs come before the allowlist (SPEC order): a revoked
     * certificate is Revoked even when it is not on the list either */
    const struct cfg_revocation *rv = &p->cfg->revocation;
    if ((r != CERTGATE_OK && r != CERTGATE_IDENTITY_NOT_MATCHED) ||
        !(rv->mode == REV_OCSP || (rv->mode == REV_CRL && rv->crl_fetch)))
        return r;
    char odetail[512] = "";
    enum certgate_reason o = rv->mode == REV_OCSP ? verdict_ocsp(c, p, odetail, sizeof(odetail))
                                                  : verdict_crl_dp(c, p, odetail, sizeof(odetail));
    if (o == CERTGATE_OK)
        return r;
    snprintf(detail, detail_len, "%s", odetail);
    return o;
}

int verdict_status(const struct rt_policy *p, enum certgate_reason r)
{
    if (p && (size_t)r < CFG_REASONS && p->cfg->status[r])
        return p->cfg->status[r];
    return certgate_reason_status(r);
}

enum certgate_reason verdict_tls_gate(SSL *ssl, X509 *leaf, STACK_OF(X509) *chain, char *detail,
                                      size_t detail_len)
{
    struct conn *c = SSL_get_app_data(ssl);
    if (c == NULL || c->l->gate == NULL)
        return CERTGATE_OK;
    if (c->cert.leaf == NULL) {
        X509_up_ref(leaf);
        c->cert.leaf = leaf;
        c->cert.chain = chain ? X509_chain_up_ref(chain) : NULL;
    }
    enum certgate_reason r = verdict_of(c, c->l->gate, detail, detail_len);
    if (r == VERDICT_PENDING)
        return CERTGATE_OK; /* still asking OCSP: the first request decides, over HTTP */
    if (r != CERTGATE_OK) {
        /* refused by a TLS alert: the log is the only place that says why */
        if (!c->cert.id_ok)
            c->cert.id_ok = certgate_identity_from_x509(leaf, &c->cert.id) == 0;
        if ((size_t)r < METRICS_REASONS)
            atomic_fetch_add(&c->rt->metrics->rejections_by_reason[r], 1);
        log_reject(c, r, detail);
    }
    return r;
}

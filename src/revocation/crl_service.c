/* CRLs from the client certificates' distribution points: a cache by URL shared by every
 * worker, filled by the OCSP service thread's fetch jobs (docs/revocation.md). */
#include "revocation/ocsp_service.h"
#include "revocation/ocsp_service_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <certgate/crl.h>

static struct crl_entry *crl_slot(struct ocsp_service *s, const unsigned char *key)
{
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    return &s->crls[h % CRL_SLOTS];
}

/* Until when a CRL is used without asking again: its nextUpdate, at most <cache_ms>; a CRL
 * already past its nextUpdate is asked for again soon (the CA may have published since). */
static uint64_t crl_ttl(X509_CRL *crl, uint64_t cache_ms)
{
    const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
    int days = 0, secs = 0;
    if (nu == NULL || ASN1_TIME_diff(&days, &secs, NULL, nu) != 1)
        return cache_ms;
    int64_t left = (int64_t)days * 86400 + secs;
    if (left <= 0)
        return ERROR_CACHE_MS;
    return (uint64_t)left * 1000u < cache_ms ? (uint64_t)left * 1000u : cache_ms;
}

void crl_finish(struct job *j, X509_CRL *crl, const char *why)
{
    struct ocsp_service *s = j->s;
    uv_async_t *wake[MAX_WAITERS];
    X509_CRL *old = NULL;
    X509 *old_signer = NULL;
    int n = 0;
    if (j->done) {
        X509_CRL_free(crl);
        return;
    }
    j->done = 1;
    uv_mutex_lock(&s->lock);
    struct crl_entry *e = crl_slot(s, j->key);
    if (s->muted || memcmp(e->key, j->key, 32) != 0 || e->state != E_PENDING) {
        e->n_waiters = s->muted ? 0 : e->n_waiters;
        uv_mutex_unlock(&s->lock);
        X509_CRL_free(crl);
        return;
    }
    e->state = E_DONE;
    if (crl != NULL) {
        old = e->crl;
        old_signer = e->signer;
        e->crl = crl;
        e->signer = j->issuer;
        X509_up_ref(j->issuer);
        e->why[0] = '\0';
        e->expires_ms = ocsp_now_ms() + crl_ttl(crl, j->cache_ms);
    } else {
        /* keep the last good CRL (its own dates still judge it); ask again soon */
        snprintf(e->why, sizeof(e->why), "the CRL distribution point %s %s", j->url,
                 why ? why : "failed");
        e->expires_ms = ocsp_now_ms() + ERROR_CACHE_MS;
    }
    n = e->n_waiters;
    memcpy(wake, e->waiters, (size_t)n * sizeof(*wake));
    e->n_waiters = 0;
    uv_mutex_unlock(&s->lock);
    X509_CRL_free(old);
    X509_free(old_signer);
    for (int i = 0; i < n; i++)
        uv_async_send(wake[i]);
}

static void url_key(const char *url, unsigned char *key)
{
    unsigned int klen = 0;
    memset(key, 0, 32);
    EVP_Digest(url, strlen(url), key, &klen, EVP_sha256(), NULL);
}

/* Hand out the entry's CRL (caller holds the lock): 1, or 0 when it has none. */
static int crl_take(struct crl_entry *e, X509 *issuer, X509_CRL **crl, X509 **signer)
{
    if (e->crl == NULL)
        return 0;
    X509_CRL_up_ref(e->crl);
    *crl = e->crl;
    *signer = NULL;
    if (X509_cmp(e->signer, issuer) != 0) {
        X509_up_ref(e->signer);
        *signer = e->signer; /* another issuer's key verified it: the caller checks again */
    }
    return 1;
}

int crl_service_get(struct ocsp_service *s, const char *url, X509 *issuer,
                    const struct crl_options *o, uv_async_t *wake, X509_CRL **crl, char *why,
                    size_t whylen)
{
    unsigned char key[32];
    X509 *signer = NULL;
    struct job *j = NULL;
    int start = 0, known = 1;
    *crl = NULL;
    why[0] = '\0';
    url_key(url, key);
    uv_mutex_lock(&s->lock);
    struct crl_entry *e = crl_slot(s, key);
    if (s->muted) {
        snprintf(why, whylen, "the CRL distribution point %s is not asked while certgate stops",
                 url);
        uv_mutex_unlock(&s->lock);
        return 1;
    }
    if (memcmp(e->key, key, 32) != 0 || e->state == E_EMPTY) {
        /* a slot another URL holds (or none): take it over */
        X509_CRL_free(e->crl);
        X509_free(e->signer);
        uv_async_t *keep[MAX_WAITERS];
        int n_keep = e->state == E_PENDING ? e->n_waiters : 0;
        memcpy(keep, e->waiters, (size_t)n_keep * sizeof(*keep));
        memset(e, 0, sizeof(*e));
        memcpy(e->key, key, 32);
        memcpy(e->waiters, keep, (size_t)n_keep * sizeof(*keep));
        e->n_waiters = n_keep;
        start = 1;
    } else if (e->state == E_DONE && ocsp_now_ms() >= e->expires_ms) {
        start = 1; /* time to refresh: the current CRL answers meanwhile */
    }
    if (start)
        e->state = E_PENDING;
    if (!crl_take(e, issuer, crl, &signer)) {
        if (e->state == E_PENDING) {
            int seen = 0;
            for (int i = 0; i < e->n_waiters; i++)
                seen |= e->waiters[i] == wake;
            if (!seen && e->n_waiters < MAX_WAITERS)
                e->waiters[e->n_waiters++] = wake;
            known = 0;
        } else {
            snprintf(why, whylen, "%s", e->why);
        }
    }
    if (start) {
        j = calloc(1, sizeof(*j));
        char err[300];
        if (j == NULL || certgate_ocsp_url_parse(url, &j->target, err, sizeof(err)) != 0) {
            /* cannot even ask: remember why, like a failed fetch */
            snprintf(e->why, sizeof(e->why), "the CRL distribution point %s cannot be used: %s",
                     url, j ? err : "out of memory");
            e->state = E_DONE;
            e->expires_ms = ocsp_now_ms() + ERROR_CACHE_MS;
            free(j);
            j = NULL;
            if (!known) {
                e->n_waiters = 0;
                snprintf(why, whylen, "%s", e->why);
                known = 1;
            }
        } else {
            j->s = s;
            j->kind = JOB_CRL;
            memcpy(j->key, key, 32);
            snprintf(j->url, sizeof(j->url), "%s", url);
            X509_up_ref(issuer);
            j->issuer = issuer;
            j->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
            j->cache_ms = o->cache_ms ? o->cache_ms : 300000;
            j->next = s->queue;
            s->queue = j;
        }
    }
    uv_mutex_unlock(&s->lock);
    if (j != NULL)
        uv_async_send(&s->wake);
    if (*crl != NULL && signer != NULL) {
        char err[300];
        if (certgate_crl_signed_by(*crl, issuer, err, sizeof(err)) != 0) {
            snprintf(why, whylen, "the CRL from %s cannot be used: %s", url, err);
            X509_CRL_free(*crl);
            *crl = NULL;
        }
        X509_free(signer);
    }
    return known;
}

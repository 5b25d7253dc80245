#include "tls/tls_staple.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "config/config.h"
#include "revocation/ocsp_service.h"
#include "revocation/ocsp_staple.h"

struct staple_slot {
    X509 *leaf; /* as the context holds it: SSL_get_certificate() of a handshake */
    struct ocsp_staple *st;
};

struct tls_staples {
    struct staple_slot *slots;
    size_t n;
};

struct tls_staples *tls_staples_new(const struct cfg_listener *l, X509 *const *leaves, char *err,
                                    size_t errlen)
{
    struct staple_options o = {l->stapling.responder, l->stapling.timeout_ms, l->stapling.retry_ms,
                               l->name};
    struct tls_staples *sp = calloc(1, sizeof(*sp));
    if (sp == NULL || (sp->slots = calloc(l->n_certs, sizeof(*sp->slots))) == NULL) {
        free(sp);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < l->n_certs; i++) {
        X509 *leaf, *issuer;
        char why[400];
        if (config_staple_pair(l, i, &leaf, &issuer, err, errlen) != 0)
            goto fail;
        sp->slots[i].leaf = leaves[i];
        sp->slots[i].st = ocsp_staple_new(leaves[i], issuer, &o, why, sizeof(why));
        X509_free(leaf);
        X509_free(issuer);
        if (sp->slots[i].st == NULL) {
            snprintf(err, errlen, "listener '%s': ocsp_stapling: %s", l->name, why);
            goto fail;
        }
        sp->n = i + 1;
    }
    return sp;
fail:
    tls_staples_free(sp);
    return NULL;
}

/* The client sent status_request: staple the response of the certificate chosen, if one is
 * current; else nothing (the handshake goes on without it). */
static int on_status(SSL *ssl, void *arg)
{
    const struct tls_staples *sp = arg;
    X509 *x = SSL_get_certificate(ssl);
    unsigned char *der = NULL;
    size_t len = 0;
    for (size_t i = 0; x != NULL && der == NULL && i < sp->n; i++)
        if (sp->slots[i].leaf == x || X509_cmp(sp->slots[i].leaf, x) == 0)
            der = ocsp_staple_copy(sp->slots[i].st, time(NULL), &len);
    if (der == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    if (SSL_set_tlsext_status_ocsp_resp(ssl, der, (long)len) != 1) {
        OPENSSL_free(der);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

void tls_staples_install(struct tls_staples *sp, SSL_CTX *ctx)
{
    SSL_CTX_set_tlsext_status_cb(ctx, on_status);
    SSL_CTX_set_tlsext_status_arg(ctx, sp);
}

void tls_staples_start(struct tls_staples *sp, struct ocsp_service *s)
{
    for (size_t i = 0; sp != NULL && s != NULL && i < sp->n; i++)
        ocsp_service_staple(s, sp->slots[i].st);
}

void tls_staples_free(struct tls_staples *sp)
{
    if (sp == NULL)
        return;
    for (size_t i = 0; i < sp->n; i++)
        ocsp_staple_release(sp->slots[i].st);
    free(sp->slots);
    free(sp);
}

size_t tls_staples_count(const struct tls_staples *sp)
{
    return sp ? sp->n : 0;
}

struct ocsp_staple *tls_staples_get(const struct tls_staples *sp, size_t i)
{
    return sp->slots[i].st;
}

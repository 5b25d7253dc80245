/* tls.ocsp_stapling: the key, and the check that every certificate of the listener can be
 * stapled (a responder to ask, an issuer to name in the request), made at load so that
 * `certgate check` and a reload refuse what the OCSP thread could never fetch. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <certgate/certgate.h>
#include <certgate/ocsp.h>

#include "config/config_internal.h"

/* ---- the key: false | true | {responder, timeout, retry} ---- */

static int h_responder(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                       void *obj, const struct key_rule *r)
{
    struct certgate_ocsp_url u;
    char why[256];

    if (ld_str(ld, key, val, obj, r))
        return -1;
    if (certgate_ocsp_url_parse(val->str, &u, why, sizeof(why)) != 0)
        return ld_error(ld, val, "invalid OCSP responder '%s' for 'responder': %s", val->str, why);
    return 0;
}

static const struct key_rule stapling_rules[] = {
    {"responder", h_responder, offsetof(struct cfg_ocsp_stapling, responder), 0, 0, NULL, NULL, 0},
    {"timeout", ld_duration, offsetof(struct cfg_ocsp_stapling, timeout_ms), 0, 0, NULL, NULL, 0},
    {"retry", ld_duration, offsetof(struct cfg_ocsp_stapling, retry_ms), 0, 0, NULL, NULL, 0},
};

int ld_ocsp_stapling(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                     void *obj, const struct key_rule *r)
{
    struct cfg_ocsp_stapling *s = &((struct cfg_listener *)obj)->stapling;
    struct rule_set set = {stapling_rules, N_RULES(stapling_rules), s, 0};
    char buf[64];

    if (val->type == YT_SCALAR && val->plain &&
        (strcmp(val->str, "true") == 0 || strcmp(val->str, "false") == 0)) {
        s->enabled = val->str[0] == 't';
        return 0;
    }
    if (val->type != YT_MAP)
        return ld_error(ld, val, "expected true, false or a mapping for 'ocsp_stapling', got %s",
                        ld_describe(val, buf, sizeof(buf)));
    s->enabled = 1;
    return ld_walk(ld, val, "in 'ocsp_stapling'", &set, 1);
}

/* ---- certificates and their issuers ---- */

static STACK_OF(X509) *pem_chain(const char *path, char *msg, size_t n)
{
    size_t len;
    char *buf = cfg_read_file(path, path, &len, msg, n);
    STACK_OF(X509) *chain = buf ? sk_X509_new_null() : NULL;
    BIO *bio = chain ? BIO_new_mem_buf(buf, (int)len) : NULL;
    X509 *x;

    if (buf && bio == NULL)
        snprintf(msg, n, "out of memory reading '%s'", path);
    while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        if (!sk_X509_push(chain, x))
            X509_free(x);
    if (chain && sk_X509_num(chain) == 0) {
        if (bio)
            snprintf(msg, n, "no certificate found in '%s'", path);
        sk_X509_free(chain);
        chain = NULL;
    }
    ERR_clear_error();
    BIO_free(bio);
    free(buf);
    return chain;
}

static STACK_OF(X509) *p12_chain(const struct cfg_cert *c, char *msg, size_t n)
{
    struct cfg_error err;
    char *pass = config_cert_password(c, &err), *buf = NULL;
    const unsigned char *p;
    size_t len = 0;
    PKCS12 *p12 = NULL;
    EVP_PKEY *key = NULL;
    X509 *leaf = NULL;
    STACK_OF(X509) *ca = NULL, *chain = NULL;

    if (pass == NULL) {
        snprintf(msg, n, "%s", err.msg);
        return NULL;
    }
    buf = cfg_read_file(c->pkcs12, c->pkcs12, &len, msg, n);
    p = (const unsigned char *)buf;
    if (buf && ((p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL ||
                !PKCS12_parse(p12, pass, &key, &leaf, &ca) || leaf == NULL))
        snprintf(msg, n, "cannot open PKCS#12 '%s'", c->pkcs12);
    else if (buf && (ca != NULL || (ca = sk_X509_new_null()) != NULL) &&
             sk_X509_insert(ca, leaf, 0)) {
        chain = ca; /* the leaf first, as in a PEM file */
        ca = NULL;
        leaf = NULL;
    }
    ERR_clear_error();
    sk_X509_pop_free(ca, X509_free);
    X509_free(leaf);
    EVP_PKEY_free(key);
    PKCS12_free(p12);
    if (buf)
        OPENSSL_cleanse(buf, len);
    free(buf);
    config_password_free(pass);
    return chain;
}

/* The certificate file of <c> as a list, the leaf first, then its chain (a PEM file's
 * certificates after the leaf, a PKCS#12's CA certificates). NULL with a sentence. */
static STACK_OF(X509) *cert_chain(const struct cfg_cert *c, char *msg, size_t n)
{
    return c->pkcs12 ? p12_chain(c, msg, n) : pem_chain(c->cert, msg, n);
}

/* A certificate of <list> (from <from> on) that issued and signed <leaf>, up-ref'd, or NULL. */
static X509 *issuer_in(X509 *leaf, STACK_OF(X509) *list, int from)
{
    EVP_PKEY *key;

    for (int i = from; list && i < sk_X509_num(list); i++) {
        X509 *x = sk_X509_value(list, i);
        if (X509_cmp(x, leaf) == 0 || X509_check_issued(x, leaf) != X509_V_OK)
            continue;
        key = X509_get0_pubkey(x);
        if (key == NULL || X509_verify(leaf, key) != 1)
            continue;
        X509_up_ref(x);
        ERR_clear_error();
        return x;
    }
    ERR_clear_error();
    return NULL;
}

/* The issuer of certificate <i>'s leaf: in its own chain, else in another certificate of the
 * listener (its leaf or chain). Up-ref'd, or NULL. */
static X509 *find_issuer(const struct cfg_listener *l, size_t i, X509 *leaf, STACK_OF(X509) *own)
{
    X509 *found = issuer_in(leaf, own, 1);
    char ignored[256];

    for (size_t k = 0; found == NULL && k < l->n_certs; k++) {
        STACK_OF(X509) *other = k == i ? NULL : cert_chain(&l->certs[k], ignored, sizeof(ignored));
        found = issuer_in(leaf, other, 0);
        sk_X509_pop_free(other, X509_free);
    }
    return found;
}

/* "'CN=...'" of <x>, for sentences. */
static void subject_of(X509 *x, char *out, size_t n)
{
    struct certgate_identity id;

    if (certgate_identity_from_x509(x, &id) != 0) {
        snprintf(out, n, "(unreadable)");
        return;
    }
    snprintf(out, n, "'%s'", id.subject);
    certgate_identity_free(&id);
}

/* The responder of <leaf> can be asked: a URL (the override or an http:// AIA URL) and an
 * issuer. 0, or -1 with the sentence's end in <msg>. */
static int check_request(const struct cfg_listener *l, X509 *leaf, X509 *issuer,
                         const char *subject, char *msg, size_t n)
{
    char *aia = l->stapling.responder ? NULL : certgate_ocsp_aia_url(leaf);
    char err[400];
    struct certgate_ocsp_request *req;

    if (l->stapling.responder == NULL && aia == NULL) {
        snprintf(msg, n,
                 "certificate %s has no OCSP responder (no AIA OCSP URL); set "
                 "tls.ocsp_stapling.responder",
                 subject);
        return -1;
    }
    free(aia);
    if (issuer == NULL) {
        snprintf(msg, n,
                 "the issuer of certificate %s is not available: put it in the certificate file "
                 "after the leaf (or in the PKCS#12), or in another certificate of the listener",
                 subject);
        return -1;
    }
    req = certgate_ocsp_request_new(leaf, issuer, 0, l->stapling.responder, err, sizeof(err));
    if (req == NULL) {
        snprintf(msg, n, "%s", err);
        return -1;
    }
    certgate_ocsp_request_free(req);
    return 0;
}

int config_staple_pair(const struct cfg_listener *l, size_t i, X509 **leaf, X509 **issuer,
                       char *msg, size_t n)
{
    char why[700], subject[300];
    STACK_OF(X509) *own = cert_chain(&l->certs[i], why, sizeof(why));
    X509 *x = own ? sk_X509_value(own, 0) : NULL;
    X509 *found = x ? find_issuer(l, i, x, own) : NULL;
    int rc = -1;

    *leaf = *issuer = NULL;
    if (x != NULL) {
        subject_of(x, subject, sizeof(subject));
        rc = check_request(l, x, found, subject, why, sizeof(why));
    }
    if (rc == 0) {
        X509_up_ref(x);
        *leaf = x;
        *issuer = found;
        found = NULL;
    } else {
        snprintf(msg, n, "listener '%s': ocsp_stapling: %s", l->name, why);
    }
    X509_free(found);
    sk_X509_pop_free(own, X509_free);
    return rc;
}

int cfg_check_stapling(struct loader *ld, const struct yt_node *at, const struct cfg_listener *l)
{
    char msg[sizeof(ld->err->msg)];
    X509 *leaf, *issuer;

    for (size_t i = 0; l->stapling.enabled && i < l->n_certs; i++) {
        if (config_staple_pair(l, i, &leaf, &issuer, msg, sizeof(msg)) != 0)
            return ld_error(ld, at, "%s", msg);
        X509_free(leaf);
        X509_free(issuer);
    }
    return 0;
}

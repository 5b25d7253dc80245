/* Chain and validity verdicts against a trust anchor set (SPEC §4), and the loaders and
 * sentences the policy engine (cert_policy.c) shares with it.
 * Built once, read by every worker thread: nothing here writes to a shared object after
 * certgate_trust_new returns. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "certgate/certgate.h"
#include "cert_internal.h"

struct certgate_trust {
    X509_STORE *store;             /* verify parameters; where CRLs will be added */
    STACK_OF(X509) *roots;         /* the store's anchors, searched without the store lock */
    STACK_OF(X509) *intermediates; /* untrusted helpers, shared read-only by every call */
};

void cert_text_set(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;
    size_t end, start, need;

    if (buf == NULL || len == 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        buf[0] = '\0';
        return;
    }
    if ((size_t)n < len)
        return;
    /* Truncated: drop a UTF-8 sequence the cut left incomplete. */
    end = len - 1;
    start = end;
    while (start > 0 && ((unsigned char)buf[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0)
        return;
    start--;
    need = 1;
    if (((unsigned char)buf[start] & 0xE0) == 0xC0)
        need = 2;
    else if (((unsigned char)buf[start] & 0xF0) == 0xE0)
        need = 3;
    else if (((unsigned char)buf[start] & 0xF8) == 0xF0)
        need = 4;
    if (start + need > end)
        buf[start] = '\0';
}

/* What load_objects reads: certificates or CRLs. */
struct load_kind {
    const char *noun; /* "certificate", "CRL": in messages */
    void *(*pem)(BIO *bio);
    void *(*der)(BIO *bio);
    int (*push)(void *stack, void *obj);
    void (*free)(void *obj);
};

/* _AUX also reads "TRUSTED CERTIFICATE" blocks, as `openssl` writes them. */
static void *pem_cert(BIO *bio)
{
    return PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
}
static void *der_cert(BIO *bio)
{
    return d2i_X509_bio(bio, NULL);
}
static int push_cert(void *sk, void *x)
{
    return sk_X509_push(sk, x);
}
static void free_cert(void *x)
{
    X509_free(x);
}
static void *pem_crl(BIO *bio)
{
    return PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
}
static void *der_crl(BIO *bio)
{
    return d2i_X509_CRL_bio(bio, NULL);
}
static int push_crl(void *sk, void *x)
{
    return sk_X509_CRL_push(sk, x);
}
static void free_crl(void *x)
{
    X509_CRL_free(x);
}

static const struct load_kind certs_kind = {"certificate", pem_cert, der_cert, push_cert,
                                            free_cert};
static const struct load_kind crls_kind = {"CRL", pem_crl, der_crl, push_crl, free_crl};

/* Append every object of <path> (PEM blocks, or one DER object) to <out>.
 * Returns how many, or -1 with <err> set. */
static int load_objects(const char *path, const char *what, const struct load_kind *k, void *out,
                        char *err, size_t errlen)
{
    BIO *bio;
    void *x;
    unsigned long e;
    int n = 0;

    if (path == NULL) {
        cert_text_set(err, errlen, "%s file name is missing", what);
        return -1;
    }
    ERR_set_mark();
    bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        int saved = errno;
        ERR_pop_to_mark();
        cert_text_set(err, errlen, "cannot open %s file %s: %s", what, path,
                      saved != 0 ? strerror(saved) : "unreadable");
        return -1;
    }
    while ((x = k->pem(bio)) != NULL) {
        if (!k->push(out, x)) {
            k->free(x);
            goto fail_alloc;
        }
        n++;
    }
    e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
        ERR_pop_to_mark();
        cert_text_set(err, errlen, "%s file %s: %s %d is not valid PEM", what, path, k->noun,
                      n + 1);
        BIO_free(bio);
        return -1;
    }
    ERR_pop_to_mark();
    if (n == 0) {
        /* a single DER object is accepted too, as CAs publish CRLs */
        ERR_set_mark();
        if (BIO_reset(bio) == 0 && (x = k->der(bio)) != NULL) {
            if (!k->push(out, x)) {
                k->free(x);
                goto fail_alloc;
            }
            n = 1;
        }
        ERR_pop_to_mark();
    }
    BIO_free(bio);
    if (n == 0)
        cert_text_set(err, errlen, "%s file %s holds no %s", what, path, k->noun);
    return n > 0 ? n : -1;
fail_alloc:
    ERR_pop_to_mark();
    BIO_free(bio);
    cert_text_set(err, errlen, "out of memory reading %s file %s", what, path);
    return -1;
}

int cert_load_certs(const char *path, const char *what, STACK_OF(X509) *out, char *err,
                    size_t errlen)
{
    return load_objects(path, what, &certs_kind, out, err, errlen);
}

int cert_load_crls(const char *path, STACK_OF(X509_CRL) *out, char *err, size_t errlen)
{
    return load_objects(path, "CRL", &crls_kind, out, err, errlen);
}

/* Concurrent verifications then never take a certificate's write lock. */
void cert_warm_extensions(STACK_OF(X509) *sk)
{
    int i;

    for (i = 0; i < sk_X509_num(sk); i++)
        X509_check_purpose(sk_X509_value(sk, i), -1, 0);
}

struct certgate_trust *certgate_trust_new(const char *const *ca_files, size_t n_ca,
                                          const char *const *intermediate_files,
                                          size_t n_intermediates, char *err, size_t errlen)
{
    struct certgate_trust *t;
    size_t i;
    int k;

    cert_text_set(err, errlen, "%s", "");
    if (n_ca == 0 || ca_files == NULL) {
        cert_text_set(err, errlen, "no trusted CA file given");
        return NULL;
    }
    if (n_intermediates > 0 && intermediate_files == NULL) {
        cert_text_set(err, errlen, "intermediate file names are missing");
        return NULL;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        goto oom;
    t->store = X509_STORE_new();
    t->roots = sk_X509_new_null();
    t->intermediates = sk_X509_new_null();
    if (t->store == NULL || t->roots == NULL || t->intermediates == NULL)
        goto oom;
    for (i = 0; i < n_ca; i++)
        if (cert_load_certs(ca_files[i], "CA", t->roots, err, errlen) < 0)
            goto fail;
    for (i = 0; i < n_intermediates; i++)
        if (cert_load_certs(intermediate_files[i], "intermediate", t->intermediates, err, errlen) <
            0)
            goto fail;
    for (k = 0; k < sk_X509_num(t->roots); k++)
        if (!X509_STORE_add_cert(t->store, sk_X509_value(t->roots, k)))
            goto oom;
    cert_warm_extensions(t->roots);
    cert_warm_extensions(t->intermediates);
    return t;
oom:
    cert_text_set(err, errlen, "out of memory loading trust anchors");
fail:
    certgate_trust_free(t);
    return NULL;
}

void certgate_trust_free(struct certgate_trust *t)
{
    if (t == NULL)
        return;
    X509_STORE_free(t->store);
    sk_X509_pop_free(t->roots, X509_free);
    sk_X509_pop_free(t->intermediates, X509_free);
    free(t);
}

/* Errors meaning no path to an anchor could be built. */
static int is_chain_error(int err)
{
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
        return 1;
    default:
        return 0;
    }
}

void cert_chain_error_detail(X509_STORE_CTX *ctx, X509 *leaf, char *buf, size_t len)
{
    int err = X509_STORE_CTX_get_error(ctx);
    X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
    char *leaf_dn = cert_dn_format(X509_get_subject_name(leaf));
    char *cur_dn;
    const char *ldn = leaf_dn != NULL ? leaf_dn : "(unprintable)";
    const char *cdn, *what = X509_verify_cert_error_string(err);

    if (cur == NULL)
        cur = leaf;
    cur_dn = cert_dn_format(X509_get_subject_name(cur));
    cdn = cur_dn != NULL ? cur_dn : "(unprintable)";
    if (is_chain_error(err) && cur == leaf)
        cert_text_set(buf, len, "no chain to a trusted CA for '%s' (%s)", ldn, what);
    else if (is_chain_error(err))
        cert_text_set(buf, len, "no chain to a trusted CA for '%s' (%s for '%s')", ldn, what, cdn);
    else if (cur == leaf)
        cert_text_set(buf, len, "certificate '%s' is not trusted (%s)", ldn, what);
    else
        cert_text_set(buf, len, "chain of '%s' is not trusted (%s at '%s')", ldn, what, cdn);
    free(leaf_dn);
    free(cur_dn);
}

/* Turn a failed X509_verify_cert into a reason and a sentence naming the certificate. */
static enum certgate_reason verdict_of(X509_STORE_CTX *ctx, X509 *leaf, char *detail,
                                       size_t detail_len)
{
    int err = X509_STORE_CTX_get_error(ctx);
    X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
    char *leaf_dn, *cur_dn;
    const char *verb;
    const ASN1_TIME *t;
    char when[CERT_TIME_LEN];
    int expired;

    if (err != X509_V_ERR_CERT_HAS_EXPIRED && err != X509_V_ERR_CERT_NOT_YET_VALID) {
        cert_chain_error_detail(ctx, leaf, detail, detail_len);
        return CERTGATE_NOT_TRUSTED;
    }
    if (cur == NULL)
        cur = leaf;
    expired = err == X509_V_ERR_CERT_HAS_EXPIRED;
    t = expired ? X509_get0_notAfter(cur) : X509_get0_notBefore(cur);
    verb = expired ? "expired on" : "is not valid before";
    if (cert_time_format(t, when) != 0)
        snprintf(when, sizeof(when), "%s", "an unreadable date");
    leaf_dn = cert_dn_format(X509_get_subject_name(leaf));
    cur_dn = cert_dn_format(X509_get_subject_name(cur));
    if (cur == leaf)
        cert_text_set(detail, detail_len, "certificate '%s' %s %s",
                      cur_dn != NULL ? cur_dn : "(unprintable)", verb, when);
    else
        cert_text_set(detail, detail_len, "issuer certificate '%s' of '%s' %s %s",
                      cur_dn != NULL ? cur_dn : "(unprintable)",
                      leaf_dn != NULL ? leaf_dn : "(unprintable)", verb, when);
    free(leaf_dn);
    free(cur_dn);
    return expired ? CERTGATE_EXPIRED : CERTGATE_NOT_YET_VALID;
}

STACK_OF(X509) *cert_untrusted_join(STACK_OF(X509) *presented, STACK_OF(X509) *helpers)
{
    STACK_OF(X509) *sk = sk_X509_dup(presented);
    int i;

    for (i = 0; sk != NULL && i < sk_X509_num(helpers); i++) {
        if (!sk_X509_push(sk, sk_X509_value(helpers, i))) {
            sk_X509_free(sk);
            return NULL;
        }
    }
    return sk;
}

enum certgate_reason certgate_verify_chain(const struct certgate_trust *t, X509 *leaf,
                                           STACK_OF(X509) *presented, time_t at,
                                           STACK_OF(X509) **chain_out, char *detail,
                                           size_t detail_len)
{
    STACK_OF(X509) *untrusted, *joined = NULL;
    X509_STORE_CTX *ctx = NULL;
    enum certgate_reason r;

    if (chain_out != NULL)
        *chain_out = NULL;
    cert_text_set(detail, detail_len, "%s", "");
    if (leaf == NULL) {
        cert_text_set(detail, detail_len, "no client certificate was presented");
        return CERTGATE_NOT_FOUND;
    }
    if (t == NULL) {
        cert_text_set(detail, detail_len, "no trusted CA is configured");
        return CERTGATE_NOT_TRUSTED;
    }
    /* Leave the caller's OpenSSL error queue as it was. */
    ERR_set_mark();
    untrusted = t->intermediates;
    if (presented != NULL && sk_X509_num(presented) > 0) {
        /* The peer's own chain first; without one the prebuilt stack is used as is. */
        joined = cert_untrusted_join(presented, t->intermediates);
        if (joined == NULL)
            goto internal;
        untrusted = joined;
    }
    ctx = X509_STORE_CTX_new();
    if (ctx == NULL || !X509_STORE_CTX_init(ctx, t->store, leaf, untrusted))
        goto internal;
    /* Anchors from a plain stack: look-ups take no X509_STORE lock (the store is kept for CRLs). */
    X509_STORE_CTX_set0_trusted_stack(ctx, t->roots);
    if (at != 0)
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
    /* No purpose yet: the verdict is chain and validity only. The clientAuth EKU check
     * (require_client_auth_eku) comes with the policy, as X509_PURPOSE_SSL_CLIENT here. */
    if (X509_verify_cert(ctx) != 1) {
        r = verdict_of(ctx, leaf, detail, detail_len);
        goto out;
    }
    if (chain_out != NULL) {
        *chain_out = X509_STORE_CTX_get1_chain(ctx);
        if (*chain_out == NULL)
            goto internal;
    }
    r = CERTGATE_OK;
    goto out;
internal:
    /* Fail closed: a verification that could not run is not an acceptance. */
    r = CERTGATE_NOT_TRUSTED;
    cert_text_set(detail, detail_len, "certificate could not be verified (out of memory)");
out:
    X509_STORE_CTX_free(ctx);
    sk_X509_free(joined);
    ERR_pop_to_mark();
    return r;
}

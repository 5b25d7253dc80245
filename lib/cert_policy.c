/* Policies: chain, allowed issuers, depth, EKU, key strength, CRLs and allowlists judged in
 * one pass (SPEC §4, §7). A policy is built once and then only read, by any number of threads;
 * a judgement leaves time out so that callers can cache it, and judgement_at applies the time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "certgate/policy.h"
#include "cert_internal.h"

static const char *const check_names[CERTGATE_CHECK_COUNT] = {
    "chain", "issuer", "depth", "eku", "key", "validity", "revocation", "identity",
};

const char *certgate_check_name(enum certgate_check c)
{
    return (int)c >= 0 && c < CERTGATE_CHECK_COUNT ? check_names[c] : "unknown";
}

/* ---- OpenSSL hooks, set on the policy's store at build ---- */

static CRYPTO_ONCE hooks_once = CRYPTO_ONCE_STATIC_INIT;
static X509_STORE_CTX_check_crl_fn default_check_crl;

/* OpenSSL's own CRL check, which a store without a hook hands to every context. */
static void hooks_init(void)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();

    if (store != NULL && ctx != NULL && X509_STORE_CTX_init(ctx, store, NULL, NULL))
        default_check_crl = X509_STORE_CTX_get_check_crl(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
}

static int is_crl_error(int err)
{
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
        return 1;
    default:
        return 0;
    }
}

/* Purpose and CRL problems are the EKU and revocation checks' to report, not a broken chain:
 * note them and let OpenSSL go on; anything else ends the verification. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    struct cert_run *r = X509_STORE_CTX_get_app_data(ctx);
    int err = X509_STORE_CTX_get_error(ctx);

    if (ok || r == NULL)
        return ok;
    if (err == X509_V_ERR_INVALID_PURPOSE) {
        if (X509_STORE_CTX_get_error_depth(ctx) == 0 &&
            cert_any_eku_ok(X509_STORE_CTX_get_current_cert(ctx), r->eku))
            return 1;
        if (r->eku_depth < 0)
            r->eku_depth = X509_STORE_CTX_get_error_depth(ctx);
        return 1;
    }
    if (err == X509_V_ERR_CERT_REVOKED) {
        X509 *x = X509_STORE_CTX_get_current_cert(ctx);
        X509_CRL *crl = X509_STORE_CTX_get0_current_crl(ctx);
        if (!r->revoked && x != NULL && X509_up_ref(x))
            r->revoked_cert = x;
        if (!r->revoked && crl != NULL && X509_CRL_up_ref(crl))
            r->revoked_crl = crl;
        r->revoked = 1;
        return 1;
    }
    if (err == X509_V_ERR_UNABLE_TO_GET_CRL && X509_STORE_CTX_get_error_depth(ctx) > 0 &&
        !r->crl_scope_chain)
        return 1; /* scope leaf: no CRL given for a CA's issuer is not an unknown status */
    if (is_crl_error(err) || X509_STORE_CTX_get0_current_crl(ctx) != NULL) {
        if (r->crl_err == X509_V_OK) {
            X509 *x = X509_STORE_CTX_get_current_cert(ctx);
            r->crl_err = err;
            if (x != NULL && X509_STORE_CTX_get_error_depth(ctx) > 0 && X509_up_ref(x))
                r->crl_err_cert = x;
        }
        return 1;
    }
    return 0;
}

/* Record the CRL (and a delta) OpenSSL consults: its dates bound an OK revocation status. */
static int check_crl_hook(X509_STORE_CTX *ctx, X509_CRL *crl)
{
    struct cert_run *r = X509_STORE_CTX_get_app_data(ctx);
    time_t t;

    if (r != NULL) {
        if (r->crl == NULL && X509_CRL_up_ref(crl))
            r->crl = crl;
        if (cert_time_unix(X509_CRL_get0_lastUpdate(crl), &t) != 0)
            r->crl_err = X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD;
        else if (t > r->crl_this)
            r->crl_this = t;
        /* No nextUpdate: the CRL does not say when it goes stale. */
        if (X509_CRL_get0_nextUpdate(crl) != NULL) {
            if (cert_time_unix(X509_CRL_get0_nextUpdate(crl), &t) != 0)
                r->crl_err = X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD;
            else if (r->crl_next == 0 || t < r->crl_next)
                r->crl_next = t;
        }
    }
    return default_check_crl(ctx, crl);
}

/* CRLs come from the context's own list only: the store (and its lock) is never searched. */
static STACK_OF(X509_CRL) *no_store_crls(const X509_STORE_CTX *ctx, const X509_NAME *nm)
{
    return NULL;
}

/* ---- build ---- */

void certgate_policy_free(struct certgate_policy *p)
{
    size_t k, i;

    if (p == NULL)
        return;
    X509_STORE_free(p->store);
    sk_X509_pop_free(p->roots, X509_free);
    sk_X509_pop_free(p->intermediates, X509_free);
    sk_X509_CRL_pop_free(p->crls, X509_CRL_free);
    sk_X509_NAME_pop_free(p->issuer_dns, X509_NAME_free);
    sk_X509_pop_free(p->issuer_certs, X509_free);
    for (k = 0; k < CERTGATE_ALLOW_COUNT; k++) {
        for (i = 0; i < p->n_allow[k]; i++)
            free(p->allow[k][i]);
        free(p->allow[k]);
    }
    free(p);
}

static int load_all(const char *const *files, size_t n, const char *what, STACK_OF(X509) *out,
                    char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (cert_load_certs(files[i], what, out, err, errlen) < 0)
            return -1;
    cert_warm_extensions(out);
    return 0;
}

static int build_lists(struct certgate_policy *p, const struct certgate_policy_spec *spec,
                       char *err, size_t errlen)
{
    size_t i, k;
    int c;

    if (load_all(spec->trusted_ca, spec->n_trusted_ca, "CA", p->roots, err, errlen) != 0 ||
        load_all(spec->intermediates, spec->n_intermediates, "intermediate", p->intermediates, err,
                 errlen) != 0 ||
        load_all(spec->allowed_issuer_files, spec->n_allowed_issuer_files, "allowed issuer",
                 p->issuer_certs, err, errlen) != 0)
        return -1;
    for (i = 0; i < spec->n_allowed_issuer_dns; i++) {
        char why[200];
        X509_NAME *dn = certgate_dn_parse(spec->allowed_issuer_dns[i], why, sizeof(why));

        if (dn == NULL) {
            cert_text_set(err, errlen, "allowed issuer '%s' is not a valid DN: %s",
                          spec->allowed_issuer_dns[i] ? spec->allowed_issuer_dns[i] : "", why);
            return -1;
        }
        if (!sk_X509_NAME_push(p->issuer_dns, dn)) {
            X509_NAME_free(dn);
            goto oom;
        }
    }
    if (spec->n_crl_files > 0) {
        p->crls = sk_X509_CRL_new_null();
        if (p->crls == NULL)
            goto oom;
        for (i = 0; i < spec->n_crl_files; i++)
            if (cert_load_crls(spec->crl_files[i], p->crls, err, errlen) < 0)
                return -1;
        /* The first look-up sorts a CRL's entries under its write lock: do it now. */
        for (c = 0; c < sk_X509_CRL_num(p->crls); c++) {
            X509_REVOKED *rev = NULL;
            ASN1_INTEGER *zero = ASN1_INTEGER_new();

            if (zero == NULL)
                goto oom;
            X509_CRL_get0_by_serial(sk_X509_CRL_value(p->crls, c), &rev, zero);
            ASN1_INTEGER_free(zero);
        }
    }
    for (k = 0; k < CERTGATE_ALLOW_COUNT; k++) {
        if (spec->n_allow[k] == 0)
            continue;
        p->allow[k] = calloc(spec->n_allow[k], sizeof(char *));
        if (p->allow[k] == NULL)
            goto oom;
        for (i = 0; i < spec->n_allow[k]; i++) {
            p->allow[k][i] =
                cert_allow_prepare((enum certgate_allow_kind)k, spec->allow[k][i], err, errlen);
            if (p->allow[k][i] == NULL)
                return -1;
            p->n_allow[k] = i + 1;
        }
        p->has_allow = 1;
    }
    return 0;
oom:
    cert_text_set(err, errlen, "out of memory building the policy");
    return -1;
}

static int build_store(struct certgate_policy *p)
{
    static const int purposes[] = {
        [CERTGATE_EKU_CLIENT_AUTH] = X509_PURPOSE_SSL_CLIENT,
        [CERTGATE_EKU_SERVER_AUTH] = X509_PURPOSE_SSL_SERVER,
        [CERTGATE_EKU_ANY] = X509_PURPOSE_ANY,
        [CERTGATE_EKU_NONE] = 0,
    };
    unsigned long flags = X509_V_FLAG_NO_CHECK_TIME;
    int i;

    p->store = X509_STORE_new();
    if (p->store == NULL || !CRYPTO_THREAD_run_once(&hooks_once, hooks_init) ||
        default_check_crl == NULL)
        return -1;
    for (i = 0; i < sk_X509_num(p->roots); i++)
        if (!X509_STORE_add_cert(p->store, sk_X509_value(p->roots, i)))
            return -1;
    /* Every certificate of the chain whose issuer's CRL was given; the leaf's is
     * required (verify_cb forgives a missing CRL above the leaf). Delta CRLs
     * complete their base, never stand for it. */
    if (p->crls != NULL)
        flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_USE_DELTAS |
                 X509_V_FLAG_EXTENDED_CRL_SUPPORT;
    if (!X509_STORE_set_flags(p->store, flags))
        return -1;
    if (purposes[p->eku] != 0 && !X509_STORE_set_purpose(p->store, purposes[p->eku]))
        return -1;
    X509_STORE_set_check_crl(p->store, check_crl_hook);
    X509_STORE_set_lookup_crls(p->store, no_store_crls);
    return 0;
}

static int spec_lists_ok(const struct certgate_policy_spec *s, char *err, size_t errlen)
{
    size_t k;

    if (s->n_trusted_ca == 0 || s->trusted_ca == NULL) {
        cert_text_set(err, errlen, "no trusted CA file given");
        return 0;
    }
    if ((s->n_intermediates > 0 && s->intermediates == NULL) ||
        (s->n_allowed_issuer_dns > 0 && s->allowed_issuer_dns == NULL) ||
        (s->n_allowed_issuer_files > 0 && s->allowed_issuer_files == NULL) ||
        (s->n_crl_files > 0 && s->crl_files == NULL)) {
        cert_text_set(err, errlen, "a list of the policy spec has entries but no array");
        return 0;
    }
    for (k = 0; k < CERTGATE_ALLOW_COUNT; k++) {
        if (s->n_allow[k] > 0 && s->allow[k] == NULL) {
            cert_text_set(err, errlen, "allow %s has entries but no array",
                          cert_allow_kind_name((enum certgate_allow_kind)k));
            return 0;
        }
    }
    if (s->max_depth < 0) {
        cert_text_set(err, errlen, "max_depth %d is negative", s->max_depth);
        return 0;
    }
    if ((int)s->eku < 0 || s->eku > CERTGATE_EKU_NONE) {
        cert_text_set(err, errlen, "unknown EKU requirement %d", (int)s->eku);
        return 0;
    }
    return 1;
}

struct certgate_policy *certgate_policy_new(const struct certgate_policy_spec *spec, char *err,
                                            size_t errlen)
{
    struct certgate_policy *p;

    cert_text_set(err, errlen, "%s", "");
    if (spec == NULL) {
        cert_text_set(err, errlen, "no policy spec given");
        return NULL;
    }
    if (!spec_lists_ok(spec, err, errlen))
        return NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        cert_text_set(err, errlen, "out of memory building the policy");
        return NULL;
    }
    p->max_depth = spec->max_depth;
    p->eku = spec->eku;
    p->crl_scope_chain = spec->crl_scope_chain;
    p->min_rsa_bits = spec->min_rsa_bits == 0  ? 2048
                      : spec->min_rsa_bits < 0 ? -1
                                               : spec->min_rsa_bits;
    p->min_ec_bits = spec->min_ec_bits == 0 ? 256 : spec->min_ec_bits < 0 ? -1 : spec->min_ec_bits;
    p->allow_weak_signatures = spec->allow_weak_signatures != 0;
    p->pinned = spec->n_allowed_issuer_dns + spec->n_allowed_issuer_files > 0;
    p->roots = sk_X509_new_null();
    p->intermediates = sk_X509_new_null();
    p->issuer_certs = sk_X509_new_null();
    p->issuer_dns = sk_X509_NAME_new_null();
    if (p->roots == NULL || p->intermediates == NULL || p->issuer_certs == NULL ||
        p->issuer_dns == NULL) {
        cert_text_set(err, errlen, "out of memory building the policy");
        goto fail;
    }
    ERR_set_mark();
    if (build_lists(p, spec, err, errlen) != 0) {
        ERR_pop_to_mark();
        goto fail;
    }
    if (build_store(p) != 0) {
        ERR_pop_to_mark();
        cert_text_set(err, errlen, "out of memory building the policy's certificate store");
        goto fail;
    }
    ERR_pop_to_mark();
    return p;
fail:
    certgate_policy_free(p);
    return NULL;
}

/* Without a report, checks end at the first failure. */
static int stop(const struct cert_judging *g)
{
    return g->report == NULL && g->j->static_reason != CERTGATE_OK;
}

static void report_reset(struct certgate_report *report)
{
    if (report != NULL)
        memset(report, 0, sizeof(*report));
}

int certgate_policy_judge(const struct certgate_policy *p, X509 *leaf, STACK_OF(X509) *presented,
                          struct certgate_judgement *j, struct certgate_report *report,
                          STACK_OF(X509) **chain_out)
{
    struct cert_judging g;
    struct cert_run r = {
        p != NULL ? p->eku : CERTGATE_EKU_NONE, -1,  0, X509_V_OK, NULL, 0, 0, NULL, NULL,
        p != NULL ? p->crl_scope_chain : 0,     NULL};
    STACK_OF(X509) *untrusted, *joined = NULL;
    X509_STORE_CTX *ctx = NULL;
    char *ldn = NULL, buf[320];
    int rc = -1;

    if (chain_out != NULL)
        *chain_out = NULL;
    report_reset(report);
    if (j == NULL)
        return -1;
    memset(j, 0, sizeof(*j));
    j->static_reason = CERTGATE_NOT_TRUSTED;
    if (leaf == NULL || p == NULL) {
        cert_text_set(j->detail, sizeof(j->detail), "%s",
                      leaf == NULL ? "no client certificate was presented" : "no policy given");
        return -1;
    }
    j->static_reason = CERTGATE_OK;
    /* Leave the caller's OpenSSL error queue as it was. */
    ERR_set_mark();
    memset(&g, 0, sizeof(g));
    ldn = cert_dn_format(X509_get_subject_name(leaf));
    g.p = p;
    g.leaf = leaf;
    g.ldn = ldn != NULL ? ldn : "(unprintable)";
    g.j = j;
    g.report = report;
    untrusted = p->intermediates;
    if (presented != NULL && sk_X509_num(presented) > 0) {
        /* The peer's own chain first; without one the prebuilt stack is used as is. */
        joined = cert_untrusted_join(presented, p->intermediates);
        if (joined == NULL)
            goto out;
        untrusted = joined;
    }
    ctx = X509_STORE_CTX_new();
    if (ctx == NULL || !X509_STORE_CTX_init(ctx, p->store, leaf, untrusted))
        goto out;
    X509_STORE_CTX_set0_trusted_stack(ctx, p->roots);
    if (p->crls != NULL)
        X509_STORE_CTX_set0_crls(ctx, p->crls);
    X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
    if (!X509_STORE_CTX_set_app_data(ctx, &r))
        goto out;
    if (X509_verify_cert(ctx) > 0) {
        g.chain = X509_STORE_CTX_get0_chain(ctx);
        cert_check_chain_pass(&g);
    } else if (X509_STORE_CTX_get_error(ctx) == X509_V_ERR_OUT_OF_MEM) {
        goto out;
    } else {
        cert_chain_error_detail(ctx, leaf, buf, sizeof(buf));
        cert_check_note(&g, CERTGATE_CHECK_CHAIN, CERTGATE_FAIL, buf);
    }
    cert_check_window(&g);
    if (!stop(&g))
        cert_check_issuer(&g);
    if (!stop(&g))
        cert_check_depth(&g);
    if (!stop(&g))
        cert_check_eku(&g, &r);
    if (!stop(&g))
        cert_check_key(&g);
    if (!stop(&g))
        cert_check_revocation(&g, &r);
    /* Even after a revocation failure: a caller that fails open needs the identity. */
    if (!stop(&g) && cert_check_identity(&g) != 0)
        goto out;
    if (j->static_reason == CERTGATE_OK && !j->identity_matched)
        cert_text_set(j->detail, sizeof(j->detail), "%s", g.id_detail);
    if (chain_out != NULL && g.chain != NULL) {
        *chain_out = X509_STORE_CTX_get1_chain(ctx);
        if (*chain_out == NULL)
            goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        /* Fail closed: a judgement that could not run is not an acceptance. */
        j->static_reason = CERTGATE_NOT_TRUSTED;
        cert_text_set(j->detail, sizeof(j->detail),
                      "certificate '%s' could not be judged (out of "
                      "memory)",
                      g.ldn != NULL ? g.ldn : "(unprintable)");
    }
    X509_CRL_free(r.crl);
    X509_free(r.revoked_cert);
    X509_free(r.crl_err_cert);
    X509_CRL_free(r.revoked_crl);
    X509_STORE_CTX_free(ctx);
    sk_X509_free(joined);
    free(ldn);
    ERR_pop_to_mark();
    return rc;
}

/* "<who> expired on <date>" or "<who> is not valid before <date>". */
static void dated(char *detail, size_t len, const char *who_, const char *verb, time_t t)
{
    char when[CERT_TIME_LEN];

    cert_unix_format(t, when);
    cert_text_set(detail, len, "%s %s %s", who_, verb, when);
}

enum certgate_reason certgate_judgement_at(const struct certgate_judgement *j, time_t at,
                                           char *detail, size_t detail_len)
{
    if (j == NULL) {
        cert_text_set(detail, detail_len, "no judgement given");
        return CERTGATE_NOT_TRUSTED;
    }
    if (at == 0)
        at = time(NULL);
    if (j->static_reason != CERTGATE_OK) {
        cert_text_set(detail, detail_len, "%s", j->detail);
        return j->static_reason;
    }
    /* OpenSSL's rule: valid from notBefore inclusive to notAfter exclusive. */
    if (at < j->not_before) {
        dated(detail, detail_len, j->not_before_who, "is not valid before", j->not_before);
        return CERTGATE_NOT_YET_VALID;
    }
    if (at >= j->not_after) {
        dated(detail, detail_len, j->not_after_who, "expired on", j->not_after);
        return CERTGATE_EXPIRED;
    }
    if (j->revocation != CERTGATE_OK) {
        cert_text_set(detail, detail_len, "%s", j->revocation_detail);
        return j->revocation;
    }
    if (j->crl_this_update != 0 && at < j->crl_this_update) {
        dated(detail, detail_len, j->crl_who, "is not valid before", j->crl_this_update);
        return CERTGATE_REVOCATION_UNKNOWN;
    }
    if (j->crl_this_update != 0 && j->crl_next_update != 0 && at >= j->crl_next_update) {
        dated(detail, detail_len, j->crl_who, "expired on", j->crl_next_update);
        return CERTGATE_REVOCATION_UNKNOWN;
    }
    if (!j->identity_matched) {
        cert_text_set(detail, detail_len, "%s", j->detail);
        return CERTGATE_IDENTITY_NOT_MATCHED;
    }
    cert_text_set(detail, detail_len, "%s", "");
    return CERTGATE_OK;
}

enum certgate_reason certgate_policy_evaluate(const struct certgate_policy *p, X509 *leaf,
                                              STACK_OF(X509) *presented, time_t at,
                                              struct certgate_report *report, char *detail,
                                              size_t detail_len)
{
    struct certgate_judgement j;
    enum certgate_reason r;
    char nb[CERT_TIME_LEN], na[CERT_TIME_LEN];

    if (leaf == NULL) {
        report_reset(report);
        cert_text_set(detail, detail_len, "no client certificate was presented");
        return CERTGATE_NOT_FOUND;
    }
    if (certgate_policy_judge(p, leaf, presented, &j, report, NULL) != 0) {
        cert_text_set(detail, detail_len, "%s", j.detail);
        return CERTGATE_NOT_TRUSTED;
    }
    if (at == 0)
        at = time(NULL);
    r = certgate_judgement_at(&j, at, detail, detail_len);
    if (report == NULL)
        return r;
    /* The report's time-dependent parts, at <at>. */
    report->outcome[CERTGATE_CHECK_VALIDITY] = CERTGATE_FAIL;
    if (at < j.not_before) {
        dated(report->detail[CERTGATE_CHECK_VALIDITY], sizeof(report->detail[0]), j.not_before_who,
              "is not valid before", j.not_before);
    } else if (at >= j.not_after) {
        dated(report->detail[CERTGATE_CHECK_VALIDITY], sizeof(report->detail[0]), j.not_after_who,
              "expired on", j.not_after);
    } else {
        cert_unix_format(j.not_before, nb);
        cert_unix_format(j.not_after, na);
        report->outcome[CERTGATE_CHECK_VALIDITY] = CERTGATE_PASS;
        cert_text_set(report->detail[CERTGATE_CHECK_VALIDITY], sizeof(report->detail[0]),
                      "valid from %s until %s", nb, na);
    }
    if (report->outcome[CERTGATE_CHECK_REVOCATION] == CERTGATE_PASS &&
        ((j.crl_this_update != 0 && at < j.crl_this_update) ||
         (j.crl_next_update != 0 && at >= j.crl_next_update))) {
        report->outcome[CERTGATE_CHECK_REVOCATION] = CERTGATE_FAIL;
        dated(report->detail[CERTGATE_CHECK_REVOCATION], sizeof(report->detail[0]), j.crl_who,
              at < j.crl_this_update ? "is not valid before" : "expired on",
              at < j.crl_this_update ? j.crl_this_update : j.crl_next_update);
    }
    return r;
}

/* OCSP requests and the judgement of responses (RFC 6960): who may sign, which certificate,
 * which nonce, which dates. No I/O here (cert_ocsp_http.c, cert_ocsp_fetch.c). */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "cert_ocsp_internal.h"

static const char *const status_names[] = {"good", "revoked", "unknown", "error"};

/* RFC 5280 CRLReason, in code order (7 is unused) */
static const char *const reason_names[] = {
    "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
    "superseded",    "cessationOfOperation", "certificateHold", NULL,
    "removeFromCRL", "privilegeWithdrawn",   "aACompromise",
};

/* RFC 6960 4.2.1 OCSPResponseStatus, in code order (4 is unused) */
static const char *const response_status_names[] = {
    "successful", "malformedRequest", "internalError", "tryLater",
    NULL,         "sigRequired",      "unauthorized",
};

const char *certgate_ocsp_status_name(enum certgate_ocsp_status s)
{
    return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s] : "?";
}

enum certgate_reason certgate_ocsp_reason(enum certgate_ocsp_status s)
{
    if (s == CERTGATE_OCSP_GOOD)
        return CERTGATE_OK;
    return s == CERTGATE_OCSP_REVOKED ? CERTGATE_REVOKED : CERTGATE_REVOCATION_UNKNOWN;
}

const char *certgate_ocsp_revocation_reason_name(int reason)
{
    if (reason < 0 || reason >= (int)(sizeof(reason_names) / sizeof(reason_names[0])))
        return NULL;
    return reason_names[reason];
}

/* <s> for a sentence: printable ASCII kept, anything else '?', at most 200 bytes. */
static void shown(const char *s, char out[204])
{
    size_t i;

    for (i = 0; s[i] && i < 200; i++)
        out[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7F ? s[i] : '?';
    snprintf(out + i, 4, "%s", s[i] ? "..." : "");
}

/* ---- the request ---- */

char *certgate_ocsp_aia_url(X509 *leaf)
{
    STACK_OF(OPENSSL_STRING) *urls = leaf != NULL ? X509_get1_ocsp(leaf) : NULL;
    char *url = NULL;

    if (urls != NULL && sk_OPENSSL_STRING_num(urls) > 0)
        url = cert_strdup(sk_OPENSSL_STRING_value(urls, 0));
    X509_email_free(urls);
    return url;
}

/* The first http:// OCSP URL of <leaf>'s AIA into *url (malloc'd): 0, or -1 with a sentence
 * in <err>. */
static int aia_http_url(X509 *leaf, const char *dn, char **url, char *err, size_t errlen)
{
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(leaf);
    int n = urls != NULL ? sk_OPENSSL_STRING_num(urls) : 0, i;
    char first[204];

    for (i = 0; i < n; i++)
        if (strncasecmp(sk_OPENSSL_STRING_value(urls, i), "http://", 7) == 0)
            break;
    *url = i < n ? cert_strdup(sk_OPENSSL_STRING_value(urls, i)) : NULL;
    if (n == 0) {
        cert_text_set(err, errlen,
                      "certificate '%s' names no OCSP responder (no OCSP URL in its "
                      "authorityInfoAccess)",
                      dn);
    } else if (i == n) {
        shown(sk_OPENSSL_STRING_value(urls, 0), first);
        cert_text_set(err, errlen,
                      "certificate '%s' names no http:// OCSP responder (its first is '%s')", dn,
                      first);
    } else if (*url == NULL) {
        cert_text_set(err, errlen, "out of memory building an OCSP request");
    }
    X509_email_free(urls);
    return *url != NULL ? 0 : -1;
}

void certgate_ocsp_request_free(struct certgate_ocsp_request *req)
{
    if (req == NULL)
        return;
    OCSP_REQUEST_free(req->req);
    OCSP_CERTID_free(req->id);
    X509_free(req->issuer);
    OPENSSL_free(req->der);
    free(req->url);
    free(req->get_path);
    free(req->leaf_dn);
    free(req);
}

/* The OCSPRequest of <r> (id and nonce) and its DER. 0, or -1 when memory ran out. */
static int build(struct certgate_ocsp_request *r, X509 *leaf, X509 *issuer)
{
    OCSP_CERTID *id2;
    unsigned char *der = NULL;
    int len;

    r->id = OCSP_cert_to_id(NULL, leaf, issuer); /* SHA-1, what every responder reads */
    r->req = OCSP_REQUEST_new();
    if (r->id == NULL || r->req == NULL)
        return -1;
    id2 = OCSP_CERTID_dup(r->id);
    if (id2 == NULL || OCSP_request_add0_id(r->req, id2) == NULL) {
        OCSP_CERTID_free(id2);
        return -1;
    }
    if (r->nonce && OCSP_request_add1_nonce(r->req, NULL, -1) != 1)
        return -1;
    len = i2d_OCSP_REQUEST(r->req, &der);
    if (len <= 0)
        return -1;
    r->der = der;
    r->der_len = (size_t)len;
    /* NULL also when only POST fits */
    r->get_path = cert_ocsp_get_path(r->target.path, der, (size_t)len);
    return 0;
}

struct certgate_ocsp_request *certgate_ocsp_request_new(X509 *leaf, X509 *issuer, int nonce,
                                                        const char *url, char *err, size_t errlen)
{
    struct certgate_ocsp_request *r;
    char why[256] = "", u[204];

    if (leaf == NULL || issuer == NULL) {
        cert_text_set(err, errlen, "%s",
                      leaf == NULL ? "no certificate given" : "no issuer certificate given");
        return NULL;
    }
    ERR_set_mark();
    r = calloc(1, sizeof(*r));
    if (r == NULL || (r->leaf_dn = cert_dn_format(X509_get_subject_name(leaf))) == NULL)
        goto oom;
    r->nonce = nonce != 0;
    if (url != NULL && (r->url = cert_strdup(url)) == NULL)
        goto oom;
    if (url == NULL && aia_http_url(leaf, r->leaf_dn, &r->url, err, errlen) != 0)
        goto fail;
    if (certgate_ocsp_url_parse(r->url, &r->target, why, sizeof(why)) != 0) {
        shown(r->url, u);
        if (url != NULL)
            cert_text_set(err, errlen, "OCSP responder '%s' cannot be used: %s", u, why);
        else
            cert_text_set(err, errlen,
                          "the OCSP responder '%s' of certificate '%s' cannot be used: %s", u,
                          r->leaf_dn, why);
        goto fail;
    }
    if (build(r, leaf, issuer) != 0)
        goto oom;
    X509_up_ref(issuer);
    r->issuer = issuer;
    ERR_pop_to_mark();
    return r;
oom:
    cert_text_set(err, errlen, "out of memory building an OCSP request");
fail:
    certgate_ocsp_request_free(r);
    ERR_pop_to_mark();
    return NULL;
}

const unsigned char *certgate_ocsp_request_der(const struct certgate_ocsp_request *req, size_t *len)
{
    *len = req->der_len;
    return req->der;
}

const char *certgate_ocsp_request_url(const struct certgate_ocsp_request *req)
{
    return req->url;
}

const struct certgate_ocsp_url *
certgate_ocsp_request_target(const struct certgate_ocsp_request *req)
{
    return &req->target;
}

const char *certgate_ocsp_request_get_path(const struct certgate_ocsp_request *req)
{
    return req->get_path;
}

int certgate_ocsp_request_has_nonce(const struct certgate_ocsp_request *req)
{
    return req->nonce;
}

/* ---- the response ---- */

/* "revocation status of '<leaf>' is unknown: the OCSP <what> <url> <problem>", status ERROR. */
static void unknown(const struct certgate_ocsp_request *req, struct certgate_ocsp_result *res,
                    const char *what, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void unknown(const struct certgate_ocsp_request *req, struct certgate_ocsp_result *res,
                    const char *what, const char *fmt, ...)
{
    char problem[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
    res->status = CERTGATE_OCSP_ERROR;
    cert_text_set(res->detail, sizeof(res->detail),
                  "revocation status of '%s' is unknown: the OCSP %s %s %s", req->leaf_dn, what,
                  req->url, problem);
}

void certgate_ocsp_fail(const struct certgate_ocsp_request *req, const char *why,
                        struct certgate_ocsp_result *res)
{
    memset(res, 0, sizeof(*res));
    res->revocation_reason = -1;
    if (req == NULL) {
        res->status = CERTGATE_OCSP_ERROR;
        cert_text_set(res->detail, sizeof(res->detail),
                      "revocation status is unknown: the OCSP responder %s",
                      why != NULL ? why : "gave no answer");
        return;
    }
    unknown(req, res, "responder at", "%s", why != NULL ? why : "gave no answer");
}

/* The signer's subject, or "(unprintable)", into <out>. */
static void subject_of(X509 *x, char *out, size_t len)
{
    char *dn = cert_dn_format(X509_get_subject_name(x));

    cert_text_set(out, len, "%s", dn != NULL ? dn : "(unprintable)");
    free(dn);
}

/* 0 when <bs> is signed by the request's issuer, or by a responder the issuer delegated to
 * (OCSPSigning, issued and signed by it, valid at <at>); else -1 with the sentence. */
static int check_signer(const struct certgate_ocsp_request *req, OCSP_BASICRESP *bs, time_t at,
                        struct certgate_ocsp_result *res)
{
    STACK_OF(X509) *extra = sk_X509_new_null();
    EVP_PKEY *ikey = X509_get0_pubkey(req->issuer);
    X509 *signer = NULL;
    char sdn[256], idn[256], when[CERT_TIME_LEN];
    time_t nb, na;
    int rc = -1;

    subject_of(req->issuer, idn, sizeof(idn));
    /* the issuer is looked for first, then the response's own certificates */
    if (extra == NULL || !sk_X509_push(extra, req->issuer) || ikey == NULL) {
        unknown(req, res, "response from", "could not be checked (out of memory)");
        goto out;
    }
    if (OCSP_resp_get0_signer(bs, &signer, extra) != 1 || signer == NULL) {
        unknown(req, res, "response from",
                "is not signed by the issuer '%s' or its delegated responder (the response "
                "does not carry its signer's certificate)",
                idn);
        goto out;
    }
    subject_of(signer, sdn, sizeof(sdn));
    if (OCSP_basic_verify(bs, extra, NULL, OCSP_NOVERIFY) != 1) {
        unknown(req, res, "response from",
                "has a signature that does not verify with the key "
                "of '%s', whom it names as its signer",
                sdn);
        goto out;
    }
    if (EVP_PKEY_eq(X509_get0_pubkey(signer), ikey) == 1) {
        rc = 0; /* the CA itself */
        goto out;
    }
    if (X509_check_issued(req->issuer, signer) != X509_V_OK || X509_verify(signer, ikey) != 1) {
        unknown(req, res, "response from",
                "is not signed by the issuer '%s' or its delegated responder (it is signed by "
                "'%s')",
                idn, sdn);
        goto out;
    }
    if (!(X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) ||
        !(X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN)) {
        unknown(req, res, "response from",
                "is signed by '%s', a certificate of the issuer without the OCSPSigning "
                "extended key usage, so not a delegated responder",
                sdn);
        goto out;
    }
    if (cert_time_unix(X509_get0_notBefore(signer), &nb) != 0 ||
        cert_time_unix(X509_get0_notAfter(signer), &na) != 0 || at < nb || at >= na) {
        cert_unix_format(at < nb ? nb : na, when);
        unknown(req, res, "response from",
                "is signed by the responder certificate '%s', which %s %s", sdn,
                at < nb ? "is not valid before" : "expired on", when);
        goto out;
    }
    rc = 0;
out:
    sk_X509_free(extra);
    return rc;
}

/* Status, revocation details and dates of the single response <s> into <res>. -1 when a date
 * cannot be read (sentence written). */
static int read_single(const struct certgate_ocsp_request *req, OCSP_SINGLERESP *s, int *status,
                       struct certgate_ocsp_result *res)
{
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    int reason = -1;

    *status = OCSP_single_get0_status(s, &reason, &rev, &thisupd, &nextupd);
    if (thisupd == NULL || cert_time_unix(thisupd, &res->this_update) != 0 ||
        (nextupd != NULL && cert_time_unix(nextupd, &res->next_update) != 0) ||
        (*status == V_OCSP_CERTSTATUS_REVOKED &&
         (rev == NULL || cert_time_unix(rev, &res->revoked_at) != 0))) {
        res->this_update = res->next_update = res->revoked_at = 0;
        unknown(req, res, "response from", "carries a date that cannot be read");
        return -1;
    }
    if (*status == V_OCSP_CERTSTATUS_REVOKED)
        res->revocation_reason =
            reason >= 0 && certgate_ocsp_revocation_reason_name(reason) ? reason : -1;
    return 0;
}

/* 0 when <res>'s dates hold at <at>; else -1 with the sentence. */
static int check_window(const struct certgate_ocsp_request *req, time_t at, long skew, long max_age,
                        struct certgate_ocsp_result *res)
{
    char when[CERT_TIME_LEN];

    if (res->next_update != 0 && res->next_update < res->this_update) {
        unknown(req, res, "response from", "has a nextUpdate before its thisUpdate");
        return -1;
    }
    if (at < res->this_update - skew) {
        cert_unix_format(res->this_update, when);
        unknown(req, res, "response from",
                "is not valid before %s (its thisUpdate; compare the clocks)", when);
        return -1;
    }
    if (res->next_update != 0 && at >= res->next_update + skew) {
        cert_unix_format(res->next_update, when);
        unknown(req, res, "response from", "expired on %s (its nextUpdate)", when);
        return -1;
    }
    if (max_age >= 0 && at - res->this_update > max_age + skew) {
        cert_unix_format(res->this_update, when);
        unknown(req, res, "response from", "is older than %ld seconds (its thisUpdate is %s)",
                max_age, when);
        return -1;
    }
    return 0;
}

/* The sentence of a signed, matching answer. */
static void answered(const struct certgate_ocsp_request *req, int status,
                     struct certgate_ocsp_result *res)
{
    char when[CERT_TIME_LEN];
    const char *why;

    if (status == V_OCSP_CERTSTATUS_REVOKED) {
        res->status = CERTGATE_OCSP_REVOKED;
        why = certgate_ocsp_revocation_reason_name(res->revocation_reason);
        cert_unix_format(res->revoked_at, when);
        cert_text_set(res->detail, sizeof(res->detail),
                      "certificate '%s' was revoked on %s (%s) according to the OCSP responder "
                      "at %s",
                      req->leaf_dn, when, why != NULL ? why : "no reason given", req->url);
    } else if (status == V_OCSP_CERTSTATUS_GOOD) {
        res->status = CERTGATE_OCSP_GOOD;
        cert_unix_format(res->next_update, when);
        cert_text_set(res->detail, sizeof(res->detail),
                      "certificate '%s' is good according to the OCSP responder at %s (%s%s)",
                      req->leaf_dn, req->url, res->next_update ? "next update " : "no next update",
                      res->next_update ? when : "");
    } else {
        res->status = CERTGATE_OCSP_UNKNOWN;
        cert_text_set(res->detail, sizeof(res->detail),
                      "revocation status of '%s' is unknown: the OCSP responder at %s does not "
                      "know the certificate (status unknown)",
                      req->leaf_dn, req->url);
    }
}

/* The basic response of <der>, or NULL with the sentence. */
static OCSP_BASICRESP *basic_of(const struct certgate_ocsp_request *req, const unsigned char *der,
                                size_t len, struct certgate_ocsp_result *res)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    int st;

    if (der == NULL || len == 0 || len > (size_t)LONG_MAX) {
        unknown(req, res, "response from", "is empty");
        return NULL;
    }
    resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    if (resp == NULL) {
        unknown(req, res, "response from", "is not a DER OCSP response");
    } else if (p != der + len) {
        unknown(req, res, "response from", "has %zu byte%s after its end", (size_t)(der + len - p),
                der + len - p == 1 ? "" : "s");
    } else if ((st = OCSP_response_status(resp)) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        unknown(req, res, "responder at", "answered %s (OCSP response status %d)",
                st > 0 && st < (int)(sizeof(response_status_names) / sizeof(char *)) &&
                        response_status_names[st]
                    ? response_status_names[st]
                    : "an unknown status",
                st);
    } else if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
        unknown(req, res, "response from", "is not a basic OCSP response");
    }
    OCSP_RESPONSE_free(resp);
    return bs;
}

enum certgate_ocsp_status certgate_ocsp_check(const struct certgate_ocsp_request *req,
                                              const unsigned char *der, size_t len, time_t at,
                                              long skew, long max_age,
                                              struct certgate_ocsp_result *res)
{
    OCSP_BASICRESP *bs;
    int idx, status;

    memset(res, 0, sizeof(*res));
    res->status = CERTGATE_OCSP_ERROR;
    res->revocation_reason = -1;
    if (req == NULL) {
        cert_text_set(res->detail, sizeof(res->detail), "no OCSP request given");
        return res->status;
    }
    if (at == 0)
        at = time(NULL);
    if (skew < 0)
        skew = 0;
    ERR_set_mark();
    bs = basic_of(req, der, len, res);
    if (bs == NULL || check_signer(req, bs, at, res) != 0)
        goto out;
    idx = OCSP_resp_find(bs, req->id, -1);
    if (idx < 0) {
        unknown(req, res, "response from",
                "is about another certificate (none of its answers has the request's CertID)");
        goto out;
    }
    /* 0: both carry one and they differ; a response without one is accepted */
    if (req->nonce && OCSP_check_nonce(req->req, bs) == 0) {
        unknown(req, res, "response from",
                "carries a nonce that differs from the request's (a replayed response?)");
        goto out;
    }
    if (read_single(req, OCSP_resp_get0(bs, idx), &status, res) != 0)
        goto out;
    /* a signed revocation is final, even out of its window */
    if (status != V_OCSP_CERTSTATUS_REVOKED && check_window(req, at, skew, max_age, res) != 0)
        goto out;
    answered(req, status, res);
out:
    OCSP_BASICRESP_free(bs);
    ERR_pop_to_mark();
    return res->status;
}

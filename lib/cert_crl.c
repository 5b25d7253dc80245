/* CRLs from a certificate's distribution point: the URL, the HTTP exchange (shared with OCSP),
 * the parse, the issuer's signature, and a certificate's status under the CRL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certgate/crl.h"
#include "cert_ocsp_internal.h"

static void shown_url(const char *s, char out[204])
{
    size_t i;
    for (i = 0; s[i] && i < 200; i++)
        out[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7F ? s[i] : '?';
    snprintf(out + i, 4, "%s", s[i] ? "..." : "");
}

char *certgate_crl_dp_url(X509 *cert, char *err, size_t errlen)
{
    STACK_OF(DIST_POINT) *dps;
    struct certgate_ocsp_url u;
    char *url = NULL, first[204] = "", why[200];
    int n;

    if (cert == NULL) {
        cert_text_set(err, errlen, "no certificate");
        return NULL;
    }
    dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
    n = dps != NULL ? sk_DIST_POINT_num(dps) : 0;
    for (int i = 0; i < n && url == NULL; i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (dp->distpoint == NULL || dp->distpoint->type != 0)
            continue; /* a relative name needs the issuer's DN: not an URL */
        GENERAL_NAMES *names = dp->distpoint->name.fullname;
        for (int k = 0; k < sk_GENERAL_NAME_num(names) && url == NULL; k++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, k);
            if (gn->type != GEN_URI)
                continue;
            const char *s = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
            int len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
            if (s == NULL || len <= 0 || memchr(s, '\0', (size_t)len) != NULL)
                continue;
            char *cand = strndup(s, (size_t)len);
            if (cand == NULL)
                break;
            if (first[0] == '\0')
                shown_url(cand, first);
            if (strncasecmp(cand, "http://", 7) == 0 &&
                certgate_ocsp_url_parse(cand, &u, why, sizeof(why)) == 0)
                url = cand;
            else
                free(cand);
        }
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    ERR_clear_error();
    if (url != NULL)
        return url;
    char *dn = cert_dn_format(X509_get_subject_name(cert));
    if (first[0] == '\0')
        cert_text_set(err, errlen, "certificate '%s' names no CRL distribution point with a URL",
                      dn ? dn : "(unprintable)");
    else
        cert_text_set(err, errlen,
                      "certificate '%s' names no usable http:// CRL distribution point (its "
                      "first is '%s')",
                      dn ? dn : "(unprintable)", first);
    free(dn);
    return NULL;
}

unsigned char *certgate_crl_http_request(const struct certgate_ocsp_url *url, size_t *len)
{
    static const char fmt[] = "GET %s HTTP/1.1\r\nHost: %s\r\n"
                              "Accept: application/pkix-crl, application/x-pkcs7-crl, */*\r\n"
                              "Connection: close\r\n\r\n";
    int n = snprintf(NULL, 0, fmt, url->path, url->authority);
    char *out = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (out == NULL)
        return NULL;
    snprintf(out, (size_t)n + 1, fmt, url->path, url->authority);
    *len = (size_t)n;
    return (unsigned char *)out;
}

int certgate_crl_http_parse(const unsigned char *buf, size_t len, int eof,
                            const unsigned char **body, size_t *body_len, char *err, size_t errlen)
{
    return cert_http_parse(buf, len, eof, NULL, CERTGATE_CRL_MAX_SIZE, body, body_len, err, errlen);
}

X509_CRL *certgate_crl_parse(const unsigned char *buf, size_t len, char *err, size_t errlen)
{
    X509_CRL *crl = NULL;

    if (buf == NULL || len == 0 || len > CERTGATE_CRL_MAX_SIZE) {
        cert_text_set(err, errlen, "is empty or larger than %d bytes", CERTGATE_CRL_MAX_SIZE);
        return NULL;
    }
    if (len > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
        BIO *b = BIO_new_mem_buf(buf, (int)len);
        crl = b != NULL ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    } else {
        const unsigned char *p = buf;
        crl = d2i_X509_CRL(NULL, &p, (long)len);
        if (crl != NULL && p != buf + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    }
    ERR_clear_error();
    if (crl == NULL)
        cert_text_set(err, errlen, "is not a CRL (neither one DER object nor PEM)");
    return crl;
}

X509_CRL *certgate_crl_fetch(const char *url, int timeout_ms, char *err, size_t errlen)
{
    struct certgate_ocsp_url u;
    unsigned char *msg, *body = NULL;
    size_t msg_len = 0, blen = 0;
    char why[300], shown[204];
    X509_CRL *crl = NULL;

    if (url == NULL || timeout_ms <= 0) {
        cert_text_set(err, errlen, "was not asked (no URL or no time given)");
        return NULL;
    }
    shown_url(url, shown);
    if (certgate_ocsp_url_parse(url, &u, why, sizeof(why)) != 0) {
        cert_text_set(err, errlen, "at '%s' cannot be used: %s", shown, why);
        return NULL;
    }
    msg = certgate_crl_http_request(&u, &msg_len);
    if (msg == NULL) {
        cert_text_set(err, errlen, "was not asked (out of memory)");
        return NULL;
    }
    if (cert_http_fetch(&u, msg, msg_len, NULL, CERTGATE_CRL_MAX_SIZE, timeout_ms, timeout_ms,
                        &body, &blen, why, sizeof(why)) != 0)
        cert_text_set(err, errlen, "at %s %s", shown, why);
    else if ((crl = certgate_crl_parse(body, blen, why, sizeof(why))) == NULL)
        cert_text_set(err, errlen, "at %s sent a body that %s", shown, why);
    free(msg);
    free(body);
    return crl;
}

/* An entry with a critical extension certgate does not know (once per CRL, not per check). */
static int entry_critical(X509_CRL *crl)
{
    STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
    for (int i = 0; rev != NULL && i < sk_X509_REVOKED_num(rev); i++) {
        const STACK_OF(X509_EXTENSION) *exts =
            X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(rev, i));
        for (int k = 0; k < sk_X509_EXTENSION_num(exts); k++) {
            X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, k);
            int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
            if (X509_EXTENSION_get_critical(ext) && nid != NID_crl_reason &&
                nid != NID_invalidity_date && nid != NID_certificate_issuer)
                return 1;
        }
    }
    return 0;
}

int certgate_crl_signed_by(X509_CRL *crl, X509 *issuer, char *err, size_t errlen)
{
    EVP_PKEY *key = issuer != NULL ? X509_get0_pubkey(issuer) : NULL;
    int rc = -1;

    if (crl == NULL || key == NULL) {
        cert_text_set(err, errlen, "no CRL or no issuer key to check it with");
    } else if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
        char *a = cert_dn_format(X509_CRL_get_issuer(crl));
        char *b = cert_dn_format(X509_get_subject_name(issuer));
        cert_text_set(err, errlen, "the CRL is issued by '%s', not by '%s'",
                      a ? a : "(unprintable)", b ? b : "(unprintable)");
        free(a);
        free(b);
    } else if (X509_CRL_verify(crl, key) != 1) {
        char *b = cert_dn_format(X509_get_subject_name(issuer));
        cert_text_set(err, errlen, "the CRL's signature is not the key of '%s'",
                      b ? b : "(unprintable)");
        free(b);
    } else if (entry_critical(crl)) {
        cert_text_set(err, errlen,
                      "an entry of the CRL carries an unknown critical extension (RFC 5280 5.3: "
                      "such a CRL must not be used)");
    } else {
        rc = 0;
    }
    ERR_clear_error();
    return rc;
}

/* Does the issuingDistributionPoint's name <idp_dp> match one of <cert>'s distribution points
 * (RFC 5280 6.3.3 b.2.i)? A CRL partitioned by distribution point covers only its own. */
static int dp_matches(const DIST_POINT_NAME *idp_dp, X509 *cert)
{
    STACK_OF(DIST_POINT) *dps;
    int found = 0;
    if (idp_dp == NULL || idp_dp->type != 0)
        return 1; /* no name, or a relative one: nothing to compare by URL */
    dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
    if (dps == NULL)
        return 1; /* the certificate names none: 6.3.3 b.2.i has nothing to compare */
    for (int i = 0; dps != NULL && i < sk_DIST_POINT_num(dps) && !found; i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (dp->distpoint == NULL || dp->distpoint->type != 0)
            continue;
        for (int a = 0; a < sk_GENERAL_NAME_num(dp->distpoint->name.fullname) && !found; a++)
            for (int b = 0; b < sk_GENERAL_NAME_num(idp_dp->name.fullname) && !found; b++)
                found = GENERAL_NAME_cmp(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, a),
                                         sk_GENERAL_NAME_value(idp_dp->name.fullname, b)) == 0;
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    return found;
}

/* Can this CRL speak for the end-entity certificate <cert>, for every reason? NULL, or why
 * not. */
static const char *crl_scope_problem(X509_CRL *crl, X509 *cert)
{
    int crit = -1;
    const X509_EXTENSION *ext;
    ISSUING_DIST_POINT *idp;
    const char *why = NULL;

    for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
        ext = X509_CRL_get_ext(crl, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object((X509_EXTENSION *)ext));
        if (X509_EXTENSION_get_critical(ext) && nid != NID_issuing_distribution_point &&
            nid != NID_delta_crl && nid != NID_authority_key_identifier && nid != NID_crl_number)
            return "it carries an unknown critical extension";
        if (nid == NID_delta_crl)
            return "it is a delta CRL (give the base CRL)";
    }
    idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
    if (idp == NULL && crit >= 0)
        return "its issuingDistributionPoint cannot be read";
    if (idp != NULL) {
        if (!dp_matches(idp->distpoint, cert))
            why = "it is the CRL of another distribution point than the certificate's";
        else if (idp->onlyCA > 0 || idp->onlyattr > 0)
            why = "it covers only CA or attribute certificates";
        else if (idp->onlysomereasons != NULL)
            why = "it covers only some revocation reasons";
        else if (idp->indirectCRL > 0)
            why = "it is an indirect CRL, which is not supported";
        ISSUING_DIST_POINT_free(idp);
    }
    return why;
}

static const char *const reasons[] = {
    "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
    "superseded",    "cessationOfOperation", "certificateHold", "unknown reason",
    "removeFromCRL", "privilegeWithdrawn",   "aACompromise",
};

enum certgate_reason certgate_crl_check(X509_CRL *crl, X509 *cert, time_t at, long skew,
                                        char *detail, size_t detail_len)
{
    X509_REVOKED *rev = NULL;
    time_t this_up = 0, next_up = 0, t = 0;
    char when[CERT_TIME_LEN];
    enum certgate_reason r = CERTGATE_REVOCATION_UNKNOWN;
    char *dn, *iss;
    const char *why;

    if (crl == NULL || cert == NULL) {
        cert_text_set(detail, detail_len, "revocation status is unknown: no CRL");
        return CERTGATE_REVOCATION_UNKNOWN;
    }
    if (at == 0)
        at = time(NULL);
    if (skew < 0)
        skew = 0;
    if (skew > 366L * 86400) /* beyond a year is no clock difference; and no overflow */
        skew = 366L * 86400;
    dn = cert_dn_format(X509_get_subject_name(cert));
    iss = cert_dn_format(X509_CRL_get_issuer(crl));
    if (!dn)
        dn = strdup("(unprintable)");
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0) {
        cert_text_set(detail, detail_len,
                      "revocation status of '%s' is unknown: the CRL fetched is issued by '%s', "
                      "not by its issuer",
                      dn, iss ? iss : "(unprintable)");
        goto out;
    }
    if ((why = crl_scope_problem(crl, cert)) != NULL) {
        cert_text_set(detail, detail_len,
                      "revocation status of '%s' is unknown: the CRL of '%s' cannot be used (%s)",
                      dn, iss ? iss : "(unprintable)", why);
        goto out;
    }
    if (X509_CRL_get0_by_cert(crl, &rev, cert) == 1 && rev != NULL) {
        ASN1_ENUMERATED *code = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
        long c = code != NULL ? ASN1_ENUMERATED_get(code) : -1;
        ASN1_ENUMERATED_free(code);
        if (cert_time_unix(X509_REVOKED_get0_revocationDate(rev), &t) == 0)
            cert_unix_format(t, when);
        else
            snprintf(when, sizeof(when), "an unreadable date");
        cert_text_set(
            detail, detail_len,
            "certificate '%s' was revoked on %s (%s) according to the CRL of '%s'", dn, when,
            c >= 0 && c < (long)(sizeof(reasons) / sizeof(reasons[0])) ? reasons[c]
                                                                       : "no reason given",
            iss ? iss : "(unprintable)");
        r = CERTGATE_REVOKED;
        goto out;
    }
    if (cert_time_unix(X509_CRL_get0_lastUpdate(crl), &this_up) != 0 ||
        (X509_CRL_get0_nextUpdate(crl) != NULL &&
         cert_time_unix(X509_CRL_get0_nextUpdate(crl), &next_up) != 0)) {
        cert_text_set(detail, detail_len,
                      "revocation status of '%s' is unknown: the CRL of '%s' has unreadable dates",
                      dn, iss ? iss : "(unprintable)");
        goto out;
    }
    if (at < this_up - skew) {
        cert_unix_format(this_up, when);
        cert_text_set(detail, detail_len,
                      "revocation status of '%s' is unknown: the CRL of '%s' is not valid before "
                      "%s",
                      dn, iss ? iss : "(unprintable)", when);
        goto out;
    }
    if (next_up != 0 && at >= next_up + skew) {
        cert_unix_format(next_up, when);
        cert_text_set(detail, detail_len,
                      "revocation status of '%s' is unknown: the CRL of '%s' expired on %s", dn,
                      iss ? iss : "(unprintable)", when);
        goto out;
    }
    cert_text_set(detail, detail_len, "certificate '%s' is not on the CRL of '%s'", dn,
                  iss ? iss : "(unprintable)");
    r = CERTGATE_OK;
out:
    ERR_clear_error();
    free(dn);
    free(iss);
    return r;
}

/* `certgate verify --crl-fetch`: one blocking CRL fetch through libcertgate, checked with the
 * calls the daemon makes on the CRLs its revocation thread fetches (src/proxy/verdict.c). */
#include "cli/verify_crl_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certgate/crl.h"
#include "certgate/ocsp.h"
#include "cli/verify_revocation.h"

int verify_crl_fetch_flags(struct verify_crl_fetch *f, int on, const char *timeout, char *err,
                           size_t errlen)
{
    f->timeout_ms = VERIFY_CRL_TIMEOUT_MS;
    if (!on && timeout != NULL) {
        snprintf(err, errlen, "--crl-timeout: needs --crl-fetch");
        return -1;
    }
    if (timeout != NULL)
        return verify_timeout_parse("--crl-timeout", timeout, &f->timeout_ms, err, errlen);
    return 0;
}

/* f->detail: <check>, the sentence of certgate_crl_check, and where the CRL came from. */
static void judged(struct verify_crl_fetch *f, X509_CRL *crl, const char *check)
{
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
    char buf[2048], when[64] = "";
    struct tm tm;

    /* the next update on a good status, as the engine's line for a CRL file has it */
    if (f->reason == CERTGATE_OK && next != NULL && ASN1_TIME_to_tm(next, &tm) == 1)
        strftime(when, sizeof(when), "next update %Y-%m-%dT%H:%M:%SZ, ", &tm);
    snprintf(buf, sizeof(buf), "%s (%sfetched from %s)", check, when, f->url);
    verify_copy_cut(f->detail, sizeof(f->detail), buf);
}

/* Fetch, check the signature, judge: f->reason and f->detail. */
static void fetch(struct verify_crl_fetch *f, X509 *leaf, X509 *issuer, const char *subject,
                  time_t at, const char *hint)
{
    char err[600], why[1024], check[600];
    char *url = certgate_crl_dp_url(leaf, err, sizeof(err));
    X509_CRL *crl = NULL;

    f->reason = CERTGATE_REVOCATION_UNKNOWN;
    if (url == NULL) {
        snprintf(why, sizeof(why), "%s%s", err, hint);
    } else {
        verify_copy_cut(f->url, sizeof(f->url), url);
        crl = certgate_crl_fetch(url, f->timeout_ms, err, sizeof(err));
        if (crl == NULL) {
            snprintf(why, sizeof(why), "the CRL distribution point %s", err);
        } else if (certgate_crl_signed_by(crl, issuer, err, sizeof(err)) != 0) {
            snprintf(why, sizeof(why),
                     "the CRL distribution point at %s sent a CRL that cannot be used: %s", f->url,
                     err);
        } else {
            f->reason =
                certgate_crl_check(crl, leaf, at, CERTGATE_OCSP_DEFAULT_SKEW, check, sizeof(check));
            judged(f, crl, check);
            why[0] = '\0';
        }
    }
    if (why[0])
        verify_revocation_unknown(f->detail, sizeof(f->detail), subject, why);
    X509_CRL_free(crl);
    free(url);
}

int verify_crl_fetch_apply(struct verify_crl_fetch *f, X509 *leaf, STACK_OF(X509) *chain,
                           const char *subject, time_t at, struct certgate_judgement *j,
                           enum certgate_outcome *outcome, char *line, size_t line_len)
{
    if (chain == NULL) {
        /* the chain check fails the certificate anyway */
        if (*outcome == CERTGATE_SKIPPED)
            verify_copy_cut(line, line_len,
                            "CRL not fetched: without a chain to a trusted CA there is no "
                            "issuer to check it with");
        return 0;
    }
    if (sk_X509_num(chain) < 2) {
        f->reason = CERTGATE_REVOCATION_UNKNOWN;
        verify_revocation_unknown(f->detail, sizeof(f->detail), subject,
                                  "it is its own trust anchor, so no issuer's CRL covers it");
    } else {
        /* without a CRL file, point at the other way to give one */
        fetch(f, leaf, sk_X509_value(chain, 1), subject, at,
              *outcome == CERTGATE_SKIPPED ? "; give its issuer's CRL with --crl FILE" : "");
    }
    return verify_revocation_fold(f->reason, f->detail, j, outcome, line, line_len);
}

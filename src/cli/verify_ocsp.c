/* `certgate verify --ocsp`: one blocking OCSP exchange through libcertgate, its answer folded
 * into the revocation check. The daemon will ask the same questions without blocking. */
#include "cli/verify_ocsp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verify_revocation.h"

int verify_ocsp_flags(struct verify_ocsp *q, const char *url, const char *timeout, int get,
                      char *err, size_t errlen)
{
    struct certgate_ocsp_url u;
    char why[256];

    q->timeout_ms = VERIFY_OCSP_TIMEOUT_MS;
    q->get = get;
    q->nonce = 1;
    if (url == NULL && (timeout != NULL || get)) {
        snprintf(err, errlen, "%s: needs --ocsp",
                 timeout != NULL ? "--ocsp-timeout" : "--ocsp-get");
        return -1;
    }
    if (url != NULL && url[0]) {
        if (certgate_ocsp_url_parse(url, &u, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "--ocsp: '%s' cannot be used: %s", url, why);
            return -1;
        }
        q->url = url;
    }
    if (timeout != NULL &&
        verify_timeout_parse("--ocsp-timeout", timeout, &q->timeout_ms, err, errlen) != 0)
        return -1;
    return 0;
}

void verify_ocsp_json(FILE *f, const struct verify_ocsp *q, void (*str)(FILE *, const char *))
{
    const struct certgate_ocsp_result *res = &q->res;
    const char *reason = certgate_ocsp_revocation_reason_name(res->revocation_reason);
    const time_t *times[] = {&res->this_update, &res->next_update, &res->revoked_at};
    static const char *const names[] = {"this_update", "next_update", "revoked_at"};
    struct tm tm;
    char when[32];

    fputs(",\"ocsp\":{\"responder\":", f);
    if (q->responder[0])
        str(f, q->responder);
    else
        fputs("null", f);
    fprintf(f, ",\"status\":\"%s\"",
            res->detail[0] ? certgate_ocsp_status_name(res->status) : "skipped");
    for (int i = 0; i < 3; i++) {
        fprintf(f, ",\"%s\":", names[i]);
        if (*times[i] && gmtime_r(times[i], &tm) &&
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
            fprintf(f, "\"%s\"", when);
        else
            fputs("null", f);
    }
    fputs(",\"revocation_reason\":", f);
    if (reason != NULL)
        str(f, reason);
    else
        fputs("null", f);
    fputc('}', f);
}

static void none_asked(struct verify_ocsp *q, const char *subject, const char *why)
{
    memset(&q->res, 0, sizeof(q->res));
    q->res.status = CERTGATE_OCSP_ERROR;
    q->res.revocation_reason = -1;
    verify_revocation_unknown(q->res.detail, sizeof(q->res.detail), subject, why);
}

/* Ask the responder about <leaf> issued by <issuer>; q->res gets the answer or why none. */
static void ask(struct verify_ocsp *q, X509 *leaf, X509 *issuer, const char *subject, time_t at)
{
    char err[512], why[600];
    struct certgate_ocsp_request *req =
        certgate_ocsp_request_new(leaf, issuer, q->nonce, q->url, err, sizeof(err));
    unsigned char *body = NULL;
    size_t len = 0;

    if (req == NULL) {
        snprintf(why, sizeof(why), "%s%s", err, q->url == NULL ? "; name one with --ocsp URL" : "");
        none_asked(q, subject, why);
        return;
    }
    snprintf(q->responder, sizeof(q->responder), "%s", certgate_ocsp_request_url(req));
    q->asked = 1;
    if (certgate_ocsp_fetch(req, q->get ? CERTGATE_OCSP_GET_IF_FITS : CERTGATE_OCSP_POST,
                            q->timeout_ms, q->timeout_ms, &body, &len, err, sizeof(err)) != 0)
        certgate_ocsp_fail(req, err, &q->res);
    else
        certgate_ocsp_check(req, body, len, at, CERTGATE_OCSP_DEFAULT_SKEW, -1, &q->res);
    free(body);
    certgate_ocsp_request_free(req);
}

int verify_ocsp_apply(struct verify_ocsp *q, X509 *leaf, STACK_OF(X509) *chain, const char *subject,
                      time_t at, struct certgate_judgement *j, enum certgate_outcome *outcome,
                      char *line, size_t line_len)
{
    if (chain == NULL) {
        /* the chain check fails the certificate anyway */
        if (*outcome == CERTGATE_SKIPPED)
            verify_copy_cut(line, line_len,
                            "OCSP not asked: without a chain to a trusted CA there is "
                            "no issuer to ask about");
        return 0;
    }
    if (sk_X509_num(chain) < 2)
        none_asked(q, subject, "it is its own trust anchor, so no issuer answers for it");
    else
        ask(q, leaf, sk_X509_value(chain, 1), subject, at);
    return verify_revocation_fold(certgate_ocsp_reason(q->res.status), q->res.detail, j, outcome,
                                  line, line_len);
}

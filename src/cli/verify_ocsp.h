/* `certgate verify --ocsp`: ask the certificate's OCSP responder (or a given one) and fold its
 * answer into the revocation check and the verdict, as a CRL's (docs/revocation.md). */
#ifndef CERTGATE_CLI_VERIFY_OCSP_H
#define CERTGATE_CLI_VERIFY_OCSP_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <openssl/x509.h>

#include "certgate/ocsp.h"
#include "certgate/policy.h"

#define VERIFY_OCSP_TIMEOUT_MS 5000 /* --ocsp-timeout's default */

/* The flags, then what the responder said. */
struct verify_ocsp {
    const char *url; /* --ocsp URL (borrowed from argv); NULL: the leaf's authorityInfoAccess */
    int timeout_ms;  /* --ocsp-timeout: for the connection and for the whole exchange */
    int get;         /* --ocsp-get: GET when the request fits (RFC 6960 A.1), else POST */
    int nonce;       /* send a nonce: always from the flags, ocsp_nonce from a policy */
    int asked;       /* 1 once a request was sent, whatever came back */
    char responder[1100];            /* the URL asked; "" when none */
    struct certgate_ocsp_result res; /* status and sentence; ERROR when it could not be asked */
};

/* Fill <q> from the flags: <url> is NULL without --ocsp, "" for --ocsp alone, else the URL;
 * <timeout> the --ocsp-timeout text or NULL; <get> --ocsp-get. 0, or -1 with the usage error
 * ("--ocsp-timeout: needs --ocsp", a URL that cannot be used, a bad duration) in <err>. */
int verify_ocsp_flags(struct verify_ocsp *q, const char *url, const char *timeout, int get,
                      char *err, size_t errlen);

/* ',"ocsp":{...}' for --json: responder, status (or "skipped" when nothing was asked), the
 * dates and the revocation reason; strings written with <str>. */
void verify_ocsp_json(FILE *f, const struct verify_ocsp *q, void (*str)(FILE *, const char *));

/* Ask about <leaf> (its validated <chain>, leaf first, may be NULL: then nothing is asked),
 * judging the answer at <at>, and fold it into <j> (a Revoked answer wins over a CRL's OK or
 * unknown; an unknown or missing answer turns an OK into RevocationUnknown) and into the
 * revocation line: <outcome> and <line> hold the engine's (the CRL's) on entry and the
 * combined outcome and sentence on return. Blocks for at most the timeout. Returns 1 when the
 * answer set j->revocation and its sentence (cut to fit: the whole one is q->res.detail). */
int verify_ocsp_apply(struct verify_ocsp *q, X509 *leaf, STACK_OF(X509) *chain, const char *subject,
                      time_t at, struct certgate_judgement *j, enum certgate_outcome *outcome,
                      char *line, size_t line_len);

#endif

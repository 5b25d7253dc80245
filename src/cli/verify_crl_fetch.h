/* `certgate verify --crl-fetch`: fetch the CRL named by the leaf's CRL distribution point, as
 * the daemon does with crl_fetch: true, and fold its answer into the revocation check and the
 * verdict as an OCSP answer's (docs/revocation.md). */
#ifndef CERTGATE_CLI_VERIFY_CRL_FETCH_H
#define CERTGATE_CLI_VERIFY_CRL_FETCH_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "certgate/policy.h"

#define VERIFY_CRL_TIMEOUT_MS 5000 /* --crl-timeout's default, as crl_timeout's */

/* The flags, then what the fetched CRL said. */
struct verify_crl_fetch {
    int timeout_ms;              /* --crl-timeout: connect and answer together */
    char url[256];               /* the distribution point fetched; "" when none was */
    enum certgate_reason reason; /* CERTGATE_OK, _REVOKED or _REVOCATION_UNKNOWN */
    char detail[1024];           /* its sentence, naming the certificate and the URL */
};

/* Fill <f> from the flags: <on> for --crl-fetch, <timeout> the --crl-timeout text or NULL.
 * 0, or -1 with the usage error ("--crl-timeout: needs --crl-fetch", a bad duration) in
 * <err>. */
int verify_crl_fetch_flags(struct verify_crl_fetch *f, int on, const char *timeout, char *err,
                           size_t errlen);

/* Fetch the CRL of <leaf>'s first http:// distribution point (its validated <chain>, leaf
 * first, may be NULL: then nothing is fetched), check that the issuer in the chain signed it
 * and judge <leaf> under it at <at>; fold the answer into <j>, <outcome> and <line> as
 * verify_revocation_fold does. Blocks for at most the timeout. Returns 1 when the answer set
 * j->revocation (the whole sentence is f->detail). */
int verify_crl_fetch_apply(struct verify_crl_fetch *f, X509 *leaf, STACK_OF(X509) *chain,
                           const char *subject, time_t at, struct certgate_judgement *j,
                           enum certgate_outcome *outcome, char *line, size_t line_len);

#endif

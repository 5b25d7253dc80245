/* libcertgate CRLs fetched from a certificate's CRL distribution point (RFC 5280 4.2.1.13),
 * with the network left to the caller, as for OCSP:
 *
 *   1. certgate_crl_dp_url(cert)             the first http:// distribution point
 *   2. certgate_crl_http_request(url)        the HTTP/1.1 GET to send
 *      ... the caller connects, writes, reads (its own loop, its own timeouts) ...
 *   3. certgate_crl_http_parse()             the body, when complete
 *   4. certgate_crl_parse(body)              the X509_CRL (DER, or PEM)
 *   5. certgate_crl_signed_by(crl, issuer)   once per CRL and issuer: signature and issuer name
 *   6. certgate_crl_check(crl, cert, at)     OK / REVOKED / REVOCATION_UNKNOWN, per request
 *
 * certgate_crl_fetch() does 2-4 with blocking sockets, for command-line tools.
 *
 * X509 and X509_CRL arguments are borrowed. Nothing here leaves entries in the calling
 * thread's OpenSSL error queue. A CRL may be checked by several threads at once. */
#ifndef CERTGATE_CRL_H
#define CERTGATE_CRL_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "certgate/certgate.h"
#include "certgate/ocsp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CERTGATE_CRL_MAX_SIZE (16 * 1024 * 1024) /* largest CRL body accepted */

/* The first http:// URI among the fullName entries of <cert>'s CRL distribution points,
 * malloc'd (the caller frees), or NULL with a sentence in <err>: no distribution point, only
 * other schemes (ldap:, https:), or a URL certgate_ocsp_url_parse refuses. */
char *certgate_crl_dp_url(X509 *cert, char *err, size_t errlen);

/* "GET <path> HTTP/1.1" with Host, Accept and Connection: close, for <url> (parsed with
 * certgate_ocsp_url_parse). Malloc'd, size in *len; NULL when memory ran out. */
unsigned char *certgate_crl_http_request(const struct certgate_ocsp_url *url, size_t *len);

/* certgate_ocsp_http_parse's rules for a CRL: status 200, any Content-Type (CAs serve
 * application/pkix-crl, application/x-pkcs7-crl or octet-stream; the CRL is signed), a body of
 * at most CERTGATE_CRL_MAX_SIZE bytes. Same returns. */
int certgate_crl_http_parse(const unsigned char *buf, size_t len, int eof,
                            const unsigned char **body, size_t *body_len, char *err, size_t errlen);

/* A CRL from <len> bytes of DER (one object, nothing after it) or PEM. NULL with a sentence
 * in <err> when it is neither. The caller frees it with X509_CRL_free. */
X509_CRL *certgate_crl_parse(const unsigned char *buf, size_t len, char *err, size_t errlen);

/* Blocking: GET <url>, parse the CRL, within <timeout_ms> (connect included). NULL with the end
 * of a sentence about the server in <err> ("at http://.. answered HTTP 404 (Not Found)"). */
X509_CRL *certgate_crl_fetch(const char *url, int timeout_ms, char *err, size_t errlen);

/* Is <crl> issued by <issuer>: the issuer names match and the signature verifies with the
 * issuer's key; and no entry carries an unknown critical extension (checked here, once per
 * CRL, rather than in every certgate_crl_check). Indirect CRLs (another issuer's) are not
 * supported. 0, or -1 with a sentence in <err>. */
int certgate_crl_signed_by(X509_CRL *crl, X509 *issuer, char *err, size_t errlen);

/* The status of <cert> under <crl> at <at> (0 = now), allowing <skew> seconds on the dates.
 * The caller checked certgate_crl_signed_by(crl, issuer of cert) first. <skew> is held to
 * 0..366 days. In order:
 *  - the CRL's issuer must be <cert>'s issuer, and no unknown critical extension, and an
 *    issuingDistributionPoint must be readable, name one of <cert>'s distribution points
 *    (when it names any) and cover end-entity certificates for every reason (else
 *    CERTGATE_REVOCATION_UNKNOWN: this CRL cannot say);
 *  - <cert>'s serial listed: CERTGATE_REVOKED, whatever the dates (revocation is final);
 *  - thisUpdate - skew <= at < nextUpdate + skew, else CERTGATE_REVOCATION_UNKNOWN (stale);
 *  - CERTGATE_OK.
 * <detail> gets one sentence naming the certificate (and the reason of a revocation). */
enum certgate_reason certgate_crl_check(X509_CRL *crl, X509 *cert, time_t at, long skew,
                                        char *detail, size_t detail_len);

#ifdef __cplusplus
}
#endif
#endif

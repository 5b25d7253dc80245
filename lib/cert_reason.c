/* Verdicts as the outside sees them: reason codes, HTTP statuses, TLS alerts (SPEC §3, §4). */
#include <openssl/ssl.h>

#include "certgate/certgate.h"

/* TLS 1.3 certificate_required (RFC 8446 §6.2); OpenSSL names it only since 1.1.1. */
#ifndef SSL_AD_CERTIFICATE_REQUIRED
#define SSL_AD_CERTIFICATE_REQUIRED 116
#endif

static const char *const reason_codes[CERTGATE_REASON_MAX] = {
    [CERTGATE_OK] = "OK",
    [CERTGATE_NOT_FOUND] = "ClientCertificateNotFound",
    [CERTGATE_MALFORMED] = "ClientCertificateMalformed",
    [CERTGATE_NOT_YET_VALID] = "ClientCertificateNotYetValid",
    [CERTGATE_EXPIRED] = "ClientCertificateExpired",
    [CERTGATE_NOT_TRUSTED] = "ClientCertificateNotTrusted",
    [CERTGATE_REVOKED] = "ClientCertificateRevoked",
    [CERTGATE_REVOCATION_UNKNOWN] = "ClientCertificateRevocationUnknown",
    [CERTGATE_IDENTITY_NOT_MATCHED] = "ClientCertificateIdentityNotMatched",
};

static int reason_valid(enum certgate_reason r)
{
    return (int)r >= 0 && r < CERTGATE_REASON_MAX;
}

const char *certgate_reason_code(enum certgate_reason r)
{
    /* An out-of-range value is a caller bug; name it rather than index past the table. */
    return reason_valid(r) ? reason_codes[r] : "Unknown";
}

int certgate_reason_status(enum certgate_reason r)
{
    switch (r) {
    case CERTGATE_OK:
        return 200;
    case CERTGATE_MALFORMED:
        return 400;
    case CERTGATE_IDENTITY_NOT_MATCHED:
        return 403;
    case CERTGATE_NOT_FOUND:
    case CERTGATE_NOT_YET_VALID:
    case CERTGATE_EXPIRED:
    case CERTGATE_NOT_TRUSTED:
    case CERTGATE_REVOKED:
    case CERTGATE_REVOCATION_UNKNOWN:
        return 401;
    case CERTGATE_REASON_MAX:
        break;
    }
    /* Unknown value: still a rejection, never a 2xx. */
    return 500;
}

int certgate_reason_alert(enum certgate_reason r)
{
    switch (r) {
    case CERTGATE_OK:
        return 0; /* nothing to send; close_notify is 0 */
    case CERTGATE_EXPIRED:
    /* RFC 8446 §6.2: certificate_expired is "expired or is not currently valid",
     * the precise name for a certificate used before notBefore. */
    case CERTGATE_NOT_YET_VALID:
        return SSL_AD_CERTIFICATE_EXPIRED;
    case CERTGATE_NOT_TRUSTED:
        return SSL_AD_UNKNOWN_CA;
    case CERTGATE_REVOKED:
        return SSL_AD_CERTIFICATE_REVOKED;
    case CERTGATE_NOT_FOUND:
        return SSL_AD_CERTIFICATE_REQUIRED;
    case CERTGATE_MALFORMED:
    case CERTGATE_REVOCATION_UNKNOWN:
    case CERTGATE_IDENTITY_NOT_MATCHED:
    case CERTGATE_REASON_MAX:
        break;
    }
    return SSL_AD_BAD_CERTIFICATE;
}

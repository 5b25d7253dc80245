/* libcertgate: judge and encode client certificates, as certgate does.
 * A backend can link this library alone (-lcertgate -lssl -lcrypto).
 *
 * Ownership: functions that return char* return a malloc'd NUL-terminated
 * string the caller frees with free(). X509 and STACK_OF(X509) arguments are
 * borrowed (not freed, not up-ref'd beyond the call) unless a comment says so. */
#ifndef CERTGATE_CERTGATE_H
#define CERTGATE_CERTGATE_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Verdicts (SPEC §4). CERTGATE_OK is acceptance; every other value is a reason. */
enum certgate_reason {
    CERTGATE_OK = 0,
    CERTGATE_NOT_FOUND,            /* ClientCertificateNotFound */
    CERTGATE_MALFORMED,            /* ClientCertificateMalformed */
    CERTGATE_NOT_YET_VALID,        /* ClientCertificateNotYetValid */
    CERTGATE_EXPIRED,              /* ClientCertificateExpired */
    CERTGATE_NOT_TRUSTED,          /* ClientCertificateNotTrusted */
    CERTGATE_REVOKED,              /* ClientCertificateRevoked */
    CERTGATE_REVOCATION_UNKNOWN,   /* ClientCertificateRevocationUnknown */
    CERTGATE_IDENTITY_NOT_MATCHED, /* ClientCertificateIdentityNotMatched */
    CERTGATE_REASON_MAX
};

/* "ClientCertificateExpired" etc.; "OK" for CERTGATE_OK. Static string. */
const char *certgate_reason_code(enum certgate_reason r);
/* Default HTTP status of a reason (SPEC §4): 401, 400 or 403; 200 for OK. */
int certgate_reason_status(enum certgate_reason r);
/* The TLS alert (SSL_AD_*) that names the cause, for on_failure: alert. */
int certgate_reason_alert(enum certgate_reason r);

/* Forwarding formats (SPEC §5). */
enum certgate_format {
    CERTGATE_FMT_BASE64_DER = 0,
    CERTGATE_FMT_PEM_URLENCODED,
    CERTGATE_FMT_HEX,
    CERTGATE_FMT_RFC9440,
    CERTGATE_FMT_XFCC,
    CERTGATE_FMT_AUTO, /* decoding only: detect which of the above a value is */
};

/* Encode <leaf> as one header value in <fmt>. For CERTGATE_FMT_RFC9440 this
 * is the Client-Cert value ":<b64>:". Returns NULL on allocation failure or an
 * unsupported format. */
char *certgate_encode(X509 *leaf, enum certgate_format fmt);

/* RFC 9440 Client-Cert-Chain value ":<b64>:, :<b64>:" of <chain>[1..] (the
 * leaf at index 0 is excluded). Returns "" (malloc'd) for a chain of length <= 1. */
char *certgate_encode_rfc9440_chain(STACK_OF(X509) *chain);

/* Envoy x-forwarded-client-cert element for <leaf> (SPEC §5):
 * By=<by>;Hash=<sha256 hex>;Cert="<pem-urlencoded>";Chain="<pem-urlencoded
 * chain, leaf first>";Subject="<RFC 2253>";URI=<uri SAN>...;DNS=<dns SAN>...
 * <by> (certgate's own URI SAN) may be NULL: the By field is then left out;
 * <chain> (leaf first, e.g. the validated chain) may be NULL: no Chain field.
 * Values with , ; = or " are quoted, '"' and '\' escaped with '\'; no control
 * byte is ever emitted. Returns NULL on allocation failure. */
char *certgate_encode_xfcc(X509 *leaf, STACK_OF(X509) *chain, const char *by);

/* Parse the format's name as written in config ("base64-der", "pem-urlencoded",
 * "hex", "rfc9440", "xfcc", "auto"). Returns 0, or -1 for an unknown name. */
int certgate_format_parse(const char *name, enum certgate_format *out);
/* The config name of <fmt>. Static string. */
const char *certgate_format_name(enum certgate_format fmt);

/* Decode one forwarded header value into the client certificate. <fmt> may
 * be CERTGATE_FMT_AUTO. Strict: surrounding whitespace is tolerated, nothing
 * else that the format does not allow (bad base64 or hex, trailing bytes
 * after the DER, a PEM that is not a certificate, an XFCC without Cert).
 * For xfcc with several elements (one per proxy) the last one is used; its
 * Chain (if any) goes to *chain_out. *chain_out (may be NULL) receives the
 * extra certificates the value carried, leaf excluded (caller frees), or
 * NULL. Returns the certificate (caller frees with X509_free), or NULL with
 * one sentence in <err> saying why the value is not a certificate. *fmt_used
 * (may be NULL) gets the format that matched. */
X509 *certgate_decode(const char *value, size_t len, enum certgate_format fmt,
                      STACK_OF(X509) **chain_out, enum certgate_format *fmt_used, char *err,
                      size_t errlen);

/* Standard base64 (RFC 4648, padded, no line breaks) of <len> bytes. */
char *certgate_base64(const unsigned char *data, size_t len);

/* The identity a backend sees (SPEC §5 identity headers). Every string is
 * malloc'd, never NULL after success, and free of control bytes (CR, LF,
 * NUL, DEL and all < 0x20 are escaped as \xHH in DNs). */
struct certgate_identity {
    char *subject;    /* RFC 2253 */
    char *issuer;     /* RFC 2253 */
    char *serial;     /* uppercase hex, no colons, no leading 00 pad beyond one byte */
    char *sha1;       /* uppercase hex of SHA-1 of the DER, no colons */
    char *sha256;     /* uppercase hex of SHA-256 of the DER, no colons */
    char *not_before; /* RFC 3339 UTC, "2024-02-02T08:00:00Z" */
    char *not_after;
    char *cn; /* first CN of the subject, "" if none */
};

/* Fill <id> from <x>. Returns 0, or -1 (and <id> zeroed) on failure. */
int certgate_identity_from_x509(X509 *x, struct certgate_identity *id);
/* Free the strings and zero <id>. */
void certgate_identity_free(struct certgate_identity *id);

/* A trust anchor set: CA bundle(s) plus untrusted intermediates for path
 * building. Immutable after creation; safe to share between threads. */
struct certgate_trust;

/* Load PEM bundles. Returns NULL and writes a sentence naming the file into
 * <err> when a file is missing, unreadable or holds no certificate. */
struct certgate_trust *certgate_trust_new(const char *const *ca_files, size_t n_ca,
                                          const char *const *intermediate_files,
                                          size_t n_intermediates, char *err, size_t errlen);
void certgate_trust_free(struct certgate_trust *t);

/* Verify <leaf> (with <presented>, the peer's extra certificates, may be NULL)
 * against <t> at time <at> (0 = now): chain to a trusted CA and validity of
 * every certificate. Returns CERTGATE_OK, CERTGATE_EXPIRED,
 * CERTGATE_NOT_YET_VALID or CERTGATE_NOT_TRUSTED; <detail> gets one human
 * sentence. On CERTGATE_OK and non-NULL <chain_out>, *chain_out receives the
 * validated chain (leaf first, owned by the caller: OSSL_STACK_OF_X509_free /
 * sk_X509_pop_free(..., X509_free)). */
enum certgate_reason certgate_verify_chain(const struct certgate_trust *t, X509 *leaf,
                                           STACK_OF(X509) *presented, time_t at,
                                           STACK_OF(X509) **chain_out, char *detail,
                                           size_t detail_len);

#ifdef __cplusplus
}
#endif
#endif

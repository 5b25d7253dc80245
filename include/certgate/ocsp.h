/* libcertgate OCSP (RFC 6960): the building blocks of an OCSP check, with the network left to
 * the caller so that an event loop never blocks on it.
 *
 *   1. certgate_ocsp_request_new(leaf, issuer, nonce, url)  the request: DER, URL, CertID
 *   2. certgate_ocsp_http_request()                          the HTTP/1.1 bytes to send
 *      ... the caller connects, writes, reads (its own loop, with its own timeouts) ...
 *   3. certgate_ocsp_http_parse()                            the response body, when complete
 *   4. certgate_ocsp_check(req, body, at, skew, max_age)     GOOD / REVOKED / UNKNOWN / ERROR
 *
 * certgate_ocsp_fetch() does 2-3 with blocking sockets, for command-line tools and backends
 * that may block; an event loop must not call it.
 *
 * Ownership: X509 arguments are borrowed; a request up-refs what it keeps (the issuer). A
 * request is immutable once built: any number of threads may read it and check responses
 * against it at once. Pointers returned by the accessors live as long as the request.
 * Nothing here leaves entries in the calling thread's OpenSSL error queue. */
#ifndef CERTGATE_OCSP_H
#define CERTGATE_OCSP_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "certgate/certgate.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CERTGATE_OCSP_MAX_RESPONSE (64 * 1024) /* largest response body accepted */
#define CERTGATE_OCSP_MAX_HEADERS  (8 * 1024)  /* largest HTTP status line + headers accepted */
#define CERTGATE_OCSP_DEFAULT_SKEW 300         /* seconds of clock skew allowed on the dates */

/* What a response says about the certificate. Only GOOD lets it in when failing closed. */
enum certgate_ocsp_status {
    CERTGATE_OCSP_GOOD = 0, /* the responder vouches for it */
    CERTGATE_OCSP_REVOKED,  /* revoked (see revoked_at, revocation_reason) */
    CERTGATE_OCSP_UNKNOWN,  /* the responder does not know the certificate */
    CERTGATE_OCSP_ERROR,    /* no usable answer: unreachable, not HTTP 200, not OCSP, an error
                               status, a signature that is not the issuer's or its delegated
                               responder's, another certificate, a wrong nonce, stale dates */
};

/* "good", "revoked", "unknown", "error". Static string. */
const char *certgate_ocsp_status_name(enum certgate_ocsp_status s);

/* The verdict a status gives when failing closed: GOOD -> CERTGATE_OK, REVOKED ->
 * CERTGATE_REVOKED, UNKNOWN and ERROR -> CERTGATE_REVOCATION_UNKNOWN. */
enum certgate_reason certgate_ocsp_reason(enum certgate_ocsp_status s);

/* RFC 5280 CRLReason name ("keyCompromise", ...) of <reason> 0-10; NULL for any other value. */
const char *certgate_ocsp_revocation_reason_name(int reason);

/* ---- responder URLs ---- */

/* An http:// responder URL taken apart. */
struct certgate_ocsp_url {
    char host[256];      /* a name, an IPv4 address, or an IPv6 address without brackets */
    unsigned short port; /* 80 when the URL names none */
    char authority[264]; /* host[:port] as the URL writes it (the Host header) */
    char path[1024];     /* "/" when the URL has none; a query is kept */
};

/* Parse "http://host[:port][/path]". Only http: OCSP answers are signed, and responders serve
 * plain HTTP (RFC 6960 A.1). Refused, with a sentence in <err>: another scheme (https too),
 * user info, a fragment, an empty or invalid host, a port outside 1-65535, spaces or control
 * bytes, a path of 1024 bytes or more. Returns 0, or -1. */
int certgate_ocsp_url_parse(const char *url, struct certgate_ocsp_url *out, char *err,
                            size_t errlen);

/* The first OCSP responder URL of <leaf>'s authorityInfoAccess (any scheme), malloc'd (the
 * caller frees it), or NULL when it names none. */
char *certgate_ocsp_aia_url(X509 *leaf);

/* ---- the request ---- */

struct certgate_ocsp_request;

/* The request for <leaf> issued by <issuer> (its issuing CA, chain[1] of the validated
 * chain): a SHA-1 CertID, and a fresh random 16-byte nonce when <nonce> is 1. The responder
 * is <url> when non-NULL (an override), else the first http:// OCSP URL of the leaf's
 * authorityInfoAccess. Returns the request (free with certgate_ocsp_request_free), or NULL
 * with a sentence in <err>: no leaf or issuer, a leaf that names no OCSP responder (or only
 * ones that are not http://), a URL that certgate_ocsp_url_parse refuses, out of memory. */
struct certgate_ocsp_request *certgate_ocsp_request_new(X509 *leaf, X509 *issuer, int nonce,
                                                        const char *url, char *err, size_t errlen);
/* NULL is fine. */
void certgate_ocsp_request_free(struct certgate_ocsp_request *req);

/* The DER of the OCSPRequest; *len gets its size. */
const unsigned char *certgate_ocsp_request_der(const struct certgate_ocsp_request *req,
                                               size_t *len);
/* The responder URL as given or found ("http://127.0.0.1:8889"). */
const char *certgate_ocsp_request_url(const struct certgate_ocsp_request *req);
/* The same, taken apart: where to connect, the Host header, the POST path. */
const struct certgate_ocsp_url *
certgate_ocsp_request_target(const struct certgate_ocsp_request *req);
/* The path of the GET form (RFC 6960 A.1: the URL's path, '/', and the percent-encoded base64
 * of the DER), or NULL when the encoded request is 255 bytes or longer, or the URL has a query:
 * then only POST fits. */
const char *certgate_ocsp_request_get_path(const struct certgate_ocsp_request *req);
/* Whether the request carries a nonce (the response's is then compared with it). */
int certgate_ocsp_request_has_nonce(const struct certgate_ocsp_request *req);

/* ---- HTTP/1.1, without I/O ---- */

enum certgate_ocsp_method {
    CERTGATE_OCSP_POST = 0,    /* always POST application/ocsp-request */
    CERTGATE_OCSP_GET_IF_FITS, /* GET when the request has a GET form, else POST */
};

/* The bytes of one HTTP/1.1 request for <req> (Host, Accept: application/ocsp-response,
 * Connection: close; POST adds Content-Type and Content-Length, then the DER). Returns them
 * malloc'd (the caller frees) with their size in *len, or NULL when memory ran out. */
unsigned char *certgate_ocsp_http_request(const struct certgate_ocsp_request *req,
                                          enum certgate_ocsp_method m, size_t *len);

/* Read the HTTP response a responder sent so far: <buf> holds every byte received, <eof> is 1
 * once the peer closed. Strict and minimal: status 200, Content-Type application/ocsp-response
 * (parameters allowed), a body delimited by Content-Length or by the end of the connection, at
 * most CERTGATE_OCSP_MAX_RESPONSE bytes of body and CERTGATE_OCSP_MAX_HEADERS of head; no
 * Transfer-Encoding, no folded or malformed header lines, no bytes beyond Content-Length.
 * Returns 1 when the response is complete (*body points into <buf>, *body_len bytes), 0 when
 * more bytes are needed, or -1 with the end of a sentence about the responder in <err>
 * ("answered HTTP 404 (Not Found)", "closed the connection before answering", ...). */
int certgate_ocsp_http_parse(const unsigned char *buf, size_t len, int eof,
                             const unsigned char **body, size_t *body_len, char *err,
                             size_t errlen);

/* Blocking: send <req> to its responder with method <m> and wait for the response body, at
 * most <connect_ms> for the TCP connection and <total_ms> for everything (name resolution,
 * which the system resolver bounds, excepted). Returns 0 with the body in *body (malloc'd,
 * the caller frees) and its size in *len, or -1 with the end of a sentence in <err>: "cannot
 * be reached (Connection refused)", "did not accept the connection within 5s", "did not answer
 * within 5s", or one of certgate_ocsp_http_parse's. Not for an event loop. */
int certgate_ocsp_fetch(const struct certgate_ocsp_request *req, enum certgate_ocsp_method m,
                        int connect_ms, int total_ms, unsigned char **body, size_t *len, char *err,
                        size_t errlen);

/* ---- the response ---- */

struct certgate_ocsp_result {
    enum certgate_ocsp_status status;
    time_t this_update;    /* the single response's thisUpdate; 0 when none was read */
    time_t next_update;    /* its nextUpdate; 0 when absent (the responder promises nothing) */
    time_t revoked_at;     /* REVOKED: revocationTime; else 0 */
    int revocation_reason; /* REVOKED: CRLReason 0-10, -1 when none given; else -1 */
    char detail[512];      /* one sentence naming the certificate and the responder's URL */
};

/* Judge the DER response <der> (<len> bytes) to <req> at <at> (0 = now), allowing <skew>
 * seconds of clock difference (CERTGATE_OCSP_DEFAULT_SKEW is a sane value) and, when
 * <max_age> >= 0, refusing a thisUpdate older than <max_age> seconds. In order:
 *  - a DER OCSPResponse (nothing after it), status successful (else ERROR naming the status),
 *    a basic response;
 *  - signed by the request's issuer (the same public key), or by a delegated responder whose
 *    certificate is in the response, is issued and signed by the issuer, carries the
 *    OCSPSigning extended key usage and is valid at <at>; anything else is ERROR ("... is not
 *    signed by the issuer or its delegated responder"). A responder trusted by local
 *    configuration alone (RFC 6960 4.2.2.2's third case) is not supported;
 *  - a single response whose CertID is the request's (else ERROR);
 *  - when the request has a nonce, the response's must equal it (a response without one is
 *    accepted, as responders that serve pre-signed responses omit it);
 *  - thisUpdate - skew <= at < nextUpdate + skew, nextUpdate after thisUpdate, and the age
 *    limit; a response outside its window is ERROR, except that a signed REVOKED stays
 *    REVOKED (revocation is final).
 * Fills <res> (never NULL) and returns res->status. */
enum certgate_ocsp_status certgate_ocsp_check(const struct certgate_ocsp_request *req,
                                              const unsigned char *der, size_t len, time_t at,
                                              long skew, long max_age,
                                              struct certgate_ocsp_result *res);

/* Fill <res> for a responder that gave no response: status ERROR and the sentence "revocation
 * status of '<leaf>' is unknown: the OCSP responder at <url> <why>", where <why> is what
 * certgate_ocsp_fetch or the caller's own I/O reported ("did not answer within 5s"). With a
 * NULL <req>: "revocation status is unknown: the OCSP responder <why>". */
void certgate_ocsp_fail(const struct certgate_ocsp_request *req, const char *why,
                        struct certgate_ocsp_result *res);

#ifdef __cplusplus
}
#endif
#endif

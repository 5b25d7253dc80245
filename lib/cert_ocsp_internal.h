/* What the OCSP files of libcertgate share; not part of the public API. */
#ifndef CERTGATE_LIB_CERT_OCSP_INTERNAL_H
#define CERTGATE_LIB_CERT_OCSP_INTERNAL_H

#include <stddef.h>
#include <openssl/ocsp.h>

#include "certgate/ocsp.h"
#include "cert_internal.h"

/* Built by certgate_ocsp_request_new; only read afterwards. */
struct certgate_ocsp_request {
    OCSP_REQUEST *req; /* kept for the nonce comparison */
    OCSP_CERTID *id;   /* the leaf's CertID, to find the single response about it */
    X509 *issuer;      /* up-ref'd: the only key, directly or by delegation, that may answer */
    unsigned char *der;
    size_t der_len;
    char *url;
    struct certgate_ocsp_url target;
    char *get_path; /* NULL when only POST fits */
    char *leaf_dn;  /* RFC 2253, for sentences */
    int nonce;
};

/* The GET path of <der> under <path> (RFC 6960 A.1), malloc'd; NULL when it does not fit
 * (encoded request of 255 bytes or more, or a path with a query) or memory ran out. */
CERT_INTERNAL char *cert_ocsp_get_path(const char *path, const unsigned char *der, size_t len);

/* certgate_ocsp_http_parse for any body: Content-Type must be <want_ct> (parameters allowed)
 * unless <want_ct> is NULL, and the body at most <max_body> bytes. Same returns. */
CERT_INTERNAL int cert_http_parse(const unsigned char *buf, size_t len, int eof,
                                  const char *want_ct, size_t max_body, const unsigned char **body,
                                  size_t *body_len, char *err, size_t errlen);

/* Blocking GET/POST of <msg> to <t> (certgate_ocsp_fetch's machinery), the answer read with
 * cert_http_parse(<want_ct>, <max_body>). 0 with *body malloc'd, or -1 with a sentence. */
CERT_INTERNAL int cert_http_fetch(const struct certgate_ocsp_url *t, const unsigned char *msg,
                                  size_t msg_len, const char *want_ct, size_t max_body,
                                  int connect_ms, int total_ms, unsigned char **body, size_t *len,
                                  char *err, size_t errlen);

/* "5s", "1500ms": a timeout in a sentence. */
CERT_INTERNAL void cert_ocsp_ms_text(int ms, char *out, size_t len);

#endif

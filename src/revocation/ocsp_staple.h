/* OCSP stapling of certgate's own server certificates. A staple is one certificate's current
 * OCSP response: the OCSP thread (ocsp_service.c) fetches it with the same request and checks
 * as the client-side code (libcertgate's certgate_ocsp_*), keeps it fresh, and handshakes on
 * any worker read it (tls/tls_staple.c). The current response is an immutable refcounted blob
 * behind a mutex held only to take a reference. */
#ifndef CERTGATE_REVOCATION_OCSP_STAPLE_H
#define CERTGATE_REVOCATION_OCSP_STAPLE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>
#include <openssl/x509.h>
#include <certgate/ocsp.h>

struct ocsp_staple;
struct staple_list;

struct staple_options {
    const char *url;      /* responder override; NULL = the certificate's AIA */
    uint64_t timeout_ms;  /* connect + answer */
    uint64_t retry_ms;    /* after a failed fetch */
    const char *listener; /* its name, for log lines */
};

/* The staple of <leaf>, issued by <issuer> (both borrowed). NULL with a sentence in <err>:
 * no responder, a URL certgate_ocsp_url_parse refuses, out of memory. The caller owns one
 * reference, given up with ocsp_staple_release. */
struct ocsp_staple *ocsp_staple_new(X509 *leaf, X509 *issuer, const struct staple_options *o,
                                    char *err, size_t errlen);
/* The owner lets go: the OCSP thread stops refreshing it and frees it. NULL is fine. */
void ocsp_staple_release(struct ocsp_staple *st);

/* For a handshake (any thread): an OPENSSL_malloc'd copy of the current response with its size
 * in *len, or NULL when there is none or it expired (nextUpdate passed) at <now>. */
unsigned char *ocsp_staple_copy(struct ocsp_staple *st, time_t now, size_t *len);
/* 1 when a response would be stapled at <now>, else 0 (for /metrics). */
int ocsp_staple_valid(struct ocsp_staple *st, time_t now);
/* The certificate's subject (RFC 2253) and serial (hex), for /metrics. */
const char *ocsp_staple_subject(const struct ocsp_staple *st);
const char *ocsp_staple_serial(const struct ocsp_staple *st);

/* ---- what the OCSP thread runs ---- */

/* Judge the response <der> to <req> for stapling at <now>: GOOD or REVOKED when it verifies
 * (certgate_ocsp_check with the default skew) and has not expired (now < nextUpdate, and
 * thisUpdate not beyond the skew in the future); anything else (UNKNOWN, ERROR) is not
 * stapled, with the sentence in <res>. */
enum certgate_ocsp_status ocsp_staple_judge(const struct certgate_ocsp_request *req,
                                            const unsigned char *der, size_t len, time_t now,
                                            struct certgate_ocsp_result *res);
/* When to fetch again after a good or revoked response fetched at <now>: half the time left to
 * <next_update>, within 1 minute .. 1 hour; 1 hour without a nextUpdate. Milliseconds. */
uint64_t ocsp_staple_refresh_ms(time_t now, time_t next_update);

/* The staples the OCSP thread keeps fresh; <wake> is sent when one is added or released. */
struct staple_list *staple_list_new(uv_async_t *wake);
/* Forget (unreference) every staple: the OCSP thread is stopping and fetches nothing more. */
void staple_list_free(struct staple_list *l);
/* Add <st> (any thread): it is fetched at once. A staple of the same certificate, issuer and
 * responder already in the list (an older configuration's) lends its current response, so a
 * reload staples without a gap, and is no longer fetched (only the newest one is). */
void staple_list_add(struct staple_list *l, struct ocsp_staple *st);
/* OCSP thread: the staples due at <now_ms> (monotonic), at most <cap>, marked in flight (each
 * then gets one ocsp_staple_fetched); released staples not in flight are dropped. *next_ms gets
 * the time until the next one is due, UINT64_MAX when none is. */
size_t staple_list_due(struct staple_list *l, uint64_t now_ms, struct ocsp_staple **out, size_t cap,
                       uint64_t *next_ms);
/* OCSP thread: what to ask (borrowed from <st>) and how long to wait. */
const struct certgate_ocsp_request *ocsp_staple_request(const struct ocsp_staple *st);
uint64_t ocsp_staple_timeout_ms(const struct ocsp_staple *st);
/* OCSP thread: a fetch of <st> ended at <now_ms> with the response body <der> (<len> bytes),
 * or without one (<der> NULL) because of <why> ("cannot be reached (connection refused)").
 * A good or revoked response replaces the current one; otherwise the current one stays (while
 * it is valid) and the fetch is retried after the staple's retry time. Logs what happened. */
void ocsp_staple_fetched(struct ocsp_staple *st, const unsigned char *der, size_t len,
                         const char *why, uint64_t now_ms);

#endif

/* OCSP and CRL distribution points for the daemon: a thread of its own runs the queries on its own
 * loop, so that no worker ever waits on a responder. Results are cached (shared by all workers)
 * until nextUpdate, bounded by the policy's cache time, and concurrent look-ups of one certificate
 * coalesce into one query. */
#ifndef CERTGATE_REVOCATION_OCSP_SERVICE_H
#define CERTGATE_REVOCATION_OCSP_SERVICE_H

#include <stdint.h>
#include <uv.h>
#include <openssl/x509.h>
#include <certgate/ocsp.h>

#include "core/metrics_types.h"

struct ocsp_service;
struct ocsp_staple;

/* What a policy asks of OCSP. */
struct ocsp_options {
    const char *url;     /* responder override; NULL = the certificate's AIA */
    int nonce;           /* send a nonce */
    uint64_t timeout_ms; /* connect + answer */
    uint64_t cache_ms;   /* longest a result is kept (nextUpdate may end it sooner) */
};

struct ocsp_service *ocsp_service_start(char *err, size_t errlen);
/* From now on wake no worker and start no query (the workers are stopping). */
void ocsp_service_mute(struct ocsp_service *s);
/* Stop the thread and free everything. NULL is fine. */
void ocsp_service_stop(struct ocsp_service *s);

/* The status of <leaf> issued by <issuer> now. Returns 1 with <res> filled
 * when it is known (from the cache, or an error that needs no query), or 0
 * when a query runs: <wake> is sent (uv_async_send) when it ends, and the
 * caller asks again. Thread-safe, never blocks on the network. */
int ocsp_service_status(struct ocsp_service *s, X509 *leaf, X509 *issuer,
                        const struct ocsp_options *o, uv_async_t *wake,
                        struct certgate_ocsp_result *res);

/* Queries sent to responders so far (for /metrics and tests). */
uint64_t ocsp_service_queries(const struct ocsp_service *s);

/* For /metrics: queries sent, answers found in the cache, look-ups that had to ask (or wait
 * for a query already running), CRL fetches, stapling fetches, and how long responders took. A NULL
 * service gives zeros. */
struct ocsp_stats {
    unsigned long long queries, hits, misses, crl_fetches, staple_fetches;
    const struct hist *responder;
};
void ocsp_service_stats(const struct ocsp_service *s, struct ocsp_stats *out);

/* Keep <st> (a server certificate's staple, ocsp_staple.h) fetched and fresh from now until its
 * owner releases it: fetched at once, then refreshed halfway to its nextUpdate (1 minute .. 1
 * hour), retried after its retry time when a fetch fails. Thread-safe. The service must outlive
 * every staple given to it (the runtimes that own them are gone before ocsp_service_stop). */
void ocsp_service_staple(struct ocsp_service *s, struct ocsp_staple *st);

/* CRLs fetched from distribution points (revocation: {crl_fetch: true}). */
struct crl_options {
    uint64_t timeout_ms; /* connect + answer */
    uint64_t cache_ms;   /* longest a CRL is used before it is asked for again (nextUpdate may
                            end it sooner) */
};

/* The CRL published at <url> for the certificates <issuer> issued. Returns 1 when known:
 * *crl is set (up-ref'd: the caller frees it; its signature by <issuer> checked), or *crl is
 * NULL and <why> says why there is none ("the CRL distribution point http://.. answered HTTP
 * 404"). Returns 0 while the first fetch runs: <wake> is sent when it ends and the caller asks
 * again. When a cached CRL's time is up, it is fetched again in the background and the old one
 * keeps answering; a failed refresh keeps it too (its own nextUpdate still judges it).
 * Thread-safe, never blocks on the network. */
int crl_service_get(struct ocsp_service *s, const char *url, X509 *issuer,
                    const struct crl_options *o, uv_async_t *wake, X509_CRL **crl, char *why,
                    size_t whylen);
/* CRL fetches started so far. */
uint64_t crl_service_fetches(const struct ocsp_service *s);

#endif

/* What the OCSP service thread (ocsp_service.c) and its CRL side (crl_service.c) share:
 * the service, its caches and its jobs. Not for use outside src/revocation/. */
#ifndef CERTGATE_REVOCATION_OCSP_SERVICE_INTERNAL_H
#define CERTGATE_REVOCATION_OCSP_SERVICE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>
#include <openssl/x509.h>

#include "certgate/ocsp.h"
#include "core/metrics_types.h"
#include "revocation/ocsp_service.h"

#define CACHE_SLOTS      4096
#define CRL_SLOTS        256
#define MAX_WAITERS      64
#define ERROR_CACHE_MS   5000 /* a responder that failed is not asked again at once */
#define STAPLES_PER_TURN 64

enum entry_state { E_EMPTY = 0, E_PENDING, E_DONE };

struct entry {
    unsigned char key[32];
    enum entry_state state;
    struct certgate_ocsp_result res;
    uint64_t expires_ms; /* monotonic */
    uv_async_t *waiters[MAX_WAITERS];
    int n_waiters;
};

/* A CRL from a distribution point, shared by every worker. While a refresh
 * runs, the CRL it replaces keeps answering (until its own nextUpdate). */
struct crl_entry {
    unsigned char key[32];
    enum entry_state state;
    X509_CRL *crl;  /* the last good one; NULL when none was fetched */
    X509 *signer;   /* the issuer whose key verified <crl> */
    char why[1600]; /* the last failure, when <crl> is NULL */
    uint64_t expires_ms;
    uv_async_t *waiters[MAX_WAITERS];
    int n_waiters;
};

enum job_kind { JOB_OCSP = 0, JOB_CRL, JOB_STAPLE };

/* One query in flight, owned by the service thread. */
struct job {
    struct ocsp_service *s;
    enum job_kind kind;
    unsigned char key[32];
    struct certgate_ocsp_request *req; /* JOB_OCSP; JOB_STAPLE: borrowed from <staple> */
    struct ocsp_staple *staple;        /* JOB_STAPLE: kept alive by the staple list */
    struct certgate_ocsp_url target;   /* JOB_CRL: where, and */
    char url[1100];                    /* the URL as named, for sentences */
    X509 *issuer;                      /* JOB_CRL: whose key must have signed it */
    uint64_t timeout_ms, cache_ms;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    uv_getaddrinfo_t resolve;
    uv_timer_t timer;
    uint64_t started_ms;
    unsigned char *out;
    size_t out_len;
    unsigned char *in;
    size_t in_len, in_cap;
    int handles;
    int resolving; /* a getaddrinfo request still refers to the job */
    int done;
    struct job *next;
};

struct ocsp_service {
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t staple_timer; /* the next staple due */
    struct staple_list *staples;
    uv_mutex_t lock;        /* guards entries, queue, stopping */
    struct entry *entries;  /* direct-mapped cache */
    struct crl_entry *crls; /* direct-mapped, by URL */
    struct job *queue;      /* submitted, not yet started */
    int stopping;
    int muted; /* workers are stopping: wake none of them any more */
    atomic_ullong queries;
    atomic_ullong crl_fetches;
    atomic_ullong hits, misses;
    atomic_ullong staple_fetches;
    struct hist responder; /* OCSP queries, start to answer or failure */
};

/* Monotonic milliseconds. */
uint64_t ocsp_now_ms(void);
/* A CRL fetch ended (service thread): <crl> (owned, verified) or the failure <why>. */
void crl_finish(struct job *j, X509_CRL *crl, const char *why);

#endif

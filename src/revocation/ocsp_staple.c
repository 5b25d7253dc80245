#include "revocation/ocsp_staple.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <certgate/certgate.h>

#include "core/log.h"

#define REFRESH_MIN_S     60
#define REFRESH_MAX_S     3600
#define REFRESH_DEFAULT_S 3600 /* a response without nextUpdate */

/* One response as fetched: never changed, freed by its last reader. */
struct staple_resp {
    atomic_int refs;
    time_t next_update; /* 0 = none given */
    size_t len;
    unsigned char der[];
};

struct ocsp_staple {
    atomic_int refs;
    atomic_int released;      /* the owner let go: the OCSP thread forgets it */
    uv_mutex_t lock;          /* guards <resp> only */
    struct staple_resp *resp; /* what handshakes staple; NULL = nothing */
    /* set once, before the staple is shared */
    struct certgate_ocsp_request *req;
    unsigned char key[32]; /* certificate, issuer, responder, listener: a reload's twin's */
    char *subject, *serial, *listener;
    uint64_t timeout_ms, retry_ms;
    struct staple_list *list;
    /* guarded by the list's lock */
    uint64_t due_ms; /* monotonic */
    int in_flight;
    int superseded; /* a newer configuration's twin fetches instead: this one only waits for
                       its release (no handshake of an old configuration needs a new response) */
    struct ocsp_staple *next;
    /* the OCSP thread's only */
    int last; /* status of the last fetch, -1 before the first: says what changed */
};

struct staple_list {
    uv_mutex_t lock;
    struct ocsp_staple *head;
    uv_async_t *wake;
};

/* ---- responses ---- */

static struct staple_resp *resp_new(const unsigned char *der, size_t len, time_t next_update)
{
    struct staple_resp *r = malloc(sizeof(*r) + len);
    if (r == NULL)
        return NULL;
    atomic_init(&r->refs, 1);
    r->next_update = next_update;
    r->len = len;
    memcpy(r->der, der, len);
    return r;
}

static void resp_unref(struct staple_resp *r)
{
    if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1)
        free(r);
}

/* The current response, referenced for the caller, or NULL. */
static struct staple_resp *resp_get(struct ocsp_staple *st)
{
    uv_mutex_lock(&st->lock);
    struct staple_resp *r = st->resp;
    if (r != NULL)
        atomic_fetch_add(&r->refs, 1);
    uv_mutex_unlock(&st->lock);
    return r;
}

/* Make <r> (the caller's reference, or NULL) the current response. */
static void resp_set(struct ocsp_staple *st, struct staple_resp *r)
{
    uv_mutex_lock(&st->lock);
    struct staple_resp *old = st->resp;
    st->resp = r;
    uv_mutex_unlock(&st->lock);
    resp_unref(old);
}

static int resp_fresh(const struct staple_resp *r, time_t now)
{
    return r != NULL && (r->next_update == 0 || now < r->next_update);
}

unsigned char *ocsp_staple_copy(struct ocsp_staple *st, time_t now, size_t *len)
{
    struct staple_resp *r = resp_get(st);
    unsigned char *out = resp_fresh(r, now) ? OPENSSL_malloc(r->len) : NULL;
    if (out != NULL) {
        memcpy(out, r->der, r->len);
        *len = r->len;
    }
    resp_unref(r);
    return out;
}

int ocsp_staple_valid(struct ocsp_staple *st, time_t now)
{
    struct staple_resp *r = resp_get(st);
    int fresh = resp_fresh(r, now);
    resp_unref(r);
    return fresh;
}

/* ---- the staple ---- */

/* A reload's twin of a staple: the same certificate, issuer and responder on the listener of
 * the same name (two listeners sharing a certificate each keep their own staple fresh). */
static void make_key(X509 *leaf, X509 *issuer, const char *url, const char *listener,
                     unsigned char *key)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *a = NULL, *b = NULL;
    int alen = i2d_X509(leaf, &a), blen = i2d_X509(issuer, &b);
    unsigned int klen = 0;
    memset(key, 0, 32);
    if (md && alen > 0 && blen > 0 && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
        EVP_DigestUpdate(md, a, (size_t)alen) == 1 && EVP_DigestUpdate(md, b, (size_t)blen) == 1 &&
        EVP_DigestUpdate(md, url, strlen(url) + 1) == 1 &&
        EVP_DigestUpdate(md, listener, strlen(listener)) == 1)
        EVP_DigestFinal_ex(md, key, &klen);
    OPENSSL_free(a);
    OPENSSL_free(b);
    EVP_MD_CTX_free(md);
}

static void staple_free(struct ocsp_staple *st)
{
    resp_unref(st->resp);
    certgate_ocsp_request_free(st->req);
    free(st->subject);
    free(st->serial);
    free(st->listener);
    uv_mutex_destroy(&st->lock);
    free(st);
}

static void staple_unref(struct ocsp_staple *st)
{
    if (st != NULL && atomic_fetch_sub(&st->refs, 1) == 1)
        staple_free(st);
}

struct ocsp_staple *ocsp_staple_new(X509 *leaf, X509 *issuer, const struct staple_options *o,
                                    char *err, size_t errlen)
{
    struct certgate_identity id;
    struct ocsp_staple *st = calloc(1, sizeof(*st));
    if (st == NULL || certgate_identity_from_x509(leaf, &id) != 0) {
        free(st);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    uv_mutex_init(&st->lock);
    atomic_init(&st->refs, 1);
    st->last = -1;
    st->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
    st->retry_ms = o->retry_ms ? o->retry_ms : 30000;
    st->subject = strdup(id.subject);
    st->serial = strdup(id.serial);
    st->listener = strdup(o->listener ? o->listener : "");
    certgate_identity_free(&id);
    st->req = certgate_ocsp_request_new(leaf, issuer, 0, o->url, err, errlen);
    if (st->req == NULL || !st->subject || !st->serial || !st->listener) {
        if (st->req != NULL)
            snprintf(err, errlen, "out of memory");
        staple_free(st);
        return NULL;
    }
    make_key(leaf, issuer, certgate_ocsp_request_url(st->req), st->listener, st->key);
    return st;
}

void ocsp_staple_release(struct ocsp_staple *st)
{
    if (st == NULL)
        return;
    struct staple_list *l = st->list;
    atomic_store(&st->released, 1);
    staple_unref(st);
    if (l != NULL)
        uv_async_send(l->wake); /* the OCSP thread drops it now rather than at its next fetch */
}

const char *ocsp_staple_subject(const struct ocsp_staple *st)
{
    return st->subject;
}

const char *ocsp_staple_serial(const struct ocsp_staple *st)
{
    return st->serial;
}

const struct certgate_ocsp_request *ocsp_staple_request(const struct ocsp_staple *st)
{
    return st->req;
}

uint64_t ocsp_staple_timeout_ms(const struct ocsp_staple *st)
{
    return st->timeout_ms;
}

/* ---- judging and scheduling ---- */

static void utc(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

enum certgate_ocsp_status ocsp_staple_judge(const struct certgate_ocsp_request *req,
                                            const unsigned char *der, size_t len, time_t now,
                                            struct certgate_ocsp_result *res)
{
    char when[32];
    certgate_ocsp_check(req, der, len, now, CERTGATE_OCSP_DEFAULT_SKEW, -1, res);
    if (res->status != CERTGATE_OCSP_GOOD && res->status != CERTGATE_OCSP_REVOKED)
        return res->status;
    /* certgate_ocsp_check keeps a revocation past its dates and allows the skew after
     * nextUpdate; a stapled response must be current, and one that expired is never sent */
    if (res->next_update != 0 && now >= res->next_update) {
        utc(res->next_update, when);
        snprintf(res->detail, sizeof(res->detail),
                 "the OCSP response from %s expired on %s (its nextUpdate)",
                 certgate_ocsp_request_url(req), when);
        res->status = CERTGATE_OCSP_ERROR;
    } else if (res->this_update - CERTGATE_OCSP_DEFAULT_SKEW > now) {
        utc(res->this_update, when);
        snprintf(res->detail, sizeof(res->detail),
                 "the OCSP response from %s is not valid before %s (its thisUpdate; compare the "
                 "clocks)",
                 certgate_ocsp_request_url(req), when);
        res->status = CERTGATE_OCSP_ERROR;
    }
    return res->status;
}

uint64_t ocsp_staple_refresh_ms(time_t now, time_t next_update)
{
    time_t left = next_update - now, half;
    if (next_update == 0)
        return REFRESH_DEFAULT_S * 1000u;
    if (left <= 0)
        half = REFRESH_MIN_S; /* already past nextUpdate: after the minimum */
    else if (left >= 2 * REFRESH_MIN_S)
        half = left / 2;
    else if (left > REFRESH_MIN_S)
        half = REFRESH_MIN_S; /* the minimum still comes before it lapses */
    else
        half = left / 2 > 0 ? left / 2 : 1; /* about to lapse: ask again before it does */
    if (half > REFRESH_MAX_S)
        half = REFRESH_MAX_S;
    return (uint64_t)half * 1000u;
}

/* A good or revoked response became current: say so when it is news, and always for a revoked
 * certificate (the operator must replace it). */
static void log_accepted(struct ocsp_staple *st, const struct certgate_ocsp_result *res)
{
    if (res->status == CERTGATE_OCSP_REVOKED)
        log_msg("error",
                "listener '%s': the server certificate is revoked: %s; the revoked status is "
                "stapled, replace the certificate",
                st->listener, res->detail);
    else
        log_msg(st->last == (int)res->status ? "debug" : "info",
                "listener '%s': OCSP response stapled: %s", st->listener, res->detail);
}

/* A refusal's sentence without its client-side opening ("revocation status of '...' is
 * unknown: "): the log line names the certificate already. */
static const char *reason_of(const char *detail)
{
    const char *cut = strncmp(detail, "revocation status of '", 22) == 0
                          ? strstr(detail, "' is unknown: ")
                          : NULL;
    return cut ? cut + 14 : detail;
}

/* No new response: the current one stays while it is valid. */
static void log_failed(struct ocsp_staple *st, const struct certgate_ocsp_result *res, time_t now)
{
    struct staple_resp *r = resp_get(st);
    char until[80] = "nothing is stapled meanwhile", when[32];
    if (resp_fresh(r, now) && r->next_update != 0) {
        utc(r->next_update, when);
        snprintf(until, sizeof(until), "the previous response is stapled until %s", when);
    } else if (resp_fresh(r, now)) {
        snprintf(until, sizeof(until), "the previous response is still stapled");
    }
    unsigned long long retry = st->retry_ms;
    log_msg("warn",
            "listener '%s': no OCSP response to staple for '%s': %s; %s, next try in %llu%s",
            st->listener, st->subject, reason_of(res->detail), until,
            retry % 1000 ? retry : retry / 1000, retry % 1000 ? "ms" : "s");
    if (r != NULL && !resp_fresh(r, now))
        resp_set(st, NULL); /* expired: never stapled again */
    resp_unref(r);
}

void ocsp_staple_fetched(struct ocsp_staple *st, const unsigned char *der, size_t len,
                         const char *why, uint64_t now_ms)
{
    struct certgate_ocsp_result res;
    time_t now = time(NULL);
    uint64_t delay = st->retry_ms;
    if (der == NULL)
        certgate_ocsp_fail(st->req, why, &res);
    else
        ocsp_staple_judge(st->req, der, len, now, &res);
    if (res.status == CERTGATE_OCSP_GOOD || res.status == CERTGATE_OCSP_REVOKED) {
        struct staple_resp *r = resp_new(der, len, res.next_update);
        if (r != NULL) {
            resp_set(st, r);
            log_accepted(st, &res);
            delay = ocsp_staple_refresh_ms(now, res.next_update);
        }
    } else {
        log_failed(st, &res, now);
    }
    st->last = (int)res.status;
    uv_mutex_lock(&st->list->lock);
    st->due_ms = now_ms + delay;
    st->in_flight = 0;
    uv_mutex_unlock(&st->list->lock);
}

/* ---- the list ---- */

struct staple_list *staple_list_new(uv_async_t *wake)
{
    struct staple_list *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    uv_mutex_init(&l->lock);
    l->wake = wake;
    return l;
}

void staple_list_free(struct staple_list *l)
{
    if (l == NULL)
        return;
    for (struct ocsp_staple *st = l->head, *next; st != NULL; st = next) {
        next = st->next;
        staple_unref(st);
    }
    uv_mutex_destroy(&l->lock);
    free(l);
}

void staple_list_add(struct staple_list *l, struct ocsp_staple *st)
{
    uv_mutex_lock(&l->lock);
    for (struct ocsp_staple *o = l->head; o != NULL; o = o->next) {
        if (memcmp(o->key, st->key, sizeof(st->key)) != 0)
            continue;
        if (st->resp == NULL)
            resp_set(st, resp_get(o));
        o->superseded = 1;
    }
    atomic_fetch_add(&st->refs, 1); /* the list's */
    st->list = l;
    st->due_ms = 0;
    st->next = l->head;
    l->head = st;
    uv_mutex_unlock(&l->lock);
    uv_async_send(l->wake);
}

size_t staple_list_due(struct staple_list *l, uint64_t now_ms, struct ocsp_staple **out, size_t cap,
                       uint64_t *next_ms)
{
    struct ocsp_staple *gone = NULL;
    size_t n = 0;
    *next_ms = UINT64_MAX;
    uv_mutex_lock(&l->lock);
    for (struct ocsp_staple **p = &l->head; *p != NULL;) {
        struct ocsp_staple *st = *p;
        if (atomic_load(&st->released) && !st->in_flight) {
            *p = st->next; /* unreferenced below, outside the lock */
            st->next = gone;
            gone = st;
            continue;
        }
        p = &st->next;
        if (st->in_flight || st->superseded)
            continue;
        if (st->due_ms <= now_ms && n < cap) {
            st->in_flight = 1;
            out[n++] = st;
        } else if (st->due_ms <= now_ms) {
            *next_ms = 0; /* more than <cap> due: the rest at the next turn */
        } else if (st->due_ms - now_ms < *next_ms) {
            *next_ms = st->due_ms - now_ms;
        }
    }
    uv_mutex_unlock(&l->lock);
    while (gone != NULL) {
        struct ocsp_staple *next = gone->next;
        staple_unref(gone);
        gone = next;
    }
    return n;
}

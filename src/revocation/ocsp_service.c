#include "revocation/ocsp_service.h"
#include "revocation/ocsp_service_internal.h"

#include "core/metrics.h"
#include "revocation/ocsp_staple.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <certgate/crl.h>

uint64_t ocsp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct entry *slot(struct ocsp_service *s, const unsigned char *key)
{
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    return &s->entries[h % CACHE_SLOTS];
}

/* ---- the service thread ---- */

static void finish(struct job *j, const struct certgate_ocsp_result *res)
{
    struct ocsp_service *s = j->s;
    uv_async_t *wake[MAX_WAITERS];
    int n = 0;
    if (j->done)
        return;
    j->done = 1;
    hist_observe(&s->responder, (ocsp_now_ms() - j->started_ms) * 1000u);
    uint64_t ttl = res->status == CERTGATE_OCSP_ERROR ? ERROR_CACHE_MS : j->cache_ms;
    time_t wall = time(NULL);
    if (res->status != CERTGATE_OCSP_ERROR && res->next_update > wall &&
        (uint64_t)(res->next_update - wall) * 1000u < ttl)
        ttl = (uint64_t)(res->next_update - wall) * 1000u;
    uv_mutex_lock(&s->lock);
    struct entry *e = slot(s, j->key);
    if (s->muted) {
        e->n_waiters = 0; /* the workers are going away: nobody to wake */
    } else if (e->state == E_PENDING && memcmp(e->key, j->key, 32) == 0) {
        e->state = E_DONE;
        e->res = *res;
        e->expires_ms = ocsp_now_ms() + ttl;
        n = e->n_waiters;
        memcpy(wake, e->waiters, (size_t)n * sizeof(*wake));
        e->n_waiters = 0;
    }
    uv_mutex_unlock(&s->lock);
    for (int i = 0; i < n; i++)
        uv_async_send(wake[i]);
}

static void job_free(struct job *j)
{
    if (j->kind != JOB_STAPLE)
        certgate_ocsp_request_free(j->req);
    X509_free(j->issuer);
    free(j->out);
    free(j->in);
    free(j);
}

static void job_closed(uv_handle_t *h)
{
    struct job *j = h->data;
    if (--j->handles == 0 && !j->resolving)
        job_free(j);
}

static void staple_finish(struct job *j, const unsigned char *der, size_t len, const char *why);

static void job_end(struct job *j, const char *why, const struct certgate_ocsp_result *res)
{
    struct certgate_ocsp_result r;
    if (j->kind == JOB_CRL) {
        crl_finish(j, NULL, why);
    } else if (j->kind == JOB_STAPLE) {
        staple_finish(j, NULL, 0, why);
    } else if (res == NULL) {
        certgate_ocsp_fail(j->req, why, &r);
        res = &r;
        finish(j, res);
    } else {
        finish(j, res);
    }
    if (!uv_is_closing((uv_handle_t *)&j->tcp))
        uv_close((uv_handle_t *)&j->tcp, job_closed);
    if (!uv_is_closing((uv_handle_t *)&j->timer))
        uv_close((uv_handle_t *)&j->timer, job_closed);
}

static void on_timeout(uv_timer_t *t)
{
    struct job *j = t->data;
    char why[64];
    snprintf(why, sizeof(why), "did not answer within %llums", (unsigned long long)j->timeout_ms);
    job_end(j, why, NULL);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct job *j = h->data;
    size_t limit = (j->kind == JOB_CRL ? CERTGATE_CRL_MAX_SIZE : CERTGATE_OCSP_MAX_RESPONSE) +
                   CERTGATE_OCSP_MAX_HEADERS + 1;
    if (j->in_cap - j->in_len < 16384 && j->in_cap < limit) {
        size_t cap = j->in_cap ? j->in_cap * 2 : 16384;
        unsigned char *p = realloc(j->in, cap);
        if (p) {
            j->in = p;
            j->in_cap = cap;
        }
    }
    *b = uv_buf_init((char *)j->in + j->in_len, (unsigned)(j->in_cap - j->in_len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct job *j = st->data;
    if (j->done)
        return;
    if (n > 0)
        j->in_len += (size_t)n;
    if (n == 0 || n == UV_ENOBUFS)
        return;
    int eof = n == UV_EOF;
    if (n < 0 && !eof) {
        job_end(j, "closed the connection with an error", NULL);
        return;
    }
    const unsigned char *body;
    size_t blen;
    char err[200] = "";
    int r = j->kind == JOB_CRL
                ? certgate_crl_http_parse(j->in, j->in_len, eof, &body, &blen, err, sizeof(err))
                : certgate_ocsp_http_parse(j->in, j->in_len, eof, &body, &blen, err, sizeof(err));
    if (r == 0 && !eof)
        return;
    if (r <= 0) {
        job_end(j, err[0] ? err : "closed the connection before answering", NULL);
        return;
    }
    if (j->kind == JOB_CRL) {
        char why[400];
        X509_CRL *crl = certgate_crl_parse(body, blen, err, sizeof(err));
        if (crl == NULL) {
            snprintf(why, sizeof(why), "sent a body that %s", err);
            job_end(j, why, NULL);
        } else if (certgate_crl_signed_by(crl, j->issuer, err, sizeof(err)) != 0) {
            snprintf(why, sizeof(why), "sent a CRL that cannot be used: %s", err);
            X509_CRL_free(crl);
            job_end(j, why, NULL);
        } else {
            crl_finish(j, crl, NULL);
            job_end(j, NULL, NULL);
        }
        return;
    }
    if (j->kind == JOB_STAPLE) {
        staple_finish(j, body, blen, NULL);
        job_end(j, NULL, NULL);
        return;
    }
    struct certgate_ocsp_result res;
    certgate_ocsp_check(j->req, body, blen, 0, CERTGATE_OCSP_DEFAULT_SKEW, -1, &res);
    job_end(j, NULL, &res);
}

static void on_written(uv_write_t *w, int status)
{
    struct job *j = w->data;
    if (status < 0 && !j->done)
        job_end(j, "closed the connection before the request was sent", NULL);
}

static void on_connected(uv_connect_t *c, int status)
{
    struct job *j = c->data;
    if (j->done)
        return;
    if (status < 0) {
        char why[160];
        snprintf(why, sizeof(why), "cannot be reached (%s)", uv_strerror(status));
        job_end(j, why, NULL);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)j->out, (unsigned)j->out_len);
    j->write.data = j;
    if (uv_write(&j->write, (uv_stream_t *)&j->tcp, &b, 1, on_written) < 0 ||
        uv_read_start((uv_stream_t *)&j->tcp, on_alloc, on_read) < 0)
        job_end(j, "cannot be written to", NULL);
}

static void on_resolved(uv_getaddrinfo_t *r, int status, struct addrinfo *ai)
{
    struct job *j = r->data;
    j->resolving = 0;
    if (j->done) {
        uv_freeaddrinfo(ai);
        if (j->handles == 0)
            job_free(j);
        return;
    }
    if (status < 0 || ai == NULL) {
        uv_freeaddrinfo(ai);
        job_end(j, "has a name that does not resolve", NULL);
        return;
    }
    j->connect.data = j;
    if (uv_tcp_connect(&j->connect, &j->tcp, ai->ai_addr, on_connected) < 0)
        job_end(j, "cannot be connected to", NULL);
    uv_freeaddrinfo(ai);
}

static void start_job(struct job *j)
{
    struct ocsp_service *s = j->s;
    const struct certgate_ocsp_url *t =
        j->kind == JOB_CRL ? &j->target : certgate_ocsp_request_target(j->req);
    char port[8];
    uv_tcp_init(&s->loop, &j->tcp);
    uv_timer_init(&s->loop, &j->timer);
    j->tcp.data = j->timer.data = j->resolve.data = j;
    j->handles = 2;
    j->started_ms = ocsp_now_ms();
    uv_timer_start(&j->timer, on_timeout, j->timeout_ms, 0);
    if (j->kind == JOB_CRL) {
        atomic_fetch_add(&s->crl_fetches, 1);
        j->out = certgate_crl_http_request(&j->target, &j->out_len);
    } else {
        atomic_fetch_add(j->kind == JOB_STAPLE ? &s->staple_fetches : &s->queries, 1);
        /* GET when the request fits in a URL (RFC 6960 A.1): caches in front of responders
         * serve it */
        j->out = certgate_ocsp_http_request(j->req, CERTGATE_OCSP_GET_IF_FITS, &j->out_len);
    }
    snprintf(port, sizeof(port), "%u", t->port);
    struct addrinfo hints = {0};
    hints.ai_socktype = SOCK_STREAM;
    if (j->out == NULL ||
        uv_getaddrinfo(&s->loop, &j->resolve, on_resolved, t->host, port, &hints) < 0)
        job_end(j, "cannot be looked up", NULL);
    else
        j->resolving = 1;
}

/* ---- staples of the server certificates (ocsp_staple.h) ---- */

static void run_staples(struct ocsp_service *s);

/* A staple's fetch ended: it judges the response and schedules its next fetch. */
static void staple_finish(struct job *j, const unsigned char *der, size_t len, const char *why)
{
    if (j->done)
        return;
    j->done = 1;
    ocsp_staple_fetched(j->staple, der, len, why, ocsp_now_ms());
    run_staples(j->s);
}

static void on_staple_timer(uv_timer_t *t)
{
    run_staples(t->data);
}

/* Start the fetches that are due and wake up for the next one. */
static void run_staples(struct ocsp_service *s)
{
    struct ocsp_staple *due[STAPLES_PER_TURN];
    uint64_t next;
    size_t n = staple_list_due(s->staples, ocsp_now_ms(), due, STAPLES_PER_TURN, &next);
    for (size_t i = 0; i < n; i++) {
        struct job *j = calloc(1, sizeof(*j));
        if (j == NULL) {
            ocsp_staple_fetched(due[i], NULL, 0, "was not asked (out of memory)", ocsp_now_ms());
            continue;
        }
        j->s = s;
        j->kind = JOB_STAPLE;
        j->staple = due[i];
        j->req = (struct certgate_ocsp_request *)ocsp_staple_request(due[i]);
        j->timeout_ms = ocsp_staple_timeout_ms(due[i]);
        start_job(j);
    }
    if (n > 0)
        next = 0; /* a fetch that failed at once was rescheduled after <next> was taken */
    if (next == UINT64_MAX)
        uv_timer_stop(&s->staple_timer);
    else
        uv_timer_start(&s->staple_timer, on_staple_timer, next, 0);
}

void ocsp_service_staple(struct ocsp_service *s, struct ocsp_staple *st)
{
    staple_list_add(s->staples, st);
}

static void on_wake(uv_async_t *a)
{
    struct ocsp_service *s = a->data;
    uv_mutex_lock(&s->lock);
    struct job *q = s->queue;
    s->queue = NULL;
    int stopping = s->stopping;
    uv_mutex_unlock(&s->lock);
    while (q) {
        struct job *next = q->next;
        start_job(q);
        q = next;
    }
    if (stopping)
        uv_stop(&s->loop);
    else
        run_staples(s);
}

static void service_main(void *arg)
{
    struct ocsp_service *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
}

struct ocsp_service *ocsp_service_start(char *err, size_t errlen)
{
    struct ocsp_service *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->entries = calloc(CACHE_SLOTS, sizeof(*s->entries))) == NULL ||
        (s->crls = calloc(CRL_SLOTS, sizeof(*s->crls))) == NULL ||
        (s->staples = staple_list_new(&s->wake)) == NULL) {
        if (s) {
            free(s->entries);
            free(s->crls);
        }
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    uv_loop_init(&s->loop);
    uv_mutex_init(&s->lock);
    uv_async_init(&s->loop, &s->wake, on_wake);
    s->wake.data = s;
    uv_timer_init(&s->loop, &s->staple_timer);
    s->staple_timer.data = s;
    if (uv_thread_create(&s->thread, service_main, s) != 0) {
        snprintf(err, errlen, "cannot start the OCSP thread");
        return NULL;
    }
    return s;
}

static void close_any(uv_handle_t *h, void *arg)
{
    if (h->data != arg)
        ((struct job *)h->data)->done = 1; /* a late resolver callback must not connect */
    if (!uv_is_closing(h))
        uv_close(h, h->data == arg ? NULL : job_closed);
}

void ocsp_service_stop(struct ocsp_service *s)
{
    if (s == NULL)
        return;
    uv_mutex_lock(&s->lock);
    s->stopping = 1;
    uv_mutex_unlock(&s->lock);
    uv_async_send(&s->wake);
    uv_thread_join(&s->thread);
    /* close what is left (queries in flight, the wake handle) and let it finish */
    uv_walk(&s->loop, close_any, s);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    for (struct job *j = s->queue; j;) {
        struct job *next = j->next;
        job_free(j);
        j = next;
    }
    uv_mutex_destroy(&s->lock);
    staple_list_free(s->staples);
    for (size_t i = 0; i < CRL_SLOTS; i++) {
        X509_CRL_free(s->crls[i].crl);
        X509_free(s->crls[i].signer);
    }
    free(s->crls);
    free(s->entries);
    free(s);
}

/* Move the waiters of one cache entry into <wake> (each once, at most <cap>). */
static void take_waiters(uv_async_t **from, int *n_from, uv_async_t **wake, int *n, int cap)
{
    for (int k = 0; k < *n_from; k++) {
        int seen = 0;
        for (int m = 0; m < *n; m++)
            seen |= wake[m] == from[k];
        if (!seen && *n < cap)
            wake[(*n)++] = from[k];
    }
    *n_from = 0;
}

void ocsp_service_mute(struct ocsp_service *s)
{
    if (s == NULL)
        return;
    /* wake every waiter one last time: asking again while muted answers unknown */
    uv_async_t *wake[256];
    int n = 0, cap = (int)(sizeof(wake) / sizeof(wake[0]));
    uv_mutex_lock(&s->lock);
    s->muted = 1;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        take_waiters(s->entries[i].waiters, &s->entries[i].n_waiters, wake, &n, cap);
    for (size_t i = 0; i < CRL_SLOTS; i++)
        take_waiters(s->crls[i].waiters, &s->crls[i].n_waiters, wake, &n, cap);
    uv_mutex_unlock(&s->lock);
    for (int i = 0; i < n; i++)
        uv_async_send(wake[i]);
}

uint64_t ocsp_service_queries(const struct ocsp_service *s)
{
    return s ? atomic_load(&((struct ocsp_service *)s)->queries) : 0;
}

void ocsp_service_stats(const struct ocsp_service *s, struct ocsp_stats *out)
{
    static const struct hist none;
    struct ocsp_service *m = (struct ocsp_service *)s;
    memset(out, 0, sizeof(*out));
    out->responder = &none;
    if (s == NULL)
        return;
    out->queries = atomic_load(&m->queries);
    out->hits = atomic_load(&m->hits);
    out->misses = atomic_load(&m->misses);
    out->crl_fetches = atomic_load(&m->crl_fetches);
    out->staple_fetches = atomic_load(&m->staple_fetches);
    out->responder = &m->responder;
}

uint64_t crl_service_fetches(const struct ocsp_service *s)
{
    return s ? atomic_load(&((struct ocsp_service *)s)->crl_fetches) : 0;
}

/* ---- the workers' side ---- */

static void make_key(X509 *leaf, const struct ocsp_options *o, unsigned char *key)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    int len = i2d_X509(leaf, &der);
    unsigned int klen = 0;
    memset(key, 0, 32);
    if (md && len > 0 && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
        EVP_DigestUpdate(md, der, (size_t)len);
        if (o->url)
            EVP_DigestUpdate(md, o->url, strlen(o->url));
        EVP_DigestFinal_ex(md, key, &klen);
    }
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
}

static void add_waiter(struct entry *e, uv_async_t *wake)
{
    for (int i = 0; i < e->n_waiters; i++)
        if (e->waiters[i] == wake)
            return;
    if (e->n_waiters < MAX_WAITERS)
        e->waiters[e->n_waiters++] = wake;
}

int ocsp_service_status(struct ocsp_service *s, X509 *leaf, X509 *issuer,
                        const struct ocsp_options *o, uv_async_t *wake,
                        struct certgate_ocsp_result *res)
{
    unsigned char key[32];
    char err[300];
    make_key(leaf, o, key);
    uv_mutex_lock(&s->lock);
    if (s->muted) {
        uv_mutex_unlock(&s->lock);
        certgate_ocsp_fail(NULL, "is not asked while certgate stops", res);
        return 1;
    }
    struct entry *e = slot(s, key);
    int mine = memcmp(e->key, key, 32) == 0;
    if (mine && e->state == E_DONE && ocsp_now_ms() < e->expires_ms) {
        *res = e->res;
        uv_mutex_unlock(&s->lock);
        atomic_fetch_add(&s->hits, 1);
        return 1;
    }
    atomic_fetch_add(&s->misses, 1);
    if (mine && e->state == E_PENDING) {
        add_waiter(e, wake); /* coalesce: the query already running answers us too */
        uv_mutex_unlock(&s->lock);
        return 0;
    }
    uv_mutex_unlock(&s->lock);
    /* a new query: built outside the lock */
    struct certgate_ocsp_request *req =
        certgate_ocsp_request_new(leaf, issuer, o->nonce, o->url, err, sizeof(err));
    if (req == NULL) {
        memset(res, 0, sizeof(*res));
        res->status = CERTGATE_OCSP_ERROR;
        res->revocation_reason = -1;
        snprintf(res->detail, sizeof(res->detail), "revocation status is unknown: %s", err);
        return 1;
    }
    struct job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        certgate_ocsp_request_free(req);
        memset(res, 0, sizeof(*res));
        res->status = CERTGATE_OCSP_ERROR;
        snprintf(res->detail, sizeof(res->detail), "revocation status is unknown: out of memory");
        return 1;
    }
    j->s = s;
    memcpy(j->key, key, 32);
    j->req = req;
    j->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
    j->cache_ms = o->cache_ms ? o->cache_ms : 300000;
    uv_mutex_lock(&s->lock);
    e = slot(s, key);
    if (memcmp(e->key, key, 32) == 0 && e->state == E_PENDING) {
        /* another worker started it meanwhile */
        add_waiter(e, wake);
        uv_mutex_unlock(&s->lock);
        certgate_ocsp_request_free(req);
        free(j);
        return 0;
    }
    /* a slot shared with another certificate's query in flight: keep its
     * waiters, they ask again when this one ends */
    uv_async_t *keep[MAX_WAITERS];
    int n_keep = e->state == E_PENDING ? e->n_waiters : 0;
    memcpy(keep, e->waiters, (size_t)n_keep * sizeof(*keep));
    memset(e, 0, sizeof(*e));
    memcpy(e->key, key, 32);
    e->state = E_PENDING;
    for (int i = 0; i < n_keep; i++)
        add_waiter(e, keep[i]);
    add_waiter(e, wake);
    j->next = s->queue;
    s->queue = j;
    uv_mutex_unlock(&s->lock);
    uv_async_send(&s->wake);
    return 0;
}

#include "revocation/ocsp_service.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#define CACHE_SLOTS    4096
#define MAX_WAITERS    64
#define ERROR_CACHE_MS 5000 /* a responder that failed is not asked again at once */

enum entry_state { E_EMPTY = 0, E_PENDING, E_DONE };

struct entry {
    unsigned char key[32];
    enum entry_state state;
    struct certgate_ocsp_result res;
    uint64_t expires_ms; /* monotonic */
    uv_async_t *waiters[MAX_WAITERS];
    int n_waiters;
};

/* One query in flight, owned by the service thread. */
struct job {
    struct ocsp_service *s;
    unsigned char key[32];
    struct certgate_ocsp_request *req;
    uint64_t timeout_ms, cache_ms;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    uv_getaddrinfo_t resolve;
    uv_timer_t timer;
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
    uv_mutex_t lock;       /* guards entries, queue, stopping */
    struct entry *entries; /* direct-mapped cache */
    struct job *queue;     /* submitted, not yet started */
    int stopping;
    int muted; /* workers are stopping: wake none of them any more */
    atomic_ullong queries;
};

static uint64_t now_ms(void)
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
        e->expires_ms = now_ms() + ttl;
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
    certgate_ocsp_request_free(j->req);
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

static void job_end(struct job *j, const char *why, const struct certgate_ocsp_result *res)
{
    struct certgate_ocsp_result r;
    if (res == NULL) {
        certgate_ocsp_fail(j->req, why, &r);
        res = &r;
    }
    finish(j, res);
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
    size_t limit = CERTGATE_OCSP_MAX_RESPONSE + CERTGATE_OCSP_MAX_HEADERS + 1;
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
    int r = certgate_ocsp_http_parse(j->in, j->in_len, eof, &body, &blen, err, sizeof(err));
    if (r == 0 && !eof)
        return;
    if (r <= 0) {
        job_end(j, err[0] ? err : "closed the connection before answering", NULL);
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
    const struct certgate_ocsp_url *t = certgate_ocsp_request_target(j->req);
    char port[8];
    uv_tcp_init(&s->loop, &j->tcp);
    uv_timer_init(&s->loop, &j->timer);
    j->tcp.data = j->timer.data = j->resolve.data = j;
    j->handles = 2;
    uv_timer_start(&j->timer, on_timeout, j->timeout_ms, 0);
    atomic_fetch_add(&s->queries, 1);
    /* GET when the request fits in a URL (RFC 6960 A.1): caches in front of responders serve it */
    j->out = certgate_ocsp_http_request(j->req, CERTGATE_OCSP_GET_IF_FITS, &j->out_len);
    snprintf(port, sizeof(port), "%u", t->port);
    struct addrinfo hints = {0};
    hints.ai_socktype = SOCK_STREAM;
    if (j->out == NULL ||
        uv_getaddrinfo(&s->loop, &j->resolve, on_resolved, t->host, port, &hints) < 0)
        job_end(j, "cannot be looked up", NULL);
    else
        j->resolving = 1;
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
}

static void service_main(void *arg)
{
    struct ocsp_service *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
}

struct ocsp_service *ocsp_service_start(char *err, size_t errlen)
{
    struct ocsp_service *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->entries = calloc(CACHE_SLOTS, sizeof(*s->entries))) == NULL) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    uv_loop_init(&s->loop);
    uv_mutex_init(&s->lock);
    uv_async_init(&s->loop, &s->wake, on_wake);
    s->wake.data = s;
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
        certgate_ocsp_request_free(j->req);
        free(j);
        j = next;
    }
    uv_mutex_destroy(&s->lock);
    free(s->entries);
    free(s);
}

void ocsp_service_mute(struct ocsp_service *s)
{
    if (s == NULL)
        return;
    /* wake every waiter one last time: asking again while muted answers unknown */
    uv_async_t *wake[CACHE_SLOTS > 256 ? 256 : CACHE_SLOTS];
    int n = 0;
    uv_mutex_lock(&s->lock);
    s->muted = 1;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct entry *e = &s->entries[i];
        for (int k = 0; k < e->n_waiters; k++) {
            int seen = 0;
            for (int m = 0; m < n; m++)
                seen |= wake[m] == e->waiters[k];
            if (!seen && n < (int)(sizeof(wake) / sizeof(wake[0])))
                wake[n++] = e->waiters[k];
        }
        e->n_waiters = 0;
    }
    uv_mutex_unlock(&s->lock);
    for (int i = 0; i < n; i++)
        uv_async_send(wake[i]);
}

uint64_t ocsp_service_queries(const struct ocsp_service *s)
{
    return s ? atomic_load(&((struct ocsp_service *)s)->queries) : 0;
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
    if (mine && e->state == E_DONE && now_ms() < e->expires_ms) {
        *res = e->res;
        uv_mutex_unlock(&s->lock);
        return 1;
    }
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

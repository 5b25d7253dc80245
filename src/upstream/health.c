#include "upstream/health.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_types.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/sock.h"
#include "tls/tls_client.h"
#include "upstream/servers.h"

#define RESOLVE_EVERY_MS 30000
#define PROBE_HEAD_MAX   16384

/* One server watched in one generation. */
struct watch {
    struct health *h;
    const struct rt_backend *b;
    const struct rt_server *srv;
    uv_timer_t probe_timer;   /* next probe, or the running probe's timeout */
    uv_timer_t resolve_timer; /* names only */
    uv_getaddrinfo_t gai;
    struct probe *running;
    uint64_t started_ms;
    int handles;   /* open timers + a getaddrinfo in flight */
    int resolving; /* a getaddrinfo request refers to the watch */
    int retired;   /* its generation was replaced: finish and free */
    int is_name;   /* the URL's host is a name, not an IP literal */
};

/* One probe connection. */
struct probe {
    struct sock sock; /* first */
    struct watch *wt; /* NULL once abandoned */
    int done;
};

struct health {
    uv_loop_t *loop;
    struct runtime *rt;
    struct watch *watches;
    size_t n_watches;
    char rbuf[16384];    /* probes' read scratch */
    struct sock_loop sl; /* the probes' socks on this loop */
    int closing;         /* handles of <sl> still closing after health_stop */
};

/* ---- results ---- */

static int status_matches(const struct cfg_health *hc, int status)
{
    for (size_t i = 0; i < hc->n_match; i++)
        if (status >= hc->match[i].lo && status <= hc->match[i].hi)
            return 1;
    return hc->n_match == 0 && status >= 200 && status <= 399;
}

static void next_probe(struct watch *wt);

static void result(struct watch *wt, int ok, const char *why)
{
    struct server_state *st = wt->srv->st;
    const struct cfg_health *hc = &wt->b->cfg->health;
    if (ok) {
        st->fail_run = 0;
        /* a probe that passed is a fact: it lifts a passive ejection (a guess) */
        atomic_store(&st->ejected_until_ms, 0);
        atomic_store(&st->fails, 0);
        if (++st->ok_run >= hc->healthy_threshold && !atomic_load(&st->up)) {
            atomic_store(&st->up, 1);
            log_msg("info", "backend '%s' server %s is up again (%d probes passed)",
                    wt->b->cfg->name, wt->srv->cfg->url, st->ok_run);
        }
    } else {
        st->ok_run = 0;
        if (++st->fail_run >= hc->unhealthy_threshold && atomic_load(&st->up)) {
            atomic_store(&st->up, 0);
            log_msg("warn", "backend '%s' server %s is down: %s (%d probes failed in a row)",
                    wt->b->cfg->name, wt->srv->cfg->url, why, st->fail_run);
        }
    }
    next_probe(wt);
}

static void probe_end(struct probe *p, int ok, const char *why)
{
    struct watch *wt = p->wt;
    if (p->done)
        return;
    p->done = 1;
    sock_close(&p->sock);
    if (wt == NULL)
        return;
    wt->running = NULL;
    p->wt = NULL;
    uv_timer_stop(&wt->probe_timer);
    if (!wt->retired)
        result(wt, ok, why);
}

/* ---- the probe connection ---- */

static void send_request(struct probe *p)
{
    const struct watch *wt = p->wt;
    const struct cfg_server *cs = wt->srv->cfg;
    const char *name = wt->b->cfg->tls.server_name;
    char host[300], req[2048];
    int dflt = cs->port == (cs->tls ? 443 : 80);
    if (name)
        snprintf(host, sizeof(host), "%s", name);
    else if (strchr(cs->host, ':'))
        snprintf(host, sizeof(host), dflt ? "[%s]" : "[%s]:%d", cs->host, cs->port);
    else
        snprintf(host, sizeof(host), dflt ? "%s" : "%s:%d", cs->host, cs->port);
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: certgate-health\r\n"
                     "Connection: close\r\n\r\n",
                     wt->b->cfg->health.path, host);
    if (n < 0 || (size_t)n >= sizeof(req) || sock_write(&p->sock, req, (size_t)n) < 0) {
        probe_end(p, 0, "the probe could not be sent");
        return;
    }
    sock_start_read(&p->sock);
}

static void p_on_connect(struct sock *s, int status)
{
    struct probe *p = (struct probe *)s;
    char why[160];
    if (p->wt == NULL)
        return;
    if (status < 0) {
        snprintf(why, sizeof(why), "cannot be reached (%s)", uv_strerror(status));
        probe_end(p, 0, why);
        return;
    }
    if (s->flags & SOCK_TLS) {
        sock_start_read(s);
        sock_pump(s);
        return;
    }
    send_request(p);
}

static void p_on_handshake(struct sock *s)
{
    struct probe *p = (struct probe *)s;
    if (p->wt)
        send_request(p);
}

static void p_on_data(struct sock *s)
{
    struct probe *p = (struct probe *)s;
    char why[400];
    if (p->wt == NULL)
        return;
    if ((s->flags & SOCK_TLS) && !(s->flags & SOCK_HANDSHAKE_DONE)) {
        if (s->flags & (SOCK_ERROR | SOCK_EOF)) {
            char tls[256];
            tls_client_verify_error(s->ssl, p->wt->srv->tls_name, tls, sizeof(tls));
            snprintf(why, sizeof(why), "TLS failed: %s", tls);
            probe_end(p, 0, why);
        }
        return;
    }
    const char *d = s->in.data;
    const char *eol = memchr(d, '\n', s->in.len);
    if (eol == NULL) {
        if (s->flags & (SOCK_ERROR | SOCK_EOF) || s->in.len >= PROBE_HEAD_MAX)
            probe_end(p, 0, "closed the connection without answering");
        else
            sock_fill(s);
        return;
    }
    /* "HTTP/1.x NNN": the buffer is not NUL-terminated, so the digits are read by hand */
    int status = 0;
    if (s->in.len < 12 || memcmp(d, "HTTP/1.", 7) != 0 || d[8] != ' ' ||
        !isdigit((unsigned char)d[9]) || !isdigit((unsigned char)d[10]) ||
        !isdigit((unsigned char)d[11])) {
        probe_end(p, 0, "did not answer with HTTP/1.x");
        return;
    }
    status = (d[9] - '0') * 100 + (d[10] - '0') * 10 + (d[11] - '0');
    if (status_matches(&p->wt->b->cfg->health, status)) {
        probe_end(p, 1, NULL);
        return;
    }
    snprintf(why, sizeof(why), "the probe of %s answered %d", p->wt->b->cfg->health.path, status);
    probe_end(p, 0, why);
}

static void p_on_closed(struct sock *s)
{
    free(s);
}

static const struct sock_events probe_events = {
    .on_data = p_on_data,
    .on_handshake = p_on_handshake,
    .on_connect = p_on_connect,
    .on_closed = p_on_closed,
};

static void on_probe_timer(uv_timer_t *t);

static void start_probe(struct watch *wt)
{
    struct sockaddr_storage addr;
    struct health *h = wt->h;
    wt->started_ms = uv_now(h->loop);
    if (server_addr(wt->srv->st, &addr) < 0) {
        result(wt, 0, "its name does not resolve");
        return;
    }
    struct probe *p = calloc(1, sizeof(*p));
    if (p == NULL || sock_init(&p->sock, h->loop, &h->sl, &probe_events, p, PROBE_HEAD_MAX)) {
        free(p);
        next_probe(wt);
        return;
    }
    p->wt = wt;
    wt->running = p;
    atomic_fetch_add(&wt->srv->st->probes, 1);
    if (wt->srv->cfg->tls && wt->b->tls) {
        SSL *ssl = SSL_new(wt->b->tls);
        if (ssl == NULL || tls_client_prepare(ssl, wt->srv->tls_name) < 0) {
            SSL_free(ssl);
            probe_end(p, 0, "TLS could not be set up");
            return;
        }
        sock_set_tls(&p->sock, ssl, 0);
    }
    if (sock_connect(&p->sock, (const struct sockaddr *)&addr) < 0) {
        probe_end(p, 0, "cannot be connected to");
        return;
    }
    uv_timer_start(&wt->probe_timer, on_probe_timer, wt->b->cfg->health.timeout_ms, 0);
}

static void on_probe_timer(uv_timer_t *t)
{
    struct watch *wt = t->data;
    char why[100];
    if (wt->running) {
        snprintf(why, sizeof(why), "no answer within %llums",
                 (unsigned long long)wt->b->cfg->health.timeout_ms);
        probe_end(wt->running, 0, why);
        return;
    }
    start_probe(wt);
}

/* The next probe starts one interval after the last one started. */
static void next_probe(struct watch *wt)
{
    uint64_t now = uv_now(wt->h->loop), at = wt->started_ms + wt->b->cfg->health.interval_ms;
    if (wt->retired)
        return;
    uv_timer_start(&wt->probe_timer, on_probe_timer, at > now ? at - now : 0, 0);
}

/* ---- names ---- */

static void on_resolve_timer(uv_timer_t *t);

static void on_resolved(uv_getaddrinfo_t *r, int status, struct addrinfo *ai)
{
    struct watch *wt = r->data;
    wt->resolving = 0;
    if (!wt->retired) {
        if (status == 0 && ai) {
            server_set_addr(wt->srv->st, ai->ai_addr);
        } else if (!atomic_load(&wt->srv->st->resolved)) {
            log_msg("warn", "backend '%s' server %s: '%s' does not resolve (%s)", wt->b->cfg->name,
                    wt->srv->cfg->url, wt->srv->cfg->host, uv_strerror(status));
        }
    }
    uv_freeaddrinfo(ai);
}

static void on_resolve_timer(uv_timer_t *t)
{
    struct watch *wt = t->data;
    char port[8];
    struct addrinfo hints = {0};
    if (wt->resolving || wt->retired)
        return;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", wt->srv->cfg->port);
    wt->gai.data = wt;
    if (uv_getaddrinfo(wt->h->loop, &wt->gai, on_resolved, wt->srv->cfg->host, port, &hints) == 0)
        wt->resolving = 1;
}

/* ---- generations ---- */

static void watch_closed(uv_handle_t *hd)
{
    struct watch *wt = hd->data;
    wt->handles--; /* the array goes with its generation, see retire() */
}

struct retired {
    struct watch *watches;
    size_t n;
    struct runtime *rt;
    uv_timer_t reap; /* frees the old array once nothing refers to it */
};

static void reap_closed(uv_handle_t *hd)
{
    struct retired *r = hd->data;
    free(r->watches);
    runtime_unref(r->rt);
    free(r);
}

static void on_reap(uv_timer_t *t)
{
    struct retired *r = t->data;
    for (size_t i = 0; i < r->n; i++)
        if (r->watches[i].handles || r->watches[i].resolving)
            return;
    uv_close((uv_handle_t *)&r->reap, reap_closed);
}

static void retire(struct health *h)
{
    struct retired *r = calloc(1, sizeof(*r));
    for (size_t i = 0; i < h->n_watches; i++) {
        struct watch *wt = &h->watches[i];
        wt->retired = 1;
        if (wt->running) {
            struct probe *p = wt->running;
            wt->running = NULL;
            p->wt = NULL;
            p->done = 1;
            sock_close(&p->sock);
        }
        uv_close((uv_handle_t *)&wt->probe_timer, watch_closed);
        if (wt->is_name)
            uv_close((uv_handle_t *)&wt->resolve_timer, watch_closed);
    }
    if (r == NULL) /* cannot wait for the closes: leak rather than free under them */
        return;
    r->watches = h->watches;
    r->n = h->n_watches;
    r->rt = h->rt;
    uv_timer_init(h->loop, &r->reap);
    r->reap.data = r;
    uv_timer_start(&r->reap, on_reap, 0, 100);
    h->watches = NULL;
    h->n_watches = 0;
    h->rt = NULL;
}

static int is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return uv_inet_pton(AF_INET, host, buf) == 0 || uv_inet_pton(AF_INET6, host, buf) == 0;
}

static void watch_all(struct health *h, struct runtime *rt)
{
    size_t n = 0;
    for (size_t i = 0; i < rt->n_backends; i++)
        n += rt->backends[i].n_servers;
    h->rt = runtime_ref(rt);
    h->watches = calloc(n ? n : 1, sizeof(*h->watches));
    if (h->watches == NULL)
        return;
    for (size_t i = 0; i < rt->n_backends; i++) {
        const struct rt_backend *b = &rt->backends[i];
        for (size_t k = 0; k < b->n_servers; k++) {
            struct watch *wt = &h->watches[h->n_watches++];
            wt->h = h;
            wt->b = b;
            wt->srv = &b->servers[k];
            wt->is_name = !is_ip_literal(wt->srv->cfg->host);
            uv_timer_init(h->loop, &wt->probe_timer);
            wt->probe_timer.data = wt;
            wt->handles = 1;
            if (wt->is_name) {
                uv_timer_init(h->loop, &wt->resolve_timer);
                wt->resolve_timer.data = wt;
                wt->handles++;
                uv_timer_start(&wt->resolve_timer, on_resolve_timer, 0, RESOLVE_EVERY_MS);
            }
            if (b->cfg->health.set) {
                wt->started_ms = uv_now(h->loop);
                /* the first probe at once: a server that is down is known within the
                 * thresholds, not an interval later */
                uv_timer_start(&wt->probe_timer, on_probe_timer, 0, 0);
            }
        }
    }
}

struct health *health_start(uv_loop_t *loop, struct runtime *rt)
{
    struct health *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->loop = loop;
    if (sock_loop_init(&h->sl, loop, h->rbuf, sizeof(h->rbuf)) < 0) {
        free(h);
        return NULL;
    }
    watch_all(h, rt);
    return h;
}

void health_update(struct health *h, struct runtime *rt)
{
    if (h == NULL)
        return;
    retire(h);
    watch_all(h, rt);
}

/* The flush handles live inside <h>: free it when the last of them has closed (libuv runs
 * close callbacks in no promised order). */
static void health_freed(uv_handle_t *hd)
{
    struct health *h = hd->data;
    if (--h->closing == 0)
        free(h);
}

void health_stop(struct health *h)
{
    if (h == NULL)
        return;
    retire(h); /* what is retired refers to <h> no more */
    h->closing = 2;
    h->sl.flush.data = h->sl.before.data = h;
    uv_close((uv_handle_t *)&h->sl.before, health_freed);
    uv_close((uv_handle_t *)&h->sl.flush, health_freed);
}

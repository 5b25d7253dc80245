/* loadgen: an HTTP/1.1-over-TLS load generator that presents a client certificate
 * (wrk and h2load cannot), for the side-by-side runs of bench/run.py.
 *
 * Modes:
 *   keepalive  N connections, one request in flight on each, GET PATH again and again;
 *              with --rate R: open loop, R requests/s, latency from the intended send time
 *   handshake  a full mTLS handshake per connection, one request, close; N at a time
 *   resume     the same, resuming (TLS 1.3 ticket) with the ticket of the slot's previous
 *              connection; each slot makes one full handshake first, before the clock starts
 *   idle       open N connections (handshake + one request), hold them for --duration
 *
 * One epoll loop per thread (--threads). Markers on stderr ("loadgen: START", "loadgen: HOLD
 * n", "loadgen: END") let a driver sample the server around the measured window. The
 * result goes to stdout, as text or (--json) one JSON object. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define RBUF_SIZE      4096
#define MAX_SOURCES    64
#define DRAIN_GRACE_NS 2000000000ull
#define QUEUE_MAX      (1u << 24) /* open-loop backlog cap: beyond it requests are dropped */

/* ---- histogram: log-linear, 64 sub-buckets per power of two (~1.6% resolution), in ns ---- */

#define H_SUB 64
#define H_N   (58 * H_SUB + 2 * H_SUB)

static unsigned h_index(uint64_t v)
{
    if (v < 2 * H_SUB)
        return (unsigned)v;
    unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - 6;
    return shift * H_SUB + (unsigned)(v >> shift);
}

static uint64_t h_value(unsigned idx)
{
    if (idx < 2 * H_SUB)
        return idx;
    unsigned shift = idx / H_SUB - 1;
    uint64_t m = idx - shift * H_SUB;
    return (m << shift) + ((1ull << shift) >> 1); /* bucket middle */
}

enum err_kind {
    E_CONNECT,
    E_HANDSHAKE,
    E_TLS_IO,
    E_EOF,
    E_HTTP,
    E_STATUS,
    E_TIMEOUT,
    E_NOT_RESUMED,
    E_DROPPED,
    E_N
};

static const char *const err_names[E_N] = {
    "connect",        "tls_handshake", "tls_io",      "server_closed", "http_parse",
    "status_not_2xx", "timeout",       "not_resumed", "dropped",
};

struct stats {
    uint64_t hist[H_N];
    uint64_t count; /* recorded completions (requests, or connections in handshake modes) */
    uint64_t lat_sum, lat_max;
    uint64_t handshakes_full, handshakes_resumed; /* in the window */
    uint64_t errors[E_N];
    uint64_t held;
    uint64_t backlog;
};

static void stats_record(struct stats *s, uint64_t ns)
{
    s->hist[h_index(ns)]++;
    s->count++;
    s->lat_sum += ns;
    if (ns > s->lat_max)
        s->lat_max = ns;
}

static uint64_t stats_pct(const struct stats *s, double p)
{
    if (!s->count)
        return 0;
    uint64_t want = (uint64_t)(p / 100.0 * (double)s->count + 0.5);
    if (want < 1)
        want = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < H_N; i++) {
        seen += s->hist[i];
        if (seen >= want)
            return h_value(i) < s->lat_max ? h_value(i) : s->lat_max;
    }
    return s->lat_max;
}

/* ---- options ---- */

enum mode { M_KEEPALIVE, M_HANDSHAKE, M_RESUME, M_IDLE };
static const char *const mode_names[] = {"keepalive", "handshake", "resume", "idle"};

struct opts {
    const char *host, *sni, *cert, *key, *ca, *path;
    int port, conns, threads, tls, json, no_verify, ramp, ticket_renew, identities;
    double duration, warmup, rate, timeout;
    enum mode mode;
    struct sockaddr_storage dst;
    socklen_t dstlen;
    struct sockaddr_storage src[MAX_SOURCES];
    int n_src;
};

static struct opts O = {
    .host = "127.0.0.1",
    .sni = "localhost",
    .path = "/",
    .port = 8443,
    .conns = 64,
    .threads = 1,
    .ramp = 256,
    .identities = 1,
    .duration = 10,
    .timeout = 10,
};

/* ---- shared run state ---- */

#define MAX_IDENTITIES 1024
static SSL_CTX *g_ctx[MAX_IDENTITIES]; /* one per client identity (--identities) */
static pthread_barrier_t g_barrier;
static atomic_ullong g_held;
static struct rusage g_ru_start, g_ru_end;
static uint64_t g_t_start, g_t_end;
static char g_req[1024], g_req_close[1024];
static size_t g_req_len, g_req_close_len;
static int g_conn_idx;                  /* SSL ex_data index: the struct conn */
static volatile sig_atomic_t g_release; /* idle: SIGUSR1 ends the hold early */

static void on_usr1(int sig)
{
    (void)sig;
    g_release = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double ru_cpu(const struct rusage *r)
{
    return (double)r->ru_utime.tv_sec + (double)r->ru_utime.tv_usec / 1e6 +
           (double)r->ru_stime.tv_sec + (double)r->ru_stime.tv_usec / 1e6;
}

/* ---- connections ---- */

enum cstate { C_DONE, C_CONNECTING, C_HANDSHAKE, C_READY, C_WRITE, C_READ, C_HOLD };
enum phase { P_SETUP, P_RUN, P_DRAIN, P_OVER };

struct worker;

struct conn {
    struct worker *w;
    int fd;
    unsigned events;
    SSL *ssl;
    SSL_SESSION *sess; /* resume: the newest ticket of this slot */
    enum cstate st;
    int id; /* slot number, across threads */
    int in_setup;
    int restart;   /* start a new connection in this slot after the current events */
    int close_req; /* the request in flight asked for Connection: close */
    uint64_t t_conn, t_op, t_req;
    size_t rlen;
    int hdr_done, resp_close, status;
    long long body_left; /* -1: until EOF */
    char rbuf[RBUF_SIZE];
};

struct worker {
    int id, ep, tfd;
    pthread_t th;
    struct conn *c;
    int n;
    enum phase phase;
    int setup_pending, started, src_next, rr, restarts;
    unsigned next_identity;
    uint64_t t_go, t_rec, deadline, drain_end, last_scan;
    /* open loop */
    uint64_t interval, next_due;
    uint64_t *q;
    size_t qcap, qhead, qlen;
    int inflight;
    struct stats st;
};

static void conn_drive(struct conn *c);
static void conn_start(struct conn *c);

static void set_events(struct conn *c, unsigned ev)
{
    if (c->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(c->w->ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e);
    c->events = ev;
}

static void conn_close(struct conn *c, int graceful)
{
    if (c->ssl) {
        if (graceful)
            SSL_shutdown(c->ssl); /* one close_notify, no wait for the peer's */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd); /* also leaves the epoll set */
        c->fd = -1;
    }
    c->events = 0;
    c->rlen = 0;
    c->hdr_done = 0;
    if (c->st == C_WRITE || c->st == C_READ)
        c->w->inflight--;
    c->st = C_DONE;
}

static void setup_done(struct conn *c)
{
    if (c->in_setup) {
        c->in_setup = 0;
        c->w->setup_pending--;
    }
}

/* After a connection ended: start another in its slot while the run lasts. */
static void conn_after_close(struct conn *c)
{
    struct worker *w = c->w;
    if (c->in_setup) {
        setup_done(c);
        return;
    }
    if (w->phase == P_RUN && O.mode != M_IDLE && now_ns() < w->deadline) {
        c->restart = 1; /* not here: a refused connect would recurse */
        w->restarts++;
    }
}

static void conn_fail(struct conn *c, enum err_kind k)
{
    c->w->st.errors[k]++;
    conn_close(c, 0);
    conn_after_close(c);
}

static void conn_start(struct conn *c)
{
    struct worker *w = c->w;
    int fd = socket(O.dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        w->st.errors[E_CONNECT]++;
        c->st = C_DONE;
        setup_done(c);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (O.n_src) {
        /* the port is chosen at connect() from the whole 4-tuple, not at bind() */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        const struct sockaddr_storage *s = &O.src[w->src_next++ % O.n_src];
        socklen_t sl =
            s->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        if (bind(fd, (const struct sockaddr *)s, sl) < 0) {
            close(fd);
            w->st.errors[E_CONNECT]++;
            c->st = C_DONE;
            setup_done(c);
            return;
        }
    }
    c->fd = fd;
    c->events = 0;
    c->t_conn = c->t_op = now_ns();
    if (connect(fd, (const struct sockaddr *)&O.dst, O.dstlen) < 0 && errno != EINPROGRESS) {
        c->st = C_CONNECTING;
        conn_fail(c, E_CONNECT);
        return;
    }
    c->st = C_CONNECTING;
    set_events(c, EPOLLOUT);
}

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    struct conn *c = SSL_get_ex_data(ssl, g_conn_idx);
    if (!c || O.mode != M_RESUME || (!c->in_setup && !O.ticket_renew))
        return 0;
    if (c->sess)
        SSL_SESSION_free(c->sess);
    c->sess = sess;
    return 1; /* we keep the reference */
}

static int tls_start(struct conn *c)
{
    /* handshakes rotate through the identities; other modes keep one per slot */
    unsigned who = O.mode == M_HANDSHAKE ? c->w->next_identity++ : (unsigned)c->id;
    c->ssl = SSL_new(g_ctx[who % (unsigned)O.identities]);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
        return -1;
    SSL_set_ex_data(c->ssl, g_conn_idx, c);
    if (O.sni)
        SSL_set_tlsext_host_name(c->ssl, O.sni);
    if (O.ca && !O.no_verify)
        SSL_set1_host(c->ssl, O.sni);
    if (O.mode == M_RESUME && !c->in_setup && c->sess) {
        if (O.ticket_renew) {
            SSL_set_session(c->ssl, c->sess);
        } else {
            /* a copy: OpenSSL marks a session it used not resumable after some closes */
            SSL_SESSION *d = SSL_SESSION_dup(c->sess);
            SSL_set_session(c->ssl, d ? d : c->sess);
            SSL_SESSION_free(d);
        }
    }
    SSL_set_connect_state(c->ssl);
    return 0;
}

/* Map an SSL result onto the event it waits for; 0 = wait, -1 = failed, -2 = peer closed. */
static int tls_want(struct conn *c, int r)
{
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        set_events(c, EPOLLIN);
        return 0;
    case SSL_ERROR_WANT_WRITE:
        set_events(c, EPOLLOUT);
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        return -2;
    case SSL_ERROR_SYSCALL:
        return ERR_peek_error() == 0 && (errno == 0 || errno == ECONNRESET) ? -2 : -1;
    default:
        return -1;
    }
}

static void send_request(struct conn *c, uint64_t origin)
{
    c->t_req = origin;
    c->t_op = now_ns();
    c->close_req = O.mode == M_HANDSHAKE || O.mode == M_RESUME;
    c->st = C_WRITE;
    c->w->inflight++;
}

static int rate_mode(void)
{
    return O.mode == M_KEEPALIVE && O.rate > 0;
}

/* A keep-alive connection is free for the next request. */
static void conn_ready(struct conn *c)
{
    struct worker *w = c->w;
    c->st = C_READY;
    set_events(c, EPOLLIN); /* to see the server close it */
    if (w->phase != P_RUN)
        return;
    if (!rate_mode()) {
        send_request(c, now_ns());
        conn_drive(c);
    } else if (w->qlen) {
        uint64_t t = w->q[w->qhead];
        w->qhead = (w->qhead + 1) % w->qcap;
        w->qlen--;
        send_request(c, t);
        conn_drive(c);
    }
}

static void on_handshake(struct conn *c)
{
    struct worker *w = c->w;
    int reused = SSL_session_reused(c->ssl);
    if (O.mode == M_RESUME && !c->in_setup && !reused)
        w->st.errors[E_NOT_RESUMED]++;
    if (O.mode == M_KEEPALIVE) {
        if (c->in_setup) {
            setup_done(c);
            c->st = C_READY;
            set_events(c, EPOLLIN);
        } else {
            conn_ready(c);
        }
        return;
    }
    send_request(c, c->t_conn);
}

static void on_response(struct conn *c, uint64_t now)
{
    struct worker *w = c->w;
    int ok = c->status >= 200 && c->status < 300;
    w->inflight--;
    c->st = C_READY;
    if (!ok)
        w->st.errors[E_STATUS]++;
    switch (O.mode) {
    case M_KEEPALIVE:
        if (ok && !c->in_setup &&
            (rate_mode() ? c->t_req >= w->t_rec && c->t_req < w->deadline
                         : now >= w->t_rec && now < w->deadline))
            stats_record(&w->st, now - c->t_req);
        if (c->resp_close) {
            conn_close(c, 1);
            conn_after_close(c);
        } else {
            conn_ready(c);
        }
        return;
    case M_HANDSHAKE:
    case M_RESUME:
        if (ok && !c->in_setup && now >= w->t_rec && now < w->deadline) {
            stats_record(&w->st, now - c->t_conn);
            if (SSL_session_reused(c->ssl))
                w->st.handshakes_resumed++;
            else
                w->st.handshakes_full++;
        }
        conn_close(c, 1);
        conn_after_close(c);
        return;
    case M_IDLE:
        if (!ok) {
            conn_close(c, 1);
            setup_done(c);
            return;
        }
        c->st = C_HOLD;
        set_events(c, EPOLLIN);
        setup_done(c);
        return;
    }
}

/* Parse what rbuf holds; 1 = a whole response, 0 = need more, -1 = malformed. */
static int parse_response(struct conn *c)
{
    if (!c->hdr_done) {
        c->rbuf[c->rlen] = '\0';
        char *end = strstr(c->rbuf, "\r\n\r\n");
        if (!end)
            return c->rlen >= RBUF_SIZE - 1 ? -1 : 0;
        size_t hlen = (size_t)(end - c->rbuf) + 4;
        if (strncmp(c->rbuf, "HTTP/1.", 7) || c->rlen < 12)
            return -1;
        c->status = atoi(c->rbuf + 9);
        c->body_left = -1;
        c->resp_close = c->rbuf[7] == '0';
        for (char *l = strstr(c->rbuf, "\r\n") + 2; l < end; l = strstr(l, "\r\n") + 2) {
            if (!strncasecmp(l, "content-length:", 15))
                c->body_left = strtoll(l + 15, NULL, 10);
            else if (!strncasecmp(l, "transfer-encoding:", 18))
                return -1; /* chunked bodies are not needed by the benchmarks */
            else if (!strncasecmp(l, "connection:", 11)) {
                char *eol = strstr(l, "\r\n");
                char save = *eol;
                *eol = '\0';
                if (strcasestr(l + 11, "close"))
                    c->resp_close = 1;
                else if (strcasestr(l + 11, "keep-alive"))
                    c->resp_close = 0;
                *eol = save;
            }
        }
        if (c->status == 204 || c->status == 304)
            c->body_left = 0;
        c->hdr_done = 1;
        memmove(c->rbuf, c->rbuf + hlen, c->rlen - hlen);
        c->rlen -= hlen;
    }
    if (c->body_left < 0) {
        c->rlen = 0; /* until EOF */
        return 0;
    }
    size_t take = (size_t)c->body_left < c->rlen ? (size_t)c->body_left : c->rlen;
    c->body_left -= (long long)take;
    memmove(c->rbuf, c->rbuf + take, c->rlen - take);
    c->rlen -= take;
    if (c->body_left > 0)
        return 0;
    c->hdr_done = 0;
    return 1;
}

static void conn_drive(struct conn *c)
{
    struct worker *w = c->w;
    int r;
    for (;;) {
        switch (c->st) {
        case C_DONE:
            return;
        case C_CONNECTING: {
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err) {
                conn_fail(c, E_CONNECT);
                return;
            }
            if (tls_start(c) < 0) {
                conn_fail(c, E_HANDSHAKE);
                return;
            }
            c->st = C_HANDSHAKE;
            c->t_op = now_ns();
            break;
        }
        case C_HANDSHAKE:
            ERR_clear_error();
            r = SSL_connect(c->ssl);
            if (r == 1) {
                on_handshake(c);
                break;
            }
            if (tls_want(c, r) < 0) {
                conn_fail(c, E_HANDSHAKE);
                return;
            }
            return;
        case C_WRITE: {
            const char *req = c->close_req ? g_req_close : g_req;
            size_t len = c->close_req ? g_req_close_len : g_req_len;
            ERR_clear_error();
            r = SSL_write(c->ssl, req, (int)len);
            if (r > 0) {
                c->st = C_READ;
                break;
            }
            r = tls_want(c, r);
            if (r < 0) {
                conn_fail(c, r == -2 ? E_EOF : E_TLS_IO);
                return;
            }
            return;
        }
        case C_READ:
        case C_READY:
        case C_HOLD: {
            ERR_clear_error();
            size_t room = RBUF_SIZE - 1 - c->rlen;
            r = SSL_read(c->ssl, c->rbuf + c->rlen, (int)room);
            if (r > 0) {
                if (c->st != C_READ) {
                    c->rlen = 0; /* nothing was asked: ignore */
                    break;
                }
                c->rlen += (size_t)r;
                int p = parse_response(c);
                if (p < 0) {
                    conn_fail(c, E_HTTP);
                    return;
                }
                if (p > 0) {
                    on_response(c, now_ns()); /* which drives the next request itself */
                    return;
                }
                break;
            }
            r = tls_want(c, r);
            if (r == 0) {
                if (c->st != C_READ && c->events != EPOLLIN)
                    set_events(c, EPOLLIN);
                return;
            }
            if (r == -2 && c->st == C_READ && c->hdr_done && c->body_left < 0) {
                on_response(c, now_ns()); /* a body delimited by the close */
                if (c->st != C_DONE) {
                    conn_close(c, 0);
                    conn_after_close(c);
                }
                return;
            }
            if (r == -2 && c->st == C_READY) {
                conn_close(c, 0); /* the server ended an idle keep-alive connection */
                conn_after_close(c);
                return;
            }
            conn_fail(c, r == -2 ? E_EOF : E_TLS_IO);
            return;
        }
        }
        if (w->phase == P_OVER)
            return;
    }
}

/* ---- open loop ---- */

static void arm_timer(struct worker *w)
{
    struct itimerspec its = {0};
    if (w->next_due < w->deadline) {
        its.it_value.tv_sec = (time_t)(w->next_due / 1000000000ull);
        its.it_value.tv_nsec = (long)(w->next_due % 1000000000ull);
    }
    timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static struct conn *find_ready(struct worker *w)
{
    for (int i = 0; i < w->n; i++) {
        struct conn *c = &w->c[(w->rr + i) % w->n];
        if (c->st == C_READY) {
            w->rr = (w->rr + i + 1) % w->n;
            return c;
        }
    }
    return NULL;
}

static void on_timer(struct worker *w)
{
    uint64_t exp;
    if (read(w->tfd, &exp, sizeof exp) < 0 && errno != EAGAIN)
        return;
    uint64_t now = now_ns();
    while (w->phase == P_RUN && w->next_due <= now && w->next_due < w->deadline) {
        uint64_t t = w->next_due;
        w->next_due += w->interval;
        struct conn *c = find_ready(w);
        if (c) {
            send_request(c, t);
            conn_drive(c);
            continue;
        }
        if (w->qlen == w->qcap) {
            if (w->qcap >= QUEUE_MAX) {
                w->st.errors[E_DROPPED]++;
                continue;
            }
            size_t ncap = w->qcap ? w->qcap * 2 : 1024;
            uint64_t *nq = malloc(ncap * sizeof *nq);
            if (!nq) {
                w->st.errors[E_DROPPED]++;
                continue;
            }
            for (size_t i = 0; i < w->qlen; i++)
                nq[i] = w->q[(w->qhead + i) % w->qcap];
            free(w->q);
            w->q = nq;
            w->qcap = ncap;
            w->qhead = 0;
        }
        w->q[(w->qhead + w->qlen) % w->qcap] = t;
        w->qlen++;
    }
    arm_timer(w);
}

/* ---- phases ---- */

static void timeouts_scan(struct worker *w, uint64_t now)
{
    uint64_t limit = (uint64_t)(O.timeout * 1e9);
    for (int i = 0; i < w->n; i++) {
        struct conn *c = &w->c[i];
        if ((c->st == C_CONNECTING || c->st == C_HANDSHAKE || c->st == C_WRITE ||
             c->st == C_READ) &&
            now - c->t_op > limit)
            conn_fail(c, E_TIMEOUT);
    }
}

static void idle_ramp(struct worker *w)
{
    /* at most `ramp` connections in their handshake at once: the listen backlog is finite */
    while (w->started < w->n && w->started - (w->n - w->setup_pending) < O.ramp) {
        struct conn *c = &w->c[w->started++];
        c->in_setup = 1;
        conn_start(c);
    }
}

static int count_held(const struct worker *w)
{
    int n = 0;
    for (int i = 0; i < w->n; i++)
        n += w->c[i].st == C_HOLD;
    return n;
}

static void do_restarts(struct worker *w)
{
    w->restarts = 0;
    for (int i = 0; i < w->n; i++)
        if (w->c[i].restart) {
            w->c[i].restart = 0;
            if (w->phase == P_RUN)
                conn_start(&w->c[i]);
        }
}

static void go(struct worker *w)
{
    uint64_t now = now_ns();
    w->t_go = now;
    w->t_rec = now + (uint64_t)(O.warmup * 1e9);
    w->deadline = w->t_rec + (uint64_t)(O.duration * 1e9);
    w->phase = P_RUN;
    if (O.mode == M_IDLE)
        return;
    if (rate_mode()) {
        w->interval = (uint64_t)(1e9 * O.threads / O.rate);
        if (!w->interval)
            w->interval = 1;
        w->next_due = now + (uint64_t)w->id * w->interval / (uint64_t)O.threads;
        arm_timer(w);
        return;
    }
    for (int i = 0; i < w->n; i++) {
        struct conn *c = &w->c[i];
        if (O.mode == M_KEEPALIVE) {
            if (c->st == C_READY)
                conn_ready(c);
        } else {
            conn_start(c);
        }
    }
}

static void barrier_mark(const char *what, int serial)
{
    if (serial) {
        if (!strcmp(what, "START")) {
            getrusage(RUSAGE_SELF, &g_ru_start);
            g_t_start = now_ns();
        } else if (!strcmp(what, "END")) {
            getrusage(RUSAGE_SELF, &g_ru_end);
            g_t_end = now_ns();
        }
        if (!strcmp(what, "HOLD"))
            fprintf(stderr, "loadgen: HOLD %llu\n", (unsigned long long)atomic_load(&g_held));
        else
            fprintf(stderr, "loadgen: %s\n", what);
        fflush(stderr);
    }
}

static void sync_all(const char *what)
{
    int r = pthread_barrier_wait(&g_barrier);
    barrier_mark(what, r == PTHREAD_BARRIER_SERIAL_THREAD);
    pthread_barrier_wait(&g_barrier); /* nobody runs before the mark is taken */
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event ev[256];
    w->phase = P_SETUP;
    if (O.mode == M_KEEPALIVE || O.mode == M_RESUME) {
        for (int i = 0; i < w->n; i++) {
            w->c[i].in_setup = 1;
            w->setup_pending++;
        }
        for (int i = 0; i < w->n; i++)
            conn_start(&w->c[i]);
    } else if (O.mode == M_IDLE) {
        w->setup_pending = w->n;
        idle_ramp(w);
    }
    for (;;) {
        uint64_t now = now_ns();
        if (w->phase == P_SETUP && w->setup_pending == 0) {
            if (O.mode == M_IDLE) {
                atomic_fetch_add(&g_held, (unsigned long long)count_held(w));
                sync_all("HOLD");
            }
            sync_all("START");
            go(w);
            now = now_ns();
        }
        if (w->phase == P_RUN && (now >= w->deadline || (O.mode == M_IDLE && g_release))) {
            w->phase = P_DRAIN;
            w->drain_end = now + (rate_mode() ? DRAIN_GRACE_NS : 0);
            w->st.backlog = w->qlen;
        }
        if (w->phase == P_DRAIN && (w->inflight <= 0 || now >= w->drain_end || !rate_mode()))
            break;
        if (now - w->last_scan > 100000000ull) {
            w->last_scan = now;
            timeouts_scan(w, now);
        }
        int timeout = 100;
        if (w->phase == P_RUN && w->deadline > now && (w->deadline - now) / 1000000 < 100)
            timeout = (int)((w->deadline - now) / 1000000) + 1;
        int n = epoll_wait(w->ep, ev, 256, timeout);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr == NULL) {
                on_timer(w);
                continue;
            }
            struct conn *c = ev[i].data.ptr;
            conn_drive(c);
        }
        if (w->restarts)
            do_restarts(w);
        if (w->phase == P_SETUP && O.mode == M_IDLE)
            idle_ramp(w);
    }
    if (O.mode == M_IDLE)
        w->st.held = (uint64_t)count_held(w);
    w->phase = P_OVER;
    sync_all("END");
    for (int i = 0; i < w->n; i++) {
        if (w->c[i].st == C_WRITE || w->c[i].st == C_READ)
            w->st.errors[E_TIMEOUT] += rate_mode(); /* still unanswered after the grace */
        conn_close(&w->c[i], 0);
        if (w->c[i].sess)
            SSL_SESSION_free(w->c[i].sess);
    }
    return NULL;
}

/* ---- setup and report ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: loadgen --mode keepalive|handshake|resume|idle [options]\n"
               "  --host ADDR        server address (127.0.0.1)\n"
               "  --port N           server port (8443)\n"
               "  --sni NAME         SNI and Host header (localhost)\n"
               "  --cert FILE        client certificate chain, PEM (leaf first)\n"
               "  --identities N     N client identities: %%d in --cert and --key is 1..N;\n"
               "                     handshakes take them in turn, other modes one per slot\n"
               "  --key FILE         client key, PEM\n"
               "  --ca FILE          verify the server against these CAs\n"
               "  --no-verify        do not verify the server (saves client CPU)\n"
               "  --duration S       measured seconds (10); idle: seconds to hold at most\n"
               "                     (SIGUSR1 ends the hold sooner)\n"
               "  --warmup S         seconds before the measurement starts (0)\n"
               "  --connections N    connections (keepalive, idle) or concurrency (64)\n"
               "  --threads N        event loops (1)\n"
               "  --tls13 | --tls12  pin the protocol version (default: 1.2 or 1.3)\n"
               "  --path P           request path (/)\n"
               "  --rate R           keepalive: open loop at R requests/s in all\n"
               "  --source A[,B...]  local addresses to connect from, in turn\n"
               "  --ramp N           idle: handshakes in progress at once (256)\n"
               "  --ticket-renew     resume: use the newest ticket (single use, as browsers do)\n"
               "                     instead of the first handshake's ticket every time\n"
               "  --timeout S        connect, handshake and response timeout (10)\n"
               "  --json             print the result as JSON\n");
}

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(host, ps, &hints, &ai))
        return -1;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static int parse_sources(char *list)
{
    for (char *s = strtok(list, ","); s; s = strtok(NULL, ",")) {
        socklen_t l;
        if (O.n_src == MAX_SOURCES || parse_addr(s, 0, &O.src[O.n_src], &l))
            return -1;
        O.n_src++;
    }
    return 0;
}

static int parse_opts(int argc, char **argv)
{
    enum {
        O_HOST = 256,
        O_PORT,
        O_SNI,
        O_CERT,
        O_KEY,
        O_CA,
        O_NOVERIFY,
        O_DURATION,
        O_WARMUP,
        O_CONNS,
        O_THREADS,
        O_TLS13,
        O_TLS12,
        O_PATH,
        O_RATE,
        O_SOURCE,
        O_RAMP,
        O_TIMEOUT,
        O_JSON,
        O_MODE,
        O_RENEW,
        O_IDENTITIES,
        O_HELP
    };
    static const struct option lo[] = {
        {"host", 1, 0, O_HOST},
        {"port", 1, 0, O_PORT},
        {"sni", 1, 0, O_SNI},
        {"cert", 1, 0, O_CERT},
        {"key", 1, 0, O_KEY},
        {"ca", 1, 0, O_CA},
        {"no-verify", 0, 0, O_NOVERIFY},
        {"duration", 1, 0, O_DURATION},
        {"warmup", 1, 0, O_WARMUP},
        {"connections", 1, 0, O_CONNS},
        {"threads", 1, 0, O_THREADS},
        {"tls13", 0, 0, O_TLS13},
        {"tls12", 0, 0, O_TLS12},
        {"path", 1, 0, O_PATH},
        {"rate", 1, 0, O_RATE},
        {"source", 1, 0, O_SOURCE},
        {"ramp", 1, 0, O_RAMP},
        {"timeout", 1, 0, O_TIMEOUT},
        {"json", 0, 0, O_JSON},
        {"mode", 1, 0, O_MODE},
        {"ticket-renew", 0, 0, O_RENEW},
        {"identities", 1, 0, O_IDENTITIES},
        {"help", 0, 0, O_HELP},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case O_HOST:
            O.host = optarg;
            break;
        case O_PORT:
            O.port = atoi(optarg);
            break;
        case O_SNI:
            O.sni = *optarg ? optarg : NULL;
            break;
        case O_CERT:
            O.cert = optarg;
            break;
        case O_KEY:
            O.key = optarg;
            break;
        case O_CA:
            O.ca = optarg;
            break;
        case O_NOVERIFY:
            O.no_verify = 1;
            break;
        case O_DURATION:
            O.duration = atof(optarg);
            break;
        case O_WARMUP:
            O.warmup = atof(optarg);
            break;
        case O_CONNS:
            O.conns = atoi(optarg);
            break;
        case O_THREADS:
            O.threads = atoi(optarg);
            break;
        case O_TLS13:
            O.tls = 13;
            break;
        case O_TLS12:
            O.tls = 12;
            break;
        case O_PATH:
            O.path = optarg;
            break;
        case O_RATE:
            O.rate = atof(optarg);
            break;
        case O_SOURCE:
            if (parse_sources(optarg)) {
                fprintf(stderr, "loadgen: bad --source\n");
                return -1;
            }
            break;
        case O_RAMP:
            O.ramp = atoi(optarg);
            break;
        case O_TIMEOUT:
            O.timeout = atof(optarg);
            break;
        case O_JSON:
            O.json = 1;
            break;
        case O_RENEW:
            O.ticket_renew = 1;
            break;
        case O_IDENTITIES:
            O.identities = atoi(optarg);
            break;
        case O_MODE: {
            size_t i;
            for (i = 0; i < sizeof mode_names / sizeof *mode_names; i++)
                if (!strcmp(optarg, mode_names[i]))
                    break;
            if (i == sizeof mode_names / sizeof *mode_names) {
                fprintf(stderr, "loadgen: unknown mode '%s'\n", optarg);
                return -1;
            }
            O.mode = (enum mode)i;
            break;
        }
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc || O.conns < 1 || O.threads < 1 || O.threads > O.conns || O.duration <= 0 ||
        O.port < 1 || O.port > 65535 || O.ramp < 1 || O.timeout <= 0 || O.rate < 0 ||
        O.warmup < 0 || O.identities < 1 || O.identities > MAX_IDENTITIES) {
        usage(stderr);
        return -1;
    }
    if (O.rate > 0 && O.mode != M_KEEPALIVE) {
        fprintf(stderr, "loadgen: --rate works with --mode keepalive only\n");
        return -1;
    }
    if (parse_addr(O.host, O.port, &O.dst, &O.dstlen)) {
        fprintf(stderr, "loadgen: cannot resolve '%s'\n", O.host);
        return -1;
    }
    return 0;
}

/* <pattern> with its first "%d" replaced by <n> (not a format string: paths may hold '%') */
static void identity_path(char *out, size_t len, const char *pattern, int n)
{
    const char *d = pattern ? strstr(pattern, "%d") : NULL;
    if (!d)
        snprintf(out, len, "%s", pattern ? pattern : "");
    else
        snprintf(out, len, "%.*s%d%s", (int)(d - pattern), pattern, n, d + 2);
}

static SSL_CTX *make_ctx(int n)
{
    char cert[1024], key[1024];
    identity_path(cert, sizeof cert, O.cert, n + 1);
    identity_path(key, sizeof key, O.key, n + 1);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    if (O.tls == 13) {
        SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    } else if (O.tls == 12) {
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    } else {
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    }
    if (O.mode == M_IDLE)
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS); /* 20,000 connections here too */
    if (O.cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        fprintf(stderr, "loadgen: cannot load certificate chain '%s'\n", cert);
        goto fail;
    }
    if (O.key && (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
                  SSL_CTX_check_private_key(ctx) != 1)) {
        fprintf(stderr, "loadgen: cannot load key '%s'\n", key);
        goto fail;
    }
    if (O.ca && !O.no_verify) {
        if (SSL_CTX_load_verify_locations(ctx, O.ca, NULL) != 1) {
            fprintf(stderr, "loadgen: cannot load CA file '%s'\n", O.ca);
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (O.mode == M_RESUME) {
        SSL_CTX_set_session_cache_mode(ctx,
                                       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    return ctx;
fail:
    ERR_print_errors_fp(stderr);
    SSL_CTX_free(ctx);
    return NULL;
}

static void report(const struct stats *s, double elapsed, double cpu_all, double cpu_win)
{
    uint64_t errs = 0;
    for (int k = 0; k < E_N; k++)
        errs += s->errors[k];
    double rate = elapsed > 0 ? (double)s->count / elapsed : 0;
    double mean = s->count ? (double)s->lat_sum / (double)s->count / 1e3 : 0;
    double p50 = (double)stats_pct(s, 50) / 1e3, p90 = (double)stats_pct(s, 90) / 1e3;
    double p99 = (double)stats_pct(s, 99) / 1e3, p999 = (double)stats_pct(s, 99.9) / 1e3;
    double mx = (double)s->lat_max / 1e3;
    const char *tls = O.tls == 13 ? "1.3" : O.tls == 12 ? "1.2" : "any";
    int hs = O.mode == M_HANDSHAKE || O.mode == M_RESUME;
    if (O.json) {
        printf("{\"mode\":\"%s\",\"host\":\"%s\",\"port\":%d,\"connections\":%d,\"threads\":%d,"
               "\"tls\":\"%s\",\"rate_target\":%.1f,\"duration_s\":%.3f,\"count\":%" PRIu64
               ",\"%s\":%.1f,",
               mode_names[O.mode], O.host, O.port, O.conns, O.threads, tls, O.rate, elapsed,
               s->count, hs ? "handshakes_per_s" : "requests_per_s", rate);
        printf("\"handshakes_full\":%" PRIu64 ",\"handshakes_resumed\":%" PRIu64
               ",\"held\":%" PRIu64 ",\"backlog_at_end\":%" PRIu64 ",",
               s->handshakes_full, s->handshakes_resumed, s->held, s->backlog);
        printf("\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,"
               "\"max\":%.1f,\"mean\":%.1f},",
               p50, p90, p99, p999, mx, mean);
        printf("\"errors\":{");
        for (int k = 0; k < E_N; k++)
            printf("%s\"%s\":%" PRIu64, k ? "," : "", err_names[k], s->errors[k]);
        printf("},\"errors_total\":%" PRIu64 ",\"cpu_s\":%.3f,\"cpu_window_s\":%.3f}\n", errs,
               cpu_all, cpu_win);
        return;
    }
    printf("mode %s, %d connection(s), %d thread(s), TLS %s%s\n", mode_names[O.mode], O.conns,
           O.threads, tls, O.rate > 0 ? ", open loop" : "");
    if (O.rate > 0)
        printf("  target      %.1f requests/s\n", O.rate);
    if (O.mode == M_IDLE)
        printf("  held        %" PRIu64 " connections for %.1f s\n", s->held, elapsed);
    else
        printf("  %-11s %.1f/s (%" PRIu64 " in %.2f s)\n", hs ? "handshakes" : "requests", rate,
               s->count, elapsed);
    if (hs)
        printf("  full        %" PRIu64 ", resumed %" PRIu64 "\n", s->handshakes_full,
               s->handshakes_resumed);
    if (s->count)
        printf("  latency us  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n", p50,
               p90, p99, p999, mx, mean);
    printf("  errors      %" PRIu64, errs);
    for (int k = 0; k < E_N; k++)
        if (s->errors[k])
            printf("  %s=%" PRIu64, err_names[k], s->errors[k]);
    printf("\n  loadgen cpu %.2f s (%.2f s in the window)\n", cpu_all, cpu_win);
}

int main(int argc, char **argv)
{
    if (parse_opts(argc, argv))
        return 2;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    /* every connection needs a descriptor: take the hard limit */
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    g_conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    for (int i = 0; i < O.identities; i++) {
        g_ctx[i] = make_ctx(i);
        if (!g_ctx[i])
            return 1;
    }
    const char *host = O.sni ? O.sni : O.host;
    g_req_len = (size_t)snprintf(g_req, sizeof g_req,
                                 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: certgate-loadgen\r\n"
                                 "\r\n",
                                 O.path, host);
    g_req_close_len = (size_t)snprintf(g_req_close, sizeof g_req_close,
                                       "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: "
                                       "certgate-loadgen\r\nConnection: close\r\n\r\n",
                                       O.path, host);
    if (g_req_len >= sizeof g_req || g_req_close_len >= sizeof g_req_close) {
        fprintf(stderr, "loadgen: path too long\n");
        return 2;
    }
    pthread_barrier_init(&g_barrier, NULL, (unsigned)O.threads);
    struct worker *ws = calloc((size_t)O.threads, sizeof *ws);
    struct conn *cs = calloc((size_t)O.conns, sizeof *cs);
    if (!ws || !cs) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    for (int t = 0, first = 0; t < O.threads; t++) {
        struct worker *w = &ws[t];
        w->id = t;
        w->n = O.conns / O.threads + (t < O.conns % O.threads);
        w->c = cs + first;
        first += w->n;
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
        if (w->ep < 0 || w->tfd < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, w->tfd, &e) < 0) {
            perror("loadgen: epoll");
            return 1;
        }
        for (int i = 0; i < w->n; i++) {
            w->c[i].w = w;
            w->c[i].fd = -1;
            w->c[i].id = (int)(w->c + i - cs);
        }
    }
    for (int t = 0; t < O.threads; t++)
        if (pthread_create(&ws[t].th, NULL, worker_main, &ws[t])) {
            perror("loadgen: pthread_create");
            return 1;
        }
    struct stats *sum = calloc(1, sizeof *sum);
    if (!sum)
        return 1;
    for (int t = 0; t < O.threads; t++) {
        pthread_join(ws[t].th, NULL);
        const struct stats *s = &ws[t].st;
        for (unsigned i = 0; i < H_N; i++)
            sum->hist[i] += s->hist[i];
        sum->count += s->count;
        sum->lat_sum += s->lat_sum;
        if (s->lat_max > sum->lat_max)
            sum->lat_max = s->lat_max;
        sum->handshakes_full += s->handshakes_full;
        sum->handshakes_resumed += s->handshakes_resumed;
        sum->held += s->held;
        sum->backlog += s->backlog;
        for (int k = 0; k < E_N; k++)
            sum->errors[k] += s->errors[k];
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* the window: from the start mark to the end of the measured time (warmup excluded) */
    double elapsed = O.mode == M_IDLE ? (double)(g_t_end - g_t_start) / 1e9 : O.duration;
    report(sum, elapsed, ru_cpu(&ru), ru_cpu(&g_ru_end) - ru_cpu(&g_ru_start));
    int ok = sum->count > 0 || sum->held > 0;
    free(sum);
    free(cs);
    free(ws);
    for (int i = 0; i < O.identities; i++)
        SSL_CTX_free(g_ctx[i]);
    return ok ? 0 : 1; /* 1: nothing at all succeeded */
}

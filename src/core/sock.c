#include "core/sock.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>

#define LINGER_MS 2000

/* Past this much queued, an owner may stop reading its other side: the sock owes it an
 * on_drain when the queue empties again (below it, nobody waits for one). */
#define HIGH_MARK (64 * 1024)

struct wreq {
    uv_write_t req;
    struct sock *s;
    size_t len;
    char *base; /* owned: the iteration's output buffer, handed over whole */
};

static void sock_update_read(struct sock *s);

static void sock_fail(struct sock *s)
{
    s->flags |= SOCK_ERROR;
    ERR_clear_error(); /* the error queue is per thread: leave it clean for the next conn */
}

static void drained(struct sock *s)
{
    if (s->wpending == 0 && s->_high && !(s->flags & SOCK_CLOSING)) {
        s->_high = 0;
        if (s->ev->on_drain)
            s->ev->on_drain(s);
    }
}

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct sock *s = w->s;
    s->wpending -= w->len;
    free(w->base);
    free(w);
    if (status < 0) {
        s->flags |= SOCK_ERROR;
        s->err = status;
        if (s->ev->on_data && !(s->flags & SOCK_CLOSING))
            s->ev->on_data(s);
        return;
    }
    drained(s);
}

/* Hand this iteration's output to the kernel: what it takes now, the rest to uv_write. */
static void flush_one(struct sock *s)
{
    struct buf *o = &s->_wout;
    size_t off = 0;
    if (o->len == 0 || (s->flags & SOCK_CLOSING))
        return;
    if (s->wpending == o->len) { /* nothing older in flight: try at once */
        uv_buf_t b = uv_buf_init(o->data, (unsigned)o->len);
        int n = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
        if (n < 0 && n != UV_EAGAIN) {
            s->flags |= SOCK_ERROR;
            s->err = n;
            return;
        }
        off = n > 0 ? (size_t)n : 0;
    }
    s->wpending -= off;
    if (off == o->len) {
        buf_free(o); /* an idle connection keeps no output buffer */
        drained(s);
        return;
    }
    struct wreq *w = malloc(sizeof(*w));
    if (w == NULL) {
        s->flags |= SOCK_ERROR;
        return;
    }
    w->s = s;
    w->base = o->data; /* the buffer goes with the write: no copy */
    w->len = o->len - off;
    o->data = NULL;
    o->len = o->cap = 0;
    uv_buf_t b = uv_buf_init(w->base + off, (unsigned)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_write) < 0) {
        s->wpending -= w->len;
        free(w->base);
        free(w);
        s->flags |= SOCK_ERROR;
    }
}

static void flush_all(struct sock_loop *sl)
{
    while (sl->dirty) {
        struct sock *s = sl->dirty;
        sl->dirty = s->_next_dirty;
        s->_next_dirty = NULL;
        s->_dirty = 0;
        int was_ok = !(s->flags & SOCK_ERROR);
        flush_one(s);
        if (was_ok && (s->flags & SOCK_ERROR) && s->ev->on_data && !(s->flags & SOCK_CLOSING))
            s->ev->on_data(s); /* the owner learns the peer is gone */
    }
}

static void on_flush(uv_check_t *h)
{
    flush_all(h->data);
}

static void on_before_poll(uv_prepare_t *h)
{
    flush_all(h->data);
}

int sock_loop_init(struct sock_loop *sl, uv_loop_t *loop, char *rbuf, size_t rbuf_len)
{
    int rc;
    memset(sl, 0, sizeof(*sl));
    sl->rbuf = rbuf;
    sl->rbuf_len = rbuf_len;
    if ((rc = uv_check_init(loop, &sl->flush)) < 0 || (rc = uv_prepare_init(loop, &sl->before)) < 0)
        return rc;
    sl->flush.data = sl->before.data = sl;
    /* neither keeps a loop alive on its own */
    uv_unref((uv_handle_t *)&sl->flush);
    uv_unref((uv_handle_t *)&sl->before);
    if ((rc = uv_check_start(&sl->flush, on_flush)) < 0)
        return rc;
    return uv_prepare_start(&sl->before, on_before_poll);
}

void sock_loop_close(struct sock_loop *sl)
{
    if (!uv_is_closing((uv_handle_t *)&sl->flush))
        uv_close((uv_handle_t *)&sl->flush, NULL);
    if (!uv_is_closing((uv_handle_t *)&sl->before))
        uv_close((uv_handle_t *)&sl->before, NULL);
}

/* Queue raw bytes for this iteration's flush. */
static int sock_send_raw(struct sock *s, const char *data, size_t len)
{
    if (len == 0)
        return 0;
    if (s->flags & (SOCK_CLOSING | SOCK_SHUTDOWN | SOCK_ERROR))
        return -1;
    if (buf_append(&s->_wout, data, len) < 0) {
        s->flags |= SOCK_ERROR;
        return -1;
    }
    s->wpending += len;
    if (s->wpending > HIGH_MARK)
        s->_high = 1;
    if (!s->_dirty) {
        s->_dirty = 1;
        s->_next_dirty = s->_sl->dirty;
        s->_sl->dirty = s;
    }
    return 0;
}

/* Take <s> off its loop's flush list (it is closing). */
static void undirty(struct sock *s)
{
    if (!s->_dirty)
        return;
    for (struct sock **pp = &s->_sl->dirty; *pp; pp = &(*pp)->_next_dirty)
        if (*pp == s) {
            *pp = s->_next_dirty;
            break;
        }
    s->_dirty = 0;
    s->_next_dirty = NULL;
}

/* ---- the BIO between OpenSSL and the socket ---- */

static int bio_write(BIO *b, const char *data, size_t len, size_t *written)
{
    struct sock *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (sock_send_raw(s, data, len) < 0)
        return 0;
    *written = len;
    return 1;
}

static int bio_read(BIO *b, char *out, size_t len, size_t *got)
{
    struct sock *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (s->_rin_len == 0) {
        BIO_set_retry_read(b);
        *got = 0;
        return 0;
    }
    size_t n = len < s->_rin_len ? len : s->_rin_len;
    memcpy(out, s->_rin, n);
    s->_rin += n;
    s->_rin_len -= n;
    *got = n;
    return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void bio_method_init(void)
{
    bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "certgate-sock");
    if (bio_method) {
        BIO_meth_set_write_ex(bio_method, bio_write);
        BIO_meth_set_read_ex(bio_method, bio_read);
        BIO_meth_set_ctrl(bio_method, bio_ctrl);
    }
}

/* Ciphertext OpenSSL did not take yet must outlive the loop's read buffer: keep a copy. */
static int keep_unread(struct sock *s)
{
    if (s->_rin_len == 0) {
        free(s->_rpend);
        s->_rpend = NULL;
        s->_rin = NULL;
        return 0;
    }
    if (!(s->_rin >= s->rbuf && s->_rin < s->rbuf + s->rbuf_len))
        return 0; /* already in <_rpend> */
    char *p = malloc(s->_rin_len);
    if (p == NULL)
        return -1;
    memcpy(p, s->_rin, s->_rin_len);
    free(s->_rpend);
    s->_rpend = p;
    s->_rin = p;
    return 0;
}

static void tls_handshake(struct sock *s)
{
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
        s->flags |= SOCK_HANDSHAKE_DONE;
        if (s->ev->on_handshake)
            s->ev->on_handshake(s);
        return;
    }
    int e = SSL_get_error(s->ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        sock_fail(s);
}

/* Decrypt into s->in while it has room. */
static void tls_read(struct sock *s)
{
    while (!(s->flags & (SOCK_EOF | SOCK_ERROR))) {
        /* nothing to decrypt: do not grow (allocate) the input buffer for nothing */
        if (s->_rin_len == 0 && !SSL_has_pending(s->ssl))
            break;
        size_t room = buf_reserve(&s->in, 16384);
        if (room == 0)
            break;
        size_t got = 0;
        int r = SSL_read_ex(s->ssl, s->in.data + s->in.len, room, &got);
        if (r == 1) {
            s->in.len += got;
            continue;
        }
        int e = SSL_get_error(s->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN)
            s->flags |= SOCK_EOF;
        else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            sock_fail(s);
        break;
    }
}

int sock_fill(struct sock *s)
{
    if (s->flags & SOCK_CLOSING)
        return 0;
    size_t before = s->in.len;
    unsigned fl = s->flags;
    if ((s->flags & SOCK_TLS) && !(s->flags & SOCK_HANDSHAKE_DONE))
        return 0;
    if (s->flags & SOCK_TLS) {
        tls_read(s);
        keep_unread(s);
    }
    sock_update_read(s);
    return s->in.len != before || s->flags != fl;
}

void sock_pump(struct sock *s)
{
    if (s->flags & SOCK_CLOSING)
        return;
    size_t before = s->in.len;
    unsigned fl = s->flags;
    if ((s->flags & SOCK_TLS) && !(s->flags & SOCK_HANDSHAKE_DONE)) {
        tls_handshake(s);
        if (!(s->flags & SOCK_HANDSHAKE_DONE)) {
            if ((s->flags & SOCK_ERROR) && s->ev->on_data)
                s->ev->on_data(s);
            return;
        }
        if (s->flags & SOCK_CLOSING)
            return;
    }
    if (s->flags & SOCK_TLS)
        tls_read(s);
    sock_update_read(s);
    if ((s->in.len != before || s->flags != fl) && s->ev->on_data)
        s->ev->on_data(s);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct sock *s = h->data;
    if (s->flags & SOCK_TLS || s->flags & SOCK_LINGER) {
        *b = uv_buf_init(s->rbuf, (unsigned)s->rbuf_len);
        return;
    }
    size_t room = buf_reserve(&s->in, 16384); /* heads are small; bodies stream in 16 KiB reads */
    *b = uv_buf_init(room ? s->in.data + s->in.len : s->rbuf, (unsigned)(room ? room : 0));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct sock *s = st->data;
    if (s->flags & SOCK_CLOSING)
        return;
    if (s->flags & SOCK_LINGER) {
        if (n < 0)
            sock_close(s);
        return;
    }
    if (n == 0 || n == UV_ENOBUFS) {
        sock_update_read(s);
        return;
    }
    if (n < 0) {
        if (n == UV_EOF) {
            s->flags |= SOCK_EOF;
        } else {
            s->flags |= SOCK_ERROR;
            s->err = (int)n;
        }
        if (s->flags & SOCK_TLS)
            sock_pump(s); /* plaintext already buffered in SSL still counts */
        if (s->ev->on_data)
            s->ev->on_data(s);
        return;
    }
    if (s->flags & SOCK_TLS) {
        if (s->_rin_len) { /* older ciphertext waits: append, keep the order */
            char *p = malloc(s->_rin_len + (size_t)n);
            if (p == NULL) {
                sock_fail(s);
                if (s->ev->on_data)
                    s->ev->on_data(s);
                return;
            }
            memcpy(p, s->_rin, s->_rin_len);
            memcpy(p + s->_rin_len, b->base, (size_t)n);
            free(s->_rpend);
            s->_rpend = p;
            s->_rin = p;
            s->_rin_len += (size_t)n;
        } else {
            s->_rin = b->base;
            s->_rin_len = (size_t)n;
        }
        sock_pump(s); /* may call the owner, which may close: the sock stays valid */
        if (keep_unread(s) < 0)
            sock_fail(s);
        return;
    }
    s->in.len += (size_t)n;
    sock_update_read(s);
    if (s->ev->on_data)
        s->ev->on_data(s);
}

int sock_init(struct sock *s, uv_loop_t *loop, struct sock_loop *sl, const struct sock_events *ev,
              void *owner, size_t in_max)
{
    memset(s, 0, sizeof(*s));
    s->ev = ev;
    s->owner = owner;
    s->_sl = sl;
    s->rbuf = sl->rbuf;
    s->rbuf_len = sl->rbuf_len;
    buf_init(&s->in, in_max);
    buf_init(&s->_wout, (size_t)-1 / 2);
    if (uv_tcp_init(loop, &s->tcp) < 0)
        return -1;
    s->tcp.data = s;
    s->_handles = 1;
    if (uv_timer_init(loop, &s->_linger) == 0) {
        s->_linger.data = s;
        s->_handles++;
    }
    return 0;
}

void sock_set_tls(struct sock *s, SSL *ssl, int server)
{
    s->ssl = ssl;
    pthread_once(&bio_once, bio_method_init);
    BIO *b = bio_method ? BIO_new(bio_method) : NULL;
    if (b) {
        BIO_set_data(b, s);
        BIO_set_init(b, 1);
        SSL_set_bio(ssl, b, b); /* one BIO both ways: SSL_set_bio takes the one reference */
    }
    if (server)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    s->flags |= SOCK_TLS;
}

/* Read from the socket only while the owner wants input and s->in has room. */
static void sock_update_read(struct sock *s)
{
    if (s->flags & (SOCK_CLOSING | SOCK_LINGER))
        return;
    int want = (s->flags & SOCK_WANT_READ) && !(s->flags & (SOCK_EOF | SOCK_ERROR)) &&
               s->in.len < s->in.max;
    if (want && !(s->flags & SOCK_READING)) {
        if (uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) == 0)
            s->flags |= SOCK_READING;
    } else if (!want && (s->flags & SOCK_READING)) {
        uv_read_stop((uv_stream_t *)&s->tcp);
        s->flags &= ~SOCK_READING;
    }
}

int sock_start_read(struct sock *s)
{
    s->flags |= SOCK_WANT_READ;
    sock_update_read(s);
    return 0;
}

void sock_stop_read(struct sock *s)
{
    s->flags &= ~SOCK_WANT_READ;
    sock_update_read(s);
}

int sock_write(struct sock *s, const void *data, size_t len)
{
    if (s->flags & (SOCK_ERROR | SOCK_CLOSING | SOCK_SHUTDOWN))
        return -1;
    if (!(s->flags & SOCK_TLS))
        return sock_send_raw(s, data, len);
    const char *p = data;
    while (len > 0) {
        size_t done = 0;
        if (SSL_write_ex(s->ssl, p, len, &done) != 1) {
            sock_fail(s);
            return -1;
        }
        p += done;
        len -= done;
        if (s->flags & SOCK_ERROR)
            return -1;
    }
    return 0;
}

static void on_connect(uv_connect_t *req, int status)
{
    struct sock *s = req->handle->data;
    if (s->flags & SOCK_CLOSING)
        return;
    if (s->ev->on_connect)
        s->ev->on_connect(s, status);
}

int sock_connect(struct sock *s, const struct sockaddr *addr)
{
    return uv_tcp_connect(&s->_connect, &s->tcp, addr, on_connect);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct sock *s = h->data;
    if (--s->_handles == 0) {
        if (s->ssl) {
            /* a connection that ended cleanly keeps its session resumable: without this,
             * OpenSSL drops a TLS 1.2 session from the cache when the peer closed first */
            if ((s->flags & SOCK_HANDSHAKE_DONE) && !(s->flags & SOCK_ERROR))
                SSL_set_shutdown(s->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
            SSL_free(s->ssl); /* frees the BIO */
            s->ssl = NULL;
        }
        free(s->_rpend);
        s->_rpend = NULL;
        s->_rin_len = 0;
        buf_free(&s->_wout);
        buf_free(&s->in);
        if (s->ev->on_closed)
            s->ev->on_closed(s);
    }
}

void sock_close(struct sock *s)
{
    if (s->flags & SOCK_CLOSING)
        return;
    s->flags |= SOCK_CLOSING;
    undirty(s);
    if (s->_wout.len) {
        /* best effort for what was queued (a TLS alert, a last error response); a broken
         * socket just refuses it */
        uv_buf_t b = uv_buf_init(s->_wout.data, (unsigned)s->_wout.len);
        uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
    }
    uv_close((uv_handle_t *)&s->tcp, on_handle_closed);
    if (s->_handles == 2)
        uv_close((uv_handle_t *)&s->_linger, on_handle_closed);
}

int sock_is_closing(const struct sock *s)
{
    return (s->flags & SOCK_CLOSING) != 0;
}

static void on_linger_timeout(uv_timer_t *t)
{
    sock_close(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct sock *s = req->handle->data;
    if (s->flags & SOCK_CLOSING)
        return;
    if (status < 0 || (s->flags & (SOCK_EOF | SOCK_ERROR)) || s->_handles < 2) {
        sock_close(s);
        return;
    }
    /* keep reading so unread input does not turn our last response into a RST */
    s->flags |= SOCK_LINGER;
    if (s->flags & SOCK_READING)
        uv_read_stop((uv_stream_t *)&s->tcp);
    s->flags |= SOCK_READING;
    if (uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) < 0) {
        sock_close(s);
        return;
    }
    uv_timer_start(&s->_linger, on_linger_timeout, LINGER_MS, 0);
}

void sock_shutdown(struct sock *s)
{
    if (s->flags & (SOCK_CLOSING | SOCK_SHUTDOWN))
        return;
    if ((s->flags & SOCK_ERROR)) {
        sock_close(s);
        return;
    }
    if ((s->flags & SOCK_TLS) && (s->flags & SOCK_HANDSHAKE_DONE)) {
        SSL_shutdown(s->ssl);
        ERR_clear_error();
    }
    undirty(s);
    flush_one(s); /* uv_shutdown waits for writes handed to libuv: hand ours over first */
    s->flags |= SOCK_SHUTDOWN;
    /* the timer bounds the flush too: a peer that never reads must not hold us */
    if (s->_handles == 2)
        uv_timer_start(&s->_linger, on_linger_timeout, s->flush_ms ? s->flush_ms : LINGER_MS, 0);
    if (uv_shutdown(&s->_shutdown, (uv_stream_t *)&s->tcp, on_shutdown) < 0)
        sock_close(s);
}

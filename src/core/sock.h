/* One TCP connection, plain or TLS, seen as plaintext in and out.
 * The transport table of CONVENTIONS habit 3: TLS runs over a BIO of our own
 * that reads the ciphertext straight from the loop's read buffer and writes
 * records straight to the socket, so an idle connection holds no buffer.
 * Bytes decrypted but not yet consumed stay in the SSL object and are pulled
 * by sock_pump() whenever the owner has room again (epoll never reports them). */
#ifndef CERTGATE_CORE_SOCK_H
#define CERTGATE_CORE_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <openssl/ssl.h>

#include "base/buf.h"

struct sock;

/* What the socks of one loop share: the read scratch buffer, and the writes they make while
 * the loop handles events, which go out together once per loop iteration (a uv_check): a
 * response head and body, TLS records, pipelined answers make one write(2), not several. */
struct sock_loop {
    uv_check_t flush;    /* after the poll: what I/O callbacks wrote */
    uv_prepare_t before; /* before the poll: what timers wrote (the poll may block) */
    struct sock *dirty;  /* socks with output waiting */
    char *rbuf;          /* scratch for reads: every read is consumed at once */
    size_t rbuf_len;
};

/* Start on <loop> with the read scratch <rbuf>. 0 or a libuv error code. */
int sock_loop_init(struct sock_loop *sl, uv_loop_t *loop, char *rbuf, size_t rbuf_len);
/* Close the flush handle (the loop is ending). */
void sock_loop_close(struct sock_loop *sl);

/* Events a sock reports to its owner. */
struct sock_events {
    void (*on_data)(struct sock *s);      /* plaintext appended to s->in, or EOF/error set */
    void (*on_handshake)(struct sock *s); /* TLS handshake finished */
    void (*on_drain)(struct sock *s);     /* queued output fell to zero */
    void (*on_connect)(struct sock *s, int status); /* outbound connect finished */
    void (*on_closed)(struct sock *s);              /* handle closed: the owner may free now */
};

enum sock_flags {
    SOCK_TLS = 1 << 0,
    SOCK_HANDSHAKE_DONE = 1 << 1,
    SOCK_EOF = 1 << 2,   /* peer closed its side (plaintext ended) */
    SOCK_ERROR = 1 << 3, /* transport or TLS error; only closing remains */
    SOCK_READING = 1 << 4,
    SOCK_CLOSING = 1 << 5,
    SOCK_SHUTDOWN = 1 << 6,  /* our write side is shut */
    SOCK_LINGER = 1 << 7,    /* discarding input until EOF before close */
    SOCK_WANT_READ = 1 << 8, /* the owner wants input (reading also needs room in s->in) */
};

struct sock {
    uv_tcp_t tcp; /* tcp.data points at the sock */
    uv_connect_t _connect;
    uv_shutdown_t _shutdown;
    uv_timer_t _linger; /* bounds the discard phase of sock_shutdown */
    int _handles;       /* open uv handles; on_closed when it reaches 0 */
    const struct sock_events *ev;
    void *owner;
    unsigned flags;
    int err; /* the libuv error that set SOCK_ERROR on the socket (reset, broken pipe), or 0 */
    SSL *ssl;
    /* ciphertext read from the socket, not yet taken by OpenSSL: a slice of the loop's
     * read buffer during a read, or <_rpend> (owned) when OpenSSL left some for later */
    const char *_rin;
    size_t _rin_len;
    char *_rpend;
    struct buf in;   /* plaintext received, not yet consumed by the owner */
    size_t wpending; /* bytes queued (this iteration's and uv_write's) and not yet written */
    char *rbuf;      /* shared read buffer of the loop (borrowed) */
    size_t rbuf_len;
    struct sock_loop *_sl;
    struct buf _wout;         /* output of this loop iteration, not yet handed to the kernel */
    struct sock *_next_dirty; /* in _sl->dirty */
    int _dirty, _high;        /* queued for the flush; passed the high mark (owe an on_drain) */
    uint64_t flush_ms;        /* sock_shutdown: longest wait for queued output to leave */
};

/* Initialise <s> on <loop> (whose sock_loop is <sl>); <in_max> bounds the plaintext input
 * buffer. */
int sock_init(struct sock *s, uv_loop_t *loop, struct sock_loop *sl, const struct sock_events *ev,
              void *owner, size_t in_max);
/* Wrap in TLS as server (accept) or client (connect) with <ssl> (owned now). */
void sock_set_tls(struct sock *s, SSL *ssl, int server);
/* The owner's wish for input; the sock also pauses itself while s->in is full. */
int sock_start_read(struct sock *s);
void sock_stop_read(struct sock *s);
/* Pull plaintext the TLS layer still holds into s->in (as far as it fits),
 * then report on_data if anything arrived. Call after consuming s->in. */
void sock_pump(struct sock *s);
/* Like sock_pump without calling on_data: returns 1 if input or flags
 * changed. For owners that loop over s->in themselves. */
int sock_fill(struct sock *s);
/* Queue <len> bytes of plaintext; they leave at the end of this loop iteration. <wpending>
 * counts them until written. Returns 0, -1 if the sock is broken. */
int sock_write(struct sock *s, const void *data, size_t len);
/* Outbound connect to <addr>. */
int sock_connect(struct sock *s, const struct sockaddr *addr);
/* Send close_notify if TLS, let queued output finish, shut the write side,
 * discard input until the peer closes or <linger_ms> passes, then close. */
void sock_shutdown(struct sock *s);
/* Close now; on_closed follows from the loop. Idempotent. */
void sock_close(struct sock *s);
int sock_is_closing(const struct sock *s);

#endif

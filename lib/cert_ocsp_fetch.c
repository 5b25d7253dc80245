/* A blocking OCSP exchange over plain HTTP/1.1, bounded by a connect and a total timeout with
 * poll(): for `certgate verify --ocsp` and backends that may block. The daemon does the same
 * exchange on its event loop with certgate_ocsp_http_request / certgate_ocsp_http_parse. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cert_ocsp_internal.h"

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(long long deadline)
{
    long long left = deadline - now_ms();

    return left > 0 ? (int)left : 0;
}

/* poll() one event on <fd> until <deadline>: 1 ready, 0 timed out, -1 error (errno). */
static int wait_for(int fd, short ev, long long deadline)
{
    struct pollfd p = {.fd = fd, .events = ev};
    int n;

    do {
        n = poll(&p, 1, left_ms(deadline));
    } while (n < 0 && errno == EINTR);
    return n;
}

/* A connected socket to one of <ai>'s addresses, or -1 with the sentence. */
static int connect_any(struct addrinfo *ai, int connect_ms, long long deadline, char *err,
                       size_t errlen)
{
    char t[32];
    int fd = -1, e = 0, timed_out = 0;
    socklen_t elen = sizeof(e);
    long long until;

    for (; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        until = now_ms() + connect_ms;
        if (until > deadline)
            until = deadline;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        e = errno;
        if (e == EINPROGRESS) {
            int n = wait_for(fd, POLLOUT, until);

            if (n > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == 0 && e == 0)
                break;
            if (n == 0)
                timed_out = 1;
            else if (n < 0)
                e = errno;
        }
        close(fd);
        fd = -1;
    }
    if (fd < 0 && timed_out) {
        cert_ocsp_ms_text(connect_ms, t, sizeof(t));
        cert_text_set(err, errlen, "did not accept the connection within %s", t);
    } else if (fd < 0) {
        cert_text_set(err, errlen, "cannot be reached (%s)", strerror(e ? e : ECONNREFUSED));
    }
    return fd;
}

static int send_all(int fd, const unsigned char *p, size_t n, long long deadline, int total_ms,
                    char *err, size_t errlen)
{
    char t[32];

    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_for(fd, POLLOUT, deadline);

            if (r > 0)
                continue;
            if (r == 0) {
                cert_ocsp_ms_text(total_ms, t, sizeof(t));
                cert_text_set(err, errlen, "did not take the request within %s", t);
                return -1;
            }
        }
        cert_text_set(err, errlen, "broke the connection while the request was sent (%s)",
                      strerror(errno));
        return -1;
    }
    return 0;
}

/* Read until the response parses; 0 with the body copied into *body, or -1. The buffer grows
 * to the head, the largest body, and one byte to notice a longer one. */
static int read_response(int fd, long long deadline, int total_ms, const char *want_ct,
                         size_t max_body, unsigned char **body, size_t *len, char *err,
                         size_t errlen)
{
    size_t read_max = CERTGATE_OCSP_MAX_HEADERS + max_body + 1;
    size_t cap = read_max < 65536 ? read_max : 65536;
    unsigned char *buf = malloc(cap);
    const unsigned char *b = NULL;
    size_t got = 0, blen = 0;
    char t[32];
    int rc = 0, eof = 0;

    if (buf == NULL) {
        cert_text_set(err, errlen, "could not be read (out of memory)");
        return -1;
    }
    while (rc == 0) {
        ssize_t n;
        int r;

        if (got == cap && cap < read_max) {
            size_t ncap = cap * 2 < read_max ? cap * 2 : read_max;
            unsigned char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                cert_text_set(err, errlen, "could not be read (out of memory)");
                rc = -1;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        r = wait_for(fd, POLLIN, deadline);
        if (r == 0) {
            cert_ocsp_ms_text(total_ms, t, sizeof(t));
            cert_text_set(err, errlen, "did not %s within %s", got ? "finish its answer" : "answer",
                          t);
            rc = -1;
            break;
        }
        n = r > 0 ? recv(fd, buf + got, cap - got, 0) : -1;
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0) {
            cert_text_set(err, errlen, "broke the connection (%s)", strerror(errno));
            rc = -1;
            break;
        }
        got += (size_t)n;
        eof = n == 0 || got == read_max; /* a full buffer is as far as the parser needs */
        rc = cert_http_parse(buf, got, eof, want_ct, max_body, &b, &blen, err, errlen);
        if (rc == 0 && eof) { /* the parser decides at the end; never left undecided */
            cert_text_set(err, errlen, "closed the connection without a complete answer");
            rc = -1;
        }
    }
    if (rc == 1) {
        *body = malloc(blen);
        if (*body == NULL) {
            cert_text_set(err, errlen, "could not be read (out of memory)");
            rc = -1;
        } else {
            memcpy(*body, b, blen);
            *len = blen;
        }
    }
    free(buf);
    return rc == 1 ? 0 : -1;
}

int cert_http_fetch(const struct certgate_ocsp_url *t, const unsigned char *msg, size_t msg_len,
                    const char *want_ct, size_t max_body, int connect_ms, int total_ms,
                    unsigned char **body, size_t *len, char *err, size_t errlen)
{
    struct addrinfo hints, *ai = NULL;
    long long deadline = now_ms() + total_ms;
    char port[8];
    int fd = -1, rc = -1, g;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%u", t->port);
    g = getaddrinfo(t->host, port, &hints, &ai);
    if (g != 0) {
        cert_text_set(err, errlen, "cannot be resolved (%s)", gai_strerror(g));
        goto out;
    }
    fd = connect_any(ai, connect_ms, deadline, err, errlen);
    if (fd < 0)
        goto out;
    if (send_all(fd, msg, msg_len, deadline, total_ms, err, errlen) != 0)
        goto out;
    rc = read_response(fd, deadline, total_ms, want_ct, max_body, body, len, err, errlen);
out:
    if (fd >= 0)
        close(fd);
    if (ai != NULL)
        freeaddrinfo(ai);
    return rc;
}

int certgate_ocsp_fetch(const struct certgate_ocsp_request *req, enum certgate_ocsp_method m,
                        int connect_ms, int total_ms, unsigned char **body, size_t *len, char *err,
                        size_t errlen)
{
    unsigned char *msg = NULL;
    size_t msg_len = 0;
    int rc;

    *body = NULL;
    *len = 0;
    if (req == NULL || connect_ms <= 0 || total_ms <= 0) {
        cert_text_set(err, errlen, "was not asked (no request or no time given)");
        return -1;
    }
    msg = certgate_ocsp_http_request(req, m, &msg_len);
    if (msg == NULL) {
        cert_text_set(err, errlen, "was not asked (out of memory)");
        return -1;
    }
    rc = cert_http_fetch(&req->target, msg, msg_len, "application/ocsp-response",
                         CERTGATE_OCSP_MAX_RESPONSE, connect_ms, total_ms, body, len, err, errlen);
    free(msg);
    return rc;
}

/* backend: the HTTP/1.1 keep-alive backend of the benchmarks. One epoll loop, a fixed
 * "200 ok" per request, pipelining-safe. It counts the requests that carried a forwarded
 * client certificate (X-ARR-ClientCert), so that a run can check that every proxy did
 * forward it; GET /__stats answers those counts as JSON.
 *
 *   backend [--host 127.0.0.1] [--port 9000]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                           "\r\nok";

struct client {
    int fd;
    size_t len;
    long long body_left; /* request body bytes still to skip */
    int close_after;
    int out_armed; /* EPOLLOUT is in the interest set */
    char buf[BUF_SIZE];
    char out[BUF_SIZE];
    size_t out_len;
};

static unsigned long long n_req, n_cert, n_nocert, cert_bytes, cert_min, cert_max, cert_last;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static const char *header_value(const char *head, const char *end, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l + 2 < end; l = strstr(l + 2, "\r\n")) {
        const char *p = l + 2;
        if ((size_t)(end - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
            p += nl + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            const char *e = strstr(p, "\r\n");
            *len = (size_t)(e - p);
            return p;
        }
    }
    return NULL;
}

static void queue(struct client *c, const char *data, size_t len)
{
    if (c->out_len + len > sizeof c->out) {
        c->close_after = 1; /* a peer that never reads: give up on it */
        return;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

/* Answer every whole request in the buffer; -1 closes the connection. */
static int serve(struct client *c)
{
    size_t off = 0;
    for (;;) {
        if (c->body_left > 0) {
            size_t take = (size_t)c->body_left < c->len - off ? (size_t)c->body_left : c->len - off;
            c->body_left -= (long long)take;
            off += take;
            if (c->body_left > 0)
                break;
        }
        c->buf[c->len] = '\0';
        char *head = c->buf + off;
        char *end = strstr(head, "\r\n\r\n");
        if (!end) {
            if (off == 0 && c->len >= BUF_SIZE - 1)
                return -1; /* a head larger than the buffer */
            break;
        }
        end += 4;
        int stats = !strncmp(head, "GET /__stats ", 13);
        n_req += !stats;
        size_t vl;
        const char *v = header_value(head, end, "X-ARR-ClientCert", &vl);
        if (stats) {
            /* not counted */
        } else if (v && vl) {
            n_cert++;
            cert_bytes += vl;
            cert_last = vl;
            if (!cert_min || vl < cert_min)
                cert_min = vl;
            if (vl > cert_max)
                cert_max = vl;
        } else {
            n_nocert++;
        }
        const char *cl = header_value(head, end, "Content-Length", &vl);
        c->body_left = cl ? strtoll(cl, NULL, 10) : 0;
        const char *cn = header_value(head, end, "Connection", &vl);
        if (cn && vl >= 5 && !strncasecmp(cn, "close", 5))
            c->close_after = 1;
        if (stats) {
            char body[512], resp[768];
            int bl = snprintf(body, sizeof body,
                              "{\"requests\":%llu,\"with_cert\":%llu,\"without_cert\":%llu,"
                              "\"cert_bytes_min\":%llu,\"cert_bytes_max\":%llu,"
                              "\"cert_bytes_last\":%llu}\n",
                              n_req, n_cert, n_nocert, cert_min, cert_max, cert_last);
            int rl = snprintf(resp, sizeof resp,
                              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: %d\r\n\r\n%s",
                              bl, body);
            queue(c, resp, (size_t)rl);
        } else {
            queue(c, RESP, sizeof RESP - 1);
        }
        off = (size_t)(end - c->buf);
        if (c->close_after)
            break;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return 0;
}

static int flush_out(struct client *c)
{
    size_t done = 0;
    while (done < c->out_len) {
        ssize_t w = write(c->fd, c->out + done, c->out_len - done);
        if (w < 0) {
            if (errno == EAGAIN)
                break;
            return -1;
        }
        done += (size_t)w;
    }
    memmove(c->out, c->out + done, c->out_len - done);
    c->out_len -= done;
    return 0;
}

static void drop(int ep, struct client *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 9000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--host") && i + 1 < argc) {
            host = argv[++i];
        } else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: backend [--host 127.0.0.1] [--port 9000]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl)) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 4096) < 0) {
        perror("backend: listen");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &e);
    fprintf(stderr, "backend: listening on %s:%d\n", host, port);
    struct epoll_event ev[256];
    while (!stop) {
        int n = epoll_wait(ep, ev, 256, 500);
        for (int i = 0; i < n; i++) {
            struct client *c = ev[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct client *nc = calloc(1, sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            if (ev[i].events & EPOLLOUT) {
                if (flush_out(c) < 0) {
                    drop(ep, c);
                    continue;
                }
            }
            int dead = 0;
            if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t r = read(c->fd, c->buf + c->len, BUF_SIZE - 1 - c->len);
                    if (r > 0) {
                        c->len += (size_t)r;
                        if (serve(c) < 0) {
                            dead = 1;
                            break;
                        }
                        if (c->len == BUF_SIZE - 1)
                            break;
                        continue;
                    }
                    if (r < 0 && errno == EAGAIN)
                        break;
                    dead = 1; /* EOF or error */
                    break;
                }
            }
            if (!dead && flush_out(c) < 0)
                dead = 1;
            if (!dead && c->close_after && c->out_len == 0)
                dead = 1;
            if (dead) {
                drop(ep, c);
                continue;
            }
            if ((c->out_len != 0) != c->out_armed) {
                c->out_armed = c->out_len != 0;
                struct epoll_event ce = {.events = EPOLLIN | (c->out_armed ? EPOLLOUT : 0),
                                         .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ce);
            }
        }
    }
    fprintf(stderr,
            "backend: %llu requests, %llu with X-ARR-ClientCert (%llu bytes on average), %llu "
            "without\n",
            n_req, n_cert, n_cert ? cert_bytes / n_cert : 0, n_nocert);
    return 0;
}

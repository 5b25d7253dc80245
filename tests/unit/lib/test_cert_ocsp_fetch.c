/* cert_ocsp_fetch.c: the blocking exchange against a responder played by a thread on
 * 127.0.0.1: answers, HTTP errors, silence, half answers, refusal, a full accept queue. */
#include "pki_util.c"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "certgate/ocsp.h"

#define OK_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\n"

enum mode { REPLY, REPLY_THEN_WAIT, SILENT, HANG_UP };

/* One connection served by a thread. */
struct server {
    int lfd;
    unsigned short port;
    enum mode mode;
    const char *reply;
    char got[4096];
    size_t got_len;
    pthread_t th;
};

static struct {
    struct pki_node ca, leaf;
} fx;

static int listener(unsigned short *port, int backlog)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, backlog), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* The request is complete once its head and Content-Length bytes are in. */
static int request_complete(const struct server *s)
{
    const char *end = strstr(s->got, "\r\n\r\n"), *cl = strstr(s->got, "Content-Length: ");

    if (end == NULL)
        return 0;
    return cl == NULL || s->got_len >= (size_t)(end + 4 - s->got) + strtoul(cl + 16, NULL, 10);
}

static void *serve(void *arg)
{
    struct server *s = arg;
    char sink[256];
    int fd = accept(s->lfd, NULL, NULL);
    ssize_t n;

    if (fd < 0)
        return NULL;
    if (s->mode == HANG_UP) {
        close(fd);
        return NULL;
    }
    while (!request_complete(s) &&
           (n = recv(fd, s->got + s->got_len, sizeof(s->got) - 1 - s->got_len, 0)) > 0) {
        s->got_len += (size_t)n;
        s->got[s->got_len] = '\0';
    }
    if (s->mode != SILENT)
        assert_int_equal(send(fd, s->reply, strlen(s->reply), MSG_NOSIGNAL),
                         (ssize_t)strlen(s->reply));
    /* until the client gives up */
    while (s->mode != REPLY && recv(fd, sink, sizeof(sink), 0) > 0)
        ;
    close(fd);
    return NULL;
}

static void start(struct server *s, enum mode mode, const char *reply)
{
    memset(s, 0, sizeof(*s));
    s->lfd = listener(&s->port, 8);
    s->mode = mode;
    s->reply = reply;
    assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void stop(struct server *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* fetch from 127.0.0.1:<port>; returns certgate_ocsp_fetch's result, body NUL-terminated. */
static int fetch(unsigned short port, enum certgate_ocsp_method m, int connect_ms, int total_ms,
                 char *body, char *err, double *took)
{
    char url[64];
    struct certgate_ocsp_request *req;
    unsigned char *b = NULL;
    size_t len = 0;
    double t0 = now();
    int rc;

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/ocsp", port);
    req = certgate_ocsp_request_new(fx.leaf.cert, fx.ca.cert, 1, url, err, 256);
    assert_non_null(req);
    err[0] = body[0] = '\0';
    rc = certgate_ocsp_fetch(req, m, connect_ms, total_ms, &b, &len, err, 256);
    if (took != NULL)
        *took = now() - t0;
    if (rc == 0) {
        assert_true(len < 256);
        memcpy(body, b, len);
        body[len] = '\0';
    } else {
        assert_null(b);
        assert_int_equal(len, 0);
    }
    free(b);
    certgate_ocsp_request_free(req);
    return rc;
}

static int setup(void **state)
{
    struct pki_opts ca = {.key = "ec:P-256#ca", .ca = 1};

    fx.ca = pki_issue("/CN=CA", NULL, &ca);
    fx.leaf = pki_issue("/CN=Leaf", &fx.ca, NULL);
    return 0;
}

static int teardown(void **state)
{
    pki_node_free(&fx.leaf);
    pki_node_free(&fx.ca);
    pki_keys_free();
    return 0;
}

static void test_answer(void **state)
{
    struct server s;
    char body[256], err[256];

    start(&s, REPLY, OK_HEAD "Content-Length: 4\r\n\r\nDATA");
    assert_int_equal(fetch(s.port, CERTGATE_OCSP_POST, 1000, 2000, body, err, NULL), 0);
    stop(&s);
    assert_string_equal(body, "DATA");
    assert_memory_equal(s.got, "POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1:", 36);
    assert_non_null(strstr(s.got, "\r\nContent-Type: application/ocsp-request\r\n"));

    /* GET, and a body that ends with the connection */
    start(&s, REPLY, OK_HEAD "\r\nclose-delimited");
    assert_int_equal(fetch(s.port, CERTGATE_OCSP_GET_IF_FITS, 1000, 2000, body, err, NULL), 0);
    stop(&s);
    assert_string_equal(body, "close-delimited");
    assert_memory_equal(s.got, "GET /ocsp/M", 11);
}

static void test_http_error(void **state)
{
    struct server s;
    char body[256], err[256];

    start(&s, REPLY, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(fetch(s.port, CERTGATE_OCSP_POST, 1000, 2000, body, err, NULL), -1);
    stop(&s);
    assert_string_equal(err, "answered HTTP 404 (Not Found)");

    start(&s, HANG_UP, NULL);
    assert_int_equal(fetch(s.port, CERTGATE_OCSP_POST, 1000, 2000, body, err, NULL), -1);
    stop(&s);
    /* the hang-up may come before or after the request went out */
    if (strcmp(err, "closed the connection without answering") != 0 &&
        strncmp(err, "broke the connection", 20) != 0)
        fail_msg("unexpected: %s", err);
}

static void test_timeouts(void **state)
{
    struct server s;
    char body[256], err[256];
    double took;

    start(&s, SILENT, NULL);
    assert_int_equal(fetch(s.port, CERTGATE_OCSP_POST, 1000, 300, body, err, &took), -1);
    stop(&s);
    assert_string_equal(err, "did not answer within 300ms");
    assert_true(took >= 0.29 && took < 2.0);

    start(&s, REPLY_THEN_WAIT, OK_HEAD "Content-Length: 10\r\n\r\nabc");
    assert_int_equal(fetch(s.port, CERTGATE_OCSP_POST, 1000, 300, body, err, &took), -1);
    stop(&s);
    assert_string_equal(err, "did not finish its answer within 300ms");
    assert_true(took >= 0.29 && took < 2.0);
}

static void test_unreachable(void **state)
{
    unsigned short port;
    int fd = listener(&port, 1), filler[4];
    struct sockaddr_in a = {.sin_family = AF_INET};
    char body[256], err[256];
    unsigned char *b = (unsigned char *)body;
    size_t len = 1;
    double took;

    /* the accept queue is full: the kernel drops further SYNs */
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    for (int i = 0; i < 4; i++) {
        filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(filler[i] >= 0);
        connect(filler[i], (struct sockaddr *)&a, sizeof(a));
    }
    usleep(100 * 1000);
    assert_int_equal(fetch(port, CERTGATE_OCSP_POST, 200, 2000, body, err, &took), -1);
    assert_string_equal(err, "did not accept the connection within 200ms");
    assert_true(took >= 0.19 && took < 1.5);
    close(fd);
    for (int i = 0; i < 4; i++)
        close(filler[i]);

    /* nothing listens there any more */
    assert_int_equal(fetch(port, CERTGATE_OCSP_POST, 1000, 2000, body, err, &took), -1);
    assert_string_equal(err, "cannot be reached (Connection refused)");
    assert_true(took < 0.5);

    assert_int_equal(
        certgate_ocsp_fetch(NULL, CERTGATE_OCSP_POST, 1, 1, &b, &len, err, sizeof(err)), -1);
    assert_string_equal(err, "was not asked (no request or no time given)");
    assert_null(b);
    assert_int_equal(len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer),
        cmocka_unit_test(test_http_error),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_unreachable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

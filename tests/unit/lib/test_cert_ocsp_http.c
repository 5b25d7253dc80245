/* cert_ocsp_http.c: responder URLs, the request bytes, and the strict reading of responses. */
#include "pki_util.c"

#include "certgate/ocsp.h"
#include "cert_ocsp_internal.h"

#define OK_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\n"

/* ---- URLs ---- */

static void assert_url(const char *url, const char *host, unsigned port, const char *authority,
                       const char *path)
{
    struct certgate_ocsp_url u;
    char err[256] = "";

    if (certgate_ocsp_url_parse(url, &u, err, sizeof(err)) != 0)
        fail_msg("%s: %s", url, err);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_string_equal(u.authority, authority);
    assert_string_equal(u.path, path);
}

static void assert_url_refused(const char *url, const char *why)
{
    struct certgate_ocsp_url u;
    char err[256] = "";

    assert_int_equal(certgate_ocsp_url_parse(url, &u, err, sizeof(err)), -1);
    assert_string_equal(err, why);
}

static void test_url(void **state)
{
    char long_path[1100];

    assert_url("http://127.0.0.1:8889", "127.0.0.1", 8889, "127.0.0.1:8889", "/");
    assert_url("HTTP://ocsp.example.com/a/b", "ocsp.example.com", 80, "ocsp.example.com", "/a/b");
    assert_url("http://[::1]:81/x", "::1", 81, "[::1]:81", "/x");
    assert_url("http://h?x=1", "h", 80, "h", "/?x=1");
    assert_url("http://h:65535/", "h", 65535, "h:65535", "/");
    assert_url("http://ocsp_dev.internal:080/", "ocsp_dev.internal", 80, "ocsp_dev.internal:080",
               "/");

    assert_url_refused("", "the URL is empty");
    assert_url_refused(NULL, "the URL is empty");
    assert_url_refused("https://ocsp.example/",
                       "https is not supported: OCSP answers are signed, and responders serve "
                       "plain http://");
    assert_url_refused("ldap://x", "only http:// URLs are supported");
    assert_url_refused("127.0.0.1:8889", "only http:// URLs are supported");
    assert_url_refused("http://h/a b", "the URL holds a space, a control byte or a byte outside "
                                       "ASCII; percent-encode it");
    assert_url_refused("http://h/\r\nX: y", "the URL holds a space, a control byte or a byte "
                                            "outside ASCII; percent-encode it");
    assert_url_refused("http://h/#frag", "the URL has a fragment ('#')");
    assert_url_refused("http://u:p@h/", "the URL carries user info ('@'), which is not supported");
    assert_url_refused("http://", "the URL has no host");
    assert_url_refused("http://:80/", "the URL has no host");
    assert_url_refused("http://h:0/", "the port '0' is not a number from 1 to 65535");
    assert_url_refused("http://h:65536/", "the port '65536' is not a number from 1 to 65535");
    assert_url_refused("http://h:/", "the port '' is not a number from 1 to 65535");
    assert_url_refused("http://h:8x/", "the port '8x' is not a number from 1 to 65535");
    assert_url_refused("http://h:+80/", "the port '+80' is not a number from 1 to 65535");
    assert_url_refused("http://h!/", "the host 'h!' holds '!' (letters, digits, '-', '.' and '_' "
                                     "only)");
    assert_url_refused("http://[::1/", "the URL has an unterminated or empty IPv6 address");
    assert_url_refused("http://[]/", "the URL has an unterminated or empty IPv6 address");
    assert_url_refused("http://[zz::1]/", "'zz::1' is not an IPv6 address");
    assert_url_refused("http://[::1]x/", "the port 'x' is not a number from 1 to 65535");
    memset(long_path, 'a', sizeof(long_path));
    memcpy(long_path, "http://h/", 9);
    long_path[sizeof(long_path) - 1] = '\0';
    assert_url_refused(long_path, "the URL's path is longer than 1022 bytes");
}

/* ---- the request's bytes ---- */

static void test_http_request(void **state)
{
    struct pki_opts ca_o = {.key = "ec:P-256#ca", .ca = 1};
    struct pki_node ca = pki_issue("/CN=CA", NULL, &ca_o);
    struct pki_node leaf = pki_issue("/CN=Leaf", &ca, NULL);
    char err[256], want[1024];
    struct certgate_ocsp_request *req = certgate_ocsp_request_new(
        leaf.cert, ca.cert, 0, "http://127.0.0.1:8889/ocsp", err, sizeof(err));
    const unsigned char *der;
    unsigned char *msg;
    size_t len, dlen;
    int head;

    assert_non_null(req);
    der = certgate_ocsp_request_der(req, &dlen);
    msg = certgate_ocsp_http_request(req, CERTGATE_OCSP_POST, &len);
    head = snprintf(want, sizeof(want),
                    "POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1:8889\r\n"
                    "Accept: application/ocsp-response\r\n"
                    "Content-Type: application/ocsp-request\r\nContent-Length: %zu\r\n"
                    "Connection: close\r\n\r\n",
                    dlen);
    assert_int_equal(len, (size_t)head + dlen);
    assert_memory_equal(msg, want, (size_t)head);
    assert_memory_equal(msg + head, der, dlen);
    free(msg);

    msg = certgate_ocsp_http_request(req, CERTGATE_OCSP_GET_IF_FITS, &len);
    head = snprintf(want, sizeof(want),
                    "GET %s HTTP/1.1\r\nHost: 127.0.0.1:8889\r\n"
                    "Accept: application/ocsp-response\r\nConnection: close\r\n\r\n",
                    certgate_ocsp_request_get_path(req));
    assert_int_equal(len, (size_t)head);
    assert_memory_equal(msg, want, len);
    assert_memory_equal(msg, "GET /ocsp/M", 11); /* 0x30, a SEQUENCE */
    free(msg);
    certgate_ocsp_request_free(req);

    /* no GET form: GET_IF_FITS posts */
    req = certgate_ocsp_request_new(leaf.cert, ca.cert, 0, "http://h/o?q", err, sizeof(err));
    msg = certgate_ocsp_http_request(req, CERTGATE_OCSP_GET_IF_FITS, &len);
    assert_memory_equal(msg, "POST /o?q HTTP/1.1\r\nHost: h\r\n", 29);
    free(msg);
    certgate_ocsp_request_free(req);
    pki_node_free(&leaf);
    pki_node_free(&ca);
    pki_keys_free();
}

/* ---- responses ---- */

/* certgate_ocsp_http_parse on a string; the body (when complete) into <body>. */
static int parse(const char *s, size_t len, int eof, char *body, char *err)
{
    const unsigned char *b = NULL;
    size_t blen = 0;
    int rc;

    err[0] = body[0] = '\0';
    rc = certgate_ocsp_http_parse((const unsigned char *)s, len, eof, &b, &blen, err, 256);
    if (rc == 1) {
        assert_true(b >= (const unsigned char *)s && b + blen == (const unsigned char *)s + len);
        memcpy(body, b, blen);
        body[blen] = '\0';
    }
    return rc;
}

#define P(s, eof) parse(s, strlen(s), eof, body, err)

static void test_complete(void **state)
{
    char body[256], err[256];
    const char *whole = OK_HEAD "Content-Length: 5\r\n\r\nABCDE";

    assert_int_equal(P(OK_HEAD "Content-Length: 5\r\n\r\nABCDE", 0), 1);
    assert_string_equal(body, "ABCDE");
    /* every prefix needs more */
    for (size_t n = 0; n < strlen(whole); n++)
        assert_int_equal(parse(whole, n, 0, body, err), 0);
    /* HTTP/1.0, a parameter, spaces, header names in any case */
    assert_int_equal(P("HTTP/1.0 200\r\ncontent-type:Application/OCSP-Response; x=1 \r\n"
                       "CONTENT-LENGTH:  2 \r\nServer: x\r\n\r\nhi",
                       0),
                     1);
    assert_string_equal(body, "hi");
    /* no Content-Length: the end of the connection ends the body */
    assert_int_equal(P(OK_HEAD "\r\nxyz", 0), 0);
    assert_int_equal(P(OK_HEAD "\r\nxyz", 1), 1);
    assert_string_equal(body, "xyz");
}

static void test_refused(void **state)
{
    char body[256], err[256];
    static const struct {
        const char *in;
        int eof;
        const char *err;
    } cases[] = {
        {"", 1, "closed the connection without answering"},
        {"HTTP/1.1 200 OK\r\n", 1, "closed the connection in the middle of its headers"},
        {"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n", 0,
         "answered HTTP 404 (Not Found)"},
        {"HTTP/1.1 503\r\n\r\n", 0, "answered HTTP 503"},
        {"HTTP/1.1 500 \x01\x7f\r\n\r\n", 0,
         "answered HTTP 500 (?"
         "?)"},
        {"SSH-2.0-OpenSSH\r\n\r\n", 0, "did not answer with HTTP/1.x (it sent 'SSH-2.0-OpenSSH')"},
        {"HTTP/2 200\r\n\r\n", 0, "did not answer with HTTP/1.x (it sent 'HTTP/2 200')"},
        {"HTTP/1.1 2000 OK\r\n\r\n", 0,
         "did not answer with HTTP/1.x (it sent 'HTTP/1.1 2000 OK')"},
        {"HTTP/1.1 200 OK\r\n\r\nx", 1,
         "sent no Content-Type (application/ocsp-response expected)"},
        {"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", 0,
         "answered with Content-Type 'text/html', not application/ocsp-response"},
        {"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-responses\r\n\r\n", 0,
         "answered with Content-Type 'application/ocsp-responses', not "
         "application/ocsp-response"},
        {OK_HEAD "Content-Type: application/ocsp-response\r\n\r\n", 0,
         "sent more than one Content-Type"},
        {OK_HEAD "Transfer-Encoding: chunked\r\n\r\n", 0,
         "sent Transfer-Encoding 'chunked', which is not supported (Content-Length or the end "
         "of the connection must delimit the body)"},
        {OK_HEAD "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", 0,
         "sent more than one Content-Length"},
        {OK_HEAD "Content-Length: -1\r\n\r\n", 0, "sent an invalid Content-Length"},
        {OK_HEAD "Content-Length: 1 2\r\n\r\n", 0, "sent an invalid Content-Length"},
        {OK_HEAD "Content-Length: 65537\r\n\r\n", 0,
         "announced a response of more than 65536 "
         "bytes"},
        {OK_HEAD "Content-Length: 99999999999999999999999\r\n\r\n", 0,
         "announced a response of more than 65536 bytes"},
        {OK_HEAD "Content-Length: 2\r\n\r\nabc", 0, "sent more bytes than its Content-Length"},
        {OK_HEAD "Content-Length: 3\r\n\r\nab", 1,
         "closed the connection after 2 of 3 body "
         "bytes"},
        {OK_HEAD "Content-Length: 0\r\n\r\n", 0, "answered with an empty body"},
        {OK_HEAD "\r\n", 1, "answered with an empty body"},
        {OK_HEAD " folded\r\n\r\n", 0, "sent a folded header line"},
        {OK_HEAD "Bad Name: x\r\n\r\n", 0, "sent a malformed header line 'Bad Name: x'"},
        {OK_HEAD "Name : x\r\n\r\n", 0, "sent a malformed header line 'Name : x'"},
        {OK_HEAD "NoColon\r\n\r\n", 0, "sent a malformed header line 'NoColon'"},
        {OK_HEAD "X: a\rb\r\n\r\n", 0, "sent a malformed header line 'X: a?b'"},
        {OK_HEAD "X: a\nb\r\n\r\n", 0, "sent a malformed header line 'X: a?b'"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (P(cases[i].in, cases[i].eof) != -1)
            fail_msg("case %zu was not refused", i);
        if (strcmp(err, cases[i].err) != 0)
            fail_msg("case %zu: '%s', want '%s'", i, err, cases[i].err);
    }
}

static void test_limits(void **state)
{
    size_t head = strlen(OK_HEAD "\r\n");
    size_t big = CERTGATE_OCSP_MAX_HEADERS + CERTGATE_OCSP_MAX_RESPONSE + 16;
    char *buf = calloc(1, big + 1), err[256];
    const unsigned char *b;
    size_t blen;

    assert_non_null(buf);
    /* the largest body passes, one byte more does not */
    memcpy(buf, OK_HEAD "\r\n", head);
    memset(buf + head, 'x', CERTGATE_OCSP_MAX_RESPONSE + 1);
    assert_int_equal(certgate_ocsp_http_parse((unsigned char *)buf,
                                              head + CERTGATE_OCSP_MAX_RESPONSE, 1, &b, &blen, err,
                                              sizeof(err)),
                     1);
    assert_int_equal(blen, CERTGATE_OCSP_MAX_RESPONSE);
    assert_int_equal(certgate_ocsp_http_parse((unsigned char *)buf,
                                              head + CERTGATE_OCSP_MAX_RESPONSE + 1, 0, &b, &blen,
                                              err, sizeof(err)),
                     -1);
    assert_string_equal(err, "sent a response of more than 65536 bytes");
    /* headers that never end */
    memset(buf, 0, big);
    memcpy(buf, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(buf + 20, 'a', CERTGATE_OCSP_MAX_HEADERS);
    assert_int_equal(certgate_ocsp_http_parse((unsigned char *)buf, CERTGATE_OCSP_MAX_HEADERS, 0,
                                              &b, &blen, err, sizeof(err)),
                     0);
    assert_int_equal(certgate_ocsp_http_parse((unsigned char *)buf, CERTGATE_OCSP_MAX_HEADERS + 1,
                                              0, &b, &blen, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "sent more than 8192 bytes of headers");
    /* ... also when they end too late */
    memcpy(buf + CERTGATE_OCSP_MAX_HEADERS, "\r\n\r\nx", 5);
    assert_int_equal(certgate_ocsp_http_parse((unsigned char *)buf, CERTGATE_OCSP_MAX_HEADERS + 5,
                                              1, &b, &blen, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "sent more than 8192 bytes of headers");
    free(buf);
}

static void test_ms_text(void **state)
{
    char t[32];

    cert_ocsp_ms_text(5000, t, sizeof(t));
    assert_string_equal(t, "5s");
    cert_ocsp_ms_text(1500, t, sizeof(t));
    assert_string_equal(t, "1500ms");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),      cmocka_unit_test(test_http_request),
        cmocka_unit_test(test_complete), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_limits),   cmocka_unit_test(test_ms_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

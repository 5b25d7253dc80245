/* OCSP over HTTP/1.1 without I/O: responder URLs, the GET form of RFC 6960 A.1, the request
 * bytes, and a strict reader of the responder's answer, so that a blocking client and an event
 * loop share one parser. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cert_ocsp_internal.h"

#define GET_LIMIT 255 /* RFC 5019 5: GET when the encoded request is shorter */

void cert_ocsp_ms_text(int ms, char *out, size_t len)
{
    if (ms % 1000 == 0)
        snprintf(out, len, "%ds", ms / 1000);
    else
        snprintf(out, len, "%dms", ms);
}

/* ---- URLs ---- */

static int host_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_';
}

int certgate_ocsp_url_parse(const char *url, struct certgate_ocsp_url *out, char *err,
                            size_t errlen)
{
    const char *auth, *auth_end, *host, *host_end, *rest;
    size_t hlen;

    memset(out, 0, sizeof(*out));
    if (url == NULL || *url == '\0') {
        cert_text_set(err, errlen, "the URL is empty");
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p >= 0x7F) {
            cert_text_set(err, errlen,
                          "the URL holds a space, a control byte or a byte outside "
                          "ASCII; percent-encode it");
            return -1;
        }
    if (strncasecmp(url, "https://", 8) == 0) {
        cert_text_set(err, errlen,
                      "https is not supported: OCSP answers are signed, and "
                      "responders serve plain http://");
        return -1;
    }
    if (strncasecmp(url, "http://", 7) != 0) {
        cert_text_set(err, errlen, "only http:// URLs are supported");
        return -1;
    }
    if (strchr(url, '#') != NULL) {
        cert_text_set(err, errlen, "the URL has a fragment ('#')");
        return -1;
    }
    auth = url + 7;
    auth_end = auth + strcspn(auth, "/?");
    if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL) {
        cert_text_set(err, errlen, "the URL carries user info ('@'), which is not supported");
        return -1;
    }
    if ((size_t)(auth_end - auth) >= sizeof(out->authority)) {
        cert_text_set(err, errlen, "the host and port are longer than %zu bytes",
                      sizeof(out->authority) - 1);
        return -1;
    }
    memcpy(out->authority, auth, (size_t)(auth_end - auth));
    if (*auth == '[') {
        unsigned char a6[16];

        host = auth + 1;
        host_end = memchr(host, ']', (size_t)(auth_end - host));
        hlen = host_end ? (size_t)(host_end - host) : 0;
        if (host_end == NULL || hlen == 0 || hlen >= sizeof(out->host)) {
            cert_text_set(err, errlen, "the URL has an unterminated or empty IPv6 address");
            return -1;
        }
        memcpy(out->host, host, hlen);
        if (inet_pton(AF_INET6, out->host, a6) != 1) {
            cert_text_set(err, errlen, "'%s' is not an IPv6 address", out->host);
            return -1;
        }
        rest = host_end + 1;
    } else {
        host = auth;
        host_end = memchr(host, ':', (size_t)(auth_end - host));
        if (host_end == NULL)
            host_end = auth_end;
        hlen = (size_t)(host_end - host);
        if (hlen == 0) {
            cert_text_set(err, errlen, "the URL has no host");
            return -1;
        }
        for (size_t i = 0; i < hlen; i++)
            if (!host_char((unsigned char)host[i])) {
                cert_text_set(err, errlen,
                              "the host '%.*s' holds '%c' (letters, digits, '-', '.' and '_' "
                              "only)",
                              (int)hlen, host, host[i]);
                return -1;
            }
        memcpy(out->host, host, hlen);
        rest = host_end;
    }
    out->port = 80;
    if (rest < auth_end) {
        unsigned long port = 0;
        size_t n = (size_t)(auth_end - rest - 1);

        if (*rest == ':' && n >= 1 && n <= 5 && strspn(rest + 1, "0123456789") >= n)
            port = strtoul(rest + 1, NULL, 10);
        if (*rest != ':' || port < 1 || port > 65535) {
            cert_text_set(err, errlen, "the port '%.*s' is not a number from 1 to 65535",
                          (int)(auth_end - rest) - (*rest == ':'), rest + (*rest == ':'));
            return -1;
        }
        out->port = (unsigned short)port;
    }
    /* "http://h?x" has the path "/?x" */
    if (strlen(auth_end) + 2 > sizeof(out->path)) {
        cert_text_set(err, errlen, "the URL's path is longer than %zu bytes",
                      sizeof(out->path) - 2);
        return -1;
    }
    snprintf(out->path, sizeof(out->path), "%s%s", *auth_end == '/' ? "" : "/", auth_end);
    return 0;
}

/* ---- the request ---- */

char *cert_ocsp_get_path(const char *path, const unsigned char *der, size_t len)
{
    char *b64, *enc, *out = NULL;
    size_t n = 0, plen = strlen(path);
    int slash = plen > 0 && path[plen - 1] == '/';

    if (strchr(path, '?') != NULL)
        return NULL;
    b64 = certgate_base64(der, len);
    if (b64 == NULL)
        return NULL;
    enc = malloc(strlen(b64) * 3 + 1);
    if (enc == NULL)
        goto out;
    /* base64's '+', '/' and '=' are reserved in a path segment */
    for (const char *p = b64; *p; p++) {
        if (*p == '+' || *p == '/' || *p == '=') {
            snprintf(enc + n, 4, "%%%02X", (unsigned char)*p);
            n += 3;
        } else {
            enc[n++] = *p;
        }
    }
    enc[n] = '\0';
    if (n >= GET_LIMIT)
        goto out;
    out = malloc(plen + 1 + n + 1);
    if (out != NULL)
        snprintf(out, plen + 1 + n + 1, "%s%s%s", path, slash ? "" : "/", enc);
out:
    free(b64);
    free(enc);
    return out;
}

unsigned char *certgate_ocsp_http_request(const struct certgate_ocsp_request *req,
                                          enum certgate_ocsp_method m, size_t *len)
{
    const char *get = m == CERTGATE_OCSP_GET_IF_FITS ? req->get_path : NULL;
    unsigned char *out;
    int head;

    if (get != NULL)
        head = snprintf(NULL, 0,
                        "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/ocsp-response\r\n"
                        "Connection: close\r\n\r\n",
                        get, req->target.authority);
    else
        head = snprintf(NULL, 0,
                        "POST %s HTTP/1.1\r\nHost: %s\r\nAccept: application/ocsp-response\r\n"
                        "Content-Type: application/ocsp-request\r\nContent-Length: %zu\r\n"
                        "Connection: close\r\n\r\n",
                        req->target.path, req->target.authority, req->der_len);
    if (head < 0)
        return NULL;
    out = malloc((size_t)head + 1 + (get ? 0 : req->der_len));
    if (out == NULL)
        return NULL;
    if (get != NULL) {
        snprintf((char *)out, (size_t)head + 1,
                 "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/ocsp-response\r\n"
                 "Connection: close\r\n\r\n",
                 get, req->target.authority);
        *len = (size_t)head;
        return out;
    }
    snprintf((char *)out, (size_t)head + 1,
             "POST %s HTTP/1.1\r\nHost: %s\r\nAccept: application/ocsp-response\r\n"
             "Content-Type: application/ocsp-request\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             req->target.path, req->target.authority, req->der_len);
    memcpy(out + head, req->der, req->der_len);
    *len = (size_t)head + req->der_len;
    return out;
}

/* ---- the response ---- */

/* Up to <max> bytes of <s> for a sentence: anything but printable ASCII as '?'. */
static void excerpt(const unsigned char *s, size_t n, size_t max, char *out, size_t outlen)
{
    size_t i;

    for (i = 0; i < n && i < max && i + 1 < outlen; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7F ? (char)s[i] : '?';
    out[i] = '\0';
}

static int tchar(unsigned char c)
{
    return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int name_is(const unsigned char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp((const char *)name, want, n) == 0;
}

/* The parsed head of a response. */
struct head {
    size_t max_body; /* largest body accepted */
    size_t len;      /* bytes up to and including the empty line */
    int has_cl;
    size_t cl;
    const unsigned char *ct;
    size_t ct_len;
};

/* The status line: 0 for HTTP 200, -1 otherwise (sentence in <err>). */
static int status_line(const unsigned char *p, size_t n, char *err, size_t errlen)
{
    char shown[64];
    int code;

    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
        !isdigit(p[9]) || !isdigit(p[10]) || !isdigit(p[11]) || (n > 12 && p[12] != ' ')) {
        excerpt(p, n, 40, shown, sizeof(shown));
        cert_text_set(err, errlen, "did not answer with HTTP/1.x (it sent '%s')", shown);
        return -1;
    }
    code = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (code == 200)
        return 0;
    excerpt(p + 13, n > 13 ? n - 13 : 0, 40, shown, sizeof(shown));
    cert_text_set(err, errlen, "answered HTTP %d%s%s%s", code, shown[0] ? " (" : "", shown,
                  shown[0] ? ")" : "");
    return -1;
}

/* One header line of <n> bytes (no CRLF). 0, or -1 with a sentence. */
static int header_line(const unsigned char *p, size_t n, struct head *h, char *err, size_t errlen)
{
    const unsigned char *colon, *v, *vend;
    char shown[64];
    size_t name_len;

    if (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
        cert_text_set(err, errlen, "sent a folded header line");
        return -1;
    }
    colon = memchr(p, ':', n);
    name_len = colon ? (size_t)(colon - p) : 0;
    for (size_t i = 0; i < name_len && colon != NULL; i++)
        if (!tchar(p[i]))
            colon = NULL;
    if (colon == NULL || name_len == 0 || memchr(p, '\r', n) || memchr(p, '\n', n) ||
        memchr(p, '\0', n)) {
        excerpt(p, n, 40, shown, sizeof(shown));
        cert_text_set(err, errlen, "sent a malformed header line '%s'", shown);
        return -1;
    }
    v = colon + 1;
    vend = p + n;
    while (v < vend && (*v == ' ' || *v == '\t'))
        v++;
    while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
        vend--;
    if (name_is(p, name_len, "Transfer-Encoding")) {
        excerpt(v, (size_t)(vend - v), 40, shown, sizeof(shown));
        cert_text_set(err, errlen,
                      "sent Transfer-Encoding '%s', which is not supported (Content-Length or "
                      "the end of the connection must delimit the body)",
                      shown);
        return -1;
    }
    if (name_is(p, name_len, "Content-Length")) {
        size_t cl = 0, k;

        for (k = 0; v + k < vend && isdigit(v[k]) && cl <= h->max_body; k++)
            cl = cl * 10 + (size_t)(v[k] - '0');
        if (h->has_cl || k == 0 || (v + k < vend && !isdigit(v[k]))) {
            cert_text_set(err, errlen, "sent %s Content-Length",
                          h->has_cl ? "more than one" : "an invalid");
            return -1;
        }
        if (v + k < vend || cl > h->max_body) {
            cert_text_set(err, errlen, "announced a response of more than %zu bytes", h->max_body);
            return -1;
        }
        h->has_cl = 1;
        h->cl = cl;
    } else if (name_is(p, name_len, "Content-Type")) {
        if (h->ct != NULL) {
            cert_text_set(err, errlen, "sent more than one Content-Type");
            return -1;
        }
        h->ct = v;
        h->ct_len = (size_t)(vend - v);
    }
    return 0;
}

/* The head: 1 when read (h filled), 0 when incomplete, -1 refused. */
static int read_head(const unsigned char *buf, size_t len, int eof, const char *want_ct,
                     struct head *h, char *err, size_t errlen)
{
    const unsigned char *end, *p, *eol;
    size_t mt, max_body = h->max_body;
    char shown[64];

    memset(h, 0, sizeof(*h));
    h->max_body = max_body;
    end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL || (size_t)(end - buf) + 4 > CERTGATE_OCSP_MAX_HEADERS) {
        if (len > CERTGATE_OCSP_MAX_HEADERS) {
            cert_text_set(err, errlen, "sent more than %d bytes of headers",
                          CERTGATE_OCSP_MAX_HEADERS);
            return -1;
        }
        if (eof) {
            cert_text_set(err, errlen, "%s",
                          len == 0 ? "closed the connection without answering"
                                   : "closed the connection in the middle of its headers");
            return -1;
        }
        return 0;
    }
    h->len = (size_t)(end - buf) + 4;
    eol = memmem(buf, h->len, "\r\n", 2);
    if (status_line(buf, (size_t)(eol - buf), err, errlen) != 0)
        return -1;
    for (p = eol + 2; p < end + 2; p = eol + 2) {
        eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
        if (header_line(p, (size_t)(eol - p), h, err, errlen) != 0)
            return -1;
    }
    if (want_ct == NULL)
        return 1;
    if (h->ct == NULL) {
        cert_text_set(err, errlen, "sent no Content-Type (%s expected)", want_ct);
        return -1;
    }
    mt = strcspn((const char *)h->ct, "; \t\r");
    if (mt > h->ct_len)
        mt = h->ct_len;
    if (!name_is(h->ct, mt, want_ct)) {
        excerpt(h->ct, h->ct_len, 60, shown, sizeof(shown));
        cert_text_set(err, errlen, "answered with Content-Type '%s', not %s", shown, want_ct);
        return -1;
    }
    return 1;
}

int cert_http_parse(const unsigned char *buf, size_t len, int eof, const char *want_ct,
                    size_t max_body, const unsigned char **body, size_t *body_len, char *err,
                    size_t errlen)
{
    struct head h = {.max_body = max_body};
    size_t have;
    int rc = read_head(buf, len, eof, want_ct, &h, err, errlen);

    if (rc <= 0)
        return rc;
    have = len - h.len;
    if (h.has_cl) {
        if (have > h.cl) {
            cert_text_set(err, errlen, "sent more bytes than its Content-Length");
            return -1;
        }
        if (have < h.cl) {
            if (!eof)
                return 0;
            cert_text_set(err, errlen, "closed the connection after %zu of %zu body bytes", have,
                          h.cl);
            return -1;
        }
    } else {
        if (have > max_body) {
            cert_text_set(err, errlen, "sent a response of more than %zu bytes", max_body);
            return -1;
        }
        if (!eof)
            return 0;
    }
    if (have == 0) {
        cert_text_set(err, errlen, "answered with an empty body");
        return -1;
    }
    *body = buf + h.len;
    *body_len = have;
    return 1;
}

int certgate_ocsp_http_parse(const unsigned char *buf, size_t len, int eof,
                             const unsigned char **body, size_t *body_len, char *err, size_t errlen)
{
    return cert_http_parse(buf, len, eof, "application/ocsp-response", CERTGATE_OCSP_MAX_RESPONSE,
                           body, body_len, err, errlen);
}

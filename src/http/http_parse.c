/* Strict HTTP/1.1 request and response head parser: one pass over the buffer, no allocation.
 * Every check fires as soon as the bytes it needs are present, so a prefix of a valid head
 * always returns HTTP_INCOMPLETE and an invalid prefix fails without waiting for more. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "http/http_internal.h"
#include "http/http_parse.h"

#define CL_MAX ((uint64_t)INT64_MAX) /* Content-Length must stay below 2^63 */

/* What the header lines say about framing and the connection, gathered line by line. */
struct facts {
    int is_request;
    int minor;
    int cl_seen;
    uint64_t cl;
    int te_seen;
    int te_chunked;      /* "chunked" seen (it must be the last coding) */
    int te_other;        /* a coding other than chunked: 501 */
    int conn_close;      /* Connection has "close" */
    int conn_keep_alive; /* Connection has "keep-alive" */
    int expect_continue;
    int upgrade;
    const struct http_header *host;
};

static const uint64_t ONES = 0x0101010101010101ull;
static const uint64_t HIGHS = 0x8080808080808080ull;

/* Nonzero when a byte of <w> is below <n> (n <= 128), exact for the "any" question. */
static inline uint64_t has_less(uint64_t w, unsigned n)
{
    return (w - ONES * n) & ~w & HIGHS;
}

static inline uint64_t has_byte(uint64_t w, unsigned b)
{
    uint64_t x = w ^ (ONES * b);
    return (x - ONES) & ~x & HIGHS;
}

/* First position at or after <pos> that is not a field byte (VCHAR, obs-text, SP, HTAB). */
static size_t scan_field(const unsigned char *p, size_t pos, size_t end)
{
    for (;;) {
        /* eight clean bytes at a time: none below 0x20 and no DEL */
        while (end - pos >= 8) {
            uint64_t w;
            memcpy(&w, p + pos, 8);
            if (has_less(w, 0x20) | has_byte(w, 0x7f))
                break;
            pos += 8;
        }
        if (pos >= end || !http_is_field_byte(p[pos]))
            return pos;
        pos++;
    }
}

/* First position at or after <pos> that is not visible ASCII (0x21-0x7E). */
static size_t scan_target(const unsigned char *p, size_t pos, size_t end)
{
    while (end - pos >= 8) {
        uint64_t w;
        memcpy(&w, p + pos, 8);
        if (has_less(w, 0x21) | (w & HIGHS) | has_byte(w, 0x7f))
            break;
        pos += 8;
    }
    while (pos < end && (unsigned)(p[pos] - 0x21) < 0x5e)
        pos++;
    return pos;
}

/* The start line scan stopped at <stop> (its limit-capped end): out of bytes or over limit. */
static int ran_out(size_t stop, size_t line_start, size_t line_max)
{
    return stop - line_start > line_max ? HTTP_ERR_TOO_LONG_LINE : HTTP_INCOMPLETE;
}

/* "HTTP/1.0" or "HTTP/1.1" at <*pos>, followed by <term>. Checked byte by byte so a wrong
 * prefix fails early; "HTTP/x.y" of another version is HTTP_ERR_VERSION. Returns 1 with
 * <*pos> on <term>, or an enum http_status. */
static int parse_version(const unsigned char *p, size_t *pos, size_t lend, size_t ls, size_t lmax,
                         unsigned char term, int *minor)
{
    static const char shape[] = "HTTP/0.0";
    size_t i = *pos;

    for (int k = 0; k < 8; k++, i++) {
        if (i == lend)
            return ran_out(i, ls, lmax);
        if (shape[k] == '0' ? !http_is_digit(p[i]) : p[i] != (unsigned char)shape[k])
            return HTTP_ERR_BAD;
    }
    int ok = p[i - 3] == '1' && (p[i - 1] == '0' || p[i - 1] == '1');
    if (i == lend) {
        int rc = ran_out(i, ls, lmax);
        return (rc == HTTP_INCOMPLETE && !ok) ? HTTP_ERR_VERSION : rc;
    }
    if (p[i] != term)
        return HTTP_ERR_BAD;
    if (!ok)
        return HTTP_ERR_VERSION;
    *minor = p[i - 1] - '0';
    *pos = i;
    return 1;
}

/* CRLF at <*pos>; moves past it. Returns 1, HTTP_INCOMPLETE or HTTP_ERR_BAD. */
static int expect_crlf(const unsigned char *p, size_t *pos, size_t end)
{
    if (*pos >= end || (p[*pos] == '\r' && *pos + 1 >= end))
        return HTTP_INCOMPLETE;
    if (p[*pos] != '\r' || p[*pos + 1] != '\n')
        return HTTP_ERR_BAD;
    *pos += 2;
    return 1;
}

/* Does <name> (validated tchar bytes) equal the lowercase literal <lit>? Letters are the only
 * tchars whose bit 0x20 flips case, so OR-ing it in is exact here. */
static int name_is(const struct http_header *h, const char *lit, size_t n)
{
    if (h->name_len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)h->name[i] | 0x20) != (unsigned char)lit[i])
            return 0;
    }
    return 1;
}

/* Trim SP/HTAB from both ends of [*s, *e). */
static void trim_ows(const char *v, size_t *s, size_t *e)
{
    while (*s < *e && (v[*s] == ' ' || v[*s] == '\t'))
        (*s)++;
    while (*e > *s && (v[*e - 1] == ' ' || v[*e - 1] == '\t'))
        (*e)--;
}

/* Content-Length: 1*DIGIT, or a comma list of identical values (RFC 9110 8.6). */
static int note_content_length(struct facts *f, const struct http_header *h)
{
    const char *v = h->value;
    size_t i = 0;

    do {
        size_t s = i, e = i;
        while (e < h->value_len && v[e] != ',')
            e++;
        i = e + 1;
        trim_ows(v, &s, &e);
        if (s == e)
            return HTTP_ERR_BAD;
        uint64_t n = 0;
        for (; s < e; s++) {
            unsigned char c = (unsigned char)v[s];
            if (!http_is_digit(c) || n > (CL_MAX - (c - '0')) / 10)
                return HTTP_ERR_BAD;
            n = n * 10 + (c - '0');
        }
        if (f->cl_seen && n != f->cl)
            return HTTP_ERR_BAD;
        f->cl_seen = 1;
        f->cl = n;
    } while (i <= h->value_len);
    return 0;
}

/* Transfer-Encoding: codings accumulate across lines; "chunked" once and last, else refused. */
static int note_transfer_encoding(struct facts *f, const struct http_header *h)
{
    const char *v = h->value;
    size_t i = 0;

    if (f->minor == 0)
        return HTTP_ERR_BAD; /* HTTP/1.0 has no TE; a 1.0 peer would read it two ways */
    f->te_seen = 1;
    do {
        size_t s = i, e = i;
        while (e < h->value_len && v[e] != ',')
            e++;
        i = e + 1;
        trim_ows(v, &s, &e);
        size_t t = s;
        while (t < e && http_is_tchar((unsigned char)v[t]))
            t++;
        if (t == s)
            return HTTP_ERR_BAD; /* empty element or no coding name */
        size_t rest = t;
        while (rest < e && (v[rest] == ' ' || v[rest] == '\t'))
            rest++;
        int has_params = rest < e;
        if (has_params && v[rest] != ';')
            return HTTP_ERR_BAD;
        if (f->te_chunked)
            return HTTP_ERR_BAD; /* anything after chunked: the length is unknowable */
        if (http_bytes_ieq(v + s, t - s, "chunked", 7)) {
            if (has_params)
                return HTTP_ERR_BAD;
            f->te_chunked = 1;
        } else {
            f->te_other = 1;
        }
    } while (i <= h->value_len);
    return 0;
}

/* Update <f> from one complete header line. Returns 0 or an enum http_status. */
static int note_field(struct facts *f, const struct http_header *h)
{
    int rc = 0;

    switch (h->name_len) {
    case 4:
        if (f->is_request && name_is(h, "host", 4)) {
            if (f->host != NULL || !http_authority_valid(h->value, h->value_len, 0))
                return HTTP_ERR_BAD;
            f->host = h;
        }
        break;
    case 6:
        if (name_is(h, "expect", 6) && http_bytes_ieq(h->value, h->value_len, "100-continue", 12))
            f->expect_continue = 1;
        break;
    case 7:
        if (name_is(h, "upgrade", 7))
            f->upgrade = 1;
        break;
    case 10:
        if (name_is(h, "connection", 10)) {
            f->conn_close |= http_list_has(h->value, h->value_len, "close");
            f->conn_keep_alive |= http_list_has(h->value, h->value_len, "keep-alive");
        }
        break;
    case 14:
        if (name_is(h, "content-length", 14))
            rc = note_content_length(f, h);
        break;
    case 17:
        if (name_is(h, "transfer-encoding", 17))
            rc = note_transfer_encoding(f, h);
        break;
    default:
        break;
    }
    if (rc == 0 && f->cl_seen && f->te_seen)
        rc = HTTP_ERR_BAD; /* the classic smuggling pair, refused as soon as both are seen */
    return rc;
}

/* Header lines from <pos> through the empty line. Returns the head length, HTTP_INCOMPLETE,
 * or an error. <hdrs> holds <max> entries; <*num> counts those filled. */
static int parse_fields(const unsigned char *p, size_t pos, size_t end, struct http_header *hdrs,
                        size_t max, size_t *num, struct facts *f)
{
    for (;;) {
        if (pos >= end)
            return HTTP_INCOMPLETE;
        if (p[pos] == '\r') {
            int rc = expect_crlf(p, &pos, end);
            return rc == 1 ? (int)pos : rc;
        }
        if (p[pos] == ' ' || p[pos] == '\t')
            return HTTP_ERR_BAD; /* obs-fold, or whitespace before the first field */
        if (*num >= max)
            return HTTP_ERR_TOO_LARGE;

        size_t name = pos;
        while (pos < end && http_is_tchar(p[pos]))
            pos++;
        if (pos >= end)
            return HTTP_INCOMPLETE;
        if (p[pos] != ':' || pos == name)
            return HTTP_ERR_BAD;
        size_t name_end = pos++;
        while (pos < end && (p[pos] == ' ' || p[pos] == '\t'))
            pos++;
        size_t value = pos;
        pos = scan_field(p, pos, end);
        size_t value_end = pos;
        int rc = expect_crlf(p, &pos, end);
        if (rc != 1)
            return rc;
        while (value_end > value && (p[value_end - 1] == ' ' || p[value_end - 1] == '\t'))
            value_end--;

        struct http_header *h = &hdrs[(*num)++];
        h->name = (const char *)p + name;
        h->name_len = name_end - name;
        h->value = (const char *)p + value;
        h->value_len = value_end - value;
        h->removed = 0;
        rc = note_field(f, h);
        if (rc < 0)
            return rc;
    }
}

/* Request-target forms (RFC 9112 3.2). <*auth> receives an absolute-form's authority. */
static int check_target(const struct http_request *req, const char **auth, size_t *auth_len)
{
    const char *t = req->target;
    size_t n = req->target_len;
    int connect = req->method_len == 7 && memcmp(req->method, "CONNECT", 7) == 0;
    int options = req->method_len == 7 && memcmp(req->method, "OPTIONS", 7) == 0;

    if (connect)
        return http_authority_valid(t, n, 1) ? 0 : HTTP_ERR_BAD;
    if (t[0] == '/')
        return 0;
    if (n == 1 && t[0] == '*')
        return options ? 0 : HTTP_ERR_BAD;

    /* absolute-form: only http and https, whose authority is mandatory and non-empty */
    size_t skip;
    if (n >= 7 && http_bytes_ieq(t, 7, "http://", 7))
        skip = 7;
    else if (n >= 8 && http_bytes_ieq(t, 8, "https://", 8))
        skip = 8;
    else
        return HTTP_ERR_BAD;
    size_t e = skip;
    while (e < n && t[e] != '/' && t[e] != '?' && t[e] != '#')
        e++;
    if (!http_authority_valid(t + skip, e - skip, 0))
        return HTTP_ERR_BAD; /* also refuses userinfo: '@' is not a host byte */
    *auth = t + skip;
    *auth_len = e - skip;
    return 0;
}

static size_t max_fields(const struct http_limits *lim, size_t array)
{
    return lim->headers < array ? lim->headers : array;
}

/* Bytes the start line may scan: its limit plus one, so a CR right at the limit is seen. */
static size_t line_end(size_t ls, size_t end, size_t lmax)
{
    return lmax < end - ls ? ls + lmax + 1 : end;
}

static int parse_request(const unsigned char *p, size_t end, const struct http_limits *lim,
                         struct http_request *req)
{
    size_t pos = 0;
    int rc;

    /* RFC 9112 2.2: ignore empty lines before the request line; they count in head_len */
    while (pos < end && p[pos] == '\r') {
        rc = expect_crlf(p, &pos, end);
        if (rc != 1)
            return rc;
    }
    if (pos >= end)
        return HTTP_INCOMPLETE;

    size_t ls = pos;
    size_t lend = line_end(ls, end, lim->request_line);
    while (pos < lend && http_is_tchar(p[pos]))
        pos++;
    if (pos == lend)
        return ran_out(pos, ls, lim->request_line);
    if (p[pos] != ' ' || pos == ls)
        return HTTP_ERR_BAD;
    req->method = (const char *)p + ls;
    req->method_len = pos - ls;

    size_t ts = ++pos;
    pos = scan_target(p, pos, lend);
    if (pos == lend)
        return ran_out(pos, ls, lim->request_line);
    if (p[pos] != ' ' || pos == ts)
        return HTTP_ERR_BAD;
    req->target = (const char *)p + ts;
    req->target_len = pos - ts;

    pos++;
    rc = parse_version(p, &pos, lend, ls, lim->request_line, '\r', &req->minor);
    if (rc != 1)
        return rc;
    rc = expect_crlf(p, &pos, end);
    if (rc != 1)
        return rc;

    const char *auth = NULL;
    size_t auth_len = 0;
    rc = check_target(req, &auth, &auth_len);
    if (rc < 0)
        return rc;

    struct facts f = {.is_request = 1, .minor = req->minor};
    rc = parse_fields(p, pos, end, req->headers, max_fields(lim, req->max_headers),
                      &req->num_headers, &f);
    if (rc <= 0)
        return rc;

    if (f.host == NULL && req->minor == 1)
        return HTTP_ERR_BAD;
    if (auth != NULL && f.host != NULL &&
        !http_bytes_ieq(auth, auth_len, f.host->value, f.host->value_len))
        return HTTP_ERR_BAD;
    if (f.te_other)
        return HTTP_ERR_NOT_IMPLEMENTED;
    if (f.te_chunked) {
        req->body = HTTP_BODY_CHUNKED;
    } else if (f.cl_seen) {
        req->content_length = f.cl;
        req->body = f.cl > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
    }
    req->keep_alive = req->minor == 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
    /* RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored */
    req->expect_continue = req->minor == 1 && f.expect_continue;
    req->upgrade = f.upgrade;
    req->host = f.host;
    req->head_len = (size_t)rc;
    return rc;
}

/* The head may not pass <header_bytes>: parse only that much, and call running out of it
 * while more bytes wait in the buffer "too large". */
static size_t capped_end(size_t len, const struct http_limits *lim, int *capped)
{
    size_t cap = lim->header_bytes < (size_t)INT_MAX ? lim->header_bytes : (size_t)INT_MAX;
    *capped = len > cap;
    return *capped ? cap : len;
}

int http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
                       struct http_request *req)
{
    int capped;

    req->method = NULL;
    req->method_len = 0;
    req->target = NULL;
    req->target_len = 0;
    req->minor = 0;
    req->num_headers = 0;
    req->head_len = 0;
    req->body = HTTP_BODY_NONE;
    req->content_length = 0;
    req->keep_alive = 0;
    req->expect_continue = 0;
    req->upgrade = 0;
    req->host = NULL;

    size_t end = capped_end(len, lim, &capped);
    int rc = parse_request((const unsigned char *)buf, end, lim, req);
    if (rc == HTTP_INCOMPLETE && capped)
        return HTTP_ERR_TOO_LARGE;
    return rc;
}

static int parse_response(const unsigned char *p, size_t end, const struct http_limits *lim,
                          int head_request, struct http_response *resp)
{
    size_t pos = 0;
    size_t lend = line_end(0, end, lim->request_line);
    int rc = parse_version(p, &pos, lend, 0, lim->request_line, ' ', &resp->minor);
    if (rc != 1)
        return rc;

    int status = 0;
    for (int k = 0; k < 3; k++) {
        if (++pos == lend)
            return ran_out(pos, 0, lim->request_line);
        if (!http_is_digit(p[pos]) || (k == 0 && p[pos] == '0'))
            return HTTP_ERR_BAD;
        status = status * 10 + (p[pos] - '0');
    }
    if (++pos == lend)
        return ran_out(pos, 0, lim->request_line);
    /* the SP before an empty reason is often left out; nothing hinges on it */
    size_t reason = pos;
    if (p[pos] == ' ') {
        reason = ++pos;
        pos = scan_field(p, pos, lend);
        if (pos == lend)
            return ran_out(pos, 0, lim->request_line);
    }
    size_t reason_end = pos;
    rc = expect_crlf(p, &pos, end);
    if (rc != 1)
        return rc;
    resp->status = status;
    resp->reason = (const char *)p + reason;
    resp->reason_len = reason_end - reason;

    struct facts f = {.is_request = 0, .minor = resp->minor};
    rc = parse_fields(p, pos, end, resp->headers, max_fields(lim, resp->max_headers),
                      &resp->num_headers, &f);
    if (rc <= 0)
        return rc;

    resp->keep_alive = resp->minor == 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
    if (head_request || status < 200 || status == 204 || status == 304) {
        resp->body = HTTP_BODY_NONE; /* framing headers describe a body that is not sent */
    } else if (f.te_seen) {
        if (f.te_other)
            return HTTP_ERR_NOT_IMPLEMENTED;
        resp->body = HTTP_BODY_CHUNKED;
    } else if (f.cl_seen) {
        resp->content_length = f.cl;
        resp->body = f.cl > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
    } else {
        resp->body = HTTP_BODY_UNTIL_EOF;
        resp->keep_alive = 0; /* only the close ends this body */
    }
    resp->head_len = (size_t)rc;
    return rc;
}

int http_parse_response(const char *buf, size_t len, const struct http_limits *lim,
                        int head_request, struct http_response *resp)
{
    int capped;

    resp->minor = 0;
    resp->status = 0;
    resp->reason = NULL;
    resp->reason_len = 0;
    resp->num_headers = 0;
    resp->head_len = 0;
    resp->body = HTTP_BODY_NONE;
    resp->content_length = 0;
    resp->keep_alive = 0;

    size_t end = capped_end(len, lim, &capped);
    int rc = parse_response((const unsigned char *)buf, end, lim, head_request, resp);
    if (rc == HTTP_INCOMPLETE && capped)
        return HTTP_ERR_TOO_LARGE;
    return rc;
}

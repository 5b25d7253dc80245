/* Value syntax: durations, sizes, listen addresses, backend URLs, header names. */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"

/* Digits into <v>; returns the count read (0 = none), -1 on overflow. */
static int read_uint(const char **p, uint64_t *v)
{
    int n = 0;

    *v = 0;
    while (isdigit((unsigned char)**p)) {
        unsigned d = (unsigned)(**p - '0');
        if (*v > (UINT64_MAX - d) / 10)
            return -1;
        *v = *v * 10 + d;
        (*p)++;
        n++;
    }
    return n;
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b && a > UINT64_MAX / b)
        return 0;
    *out = a * b;
    return 1;
}

/* A sequence of <number><unit> ("1m30s"); a bare number is refused because
 * nginx reads it as seconds and HAProxy as milliseconds. */
int config_parse_duration(const char *s, uint64_t *ms)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    uint64_t total = 0, v, part;
    const char *p = s;

    if (!s || !*s)
        return -1;
    while (*p) {
        size_t i, ulen = 0;
        if (read_uint(&p, &v) <= 0)
            return -1;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            ulen = strlen(units[i].unit);
            /* "m" must not swallow the "m" of "ms" */
            if (strncmp(p, units[i].unit, ulen) == 0 && !isalpha((unsigned char)p[ulen]))
                break;
        }
        if (i == sizeof(units) / sizeof(units[0]))
            return -1;
        if (!mul_ok(v, units[i].ms, &part) || total > UINT64_MAX - part)
            return -1;
        total += part;
        p += ulen;
    }
    *ms = total;
    return 0;
}

/* Units are binary: k, K and KiB all mean 1024. "KB" is refused (SI says 1000). */
int config_parse_size(const char *s, size_t *bytes)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {{"", 1},
                 {"k", 1024},
                 {"K", 1024},
                 {"KiB", 1024},
                 {"m", 1024 * 1024},
                 {"M", 1024 * 1024},
                 {"MiB", 1 << 20},
                 {"g", 1ULL << 30},
                 {"G", 1ULL << 30},
                 {"GiB", 1ULL << 30}};
    const char *p = s;
    uint64_t v, out;

    if (!s || read_uint(&p, &v) <= 0)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(p, units[i].unit) != 0)
            continue;
        if (!mul_ok(v, units[i].mult, &out) || out > SIZE_MAX)
            return -1;
        *bytes = (size_t)out;
        return 0;
    }
    return -1;
}

static int parse_port(const char *p, int *port, const char **why)
{
    uint64_t v;
    const char *q = p;
    int n = read_uint(&q, &v);

    if (n == 0 && *q == '\0') {
        *why = "missing port";
        return -1;
    }
    if (n <= 0 || *q != '\0' || n > 5 || v < 1 || v > 65535) {
        *why = "port must be a number from 1 to 65535";
        return -1;
    }
    *port = (int)v;
    return 0;
}

int cfg_parse_address_why(const char *s, char **host, int *port, const char **why)
{
    char buf[INET6_ADDRSTRLEN + 1];
    unsigned char bin[16];
    const char *colon, *h = buf;
    size_t hlen;

    if (!s || !*s) {
        *why = "empty address";
        return -1;
    }
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end) {
            *why = "missing ']' after the IPv6 address";
            return -1;
        }
        hlen = (size_t)(end - s - 1);
        if (hlen >= sizeof(buf)) {
            *why = "invalid IPv6 address";
            return -1;
        }
        memcpy(buf, s + 1, hlen);
        buf[hlen] = '\0';
        if (inet_pton(AF_INET6, buf, bin) != 1) {
            *why = "invalid IPv6 address";
            return -1;
        }
        if (end[1] != ':') {
            *why = "missing ':port' after ']'";
            return -1;
        }
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) {
            *why = "missing ':port'";
            return -1;
        }
        if (memchr(s, ':', (size_t)(colon - s))) {
            *why = "an IPv6 address must be written in brackets, as [::1]:8443";
            return -1;
        }
        hlen = (size_t)(colon - s);
        if (hlen >= sizeof(buf)) {
            *why = "host must be an IP address";
            return -1;
        }
        memcpy(buf, s, hlen);
        buf[hlen] = '\0';
        /* binding needs an address, never a resolver on the event loop */
        if (hlen == 0)
            h = "0.0.0.0";
        else if (strcmp(buf, "localhost") == 0)
            h = "127.0.0.1";
        else if (inet_pton(AF_INET, buf, bin) != 1) {
            *why = "host must be an IP address (or localhost), IPv6 in brackets";
            return -1;
        }
    }
    if (parse_port(colon + 1, port, why))
        return -1;
    *host = strdup(h);
    if (!*host) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

int config_parse_address(const char *s, char **host, int *port)
{
    const char *why;

    return cfg_parse_address_why(s, host, port, &why);
}

static int hostname_ok(const char *h, size_t len)
{
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
            return 0;
    return 1;
}

int cfg_parse_url_why(const char *s, int *tls, char **host, int *port, const char **why)
{
    char buf[256];
    unsigned char bin[16];
    const char *p, *end, *hs, *he;
    int v6 = 0;

    if (strncasecmp(s, "http://", 7) == 0) {
        *tls = 0;
        p = s + 7;
    } else if (strncasecmp(s, "https://", 8) == 0) {
        *tls = 1;
        p = s + 8;
    } else {
        *why = "the URL must start with http:// or https://";
        return -1;
    }
    end = p + strcspn(p, "/?#");
    if (*end && strcmp(end, "/") != 0) {
        *why = "a backend URL cannot carry a path, query or fragment";
        return -1;
    }
    if (memchr(p, '@', (size_t)(end - p))) {
        *why = "user info in a backend URL is not supported";
        return -1;
    }
    if (*p == '[') {
        v6 = 1;
        hs = p + 1;
        he = memchr(p, ']', (size_t)(end - p));
        if (!he) {
            *why = "missing ']' after the IPv6 address";
            return -1;
        }
        p = he + 1;
    } else {
        hs = p;
        he = memchr(p, ':', (size_t)(end - p));
        he = he ? he : end;
        p = he;
    }
    if ((size_t)(he - hs) >= sizeof(buf)) {
        *why = "host name too long";
        return -1;
    }
    memcpy(buf, hs, (size_t)(he - hs));
    buf[he - hs] = '\0';
    if (v6 ? inet_pton(AF_INET6, buf, bin) != 1 : !hostname_ok(buf, strlen(buf))) {
        *why = "invalid host";
        return -1;
    }
    if (p == end) {
        *port = *tls ? 443 : 80;
    } else {
        char pbuf[8];
        if (*p != ':' || (size_t)(end - p - 1) >= sizeof(pbuf)) {
            *why = "port must be a number from 1 to 65535";
            return -1;
        }
        memcpy(pbuf, p + 1, (size_t)(end - p - 1));
        pbuf[end - p - 1] = '\0';
        if (parse_port(pbuf, port, why))
            return -1;
    }
    *host = strdup(buf);
    if (!*host) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

int config_parse_url(const char *s, int *tls, char **host, int *port)
{
    const char *why;

    return cfg_parse_url_why(s, tls, host, port, &why);
}

int cfg_header_name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return 0;
    return 1;
}

char *cfg_abspath(const char *dir, const char *p)
{
    size_t dl, pl;
    char *out;

    if (p[0] == '/' || !dir)
        return strdup(p);
    dl = strlen(dir);
    pl = strlen(p);
    if (dl && dir[dl - 1] == '/')
        dl--;
    out = malloc(dl + pl + 2);
    if (!out)
        return NULL;
    memcpy(out, dir, dl);
    out[dl] = '/';
    memcpy(out + dl + 1, p, pl + 1);
    return out;
}

static int to_bin(const char *h, unsigned char *bin)
{
    if (inet_pton(AF_INET, h, bin) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, h, bin) == 1)
        return AF_INET6;
    return 0;
}

int cfg_addr_conflict(const char *a_host, int a_port, const char *b_host, int b_port)
{
    static const unsigned char zero[16];
    unsigned char a[16] = {0}, b[16] = {0};
    int fa, fb;
    size_t len;

    if (a_port != b_port)
        return 0;
    fa = to_bin(a_host, a);
    fb = to_bin(b_host, b);
    if (!fa || fa != fb)
        return 0;
    len = fa == AF_INET ? 4 : 16;
    return memcmp(a, b, len) == 0 || memcmp(a, zero, len) == 0 || memcmp(b, zero, len) == 0;
}

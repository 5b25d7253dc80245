/* Header look-up helpers and the grammar checks the parser shares (byte classes, authority). */
#include <string.h>

#include "http/http_internal.h"
#include "http/http_parse.h"

/* Bits: 1 tchar, 2 field-vchar/obs-text, 4 HEXDIG, 8 reg-name (unreserved / sub-delims). */
const unsigned char http_char_class[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x00 */
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x10 */
    0,  11, 2,  3,  11, 3,  11, 11, 10, 10, 11, 11, 10, 11, 11, 2,  /* 0x20 */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 2,  10, 2,  10, 2,  2,  /* 0x30 */
    2,  15, 15, 15, 15, 15, 15, 11, 11, 11, 11, 11, 11, 11, 11, 11, /* 0x40 */
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 2,  2,  2,  3,  11, /* 0x50 */
    3,  15, 15, 15, 15, 15, 15, 11, 11, 11, 11, 11, 11, 11, 11, 11, /* 0x60 */
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 2,  3,  2,  11, 0,  /* 0x70 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0x80 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0x90 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xa0 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xb0 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xc0 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xd0 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xe0 */
    2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xf0 */
};

int http_bytes_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++) {
        if (http_lower((unsigned char)a[i]) != http_lower((unsigned char)b[i]))
            return 0;
    }
    return 1;
}

int http_name_eq(const struct http_header *h, const char *name)
{
    if (h == NULL || name == NULL)
        return 0;
    return http_bytes_ieq(h->name, h->name_len, name, strlen(name));
}

int http_list_has(const char *value, size_t len, const char *token)
{
    if (value == NULL || token == NULL)
        return 0;
    size_t tlen = strlen(token);
    size_t i = 0;
    while (i <= len) {
        size_t start = i;
        while (i < len && value[i] != ',')
            i++;
        size_t e = i;
        while (start < e && (value[start] == ' ' || value[start] == '\t'))
            start++;
        while (e > start && (value[e - 1] == ' ' || value[e - 1] == '\t'))
            e--;
        if (http_bytes_ieq(value + start, e - start, token, tlen))
            return 1;
        i++; /* past the comma (or past the end, which ends the loop) */
    }
    return 0;
}

/* dec-octet "." dec-octet "." dec-octet "." dec-octet, no leading zeros (RFC 3986). */
static int ipv4_valid(const char *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return 0;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < n && http_is_digit((unsigned char)s[i]) && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        size_t digits = i - start;
        if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0'))
            return 0;
    }
    return i == n;
}

/* RFC 3986 IPv6address: up to 8 groups of 1-4 HEXDIG, one "::", optional IPv4 tail. */
static int ipv6_valid(const char *s, size_t n)
{
    size_t i = 0;
    int groups = 0;
    int compressed = 0;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        compressed = 1;
        i = 2;
    } else if (n == 0 || s[0] == ':') {
        return 0;
    }
    while (i < n) {
        size_t start = i;
        while (i < n && http_is_hex((unsigned char)s[i]))
            i++;
        if (i < n && s[i] == '.') {
            /* the IPv4 tail stands for two groups and must end the address */
            if (!ipv4_valid(s + start, n - start))
                return 0;
            groups += 2;
            i = n;
            break;
        }
        if (i == start || i - start > 4)
            return 0;
        groups++;
        if (i == n)
            break;
        if (s[i] != ':')
            return 0;
        i++;
        if (i < n && s[i] == ':') {
            if (compressed)
                return 0;
            compressed = 1;
            i++;
        } else if (i == n) {
            return 0; /* a single trailing colon */
        }
    }
    return compressed ? groups <= 7 : groups == 8;
}

int http_authority_valid(const char *s, size_t n, int port_required)
{
    size_t i = 0;

    if (n == 0)
        return 0;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL || !ipv6_valid(s + 1, (size_t)(close - s) - 1))
            return 0;
        i = (size_t)(close - s) + 1;
    } else {
        while (i < n && s[i] != ':') {
            unsigned char c = (unsigned char)s[i];
            if (c == '%') {
                if (n - i < 3 || !http_is_hex((unsigned char)s[i + 1]) ||
                    !http_is_hex((unsigned char)s[i + 2]))
                    return 0;
                i += 3;
            } else if (http_char_class[c] & HTTP_C_REG) {
                i++;
            } else {
                return 0;
            }
        }
        if (i == 0)
            return 0; /* an empty host is never valid for http(s) (RFC 9110 4.2.1) */
    }
    if (i == n)
        return !port_required;
    if (s[i] != ':')
        return 0;
    i++;
    size_t digits = n - i;
    if (digits == 0 || digits > 5)
        return 0;
    unsigned long port = 0;
    for (; i < n; i++) {
        if (!http_is_digit((unsigned char)s[i]))
            return 0;
        port = port * 10 + (unsigned long)(s[i] - '0');
    }
    return port <= 65535;
}

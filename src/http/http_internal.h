/* Private to src/http: byte classes and grammar checks shared by the parser and body framing. */
#ifndef CERTGATE_HTTP_INTERNAL_H
#define CERTGATE_HTTP_INTERNAL_H

#include <stddef.h>

#define HTTP_C_TCHAR 0x01 /* token character (RFC 9110 5.6.2) */
#define HTTP_C_FIELD 0x02 /* field-vchar: VCHAR or obs-text, SP/HTAB excluded */
#define HTTP_C_HEX   0x04 /* HEXDIG */
#define HTTP_C_REG   0x08 /* unreserved or sub-delims (RFC 3986 reg-name, pct aside) */

/* Defined in http_util.c; one entry per byte value. */
extern const unsigned char http_char_class[256];

static inline int http_is_tchar(unsigned char c)
{
    return http_char_class[c] & HTTP_C_TCHAR;
}

/* A byte allowed inside a field value or reason phrase: VCHAR, obs-text, SP, HTAB. */
static inline int http_is_field_byte(unsigned char c)
{
    return (http_char_class[c] & HTTP_C_FIELD) || c == ' ' || c == '\t';
}

static inline int http_is_hex(unsigned char c)
{
    return http_char_class[c] & HTTP_C_HEX;
}

static inline int http_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline unsigned char http_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Is <s>/<n> a uri-host [":" port] (RFC 3986: reg-name, IPv4, "[" IPv6 "]") with a
 * non-empty host and, when present, a 1-5 digit port <= 65535? <port_required> demands
 * the port (CONNECT's authority-form). Returns 1 if valid, 0 if not. */
int http_authority_valid(const char *s, size_t n, int port_required);

/* Case-insensitive ASCII equality of two byte ranges. */
int http_bytes_ieq(const char *a, size_t alen, const char *b, size_t blen);

#endif

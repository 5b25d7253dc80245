/* Body framing: Content-Length countdown, chunked decoding (RFC 9112 7.1), read-until-close. */
#include <limits.h>

#include "http/http_internal.h"
#include "http/http_parse.h"

#define CHUNK_LINE_MAX 4096 /* size line with extensions, CRLF excluded */
#define CHUNK_DIGITS   16   /* hex digits of a size: 16 fill a uint64_t, never overflow */
#define TRAILER_MAX    8192 /* trailer field lines, their CRLFs included */

/* Chunked sub-states. Extensions follow chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ),
 * so whitespace is legal only where a ";" or "=" comes next, never before the CRLF. */
enum {
    C_SIZE = 0,    /* hex digits */
    C_WS_SEMI,     /* BWS after size or value: only ";" may follow */
    C_NAME_START,  /* after ";": BWS then an extension name */
    C_NAME,        /* extension name */
    C_NAME_WS,     /* BWS after a name: "=" or ";" follows */
    C_VALUE_START, /* after "=": BWS then token or quoted-string */
    C_TOKEN,       /* token value */
    C_QUOTED,      /* inside a quoted-string */
    C_QUOTED_ESC,  /* after a backslash in a quoted-string */
    C_QUOTED_END,  /* after the closing quote */
    C_SIZE_LF,     /* CR of the size line seen */
    C_DATA,        /* <remaining> data bytes */
    C_DATA_CR,     /* CRLF after the data */
    C_DATA_LF,
    C_TRAILER, /* start of a trailer line, or the final CRLF */
    C_TRAILER_NAME,
    C_TRAILER_VALUE,
    C_TRAILER_LF,
    C_END_LF, /* CR of the final empty line seen */
    C_DONE,
    C_ERROR,
};

void http_body_init(struct http_body_state *st, enum http_body_kind kind, uint64_t length)
{
    st->kind = kind;
    st->remaining = kind == HTTP_BODY_LENGTH ? length : 0;
    st->_state = C_SIZE;
    st->_line = 0;
    st->_trailers = 0;
    st->done = kind == HTTP_BODY_NONE || (kind == HTTP_BODY_LENGTH && length == 0);
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* qdtext or the byte after a backslash (RFC 9110 5.6.4), quote and backslash aside. */
static int is_qdtext(unsigned char c)
{
    return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f);
}

/* Next state of the size line for byte <c>, or C_ERROR. */
static int size_line_step(struct http_body_state *st, unsigned char c)
{
    int s = st->_state;

    if (++st->_line > CHUNK_LINE_MAX && c != '\r')
        return C_ERROR;
    switch (s) {
    case C_SIZE:
        if (http_is_hex(c)) {
            if (st->_line > CHUNK_DIGITS)
                return C_ERROR;
            unsigned v = c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
            st->remaining = (st->remaining << 4) | v;
            return C_SIZE;
        }
        if (st->_line == 1)
            return C_ERROR; /* no digits */
        if (c == ';')
            return C_NAME_START;
        return c == '\r' ? C_SIZE_LF : is_ws(c) ? C_WS_SEMI : C_ERROR;
    case C_WS_SEMI:
        return c == ';' ? C_NAME_START : is_ws(c) ? C_WS_SEMI : C_ERROR;
    case C_NAME_START:
        return http_is_tchar(c) ? C_NAME : is_ws(c) ? C_NAME_START : C_ERROR;
    case C_NAME:
        if (http_is_tchar(c))
            return C_NAME;
        if (c == ';')
            return C_NAME_START;
        if (c == '=')
            return C_VALUE_START;
        return c == '\r' ? C_SIZE_LF : is_ws(c) ? C_NAME_WS : C_ERROR;
    case C_NAME_WS:
        if (c == '=')
            return C_VALUE_START;
        return c == ';' ? C_NAME_START : is_ws(c) ? C_NAME_WS : C_ERROR;
    case C_VALUE_START:
        if (c == '"')
            return C_QUOTED;
        return http_is_tchar(c) ? C_TOKEN : is_ws(c) ? C_VALUE_START : C_ERROR;
    case C_TOKEN:
        if (http_is_tchar(c))
            return C_TOKEN;
        if (c == ';')
            return C_NAME_START;
        return c == '\r' ? C_SIZE_LF : is_ws(c) ? C_WS_SEMI : C_ERROR;
    case C_QUOTED:
        if (c == '"')
            return C_QUOTED_END;
        if (c == '\\')
            return C_QUOTED_ESC;
        return is_qdtext(c) ? C_QUOTED : C_ERROR;
    case C_QUOTED_ESC:
        return is_qdtext(c) ? C_QUOTED : C_ERROR;
    case C_QUOTED_END:
        if (c == ';')
            return C_NAME_START;
        return c == '\r' ? C_SIZE_LF : is_ws(c) ? C_WS_SEMI : C_ERROR;
    default:
        return C_ERROR;
    }
}

/* Next state of the trailer section for byte <c>, or C_ERROR. */
static int trailer_step(struct http_body_state *st, unsigned char c)
{
    int s = st->_state;

    if (s == C_TRAILER && c == '\r')
        return C_END_LF;
    if (++st->_trailers > TRAILER_MAX)
        return C_ERROR;
    switch (s) {
    case C_TRAILER:
        return http_is_tchar(c) ? C_TRAILER_NAME : C_ERROR; /* obs-fold, bare LF, empty name */
    case C_TRAILER_NAME:
        if (c == ':')
            return C_TRAILER_VALUE;
        return http_is_tchar(c) ? C_TRAILER_NAME : C_ERROR;
    case C_TRAILER_VALUE:
        if (c == '\r')
            return C_TRAILER_LF;
        return http_is_field_byte(c) ? C_TRAILER_VALUE : C_ERROR;
    case C_TRAILER_LF:
        return c == '\n' ? C_TRAILER : C_ERROR;
    default:
        return C_ERROR;
    }
}

static long feed_chunked(struct http_body_state *st, const char *buf, size_t len,
                         http_body_data_cb cb, void *arg)
{
    size_t pos = 0;

    while (pos < len && st->_state != C_DONE) {
        unsigned char c = (unsigned char)buf[pos];
        int next;

        switch (st->_state) {
        case C_DATA: {
            size_t n = len - pos;
            if ((uint64_t)n > st->remaining)
                n = (size_t)st->remaining;
            if (cb != NULL)
                cb(arg, buf + pos, n);
            st->remaining -= n;
            pos += n;
            if (st->remaining == 0)
                st->_state = C_DATA_CR;
            continue;
        }
        case C_SIZE_LF:
            if (c != '\n')
                next = C_ERROR;
            else if (st->remaining == 0)
                next = C_TRAILER;
            else
                next = C_DATA;
            break;
        case C_DATA_CR:
            next = c == '\r' ? C_DATA_LF : C_ERROR;
            break;
        case C_DATA_LF:
            next = c == '\n' ? C_SIZE : C_ERROR;
            st->_line = 0;
            break;
        case C_END_LF:
            next = c == '\n' ? C_DONE : C_ERROR;
            break;
        case C_TRAILER:
        case C_TRAILER_NAME:
        case C_TRAILER_VALUE:
        case C_TRAILER_LF:
            next = trailer_step(st, c);
            break;
        case C_ERROR:
            return -1;
        default:
            next = size_line_step(st, c);
            break;
        }
        if (next == C_ERROR) {
            st->_state = C_ERROR;
            return -1;
        }
        st->_state = next;
        pos++;
    }
    if (st->_state == C_ERROR)
        return -1;
    if (st->_state == C_DONE)
        st->done = 1;
    return (long)pos;
}

long http_body_feed(struct http_body_state *st, const char *buf, size_t len, http_body_data_cb cb,
                    void *arg)
{
    if (len > (size_t)LONG_MAX)
        len = (size_t)LONG_MAX; /* the rest comes in the next call */
    if (st->done)
        return 0;

    switch (st->kind) {
    case HTTP_BODY_LENGTH: {
        size_t n = len;
        if ((uint64_t)n > st->remaining)
            n = (size_t)st->remaining;
        if (n > 0 && cb != NULL)
            cb(arg, buf, n);
        st->remaining -= n;
        st->done = st->remaining == 0;
        return (long)n;
    }
    case HTTP_BODY_CHUNKED:
        return feed_chunked(st, buf, len, cb, arg);
    case HTTP_BODY_UNTIL_EOF:
        if (len > 0 && cb != NULL)
            cb(arg, buf, len);
        return (long)len;
    default:
        return -1;
    }
}

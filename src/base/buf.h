/* A byte buffer born with its limit (CONVENTIONS habit 6). */
#ifndef CERTGATE_BASE_BUF_H
#define CERTGATE_BASE_BUF_H

#include <stddef.h>

struct buf {
    char *data;
    size_t len; /* bytes held */
    size_t cap; /* bytes allocated */
    size_t max; /* never grows past this */
};

/* Start empty with limit <max>; nothing is allocated until the first append. */
void buf_init(struct buf *b, size_t max);
/* Free the storage; <b> is left empty and reusable. */
void buf_free(struct buf *b);
/* Append <len> bytes. Returns 0, or -1 if that would pass b->max or
 * allocation failed (then nothing was appended). */
int buf_append(struct buf *b, const void *data, size_t len);
/* Append a NUL-terminated string. */
int buf_puts(struct buf *b, const char *s);
/* printf-style append; -1 on limit or error. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Make room for at least <want> more bytes (capped by max); returns the
 * number of bytes free at b->data + b->len. */
size_t buf_reserve(struct buf *b, size_t want);
/* Drop the first <n> bytes. */
void buf_consume(struct buf *b, size_t n);
/* Append <s>/<len> as a JSON string body (no quotes added), escaping
 * quote, backslash and every byte < 0x20 or 0x7F. */
int buf_json_escape(struct buf *b, const char *s, size_t len);

#endif

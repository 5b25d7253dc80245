/* libyaml's event stream -> struct yt_node tree with 1-based line/column marks. */
#include "config/yaml_tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct anchor {
    char *name;
    struct yt_node *node;
};

struct frame {
    struct yt_node *node;
    struct yt_node *key; /* YT_MAP: a key waiting for its value */
    char *anchor;        /* registered when the node is complete, so no cycles */
};

struct builder {
    struct yt_doc *doc;
    struct yt_error *err;
    struct frame *stack;
    size_t depth, stack_cap;
    struct anchor *anchors;
    size_t n_anchors, anchors_cap;
    int documents;
};

static int fail(struct builder *b, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct builder *b, int line, int col, const char *fmt, ...)
{
    va_list ap;

    b->err->line = line;
    b->err->col = col;
    va_start(ap, fmt);
    vsnprintf(b->err->msg, sizeof(b->err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *p;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 4;
    while (ncap < need)
        ncap *= 2;
    p = realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static struct yt_node *node_new(struct builder *b, enum yt_type type, yaml_mark_t mark)
{
    struct yt_node *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    n->type = type;
    n->line = (int)mark.line + 1;
    n->col = (int)mark.column + 1;
    n->_weight = 1;
    n->_next = b->doc->_all;
    b->doc->_all = n;
    return n;
}

static int anchor_add(struct builder *b, const char *name, struct yt_node *node)
{
    struct anchor *a;

    if (grow((void **)&b->anchors, &b->anchors_cap, b->n_anchors + 1, sizeof(*b->anchors)))
        return fail(b, node->line, node->col, "out of memory");
    a = &b->anchors[b->n_anchors];
    a->name = strdup(name);
    if (!a->name)
        return fail(b, node->line, node->col, "out of memory");
    a->node = node;
    b->n_anchors++;
    return 0;
}

static struct yt_node *anchor_find(struct builder *b, const char *name)
{
    /* the latest definition wins, as YAML says */
    for (size_t i = b->n_anchors; i > 0; i--)
        if (strcmp(b->anchors[i - 1].name, name) == 0)
            return b->anchors[i - 1].node;
    return NULL;
}

/* Attach a complete node to the open container (or make it the root).
 * <line>/<col> is where it was written: an alias's own place, not its anchor's. */
static int attach(struct builder *b, struct yt_node *n, int line, int col)
{
    struct frame *f;
    struct yt_node *p;

    if (b->depth == 0) {
        b->doc->root = n;
        return 0;
    }
    f = &b->stack[b->depth - 1];
    p = f->node;
    p->_weight += n->_weight;
    if (p->_weight > YT_MAX_NODES)
        return fail(b, line, col,
                    "document too large: more than %d nodes once aliases are expanded",
                    YT_MAX_NODES);
    if (p->type == YT_SEQ) {
        if (grow((void **)&p->items, &p->_cap, p->n + 1, sizeof(*p->items)))
            return fail(b, n->line, n->col, "out of memory");
        p->items[p->n++] = n;
        return 0;
    }
    if (!f->key) {
        if (n->type != YT_SCALAR)
            return fail(b, line, col, "mapping keys must be strings");
        for (size_t i = 0; i < p->n; i++)
            if (strcmp(p->pairs[i].key->str, n->str) == 0)
                return fail(b, line, col, "duplicate key '%s' (first at line %d)", n->str,
                            p->pairs[i].key->line);
        f->key = n;
        return 0;
    }
    if (grow((void **)&p->pairs, &p->_cap, p->n + 1, sizeof(*p->pairs)))
        return fail(b, n->line, n->col, "out of memory");
    p->pairs[p->n].key = f->key;
    p->pairs[p->n].val = n;
    p->n++;
    f->key = NULL;
    return 0;
}

static int open_container(struct builder *b, enum yt_type type, yaml_mark_t mark,
                          const yaml_char_t *anchor)
{
    struct yt_node *n = node_new(b, type, mark);
    struct frame *f;

    if (!n)
        return fail(b, (int)mark.line + 1, (int)mark.column + 1, "out of memory");
    if (grow((void **)&b->stack, &b->stack_cap, b->depth + 1, sizeof(*b->stack)))
        return fail(b, n->line, n->col, "out of memory");
    f = &b->stack[b->depth++];
    f->node = n;
    f->key = NULL;
    f->anchor = NULL;
    if (anchor) {
        f->anchor = strdup((const char *)anchor);
        if (!f->anchor)
            return fail(b, n->line, n->col, "out of memory");
    }
    return 0;
}

static int close_container(struct builder *b)
{
    struct frame f = b->stack[--b->depth];
    int rc = 0;

    if (f.anchor)
        rc = anchor_add(b, f.anchor, f.node);
    free(f.anchor);
    return rc ? rc : attach(b, f.node, f.node->line, f.node->col);
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
    struct yt_node *n = node_new(b, YT_SCALAR, ev->start_mark);
    size_t len = ev->data.scalar.length;

    if (!n)
        return fail(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                    "out of memory");
    if (memchr(ev->data.scalar.value, '\0', len))
        return fail(b, n->line, n->col, "NUL bytes are not allowed in strings");
    n->str = malloc(len + 1);
    if (!n->str)
        return fail(b, n->line, n->col, "out of memory");
    memcpy(n->str, ev->data.scalar.value, len);
    n->str[len] = '\0';
    n->len = len;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
    if (ev->data.scalar.anchor && anchor_add(b, (const char *)ev->data.scalar.anchor, n))
        return -1;
    return attach(b, n, n->line, n->col);
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    struct yt_node *n;

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->documents > 1)
            return fail(b, line, col, "only one YAML document is allowed");
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return open_container(b, YT_SEQ, ev->start_mark, ev->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return open_container(b, YT_MAP, ev->start_mark, ev->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return close_container(b);
    case YAML_ALIAS_EVENT:
        n = anchor_find(b, (const char *)ev->data.alias.anchor);
        if (!n)
            return fail(b, line, col, "undefined alias '*%s'", ev->data.alias.anchor);
        return attach(b, n, line, col);
    default:
        return 0;
    }
}

/* Reader errors carry a byte offset rather than a mark. */
static void offset_to_mark(const char *text, size_t len, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int parser_fail(struct builder *b, const yaml_parser_t *p, const char *text, size_t len)
{
    int line, col;

    if (p->error == YAML_READER_ERROR) {
        offset_to_mark(text, len, p->problem_offset, &line, &col);
        return fail(b, line, col, "YAML syntax error: %s", p->problem ? p->problem : "bad input");
    }
    if (p->error == YAML_MEMORY_ERROR)
        return fail(b, 1, 1, "out of memory");
    line = (int)p->problem_mark.line + 1;
    col = (int)p->problem_mark.column + 1;
    if (p->context)
        return fail(b, line, col, "YAML syntax error: %s (%s at line %d)",
                    p->problem ? p->problem : "unexpected input", p->context,
                    (int)p->context_mark.line + 1);
    return fail(b, line, col, "YAML syntax error: %s", p->problem ? p->problem : "bad input");
}

int yt_parse(const char *text, size_t len, struct yt_doc *doc, struct yt_error *err)
{
    struct builder b = {.doc = doc, .err = err};
    yaml_parser_t parser;
    yaml_event_t ev;
    int rc = 0, done = 0;

    doc->root = NULL;
    doc->_all = NULL;
    if (!yaml_parser_initialize(&parser))
        return fail(&b, 1, 1, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && rc == 0) {
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = parser_fail(&b, &parser, text, len);
            break;
        }
        rc = on_event(&b, &ev);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    for (size_t i = 0; i < b.depth; i++)
        free(b.stack[i].anchor);
    free(b.stack);
    for (size_t i = 0; i < b.n_anchors; i++)
        free(b.anchors[i].name);
    free(b.anchors);
    if (rc)
        yt_free(doc);
    return rc;
}

void yt_free(struct yt_doc *doc)
{
    struct yt_node *n = doc->_all, *next;

    for (; n; n = next) {
        next = n->_next;
        free(n->str);
        free(n->items);
        free(n->pairs);
        free(n);
    }
    doc->_all = NULL;
    doc->root = NULL;
}

const struct yt_node *yt_map_get(const struct yt_node *map, const char *key)
{
    if (!map || map->type != YT_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->pairs[i].key->str, key) == 0)
            return map->pairs[i].val;
    return NULL;
}

const struct yt_node *yt_map_key(const struct yt_node *map, const char *key)
{
    if (!map || map->type != YT_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->pairs[i].key->str, key) == 0)
            return map->pairs[i].key;
    return NULL;
}

int yt_is_null(const struct yt_node *n)
{
    if (!n || n->type != YT_SCALAR || !n->plain)
        return 0;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

/* A YAML document as a small tree whose nodes remember where they were
 * written, so that config errors can say file:line:column. */
#ifndef CERTGATE_CONFIG_YAML_TREE_H
#define CERTGATE_CONFIG_YAML_TREE_H

#include <stddef.h>

enum yt_type { YT_SCALAR = 0, YT_SEQ, YT_MAP };

struct yt_pair;

struct yt_node {
    enum yt_type type;
    int line, col;          /* 1-based, where the node starts */
    char *str;              /* YT_SCALAR: the text, NUL-terminated (NUL bytes are refused) */
    size_t len;             /* strlen(str) */
    int plain;              /* unquoted and untagged: null/true/false are keywords */
    struct yt_node **items; /* YT_SEQ, in document order */
    struct yt_pair *pairs;  /* YT_MAP, in document order; keys are unique scalars */
    size_t n;               /* number of items or pairs */
    size_t _cap;
    size_t _weight;        /* nodes below, aliases expanded: refuses alias bombs */
    struct yt_node *_next; /* every node of the document, for freeing */
};

struct yt_pair {
    struct yt_node *key, *val;
};

/* One document. An alias is the very node its anchor names (shared, not copied). */
struct yt_doc {
    struct yt_node *root; /* NULL for an empty document */
    struct yt_node *_all;
};

struct yt_error {
    int line, col; /* 1-based */
    char msg[400];
};

/* Largest document accepted, in nodes after expanding aliases. */
#define YT_MAX_NODES 100000

/* Parse <len> bytes of <text> (exactly one YAML document, or none). Returns 0
 * with <doc> filled (free with yt_free), or -1 with <err> set and <doc> empty.
 * Duplicate keys, non-scalar keys and undefined aliases are errors. */
int yt_parse(const char *text, size_t len, struct yt_doc *doc, struct yt_error *err);

/* Free every node of <doc>; <doc> is left empty. */
void yt_free(struct yt_doc *doc);

/* The value of <key> in <map>, or NULL (also when <map> is NULL or not a map). */
const struct yt_node *yt_map_get(const struct yt_node *map, const char *key);

/* The key node of <key> in <map>, or NULL. */
const struct yt_node *yt_map_key(const struct yt_node *map, const char *key);

/* 1 for a plain empty, "~" or "null"/"Null"/"NULL" scalar. */
int yt_is_null(const struct yt_node *n);

#endif

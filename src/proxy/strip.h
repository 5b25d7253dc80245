/* Anti-spoofing (SPEC §5): remove every header certgate could set. */
#ifndef CERTGATE_PROXY_STRIP_H
#define CERTGATE_PROXY_STRIP_H

#include <stddef.h>
#include "http/http_types.h"
#include "config/config_types.h"

/* Names to strip, normalized: lowercase, '_' turned into '-'. */
struct strip_set {
    char **names;
    size_t n;
};

/* Build the set for <l>: its forward header names (and Client-Cert-Chain
 * for rfc9440 with chain), every identity header name it has on, and the
 * well-known names of SPEC §5. Returns 0, -1 on allocation failure. */
int strip_set_init(struct strip_set *s, const struct cfg_listener *l);
void strip_set_free(struct strip_set *s);

/* Compare a raw header name with a normalized one: case-insensitive, with
 * '_' and '-' equal. */
int strip_name_match(const char *name, size_t len, const char *normalized);

/* Mark (h->removed = 1) every header of <hdrs> whose name is in <s>.
 * Returns how many were marked. */
size_t strip_apply(const struct strip_set *s, struct http_header *hdrs, size_t n);

#endif

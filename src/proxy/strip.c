/* Anti-spoofing (SPEC §5): no request reaches routing carrying a header certgate could set. */
#include <stdlib.h>
#include <string.h>

#include "proxy/strip.h"

/* Headers some gateway or proxy uses for a client certificate, stripped on every listener. */
static const char *const well_known[] = {
    "X-ARR-ClientCert",
    "X-Client-Cert",
    "X-Client-Certificate",
    "X-SSL-Client-Cert",
    "Client-Cert",
    "Client-Cert-Chain",
    "X-Forwarded-Client-Cert",
    "X-Forwarded-Tls-Client-Cert",
    "X-Forwarded-Tls-Client-Cert-Info",
    /* the default identity names go even when renamed or off: a backend
     * may still read them by their usual names */
    "X-Client-Cert-Verify",
    "X-Client-Cert-Subject",
    "X-Client-Cert-Issuer",
    "X-Client-Cert-Serial",
    "X-Client-Cert-SHA1",
    "X-Client-Cert-SHA256",
    "X-Client-Cert-Not-Before",
    "X-Client-Cert-Not-After",
};

static char norm_char(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c - 'A' + 'a');
    return c == '_' ? '-' : c;
}

int strip_name_match(const char *name, size_t len, const char *normalized)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (normalized[i] == '\0' || norm_char(name[i]) != norm_char(normalized[i]))
            return 0;
    }
    return normalized[len] == '\0';
}

/* Add <name> (with <suffix> appended) normalized, unless empty or already present.
 * Returns 0, -1 on allocation failure. */
static int set_add(struct strip_set *s, size_t *cap, const char *name, const char *suffix)
{
    size_t len, slen, i;
    char *norm;

    if (name == NULL || name[0] == '\0')
        return 0;
    len = strlen(name);
    slen = strlen(suffix);
    norm = malloc(len + slen + 1);
    if (norm == NULL)
        return -1;
    for (i = 0; i < len; i++)
        norm[i] = norm_char(name[i]);
    for (i = 0; i < slen; i++)
        norm[len + i] = norm_char(suffix[i]);
    norm[len + slen] = '\0';
    for (i = 0; i < s->n; i++) {
        if (strcmp(s->names[i], norm) == 0) {
            free(norm);
            return 0;
        }
    }
    if (s->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        char **grown = realloc(s->names, ncap * sizeof(*grown));
        if (grown == NULL) {
            free(norm);
            return -1;
        }
        s->names = grown;
        *cap = ncap;
    }
    s->names[s->n++] = norm;
    return 0;
}

int strip_set_init(struct strip_set *s, const struct cfg_listener *l)
{
    size_t cap = 0, i;
    int rc = 0;

    s->names = NULL;
    s->n = 0;
    for (i = 0; i < sizeof(well_known) / sizeof(well_known[0]); i++)
        rc |= set_add(s, &cap, well_known[i], "");
    if (l != NULL) {
        const struct cfg_forward *f = &l->forward;
        const struct cfg_identity_headers *id = &f->identity;

        for (i = 0; i < f->n_headers; i++) {
            rc |= set_add(s, &cap, f->headers[i].name, "");
            /* A renamed rfc9440 header may carry its chain as "<name>-Chain". */
            if (f->headers[i].format == FWD_RFC9440 && f->headers[i].chain)
                rc |= set_add(s, &cap, f->headers[i].name, "-Chain");
        }
        rc |= set_add(s, &cap, id->verify, "");
        rc |= set_add(s, &cap, id->subject, "");
        rc |= set_add(s, &cap, id->issuer, "");
        rc |= set_add(s, &cap, id->serial, "");
        rc |= set_add(s, &cap, id->sha1, "");
        rc |= set_add(s, &cap, id->sha256, "");
        rc |= set_add(s, &cap, id->not_before, "");
        rc |= set_add(s, &cap, id->not_after, "");
        /* the header a trusted gateway forwards: read first, then stripped too */
        if (l->client_cert.from_header)
            rc |= set_add(s, &cap, l->client_cert.header, "");
    }
    if (rc != 0) {
        strip_set_free(s);
        return -1;
    }
    return 0;
}

void strip_set_free(struct strip_set *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
    s->names = NULL;
    s->n = 0;
}

size_t strip_apply(const struct strip_set *s, struct http_header *hdrs, size_t n)
{
    size_t marked = 0, i, j;

    for (i = 0; i < n; i++) {
        if (hdrs[i].removed)
            continue;
        for (j = 0; j < s->n; j++) {
            if (strip_name_match(hdrs[i].name, hdrs[i].name_len, s->names[j])) {
                hdrs[i].removed = 1;
                marked++;
                break;
            }
        }
    }
    return marked;
}

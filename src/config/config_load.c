/* YAML file -> struct config: the key-table walker, generic value handlers,
 * and the top-level sections other than listeners (config_listener.c),
 * policies (config_policy.c) and backends (config_backend.c). */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_internal.h"
#include "tls/tls_keys.h"

int ld_error(struct loader *ld, const struct yt_node *at, const char *fmt, ...)
{
    size_t size = sizeof(ld->err->msg);
    va_list ap;
    int off;

    if (ld->failed)
        return -1;
    ld->failed = 1;
    off = snprintf(ld->err->msg, size, "%s:%d:%d: ", ld->file, at ? at->line : 1, at ? at->col : 1);
    if (off < 0 || (size_t)off >= size)
        return -1;
    va_start(ap, fmt);
    vsnprintf(ld->err->msg + off, size - (size_t)off, fmt, ap);
    va_end(ap);
    return -1;
}

const char *ld_describe(const struct yt_node *n, char *buf, size_t size)
{
    if (n->type == YT_MAP)
        return "a mapping";
    if (n->type == YT_SEQ)
        return "a list";
    if (yt_is_null(n))
        return "null";
    if (n->len > 40)
        snprintf(buf, size, "'%.37s...'", n->str);
    else
        snprintf(buf, size, "'%s'", n->str);
    return buf;
}

int ld_expect(struct loader *ld, const struct yt_node *n, enum yt_type type, const char *what)
{
    static const char *const names[] = {"a string", "a list", "a mapping"};
    char buf[64];

    if (n->type == type && !yt_is_null(n))
        return 0;
    return ld_error(ld, n, "expected %s for %s, got %s", names[type], what,
                    ld_describe(n, buf, sizeof(buf)));
}

int ld_scalar(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
              const char **out)
{
    char what[80];

    snprintf(what, sizeof(what), "'%s'", key->str);
    if (ld_expect(ld, val, YT_SCALAR, what))
        return -1;
    *out = val->str;
    return 0;
}

static void join_names(char *buf, size_t size, const struct rule_set *sets, size_t n_sets)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t s = 0; s < n_sets; s++)
        for (size_t i = 0; i < sets[s].n && used < size; i++) {
            int w =
                snprintf(buf + used, size - used, "%s%s", used ? ", " : "", sets[s].rules[i].name);
            used += w > 0 ? (size_t)w : 0;
        }
}

int ld_walk(struct loader *ld, const struct yt_node *map, const char *where, struct rule_set *sets,
            size_t n_sets)
{
    char valid[256];

    for (size_t p = 0; p < map->n; p++) {
        const struct yt_node *key = map->pairs[p].key;
        const struct key_rule *rule = NULL;
        size_t s;

        for (s = 0; s < n_sets && !rule; s++)
            for (size_t i = 0; i < sets[s].n && !rule; i++)
                if (strcmp(sets[s].rules[i].name, key->str) == 0)
                    rule = &sets[s].rules[i];
        if (!rule) {
            join_names(valid, sizeof(valid), sets, n_sets);
            return ld_error(ld, key, "unknown key '%s' %s (valid keys: %s)", key->str, where,
                            valid);
        }
        sets[s - 1].seen++;
        if (rule->fn(ld, key, map->pairs[p].val, sets[s - 1].obj, rule))
            return -1;
    }
    for (size_t s = 0; s < n_sets; s++)
        for (size_t i = 0; i < sets[s].n; i++)
            if (sets[s].rules[i].required && !yt_map_get(map, sets[s].rules[i].name))
                return ld_error(ld, map, "missing required key '%s' %s", sets[s].rules[i].name,
                                where);
    return 0;
}

int ld_ref(struct loader *ld, enum ref_kind kind, const struct yt_node *node, void *target)
{
    if (ld->n_refs == ld->cap_refs) {
        size_t cap = ld->cap_refs ? ld->cap_refs * 2 : 16;
        struct pending_ref *r = realloc(ld->refs, cap * sizeof(*r));
        if (!r)
            return ld_error(ld, node, "out of memory");
        ld->refs = r;
        ld->cap_refs = cap;
    }
    ld->refs[ld->n_refs].kind = kind;
    ld->refs[ld->n_refs].node = node;
    ld->refs[ld->n_refs].target = target;
    ld->n_refs++;
    return 0;
}

void ld_pos(struct loader *ld, struct cfg_pos *pos, const struct yt_node *n)
{
    pos->file = ld->cfg->path;
    pos->line = n->line;
    pos->col = n->col;
}

int ld_str(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
           const struct key_rule *r)
{
    const char *s;
    char **dst = LD_FIELD(obj, r, char *);

    if (ld_scalar(ld, key, val, &s))
        return -1;
    if (!*s)
        return ld_error(ld, val, "'%s' must not be empty", key->str);
    free(*dst);
    *dst = strdup(s);
    return *dst ? 0 : ld_error(ld, val, "out of memory");
}

int ld_path(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
            const struct key_rule *r)
{
    char **dst = LD_FIELD(obj, r, char *);

    if (ld_str(ld, key, val, obj, r))
        return -1;
    free(*dst);
    *dst = cfg_abspath(ld->cfg->dir, val->str);
    return *dst ? 0 : ld_error(ld, val, "out of memory");
}

int ld_duration(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                const struct key_rule *r)
{
    const char *s;
    uint64_t ms;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    if (config_parse_duration(s, &ms))
        return ld_error(ld, val,
                        "invalid duration '%s' for '%s': use a number and a unit, as 500ms, "
                        "30s, 5m or 1h",
                        s, key->str);
    if (ms == 0)
        return ld_error(ld, val, "'%s' must be greater than 0", key->str);
    *LD_FIELD(obj, r, uint64_t) = ms;
    return 0;
}

int ld_size(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
            const struct key_rule *r)
{
    const char *s;
    size_t v;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    if (config_parse_size(s, &v))
        return ld_error(ld, val,
                        "invalid size '%s' for '%s': use bytes or a binary unit, as 4096, 16k, "
                        "32KiB or 1MiB",
                        s, key->str);
    if (v == 0)
        return ld_error(ld, val, "'%s' must be greater than 0", key->str);
    *LD_FIELD(obj, r, size_t) = v;
    return 0;
}

int ld_whole(struct loader *ld, const struct yt_node *key, const struct yt_node *val, long lo,
             long hi, long *out)
{
    char buf[64], *end;
    long v;

    if (val->type == YT_SCALAR && val->str[0] >= '0' && val->str[0] <= '9') {
        v = strtol(val->str, &end, 10);
        if (*end == '\0' && v >= lo && v <= hi) {
            *out = v;
            return 0;
        }
    }
    return ld_error(ld, val, "expected a whole number from %ld to %ld for '%s', got %s", lo, hi,
                    key->str, ld_describe(val, buf, sizeof(buf)));
}

int ld_count(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
             const struct key_rule *r)
{
    long v = 0;

    if (ld_whole(ld, key, val, 1, INT_MAX, &v))
        return -1;
    *LD_FIELD(obj, r, size_t) = (size_t)v;
    return 0;
}

int ld_bool(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
            const struct key_rule *r)
{
    char buf[64];

    /* YAML 1.1's yes/no/on/off are refused: true and false only */
    if (val->type == YT_SCALAR && val->plain &&
        (strcmp(val->str, "true") == 0 || strcmp(val->str, "false") == 0)) {
        *LD_FIELD(obj, r, int) = val->str[0] == 't';
        return 0;
    }
    return ld_error(ld, val, "expected true or false for '%s', got %s", key->str,
                    ld_describe(val, buf, sizeof(buf)));
}

int ld_enum(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
            const struct key_rule *r)
{
    char valid[160];
    size_t used = 0;
    const char *s;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    for (const struct enum_val *e = r->enums; e->name; e++) {
        if (strcmp(e->name, s) == 0) {
            if (r->off != NO_FIELD)
                *LD_FIELD(obj, r, int) = e->value;
            return 0;
        }
        if (used < sizeof(valid)) {
            int w = snprintf(valid + used, sizeof(valid) - used, "%s%s", used ? ", " : "", e->name);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    return ld_error(ld, val, "invalid value '%s' for '%s' (valid: %s)", s, key->str,
                    used ? valid : "");
}

int ld_map(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
           const struct key_rule *r)
{
    struct rule_set set = {r->sub, r->n_sub, (char *)obj + r->off, 0};
    char what[80], where[80];

    snprintf(what, sizeof(what), "'%s'", key->str);
    snprintf(where, sizeof(where), "in '%s'", key->str);
    if (ld_expect(ld, val, YT_MAP, what))
        return -1;
    return ld_walk(ld, val, where, &set, 1);
}

static int one_file(struct loader *ld, const struct yt_node *key, const struct yt_node *item,
                    char **dst, int (*check)(const char *, const char *, char *, size_t))
{
    char msg[sizeof(ld->err->msg)], what[80];

    snprintf(what, sizeof(what), "an entry of '%s'", key->str);
    if (ld_expect(ld, item, YT_SCALAR, what))
        return -1;
    if (!item->str[0])
        return ld_error(ld, item, "'%s' must not name an empty path", key->str);
    *dst = cfg_abspath(ld->cfg->dir, item->str);
    if (!*dst)
        return ld_error(ld, item, "out of memory");
    if (check(*dst, item->str, msg, sizeof(msg)))
        return ld_error(ld, item, "%s", msg);
    return 0;
}

/* A file name or a list of them, each checked by <check>. */
static int ld_files(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                    void *obj, const struct key_rule *r,
                    int (*check)(const char *, const char *, char *, size_t))
{
    char ***dst = LD_FIELD(obj, r, char **);
    size_t *n = (size_t *)((char *)obj + r->off_n);
    size_t count = val->type == YT_SEQ ? val->n : 1;

    char buf[64];

    if (val->type == YT_MAP || yt_is_null(val))
        return ld_error(ld, val, "expected a file name or a list of file names for '%s', got %s",
                        key->str, ld_describe(val, buf, sizeof(buf)));
    if (count == 0)
        return ld_error(ld, val, "'%s' must name at least one file", key->str);
    *dst = calloc(count, sizeof(**dst));
    if (!*dst)
        return ld_error(ld, val, "out of memory");
    *n = count;
    for (size_t i = 0; i < count; i++)
        if (one_file(ld, key, val->type == YT_SEQ ? val->items[i] : val, &(*dst)[i], check))
            return -1;
    return 0;
}

int ld_cert_files(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                  void *obj, const struct key_rule *r)
{
    return ld_files(ld, key, val, obj, r, cfg_check_cert_file);
}

int ld_crl_files(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                 const struct key_rule *r)
{
    return ld_files(ld, key, val, obj, r, cfg_check_crl_file);
}

/* ---- admin, log, workers ---- */

static int h_admin_address(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                           void *obj, const struct key_rule *r)
{
    struct cfg_admin *a = obj;
    const char *s, *why;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    if (cfg_parse_address_why(s, &a->host, &a->port, &why))
        return ld_error(ld, val, "invalid address '%s': %s", s, why);
    a->address = strdup(s);
    return a->address ? 0 : ld_error(ld, val, "out of memory");
}

static const struct key_rule admin_rules[] = {
    {"address", h_admin_address, 0, 0, 1, NULL, NULL, 0},
};

static const struct enum_val log_format_names[] = {{"json", 0}, {NULL, 0}};
static const struct enum_val log_levels[] = {
    {"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN}, {"error", LOG_ERROR}, {NULL, 0}};

/* access: stdout | off | PATH; errors: stderr | PATH. A path is a file opened for appending. */
static int h_log_target(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                        void *obj, const struct key_rule *r)
{
    struct cfg_log *lg = obj;
    int access = strcmp(key->str, "access") == 0;
    char **dst = access ? &lg->access_path : &lg->errors_path;
    const char *s;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    free(*dst);
    *dst = NULL;
    if (access && strcmp(s, "off") == 0) {
        lg->access = 0;
        return 0;
    }
    if (access)
        lg->access = 1;
    if (strcmp(s, access ? "stdout" : "stderr") == 0)
        return 0;
    if (!*s || strchr("/.", *s) == NULL)
        return ld_error(ld, val, "'%s' is %s, or a file path ('./%s' for a relative one)", key->str,
                        access ? "'stdout', or 'off'" : "'stderr'", s);
    *dst = cfg_abspath(ld->cfg->dir, strncmp(s, "./", 2) == 0 ? s + 2 : s);
    return *dst ? 0 : ld_error(ld, val, "out of memory");
}

static const struct key_rule log_rules[] = {
    {"access", h_log_target, 0, 0, 0, NULL, NULL, 0},
    {"errors", h_log_target, 0, 0, 0, NULL, NULL, 0},
    {"level", ld_enum, offsetof(struct cfg_log, level), 0, 0, log_levels, NULL, 0},
    {"format", ld_enum, NO_FIELD, 0, 0, log_format_names, NULL, 0},
};

static const struct key_rule reload_rules[] = {
    {"watch", ld_bool, offsetof(struct config, reload_watch), 0, 0, NULL, NULL, 0},
};

static int h_ticket_keys(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                         void *obj, const struct key_rule *r)
{
    struct config *cfg = obj;
    unsigned char keys[TLS_KEYS_MAX][TLS_KEY_LEN];
    size_t n = 0;
    char msg[400];

    if (ld_path(ld, key, val, obj, r))
        return -1;
    if (tls_keys_read(cfg->ticket_keys, keys, &n, msg, sizeof(msg)) < 0)
        return ld_error(ld, val, "%s", msg);
    OPENSSL_cleanse(keys, sizeof(keys));
    return 0;
}

static int h_workers(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                     void *obj, const struct key_rule *r)
{
    long v = 0;

    if (ld_whole(ld, key, val, 1, CFG_MAX_WORKERS, &v))
        return -1;
    ((struct config *)obj)->workers = (int)v;
    return 0;
}

static const struct key_rule top_rules[] = {
    {"listeners", ld_listeners, 0, 0, 1, NULL, NULL, 0},
    {"policies", ld_policies, 0, 0, 0, NULL, NULL, 0},
    {"backends", ld_backends, 0, 0, 0, NULL, NULL, 0},
    {"admin", ld_map, offsetof(struct config, admin), 0, 0, NULL, admin_rules,
     N_RULES(admin_rules)},
    {"log", ld_map, offsetof(struct config, log), 0, 0, NULL, log_rules, N_RULES(log_rules)},
    {"workers", h_workers, 0, 0, 0, NULL, NULL, 0},
    {"drain_timeout", ld_duration, offsetof(struct config, drain_timeout_ms), 0, 0, NULL, NULL, 0},
    {"reload", ld_map, 0, 0, 0, NULL, reload_rules, N_RULES(reload_rules)},
    {"ticket_keys", h_ticket_keys, offsetof(struct config, ticket_keys), 0, 0, NULL, NULL, 0},
};

/* ---- references, resolved once every section is read ---- */

static void list_names(char *buf, size_t size, const char *kind, size_t n, const void *arr,
                       size_t stride, size_t name_off)
{
    size_t used;

    if (n == 0) {
        snprintf(buf, size, "no %s are defined", kind);
        return;
    }
    used = (size_t)snprintf(buf, size, "defined %s: ", kind);
    for (size_t i = 0; i < n && used < size; i++) {
        const char *name = *(char *const *)((const char *)arr + i * stride + name_off);
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", name);
        used += w > 0 ? (size_t)w : 0;
    }
}

static struct cfg_policy *find_policy(struct loader *ld, const struct yt_node *name)
{
    struct config *cfg = ld->cfg;
    char names[256];

    for (size_t i = 0; i < cfg->n_policies; i++)
        if (strcmp(cfg->policies[i].name, name->str) == 0)
            return &cfg->policies[i];
    list_names(names, sizeof(names), "policies", cfg->n_policies, cfg->policies,
               sizeof(*cfg->policies), offsetof(struct cfg_policy, name));
    ld_error(ld, name, "undefined policy '%s' (%s)", name->str, names);
    return NULL;
}

/* A route without 'backend': "default", else the first, else a builtin echo. */
static struct cfg_backend *default_backend(struct loader *ld)
{
    struct config *cfg = ld->cfg;
    struct cfg_backend *b;

    for (size_t i = 0; i < cfg->n_backends; i++)
        if (strcmp(cfg->backends[i].name, "default") == 0)
            return &cfg->backends[i];
    if (cfg->n_backends)
        return &cfg->backends[0];
    if (!cfg->backends)
        cfg->backends = calloc(1, sizeof(*cfg->backends));
    if (!cfg->backends)
        return NULL;
    b = &cfg->backends[0];
    cfg_backend_defaults(b);
    b->name = strdup("echo");
    b->builtin_echo = 1;
    cfg->n_backends = 1;
    return b->name ? b : NULL;
}

static struct cfg_backend *find_backend(struct loader *ld, const struct yt_node *name)
{
    struct config *cfg = ld->cfg;
    char names[256];

    if (!name) {
        struct cfg_backend *b = default_backend(ld);
        if (!b)
            ld_error(ld, NULL, "out of memory");
        return b;
    }
    for (size_t i = 0; i < cfg->n_backends; i++)
        if (strcmp(cfg->backends[i].name, name->str) == 0)
            return &cfg->backends[i];
    list_names(names, sizeof(names), "backends", cfg->n_backends, cfg->backends,
               sizeof(*cfg->backends), offsetof(struct cfg_backend, name));
    ld_error(ld, name, "undefined backend '%s' (%s)", name->str, names);
    return NULL;
}

static int resolve_refs(struct loader *ld)
{
    for (size_t i = 0; i < ld->n_refs; i++) {
        struct pending_ref *ref = &ld->refs[i];
        struct cfg_route *route = ref->target;
        struct cfg_client_auth *ca = ref->target;

        switch (ref->kind) {
        case REF_ROUTE_POLICY:
            route->policy = find_policy(ld, ref->node);
            if (!route->policy)
                return -1;
            break;
        case REF_CLIENT_AUTH_POLICY:
            ca->policy = find_policy(ld, ref->node);
            if (!ca->policy)
                return -1;
            break;
        case REF_ROUTE_BACKEND:
            route->backend = find_backend(ld, ref->node);
            if (!route->backend)
                return -1;
            break;
        }
    }
    return 0;
}

static int check_admin(struct loader *ld, const struct yt_node *root)
{
    struct config *cfg = ld->cfg;
    const struct yt_node *at = yt_map_get(yt_map_get(root, "admin"), "address");

    if (!cfg->admin.address)
        return 0;
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        struct cfg_listener *l = &cfg->listeners[i];
        if (cfg_addr_conflict(cfg->admin.host, cfg->admin.port, l->host, l->port))
            return ld_error(ld, at, "admin address '%s' conflicts with listener '%s' (%s)",
                            cfg->admin.address, l->name, l->address);
    }
    return 0;
}

/* The file's directory, absolute but with symlinks kept (a ConfigMap's
 * ..data link must not move relative paths). */
static char *dir_of(const char *path)
{
    char cwd[PATH_MAX], *abs, *slash;

    while (path[0] == '.' && path[1] == '/')
        path += 2;
    if (path[0] == '/') {
        abs = strdup(path);
    } else {
        if (!getcwd(cwd, sizeof(cwd)))
            return NULL;
        abs = cfg_abspath(cwd, path);
    }
    if (!abs)
        return NULL;
    slash = strrchr(abs, '/');
    if (slash == abs)
        slash[1] = '\0';
    else
        *slash = '\0';
    return abs;
}

static int load_root(struct loader *ld, const struct yt_node *root)
{
    struct rule_set set = {top_rules, N_RULES(top_rules), ld->cfg, 0};
    char buf[64];

    if (!root)
        return ld_error(ld, NULL, "the file is empty; expected a mapping with 'listeners'");
    if (root->type != YT_MAP)
        return ld_error(ld, root, "expected a mapping at the top level, got %s",
                        ld_describe(root, buf, sizeof(buf)));
    if (ld_walk(ld, root, "at the top level", &set, 1) || resolve_refs(ld))
        return -1;
    return check_admin(ld, root);
}

struct config *config_load(const char *path, struct cfg_error *err)
{
    struct loader ld = {.err = err, .file = path};
    struct yt_doc doc = {0};
    struct yt_error yerr;
    struct config *cfg;
    size_t len;
    char *text;
    int rc;

    err->msg[0] = '\0';
    text = cfg_read_file(path, path, &len, err->msg, sizeof(err->msg));
    if (!text)
        return NULL;
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg || !(cfg->path = strdup(path)) || !(cfg->dir = dir_of(path))) {
        snprintf(err->msg, sizeof(err->msg), "%s: out of memory", path);
        free(text);
        config_free(cfg);
        return NULL;
    }
    cfg->log.access = 1;
    cfg->log.level = LOG_INFO;
    ld.cfg = cfg;
    if (yt_parse(text, len, &doc, &yerr)) {
        snprintf(err->msg, sizeof(err->msg), "%s:%d:%d: %s", path, yerr.line, yerr.col, yerr.msg);
        rc = -1;
    } else {
        rc = load_root(&ld, doc.root);
    }
    yt_free(&doc);
    free(text);
    free(ld.refs);
    if (rc) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

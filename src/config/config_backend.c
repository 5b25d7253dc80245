/* The 'backends' section: servers and their weights, balancing, upstream TLS
 * with the gateway's client certificate, active health probes, passive
 * ejection, the connection pool and timeouts. */
#include <arpa/inet.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"

/* ld_enum writes an int */
_Static_assert(sizeof(enum cfg_balance) == sizeof(int), "enum size");

#define WEIGHT_MAX    100
#define THRESHOLD_MAX 100
#define MAX_FAILS_MAX 100
#define STATUS_LO     100
#define STATUS_HI     599

void cfg_backend_defaults(struct cfg_backend *b)
{
    b->balance = BALANCE_ROUND_ROBIN;
    b->tls.verify = 1;
    b->health.interval_ms = 5 * 1000;
    b->health.timeout_ms = 2 * 1000;
    b->health.unhealthy_threshold = 3;
    b->health.healthy_threshold = 2;
    b->health.match[0].lo = 200;
    b->health.match[0].hi = 399;
    b->health.n_match = 1;
    b->passive.max_fails = 3;
    b->passive.fail_timeout_ms = 10 * 1000;
    b->pool.max_idle = 64;
    b->pool.idle_timeout_ms = 30 * 1000;
    b->pool.max_connections = 0;
}

/* A whole number in [lo, hi] into an int or a size_t field. */
static int whole_field(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                       void *obj, const struct key_rule *r, long lo, long hi, int as_size)
{
    long v = 0;

    if (ld_whole(ld, key, val, lo, hi, &v))
        return -1;
    if (as_size)
        *LD_FIELD(obj, r, size_t) = (size_t)v;
    else
        *LD_FIELD(obj, r, int) = (int)v;
    return 0;
}

static int h_weight(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                    void *obj, const struct key_rule *r)
{
    return whole_field(ld, key, val, obj, r, 1, WEIGHT_MAX, 0);
}

static int h_threshold(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                       void *obj, const struct key_rule *r)
{
    return whole_field(ld, key, val, obj, r, 1, THRESHOLD_MAX, 0);
}

static int h_max_fails(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                       void *obj, const struct key_rule *r)
{
    return whole_field(ld, key, val, obj, r, 0, MAX_FAILS_MAX, 0);
}

static int h_pool_count(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                        void *obj, const struct key_rule *r)
{
    return whole_field(ld, key, val, obj, r, 0, INT_MAX, 1);
}

/* ---- servers ---- */

static int parse_url(struct loader *ld, const struct yt_node *val, struct cfg_server *s)
{
    const char *why;

    if (cfg_parse_url_why(val->str, &s->tls, &s->host, &s->port, &why))
        return ld_error(ld, val, "invalid server URL '%s': %s", val->str, why);
    s->url = strdup(val->str);
    return s->url ? 0 : ld_error(ld, val, "out of memory");
}

static int h_url(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                 const struct key_rule *r)
{
    const char *s;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    return parse_url(ld, val, obj);
}

static const struct key_rule server_rules[] = {
    {"url", h_url, 0, 0, 1, NULL, NULL, 0},
    {"weight", h_weight, offsetof(struct cfg_server, weight), 0, 0, NULL, NULL, 0},
};

/* The same scheme, host and port twice is a mistake; weight says "more often". */
static int check_duplicate(struct loader *ld, const struct yt_node *at, const struct cfg_backend *b,
                           size_t i)
{
    const struct cfg_server *s = &b->servers[i];

    for (size_t j = 0; j < i; j++) {
        const struct cfg_server *o = &b->servers[j];
        if (o->tls == s->tls && o->port == s->port && strcasecmp(o->host, s->host) == 0)
            return ld_error(ld, at,
                            "server '%s' is listed twice in backend '%s' (also at line %d); use "
                            "'weight' to send it more requests",
                            s->url, b->name, o->pos.line);
    }
    return 0;
}

static int h_servers(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                     void *obj, const struct key_rule *r)
{
    struct cfg_backend *b = obj;
    char buf[64];

    if (ld_expect(ld, val, YT_SEQ, "'servers'"))
        return -1;
    if (val->n == 0)
        return ld_error(ld, val, "'servers' must list at least one URL");
    b->servers = calloc(val->n, sizeof(*b->servers));
    if (!b->servers)
        return ld_error(ld, val, "out of memory");
    b->n_servers = val->n;
    for (size_t i = 0; i < val->n; i++) {
        const struct yt_node *item = val->items[i];
        struct cfg_server *s = &b->servers[i];
        struct rule_set set = {server_rules, N_RULES(server_rules), s, 0};

        s->weight = 1;
        ld_pos(ld, &s->pos, item);
        if (item->type == YT_MAP) {
            if (ld_walk(ld, item, "in a server", &set, 1))
                return -1;
        } else if (item->type != YT_SCALAR || yt_is_null(item)) {
            return ld_error(ld, item,
                            "expected a URL or a mapping {url, weight} for an entry of 'servers', "
                            "got %s",
                            ld_describe(item, buf, sizeof(buf)));
        } else if (parse_url(ld, item, s)) {
            return -1;
        }
        if (check_duplicate(ld, item, b, i))
            return -1;
    }
    return 0;
}

/* ---- tls ---- */

static const struct key_rule client_cert_rules[] = {
    {"cert", ld_path, offsetof(struct cfg_cert, cert), 0, 0, NULL, NULL, 0},
    {"key", ld_path, offsetof(struct cfg_cert, key), 0, 0, NULL, NULL, 0},
    {"pkcs12", ld_path, offsetof(struct cfg_cert, pkcs12), 0, 0, NULL, NULL, 0},
    {"password_env", ld_str, offsetof(struct cfg_cert, password_env), 0, 0, NULL, NULL, 0},
    {"password_file", ld_path, offsetof(struct cfg_cert, password_file), 0, 0, NULL, NULL, 0},
};

/* The password is kept (the TLS layer needs it for every new context); the
 * file checks are config_files.c's, as for a listener's certificates. */
static int h_client_cert(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                         void *obj, const struct key_rule *r)
{
    struct cfg_backend_tls *t = obj;
    struct rule_set set = {client_cert_rules, N_RULES(client_cert_rules), &t->client_cert, 0};

    if (ld_expect(ld, val, YT_MAP, "'client_cert'"))
        return -1;
    t->has_client_cert = 1;
    ld_pos(ld, &t->client_cert.pos, val);
    if (ld_walk(ld, val, "in 'client_cert'", &set, 1))
        return -1;
    return cfg_finish_cert(ld, val, &t->client_cert, "'client_cert'", &t->password);
}

static int h_ca(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                const struct key_rule *r)
{
    char msg[sizeof(ld->err->msg)];

    if (ld_path(ld, key, val, obj, r))
        return -1;
    if (cfg_check_cert_file(*LD_FIELD(obj, r, char *), val->str, msg, sizeof(msg)))
        return ld_error(ld, val, "%s", msg);
    return 0;
}

/* A DNS name or an IP literal (no brackets): what SNI and the name check take. */
static int h_server_name(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                         void *obj, const struct key_rule *r)
{
    unsigned char bin[16];
    const char *s;
    size_t len, ok;

    if (ld_str(ld, key, val, obj, r))
        return -1;
    s = val->str;
    len = strlen(s);
    if (inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1)
        return 0;
    ok = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._");
    if (ok != len || len > 253 || s[0] == '.')
        return ld_error(ld, val,
                        "invalid 'server_name' '%s': expected a DNS name or an IP address "
                        "(IPv6 without brackets)",
                        s);
    return 0;
}

static const struct key_rule tls_rules[] = {
    {"ca", h_ca, offsetof(struct cfg_backend_tls, ca), 0, 0, NULL, NULL, 0},
    {"server_name", h_server_name, offsetof(struct cfg_backend_tls, server_name), 0, 0, NULL, NULL,
     0},
    {"verify", ld_bool, offsetof(struct cfg_backend_tls, verify), 0, 0, NULL, NULL, 0},
    {"client_cert", h_client_cert, 0, 0, 0, NULL, NULL, 0},
};

static int h_tls(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                 const struct key_rule *r)
{
    struct cfg_backend_tls *t = &((struct cfg_backend *)obj)->tls;
    struct rule_set set = {tls_rules, N_RULES(tls_rules), t, 0};

    if (ld_expect(ld, val, YT_MAP, "'tls'"))
        return -1;
    t->set = 1;
    if (ld_walk(ld, val, "in 'tls'", &set, 1))
        return -1;
    if (!t->verify && t->ca)
        return ld_error(ld, yt_map_key(val, "ca"),
                        "'ca' has no effect with 'verify: false' (the backend's certificate is "
                        "not checked at all); remove one of them");
    return 0;
}

/* ---- health ---- */

static int h_health_path(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                         void *obj, const struct key_rule *r)
{
    if (ld_str(ld, key, val, obj, r))
        return -1;
    if (val->str[0] != '/')
        return ld_error(ld, val, "'path' must start with '/', got '%s'", val->str);
    /* it goes into a request line as written */
    for (const unsigned char *p = (const unsigned char *)val->str; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return ld_error(ld, val,
                            "'path' must not hold spaces, control characters or non-ASCII bytes "
                            "(percent-encode them)");
    return 0;
}

/* One status code at *p, 100..599; advances *p. */
static int status_code(const char **p, int *out)
{
    long v = 0;
    int digits = 0;

    while (**p >= '0' && **p <= '9' && digits < 4) {
        v = v * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    if (digits == 0 || digits > 3 || v < STATUS_LO || v > STATUS_HI)
        return -1;
    *out = (int)v;
    return 0;
}

static void bad_code(const char *at, char *why, size_t n)
{
    int len = (int)strcspn(at, ",- ");

    if (len == 0)
        len = (int)strcspn(at, ",");
    if (len == 0)
        snprintf(why, n, "an entry is empty");
    else
        snprintf(why, n, "'%.*s' is not a status code from 100 to 599", len, at);
}

/* "200-399", "200" or "200,204,300-399" into <h>; <why> names the problem. */
static int parse_match_status(const char *s, struct cfg_health *h, char *why, size_t n)
{
    const char *p = s;
    size_t count = 0;

    for (;;) {
        const char *item;
        int lo, hi;

        while (*p == ' ')
            p++;
        item = p;
        if (status_code(&p, &lo)) {
            bad_code(item, why, n);
            return -1;
        }
        hi = lo;
        while (*p == ' ')
            p++;
        if (*p == '-') {
            const char *second;
            p++;
            while (*p == ' ')
                p++;
            second = p;
            if (status_code(&p, &hi)) {
                bad_code(second, why, n);
                return -1;
            }
            if (hi < lo) {
                snprintf(why, n, "the range %d-%d ends before it starts", lo, hi);
                return -1;
            }
            while (*p == ' ')
                p++;
        }
        if (count == CFG_MATCH_STATUS_MAX) {
            snprintf(why, n, "more than %d codes and ranges", CFG_MATCH_STATUS_MAX);
            return -1;
        }
        h->match[count].lo = lo;
        h->match[count].hi = hi;
        count++;
        if (*p == '\0')
            break;
        if (*p != ',') {
            snprintf(why, n, "unexpected '%c'; separate codes and ranges with ','", *p);
            return -1;
        }
        p++;
    }
    h->n_match = count;
    return 0;
}

static int h_match_status(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                          void *obj, const struct key_rule *r)
{
    char why[160];
    const char *s;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    if (parse_match_status(s, obj, why, sizeof(why)))
        return ld_error(ld, val,
                        "invalid 'match_status' '%s': %s (use codes and ranges, as 200-399 or "
                        "200,204,300-399)",
                        s, why);
    return 0;
}

static const struct key_rule health_rules[] = {
    {"path", h_health_path, offsetof(struct cfg_health, path), 0, 1, NULL, NULL, 0},
    {"interval", ld_duration, offsetof(struct cfg_health, interval_ms), 0, 0, NULL, NULL, 0},
    {"timeout", ld_duration, offsetof(struct cfg_health, timeout_ms), 0, 0, NULL, NULL, 0},
    {"unhealthy_threshold", h_threshold, offsetof(struct cfg_health, unhealthy_threshold), 0, 0,
     NULL, NULL, 0},
    {"healthy_threshold", h_threshold, offsetof(struct cfg_health, healthy_threshold), 0, 0, NULL,
     NULL, 0},
    {"match_status", h_match_status, 0, 0, 0, NULL, NULL, 0},
};

static int h_health(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                    void *obj, const struct key_rule *r)
{
    struct cfg_health *h = &((struct cfg_backend *)obj)->health;
    struct rule_set set = {health_rules, N_RULES(health_rules), h, 0};

    if (ld_expect(ld, val, YT_MAP, "'health'"))
        return -1;
    h->set = 1;
    return ld_walk(ld, val, "in 'health'", &set, 1);
}

/* ---- passive, pool, timeouts, the backend ---- */

static const struct key_rule passive_rules[] = {
    {"max_fails", h_max_fails, offsetof(struct cfg_passive, max_fails), 0, 0, NULL, NULL, 0},
    {"fail_timeout", ld_duration, offsetof(struct cfg_passive, fail_timeout_ms), 0, 0, NULL, NULL,
     0},
};

static const struct key_rule pool_rules[] = {
    {"max_idle", h_pool_count, offsetof(struct cfg_pool, max_idle), 0, 0, NULL, NULL, 0},
    {"idle_timeout", ld_duration, offsetof(struct cfg_pool, idle_timeout_ms), 0, 0, NULL, NULL, 0},
    {"max_connections", h_pool_count, offsetof(struct cfg_pool, max_connections), 0, 0, NULL, NULL,
     0},
};

static const struct key_rule backend_timeout_rules[] = {
    {"connect", ld_duration, offsetof(struct cfg_timeouts, connect), 0, 0, NULL, NULL, 0},
    {"response", ld_duration, offsetof(struct cfg_timeouts, response), 0, 0, NULL, NULL, 0},
};

static const struct enum_val builtin_names[] = {{"echo", 1}, {NULL, 0}};
static const struct enum_val balance_names[] = {
    {"round_robin", BALANCE_ROUND_ROBIN}, {"least_conn", BALANCE_LEAST_CONN}, {NULL, 0}};

static const struct key_rule backend_rules[] = {
    {"servers", h_servers, 0, 0, 0, NULL, NULL, 0},
    {"builtin", ld_enum, offsetof(struct cfg_backend, builtin_echo), 0, 0, builtin_names, NULL, 0},
    {"balance", ld_enum, offsetof(struct cfg_backend, balance), 0, 0, balance_names, NULL, 0},
    {"tls", h_tls, 0, 0, 0, NULL, NULL, 0},
    {"health", h_health, 0, 0, 0, NULL, NULL, 0},
    {"passive", ld_map, offsetof(struct cfg_backend, passive), 0, 0, NULL, passive_rules,
     N_RULES(passive_rules)},
    {"pool", ld_map, offsetof(struct cfg_backend, pool), 0, 0, NULL, pool_rules,
     N_RULES(pool_rules)},
    {"timeouts", ld_map, offsetof(struct cfg_backend, timeouts), 0, 0, NULL, backend_timeout_rules,
     N_RULES(backend_timeout_rules)},
};

/* What needs the whole backend: servers or builtin, and keys that need servers. */
static int finish_backend(struct loader *ld, const struct yt_node *body, struct cfg_backend *b)
{
    int https = 0;

    if (!b->n_servers && !b->builtin_echo)
        return ld_error(ld, body, "backend '%s' needs 'servers' or 'builtin'", b->name);
    if (b->n_servers && b->builtin_echo)
        return ld_error(ld, yt_map_key(body, "builtin"),
                        "backend '%s' has both 'servers' and 'builtin'; use one", b->name);
    for (size_t i = 0; i < b->n_servers; i++)
        https |= b->servers[i].tls;
    if (b->tls.set && !https)
        return ld_error(ld, yt_map_key(body, "tls"),
                        "'tls' applies to https:// servers; backend '%s' has none", b->name);
    if (b->health.set && b->builtin_echo)
        return ld_error(ld, yt_map_key(body, "health"),
                        "'health' probes servers; backend '%s' is the builtin echo and has none",
                        b->name);
    return 0;
}

int ld_backends(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                const struct key_rule *r)
{
    struct config *cfg = obj;
    char what[160];

    if (ld_expect(ld, val, YT_MAP, "'backends'"))
        return -1;
    /* one spare slot for the implicit echo backend */
    cfg->backends = calloc(val->n + 1, sizeof(*cfg->backends));
    if (!cfg->backends)
        return ld_error(ld, val, "out of memory");
    cfg->n_backends = val->n;
    for (size_t i = 0; i < val->n; i++) {
        const struct yt_node *name = val->pairs[i].key, *body = val->pairs[i].val;
        struct cfg_backend *b = &cfg->backends[i];
        struct rule_set set = {backend_rules, N_RULES(backend_rules), b, 0};

        if (!name->str[0])
            return ld_error(ld, name, "a backend name must not be empty");
        b->name = strdup(name->str);
        if (!b->name)
            return ld_error(ld, name, "out of memory");
        ld_pos(ld, &b->pos, name);
        cfg_backend_defaults(b);
        snprintf(what, sizeof(what), "backend '%.100s'", name->str);
        if (ld_expect(ld, body, YT_MAP, what))
            return -1;
        snprintf(what, sizeof(what), "in backend '%.100s'", name->str);
        if (ld_walk(ld, body, what, &set, 1) || finish_backend(ld, body, b))
            return -1;
    }
    return 0;
}

/* The 'listeners' section: address, TLS certificates, client auth, timeouts,
 * limits, forwarded headers and routes. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"

/* ld_enum writes an int */
_Static_assert(sizeof(enum cfg_client_auth_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_on_failure) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_fwd_format) == sizeof(int), "enum size");

/* ---- address ---- */

static int h_address(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                     void *obj, const struct key_rule *r)
{
    struct cfg_listener *l = obj;
    const char *s, *why;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    if (cfg_parse_address_why(s, &l->host, &l->port, &why))
        return ld_error(ld, val, "invalid address '%s': %s", s, why);
    l->address = strdup(s);
    return l->address ? 0 : ld_error(ld, val, "out of memory");
}

/* ---- tls: certificates ---- */

static const struct key_rule cert_rules[] = {
    {"cert", ld_path, offsetof(struct cfg_cert, cert), 0, 0, NULL, NULL, 0},
    {"key", ld_path, offsetof(struct cfg_cert, key), 0, 0, NULL, NULL, 0},
    {"pkcs12", ld_path, offsetof(struct cfg_cert, pkcs12), 0, 0, NULL, NULL, 0},
    {"password_env", ld_str, offsetof(struct cfg_cert, password_env), 0, 0, NULL, NULL, 0},
    {"password_file", ld_path, offsetof(struct cfg_cert, password_file), 0, 0, NULL, NULL, 0},
};

static int check_pkcs12(struct loader *ld, const struct yt_node *m, struct cfg_cert *c,
                        char **keep_pw)
{
    const struct yt_node *penv = yt_map_get(m, "password_env");
    const struct yt_node *pfile = yt_map_get(m, "password_file");
    const struct yt_node *pw_node = penv ? penv : pfile;
    char msg[sizeof(ld->err->msg)];
    char *pw = NULL;
    int bad_pw = 0, rc;

    if (pw_node && cfg_read_password(c->password_env, c->password_file, pfile ? pfile->str : NULL,
                                     &pw, msg, sizeof(msg)))
        return ld_error(ld, pw_node, "%s", msg);
    rc = cfg_check_pkcs12(c->pkcs12, yt_map_get(m, "pkcs12")->str, pw, &bad_pw, msg, sizeof(msg));
    if (keep_pw && rc == 0)
        *keep_pw = pw;
    else
        config_password_free(pw);
    if (rc)
        return ld_error(ld, bad_pw ? pw_node : yt_map_get(m, "pkcs12"), "%s", msg);
    return 0;
}

int cfg_finish_cert(struct loader *ld, const struct yt_node *m, struct cfg_cert *c,
                    const char *what, char **keep_pw)
{
    const struct yt_node *kp12 = yt_map_key(m, "pkcs12"), *kenv = yt_map_key(m, "password_env");
    const struct yt_node *kfile = yt_map_key(m, "password_file");
    const struct yt_node *vcert = yt_map_get(m, "cert"), *vkey = yt_map_get(m, "key");
    char msg[sizeof(ld->err->msg)];
    int bad_key;

    if (kp12 && (vcert || vkey))
        return ld_error(ld, kp12, "%s takes 'cert' and 'key', or 'pkcs12', not both", what);
    if (!kp12 && !vcert && !vkey)
        return ld_error(ld, m, "%s needs 'cert' and 'key', or 'pkcs12'", what);
    if (vcert && !vkey)
        return ld_error(ld, m, "missing required key 'key' (the private key of 'cert')");
    if (vkey && !vcert)
        return ld_error(ld, m, "missing required key 'cert' (the certificate of 'key')");
    if (!kp12 && (kenv || kfile))
        return ld_error(ld, kenv ? kenv : kfile, "'%s' goes with 'pkcs12' only",
                        kenv ? "password_env" : "password_file");
    if (kenv && kfile)
        return ld_error(ld, kfile, "use either 'password_env' or 'password_file', not both");
    if (kp12)
        return check_pkcs12(ld, m, c, keep_pw);
    if (cfg_check_pem_pair(c->cert, vcert->str, c->key, vkey->str, &bad_key, msg, sizeof(msg)))
        return ld_error(ld, bad_key ? vkey : vcert, "%s", msg);
    return 0;
}

static int h_certificates(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                          void *obj, const struct key_rule *r)
{
    struct cfg_listener *l = obj;

    if (ld_expect(ld, val, YT_SEQ, "'certificates'"))
        return -1;
    if (val->n == 0)
        return ld_error(ld, val, "'certificates' must list at least one certificate");
    l->certs = calloc(val->n, sizeof(*l->certs));
    if (!l->certs)
        return ld_error(ld, val, "out of memory");
    l->n_certs = val->n;
    for (size_t i = 0; i < val->n; i++) {
        const struct yt_node *m = val->items[i];
        struct rule_set set = {cert_rules, N_RULES(cert_rules), &l->certs[i], 0};

        if (ld_expect(ld, m, YT_MAP, "an entry of 'certificates'"))
            return -1;
        ld_pos(ld, &l->certs[i].pos, m);
        if (ld_walk(ld, m, "in a certificate", &set, 1) ||
            cfg_finish_cert(ld, m, &l->certs[i], "a certificate", NULL))
            return -1;
    }
    return 0;
}

/* ---- tls: client_auth ---- */

static const struct enum_val mode_names[] = {{"ignore", CA_IGNORE},
                                             {"request", CA_REQUEST},
                                             {"optional", CA_OPTIONAL},
                                             {"require", CA_REQUIRE},
                                             {NULL, 0}};
static const struct enum_val on_failure_names[] = {
    {"alert", ON_FAILURE_ALERT}, {"http", ON_FAILURE_HTTP}, {NULL, 0}};

static int h_ca_policy(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                       void *obj, const struct key_rule *r)
{
    const char *s;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    return ld_ref(ld, REF_CLIENT_AUTH_POLICY, val, obj);
}

static const struct key_rule client_auth_rules[] = {
    {"mode", ld_enum, offsetof(struct cfg_client_auth, mode), 0, 0, mode_names, NULL, 0},
    {"on_failure", ld_enum, offsetof(struct cfg_client_auth, on_failure), 0, 0, on_failure_names,
     NULL, 0},
    {"policy", h_ca_policy, 0, 0, 0, NULL, NULL, 0},
};

/* The first key of <m> that is an inline policy key, for messages. */
static const struct yt_node *first_inline_key(const struct yt_node *m)
{
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < cfg_policy_n_rules; j++)
            if (strcmp(m->pairs[i].key->str, cfg_policy_rules[j].name) == 0)
                return m->pairs[i].key;
    return m;
}

static int h_client_auth(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                         void *obj, const struct key_rule *r)
{
    struct cfg_client_auth *ca = &((struct cfg_listener *)obj)->client_auth;
    struct rule_set sets[2] = {{client_auth_rules, N_RULES(client_auth_rules), ca, 0},
                               {cfg_policy_rules, cfg_policy_n_rules, NULL, 0}};
    const struct yt_node *kpolicy;
    int inline_keys;

    if (ld_expect(ld, val, YT_MAP, "'client_auth'"))
        return -1;
    /* owned by <ca> from birth, so config_free finds it whatever fails */
    ca->policy = calloc(1, sizeof(*ca->policy));
    if (!ca->policy)
        return ld_error(ld, val, "out of memory");
    ca->policy_inline = 1;
    cfg_policy_unset(ca->policy);
    ld_pos(ld, &ca->policy->pos, val);
    sets[1].obj = ca->policy;
    if (ld_walk(ld, val, "in 'client_auth'", sets, 2))
        return -1;
    inline_keys = sets[1].seen > 0;
    kpolicy = yt_map_key(val, "policy");
    if (!inline_keys) {
        free(ca->policy);
        ca->policy = NULL;
        ca->policy_inline = 0;
    }
    if (inline_keys && kpolicy)
        return ld_error(ld, kpolicy,
                        "use either 'policy' or inline policy keys (%s, ...), not both",
                        cfg_policy_rules[0].name);
    if (ca->mode == CA_IGNORE && (inline_keys || kpolicy))
        return ld_error(ld, kpolicy ? kpolicy : first_inline_key(val),
                        "a policy has no effect with mode 'ignore' (no client certificate is "
                        "requested); set mode to request, optional or require");
    if (ca->mode != CA_IGNORE && !inline_keys && !kpolicy)
        return ld_error(ld, yt_map_get(val, "mode"),
                        "mode '%s' needs a policy: name one with 'policy' or give 'trusted_ca'",
                        yt_map_get(val, "mode")->str);
    if (inline_keys)
        return ld_policy_finish(ld, val, ca->policy, "for the inline policy of 'client_auth'");
    return 0;
}

static const struct key_rule tls_rules[] = {
    {"certificates", h_certificates, 0, 0, 1, NULL, NULL, 0},
    {"client_auth", h_client_auth, 0, 0, 0, NULL, NULL, 0},
    {"ocsp_stapling", ld_ocsp_stapling, 0, 0, 0, NULL, NULL, 0},
};

static int h_tls(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                 const struct key_rule *r)
{
    struct rule_set set = {tls_rules, N_RULES(tls_rules), obj, 0};

    if (ld_expect(ld, val, YT_MAP, "'tls'"))
        return -1;
    ((struct cfg_listener *)obj)->tls = 1;
    return ld_walk(ld, val, "in 'tls'", &set, 1);
}

/* ---- forward ---- */

const struct enum_val cfg_fwd_format_names[] = {{"base64-der", FWD_BASE64_DER},
                                                {"pem-urlencoded", FWD_PEM_URLENCODED},
                                                {"hex", FWD_HEX},
                                                {"rfc9440", FWD_RFC9440},
                                                {"xfcc", FWD_XFCC},
                                                {NULL, 0}};

/* A header name, or "" for "not sent". */
static int header_name(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                       char **dst)
{
    const char *s;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    if (*s && !cfg_header_name_ok(s))
        return ld_error(ld, val,
                        "invalid header name '%s' (letters, digits and !#$%%&'*+-.^_`|~ only)", s);
    free(*dst);
    *dst = strdup(s);
    return *dst ? 0 : ld_error(ld, val, "out of memory");
}

static int h_fwd_name(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                      void *obj, const struct key_rule *r)
{
    return header_name(ld, key, val, LD_FIELD(obj, r, char *));
}

static const struct enum_val xfcc_modes[] = {{"replace", 0}, {"append", 1}, {NULL, 0}};

static const struct key_rule fwd_header_rules[] = {
    {"name", h_fwd_name, offsetof(struct cfg_fwd_header, name), 0, 1, NULL, NULL, 0},
    {"format", ld_enum, offsetof(struct cfg_fwd_header, format), 0, 0, cfg_fwd_format_names, NULL,
     0},
    {"chain", ld_bool, offsetof(struct cfg_fwd_header, chain), 0, 0, NULL, NULL, 0},
    {"xfcc_mode", ld_enum, offsetof(struct cfg_fwd_header, xfcc_append), 0, 0, xfcc_modes, NULL, 0},
};

static int h_fwd_headers(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                         void *obj, const struct key_rule *r)
{
    struct cfg_forward *fwd = obj;

    if (ld_expect(ld, val, YT_SEQ, "'headers'"))
        return -1;
    for (size_t i = 0; i < fwd->n_headers; i++)
        free(fwd->headers[i].name);
    free(fwd->headers);
    fwd->headers = calloc(val->n ? val->n : 1, sizeof(*fwd->headers));
    fwd->n_headers = fwd->headers ? val->n : 0;
    if (!fwd->headers)
        return ld_error(ld, val, "out of memory");
    for (size_t i = 0; i < val->n; i++) {
        const struct yt_node *m = val->items[i];
        struct cfg_fwd_header *h = &fwd->headers[i];
        struct rule_set set = {fwd_header_rules, N_RULES(fwd_header_rules), h, 0};

        if (ld_expect(ld, m, YT_MAP, "an entry of 'headers'"))
            return -1;
        if (ld_walk(ld, m, "in a forward header", &set, 1))
            return -1;
        if (h->chain && h->format != FWD_RFC9440)
            return ld_error(ld, yt_map_key(m, "chain"), "'chain' applies to format rfc9440 only");
    }
    return 0;
}

/* true keeps the default name, false or "" turns the header off, a string renames it. */
static int h_identity_name(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                           void *obj, const struct key_rule *r)
{
    char **dst = LD_FIELD(obj, r, char *);

    if (val->type == YT_SCALAR && val->plain && strcmp(val->str, "true") == 0)
        return 0;
    if ((val->type == YT_SCALAR && val->plain && strcmp(val->str, "false") == 0) ||
        (val->type == YT_SCALAR && !val->plain && !val->str[0])) {
        free(*dst);
        *dst = NULL;
        return 0;
    }
    return header_name(ld, key, val, dst);
}

#define ID_RULE(f)                                                                                 \
    {                                                                                              \
#f, h_identity_name, offsetof(struct cfg_identity_headers, f), 0, 0, NULL, NULL, 0         \
    }
static const struct key_rule identity_rules[] = {
    ID_RULE(verify), ID_RULE(subject), ID_RULE(issuer),     ID_RULE(serial),
    ID_RULE(sha1),   ID_RULE(sha256),  ID_RULE(not_before), ID_RULE(not_after),
};

static int h_identity(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                      void *obj, const struct key_rule *r)
{
    struct cfg_identity_headers *id = &((struct cfg_forward *)obj)->identity;
    struct rule_set set = {identity_rules, N_RULES(identity_rules), id, 0};

    if (val->type == YT_SCALAR && val->plain && strcmp(val->str, "true") == 0)
        return cfg_identity_defaults(id) ? ld_error(ld, val, "out of memory") : 0;
    if (val->type == YT_SCALAR && val->plain && strcmp(val->str, "false") == 0) {
        cfg_identity_clear(id);
        return 0;
    }
    if (val->type != YT_MAP)
        return ld_error(ld, val, "expected true, false or a mapping for 'identity_headers'");
    return ld_walk(ld, val, "in 'identity_headers'", &set, 1);
}

static const struct key_rule forward_rules[] = {
    {"headers", h_fwd_headers, 0, 0, 0, NULL, NULL, 0},
    {"identity_headers", h_identity, 0, 0, 0, NULL, NULL, 0},
};

struct named {
    const char *name;
    const struct yt_node *at;
    const char *identity; /* the identity_headers key, NULL for a forward header */
};

/* Every header name 'forward' sets, identity headers first, with where each
 * was written (or the nearest node when it is a default). */
static size_t forward_names(const struct cfg_forward *fwd, const struct yt_node *m,
                            struct named *out)
{
    const struct yt_node *hs = yt_map_get(m, "headers"), *id = yt_map_get(m, "identity_headers");
    size_t n = 0;

    for (size_t i = 0; i < N_RULES(identity_rules); i++) {
        const struct yt_node *v = yt_map_get(id, identity_rules[i].name);
        const char *name =
            *(const char *const *)((const char *)&fwd->identity + identity_rules[i].off);
        if (!name)
            continue;
        out[n].name = name;
        out[n].identity = identity_rules[i].name;
        out[n++].at = v ? v : id ? id : m;
    }
    for (size_t i = 0; i < fwd->n_headers; i++) {
        if (!fwd->headers[i].name[0])
            continue;
        out[n].name = fwd->headers[i].name;
        out[n].identity = NULL;
        out[n++].at = hs ? yt_map_get(hs->items[i], "name") : m;
    }
    return n;
}

static int check_forward_names(struct loader *ld, const struct named *names, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(names[i].name, names[j].name) != 0)
                continue;
            if (names[j].identity)
                return ld_error(ld, names[i].at,
                                "header '%s' is also the identity header '%s' (rename it or turn "
                                "it off in 'identity_headers')",
                                names[i].name, names[j].identity);
            return ld_error(ld, names[i].at,
                            "header '%s' is set twice in 'forward' (also at line %d)",
                            names[i].name, names[j].at->line);
        }
    return 0;
}

static int h_forward(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                     void *obj, const struct key_rule *r)
{
    struct cfg_forward *fwd = &((struct cfg_listener *)obj)->forward;
    struct rule_set set = {forward_rules, N_RULES(forward_rules), fwd, 0};
    struct named *names;
    int rc;

    if (ld_expect(ld, val, YT_MAP, "'forward'") || ld_walk(ld, val, "in 'forward'", &set, 1))
        return -1;
    names = calloc(fwd->n_headers + N_RULES(identity_rules) + 1, sizeof(*names));
    if (!names)
        return ld_error(ld, val, "out of memory");
    rc = check_forward_names(ld, names, forward_names(fwd, val, names));
    free(names);
    return rc;
}

/* ---- routes ---- */

static int h_path_prefix(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                         void *obj, const struct key_rule *r)
{
    if (ld_str(ld, key, val, obj, r))
        return -1;
    if (val->str[0] != '/')
        return ld_error(ld, val, "'path_prefix' must start with '/', got '%s'", val->str);
    return 0;
}

static const struct key_rule match_rules[] = {
    {"host", ld_str, offsetof(struct cfg_route, host), 0, 0, NULL, NULL, 0},
    {"path_prefix", h_path_prefix, offsetof(struct cfg_route, path_prefix), 0, 0, NULL, NULL, 0},
};

static int h_route_policy(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                          void *obj, const struct key_rule *r)
{
    const char *s;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    if (strcmp(s, "none") == 0) {
        ((struct cfg_route *)obj)->policy_none = 1;
        return 0;
    }
    return ld_ref(ld, REF_ROUTE_POLICY, val, obj);
}

static int h_route_backend(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                           void *obj, const struct key_rule *r)
{
    const char *s;

    if (ld_scalar(ld, key, val, &s))
        return -1;
    return ld_ref(ld, REF_ROUTE_BACKEND, val, obj);
}

static const struct key_rule route_rules[] = {
    {"match", ld_map, 0, 0, 0, NULL, match_rules, N_RULES(match_rules)},
    {"policy", h_route_policy, 0, 0, 0, NULL, NULL, 0},
    {"backend", h_route_backend, 0, 0, 0, NULL, NULL, 0},
};

static int same_match(const struct cfg_route *a, const struct cfg_route *b)
{
    if (!a->host != !b->host || (a->host && strcasecmp(a->host, b->host) != 0))
        return 0;
    return strcmp(a->path_prefix, b->path_prefix) == 0;
}

static int finish_route(struct loader *ld, const struct yt_node *m, struct cfg_listener *l,
                        size_t i)
{
    struct cfg_route *rt = &l->routes[i];

    if (!rt->path_prefix && !(rt->path_prefix = strdup("/")))
        return ld_error(ld, m, "out of memory");
    if (!yt_map_get(m, "backend") && ld_ref(ld, REF_ROUTE_BACKEND, NULL, rt))
        return -1;
    for (size_t j = 0; j < i; j++)
        if (same_match(&l->routes[j], rt))
            return ld_error(ld, m,
                            "this route matches the same requests as the route at line %d, "
                            "so it would never be used",
                            l->routes[j].pos.line);
    return 0;
}

static int h_routes(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                    void *obj, const struct key_rule *r)
{
    struct cfg_listener *l = obj;

    if (ld_expect(ld, val, YT_SEQ, "'routes'"))
        return -1;
    if (val->n == 0)
        return ld_error(ld, val, "'routes' must list at least one route");
    l->routes = calloc(val->n, sizeof(*l->routes));
    if (!l->routes)
        return ld_error(ld, val, "out of memory");
    l->n_routes = val->n;
    for (size_t i = 0; i < val->n; i++) {
        const struct yt_node *m = val->items[i];
        struct rule_set set = {route_rules, N_RULES(route_rules), &l->routes[i], 0};

        if (ld_expect(ld, m, YT_MAP, "an entry of 'routes'"))
            return -1;
        ld_pos(ld, &l->routes[i].pos, m);
        if (ld_walk(ld, m, "in a route", &set, 1) || finish_route(ld, m, l, i))
            return -1;
    }
    return 0;
}

/* ---- listener ---- */

static const struct key_rule timeout_rules[] = {
    {"handshake", ld_duration, offsetof(struct cfg_timeouts, handshake), 0, 0, NULL, NULL, 0},
    {"header", ld_duration, offsetof(struct cfg_timeouts, header), 0, 0, NULL, NULL, 0},
    {"idle", ld_duration, offsetof(struct cfg_timeouts, idle), 0, 0, NULL, NULL, 0},
    {"connect", ld_duration, offsetof(struct cfg_timeouts, connect), 0, 0, NULL, NULL, 0},
    {"response", ld_duration, offsetof(struct cfg_timeouts, response), 0, 0, NULL, NULL, 0},
    {"body", ld_duration, offsetof(struct cfg_timeouts, body), 0, 0, NULL, NULL, 0},
};

static const struct key_rule limit_rules[] = {
    {"request_line", ld_size, offsetof(struct cfg_limits, request_line), 0, 0, NULL, NULL, 0},
    {"header_bytes", ld_size, offsetof(struct cfg_limits, header_bytes), 0, 0, NULL, NULL, 0},
    {"headers", ld_count, offsetof(struct cfg_limits, headers), 0, 0, NULL, NULL, 0},
    {"connections", ld_count, offsetof(struct cfg_limits, connections), 0, 0, NULL, NULL, 0},
    {"body_min_rate", ld_size, offsetof(struct cfg_limits, body_min_rate), 0, 0, NULL, NULL, 0},
};

static const struct key_rule listener_rules[] = {
    {"name", ld_str, offsetof(struct cfg_listener, name), 0, 1, NULL, NULL, 0},
    {"address", h_address, 0, 0, 1, NULL, NULL, 0},
    {"tls", h_tls, 0, 0, 0, NULL, NULL, 0},
    {"timeouts", ld_map, offsetof(struct cfg_listener, timeouts), 0, 0, NULL, timeout_rules,
     N_RULES(timeout_rules)},
    {"limits", ld_map, offsetof(struct cfg_listener, limits), 0, 0, NULL, limit_rules,
     N_RULES(limit_rules)},
    {"forward", h_forward, 0, 0, 0, NULL, NULL, 0},
    {"routes", h_routes, 0, 0, 0, NULL, NULL, 0},
    {"client_cert", ld_client_cert, 0, 0, 0, NULL, NULL, 0},
};

/* Names and addresses are unique across listeners. */
static int check_unique(struct loader *ld, const struct yt_node *m, struct cfg_listener *ls,
                        size_t i)
{
    struct cfg_listener *l = &ls[i];

    for (size_t j = 0; j < i; j++) {
        if (strcmp(ls[j].name, l->name) == 0)
            return ld_error(ld, yt_map_get(m, "name"),
                            "duplicate listener name '%s' (first at line %d)", l->name,
                            ls[j].pos.line);
        if (cfg_addr_conflict(ls[j].host, ls[j].port, l->host, l->port))
            return ld_error(ld, yt_map_get(m, "address"),
                            "address '%s' conflicts with listener '%s' (%s, line %d)", l->address,
                            ls[j].name, ls[j].address, ls[j].pos.line);
    }
    return 0;
}

static int one_listener(struct loader *ld, const struct yt_node *m, struct cfg_listener *ls,
                        size_t i)
{
    struct cfg_listener *l = &ls[i];
    struct rule_set set = {listener_rules, N_RULES(listener_rules), l, 0};

    if (ld_expect(ld, m, YT_MAP, "an entry of 'listeners'"))
        return -1;
    ld_pos(ld, &l->pos, m);
    cfg_listener_defaults(l);
    if (cfg_forward_defaults(&l->forward))
        return ld_error(ld, m, "out of memory");
    if (ld_walk(ld, m, "in a listener", &set, 1) || check_unique(ld, m, ls, i) ||
        cfg_check_stapling(ld, yt_map_get(yt_map_get(m, "tls"), "ocsp_stapling"), l))
        return -1;
    if (l->client_cert.from_header && l->client_auth.mode != CA_IGNORE)
        return ld_error(ld, yt_map_key(m, "client_cert"),
                        "a listener takes the client certificate from the TLS handshake "
                        "(client_auth) or from a trusted gateway's header (client_cert), not both");
    if (l->routes)
        return 0;
    /* no routes: everything goes to the default backend */
    l->routes = calloc(1, sizeof(*l->routes));
    if (!l->routes || !(l->routes[0].path_prefix = strdup("/")))
        return ld_error(ld, m, "out of memory");
    l->n_routes = 1;
    l->routes[0].pos = l->pos;
    return ld_ref(ld, REF_ROUTE_BACKEND, NULL, &l->routes[0]);
}

int ld_listeners(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                 const struct key_rule *r)
{
    struct config *cfg = obj;

    if (ld_expect(ld, val, YT_SEQ, "'listeners'"))
        return -1;
    if (val->n == 0)
        return ld_error(ld, val, "'listeners' must list at least one listener");
    cfg->listeners = calloc(val->n, sizeof(*cfg->listeners));
    if (!cfg->listeners)
        return ld_error(ld, val, "out of memory");
    cfg->n_listeners = val->n;
    for (size_t i = 0; i < val->n; i++)
        if (one_listener(ld, val->items[i], cfg->listeners, i))
            return -1;
    return 0;
}

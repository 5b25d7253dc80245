/* Quick mode (SPEC §7): one listener built from `certgate run --listen ...`
 * flags, checked like a YAML config, with errors as "--flag: message". */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/config_internal.h"

/* The flags as given; strings are borrowed from argv. */
struct quick {
    const char *listen, *cert, *key, *pkcs12, *password_env, *password_file;
    const char *client_auth, *on_failure, *backend, *workers, *admin, *access_log;
    const char **client_ca, **forward;
    size_t n_client_ca, n_forward;
    int no_identity;
};

enum flag_kind { FLAG_ONE, FLAG_MANY, FLAG_SWITCH };

struct flag {
    const char *name;
    enum flag_kind kind;
    size_t off;   /* const char * (FLAG_ONE), const char ** (FLAG_MANY) or int (FLAG_SWITCH) */
    size_t off_n; /* FLAG_MANY: the count */
};

#define ONE(n, f)                                                                                  \
    {                                                                                              \
        n, FLAG_ONE, offsetof(struct quick, f), 0                                                  \
    }
static const struct flag flags[] = {
    ONE("--listen", listen),
    ONE("--cert", cert),
    ONE("--key", key),
    ONE("--pkcs12", pkcs12),
    ONE("--password-env", password_env),
    ONE("--password-file", password_file),
    {"--client-ca", FLAG_MANY, offsetof(struct quick, client_ca),
     offsetof(struct quick, n_client_ca)},
    ONE("--client-auth", client_auth),
    ONE("--on-failure", on_failure),
    {"--forward", FLAG_MANY, offsetof(struct quick, forward), offsetof(struct quick, n_forward)},
    ONE("--backend", backend),
    ONE("--workers", workers),
    ONE("--admin", admin),
    {"--no-identity-headers", FLAG_SWITCH, offsetof(struct quick, no_identity), 0},
    ONE("--access-log", access_log),
};

static int qerr(struct cfg_error *err, const char *flag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int qerr(struct cfg_error *err, const char *flag, const char *fmt, ...)
{
    va_list ap;
    int off = snprintf(err->msg, sizeof(err->msg), "%s: ", flag);

    if (off < 0 || (size_t)off >= sizeof(err->msg))
        return -1;
    va_start(ap, fmt);
    vsnprintf(err->msg + off, sizeof(err->msg) - (size_t)off, fmt, ap);
    va_end(ap);
    return -1;
}

static int record(struct quick *q, const struct flag *f, const char *v, size_t argc,
                  struct cfg_error *err)
{
    char *base = (char *)q;

    if (f->kind == FLAG_SWITCH) {
        *(int *)(base + f->off) = 1;
        return 0;
    }
    if (f->kind == FLAG_ONE) {
        const char **dst = (const char **)(base + f->off);
        if (*dst)
            return qerr(err, f->name, "given more than once");
        *dst = v;
        return 0;
    }
    const char ***list = (const char ***)(base + f->off);
    size_t *n = (size_t *)(base + f->off_n);
    if (!*list && !(*list = calloc(argc, sizeof(**list))))
        return qerr(err, f->name, "out of memory");
    (*list)[(*n)++] = v;
    return 0;
}

/* "--flag VALUE" and "--flag=VALUE"; every argument must be a known flag. */
static int scan(int argc, char **argv, struct quick *q, struct cfg_error *err)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '='), *v = NULL;
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct flag *f = NULL;
        char name[64];

        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err->msg, sizeof(err->msg), "'%s': unexpected argument", arg);
            return -1;
        }
        for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]) && !f; k++)
            if (strlen(flags[k].name) == len && strncmp(flags[k].name, arg, len) == 0)
                f = &flags[k];
        snprintf(name, sizeof(name), "%.*s", (int)(len < 60 ? len : 60), arg);
        if (!f)
            return qerr(err, name, "unknown flag");
        if (f->kind == FLAG_SWITCH && eq)
            return qerr(err, name, "takes no value");
        if (f->kind != FLAG_SWITCH) {
            if (eq)
                v = eq + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            else
                return qerr(err, name, "needs a value");
        }
        if (record(q, f, v, (size_t)argc, err))
            return -1;
    }
    return 0;
}

static int enum_value(const char *flag, const char *s, const char *const *names, int n,
                      struct cfg_error *err)
{
    char valid[128] = "";

    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0)
            return i;
        strcat(valid, i ? ", " : "");
        strcat(valid, names[i]);
    }
    return qerr(err, flag, "invalid value '%s' (valid: %s)", s, valid);
}

static char *qpath(struct config *cfg, const char *p)
{
    return cfg_abspath(cfg->dir, p);
}

static int build_certs(struct config *cfg, struct cfg_listener *l, const struct quick *q,
                       struct cfg_error *err)
{
    char msg[sizeof(err->msg)], *pw = NULL;
    struct cfg_cert *c;
    int bad = 0, rc;

    if (q->pkcs12 && (q->cert || q->key))
        return qerr(err, "--pkcs12", "use either --cert/--key or --pkcs12, not both");
    if (q->cert && !q->key)
        return qerr(err, "--cert", "needs --key");
    if (q->key && !q->cert)
        return qerr(err, "--key", "needs --cert");
    if (!q->pkcs12 && (q->password_env || q->password_file))
        return qerr(err, q->password_env ? "--password-env" : "--password-file",
                    "goes with --pkcs12 only");
    if (q->password_env && q->password_file)
        return qerr(err, "--password-file", "use either --password-env or --password-file");
    if (!q->cert && !q->pkcs12)
        return 0;
    l->tls = 1;
    l->certs = c = calloc(1, sizeof(*l->certs));
    if (!c)
        return qerr(err, "--cert", "out of memory");
    l->n_certs = 1;
    if (q->cert) {
        c->cert = qpath(cfg, q->cert);
        c->key = qpath(cfg, q->key);
        if (!c->cert || !c->key)
            return qerr(err, "--cert", "out of memory");
        if (cfg_check_pem_pair(c->cert, q->cert, c->key, q->key, &bad, msg, sizeof(msg)))
            return qerr(err, bad ? "--key" : "--cert", "%s", msg);
        return 0;
    }
    c->pkcs12 = qpath(cfg, q->pkcs12);
    c->password_env = q->password_env ? strdup(q->password_env) : NULL;
    c->password_file = q->password_file ? qpath(cfg, q->password_file) : NULL;
    if (!c->pkcs12 || (q->password_env && !c->password_env) ||
        (q->password_file && !c->password_file))
        return qerr(err, "--pkcs12", "out of memory");
    const char *pwflag = q->password_env ? "--password-env" : "--password-file";
    if ((q->password_env || q->password_file) &&
        cfg_read_password(c->password_env, c->password_file, q->password_file, &pw, msg,
                          sizeof(msg)))
        return qerr(err, pwflag, "%s", msg);
    rc = cfg_check_pkcs12(c->pkcs12, q->pkcs12, pw, &bad, msg, sizeof(msg));
    config_password_free(pw);
    if (rc)
        return qerr(err, bad ? pwflag : "--pkcs12", "%s", msg);
    return 0;
}

static int build_client_auth(struct config *cfg, struct cfg_listener *l, const struct quick *q,
                             struct cfg_error *err)
{
    static const char *const modes[] = {"ignore", "request", "optional", "require"};
    static const char *const failures[] = {"http", "alert"};
    struct cfg_client_auth *ca = &l->client_auth;
    char msg[sizeof(err->msg)];
    struct cfg_policy *p;
    int v;

    /* enum order in config_types.h matches the arrays above */
    ca->mode = q->n_client_ca ? CA_REQUIRE : CA_IGNORE;
    if (q->client_auth) {
        if ((v = enum_value("--client-auth", q->client_auth, modes, 4, err)) < 0)
            return -1;
        ca->mode = (enum cfg_client_auth_mode)v;
    }
    ca->on_failure = ON_FAILURE_HTTP;
    if (q->on_failure) {
        if ((v = enum_value("--on-failure", q->on_failure, failures, 2, err)) < 0)
            return -1;
        ca->on_failure = (enum cfg_on_failure)v;
    }
    if (!l->tls) {
        const char *f = q->n_client_ca   ? "--client-ca"
                        : q->client_auth ? "--client-auth"
                        : q->on_failure  ? "--on-failure"
                                         : NULL;
        if (f)
            return qerr(err, f, "needs a TLS listener (--cert and --key, or --pkcs12)");
        return 0;
    }
    if (ca->mode != CA_IGNORE && !q->n_client_ca)
        return qerr(err, "--client-auth", "mode '%s' needs --client-ca", modes[ca->mode]);
    if (ca->mode == CA_IGNORE && q->n_client_ca)
        return qerr(err, "--client-ca", "has no effect with --client-auth ignore");
    if (!q->n_client_ca)
        return 0;
    ca->policy = p = calloc(1, sizeof(*p));
    if (!p || !(p->trusted_ca = calloc(q->n_client_ca, sizeof(*p->trusted_ca))))
        return qerr(err, "--client-ca", "out of memory");
    ca->policy_inline = 1;
    cfg_policy_unset(p);
    cfg_policy_defaults(p);
    p->n_trusted_ca = q->n_client_ca;
    for (size_t i = 0; i < q->n_client_ca; i++) {
        p->trusted_ca[i] = qpath(cfg, q->client_ca[i]);
        if (!p->trusted_ca[i])
            return qerr(err, "--client-ca", "out of memory");
        if (cfg_check_cert_file(p->trusted_ca[i], q->client_ca[i], msg, sizeof(msg)))
            return qerr(err, "--client-ca", "%s", msg);
    }
    return 0;
}

/* Forward names must not collide with each other or with identity headers. */
static int check_forward_name(const struct cfg_forward *fwd, size_t i, struct cfg_error *err)
{
    const struct cfg_identity_headers *id = &fwd->identity;
    const char *ids[] = {id->verify, id->subject, id->issuer,     id->serial,
                         id->sha1,   id->sha256,  id->not_before, id->not_after};
    const char *name = fwd->headers[i].name;

    if (!name[0])
        return 0;
    for (size_t j = 0; j < i; j++)
        if (strcasecmp(fwd->headers[j].name, name) == 0)
            return qerr(err, "--forward", "header '%s' is given twice", name);
    for (size_t j = 0; j < sizeof(ids) / sizeof(ids[0]); j++)
        if (ids[j] && strcasecmp(ids[j], name) == 0)
            return qerr(err, "--forward",
                        "header '%s' is also an identity header (see --no-identity-headers)", name);
    return 0;
}

static int build_forward(struct cfg_listener *l, const struct quick *q, struct cfg_error *err)
{
    struct cfg_forward *fwd = &l->forward;
    const char *formats[8];
    int n_formats = 0, v;

    if (q->no_identity)
        cfg_identity_clear(&fwd->identity);
    if (!q->n_forward)
        return 0;
    for (const struct enum_val *e = cfg_fwd_format_names; e->name; e++)
        formats[n_formats++] = e->name;
    for (size_t i = 0; i < fwd->n_headers; i++)
        free(fwd->headers[i].name);
    free(fwd->headers);
    fwd->headers = calloc(q->n_forward, sizeof(*fwd->headers));
    fwd->n_headers = fwd->headers ? q->n_forward : 0;
    if (!fwd->headers)
        return qerr(err, "--forward", "out of memory");
    for (size_t i = 0; i < q->n_forward; i++) {
        const char *s = q->forward[i], *eq = strchr(s, '=');
        struct cfg_fwd_header *h = &fwd->headers[i];

        if (!eq)
            return qerr(err, "--forward", "expected NAME=FORMAT, got '%s'", s);
        h->name = strndup(s, (size_t)(eq - s));
        if (!h->name)
            return qerr(err, "--forward", "out of memory");
        if (h->name[0] && !cfg_header_name_ok(h->name))
            return qerr(err, "--forward", "invalid header name '%s'", h->name);
        if ((v = enum_value("--forward", eq + 1, formats, n_formats, err)) < 0)
            return -1;
        h->format = (enum cfg_fwd_format)cfg_fwd_format_names[v].value;
        if (check_forward_name(fwd, i, err))
            return -1;
    }
    return 0;
}

static int build_backend(struct config *cfg, struct cfg_listener *l, const struct quick *q,
                         struct cfg_error *err)
{
    struct cfg_backend *b;
    const char *why;

    cfg->backends = b = calloc(1, sizeof(*b));
    l->routes = calloc(1, sizeof(*l->routes));
    if (!b || !l->routes)
        return qerr(err, "--backend", "out of memory");
    cfg->n_backends = 1;
    cfg_backend_defaults(b);
    l->n_routes = 1;
    l->routes[0].backend = b;
    if (!(l->routes[0].path_prefix = strdup("/")))
        return qerr(err, "--backend", "out of memory");
    if (!q->backend || strcmp(q->backend, "echo") == 0) {
        b->builtin_echo = 1;
        b->name = strdup("echo");
        return b->name ? 0 : qerr(err, "--backend", "out of memory");
    }
    b->name = strdup("default");
    b->servers = calloc(1, sizeof(*b->servers));
    if (!b->name || !b->servers)
        return qerr(err, "--backend", "out of memory");
    b->n_servers = 1;
    b->servers[0].weight = 1;
    if (cfg_parse_url_why(q->backend, &b->servers[0].tls, &b->servers[0].host, &b->servers[0].port,
                          &why))
        return qerr(err, "--backend", "invalid URL '%s': %s (or use 'echo')", q->backend, why);
    b->servers[0].url = strdup(q->backend);
    return b->servers[0].url ? 0 : qerr(err, "--backend", "out of memory");
}

static int parse_workers(const char *s, int *out, struct cfg_error *err)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (s[0] < '0' || s[0] > '9' || *end || v < 1 || v > CFG_MAX_WORKERS)
        return qerr(err, "--workers", "expected a whole number from 1 to %d, got '%s'",
                    CFG_MAX_WORKERS, s);
    *out = (int)v;
    return 0;
}

static int build_rest(struct config *cfg, const struct quick *q, struct cfg_error *err)
{
    static const char *const access[] = {"off", "on"};
    struct cfg_listener *l = &cfg->listeners[0];
    const char *why;
    int v;

    if (q->workers && parse_workers(q->workers, &cfg->workers, err))
        return -1;
    if (q->access_log) {
        if ((v = enum_value("--access-log", q->access_log, access, 2, err)) < 0)
            return -1;
        cfg->log.access = v;
    }
    if (!q->admin)
        return 0;
    if (cfg_parse_address_why(q->admin, &cfg->admin.host, &cfg->admin.port, &why))
        return qerr(err, "--admin", "invalid address '%s': %s", q->admin, why);
    if (!(cfg->admin.address = strdup(q->admin)))
        return qerr(err, "--admin", "out of memory");
    if (cfg_addr_conflict(cfg->admin.host, cfg->admin.port, l->host, l->port))
        return qerr(err, "--admin", "address '%s' conflicts with --listen '%s'", q->admin,
                    l->address);
    return 0;
}

static int build(struct config *cfg, const struct quick *q, struct cfg_error *err)
{
    char cwd[PATH_MAX];
    struct cfg_listener *l;
    const char *why;

    if (!q->listen)
        return qerr(err, "--listen", "required in quick mode (or use -c FILE)");
    if (!getcwd(cwd, sizeof(cwd)))
        return qerr(err, "--listen", "cannot read the current directory");
    cfg->dir = strdup(cwd);
    cfg->log.access = 1;
    cfg->listeners = l = calloc(1, sizeof(*l));
    if (!cfg->dir || !l)
        return qerr(err, "--listen", "out of memory");
    cfg->n_listeners = 1;
    cfg_listener_defaults(l);
    if (!(l->name = strdup("main")) || cfg_forward_defaults(&l->forward))
        return qerr(err, "--listen", "out of memory");
    if (cfg_parse_address_why(q->listen, &l->host, &l->port, &why))
        return qerr(err, "--listen", "invalid address '%s': %s", q->listen, why);
    if (!(l->address = strdup(q->listen)))
        return qerr(err, "--listen", "out of memory");
    if (build_certs(cfg, l, q, err) || build_client_auth(cfg, l, q, err) ||
        build_forward(l, q, err) || build_backend(cfg, l, q, err))
        return -1;
    return build_rest(cfg, q, err);
}

struct config *config_from_args(int argc, char **argv, struct cfg_error *err)
{
    struct quick q = {0};
    struct config *cfg = NULL;
    int rc;

    err->msg[0] = '\0';
    rc = scan(argc, argv, &q, err);
    if (rc == 0) {
        cfg = calloc(1, sizeof(*cfg));
        rc = cfg ? build(cfg, &q, err) : qerr(err, "--listen", "out of memory");
    }
    free(q.client_ca);
    free(q.forward);
    if (rc) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

int config_apply_args(struct config *cfg, int argc, char **argv, struct cfg_error *err)
{
    struct quick q = {0};
    int rc;

    err->msg[0] = '\0';
    rc = scan(argc, argv, &q, err);
    for (size_t k = 0; rc == 0 && k < sizeof(flags) / sizeof(flags[0]); k++) {
        const char *base = (const char *)&q;
        int set = flags[k].kind == FLAG_SWITCH ? *(const int *)(base + flags[k].off)
                                               : *(const char *const *)(base + flags[k].off) != 0;
        if (set && strcmp(flags[k].name, "--workers") != 0)
            rc = qerr(err, flags[k].name, "not allowed with -c FILE; set it in the file");
    }
    if (rc == 0 && q.workers)
        rc = parse_workers(q.workers, &cfg->workers, err);
    free(q.client_ca);
    free(q.forward);
    return rc;
}

/* Policy keys (SPEC §7), shared by the 'policies' section and inline
 * client_auth policies; 'inherit' between named policies; policy defaults. */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certgate/certgate.h"
#include "certgate/policy.h"
#include "config/config_internal.h"

/* A scalar key the YAML did not set: inheritance may fill it, defaults will. */
#define UNSET (-1)

_Static_assert(CFG_ALLOW_KINDS == CERTGATE_ALLOW_COUNT, "allow kinds match policy.h");
_Static_assert(CFG_REASONS == CERTGATE_REASON_MAX, "status slots match certgate.h");

void cfg_policy_unset(struct cfg_policy *p)
{
    p->max_depth = UNSET;
    p->require_client_auth_eku = UNSET;
    p->min_rsa_bits = UNSET;
    p->min_ec_bits = UNSET;
    p->allow_weak_signatures = UNSET;
    p->revocation.mode = REV_UNSET;
}

void cfg_policy_defaults(struct cfg_policy *p)
{
    if (p->max_depth == UNSET)
        p->max_depth = 0;
    if (p->require_client_auth_eku == UNSET)
        p->require_client_auth_eku = 1;
    if (p->min_rsa_bits == UNSET)
        p->min_rsa_bits = CFG_DEFAULT_MIN_RSA_BITS;
    if (p->min_ec_bits == UNSET)
        p->min_ec_bits = CFG_DEFAULT_MIN_EC_BITS;
    if (p->allow_weak_signatures == UNSET)
        p->allow_weak_signatures = 0;
    if (p->revocation.mode == REV_UNSET)
        p->revocation.mode = p->revocation.n_crl ? REV_CRL : REV_OFF;
}

/* An entry of a list of strings, non-empty. */
static int list_entry(struct loader *ld, const struct yt_node *key, const struct yt_node *item)
{
    char what[80];

    snprintf(what, sizeof(what), "an entry of '%s'", key->str);
    if (ld_expect(ld, item, YT_SCALAR, what))
        return -1;
    if (!item->str[0])
        return ld_error(ld, item, "an entry of '%s' must not be empty", key->str);
    return 0;
}

/* A string or a non-empty list of them: 0 with the count in *n, or -1. */
static int list_count(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                      size_t *n)
{
    char buf[64];

    if (val->type == YT_MAP || yt_is_null(val))
        return ld_error(ld, val, "expected a string or a list of strings for '%s', got %s",
                        key->str, ld_describe(val, buf, sizeof(buf)));
    if (val->type == YT_SEQ && val->n == 0)
        return ld_error(ld, val, "'%s' must list at least one value", key->str);
    *n = val->type == YT_SEQ ? val->n : 1;
    return 0;
}

/* Entry <i> of what list_count counted: a single string is its own entry. */
static const struct yt_node *list_item(const struct yt_node *val, size_t i)
{
    return val->type == YT_SEQ ? val->items[i] : val;
}

/* ---- allowed_issuers ---- */

static int issuer_dn(struct loader *ld, const struct yt_node *item, char **dst)
{
    char why[256] = "";
    X509_NAME *name = certgate_dn_parse(item->str, why, sizeof(why));

    if (!name)
        return ld_error(ld, item, "invalid issuer DN '%s': %s", item->str, why);
    X509_NAME_free(name);
    *dst = strdup(item->str);
    return *dst ? 0 : ld_error(ld, item, "out of memory");
}

static int issuer_file(struct loader *ld, const struct yt_node *item, char **dst)
{
    char msg[sizeof(ld->err->msg)];

    *dst = cfg_abspath(ld->cfg->dir, item->str);
    if (!*dst)
        return ld_error(ld, item, "out of memory");
    if (cfg_check_cert_file(*dst, item->str, msg, sizeof(msg)))
        return ld_error(ld, item, "%s", msg);
    return 0;
}

static int h_issuers(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                     void *obj, const struct key_rule *r)
{
    struct cfg_policy *p = obj;
    size_t n = 0;

    if (list_count(ld, key, val, &n))
        return -1;
    p->allowed_issuer_dns = calloc(n, sizeof(char *));
    p->allowed_issuer_files = calloc(n, sizeof(char *));
    if (!p->allowed_issuer_dns || !p->allowed_issuer_files)
        return ld_error(ld, val, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct yt_node *item = list_item(val, i);

        if (list_entry(ld, key, item))
            return -1;
        /* an RFC 4514 DN always has '=', a file name practically never */
        /* counted before the check, so that config_free finds what it allocated */
        if (strchr(item->str, '=')) {
            if (issuer_dn(ld, item, &p->allowed_issuer_dns[p->n_allowed_issuer_dns++]))
                return -1;
        } else if (issuer_file(ld, item, &p->allowed_issuer_files[p->n_allowed_issuer_files++])) {
            return -1;
        }
    }
    /* a kind with no entry stays NULL, as if never allocated */
    if (!p->n_allowed_issuer_dns) {
        free(p->allowed_issuer_dns);
        p->allowed_issuer_dns = NULL;
    }
    if (!p->n_allowed_issuer_files) {
        free(p->allowed_issuer_files);
        p->allowed_issuer_files = NULL;
    }
    return 0;
}

/* ---- numbers ---- */

static int h_int(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                 const struct key_rule *r)
{
    long lo = 1, hi = INT_MAX, v = 0;

    if (strcmp(r->name, "min_rsa_bits") == 0) {
        lo = CFG_MIN_RSA_BITS_LO;
        hi = CFG_MIN_RSA_BITS_HI;
    } else if (strcmp(r->name, "min_ec_bits") == 0) {
        lo = CFG_MIN_EC_BITS_LO;
        hi = CFG_MIN_EC_BITS_HI;
    }
    if (ld_whole(ld, key, val, lo, hi, &v))
        return -1;
    *LD_FIELD(obj, r, int) = (int)v;
    return 0;
}

/* ---- allow ---- */

static const char *const allow_names[CFG_ALLOW_KINDS] = {"sha1",    "sha256",    "cn", "san_dns",
                                                         "san_uri", "san_email", "ou", "serial"};

/* A sha1 / sha256 / serial entry: hex, stored normalised (uppercase, no ':'). */
static int allow_hex(struct loader *ld, enum certgate_allow_kind kind, const struct yt_node *item,
                     char **dst)
{
    static const char *const what[] = {[CERTGATE_ALLOW_SHA1] = "a SHA-1 thumbprint has 40",
                                       [CERTGATE_ALLOW_SHA256] = "a SHA-256 thumbprint has 64"};
    size_t want = kind == CERTGATE_ALLOW_SHA1 ? 40 : kind == CERTGATE_ALLOW_SHA256 ? 64 : 0;
    char *out = malloc(item->len + 1);
    int len;

    if (!out)
        return ld_error(ld, item, "out of memory");
    *dst = out;
    len = certgate_hex_normalize(item->str, out, item->len + 1);
    if (len < 0)
        return ld_error(ld, item,
                        "'%s' entry '%s' is not hex (digits 0-9 and A-F; ':' and spaces are "
                        "ignored)",
                        allow_names[kind], item->str);
    if (len == 0)
        return ld_error(ld, item, "'%s' entry '%s' has no hex digits", allow_names[kind],
                        item->str);
    if (want && (size_t)len != want)
        return ld_error(ld, item, "'%s' entry '%s' has %d hex digits; %s", allow_names[kind],
                        item->str, len, what[kind]);
    return 0;
}

static int h_allow_list(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                        void *obj, const struct key_rule *r)
{
    struct cfg_policy *p = obj;
    enum certgate_allow_kind kind = (enum certgate_allow_kind)r->off_n;
    size_t n = 0;

    if (list_count(ld, key, val, &n))
        return -1;
    p->allow[kind] = calloc(n, sizeof(char *));
    if (!p->allow[kind])
        return ld_error(ld, val, "out of memory");
    p->n_allow[kind] = n;
    for (size_t i = 0; i < n; i++) {
        const struct yt_node *item = list_item(val, i);

        if (list_entry(ld, key, item))
            return -1;
        if (kind == CERTGATE_ALLOW_SHA1 || kind == CERTGATE_ALLOW_SHA256 ||
            kind == CERTGATE_ALLOW_SERIAL) {
            if (allow_hex(ld, kind, item, &p->allow[kind][i]))
                return -1;
        } else if (!(p->allow[kind][i] = strdup(item->str))) {
            return ld_error(ld, item, "out of memory");
        }
    }
    return 0;
}

/* off_n carries the allow kind: the handler writes p->allow[kind] itself. */
static const struct key_rule allow_rules[] = {
    {"sha1", h_allow_list, NO_FIELD, CERTGATE_ALLOW_SHA1, 0, NULL, NULL, 0},
    {"sha256", h_allow_list, NO_FIELD, CERTGATE_ALLOW_SHA256, 0, NULL, NULL, 0},
    {"cn", h_allow_list, NO_FIELD, CERTGATE_ALLOW_CN, 0, NULL, NULL, 0},
    {"san_dns", h_allow_list, NO_FIELD, CERTGATE_ALLOW_SAN_DNS, 0, NULL, NULL, 0},
    {"san_uri", h_allow_list, NO_FIELD, CERTGATE_ALLOW_SAN_URI, 0, NULL, NULL, 0},
    {"san_email", h_allow_list, NO_FIELD, CERTGATE_ALLOW_SAN_EMAIL, 0, NULL, NULL, 0},
    {"ou", h_allow_list, NO_FIELD, CERTGATE_ALLOW_OU, 0, NULL, NULL, 0},
    {"serial", h_allow_list, NO_FIELD, CERTGATE_ALLOW_SERIAL, 0, NULL, NULL, 0},
};

static int h_allow(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                   void *obj, const struct key_rule *r)
{
    struct rule_set set = {allow_rules, N_RULES(allow_rules), obj, 0};

    if (ld_expect(ld, val, YT_MAP, "'allow'"))
        return -1;
    /* {} would silently allow every identity; leaving 'allow' out says so plainly */
    if (val->n == 0)
        return ld_error(ld, val,
                        "'allow' must give at least one list (to allow every identity, leave "
                        "'allow' out)");
    return ld_walk(ld, val, "in 'allow'", &set, 1);
}

/* ---- status ---- */

static void reason_names(char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = CERTGATE_OK + 1; i < CERTGATE_REASON_MAX && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                         certgate_reason_code((enum certgate_reason)i));
        used += w > 0 ? (size_t)w : 0;
    }
}

static int h_status(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                    void *obj, const struct key_rule *r)
{
    struct cfg_policy *p = obj;
    char valid[320];

    if (ld_expect(ld, val, YT_MAP, "'status'"))
        return -1;
    for (size_t i = 0; i < val->n; i++) {
        const struct yt_node *k = val->pairs[i].key;
        int reason = 0;
        long v = 0;

        for (int j = CERTGATE_OK + 1; j < CERTGATE_REASON_MAX && !reason; j++)
            if (strcmp(k->str, certgate_reason_code((enum certgate_reason)j)) == 0)
                reason = j;
        if (!reason) {
            reason_names(valid, sizeof(valid));
            return ld_error(ld, k, "unknown reason '%s' in 'status' (valid: %s)", k->str, valid);
        }
        if (ld_whole(ld, k, val->pairs[i].val, 400, 599, &v))
            return -1;
        p->status[reason] = (int)v;
    }
    return 0;
}

/* ---- revocation ---- */

static const struct enum_val revocation_modes[] = {
    {"off", REV_OFF}, {"crl", REV_CRL}, {"ocsp", REV_OCSP}, {NULL, 0}};
static const struct enum_val fail_modes[] = {{"closed", 0}, {"open", 1}, {NULL, 0}};
static const struct enum_val scopes[] = {{"leaf", 0}, {"chain", 1}, {NULL, 0}};

static const struct key_rule revocation_rules[] = {
    {"mode", ld_enum, offsetof(struct cfg_revocation, mode), 0, 0, revocation_modes, NULL, 0},
    {"fail", ld_enum, offsetof(struct cfg_revocation, fail_open), 0, 0, fail_modes, NULL, 0},
    {"crl", ld_crl_files, offsetof(struct cfg_revocation, crl),
     offsetof(struct cfg_revocation, n_crl), 0, NULL, NULL, 0},
    {"scope", ld_enum, offsetof(struct cfg_revocation, scope_chain), 0, 0, scopes, NULL, 0},
    {"crl_refresh", ld_duration, offsetof(struct cfg_revocation, refresh_ms), 0, 0, NULL, NULL, 0},
    {"ocsp_url", ld_str, offsetof(struct cfg_revocation, ocsp_url), 0, 0, NULL, NULL, 0},
    {"ocsp_nonce", ld_bool, offsetof(struct cfg_revocation, ocsp_nonce), 0, 0, NULL, NULL, 0},
    {"ocsp_timeout", ld_duration, offsetof(struct cfg_revocation, ocsp_timeout_ms), 0, 0, NULL,
     NULL, 0},
    {"cache", ld_duration, offsetof(struct cfg_revocation, cache_ms), 0, 0, NULL, NULL, 0},
    {"crl_fetch", ld_bool, offsetof(struct cfg_revocation, crl_fetch), 0, 0, NULL, NULL, 0},
    {"crl_timeout", ld_duration, offsetof(struct cfg_revocation, crl_timeout_ms), 0, 0, NULL, NULL,
     0},
};

static int h_revocation(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                        void *obj, const struct key_rule *r)
{
    struct cfg_revocation *rv = &((struct cfg_policy *)obj)->revocation;
    if (ld_map(ld, key, val, obj, r))
        return -1;
    if (rv->mode == REV_UNSET)
        rv->mode = rv->n_crl || rv->crl_fetch ? REV_CRL : REV_OFF;
    if (rv->mode == REV_CRL && rv->n_crl == 0 && !rv->crl_fetch)
        return ld_error(ld, val, "revocation mode 'crl' needs 'crl: [files]' or 'crl_fetch: true'");
    if (rv->crl_fetch && rv->mode != REV_CRL)
        return ld_error(ld, yt_map_key(val, "crl_fetch"),
                        "'crl_fetch' needs revocation mode 'crl'");
    return 0;
}

/* ---- the tables ---- */

const struct key_rule cfg_policy_rules[] = {
    {"trusted_ca", ld_cert_files, offsetof(struct cfg_policy, trusted_ca),
     offsetof(struct cfg_policy, n_trusted_ca), 0, NULL, NULL, 0},
    {"intermediates", ld_cert_files, offsetof(struct cfg_policy, intermediates),
     offsetof(struct cfg_policy, n_intermediates), 0, NULL, NULL, 0},
    {"allowed_issuers", h_issuers, 0, 0, 0, NULL, NULL, 0},
    {"max_depth", h_int, offsetof(struct cfg_policy, max_depth), 0, 0, NULL, NULL, 0},
    {"require_client_auth_eku", ld_bool, offsetof(struct cfg_policy, require_client_auth_eku), 0, 0,
     NULL, NULL, 0},
    {"min_rsa_bits", h_int, offsetof(struct cfg_policy, min_rsa_bits), 0, 0, NULL, NULL, 0},
    {"min_ec_bits", h_int, offsetof(struct cfg_policy, min_ec_bits), 0, 0, NULL, NULL, 0},
    {"allow_weak_signatures", ld_bool, offsetof(struct cfg_policy, allow_weak_signatures), 0, 0,
     NULL, NULL, 0},
    {"allow", h_allow, 0, 0, 0, NULL, NULL, 0},
    {"status", h_status, 0, 0, 0, NULL, NULL, 0},
    {"revocation", h_revocation, offsetof(struct cfg_policy, revocation), 0, 0, NULL,
     revocation_rules, N_RULES(revocation_rules)},
};
const size_t cfg_policy_n_rules = N_RULES(cfg_policy_rules);

/* Keys only a named policy has. */
static const struct key_rule named_policy_rules[] = {
    {"inherit", ld_str, offsetof(struct cfg_policy, inherit), 0, 0, NULL, NULL, 0},
};

int ld_policy_finish(struct loader *ld, const struct yt_node *at, struct cfg_policy *p,
                     const char *where)
{
    if (p->n_trusted_ca == 0)
        return ld_error(ld, at, "missing required key 'trusted_ca' %s", where);
    cfg_policy_defaults(p);
    return 0;
}

/* ---- inherit ---- */

static int strv_copy(char ***dst, size_t *n_dst, char *const *src, size_t n)
{
    if (n == 0)
        return 0;
    *dst = calloc(n, sizeof(char *));
    if (!*dst)
        return -1;
    *n_dst = n;
    for (size_t i = 0; i < n; i++)
        if (!((*dst)[i] = strdup(src[i])))
            return -1;
    return 0;
}

/* Every key <c> did not set, from <parent>. Lists are copied, never shared,
 * so that each policy frees its own. */
static int inherit_from(struct cfg_policy *c, const struct cfg_policy *parent)
{
    int *scalars[] = {&c->max_depth, &c->require_client_auth_eku, &c->min_rsa_bits, &c->min_ec_bits,
                      &c->allow_weak_signatures};
    const int *pscalars[] = {&parent->max_depth, &parent->require_client_auth_eku,
                             &parent->min_rsa_bits, &parent->min_ec_bits,
                             &parent->allow_weak_signatures};
    size_t allow_set = 0;
    int rc = 0;

    if (!c->n_trusted_ca)
        rc |= strv_copy(&c->trusted_ca, &c->n_trusted_ca, parent->trusted_ca, parent->n_trusted_ca);
    if (!c->n_intermediates)
        rc |= strv_copy(&c->intermediates, &c->n_intermediates, parent->intermediates,
                        parent->n_intermediates);
    if (!c->n_allowed_issuer_dns && !c->n_allowed_issuer_files) {
        rc |= strv_copy(&c->allowed_issuer_dns, &c->n_allowed_issuer_dns,
                        parent->allowed_issuer_dns, parent->n_allowed_issuer_dns);
        rc |= strv_copy(&c->allowed_issuer_files, &c->n_allowed_issuer_files,
                        parent->allowed_issuer_files, parent->n_allowed_issuer_files);
    }
    for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
        if (*scalars[i] == UNSET)
            *scalars[i] = *pscalars[i];
    /* 'allow' is one key: a child's allowlist replaces the parent's whole, so
     * that inheriting never lets in identities the child does not list */
    for (int k = 0; k < CFG_ALLOW_KINDS; k++)
        allow_set += c->n_allow[k];
    for (int k = 0; k < CFG_ALLOW_KINDS && !allow_set; k++)
        rc |= strv_copy(&c->allow[k], &c->n_allow[k], parent->allow[k], parent->n_allow[k]);
    for (int r = 0; r < CFG_REASONS; r++)
        if (!c->status[r])
            c->status[r] = parent->status[r];
    if (c->revocation.mode == REV_UNSET) {
        c->revocation.mode = parent->revocation.mode;
        c->revocation.fail_open = parent->revocation.fail_open;
        c->revocation.scope_chain = parent->revocation.scope_chain;
        c->revocation.refresh_ms = parent->revocation.refresh_ms;
        c->revocation.ocsp_nonce = parent->revocation.ocsp_nonce;
        c->revocation.ocsp_timeout_ms = parent->revocation.ocsp_timeout_ms;
        c->revocation.cache_ms = parent->revocation.cache_ms;
        c->revocation.crl_fetch = parent->revocation.crl_fetch;
        c->revocation.crl_timeout_ms = parent->revocation.crl_timeout_ms;
        if (parent->revocation.ocsp_url &&
            !(c->revocation.ocsp_url = strdup(parent->revocation.ocsp_url)))
            rc = -1;
        rc |= strv_copy(&c->revocation.crl, &c->revocation.n_crl, parent->revocation.crl,
                        parent->revocation.n_crl);
    }
    return rc ? -1 : 0;
}

enum { FRESH = 0, ACTIVE, DONE };

struct inherit_walk {
    const struct yt_node *map; /* the 'policies' mapping */
    unsigned char *state;      /* per policy */
    size_t *path;              /* the policies being resolved, outermost first */
    size_t depth;
};

static int resolve_one(struct loader *ld, struct inherit_walk *w, size_t i)
{
    struct config *cfg = ld->cfg;
    struct cfg_policy *p = &cfg->policies[i];
    const struct yt_node *at = yt_map_get(w->map->pairs[i].val, "inherit");
    char names[256];
    size_t j, used = 0;

    w->state[i] = ACTIVE;
    w->path[w->depth++] = i;
    if (p->inherit) {
        for (j = 0; j < cfg->n_policies; j++)
            if (strcmp(cfg->policies[j].name, p->inherit) == 0)
                break;
        if (j == cfg->n_policies) {
            for (size_t k = 0; k < cfg->n_policies && used < sizeof(names); k++) {
                int n = snprintf(names + used, sizeof(names) - used, "%s%s", k ? ", " : "",
                                 cfg->policies[k].name);
                used += n > 0 ? (size_t)n : 0;
            }
            return ld_error(ld, at,
                            "policy '%s' inherits from undefined policy '%s' "
                            "(defined policies: %s)",
                            p->name, p->inherit, names);
        }
        if (w->state[j] == ACTIVE) {
            size_t from = 0;

            while (w->path[from] != j)
                from++;
            names[0] = '\0';
            for (size_t k = from; k < w->depth && used < sizeof(names); k++) {
                int n = snprintf(names + used, sizeof(names) - used, "%s -> ",
                                 cfg->policies[w->path[k]].name);
                used += n > 0 ? (size_t)n : 0;
            }
            return ld_error(ld, at, "'inherit' makes a cycle: %s%s", names, cfg->policies[j].name);
        }
        if (w->state[j] == FRESH && resolve_one(ld, w, j))
            return -1;
        if (inherit_from(p, &cfg->policies[j]))
            return ld_error(ld, at, "out of memory");
    }
    w->depth--;
    w->state[i] = DONE;
    return 0;
}

/* Parents first, each policy once; then what every complete policy needs. */
static int resolve_policies(struct loader *ld, const struct yt_node *map)
{
    struct config *cfg = ld->cfg;
    struct inherit_walk w = {map, calloc(cfg->n_policies + 1, 1),
                             calloc(cfg->n_policies + 1, sizeof(size_t)), 0};
    char where[160];
    int rc = 0;

    if (!w.state || !w.path)
        rc = ld_error(ld, map, "out of memory");
    for (size_t i = 0; i < cfg->n_policies && !rc; i++)
        if (w.state[i] == FRESH)
            rc = resolve_one(ld, &w, i);
    for (size_t i = 0; i < cfg->n_policies && !rc; i++) {
        snprintf(where, sizeof(where), "in policy '%.100s'", cfg->policies[i].name);
        rc = ld_policy_finish(ld, map->pairs[i].val, &cfg->policies[i], where);
    }
    free(w.state);
    free(w.path);
    return rc;
}

int ld_policies(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                const struct key_rule *r)
{
    struct config *cfg = obj;
    char what[160];

    if (ld_expect(ld, val, YT_MAP, "'policies'"))
        return -1;
    cfg->policies = calloc(val->n ? val->n : 1, sizeof(*cfg->policies));
    if (!cfg->policies)
        return ld_error(ld, val, "out of memory");
    cfg->n_policies = val->n;
    for (size_t i = 0; i < val->n; i++) {
        const struct yt_node *name = val->pairs[i].key, *body = val->pairs[i].val;
        struct cfg_policy *p = &cfg->policies[i];
        struct rule_set sets[2] = {{cfg_policy_rules, cfg_policy_n_rules, p, 0},
                                   {named_policy_rules, N_RULES(named_policy_rules), p, 0}};

        cfg_policy_unset(p);
        if (strcmp(name->str, "none") == 0)
            return ld_error(ld, name,
                            "the policy name 'none' is reserved (a route's "
                            "'policy: none' means no check)");
        if (!name->str[0])
            return ld_error(ld, name, "a policy name must not be empty");
        p->name = strdup(name->str);
        if (!p->name)
            return ld_error(ld, name, "out of memory");
        ld_pos(ld, &p->pos, name);
        snprintf(what, sizeof(what), "policy '%.100s'", name->str);
        if (ld_expect(ld, body, YT_MAP, what))
            return -1;
        snprintf(what, sizeof(what), "in policy '%.100s'", name->str);
        if (ld_walk(ld, body, what, sets, 2))
            return -1;
    }
    return resolve_policies(ld, val);
}

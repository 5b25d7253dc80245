/* Listener key client_cert (SPEC §6): the certificate source `header`. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <certgate/certgate.h>

#include "config/config_internal.h"

/* "10.0.0.0/8", "fd00::/8", "127.0.0.1" (a host: /32 or /128). 0 or -1. */
int config_parse_cidr(const char *s, struct cfg_cidr *out)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, buf, out->addr) == 1)
        out->family = AF_INET6;
    else
        return -1;
    int max = out->family == AF_INET ? 32 : 128;
    out->prefix = max;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (slash[1] == 0 || *end || p < 0 || p > max)
            return -1;
        out->prefix = (int)p;
    }
    /* host bits must be zero: "10.1.2.3/8" is a typo more often than a wish */
    for (int bit = out->prefix; bit < max; bit++)
        if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
            return -1;
    return 0;
}

static int h_source(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                    void *obj, const struct key_rule *r)
{
    const char *s;
    if (ld_scalar(ld, key, val, &s))
        return -1;
    if (strcmp(s, "header") == 0)
        ((struct cfg_client_cert *)obj)->from_header = 1;
    else if (strcmp(s, "tls") != 0)
        return ld_error(ld, val, "invalid value '%s' for 'source' (valid: tls, header)", s);
    return 0;
}

/* The forward formats' names (their enum mirrors certgate_format) and "auto". */
static int h_format(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                    void *obj, const struct key_rule *r)
{
    const char *s;
    if (ld_scalar(ld, key, val, &s))
        return -1;
    if (strcmp(s, "auto") == 0) {
        ((struct cfg_client_cert *)obj)->format = CERTGATE_FMT_AUTO;
        return 0;
    }
    for (const struct enum_val *e = cfg_fwd_format_names; e->name; e++)
        if (strcmp(e->name, s) == 0) {
            ((struct cfg_client_cert *)obj)->format = e->value;
            return 0;
        }
    return ld_error(ld, val,
                    "invalid value '%s' for 'format' (valid: auto, base64-der, pem-urlencoded, "
                    "hex, rfc9440, xfcc)",
                    s);
}

static int h_proxies(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                     void *obj, const struct key_rule *r)
{
    struct cfg_client_cert *cc = obj;
    size_t n = val->type == YT_SEQ ? val->n : 1;
    if (val->type != YT_SEQ && val->type != YT_SCALAR)
        return ld_error(ld, val, "expected a list of addresses or networks for 'trusted_proxies'");
    if (n == 0)
        return ld_error(ld, val, "'trusted_proxies' must name at least one address or network");
    cc->trusted_proxies = calloc(n, sizeof(*cc->trusted_proxies));
    if (cc->trusted_proxies == NULL)
        return ld_error(ld, val, "out of memory");
    cc->n_trusted_proxies = n;
    for (size_t i = 0; i < n; i++) {
        const struct yt_node *it = val->type == YT_SEQ ? val->items[i] : val;
        if (ld_expect(ld, it, YT_SCALAR, "an entry of 'trusted_proxies'"))
            return -1;
        if (config_parse_cidr(it->str, &cc->trusted_proxies[i]) < 0)
            return ld_error(ld, it,
                            "'%s' is not an IPv4/IPv6 address or network (like 10.0.0.0/8 or "
                            "fd00::/8, host bits zero)",
                            it->str);
    }
    return 0;
}

static int h_cc_policy(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                       void *obj, const struct key_rule *r)
{
    const char *s;
    if (ld_scalar(ld, key, val, &s))
        return -1;
    return ld_ref(ld, REF_CLIENT_AUTH_POLICY, val, &((struct cfg_client_cert *)obj)->auth);
}

static int h_header(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                    void *obj, const struct key_rule *r)
{
    struct cfg_client_cert *cc = obj;
    const char *s;
    if (ld_scalar(ld, key, val, &s))
        return -1;
    if (!s[0])
        return ld_error(ld, val, "'header' must name a header");
    free(cc->header);
    cc->header = strdup(s);
    return cc->header ? 0 : ld_error(ld, val, "out of memory");
}

static const struct key_rule client_cert_rules[] = {
    {"source", h_source, 0, 0, 1, NULL, NULL, 0},
    {"header", h_header, 0, 0, 0, NULL, NULL, 0},
    {"format", h_format, 0, 0, 0, NULL, NULL, 0},
    {"trusted_proxies", h_proxies, 0, 0, 0, NULL, NULL, 0},
    {"policy", h_cc_policy, 0, 0, 0, NULL, NULL, 0},
};

int ld_client_cert(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                   void *obj, const struct key_rule *r)
{
    struct cfg_client_cert *cc = &((struct cfg_listener *)obj)->client_cert;
    struct rule_set sets[2] = {{client_cert_rules, N_RULES(client_cert_rules), cc, 0},
                               {cfg_policy_rules, cfg_policy_n_rules, NULL, 0}};
    if (ld_expect(ld, val, YT_MAP, "'client_cert'"))
        return -1;
    cc->format = CERTGATE_FMT_AUTO;
    cc->auth.policy = calloc(1, sizeof(*cc->auth.policy));
    if (cc->auth.policy == NULL)
        return ld_error(ld, val, "out of memory");
    cc->auth.policy_inline = 1;
    cfg_policy_unset(cc->auth.policy);
    ld_pos(ld, &cc->auth.policy->pos, val);
    sets[1].obj = cc->auth.policy;
    if (ld_walk(ld, val, "in 'client_cert'", sets, 2))
        return -1;
    int inline_keys = sets[1].seen > 0;
    const struct yt_node *kpolicy = yt_map_key(val, "policy");
    if (!inline_keys) {
        free(cc->auth.policy);
        cc->auth.policy = NULL;
        cc->auth.policy_inline = 0;
    }
    if (!cc->from_header)
        return ld_error(ld, yt_map_get(val, "source"),
                        "'client_cert' with source 'tls' is the default: leave 'client_cert' out, "
                        "or set source: header");
    if (inline_keys && kpolicy)
        return ld_error(ld, kpolicy, "use either 'policy' or inline policy keys, not both");
    if (cc->n_trusted_proxies == 0)
        return ld_error(ld, val,
                        "'client_cert' with source 'header' needs 'trusted_proxies': the header "
                        "is believed only from them");
    if (!cc->header && !(cc->header = strdup("X-ARR-ClientCert")))
        return ld_error(ld, val, "out of memory");
    cc->auth.mode = CA_REQUIRE; /* the policy judges what the proxy forwarded */
    if (inline_keys)
        return ld_policy_finish(ld, val, cc->auth.policy, "for the inline policy of 'client_cert'");
    return 0;
}

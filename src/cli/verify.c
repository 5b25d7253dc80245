/* `certgate verify`: one certificate file judged by libcertgate's policy
 * engine exactly as the gateway would, every check printed, so that an
 * operator can see why a client was refused (docs/verify.md). */
#include "cli/verify.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certgate/certgate.h"
#include "certgate/ocsp.h"
#include "certgate/policy.h"
#include "cli/verify_crl_fetch.h"
#include "cli/verify_ocsp.h"
#include "cli/verify_print.h"
#include "cli/verify_revocation.h"
#include "config/config.h"

#define EXIT_ACCEPTED 0
#define EXIT_REJECTED 1
#define EXIT_USAGE    2
#define MAX_CERT_FILE (4u << 20) /* a leaf and its chain; more is a mistake */
#define MIN_RSA_HI    16384
#define MIN_EC_HI     571

/* A repeatable flag's values, borrowed from argv. */
struct strv {
    const char **v;
    size_t n;
};

struct verify_opts {
    struct strv ca, untrusted, issuer, crl, allow[CERTGATE_ALLOW_COUNT];
    const char *at, *depth, *eku, *min_rsa, *min_ec, *config, *policy, *cert;
    const char *ocsp; /* "" for --ocsp alone (the leaf's responder), else its URL */
    const char *ocsp_timeout, *crl_timeout;
    int weak, json, help, ocsp_get, crl_fetch;
};

/* FLAG_OPT: a value only as --flag=VALUE, or as the next argument when that holds "://" */
enum flag_kind { FLAG_ONE, FLAG_MANY, FLAG_SWITCH, FLAG_OPT };

struct flag {
    const char *name;
    enum flag_kind kind;
    size_t off; /* const char * (ONE), struct strv (MANY) or int (SWITCH) in struct verify_opts */
};

#define OPT(f) offsetof(struct verify_opts, f)
static const struct flag flags[] = {
    {"--ca", FLAG_MANY, OPT(ca)},
    {"--untrusted", FLAG_MANY, OPT(untrusted)},
    {"--issuer", FLAG_MANY, OPT(issuer)},
    {"--at", FLAG_ONE, OPT(at)},
    {"--crl", FLAG_MANY, OPT(crl)},
    {"--crl-fetch", FLAG_SWITCH, OPT(crl_fetch)},
    {"--crl-timeout", FLAG_ONE, OPT(crl_timeout)},
    {"--ocsp", FLAG_OPT, OPT(ocsp)},
    {"--ocsp-timeout", FLAG_ONE, OPT(ocsp_timeout)},
    {"--ocsp-get", FLAG_SWITCH, OPT(ocsp_get)},
    {"--depth", FLAG_ONE, OPT(depth)},
    {"--eku", FLAG_ONE, OPT(eku)},
    {"--allow-sha1", FLAG_MANY, OPT(allow[CERTGATE_ALLOW_SHA1])},
    {"--allow-sha256", FLAG_MANY, OPT(allow[CERTGATE_ALLOW_SHA256])},
    {"--allow-cn", FLAG_MANY, OPT(allow[CERTGATE_ALLOW_CN])},
    {"--allow-san-dns", FLAG_MANY, OPT(allow[CERTGATE_ALLOW_SAN_DNS])},
    {"--allow-san-uri", FLAG_MANY, OPT(allow[CERTGATE_ALLOW_SAN_URI])},
    {"--allow-san-email", FLAG_MANY, OPT(allow[CERTGATE_ALLOW_SAN_EMAIL])},
    {"--allow-ou", FLAG_MANY, OPT(allow[CERTGATE_ALLOW_OU])},
    {"--allow-serial", FLAG_MANY, OPT(allow[CERTGATE_ALLOW_SERIAL])},
    {"--min-rsa-bits", FLAG_ONE, OPT(min_rsa)},
    {"--min-ec-bits", FLAG_ONE, OPT(min_ec)},
    {"--allow-weak-signatures", FLAG_SWITCH, OPT(weak)},
    {"--config", FLAG_ONE, OPT(config)},
    {"--policy", FLAG_ONE, OPT(policy)},
    {"--json", FLAG_SWITCH, OPT(json)},
    {"--help", FLAG_SWITCH, OPT(help)},
};

static const char usage_line[] =
    "usage: certgate verify [flags] cert.pem   (certgate verify --help lists the flags)\n";

static const char usage_full[] =
    "usage: certgate verify [--ca roots.pem]... [--untrusted chain.pem]... [--issuer DN|file]...\n"
    "         [--at 2024-02-02T08:00:00Z] [--crl file]... [--crl-fetch] [--crl-timeout 5s]\n"
    "         [--ocsp [URL]] [--ocsp-timeout 5s] [--ocsp-get] [--depth N]\n"
    "         [--eku clientAuth|serverAuth|any|none] [--allow-sha1 X] [--allow-sha256 X]\n"
    "         [--allow-cn X] [--allow-san-dns X] [--allow-san-uri X] [--allow-san-email X]\n"
    "         [--allow-ou X] [--allow-serial X] [--min-rsa-bits N] [--min-ec-bits N]\n"
    "         [--allow-weak-signatures] [-c certgate.yaml --policy NAME] [--json] cert.pem\n";

static const char help_text[] =
    "\n"
    "Judges cert.pem (PEM: the leaf, then the chain the client would send; or one DER\n"
    "certificate; - reads stdin) as certgate would, and prints every check and the verdict.\n"
    "Each flag takes its value as --flag VALUE or --flag=VALUE; flags marked + repeat.\n"
    "\n"
    "Trust and chain:\n"
    "  --ca FILE              + trusted CA certificates (trusted_ca); required without -c\n"
    "  --untrusted FILE       + helper certificates for building the chain (intermediates)\n"
    "  --issuer DN|FILE       + allowed issuers (allowed_issuers): an RFC 4514 DN (with =),\n"
    "                         else a CA certificate file\n"
    "  --depth N              maximum chain depth (max_depth), 1 or more\n"
    "  --eku VALUE            clientAuth (default), serverAuth, any (an EKU that is present\n"
    "                         is still read) or none\n"
    "  --min-rsa-bits N       smallest RSA key accepted in the chain (default 2048)\n"
    "  --min-ec-bits N        smallest EC key accepted in the chain (default 256)\n"
    "  --allow-weak-signatures  accept MD5 and SHA-1 signatures\n"
    "  --at TIME              judge at this UTC time (2024-02-02T08:00:00Z) instead of now\n"
    "\n"
    "Revocation:\n"
    "  --crl FILE             + PEM or DER CRLs; given at all, the leaf's issuer must have one\n"
    "  --crl-fetch            fetch the leaf's CRL from its first http:// CRL distribution\n"
    "                         point, as crl_fetch: true does; it must be signed by the issuer\n"
    "                         from the built chain, and joins the revocation check\n"
    "  --crl-timeout D        500ms, 5s (default), up to 10m; needs --crl-fetch\n"
    "  --ocsp [URL]           ask the certificate's OCSP responder (its authorityInfoAccess),\n"
    "                         or URL (http:// only, as --ocsp URL or --ocsp=URL), with the\n"
    "                         issuer from the built chain; the answer joins the revocation\n"
    "                         check\n"
    "  --ocsp-timeout D       500ms, 5s (default), up to 10m; needs --ocsp\n"
    "  --ocsp-get             a GET when the request fits in 255 bytes, else a POST; needs\n"
    "                         --ocsp\n"
    "\n"
    "Identity (allow lists, any entry matches):\n"
    "  --allow-sha1 X         + SHA-1 thumbprint (hex, colons allowed)\n"
    "  --allow-sha256 X       + SHA-256 thumbprint\n"
    "  --allow-cn X           + subject common name\n"
    "  --allow-san-dns X      + DNS subject alternative name\n"
    "  --allow-san-uri X      + URI subject alternative name\n"
    "  --allow-san-email X    + email subject alternative name\n"
    "  --allow-ou X           + subject organizational unit\n"
    "  --allow-serial X       + serial number (hex)\n"
    "\n"
    "Policy from a config:\n"
    "  -c, --config FILE      a certgate config; needs --policy\n"
    "  --policy NAME          judge with this policy of the config, as the gateway loads it;\n"
    "                         list flags then add to it, the others override it\n"
    "\n"
    "Output:\n"
    "  --json                 one JSON object on stdout instead of the text\n"
    "  -h, --help             print this help\n"
    "\n"
    "Exit status: 0 accepted, 1 rejected, 2 usage error.\n";

enum { PLAIN = 0, USAGE = 1 }; /* a problem with a file or policy, or with the flags */

static int fail(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "certgate verify: <message>" on stderr (and the usage line for USAGE). */
static int fail(int kind, const char *fmt, ...)
{
    va_list ap;

    fputs("certgate verify: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (kind == USAGE)
        fputs(usage_line, stderr);
    return EXIT_USAGE;
}

/* ---- the command line ---- */

static int record(struct verify_opts *o, const struct flag *f, const char *name, const char *v,
                  size_t max)
{
    char *base = (char *)o;
    struct strv *list;

    if (f->kind == FLAG_SWITCH) {
        *(int *)(base + f->off) = 1;
        return 0;
    }
    if (f->kind == FLAG_ONE || f->kind == FLAG_OPT) {
        const char **dst = (const char **)(base + f->off);
        if (*dst)
            return fail(USAGE, "%s: given more than once", name);
        *dst = v;
        return 0;
    }
    list = (struct strv *)(base + f->off);
    if (!list->v && !(list->v = calloc(max, sizeof(*list->v))))
        return fail(PLAIN, "out of memory");
    list->v[list->n++] = v;
    return 0;
}

/* "--flag VALUE", "--flag=VALUE", "-c FILE" and one certificate file. */
static int scan(int argc, char **argv, struct verify_opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *eq, *v = NULL;
        const struct flag *f = NULL;
        char name[64];
        size_t len;

        if (strcmp(arg, "-") == 0 || arg[0] != '-') {
            if (o->cert)
                return fail(USAGE, "'%s': only one certificate file is judged at a time", arg);
            o->cert = arg;
            continue;
        }
        if (strcmp(arg, "-c") == 0)
            arg = "--config";
        else if (strcmp(arg, "-h") == 0)
            arg = "--help";
        eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        len = eq ? (size_t)(eq - arg) : strlen(arg);
        for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]) && !f; k++)
            if (strlen(flags[k].name) == len && strncmp(flags[k].name, arg, len) == 0)
                f = &flags[k];
        snprintf(name, sizeof(name), "%.*s", (int)(len < 60 ? len : 60), arg);
        if (!f)
            return fail(USAGE, "%s: unknown flag", name);
        if (f->kind == FLAG_SWITCH && eq)
            return fail(USAGE, "%s: takes no value", name);
        if (f->kind == FLAG_OPT && !eq)
            v = i + 1 < argc && strstr(argv[i + 1], "://") ? argv[++i] : "";
        else if (f->kind != FLAG_SWITCH) {
            if (eq)
                v = eq + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            else
                return fail(USAGE, "%s: needs a value", name);
            if (!*v)
                return fail(USAGE, "%s: needs a value", name);
        }
        if (record(o, f, name, v, (size_t)argc))
            return EXIT_USAGE;
    }
    return 0;
}

static int whole(const char *flag, const char *s, long lo, long hi, int *out)
{
    char *end;
    long v;

    if (s[0] >= '0' && s[0] <= '9') {
        v = strtol(s, &end, 10);
        if (*end == '\0' && v >= lo && v <= hi) {
            *out = (int)v;
            return 0;
        }
    }
    return fail(USAGE, "%s: expected a whole number from %ld to %ld, got '%s'", flag, lo, hi, s);
}

/* "2024-02-02T08:00:00Z", and nothing looser: a wrong time must not pass quietly. */
static int parse_at(const char *s, time_t *at)
{
    struct tm tm = {0}, back;
    int n = -1;
    time_t t;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != (int)strlen(s) || strlen(s) != 20)
        return fail(USAGE, "--at: expected a UTC time as 2024-02-02T08:00:00Z, got '%s'", s);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    back = tm;
    t = timegm(&back);
    if (t == (time_t)-1 || back.tm_mday != tm.tm_mday || back.tm_mon != tm.tm_mon ||
        back.tm_hour != tm.tm_hour || back.tm_min != tm.tm_min || back.tm_sec != tm.tm_sec)
        return fail(USAGE, "--at: '%s' is not a valid date and time", s);
    if (t <= 0) /* 0 means "now" to the policy engine */
        return fail(USAGE, "--at: '%s' is before 1970-01-01T00:00:01Z", s);
    *at = t;
    return 0;
}

/* ---- the certificate file ---- */

/* The whole file (or stdin for "-"); NULL with the reason printed. */
static unsigned char *read_all(const char *path, const char *shown, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    unsigned char *buf = NULL, *nb;
    size_t cap = 0, got = 0, n;
    const char *why = NULL;

    if (!f) {
        fail(PLAIN, "cannot open '%s': %s", shown, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (got == cap) {
            cap = cap ? cap * 2 : 16384;
            if (cap > MAX_CERT_FILE) {
                why = "it is larger than 4 MiB";
                break;
            }
            if (!(nb = realloc(buf, cap))) {
                why = "out of memory";
                break;
            }
            buf = nb;
        }
        n = fread(buf + got, 1, cap - got, f);
        got += n;
        if (n == 0)
            break;
    }
    if (!why && ferror(f))
        why = strerror(errno);
    if (f != stdin)
        fclose(f);
    if (why) {
        fail(PLAIN, "cannot read '%s': %s", shown, why);
        free(buf);
        return NULL;
    }
    *len = got;
    return buf;
}

/* The leaf and what follows it in a PEM file (private keys are skipped), or one
 * DER certificate. 0, or EXIT_USAGE with the reason printed. */
static int read_cert_file(const char *path, X509 **leaf, STACK_OF(X509) **presented)
{
    const char *shown = strcmp(path, "-") == 0 ? "standard input" : path;
    size_t len = 0;
    unsigned char *data = read_all(path, shown, &len);
    const unsigned char *p = data;
    int count = 0, bad;
    BIO *bio;
    X509 *x;

    if (!data)
        return EXIT_USAGE;
    *presented = sk_X509_new_null();
    if (!*presented) {
        free(data);
        return fail(PLAIN, "out of memory");
    }
    if (memmem(data, len, "-----BEGIN", 10)) {
        ERR_clear_error();
        bio = BIO_new_mem_buf(data, (int)len);
        while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
            if (!*leaf)
                *leaf = x;
            else if (!sk_X509_push(*presented, x))
                X509_free(x);
            count++;
        }
        BIO_free(bio);
        /* the loop ends at the end of the file, or at a certificate it cannot read */
        bad = ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE;
        ERR_clear_error();
        if (bad) {
            free(data);
            return fail(PLAIN, "cannot read certificate %d in '%s'", count + 1, shown);
        }
    } else {
        *leaf = d2i_X509(NULL, &p, (long)len);
        if (*leaf && p != data + len) {
            X509_free(*leaf);
            *leaf = NULL;
        }
    }
    free(data);
    if (!*leaf)
        return fail(PLAIN, "no certificate in '%s' (expected PEM, or one DER certificate)", shown);
    return 0;
}

/* ---- the policy ---- */

/* Lists of the spec, owned here: the config's entries, then the flags'. */
struct spec_lists {
    const char **v[5 + CERTGATE_ALLOW_COUNT];
    size_t n;
};

/* *out = <a> then <b>, owned by <own> (NULL when both are empty). 0 or -1. */
static int join(struct spec_lists *own, char *const *a, size_t na, const struct strv *b,
                const char *const **out, size_t *n)
{
    const char **v;

    *n = na + b->n;
    *out = NULL;
    if (*n == 0)
        return 0;
    v = calloc(*n, sizeof(*v));
    if (!v)
        return -1;
    own->v[own->n++] = v;
    for (size_t i = 0; i < na; i++)
        v[i] = a[i];
    for (size_t i = 0; i < b->n; i++)
        v[na + i] = b->v[i];
    *out = v;
    return 0;
}

static void lists_free(struct spec_lists *own)
{
    for (size_t i = 0; i < own->n; i++)
        free(own->v[i]);
    own->n = 0;
}

static const struct cfg_policy *find_policy(const struct config *cfg, const char *name)
{
    char names[256] = "";
    size_t used = 0;

    for (size_t i = 0; i < cfg->n_policies; i++)
        if (strcmp(cfg->policies[i].name, name) == 0)
            return &cfg->policies[i];
    for (size_t i = 0; i < cfg->n_policies && used < sizeof(names); i++) {
        int w = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                         cfg->policies[i].name);
        used += w > 0 ? (size_t)w : 0;
    }
    fail(PLAIN, "--policy: no policy '%s' in '%s' (%s%s)", name, cfg->path,
         cfg->n_policies ? "defined policies: " : "it defines none", names);
    return NULL;
}

static int eku_value(const char *s, enum certgate_eku *eku)
{
    /* in enum certgate_eku order */
    static const char *const names[] = {"clientAuth", "serverAuth", "any", "none"};

    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *eku = (enum certgate_eku)i;
            return 0;
        }
    return fail(USAGE, "--eku: invalid value '%s' (valid: clientAuth, serverAuth, any, none)", s);
}

/* The spec: <cp>'s keys (may be NULL), then the flags. 0 or EXIT_USAGE. */
static int build_spec(const struct verify_opts *o, const struct cfg_policy *cp,
                      struct certgate_policy_spec *sp, struct spec_lists *own)
{
    static char *const none[1] = {NULL};
    struct strv dns = {0}, files = {0};
    int rc = 0;

    memset(sp, 0, sizeof(*sp));
    dns.v = calloc(o->issuer.n + 1, sizeof(*dns.v));
    files.v = calloc(o->issuer.n + 1, sizeof(*files.v));
    if (!dns.v || !files.v) {
        rc = fail(PLAIN, "out of memory");
        goto out;
    }
    /* as in the config: an entry with '=' is a DN, any other a CA file */
    for (size_t i = 0; i < o->issuer.n; i++)
        if (strchr(o->issuer.v[i], '='))
            dns.v[dns.n++] = o->issuer.v[i];
        else
            files.v[files.n++] = o->issuer.v[i];
#define CP(field) (cp ? cp->field : none), (cp ? cp->n_##field : 0)
/* the policy's CRLs, as the gateway loads them whenever revocation is on */
#define CP_CRL(field) (cp && cp->revocation.mode > REV_OFF ? cp->revocation.field : 0)
    if (join(own, CP(trusted_ca), &o->ca, &sp->trusted_ca, &sp->n_trusted_ca) ||
        join(own, CP(intermediates), &o->untrusted, &sp->intermediates, &sp->n_intermediates) ||
        join(own, CP(allowed_issuer_dns), &dns, &sp->allowed_issuer_dns,
             &sp->n_allowed_issuer_dns) ||
        join(own, CP(allowed_issuer_files), &files, &sp->allowed_issuer_files,
             &sp->n_allowed_issuer_files) ||
        join(own, CP_CRL(crl), CP_CRL(n_crl), &o->crl, &sp->crl_files, &sp->n_crl_files)) {
        rc = fail(PLAIN, "out of memory");
        goto out;
    }
#undef CP
#undef CP_CRL
    for (int k = 0; k < CERTGATE_ALLOW_COUNT; k++)
        if (join(own, cp ? cp->allow[k] : none, cp ? cp->n_allow[k] : 0, &o->allow[k],
                 &sp->allow[k], &sp->n_allow[k])) {
            rc = fail(PLAIN, "out of memory");
            goto out;
        }
    sp->eku = CERTGATE_EKU_CLIENT_AUTH;
    if (cp) {
        sp->max_depth = cp->max_depth;
        sp->eku = cp->require_client_auth_eku ? CERTGATE_EKU_CLIENT_AUTH : CERTGATE_EKU_NONE;
        sp->min_rsa_bits = cp->min_rsa_bits;
        sp->min_ec_bits = cp->min_ec_bits;
        sp->allow_weak_signatures = cp->allow_weak_signatures;
        sp->crl_scope_chain = cp->revocation.mode > REV_OFF && cp->revocation.scope_chain;
    }
    if ((o->depth && (rc = whole("--depth", o->depth, 1, INT_MAX, &sp->max_depth))) ||
        (o->eku && (rc = eku_value(o->eku, &sp->eku))) ||
        (o->min_rsa &&
         (rc = whole("--min-rsa-bits", o->min_rsa, 1, MIN_RSA_HI, &sp->min_rsa_bits))) ||
        (o->min_ec && (rc = whole("--min-ec-bits", o->min_ec, 1, MIN_EC_HI, &sp->min_ec_bits))))
        goto out;
    if (o->weak)
        sp->allow_weak_signatures = 1;
out:
    free(dns.v);
    free(files.v);
    return rc;
}

/* ---- the command ---- */

struct verify_run {
    struct verify_opts o;
    struct config *cfg;
    const struct cfg_policy *cp;
    struct spec_lists own;
    struct certgate_policy_spec spec;
    struct certgate_policy *policy;
    X509 *leaf;
    STACK_OF(X509) *presented;
    struct certgate_identity id;
    struct verify_ocsp q;
    struct verify_crl_fetch f;
    char rev_line[1100]; /* the revocation check's sentence, when it outgrows the report's */
    int rev_line_set;
};

static void run_free(struct verify_run *r)
{
    free(r->o.ca.v);
    free(r->o.untrusted.v);
    free(r->o.issuer.v);
    free(r->o.crl.v);
    for (int k = 0; k < CERTGATE_ALLOW_COUNT; k++)
        free(r->o.allow[k].v);
    lists_free(&r->own);
    certgate_policy_free(r->policy);
    config_free(r->cfg);
    X509_free(r->leaf);
    sk_X509_pop_free(r->presented, X509_free);
    certgate_identity_free(&r->id);
}

/* Flags, config, certificate and policy: 0 or EXIT_USAGE (reason printed). */
static int prepare(struct verify_run *r, int argc, char **argv, time_t *at)
{
    struct cfg_error cerr;
    char err[512] = "";
    int rc;

    if ((rc = scan(argc, argv, &r->o)))
        return rc;
    if (r->o.help) {
        fputs(usage_full, stdout);
        fputs(help_text, stdout);
        return -1;
    }
    if (!r->o.cert)
        return fail(USAGE, "no certificate file given");
    if (r->o.config && !r->o.policy)
        return fail(USAGE, "-c: needs --policy NAME (the policy to judge with)");
    if (r->o.policy && !r->o.config)
        return fail(USAGE, "--policy: needs -c FILE (the config that defines it)");
    if (!r->o.config && !r->o.ca.n)
        return fail(USAGE, "--ca is required without -c (the trusted CA certificates)");
    if (r->o.at && (rc = parse_at(r->o.at, at)))
        return rc;
    if (r->o.config) {
        r->cfg = config_load(r->o.config, &cerr);
        if (!r->cfg)
            return fail(PLAIN, "%s", cerr.msg);
        r->cp = find_policy(r->cfg, r->o.policy);
        if (!r->cp)
            return EXIT_USAGE;
    }
    /* mode: ocsp asks as the gateway does; --ocsp URL and --ocsp-timeout still win */
    if (r->cp && r->cp->revocation.mode == REV_OCSP && !r->o.ocsp)
        r->o.ocsp = "";
    if (verify_ocsp_flags(&r->q, r->o.ocsp, r->o.ocsp_timeout, r->o.ocsp_get, err, sizeof(err)))
        return fail(USAGE, "%s", err);
    if (r->cp && r->cp->revocation.mode == REV_OCSP) {
        const struct cfg_revocation *rv = &r->cp->revocation;

        if (!r->q.url)
            r->q.url = rv->ocsp_url;
        if (!r->o.ocsp_timeout && rv->ocsp_timeout_ms)
            r->q.timeout_ms = rv->ocsp_timeout_ms < 600000 ? (int)rv->ocsp_timeout_ms : 600000;
        r->q.nonce = rv->ocsp_nonce;
    }
    /* crl_fetch: true fetches as the gateway does; --crl-timeout still wins */
    if (r->cp && r->cp->revocation.mode == REV_CRL && r->cp->revocation.crl_fetch)
        r->o.crl_fetch = 1;
    if (verify_crl_fetch_flags(&r->f, r->o.crl_fetch, r->o.crl_timeout, err, sizeof(err)))
        return fail(USAGE, "%s", err);
    if (r->cp && r->cp->revocation.crl_fetch && !r->o.crl_timeout &&
        r->cp->revocation.crl_timeout_ms)
        r->f.timeout_ms = r->cp->revocation.crl_timeout_ms < 600000
                              ? (int)r->cp->revocation.crl_timeout_ms
                              : 600000;
    if ((rc = build_spec(&r->o, r->cp, &r->spec, &r->own)))
        return rc;
    if ((rc = read_cert_file(r->o.cert, &r->leaf, &r->presented)))
        return rc;
    if (certgate_identity_from_x509(r->leaf, &r->id))
        return fail(PLAIN, "cannot read the fields of the certificate in '%s'", r->o.cert);
    r->policy = certgate_policy_new(&r->spec, err, sizeof(err));
    if (!r->policy)
        return fail(PLAIN, "%s", err[0] ? err : "the policy cannot be built");
    return 0;
}

/* The verdict again through the judgement: the fetched CRL's and the OCSP answer folded into
 * the revocation check, and the policy's fail: open applied as the gateway applies it
 * (src/proxy/verdict.c). */
static void revocation_verdict(struct verify_run *r, time_t at, struct certgate_report *rep,
                               struct verify_verdict *v)
{
    struct certgate_judgement j;
    STACK_OF(X509) *chain = NULL;
    const char *decided = NULL; /* the whole sentence of the source that set j.revocation */
    size_t used;

    if (certgate_policy_judge(r->policy, r->leaf, r->presented, &j, NULL, &chain) != 0)
        return; /* the engine's verdict stands */
    snprintf(r->rev_line, sizeof(r->rev_line), "%s", rep->detail[CERTGATE_CHECK_REVOCATION]);
    r->rev_line_set = 1;
    if (r->o.crl_fetch && verify_crl_fetch_apply(&r->f, r->leaf, chain, r->id.subject, at, &j,
                                                 &rep->outcome[CERTGATE_CHECK_REVOCATION],
                                                 r->rev_line, sizeof(r->rev_line)))
        decided = r->f.detail;
    if (r->o.ocsp && verify_ocsp_apply(&r->q, r->leaf, chain, r->id.subject, at, &j,
                                       &rep->outcome[CERTGATE_CHECK_REVOCATION], r->rev_line,
                                       sizeof(r->rev_line)))
        decided = r->q.res.detail;
    if (j.revocation == CERTGATE_REVOCATION_UNKNOWN && r->cp && r->cp->revocation.fail_open) {
        j.revocation = CERTGATE_OK;
        j.crl_this_update = j.crl_next_update = 0;
        used = strlen(r->rev_line);
        snprintf(r->rev_line + used, sizeof(r->rev_line) - used,
                 " (the policy has fail: open, so this does not refuse the certificate)");
    }
    v->reason = certgate_judgement_at(&j, at, v->detail, sizeof(v->detail));
    if (decided && v->reason == j.revocation && strcmp(v->detail, j.revocation_detail) == 0)
        verify_copy_cut(v->detail, sizeof(v->detail), decided);
    sk_X509_pop_free(chain, X509_free);
}

int cli_verify(int argc, char **argv)
{
    struct verify_run r;
    struct certgate_report rep;
    struct verify_verdict v;
    time_t at = 0;
    int rc;

    memset(&r, 0, sizeof(r));
    memset(&rep, 0, sizeof(rep));
    memset(&v, 0, sizeof(v));
    rc = prepare(&r, argc, argv, &at);
    if (rc) {
        run_free(&r);
        return rc < 0 ? EXIT_ACCEPTED : rc;
    }
    /* one instant for the verdict and the validity line */
    if (!at)
        at = time(NULL);
    /* the engine fills every line, the time-dependent ones with <at> */
    v.reason = certgate_policy_evaluate(r.policy, r.leaf, r.presented, at, &rep, v.detail,
                                        sizeof(v.detail));
    verify_explain_skips(&rep, &r.spec);
    if (r.o.ocsp || r.o.crl_fetch || (r.cp && r.cp->revocation.fail_open))
        revocation_verdict(&r, at, &rep, &v);
    if (v.reason == CERTGATE_OK && !v.detail[0])
        snprintf(v.detail, sizeof(v.detail), "no check failed");
    v.status = certgate_reason_status(v.reason);
    if (r.cp && v.reason > CERTGATE_OK && v.reason < CERTGATE_REASON_MAX && r.cp->status[v.reason])
        v.status = r.cp->status[v.reason];
    if (r.o.json)
        verify_print_json(&r.id, &rep, r.rev_line_set ? r.rev_line : NULL, r.o.ocsp ? &r.q : NULL,
                          &v);
    else
        verify_print_text(r.o.cert, &r.id, sk_X509_num(r.presented), &rep,
                          r.rev_line_set ? r.rev_line : NULL, &v);
    fflush(stdout);
    run_free(&r);
    return v.reason == CERTGATE_OK ? EXIT_ACCEPTED : EXIT_REJECTED;
}

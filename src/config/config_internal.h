/* Shared by the files of src/config only: the YAML loader's machinery, value
 * parsers that explain themselves, defaults, and the certificate file checks. */
#ifndef CERTGATE_CONFIG_INTERNAL_H
#define CERTGATE_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/yaml_tree.h"

/* ---- value parsers (config_parse.c); <why> gets a static sentence on error ---- */

int cfg_parse_address_why(const char *s, char **host, int *port, const char **why);
int cfg_parse_url_why(const char *s, int *tls, char **host, int *port, const char **why);
/* 1 if <s> is a non-empty HTTP token (RFC 9110 tchar). */
int cfg_header_name_ok(const char *s);
/* <p> made absolute against <dir>; malloc'd, NULL on allocation failure. */
char *cfg_abspath(const char *dir, const char *p);
/* 1 if <a> and <b> (IP literals as config_parse_address returns them) bind the
 * same socket or overlap through a wildcard address of the same family. */
int cfg_addr_conflict(const char *a_host, int a_port, const char *b_host, int b_port);

/* ---- defaults shared by the YAML loader and quick mode (config_defaults.c, config_free.c) ---- */

void cfg_listener_defaults(struct cfg_listener *l);
/* Replace <fwd> with the default forwarding: X-ARR-ClientCert base64-der and
 * all identity headers. Returns 0, -1 on allocation failure. */
int cfg_forward_defaults(struct cfg_forward *fwd);
int cfg_identity_defaults(struct cfg_identity_headers *id);
void cfg_identity_clear(struct cfg_identity_headers *id);
void cfg_forward_clear(struct cfg_forward *fwd);
void cfg_policy_clear(struct cfg_policy *p);
void cfg_cert_clear(struct cfg_cert *c);
/* Mark a fresh policy's scalar keys as not set (config_policy.c), so that
 * inheritance can tell them from written values; cfg_policy_defaults then
 * gives every key still unset its default. Quick mode calls both. */
void cfg_policy_unset(struct cfg_policy *p);
void cfg_policy_defaults(struct cfg_policy *p);

#define CFG_DEFAULT_MIN_RSA_BITS 2048
#define CFG_DEFAULT_MIN_EC_BITS  256
#define CFG_MIN_RSA_BITS_LO      1024
#define CFG_MIN_RSA_BITS_HI      16384
#define CFG_MIN_EC_BITS_LO       160
#define CFG_MIN_EC_BITS_HI       571

/* ---- certificate files (config_files.c): 0, or -1 with <msg> set ---- */

/* <shown> names are how the user wrote the paths, for messages. *bad_key is set
 * to 1 when the problem is the key file (including a mismatch), else 0. */
int cfg_check_pem_pair(const char *cert, const char *cert_shown, const char *key,
                       const char *key_shown, int *bad_key, char *msg, size_t n);
/* <pw> NULL = no password given. *bad_pw is set to 1 when the password is wrong. */
int cfg_check_pkcs12(const char *path, const char *shown, const char *pw, int *bad_pw, char *msg,
                     size_t n);
/* The whole file, NUL-terminated, malloc'd; NULL with <msg> set ("cannot open 'x': ..."). */
char *cfg_read_file(const char *path, const char *shown, size_t *len, char *msg, size_t n);
/* A PEM file holding at least one certificate (CA bundles, intermediates). */
int cfg_check_cert_file(const char *path, const char *shown, char *msg, size_t n);
/* <path> holds at least one CRL (PEM or DER). */
int cfg_check_crl_file(const char *path, const char *shown, char *msg, size_t n);
/* Password from an env var or a file (trailing CR/LF trimmed); exactly one of
 * <env>, <file> is non-NULL. *pw is malloc'd; wipe and free it after use. */
int cfg_read_password(const char *env, const char *file, const char *file_shown, char **pw,
                      char *msg, size_t n);

/* ---- the YAML loader (config_load.c, config_listener.c) ---- */

struct loader;
struct cfg_cert;
/* A certificate map ({cert, key} or {pkcs12, password_env | password_file}): which keys go
 * together, then the files themselves (a PKCS#12 opened with its password). <what> names it
 * in messages ("a certificate", "'client_cert'"). With <keep_pw>, the PKCS#12 password read
 * is kept there (the caller wipes and frees it); else it is wiped at once. 0 or -1. */
int cfg_finish_cert(struct loader *ld, const struct yt_node *m, struct cfg_cert *c,
                    const char *what, char **keep_pw);

struct loader;
struct key_rule;

typedef int (*key_fn)(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                      void *obj, const struct key_rule *r);

struct enum_val {
    const char *name;
    int value;
};

/* One key of a YAML mapping: adding a config key is adding one of these. */
struct key_rule {
    const char *name;
    key_fn fn;
    size_t off;   /* field of <obj> the generic handlers write; NO_FIELD = check only */
    size_t off_n; /* count field, for list handlers */
    int required;
    const struct enum_val *enums; /* ld_enum: the accepted names, {NULL} at the end */
    const struct key_rule *sub;   /* ld_map: the nested mapping's keys */
    size_t n_sub;
};

#define NO_FIELD   ((size_t)-1)
#define N_RULES(t) (sizeof(t) / sizeof((t)[0]))
/* The field of <obj> that rule <r> writes. */
#define LD_FIELD(obj, r, type) ((type *)((char *)(obj) + (r)->off))

/* A mapping may be read by several tables at once (client_auth takes its own
 * keys and inline policy keys); <seen> counts the keys each table matched. */
struct rule_set {
    const struct key_rule *rules;
    size_t n;
    void *obj;
    size_t seen;
};

enum ref_kind { REF_ROUTE_POLICY, REF_ROUTE_BACKEND, REF_CLIENT_AUTH_POLICY };

/* A name to look up once every section is read, so sections may come in any order. */
struct pending_ref {
    enum ref_kind kind;
    const struct yt_node *node; /* the name; NULL = a route with no backend */
    void *target;               /* struct cfg_route * or struct cfg_client_auth * */
};

struct loader {
    struct config *cfg;
    struct cfg_error *err;
    const char *file; /* as the user named it, for messages */
    int failed;
    struct pending_ref *refs;
    size_t n_refs, cap_refs;
};

int ld_error(struct loader *ld, const struct yt_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Check <n> is of <type>; <what> names it ("'tls'", "an entry of 'routes'"). */
int ld_expect(struct loader *ld, const struct yt_node *n, enum yt_type type, const char *what);
/* Dispatch every key of <map> to its rule; unknown and missing required keys are errors.
 * <where> completes "unknown key 'x' <where>", e.g. "in a listener". */
int ld_walk(struct loader *ld, const struct yt_node *map, const char *where, struct rule_set *sets,
            size_t n_sets);
int ld_ref(struct loader *ld, enum ref_kind kind, const struct yt_node *node, void *target);
void ld_pos(struct loader *ld, struct cfg_pos *pos, const struct yt_node *n);
/* "a mapping", "a list", "null" or the scalar quoted (in <buf>), for "got ...". */
const char *ld_describe(const struct yt_node *n, char *buf, size_t size);
/* A whole number in [lo, hi] (quoted digits too) into *out: 0, or -1 with the error set. */
int ld_whole(struct loader *ld, const struct yt_node *key, const struct yt_node *val, long lo,
             long hi, long *out);
/* A non-null scalar as a string: 0 with *out borrowed from the tree, or -1. */
int ld_scalar(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
              const char **out);

/* Generic handlers, writing at r->off into <obj>. */
int ld_str(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
           const struct key_rule *r);
int ld_path(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
            const struct key_rule *r);
int ld_duration(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                const struct key_rule *r);
int ld_size(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
            const struct key_rule *r);
int ld_count(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
             const struct key_rule *r);
int ld_bool(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
            const struct key_rule *r);
int ld_enum(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
            const struct key_rule *r);
/* A nested mapping read with r->sub into <obj> + r->off. */
int ld_map(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
           const struct key_rule *r);
/* A path or a list of paths to PEM files with certificates: char ** at off, size_t at off_n. */
int ld_client_cert(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                   void *obj, const struct key_rule *r);
int ld_crl_files(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                 const struct key_rule *r);
int ld_cert_files(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                  void *obj, const struct key_rule *r);

/* Policy keys, shared by named policies and inline client_auth policies
 * (config_policy.c). A policy must be cfg_policy_unset before its keys are read. */
extern const struct key_rule cfg_policy_rules[];
extern const size_t cfg_policy_n_rules;
/* After a policy's keys (and its parents') are read: what a complete policy
 * needs, then defaults. <at> is its map; <where> completes "missing required
 * key 'trusted_ca' <where>". */
int ld_policy_finish(struct loader *ld, const struct yt_node *at, struct cfg_policy *p,
                     const char *where);
/* The 'policies' section: every policy, then 'inherit' resolved, then finished. */
int ld_policies(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                const struct key_rule *r);

/* The 'listeners' key (config_listener.c). */
int ld_listeners(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                 const struct key_rule *r);

/* tls.ocsp_stapling (config_staple.c): false, true or {responder, timeout, retry}. */
int ld_ocsp_stapling(struct loader *ld, const struct yt_node *key, const struct yt_node *val,
                     void *obj, const struct key_rule *r);
/* Once listener <l> is read: with stapling on, each of its certificates has a responder and an
 * issuer (config_staple_pair). 0, or -1 with the error at <at> (the ocsp_stapling value). */
int cfg_check_stapling(struct loader *ld, const struct yt_node *at, const struct cfg_listener *l);

/* The 'backends' key (config_backend.c). */
int ld_backends(struct loader *ld, const struct yt_node *key, const struct yt_node *val, void *obj,
                const struct key_rule *r);
/* The defaults of a backend's keys (tls.verify, health, passive, pool), for a
 * backend not built from YAML (quick mode); servers get weight 1 separately. */
void cfg_backend_defaults(struct cfg_backend *b);

extern const struct enum_val cfg_fwd_format_names[];

#endif

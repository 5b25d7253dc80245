/* Helpers shared by the files of libcertgate; not part of the public API. */
#ifndef CERTGATE_LIB_CERT_INTERNAL_H
#define CERTGATE_LIB_CERT_INTERNAL_H

#include <stddef.h>
#include <time.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "certgate/policy.h"

/* Hidden so that the shared library exports only the certgate_* API. */
#define CERT_INTERNAL __attribute__((visibility("hidden")))

/* Size of an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SSZ" with its NUL. */
#define CERT_TIME_LEN 21

/* RFC 2253 form of <name> (UTF-8 kept as UTF-8, control bytes as \HH).
 * Returns a malloc'd string the caller frees, or NULL on failure. */
CERT_INTERNAL char *cert_dn_format(const X509_NAME *name);

/* Write <t> as "YYYY-MM-DDTHH:MM:SSZ" into <out> (CERT_TIME_LEN bytes).
 * Returns 0, or -1 (and <out> = "") when <t> cannot be read. */
CERT_INTERNAL int cert_time_format(const ASN1_TIME *t, char out[CERT_TIME_LEN]);

/* strdup that needs no feature macro; the result is freed with free(). NULL on failure. */
CERT_INTERNAL char *cert_strdup(const char *s);

/* Copy <len> bytes of <s> into a malloc'd string, writing every byte below
 * 0x20 and DEL as "\HH". Returns NULL on allocation failure. */
CERT_INTERNAL char *cert_escape_ctrl(const unsigned char *s, size_t len);

/* printf into <buf> (may be NULL or <len> 0: nothing is written), cut on a UTF-8 boundary
 * when it does not fit. */
CERT_INTERNAL void cert_text_set(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append every certificate of <path> to <out>: a PEM bundle (TRUSTED CERTIFICATE blocks too,
 * other blocks skipped) or one DER certificate. <what> names the file's role in messages
 * ("CA", "intermediate"). Returns how many (> 0), or -1 with a sentence naming the file in
 * <err>. */
CERT_INTERNAL int cert_load_certs(const char *path, const char *what, STACK_OF(X509) *out,
                                  char *err, size_t errlen);

/* Append every CRL of <path> (PEM blocks, or one DER CRL) to <out>. Same returns. */
CERT_INTERNAL int cert_load_crls(const char *path, STACK_OF(X509_CRL) *out, char *err,
                                 size_t errlen);

/* Fill each certificate's extension cache now, so that threads sharing <sk> later only read. */
CERT_INTERNAL void cert_warm_extensions(STACK_OF(X509) *sk);

/* <presented> then <helpers> in one shallow stack (certificates not up-ref'd); NULL on
 * allocation failure. */
CERT_INTERNAL STACK_OF(X509) *cert_untrusted_join(STACK_OF(X509) *presented,
                                                  STACK_OF(X509) *helpers);

/* The sentence for an X509_verify_cert failure of <ctx> other than a validity date:
 * "no chain to a trusted CA for '<leaf>' (<OpenSSL's reason>)" and its variants. */
CERT_INTERNAL void cert_chain_error_detail(X509_STORE_CTX *ctx, X509 *leaf, char *buf, size_t len);

/* <t> as seconds since the epoch (UTC). Returns 0, or -1 when <t> cannot be read. */
CERT_INTERNAL int cert_time_unix(const ASN1_TIME *t, time_t *out);

/* <t> as "YYYY-MM-DDTHH:MM:SSZ"; "an unreadable date" when it is out of range. */
CERT_INTERNAL void cert_unix_format(time_t t, char out[CERT_TIME_LEN]);

/* ---- allowlists (cert_allow.c) ---- */

/* What the allowlists compare, computed once per judged leaf. */
struct cert_leaf_facts {
    char sha1[41];      /* uppercase hex */
    char sha256[65];    /* uppercase hex */
    char serial[132];   /* uppercase hex, no leading zeros ("0" for zero); "" when unusable */
    GENERAL_NAMES *san; /* NULL when the leaf has none */
};

/* Fill <f> from <leaf>. Returns 0, or -1 on allocation failure (<f> then safe to clear). */
CERT_INTERNAL int cert_leaf_facts_init(X509 *leaf, struct cert_leaf_facts *f);
CERT_INTERNAL void cert_leaf_facts_clear(struct cert_leaf_facts *f);

/* The form an allowlist entry of <kind> is kept in: hex kinds normalised (serials without
 * leading zeros), the others copied. Returns a malloc'd string, or NULL with a sentence naming
 * the entry in <err> (not hex, wrong length for a digest, out of memory). */
CERT_INTERNAL char *cert_allow_prepare(enum certgate_allow_kind kind, const char *value, char *err,
                                       size_t errlen);

/* Does <leaf> (with its <facts>) match the prepared entry <value> of <kind>? 1 yes, 0 no. */
CERT_INTERNAL int cert_allow_match_prepared(X509 *leaf, const struct cert_leaf_facts *facts,
                                            enum certgate_allow_kind kind, const char *value);

/* "sha1", "sha256", "cn", "san_dns", "san_uri", "san_email", "ou", "serial" (config key names);
 * "?" outside the enum. */
CERT_INTERNAL const char *cert_allow_kind_name(enum certgate_allow_kind kind);

/* ---- the policy engine (cert_policy.c builds and judges, cert_checks.c checks) ---- */

/* Built once by certgate_policy_new; only read afterwards, by any number of threads. */
struct certgate_policy {
    X509_STORE *store;             /* verify flags, purpose and CRL hooks; anchors for CRL paths */
    STACK_OF(X509) *roots;         /* anchors, searched without the store lock */
    STACK_OF(X509) *intermediates; /* untrusted helpers */
    STACK_OF(X509_CRL) *crls;      /* NULL when the policy has none */
    int crl_scope_chain;           /* every CA's CRL required, not only the leaf's */
    STACK_OF(X509_NAME) *issuer_dns; /* allowed_issuers as DNs */
    STACK_OF(X509) *issuer_certs;    /* allowed_issuers as certificates */
    int pinned;                      /* allowed_issuers given */
    int max_depth;                   /* 0 = no limit */
    enum certgate_eku eku;
    int min_rsa_bits, min_ec_bits; /* -1 = no check */
    int allow_weak_signatures;
    char **allow[CERTGATE_ALLOW_COUNT]; /* prepared entries (cert_allow_prepare) */
    size_t n_allow[CERTGATE_ALLOW_COUNT];
    int has_allow;
};

/* Per-judgement state the verify callback writes (the context's app data). */
struct cert_run {
    enum certgate_eku eku;
    int eku_depth; /* first certificate whose purpose failed, -1 none */
    int revoked;
    int crl_err;   /* first CRL problem, X509_V_OK none */
    X509_CRL *crl; /* first CRL consulted, up-ref'd */
    time_t crl_this, crl_next;
    X509 *revoked_cert;    /* the certificate a CRL revoked (leaf or CA), up-ref'd */
    X509_CRL *revoked_crl; /* the CRL that revoked it, up-ref'd */
    int crl_scope_chain;
    X509 *crl_err_cert; /* the certificate <crl_err> is about, up-ref'd */
};

/* One judgement in progress. */
struct cert_judging {
    const struct certgate_policy *p;
    X509 *leaf;
    const char *ldn;       /* the leaf's subject, RFC 2253 */
    STACK_OF(X509) *chain; /* the built chain, leaf first; NULL when none could be built */
    struct certgate_judgement *j;
    struct certgate_report *report;
    char id_detail[320];
};

/* Record check <c>'s outcome and sentence in the report; the first failing static check
 * (chain .. key) sets static_reason and the judgement's detail. */
CERT_INTERNAL void cert_check_note(struct cert_judging *g, enum certgate_check c,
                                   enum certgate_outcome o, const char *sentence);

/* The checks, in SPEC order. Each leaves its report entry SKIPPED when it does not apply
 * (not configured, or it needs the chain and none was built). */
CERT_INTERNAL void cert_check_chain_pass(struct cert_judging *g);
CERT_INTERNAL void cert_check_window(struct cert_judging *g);
CERT_INTERNAL void cert_check_issuer(struct cert_judging *g);
CERT_INTERNAL void cert_check_depth(struct cert_judging *g);
CERT_INTERNAL void cert_check_eku(struct cert_judging *g, const struct cert_run *r);
CERT_INTERNAL void cert_check_key(struct cert_judging *g);
CERT_INTERNAL void cert_check_revocation(struct cert_judging *g, const struct cert_run *r);
/* Returns 0, or -1 when memory ran out. */
CERT_INTERNAL int cert_check_identity(struct cert_judging *g);

/* Does leaf <x>, refused by OpenSSL's purpose check, carry anyExtendedKeyUsage and nothing
 * else that forbids <eku>? (OpenSSL wants the named usage; the policy also takes "any".) */
CERT_INTERNAL int cert_any_eku_ok(X509 *x, enum certgate_eku eku);

#endif

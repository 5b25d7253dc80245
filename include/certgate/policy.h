/* libcertgate policies: trust, issuer pinning, depth, EKU, key strength,
 * validity and identity allowlists, judged in one place (SPEC §4, §7).
 *
 * Ownership: a policy is built from a spec whose strings are only read during
 * certgate_policy_new; the policy owns copies of everything it keeps. A policy
 * is immutable after creation and may be shared by any number of threads.
 * X509 / STACK_OF(X509) arguments are borrowed. */
#ifndef CERTGATE_POLICY_H
#define CERTGATE_POLICY_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "certgate/certgate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which extended key usage the leaf must allow. */
enum certgate_eku {
    CERTGATE_EKU_CLIENT_AUTH = 0, /* clientAuth (default: require_client_auth_eku: true) */
    CERTGATE_EKU_SERVER_AUTH,     /* serverAuth (certgate verify --eku serverAuth) */
    CERTGATE_EKU_ANY,             /* any purpose, but an EKU that is present is still read */
    CERTGATE_EKU_NONE,            /* no EKU check at all (require_client_auth_eku: false) */
};

/* Identity allowlists (SPEC §7 `allow:`). A certificate matches the policy's
 * allowlist when it matches at least one entry of any non-empty list; a policy
 * whose lists are all empty allows every identity. */
enum certgate_allow_kind {
    CERTGATE_ALLOW_SHA1 = 0,  /* hex of the DER's SHA-1, any case, ':' and ' ' ignored */
    CERTGATE_ALLOW_SHA256,    /* same for SHA-256 */
    CERTGATE_ALLOW_CN,        /* exact subject CN (any CN of the subject) */
    CERTGATE_ALLOW_SAN_DNS,   /* a dNSName SAN, ASCII case-insensitive */
    CERTGATE_ALLOW_SAN_URI,   /* a uniformResourceIdentifier SAN, exact */
    CERTGATE_ALLOW_SAN_EMAIL, /* an rfc822Name SAN, ASCII case-insensitive */
    CERTGATE_ALLOW_OU,        /* exact subject OU (any OU of the subject) */
    CERTGATE_ALLOW_SERIAL,    /* hex serial, any case, ':' ignored, leading zeros ignored */
    CERTGATE_ALLOW_COUNT
};

struct certgate_policy_spec {
    const char *const *trusted_ca; /* PEM (or DER) files of trust anchors; at least one */
    size_t n_trusted_ca;
    const char *const *intermediates; /* untrusted helper certificates for path building */
    size_t n_intermediates;
    /* allowed_issuers: the leaf's issuing CA must be one of these. DN strings in
     * RFC 4514 form ("CN=APIM Sample DEV Intermediate CA,O=Contoso"), or CA files
     * (the issuer must be one of the certificates in them). Both empty = no pin. */
    const char *const *allowed_issuer_dns;
    size_t n_allowed_issuer_dns;
    const char *const *allowed_issuer_files;
    size_t n_allowed_issuer_files;
    const char *const *crl_files; /* PEM/DER CRLs; when given, the leaf is checked against them */
    size_t n_crl_files;
    /* 0 (scope: leaf): the leaf's CRL is required, a CA's is checked when given;
     * 1 (scope: chain): every certificate's issuer must have given a CRL. */
    int crl_scope_chain;
    int max_depth; /* most CA certificates above the leaf (intermediates + anchor); 0 = none */
    enum certgate_eku eku;
    int min_rsa_bits;          /* 0 = 2048; negative = no check */
    int min_ec_bits;           /* 0 = 256; negative = no check */
    int allow_weak_signatures; /* 1 = accept MD5 and SHA-1 signatures in the chain */
    const char *const *allow[CERTGATE_ALLOW_COUNT];
    size_t n_allow[CERTGATE_ALLOW_COUNT];
};

struct certgate_policy;

/* Build a policy. Returns NULL and writes a sentence naming the problem into
 * <err> (a missing or empty file, a DN that does not parse, an allowlist entry
 * that is not hex where hex is required). */
struct certgate_policy *certgate_policy_new(const struct certgate_policy_spec *spec, char *err,
                                            size_t errlen);
void certgate_policy_free(struct certgate_policy *p);

/* The checks, in the order they decide a verdict. */
enum certgate_check {
    CERTGATE_CHECK_CHAIN = 0,  /* a path to a trusted anchor (time not considered) */
    CERTGATE_CHECK_ISSUER,     /* allowed_issuers */
    CERTGATE_CHECK_DEPTH,      /* max_depth */
    CERTGATE_CHECK_EKU,        /* extended key usage */
    CERTGATE_CHECK_KEY,        /* key strength and signature algorithms */
    CERTGATE_CHECK_VALIDITY,   /* notBefore / notAfter of every certificate of the chain */
    CERTGATE_CHECK_REVOCATION, /* CRLs given to the policy */
    CERTGATE_CHECK_IDENTITY,   /* allowlists */
    CERTGATE_CHECK_COUNT
};

enum certgate_outcome { CERTGATE_SKIPPED = 0, CERTGATE_PASS, CERTGATE_FAIL };

/* Every check's outcome, for `certgate verify` and for logs. */
struct certgate_report {
    enum certgate_outcome outcome[CERTGATE_CHECK_COUNT];
    char detail[CERTGATE_CHECK_COUNT][256]; /* one sentence each; "" when skipped */
};

/* "chain", "issuer", "depth", "eku", "key", "validity", "revocation", "identity". */
const char *certgate_check_name(enum certgate_check c);

/* The part of a verdict that does not depend on the time: computed once per
 * (chain, policy) and cacheable. */
struct certgate_judgement {
    enum certgate_reason static_reason; /* CERTGATE_OK or CERTGATE_NOT_TRUSTED (chain, issuer,
                                           depth, EKU, key) */
    enum certgate_reason revocation;    /* CERTGATE_OK, _REVOKED or _REVOCATION_UNKNOWN (CRLs) */
    int identity_matched;               /* allowlists; 1 when the policy has none */
    time_t not_before;                  /* latest notBefore of the chain (when it was built) */
    time_t not_after;                   /* earliest notAfter of the chain */
    char detail[320];                   /* sentence for static_reason or the identity miss */
    /* ADDED (policy engine): what judgement_at needs to name the certificate and to hold CRLs
     * to their dates without keeping the chain. When <report> is NULL and static_reason is not
     * OK, the later checks did not run (revocation OK, identity_matched 0). To fail open on an
     * unknown revocation status, copy the judgement, set revocation to CERTGATE_OK and both
     * crl_*_update to 0. */
    char revocation_detail[320]; /* sentence for a <revocation> that is not OK */
    char not_before_who[256];    /* "certificate 'CN=..'" or "issuer certificate 'CN=..' of
                                    'CN=..'": the one whose notBefore is <not_before> */
    char not_after_who[256];     /* the same for <not_after> */
    time_t crl_this_update;      /* thisUpdate of the CRL that gave <revocation>; 0 = none read */
    time_t crl_next_update;      /* its nextUpdate (0 = none): an OK <revocation> holds only for
                                    crl_this_update <= at < crl_next_update, else RevocationUnknown */
    char crl_who[256];           /* "revocation status of 'CN=..' is unknown: the CRL of 'CN=..'" */
};

/* Judge <leaf> (with <presented>, the extra certificates the client sent; may
 * be NULL) under <p>, time aside. <report> may be NULL: then checks stop at
 * the first failure. *chain_out (if non-NULL and the chain was built)
 * receives the validated chain, leaf first, owned by the caller. Returns 0,
 * or -1 when <leaf> (or <p>, <j>) is NULL or memory ran out (j->static_reason
 * is then CERTGATE_NOT_TRUSTED). */
int certgate_policy_judge(const struct certgate_policy *p, X509 *leaf, STACK_OF(X509) *presented,
                          struct certgate_judgement *j, struct certgate_report *report,
                          STACK_OF(X509) **chain_out);

/* The verdict of judgement <j> at time <at> (0 = now), in SPEC §4 order:
 * static reason, NotYetValid / Expired, revocation, IdentityNotMatched.
 * <detail> gets one human sentence. */
enum certgate_reason certgate_judgement_at(const struct certgate_judgement *j, time_t at,
                                           char *detail, size_t detail_len);

/* Both at once: the verdict of <leaf> under <p> at <at>. <report> may be NULL; when given,
 * every check is reported, the validity check at <at>. A NULL <leaf> gives
 * CERTGATE_NOT_FOUND ("no client certificate was presented"). */
enum certgate_reason certgate_policy_evaluate(const struct certgate_policy *p, X509 *leaf,
                                              STACK_OF(X509) *presented, time_t at,
                                              struct certgate_report *report, char *detail,
                                              size_t detail_len);

/* ---- helpers a backend may use on their own ---- */

/* Parse an RFC 4514 DN string ("CN=a\,b,O=x+OU=y"; types CN, C, L, ST, O, OU,
 * STREET, DC, UID, emailAddress, serialNumber, or a dotted OID; values may use
 * \-escapes and \XX hex). Returns a new X509_NAME (caller frees with
 * X509_NAME_free) or NULL with a sentence in <err>. */
X509_NAME *certgate_dn_parse(const char *rfc4514, char *err, size_t errlen);

/* Normalise a hex thumbprint or serial: drop ':' and whitespace, uppercase.
 * Writes NUL-terminated into <out>. Returns its length, or -1 if a character
 * is not hex or <out> is too small. */
int certgate_hex_normalize(const char *in, char *out, size_t outlen);

/* Does <leaf> match allowlist entry <value> of <kind>? 1 yes, 0 no. */
int certgate_allow_match(X509 *leaf, enum certgate_allow_kind kind, const char *value);

#ifdef __cplusplus
}
#endif
#endif

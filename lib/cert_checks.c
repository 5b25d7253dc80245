/* The checks of a policy (SPEC §4, §7), one function each, run by certgate_policy_judge on
 * the chain OpenSSL built. They only read the policy; every sentence names the certificate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "certgate/policy.h"
#include "cert_internal.h"

/* Record check <c>'s outcome; the first failing static check decides the detail. */
void cert_check_note(struct cert_judging *g, enum certgate_check c, enum certgate_outcome o,
                     const char *sentence)
{
    if (g->report != NULL && g->report->outcome[c] != CERTGATE_FAIL) {
        g->report->outcome[c] = o;
        cert_text_set(g->report->detail[c], sizeof(g->report->detail[c]), "%s", sentence);
    }
    if (o == CERTGATE_FAIL && c <= CERTGATE_CHECK_KEY && g->j->static_reason == CERTGATE_OK) {
        g->j->static_reason = CERTGATE_NOT_TRUSTED;
        cert_text_set(g->j->detail, sizeof(g->j->detail), "%s", sentence);
    }
}

/* "certificate '<leaf>'" or "issuer certificate '<x>' of '<leaf>'". */
static void who(const struct cert_judging *g, X509 *x, char *buf, size_t len)
{
    char *dn;

    if (x == g->leaf) {
        cert_text_set(buf, len, "certificate '%s'", g->ldn);
        return;
    }
    dn = cert_dn_format(X509_get_subject_name(x));
    cert_text_set(buf, len, "issuer certificate '%s' of '%s'", dn != NULL ? dn : "(unprintable)",
                  g->ldn);
    free(dn);
}

static X509 *chain_at(const struct cert_judging *g, int i)
{
    return g->chain != NULL ? sk_X509_value(g->chain, i) : g->leaf;
}

static int chain_len(const struct cert_judging *g)
{
    return g->chain != NULL ? sk_X509_num(g->chain) : 1;
}

void cert_check_chain_pass(struct cert_judging *g)
{
    char buf[320], *dn;

    if (g->report == NULL)
        return;
    dn = cert_dn_format(X509_get_subject_name(chain_at(g, chain_len(g) - 1)));
    cert_text_set(buf, sizeof(buf), "certificate '%s' chains to the trusted CA '%s'", g->ldn,
                  dn != NULL ? dn : "(unprintable)");
    free(dn);
    cert_check_note(g, CERTGATE_CHECK_CHAIN, CERTGATE_PASS, buf);
}

/* Latest notBefore and earliest notAfter of the chain (of the leaf alone without one). */
void cert_check_window(struct cert_judging *g)
{
    struct certgate_judgement *j = g->j;
    X509 *nb_x = NULL, *na_x = NULL;
    char buf[320];
    time_t nb, na;
    int i;

    for (i = 0; i < chain_len(g); i++) {
        X509 *x = chain_at(g, i);

        if (cert_time_unix(X509_get0_notBefore(x), &nb) != 0 ||
            cert_time_unix(X509_get0_notAfter(x), &na) != 0) {
            who(g, x, buf, sizeof(buf));
            cert_text_set(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s",
                          " has an unreadable validity date");
            cert_check_note(g, CERTGATE_CHECK_CHAIN, CERTGATE_FAIL, buf);
            return;
        }
        /* Strict comparisons: on a tie the certificate nearer the leaf is named. */
        if (nb_x == NULL || nb > j->not_before) {
            j->not_before = nb;
            nb_x = x;
        }
        if (na_x == NULL || na < j->not_after) {
            j->not_after = na;
            na_x = x;
        }
    }
    who(g, nb_x, j->not_before_who, sizeof(j->not_before_who));
    who(g, na_x, j->not_after_who, sizeof(j->not_after_who));
}

void cert_check_issuer(struct cert_judging *g)
{
    const struct certgate_policy *p = g->p;
    X509 *iss;
    char buf[320], *dn;
    int i, ok = 0;

    if (!p->pinned || g->chain == NULL)
        return;
    /* The issuing CA; a leaf that is itself an anchor issued itself. */
    iss = chain_at(g, chain_len(g) > 1 ? 1 : 0);
    for (i = 0; !ok && i < sk_X509_NAME_num(p->issuer_dns); i++)
        ok = X509_NAME_cmp(X509_get_subject_name(iss), sk_X509_NAME_value(p->issuer_dns, i)) == 0;
    for (i = 0; !ok && i < sk_X509_num(p->issuer_certs); i++) {
        X509 *c = sk_X509_value(p->issuer_certs, i);

        ok = X509_NAME_cmp(X509_get_subject_name(iss), X509_get_subject_name(c)) == 0 &&
             EVP_PKEY_eq(X509_get0_pubkey(iss), X509_get0_pubkey(c)) == 1;
    }
    if (ok && g->report == NULL)
        return;
    dn = cert_dn_format(X509_get_subject_name(iss));
    if (ok)
        cert_text_set(buf, sizeof(buf), "certificate '%s' is issued by '%s', an allowed issuer",
                      g->ldn, dn != NULL ? dn : "(unprintable)");
    else
        cert_text_set(buf, sizeof(buf),
                      "certificate '%s' is issued by '%s', which is not among this policy's "
                      "allowed issuers",
                      g->ldn, dn != NULL ? dn : "(unprintable)");
    free(dn);
    cert_check_note(g, CERTGATE_CHECK_ISSUER, ok ? CERTGATE_PASS : CERTGATE_FAIL, buf);
}

void cert_check_depth(struct cert_judging *g)
{
    int depth = chain_len(g) - 1, max = g->p->max_depth;
    char buf[320];

    if (max == 0 || g->chain == NULL)
        return;
    if (depth > max)
        cert_text_set(buf, sizeof(buf),
                      "certificate '%s' has %d CA certificates above it; this policy allows at "
                      "most %d (max_depth)",
                      g->ldn, depth, max);
    else
        cert_text_set(buf, sizeof(buf), "%d CA certificate%s above the leaf; at most %d allowed",
                      depth, depth == 1 ? "" : "s", max);
    cert_check_note(g, CERTGATE_CHECK_DEPTH, depth > max ? CERTGATE_FAIL : CERTGATE_PASS, buf);
}

/* Why OpenSSL's purpose check refused <x>, for the sentence. */
static const char *purpose_cause(X509 *x, enum certgate_eku eku)
{
    uint32_t flags = X509_get_extension_flags(x);
    uint32_t want = eku == CERTGATE_EKU_SERVER_AUTH ? XKU_SSL_SERVER : XKU_SSL_CLIENT;

    if ((flags & EXFLAG_XKUSAGE) && !(X509_get_extended_key_usage(x) & want))
        return eku == CERTGATE_EKU_SERVER_AUTH ? "its extended key usage lacks serverAuth"
                                               : "its extended key usage lacks clientAuth";
    if (flags & EXFLAG_KUSAGE)
        return "its key usage forbids it";
    return "its certificate type forbids it";
}

int cert_any_eku_ok(X509 *x, enum certgate_eku eku)
{
    uint32_t flags = X509_get_extension_flags(x);
    uint32_t ku = eku == CERTGATE_EKU_SERVER_AUTH
                      ? KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT
                      : KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT;

    /* The key usages OpenSSL's SSL client / server purposes ask for; no Netscape type. */
    return (flags & EXFLAG_XKUSAGE) && (X509_get_extended_key_usage(x) & XKU_ANYEKU) &&
           !(flags & EXFLAG_NSCERT) && (!(flags & EXFLAG_KUSAGE) || (X509_get_key_usage(x) & ku));
}

void cert_check_eku(struct cert_judging *g, const struct cert_run *r)
{
    enum certgate_eku eku = g->p->eku;
    const char *use =
        eku == CERTGATE_EKU_SERVER_AUTH ? "server authentication" : "client authentication";
    X509 *bad = NULL;
    char buf[320], *end;

    if (eku == CERTGATE_EKU_NONE)
        return;
    if (g->chain != NULL && r->eku_depth >= 0)
        bad = chain_at(g, r->eku_depth);
    /* No chain: OpenSSL stopped before its purpose check; judge the leaf alone. */
    if (g->chain == NULL && eku != CERTGATE_EKU_ANY &&
        X509_check_purpose(g->leaf,
                           eku == CERTGATE_EKU_SERVER_AUTH ? X509_PURPOSE_SSL_SERVER
                                                           : X509_PURPOSE_SSL_CLIENT,
                           0) <= 0 &&
        !cert_any_eku_ok(g->leaf, eku))
        bad = g->leaf;
    if (bad == NULL && g->report == NULL)
        return;
    if (bad == NULL && eku == CERTGATE_EKU_ANY)
        cert_text_set(buf, sizeof(buf), "any extended key usage is accepted");
    else if (bad == NULL)
        cert_text_set(buf, sizeof(buf), "certificate '%s'%s may be used for %s", g->ldn,
                      g->chain != NULL ? " and its issuers" : "", use);
    if (bad != NULL) {
        who(g, bad, buf, sizeof(buf));
        end = buf + strlen(buf);
        cert_text_set(end, sizeof(buf) - (size_t)(end - buf), " may not be used for %s (%s)", use,
                      purpose_cause(bad, eku));
    }
    cert_check_note(g, CERTGATE_CHECK_EKU, bad != NULL ? CERTGATE_FAIL : CERTGATE_PASS, buf);
}

/* Writes why <x>'s key is too weak into <why> and returns 1, else 0. */
static int weak_key(const struct certgate_policy *p, X509 *x, char *why, size_t len)
{
    EVP_PKEY *k = X509_get0_pubkey(x);
    const char *type;
    int min, bits;

    if (k == NULL) {
        cert_text_set(why, len, " has a public key that cannot be read");
        return 1;
    }
    if (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS") || EVP_PKEY_is_a(k, "DSA")) {
        type = EVP_PKEY_is_a(k, "DSA") ? "DSA" : "RSA";
        min = p->min_rsa_bits;
    } else if (EVP_PKEY_is_a(k, "EC")) {
        type = "EC";
        min = p->min_ec_bits;
    } else {
        return 0; /* Ed25519, Ed448: fixed, strong sizes */
    }
    bits = EVP_PKEY_get_bits(k);
    if (min <= 0 || bits >= min)
        return 0;
    cert_text_set(why, len, " has a %d-bit %s key; this policy requires at least %d bits", bits,
                  type, min);
    return 1;
}

/* The name of <x>'s signature digest when it is MD5, SHA-1 or older, else NULL. */
static const char *weak_signature(X509 *x)
{
    int md = NID_undef;

    X509_get_signature_info(x, &md, NULL, NULL, NULL);
    switch (md) {
    case NID_md2:
        return "MD2";
    case NID_md4:
        return "MD4";
    case NID_md5:
        return "MD5";
    case NID_md5_sha1:
        return "MD5-SHA1";
    case NID_mdc2:
        return "MDC2";
    case NID_sha1:
        return "SHA-1";
    default:
        return NULL;
    }
}

void cert_check_key(struct cert_judging *g)
{
    const struct certgate_policy *p = g->p;
    int i, n = chain_len(g);
    char buf[320], why[160];
    const char *md;

    if (p->min_rsa_bits < 0 && p->min_ec_bits < 0 && p->allow_weak_signatures)
        return;
    for (i = 0; i < n; i++) {
        X509 *x = chain_at(g, i);
        int anchor = g->chain != NULL && i == n - 1 && i > 0;

        /* The anchor is trusted as configured: its key and self-signature are not judged. */
        if (!anchor && weak_key(p, x, why, sizeof(why))) {
            who(g, x, buf, sizeof(buf));
            cert_text_set(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s", why);
            cert_check_note(g, CERTGATE_CHECK_KEY, CERTGATE_FAIL, buf);
            return;
        }
        if (!p->allow_weak_signatures && !(X509_get_extension_flags(x) & EXFLAG_SS) &&
            (md = weak_signature(x)) != NULL) {
            who(g, x, buf, sizeof(buf));
            cert_text_set(buf + strlen(buf), sizeof(buf) - strlen(buf),
                          " is signed with %s, which this policy refuses; reissue it with SHA-256",
                          md);
            cert_check_note(g, CERTGATE_CHECK_KEY, CERTGATE_FAIL, buf);
            return;
        }
    }
    if (g->report != NULL)
        cert_check_note(
            g, CERTGATE_CHECK_KEY, CERTGATE_PASS,
            "no key below this policy's minimum and no MD5 or SHA-1 signature in the chain");
}

static const char *const crl_reasons[] = {
    "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
    "superseded",    "cessationOfOperation", "certificateHold", "unknown reason",
    "removeFromCRL", "privilegeWithdrawn",   "aACompromise",
};

/* "certificate '<leaf>' was revoked on <date> (<reason>)", from the CRL entry when found. */
static void revoked_sentence(struct cert_judging *g, const struct cert_run *r, char *buf,
                             size_t len)
{
    X509_REVOKED *rev = NULL;
    ASN1_ENUMERATED *code = NULL;
    X509 *who = r->revoked_cert != NULL ? r->revoked_cert : g->leaf;
    X509_CRL *crl = r->revoked_crl != NULL ? r->revoked_crl : r->crl;
    char *iss = cert_dn_format(crl != NULL ? X509_CRL_get_issuer(crl) : X509_get_issuer_name(who));
    char *wdn = who == g->leaf ? NULL : cert_dn_format(X509_get_subject_name(who));
    char what[400], when[CERT_TIME_LEN];
    time_t t;
    long c = -1;

    /* a revoked CA takes every certificate it issued with it: say which one */
    if (who == g->leaf)
        cert_text_set(what, sizeof(what), "certificate '%s'", g->ldn);
    else
        cert_text_set(what, sizeof(what), "issuing CA '%s' of certificate '%s'",
                      wdn != NULL ? wdn : "(unprintable)", g->ldn);
    if (crl == NULL || X509_CRL_get0_by_cert(crl, &rev, who) != 1 || rev == NULL ||
        cert_time_unix(X509_REVOKED_get0_revocationDate(rev), &t) != 0) {
        cert_text_set(buf, len, "%s is revoked by the CRL of '%s'", what,
                      iss != NULL ? iss : "(unprintable)");
    } else {
        cert_unix_format(t, when);
        code = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
        if (code != NULL)
            c = ASN1_ENUMERATED_get(code);
        ASN1_ENUMERATED_free(code);
        cert_text_set(
            buf, len, "%s was revoked on %s (%s) according to the CRL of '%s'", what, when,
            c >= 0 && c < (long)(sizeof(crl_reasons) / sizeof(crl_reasons[0])) ? crl_reasons[c]
                                                                               : "no reason given",
            iss != NULL ? iss : "(unprintable)");
    }
    free(iss);
    free(wdn);
}

void cert_check_revocation(struct cert_judging *g, const struct cert_run *r)
{
    struct certgate_judgement *j = g->j;
    const X509_NAME *iname;
    char *iss, buf[320], when[CERT_TIME_LEN];

    if (g->p->crls == NULL || g->chain == NULL)
        return;
    /* the certificate whose status could not be learned: the leaf, or a CA with scope: chain */
    X509 *who = r->crl_err_cert != NULL ? r->crl_err_cert : g->leaf;
    char *wdn = who == g->leaf ? NULL : cert_dn_format(X509_get_subject_name(who));
    const char *wname = wdn != NULL ? wdn : g->ldn;
    iname = r->crl_err != X509_V_OK ? X509_get_issuer_name(who)
            : r->crl != NULL        ? X509_CRL_get_issuer(r->crl)
                                    : X509_get_issuer_name(g->leaf);
    iss = cert_dn_format(iname);
    if (r->revoked) {
        /* a known revocation outweighs any status that could not be learned */
        j->revocation = CERTGATE_REVOKED;
        revoked_sentence(g, r, buf, sizeof(buf));
    } else if (r->crl_err == X509_V_ERR_UNABLE_TO_GET_CRL) {
        j->revocation = CERTGATE_REVOCATION_UNKNOWN;
        cert_text_set(buf, sizeof(buf),
                      "revocation status of '%s' is unknown: no CRL of its issuer '%s' was given",
                      wname, iss != NULL ? iss : "(unprintable)");
    } else if (r->crl_err != X509_V_OK || r->crl == NULL) {
        j->revocation = CERTGATE_REVOCATION_UNKNOWN;
        cert_text_set(buf, sizeof(buf),
                      "revocation status of '%s' is unknown: the CRL of '%s' cannot be used (%s)",
                      wname, iss != NULL ? iss : "(unprintable)",
                      X509_verify_cert_error_string(r->crl_err));
    } else {
        j->crl_this_update = r->crl_this;
        j->crl_next_update = r->crl_next;
        cert_text_set(j->crl_who, sizeof(j->crl_who),
                      "revocation status of '%s' is unknown: the CRL of '%s'", g->ldn,
                      iss != NULL ? iss : "(unprintable)");
        cert_unix_format(r->crl_next, when);
        cert_text_set(buf, sizeof(buf), "certificate '%s' is not on the CRL of '%s'%s%s%s", g->ldn,
                      iss != NULL ? iss : "(unprintable)", r->crl_next ? " (next update " : "",
                      r->crl_next ? when : "", r->crl_next ? ")" : "");
    }
    free(iss);
    free(wdn);
    if (j->revocation != CERTGATE_OK)
        cert_text_set(j->revocation_detail, sizeof(j->revocation_detail), "%s", buf);
    if (g->report != NULL)
        cert_check_note(g, CERTGATE_CHECK_REVOCATION,
                        j->revocation == CERTGATE_OK ? CERTGATE_PASS : CERTGATE_FAIL, buf);
}

/* Returns 0, or -1 when memory ran out. */
int cert_check_identity(struct cert_judging *g)
{
    const struct certgate_policy *p = g->p;
    struct cert_leaf_facts facts;
    char buf[320], kinds[128] = "";
    size_t k, i, used = 0;

    if (!p->has_allow) {
        g->j->identity_matched = 1;
        return 0;
    }
    if (cert_leaf_facts_init(g->leaf, &facts) != 0) {
        cert_leaf_facts_clear(&facts);
        return -1;
    }
    for (k = 0; k < CERTGATE_ALLOW_COUNT && !g->j->identity_matched; k++) {
        for (i = 0; i < p->n_allow[k] && !g->j->identity_matched; i++) {
            if (cert_allow_match_prepared(g->leaf, &facts, (enum certgate_allow_kind)k,
                                          p->allow[k][i])) {
                g->j->identity_matched = 1;
                cert_text_set(buf, sizeof(buf), "certificate '%s' matches allow %s '%s'", g->ldn,
                              cert_allow_kind_name((enum certgate_allow_kind)k), p->allow[k][i]);
            }
        }
        if (p->n_allow[k] > 0) {
            cert_text_set(kinds + used, sizeof(kinds) - used, "%s%s", used ? ", " : "",
                          cert_allow_kind_name((enum certgate_allow_kind)k));
            used = strlen(kinds);
        }
    }
    cert_leaf_facts_clear(&facts);
    if (!g->j->identity_matched) {
        cert_text_set(buf, sizeof(buf),
                      "certificate '%s' matches no entry of this policy's allow lists (%s)", g->ldn,
                      kinds);
        cert_text_set(g->id_detail, sizeof(g->id_detail), "%s", buf);
    }
    if (g->report != NULL)
        cert_check_note(g, CERTGATE_CHECK_IDENTITY,
                        g->j->identity_matched ? CERTGATE_PASS : CERTGATE_FAIL, buf);
    return 0;
}

/* cert_policy.c: building a policy, judging time aside, judgement_at's precedence, the
 * report, many threads on one policy, and SPEC §8's demo PKI. */
#include "policy_fixture.c"

#include <sys/stat.h>
#include <openssl/err.h>

#define VALID_DN "CN=Valid Client,OU=Clients,O=Acme"

static void test_check_names(void **state)
{
    static const char *const want[] = {"chain", "issuer",   "depth",      "eku",
                                       "key",   "validity", "revocation", "identity"};
    int c;

    for (c = 0; c < CERTGATE_CHECK_COUNT; c++)
        assert_string_equal(certgate_check_name((enum certgate_check)c), want[c]);
    assert_string_equal(certgate_check_name(CERTGATE_CHECK_COUNT), "unknown");
    assert_string_equal(certgate_check_name((enum certgate_check) - 1), "unknown");
}

/* ---- building ---- */

static void build_err(const struct spec_buf *b, const char *want)
{
    char err[320] = "unchanged";

    assert_null(certgate_policy_new(&b->s, err, sizeof(err)));
    assert_string_equal(err, want);
}

static void test_build_errors(void **state)
{
    struct spec_buf b;
    char want[320];

    assert_null(certgate_policy_new(NULL, want, sizeof(want)));
    assert_string_equal(want, "no policy spec given");
    spec_init(&b);
    b.s.n_trusted_ca = 0;
    build_err(&b, "no trusted CA file given");
    spec_init(&b);
    b.ca[0] = "/nonexistent/ca.pem";
    build_err(&b, "cannot open CA file /nonexistent/ca.pem: No such file or directory");
    spec_init(&b);
    b.im[0] = fx.empty_txt;
    snprintf(want, sizeof(want), "intermediate file %s holds no certificate", fx.empty_txt);
    build_err(&b, want);
    spec_init(&b);
    b.files[b.s.n_allowed_issuer_files++] = "/nonexistent/issuer.pem";
    build_err(&b, "cannot open allowed issuer file /nonexistent/issuer.pem: No such file or "
                  "directory");
    spec_init(&b);
    b.dns[b.s.n_allowed_issuer_dns++] = "CN=a;O=b";
    build_err(&b, "allowed issuer 'CN=a;O=b' is not a valid DN: unescaped ';' at offset 4 (write "
                  "'\\;'; RDNs are separated by ',')");
    spec_init(&b);
    b.crls[b.s.n_crl_files++] = "/nonexistent/dev.crl";
    build_err(&b, "cannot open CRL file /nonexistent/dev.crl: No such file or directory");
    spec_init(&b);
    b.crls[b.s.n_crl_files++] = fx.empty_txt;
    snprintf(want, sizeof(want), "CRL file %s holds no CRL", fx.empty_txt);
    build_err(&b, want);
    spec_init(&b);
    b.crls[b.s.n_crl_files++] = fx.root_pem;
    snprintf(want, sizeof(want), "CRL file %s holds no CRL", fx.root_pem);
    build_err(&b, want);
    spec_init(&b);
    b.s.max_depth = -1;
    build_err(&b, "max_depth -1 is negative");
    spec_init(&b);
    b.s.eku = (enum certgate_eku)7;
    build_err(&b, "unknown EKU requirement 7");
    spec_init(&b);
    b.s.n_intermediates = 1;
    b.s.intermediates = NULL;
    build_err(&b, "a list of the policy spec has entries but no array");
}

static void test_build_allow_errors(void **state)
{
    struct spec_buf b;

    spec_init(&b);
    spec_allow(&b, CERTGATE_ALLOW_SHA1, "XYZ");
    build_err(&b, "allow sha1 entry 'XYZ' is not hex (digits 0-9 and A-F, ':' or spaces between "
                  "them)");
    spec_init(&b);
    spec_allow(&b, CERTGATE_ALLOW_SHA1, "AB:CD");
    build_err(&b, "allow sha1 entry 'AB:CD' has 4 hex digits; a SHA-1 thumbprint has 40");
    spec_init(&b);
    spec_allow(&b, CERTGATE_ALLOW_SHA256, "0000000000000000000000000000000000000000");
    build_err(&b, "allow sha256 entry '0000000000000000000000000000000000000000' has 40 hex "
                  "digits; a SHA-256 thumbprint has 64");
    spec_init(&b);
    spec_allow(&b, CERTGATE_ALLOW_SHA1,
               "\xE2\x80\x8E"
               "0000000000000000000000000000000000000000");
    build_err(&b, "allow sha1 entry '\xE2\x80\x8E"
                  "0000000000000000000000000000000000000000' "
                  "holds an invisible U+200E (left-to-right mark), as copied from the Windows "
                  "certificate dialog; retype it");
    spec_init(&b);
    spec_allow(&b, CERTGATE_ALLOW_SERIAL, "12-34");
    build_err(&b, "allow serial entry '12-34' is not hex (digits 0-9 and A-F, ':' or spaces "
                  "between them)");
    spec_init(&b);
    spec_allow(&b, CERTGATE_ALLOW_SERIAL, " : ");
    build_err(&b, "allow serial entry is empty");
    spec_init(&b);
    spec_allow(&b, CERTGATE_ALLOW_CN, "");
    build_err(&b, "allow cn entry is empty");
    spec_init(&b);
    spec_allow(&b, CERTGATE_ALLOW_SAN_URI, NULL);
    build_err(&b, "allow san_uri entry is missing");
}

/* ---- the report ---- */

static void test_report_every_check(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_report r;
    char detail[320] = "unchanged";

    spec_init(&b);
    b.dns[b.s.n_allowed_issuer_dns++] = "CN=Test DEV Intermediate CA";
    b.crls[b.s.n_crl_files++] = fx.dev_crl;
    b.s.max_depth = 3;
    spec_allow(&b, CERTGATE_ALLOW_CN, "Valid Client");
    p = policy_of(&b);
    assert_int_equal(
        certgate_policy_evaluate(p, fx.valid.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_OK);
    assert_string_equal(detail, "");
    assert_check(&r, CERTGATE_CHECK_CHAIN, CERTGATE_PASS,
                 "certificate '" VALID_DN "' chains to the trusted CA 'CN=Test Root CA'");
    assert_check(&r, CERTGATE_CHECK_ISSUER, CERTGATE_PASS,
                 "certificate '" VALID_DN "' is issued by 'CN=Test DEV Intermediate CA', an "
                 "allowed issuer");
    assert_check(&r, CERTGATE_CHECK_DEPTH, CERTGATE_PASS,
                 "2 CA certificates above the leaf; at most 3 allowed");
    assert_check(&r, CERTGATE_CHECK_EKU, CERTGATE_PASS,
                 "certificate '" VALID_DN "' and its issuers may be used for client "
                 "authentication");
    assert_check(&r, CERTGATE_CHECK_KEY, CERTGATE_PASS,
                 "no key below this policy's minimum and no MD5 or SHA-1 signature in the chain");
    assert_check(&r, CERTGATE_CHECK_VALIDITY, CERTGATE_PASS,
                 "valid from 2020-01-01T00:00:00Z until 2049-12-31T23:59:59Z");
    assert_check(&r, CERTGATE_CHECK_REVOCATION, CERTGATE_PASS,
                 "certificate '" VALID_DN "' is not on the CRL of 'CN=Test DEV Intermediate CA' "
                 "(next update 2030-01-01T00:00:00Z)");
    assert_check(&r, CERTGATE_CHECK_IDENTITY, CERTGATE_PASS,
                 "certificate '" VALID_DN "' matches allow cn 'Valid Client'");

    /* Every failure at once: a report goes on past the first. */
    assert_int_equal(
        certgate_policy_evaluate(p, fx.expired.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_EXPIRED);
    assert_string_equal(detail, "certificate 'CN=Expired Client' expired on 2021-01-01T00:00:00Z");
    assert_check(&r, CERTGATE_CHECK_VALIDITY, CERTGATE_FAIL, detail);
    assert_check(&r, CERTGATE_CHECK_IDENTITY, CERTGATE_FAIL,
                 "certificate 'CN=Expired Client' matches no entry of this policy's allow lists "
                 "(cn)");
    assert_int_equal(
        certgate_policy_evaluate(p, fx.future.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_NOT_YET_VALID);
    assert_string_equal(detail,
                        "certificate 'CN=Future Client' is not valid before 2040-01-01T00:00:00Z");
    assert_check(&r, CERTGATE_CHECK_VALIDITY, CERTGATE_FAIL, detail);
    certgate_policy_free(p);
}

static void test_report_skipped(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_report r;
    struct certgate_judgement j;
    char detail[320];
    int c;

    spec_init(&b);
    b.s.eku = CERTGATE_EKU_NONE;
    b.s.min_rsa_bits = -1;
    b.s.min_ec_bits = -1;
    b.s.allow_weak_signatures = 1;
    p = policy_of(&b);
    assert_int_equal(
        certgate_policy_evaluate(p, fx.valid.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_OK);
    for (c = 0; c < CERTGATE_CHECK_COUNT; c++) {
        if (c == CERTGATE_CHECK_CHAIN || c == CERTGATE_CHECK_VALIDITY)
            assert_int_equal(r.outcome[c], CERTGATE_PASS);
        else
            assert_check(&r, c, CERTGATE_SKIPPED, "");
    }
    /* judge alone leaves the time-dependent validity check to evaluate. */
    assert_int_equal(certgate_policy_judge(p, fx.valid.cert, NULL, &j, &r, NULL), 0);
    assert_check(&r, CERTGATE_CHECK_VALIDITY, CERTGATE_SKIPPED, "");
    assert_int_equal(j.identity_matched, 1);
    assert_int_equal(j.revocation, CERTGATE_OK);
    assert_int_equal(j.crl_this_update, 0);
    certgate_policy_free(p);
}

static void test_chain_failure(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_report r;
    struct certgate_judgement j;
    STACK_OF(X509) *chain = (STACK_OF(X509) *)&chain;
    const char *want = "no chain to a trusted CA for 'CN=Untrusted Client' (unable to get local "
                       "issuer certificate)";
    char detail[320];

    spec_init(&b);
    b.dns[b.s.n_allowed_issuer_dns++] = "CN=Test DEV Intermediate CA";
    b.crls[b.s.n_crl_files++] = fx.dev_crl;
    b.s.max_depth = 3;
    spec_allow(&b, CERTGATE_ALLOW_CN, "Untrusted Client");
    p = policy_of(&b);
    assert_int_equal(certgate_policy_judge(p, fx.untrusted.cert, NULL, &j, &r, &chain), 0);
    assert_null(chain);
    assert_int_equal(j.static_reason, CERTGATE_NOT_TRUSTED);
    assert_string_equal(j.detail, want);
    /* Without a chain, the window is the leaf's own. */
    assert_int_equal(j.not_before, pki_utc("20200101000000Z"));
    assert_int_equal(j.not_after, pki_utc("20491231235959Z"));
    assert_string_equal(j.not_after_who, "certificate 'CN=Untrusted Client'");
    assert_check(&r, CERTGATE_CHECK_CHAIN, CERTGATE_FAIL, want);
    assert_check(&r, CERTGATE_CHECK_ISSUER, CERTGATE_SKIPPED, "");
    assert_check(&r, CERTGATE_CHECK_DEPTH, CERTGATE_SKIPPED, "");
    assert_int_equal(r.outcome[CERTGATE_CHECK_EKU], CERTGATE_PASS);
    assert_int_equal(r.outcome[CERTGATE_CHECK_KEY], CERTGATE_PASS);
    assert_check(&r, CERTGATE_CHECK_REVOCATION, CERTGATE_SKIPPED, "");
    assert_int_equal(r.outcome[CERTGATE_CHECK_IDENTITY], CERTGATE_PASS);
    /* An expired certificate without a path is NotTrusted: the path comes first. */
    assert_int_equal(certgate_policy_evaluate(p, fx.untrusted.cert, NULL,
                                              pki_utc("20500101000000Z"), NULL, detail,
                                              sizeof(detail)),
                     CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, want);
    certgate_policy_free(p);

    /* A missing intermediate, then the same one presented by the peer. */
    b.s.n_intermediates = 0;
    b.s.n_allowed_issuer_dns = 0;
    b.s.n_allow[CERTGATE_ALLOW_CN] = 0;
    p = policy_of(&b);
    assert_int_equal(verdict(p, fx.valid.cert, NULL, detail), CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, "no chain to a trusted CA for '" VALID_DN "' (unable to get local "
                                "issuer certificate)");
    {
        STACK_OF(X509) *presented = sk_X509_new_null();

        sk_X509_push(presented, fx.dev.cert);
        assert_int_equal(verdict(p, fx.valid.cert, presented, detail), CERTGATE_OK);
        /* Presenting a foreign root does not make it trusted. */
        sk_X509_pop(presented);
        sk_X509_push(presented, fx.other_root.cert);
        assert_int_equal(verdict(p, fx.untrusted.cert, presented, detail), CERTGATE_NOT_TRUSTED);
        assert_string_equal(detail, "no chain to a trusted CA for 'CN=Untrusted Client' "
                                    "(self-signed certificate in certificate chain for 'CN=Other "
                                    "Root CA')");
        sk_X509_free(presented);
    }
    certgate_policy_free(p);
}

/* ---- judge: time aside, chain out, fail-fast ---- */

static void test_judge_chain_out(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_judgement j;
    STACK_OF(X509) *chain = NULL;

    spec_init(&b);
    p = policy_of(&b);
    assert_int_equal(certgate_policy_judge(p, fx.deep.cert, NULL, &j, NULL, &chain), 0);
    assert_int_equal(j.static_reason, CERTGATE_OK);
    assert_string_equal(j.detail, "");
    assert_non_null(chain);
    assert_int_equal(sk_X509_num(chain), 4);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 0), fx.deep.cert), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 1), fx.sub.cert), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 2), fx.dev.cert), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 3), fx.root.cert), 0);
    sk_X509_pop_free(chain, X509_free);
    /* An expired issuer bounds the window, and is named. */
    assert_int_equal(certgate_policy_judge(p, fx.under_exp.cert, NULL, &j, NULL, NULL), 0);
    assert_int_equal(j.static_reason, CERTGATE_OK);
    assert_int_equal(j.not_before, pki_utc("20200101000000Z"));
    assert_int_equal(j.not_after, pki_utc("20210101000000Z"));
    assert_string_equal(j.not_before_who, "certificate 'CN=Leaf Under Expired CA'");
    assert_string_equal(j.not_after_who,
                        "issuer certificate 'CN=Expired CA' of 'CN=Leaf Under Expired CA'");
    certgate_policy_free(p);
}

static void test_judge_without_report_stops(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_judgement j;
    struct certgate_report r;

    spec_init(&b);
    b.dns[b.s.n_allowed_issuer_dns++] = "CN=Test DEV Intermediate CA";
    spec_allow(&b, CERTGATE_ALLOW_CN, "Sibling Client");
    p = policy_of(&b);
    /* Without a report the identity is not looked at once a static check failed... */
    assert_int_equal(certgate_policy_judge(p, fx.sibling.cert, NULL, &j, NULL, NULL), 0);
    assert_int_equal(j.static_reason, CERTGATE_NOT_TRUSTED);
    assert_int_equal(j.identity_matched, 0);
    /* ...with one, it is, and the verdict is the same. */
    assert_int_equal(certgate_policy_judge(p, fx.sibling.cert, NULL, &j, &r, NULL), 0);
    assert_int_equal(j.static_reason, CERTGATE_NOT_TRUSTED);
    assert_int_equal(j.identity_matched, 1);
    assert_string_equal(j.detail, "certificate 'CN=Sibling Client' is issued by 'CN=Test TST "
                                  "Intermediate CA', which is not among this policy's allowed "
                                  "issuers");
    certgate_policy_free(p);
}

static void test_null_arguments(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_judgement j;
    struct certgate_report r;
    STACK_OF(X509) *chain = (STACK_OF(X509) *)&chain;
    char detail[320];

    spec_init(&b);
    p = policy_of(&b);
    assert_int_equal(certgate_policy_judge(p, NULL, NULL, &j, &r, &chain), -1);
    assert_null(chain);
    assert_int_equal(j.static_reason, CERTGATE_NOT_TRUSTED);
    assert_string_equal(j.detail, "no client certificate was presented");
    assert_int_equal(certgate_policy_judge(NULL, fx.valid.cert, NULL, &j, NULL, NULL), -1);
    assert_int_equal(j.static_reason, CERTGATE_NOT_TRUSTED);
    assert_string_equal(j.detail, "no policy given");
    assert_int_equal(certgate_policy_judge(p, fx.valid.cert, NULL, NULL, NULL, NULL), -1);
    assert_int_equal(certgate_policy_evaluate(p, NULL, NULL, 0, &r, detail, sizeof(detail)),
                     CERTGATE_NOT_FOUND);
    assert_string_equal(detail, "no client certificate was presented");
    assert_int_equal(r.outcome[CERTGATE_CHECK_CHAIN], CERTGATE_SKIPPED);
    assert_int_equal(certgate_judgement_at(NULL, 0, detail, sizeof(detail)), CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, "no judgement given");
    /* No detail buffer is fine. */
    assert_int_equal(certgate_policy_evaluate(p, fx.valid.cert, NULL, 0, NULL, NULL, 0),
                     CERTGATE_OK);
    certgate_policy_free(p);
    certgate_policy_free(NULL);
}

/* ---- judgement_at ---- */

static void at_case(const struct certgate_judgement *j, const char *when, enum certgate_reason want,
                    const char *want_detail)
{
    char detail[320];

    assert_int_equal(certgate_judgement_at(j, pki_utc(when), detail, sizeof(detail)), want);
    assert_string_equal(detail, want_detail);
}

static void test_judgement_at_precedence(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_judgement j;
    char detail[320];
    const char *revoked = "certificate 'CN=Revoked Client' was revoked on 2024-01-01T00:00:00Z "
                          "(keyCompromise) according to the CRL of 'CN=Test DEV Intermediate CA'";
    const char *nomatch = "certificate 'CN=Other Client,OU=Partners,O=Acme' matches no entry of "
                          "this policy's allow lists (cn)";

    spec_init(&b);
    b.crls[b.s.n_crl_files++] = fx.dev_crl;
    spec_allow(&b, CERTGATE_ALLOW_CN, "Revoked Client");
    p = policy_of(&b);
    /* One judgement, many times: validity, then revocation. */
    assert_int_equal(certgate_policy_judge(p, fx.revoked.cert, NULL, &j, NULL, NULL), 0);
    assert_int_equal(j.static_reason, CERTGATE_OK);
    assert_int_equal(j.revocation, CERTGATE_REVOKED);
    assert_string_equal(j.revocation_detail, revoked);
    assert_int_equal(j.identity_matched, 1);
    assert_string_equal(j.detail, "");
    at_case(&j, "20191231235959Z", CERTGATE_NOT_YET_VALID,
            "certificate 'CN=Revoked Client' is not valid before 2020-01-01T00:00:00Z");
    at_case(&j, "20200101000000Z", CERTGATE_REVOKED, revoked);
    at_case(&j, "20491231235958Z", CERTGATE_REVOKED, revoked);
    at_case(&j, "20491231235959Z", CERTGATE_EXPIRED,
            "certificate 'CN=Revoked Client' expired on 2049-12-31T23:59:59Z");

    /* Validity, then the CRL's own dates, then the allowlist. */
    assert_int_equal(certgate_policy_judge(p, fx.other.cert, NULL, &j, NULL, NULL), 0);
    assert_int_equal(j.revocation, CERTGATE_OK);
    assert_string_equal(j.revocation_detail, "");
    assert_int_equal(j.identity_matched, 0);
    assert_string_equal(j.detail, nomatch);
    at_case(&j, "20191231000000Z", CERTGATE_NOT_YET_VALID,
            "certificate 'CN=Other Client,OU=Partners,O=Acme' is not valid before "
            "2020-01-01T00:00:00Z");
    at_case(&j, "20231231000000Z", CERTGATE_REVOCATION_UNKNOWN,
            "revocation status of 'CN=Other Client,OU=Partners,O=Acme' is unknown: the CRL of "
            "'CN=Test DEV Intermediate CA' is not valid before 2024-01-01T00:00:00Z");
    at_case(&j, AT, CERTGATE_IDENTITY_NOT_MATCHED, nomatch);
    at_case(&j, "20300101000000Z", CERTGATE_REVOCATION_UNKNOWN,
            "revocation status of 'CN=Other Client,OU=Partners,O=Acme' is unknown: the CRL of "
            "'CN=Test DEV Intermediate CA' expired on 2030-01-01T00:00:00Z");
    at_case(&j, "20500101000000Z", CERTGATE_EXPIRED,
            "certificate 'CN=Other Client,OU=Partners,O=Acme' expired on 2049-12-31T23:59:59Z");

    /* A static failure outranks everything, at any time. */
    assert_int_equal(certgate_policy_judge(p, fx.untrusted.cert, NULL, &j, NULL, NULL), 0);
    at_case(&j, "20100101000000Z", CERTGATE_NOT_TRUSTED,
            "no chain to a trusted CA for 'CN=Untrusted Client' (unable to get local issuer "
            "certificate)");
    certgate_policy_free(p);

    /* A judgement built by hand follows the same order; 0 means now. */
    memset(&j, 0, sizeof(j));
    j.revocation = CERTGATE_REVOCATION_UNKNOWN;
    j.identity_matched = 1;
    j.not_before = 1000;
    j.not_after = time(NULL) + 3600;
    snprintf(j.revocation_detail, sizeof(j.revocation_detail), "unknown, by hand");
    assert_int_equal(certgate_judgement_at(&j, 0, detail, sizeof(detail)),
                     CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail, "unknown, by hand");
    j.revocation = CERTGATE_OK;
    assert_int_equal(certgate_judgement_at(&j, 0, NULL, 0), CERTGATE_OK);
    assert_int_equal(certgate_judgement_at(&j, 999, NULL, 0), CERTGATE_NOT_YET_VALID);
    j.static_reason = CERTGATE_NOT_TRUSTED;
    assert_int_equal(certgate_judgement_at(&j, 999, NULL, 0), CERTGATE_NOT_TRUSTED);
}

/* A daemon with `fail: open` copies the judgement and clears the revocation part: what is left
 * must be the identity's verdict, evaluated even though revocation failed first. */
static void test_fail_open_copy(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_judgement j, open;
    char detail[320];

    spec_init(&b);
    b.crls[b.s.n_crl_files++] = fx.dev_crl;
    spec_allow(&b, CERTGATE_ALLOW_CN, "Sibling Client");
    p = policy_of(&b);
    /* No CRL of TST: unknown; and on the allowlist. */
    assert_int_equal(certgate_policy_judge(p, fx.sibling.cert, NULL, &j, NULL, NULL), 0);
    assert_int_equal(j.revocation, CERTGATE_REVOCATION_UNKNOWN);
    assert_int_equal(j.identity_matched, 1);
    open = j;
    open.revocation = CERTGATE_OK;
    open.crl_this_update = open.crl_next_update = 0;
    assert_int_equal(certgate_judgement_at(&open, pki_utc(AT), detail, sizeof(detail)),
                     CERTGATE_OK);
    /* Known to the CRL but stale at this time, and not on the allowlist. */
    assert_int_equal(certgate_policy_judge(p, fx.other.cert, NULL, &j, NULL, NULL), 0);
    assert_int_equal(certgate_judgement_at(&j, pki_utc("20310101000000Z"), NULL, 0),
                     CERTGATE_REVOCATION_UNKNOWN);
    open = j;
    open.revocation = CERTGATE_OK;
    open.crl_this_update = open.crl_next_update = 0;
    assert_int_equal(
        certgate_judgement_at(&open, pki_utc("20310101000000Z"), detail, sizeof(detail)),
        CERTGATE_IDENTITY_NOT_MATCHED);
    assert_string_equal(detail, "certificate 'CN=Other Client,OU=Partners,O=Acme' matches no "
                                "entry of this policy's allow lists (cn)");
    certgate_policy_free(p);
}

/* ---- one policy, four threads ---- */

struct worker {
    const struct certgate_policy *p;
    time_t at;
    int failures;
};

static void *judge_loop(void *arg)
{
    struct worker *w = arg;
    char detail[320];
    int i;

    for (i = 0; i < 150; i++) {
        STACK_OF(X509) *presented = sk_X509_new_null();

        sk_X509_push(presented, fx.tst.cert);
        w->failures += certgate_policy_evaluate(w->p, fx.valid.cert, NULL, w->at, NULL, detail,
                                                sizeof(detail)) != CERTGATE_OK;
        w->failures += certgate_policy_evaluate(w->p, fx.revoked.cert, NULL, w->at, NULL, detail,
                                                sizeof(detail)) != CERTGATE_REVOKED;
        w->failures += certgate_policy_evaluate(w->p, fx.sibling.cert, presented, w->at, NULL,
                                                detail, sizeof(detail)) != CERTGATE_NOT_TRUSTED;
        w->failures += certgate_policy_evaluate(w->p, fx.other.cert, NULL, w->at, NULL, detail,
                                                sizeof(detail)) != CERTGATE_IDENTITY_NOT_MATCHED;
        w->failures += certgate_policy_evaluate(w->p, fx.expired.cert, NULL, w->at, NULL, detail,
                                                sizeof(detail)) != CERTGATE_EXPIRED;
        sk_X509_free(presented);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    pthread_t th[4];
    struct worker w[4];
    int i;

    spec_init(&b);
    b.im[0] = fx.dev_pem;
    b.dns[b.s.n_allowed_issuer_dns++] = "CN=Test DEV Intermediate CA";
    b.crls[b.s.n_crl_files++] = fx.dev_crl;
    spec_allow(&b, CERTGATE_ALLOW_CN, "Valid Client");
    spec_allow(&b, CERTGATE_ALLOW_CN, "Revoked Client");
    spec_allow(&b, CERTGATE_ALLOW_CN, "Expired Client");
    p = policy_of(&b);
    for (i = 0; i < 4; i++) {
        w[i] = (struct worker){p, pki_utc(AT), 0};
        assert_int_equal(pthread_create(&th[i], NULL, judge_loop, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    certgate_policy_free(p);
}

/* ---- SPEC §8: the demo PKI of scripts/gen-pki.sh ---- */

static X509 *demo_cert(const char *dir, const char *name, STACK_OF(X509) **rest)
{
    char path[512];
    FILE *f;
    X509 *x, *more;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    x = PEM_read_X509(f, NULL, NULL, NULL);
    assert_non_null(x);
    if (rest != NULL) {
        *rest = sk_X509_new_null();
        while ((more = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
            sk_X509_push(*rest, more);
        ERR_clear_error();
    }
    fclose(f);
    return x;
}

static enum certgate_reason demo_verdict(const struct certgate_policy *p, const char *dir,
                                         const char *file, char *detail)
{
    STACK_OF(X509) *rest = NULL;
    X509 *leaf = demo_cert(dir, file, &rest);
    enum certgate_reason r = certgate_policy_evaluate(p, leaf, rest, 0, NULL, detail, 320);

    sk_X509_pop_free(rest, X509_free);
    X509_free(leaf);
    return r;
}

static void test_demo_pki(void **state)
{
    const char *env = getenv("CERTGATE_DEMO_PKI");
    char dir[256], cmd[600], detail[320];
    char ca[300], inter[300], crl[300];
    const char *cas[] = {ca}, *inters[] = {inter}, *crls[] = {crl};
    const char *dns[] = {"CN=APIM Sample DEV Intermediate CA"}, *cns[] = {"Valid Client"};
    struct certgate_policy_spec s = {0};
    struct certgate_policy *p;
    struct stat st;
    char err[256];
    int made = 0;

    if (env != NULL && env[0] != '\0') {
        snprintf(dir, sizeof(dir), "%s", env);
    } else {
        /* `make unit` runs from the repository root, where the script lives. */
        if (stat("scripts/gen-pki.sh", &st) != 0)
            fail_msg("scripts/gen-pki.sh not found: run from the repository root or set "
                     "CERTGATE_DEMO_PKI");
        snprintf(dir, sizeof(dir), "/tmp/certgate-demo-pki-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(cmd, sizeof(cmd), "scripts/gen-pki.sh %s/pki >/dev/null", dir);
        assert_int_equal(system(cmd), 0);
        strcat(dir, "/pki");
        made = 1;
    }
    snprintf(ca, sizeof(ca), "%s/root-ca.pem", dir);
    snprintf(inter, sizeof(inter), "%s/dev-intermediate.pem", dir);
    snprintf(crl, sizeof(crl), "%s/dev.crl", dir);
    s.trusted_ca = cas;
    s.n_trusted_ca = 1;
    s.intermediates = inters;
    s.n_intermediates = 1;
    s.allowed_issuer_dns = dns;
    s.n_allowed_issuer_dns = 1;
    s.crl_files = crls;
    s.n_crl_files = 1;
    s.allow[CERTGATE_ALLOW_CN] = cns;
    s.n_allow[CERTGATE_ALLOW_CN] = 1;
    p = certgate_policy_new(&s, err, sizeof(err));
    if (p == NULL)
        fail_msg("demo policy: %s", err);

    assert_int_equal(demo_verdict(p, dir, "valid-client.pem", detail), CERTGATE_OK);
    assert_int_equal(demo_verdict(p, dir, "unregistered-client.pem", detail),
                     CERTGATE_IDENTITY_NOT_MATCHED);
    assert_string_equal(detail, "certificate 'CN=Unregistered Client,OU=Demo Clients,O=APIM "
                                "Sample' matches no entry of this policy's allow lists (cn)");
    assert_int_equal(demo_verdict(p, dir, "expired-client.pem", detail), CERTGATE_EXPIRED);
    assert_string_equal(detail, "certificate 'CN=Expired Client,OU=Demo Clients,O=APIM Sample' "
                                "expired on 2021-01-01T00:00:00Z");
    assert_int_equal(demo_verdict(p, dir, "notyetvalid-client.pem", detail),
                     CERTGATE_NOT_YET_VALID);
    assert_string_equal(detail, "certificate 'CN=Not Yet Valid Client,OU=Demo Clients,O=APIM "
                                "Sample' is not valid before 2035-01-01T00:00:00Z");
    /* It sends its whole chain: the TST intermediate reaches the same root. */
    assert_int_equal(demo_verdict(p, dir, "untrusted-client-chain.pem", detail),
                     CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, "certificate 'CN=Untrusted Client,OU=Demo Clients,O=APIM Sample' "
                                "is issued by 'CN=APIM Sample TST Intermediate CA', which is not "
                                "among this policy's allowed issuers");
    assert_int_equal(demo_verdict(p, dir, "revoked-client.pem", detail), CERTGATE_REVOKED);
    assert_memory_equal(detail,
                        "certificate 'CN=Revoked Client,OU=Demo Clients,O=APIM Sample' "
                        "was revoked on ",
                        strlen("certificate 'CN=Revoked Client,OU=Demo Clients,O=APIM Sample' "
                               "was revoked on "));
    assert_non_null(strstr(detail, "Z (keyCompromise) according to the CRL of 'CN=APIM Sample DEV "
                                   "Intermediate CA'"));
    certgate_policy_free(p);
    if (made) {
        dir[strlen(dir) - strlen("/pki")] = '\0';
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_names),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_build_allow_errors),
        cmocka_unit_test(test_report_every_check),
        cmocka_unit_test(test_report_skipped),
        cmocka_unit_test(test_chain_failure),
        cmocka_unit_test(test_judge_chain_out),
        cmocka_unit_test(test_judge_without_report_stops),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_judgement_at_precedence),
        cmocka_unit_test(test_fail_open_copy),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_demo_pki),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}

/* cert_checks.c: each check of a policy, passing and failing, with its exact sentence. */
#include "policy_fixture.c"

#define VALID_DN "CN=Valid Client,OU=Clients,O=Acme"

/* ---- issuer ---- */

static void test_issuer_dn(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    STACK_OF(X509) *presented = sk_X509_new_null();
    char detail[320];

    spec_init(&b);
    b.im[0] = fx.dev_pem;
    b.dns[b.s.n_allowed_issuer_dns++] = "CN=Test DEV Intermediate CA";
    p = policy_of(&b);
    assert_int_equal(verdict(p, fx.valid.cert, NULL, detail), CERTGATE_OK);
    /* A sibling intermediate under the same root: its chain is fine, its issuer is not. */
    sk_X509_push(presented, fx.tst.cert);
    assert_int_equal(verdict(p, fx.sibling.cert, presented, detail), CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, "certificate 'CN=Sibling Client' is issued by 'CN=Test TST "
                                "Intermediate CA', which is not among this policy's allowed "
                                "issuers");
    certgate_policy_free(p);

    /* Without the pin the same sibling passes. */
    b.s.n_allowed_issuer_dns = 0;
    p = policy_of(&b);
    assert_int_equal(verdict(p, fx.sibling.cert, presented, detail), CERTGATE_OK);
    certgate_policy_free(p);

    /* DN matching is OpenSSL's canonical one: case and repeated spaces do not matter. */
    b.dns[b.s.n_allowed_issuer_dns++] = "cn=test dev  INTERMEDIATE ca";
    p = policy_of(&b);
    assert_int_equal(verdict(p, fx.valid.cert, NULL, detail), CERTGATE_OK);
    assert_int_equal(verdict(p, fx.sibling.cert, presented, detail), CERTGATE_NOT_TRUSTED);
    certgate_policy_free(p);
    sk_X509_free(presented);
}

static void test_issuer_file(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_report r;
    char detail[320];

    spec_init(&b);
    b.files[b.s.n_allowed_issuer_files++] = fx.dev_pem;
    p = policy_of(&b);
    assert_int_equal(
        certgate_policy_evaluate(p, fx.valid.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_OK);
    assert_check(&r, CERTGATE_CHECK_ISSUER, CERTGATE_PASS,
                 "certificate '" VALID_DN "' is issued by 'CN=Test DEV Intermediate CA', an "
                 "allowed issuer");
    assert_int_equal(
        certgate_policy_evaluate(p, fx.sibling.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_NOT_TRUSTED);
    assert_check(&r, CERTGATE_CHECK_ISSUER, CERTGATE_FAIL,
                 "certificate 'CN=Sibling Client' is issued by 'CN=Test TST Intermediate CA', "
                 "which is not among this policy's allowed issuers");
    assert_check(&r, CERTGATE_CHECK_CHAIN, CERTGATE_PASS,
                 "certificate 'CN=Sibling Client' chains to the trusted CA 'CN=Test Root CA'");
    certgate_policy_free(p);

    /* A certificate with DEV's name but another key is not DEV. */
    b.files[0] = fx.impostor_pem;
    p = policy_of(&b);
    assert_int_equal(verdict(p, fx.valid.cert, NULL, detail), CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, "certificate '" VALID_DN "' is issued by 'CN=Test DEV "
                                "Intermediate CA', which is not among this policy's allowed "
                                "issuers");
    certgate_policy_free(p);

    /* Both forms together: either may match. */
    b.dns[b.s.n_allowed_issuer_dns++] = "CN=Test TST Intermediate CA";
    b.files[0] = fx.dev_pem;
    p = policy_of(&b);
    assert_int_equal(verdict(p, fx.valid.cert, NULL, detail), CERTGATE_OK);
    assert_int_equal(verdict(p, fx.sibling.cert, NULL, detail), CERTGATE_OK);
    assert_int_equal(verdict(p, fx.deep.cert, NULL, detail), CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, "certificate 'CN=Deep Client' is issued by 'CN=Test DEV Sub CA', "
                                "which is not among this policy's allowed issuers");
    certgate_policy_free(p);
}

/* ---- depth ---- */

static void test_depth(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_report r;
    char detail[320];

    spec_init(&b);
    b.s.max_depth = 2;
    p = policy_of(&b);
    assert_int_equal(
        certgate_policy_evaluate(p, fx.valid.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_OK);
    assert_check(&r, CERTGATE_CHECK_DEPTH, CERTGATE_PASS,
                 "2 CA certificates above the leaf; at most 2 allowed");
    /* root -> DEV -> Sub -> leaf is 3. */
    assert_int_equal(
        certgate_policy_evaluate(p, fx.deep.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, "certificate 'CN=Deep Client' has 3 CA certificates above it; "
                                "this policy allows at most 2 (max_depth)");
    assert_check(&r, CERTGATE_CHECK_DEPTH, CERTGATE_FAIL, detail);
    assert_check(&r, CERTGATE_CHECK_CHAIN, CERTGATE_PASS,
                 "certificate 'CN=Deep Client' chains to the trusted CA 'CN=Test Root CA'");
    certgate_policy_free(p);

    b.s.max_depth = 3;
    p = policy_of(&b);
    assert_int_equal(
        certgate_policy_evaluate(p, fx.deep.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_OK);
    assert_check(&r, CERTGATE_CHECK_DEPTH, CERTGATE_PASS,
                 "3 CA certificates above the leaf; at most 3 allowed");
    certgate_policy_free(p);

    b.s.max_depth = 1;
    p = policy_of(&b);
    assert_int_equal(verdict(p, fx.valid.cert, NULL, detail), CERTGATE_NOT_TRUSTED);
    assert_string_equal(detail, "certificate '" VALID_DN "' has 2 CA certificates above it; "
                                "this policy allows at most 1 (max_depth)");
    certgate_policy_free(p);
}

/* ---- EKU ---- */

static void eku_case(enum certgate_eku eku, X509 *leaf, enum certgate_reason want,
                     const char *want_detail)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_report r;
    char detail[320];

    spec_init(&b);
    b.s.eku = eku;
    p = policy_of(&b);
    assert_int_equal(
        certgate_policy_evaluate(p, leaf, NULL, pki_utc(AT), &r, detail, sizeof(detail)), want);
    if (want_detail != NULL) {
        assert_string_equal(detail, want_detail);
        /* Reported as the EKU check's failure, not as a broken chain. */
        assert_check(&r, CERTGATE_CHECK_EKU, CERTGATE_FAIL, want_detail);
        assert_int_equal(r.outcome[CERTGATE_CHECK_CHAIN], CERTGATE_PASS);
    } else {
        assert_int_equal(r.outcome[CERTGATE_CHECK_EKU],
                         eku == CERTGATE_EKU_NONE ? CERTGATE_SKIPPED : CERTGATE_PASS);
    }
    certgate_policy_free(p);
}

static void test_eku(void **state)
{
    eku_case(CERTGATE_EKU_CLIENT_AUTH, fx.valid.cert, CERTGATE_OK, NULL);
    eku_case(CERTGATE_EKU_CLIENT_AUTH, fx.no_eku.cert, CERTGATE_OK, NULL);
    eku_case(CERTGATE_EKU_CLIENT_AUTH, fx.any_eku.cert, CERTGATE_OK, NULL);
    eku_case(CERTGATE_EKU_CLIENT_AUTH, fx.server_only.cert, CERTGATE_NOT_TRUSTED,
             "certificate 'CN=Server Only' may not be used for client authentication (its "
             "extended key usage lacks clientAuth)");
    eku_case(CERTGATE_EKU_CLIENT_AUTH, fx.ku_only.cert, CERTGATE_NOT_TRUSTED,
             "certificate 'CN=KU Only' may not be used for client authentication (its key usage "
             "forbids it)");
    /* A CA whose EKU leaves clientAuth out cannot issue client certificates. */
    eku_case(CERTGATE_EKU_CLIENT_AUTH, fx.under_srv.cert, CERTGATE_NOT_TRUSTED,
             "issuer certificate 'CN=Test Server-Only CA' of 'CN=Under Server CA' may not be used "
             "for client authentication (its extended key usage lacks clientAuth)");
    eku_case(CERTGATE_EKU_SERVER_AUTH, fx.server_only.cert, CERTGATE_OK, NULL);
    eku_case(CERTGATE_EKU_SERVER_AUTH, fx.valid.cert, CERTGATE_NOT_TRUSTED,
             "certificate '" VALID_DN "' may not be used for server authentication (its extended "
             "key usage lacks serverAuth)");
    eku_case(CERTGATE_EKU_ANY, fx.server_only.cert, CERTGATE_OK, NULL);
    eku_case(CERTGATE_EKU_ANY, fx.under_srv.cert, CERTGATE_OK, NULL);
    eku_case(CERTGATE_EKU_NONE, fx.server_only.cert, CERTGATE_OK, NULL);
    eku_case(CERTGATE_EKU_NONE, fx.under_srv.cert, CERTGATE_OK, NULL);
}

static void test_eku_sentences(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_report r;
    char detail[320];

    spec_init(&b);
    p = policy_of(&b);
    certgate_policy_evaluate(p, fx.valid.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail));
    assert_check(&r, CERTGATE_CHECK_EKU, CERTGATE_PASS,
                 "certificate '" VALID_DN "' and its issuers may be used for client "
                 "authentication");
    /* No chain: the leaf alone is judged. */
    certgate_policy_evaluate(p, fx.untrusted.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail));
    assert_check(&r, CERTGATE_CHECK_EKU, CERTGATE_PASS,
                 "certificate 'CN=Untrusted Client' may be used for client authentication");
    certgate_policy_free(p);
    b.s.eku = CERTGATE_EKU_ANY;
    p = policy_of(&b);
    certgate_policy_evaluate(p, fx.valid.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail));
    assert_check(&r, CERTGATE_CHECK_EKU, CERTGATE_PASS, "any extended key usage is accepted");
    certgate_policy_free(p);
}

/* ---- key ---- */

static void key_case(struct spec_buf *b, X509 *leaf, const char *want_detail)
{
    struct certgate_policy *p = policy_of(b);
    struct certgate_report r;
    char detail[320];
    enum certgate_reason got =
        certgate_policy_evaluate(p, leaf, NULL, pki_utc(AT), &r, detail, sizeof(detail));

    if (want_detail == NULL) {
        assert_int_equal(got, CERTGATE_OK);
        assert_int_equal(r.outcome[CERTGATE_CHECK_KEY], CERTGATE_PASS);
    } else {
        assert_int_equal(got, CERTGATE_NOT_TRUSTED);
        assert_string_equal(detail, want_detail);
        assert_check(&r, CERTGATE_CHECK_KEY, CERTGATE_FAIL, want_detail);
    }
    certgate_policy_free(p);
}

static void test_key_strength(void **state)
{
    struct spec_buf b;

    spec_init(&b);
    key_case(&b, fx.valid.cert, NULL);
    key_case(&b, fx.rsa2048.cert, NULL);
    key_case(&b, fx.rsa1024.cert,
             "certificate 'CN=RSA 1024' has a 1024-bit RSA key; this policy requires at least "
             "2048 bits");
    key_case(&b, fx.p192.cert,
             "certificate 'CN=EC P-192' has a 192-bit EC key; this policy requires at least 256 "
             "bits");
    key_case(&b, fx.p224.cert,
             "certificate 'CN=EC P-224' has a 224-bit EC key; this policy requires at least 256 "
             "bits");
    /* Intermediates count; the anchor, trusted as configured, does not. */
    key_case(&b, fx.under_weak.cert,
             "issuer certificate 'CN=Weak CA' of 'CN=Under Weak CA' has a 1024-bit RSA key; this "
             "policy requires at least 2048 bits");
    b.ca[0] = fx.weak_root_pem;
    key_case(&b, fx.under_weak_root.cert, NULL);
    b.ca[0] = fx.root_pem;

    b.s.min_ec_bits = 224;
    key_case(&b, fx.p224.cert, NULL);
    key_case(&b, fx.p192.cert,
             "certificate 'CN=EC P-192' has a 192-bit EC key; this policy requires at least 224 "
             "bits");
    b.s.min_ec_bits = -1;
    key_case(&b, fx.p192.cert, NULL);
    b.s.min_rsa_bits = 3072;
    key_case(&b, fx.rsa2048.cert,
             "certificate 'CN=RSA 2048' has a 2048-bit RSA key; this policy requires at least "
             "3072 bits");
    b.s.min_rsa_bits = -1;
    key_case(&b, fx.rsa1024.cert, NULL);
}

static void test_weak_signatures(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_report r;
    char detail[320];

    spec_init(&b);
    key_case(&b, fx.sha1.cert,
             "certificate 'CN=SHA-1 Signed' is signed with SHA-1, which this policy refuses; "
             "reissue it with SHA-256");
    key_case(&b, fx.md5.cert,
             "certificate 'CN=MD5 Signed' is signed with MD5, which this policy refuses; reissue "
             "it with SHA-256");
    b.s.allow_weak_signatures = 1;
    key_case(&b, fx.sha1.cert, NULL);
    key_case(&b, fx.md5.cert, NULL);
    /* Every part of the key check off: skipped. */
    b.s.min_rsa_bits = -1;
    b.s.min_ec_bits = -1;
    p = policy_of(&b);
    certgate_policy_evaluate(p, fx.md5.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail));
    assert_check(&r, CERTGATE_CHECK_KEY, CERTGATE_SKIPPED, "");
    certgate_policy_free(p);
}

/* ---- revocation ---- */

static void test_revocation(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_report r;
    char detail[320];

    spec_init(&b);
    b.crls[b.s.n_crl_files++] = fx.dev_crl;
    p = policy_of(&b);
    assert_int_equal(
        certgate_policy_evaluate(p, fx.valid.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_OK);
    assert_check(&r, CERTGATE_CHECK_REVOCATION, CERTGATE_PASS,
                 "certificate '" VALID_DN "' is not on the CRL of 'CN=Test DEV Intermediate CA' "
                 "(next update 2030-01-01T00:00:00Z)");
    assert_int_equal(
        certgate_policy_evaluate(p, fx.revoked.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_REVOKED);
    assert_string_equal(detail, "certificate 'CN=Revoked Client' was revoked on "
                                "2024-01-01T00:00:00Z (keyCompromise) according to the CRL of "
                                "'CN=Test DEV Intermediate CA'");
    assert_check(&r, CERTGATE_CHECK_REVOCATION, CERTGATE_FAIL, detail);
    /* Revocation is not a trust failure. */
    assert_int_equal(r.outcome[CERTGATE_CHECK_CHAIN], CERTGATE_PASS);
    /* No CRL for the sibling's issuer: unknown. */
    assert_int_equal(verdict(p, fx.sibling.cert, NULL, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail, "revocation status of 'CN=Sibling Client' is unknown: no CRL of "
                                "its issuer 'CN=Test TST Intermediate CA' was given");
    /* The CRL's dates: stale after nextUpdate, not yet usable before thisUpdate. */
    assert_int_equal(certgate_policy_evaluate(p, fx.valid.cert, NULL, pki_utc("20300101000000Z"),
                                              &r, detail, sizeof(detail)),
                     CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail, "revocation status of '" VALID_DN "' is unknown: the CRL of "
                                "'CN=Test DEV Intermediate CA' expired on 2030-01-01T00:00:00Z");
    assert_check(&r, CERTGATE_CHECK_REVOCATION, CERTGATE_FAIL, detail);
    assert_int_equal(certgate_policy_evaluate(p, fx.valid.cert, NULL, pki_utc("20231231235959Z"),
                                              &r, detail, sizeof(detail)),
                     CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail, "revocation status of '" VALID_DN "' is unknown: the CRL of "
                                "'CN=Test DEV Intermediate CA' is not valid before "
                                "2024-01-01T00:00:00Z");
    assert_int_equal(verdict(p, fx.valid.cert, NULL, detail), CERTGATE_OK);
    /* Revoked stays revoked whatever the CRL's dates. */
    assert_int_equal(certgate_policy_evaluate(p, fx.revoked.cert, NULL, pki_utc("20350101000000Z"),
                                              NULL, detail, sizeof(detail)),
                     CERTGATE_REVOKED);
    certgate_policy_free(p);
}

static void test_revocation_bad_crls(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_judgement j;
    char detail[320];

    spec_init(&b);
    b.crls[b.s.n_crl_files++] = fx.bad_crl;
    p = policy_of(&b);
    assert_int_equal(verdict(p, fx.valid.cert, NULL, detail), CERTGATE_REVOCATION_UNKNOWN);
    assert_string_equal(detail, "revocation status of '" VALID_DN "' is unknown: the CRL of "
                                "'CN=Test DEV Intermediate CA' cannot be used (CRL signature "
                                "failure)");
    /* A CRL that does not verify cannot revoke either. */
    assert_int_equal(verdict(p, fx.revoked.cert, NULL, detail), CERTGATE_REVOCATION_UNKNOWN);
    certgate_policy_free(p);

    /* No nextUpdate: the CRL never goes stale. */
    b.crls[0] = fx.open_crl;
    p = policy_of(&b);
    assert_int_equal(certgate_policy_judge(p, fx.valid.cert, NULL, &j, NULL, NULL), 0);
    assert_int_equal(j.revocation, CERTGATE_OK);
    assert_int_equal(j.crl_this_update, pki_utc("20240101000000Z"));
    assert_int_equal(j.crl_next_update, 0);
    assert_int_equal(certgate_judgement_at(&j, pki_utc("20450101000000Z"), detail, 320),
                     CERTGATE_OK);
    assert_int_equal(verdict(p, fx.revoked.cert, NULL, detail), CERTGATE_REVOKED);
    certgate_policy_free(p);
}

/* ---- identity ---- */

static void identity_case(enum certgate_allow_kind kind, const char *entry, const char *name)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_report r;
    char detail[320], want[320];

    spec_init(&b);
    spec_allow(&b, kind, "00");
    spec_allow(&b, kind, entry);
    if (kind != CERTGATE_ALLOW_SHA1 && kind != CERTGATE_ALLOW_SHA256 &&
        kind != CERTGATE_ALLOW_SERIAL)
        b.allow[kind][0] = "unrelated";
    if (kind == CERTGATE_ALLOW_SHA1)
        b.allow[kind][0] = "0000000000000000000000000000000000000000";
    if (kind == CERTGATE_ALLOW_SHA256)
        b.allow[kind][0] = "00000000000000000000000000000000"
                           "00000000000000000000000000000000";
    p = policy_of(&b);
    assert_int_equal(
        certgate_policy_evaluate(p, fx.valid.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_OK);
    assert_int_equal(r.outcome[CERTGATE_CHECK_IDENTITY], CERTGATE_PASS);
    assert_int_equal(
        certgate_policy_evaluate(p, fx.other.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail)),
        CERTGATE_IDENTITY_NOT_MATCHED);
    snprintf(want, sizeof(want),
             "certificate 'CN=Other Client,OU=Partners,O=Acme' matches no entry of this "
             "policy's allow lists (%s)",
             name);
    assert_string_equal(detail, want);
    assert_check(&r, CERTGATE_CHECK_IDENTITY, CERTGATE_FAIL, want);
    certgate_policy_free(p);
}

static void test_identity_kinds(void **state)
{
    unsigned char d[32];
    unsigned int len, i;
    char sha1[64], sha256[128];

    X509_digest(fx.valid.cert, EVP_sha1(), d, &len);
    for (i = 0; i < len; i++)
        sprintf(sha1 + 3 * i, "%02x%s", d[i], i + 1 < len ? ":" : "");
    X509_digest(fx.valid.cert, EVP_sha256(), d, &len);
    for (i = 0; i < len; i++)
        sprintf(sha256 + 2 * i, "%02X", d[i]);
    identity_case(CERTGATE_ALLOW_SHA1, sha1, "sha1");
    identity_case(CERTGATE_ALLOW_SHA256, sha256, "sha256");
    identity_case(CERTGATE_ALLOW_CN, "Valid Client", "cn");
    identity_case(CERTGATE_ALLOW_SAN_DNS, "VALID.example.com", "san_dns");
    identity_case(CERTGATE_ALLOW_SAN_URI, "spiffe://acme/valid", "san_uri");
    identity_case(CERTGATE_ALLOW_SAN_EMAIL, "valid@example.com", "san_email");
    identity_case(CERTGATE_ALLOW_OU, "Clients", "ou");
    identity_case(CERTGATE_ALLOW_SERIAL, "00:0a:1b:2c", "serial");
}

static void test_identity_sentences(void **state)
{
    struct spec_buf b;
    struct certgate_policy *p;
    struct certgate_report r;
    char detail[320];

    spec_init(&b);
    spec_allow(&b, CERTGATE_ALLOW_SERIAL, "0a 1B 2c");
    spec_allow(&b, CERTGATE_ALLOW_CN, "Nobody");
    spec_allow(&b, CERTGATE_ALLOW_SAN_URI, "spiffe://acme/nobody");
    p = policy_of(&b);
    /* Entries are kept normalised, and named as kept. */
    certgate_policy_evaluate(p, fx.valid.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail));
    assert_check(&r, CERTGATE_CHECK_IDENTITY, CERTGATE_PASS,
                 "certificate '" VALID_DN "' matches allow serial 'A1B2C'");
    /* Kinds are listed in the header's order. */
    certgate_policy_evaluate(p, fx.other.cert, NULL, pki_utc(AT), &r, detail, sizeof(detail));
    assert_string_equal(detail, "certificate 'CN=Other Client,OU=Partners,O=Acme' matches no "
                                "entry of this policy's allow lists (cn, san_uri, serial)");
    certgate_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issuer_dn),
        cmocka_unit_test(test_issuer_file),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_eku),
        cmocka_unit_test(test_eku_sentences),
        cmocka_unit_test(test_key_strength),
        cmocka_unit_test(test_weak_signatures),
        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_revocation_bad_crls),
        cmocka_unit_test(test_identity_kinds),
        cmocka_unit_test(test_identity_sentences),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}

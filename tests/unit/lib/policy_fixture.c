/* The PKI and policy helpers shared by test_cert_policy.c and test_cert_checks.c (included,
 * not linked: the Makefile builds each test_*.c alone).
 *
 *   Test Root CA
 *   +-- Test DEV Intermediate CA: Valid Client, Other Client, Revoked Client, Server Only,
 *   |   |   No EKU, Any EKU, KU Only, RSA 1024/2048, EC P-192/P-224, SHA-1 Signed,
 *   |   |   Expired Client (..2021), Future Client (2040..)
 *   |   +-- Test DEV Sub CA: Deep Client
 *   +-- Test TST Intermediate CA: Sibling Client
 *   +-- Test Server-Only CA (EKU serverAuth): Under Server CA
 *   +-- Weak CA (RSA 1024): Under Weak CA
 *   +-- RSA CA (RSA 2048): MD5 Signed (ECDSA has no MD5)
 *   +-- Expired CA (..2021): Leaf Under Expired CA
 *   Other Root CA: Untrusted Client
 *   Weak Root CA (RSA 1024, SHA-1 self-signature): Under Weak Root
 *
 * Leaves are valid 2020-01-01 .. 2049-12-31 unless named otherwise; CAs 2000 .. 2099. */
#include "pki_util.c"

#include <pthread.h>

#include "certgate/policy.h"

/* The time most tests judge at: inside every window but the expired and future ones. */
#define AT "20250101000000Z"

static struct fixture {
    struct pki_node root, dev, tst, sub, srv_ca, weak_ca, rsa_ca, exp_ca, other_root, weak_root;
    struct pki_node valid, other, revoked, server_only, no_eku, any_eku, ku_only;
    struct pki_node rsa1024, rsa2048, p192, p224, sha1, md5, expired, future;
    struct pki_node deep, sibling, under_srv, under_weak, under_exp, untrusted, under_weak_root;
    const char *root_pem, *dev_pem, *tst_pem, *all_inter_pem, *weak_root_pem, *impostor_pem;
    const char *dev_crl, *bad_crl, *open_crl, *empty_txt;
    struct pki_node impostor;
} fx;

static struct pki_node leaf_of(const char *subject, const struct pki_node *issuer,
                               struct pki_opts o)
{
    if (o.not_before == NULL)
        o.not_before = "20200101000000Z";
    if (o.not_after == NULL)
        o.not_after = "20491231235959Z";
    if (o.eku == NULL)
        o.eku = "clientAuth";
    return pki_issue(subject, issuer, &o);
}

static int fixture_setup(void **state)
{
    struct pki_opts none = {0};

    /* Every CA its own key: a shared key would let any CA "sign" for another. */
    fx.root = pki_issue("/CN=Test Root CA", NULL, &(struct pki_opts){.ca = 1, .key = "ec:P-256#r"});
    fx.dev = pki_issue("/CN=Test DEV Intermediate CA", &fx.root,
                       &(struct pki_opts){.ca = 1, .key = "ec:P-256#dev"});
    fx.tst = pki_issue("/CN=Test TST Intermediate CA", &fx.root,
                       &(struct pki_opts){.ca = 1, .key = "ec:P-256#tst"});
    fx.sub = pki_issue("/CN=Test DEV Sub CA", &fx.dev,
                       &(struct pki_opts){.ca = 1, .key = "ec:P-256#sub"});
    fx.srv_ca = pki_issue("/CN=Test Server-Only CA", &fx.root,
                          &(struct pki_opts){.ca = 1, .eku = "serverAuth", .key = "ec:P-256#srv"});
    fx.weak_ca = pki_issue("/CN=Weak CA", &fx.root, &(struct pki_opts){.ca = 1, .key = "rsa:1024"});
    fx.rsa_ca = pki_issue("/CN=RSA CA", &fx.root, &(struct pki_opts){.ca = 1, .key = "rsa:2048"});
    fx.exp_ca = pki_issue(
        "/CN=Expired CA", &fx.root,
        &(struct pki_opts){.ca = 1, .not_after = "20210101000000Z", .key = "ec:P-256#exp"});
    fx.other_root =
        pki_issue("/CN=Other Root CA", NULL, &(struct pki_opts){.ca = 1, .key = "ec:P-256#other"});
    fx.weak_root = pki_issue("/CN=Weak Root CA", NULL,
                             &(struct pki_opts){.ca = 1, .key = "rsa:1024#root", .md = EVP_sha1()});
    /* Same name as DEV, another key: an allowed_issuers file holding it must not match DEV. */
    fx.impostor = pki_issue("/CN=Test DEV Intermediate CA", NULL,
                            &(struct pki_opts){.ca = 1, .key = "ec:P-256#impostor"});

    fx.valid = leaf_of("/O=Acme/OU=Clients/CN=Valid Client", &fx.dev,
                       (struct pki_opts){.serial = "0A1B2C",
                                         .san = "DNS:valid.example.com, URI:spiffe://acme/valid, "
                                                "email:valid@example.com"});
    fx.other = leaf_of("/O=Acme/OU=Partners/CN=Other Client", &fx.dev,
                       (struct pki_opts){.san = "DNS:other.example.com"});
    fx.revoked = leaf_of("/CN=Revoked Client", &fx.dev, none);
    fx.server_only = leaf_of("/CN=Server Only", &fx.dev, (struct pki_opts){.eku = "serverAuth"});
    fx.no_eku = pki_issue(
        "/CN=No EKU", &fx.dev,
        &(struct pki_opts){.not_before = "20200101000000Z", .not_after = "20491231235959Z"});
    fx.any_eku = leaf_of("/CN=Any EKU", &fx.dev, (struct pki_opts){.eku = "anyExtendedKeyUsage"});
    fx.ku_only =
        leaf_of("/CN=KU Only", &fx.dev, (struct pki_opts){.ku = "critical,keyEncipherment"});
    fx.rsa1024 = leaf_of("/CN=RSA 1024", &fx.dev, (struct pki_opts){.key = "rsa:1024"});
    fx.rsa2048 = leaf_of("/CN=RSA 2048", &fx.dev, (struct pki_opts){.key = "rsa:2048"});
    fx.p192 = leaf_of("/CN=EC P-192", &fx.dev, (struct pki_opts){.key = "ec:P-192"});
    fx.p224 = leaf_of("/CN=EC P-224", &fx.dev, (struct pki_opts){.key = "ec:P-224"});
    fx.sha1 = leaf_of("/CN=SHA-1 Signed", &fx.dev, (struct pki_opts){.md = EVP_sha1()});
    fx.md5 = leaf_of("/CN=MD5 Signed", &fx.rsa_ca, (struct pki_opts){.md = EVP_md5()});
    fx.expired =
        leaf_of("/CN=Expired Client", &fx.dev, (struct pki_opts){.not_after = "20210101000000Z"});
    fx.future =
        leaf_of("/CN=Future Client", &fx.dev, (struct pki_opts){.not_before = "20400101000000Z"});
    fx.deep = leaf_of("/CN=Deep Client", &fx.sub, none);
    fx.sibling = leaf_of("/CN=Sibling Client", &fx.tst, none);
    fx.under_srv = leaf_of("/CN=Under Server CA", &fx.srv_ca, none);
    fx.under_weak = leaf_of("/CN=Under Weak CA", &fx.weak_ca, none);
    fx.under_exp = leaf_of("/CN=Leaf Under Expired CA", &fx.exp_ca, none);
    fx.untrusted = leaf_of("/CN=Untrusted Client", &fx.other_root, none);
    fx.under_weak_root = leaf_of("/CN=Under Weak Root", &fx.weak_root, none);

    fx.root_pem = pki_write_certs("root.pem", &fx.root.cert, 1);
    fx.dev_pem = pki_write_certs("dev.pem", &fx.dev.cert, 1);
    fx.tst_pem = pki_write_certs("tst.pem", &fx.tst.cert, 1);
    fx.weak_root_pem = pki_write_certs("weak-root.pem", &fx.weak_root.cert, 1);
    fx.impostor_pem = pki_write_certs("impostor.pem", &fx.impostor.cert, 1);
    {
        X509 *all[] = {fx.dev.cert,     fx.tst.cert,    fx.sub.cert,   fx.srv_ca.cert,
                       fx.weak_ca.cert, fx.rsa_ca.cert, fx.exp_ca.cert};
        fx.all_inter_pem = pki_write_certs("inter.pem", all, 7);
    }
    {
        X509_CRL *c =
            pki_crl(&fx.dev, &fx.revoked.cert, 1, "20240101000000Z", "20300101000000Z", NULL);
        fx.dev_crl = pki_write_crl("dev.crl", c);
        X509_CRL_free(c);
        /* DEV's name, the TST key's signature. */
        c = pki_crl(&fx.dev, NULL, 0, "20240101000000Z", "20300101000000Z", fx.tst.key);
        fx.bad_crl = pki_write_crl("bad.crl", c);
        X509_CRL_free(c);
        c = pki_crl(&fx.dev, &fx.revoked.cert, 1, "20240101000000Z", NULL, NULL);
        fx.open_crl = pki_write_crl("open.crl", c);
        X509_CRL_free(c);
    }
    fx.empty_txt = pki_write_text("empty.txt", "no certificate here\n");
    return 0;
}

static int fixture_teardown(void **state)
{
    struct pki_node *all[] = {
        &fx.root,      &fx.dev,       &fx.tst,
        &fx.sub,       &fx.srv_ca,    &fx.weak_ca,
        &fx.rsa_ca,    &fx.exp_ca,    &fx.other_root,
        &fx.weak_root, &fx.impostor,  &fx.valid,
        &fx.other,     &fx.revoked,   &fx.server_only,
        &fx.no_eku,    &fx.any_eku,   &fx.ku_only,
        &fx.rsa1024,   &fx.rsa2048,   &fx.p192,
        &fx.p224,      &fx.sha1,      &fx.md5,
        &fx.expired,   &fx.future,    &fx.deep,
        &fx.sibling,   &fx.under_srv, &fx.under_weak,
        &fx.under_exp, &fx.untrusted, &fx.under_weak_root,
    };
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        pki_node_free(all[i]);
    pki_dir_remove();
    pki_keys_free();
    return 0;
}

/* A spec and the arrays it points into; keep it in place once spec_init ran. */
struct spec_buf {
    struct certgate_policy_spec s;
    const char *ca[2], *im[2], *dns[2], *files[2], *crls[2];
    const char *allow[CERTGATE_ALLOW_COUNT][4];
};

/* Trust root.pem with every intermediate as a helper; everything else at its default. */
static void spec_init(struct spec_buf *b)
{
    size_t k;

    memset(b, 0, sizeof(*b));
    b->ca[0] = fx.root_pem;
    b->im[0] = fx.all_inter_pem;
    b->s.trusted_ca = b->ca;
    b->s.n_trusted_ca = 1;
    b->s.intermediates = b->im;
    b->s.n_intermediates = 1;
    b->s.allowed_issuer_dns = b->dns;
    b->s.allowed_issuer_files = b->files;
    b->s.crl_files = b->crls;
    for (k = 0; k < CERTGATE_ALLOW_COUNT; k++)
        b->s.allow[k] = b->allow[k];
}

static void spec_allow(struct spec_buf *b, enum certgate_allow_kind k, const char *value)
{
    assert_true(b->s.n_allow[k] < 4);
    b->allow[k][b->s.n_allow[k]++] = value;
}

static struct certgate_policy *policy_of(const struct spec_buf *b)
{
    char err[256];
    struct certgate_policy *p = certgate_policy_new(&b->s, err, sizeof(err));

    if (p == NULL)
        fail_msg("policy: %s", err);
    return p;
}

/* The verdict of <leaf> under <p> at AT, with the detail in <detail> (320 bytes). */
static enum certgate_reason verdict(const struct certgate_policy *p, X509 *leaf,
                                    STACK_OF(X509) *presented, char *detail)
{
    return certgate_policy_evaluate(p, leaf, presented, pki_utc(AT), NULL, detail, 320);
}

/* One check's outcome and sentence in <r>. */
#define assert_check(r, c, o, sentence)                                                            \
    do {                                                                                           \
        assert_int_equal((r)->outcome[(c)], (o));                                                  \
        assert_string_equal((r)->detail[(c)], (sentence));                                         \
    } while (0)

/* config_files: the OpenSSL checks of certificate, key, CA and PKCS#12 files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>

#include "config/cfg_test.h"
#include "config/config_internal.h"

static char msg[512];

static void test_pem_pair(void **state)
{
    int bad = -1;

    assert_int_equal(
        cfg_check_pem_pair("server.pem", "s", "server.key", "k", &bad, msg, sizeof(msg)), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(ERR_peek_error(), 0); /* no stale errors left for the TLS layer */
    assert_int_equal(
        cfg_check_pem_pair("ca.pem", "ca.pem", "server.key", "server.key", &bad, msg, sizeof(msg)),
        -1);
    assert_int_equal(bad, 1);
    assert_string_equal(msg, "private key 'server.key' does not match certificate 'ca.pem'");
    assert_int_equal(cfg_check_pem_pair("server.key", "server.key", "server.key", "server.key",
                                        &bad, msg, sizeof(msg)),
                     -1);
    assert_int_equal(bad, 0);
    assert_string_equal(msg, "no certificate found in 'server.key'");
    assert_int_equal(cfg_check_pem_pair(".", ".", "server.key", "k", &bad, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "cannot open '.': Is a directory");
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_corrupt_pem(void **state)
{
    int bad = -1;

    cfg_test_write("bad.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    assert_int_equal(
        cfg_check_pem_pair("bad.pem", "bad.pem", "server.key", "k", &bad, msg, sizeof(msg)), -1);
    assert_int_equal(bad, 0);
    assert_string_equal(msg, "cannot read certificate 'bad.pem': wrong tag");
    cfg_test_write("bad.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert_int_equal(cfg_check_pem_pair("server.pem", "server.pem", "bad.key", "bad.key", &bad, msg,
                                        sizeof(msg)),
                     -1);
    assert_int_equal(bad, 1);
    assert_string_equal(msg, "cannot read private key 'bad.key': unsupported");
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_cert_file(void **state)
{
    FILE *f;

    assert_int_equal(cfg_check_cert_file("ca.pem", "ca.pem", msg, sizeof(msg)), 0);
    assert_int_equal(cfg_check_cert_file("notpem.txt", "n", msg, sizeof(msg)), -1);
    assert_string_equal(msg, "no certificate found in 'n'");
    assert_int_equal(cfg_check_cert_file("nope.pem", "nope.pem", msg, sizeof(msg)), -1);
    assert_string_equal(msg, "cannot open 'nope.pem': No such file or directory");
    cfg_test_write("empty.pem", "");
    assert_int_equal(cfg_check_cert_file("empty.pem", "empty.pem", msg, sizeof(msg)), -1);
    assert_string_equal(msg, "no certificate found in 'empty.pem'");
    /* a bundle: two good certificates, then a broken one */
    assert_int_equal(cfg_test_copy("ca.pem", "bundle.pem"), 0);
    f = fopen("bundle.pem", "a");
    assert_non_null(f);
    fputs("junk between blocks is fine\n", f);
    fclose(f);
    assert_int_equal(cfg_check_cert_file("bundle.pem", "bundle.pem", msg, sizeof(msg)), 0);
    f = fopen("bundle.pem", "a");
    fputs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    assert_int_equal(cfg_check_cert_file("bundle.pem", "bundle.pem", msg, sizeof(msg)), -1);
    assert_string_equal(msg, "cannot read certificate 2 in 'bundle.pem': wrong tag");
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_pkcs12(void **state)
{
    int bad = -1;

    assert_int_equal(cfg_check_pkcs12("server.p12", "p", "secret", &bad, msg, sizeof(msg)), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(cfg_check_pkcs12("server.p12", "p", "Secret", &bad, msg, sizeof(msg)), -1);
    assert_int_equal(bad, 1);
    assert_string_equal(msg, "wrong password for PKCS#12 'p'");
    assert_int_equal(cfg_check_pkcs12("server.p12", "p", NULL, &bad, msg, sizeof(msg)), -1);
    assert_int_equal(bad, 0);
    assert_string_equal(msg, "PKCS#12 'p' is protected by a password and none was given");
    /* made with an empty password: fine with none or "" */
    assert_int_equal(cfg_check_pkcs12("nopass.p12", "n", NULL, &bad, msg, sizeof(msg)), 0);
    assert_int_equal(cfg_check_pkcs12("nopass.p12", "n", "", &bad, msg, sizeof(msg)), 0);
    assert_int_equal(cfg_check_pkcs12("nopass.p12", "n", "x", &bad, msg, sizeof(msg)), -1);
    assert_int_equal(bad, 1);
    assert_int_equal(cfg_check_pkcs12("ca.pem", "ca.pem", "x", &bad, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "cannot read PKCS#12 'ca.pem': not a PKCS#12 (DER) file");
    assert_int_equal(cfg_check_pkcs12("nope.p12", "nope.p12", "x", &bad, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "cannot open 'nope.p12': No such file or directory");
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_passwords(void **state)
{
    struct cfg_cert c = {0};
    struct cfg_error err;
    char *pw = NULL;

    cfg_test_write("crlf.pass", "pa ss\r\n\n");
    assert_int_equal(cfg_read_password(NULL, "crlf.pass", "crlf.pass", &pw, msg, sizeof(msg)), 0);
    assert_string_equal(pw, "pa ss");
    config_password_free(pw);
    cfg_test_write("empty.pass", "");
    assert_int_equal(cfg_read_password(NULL, "empty.pass", "e", &pw, msg, sizeof(msg)), 0);
    assert_string_equal(pw, "");
    config_password_free(pw);
    setenv("CERTGATE_TEST_PW", "", 1);
    assert_int_equal(cfg_read_password("CERTGATE_TEST_PW", NULL, NULL, &pw, msg, sizeof(msg)), 0);
    assert_string_equal(pw, "");
    config_password_free(pw);
    unsetenv("CERTGATE_TEST_PW");
    assert_int_equal(cfg_read_password("CERTGATE_TEST_PW", NULL, NULL, &pw, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "environment variable 'CERTGATE_TEST_PW' is not set");

    /* the public helper the TLS layer uses */
    pw = config_cert_password(&c, &err);
    assert_string_equal(pw, "");
    config_password_free(pw);
    c.password_file = "p12.pass";
    pw = config_cert_password(&c, &err);
    assert_string_equal(pw, "secret");
    config_password_free(pw);
    c.password_file = "missing.pass";
    assert_null(config_cert_password(&c, &err));
    assert_string_equal(err.msg, "cannot open 'missing.pass': No such file or directory");
    config_password_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pem_pair),  cmocka_unit_test(test_corrupt_pem),
        cmocka_unit_test(test_cert_file), cmocka_unit_test(test_pkcs12),
        cmocka_unit_test(test_passwords),
    };

    return cmocka_run_group_tests(tests, cfg_test_setup, cfg_test_teardown);
}

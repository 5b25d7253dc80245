/* cert_dn.c: RFC 4514 strings as `openssl x509 -nameopt RFC2253` prints them, parsed back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include "certgate/policy.h"

/* <name> printed with <flags> (a static buffer). */
static const char *print(X509_NAME *name, unsigned long flags)
{
    static char buf[1024];
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;

    assert_non_null(bio);
    assert_true(X509_NAME_print_ex(bio, name, 0, flags) >= 0);
    len = BIO_get_mem_data(bio, &data);
    assert_true(len >= 0 && (size_t)len < sizeof(buf));
    memcpy(buf, data, (size_t)len);
    buf[len] = '\0';
    BIO_free(bio);
    return buf;
}

/* Parse <dn>, print it back with <flags>, expect the same string. */
static void round_trip(const char *dn, unsigned long flags)
{
    char err[256] = "unchanged";
    X509_NAME *name = certgate_dn_parse(dn, err, sizeof(err));

    if (name == NULL)
        fail_msg("'%s' did not parse: %s", dn, err);
    assert_string_equal(err, "");
    assert_string_equal(print(name, flags), dn);
    X509_NAME_free(name);
}

static void test_round_trips(void **state)
{
    const unsigned long rfc = XN_FLAG_RFC2253;
    const unsigned long utf8 = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;

    round_trip("CN=APIM Sample DEV Intermediate CA", rfc);
    round_trip("CN=Valid Client,OU=Demo Clients,O=APIM Sample", rfc);
    round_trip("CN=client2,O=HAProxy Technologies Test,C=FR", rfc);
    /* Every character OpenSSL escapes, in the middle of a value. */
    round_trip("CN=a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h=i#j", rfc);
    /* Leading '#' and space, trailing space. */
    round_trip("CN=\\#hash,O=\\ lead,OU=trail\\ ", rfc);
    /* Multi-valued RDNs keep their order, wherever they sit. */
    round_trip("CN=x+UID=42,OU=Clients+O=Acme,C=US", rfc);
    round_trip("OU=y+O=x", rfc);
    /* UTF-8: hex pairs as OpenSSL escapes it, or raw. */
    round_trip("CN=\\C3\\A9clair,O=Z\\C3\\BCrich", rfc);
    round_trip("CN=\xC3\xA9"
               "clair,O=Z\xC3\xBCrich",
               utf8);
    round_trip("CN=\xE6\x97\xA5\xE6\x9C\xAC", utf8);
    /* A control byte is a hex pair. */
    round_trip("CN=a\\0Db", rfc);
    round_trip("emailAddress=ops@example.com,CN=ops,DC=example,DC=com", rfc);
    round_trip("serialNumber=1234,street=Main St 1,L=Paris,ST=IDF", rfc);
    /* An OID OpenSSL does not know: printed as #DER, read back as such. */
    round_trip("1.2.3.4=#0C03616263,CN=x", rfc);
    round_trip("CN=", rfc);
    /* Longer than X.520's 64 characters, as real certificates are. */
    round_trip("CN=0123456789012345678901234567890123456789012345678901234567890123456789", rfc);
}

static X509_NAME *parse_ok(const char *dn)
{
    char err[256];
    X509_NAME *name = certgate_dn_parse(dn, err, sizeof(err));

    if (name == NULL)
        fail_msg("'%s' did not parse: %s", dn, err);
    return name;
}

static void test_lenient_forms(void **state)
{
    const unsigned long rfc = XN_FLAG_RFC2253;
    X509_NAME *name;

    /* Types in any case; spaces around separators; '\=' and quoted values (RFC 2253). */
    name = parse_ok("cn=Valid Client, ou=Demo Clients , o = APIM Sample");
    assert_string_equal(print(name, rfc), "CN=Valid Client,OU=Demo Clients,O=APIM Sample");
    X509_NAME_free(name);
    name = parse_ok("CN=\"Doe, John\",O=x");
    assert_string_equal(print(name, rfc), "CN=Doe\\, John,O=x");
    X509_NAME_free(name);
    name = parse_ok("CN=a\\=b,STREET=Main,EMAILADDRESS=a@b,SerialNumber=7,uid=u,dc=d");
    assert_string_equal(print(name, rfc),
                        "CN=a=b,street=Main,emailAddress=a@b,serialNumber=7,UID=u,DC=d");
    X509_NAME_free(name);
    /* Names OpenSSL prints beyond the usual list, and dotted OIDs of known types. */
    name = parse_ok("title=Boss,GN=Ann,2.5.4.3=Dotted");
    assert_string_equal(print(name, rfc), "title=Boss,GN=Ann,CN=Dotted");
    X509_NAME_free(name);
    /* An unescaped trailing space is dropped, an escaped one kept. */
    name = parse_ok("CN=a  ,O=b\\ ");
    assert_string_equal(print(name, rfc), "CN=a,O=b\\ ");
    X509_NAME_free(name);
}

/* X509_NAME_cmp against a certificate-style name: case and runs of spaces do not matter. */
static void test_matching(void **state)
{
    X509_NAME *cert = X509_NAME_new();
    X509_NAME *a = parse_ok("cn=apim sample  DEV intermediate ca");
    X509_NAME *b = parse_ok("CN=APIM Sample DEV Intermediate CA,O=Other");
    X509_NAME *c = parse_ok("CN=APIM Sample TST Intermediate CA");

    assert_true(X509_NAME_add_entry_by_txt(cert, "CN", MBSTRING_ASC,
                                           (const unsigned char *)"APIM Sample DEV Intermediate CA",
                                           -1, -1, 0));
    assert_int_equal(X509_NAME_cmp(a, cert), 0);
    assert_int_not_equal(X509_NAME_cmp(b, cert), 0);
    assert_int_not_equal(X509_NAME_cmp(c, cert), 0);
    X509_NAME_free(cert);
    X509_NAME_free(a);
    X509_NAME_free(b);
    X509_NAME_free(c);

    /* Order inside a multi-valued RDN does not matter either (a SET). */
    a = parse_ok("O=x+OU=y,C=US");
    b = parse_ok("OU=y+O=x,C=US");
    assert_int_equal(X509_NAME_cmp(a, b), 0);
    X509_NAME_free(a);
    X509_NAME_free(b);
}

static void parse_err(const char *dn, const char *want)
{
    char err[256];
    X509_NAME *name = certgate_dn_parse(dn, err, sizeof(err));

    if (name != NULL)
        fail_msg("'%s' parsed but should not have", dn);
    assert_string_equal(err, want);
}

static void test_errors(void **state)
{
    char many[64 * 4 + 8] = "";
    int i;

    parse_err("", "the DN is empty");
    parse_err("   ", "the DN is empty");
    parse_err(NULL, "the DN is empty");
    parse_err("CN", "'CN' at offset 0 is not TYPE=value");
    parse_err("CN=a,foo", "'foo' at offset 5 is not TYPE=value");
    parse_err("CN=a,,O=b", "empty RDN at offset 5");
    parse_err("CN=a,", "nothing after ',' at offset 4");
    parse_err("CN=a+ ", "nothing after '+' at offset 4");
    parse_err("=a", "missing attribute type before '=' at offset 0");
    parse_err("XX=a", "unknown attribute type 'XX' at offset 0 (use CN, C, L, ST, O, OU, STREET, "
                      "DC, UID, emailAddress, serialNumber or a dotted OID)");
    parse_err("CN=a;O=b", "unescaped ';' at offset 4 (write '\\;'; RDNs are separated by ',')");
    parse_err("CN=a<b", "unescaped '<' at offset 4 (write '\\<')");
    parse_err("CN=a\"b", "unescaped '\"' at offset 4 (write '\\\"')");
    parse_err("CN=a\\qb", "bad escape at offset 4: '\\' must be followed by one of ,+\"\\<>;=# "
                          "or space, or two hex digits");
    parse_err("CN=a\\", "bad escape at offset 4: '\\' must be followed by one of ,+\"\\<>;=# "
                        "or space, or two hex digits");
    parse_err("CN=\\C3", "value at offset 3 is not valid UTF-8");
    parse_err("CN=\\C0\\80", "value at offset 3 is not valid UTF-8");
    parse_err("CN=\\ED\\A0\\80", "value at offset 3 is not valid UTF-8");
    parse_err("CN=\"abc", "quoted value at offset 3 has no closing '\"'");
    parse_err("CN=\"abc\"x", "unexpected 'x' at offset 8 after a quoted value");
    parse_err("CN=#zz", "value at offset 3 starts with '#' but is not an even number of hex "
                        "digits (write '\\#' for a literal '#')");
    parse_err("CN=#0C0", "value at offset 3 starts with '#' but is not an even number of hex "
                         "digits (write '\\#' for a literal '#')");
    parse_err("CN=#010100", "'#' value of CN at offset 0 is not the DER of a string");
    parse_err("CN=#0C05616263", "'#' value of CN at offset 0 is not the DER of a string");
    for (i = 0; i < 65; i++)
        strcat(many, i ? ",C=a" : "C=a");
    parse_err(many, "more than 64 attributes");
}

static void test_err_buffer(void **state)
{
    char err[8];
    X509_NAME *name;

    /* A short buffer is cut, NUL-terminated; no buffer at all is fine. */
    assert_null(certgate_dn_parse("XX=a", err, sizeof(err)));
    assert_string_equal(err, "unknown");
    assert_null(certgate_dn_parse("XX=a", NULL, 0));
    name = certgate_dn_parse("CN=ok", NULL, 0);
    assert_non_null(name);
    X509_NAME_free(name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips), cmocka_unit_test(test_lenient_forms),
        cmocka_unit_test(test_matching),    cmocka_unit_test(test_errors),
        cmocka_unit_test(test_err_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

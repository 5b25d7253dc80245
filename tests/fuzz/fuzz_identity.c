/* libFuzzer driver for what certgate derives from a client certificate: the identity headers
 * (lib/cert_identity.c), every forward encoder (lib/cert_encode.c) and the allowlists
 * (lib/cert_allow.c). The input is the DER of a certificate; the fields are the attacker's.
 * Invariants, for every certificate OpenSSL parses:
 * - identity strings carry no control byte; digests are uppercase hex of the right length;
 *   times are "YYYY-MM-DDTHH:MM:SSZ";
 * - every encoded header value (base64-der, pem-urlencoded, hex, rfc9440 and its chain, xfcc)
 *   carries no control byte (CR, LF, NUL...) and decodes, in its format and auto-detected, to
 *   the same DER;
 * - the certificate is on an allowlist of its own SHA-1, SHA-256, serial and first CN, and
 *   every allowlist kind answers 0 or 1 for a fixed value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "certgate/certgate.h"
#include "certgate/policy.h"

static void fail(const char *what, const char *value)
{
    fprintf(stderr, "%s: %s\n", what, value != NULL ? value : "(null)");
    abort();
}

static void no_ctrl(const char *s, const char *what)
{
    size_t i;

    if (s == NULL)
        fail("NULL string", what);
    for (i = 0; s[i] != '\0'; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F) {
            fprintf(stderr, "control byte 0x%02X at %zu in %s\n", (unsigned char)s[i], i, what);
            fail(what, s);
        }
}

static void upper_hex(const char *s, size_t want, const char *what)
{
    size_t i, n = strlen(s);

    if (want != 0 && n != want)
        fail("wrong length", what);
    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            fail("not uppercase hex", s);
}

static void rfc3339(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
    size_t i;

    if (strlen(s) != sizeof(pat) - 1)
        fail("time is not YYYY-MM-DDTHH:MM:SSZ", s);
    for (i = 0; pat[i] != '\0'; i++)
        if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pat[i])
            fail("time is not YYYY-MM-DDTHH:MM:SSZ", s);
}

/* Same certificate, byte for byte, as DER? */
static int same_der(X509 *a, X509 *b)
{
    unsigned char *da = NULL, *db = NULL;
    int la = i2d_X509(a, &da), lb = i2d_X509(b, &db);
    int same = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;

    OPENSSL_free(da);
    OPENSSL_free(db);
    return same;
}

/* <value> decodes, as <fmt> and auto-detected, to <x>; *chain gets the extra certificates of
 * the explicit decode. */
static void decodes_back(const char *value, enum certgate_format fmt, X509 *x,
                         STACK_OF(X509) **chain)
{
    enum certgate_format used = CERTGATE_FMT_AUTO;
    char err[256];
    X509 *y;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        enum certgate_format as = pass == 0 ? fmt : CERTGATE_FMT_AUTO;
        STACK_OF(X509) *extra = NULL;

        y = certgate_decode(value, strlen(value), as, &extra, &used, err, sizeof(err));
        if (y == NULL) {
            fprintf(stderr, "%s (decoded as %s): %s\n", certgate_format_name(fmt),
                    certgate_format_name(as), err);
            fail("an encoded value does not decode", value);
        }
        if (used != fmt)
            fail("auto-detection took another format", value);
        if (!same_der(x, y))
            fail("an encoded value decodes to another certificate", value);
        X509_free(y);
        if (pass == 0 && chain != NULL)
            *chain = extra;
        else
            sk_X509_pop_free(extra, X509_free);
    }
}

static void check_identity(X509 *x)
{
    struct certgate_identity id;
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    const X509_NAME *subject = X509_get_subject_name(x);
    int idx;

    if (certgate_identity_from_x509(x, &id) != 0) {
        if (id.subject != NULL || id.sha256 != NULL || id.cn != NULL)
            fail("failed identity not zeroed", "");
        return;
    }
    no_ctrl(id.subject, "subject");
    no_ctrl(id.issuer, "issuer");
    no_ctrl(id.serial, "serial");
    no_ctrl(id.cn, "cn");
    upper_hex(id.serial + (id.serial[0] == '-'), 0, "serial");
    upper_hex(id.sha1, 40, "sha1");
    upper_hex(id.sha256, 64, "sha256");
    rfc3339(id.not_before);
    rfc3339(id.not_after);

    if (certgate_allow_match(x, CERTGATE_ALLOW_SHA1, id.sha1) != 1)
        fail("not on an allowlist of its own SHA-1", id.sha1);
    if (certgate_allow_match(x, CERTGATE_ALLOW_SHA256, id.sha256) != 1)
        fail("not on an allowlist of its own SHA-256", id.sha256);
    if (ASN1_STRING_type(serial) != V_ASN1_NEG_INTEGER && strlen(id.serial) <= 128 &&
        certgate_allow_match(x, CERTGATE_ALLOW_SERIAL, id.serial) != 1)
        fail("not on an allowlist of its own serial", id.serial);

    /* the first CN, when it is UTF-8 text without control bytes, is the identity's cn */
    idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx >= 0) {
        const ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, d), i, plain = len > 0;

        for (i = 0; i < len; i++)
            plain &= utf8[i] >= 0x20 && utf8[i] != 0x7F;
        if (plain) {
            if (strcmp(id.cn, (const char *)utf8) != 0)
                fail("cn is not the subject's first CN", id.cn);
            if (certgate_allow_match(x, CERTGATE_ALLOW_CN, id.cn) != 1)
                fail("not on an allowlist of its own CN", id.cn);
        }
        OPENSSL_free(utf8);
    }
    certgate_identity_free(&id);
}

static void check_encoders(X509 *x)
{
    static const enum certgate_format fmts[] = {CERTGATE_FMT_BASE64_DER,
                                                CERTGATE_FMT_PEM_URLENCODED, CERTGATE_FMT_HEX,
                                                CERTGATE_FMT_RFC9440};
    STACK_OF(X509) *chain = sk_X509_new_null(), *extra = NULL;
    int der_len = i2d_X509(x, NULL);
    size_t b64 = 4 * (((size_t)der_len + 2) / 3), i;
    char *v;

    if (der_len <= 0 || chain == NULL)
        fail("a parsed certificate does not re-encode", "");
    for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        v = certgate_encode(x, fmts[i]);
        if (v == NULL)
            fail("certgate_encode failed", certgate_format_name(fmts[i]));
        no_ctrl(v, certgate_format_name(fmts[i]));
        /* a NUL inside would cut the value short: the lengths are known */
        if ((fmts[i] == CERTGATE_FMT_BASE64_DER && strlen(v) != b64) ||
            (fmts[i] == CERTGATE_FMT_HEX && strlen(v) != 2 * (size_t)der_len) ||
            (fmts[i] == CERTGATE_FMT_RFC9440 && strlen(v) != b64 + 2))
            fail("encoded value has the wrong length", v);
        decodes_back(v, fmts[i], x, NULL);
        free(v);
    }
    if (certgate_encode(x, CERTGATE_FMT_XFCC) != NULL || certgate_encode(x, CERTGATE_FMT_AUTO))
        fail("certgate_encode made an XFCC or auto value", "");

    /* a chain of two: the leaf and itself as its issuer */
    if (!X509_up_ref(x) || !sk_X509_push(chain, x) || !X509_up_ref(x) || !sk_X509_push(chain, x))
        abort();
    v = certgate_encode_rfc9440_chain(chain);
    if (v == NULL)
        fail("certgate_encode_rfc9440_chain failed", "");
    no_ctrl(v, "rfc9440 chain");
    if (strlen(v) != b64 + 2)
        fail("rfc9440 chain has the wrong length", v);
    decodes_back(v, CERTGATE_FMT_RFC9440, x, NULL);
    free(v);

    v = certgate_encode_xfcc(x, chain, "spiffe://fuzz/gw");
    if (v == NULL)
        fail("certgate_encode_xfcc failed", "");
    no_ctrl(v, "xfcc");
    decodes_back(v, CERTGATE_FMT_XFCC, x, &extra);
    if (sk_X509_num(extra) != 1 || !same_der(sk_X509_value(extra, 0), x))
        fail("xfcc Chain does not decode to the chain after the leaf", v);
    sk_X509_pop_free(extra, X509_free);
    free(v);
    v = certgate_encode_xfcc(x, NULL, NULL);
    if (v == NULL)
        fail("certgate_encode_xfcc without chain and By failed", "");
    no_ctrl(v, "xfcc");
    if (strncmp(v, "Hash=", 5) != 0)
        fail("xfcc without By does not start with Hash", v);
    decodes_back(v, CERTGATE_FMT_XFCC, x, NULL);
    free(v);
    sk_X509_pop_free(chain, X509_free);
}

static void check_allow(X509 *x)
{
    static const char *const fixed[CERTGATE_ALLOW_COUNT] = {
        [CERTGATE_ALLOW_SHA1] = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33",
        [CERTGATE_ALLOW_SHA256] =
            "0011223344556677889900112233445566778899001122334455667788990011",
        [CERTGATE_ALLOW_CN] = "fuzz client",
        [CERTGATE_ALLOW_SAN_DNS] = "client.example.com",
        [CERTGATE_ALLOW_SAN_URI] = "spiffe://example.com/client",
        [CERTGATE_ALLOW_SAN_EMAIL] = "client@example.com",
        [CERTGATE_ALLOW_OU] = "Clients",
        [CERTGATE_ALLOW_SERIAL] = "01",
    };
    int k, r;

    for (k = 0; k < CERTGATE_ALLOW_COUNT; k++) {
        r = certgate_allow_match(x, (enum certgate_allow_kind)k, fixed[k]);
        if (r != 0 && r != 1)
            fail("certgate_allow_match answered neither 0 nor 1", fixed[k]);
        if (certgate_allow_match(x, (enum certgate_allow_kind)k, "") != 0)
            fail("an empty allowlist entry matched", fixed[k]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)size);

    if (x == NULL)
        return 0;
    check_identity(x);
    check_encoders(x);
    check_allow(x);
    X509_free(x);
    return 0;
}

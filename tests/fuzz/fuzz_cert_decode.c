/* libFuzzer driver for lib/cert_decode.c and the encoders it mirrors. The first byte picks the
 * format (auto included); the rest is the header value. Invariants: a refusal says why in a
 * sentence without control bytes; an accepted certificate re-encodes, in the format that
 * matched and in XFCC, into a value without control bytes that decodes to the same
 * certificate. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>

#include "certgate/certgate.h"

static void check_text(const char *s, const char *what)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F) {
            fprintf(stderr, "control byte 0x%02X in %s: %s\n", (unsigned char)s[i], what, s);
            abort();
        }
    }
}

/* <value> must decode (auto-detected) to <want>. */
static void check_round_trip(const char *value, X509 *want, enum certgate_format fmt)
{
    char err[256];
    enum certgate_format used;
    X509 *y;

    check_text(value, certgate_format_name(fmt));
    y = certgate_decode(value, strlen(value), CERTGATE_FMT_AUTO, NULL, &used, err, sizeof(err));
    if (y == NULL || X509_cmp(y, want) != 0 || used != fmt) {
        fprintf(stderr, "%s value does not decode back (%s): %s\n", certgate_format_name(fmt),
                y == NULL ? err : "another certificate or format", value);
        abort();
    }
    X509_free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum certgate_format fmt, used = CERTGATE_FMT_AUTO;
    STACK_OF(X509) *chain = NULL;
    char err[256] = "";
    X509 *x;
    char *v;

    if (size < 1)
        return 0;
    fmt = (enum certgate_format)(data[0] % (CERTGATE_FMT_AUTO + 1));
    x = certgate_decode((const char *)data + 1, size - 1, fmt, &chain, &used, err, sizeof(err));
    if (x == NULL) {
        if (err[0] == '\0' || chain != NULL)
            abort();
        check_text(err, "the reason");
        return 0;
    }
    if (used == CERTGATE_FMT_AUTO || (fmt != CERTGATE_FMT_AUTO && used != fmt))
        abort();
    if (used != CERTGATE_FMT_XFCC) {
        v = certgate_encode(x, used);
        if (v != NULL)
            check_round_trip(v, x, used);
        free(v);
    }
    v = certgate_encode_xfcc(x, chain, "spiffe://fuzz/gw");
    if (v != NULL)
        check_round_trip(v, x, CERTGATE_FMT_XFCC);
    free(v);
    X509_free(x);
    sk_X509_pop_free(chain, X509_free);
    return 0;
}

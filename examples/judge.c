/* A backend judging a client certificate with libcertgate alone:
 *   cc judge.c -Iinclude build/libcertgate.a -lssl -lcrypto -o judge
 *   ./judge root-ca.pem dev-intermediate.pem "Valid Client" client.pem
 * Prints the verdict and exits 0 when accepted, 1 when rejected, 2 on usage. */
#include <stdio.h>
#include <openssl/pem.h>
#include <certgate/certgate.h>
#include <certgate/policy.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: judge CA.pem INTERMEDIATE.pem ALLOWED_CN CERT.pem\n");
        return 2;
    }
    const char *ca[] = {argv[1]}, *im[] = {argv[2]}, *cn[] = {argv[3]};
    struct certgate_policy_spec spec = {0};
    spec.trusted_ca = ca;
    spec.n_trusted_ca = 1;
    spec.intermediates = im;
    spec.n_intermediates = 1;
    spec.allow[CERTGATE_ALLOW_CN] = cn;
    spec.n_allow[CERTGATE_ALLOW_CN] = 1;
    char err[400];
    struct certgate_policy *p = certgate_policy_new(&spec, err, sizeof(err));
    if (p == NULL) {
        fprintf(stderr, "policy: %s\n", err);
        return 2;
    }
    FILE *f = fopen(argv[4], "r");
    X509 *leaf = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (leaf == NULL) {
        fprintf(stderr, "%s: no certificate\n", argv[4]);
        certgate_policy_free(p);
        return 2;
    }
    char detail[400];
    enum certgate_reason r =
        certgate_policy_evaluate(p, leaf, NULL, 0, NULL, detail, sizeof(detail));
    printf("%s %d %s\n", certgate_reason_code(r), certgate_reason_status(r), detail);
    X509_free(leaf);
    certgate_policy_free(p);
    return r == CERTGATE_OK ? 0 : 1;
}

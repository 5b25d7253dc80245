/* `certgate verify`'s output: the certificate, every check with its sentence, and the verdict,
 * as text for a person or one JSON object (docs/verify.md). */
#ifndef CERTGATE_CLI_VERIFY_PRINT_H
#define CERTGATE_CLI_VERIFY_PRINT_H

#include "certgate/certgate.h"
#include "certgate/policy.h"
#include "cli/verify_ocsp.h"

struct verify_verdict {
    enum certgate_reason reason;
    int status;
    char detail[600];
};

/* Fill the sentence of each skipped check the engine left empty: why it did not run. */
void verify_explain_skips(struct certgate_report *rep, const struct certgate_policy_spec *sp);
/* <rev_line>, when not NULL, replaces the revocation check's sentence (--ocsp, --crl-fetch). */
void verify_print_text(const char *file, const struct certgate_identity *id, int n_presented,
                       const struct certgate_report *rep, const char *rev_line,
                       const struct verify_verdict *v);
/* <q>, when not NULL, adds what the OCSP responder said. */
void verify_print_json(const struct certgate_identity *id, const struct certgate_report *rep,
                       const char *rev_line, const struct verify_ocsp *q,
                       const struct verify_verdict *v);

#endif

/* `certgate verify`: what the sources of revocation status beyond the policy's CRL files
 * (--crl-fetch, --ocsp) share: their timeout flag, their "unknown" sentence, and how one
 * answer is folded into the revocation check and the verdict (docs/verify.md). */
#ifndef CERTGATE_CLI_VERIFY_REVOCATION_H
#define CERTGATE_CLI_VERIFY_REVOCATION_H

#include <stddef.h>

#include "certgate/policy.h"

/* snprintf("%s") into <dst> of <len> bytes that never leaves half a UTF-8 sequence at a cut. */
void verify_copy_cut(char *dst, size_t len, const char *src);

/* <text>, the value of <flag> (such as "--ocsp-timeout"), as milliseconds from 1ms to 10m into
 * *ms. 0, or -1 with the usage error in <err>. */
int verify_timeout_parse(const char *flag, const char *text, int *ms, char *err, size_t errlen);

/* "revocation status of '<subject>' is unknown: <why>" into <out>, cut to fit. */
void verify_revocation_unknown(char *out, size_t len, const char *subject, const char *why);

/* Fold one source's answer, <r> (CERTGATE_OK, _REVOKED or _REVOCATION_UNKNOWN) and its
 * sentence <detail>, into <j>: a revocation wins over an OK or unknown status, an unknown one
 * turns an OK into RevocationUnknown. <outcome> and <line> hold the revocation check so far
 * (CERTGATE_SKIPPED: no source yet) and get the combined outcome and sentence, "; " between
 * the sources. Returns 1 when this answer set j->revocation (its sentence cut to fit
 * j->revocation_detail: the whole one is <detail>). */
int verify_revocation_fold(enum certgate_reason r, const char *detail, struct certgate_judgement *j,
                           enum certgate_outcome *outcome, char *line, size_t line_len);

#endif

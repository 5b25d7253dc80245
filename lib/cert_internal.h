/* Helpers shared by the files of libcertgate; not part of the public API. */
#ifndef CERTGATE_LIB_CERT_INTERNAL_H
#define CERTGATE_LIB_CERT_INTERNAL_H

#include <stddef.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>

/* Hidden so that the shared library exports only the certgate_* API. */
#define CERT_INTERNAL __attribute__((visibility("hidden")))

/* Size of an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SSZ" with its NUL. */
#define CERT_TIME_LEN 21

/* RFC 2253 form of <name> (UTF-8 kept as UTF-8, control bytes as \HH).
 * Returns a malloc'd string the caller frees, or NULL on failure. */
CERT_INTERNAL char *cert_dn_format(const X509_NAME *name);

/* Write <t> as "YYYY-MM-DDTHH:MM:SSZ" into <out> (CERT_TIME_LEN bytes).
 * Returns 0, or -1 (and <out> = "") when <t> cannot be read. */
CERT_INTERNAL int cert_time_format(const ASN1_TIME *t, char out[CERT_TIME_LEN]);

/* strdup that needs no feature macro; the result is freed with free(). NULL on failure. */
CERT_INTERNAL char *cert_strdup(const char *s);

/* Copy <len> bytes of <s> into a malloc'd string, writing every byte below
 * 0x20 and DEL as "\HH". Returns NULL on allocation failure. */
CERT_INTERNAL char *cert_escape_ctrl(const unsigned char *s, size_t len);

#endif

/* OCSP stapling on a listener's server contexts (tls.ocsp_stapling): one staple per
 * certificate (revocation/ocsp_staple.h), and the status callback that hands a handshake the
 * response of the certificate it chose (SNI and key type included). */
#ifndef CERTGATE_TLS_STAPLE_H
#define CERTGATE_TLS_STAPLE_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "config/config_types.h"

struct tls_staples;
struct ocsp_staple;
struct ocsp_service;

/* The staples of listener <l>, whose certificate i is <leaves>[i] as its SSL_CTX holds it
 * (borrowed: the contexts outlive the staples). NULL with "listener 'x': ocsp_stapling: ..."
 * in <err>. */
struct tls_staples *tls_staples_new(const struct cfg_listener *l, X509 *const *leaves, char *err,
                                    size_t errlen);
/* Staple on <ctx>: every context a handshake may end up on (SNI switches them). */
void tls_staples_install(struct tls_staples *sp, SSL_CTX *ctx);
/* Hand every staple to the OCSP thread, which fetches and refreshes them. NULL is fine. */
void tls_staples_start(struct tls_staples *sp, struct ocsp_service *s);
/* Release the staples (the OCSP thread forgets them). NULL is fine. */
void tls_staples_free(struct tls_staples *sp);

/* For /metrics: how many, and each one. NULL gives 0. */
size_t tls_staples_count(const struct tls_staples *sp);
struct ocsp_staple *tls_staples_get(const struct tls_staples *sp, size_t i);

#endif

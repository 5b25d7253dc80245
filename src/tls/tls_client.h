/* Client-side TLS towards https:// backends: one SSL_CTX per backend and per
 * config generation, then a name to check on each connection. Depends on the
 * config types only, not on the runtime or the workers. */
#ifndef CERTGATE_TLS_CLIENT_H
#define CERTGATE_TLS_CLIENT_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "config/config_types.h"

/* One client SSL_CTX per backend, built once per config generation, shared by a worker's
 * connections (read-only after creation). <t> is the backend's tls:; with t->set 0 (none
 * written) the context verifies against the system CAs whatever t->verify holds, so a
 * backend built without defaults is never left unchecked. TLS 1.2 minimum; the CA file
 * t->ca or the system's default verify paths; the client certificate from PEM (with its
 * chain) or PKCS#12 (password t->password); client session caching is on but no session is
 * stored in the context: the caller keeps SSL_get1_session() per server and name, and must
 * SSL_shutdown() a connection before SSL_free() or OpenSSL marks its session not resumable.
 * Returns a context the caller frees with SSL_CTX_free, or NULL with a sentence in <err>. */
SSL_CTX *tls_client_ctx_new(const struct cfg_backend_tls *t, char *err, size_t errlen);

/* Prepare one upstream connection: SNI (not for IP literals) and the name check
 * (SSL_set1_host for names, X509_VERIFY_PARAM_set1_ip_asc for IP literals, brackets
 * allowed). <name> is t->server_name or the URL host. Returns 0, or -1 when <name> is NULL,
 * empty or cannot be set. */
int tls_client_prepare(SSL *ssl, const char *name);

/* A sentence saying why verification of the backend failed, for the 502 detail and the
 * log, e.g. "the backend's certificate is not trusted by backend-ca.pem (unable to get local
 * issuer certificate)" or "the backend's certificate does not match the name
 * 'api.internal'". <ssl> is the failed connection, <name> what tls_client_prepare was given.
 * When the certificate was not the problem it says what the TLS layer reported, so call it
 * before the thread's OpenSSL error queue is cleared. */
void tls_client_verify_error(SSL *ssl, const char *name, char *out, size_t len);

#endif

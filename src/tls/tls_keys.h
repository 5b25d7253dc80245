/* Session ticket keys shared by every listener and kept across reloads. */
#ifndef CERTGATE_TLS_KEYS_H
#define CERTGATE_TLS_KEYS_H

#include <openssl/ssl.h>

/* Give <ctx> the process's ticket keys (created once, random). Returns 0 or -1. */
int tls_keys_install(SSL_CTX *ctx);

#endif

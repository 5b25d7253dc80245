/* Server-side TLS: one SSL_CTX per certificate, chosen by SNI, built once
 * per config generation and shared by every worker. */
#ifndef CERTGATE_TLS_SERVER_H
#define CERTGATE_TLS_SERVER_H

#include <stddef.h>
#include <openssl/ssl.h>
#include <certgate/certgate.h>

#include "config/config_types.h"

struct tls_server;

/* The gate's verdict on a client certificate during a handshake, asked for
 * when the listener rejects with on_failure: alert. <ssl>'s app data is the
 * caller's. <chain> is leaf first, then what the client sent. */
typedef enum certgate_reason (*tls_judge_fn)(SSL *ssl, X509 *leaf, STACK_OF(X509) *chain,
                                             char *detail, size_t detail_len);

struct tls_keys;
struct tls_staples;
struct ocsp_service;

/* Build the contexts for listener <l>; <judge> may be NULL when the listener
 * never rejects at the TLS layer; session tickets use <keys> (which must
 * outlive the server). Returns NULL with a sentence in <err>. */
struct tls_server *tls_server_new(const struct cfg_listener *l, tls_judge_fn judge,
                                  const struct tls_keys *keys, char *err, size_t errlen);
void tls_server_free(struct tls_server *ts);
/* A thread that accepted TLS connections is ending: free its cache of certificates parsed
 * from session tickets. */
void tls_server_thread_done(void);

/* tls.ocsp_stapling: hand the certificates' staples to the OCSP thread <s>, which fetches
 * their responses in the background (no-op when stapling is off). Once per server. */
void tls_server_start_stapling(struct tls_server *ts, struct ocsp_service *s);
/* The staples, for /metrics; NULL when stapling is off. */
const struct tls_staples *tls_server_staples(const struct tls_server *ts);

/* A new server SSL for one connection (caller owns). */
SSL *tls_server_ssl(struct tls_server *ts);

/* What the handshake told us about the client, valid for full and resumed
 * handshakes alike. */
struct tls_peer {
    X509 *leaf;            /* borrowed from the SSL; NULL when no certificate */
    STACK_OF(X509) *chain; /* leaf first, then what the client sent (owned by the SSL) */
    int verdict_known;     /* the handshake already judged leaf against the gate */
    enum certgate_reason verdict;
    const char *detail; /* sentence for <verdict>, owned by the SSL */
    const char *sni;    /* NULL if the client sent none */
};

/* The first URI SAN of the default certificate (XFCC's By), malloc'd, or NULL. */
char *tls_server_own_uri(const struct tls_server *ts);

/* Fill <p> from a finished handshake. */
void tls_server_peer(SSL *ssl, struct tls_peer *p);

#endif

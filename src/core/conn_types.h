/* A client connection. */
#ifndef CERTGATE_CORE_CONN_TYPES_H
#define CERTGATE_CORE_CONN_TYPES_H

#include <netinet/in.h>
#include <openssl/x509.h>
#include <certgate/certgate.h>

#include "core/sock.h"
#include "core/core_types.h"
#include "proxy/exchange_types.h"

struct worker;

enum conn_state {
    CONN_HANDSHAKE = 0, /* TLS handshake running */
    CONN_IDLE,          /* waiting for the first byte of a request */
    CONN_HEAD,          /* reading a request head */
    CONN_ACTIVE,        /* an exchange is running */
    CONN_WAIT,          /* a request waits for an OCSP answer; its head stays buffered */
    CONN_CLOSING,       /* shutting down; only teardown remains */
};

/* What the connection knows about its client certificate, computed once per
 * connection (full or resumed handshake) and reused by every request. */
struct conn_cert {
    X509 *leaf;                   /* own reference, NULL without a certificate */
    STACK_OF(X509) *chain;        /* own reference: leaf + presented */
    STACK_OF(X509) *validated;    /* the gate's validated chain, computed when a header needs it */
    unsigned char chain_hash[32]; /* SHA-256 of the chain's DER: the verdict cache key */
    int hashed;
    int id_ok;
    struct certgate_identity id; /* for identity headers and logs */
    char **values;               /* encoded forward header values, per forward header */
};

struct conn {
    struct sock sock; /* first: a sock* is a conn* */
    struct worker *w;
    struct runtime *rt; /* reference held for the connection's life */
    struct rt_listener *l;
    enum conn_state state;
    uv_timer_t timer;
    struct conn *next, *prev; /* the worker's list */
    char peer_ip[INET6_ADDRSTRLEN];
    struct sockaddr_storage peer; /* for trusted_proxies */
    char *sni;
    int closed;  /* teardown requested */
    int busy;    /* proxy_on_data is running: no re-entry */
    int handles; /* open uv handles */
    unsigned requests;
    uint64_t accept_ms; /* for the handshake's duration */
    struct conn_cert cert;
    struct exchange ex;
};

#endif

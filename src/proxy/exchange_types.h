/* One request/response exchange on a client connection. */
#ifndef CERTGATE_PROXY_EXCHANGE_TYPES_H
#define CERTGATE_PROXY_EXCHANGE_TYPES_H

#include <stdint.h>
#include <openssl/evp.h>
#include <certgate/certgate.h>

#include "base/buf.h"
#include "http/http_types.h"

struct upstream;
struct conn;
struct cfg_route;

enum ex_target {
    EX_NONE = 0,
    EX_LOCAL,    /* answered by certgate: an error, the echo backend, admin */
    EX_UPSTREAM, /* relayed to a backend server */
};

struct exchange {
    enum ex_target target;
    char method[16]; /* copies for the access log: the head is gone by then */
    char target_path[256];
    int is_head;
    int client_minor; /* HTTP/1.<minor> of the client */
    int keep_alive;   /* the client may send another request */
    const struct cfg_route *route;
    int backend; /* index into the runtime's backends */
    int server;  /* index into that backend's servers */
    struct http_body_state reqbody;
    int req_done;     /* the whole request body was read */
    int resp_started; /* response head bytes were sent to the client */
    int resp_done;
    int close_after;     /* close the client connection after this exchange */
    int status;          /* status sent, for logs and metrics */
    uint64_t resp_bytes; /* body bytes sent to the client */
    uint64_t req_bytes;  /* body bytes received from the client */
    uint64_t start_ms;
    /* the body clock (timeouts.body + body_min_rate): started when the body can flow to a
     * backend; time paused for the backend's backpressure does not count */
    uint64_t body_start_ms, body_paused_ms, body_pause_since;
    enum certgate_reason reason; /* rejection reason, CERTGATE_OK otherwise */
    int judged;                  /* a policy judged the certificate: <reason> is its verdict */
    uint64_t up_start_ms;        /* relay: when a server was asked; 0 = never */
    uint64_t up_ms;              /* relay: until the response ended */
    const char *verify;          /* "SUCCESS", "FAILED:<code>" or "NONE" for logs */
    /* local answer */
    void (*local_body)(void *ex, const char *data, size_t len); /* echo: body spans */
    void (*local_done)(struct conn *c);                         /* echo: body complete */
    EVP_MD_CTX *sha; /* echo: SHA-256 of the request body */
    struct buf echo; /* echo: the JSON prefix built at dispatch */
    /* relay */
    struct upstream *up;
    struct buf up_head; /* request head for the backend; kept until the
                           first response byte so a stale pooled
                           connection can be retried */
    int retried;
    int upgrade;         /* a WebSocket upgrade was asked for and forwarded */
    int tunnel;          /* 101 relayed: bytes flow both ways untouched until either side closes */
    int chunked_to_10;   /* the backend chunked a body for an HTTP/1.0 client */
    int expect_continue; /* the client waits for 100 Continue before its body */
    int sent_continue;
    const char *xfcc_in; /* a trusted proxy's XFCC (xfcc_mode: append), in the head */
    size_t xfcc_in_len;
    const char *xff_in; /* a trusted proxy's X-Forwarded-For, in the head */
    size_t xff_in_len;
    int untrusted_header; /* the certificate header came from a peer not trusted */
};

#endif

/* Verdicts of policies on a connection's client certificate: the
 * time-independent part cached per worker, time applied on every request. */
#ifndef CERTGATE_PROXY_VERDICT_H
#define CERTGATE_PROXY_VERDICT_H

#include <stddef.h>
#include <openssl/ssl.h>
#include <certgate/certgate.h>

struct conn;
struct rt_policy;

/* Returned by verdict_of while an OCSP query runs: the request waits. */
#define VERDICT_PENDING CERTGATE_REASON_MAX

/* The validated chain of <c>'s certificate (leaf first, to the anchor),
 * computed once; the presented chain when none could be built. */
STACK_OF(X509) *verdict_chain(struct conn *c, const struct rt_policy *p);

/* The verdict of <p> on <c>'s certificate now (NotFound without one), or
 * VERDICT_PENDING while OCSP is being asked: the worker's wake follows. */
enum certgate_reason verdict_of(struct conn *c, const struct rt_policy *p, char *detail,
                                size_t detail_len);
/* The HTTP status for reason <r> under <p> (its status map, else SPEC §4). */
int verdict_status(const struct rt_policy *p, enum certgate_reason r);
/* tls_judge_fn for listeners that reject at the handshake: the SSL's app
 * data is the connection. */
enum certgate_reason verdict_tls_gate(SSL *ssl, X509 *leaf, STACK_OF(X509) *chain, char *detail,
                                      size_t detail_len);

#endif

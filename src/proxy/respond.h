/* Responses certgate writes itself: errors (SPEC §4 JSON), echo, admin. */
#ifndef CERTGATE_PROXY_RESPOND_H
#define CERTGATE_PROXY_RESPOND_H

#include <stddef.h>
#include <certgate/certgate.h>

struct conn;

/* A complete response with a body of <len> bytes (omitted for HEAD). Sets
 * Connection: close when the exchange must end the connection. Then
 * finishes the exchange (proxy_response_done). */
void respond(struct conn *c, int status, const char *content_type, const char *body, size_t len);
/* {"error":"<code>","detail":"<detail>"} with <status>. */
void respond_error(struct conn *c, int status, const char *code, const char *detail);
/* A certificate rejection with <status> (the policy's for <r>), logged with
 * the certificate's subject and SHA-256. */
void respond_reject(struct conn *c, enum certgate_reason r, int status, const char *detail);
const char *respond_reason_phrase(int status);

#endif

/* The certificate source `header` (SPEC §6): a trusted upstream gateway
 * forwarded the client certificate in a header. */
#ifndef CERTGATE_PROXY_HEADER_SOURCE_H
#define CERTGATE_PROXY_HEADER_SOURCE_H

#include <stddef.h>
#include <sys/socket.h>

#include "config/config_types.h"
#include "http/http_types.h"

struct conn;

/* Is <peer> inside one of <n> networks? IPv4-mapped IPv6 peers match IPv4 networks. */
int header_source_trusted(const struct sockaddr_storage *peer, const struct cfg_cidr *nets,
                          size_t n);

/* Before anything strips the request: take the certificate of <req> for the
 * requests of <c> (none when the peer is not a trusted proxy or sent none).
 * Returns 0, or -1 with a sentence in <detail> when the header is there but is
 * not exactly one decodable certificate (ClientCertificateMalformed). */
int header_source_take(struct conn *c, const struct http_request *req, char *detail,
                       size_t detail_len);

#endif

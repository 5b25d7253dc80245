#include "proxy/header_source.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <certgate/certgate.h>

#include "core/conn.h"
#include "proxy/strip.h"

static int prefix_match(const unsigned char *a, const unsigned char *net, int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)bytes) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[bytes] & mask) == (net[bytes] & mask);
}

int header_source_trusted(const struct sockaddr_storage *peer, const struct cfg_cidr *nets,
                          size_t n)
{
    unsigned char a4[4], a6[16];
    int have4 = 0, have6 = 0;
    if (peer->ss_family == AF_INET) {
        memcpy(a4, &((const struct sockaddr_in *)peer)->sin_addr, 4);
        have4 = 1;
    } else if (peer->ss_family == AF_INET6) {
        memcpy(a6, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
        have6 = 1;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a6, mapped, 12) == 0) {
            memcpy(a4, a6 + 12, 4);
            have4 = 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (nets[i].family == AF_INET && have4 && prefix_match(a4, nets[i].addr, nets[i].prefix))
            return 1;
        if (nets[i].family == AF_INET6 && have6 && prefix_match(a6, nets[i].addr, nets[i].prefix))
            return 1;
    }
    return 0;
}

int header_source_take(struct conn *c, const struct http_request *req, char *detail,
                       size_t detail_len)
{
    const struct cfg_client_cert *cc = &c->l->cfg->client_cert;
    conn_cert_set(c, NULL, NULL); /* every request carries its own certificate */
    if (!header_source_trusted(&c->peer, cc->trusted_proxies, cc->n_trusted_proxies)) {
        /* the strip removes what an untrusted peer sent; a rejection will say so */
        char norm[128];
        size_t n = strlen(cc->header) < sizeof(norm) - 1 ? strlen(cc->header) : sizeof(norm) - 1;
        for (size_t i = 0; i < n; i++)
            norm[i] = cc->header[i] == '_' ? '-' : (char)tolower((unsigned char)cc->header[i]);
        norm[n] = 0;
        for (size_t i = 0; i < req->num_headers; i++)
            if (strip_name_match(req->headers[i].name, req->headers[i].name_len, norm))
                c->ex.untrusted_header = 1;
        return 0;
    }
    const struct http_header *found = NULL;
    size_t lines = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (h->name_len == strlen(cc->header) &&
            strncasecmp(h->name, cc->header, h->name_len) == 0) {
            found = h;
            lines++;
        }
    }
    size_t vlen = found ? found->value_len : 0;
    /* empty is how gateways (App Service, APIM v2) say "no certificate" */
    if (lines == 0 || (lines == 1 && vlen == 0))
        return 0;
    if (lines > 1) {
        snprintf(detail, detail_len,
                 "the %s header must come exactly once; the request carries it %zu times",
                 cc->header, lines);
        return -1;
    }
    char why[256] = "";
    STACK_OF(X509) *extra = NULL;
    X509 *leaf = certgate_decode(found->value, found->value_len, (enum certgate_format)cc->format,
                                 &extra, NULL, why, sizeof(why));
    if (leaf == NULL) {
        snprintf(detail, detail_len, "the %s header does not hold a client certificate: %s",
                 cc->header, why);
        return -1;
    }
    /* the chain is leaf first, as a handshake's */
    STACK_OF(X509) *chain = sk_X509_new_null();
    if (chain && X509_up_ref(leaf) && sk_X509_push(chain, leaf)) {
        while (extra && sk_X509_num(extra) > 0)
            sk_X509_push(chain, sk_X509_shift(extra));
    }
    sk_X509_pop_free(extra, X509_free);
    conn_cert_set(c, leaf, chain);
    return 0;
}

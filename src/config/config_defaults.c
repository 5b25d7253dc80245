/* Defaults a listener starts from, in YAML and quick mode alike (SPEC §5, §9). */
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

void cfg_listener_defaults(struct cfg_listener *l)
{
    l->timeouts.handshake = 10 * 1000;
    l->timeouts.header = 10 * 1000;
    l->timeouts.idle = 60 * 1000;
    l->timeouts.connect = 5 * 1000;
    l->timeouts.response = 60 * 1000;
    l->timeouts.body = 20 * 1000;
    l->limits.request_line = 8 * 1024;
    l->limits.header_bytes = 32 * 1024;
    l->limits.headers = 100;
    l->limits.connections = 10000;
    l->limits.body_min_rate = 500;
    l->client_auth.mode = CA_IGNORE;
    l->client_auth.on_failure = ON_FAILURE_HTTP;
    l->stapling.timeout_ms = 5 * 1000;
    l->stapling.retry_ms = 30 * 1000;
}

int cfg_identity_defaults(struct cfg_identity_headers *id)
{
    cfg_identity_clear(id);
    id->verify = strdup("X-Client-Cert-Verify");
    id->subject = strdup("X-Client-Cert-Subject");
    id->issuer = strdup("X-Client-Cert-Issuer");
    id->serial = strdup("X-Client-Cert-Serial");
    id->sha1 = strdup("X-Client-Cert-SHA1");
    id->sha256 = strdup("X-Client-Cert-SHA256");
    id->not_before = strdup("X-Client-Cert-Not-Before");
    id->not_after = strdup("X-Client-Cert-Not-After");
    if (!id->verify || !id->subject || !id->issuer || !id->serial || !id->sha1 || !id->sha256 ||
        !id->not_before || !id->not_after)
        return -1;
    return 0;
}

int cfg_forward_defaults(struct cfg_forward *fwd)
{
    cfg_forward_clear(fwd);
    fwd->headers = calloc(1, sizeof(*fwd->headers));
    if (!fwd->headers)
        return -1;
    fwd->n_headers = 1;
    fwd->headers[0].name = strdup("X-ARR-ClientCert");
    fwd->headers[0].format = FWD_BASE64_DER;
    if (!fwd->headers[0].name)
        return -1;
    return cfg_identity_defaults(&fwd->identity);
}

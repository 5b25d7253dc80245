#ifndef CERTGATE_CORE_RUNTIME_H
#define CERTGATE_CORE_RUNTIME_H

#include "core/core_types.h"

/* Make <cfg> ready to serve for <n_workers> workers: trust stores, TLS
 * contexts, strip sets, resolved backends, and bound listening sockets (one
 * SO_REUSEPORT socket per worker; <prev> lends its sockets for addresses it
 * already listens on). Backend servers take their shared state from
 * <servers> (IP literals get their address here; names are resolved by the
 * gateway's loop, see upstream/health.h). Takes ownership of <cfg> on success. Returns NULL
 * with a sentence in <err>. */
struct runtime *runtime_new(struct config *cfg, int n_workers, struct metrics *m,
                            struct server_registry *servers, const struct runtime *prev, char *err,
                            size_t errlen);
/* A fingerprint of every CRL file <cfg> names (mtime, size, inode), and the
 * shortest crl_refresh in *refresh_ms (0 = none): when the fingerprint
 * changes, the gateway reloads. */
uint64_t runtime_crl_stamp(const struct config *cfg, uint64_t *refresh_ms);
/* Give <rt> the OCSP thread <s> (borrowed: it outlives every runtime): client certificates'
 * OCSP and CRL look-ups, and the stapling of the listeners' own certificates, whose fetches
 * start now. Once per runtime, before it serves. */
void runtime_set_ocsp(struct runtime *rt, struct ocsp_service *s);
/* A drain begins: close the listening sockets of every listener but the admin one, so that
 * a new connection is refused at once (the workers close their own copies). */
void runtime_stop_listening(struct runtime *rt);
struct runtime *runtime_ref(struct runtime *rt);
/* Drop a reference; the last one frees everything (listening fds excepted if
 * <keep_fds>: they were closed by the workers). */
void runtime_unref(struct runtime *rt);
/* The runtime policy for a config policy. */
struct rt_policy *runtime_policy(struct runtime *rt, const struct cfg_policy *p);
int runtime_backend_index(const struct runtime *rt, const struct cfg_backend *b);

#endif

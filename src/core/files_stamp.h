/* A fingerprint of every file a configuration names, for `reload: {watch: true}`: the
 * config file itself, certificates, keys, PKCS#12 and password files, CA bundles, CRLs,
 * backend TLS files and ticket keys. stat() follows symlinks, so Kubernetes' swap of a
 * mounted ConfigMap or Secret (the `..data` symlink) changes it too. */
#ifndef CERTGATE_CORE_FILES_STAMP_H
#define CERTGATE_CORE_FILES_STAMP_H

#include <stdint.h>

struct config;

uint64_t files_stamp(const struct config *cfg);

#endif

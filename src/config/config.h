/* Loading and checking the config. */
#ifndef CERTGATE_CONFIG_H
#define CERTGATE_CONFIG_H

#include <openssl/types.h>

#include "config/config_types.h"

/* The most worker threads `workers:` and `--workers` accept. */
#define CFG_MAX_WORKERS 1024

/* An error found while loading: "file:line:column: message". */
struct cfg_error {
    char msg[512];
};

/* Load and validate <path>. On success returns a config the caller owns
 * (free with config_free). On failure returns NULL and fills <err> with
 * "file:line:column: message" naming the first problem: unknown key, wrong
 * type, bad value, missing or unreadable file (cert, key, CA, PKCS#12 with
 * its password), undefined policy/backend reference. Files named in the
 * config are opened and parsed here (PEM/PKCS#12 readable, key matches cert)
 * so that `certgate check` catches them; the TLS layer loads them again. */
struct config *config_load(const char *path, struct cfg_error *err);

/* Build a config from quick-mode flags (SPEC §7): argv after "run".
 * Returns NULL with <err> filled ("--flag: message") on a bad flag. */
struct config *config_from_args(int argc, char **argv, struct cfg_error *err);

/* Free everything <cfg> owns; NULL is fine. */
void config_free(struct config *cfg);

/* "10.0.0.0/8", "fd00::/8" or a single address -> <out>. 0, or -1 when it is
 * not an address, the prefix is out of range or host bits are set. */
int config_parse_cidr(const char *s, struct cfg_cidr *out);
/* "10s", "500ms", "5m", "1h", "1m30s" -> milliseconds. 0 on success, -1 on
 * error; a bare number without a unit is an error (docs/config.md). */
int config_parse_duration(const char *s, uint64_t *ms);
/* "32KiB", "1MiB", "4096", "16k" -> bytes; k/K/KiB, m/M/MiB, g/G/GiB are all
 * binary; "KB" is an error. 0 on success, -1 on error. */
int config_parse_size(const char *s, size_t *bytes);
/* "127.0.0.1:8443", "[::1]:8443", ":8443" -> host (malloc'd) and port.
 * The host is always an IP literal without brackets: ":8443" gives "0.0.0.0",
 * "localhost" gives "127.0.0.1"; other names are refused. Port 1-65535. */
int config_parse_address(const char *s, char **host, int *port);

/* Added by the config layer. */

/* "http://host[:port][/]" or "https://..." (host a name, IPv4 or [IPv6]) ->
 * tls (1 for https), host (malloc'd, no brackets) and port (default 80/443).
 * 0 on success, -1 on error. */
int config_parse_url(const char *s, int *tls, char **host, int *port);

/* The PKCS#12 password of <c> from its password_env or password_file
 * (trailing newline trimmed); "" when it names neither. Returns a malloc'd
 * string the caller wipes and frees (config_password_free), or NULL with <err>
 * filled ("environment variable 'X' is not set", "cannot open 'f': ..."). */
char *config_cert_password(const struct cfg_cert *c, struct cfg_error *err);
/* Wipe (OPENSSL_cleanse) and free a password; NULL is fine. */
void config_password_free(char *pw);

/* For tls.ocsp_stapling: the leaf of certificate <i> of listener <l> and its issuer (a
 * certificate after the leaf in its file or the PKCS#12's CA certificates; else any certificate
 * of the listener's other certificate entries), both up-ref'd for the caller, once it is known
 * that an OCSP request can be made for it (the responder override or an http:// AIA OCSP URL).
 * 0, or -1 with "listener 'x': ocsp_stapling: ..." in <msg> and both NULL. */
int config_staple_pair(const struct cfg_listener *l, size_t i, X509 **leaf, X509 **issuer,
                       char *msg, size_t n);

/* Apply the flags `run -c FILE` accepts next to the file (only --workers N)
 * to a loaded <cfg>. 0, or -1 with <err> filled ("--listen: not allowed with
 * -c FILE; ..."). */
int config_apply_args(struct config *cfg, int argc, char **argv, struct cfg_error *err);

#endif

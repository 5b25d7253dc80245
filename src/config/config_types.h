/* The config model: built once from YAML or quick-mode flags, immutable,
 * swapped whole on reload and refcounted by the connections that use it. */
#ifndef CERTGATE_CONFIG_TYPES_H
#define CERTGATE_CONFIG_TYPES_H

#include <stddef.h>
#include <stdint.h>

enum cfg_client_auth_mode { CA_IGNORE = 0, CA_REQUEST, CA_OPTIONAL, CA_REQUIRE };
enum cfg_on_failure { ON_FAILURE_HTTP = 0, ON_FAILURE_ALERT };
enum cfg_fwd_format { FWD_BASE64_DER = 0, FWD_PEM_URLENCODED, FWD_HEX, FWD_RFC9440, FWD_XFCC };

/* Where a config value came from, for messages after loading. */
struct cfg_pos {
    const char *file; /* points into struct config's file table; NULL for quick mode */
    int line, col;    /* 1-based */
};

struct cfg_cert {
    char *cert, *key;    /* PEM paths, absolute (resolved against the file's dir) */
    char *pkcs12;        /* or a PKCS#12 path */
    char *password_env;  /* name of an env var holding the PKCS#12 password */
    char *password_file; /* or a file holding it (trailing newline trimmed) */
    struct cfg_pos pos;
};

/* allow: lists, in include/certgate/policy.h's enum certgate_allow_kind order:
 * sha1, sha256, cn, san_dns, san_uri, san_email, ou, serial. */
#define CFG_ALLOW_KINDS 8
/* reasons of enum certgate_reason, CERTGATE_REASON_MAX */
#define CFG_REASONS 9

enum cfg_revocation_mode { REV_UNSET = -1, REV_OFF = 0, REV_CRL, REV_OCSP };

/* revocation: (SPEC §7 and docs/revocation.md). */
struct cfg_revocation {
    int mode;            /* enum cfg_revocation_mode; REV_UNSET until loaded or inherited */
    int fail_open;       /* fail: open — a status that cannot be learned lets the client in */
    int scope_chain;     /* scope: chain — every CA's CRL is required, not only the leaf's */
    uint64_t refresh_ms; /* crl_refresh: re-read changed CRL files this often; 0 = on reload only */
    char *ocsp_url;      /* responder override; NULL = the certificate's AIA */
    int ocsp_nonce;      /* send a nonce */
    uint64_t ocsp_timeout_ms; /* connect + answer, default 5s */
    uint64_t cache_ms;        /* longest an OCSP answer or fetched CRL is kept, default 5m */
    int crl_fetch;            /* crl_fetch: the leaf's CRL from its distribution point (http) */
    uint64_t crl_timeout_ms;  /* connect + answer of a CRL fetch, default 5s */
    char **crl;               /* CRL files, absolute */
    size_t n_crl;
};

struct cfg_policy {
    char *name;        /* NULL for an inline policy */
    char **trusted_ca; /* PEM bundle paths, absolute */
    size_t n_trusted_ca;
    char **intermediates; /* untrusted helper certificates for path building */
    size_t n_intermediates;
    struct cfg_pos pos;
    /* issue 3: the rest of SPEC §7's policy keys. `inherit` is resolved at
     * load: every key the child does not set is copied from its parent (a
     * list the child sets replaces the parent's list). */
    char *inherit;             /* parent's name as written, NULL if none */
    char **allowed_issuer_dns; /* allowed_issuers entries holding '=': RFC 4514 DNs */
    size_t n_allowed_issuer_dns;
    char **allowed_issuer_files; /* the other entries: CA files, absolute */
    size_t n_allowed_issuer_files;
    int max_depth;               /* CA certificates above the leaf; 0 = no limit */
    int require_client_auth_eku; /* default 1 */
    int min_rsa_bits;            /* default 2048 */
    int min_ec_bits;             /* default 256 */
    int allow_weak_signatures;   /* default 0: MD5/SHA-1 signatures are refused */
    char **allow[CFG_ALLOW_KINDS];
    size_t n_allow[CFG_ALLOW_KINDS];
    int status[CFG_REASONS];          /* status: {ReasonCode: NNN}; 0 = SPEC §4 default */
    struct cfg_revocation revocation; /* inherited whole when the child has none */
};

struct cfg_client_auth {
    enum cfg_client_auth_mode mode;
    enum cfg_on_failure on_failure;
    struct cfg_policy
        *policy; /* named (points into config->policies) or inline (owned); NULL with ignore */
    int policy_inline; /* 1 if <policy> is owned by this struct */
};

struct cfg_timeouts { /* milliseconds; 0 = not set (defaults applied by the loader) */
    uint64_t handshake, header, idle, connect, response;
    uint64_t body; /* a request body's allowance before body_min_rate extends it */
};

struct cfg_limits {
    size_t request_line;  /* default 8 KiB */
    size_t header_bytes;  /* default 32 KiB */
    size_t headers;       /* default 100 */
    size_t connections;   /* default 10000, per listener across all workers */
    size_t body_min_rate; /* bytes per second a request body must average; default 500 */
};

/* An IPv4 or IPv6 network, for trusted_proxies. */
struct cfg_cidr {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network address, host bits zero */
    int prefix;             /* 0..32 or 0..128 */
};

/* client_cert: {source: header, ...} (SPEC §6): the certificate arrives in a
 * header from a trusted upstream gateway instead of from a handshake. */
struct cfg_client_cert {
    int from_header; /* source: header (source: tls is the default) */
    char *header;    /* default X-ARR-ClientCert */
    int format;      /* enum certgate_format, default CERTGATE_FMT_AUTO */
    struct cfg_cidr *trusted_proxies;
    size_t n_trusted_proxies;
    struct cfg_client_auth auth; /* its policy: named or inline (mode unused) */
};

struct cfg_fwd_header {
    char *name; /* "" = not sent */
    enum cfg_fwd_format format;
    int chain;       /* rfc9440: also Client-Cert-Chain */
    int xfcc_append; /* xfcc_mode: append — keep a trusted proxy's XFCC, add ours */
};

/* Identity header names; NULL = that header is off. */
struct cfg_identity_headers {
    char *verify, *subject, *issuer, *serial, *sha1, *sha256, *not_before, *not_after;
};

struct cfg_forward {
    struct cfg_fwd_header *headers;
    size_t n_headers;
    struct cfg_identity_headers identity;
};

struct cfg_backend;

struct cfg_route {
    char *host;                /* NULL = any; exact, case-insensitive, port ignored */
    char *path_prefix;         /* NULL = "/" */
    struct cfg_policy *policy; /* NULL = the listener's client_auth policy */
    int policy_none;           /* policy: none — bypass */
    struct cfg_backend *backend;
    struct cfg_pos pos;
};

/* tls.ocsp_stapling: an OCSP response for each server certificate, fetched by the OCSP thread
 * and stapled to handshakes that ask for one (docs/revocation.md). */
struct cfg_ocsp_stapling {
    int enabled;         /* true, or a mapping */
    char *responder;     /* http:// URL overriding every certificate's AIA; NULL = the AIA's */
    uint64_t timeout_ms; /* connect + answer, default 5s */
    uint64_t retry_ms;   /* after a failed fetch, default 30s */
};

struct cfg_listener {
    char *name;
    char *address; /* as written, "host:port" or "[v6]:port" */
    char *host;    /* parsed */
    int port;
    int tls; /* 0 = plain HTTP */
    struct cfg_cert *certs;
    size_t n_certs;
    struct cfg_client_auth client_auth;
    struct cfg_ocsp_stapling stapling;
    struct cfg_client_cert client_cert;
    struct cfg_timeouts timeouts;
    struct cfg_limits limits;
    struct cfg_forward forward;
    struct cfg_route *routes;
    size_t n_routes;
    int admin; /* internal: the admin listener, served by the admin handler */
    struct cfg_pos pos;
};

enum cfg_balance { BALANCE_ROUND_ROBIN = 0, BALANCE_LEAST_CONN };

/* A backend's tls: (issue 6), for its https:// servers. With <set> 0 an https
 * server is still verified: system CAs and the URL's host as the name. */
struct cfg_backend_tls {
    int set;           /* 1 when tls: was written; <verify> is read only then */
    char *ca;          /* PEM bundle, absolute; NULL = the system's default verify paths */
    char *server_name; /* SNI and the name checked in the certificate; NULL = the URL's host */
    /* verify: false turns off ALL checking of the backend's certificate (chain
     * AND name): anyone on the path can pose as the backend. Default 1. */
    int verify;
    struct cfg_cert client_cert; /* the gateway's own certificate, if <has_client_cert> */
    int has_client_cert;
    char *password; /* client_cert's PKCS#12 password, read at load; NULL = none given.
                     * Owned; wiped (OPENSSL_cleanse) when freed */
};

/* At most this many codes or ranges in health.match_status. */
#define CFG_MATCH_STATUS_MAX 16

/* health: active probes (issue 6). */
struct cfg_health {
    int set;                 /* 1 when health: was given; else no active probes */
    char *path;              /* request target, starts with '/' */
    uint64_t interval_ms;    /* default 5s */
    uint64_t timeout_ms;     /* default 2s */
    int unhealthy_threshold; /* failed probes in a row that take a server out; default 3 */
    int healthy_threshold;   /* passed probes in a row that bring it back; default 2 */
    struct {
        int lo, hi; /* inclusive; a single code has lo == hi */
    } match[CFG_MATCH_STATUS_MAX];
    size_t n_match; /* default one range, 200-399 */
};

/* passive: ejection after connect failures (issue 6). */
struct cfg_passive {
    int max_fails;            /* consecutive connect failures; 0 = off; default 3 */
    uint64_t fail_timeout_ms; /* how long an ejected server is left alone; default 10s */
};

/* pool: upstream keep-alive connections, per worker per server (issue 6). */
struct cfg_pool {
    size_t max_idle;          /* idle connections kept; default 64; 0 = none kept */
    uint64_t idle_timeout_ms; /* an idle connection is closed after this; default 30s */
    size_t max_connections;   /* open at once; 0 = unlimited (the default) */
};

struct cfg_server {
    char *url;  /* as written */
    int tls;    /* https:// */
    char *host; /* a name (resolved at run time) or an IP literal without brackets */
    int port;
    int weight; /* 1..100, default 1 */
    struct cfg_pos pos;
};

struct cfg_backend {
    char *name;
    int builtin_echo; /* builtin: echo */
    struct cfg_server *servers;
    size_t n_servers;
    struct cfg_timeouts timeouts; /* connect, response */
    struct cfg_pos pos;
    enum cfg_balance balance; /* default round_robin */
    struct cfg_backend_tls tls;
    struct cfg_health health;
    struct cfg_passive passive;
    struct cfg_pool pool;
};

struct cfg_admin {
    char *address; /* NULL = no admin listener */
    char *host;
    int port;
};

enum cfg_log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* log: {access: stdout|off|PATH, errors: stderr|PATH, level, format: json} */
struct cfg_log {
    int access;        /* 1 = access log on */
    char *access_path; /* NULL = stdout; else a file, absolute, reopened on SIGUSR1 */
    char *errors_path; /* NULL = stderr; else a file, absolute, reopened on SIGUSR1 */
    int level;         /* enum cfg_log_level of the error log, default LOG_INFO */
};

struct config {
    char *path; /* the file loaded, NULL in quick mode */
    char *dir;  /* its directory, for relative paths */
    struct cfg_listener *listeners;
    size_t n_listeners;
    struct cfg_policy *policies;
    size_t n_policies;
    struct cfg_backend *backends;
    size_t n_backends;
    struct cfg_admin admin;
    struct cfg_log log;
    int workers;               /* 0 = number of cores */
    uint64_t drain_timeout_ms; /* drain_timeout: SIGTERM's bound, default 30s */
    int reload_watch;          /* reload: {watch: true}: reload when a referenced file changes */
    char *ticket_keys;         /* ticket_keys: FILE of base64 80-byte keys; NULL = random */
};

#endif

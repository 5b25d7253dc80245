/* certgate command line: run / check / verify / decode. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/decode.h"
#include "cli/verify.h"
#include "config/config.h"
#include "core/gateway.h"

#define CERTGATE_VERSION "0.1.0"

#define EXIT_USAGE 2

/* What a usage error prints after its message: one line pointing at the full help. */
static const char usage_short[] =
    "usage: certgate run|check|verify|decode|version|help [ARGS]   (certgate --help lists them)\n";

static const char help_top[] =
    "usage: certgate COMMAND [ARGS]\n"
    "\n"
    "certgate is an mTLS gateway: it terminates TLS, judges client certificates and hands\n"
    "the verified certificate to the backend in an HTTP header.\n"
    "\n"
    "Commands:\n"
    "  run       run the gateway, from a config file (-c) or from flags (quick mode)\n"
    "  check     check a config file and every file it names; exit 1 with file:line:column\n"
    "  verify    judge one certificate file as the gateway would and print every check\n"
    "  decode    decode a forwarded client-certificate header value into PEM and a summary\n"
    "  version   print the version\n"
    "  help      print this help, or a command's: certgate help COMMAND\n"
    "\n"
    "Global flags:\n"
    "  -h, --help    print this help; certgate COMMAND --help prints the command's\n"
    "  --version     print the version\n"
    "\n"
    "Exit status: 0 success, 1 failure (each command's help says which), 2 usage error.\n";

#define USAGE_RUN                                                                                  \
    "usage: certgate run -c certgate.yaml [--workers N]\n"                                         \
    "       certgate run --listen ADDR [--cert FILE --key FILE | --pkcs12 FILE] [flags]\n"
static const char usage_run[] = USAGE_RUN;
static const char usage_run_error[] = USAGE_RUN "       (certgate run --help lists the flags)\n";

static const char help_run[] =
    "\n"
    "Runs the gateway in the foreground until SIGTERM or SIGINT. Logs are JSON lines: one\n"
    "access log line per request on stdout; errors, rejections and reloads on stderr.\n"
    "\n"
    "With a config file (docs/config.md):\n"
    "  -c, --config FILE      the YAML config; relative paths in it are relative to it\n"
    "  --workers N            worker threads, 1-1024 (default: the file's workers, else one\n"
    "                         per core)\n"
    "\n"
    "Quick mode, one listener named main and no file (--flag VALUE or --flag=VALUE):\n"
    "  --listen ADDR          listen address: 127.0.0.1:8443, [::1]:8443, :8443 (required)\n"
    "  --cert FILE            PEM server certificate, with --key; without --cert or\n"
    "                         --pkcs12 the listener is plain HTTP\n"
    "  --key FILE             the PEM private key of --cert\n"
    "  --pkcs12 FILE          PKCS#12 server certificate and key, instead of --cert/--key\n"
    "  --password-env VAR     the --pkcs12 password, from environment variable VAR\n"
    "  --password-file FILE   the --pkcs12 password, from FILE\n"
    "  --client-ca FILE       a trusted client CA (repeatable); makes an inline policy, so\n"
    "                         clients send their chain\n"
    "  --client-auth MODE     ignore, request, optional or require (default: require with\n"
    "                         --client-ca, else ignore)\n"
    "  --on-failure http|alert\n"
    "                         a refused client gets a JSON 401/403 on every request (http,\n"
    "                         the default) or a TLS alert (alert)\n"
    "  --forward NAME=FORMAT  a header carrying the client certificate (repeatable; default\n"
    "                         X-ARR-ClientCert=base64-der); FORMAT is base64-der,\n"
    "                         pem-urlencoded, hex, rfc9440 or xfcc; an empty NAME sends none\n"
    "  --no-identity-headers  send no X-Client-Cert-Verify, -Subject, -Issuer, ... headers\n"
    "  --backend URL|echo     http://HOST[:PORT] or https://HOST[:PORT], or the builtin echo\n"
    "                         backend (the default)\n"
    "  --admin ADDR           an admin listener: /health, /ready, /metrics\n"
    "  --access-log on|off    the access log on stdout (default on)\n"
    "  --workers N            as above\n"
    "\n"
    "  -h, --help             print this help\n"
    "\n"
    "Config keys for operating many instances (docs/config.md, docs/deployment.md):\n"
    "  drain_timeout: 30s     how long SIGTERM waits for requests in flight (default 30s)\n"
    "  reload: {watch: true}  reload, as on SIGHUP, when the config file or a file it names\n"
    "                         changes; follows Kubernetes' ..data symlink swap of a mounted\n"
    "                         ConfigMap or Secret\n"
    "  ticket_keys: FILE      TLS session ticket keys shared by the instances, so that each\n"
    "                         resumes the others' sessions: one key per line, the base64 of\n"
    "                         80 bytes (openssl rand -base64 80); the first line encrypts,\n"
    "                         every line decrypts. Rotate by putting a new line first and\n"
    "                         reloading. Without it each process has its own random key.\n"
    "  log: {access: stdout|off|PATH, errors: stderr|PATH, level: debug|info|warn|error}\n"
    "                         where the access log and the error log go; a PATH is appended\n"
    "                         to and reopened on SIGUSR1; level filters the error log\n"
    "                         (default info)\n"
    "\n"
    "Signals:\n"
    "  SIGHUP                 reload the config file and every certificate, key, CA, CRL and\n"
    "                         ticket key file it names, at once; a file that does not load\n"
    "                         keeps the running configuration and logs why. Requests in\n"
    "                         flight finish on the configuration they started with.\n"
    "                         (Quick mode has no file to reload.)\n"
    "  SIGTERM, SIGINT        drain: stop accepting, /ready stops answering 200, requests in\n"
    "                         flight get up to drain_timeout to finish, then exit\n"
    "  SIGUSR1                reopen the log files (after logrotate moved them)\n"
    "\n"
    "Exit status: 0 stopped by SIGTERM or SIGINT, 1 the configuration did not load or the\n"
    "gateway could not start (the reason on stderr), 2 usage error.\n";

static const char usage_check[] = "usage: certgate check -c certgate.yaml\n";

static const char help_check[] =
    "\n"
    "Loads the config as certgate run -c would, opening every file it names (certificates,\n"
    "keys, PKCS#12 files with their passwords, CAs, CRLs, ticket keys), and prints\n"
    "\"FILE: ok\". Nothing is started.\n"
    "\n"
    "  -c, --config FILE      the YAML config to check\n"
    "  -h, --help             print this help\n"
    "\n"
    "Exit status: 0 valid, 1 not valid (the first problem on stderr as\n"
    "file:line:column: message), 2 usage error.\n";

static const char help_version[] = "usage: certgate version   (or certgate --version)\n"
                                   "\n"
                                   "Prints \"certgate VERSION\".\n";

static int is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

static int any_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (is_help(argv[i]))
            return 1;
    return 0;
}

/* The message, then <usage>, on stderr. */
static int usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return EXIT_USAGE;
}

/* Pull "-c FILE" / "--config FILE" and (when <workers> is not NULL) "--workers N" out of
 * argv; the rest goes to <rest>. */
static int split_args(int argc, char **argv, const char **file, int *workers, char **rest,
                      int *nrest)
{
    *nrest = 0;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            *file = argv[++i];
        } else if (workers && !strcmp(argv[i], "--workers") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > CFG_MAX_WORKERS) {
                fprintf(stderr, "--workers: expected a number from 1 to %d\n", CFG_MAX_WORKERS);
                return -1;
            }
            *workers = (int)n;
        } else {
            rest[(*nrest)++] = argv[i];
        }
    }
    return 0;
}

/* Quick mode reports every flag problem as "--flag: message"; these two are usage errors. */
static int quick_usage_error(const char *msg)
{
    static const char *const tails[] = {": unknown flag", ": unexpected argument"};
    size_t len = strlen(msg);

    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        size_t n = strlen(tails[i]);
        if (len >= n && !strcmp(msg + len - n, tails[i]))
            return 1;
    }
    return 0;
}

/* *out from -c FILE or (run only) quick-mode flags. 0, 1 when the config does not load,
 * EXIT_USAGE on a usage error; the reason is printed. */
static int load(int argc, char **argv, int *workers, int quick_ok, struct config **out)
{
    const char *file = NULL, *usage = quick_ok ? usage_run_error : usage_check;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0, rc = 1;
    struct cfg_error err = {{0}};

    *out = NULL;
    if (rest == NULL || split_args(argc, argv, &file, quick_ok ? workers : NULL, rest, &nrest) < 0)
        goto out;
    for (int i = 0; i < nrest; i++)
        if (!strcmp(rest[i], "-c") || !strcmp(rest[i], "--config") ||
            (quick_ok && !strcmp(rest[i], "--workers"))) {
            rc = usage_error(usage, "%s: needs a value", rest[i]);
            goto out;
        }
    if (nrest && (file || !quick_ok)) {
        if (quick_ok)
            rc = usage_error(usage, "%s: unexpected with -c (quick-mode flags need no file)",
                             rest[0]);
        else if (rest[0][0] == '-')
            rc = usage_error(usage, "%s: unknown flag", rest[0]);
        else
            rc = usage_error(usage, "'%s': unexpected argument", rest[0]);
        goto out;
    }
    if (!file && !quick_ok) {
        rc = usage_error(usage, "-c FILE is required");
        goto out;
    }
    *out = file ? config_load(file, &err) : config_from_args(nrest, rest, &err);
    if (*out != NULL)
        rc = 0;
    else if (!file && quick_usage_error(err.msg))
        rc = usage_error(usage, "%s", err.msg);
    else
        fprintf(stderr, "%s\n", err.msg);
out:
    free(rest);
    return rc;
}

/* certgate help [COMMAND], and COMMAND --help: to stdout, exit 0. */
static int help(const char *cmd)
{
    static char help_flag[] = "--help";
    char *argv[] = {help_flag, NULL};

    if (cmd == NULL || is_help(cmd)) {
        fputs(help_top, stdout);
        return 0;
    }
    if (!strcmp(cmd, "run")) {
        fputs(usage_run, stdout);
        fputs(help_run, stdout);
        return 0;
    }
    if (!strcmp(cmd, "check")) {
        fputs(usage_check, stdout);
        fputs(help_check, stdout);
        return 0;
    }
    if (!strcmp(cmd, "version")) {
        fputs(help_version, stdout);
        return 0;
    }
    if (!strcmp(cmd, "help")) {
        fputs(help_top, stdout);
        return 0;
    }
    if (!strcmp(cmd, "verify"))
        return cli_verify(1, argv);
    if (!strcmp(cmd, "decode"))
        return cli_decode(1, argv);
    return usage_error(usage_short, "certgate: unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(help_top, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    int workers = 0, rc;
    struct config *cfg;

    if (!strcmp(cmd, "help") || is_help(cmd)) {
        if (argc > 3)
            return usage_error(usage_short, "certgate help: '%s': one COMMAND only", argv[3]);
        return help(argc == 3 ? argv[2] : NULL);
    }
    if (!strcmp(cmd, "run")) {
        if (any_help(argc - 2, argv + 2))
            return help(cmd);
        rc = load(argc - 2, argv + 2, &workers, 1, &cfg);
        if (cfg == NULL)
            return rc;
        if (workers == 0)
            workers = cfg->workers;
        return gateway_run(cfg, workers);
    }
    if (!strcmp(cmd, "check")) {
        if (any_help(argc - 2, argv + 2))
            return help(cmd);
        rc = load(argc - 2, argv + 2, &workers, 0, &cfg);
        if (cfg == NULL)
            return rc;
        printf("%s: ok\n", cfg->path ? cfg->path : "configuration");
        config_free(cfg);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        if (argc > 2 && any_help(argc - 2, argv + 2))
            return help("version");
        if (argc > 2)
            return usage_error("usage: certgate version\n", "certgate version: '%s': unexpected",
                               argv[2]);
        printf("certgate %s\n", CERTGATE_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "verify"))
        return cli_verify(argc - 2, argv + 2);
    if (!strcmp(cmd, "decode"))
        return cli_decode(argc - 2, argv + 2);
    return usage_error(
        usage_short,
        cmd[0] == '-' ? "certgate: unknown flag '%s'" : "certgate: unknown command '%s'", cmd);
}

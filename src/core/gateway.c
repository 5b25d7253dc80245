#include "core/gateway.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config/config.h"
#include "core/files_stamp.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/runtime.h"
#include "core/worker.h"
#include "revocation/ocsp_service.h"
#include "upstream/health.h"
#include "upstream/servers.h"

struct gateway {
    uv_loop_t loop;
    uv_signal_t sig_term, sig_int, sig_hup, sig_usr1;
    uv_timer_t crl_timer;   /* revocation: {crl_refresh}: look for new CRL files */
    uv_timer_t watch_timer; /* reload: {watch: true}: look at every file once a second */
    uint64_t files;         /* files_stamp() of the configuration serving */
    uv_timer_t drained;     /* during a drain: are all workers done serving? */
    atomic_int serving;     /* workers still serving requests during a drain */
    struct worker *workers;
    int n_workers;
    struct runtime *rt;
    struct metrics metrics;
    struct ocsp_service *ocsp;
    struct server_registry *servers; /* backend servers' shared state, across reloads */
    struct health *health;           /* name resolution and probes, on this loop */
    int stopping;
};

static void close_signals(struct gateway *gw)
{
    uv_close((uv_handle_t *)&gw->sig_term, NULL);
    uv_close((uv_handle_t *)&gw->sig_int, NULL);
    uv_close((uv_handle_t *)&gw->sig_hup, NULL);
    uv_close((uv_handle_t *)&gw->sig_usr1, NULL);
    uv_close((uv_handle_t *)&gw->crl_timer, NULL);
    uv_close((uv_handle_t *)&gw->watch_timer, NULL);
}

/* The admin listener answers /ready (503 draining) until every worker has finished its
 * requests; then it closes too and the workers end. */
static void on_drained_check(uv_timer_t *t)
{
    struct gateway *gw = t->data;
    if (atomic_load(&gw->serving) > 0)
        return;
    for (int i = 0; i < gw->n_workers; i++)
        worker_close_admin(&gw->workers[i]);
    uv_close((uv_handle_t *)t, NULL);
}

static void on_stop(uv_signal_t *s, int signum)
{
    struct gateway *gw = s->data;
    if (gw->stopping)
        return;
    gw->stopping = 1;
    log_msg("info", "signal %d: draining in-flight requests", signum);
    ocsp_service_mute(gw->ocsp); /* parked requests get their answer (unknown) now */
    health_stop(gw->health);
    gw->health = NULL;
    atomic_store(&gw->serving, gw->n_workers);
    for (int i = 0; i < gw->n_workers; i++)
        worker_drain(&gw->workers[i], &gw->serving);
    runtime_stop_listening(gw->rt);
    close_signals(gw);
    uv_timer_init(&gw->loop, &gw->drained);
    gw->drained.data = gw;
    uv_timer_start(&gw->drained, on_drained_check, 20, 20);
}

static void arm_crl_timer(struct gateway *gw);
static void arm_watch_timer(struct gateway *gw);

/* Load the file again and swap the whole generation; a bad file keeps the
 * old one serving and says why. */
static void reload(struct gateway *gw, const char *why)
{
    struct cfg_error cerr = {{0}};
    char err[512] = "";
    const char *path = gw->rt->cfg->path;
    if (path == NULL) {
        log_msg("warn", "SIGHUP: quick mode has no configuration file to reload");
        return;
    }
    struct config *cfg = config_load(path, &cerr);
    if (cfg == NULL) {
        log_msg("error", "reload failed, the previous configuration keeps serving: %s", cerr.msg);
        atomic_fetch_add(&gw->metrics.reloads_failed, 1);
        atomic_store(&gw->metrics.last_reload_ok, 0);
        return;
    }
    struct runtime *rt =
        runtime_new(cfg, gw->n_workers, &gw->metrics, gw->servers, gw->rt, err, sizeof(err));
    if (rt == NULL) {
        log_msg("error", "reload failed, the previous configuration keeps serving: %s", err);
        atomic_fetch_add(&gw->metrics.reloads_failed, 1);
        atomic_store(&gw->metrics.last_reload_ok, 0);
        config_free(cfg);
        return;
    }
    atomic_fetch_add(&gw->metrics.reloads_ok, 1);
    atomic_store(&gw->metrics.last_reload_ok, 1);
    if (log_configure(&cfg->log, err, sizeof(err)) < 0)
        log_msg("error", "reload: %s; the logs keep their previous targets", err);
    runtime_set_ocsp(rt, gw->ocsp);
    for (int i = 0; i < gw->n_workers; i++)
        worker_reload(&gw->workers[i], rt);
    health_update(gw->health, rt);
    runtime_unref(gw->rt);
    gw->rt = rt;
    log_msg("info", "configuration reloaded from %s (generation %llu, %s)", path,
            (unsigned long long)rt->generation, why);
    arm_crl_timer(gw);
    arm_watch_timer(gw);
}

static void on_hup(uv_signal_t *s, int signum)
{
    reload(s->data, "SIGHUP");
}

static void on_usr1(uv_signal_t *s, int signum)
{
    log_reopen();
}

static void on_crl_timer(uv_timer_t *t)
{
    struct gateway *gw = t->data;
    uint64_t every;
    if (!gw->stopping && runtime_crl_stamp(gw->rt->cfg, &every) != gw->rt->crl_stamp)
        reload(gw, "a CRL file changed");
}

#define WATCH_MS 1000

static void on_watch_timer(uv_timer_t *t)
{
    struct gateway *gw = t->data;
    uint64_t now = files_stamp(gw->rt->cfg);
    if (gw->stopping || now == gw->files)
        return;
    gw->files = now; /* a broken file is reported once, not every second */
    reload(gw, "a watched file changed");
}

static void arm_watch_timer(struct gateway *gw)
{
    gw->files = files_stamp(gw->rt->cfg);
    if (gw->rt->cfg->reload_watch && !gw->stopping) {
        if (!uv_is_active((uv_handle_t *)&gw->watch_timer))
            uv_timer_start(&gw->watch_timer, on_watch_timer, WATCH_MS, WATCH_MS);
    } else {
        uv_timer_stop(&gw->watch_timer);
    }
}

static void arm_crl_timer(struct gateway *gw)
{
    if (gw->rt->crl_refresh_ms && !gw->stopping)
        uv_timer_start(&gw->crl_timer, on_crl_timer, gw->rt->crl_refresh_ms,
                       gw->rt->crl_refresh_ms);
    else
        uv_timer_stop(&gw->crl_timer);
}

/* Raise the soft file-descriptor limit to the hard one (a gateway holds a descriptor per
 * connection, and the default soft limit is often 1024), then check that the workers' own
 * descriptors fit. -1 (logged) when they cannot. */
static int fd_limit(const struct config *cfg, int n_workers)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            log_msg("warn", "cannot raise the file descriptor limit from %llu: %s",
                    (unsigned long long)was, strerror(errno));
            getrlimit(RLIMIT_NOFILE, &rl);
        } else {
            log_msg("info", "file descriptor limit raised from %llu to %llu",
                    (unsigned long long)was, (unsigned long long)rl.rlim_cur);
        }
    }
    /* each worker: its loop (epoll, eventfd) and two per listener, the admin one included
     * (the runtime's SO_REUSEPORT socket and the worker's copy); then room for connections.
     * A reload holds the old and new listener sockets for a moment: twice that part. */
    size_t listeners = cfg->n_listeners + (cfg->admin.address != NULL);
    unsigned long long need = (unsigned long long)n_workers * (2 + 4 * listeners) + 64;
    if (rl.rlim_cur != RLIM_INFINITY && need > (unsigned long long)rl.rlim_cur) {
        log_msg("error",
                "%d workers need at least %llu file descriptors and the limit (RLIMIT_NOFILE) "
                "is %llu: raise it (ulimit -n, systemd LimitNOFILE=) or run fewer workers",
                n_workers, need, (unsigned long long)rl.rlim_cur);
        return -1;
    }
    return 0;
}

int gateway_run(struct config *cfg, int n_workers)
{
    struct gateway *gw = calloc(1, sizeof(*gw));
    char err[512] = "";
    int status = 1;
    if (gw == NULL)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    if (n_workers <= 0)
        n_workers = (int)uv_available_parallelism();
    gw->n_workers = n_workers;
    metrics_init(&gw->metrics);
    if (log_configure(&cfg->log, err, sizeof(err)) < 0 || fd_limit(cfg, n_workers) < 0) {
        if (err[0])
            log_msg("error", "%s", err);
        config_free(cfg);
        metrics_free(&gw->metrics);
        free(gw);
        return 1;
    }
    gw->servers = servers_new();
    gw->rt = gw->servers
                 ? runtime_new(cfg, n_workers, &gw->metrics, gw->servers, NULL, err, sizeof(err))
                 : NULL;
    if (gw->rt == NULL) {
        log_msg("error", "%s", err[0] ? err : "out of memory");
        config_free(cfg);
        servers_free(gw->servers);
        metrics_free(&gw->metrics);
        free(gw);
        return 1;
    }
    gw->ocsp = ocsp_service_start(err, sizeof(err));
    if (gw->ocsp == NULL) {
        log_msg("error", "%s", err);
        runtime_unref(gw->rt);
        free(gw);
        return 1;
    }
    runtime_set_ocsp(gw->rt, gw->ocsp);
    gw->workers = calloc((size_t)n_workers, sizeof(*gw->workers));
    uv_loop_init(&gw->loop);
    uv_signal_init(&gw->loop, &gw->sig_term);
    uv_signal_init(&gw->loop, &gw->sig_int);
    uv_signal_init(&gw->loop, &gw->sig_hup);
    uv_signal_init(&gw->loop, &gw->sig_usr1);
    gw->sig_term.data = gw->sig_int.data = gw->sig_hup.data = gw->sig_usr1.data = gw;
    uv_signal_start(&gw->sig_term, on_stop, SIGTERM);
    uv_signal_start(&gw->sig_int, on_stop, SIGINT);
    uv_signal_start(&gw->sig_hup, on_hup, SIGHUP);
    uv_signal_start(&gw->sig_usr1, on_usr1, SIGUSR1);
    uv_timer_init(&gw->loop, &gw->crl_timer);
    gw->crl_timer.data = gw;
    arm_crl_timer(gw);
    uv_timer_init(&gw->loop, &gw->watch_timer);
    gw->watch_timer.data = gw;
    arm_watch_timer(gw);
    gw->health = health_start(&gw->loop, gw->rt);
    int started = 0;
    int rc = gw->workers ? 0 : UV_ENOMEM;
    for (; rc == 0 && started < n_workers; started++)
        if ((rc = worker_start(&gw->workers[started], started, gw->rt)) < 0)
            break;
    if (started == n_workers) {
        for (size_t i = 0; i < gw->rt->n_listeners; i++)
            log_msg("info", "listener '%s' on %s (%s)", gw->rt->listeners[i].cfg->name,
                    gw->rt->listeners[i].cfg->address,
                    gw->rt->listeners[i].cfg->tls ? "tls" : "plain");
        log_msg("info", "certgate running with %d workers", n_workers);
        status = 0;
    } else {
        log_msg("error", "cannot start worker %d: %s", started, uv_strerror(rc));
        close_signals(gw);
        health_stop(gw->health);
        gw->health = NULL;
    }
    for (int i = 0; i < started; i++) {
        if (status != 0) {
            worker_drain(&gw->workers[i], NULL);
            worker_close_admin(&gw->workers[i]);
        }
    }
    uv_run(&gw->loop, UV_RUN_DEFAULT);
    for (int i = 0; i < started; i++)
        worker_join(&gw->workers[i]);
    uv_loop_close(&gw->loop);
    runtime_unref(gw->rt);
    ocsp_service_stop(gw->ocsp);
    servers_free(gw->servers);
    metrics_free(&gw->metrics);
    free(gw->workers);
    free(gw);
    if (status == 0)
        log_msg("info", "stopped");
    return status;
}

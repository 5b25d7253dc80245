#include "core/gateway.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/worker.h"
#include "revocation/ocsp_service.h"
#include "upstream/health.h"
#include "upstream/servers.h"

struct gateway {
    uv_loop_t loop;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t crl_timer; /* revocation: {crl_refresh}: look for new CRL files */
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
    uv_close((uv_handle_t *)&gw->crl_timer, NULL);
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
    for (int i = 0; i < gw->n_workers; i++)
        worker_drain(&gw->workers[i]);
    close_signals(gw);
}

static void arm_crl_timer(struct gateway *gw);

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
        return;
    }
    struct runtime *rt =
        runtime_new(cfg, gw->n_workers, &gw->metrics, gw->servers, gw->rt, err, sizeof(err));
    if (rt == NULL) {
        log_msg("error", "reload failed, the previous configuration keeps serving: %s", err);
        config_free(cfg);
        return;
    }
    rt->ocsp = gw->ocsp;
    for (int i = 0; i < gw->n_workers; i++)
        worker_reload(&gw->workers[i], rt);
    health_update(gw->health, rt);
    runtime_unref(gw->rt);
    gw->rt = rt;
    log_msg("info", "configuration reloaded from %s (generation %llu, %s)", path,
            (unsigned long long)rt->generation, why);
    arm_crl_timer(gw);
}

static void on_hup(uv_signal_t *s, int signum)
{
    reload(s->data, "SIGHUP");
}

static void on_crl_timer(uv_timer_t *t)
{
    struct gateway *gw = t->data;
    uint64_t every;
    if (!gw->stopping && runtime_crl_stamp(gw->rt->cfg, &every) != gw->rt->crl_stamp)
        reload(gw, "a CRL file changed");
}

static void arm_crl_timer(struct gateway *gw)
{
    if (gw->rt->crl_refresh_ms && !gw->stopping)
        uv_timer_start(&gw->crl_timer, on_crl_timer, gw->rt->crl_refresh_ms,
                       gw->rt->crl_refresh_ms);
    else
        uv_timer_stop(&gw->crl_timer);
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
    gw->servers = servers_new();
    gw->rt = gw->servers
                 ? runtime_new(cfg, n_workers, &gw->metrics, gw->servers, NULL, err, sizeof(err))
                 : NULL;
    if (gw->rt == NULL) {
        log_msg("error", "%s", err[0] ? err : "out of memory");
        config_free(cfg);
        servers_free(gw->servers);
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
    gw->rt->ocsp = gw->ocsp;
    gw->workers = calloc((size_t)n_workers, sizeof(*gw->workers));
    uv_loop_init(&gw->loop);
    uv_signal_init(&gw->loop, &gw->sig_term);
    uv_signal_init(&gw->loop, &gw->sig_int);
    uv_signal_init(&gw->loop, &gw->sig_hup);
    gw->sig_term.data = gw->sig_int.data = gw->sig_hup.data = gw;
    uv_signal_start(&gw->sig_term, on_stop, SIGTERM);
    uv_signal_start(&gw->sig_int, on_stop, SIGINT);
    uv_signal_start(&gw->sig_hup, on_hup, SIGHUP);
    uv_timer_init(&gw->loop, &gw->crl_timer);
    gw->crl_timer.data = gw;
    arm_crl_timer(gw);
    gw->health = health_start(&gw->loop, gw->rt);
    int started = 0;
    for (; gw->workers && started < n_workers; started++)
        if (worker_start(&gw->workers[started], started, gw->rt) < 0)
            break;
    if (started == n_workers) {
        for (size_t i = 0; i < gw->rt->n_listeners; i++)
            log_msg("info", "listener '%s' on %s (%s)", gw->rt->listeners[i].cfg->name,
                    gw->rt->listeners[i].cfg->address,
                    gw->rt->listeners[i].cfg->tls ? "tls" : "plain");
        log_msg("info", "certgate running with %d workers", n_workers);
        status = 0;
    } else {
        log_msg("error", "cannot start worker %d", started);
        close_signals(gw);
        health_stop(gw->health);
        gw->health = NULL;
    }
    for (int i = 0; i < started; i++) {
        if (status != 0)
            worker_drain(&gw->workers[i]);
    }
    uv_run(&gw->loop, UV_RUN_DEFAULT);
    for (int i = 0; i < started; i++)
        worker_join(&gw->workers[i]);
    uv_loop_close(&gw->loop);
    runtime_unref(gw->rt);
    ocsp_service_stop(gw->ocsp);
    servers_free(gw->servers);
    free(gw->workers);
    free(gw);
    if (status == 0)
        log_msg("info", "stopped");
    return status;
}

/* The daemon: workers on one runtime, signals on the main thread. */
#ifndef CERTGATE_CORE_GATEWAY_H
#define CERTGATE_CORE_GATEWAY_H

#include "config/config_types.h"

/* Serve <cfg> (ownership taken) with <n_workers> threads until SIGTERM or
 * SIGINT, then drain. Returns the process exit status. */
int gateway_run(struct config *cfg, int n_workers);

#endif

/* Logs: JSON lines. Access log on stdout, errors and rejections on stderr. */
#ifndef CERTGATE_CORE_LOG_H
#define CERTGATE_CORE_LOG_H

#include <certgate/certgate.h>

struct conn;

/* One line per finished exchange, when the config enables the access log. */
void log_access(struct conn *c);
/* A rejected request: reason, subject and SHA-256 of the certificate. */
void log_reject(struct conn *c, enum certgate_reason r, const char *detail);
/* A daemon message: {"level":..,"msg":..}. */
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

/* Logs: JSON lines. The access log (stdout or a file) is buffered per worker
 * and written off the loop; the error log (stderr or a file: daemon messages
 * and rejections) is written at once, filtered by level. Both files are
 * reopened on SIGUSR1, on their own file descriptor numbers, so that threads
 * never see a closed descriptor. */
#ifndef CERTGATE_CORE_LOG_H
#define CERTGATE_CORE_LOG_H

#include <uv.h>
#include <certgate/certgate.h>

#include "base/buf.h"

struct conn;
struct cfg_log;

/* A worker's pending access log lines: one write in flight at a time. */
struct log_buffer {
    uv_loop_t *loop;
    uv_timer_t timer; /* flushes what accumulated */
    uv_fs_t req;
    struct buf pending; /* lines not handed to a write yet */
    struct buf writing; /* the write in flight */
    size_t written;     /* of <writing> */
    int in_flight;
    int closing;
};

/* Point the logs at what <lg> says (stdout/stderr or files, level): at start and on every
 * reload. 0, or -1 with a sentence in <err> (a file that cannot be opened: the old targets
 * stay). Main thread only. */
int log_configure(const struct cfg_log *lg, char *err, size_t errlen);
/* SIGUSR1: open the log files again at their paths (after a rotation moved them). */
void log_reopen(void);

void log_buffer_init(struct log_buffer *lb, uv_loop_t *loop);
/* Write what is pending (blocking) and close the timer: the worker is ending. */
void log_buffer_close(struct log_buffer *lb);

/* One line per finished exchange, when the config enables the access log. */
void log_access(struct conn *c);
/* A rejected request: reason, subject and SHA-256 of the certificate. */
void log_reject(struct conn *c, enum certgate_reason r, const char *detail);
/* A daemon message: {"level":..,"msg":..}; <level> "debug", "info", "warn" or "error". */
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

/* log: one place for diagnostics. Messages go to stderr (default) or syslog (daemonised mount).
 * Thread-safe: each message is formatted first, then written with one call. */
#ifndef EMBASSY_LOG_H
#define EMBASSY_LOG_H
#include <stdbool.h>
#include <syslog.h>

void log_use_syslog(bool on);
/* 0 = errors and warnings only, 1 = info, 2 = debug. */
void log_set_level(int level);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

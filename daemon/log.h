/*
 * trawld's log: one line per event on stderr, "<UTC time> <level> <text>".
 * Safe to call from any thread (each line is a single write(2)).
 */
#ifndef TRAWLD_LOG_H
#define TRAWLD_LOG_H

enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Parse "debug", "info", "warn" or "error"; -1 if unknown. */
int log_level_parse(const char *name);

/* Lines below level are dropped (default LOG_INFO). */
void log_set_level(int level);

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif

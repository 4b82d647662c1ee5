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

/*
 * A repeated event (a refused connection, an oversized request): its
 * first line is logged, then at most one every LOG_EVERY_S seconds, so
 * that a client retrying in a loop cannot fill a disk with the log (a
 * line per refusal was 4 MB in 3 s). log_limited() says whether to log
 * now, and how many were not logged since the last line. Zero-initialize;
 * safe from any thread.
 */
#define LOG_EVERY_S 10
typedef struct log_limit {
    _Atomic long long next_ns;
    _Atomic unsigned long long dropped;
} log_limit;
int log_limited(log_limit *l, unsigned long long *dropped);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif

/*
 * Timestamped, levelled log lines on stderr. The whole line is formatted
 * into a stack buffer first and written with one write(2), so lines from
 * the loop thread and the worker threads never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int min_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0)
            return i;
    }
    return -1;
}

void log_set_level(int level)
{
    min_level = level;
}

void log_msg(int level, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    size_t n;
    int k;

    if (level < min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(line + n, sizeof(line) - n, ".%03ldZ %-5s ",
                 ts.tv_nsec / 1000000, level_names[level]);
    if (k > 0)
        n += (size_t)k;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (k > 0)
        n += (size_t)k;
    if (n > sizeof(line) - 2) /* truncated: keep room for the newline */
        n = sizeof(line) - 2;
    line[n++] = '\n';
    for (size_t off = 0; off < n;) {
        ssize_t w = write(STDERR_FILENO, line + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

int log_limited(log_limit *l, unsigned long long *dropped)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    long long next = atomic_load(&l->next_ns);
    if (now < next ||
        !atomic_compare_exchange_strong(&l->next_ns, &next,
                                        now + LOG_EVERY_S * 1000000000LL)) {
        atomic_fetch_add(&l->dropped, 1);
        return 0;
    }
    *dropped = atomic_exchange(&l->dropped, 0);
    return 1;
}

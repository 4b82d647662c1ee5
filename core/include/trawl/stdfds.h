/*
 * Header only (the client uses it without linking the core library).
 *
 * A program started with standard descriptors closed (a cron job's "2>&-",
 * a supervisor that closes them) gives their numbers to the first files
 * and sockets it opens, and messages meant for stderr go into those: the
 * indexer's LOCK file or a manifest being written, trawld's libuv signal
 * pipe (it aborted on SIGTERM), the client's socket (results were sent to
 * the daemon as requests). trawl_std_fds_open() makes each closed one of
 * 0, 1, 2 /dev/null; call it first in main, before anything is opened.
 */
#ifndef TRAWL_STDFDS_H
#define TRAWL_STDFDS_H

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static inline void trawl_std_fds_open(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (n >= 0 && n != fd) {
            /* a lower one was free: fd is still closed */
            dup2(n, fd);
            close(n);
        }
    }
}

#endif

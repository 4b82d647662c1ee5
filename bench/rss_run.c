/*
 * rss_run: run a command and report its wall time and peak RSS.
 *
 *   rss_run REPORT CMD [ARGS...]
 *
 * Writes {"wall_s":..,"maxrss_kb":..,"status":..,"utime_s":..,"stime_s":..,
 * "inblock":..,"oublock":..} to REPORT (CPU seconds in user and kernel
 * mode, 512-byte blocks read from and written to disk). The command
 * is started from this small process rather than from the Python runner
 * because Linux carries the peak RSS of the pre-exec image over an exec
 * (a fork of a 30 MB Python would floor every figure at 30 MB).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct timespec t0, t1;
    struct rusage ru;
    int status = 0;
    pid_t pid;
    FILE *f;

    if (argc < 3) {
        fprintf(stderr, "usage: rss_run REPORT CMD [ARGS...]\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    f = fopen(argv[1], "w");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    fprintf(f, "{\"wall_s\":%.6f,\"maxrss_kb\":%ld,\"status\":%d,"
            "\"utime_s\":%.3f,\"stime_s\":%.3f,\"inblock\":%ld,\"oublock\":%ld}\n",
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9,
            ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6,
            ru.ru_inblock, ru.ru_oublock);
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

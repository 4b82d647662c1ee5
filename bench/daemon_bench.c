/*
 * daemon_bench: trawl queries through trawld over its Unix socket.
 *
 *   daemon_bench query SOCKET QUERIES [--threads 1,2,8]
 *   daemon_bench ping SOCKET [--count N] [--server-pid PID] [--rounds N]
 *
 * query: N clients, one connection each, take queries from a shared
 * counter and send each as {"op":"search","q":...,"limit":10,
 * "snippet":false}, waiting for the response line before sending the next
 * (as an interactive client does; no pipelining). Latency is the round
 * trip measured by the client. One untimed warm-up pass first, then
 * --repeat (3) passes per client count, the fastest reported.
 *
 * ping: the round trip of {"op":"ping"} to trawld, and of the same request
 * to a bare echo server (a child process on a Unix socket that writes
 * every byte back with blocking read/write: no event loop, no parsing),
 * to show the cost of the protocol layer over the socket itself. The two
 * are measured alternately, --rounds (3) passes each, and the medians of
 * the passes' percentiles are reported. A round trip's cost depends on
 * where the scheduler puts the two ends (one CPU: a context switch; two:
 * a cross-CPU wake-up), so with --server-pid (trawld's pid, every thread
 * of it is pinned) and two CPUs or more the pair is measured three ways:
 * "os" (no pinning), "same" (client and server on one CPU) and "split"
 * (client on one CPU, server on another), each server pinned exactly as
 * the other. Without --server-pid only "os" is measured.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"

static int connect_unix(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "daemon_bench: socket %s: bad path or socket()\n", path);
        exit(2);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "daemon_bench: connect %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* A connection with a read buffer; reads one response line at a time. */
typedef struct conn {
    int fd;
    char *buf;
    size_t cap, len;
    bench_lines *qs;
    char *req;
    size_t reqcap;
} conn;

static conn *conn_new(const char *path, bench_lines *qs)
{
    conn *c = bench_xmalloc(sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->fd = connect_unix(path);
    c->cap = 1 << 16;
    c->buf = bench_xmalloc(c->cap);
    c->qs = qs;
    return c;
}

/* Read one line into c->buf (NUL-terminated); returns its length or -1.
 * Bytes after the line stay buffered. */
static ssize_t read_line(conn *c, size_t *consumed)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        ssize_t r;
        if (nl != NULL) {
            *nl = '\0';
            *consumed = (size_t)(nl - c->buf) + 1;
            return nl - c->buf;
        }
        if (c->len + 4096 > c->cap) {
            c->cap *= 2;
            c->buf = realloc(c->buf, c->cap);
            if (c->buf == NULL)
                exit(2);
        }
        r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
    }
}

static void drop(conn *c, size_t consumed)
{
    memmove(c->buf, c->buf + consumed, c->len - consumed);
    c->len -= consumed;
}

/* Send one request line and wait for its response line. mode 1: a search
 * (returns the hits, counted as "id" members after "hits"), 0: any request
 * whose response must be ok, -1: no check (the echo server). -1 on error. */
static long roundtrip(conn *c, const char *req, size_t reqlen, int mode)
{
    size_t consumed;
    ssize_t n;
    long hits = 0;
    if (write_all(c->fd, req, reqlen) < 0)
        return -1;
    n = read_line(c, &consumed);
    if (n < 0)
        return -1;
    if (mode >= 0 && strstr(c->buf, "\"ok\":true") == NULL) {
        fprintf(stderr, "daemon_bench: error response: %.300s\n", c->buf);
        drop(c, consumed);
        return -1;
    }
    if (mode == 1) {
        const char *p = strstr(c->buf, "\"hits\":");
        while (p != NULL && (p = strstr(p, "\"id\":")) != NULL) {
            hits++;
            p += 5;
        }
    }
    drop(c, consumed);
    return hits;
}

static long run_query(void *state, size_t i)
{
    conn *c = state;
    const char *q = c->qs->line[i];
    size_t need = strlen(q) * 6 + 128, o;
    const char *p;
    if (c->reqcap < need) {
        free(c->req);
        c->reqcap = need;
        c->req = bench_xmalloc(need);
    }
    o = (size_t)sprintf(c->req, "{\"op\":\"search\",\"q\":\"");
    for (p = q; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            c->req[o++] = '\\';
            c->req[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)sprintf(c->req + o, "\\u%04x", ch);
        } else {
            c->req[o++] = (char)ch;
        }
    }
    o += (size_t)sprintf(c->req + o, "\",\"limit\":10,\"snippet\":false}\n");
    return roundtrip(c, c->req, o, 1);
}

/* The bare echo server (a child process): accept connections one at a
 * time, write every byte back. */
static void echo_serve(int lfd)
{
    char buf[65536];
    for (;;) {
        ssize_t r;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            _exit(0);
        }
        while ((r = read(fd, buf, sizeof(buf))) > 0)
            if (write_all(fd, buf, (size_t)r) < 0)
                break;
        close(fd);
    }
}

typedef struct pstat {
    double p50, p95, p99;
} pstat;

static pstat ping_pass(const char *label, const char *path, int count, int mode)
{
    conn *c = conn_new(path, NULL);
    static const char req[] = "{\"op\":\"ping\"}\n";
    double *lat = bench_xmalloc(sizeof(double) * (size_t)count);
    pstat ps;
    int i;
    for (i = 0; i < count / 10; i++) /* warm-up */
        roundtrip(c, req, sizeof(req) - 1, mode);
    for (i = 0; i < count; i++) {
        double t0 = bench_now();
        if (roundtrip(c, req, sizeof(req) - 1, mode) < 0) {
            fprintf(stderr, "daemon_bench: %s round trip failed\n", label);
            exit(2);
        }
        lat[i] = bench_now() - t0;
    }
    qsort(lat, (size_t)count, sizeof(double), bench_cmp_double);
    ps.p50 = bench_pct(lat, (size_t)count, 50) * 1e6;
    ps.p95 = bench_pct(lat, (size_t)count, 95) * 1e6;
    ps.p99 = bench_pct(lat, (size_t)count, 99) * 1e6;
    close(c->fd);
    free(c->buf);
    free(c);
    free(lat);
    return ps;
}

/* Pin every thread of process pid (0: this one's calling thread) to the
 * CPUs of set. 0, or -1 with errno. */
static int pin(pid_t pid, const cpu_set_t *set)
{
    char dir[64];
    DIR *d;
    struct dirent *e;
    int rc = 0;
    if (pid == 0)
        return sched_setaffinity(0, sizeof(*set), set);
    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
    d = opendir(dir);
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        int tid = atoi(e->d_name);
        if (tid > 0 && sched_setaffinity(tid, sizeof(*set), set) < 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

static int cmp_pstat50(const void *a, const void *b)
{
    double x = ((const pstat *)a)->p50, y = ((const pstat *)b)->p50;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_pstats(const char *label, const char *placement, int count,
                         pstat *ps, int rounds)
{
    double v50[64], v95[64], v99[64];
    int i;
    for (i = 0; i < rounds; i++) {
        v50[i] = ps[i].p50;
        v95[i] = ps[i].p95;
        v99[i] = ps[i].p99;
    }
    qsort(ps, (size_t)rounds, sizeof(*ps), cmp_pstat50);
    printf("{\"engine\":\"trawl\",\"mode\":\"%s\",\"placement\":\"%s\",\"count\":%d,"
           "\"rounds\":%d,\"p50_us\":%.2f,\"p95_us\":%.2f,\"p99_us\":%.2f,"
           "\"p50_min_us\":%.2f,\"p50_max_us\":%.2f}\n",
           label, placement, count, rounds, median(v50, rounds), median(v95, rounds),
           median(v99, rounds), ps[0].p50, ps[rounds - 1].p50);
    fflush(stdout);
}

static int ping_main(const char *sock, int count, pid_t server, int rounds)
{
    struct sockaddr_un sa;
    char path[108];
    pid_t echo;
    int lfd, p, r, ncpu = 0, cpu[2] = {0, 0};
    cpu_set_t all, one, two;
    static const char *const placements[] = {"os", "same", "split"};

    if (count < 10)
        count = 10;
    if (rounds < 1)
        rounds = 1;
    if (rounds > 64)
        rounds = 64;
    if (snprintf(path, sizeof(path), "%s.echo", sock) >= (int)sizeof(path)) {
        fprintf(stderr, "daemon_bench: socket path too long\n");
        return 2;
    }
    unlink(path);
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0) {
        fprintf(stderr, "daemon_bench: echo server on %s: %s\n", path, strerror(errno));
        return 2;
    }
    echo = fork();
    if (echo < 0) {
        fprintf(stderr, "daemon_bench: fork: %s\n", strerror(errno));
        return 2;
    }
    if (echo == 0)
        echo_serve(lfd);
    close(lfd);

    /* The first two CPUs this process may run on. */
    if (sched_getaffinity(0, sizeof(all), &all) == 0) {
        for (p = 0; p < CPU_SETSIZE && ncpu < 2; p++)
            if (CPU_ISSET(p, &all))
                cpu[ncpu++] = p;
    }
    CPU_ZERO(&one);
    CPU_SET(cpu[0], &one);
    CPU_ZERO(&two);
    CPU_SET(cpu[1], &two);

    for (p = 0; p < 3; p++) {
        pstat ping[64], ech[64];
        if (p > 0 && (server <= 0 || ncpu < 2))
            break;
        if (p > 0) {
            const cpu_set_t *srv = p == 1 ? &one : &two;
            if (pin(0, &one) < 0 || pin(server, srv) < 0 || pin(echo, srv) < 0) {
                fprintf(stderr, "daemon_bench: pinning (%s): %s\n", placements[p],
                        strerror(errno));
                break;
            }
        }
        for (r = 0; r < rounds; r++) {
            ping[r] = ping_pass("ping", sock, count, 0);
            ech[r] = ping_pass("echo", path, count, -1);
        }
        print_pstats("ping", placements[p], count, ping, rounds);
        print_pstats("echo", placements[p], count, ech, rounds);
    }
    /* Leave the server as it was found. */
    if (server > 0 && ncpu >= 1)
        pin(server, &all);
    kill(echo, SIGTERM);
    waitpid(echo, NULL, 0);
    unlink(path);
    return 0;
}

int main(int argc, char **argv)
{
    int levels[16] = {1}, nlevels = 1, i, count = 20000, rounds = 3;
    pid_t server = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: daemon_bench query SOCKET QUERIES [--threads 1,2,8]\n"
                        "       daemon_bench ping SOCKET [--count N] [--server-pid PID]"
                        " [--rounds N]\n");
        return 2;
    }
    for (i = 3; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0)
            nlevels = bench_parse_levels(argv[++i], levels, 16);
        else if (strcmp(argv[i], "--repeat") == 0)
            bench_repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--count") == 0)
            count = atoi(argv[++i]);
        else if (strcmp(argv[i], "--server-pid") == 0)
            server = (pid_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[++i]);
    }
    if (strcmp(argv[1], "query") == 0 && argc >= 4) {
        bench_lines qs;
        void *states[256];
        int maxt = 1, l, t;
        bench_read_lines(argv[3], &qs);
        for (l = 0; l < nlevels; l++)
            if (levels[l] > maxt)
                maxt = levels[l];
        for (t = 0; t < maxt; t++)
            states[t] = conn_new(argv[2], &qs);
        bench_pass_run("trawl", "socket", run_query, states, 1, qs.n, 0);
        for (l = 0; l < nlevels; l++)
            bench_pass_run("trawl", "socket", run_query, states, levels[l], qs.n, 1);
        for (t = 0; t < maxt; t++)
            close(((conn *)states[t])->fd);
    } else if (strcmp(argv[1], "ping") == 0) {
        return ping_main(argv[2], count, server, rounds);
    } else {
        fprintf(stderr, "daemon_bench: unknown mode %s\n", argv[1]);
        return 2;
    }
    return 0;
}

/*
 * daemon_bench: trawl queries through trawld over its Unix socket.
 *
 *   daemon_bench query SOCKET QUERIES [--threads 1,2,8]
 *   daemon_bench ping SOCKET [--count N]
 *
 * query: N clients, one connection each, take queries from a shared
 * counter and send each as {"op":"search","q":...,"limit":10,
 * "snippet":false}, waiting for the response line before sending the next
 * (as an interactive client does; no pipelining). Latency is the round
 * trip measured by the client. One untimed warm-up pass first, then
 * --repeat (3) passes per client count, the fastest reported.
 *
 * ping: the round trip of {"op":"ping"} to trawld, then the same request
 * to a bare echo server (a thread of this program on a Unix socket that
 * writes every line back), to show the cost of the protocol layer over
 * the socket itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* The bare echo server: accept connections, write every byte back. */
typedef struct echo_srv {
    int lfd;
} echo_srv;

static void *echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[65536];
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        if (write_all(fd, buf, (size_t)r) < 0)
            break;
    close(fd);
    return NULL;
}

static void *echo_main(void *arg)
{
    echo_srv *s = arg;
    for (;;) {
        pthread_t t;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static void ping_pass(const char *label, const char *path, int count, int mode)
{
    conn *c = conn_new(path, NULL);
    static const char req[] = "{\"op\":\"ping\"}\n";
    double *lat = bench_xmalloc(sizeof(double) * (size_t)count);
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
    printf("{\"engine\":\"trawl\",\"mode\":\"%s\",\"count\":%d,\"p50_us\":%.2f,"
           "\"p95_us\":%.2f,\"p99_us\":%.2f}\n",
           label, count, bench_pct(lat, (size_t)count, 50) * 1e6,
           bench_pct(lat, (size_t)count, 95) * 1e6,
           bench_pct(lat, (size_t)count, 99) * 1e6);
    fflush(stdout);
    close(c->fd);
    free(lat);
}

int main(int argc, char **argv)
{
    int levels[16] = {1}, nlevels = 1, i, count = 20000;

    if (argc < 3) {
        fprintf(stderr, "usage: daemon_bench query SOCKET QUERIES [--threads 1,2,8]\n"
                        "       daemon_bench ping SOCKET [--count N]\n");
        return 2;
    }
    for (i = 3; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0)
            nlevels = bench_parse_levels(argv[++i], levels, 16);
        else if (strcmp(argv[i], "--repeat") == 0)
            bench_repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--count") == 0)
            count = atoi(argv[++i]);
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
        echo_srv es;
        struct sockaddr_un sa;
        pthread_t t;
        char path[108];
        if (count < 10)
            count = 10;
        ping_pass("ping", argv[2], count, 0);
        snprintf(path, sizeof(path), "%s.echo", argv[2]);
        unlink(path);
        es.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        strcpy(sa.sun_path, path);
        if (es.lfd < 0 || bind(es.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(es.lfd, 16) < 0) {
            fprintf(stderr, "daemon_bench: echo server on %s: %s\n", path, strerror(errno));
            return 2;
        }
        pthread_create(&t, NULL, echo_main, &es);
        ping_pass("echo", path, count, -1);
        unlink(path);
    } else {
        fprintf(stderr, "daemon_bench: unknown mode %s\n", argv[1]);
        return 2;
    }
    return 0;
}

/*
 * trawld: serve an index over a Unix socket (see docs/protocol.md).
 * This file only reads the command line and hands over to server.c.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "proto.h"
#include "server.h"
#include "trawl/stdfds.h"

#define MAX_IDLE_S (366UL * 24 * 3600) /* --idle-timeout, --evict-idle,
                                          --write-timeout */

#ifndef TRAWL_VERSION
#define TRAWL_VERSION "unknown"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: trawld --index DIR [options]\n"
               "\n"
               "Serve the trawl index in DIR over a Unix socket (newline-"
               "delimited JSON,\n"
               "see docs/protocol.md). Runs in the foreground and logs to "
               "stderr.\n"
               "\n"
               "  --index DIR            index directory (required; may not "
               "exist yet)\n"
               "  --socket PATH          socket path (default $TRAWL_SOCKET, "
               "else\n"
               "                         $XDG_RUNTIME_DIR/trawl.sock, else "
               "./trawl.sock);\n"
               "                         made again if it is removed while "
               "trawld runs\n"
               "  --socket-mode MODE     the socket file's permissions, "
               "octal (default 600:\n"
               "                         trawld's user only; 660: its group "
               "too)\n"
               "  --threads N            query threads, each serving its "
               "share of the\n"
               "                         connections, 1..1024 (default: one "
               "per online CPU)\n"
               "  --max-request BYTES    longest request line, "
               "64..67108864 (default 65536)\n"
               "  --max-connections N    open connections, 1..1000000 "
               "(default 256); beyond\n"
               "                         them a new client replaces the "
               "connection idle\n"
               "                         longest, if idle for --evict-idle, "
               "else gets \"busy\"\n"
               "  --idle-timeout SECONDS close a connection after SECONDS "
               "with no request\n"
               "                         (none running, nothing left to "
               "send); clients\n"
               "                         reconnect; 0..31622400 (default "
               "300; 0: never)\n"
               "  --write-timeout SECONDS close a connection whose client "
               "reads nothing\n"
               "                         of the answers waiting for it for "
               "SECONDS;\n"
               "                         0..31622400 (default 300; 0: "
               "never)\n"
               "  --evict-idle SECONDS   at --max-connections (or out of file "
               "descriptors),\n"
               "                         a connection idle at least SECONDS "
               "may be closed\n"
               "                         for a new client; 0..31622400 "
               "(default 10; 0:\n"
               "                         never, the new client gets "
               "\"busy\")\n"
               "  --spin-us N            after answering, poll N microseconds "
               "for the\n"
               "                         connection's next request before "
               "sleeping,\n"
               "                         0..10000 (default 50; 0: sleep at "
               "once)\n"
               "  --log-level LEVEL      debug, info, warn or error (default "
               "info)\n"
               "\n"
               "Ranking defaults (a request's own k1, b, title_weight, ... "
               "win):\n"
               "  --k1 X                 BM25 term-frequency saturation, "
               "0..100 (default 1.2)\n"
               "  --b X                  BM25 length normalisation, 0..1 "
               "(default 0.75)\n"
               "  --title-weight X       title field weight, 0..1000 "
               "(default 3)\n"
               "  --body-weight X        body field weight, 0..1000 "
               "(default 1)\n"
               "  --prox-weight X        proximity signal weight, 0..1000; "
               "0 turns it off\n"
               "                         (default 1)\n"
               "  --prox-depth N         proximity is added to the N best "
               "BM25F matches,\n"
               "                         0..100000; 0: to every match "
               "(default 30)\n"
               "  --snippet-length BYTES snippet length, 1..10000 (default "
               "200)\n"
               "\n"
               "  -h, --help, -V, --version\n"
               "\n"
               "Signals: SIGHUP reloads the index; SIGTERM/SIGINT finish "
               "in-flight\n"
               "requests and exit 0.\n"
               "Exit status: 0 after SIGTERM/SIGINT, 1 when it cannot serve "
               "(the socket\n"
               "is in use by another trawld, cannot be created or is not a "
               "socket),\n"
               "2 on a usage error.\n");
}

static int parse_num(const char *opt,
                     const char *s,
                     unsigned long min,
                     unsigned long max,
                     unsigned long *out)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
        v > max) {
        fprintf(stderr, "trawld: %s wants a number in %lu..%lu, got '%s'\n",
                opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int
parse_real(const char *opt, const char *s, double min, double max, double *out)
{
    char *end;

    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < min ||
        v > max) {
        fprintf(stderr, "trawld: %s wants a number in %g..%g, got '%s'\n", opt,
                min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* --socket, else $TRAWL_SOCKET, else $XDG_RUNTIME_DIR/trawl.sock, else
 * ./trawl.sock. *owned is set when the result was malloc'd. */
static const char *default_socket(char **owned)
{
    const char *s = getenv("TRAWL_SOCKET");
    const char *xdg = getenv("XDG_RUNTIME_DIR");

    *owned = NULL;
    if (s != NULL && *s != '\0')
        return s;
    /* A relative $XDG_RUNTIME_DIR is invalid (the XDG Base Directory
     * specification says to ignore it), as in the client. */
    if (xdg != NULL && xdg[0] == '/') {
        size_t n = strlen(xdg) + sizeof("/trawl.sock");
        if ((*owned = malloc(n)) != NULL) {
            snprintf(*owned, n, "%s%s", xdg,
                     xdg[strlen(xdg) - 1] == '/' ? "trawl.sock"
                                                 : "/trawl.sock");
            return *owned;
        }
    }
    return "./trawl.sock";
}

/* 0 after --help or --version, or 2 if stdout could not take them
 * (trawld --help > /dev/full), as the trawl client does. */
static int flushed_status(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)
            fprintf(stderr, "trawld: cannot write output: %s\n",
                    strerror(errno));
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    trawl_std_fds_open();
    static const struct option opts[] = {
        {"index", required_argument, NULL, 'i'},
        {"socket", required_argument, NULL, 's'},
        {"socket-mode", required_argument, NULL, 'M'},
        {"threads", required_argument, NULL, 't'},
        {"max-request", required_argument, NULL, 'r'},
        {"max-connections", required_argument, NULL, 'c'},
        {"spin-us", required_argument, NULL, 'u'},
        {"idle-timeout", required_argument, NULL, 'I'},
        {"evict-idle", required_argument, NULL, 'E'},
        {"write-timeout", required_argument, NULL, 'w'},
        {"log-level", required_argument, NULL, 'l'},
        {"k1", required_argument, NULL, 'K'},
        {"b", required_argument, NULL, 'B'},
        {"title-weight", required_argument, NULL, 'T'},
        {"body-weight", required_argument, NULL, 'W'},
        {"prox-weight", required_argument, NULL, 'P'},
        {"prox-depth", required_argument, NULL, 'D'},
        {"snippet-length", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    trawld_config cfg = {
        .max_request = 65536,
        .max_connections = 256,
        .spin_us = 50,
        .idle_timeout_s = 300,
        .evict_idle_s = 10,
        .write_timeout_s = 300,
        .socket_mode = 0600,
    };
    trawl_query dq;
    char *owned_socket = NULL;
    unsigned long v;
    server srv;
    int opt, level;

    trawl_query_init(&dq);
    /* getopt's own messages name the program, not the path it ran by */
    static char prog_name[] = "trawld";
    argv[0] = prog_name;
    while ((opt = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            cfg.index_dir = optarg;
            break;
        case 's':
            cfg.socket_path = optarg;
            break;
        case 'M': {
            char *end = NULL;
            errno = 0;
            unsigned long m = strtoul(optarg, &end, 8);
            if (errno != 0 || end == optarg || *end != '\0' || m > 0777 ||
                optarg[0] == '-' || optarg[0] == '+') {
                fprintf(stderr, "trawld: --socket-mode: '%s' is not an octal "
                                "mode such as 600 or 660\n",
                        optarg);
                return 2;
            }
            /* trawld's own user connects to the path at every start, to
             * tell a stale socket (a crash) from a live daemon: without
             * write permission that connect fails and trawld cannot start
             * again after a crash until the file is removed by hand. */
            if ((m & 0600) != 0600) {
                fprintf(stderr, "trawld: --socket-mode: '%s' leaves "
                                "trawld's own user without reading and "
                                "writing the socket, which it needs to "
                                "start again after a crash: use 600, 660 "
                                "or 666\n",
                        optarg);
                return 2;
            }
            cfg.socket_mode = (unsigned)m;
            break;
        }
        case 't':
            if (parse_num("--threads", optarg, 1, 1024, &v) < 0)
                return 2;
            cfg.threads = (unsigned)v;
            break;
        case 'u':
            if (parse_num("--spin-us", optarg, 0, 10000, &v) < 0)
                return 2;
            cfg.spin_us = (unsigned)v;
            break;
        case 'r':
            if (parse_num("--max-request", optarg, 64, 64UL << 20, &v) < 0)
                return 2;
            cfg.max_request = v;
            break;
        case 'c':
            if (parse_num("--max-connections", optarg, 1, 1000000, &v) < 0)
                return 2;
            cfg.max_connections = (unsigned)v;
            break;
        case 'I':
            if (parse_num("--idle-timeout", optarg, 0, MAX_IDLE_S, &v) < 0)
                return 2;
            cfg.idle_timeout_s = (unsigned)v;
            break;
        case 'w':
            if (parse_num("--write-timeout", optarg, 0, MAX_IDLE_S, &v) < 0)
                return 2;
            cfg.write_timeout_s = (unsigned)v;
            break;
        case 'E':
            if (parse_num("--evict-idle", optarg, 0, MAX_IDLE_S, &v) < 0)
                return 2;
            cfg.evict_idle_s = (unsigned)v;
            break;
        case 'l':
            if ((level = log_level_parse(optarg)) < 0) {
                fprintf(stderr, "trawld: unknown log level '%s'\n", optarg);
                return 2;
            }
            log_set_level(level);
            break;
        case 'K':
            if (parse_real("--k1", optarg, 0, PROTO_MAX_K1, &dq.k1) < 0)
                return 2;
            break;
        case 'B':
            if (parse_real("--b", optarg, 0, 1, &dq.b) < 0)
                return 2;
            break;
        case 'T':
            if (parse_real("--title-weight", optarg, 0, PROTO_MAX_WEIGHT,
                           &dq.w_title) < 0)
                return 2;
            break;
        case 'W':
            if (parse_real("--body-weight", optarg, 0, PROTO_MAX_WEIGHT,
                           &dq.w_body) < 0)
                return 2;
            break;
        case 'P':
            if (parse_real("--prox-weight", optarg, 0, PROTO_MAX_WEIGHT,
                           &dq.w_prox) < 0)
                return 2;
            break;
        case 'D':
            if (parse_num("--prox-depth", optarg, 0, TRAWL_MAX_PROX_DEPTH,
                          &v) < 0)
                return 2;
            dq.prox_depth = (uint32_t)v;
            break;
        case 'S':
            if (parse_num("--snippet-length", optarg, 1, PROTO_MAX_SNIPPET_LEN,
                          &v) < 0)
                return 2;
            dq.snippet_len = (uint32_t)v;
            break;
        case 'h':
            usage(stdout);
            return flushed_status();
        case 'V':
            printf("trawld %s\n", TRAWL_VERSION);
            return flushed_status();
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || cfg.index_dir == NULL) {
        fprintf(stderr,
                optind < argc ? "trawld: unexpected argument '%s'\n"
                              : "trawld: --index DIR is required\n",
                argv[optind]);
        usage(stderr);
        return 2;
    }
    /* A missing directory may appear later (trawl-index creates it), but
     * a file (trawld --index corpus.jsonl) never becomes an index: the
     * daemon would wait for one for ever. */
    struct stat ist;
    if (stat(cfg.index_dir, &ist) == 0 ? !S_ISDIR(ist.st_mode)
                                       : errno == ENOTDIR) {
        fprintf(stderr, "trawld: --index %s is not a directory\n",
                cfg.index_dir);
        return 2;
    }
    proto_set_defaults(&dq);
    if (cfg.socket_path == NULL || cfg.socket_path[0] == '\0')
        cfg.socket_path = default_socket(&owned_socket);
    /* libuv's thread pool only opens new generations (queries run on the
     * query loops' threads): one thread is plenty. Read by libuv on the
     * first queued job. */
    setenv("UV_THREADPOOL_SIZE", "1", 0);
    signal(SIGPIPE, SIG_IGN);
    if (guard_install() < 0) {
        fprintf(stderr, "trawld: SIGBUS handler: %s\n", strerror(errno));
        return 1;
    }

    int status = 1;
    if (server_init(&srv, &cfg) == 0)
        status = server_run(&srv);
    free(owned_socket);
    return status;
}

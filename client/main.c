/*
 * trawl: the command-line client of trawld.
 *
 * Speaks the newline-delimited JSON protocol (docs/protocol.md) over a
 * blocking Unix stream socket: one request, one response line. Does not
 * link the core library. Exit status like grep: 0 when the query matched,
 * 1 when it matched nothing, 2 on any error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "trawl/stdfds.h"

#define PROG "trawl"

#ifndef TRAWL_VERSION
#define TRAWL_VERSION "0.1.0"
#endif

enum { EXIT_HITS = 0, EXIT_NOHITS = 1, EXIT_ERROR = 2 };

#define MAX_RESPONSE (64u << 20) /* refuse responses larger than this */
#define MAX_LIMIT 1000

typedef enum { OP_SEARCH, OP_COUNT, OP_PING, OP_STATS, OP_GET } op_kind;

/* Ranking options: the daemon's default when unset (< 0). */
typedef struct rank_opt {
    const char *flag;   /* "--k1" */
    const char *member; /* "k1" */
    double max;
} rank_opt;

static const rank_opt rank_opts[] = {
    { "--k1", "k1", 100 },
    { "--b", "b", 1 },
    { "--title-weight", "title_weight", 1000 },
    { "--body-weight", "body_weight", 1000 },
    { "--prox-weight", "prox_weight", 1000 },
};
#define NRANK (sizeof(rank_opts) / sizeof(rank_opts[0]))

typedef struct opts {
    const char *socket;
    long limit;
    long offset;
    const char *sort;
    int json;
    int snippet;
    int explain;
    int ids;            /* -l: print only the ids */
    int exact_total;
    long snippet_len;   /* 0: the daemon's default */
    long prox_depth;    /* -1: the daemon's default */
    const char *fields; /* comma-separated, or NULL */
    double rank[NRANK];
    int timeout_ms; /* 0: wait for ever */
    op_kind op;
    const char *doc;
    char *query; /* the QUERY words joined by spaces (malloc'd) */
} opts;

/* How text is written to stdout. */
typedef struct out {
    int color;
    int width; /* wrap column */
} out;

#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_HIT "\033[1;31m"
#define C_RESET "\033[0m"

/* ---------------------------------------------------------------- usage */

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTIONS] QUERY...\n"
"       " PROG " [OPTIONS] --ping | --stats | --get ID\n"
"\n"
"Search the trawl index served by trawld. The QUERY words are joined with\n"
"spaces. Options must come before the query; use -- before a query that\n"
"starts with '-'. Quote the query for the shell: trawl '\"north korea\" -japan'\n"
"\n"
"Query syntax (words are case- and accent-folded and stemmed):\n"
"  storm harbor             both words (AND is implied)\n"
"  storm OR flood           either (also ||); OR binds looser: a b OR c =\n"
"                           (a b) OR c\n"
"  storm -ferry             storm but not ferry (also: storm NOT ferry)\n"
"  (storm OR flood) coast   grouping\n"
"  \"harbor master\"          the exact phrase\n"
"  \"storm harbor\"~3         near: each other word within 3+(words-1)\n"
"                           positions of the first, in any order\n"
"  harb*                    words starting with harb (at most 1024 distinct\n"
"                           terms, else an error: use a longer prefix)\n"
"  title:storm  title:\"rail strike\"  body:ferry    one field only\n"
"  title:(storm OR flood)   a field for a group (title:-storm = -title:storm)\n"
"  author:doe  author:\"jane doe\"  -author:doe   by the byline's words\n"
"  site:bbc.co.uk  -site:example.com    by the URL's host or a parent domain\n"
"  date:2024-03             a day, month or year: YYYY-MM-DD, YYYY-MM, YYYY\n"
"  date:2024-01..2024-06    inclusive range; open ends: date:2024..\n"
"                           date:..2024-06\n"
"  after:2024-03-05         on or after that day (inclusive)\n"
"  before:2024-03-05        strictly before that day (exclusive)\n"
"A syntax error is reported with its column (exit status 2).\n"
"\n"
"Options:\n"
"  -s, --socket PATH     daemon socket (default: $TRAWL_SOCKET, else\n"
"                        $XDG_RUNTIME_DIR/trawl.sock, else ./trawl.sock)\n"
"  -n, --limit K         show at most K results, 0..%d (default 10)\n"
"  -o, --offset N        skip the first N results, 0..100000 (default 0)\n"
"      --sort ORDER      score (default), date (newest first) or date_asc\n"
"  -c, --count           print only the number of matching documents\n"
"  -l, --ids             print only the ids of the results, one per line\n"
"      --fields LIST     hit members to ask for, comma-separated: id, title,\n"
"                        date, score, snippet, highlights, author, url\n"
"      --explain         print the query as the daemon parsed and analyzed\n"
"                        it (and the ranking settings), then the results\n"
"      --exact-total     always count every match exactly\n"
"  -j, --json            print the daemon's JSON response (errors too), one\n"
"                        line\n"
"      --no-snippet      do not show snippets\n"
"      --snippet-length BYTES  snippet length, 1..10000\n"
"      --k1 X, --b X     BM25 parameters (0..100, 0..1)\n"
"      --title-weight X, --body-weight X\n"
"                        field weights, 0..1000\n"
"      --prox-weight X   proximity weight, 0..1000 (0 turns it off)\n"
"      --prox-depth N    add proximity to the N best BM25F matches,\n"
"                        0..100000 (0: to every match)\n"
"                        (ranking defaults: those of trawld)\n"
"      --timeout SEC     give up waiting for the daemon after SEC seconds,\n"
"                        0..3600, 0.5 too (default 30; 0: wait for ever)\n"
"      --ping            check that the daemon answers\n"
"      --stats           show index and daemon statistics\n"
"      --get ID          show the stored article with this id\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"Colors are used only when stdout is a terminal, NO_COLOR is unset or\n"
"empty and TERM is set, not empty and not \"dumb\".\n"
"Exit status: 0 when something matched (or the request succeeded), 1 when\n"
"nothing matched (or --get found no article with that id), 2 on an\n"
"error.\n", MAX_LIMIT);
}

static void exit_flushed(void) __attribute__((noreturn));

/* Exit 0 after --help or --version, or 2 if stdout could not take them
 * (trawl --help > /dev/full), as after the results. */
static void exit_flushed(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)
            fprintf(stderr, PROG ": cannot write output: %s\n",
                    strerror(errno));
        exit(EXIT_ERROR);
    }
    exit(0);
}

static void die_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void die_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '" PROG " --help' for more information.\n");
    exit(EXIT_ERROR);
}

static long parse_long(const char *s, const char *what, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        die_usage("%s wants a number from %ld to %ld, not '%s'", what, min,
                  max, s);
    return v;
}

static double parse_double(const char *s, const char *what, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 0 && v <= max))
        die_usage("%s wants a number from 0 to %g, not '%s'", what, max, s);
    return v;
}

static char *join_words(char **words, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += strlen(words[i]) + 1;
    char *q = malloc(len + 1);
    if (q == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        exit(EXIT_ERROR);
    }
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        size_t m = strlen(words[i]);
        if (i > 0)
            q[o++] = ' ';
        memcpy(q + o, words[i], m);
        o += m;
    }
    q[o] = '\0';
    return q;
}

static void parse_args(opts *o, int argc, char **argv)
{
    enum {
        O_SORT = 256, O_NO_SNIPPET, O_PING, O_STATS, O_GET, O_TIMEOUT,
        O_FIELDS, O_EXPLAIN, O_EXACT, O_SNIPLEN, O_PROXDEPTH,
        O_RANK /* + index */
    };
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 's' },
        { "limit", required_argument, NULL, 'n' },
        { "offset", required_argument, NULL, 'o' },
        { "sort", required_argument, NULL, O_SORT },
        { "count", no_argument, NULL, 'c' },
        { "ids", no_argument, NULL, 'l' },
        { "fields", required_argument, NULL, O_FIELDS },
        { "explain", no_argument, NULL, O_EXPLAIN },
        { "exact-total", no_argument, NULL, O_EXACT },
        { "snippet-length", required_argument, NULL, O_SNIPLEN },
        { "k1", required_argument, NULL, O_RANK + 0 },
        { "b", required_argument, NULL, O_RANK + 1 },
        { "title-weight", required_argument, NULL, O_RANK + 2 },
        { "body-weight", required_argument, NULL, O_RANK + 3 },
        { "prox-weight", required_argument, NULL, O_RANK + 4 },
        { "prox-depth", required_argument, NULL, O_PROXDEPTH },
        { "json", no_argument, NULL, 'j' },
        { "no-snippet", no_argument, NULL, O_NO_SNIPPET },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "ping", no_argument, NULL, O_PING },
        { "stats", no_argument, NULL, O_STATS },
        { "get", required_argument, NULL, O_GET },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int nops = 0;
    int c;

    memset(o, 0, sizeof(*o));
    o->limit = 10;
    o->sort = "score";
    o->snippet = 1;
    o->timeout_ms = 30000;
    o->op = OP_SEARCH;
    for (size_t i = 0; i < NRANK; i++)
        o->rank[i] = -1;
    o->prox_depth = -1;

    /* getopt names the program by argv[0] in its messages: the name, not
     * the path it was run by. */
    static char prog_name[] = PROG;
    argv[0] = prog_name;
    /* "+": stop at the first query word, so "-word" in a query is not
     * taken for an option. */
    while ((c = getopt_long(argc, argv, "+s:n:o:cljhV", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 's':
            o->socket = optarg;
            break;
        case 'n':
            o->limit = parse_long(optarg, "--limit", 0, MAX_LIMIT);
            break;
        case 'o':
            o->offset = parse_long(optarg, "--offset", 0, 100000);
            break;
        case O_SORT:
            if (strcmp(optarg, "score") != 0 && strcmp(optarg, "date") != 0 &&
                strcmp(optarg, "date_asc") != 0)
                die_usage("--sort wants score, date or date_asc, not '%s'",
                          optarg);
            o->sort = optarg;
            break;
        case 'c':
            o->op = OP_COUNT;
            break;
        case 'l':
            o->ids = 1;
            break;
        case O_FIELDS:
            o->fields = optarg;
            break;
        case O_EXPLAIN:
            o->explain = 1;
            break;
        case O_EXACT:
            o->exact_total = 1;
            break;
        case O_PROXDEPTH:
            o->prox_depth = parse_long(optarg, "--prox-depth", 0, 100000);
            break;
        case O_SNIPLEN:
            o->snippet_len = parse_long(optarg, "--snippet-length", 1, 10000);
            break;
        case 'j':
            o->json = 1;
            break;
        case O_NO_SNIPPET:
            o->snippet = 0;
            break;
        case O_TIMEOUT: {
            /* seconds, a fraction too (0.5): a script's deadline */
            double v = parse_double(optarg, "--timeout", 3600);
            o->timeout_ms = (int)(v * 1000 + 0.5);
            if (v > 0 && o->timeout_ms == 0)
                o->timeout_ms = 1;
            break;
        }
        case O_PING:
            o->op = OP_PING;
            nops++;
            break;
        case O_STATS:
            o->op = OP_STATS;
            nops++;
            break;
        case O_GET:
            o->op = OP_GET;
            o->doc = optarg;
            nops++;
            break;
        case 'h':
            usage(stdout);
            exit_flushed();
        case 'V':
            printf(PROG " %s\n", TRAWL_VERSION);
            exit_flushed();
        default:
            if (c >= O_RANK && c < O_RANK + (int)NRANK) {
                const rank_opt *r = &rank_opts[c - O_RANK];
                o->rank[c - O_RANK] = parse_double(optarg, r->flag, r->max);
                break;
            }
            /* "trawl -japan korea": an exclusion taken for options */
            for (int i = optind > 1 ? optind - 1 : 1; i <= optind && i < argc;
                 i++) {
                const char *w = argv[i];
                int word = w[0] == '-' && w[1] != '-' && w[1] != '\0' &&
                           w[2] != '\0';
                for (size_t k = 1; word && w[k] != '\0'; k++)
                    word = (unsigned char)w[k] >= 0x80 ||
                           (w[k] >= 'a' && w[k] <= 'z') ||
                           (w[k] >= 'A' && w[k] <= 'Z');
                if (word) {
                    fprintf(stderr, PROG ": to search for a query that "
                            "starts with an exclusion, put -- before it: "
                            PROG " -- %s ...\n", w);
                    break;
                }
            }
            fprintf(stderr, "Try '" PROG " --help' for more information.\n");
            exit(EXIT_ERROR);
        }
    }
    if (o->ids && o->op == OP_COUNT)
        die_usage("%s", "use only one of -c and -l");
    if (o->ids && o->fields != NULL)
        die_usage("%s", "-l prints only ids; it takes no --fields");
    if (nops > 1)
        die_usage("%s", "use only one of --ping, --stats and --get");
    if (nops == 1) {
        if (optind < argc)
            die_usage("unexpected query '%s' with --ping, --stats or --get",
                      argv[optind]);
        return;
    }
    if (optind >= argc)
        die_usage("%s", "no query given");
    /* An option after the query words ("trawl korea -n 5") would silently
     * become part of the query (korea, not n, 5): refused, unless a "--"
     * says the query is meant as it is. */
    if (strcmp(argv[optind - 1], "--") != 0) {
        for (int i = optind; i < argc; i++) {
            const char *w = argv[i];
            int is_opt = w[0] == '-' && w[1] != '\0' && w[2] == '\0' &&
                         strchr("snocljhV", w[1]) != NULL;
            if (w[0] == '-' && w[1] == '-' && w[2] != '\0') {
                size_t n = strcspn(w + 2, "=");
                for (int k = 0; longopts[k].name != NULL && !is_opt; k++)
                    is_opt = strlen(longopts[k].name) == n &&
                             strncmp(longopts[k].name, w + 2, n) == 0;
            }
            if (is_opt)
                die_usage("option '%s' after the query: options go before "
                          "the query words (put -- before a query that "
                          "means it as a word)", w);
        }
    }
    o->query = join_words(argv + optind, argc - optind);
    if (strspn(o->query, " \t") == strlen(o->query))
        die_usage("%s", "the query is empty");
}

/* --socket, else $TRAWL_SOCKET, else $XDG_RUNTIME_DIR/trawl.sock, else
 * ./trawl.sock. Returns a malloc'd string. */
static char *socket_path(const opts *o)
{
    const char *s = o->socket;
    char *p;

    if (s == NULL || s[0] == '\0')
        s = getenv("TRAWL_SOCKET");
    if (s != NULL && s[0] != '\0') {
        p = strdup(s);
    } else {
        /* A relative $XDG_RUNTIME_DIR is invalid (the XDG Base Directory
         * specification says to ignore it), as in trawld. */
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        if (xdg != NULL && xdg[0] == '/') {
            size_t n = strlen(xdg) + sizeof("/trawl.sock");
            p = malloc(n);
            if (p != NULL)
                snprintf(p, n, "%s%s", xdg,
                         xdg[strlen(xdg) - 1] == '/' ? "trawl.sock"
                                                     : "/trawl.sock");
        } else {
            p = strdup("./trawl.sock");
        }
    }
    if (p == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        exit(EXIT_ERROR);
    }
    return p;
}

/* ------------------------------------------------------------- transport */

static int connect_to(const char *path, int timeout_ms)
{
    struct sockaddr_un sa;
    size_t n = strlen(path);

    if (n >= sizeof(sa.sun_path)) {
        fprintf(stderr, PROG ": socket path too long (%zu bytes, at most %zu): "
                "%s\n", n, sizeof(sa.sun_path) - 1, path);
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, n + 1);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, PROG ": socket: %s\n", strerror(errno));
        return -1;
    }
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    if (rc < 0 && errno == EINTR) {
        /* The connection goes on in the background: wait for it. */
        struct pollfd pfd = { fd, POLLOUT, 0 };
        int e = 0;
        socklen_t elen = sizeof(e);
        do {
            rc = poll(&pfd, 1, timeout_ms > 0 ? timeout_ms : -1);
        } while (rc < 0 && errno == EINTR);
        if (rc == 0)
            e = ETIMEDOUT;
        else if (rc < 0)
            e = errno;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
            e = errno;
        errno = e;
        rc = e ? -1 : 0;
    }
    if (rc < 0) {
        int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT) {
            /* A full backlog: the daemon is alive but not accepting. */
            fprintf(stderr, PROG ": cannot connect to %s: trawld accepted "
                    "no connection within %g s (too many clients, out of "
                    "file descriptors, or stopped)\n", path,
                    timeout_ms / 1000.0);
            close(fd);
            return -1;
        }
        struct stat st;
        int kind = e == ECONNREFUSED && stat(path, &st) == 0 &&
                           !S_ISSOCK(st.st_mode)
                       ? (S_ISDIR(st.st_mode) ? 'd' : 'f')
                       : 0;
        if (kind != 0) {
            /* trawl -s IDX_DIR, or a file given for the socket: connect()
             * says "Connection refused", as if trawld had stopped. */
            fprintf(stderr, PROG ": cannot connect to %s: it is a %s, not "
                    "a socket (--socket names the socket trawld listens "
                    "on, not its index)\n", path,
                    kind == 'd' ? "directory" : "file");
            close(fd);
            return -1;
        }
        fprintf(stderr, PROG ": cannot connect to %s: %s", path, strerror(e));
        if (e == ENOENT || e == ECONNREFUSED)
            fprintf(stderr, " (is trawld running? start it with: "
                    "trawld --index DIR --socket %s)", path);
        else if (e == EACCES)
            fprintf(stderr, " (trawld's socket has mode 0600: only the "
                    "user running trawld can connect)");
        fprintf(stderr, "\n");
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                fprintf(stderr, PROG ": timed out sending the request\n");
            else
                fprintf(stderr, PROG ": cannot send the request: %s\n",
                        strerror(errno));
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read one response line (without its newline) into *out (malloc'd). */
static int recv_line(int fd, int timeout_ms, char **line_out, size_t *out_len)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);

    if (buf == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_RESPONSE) {
                fprintf(stderr, PROG ": response larger than %u MB; "
                        "ask for fewer results with -n\n", MAX_RESPONSE >> 20);
                free(buf);
                return -1;
            }
            char *p = realloc(buf, cap * 2);
            if (p == NULL) {
                fprintf(stderr, PROG ": out of memory\n");
                free(buf);
                return -1;
            }
            buf = p;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                fprintf(stderr, PROG ": no answer from trawld within %g s\n",
                        timeout_ms / 1000.0);
            else
                fprintf(stderr, PROG ": cannot read the response: %s\n",
                        strerror(errno));
            free(buf);
            return -1;
        }
        if (n == 0) {
            fprintf(stderr, PROG ": trawld closed the connection without "
                    "a complete answer\n");
            free(buf);
            return -1;
        }
        char *nl = memchr(buf + len, '\n', (size_t)n);
        len += (size_t)n;
        if (nl != NULL) {
            *nl = '\0';
            *out_len = (size_t)(nl - buf);
            *line_out = buf;
            return 0;
        }
    }
}

/* ------------------------------------------------------------ formatting */

/* Length of the UTF-8 sequence starting at s (1 for an invalid byte) and
 * its code point in *cp (-1 if invalid). */
static size_t utf8_next(const unsigned char *s, size_t len, long *cp)
{
    unsigned char c = s[0];
    size_t n;
    long v;

    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
    } else {
        *cp = -1;
        return 1;
    }
    if (n > len) {
        *cp = -1;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = -1;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return n;
}

/* Columns a code point takes on a terminal (rough: wide East Asian = 2,
 * combining marks = 0). */
static int cp_width(long cp)
{
    if (cp < 0)
        return 1;
    if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F))
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) ||
        (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

/* Is the code point a control character that must not reach a terminal? */
static int is_control(long cp)
{
    return cp < 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

/* Write s[0..len) with control characters (except those in keep) shown
 * as '?'; returns the columns used. */
static int put_clean(const char *s, size_t len, const char *keep)
{
    const unsigned char *u = (const unsigned char *)s;
    int cols = 0;
    size_t i = 0;

    while (i < len) {
        long cp;
        size_t n = utf8_next(u + i, len - i, &cp);
        if (is_control(cp) && !(cp > 0 && cp < 0x80 && keep &&
                                strchr(keep, (int)cp))) {
            fputc('?', stdout);
            cols++;
        } else {
            fwrite(s + i, 1, n, stdout);
            cols += cp_width(cp);
        }
        i += n;
    }
    return cols;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

typedef struct range {
    size_t start, end;
} range;

static int range_cmp(const void *a, const void *b)
{
    const range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Print text[p..we) with the byte ranges in hl (sorted) highlighted;
 * *h is the first range that may still matter, kept across calls. */
static void put_lit(const out *o, const char *text, size_t p, size_t we,
                    const range *hl, size_t nhl, size_t *h)
{
    const unsigned char *u = (const unsigned char *)text;

    /* Emit the text in pieces, switching color at range edges. */
    while (p < we) {
        while (*h < nhl && hl[*h].end <= p)
            (*h)++;
        int lit = *h < nhl && hl[*h].start <= p;
        size_t q = we;
        if (lit && hl[*h].end < q)
            q = hl[*h].end;
        if (!lit && *h < nhl && hl[*h].start < q)
            q = hl[*h].start;
        /* Never split a UTF-8 sequence. */
        while (q < we && (u[q] & 0xC0) == 0x80)
            q++;
        if (lit && o->color)
            fputs(C_HIT, stdout);
        put_clean(text + p, q - p, NULL);
        if (lit && o->color)
            fputs(C_RESET, stdout);
        p = q;
    }
}

/*
 * Print text word-wrapped to o->width, every line indented by indent
 * columns, with the byte ranges in hl (sorted) highlighted. Runs of white
 * space become one space. A word of wide characters wider than a whole
 * line (Chinese or Japanese text has no spaces) is broken between
 * characters, so that the terminal does not wrap it past the
 * indentation.
 */
static void put_wrapped(const out *o, const char *text, size_t len,
                        const range *hl, size_t nhl, int indent)
{
    const unsigned char *u = (const unsigned char *)text;
    int col = indent;
    size_t h = 0; /* first highlight that may still matter */
    size_t i = 0;

    printf("%*s", indent, "");
    while (i < len) {
        while (i < len && is_space(u[i]))
            i++;
        if (i == len)
            break;
        size_t ws = i;
        int wcols = 0, wide = 0;
        while (i < len && !is_space(u[i])) {
            long cp;
            i += utf8_next(u + i, len - i, &cp);
            int cw = is_control(cp) ? 1 : cp_width(cp);
            wcols += cw;
            wide |= cw == 2;
        }
        size_t we = i;

        /* Chinese or Japanese text wider than a line breaks between its
         * characters; a long URL stays whole (the terminal folds it, and
         * copying it keeps it one piece). */
        if (wide && wcols > o->width - indent) {
            if (col > indent) {
                fputc(' ', stdout);
                col++;
            }
            for (size_t p = ws; p < we;) {
                /* The characters that fit in the rest of this line (at
                 * least one on a line of its own). */
                size_t q = p;
                int pcols = 0;
                while (q < we) {
                    long cp;
                    size_t n = utf8_next(u + q, we - q, &cp);
                    int cw = is_control(cp) ? 1 : cp_width(cp);
                    if (col + pcols + cw > o->width &&
                        (q > p || col > indent))
                        break;
                    pcols += cw;
                    q += n;
                }
                put_lit(o, text, p, q, hl, nhl, &h);
                col += pcols;
                p = q;
                if (p < we) {
                    printf("\n%*s", indent, "");
                    col = indent;
                }
            }
            continue;
        }

        if (col > indent && col + 1 + wcols > o->width) {
            printf("\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', stdout);
            col++;
        }
        put_lit(o, text, ws, we, hl, nhl, &h);
        col += wcols;
    }
    fputc('\n', stdout);
}

static void put_styled(const out *o, const char *style, const char *s)
{
    if (o->color)
        fputs(style, stdout);
    put_clean(s, strlen(s), NULL);
    if (o->color)
        fputs(C_RESET, stdout);
}

/* "1,234,567" */
static const char *fmt_count(json_int_t v, char *buf, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof(digits), "%" JSON_INTEGER_FORMAT, v);
    size_t o = 0;
    int i = 0;

    if (digits[0] == '-' && o + 1 < cap) {
        buf[o++] = '-';
        i = 1;
    }
    for (int first = i; i < n && o + 2 < cap; i++) {
        if (i > first && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *fmt_bytes(double v, char *buf, size_t cap)
{
    static const char *units[] = { "KB", "MB", "GB", "TB" };
    int u = -1;

    if (v < 1024) {
        snprintf(buf, cap, "%.0f B", v);
        return buf;
    }
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, "%.1f %s", v, units[u]);
    return buf;
}

static const char *fmt_us(double us, char *buf, size_t cap)
{
    if (us < 1000)
        snprintf(buf, cap, "%.0f us", us);
    else if (us < 1e6)
        snprintf(buf, cap, "%.2f ms", us / 1e3);
    else
        snprintf(buf, cap, "%.2f s", us / 1e6);
    return buf;
}

static json_int_t get_int(const json_t *obj, const char *key, json_int_t dflt)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v))
        return (json_int_t)json_real_value(v);
    return dflt;
}

static double get_num(const json_t *obj, const char *key, double dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

/*
 * A NUL inside a string (JSON allows "\u0000"; an index built from a
 * binary file by an older trawl-index holds them) would cut the string
 * short where it is printed: it becomes '?', as other control characters
 * are shown, so byte offsets (highlights) stay right.
 */
static void scrub_nul(json_t *v)
{
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        const char *s = json_string_value(v);
        if (memchr(s, '\0', n) == NULL)
            return;
        char *t = malloc(n + 1);
        if (t == NULL)
            return;
        for (size_t i = 0; i < n; i++)
            t[i] = s[i] == '\0' ? '?' : s[i];
        json_string_setn_nocheck(v, t, n);
        free(t);
    } else if (json_is_object(v)) {
        const char *key;
        json_t *m;
        json_object_foreach(v, key, m)
            scrub_nul(m);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
            scrub_nul(m);
    }
}

static const char *get_str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ------------------------------------------------------------ renderers */

static int show_hit(const out *o, const json_t *hit, long rank, int rank_w,
                    int snippets)
{
    const char *title = get_str(hit, "title");
    const char *id = get_str(hit, "id");
    const char *date = get_str(hit, "date");
    const char *author = get_str(hit, "author");
    const char *url = get_str(hit, "url");
    json_t *score = json_object_get(hit, "score");
    /* An empty byline or URL (a CSV's empty column, HuffPost's "authors":
     * "") is none: not "by " and nothing. */
    if (author != NULL && author[0] == '\0')
        author = NULL;
    if (url != NULL && url[0] == '\0')
        url = NULL;
    /* Without a title member (--fields), the id is the heading. */
    int titled = json_object_get(hit, "title") != NULL;
    int indent = rank_w + 2;
    char meta[64];

    printf("%*ld. ", rank_w, rank);
    if (titled)
        put_styled(o, C_BOLD, title && title[0] ? title : "(untitled)");
    else
        put_styled(o, C_BOLD, id ? id : "?");
    fputc('\n', stdout);

    if (titled || date != NULL || json_is_number(score)) {
        printf("%*s", indent, "");
        if (o->color)
            fputs(C_DIM, stdout);
        const char *sep = "";
        if (titled) {
            put_clean(id ? id : "?", id ? strlen(id) : 1, NULL);
            sep = "  ";
        }
        if (date != NULL) {
            fputs(sep, stdout);
            put_clean(date, strlen(date), NULL);
            sep = "  ";
        }
        if (json_is_number(score)) {
            snprintf(meta, sizeof(meta), "%sscore %.2f", sep,
                     json_number_value(score));
            fputs(meta, stdout);
        }
        if (o->color)
            fputs(C_RESET, stdout);
        fputc('\n', stdout);
    }
    if (author != NULL || url != NULL) {
        printf("%*s", indent, "");
        if (o->color)
            fputs(C_DIM, stdout);
        if (author != NULL) {
            fputs("by ", stdout);
            put_clean(author, strlen(author), NULL);
        }
        if (url != NULL) {
            fputs(author != NULL ? "  " : "", stdout);
            put_clean(url, strlen(url), NULL);
        }
        if (o->color)
            fputs(C_RESET, stdout);
        fputc('\n', stdout);
    }

    const char *snip = get_str(hit, "snippet");
    if (snippets && snip != NULL && snip[0] != '\0') {
        size_t len = json_string_length(json_object_get(hit, "snippet"));
        json_t *hls = json_object_get(hit, "highlights");
        size_t nhl = json_is_array(hls) ? json_array_size(hls) : 0;
        range *r = nhl ? calloc(nhl, sizeof(*r)) : NULL;
        size_t k = 0;
        for (size_t i = 0; r != NULL && i < nhl; i++) {
            json_t *pair = json_array_get(hls, i);
            json_t *a = json_array_get(pair, 0), *b = json_array_get(pair, 1);
            if (!json_is_integer(a) || !json_is_integer(b))
                continue;
            json_int_t s = json_integer_value(a), e = json_integer_value(b);
            if (s < 0 || e <= s || (size_t)s >= len)
                continue;
            r[k].start = (size_t)s;
            r[k].end = (size_t)e > len ? len : (size_t)e;
            k++;
        }
        if (k > 1)
            qsort(r, k, sizeof(*r), range_cmp);
        put_wrapped(o, snip, len, r, k, indent);
        free(r);
    }
    return 0;
}

/* --explain: the parsed query and the settings it ran with. */
static void show_explain(const out *o, const json_t *resp)
{
    json_t *ex = json_object_get(resp, "explain");
    const char *parsed = get_str(ex, "parsed");
    static const struct {
        const char *key, *label;
    } knobs[] = {
        { "k1", "k1" },
        { "b", "b" },
        { "title_weight", "title" },
        { "body_weight", "body" },
        { "prox_weight", "proximity" },
        { "prox_depth", "depth" },
    };

    if (!json_is_object(ex))
        return;
    put_styled(o, C_DIM, "query:   ");
    put_clean(parsed ? parsed : "?", parsed ? strlen(parsed) : 1, NULL);
    fputc('\n', stdout);
    if (json_object_get(ex, "k1") == NULL)
        return;
    put_styled(o, C_DIM, "ranking:");
    const char *sort = get_str(ex, "sort");
    for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
        printf(" %s %g%s", knobs[i].label, get_num(ex, knobs[i].key, 0),
               i + 1 < sizeof(knobs) / sizeof(knobs[0]) ? "," : "");
    if (sort != NULL) {
        fputs("; sort ", stdout);
        put_clean(sort, strlen(sort), NULL);
    }
    fputc('\n', stdout);
}

/* -l: one id per line. */
static int show_ids(const json_t *resp)
{
    json_t *hits = json_object_get(resp, "hits");
    size_t n = json_is_array(hits) ? json_array_size(hits) : 0;

    for (size_t i = 0; i < n; i++) {
        json_t *id = json_object_get(json_array_get(hits, i), "id");
        if (!json_is_string(id))
            continue;
        put_clean(json_string_value(id), json_string_length(id), NULL);
        fputc('\n', stdout);
    }
    return get_int(resp, "total", (json_int_t)n) > 0 ? EXIT_HITS
                                                     : EXIT_NOHITS;
}

static int show_search(const out *o, const opts *op, const json_t *resp)
{
    json_t *hits = json_object_get(resp, "hits");
    json_int_t total = get_int(resp, "total", -1);
    json_t *exact = json_object_get(resp, "total_exact");
    size_t n = json_is_array(hits) ? json_array_size(hits) : 0;
    char tb[32], took[32];

    if (total < 0)
        total = (json_int_t)n;
    const char *prefix = json_is_false(exact) ? "at least " : "";
    fmt_count(total, tb, sizeof(tb));
    if (n > 0)
        printf("%s%s result%s (showing %ld-%ld)", prefix, tb,
               total == 1 ? "" : "s", op->offset + 1,
               op->offset + (long)n);
    else if (total > 0 && op->limit > 0)
        printf("%s%s result%s (none past offset %ld)", prefix, tb,
               total == 1 ? "" : "s", op->offset);
    else
        printf("%s%s result%s", prefix, tb, total == 1 ? "" : "s");
    json_t *t = json_object_get(resp, "took_us");
    if (json_is_number(t)) {
        if (o->color)
            fputs(C_DIM, stdout);
        printf(" in %s", fmt_us(json_number_value(t), took, sizeof(took)));
        if (o->color)
            fputs(C_RESET, stdout);
    }
    fputc('\n', stdout);

    long last = op->offset + (long)n;
    int rank_w = snprintf(NULL, 0, "%ld", last);
    if (rank_w < 2)
        rank_w = 2;
    for (size_t i = 0; i < n; i++) {
        fputc('\n', stdout);
        show_hit(o, json_array_get(hits, i), op->offset + 1 + (long)i, rank_w,
                 op->snippet);
    }
    return total > 0 ? EXIT_HITS : EXIT_NOHITS;
}

static int show_stats(const out *o, const char *path, const json_t *r)
{
    char a[32], b[32], c[32], d[32], e[32];
    json_t *lat = json_object_get(r, "latency_us");
    const char *lang = get_str(r, "language");
    const char *rel = get_str(r, "last_reload_error");
    json_int_t segs = get_int(r, "segments", 0);

    printf("trawld at ");
    put_styled(o, C_BOLD, path);
    printf("\n");
    if (json_is_null(json_object_get(r, "generation")))
        /* None yet, or one that cannot be served (unreadable, damaged):
         * the reload error below says which. */
        printf("  index     %s\n", rel == NULL || strstr(rel, "no CURRENT")
                                        ? "no index loaded yet"
                                        : "none served (see the error "
                                          "below)");
    else
        printf("  index     generation %" JSON_INTEGER_FORMAT ", %s documents, "
               "%s terms, %s tokens, %" JSON_INTEGER_FORMAT " segment%s, "
               "%s, %s\n",
               get_int(r, "generation", 0),
               fmt_count(get_int(r, "docs", 0), a, sizeof(a)),
               fmt_count(get_int(r, "terms", 0), b, sizeof(b)),
               fmt_count(get_int(r, "tokens", 0), c, sizeof(c)), segs,
               segs == 1 ? "" : "s", lang ? lang : "?",
               fmt_bytes(get_num(r, "index_bytes", 0), d, sizeof(d)));
    /* An index updated by many runs: what a merge would reclaim (and
     * what still counts in the scores' statistics). */
    json_int_t del = get_int(r, "deleted", 0);
    if (del > 0)
        printf("            %s replaced or deleted document%s not merged "
               "away yet (trawl-index --merge)\n",
               fmt_count(del, a, sizeof(a)), del == 1 ? "" : "s");
    json_int_t conns = get_int(r, "connections", 0);
    printf("  daemon    up %.1f s, %s queries, %s errors, %s connection%s\n",
           get_num(r, "uptime_s", 0),
           fmt_count(get_int(r, "queries", 0), a, sizeof(a)),
           fmt_count(get_int(r, "errors", 0), b, sizeof(b)),
           fmt_count(conns, c, sizeof(c)), conns == 1 ? "" : "s");
    if (json_is_object(lat))
        printf("  latency   p50 %s, p95 %s, p99 %s\n",
               fmt_us(get_num(lat, "p50", 0), a, sizeof(a)),
               fmt_us(get_num(lat, "p95", 0), d, sizeof(d)),
               fmt_us(get_num(lat, "p99", 0), e, sizeof(e)));
    if (rel != NULL) {
        printf("  last reload error: ");
        put_clean(rel, strlen(rel), NULL);
        printf("\n");
    }
    return EXIT_HITS;
}

static int show_doc(const out *o, const json_t *resp)
{
    json_t *doc = json_object_get(resp, "doc");
    static const char *fields[] = { "id", "date", "author", "url" };
    const char *title = get_str(doc, "title");
    const char *body = get_str(doc, "body");

    put_styled(o, C_BOLD, title && title[0] ? title : "(untitled)");
    printf("\n");
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *v = get_str(doc, fields[i]);
        if (v == NULL || (i > 0 && v[0] == '\0'))
            continue; /* an empty author or url is none */
        if (o->color)
            fputs(C_DIM, stdout);
        printf("%-7s ", fields[i]);
        if (o->color)
            fputs(C_RESET, stdout);
        put_clean(v, strlen(v), NULL);
        printf("\n");
    }
    if (body != NULL) {
        size_t len = json_string_length(json_object_get(doc, "body"));
        printf("\n");
        put_clean(body, len, "\n\t");
        if (len > 0 && body[len - 1] != '\n')
            printf("\n");
    }
    return EXIT_HITS;
}

/* ------------------------------------------------------------------ main */

/* "title,date" -> ["title","date"] (empty items are skipped). */
static json_t *split_fields(const char *list)
{
    json_t *a = json_array();
    const char *p = list;

    while (a != NULL && *p != '\0') {
        size_t n = strcspn(p, ", ");
        json_t *name = n > 0 ? json_stringn(p, n) : NULL;
        if (n > 0 && name == NULL)
            die_usage("%s", "--fields is not valid UTF-8");
        if (name != NULL)
            json_array_append_new(a, name);
        p += n;
        p += strspn(p, ", ");
    }
    return a;
}

static json_t *build_request(const opts *o)
{
    json_t *req = json_object();
    if (req == NULL)
        return NULL;
    json_object_set_new(req, "id", json_integer(1));
    switch (o->op) {
    case OP_SEARCH:
    case OP_COUNT: {
        json_t *q = json_string(o->query);
        if (q == NULL) {
            fprintf(stderr, PROG ": the query is not valid UTF-8\n");
            json_decref(req);
            exit(EXIT_ERROR);
        }
        json_object_set_new(req, "op",
                            json_string(o->op == OP_COUNT ? "count"
                                                          : "search"));
        json_object_set_new(req, "q", q);
        if (o->explain)
            json_object_set_new(req, "explain", json_true());
        if (o->op == OP_SEARCH) {
            json_object_set_new(req, "limit", json_integer(o->limit));
            json_object_set_new(req, "offset", json_integer(o->offset));
            json_object_set_new(req, "sort", json_string(o->sort));
            json_object_set_new(req, "snippet",
                                json_boolean(o->snippet && !o->ids));
            if (o->snippet_len > 0)
                json_object_set_new(req, "snippet_length",
                                    json_integer(o->snippet_len));
            if (o->exact_total)
                json_object_set_new(req, "exact_total", json_true());
            if (o->prox_depth >= 0)
                json_object_set_new(req, "prox_depth",
                                    json_integer(o->prox_depth));
            for (size_t i = 0; i < NRANK; i++)
                if (o->rank[i] >= 0)
                    json_object_set_new(req, rank_opts[i].member,
                                        json_real(o->rank[i]));
            if (o->ids)
                json_object_set_new(req, "fields", split_fields("id"));
            else if (o->fields != NULL)
                json_object_set_new(req, "fields", split_fields(o->fields));
        }
        break;
    }
    case OP_PING:
        json_object_set_new(req, "op", json_string("ping"));
        break;
    case OP_STATS:
        json_object_set_new(req, "op", json_string("stats"));
        break;
    case OP_GET: {
        json_t *d = json_string(o->doc);
        if (d == NULL) {
            fprintf(stderr, PROG ": the document id is not valid UTF-8\n");
            json_decref(req);
            exit(EXIT_ERROR);
        }
        json_object_set_new(req, "op", json_string("get"));
        json_object_set_new(req, "doc", d);
        break;
    }
    }
    return req;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    trawl_std_fds_open();
    opts o;
    out ot;

    parse_args(&o, argc, argv);

    /* Colors as no-color.org and grep --color=auto decide: a terminal,
     * NO_COLOR unset or empty, and a TERM that is set and not "dumb"
     * (Emacs' shell, some CI logs and editors' consoles). */
    const char *nc = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    int tty = isatty(STDOUT_FILENO);
    ot.color = tty && (nc == NULL || nc[0] == '\0') && term != NULL &&
               term[0] != '\0' && strcmp(term, "dumb") != 0;
    ot.width = 80;
    if (tty) {
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
            ot.width = ws.ws_col > 100 ? 100 : ws.ws_col;
        if (ot.width < 40)
            ot.width = 40;
    }

    json_t *req = build_request(&o);
    char *line = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (line == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_ERROR;
    }
    size_t llen = strlen(line);
    line = realloc(line, llen + 2);
    if (line == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_ERROR;
    }
    line[llen++] = '\n';
    line[llen] = '\0';

    char *path = socket_path(&o);
    double t0 = now_us();
    int fd = connect_to(path, o.timeout_ms);
    if (fd < 0) {
        free(line);
        free(path);
        free(o.query);
        return EXIT_ERROR;
    }
    char *resp_text = NULL;
    size_t resp_len = 0;
    int rc = send_all(fd, line, llen);
    if (rc == 0)
        rc = recv_line(fd, o.timeout_ms, &resp_text, &resp_len);
    close(fd);
    free(line);
    if (rc < 0) {
        free(path);
        free(o.query);
        return EXIT_ERROR;
    }
    double rtt = now_us() - t0;

    json_error_t jerr;
    json_t *resp = json_loadb(resp_text, resp_len, JSON_ALLOW_NUL, &jerr);
    scrub_nul(resp);
    if (!json_is_object(resp)) {
        fprintf(stderr, PROG ": trawld sent a response that is not a JSON "
                "object: %s\n", resp ? "wrong type" : jerr.text);
        json_decref(resp);
        free(resp_text);
        free(path);
        free(o.query);
        return EXIT_ERROR;
    }
    if (o.json) {
        fwrite(resp_text, 1, resp_len, stdout);
        fputc('\n', stdout);
    }

    int exit_code;
    json_t *okv = json_object_get(resp, "ok");
    if (!json_is_true(okv)) {
        json_t *err = json_object_get(resp, "error");
        const char *code = get_str(err, "code");
        const char *msg = get_str(err, "message");
        fprintf(stderr, PROG ": %s: %s\n", code ? code : "error",
                msg ? msg : "(no message)");
        /* No index at all, or one that cannot be served (damaged, of
         * another version): the message says which. */
        if (code != NULL && strcmp(code, "no_index") == 0) {
            if (msg == NULL || strstr(msg, "no CURRENT") != NULL ||
                strstr(msg, "loaded yet") != NULL)
                fprintf(stderr, PROG ": build an index with: trawl-index "
                        "--index DIR PATH...\n");
            else if (strstr(msg, "Permission denied") != NULL)
                /* The index is there, trawld's user may not read it
                 * (trawl-index ran as another user with umask 077):
                 * rebuilding would not help. */
                fprintf(stderr, PROG ": the user trawld runs as cannot "
                        "read the index: make it readable (chmod -R a+rX "
                        "DIR) or run trawld as the user who built it\n");
            else
                fprintf(stderr, PROG ": run trawl-index --index DIR PATH... "
                        "again to rebuild it\n");
        }
        /* An id that is not there is "nothing matched", like a search
         * without hits: scripts can tell it from a failure. */
        exit_code = o.op == OP_GET && code != NULL &&
                            strcmp(code, "not_found") == 0
                        ? EXIT_NOHITS
                        : EXIT_ERROR;
    } else if (o.op == OP_COUNT) {
        json_int_t cnt = get_int(resp, "count", 0);
        if (!o.json && o.explain)
            show_explain(&ot, resp);
        if (!o.json)
            printf("%" JSON_INTEGER_FORMAT "\n", cnt);
        exit_code = cnt > 0 ? EXIT_HITS : EXIT_NOHITS;
    } else if (o.json) {
        if (o.op == OP_SEARCH) {
            json_int_t total = get_int(resp, "total", -1);
            json_t *hits = json_object_get(resp, "hits");
            if (total < 0)
                total = json_is_array(hits) ? (json_int_t)json_array_size(hits)
                                            : 0;
            exit_code = total > 0 ? EXIT_HITS : EXIT_NOHITS;
        } else {
            exit_code = EXIT_HITS;
        }
    } else {
        char b[32];
        switch (o.op) {
        case OP_PING:
            printf("pong from %s in %s\n", path, fmt_us(rtt, b, sizeof(b)));
            exit_code = EXIT_HITS;
            break;
        case OP_STATS:
            exit_code = show_stats(&ot, path, resp);
            break;
        case OP_GET:
            exit_code = show_doc(&ot, resp);
            break;
        default:
            if (o.explain)
                show_explain(&ot, resp);
            exit_code = o.ids ? show_ids(resp) : show_search(&ot, &o, resp);
            break;
        }
    }
    json_decref(resp);
    free(resp_text);
    free(path);
    free(o.query);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)
            fprintf(stderr, PROG ": cannot write output: %s\n",
                    strerror(errno));
        return EXIT_ERROR;
    }
    return exit_code;
}

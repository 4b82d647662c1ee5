/*
 * trawl-index: build or update a trawl index from text, Markdown and JSON
 * Lines files.
 *
 * Every input path is walked (walk.h); each article is parsed, handed to
 * the writer, and at the end one new generation is committed. A bad file
 * or line is reported as "trawl-index: PATH:LINE: reason" and skipped.
 * Because an incremental run deletes the articles it no longer sees, a run
 * that found no article at all commits nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trawl/article.h"
#include "trawl/analyze.h"
#include "trawl/status.h"
#include "trawl/writer.h"
#include "walk.h"

#define PROG "trawl-index"

#ifndef TRAWL_VERSION
#define TRAWL_VERSION "0.1.0"
#endif

enum { EXIT_NOTHING = 1, EXIT_USAGE = 1, EXIT_FATAL = 2 };

typedef struct run {
    trawl_writer *w;
    int quiet;
    char *buf;        /* reusable file buffer */
    size_t cap;
    uint64_t files;   /* files read */
    uint64_t bytes;   /* bytes read */
    uint64_t articles;/* articles accepted by the writer */
    uint64_t bad;     /* bad files / lines skipped */
    uint64_t repaired;/* inputs whose invalid UTF-8 was replaced */
    int fatal;        /* a writer error that ends the run */
    trawl_err err;
} run;

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " --index DIR [OPTIONS] PATH...\n"
"\n"
"Build or update the trawl index in DIR from the articles under each PATH.\n"
"A PATH is a file or a directory, walked recursively in sorted order;\n"
"hidden files and directories (names starting with '.') are skipped.\n"
"  *.txt, *.md   one article per file; the id is the path relative to the\n"
"                PATH it was found under (the file name for a PATH that is\n"
"                a file). An optional header block of Title:, Date:,\n"
"                Author:, URL: lines ended by a blank line; otherwise the\n"
"                first non-blank line is the title. Without a date the\n"
"                file's modification time is used.\n"
"  *.jsonl       one article per non-blank line: {\"id\", \"title\", \"body\",\n"
"                optional \"date\", \"author\", \"url\"}.\n"
"Other files in directories are ignored.\n"
"\n"
"The run is incremental: new and changed articles are indexed, unchanged\n"
"ones kept, and articles of the previous generation that this run does not\n"
"see are deleted. A bad file or line is reported on stderr as\n"
"'PATH:LINE: reason' and skipped.\n"
"\n"
"Options:\n"
"  -i, --index DIR      the index directory (created if missing; required)\n"
"  -l, --language NAME  stemmer language (default: the index's, or english)\n"
"  -f, --full           rebuild from scratch, ignoring the existing index\n"
"  -m, --memory MB      memory budget for postings before a flush\n"
"  -q, --quiet          print nothing on success (problems still go to stderr)\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"Exit status: 0 when a generation was committed (even if some inputs were\n"
"bad), 1 on a usage error or when no article was found (nothing is\n"
"committed then), 2 on a fatal error (missing PATH, locked or unreadable\n"
"index, write failure).\n");
}

static void note(const char *path, unsigned long line, const char *reason)
{
    if (line > 0)
        fprintf(stderr, PROG ": %s:%lu: %s\n", path, line, reason);
    else
        fprintf(stderr, PROG ": %s: %s\n", path, reason);
}

/* Read path into r->buf (NUL-terminated). 0, or -1 with errno. */
static int read_file(run *r, const char *path, const struct stat *st,
                     size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;

    size_t len = 0;
    size_t want = st->st_size > 0 ? (size_t)st->st_size + 1 : 4096;
    for (;;) {
        if (len + 1 >= r->cap || want > r->cap) {
            size_t cap = r->cap ? r->cap : 65536;
            while (cap < want || cap <= len + 1)
                cap *= 2;
            char *p = realloc(r->buf, cap);
            if (p == NULL) {
                close(fd);
                errno = ENOMEM;
                return -1;
            }
            r->buf = p;
            r->cap = cap;
        }
        ssize_t n = read(fd, r->buf + len, r->cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        want = len + 1; /* the file may have grown: keep reading */
    }
    close(fd);
    r->buf[len] = '\0';
    *len_out = len;
    return 0;
}

/* Line number (from 1) of the first invalid UTF-8 in text, or 0. */
static unsigned long first_bad_utf8_line(const char *text, size_t len)
{
    unsigned long line = 1;
    size_t start = 0;

    while (start <= len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (!trawl_utf8_valid(text + start, end - start))
            return line;
        if (nl == NULL)
            break;
        start = end + 1;
        line++;
    }
    return 0;
}

/* Hand one parsed article to the writer; reports problems. */
static void add_article(run *r, const trawl_article *a, const char *path,
                        unsigned long line)
{
    trawl_err err;

    trawl_err_clear(&err);
    int rc = trawl_writer_add(r->w, a, &err);
    if (rc == 0) {
        r->articles++;
        return;
    }
    if (rc == TRAWL_EINVAL) {
        note(path, line, err.msg[0] ? err.msg : trawl_strerror(rc));
        r->bad++;
        return;
    }
    /* Out of memory or an I/O error while spilling: the run is over. */
    r->err = err;
    if (r->err.msg[0] == '\0')
        snprintf(r->err.msg, sizeof(r->err.msg), "%s", trawl_strerror(rc));
    r->err.code = rc;
    r->fatal = 1;
}

static void index_text(run *r, const trawl_walk_entry *e, const char *text,
                       size_t len)
{
    trawl_article a;
    trawl_err err;

    memset(&a, 0, sizeof(a));
    trawl_err_clear(&err);
    int64_t mtime = (int64_t)e->st->st_mtim.tv_sec;
    int rc = trawl_article_parse_text(&a, e->rel, text, len, mtime, &err);
    if (rc == TRAWL_ENOMEM) {
        r->err = err;
        r->err.code = rc;
        r->fatal = 1;
        return;
    }
    if (rc < 0) {
        note(e->path, 0, err.msg[0] ? err.msg : trawl_strerror(rc));
        r->bad++;
        return;
    }
    if (a.replaced > 0) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "invalid UTF-8 (%zu sequence%s replaced by U+FFFD)",
                 a.replaced, a.replaced == 1 ? "" : "s");
        note(e->path, first_bad_utf8_line(text, len), msg);
        r->repaired++;
    }
    add_article(r, &a, e->path, 0);
    trawl_article_clear(&a);
}

static void index_jsonl(run *r, const trawl_walk_entry *e, const char *text,
                        size_t len)
{
    unsigned long line = 0;
    size_t start = 0;

    while (start < len && !r->fatal) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - start;
        const char *s = text + start;
        line++;
        start = end + 1;
        if (n > 0 && s[n - 1] == '\r')
            n--;

        size_t k = 0;
        while (k < n && (s[k] == ' ' || s[k] == '\t'))
            k++;
        if (k == n)
            continue; /* blank line */

        trawl_article a;
        trawl_err err;
        memset(&a, 0, sizeof(a));
        trawl_err_clear(&err);
        int rc = trawl_article_parse_json(&a, s, n, &err);
        if (rc == TRAWL_ENOMEM) {
            r->err = err;
            r->err.code = rc;
            r->fatal = 1;
            return;
        }
        if (rc < 0) {
            note(e->path, line, err.msg[0] ? err.msg : trawl_strerror(rc));
            r->bad++;
            continue;
        }
        if (a.replaced > 0) {
            note(e->path, line, "invalid UTF-8 replaced by U+FFFD");
            r->repaired++;
        }
        add_article(r, &a, e->path, line);
        trawl_article_clear(&a);
    }
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int on_file(void *payload, const trawl_walk_entry *e)
{
    run *r = payload;
    int jsonl = has_suffix(e->rel, ".jsonl");
    int text = has_suffix(e->rel, ".txt") || has_suffix(e->rel, ".md");

    if (!jsonl && !text) {
        if (e->explicit_file) {
            note(e->path, 0,
                 "unsupported file type (expected .txt, .md or .jsonl)");
            r->bad++;
        }
        return 0;
    }

    size_t len;
    if (read_file(r, e->path, e->st, &len) < 0) {
        if (errno == ENOMEM) {
            trawl_err_set(&r->err, TRAWL_ENOMEM, "out of memory reading %s",
                          e->path);
            r->fatal = 1;
            return 1;
        }
        note(e->path, 0, strerror(errno));
        r->bad++;
        return 0;
    }
    r->files++;
    r->bytes += len;
    if (jsonl)
        index_jsonl(r, e, r->buf, len);
    else
        index_text(r, e, r->buf, len);
    return r->fatal ? 1 : 0;
}

static void on_problem(void *payload, const char *path, const char *reason)
{
    (void)payload;
    note(path, 0, reason);
}

/* "1,234,567" */
static const char *fmt_count(uint64_t v, char *out, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);
    size_t o = 0;

    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

/* "812 B", "7.8 KB", "12.3 MB", "1.25 GB" (powers of 1024) */
static const char *fmt_bytes(uint64_t v, char *out, size_t cap)
{
    static const char *units[] = { "KB", "MB", "GB", "TB" };
    double d = (double)v;
    int u = -1;

    if (v < 1024) {
        snprintf(out, cap, "%" PRIu64 " B", v);
        return out;
    }
    while (d >= 1024.0 && u < 3) {
        d /= 1024.0;
        u++;
    }
    snprintf(out, cap, "%.1f %s", d, units[u]);
    return out;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_mb(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v == 0 ||
        v > (SIZE_MAX >> 20))
        return -1;
    *out = (size_t)v << 20;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "index", required_argument, NULL, 'i' },
        { "language", required_argument, NULL, 'l' },
        { "full", no_argument, NULL, 'f' },
        { "memory", required_argument, NULL, 'm' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL;
    trawl_writer_opts opts;
    run r;
    int c;

    memset(&opts, 0, sizeof(opts));
    memset(&r, 0, sizeof(r));

    while ((c = getopt_long(argc, argv, "i:l:fm:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            dir = optarg;
            break;
        case 'l':
            opts.language = optarg;
            break;
        case 'f':
            opts.full = 1;
            break;
        case 'm':
            if (parse_mb(optarg, &opts.mem_budget) < 0) {
                fprintf(stderr, PROG ": --memory wants a positive number of "
                        "megabytes, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'q':
            r.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf(PROG " %s\n", TRAWL_VERSION);
            return 0;
        default:
            fprintf(stderr, "Try '" PROG " --help' for more information.\n");
            return EXIT_USAGE;
        }
    }
    if (dir == NULL || dir[0] == '\0') {
        fprintf(stderr, PROG ": missing --index DIR\n"
                "Try '" PROG " --help' for more information.\n");
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, PROG ": no PATH to index\n"
                "Try '" PROG " --help' for more information.\n");
        return EXIT_USAGE;
    }

    /*
     * Check every PATH before touching the index: a mistyped path would
     * otherwise make this incremental run delete the articles it used to
     * hold.
     */
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, PROG ": cannot read %s: %s\n", argv[i],
                    strerror(errno));
            return EXIT_FATAL;
        }
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
            fprintf(stderr, PROG ": %s is neither a file nor a directory\n",
                    argv[i]);
            return EXIT_FATAL;
        }
    }

    double t0 = now_s();
    trawl_err err;
    trawl_err_clear(&err);
    int rc = trawl_writer_open(&r.w, dir, &opts, &err);
    if (rc < 0) {
        fprintf(stderr, PROG ": cannot open index %s: %s\n", dir,
                err.msg[0] ? err.msg : trawl_strerror(rc));
        return EXIT_FATAL;
    }

    for (int i = optind; i < argc && !r.fatal; i++) {
        int wr = trawl_walk(argv[i], on_file, on_problem, &r);
        if (wr < 0 && !r.fatal) {
            trawl_err_set(&r.err, TRAWL_EIO, "cannot walk %s: %s", argv[i],
                          strerror(errno));
            r.fatal = 1;
        }
    }
    if (r.fatal) {
        fprintf(stderr, PROG ": %s; nothing committed\n", r.err.msg);
        trawl_writer_free(r.w);
        free(r.buf);
        return EXIT_FATAL;
    }
    if (r.articles == 0) {
        fprintf(stderr, PROG ": no articles found (%" PRIu64 " file%s read, "
                "%" PRIu64 " bad input%s); index %s left unchanged\n",
                r.files, r.files == 1 ? "" : "s", r.bad,
                r.bad == 1 ? "" : "s", dir);
        trawl_writer_free(r.w);
        free(r.buf);
        return EXIT_NOTHING;
    }

    trawl_writer_stats st;
    memset(&st, 0, sizeof(st));
    trawl_err_clear(&err);
    rc = trawl_writer_commit(r.w, &st, &err);
    trawl_writer_free(r.w);
    free(r.buf);
    if (rc < 0) {
        fprintf(stderr, PROG ": commit to %s failed: %s\n", dir,
                err.msg[0] ? err.msg : trawl_strerror(rc));
        return EXIT_FATAL;
    }

    if (!r.quiet) {
        double secs = now_s() - t0;
        char a[32], b[32], t[32], ix[32], bd[32];
        double mbs = secs > 0 ? (double)r.bytes / 1048576.0 / secs : 0.0;
        double ratio = r.bytes > 0
                           ? (double)st.index_bytes / (double)r.bytes : 0.0;
        printf("indexed %s document%s (%" PRIu64 " added, %" PRIu64
               " updated, %" PRIu64 " deleted, %" PRIu64 " unchanged) "
               "from %s in %.2f s (%.2f MB/s); %s terms; index %s "
               "(%.2fx text); generation %" PRIu64 "; %s bad input%s",
               fmt_count(st.docs, a, sizeof(a)), st.docs == 1 ? "" : "s",
               st.added, st.updated, st.deleted, st.unchanged,
               fmt_bytes(r.bytes, b, sizeof(b)), secs, mbs,
               fmt_count(st.terms, t, sizeof(t)),
               fmt_bytes(st.index_bytes, ix, sizeof(ix)), ratio,
               st.generation, fmt_count(r.bad, bd, sizeof(bd)),
               r.bad == 1 ? "" : "s");
        if (r.repaired > 0)
            printf("; %" PRIu64 " with invalid UTF-8 repaired", r.repaired);
        printf("\n");
    }
    return 0;
}

/*
 * trawl-index: build, update, merge or check a trawl index from text,
 * Markdown and JSON Lines files.
 *
 * Every input path is walked (walk.h); each article is parsed, handed to
 * the writer, and at the end one new generation is committed. A bad file
 * or line is reported as "trawl-index: PATH:LINE: reason" and skipped.
 * Because an incremental run deletes the articles it no longer sees, a run
 * that found no article at all commits nothing.
 *
 * For crash tests only: TRAWL_TEST_CRASH_AT=open|add:N|commit makes the
 * process SIGKILL itself right after the writer opened the index, after
 * the Nth article, or just before the commit. The core never reads the
 * environment; this hook lives here.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trawl/article.h"
#include "trawl/analyze.h"
#include "trawl/index.h"
#include "trawl/status.h"
#include "trawl/writer.h"
#include "walk.h"

#define PROG "trawl-index"

#ifndef TRAWL_VERSION
#define TRAWL_VERSION "0.1.0"
#endif

enum {
    EXIT_NOTHING = 1,
    EXIT_USAGE = 1,
    EXIT_FATAL = 2,
    EXIT_DAMAGED = 3
};

enum { PROGRESS_NONE, PROGRESS_TTY, PROGRESS_JSON };

typedef struct run {
    trawl_writer *w;
    int quiet;
    int progress;     /* PROGRESS_* */
    char *buf;        /* reusable file buffer */
    size_t cap;
    uint64_t files;   /* files read */
    uint64_t bytes;   /* bytes read */
    uint64_t total;   /* bytes the pre-walk found, 0 if unknown */
    uint64_t articles;/* articles accepted by the writer */
    uint64_t bad;     /* bad files / lines skipped */
    uint64_t repaired;/* inputs whose invalid UTF-8 was replaced */
    int fatal;        /* a writer error that ends the run */
    trawl_err err;
    double t0;        /* start of the run */
    double last_tick; /* last progress output */
    int line_shown;   /* a TTY progress line is on screen */
    uint64_t crash_after; /* TRAWL_TEST_CRASH_AT=add:N, 0 = off */
    int keep_unseen;  /* an --add or merge-only run */
    uint64_t file_left; /* bytes of the file being indexed not yet done */
} run;

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " --index DIR [OPTIONS] PATH...\n"
"       " PROG " --index DIR --add [OPTIONS] PATH...\n"
"       " PROG " --index DIR --merge [OPTIONS]\n"
"       " PROG " --check DIR\n"
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
"see are deleted (with --add they are kept). A bad file or line is\n"
"reported on stderr as 'PATH:LINE: reason' and skipped. Each run commits a\n"
"new generation atomically; a running trawld picks it up. Only one\n"
"trawl-index at a time may write to DIR; a killed run leaves the previous\n"
"generation intact, and its leftovers are removed by the next run.\n"
"\n"
"Options:\n"
"  -i, --index DIR      the index directory (created if missing; required)\n"
"  -l, --language NAME  stemmer language (default: the index's, or english)\n"
"  -f, --full           rebuild from scratch, ignoring the existing index\n"
"  -a, --add            add and update only: keep articles not seen in this\n"
"                       run\n"
"      --merge          merge all segments into one on commit; without a\n"
"                       PATH, a merge-only run that keeps every article\n"
"  -m, --memory MB      memory budget for postings before a run is written\n"
"                       to disk (default 512)\n"
"  -q, --quiet          print nothing on success (problems still go to stderr)\n"
"      --progress=WHEN  auto (default): a live progress line on stderr when\n"
"                       it is a terminal; tty: always that line; json: JSON\n"
"                       lines on stdout instead of the summary (events\n"
"                       \"progress\", \"commit\", \"done\"); none: no progress\n"
"      --check DIR      verify every checksum and structural invariant of\n"
"                       DIR's current generation, print each problem found\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"Exit status: 0 when a generation was committed (even if some inputs were\n"
"bad) or --check found no problem, 1 on a usage error or when no article\n"
"was found (nothing is committed then), 2 on a fatal error (missing PATH,\n"
"locked or unreadable index, write failure), 3 when --check found\n"
"problems.\n");
}

static void note(const char *path, unsigned long line, const char *reason)
{
    if (line > 0)
        fprintf(stderr, PROG ": %s:%lu: %s\n", path, line, reason);
    else
        fprintf(stderr, PROG ": %s: %s\n", path, reason);
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

/* "0:07", "12:34", "1:02:03" */
static const char *fmt_secs(double s, char *out, size_t cap)
{
    unsigned long t = s > 0 ? (unsigned long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(out, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, cap, "%lu:%02lu", t / 60, t % 60);
    return out;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- progress --------------------------------------------------------- */

#define TTY_INTERVAL  0.1 /* seconds between progress line redraws */
#define JSON_INTERVAL 0.5 /* seconds between JSON progress events */

/* Seconds left, or a negative value when unknown. */
/* Bytes indexed so far: the files done plus the part of the current one. */
static uint64_t bytes_done(const run *r)
{
    return r->bytes - r->file_left;
}

static double eta(const run *r, double secs)
{
    uint64_t done = bytes_done(r);
    if (r->total == 0 || done == 0 || secs < 0.5 || done > r->total)
        return -1.0;
    return secs * (double)(r->total - done) / (double)done;
}

static void progress_clear(run *r)
{
    if (r->line_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        r->line_shown = 0;
    }
}

/* Draw (TTY) or emit (JSON) progress if enough time has passed. */
static void progress_tick(run *r, int force)
{
    if (r->progress == PROGRESS_NONE)
        return;
    double t = now_s();
    double every = r->progress == PROGRESS_TTY ? TTY_INTERVAL : JSON_INTERVAL;
    if (!force && t - r->last_tick < every)
        return;
    r->last_tick = t;
    double secs = t - r->t0;
    double rate = secs > 0 ? (double)r->articles / secs : 0.0;
    double left = eta(r, secs);
    if (r->progress == PROGRESS_JSON) {
        printf("{\"event\":\"progress\",\"files\":%" PRIu64
               ",\"bytes\":%" PRIu64 ",\"total_bytes\":",
               r->files, bytes_done(r));
        if (r->total > 0)
            printf("%" PRIu64, r->total);
        else
            fputs("null", stdout);
        printf(",\"docs\":%" PRIu64 ",\"docs_per_s\":%.1f,\"elapsed_s\":%.3f"
               ",\"eta_s\":",
               r->articles, rate, secs);
        if (left >= 0)
            printf("%.1f}\n", left);
        else
            fputs("null}\n", stdout);
        fflush(stdout);
        return;
    }
    char f[32], b[32], tb[32], d[32], e[32];
    fprintf(stderr, "\r\033[K" PROG ": %s file%s, %s",
            fmt_count(r->files, f, sizeof(f)), r->files == 1 ? "" : "s",
            fmt_bytes(bytes_done(r), b, sizeof(b)));
    if (r->total > 0)
        fprintf(stderr, " of %s (%d%%)", fmt_bytes(r->total, tb, sizeof(tb)),
                (int)(bytes_done(r) >= r->total
                          ? 100
                          : 100.0 * (double)bytes_done(r) /
                                (double)r->total));
    fprintf(stderr, ", %s docs/s", fmt_count((uint64_t)rate, d, sizeof(d)));
    if (left >= 0)
        fprintf(stderr, ", ETA %s", fmt_secs(left, e, sizeof(e)));
    fflush(stderr);
    r->line_shown = 1;
}

/* The writer is about to write the generation out. */
static void progress_commit(run *r)
{
    if (r->progress == PROGRESS_JSON) {
        printf("{\"event\":\"commit\",\"docs\":%" PRIu64
               ",\"elapsed_s\":%.3f}\n",
               r->articles, now_s() - r->t0);
        fflush(stdout);
    } else if (r->progress == PROGRESS_TTY) {
        char d[32];
        fprintf(stderr, "\r\033[K" PROG ": %s docs read; writing the index...",
                fmt_count(r->articles, d, sizeof(d)));
        fflush(stderr);
        r->line_shown = 1;
    }
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Pre-walk: sum the sizes of the files the real walk will read. */
static int sum_file(void *payload, const trawl_walk_entry *e)
{
    uint64_t *total = payload;
    if (has_suffix(e->rel, ".txt") || has_suffix(e->rel, ".md") ||
        has_suffix(e->rel, ".jsonl"))
        *total += (uint64_t)e->st->st_size;
    return 0;
}

static void ignore_problem(void *payload, const char *path, const char *reason)
{
    (void)payload;
    (void)path;
    (void)reason;
}

/* ---- test hook -------------------------------------------------------- */

static void crash_if(const char *phase)
{
    const char *at = getenv("TRAWL_TEST_CRASH_AT");
    if (at != NULL && strcmp(at, phase) == 0)
        raise(SIGKILL);
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
        if (r->crash_after != 0 && r->articles == r->crash_after)
            raise(SIGKILL); /* TRAWL_TEST_CRASH_AT=add:N */
        progress_tick(r, 0);
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
        r->file_left = start < len ? len - start : 0;
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
    r->file_left = len;
    if (jsonl)
        index_jsonl(r, e, r->buf, len);
    else
        index_text(r, e, r->buf, len);
    r->file_left = 0;
    progress_tick(r, 0);
    return r->fatal ? 1 : 0;
}

static void on_problem(void *payload, const char *path, const char *reason)
{
    (void)payload;
    note(path, 0, reason);
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

/* --check DIR */
static int check(const char *dir, int quiet)
{
    char *report = NULL;
    trawl_err err;
    trawl_err_clear(&err);
    int rc = trawl_index_check(dir, &report, &err);
    if (rc == 0) {
        if (!quiet) {
            trawl_index *ix;
            trawl_index_info info;
            char d[32], t[32], b[32];
            if (trawl_index_open(&ix, dir, NULL) == 0) {
                trawl_index_info_get(ix, &info);
                printf("%s: generation %" PRIu64 " is sound: %s document%s, "
                       "%u segment%s, %s terms, %s\n",
                       dir, info.generation, fmt_count(info.docs, d, sizeof(d)),
                       info.docs == 1 ? "" : "s", info.segments,
                       info.segments == 1 ? "" : "s",
                       fmt_count(info.terms, t, sizeof(t)),
                       fmt_bytes(info.bytes, b, sizeof(b)));
                trawl_index_release(ix);
            } else {
                printf("%s: sound\n", dir);
            }
        }
        free(report);
        return 0;
    }
    if (rc == TRAWL_ECORRUPT || rc == TRAWL_EVERSION) {
        /* The report has one line per problem. */
        int opened = report == NULL || strncmp(report, err.msg,
                                               strlen(err.msg)) != 0;
        if (report != NULL)
            fputs(report, stdout);
        fflush(stdout);
        if (opened)
            fprintf(stderr, PROG ": %s\n",
                    err.msg[0] ? err.msg : trawl_strerror(rc));
        else
            fprintf(stderr, PROG ": the index in %s does not open\n", dir);
        free(report);
        return EXIT_DAMAGED;
    }
    fprintf(stderr, PROG ": cannot check %s: %s\n", dir,
            err.msg[0] ? err.msg : trawl_strerror(rc));
    free(report);
    return EXIT_FATAL;
}

static int parse_progress(const char *s, int *out, int quiet)
{
    if (strcmp(s, "auto") == 0)
        *out = !quiet && isatty(STDERR_FILENO) ? PROGRESS_TTY : PROGRESS_NONE;
    else if (strcmp(s, "tty") == 0)
        *out = PROGRESS_TTY;
    else if (strcmp(s, "json") == 0)
        *out = PROGRESS_JSON;
    else if (strcmp(s, "none") == 0)
        *out = PROGRESS_NONE;
    else
        return -1;
    return 0;
}

static void print_summary(const run *r, const trawl_writer_stats *st,
                          double secs)
{
    char a[32], b[32], t[32], ix[32], bd[32];
    double mbs = secs > 0 ? (double)r->bytes / 1048576.0 / secs : 0.0;
    /* Index size over text size means something only when the run read
     * the whole corpus. */
    double ratio = r->bytes > 0 && !r->keep_unseen
                       ? (double)st->index_bytes / (double)r->bytes
                       : 0.0;

    if (r->progress == PROGRESS_JSON) {
        printf("{\"event\":\"done\",\"generation\":%" PRIu64 ",\"docs\":%" PRIu64
               ",\"added\":%" PRIu64 ",\"updated\":%" PRIu64
               ",\"deleted\":%" PRIu64 ",\"unchanged\":%" PRIu64
               ",\"terms\":%" PRIu64 ",\"files\":%" PRIu64
               ",\"bytes\":%" PRIu64 ",\"index_bytes\":%" PRIu64
               ",\"segments\":%u,\"runs\":%u,\"merges\":%u"
               ",\"bad\":%" PRIu64 ",\"repaired\":%" PRIu64
               ",\"elapsed_s\":%.3f}\n",
               st->generation, st->docs, st->added, st->updated, st->deleted,
               st->unchanged, st->terms, r->files, r->bytes, st->index_bytes,
               st->segments, st->runs, st->merges, r->bad, r->repaired, secs);
        return;
    }
    printf("indexed %s document%s (%" PRIu64 " added, %" PRIu64
           " updated, %" PRIu64 " deleted, %" PRIu64 " unchanged) "
           "from %s in %.2f s (%.2f MB/s); %s terms; index %s",
           fmt_count(st->docs, a, sizeof(a)), st->docs == 1 ? "" : "s",
           st->added, st->updated, st->deleted, st->unchanged,
           fmt_bytes(r->bytes, b, sizeof(b)), secs, mbs,
           fmt_count(st->terms, t, sizeof(t)),
           fmt_bytes(st->index_bytes, ix, sizeof(ix)));
    if (ratio > 0)
        printf(" (%.2fx text)", ratio);
    printf(" in %u segment%s (%u run%s flushed, %u merge%s); "
           "generation %" PRIu64 "; %s bad input%s",
           st->segments,
           st->segments == 1 ? "" : "s", st->runs, st->runs == 1 ? "" : "s",
           st->merges, st->merges == 1 ? "" : "s", st->generation,
           fmt_count(r->bad, bd, sizeof(bd)), r->bad == 1 ? "" : "s");
    if (r->repaired > 0)
        printf("; %" PRIu64 " with invalid UTF-8 repaired", r->repaired);
    printf("\n");
}

enum { OPT_MERGE = 256, OPT_PROGRESS, OPT_CHECK };

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "index", required_argument, NULL, 'i' },
        { "language", required_argument, NULL, 'l' },
        { "full", no_argument, NULL, 'f' },
        { "add", no_argument, NULL, 'a' },
        { "merge", no_argument, NULL, OPT_MERGE },
        { "memory", required_argument, NULL, 'm' },
        { "quiet", no_argument, NULL, 'q' },
        { "progress", required_argument, NULL, OPT_PROGRESS },
        { "check", required_argument, NULL, OPT_CHECK },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *check_dir = NULL, *progress = NULL;
    int add = 0;
    trawl_writer_opts opts;
    run r;
    int c;

    memset(&opts, 0, sizeof(opts));
    memset(&r, 0, sizeof(r));

    while ((c = getopt_long(argc, argv, "i:l:fam:qhV", longopts, NULL)) !=
           -1) {
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
        case 'a':
            add = 1;
            break;
        case OPT_MERGE:
            opts.merge = 1;
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
        case OPT_PROGRESS:
            if (parse_progress(optarg, &r.progress, 0) < 0) {
                fprintf(stderr, PROG ": --progress wants auto, tty, json or "
                        "none, not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            progress = optarg;
            break;
        case OPT_CHECK:
            check_dir = optarg;
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
    if (check_dir != NULL) {
        if (optind < argc || (dir != NULL && strcmp(dir, check_dir) != 0)) {
            fprintf(stderr, PROG ": --check takes only the index DIR\n"
                    "Try '" PROG " --help' for more information.\n");
            return EXIT_USAGE;
        }
        return check(check_dir, r.quiet);
    }
    if (dir == NULL || dir[0] == '\0') {
        fprintf(stderr, PROG ": missing --index DIR\n"
                "Try '" PROG " --help' for more information.\n");
        return EXIT_USAGE;
    }
    if (optind >= argc && !opts.merge) {
        fprintf(stderr, PROG ": no PATH to index\n"
                "Try '" PROG " --help' for more information.\n");
        return EXIT_USAGE;
    }
    if (opts.full && optind >= argc) {
        fprintf(stderr, PROG ": --full needs the PATHs to rebuild from\n"
                "Try '" PROG " --help' for more information.\n");
        return EXIT_USAGE;
    }
    if (add && opts.full) {
        fprintf(stderr, PROG ": --add and --full contradict each other\n"
                "Try '" PROG " --help' for more information.\n");
        return EXIT_USAGE;
    }
    /* A merge-only run keeps everything; --add keeps what it does not see. */
    opts.keep_unseen = add || optind >= argc;
    r.keep_unseen = opts.keep_unseen;
    parse_progress(progress != NULL ? progress : "auto", &r.progress,
                   r.quiet);

    const char *crash = getenv("TRAWL_TEST_CRASH_AT");
    if (crash != NULL && strncmp(crash, "add:", 4) == 0)
        r.crash_after = strtoull(crash + 4, NULL, 10);

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

    r.t0 = now_s();
    trawl_err err;
    trawl_err_clear(&err);
    int rc = trawl_writer_open(&r.w, dir, &opts, &err);
    if (rc < 0) {
        fprintf(stderr, PROG ": cannot open index %s: %s\n", dir,
                err.msg[0] ? err.msg : trawl_strerror(rc));
        return EXIT_FATAL;
    }
    crash_if("open");

    /* Only for the progress display: what the walk will read in total. */
    if (r.progress != PROGRESS_NONE)
        for (int i = optind; i < argc; i++)
            trawl_walk(argv[i], sum_file, ignore_problem, &r.total);

    for (int i = optind; i < argc && !r.fatal; i++) {
        int wr = trawl_walk(argv[i], on_file, on_problem, &r);
        if (wr < 0 && !r.fatal) {
            trawl_err_set(&r.err, TRAWL_EIO, "cannot walk %s: %s", argv[i],
                          strerror(errno));
            r.fatal = 1;
        }
    }
    if (optind < argc)
        progress_tick(&r, 1);
    if (r.fatal) {
        progress_clear(&r);
        fprintf(stderr, PROG ": %s; nothing committed\n", r.err.msg);
        trawl_writer_free(r.w);
        free(r.buf);
        return EXIT_FATAL;
    }
    if (r.articles == 0 && !opts.merge) {
        progress_clear(&r);
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
    progress_commit(&r);
    crash_if("commit");
    rc = trawl_writer_commit(r.w, &st, &err);
    trawl_writer_free(r.w);
    free(r.buf);
    progress_clear(&r);
    if (rc < 0) {
        fprintf(stderr, PROG ": commit to %s failed: %s\n", dir,
                err.msg[0] ? err.msg : trawl_strerror(rc));
        return EXIT_FATAL;
    }

    if (!r.quiet || r.progress == PROGRESS_JSON)
        print_summary(&r, &st, now_s() - r.t0);
    return 0;
}

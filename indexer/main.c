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
 * the Nth article, or just before the commit; stop:N makes it SIGSTOP
 * itself after the Nth article (a test then changes a file under it).
 * The core never reads the environment; this hook lives here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include <jansson.h>

#include "encoding.h"
#include "html.h"
#include "jsonid.h"
#include "source.h"
#include "trawl/article.h"
#include "trawl/analyze.h"
#include "trawl/index.h"
#include "trawl/status.h"
#include "trawl/stdfds.h"
#include "trawl/writer.h"
#include "walk.h"

#define PROG "trawl-index"

/*
 * Memory for reading input, independent of file sizes: a .jsonl file is
 * read through a buffer of JSONL_BUF bytes that grows only to hold a
 * single longer line, up to MAX_LINE (a longer line is reported and
 * skipped). A text file is one article and is read whole, up to MAX_TEXT.
 */
#define JSONL_BUF ((size_t)1 << 20)
#define MAX_LINE ((size_t)64 << 20)
#define MAX_TEXT ((size_t)256 << 20)

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

/* A set of nonzero 64-bit hashes. */
typedef struct hset {
    uint64_t *v;
    size_t mask; /* slots - 1; 0 before the first */
    size_t n;
} hset;

/* 64-bit hashes (nonzero) to 64-bit values. */
typedef struct hmap {
    uint64_t *k, *v;
    size_t mask; /* slots - 1; 0 before the first */
    size_t n;
} hmap;

typedef struct run {
    trawl_writer *w;
    int quiet;
    int progress;     /* PROGRESS_* */
    char *buf;        /* reusable file buffer */
    size_t cap;
    int full;         /* --full: nothing can be kept, skip the id scan */
    const trawl_json_fields *fields; /* --field mapping; NULL: default */
    trawl_json_fields undated; /* the same, reading no date (see
                                  index_json_line) */
    uint64_t fields_seed; /* seeds the hash of a JSON line; 0: default */
    const char *id_key; /* the member a JSON line's id is read from */
    size_t id_key_len;
    uint64_t files;   /* files read */
    uint64_t found;   /* article files (by name) met by the walk */
    uint64_t bytes;   /* bytes read */
    uint64_t total;   /* bytes the pre-walk found, 0 if unknown */
    uint64_t articles;/* articles accepted by the writer */
    uint64_t kept;    /* articles the writer kept unchanged */
    uint64_t skipped; /* of them, kept without being parsed */
    uint64_t bad;     /* bad files / lines skipped */
    uint64_t held;    /* bad inputs whose article the index kept as it
                         was (trawl_writer_keep_old) */
    int nul_noted;      /* the .jsonl file being read had NUL lines */
    uint64_t undated_n; /* JSON lines indexed without their unreadable
                           date */
    int64_t inflated; /* bytes compressed .jsonl files gave beyond their
                         bytes read, so far (progress counts a file by its
                         size on disk) */
    int64_t inflated_base; /* the same before the current file */
    uint64_t unread;  /* directories and files that could not be read */
    uint64_t repaired;/* inputs whose invalid UTF-8 was replaced */
    int fatal;        /* a writer error that ends the run */
    trawl_err err;
    double t0;        /* start of the run */
    double last_tick; /* last progress output */
    int line_shown;   /* a TTY progress line is on screen */
    uint64_t crash_after; /* TRAWL_TEST_CRASH_AT=add:N, 0 = off */
    uint64_t stop_after;  /* TRAWL_TEST_CRASH_AT=stop:N, 0 = off */
    int keep_unseen;  /* an --add or merge-only run */
    int merge_only;   /* --merge without a PATH: no article read */
    uint64_t file_left; /* bytes counted in bytes but not yet indexed */
    hset ids;         /* hashes of the ids of this run's .txt/.md articles */
    hset inodes;      /* hashes of the article files read (device, inode) */
    hmap jsonl_ids;   /* id hash -> fingerprint of its last line so far */
    uint64_t same_again; /* JSON lines skipped: an id's copy as it was */
    uint64_t again;   /* article files met again (links), skipped */
    int file_dated;   /* an article of this .jsonl file had a date */
    const char *date_other; /* a dated-looking member of this file's
                               undated articles (see undated_hint) */
    int file_titled;  /* an article of this .jsonl file had a title */
    const char *title_other; /* the same for titles (untitled_hint) */
    char *other;      /* the first .json/.ndjson/.csv file a directory
                         PATH held (not read), for the advice */
    unsigned long line_notes;  /* bad lines of this .jsonl file noted */
    unsigned long lines_unshown; /* and those past LINE_NOTES, not */
    int no_changes;   /* nothing to commit: the generation stays */
    trawl_err add_err; /* trawl_writer_add's: a segment file it opens keeps
                        * a pointer to it and reports later write errors
                        * there (even during the commit), so it lives as
                        * long as the run */
} run;

/*
 * SIGINT/SIGTERM while reading: the run stops, the writer removes what it
 * wrote, and the process dies of the signal. The handler is reset by the
 * first signal, so a second one kills at once; the commit itself runs with
 * the default action (a killed commit leaves the previous generation, and
 * the next run removes its files).
 */
static volatile sig_atomic_t stop_signal;
static int stop_caught[2];
static const int stop_sigs[2] = {SIGINT, SIGTERM};

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* Catch them, unless ignored (a background job of a script). */
static void stop_signals_catch(void)
{
    struct sigaction sa, old;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    for (int i = 0; i < 2; i++)
        if (sigaction(stop_sigs[i], NULL, &old) == 0 &&
            old.sa_handler != SIG_IGN)
            stop_caught[i] = sigaction(stop_sigs[i], &sa, NULL) == 0;
}

static void stop_signals_default(void)
{
    for (int i = 0; i < 2; i++)
        if (stop_caught[i])
            signal(stop_sigs[i], SIG_DFL);
}

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
"hidden files and directories (names starting with '.') are skipped,\n"
"symbolic links followed. A file met again in a run (a symbolic or hard\n"
"link to a file already read, a PATH given twice) is read only once,\n"
"under the first name met, and the other name reported (not with -q).\n"
"Article files are known by their extension, in any case (.txt, .TXT, .Md):\n"
"  *.txt, *.md   one article per file; the id is the path relative to the\n"
"                PATH it was found under (the file name for a PATH that is\n"
"                a file). An optional header block of Title:, Date:,\n"
"                Author:, URL: lines ended by a blank line, or Markdown\n"
"                front matter (title:, date:, ... between --- lines,\n"
"                or title =, date = ... between +++ lines; an author\n"
"                list is joined with \", \"), or a mail or news message's\n"
"                header (Subject: the title, From: the author, Date:),\n"
"                or a URL line and a date line above the title;\n"
"                otherwise the first non-blank line is the title (if it\n"
"                is at most 300 bytes long; else it is body). Without\n"
"                a date the file's modification time is used. Text is\n"
"                UTF-8 (bytes that are not are read as Windows-1252, or\n"
"                Latin-1, unless the file is in a legacy encoding of\n"
"                another script: EUC-KR, Shift_JIS, EUC-JP, GB18030,\n"
"                Big5, Windows-1251, KOI8-R, Greek, Hebrew, Arabic or\n"
"                Thai ones are recognised and converted), or UTF-16\n"
"                with a byte order mark; a file with\n"
"                NUL bytes otherwise is binary, reported and skipped. A\n"
"                file larger than 256 MiB is reported and skipped.\n"
"  *.html, *.htm a saved web page, one article as a text file: title from\n"
"                og:title, else <title> (without a \" | Site\" suffix),\n"
"                else <h1>; text of the largest <article>, else <main>,\n"
"                else <body>, without scripts, nav, footer, aside,\n"
"                forms, iframes or a cookie banner; date from\n"
"                article:published_time, a <meta name=\"date\"> (pubdate,\n"
"                dc.date...), JSON-LD datePublished or a <time> in the\n"
"                article, else the modification time; author from\n"
"                <meta name=\"author\">, article:author or JSON-LD; url\n"
"                from <link rel=\"canonical\"> or og:url; encoding from a\n"
"                BOM or <meta charset>, else as a text file. Nothing is\n"
"                fetched; a page whose body has no text is reported.\n"
"  *.txt.gz, *.md.zst, *.html.gz, ...\n"
"                the same, compressed (gzip, zstd); 256 MiB is the limit\n"
"                of the decompressed text. A damaged file is reported and\n"
"                its article kept as indexed before.\n"
"  *.jsonl       one article per non-blank line: {\"id\", \"title\", \"body\",\n"
"                optional \"date\" (ISO 8601, RFC 2822, a month or a year),\n"
"                \"author\" (a string, or a list of names, joined with\n"
"                \", \"), \"url\"}; other members are stored as extra\n"
"                fields. --field reads a field from a member of another\n"
"                name (cc_news: --field body=text --field id=url). Read\n"
"                as a stream; a line longer than 64 MiB is reported and\n"
"                skipped. A line identical to the one last indexed for\n"
"                its id is kept without being parsed again. A body or\n"
"                title that is HTML (<p>..., &amp;) is read as its text;\n"
"                a date that cannot be read is reported and the article\n"
"                indexed without one.\n"
"  *.jsonl.gz, *.jsonl.zst\n"
"                the same, compressed (gzip, zstd), read as a stream.\n"
"                *.ndjson (.gz, .zst) are the same, and so is a *.json\n"
"                file whose first two lines are JSON objects (JSON Lines\n"
"                saved as .json, as the HuffPost dataset is).\n"
"Other files in directories are ignored. A PATH that is a file of another\n"
"type, or that gives no article (an empty directory, one without article\n"
"files), is reported as bad input; for another .json file (a JSON array,\n"
"an API answer), a .csv file, one without an extension, an archive (.zip,\n"
".tar.gz, ...) or a .jsonl.bz2 or .txt.xz, the message says how to make\n"
"it readable (a JSON array: jq -c '.[]' in.json > out.jsonl).\n"
"\n"
"The run is incremental: new and changed articles are indexed, unchanged\n"
"ones kept, and articles of the previous generation that this run does not\n"
"see are deleted (with --add they are kept, and when some directory or\n"
"file could not be read, or a .jsonl file changed while it was read or\n"
"gave nothing but bad lines, which is said). A bad file or line is\n"
"reported on stderr as 'PATH:LINE: reason' (the first 20 lines of a\n"
".jsonl file, then how many more) and skipped; the article it names\n"
"(a file's id, a line's \"id\") stays as the index had it, unless a later\n"
"good version replaces it (not with --full). A run commits a\n"
"new generation atomically, which a running trawld picks up; a run that\n"
"changes nothing (no article new, changed or deleted) commits nothing and\n"
"says 'no changes' (--merge and --full always commit). Only one\n"
"trawl-index at a time may write to DIR; a killed run leaves the previous\n"
"generation intact, and its leftovers are removed by the next run.\n"
"Ctrl-C or SIGTERM while reading stops the run and removes its files.\n"
"\n"
"Options:\n"
"  -i, --index DIR      the index directory (created, parents too;\n"
"                       required; one holding gen-*, seg-* or *.tmp files\n"
"                       that are not trawl's is refused)\n"
"  -l, --language NAME  stemmer language (default: the index's, or english)\n"
"  -f, --full           rebuild from scratch, ignoring the existing index\n"
"  -a, --add            add and update only: keep articles not seen in this\n"
"                       run\n"
"      --merge          merge all segments into one on commit; without a\n"
"                       PATH, a merge-only run that keeps every article\n"
"                       (DIR must hold an index then)\n"
"      --field FIELD=KEY\n"
"                       read FIELD (id, title, body, date, author or url)\n"
"                       of each .jsonl record from its member KEY instead\n"
"                       of the member named FIELD, with the same rules;\n"
"                       repeatable (--field body=text --field id=url);\n"
"                       fields may share a KEY. Not stored in the index:\n"
"                       give the same --field options on every run (a cron\n"
"                       job too); a run without them reads the default\n"
"                       names, reports the lines that lack them as bad\n"
"                       input, and commits nothing if no article is found\n"
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
"Exit status: 0 when a generation was committed or nothing changed (even\n"
"if some inputs were bad) or --check found no problem, 1 on a usage error\n"
"or when no article was found (nothing is committed then), 2 on a fatal\n"
"error (a missing or unreadable PATH, checked before the index is touched;\n"
"a locked or unreadable index; an index directory holding files that are\n"
"not trawl's; a write failure), 3 when --check found problems.\n");
}

static void progress_clear(run *r);

/* The run whose TTY progress line a note must clear first, if any. */
static run *tty_run;

static void note(const char *path, unsigned long line, const char *reason)
{
    if (tty_run != NULL)
        progress_clear(tty_run); /* the next tick draws it again */
    if (line > 0)
        fprintf(stderr, PROG ": %s:%lu: %s\n", path, line, reason);
    else
        fprintf(stderr, PROG ": %s: %s\n", path, reason);
}

/* Bad lines of one .jsonl file noted one by one; past them, a count. */
#define LINE_NOTES 20

/*
 * A note about line `line` of a .jsonl file: the first LINE_NOTES of a
 * file, then one line saying the rest are counted only (a file whose
 * articles all lack "body" printed a line per article, a million lines).
 */
static void line_note(run *r, const char *path, unsigned long line,
                      const char *reason)
{
    if (r->line_notes < LINE_NOTES) {
        r->line_notes++;
        note(path, line, reason);
        return;
    }
    if (r->lines_unshown++ == 0)
        note(path, 0, "more lines with problems: not shown one by one "
                      "(counted at the end of the file)");
}

/*
 * Input that names an article but cannot be indexed: keep the article
 * as the previous generation has it (bad input loses nothing), and
 * report `reason` at path:line (a .jsonl line: line_note) saying so.
 * id may be NULL (not known: nothing to keep).
 */
static void bad_input(run *r, const char *path, unsigned long line,
                      int jsonl, const char *reason, const char *id,
                      size_t id_len)
{
    char msg[sizeof(((trawl_err *)0)->msg) + 400];
    trawl_err err;
    int kept = 0;

    trawl_err_clear(&err);
    if (id != NULL && !r->full && trawl_writer_can_keep(r->w)) {
        kept = trawl_writer_keep_old(r->w, id, id_len, &err);
        if (kept < 0) {
            r->err = err;
            r->err.code = kept;
            r->fatal = 1;
            return;
        }
    }
    r->bad++;
    if (kept == 1) {
        r->held++;
        snprintf(msg, sizeof(msg), "%s; \"%.*s\" stays as indexed before",
                 reason, (int)(id_len > 200 ? 200 : id_len), id);
        reason = msg;
    }
    if (jsonl)
        line_note(r, path, line, reason);
    else
        note(path, line, reason);
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
    int64_t done = (int64_t)r->bytes - (int64_t)r->file_left - r->inflated;
    return done > 0 ? (uint64_t)done : 0;
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
    uint64_t docs = r->articles + r->kept;
    double rate = secs > 0 ? (double)docs / secs : 0.0;
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
               docs, rate, secs);
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
               r->articles + r->kept, now_s() - r->t0);
        fflush(stdout);
    } else if (r->progress == PROGRESS_TTY) {
        char d[32];
        fprintf(stderr, "\r\033[K" PROG ": %s docs read; writing the index...",
                fmt_count(r->articles + r->kept, d, sizeof(d)));
        fflush(stderr);
        r->line_shown = 1;
    }
}

/* s ends with suffix, ignoring ASCII case ("A.TXT" ends with ".txt"). */
static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

enum { KIND_OTHER, KIND_TEXT, KIND_JSONL, KIND_HTML };

/* s without a ".gz" or ".zst" at its end ends with suffix. */
static int has_suffix_z(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    size_t z = has_suffix(s, ".gz") ? 3 : has_suffix(s, ".zst") ? 4 : 0;
    return has_suffix(s, suffix) ||
           (z > 0 && n >= z + m && strncasecmp(s + n - z - m, suffix, m) == 0);
}

/* What a file is by its name: *.txt and *.md, *.html and *.htm, *.jsonl
 * and *.ndjson, as they are or .gz or .zst (any case). A .json file may
 * be JSON Lines too: see path_kind(). */
static int file_kind(const char *name)
{
    if (has_suffix_z(name, ".jsonl") || has_suffix_z(name, ".ndjson"))
        return KIND_JSONL;
    if (has_suffix_z(name, ".txt") || has_suffix_z(name, ".md"))
        return KIND_TEXT;
    if (has_suffix_z(name, ".html") || has_suffix_z(name, ".htm"))
        return KIND_HTML;
    return KIND_OTHER;
}

/* Whether jq can write member k (n bytes) as .k. */
static int jq_name(const char *k, size_t n)
{
    if (k[0] >= '0' && k[0] <= '9')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(k[i] == '_' || (k[i] >= '0' && k[i] <= '9') ||
              (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z')))
            return 0;
    return 1;
}

/* Files people save articles in that trawl does not read as they are,
 * but that a rename or a one-line conversion makes readable. */
/* Archives and compressors datasets are downloaded in (the BBC dataset
 * as .zip, 20 Newsgroups and livedoor as .tar.gz, Lenta.ru as .csv.bz2,
 * Wikinews as .xml.bz2), and the tool that undoes each. */
static const struct {
    const char *suffix, *tool;
    int tar; /* 1: a tar archive; 2: a zip archive; 0: one file */
} packed[] = {
    {".tar", "tar -xf", 1},  {".tar.gz", "tar -xzf", 1},
    {".tgz", "tar -xzf", 1}, {".tar.bz2", "tar -xjf", 1},
    {".tbz2", "tar -xjf", 1}, {".tar.xz", "tar -xJf", 1},
    {".txz", "tar -xJf", 1}, {".tar.zst", "tar --zstd -xf", 1},
    {".zip", "unzip", 2},    {".gz", "gzip -dc", 0},
    {".bz2", "bzip2 -dc", 0}, {".xz", "xz -dc", 0},
    {".zst", "zstd -dc", 0}, {".lz4", "lz4 -dc", 0},
};

static int packed_kind(const char *name)
{
    for (size_t i = 0; i < sizeof(packed) / sizeof(packed[0]); i++)
        if (has_suffix(name, packed[i].suffix))
            return (int)i;
    return -1;
}

static int convertible(const char *name)
{
    const char *base = strrchr(name, '/');
    base = base != NULL ? base + 1 : name;
    return has_suffix(name, ".json") || has_suffix(name, ".csv") ||
           packed_kind(name) >= 0 ||
           strchr(base, '.') == NULL; /* 20 Newsgroups' 60804, 60805 */
}

/* What a .json file holds, from its first JSON_HEAD bytes: JSON Lines
 * (an object on its first line and another on the next: the HuffPost
 * dataset's News_Category_Dataset_v3.json), one object on one line, a
 * JSON array, another object (*keyp: its first member holding an array
 * of objects, as {"status": "ok", "articles": [...]}, or NULL), or none
 * of these. head (JSON_HEAD bytes) holds what was read. Where the first
 * line ends and the next begins is looked for past the head too (a
 * record longer than JSON_HEAD: an article's full text), up to
 * JSON_LINE_SCAN bytes: a longer first line is taken for one object (a
 * minified API answer of many megabytes is not read whole, twice, by
 * every walk). */
#define JSON_HEAD 65536
#define JSON_LINE_SCAN ((off_t)4 << 20)
enum { JH_NONE, JH_LINES, JH_LINE, JH_ARRAY, JH_OBJECT };

/* The first two lines that are not blank, fed bytes in order: the last
 * byte of the first that is not a space (last), the first and last of
 * the second (next, next_last; 0 until seen). */
typedef struct line_scan {
    int line; /* 0: in the first line, 1: after it, 2: past the second */
    char last, next, next_last;
} line_scan;

/* 1 when the scan is done (the second line ended). */
static int line_scan_feed(line_scan *ls, const char *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        char c = p[k];
        int space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        if (ls->line == 0) {
            if (c == '\n')
                ls->line = 1;
            else if (!space)
                ls->last = c;
        } else if (c == '\n' && ls->next != 0) {
            ls->line = 2;
            return 1;
        } else if (!space) {
            if (ls->next == 0)
                ls->next = c;
            ls->next_last = c;
        }
    }
    return 0;
}

static int json_head(const char *path, char *head, const char **keyp,
                     size_t *knp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return JH_NONE;
    ssize_t got = read(fd, head, JSON_HEAD - 1);
    if (got <= 0) {
        close(fd);
        return JH_NONE;
    }
    head[got] = '\0';
    size_t n = (size_t)got, i = 0;
    if (n >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < n && strchr(" \t\r\n", head[i]) != NULL && head[i] != '\0')
        i++;
    if (i < n && head[i] == '[') {
        close(fd);
        return JH_ARRAY;
    }
    /* The first member of the top object holding an array of objects
     * ({"status": "ok", "articles": [{...}, ...]}: NewsAPI's answer). */
    const char *key = NULL;
    size_t kn = 0;
    int depth = 0, in_str = 0;
    const char *ks = NULL;
    for (size_t p = i; p < n && key == NULL && head[i] == '{'; p++) {
        char c = head[p];
        if (in_str) {
            if (c == '\\')
                p++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
            ks = head + p + 1;
        } else if (c == '{' || c == '[') {
            if (c == '[' && depth == 1 && ks != NULL) {
                size_t v = p + 1;
                while (v < n && strchr(" \t\r\n", head[v]) != NULL &&
                       head[v] != '\0')
                    v++;
                if (v < n && head[v] == '{') {
                    key = ks;
                    kn = strcspn(ks, "\"");
                }
            }
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ',' && depth == 1) {
            ks = NULL;
        }
    }
    /* One object a line: its first line ends with '}' and the next
     * starts with '{' (or, holding no such array, there is none). */
    line_scan ls = {0, 0, 0, 0};
    int done = i < n && line_scan_feed(&ls, head + i, n - i);
    int eof = (size_t)got < JSON_HEAD - 1;
    char buf[8192];
    for (off_t seen = got; !done && !eof && seen < JSON_LINE_SCAN;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r <= 0) {
            eof = 1;
            break;
        }
        seen += r;
        done = line_scan_feed(&ls, buf, (size_t)r);
    }
    close(fd);
    *keyp = key;
    *knp = kn;
    int first_obj = i < n && head[i] == '{' && ls.last == '}';
    /* The second line one object whole, the first not: JSON Lines whose
     * first record was damaged (no JSON document reads so). Skipped, the
     * file's articles would all be deleted without a word; read, the bad
     * line is reported as a .jsonl's is. */
    int second_obj = ls.next == '{' && ls.next_last == '}' &&
                     (done || (eof && ls.line >= 1));
    if ((first_obj && ls.next == '{') || (!first_obj && second_obj))
        return JH_LINES;
    if (i == n || head[i] != '{')
        return JH_NONE;
    if (first_obj && ls.next == 0 && eof && key == NULL)
        return JH_LINE;
    return JH_OBJECT;
}

/*
 * The advice for a convertible file (see convertible()), from its first
 * bytes: JSON Lines saved as .json (the HuffPost dataset's
 * News_Category_Dataset_v3.json) is only misnamed; a JSON array or an
 * object holding one (a NewsAPI answer: {"articles": [...]}) and a CSV
 * export take a one-line conversion. Written into buf as "; ..."; "" when
 * there is nothing to say.
 */
static const char *other_hint(const char *path, char *buf, size_t cap)
{
    int pk = packed_kind(path);
    if (pk >= 0 && packed[pk].tar == 1) {
        snprintf(buf, cap, "; a tar archive: unpack it first (mkdir DIR; "
                           "%s ARCHIVE -C DIR) and index DIR",
                 packed[pk].tool);
        return buf;
    }
    if (pk >= 0 && packed[pk].tar == 2) {
        snprintf(buf, cap, "; a zip archive: unpack it first (unzip "
                           "ARCHIVE -d DIR) and index DIR");
        return buf;
    }
    if (pk >= 0) {
        /* .jsonl.bz2: only gzip and zstd are read as they are */
        size_t n = strlen(path) - strlen(packed[pk].suffix);
        static const char *const exts[] = {".jsonl", ".txt", ".md",
                                           ".html", ".htm"};
        for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
            size_t k = strlen(exts[i]);
            if (n >= k && strncasecmp(path + n - k, exts[i], k) == 0) {
                snprintf(buf, cap, "; %s is read compressed with gzip or "
                                   "zstd only: recompress it, e.g. %s "
                                   "in%s%s | zstd -q -o in%s.zst",
                         exts[i], packed[pk].tool, exts[i],
                         packed[pk].suffix, exts[i]);
                return buf;
            }
        }
        snprintf(buf, cap, "; compressed: decompress it first (%s FILE > "
                           "NAME) and index what it holds",
                 packed[pk].tool);
        return buf;
    }
    if (has_suffix(path, ".csv")) {
        snprintf(buf, cap,
                 "; a CSV file: convert it to JSON Lines, e.g. python3 -c "
                 "'import csv,json,sys; csv.field_size_limit(1<<30); "
                 "[print(json.dumps({\"id\": i, **r})) for i, r in "
                 "enumerate(csv.DictReader(sys.stdin), 1)]' < in.csv > "
                 "out.jsonl (the row number is the id unless a column is "
                 "named id), then map its columns with --field (body=text, "
                 "...)");
        return buf;
    }
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    if (strchr(base, '.') == NULL) {
        snprintf(buf, cap,
                 "; files without an extension are skipped: if they are "
                 "articles, name them .txt, e.g. find DIR -type f ! -name "
                 "'*.*' -exec mv {} {}.txt ';'");
        return buf;
    }
    char head[JSON_HEAD];
    const char *key = NULL;
    size_t kn = 0;
    switch (json_head(path, head, &key, &kn)) {
    case JH_ARRAY:
        snprintf(buf, cap, "; it holds a JSON array: convert it to one "
                           "object a line, e.g. jq -c '.[]' in.json > "
                           "out.jsonl");
        return buf;
    case JH_LINE:
        snprintf(buf, cap, "; it looks like JSON Lines (one object a "
                           "line): name it .jsonl (or link it: ln -s "
                           "in.json in.jsonl)");
        return buf;
    case JH_OBJECT:
        break;
    default:
        return "";
    }
    if (key == NULL || kn == 0 || kn > 40 || !jq_name(key, kn)) {
        key = "KEY";
        kn = 3;
    }
    snprintf(buf, cap, "; it holds one JSON object: if the articles are in "
                       "an array member, take them one a line, e.g. jq -c "
                       "'.%.*s[]' in.json > out.jsonl",
             (int)kn, key);
    return buf;
}

/* What the file at path (rel: its name in the walk) is: by its name,
 * and a .json file holding JSON Lines (two lines that are objects at its
 * start; one object alone, an array or an API answer is not: the message
 * says how to convert those) is read as JSON Lines. */
static int path_kind(const char *path, const char *rel)
{
    int kind = file_kind(rel);
    if (kind == KIND_OTHER && has_suffix(rel, ".json")) {
        char head[JSON_HEAD];
        const char *key;
        size_t kn;
        if (json_head(path, head, &key, &kn) == JH_LINES)
            kind = KIND_JSONL;
    }
    return kind;
}

/* Pre-walk: sum the sizes of the files the real walk will read. */
/* The pre-walk's total, each file once: a link to a directory read
 * anyway counted its files twice, and the progress never reached them. */
static int hset_add(hset *t, uint64_t h);
static void hset_free(hset *t);

typedef struct sum_walk {
    uint64_t total;
    hset seen; /* (device, inode) of the files counted */
} sum_walk;

static int sum_file(void *payload, const trawl_walk_entry *e)
{
    sum_walk *sw = payload;
    if (path_kind(e->path, e->rel) == KIND_OTHER)
        return 0;
    uint64_t v[2] = {(uint64_t)e->st->st_dev, (uint64_t)e->st->st_ino};
    uint64_t h = XXH3_64bits(v, sizeof(v));
    if (e->st->st_ino == 0 || hset_add(&sw->seen, h != 0 ? h : 1) != 1)
        sw->total += (uint64_t)e->st->st_size;
    return 0;
}

static void ignore_problem(void *payload, const char *path, const char *reason,
                           int e)
{
    (void)payload;
    (void)path;
    (void)e;
    (void)reason;
}

/* ---- test hook -------------------------------------------------------- */

static void crash_if(const char *phase)
{
    const char *at = getenv("TRAWL_TEST_CRASH_AT");
    if (at != NULL && strcmp(at, phase) == 0)
        raise(SIGKILL);
}

/* Make r->buf hold at least cap bytes (contents kept). 0 or -1. */
static int buf_reserve(run *r, size_t cap)
{
    if (r->cap >= cap)
        return 0;
    char *p = realloc(r->buf, cap);
    if (p == NULL)
        return -1;
    r->buf = p;
    r->cap = cap;
    return 0;
}

/* Give back a buffer a long line or a large text file made big. */
static void buf_shrink(run *r, size_t keep)
{
    if (r->cap > JSONL_BUF && keep <= JSONL_BUF) {
        char *p = realloc(r->buf, JSONL_BUF);
        if (p != NULL) {
            r->buf = p;
            r->cap = JSONL_BUF;
        }
    }
}

/* The run ends: out of memory. */
static void fatal_nomem(run *r, const char *path)
{
    trawl_err_set(&r->err, TRAWL_ENOMEM, "out of memory reading %s", path);
    r->fatal = 1;
}

/*
 * Read a text file into r->buf (NUL-terminated), at most MAX_TEXT bytes.
 * 0; 1 when the file is larger (nothing indexed); -1 with errno.
 */
static int read_text(run *r, int fd, const struct stat *st, size_t *len_out)
{
    size_t len = 0;

    if ((uint64_t)st->st_size > MAX_TEXT)
        return 1;
    size_t want = st->st_size > 0 ? (size_t)st->st_size + 1 : 4096;
    for (;;) {
        if (len + 1 >= r->cap || want > r->cap) {
            size_t cap = r->cap ? r->cap : 65536;
            while (cap < want || cap <= len + 1)
                cap *= 2;
            if (buf_reserve(r, cap) < 0) {
                errno = ENOMEM;
                return -1;
            }
        }
        ssize_t n = read(fd, r->buf + len, r->cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > MAX_TEXT)
            return 1; /* it grew while we read it */
        want = len + 1; /* the file may have grown: keep reading */
    }
    r->buf[len] = '\0';
    *len_out = len;
    return 0;
}

/*
 * The same for a compressed text file (gzip or zstd: src_kind_of), read
 * through a src: what is bounded is the decompressed size (a gzip bomb is
 * refused, not inflated without end). 0; 1 when larger than MAX_TEXT; -1
 * with errno ENOMEM, or with *why (damaged or cut short data, a read
 * error). r->inflated counts what it gave beyond its size on disk.
 */
static int read_text_z(run *r, int fd, int kind, size_t *len_out,
                       const char **why)
{
    size_t len = 0;
    src *in = src_open(fd, kind);
    *why = NULL;
    if (in == NULL) {
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    for (;;) {
        if (len + 1 >= r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 65536;
            if (cap > MAX_TEXT + 2)
                cap = MAX_TEXT + 2;
            if (cap <= r->cap || buf_reserve(r, cap) < 0) {
                errno = ENOMEM;
                rc = -1;
                break;
            }
        }
        ssize_t n = src_read(in, r->buf + len, r->cap - len - 1, why);
        if (n < 0) {
            errno = 0;
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > MAX_TEXT) {
            rc = 1;
            break;
        }
    }
    r->inflated = r->inflated_base + (int64_t)len -
                  (int64_t)src_consumed(in);
    r->inflated_base = r->inflated;
    src_close(in);
    if (rc == 0) {
        r->buf[len] = '\0';
        *len_out = len;
    }
    return rc;
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

/* One more article handled (added or kept): the crash hook and progress. */
static void counted(run *r)
{
    if (r->crash_after != 0 && r->articles + r->kept == r->crash_after)
        raise(SIGKILL); /* TRAWL_TEST_CRASH_AT=add:N */
    if (r->stop_after != 0 && r->articles + r->kept == r->stop_after)
        raise(SIGSTOP); /* TRAWL_TEST_CRASH_AT=stop:N */
    progress_tick(r, 0);
}

/* Hand one parsed article to the writer; reports problems. */
static void add_article(run *r, const trawl_article *a, const char *path,
                        unsigned long line, int try_keep)
{
    trawl_err *err = &r->add_err;
    int rc;

    trawl_err_clear(err);
    /* An article whose id could not be known before parsing (an escaped
     * JSON id, a file name that is not UTF-8) may still be unchanged:
     * counted as kept, not added, so that an unchanged rerun commits
     * nothing. */
    if (try_keep && a->fingerprint != 0 && !r->full &&
        trawl_writer_can_keep(r->w)) {
        rc = trawl_writer_keep(r->w, a->id, a->id_len, a->fingerprint, err);
        if (rc == 1) {
            r->kept++;
            counted(r);
            return;
        }
        if (rc < 0) {
            r->err = *err;
            r->err.code = rc;
            r->fatal = 1;
            return;
        }
    }
    rc = trawl_writer_add(r->w, a, err);
    if (rc == 0) {
        r->articles++;
        counted(r);
        return;
    }
    if (rc == TRAWL_EINVAL) {
        bad_input(r, path, line, line > 0,
                  err->msg[0] ? err->msg : trawl_strerror(rc), a->id,
                  a->id_len);
        return;
    }
    /* Out of memory or an I/O error while spilling: the run is over. */
    r->err = *err;
    if (r->err.msg[0] == '\0')
        snprintf(r->err.msg, sizeof(r->err.msg), "%s", trawl_strerror(rc));
    r->err.code = rc;
    r->fatal = 1;
}

/* Add the nonzero hash h to a set: 1 if it was there, 0 if added, -1 out
 * of memory. Open addressing, 0 = free slot. */
static int hset_add(hset *t, uint64_t h)
{
    if (t->n * 2 >= t->mask) {
        size_t cap = t->mask ? (t->mask + 1) * 2 : 1024;
        uint64_t *v = calloc(cap, sizeof(*v));
        if (v == NULL)
            return -1;
        for (size_t i = 0; t->mask != 0 && i <= t->mask; i++) {
            if (t->v[i] == 0)
                continue;
            size_t k = (size_t)t->v[i] & (cap - 1);
            while (v[k] != 0)
                k = (k + 1) & (cap - 1);
            v[k] = t->v[i];
        }
        free(t->v);
        t->v = v;
        t->mask = cap - 1;
    }
    size_t k = (size_t)h & t->mask;
    while (t->v[k] != 0) {
        if (t->v[k] == h)
            return 1;
        k = (k + 1) & t->mask;
    }
    t->v[k] = h;
    t->n++;
    return 0;
}

static void hset_free(hset *t)
{
    free(t->v);
    memset(t, 0, sizeof(*t));
}

/* Set key (nonzero) to val in m; *old gets its previous value, 0 if it
 * had none. 0, or -1 out of memory. */
static int hmap_put(hmap *m, uint64_t key, uint64_t val, uint64_t *old)
{
    if (m->n * 2 >= m->mask) {
        size_t cap = m->mask ? (m->mask + 1) * 2 : 1024;
        uint64_t *k = calloc(cap, sizeof(*k)), *v = calloc(cap, sizeof(*v));
        if (k == NULL || v == NULL) {
            free(k);
            free(v);
            return -1;
        }
        for (size_t i = 0; m->mask != 0 && i <= m->mask; i++) {
            if (m->k[i] == 0)
                continue;
            size_t j = (size_t)m->k[i] & (cap - 1);
            while (k[j] != 0)
                j = (j + 1) & (cap - 1);
            k[j] = m->k[i];
            v[j] = m->v[i];
        }
        free(m->k);
        free(m->v);
        m->k = k;
        m->v = v;
        m->mask = cap - 1;
    }
    size_t j = (size_t)key & m->mask;
    while (m->k[j] != 0 && m->k[j] != key)
        j = (j + 1) & m->mask;
    *old = m->k[j] == key ? m->v[j] : 0;
    if (m->k[j] == 0)
        m->n++;
    m->k[j] = key;
    m->v[j] = val;
    return 0;
}

static void hmap_free(hmap *m)
{
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof(*m));
}

/*
 * A JSON line whose id an earlier line of this run had, with the same
 * bytes as the last of them (an article in two daily dumps): 1, to skip
 * it, as the later copy wins and is the same. Else 0, and it is now that
 * id's last line; -1 out of memory. Such a copy made the writer count its
 * article as updated, and every rerun of an unchanged corpus committed.
 * Only asked on a rerun (a first build just adds both copies, the later
 * winning): 32 bytes per article then.
 */
static int jsonl_same_again(run *r, const char *id, size_t len, uint64_t fp)
{
    uint64_t h = XXH3_64bits(id, len), old;
    if (hmap_put(&r->jsonl_ids, h != 0 ? h : 1, fp, &old) < 0)
        return -1;
    return old == fp;
}

/*
 * Remember the id of a .txt/.md article: 1 if an earlier file of this run
 * had it too (the same relative name under two PATHs, or names that differ
 * only in invalid UTF-8), 0 if not, -1 out of memory. Ids are compared by
 * a 64-bit hash.
 */
static int id_seen(run *r, const char *id, size_t len)
{
    uint64_t h = XXH3_64bits(id, len);
    return hset_add(&r->ids, h != 0 ? h : 1);
}

/* An article file already read in this run (a PATH given twice, a file
 * inside a directory also given, a link to it: a symbolic link to the file
 * or to a directory above it, or a hard link): 1, else 0 (noted now), -1
 * out of memory. Reading a .jsonl file again would only replace each of
 * its articles by itself, and make them count as updated; a text file
 * again would be the same article twice under two ids, a duplicate in
 * every result list (a "latest" link to the day's directory). */
static int file_seen(run *r, const struct stat *st)
{
    /* Its size and times too: a feed that deletes old articles and
     * writes new ones while the run reads them may get a freed inode
     * number again, for another file (a .jsonl skipped so would lose its
     * articles until the next run); and a file system that makes up its
     * inode numbers (some FUSE and network ones) had better not make two
     * files one. A .jsonl appended to between its two names is read
     * twice: harmless, the later copy of an id wins. No inode at all: no
     * telling. */
    if (st->st_ino == 0)
        return 0;
    uint64_t v[7] = {(uint64_t)st->st_dev,
                     (uint64_t)st->st_ino,
                     (uint64_t)st->st_size,
                     (uint64_t)st->st_mtim.tv_sec,
                     (uint64_t)st->st_mtim.tv_nsec,
                     (uint64_t)st->st_ctim.tv_sec,
                     (uint64_t)st->st_ctim.tv_nsec};
    uint64_t h = XXH3_64bits(v, sizeof(v));
    return hset_add(&r->inodes, h != 0 ? h : 1);
}

/* Files met again, noted one by one up to LINE_NOTES a run, then counted
 * (a link to a directory of thousands of articles); not with --quiet: a
 * "latest" link is no problem, and a cron job's mail would say so on
 * every run. */
static void again_note(run *r, const char *path)
{
    if (r->again++ < LINE_NOTES && !r->quiet)
        note(path, 0, "the same file was read earlier in this run (a PATH "
                      "given twice, or a link): skipped");
}

/*
 * The fingerprint of a text article: a hash of its bytes (and of
 * TEXT_FP_VERSION, to be raised whenever trawl_article_parse_text would
 * read the same bytes differently), mixed with the file's modification
 * time only when that time gave the article its date. A rerun tries both
 * forms with trawl_writer_keep: an unchanged file is kept without being
 * parsed, and touching a file whose date comes from its text changes
 * nothing.
 */
#define TEXT_FP_VERSION 16

/* The same for a JSON Lines line: the seed of its hash, raised whenever
 * trawl_article_parse_json would read the same line differently (2:
 * author lists, Reuters-21578's dates), so that a rerun reads every line
 * again once instead of keeping what an older reader made of it. */
#define JSON_FP_VERSION 2
#define JSON_FP_SEED (0x6a736f6e6c667000ull + JSON_FP_VERSION)

/* The same for a web page: raised whenever trawl_html_page_read (or
 * parse_html) would read the same bytes into another article. */
#define HTML_FP_VERSION 1

static uint64_t text_fingerprint(const char *text, size_t len, int html)
{
    uint64_t seed = html ? 0x7472617768746d00ull + HTML_FP_VERSION
                         : 0x7472617774787400ull + TEXT_FP_VERSION;
    uint64_t h = XXH3_64bits_withSeed(text, len, seed);
    return h != 0 ? h : 1;
}

static uint64_t text_fingerprint_mtime(uint64_t fp, int64_t mtime)
{
    uint64_t v[2] = {fp, (uint64_t)mtime};
    uint64_t h = XXH3_64bits(v, sizeof(v));
    return h != 0 ? h : 1;
}

/* 1 if text starts with a UTF-16 byte order mark (FF FE or FE FF). */
static int utf16_bom(const char *text, size_t len)
{
    const unsigned char *b = (const unsigned char *)text;
    return len >= 2 && (b[0] == 0xff || b[0] == 0xfe) && (b[0] ^ b[1]) == 1;
}

/*
 * A web page (*.html, *.htm) as an article: its bytes made UTF-8 (a byte
 * order mark, else the charset the page declares, else UTF-8 when they
 * are, else as a text file's: a legacy encoding of another script, or
 * Windows-1252 for the bytes that are not UTF-8), then read by
 * trawl_html_page_read. Returns as trawl_article_parse_text does; the
 * notes on its encoding are made here (a->replaced stays 0).
 */
static int parse_html(run *r, const trawl_walk_entry *e, const char *text,
                      size_t len, trawl_article *a, trawl_err *err)
{
    char *conv = NULL, cs_buf[64];
    size_t conv_len = 0, bad = 0, id_bad = 0;
    const char *enc_note = NULL, *cs = NULL;
    char note_buf[160];
    unsigned long note_line = 0;
    int rc;

    memset(a, 0, sizeof(*a));
    a->date = TRAWL_NO_DATE;
    while (len > 0 && text[len - 1] == '\0')
        len--;
    const unsigned char *u = (const unsigned char *)text;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
        cs = "UTF-8";
    } else if (utf16_bom(text, len)) {
        cs = u[0] == 0xff ? "UTF-16LE" : "UTF-16BE";
        text += 2;
        len -= 2;
    } else if (memchr(text, 0, len) != NULL) {
        return trawl_err_set(err, TRAWL_EINVAL, "binary file (a NUL byte): "
                                                "not a web page");
    } else {
        cs = trawl_html_charset(text, len, cs_buf, sizeof(cs_buf));
    }
    if (cs != NULL && strcmp(cs, "UTF-8") != 0) {
        int k = trawl_to_utf8(cs, text, len, &conv, &conv_len, &bad);
        if (k < 0)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        if (k == 0) {
            snprintf(note_buf, sizeof(note_buf),
                     "the page's charset \"%.40s\" is not known: read as "
                     "UTF-8",
                     cs);
            enc_note = note_buf;
        } else if (bad > 0) {
            snprintf(note_buf, sizeof(note_buf),
                     "%zu byte%s not %s replaced by U+FFFD", bad,
                     bad == 1 ? "" : "s", cs);
            enc_note = note_buf;
        }
    }
    if (conv == NULL && !trawl_utf8_valid(text, len)) {
        const char *name = NULL;
        int k = cs == NULL ? trawl_legacy_to_utf8(text, len, &conv,
                                                  &conv_len, &name)
                           : 0;
        if (k == 0 && trawl_cp1252_repair(text, len, &conv, &conv_len,
                                          &bad) < 0)
            k = -1;
        if (k < 0)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        if (k == 1) {
            snprintf(note_buf, sizeof(note_buf), "not UTF-8: read as %s",
                     name);
        } else {
            snprintf(note_buf, sizeof(note_buf),
                     "not UTF-8: %zu byte%s read as Windows-1252 (Latin-1)",
                     bad, bad == 1 ? "" : "s");
            note_line = first_bad_utf8_line(text, len);
        }
        enc_note = note_buf;
    }
    if (conv != NULL && memchr(conv, 0, conv_len) != NULL) {
        free(conv);
        return trawl_err_set(err, TRAWL_EINVAL, "binary file (a NUL byte): "
                                                "not a web page");
    }
    trawl_html_page pg;
    rc = trawl_html_page_read(conv ? conv : text, conv ? conv_len : len, &pg);
    free(conv);
    if (rc < 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    if (pg.body_len == 0) {
        trawl_html_page_free(&pg);
        return trawl_err_set(err, TRAWL_EINVAL,
                             "empty article (no text in the page)");
    }
    if (trawl_utf8_sanitize(e->rel, strlen(e->rel), &a->id, &a->id_len,
                            &id_bad) < 0) {
        trawl_html_page_free(&pg);
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }
    /* libxml2 gives UTF-8; made sure of, as the writer wants it */
    char **f[] = {&pg.title, &pg.body, &pg.author, &pg.url};
    size_t *fl[] = {&pg.title_len, &pg.body_len, &pg.author_len,
                    &pg.url_len};
    for (int i = 0; i < 4; i++) {
        char *c;
        size_t cn;
        if (*f[i] == NULL || trawl_utf8_valid(*f[i], *fl[i]))
            continue;
        if (trawl_utf8_sanitize(*f[i], *fl[i], &c, &cn, NULL) < 0) {
            trawl_html_page_free(&pg);
            trawl_article_clear(a);
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        }
        free(*f[i]);
        *f[i] = c;
        *fl[i] = cn;
    }
    a->title = pg.title;
    a->title_len = pg.title_len;
    a->body = pg.body;
    a->body_len = pg.body_len;
    a->author = pg.author;
    a->author_len = pg.author_len;
    a->url = pg.url;
    a->url_len = pg.url_len;
    a->date = pg.date;
    if (enc_note != NULL) {
        note(e->path, note_line, enc_note);
        r->repaired++;
    }
    if (id_bad > 0) {
        note(e->path, 0, "file name is not UTF-8 (U+FFFD in its id)");
        r->repaired++;
    }
    if (pg.bad_date && pg.date == TRAWL_NO_DATE)
        note(e->path, 0, "publication date not understood; dated by the "
                         "file's modification time");
    return 0;
}

static void text_added(run *r, const trawl_walk_entry *e, trawl_article *a,
                       int id_known);

static void index_text(run *r, const trawl_walk_entry *e, const char *text,
                       size_t len, int html)
{
    trawl_article a;
    trawl_err err;

    memset(&a, 0, sizeof(a));
    trawl_err_clear(&err);
    int64_t mtime = (int64_t)e->st->st_mtim.tv_sec;
    uint64_t fp = text_fingerprint(text, len, html);
    uint64_t fp_mtime = text_fingerprint_mtime(fp, mtime);
    size_t rel_len = strlen(e->rel);
    /* The id is the relative name as it is (a name that is not UTF-8 is
     * repaired by the parser: such a file is parsed first). */
    int id_known = trawl_utf8_valid(e->rel, rel_len);
    if (!r->full && trawl_writer_can_keep(r->w) && id_known) {
        int rc = trawl_writer_keep(r->w, e->rel, rel_len, fp, &err);
        if (rc == 0)
            rc = trawl_writer_keep(r->w, e->rel, rel_len, fp_mtime, &err);
        if (rc == 1) {
            /* the writer had not seen the id in this run: neither had we */
            if (id_seen(r, e->rel, rel_len) < 0) {
                fatal_nomem(r, e->path);
                return;
            }
            r->kept++;
            r->skipped++;
            counted(r);
            return;
        }
        if (rc < 0) {
            r->err = err;
            r->err.code = rc;
            r->fatal = 1;
            return;
        }
    }

    /* Text that is not UTF-8 is read as Windows-1252 by the parser,
     * unless it is a legacy encoding of another script (encoding.h). */
    char *conv = NULL;
    size_t conv_len = 0;
    const char *enc = NULL;
    if (html) {
        int rc = parse_html(r, e, text, len, &a, &err);
        if (rc == 0) {
            a.fingerprint = fp;
            if (a.date == TRAWL_NO_DATE) {
                a.date = mtime;
                a.fingerprint = fp_mtime;
            }
        } else if (rc == TRAWL_ENOMEM) {
            r->err = err;
            r->err.code = rc;
            r->fatal = 1;
            return;
        } else {
            bad_input(r, e->path, 0, 0, err.msg,
                      id_known ? e->rel : NULL, rel_len);
            return;
        }
        text_added(r, e, &a, id_known);
        return;
    }
    if (!trawl_utf8_valid(text, len) &&
        !utf16_bom(text, len) &&
        memchr(text, 0, len) == NULL) {
        int k = trawl_legacy_to_utf8(text, len, &conv, &conv_len, &enc);
        if (k < 0) {
            fatal_nomem(r, e->path);
            return;
        }
    }

    /* Parsed without a fallback date first, to know where the date
     * came from (the same article as with the fallback). */
    int rc = trawl_article_parse_text(&a, e->rel, conv ? conv : text,
                                      conv ? conv_len : len, TRAWL_NO_DATE,
                                      &err);
    free(conv);
    int by_mtime = 0;
    if (rc == 0) {
        a.fingerprint = fp;
        if (a.date == TRAWL_NO_DATE) {
            a.date = mtime;
            a.fingerprint = fp_mtime;
            by_mtime = 1;
        }
    }
    if (rc == TRAWL_ENOMEM) {
        r->err = err;
        r->err.code = rc;
        r->fatal = 1;
        return;
    }
    if (rc < 0) {
        bad_input(r, e->path, 0, 0, err.msg[0] ? err.msg : trawl_strerror(rc),
                  id_known ? e->rel : NULL, rel_len);
        return;
    }
    if (enc != NULL) {
        char msg[96];
        snprintf(msg, sizeof(msg), "not UTF-8: read as %s", enc);
        note(e->path, 0, msg);
        r->repaired++;
    }
    if (a.replaced > 0) {
        char msg[160];
        /* UTF-16 (with its byte order mark) was decoded by the parser */
        int wide = utf16_bom(text, len);
        unsigned long line = 0;
        if (wide) {
            snprintf(msg, sizeof(msg),
                     "invalid UTF-16 (%zu sequence%s replaced by U+FFFD)",
                     a.replaced, a.replaced == 1 ? "" : "s");
        } else if ((line = first_bad_utf8_line(text, len)) != 0) {
            snprintf(msg, sizeof(msg),
                     "not UTF-8: %zu byte%s read as Windows-1252 (Latin-1)",
                     a.replaced, a.replaced == 1 ? "" : "s");
        } else {
            snprintf(msg, sizeof(msg),
                     "file name is not UTF-8 (U+FFFD in its id)");
        }
        note(e->path, line, msg);
        r->repaired++;
    }
    if (a.bad_date_line > 0) {
        note(e->path, a.bad_date_line,
             by_mtime ? "date not understood; dated by the file's "
                        "modification time"
                      : "date not understood; dated by a line of the text");
    }
    text_added(r, e, &a, id_known);
}

/* A parsed text article (or page) to the writer; a is cleared. */
static void text_added(run *r, const trawl_walk_entry *e, trawl_article *a,
                       int id_known)
{
    int dup = id_seen(r, a->id, a->id_len);
    if (dup < 0) {
        trawl_article_clear(a);
        fatal_nomem(r, e->path);
        return;
    }
    if (dup) {
        /* the writer keeps the later of two articles with one id */
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "duplicate id \"%.*s\": an earlier file of this run has "
                 "the same id, this one replaces it",
                 (int)(a->id_len > 256 ? 256 : a->id_len), a->id);
        note(e->path, 0, msg);
        r->bad++;
    }
    add_article(r, a, e->path, 0, !id_known && !dup);
    trawl_article_clear(a);
}

/*
 * The id of a line that is not valid JSON (cut short by a crashed
 * export, a stray byte later in the line) when it starts as records
 * usually do: `{"id":` (the member --field names for the id) and a
 * string without escapes or a decimal
 * integer, then `,`. 1 and the id in *out, else 0. An integer beyond 64
 * bits (a uint64 id) is its digits, as the parser reads it, as long as
 * it fits out->num.
 */
static int id_in_prefix(const char *s, size_t n, const char *key,
                        size_t key_len, jsonid *out)
{
    const char *p = s, *end = s + n;
#define SKIP_WS()                                                           \
    while (p < end && (*p == ' ' || *p == '\t'))                            \
    p++
    SKIP_WS();
    if (end - p < 5 || *p != '{')
        return 0;
    p++;
    SKIP_WS();
    if ((size_t)(end - p) < key_len + 2 || *p != '"' ||
        memcmp(p + 1, key, key_len) != 0 || p[key_len + 1] != '"')
        return 0;
    p += key_len + 2;
    SKIP_WS();
    if (p == end || *p++ != ':')
        return 0;
    SKIP_WS();
    const char *v = p;
    if (p < end && *p == '"') {
        v = ++p;
        while (p < end && *p != '"' && *p != '\\' &&
               (unsigned char)*p >= 0x20)
            p++;
        if (p == end || *p != '"' || p == v ||
            !trawl_utf8_valid(v, (size_t)(p - v)))
            return 0;
        out->id = v;
        out->len = (size_t)(p - v);
        p++;
    } else {
        if (p < end && *p == '-')
            p++;
        const char *d = p;
        while (p < end && *p >= '0' && *p <= '9' &&
               p - v < (ptrdiff_t)sizeof(out->num) - 1)
            p++;
        if (p == d || (*d == '0' && p - d > 1) ||
            (p < end && *p >= '0' && *p <= '9'))
            return 0;
        out->len = (size_t)(p - v);
        memcpy(out->num, v, out->len);
        out->num[out->len] = '\0';
        out->id = out->num;
    }
    SKIP_WS();
#undef SKIP_WS
    return p < end && (*p == ',' || *p == '}');
}

/*
 * The id of a line that is valid JSON but no article (no body), whose id
 * the scanners leave to the parser: written with escapes, as Python's
 * json.dumps writes every non-ASCII character ("caf\u00e9") and PHP's
 * json_encode every slash ("https:\/\/..."). The id as the parser
 * would store it, into out->num or a malloc'd *owned; 1, else 0.
 */
static int id_from_json(const char *s, size_t n, const char *key,
                        jsonid *out, char **owned)
{
    json_error_t je;
    json_t *root = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
    int ok = 0;
    *owned = NULL;
    json_t *v = json_is_object(root) ? json_object_get(root, key) : NULL;
    if (json_is_string(v) && json_string_length(v) > 0 &&
        memchr(json_string_value(v), '\0', json_string_length(v)) == NULL &&
        (*owned = malloc(json_string_length(v))) != NULL) {
        memcpy(*owned, json_string_value(v), json_string_length(v));
        out->id = *owned;
        out->len = json_string_length(v);
        ok = 1;
    } else if (json_is_integer(v)) {
        snprintf(out->num, sizeof(out->num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        out->id = out->num;
        out->len = strlen(out->num);
        ok = 1;
    }
    json_decref(root);
    return ok;
}

/* A member name no record has: --field date=<it> reads no date. */
#define NO_DATE_KEY "\x01trawl: no date"

/* A one-line field (title, author) that is HTML becomes its text, on
 * one line. */
static void html_line(char **s, size_t *len)
{
    char *t;
    size_t n;
    if (*s != NULL && trawl_html_like(*s, *len) &&
        trawl_html_text(*s, *len, &t, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            if (t[i] == '\n')
                t[i] = ' ';
        free(*s);
        *s = t;
        *len = n;
    }
}

/*
 * A JSON body (or title, or byline) that is HTML becomes its text
 * (html.h): feeds put the markup there (a byline "<a href=...>Jane
 * Doe</a>" made author:href match). Markup libxml2 cannot read at all
 * stays as it is (its words are still found).
 */
static void html_to_text(trawl_article *a)
{
    char *t;
    size_t n;
    if (trawl_html_like(a->body, a->body_len) &&
        trawl_html_text(a->body, a->body_len, &t, &n) == 0) {
        free(a->body);
        a->body = t;
        a->body_len = n;
    }
    html_line(&a->title, &a->title_len);
    html_line(&a->author, &a->author_len);
}

/*
 * One JSON line (without its newline). An article whose id the previous
 * generation holds with the same hash of the raw line is kept without
 * parsing; any other is parsed and added with that hash as fingerprint.
 */
/*
 * Members that hold an article's date under another name (news-please's
 * "date_publish", NewsAPI's "publishedAt", SaudiNewsNet's
 * "date_extracted", RSS's "pubDate", ...): the first one an undated
 * article has among its extra fields, when no --field date= is given;
 * else NULL. A file whose articles are all undated is then named with
 * the option, instead of silently listing nothing by date.
 */
static const char *member_hint(const trawl_article *a,
                               const char *const keys[], size_t nkeys);

static const char *undated_hint(const run *r, const trawl_article *a)
{
    static const char *const keys[] = {
        "date_publish", "publishedAt",  "published_at", "published",
        "pubDate",      "datePublished", "date_published", "publish_date",
        "created_at",   "timestamp",    "date_extracted", "time"};
    if (r->fields != NULL && r->fields->date != NULL)
        return NULL;
    return member_hint(a, keys, sizeof(keys) / sizeof(keys[0]));
}

/* The same for titles: the HuffPost dataset's "headline", schema.org's
 * and the like, when no --field title= is given. */
static const char *untitled_hint(const run *r, const trawl_article *a)
{
    static const char *const keys[] = {"headline", "Headline", "heading",
                                       "Title", "name", "subject"};
    if (r->fields != NULL && r->fields->title != NULL)
        return NULL;
    return member_hint(a, keys, sizeof(keys) / sizeof(keys[0]));
}

/* The first of keys[0..nkeys) that is a member of a's extra fields, not
 * null; else NULL. */
static const char *member_hint(const trawl_article *a,
                               const char *const keys[], size_t nkeys)
{
    if (a->extra == NULL)
        return NULL;
    for (size_t i = 0; i < nkeys; i++) {
        char q[40];
        snprintf(q, sizeof(q), "\"%s\":", keys[i]);
        const char *at = strstr(a->extra, q);
        /* A member's name, not text inside a value: after '{' or ','
         * (the extra fields are compact JSON), and not null. */
        if (at != NULL && (at[-1] == '{' || at[-1] == ',') &&
            strncmp(at + strlen(q), "null", 4) != 0)
            return keys[i];
    }
    return NULL;
}

static void index_json_line(run *r, const char *path, unsigned long line,
                            const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '\r')
        n--;
    /* A byte order mark before the first line (Windows tools write one). */
    if (line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3;
        n -= 3;
    }
    size_t k = 0;
    while (k < n && (s[k] == ' ' || s[k] == '\t'))
        k++;
    if (k == n)
        return; /* blank line */
    if (s[k] == '\0') {
        /* NUL bytes where a record should be: blocks a crash left
         * unwritten (the file kept its size). Which articles they hid is
         * unknown: the run deletes none it did not see. */
        if (!r->nul_noted) {
            line_note(r, path, line, "NUL bytes instead of a record (the "
                                     "file was damaged, e.g. by a crash "
                                     "while it was written): the articles "
                                     "of the previous index this run did "
                                     "not see are kept");
            r->unread++;
            r->nul_noted = 1;
        }
        r->bad++;
        return;
    }

    trawl_err err;
    trawl_err_clear(&err);
    /* Under a --field mapping the same line is another article; read by
     * another version of the reader, it may be too (JSON_FP_VERSION). */
    uint64_t h = XXH3_64bits_withSeed(s, n, r->fields_seed + JSON_FP_SEED);
    if (h == 0)
        h = 1; /* 0 means "no fingerprint" to the writer */
    jsonid id;
    int id_known = 0;
    int rerun = !r->full && trawl_writer_can_keep(r->w);
    if (rerun && jsonid_find_key(s, n, r->id_key, r->id_key_len, &id)) {
        id_known = 1;
        int same = jsonl_same_again(r, id.id, id.len, h);
        if (same < 0) {
            fatal_nomem(r, path);
            return;
        }
        if (same) {
            r->same_again++;
            counted(r);
            return;
        }
    }
    if (id_known) {
        int rc = trawl_writer_keep(r->w, id.id, id.len, h, &err);
        if (rc == 1) {
            r->kept++;
            r->skipped++;
            counted(r);
            return;
        }
        if (rc < 0) {
            r->err = err;
            r->err.code = rc;
            r->fatal = 1;
            return;
        }
    }

    trawl_article a;
    memset(&a, 0, sizeof(a));
    int rc = trawl_article_parse_json_fields(&a, s, n, r->fields, &err);
    if (rc == TRAWL_ENOMEM) {
        r->err = err;
        r->err.code = rc;
        r->fatal = 1;
        return;
    }
    if (rc == TRAWL_EINVAL) {
        /* A date that cannot be read ("02/01/2024", milliseconds):
         * the article is indexed without one, its date member kept
         * with its extra fields, rather than lost. */
        char why[sizeof(err.msg)];
        memcpy(why, err.msg, sizeof(why));
        trawl_err e2;
        trawl_err_clear(&e2);
        rc = trawl_article_parse_json_fields(&a, s, n, &r->undated, &e2);
        if (rc == 0) {
            char msg[sizeof(why) + 64];
            snprintf(msg, sizeof(msg), "%s: indexed without a date", why);
            line_note(r, path, line, msg);
            r->undated_n++;
        } else if (rc == TRAWL_ENOMEM) {
            err = e2;
        } else {
            rc = TRAWL_EINVAL; /* the first reason stands */
        }
        if (rc == TRAWL_ENOMEM) {
            r->err = err;
            r->err.code = rc;
            r->fatal = 1;
            return;
        }
    }
    if (rc < 0) {
        /* A record that is not an article (no body, bad JSON): the id
         * it names, if any, keeps its article. */
        char *owned = NULL;
        if (!id_known && rerun)
            id_known = jsonid_find_key(s, n, r->id_key, r->id_key_len,
                                       &id) ||
                       id_in_prefix(s, n, r->id_key, r->id_key_len, &id) ||
                       id_from_json(s, n, r->id_key, &id, &owned);
        bad_input(r, path, line, 1, err.msg[0] ? err.msg : trawl_strerror(rc),
                  id_known ? id.id : NULL, id_known ? id.len : 0);
        free(owned);
        return;
    }
    if (a.replaced > 0) {
        line_note(r, path, line, "unpaired surrogate escape (\\udXXX) "
                                 "replaced by U+FFFD");
        r->repaired++;
    }
    html_to_text(&a);
    if (a.date != TRAWL_NO_DATE)
        r->file_dated = 1;
    else if (r->date_other == NULL && !r->file_dated)
        r->date_other = undated_hint(r, &a);
    if (a.title_len > 0)
        r->file_titled = 1;
    else if (r->title_other == NULL && !r->file_titled)
        r->title_other = untitled_hint(r, &a);
    a.fingerprint = h;
    if (rerun && !id_known) {
        int same = jsonl_same_again(r, a.id, a.id_len, h);
        if (same != 0) {
            if (same < 0)
                fatal_nomem(r, path);
            else
                r->same_again++;
            trawl_article_clear(&a);
            return;
        }
    }
    add_article(r, &a, path, line, !id_known);
    trawl_article_clear(&a);
}

/*
 * Stream a .jsonl file line by line through r->buf: JSONL_BUF bytes, more
 * only while one line is longer, never more than MAX_LINE + 1.
 * buf[pos, have) holds bytes read and not yet consumed; buf[pos, pos +
 * scanned) is known to hold no newline.
 */
/* A .jsonl file none of whose articles has a `field` while they hold
 * `member` (see undated_hint): the option that reads it. */
static void other_member_note(const char *path, const char *field,
                              const char *indexed, const char *member)
{
    char msg[256];
    snprintf(msg, sizeof(msg),
             "no article has a \"%s\" (indexed %s); --field %s=%s reads the "
             "%ss from \"%s\"",
             field, indexed, field, member, field, member);
    note(path, 0, msg);
}

static void index_jsonl_lines(run *r, const trawl_walk_entry *e, src *in);

static void index_jsonl(run *r, const trawl_walk_entry *e, int fd)
{
    if (buf_reserve(r, JSONL_BUF) < 0) {
        fatal_nomem(r, e->path);
        return;
    }
    r->line_notes = r->lines_unshown = 0;
    r->nul_noted = 0;
    r->file_dated = 0;
    r->date_other = NULL;
    r->file_titled = 0;
    r->title_other = NULL;
    int kind = src_kind_of(e->rel);
    /* UTF-16 (Windows PowerShell's '>' writes it): every line would be
     * reported as bad JSON; say once what it is instead. */
    unsigned char bom[2];
    ssize_t got = kind == SRC_PLAIN ? pread(fd, bom, 2, 0) : 0;
    if (got == 2 && utf16_bom((const char *)bom, 2)) {
        note(e->path, 0, "UTF-16 text (it starts with a UTF-16 byte order "
                         "mark): JSON Lines must be UTF-8; convert it, e.g. "
                         "iconv -f UTF-16 -t UTF-8");
        r->bad++;
        return;
    }
    src *in = src_open(fd, kind);
    if (in == NULL) {
        fatal_nomem(r, e->path);
        return;
    }
    index_jsonl_lines(r, e, in);
    r->inflated_base = r->inflated;
    src_close(in);
    if (r->lines_unshown > 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%lu more line%s with problems not shown",
                 r->lines_unshown, r->lines_unshown == 1 ? "" : "s");
        note(e->path, 0, msg);
    }
    if (!r->file_dated && r->date_other != NULL)
        other_member_note(e->path, "date", "undated", r->date_other);
    if (!r->file_titled && r->title_other != NULL)
        other_member_note(e->path, "title", "untitled", r->title_other);
}

static void index_jsonl_lines(run *r, const trawl_walk_entry *e, src *in)
{
    uint64_t out_total = 0;
    size_t have = 0, pos = 0, scanned = 0;
    unsigned long line = 0;
    int eof = 0, skipping = 0;

    while (!r->fatal && !stop_signal) {
        char *nl = memchr(r->buf + pos + scanned, '\n',
                          have - pos - scanned);
        if (nl == NULL && !eof) {
            /* Need more: compact, grow for a long line, then read. */
            if (skipping) {
                have = pos = 0;
            } else {
                if (pos > 0) {
                    memmove(r->buf, r->buf + pos, have - pos);
                    have -= pos;
                    pos = 0;
                    buf_shrink(r, have);
                }
                if (have == r->cap) {
                    if (r->cap > MAX_LINE) {
                        char msg[96];
                        line++;
                        snprintf(msg, sizeof(msg),
                                 "line longer than %zu MiB, skipped",
                                 MAX_LINE >> 20);
                        jsonid id;
                        int known = !r->full && trawl_writer_can_keep(r->w) &&
                                    id_in_prefix(r->buf, have, r->id_key,
                                                 r->id_key_len, &id);
                        bad_input(r, e->path, line, 1, msg,
                                  known ? id.id : NULL, known ? id.len : 0);
                        skipping = 1;
                        have = 0;
                    } else {
                        size_t cap = r->cap * 2;
                        if (cap > MAX_LINE + 1)
                            cap = MAX_LINE + 1;
                        if (buf_reserve(r, cap) < 0) {
                            fatal_nomem(r, e->path);
                            return;
                        }
                    }
                }
            }
            scanned = have - pos;
            const char *why = NULL;
            ssize_t n = src_read(in, r->buf + have, r->cap - have, &why);
            if (n < 0) {
                /* what follows is unknown: nothing unseen is deleted */
                note(e->path, 0, why);
                r->bad++;
                r->unread++;
                return;
            }
            if (n == 0)
                eof = 1;
            have += (size_t)n;
            r->bytes += (uint64_t)n;
            out_total += (uint64_t)n;
            r->inflated = r->inflated_base + (int64_t)out_total -
                          (int64_t)src_consumed(in);
            r->file_left = have - pos; /* read, not yet indexed */
            continue;
        }
        size_t end = nl != NULL ? (size_t)(nl - r->buf) : have;
        if (nl == NULL && pos == have)
            break; /* the end of the file, after a newline */
        if (skipping) {
            skipping = 0; /* the end of the long line */
        } else {
            line++;
            index_json_line(r, e->path, line, r->buf + pos, end - pos);
        }
        pos = nl != NULL ? end + 1 : have;
        scanned = 0;
        r->file_left = have - pos;
        if (nl == NULL)
            break;
    }
}

static int on_file(void *payload, const trawl_walk_entry *e)
{
    run *r = payload;
    int kind = path_kind(e->path, e->rel);
    int jsonl = kind == KIND_JSONL;

    if (stop_signal)
        return 1;

    if (kind == KIND_OTHER) {
        char hint[512], msg[768];
        if (e->explicit_file) {
            snprintf(msg, sizeof(msg),
                     "not an article file (expected .txt, .md, .html, .htm, "
                     ".jsonl or .ndjson, also .gz or .zst, in any case, or "
                     "a .json file of JSON Lines)%s",
                     convertible(e->rel)
                         ? other_hint(e->path, hint, sizeof(hint))
                         : "");
            note(e->path, 0, msg);
            r->bad++;
        } else if (r->other == NULL && convertible(e->rel)) {
            r->other = strdup(e->path); /* NULL: no advice, no harm */
        }
        return 0;
    }
    r->found++;

    int fd = open(e->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int en = errno;
        struct stat lst;
        int lrc = en == ENOENT ? lstat(e->path, &lst) : 0;
        if (lrc < 0 && errno == ENOENT && !e->explicit_file) {
            /* Removed since the walk listed it (a feed pruning old
             * articles while the run reads): gone, and its article
             * goes, as if the run had started a moment later. */
            r->found--;
            return 0;
        }
        note(e->path, 0, en == ENOENT && lrc == 0 && S_ISLNK(lst.st_mode)
                             ? "dangling symbolic link (its target does "
                               "not exist)"
                             : strerror(en));
        r->bad++;
        if (en != ENOENT)
            r->unread++;
        return 0;
    }
    struct stat fst;
    int have_fst = fstat(fd, &fst) == 0;
    int seen = have_fst ? file_seen(r, &fst) : 0;
    if (seen != 0) {
        close(fd);
        if (seen < 0) {
            fatal_nomem(r, e->path);
            return 1;
        }
        again_note(r, e->path);
        return 0;
    }
    r->files++;
    if (jsonl) {
        uint64_t good = r->articles + r->kept + r->same_again;
        uint64_t bad = r->bad, unread = r->unread;
        index_jsonl(r, e, fd);
        /* Not one line of it indexed, only bad ones: a file damaged or
         * re-encoded (UTF-16), in another format, or read with the wrong
         * --field: which articles it held is unknown, so none that this
         * run did not see is deleted for it. */
        if (!r->fatal && !stop_signal && r->unread == unread &&
            r->articles + r->kept + r->same_again == good && r->bad > bad) {
            note(e->path, 0, "no line of it could be indexed: the articles "
                             "of the previous index this run did not see "
                             "are kept");
            r->unread++;
        }
        /* Written to while it was read (an export rewriting it in place,
         * or appending): the articles of its part that this run did not
         * see must not be deleted for it. */
        struct stat now;
        if (have_fst && !r->fatal && !stop_signal && fstat(fd, &now) == 0 &&
            (now.st_size != fst.st_size ||
             now.st_mtim.tv_sec != fst.st_mtim.tv_sec ||
             now.st_mtim.tv_nsec != fst.st_mtim.tv_nsec)) {
            note(e->path, 0, "changed while it was read (another program "
                             "writing it?): the articles of the previous "
                             "index this run did not see are kept; run "
                             "again once it is complete");
            if (r->unread == unread)
                r->unread++; /* one input, counted once */
        }
    } else {
        size_t len = 0;
        const char *why = NULL;
        int zkind = src_kind_of(e->rel);
        int rc = zkind == SRC_PLAIN
                     ? read_text(r, fd, e->st, &len)
                     : read_text_z(r, fd, zkind, &len, &why);
        if (rc < 0 && why != NULL) {
            /* damaged or cut short: not half an article; the one the
             * index has stays */
            bad_input(r, e->path, 0, 0, why,
                      trawl_utf8_valid(e->rel, strlen(e->rel)) ? e->rel : NULL,
                      strlen(e->rel));
        } else if (rc < 0 && errno == ENOMEM) {
            fatal_nomem(r, e->path);
        } else if (rc < 0) {
            note(e->path, 0, strerror(errno));
            r->bad++;
            r->unread++;
        } else if (rc > 0) {
            char msg[96];
            snprintf(msg, sizeof(msg), "file larger than %zu MiB%s, skipped",
                     MAX_TEXT >> 20,
                     zkind == SRC_PLAIN ? "" : " uncompressed");
            bad_input(r, e->path, 0, 0, msg,
                      trawl_utf8_valid(e->rel, strlen(e->rel)) ? e->rel : NULL,
                      strlen(e->rel));
        } else {
            r->bytes += len;
            r->file_left = len;
            index_text(r, e, r->buf, len, kind == KIND_HTML);
        }
        buf_shrink(r, 0);
    }
    close(fd);
    r->file_left = 0;
    progress_tick(r, 0);
    return r->fatal ? 1 : 0;
}

static void on_problem(void *payload, const char *path, const char *reason,
                       int e)
{
    run *r = payload;
    note(path, 0, reason);
    r->bad++;
    /* A dangling link or a loop is no loss; anything else may hide
     * articles that are still there. */
    if (e != 0 && e != ENOENT && e != ELOOP)
        r->unread++;
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

/* After "N bad inputs": how many of them kept their article. */
static void print_held(const run *r)
{
    char h[32];
    if (r->held > 0)
        printf(" (%s article%s kept as indexed before)",
               fmt_count(r->held, h, sizeof(h)), r->held == 1 ? "" : "s");
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
               ",\"bad\":%" PRIu64 ",\"bad_kept\":%" PRIu64
               ",\"undated\":%" PRIu64 ",\"repaired\":%" PRIu64
               ",\"skipped\":%" PRIu64 ",\"committed\":%s"
               ",\"elapsed_s\":%.3f}\n",
               st->generation, st->docs, st->added, st->updated, st->deleted,
               st->unchanged, st->terms, r->files, r->bytes, st->index_bytes,
               st->segments, st->runs, st->merges, r->bad, r->held,
               r->undated_n, r->repaired, r->skipped,
               r->no_changes ? "false" : "true", secs);
        return;
    }
    if (r->no_changes) {
        char u[32];
        printf("no changes: %s document%s unchanged",
               fmt_count(st->unchanged, u, sizeof(u)),
               st->unchanged == 1 ? "" : "s");
        if (st->unchanged != st->docs)
            printf(" (%s in the index)", fmt_count(st->docs, a, sizeof(a)));
        printf(", from %s in %.2f s; generation %" PRIu64 " kept (index %s "
               "in %u segment%s); %s bad input%s",
               fmt_bytes(r->bytes, b, sizeof(b)), secs, st->generation,
               fmt_bytes(st->index_bytes, ix, sizeof(ix)), st->segments,
               st->segments == 1 ? "" : "s",
               fmt_count(r->bad, bd, sizeof(bd)), r->bad == 1 ? "" : "s");
        print_held(r);
        printf("\n");
        return;
    }
    if (r->merge_only) {
        /* Nothing was read: "indexed N documents (0 added, ... 0
         * unchanged) from 0 B (0.00 MB/s)" said what did not happen. */
        printf("merged %s document%s in %.2f s; %s terms; index %s in %u "
               "segment%s; generation %" PRIu64 "\n",
               fmt_count(st->docs, a, sizeof(a)), st->docs == 1 ? "" : "s",
               secs, fmt_count(st->terms, t, sizeof(t)),
               fmt_bytes(st->index_bytes, ix, sizeof(ix)), st->segments,
               st->segments == 1 ? "" : "s", st->generation);
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
    printf(" in %u segment%s", st->segments, st->segments == 1 ? "" : "s");
    /* stats.runs counts every run written, the last one too: only a
     * budget that forced flushes makes more than one worth a mention */
    if (st->runs > 1 && st->merges > 0)
        printf(" (%u runs flushed at the memory budget, %u merge%s)",
               st->runs, st->merges, st->merges == 1 ? "" : "s");
    else if (st->runs > 1)
        printf(" (%u runs flushed at the memory budget)", st->runs);
    else if (st->merges > 0)
        printf(" (%u merge%s)", st->merges, st->merges == 1 ? "" : "s");
    printf("; generation %" PRIu64 "; %s bad input%s", st->generation,
           fmt_count(r->bad, bd, sizeof(bd)), r->bad == 1 ? "" : "s");
    print_held(r);
    if (r->repaired > 0)
        printf("; %" PRIu64 " with invalid UTF-8 repaired", r->repaired);
    if (r->undated_n > 0)
        printf("; %" PRIu64 " undated (date not understood)", r->undated_n);
    printf("\n");
}

/*
 * A run that changes nothing: every article it gave was kept unchanged
 * (none added, updated or replaced), and none of the generation's
 * articles goes (it kept them all, or keeps the unseen ones). Then no
 * generation is committed, and st describes the one that stays. Not for
 * --merge, which asks for a new generation.
 */
static int unchanged_run(run *r, const trawl_writer_opts *opts,
                         const char *dir, trawl_writer_stats *st)
{
    trawl_writer_stats so_far;
    if (opts->merge || r->kept + r->articles == 0 ||
        !trawl_writer_can_keep(r->w) || trawl_writer_changed(r->w, &so_far))
        return 0;
    /* The writer holds the lock: the generation it opened stays. */
    trawl_index_info info;
    (void)dir;
    if (!trawl_writer_base_info(r->w, &info))
        return 0;
    memset(st, 0, sizeof(*st));
    st->generation = info.generation;
    st->docs = info.docs;
    st->unchanged = so_far.unchanged;
    st->terms = info.terms;
    st->index_bytes = info.bytes;
    st->segments = info.segments;
    r->no_changes = 1;
    return 1;
}

enum { OPT_MERGE = 256, OPT_PROGRESS, OPT_CHECK, OPT_FIELD };

/*
 * An --index DIR holding files named like the writer's but not of its
 * forms (the corpus itself: "gen-ai-boom.txt", "seg-rail.md"; anyone's
 * "notes.tmp") is most likely a mistake (--index news news). The writer
 * leaves such files alone (it once removed them by prefix and suffix),
 * but trawl-index refuses the directory before writing anything. Is
 * there such a file in dir? Its name goes to out.
 */
static int foreign_file(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0; /* missing: the writer creates it, or says why not */
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        int doomed = (len > 4 && strcmp(n + len - 4, ".tmp") == 0) ||
                     strncmp(n, "gen-", 4) == 0 || strncmp(n, "seg-", 4) == 0;
        if (doomed && !trawl_writer_file_name(n)) {
            snprintf(out, cap, "%s", n);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

/* mkdir -p of the directories above path (not path itself). */
static void make_parents(const char *path)
{
    char *p = strdup(path);
    if (p == NULL)
        return;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (size_t i = 1; i < n; i++) {
        if (p[i] != '/' || p[i - 1] == '/')
            continue;
        p[i] = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST) {
            p[i] = '/';
            break;
        }
        p[i] = '/';
    }
    free(p);
}

/* 0 after --help or --version, or 2 (a write failure) if stdout could
 * not take them (trawl-index --help > /dev/full), as the trawl client
 * does. */
static int flushed_status(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)
            fprintf(stderr, PROG ": cannot write output: %s\n",
                    strerror(errno));
        return EXIT_FATAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    trawl_std_fds_open();
    /* A reader of the notes or the summary that goes away (`2>&1 | head`
     * to see a large run's first problems) killed the run with SIGPIPE,
     * nothing committed. Those are for people: the run goes on without
     * them (a write that fails is dropped, EPIPE). */
    signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
    /* One heap for both writer threads, grown in large steps: glibc grows
     * a second thread's own heap a page range at a time (thousands of
     * mprotect calls). */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_TOP_PAD, 16 << 20);
#endif
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
        { "field", required_argument, NULL, OPT_FIELD },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL, *check_dir = NULL, *progress = NULL;
    int add = 0;
    trawl_json_fields fields;
    trawl_writer_opts opts;
    run r;
    int c;

    memset(&opts, 0, sizeof(opts));
    memset(&r, 0, sizeof(r));
    memset(&fields, 0, sizeof(fields));

    /* getopt names the program by argv[0] in its messages: the name, not
     * the path it was run by. */
    static char prog_name[] = PROG;
    argv[0] = prog_name;
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
                        "megabytes, not '%s'\n"
                        "Try '" PROG " --help' for more information.\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'q':
            r.quiet = 1;
            break;
        case OPT_PROGRESS:
            if (parse_progress(optarg, &r.progress, 0) < 0) {
                fprintf(stderr, PROG ": --progress wants auto, tty, json or "
                        "none, not '%s'\n"
                        "Try '" PROG " --help' for more information.\n",
                        optarg);
                return EXIT_USAGE;
            }
            progress = optarg;
            break;
        case OPT_CHECK:
            check_dir = optarg;
            break;
        case OPT_FIELD: {
            trawl_err ferr;
            trawl_err_clear(&ferr);
            if (trawl_json_fields_set(&fields, optarg, &ferr) < 0) {
                fprintf(stderr, PROG ": --field: %s\n"
                        "Try '" PROG " --help' for more information.\n",
                        ferr.msg);
                return EXIT_USAGE;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return flushed_status();
        case 'V':
            printf(PROG " %s\n", TRAWL_VERSION);
            return flushed_status();
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
    r.merge_only = optind >= argc;
    r.full = opts.full;
    /* The default names (none given, or each as its own name) keep the
     * default path, and the line hashes of an index built without
     * --field. */
    r.fields_seed = trawl_json_fields_seed(&fields);
    r.fields = r.fields_seed != 0 ? &fields : NULL;
    r.undated = fields;
    r.undated.date = NO_DATE_KEY;
    r.id_key = trawl_json_fields_id_key(r.fields);
    r.id_key_len = strlen(r.id_key);
    parse_progress(progress != NULL ? progress : "auto", &r.progress,
                   r.quiet);
    if (r.progress == PROGRESS_TTY)
        tty_run = &r;

    const char *crash = getenv("TRAWL_TEST_CRASH_AT");
    if (crash != NULL && strncmp(crash, "add:", 4) == 0)
        r.crash_after = strtoull(crash + 4, NULL, 10);
    if (crash != NULL && strncmp(crash, "stop:", 5) == 0)
        r.stop_after = strtoull(crash + 5, NULL, 10);

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
        /* Readable too: an unreadable PATH would look empty, and its
         * articles would be deleted just the same. */
        int ok;
        if (S_ISDIR(st.st_mode)) {
            DIR *dp = opendir(argv[i]);
            ok = dp != NULL;
            if (dp != NULL)
                closedir(dp);
        } else {
            int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
            ok = fd >= 0;
            if (fd >= 0)
                close(fd);
        }
        if (!ok) {
            fprintf(stderr, PROG ": cannot read %s: %s\n", argv[i],
                    strerror(errno));
            return EXIT_FATAL;
        }
    }

    /* A merge-only run needs an index to merge. */
    /* (A damaged CURRENT is an index that cannot be read: the writer
     * says why.) */
    uint64_t cur_gen;
    if (optind >= argc &&
        trawl_index_current(dir, &cur_gen, NULL) == TRAWL_ENOTFOUND) {
        fprintf(stderr, PROG ": no index in %s to merge\n", dir);
        return EXIT_NOTHING;
    }

    r.t0 = now_s();
    trawl_err err;
    trawl_err_clear(&err);
    /* An alias ("German", "de") as the canonical name the index stores,
     * and an unknown name refused before the index is looked at. */
    char language[64];
    if (opts.language != NULL) {
        trawl_analyzer *an;
        if (trawl_analyzer_new(&an, opts.language, &err) < 0) {
            /* a usage error, as other bad option values are (out of
             * memory aside) */
            fprintf(stderr, PROG ": %s\n", err.msg[0] ? err.msg
                                                      : "bad --language");
            return err.code == TRAWL_EINVAL ? EXIT_USAGE : EXIT_FATAL;
        }
        snprintf(language, sizeof(language), "%s",
                 trawl_analyzer_language(an));
        trawl_analyzer_free(an);
        opts.language = language;
    }
    /* A build run creates the index directory, and its missing parents
     * (mkdir -p): "--index /var/lib/trawl/news" on a machine without
     * /var/lib/trawl failed. A failure here shows as the writer's. */
    if (optind < argc)
        make_parents(dir);
    char foreign[256];
    if (foreign_file(dir, foreign, sizeof(foreign))) {
        fprintf(stderr, PROG ": %s holds files that are not trawl's (%s), "
                "which writing an index there would delete; give --index "
                "a directory of its own\n",
                dir, foreign);
        return EXIT_FATAL;
    }
    int rc = trawl_writer_open(&r.w, dir, &opts, &err);
    if (rc < 0) {
        fprintf(stderr, PROG ": cannot open index %s: %s\n", dir,
                err.msg[0] ? err.msg : trawl_strerror(rc));
        return EXIT_FATAL;
    }
    crash_if("open");
    /* A previous generation the writer could not read (damaged, or of
     * another analyzer version) is rebuilt from this run's articles:
     * say so, and why. */
    uint64_t prev_gen;
    trawl_err cerr;
    trawl_err_clear(&cerr);
    int crc = opts.full ? 0 : trawl_index_current(dir, &prev_gen, &cerr);
    if (!opts.full && crc == 0 && !trawl_writer_can_keep(r.w)) {
        trawl_index *prev;
        trawl_err perr;
        trawl_err_clear(&perr);
        if (trawl_index_open(&prev, dir, &perr) < 0)
            fprintf(stderr, PROG ": generation %" PRIu64 " of %s cannot be "
                    "read (%s); the index is rebuilt from the articles of "
                    "this run\n", prev_gen, dir,
                    perr.msg[0] ? perr.msg : "unreadable");
        else
            trawl_index_release(prev);
    } else if (!opts.full && crc < 0 && crc != TRAWL_ENOTFOUND) {
        fprintf(stderr, PROG ": the index in %s cannot be read (%s); it is "
                "rebuilt from the articles of this run\n", dir,
                cerr.msg[0] ? cerr.msg : trawl_strerror(crc));
    }

    /* Only for the progress display: what the walk will read in total. */
    if (r.progress != PROGRESS_NONE) {
        sum_walk sw = {0, {NULL, 0, 0}};
        for (int i = optind; i < argc; i++)
            trawl_walk(argv[i], sum_file, ignore_problem, &sw);
        r.total = sw.total;
        hset_free(&sw.seen);
    }

    stop_signals_catch();
    for (int i = optind; i < argc && !r.fatal && !stop_signal; i++) {
        uint64_t found = r.found, got = r.articles + r.kept, bad = r.bad;
        uint64_t again = r.again;
        int wr = trawl_walk(argv[i], on_file, on_problem, &r);
        if (wr < 0 && !r.fatal) {
            trawl_err_set(&r.err, TRAWL_EIO, "cannot walk %s: %s", argv[i],
                          strerror(errno));
            r.fatal = 1;
        }
        /* A PATH the user named that gave no article and was not
         * reported yet (an empty directory, one of other files only, an
         * empty .jsonl): say so; without --add, the articles the index
         * held from it are deleted. */
        if (!r.fatal && !stop_signal && r.articles + r.kept == got &&
            r.bad == bad && r.again == again) {
            struct stat st;
            int is_dir = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode);
            char hint[512], msg[2048] = "";
            if (r.found == found && r.other != NULL)
                snprintf(msg, sizeof(msg),
                         "no article file (.txt, .md, .html, .htm, "
                         ".jsonl, .ndjson, also .gz or .zst, in any case) "
                         "in this directory; %s is "
                         "not read%s",
                         r.other, other_hint(r.other, hint, sizeof(hint)));
            note(argv[i], 0,
                 msg[0] != '\0' ? msg
                 : r.found == found
                     ? "no article file (.txt, .md, .html, .htm, .jsonl, "
                       ".ndjson, also .gz or .zst, in any case) in this "
                       "directory"
                 : is_dir ? "no article in the files of this directory"
                          : "no article in this file");
            r.bad++;
        }
        free(r.other);
        r.other = NULL;
    }
    hset_free(&r.ids);
    if (r.again > LINE_NOTES && !r.quiet)
        fprintf(stderr, PROG ": %" PRIu64 " more file%s read earlier in this "
                "run under another name (a link) skipped\n",
                r.again - LINE_NOTES, r.again - LINE_NOTES == 1 ? "" : "s");
    hset_free(&r.inodes);
    hmap_free(&r.jsonl_ids);
    if (stop_signal) {
        int sig = stop_signal;
        progress_clear(&r);
        fprintf(stderr, PROG ": interrupted; nothing committed, index %s "
                "left unchanged\n", dir);
        trawl_writer_free(r.w);
        free(r.buf);
        stop_signals_default();
        raise(sig);
        return EXIT_FATAL;
    }
    stop_signals_default();
    if (optind < argc)
        progress_tick(&r, 1);
    if (r.fatal) {
        progress_clear(&r);
        fprintf(stderr, PROG ": %s; nothing committed\n", r.err.msg);
        trawl_writer_free(r.w);
        free(r.buf);
        return EXIT_FATAL;
    }
    if (r.articles + r.kept == 0 && !opts.merge) {
        progress_clear(&r);
        fprintf(stderr, PROG ": no articles found (%" PRIu64 " file%s read, "
                "%" PRIu64 " bad input%s); index %s left unchanged\n",
                r.files, r.files == 1 ? "" : "s", r.bad,
                r.bad == 1 ? "" : "s", dir);
        trawl_writer_free(r.w);
        free(r.buf);
        return EXIT_NOTHING;
    }

    /* Inputs that could not be read may still hold the articles this run
     * did not see: keep them rather than delete them. */
    if (r.unread > 0 && !opts.keep_unseen) {
        trawl_writer_keep_unseen(r.w);
        progress_clear(&r);
        fprintf(stderr, PROG ": %" PRIu64 " input%s could not be read or "
                "indexed; the "
                "articles this run did not see are kept (run again to "
                "delete them)\n", r.unread, r.unread == 1 ? "" : "s");
    }

    trawl_writer_stats st;
    memset(&st, 0, sizeof(st));
    if (unchanged_run(&r, &opts, dir, &st)) {
        /* Nothing to write: the generation stays (a running trawld has
         * nothing to reload). */
        trawl_writer_free(r.w);
        free(r.buf);
        progress_clear(&r);
        if (!r.quiet || r.progress == PROGRESS_JSON)
            print_summary(&r, &st, now_s() - r.t0);
        return 0;
    }
    trawl_err_clear(&err);
    progress_commit(&r);
    crash_if("commit");
    trawl_err_clear(&r.add_err);
    rc = trawl_writer_commit(r.w, &st, &err);
    trawl_writer_free(r.w);
    free(r.buf);
    progress_clear(&r);
    if (rc < 0) {
        /* a segment file opened while adding reports into add_err */
        fprintf(stderr, PROG ": commit to %s failed: %s\n", dir,
                err.msg[0]         ? err.msg
                : r.add_err.msg[0] ? r.add_err.msg
                                   : trawl_strerror(rc));
        return EXIT_FATAL;
    }

    if (!r.quiet || r.progress == PROGRESS_JSON)
        print_summary(&r, &st, now_s() - r.t0);
    return 0;
}

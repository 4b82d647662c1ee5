/*
 * libFuzzer target: the index reader (core/src/index.c and what search,
 * count, get and snippets read through it) on damaged index files.
 *
 * Init builds a real index with trawl_writer in a temporary directory: a
 * first generation of 300 articles (skip tables, compact lists, pair
 * terms, a word-coded store, positions tables), a second of 200 whose
 * store keeps zstd with a dictionary, and a third that adds and replaces
 * a few (a third segment, a deletion bitmap). Each input then
 * damages one file of it and opens the index the way trawld does
 * (trawl_index_open, or trawl_index_reopen from the intact index); if it
 * opens, a few searches, counts, gets and snippets run on it, and (when
 * byte 1 has its high bit set) trawl_index_check reads everything.
 * Nothing may crash, read out of bounds, leak or hang; errors are fine.
 *
 * Input: byte 0 the mode, byte 1 the segment, byte 2 the section, then
 * the payload:
 *   0  patch a section: 4-byte records (u24 offset into the section, XOR
 *      byte), then its checksum, the TOC's and the footer are made right
 *      again, so the damage reaches the structure checks and the readers
 *   1  replace a section's bytes by the payload (resealed likewise)
 *   2  patch anywhere in the segment file (not resealed), then cut it to
 *      a length when the payload's first record says so
 *   3  patch the manifest (its checksum made right)
 *   4  replace the manifest by the payload (checksum appended)
 *   5  replace CURRENT by the payload
 *   6  patch the TOC (offsets, lengths; its checksum made right)
 *   7  as 0, opening with trawl_index_reopen from the intact index
 * FUZZ_INDEX_SEEDS=DIR writes a seed per mode and section into DIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "fuzz.h"
#include "internal.h"
#include "segfile.h"
#include "trawl/arena.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

typedef struct file {
    char name[64];
    unsigned char *p;
    size_t n;
} file;

static char dir[256];
static file segs[8];
static size_t nsegs;
static file man, current;
static trawl_index *intact;
static trawl_searcher *searcher;
static trawl_arena *arena;

/* ---- building the index ----------------------------------------------- */

static const char *const words[] = {
    "the", "of", "and", "a", "to", "in", "storm", "harbor", "port",
    "council", "vote", "rail", "strike", "orchard", "frost", "solar",
    "farm", "library", "reopens", "korea", "missile", "market", "price",
    "fishermen", "boat", "winter", "summer", "river", "bridge", "school",
    "teacher", "budget", "mayor", "election", "court", "judge", "ruling",
    "café", "naïve", "東京", "straße", "über", "energy", "wind", "coal",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* Zipf-like: low word indices far more often. */
static const char *word(void)
{
    uint32_t r = rnd(1000);
    if (r < 300)
        return words[r % 6];
    return words[rnd(NWORDS)];
}

static char *text(uint32_t nwords)
{
    size_t cap = (size_t)nwords * 16 + 1, len = 0;
    char *s = malloc(cap);
    if (s == NULL)
        abort();
    for (uint32_t i = 0; i < nwords; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? " " : "",
                                word());
    return s;
}

static void add(trawl_writer *w, const char *id, uint32_t nbody, int64_t date)
{
    trawl_article a;
    trawl_err err;
    memset(&a, 0, sizeof(a));
    char *title = text(1 + rnd(6)), *body = text(nbody);
    a.id = (char *)id;
    a.id_len = strlen(id);
    a.title = title;
    a.title_len = strlen(title);
    a.body = body;
    a.body_len = strlen(body);
    a.date = date;
    char author[32];
    if (rnd(3) == 0) {
        snprintf(author, sizeof(author), "Writer %u", rnd(10));
        a.author = author;
        a.author_len = strlen(author);
        a.url = (char *)"https://example.org/x";
        a.url_len = strlen(a.url);
    }
    if (trawl_writer_add(w, &a, &err) != 0) {
        fprintf(stderr, "writer_add: %s\n", err.msg);
        abort();
    }
    free(title);
    free(body);
}

static void build(void)
{
    trawl_writer *w;
    trawl_writer_opts o;
    trawl_err err;
    char id[32];

    memset(&o, 0, sizeof(o));
    o.threads = 1;
    if (trawl_writer_open(&w, dir, &o, &err) != 0)
        goto fail;
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "doc-%04d", i);
        add(w, id, 40 + rnd(200), rnd(4) ? 1600000000 + (int64_t)i * 86400
                                         : TRAWL_NO_DATE);
    }
    if (trawl_writer_commit(w, NULL, &err) != 0)
        goto fail;
    trawl_writer_free(w);

    /* A segment whose store keeps zstd and a dictionary (the first one's
     * text takes the word code, format 11). */
    o.keep_unseen = 1;
    trawl__store_words = 1;
    if (trawl_writer_open(&w, dir, &o, &err) != 0)
        goto fail;
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "zst-%04d", i);
        add(w, id, 80 + rnd(200), 1650000000 + (int64_t)i * 60);
    }
    if (trawl_writer_commit(w, NULL, &err) != 0)
        goto fail;
    trawl_writer_free(w);
    trawl__store_words = 0;

    if (trawl_writer_open(&w, dir, &o, &err) != 0)
        goto fail;
    for (int i = 0; i < 12; i++) {
        snprintf(id, sizeof(id), i < 4 ? "doc-%04d" : "new-%d", i * 7);
        add(w, id, 5 + rnd(30), 1700000000 + (int64_t)i * 3600);
    }
    if (trawl_writer_commit(w, NULL, &err) != 0)
        goto fail;
    trawl_writer_free(w);
    return;
fail:
    fprintf(stderr, "fuzz_index: building the index: %s\n", err.msg);
    abort();
}

/* ---- files ------------------------------------------------------------- */

static void slurp(file *f)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, f->name);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        abort();
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->p = malloc((size_t)n + 1);
    if (f->p == NULL || fread(f->p, 1, (size_t)n, fp) != (size_t)n)
        abort();
    f->n = (size_t)n;
    fclose(fp);
}

/* Replace dir/name by p[0..n) (a new inode: an open index's mappings of
 * the old file keep the old bytes). */
static void put(const char *name, const unsigned char *p, size_t n)
{
    char path[512], tmp[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/fuzz.tmp", dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        abort();
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k <= 0)
            abort();
        p += k;
        n -= (size_t)k;
    }
    close(fd);
    if (rename(tmp, path) != 0)
        abort();
}

static void cleanup(void)
{
    trawl_index_release(intact);
    trawl_searcher_free(searcher);
    trawl_arena_free(arena);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* The sections of a segment file, from its TOC. */
typedef struct toc {
    uint64_t off, nsec;
    uint32_t id[SEC_MAX];
    uint64_t soff[SEC_MAX], slen[SEC_MAX];
} toc;

static void read_toc(const file *f, toc *t)
{
    const unsigned char *foot = f->p + f->n - SEG_FOOTER;
    t->off = trawl__get_u64(foot);
    t->nsec = trawl__get_u32(f->p + t->off);
    for (uint64_t i = 0; i < t->nsec; i++) {
        const unsigned char *e = f->p + t->off + 4 + i * 32;
        t->id[i] = trawl__get_u32(e);
        t->soff[i] = trawl__get_u64(e + 8);
        t->slen[i] = trawl__get_u64(e + 16);
    }
}

/* Rewrite the TOC's checksum in the footer. */
static void seal_toc(unsigned char *p, size_t n)
{
    unsigned char *foot = p + n - SEG_FOOTER;
    uint64_t off = trawl__get_u64(foot), len = trawl__get_u64(foot + 8);
    if (off > n || len > n - off)
        return;
    trawl__put_u64(foot + 16, trawl__hash64(p + off, len));
}

static void seed(const char *sdir, const char *name, const unsigned char *p,
                 size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", sdir, name);
    FILE *fp = fopen(path, "wb");
    if (fp == NULL)
        abort();
    fwrite(p, 1, n, fp);
    fclose(fp);
}

/* FUZZ_INDEX_SEEDS: one seed per mode; mode 1 with each section's own
 * bytes (up to 16 KiB), so that mutations start from real structure. */
static void write_seeds(const char *sdir)
{
    unsigned char b[16 * 1024 + 3];
    char name[64];
    for (size_t s = 0; s < nsegs; s++) {
        toc t;
        read_toc(&segs[s], &t);
        for (uint64_t i = 0; i < t.nsec; i++) {
            if (t.slen[i] > sizeof(b) - 3)
                continue;
            b[0] = 1;
            b[1] = (unsigned char)s;
            b[2] = (unsigned char)i;
            memcpy(b + 3, segs[s].p + t.soff[i], t.slen[i]);
            snprintf(name, sizeof(name), "replace-seg%zu-sec%u", s, t.id[i]);
            seed(sdir, name, b, 3 + t.slen[i]);
        }
    }
    static const unsigned char patch[] = {0, 0, 0, 5, 0, 0, 0x01};
    for (int m = 0; m < 8; m++) {
        if (m == 1 || m == 4 || m == 5)
            continue;
        memcpy(b, patch, sizeof(patch));
        b[0] = (unsigned char)m;
        snprintf(name, sizeof(name), "patch-mode%d", m);
        seed(sdir, name, b, sizeof(patch));
    }
    if (man.n - 8 <= sizeof(b) - 3) {
        b[0] = 4;
        b[1] = b[2] = 0;
        memcpy(b + 3, man.p, man.n - 8);
        seed(sdir, "manifest", b, 3 + man.n - 8);
    }
    b[0] = 5;
    b[1] = b[2] = 0;
    memcpy(b + 3, current.p, current.n);
    seed(sdir, "current", b, 3 + current.n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* $TMPDIR, else /dev/shm (memory: the files are written twice per
     * input), else /tmp */
    const char *tmp = getenv("TMPDIR");
    struct stat st;
    if (tmp == NULL && stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
        tmp = "/dev/shm";
    snprintf(dir, sizeof(dir), "%s/trawl-fuzz-index-XXXXXX",
             tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    atexit(cleanup);
    build();

    snprintf(current.name, sizeof(current.name), "CURRENT");
    slurp(&current);
    size_t cn = current.n;
    while (cn > 0 && current.p[cn - 1] == '\n')
        cn--;
    snprintf(man.name, sizeof(man.name), "%.*s", (int)cn, current.p);
    slurp(&man);
    /* Segment names from the manifest (layout in format.h). */
    const unsigned char *q = man.p + 32;
    q += 1 + *q;
    uint32_t n = trawl__get_u32(q);
    q += 4;
    for (uint32_t i = 0; i < n && nsegs < 8; i++) {
        file *f = &segs[nsegs++];
        size_t nl = *q++;
        snprintf(f->name, sizeof(f->name), "%.*s", (int)nl, q);
        q += nl;
        uint32_t bm = trawl__get_u32(q + 8);
        q += 12 + bm;
        slurp(f);
    }
    trawl_err err;
    if (trawl_index_open(&intact, dir, &err) != 0 ||
        trawl_searcher_new(&searcher, &err) != 0) {
        fprintf(stderr, "fuzz_index: %s\n", err.msg);
        abort();
    }
    arena = trawl_arena_new(1 << 16);
    const char *sd = getenv("FUZZ_INDEX_SEEDS");
    if (sd != NULL)
        write_seeds(sd);
    return 0;
}

/* ---- damage ------------------------------------------------------------ */

static void patch(unsigned char *p, size_t n, const uint8_t *d, size_t dn)
{
    for (size_t i = 0; n > 0 && i + 4 <= dn; i += 4) {
        size_t at = ((size_t)d[i] | (size_t)d[i + 1] << 8 |
                     (size_t)d[i + 2] << 16) % n;
        p[at] ^= d[i + 3];
    }
}

/* A copy of segment f whose section k is patched (or replaced by data)
 * and whose checksums are right. */
static unsigned char *damage_section(const file *f, unsigned k, int replace,
                                     const uint8_t *d, size_t dn, size_t *outn)
{
    toc t;
    read_toc(f, &t);
    k %= (unsigned)t.nsec;
    size_t slen = replace ? dn : t.slen[k];
    size_t base = (size_t)t.off; /* sections end where the TOC starts */
    size_t noff = replace ? (base + 7) / 8 * 8 : t.soff[k];
    size_t tocoff = replace ? (noff + slen + 7) / 8 * 8 : base;
    size_t toclen = 4 + (size_t)t.nsec * 32;
    size_t n = tocoff + toclen + SEG_FOOTER;
    unsigned char *p = calloc(1, n);
    if (p == NULL)
        abort();
    memcpy(p, f->p, base);
    if (replace) {
        memcpy(p + noff, d, dn);
    } else {
        patch(p + noff, slen, d, dn);
    }
    memcpy(p + tocoff, f->p + t.off, toclen);
    unsigned char *e = p + tocoff + 4 + (size_t)k * 32;
    trawl__put_u64(e + 8, noff);
    trawl__put_u64(e + 16, slen);
    trawl__put_u64(e + 24, trawl__hash64(p + noff, slen));
    unsigned char *foot = p + n - SEG_FOOTER;
    memcpy(foot, f->p + f->n - SEG_FOOTER, SEG_FOOTER);
    trawl__put_u64(foot, tocoff);
    trawl__put_u64(foot + 8, toclen);
    seal_toc(p, n);
    *outn = n;
    return p;
}

/* ---- reading ----------------------------------------------------------- */

static const char *const queries[] = {
    "storm",
    "harbor storm",
    "\"the storm\"",
    "\"of the harbor\"",
    "\"the of\"",
    "the of and",
    "stor*",
    "b*",
    "title:storm",
    "storm -harbor",
    "rail OR strike OR café",
    "(korea OR missile) NOT the",
    "date:2020..2021",
    "東京",
    "author:writer",
    "storm author:\"writer 3\"",
    "author:w* -harbor",
    "site:example.org storm",
    "site:org OR site:example.org",
};

static void run(trawl_index *ix)
{
    trawl_err err;
    trawl_index_info info;
    trawl_index_info_get(ix, &info);
    for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        trawl_query q;
        trawl_results res;
        trawl_arena_reset(arena);
        trawl_query_init(&q);
        q.q = queries[i];
        q.qlen = strlen(q.q);
        q.sort = (int)(i % 3);
        q.author_url = 1;
        q.explain = (i & 1) != 0;
        q.exact_total = (i & 2) != 0;
        q.prox_depth = i % 4 == 0 ? 0 : TRAWL_PROX_DEPTH;
        q.snippets = i % 3 == 0;
        int rc = trawl_search(searcher, ix, &q, arena, &res, &err);
        if (rc == 0) {
            for (size_t h = 0; h < res.nhits; h++) {
                const trawl_hit *hit = &res.hits[h];
                for (size_t r = 0; r < hit->nranges; r++)
                    FUZZ_CHECK(hit->ranges[r].start < hit->ranges[r].end &&
                                   hit->ranges[r].end <= hit->snippet_len,
                               "hit range out of its snippet");
                trawl_stored doc;
                (void)trawl_index_get(ix, hit->id, hit->id_len, arena, &doc,
                                      &err);
            }
        }
        uint64_t count;
        (void)trawl_count(searcher, ix, q.q, q.qlen, arena, &count, &err);
    }
    static const char *const ids[] = {"doc-0000", "doc-0007", "doc-0150",
                                      "doc-0299", "new-28", "nope"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        trawl_stored doc;
        trawl_arena_reset(arena);
        (void)trawl_index_get(ix, ids[i], strlen(ids[i]), arena, &doc, &err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int mode = data[0] % 8;
    const file *f = &segs[data[1] % nsegs];
    unsigned sec = data[2];
    const uint8_t *d = data + 3;
    size_t dn = size - 3;
    const file *changed;
    unsigned char *p = NULL;
    size_t n = 0;

    switch (mode) {
    case 0:
    case 1:
    case 7:
        changed = f;
        p = damage_section(f, sec, mode == 1, d, dn, &n);
        break;
    case 2:
        changed = f;
        n = f->n;
        p = malloc(n);
        memcpy(p, f->p, n);
        patch(p, n, d, dn);
        if (dn >= 4 && (d[3] & 1))
            n = ((size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16) % n;
        break;
    case 3:
        changed = &man;
        n = man.n;
        p = malloc(n);
        memcpy(p, man.p, n);
        patch(p, n - 8, d, dn);
        trawl__put_u64(p + n - 8, trawl__hash64(p, n - 8));
        break;
    case 4:
        changed = &man;
        n = dn + 8;
        p = malloc(n);
        memcpy(p, d, dn);
        trawl__put_u64(p + dn, trawl__hash64(p, dn));
        break;
    case 5:
        changed = &current;
        n = dn;
        p = malloc(n + 1);
        memcpy(p, d, dn);
        break;
    default: { /* 6: the TOC */
        changed = f;
        n = f->n;
        p = malloc(n);
        memcpy(p, f->p, n);
        toc t;
        read_toc(f, &t);
        patch(p + t.off, 4 + (size_t)t.nsec * 32, d, dn);
        seal_toc(p, n);
        break;
    }
    }
    if (p == NULL)
        abort();
    put(changed->name, p, n);
    free(p);

    trawl_index *ix = NULL;
    trawl_err err;
    int rc = mode == 7 ? trawl_index_reopen(&ix, dir, intact, &err)
                       : trawl_index_open(&ix, dir, &err);
    if (rc == 0) {
        run(ix);
        trawl_index_release(ix);
        if (data[1] & 0x80) { /* the thorough check: slower, not always */
            char *report = NULL;
            (void)trawl_index_check(dir, &report, &err);
            free(report);
        }
    } else {
        FUZZ_CHECK(rc < 0 && err.msg[0] != '\0', "open rc %d without a "
                   "message", rc);
    }
    put(changed->name, changed->p, changed->n);
    return 0;
}

/*
 * Opening a generation: CURRENT -> manifest -> segments, each mapped
 * read-only and verified (magic, version, footer, TOC, every section's
 * XXH3, structural sizes) before anything is served. Also the lookups that
 * read the mapping: term dictionary, ids, stored documents.
 */
#include "trawl/index.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "format.h"
#include "internal.h"
#include "seg.h"
#include "trawl/analyze.h"
#include "trawl/article.h"
#include "trawl/buf.h"

#define MAX_FILE_NAME 255

/* ---- small readers ---------------------------------------------------- */

static int read_small_file(const char *path, unsigned char **out,
                           size_t *len, size_t max, trawl_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        trawl_err_set(err, e == ENOENT ? TRAWL_ENOTFOUND : TRAWL_EIO,
                      "open %s: %s", path, strerror(e));
        return e == ENOENT ? TRAWL_ENOTFOUND : TRAWL_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size > max) {
        close(fd);
        return trawl__corrupt(err, "%s: unexpected size", path);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *p = malloc(n + 1);
    if (p == NULL) {
        close(fd);
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }
    size_t done = 0;
    while (done < n) {
        ssize_t k = read(fd, p + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        done += (size_t)k;
    }
    close(fd);
    if (done != n) {
        free(p);
        return trawl_err_set(err, TRAWL_EIO, "read %s: short read", path);
    }
    p[n] = '\0';
    *out = p;
    *len = n;
    return 0;
}

static int read_current(const char *dir, char *name, size_t cap,
                        uint64_t *gen, trawl_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/CURRENT", dir);
    unsigned char *p;
    size_t n;
    int rc = read_small_file(path, &p, &n, 256, err);
    if (rc == TRAWL_ENOTFOUND)
        return trawl_err_set(err, TRAWL_ENOTFOUND,
                             "no index in %s (no CURRENT file; build one "
                             "with trawl-index)",
                             dir);
    if (rc < 0)
        return rc;
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        p[--n] = '\0';
    unsigned long long g = 0;
    int ok = n > 8 && n < cap && memcmp(p, "gen-", 4) == 0 &&
             strcmp((char *)p + n - 4, ".man") == 0 &&
             sscanf((char *)p + 4, "%llu", &g) == 1 &&
             strchr((char *)p, '/') == NULL;
    if (!ok) {
        free(p);
        return trawl__corrupt(err, "%s: not a generation name", path);
    }
    memcpy(name, p, n + 1);
    *gen = g;
    free(p);
    return 0;
}

int trawl_index_current(const char *dir, uint64_t *gen_out, trawl_err *err)
{
    char name[256];
    return read_current(dir, name, sizeof(name), gen_out, err);
}

/* ---- segments --------------------------------------------------------- */

static void seg_close(trawl_segment *s)
{
    if (s->map != NULL)
        munmap((void *)s->map, s->size);
    free(s->name);
    free(s->deleted);
    memset(s, 0, sizeof(*s));
}

static int seg_open(trawl_segment *s, const char *dir, trawl_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, s->name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return trawl_err_set(err, e == ENOENT ? TRAWL_ENOTFOUND : TRAWL_EIO,
                             "open %s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return trawl_err_set(err, TRAWL_EIO, "stat %s: %s", path,
                             strerror(errno));
    }
    if ((uint64_t)st.st_size < SEG_HEADER + SEG_FOOTER) {
        close(fd);
        return trawl__corrupt(err, "%s: truncated (%lld bytes)", path,
                              (long long)st.st_size);
    }
    s->size = (size_t)st.st_size;
    void *m = mmap(NULL, s->size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return trawl_err_set(err, TRAWL_EIO, "mmap %s: %s", path,
                             strerror(errno));
    s->map = m;
    const unsigned char *p = s->map;
    if (memcmp(p, SEG_MAGIC, 8) != 0)
        return trawl__corrupt(err, "%s: not a trawl segment (bad magic)",
                              path);
    uint32_t ver = trawl__get_u32(p + 8);
    if (ver != TRAWL_FORMAT_VERSION)
        return trawl_err_set(err, TRAWL_EVERSION,
                             "%s: format version %u, this trawl reads %u; "
                             "rebuild with trawl-index --full",
                             path, ver, TRAWL_FORMAT_VERSION);
    const unsigned char *foot = p + s->size - SEG_FOOTER;
    if (memcmp(foot + 24, SEG_END_MAGIC, 8) != 0)
        return trawl__corrupt(err, "%s: truncated or damaged (no footer)",
                              path);
    uint64_t toc_off = trawl__get_u64(foot), toc_len = trawl__get_u64(foot + 8);
    if (toc_off < SEG_HEADER || toc_len < 4 ||
        toc_off > s->size - SEG_FOOTER ||
        toc_len > s->size - SEG_FOOTER - toc_off)
        return trawl__corrupt(err, "%s: TOC out of bounds", path);
    const unsigned char *toc = p + toc_off;
    if (trawl__hash64(toc, toc_len) != trawl__get_u64(foot + 16))
        return trawl__corrupt(err, "%s: TOC checksum mismatch", path);
    uint32_t nsec = trawl__get_u32(toc);
    if (nsec > SEC_MAX || 4 + (uint64_t)nsec * 32 != toc_len)
        return trawl__corrupt(err, "%s: bad TOC", path);
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *e = toc + 4 + i * 32;
        uint32_t id = trawl__get_u32(e);
        uint64_t off = trawl__get_u64(e + 8), len = trawl__get_u64(e + 16);
        if (id == 0 || id >= SEC_MAX || s->sec[id].p != NULL)
            return trawl__corrupt(err, "%s: bad section id %u", path, id);
        if (off < SEG_HEADER || off > toc_off || len > toc_off - off)
            return trawl__corrupt(err, "%s: section %u out of bounds", path,
                                  id);
        if (trawl__hash64(p + off, len) != trawl__get_u64(e + 24))
            return trawl__corrupt(err, "%s: section %u checksum mismatch",
                                  path, id);
        s->sec[id].p = p + off;
        s->sec[id].len = len;
    }
    for (int id = 1; id < SEC_MAX; id++)
        if (s->sec[id].p == NULL)
            return trawl__corrupt(err, "%s: section %d missing", path, id);

    /* META */
    const unsigned char *mp = s->sec[SEC_META].p;
    uint64_t ml = s->sec[SEC_META].len;
    if (ml < 8 + 8 + 8 * TRAWL_NFIELDS + 4 + 1)
        return trawl__corrupt(err, "%s: META too short", path);
    s->ndocs = trawl__get_u32(mp);
    if (trawl__get_u32(mp + 4) != TRAWL_NFIELDS)
        return trawl__corrupt(err, "%s: unexpected field count", path);
    s->nterms = trawl__get_u64(mp + 8);
    size_t o = 16;
    for (int f = 0; f < TRAWL_NFIELDS; f++, o += 8)
        s->total_len[f] = trawl__get_u64(mp + o);
    s->analyzer_version = trawl__get_u32(mp + o);
    o += 4;
    size_t ll = mp[o++];
    if (o + ll > ml || ll >= sizeof(s->language))
        return trawl__corrupt(err, "%s: META language", path);
    memcpy(s->language, mp + o, ll);
    s->language[ll] = '\0';

    /* Structural sizes. */
    if (s->sec[SEC_DOCS].len != (uint64_t)s->ndocs * DOC_RECORD)
        return trawl__corrupt(err, "%s: DOCS size does not match %u docs",
                              path, s->ndocs);
    if (s->sec[SEC_IDS].len != (uint64_t)s->ndocs * ID_RECORD)
        return trawl__corrupt(err, "%s: IDS size does not match", path);
    const seg_section *si = &s->sec[SEC_STORE_INDEX];
    if (si->len < 4)
        return trawl__corrupt(err, "%s: STORE_INDEX too short", path);
    s->nstore_blocks = trawl__get_u32(si->p);
    if (si->len != 4 + ((uint64_t)s->nstore_blocks + 1) * 8)
        return trawl__corrupt(err, "%s: STORE_INDEX size", path);
    uint64_t prev = 0;
    for (uint32_t b = 0; b <= s->nstore_blocks; b++) {
        uint64_t v = trawl__get_u64(si->p + 4 + (size_t)b * 8);
        if (v < prev || v > s->sec[SEC_STORE].len)
            return trawl__corrupt(err, "%s: STORE_INDEX offsets", path);
        prev = v;
    }
    const seg_section *ti = &s->sec[SEC_TERMS_INDEX];
    if (ti->len < 12)
        return trawl__corrupt(err, "%s: TERMS_INDEX too short", path);
    s->nterm_blocks = trawl__get_u32(ti->p);
    if (ti->len != 12 + (uint64_t)s->nterm_blocks * 4 ||
        trawl__get_u64(ti->p + 4) != s->nterms ||
        (uint64_t)s->nterm_blocks !=
            (s->nterms + TERM_BLOCK - 1) / TERM_BLOCK)
        return trawl__corrupt(err, "%s: TERMS_INDEX size", path);
    for (uint32_t b = 0; b < s->nterm_blocks; b++)
        if (trawl__get_u32(ti->p + 12 + (size_t)b * 4) >=
            s->sec[SEC_TERMS].len)
            return trawl__corrupt(err, "%s: TERMS_INDEX offsets", path);
    for (uint32_t d = 0; d < s->ndocs; d++) {
        const unsigned char *r = s->sec[SEC_DOCS].p + (size_t)d * DOC_RECORD;
        if (trawl__get_u32(r + 4 * TRAWL_NFIELDS + 16) >= s->nstore_blocks)
            return trawl__corrupt(err, "%s: doc %u store block", path, d);
    }
    return 0;
}

int64_t trawl__seg_date(const trawl_segment *s, uint32_t d)
{
    return (int64_t)trawl__get_u64(s->sec[SEC_DOCS].p +
                                   (size_t)d * DOC_RECORD + 4 * TRAWL_NFIELDS);
}

uint64_t trawl__seg_fingerprint(const trawl_segment *s, uint32_t d)
{
    return trawl__get_u64(s->sec[SEC_DOCS].p + (size_t)d * DOC_RECORD +
                          4 * TRAWL_NFIELDS + 8);
}

/* ---- manifest --------------------------------------------------------- */

static int parse_manifest(trawl_index *ix, const unsigned char *p, size_t n,
                          const char *path, trawl_err *err)
{
    if (n < 8 + 4 + 4 + 8 + 8 + 1 + 4 + 8 || memcmp(p, MAN_MAGIC, 8) != 0)
        return trawl__corrupt(err, "%s: not a trawl manifest", path);
    if (trawl__hash64(p, n - 8) != trawl__get_u64(p + n - 8))
        return trawl__corrupt(err, "%s: checksum mismatch", path);
    uint32_t ver = trawl__get_u32(p + 8);
    if (ver != TRAWL_FORMAT_VERSION)
        return trawl_err_set(err, TRAWL_EVERSION,
                             "%s: format version %u, this trawl reads %u; "
                             "rebuild with trawl-index --full",
                             path, ver, TRAWL_FORMAT_VERSION);
    uint32_t aver = trawl__get_u32(p + 12);
    if (aver != TRAWL_ANALYZER_VERSION)
        return trawl_err_set(err, TRAWL_EVERSION,
                             "%s: analyzer version %u, this trawl analyzes "
                             "with %u; rebuild with trawl-index --full",
                             path, aver, TRAWL_ANALYZER_VERSION);
    ix->generation = trawl__get_u64(p + 16);
    ix->created = (int64_t)trawl__get_u64(p + 24);
    const unsigned char *q = p + 32, *end = p + n - 8;
    size_t ll = *q++;
    if (ll >= sizeof(ix->language) || (size_t)(end - q) < ll + 4)
        return trawl__corrupt(err, "%s: bad language", path);
    memcpy(ix->language, q, ll);
    ix->language[ll] = '\0';
    q += ll;
    uint32_t nsegs = trawl__get_u32(q);
    q += 4;
    if (nsegs > 100000)
        return trawl__corrupt(err, "%s: bad segment count", path);
    ix->segs = calloc(nsegs ? nsegs : 1, sizeof(*ix->segs));
    if (ix->segs == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < nsegs; i++) {
        trawl_segment *s = &ix->segs[i];
        ix->nsegs = i + 1;
        if (end - q < 1)
            return trawl__corrupt(err, "%s: truncated", path);
        size_t nl = *q++;
        if (nl == 0 || (size_t)(end - q) < nl + 12)
            return trawl__corrupt(err, "%s: truncated", path);
        s->name = strndup((const char *)q, nl);
        if (s->name == NULL)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        if (strchr(s->name, '/') != NULL || s->name[0] == '.')
            return trawl__corrupt(err, "%s: bad segment name", path);
        q += nl;
        uint32_t ndocs = trawl__get_u32(q);
        s->ndeleted = trawl__get_u32(q + 4);
        uint32_t bm = trawl__get_u32(q + 8);
        q += 12;
        if ((size_t)(end - q) < bm ||
            (bm != 0 && bm != ((uint64_t)ndocs + 7) / 8) ||
            (bm == 0 && s->ndeleted != 0) || s->ndeleted > ndocs)
            return trawl__corrupt(err, "%s: bad deletion bitmap", path);
        if (bm != 0) {
            s->deleted = malloc(bm);
            if (s->deleted == NULL)
                return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            memcpy(s->deleted, q, bm);
            q += bm;
        }
        s->ndocs = ndocs; /* checked against the segment's META */
    }
    if (q != end)
        return trawl__corrupt(err, "%s: trailing bytes", path);
    return 0;
}

static void index_free(trawl_index *ix)
{
    if (ix == NULL)
        return;
    for (uint32_t i = 0; i < ix->nsegs; i++)
        seg_close(&ix->segs[i]);
    free(ix->segs);
    free(ix->dir);
    free(ix);
}

static int open_once(trawl_index **out, const char *dir, trawl_err *err)
{
    char name[256];
    uint64_t gen;
    int rc = read_current(dir, name, sizeof(name), &gen, err);
    if (rc < 0)
        return rc;
    trawl_index *ix = calloc(1, sizeof(*ix));
    if (ix == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    atomic_init(&ix->refs, 1);
    ix->dir = strdup(dir);
    if (ix->dir == NULL) {
        index_free(ix);
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unsigned char *man;
    size_t mlen;
    if ((rc = read_small_file(path, &man, &mlen, 64u << 20, err)) < 0) {
        index_free(ix);
        return rc;
    }
    rc = parse_manifest(ix, man, mlen, path, err);
    free(man);
    for (uint32_t i = 0; rc == 0 && i < ix->nsegs; i++) {
        trawl_segment *s = &ix->segs[i];
        uint32_t want = s->ndocs;
        s->ndocs = 0;
        if ((rc = seg_open(s, dir, err)) < 0)
            break;
        if (s->ndocs != want) {
            rc = trawl__corrupt(err, "%s/%s: %u docs, manifest says %u", dir,
                                s->name, s->ndocs, want);
            break;
        }
        if (strcmp(s->language, ix->language) != 0 ||
            s->analyzer_version != TRAWL_ANALYZER_VERSION) {
            rc = trawl__corrupt(err, "%s/%s: analyzer differs from manifest",
                                dir, s->name);
            break;
        }
        ix->all_docs += s->ndocs;
        ix->live_docs += s->ndocs - s->ndeleted;
        ix->nterms += s->nterms;
        ix->bytes += s->size;
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            ix->total_len[f] += s->total_len[f];
    }
    if (rc < 0) {
        index_free(ix);
        return rc;
    }
    ix->bytes += mlen;
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        ix->avg_len[f] = ix->all_docs ? (double)ix->total_len[f] /
                                            (double)ix->all_docs
                                      : 0.0;
    *out = ix;
    return 0;
}

int trawl_index_open(trawl_index **out, const char *dir, trawl_err *err)
{
    *out = NULL;
    /* A writer may replace CURRENT and remove the generation it named
     * between our reads; a missing file then means "read CURRENT again". */
    int rc = TRAWL_ENOTFOUND;
    for (int attempt = 0; attempt < 20; attempt++) {
        rc = open_once(out, dir, err);
        if (rc != TRAWL_ENOTFOUND)
            return rc;
        uint64_t g;
        if (trawl_index_current(dir, &g, NULL) == TRAWL_ENOTFOUND)
            return trawl_index_current(dir, &g, err);
        usleep(5000);
    }
    return rc;
}

void trawl_index_retain(trawl_index *ix)
{
    atomic_fetch_add(&ix->refs, 1);
}

void trawl_index_release(trawl_index *ix)
{
    if (ix != NULL && atomic_fetch_sub(&ix->refs, 1) == 1)
        index_free(ix);
}

void trawl_index_info_get(const trawl_index *ix, trawl_index_info *out)
{
    memset(out, 0, sizeof(*out));
    out->generation = ix->generation;
    out->docs = ix->live_docs;
    out->deleted = ix->all_docs - ix->live_docs;
    out->terms = ix->nterms;
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        out->tokens += ix->total_len[f];
    out->bytes = ix->bytes;
    out->segments = ix->nsegs;
    snprintf(out->language, sizeof(out->language), "%s", ix->language);
    out->created = ix->created;
}

/* ---- term dictionary -------------------------------------------------- */

#define GETV(var)                                                            \
    do {                                                                     \
        uint64_t v_;                                                         \
        if (trawl__get_varint(&p, end, &v_) != 0)                            \
            return trawl__corrupt(err, "%s: truncated term entry", s->name); \
        var = v_;                                                            \
    } while (0)

/* Decode one dictionary entry at *pp; term_buf holds the previous term
 * (shared prefix) and receives this one. */
static int decode_entry(const trawl_segment *s, const unsigned char **pp,
                        const unsigned char *end, char *term_buf,
                        size_t *term_len, seg_term *t, trawl_err *err)
{
    const unsigned char *p = *pp;
    uint64_t shared, suffix, v;
    GETV(shared);
    GETV(suffix);
    if (shared > *term_len || shared + suffix > 255 ||
        suffix > (uint64_t)(end - p))
        return trawl__corrupt(err, "%s: bad term entry", s->name);
    memcpy(term_buf + shared, p, suffix);
    p += suffix;
    *term_len = shared + suffix;
    GETV(v);
    if (v == 0 || v > s->ndocs)
        return trawl__corrupt(err, "%s: bad df", s->name);
    t->df = (uint32_t)v;
    GETV(t->post_off);
    GETV(t->skip_len);
    GETV(t->post_len);
    GETV(t->pos_off);
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        GETV(v);
        t->max_tf[f] = (uint32_t)v;
    }
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        GETV(v);
        t->min_len[f] = (uint32_t)v;
    }
    if (t->post_off > s->sec[SEC_POSTINGS].len ||
        t->post_len > s->sec[SEC_POSTINGS].len - t->post_off ||
        t->skip_len > t->post_len || t->pos_off > s->sec[SEC_POSITIONS].len)
        return trawl__corrupt(err, "%s: term postings out of bounds",
                              s->name);
    *pp = p;
    return 0;
}

static int block_first(const trawl_segment *s, uint32_t b, char *buf,
                       size_t *len, trawl_err *err)
{
    const unsigned char *tp = s->sec[SEC_TERMS].p;
    const unsigned char *end = tp + s->sec[SEC_TERMS].len;
    const unsigned char *p =
        tp + trawl__get_u32(s->sec[SEC_TERMS_INDEX].p + 12 + (size_t)b * 4);
    uint64_t shared, suffix;
    if (trawl__get_varint(&p, end, &shared) != 0 ||
        trawl__get_varint(&p, end, &suffix) != 0 || shared != 0 ||
        suffix > 255 || suffix > (uint64_t)(end - p))
        return trawl__corrupt(err, "%s: bad term block %u", s->name, b);
    memcpy(buf, p, suffix);
    *len = suffix;
    return 0;
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl;
}

/* Index of the last term block whose first term is <= key, or -1. */
static int find_block(const trawl_segment *s, const char *key, size_t klen,
                      int64_t *out, trawl_err *err)
{
    int64_t lo = 0, hi = (int64_t)s->nterm_blocks - 1, ans = -1;
    char buf[256];
    size_t len = 0;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int rc = block_first(s, (uint32_t)mid, buf, &len, err);
        if (rc < 0)
            return rc;
        if (cmp_bytes(buf, len, key, klen) <= 0) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    *out = ans;
    return 0;
}

int trawl__seg_lookup(const trawl_segment *s, const char *term, size_t len,
                      seg_term *out, trawl_err *err)
{
    int64_t b;
    int rc = find_block(s, term, len, &b, err);
    if (rc < 0 || b < 0)
        return rc;
    const unsigned char *tp = s->sec[SEC_TERMS].p;
    const unsigned char *end = tp + s->sec[SEC_TERMS].len;
    const unsigned char *p =
        tp + trawl__get_u32(s->sec[SEC_TERMS_INDEX].p + 12 + (size_t)b * 4);
    char buf[256];
    size_t blen = 0;
    uint64_t first = (uint64_t)b * TERM_BLOCK;
    for (uint64_t i = first; i < s->nterms && i < first + TERM_BLOCK; i++) {
        if ((rc = decode_entry(s, &p, end, buf, &blen, out, err)) < 0)
            return rc;
        int c = cmp_bytes(buf, blen, term, len);
        if (c == 0)
            return 1;
        if (c > 0)
            return 0;
    }
    return 0;
}

int trawl__seg_prefix(const trawl_segment *s, const char *prefix,
                      size_t len, seg_term_cb cb, void *payload,
                      trawl_err *err)
{
    int64_t b;
    int rc = find_block(s, prefix, len, &b, err);
    if (rc < 0)
        return rc;
    if (b < 0)
        b = 0;
    const unsigned char *tp = s->sec[SEC_TERMS].p;
    const unsigned char *end = tp + s->sec[SEC_TERMS].len;
    char buf[256];
    size_t blen = 0;
    seg_term t;
    const unsigned char *p = tp;
    for (uint64_t i = (uint64_t)b * TERM_BLOCK; i < s->nterms; i++) {
        if (i % TERM_BLOCK == 0) {
            p = tp + trawl__get_u32(s->sec[SEC_TERMS_INDEX].p + 12 +
                                    (size_t)(i / TERM_BLOCK) * 4);
            blen = 0;
        }
        if ((rc = decode_entry(s, &p, end, buf, &blen, &t, err)) < 0)
            return rc;
        if (blen >= len && (len == 0 || memcmp(buf, prefix, len) == 0)) {
            if ((rc = cb(payload, buf, blen, &t)) != 0)
                return rc;
        } else if (cmp_bytes(buf, blen, prefix, len) > 0) {
            break;
        }
    }
    return 0;
}

/* ---- ids and stored documents ----------------------------------------- */

int trawl__seg_stored(const trawl_segment *s, uint32_t d, trawl_arena *a,
                      trawl_stored *out, trawl_err *err)
{
    return trawl__seg_stored_dctx(s, d, NULL, a, out, err);
}

int trawl__seg_stored_dctx(const trawl_segment *s, uint32_t d,
                           ZSTD_DCtx *dctx, trawl_arena *a,
                           trawl_stored *out, trawl_err *err)
{
    memset(out, 0, sizeof(*out));
    if (d >= s->ndocs)
        return trawl_err_set(err, TRAWL_ENOTFOUND, "no doc %u", d);
    const unsigned char *r = s->sec[SEC_DOCS].p + (size_t)d * DOC_RECORD;
    uint32_t block = trawl__get_u32(r + 4 * TRAWL_NFIELDS + 16);
    uint32_t slot = trawl__get_u32(r + 4 * TRAWL_NFIELDS + 20);
    out->date = (int64_t)trawl__get_u64(r + 4 * TRAWL_NFIELDS);
    const unsigned char *si = s->sec[SEC_STORE_INDEX].p + 4;
    uint64_t off = trawl__get_u64(si + (size_t)block * 8);
    uint64_t lim = trawl__get_u64(si + (size_t)block * 8 + 8);
    const unsigned char *src = s->sec[SEC_STORE].p + off;
    unsigned long long raw = ZSTD_getFrameContentSize(src, lim - off);
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN ||
        raw > (1ull << 31))
        return trawl__corrupt(err, "%s: bad store block %u", s->name, block);
    unsigned char *dst = trawl_arena_alloc(a, (size_t)raw + 1);
    if (dst == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    size_t n = dctx != NULL ? ZSTD_decompressDCtx(dctx, dst, (size_t)raw, src,
                                                  lim - off)
                            : ZSTD_decompress(dst, (size_t)raw, src, lim - off);
    if (ZSTD_isError(n) || n != raw)
        return trawl__corrupt(err, "%s: store block %u: %s", s->name, block,
                              ZSTD_isError(n) ? ZSTD_getErrorName(n)
                                              : "short");
    const unsigned char *p = dst, *end = dst + n;
    const char *f[STORED_N];
    size_t fl[STORED_N];
    for (uint32_t k = 0; k <= slot; k++) {
        for (int i = 0; i < STORED_N; i++) {
            uint64_t v;
            if (trawl__get_varint(&p, end, &v) != 0 ||
                (v > 0 && v - 1 > (uint64_t)(end - p)))
                return trawl__corrupt(err, "%s: store block %u damaged",
                                      s->name, block);
            if (v == 0) {
                f[i] = NULL;
                fl[i] = 0;
            } else {
                f[i] = (const char *)p;
                fl[i] = (size_t)v - 1;
                p += v - 1;
            }
        }
    }
    /* Copy each field out NUL-terminated (the block buffer is arena
     * memory too, but fields are packed back to back). */
    const char **dsts[STORED_N] = {&out->id,     &out->title, &out->body,
                                   &out->author, &out->url,   &out->extra};
    size_t *lens[STORED_N] = {&out->id_len,     &out->title_len,
                              &out->body_len,   &out->author_len,
                              &out->url_len,    &out->extra_len};
    for (int i = 0; i < STORED_N; i++) {
        if (f[i] == NULL)
            continue;
        char *c = trawl_arena_strndup(a, f[i], fl[i]);
        if (c == NULL)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        *dsts[i] = c;
        *lens[i] = fl[i];
    }
    if (out->title == NULL)
        out->title = "";
    if (out->body == NULL)
        out->body = "";
    if (out->id == NULL)
        return trawl__corrupt(err, "%s: doc %u has no id", s->name, d);
    return 0;
}

static int find_in_seg(const trawl_index *ix, uint32_t si, const char *id,
                       size_t len, uint64_t h, uint32_t *doc_out,
                       int exact, trawl_err *err)
{
    const trawl_segment *s = &ix->segs[si];
    const unsigned char *base = s->sec[SEC_IDS].p;
    uint32_t lo = 0, hi = s->ndocs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (trawl__get_u64(base + (size_t)mid * ID_RECORD) < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t i = lo; i < s->ndocs; i++) {
        const unsigned char *r = base + (size_t)i * ID_RECORD;
        if (trawl__get_u64(r) != h)
            break;
        uint32_t d = trawl__get_u32(r + 8);
        if (d >= s->ndocs)
            return trawl__corrupt(err, "%s: bad id entry", s->name);
        if (trawl__seg_is_deleted(s, d))
            continue;
        if (exact) {
            trawl_arena *a = trawl_arena_new(64 * 1024);
            if (a == NULL)
                return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            trawl_stored st;
            int rc = trawl__seg_stored(s, d, a, &st, err);
            int same = rc == 0 && st.id_len == len &&
                       memcmp(st.id, id, len) == 0;
            trawl_arena_free(a);
            if (rc < 0)
                return rc;
            if (!same)
                continue;
        }
        *doc_out = d;
        return 1;
    }
    return 0;
}

int trawl__index_find_id(const trawl_index *ix, const char *id, size_t len,
                         uint32_t *seg_out, uint32_t *doc_out,
                         trawl_err *err)
{
    uint64_t h = trawl__hash64(id, len);
    for (uint32_t i = ix->nsegs; i-- > 0;) {
        int rc = find_in_seg(ix, i, id, len, h, doc_out, err != NULL, err);
        if (rc != 0) {
            *seg_out = i;
            return rc;
        }
    }
    return 0;
}

int trawl_index_get(const trawl_index *ix, const char *id, size_t id_len,
                    trawl_arena *arena, trawl_stored *out, trawl_err *err)
{
    uint32_t si, d;
    trawl_err local;
    if (err == NULL)
        err = &local;
    int rc = trawl__index_find_id(ix, id, id_len, &si, &d, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return trawl_err_set(err, TRAWL_ENOTFOUND, "no article with id %.*s",
                             (int)(id_len > 200 ? 200 : id_len), id);
    return trawl__seg_stored(&ix->segs[si], d, arena, out, err);
}

/* ---- check ------------------------------------------------------------ */

int trawl_index_check(const char *dir, char **report, trawl_err *err)
{
    trawl_buf r = TRAWL_BUF_INIT;
    trawl_index *ix;
    trawl_err e;
    *report = NULL;
    int rc = trawl_index_open(&ix, dir, &e);
    if (rc < 0) {
        trawl_buf_printf(&r, "%s\n", e.msg);
        *report = (char *)r.ptr;
        return trawl_err_set(err, rc, "%s", e.msg);
    }
    int bad = 0;
    for (uint32_t si = 0; si < ix->nsegs; si++) {
        const trawl_segment *s = &ix->segs[si];
        const unsigned char *p = s->sec[SEC_TERMS].p;
        const unsigned char *end = p + s->sec[SEC_TERMS].len;
        char prev[256], cur[256];
        size_t prev_len = 0, cur_len = 0;
        seg_term t;
        for (uint64_t i = 0; i < s->nterms; i++) {
            if (i % TERM_BLOCK == 0)
                cur_len = 0;
            if (decode_entry(s, &p, end, cur, &cur_len, &t, &e) < 0) {
                trawl_buf_printf(&r, "%s\n", e.msg);
                bad++;
                break;
            }
            if (i > 0 && cmp_bytes(prev, prev_len, cur, cur_len) >= 0) {
                trawl_buf_printf(&r, "%s: terms out of order at %" PRIu64
                                 "\n", s->name, i);
                bad++;
                break;
            }
            memcpy(prev, cur, cur_len);
            prev_len = cur_len;
        }
        for (uint32_t d = 0; d < s->ndocs && !bad; d++) {
            trawl_arena *a = trawl_arena_new(64 * 1024);
            trawl_stored st;
            if (a == NULL || trawl__seg_stored(s, d, a, &st, &e) < 0) {
                trawl_buf_printf(&r, "%s\n", a ? e.msg : "out of memory");
                bad++;
            }
            trawl_arena_free(a);
        }
    }
    trawl_index_release(ix);
    *report = (char *)r.ptr;
    if (bad)
        return trawl__corrupt(err, "%d problem(s) found", bad);
    return 0;
}

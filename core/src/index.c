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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utf8proc.h>
#include <xxhash.h>
#include <zstd.h>

#include "codec.h"
#include "format.h"
#include "internal.h"
#include "pairs.h"
#include "seg.h"
#include "trawl/analyze.h"
#include "wordcode.h"
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
    int known = fstat(fd, &st) == 0;
    if (!known || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        int dir = known && S_ISDIR(st.st_mode);
        close(fd);
        return trawl__corrupt(err, "%s: %s", path,
                              dir ? "a directory, not a file"
                                  : "unexpected size");
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

void trawl__seg_close(trawl_segment *s)
{
    if (s->sh != NULL && atomic_fetch_sub(&s->sh->refs, 1) == 1) {
        munmap((void *)s->sh->map, s->sh->size);
        trawl__wc_code_free(atomic_load(&s->sh->wcode));
        pthread_mutex_destroy(&s->sh->wmu);
        free(s->sh->term_keys);
        free(s->sh->flen);
        free(s->sh);
    }
    free(s->name);
    free(s->deleted);
    memset(s, 0, sizeof(*s));
}

void trawl__seg_drop(const trawl_segment *s, const unsigned char *a,
                     const unsigned char *b)
{
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t psz = pg > 0 ? (uintptr_t)pg : 4096;
    uintptr_t lo = (uintptr_t)a, hi = (uintptr_t)b;
    lo = (lo + psz - 1) / psz * psz;
    hi = hi / psz * psz;
    if (hi > lo && lo >= (uintptr_t)s->map &&
        hi <= (uintptr_t)s->map + s->size)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* XXH3 of a range of s's mapping, dropping the pages from this process's
 * resident set as it goes (they stay in the page cache): verifying a
 * large segment must not pin all of it in memory. */
static uint64_t hash_mapped(const trawl_segment *s, const unsigned char *p,
                            uint64_t len)
{
    const uint64_t chunk = 16u << 20;
    XXH3_state_t *st = XXH3_createState();
    if (st == NULL)
        return trawl__hash64(p, len);
    XXH3_64bits_reset(st);
    for (uint64_t o = 0; o < len; o += chunk) {
        uint64_t n = len - o < chunk ? len - o : chunk;
        XXH3_64bits_update(st, p + o, n);
        trawl__seg_drop(s, p + o, p + o + n);
    }
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

/* A term's first 8 bytes as a big-endian number, zero padded: numbers in
 * this order are terms in byte order, except that equal numbers need the
 * whole terms compared. */
static uint64_t term_key(const unsigned char *p, size_t n)
{
    uint64_t k = 0;
    for (size_t i = 0; i < 8; i++)
        k = k << 8 | (i < n ? p[i] : 0);
    return k;
}

/* The first terms' keys of s's term blocks (contiguous, so that a lookup
 * bisects 8 bytes per block instead of visiting a block in TERMS per
 * step). A block whose first entry is damaged leaves the segment without
 * them (lookups then read TERMS, and report it). 0 or -1 out of memory. */
static int term_keys(trawl_segment *s)
{
    uint32_t nb = s->nterm_blocks;
    uint64_t *k = malloc((nb ? nb : 1) * sizeof(*k));
    if (k == NULL)
        return -1;
    const unsigned char *end = s->sec[SEC_TERMS].p + s->sec[SEC_TERMS].len;
    for (uint32_t b = 0; b < nb; b++) {
        const unsigned char *p =
            s->sec[SEC_TERMS].p +
            trawl__get_u32(s->sec[SEC_TERMS_INDEX].p + 12 + (size_t)b * 4);
        uint64_t shared, suffix;
        if (trawl__get_varint(&p, end, &shared) != 0 ||
            trawl__get_varint(&p, end, &suffix) != 0 || shared != 0 ||
            suffix > 255 || suffix > (uint64_t)(end - p) ||
            (b > 0 && term_key(p, (size_t)suffix) < k[b - 1])) {
            free(k);
            return 0;
        }
        k[b] = term_key(p, (size_t)suffix);
    }
    s->term_keys = k;
    s->sh->term_keys = k;
    return 0;
}
/* The identity of an opened segment file: a committed segment is never
 * written again, so the same device, inode, size and times mean the same
 * bytes (while it is mapped, its inode cannot be reused either). */
static void file_identity(const struct stat *st, seg_shared *sh)
{
    sh->dev = (uint64_t)st->st_dev;
    sh->ino = (uint64_t)st->st_ino;
    sh->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
                   st->st_mtim.tv_nsec;
    sh->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
                   st->st_ctim.tv_nsec;
}

/* The last serial given to an opened segment. */
static atomic_uint_fast64_t seg_serial;

int trawl__seg_open(trawl_segment *s, const char *dir, trawl_err *err)
{
    s->serial = atomic_fetch_add(&seg_serial, 1) + 1;
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
    s->sh = calloc(1, sizeof(*s->sh));
    if (s->sh == NULL || pthread_mutex_init(&s->sh->wmu, NULL) != 0) {
        free(s->sh);
        s->sh = NULL;
        close(fd);
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }
    void *m = mmap(NULL, s->size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        pthread_mutex_destroy(&s->sh->wmu);
        free(s->sh);
        s->sh = NULL;
        return trawl_err_set(err, TRAWL_EIO, "mmap %s: %s", path,
                             strerror(errno));
    }
    s->map = m;
    atomic_init(&s->sh->refs, 1);
    s->sh->map = m;
    s->sh->size = s->size;
    file_identity(&st, s->sh);
    const unsigned char *p = s->map;
    if (memcmp(p, SEG_MAGIC, 8) != 0)
        return trawl__corrupt(err, "%s: not a trawl segment (bad magic)",
                              path);
    uint32_t ver = trawl__get_u32(p + 8);
    if (ver < TRAWL_FORMAT_OLDEST || ver > TRAWL_FORMAT_VERSION)
        return trawl_err_set(err, TRAWL_EVERSION,
                             "%s: format version %u, this trawl reads %u "
                             "to %u; rebuild with trawl-index --full",
                             path, ver, TRAWL_FORMAT_OLDEST,
                             TRAWL_FORMAT_VERSION);
    s->version = ver;
    s->term_block = ver >= TERM_BLOCK_FROM ? TERM_BLOCK : TERM_BLOCK_OLD;
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
        if (hash_mapped(s, p + off, len) != trawl__get_u64(e + 24))
            return trawl__corrupt(err, "%s: section %u checksum mismatch",
                                  path, id);
        s->sec[id].p = p + off;
        s->sec[id].len = len;
        if (id == SEC_STORE_DICT)
            s->dict_hash = trawl__get_u64(e + 24);
    }
    for (int id = 1; id < SEC_MAX; id++)
        if (s->sec[id].p == NULL && id != SEC_PAIRS && id != SEC_STORE_CODE)
            return trawl__corrupt(err, "%s: section %d missing", path, id);
    if (trawl__pairs_valid(&s->sec[SEC_PAIRS]) < 0)
        return trawl__corrupt(err, "%s: PAIRS is not a sorted word list",
                              path);

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
    const seg_section *sd = &s->sec[SEC_STORE_DICT];
    if (sd->len != 0 &&
        (sd->len < STORE_DICT_MIN || sd->len > STORE_DICT_MAX ||
         trawl__get_u32(sd->p) == STORE_ZDICT_MAGIC))
        return trawl__corrupt(err, "%s: STORE_DICT is not a raw dictionary",
                              path);
    /* Format 11: a STORE_CODE section (its bytes are checked when a
     * stored read first needs them) says the blocks are word coded; they
     * then have no dictionary. */
    const seg_section *sc = &s->sec[SEC_STORE_CODE];
    s->store_words = sc->p != NULL;
    if (s->store_words &&
        (s->version < STORE_CODE_FROM || sd->len != 0 || sc->len < 2 ||
         sc->p[0] != WC_VERSION))
        return trawl__corrupt(err, "%s: STORE_CODE is not a word code",
                              path);
    const seg_section *mx = &s->sec[SEC_DOCMETA_INDEX];
    uint64_t mnb = ((uint64_t)s->ndocs + META_BLOCK - 1) / META_BLOCK;
    /* Format 8: u16 or u32 per-document offsets after the blocks'. */
    uint64_t base = 4 + (mnb + 1) * 8, rels = 0;
    s->meta_rel = 0;
    if (s->version >= META_DOC_OFFSETS && s->ndocs > 0 && mx->len >= base) {
        rels = mx->len - base;
        if (rels == (uint64_t)s->ndocs * 2 || rels == (uint64_t)s->ndocs * 4)
            s->meta_rel = (uint32_t)(rels / s->ndocs);
    }
    if (mx->len != base + rels || trawl__get_u32(mx->p) != mnb ||
        (s->version >= META_DOC_OFFSETS && s->ndocs > 0 && s->meta_rel == 0))
        return trawl__corrupt(err, "%s: DOCMETA_INDEX size", path);
    prev = 0;
    for (uint64_t b = 0; b <= mnb; b++) {
        uint64_t v = trawl__get_u64(mx->p + 4 + (size_t)b * 8);
        if (v < prev || v > s->sec[SEC_DOCMETA].len)
            return trawl__corrupt(err, "%s: DOCMETA_INDEX offsets", path);
        prev = v;
    }
    /* Format 8: each doc's record offset within its block; the first of a
     * block at 0, then increasing, all inside the block (a record takes
     * at least two bytes, so equal offsets are damage too). */
    uint32_t pv = 0;
    for (uint32_t d = 0; s->meta_rel > 0 && d < s->ndocs; d++) {
        const unsigned char *bo = mx->p + 4 + (size_t)(d / META_BLOCK) * 8;
        uint64_t blen = trawl__get_u64(bo + 8) - trawl__get_u64(bo);
        uint32_t v = trawl__seg_meta_rel(s, d);
        if ((d % META_BLOCK == 0 ? v != 0 : v <= pv) || v >= blen)
            return trawl__corrupt(err, "%s: DOCMETA_INDEX doc offsets", path);
        pv = v;
    }
    const seg_section *ti = &s->sec[SEC_TERMS_INDEX];
    if (ti->len < 12)
        return trawl__corrupt(err, "%s: TERMS_INDEX too short", path);
    s->nterm_blocks = trawl__get_u32(ti->p);
    if (ti->len != 12 + (uint64_t)s->nterm_blocks * 4 ||
        trawl__get_u64(ti->p + 4) != s->nterms ||
        (uint64_t)s->nterm_blocks !=
            (s->nterms + s->term_block - 1) / s->term_block)
        return trawl__corrupt(err, "%s: TERMS_INDEX size", path);
    for (uint32_t b = 0; b < s->nterm_blocks; b++)
        if (trawl__get_u32(ti->p + 12 + (size_t)b * 4) >=
            s->sec[SEC_TERMS].len)
            return trawl__corrupt(err, "%s: TERMS_INDEX offsets", path);
    if (term_keys(s) < 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    uint16_t *fl = malloc(((size_t)s->ndocs * TRAWL_NFIELDS + 1) *
                          sizeof(*fl));
    if (fl == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    for (uint32_t d = 0; d < s->ndocs; d++) {
        const unsigned char *r = s->sec[SEC_DOCS].p + (size_t)d * DOC_RECORD;
        if (trawl__get_u32(r + 4 * TRAWL_NFIELDS + 16) >= s->nstore_blocks) {
            free(fl);
            return trawl__corrupt(err, "%s: doc %u store block", path, d);
        }
        for (int f = 0; f < TRAWL_NFIELDS; f++) {
            uint32_t len = trawl__get_u32(r + 4 * f);
            fl[(size_t)d * TRAWL_NFIELDS + f] =
                (uint16_t)(len < FLEN_BIG ? len : FLEN_BIG);
        }
    }
    s->flen = fl;
    s->sh->flen = fl;
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
    if (ver < TRAWL_FORMAT_OLDEST || ver > TRAWL_FORMAT_VERSION)
        return trawl_err_set(err, TRAWL_EVERSION,
                             "%s: format version %u, this trawl reads %u "
                             "to %u; rebuild with trawl-index --full",
                             path, ver, TRAWL_FORMAT_OLDEST,
                             TRAWL_FORMAT_VERSION);
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
            /* The count must be the bitmap's: live totals and every
             * later generation of an incremental run are built on it. */
            uint32_t bits = 0;
            for (uint32_t b = 0; b < bm; b++)
                bits += (uint32_t)__builtin_popcount(q[b]);
            if (bits != s->ndeleted ||
                (ndocs % 8 != 0 && (q[bm - 1] >> (ndocs % 8)) != 0))
                return trawl__corrupt(err, "%s: bad deletion bitmap", path);
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
        trawl__seg_close(&ix->segs[i]);
    free(ix->segs);
    free(ix->dir);
    free(ix);
}

/* prev's segment of that name if the file at dir/name is still the one
 * it mapped (and so verified), else NULL. */
static const trawl_segment *reusable(const trawl_index *prev,
                                     const char *dir, const char *name)
{
    if (prev == NULL || strcmp(prev->dir, dir) != 0)
        return NULL;
    const trawl_segment *o = NULL;
    for (uint32_t i = 0; i < prev->nsegs && o == NULL; i++)
        if (prev->segs[i].sh != NULL && strcmp(prev->segs[i].name, name) == 0)
            o = &prev->segs[i];
    if (o == NULL)
        return NULL;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st;
    seg_shared now;
    if (stat(path, &st) != 0 || (uint64_t)st.st_size != o->sh->size)
        return NULL;
    file_identity(&st, &now);
    if (now.dev != o->sh->dev || now.ino != o->sh->ino ||
        now.mtime_ns != o->sh->mtime_ns || now.ctime_ns != o->sh->ctime_ns)
        return NULL;
    return o;
}

/* Open segment s (its name and deletions read from the manifest) as the
 * same file of prev's, or else from the file. */
static int seg_open_from(trawl_segment *s, const char *dir,
                         const trawl_index *prev, trawl_err *err)
{
    const trawl_segment *o = reusable(prev, dir, s->name);
    if (o == NULL)
        return trawl__seg_open(s, dir, err);
    char *name = s->name;
    unsigned char *del = s->deleted;
    uint32_t ndel = s->ndeleted;
    *s = *o;
    s->name = name;
    s->deleted = del;
    s->ndeleted = ndel;
    atomic_fetch_add(&s->sh->refs, 1);
    return 0;
}

static int open_once(trawl_index **out, const char *dir,
                     const trawl_index *prev, trawl_err *err)
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
        if ((rc = seg_open_from(s, dir, prev, err)) < 0)
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
        /* Field lengths of live docs only: deleted docs must not move
         * avg_len, so scores do not depend on what awaits a merge. */
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            ix->total_len[f] += s->total_len[f];
        for (uint32_t d = 0; s->ndeleted > 0 && d < s->ndocs; d++)
            if (trawl__seg_is_deleted(s, d))
                for (int f = 0; f < TRAWL_NFIELDS; f++)
                    ix->total_len[f] -= trawl__seg_field_len(s, d, f);
    }
    if (rc < 0) {
        index_free(ix);
        return rc;
    }
    ix->bytes += mlen;
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        ix->avg_len[f] = ix->live_docs ? (double)ix->total_len[f] /
                                             (double)ix->live_docs
                                       : 0.0;
    *out = ix;
    return 0;
}

int trawl_index_open(trawl_index **out, const char *dir, trawl_err *err)
{
    return trawl_index_reopen(out, dir, NULL, err);
}

int trawl_index_reopen(trawl_index **out, const char *dir,
                       const trawl_index *prev, trawl_err *err)
{
    *out = NULL;
    /* A writer may replace CURRENT and remove the generation it named
     * between our reads; a missing file then means "read CURRENT again". */
    int rc = TRAWL_ENOTFOUND;
    for (int attempt = 0; attempt < 20; attempt++) {
        rc = open_once(out, dir, prev, err);
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

/*
 * Decode one dictionary entry at *pp (layout in format.h); term_buf holds
 * the previous term (shared prefix) and receives this one. t holds the
 * block's previous entry (ignored when first) and receives this one: the
 * offsets of all but a block's first entry follow from the previous
 * entry. The skip_len and bounds of a one-block list are not in the
 * entry; they stay 0 until term_resolve() reads them from the list's skip
 * entry, so a scan through the dictionary touches no postings.
 */
static int decode_entry(const trawl_segment *s, const unsigned char **pp,
                        const unsigned char *end, char *term_buf,
                        size_t *term_len, int first, seg_term *t,
                        trawl_err *err)
{
    const unsigned char *p = *pp;
    uint64_t shared, suffix, v, post_off, pos_off, post_len;
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
    uint64_t plen = s->sec[SEC_POSTINGS].len, qlen = s->sec[SEC_POSITIONS].len;
    if (first) {
        GETV(post_off);
        GETV(pos_off);
    } else {
        post_off = t->post_off + t->post_len; /* both checked before */
        GETV(pos_off);
        if (pos_off > qlen - t->pos_off)
            return trawl__corrupt(err, "%s: term positions out of bounds",
                                  s->name);
        pos_off += t->pos_off;
    }
    GETV(post_len);
    t->df = (uint32_t)v;
    t->post_off = post_off;
    t->post_len = post_len;
    t->pos_off = pos_off;
    t->skip_len = 0;
    memset(t->max_tf, 0, sizeof(t->max_tf));
    memset(t->min_len, 0, sizeof(t->min_len));
    t->compact = s->version >= COMPACT_FROM && t->df <= COMPACT_MAX;
    if (t->df > BLOCK_SIZE) {
        GETV(t->skip_len);
        for (int f = 0; f < TRAWL_NFIELDS; f++) {
            GETV(v);
            t->max_tf[f] = (uint32_t)v;
        }
        for (int f = 0; f < TRAWL_NFIELDS; f++) {
            GETV(v);
            t->min_len[f] = (uint32_t)v;
        }
    }
    /* A list has df >= 1 postings, so at least one byte: an empty one
     * would read as decoded by the compact decoder, whose 0 means
     * failure. */
    if (post_off > plen || post_len > plen - post_off || post_len == 0 ||
        t->skip_len > post_len || pos_off > qlen)
        return trawl__corrupt(err, "%s: term postings out of bounds",
                              s->name);
    *pp = p;
    return 0;
}

/* Fill skip_len and the whole-list bounds of a one-block list (df <=
 * BLOCK_SIZE) from its single skip entry: they are the block's. A
 * compact list has neither (its reader computes the bounds). */
static int term_resolve(const trawl_segment *s, seg_term *t, trawl_err *err)
{
    if (t->df > BLOCK_SIZE || t->compact)
        return 0;
    const unsigned char *p0 = s->sec[SEC_POSTINGS].p + t->post_off;
    const unsigned char *p = p0, *end = p0 + t->post_len;
    uint64_t v, doc_bytes;
    GETV(v);         /* last doc */
    GETV(doc_bytes);
    GETV(v);         /* positions bytes */
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        GETV(v);
        t->max_tf[f] = (uint32_t)v;
    }
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        GETV(v);
        t->min_len[f] = (uint32_t)v;
    }
    t->skip_len = (uint64_t)(p - p0);
    if (doc_bytes != t->post_len - t->skip_len)
        return trawl__corrupt(err, "%s: skip entry does not span the "
                              "postings", s->name);
    return 0;
}

/* Where term block b starts in TERMS. Checked at open; a file changed
 * under its mapping since gives the section's end (read as corrupt). */
static const unsigned char *term_block(const trawl_segment *s, uint64_t b)
{
    uint32_t off = trawl__get_u32(s->sec[SEC_TERMS_INDEX].p + 12 +
                                  (size_t)b * 4);
    if (off > s->sec[SEC_TERMS].len)
        off = (uint32_t)s->sec[SEC_TERMS].len;
    return s->sec[SEC_TERMS].p + off;
}

/* Compare key with the first term of block b, read in place: *cmp gets
 * the sign of (first term - key). */
static int block_first_cmp(const trawl_segment *s, uint32_t b,
                           const char *key, size_t klen, int *cmp,
                           trawl_err *err)
{
    const unsigned char *tp = s->sec[SEC_TERMS].p;
    const unsigned char *end = tp + s->sec[SEC_TERMS].len;
    const unsigned char *p = term_block(s, b);
    uint64_t shared, suffix;
    if (trawl__get_varint(&p, end, &shared) != 0 ||
        trawl__get_varint(&p, end, &suffix) != 0 || shared != 0 ||
        suffix > 255 || suffix > (uint64_t)(end - p))
        return trawl__corrupt(err, "%s: bad term block %u", s->name, b);
    *cmp = trawl__cmp_bytes((const char *)p, (size_t)suffix, key, klen);
    return 0;
}

/* Index of the last term block whose first term is <= key, or -1. */
static int find_block(const trawl_segment *s, const char *key, size_t klen,
                      int64_t *out, trawl_err *err)
{
    int64_t lo = 0, hi = (int64_t)s->nterm_blocks - 1, ans = -1;
    if (s->term_keys != NULL) {
        /* the blocks whose keys are below key's come first; the few
         * with key's own key (first terms sharing its first 8 bytes)
         * are bisected below, by their terms */
        uint64_t k = term_key((const unsigned char *)key, klen);
        const uint64_t *tk = s->term_keys;
        size_t a = 0, z = s->nterm_blocks;
        while (a < z) {
            size_t mid = a + (z - a) / 2;
            if (tk[mid] < k)
                a = mid + 1;
            else
                z = mid;
        }
        ans = (int64_t)a - 1;
        lo = (int64_t)a;
        z = s->nterm_blocks;
        while (a < z) {
            size_t mid = a + (z - a) / 2;
            if (tk[mid] <= k)
                a = mid + 1;
            else
                z = mid;
        }
        hi = (int64_t)a - 1;
    }
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = 0;
        int rc = block_first_cmp(s, (uint32_t)mid, key, klen, &c, err);
        if (rc < 0)
            return rc;
        if (c <= 0) {
            ans = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    *out = ans;
    return 0;
}

/*
 * Find term in its block without rebuilding every entry's term: m is how
 * many bytes the entry before shares with term (which it precedes). An
 * entry sharing more than m bytes with it also differs from term at byte
 * m, by the same smaller byte, so it precedes term too and needs no
 * look; otherwise only its suffix is compared, from where it starts.
 * The entries passed over are decoded only as far as the offsets they
 * carry forward; the one that matches is decoded (and checked) whole.
 */
int trawl__seg_lookup(const trawl_segment *s, const char *term, size_t len,
                      seg_term *out, trawl_err *err)
{
    int64_t b;
    int rc = find_block(s, term, len, &b, err);
    if (rc < 0 || b < 0)
        return rc;
    const unsigned char *tp = s->sec[SEC_TERMS].p;
    const unsigned char *end = tp + s->sec[SEC_TERMS].len;
    const unsigned char *p = term_block(s, (uint64_t)b);
    const unsigned char *key = (const unsigned char *)term;
    uint64_t first = (uint64_t)b * s->term_block;
    size_t m = 0;
    memset(out, 0, sizeof(*out));
    for (uint64_t i = first; i < s->nterms && i < first + s->term_block; i++) {
        const unsigned char *at = p;
        uint64_t shared, suffix, df, v, post_off, pos_off, post_len;
        GETV(shared);
        GETV(suffix);
        if (suffix > (uint64_t)(end - p))
            return trawl__corrupt(err, "%s: bad term entry", s->name);
        if (shared <= m) {
            /* bytes [0, shared) equal term's: compare the rest */
            const unsigned char *sf = p;
            size_t k = 0, rest = len - (size_t)shared;
            while (k < suffix && k < rest && sf[k] == key[shared + k])
                k++;
            if (k == suffix && k == rest) {
                /* the term: decode the entry whole from the one before */
                char buf[256];
                size_t blen = len;
                memcpy(buf, term, len);
                if ((rc = decode_entry(s, &at, end, buf, &blen, i == first,
                                       out, err)) < 0)
                    return rc;
                return (rc = term_resolve(s, out, err)) < 0 ? rc : 1;
            }
            if (k == rest || (k < suffix && sf[k] > key[shared + k]))
                return 0; /* past term */
            m = (size_t)shared + k;
        }
        p += suffix;
        GETV(df);
        if (i == first) {
            GETV(post_off);
            GETV(pos_off);
        } else {
            post_off = out->post_off + out->post_len;
            GETV(v);
            pos_off = out->pos_off + v;
        }
        GETV(post_len);
        if (df > BLOCK_SIZE) /* skip length, largest tfs, smallest lengths */
            for (int f = 0; f < 1 + 2 * TRAWL_NFIELDS; f++)
                GETV(v);
        out->post_off = post_off;
        out->post_len = post_len;
        out->pos_off = pos_off;
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
    for (uint64_t i = (uint64_t)b * s->term_block; i < s->nterms; i++) {
        if (i % s->term_block == 0) {
            p = term_block(s, i / s->term_block);
            blen = 0;
        }
        if ((rc = decode_entry(s, &p, end, buf, &blen, i % s->term_block == 0,
                               &t, err)) < 0)
            return rc;
        if (blen >= len && (len == 0 || memcmp(buf, prefix, len) == 0)) {
            if ((rc = term_resolve(s, &t, err)) < 0 ||
                (rc = cb(payload, buf, blen, &t)) != 0)
                return rc;
        } else if (trawl__cmp_bytes(buf, blen, prefix, len) > 0) {
            break;
        }
    }
    return 0;
}

void trawl__seg_iter_init(seg_iter *it, const trawl_segment *s)
{
    memset(it, 0, sizeof(*it));
    it->s = s;
    it->p = s->sec[SEC_TERMS].p;
}

int trawl__seg_iter_next(seg_iter *it, trawl_err *err)
{
    const trawl_segment *s = it->s;
    if (it->i >= s->nterms)
        return 0;
    if (it->i % s->term_block == 0)
        it->len = 0;
    const unsigned char *end = s->sec[SEC_TERMS].p + s->sec[SEC_TERMS].len;
    int rc = decode_entry(s, &it->p, end, it->term, &it->len,
                          it->i % s->term_block == 0, &it->t, err);
    if (rc < 0 || (rc = term_resolve(s, &it->t, err)) < 0)
        return rc;
    it->i++;
    return 1;
}

/* ---- ids and stored documents ----------------------------------------- */

int trawl__seg_stored(const trawl_segment *s, uint32_t d, trawl_arena *a,
                      trawl_stored *out, trawl_err *err)
{
    return trawl__seg_stored_dctx(s, d, NULL, a, out, err);
}

/* Decompress frame [src, src + n) of STORE into buf (or decode it, when
 * word coded: unword, only its first nrec records): the store's
 * dictionary is copied to the front of buf (unless dict_ready: buf
 * already starts with it) and the frame decoded right after it, so the
 * dictionary is a plain prefix of the output (zstd's fast path, no
 * separate dictionary segment). *out and *out_len: the block. */
/* Format 11: the word code of s, rebuilt from STORE_CODE by the first
 * stored read that needs it (checked then: a damaged code is a corrupt
 * segment), then shared by every reader of the mapping. */
static int seg_wcode(const trawl_segment *s, const wc_code **out,
                     trawl_err *err)
{
    wc_code *c = atomic_load_explicit(&s->sh->wcode, memory_order_acquire);
    if (c == NULL) {
        int rc = 0;
        pthread_mutex_lock(&s->sh->wmu);
        c = atomic_load_explicit(&s->sh->wcode, memory_order_relaxed);
        if (c == NULL) {
            const seg_section *sc = &s->sec[SEC_STORE_CODE];
            rc = trawl__wc_load(sc->p, (size_t)sc->len, &c);
            if (rc == 0)
                atomic_store_explicit(&s->sh->wcode, c,
                                      memory_order_release);
        }
        pthread_mutex_unlock(&s->sh->wmu);
        if (rc == TRAWL_ENOMEM)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        if (rc < 0)
            return trawl__corrupt(err, "%s: STORE_CODE damaged", s->name);
    }
    *out = c;
    return 0;
}

/* Decode word-coded block [src, src + n) into buf. */
static int unword(const trawl_segment *s, uint32_t block, uint32_t nrec,
                  const unsigned char *src, size_t n, trawl_buf *buf,
                  const unsigned char **out, size_t *out_len, trawl_err *err)
{
    const wc_code *c;
    int rc = seg_wcode(s, &c, err);
    if (rc < 0)
        return rc;
    rc = trawl__wc_decode_upto(c, src, n, nrec, buf);
    if (rc == TRAWL_ENOMEM)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    if (rc < 0)
        return trawl__corrupt(err, "%s: bad store block %u", s->name, block);
    *out = buf->ptr;
    *out_len = buf->len;
    return 0;
}

static int unzstd(const trawl_segment *s, uint32_t block, uint32_t nrec,
                  const unsigned char *src, size_t n, ZSTD_DCtx *dctx,
                  trawl_buf *buf, int dict_ready, const unsigned char **out,
                  size_t *out_len, trawl_err *err)
{
    if (s->store_words)
        return unword(s, block, nrec, src, n, buf, out, out_len, err);
    unsigned long long raw = ZSTD_getFrameContentSize(src, n);
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN ||
        raw > (1ull << 31))
        return trawl__corrupt(err, "%s: bad store block %u", s->name, block);
    const seg_section *sd = &s->sec[SEC_STORE_DICT];
    size_t dl = (size_t)sd->len;
    dict_ready = dict_ready && dl > 0 && buf->len >= dl;
    if (dict_ready)
        buf->len = dl;
    else
        trawl_buf_clear(buf);
    if (trawl_buf_reserve(buf, (dict_ready ? 0 : dl) + (size_t)raw + 1) != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    unsigned char *dst = buf->ptr + dl;
    ZSTD_DCtx *tmp = NULL;
    if (dctx == NULL && (dctx = tmp = ZSTD_createDCtx()) == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    size_t got;
    if (dl > 0) {
        if (!dict_ready)
            memcpy(buf->ptr, sd->p, dl);
        got = ZSTD_decompress_usingDict(dctx, dst, (size_t)raw, src, n,
                                        buf->ptr, dl);
    } else {
        got = ZSTD_decompressDCtx(dctx, dst, (size_t)raw, src, n);
    }
    ZSTD_freeDCtx(tmp);
    if (ZSTD_isError(got) || got != raw)
        return trawl__corrupt(err, "%s: store block %u: %s", s->name, block,
                              ZSTD_isError(got) ? ZSTD_getErrorName(got)
                                                : "short");
    buf->len = dl + got;
    *out = dst;
    *out_len = got;
    return 0;
}

int trawl__seg_store_block(const trawl_segment *s, uint32_t block,
                           ZSTD_DCtx *dctx, trawl_buf *buf,
                           const unsigned char **out, size_t *len,
                           trawl_err *err)
{
    if (block >= s->nstore_blocks)
        return trawl__corrupt(err, "%s: no store block %u", s->name, block);
    const unsigned char *si = s->sec[SEC_STORE_INDEX].p + 4;
    uint64_t off = trawl__get_u64(si + (size_t)block * 8);
    uint64_t lim = trawl__get_u64(si + (size_t)block * 8 + 8);
    /* Checked at open; checked again in case the file changed under its
     * mapping since (segments are immutable, but files can be damaged). */
    if (off > lim || lim > s->sec[SEC_STORE].len)
        return trawl__corrupt(err, "%s: bad store block %u", s->name, block);
    return unzstd(s, block, UINT32_MAX, s->sec[SEC_STORE].p + off,
                  (size_t)(lim - off), dctx, buf, 0, out, len, err);
}

/*
 * Per thread, the buffer of the last stored document read, which still
 * starts with its segment's store dictionary: the next document of a
 * segment with the same dictionary (the same mapping, length and XXH3)
 * is decoded right after it without copying it again (10.1-10.3 to
 * 9.6-9.8 us per document on synth-10k, docs/index-format.md).
 */
typedef struct store_cache {
    trawl_buf buf;
    const unsigned char *dict; /* the dictionary buf starts with */
    uint64_t len, hash;
} store_cache;

#define STORE_CACHE_MAX (4u << 20) /* a larger buffer is not kept */

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static int cache_ok;

static void cache_free(void *p)
{
    store_cache *c = p;
    trawl_buf_free(&c->buf);
    free(c);
}

static void cache_init(void)
{
    cache_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

/* The calling thread's cache (NULL: none, use a temporary buffer). */
static store_cache *cache_get(void)
{
    pthread_once(&cache_once, cache_init);
    if (!cache_ok)
        return NULL;
    store_cache *c = pthread_getspecific(cache_key);
    if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL &&
        pthread_setspecific(cache_key, c) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

/* Walk to record `slot` of nfields fields in [p, end); fill f/fl. */
static int record_fields(const unsigned char *p, const unsigned char *end,
                         uint32_t slot, int nfields, const char **f,
                         size_t *fl, const unsigned char **rec_start,
                         const unsigned char **rec_end)
{
    const unsigned char *rs = p;
    for (uint32_t k = 0; k <= slot; k++) {
        rs = p;
        for (int i = 0; i < nfields; i++) {
            uint64_t v;
            if (trawl__get_varint(&p, end, &v) != 0 ||
                (v > 0 && v - 1 > (uint64_t)(end - p)))
                return -1;
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
    if (rec_start != NULL) {
        *rec_start = rs;
        *rec_end = p;
    }
    return 0;
}

/* The DOCMETA block of doc d, raw records in the mapping: *out is where
 * d's record starts (format 8: from DOCMETA_INDEX; before: the block's
 * start, with *slot the records to walk past), *end the block's end. */
static void meta_block(const trawl_segment *s, uint32_t d,
                       const unsigned char **out, const unsigned char **end,
                       uint32_t *slot)
{
    uint32_t block = d / META_BLOCK;
    const seg_section *mx = &s->sec[SEC_DOCMETA_INDEX];
    const unsigned char *mi = mx->p + 4;
    uint64_t off = trawl__get_u64(mi + (size_t)block * 8);
    uint64_t lim = trawl__get_u64(mi + (size_t)block * 8 + 8);
    *slot = d % META_BLOCK;
    if (s->meta_rel > 0) {
        off += trawl__seg_meta_rel(s, d);
        *slot = 0;
    }
    /* Checked at open; a file changed since reads as an empty block. */
    if (off > lim || lim > s->sec[SEC_DOCMETA].len)
        off = lim = 0;
    *out = s->sec[SEC_DOCMETA].p + off;
    *end = s->sec[SEC_DOCMETA].p + lim;
}

int trawl__seg_meta_raw(const trawl_segment *s, uint32_t d,
                        const unsigned char **rec, size_t *len,
                        trawl_err *err)
{
    if (d >= s->ndocs)
        return trawl_err_set(err, TRAWL_ENOTFOUND, "no doc %u", d);
    const unsigned char *p, *end;
    uint32_t slot;
    meta_block(s, d, &p, &end, &slot);
    const char *f[STORED_META_N];
    size_t fl[STORED_META_N];
    const unsigned char *rs, *re;
    if (record_fields(p, end, slot, STORED_META_N, f, fl, &rs, &re) < 0 ||
        f[STORED_ID] == NULL)
        return trawl__corrupt(err, "%s: docmeta block %u damaged", s->name,
                              d / META_BLOCK);
    *rec = rs;
    *len = (size_t)(re - rs);
    return 0;
}

int trawl__seg_meta(const trawl_segment *s, uint32_t d, trawl_arena *a,
                    const char **id, size_t *id_len, const char **title,
                    size_t *title_len, trawl_err *err)
{
    if (d >= s->ndocs)
        return trawl_err_set(err, TRAWL_ENOTFOUND, "no doc %u", d);
    const unsigned char *p, *end;
    uint32_t slot;
    meta_block(s, d, &p, &end, &slot);
    const char *f[STORED_META_N];
    size_t fl[STORED_META_N];
    if (record_fields(p, end, slot, STORED_META_N, f, fl, NULL, NULL) < 0 ||
        f[STORED_ID] == NULL)
        return trawl__corrupt(err, "%s: docmeta block %u damaged", s->name,
                              d / META_BLOCK);
    /* Fields are packed back to back: copy them out NUL-terminated. */
    char *ic = trawl_arena_strndup(a, f[STORED_ID], fl[STORED_ID]);
    char *tc = f[STORED_TITLE] != NULL
                   ? trawl_arena_strndup(a, f[STORED_TITLE], fl[STORED_TITLE])
                   : (char *)"";
    if (ic == NULL || tc == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    *id = ic;
    *id_len = fl[STORED_ID];
    *title = tc;
    *title_len = fl[STORED_TITLE];
    return 0;
}

int trawl__seg_stored_dctx(const trawl_segment *s, uint32_t d,
                           ZSTD_DCtx *dctx, trawl_arena *a,
                           trawl_stored *out, trawl_err *err)
{
    memset(out, 0, sizeof(*out));
    if (d >= s->ndocs)
        return trawl_err_set(err, TRAWL_ENOTFOUND, "no doc %u", d);
    int rc = trawl__seg_meta(s, d, a, &out->id, &out->id_len,
                             &out->title, &out->title_len, err);
    if (rc < 0)
        return rc;
    const unsigned char *r = s->sec[SEC_DOCS].p + (size_t)d * DOC_RECORD;
    uint32_t block = trawl__get_u32(r + 4 * TRAWL_NFIELDS + 16);
    uint32_t slot = trawl__get_u32(r + 4 * TRAWL_NFIELDS + 20);
    out->date = (int64_t)trawl__get_u64(r + 4 * TRAWL_NFIELDS);
    /* The block is decoded into the thread's buffer (it starts with the
     * dictionary): only the record's fields are copied into the arena. */
    trawl_buf tmp = TRAWL_BUF_INIT;
    store_cache *sc = cache_get();
    trawl_buf *buf = sc != NULL ? &sc->buf : &tmp;
    const seg_section *sd = &s->sec[SEC_STORE_DICT];
    int ready = sc != NULL && sc->dict == sd->p && sc->len == sd->len &&
                sc->hash == s->dict_hash;
    if (sc != NULL)
        sc->dict = NULL; /* until the decode below has succeeded */
    const unsigned char *dst = NULL;
    size_t n = 0;
    if (block >= s->nstore_blocks) {
        rc = trawl__corrupt(err, "%s: no store block %u", s->name, block);
        goto done;
    }
    const unsigned char *si = s->sec[SEC_STORE_INDEX].p + 4;
    uint64_t off = trawl__get_u64(si + (size_t)block * 8);
    uint64_t lim = trawl__get_u64(si + (size_t)block * 8 + 8);
    if (off > lim || lim > s->sec[SEC_STORE].len) {
        rc = trawl__corrupt(err, "%s: bad store block %u", s->name, block);
        goto done;
    }
    /* A word-coded block is decoded only up to d's record. */
    if ((rc = unzstd(s, block, slot < UINT32_MAX ? slot + 1 : slot,
                     s->sec[SEC_STORE].p + off, (size_t)(lim - off), dctx,
                     buf, ready, &dst, &n, err)) < 0)
        goto done;
    if (sc != NULL && sd->len > 0) {
        sc->dict = sd->p;
        sc->len = sd->len;
        sc->hash = s->dict_hash;
    }
    const char *f[STORED_BODY_N];
    size_t fl[STORED_BODY_N];
    if (record_fields(dst, dst + n, slot, STORED_BODY_N, f, fl, NULL, NULL) <
        0) {
        rc = trawl__corrupt(err, "%s: store block %u damaged", s->name,
                            block);
        goto done;
    }
    const char **dsts[STORED_BODY_N] = {&out->body, &out->author, &out->url,
                                        &out->extra};
    size_t *lens[STORED_BODY_N] = {&out->body_len, &out->author_len,
                                   &out->url_len, &out->extra_len};
    for (int i = 0; i < STORED_BODY_N; i++) {
        if (f[i] == NULL)
            continue;
        char *c = trawl_arena_strndup(a, f[i], fl[i]);
        if (c == NULL) {
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            goto done;
        }
        *dsts[i] = c;
        *lens[i] = fl[i];
    }
    if (out->body == NULL)
        out->body = "";
done:
    trawl_buf_free(&tmp);
    if (sc != NULL && sc->buf.cap > STORE_CACHE_MAX) {
        trawl_buf_free(&sc->buf);
        sc->dict = NULL;
    }
    return rc;
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
            trawl_arena *a = trawl_arena_new(16 * 1024);
            if (a == NULL)
                return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            const char *sid, *stitle;
            size_t sid_len, stitle_len;
            int rc = trawl__seg_meta(s, d, a, &sid, &sid_len, &stitle,
                                     &stitle_len, err);
            int same = rc == 0 && sid_len == len && memcmp(sid, id, len) == 0;
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

/* trawl__index_find_id for id in Unicode form 0 (NFC) or 1 (NFD), if
 * that differs from id (ids that are not UTF-8 have no other form). */
static int find_id_form(const trawl_index *ix, const char *id, size_t len,
                        int form, uint32_t *seg_out, uint32_t *doc_out,
                        trawl_err *err)
{
    size_t i = 0;
    while (i < len && (unsigned char)id[i] < 0x80)
        i++;
    if (i == len || !trawl_utf8_valid(id, len))
        return 0; /* ASCII is its own every form */
    utf8proc_uint8_t *n = NULL;
    utf8proc_ssize_t nl = utf8proc_map(
        (const utf8proc_uint8_t *)id, (utf8proc_ssize_t)len, &n,
        UTF8PROC_STABLE |
            (form == 0 ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE));
    if (nl < 0)
        return nl == UTF8PROC_ERROR_NOMEM
                   ? trawl_err_set(err, TRAWL_ENOMEM, "out of memory")
                   : 0;
    int rc = 0;
    if ((size_t)nl != len || memcmp(n, id, len) != 0)
        rc = trawl__index_find_id(ix, (const char *)n, (size_t)nl, seg_out,
                                  doc_out, err);
    free(n);
    return rc;
}

int trawl_index_get(const trawl_index *ix, const char *id, size_t id_len,
                    trawl_arena *arena, trawl_stored *out, trawl_err *err)
{
    uint32_t si = 0, d = 0;
    trawl_err local;
    if (err == NULL)
        err = &local;
    int rc = trawl__index_find_id(ix, id, id_len, &si, &d, err);
    /* Not as typed: its composed and decomposed forms (a file name from
     * a Mac is decomposed, what a keyboard types composed). */
    for (int form = 0; rc == 0 && form < 2; form++)
        rc = find_id_form(ix, id, id_len, form, &si, &d, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return trawl_err_set(err, TRAWL_ENOTFOUND, "no article with id %.*s",
                             (int)(id_len > 200 ? 200 : id_len), id);
    return trawl__seg_stored(&ix->segs[si], d, arena, out, err);
}

/* ---- check ------------------------------------------------------------ */

/*
 * trawl_index_check() opens the generation (which verifies every checksum
 * and the structural sizes) and then decodes everything a query could
 * touch, reporting each problem as one line "FILE: PART: what". It trusts
 * nothing but the mapping's bounds: every length and offset is checked
 * before use, so a damaged file yields lines, never a crash.
 */

#define CHECK_MAX_PER_FILE 50 /* lines per file before "more problems" */

typedef struct chk {
    trawl_buf *r;
    const char *dir;
    const char *file; /* the file being checked (name within dir) */
    int bad;          /* problems found in all files */
    int file_bad;     /* problems found in this file */
} chk;

static void chk_line(chk *c, const char *part, const char *msg)
{
    c->bad++;
    c->file_bad++;
    if (c->file_bad == CHECK_MAX_PER_FILE + 1)
        trawl_buf_printf(c->r, "%s/%s: further problems not listed\n",
                         c->dir, c->file);
    if (c->file_bad > CHECK_MAX_PER_FILE)
        return;
    trawl_buf_printf(c->r, "%s/%s: %s: %s\n", c->dir, c->file, part, msg);
}

#define CHK(c, part, ...)                                                  \
    do {                                                                   \
        char chk_msg_[400];                                                \
        snprintf(chk_msg_, sizeof(chk_msg_), __VA_ARGS__);                 \
        chk_line((c), (part), chk_msg_);                                   \
    } while (0)

static const char *chk_sec_name(uint32_t id)
{
    static const char *const names[SEC_MAX] = {
        "?",           "META",     "DOCS",      "IDS",
        "STORE",       "STORE_INDEX", "TERMS", "TERMS_INDEX",
        "POSTINGS",    "POSITIONS",   "DOCMETA", "DOCMETA_INDEX",
        "STORE_DICT"};
    return id < SEC_MAX ? names[id] : "?";
}

static const char *chk_field_name(int f)
{
    return f == TRAWL_FIELD_TITLE ? "title" : "body";
}

/*
 * Decode a PFor run of n values from [p, end) (format in codec.h): u8 bit
 * width, u8 exception count, the packed low bits, then (index, varint
 * high part) per exception. Returns the bytes used, or 0 if the run is
 * malformed. Written bit by bit, deliberately independent of the codec the
 * search uses.
 */
static size_t chk_pfor(const unsigned char *p, const unsigned char *end,
                       uint32_t n, uint32_t *out)
{
    if (end - p < 2)
        return 0;
    unsigned b = p[0], nexc = p[1];
    if (b > 32 || nexc > n)
        return 0;
    size_t bits = (size_t)n * b;
    const unsigned char *d = p + 2;
    if ((size_t)(end - d) < (bits + 7) / 8)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = 0;
        for (unsigned k = 0; k < b; k++) {
            size_t bit = (size_t)i * b + k;
            if ((d[bit / 8] >> (bit % 8)) & 1)
                v |= (uint32_t)1 << k;
        }
        out[i] = v;
    }
    d += (bits + 7) / 8;
    for (unsigned e = 0; e < nexc; e++) {
        if (d >= end)
            return 0;
        unsigned i = *d++;
        uint64_t v = 0;
        unsigned shift = 0;
        for (;;) {
            if (d >= end || shift > 35)
                return 0;
            unsigned char ch = *d++;
            v |= (uint64_t)(ch & 0x7f) << shift;
            shift += 7;
            if (!(ch & 0x80))
                break;
        }
        if (i >= n || b >= 32 || (v << b) > 0xffffffffu)
            return 0;
        out[i] |= (uint32_t)(v << b);
    }
    return (size_t)(d - p);
}

/* Header reserved bytes, section alignment and zero padding, TOC reserved
 * fields, and the TOC sitting right before the footer: with the section
 * checksums this covers every byte of the file. */
static void chk_layout(chk *c, const trawl_segment *s)
{
    const unsigned char *p = s->map;
    if (trawl__get_u32(p + 12) != 0)
        CHK(c, "header", "reserved bytes are not zero");
    const unsigned char *foot = p + s->size - SEG_FOOTER;
    uint64_t toc_off = trawl__get_u64(foot), toc_len = trawl__get_u64(foot + 8);
    if (toc_off + toc_len != s->size - SEG_FOOTER)
        CHK(c, "footer", "%" PRIu64 " unexplained bytes between the TOC and "
            "the footer", (uint64_t)(s->size - SEG_FOOTER) - toc_off - toc_len);
    const unsigned char *toc = p + toc_off;
    uint32_t nsec = trawl__get_u32(toc);
    struct {
        uint64_t off, len;
        uint32_t id;
    } e[SEC_MAX], tmp;
    for (uint32_t i = 0; i < nsec && i < SEC_MAX; i++) {
        const unsigned char *t = toc + 4 + (size_t)i * 32;
        e[i].id = trawl__get_u32(t);
        e[i].off = trawl__get_u64(t + 8);
        e[i].len = trawl__get_u64(t + 16);
        if (trawl__get_u32(t + 4) != 0)
            CHK(c, "TOC", "entry %u: reserved bytes are not zero", i);
        for (uint32_t j = i; j > 0 && e[j - 1].off > e[j].off; j--) {
            tmp = e[j - 1];
            e[j - 1] = e[j];
            e[j] = tmp;
        }
    }
    uint64_t at = SEG_HEADER;
    for (uint32_t i = 0; i <= nsec && i <= SEC_MAX; i++) {
        int is_toc = i == nsec || i == SEC_MAX;
        uint64_t off = is_toc ? toc_off : e[i].off;
        const char *what = is_toc ? "TOC" : chk_sec_name(e[i].id);
        if (off < at) {
            CHK(c, what, "overlaps the previous section");
        } else {
            if (off % 8 != 0)
                CHK(c, what, "not 8-byte aligned (offset %" PRIu64 ")", off);
            if (off - at >= 8)
                CHK(c, what, "%" PRIu64 " unexplained bytes before it",
                    off - at);
            for (uint64_t k = at; k < off && off - at < 8; k++)
                if (p[k] != 0) {
                    CHK(c, what, "padding before it is not zero");
                    break;
                }
        }
        if (is_toc)
            break;
        if (e[i].off + e[i].len > at)
            at = e[i].off + e[i].len;
    }
}

typedef struct chk_ref {
    uint32_t block, slot, doc;
} chk_ref;

static int chk_ref_cmp(const void *a, const void *b)
{
    const chk_ref *x = a, *y = b;
    if (x->block != y->block)
        return x->block < y->block ? -1 : 1;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Decompress every store block and parse every record in it; note the
 * hash of each doc's stored id (have[d] = 1 when known). */
static int chk_store(chk *c, const trawl_segment *s)
{
    const unsigned char *si = s->sec[SEC_STORE_INDEX].p + 4;
    chk_ref *refs = malloc(((size_t)s->ndocs + 1) * sizeof(*refs));
    if (refs == NULL)
        return TRAWL_ENOMEM;
    for (uint32_t d = 0; d < s->ndocs; d++) {
        const unsigned char *r = s->sec[SEC_DOCS].p + (size_t)d * DOC_RECORD;
        refs[d].block = trawl__get_u32(r + 4 * TRAWL_NFIELDS + 16);
        refs[d].slot = trawl__get_u32(r + 4 * TRAWL_NFIELDS + 20);
        refs[d].doc = d;
    }
    qsort(refs, s->ndocs, sizeof(*refs), chk_ref_cmp);
    size_t ri = 0;
    unsigned char *raw = NULL;
    size_t raw_cap = 0;
    int rc = 0;
    /* The dictionary goes first in raw, each block is decoded after it
     * (see unzstd). Open has checked its size and magic. */
    const seg_section *sd = &s->sec[SEC_STORE_DICT];
    size_t dl = (size_t)sd->len;
    ZSTD_DCtx *dz = ZSTD_createDCtx();
    if (dz == NULL) {
        free(refs);
        return TRAWL_ENOMEM;
    }
    trawl_buf wbuf = TRAWL_BUF_INIT;
    int wcode_err = 0;
    for (uint32_t b = 0; b < s->nstore_blocks; b++) {
        uint64_t off = trawl__get_u64(si + (size_t)b * 8);
        uint64_t lim = trawl__get_u64(si + (size_t)b * 8 + 8);
        const unsigned char *src = s->sec[SEC_STORE].p + off;
        size_t n = 0;
        size_t zlen = (size_t)(lim - off);
        int ok = 0;
        if (s->store_words) {
            /* format 11: decode with the word code (raw stays NULL) */
            const wc_code *wc;
            trawl_err e = {0};
            int r = wcode_err ? TRAWL_ECORRUPT : seg_wcode(s, &wc, &e);
            if (r == TRAWL_ENOMEM) {
                rc = r;
                break;
            }
            if (r < 0) {
                if (!wcode_err)
                    CHK(c, "STORE_CODE", "not a valid word code");
                wcode_err = 1;
            } else if ((r = trawl__wc_decode(wc, src, zlen, &wbuf)) ==
                       TRAWL_ENOMEM) {
                rc = r;
                break;
            } else if (r < 0) {
                CHK(c, "STORE", "block %u does not decode with the word "
                    "code", b);
            } else {
                ok = 1;
                n = wbuf.len;
            }
        } else {
            unsigned long long want = ZSTD_getFrameContentSize(src, zlen);
            size_t fsz = ZSTD_findFrameCompressedSize(src, zlen);
            if (want == ZSTD_CONTENTSIZE_ERROR ||
                want == ZSTD_CONTENTSIZE_UNKNOWN || want > (1ull << 30)) {
                CHK(c, "STORE", "block %u: not a zstd frame with a known size",
                    b);
            } else if (ZSTD_isError(fsz) || fsz != zlen) {
                CHK(c, "STORE", "block %u: frame is %s than its %zu bytes", b,
                    ZSTD_isError(fsz) || fsz > zlen ? "longer" : "shorter",
                    zlen);
            } else {
                if (dl + want + 1 > raw_cap) {
                    unsigned char *nr = realloc(raw, dl + (size_t)want + 1);
                    if (nr == NULL) {
                        rc = TRAWL_ENOMEM;
                        break;
                    }
                    raw = nr;
                    raw_cap = dl + (size_t)want + 1;
                    memcpy(raw, sd->p, dl);
                }
                n = dl > 0 ? ZSTD_decompress_usingDict(dz, raw + dl, raw_cap - dl,
                                                       src, zlen, raw, dl)
                           : ZSTD_decompressDCtx(dz, raw, raw_cap, src, zlen);
                if (ZSTD_isError(n) || n != want)
                    CHK(c, "STORE", "block %u does not decompress: %s", b,
                        ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short");
                else
                    ok = 1;
            }
        }
        /* n is a zstd error code unless ok: no pointer past the end */
        const unsigned char *p = !ok ? NULL : s->store_words ? wbuf.ptr
                                                              : raw + dl;
        const unsigned char *end = ok ? p + n : NULL;
        uint32_t slot = 0;
        while (ok && p < end) {
            const unsigned char *f[STORED_BODY_N];
            uint64_t fl[STORED_BODY_N];
            for (int i = 0; i < STORED_BODY_N && ok; i++) {
                uint64_t v;
                if (trawl__get_varint(&p, end, &v) != 0 ||
                    (v > 0 && v - 1 > (uint64_t)(end - p))) {
                    CHK(c, "STORE", "block %u: record %u truncated", b,
                        slot);
                    ok = 0;
                    break;
                }
                f[i] = v ? p : NULL;
                fl[i] = v ? v - 1 : 0;
                p += fl[i];
            }
            if (!ok)
                break;
            if (f[0] != NULL &&
                !trawl_utf8_valid((const char *)f[0], (size_t)fl[0]))
                CHK(c, "STORE", "block %u: record %u: invalid UTF-8", b,
                    slot);
            while (ri < s->ndocs && refs[ri].block == b &&
                   refs[ri].slot == slot) {
                if (ri > 0 && refs[ri - 1].block == b &&
                    refs[ri - 1].slot == slot)
                    CHK(c, "DOCS", "docs %u and %u share store block %u "
                        "slot %u", refs[ri - 1].doc, refs[ri].doc, b, slot);
                ri++;
            }
            slot++;
        }
        for (; ri < s->ndocs && refs[ri].block == b; ri++)
            if (ok)
                CHK(c, "DOCS", "doc %u: store block %u has no slot %u",
                    refs[ri].doc, b, refs[ri].slot);
    }
    ZSTD_freeDCtx(dz);
    trawl_buf_free(&wbuf);
    free(raw);
    free(refs);
    return rc;
}

/* DOCMETA: every block holds exactly its documents' records, each with
 * an id (whose hash goes to id_hash for the IDS check) and a valid UTF-8
 * title. */
static int chk_docmeta(chk *c, const trawl_segment *s, uint64_t *id_hash,
                       unsigned char *have)
{
    const unsigned char *mi = s->sec[SEC_DOCMETA_INDEX].p + 4;
    uint32_t nb = (uint32_t)(((uint64_t)s->ndocs + META_BLOCK - 1) /
                             META_BLOCK);
    for (uint32_t b = 0; b < nb; b++) {
        uint64_t off = trawl__get_u64(mi + (size_t)b * 8);
        uint64_t lim = trawl__get_u64(mi + (size_t)b * 8 + 8);
        const unsigned char *p = s->sec[SEC_DOCMETA].p + off;
        const unsigned char *end = s->sec[SEC_DOCMETA].p + lim;
        uint32_t first = b * META_BLOCK;
        uint32_t count = s->ndocs - first < META_BLOCK ? s->ndocs - first
                                                       : META_BLOCK;
        uint32_t k;
        for (k = 0; k < count && p < end; k++) {
            const unsigned char *f[STORED_META_N];
            uint64_t fl[STORED_META_N];
            int ok = 1;
            if (s->meta_rel > 0 &&
                trawl__seg_meta_rel(s, first + k) !=
                    (uint64_t)(p - (s->sec[SEC_DOCMETA].p + off)))
                CHK(c, "DOCMETA_INDEX", "doc %u: offset is not its record's",
                    first + k);
            for (int i = 0; i < STORED_META_N && ok; i++) {
                uint64_t v;
                if (trawl__get_varint(&p, end, &v) != 0 ||
                    (v > 0 && v - 1 > (uint64_t)(end - p))) {
                    ok = 0;
                    break;
                }
                f[i] = v ? p : NULL;
                fl[i] = v ? v - 1 : 0;
                p += fl[i];
            }
            if (!ok) {
                CHK(c, "DOCMETA", "block %u: record %u truncated", b, k);
                break;
            }
            if (f[STORED_ID] == NULL || fl[STORED_ID] == 0) {
                CHK(c, "DOCMETA", "doc %u has no id", first + k);
                continue;
            }
            for (int i = 0; i < STORED_META_N; i++)
                if (f[i] != NULL &&
                    !trawl_utf8_valid((const char *)f[i], (size_t)fl[i]))
                    CHK(c, "DOCMETA", "doc %u: invalid UTF-8", first + k);
            id_hash[first + k] =
                trawl__hash64(f[STORED_ID], (size_t)fl[STORED_ID]);
            have[first + k] = 1;
        }
        if (k < count || p != end)
            CHK(c, "DOCMETA", "block %u holds %s records than its %u docs",
                b, k < count ? "fewer" : "more", count);
    }
    return 0;
}

/* The IDS table: sorted by (hash, doc), every doc exactly once, each key
 * the hash of that doc's stored id. */
static int chk_ids(chk *c, const trawl_segment *s, const uint64_t *id_hash,
                   const unsigned char *have)
{
    unsigned char *seen = calloc((size_t)s->ndocs + 1, 1);
    if (seen == NULL)
        return TRAWL_ENOMEM;
    const unsigned char *base = s->sec[SEC_IDS].p;
    uint64_t ph = 0;
    uint32_t pd = 0;
    for (uint32_t i = 0; i < s->ndocs; i++) {
        const unsigned char *r = base + (size_t)i * ID_RECORD;
        uint64_t h = trawl__get_u64(r);
        uint32_t d = trawl__get_u32(r + 8);
        if (i > 0 && (h < ph || (h == ph && d <= pd)))
            CHK(c, "IDS", "entry %u out of order", i);
        ph = h;
        pd = d;
        if (d >= s->ndocs) {
            CHK(c, "IDS", "entry %u: doc %u out of range (%u docs)", i, d,
                s->ndocs);
            continue;
        }
        if (seen[d]++)
            CHK(c, "IDS", "entry %u: doc %u listed twice", i, d);
        if (have[d] && id_hash[d] != h)
            CHK(c, "IDS", "entry %u: doc %u's stored id does not hash to "
                "the key", i, d);
    }
    for (uint32_t d = 0; d < s->ndocs; d++)
        if (!seen[d])
            CHK(c, "IDS", "doc %u has no entry", d);
    free(seen);
    return 0;
}

/* One term's posting list: skip table, blocks, positions, block-max and
 * term-max bounds. Adds the term's tf to doc_tf. Returns the bytes of
 * POSITIONS the list uses (or 0 when it could not be walked). */
static uint64_t chk_postings(chk *c, const trawl_segment *s,
                             const char *term, size_t tlen,
                             const seg_term *t, uint64_t *doc_tf,
                             uint32_t *vals)
{
    const unsigned char *post = s->sec[SEC_POSTINGS].p;
    const unsigned char *sp = post + t->post_off;
    const unsigned char *send = sp + t->skip_len;
    const unsigned char *dp = send, *dend = post + t->post_off + t->post_len;
    const unsigned char *pos0 = s->sec[SEC_POSITIONS].p + t->pos_off;
    const unsigned char *pp = pos0;
    const unsigned char *pend =
        s->sec[SEC_POSITIONS].p + s->sec[SEC_POSITIONS].len;
    uint32_t *gaps = vals, *tf[TRAWL_NFIELDS];
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        tf[f] = vals + (size_t)(f + 1) * BLOCK_SIZE;
    int tl = (int)(tlen > 60 ? 60 : tlen);
    uint32_t remaining = t->df, nb = 0;
    uint64_t last = 0;
    int64_t prev = -1;
#define TPROB(part, ...)                                                   \
    do {                                                                   \
        char tp_[300];                                                     \
        snprintf(tp_, sizeof(tp_), __VA_ARGS__);                           \
        CHK(c, part, "term \"%.*s\": %s", tl, term, tp_);                  \
        return 0;                                                          \
    } while (0)
    /* A pair term (format.h, PAIRS): two of the segment's common words,
     * counted apart from the tokens, with no positions. */
    int pair = trawl__is_pair(term, tlen);
    /* Nor are an author or site term's (format.h) */
    int meta = trawl__is_meta(term, tlen);
    if (pair) {
        const char *mid = memchr(term + 1, PAIR_MARK, tlen - 1);
        const seg_section *pw = &s->sec[SEC_PAIRS];
        if (mid == NULL ||
            !trawl__pairs_cover(pw, term + 1, (size_t)(mid - term - 1),
                                mid + 1, (size_t)(term + tlen - mid - 1)))
            TPROB("TERMS", "a pair term of words that PAIRS does not cover");
    }
    /* The whole-list bounds: from TERMS or the skip entry, or for a
     * compact list (format.h) the list's own, which nothing stores. */
    uint64_t tmax[TRAWL_NFIELDS], tmin[TRAWL_NFIELDS];
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        tmax[f] = t->max_tf[f];
        tmin[f] = t->min_len[f];
    }
    while (remaining > 0) {
        uint64_t delta, db, pb, bmax[TRAWL_NFIELDS], bmin[TRAWL_NFIELDS];
        uint32_t n = remaining < BLOCK_SIZE ? remaining : BLOCK_SIZE;
        if (t->compact) {
            /* Decoded here with a walk of its own (not the codec's):
             * gap << 1 | plain (tf 0 title, 1 body), else the tf code
             * (body << 2 | title up to 3) and the title's rest. */
            const unsigned char *q = dp;
            uint32_t cd[COMPACT_MAX];
            for (uint32_t i = 0; i < n; i++) {
                uint64_t g, code = 1 << 2, extra = 0;
                if (trawl__get_varint(&q, dend, &g) != 0 ||
                    (!(g & 1) && trawl__get_varint(&q, dend, &code) != 0) ||
                    ((code & 3) == 3 &&
                     trawl__get_varint(&q, dend, &extra) != 0))
                    TPROB("POSTINGS", "compact list truncated at posting "
                          "%u", i);
                g >>= 1;
                if (g > s->ndocs || code >> 2 > UINT32_MAX ||
                    extra > UINT32_MAX - 3)
                    TPROB("POSTINGS", "compact list: posting %u out of "
                          "range", i);
                gaps[i] = (uint32_t)g;
                tf[TRAWL_FIELD_BODY][i] = (uint32_t)(code >> 2);
                tf[TRAWL_FIELD_TITLE][i] = (uint32_t)((code & 3) + extra);
                last += g + (i > 0);
                if (last >= s->ndocs)
                    TPROB("POSTINGS", "compact list: doc %" PRIu64 " out of "
                          "range (%u docs)", last, s->ndocs);
                cd[i] = (uint32_t)last;
            }
            if (q != dend)
                TPROB("POSTINGS", "compact list: %zu unexplained bytes",
                      (size_t)(dend - q));
            delta = last;
            last = 0;
            db = (uint64_t)(dend - dp);
            pb = pair ? 0 : (uint64_t)(pend - pp);
            for (int f = 0; f < TRAWL_NFIELDS; f++) {
                bmax[f] = 0;
                bmin[f] = UINT32_MAX;
                for (uint32_t i = 0; i < n; i++) {
                    uint32_t len = trawl__seg_field_len(s, cd[i], f);
                    if (tf[f][i] > bmax[f])
                        bmax[f] = tf[f][i];
                    if (tf[f][i] > 0 && len < bmin[f])
                        bmin[f] = len;
                }
                tmax[f] = bmax[f];
                tmin[f] = bmin[f];
            }
        } else {
            int ok = trawl__get_varint(&sp, send, &delta) == 0 &&
                     trawl__get_varint(&sp, send, &db) == 0 &&
                     trawl__get_varint(&sp, send, &pb) == 0;
            for (int f = 0; f < TRAWL_NFIELDS && ok; f++)
                ok = trawl__get_varint(&sp, send, &bmax[f]) == 0;
            for (int f = 0; f < TRAWL_NFIELDS && ok; f++)
                ok = trawl__get_varint(&sp, send, &bmin[f]) == 0;
            if (!ok)
                TPROB("POSTINGS", "skip table ends before block %u", nb);
        }
        if (delta > s->ndocs || last + delta >= s->ndocs)
            TPROB("POSTINGS", "block %u: last doc %" PRIu64 " out of range",
                  nb, last + delta);
        last += delta;
        if (db > (uint64_t)(dend - dp))
            TPROB("POSTINGS", "block %u: %" PRIu64 " bytes run past the "
                  "list", nb, db);
        if (pb > (uint64_t)(pend - pp))
            TPROB("POSITIONS", "block %u: %" PRIu64 " bytes run past the "
                  "section", nb, pb);
        if (pair && pb != 0)
            TPROB("POSITIONS", "block %u: a pair term with positions", nb);
        const unsigned char *bp = dp, *bend = dp + db;
        if (t->compact) {
            bp = bend; /* decoded above */
        } else {
            size_t k = chk_pfor(bp, bend, n, gaps);
            if (k == 0)
                TPROB("POSTINGS", "block %u: doc gaps truncated", nb);
            bp += k;
            for (int f = 0; f < TRAWL_NFIELDS; f++) {
                k = chk_pfor(bp, bend, n, tf[f]);
                if (k == 0)
                    TPROB("POSTINGS", "block %u: %s tf truncated", nb,
                          chk_field_name(f));
                bp += k;
            }
        }
        if (bp != bend)
            TPROB("POSTINGS", "block %u: %zu unexplained bytes", nb,
                  (size_t)(bend - bp));
        const unsigned char *q = pp, *qend = pp + pb;
        /* Format 9: the block's offset table (format.h, POSITIONS), each
         * offset checked where the walk reaches its posting. */
        unsigned tw = 0;
        const unsigned char *tab = NULL;
        if (!t->compact && s->version >= POS_TAB_FROM &&
            (tw = trawl__postab_width(n, pb)) != 0) {
            tab = q;
            q += (size_t)tw * (n - 1);
            uint32_t was = 0;
            for (uint32_t i = 1; i < n; i++) {
                uint32_t o = trawl__postab_get(tab, tw, i);
                if (o >= (uint64_t)(qend - q))
                    TPROB("POSITIONS", "block %u: offset %u of posting %u "
                          "is outside the block", nb, o, i);
                if (o <= was)
                    TPROB("POSITIONS", "block %u: offsets not increasing "
                          "at posting %u", nb, i);
                was = o;
            }
        }
        const unsigned char *q0 = q;
        for (uint32_t i = 0; i < n; i++) {
            if (tab != NULL && trawl__postab_get(tab, tw, i) !=
                                   (uint64_t)(q - q0))
                TPROB("POSITIONS", "block %u: offset table says posting %u "
                      "starts at %u, its positions start at %zu", nb, i,
                      trawl__postab_get(tab, tw, i), (size_t)(q - q0));
            prev += (int64_t)gaps[i] + 1;
            if (prev >= (int64_t)s->ndocs)
                TPROB("POSTINGS", "block %u: doc %" PRId64 " out of range "
                      "(%u docs)", nb, prev, s->ndocs);
            uint32_t d = (uint32_t)prev;
            uint64_t sum = 0;
            for (int f = 0; f < TRAWL_NFIELDS; f++) {
                uint32_t x = tf[f][i];
                uint32_t len = trawl__seg_field_len(s, d, f);
                sum += x;
                if (!pair && !meta)
                    doc_tf[(size_t)d * TRAWL_NFIELDS + f] += x;
                if (x == 0)
                    continue;
                if (x > bmax[f] || len < bmin[f])
                    TPROB("POSTINGS", "block %u: block-max data does not "
                          "bound doc %u (%s tf %u, len %u; max_tf %" PRIu64
                          ", min_len %" PRIu64 ")", nb, d, chk_field_name(f),
                          x, len, bmax[f], bmin[f]);
                if (x > tmax[f] || len < tmin[f])
                    TPROB("TERMS", "max_tf/min_len do not bound doc %u (%s "
                          "tf %u, len %u)", d, chk_field_name(f), x, len);
                if (x > len && !meta)
                    TPROB("POSTINGS", "doc %u: %s tf %u exceeds the field's "
                          "%u tokens", d, chk_field_name(f), x, len);
                if (pair)
                    continue;
                uint64_t at = 0;
                for (uint32_t j = 0; j < x; j++) {
                    uint64_t v;
                    if (trawl__get_varint(&q, qend, &v) != 0)
                        TPROB("POSITIONS", "block %u: doc %u: positions "
                              "truncated", nb, d);
                    if (j > 0 && v == 0)
                        TPROB("POSITIONS", "doc %u: %s positions not "
                              "increasing", d, chk_field_name(f));
                    at += v;
                    /* (an author term's positions are the byline's) */
                    if (!meta && (v >= len || at >= len))
                        TPROB("POSITIONS", "doc %u: %s position %" PRIu64
                              " beyond the field's %u tokens", d,
                              chk_field_name(f), at, len);
                }
            }
            if (sum == 0)
                TPROB("POSTINGS", "doc %u: tf is 0 in every field", d);
        }
        if (prev != (int64_t)last)
            TPROB("POSTINGS", "block %u: last doc %" PRId64 ", skip table "
                  "says %" PRIu64, nb, prev, last);
        if (t->compact) /* its positions end where the walk does */
            qend = q;
        if (q != qend)
            TPROB("POSITIONS", "block %u: %zu unexplained bytes", nb,
                  (size_t)(qend - q));
        dp = bend;
        pp = qend;
        remaining -= n;
        nb++;
    }
    if (sp != send)
        TPROB("POSTINGS", "%zu bytes after the skip table's last entry",
              (size_t)(send - sp));
    if (dp != dend)
        TPROB("POSTINGS", "%zu bytes after the last block",
              (size_t)(dend - dp));
#undef TPROB
    return (uint64_t)(pp - pos0);
}

/* The dictionary in order, each term's postings, and the sums they imply. */
static int chk_terms(chk *c, const trawl_segment *s)
{
    const unsigned char *tp = s->sec[SEC_TERMS].p;
    const unsigned char *end = tp + s->sec[SEC_TERMS].len;
    const unsigned char *p = tp;
    uint64_t *doc_tf = calloc((size_t)s->ndocs * TRAWL_NFIELDS + 1,
                              sizeof(*doc_tf));
    uint32_t *vals = malloc(sizeof(uint32_t) * BLOCK_SIZE *
                            (1 + TRAWL_NFIELDS));
    if (doc_tf == NULL || vals == NULL) {
        free(doc_tf);
        free(vals);
        return TRAWL_ENOMEM;
    }
    char prev[256], cur[256];
    size_t prev_len = 0, cur_len = 0;
    uint64_t want_post = 0, want_pos = 0;
    int walked = 1; /* every list was walked: the sums are meaningful */
    uint64_t i;
    seg_term t;
    memset(&t, 0, sizeof(t));
    for (i = 0; i < s->nterms; i++) {
        if (i % s->term_block == 0) {
            uint32_t b = (uint32_t)(i / s->term_block);
            uint32_t off = trawl__get_u32(s->sec[SEC_TERMS_INDEX].p + 12 +
                                          (size_t)b * 4);
            if ((uint64_t)(p - tp) != off)
                CHK(c, "TERMS_INDEX", "block %u at offset %u, but the "
                    "previous block ends at %zu", b, off, (size_t)(p - tp));
            p = tp + off;
            cur_len = 0;
        }
        trawl_err e;
        if (decode_entry(s, &p, end, cur, &cur_len, i % s->term_block == 0, &t,
                         &e) < 0) {
            CHK(c, "TERMS", "term %" PRIu64 ": %.300s", i, e.msg);
            walked = 0;
            break;
        }
        if (term_resolve(s, &t, &e) < 0) {
            CHK(c, "POSTINGS", "term \"%.*s\": %.300s",
                (int)(cur_len > 60 ? 60 : cur_len), cur, e.msg);
            walked = 0;
            break;
        }
        if (i > 0 && trawl__cmp_bytes(prev, prev_len, cur, cur_len) >= 0)
            CHK(c, "TERMS", "term %" PRIu64 " \"%.*s\" is not after \"%.*s\"",
                i, (int)(cur_len > 60 ? 60 : cur_len), cur,
                (int)(prev_len > 60 ? 60 : prev_len), prev);
        if (cur_len == 0)
            CHK(c, "TERMS", "term %" PRIu64 " is empty", i);
        if (t.post_off != want_post)
            CHK(c, "TERMS", "term \"%.*s\": postings at %" PRIu64
                ", expected %" PRIu64, (int)(cur_len > 60 ? 60 : cur_len),
                cur, t.post_off, want_post);
        if (t.pos_off != want_pos)
            CHK(c, "TERMS", "term \"%.*s\": positions at %" PRIu64
                ", expected %" PRIu64, (int)(cur_len > 60 ? 60 : cur_len),
                cur, t.pos_off, want_pos);
        int before = c->bad;
        uint64_t used = chk_postings(c, s, cur, cur_len, &t, doc_tf, vals);
        if (c->bad != before)
            walked = 0;
        want_post = t.post_off + t.post_len;
        want_pos = t.pos_off + used;
        memcpy(prev, cur, cur_len);
        prev_len = cur_len;
    }
    if (i == s->nterms) {
        if (p != end)
            CHK(c, "TERMS", "%zu bytes after the last term",
                (size_t)(end - p));
        if (want_post != s->sec[SEC_POSTINGS].len)
            CHK(c, "POSTINGS", "%" PRIu64 " bytes belong to no term",
                s->sec[SEC_POSTINGS].len - want_post);
        if (walked && want_pos != s->sec[SEC_POSITIONS].len)
            CHK(c, "POSITIONS", "%" PRIu64 " bytes belong to no term",
                s->sec[SEC_POSITIONS].len - want_pos);
    }
    /* Every token of every doc is in exactly one posting, and so is
     * each compound (a hyphenated chain's, a word's without its
     * apostrophe), which shares the position of the word after it: a
     * field of len positions has len to 2 len of them. */
    uint64_t total[TRAWL_NFIELDS] = {0};
    for (uint32_t d = 0; d < s->ndocs; d++)
        for (int f = 0; f < TRAWL_NFIELDS; f++) {
            uint32_t len = trawl__seg_field_len(s, d, f);
            uint64_t tf = doc_tf[(size_t)d * TRAWL_NFIELDS + f];
            total[f] += len;
            if (walked && (tf < len || tf > 2 * (uint64_t)len))
                CHK(c, "DOCS", "doc %u: %s has %u tokens, its postings "
                    "hold %" PRIu64, d, chk_field_name(f), len,
                    doc_tf[(size_t)d * TRAWL_NFIELDS + f]);
        }
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        if (total[f] != s->total_len[f])
            CHK(c, "META", "%s tokens %" PRIu64 ", DOCS sum to %" PRIu64,
                chk_field_name(f), s->total_len[f], total[f]);
    free(doc_tf);
    free(vals);
    return 0;
}

typedef struct chk_live {
    uint64_t hash;
    uint32_t seg, doc;
} chk_live;

static int chk_live_cmp(const void *a, const void *b)
{
    const chk_live *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    if (x->seg != y->seg)
        return x->seg < y->seg ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* No external id is live twice in the generation. */
static int chk_unique_ids(chk *c, const trawl_index *ix, chk_live *live,
                          size_t n)
{
    qsort(live, n, sizeof(*live), chk_live_cmp);
    trawl_arena *a = trawl_arena_new(64 * 1024);
    if (a == NULL)
        return TRAWL_ENOMEM;
    for (size_t i = 1; i < n; i++) {
        if (live[i].hash != live[i - 1].hash)
            continue;
        for (size_t j = i; j-- > 0 && live[j].hash == live[i].hash;) {
            trawl_stored x, y;
            trawl_arena_reset(a);
            if (trawl__seg_stored(&ix->segs[live[i].seg], live[i].doc, a, &x,
                                  NULL) < 0 ||
                trawl__seg_stored(&ix->segs[live[j].seg], live[j].doc, a, &y,
                                  NULL) < 0)
                continue;
            if (x.id_len == y.id_len && memcmp(x.id, y.id, x.id_len) == 0)
                CHK(c, "manifest", "id \"%.*s\" is live in %s doc %u and "
                    "%s doc %u", (int)(x.id_len > 100 ? 100 : x.id_len), x.id,
                    ix->segs[live[j].seg].name, live[j].doc,
                    ix->segs[live[i].seg].name, live[i].doc);
        }
    }
    trawl_arena_free(a);
    return 0;
}

static int chk_segment(chk *c, const trawl_index *ix, uint32_t si,
                       chk_live *live, size_t *nlive)
{
    const trawl_segment *s = &ix->segs[si];
    c->file = s->name;
    c->file_bad = 0;
    chk_layout(c, s);
    uint64_t *id_hash = calloc((size_t)s->ndocs + 1, sizeof(*id_hash));
    unsigned char *have = calloc((size_t)s->ndocs + 1, 1);
    int rc = TRAWL_ENOMEM;
    if (id_hash != NULL && have != NULL && (rc = chk_store(c, s)) == 0 &&
        (rc = chk_docmeta(c, s, id_hash, have)) == 0 &&
        (rc = chk_ids(c, s, id_hash, have)) == 0)
        rc = chk_terms(c, s);
    for (uint32_t d = 0; rc == 0 && d < s->ndocs; d++)
        if (have[d] && !trawl__seg_is_deleted(s, d)) {
            live[*nlive].hash = id_hash[d];
            live[*nlive].seg = si;
            live[*nlive].doc = d;
            (*nlive)++;
        }
    free(id_hash);
    free(have);
    return rc;
}

/* The manifest's own invariants (parse_manifest checked its syntax). */
static void chk_manifest(chk *c, const trawl_index *ix, uint64_t current)
{
    if (current != ix->generation)
        CHK(c, "header", "generation %" PRIu64 ", but CURRENT names %" PRIu64,
            ix->generation, current);
    for (uint32_t i = 0; i < ix->nsegs; i++) {
        const trawl_segment *s = &ix->segs[i];
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(ix->segs[j].name, s->name) == 0)
                CHK(c, "segments", "%s listed twice", s->name);
        if (s->deleted == NULL)
            continue;
        uint32_t count = 0;
        size_t bytes = ((size_t)s->ndocs + 7) / 8;
        for (size_t b = 0; b < bytes; b++)
            count += (uint32_t)__builtin_popcount(s->deleted[b]);
        if (s->ndocs % 8 != 0 && (s->deleted[bytes - 1] >> (s->ndocs % 8)))
            CHK(c, "segments", "%s: deletion bits set beyond its %u docs",
                s->name, s->ndocs);
        else if (count != s->ndeleted)
            CHK(c, "segments", "%s: %u deletion bits set, count says %u",
                s->name, count, s->ndeleted);
    }
}

int trawl_index_check(const char *dir, char **report, trawl_err *err)
{
    trawl_buf r = TRAWL_BUF_INIT;
    trawl_index *ix;
    trawl_err e;
    *report = NULL;
    /* The manifest's generation is compared with the one CURRENT named
     * when it was opened. A writer may commit while we open: CURRENT then
     * names a newer generation than the one opened, which is no damage;
     * open again until CURRENT reads the same before and after. */
    uint64_t current = 0;
    int rc;
    for (int attempt = 0;; attempt++) {
        uint64_t before = 0, after = 0;
        int have = trawl_index_current(dir, &before, NULL) == 0;
        rc = trawl_index_open(&ix, dir, &e);
        if (rc < 0)
            break;
        have = have && trawl_index_current(dir, &after, NULL) == 0;
        current = have ? after : ix->generation;
        if (!have || before == after || attempt == 19)
            break;
        trawl_index_release(ix);
    }
    if (rc < 0) {
        trawl_buf_printf(&r, "%s\n", e.msg);
        *report = (char *)r.ptr;
        return trawl_err_set(err, rc, "%s", e.msg);
    }
    chk c = {.r = &r, .dir = dir};
    char man[64];
    snprintf(man, sizeof(man), "gen-%06" PRIu64 ".man", ix->generation);
    c.file = man;
    chk_manifest(&c, ix, current);
    chk_live *live = calloc((size_t)ix->all_docs + 1, sizeof(*live));
    size_t nlive = 0;
    rc = live == NULL ? TRAWL_ENOMEM : 0;
    for (uint32_t si = 0; rc == 0 && si < ix->nsegs; si++)
        rc = chk_segment(&c, ix, si, live, &nlive);
    if (rc == 0) {
        c.file = man;
        c.file_bad = 0;
        rc = chk_unique_ids(&c, ix, live, nlive);
    }
    free(live);
    trawl_index_release(ix);
    if (rc < 0) {
        trawl_buf_free(&r);
        return trawl_err_set(err, rc, "check %s: %s", dir,
                             trawl_strerror(rc));
    }
    if (r.rc != 0) {
        trawl_buf_free(&r);
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }
    *report = (char *)r.ptr;
    if (c.bad)
        return trawl__corrupt(err, "%s: %d problem(s) found", dir, c.bad);
    return 0;
}

/*
 * The index writer: in-memory inversion of articles into per-term posting
 * buffers, streaming of the compressed document store, and the final
 * segment and manifest writes that commit a generation atomically.
 *
 * In memory, each term owns a byte buffer of postings, each posting as
 * varints: doc gap, tf per field, positions byte length, then the position
 * deltas per field exactly as they are laid out in the POSITIONS section,
 * so the final write copies them without re-encoding.
 */
#include "trawl/writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <streamvbyte.h>
#include <zstd.h>

#include "format.h"
#include "internal.h"
#include "seg.h"
#include "segfile.h"
#include "trawl/analyze.h"
#include "trawl/arena.h"
#include "trawl/buf.h"
#include "trawl/index.h"

#define DEFAULT_BUDGET ((size_t)512 << 20)

typedef struct wterm {
    const char *s;
    uint32_t len;
    uint32_t df;
    uint32_t last_doc;
    uint32_t blen, bcap;
    unsigned char *buf;
} wterm;

typedef struct wtok {
    uint32_t term;
    uint32_t pos;
    uint32_t field;
} wtok;

typedef struct wid {
    uint64_t hash;
    uint32_t doc;
} wid;

struct trawl_writer {
    char *dir;
    int lock_fd;
    trawl_analyzer *an;
    char language[32];
    trawl_arena *strings; /* term and id bytes */

    wterm *terms;
    uint32_t nterms, terms_cap;
    uint32_t *table; /* open addressing: term index + 1, 0 = empty */
    uint32_t table_mask;

    uint32_t ndocs;
    trawl_buf docs;      /* DOC_RECORD per doc */
    wid *ids;            /* by docid */
    const char **id_str; /* by docid, NUL-terminated, in strings arena */
    uint32_t *id_table;  /* open addressing: docid + 1 */
    uint32_t id_mask;
    uint32_t ids_cap;
    trawl_buf deleted;   /* bitmap of docs replaced within this run */
    uint32_t ndeleted;

    segfile seg;
    char *seg_tmp, *seg_name;
    trawl_buf store_block;
    uint32_t store_slot;
    trawl_buf store_index; /* u64 offsets */
    uint32_t store_nblocks;
    uint64_t store_off;
    ZSTD_CCtx *zc;
    trawl_buf zbuf;

    wtok *toks;
    size_t ntoks, toks_cap;
    uint32_t cur_field;
    trawl_buf scratch;

    uint64_t total_len[TRAWL_NFIELDS];
    uint64_t tokens;
    uint64_t input_bytes;
    size_t mem;
    uint64_t gen;
    trawl_index *old;
    uint64_t added, updated, unchanged;
    int committed;
    int rc;
};

/* ---- small helpers ---------------------------------------------------- */

static int join_path(char **out, const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    *out = malloc(n);
    if (*out == NULL)
        return TRAWL_ENOMEM;
    snprintf(*out, n, "%s/%s", dir, name);
    return 0;
}

static int take_lock(trawl_writer *w, trawl_err *err)
{
    char *path;
    if (join_path(&path, w->dir, "LOCK") != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (w->lock_fd < 0) {
        int rc = trawl_err_set(err, TRAWL_EIO, "open %s: %s", path,
                               strerror(errno));
        free(path);
        return rc;
    }
    if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(w->lock_fd, pid, sizeof(pid) - 1, 0);
        if (n > 0) {
            pid[n] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
        }
        int rc = trawl_err_set(err, TRAWL_ELOCKED,
                               "index %s is locked by another trawl-index "
                               "(pid %s)",
                               w->dir, n > 0 ? pid : "unknown");
        free(path);
        close(w->lock_fd);
        w->lock_fd = -1;
        return rc;
    }
    free(path);
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(w->lock_fd, 0) != 0 || pwrite(w->lock_fd, pid, (size_t)n, 0) != n)
        return trawl_err_set(err, TRAWL_EIO, "write LOCK: %s", strerror(errno));
    return 0;
}

/* Remove *.tmp leftovers of dead builds and find the highest generation
 * number in use, so a new one never reuses a name. */
static int scan_dir(trawl_writer *w, uint64_t *max_gen, trawl_err *err)
{
    DIR *d = opendir(w->dir);
    if (d == NULL)
        return trawl_err_set(err, TRAWL_EIO, "open %s: %s", w->dir,
                             strerror(errno));
    *max_gen = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        if (len > 4 && strcmp(n + len - 4, ".tmp") == 0) {
            unlinkat(dirfd(d), n, 0);
            continue;
        }
        unsigned long long g;
        if ((strncmp(n, "gen-", 4) == 0 || strncmp(n, "seg-", 4) == 0) &&
            sscanf(n + 4, "%llu", &g) == 1 && g > *max_gen)
            *max_gen = g;
    }
    closedir(d);
    return 0;
}

/* ---- term table ------------------------------------------------------- */

static int table_grow(trawl_writer *w)
{
    uint32_t ncap = w->table_mask ? (w->table_mask + 1) * 2 : 1u << 16;
    uint32_t *t = calloc(ncap, sizeof(*t));
    if (t == NULL)
        return TRAWL_ENOMEM;
    for (uint32_t i = 0; i < w->nterms; i++) {
        uint64_t h = trawl__hash64(w->terms[i].s, w->terms[i].len);
        uint32_t j = (uint32_t)h & (ncap - 1);
        while (t[j] != 0)
            j = (j + 1) & (ncap - 1);
        t[j] = i + 1;
    }
    free(w->table);
    w->table = t;
    w->table_mask = ncap - 1;
    return 0;
}

static int term_id(trawl_writer *w, const char *s, size_t len, uint32_t *out)
{
    if ((size_t)w->nterms * 2 >= (size_t)w->table_mask + 1 &&
        table_grow(w) != 0)
        return TRAWL_ENOMEM;
    uint64_t h = trawl__hash64(s, len);
    uint32_t j = (uint32_t)h & w->table_mask;
    for (;;) {
        uint32_t v = w->table[j];
        if (v == 0)
            break;
        wterm *t = &w->terms[v - 1];
        if (t->len == len && memcmp(t->s, s, len) == 0) {
            *out = v - 1;
            return 0;
        }
        j = (j + 1) & w->table_mask;
    }
    if (w->nterms == w->terms_cap) {
        uint32_t ncap = w->terms_cap ? w->terms_cap * 2 : 4096;
        wterm *nt = realloc(w->terms, ncap * sizeof(*nt));
        if (nt == NULL)
            return TRAWL_ENOMEM;
        w->terms = nt;
        w->terms_cap = ncap;
    }
    char *copy = trawl_arena_strndup(w->strings, s, len);
    if (copy == NULL)
        return TRAWL_ENOMEM;
    wterm *t = &w->terms[w->nterms];
    memset(t, 0, sizeof(*t));
    t->s = copy;
    t->len = (uint32_t)len;
    w->table[j] = w->nterms + 1;
    *out = w->nterms++;
    w->mem += sizeof(*t) + len + 8;
    return 0;
}

/* ---- open ------------------------------------------------------------- */

int trawl_writer_open(trawl_writer **out, const char *dir,
                      const trawl_writer_opts *opts, trawl_err *err)
{
    int rc;
    *out = NULL;
    trawl_writer *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    w->lock_fd = -1;
    w->seg.fd = -1;
    w->dir = strdup(dir);
    w->strings = trawl_arena_new(1 << 20);
    w->zc = ZSTD_createCCtx();
    if (w->dir == NULL || w->strings == NULL || w->zc == NULL) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto fail;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        rc = trawl_err_set(err, TRAWL_EIO, "create %s: %s", dir,
                           strerror(errno));
        goto fail;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = trawl_err_set(err, TRAWL_EINVAL, "%s is not a directory", dir);
        goto fail;
    }
    if ((rc = take_lock(w, err)) < 0)
        goto fail;
    uint64_t max_gen = 0;
    if ((rc = scan_dir(w, &max_gen, err)) < 0)
        goto fail;

    /* The previous generation, if any: its language is the default, and
     * its fingerprints tell added from updated from unchanged. */
    const char *lang = opts != NULL ? opts->language : NULL;
    uint64_t cur;
    if (trawl_index_current(dir, &cur, NULL) == 0) {
        trawl_err oerr;
        if (trawl_index_open(&w->old, dir, &oerr) == 0) {
            if (lang != NULL && strcmp(lang, w->old->language) != 0 &&
                !(opts != NULL && opts->full)) {
                rc = trawl_err_set(err, TRAWL_EVERSION,
                                   "index %s was built with language %s; "
                                   "use --full to rebuild it as %s",
                                   dir, w->old->language, lang);
                goto fail;
            }
            if (lang == NULL)
                lang = w->old->language;
        }
    }
    if (lang == NULL)
        lang = "english";
    if ((rc = trawl_analyzer_new(&w->an, lang, err)) < 0)
        goto fail;
    snprintf(w->language, sizeof(w->language), "%s",
             trawl_analyzer_language(w->an));
    if (w->old != NULL && opts != NULL && opts->full) {
        trawl_index_release(w->old);
        w->old = NULL;
    }

    w->gen = max_gen + 1;
    char name[64], tmp[80];
    snprintf(name, sizeof(name), "seg-%06" PRIu64 ".trs", w->gen);
    snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    if (join_path(&w->seg_name, dir, name) != 0 ||
        join_path(&w->seg_tmp, dir, tmp) != 0) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = trawl__segfile_open(&w->seg, w->seg_tmp, err)) < 0)
        goto fail;
    trawl__segfile_begin(&w->seg, SEC_STORE);
    if ((rc = table_grow(w)) < 0) {
        trawl_err_set(err, rc, "out of memory");
        goto fail;
    }
    *out = w;
    return 0;
fail:
    trawl_writer_free(w);
    return rc;
}

/* ---- document store --------------------------------------------------- */

static void put_stored(trawl_buf *b, const char *s, size_t len)
{
    if (s == NULL) {
        trawl_buf_put_varint(b, 0);
        return;
    }
    trawl_buf_put_varint(b, (uint64_t)len + 1);
    trawl_buf_put(b, s, len);
}

static int flush_store_block(trawl_writer *w, trawl_err *err)
{
    if (w->store_slot == 0)
        return 0;
    size_t bound = ZSTD_compressBound(w->store_block.len);
    trawl_buf_clear(&w->zbuf);
    if (trawl_buf_reserve(&w->zbuf, bound) != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    size_t n = ZSTD_compressCCtx(w->zc, w->zbuf.ptr, bound, w->store_block.ptr,
                                 w->store_block.len, 3);
    if (ZSTD_isError(n))
        return trawl_err_set(err, TRAWL_EIO, "zstd: %s", ZSTD_getErrorName(n));
    trawl_buf_put_u64le(&w->store_index, w->store_off);
    trawl__segfile_write(&w->seg, w->zbuf.ptr, n);
    w->store_off += n;
    w->store_nblocks++;
    w->store_slot = 0;
    trawl_buf_clear(&w->store_block);
    return w->seg.rc;
}

/* ---- adding ----------------------------------------------------------- */

static int on_token(void *payload, const trawl_token *tok)
{
    trawl_writer *w = payload;
    uint32_t id;
    if (term_id(w, tok->term, tok->len, &id) != 0)
        return TRAWL_ENOMEM;
    if (w->ntoks == w->toks_cap) {
        size_t ncap = w->toks_cap ? w->toks_cap * 2 : 1024;
        wtok *nt = realloc(w->toks, ncap * sizeof(*nt));
        if (nt == NULL)
            return TRAWL_ENOMEM;
        w->toks = nt;
        w->toks_cap = ncap;
    }
    w->toks[w->ntoks].term = id;
    w->toks[w->ntoks].pos = tok->pos;
    w->toks[w->ntoks].field = w->cur_field;
    w->ntoks++;
    return 0;
}

static int cmp_tok(const void *a, const void *b)
{
    const wtok *x = a, *y = b;
    if (x->term != y->term)
        return x->term < y->term ? -1 : 1;
    if (x->field != y->field)
        return x->field < y->field ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int term_append(trawl_writer *w, wterm *t, const void *p, size_t n)
{
    if ((size_t)t->blen + n > t->bcap) {
        size_t ncap = t->bcap ? (size_t)t->bcap * 2 : 16;
        while (ncap < (size_t)t->blen + n)
            ncap *= 2;
        if (ncap > UINT32_MAX)
            return TRAWL_ETOOBIG;
        unsigned char *nb = realloc(t->buf, ncap);
        if (nb == NULL)
            return TRAWL_ENOMEM;
        w->mem += ncap - t->bcap;
        t->buf = nb;
        t->bcap = (uint32_t)ncap;
    }
    memcpy(t->buf + t->blen, p, n);
    t->blen += (uint32_t)n;
    return 0;
}

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Append the postings of the current document (w->toks) to their terms. */
static int invert_doc(trawl_writer *w, uint32_t doc)
{
    qsort(w->toks, w->ntoks, sizeof(*w->toks), cmp_tok);
    size_t i = 0;
    while (i < w->ntoks) {
        size_t j = i;
        uint32_t tid = w->toks[i].term;
        uint32_t tf[TRAWL_NFIELDS] = {0};
        trawl_buf_clear(&w->scratch);
        uint32_t prev = 0;
        uint32_t field = UINT32_MAX;
        while (j < w->ntoks && w->toks[j].term == tid) {
            const wtok *k = &w->toks[j];
            if (k->field != field) {
                field = k->field;
                prev = 0;
            }
            tf[k->field]++;
            trawl_buf_put_varint(&w->scratch, k->pos - prev);
            prev = k->pos;
            j++;
        }
        if (w->scratch.rc != 0)
            return TRAWL_ENOMEM;
        wterm *t = &w->terms[tid];
        unsigned char hdr[10 * (2 + TRAWL_NFIELDS)];
        size_t n = put_varint(hdr, t->df == 0 ? (uint64_t)doc + 1
                                              : (uint64_t)(doc - t->last_doc));
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            n += put_varint(hdr + n, tf[f]);
        n += put_varint(hdr + n, w->scratch.len);
        int rc = term_append(w, t, hdr, n);
        if (rc == 0)
            rc = term_append(w, t, w->scratch.ptr, w->scratch.len);
        if (rc != 0)
            return rc;
        t->df++;
        t->last_doc = doc;
        i = j;
    }
    return 0;
}

static int ids_grow(trawl_writer *w)
{
    uint32_t ncap = w->ids_cap ? w->ids_cap * 2 : 4096;
    wid *ni = realloc(w->ids, ncap * sizeof(*ni));
    if (ni == NULL)
        return TRAWL_ENOMEM;
    w->ids = ni;
    const char **ns = realloc(w->id_str, ncap * sizeof(*ns));
    if (ns == NULL)
        return TRAWL_ENOMEM;
    w->id_str = ns;
    w->ids_cap = ncap;
    uint32_t tcap = ncap * 2;
    uint32_t *t = calloc(tcap, sizeof(*t));
    if (t == NULL)
        return TRAWL_ENOMEM;
    for (uint32_t d = 0; d < w->ndocs; d++) {
        uint32_t j = (uint32_t)w->ids[d].hash & (tcap - 1);
        while (t[j] != 0)
            j = (j + 1) & (tcap - 1);
        t[j] = d + 1;
    }
    free(w->id_table);
    w->id_table = t;
    w->id_mask = tcap - 1;
    return 0;
}

static void mark_deleted(trawl_writer *w, uint32_t doc)
{
    size_t need = doc / 8 + 1;
    if (w->deleted.len < need) {
        size_t old = w->deleted.len;
        if (trawl_buf_reserve(&w->deleted, need - old) != 0)
            return;
        memset(w->deleted.ptr + old, 0, need - old);
        w->deleted.len = need;
    }
    if (!((w->deleted.ptr[doc / 8] >> (doc % 8)) & 1)) {
        w->deleted.ptr[doc / 8] |= (unsigned char)(1u << (doc % 8));
        w->ndeleted++;
    }
}

int trawl_writer_add(trawl_writer *w, const trawl_article *a, trawl_err *err)
{
    int rc;
    if (w->rc != 0)
        return trawl_err_set(err, w->rc, "writer is in a failed state");
    if (a->id == NULL || a->id_len == 0)
        return trawl_err_set(err, TRAWL_EINVAL, "article has an empty id");
    if (w->ndocs == UINT32_MAX - 1)
        return trawl_err_set(err, TRAWL_ETOOBIG, "too many documents");
    const char *title = a->title != NULL ? a->title : "";
    const char *body = a->body != NULL ? a->body : "";
    if (!trawl_utf8_valid(a->id, a->id_len) ||
        !trawl_utf8_valid(title, a->title_len) ||
        !trawl_utf8_valid(body, a->body_len))
        return trawl_err_set(err, TRAWL_EINVAL, "article %.*s is not valid UTF-8",
                             (int)(a->id_len > 200 ? 200 : a->id_len), a->id);

    if (w->ndocs == w->ids_cap && (rc = ids_grow(w)) < 0)
        return trawl_err_set(err, rc, "out of memory");
    uint32_t doc = w->ndocs;

    /* A second article with the same id in one run replaces the first. */
    uint64_t h = trawl__hash64(a->id, a->id_len);
    uint32_t j = (uint32_t)h & w->id_mask;
    int replaced = 0;
    while (w->id_table[j] != 0) {
        uint32_t d = w->id_table[j] - 1;
        if (w->ids[d].hash == h && strlen(w->id_str[d]) == a->id_len &&
            memcmp(w->id_str[d], a->id, a->id_len) == 0) {
            mark_deleted(w, d);
            w->id_table[j] = doc + 1;
            replaced = 1;
            break;
        }
        j = (j + 1) & w->id_mask;
    }
    if (!replaced)
        w->id_table[j] = doc + 1;
    w->ids[doc].hash = h;
    w->ids[doc].doc = doc;
    w->id_str[doc] = trawl_arena_strndup(w->strings, a->id, a->id_len);
    if (w->id_str[doc] == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");

    /* Stored fields, and the fingerprint over exactly those bytes. */
    size_t rec_start = w->store_block.len;
    put_stored(&w->store_block, a->id, a->id_len);
    put_stored(&w->store_block, title, a->title_len);
    put_stored(&w->store_block, body, a->body_len);
    put_stored(&w->store_block, a->author, a->author_len);
    put_stored(&w->store_block, a->url, a->url_len);
    put_stored(&w->store_block, a->extra, a->extra_len);
    unsigned char datebuf[8];
    trawl__put_u64(datebuf, (uint64_t)a->date);
    if (w->store_block.rc != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    uint64_t fp = trawl__hash64(w->store_block.ptr + rec_start,
                                w->store_block.len - rec_start) ^
                  trawl__hash64(datebuf, 8);
    uint32_t block = w->store_nblocks, slot = w->store_slot++;

    /* Invert. */
    w->ntoks = 0;
    uint32_t len[TRAWL_NFIELDS];
    w->cur_field = TRAWL_FIELD_TITLE;
    rc = trawl_analyze(w->an, title, a->title_len, on_token, w);
    len[TRAWL_FIELD_TITLE] = (uint32_t)w->ntoks;
    if (rc == 0) {
        w->cur_field = TRAWL_FIELD_BODY;
        rc = trawl_analyze(w->an, body, a->body_len, on_token, w);
    }
    len[TRAWL_FIELD_BODY] = (uint32_t)w->ntoks - len[TRAWL_FIELD_TITLE];
    if (rc == 0)
        rc = invert_doc(w, doc);
    if (rc != 0) {
        w->rc = rc;
        return trawl_err_set(err, rc, "indexing %.*s: %s",
                             (int)(a->id_len > 200 ? 200 : a->id_len), a->id,
                             trawl_strerror(rc));
    }

    unsigned char rec[DOC_RECORD];
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        trawl__put_u32(rec + 4 * f, len[f]);
        w->total_len[f] += len[f];
    }
    trawl__put_u64(rec + 4 * TRAWL_NFIELDS, (uint64_t)a->date);
    trawl__put_u64(rec + 4 * TRAWL_NFIELDS + 8, fp);
    trawl__put_u32(rec + 4 * TRAWL_NFIELDS + 16, block);
    trawl__put_u32(rec + 4 * TRAWL_NFIELDS + 20, slot);
    trawl_buf_put(&w->docs, rec, sizeof(rec));
    if (w->docs.rc != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    w->ndocs++;
    w->tokens += w->ntoks;
    w->input_bytes += a->title_len + a->body_len;

    if (w->old != NULL && !replaced) {
        uint32_t os, od;
        if (trawl__index_find_id(w->old, a->id, a->id_len, &os, &od, NULL) == 1)
        {
            if (trawl__seg_fingerprint(&w->old->segs[os], od) == fp)
                w->unchanged++;
            else
                w->updated++;
        } else {
            w->added++;
        }
    } else if (!replaced) {
        w->added++;
    }

    if (w->store_block.len >= STORE_BLOCK &&
        (rc = flush_store_block(w, err)) < 0) {
        w->rc = rc;
        return rc;
    }
    return 0;
}

/* ---- commit: the segment ---------------------------------------------- */

static const wterm *sort_base;

static int cmp_term(const void *a, const void *b)
{
    const wterm *x = &sort_base[*(const uint32_t *)a];
    const wterm *y = &sort_base[*(const uint32_t *)b];
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int cmp_id(const void *a, const void *b)
{
    const wid *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

typedef struct post {
    uint32_t doc;
    uint32_t tf[TRAWL_NFIELDS];
    uint32_t pos_len;
    const unsigned char *pos;
} post;

/* Decode a term's in-memory buffer into ps (df entries). */
static void decode_term(const wterm *t, post *ps)
{
    const unsigned char *p = t->buf, *end = t->buf + t->blen;
    uint64_t v = 0;
    uint32_t doc = 0;
    for (uint32_t i = 0; i < t->df; i++) {
        trawl__get_varint(&p, end, &v);
        doc = i == 0 ? (uint32_t)(v - 1) : doc + (uint32_t)v;
        ps[i].doc = doc;
        for (int f = 0; f < TRAWL_NFIELDS; f++) {
            trawl__get_varint(&p, end, &v);
            ps[i].tf[f] = (uint32_t)v;
        }
        trawl__get_varint(&p, end, &v);
        ps[i].pos_len = (uint32_t)v;
        ps[i].pos = p;
        p += v;
    }
}

static int write_segment(trawl_writer *w, uint64_t *nterms_out,
                         trawl_err *err)
{
    segfile *f = &w->seg;
    int rc;

    if ((rc = flush_store_block(w, err)) < 0)
        return rc;
    trawl__segfile_end(f);

    trawl_buf b = TRAWL_BUF_INIT;
    trawl_buf_put_u32le(&b, w->store_nblocks);
    trawl_buf_put_u64le(&w->store_index, w->store_off);
    trawl_buf_put(&b, w->store_index.ptr, w->store_index.len);
    trawl__segfile_begin(f, SEC_STORE_INDEX);
    trawl__segfile_write(f, b.ptr, b.len);
    trawl__segfile_end(f);

    trawl__segfile_begin(f, SEC_DOCS);
    trawl__segfile_write(f, w->docs.ptr, w->docs.len);
    trawl__segfile_end(f);

    qsort(w->ids, w->ndocs, sizeof(*w->ids), cmp_id);
    trawl_buf_clear(&b);
    for (uint32_t d = 0; d < w->ndocs; d++) {
        trawl_buf_put_u64le(&b, w->ids[d].hash);
        trawl_buf_put_u32le(&b, w->ids[d].doc);
    }
    trawl__segfile_begin(f, SEC_IDS);
    trawl__segfile_write(f, b.ptr, b.len);
    trawl__segfile_end(f);

    /* Terms in byte order; drop the hash table first to free memory. */
    free(w->table);
    w->table = NULL;
    uint32_t *order = malloc((size_t)(w->nterms ? w->nterms : 1) * 4);
    uint32_t max_df = 1;
    for (uint32_t i = 0; i < w->nterms; i++) {
        order[i] = i;
        if (w->terms[i].df > max_df)
            max_df = w->terms[i].df;
    }
    post *ps = malloc((size_t)max_df * sizeof(*ps));
    uint32_t *vals = malloc((size_t)BLOCK_SIZE * 4);
    unsigned char *enc = malloc(streamvbyte_max_compressedbytes(BLOCK_SIZE) * 
                                (1 + TRAWL_NFIELDS));
    if (order == NULL || ps == NULL || vals == NULL || enc == NULL) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto done;
    }
    sort_base = w->terms;
    qsort(order, w->nterms, sizeof(*order), cmp_term);

    /* Pass 1: POSTINGS (skip tables + blocks), and the dictionary. */
    trawl_buf terms = TRAWL_BUF_INIT, tindex = TRAWL_BUF_INIT;
    trawl_buf skip = TRAWL_BUF_INIT, blocks = TRAWL_BUF_INIT;
    uint64_t post_off = 0, pos_off = 0;
    const char *prev_term = NULL;
    uint32_t prev_len = 0;
    const unsigned char *dlen = w->docs.ptr;
    trawl__segfile_begin(f, SEC_POSTINGS);
    for (uint32_t k = 0; k < w->nterms && f->rc == 0; k++) {
        const wterm *t = &w->terms[order[k]];
        decode_term(t, ps);
        trawl_buf_clear(&skip);
        trawl_buf_clear(&blocks);
        uint32_t tmax_tf[TRAWL_NFIELDS] = {0};
        uint32_t tmin_len[TRAWL_NFIELDS];
        for (int fi = 0; fi < TRAWL_NFIELDS; fi++)
            tmin_len[fi] = UINT32_MAX;
        uint64_t term_pos_bytes = 0;
        uint32_t prev_last = 0;
        int64_t prev_doc = -1;
        for (uint32_t s = 0; s < t->df; s += BLOCK_SIZE) {
            uint32_t n = t->df - s < BLOCK_SIZE ? t->df - s : BLOCK_SIZE;
            uint32_t bmax_tf[TRAWL_NFIELDS] = {0};
            uint32_t bmin_len[TRAWL_NFIELDS];
            for (int fi = 0; fi < TRAWL_NFIELDS; fi++)
                bmin_len[fi] = UINT32_MAX;
            uint64_t pos_bytes = 0;
            for (uint32_t i = 0; i < n; i++) {
                const post *p = &ps[s + i];
                vals[i] = (uint32_t)((int64_t)p->doc - prev_doc - 1);
                prev_doc = p->doc;
                pos_bytes += p->pos_len;
                for (int fi = 0; fi < TRAWL_NFIELDS; fi++) {
                    if (p->tf[fi] == 0)
                        continue;
                    if (p->tf[fi] > bmax_tf[fi])
                        bmax_tf[fi] = p->tf[fi];
                    uint32_t l = trawl__get_u32(dlen + (size_t)p->doc *
                                                DOC_RECORD + 4 * fi);
                    if (l < bmin_len[fi])
                        bmin_len[fi] = l;
                }
            }
            size_t eb = streamvbyte_encode_0124(vals, n, enc);
            for (int fi = 0; fi < TRAWL_NFIELDS; fi++) {
                for (uint32_t i = 0; i < n; i++)
                    vals[i] = ps[s + i].tf[fi];
                eb += streamvbyte_encode_0124(vals, n, enc + eb);
            }
            trawl_buf_put(&blocks, enc, eb);
            uint32_t last = ps[s + n - 1].doc;
            trawl_buf_put_varint(&skip, last - prev_last);
            prev_last = last;
            trawl_buf_put_varint(&skip, eb);
            trawl_buf_put_varint(&skip, pos_bytes);
            for (int fi = 0; fi < TRAWL_NFIELDS; fi++)
                trawl_buf_put_varint(&skip, bmax_tf[fi]);
            for (int fi = 0; fi < TRAWL_NFIELDS; fi++) {
                uint32_t ml = bmax_tf[fi] ? bmin_len[fi] : 0;
                trawl_buf_put_varint(&skip, ml);
                if (bmax_tf[fi] > tmax_tf[fi])
                    tmax_tf[fi] = bmax_tf[fi];
                if (bmax_tf[fi] && bmin_len[fi] < tmin_len[fi])
                    tmin_len[fi] = bmin_len[fi];
            }
            term_pos_bytes += pos_bytes;
        }
        trawl__segfile_write(f, skip.ptr, skip.len);
        trawl__segfile_write(f, blocks.ptr, blocks.len);

        /* Dictionary entry. */
        if (k % TERM_BLOCK == 0) {
            trawl_buf_put_u32le(&tindex, (uint32_t)terms.len);
            prev_term = NULL;
            prev_len = 0;
        }
        uint32_t shared = 0;
        if (prev_term != NULL) {
            uint32_t m = prev_len < t->len ? prev_len : t->len;
            while (shared < m && prev_term[shared] == t->s[shared])
                shared++;
        }
        trawl_buf_put_varint(&terms, shared);
        trawl_buf_put_varint(&terms, t->len - shared);
        trawl_buf_put(&terms, t->s + shared, t->len - shared);
        trawl_buf_put_varint(&terms, t->df);
        trawl_buf_put_varint(&terms, post_off);
        trawl_buf_put_varint(&terms, skip.len);
        trawl_buf_put_varint(&terms, skip.len + blocks.len);
        trawl_buf_put_varint(&terms, pos_off);
        for (int fi = 0; fi < TRAWL_NFIELDS; fi++)
            trawl_buf_put_varint(&terms, tmax_tf[fi]);
        for (int fi = 0; fi < TRAWL_NFIELDS; fi++)
            trawl_buf_put_varint(&terms, tmax_tf[fi] ? tmin_len[fi] : 0);
        prev_term = t->s;
        prev_len = t->len;
        post_off += skip.len + blocks.len;
        pos_off += term_pos_bytes;
    }
    trawl__segfile_end(f);

    /* Pass 2: POSITIONS, copied as they were buffered. */
    trawl__segfile_begin(f, SEC_POSITIONS);
    for (uint32_t k = 0; k < w->nterms && f->rc == 0; k++) {
        const wterm *t = &w->terms[order[k]];
        decode_term(t, ps);
        for (uint32_t i = 0; i < t->df; i++)
            trawl__segfile_write(f, ps[i].pos, ps[i].pos_len);
    }
    trawl__segfile_end(f);

    trawl__segfile_begin(f, SEC_TERMS);
    trawl__segfile_write(f, terms.ptr, terms.len);
    trawl__segfile_end(f);

    trawl_buf_clear(&b);
    uint32_t ntb = (uint32_t)(tindex.len / 4);
    trawl_buf_put_u32le(&b, ntb);
    trawl_buf_put_u64le(&b, w->nterms);
    trawl_buf_put(&b, tindex.ptr, tindex.len);
    trawl__segfile_begin(f, SEC_TERMS_INDEX);
    trawl__segfile_write(f, b.ptr, b.len);
    trawl__segfile_end(f);

    trawl_buf_clear(&b);
    trawl_buf_put_u32le(&b, w->ndocs);
    trawl_buf_put_u32le(&b, TRAWL_NFIELDS);
    trawl_buf_put_u64le(&b, w->nterms);
    for (int fi = 0; fi < TRAWL_NFIELDS; fi++)
        trawl_buf_put_u64le(&b, w->total_len[fi]);
    trawl_buf_put_u32le(&b, TRAWL_ANALYZER_VERSION);
    trawl_buf_put_u8(&b, (uint8_t)strlen(w->language));
    trawl_buf_puts(&b, w->language);
    trawl__segfile_begin(f, SEC_META);
    trawl__segfile_write(f, b.ptr, b.len);
    trawl__segfile_end(f);

    if (terms.rc || tindex.rc || skip.rc || blocks.rc || b.rc)
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    else
        rc = trawl__segfile_finish(f);
    *nterms_out = w->nterms;
    trawl_buf_free(&terms);
    trawl_buf_free(&tindex);
    trawl_buf_free(&skip);
    trawl_buf_free(&blocks);
done:
    trawl_buf_free(&b);
    free(order);
    free(ps);
    free(vals);
    free(enc);
    return rc;
}

/* ---- commit: manifest and CURRENT -------------------------------------- */

static int write_file_sync(const char *path, const void *p, size_t n,
                           trawl_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return trawl_err_set(err, TRAWL_EIO, "create %s: %s", path,
                             strerror(errno));
    const unsigned char *s = p;
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(fd, s + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int rc = trawl_err_set(err, TRAWL_EIO, "write %s: %s", path,
                                   strerror(errno));
            close(fd);
            return rc;
        }
        done += (size_t)k;
    }
    if (fsync(fd) != 0) {
        int rc = trawl_err_set(err, TRAWL_EIO, "fsync %s: %s", path,
                               strerror(errno));
        close(fd);
        return rc;
    }
    close(fd);
    return 0;
}

/* Remove files of older generations, which no longer are CURRENT. Open
 * readers keep their mappings: unlinking a mapped file is safe. */
static void remove_old(trawl_writer *w, const char *keep_man,
                       const char *keep_seg)
{
    DIR *d = opendir(w->dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if ((strncmp(n, "gen-", 4) == 0 || strncmp(n, "seg-", 4) == 0) &&
            strcmp(n, keep_man) != 0 && strcmp(n, keep_seg) != 0)
            unlinkat(dirfd(d), n, 0);
    }
    closedir(d);
}

int trawl_writer_commit(trawl_writer *w, trawl_writer_stats *stats,
                        trawl_err *err)
{
    int rc;
    if (w->rc != 0)
        return trawl_err_set(err, w->rc, "writer is in a failed state");
    uint64_t nterms = 0;
    if ((rc = write_segment(w, &nterms, err)) < 0)
        return w->rc = rc;
    if (rename(w->seg_tmp, w->seg_name) != 0)
        return w->rc = trawl_err_set(err, TRAWL_EIO, "rename %s: %s",
                                     w->seg_tmp, strerror(errno));

    char seg_base[64], man_base[64], man_tmp[80];
    snprintf(seg_base, sizeof(seg_base), "seg-%06" PRIu64 ".trs", w->gen);
    snprintf(man_base, sizeof(man_base), "gen-%06" PRIu64 ".man", w->gen);
    snprintf(man_tmp, sizeof(man_tmp), "%s.tmp", man_base);

    trawl_buf m = TRAWL_BUF_INIT;
    trawl_buf_put(&m, MAN_MAGIC, 8);
    trawl_buf_put_u32le(&m, TRAWL_FORMAT_VERSION);
    trawl_buf_put_u32le(&m, TRAWL_ANALYZER_VERSION);
    trawl_buf_put_u64le(&m, w->gen);
    trawl_buf_put_u64le(&m, (uint64_t)time(NULL));
    trawl_buf_put_u8(&m, (uint8_t)strlen(w->language));
    trawl_buf_puts(&m, w->language);
    trawl_buf_put_u32le(&m, 1);
    trawl_buf_put_u8(&m, (uint8_t)strlen(seg_base));
    trawl_buf_puts(&m, seg_base);
    trawl_buf_put_u32le(&m, w->ndocs);
    trawl_buf_put_u32le(&m, w->ndeleted);
    size_t bm = w->ndeleted ? (size_t)(w->ndocs + 7) / 8 : 0;
    trawl_buf_put_u32le(&m, (uint32_t)bm);
    for (size_t i = 0; i < bm; i++)
        trawl_buf_put_u8(&m, i < w->deleted.len ? w->deleted.ptr[i] : 0);
    trawl_buf_put_u64le(&m, m.rc == 0 ? trawl__hash64(m.ptr, m.len) : 0);
    if (m.rc != 0) {
        trawl_buf_free(&m);
        return w->rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }

    char *man_tmp_path = NULL, *man_path = NULL, *cur_tmp = NULL,
         *cur_path = NULL;
    if (join_path(&man_tmp_path, w->dir, man_tmp) || 
        join_path(&man_path, w->dir, man_base) ||
        join_path(&cur_tmp, w->dir, "CURRENT.tmp") ||
        join_path(&cur_path, w->dir, "CURRENT")) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = write_file_sync(man_tmp_path, m.ptr, m.len, err)) < 0)
        goto out;
    if (rename(man_tmp_path, man_path) != 0) {
        rc = trawl_err_set(err, TRAWL_EIO, "rename %s: %s", man_tmp_path,
                           strerror(errno));
        goto out;
    }
    /* The segment and manifest must be durable before CURRENT names them. */
    if ((rc = trawl__fsync_dir(w->dir, err)) < 0)
        goto out;
    char cur[80];
    int cn = snprintf(cur, sizeof(cur), "%s\n", man_base);
    if ((rc = write_file_sync(cur_tmp, cur, (size_t)cn, err)) < 0)
        goto out;
    if (rename(cur_tmp, cur_path) != 0) {
        rc = trawl_err_set(err, TRAWL_EIO, "rename %s: %s", cur_tmp,
                           strerror(errno));
        goto out;
    }
    if ((rc = trawl__fsync_dir(w->dir, err)) < 0)
        goto out;
    w->committed = 1;
    remove_old(w, man_base, seg_base);

    if (stats != NULL) {
        memset(stats, 0, sizeof(*stats));
        stats->generation = w->gen;
        stats->docs = w->ndocs - w->ndeleted;
        stats->added = w->added;
        stats->updated = w->updated;
        stats->unchanged = w->unchanged;
        uint64_t old_live = w->old != NULL ? w->old->live_docs : 0;
        uint64_t kept = w->updated + w->unchanged;
        stats->deleted = old_live > kept ? old_live - kept : 0;
        stats->terms = nterms;
        stats->tokens = w->tokens;
        stats->input_bytes = w->input_bytes;
        struct stat st;
        if (stat(w->seg_name, &st) == 0)
            stats->index_bytes = (uint64_t)st.st_size;
        if (stat(man_path, &st) == 0)
            stats->index_bytes += (uint64_t)st.st_size;
    }
out:
    trawl_buf_free(&m);
    free(man_tmp_path);
    free(man_path);
    free(cur_tmp);
    free(cur_path);
    if (rc < 0)
        w->rc = rc;
    return rc;
}

void trawl_writer_free(trawl_writer *w)
{
    if (w == NULL)
        return;
    /* Before commit this removes the temporary segment; after, the file
     * was already renamed and only buffers remain to free. */
    trawl__segfile_abort(&w->seg);
    for (uint32_t i = 0; i < w->nterms; i++)
        free(w->terms[i].buf);
    free(w->terms);
    free(w->table);
    free(w->ids);
    free(w->id_str);
    free(w->id_table);
    trawl_buf_free(&w->docs);
    trawl_buf_free(&w->deleted);
    trawl_buf_free(&w->store_block);
    trawl_buf_free(&w->store_index);
    trawl_buf_free(&w->zbuf);
    trawl_buf_free(&w->scratch);
    free(w->toks);
    ZSTD_freeCCtx(w->zc);
    trawl_analyzer_free(w->an);
    trawl_arena_free(w->strings);
    trawl_index_release(w->old);
    free(w->seg_tmp);
    free(w->seg_name);
    if (w->lock_fd >= 0)
        close(w->lock_fd); /* releases the flock */
    free(w->dir);
    free(w);
}

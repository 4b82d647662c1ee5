/*
 * The segment merger: a postings-level k-way merge. Live docs get new ids
 * in input order; the dictionaries are walked in step (union of sorted
 * term lists); each term's postings are concatenated input by input with
 * remapped doc ids (deleted docs dropped) and re-encoded into blocks with
 * fresh skip and block-max data by the writer's own encoder (segfile.c);
 * positions are copied per posting. The document store is decompressed
 * and recompressed without the deleted docs (a second thread compresses
 * and writes the blocks the first one assembles); DOCS, IDS and META
 * follow.
 *
 * Everything streams: the inputs are read in file order (postings and
 * positions are laid out in term order), and their pages are dropped from
 * the resident set once consumed, so a merge of gigabytes runs in a few
 * megabytes plus the output dictionary; but a merge that builds its pair
 * terms again (inputs whose PAIRS differ) holds them, within a cap.
 */
#include "merge.h"
#include "pairs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "format.h"
#include "codec.h"
#include "internal.h"
#include "segfile.h"
#include "trawl/buf.h"

/* Pages of the inputs read for the last time are dropped from the
 * resident set every step bytes of a section: about MERGE_RESIDENT over
 * all inputs' three streamed sections, within RELEASE_MIN..RELEASE_MAX
 * per section (a final merge of 40 runs would otherwise keep 120 MiB of
 * mapped pages that a small --memory budget does not allow). */
#define MERGE_RESIDENT ((uint64_t)16 << 20)
#define RELEASE_MIN    ((uint64_t)64 << 10)
#define RELEASE_MAX    ((uint64_t)1 << 20)
#define NO_DOC       UINT32_MAX

typedef struct mseg {
    const trawl_segment *s;
    const unsigned char *del;
    uint32_t *map;           /* input doc -> output doc, or NO_DOC */
    seg_iter it;
    int has;                 /* it holds a term not yet consumed */
    uint64_t rel[SEC_MAX];   /* section bytes already released */
    uint64_t step;           /* release in steps of this many bytes */
} mseg;

/* Drop the pages of section sec below p from the resident set (they were
 * read for the last time), in steps of m->step. */
static void release(mseg *m, int sec, const unsigned char *p)
{
    const trawl_segment *s = m->s;
    uint64_t upto = (uint64_t)(p - s->sec[sec].p);
    if (upto < m->rel[sec] + m->step && upto < s->sec[sec].len)
        return;
    trawl__seg_drop(s, s->sec[sec].p + m->rel[sec], p);
    m->rel[sec] = upto;
}

/* Drop every page of m's input from the resident set: opening it read
 * its dictionary's block keys and its document records, which the merge
 * reads again only in turn. */
static void release_map(mseg *m)
{
    trawl__seg_drop(m->s, m->s->map, m->s->map + m->s->size);
}

/* Drop what is left of section sec of m (read for the last time). */
static void release_all(mseg *m, int sec)
{
    release(m, sec, m->s->sec[sec].p + m->s->sec[sec].len);
}

static int is_live(const mseg *m, uint32_t d)
{
    return m->del == NULL || !((m->del[d >> 3] >> (d & 7)) & 1);
}

/* ---- postings reader --------------------------------------------------- */

typedef struct prd {
    const trawl_segment *s;
    const unsigned char *skip, *skip_end;
    const unsigned char *data, *data_end;
    const unsigned char *pos, *pos_end;
    uint32_t remaining;
    uint32_t last;
    int started;
    int nopos; /* a pair term: no positions (format.h, PAIRS) */
    int compact; /* a compact list (format.h): one block, no skip table */
    uint32_t n;
    const unsigned char *bpos, *bpos_end; /* the block's positions */
    uint32_t docs[BLOCK_SIZE];
    uint32_t tf[TRAWL_NFIELDS][BLOCK_SIZE];
} prd;

static void prd_init(prd *r, const trawl_segment *s, const seg_term *t)
{
    const unsigned char *base = s->sec[SEC_POSTINGS].p + t->post_off;
    r->s = s;
    r->skip = base;
    r->skip_end = base + t->skip_len;
    r->data = r->skip_end;
    r->data_end = base + t->post_len;
    r->pos = s->sec[SEC_POSITIONS].p + t->pos_off;
    r->pos_end = s->sec[SEC_POSITIONS].p + s->sec[SEC_POSITIONS].len;
    r->remaining = t->df;
    r->started = 0;
    r->nopos = 0;
    r->compact = t->compact;
    r->last = 0;
}

static int64_t pos_len(const prd *r, uint32_t i, const unsigned char **pp);

/* The whole compact list as one block, always decoded: its positions'
 * length is known only from its tfs. 1, or -1 on corruption. */
static int prd_compact(prd *r)
{
    uint32_t n = r->remaining;
    if (n == 0 || n > COMPACT_MAX ||
        trawl__compact_decode(r->data, r->data_end, n, r->s->ndocs, r->docs,
                              r->tf[0], BLOCK_SIZE) !=
            (size_t)(r->data_end - r->data))
        return -1;
    r->n = n;
    r->remaining = 0;
    r->started = 1;
    r->last = r->docs[n - 1];
    r->data = r->data_end;
    r->bpos = r->pos;
    r->bpos_end = r->pos_end;
    const unsigned char *q = r->pos;
    for (uint32_t i = 0; i < n; i++)
        if (pos_len(r, i, &q) < 0)
            return -1;
    r->pos = r->bpos_end = q;
    return 1;
}

/* Enter the next block; decode it too if decode. 1, 0 at the end, or -1
 * on corruption. */
static int prd_block(prd *r, int decode)
{
    if (r->remaining == 0)
        return 0;
    if (r->compact)
        return prd_compact(r);
    uint64_t delta, db, pb, v;
    const unsigned char *p = r->skip;
    if (trawl__get_varint(&p, r->skip_end, &delta) ||
        trawl__get_varint(&p, r->skip_end, &db) ||
        trawl__get_varint(&p, r->skip_end, &pb))
        return -1;
    for (int f = 0; f < 2 * TRAWL_NFIELDS; f++)
        if (trawl__get_varint(&p, r->skip_end, &v))
            return -1;
    r->skip = p;
    int64_t base = r->started ? (int64_t)r->last : -1;
    uint64_t last = (r->started ? r->last : 0) + delta;
    if (last >= r->s->ndocs || db > (uint64_t)(r->data_end - r->data) ||
        pb > (uint64_t)(r->pos_end - r->pos))
        return -1;
    r->started = 1;
    r->last = (uint32_t)last;
    r->n = r->remaining < BLOCK_SIZE ? r->remaining : BLOCK_SIZE;
    r->remaining -= r->n;
    const unsigned char *blk = r->data, *blk_end = r->data + db;
    r->data = blk_end;
    r->bpos = r->pos;
    r->bpos_end = r->pos + pb;
    r->pos = r->bpos_end;
    /* Format 9: step over the block's offset table (format.h); its
     * positions follow it. */
    if (r->s->version >= POS_TAB_FROM)
        r->bpos += (size_t)trawl__postab_width(r->n, pb) * (r->n - 1);
    if (!decode)
        return 1;
    size_t used = trawl__codec_decode(blk, blk_end, r->docs, r->n);
    if (used == 0)
        return -1;
    blk += used;
    int64_t prev = base;
    for (uint32_t i = 0; i < r->n; i++) {
        prev += (int64_t)r->docs[i] + 1;
        r->docs[i] = (uint32_t)prev;
    }
    if (prev != (int64_t)r->last)
        return -1;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        used = trawl__codec_decode(blk, blk_end, r->tf[f], r->n);
        if (used == 0)
            return -1;
        blk += used;
    }
    return 1;
}

/* Bytes of posting i's positions at *pp (advanced past them), or -1. */
static int64_t pos_len(const prd *r, uint32_t i, const unsigned char **pp)
{
    const unsigned char *p = *pp;
    uint64_t v;
    if (r->nopos)
        return 0;
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        for (uint32_t k = 0; k < r->tf[f][i]; k++)
            if (trawl__get_varint(&p, r->bpos_end, &v))
                return -1;
    int64_t n = p - *pp;
    *pp = p;
    return n;
}

/* ---- the dictionary walk ----------------------------------------------- */

static int iter_start(mseg *m, uint32_t n, trawl_err *err)
{
    for (uint32_t i = 0; i < n; i++) {
        trawl__seg_iter_init(&m[i].it, m[i].s);
        int rc = trawl__seg_iter_next(&m[i].it, err);
        if (rc < 0)
            return rc;
        m[i].has = rc;
    }
    return 0;
}

/* The smallest current term: which inputs hold it (in input order) in
 * sel; 0 when every dictionary is exhausted. */
static uint32_t iter_min(mseg *m, uint32_t n, uint32_t *sel)
{
    uint32_t k = 0;
    const seg_iter *best = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (!m[i].has)
            continue;
        int c = best == NULL ? -1
                             : trawl__cmp_bytes(m[i].it.term, m[i].it.len,
                                         best->term, best->len);
        if (c < 0) {
            best = &m[i].it;
            k = 0;
        }
        if (c <= 0)
            sel[k++] = i;
    }
    return k;
}

static int iter_advance(mseg *m, const uint32_t *sel, uint32_t k,
                        trawl_err *err)
{
    for (uint32_t j = 0; j < k; j++) {
        int rc = trawl__seg_iter_next(&m[sel[j]].it, err);
        if (rc < 0)
            return rc;
        m[sel[j]].has = rc;
        release(&m[sel[j]], SEC_TERMS, m[sel[j]].it.p);
    }
    return 0;
}

/* ---- sections ---------------------------------------------------------- */

/*
 * The merged store's raw blocks go through a ring to a second thread that
 * writes them in order: until the dictionary (or word code) is decided, through
 * trawl__store_flush on its own seg_store (which so holds the block side:
 * index, dictionary, offsets); then as frames that either thread
 * compresses (this one when the ring is full, instead of waiting) and the
 * second one appends. This thread decompresses the inputs and assembles
 * the blocks; its seg_store keeps the DOCMETA side. The bytes are those of
 * one thread.
 */
#define ZQ_RING 16

enum { ZS_FREE, ZS_RAW, ZS_CLAIMED, ZS_DONE };

typedef struct zslot {
    trawl_buf raw, z;
    uint32_t slots;
    int state; /* ZS_* */
} zslot;

typedef struct zq {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* any change of head, tail, states or done */
    zslot ring[ZQ_RING];    /* blocks [head, tail) */
    uint64_t head, tail;
    int done;
    int threaded;
    int frames;             /* the dictionary is decided: frames mode */
    seg_senc *zc[2];        /* frames mode: this thread's, the writer's */
    atomic_int rc;          /* the first error (err: its message) */
    trawl_err err;
    seg_store *st;          /* the writing side's store */
    segfile *f;
} zq;

/* Note the first error. A failed write of the segment file has no
 * message in e: the segfile put it in its own err (the merge's), which
 * q->err (left empty) then does not replace. */
static void zq_fail(zq *q, int rc, const trawl_err *e)
{
    int zero = 0;
    if (atomic_compare_exchange_strong(&q->rc, &zero, rc)) {
        if (e == NULL)
            trawl_err_set(&q->err, rc, "out of memory");
        else if (e->code != 0)
            q->err = *e;
    }
}

/* Until the dictionary is decided: write one raw block as the store's
 * pending one (writing side, or this thread without a second one).
 * Returns 1 when that decided it (the contexts for frames are made). */
static int zq_flush(zq *q, zslot *z)
{
    trawl_buf t = q->st->block;
    q->st->block = z->raw;
    z->raw = t;
    q->st->slot = z->slots;
    trawl_err e = {0};
    int rc = trawl__store_flush(q->st, q->f, &e);
    if (rc < 0)
        zq_fail(q, rc, &e);
    if (!q->st->dict_done)
        return 0;
    q->zc[0] = trawl__store_enc(q->st);
    q->zc[1] = trawl__store_enc(q->st);
    if (q->zc[0] == NULL || q->zc[1] == NULL)
        zq_fail(q, TRAWL_ENOMEM, NULL);
    return 1;
}

/* Compress slot z with context zc (outside the lock). */
static void zq_frame(zq *q, zslot *z, seg_senc *zc)
{
    trawl_err e = {0};
    int rc = zc == NULL ? TRAWL_ENOMEM
                        : trawl__store_frame(zc, z->raw.ptr, z->raw.len,
                                             &z->z, &e);
    if (rc < 0)
        zq_fail(q, rc, zc == NULL ? NULL : &e);
}

/* Write the oldest block (its turn has come): flush it, or compress it if
 * nobody did, and append its frame. Called and returns with mu held. */
static void zq_write(zq *q)
{
    zslot *z = &q->ring[q->head % ZQ_RING];
    if (!q->frames) {
        z->state = ZS_CLAIMED;
        pthread_mutex_unlock(&q->mu);
        int frames = atomic_load(&q->rc) == 0 && zq_flush(q, z);
        pthread_mutex_lock(&q->mu);
        if (frames)
            q->frames = 1;
    } else {
        while (z->state == ZS_CLAIMED)
            pthread_cond_wait(&q->cv, &q->mu);
        int raw = z->state == ZS_RAW;
        z->state = ZS_CLAIMED;
        pthread_mutex_unlock(&q->mu);
        if (raw && atomic_load(&q->rc) == 0)
            zq_frame(q, z, q->zc[1]);
        if (atomic_load(&q->rc) == 0) {
            trawl_err e = {0};
            int rc = trawl__store_put_frame(q->st, q->f, z->z.ptr, z->z.len,
                                            &e);
            if (rc < 0)
                zq_fail(q, rc, &e);
        }
        pthread_mutex_lock(&q->mu);
    }
    trawl_buf_clear(&z->raw);
    z->state = ZS_FREE;
    q->head++;
    pthread_cond_broadcast(&q->cv);
}

static void *zq_main(void *arg)
{
    zq *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->head == q->tail && !q->done)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->head == q->tail)
            break;
        zq_write(q);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* Hand over the pending block of st (this thread's store). While the ring
 * is full, compress a block of it that nobody has taken. */
static void zq_push(zq *q, seg_store *st)
{
    if (!q->threaded) {
        zslot *z = &q->ring[0];
        z->raw = st->block;
        z->slots = st->slot;
        st->block = (trawl_buf)TRAWL_BUF_INIT;
        if (atomic_load(&q->rc) == 0 && !q->frames) {
            q->frames = zq_flush(q, z);
        } else if (atomic_load(&q->rc) == 0) {
            zq_frame(q, z, q->zc[1]);
            trawl_err e = {0};
            int rc = atomic_load(&q->rc) != 0
                         ? 0
                         : trawl__store_put_frame(q->st, q->f, z->z.ptr,
                                                  z->z.len, &e);
            if (rc < 0)
                zq_fail(q, rc, &e);
        }
        st->block = z->raw; /* reuse the memory */
        z->raw = (trawl_buf)TRAWL_BUF_INIT;
    } else {
        pthread_mutex_lock(&q->mu);
        while (q->tail - q->head == ZQ_RING) {
            zslot *h = NULL;
            for (uint64_t k = q->tail; q->frames && k-- > q->head + 1;) {
                if (q->ring[k % ZQ_RING].state == ZS_RAW) {
                    h = &q->ring[k % ZQ_RING];
                    break;
                }
            }
            if (h == NULL) {
                pthread_cond_wait(&q->cv, &q->mu);
                continue;
            }
            h->state = ZS_CLAIMED;
            pthread_mutex_unlock(&q->mu);
            if (atomic_load(&q->rc) == 0)
                zq_frame(q, h, q->zc[0]);
            pthread_mutex_lock(&q->mu);
            h->state = ZS_DONE;
            pthread_cond_broadcast(&q->cv);
        }
        zslot *z = &q->ring[q->tail % ZQ_RING];
        trawl_buf t = z->raw;
        z->raw = st->block;
        st->block = t;
        z->slots = st->slot;
        z->state = ZS_RAW;
        q->tail++;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
    }
    trawl_buf_clear(&st->block);
    st->slot = 0;
    st->nblocks++;
}

/* STORE and STORE_INDEX: live records copied in output doc order into new
 * blocks. first[b] gets the first output doc of output block b. */
static int merge_store(mseg *m, uint32_t n, segfile *f, uint32_t **first,
                       uint32_t *nfirst, trawl_err *err)
{
    seg_store st, zst; /* records and DOCMETA here; blocks in zst */
    memset(&st, 0, sizeof(st));
    memset(&zst, 0, sizeof(zst));
    trawl_buf raw = TRAWL_BUF_INIT;
    ZSTD_DCtx *dz = ZSTD_createDCtx();
    zq q;
    memset(&q, 0, sizeof(q));
    q.st = &zst;
    q.f = f;
    int rc = trawl__store_init(&st, err);
    if (rc == 0)
        rc = trawl__store_init(&zst, err);
    size_t cap = 0;
    *first = NULL;
    *nfirst = 0;
    if (rc < 0 || dz == NULL) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto done;
    }
    trawl__segfile_begin(f, SEC_STORE);
    pthread_t zt;
    memset(&zt, 0, sizeof(zt));
    if (pthread_mutex_init(&q.mu, NULL) == 0) {
        if (pthread_cond_init(&q.cv, NULL) == 0) {
            q.threaded = pthread_create(&zt, NULL, zq_main, &q) == 0;
            if (!q.threaded)
                pthread_cond_destroy(&q.cv);
        }
        if (!q.threaded)
            pthread_mutex_destroy(&q.mu);
    }
    uint32_t nd = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const trawl_segment *s = m[i].s;
        const unsigned char *si = s->sec[SEC_STORE_INDEX].p + 4;
        uint32_t cur = UINT32_MAX, cur_slot = 0;
        const unsigned char *p = NULL, *end = NULL;
        for (uint32_t d = 0; d < s->ndocs; d++) {
            if (!is_live(&m[i], d))
                continue;
            const unsigned char *r =
                s->sec[SEC_DOCS].p + (size_t)d * DOC_RECORD;
            uint32_t b = trawl__get_u32(r + 4 * TRAWL_NFIELDS + 16);
            uint32_t slot = trawl__get_u32(r + 4 * TRAWL_NFIELDS + 20);
            if (b != cur || slot < cur_slot) {
                size_t got;
                if ((rc = trawl__seg_store_block(s, b, dz, &raw, &p, &got,
                                                 err)) < 0)
                    break;
                end = p + got;
                cur = b;
                cur_slot = 0;
                release(&m[i], SEC_STORE,
                        s->sec[SEC_STORE].p +
                            trawl__get_u64(si + (size_t)b * 8));
            }
            /* Skip to the record, then take its bytes verbatim. */
            const unsigned char *rs = p;
            for (; cur_slot <= slot && rc == 0; cur_slot++) {
                rs = p;
                for (int k = 0; k < STORED_BODY_N; k++) {
                    uint64_t v;
                    if (trawl__get_varint(&p, end, &v) != 0 ||
                        (v > 0 && v - 1 > (uint64_t)(end - p))) {
                        rc = trawl__corrupt(err, "%s: store block %u damaged",
                                            s->name, b);
                        break;
                    }
                    if (v > 0)
                        p += v - 1;
                }
            }
            if (rc < 0)
                break;
            if (st.slot == 0) {
                if (*nfirst == cap) {
                    cap = cap ? cap * 2 : 1024;
                    uint32_t *nf = realloc(*first, cap * sizeof(*nf));
                    if (nf == NULL) {
                        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
                        break;
                    }
                    *first = nf;
                }
                (*first)[(*nfirst)++] = nd;
            }
            const unsigned char *mrec;
            size_t mlen;
            uint32_t ob, os;
            if ((rc = trawl__seg_meta_raw(s, d, &mrec, &mlen, err)) < 0 ||
                (rc = trawl__store_add(&st, mrec, mlen, rs, (size_t)(p - rs),
                                       &ob, &os, err)) < 0)
                break;
            nd++;
            if (st.block.len >= STORE_BLOCK) {
                if (st.block.rc != 0) {
                    rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
                    break;
                }
                zq_push(&q, &st);
            }
        }
        static const int done_secs[] = {SEC_STORE, SEC_STORE_INDEX,
                                        SEC_STORE_DICT, SEC_DOCMETA,
                                        SEC_DOCMETA_INDEX};
        for (size_t k = 0; k < sizeof(done_secs) / sizeof(done_secs[0]); k++)
            release_all(&m[i], done_secs[k]);
    }
    if (rc == 0 && st.slot > 0) {
        if (st.block.rc != 0)
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        else
            zq_push(&q, &st);
    }
    if (q.threaded) {
        pthread_mutex_lock(&q.mu);
        q.done = 1;
        pthread_cond_broadcast(&q.cv);
        pthread_mutex_unlock(&q.mu);
        pthread_join(zt, NULL);
        pthread_cond_destroy(&q.cv);
        pthread_mutex_destroy(&q.mu);
    }
    if (rc == 0 && atomic_load(&q.rc) < 0) {
        rc = atomic_load(&q.rc);
        if (err != NULL && q.err.code != 0)
            *err = q.err;
    }
    if (rc == 0) {
        trawl__segfile_end(f);
        trawl__store_write_index(&zst, f);
        rc = trawl__store_write_meta(&st, f, err);
    }
done:
    if (f->on_end_ctx == &zst)
        f->on_end = NULL; /* failed with blocks held: never call back */
    for (int i = 0; i < ZQ_RING; i++) {
        trawl_buf_free(&q.ring[i].raw);
        trawl_buf_free(&q.ring[i].z);
    }
    trawl__store_enc_free(q.zc[0]);
    trawl__store_enc_free(q.zc[1]);
    trawl__store_free(&zst);
    trawl__store_free(&st);
    trawl_buf_free(&raw);
    ZSTD_freeDCtx(dz);
    return rc;
}

static void merge_docs(mseg *m, uint32_t n, segfile *f, const uint32_t *first,
                       uint32_t nfirst, uint64_t *total_len)
{
    uint32_t nd = 0, b = 0;
    trawl__segfile_begin(f, SEC_DOCS);
    for (uint32_t i = 0; i < n; i++) {
        const trawl_segment *s = m[i].s;
        for (uint32_t d = 0; d < s->ndocs; d++) {
            if (!is_live(&m[i], d))
                continue;
            unsigned char r[DOC_RECORD];
            memcpy(r, s->sec[SEC_DOCS].p + (size_t)d * DOC_RECORD,
                   DOC_RECORD);
            while (b + 1 < nfirst && first[b + 1] <= nd)
                b++;
            trawl__put_u32(r + 4 * TRAWL_NFIELDS + 16, b);
            trawl__put_u32(r + 4 * TRAWL_NFIELDS + 20, nd - first[b]);
            for (int k = 0; k < TRAWL_NFIELDS; k++)
                total_len[k] += trawl__get_u32(r + 4 * k);
            trawl__segfile_write(f, r, sizeof(r));
            nd++;
        }
        release_all(&m[i], SEC_DOCS);
    }
    trawl__segfile_end(f);
}

/* IDS: each input's (hash, doc) list is sorted and remapping keeps the
 * order of docs, so a k-way merge of the lists is sorted too. */
static void merge_ids(mseg *m, uint32_t n, segfile *f, uint32_t *at)
{
    trawl__segfile_begin(f, SEC_IDS);
    memset(at, 0, n * sizeof(*at));
    for (;;) {
        int best = -1;
        uint64_t bh = 0;
        uint32_t bd = 0;
        for (uint32_t i = 0; i < n; i++) {
            const trawl_segment *s = m[i].s;
            const unsigned char *base = s->sec[SEC_IDS].p;
            while (at[i] < s->ndocs) {
                uint32_t d = trawl__get_u32(base + (size_t)at[i] * ID_RECORD +
                                            8);
                if (d < s->ndocs && m[i].map[d] != NO_DOC)
                    break;
                at[i]++;
            }
            if (at[i] == s->ndocs)
                continue;
            const unsigned char *r = base + (size_t)at[i] * ID_RECORD;
            uint64_t h = trawl__get_u64(r);
            uint32_t nd = m[i].map[trawl__get_u32(r + 8)];
            if (best < 0 || h < bh || (h == bh && nd < bd)) {
                best = (int)i;
                bh = h;
                bd = nd;
            }
        }
        if (best < 0)
            break;
        unsigned char r[ID_RECORD];
        trawl__put_u64(r, bh);
        trawl__put_u32(r + 8, bd);
        trawl__segfile_write(f, r, sizeof(r));
        at[best]++;
    }
    trawl__segfile_end(f);
}

/* ---- pair terms rebuilt (format.h, PAIRS) ------------------------------ */

/*
 * When the inputs do not all have the same PAIRS, the output's pair terms
 * are built again before the postings are streamed (they sort first): the
 * words are those of the newest input that has some (so an index
 * converges on one list, which later runs keep), else, with at least
 * PAIR_MIN_DOCS live documents, chosen from the merged dictionary by the
 * writer's rules. A pre-pass reads the listed words' positions input by
 * input, document by document, and counts each pair as the writer does
 * (pairs_build in writer.c): adjacent positions within one field, at
 * least one of the two words common. The postings are held in memory as
 * compact varints until they are encoded. Over the cap, a pass keeps the
 * pairs of the first words (in key order) that fit and leaves the rest to
 * further passes over the positions, whose pair terms follow in the file;
 * if one first word alone is over it in the first pass, or two listed
 * words share a position, the output gets no pairs (as before this pass
 * existed) and phrases read positions there.
 */

size_t trawl__merge_pairs_cap = 0;

#define PAIRS_CAP_MIN ((size_t)4 << 20)
#define PAIRS_CAP_MAX ((size_t)256 << 20)

/* One pair term's postings while they are gathered, as
 * trawl__pair_post_put writes them (the writer's own layout), in a
 * chain of chunks (tens of thousands of short lists: chunks from shared
 * slabs waste less than a buffer each). */
#define CHUNK      64          /* bytes of a chunk: a u32 link, then data */
#define CHUNK_DATA (CHUNK - 4)
#define SLAB_SHIFT 14          /* 2^14 chunks (1 MiB) per slab */

typedef struct mpair {
    uint32_t head, tail; /* chunk ids + 1 (0: none) */
    uint32_t used;       /* data bytes in the tail chunk */
    uint32_t nchunks;
    uint32_t df, last;
} mpair;

typedef struct mpairs {
    trawl_buf sec;    /* the output's PAIRS bytes (empty: no pairs) */
    uint32_t nc, nw;  /* common words, all listed words */
    uint32_t np;      /* pair slots (see trawl__pair_index) */
    mpair *p;
    uint32_t *inv;    /* output doc -> its input doc */
    uint32_t *start;  /* first output doc of each input, then nd */
    uint32_t *rank;   /* word -> its rank in key order (as first word) */
    uint32_t *byrank; /* rank -> word */
    uint32_t lo, hi;  /* this pass: pairs whose first word's rank is in
                         [lo, hi) */
    int strict;       /* first pass: over the cap with one first word
                         left, the output gets no pairs */
    size_t base;      /* bytes held whatever the pass (inv) */
    size_t mem, cap;  /* bytes held for the postings, and the cap */
    unsigned char **slab;
    uint32_t nslabs, slab_cap;
    uint32_t nchunks; /* chunks handed out of the slabs */
    uint32_t free1;   /* the free chunks' chain: id + 1, or 0 */
} mpairs;

static inline unsigned char *chunk_at(const mpairs *mp, uint32_t id)
{
    return mp->slab[id >> SLAB_SHIFT] +
           (size_t)(id & ((1u << SLAB_SHIFT) - 1)) * CHUNK;
}

/* A chunk with no link: its id + 1, or 0 when out of memory. */
static uint32_t chunk_new(mpairs *mp)
{
    uint32_t id;
    if (mp->free1 != 0) {
        id = mp->free1 - 1;
        mp->free1 = trawl__get_u32(chunk_at(mp, id));
    } else {
        if (mp->nchunks >= UINT32_MAX - (1u << SLAB_SHIFT))
            return 0;
        if ((mp->nchunks >> SLAB_SHIFT) == mp->nslabs) {
            if (mp->nslabs == mp->slab_cap) {
                uint32_t nc = mp->slab_cap ? mp->slab_cap * 2 : 16;
                unsigned char **ns = realloc(mp->slab, nc * sizeof(*ns));
                if (ns == NULL)
                    return 0;
                mp->slab = ns;
                mp->slab_cap = nc;
            }
            mp->slab[mp->nslabs] = malloc((size_t)CHUNK << SLAB_SHIFT);
            if (mp->slab[mp->nslabs] == NULL)
                return 0;
            mp->nslabs++;
        }
        id = mp->nchunks++;
    }
    trawl__put_u32(chunk_at(mp, id), 0);
    mp->mem += CHUNK;
    return id + 1;
}

/* Give x's chunks back (to the free chain) and empty it. */
static void mpair_clear(mpairs *mp, mpair *x)
{
    if (x->head != 0) {
        trawl__put_u32(chunk_at(mp, x->tail - 1), mp->free1);
        mp->free1 = x->head;
        mp->mem -= (size_t)x->nchunks * CHUNK;
    }
    memset(x, 0, sizeof(*x));
}

static void mpairs_drop(mpairs *mp)
{
    for (uint32_t i = 0; i < mp->nslabs; i++)
        free(mp->slab[i]);
    free(mp->slab);
    mp->slab = NULL;
    mp->nslabs = mp->slab_cap = mp->nchunks = mp->free1 = 0;
    free(mp->p);
    mp->p = NULL;
    free(mp->inv);
    mp->inv = NULL;
    free(mp->start);
    mp->start = NULL;
    free(mp->rank);
    mp->rank = NULL;
    free(mp->byrank);
    mp->byrank = NULL;
    mp->mem = 0;
}

static void mpairs_free(mpairs *mp)
{
    mpairs_drop(mp);
    trawl_buf_free(&mp->sec);
}

/* Append output doc od with tf to pair term x. 0 or TRAWL_ENOMEM. */
static int mpair_put(mpairs *mp, mpair *x, uint32_t od, const uint32_t *tf)
{
    unsigned char tmp[PAIR_POST_MAX];
    size_t k = trawl__pair_post_put(tmp, x->df == 0 ? od + 1 : od - x->last,
                                    tf);
    for (size_t at = 0; at < k;) {
        if (x->head == 0 || x->used == CHUNK_DATA) {
            uint32_t c = chunk_new(mp);
            if (c == 0)
                return TRAWL_ENOMEM;
            if (x->head == 0)
                x->head = c;
            else
                trawl__put_u32(chunk_at(mp, x->tail - 1), c);
            x->tail = c;
            x->used = 0;
            x->nchunks++;
        }
        size_t room = CHUNK_DATA - x->used, put = k - at < room ? k - at
                                                                 : room;
        memcpy(chunk_at(mp, x->tail - 1) + 4 + x->used, tmp + at, put);
        x->used += (uint32_t)put;
        at += put;
    }
    x->df++;
    x->last = od;
    return 0;
}

/* A listed word's postings in one input, read along its documents. */
typedef struct wcur {
    prd r;
    uint32_t i;               /* the current posting in the block */
    const unsigned char *pp;  /* its positions */
    const unsigned char *post_rel, *pos_rel; /* released below these */
} wcur;

/* Drop the pages of the word's lists read for the last time in this pass
 * (all of them when final), in steps of PAIR_RELEASE_STEP: up to 256
 * lists are read at once. */
#define PAIR_RELEASE_STEP ((uint64_t)64 << 10)

static void wcur_release(const trawl_segment *s, wcur *c, int final)
{
    const unsigned char *pend = s->sec[SEC_POSITIONS].p +
                                s->sec[SEC_POSITIONS].len;
    const unsigned char *pe = c->r.data;
    const unsigned char *qe = final ? c->r.pos : c->pp;
    if (qe > pend)
        qe = pend;
    if (final || (uint64_t)(pe - c->post_rel) >= PAIR_RELEASE_STEP) {
        trawl__seg_drop(s, c->post_rel, pe);
        c->post_rel = pe;
    }
    if (final || (uint64_t)(qe - c->pos_rel) >= PAIR_RELEASE_STEP) {
        trawl__seg_drop(s, c->pos_rel, qe);
        c->pos_rel = qe;
    }
}

/* Step to the next posting (first: to the list's first); skip: the
 * current one's positions were not read. 1, 0 at the end, -1 damaged. */
static int wcur_next(wcur *c, int first, int skip)
{
    if (!first) {
        if (skip && pos_len(&c->r, c->i, &c->pp) < 0)
            return -1;
        c->i++;
    }
    if (first || c->i == c->r.n) {
        int b = prd_block(&c->r, 1);
        if (b <= 0)
            return b;
        c->i = 0;
        c->pp = c->r.bpos;
    }
    return 1;
}

static inline uint32_t wcur_doc(const wcur *c)
{
    return c->r.docs[c->i];
}

typedef struct fword {
    const char *s;
    size_t len;
    uint32_t w;
} fword;

/* Two words as the first word of a pair term: the order of their keys
 * (the word is followed by PAIR_MARK there). */
static int cmp_first_word(const void *a, const void *b)
{
    const fword *fa = a, *fb = b;
    const char *x = fa->s, *y = fb->s;
    size_t al = fa->len, bl = fb->len;
    size_t k = al < bl ? al : bl;
    int c = memcmp(x, y, k);
    if (c != 0 || al == bl)
        return c;
    unsigned char cx = al > k ? (unsigned char)x[k] : PAIR_MARK;
    unsigned char cy = bl > k ? (unsigned char)y[k] : PAIR_MARK;
    return cx < cy ? -1 : cx > cy;
}

/* What every pass needs: the pair slots, the doc maps, the words' ranks
 * in key order. */
static int pairs_setup(mseg *m, uint32_t n, uint64_t nd, mpairs *mp,
                       trawl_err *err)
{
    seg_section sec = {mp->sec.ptr, mp->sec.len};
    mp->nc = trawl__pairs_common(&sec);
    mp->nw = mp->nc + trawl__pairs_frequent(&sec);
    mp->np = 2 * mp->nc * mp->nw;
    mp->p = calloc(mp->np, sizeof(*mp->p));
    mp->inv = malloc((size_t)(nd ? nd : 1) * sizeof(*mp->inv));
    mp->start = malloc(((size_t)n + 1) * sizeof(*mp->start));
    mp->rank = malloc((size_t)mp->nw * sizeof(*mp->rank));
    mp->byrank = malloc((size_t)mp->nw * sizeof(*mp->byrank));
    if (mp->p == NULL || mp->inv == NULL || mp->start == NULL ||
        mp->rank == NULL || mp->byrank == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    mp->base = (size_t)nd * sizeof(*mp->inv);
    for (uint32_t i = 0; i < n; i++) {
        const trawl_segment *s = m[i].s;
        mp->start[i] = UINT32_MAX;
        for (uint32_t d = 0; d < s->ndocs; d++) {
            uint32_t od = m[i].map[d];
            if (od == NO_DOC)
                continue;
            if (mp->start[i] == UINT32_MAX)
                mp->start[i] = od;
            mp->inv[od] = d;
        }
    }
    mp->start[n] = (uint32_t)nd;
    for (uint32_t i = n; i-- > 0;)
        if (mp->start[i] == UINT32_MAX)
            mp->start[i] = mp->start[i + 1];
    fword *fw = malloc((size_t)(mp->nw ? mp->nw : 1) * sizeof(*fw));
    if (fw == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    for (uint32_t w = 0; w < mp->nw; w++) {
        fw[w].s = trawl__pairs_word(&sec, w, &fw[w].len);
        fw[w].w = w;
    }
    qsort(fw, mp->nw, sizeof(*fw), cmp_first_word);
    for (uint32_t r = 0; r < mp->nw; r++) {
        mp->byrank[r] = fw[r].w;
        mp->rank[fw[r].w] = r;
    }
    free(fw);
    mp->lo = 0;
    mp->hi = mp->nw;
    mp->strict = 1;
    return 0;
}

/* Leave the pairs of this pass's last first word to a later pass. */
static void pairs_shrink(mpairs *mp)
{
    uint32_t i = mp->byrank[--mp->hi];
    for (uint32_t j = 0; j < mp->nw; j++) {
        if (i >= mp->nc && j >= mp->nc)
            continue;
        mpair_clear(mp, &mp->p[trawl__pair_index(i, j, mp->nc, mp->nw)]);
    }
}

/*
 * Count the pair terms of the listed words (mp->sec) whose first word's
 * rank is in [mp->lo, mp->hi) over every live document of the inputs, in
 * output order, into mp->p. Over the cap, the pass leaves the pairs of its
 * last first words to the next one (mp->hi shrinks); on the first pass,
 * when one first word alone is over it, or two listed words share a
 * position (the writer's rule), mp->sec is emptied: no pairs. A later
 * pass keeps its one first word whatever it takes. 0 or <0.
 */
static int pairs_gather(mseg *m, uint32_t n, mpairs *mp, trawl_err *err)
{
    seg_section sec = {mp->sec.ptr, mp->sec.len};
    uint32_t nc = trawl__pairs_common(&sec);
    uint32_t nw = nc + trawl__pairs_frequent(&sec);
    int rc = 0, give_up = 0;
    const char *name = "";
    uint32_t maxdocs = 0;
    for (uint32_t i = 0; i < n; i++)
        if (m[i].s->ndocs > maxdocs)
            maxdocs = m[i].s->ndocs;
    memset(mp->p, 0, mp->np * sizeof(*mp->p));
    mp->nchunks = mp->free1 = 0; /* the slabs are reused */
    mp->mem = mp->base;
    /* Cursor c reads word pc.cword[c] in one input; bucket slots are its
     * documents (pairs.h, pair_count). */
    pair_count pc;
    wcur *cu = malloc((size_t)nw * sizeof(*cu));
    if (cu == NULL || trawl__pair_count_init(&pc, nc, nw, maxdocs) != 0) {
        free(cu);
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }

    for (uint32_t si = 0; si < n; si++) {
        mseg *ms = &m[si];
        const trawl_segment *s = ms->s;
        name = s->name;
        uint32_t k = 0, kc = 0;
        /* Each cursor waits in the bucket of its next document. */
        for (uint32_t w = 0; w < nw; w++) {
            size_t wl;
            const char *wd = trawl__pairs_word(&sec, w, &wl);
            seg_term t;
            int found = trawl__seg_lookup(s, wd, wl, &t, err);
            if (found < 0) {
                rc = found;
                goto done;
            }
            if (found == 0 || t.df == 0)
                continue;
            wcur *c = &cu[k];
            prd_init(&c->r, s, &t);
            pc.cword[k] = w;
            c->post_rel = c->r.skip;
            c->pos_rel = c->r.pos;
            int b = wcur_next(c, 1, 0);
            if (b < 0)
                goto damaged;
            if (b == 0)
                continue;
            trawl__pair_count_wait(&pc, k, wcur_doc(c));
            kc += w < nc;
            k++;
        }
        for (uint32_t d = 0; d < s->ndocs && k > 0; d++) {
            if ((d & 1023) == 1023)
                for (uint32_t h = 0; h < k; h++)
                    wcur_release(s, &cu[h], 0);
            uint32_t nh = trawl__pair_count_here(&pc, d);
            if (nh == 0)
                continue;
            const uint32_t *here = pc.here;
            uint32_t od = ms->map[d];
            int skip = od == NO_DOC || kc == 0;
            for (uint32_t f = 0; f < TRAWL_NFIELDS && !skip; f++) {
                size_t flen = trawl__seg_field_len(s, d, (int)f);
                size_t need = 0;
                for (uint32_t h = 0; h < nh; h++) {
                    const wcur *c = &cu[here[h]];
                    need += c->r.tf[f][c->i];
                }
                if (trawl__pair_count_room(&pc, flen, need) != 0) {
                    rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
                    goto done;
                }
                /* Decode each word's positions in f (its cursor moves on
                 * through them), marking them; count the pairs; unmark. */
                uint32_t *pos = pc.pos, *at = pos, *span = pc.span;
                uint16_t *mark = pc.mark;
                int clash = 0;
                for (uint32_t h = 0; h < nh; h++) {
                    wcur *c = &cu[here[h]];
                    uint16_t wm = (uint16_t)(pc.cword[here[h]] + 1);
                    span[h] = (uint32_t)(at - pos);
                    uint32_t x = 0, ntf = c->r.tf[f][c->i];
                    for (uint32_t t = 0; t < ntf; t++) {
                        uint64_t v;
                        if (trawl__get_varint(&c->pp, c->r.bpos_end, &v) ||
                            v > UINT32_MAX - x)
                            goto damaged;
                        x += (uint32_t)v;
                        *at++ = x;
                        clash |= trawl__pair_mark(mark, flen, x, wm);
                    }
                }
                span[nh] = (uint32_t)(at - pos);
                if (trawl__pair_count_field(&pc, flen, od, f, clash,
                                            mp->rank, mp->lo, mp->hi)) {
                    give_up = 1; /* as the writer: no pairs */
                    goto done;
                }
            }
            for (uint32_t q = 0; q < pc.npl; q++) {
                uint32_t pr = pc.plist[q];
                if (mpair_put(mp, &mp->p[pr], od, pc.ps[pr].tf) != 0) {
                    rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
                    goto done;
                }
            }
            if (mp->mem > mp->cap) {
                while (mp->mem > mp->cap / 4 * 3 && mp->hi > mp->lo + 1)
                    pairs_shrink(mp);
                if (mp->mem > mp->cap && mp->strict) {
                    give_up = 1;
                    goto done;
                }
            }
            /* Cursors move on; those whose positions were not read (a
             * deleted doc, or no pairs to count) skip them. */
            for (uint32_t h = 0; h < nh; h++) {
                wcur *c = &cu[here[h]];
                int b = wcur_next(c, 0, skip);
                if (b < 0)
                    goto damaged;
                if (b == 1)
                    trawl__pair_count_wait(&pc, here[h], wcur_doc(c));
            }
        }
        /* Those lists were read for the last time in this pass. */
        for (uint32_t h = 0; h < k; h++)
            wcur_release(s, &cu[h], 1);
    }
    goto done;
damaged:
    rc = trawl__corrupt(err, "%s: damaged postings of a listed word", name);
done:
    if (rc == 0 && give_up && !mp->strict)
        rc = trawl_err_set(err, TRAWL_EINVAL,
                           "merge: pair terms differ between passes");
    if (rc == 0 && give_up) {
        mpairs_drop(mp);
        trawl_buf_clear(&mp->sec);
    }
    free(cu);
    trawl__pair_count_free(&pc);
    return rc;
}

/* Live postings of the current term of m[i] (its doc ids decoded). */
static int live_df(mseg *ms, prd *r, uint64_t *df, trawl_err *err)
{
    prd_init(r, ms->s, &ms->it.t);
    int b;
    while ((b = prd_block(r, 1)) == 1)
        for (uint32_t i = 0; i < r->n; i++)
            *df += ms->map[r->docs[i]] != NO_DOC;
    if (b < 0)
        return trawl__corrupt(err, "%s: damaged postings of %.*s",
                              ms->s->name, (int)ms->it.len, ms->it.term);
    return 0;
}

/* Choose the words from the merged dictionary: each term's df over the
 * output's nd live documents (the inputs' dfs, or their live postings
 * counted where an input has deletions), by the writer's rules; ties go
 * to the term first in byte order (the writer's, to the first seen). */
static int pairs_pick(mseg *m, uint32_t n, uint32_t *sel, uint64_t nd,
                      trawl_buf *out, trawl_err *err)
{
    pair_cand *c = NULL;
    size_t nc = 0, cap = 0;
    trawl_buf words = TRAWL_BUF_INIT;
    prd *r = malloc(sizeof(*r));
    int rc = r == NULL ? trawl_err_set(err, TRAWL_ENOMEM, "out of memory")
                       : iter_start(m, n, err);
    uint32_t k;
    while (rc == 0 && (k = iter_min(m, n, sel)) > 0) {
        const seg_iter *it = &m[sel[0]].it;
        uint64_t df = 0;
        int dels = 0;
        for (uint32_t j = 0; j < k; j++) {
            df += m[sel[j]].it.t.df;
            dels |= m[sel[j]].del != NULL;
        }
        int may = !trawl__is_pair(it->term, it->len) &&
                  it->len <= PAIR_MAX_LEN && df >= 2 &&
                  df * PAIR_FREQ_DIV >= nd;
        if (may && dels) {
            df = 0;
            for (uint32_t j = 0; j < k && rc == 0; j++) {
                if (m[sel[j]].del == NULL)
                    df += m[sel[j]].it.t.df;
                else
                    rc = live_df(&m[sel[j]], r, &df, err);
            }
            may = df >= 2 && df * PAIR_FREQ_DIV >= nd;
        }
        if (rc == 0 && may) {
            if (nc == cap) {
                cap = cap ? cap * 2 : 256;
                pair_cand *nb = realloc(c, cap * sizeof(*nb));
                if (nb == NULL) {
                    rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
                    break;
                }
                c = nb;
            }
            c[nc].s = NULL;
            c[nc].len = it->len;
            c[nc].df = (uint32_t)df;
            nc++;
            trawl_buf_put(&words, it->term, it->len);
        }
        if (rc == 0)
            rc = iter_advance(m, sel, k, err);
    }
    for (uint32_t i = 0; i < n; i++)
        memset(m[i].rel, 0, sizeof(m[i].rel));
    if (rc == 0 && words.rc != 0)
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    if (rc == 0) {
        size_t off = 0;
        for (size_t i = 0; i < nc; i++) {
            c[i].s = (const char *)words.ptr + off;
            off += c[i].len;
        }
        /* (none: c is NULL, which qsort may not be given) */
        if (nc > 0 && trawl__pairs_choose(c, nc, nd, out) != 0)
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }
    free(c);
    free(r);
    trawl_buf_free(&words);
    return rc;
}

/* The output's pair terms when the inputs' PAIRS differ: the words, then
 * their postings (mp->sec stays empty when the output gets none). */
static int pairs_prepare(mseg *m, uint32_t n, uint32_t *sel, uint64_t nd,
                         mpairs *mp, trawl_err *err)
{
    int rc;
    for (uint32_t i = n; i-- > 0;) {
        const seg_section *ps = &m[i].s->sec[SEC_PAIRS];
        if (trawl__pairs_common(ps) > 0) {
            trawl_buf_put(&mp->sec, ps->p, ps->len);
            break;
        }
    }
    if (mp->sec.len == 0 && nd >= PAIR_MIN_DOCS &&
        (rc = pairs_pick(m, n, sel, nd, &mp->sec, err)) < 0)
        return rc;
    if (mp->sec.rc != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    if (mp->sec.len == 0 || nd == 0)
        return 0;
    mp->cap = trawl__merge_pairs_cap;
    if (mp->cap == 0) {
        uint64_t in = 0;
        for (uint32_t i = 0; i < n; i++)
            in += m[i].s->sec[SEC_POSTINGS].len +
                  m[i].s->sec[SEC_POSITIONS].len;
        in = in / 2 + PAIRS_CAP_MIN;
        mp->cap = in > PAIRS_CAP_MAX ? PAIRS_CAP_MAX : (size_t)in;
    }
    if ((rc = pairs_setup(m, n, nd, mp, err)) < 0)
        return rc;
    return pairs_gather(m, n, mp, err);
}

/* Encode and write the gathered pair terms, in byte order, ahead of every
 * word: POSTINGS bytes and dictionary entries (no positions). */
typedef struct pkey {
    uint32_t pr;
    uint32_t len;
    char key[PAIR_KEY_MAX];
} pkey;

static int cmp_pkey(const void *a, const void *b)
{
    const pkey *x = a, *y = b;
    return trawl__cmp_bytes(x->key, x->len, y->key, y->len);
}

static int pairs_write(mpairs *mp, mseg *m, seg_penc *pe, segfile *f,
                       seg_dict *dict, uint64_t *post_off, uint64_t pos_off,
                       trawl_err *err)
{
    trawl_buf one = TRAWL_BUF_INIT; /* a pair's chunks, end to end */
    seg_section sec = {mp->sec.ptr, mp->sec.len};
    uint32_t nk = 0;
    for (uint32_t pr = 0; pr < mp->np; pr++)
        nk += mp->p[pr].df > 0;
    pkey *keys = malloc((size_t)(nk ? nk : 1) * sizeof(*keys));
    if (keys == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    nk = 0;
    for (uint32_t pr = 0; pr < mp->np; pr++) {
        if (mp->p[pr].df == 0)
            continue;
        uint32_t i, j;
        size_t al, bl;
        trawl__pair_words(pr, mp->nc, mp->nw, &i, &j);
        const char *a = trawl__pairs_word(&sec, i, &al);
        const char *b = trawl__pairs_word(&sec, j, &bl);
        keys[nk].pr = pr;
        keys[nk].len = (uint32_t)trawl__pair_key(keys[nk].key, a, al, b, bl);
        nk++;
    }
    qsort(keys, nk, sizeof(*keys), cmp_pkey);
    int rc = 0;
    for (uint32_t q = 0; q < nk && rc == 0 && f->rc == 0; q++) {
        mpair *x = &mp->p[keys[q].pr];
        trawl_buf_clear(&one);
        for (uint32_t c = x->head; c != 0;) {
            const unsigned char *cp = chunk_at(mp, c - 1);
            uint32_t next = trawl__get_u32(cp);
            trawl_buf_put(&one, cp + 4, next != 0 ? CHUNK_DATA : x->used);
            c = next;
        }
        if (one.rc != 0) {
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            break;
        }
        const unsigned char *p = one.ptr, *end = one.ptr + one.len;
        int64_t od = -1;
        uint32_t si = 0;
        trawl__penc_reset(pe);
        for (uint32_t t = 0; t < x->df; t++) {
            uint64_t gap, v, tt = 0;
            if (trawl__get_varint(&p, end, &gap) ||
                trawl__get_varint(&p, end, &v) ||
                ((v & 1) && trawl__get_varint(&p, end, &tt))) {
                rc = trawl_err_set(err, TRAWL_EINVAL,
                                   "merge: pair postings garbled");
                break;
            }
            od += (int64_t)gap;
            while (od >= (int64_t)mp->start[si + 1])
                si++;
            uint32_t d = mp->inv[od];
            uint32_t tf[TRAWL_NFIELDS], len[TRAWL_NFIELDS];
            tf[TRAWL_FIELD_TITLE] = (uint32_t)tt;
            tf[TRAWL_FIELD_BODY] = (uint32_t)(v >> 1);
            for (int fi = 0; fi < TRAWL_NFIELDS; fi++)
                len[fi] = trawl__seg_field_len(m[si].s, d, fi);
            trawl__penc_add(pe, (uint32_t)od, tf, len, 0);
        }
        if (rc < 0)
            break;
        mpair_clear(mp, x);
        trawl__penc_finish(pe);
        if (trawl__penc_rc(pe) != 0) {
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            break;
        }
        trawl__segfile_write(f, pe->skip.ptr, pe->skip.len);
        trawl__segfile_write(f, pe->blocks.ptr, pe->blocks.len);
        trawl__dict_add(dict, keys[q].key, keys[q].len, pe, *post_off,
                        pos_off);
        *post_off += pe->skip.len + pe->blocks.len;
    }
    free(keys);
    trawl_buf_free(&one);
    return rc;
}

/* POSTINGS and the dictionary. tabbed gets a bit per term of the walk
 * (those merge_positions visits, in the same order): set when the
 * output's list has a block with an offset table (format 9). */
static int merge_postings(mseg *m, uint32_t n, segfile *f, seg_dict *dict,
                          uint32_t *sel, int drop_pairs, mpairs *mp,
                          trawl_buf *tabbed, trawl_err *err)
{
    seg_penc *pe = calloc(1, sizeof(*pe));
    prd *r = malloc(sizeof(*r));
    int rc = 0;
    if (pe == NULL || r == NULL) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = iter_start(m, n, err)) < 0)
        goto done;
    uint64_t post_off = 0, pos_off = 0;
    trawl__segfile_begin(f, SEC_POSTINGS);
    /* The pair terms gathered by pairs_prepare, then those of the passes
     * it left (see pairs_gather). */
    if (mp != NULL && mp->sec.len > 0) {
        rc = pairs_write(mp, m, pe, f, dict, &post_off, pos_off, err);
        while (rc == 0 && f->rc == 0 && mp->hi < mp->nw) {
            mp->lo = mp->hi;
            mp->hi = mp->nw;
            mp->strict = 0;
            rc = pairs_gather(m, n, mp, err);
            if (rc == 0)
                rc = pairs_write(mp, m, pe, f, dict, &post_off, pos_off,
                                 err);
        }
    }
    uint32_t k;
    uint64_t vi = 0; /* terms of the walk */
    while (rc == 0 && f->rc == 0 && (k = iter_min(m, n, sel)) > 0) {
        if (drop_pairs && trawl__is_pair(m[sel[0]].it.term, m[sel[0]].it.len)) {
            rc = iter_advance(m, sel, k, err);
            continue;
        }
        if (vi % 8 == 0)
            trawl_buf_put(tabbed, "", 1);
        if (tabbed->rc != 0) {
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            break;
        }
        vi++;
        trawl__penc_reset(pe);
        for (uint32_t j = 0; j < k && rc == 0; j++) {
            mseg *ms = &m[sel[j]];
            const trawl_segment *s = ms->s;
            prd_init(r, s, &ms->it.t);
            r->nopos = trawl__is_pair(ms->it.term, ms->it.len);
            int b;
            while ((b = prd_block(r, 1)) == 1) {
                const unsigned char *pp = r->bpos;
                for (uint32_t i = 0; i < r->n; i++) {
                    int64_t pl = pos_len(r, i, &pp);
                    if (pl < 0) {
                        b = -1;
                        break;
                    }
                    uint32_t nd = ms->map[r->docs[i]];
                    if (nd == NO_DOC)
                        continue;
                    uint32_t len[TRAWL_NFIELDS], tf[TRAWL_NFIELDS];
                    for (int fi = 0; fi < TRAWL_NFIELDS; fi++) {
                        len[fi] = trawl__seg_field_len(s, r->docs[i], fi);
                        tf[fi] = r->tf[fi][i];
                    }
                    trawl__penc_add(pe, nd, tf, len, (uint32_t)pl);
                }
                if (b < 0)
                    break;
            }
            if (b < 0)
                rc = trawl__corrupt(err, "%s: damaged postings of %.*s",
                                    s->name, (int)ms->it.len, ms->it.term);
            release(ms, SEC_POSTINGS, r->data);
            release(ms, SEC_POSITIONS, r->pos);
        }
        if (rc < 0)
            break;
        if (pe->df > 0) {
            trawl__penc_finish(pe);
            if (trawl__penc_rc(pe) != 0) {
                rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
                break;
            }
            trawl__segfile_write(f, pe->skip.ptr, pe->skip.len);
            trawl__segfile_write(f, pe->blocks.ptr, pe->blocks.len);
            const seg_iter *it = &m[sel[0]].it;
            trawl__dict_add(dict, it->term, (uint32_t)it->len, pe, post_off,
                            pos_off);
            post_off += pe->skip.len + pe->blocks.len;
            pos_off += pe->pos_bytes;
            if (pe->ntab > 0)
                tabbed->ptr[(vi - 1) / 8] |= (unsigned char)(1u << (vi - 1) % 8);
        }
        rc = iter_advance(m, sel, k, err);
    }
    trawl__segfile_end(f);
    if (rc == 0)
        rc = f->rc;
done:
    if (pe != NULL)
        trawl__penc_free(pe);
    free(pe);
    free(r);
    return rc;
}

/* The output's positions of one term, a block at a time, so that a block
 * gets its offset table (format 9, format.h) as the encoder counted it. */
typedef struct pout {
    trawl_buf b;              /* the pending block's positions */
    uint32_t len[BLOCK_SIZE]; /* bytes of each of its postings */
    uint32_t n;               /* its postings */
    uint64_t df;              /* the term's postings so far */
} pout;

/* Write the pending block; last: it ends the term (a compact list, of
 * df <= COMPACT_MAX postings, has no table). */
static void pout_flush(pout *o, segfile *f, int last)
{
    if (o->n == 0)
        return;
    int compact = last && o->df <= COMPACT_MAX &&
                  trawl__segfile_format >= COMPACT_FROM;
    uint64_t tb = 0;
    if (!compact && trawl__segfile_format >= POS_TAB_FROM)
        tb = trawl__postab_bytes(o->n, o->b.len);
    if (tb > 0) {
        unsigned char tab[4 * BLOCK_SIZE];
        trawl__postab_put(tab, o->len, o->n);
        trawl__segfile_write(f, tab, (size_t)tb);
    }
    trawl__segfile_write(f, o->b.ptr, o->b.len);
    trawl_buf_clear(&o->b);
    o->n = 0;
}

/* One live posting's positions. 0, or ENOMEM. */
static int pout_add(pout *o, segfile *f, const unsigned char *p, size_t len)
{
    trawl_buf_put(&o->b, p, len);
    if (o->b.rc != 0)
        return TRAWL_ENOMEM;
    o->len[o->n++] = (uint32_t)len;
    o->df++;
    if (o->n == BLOCK_SIZE)
        pout_flush(o, f, 0);
    return 0;
}

/* POSITIONS: the same walk, copying the live postings' positions; the
 * lists that tabbed (merge_postings) marks get their blocks' tables. */
static int merge_positions(mseg *m, uint32_t n, segfile *f, uint32_t *sel,
                           int drop_pairs, const trawl_buf *tabbed,
                           trawl_err *err)
{
    prd *r = malloc(sizeof(*r));
    pout po;
    memset(&po, 0, sizeof(po));
    int rc = 0;
    if (r == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++)
        memset(m[i].rel, 0, sizeof(m[i].rel));
    if ((rc = iter_start(m, n, err)) < 0)
        goto done;
    trawl__segfile_begin(f, SEC_POSITIONS);
    uint32_t k;
    uint64_t vi = 0; /* terms of the walk */
    while (rc == 0 && f->rc == 0 && (k = iter_min(m, n, sel)) > 0) {
        if (drop_pairs && trawl__is_pair(m[sel[0]].it.term, m[sel[0]].it.len)) {
            rc = iter_advance(m, sel, k, err);
            continue;
        }
        int tab = vi / 8 < tabbed->len &&
                  (tabbed->ptr[vi / 8] >> vi % 8 & 1);
        vi++;
        po.n = 0;
        po.df = 0;
        trawl_buf_clear(&po.b);
        for (uint32_t j = 0; j < k && rc == 0; j++) {
            mseg *ms = &m[sel[j]];
            prd_init(r, ms->s, &ms->it.t);
            r->nopos = trawl__is_pair(ms->it.term, ms->it.len);
            int b;
            const unsigned char *start = r->pos;
            if (!tab && ms->del == NULL &&
                ms->s->version < POS_TAB_FROM) {
                /* Nothing to drop or to add: one copy of the term's
                 * whole range (an input of format 8 has no tables). */
                while ((b = prd_block(r, 0)) == 1)
                    ;
                if (b == 0)
                    trawl__segfile_write(f, start, (size_t)(r->pos - start));
            } else if (!tab && ms->del == NULL) {
                /* The same, block by block, without the input's tables
                 * (the output's blocks have none). */
                while ((b = prd_block(r, 0)) == 1)
                    trawl__segfile_write(f, r->bpos,
                                         (size_t)(r->bpos_end - r->bpos));
            } else {
                while ((b = prd_block(r, 1)) == 1) {
                    const unsigned char *pp = r->bpos;
                    for (uint32_t i = 0; i < r->n && b == 1; i++) {
                        const unsigned char *ps = pp;
                        if (pos_len(r, i, &pp) < 0)
                            b = -1;
                        else if (ms->map[r->docs[i]] == NO_DOC)
                            continue;
                        else if (!tab)
                            trawl__segfile_write(f, ps, (size_t)(pp - ps));
                        else if (pout_add(&po, f, ps, (size_t)(pp - ps)) < 0)
                            rc = trawl_err_set(err, TRAWL_ENOMEM,
                                               "out of memory");
                    }
                    if (b < 0 || rc < 0)
                        break;
                }
            }
            if (b < 0 && rc == 0)
                rc = trawl__corrupt(err, "%s: damaged postings of %.*s",
                                    ms->s->name, (int)ms->it.len,
                                    ms->it.term);
            release(ms, SEC_POSTINGS, r->data);
            release(ms, SEC_POSITIONS, r->pos);
        }
        pout_flush(&po, f, 1);
        if (rc == 0)
            rc = iter_advance(m, sel, k, err);
    }
    trawl__segfile_end(f);
    if (rc == 0)
        rc = f->rc;
done:
    trawl_buf_free(&po.b);
    free(r);
    return rc;
}

int trawl__merge(const char *path, const merge_in *in, uint32_t n,
                 const char *language, merge_out *out, trawl_err *err)
{
    int rc;
    memset(out, 0, sizeof(*out));
    mseg *m = calloc(n ? n : 1, sizeof(*m));
    uint32_t *sel = calloc(n ? n : 1, sizeof(*sel));
    uint32_t *first = NULL, nfirst = 0;
    seg_dict dict;
    segfile f;
    mpairs mp;
    trawl_buf tabbed = TRAWL_BUF_INIT; /* merge_postings, format 9 */
    memset(&mp, 0, sizeof(mp));
    memset(&dict, 0, sizeof(dict));
    memset(&f, 0, sizeof(f));
    f.fd = -1;
    if (m == NULL || sel == NULL) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto done;
    }
    uint64_t nd = 0;
    for (uint32_t i = 0; i < n; i++) {
        const trawl_segment *s = in[i].seg;
        m[i].s = s;
        m[i].del = in[i].del;
        m[i].map = malloc(((size_t)s->ndocs + 1) * sizeof(uint32_t));
        if (m[i].map == NULL) {
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            goto done;
        }
        m[i].step = MERGE_RESIDENT / (3 * (uint64_t)n);
        if (m[i].step < RELEASE_MIN)
            m[i].step = RELEASE_MIN;
        if (m[i].step > RELEASE_MAX)
            m[i].step = RELEASE_MAX;
        for (uint32_t d = 0; d < s->ndocs; d++)
            m[i].map[d] = is_live(&m[i], d) ? (uint32_t)nd++ : NO_DOC;
        release_map(&m[i]);
        if (nd >= UINT32_MAX - 1) {
            rc = trawl_err_set(err, TRAWL_ETOOBIG,
                               "merge: too many documents for a segment");
            goto done;
        }
    }
    uint64_t total_len[TRAWL_NFIELDS] = {0};
    if ((rc = trawl__segfile_open(&f, path, err)) < 0)
        goto done;
    f.nosync = 1;
    if ((rc = merge_store(m, n, &f, &first, &nfirst, err)) < 0)
        goto done;
    merge_docs(m, n, &f, first, nfirst, total_len);
    merge_ids(m, n, &f, sel);
    for (uint32_t i = 0; i < n; i++)
        release_all(&m[i], SEC_IDS);
    /* Pair terms are copied when every input has the same words; else
     * they are built again (pairs_prepare), since an input's pair lists
     * miss the pairs of words it did not list. */
    const seg_section *pw = n > 0 ? &m[0].s->sec[SEC_PAIRS] : NULL;
    int keep_pairs = pw != NULL && trawl__pairs_common(pw) > 0;
    for (uint32_t i = 1; i < n && keep_pairs; i++) {
        const seg_section *o = &m[i].s->sec[SEC_PAIRS];
        keep_pairs = o->len == pw->len && memcmp(o->p, pw->p, pw->len) == 0;
    }
    if (!keep_pairs && (rc = pairs_prepare(m, n, sel, nd, &mp, err)) < 0)
        goto done;
    trawl__segfile_begin(&f, SEC_PAIRS);
    if (keep_pairs)
        trawl__segfile_write(&f, pw->p, pw->len);
    else if (mp.sec.len > 0)
        trawl__segfile_write(&f, mp.sec.ptr, mp.sec.len);
    trawl__segfile_end(&f);
    if ((rc = merge_postings(m, n, &f, &dict, sel, !keep_pairs, &mp,
                             &tabbed, err)) < 0)
        goto done;
    mpairs_free(&mp);
    if ((rc = merge_positions(m, n, &f, sel, !keep_pairs, &tabbed,
                              err)) < 0)
        goto done;
    if ((rc = trawl__dict_write(&dict, &f)) < 0)
        goto done;
    trawl__meta_write(&f, (uint32_t)nd, dict.n, total_len, language);
    out->ndocs = (uint32_t)nd;
    out->nterms = dict.n;
    rc = trawl__segfile_finish(&f);
    out->bytes = f.off;
done:
    if (rc < 0)
        trawl__segfile_abort(&f);
    for (uint32_t i = 0; m != NULL && i < n; i++)
        free(m[i].map);
    free(m);
    free(sel);
    free(first);
    mpairs_free(&mp);
    trawl_buf_free(&tabbed);
    trawl__dict_free(&dict);
    return rc;
}

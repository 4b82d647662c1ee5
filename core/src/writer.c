/*
 * The index writer: in-memory inversion of articles into per-term posting
 * buffers, streaming of the compressed document store, flushes of runs
 * when the memory budget is reached, and the commit: merge policy, new
 * manifest, CURRENT renamed into place, unreferenced files removed.
 *
 * In memory, each term owns a byte buffer of postings, each posting as
 * varints: doc gap, tf per field, positions byte length, then the position
 * deltas per field exactly as they are laid out in the POSITIONS section,
 * so the segment write copies them without re-encoding.
 *
 * Incremental updates: the previous generation stays open (w->old). An
 * article whose id is live there with the same fingerprint is only marked
 * seen; a changed one marks the old doc deleted (in the writer's copy of
 * that segment's deletion bitmap) and is indexed again; at commit, old
 * docs not seen are deleted unless keep_unseen. The new manifest lists the
 * old segments (new bitmaps) and the new ones, after the merge policy.
 *
 * Ids: within the run held in memory, ids compare exactly; against runs
 * already flushed and the old generation they compare by their 64-bit
 * XXH3 hash (a collision among 10^6 ids has probability ~3e-8).
 */
#include "trawl/writer.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "codec.h"
#include "format.h"
#include "internal.h"
#include "merge.h"
#include "pairs.h"
#include "seg.h"
#include "segfile.h"
#include "trawl/analyze.h"
#include "trawl/arena.h"
#include "trawl/buf.h"
#include "trawl/index.h"

#define DEFAULT_BUDGET ((size_t)512 << 20)
#define MIN_BUDGET     ((size_t)1 << 20)
#define MALLOC_OVERHEAD 16 /* per heap allocation, for the accounting */

/* Merge policy (see docs/index-format.md). */
#define MERGE_FACTOR 8    /* merge this many adjacent segments of a level */
#define MERGE_FLOOR  1000 /* live docs; smaller segments are level 0 */
#define MERGE_DEL_PCT 25  /* rewrite a segment with more deleted docs */

typedef struct wterm {
    const char *s;
    uint32_t len;
    uint32_t df;
    uint32_t last_doc;
    uint32_t blen, bcap;
    /* Its tokens in the document being inverted: a linked list through
     * wtok.next (1-based), valid while stamp == w->cur_stamp. Kept here
     * rather than in an array of their own: one cache line per term. */
    uint32_t stamp;
    uint32_t head, tail;
    unsigned char *buf;
} wterm;

typedef struct wtok {
    uint32_t term;
    uint32_t pos;
    uint32_t field;
    uint32_t next; /* the term's next token in this document, or 0 */
} wtok;


typedef struct wid {
    uint64_t hash;
    uint32_t doc;
} wid;

/* The build's id table: where the current version of each id seen in this
 * run lives (a kept doc of an old segment, or a doc of a new run). */
typedef struct bid {
    uint64_t hash;
    uint32_t seg; /* index into w->segs + 1; 0 = empty slot */
    uint32_t doc;
} bid;

/* A segment of the generation being built: one of the old generation, a
 * run flushed by this build, or a merge result. */
typedef struct wseg {
    char *name;               /* final file name within the directory */
    char *tmp;                /* name.tmp while uncommitted; NULL if old */
    const trawl_segment *seg; /* mapped view, or NULL (fresh, not mapped) */
    trawl_segment *own;       /* the mapping we opened, if any */
    uint32_t ndocs, ndel;
    unsigned char *del;       /* (ndocs + 7) / 8 bytes, or NULL: none */
    unsigned char *seen;      /* old segments: docs whose id was seen */
    uint64_t nterms, bytes;
} wseg;

/*
 * The analysis pipeline. trawl_writer_add (the caller's thread) decides
 * everything that needs the old generation and the build's id table, adds
 * the stored record, tokenizes and folds the title and body into the
 * job's batch (trawl_analyze_fold), and queues the job; the worker thread
 * stems the batch (trawl_analyze_stem_batch, with its own analyzer and
 * memo), maps terms to ids and appends the postings and the doc record,
 * strictly in job order, so the result is byte for byte what one thread
 * would write. The worker owns the terms, their table and posting
 * buffers, the token scratch, DOCS and the token counts; the caller owns
 * everything else. They meet only at the ring, and at drains (flush,
 * commit, free), when the worker is idle. While a run is written the
 * worker also takes jobs that encode chunks of it (see write_segment).
 * Wake-ups are batched: the worker is woken when a quarter of the ring
 * is queued, or WAKE_BYTES of text (long articles: a quarter of the ring
 * would leave it idle for as long as the caller takes to fold them, at
 * the start and after each wait), a caller waiting for a full ring when
 * it is half empty.
 */
#define RING 64
#define WAKE_BYTES ((uint64_t)64 << 10)

typedef struct wjob {
    int encode;        /* 1: not a document but w->enc (see write_segment) */
    trawl_folded fold; /* title, body, author, folded by the caller */
    size_t ntitle;     /* tokens of the title */
    size_t nbody;      /* ... and of the title and body */
    char site[SITE_HOST_MAX]; /* the URL's host (site terms), */
    size_t site_len;          /* 0: none */
    uint64_t in_bytes; /* title and body bytes */
    uint32_t doc;
    int64_t date;
    uint64_t fp;
    uint32_t block, slot;
    /* The worker's bytes right after this job, for the budget decision
     * RING documents later (the same moment with or without a thread, so
     * runs are cut at the same documents either way). */
    size_t mem_after, flush_after;
    int mem_valid;
} wjob;

/* Per term of an encoded chunk: what the dictionary entry needs. */
typedef struct tstat {
    uint32_t df;
    uint64_t skip_len, len; /* skip table bytes; skip + blocks bytes */
    uint64_t pos_bytes;
    uint32_t max_tf[TRAWL_NFIELDS], min_len[TRAWL_NFIELDS];
} tstat;

/*
 * Work on the run being written that the worker does while the caller
 * does its part (see write_segment): a chunk of the run's terms (in term
 * order) whose POSTINGS bytes the worker encodes while the caller encodes
 * the chunk before it (the bytes of every term back to back in out, and
 * their dictionary data in st), or their POSITIONS bytes, or the pair
 * terms while the caller sorts the others.
 */
enum { ENC_POSTINGS, ENC_POSITIONS, ENC_PAIRS };

typedef struct wenc {
    int kind;         /* ENC_* */
    int seg_pairs;    /* ENC_PAIRS: see pairs_build */
    atomic_int busy;  /* ENC_PAIRS: 1 until the pair terms are built */
    const uint32_t *order;
    uint32_t from, to;
    trawl_buf out;
    tstat *st;
    uint32_t st_cap;
    trawl_buf names;  /* ENC_POSTINGS: the terms, as names_put writes them */
    seg_penc *pe;
    int rc;
} wenc;

/* A term's sort key: its first 8 bytes, big-endian, zero-padded. */
typedef struct skey {
    uint64_t key;
    uint32_t idx;
} skey;

/*
 * Posting buffers grow by doubling from 16 bytes. Up to SLAB_MAX bytes
 * they are carved from slabs of SLAB_BYTES, or 1/64 of a smaller budget,
 * with a free list per size for the ones outgrown (no realloc, no malloc
 * per buffer); the slabs go at the end of the run. Longer buffers are on
 * the heap.
 */
#define SLAB_MIN 16u
#define SLAB_MAX ((size_t)64 << 10)
#define SLAB_CLASSES 13 /* 16 << 0 .. 16 << 12 = SLAB_MAX */
#define SLAB_BYTES ((size_t)4 << 20)
#define SLAB_BYTES_MIN ((size_t)128 << 10)

/* While the worker builds the pair terms, the caller encodes the first
 * other terms ahead, into at most this many bytes, and no more than what
 * flush_after reserves for the sort keys, the dictionary and the chunk
 * buffers, which are not in use then (the sort keys are freed, the rest
 * is not there yet). */
#define PRE_BYTES ((size_t)16 << 20)

/* Terms per chunk: about this many bytes of in-memory postings for the
 * worker's chunks; for the caller's, which also writes both, 2/5 of that
 * in the POSTINGS pass (it also builds the dictionary) and 3/4 in the
 * POSITIONS pass (measured on synth-10k: both threads about as busy). */
#define ENC_CHUNK ((size_t)256 << 10)
#define ENC_CHUNK_POST (ENC_CHUNK * 2 / 5)
#define ENC_CHUNK_POS (ENC_CHUNK * 3 / 4)

/* What the two threads share while they build a run's pair terms (see
 * pairs_build): the worker publishes the listed words and the document
 * the caller starts at (ready), the caller its records (done); both
 * under mu. */
typedef struct pshare {
    int active;          /* the caller may help (set before the job) */
    int ready, done;
    int wdone;           /* the worker has passed d2: too late to help */
    uint32_t wpos;       /* the document the worker is at */
    const uint32_t *ids; /* the listed words' term ids */
    uint32_t k, kc, d2;
    size_t cap;
    trawl_buf rec;       /* the caller's records (see pairs_help) */
    uint32_t stop;
    int clash, rc;
    atomic_int abort;    /* the worker no longer needs them */
} pshare;

struct trawl_writer {
    char *dir;
    int lock_fd;
    trawl_analyzer *an;  /* stems (the worker) */
    trawl_analyzer *fan; /* folds (the caller) */
    char language[32];
    trawl_writer_opts opts;
    size_t budget;
    trawl_index *old;

    wseg *segs;         /* old segments first, then runs and merges */
    uint32_t nsegs, segs_cap, nold;
    bid *bt;
    uint32_t bt_mask, bt_n;

    /* The run held in memory; it becomes segs[nsegs] when flushed. */
    trawl_arena *strings; /* term and id bytes */
    wterm *terms;
    uint32_t nterms, terms_cap;
    uint32_t *table; /* open addressing: term index + 1, 0 = empty */
    uint32_t table_mask;
    size_t post_mem;  /* bytes of term posting buffers on the heap */
    /* Posting buffers of up to SLAB_MAX bytes (see term_reserve). */
    unsigned char **slabs;
    uint32_t nslabs, slabs_cap;
    size_t slab_used;   /* bytes carved from the last slab */
    size_t slab_bytes;  /* of each slab */
    void *slab_free[SLAB_CLASSES];
    size_t base_mem;  /* writer_mem() when the run began */
    uint32_t max_blen;

    uint32_t ndocs;
    trawl_buf docs;      /* DOC_RECORD per doc */
    wid *ids;            /* by docid */
    const char **id_str; /* by docid, NUL-terminated, in strings arena */
    uint32_t ids_cap;
    trawl_buf deleted;   /* bitmap of docs replaced within this run */
    uint32_t ndeleted;
    uint64_t total_len[TRAWL_NFIELDS];

    int seg_open;
    segfile seg;
    char *seg_name, *seg_tmp; /* file names (not paths) */
    seg_store store;

    wtok *toks;
    size_t ntoks, toks_cap;
    uint32_t *dterms;  /* distinct terms of the current document */
    uint32_t ndterms, dterms_cap;
    /* A long document's positions grouped by term (link_doc): each
     * term's own at bpos[head .. tail), field << 31 | position; NULL for
     * a document linked through wtok.next. */
    uint32_t *bpos;
    size_t bpos_cap;
    int bucketed;      /* the current document's are in bpos */
    uint32_t cur_stamp;
    uint32_t cur_field;
    /* The document's author words (on_author): their field, where they
     * start in toks */
    uint32_t author_field;
    size_t author_from;
    trawl_buf rec; /* the stored record of the article being added */

    uint64_t tokens;
    uint64_t input_bytes;
    uint64_t gen;
    uint32_t seq; /* next segment number within this generation */
    uint64_t added, updated, unchanged, deleted_n;
    uint32_t runs, merges;
    int committed;
    int rc;

    trawl_arena *term_strings; /* term bytes (worker) */

    /* The build's common words (a PAIRS section's bytes), chosen by the
     * first run or kept from the previous generation (see pairs_build). */
    trawl_buf pairs;
    int pairs_chosen;
    /* While a run is written: the index of its first pair term (they
     * follow its words), so that a term is known to be one without
     * reading its bytes, a cache miss each. */
    uint32_t pair_from;
    wjob ring[RING];
    wenc enc;                  /* the worker's chunk while writing a run */
    pshare ph;                 /* while it builds the pair terms */
    uint64_t enq, done;        /* jobs queued / finished (under mu) */
    int wsleep, csleep;        /* worker / caller waiting (under mu) */
    uint64_t jobs;             /* jobs ever queued (caller) */
    uint64_t unwoken;          /* text bytes queued since the last
                                  wake-up (under mu) */
    int threaded, stop;
    pthread_t worker;
    pthread_mutex_t mu;
    pthread_cond_t cv_job, cv_done;
    atomic_int wrc;            /* the worker's first error */
    atomic_size_t wmem;        /* the worker's bytes, published per job */
};

static void publish_mem(trawl_writer *w);
static int worker_start(trawl_writer *w);
static int encode_chunk(trawl_writer *w);

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

/* Whether s[0..n) is one or more ASCII digits. */
static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int trawl_writer_file_name(const char *name)
{
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".tmp") == 0)
        n -= 4;
    if (n == 7 && strncmp(name, "CURRENT", 7) == 0)
        return 1;
    if (n > 8 && strncmp(name, "gen-", 4) == 0 &&
        strncmp(name + n - 4, ".man", 4) == 0)
        return all_digits(name + 4, n - 8);
    if (n > 8 && strncmp(name, "seg-", 4) == 0 &&
        strncmp(name + n - 4, ".trs", 4) == 0) {
        const char *dash = memchr(name + 4, '-', n - 8);
        if (dash == NULL)
            return all_digits(name + 4, n - 8);
        return all_digits(name + 4, (size_t)(dash - (name + 4))) &&
               all_digits(dash + 1, (size_t)(name + n - 4 - (dash + 1)));
    }
    return 0;
}

/* Remove the *.tmp leftovers of dead builds (of the writer's own names
 * only) and find the highest generation number in use, so a new one
 * never reuses a name. */
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
        if (!trawl_writer_file_name(n))
            continue;
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

/*
 * A slot of w->table holds 0 (empty), or the term's index + 1 in the bits
 * of table_mask (it is at most half the slots) and the high half of its
 * hash in the bits above: a probe passes a slot of another term without
 * reading that term (a cache miss each), and a term not in the table
 * (the usual case: the analyzer's memo finds the others) costs the probe
 * alone.
 */
static inline uint32_t slot_make(uint64_t h, uint32_t idx, uint32_t mask)
{
    return ((uint32_t)(h >> 32) & ~mask) | (idx + 1);
}

/* 1 if slot v may hold the term of hash h. */
static inline int slot_may(uint32_t v, uint64_t h, uint32_t mask)
{
    return ((v ^ (uint32_t)(h >> 32)) & ~mask) == 0;
}

/* Put term i, of hash h, in table t of mask+1 slots. */
static inline void slot_put(uint32_t *t, uint32_t mask, uint64_t h,
                            uint32_t i)
{
    uint32_t j = (uint32_t)h & mask;
    while (t[j] != 0)
        j = (j + 1) & mask;
    t[j] = slot_make(h, i, mask);
}

static int table_grow(trawl_writer *w)
{
    uint32_t ncap = w->table_mask ? (w->table_mask + 1) * 2 : 1u << 16;
    uint32_t *t = calloc(ncap, sizeof(*t));
    if (t == NULL)
        return TRAWL_ENOMEM;
    for (uint32_t i = 0; i < w->nterms; i++)
        slot_put(t, ncap - 1, trawl__hash64(w->terms[i].s, w->terms[i].len),
                 i);
    free(w->table);
    w->table = t;
    w->table_mask = ncap - 1;
    return 0;
}

/* Room in w->terms for n more terms. */
static int terms_room(trawl_writer *w, uint32_t n)
{
    if ((uint64_t)w->nterms + n <= w->terms_cap)
        return 0;
    uint64_t ncap = w->terms_cap ? w->terms_cap : 4096;
    while (ncap < (uint64_t)w->nterms + n)
        ncap *= 2;
    if (ncap > UINT32_MAX)
        return TRAWL_ETOOBIG;
    wterm *nt = realloc(w->terms, (size_t)ncap * sizeof(*nt));
    if (nt == NULL)
        return TRAWL_ENOMEM;
    w->terms = nt;
    w->terms_cap = (uint32_t)ncap;
    return 0;
}

static int term_id(trawl_writer *w, const char *s, size_t len, uint32_t *out)
{
    if ((size_t)w->nterms * 2 >= (size_t)w->table_mask + 1 &&
        table_grow(w) != 0)
        return TRAWL_ENOMEM;
    uint64_t h = trawl__hash64(s, len);
    uint32_t mask = w->table_mask;
    uint32_t j = (uint32_t)h & mask;
    for (;;) {
        uint32_t v = w->table[j];
        if (v == 0)
            break;
        if (slot_may(v, h, mask)) {
            wterm *t = &w->terms[(v & mask) - 1];
            if (t->len == len && memcmp(t->s, s, len) == 0) {
                *out = (v & mask) - 1;
                return 0;
            }
        }
        j = (j + 1) & mask;
    }
    if (w->nterms == w->terms_cap && terms_room(w, 1) != 0)
        return TRAWL_ENOMEM;
    char *copy = trawl_arena_strndup(w->term_strings, s, len);
    if (copy == NULL)
        return TRAWL_ENOMEM;
    wterm *t = &w->terms[w->nterms];
    memset(t, 0, sizeof(*t));
    t->s = copy;
    t->len = (uint32_t)len;
    w->table[j] = slot_make(h, w->nterms, mask);
    *out = w->nterms++;
    return 0;
}

/* ---- segments list and build id table ---------------------------------- */

static int seg_push(trawl_writer *w, uint32_t *out)
{
    if (w->nsegs == w->segs_cap) {
        uint32_t ncap = w->segs_cap ? w->segs_cap * 2 : 16;
        wseg *n = realloc(w->segs, ncap * sizeof(*n));
        if (n == NULL)
            return TRAWL_ENOMEM;
        w->segs = n;
        w->segs_cap = ncap;
    }
    memset(&w->segs[w->nsegs], 0, sizeof(wseg));
    *out = w->nsegs++;
    return 0;
}

static size_t bitmap_bytes(uint32_t ndocs)
{
    return ((size_t)ndocs + 7) / 8;
}

static int bit_get(const unsigned char *b, uint32_t d)
{
    return b != NULL && (b[d >> 3] >> (d & 7)) & 1;
}

/* Mark doc d of segs[si] deleted in the writer's copy of its bitmap. */
static int wseg_delete(wseg *g, uint32_t d)
{
    if (g->del == NULL) {
        g->del = calloc(bitmap_bytes(g->ndocs) ? bitmap_bytes(g->ndocs) : 1,
                        1);
        if (g->del == NULL)
            return TRAWL_ENOMEM;
        if (g->seg != NULL && g->seg->deleted != NULL)
            memcpy(g->del, g->seg->deleted, bitmap_bytes(g->ndocs));
    }
    if (!bit_get(g->del, d)) {
        g->del[d >> 3] |= (unsigned char)(1u << (d & 7));
        g->ndel++;
    }
    return 0;
}

/* Clear doc d's deletion in g's new bitmap (it was live before). */
static void wseg_undelete(wseg *g, uint32_t d)
{
    if (g->del != NULL && bit_get(g->del, d)) {
        g->del[d >> 3] &= (unsigned char)~(1u << (d & 7));
        g->ndel--;
    }
}

static int run_delete(trawl_writer *w, uint32_t doc)
{
    size_t need = doc / 8 + 1;
    if (w->deleted.len < need) {
        size_t old = w->deleted.len;
        if (trawl_buf_reserve(&w->deleted, need - old) != 0)
            return TRAWL_ENOMEM;
        memset(w->deleted.ptr + old, 0, need - old);
        w->deleted.len = need;
    }
    if (!bit_get(w->deleted.ptr, doc)) {
        w->deleted.ptr[doc / 8] |= (unsigned char)(1u << (doc % 8));
        w->ndeleted++;
    }
    return 0;
}

static int delete_doc(trawl_writer *w, uint32_t si, uint32_t doc)
{
    if (si == w->nsegs)
        return run_delete(w, doc);
    return wseg_delete(&w->segs[si], doc);
}

static int bt_grow(trawl_writer *w)
{
    uint32_t ncap = w->bt_mask ? (w->bt_mask + 1) * 2 : 1u << 12;
    bid *t = calloc(ncap, sizeof(*t));
    if (t == NULL)
        return TRAWL_ENOMEM;
    for (uint32_t i = 0; w->bt_mask && i <= w->bt_mask; i++) {
        if (w->bt[i].seg == 0)
            continue;
        uint32_t j = (uint32_t)w->bt[i].hash & (ncap - 1);
        while (t[j].seg != 0)
            j = (j + 1) & (ncap - 1);
        t[j] = w->bt[i];
    }
    free(w->bt);
    w->bt = t;
    w->bt_mask = ncap - 1;
    return 0;
}

/* The slot of id in the build table, or the empty slot where it goes. */
static bid *bt_find(trawl_writer *w, uint64_t h, const char *id, size_t len)
{
    uint32_t j = (uint32_t)h & w->bt_mask;
    for (;;) {
        bid *e = &w->bt[j];
        if (e->seg == 0)
            return e;
        if (e->hash == h) {
            if (e->seg - 1 != w->nsegs)
                return e; /* hash-only beyond the in-memory run */
            const char *s = w->id_str[e->doc];
            if (strlen(s) == len && memcmp(s, id, len) == 0)
                return e;
        }
        j = (j + 1) & w->bt_mask;
    }
}

/* Bytes held by the worker's side (see the pipeline comment). */
static size_t worker_mem(const trawl_writer *w)
{
    size_t m = 0;
    m += (size_t)w->terms_cap * sizeof(wterm);
    m += ((size_t)w->table_mask + 1) * 4;
    m += w->post_mem + (size_t)w->nslabs * w->slab_bytes;
    m += (size_t)w->slabs_cap * sizeof(*w->slabs);
    m += trawl_arena_footprint(w->term_strings);
    m += w->docs.cap;
    m += w->toks_cap * sizeof(wtok);
    m += (size_t)w->dterms_cap * 4;
    m += w->bpos_cap * 4;
    m += trawl_analyzer_footprint(w->an);
    m += w->enc.out.cap + w->enc.names.cap +
         (size_t)w->enc.st_cap * sizeof(tstat) +
         (w->enc.pe != NULL ? sizeof(seg_penc) : 0);
    return m;
}

/* Bytes held by the caller's side. */
static size_t caller_mem(const trawl_writer *w)
{
    size_t m = 0;
    m += trawl_arena_footprint(w->strings);
    m += w->deleted.cap + w->rec.cap;
    m += (size_t)w->ids_cap * (sizeof(wid) + sizeof(char *));
    m += trawl__store_mem(&w->store);
    m += w->ph.rec.cap;
    m += w->seg_open ? SEGFILE_WBUF : 0;
    m += ((size_t)w->bt_mask + 1) * sizeof(bid);
    for (int i = 0; i < RING; i++)
        m += trawl_folded_footprint(&w->ring[i].fold);
    m += trawl_analyzer_footprint(w->fan);
    for (uint32_t i = 0; i < w->nsegs; i++)
        m += (w->segs[i].del ? bitmap_bytes(w->segs[i].ndocs) : 0) +
             (w->segs[i].seen ? bitmap_bytes(w->segs[i].ndocs) : 0);
    return m;
}

/* Bytes held by the writer, allocator overhead included; the worker's
 * part as it last published it. */
static size_t writer_mem(trawl_writer *w)
{
    return caller_mem(w) + atomic_load(&w->wmem);
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
    w->pair_from = UINT32_MAX;
    if (opts != NULL)
        w->opts = *opts;
    w->budget = w->opts.mem_budget ? w->opts.mem_budget : DEFAULT_BUDGET;
    if (w->budget < MIN_BUDGET)
        w->budget = MIN_BUDGET;
    w->slab_bytes = SLAB_BYTES;
    while (w->slab_bytes > SLAB_BYTES_MIN && w->slab_bytes > w->budget / 64)
        w->slab_bytes /= 2;
    w->dir = strdup(dir);
    w->strings = trawl_arena_new(64 << 10);
    w->term_strings = trawl_arena_new(64 << 10);
    if (w->dir == NULL || w->strings == NULL || w->term_strings == NULL ||
        trawl__store_init(&w->store, err) < 0) {
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
     * its fingerprints tell added from updated from unchanged. With
     * --full it is only used for those counts. */
    const char *lang = w->opts.language;
    uint64_t cur;
    trawl_err cerr;
    memset(&cerr, 0, sizeof(cerr));
    int crc = trawl_index_current(dir, &cur, &cerr);
    /* A directory named CURRENT cannot be renamed over: the commit would
     * fail only after the whole run, leaving its files behind. */
    char cpath[4096];
    snprintf(cpath, sizeof(cpath), "%s/CURRENT", dir);
    if (crc < 0 && stat(cpath, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = trawl_err_set(err, TRAWL_EINVAL,
                           "%s is a directory, not a file naming the "
                           "generation: remove it",
                           cpath);
        goto fail;
    }
    /* Only a missing CURRENT means no index: a damaged one is an index
     * that cannot be read (an add-only run must not start afresh). */
    if (crc != TRAWL_ENOTFOUND) {
        trawl_err oerr = cerr;
        rc = crc < 0 ? crc : trawl_index_open(&w->old, dir, &oerr);
        if (rc < 0 && w->opts.keep_unseen && !w->opts.full) {
            /* An add-only run cannot rebuild what it cannot read. */
            trawl_err_set(err, rc, "%s (use --full to rebuild the index)",
                          oerr.msg);
            goto fail;
        }
        if (rc == 0) {
            if (lang != NULL && strcmp(lang, w->old->language) != 0 &&
                !w->opts.full) {
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
    if ((rc = trawl_analyzer_new(&w->an, lang, err)) < 0 ||
        (rc = trawl_analyzer_new(&w->fan, lang, err)) < 0)
        goto fail;
    /* The stem memo is part of the budget: an eighth of it at most. */
    trawl_analyzer_limit(w->an, w->budget / 8);
    snprintf(w->language, sizeof(w->language), "%s",
             trawl_analyzer_language(w->an));
    if (w->old != NULL && strcmp(w->old->language, w->language) != 0) {
        /* --full into another language: the old counts mean nothing. */
        trawl_index_release(w->old);
        w->old = NULL;
    }
    for (uint32_t i = 0; w->old != NULL && i < w->old->nsegs; i++) {
        uint32_t k;
        if (seg_push(w, &k) < 0) {
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            goto fail;
        }
        wseg *g = &w->segs[k];
        const trawl_segment *s = &w->old->segs[i];
        g->seg = s;
        g->ndocs = s->ndocs;
        g->ndel = s->ndeleted;
        g->nterms = s->nterms;
        g->bytes = s->size;
        g->name = strdup(s->name);
        g->seen = calloc(bitmap_bytes(s->ndocs) + 1, 1);
        if (g->name == NULL || g->seen == NULL) {
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            goto fail;
        }
    }
    w->nold = w->nsegs;
    /* An incremental build keeps the common words of the newest old
     * segment that has them, so its runs merge with the old segments
     * without dropping their pair terms. */
    for (uint32_t i = w->nold; i-- > 0 && !w->opts.full && !w->pairs_chosen;) {
        const seg_section *ps = &w->segs[i].seg->sec[SEC_PAIRS];
        if (trawl__pairs_common(ps) > 0) {
            trawl_buf_put(&w->pairs, ps->p, ps->len);
            if (w->pairs.rc != 0) {
                rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
                goto fail;
            }
            w->pairs_chosen = 1;
        }
    }
    w->gen = max_gen + 1;
    if ((rc = table_grow(w)) < 0 || (rc = bt_grow(w)) < 0) {
        trawl_err_set(err, rc, "out of memory");
        goto fail;
    }
    publish_mem(w);
    /* Analysis runs on a second thread unless asked not to. */
    if (w->opts.threads != 1 && (rc = worker_start(w)) < 0) {
        trawl_err_set(err, rc, "cannot start the analysis thread");
        goto fail;
    }
    *out = w;
    return 0;
fail:
    trawl_writer_free(w);
    return rc;
}

/* Name the next new segment of this generation: seg-GGGGGG-SS.trs. */
static int next_seg_name(trawl_writer *w, char **name, char **tmp)
{
    char b[80];
    snprintf(b, sizeof(b), "seg-%06" PRIu64 "-%02" PRIu32 ".trs", w->gen,
             w->seq++);
    *name = strdup(b);
    strcat(b, ".tmp");
    *tmp = strdup(b);
    if (*name == NULL || *tmp == NULL) {
        free(*name);
        free(*tmp);
        *name = *tmp = NULL;
        return TRAWL_ENOMEM;
    }
    return 0;
}

/* Start the in-memory run's segment file: the store streams into it. */
static int run_begin(trawl_writer *w, trawl_err *err)
{
    int rc;
    if (next_seg_name(w, &w->seg_name, &w->seg_tmp) < 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    char *path;
    if (join_path(&path, w->dir, w->seg_tmp) != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    rc = trawl__segfile_open(&w->seg, path, err);
    free(path);
    if (rc < 0)
        return rc;
    w->seg_open = 1;
    w->seg.nosync = 1; /* synced at commit if it is not merged away */
    trawl__segfile_begin(&w->seg, SEC_STORE);
    w->base_mem = writer_mem(w);
    return 0;
}

/* ---- adding ----------------------------------------------------------- */

/* Append a token of term id at pos in field to the document's. 0 or
 * TRAWL_ENOMEM. */
static int tok_push(trawl_writer *w, uint32_t id, uint32_t pos,
                    uint32_t field)
{
    if (w->ntoks == w->toks_cap) {
        size_t ncap = w->toks_cap ? w->toks_cap * 2 : 1024;
        wtok *nt = realloc(w->toks, ncap * sizeof(*nt));
        if (nt == NULL)
            return TRAWL_ENOMEM;
        w->toks = nt;
        w->toks_cap = ncap;
    }
    wtok *t = &w->toks[w->ntoks++];
    t->term = id;
    t->pos = pos;
    t->field = field;
    return 0;
}

static int on_token(void *payload, const trawl_token *tok)
{
    trawl_writer *w = payload;
    uint32_t id;
    /* The analyzer keeps 4 bytes per surface form: id + 1 of its term in
     * this run, so repeated forms skip the term table. */
    uint32_t cached = 0;
    if (tok->user != NULL)
        memcpy(&cached, tok->user, 4);
    if (cached != 0 && cached - 1 < w->nterms) {
        id = cached - 1;
    } else {
        if (term_id(w, tok->term, tok->len, &id) != 0)
            return TRAWL_ENOMEM;
        if (tok->user != NULL) {
            cached = id + 1;
            memcpy(tok->user, &cached, 4);
        }
    }
    if (tok_push(w, id, tok->pos, w->cur_field) != 0)
        return TRAWL_ENOMEM;
    /* Linked later (link_doc), when this has arrived. */
    __builtin_prefetch(&w->terms[id]);
    return 0;
}

/* An author word (format.h, author terms): AUTHOR_MARK and its term, in
 * field w->author_field at its position among the byline's words (its
 * own numbering, not the field's), at most AUTHOR_MAX_WORDS. */
static int on_author(void *payload, const trawl_token *tok)
{
    trawl_writer *w = payload;
    if (w->ntoks - w->author_from >= AUTHOR_MAX_WORDS)
        return 0;
    char key[1 + TRAWL_MAX_TERM];
    size_t len = tok->len < TRAWL_MAX_TERM ? tok->len : TRAWL_MAX_TERM;
    key[0] = (char)AUTHOR_MARK;
    memcpy(key + 1, tok->term, len);
    uint32_t id;
    if (term_id(w, key, len + 1, &id) != 0)
        return TRAWL_ENOMEM;
    return tok_push(w, id, tok->pos, w->author_field);
}

/* The site terms of host h (format.h): it and its shortest parent
 * domains, at the first position of the author words' field. */
static int site_terms(trawl_writer *w, const char *h, size_t n)
{
    char key[1 + SITE_HOST_MAX];
    key[0] = (char)SITE_MARK;
    /* where each suffix starts: the host, then after each dot */
    size_t from[SITE_HOST_MAX + 1], k = 0;
    from[k++] = 0;
    int ip = h[0] == '[' || (h[n - 1] >= '0' && h[n - 1] <= '9');
    for (size_t i = 0; i + 1 < n && !ip; i++)
        if (h[i] == '.')
            from[k++] = i + 1;
    size_t first = k > SITE_MAX_TERMS ? k - (SITE_MAX_TERMS - 1) : 1;
    for (size_t j = 0; j < k; j = j == 0 ? first : j + 1) {
        size_t at = from[j];
        memcpy(key + 1, h + at, n - at);
        uint32_t id;
        if (term_id(w, key, n - at + 1, &id) != 0)
            return TRAWL_ENOMEM;
        if (tok_push(w, id, 0, w->author_field) != 0)
            return TRAWL_ENOMEM;
    }
    return 0;
}

/*
 * A long document's tokens by term: a linked list through a token array
 * that no cache holds costs a miss per token (a 50 MB article was
 * inverted at 19 MB/s). Counted, then placed: each term's positions in
 * order in w->bpos[head .. tail), read by invert_doc as it would read
 * the list. 0 when done, 1 when the list must do (a position or field
 * that does not pack, or no memory to spare for it), or a negative code.
 */
#define BUCKET_MIN 65536 /* tokens: 1 MiB of wtok */

static int bucket_doc(trawl_writer *w)
{
    _Static_assert(TRAWL_NFIELDS <= 2, "one bit of field in bpos");
    const wtok *toks = w->toks;
    size_t n = w->ntoks;
    uint32_t stamp = w->cur_stamp, nd = 0;
    for (size_t i = 0; i < n; i++) {
        const wtok *t = &toks[i];
        if (t->pos >= (1u << 31) || t->field > 1)
            return 1;
        wterm *d = &w->terms[t->term];
        if (d->stamp != stamp) {
            w->dterms[nd++] = t->term;
            d->stamp = stamp;
            d->head = 0;
        }
        d->head++;
    }
    if (w->bpos_cap < n) {
        free(w->bpos);
        w->bpos_cap = 0;
        if ((w->bpos = malloc(n * sizeof(*w->bpos))) == NULL) {
            /* forget the stamps: the list path starts over */
            for (uint32_t k = 0; k < nd; k++)
                w->terms[w->dterms[k]].stamp = 0;
            return 1;
        }
        w->bpos_cap = n;
    }
    uint32_t off = 0;
    for (uint32_t k = 0; k < nd; k++) {
        wterm *d = &w->terms[w->dterms[k]];
        uint32_t c = d->head;
        d->head = d->tail = off;
        off += c;
        if (d->buf != NULL)
            __builtin_prefetch(d->buf + d->blen, 1);
    }
    uint32_t *bp = w->bpos;
    for (size_t i = 0; i < n; i++) {
        const wtok *t = &toks[i];
        bp[w->terms[t->term].tail++] = t->field << 31 | t->pos;
    }
    w->ndterms = nd;
    return 0;
}

/* Link the current document's tokens into per-term lists (see wterm) and
 * list its distinct terms in order of first occurrence. Their posting
 * buffers' ends are prefetched for invert_doc. A long document's are
 * grouped by term instead (bucket_doc). */
static int link_doc(trawl_writer *w)
{
    if (w->ntoks > w->dterms_cap) {
        size_t ncap = w->dterms_cap ? w->dterms_cap : 1024;
        while (ncap < w->ntoks)
            ncap *= 2;
        if (ncap > UINT32_MAX)
            return TRAWL_ETOOBIG;
        uint32_t *nd = realloc(w->dterms, ncap * sizeof(*nd));
        if (nd == NULL)
            return TRAWL_ENOMEM;
        w->dterms = nd;
        w->dterms_cap = (uint32_t)ncap;
    }
    wtok *toks = w->toks;
    uint32_t stamp = w->cur_stamp, nd = 0;
    w->ndterms = 0;
    w->bucketed = 0;
    if (w->ntoks >= BUCKET_MIN) {
        int rc = bucket_doc(w);
        if (rc <= 0) {
            w->bucketed = rc == 0;
            return rc;
        }
    }
    for (size_t i = 0; i < w->ntoks; i++) {
        uint32_t me = (uint32_t)i + 1;
        wtok *t = &toks[i];
        wterm *d = &w->terms[t->term];
        t->next = 0;
        if (d->stamp != stamp) {
            w->dterms[nd++] = t->term;
            d->stamp = stamp;
            d->head = me;
            if (d->buf != NULL)
                __builtin_prefetch(d->buf + d->blen, 1);
        } else {
            toks[d->tail - 1].next = me;
        }
        d->tail = me;
    }
    w->ndterms = nd;
    return 0;
}

/* A posting buffer of cap bytes (a power of two, SLAB_MIN..SLAB_MAX). */
static unsigned char *slab_get(trawl_writer *w, size_t cap)
{
    unsigned k = (unsigned)__builtin_ctzll(cap / SLAB_MIN);
    void *b = w->slab_free[k];
    if (b != NULL) {
        memcpy(&w->slab_free[k], b, sizeof(void *));
        return b;
    }
    if (w->nslabs == 0 || w->slab_used + cap > w->slab_bytes) {
        if (w->nslabs == w->slabs_cap) {
            uint32_t ncap = w->slabs_cap ? w->slabs_cap * 2 : 16;
            unsigned char **ns = realloc(w->slabs, ncap * sizeof(*ns));
            if (ns == NULL)
                return NULL;
            w->slabs = ns;
            w->slabs_cap = ncap;
        }
        unsigned char *slab = malloc(w->slab_bytes);
        if (slab == NULL)
            return NULL;
        w->slabs[w->nslabs++] = slab;
        w->slab_used = 0;
    }
    unsigned char *p = w->slabs[w->nslabs - 1] + w->slab_used;
    w->slab_used += cap;
    return p;
}

/* Give back a slab buffer of cap bytes. */
static void slab_put(trawl_writer *w, unsigned char *b, size_t cap)
{
    unsigned k = (unsigned)__builtin_ctzll(cap / SLAB_MIN);
    memcpy(b, &w->slab_free[k], sizeof(void *));
    w->slab_free[k] = b;
}

/* Free every posting buffer of the run. */
static void postings_free(trawl_writer *w)
{
    for (uint32_t i = 0; i < w->nterms; i++) {
        if (w->terms[i].bcap > SLAB_MAX)
            free(w->terms[i].buf);
    }
    for (uint32_t i = 0; i < w->nslabs; i++)
        free(w->slabs[i]);
    w->nslabs = 0;
    w->slab_used = 0;
    memset(w->slab_free, 0, sizeof(w->slab_free));
}

/* The term's index in the run, or -1 if the run does not have it. */
static int64_t term_find(const trawl_writer *w, const char *s, size_t len)
{
    if (w->table == NULL)
        return -1;
    uint64_t h = trawl__hash64(s, len);
    uint32_t mask = w->table_mask;
    uint32_t j = (uint32_t)h & mask;
    for (;;) {
        uint32_t v = w->table[j];
        if (v == 0)
            return -1;
        if (slot_may(v, h, mask)) {
            const wterm *t = &w->terms[(v & mask) - 1];
            if (t->len == len && memcmp(t->s, s, len) == 0)
                return (v & mask) - 1;
        }
        j = (j + 1) & mask;
    }
}

/* Forget the terms from index n on (their buffers too). */
static void terms_truncate(trawl_writer *w, uint32_t n)
{
    for (uint32_t i = n; i < w->nterms; i++) {
        wterm *t = &w->terms[i];
        if (t->bcap > SLAB_MAX) {
            w->post_mem -= t->bcap + MALLOC_OVERHEAD;
            free(t->buf);
        } else if (t->buf != NULL) {
            slab_put(w, t->buf, t->bcap);
        }
    }
    w->nterms = n;
    memset(w->table, 0, ((size_t)w->table_mask + 1) * sizeof(*w->table));
    for (uint32_t i = 0; i < n; i++)
        slot_put(w->table, w->table_mask,
                 trawl__hash64(w->terms[i].s, w->terms[i].len), i);
}

/* The run's posting buffers, in bytes. */
static size_t postings_bytes(const trawl_writer *w)
{
    return w->post_mem + (size_t)w->nslabs * w->slab_bytes;
}

/* What building a run's pair terms may add to its postings, reserved in
 * the budget: a third of them (a pair posting has no positions and is
 * about half a word posting's bytes; 13-25% on news-like text); a run
 * that would need more gets none (see pairs_build). */
static size_t pairs_reserve(const trawl_writer *w)
{
    return w->opts.no_pairs ? 0 : postings_bytes(w) / 3;
}

/* Make room for n more bytes in t's posting buffer. */
static int term_reserve(trawl_writer *w, wterm *t, size_t n)
{
    if ((size_t)t->blen + n <= t->bcap)
        return 0;
    size_t ncap = t->bcap ? (size_t)t->bcap * 2 : SLAB_MIN;
    while (ncap < (size_t)t->blen + n)
        ncap *= 2;
    if (ncap > UINT32_MAX)
        return TRAWL_ETOOBIG;
    unsigned char *nb;
    if (t->bcap > SLAB_MAX) {
        nb = realloc(t->buf, ncap);
        if (nb == NULL)
            return TRAWL_ENOMEM;
        w->post_mem += ncap - t->bcap;
    } else {
        nb = ncap <= SLAB_MAX ? slab_get(w, ncap) : malloc(ncap);
        if (nb == NULL)
            return TRAWL_ENOMEM;
        if (ncap > SLAB_MAX)
            w->post_mem += ncap + MALLOC_OVERHEAD;
        if (t->buf != NULL) {
            memcpy(nb, t->buf, t->blen);
            slab_put(w, t->buf, t->bcap);
        }
    }
    if (ncap > w->max_blen)
        w->max_blen = (uint32_t)ncap;
    t->buf = nb;
    t->bcap = (uint32_t)ncap;
    return 0;
}

/* Append the postings of the current document (w->toks) to their terms:
 * each distinct term's tokens are already linked in position order, title
 * first, so no sort is needed. A posting is written straight into the
 * term's buffer: one pass over its tokens sizes the positions, a second
 * writes them. */
/* Start t's posting for doc: gap, tf per field, the positions' byte
 * count, in room for pos_bytes more; *n the bytes written. */
static inline int posting_head(trawl_writer *w, wterm *t, uint32_t doc,
                               const uint32_t *tf, size_t pos_bytes,
                               size_t *n)
{
    uint32_t gap = t->df == 0 ? doc + 1 : doc - t->last_doc;
    if (pos_bytes > UINT32_MAX)
        return TRAWL_ETOOBIG;
    /* Exactly the posting's size: buffers grow as they always did. */
    size_t need = trawl__varint_len(gap) +
                  trawl__varint_len((uint32_t)pos_bytes) + pos_bytes;
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        need += trawl__varint_len(tf[f]);
    int rc = term_reserve(w, t, need);
    if (rc != 0)
        return rc;
    unsigned char *p = t->buf + t->blen;
    size_t k = trawl__put_varint(p, gap);
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        k += trawl__put_varint(p + k, tf[f]);
    k += trawl__put_varint(p + k, pos_bytes);
    *n = k;
    return 0;
}

/* t's posting for doc, n bytes, is written. */
static inline void posting_done(wterm *t, uint32_t doc, size_t n)
{
    t->blen += (uint32_t)n;
    t->df++;
    t->last_doc = doc;
}

/* invert_doc for a term of a document grouped by bucket_doc. */
static int invert_bucket(trawl_writer *w, uint32_t doc, uint32_t tid)
{
    wterm *t = &w->terms[tid];
    const uint32_t *v = w->bpos + t->head, *end = w->bpos + t->tail;
    uint32_t tf[TRAWL_NFIELDS] = {0};
    size_t pos_bytes = 0;
    uint32_t prev = 0, field = UINT32_MAX;
    for (const uint32_t *x = v; x < end; x++) {
        uint32_t f = *x >> 31, pos = *x & 0x7fffffffu;
        if (f != field) {
            field = f;
            prev = 0;
        }
        tf[f]++;
        pos_bytes += trawl__varint_len(pos - prev);
        prev = pos;
    }
    size_t n;
    int rc = posting_head(w, t, doc, tf, pos_bytes, &n);
    if (rc != 0)
        return rc;
    unsigned char *p = t->buf + t->blen;
    prev = 0;
    field = UINT32_MAX;
    for (const uint32_t *x = v; x < end; x++) {
        uint32_t f = *x >> 31, pos = *x & 0x7fffffffu;
        if (f != field) {
            field = f;
            prev = 0;
        }
        n += trawl__put_varint(p + n, pos - prev);
        prev = pos;
    }
    posting_done(t, doc, n);
    return 0;
}

static int invert_doc(trawl_writer *w, uint32_t doc)
{
    const wtok *toks = w->toks;
    for (uint32_t k = 0; k < w->ndterms; k++) {
        uint32_t tid = w->dterms[k];
        if (w->bucketed) {
            int rc = invert_bucket(w, doc, tid);
            if (rc != 0)
                return rc;
            continue;
        }
        uint32_t head = w->terms[tid].head;
        uint32_t tf[TRAWL_NFIELDS] = {0};
        size_t pos_bytes = 0;
        uint32_t prev = 0;
        uint32_t field = UINT32_MAX;
        for (uint32_t j = head; j != 0; j = toks[j - 1].next) {
            const wtok *t = &toks[j - 1];
            if (t->field != field) {
                field = t->field;
                prev = 0;
            }
            tf[t->field]++;
            pos_bytes += trawl__varint_len(t->pos - prev);
            prev = t->pos;
        }
        wterm *t = &w->terms[tid];
        size_t n;
        int rc = posting_head(w, t, doc, tf, pos_bytes, &n);
        if (rc != 0)
            return rc;
        unsigned char *p = t->buf + t->blen;
        prev = 0;
        field = UINT32_MAX;
        for (uint32_t j = head; j != 0; j = toks[j - 1].next) {
            const wtok *tk = &toks[j - 1];
            if (tk->field != field) {
                field = tk->field;
                prev = 0;
            }
            n += trawl__put_varint(p + n, tk->pos - prev);
            prev = tk->pos;
        }
        posting_done(t, doc, n);
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
    return 0;
}

static int run_flush(trawl_writer *w, trawl_err *err);

/* Index the article whose stored record is in w->rec as doc w->ndocs of
 * the in-memory run. */
/* ---- the pipeline ----------------------------------------------------- */

static void publish_mem(trawl_writer *w)
{
    atomic_store(&w->wmem, worker_mem(w));
}

/* Worker side of one document: analyze, invert, append its DOCS record. */
/* Tokens held for the next document at most: one very long document
 * (hundreds of MB of token arrays) does not keep its arrays for the
 * rest of the run, where they would count against the budget. */
#define TOKS_KEEP ((size_t)1 << 20)

static void toks_free(trawl_writer *w)
{
    free(w->toks);
    free(w->dterms);
    free(w->bpos);
    w->toks = NULL;
    w->dterms = NULL;
    w->bpos = NULL;
    w->toks_cap = w->bpos_cap = 0;
    w->dterms_cap = 0;
    w->ntoks = 0;
    w->ndterms = 0;
}

static int process_job(trawl_writer *w, wjob *j)
{
    int rc;
    if (j->encode)
        return encode_chunk(w);
    w->ntoks = 0;
    w->ndterms = 0;
    if (++w->cur_stamp == 0) { /* wrapped: forget every old stamp */
        for (uint32_t i = 0; i < w->nterms; i++)
            w->terms[i].stamp = 0;
        w->cur_stamp = 1;
    }
    uint32_t len[TRAWL_NFIELDS];
    w->cur_field = TRAWL_FIELD_TITLE;
    rc = trawl_analyze_stem_batch(w->an, &j->fold, 0, j->ntitle, on_token, w);
    /* A field's length counts positions, not the compounds of
     * hyphenated words that share them: the last token's position + 1
     * (a field never ends with a compound, which comes before its first
     * part). */
    len[TRAWL_FIELD_TITLE] =
        w->ntoks > 0 ? w->toks[w->ntoks - 1].pos + 1 : 0;
    size_t ntitle = w->ntoks;
    if (rc == 0) {
        w->cur_field = TRAWL_FIELD_BODY;
        rc = trawl_analyze_stem_batch(w->an, &j->fold, j->ntitle, j->nbody,
                                      on_token, w);
    }
    len[TRAWL_FIELD_BODY] =
        w->ntoks > ntitle ? w->toks[w->ntoks - 1].pos + 1 : 0;
    /* The author's words and the site go in the body, or the title
     * when only it has words */
    w->author_field = len[TRAWL_FIELD_BODY] == 0 && len[TRAWL_FIELD_TITLE] > 0
                          ? TRAWL_FIELD_TITLE
                          : TRAWL_FIELD_BODY;
    w->author_from = w->ntoks;
    if (rc == 0 && j->nbody < j->fold.n)
        rc = trawl_analyze_stem_batch(w->an, &j->fold, j->nbody, j->fold.n,
                                      on_author, w);
    if (rc == 0 && j->site_len > 0)
        rc = site_terms(w, j->site, j->site_len);
    if (rc == 0)
        rc = link_doc(w);
    if (rc == 0)
        rc = invert_doc(w, j->doc);
    if (rc != 0)
        return rc;
    unsigned char r[DOC_RECORD];
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        trawl__put_u32(r + 4 * f, len[f]);
        w->total_len[f] += len[f];
    }
    trawl__put_u64(r + 4 * TRAWL_NFIELDS, (uint64_t)j->date);
    trawl__put_u64(r + 4 * TRAWL_NFIELDS + 8, j->fp);
    trawl__put_u32(r + 4 * TRAWL_NFIELDS + 16, j->block);
    trawl__put_u32(r + 4 * TRAWL_NFIELDS + 20, j->slot);
    trawl_buf_put(&w->docs, r, sizeof(r));
    if (w->docs.rc != 0)
        return TRAWL_ENOMEM;
    w->tokens += (uint64_t)len[TRAWL_FIELD_TITLE] + len[TRAWL_FIELD_BODY];
    w->input_bytes += j->in_bytes;
    if (w->toks_cap > TOKS_KEEP)
        toks_free(w);
    publish_mem(w);
    j->mem_after = worker_mem(w);
    /* What flushing the run would allocate on top: the term order, the
     * dictionary, the encoded postings of the longest list. */
    j->flush_after = (size_t)w->nterms * (4 + 24 + 2 * sizeof(skey)) +
                     (size_t)w->max_blen * 2 + 2 * ENC_CHUNK +
                     pairs_reserve(w);
    j->mem_valid = 1;
    return 0;
}

static void *worker_main(void *arg)
{
    trawl_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->done == w->enq && !w->stop) {
            w->wsleep = 1;
            pthread_cond_wait(&w->cv_job, &w->mu);
        }
        w->wsleep = 0;
        if (w->done == w->enq && w->stop)
            break;
        wjob *j = &w->ring[w->done % RING];
        pthread_mutex_unlock(&w->mu);
        int rc = atomic_load(&w->wrc) == 0 ? process_job(w, j) : 0;
        if (rc != 0) {
            int zero = 0;
            atomic_compare_exchange_strong(&w->wrc, &zero, rc);
        }
        pthread_mutex_lock(&w->mu);
        w->done++;
        /* A waiting caller resumes when the ring is half empty (or
         * empty, for drain), not after every job. */
        if (w->csleep && w->enq - w->done <= RING / 2) {
            w->csleep = 0;
            pthread_cond_broadcast(&w->cv_done);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Wake the worker if it sleeps with jobs queued (under mu). */
static void wake_worker(trawl_writer *w)
{
    if (w->wsleep && w->done != w->enq) {
        w->wsleep = 0;
        pthread_cond_signal(&w->cv_job);
    }
}

/* Wait until the worker has finished every queued job. */
static int drain(trawl_writer *w, trawl_err *err)
{
    if (w->threaded) {
        pthread_mutex_lock(&w->mu);
        wake_worker(w);
        while (w->done != w->enq) {
            w->csleep = 1;
            pthread_cond_wait(&w->cv_done, &w->mu);
        }
        pthread_mutex_unlock(&w->mu);
    }
    int rc = atomic_load(&w->wrc);
    if (rc != 0)
        return trawl_err_set(err, rc, "indexing: %s", trawl_strerror(rc));
    return 0;
}

/* A free ring slot for the next job (waiting for the worker if full,
 * until the ring is half empty): the slot of the job RING places back,
 * which has finished. */
static wjob *job_slot(trawl_writer *w)
{
    if (w->threaded) {
        pthread_mutex_lock(&w->mu);
        if (w->enq - w->done >= RING) {
            wake_worker(w);
            while (w->enq - w->done > RING / 2) {
                w->csleep = 1;
                pthread_cond_wait(&w->cv_done, &w->mu);
            }
        }
        pthread_mutex_unlock(&w->mu);
    }
    return &w->ring[w->jobs % RING];
}

/* Queue job j. A sleeping worker is woken once a few jobs wait (fewer
 * wake-ups), or at once if urgent. */
static void job_submit(trawl_writer *w, wjob *j, int urgent)
{
    if (!w->threaded) {
        int rc = atomic_load(&w->wrc) == 0 ? process_job(w, j) : 0;
        if (rc != 0)
            atomic_store(&w->wrc, rc);
        return;
    }
    uint64_t bytes = j->encode ? 0 : j->in_bytes; /* j is the worker's
                                                      once queued */
    pthread_mutex_lock(&w->mu);
    w->enq++;
    w->unwoken += bytes;
    if (urgent || w->enq - w->done >= RING / 4 || w->unwoken >= WAKE_BYTES) {
        w->unwoken = 0;
        wake_worker(w);
    }
    pthread_mutex_unlock(&w->mu);
}

static int worker_start(trawl_writer *w)
{
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        return TRAWL_ENOMEM;
    if (pthread_cond_init(&w->cv_job, NULL) != 0 ||
        pthread_cond_init(&w->cv_done, NULL) != 0 ||
        pthread_create(&w->worker, NULL, worker_main, w) != 0) {
        return TRAWL_ENOMEM;
    }
    w->threaded = 1;
    return 0;
}

static void worker_stop(trawl_writer *w)
{
    if (!w->threaded)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv_job);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->worker, NULL);
    pthread_cond_destroy(&w->cv_job);
    pthread_cond_destroy(&w->cv_done);
    pthread_mutex_destroy(&w->mu);
    w->threaded = 0;
}

/* Caller side: index the article whose stored record is in w->rec as doc
 * w->ndocs of the in-memory run. */
static int index_article(trawl_writer *w, const trawl_article *a,
                         uint64_t h, uint64_t fp, trawl_err *err)
{
    int rc;
    if (!w->seg_open && (rc = run_begin(w, err)) < 0)
        return rc;
    if (w->ndocs == w->ids_cap && ids_grow(w) < 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    uint32_t doc = w->ndocs;
    w->ids[doc].hash = h;
    w->ids[doc].doc = doc;
    w->id_str[doc] = trawl_arena_strndup(w->strings, a->id, a->id_len);
    if (w->id_str[doc] == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");

    uint32_t block, slot;
    if ((rc = trawl__store_add_record(&w->store, w->rec.ptr, w->rec.len,
                                      &block, &slot, err)) < 0)
        return rc;

    wjob *j = job_slot(w);
    /* The worker's bytes RING documents ago (see wjob). */
    int have_mem = j->mem_valid;
    size_t wmem = j->mem_after, wflush = j->flush_after;
    /* Tokenizing and folding happen here, on the caller's thread; the
     * worker stems and inverts. */
    trawl_folded_clear(&j->fold);
    rc = trawl_analyze_fold(w->fan, a->title != NULL ? a->title : "",
                            a->title_len, &j->fold);
    j->ntitle = j->fold.n;
    if (rc == 0)
        rc = trawl_analyze_fold(w->fan, a->body != NULL ? a->body : "",
                                a->body_len, &j->fold);
    j->nbody = j->fold.n;
    /* The author's words, for author: queries (not scored, not tokens;
     * an author that is not UTF-8 is only stored) */
    if (rc == 0 && a->author != NULL && a->author_len > 0 &&
        trawl_utf8_valid(a->author, a->author_len))
        rc = trawl_analyze_fold(w->fan, a->author, a->author_len, &j->fold);
    j->site_len = a->url != NULL && a->url_len > 0
                      ? trawl__site_host(a->url, a->url_len, j->site)
                      : 0;
    if (rc < 0)
        return trawl_err_set(err, rc, "indexing %.*s: %s",
                             (int)(a->id_len > 200 ? 200 : a->id_len), a->id,
                             trawl_strerror(rc));
    j->in_bytes = (uint64_t)a->title_len + a->body_len;
    j->encode = 0;
    j->doc = doc;
    j->date = a->date;
    j->fp = fp;
    j->block = block;
    j->slot = slot;
    j->mem_valid = 0;
    w->jobs++;
    job_submit(w, j, 0);
    w->ndocs++;
    if ((rc = atomic_load(&w->wrc)) != 0)
        return trawl_err_set(err, rc, "indexing %.*s: %s",
                             (int)(a->id_len > 200 ? 200 : a->id_len), a->id,
                             trawl_strerror(rc));

    if (w->store.block.len >= STORE_BLOCK &&
        (rc = trawl__store_flush(&w->store, &w->seg, err)) < 0)
        return rc;
    /* Flush at the budget, but never runs that grew by less than a
     * quarter of it (when what a flush cannot free, such as the id table,
     * grows past the budget, the budget loses). */
    if (!have_mem)
        return 0;
    size_t mem = caller_mem(w) + wmem;
    if (mem + wflush + (size_t)w->ndocs * sizeof(wid) >= w->budget &&
        mem >= w->base_mem && mem - w->base_mem >= w->budget / 4 &&
        (rc = run_flush(w, err)) < 0)
        return rc;
    return 0;
}

int trawl_writer_can_keep(const trawl_writer *w)
{
    return w->old != NULL && !w->opts.full;
}

int trawl_writer_base_info(const trawl_writer *w, trawl_index_info *out)
{
    if (w->old == NULL)
        return 0;
    trawl_index_info_get(w->old, out);
    return 1;
}

/* Keep the previous generation's live article id (only if its
 * fingerprint is fingerprint, unless any) for this run: see
 * trawl_writer_keep and trawl_writer_keep_old. */
static int keep_id(trawl_writer *w, const char *id, size_t id_len,
                   uint64_t fingerprint, int any, trawl_err *err)
{
    if (w->rc != 0)
        return trawl_err_set(err, w->rc, "writer is in a failed state");
    if (w->old == NULL || w->opts.full || (fingerprint == 0 && !any) ||
        id_len == 0)
        return 0;
    uint64_t h = trawl__hash64(id, id_len);
    if ((size_t)w->bt_n * 2 >= (size_t)w->bt_mask + 1 && bt_grow(w) < 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    bid *e = bt_find(w, h, id, id_len);
    if (e->seg != 0) {
        /* Seen in this run: let add decide; but the previous version
         * already kept (by a bad copy before this one) that this copy
         * equals stays as it is, and the run changes nothing for it. */
        uint32_t ps = e->seg - 1;
        return !any && ps < w->nold &&
               trawl__seg_fingerprint(w->segs[ps].seg, e->doc) ==
                   fingerprint;
    }
    uint32_t os, od;
    if (trawl__index_find_id(w->old, id, id_len, &os, &od, NULL) != 1)
        return 0;
    wseg *g = &w->segs[os];
    if (!any && trawl__seg_fingerprint(g->seg, od) != fingerprint)
        return 0;
    g->seen[od >> 3] |= (unsigned char)(1u << (od & 7));
    w->unchanged++;
    e->hash = h;
    e->seg = os + 1;
    e->doc = od;
    w->bt_n++;
    return 1;
}

int trawl_writer_keep(trawl_writer *w, const char *id, size_t id_len,
                      uint64_t fingerprint, trawl_err *err)
{
    return keep_id(w, id, id_len, fingerprint, 0, err);
}

int trawl_writer_keep_old(trawl_writer *w, const char *id, size_t id_len,
                          trawl_err *err)
{
    return keep_id(w, id, id_len, 0, 1, err);
}

int trawl_writer_add(trawl_writer *w, const trawl_article *a, trawl_err *err)
{
    int rc;
    if (w->rc != 0)
        return trawl_err_set(err, w->rc, "writer is in a failed state");
    /* The run's segment file reports its write errors into this call's
     * err, not into that of the call that opened it (gone by now). */
    w->seg.err = err;
    if (a->id == NULL || a->id_len == 0)
        return trawl_err_set(err, TRAWL_EINVAL, "article has an empty id");
    if (w->ndocs == UINT32_MAX - 1)
        return trawl_err_set(err, TRAWL_ETOOBIG, "too many documents");
    const char *title = a->title != NULL ? a->title : "";
    const char *body = a->body != NULL ? a->body : "";
    if (!trawl_utf8_valid(a->id, a->id_len) ||
        !trawl_utf8_valid(title, a->title_len) ||
        !trawl_utf8_valid(body, a->body_len))
        return trawl_err_set(err, TRAWL_EINVAL,
                             "article %.*s is not valid UTF-8",
                             (int)(a->id_len > 200 ? 200 : a->id_len), a->id);

    /* The stored record first: its fingerprint decides whether the
     * article needs indexing at all. */
    trawl_buf_clear(&w->rec);
    trawl__store_put_field(&w->rec, a->id, a->id_len);
    trawl__store_put_field(&w->rec, title, a->title_len);
    trawl__store_put_field(&w->rec, body, a->body_len);
    trawl__store_put_field(&w->rec, a->author, a->author_len);
    trawl__store_put_field(&w->rec, a->url, a->url_len);
    trawl__store_put_field(&w->rec, a->extra, a->extra_len);
    if (w->rec.rc != 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    unsigned char datebuf[8];
    trawl__put_u64(datebuf, (uint64_t)a->date);
    uint64_t fp = a->fingerprint != 0
                      ? a->fingerprint
                      : trawl__hash64(w->rec.ptr, w->rec.len) ^
                            trawl__hash64(datebuf, 8);
    uint64_t h = trawl__hash64(a->id, a->id_len);

    if ((size_t)w->bt_n * 2 >= (size_t)w->bt_mask + 1 && bt_grow(w) < 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    bid *e = bt_find(w, h, a->id, a->id_len);
    int full = w->opts.full;
    if (e->seg != 0) {
        /* Seen before in this run: the later version wins. A kept old doc
         * turns from unchanged into updated. */
        uint32_t ps = e->seg - 1;
        /* A later copy the same as the old generation's version, after
         * an earlier copy in this build replaced it: the old document
         * stands again and the earlier copy goes, so rerunning a corpus
         * that holds an id twice finds it unchanged. */
        uint32_t os, od;
        if (ps >= w->nold && !full && w->old != NULL &&
            trawl__index_find_id(w->old, a->id, a->id_len, &os, &od, NULL) ==
                1 &&
            !bit_get(w->segs[os].seg->deleted, od) &&
            trawl__seg_fingerprint(w->segs[os].seg, od) == fp) {
            if ((rc = delete_doc(w, ps, e->doc)) < 0)
                return trawl_err_set(err, rc, "out of memory");
            wseg_undelete(&w->segs[os], od);
            w->updated--;
            w->unchanged++;
            e->seg = os + 1;
            e->doc = od;
            return 0;
        }
        if (ps < w->nold && !full) {
            w->unchanged--;
            w->updated++;
        }
        if ((rc = delete_doc(w, ps, e->doc)) < 0)
            return trawl_err_set(err, rc, "out of memory");
    } else {
        uint32_t os, od;
        int found = w->old != NULL &&
                    trawl__index_find_id(w->old, a->id, a->id_len, &os, &od,
                                         NULL) == 1;
        if (found) {
            wseg *g = &w->segs[os];
            g->seen[od >> 3] |= (unsigned char)(1u << (od & 7));
            if (trawl__seg_fingerprint(g->seg, od) == fp) {
                w->unchanged++;
                if (!full) {
                    e->hash = h;
                    e->seg = os + 1;
                    e->doc = od;
                    w->bt_n++;
                    return 0;
                }
            } else {
                w->updated++;
                if (!full && (rc = wseg_delete(g, od)) < 0)
                    return trawl_err_set(err, rc, "out of memory");
            }
        } else {
            w->added++;
        }
        w->bt_n++;
    }
    e->hash = h;
    e->seg = w->nsegs + 1;
    e->doc = w->ndocs;
    if ((rc = index_article(w, a, h, fp, err)) < 0)
        w->rc = rc;
    return rc;
}

/* ---- the run's segment ------------------------------------------------ */

static const wterm *sort_base;

static int cmp_term(const void *a, const void *b)
{
    const wterm *x = &sort_base[*(const uint32_t *)a];
    const wterm *y = &sort_base[*(const uint32_t *)b];
    return trawl__cmp_bytes(x->s, x->len, y->s, y->len);
}

static int cmp_id(const void *a, const void *b)
{
    const wid *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* One posting of a term's in-memory buffer. */
typedef struct post {
    uint32_t doc;
    uint32_t tf[TRAWL_NFIELDS];
    uint32_t pos_len;
    const unsigned char *pos;
} post;

/* A varint of the writer's own buffers (at most 5 bytes, trusted). */
static inline uint32_t get_vu32(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    uint32_t v = *p++;
    if (v >= 0x80) {
        v &= 0x7f;
        unsigned shift = 7;
        uint32_t c;
        do {
            c = *p++;
            v |= (c & 0x7f) << shift;
            shift += 7;
        } while (c >= 0x80);
    }
    *pp = p;
    return v;
}

static inline void next_post(const unsigned char **pp, int first, post *ps)
{
    uint32_t v = get_vu32(pp);
    ps->doc = first ? v - 1 : ps->doc + v;
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        ps->tf[f] = get_vu32(pp);
    ps->pos_len = get_vu32(pp);
    ps->pos = *pp;
    *pp += ps->pos_len;
}

/* A pair term's posting in the writer's buffer (see pairs_build): doc
 * gap, then body tf << 1 | (title tf != 0), then the title tf unless it
 * is 0; no positions. Pair postings are half as many bytes so. */
static inline void next_pair_post(const unsigned char **pp, int first,
                                  post *ps)
{
    uint32_t v = get_vu32(pp);
    ps->doc = first ? v - 1 : ps->doc + v;
    uint32_t x = get_vu32(pp);
    ps->tf[TRAWL_FIELD_BODY] = x >> 1;
    ps->tf[TRAWL_FIELD_TITLE] = x & 1 ? get_vu32(pp) : 0;
    ps->pos_len = 0;
    ps->pos = *pp;
}

/* Sort the terms' indexes into byte order: a radix sort on the first 8
 * bytes, then a comparison sort within runs of equal prefixes. */
static int sort_terms(const wterm *terms, uint32_t n, uint32_t *order)
{
    skey *a = malloc((size_t)(n ? n : 1) * sizeof(*a));
    skey *b = malloc((size_t)(n ? n : 1) * sizeof(*b));
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return TRAWL_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)terms[i].s;
        uint32_t m = terms[i].len < 8 ? terms[i].len : 8;
        uint64_t key = 0;
        for (uint32_t j = 0; j < m; j++)
            key |= (uint64_t)p[j] << (56 - 8 * j);
        a[i].key = key;
        a[i].idx = i;
    }
    for (int shift = 0; shift < 64 && n > 0; shift += 8) {
        size_t cnt[256] = {0};
        for (uint32_t i = 0; i < n; i++)
            cnt[(a[i].key >> shift) & 255]++;
        if (cnt[(a[0].key >> shift) & 255] == n)
            continue; /* one byte value: nothing to move */
        size_t sum = 0;
        for (int c = 0; c < 256; c++) {
            size_t t = cnt[c];
            cnt[c] = sum;
            sum += t;
        }
        for (uint32_t i = 0; i < n; i++)
            b[cnt[(a[i].key >> shift) & 255]++] = a[i];
        skey *t = a;
        a = b;
        b = t;
    }
    for (uint32_t i = 0; i < n; i++)
        order[i] = a[i].idx;
    /* A prefix shorter than 8 bytes is padded with zeros, so key order
     * never contradicts byte order; equal keys need a full comparison. */
    sort_base = terms;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i + 1;
        while (j < n && a[j].key == a[i].key)
            j++;
        if (j - i > 1)
            qsort(order + i, j - i, sizeof(*order), cmp_term);
        i = j;
    }
    free(a);
    free(b);
    return 0;
}

/* Encode the postings of term t into pe. */
static void encode_term(const trawl_writer *w, const wterm *t, seg_penc *pe)
{
    const unsigned char *p = t->buf;
    const unsigned char *dl = w->docs.ptr;
    post ps;
    memset(&ps, 0, sizeof(ps));
    trawl__penc_reset(pe);
    int pair = (uint32_t)(t - w->terms) >= w->pair_from;
    for (uint32_t i = 0; i < t->df; i++) {
        if (pair)
            next_pair_post(&p, i == 0, &ps);
        else
            next_post(&p, i == 0, &ps);
        uint32_t len[TRAWL_NFIELDS];
        for (int fi = 0; fi < TRAWL_NFIELDS; fi++)
            len[fi] = trawl__get_u32(dl + (size_t)ps.doc * DOC_RECORD +
                                     4 * fi);
        trawl__penc_add(pe, ps.doc, ps.tf, len, ps.pos_len);
    }
    trawl__penc_finish(pe);
}

/* The end of the chunk of terms that starts at order[k], at most lim, of
 * about `target` in cost: bytes of in-memory postings to copy positions
 * from, or (per_post) 8 per posting to encode (encoding goes by the
 * posting, whatever its positions: a pair term's few bytes per posting
 * cost as much as a word's). */
static uint32_t chunk_end(const trawl_writer *w, const uint32_t *order,
                          uint32_t k, uint32_t lim, size_t target,
                          int per_post)
{
    size_t cost = 0;
    while (k < lim && cost < target) {
        const wterm *t = &w->terms[order[k++]];
        cost += (per_post ? (size_t)t->df * 8 : t->blen) + 32;
    }
    return k;
}

/* 1 if the worker has finished its chunk (always without a thread). */
static int enc_done(trawl_writer *w)
{
    if (!w->threaded)
        return 1;
    pthread_mutex_lock(&w->mu);
    int d = w->done == w->enq;
    pthread_mutex_unlock(&w->mu);
    return d;
}

/* This thread's next chunk target: smaller if the worker finished its
 * chunk first (was waiting), larger if not, within [lo, hi]. */
static size_t chunk_tune(trawl_writer *w, size_t t, size_t lo, size_t hi)
{
    t = enc_done(w) ? t - t / 5 : t + t / 4;
    return t < lo ? lo : t > hi ? hi : t;
}

/* The terms are visited in byte order, at random in memory: fetch the
 * entry of the term 8 places ahead in order[0..n) and the postings of the
 * one 4 ahead, and its bytes if they go in the dictionary (dict). */
static inline void prefetch_term(const trawl_writer *w, const uint32_t *order,
                                 uint32_t k, uint32_t n, int dict)
{
    if (k + 8 < n)
        __builtin_prefetch(&w->terms[order[k + 8]]);
    if (k + 4 < n) {
        const wterm *t = &w->terms[order[k + 4]];
        __builtin_prefetch(t->buf);
        if (dict)
            __builtin_prefetch(t->s);
    }
}

/* Hand the worker the chunk [from, to) of order (see write_segment). */
static void enc_submit(trawl_writer *w, int kind, const uint32_t *order,
                       uint32_t from, uint32_t to)
{
    w->enc.kind = kind;
    w->enc.order = order;
    w->enc.from = from;
    w->enc.to = to;
    wjob *j = job_slot(w);
    j->encode = 1;
    j->mem_valid = 0;
    w->jobs++;
    job_submit(w, j, 1);
}

/* Step over a varint of the writer's own buffers. */
static inline const unsigned char *skip_varint(const unsigned char *p)
{
    while (*p++ >= 0x80)
        ;
    return p;
}

/* Append the positions of term t (as buffered) to out. Most postings have
 * a few bytes of them: those are copied 16 bytes at a time, as long as
 * that stays inside t's buffer, and the next one writes over the excess
 * (out has 16 bytes of room past them). */
static void gather_positions(const trawl_writer *w, const wterm *t,
                             trawl_buf *out)
{
    if ((uint32_t)(t - w->terms) >= w->pair_from)
        return; /* a pair term: none */
    /* They are fewer bytes than the whole buffer, offset tables
     * included (format 9: at most 4 bytes per posting, while each
     * posting's doc gap, tfs and length take at least 4 bytes of it). */
    if (trawl_buf_reserve(out, (size_t)t->blen + 16) != 0)
        return;
    unsigned char *o = out->ptr + out->len;
    const unsigned char *p = t->buf, *end = t->buf + t->bcap;
    int tab = trawl__segfile_format >= POS_TAB_FROM &&
              !(t->df <= COMPACT_MAX &&
                trawl__segfile_format >= COMPACT_FROM);
    if (!tab) {
        for (uint32_t i = 0; i < t->df; i++) {
            p = skip_varint(p); /* doc gap */
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                p = skip_varint(p); /* tf */
            uint32_t n = get_vu32(&p);
            if (n <= 16 && end - p >= 16)
                memcpy(o, p, 16);
            else
                memcpy(o, p, n);
            o += n;
            p += n;
        }
    } else {
        /* Per block of BLOCK_SIZE postings, as the encoder splits them:
         * the positions, then, when the block takes a table
         * (format.h, POSITIONS), moved up to make room for it. */
        uint32_t len[BLOCK_SIZE];
        for (uint32_t i = 0; i < t->df;) {
            uint32_t nb = t->df - i < BLOCK_SIZE ? t->df - i : BLOCK_SIZE;
            unsigned char *bo = o;
            for (uint32_t k = 0; k < nb; k++) {
                p = skip_varint(p);
                for (int f = 0; f < TRAWL_NFIELDS; f++)
                    p = skip_varint(p);
                uint32_t n = get_vu32(&p);
                if (n <= 16 && end - p >= 16)
                    memcpy(o, p, 16);
                else
                    memcpy(o, p, n);
                len[k] = n;
                o += n;
                p += n;
            }
            i += nb;
            uint64_t tb = trawl__postab_bytes(nb, (uint64_t)(o - bo));
            if (tb > 0) {
                memmove(bo + tb, bo, (size_t)(o - bo));
                trawl__postab_put(bo, len, nb);
                o += tb;
            }
        }
    }
    out->len = (size_t)(o - out->ptr);
    out->ptr[out->len] = '\0';
}

/* The dictionary data of the term just encoded with pe. */
static void stat_of(const seg_penc *pe, tstat *st)
{
    st->df = pe->df;
    st->skip_len = pe->skip.len;
    st->len = pe->skip.len + pe->blocks.len;
    st->pos_bytes = pe->pos_bytes;
    memcpy(st->max_tf, pe->max_tf, sizeof(st->max_tf));
    memcpy(st->min_len, pe->min_len, sizeof(st->min_len));
}

/* Encode the postings of t with pe, append them to out and their
 * dictionary data to *st. */
static int encode_to(const trawl_writer *w, const wterm *t, seg_penc *pe,
                     trawl_buf *out, tstat *st)
{
    encode_term(w, t, pe);
    if (trawl__penc_rc(pe) != 0)
        return TRAWL_ENOMEM;
    stat_of(pe, st);
    trawl_buf_put(out, pe->skip.ptr, pe->skip.len);
    trawl_buf_put(out, pe->blocks.ptr, pe->blocks.len);
    return out->rc != 0 ? TRAWL_ENOMEM : 0;
}

/* The dictionary data of an encoded term, as trawl__dict_add reads it. */
static void stub_of(seg_penc *stub, const tstat *st)
{
    stub->df = st->df;
    stub->skip.len = st->skip_len;
    stub->blocks.len = st->len - st->skip_len;
    memcpy(stub->max_tf, st->max_tf, sizeof(stub->max_tf));
    memcpy(stub->min_len, st->min_len, sizeof(stub->min_len));
}

/*
 * The dictionary is built in term order, which is random in memory: the
 * terms encoded ahead of it (by the worker, or by this thread while the
 * worker builds the pair terms) have their bytes copied, one after the
 * other (u8 length, bytes), by the thread that encoded them, and had them
 * in cache, so that the dictionary reads them in order.
 */
static void names_put(trawl_buf *b, const wterm *t)
{
    unsigned char n = (unsigned char)t->len; /* <= TRAWL_MAX_TERM */
    trawl_buf_put(b, &n, 1);
    trawl_buf_put(b, t->s, t->len);
}

/* The next name of a names_put buffer at *p. */
static inline const char *names_next(const unsigned char **p, uint32_t *len)
{
    *len = **p;
    const char *s = (const char *)*p + 1;
    *p += 1 + *len;
    return s;
}

static int pairs_build(trawl_writer *w, int *seg_pairs);

/* Worker side: encode the chunk w->enc describes (see write_segment). */
static int encode_chunk(trawl_writer *w)
{
    wenc *e = &w->enc;
    uint32_t n = e->to - e->from;
    if (e->kind == ENC_PAIRS) {
        int rc = pairs_build(w, &e->seg_pairs);
        atomic_store(&e->busy, 0);
        return rc;
    }
    trawl_buf_clear(&e->out);
    if (e->kind == ENC_POSITIONS) {
        for (uint32_t k = 0; k < n; k++) {
            prefetch_term(w, e->order, e->from + k, w->nterms, 0);
            gather_positions(w, &w->terms[e->order[e->from + k]], &e->out);
        }
        return e->out.rc != 0 ? TRAWL_ENOMEM : 0;
    }
    if (e->pe == NULL && (e->pe = calloc(1, sizeof(*e->pe))) == NULL)
        return TRAWL_ENOMEM;
    if (n > e->st_cap) {
        tstat *st = realloc(e->st, (size_t)n * sizeof(*st));
        if (st == NULL)
            return TRAWL_ENOMEM;
        e->st = st;
        e->st_cap = n;
    }
    trawl_buf_clear(&e->names);
    for (uint32_t k = 0; k < n; k++) {
        prefetch_term(w, e->order, e->from + k, w->nterms, 1);
        const wterm *t = &w->terms[e->order[e->from + k]];
        int rc = encode_to(w, t, e->pe, &e->out, &e->st[k]);
        if (rc != 0)
            return rc;
        names_put(&e->names, t);
    }
    return e->names.rc != 0 ? TRAWL_ENOMEM : 0;
}

/* ---- pair terms of common words (format.h, section PAIRS) ----------- */

/* Choose the build's common and frequent words from this run
 * (trawl__pairs_choose): the terms go in first-seen order, so ties go to
 * the first seen. */
static int pairs_choose(trawl_writer *w)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->nterms; i++)
        n += w->terms[i].df >= 2 &&
             (uint64_t)w->terms[i].df * PAIR_FREQ_DIV >= w->ndocs;
    pair_cand *c = malloc((size_t)(n ? n : 1) * sizeof(*c));
    if (c == NULL)
        return TRAWL_ENOMEM;
    n = 0;
    for (uint32_t i = 0; i < w->nterms; i++) {
        const wterm *t = &w->terms[i];
        if (t->df >= 2 && (uint64_t)t->df * PAIR_FREQ_DIV >= w->ndocs) {
            c[n].s = t->s;
            c[n].len = t->len;
            c[n].df = t->df;
            n++;
        }
    }
    int rc = trawl__pairs_choose(c, n, w->ndocs, &w->pairs);
    free(c);
    if (rc != 0)
        return rc;
    w->pairs_chosen = 1; /* none common (empty): no pairs in this build */
    return 0;
}

/* A listed word's postings, read along the documents. */
typedef struct pcur {
    const unsigned char *p;
    uint32_t left; /* postings not yet read */
    post ps;       /* the current one (ps.doc = UINT32_MAX at the end) */
} pcur;

static void pcur_next(pcur *c, int first)
{
    if (c->left == 0) {
        c->ps.doc = UINT32_MAX;
        return;
    }
    next_post(&c->p, first, &c->ps);
    c->left--;
}

/* One thread's scan of the listed words along a range of documents:
 * cursor i reads word i (pairs.h, pair_count; bucket slots are the
 * documents from base). */
typedef struct pscan {
    pcur *cu;
    uint32_t base; /* the scan's first document */
    pair_count pc;
} pscan;

static void pscan_free(pscan *sc)
{
    free(sc->cu);
    trawl__pair_count_free(&sc->pc);
    memset(sc, 0, sizeof(*sc));
}

/* Set up a scan of documents [d0, d1) for the k listed words ids (kc
 * common first): each cursor waits in the bucket of its first document
 * there. */
static int pscan_init(pscan *sc, const trawl_writer *w, const uint32_t *ids,
                      uint32_t kc, uint32_t k, uint32_t d0, uint32_t d1)
{
    memset(sc, 0, sizeof(*sc));
    sc->base = d0;
    sc->cu = calloc(k, sizeof(*sc->cu));
    if (sc->cu == NULL ||
        trawl__pair_count_init(&sc->pc, kc, k, (size_t)(d1 - d0)) != 0) {
        pscan_free(sc);
        return TRAWL_ENOMEM;
    }
    for (uint32_t i = 0; i < k; i++) {
        pcur *c = &sc->cu[i];
        sc->pc.cword[i] = i;
        c->p = w->terms[ids[i]].buf;
        c->left = w->terms[ids[i]].df;
        pcur_next(c, 1);
        while (c->ps.doc < d0)
            pcur_next(c, 0);
        if (c->ps.doc < d1)
            trawl__pair_count_wait(&sc->pc, i, c->ps.doc - d0);
    }
    return 0;
}

/*
 * Count the pairs of document d (trawl__pair_count_field, field by
 * field). Sets *nh (the doc's cursors, in sc->pc.here) and *npl (its
 * pairs, in sc->pc.plist, counts in sc->pc.ps). Returns 0, 1 if two
 * listed words stand at one position (or a position is not as counted),
 * or TRAWL_ENOMEM.
 */
static int pscan_doc(const trawl_writer *w, pscan *sc, uint32_t d,
                     uint32_t *nh_out, uint32_t *npl_out)
{
    pair_count *pc = &sc->pc;
    uint32_t nh = trawl__pair_count_here(pc, d - sc->base);
    *nh_out = nh;
    *npl_out = 0;
    if (nh == 0)
        return 0;
    const uint32_t *here = pc->here;
    for (uint32_t f = 0; f < TRAWL_NFIELDS; f++) {
        size_t flen =
            trawl__get_u32(w->docs.ptr + (size_t)d * DOC_RECORD + 4 * f);
        size_t need = 0;
        for (uint32_t h = 0; h < nh; h++)
            need += sc->cu[here[h]].ps.tf[f];
        if (trawl__pair_count_room(pc, flen, need) != 0)
            return TRAWL_ENOMEM;
        /* Decode each word's positions in f once, marking them; count the
         * pairs; unmark. */
        uint32_t *pos = pc->pos, *at = pos, *span = pc->span;
        uint16_t *mark = pc->mark;
        int clash = 0;
        for (uint32_t h = 0; h < nh; h++) {
            const post *ps = &sc->cu[here[h]].ps;
            const unsigned char *p = ps->pos;
            uint16_t m = (uint16_t)(pc->cword[here[h]] + 1);
            span[h] = (uint32_t)(at - pos);
            for (uint32_t g = 0; g < f; g++)
                for (uint32_t t = 0; t < ps->tf[g]; t++)
                    (void)get_vu32(&p);
            uint32_t x = 0;
            for (uint32_t t = 0; t < ps->tf[f]; t++) {
                x += get_vu32(&p);
                *at++ = x;
                clash |= trawl__pair_mark(mark, flen, x, m);
            }
        }
        span[nh] = (uint32_t)(at - pos);
        if (trawl__pair_count_field(pc, flen, d, f, clash, NULL, 0, 0))
            return 1;
    }
    *npl_out = pc->npl;
    return 0;
}

/* Move the nh cursors of the doc just counted to their next documents
 * before d1. */
static void pscan_next(pscan *sc, uint32_t nh, uint32_t d1)
{
    for (uint32_t h = 0; h < nh; h++) {
        uint32_t i = sc->pc.here[h];
        pcur *x = &sc->cu[i];
        pcur_next(x, 0);
        if (x->ps.doc < d1)
            trawl__pair_count_wait(&sc->pc, i, x->ps.doc - sc->base);
    }
}

/* Append to the pair term of pair pr (of the listed words ids, kc common
 * of k; made at its first posting, its id + 1 kept in pid[pr]) its
 * posting in doc d with counts tf, as invert_doc writes one, without
 * positions (format.h); next_pair_post reads it. */
static int pair_post(trawl_writer *w, const uint32_t *ids, uint32_t kc,
                     uint32_t k, uint32_t *pid, uint32_t pr, uint32_t d,
                     const uint32_t *tf)
{
    int rc;
    if (pid[pr] == 0) {
        uint32_t i, j;
        trawl__pair_words(pr, kc, k, &i, &j);
        char key[PAIR_KEY_MAX];
        const wterm *a = &w->terms[ids[i]];
        const wterm *b = &w->terms[ids[j]];
        size_t kl = trawl__pair_key(key, a->s, a->len, b->s, b->len);
        uint32_t id;
        if (kl == 0 || term_id(w, key, kl, &id) != 0)
            return TRAWL_ENOMEM;
        pid[pr] = id + 1;
    }
    wterm *t = &w->terms[pid[pr] - 1];
    uint32_t gap = t->df == 0 ? d + 1 : d - t->last_doc;
    uint32_t ctf[TRAWL_NFIELDS]; /* kept in registers across term_reserve */
    memcpy(ctf, tf, sizeof(ctf));
    if ((rc = term_reserve(w, t, trawl__pair_post_len(gap, ctf))) != 0)
        return rc;
    t->blen += (uint32_t)trawl__pair_post_put(t->buf + t->blen, gap, ctf);
    t->df++;
    t->last_doc = d;
    return 0;
}

/*
 * The caller's part of pairs_build, when there is a worker and this
 * thread would wait for it: once the worker has published the listed
 * words (w->ph.ready), take the last documents, with a little less than
 * half the tokens the worker has left, and count their pairs into
 * w->ph.rec (per document with pairs: varints doc gap from the previous
 * one (from the first taken), number of pairs, then pair index and the
 * two field counts per pair, in first-seen order), up to w->ph.cap
 * bytes: w->ph.stop is the document before which it got; w->ph.clash and
 * w->ph.rc tell what stopped it else. Then w->ph.done.
 */
static void pairs_help(trawl_writer *w)
{
    pshare *ph = &w->ph;
    pthread_mutex_lock(&w->mu);
    while (!ph->ready && w->done != w->enq) {
        w->csleep = 1;
        pthread_cond_wait(&w->cv_done, &w->mu);
    }
    int go = ph->ready && !ph->wdone;
    uint32_t at = ph->wpos;
    pthread_mutex_unlock(&w->mu);
    if (!go)
        return;
    /* From the end, the documents with 9/20 of the tokens after the
     * worker's (which also appends all the postings). */
    uint64_t left = 0, mine = 0;
    for (uint32_t d = at + 1; d < w->ndocs; d++) {
        const unsigned char *r = w->docs.ptr + (size_t)d * DOC_RECORD;
        left += (uint64_t)trawl__get_u32(r) + trawl__get_u32(r + 4);
    }
    uint32_t d2 = w->ndocs;
    while (d2 > at + 2 && mine * 20 < left * 9) {
        const unsigned char *r = w->docs.ptr + (size_t)--d2 * DOC_RECORD;
        mine += (uint64_t)trawl__get_u32(r) + trawl__get_u32(r + 4);
    }
    pthread_mutex_lock(&w->mu);
    go = !ph->wdone && ph->wpos + 1 < d2 && d2 < w->ndocs;
    if (go)
        ph->d2 = d2;
    pthread_mutex_unlock(&w->mu);
    if (!go)
        return;
    trawl_buf_clear(&ph->rec);
    pscan sc;
    uint32_t d = d2, prev = d2;
    int rc = pscan_init(&sc, w, ph->ids, ph->kc, ph->k, d2, w->ndocs);
    for (; rc == 0 && d < w->ndocs && !atomic_load(&ph->abort); d++) {
        uint32_t nh, npl;
        rc = pscan_doc(w, &sc, d, &nh, &npl);
        if (rc != 0)
            break;
        if (npl > 0) {
            /* at most 5 bytes per varint */
            if (ph->rec.len + 10 + (size_t)npl * 15 > ph->cap)
                break;
            /* Sized first, then written in place: the buffer grows
             * exactly as it would one varint at a time. */
            size_t need = trawl__varint_len(d - prev) + trawl__varint_len(npl);
            for (uint32_t q = 0; q < npl; q++) {
                uint32_t pr = sc.pc.plist[q];
                need += trawl__varint_len(pr);
                for (int f = 0; f < TRAWL_NFIELDS; f++)
                    need += trawl__varint_len(sc.pc.ps[pr].tf[f]);
            }
            if (trawl_buf_reserve(&ph->rec, need) != 0) {
                rc = TRAWL_ENOMEM;
                break;
            }
            unsigned char *p = ph->rec.ptr + ph->rec.len;
            p += trawl__put_varint(p, d - prev);
            p += trawl__put_varint(p, npl);
            for (uint32_t q = 0; q < npl; q++) {
                uint32_t pr = sc.pc.plist[q];
                p += trawl__put_varint(p, pr);
                for (int f = 0; f < TRAWL_NFIELDS; f++)
                    p += trawl__put_varint(p, sc.pc.ps[pr].tf[f]);
            }
            ph->rec.len = (size_t)(p - ph->rec.ptr);
            *p = '\0';
            prev = d;
        }
        pscan_next(&sc, nh, w->ndocs);
    }
    pscan_free(&sc);
    pthread_mutex_lock(&w->mu);
    ph->stop = d;
    ph->clash = rc == 1;
    ph->rc = rc < 0 ? rc : 0;
    ph->done = 1;
    pthread_cond_broadcast(&w->cv_job);
    pthread_mutex_unlock(&w->mu);
}

/*
 * Add this run's pair terms: for every document, count the pairs of
 * listed words in it (pscan_doc) and append a posting to each pair's term
 * (pair_post), documents in order. *seg_pairs is set to 1 when the
 * segment has its pairs (and so writes the build's word lists), 0 when
 * it has none: two listed words at one position, or more memory than the
 * reserve. With a caller that may help (w->ph.active, see
 * write_segment), that may take the last documents when it has nothing
 * else to do (pairs_help): then this thread stops before them, waits for
 * the caller's counts, appends their postings in order, and counts any
 * documents the caller left. The postings and the term ids are those of
 * one thread.
 */
static int pairs_build(trawl_writer *w, int *seg_pairs)
{
    int rc = 0;
    *seg_pairs = 0;
    pshare *ph = &w->ph;
    int helped = 0; /* 1: the caller helps, wait for it before leaving */
    if (w->opts.no_pairs)
        goto out;
    /* Too few documents to tell common words: none yet (a later run or
     * build chooses). */
    if (!w->pairs_chosen && w->ndocs < PAIR_MIN_DOCS)
        goto out;
    if (!w->pairs_chosen && (rc = pairs_choose(w)) != 0)
        goto out;
    seg_section sec = {w->pairs.ptr, w->pairs.len};
    uint32_t nc = trawl__pairs_common(&sec);
    if (nc == 0)
        goto out;
    uint32_t nw = nc + trawl__pairs_frequent(&sec);
    *seg_pairs = 1;
    /* The listed words this run has: common ones first. */
    uint32_t *ids = malloc((size_t)nw * sizeof(*ids));
    if (ids == NULL) {
        rc = TRAWL_ENOMEM;
        goto out;
    }
    uint32_t k = 0, kc = 0;
    for (uint32_t i = 0; i < nw; i++) {
        size_t len;
        const char *wd = trawl__pairs_word(&sec, i, &len);
        int64_t id = term_find(w, wd, len);
        if (id >= 0) {
            ids[k++] = (uint32_t)id;
            kc += i < nc;
        }
    }
    if (kc == 0) {
        free(ids);
        goto out;
    }

    uint32_t nbefore = w->nterms;
    size_t mem0 = postings_bytes(w), allow = pairs_reserve(w) + ((size_t)2 << 20);
    size_t np = (size_t)kc * k * 2; /* > trawl__pair_index() */
    if (ph->active) {
        pthread_mutex_lock(&w->mu);
        ph->ids = ids;
        ph->k = k;
        ph->kc = kc;
        ph->d2 = w->ndocs;
        ph->wpos = 0;
        /* Its records are about the size of the postings they become. */
        ph->cap = allow / 2;
        ph->ready = 1;
        if (w->csleep) {
            w->csleep = 0;
            pthread_cond_broadcast(&w->cv_done);
        }
        pthread_mutex_unlock(&w->mu);
    }
    uint32_t *pid = calloc(np, sizeof(*pid)); /* term id + 1 */
    pscan sc;
    memset(&sc, 0, sizeof(sc));
    if (pid == NULL) {
        rc = TRAWL_ENOMEM;
        goto done;
    }
    uint32_t from = 0, to = w->ndocs, d2 = w->ndocs;
    for (int round = 0; round < 2; round++) {
        if (from < to &&
            (rc = pscan_init(&sc, w, ids, kc, k, from, to)) != 0)
            goto done;
        for (uint32_t d = from;; d++) {
            if (round == 0 && ph->active) {
                /* The caller may take the documents from d2 on, as long
                 * as this thread has not begun them. */
                pthread_mutex_lock(&w->mu);
                d2 = ph->d2;
                if (d >= d2)
                    ph->wdone = 1;
                else
                    ph->wpos = d;
                pthread_mutex_unlock(&w->mu);
                helped = d2 < w->ndocs;
                if (d >= d2)
                    break;
            } else if (d >= to) {
                break;
            }
            uint32_t nh, npl;
            int r = pscan_doc(w, &sc, d, &nh, &npl);
            if (r < 0) {
                rc = r;
                goto done;
            }
            if (r == 1) {
                *seg_pairs = 0;
                goto undo;
            }
            if (nh == 0)
                continue;
            /* The document's postings, one per pair, in first-seen
             * order. */
            for (uint32_t q = 0; q < npl; q++) {
                uint32_t pr = sc.pc.plist[q];
                if ((rc = pair_post(w, ids, kc, k, pid, pr, d,
                                    sc.pc.ps[pr].tf)) != 0)
                    goto done;
            }
            if (postings_bytes(w) - mem0 > allow) {
                *seg_pairs = 0;
                goto undo;
            }
            pscan_next(&sc, nh, to);
        }
        pscan_free(&sc);
        if (round == 1 || !helped)
            break;
        /* The caller's documents: wait for it, append its postings, and
         * count those it left (from ph->stop) in a second round. */
        pthread_mutex_lock(&w->mu);
        while (!ph->done)
            pthread_cond_wait(&w->cv_job, &w->mu);
        pthread_mutex_unlock(&w->mu);
        helped = 0;
        if (ph->rc != 0) {
            /* It ran out of memory: its documents are this thread's. */
            from = d2;
            to = w->ndocs;
            continue;
        }
        const unsigned char *p = ph->rec.ptr, *end = p + ph->rec.len;
        uint32_t d = d2;
        while (p < end) {
            d += get_vu32(&p);
            uint32_t npl = get_vu32(&p);
            for (uint32_t q = 0; q < npl; q++) {
                uint32_t pr = get_vu32(&p), tf[TRAWL_NFIELDS];
                for (int f = 0; f < TRAWL_NFIELDS; f++)
                    tf[f] = get_vu32(&p);
                if ((rc = pair_post(w, ids, kc, k, pid, pr, d, tf)) != 0)
                    goto done;
            }
            if (postings_bytes(w) - mem0 > allow) {
                *seg_pairs = 0;
                goto undo;
            }
        }
        if (ph->clash) {
            *seg_pairs = 0;
            goto undo;
        }
        from = ph->stop;
        to = w->ndocs;
    }
    goto done;
undo:
    /* No pairs in this segment: drop the pair terms. */
    terms_truncate(w, nbefore);
done:
    if (rc != 0)
        terms_truncate(w, nbefore);
    if (ph->active && !ph->wdone) {
        /* Undone or failed before the end: no help wanted any more. */
        pthread_mutex_lock(&w->mu);
        ph->wdone = 1;
        helped = ph->d2 < w->ndocs;
        pthread_mutex_unlock(&w->mu);
    }
    if (helped) {
        /* The caller still reads ids and the words' postings. */
        atomic_store(&ph->abort, 1);
        pthread_mutex_lock(&w->mu);
        while (!ph->done)
            pthread_cond_wait(&w->cv_job, &w->mu);
        pthread_mutex_unlock(&w->mu);
    }
    pscan_free(&sc);
    free(pid);
    free(ids);
out:
    if (ph->active && !ph->ready) {
        /* Nothing to help with. */
        pthread_mutex_lock(&w->mu);
        ph->ready = 1;
        ph->wdone = 1;
        if (w->csleep) {
            w->csleep = 0;
            pthread_cond_broadcast(&w->cv_done);
        }
        pthread_mutex_unlock(&w->mu);
    }
    return rc;
}

/* Write the in-memory run as a complete segment (store already streamed)
 * and return its counts. */
static int write_segment(trawl_writer *w, uint64_t *nterms_out,
                         trawl_err *err)
{
    segfile *f = &w->seg;
    int rc;

    if ((rc = trawl__store_flush(&w->store, f, err)) < 0)
        return rc;
    trawl__segfile_end(f);
    trawl__store_write_index(&w->store, f);
    if ((rc = trawl__store_write_meta(&w->store, f, err)) < 0)
        return rc;

    trawl__segfile_begin(f, SEC_DOCS);
    trawl__segfile_write(f, w->docs.ptr, w->docs.len);
    trawl__segfile_end(f);

    qsort(w->ids, w->ndocs, sizeof(*w->ids), cmp_id);
    trawl__segfile_begin(f, SEC_IDS);
    for (uint32_t d = 0; d < w->ndocs; d++) {
        unsigned char r[ID_RECORD];
        trawl__put_u64(r, w->ids[d].hash);
        trawl__put_u32(r + 8, w->ids[d].doc);
        trawl__segfile_write(f, r, sizeof(r));
    }
    trawl__segfile_end(f);

    /* Terms in byte order. The pair terms of common words join the
     * run's terms: the worker builds them (appending to w->terms, whose
     * room is made first so that it does not move) while this thread
     * sorts the others. They sort first: they begin with byte 0x01
     * (pairs.h), which no word has. */
    uint32_t nwords = w->nterms, *order = NULL;
    uint32_t *sorted = malloc((size_t)(nwords ? nwords : 1) * 4);
    /* Encoded ahead: npre terms, their bytes from the start of pre (pre_len
     * of them), their dictionary data from its end down (pre_st[-1 - i]). */
    unsigned char *pre = NULL;
    tstat *pre_st = NULL;
    size_t pre_len = 0;
    trawl_buf pre_names = TRAWL_BUF_INIT; /* their names (names_put) */
    uint32_t npre = 0;
    trawl_buf ppos = TRAWL_BUF_INIT; /* positions gathered ahead: nppos */
    uint32_t nppos = 0;
    seg_penc *pe = calloc(1, sizeof(*pe));
    seg_penc *stub = calloc(1, sizeof(*stub));
    trawl_buf mine = TRAWL_BUF_INIT; /* this thread's positions chunk */
    seg_dict dict;
    memset(&dict, 0, sizeof(dict));
    if (sorted == NULL || pe == NULL || stub == NULL ||
        terms_room(w, 2 * PAIR_MAX_WORDS *
                          (PAIR_MAX_WORDS + PAIR_MAX_FREQ)) < 0) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto done;
    }
    w->pair_from = nwords;
    atomic_store(&w->enc.busy, 1);
    w->ph.active = w->threaded;
    w->ph.ready = w->ph.done = w->ph.wdone = 0;
    atomic_store(&w->ph.abort, 0);
    enc_submit(w, ENC_PAIRS, NULL, 0, 0);
    rc = sort_terms(w->terms, nwords, sorted);
    /* While the worker is still at it, encode the first of those terms'
     * POSTINGS ahead (they follow the pair terms'), into at most PRE_BYTES
     * shared by their bytes and their dictionary data, as much as fits:
     * a term is encoded first, then kept if it fits (the last one, that
     * did not, is encoded again in pass 1). The bytes are the same, only
     * who writes them when differs. */
    size_t pre_max = (size_t)nwords * (24 + 2 * sizeof(skey)) + 2 * ENC_CHUNK;
    if (pre_max > PRE_BYTES)
        pre_max = PRE_BYTES;
    size_t pre_nst = pre_max / sizeof(tstat);
    if (rc == 0 && atomic_load(&w->enc.busy) && nwords > 0 && pre_nst > 0) {
        if ((pre = malloc(pre_nst * sizeof(tstat))) == NULL ||
            trawl_buf_reserve(&pre_names, pre_nst * 16) != 0)
            rc = TRAWL_ENOMEM;
        else
            pre_st = (tstat *)pre + pre_nst;
    }
    while (pre != NULL && rc == 0 && npre < nwords &&
           atomic_load(&w->enc.busy)) {
        const wterm *t = &w->terms[sorted[npre]];
        prefetch_term(w, sorted, npre, nwords, 0);
        encode_term(w, t, pe);
        if (trawl__penc_rc(pe) != 0) {
            rc = TRAWL_ENOMEM;
            break;
        }
        size_t n = pe->skip.len + pe->blocks.len;
        /* The names share pre's room (reserved for an average name of
         * up to 15 bytes: they seldom grow their buffer). */
        size_t nm = pre_names.len + 1 + t->len;
        if (npre + 1 > pre_nst ||
            pre_len + n + nm > (pre_nst - npre - 1) * sizeof(tstat))
            break;
        names_put(&pre_names, t);
        if (pre_names.rc != 0) {
            rc = TRAWL_ENOMEM;
            break;
        }
        if (pe->skip.len > 0) /* none for a compact list: maybe no ptr */
            memcpy(pre + pre_len, pe->skip.ptr, pe->skip.len);
        memcpy(pre + pre_len + pe->skip.len, pe->blocks.ptr, pe->blocks.len);
        pre_len += n;
        stat_of(pe, &pre_st[-1 - (ptrdiff_t)npre]);
        npre++;
    }
    /* Then, if it is still at it, gather their POSITIONS ahead too, into
     * the sort keys' share of the budget (kept until pass 2). */
    size_t ppos_max = (size_t)nwords * 2 * sizeof(skey);
    if (rc == 0 && atomic_load(&w->enc.busy) && nwords > 0 &&
        trawl_buf_reserve(&ppos, ppos_max) != 0)
        rc = TRAWL_ENOMEM;
    while (rc == 0 && nppos < nwords && atomic_load(&w->enc.busy)) {
        const wterm *t = &w->terms[sorted[nppos]];
        if (ppos.len + t->blen + 17 > ppos_max)
            break;
        prefetch_term(w, sorted, nppos, nwords, 0);
        gather_positions(w, t, &ppos);
        nppos++;
    }
    if (rc == 0 && ppos.rc != 0)
        rc = TRAWL_ENOMEM;
    /* Nothing left to do ahead: help count the last documents' pairs. */
    if (w->ph.active && atomic_load(&w->enc.busy))
        pairs_help(w);
    int drc = drain(w, err);
    if (rc < 0 || drc < 0) {
        rc = drc < 0 ? drc : trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto done;
    }
    trawl__segfile_begin(f, SEC_PAIRS);
    if (w->enc.seg_pairs)
        trawl__segfile_write(f, w->pairs.ptr, w->pairs.len);
    trawl__segfile_end(f);
    uint32_t npairs = w->nterms - nwords;
    order = malloc((size_t)(w->nterms ? w->nterms : 1) * 4);
    if (order == NULL ||
        sort_terms(w->terms + nwords, npairs, order) < 0) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < npairs; i++)
        order[i] += nwords;
    memcpy(order + npairs, sorted, (size_t)nwords * 4);
    free(sorted);
    sorted = NULL;

    /* Pass 1: POSTINGS (skip tables + blocks), and the dictionary. The
     * terms go in chunks, in pairs: the worker encodes the second chunk
     * of a pair into w->enc while this thread encodes and writes the
     * first, then copies the second; the terms encoded ahead come right
     * after the pair terms. This thread's chunks grow while it waits for
     * the worker's and shrink while the worker waits (its own are written
     * as they go, so need no memory). The bytes are the same either
     * way. */
    size_t my_chunk = ENC_CHUNK_POST;
    uint64_t post_off = 0, pos_off = 0;
    wenc *e = &w->enc;
    trawl__segfile_begin(f, SEC_POSTINGS);
    for (uint32_t k = 0; k < w->nterms && f->rc == 0;) {
        if (k == npairs && npre > 0) {
            trawl__segfile_write(f, pre, pre_len);
            const unsigned char *np = pre_names.ptr;
            for (uint32_t i = 0; i < npre; i++, k++) {
                uint32_t len;
                const char *s = names_next(&np, &len);
                const tstat *st = &pre_st[-1 - (ptrdiff_t)i];
                stub_of(stub, st);
                trawl__dict_add(&dict, s, len, stub, post_off, pos_off);
                post_off += st->len;
                pos_off += st->pos_bytes;
            }
            free(pre);
            pre = NULL;
            trawl_buf_free(&pre_names);
            continue;
        }
        /* Chunks end where the terms encoded ahead begin. */
        uint32_t lim = k < npairs ? npairs : w->nterms;
        uint32_t a_end = chunk_end(w, order, k, lim, my_chunk, 1);
        uint32_t b_end = chunk_end(w, order, a_end, lim, ENC_CHUNK, 1);
        if (b_end > a_end)
            enc_submit(w, ENC_POSTINGS, order, a_end, b_end);
        for (; k < a_end; k++) {
            const wterm *t = &w->terms[order[k]];
            prefetch_term(w, order, k, w->nterms, 1);
            encode_term(w, t, pe);
            if (trawl__penc_rc(pe) != 0)
                break;
            trawl__segfile_write(f, pe->skip.ptr, pe->skip.len);
            trawl__segfile_write(f, pe->blocks.ptr, pe->blocks.len);
            trawl__dict_add(&dict, t->s, t->len, pe, post_off, pos_off);
            post_off += pe->skip.len + pe->blocks.len;
            pos_off += pe->pos_bytes;
        }
        if (b_end > a_end)
            my_chunk = chunk_tune(w, my_chunk, ENC_CHUNK / 8, 2 * ENC_CHUNK);
        if (b_end > a_end && (rc = drain(w, err)) < 0)
            goto done;
        if (k < a_end)
            break; /* out of memory in pe */
        if (b_end == a_end)
            continue;
        trawl__segfile_write(f, e->out.ptr, e->out.len);
        const unsigned char *np = e->names.ptr;
        for (; k < b_end; k++) {
            const tstat *st = &e->st[k - a_end];
            stub_of(stub, st);
            uint32_t len;
            const char *s = names_next(&np, &len);
            trawl__dict_add(&dict, s, len, stub, post_off, pos_off);
            post_off += st->len;
            pos_off += st->pos_bytes;
        }
    }
    trawl__segfile_end(f);
    if (trawl__penc_rc(pe) != 0) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto done;
    }
    trawl__penc_free(pe);

    /* Pass 2: POSITIONS, copied as they were buffered, in chunk pairs
     * like pass 1 (this thread's chunk, in memory, at most ENC_CHUNK);
     * those gathered ahead right after the pair terms, which have none. */
    my_chunk = ENC_CHUNK_POS;
    trawl__segfile_begin(f, SEC_POSITIONS);
    for (uint32_t k = npairs; k < w->nterms && f->rc == 0;) {
        if (k == npairs && nppos > 0) {
            trawl__segfile_write(f, ppos.ptr, ppos.len);
            trawl_buf_free(&ppos);
            k += nppos;
            continue;
        }
        uint32_t a_end = chunk_end(w, order, k, w->nterms, my_chunk, 0);
        uint32_t b_end = chunk_end(w, order, a_end, w->nterms, ENC_CHUNK, 0);
        if (b_end > a_end)
            enc_submit(w, ENC_POSITIONS, order, a_end, b_end);
        trawl_buf_clear(&mine);
        for (; k < a_end; k++) {
            prefetch_term(w, order, k, w->nterms, 0);
            gather_positions(w, &w->terms[order[k]], &mine);
        }
        if (mine.rc != 0) {
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            drain(w, NULL);
            goto done;
        }
        trawl__segfile_write(f, mine.ptr, mine.len);
        if (b_end > a_end) {
            my_chunk = chunk_tune(w, my_chunk, ENC_CHUNK / 8, ENC_CHUNK);
            if ((rc = drain(w, err)) < 0)
                goto done;
            trawl__segfile_write(f, e->out.ptr, e->out.len);
        }
        k = b_end;
    }
    trawl__segfile_end(f);

    if ((rc = trawl__dict_write(&dict, f)) < 0)
        goto done;
    trawl__meta_write(f, w->ndocs, w->nterms, w->total_len, w->language);
    rc = trawl__segfile_finish(f);
    *nterms_out = w->nterms;
done:
    if (pe != NULL)
        trawl__penc_free(pe);
    free(pe);
    free(stub);
    trawl_buf_free(&mine);
    free(pre);
    trawl_buf_free(&pre_names);
    trawl_buf_free(&ppos);
    free(sorted);
    free(order);
    trawl__dict_free(&dict);
    return rc;
}

/* Forget the in-memory run (its segment is written or abandoned); keep
 * the big arrays for the next run. */
static void run_reset(trawl_writer *w)
{
    postings_free(w);
    w->nterms = 0;
    /* Term ids cached in the analyzer's memo belong to this run. */
    trawl_analyzer_forget(w->an);
    w->post_mem = 0;
    w->max_blen = 0;
    if (w->table != NULL)
        memset(w->table, 0, ((size_t)w->table_mask + 1) * 4);
    trawl_arena_reset(w->strings);
    trawl_arena_reset(w->term_strings);
    trawl_buf_clear(&w->docs);
    trawl_buf_clear(&w->deleted);
    w->ndocs = 0;
    w->ndeleted = 0;
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        w->total_len[f] = 0;
    trawl__store_reset(&w->store);
    free(w->seg_name);
    free(w->seg_tmp);
    w->seg_name = w->seg_tmp = NULL;
    w->seg_open = 0;
    for (int i = 0; i < RING; i++)
        w->ring[i].mem_valid = 0;
    publish_mem(w);
}

/* Flush the in-memory run as segment segs[nsegs] (still NAME.tmp). */
static int run_flush(trawl_writer *w, trawl_err *err)
{
    int rc;
    uint64_t nterms = 0;
    uint32_t k;
    if ((rc = drain(w, err)) < 0)
        return rc;
    if (seg_push(w, &k) < 0)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    w->nsegs--; /* not listed until written: ids still point at nsegs */
    if ((rc = write_segment(w, &nterms, err)) < 0)
        return rc;
    wseg *g = &w->segs[k];
    memset(g, 0, sizeof(*g));
    g->name = w->seg_name;
    g->tmp = w->seg_tmp;
    w->seg_name = w->seg_tmp = NULL;
    g->ndocs = w->ndocs;
    g->nterms = nterms;
    g->bytes = w->seg.off;
    if (w->ndeleted > 0) {
        g->del = calloc(bitmap_bytes(w->ndocs), 1);
        if (g->del == NULL)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        memcpy(g->del, w->deleted.ptr, w->deleted.len);
        g->ndel = w->ndeleted;
    }
    w->nsegs++;
    w->runs++;
    run_reset(w);
    return 0;
}

/* ---- commit: merges ----------------------------------------------------- */

/* The deletion bitmap of g as the new generation will have it. */
static const unsigned char *wseg_del(const wseg *g)
{
    if (g->ndel == 0)
        return NULL;
    if (g->del != NULL)
        return g->del;
    return g->seg != NULL ? g->seg->deleted : NULL;
}

static int unlink_in(const trawl_writer *w, const char *name)
{
    char *path;
    if (join_path(&path, w->dir, name) != 0)
        return TRAWL_ENOMEM;
    unlink(path);
    free(path);
    return 0;
}

/* Map a segment written by this writer (still NAME.tmp) for reading. */
static int wseg_map(trawl_writer *w, wseg *g, trawl_err *err)
{
    if (g->seg != NULL)
        return 0;
    trawl_segment *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->name = strdup(g->tmp)) == NULL) {
        free(s);
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }
    int rc = trawl__seg_open(s, w->dir, err);
    if (rc < 0) {
        trawl__seg_close(s);
        free(s);
        return rc;
    }
    g->own = s;
    g->seg = s;
    return 0;
}

/* A merged-away segment: unmap it and remove its file if it is ours. */
static void wseg_drop(trawl_writer *w, wseg *g)
{
    if (g->own != NULL) {
        trawl__seg_close(g->own);
        free(g->own);
        g->own = NULL;
        g->seg = NULL;
    }
    if (g->tmp != NULL) {
        unlink_in(w, g->tmp);
        free(g->tmp);
        g->tmp = NULL;
    }
}

/* Merge the segments list[from..to) into one new segment that takes their
 * place in the list (*n shrinks). Docs keep their relative order, so
 * results tie-broken by position stay the same. */
static int merge_range(trawl_writer *w, uint32_t *list, uint32_t *n,
                       uint32_t from, uint32_t to, trawl_err *err)
{
    int rc;
    uint32_t cnt = to - from, k;
    merge_in *in = calloc(cnt, sizeof(*in));
    if (in == NULL || seg_push(w, &k) < 0) {
        free(in);
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < cnt; i++) {
        wseg *g = &w->segs[list[from + i]];
        if ((rc = wseg_map(w, g, err)) < 0) {
            free(in);
            return rc;
        }
        in[i].seg = g->seg;
        in[i].del = wseg_del(g);
    }
    wseg *o = &w->segs[k];
    char *path = NULL;
    if (next_seg_name(w, &o->name, &o->tmp) < 0 ||
        join_path(&path, w->dir, o->tmp) != 0) {
        free(in);
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }
    merge_out mo;
    rc = trawl__merge(path, in, cnt, w->language, &mo, err);
    free(path);
    free(in);
    if (rc < 0) {
        free(o->tmp); /* merge removed its partial file */
        o->tmp = NULL;
        return rc;
    }
    o->ndocs = mo.ndocs;
    o->nterms = mo.nterms;
    o->bytes = mo.bytes;
    for (uint32_t i = from; i < to; i++)
        wseg_drop(w, &w->segs[list[i]]);
    list[from] = k;
    memmove(list + from + 1, list + to, (*n - to) * sizeof(*list));
    *n -= cnt - 1;
    if (o->ndocs == 0) {
        wseg_drop(w, o);
        memmove(list + from, list + from + 1,
                (*n - from - 1) * sizeof(*list));
        (*n)--;
    }
    w->merges++;
    return 0;
}

static int merge_level(const wseg *g)
{
    uint64_t live = g->ndocs - g->ndel;
    if (live <= MERGE_FLOOR)
        return 0;
    return 1 + (int)(log((double)live / MERGE_FLOOR) / log(MERGE_FACTOR));
}

/*
 * The tiered policy: a segment with more than MERGE_DEL_PCT % deleted docs
 * is rewritten without them; MERGE_FACTOR adjacent segments of one size
 * level (level = log base MERGE_FACTOR of live docs / MERGE_FLOOR) are
 * merged into one of the next level. Each doc is thus rewritten about
 * log_8(N / 1000) times over the index's life, and the count stays below
 * MERGE_FACTOR per level.
 */
static int merge_policy(trawl_writer *w, uint32_t *list, uint32_t *n,
                        trawl_err *err)
{
    int rc;
    for (;;) {
        int changed = 0;
        for (uint32_t i = 0; i < *n && !changed; i++) {
            const wseg *g = &w->segs[list[i]];
            if ((uint64_t)g->ndel * 100 > (uint64_t)g->ndocs * MERGE_DEL_PCT) {
                if ((rc = merge_range(w, list, n, i, i + 1, err)) < 0)
                    return rc;
                changed = 1;
            }
        }
        for (uint32_t i = 0; i < *n && !changed;) {
            int lv = merge_level(&w->segs[list[i]]);
            uint32_t j = i + 1;
            while (j < *n && merge_level(&w->segs[list[j]]) == lv)
                j++;
            if (j - i >= MERGE_FACTOR) {
                if ((rc = merge_range(w, list, n, i, i + MERGE_FACTOR,
                                      err)) < 0)
                    return rc;
                changed = 1;
            }
            i = j;
        }
        if (!changed)
            return 0;
    }
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

/* Remove the files of older generations that the new one does not use
 * (of the writer's own names only). Open readers keep their mappings:
 * unlinking a mapped file is safe. */
static void remove_unused(trawl_writer *w, const uint32_t *list, uint32_t n,
                          const char *keep_man)
{
    DIR *d = opendir(w->dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if ((strncmp(nm, "gen-", 4) != 0 && strncmp(nm, "seg-", 4) != 0) ||
            !trawl_writer_file_name(nm))
            continue;
        int keep = strcmp(nm, keep_man) == 0;
        for (uint32_t i = 0; i < n && !keep; i++)
            keep = strcmp(nm, w->segs[list[i]].name) == 0;
        if (!keep)
            unlinkat(dirfd(d), nm, 0);
    }
    closedir(d);
}

static int build_manifest(trawl_writer *w, const uint32_t *list, uint32_t n,
                          trawl_buf *m)
{
    trawl_buf_put(m, MAN_MAGIC, 8);
    trawl_buf_put_u32le(m, trawl__segfile_format);
    trawl_buf_put_u32le(m, TRAWL_ANALYZER_VERSION);
    trawl_buf_put_u64le(m, w->gen);
    trawl_buf_put_u64le(m, (uint64_t)time(NULL));
    trawl_buf_put_u8(m, (uint8_t)strlen(w->language));
    trawl_buf_puts(m, w->language);
    trawl_buf_put_u32le(m, n);
    for (uint32_t i = 0; i < n; i++) {
        const wseg *g = &w->segs[list[i]];
        const unsigned char *del = wseg_del(g);
        trawl_buf_put_u8(m, (uint8_t)strlen(g->name));
        trawl_buf_puts(m, g->name);
        trawl_buf_put_u32le(m, g->ndocs);
        trawl_buf_put_u32le(m, del != NULL ? g->ndel : 0);
        size_t bm = del != NULL ? bitmap_bytes(g->ndocs) : 0;
        trawl_buf_put_u32le(m, (uint32_t)bm);
        trawl_buf_put(m, del, bm);
    }
    trawl_buf_put_u64le(m, m->rc == 0 ? trawl__hash64(m->ptr, m->len) : 0);
    return m->rc;
}

static int commit(trawl_writer *w, trawl_writer_stats *stats, trawl_err *err)
{
    int rc;
    if ((rc = drain(w, err)) < 0)
        return rc;
    /* The last run, unless every doc of it was replaced again. */
    if (w->seg_open && w->ndocs > w->ndeleted && (rc = run_flush(w, err)) < 0)
        return rc;
    if (w->seg_open) {
        trawl__segfile_abort(&w->seg);
        run_reset(w);
    }
    /* Old docs whose id did not come by are gone from the corpus. */
    for (uint32_t i = 0; i < w->nold; i++) {
        wseg *g = &w->segs[i];
        for (uint32_t d = 0; d < g->ndocs; d++) {
            if (bit_get(g->seg->deleted, d) || bit_get(g->seen, d))
                continue;
            if (!w->opts.keep_unseen) {
                w->deleted_n++;
                if ((rc = wseg_delete(g, d)) < 0)
                    return trawl_err_set(err, rc, "out of memory");
            }
        }
    }

    /* The new generation's segments, oldest first. */
    uint32_t *list = malloc((size_t)(w->nsegs + 1) * sizeof(*list));
    uint32_t n = 0, first_run = 0;
    if (list == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < w->nsegs; i++) {
        wseg *g = &w->segs[i];
        if (i < w->nold && w->opts.full)
            continue;
        if (i == w->nold)
            first_run = n;
        if (g->ndel < g->ndocs)
            list[n++] = i;
        else
            wseg_drop(w, g); /* every doc deleted */
    }
    if (w->nsegs == w->nold)
        first_run = n;
    /* Runs flushed by this build become one segment (a streaming k-way
     * merge: cheap next to the inversion that produced them). */
    if (n - first_run > 1 &&
        (rc = merge_range(w, list, &n, first_run, n, err)) < 0)
        goto out;
    if (w->opts.merge) {
        int dirty = n > 1 || (n == 1 && w->segs[list[0]].ndel > 0);
        if (dirty && (rc = merge_range(w, list, &n, 0, n, err)) < 0)
            goto out;
    } else if ((rc = merge_policy(w, list, &n, err)) < 0) {
        goto out;
    }

    /* New files get their final names; then the manifest; then CURRENT. */
    for (uint32_t i = 0; i < n; i++) {
        wseg *g = &w->segs[list[i]];
        if (g->tmp == NULL)
            continue;
        char *from = NULL, *to = NULL;
        if (join_path(&from, w->dir, g->tmp) || join_path(&to, w->dir, g->name)) {
            free(from);
            free(to);
            rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = trawl__fsync_file(from, err)) == 0 && rename(from, to) != 0)
            rc = trawl_err_set(err, TRAWL_EIO, "rename %s: %s", from,
                               strerror(errno));
        free(from);
        free(to);
        if (rc < 0)
            goto out;
        free(g->tmp);
        g->tmp = NULL;
    }

    char man_base[64], man_tmp[80];
    snprintf(man_base, sizeof(man_base), "gen-%06" PRIu64 ".man", w->gen);
    snprintf(man_tmp, sizeof(man_tmp), "%s.tmp", man_base);
    trawl_buf m = TRAWL_BUF_INIT;
    char *man_tmp_path = NULL, *man_path = NULL, *cur_tmp = NULL,
         *cur_path = NULL;
    if (build_manifest(w, list, n, &m) != 0 ||
        join_path(&man_tmp_path, w->dir, man_tmp) ||
        join_path(&man_path, w->dir, man_base) ||
        join_path(&cur_tmp, w->dir, "CURRENT.tmp") ||
        join_path(&cur_path, w->dir, "CURRENT")) {
        rc = trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        goto out2;
    }
    if ((rc = write_file_sync(man_tmp_path, m.ptr, m.len, err)) < 0)
        goto out2;
    if (rename(man_tmp_path, man_path) != 0) {
        rc = trawl_err_set(err, TRAWL_EIO, "rename %s: %s", man_tmp_path,
                           strerror(errno));
        goto out2;
    }
    /* Segments and manifest must be durable before CURRENT names them. */
    if ((rc = trawl__fsync_dir(w->dir, err)) < 0)
        goto out2;
    char cur[80];
    int cn = snprintf(cur, sizeof(cur), "%s\n", man_base);
    if ((rc = write_file_sync(cur_tmp, cur, (size_t)cn, err)) < 0)
        goto out2;
    if (rename(cur_tmp, cur_path) != 0) {
        rc = trawl_err_set(err, TRAWL_EIO, "rename %s: %s", cur_tmp,
                           strerror(errno));
        goto out2;
    }
    if ((rc = trawl__fsync_dir(w->dir, err)) < 0)
        goto out2;
    w->committed = 1;
    remove_unused(w, list, n, man_base);

    if (stats != NULL) {
        memset(stats, 0, sizeof(*stats));
        stats->generation = w->gen;
        stats->added = w->added;
        stats->updated = w->updated;
        stats->unchanged = w->unchanged;
        stats->deleted = w->deleted_n;
        stats->tokens = w->tokens;
        stats->input_bytes = w->input_bytes;
        stats->segments = n;
        stats->runs = w->runs;
        stats->merges = w->merges;
        stats->index_bytes = m.len;
        for (uint32_t i = 0; i < n; i++) {
            const wseg *g = &w->segs[list[i]];
            stats->docs += g->ndocs - g->ndel;
            stats->terms += g->nterms;
            stats->index_bytes += g->bytes;
        }
    }
out2:
    trawl_buf_free(&m);
    free(man_tmp_path);
    free(man_path);
    free(cur_tmp);
    free(cur_path);
out:
    free(list);
    return rc;
}

void trawl_writer_keep_unseen(trawl_writer *w)
{
    w->opts.keep_unseen = 1;
}

int trawl_writer_changed(const trawl_writer *w, trawl_writer_stats *so_far)
{
    if (so_far != NULL) {
        memset(so_far, 0, sizeof(*so_far));
        so_far->added = w->added;
        so_far->updated = w->updated;
        so_far->unchanged = w->unchanged;
    }
    if (w->old == NULL || w->opts.full || w->added > 0 || w->updated > 0 ||
        w->runs > 0)
        return 1;
    if (w->opts.keep_unseen)
        return 0;
    /* each live article of the old generation seen unchanged counts once */
    trawl_index_info info;
    trawl_index_info_get(w->old, &info);
    return w->unchanged != info.docs;
}

int trawl_writer_commit(trawl_writer *w, trawl_writer_stats *stats,
                        trawl_err *err)
{
    if (w->rc != 0)
        return trawl_err_set(err, w->rc, "writer is in a failed state");
    if (w->committed)
        return trawl_err_set(err, TRAWL_EINVAL, "already committed");
    w->seg.err = err; /* see trawl_writer_add */
    int rc = commit(w, stats, err);
    if (rc < 0)
        w->rc = rc;
    return rc;
}

void trawl_writer_free(trawl_writer *w)
{
    if (w == NULL)
        return;
    worker_stop(w); /* finishes what was queued: it owns buffers below */
    for (int i = 0; i < RING; i++)
        trawl_folded_free(&w->ring[i].fold);
    trawl_buf_free(&w->enc.out);
    trawl_buf_free(&w->enc.names);
    trawl_buf_free(&w->ph.rec);
    free(w->enc.st);
    if (w->enc.pe != NULL)
        trawl__penc_free(w->enc.pe);
    free(w->enc.pe);
    trawl_arena_free(w->term_strings);
    /* Before commit this removes the run's temporary segment file. */
    trawl__segfile_abort(&w->seg);
    postings_free(w);
    free(w->slabs);
    free(w->terms);
    free(w->table);
    free(w->ids);
    free(w->id_str);
    free(w->bt);
    for (uint32_t i = 0; i < w->nsegs; i++) {
        wseg *g = &w->segs[i];
        wseg_drop(w, g); /* uncommitted files of this build go */
        free(g->name);
        free(g->del);
        free(g->seen);
    }
    free(w->segs);
    trawl_buf_free(&w->docs);
    trawl_buf_free(&w->deleted);
    trawl_buf_free(&w->rec);
    trawl_buf_free(&w->pairs);
    trawl__store_free(&w->store);
    free(w->toks);
    free(w->dterms);
    free(w->bpos);
    trawl_analyzer_free(w->an);
    trawl_analyzer_free(w->fan);
    trawl_arena_free(w->strings);
    trawl_index_release(w->old);
    free(w->seg_tmp);
    free(w->seg_name);
    if (w->lock_fd >= 0)
        close(w->lock_fd); /* releases the flock */
    free(w->dir);
    free(w);
}

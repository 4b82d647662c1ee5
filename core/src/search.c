/*
 * Ranked search: postings cursors over the block format, a tree of
 * matchers evaluated document-at-a-time per segment, BM25F scoring, an
 * exact top-k heap, then stored fields and snippets for the page of hits.
 *
 * Scoring (BM25F, Lucene's IDF):
 *   idf(t)  = ln(1 + (N - df + 0.5) / (df + 0.5))
 *   tf'(d)  = sum over fields f of w_f * tf_f / (1 - b + b * len_f / avg_f)
 *   s(t, d) = idf(t) * tf' * (k1 + 1) / (k1 + tf')
 * N and df are summed over the generation's segments; avg_f is the mean
 * field length. A phrase is scored as one term whose tf_f is the number of
 * phrase occurrences in f and whose idf is the sum of its terms' idfs. A
 * document's score is the sum over the query's positive leaves it matches.
 */
#include "trawl/search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "codec.h"
#include "format.h"
#include "internal.h"
#include "query.h"
#include "pairs.h"
#include "seg.h"
#include "snippet.h"
#include "trawl/analyze.h"
#include "trawl/article.h"
#include "trawl/buf.h"

#define DOC_END UINT32_MAX
#define MAX_OFFSET 100000
/* Proximity counts positions below this in a bitmap (8 KiB). */
#define PROX_BM_POS ((1u << 16) - 32)

/*
 * Recent dictionary lookups, per searcher (Lucene kept such a cache of
 * 1,024 terms per thread): a direct-mapped table keyed by the segment's
 * serial, unique to each segment this process opens (a reloaded index
 * never meets an entry of the one before), and the term (its hash, length
 * and bytes). Terms longer than TC_TERM are not kept.
 */
#define TC_SLOTS 1024
#define TC_TERM 24
typedef struct tc_slot {
    uint64_t serial; /* 0: empty */
    uint64_t h;
    seg_term t;
    uint8_t len, found;
    char term[TC_TERM];
} tc_slot;

struct trawl_searcher {
    ZSTD_DCtx *dctx; /* reused for every stored document */
    tc_slot *tc;     /* term cache (TC_SLOTS), allocated on first use */
    trawl_arena *arena; /* see trawl_searcher_arena */
    trawl_analyzer *an;
    char language[32];
    uint32_t *scratch; /* positions for phrase checks */
    size_t scratch_cap;
    unsigned char *prox_bm; /* proximity bitmap, all zero between uses */
    uint64_t prox_stat[4];  /* see trawl__search_prox_stats */
    snip_scratch snip;      /* snippets' tokens and matches */
};

void trawl_query_init(trawl_query *q)
{
    memset(q, 0, sizeof(*q));
    q->limit = 10;
    q->sort = TRAWL_SORT_SCORE;
    q->k1 = 1.2;
    q->b = 0.75;
    q->w_title = 3.0;
    q->w_body = 1.0;
    q->w_prox = 1.0;
    q->prox_depth = TRAWL_PROX_DEPTH;
    q->snippets = 1;
    q->snippet_len = 200;
}

int trawl_searcher_new(trawl_searcher **out, trawl_err *err)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL || ((*out)->dctx = ZSTD_createDCtx()) == NULL ||
        ((*out)->arena = trawl_arena_new(64 * 1024)) == NULL) {
        trawl_searcher_free(*out);
        *out = NULL;
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    }
    return 0;
}

void trawl_searcher_free(trawl_searcher *s)
{
    if (s == NULL)
        return;
    trawl_analyzer_free(s->an);
    ZSTD_freeDCtx(s->dctx);
    trawl_arena_free(s->arena);
    free(s->scratch);
    free(s->prox_bm);
    free(s->tc);
    trawl__snip_scratch_free(&s->snip);
    free(s);
}

trawl_arena *trawl_searcher_arena(trawl_searcher *s)
{
    return s->arena;
}

/* trawl__seg_lookup through the searcher's term cache. */
static int term_lookup(trawl_searcher *s, const trawl_segment *sg,
                       const char *term, size_t len, seg_term *out,
                       trawl_err *err)
{
    if (len > TC_TERM || sg->serial == 0 ||
        (s->tc == NULL &&
         (s->tc = calloc(TC_SLOTS, sizeof(*s->tc))) == NULL))
        return trawl__seg_lookup(sg, term, len, out, err);
    uint64_t h = XXH3_64bits_withSeed(term, len, sg->serial);
    tc_slot *e = &s->tc[h & (TC_SLOTS - 1)];
    if (e->serial == sg->serial && e->h == h && e->len == len &&
        memcmp(e->term, term, len) == 0) {
        *out = e->t;
        return e->found;
    }
    int rc = trawl__seg_lookup(sg, term, len, out, err);
    if (rc < 0)
        return rc;
    e->serial = sg->serial;
    e->h = h;
    e->len = (uint8_t)len;
    e->found = (uint8_t)rc;
    memcpy(e->term, term, len);
    e->t = *out;
    return rc;
}

static int searcher_bind(trawl_searcher *s, const trawl_index *ix,
                         trawl_err *err)
{
    if (s->an != NULL && strcmp(s->language, ix->language) == 0)
        return 0;
    trawl_analyzer_free(s->an);
    s->an = NULL;
    int rc = trawl_analyzer_new(&s->an, ix->language, err);
    if (rc < 0)
        return rc;
    snprintf(s->language, sizeof(s->language), "%s", ix->language);
    return 0;
}

/* ---- postings cursor -------------------------------------------------- */

typedef struct cursor {
    const trawl_segment *s;
    const unsigned char *skip, *skip_end;
    const unsigned char *data, *data_end;   /* next block's doc data */
    const unsigned char *pdata, *pdata_end; /* next block's positions */
    uint32_t remaining; /* postings in blocks not entered yet */
    int started;        /* a block has been entered */
    uint32_t last;      /* last doc of the current block */
    uint32_t n;         /* postings in the current block */
    const unsigned char *blk, *blk_end;
    const unsigned char *blk_pos, *blk_pos_end;
    /* Format 9: the block's offset table and its width (0: none), known
     * once ptab_end is blk_pos_end (cur_ptab; blk_pos then is past it) */
    const unsigned char *ptab, *ptab_end;
    unsigned ptab_w;
    uint32_t bmax_tf[TRAWL_NFIELDS];
    uint32_t bmin_len[TRAWL_NFIELDS];
    int64_t base; /* doc before the block's first (-1 for the first) */
    int decoded;  /* doc ids of the block decoded */
    int tf_decoded; /* term frequencies decoded (lazily: seeks need none) */
    const unsigned char *tfp; /* the block's tf arrays */
    uint32_t i;
    uint32_t doc;
    uint32_t pi; /* positions walk: posting index and pointer */
    const unsigned char *pp;
    int *corrupt; /* the search's error slot, set on damaged postings */
    double bub;   /* bound of the current block for its TERM matcher, or
                     negative when not computed yet */
    uint64_t seq; /* blocks entered so far */
    uint32_t tmax_tf[TRAWL_NFIELDS];  /* over the whole list */
    uint32_t tmin_len[TRAWL_NFIELDS];
    uint32_t docs[BLOCK_SIZE];
    uint32_t tf[TRAWL_NFIELDS][BLOCK_SIZE];
    int tfpre_ok;               /* tfpre computed for this block */
    uint32_t tfpre[BLOCK_SIZE]; /* positions of the block's postings
                                   before each (all fields) */
} cursor;


static void cur_fail(cursor *c)
{
    *c->corrupt = TRAWL_ECORRUPT;
    c->doc = DOC_END;
    c->remaining = 0;
    c->skip = c->skip_end;
    c->last = DOC_END;
}

/* Enter the next block (without decoding it). 0, or -1 at the end. */
static int cur_next_block(cursor *c)
{
    if (c->remaining == 0 || c->skip >= c->skip_end) {
        c->doc = DOC_END;
        return -1;
    }
    uint64_t delta, db, pb, v;
    const unsigned char *p = c->skip;
    if (trawl__get_varint(&p, c->skip_end, &delta) ||
        trawl__get_varint(&p, c->skip_end, &db) ||
        trawl__get_varint(&p, c->skip_end, &pb)) {
        cur_fail(c);
        return -1;
    }
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        if (trawl__get_varint(&p, c->skip_end, &v)) {
            cur_fail(c);
            return -1;
        }
        c->bmax_tf[f] = (uint32_t)v;
    }
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        if (trawl__get_varint(&p, c->skip_end, &v)) {
            cur_fail(c);
            return -1;
        }
        c->bmin_len[f] = (uint32_t)v;
    }
    c->skip = p;
    c->base = c->started ? (int64_t)c->last : -1;
    uint64_t last = (c->started ? c->last : 0) + delta;
    if (last >= c->s->ndocs || db > (uint64_t)(c->data_end - c->data) ||
        pb > (uint64_t)(c->pdata_end - c->pdata)) {
        cur_fail(c);
        return -1;
    }
    c->started = 1;
    c->last = (uint32_t)last;
    c->n = c->remaining < BLOCK_SIZE ? c->remaining : BLOCK_SIZE;
    c->remaining -= c->n;
    c->blk = c->data;
    c->blk_end = c->data + db;
    c->data += db;
    c->blk_pos = c->pdata;
    c->blk_pos_end = c->pdata + pb;
    c->pdata += pb;
    c->decoded = 0;
    c->i = 0;
    c->pi = 0;
    c->pp = c->blk_pos;
    c->bub = -1;
    c->seq++;
    c->tfpre_ok = 0;
    return 0;
}

static int cur_decode(cursor *c)
{
    const unsigned char *p = c->blk;
    size_t used = trawl__codec_decode(p, c->blk_end, c->docs, c->n);
    if (used == 0) {
        cur_fail(c);
        return -1;
    }
    p += used;
    int64_t prev = c->base;
    for (uint32_t i = 0; i < c->n; i++) {
        prev += (int64_t)c->docs[i] + 1;
        c->docs[i] = (uint32_t)prev;
    }
    if (prev != (int64_t)c->last) {
        cur_fail(c);
        return -1;
    }
    c->tfp = p;
    c->decoded = 1;
    c->tf_decoded = 0;
    return 0;
}

/* Decode the block's term frequencies; 0 or -1 on corruption. */
static int cur_tfs(cursor *c)
{
    if (c->tf_decoded)
        return 0;
    const unsigned char *p = c->tfp;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        size_t used = trawl__codec_decode(p, c->blk_end, c->tf[f], c->n);
        if (used == 0) {
            cur_fail(c);
            memset(c->tf, 0, sizeof(c->tf));
            c->tf_decoded = 1;
            return -1;
        }
        p += used;
    }
    c->tf_decoded = 1;
    return 0;
}

/* A compact list (format.h), all of it at once, as the cursor's one
 * block, decoded with its tfs; its bounds (block and list) follow from
 * them and the docs' field lengths (a tf above its field's length is
 * damage). The positions end where the walk of the tfs ends; the
 * section's end bounds it. */
static void cur_compact(cursor *c, const trawl_segment *s, const seg_term *t,
                        int meta)
{
    const unsigned char *p = s->sec[SEC_POSTINGS].p + t->post_off;
    uint32_t n = t->df;
    if (n == 0 || n > COMPACT_MAX ||
        trawl__compact_decode(p, p + t->post_len, n, s->ndocs, c->docs,
                              c->tf[0], BLOCK_SIZE) != t->post_len) {
        cur_fail(c);
        return;
    }
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        uint32_t mx = 0, mn = UINT32_MAX;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t x = c->tf[f][i];
            if (x == 0)
                continue;
            if (x > mx)
                mx = x;
            uint32_t len = trawl__seg_field_len(s, c->docs[i], f);
            if (len < mn)
                mn = len;
            if (x > len && !meta) { /* damaged: more occurrences than
                                       tokens (an author term's are the
                                       byline's, format.h) */
                cur_fail(c);
                return;
            }
        }
        c->bmax_tf[f] = c->tmax_tf[f] = mx;
        c->bmin_len[f] = c->tmin_len[f] = mx ? mn : 0;
    }
    c->skip = c->skip_end = p;
    c->data = c->data_end = p + t->post_len;
    c->pdata = c->blk_pos = c->pp = s->sec[SEC_POSITIONS].p + t->pos_off;
    c->pdata_end = c->blk_pos_end =
        s->sec[SEC_POSITIONS].p + s->sec[SEC_POSITIONS].len;
    c->ptab_end = c->blk_pos_end; /* no offset table */
    c->ptab_w = 0;
    c->blk = p;
    c->blk_end = c->data_end;
    c->remaining = 0;
    c->started = 1;
    c->n = n;
    c->last = c->docs[n - 1];
    c->base = -1;
    c->decoded = 1;
    c->tf_decoded = 1;
    c->bub = -1;
    c->seq = 1;
    c->tfpre_ok = 0;
    c->doc = c->docs[0];
}

static void cur_init(cursor *c, const trawl_segment *s, const seg_term *t,
                     int *corrupt, int meta)
{
    memset(c, 0, offsetof(cursor, docs));
    c->s = s;
    c->corrupt = corrupt;
    if (t->compact) {
        cur_compact(c, s, t, meta);
        return;
    }
    memcpy(c->tmax_tf, t->max_tf, sizeof(c->tmax_tf));
    memcpy(c->tmin_len, t->min_len, sizeof(c->tmin_len));
    const unsigned char *base = s->sec[SEC_POSTINGS].p + t->post_off;
    c->skip = base;
    c->skip_end = base + t->skip_len;
    c->data = c->skip_end;
    c->data_end = base + t->post_len;
    c->pdata = s->sec[SEC_POSITIONS].p + t->pos_off;
    c->pdata_end = s->sec[SEC_POSITIONS].p + s->sec[SEC_POSITIONS].len;
    c->remaining = t->df;
    if (cur_next_block(c) == 0 && cur_decode(c) == 0)
        c->doc = c->docs[0];
}

static void cur_next(cursor *c)
{
    if (c->doc == DOC_END)
        return;
    if (++c->i < c->n) {
        c->doc = c->docs[c->i];
        return;
    }
    if (cur_next_block(c) == 0 && cur_decode(c) == 0)
        c->doc = c->docs[0];
}

static void cur_seek(cursor *c, uint32_t target)
{
    if (c->doc >= target)
        return;
    if (c->last < target) {
        do {
            if (cur_next_block(c) < 0)
                return;
        } while (c->last < target);
    }
    if (!c->decoded && cur_decode(c) < 0)
        return;
    while (c->docs[c->i] < target)
        c->i++;
    c->doc = c->docs[c->i];
}

/* Skip n varints in [*pp, end): count terminator bytes (high bit
 * clear), many at a time, then find the last one needed within a word.
 * -1 if the input ends first. */
static int skip_varints(const unsigned char **pp, const unsigned char *end,
                        uint64_t n)
{
    const unsigned char *p = *pp;
#ifdef __SSE2__
    /* 128 bytes at a time while at least that many varints remain: a
     * terminator compares greater than -1 as a signed byte, which
     * subtracts -1 from its lane's count; one psadbw sums the lanes. */
    while (n >= 128 && end - p >= 128) {
        const __m128i neg = _mm_set1_epi8(-1);
        __m128i cnt = _mm_setzero_si128();
        for (int j = 0; j < 128; j += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + j));
            cnt = _mm_sub_epi8(cnt, _mm_cmpgt_epi8(x, neg));
        }
        __m128i sad = _mm_sad_epu8(cnt, _mm_setzero_si128());
        uint64_t k = (uint64_t)_mm_cvtsi128_si32(sad) +
                     (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(sad, 8));
        /* k == n only if all 128 bytes end varints: safe to step over */
        if (k > n)
            break;
        n -= k;
        p += 128;
    }
#endif
    while (n > 0 && end - p >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        /* One bit per terminator byte, at bit 7 of each byte; their
         * count gathered into the top byte by multiplication. */
        uint64_t stops = ~word & 0x8080808080808080ull;
        /* byte i of cum: the terminators in bytes 0..i (at most 8) */
        uint64_t cum = (stops >> 7) * 0x0101010101010101ull;
        uint64_t k = cum >> 56;
        if (k >= n) {
            /* the n-th terminator is in this word: the first byte whose
             * count reaches n (each byte's high bit set where
             * 0x80 + count - n does not go below 0x80; no borrows, the
             * counts and n being at most 8), and stop right after it */
            uint64_t ge = ((cum | 0x8080808080808080ull) -
                           n * 0x0101010101010101ull) &
                          0x8080808080808080ull;
            p += (unsigned)__builtin_ctzll(ge) / 8 + 1;
            n = 0;
            break;
        }
        n -= k;
        p += 8;
    }
    while (n > 0) {
        if (p >= end)
            return -1;
        if (!(*p++ & 0x80))
            n--;
    }
    *pp = p;
    return 0;
}

/* Decode n position deltas (the first from 0) at *pp into out as
 * positions (pos_walk, below). 0, or -1 if the input is damaged. */
static int pos_decode(const unsigned char **pp, const unsigned char *end,
                      uint32_t n, uint32_t *out);

/* Keep the candidates c (ascending) for which c + off is among the n
 * positions encoded at p (deltas, the first from 0); returns how many
 * were kept (moved to the front of cand), or -1 if the input is damaged.
 * Decoding stops at the last candidate. */
static int64_t pos_filter(const unsigned char *p, const unsigned char *end,
                          uint32_t n, uint32_t *cand, uint32_t nc,
                          uint32_t off)
{
    uint32_t pos = 0, k = 0, i = 0, keep = 0;
    if (nc == 0)
        return 0;
    uint64_t want = (uint64_t)cand[0] + off;
    while (k < n) {
        uint32_t v[8], m = 1;
#ifdef __SSE2__
        /* Far from the next candidate: step over 16 one-byte deltas at
         * a time while they stay short of it (their sum in one psadbw). */
        while (n - k >= 16 && end - p >= 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
            if (_mm_movemask_epi8(x) != 0)
                break;
            __m128i sad = _mm_sad_epu8(x, _mm_setzero_si128());
            uint32_t sum = (uint32_t)_mm_cvtsi128_si32(sad) +
                           (uint32_t)_mm_cvtsi128_si32(
                               _mm_srli_si128(sad, 8));
            if ((uint64_t)pos + sum >= want)
                break;
            pos += sum;
            p += 16;
            k += 16;
        }
        if (k >= n)
            break;
#endif
        if (n - k >= 8 && end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                for (int j = 0; j < 8; j++) {
                    pos += (uint32_t)(w >> (8 * j)) & 0x7f;
                    v[j] = pos;
                }
                m = 8;
                p += 8;
            }
        }
        if (m == 1) {
            uint64_t x;
            if (p < end && *p < 0x80) {
                x = *p++;
            } else if (trawl__get_varint(&p, end, &x) || x > UINT32_MAX) {
                return -1;
            }
            pos += (uint32_t)x;
            v[0] = pos;
        }
        k += m;
        for (uint32_t j = 0; j < m; j++) {
            while (want < v[j]) {
                if (++i == nc)
                    return keep;
                want = (uint64_t)cand[i] + off;
            }
            if (want == v[j]) {
                cand[keep++] = cand[i];
                if (++i == nc)
                    return keep;
                want = (uint64_t)cand[i] + off;
            }
        }
    }
    return keep;
}

#ifdef __SSE2__
#define POS_SKIP 1
#else
#define POS_SKIP 0
#endif

/* The width of the current block's offset table (format 9, format.h,
 * POSITIONS), 0 without one; the first call of a block steps blk_pos over
 * the table (pos_bytes >= POS_TAB_MIN * n holds it). Not done when the
 * block is entered: seeks that read no positions stay as they were. */
static __attribute__((noinline)) unsigned cur_ptab_enter(cursor *c)
{
    c->ptab_end = c->blk_pos_end;
    c->ptab_w = c->s->version >= POS_TAB_FROM
                    ? trawl__postab_width(
                          c->n, (uint64_t)(c->blk_pos_end - c->blk_pos))
                    : 0;
    if (c->ptab_w != 0) {
        c->ptab = c->blk_pos;
        c->blk_pos += (size_t)c->ptab_w * (c->n - 1);
        c->pp = c->blk_pos;
        c->pi = 0;
    }
    return c->ptab_w;
}

static inline unsigned cur_ptab(cursor *c)
{
    if (c->ptab_end != c->blk_pos_end)
        return cur_ptab_enter(c);
    return c->ptab_w;
}

/* Point *pp at the current posting's positions (tf decoded). */
static int cur_pos_at(cursor *c, const unsigned char **pp)
{
    if (cur_tfs(c) < 0)
        return -1;
    if (cur_ptab(c) != 0) {
        /* straight from the block's table (damage: an offset past it) */
        uint32_t o = trawl__postab_get(c->ptab, c->ptab_w, c->i);
        if (o >= (uint64_t)(c->blk_pos_end - c->blk_pos)) {
            cur_fail(c);
            return -1;
        }
        c->pi = c->i;
        c->pp = *pp = c->blk_pos + o;
        return 0;
    }
    if (c->pi > c->i) {
        c->pi = 0;
        c->pp = c->blk_pos;
    }
    const unsigned char *p = c->pp;
    uint64_t skip = 0;
    for (; c->pi < c->i; c->pi++)
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            skip += c->tf[f][c->pi];
    if (skip > 0 && skip_varints(&p, c->blk_pos_end, skip) < 0) {
        cur_fail(c);
        return -1;
    }
    c->pp = p;
    *pp = p;
    return 0;
}

/* Decode the current posting's positions into out (tf[f] entries per
 * field, fields back to back). Returns 0 or -1 on corruption. */
static int cur_positions(cursor *c, uint32_t *out)
{
    const unsigned char *p;
    if (cur_pos_at(c, &p) < 0)
        return -1;
    size_t o = 0;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        uint32_t n = c->tf[f][c->i];
        if (pos_decode(&p, c->blk_pos_end, n, out + o) < 0) {
            cur_fail(c);
            return -1;
        }
        o += n;
    }
    return 0;
}

/* Point *pp at field f's positions of the current posting. */
static int cur_field_at(cursor *c, int f, const unsigned char **pp)
{
    if (cur_pos_at(c, pp) < 0)
        return -1;
    uint64_t skip = 0;
    for (int g = 0; g < f; g++)
        skip += c->tf[g][c->i];
    if (skip > 0 && skip_varints(pp, c->blk_pos_end, skip) < 0) {
        cur_fail(c);
        return -1;
    }
    return 0;
}

/* Decode field f's positions of the current posting into out. */
static int cur_field_positions(cursor *c, int f, uint32_t *out)
{
    const unsigned char *p;
    if (cur_pos_at(c, &p) < 0)
        return -1;
    uint64_t skip = 0;
    for (int g = 0; g < f; g++)
        skip += c->tf[g][c->i];
    if ((skip > 0 && skip_varints(&p, c->blk_pos_end, skip) < 0) ||
        pos_decode(&p, c->blk_pos_end, c->tf[f][c->i], out) < 0) {
        cur_fail(c);
        return -1;
    }
    return 0;
}

/* ---- matchers --------------------------------------------------------- */

/* M_FILTER: kids[0] must match; it scores nothing (author:, site:). */
enum { M_EMPTY, M_TERM, M_PHRASE, M_AND, M_OR, M_DATE, M_MAT, M_FILTER };

/* An OR of at least this many words (a prefix's expansion, mostly) is
 * evaluated term at a time into a bitmap and scores (M_MAT): seeking and
 * scoring document at a time would visit every word at every match. */
#define OR_WIDE 16

typedef struct leaf {
    const qnode *q;
    double idf;
    /* Dictionary entries of its words, looked up once per query:
     * [segment * nterms + word], and whether each was found. */
    seg_term *st;
    unsigned char *found;
} leaf;

typedef struct matcher {
    int kind;
    int positioned;
    uint32_t doc;
    int field;                   /* TERM/PHRASE restriction */
    const leaf *lf;              /* TERM/PHRASE scoring info */
    cursor **cur;                /* TERM: 1, PHRASE: nterms, then pairs */
    uint32_t ncur;
    uint32_t nword;              /* PHRASE: cursors of its words; those
                                    after them are pair terms of its
                                    adjacent common words (align, bound) */
    uint32_t ptf[TRAWL_NFIELDS]; /* PHRASE: occurrences at doc */
    struct matcher **kids;       /* AND positive / OR */
    uint32_t nkids;
    struct matcher **neg;        /* AND: excluded */
    uint32_t nneg;
    uint32_t slop;               /* PHRASE: extra positions allowed */
    uint32_t *need;              /* PHRASE near: per word, how many words
                                    of the quote are that word when it is
                                    the first of them, else 0 (each takes
                                    a position of its own) */
    double pbub;                 /* PHRASE: bound at the blocks whose
                                    sequence numbers sum to pbub_key */
    uint64_t pbub_key;
    int64_t from, to;            /* DATE */
    uint64_t *bits;              /* MAT: the matching documents */
    double *acc;                 /* MAT: their scores (NULL: not needed) */
} matcher;

typedef struct ctx {
    trawl_searcher *s;
    const trawl_index *ix;
    const trawl_segment *seg;
    trawl_arena *a;
    trawl_err *err;
    leaf *leaves;
    size_t nleaves;
    double k1, b, w[TRAWL_NFIELDS];
    double avg[TRAWL_NFIELDS];
    double omb;                /* 1 - b */
    double bn[TRAWL_NFIELDS];  /* b / avg (0 without tokens in f) */
    int corrupt;
    /* Proximity: pairs of adjacent query terms (by leaf index) and the
     * TERM matcher of each leaf in the current segment. */
    double w_prox;
    uint32_t npairs;
    uint32_t pair_a[Q_MAX_LEAVES], pair_b[Q_MAX_LEAVES];
    double pair_w[Q_MAX_LEAVES];
    struct matcher **leaf_m;
    int mat_ok;    /* wide ORs may be materialized (M_MAT) */
    size_t mat_bytes; /* arena bytes taken by M_MATs so far */
    int mat_score; /* ... with their scores */
    const trawl_segment *nrm_seg; /* whose inverse length norms nrm holds */
    double *nrm;
    /* Block-max pruning at the root (score order, page full): a
     * candidate whose upper bound cannot beat theta is skipped, together
     * with the rest of the blocks it lies in. */
    struct matcher *root;
    int prune;      /* allowed for this query */
    int pruning;    /* the heap is full: theta is meaningful */
    double theta;   /* the worst score on the page */
    int skipped;    /* something was skipped: total is a lower bound */
    struct run_out *out; /* the run's output (records, see and_terms) */
} ctx;

static uint32_t m_seek(ctx *c, matcher *m, uint32_t target);

static int term_ok(matcher *m)
{
    cursor *c = m->cur[0];
    if (m->field == Q_ANY_FIELD)
        return 1;
    cur_tfs(c);
    return c->tf[m->field][c->i] > 0;
}

static uint32_t *scratch(ctx *c, size_t n)
{
    trawl_searcher *s = c->s;
    if (n > s->scratch_cap) {
        size_t cap = s->scratch_cap ? s->scratch_cap : 1024;
        while (cap < n)
            cap *= 2;
        uint32_t *p = realloc(s->scratch, cap * sizeof(*p));
        if (p == NULL)
            return NULL;
        s->scratch = p;
        s->scratch_cap = cap;
    }
    return s->scratch;
}

/* The searcher's proximity bitmap (PROX_BM_POS + 32 bits, zero), or
 * NULL without memory (the caller then goes without it). */
static unsigned char *prox_bitmap(ctx *c)
{
    trawl_searcher *s = c->s;
    if (s->prox_bm == NULL)
        s->prox_bm = calloc(1, (PROX_BM_POS + 32) / 8 + 8);
    return s->prox_bm;
}

/* The first index j in [lo, n) with a[j] >= x, or n (branch-free). */
static uint32_t lower_bound(const uint32_t *a, uint32_t lo, uint32_t n,
                            uint32_t x)
{
    if (lo >= n)
        return n;
    const uint32_t *b = a + lo;
    uint32_t len = n - lo;
    while (len > 1) {
        uint32_t half = len / 2;
        b = b[half] < x ? b + half : b;
        len -= half;
    }
    return (uint32_t)(b - a) + (*b < x);
}

/* Exact phrase occurrences at the aligned doc, per field, rarest word
 * first: its positions give the candidate starts, and each further word
 * (in order of frequency) keeps the candidates it continues. A document
 * where the rare words never stand together is rejected before the
 * common words' positions are decoded at all. */
static int phrase_exact(ctx *c, matcher *m)
{
    uint32_t n = m->nword > Q_MAX_LEAVES * 2 ? Q_MAX_LEAVES * 2 : m->nword;
    for (uint32_t k = 0; k < n; k++)
        if (cur_tfs(m->cur[k]) < 0) {
            c->corrupt = TRAWL_ECORRUPT;
            return 0;
        }
    uint32_t any = 0;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        m->ptf[f] = 0;
        if (m->field != Q_ANY_FIELD && m->field != f)
            continue;
        uint32_t ord[Q_MAX_LEAVES * 2], cnt[Q_MAX_LEAVES * 2], most = 0;
        int absent = 0;
        for (uint32_t k = 0; k < n; k++) {
            cursor *cu = m->cur[k];
            cnt[k] = cu->tf[f][cu->i];
            absent |= cnt[k] == 0;
            if (cnt[k] > most)
                most = cnt[k];
            /* insertion by frequency, ties in phrase order */
            uint32_t j = k;
            while (j > 0 && cnt[ord[j - 1]] > cnt[k]) {
                ord[j] = ord[j - 1];
                j--;
            }
            ord[j] = k;
        }
        if (absent)
            continue;
        uint32_t r = ord[0];
        uint32_t *cand = scratch(c, (size_t)cnt[r] + most);
        if (cand == NULL) {
            c->corrupt = TRAWL_ENOMEM;
            return 0;
        }
        uint32_t *tmp = cand + cnt[r];
        if (cur_field_positions(m->cur[r], f, cand) < 0) {
            c->corrupt = TRAWL_ECORRUPT;
            return 0;
        }
        /* candidate starts: where word 0 would stand */
        uint32_t nc = 0;
        for (uint32_t j = 0; j < cnt[r]; j++)
            if (cand[j] >= r)
                cand[nc++] = cand[j] - r;
        for (uint32_t t = 1; t < n && nc > 0; t++) {
            uint32_t k = ord[t];
            cursor *cu = m->cur[k];
            const unsigned char *p;
            if (cur_field_at(cu, f, &p) < 0) {
                c->corrupt = TRAWL_ECORRUPT;
                return 0;
            }
            if ((uint64_t)nc * 8 >= cnt[k] || POS_SKIP) {
                /* merge; with few candidates in many positions, steps
                 * over the runs of positions between them */
                int64_t kept = pos_filter(p, cu->blk_pos_end, cnt[k], cand,
                                          nc, k);
                if (kept < 0) {
                    cur_fail(cu);
                    c->corrupt = TRAWL_ECORRUPT;
                    return 0;
                }
                nc = (uint32_t)kept;
                continue;
            }
            /* few candidates in many positions: decode, then search */
            if (pos_decode(&p, cu->blk_pos_end, cnt[k], tmp) < 0) {
                cur_fail(cu);
                c->corrupt = TRAWL_ECORRUPT;
                return 0;
            }
            uint32_t keep = 0, j = 0;
            for (uint32_t i = 0; i < nc; i++) {
                uint32_t want = cand[i] + k;
                j = lower_bound(tmp, j, cnt[k], want);
                if (j == cnt[k])
                    break;
                if (tmp[j] == want)
                    cand[keep++] = cand[i];
            }
            nc = keep;
        }
        m->ptf[f] = nc;
        any += nc;
    }
    return any > 0;
}

/* For a near quote: need[k] = how many of its words are word k's term
 * when k is the first of them, else 0. NULL when out of memory. */
static uint32_t *near_groups(trawl_arena *a, const qnode *q)
{
    uint32_t n = q->nterms;
    uint32_t *need = trawl_arena_calloc(a, n ? n : 1, sizeof(*need));
    if (need == NULL)
        return NULL;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t j = 0;
        while (j < k && !(q->lens[j] == q->lens[k] &&
                          memcmp(q->terms[j], q->terms[k], q->lens[k]) == 0))
            j++;
        need[j]++;
    }
    return need;
}

/* Count phrase occurrences at the aligned doc, per field. */
static int phrase_check(ctx *c, matcher *m)
{
    if (m->slop == 0)
        return phrase_exact(c, m);
    size_t total = 0;
    for (uint32_t k = 0; k < m->ncur; k++) {
        if (cur_tfs(m->cur[k]) < 0) {
            c->corrupt = TRAWL_ECORRUPT;
            return 0;
        }
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            total += m->cur[k]->tf[f][m->cur[k]->i];
    }
    uint32_t *buf = scratch(c, total);
    if (buf == NULL) {
        c->corrupt = TRAWL_ENOMEM;
        return 0;
    }
    uint32_t *pos[Q_MAX_LEAVES * 2];
    uint32_t *start = buf;
    uint32_t n = m->nword > Q_MAX_LEAVES * 2 ? Q_MAX_LEAVES * 2 : m->nword;
    for (uint32_t k = 0; k < n; k++) {
        if (cur_positions(m->cur[k], start) < 0) {
            c->corrupt = TRAWL_ECORRUPT;
            return 0;
        }
        pos[k] = start;
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            start += m->cur[k]->tf[f][m->cur[k]->i];
    }
    uint32_t any = 0;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        m->ptf[f] = 0;
        if (m->field != Q_ANY_FIELD && m->field != f)
            continue;
        /* Field f's positions of term k start after its earlier fields. */
        uint32_t *pf[Q_MAX_LEAVES * 2], cnt[Q_MAX_LEAVES * 2],
            at[Q_MAX_LEAVES * 2];
        for (uint32_t k = 0; k < n; k++) {
            const cursor *cu = m->cur[k];
            uint32_t off = 0;
            for (int g = 0; g < f; g++)
                off += cu->tf[g][cu->i];
            pf[k] = pos[k] + off;
            cnt[k] = cu->tf[f][cu->i];
            at[k] = 0;
        }
        if (m->slop == 0) {
            for (uint32_t j = 0; j < cnt[0]; j++) {
                uint32_t p0 = pf[0][j];
                int ok = 1;
                for (uint32_t k = 1; k < n && ok; k++) {
                    while (at[k] < cnt[k] && pf[k][at[k]] < p0 + k)
                        at[k]++;
                    ok = at[k] < cnt[k] && pf[k][at[k]] == p0 + k;
                }
                if (ok)
                    m->ptf[f]++;
            }
        } else {
            /* Near: every other word within span of the first, either
             * side, where span = words - 1 + slop; a word the quote has
             * r times needs r positions there (one occurrence is not
             * two words). need[k] is 0 for the repeats after the first,
             * which word 0's group counts at p0 itself. */
            uint32_t span = n - 1 + m->slop;
            const uint32_t *need = m->need;
            uint32_t at0 = 0;
            for (uint32_t j = 0; j < cnt[0]; j++) {
                uint32_t p0 = pf[0][j];
                uint32_t lo = p0 > span ? p0 - span : 0;
                int ok = 1;
                if (need != NULL && need[0] > 1) {
                    while (pf[0][at0] < lo)
                        at0++; /* stops at p0 at the latest */
                    ok = at0 + need[0] - 1 < cnt[0] &&
                         pf[0][at0 + need[0] - 1] <= p0 + span;
                }
                for (uint32_t k = 1; k < n && ok; k++) {
                    uint32_t r = need != NULL ? need[k] : 1;
                    if (r == 0)
                        continue;
                    while (at[k] < cnt[k] && pf[k][at[k]] < lo)
                        at[k]++;
                    ok = at[k] + r - 1 < cnt[k] &&
                         pf[k][at[k] + r - 1] <= p0 + span;
                }
                if (ok)
                    m->ptf[f]++;
            }
        }
        any += m->ptf[f];
    }
    return any > 0;
}

/* Align a phrase's cursors on the first doc >= target that has all its
 * words (positions not checked). */
static uint32_t phrase_align(matcher *m, uint32_t target)
{
    uint32_t d = target;
    int moved = 1;
    while (moved) {
        moved = 0;
        for (uint32_t k = 0; k < m->ncur; k++) {
            cur_seek(m->cur[k], d);
            if (m->cur[k]->doc == DOC_END)
                return DOC_END;
            if (m->cur[k]->doc > d) {
                d = m->cur[k]->doc;
                moved = 1;
            }
        }
    }
    return d;
}

/*
 * Bounds are computed with the scores' own formulas, but from other
 * inputs and in another order, so a bound could come out an ulp or two
 * below the score it bounds (with k1 = 0 every document of a term scores
 * its idf give or take an ulp), and pruning would skip a document that
 * belongs on the page. Every bound is raised by this factor, far above
 * such rounding and far below any real difference in score.
 */
#define BOUND_SLACK (1 + 1e-12)

/*
 * BM25F's length normalisation of field f at length len,
 * 1 - b + b * len / avg, as omb + bn * len (ctx_init), and its inverse,
 * by which a field's tf is multiplied. Every path (scores, bounds, the
 * proximity part, and the tests' oracle) computes them this way, so a
 * document scores the same to the last bit however it is reached: one
 * division per document and field instead of one per word, field and
 * document, and none for the length's ratio.
 */
static inline double len_norm(const ctx *c, int f, double len)
{
    return c->avg[f] > 0 ? c->omb + c->bn[f] * len : 1;
}

static inline double inv_norm(const ctx *c, int f, double len)
{
    return c->avg[f] > 0 ? 1 / (c->omb + c->bn[f] * len) : 1;
}

/* Upper bound of BM25F for tf <= max_tf and field lengths >= min_len. */
static double bound(const ctx *c, const uint32_t *max_tf,
                    const uint32_t *min_len, double idf, int field)
{
    double t = 0;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        if (max_tf[f] == 0 || (field != Q_ANY_FIELD && field != f))
            continue;
        t += c->w[f] * max_tf[f] * inv_norm(c, f, (double)min_len[f]);
    }
    if (t <= 0)
        return 0;
    return BOUND_SLACK * (idf * t * (c->k1 + 1) / (c->k1 + t));
}

/* Upper bound of a TERM or PHRASE kid's score anywhere in its cursors'
 * current blocks; *last gets the first block end among them. */
static double leaf_bound(const ctx *c, const matcher *m, uint32_t *last)
{
    if (m->kind == M_FILTER || m->kind == M_DATE)
        return 0; /* scores nothing, bounds no block */
    uint32_t tf[TRAWL_NFIELDS], len[TRAWL_NFIELDS];
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        tf[f] = UINT32_MAX;
        len[f] = 0;
    }
    if (m->kind == M_TERM) {
        /* One cursor: its block's bound is computed once per block. */
        cursor *cu = m->cur[0];
        if (cu->last < *last)
            *last = cu->last;
        if (cu->bub < 0)
            cu->bub = bound(c, cu->bmax_tf, cu->bmin_len, m->lf->idf,
                            m->field);
        return cu->bub;
    }
    /* The same blocks as last time: the same bound (a cursor's block
     * sequence number only grows, so the sum changes with any block). */
    uint64_t key = 0;
    for (uint32_t k = 0; k < m->ncur; k++) {
        const cursor *cu = m->cur[k];
        key += cu->seq;
        if (cu->last < *last)
            *last = cu->last;
    }
    if (key == m->pbub_key && m->pbub >= 0)
        return m->pbub;
    /* As in doc_bound: "near" counts occurrences of its first word. */
    uint32_t nb = m->kind == M_PHRASE && m->slop > 0 ? 1 : m->ncur;
    for (uint32_t k = 0; k < m->ncur; k++) {
        const cursor *cu = m->cur[k];
        if (cu->last < *last)
            *last = cu->last;
        if (k >= nb)
            continue;
        for (int f = 0; f < TRAWL_NFIELDS; f++) {
            if (cu->bmax_tf[f] < tf[f])
                tf[f] = cu->bmax_tf[f];
            if (cu->bmin_len[f] > len[f])
                len[f] = cu->bmin_len[f];
        }
    }
    ((matcher *)m)->pbub = bound(c, tf, len, m->lf->idf, m->field);
    ((matcher *)m)->pbub_key = key;
    return m->pbub;
}

/* Upper bound of the proximity part from the pairs' block maxima:
 * acc <= 2.2 * min(tf_a, tf_b) (each occurrence has at most 5 neighbours
 * each side, weighing 1/d^2 and 0.5/d^2). */
static double prox_bound(const ctx *c)
{
    if (c->npairs == 0)
        return 0;
    double sum = 0;
    for (uint32_t k = 0; k < c->npairs; k++) {
        const matcher *ma = c->leaf_m[c->pair_a[k]];
        const matcher *mb = c->leaf_m[c->pair_b[k]];
        if (ma == NULL || mb == NULL)
            continue;
        const cursor *ca = ma->cur[0], *cb = mb->cur[0];
        double ta = 0, tb = 0;
        uint32_t minlen = ca->bmin_len[TRAWL_FIELD_BODY];
        if (cb->bmin_len[TRAWL_FIELD_BODY] > minlen)
            minlen = cb->bmin_len[TRAWL_FIELD_BODY];
        for (int f = 0; f < TRAWL_NFIELDS; f++) {
            ta += ca->bmax_tf[f];
            tb += cb->bmax_tf[f];
        }
        double acc = 2.2 * (ta < tb ? ta : tb);
        double norm = len_norm(c, TRAWL_FIELD_BODY, (double)minlen);
        if (acc > 0)
            sum += c->pair_w[k] * acc * (c->k1 + 1) / (acc + c->k1 * norm);
    }
    return BOUND_SLACK * c->w_prox * sum;
}

static double prox_doc_bound(ctx *c, uint32_t d);

/* Upper bound of the root AND's score at d from the document's term
 * frequencies (phrases: the minimum over their words) and lengths. */
static double doc_bound(ctx *c, const matcher *m, uint32_t d)
{
    double ub = 0;
    uint32_t len[TRAWL_NFIELDS];
    for (int f = 0; f < TRAWL_NFIELDS; f++)
        len[f] = trawl__seg_field_len(c->seg, d, f);
    for (uint32_t k = 0; k < m->nkids; k++) {
        const matcher *kid = m->kids[k];
        if (kid->kind == M_FILTER || kid->kind == M_DATE)
            continue;
        uint32_t tf[TRAWL_NFIELDS];
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            tf[f] = UINT32_MAX;
        /* An exact phrase occurs at most as often as its rarest word; a
         * "near" match is counted per occurrence of its first word. */
        uint32_t nb = kid->kind == M_PHRASE && kid->slop > 0 ? 1 : kid->ncur;
        for (uint32_t j = 0; j < nb; j++) {
            cursor *cu = kid->cur[j];
            if (cur_tfs(cu) < 0)
                return INFINITY;
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                if (cu->tf[f][cu->i] < tf[f])
                    tf[f] = cu->tf[f][cu->i];
        }
        ub += bound(c, tf, len, kid->lf->idf, kid->field);
    }
    return ub + prox_doc_bound(c, d);
}

/* The root AND with pruning: align, bound, then verify phrases. */
static uint32_t and_pruned(ctx *c, matcher *m, uint32_t target)
{
    uint32_t d = target;
    for (;;) {
        int moved = 1;
        while (moved) {
            moved = 0;
            for (uint32_t k = 0; k < m->nkids; k++) {
                matcher *kid = m->kids[k];
                uint32_t kd = kid->kind == M_PHRASE ? phrase_align(kid, d)
                                                     : m_seek(c, kid, d);
                if (kd == DOC_END)
                    return m->doc = DOC_END;
                if (kd > d) {
                    d = kd;
                    moved = 1;
                }
            }
        }
        if (c->pruning) {
            uint32_t last = UINT32_MAX;
            double ub = 0;
            for (uint32_t k = 0; k < m->nkids; k++)
                ub += leaf_bound(c, m->kids[k], &last);
            ub += prox_bound(c);
            if (ub <= c->theta) {
                c->skipped = 1;
                d = last >= d ? last + 1 : d + 1;
                if (d == 0 || d >= c->seg->ndocs)
                    return m->doc = DOC_END;
                continue;
            }
        }
        /* Before reading positions: a bound from this document's own
         * term frequencies and lengths (a phrase occurs at most as often
         * as its rarest word). */
        if (c->pruning && doc_bound(c, m, d) <= c->theta) {
            c->skipped = 1;
            d++;
            continue;
        }
        int ok = 1;
        for (uint32_t k = 0; k < m->nkids && ok; k++) {
            matcher *kid = m->kids[k];
            if (kid->kind != M_PHRASE)
                continue;
            ok = phrase_check(c, kid);
            kid->doc = d;
            kid->positioned = 1;
        }
        if (c->corrupt)
            return m->doc = DOC_END;
        for (uint32_t k = 0; k < m->nneg && ok; k++)
            ok = m_seek(c, m->neg[k], d) != d;
        if (ok)
            return m->doc = d;
        d++;
    }
}

/* Pruning needs every positive kid of the root AND to be a TERM or
 * PHRASE (their block maxima bound the score), or a filter that scores
 * nothing (author:, site:, dates), and one of them to score. */
static int prunable(const matcher *m)
{
    if (m->kind != M_AND)
        return 0;
    int scored = 0;
    for (uint32_t k = 0; k < m->nkids; k++) {
        int kind = m->kids[k]->kind;
        if (kind == M_TERM || kind == M_PHRASE)
            scored = 1;
        else if (kind != M_FILTER && kind != M_DATE)
            return 0;
    }
    return scored;
}

static uint32_t m_seek(ctx *c, matcher *m, uint32_t target)
{
    if (m == c->root && c->prune) {
        if (m->positioned && m->doc >= target)
            return m->doc;
        m->positioned = 1;
        return and_pruned(c, m, target);
    }
    if (m->positioned && m->doc >= target)
        return m->doc;
    m->positioned = 1;
    switch (m->kind) {
    case M_EMPTY:
        return m->doc = DOC_END;
    case M_TERM: {
        cursor *cu = m->cur[0];
        cur_seek(cu, target);
        while (cu->doc != DOC_END && !term_ok(m))
            cur_next(cu);
        return m->doc = cu->doc;
    }
    case M_PHRASE: {
        uint32_t d = target;
        for (;;) {
            int moved = 1;
            while (moved) {
                moved = 0;
                for (uint32_t k = 0; k < m->ncur; k++) {
                    cur_seek(m->cur[k], d);
                    if (m->cur[k]->doc == DOC_END)
                        return m->doc = DOC_END;
                    if (m->cur[k]->doc > d) {
                        d = m->cur[k]->doc;
                        moved = 1;
                    }
                }
            }
            if (phrase_check(c, m))
                return m->doc = d;
            if (c->corrupt)
                return m->doc = DOC_END;
            d++;
        }
    }
    case M_AND: {
        uint32_t d = target;
        for (;;) {
            int moved = 1;
            while (moved) {
                moved = 0;
                for (uint32_t k = 0; k < m->nkids; k++) {
                    uint32_t kd = m_seek(c, m->kids[k], d);
                    if (kd == DOC_END)
                        return m->doc = DOC_END;
                    if (kd > d) {
                        d = kd;
                        moved = 1;
                    }
                }
            }
            int excluded = 0;
            for (uint32_t k = 0; k < m->nneg && !excluded; k++)
                excluded = m_seek(c, m->neg[k], d) == d;
            if (!excluded)
                return m->doc = d;
            d++;
        }
    }
    case M_DATE: {
        const trawl_segment *sg = c->seg;
        for (uint32_t d = target; d < sg->ndocs; d++) {
            int64_t t = trawl__seg_date(sg, d);
            if (t != INT64_MIN && t >= m->from && t <= m->to)
                return m->doc = d;
        }
        return m->doc = DOC_END;
    }
    case M_FILTER:
        return m->doc = m_seek(c, m->kids[0], target);
    case M_OR: {
        uint32_t best = DOC_END;
        for (uint32_t k = 0; k < m->nkids; k++) {
            uint32_t kd = m_seek(c, m->kids[k], target);
            if (kd < best)
                best = kd;
        }
        return m->doc = best;
    }
    case M_MAT: {
        uint32_t n = c->seg->ndocs;
        if (target >= n)
            return m->doc = DOC_END;
        size_t w = target >> 6, nw = ((size_t)n + 63) >> 6;
        uint64_t x = m->bits[w] & (~0ull << (target & 63));
        while (x == 0) {
            if (++w >= nw)
                return m->doc = DOC_END;
            x = m->bits[w];
        }
        return m->doc = (uint32_t)(w << 6) + (uint32_t)__builtin_ctzll(x);
    }
    }
    return m->doc = DOC_END;
}

static double bm25f(const ctx *c, const trawl_segment *s, uint32_t d,
                    const uint32_t *tf, double idf, int field)
{
    double t = 0;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        if (tf[f] == 0 || (field != Q_ANY_FIELD && field != f))
            continue;
        double len = trawl__seg_field_len(s, d, f);
        t += c->w[f] * tf[f] * inv_norm(c, f, len);
    }
    if (t <= 0)
        return 0;
    return idf * t * (c->k1 + 1) / (c->k1 + t);
}

static double m_score(const ctx *c, const matcher *m, uint32_t d)
{
    double sum = 0;
    switch (m->kind) {
    case M_TERM: {
        if (m->doc != d)
            return 0;
        cursor *cu = m->cur[0];
        uint32_t tf[TRAWL_NFIELDS];
        cur_tfs(cu);
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            tf[f] = cu->tf[f][cu->i];
        return bm25f(c, c->seg, d, tf, m->lf->idf, m->field);
    }
    case M_PHRASE:
        if (m->doc != d)
            return 0;
        return bm25f(c, c->seg, d, m->ptf, m->lf->idf, m->field);
    case M_AND:
    case M_OR:
        for (uint32_t k = 0; k < m->nkids; k++)
            if (m->kids[k]->doc == d)
                sum += m_score(c, m->kids[k], d);
        return sum;
    case M_MAT:
        return m->doc == d && m->acc != NULL ? m->acc[d] : 0;
    default:
        return 0;
    }
}

static const leaf *find_leaf(const ctx *c, const qnode *q)
{
    if (q->leaf < c->nleaves && c->leaves[q->leaf].q == q)
        return &c->leaves[q->leaf];
    return NULL;
}

/*
 * The proximity signal: for each pair of adjacent query words (a, b),
 *   acc = sum over occurrences p of a and q of b in the same field with
 *         1 <= |q - p| <= PROX_WINDOW of (q > p ? 1 : 0.5) / (q - p)^2
 *   w = max(idf_a, idf_b, PROX_PAIR_FLOOR)
 *   prox = w_prox * sum over pairs of
 *          w * acc * (k1 + 1) / (acc + k1 * (1 - b + b * len_body / avg_body))
 * so words standing together, in query order, add up to
 * w_prox * w * (k1 + 1) per pair on top of BM25F.
 *
 * The pair's weight is the larger idf, not the smaller: two words next to
 * each other occur in at most as many documents as the rarer one, so the
 * pair tells at least as much as its rarer word. With the smaller idf, a
 * pair holding a common word ("new deal", "war on terror": "new" and "on"
 * are in nearly every document, idf ~0.002) weighed nothing, and the
 * words typed as a phrase counted for nothing. The floor does the same
 * for pairs of common words ("to be or not to be", the "of the" of
 * "state of the union"): a pair weighs at least as much as a word in
 * about a third of the documents (idf 1). Measured with
 * bench/gen_spans.py (MRR@10 of unquoted spans and of the known-item sets;
 * figures in docs/protocol.md, "Ranking").
 */
#define PROX_WINDOW 5
#define PROX_PAIR_FLOOR 1.0

/* The weight of a pair of adjacent query words of idfs ia and ib. */
static double prox_pair_w(double ia, double ib)
{
    double w = ia > ib ? ia : ib;
    return w > PROX_PAIR_FLOOR ? w : PROX_PAIR_FLOOR;
}

/* Weight of a neighbour at d = q - p positions (-5..5): 1/d^2 after,
 * 0.5/d^2 before, in units of 1/7200 so that sums are exact integers
 * (their order does not matter); index d + 5, and 11 for out of reach. */
#define PROX_UNIT 7200.0
#define PW_M5 144u
#define PW_M4 225u
#define PW_M3 400u
#define PW_M2 900u
#define PW_M1 3600u
#define PW_P1 7200u
#define PW_P2 1800u
#define PW_P3 800u
#define PW_P4 450u
#define PW_P5 288u
static const uint32_t prox_w[2 * PROX_WINDOW + 2] = {
    PW_M5, PW_M4, PW_M3, PW_M2, PW_M1, 0,
    PW_P1, PW_P2, PW_P3, PW_P4, PW_P5, 0};

/* The same weights summed over a window of neighbours given as bits:
 * prox_lo[x] for b at p-5..p-1 (bit i set: b at p - 5 + i), prox_hi[x]
 * for b at p+1..p+5 (bit i: b at p + 1 + i). */
#define PXB(x, i, v) ((((x) >> (i)) & 1u) * (v))
#define PX_LO(x)                                                           \
    (PXB(x, 0, PW_M5) + PXB(x, 1, PW_M4) + PXB(x, 2, PW_M3) +              \
     PXB(x, 3, PW_M2) + PXB(x, 4, PW_M1))
#define PX_HI(x)                                                           \
    (PXB(x, 0, PW_P1) + PXB(x, 1, PW_P2) + PXB(x, 2, PW_P3) +              \
     PXB(x, 3, PW_P4) + PXB(x, 4, PW_P5))
#define PX4(M, x) M(x##u), M(x##u + 1u), M(x##u + 2u), M(x##u + 3u)
#define PX32(M)                                                            \
    PX4(M, 0), PX4(M, 4), PX4(M, 8), PX4(M, 12), PX4(M, 16), PX4(M, 20),  \
        PX4(M, 24), PX4(M, 28)
static const uint32_t prox_lo[32] = {PX32(PX_LO)};
static const uint32_t prox_hi[32] = {PX32(PX_HI)};
/* The same mirrored, for b's positions read against a's marked: bit i of
 * x is a at q - 5 + i (prox_lo_rev) or q + 1 + i (prox_hi_rev) for b at
 * q. */
#define PXR_LO(x)                                                          \
    (PXB(x, 0, PW_P5) + PXB(x, 1, PW_P4) + PXB(x, 2, PW_P3) +              \
     PXB(x, 3, PW_P2) + PXB(x, 4, PW_P1))
#define PXR_HI(x)                                                          \
    (PXB(x, 0, PW_M1) + PXB(x, 1, PW_M2) + PXB(x, 2, PW_M3) +              \
     PXB(x, 3, PW_M4) + PXB(x, 4, PW_M5))
static const uint32_t prox_lo_rev[32] = {PX32(PXR_LO)};
static const uint32_t prox_hi_rev[32] = {PX32(PXR_HI)};

/* acc of one field's occurrences, in units, through the bitmap bm
 * (all zero, and left so): b's positions are marked, and each
 * occurrence of a reads the eleven bits around it and adds their
 * weights. */
static uint64_t pair_acc_bm(unsigned char *bm, const uint32_t *pa,
                            uint32_t na, const uint32_t *pb, uint32_t nb)
{
    /* bit q + 8 stands for position q, so p - 5 stays above zero */
    for (uint32_t j = 0; j < nb; j++) {
        uint32_t q = pb[j] + 8;
        bm[q >> 3] |= (unsigned char)(1u << (q & 7));
    }
    uint64_t acc = 0;
    for (uint32_t i = 0; i < na; i++) {
        uint32_t s = pa[i] + 3; /* bit of p - 5 */
        const unsigned char *x = bm + (s >> 3);
        uint32_t w = ((uint32_t)x[0] | (uint32_t)x[1] << 8 |
                      (uint32_t)x[2] << 16) >>
                     (s & 7);
        acc += prox_lo[w & 31] + prox_hi[(w >> 6) & 31];
    }
    for (uint32_t j = 0; j < nb; j++)
        bm[(pb[j] + 8) >> 3] = 0;
    return acc;
}

/* acc of one field's occurrences, in units: a's positions pa[0..na)
 * against b's pb[0..nb), through the bitmap where many pairs are
 * possible, else pair by pair. */
static uint64_t pair_acc_field(ctx *c, const uint32_t *pa, uint32_t na,
                               const uint32_t *pb, uint32_t nb)
{
    uint64_t acc = 0;
    if (na == 0 || nb == 0)
        return 0;
    if ((uint64_t)na * nb > 16 && pa[na - 1] < PROX_BM_POS &&
        pb[nb - 1] < PROX_BM_POS && prox_bitmap(c) != NULL)
        return pair_acc_bm(c->s->prox_bm, pa, na, pb, nb);
    if ((uint64_t)na * nb <= 256) {
        /* few occurrences: every pair, without a branch (SSE2: four of
         * b at a time, looked at only if one is in reach) */
        for (uint32_t i = 0; i < na; i++) {
            uint32_t p = pa[i] - PROX_WINDOW;
            uint32_t j = 0;
#ifdef __SSE2__
            const __m128i bias = _mm_set1_epi32((int)0x80000000u);
            const __m128i lim =
                _mm_set1_epi32((int)(0x80000000u + 2 * PROX_WINDOW));
            const __m128i vp = _mm_set1_epi32((int)p);
            for (; j + 4 <= nb; j += 4) {
                __m128i d = _mm_sub_epi32(
                    _mm_loadu_si128((const __m128i *)(const void *)(pb + j)),
                    vp);
                __m128i out = _mm_cmpgt_epi32(_mm_xor_si128(d, bias), lim);
                if (_mm_movemask_epi8(out) == 0xffff)
                    continue;
                for (uint32_t k = j; k < j + 4; k++) {
                    uint32_t e = pb[k] - p;
                    acc += prox_w[e <= 2 * PROX_WINDOW ? e
                                                       : 2 * PROX_WINDOW + 1];
                }
            }
#endif
            for (; j < nb; j++) {
                uint32_t d = pb[j] - p;
                acc += prox_w[d <= 2 * PROX_WINDOW ? d : 2 * PROX_WINDOW + 1];
            }
        }
        return acc;
    }
    uint32_t j0 = 0;
    for (uint32_t i = 0; i < na; i++) {
        uint32_t p = pa[i];
        while (j0 < nb && pb[j0] + PROX_WINDOW < p)
            j0++;
        for (uint32_t j = j0; j < nb && pb[j] <= p + PROX_WINDOW; j++)
            acc += prox_w[pb[j] + PROX_WINDOW - p];
    }
    return acc;
}

static double pair_acc(ctx *c, const uint32_t *pa, const uint32_t *pb,
                       const uint32_t *na, const uint32_t *nb)
{
    uint64_t acc = 0;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        acc += pair_acc_field(c, pa, na[f], pb, nb[f]);
        pa += na[f];
        pb += nb[f];
    }
    return (double)acc / PROX_UNIT;
}

/* What pos_walk does with each position. */
enum { PWALK_MARK, PWALK_PROBE, PWALK_STORE };

/* The three bitmap bytes from x, as pair_acc_bm reads them. */
static inline uint32_t bm_window(const unsigned char *x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t w;
    memcpy(&w, x, 4);
    return w;
#else
    return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16;
#endif
}

/*
 * Walk n position deltas (the first from 0) at *pp: with PWALK_STORE
 * store each position in out (pos_decode); with PWALK_MARK set its bit in
 * bm (bit q + 8 for position q) and store the byte's index in out (for
 * clearing just those bytes), or with PWALK_PROBE add to *acc the
 * weights of the marked bits around it: pair_acc_bm straight from the
 * index, without storing the positions. One-byte deltas, the common case,
 * go eight at a time, and up to four one- or two-byte deltas (sparse
 * words in long articles, or the last few of a list) without a branch on
 * their length. *last gets the last position acted on (0 if none).
 * Returns 0; 1 when a position reaches PROX_BM_POS in a bitmap mode (the
 * walk stops there: the caller goes without the bitmap); -1 if the input
 * is damaged. Inlined with a constant mode, so each use is its own loop.
 */
static inline __attribute__((always_inline)) int
pos_walk(const unsigned char **pp, const unsigned char *end, uint32_t n,
         int mode, unsigned char *bm, uint64_t *acc, uint32_t *last,
         uint32_t *out, uint32_t lim, const uint32_t *plo,
         const uint32_t *phi)
{
    const unsigned char *p = *pp;
    uint32_t pos = 0, k = 0, done = 0;
    uint64_t sum = 0;
#define PWALK_AT(q)                                                        \
    do {                                                                   \
        uint32_t q_ = (q);                                                 \
        if (mode == PWALK_STORE) {                                         \
            *out++ = q_;                                                   \
        } else if (q_ >= lim) {                                            \
            goto far;                                                      \
        } else if (mode == PWALK_MARK) {                                   \
            uint32_t b_ = q_ + 8;                                          \
            bm[b_ >> 3] |= (unsigned char)(1u << (b_ & 7));                \
            *out++ = b_ >> 3;                                              \
        } else {                                                           \
            uint32_t s_ = q_ + 3;                                          \
            uint32_t w_ = bm_window(bm + (s_ >> 3)) >> (s_ & 7);           \
            sum += plo[w_ & 31] + phi[(w_ >> 6) & 31];                     \
        }                                                                  \
        done = q_;                                                         \
    } while (0)
    while (k < n) {
        if (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (n - k >= 8 && (w & 0x8080808080808080ull) == 0) {
                for (int j = 0; j < 8; j++) {
                    pos += (uint32_t)(w >> (8 * j)) & 0x7f;
                    PWALK_AT(pos);
                }
                k += 8;
                p += 8;
                continue;
            }
            /* up to four one- or two-byte deltas within the eight bytes
             * (also the last few of the list) */
            uint32_t j = 0, m = n - k < 4 ? n - k : 4;
            for (; j < m; j++) {
                uint32_t c0 = p[0], c1 = p[1];
                if (c0 & c1 & 0x80)
                    break;
                uint32_t two = c0 >> 7;
                pos += (c0 & 0x7f) | ((c1 & 0x7f) << 7 & (0u - two));
                PWALK_AT(pos);
                p += 1 + two;
            }
            k += j;
            if (j == m)
                continue;
        }
        uint64_t v;
        if (p < end && *p < 0x80) {
            v = *p++;
        } else if (trawl__get_varint(&p, end, &v) || v > UINT32_MAX ||
                   (uint64_t)pos + v > UINT32_MAX) {
            *last = done;
            return -1;
        }
        pos += (uint32_t)v;
        PWALK_AT(pos);
        k++;
    }
#undef PWALK_AT
    *pp = p;
    *last = done;
    if (mode == PWALK_PROBE)
        *acc += sum;
    return 0;
far:
    *last = done;
    if (mode == PWALK_PROBE)
        *acc += sum;
    return 1;
}

static int pos_decode(const unsigned char **pp, const unsigned char *end,
                      uint32_t n, uint32_t *out)
{
    uint32_t last;
    return pos_walk(pp, end, n, PWALK_STORE, NULL, NULL, &last, out, 0, NULL,
                    NULL) < 0
               ? -1
               : 0;
}

/* The bits set in x (below 2^16), without a popcount instruction. */
static inline uint32_t pop16(uint32_t x)
{
    x -= (x >> 1) & 0x5555u;
    x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
    x = (x + (x >> 4)) & 0x0f0fu;
    return (x + (x >> 8)) & 0x1fu;
}

/* prox_w mirrored: the weight of b at p - 5 + e against a at p (index
 * e, 0..10), for walking b's positions against a's (pos_near). */
static const uint32_t prox_w_rev[2 * PROX_WINDOW + 2] = {
    PW_P5, PW_P4, PW_P3, PW_P2, PW_P1, 0,
    PW_M1, PW_M2, PW_M3, PW_M4, PW_M5, 0};

/*
 * Add to *acc one field's part of a pair, in units, walking the n
 * position deltas at p of one word against the ns positions s (ascending)
 * of the other: wt[e] weighs a walked position q against s[j] =
 * q - PROX_WINDOW + e (prox_w when the walked word is a, prox_w_rev when
 * it is b). For a word much more frequent than the other, only its
 * positions within reach of the other's count: runs of one- and two-byte
 * deltas that end short of the next s[j] - PROX_WINDOW are stepped over
 * sixteen bytes at a time (their sum in two psadbw), one position at a time
 * is looked at only near the other word, and the walk stops past its
 * last position. Counts the steps in st[0] and the walks stopped early in
 * st[1] (trawl__search_prox_stats). 0, or -1 if the input is damaged
 * (where it is read: a walk that stops early does not see the rest).
 */
static int pos_near(const unsigned char *p, const unsigned char *end,
                    uint32_t n, const uint32_t *s, uint32_t ns,
                    const uint32_t *wt, uint64_t *acc, uint64_t *st)
{
    uint64_t pos = 0, sum = 0;
    uint32_t k = 0, i = 0;
    /* the first position that can be within reach of s[i] */
    uint64_t want = s[0] > PROX_WINDOW ? s[0] - PROX_WINDOW : 0;
    int near = 0; /* the last step over stopped short of want */
    uint64_t steps = 0;
    while (k < n) {
#ifdef __SSE2__
        if (!near) {
            const __m128i lo7 = _mm_set1_epi8(0x7f);
            const __m128i idx = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                              10, 11, 12, 13, 14, 15);
            while (n - k >= 16 && end - p >= 16) {
                __m128i x =
                    _mm_loadu_si128((const __m128i *)(const void *)p);
                /* continuation bytes; the run ends at the last
                 * terminator */
                uint32_t m = (uint32_t)_mm_movemask_epi8(x);
                uint32_t t = ~m & 0xffffu;
                if (t == 0)
                    break;
                uint32_t len = 32u - (uint32_t)__builtin_clz(t);
                m &= (1u << len) - 1;
                uint32_t nv = len - pop16(m);
                /* three bytes or more (a long jump), or past the list */
                if ((m & (m << 1)) != 0 || nv > n - k)
                    break;
                /* a second byte counts 128 times: once in all, 127
                 * times more in the second bytes */
                __m128i in = _mm_cmplt_epi8(idx, _mm_set1_epi8((char)len));
                __m128i v = _mm_and_si128(_mm_and_si128(x, lo7), in);
                __m128i sec = _mm_slli_si128(
                    _mm_cmplt_epi8(x, _mm_setzero_si128()), 1);
                __m128i s1 = _mm_sad_epu8(v, _mm_setzero_si128());
                __m128i s2 =
                    _mm_sad_epu8(_mm_and_si128(v, sec), _mm_setzero_si128());
                __m128i tot = _mm_add_epi64(
                    s1, _mm_sub_epi64(_mm_slli_epi64(s2, 7), s2));
                uint64_t add =
                    (uint64_t)(uint32_t)_mm_cvtsi128_si32(tot) +
                    (uint64_t)(uint32_t)_mm_cvtsi128_si32(
                        _mm_srli_si128(tot, 8));
                if (pos + add >= want)
                    break;
                pos += add;
                p += len;
                k += nv;
                steps++;
            }
            near = 1;
            if (k >= n)
                break;
        }
#endif
        uint64_t v;
        if (end - p >= 2 && (p[0] & p[1] & 0x80) == 0) {
            /* one or two bytes */
            uint32_t two = p[0] >> 7;
            v = (p[0] & 0x7fu) | ((p[1] & 0x7fu) << 7 & (0u - two));
            p += 1 + two;
        } else if (trawl__get_varint(&p, end, &v) || v > UINT32_MAX ||
                   pos + v > UINT32_MAX) {
            return -1;
        }
        pos += v;
        k++;
        if (pos < want)
            continue;
        while ((uint64_t)s[i] + PROX_WINDOW < pos)
            if (++i == ns) {
                st[1] += k < n;
                break;
            }
        if (i == ns)
            break;
        for (uint32_t j = i; j < ns && s[j] <= pos + PROX_WINDOW; j++)
            sum += wt[s[j] + PROX_WINDOW - pos];
        want = s[i] > PROX_WINDOW ? s[i] - PROX_WINDOW : 0;
        near = 0;
    }
    st[0] += steps;
    *acc += sum;
    return 0;
}

/* The proximity part of the score at d (exact: from positions), or an
 * upper bound of it from the document's own term frequencies, without
 * positions (each occurrence has at most 5 neighbours each side, weighing
 * 1/d^2 and 0.5/d^2, so acc <= 2.2 * min(tf_a, tf_b)). */
static double prox(ctx *c, uint32_t d, int exact)
{
    double sum = 0;
    double norm = len_norm(c, TRAWL_FIELD_BODY,
                           trawl__seg_field_len(c->seg, d, TRAWL_FIELD_BODY));
    for (uint32_t k = 0; k < c->npairs; k++) {
        struct matcher *ma = c->leaf_m[c->pair_a[k]];
        struct matcher *mb = c->leaf_m[c->pair_b[k]];
        if (ma == NULL || mb == NULL || ma->doc != d || mb->doc != d)
            continue;
        cursor *ca = ma->cur[0], *cb = mb->cur[0];
        if (cur_tfs(ca) < 0 || cur_tfs(cb) < 0) {
            c->corrupt = TRAWL_ECORRUPT;
            return 0;
        }
        uint32_t na[TRAWL_NFIELDS], nb[TRAWL_NFIELDS];
        size_t ta = 0, tb = 0;
        for (int f = 0; f < TRAWL_NFIELDS; f++) {
            na[f] = ca->tf[f][ca->i];
            nb[f] = cb->tf[f][cb->i];
            ta += na[f];
            tb += nb[f];
        }
        double acc;
        if (exact) {
            uint32_t *buf = scratch(c, ta + tb);
            if (buf == NULL) {
                c->corrupt = TRAWL_ENOMEM;
                return 0;
            }
            if (cur_positions(ca, buf) < 0 ||
                cur_positions(cb, buf + ta) < 0) {
                c->corrupt = TRAWL_ECORRUPT;
                return 0;
            }
            acc = pair_acc(c, buf, buf + ta, na, nb);
        } else {
            acc = 2.2 * (double)(ta < tb ? ta : tb);
        }
        if (acc > 0)
            sum += c->pair_w[k] * acc * (c->k1 + 1) / (acc + c->k1 * norm);
    }
    return exact ? c->w_prox * sum : BOUND_SLACK * c->w_prox * sum;
}

static double prox_score(ctx *c, uint32_t d)
{
    return prox(c, d, 1);
}

static double prox_doc_bound(ctx *c, uint32_t d)
{
    return prox(c, d, 0);
}

/* Adjacent pairs of the positive, unrestricted TERM leaves reachable from
 * the root through AND nodes only, in query order. */
static void collect_prox(ctx *c, const qnode *n, int32_t *prev)
{
    if (n->kind == Q_AND) {
        for (uint32_t i = 0; i < n->nkids; i++)
            collect_prox(c, n->kids[i], prev);
        return;
    }
    if (n->kind != Q_TERM || n->field != Q_ANY_FIELD)
        return;
    const leaf *lf = find_leaf(c, n);
    if (lf == NULL)
        return;
    int32_t me = (int32_t)(lf - c->leaves);
    if (*prev >= 0 && c->npairs < Q_MAX_LEAVES) {
        const qnode *pq = c->leaves[*prev].q;
        if (!(pq->lens[0] == n->lens[0] &&
              memcmp(pq->terms[0], n->terms[0], n->lens[0]) == 0)) {
            double ia = c->leaves[*prev].idf, ib = c->leaves[me].idf;
            c->pair_a[c->npairs] = (uint32_t)*prev;
            c->pair_b[c->npairs] = (uint32_t)me;
            c->pair_w[c->npairs] = prox_pair_w(ia, ib);
            c->npairs++;
        }
    }
    *prev = me;
}

static matcher *m_new(ctx *c, int kind)
{
    matcher *m = trawl_arena_calloc(c->a, 1, sizeof(*m));
    if (m != NULL)
        m->kind = kind;
    return m;
}

/* Bytes a query's M_MATs may take, over all segments (about 9 bytes per
 * document each, 25 with the length norms): past it, a wide OR is read
 * through its words' cursors as any OR (the same results, slower), so
 * that a query of many wide prefixes over millions of documents does not
 * hold gigabytes. Settable for tests. */
size_t trawl__search_mat_budget = (size_t)64 << 20;

/* Turn m, an OR of at least OR_WIDE kids, into an M_MAT when they are
 * all words: each word's postings are read once, in order, marking its
 * documents and adding its score to theirs (the same sums, in the same
 * order, as m_score adds them document at a time). 0 (m may be
 * unchanged), or -1 out of memory. */
static int or_materialize(ctx *c, matcher *m)
{
    /* (words that are not leaves only mark: they are never scored) */
    for (uint32_t k = 0; k < m->nkids; k++)
        if (m->kids[k]->kind != M_TERM ||
            (m->kids[k]->lf == NULL && c->mat_score))
            return 0;
    uint32_t n = c->seg->ndocs;
    size_t nw = ((size_t)n + 63) >> 6;
    size_t need = nw * 8 + (c->mat_score ? (size_t)n * 8 : 0) +
                  (c->mat_score && c->nrm_seg != c->seg
                       ? (size_t)n * TRAWL_NFIELDS * 8
                       : 0);
    if (c->mat_bytes + need > trawl__search_mat_budget)
        return 0;
    c->mat_bytes += need;
    uint64_t *bits = trawl_arena_calloc(c->a, nw ? nw : 1, sizeof(*bits));
    /* scores are set on a document's first word: untouched pages of a
     * big segment's array are never written */
    double *acc = c->mat_score ? trawl_arena_alloc(c->a, (n ? n : 1) *
                                                             sizeof(*acc))
                               : NULL;
    if (bits == NULL || (c->mat_score && acc == NULL))
        return -1;
    /* Many postings per document: each field's length norm once per
     * document (as bm25f computes it), not once per posting. */
    uint64_t npost = 0;
    for (uint32_t k = 0; k < m->nkids; k++)
        npost += m->kids[k]->cur[0]->remaining + m->kids[k]->cur[0]->n;
    double *nrm = c->nrm_seg == c->seg ? c->nrm : NULL;
    if (nrm == NULL && acc != NULL && npost >= 2 * (uint64_t)n) {
        nrm = trawl_arena_alloc(c->a, (size_t)(n ? n : 1) * TRAWL_NFIELDS *
                                          sizeof(*nrm));
        if (nrm == NULL)
            return -1;
        for (uint32_t d = 0; d < n; d++)
            for (int f = 0; f < TRAWL_NFIELDS; f++) {
                double len = trawl__seg_field_len(c->seg, d, f);
                nrm[(size_t)d * TRAWL_NFIELDS + f] = inv_norm(c, f, len);
            }
        /* the query's other wide alternatives here share them */
        c->nrm_seg = c->seg;
        c->nrm = nrm;
    }
    for (uint32_t k = 0; k < m->nkids; k++) {
        matcher *kid = m->kids[k];
        cursor *cu = kid->cur[0];
        for (; cu->doc != DOC_END; cur_next(cu)) {
            uint32_t d = cu->doc;
            if (d >= n) {
                c->corrupt = TRAWL_ECORRUPT;
                return 0;
            }
            if (!term_ok(kid))
                continue;
            uint64_t bit = 1ull << (d & 63);
            int first = !(bits[d >> 6] & bit);
            bits[d >> 6] |= bit;
            if (acc == NULL)
                continue;
            uint32_t tf[TRAWL_NFIELDS];
            if (cur_tfs(cu) < 0) {
                c->corrupt = TRAWL_ECORRUPT;
                return 0;
            }
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                tf[f] = cu->tf[f][cu->i];
            double sc;
            if (nrm != NULL) {
                /* bm25f, with the norms looked up */
                double t = 0;
                for (int f = 0; f < TRAWL_NFIELDS; f++) {
                    if (tf[f] == 0 ||
                        (kid->field != Q_ANY_FIELD && kid->field != f))
                        continue;
                    t += c->w[f] * tf[f] * nrm[(size_t)d * TRAWL_NFIELDS + f];
                }
                sc = t <= 0 ? 0
                            : kid->lf->idf * t * (c->k1 + 1) / (c->k1 + t);
            } else {
                sc = bm25f(c, c->seg, d, tf, kid->lf->idf, kid->field);
            }
            acc[d] = first ? 0.0 + sc : acc[d] + sc;
        }
        if (c->corrupt)
            return 0;
    }
    m->kind = M_MAT;
    m->bits = bits;
    m->acc = acc;
    m->positioned = 0;
    return 0;
}

/* Build the matcher for q over the current segment. NULL on ENOMEM. */
static matcher *m_build(ctx *c, const qnode *q)
{
    matcher *m;
    switch (q->kind) {
    case Q_TERM:
    case Q_PHRASE: {
        /* its words' cursors, then (phrases) its pair terms' */
        cursor **cs = trawl_arena_alloc(c->a, 2 * q->nterms * sizeof(*cs));
        if (cs == NULL)
            return NULL;
        const leaf *lf = find_leaf(c, q);
        size_t si = (size_t)(c->seg - c->ix->segs);
        for (uint32_t k = 0; k < q->nterms; k++) {
            seg_term t;
            int rc;
            if (lf != NULL && lf->st != NULL) {
                rc = lf->found[si * q->nterms + k];
                t = lf->st[si * q->nterms + k];
            } else {
                rc = term_lookup(c->s, c->seg, q->terms[k], q->lens[k], &t,
                                 c->err);
            }
            if (rc < 0) {
                c->corrupt = rc;
                return m_new(c, M_EMPTY);
            }
            if (rc == 0)
                return m_new(c, M_EMPTY);
            cs[k] = trawl_arena_alloc(c->a, sizeof(cursor));
            if (cs[k] == NULL)
                return NULL;
            cur_init(cs[k], c->seg, &t, &c->corrupt,
                     trawl__is_meta(q->terms[k], q->lens[k]));
        }
        /* Adjacent words of an exact phrase that PAIRS covers have a
         * pair term: a two-word phrase is then exactly one (a TERM,
         * scored with the phrase's idf); longer phrases align and bound
         * with theirs too. No pair term: the phrase is not here. */
        uint32_t npc = 0;
        cursor **pc = cs + q->nterms;
        if (q->kind == Q_PHRASE && q->slop == 0 && q->nterms >= 2 &&
            trawl__pairs_common(&c->seg->sec[SEC_PAIRS]) > 0) {
            const seg_section *pw = &c->seg->sec[SEC_PAIRS];
            for (uint32_t k = 0; k + 1 < q->nterms; k++) {
                if (!trawl__pairs_cover(pw, q->terms[k], q->lens[k],
                                        q->terms[k + 1], q->lens[k + 1]))
                    continue;
                char key[PAIR_KEY_MAX];
                size_t kl = trawl__pair_key(key, q->terms[k], q->lens[k],
                                            q->terms[k + 1], q->lens[k + 1]);
                seg_term t;
                int rc = term_lookup(c->s, c->seg, key, kl, &t, c->err);
                if (rc < 0)
                    c->corrupt = rc;
                if (rc <= 0)
                    return m_new(c, M_EMPTY);
                if ((pc[npc] = trawl_arena_alloc(c->a, sizeof(cursor))) ==
                    NULL)
                    return NULL;
                cur_init(pc[npc++], c->seg, &t, &c->corrupt, 0);
            }
        }
        int as_term = q->kind == Q_TERM || (q->nterms == 2 && npc == 1);
        if ((m = m_new(c, as_term ? M_TERM : M_PHRASE)) == NULL)
            return NULL;
        m->cur = q->kind == Q_PHRASE && as_term ? pc : cs;
        m->ncur = q->kind == Q_PHRASE && as_term ? 1 : q->nterms + npc;
        m->nword = q->nterms;
        m->field = q->field;
        m->slop = q->slop;
        if (m->kind == M_PHRASE && q->slop > 0 &&
            (m->need = near_groups(c->a, q)) == NULL)
            return NULL;
        m->lf = lf;
        if (m->lf != NULL && c->leaf_m != NULL)
            c->leaf_m[m->lf - c->leaves] = m;
        return m;
    }
    case Q_DATE:
        if ((m = m_new(c, M_DATE)) == NULL)
            return NULL;
        m->from = q->from;
        m->to = q->to;
        return m;
    case Q_FILTER: {
        /* author: and site: terms: matched, never scored */
        int save = c->mat_score;
        c->mat_score = 0;
        matcher *kid = m_build(c, q->kids[0]);
        c->mat_score = save;
        if (kid == NULL || kid->kind == M_EMPTY)
            return kid;
        if ((m = m_new(c, M_FILTER)) == NULL ||
            (m->kids = trawl_arena_alloc(c->a, sizeof(*m->kids))) == NULL)
            return NULL;
        m->kids[0] = kid;
        m->nkids = 1;
        return m;
    }
    case Q_NOT: {
        /* an excluded part is never scored */
        int save = c->mat_score;
        c->mat_score = 0;
        m = m_build(c, q->kids[0]);
        c->mat_score = save;
        return m;
    }
    case Q_AND:
    case Q_OR: {
        if ((m = m_new(c, q->kind == Q_AND ? M_AND : M_OR)) == NULL)
            return NULL;
        m->kids = trawl_arena_alloc(c->a, q->nkids * sizeof(*m->kids));
        m->neg = trawl_arena_alloc(c->a, q->nkids * sizeof(*m->neg));
        if (m->kids == NULL || m->neg == NULL)
            return NULL;
        /* Date filters go last in an AND so that postings lead. */
        for (int pass = 0; pass < 2; pass++)
        for (uint32_t k = 0; k < q->nkids; k++) {
            if ((q->kids[k]->kind == Q_DATE) != pass)
                continue;
            matcher *kid = m_build(c, q->kids[k]);
            if (kid == NULL)
                return NULL;
            if (q->kind == Q_AND && q->kids[k]->kind == Q_NOT) {
                if (kid->kind != M_EMPTY)
                    m->neg[m->nneg++] = kid;
            } else if (kid->kind == M_EMPTY) {
                if (q->kind == Q_AND)
                    return m_new(c, M_EMPTY); /* a required part is absent */
            } else {
                m->kids[m->nkids++] = kid;
            }
        }
        if (m->nkids == 0)
            return m_new(c, M_EMPTY);
        if (m->kind == M_OR && m->nkids >= OR_WIDE && c->mat_ok &&
            or_materialize(c, m) < 0)
            return NULL;
        return m;
    }
    }
    return m_new(c, M_EMPTY);
}

/* ---- top-k ------------------------------------------------------------ */

typedef struct cand {
    double score;
    int64_t date;
    uint32_t seg;
    uint32_t doc;
    uint32_t rec; /* its posref record (see and_terms), or NO_REC */
} cand;

#define NO_REC UINT32_MAX

/* Where one word's positions are for a document, noted by the first
 * phase so that rescoring reads them without seeking cursors again: the
 * block's positions, how many varints precede the posting's, and its
 * term frequencies; or, in a block with an offset table (format 9),
 * the table and the posting's index, read when the record is. */
typedef struct posref {
    const unsigned char *p, *end;
    uint32_t skip;
    uint32_t tf[TRAWL_NFIELDS];
    uint8_t w, n; /* w != 0: p is the block's offset table (format 9) of
                     width w, for n postings; skip the posting's index */
} posref;

/* 1 if a ranks before b. */
static int better(int sort, const cand *a, const cand *b)
{
    if (sort != TRAWL_SORT_SCORE && a->date != b->date)
        return sort == TRAWL_SORT_DATE ? a->date > b->date : a->date < b->date;
    if (a->score != b->score)
        return a->score > b->score;
    if (a->seg != b->seg)
        return a->seg < b->seg;
    return a->doc < b->doc;
}

typedef struct heap {
    cand *v;
    size_t n, k;
    int sort;
} heap;

/* Min-heap by rank once full: the root is the worst kept candidate.
 * Until it is full, entries are only appended (most queries of a small
 * collection never fill the first phase's 30), and it is put in heap
 * order when the last one arrives (or before draining). sift_down_at
 * restores the order below i after v[i] was replaced. */
static void sift_down_at(heap *h, size_t i)
{
    /* The entry sinks through a hole: each level moves the worse child
     * up, and the entry is stored once where it stops. */
    cand *v = h->v;
    size_t n = h->n;
    cand x = v[i];
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= n)
            break;
        size_t w = l + 1 < n && better(h->sort, &v[l], &v[l + 1]) ? l + 1 : l;
        if (!better(h->sort, &x, &v[w]))
            break;
        v[i] = v[w];
        i = w;
    }
    v[i] = x;
}

static void sift_down(heap *h)
{
    sift_down_at(h, 0);
}

static void heapify(heap *h)
{
    for (size_t i = h->n / 2; i-- > 0;)
        sift_down_at(h, i);
}

static void heap_push(heap *h, const cand *x)
{
    if (h->k == 0)
        return;
    if (h->n == h->k) {
        if (!better(h->sort, x, &h->v[0]))
            return;
        h->v[0] = *x;
        sift_down(h);
        return;
    }
    h->v[h->n++] = *x;
    if (h->n == h->k)
        heapify(h);
}

/* Reorder v[0..n) so that v[0..k) are the k best by score (0 < k < n),
 * in no particular order (quickselect). */
static void select_best(cand *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* the k-th best lies in v[lo..hi) */
    while (hi - lo > 1) {
        /* the median of three as the pivot, moved to lo */
        size_t mid = lo + (hi - lo) / 2;
        cand t;
        if (better(TRAWL_SORT_SCORE, &v[mid], &v[lo])) {
            t = v[mid];
            v[mid] = v[lo];
            v[lo] = t;
        }
        if (better(TRAWL_SORT_SCORE, &v[hi - 1], &v[mid])) {
            t = v[hi - 1];
            v[hi - 1] = v[mid];
            v[mid] = t;
            if (better(TRAWL_SORT_SCORE, &v[mid], &v[lo])) {
                t = v[mid];
                v[mid] = v[lo];
                v[lo] = t;
            }
        }
        t = v[mid];
        v[mid] = v[lo];
        v[lo] = t;
        cand pv = v[lo];
        /* v[lo+1..i) rank before the pivot, v[j..hi) after it */
        size_t i = lo + 1, j = hi;
        while (i < j) {
            if (better(TRAWL_SORT_SCORE, &v[i], &pv)) {
                i++;
            } else {
                j--;
                t = v[i];
                v[i] = v[j];
                v[j] = t;
            }
        }
        v[lo] = v[i - 1];
        v[i - 1] = pv;
        size_t at = i - 1; /* the pivot's rank */
        if (at == k - 1 || at == k)
            return;
        if (at > k)
            hi = at;
        else
            lo = at + 1;
    }
}

/* The most candidates rank_sort orders (it compares every pair). */
#define RANK_MAX 64

/*
 * Sort v[0..n) best first by score (n <= RANK_MAX), as sort_best does,
 * from each candidate's rank: the number of candidates that rank before
 * it, counted over every pair without a branch (SSE2: two scores at a
 * time). Equal scores, which are rare, are then told apart by segment
 * and document, one pair at a time. A few hundred comparisons that
 * cannot be mispredicted cost less than quickselect's few dozen that are,
 * half the time.
 */
static void rank_sort(cand *v, size_t n)
{
    double sc[RANK_MAX + 1];
    cand out[RANK_MAX];
    size_t i, j, np = (n + 1) & ~(size_t)1;
    for (i = 0; i < n; i++)
        sc[i] = v[i].score;
    if (np > n)
        sc[n] = __builtin_nan(""); /* compares neither above nor equal */
    for (i = 0; i < n; i++) {
        size_t above = 0, same = 0;
#ifdef __SSE2__
        __m128i va = _mm_setzero_si128(), ve = _mm_setzero_si128();
        __m128d x = _mm_set1_pd(sc[i]);
        for (j = 0; j < np; j += 2) {
            __m128d y = _mm_loadu_pd(sc + j);
            va = _mm_sub_epi64(va, _mm_castpd_si128(_mm_cmpgt_pd(y, x)));
            ve = _mm_sub_epi64(ve, _mm_castpd_si128(_mm_cmpeq_pd(y, x)));
        }
        uint64_t a2[2], e2[2];
        _mm_storeu_si128((__m128i *)(void *)a2, va);
        _mm_storeu_si128((__m128i *)(void *)e2, ve);
        above = (size_t)(a2[0] + a2[1]);
        same = (size_t)(e2[0] + e2[1]);
#else
        for (j = 0; j < n; j++) {
            above += sc[j] > sc[i];
            same += sc[j] == sc[i];
        }
#endif
        if (same > 1)
            for (j = 0; j < n; j++)
                if (sc[j] == sc[i] &&
                    (v[j].seg != v[i].seg ? v[j].seg < v[i].seg
                                          : v[j].doc < v[i].doc))
                    above++;
        out[above] = v[i];
    }
    memcpy(v, out, n * sizeof(*v));
}

/* Sort v[0..n) best first by score (insertion sort: n is small). */
static void sort_best(cand *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        cand x = v[i];
        size_t j = i;
        while (j > 0 && better(TRAWL_SORT_SCORE, &x, &v[j - 1])) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Sort the heap's candidates best first, in place: pop the worst to the
 * back, one at a time (heap sort; k may be large with a deep offset). */
static void heap_drain(heap *h)
{
    heapify(h); /* a heap not filled is not in order yet */
    while (h->n > 1) {
        cand worst = h->v[0];
        h->v[0] = h->v[--h->n];
        sift_down(h);
        h->v[h->n] = worst;
    }
}

/* ---- search ----------------------------------------------------------- */

typedef struct prep {
    qnode *root;
    leaf *leaves;
    size_t nleaves;
} prep;

typedef struct prefix_walk {
    q_add_fn add;
    void *payload;
} prefix_walk;

static int on_prefix_term(void *payload, const char *term, size_t len,
                          const seg_term *t)
{
    (void)t;
    prefix_walk *w = payload;
    return w->add(w->payload, term, len);
}

/* Union, over the segments, of the dictionary terms starting with prefix. */
static int expand_prefix(void *payload, const char *prefix, size_t len,
                         q_add_fn add, void *add_payload)
{
    const trawl_index *ix = payload;
    prefix_walk w = {add, add_payload};
    for (uint32_t si = 0; si < ix->nsegs; si++) {
        int rc = trawl__seg_prefix(&ix->segs[si], prefix, len,
                                   on_prefix_term, &w, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Where a walk of one segment's terms with a prefix stands among the
 * kids of the OR that prefix expanded to (TERM leaves, in byte order). */
typedef struct kid_walk {
    qnode *const *kids;
    uint32_t n, i;
    leaf *leaves;
    size_t si;
} kid_walk;

static int on_kid_term(void *payload, const char *term, size_t len,
                       const seg_term *t)
{
    kid_walk *w = payload;
    while (w->i < w->n) {
        const qnode *k = w->kids[w->i];
        int c = trawl__cmp_bytes(k->terms[0], k->lens[0], term, len);
        if (c > 0)
            return 0; /* not one of the kids (cannot be: they are all) */
        w->i++;
        if (c == 0) {
            leaf *lf = &w->leaves[k->leaf];
            lf->st[w->si] = *t;
            lf->found[w->si] = 1;
            return 0;
        }
    }
    return 0;
}

/*
 * The dictionary entries of the positive leaves that a prefix expanded
 * to, with one walk per segment of the terms that have the prefix,
 * instead of a lookup per term and segment (1000 words in 9 segments:
 * 9000 lookups, most of the query's time). Leaves it fills get found
 * 0 or 1 for every segment; the others keep found 2.
 */
static int prefix_lookups(const trawl_index *ix, const qnode *n,
                          leaf *leaves, const qnode **lv, size_t nlv,
                          trawl_err *err)
{
    if (n->kind == Q_NOT || n->kind == Q_FILTER)
        return 0;
    if (n->kind == Q_OR && n->prefix != NULL) {
        for (uint32_t k = 0; k < n->nkids; k++) {
            const qnode *kid = n->kids[k];
            if (kid->kind != Q_TERM || kid->leaf >= nlv || lv[kid->leaf] != kid)
                return 0; /* not all positive leaves: look them up */
        }
        for (uint32_t k = 0; k < n->nkids; k++)
            memset(leaves[n->kids[k]->leaf].found, 0, ix->nsegs);
        for (uint32_t si = 0; si < ix->nsegs; si++) {
            kid_walk w = {n->kids, n->nkids, 0, leaves, si};
            int rc = trawl__seg_prefix(&ix->segs[si], n->prefix,
                                       n->prefix_len, on_kid_term, &w, err);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    for (uint32_t k = 0; k < n->nkids; k++) {
        int rc = prefix_lookups(ix, n->kids[k], leaves, lv, nlv, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int prepare(trawl_searcher *s, const trawl_index *ix, const char *q,
                   size_t qlen, trawl_arena *a, prep *out, trawl_err *err)
{
    int rc = searcher_bind(s, ix, err);
    if (rc < 0)
        return rc;
    if ((rc = trawl__query_parse(&out->root, s->an, q, qlen, a, err)) < 0)
        return rc;
    if ((rc = trawl__query_expand(out->root, expand_prefix, (void *)ix, a,
                                  err)) < 0)
        return rc;
    /* A prefix may have expanded into many leaves: size by count. */
    size_t n = trawl__query_count_leaves(out->root);
    const qnode **lv = trawl_arena_alloc(a, (n ? n : 1) * sizeof(*lv));
    out->leaves = trawl_arena_calloc(a, n ? n : 1, sizeof(leaf));
    if (out->leaves == NULL || lv == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    n = trawl__query_leaves(out->root, lv, n);
    for (size_t i = 0; i < n; i++)
        ((qnode *)lv[i])->leaf = (uint32_t)i;
    for (size_t i = 0; i < n; i++) {
        leaf *lf = &out->leaves[i];
        lf->q = lv[i];
        size_t nt = (size_t)ix->nsegs * lv[i]->nterms;
        lf->st = trawl_arena_alloc(a, (nt ? nt : 1) * sizeof(seg_term));
        lf->found = trawl_arena_alloc(a, nt ? nt : 1);
        if (lf->st == NULL || lf->found == NULL)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        memset(lf->found, 2, nt ? nt : 1); /* not looked up yet */
    }
    if ((rc = prefix_lookups(ix, out->root, out->leaves, lv, n, err)) < 0)
        return rc;
    double N = (double)ix->live_docs;
    for (size_t i = 0; i < n; i++) {
        leaf *lf = &out->leaves[i];
        double idf = 0;
        for (uint32_t k = 0; k < lv[i]->nterms; k++) {
            uint64_t df = 0;
            for (uint32_t si = 0; si < ix->nsegs; si++) {
                size_t at = (size_t)si * lv[i]->nterms + k;
                if (lf->found[at] == 2) {
                    rc = term_lookup(s, &ix->segs[si], lv[i]->terms[k],
                                     lv[i]->lens[k], &lf->st[at], err);
                    if (rc < 0)
                        return rc;
                    lf->found[at] = (unsigned char)rc;
                }
                if (lf->found[at] == 1)
                    df += lf->st[at].df;
            }
            double dfd = (double)df;
            if (dfd > N)
                dfd = N;
            idf += log(1.0 + (N - dfd + 0.5) / (dfd + 0.5));
        }
        out->leaves[i].idf = idf;
    }
    out->nleaves = n;
    return 0;
}

typedef struct run_out {
    heap *h;
    uint64_t total;
    int skipped; /* pruning skipped documents: total is a lower bound */
    int no_prox;  /* score without the proximity part (added later by
                     rescore for the documents that need it) */
    /* Records of where the proximity words' positions are, one per heap
     * entry that has one (cand.rec): nref words each, in slots given by
     * ref_slot (leaf index -> slot, -1 for other leaves); free slots in
     * ref_free. NULL when not kept. */
    posref *refs;
    uint32_t nref;
    int32_t *ref_slot;
    uint32_t *ref_leaf; /* slot -> leaf */
    uint32_t *ref_free;
    uint32_t nfree;
} run_out;

/* Set up the records of a first phase that leaves proximity for later:
 * the words in c's pairs get a slot each. 0, or -1 out of memory. */
static int refs_init(ctx *c, run_out *out)
{
    if (out->refs != NULL || c->npairs == 0 || out->h == NULL ||
        out->h->k == 0)
        return 0;
    trawl_arena *a = c->a;
    int32_t *slot = trawl_arena_alloc(a, c->nleaves * sizeof(*slot));
    uint32_t *lv = trawl_arena_alloc(a, 2 * c->npairs * sizeof(*lv));
    if (slot == NULL || lv == NULL)
        return -1;
    for (size_t i = 0; i < c->nleaves; i++)
        slot[i] = -1;
    uint32_t n = 0;
    for (uint32_t k = 0; k < c->npairs; k++) {
        uint32_t ab[2] = {c->pair_a[k], c->pair_b[k]};
        for (int j = 0; j < 2; j++)
            if (slot[ab[j]] < 0) {
                slot[ab[j]] = (int32_t)n;
                lv[n++] = ab[j];
            }
    }
    size_t k = out->h->k;
    posref *refs = trawl_arena_alloc(a, k * n * sizeof(*refs));
    uint32_t *fr = trawl_arena_alloc(a, k * sizeof(*fr));
    if (refs == NULL || fr == NULL)
        return -1;
    for (size_t i = 0; i < k; i++)
        fr[i] = (uint32_t)(k - 1 - i);
    out->refs = refs;
    out->nref = n;
    out->ref_slot = slot;
    out->ref_leaf = lv;
    out->ref_free = fr;
    out->nfree = (uint32_t)k;
    return 0;
}

/* Once per block of a cursor that records are taken from: its offset
 * table (format 9), or else the varints before each posting's positions
 * (tfpre). */
static __attribute__((noinline)) void ref_block(cursor *cu)
{
    if (cur_ptab(cu) == 0) {
        uint32_t sum = 0;
        for (uint32_t i = 0; i < cu->n; i++) {
            cu->tfpre[i] = sum;
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                sum += cu->tf[f][i];
        }
    }
    cu->tfpre_ok = 1;
}

/* Push x; with record set, note where its proximity words' positions
 * are (their TERM cursors stand on x's document). Keeps the record
 * slots: an evicted entry's slot goes to x or back to the free list. */
static void heap_push_rec(ctx *c, heap *h, cand *x, int record)
{
    run_out *o = c->out;
    if (o == NULL || o->refs == NULL) {
        x->rec = NO_REC;
        heap_push(h, x);
        return;
    }
    if (h->k == 0 || (h->n == h->k && !better(h->sort, x, &h->v[0])))
        return;
    uint32_t evict = h->n == h->k ? h->v[0].rec : NO_REC;
    x->rec = NO_REC;
    if (record) {
        x->rec = evict != NO_REC ? evict : o->ref_free[--o->nfree];
        posref *r = &o->refs[(size_t)x->rec * o->nref];
        for (uint32_t j = 0; j < o->nref; j++) {
            matcher *m = c->leaf_m[o->ref_leaf[j]];
            cursor *cu = m->cur[0];
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                r[j].tf[f] = cu->tf[f][cu->i];
            if (!cu->tfpre_ok)
                ref_block(cu);
            r[j].end = cu->blk_pos_end;
            r[j].w = (uint8_t)cu->ptab_w;
            r[j].n = (uint8_t)cu->n;
            if (cu->ptab_w != 0) {
                r[j].p = cu->ptab;
                r[j].skip = cu->i;
            } else {
                r[j].p = cu->blk_pos;
                r[j].skip = cu->tfpre[cu->i];
            }
        }
    } else if (evict != NO_REC) {
        o->ref_free[o->nfree++] = evict;
    }
    heap_push(h, x);
}

/* Where the last record read of a word left off in its block, so that
 * records read in index order skip forward from there. */
typedef struct refpos {
    const unsigned char *blk, *at;
    uint32_t skipped; /* varints of the block before at */
} refpos;

/* Point *pp at the positions r describes, from where st left off when
 * it is the same block. 0, or -1 if damaged. */
static int ref_at(const posref *r, refpos *st, const unsigned char **pp)
{
    if (r->w != 0) {
        /* from the table; a damaged offset gives the block's end,
         * where decoding fails as on any damage */
        const unsigned char *data = r->p + (size_t)r->w * (r->n - 1u);
        uint32_t o = trawl__postab_get(r->p, r->w, r->skip);
        *pp = o < (uint64_t)(r->end - data) ? data + o : r->end;
        return 0;
    }
    const unsigned char *p = r->p;
    uint32_t skip = r->skip;
    if (st->blk == r->p && st->skipped <= r->skip) {
        p = st->at;
        skip = r->skip - st->skipped;
    }
    if (skip_varints(&p, r->end, skip) < 0)
        return -1;
    st->blk = r->p;
    st->at = p;
    st->skipped = r->skip;
    *pp = p;
    return 0;
}

/*
 * Add to *acc one field's part of a pair from the index bytes: a's na
 * positions at qa, b's nb at qb (each ending before its end). With one
 * word at least PROX_NEAR_RATIO times as frequent as the other, the
 * rarer word's positions are decoded and the other's read near them only
 * (pos_near).
 * Else through the bitmap without decoding into memory (pos_walk): the
 * rarer word's positions marked, the other's read against them up to the
 * last one's reach. Else (a position past the bitmap) both decoded into
 * the scratch buffer. All three add the same integer units. 0, or a
 * negative TRAWL_E*.
 *
 * Why: the second phase reads the positions of the best TRAWL_PROX_DEPTH
 * matches by BM25F, most of which stay below the page (their words are
 * seldom near each other), and reading a common word's positions in long
 * articles was most of its cost. pos_near takes fewer instructions for
 * most pairs (callgrind), but its branches on the data cost more time
 * than the bitmap's straight walks unless it steps over most of the
 * frequent word's positions: measured (per-query minimum of 30 runs of
 * the real corpus's 2-4 word queries and of pairs of common words, "of
 * the", "state of the union"), reading near the rarer word for short
 * lists too (at most 64 positions) was 4-8% slower than the bitmap, a
 * ratio of 16 about even, 64 as fast as the bitmap alone or a little
 * faster.
 */
#define PROX_NEAR_RATIO 64
static int pair_acc_at(ctx *c, uint32_t flen, const unsigned char *qa,
                       const unsigned char *ea, uint32_t na,
                       const unsigned char *qb, const unsigned char *eb,
                       uint32_t nb, uint64_t *acc)
{
    if (na == 0 || nb == 0)
        return 0;
    uint32_t ns = na < nb ? na : nb, nl = na < nb ? nb : na;
    uint64_t *st = c->s->prox_stat;
    if ((uint64_t)ns * PROX_NEAR_RATIO <= nl) {
        /* one word much rarer than the other: the rarer one's positions
         * decoded, the other's read near them (pos_near) */
        const unsigned char *qs = na < nb ? qa : qb, *es = na < nb ? ea : eb;
        uint32_t *buf = scratch(c, ns);
        if (buf == NULL)
            return TRAWL_ENOMEM;
        if (pos_decode(&qs, es, ns, buf) < 0 ||
            pos_near(na < nb ? qb : qa, na < nb ? eb : ea, nl, buf, ns,
                     na < nb ? prox_w_rev : prox_w, acc, st) < 0)
            return TRAWL_ECORRUPT;
        st[2]++;
        return 0;
    }
    unsigned char *bm;
    if ((uint64_t)na * nb > 16 && flen <= PROX_BM_POS &&
        (bm = prox_bitmap(c)) != NULL) {
        /* the rarer word marked, the other read against it up to the
         * last marked position's reach */
        int ma = na < nb;
        const unsigned char *p = ma ? qa : qb;
        uint32_t nm = ma ? na : nb, lastm = 0, lastp;
        uint64_t part = 0;
        /* the bytes marked, to clear just them when they are few */
        uint32_t *mk = scratch(c, nm);
        if (mk == NULL)
            return TRAWL_ENOMEM;
        int rc = pos_walk(&p, ma ? ea : eb, nm, PWALK_MARK, bm, NULL, &lastm,
                          mk, PROX_BM_POS, NULL, NULL);
        int marked = rc == 0;
        /* past lastm + PROX_WINDOW nothing is marked: the walk can stop
         * there, if the bitmap reaches that far */
        int stop = lastm + PROX_WINDOW + 1 <= PROX_BM_POS;
        if (rc == 0) {
            p = ma ? qb : qa;
            rc = pos_walk(&p, ma ? eb : ea, ma ? nb : na, PWALK_PROBE, bm,
                          &part, &lastp, NULL,
                          stop ? lastm + PROX_WINDOW + 1 : PROX_BM_POS,
                          ma ? prox_lo_rev : prox_lo,
                          ma ? prox_hi_rev : prox_hi);
            if (rc == 1 && stop) {
                st[3] += 1;
                rc = 0;
            }
        }
        if (marked && nm <= 32 + (lastm >> 8))
            for (uint32_t j = 0; j < nm; j++)
                bm[mk[j]] = 0;
        else
            memset(bm, 0, ((lastm + 8) >> 3) + 1);
        if (rc < 0)
            return TRAWL_ECORRUPT;
        if (rc == 0) {
            *acc += part;
            return 0;
        }
        /* a position past the bitmap (longer than the field says) */
    }
    uint32_t *buf = scratch(c, (size_t)na + nb);
    if (buf == NULL)
        return TRAWL_ENOMEM;
    if (pos_decode(&qa, ea, na, buf) < 0 || pos_decode(&qb, eb, nb, buf + na) < 0)
        return TRAWL_ECORRUPT;
    *acc += pair_acc_field(c, buf, na, buf + na, nb);
    return 0;
}

/* Ask for the cache lines where n records' positions start, ahead of
 * reading them: the records of the hits to rescore are read one after
 * another, and each would otherwise wait for its own line. */
static void refs_prefetch(const posref *r, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++) {
        const unsigned char *p = r[j].p;
        if (r[j].w != 0) {
            const unsigned char *data = p + (size_t)r[j].w * (r[j].n - 1u);
            uint32_t o = trawl__postab_get(p, r[j].w, r[j].skip);
            p = o < (uint64_t)(r[j].end - data) ? data + o : data;
        }
        __builtin_prefetch(p);
        __builtin_prefetch(p + 64);
    }
}

/* The proximity part from a record, exact (st has one refpos per slot)
 * or its bound from the term frequencies alone (st unused), as prox()
 * computes both from the cursors. */
static double prox_rec(ctx *c, const posref *r, const int32_t *slot,
                       uint32_t d, refpos *st, int exact)
{
    double sum = 0;
    double norm = len_norm(c, TRAWL_FIELD_BODY,
                           trawl__seg_field_len(c->seg, d, TRAWL_FIELD_BODY));
    /* Exact: where each word's positions start, per field (a word may
     * stand in two pairs). */
    const unsigned char *fp[Q_MAX_LEAVES + 1][TRAWL_NFIELDS];
    uint32_t flen[TRAWL_NFIELDS];
    if (exact) {
        uint32_t nslot = 0;
        for (uint32_t k = 0; k < c->nleaves; k++)
            if (slot[k] >= 0 && (uint32_t)slot[k] + 1 > nslot)
                nslot = (uint32_t)slot[k] + 1;
        for (uint32_t j = 0; j < nslot; j++)
            fp[j][0] = NULL;
        for (int f = 0; f < TRAWL_NFIELDS; f++)
            flen[f] = trawl__seg_field_len(c->seg, d, f);
        for (uint32_t k = 0; k < c->npairs; k++) {
            int32_t sl[2] = {slot[c->pair_a[k]], slot[c->pair_b[k]]};
            for (int j = 0; j < 2; j++) {
                if (fp[sl[j]][0] != NULL)
                    continue;
                const posref *x = &r[sl[j]];
                const unsigned char *p;
                if (ref_at(x, &st[sl[j]], &p) < 0) {
                    c->corrupt = TRAWL_ECORRUPT;
                    return 0;
                }
                fp[sl[j]][0] = p;
                for (int f = 1; f < TRAWL_NFIELDS; f++) {
                    if (x->tf[f - 1] > 0 &&
                        skip_varints(&p, x->end, x->tf[f - 1]) < 0) {
                        c->corrupt = TRAWL_ECORRUPT;
                        return 0;
                    }
                    fp[sl[j]][f] = p;
                }
            }
        }
    }
    for (uint32_t k = 0; k < c->npairs; k++) {
        int32_t sa = slot[c->pair_a[k]], sb = slot[c->pair_b[k]];
        const posref *ra = &r[sa];
        const posref *rb = &r[sb];
        double acc;
        if (exact) {
            uint64_t units = 0;
            for (int f = 0; f < TRAWL_NFIELDS; f++) {
                int rc = pair_acc_at(c, flen[f], fp[sa][f], ra->end,
                                     ra->tf[f], fp[sb][f], rb->end,
                                     rb->tf[f], &units);
                if (rc < 0) {
                    c->corrupt = rc;
                    return 0;
                }
            }
            acc = (double)units / PROX_UNIT;
        } else {
            size_t ta = 0, tb = 0;
            for (int f = 0; f < TRAWL_NFIELDS; f++) {
                ta += ra->tf[f];
                tb += rb->tf[f];
            }
            acc = 2.2 * (double)(ta < tb ? ta : tb);
        }
        if (acc > 0)
            sum += c->pair_w[k] * acc * (c->k1 + 1) / (acc + c->k1 * norm);
    }
    return exact ? c->w_prox * sum : BOUND_SLACK * c->w_prox * sum;
}

void trawl__search_prox_stats(const trawl_searcher *s, uint64_t out[4])
{
    memcpy(out, s->prox_stat, sizeof(s->prox_stat));
}

static void push_cand(ctx *c, heap *h, double score, uint32_t si,
                      uint32_t d)
{
    cand x;
    x.score = score;
    x.date = 0;
    x.rec = NO_REC;
    x.seg = si;
    x.doc = d;
    heap_push_rec(c, h, &x, 0);
    if (h->n == h->k) {
        c->pruning = 1;
        c->theta = h->v[0].score;
    }
}

/*
 * MaxScore for an OR of terms in score order: terms sorted by their
 * list-wide upper bound; the low ones whose bounds together cannot beat
 * the page are "non-essential": they never drive the iteration and are
 * looked up only for documents an essential term found, and only while
 * they can still matter.
 */
static void maxscore(ctx *c, matcher *m, heap *h, uint64_t *total,
                     uint32_t si)
{
    uint32_t n = m->nkids;
    matcher **kid = trawl_arena_alloc(c->a, n * sizeof(*kid));
    double *ub = trawl_arena_alloc(c->a, (n + 1) * 2 * sizeof(double));
    if (ub == NULL || kid == NULL) {
        c->corrupt = TRAWL_ENOMEM;
        return;
    }
    /* m->kids keeps the query order: final scores are summed in it, so
     * they equal exhaustive evaluation to the last bit. */
    memcpy(kid, m->kids, n * sizeof(*kid));
    double *pre = ub + n + 1;
    for (uint32_t i = 0; i < n; i++) {
        const cursor *cu = kid[i]->cur[0];
        ub[i] = bound(c, cu->tmax_tf, cu->tmin_len, kid[i]->lf->idf,
                      kid[i]->field);
    }
    /* Insertion sort by bound, ascending (n <= 1024). */
    for (uint32_t i = 1; i < n; i++) {
        matcher *mk = kid[i];
        double u = ub[i];
        uint32_t j = i;
        while (j > 0 && ub[j - 1] > u) {
            ub[j] = ub[j - 1];
            kid[j] = kid[j - 1];
            j--;
        }
        ub[j] = u;
        kid[j] = mk;
    }
    pre[0] = 0;
    for (uint32_t i = 0; i < n; i++)
        pre[i + 1] = pre[i] + ub[i];
    uint32_t ess = 0;
    for (uint32_t i = 0; i < n; i++)
        m_seek(c, kid[i], 0);
    for (;;) {
        while (c->pruning && ess < n && pre[ess + 1] <= c->theta)
            ess++;
        if (ess > 0)
            c->skipped = 1;
        if (ess == n)
            return;
        uint32_t d = DOC_END;
        for (uint32_t i = ess; i < n; i++)
            if (kid[i]->doc < d)
                d = kid[i]->doc;
        if (d == DOC_END || c->corrupt)
            return;
        if (!trawl__seg_is_deleted(c->seg, d)) {
            double score = 0;
            for (uint32_t i = ess; i < n; i++)
                if (kid[i]->doc == d)
                    score += m_score(c, kid[i], d);
            int whole = 1;
            for (uint32_t i = ess; i-- > 0;) {
                if (c->pruning && score + pre[i + 1] <= c->theta) {
                    whole = 0;
                    break;
                }
                if (m_seek(c, kid[i], d) == d)
                    score += m_score(c, kid[i], d);
            }
            (*total)++;
            if (whole)
                push_cand(c, h, m_score(c, m, d), si, d);
        }
        for (uint32_t i = ess; i < n; i++)
            if (kid[i]->doc == d)
                m_seek(c, kid[i], d + 1);
    }
}

/*
 * The common query: plain words, all required (a lone word is an AND of
 * one). A dedicated loop instead of the matcher tree: the rarest word
 * leads, the others seek to its documents, field lengths are read once
 * per document, and while the page is full, a block of the leader whose
 * bound (its own block maximum plus the others' bounds at their current
 * blocks, or over their whole lists) cannot beat the page is skipped
 * without decoding it. Scores are summed in query order, exactly as
 * m_score does.
 */
static int and_terms_ok(const matcher *m)
{
    if (m->kind != M_AND || m->nneg > 0 || m->nkids == 0 ||
        m->nkids > Q_MAX_LEAVES)
        return 0;
    for (uint32_t k = 0; k < m->nkids; k++)
        if (m->kids[k]->kind != M_TERM || m->kids[k]->lf == NULL)
            return 0;
    return 1;
}

static void and_terms(ctx *c, matcher *m, heap *h, uint64_t *total,
                      uint32_t si)
{
    uint32_t n = m->nkids;
    cursor *cu[Q_MAX_LEAVES];   /* by df, rarest first */
    matcher *km[Q_MAX_LEAVES];
    double tub[Q_MAX_LEAVES];  /* list-wide bounds, in the same order */
    for (uint32_t k = 0; k < n; k++) {
        matcher *kid = m->kids[k];
        cursor *x = kid->cur[0];
        uint32_t df = x->remaining + x->n; /* postings left from here */
        uint32_t j = k;
        while (j > 0 && cu[j - 1]->remaining + cu[j - 1]->n > df) {
            cu[j] = cu[j - 1];
            km[j] = km[j - 1];
            j--;
        }
        cu[j] = x;
        km[j] = kid;
    }
    for (uint32_t k = 0; k < n; k++)
        tub[k] = bound(c, cu[k]->tmax_tf, cu[k]->tmin_len, km[k]->lf->idf,
                       km[k]->field);
    const trawl_segment *sg = c->seg;
    cursor *lead = cu[0];
    uint32_t d = lead->doc;
    while (d != DOC_END && !*lead->corrupt) {
        /* d's field lengths, read if the others have it too: ask for
         * their line now, while the others seek (a miss per match) */
        __builtin_prefetch(sg->sec[SEC_DOCS].p + (size_t)d * DOC_RECORD);
        if (c->pruning) {
            /* The leader's block bound and the others' at the blocks
             * they are in, where those cover d. */
            if (lead->bub < 0)
                lead->bub = bound(c, lead->bmax_tf, lead->bmin_len,
                                  km[0]->lf->idf, km[0]->field);
            double ub = lead->bub;
            uint32_t last = lead->last;
            for (uint32_t k = 1; k < n; k++) {
                cursor *x = cu[k];
                if (x->started && x->last >= d && x->doc != DOC_END &&
                    (x->base < (int64_t)d)) {
                    if (x->bub < 0)
                        x->bub = bound(c, x->bmax_tf, x->bmin_len,
                                       km[k]->lf->idf, km[k]->field);
                    ub += x->bub;
                    if (x->last < last)
                        last = x->last;
                } else {
                    ub += tub[k];
                }
            }
            if (ub <= c->theta) {
                c->skipped = 1;
                if (last == UINT32_MAX || last + 1 >= sg->ndocs)
                    break;
                cur_seek(lead, last + 1);
                d = lead->doc;
                continue;
            }
        }
        /* the others to d */
        uint32_t k;
        for (k = 1; k < n; k++) {
            cur_seek(cu[k], d);
            if (cu[k]->doc != d)
                break;
        }
        if (k < n) {
            if (cu[k]->doc == DOC_END)
                break;
            cur_seek(lead, cu[k]->doc);
            d = lead->doc;
            continue;
        }
        int ok = 1;
        for (k = 0; k < n && ok; k++)
            ok = term_ok(km[k]);
        if (ok && !trawl__seg_is_deleted(sg, d)) {
            (*total)++;
            double inv[TRAWL_NFIELDS];
            for (int f = 0; f < TRAWL_NFIELDS; f++)
                inv[f] = inv_norm(c, f, trawl__seg_field_len(sg, d, f));
            double score = 0;
            for (uint32_t q = 0; q < n; q++) {
                const matcher *kid = m->kids[q];
                cursor *x = kid->cur[0];
                if (cur_tfs(x) < 0)
                    return;
                double t = 0;
                for (int f = 0; f < TRAWL_NFIELDS; f++) {
                    uint32_t tf = x->tf[f][x->i];
                    if (tf == 0 ||
                        (kid->field != Q_ANY_FIELD && kid->field != f))
                        continue;
                    t += c->w[f] * tf * inv[f];
                }
                if (t > 0)
                    score += kid->lf->idf * t * (c->k1 + 1) / (c->k1 + t);
            }
            if (!c->pruning || score >= c->theta) {
                cand x;
                x.score = score;
                x.date = 0;
                x.seg = si;
                x.doc = d;
                heap_push_rec(c, h, &x, 1);
                if (h->n == h->k) {
                    c->pruning = 1;
                    c->theta = h->v[0].score;
                }
            }
        }
        cur_next(lead);
        d = lead->doc;
    }
}

static int all_terms(const matcher *m)
{
    if (m->kind != M_OR)
        return 0;
    for (uint32_t k = 0; k < m->nkids; k++)
        if (m->kids[k]->kind != M_TERM || m->kids[k]->lf == NULL)
            return 0;
    return 1;
}

/* A search context with the query's parameters, no segment yet. */
static void ctx_init(ctx *c, trawl_searcher *s, const trawl_index *ix,
                     const prep *pr, const trawl_query *q, trawl_arena *a,
                     trawl_err *err)
{
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->ix = ix;
    c->a = a;
    c->err = err;
    c->leaves = pr->leaves;
    c->nleaves = pr->nleaves;
    c->k1 = q->k1;
    c->b = q->b;
    c->w[TRAWL_FIELD_TITLE] = q->w_title;
    c->w[TRAWL_FIELD_BODY] = q->w_body;
    c->omb = 1 - c->b;
    for (int f = 0; f < TRAWL_NFIELDS; f++) {
        c->avg[f] = ix->avg_len[f];
        c->bn[f] = c->avg[f] > 0 ? c->b / c->avg[f] : 0;
    }
    c->w_prox = q->w_prox;
}

static int run(trawl_searcher *s, const trawl_index *ix, const prep *pr,
               const trawl_query *q, trawl_arena *a, run_out *out,
               int scoring, trawl_err *err)
{
    ctx c;
    ctx_init(&c, s, ix, pr, q, a, err);
    c.out = out;
    c.mat_ok = 1;
    c.mat_score = scoring;
    if (scoring && q->w_prox > 0) {
        int32_t prev = -1;
        collect_prox(&c, pr->root, &prev);
    }
    if (out->no_prox) {
        /* Proximity comes later: plain-word queries note where its
         * words' positions are for the documents they keep. */
        if (q->sort == TRAWL_SORT_SCORE && refs_init(&c, out) < 0)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        c.npairs = 0;
    }

    c.leaf_m = trawl_arena_calloc(a, c.nleaves ? c.nleaves : 1,
                                  sizeof(*c.leaf_m));
    if (c.leaf_m == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    for (uint32_t si = 0; si < ix->nsegs; si++) {
        c.seg = &ix->segs[si];
        memset(c.leaf_m, 0, (c.nleaves ? c.nleaves : 1) * sizeof(*c.leaf_m));
        matcher *m = m_build(&c, pr->root);
        if (m == NULL)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        if (c.corrupt)
            return c.corrupt;
        if (m->kind == M_TERM || m->kind == M_PHRASE) {
            /* A lone leaf prunes like an AND of one. */
            matcher *w = m_new(&c, M_AND);
            matcher **kids = trawl_arena_alloc(a, sizeof(*kids));
            if (w == NULL || kids == NULL)
                return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            kids[0] = m;
            w->kids = kids;
            w->nkids = 1;
            m = w;
        }
        c.root = m;
        int may_prune = scoring && q->sort == TRAWL_SORT_SCORE &&
                        !q->exact_total && out->h != NULL && out->h->k > 0;
        c.prune = may_prune && prunable(m);
        uint32_t d = DOC_END;
        if (may_prune && all_terms(m))
            maxscore(&c, m, out->h, &out->total, si);
        else if (may_prune && c.npairs == 0 && and_terms_ok(m))
            and_terms(&c, m, out->h, &out->total, si);
        else
            d = m_seek(&c, m, 0);
        while (d != DOC_END) {
            if (!trawl__seg_is_deleted(c.seg, d)) {
                out->total++;
                if (scoring) {
                    cand x;
                    x.rec = NO_REC;
                    x.score = m_score(&c, m, d);
                    x.date = q->sort != TRAWL_SORT_SCORE
                                 ? trawl__seg_date(c.seg, d)
                                 : 0;
                    x.seg = si;
                    x.doc = d;
                    /* Proximity only where it could change the page:
                     * skip it when even its maximum cannot lift the
                     * document into a full heap. */
                    if (c.npairs > 0) {
                        heap *h = out->h;
                        int hopeless =
                            h->n == h->k && h->k > 0 &&
                            q->sort == TRAWL_SORT_SCORE &&
                            x.score + prox_doc_bound(&c, d) < h->v[0].score;
                        if (!hopeless)
                            x.score += prox_score(&c, d);
                    }
                    heap_push_rec(&c, out->h, &x, 0);
                    if (out->h->n == out->h->k) {
                        c.pruning = 1;
                        c.theta = out->h->v[0].score;
                    }
                }
            }
            d = m_seek(&c, m, d + 1);
        }
        if (c.skipped)
            out->skipped = 1;
        if (c.corrupt == TRAWL_ENOMEM)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        if (c.corrupt)
            return trawl__corrupt(err, "%s: damaged postings", c.seg->name);
    }
    return 0;
}

static int check_query(const trawl_query *q, trawl_err *err)
{
    if (q->limit > TRAWL_MAX_LIMIT)
        return trawl_err_set(err, TRAWL_EINVAL, "limit must be 0..%d",
                             TRAWL_MAX_LIMIT);
    if (q->offset > MAX_OFFSET)
        return trawl_err_set(err, TRAWL_EINVAL, "offset must be 0..%d",
                             MAX_OFFSET);
    if (!(q->k1 >= 0 && q->k1 <= 100))
        return trawl_err_set(err, TRAWL_EINVAL, "k1 must be 0..100");
    if (!(q->b >= 0 && q->b <= 1))
        return trawl_err_set(err, TRAWL_EINVAL, "b must be 0..1");
    if (!(q->w_title >= 0 && q->w_title <= 1000) ||
        !(q->w_body >= 0 && q->w_body <= 1000))
        return trawl_err_set(err, TRAWL_EINVAL,
                             "field weights must be 0..1000");
    if (q->sort < TRAWL_SORT_SCORE || q->sort > TRAWL_SORT_DATE_ASC)
        return trawl_err_set(err, TRAWL_EINVAL, "unknown sort");
    if (q->snippet_len > 10000)
        return trawl_err_set(err, TRAWL_EINVAL,
                             "snippet length must be at most 10000");
    return 0;
}

/* Order of candidates for rescoring: segment, then document. */
static int cmp_seg_doc(const void *pa, const void *pb)
{
    const cand *a = *(const cand *const *)pa, *b = *(const cand *const *)pb;
    if (a->seg != b->seg)
        return a->seg < b->seg ? -1 : 1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

/* Sort candidates into index order (segment, then document). */
static void sort_seg_doc(cand **o, size_t n)
{
    if (n > 64) {
        qsort(o, n, sizeof(*o), cmp_seg_doc);
        return;
    }
    /* the usual few dozen: insertion sort on (segment, document) keys
     * kept beside the pointers, no calls and no loads through them */
    uint64_t key[64];
    for (size_t i = 0; i < n; i++)
        key[i] = (uint64_t)o[i]->seg << 32 | o[i]->doc;
    for (size_t i = 1; i < n; i++) {
        cand *x = o[i];
        uint64_t k = key[i];
        size_t j = i;
        while (j > 0 && key[j - 1] > k) {
            key[j] = key[j - 1];
            o[j] = o[j - 1];
            j--;
        }
        key[j] = k;
        o[j] = x;
    }
}

/* Add the proximity part to the scores of v[0..n) (documents that match
 * the query), visiting them in index order. */
static int rescore(trawl_searcher *s, const trawl_index *ix, const prep *pr,
                   const trawl_query *q, trawl_arena *a, const run_out *ro,
                   cand *v, size_t n, size_t page, trawl_err *err)
{
    ctx c;
    ctx_init(&c, s, ix, pr, q, a, err);
    int32_t prev = -1;
    collect_prox(&c, pr->root, &prev);
    if (c.npairs == 0 || n == 0)
        return 0;
    cand **o = trawl_arena_alloc(a, n * sizeof(*o));
    c.leaf_m = trawl_arena_calloc(a, c.nleaves, sizeof(*c.leaf_m));
    if (o == NULL || c.leaf_m == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    /* v is in BM25F order and proximity only adds. The page's own hits
     * are rescored first; then the lowest of their scores is a floor for
     * the page's final scores: a hit below the page whose proximity
     * bound cannot lift it to the floor keeps its BM25F score, as it
     * can reach neither this page nor an earlier one. */
    size_t np = page > 0 && page < n ? page : n;
    /* Hits whose first phase noted where their positions are need no
     * cursor: read them in index order, each word skipping forward from
     * where its previous record left off. The rest (o[0..m)) are scored
     * from cursors below. */
    size_t m = 0;
    refpos *st = NULL;
    if (ro != NULL && ro->refs != NULL &&
        (st = trawl_arena_calloc(a, ro->nref, sizeof(*st))) == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    double floor = -1;
    for (int pass = 0; pass < 2; pass++) {
        size_t lo = pass == 0 ? 0 : np, hi = pass == 0 ? np : n;
        if (lo >= hi)
            break;
        if (pass == 1) {
            floor = v[0].score;
            for (size_t i = 1; i < np; i++)
                if (v[i].score < floor)
                    floor = v[i].score;
        }
        cand **w = o + m;
        size_t nw = 0;
        for (size_t i = lo; i < hi; i++)
            w[nw++] = &v[i];
        sort_seg_doc(w, nw);
        if (st != NULL)
            for (size_t i = 0; i < nw; i++)
                if (w[i]->rec != NO_REC)
                    refs_prefetch(&ro->refs[(size_t)w[i]->rec * ro->nref],
                                  ro->nref);
        for (size_t i = 0; i < nw; i++) {
            cand *x = w[i];
            if (x->rec == NO_REC || st == NULL) {
                o[m++] = x;
                continue;
            }
            c.seg = &ix->segs[x->seg];
            const posref *r = &ro->refs[(size_t)x->rec * ro->nref];
            if (pass == 1 &&
                x->score + prox_rec(&c, r, ro->ref_slot, x->doc, NULL, 0) <
                    floor)
                continue;
            x->score += prox_rec(&c, r, ro->ref_slot, x->doc, st, 1);
            if (c.corrupt == TRAWL_ENOMEM)
                return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
            if (c.corrupt)
                return trawl__corrupt(err, "%s: damaged positions",
                                      c.seg->name);
        }
    }
    sort_seg_doc(o, m);
    n = m;
    for (size_t i = 0; i < n;) {
        uint32_t si = o[i]->seg;
        c.seg = &ix->segs[si];
        memset(c.leaf_m, 0, c.nleaves * sizeof(*c.leaf_m));
        if (m_build(&c, pr->root) == NULL)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        for (; i < n && o[i]->seg == si; i++) {
            uint32_t d = o[i]->doc;
            for (uint32_t k = 0; k < c.npairs; k++) {
                matcher *ma = c.leaf_m[c.pair_a[k]];
                matcher *mb = c.leaf_m[c.pair_b[k]];
                if (ma != NULL)
                    m_seek(&c, ma, d);
                if (mb != NULL)
                    m_seek(&c, mb, d);
            }
            o[i]->score += prox_score(&c, d);
        }
        if (c.corrupt == TRAWL_ENOMEM)
            return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
        if (c.corrupt)
            return trawl__corrupt(err, "%s: damaged postings", c.seg->name);
    }
    return 0;
}

/* 1 if the query has pairs of words that proximity scores (a lone word,
 * a phrase or alternatives have none: their first phase need not keep
 * more than the page). */
static int has_prox(trawl_searcher *s, const trawl_index *ix,
                    const prep *pr, const trawl_query *q, trawl_arena *a,
                    trawl_err *err)
{
    ctx c;
    ctx_init(&c, s, ix, pr, q, a, err);
    int32_t prev = -1;
    collect_prox(&c, pr->root, &prev);
    return c.npairs > 0;
}

/* Rank order by score (then segment, document), as better() does. */
static int cmp_rank(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (better(TRAWL_SORT_SCORE, a, b))
        return -1;
    return better(TRAWL_SORT_SCORE, b, a);
}

int trawl_search(trawl_searcher *s, const trawl_index *ix,
                 const trawl_query *q, trawl_arena *arena,
                 trawl_results *out, trawl_err *err)
{
    memset(out, 0, sizeof(*out));
    int rc = check_query(q, err);
    if (rc < 0)
        return rc;
    prep pr;
    if ((rc = prepare(s, ix, q->q, q->qlen, arena, &pr, err)) < 0)
        return rc;
    /* Only filters (date:, author:): no score to rank by, newest first */
    trawl_query byd;
    if (q->sort == TRAWL_SORT_SCORE && pr.nleaves == 0) {
        byd = *q;
        byd.sort = TRAWL_SORT_DATE;
        q = &byd;
    }
    out->sort = q->sort;
    if (q->explain) {
        trawl_buf rb = TRAWL_BUF_INIT;
        trawl__query_render(pr.root, &rb);
        if (rb.rc == 0)
            out->parsed =
                trawl_arena_strndup(arena, (const char *)rb.ptr, rb.len);
        trawl_buf_free(&rb);
    }

    /* Proximity as a second phase: the first ranks by BM25F alone (with
     * all its pruning), then the prox_depth best matches get their
     * proximity part and are ranked again. Beyond them scores are BM25F,
     * never above the rescored ones (proximity only adds), so pages stay
     * consistent. With date sorts, only the page's hits are rescored. */
    size_t page = (size_t)q->offset + q->limit;
    int second = q->w_prox > 0 && q->prox_depth > 0 && page > 0 &&
                 has_prox(s, ix, &pr, q, arena, err);
    heap h;
    h.k = page;
    if (second && q->sort == TRAWL_SORT_SCORE && h.k < q->prox_depth)
        h.k = q->prox_depth;
    h.n = 0;
    h.sort = q->sort;
    h.v = trawl_arena_alloc(arena, (h.k ? h.k : 1) * sizeof(cand));
    if (h.v == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    run_out r = {.h = &h, .no_prox = second};
    if ((rc = run(s, ix, &pr, q, arena, &r, 1, err)) < 0)
        return rc;
    out->total = r.total;
    out->total_exact = !r.skipped;
    size_t kept = h.n;
    if (second && q->sort == TRAWL_SORT_SCORE && page < kept &&
        kept <= q->prox_depth) {
        /* Every kept candidate is rescored: rescoring needs the page's
         * candidates as a set (the best page of them first), and only
         * the page is put in order at the end. */
        if (kept <= RANK_MAX)
            rank_sort(h.v, kept);
        else
            select_best(h.v, kept, page);
        if ((rc = rescore(s, ix, &pr, q, arena, &r, h.v, kept, page, err)) <
            0)
            return rc;
        if (kept <= RANK_MAX) {
            /* The page's own hits (v[0..page) before rescoring) all end
             * at or above the lowest of their final scores; a hit below
             * that cannot reach the page, so only the others are ranked
             * (most hits below the page stay below it). */
            double floor = h.v[0].score;
            for (size_t i = 1; i < page; i++)
                if (h.v[i].score < floor)
                    floor = h.v[i].score;
            size_t m = page;
            for (size_t i = page; i < kept; i++)
                if (h.v[i].score >= floor) {
                    cand t = h.v[m];
                    h.v[m++] = h.v[i];
                    h.v[i] = t;
                }
            rank_sort(h.v, m);
        } else {
            select_best(h.v, kept, page);
            sort_best(h.v, page);
        }
        goto hits;
    }
    heap_drain(&h);
    h.n = kept;
    if (second && q->sort == TRAWL_SORT_SCORE) {
        size_t nr = h.n < q->prox_depth ? h.n : q->prox_depth;
        if ((rc = rescore(s, ix, &pr, q, arena, &r, h.v, nr, page, err)) <
            0)
            return rc;
        if (nr <= 64) {
            sort_best(h.v, nr);
        } else {
            qsort(h.v, nr, sizeof(cand), cmp_rank);
        }
    } else if (second && h.n > q->offset) {
        size_t nr = (h.n < page ? h.n : page) - q->offset;
        if ((rc = rescore(s, ix, &pr, q, arena, &r, h.v + q->offset, nr, 0,
                          err)) <
            0)
            return rc;
    }
hits:
    if (h.n > page)
        h.n = page;
    if (h.n <= q->offset)
        return 0;
    size_t nh = h.n - q->offset;
    out->hits = trawl_arena_calloc(arena, nh, sizeof(trawl_hit));
    if (out->hits == NULL)
        return trawl_err_set(err, TRAWL_ENOMEM, "out of memory");
    for (size_t i = 0; i < nh; i++) {
        const cand *x = &h.v[q->offset + i];
        trawl_hit *hit = &out->hits[i];
        const trawl_segment *sg = &ix->segs[x->seg];
        hit->score = x->score;
        hit->date = trawl__seg_date(sg, x->doc);
        if (!q->snippets && !q->author_url) {
            /* A result list needs only the small DOCMETA block. */
            if ((rc = trawl__seg_meta(sg, x->doc, arena, &hit->id,
                                      &hit->id_len, &hit->title,
                                      &hit->title_len, err)) < 0)
                return rc;
            continue;
        }
        trawl_stored st;
        if ((rc = trawl__seg_stored_dctx(sg, x->doc, s->dctx, arena, &st,
                                         err)) < 0)
            return rc;
        hit->id = st.id;
        hit->id_len = st.id_len;
        hit->title = st.title;
        hit->title_len = st.title_len;
        if (q->author_url) {
            hit->author = st.author;
            hit->author_len = st.author_len;
            hit->url = st.url;
            hit->url_len = st.url_len;
        }
        if (q->snippets) {
            rc = trawl__snippet_in(
                s->an, &s->snip, pr.root, st.body, st.body_len,
                q->snippet_len ? q->snippet_len : 200, arena, &hit->snippet,
                &hit->snippet_len, &hit->ranges, &hit->nranges);
            if (rc < 0)
                return trawl_err_set(err, rc, "snippet: %s",
                                     trawl_strerror(rc));
        }
    }
    out->nhits = nh;
    return 0;
}

int trawl_count(trawl_searcher *s, const trawl_index *ix, const char *q,
                size_t qlen, trawl_arena *arena, uint64_t *count,
                trawl_err *err)
{
    trawl_query tq;
    trawl_query_init(&tq);
    tq.q = q;
    tq.qlen = qlen;
    prep pr;
    *count = 0;
    int rc = prepare(s, ix, q, qlen, arena, &pr, err);
    if (rc < 0)
        return rc;
    run_out r = {.h = NULL};
    if ((rc = run(s, ix, &pr, &tq, arena, &r, 0, err)) < 0)
        return rc;
    *count = r.total;
    return 0;
}

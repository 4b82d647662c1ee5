/*
 * The PAIRS section's word lists and pair term keys (see format.h).
 */
#include "pairs.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

int trawl__pairs_valid(const seg_section *sec)
{
    if (sec->len == 0)
        return 0;
    if (sec->len < 12)
        return -1;
    uint32_t nc = trawl__get_u32(sec->p), nf = trawl__get_u32(sec->p + 4);
    if (nc == 0 || nc > PAIR_MAX_WORDS || nf > PAIR_MAX_FREQ)
        return -1;
    uint64_t n = (uint64_t)nc + nf;
    uint64_t head = 8 + (n + 1) * 4;
    if (sec->len < head)
        return -1;
    const unsigned char *off = sec->p + 8;
    const char *words = (const char *)sec->p + head;
    uint64_t area = sec->len - head;
    if (trawl__get_u32(off) != 0 || trawl__get_u32(off + n * 4) != area)
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t a = trawl__get_u32(off + i * 4);
        uint32_t b = trawl__get_u32(off + (i + 1) * 4);
        if (b <= a || b - a > PAIR_MAX_LEN || b > area)
            return -1;
        if (memchr(words + a, PAIR_MARK, b - a) != NULL)
            return -1;
        /* strictly increasing within each list */
        if (i > 0 && i != nc) {
            uint32_t p = trawl__get_u32(off + (i - 1) * 4);
            if (trawl__cmp_bytes(words + p, a - p, words + a, b - a) >= 0)
                return -1;
        }
    }
    return 0;
}

unsigned trawl__pairs_common(const seg_section *sec)
{
    return sec->len >= 12 ? trawl__get_u32(sec->p) : 0;
}

unsigned trawl__pairs_frequent(const seg_section *sec)
{
    return sec->len >= 12 ? trawl__get_u32(sec->p + 4) : 0;
}

const char *trawl__pairs_word(const seg_section *sec, unsigned i,
                              size_t *len)
{
    uint64_t n = (uint64_t)trawl__pairs_common(sec) +
                 trawl__pairs_frequent(sec);
    const unsigned char *off = sec->p + 8;
    uint32_t a = trawl__get_u32(off + (size_t)i * 4);
    *len = trawl__get_u32(off + (size_t)(i + 1) * 4) - a;
    return (const char *)sec->p + 8 + (n + 1) * 4 + a;
}

/* Binary search of words [lo, hi) of a valid section. */
static int find(const seg_section *sec, unsigned lo, unsigned hi,
                const char *w, size_t len)
{
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        size_t ml;
        const char *m = trawl__pairs_word(sec, mid, &ml);
        int c = trawl__cmp_bytes(m, ml, w, len);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int trawl__pairs_class(const seg_section *sec, const char *w, size_t len)
{
    unsigned nc = trawl__pairs_common(sec);
    if (nc == 0 || len == 0 || len > PAIR_MAX_LEN)
        return PAIR_NONE;
    if (find(sec, 0, nc, w, len))
        return PAIR_COMMON;
    if (find(sec, nc, nc + trawl__pairs_frequent(sec), w, len))
        return PAIR_FREQUENT;
    return PAIR_NONE;
}

int trawl__pairs_cover(const seg_section *sec, const char *a, size_t alen,
                       const char *b, size_t blen)
{
    int ca = trawl__pairs_class(sec, a, alen);
    if (ca == PAIR_NONE)
        return 0;
    int cb = trawl__pairs_class(sec, b, blen);
    return cb != PAIR_NONE && (ca == PAIR_COMMON || cb == PAIR_COMMON);
}

size_t trawl__pair_key(char *out, const char *a, size_t alen, const char *b,
                       size_t blen)
{
    if (alen == 0 || blen == 0 || alen > PAIR_MAX_LEN || blen > PAIR_MAX_LEN)
        return 0;
    out[0] = PAIR_MARK;
    memcpy(out + 1, a, alen);
    out[1 + alen] = PAIR_MARK;
    memcpy(out + 2 + alen, b, blen);
    return 2 + alen + blen;
}

static int cmp_cand_df(const void *a, const void *b)
{
    const pair_cand *x = a, *y = b;
    if (x->df != y->df)
        return x->df > y->df ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static int cmp_cand_bytes(const void *a, const void *b)
{
    const pair_cand *x = a, *y = b;
    return trawl__cmp_bytes(x->s, x->len, y->s, y->len);
}

int trawl__pairs_choose(pair_cand *c, size_t n, uint64_t ndocs,
                        trawl_buf *out)
{
    trawl_buf_clear(out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].df >= 2 && (uint64_t)c[i].df * PAIR_FREQ_DIV >= ndocs &&
            c[i].len > 0 && c[i].len <= PAIR_MAX_LEN &&
            !trawl__is_pair(c[i].s, c[i].len) &&
            !trawl__is_meta(c[i].s, c[i].len) &&
            memchr(c[i].s, PAIR_MARK, c[i].len) == NULL) {
            c[k] = c[i];
            c[k].ord = (uint32_t)k;
            k++;
        }
    }
    qsort(c, k, sizeof(*c), cmp_cand_df);
    uint32_t nc = 0;
    while (nc < k && nc < PAIR_MAX_WORDS &&
           (uint64_t)c[nc].df * PAIR_DF_DIV >= ndocs)
        nc++;
    if (nc == 0)
        return 0;
    uint32_t nf = k - nc < PAIR_MAX_FREQ ? (uint32_t)(k - nc) : PAIR_MAX_FREQ;
    qsort(c, nc, sizeof(*c), cmp_cand_bytes);
    qsort(c + nc, nf, sizeof(*c), cmp_cand_bytes);
    trawl_buf_put_u32le(out, nc);
    trawl_buf_put_u32le(out, nf);
    uint32_t off = 0;
    for (uint32_t i = 0; i <= nc + nf; i++) {
        trawl_buf_put_u32le(out, off);
        if (i < nc + nf)
            off += (uint32_t)c[i].len;
    }
    for (uint32_t i = 0; i < nc + nf; i++)
        trawl_buf_put(out, c[i].s, c[i].len);
    return out->rc != 0 ? TRAWL_ENOMEM : 0;
}

int trawl__pair_count_init(pair_count *pc, uint32_t kc, uint32_t k,
                           size_t nslots)
{
    memset(pc, 0, sizeof(*pc));
    size_t np = (size_t)2 * kc * k; /* > trawl__pair_index() */
    pc->kc = kc;
    pc->k = k;
    pc->cword = malloc(((size_t)k + 1) * sizeof(*pc->cword));
    pc->next = malloc(((size_t)k + 1) * sizeof(*pc->next));
    pc->here = malloc(((size_t)k + 1) * sizeof(*pc->here));
    pc->span = malloc(((size_t)k + 1) * sizeof(*pc->span));
    pc->bucket = calloc(nslots + 1, sizeof(*pc->bucket));
    pc->ps = calloc(np + 1, sizeof(*pc->ps));
    pc->plist = malloc((np + 1) * sizeof(*pc->plist));
    if (pc->cword == NULL || pc->next == NULL || pc->here == NULL ||
        pc->span == NULL || pc->bucket == NULL || pc->ps == NULL ||
        pc->plist == NULL) {
        trawl__pair_count_free(pc);
        return TRAWL_ENOMEM;
    }
    return 0;
}

void trawl__pair_count_free(pair_count *pc)
{
    free(pc->cword);
    free(pc->next);
    free(pc->bucket);
    free(pc->here);
    free(pc->span);
    free(pc->pos);
    free(pc->mark);
    free(pc->ps);
    free(pc->plist);
    memset(pc, 0, sizeof(*pc));
}

int trawl__pair_count_grow(pair_count *pc, size_t flen, size_t npos)
{
    if (flen + 2 > pc->mark_cap) {
        size_t ncap = pc->mark_cap ? pc->mark_cap : 4096;
        while (ncap < flen + 2)
            ncap *= 2;
        uint16_t *nm = realloc(pc->mark, 2 * ncap * sizeof(*nm));
        if (nm == NULL)
            return TRAWL_ENOMEM;
        memset(nm + 2 * pc->mark_cap, 0,
               2 * (ncap - pc->mark_cap) * sizeof(*nm));
        pc->mark = nm;
        pc->mark_cap = ncap;
    }
    if (npos > pc->pos_cap) {
        size_t ncap = pc->pos_cap ? pc->pos_cap : 4096;
        while (ncap < npos)
            ncap *= 2;
        uint32_t *np = realloc(pc->pos, ncap * sizeof(*np));
        if (np == NULL)
            return TRAWL_ENOMEM;
        pc->pos = np;
        pc->pos_cap = ncap;
    }
    return 0;
}

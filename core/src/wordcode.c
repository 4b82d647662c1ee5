/*
 * The store's word code (wordcode.h; layout in format.h, STORE_CODE).
 * The model and its measurements: bench/STORE-MODEL.md ("words stream,
 * escaped bytes"), whose tool bench/store_model.c this code started from.
 *
 * Tokens are maximal runs of word bytes (ASCII letters and digits, every
 * byte >= 0x80) or of other bytes, cut every WC_TOKMAX bytes; one space
 * between two words is implied (not coded) unless the first word is
 * WC_TOKMAX bytes long (then it may be the first piece of a longer run).
 * Each stored field is its tokens then EOF, or ABSENT; a token the code
 * does not know is ESC then its bytes in a byte code, then END.
 */
#define _GNU_SOURCE /* qsort_r */

#include "wordcode.h"

#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "format.h"
#include "internal.h"
#include "trawl/status.h"

#define TB 11 /* bits of the first-level decoding tables */
enum { SYM_EOF, SYM_ABS, SYM_ESC, NSPEC };
#define BYTE_END 256
#define NBYTESYM 257
#define STORE_NF STORED_BODY_N /* fields of a STORE record */
#define VARINT_MAX 5           /* bytes of a field's varint (len < 2^31) */
#define DEC_SLACK 64           /* decoder writes past its end, at most */
#define WC_ZLEVEL 3            /* zstd level of the serialized code */

/* Word bytes as a bitmap (ASCII letters and digits, every byte >= 0x80):
 * one load and a shift per byte where three compares were, in the
 * coder's inner loop. */
static const uint64_t word_bits[4] = {
    0x03FF000000000000ull, /* '0'..'9' */
    0x07FFFFFE07FFFFFEull, /* 'A'..'Z', 'a'..'z' */
    ~0ull, ~0ull};

static inline int is_word(unsigned c)
{
    return (int)(word_bits[(c >> 6) & 3] >> (c & 63) & 1);
}

/* Bytes p[0..8), little-endian. */
static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* The low n bytes (n <= 8) of a little-endian load. */
static inline uint64_t low_bytes(uint64_t v, size_t n)
{
    return n == 0 ? 0 : v & (~0ull >> (64 - 8 * n));
}

/* ---- Huffman code lengths ------------------------------------------- */

typedef struct {
    uint64_t w;
    uint32_t s;
} wsym;

static int wsym_cmp(const void *a, const void *b)
{
    const wsym *x = a, *y = b;
    if (x->w != y->w)
        return x->w < y->w ? -1 : 1;
    return x->s < y->s ? -1 : x->s > y->s;
}

/* Moffat & Katajainen's in-place minimum-redundancy code lengths: a[0..n)
 * ascending weights (n >= 1), replaced by lengths. */
static void mk_lengths(uint64_t *a, size_t n)
{
    if (n == 1) {
        a[0] = 1;
        return;
    }
    size_t root = 0, leaf = 2, next;
    a[0] += a[1];
    for (next = 1; next < n - 1; next++) {
        if (leaf >= n || a[root] < a[leaf]) {
            a[next] = a[root];
            a[root++] = next;
        } else {
            a[next] = a[leaf++];
        }
        if (leaf >= n || (root < next && a[root] < a[leaf])) {
            a[next] += a[root];
            a[root++] = next;
        } else {
            a[next] += a[leaf++];
        }
    }
    a[n - 2] = 0;
    for (size_t k = n - 2; k-- > 0;)
        a[k] = a[a[k]] + 1;
    long avbl = 1, used = 0, dpth = 0;
    long r = (long)n - 2, nx = (long)n - 1;
    while (avbl > 0) {
        while (r >= 0 && (long)a[r] == dpth) {
            used++;
            r--;
        }
        while (avbl > used) {
            a[nx--] = (uint64_t)dpth;
            avbl--;
        }
        avbl = 2 * used;
        dpth++;
        used = 0;
    }
}

/* Code lengths (0: no code) of n symbols from their counts, at most L
 * bits: Huffman's, then JPEG's adjustment (ITU T.81 K.3), the lengths
 * given back by decreasing count. 0 or TRAWL_ENOMEM / TRAWL_EINVAL. */
static int huff_lengths(const uint64_t *cnt, size_t n, int L, uint8_t *len)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += cnt[i] > 0;
    memset(len, 0, n);
    if (m == 0)
        return 0;
    if (m > (size_t)1 << L)
        return TRAWL_EINVAL;
    wsym *ws = calloc(m, sizeof(*ws));
    uint64_t *a = calloc(m, sizeof(*a));
    if (ws == NULL || a == NULL) {
        free(ws);
        free(a);
        return TRAWL_ENOMEM;
    }
    m = 0;
    for (size_t i = 0; i < n; i++)
        if (cnt[i] > 0)
            ws[m++] = (wsym){cnt[i], (uint32_t)i};
    qsort(ws, m, sizeof(*ws), wsym_cmp);
    for (size_t i = 0; i < m; i++)
        a[i] = ws[i].w;
    mk_lengths(a, m);
    uint64_t bl[130] = {0};
    int maxd = 0;
    for (size_t i = 0; i < m; i++) {
        bl[a[i]]++;
        if ((int)a[i] > maxd)
            maxd = (int)a[i];
    }
    for (int i = maxd; i > L; i--) {
        while (bl[i] > 0) {
            int j = i - 2;
            while (bl[j] == 0)
                j--;
            bl[i] -= 2;
            bl[i - 1] += 1;
            bl[j + 1] += 2;
            bl[j] -= 1;
        }
    }
    size_t k = m;
    for (int l = 1; l <= L; l++)
        for (uint64_t c = 0; c < bl[l]; c++)
            len[ws[--k].s] = (uint8_t)l;
    free(a);
    free(ws);
    return 0;
}

/* A canonical code: codes of each length are consecutive, in symbol
 * order, the shorter first. */
typedef struct canon {
    int L;
    uint32_t first_code[WC_MAXLEN + 2], first_pos[WC_MAXLEN + 2],
        count[WC_MAXLEN + 2];
} canon;

/* Set up c from n lengths (each 0 to L): TRAWL_ECORRUPT when they are no
 * prefix code (Kraft's sum above 1). */
static int canon_init(canon *c, const uint8_t *len, size_t n, int L)
{
    memset(c, 0, sizeof(*c));
    c->L = L;
    for (size_t i = 0; i < n; i++) {
        if (len[i] > L)
            return TRAWL_ECORRUPT;
        c->count[len[i]]++;
    }
    c->count[0] = 0;
    uint64_t kraft = 0, code = 0, pos = 0;
    for (int l = 1; l <= L; l++) {
        kraft += (uint64_t)c->count[l] << (L - l);
        c->first_code[l] = (uint32_t)code;
        c->first_pos[l] = (uint32_t)pos;
        code = (code + c->count[l]) << 1;
        pos += c->count[l];
    }
    return kraft > (uint64_t)1 << L ? TRAWL_ECORRUPT : 0;
}

/* ---- the writer's model ------------------------------------------------ */

struct wc_model {
    /* token table: ids 0..NSPEC-1 are the special symbols */
    uint64_t *slot; /* hash's high 32 bits << 32 | id + 1; 0: empty */
    size_t mask;
    uint64_t *hash, *cnt;
    uint32_t *off;
    uint8_t *tlen;
    size_t n, cap;
    trawl_buf bytes;
    /* the code, by id */
    uint32_t *code;
    uint8_t *clen;
    uint32_t bcode[NBYTESYM];
    uint8_t bclen[NBYTESYM];
    uint32_t *order; /* symbol number -> id (specials, then the tokens
                        by (code length, bytes)) */
    size_t nsym;
    size_t vocab_bytes;
    int padded; /* bytes has WC_PAD zeros after its end (see tok_eq) */
};

static int tt_grow_slots(wc_model *m)
{
    size_t nm = m->mask * 2 + 1;
    uint64_t *ns = calloc(nm + 1, sizeof(*ns));
    if (ns == NULL)
        return TRAWL_ENOMEM;
    for (size_t id = NSPEC; id < m->n; id++) {
        size_t i = m->hash[id] & nm;
        while (ns[i])
            i = (i + 1) & nm;
        ns[i] = (m->hash[id] >> 32) << 32 | (id + 1);
    }
    free(m->slot);
    m->slot = ns;
    m->mask = nm;
    return 0;
}

/* A token's hash (tokens are short: a call to XXH3 cost the encoder more
 * than this whole function). end: where the bytes readable from p end
 * (the tail is one load when eight bytes are). */
static inline uint64_t tok_hash(const unsigned char *p, size_t n,
                                const unsigned char *end)
{
    uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ull;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t v = 0;
    if (n > 0 && end - p >= 8) {
        v = low_bytes(load_le64(p), n);
    } else {
        for (size_t i = 0; i < n; i++)
            v |= (uint64_t)p[i] << (8 * i);
    }
    h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
    return h ^ h >> 29;
}

/* Whether token t (of the model's bytes) is p[0..n). padded: eight bytes
 * are readable from t (the model's bytes end with WC_PAD zeros once
 * built); end as for tok_hash. */
#define WC_PAD 8
static inline int tok_eq(const unsigned char *t, const unsigned char *p,
                         size_t n, const unsigned char *end, int padded)
{
    if (padded && n <= 8 && end - p >= 8)
        return low_bytes(load_le64(t) ^ load_le64(p), n) == 0;
    return memcmp(t, p, n) == 0;
}

/* The id of token p[0..n), or UINT32_MAX. */
static inline uint32_t tt_find(const wc_model *m, const unsigned char *p,
                               size_t n, uint64_t h, const unsigned char *end,
                               int padded, size_t *at)
{
    size_t i = h & m->mask;
    uint64_t s;
    while ((s = m->slot[i]) != 0) {
        uint32_t id = (uint32_t)s - 1;
        if (s >> 32 == h >> 32 && m->tlen[id] == n &&
            tok_eq(m->bytes.ptr + m->off[id], p, n, end, padded))
            return id;
        i = (i + 1) & m->mask;
    }
    *at = i;
    return UINT32_MAX;
}

static int tt_count(wc_model *m, const unsigned char *p, size_t n,
                    const unsigned char *end)
{
    uint64_t h = tok_hash(p, n, end);
    size_t at = 0;
    uint32_t id = tt_find(m, p, n, h, end, 0, &at);
    if (id != UINT32_MAX) {
        m->cnt[id]++;
        return 0;
    }
    if (m->n >= WC_MAXTOKENS + NSPEC)
        return TRAWL_EINVAL;
    if (m->n == m->cap) {
        size_t c = m->cap * 2;
        uint64_t *hs = realloc(m->hash, c * 8);
        if (hs != NULL)
            m->hash = hs;
        uint64_t *cn = realloc(m->cnt, c * 8);
        if (cn != NULL)
            m->cnt = cn;
        uint32_t *of = realloc(m->off, c * 4);
        if (of != NULL)
            m->off = of;
        uint8_t *tl = realloc(m->tlen, c);
        if (tl != NULL)
            m->tlen = tl;
        if (hs == NULL || cn == NULL || of == NULL || tl == NULL)
            return TRAWL_ENOMEM;
        m->cap = c;
    }
    if (m->bytes.len + n > UINT32_MAX)
        return TRAWL_EINVAL;
    id = (uint32_t)m->n++;
    m->hash[id] = h;
    m->cnt[id] = 1;
    m->off[id] = (uint32_t)m->bytes.len;
    m->tlen[id] = (uint8_t)n;
    trawl_buf_put(&m->bytes, p, n);
    if (m->bytes.rc != 0)
        return TRAWL_ENOMEM;
    m->slot[at] = (h >> 32) << 32 | (id + 1);
    if (m->n * 2 > m->mask)
        return tt_grow_slots(m);
    return 0;
}

/* Call fn on each token of field p[0..n) that is coded (the implied
 * spaces are skipped). */
#define FOR_TOKENS(p, n, TOK)                                                 \
    do {                                                                      \
        size_t i_ = 0;                                                        \
        int prevw_ = 0;                                                       \
        while (i_ < (n)) {                                                    \
            int w_ = is_word((p)[i_]);                                        \
            size_t j_ = i_ + 1;                                               \
            size_t lim_ = (n) - i_ > WC_TOKMAX ? i_ + WC_TOKMAX : (n);        \
            while (j_ < lim_ && is_word((p)[j_]) == w_)                       \
                j_++;                                                         \
            if (w_ || !prevw_ || j_ - i_ != 1 || (p)[i_] != ' ' ||            \
                j_ == (n) || !is_word((p)[j_])) {                             \
                const unsigned char *tp_ = (p) + i_;                          \
                size_t tn_ = j_ - i_;                                         \
                TOK;                                                          \
            }                                                                 \
            prevw_ = w_ && j_ - i_ < WC_TOKMAX;                               \
            i_ = j_;                                                          \
        }                                                                     \
    } while (0)

static int by_len_bytes(const void *a, const void *b, void *ctx)
{
    const wc_model *m = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (m->clen[x] != m->clen[y])
        return m->clen[x] < m->clen[y] ? -1 : 1;
    uint32_t lx = m->tlen[x], ly = m->tlen[y];
    int c = memcmp(m->bytes.ptr + m->off[x], m->bytes.ptr + m->off[y],
                   lx < ly ? lx : ly);
    if (c != 0)
        return c;
    return lx < ly ? -1 : lx > ly;
}

void trawl__wc_model_free(wc_model *m)
{
    if (m == NULL)
        return;
    free(m->slot);
    free(m->hash);
    free(m->cnt);
    free(m->off);
    free(m->tlen);
    trawl_buf_free(&m->bytes);
    free(m->code);
    free(m->clen);
    free(m->order);
    free(m);
}

size_t trawl__wc_model_mem(const wc_model *m)
{
    if (m == NULL)
        return 0;
    return sizeof(*m) + (m->mask + 1) * 8 + m->cap * (8 + 8 + 4 + 1) +
           m->bytes.cap + m->n * (4 + 1 + 4);
}

size_t trawl__wc_vocab_bytes(const wc_model *m)
{
    return m->vocab_bytes;
}

/* Walk the records of [p, p + len): fn(ctx, field, flen) per field,
 * field NULL when absent. -1 when they do not parse. */
static int next_field(const unsigned char **p, const unsigned char *end,
                      const unsigned char **f, size_t *fl)
{
    uint64_t v;
    if (trawl__get_varint(p, end, &v) != 0 ||
        (v > 0 && v - 1 > (uint64_t)(end - *p)))
        return -1;
    if (v == 0) {
        *f = NULL;
        *fl = 0;
    } else {
        *f = *p;
        *fl = (size_t)v - 1;
        *p += v - 1;
    }
    return 0;
}

int trawl__wc_build(const unsigned char *p, size_t len, wc_model **out)
{
    *out = NULL;
    wc_model *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return TRAWL_ENOMEM;
    int rc = 0;
    m->mask = (1u << 14) - 1;
    m->cap = 4096;
    m->slot = calloc(m->mask + 1, sizeof(*m->slot));
    m->hash = calloc(m->cap, 8);
    m->cnt = calloc(m->cap, 8);
    m->off = calloc(m->cap, 4);
    m->tlen = calloc(m->cap, 1);
    if (m->slot == NULL || m->hash == NULL || m->cnt == NULL ||
        m->off == NULL || m->tlen == NULL) {
        rc = TRAWL_ENOMEM;
        goto fail;
    }
    m->n = NSPEC;
    /* Count the first STORE_DICT_HOLD bytes of fields (whole records). */
    const unsigned char *end = p + len;
    size_t counted = 0;
    while (p < end && counted < STORE_DICT_HOLD && rc == 0) {
        for (int k = 0; k < STORE_NF && rc == 0; k++) {
            const unsigned char *f;
            size_t fl;
            if (next_field(&p, end, &f, &fl) < 0) {
                rc = TRAWL_EINVAL;
                break;
            }
            if (f == NULL) {
                m->cnt[SYM_ABS]++;
                continue;
            }
            counted += fl;
            FOR_TOKENS(f, fl,
                       if (rc == 0) rc = tt_count(m, tp_, tn_, end));
            m->cnt[SYM_EOF]++;
        }
    }
    if (rc < 0)
        goto fail;
    /* Unseen tokens are expected about as often as the sample's hapaxes
     * occur (Good-Turing), their bytes as those of the hapaxes. */
    uint64_t bcnt[NBYTESYM];
    for (int b = 0; b < NBYTESYM; b++)
        bcnt[b] = 1;
    for (size_t id = NSPEC; id < m->n; id++) {
        m->vocab_bytes += m->tlen[id];
        if (m->cnt[id] != 1)
            continue;
        m->cnt[SYM_ESC]++;
        const unsigned char *t = m->bytes.ptr + m->off[id];
        for (uint32_t i = 0; i < m->tlen[id]; i++)
            bcnt[t[i]]++;
        bcnt[BYTE_END]++;
    }
    for (int s = 0; s < NSPEC; s++)
        if (m->cnt[s] == 0)
            m->cnt[s] = 1;
    m->clen = malloc(m->n);
    m->code = malloc(m->n * 4);
    m->order = malloc(m->n * 4);
    if (m->clen == NULL || m->code == NULL || m->order == NULL) {
        rc = TRAWL_ENOMEM;
        goto fail;
    }
    if ((rc = huff_lengths(m->cnt, m->n, WC_MAXLEN, m->clen)) < 0 ||
        (rc = huff_lengths(bcnt, NBYTESYM, WC_MAXLEN, m->bclen)) < 0)
        goto fail;
    for (size_t i = 0; i < m->n; i++)
        m->order[i] = (uint32_t)i;
    qsort_r(m->order + NSPEC, m->n - NSPEC, 4, by_len_bytes, m);
    m->nsym = m->n;
    /* Canonical codes in symbol order. */
    canon c;
    uint8_t *sl = malloc(m->nsym);
    if (sl == NULL) {
        rc = TRAWL_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < m->nsym; i++)
        sl[i] = m->clen[m->order[i]];
    rc = canon_init(&c, sl, m->nsym, WC_MAXLEN);
    free(sl);
    if (rc < 0)
        goto fail;
    uint32_t seen[WC_MAXLEN + 2] = {0};
    for (size_t i = 0; i < m->nsym; i++) {
        uint32_t id = m->order[i];
        int l = m->clen[id];
        m->code[id] = c.first_code[l] + seen[l]++;
    }
    if ((rc = canon_init(&c, m->bclen, NBYTESYM, WC_MAXLEN)) < 0)
        goto fail;
    memset(seen, 0, sizeof(seen));
    for (int b = 0; b < NBYTESYM; b++)
        m->bcode[b] = c.first_code[m->bclen[b]] + seen[m->bclen[b]]++;
    /* The counts and hashes are no longer needed. */
    free(m->cnt);
    m->cnt = NULL;
    /* Zeros after the tokens' bytes, for tok_eq's loads, when they fit in
     * what is allocated (not growing it keeps the model's size, which
     * counts in the writer's budget, what it was). */
    if (m->bytes.cap - m->bytes.len >= WC_PAD) {
        memset(m->bytes.ptr + m->bytes.len, 0, WC_PAD);
        m->padded = 1;
    }
    *out = m;
    return 0;
fail:
    trawl__wc_model_free(m);
    return rc == TRAWL_ECORRUPT ? TRAWL_EINVAL : rc;
}

/*
 * Serialized code (before compression): u8 L, varint ntokens, the code
 * lengths of EOF, ABSENT and ESC (u8 each), per length 1..L varint the
 * number of tokens of that length, then the tokens by (length, bytes),
 * each front coded against the previous one of its length (varint
 * shared, varint suffix length, suffix); then the 257 byte code lengths.
 */
int trawl__wc_write(const wc_model *m, trawl_buf *out)
{
    trawl_buf v = TRAWL_BUF_INIT;
    uint64_t per[WC_MAXLEN + 2] = {0};
    for (size_t i = NSPEC; i < m->nsym; i++)
        per[m->clen[m->order[i]]]++;
    trawl_buf_put_u8(&v, WC_MAXLEN);
    trawl_buf_put_varint(&v, m->nsym - NSPEC);
    for (int s = 0; s < NSPEC; s++)
        trawl_buf_put_u8(&v, m->clen[s]);
    for (int l = 1; l <= WC_MAXLEN; l++)
        trawl_buf_put_varint(&v, per[l]);
    const unsigned char *prev = NULL;
    size_t plen = 0;
    int pl = 0;
    for (size_t i = NSPEC; i < m->nsym; i++) {
        uint32_t id = m->order[i];
        const unsigned char *t = m->bytes.ptr + m->off[id];
        size_t n = m->tlen[id], sh = 0;
        if (m->clen[id] != pl)
            prev = NULL;
        while (prev != NULL && sh < n && sh < plen && t[sh] == prev[sh])
            sh++;
        trawl_buf_put_varint(&v, sh);
        trawl_buf_put_varint(&v, n - sh);
        trawl_buf_put(&v, t + sh, n - sh);
        prev = t;
        plen = n;
        pl = m->clen[id];
    }
    trawl_buf_put(&v, m->bclen, NBYTESYM);
    int rc = v.rc != 0 ? TRAWL_ENOMEM : 0;
    trawl_buf_clear(out);
    trawl_buf_put_u8(out, WC_VERSION);
    size_t bound = ZSTD_compressBound(v.len);
    if (rc == 0 && v.len <= WC_MAXRAW && out->rc == 0 &&
        trawl_buf_reserve(out, 11 + bound) == 0) {
        unsigned char *z = out->ptr + out->len + 1;
        z += trawl__put_varint(z, v.len);
        size_t n = ZSTD_compress(z, bound, v.ptr, v.len, WC_ZLEVEL);
        if (!ZSTD_isError(n) && n < v.len) {
            out->ptr[out->len] = 1; /* zstd */
            out->len = (size_t)(z - out->ptr) + n;
            trawl_buf_free(&v);
            return 0;
        }
    }
    trawl_buf_put_u8(out, 0); /* raw */
    trawl_buf_put(out, v.ptr, v.len);
    if (rc == 0 && (out->rc != 0 || v.len > WC_MAXRAW))
        rc = out->rc != 0 ? TRAWL_ENOMEM : TRAWL_EINVAL;
    trawl_buf_free(&v);
    return rc;
}

/* ---- bits, most significant first ------------------------------------- */

typedef struct bitw {
    trawl_buf *out;
    uint64_t acc;
    int n;
} bitw;

static inline int bw_put(bitw *w, uint32_t code, int len)
{
    w->acc = w->acc << len | code;
    w->n += len;
    if (w->n >= 32) {
        trawl_buf *b = w->out;
        if (b->len + 4 >= b->cap && trawl_buf_reserve(b, 4096) != 0)
            return TRAWL_ENOMEM;
        w->n -= 32;
        uint32_t v = (uint32_t)(w->acc >> w->n);
        unsigned char *p = b->ptr + b->len;
        p[0] = (unsigned char)(v >> 24);
        p[1] = (unsigned char)(v >> 16);
        p[2] = (unsigned char)(v >> 8);
        p[3] = (unsigned char)v;
        b->len += 4;
    }
    return 0;
}

static int bw_align(bitw *w)
{
    while (w->n > 0) {
        int k = w->n >= 8 ? 8 : w->n;
        unsigned char c = (unsigned char)((w->acc >> (w->n - k)) << (8 - k));
        trawl_buf_put(w->out, &c, 1);
        w->n -= k;
    }
    w->acc = 0;
    return w->out->rc != 0 ? TRAWL_ENOMEM : 0;
}

static inline int enc_token(const wc_model *m, bitw *w,
                            const unsigned char *p, size_t n,
                            const unsigned char *end)
{
    size_t at = 0;
    uint32_t id = tt_find(m, p, n, tok_hash(p, n, end), end, m->padded, &at);
    if (id != UINT32_MAX)
        return bw_put(w, m->code[id], m->clen[id]);
    int rc = bw_put(w, m->code[SYM_ESC], m->clen[SYM_ESC]);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = bw_put(w, m->bcode[p[i]], m->bclen[p[i]]);
    return rc < 0 ? rc : bw_put(w, m->bcode[BYTE_END], m->bclen[BYTE_END]);
}

int trawl__wc_encode(const wc_model *m, const unsigned char *p, size_t len,
                     trawl_buf *out)
{
    trawl_buf_clear(out);
    if (len == 0 || len > WC_BLOCK_MAX)
        return TRAWL_EINVAL;
    if (trawl_buf_reserve(out, len / 2 + 64) != 0)
        return TRAWL_ENOMEM;
    out->len = trawl__put_varint(out->ptr, len);
    bitw w = {out, 0, 0};
    const unsigned char *end = p + len;
    int rc = 0;
    while (p < end && rc == 0) {
        for (int k = 0; k < STORE_NF && rc == 0; k++) {
            const unsigned char *f;
            size_t fl;
            if (next_field(&p, end, &f, &fl) < 0)
                return TRAWL_EINVAL;
            if (f == NULL) {
                rc = bw_put(&w, m->code[SYM_ABS], m->clen[SYM_ABS]);
                continue;
            }
            FOR_TOKENS(f, fl,
                       if (rc == 0) rc = enc_token(m, &w, tp_, tn_, end));
            if (rc == 0)
                rc = bw_put(&w, m->code[SYM_EOF], m->clen[SYM_EOF]);
        }
    }
    if (rc == 0)
        rc = bw_align(&w);
    return rc;
}

/* ---- the reader's code ------------------------------------------------- */

enum { K_WORD, K_OTHER, K_EOF, K_ABS, K_ESC };

/* A symbol as the decoder sees it: four to a cache line, the bytes of a
 * token of up to 12 bytes inline. In the first-level table, clen is the
 * code length when it is at most TB bits; else start is the shortest
 * length of the longer codes under that prefix (0: none, a bad code). */
typedef struct wc_rec {
    uint8_t len;
    uint8_t kind;
    uint8_t clen;
    uint8_t start;
    union {
        unsigned char b[12];
        uint32_t off;
    } u;
} wc_rec;

struct wc_code {
    canon hc, hb;
    wc_rec *byp;       /* by canonical position */
    unsigned char *tokbytes;
    uint16_t bperm[NBYTESYM]; /* byte code: canonical position -> byte */
    uint32_t btab[1u << TB];  /* byte << 5 | length; 0: longer or bad */
    uint8_t bstart[1u << TB];
    size_t mem;
    wc_rec ftab[1u << TB];
};

void trawl__wc_code_free(wc_code *c)
{
    if (c == NULL)
        return;
    free(c->byp);
    free(c->tokbytes);
    free(c);
}

size_t trawl__wc_code_mem(const wc_code *c)
{
    return c == NULL ? 0 : c->mem;
}

/* For each first-level entry with no code of at most TB bits: the
 * shortest length of a longer code under its prefix (0: none). */
static void long_starts(const canon *c, uint8_t *start)
{
    for (int l = c->L; l > TB; l--) {
        if (c->count[l] == 0)
            continue;
        uint32_t lo = c->first_code[l] >> (l - TB);
        uint32_t hi = (c->first_code[l] + c->count[l] - 1) >> (l - TB);
        for (uint32_t i = lo; i <= hi && i < 1u << TB; i++)
            start[i] = (uint8_t)l;
    }
}

int trawl__wc_load(const unsigned char *p, size_t len, wc_code **out)
{
    *out = NULL;
    const unsigned char *end = p + len;
    if (len < 2 || p[0] != WC_VERSION || p[1] > 1)
        return TRAWL_ECORRUPT;
    int zipped = p[1];
    p += 2;
    unsigned char *raw = NULL;
    if (zipped) {
        uint64_t rl;
        if (trawl__get_varint(&p, end, &rl) != 0 || rl == 0 ||
            rl > WC_MAXRAW)
            return TRAWL_ECORRUPT;
        unsigned long long fs = ZSTD_getFrameContentSize(p, (size_t)(end - p));
        if (fs != rl)
            return TRAWL_ECORRUPT;
        if ((raw = malloc((size_t)rl)) == NULL)
            return TRAWL_ENOMEM;
        size_t got = ZSTD_decompress(raw, (size_t)rl, p, (size_t)(end - p));
        if (ZSTD_isError(got) || got != rl) {
            free(raw);
            return TRAWL_ECORRUPT;
        }
        p = raw;
        end = raw + rl;
    }
    int rc = TRAWL_ECORRUPT;
    wc_code *c = calloc(1, sizeof(*c));
    uint8_t *lens = NULL;
    uint32_t *toff = NULL;
    trawl_buf tb = TRAWL_BUF_INIT;
    uint64_t L, ntok = 0, per[WC_MAXLEN + 2] = {0}, sum = 0;
    size_t nsym = 0;
    if (c == NULL) {
        rc = TRAWL_ENOMEM;
        goto done;
    }
    if (end - p < 1)
        goto done;
    L = *p++;
    if (L < 1 || L > WC_MAXLEN || trawl__get_varint(&p, end, &ntok) != 0 ||
        ntok > WC_MAXTOKENS || ntok > (uint64_t)(end - p) / 2 ||
        end - p < NSPEC)
        goto done;
    nsym = NSPEC + (size_t)ntok;
    if ((lens = malloc(nsym)) == NULL ||
        (toff = malloc((nsym + 1) * sizeof(*toff))) == NULL ||
        (c->byp = calloc(nsym, sizeof(wc_rec))) == NULL) {
        rc = TRAWL_ENOMEM;
        goto done;
    }
    for (int s = 0; s < NSPEC; s++) {
        lens[s] = *p++;
        toff[s] = 0;
    }
    for (uint64_t l = 1; l <= L; l++) {
        if (trawl__get_varint(&p, end, &per[l]) != 0 || per[l] > ntok)
            goto done;
        sum += per[l];
    }
    if (sum != ntok)
        goto done;
    size_t id = NSPEC;
    for (uint64_t l = 1; l <= L; l++) {
        size_t prev = 0, plen = 0;
        for (uint64_t k = 0; k < per[l]; k++, id++) {
            uint64_t sh, sl;
            if (trawl__get_varint(&p, end, &sh) != 0 ||
                trawl__get_varint(&p, end, &sl) != 0 || sh > plen ||
                sl > (uint64_t)(end - p) || sh + sl == 0 ||
                sh + sl > WC_TOKMAX || tb.len > UINT32_MAX - WC_TOKMAX)
                goto done;
            size_t at = tb.len;
            if (trawl_buf_reserve(&tb, (size_t)(sh + sl)) != 0) {
                rc = TRAWL_ENOMEM;
                goto done;
            }
            memcpy(tb.ptr + at, tb.ptr + prev, (size_t)sh);
            memcpy(tb.ptr + at + sh, p, (size_t)sl);
            tb.len += (size_t)(sh + sl);
            p += sl;
            lens[id] = (uint8_t)l;
            toff[id] = (uint32_t)at;
            prev = at;
            plen = (size_t)(sh + sl);
        }
    }
    toff[nsym] = (uint32_t)tb.len;
    if (end - p != NBYTESYM)
        goto done;
    if (canon_init(&c->hc, lens, nsym, (int)L) < 0 ||
        canon_init(&c->hb, p, NBYTESYM, (int)L) < 0)
        goto done;
    /* the decoder copies 32 bytes at a time from a token's start */
    if (trawl_buf_reserve(&tb, 32) != 0) {
        rc = TRAWL_ENOMEM;
        goto done;
    }
    memset(tb.ptr + tb.len, 0, 32);
    /* Records by canonical position, and the first-level table. */
    uint32_t seen[WC_MAXLEN + 2] = {0};
    uint8_t start[1u << TB];
    for (size_t s = 0; s < nsym; s++) {
        int l = lens[s];
        if (l == 0)
            continue;
        uint32_t r = seen[l]++;
        wc_rec *rec = &c->byp[c->hc.first_pos[l] + r];
        if (s < NSPEC) {
            rec->kind = (uint8_t)(K_EOF + s);
        } else {
            const unsigned char *t = tb.ptr + toff[s];
            rec->len = (uint8_t)(toff[s + 1] - toff[s]);
            rec->kind = is_word(t[0]) ? K_WORD : K_OTHER;
            if (rec->len <= sizeof(rec->u.b))
                memcpy(rec->u.b, t, rec->len);
            else
                rec->u.off = toff[s];
        }
        if (l <= TB) {
            uint32_t code = c->hc.first_code[l] + r;
            uint32_t lo = code << (TB - l), k = 1u << (TB - l);
            wc_rec e = *rec;
            e.clen = (uint8_t)l;
            for (uint32_t i = 0; i < k; i++)
                c->ftab[lo + i] = e;
        }
    }
    memset(start, 0, sizeof(start));
    long_starts(&c->hc, start);
    for (uint32_t i = 0; i < 1u << TB; i++)
        if (c->ftab[i].clen == 0)
            c->ftab[i].start = start[i];
    memset(seen, 0, sizeof(seen));
    for (int b = 0; b < NBYTESYM; b++) {
        int l = p[b];
        if (l == 0)
            continue;
        uint32_t r = seen[l]++;
        c->bperm[c->hb.first_pos[l] + r] = (uint16_t)b;
        if (l <= TB) {
            uint32_t code = c->hb.first_code[l] + r;
            uint32_t lo = code << (TB - l), k = 1u << (TB - l);
            for (uint32_t i = 0; i < k; i++)
                c->btab[lo + i] = (uint32_t)b << 5 | (uint32_t)l;
        }
    }
    long_starts(&c->hb, c->bstart);
    c->tokbytes = tb.ptr;
    c->mem = sizeof(*c) + nsym * sizeof(wc_rec) + tb.cap;
    tb = (trawl_buf)TRAWL_BUF_INIT;
    rc = 0;
done:
    free(lens);
    free(toff);
    free(raw);
    trawl_buf_free(&tb);
    if (rc < 0) {
        trawl__wc_code_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct bitr {
    const unsigned char *p, *end;
    uint64_t acc; /* n valid bits at the top */
    int n;
    uint64_t pad; /* zero bits read past the end */
} bitr;

static inline void br_refill(bitr *r)
{
    if (r->end - r->p >= 8) {
        uint64_t v;
        memcpy(&v, r->p, 8);
        v = __builtin_bswap64(v);
        r->acc |= v >> r->n;
        int k = (63 - r->n) >> 3;
        r->p += k;
        r->n += k * 8;
    } else {
        while (r->n <= 56) {
            uint64_t b = 0;
            if (r->p < r->end)
                b = *r->p++;
            else
                r->pad += 8;
            r->acc |= b << (56 - r->n);
            r->n += 8;
        }
    }
}

/* The canonical position of the code at the top of r->acc of length
 * from..L, consumed; -1 when there is none. */
static inline int64_t canon_pos(const canon *c, bitr *r, int from)
{
    for (int l = from; l <= c->L; l++) {
        uint32_t v = (uint32_t)(r->acc >> (64 - l));
        if (v - c->first_code[l] < c->count[l]) {
            r->acc <<= l;
            r->n -= l;
            return (int64_t)c->first_pos[l] + (v - c->first_code[l]);
        }
    }
    return -1;
}

/* One escaped token into t (WC_TOKMAX bytes): its length, or -1. */
static int dec_escaped(const wc_code *c, bitr *r, unsigned char *t)
{
    int n = 0;
    for (;;) {
        if (r->n < WC_MAXLEN)
            br_refill(r);
        uint32_t e = c->btab[r->acc >> (64 - TB)];
        uint32_t b;
        if (e != 0) {
            r->acc <<= e & 31;
            r->n -= (int)(e & 31);
            b = e >> 5;
        } else {
            int st = c->bstart[r->acc >> (64 - TB)];
            int64_t pos = st == 0 ? -1 : canon_pos(&c->hb, r, st);
            if (pos < 0)
                return -1;
            b = c->bperm[pos];
        }
        if (b == BYTE_END)
            return n > 0 ? n : -1;
        if (n == WC_TOKMAX)
            return -1;
        t[n++] = (unsigned char)b;
    }
}

int trawl__wc_raw_len(const unsigned char *p, size_t n, uint64_t *raw)
{
    const unsigned char *q = p;
    uint64_t v;
    if (trawl__get_varint(&q, p + n, &v) != 0 || v == 0 ||
        v > WC_BLOCK_MAX || (uint64_t)(p + n - q) * 8 * 256 < v)
        return TRAWL_ECORRUPT;
    *raw = v;
    return 0;
}

int trawl__wc_decode(const wc_code *c, const unsigned char *p, size_t n,
                     trawl_buf *out)
{
    return trawl__wc_decode_upto(c, p, n, UINT32_MAX, out);
}

int trawl__wc_decode_upto(const wc_code *c, const unsigned char *p,
                          size_t n, uint32_t nrec, trawl_buf *out)
{
    uint64_t raw;
    trawl_buf_clear(out);
    if (trawl__wc_raw_len(p, n, &raw) < 0)
        return TRAWL_ECORRUPT;
    const unsigned char *q = p;
    uint64_t v;
    trawl__get_varint(&q, p + n, &v);
    if (trawl_buf_reserve(out, (size_t)raw + DEC_SLACK) != 0)
        return TRAWL_ENOMEM;
    bitr r = {q, p + n, 0, 0, 0};
    unsigned char *o = out->ptr, *oend = out->ptr + raw;
    const wc_rec *ftab = c->ftab, *byp = c->byp;
    const unsigned char *tb = c->tokbytes;
    unsigned char esc[WC_TOKMAX];
    uint32_t done = 0;
    while (o < oend && done < nrec) {
        done++;
        for (int f = 0; f < STORE_NF; f++) {
            /* The field's bytes go VARINT_MAX bytes on, then move back
             * behind their varint once their length is known. */
            unsigned char *fs = o + VARINT_MAX, *w = fs;
            unsigned char *lim = oend + VARINT_MAX - 1;
            int prevw = 0;
            if (o >= oend)
                return TRAWL_ECORRUPT;
            for (;;) {
                if (r.n < WC_MAXLEN)
                    br_refill(&r);
                const wc_rec *e = &ftab[r.acc >> (64 - TB)];
                if (e->clen) {
                    r.acc <<= e->clen;
                    r.n -= e->clen;
                } else {
                    int64_t pos =
                        e->start == 0 ? -1 : canon_pos(&c->hc, &r, e->start);
                    if (pos < 0)
                        return TRAWL_ECORRUPT;
                    e = &byp[pos];
                }
                unsigned k = e->kind;
                if (k <= K_OTHER) {
                    size_t tl = e->len, sp = k == K_WORD && prevw;
                    if ((size_t)(lim - w) < tl + sp)
                        return TRAWL_ECORRUPT;
                    *w = ' ';
                    w += sp;
                    if (tl <= sizeof(e->u.b))
                        memcpy(w, e->u.b, sizeof(e->u.b));
                    else
                        memcpy(w, tb + e->u.off, tl <= 32 ? 32 : tl);
                    w += tl;
                    prevw = k == K_WORD && tl < WC_TOKMAX;
                    continue;
                }
                if (k == K_ESC) {
                    int tl = dec_escaped(c, &r, esc);
                    if (tl < 0)
                        return TRAWL_ECORRUPT;
                    int wd = is_word(esc[0]), sp = wd && prevw;
                    if (lim - w < tl + sp)
                        return TRAWL_ECORRUPT;
                    *w = ' ';
                    w += sp;
                    memcpy(w, esc, (size_t)tl);
                    w += tl;
                    prevw = wd && tl < WC_TOKMAX;
                    continue;
                }
                if (k == K_ABS) {
                    if (w != fs)
                        return TRAWL_ECORRUPT;
                    *o++ = 0;
                    break;
                }
                /* K_EOF */
                size_t fl = (size_t)(w - fs);
                unsigned char vb[10];
                size_t vl = trawl__put_varint(vb, (uint64_t)fl + 1);
                if ((size_t)(oend - o) < vl + fl)
                    return TRAWL_ECORRUPT;
                memcpy(o, vb, vl);
                memmove(o + vl, fs, fl);
                o += vl + fl;
                break;
            }
        }
    }
    if (o < oend) { /* stopped after nrec records */
        out->len = (size_t)(o - out->ptr);
        out->ptr[out->len] = '\0';
        return 0;
    }
    /* Exactly the stated bytes, and the bits end in the last byte. */
    uint64_t used = (uint64_t)(r.p - q) * 8 + r.pad - (uint64_t)r.n;
    if (o != oend || (used + 7) / 8 != (uint64_t)(p + n - q))
        return TRAWL_ECORRUPT;
    out->len = (size_t)raw;
    out->ptr[out->len] = '\0';
    return 0;
}

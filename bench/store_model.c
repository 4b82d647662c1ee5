/*
 * store_model: a word-model document store measured against trawl's zstd
 * store (issue 5, the size target). A measurement tool, not the format:
 * nothing here is used by the core.
 *
 * Build (from the repository root; needs only zstd, xxhash and jansson):
 *   gcc -std=gnu17 -O2 -Wall -Wextra -o store_model bench/store_model.c \
 *       $(pkg-config --cflags --libs libzstd libxxhash jansson) -lm
 * Run:
 *   store_model [options] CORPUS.jsonl      articles {"id","title","body",..}
 *   store_model [options] --synth KIND      a generated worst case (below)
 * Options:
 *   --seg N      segments of N documents (default: the corpus is one segment)
 *   --one-doc    all the bodies of CORPUS concatenated into one article
 *   --docs N     documents of --synth (default 5000), or read at most N
 *   --reps R     encode / decode timings repeated R times, minimum kept (3)
 *   --gets N     random single-document gets timed per rep (10000)
 *   --minc C     streaming variant: sampled tokens seen C times or more get
 *                their own code, the others are escaped (default 1)
 *   --limit L    longest Huffman code, bits (default 24, at most 28)
 *   --seed S     random gets and --synth generator (default 1)
 * --synth KIND: uuid (UUIDs), numbers (decimal numbers), cjk (CJK text
 *   without spaces: one paragraph is one "word"), base64 (attachment-like
 *   blobs), binary (random printable ASCII), punct (words between long
 *   runs of whitespace and punctuation); about 4 KB per document.
 *
 * What a segment stores, per scheme (the STORE record of an article is
 * its body, author, url and extra fields; the id and title live in
 * DOCMETA and are not counted by either scheme):
 *
 * zstd   today's format (core/src/segfile.c, format 8): records
 *        "varint(len + 1) bytes" per field in blocks sealed at 8 KiB, raw
 *        blocks held until 2 MiB, then a raw-content dictionary of 1 KiB
 *        pieces (1/32 of the held bytes, at most 64 KiB; none below 128
 *        KiB), every block a zstd level 3 frame with it. Counted: STORE +
 *        STORE_INDEX (u32 + u64 per block + 1) + STORE_DICT. A get
 *        decodes the document's block (the dictionary as a prefix of the
 *        output, as core/src/index.c does) and walks to its record.
 * static semi-static spaceless-words Huffman code per segment: tokens are
 *        maximal runs of word bytes (ASCII alnum, every byte >= 0x80) and
 *        maximal runs of other bytes; a single space between two words is
 *        implied; one alphabet of tokens plus EOF (end of a field) and
 *        ABSENT (field not present); canonical code limited to --limit
 *        bits (Huffman lengths, then the JPEG K.3 adjustment), decoded with
 *        an 11-bit table (whose records hold tokens of up to 10 bytes)
 *        plus a canonical fallback that starts at the shortest length
 *        under the table entry's prefix. Each document starts
 *        byte-aligned; counted: the bit stream, a u32 offset per document
 *        (+1), and the vocabulary (per code length: count, then the tokens
 *        of that length sorted and front coded; zstd level 3 of it when
 *        smaller).
 * stream the same, but the code comes from the segment's first 2 MiB of
 *        records only (what the writer holds today before it picks its
 *        dictionary), so the rest could be encoded as it arrives. Tokens
 *        seen --minc times in the sample get codes; the escape symbol ESC
 *        is counted as often as the sample's hapaxes occur (Good-Turing's
 *        estimate of unseen tokens). Two ways to code what follows ESC:
 *        "escaped bytes": the token's bytes in a byte-level Huffman code
 *        (257 symbols: bytes + END, counted over the sample's hapaxes, +1
 *        each) whose 257 lengths are stored with the vocabulary;
 *        "escaped ids" (idea 4): the token's number among the segment's
 *        new tokens (in order of first occurrence, v = number + 1: 5 bits
 *        for the bit length k - 1 of v, then v's low k - 1 bits), its
 *        bytes stored once, at the end of the vocabulary (varint length
 *        + bytes, in that order): the vocabulary is only complete when
 *        the segment ends, the bit stream streams.
 * Encode CPU is split into tokenize+hash+count, build (lengths, limit,
 * sort, canonical codes, vocabulary + its zstd) and emit. Times are
 * thread CPU time, minimum of --reps. Every document of every scheme is
 * decoded and compared with its bytes; any difference exits 1.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#define XXH_INLINE_ALL
#include <xxhash.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_c_forceAttachDict, as segfile.c */
#include <zstd.h>

#define NF 4 /* stored body fields: body, author, url, extra */

#define STORE_BLOCK          (8 * 1024)
#define STORE_LEVEL          3
#define STORE_DICT_MAX       (64 * 1024)
#define STORE_DICT_MIN       8
#define STORE_DICT_HOLD      (2048 * 1024)
#define STORE_DICT_MIN_TRAIN (128 * 1024)
#define STORE_DICT_PIECE     1024
#define STORE_ZDICT_MAGIC    0xEC30A437u

#ifndef TB
#define TB 11 /* first-level decode table bits */
#endif
#define MAXLEN  28
#define SYM_EOF 0
#define SYM_ABS 1
#define SYM_ESC 2
#define NSPEC   3
#define BYTE_END 256
#define NW 3 /* word models: static, stream (bytes), stream (ids) */

_Noreturn static void die(const char *msg)
{
    fprintf(stderr, "store_model: %s\n", msg);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL)
        die("out of memory");
    return p;
}

static void *xcalloc(size_t n, size_t k)
{
    void *p = calloc(n ? n : 1, k ? k : 1);
    if (p == NULL)
        die("out of memory");
    return p;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 1;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* ---- byte buffers ------------------------------------------------------ */

typedef struct {
    unsigned char *p;
    size_t len, cap;
} buf;

static void buf_reserve(buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t c = b->cap ? b->cap : 4096;
    while (c < b->len + n)
        c *= 2;
    b->p = xrealloc(b->p, c);
    b->cap = c;
}

static void buf_put(buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_varint(buf *b, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (unsigned char)v;
    buf_put(b, t, n);
}

static int get_varint(const unsigned char **p, const unsigned char *end,
                      uint64_t *out)
{
    uint64_t v = 0;
    for (int s = 0; s < 64 && *p < end; s += 7) {
        unsigned char c = *(*p)++;
        v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static void buf_free(buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* ---- the corpus ---------------------------------------------------------- */

typedef struct {
    unsigned char *p[NF]; /* NULL: absent */
    uint32_t len[NF];
} sdoc;

typedef struct {
    sdoc *d;
    size_t n, cap;
    uint64_t text;  /* title + body bytes (what the index ratios use) */
    uint64_t bytes; /* stored field bytes */
} corpus;

static void corpus_add(corpus *c, sdoc *d)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->d = xrealloc(c->d, c->cap * sizeof(*c->d));
    }
    c->d[c->n++] = *d;
    for (int f = 0; f < NF; f++)
        c->bytes += d->len[f];
}

static unsigned char *dup_bytes(const char *s, size_t n)
{
    unsigned char *p = xrealloc(NULL, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static void read_jsonl(const char *path, corpus *c, size_t maxdocs)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        die("cannot open the corpus");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    static const char *known[] = {"id", "title", "body", "date", "author",
                                  "url"};
    while ((n = getline(&line, &cap, fp)) > 0 && c->n < maxdocs) {
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)n, 0, &je);
        if (o == NULL || !json_is_object(o))
            die("bad JSON line");
        sdoc d;
        memset(&d, 0, sizeof(d));
        const char *names[3] = {"body", "author", "url"};
        for (int f = 0; f < 3; f++) {
            json_t *v = json_object_get(o, names[f]);
            if (json_is_string(v)) {
                d.len[f] = (uint32_t)json_string_length(v);
                d.p[f] = dup_bytes(json_string_value(v), d.len[f]);
            }
        }
        if (d.p[0] == NULL) {
            d.p[0] = dup_bytes("", 0);
            d.len[0] = 0;
        }
        json_t *t = json_object_get(o, "title");
        if (json_is_string(t))
            c->text += json_string_length(t);
        c->text += d.len[0];
        /* other members: the extra field (a JSON object) */
        json_t *extra = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v)
        {
            int kn = 0;
            for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                kn |= strcmp(k, known[i]) == 0;
            if (!kn)
                json_object_set(extra, k, v);
        }
        if (json_object_size(extra) > 0) {
            char *s = json_dumps(extra, JSON_COMPACT);
            d.len[3] = (uint32_t)strlen(s);
            d.p[3] = dup_bytes(s, d.len[3]);
            free(s);
        }
        json_decref(extra);
        json_decref(o);
        corpus_add(c, &d);
    }
    free(line);
    fclose(fp);
}

static void one_doc(corpus *c)
{
    buf b = {0};
    for (size_t i = 0; i < c->n; i++) {
        if (i > 0)
            buf_put(&b, "\n\n", 2);
        buf_put(&b, c->d[i].p[0], c->d[i].len[0]);
        for (int f = 0; f < NF; f++)
            free(c->d[i].p[f]);
    }
    c->n = 0;
    c->bytes = 0;
    c->text = b.len;
    sdoc d;
    memset(&d, 0, sizeof(d));
    d.p[0] = b.p;
    d.len[0] = (uint32_t)b.len;
    corpus_add(c, &d);
}

/* ---- generated worst cases ---------------------------------------------- */

static void put_utf8(buf *b, uint32_t cp)
{
    unsigned char t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (unsigned char)(0xC0 | (cp >> 6));
        t[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else {
        t[0] = (unsigned char)(0xE0 | (cp >> 12));
        t[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    }
    buf_put(b, t, n);
}

/* a Zipf-ish rank in [0, n): 1/r weights via inverse of the harmonic CDF
 * (approximation: exp(u * ln n)) */
static uint32_t zipf(uint32_t n)
{
    double u = (double)(rng() >> 11) / 9007199254740992.0;
    double r = exp(u * log((double)n + 1.0)) - 1.0;
    uint32_t k = (uint32_t)r;
    return k >= n ? n - 1 : k;
}

static void synth(const char *kind, size_t ndocs, corpus *c)
{
    static const char hex[] = "0123456789abcdef";
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char pun[] = " \t\n.,;:-=*#|/_";
    for (size_t i = 0; i < ndocs; i++) {
        buf b = {0};
        while (b.len < 4000) {
            if (strcmp(kind, "uuid") == 0) {
                for (int k = 0; k < 36; k++) {
                    char ch = (k == 8 || k == 13 || k == 18 || k == 23)
                                  ? '-'
                                  : hex[rng() & 15];
                    buf_put(&b, &ch, 1);
                }
                buf_put(&b, rng() % 8 ? " " : "\n", 1);
            } else if (strcmp(kind, "numbers") == 0) {
                char t[40];
                int n = rng() % 2 ? snprintf(t, sizeof(t), "%" PRIu64 ".%02u, ",
                                             rng() % 1000000,
                                             (unsigned)(rng() % 100))
                                  : snprintf(t, sizeof(t), "%" PRIu64 " ",
                                             rng() % 100000000);
                buf_put(&b, t, (size_t)n);
            } else if (strcmp(kind, "cjk") == 0) {
                uint32_t n = 10 + (uint32_t)(rng() % 30);
                for (uint32_t k = 0; k < n; k++)
                    put_utf8(&b, 0x4E00 + zipf(3000));
                put_utf8(&b, rng() % 4 ? 0xFF0C : 0x3002);
                if (rng() % 5 == 0)
                    buf_put(&b, "\n", 1);
            } else if (strcmp(kind, "base64") == 0) {
                for (int k = 0; k < 76; k++)
                    buf_put(&b, &b64[rng() & 63], 1);
                buf_put(&b, "\n", 1);
            } else if (strcmp(kind, "binary") == 0) {
                char ch = (char)(rng() % 24 == 0 ? '\n' : 0x20 + rng() % 95);
                buf_put(&b, &ch, 1);
            } else if (strcmp(kind, "punct") == 0) {
                char t[16];
                int n = snprintf(t, sizeof(t), "w%u", zipf(2000));
                buf_put(&b, t, (size_t)n);
                if (rng() % 2) {
                    buf_put(&b, " ", 1);
                } else {
                    uint32_t m = 2 + (uint32_t)(rng() % 60);
                    for (uint32_t k = 0; k < m; k++)
                        buf_put(&b, &pun[rng() % (sizeof(pun) - 1)], 1);
                }
            } else {
                die("unknown --synth kind");
            }
        }
        sdoc d;
        memset(&d, 0, sizeof(d));
        d.p[0] = b.p;
        d.len[0] = (uint32_t)b.len;
        c->text += b.len;
        corpus_add(c, &d);
    }
}

/* the STORE record of a document, as trawl__store_put_field builds it */
static void put_record(buf *b, const sdoc *d)
{
    for (int f = 0; f < NF; f++) {
        if (d->p[f] == NULL) {
            buf_varint(b, 0);
        } else {
            buf_varint(b, (uint64_t)d->len[f] + 1);
            buf_put(b, d->p[f], d->len[f]);
        }
    }
}

static size_t record_len(const sdoc *d)
{
    size_t n = 0;
    for (int f = 0; f < NF; f++) {
        uint64_t v = d->p[f] ? (uint64_t)d->len[f] + 1 : 0;
        do {
            n++;
            v >>= 7;
        } while (v);
        n += d->p[f] ? d->len[f] : 0;
    }
    return n;
}

/* ---- 1. today's zstd store ---------------------------------------------- */

typedef struct {
    buf z;          /* STORE */
    buf held;       /* raw blocks before the dictionary */
    uint32_t *held_len;
    size_t nheld;
    uint64_t *boff; /* STORE offset per block, + 1 */
    size_t nblocks, bcap;
    buf dict;
    ZSTD_CCtx *zc;
    ZSTD_CDict *cdict;
    int dict_done;
    uint32_t *dblock, *dslot;
} zstore;

static void z_put_block(zstore *s, const unsigned char *p, size_t len)
{
    size_t bound = ZSTD_compressBound(len);
    buf_reserve(&s->z, bound);
    size_t n = ZSTD_compress2(s->zc, s->z.p + s->z.len, bound, p, len);
    if (ZSTD_isError(n))
        die(ZSTD_getErrorName(n));
    if (s->nblocks + 2 > s->bcap) {
        s->bcap = s->bcap ? s->bcap * 2 : 1024;
        s->boff = xrealloc(s->boff, s->bcap * sizeof(*s->boff));
    }
    s->boff[s->nblocks++] = s->z.len;
    s->z.len += n;
}

static void z_train(zstore *s)
{
    s->dict_done = 1;
    s->dict.len = 0;
    size_t held = s->held.len;
    if (held < STORE_DICT_MIN_TRAIN)
        return;
    size_t cap = held / 32 < STORE_DICT_MAX ? held / 32 : STORE_DICT_MAX;
    size_t npieces = cap / STORE_DICT_PIECE;
    for (size_t i = 0; i < npieces; i++)
        buf_put(&s->dict, s->held.p + held / npieces * i, STORE_DICT_PIECE);
    size_t skip = 0;
    while (s->dict.len - skip >= 4 &&
           (uint32_t)(s->dict.p[skip] | s->dict.p[skip + 1] << 8 |
                      s->dict.p[skip + 2] << 16 |
                      (uint32_t)s->dict.p[skip + 3] << 24) ==
               STORE_ZDICT_MAGIC)
        skip++;
    if (skip > 0) {
        memmove(s->dict.p, s->dict.p + skip, s->dict.len - skip);
        s->dict.len -= skip;
    }
    if (s->dict.len < STORE_DICT_MIN) {
        s->dict.len = 0;
        return;
    }
    s->cdict = ZSTD_createCDict(s->dict.p, s->dict.len, STORE_LEVEL);
    if (s->cdict == NULL || ZSTD_isError(ZSTD_CCtx_refCDict(s->zc, s->cdict)))
        die("zstd dictionary");
}

static void z_drain(zstore *s)
{
    if (!s->dict_done)
        z_train(s);
    const unsigned char *p = s->held.p;
    for (size_t i = 0; i < s->nheld; i++) {
        z_put_block(s, p, s->held_len[i]);
        p += s->held_len[i];
    }
    s->nheld = 0;
    s->held.len = 0;
}

static void zstore_build(zstore *s, const sdoc *docs, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->zc = ZSTD_createCCtx();
    if (s->zc == NULL ||
        ZSTD_isError(ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel,
                                            STORE_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(s->zc, ZSTD_c_forceAttachDict,
                                            ZSTD_dictForceAttach)))
        die("zstd context");
    s->dblock = xcalloc(n, sizeof(uint32_t));
    s->dslot = xcalloc(n, sizeof(uint32_t));
    s->held_len = xcalloc(n + 1, sizeof(uint32_t));
    buf block = {0};
    uint32_t slot = 0, sealed = 0;
    for (size_t i = 0; i < n; i++) {
        put_record(&block, &docs[i]);
        s->dblock[i] = sealed;
        s->dslot[i] = slot++;
        if (block.len >= STORE_BLOCK || i + 1 == n) {
            if (s->dict_done) {
                z_put_block(s, block.p, block.len);
            } else {
                s->held_len[s->nheld++] = (uint32_t)block.len;
                buf_put(&s->held, block.p, block.len);
                if (s->held.len >= STORE_DICT_HOLD)
                    z_drain(s);
            }
            sealed++;
            slot = 0;
            block.len = 0;
        }
    }
    z_drain(s);
    s->boff[s->nblocks] = s->z.len;
    buf_free(&block);
}

static size_t zstore_size(const zstore *s)
{
    return s->z.len + 4 + 8 * (s->nblocks + 1) + s->dict.len;
}

static void zstore_free(zstore *s)
{
    buf_free(&s->z);
    buf_free(&s->held);
    buf_free(&s->dict);
    free(s->held_len);
    free(s->boff);
    free(s->dblock);
    free(s->dslot);
    ZSTD_freeCCtx(s->zc);
    ZSTD_freeCDict(s->cdict);
}

/* Decode block b into out (the dictionary as its prefix, kept there
 * between calls on the same store: *ready); returns the block's bytes. */
static const unsigned char *z_block(const zstore *s, uint32_t b,
                                    ZSTD_DCtx *dctx, buf *out,
                                    const zstore **ready, size_t *rawlen)
{
    const unsigned char *src = s->z.p + s->boff[b];
    size_t n = s->boff[b + 1] - s->boff[b];
    unsigned long long raw = ZSTD_getFrameContentSize(src, n);
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN)
        die("bad frame");
    size_t dl = s->dict.len;
    if (*ready != s) {
        out->len = 0;
        buf_put(out, s->dict.p, dl);
        *ready = s;
    }
    out->len = dl;
    buf_reserve(out, (size_t)raw + 1);
    size_t got = dl ? ZSTD_decompress_usingDict(dctx, out->p + dl,
                                                (size_t)raw, src, n, out->p,
                                                dl)
                    : ZSTD_decompressDCtx(dctx, out->p, (size_t)raw, src, n);
    if (ZSTD_isError(got) || got != raw)
        die("zstd decode");
    *rawlen = got;
    return out->p + dl;
}

/* compare the record at *p with d; advance *p */
static int z_check(const unsigned char **p, const unsigned char *end,
                   const sdoc *d)
{
    for (int f = 0; f < NF; f++) {
        uint64_t v;
        if (get_varint(p, end, &v) != 0)
            return -1;
        if ((v == 0) != (d->p[f] == NULL))
            return -1;
        if (v == 0)
            continue;
        if (v - 1 != d->len[f] || (size_t)(end - *p) < v - 1 ||
            memcmp(*p, d->p[f], d->len[f]) != 0)
            return -1;
        *p += v - 1;
    }
    return 0;
}

static void z_skip(const unsigned char **p, const unsigned char *end)
{
    for (int f = 0; f < NF; f++) {
        uint64_t v;
        if (get_varint(p, end, &v) != 0)
            die("bad record");
        if (v > 0)
            *p += v - 1;
    }
}

/* ---- Huffman codes --------------------------------------------------- */

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

/* Moffat & Katajainen's in-place minimum-redundancy lengths: a[0..n) are
 * ascending weights, replaced by code lengths. */
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

/* Code lengths (0: no code) of n symbols from their counts, limited to L
 * bits: Huffman lengths, then JPEG's adjustment (ITU T.81 K.3: a pair of
 * deepest leaves moves up, a shallower leaf splits), lengths given back
 * to the symbols by decreasing count. */
static void huff_lengths(const uint64_t *cnt, size_t n, int L, uint8_t *len)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += cnt[i] > 0;
    memset(len, 0, n);
    if (m == 0)
        return;
    if (m > (size_t)1 << L)
        die("more distinct tokens than codes of --limit bits");
    wsym *ws = xcalloc(m, sizeof(*ws));
    m = 0;
    for (size_t i = 0; i < n; i++)
        if (cnt[i] > 0)
            ws[m++] = (wsym){cnt[i], (uint32_t)i};
    qsort(ws, m, sizeof(*ws), wsym_cmp);
    uint64_t *a = xcalloc(m, sizeof(*a));
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
}

/* A canonical code over nsym symbols whose canonical order is (length,
 * symbol number). */
typedef struct {
    uint32_t nsym;
    int L;
    uint8_t *len;
    uint32_t *code;
    uint32_t *perm; /* canonical position -> symbol */
    uint32_t first_code[MAXLEN + 2], first_pos[MAXLEN + 2],
        count[MAXLEN + 2];
    uint32_t table[1u << TB]; /* (symbol << 5) | length, 0: longer */
    uint8_t *own;             /* freed with the code */
} hcode;

static void hc_build(hcode *h, uint32_t nsym, uint8_t *len, int L)
{
    h->nsym = nsym;
    h->L = L;
    h->len = len;
    h->own = NULL;
    h->code = xrealloc(NULL, (size_t)nsym * 4 + 4);
    h->perm = xrealloc(NULL, (size_t)nsym * 4 + 4);
    memset(h->count, 0, sizeof(h->count));
    for (uint32_t s = 0; s < nsym; s++)
        h->count[len[s]]++;
    h->count[0] = 0;
    uint32_t code = 0, pos = 0;
    for (int l = 1; l <= L; l++) {
        h->first_code[l] = code;
        h->first_pos[l] = pos;
        code = (code + h->count[l]) << 1;
        pos += h->count[l];
    }
    uint32_t seen[MAXLEN + 2] = {0};
    memset(h->table, 0, sizeof(h->table));
    for (uint32_t s = 0; s < nsym; s++) {
        int l = len[s];
        if (l == 0)
            continue;
        uint32_t r = seen[l]++;
        h->code[s] = h->first_code[l] + r;
        h->perm[h->first_pos[l] + r] = s;
        if (l <= TB) {
            uint32_t lo = h->code[s] << (TB - l), k = 1u << (TB - l);
            for (uint32_t i = 0; i < k; i++)
                h->table[lo + i] = s << 5 | (uint32_t)l;
        }
    }
}

static void hc_free(hcode *h)
{
    free(h->code);
    free(h->perm);
    free(h->own);
    h->code = h->perm = NULL;
    h->own = NULL;
}

/* bits, MSB first */
typedef struct {
    buf *out;
    uint64_t acc;
    int n;
} bitw;

static inline void bw_put(bitw *w, uint32_t code, int len)
{
    w->acc = w->acc << len | code;
    w->n += len;
    if (w->n >= 32) {
        w->n -= 32;
        uint32_t v = (uint32_t)(w->acc >> w->n);
        buf_reserve(w->out, 4);
        unsigned char *p = w->out->p + w->out->len;
        p[0] = (unsigned char)(v >> 24);
        p[1] = (unsigned char)(v >> 16);
        p[2] = (unsigned char)(v >> 8);
        p[3] = (unsigned char)v;
        w->out->len += 4;
    }
}

static void bw_align(bitw *w)
{
    while (w->n > 0) {
        int k = w->n >= 8 ? 8 : w->n;
        unsigned char c = (unsigned char)((w->acc >> (w->n - k)) << (8 - k));
        buf_put(w->out, &c, 1);
        w->n -= k;
    }
    w->acc = 0;
}

typedef struct {
    const unsigned char *p, *end;
    uint64_t acc; /* n valid bits at the top */
    int n;
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
            uint64_t b = r->p < r->end ? *r->p++ : 0;
            r->acc |= b << (56 - r->n);
            r->n += 8;
        }
    }
}

static inline uint32_t hc_decode(const hcode *h, bitr *r)
{
    uint32_t e = h->table[r->acc >> (64 - TB)];
    if (e) {
        r->acc <<= e & 31;
        r->n -= (int)(e & 31);
        return e >> 5;
    }
    for (int l = TB + 1; l <= h->L; l++) {
        uint32_t c = (uint32_t)(r->acc >> (64 - l));
        if (c - h->first_code[l] < h->count[l]) {
            r->acc <<= l;
            r->n -= l;
            return h->perm[h->first_pos[l] + c - h->first_code[l]];
        }
    }
    die("bad code in the bit stream");
    return 0;
}

/* the canonical position of a code longer than TB bits */
static inline uint32_t hc_decode_pos(const hcode *h, bitr *r, int from)
{
    for (int l = from; l <= h->L; l++) {
        uint32_t c = (uint32_t)(r->acc >> (64 - l));
        if (c - h->first_code[l] < h->count[l]) {
            r->acc <<= l;
            r->n -= l;
            return h->first_pos[l] + c - h->first_code[l];
        }
    }
    die("bad code in the bit stream");
    return 0;
}

/* ---- tokens ------------------------------------------------------------ */

static unsigned char is_word[256];

static void init_word(void)
{
    for (int c = 0; c < 256; c++)
        is_word[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                     (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* Token table: ids 0..NSPEC-1 are the special symbols. */
typedef struct {
    uint64_t *slot; /* high 32 bits of the hash << 32 | id + 1; 0 empty */
    size_t mask;
    uint64_t *hash, *cnt;
    uint64_t *off;
    uint32_t *len;
    size_t n, cap;
    buf bytes;
} toktab;

static void tt_init(toktab *t)
{
    memset(t, 0, sizeof(*t));
    t->mask = (1u << 16) - 1;
    t->slot = xcalloc(t->mask + 1, sizeof(uint64_t));
    t->cap = 1024;
    t->hash = xcalloc(t->cap, 8);
    t->cnt = xcalloc(t->cap, 8);
    t->off = xcalloc(t->cap, 8);
    t->len = xcalloc(t->cap, 4);
    t->n = NSPEC;
}

static void tt_free(toktab *t)
{
    free(t->slot);
    free(t->hash);
    free(t->cnt);
    free(t->off);
    free(t->len);
    buf_free(&t->bytes);
}

static size_t tt_mem(const toktab *t)
{
    return (t->mask + 1) * 8 + t->cap * 28 + t->bytes.cap;
}

static void tt_grow(toktab *t)
{
    size_t nm = t->mask * 2 + 1;
    uint64_t *ns = xcalloc(nm + 1, sizeof(uint64_t));
    for (size_t id = NSPEC; id < t->n; id++) {
        size_t i = t->hash[id] & nm;
        while (ns[i])
            i = (i + 1) & nm;
        ns[i] = (t->hash[id] >> 32) << 32 | (id + 1);
    }
    free(t->slot);
    t->slot = ns;
    t->mask = nm;
}

/* the id of token p[0..n), added (count 0) when absent and add is set;
 * UINT32_MAX when absent otherwise */
static inline uint32_t tt_get(toktab *t, const unsigned char *p, size_t n,
                              int add)
{
    uint64_t h = XXH3_64bits(p, n);
    size_t i = h & t->mask;
    uint64_t s;
    while ((s = t->slot[i]) != 0) {
        uint32_t id = (uint32_t)s - 1;
        if (s >> 32 == h >> 32 && t->len[id] == n &&
            memcmp(t->bytes.p + t->off[id], p, n) == 0)
            return id;
        i = (i + 1) & t->mask;
    }
    if (!add)
        return UINT32_MAX;
    if (t->n == t->cap) {
        t->cap *= 2;
        t->hash = xrealloc(t->hash, t->cap * 8);
        t->cnt = xrealloc(t->cnt, t->cap * 8);
        t->off = xrealloc(t->off, t->cap * 8);
        t->len = xrealloc(t->len, t->cap * 4);
    }
    uint32_t id = (uint32_t)t->n++;
    t->hash[id] = h;
    t->cnt[id] = 0;
    t->off[id] = t->bytes.len;
    t->len[id] = (uint32_t)n;
    buf_put(&t->bytes, p, n);
    t->slot[i] = (h >> 32) << 32 | (id + 1);
    if (t->n * 2 > t->mask)
        tt_grow(t);
    return id;
}

/* Tokenize field p[0..n): calls emit(ctx, tok, len) per token, skipping
 * each single space between two words. */
typedef void (*tok_fn)(void *ctx, const unsigned char *p, size_t n);

static void tokenize(const unsigned char *p, size_t n, tok_fn fn, void *ctx)
{
    size_t i = 0;
    int prev_word = 0;
    while (i < n) {
        int w = is_word[p[i]];
        size_t j = i + 1;
        while (j < n && is_word[p[j]] == w)
            j++;
        if (!(!w && prev_word && j - i == 1 && p[i] == ' ' && j < n))
            fn(ctx, p + i, j - i);
        prev_word = w;
        i = j;
    }
}

/* ---- 2. the static (semi-static per segment) word model ------------------ */

/* A symbol as the reader sees it: one cache line holds four, and a token
 * of up to 10 bytes needs no other memory. */
typedef struct {
    uint32_t len;        /* token bytes */
    uint8_t kind;        /* 0 word, 1 other, 2 EOF, 3 ABS, 4 ESC */
    uint8_t clen;        /* in ftab: code length, 0 = longer than TB */
    unsigned char b[10]; /* the bytes (len <= 10), else a u64 offset into
                            tokbytes */
} srec;

typedef struct {
    /* encoder side */
    toktab tt;
    uint32_t *seq; /* symbols of the segment, in order */
    size_t nseq, seqcap;
    uint64_t *dseq; /* start of each document's symbols, + 1 */
    /* what the segment stores */
    buf stream;
    uint64_t *doff; /* bit stream offset per document, + 1 */
    buf vocab;      /* serialized */
    size_t vocab_stored;
    size_t vocab_z19;
    size_t ndocs;
    /* reader side, rebuilt from vocab */
    hcode hc, hb; /* tokens, escaped bytes */
    int has_bytes;
    int mode;        /* 0 static, 1 escapes as bytes, 2 escapes as new ids */
    toktab nt;       /* mode 2, encoder: tokens new since the sample */
    uint64_t *ninfo; /* mode 2, reader: as sinfo, per new token */
    unsigned char *newbytes;
    size_t nnew;
    unsigned char *tokbytes;
    srec *recs;     /* per symbol (+1 padding) */
    srec *ftab;     /* first-level table of the token code (+1) */
    uint8_t *rlen;  /* reader's lengths */
    uint8_t *rblen;
    double t_tok, t_build, t_emit, t_load;
    size_t mem_peak; /* encoder: count table (+ sample) + code tables */
    size_t mem_seq;  /* static: the symbol sequence replayed by emit */
} wmodel;

static void seq_push(wmodel *m, uint32_t s)
{
    if (m->nseq == m->seqcap) {
        m->seqcap = m->seqcap ? m->seqcap * 2 : 65536;
        m->seq = xrealloc(m->seq, m->seqcap * 4);
    }
    m->seq[m->nseq++] = s;
}

static void count_tok(void *ctx, const unsigned char *p, size_t n)
{
    wmodel *m = ctx;
    uint32_t id = tt_get(&m->tt, p, n, 1);
    m->tt.cnt[id]++;
    seq_push(m, id);
}

static const unsigned char *g_sort_bytes;
static const uint64_t *g_sort_off;
static const uint32_t *g_sort_len;

static int lex_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (x < NSPEC || y < NSPEC)
        return x < y ? -1 : x > y;
    uint32_t lx = g_sort_len[x], ly = g_sort_len[y];
    int c = memcmp(g_sort_bytes + g_sort_off[x], g_sort_bytes + g_sort_off[y],
                   lx < ly ? lx : ly);
    if (c)
        return c;
    return lx < ly ? -1 : lx > ly;
}

/*
 * Serialize a vocabulary: varint L, varint ntokens, NSPEC bytes (lengths
 * of EOF, ABS, ESC), per length 1..L varint count of tokens, then the
 * tokens in canonical order (length, bytes), each front coded against the
 * previous token of the same length (varint shared, varint suffix length,
 * suffix); then (mode 2) the tokens new since the sample, in order of
 * first occurrence: varint count, then varint length + bytes each; or
 * (mode 1) the 257 lengths of the
 * byte code. Symbols of the code: in the order given by order[] (specials
 * first, then tokens sorted by their bytes).
 */
static void vocab_write(buf *v, const toktab *t, const uint32_t *order,
                        size_t nord, const uint8_t *len, int L, int mode,
                        const uint8_t *bytes_len, const toktab *newt)
{
    v->len = 0;
    unsigned char mb = (unsigned char)mode;
    buf_put(v, &mb, 1);
    buf_varint(v, (uint64_t)L);
    size_t ntok = 0;
    uint64_t per[MAXLEN + 2] = {0};
    for (size_t i = 0; i < nord; i++)
        if (order[i] >= NSPEC && len[order[i]]) {
            ntok++;
            per[len[order[i]]]++;
        }
    buf_varint(v, ntok);
    for (int s = 0; s < NSPEC; s++) {
        unsigned char c = len[s];
        buf_put(v, &c, 1);
    }
    for (int l = 1; l <= L; l++)
        buf_varint(v, per[l]);
    for (int l = 1; l <= L; l++) {
        const unsigned char *prev = NULL;
        size_t plen = 0;
        for (size_t i = 0; i < nord; i++) {
            uint32_t id = order[i];
            if (id < NSPEC || len[id] != l)
                continue;
            const unsigned char *p = t->bytes.p + t->off[id];
            size_t n = t->len[id], sh = 0;
            while (prev && sh < n && sh < plen && p[sh] == prev[sh])
                sh++;
            buf_varint(v, sh);
            buf_varint(v, n - sh);
            buf_put(v, p + sh, n - sh);
            prev = p;
            plen = n;
        }
    }
    if (mode == 1)
        buf_put(v, bytes_len, 257);
    if (mode == 2) {
        buf_varint(v, newt->n - NSPEC);
        for (size_t id = NSPEC; id < newt->n; id++) {
            buf_varint(v, newt->len[id]);
            buf_put(v, newt->bytes.p + newt->off[id], newt->len[id]);
        }
    }
}

static size_t zsize(const buf *v, int level)
{
    size_t bound = ZSTD_compressBound(v->len);
    void *z = xrealloc(NULL, bound);
    size_t n = ZSTD_compress(z, bound, v->p, v->len, level);
    free(z);
    if (ZSTD_isError(n))
        die("zstd");
    return n;
}

/* Reader: rebuild the codes and the token table from the vocabulary. */
static void vocab_load(wmodel *m)
{
    const unsigned char *p = m->vocab.p, *end = p + m->vocab.len;
    uint64_t L, ntok, per[MAXLEN + 2] = {0};
    int mode = *p++;
    if (get_varint(&p, end, &L) || get_varint(&p, end, &ntok) || L > MAXLEN)
        die("bad vocabulary");
    size_t nsym = NSPEC + ntok;
    m->rlen = xrealloc(NULL, nsym);
    m->recs = xcalloc(nsym + 1, sizeof(srec));
    for (int s = 0; s < NSPEC; s++) {
        m->rlen[s] = *p++;
        m->recs[s].kind = (uint8_t)(2 + s);
    }
    for (uint64_t l = 1; l <= L; l++)
        if (get_varint(&p, end, &per[l]))
            die("bad vocabulary");
    buf tb = {0};
    size_t id = NSPEC;
    for (uint64_t l = 1; l <= L; l++) {
        size_t prev = 0, plen = 0;
        for (uint64_t k = 0; k < per[l]; k++, id++) {
            uint64_t sh, sl;
            if (get_varint(&p, end, &sh) || get_varint(&p, end, &sl) ||
                sh > plen || sl > (uint64_t)(end - p))
                die("bad vocabulary");
            size_t at = tb.len;
            buf_reserve(&tb, sh + sl);
            memmove(tb.p + tb.len, tb.p + prev, sh); /* reserve may move */
            tb.len += sh;
            buf_put(&tb, p, sl);
            p += sl;
            if (sh + sl > UINT32_MAX)
                die("token too long for this tool");
            srec *rc = &m->recs[id];
            rc->len = (uint32_t)(sh + sl);
            rc->kind = is_word[tb.p[at]] ? 0 : 1;
            if (rc->len <= 10) {
                memcpy(rc->b, tb.p + at, rc->len);
            } else {
                uint64_t off = at;
                memcpy(rc->b, &off, 8);
            }
            m->rlen[id] = (uint8_t)l;
            prev = at;
            plen = sh + sl;
        }
    }
    buf_reserve(&tb, 32); /* the decoder copies 32 bytes at a time */
    m->tokbytes = tb.p;
    /* symbols are numbered in canonical order already */
    hc_build(&m->hc, (uint32_t)nsym, m->rlen, (int)L);
    /* records by canonical position, so that the long codes' fallback
     * finds its record without going through perm[] */
    srec *byp = xcalloc(nsym + 1, sizeof(srec));
    for (size_t i = 0; i < nsym; i++)
        if (m->rlen[i])
            byp[m->hc.first_pos[m->rlen[i]] +
                (m->hc.code[i] - m->hc.first_code[m->rlen[i]])] = m->recs[i];
    m->ftab = xcalloc((1u << TB) + 1, sizeof(srec));
    for (uint32_t i = 0; i < 1u << TB; i++) {
        uint32_t te = m->hc.table[i];
        if (te == 0)
            continue;
        m->ftab[i] = m->recs[te >> 5];
        m->ftab[i].clen = (uint8_t)(te & 31);
    }
    /* an entry of longer codes: its kind is the shortest of their lengths,
     * where the fallback starts */
    for (uint32_t i = 0; i < 1u << TB; i++)
        if (m->hc.table[i] == 0)
            m->ftab[i].kind = (uint8_t)(TB + 1);
    for (int l = (int)L; l > TB; l--) {
        if (m->hc.count[l] == 0)
            continue;
        uint32_t lo = m->hc.first_code[l] >> (l - TB);
        uint32_t hi = (m->hc.first_code[l] + m->hc.count[l] - 1) >> (l - TB);
        for (uint32_t i = lo; i <= hi && i < 1u << TB; i++)
            if (m->hc.table[i] == 0)
                m->ftab[i].kind = (uint8_t)l;
    }
    free(m->recs);
    m->recs = byp;
    m->has_bytes = mode == 1;
    if (mode == 2) {
        uint64_t nn;
        if (get_varint(&p, end, &nn))
            die("bad vocabulary");
        m->nnew = nn;
        m->ninfo = xrealloc(NULL, (size_t)nn * 8 + 8);
        buf nb = {0};
        for (uint64_t i = 0; i < nn; i++) {
            uint64_t tl;
            if (get_varint(&p, end, &tl) || tl == 0 ||
                tl > (uint64_t)(end - p))
                die("bad vocabulary");
            if (nb.len > UINT32_MAX || tl >= 1u << 29)
                die("vocabulary too large for this tool");
            m->ninfo[i] = (uint64_t)nb.len << 32 | tl << 3 |
                          (is_word[*p] ? 0 : 1);
            buf_put(&nb, p, tl);
            p += tl;
        }
        buf_reserve(&nb, 32);
        m->newbytes = nb.p;
    }
    if (m->has_bytes) {
        if (end - p != 257)
            die("bad vocabulary");
        m->rblen = xrealloc(NULL, 257);
        memcpy(m->rblen, p, 257);
        hc_build(&m->hb, 257, m->rblen, (int)L);
    }
}

static void wm_free(wmodel *m)
{
    tt_free(&m->tt);
    free(m->seq);
    free(m->dseq);
    buf_free(&m->stream);
    free(m->doff);
    buf_free(&m->vocab);
    hc_free(&m->hc);
    if (m->has_bytes)
        hc_free(&m->hb);
    free(m->tokbytes);
    free(m->recs);
    free(m->ftab);
    free(m->rlen);
    free(m->ninfo);
    free(m->newbytes);
    if (m->mode == 2)
        tt_free(&m->nt);
    free(m->rblen);
}

static size_t wm_size(const wmodel *m)
{
    size_t offs = (m->ndocs + 1) * (m->stream.len > UINT32_MAX ? 8 : 4);
    return m->stream.len + offs + m->vocab_stored;
}

/* Fields of one document from its bit stream [p, end): appended to out,
 * lengths in flen (UINT32_MAX: absent). */
static void wm_decode(const wmodel *m, const unsigned char *p,
                      const unsigned char *end, buf *out,
                      uint32_t flen[NF])
{
    bitr r = {p, end, 0, 0};
    int f = 0, prev_word = 0;
    size_t start = out->len;
    const hcode *hc = &m->hc;
    const srec *recs = m->recs, *ftab = m->ftab;
    const unsigned char *tb = m->tokbytes;
    buf_reserve(out, 4096);
    unsigned char *o = out->p + out->len, *oend = out->p + out->cap;
    const int L = hc->L;
    while (f < NF) {
        if (r.n < L)
            br_refill(&r);
        const srec *rc = &ftab[r.acc >> (64 - TB)];
        if (rc->clen) {
            r.acc <<= rc->clen;
            r.n -= rc->clen;
        } else {
            rc = &recs[hc_decode_pos(hc, &r, rc->kind)];
        }
        uint32_t k = rc->kind, n = rc->len;
        if (k <= 1) {
            if ((size_t)(oend - o) < (size_t)n + 33) {
                out->len = (size_t)(o - out->p);
                buf_reserve(out, (size_t)n + 33);
                o = out->p + out->len;
                oend = out->p + out->cap;
            }
            *o = ' ';
            o += k == 0 && prev_word;
            if (n <= 10) {
                memcpy(o, rc->b, 16); /* past b: the next record */
                o += n;
                prev_word = k == 0;
                continue;
            }
            uint64_t off;
            memcpy(&off, rc->b, 8);
            const unsigned char *src = tb + off;
            if (n <= 32)
                memcpy(o, src, 32);
            else
                memcpy(o, src, n);
            o += n;
            prev_word = k == 0;
            continue;
        }
        out->len = (size_t)(o - out->p);
        if (k == 2) {
            flen[f++] = (uint32_t)(out->len - start);
            start = out->len;
            prev_word = 0;
        } else if (k == 3) {
            flen[f++] = UINT32_MAX;
            prev_word = 0;
        } else if (m->nnew > 0 || m->ninfo != NULL) {
            /* ESC, 5 bits k - 1, the low k - 1 bits of id + 1 */
            if (r.n < 40)
                br_refill(&r);
            uint32_t k1 = (uint32_t)(r.acc >> 59);
            r.acc <<= 5;
            r.n -= 5;
            uint64_t v = 1;
            if (k1 > 0) {
                v = (1ull << k1) | (r.acc >> (64 - k1));
                r.acc <<= k1;
                r.n -= (int)k1;
            }
            if (v - 1 >= m->nnew)
                die("bad new token id");
            uint64_t e = m->ninfo[v - 1];
            k = e & 7;
            n = (uint32_t)e >> 3;
            buf_reserve(out, (size_t)n + 34);
            o = out->p + out->len;
            *o = ' ';
            o += k == 0 && prev_word;
            memcpy(o, m->newbytes + (e >> 32), n);
            out->len = (size_t)(o - out->p) + n;
            prev_word = k == 0;
        } else {
            size_t at = out->len;
            for (;;) {
                if (r.n < L)
                    br_refill(&r);
                uint32_t b = hc_decode(&m->hb, &r);
                if (b == BYTE_END)
                    break;
                buf_reserve(out, 2);
                out->p[out->len++] = (unsigned char)b;
            }
            if (out->len == at)
                die("empty escaped token");
            int w = is_word[out->p[at]];
            if (w && prev_word) {
                buf_reserve(out, 1);
                memmove(out->p + at + 1, out->p + at, out->len - at);
                out->p[at] = ' ';
                out->len++;
            }
            prev_word = w;
        }
        buf_reserve(out, 64);
        o = out->p + out->len;
        oend = out->p + out->cap;
    }
    out->len = (size_t)(o - out->p);
}

static int doc_equal(const sdoc *d, const unsigned char *p,
                     const uint32_t flen[NF])
{
    for (int f = 0; f < NF; f++) {
        if ((flen[f] == UINT32_MAX) != (d->p[f] == NULL))
            return 0;
        if (flen[f] == UINT32_MAX)
            continue;
        if (flen[f] != d->len[f] || memcmp(p, d->p[f], d->len[f]) != 0)
            return 0;
        p += d->len[f];
    }
    return 1;
}

/* The static code from m->tt's counts: the vocabulary (written and its
 * stored size set), rank[] (token id -> canonical symbol number, which is
 * what the reader rebuilds: specials, then by length, then by bytes) and
 * the encoder's code over those numbers. */
static void wm_code(wmodel *m, int L, uint32_t **rank_out, hcode *enc)
{
    size_t nt = m->tt.n;
    uint8_t *len = xcalloc(nt, 1);
    huff_lengths(m->tt.cnt, nt, L, len);
    uint32_t *order = xcalloc(nt, 4);
    for (size_t i = 0; i < nt; i++)
        order[i] = (uint32_t)i;
    g_sort_bytes = m->tt.bytes.p;
    g_sort_off = m->tt.off;
    g_sort_len = m->tt.len;
    qsort(order + NSPEC, nt - NSPEC, 4, lex_cmp);
    vocab_write(&m->vocab, &m->tt, order, nt, len, L, 0, NULL, NULL);
    uint32_t *rank = xcalloc(nt, 4);
    uint8_t *len2 = xcalloc(nt, 1);
    uint32_t next = NSPEC;
    for (int s = 0; s < NSPEC; s++) {
        rank[s] = (uint32_t)s;
        len2[s] = len[s];
    }
    for (int l = 1; l <= L; l++)
        for (size_t i = 0; i < nt; i++)
            if (order[i] >= NSPEC && len[order[i]] == l) {
                rank[order[i]] = next;
                len2[next++] = (uint8_t)l;
            }
    hc_build(enc, (uint32_t)nt, len2, L);
    enc->own = len2;
    size_t zs = zsize(&m->vocab, 3);
    m->vocab_stored = zs < m->vocab.len ? zs : m->vocab.len;
    free(len);
    free(order);
    *rank_out = rank;
}

static void wm_static_build(wmodel *m, const sdoc *docs, size_t n, int L)
{
    memset(m, 0, sizeof(*m));
    m->ndocs = n;
    double t0 = cpu_now();
    tt_init(&m->tt);
    m->dseq = xcalloc(n + 1, 8);
    for (size_t i = 0; i < n; i++) {
        m->dseq[i] = m->nseq;
        for (int f = 0; f < NF; f++) {
            if (docs[i].p[f] == NULL) {
                seq_push(m, SYM_ABS);
                m->tt.cnt[SYM_ABS]++;
                continue;
            }
            tokenize(docs[i].p[f], docs[i].len[f], count_tok, m);
            seq_push(m, SYM_EOF);
            m->tt.cnt[SYM_EOF]++;
        }
    }
    m->dseq[n] = m->nseq;
    double t1 = cpu_now();
    size_t nt = m->tt.n;
    uint32_t *rank;
    hcode enc;
    wm_code(m, L, &rank, &enc);
    double t2 = cpu_now();
    m->doff = xcalloc(n + 1, 8);
    bitw w = {&m->stream, 0, 0};
    for (size_t i = 0; i < n; i++) {
        m->doff[i] = m->stream.len;
        for (uint64_t k = m->dseq[i]; k < m->dseq[i + 1]; k++) {
            uint32_t s = rank[m->seq[k]];
            bw_put(&w, enc.code[s], enc.len[s]);
        }
        bw_align(&w);
    }
    m->doff[n] = m->stream.len;
    double t3 = cpu_now();
    m->t_tok = t1 - t0;
    m->t_build = t2 - t1;
    m->t_emit = t3 - t2;
    m->mem_peak = tt_mem(&m->tt) + nt * 14;
    m->mem_seq = m->nseq * 4;
    hc_free(&enc);
    free(rank);
}

/* ---- 3. the streaming variant: code from the first 2 MiB -------------- */

typedef struct {
    wmodel *m;
    toktab *sample;
    const uint32_t *rank;
    const hcode *enc, *benc;
    bitw *w;
    uint64_t *bcnt; /* sampling: escaped bytes */
    int minc;
} sctx;

static void sample_tok(void *ctx, const unsigned char *p, size_t n)
{
    sctx *c = ctx;
    uint32_t id = tt_get(c->sample, p, n, 1);
    c->sample->cnt[id]++;
}

static void emit_tok(void *ctx, const unsigned char *p, size_t n)
{
    sctx *c = ctx;
    uint32_t id = tt_get(c->sample, p, n, 0);
    if (id != UINT32_MAX && c->rank[id] != UINT32_MAX) {
        uint32_t s = c->rank[id];
        bw_put(c->w, c->enc->code[s], c->enc->len[s]);
        return;
    }
    bw_put(c->w, c->enc->code[SYM_ESC], c->enc->len[SYM_ESC]);
    if (c->m->mode == 2) {
        uint64_t v = tt_get(&c->m->nt, p, n, 1) - NSPEC + 1;
        uint32_t k1 = 63 - (uint32_t)__builtin_clzll(v);
        if (k1 > 30)
            die("too many new tokens");
        bw_put(c->w, k1, 5);
        if (k1 > 0)
            bw_put(c->w, (uint32_t)(v & ((1ull << k1) - 1)), (int)k1);
        return;
    }
    for (size_t i = 0; i < n; i++)
        bw_put(c->w, c->benc->code[p[i]], c->benc->len[p[i]]);
    bw_put(c->w, c->benc->code[BYTE_END], c->benc->len[BYTE_END]);
}

static void wm_stream_build(wmodel *m, const sdoc *docs, size_t n, int L,
                            int minc, int mode, size_t *sample_docs)
{
    memset(m, 0, sizeof(*m));
    m->ndocs = n;
    m->mode = mode;
    if (mode == 2)
        tt_init(&m->nt);
    double t0 = cpu_now();
    tt_init(&m->tt);
    sctx c = {m, &m->tt, NULL, NULL, NULL, NULL, NULL, minc};
    size_t held = 0, ns = 0;
    while (ns < n && held < STORE_DICT_HOLD) {
        for (int f = 0; f < NF; f++) {
            if (docs[ns].p[f] == NULL) {
                m->tt.cnt[SYM_ABS]++;
                continue;
            }
            tokenize(docs[ns].p[f], docs[ns].len[f], sample_tok, &c);
            m->tt.cnt[SYM_EOF]++;
        }
        held += record_len(&docs[ns]);
        ns++;
    }
    *sample_docs = ns;
    double t1 = cpu_now();
    /* tokens seen fewer than minc times are escaped */
    size_t nt = m->tt.n;
    uint64_t bcnt[257];
    for (int b = 0; b < 257; b++)
        bcnt[b] = 1;
    /* Good-Turing: unseen tokens are expected as often as the sample's
     * hapaxes occur; escaped bytes look like those of rare tokens */
    for (size_t id = NSPEC; id < nt; id++) {
        uint64_t k = m->tt.cnt[id];
        if (k >= (uint64_t)minc && k >= 2)
            continue;
        m->tt.cnt[SYM_ESC] += k;
        const unsigned char *p = m->tt.bytes.p + m->tt.off[id];
        for (uint32_t i = 0; i < m->tt.len[id]; i++)
            bcnt[p[i]] += k;
        bcnt[BYTE_END] += k;
        if (k < (uint64_t)minc)
            m->tt.cnt[id] = 0;
    }
    for (int s = 0; s < NSPEC; s++)
        if (m->tt.cnt[s] == 0)
            m->tt.cnt[s] = 1;
    uint8_t *len = xcalloc(nt, 1);
    huff_lengths(m->tt.cnt, nt, L, len);
    uint8_t blen[257];
    huff_lengths(bcnt, 257, L, blen);
    uint32_t *order = xcalloc(nt, 4);
    for (size_t i = 0; i < nt; i++)
        order[i] = (uint32_t)i;
    g_sort_bytes = m->tt.bytes.p;
    g_sort_off = m->tt.off;
    g_sort_len = m->tt.len;
    qsort(order + NSPEC, nt - NSPEC, 4, lex_cmp);
    if (mode == 1)
        vocab_write(&m->vocab, &m->tt, order, nt, len, L, 1, blen, NULL);
    uint32_t *rank = xcalloc(nt, 4);
    uint8_t *len2 = xcalloc(nt, 1);
    uint32_t next = NSPEC;
    for (size_t i = 0; i < nt; i++)
        rank[i] = UINT32_MAX;
    for (int s = 0; s < NSPEC; s++) {
        rank[s] = (uint32_t)s;
        len2[s] = len[s];
    }
    for (int l = 1; l <= L; l++)
        for (size_t i = 0; i < nt; i++)
            if (order[i] >= NSPEC && len[order[i]] == l) {
                rank[order[i]] = next;
                len2[next++] = (uint8_t)l;
            }
    hcode enc, benc;
    hc_build(&enc, next, len2, L);
    hc_build(&benc, 257, blen, L);
    size_t zs = mode == 1 ? zsize(&m->vocab, 3) : 0;
    m->vocab_stored = zs < m->vocab.len ? zs : m->vocab.len;
    double t2 = cpu_now();
    m->doff = xcalloc(n + 1, 8);
    bitw w = {&m->stream, 0, 0};
    c.rank = rank;
    c.enc = &enc;
    c.benc = &benc;
    c.w = &w;
    for (size_t i = 0; i < n; i++) {
        m->doff[i] = m->stream.len;
        for (int f = 0; f < NF; f++) {
            if (docs[i].p[f] == NULL) {
                bw_put(&w, enc.code[SYM_ABS], enc.len[SYM_ABS]);
                continue;
            }
            tokenize(docs[i].p[f], docs[i].len[f], emit_tok, &c);
            bw_put(&w, enc.code[SYM_EOF], enc.len[SYM_EOF]);
        }
        bw_align(&w);
    }
    m->doff[n] = m->stream.len;
    double t3 = cpu_now();
    if (mode == 2) {
        /* the vocabulary can only be written once the segment ends */
        vocab_write(&m->vocab, &m->tt, order, nt, len, L, 2, NULL, &m->nt);
        zs = zsize(&m->vocab, 3);
        m->vocab_stored = zs < m->vocab.len ? zs : m->vocab.len;
    }
    double t4 = cpu_now();
    m->t_tok = t1 - t0;
    m->t_build = t2 - t1 + t4 - t3;
    m->t_emit = t3 - t2;
    m->mem_peak = tt_mem(&m->tt) + STORE_DICT_HOLD + nt * 13 +
                  (mode == 2 ? tt_mem(&m->nt) : 0);
    hc_free(&enc);
    hc_free(&benc);
    free(len);
    free(len2);
    free(order);
    free(rank);
}

/* ---- merging static segments: symbols re-mapped, no bytes ------------- */

/* the bytes of reader symbol s (its number in the vocabulary's order) */
static const unsigned char *wm_sym_bytes(const wmodel *m, uint32_t s,
                                         uint32_t *n)
{
    int l = m->rlen[s];
    const srec *rc = &m->recs[m->hc.first_pos[l] +
                              (m->hc.code[s] - m->hc.first_code[l])];
    *n = rc->len;
    if (rc->len <= 10)
        return rc->b;
    uint64_t off;
    memcpy(&off, rc->b, 8);
    return m->tokbytes + off;
}

/* One document's symbols (reader numbers) mapped through map[]; an
 * escaped token (streaming input) is decoded and looked up in ot (added
 * while counting). Counts into ot->cnt, or codes into w. */
static void wm_doc_syms(const wmodel *m, size_t d, const uint32_t *map,
                        toktab *ot, buf *tmp, int counting,
                        const hcode *enc, const uint32_t *rank, bitw *w)
{
    bitr r = {m->stream.p + m->doff[d], m->stream.p + m->stream.len, 0, 0};
    int f = 0;
    while (f < NF) {
        if (r.n < m->hc.L)
            br_refill(&r);
        uint32_t s = hc_decode(&m->hc, &r), o;
        f += s < SYM_ESC;
        if (s == SYM_ESC && m->has_bytes) {
            tmp->len = 0;
            for (;;) {
                if (r.n < m->hc.L)
                    br_refill(&r);
                uint32_t b = hc_decode(&m->hb, &r);
                if (b == BYTE_END)
                    break;
                unsigned char ch = (unsigned char)b;
                buf_put(tmp, &ch, 1);
            }
            o = tt_get(ot, tmp->p, tmp->len, counting);
            if (o == UINT32_MAX)
                die("escaped token not counted");
        } else {
            o = map[s];
        }
        if (counting)
            ot->cnt[o]++; /* (tt_get may have moved cnt) */
        else
            bw_put(w, enc->code[rank[o]], enc->len[rank[o]]);
    }
}

/*
 * Merge the static segments in[0..nin) into out, as a merge would: the
 * output vocabulary is the union of the inputs' (a token table of their
 * distinct tokens), the counts come from one pass over the inputs' bit
 * streams (symbols decoded, not bytes), the code is built as for a
 * segment, and a second pass re-codes every symbol. Times: t[0] the
 * union, t[1] counting, t[2] the code, t[3] re-coding.
 */
static void wm_merge(wmodel *in, size_t nin, int L, wmodel *out, double t[4])
{
    memset(out, 0, sizeof(*out));
    double t0 = cpu_now();
    tt_init(&out->tt);
    uint32_t **map = xcalloc(nin, sizeof(*map));
    for (size_t i = 0; i < nin; i++) {
        wmodel *m = &in[i];
        map[i] = xcalloc(m->hc.nsym, 4);
        for (uint32_t s = 0; s < m->hc.nsym; s++) {
            if (s < NSPEC) {
                map[i][s] = s;
                continue;
            }
            uint32_t n;
            const unsigned char *p = wm_sym_bytes(m, s, &n);
            map[i][s] = tt_get(&out->tt, p, n, 1);
        }
        out->ndocs += m->ndocs;
    }
    double t1 = cpu_now();
    buf tmp = {0};
    for (size_t i = 0; i < nin; i++)
        for (size_t d = 0; d < in[i].ndocs; d++)
            wm_doc_syms(&in[i], d, map[i], &out->tt, &tmp, 1, NULL, NULL,
                        NULL);
    double t2 = cpu_now();
    uint32_t *rank;
    hcode enc;
    wm_code(out, L, &rank, &enc);
    double t3 = cpu_now();
    out->doff = xcalloc(out->ndocs + 1, 8);
    bitw w = {&out->stream, 0, 0};
    size_t k = 0;
    for (size_t i = 0; i < nin; i++)
        for (size_t d = 0; d < in[i].ndocs; d++) {
            out->doff[k++] = out->stream.len;
            wm_doc_syms(&in[i], d, map[i], &out->tt, &tmp, 0, &enc, rank,
                        &w);
            bw_align(&w);
        }
    out->doff[k] = out->stream.len;
    double t4 = cpu_now();
    t[0] = t1 - t0;
    t[1] = t2 - t1;
    t[2] = t3 - t2;
    t[3] = t4 - t3;
    hc_free(&enc);
    free(rank);
    buf_free(&tmp);
    for (size_t i = 0; i < nin; i++)
        free(map[i]);
    free(map);
}

/* ---- the driver -------------------------------------------------------- */

typedef struct {
    const char *name;
    size_t bytes, parts[3]; /* stream/STORE, offsets/index, vocab/dict */
    double enc[4];          /* total, tokenize, build, emit */
    double get_us, dec_mbs, load_ms;
    size_t nseg, ntok, mem, seq;
} result;

static void minto(double *a, double b)
{
    if (*a == 0 || b < *a)
        *a = b;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *kind = NULL;
    size_t seg = 0, docs_max = SIZE_MAX, ngets = 10000;
    int reps = 3, minc = 1, L = 24, onedoc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--seg") == 0 && v)
            seg = strtoull(v, NULL, 10), i++;
        else if (strcmp(a, "--docs") == 0 && v)
            docs_max = strtoull(v, NULL, 10), i++;
        else if (strcmp(a, "--reps") == 0 && v)
            reps = atoi(v), i++;
        else if (strcmp(a, "--gets") == 0 && v)
            ngets = strtoull(v, NULL, 10), i++;
        else if (strcmp(a, "--minc") == 0 && v)
            minc = atoi(v), i++;
        else if (strcmp(a, "--limit") == 0 && v)
            L = atoi(v), i++;
        else if (strcmp(a, "--seed") == 0 && v)
            rng_state = strtoull(v, NULL, 10) * 2654435761u + 1, i++;
        else if (strcmp(a, "--synth") == 0 && v)
            kind = v, i++;
        else if (strcmp(a, "--one-doc") == 0)
            onedoc = 1;
        else if (a[0] != '-')
            path = a;
        else
            die("usage: store_model [--seg N] [--one-doc] [--docs N] [--reps R] "
                "[--gets N] [--minc C] [--limit L] [--seed S] "
                "(CORPUS.jsonl | --synth KIND)");
    }
    if (L < TB + 1 || L > MAXLEN || reps < 1 || minc < 1)
        die("bad --limit, --reps or --minc");
    init_word();
    corpus c = {0};
    if (kind)
        synth(kind, docs_max == SIZE_MAX ? 5000 : docs_max, &c);
    else if (path)
        read_jsonl(path, &c, docs_max);
    else
        die("no corpus");
    if (onedoc)
        one_doc(&c);
    if (c.n == 0)
        die("empty corpus");
    if (seg == 0 || seg > c.n)
        seg = c.n;
    size_t nseg = (c.n + seg - 1) / seg;
    printf("corpus %s: %zu docs, text (title+body) %" PRIu64
           " bytes, stored fields %" PRIu64 " bytes, %zu segment(s) of <= %zu"
           " docs, limit %d bits, minc %d\n",
           kind ? kind : path, c.n, c.text, c.bytes, nseg, seg, L, minc);

    zstore *zs = xcalloc(nseg, sizeof(*zs));
    wmodel *wm[NW];
    for (int k = 0; k < NW; k++)
        wm[k] = xcalloc(nseg, sizeof(wmodel));
    result R[NW + 1];
    memset(R, 0, sizeof(R));
    R[0].name = "zstd (today)";
    R[1].name = "words static";
    R[2].name = "words stream, escaped bytes";
    R[3].name = "words stream, escaped ids";
    size_t sample_docs = 0;
    int bad = 0;
    /* encode, reps times (the last build is kept) */
    for (int rep = 0; rep < reps; rep++) {
        double te[NW + 1][4];
        memset(te, 0, sizeof(te));
        for (size_t s = 0; s < nseg; s++) {
            size_t lo = s * seg, n = lo + seg > c.n ? c.n - lo : seg;
            if (rep > 0) {
                zstore_free(&zs[s]);
                for (int k = 0; k < NW; k++)
                    wm_free(&wm[k][s]);
            }
            double t0 = cpu_now();
            zstore_build(&zs[s], c.d + lo, n);
            te[0][0] += cpu_now() - t0;
            for (int k = 0; k < NW; k++) {
                wmodel *m = &wm[k][s];
                size_t sd = 0;
                if (k == 0)
                    wm_static_build(m, c.d + lo, n, L);
                else
                    wm_stream_build(m, c.d + lo, n, L, minc, k, &sd);
                if (s == 0 && k == 1)
                    sample_docs = sd;
                te[k + 1][1] += m->t_tok;
                te[k + 1][2] += m->t_build;
                te[k + 1][3] += m->t_emit;
            }
        }
        for (int k = 1; k <= NW; k++)
            te[k][0] = te[k][1] + te[k][2] + te[k][3];
        for (int k = 0; k <= NW; k++)
            for (int j = 0; j < 4; j++)
                minto(&R[k].enc[j], te[k][j]);
    }
    size_t z19[NW] = {0}, vraw[NW] = {0}, nnew = 0;
    for (size_t s = 0; s < nseg; s++) {
        R[0].parts[0] += zs[s].z.len;
        R[0].parts[1] += 4 + 8 * (zs[s].nblocks + 1);
        R[0].parts[2] += zs[s].dict.len;
        R[0].bytes += zstore_size(&zs[s]);
        for (int k = 0; k < NW; k++) {
            wmodel *m = &wm[k][s];
            R[1 + k].parts[0] += m->stream.len;
            R[1 + k].parts[1] += wm_size(m) - m->stream.len - m->vocab_stored;
            R[1 + k].parts[2] += m->vocab_stored;
            R[1 + k].bytes += wm_size(m);
            R[1 + k].ntok += m->tt.n - NSPEC;
            if (m->mem_peak > R[1 + k].mem)
                R[1 + k].mem = m->mem_peak;
            if (m->mem_seq > R[1 + k].seq)
                R[1 + k].seq = m->mem_seq;
            z19[k] += zsize(&m->vocab, 19);
            vraw[k] += m->vocab.len;
            if (m->mode == 2)
                nnew += m->nt.n - NSPEC;
        }
    }
    /* readers: load the vocabularies (timed) */
    for (int k = 0; k < NW; k++) {
        double best = 0;
        for (int rep = 0; rep < reps; rep++) {
            double t = 0;
            for (size_t s = 0; s < nseg; s++) {
                wmodel *m = &wm[k][s];
                if (m->tokbytes) {
                    hc_free(&m->hc);
                    if (m->has_bytes)
                        hc_free(&m->hb);
                    free(m->tokbytes);
                    free(m->recs);
                    free(m->ftab);
                    free(m->ninfo);
                    free(m->newbytes);
                    m->ninfo = NULL;
                    m->newbytes = NULL;
                    free(m->rlen);
                    free(m->rblen);
                    m->rblen = NULL;
                }
                double t0 = cpu_now();
                vocab_load(m);
                t += cpu_now() - t0;
            }
            minto(&best, t);
        }
        R[k + 1].load_ms = best / (double)nseg * 1e3;
    }
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    buf zb = {0}, out = {0};
    const zstore *ready = NULL;
    /* whole-corpus decode, verifying every document */
    for (int rep = 0; rep < reps; rep++) {
        double t0 = cpu_now();
        for (size_t s = 0; s < nseg; s++) {
            size_t lo = s * seg, n = lo + seg > c.n ? c.n - lo : seg, i = 0;
            for (uint32_t b = 0; b < zs[s].nblocks; b++) {
                size_t rl;
                const unsigned char *p = z_block(&zs[s], b, dctx, &zb, &ready,
                                                 &rl);
                const unsigned char *end = p + rl;
                while (p < end && i < n) {
                    if (z_check(&p, end, &c.d[lo + i]) != 0) {
                        fprintf(stderr, "zstd: doc %zu differs\n", lo + i);
                        bad = 1;
                        break;
                    }
                    i++;
                }
            }
            if (i != n) {
                fprintf(stderr, "zstd: %zu of %zu docs decoded\n", i, n);
                bad = 1;
            }
        }
        minto(&R[0].dec_mbs, cpu_now() - t0);
        for (int k = 0; k < NW; k++) {
            t0 = cpu_now();
            for (size_t s = 0; s < nseg; s++) {
                wmodel *m = &wm[k][s];
                size_t lo = s * seg;
                for (size_t i = 0; i < m->ndocs; i++) {
                    uint32_t fl[NF];
                    out.len = 0;
                    wm_decode(m, m->stream.p + m->doff[i],
                              m->stream.p + m->stream.len, &out, fl);
                    if (!doc_equal(&c.d[lo + i], out.p, fl)) {
                        fprintf(stderr, "%s: doc %zu differs\n",
                                R[k + 1].name, lo + i);
                        bad = 1;
                    }
                }
            }
            minto(&R[k + 1].dec_mbs, cpu_now() - t0);
        }
    }
    for (int k = 0; k <= NW; k++)
        R[k].dec_mbs = (double)c.bytes / 1e6 / R[k].dec_mbs;
    /* random gets */
    /* at most ~500 MB decoded per series (one huge article) */
    double per_doc = (double)c.bytes / (double)c.n;
    if ((double)ngets * per_doc > 5e8)
        ngets = (size_t)(5e8 / per_doc) > 10 ? (size_t)(5e8 / per_doc) : 10;
    size_t *pick = xcalloc(ngets, sizeof(size_t));
    for (size_t g = 0; g < ngets; g++)
        pick[g] = rng() % c.n;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = cpu_now();
        for (size_t g = 0; g < ngets; g++) {
            size_t d = pick[g], s = d / seg, i = d % seg;
            size_t rl;
            const unsigned char *p = z_block(&zs[s], zs[s].dblock[i], dctx,
                                             &zb, &ready, &rl);
            const unsigned char *end = p + rl;
            for (uint32_t k = 0; k < zs[s].dslot[i]; k++)
                z_skip(&p, end);
            if (z_check(&p, end, &c.d[d]) != 0) {
                fprintf(stderr, "zstd: get %zu differs\n", d);
                bad = 1;
            }
        }
        minto(&R[0].get_us, (cpu_now() - t0) / (double)ngets * 1e6);
        for (int k = 0; k < NW; k++) {
            t0 = cpu_now();
            for (size_t g = 0; g < ngets; g++) {
                size_t d = pick[g], s = d / seg, i = d % seg;
                wmodel *m = &wm[k][s];
                uint32_t fl[NF];
                out.len = 0;
                wm_decode(m, m->stream.p + m->doff[i],
                          m->stream.p + m->stream.len, &out, fl);
                if (!doc_equal(&c.d[d], out.p, fl)) {
                    fprintf(stderr, "%s: get %zu differs\n", R[k + 1].name,
                            d);
                    bad = 1;
                }
            }
            minto(&R[k + 1].get_us, (cpu_now() - t0) / (double)ngets * 1e6);
        }
    }

    printf("| scheme | store bytes | x text | vs zstd | stream / offsets / "
           "vocab (zstd: STORE / index / dict) | encode CPU s (tok+count / "
           "build / emit) | encode MB/s | get us | decode MB/s | vocab load "
           "ms/seg |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k <= NW; k++) {
        printf("| %s | %zu | %.3f | %.3f | %zu / %zu / %zu | %.3f", R[k].name,
               R[k].bytes, (double)R[k].bytes / (double)c.text,
               (double)R[k].bytes / (double)R[0].bytes, R[k].parts[0],
               R[k].parts[1], R[k].parts[2], R[k].enc[0]);
        if (k > 0)
            printf(" (%.3f / %.3f / %.3f)", R[k].enc[1], R[k].enc[2],
                   R[k].enc[3]);
        printf(" | %.0f | %.2f | %.0f | ", (double)c.bytes / 1e6 / R[k].enc[0],
               R[k].get_us, R[k].dec_mbs);
        if (k > 0)
            printf("%.2f |\n", R[k].load_ms);
        else
            printf("- |\n");
    }
    size_t best = 0;
    for (size_t s = 0; s < nseg; s++) {
        size_t a = zstore_size(&zs[s]), b = wm_size(&wm[0][s]);
        best += a < b ? a : b;
    }
    printf("per-segment min(zstd, static): %zu bytes = %.3fx text\n", best,
           (double)best / (double)c.text);
    /* Guards that pick the scheme per segment without building both:
     * A from the first 2 MiB only (zstd and a static model of those
     * documents), B the static model's exact size (known once the segment
     * is counted, before anything is emitted) against zstd's ratio on the
     * first 2 MiB. */
    {
        size_t ga = 0, gb = 0, na = 0, nb = 0;
        for (size_t s = 0; s < nseg; s++) {
            size_t lo = s * seg, n = lo + seg > c.n ? c.n - lo : seg;
            size_t ns = 0, held = 0;
            while (ns < n && held < STORE_DICT_HOLD)
                held += record_len(&c.d[lo + ns++]);
            zstore zsam;
            wmodel wsam;
            zstore_build(&zsam, c.d + lo, ns);
            wm_static_build(&wsam, c.d + lo, ns, L);
            double zr = (double)zstore_size(&zsam) / (double)held;
            int a = wm_size(&wsam) < zstore_size(&zsam);
            size_t segbytes = 0;
            for (size_t i = 0; i < n; i++)
                segbytes += record_len(&c.d[lo + i]);
            int b = (double)wm_size(&wm[0][s]) < zr * (double)segbytes;
            size_t zb_ = zstore_size(&zs[s]), wb_ = wm_size(&wm[0][s]);
            ga += a ? wb_ : zb_;
            gb += b ? wb_ : zb_;
            na += (size_t)a;
            nb += (size_t)b;
            zstore_free(&zsam);
            wm_free(&wsam);
        }
        printf("guard A (both schemes on the first 2 MiB): words in %zu of %zu "
               "segments, %zu bytes = %.3fx text; guard B (exact words size "
               "vs zstd's ratio on the first 2 MiB): words in %zu, %zu bytes "
               "= %.3fx text\n",
               na, nseg, ga, (double)ga / (double)c.text, nb, gb,
               (double)gb / (double)c.text);
    }
    for (int k = 0; k < NW; k++)
        printf("%s: %zu distinct tokens with codes (sum over segments), "
               "vocabulary raw %zu, stored %zu (zstd-19 would be %zu) bytes; "
               "encoder tables %.1f MB (+ symbol sequence %.1f MB) in the "
               "largest segment\n",
               R[1 + k].name, R[1 + k].ntok, vraw[k], R[1 + k].parts[2],
               z19[k], (double)R[1 + k].mem / 1e6,
               (double)R[1 + k].seq / 1e6);
    printf("stream: the first segment's sample is %zu docs; %zu tokens new "
           "after the samples (escaped ids)\n",
           sample_docs, nnew);
    for (int k = 0; k < 2; k++) {
        /* Merge all segments into one static segment (k 0: the static
         * segments, when there are several; k 1: the streaming segments
         * with escaped bytes, also one: the run's re-coding at its flush).
         * The word model re-maps symbols; today's store decodes every
         * block and compresses again. */
        if (k == 0 && nseg == 1)
            continue;
        double tm[4] = {0, 0, 0, 0}, tz = 0, tzd = 0;
        wmodel mo;
        for (int rep = 0; rep < reps; rep++) {
            double t[4];
            if (rep > 0)
                wm_free(&mo);
            wm_merge(wm[k], nseg, L, &mo, t);
            double sum = t[0] + t[1] + t[2] + t[3];
            if (tm[0] + tm[1] + tm[2] + tm[3] == 0 ||
                sum < tm[0] + tm[1] + tm[2] + tm[3])
                memcpy(tm, t, sizeof(t));
            double t0 = cpu_now();
            for (size_t s = 0; s < nseg; s++)
                for (uint32_t b = 0; b < zs[s].nblocks; b++) {
                    size_t rl;
                    z_block(&zs[s], b, dctx, &zb, &ready, &rl);
                }
            double t1 = cpu_now();
            zstore zm;
            zstore_build(&zm, c.d, c.n);
            double t2 = cpu_now();
            zstore_free(&zm);
            minto(&tzd, t1 - t0);
            minto(&tz, t2 - t1);
        }
        vocab_load(&mo);
        for (size_t i = 0; i < c.n; i++) {
            uint32_t fl[NF];
            out.len = 0;
            wm_decode(&mo, mo.stream.p + mo.doff[i],
                      mo.stream.p + mo.stream.len, &out, fl);
            if (!doc_equal(&c.d[i], out.p, fl)) {
                fprintf(stderr, "merged: doc %zu differs\n", i);
                bad = 1;
            }
        }
        printf("merge of the %zu %s segment(s) into one static: %zu bytes = "
               "%.3fx text (%zu distinct tokens); CPU %.3f s = union of "
               "vocabularies %.3f + counting pass %.3f + code %.3f + "
               "re-coding pass %.3f (verified); today's store: decode "
               "every block %.3f s + compress again %.3f s = %.3f s\n",
               nseg, k == 0 ? "static" : "streaming (escaped bytes)",
               wm_size(&mo), (double)wm_size(&mo) / (double)c.text,
               mo.tt.n - NSPEC, tm[0] + tm[1] + tm[2] + tm[3], tm[0], tm[1],
               tm[2], tm[3], tzd, tz, tzd + tz);
        wm_free(&mo);
    }
    for (size_t s = 0; s < nseg; s++) {
        zstore_free(&zs[s]);
        for (int k = 0; k < NW; k++)
            wm_free(&wm[k][s]);
    }
    ZSTD_freeDCtx(dctx);
    buf_free(&zb);
    buf_free(&out);
    free(pick);
    free(zs);
    for (int k = 0; k < NW; k++)
        free(wm[k]);
    for (size_t i = 0; i < c.n; i++)
        for (int f = 0; f < NF; f++)
            free(c.d[i].p[f]);
    free(c.d);
    if (bad) {
        fprintf(stderr, "store_model: VERIFY FAILED\n");
        return 1;
    }
    printf("verified: every document of every scheme decodes to its bytes\n");
    return 0;
}

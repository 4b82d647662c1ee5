/*
 * Snippet selection. The body is analyzed into tokens; a token matches
 * when it equals a positive TERM leaf (any field or body), and a run of
 * tokens matches when it spells a positive PHRASE leaf. The window of at
 * most `target` bytes that covers the most distinct leaves (each word of
 * a near query counting as one), then the most matches, wins; it is
 * widened to use the whole budget, cut at token boundaries, and
 * whitespace inside it is collapsed.
 *
 * Analysis (folding, stemming) is most of a snippet's cost, and a long
 * article's first few KiB usually hold every query word: the body is
 * analyzed in growing pieces (2 KiB, then the size so far again, cut at
 * whitespace, which no token spans), and analysis stops as soon as the
 * best window so far covers every leaf that can match the body, with a
 * snippet's length of analyzed text after it. So the window is the first
 * best one rather than the best of the whole body when several cover all
 * leaves; a body with a leaf that never matches is analyzed to the end,
 * or to SNIP_MATCHED bytes once something matched, or SNIP_ANY at most
 * (past that, a snippet from the start without highlights).
 */
#include "snippet.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "internal.h"

typedef struct stok {
    size_t start, end;
    int qid; /* index of the query term it equals, or -1 */
    uint32_t pos; /* its position: a hyphenated chain's compound
                     (trawl_token.parts) shares its first part's */
} stok;

typedef struct match {
    size_t start, end; /* bytes in text */
    int leaf;
} match;

#define MAX_QTERMS (Q_MAX_LEAVES * 4)
#define SNIP_FIRST ((size_t)2 << 10)
#define SNIP_MATCHED ((size_t)64 << 10)
#define SNIP_ANY ((size_t)4 << 20)
#define SNIP_KEEP ((size_t)1 << 20) /* scratch bytes kept between calls */

typedef struct sctx {
    const qnode **leaves;
    size_t nleaves;
    /* The distinct terms of the positive leaves (body-searchable). */
    const char *qterm[MAX_QTERMS];
    uint32_t qlen[MAX_QTERMS];
    int nq;
    /* What a query term highlighting alone counts as in a window: its
     * TERM leaf, or for a near query's word nleaves + its id; or -1. */
    int term_leaf[MAX_QTERMS];
    stok *toks;
    size_t n, cap;
    size_t base; /* offset of the piece being analyzed */
    uint32_t npos; /* positions so far (see stok) */
    int oom;
} sctx;

/* Grow a scratch array on the heap (doubling): the token and match
 * arrays live in the caller's snip_scratch, not in the query's arena
 * (see snippet.h). */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return -1;
    void *np = realloc(*p, ncap * elem);
    if (np == NULL)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

static int qterm_id(sctx *c, const char *t, size_t len, int add)
{
    for (int i = 0; i < c->nq; i++)
        if (c->qlen[i] == len && memcmp(c->qterm[i], t, len) == 0)
            return i;
    if (!add || c->nq == MAX_QTERMS)
        return -1;
    c->qterm[c->nq] = t;
    c->qlen[c->nq] = (uint32_t)len;
    c->term_leaf[c->nq] = -1;
    return c->nq++;
}

static int on_tok(void *payload, const trawl_token *t)
{
    sctx *c = payload;
    if (grow((void **)&c->toks, &c->cap, c->n + 1, sizeof(stok)) !=
        0) {
        c->oom = 1;
        return TRAWL_ENOMEM;
    }
    stok *s = &c->toks[c->n++];
    s->start = c->base + t->start;
    s->end = c->base + t->end;
    s->qid = qterm_id(c, t->term, t->len, 0);
    s->pos = c->npos;
    c->npos += t->parts == 0;
    return 0;
}

static int is_ws(unsigned char ch)
{
    return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t' ||
           ch == '\f' || ch == '\v';
}

/* The end of a piece that starts analysis up to at least `at`: the next
 * whitespace byte (ASCII, so never inside a UTF-8 sequence or a token),
 * or the end of the text. */
static size_t piece_end(const char *text, size_t len, size_t at)
{
    if (at >= len)
        return len;
    while (at < len && !is_ws((unsigned char)text[at]))
        at++;
    return at;
}

/* The matches among the tokens so far, in text order, into *ms (grown
 * on the heap): single terms and phrases. 0, or -1 out of memory. */
static int collect(const sctx *c, int (*ids)[Q_MAX_PHRASE], match **msp,
                   size_t *mcap, size_t *nmp)
{
    match *ms = *msp;
    size_t nm = 0;
    for (size_t i = 0; i < c->n; i++) {
        int qid = c->toks[i].qid;
        if (qid < 0)
            continue;
        if (c->term_leaf[qid] >= 0) {
            if (grow((void **)&ms, mcap, nm + 1, sizeof(match)) != 0) {
                *msp = ms;
                return -1;
            }
            ms[nm].start = c->toks[i].start;
            ms[nm].end = c->toks[i].end;
            ms[nm].leaf = c->term_leaf[qid];
            nm++;
        }
        for (size_t l = 0; l < c->nleaves; l++) {
            const qnode *p = c->leaves[l];
            if (p->kind != Q_PHRASE || p->slop > 0 ||
                p->field == TRAWL_FIELD_TITLE || i + p->nterms > c->n ||
                p->nterms > Q_MAX_PHRASE || ids[l][0] != qid)
                continue;
            /* word k at the position k after the first (a compound and
             * its first part stand at one position) */
            uint32_t k = 1;
            size_t at = i, j = i + 1;
            while (k < p->nterms) {
                uint32_t want = c->toks[i].pos + k;
                while (j < c->n && c->toks[j].pos < want)
                    j++;
                if (j < c->n && c->toks[j].pos == want &&
                    c->toks[j].qid != ids[l][k] && j + 1 < c->n &&
                    c->toks[j + 1].pos == want)
                    j++;
                if (j >= c->n || c->toks[j].pos != want ||
                    c->toks[j].qid != ids[l][k])
                    break;
                at = j++;
                k++;
            }
            if (k < p->nterms)
                continue;
            if (grow((void **)&ms, mcap, nm + 1, sizeof(match)) != 0) {
                *msp = ms;
                return -1;
            }
            ms[nm].start = c->toks[i].start;
            ms[nm].end = c->toks[at].end;
            ms[nm].leaf = (int)l;
            nm++;
        }
    }
    *msp = ms;
    *nmp = nm;
    return 0;
}

/* The best window of at most target bytes: the most distinct leaves,
 * then the most matches; its matches are [*bi, *bj). Returns how many
 * distinct leaves it covers (-1 without matches). */
static int best_window(const match *ms, size_t nm, size_t target,
                       size_t *bi, size_t *bj)
{
    size_t best_i = 0, best_j = 0;
    int best_distinct = -1;
    size_t best_count = 0;
    for (size_t i = 0; i < nm; i++) {
        uint64_t seen = 0;
        int distinct = 0;
        size_t j = i;
        while (j < nm && ms[j].end - ms[i].start <= target) {
            uint64_t bit = 1ull << (ms[j].leaf & 63);
            if (!(seen & bit)) {
                seen |= bit;
                distinct++;
            }
            j++;
        }
        if (j == i)
            j = i + 1; /* a single match longer than the window */
        size_t count = j - i;
        if (distinct > best_distinct ||
            (distinct == best_distinct && count > best_count)) {
            best_distinct = distinct;
            best_count = count;
            best_i = i;
            best_j = j;
        }
    }
    *bi = best_i;
    *bj = best_j;
    return best_distinct;
}

int trawl__snippet(trawl_analyzer *an, const qnode *q, const char *text,
                   size_t len, size_t target, trawl_arena *a,
                   const char **out, size_t *out_len, trawl_range **ranges,
                   size_t *nranges)
{
    snip_scratch sb;
    memset(&sb, 0, sizeof(sb));
    int rc = trawl__snippet_in(an, &sb, q, text, len, target, a, out,
                               out_len, ranges, nranges);
    trawl__snip_scratch_free(&sb);
    return rc;
}

void trawl__snip_scratch_free(snip_scratch *sb)
{
    free(sb->toks);
    free(sb->ms);
    free(sb->ids);
    memset(sb, 0, sizeof(*sb));
}

int trawl__snippet_in(trawl_analyzer *an, snip_scratch *sb, const qnode *q,
                      const char *text, size_t len, size_t target,
                      trawl_arena *a, const char **out, size_t *out_len,
                      trawl_range **ranges, size_t *nranges)
{
    const qnode *leaves[Q_MAX_LEAVES * 2];
    sctx c;
    memset(&c, 0, sizeof(c));
    c.toks = sb->toks;
    c.cap = sb->toks_cap;
    c.leaves = leaves;
    c.nleaves = trawl__query_leaves(q, leaves, Q_MAX_LEAVES * 2);
    *out = "";
    *out_len = 0;
    *ranges = NULL;
    *nranges = 0;
    /* per leaf, its words' query term ids (in sb: up to 512 leaves) */
    if (grow(&sb->ids, &sb->ids_cap, c.nleaves ? c.nleaves : 1,
             sizeof(int[Q_MAX_PHRASE])) != 0)
        return TRAWL_ENOMEM;
    int(*ids)[Q_MAX_PHRASE] = sb->ids;
    /* Query terms that can match the body: a TERM highlights alone, a
     * "near" query's words one by one, a phrase only as a whole. A near
     * query's words count as distinct items for the window, as the
     * words of an AND do (a number past the leaves': nleaves + the
     * term's id): the window that holds them together wins over the
     * first occurrence of one of them, which may be nowhere near the
     * others ('"free trade"~3' showed a lone "free"). */
    for (size_t l = 0; l < c.nleaves; l++) {
        const qnode *p = leaves[l];
        if (p->field == TRAWL_FIELD_TITLE)
            continue;
        for (uint32_t k = 0; k < p->nterms && k < Q_MAX_PHRASE; k++) {
            int id = qterm_id(&c, p->terms[k], p->lens[k], 1);
            ids[l][k] = id;
            if (id >= 0 && c.term_leaf[id] < 0 &&
                (p->kind == Q_TERM || p->slop > 0))
                c.term_leaf[id] =
                    p->kind == Q_TERM ? (int)l : (int)c.nleaves + id;
        }
    }
    /* The leaves a window can cover (as bits, the way windows count
     * them): terms that highlight alone, and exact phrases in the body. */
    uint64_t can = 0;
    for (int id = 0; id < c.nq; id++)
        if (c.term_leaf[id] >= 0)
            can |= 1ull << (c.term_leaf[id] & 63);
    for (size_t l = 0; l < c.nleaves; l++) {
        const qnode *p = leaves[l];
        if (p->kind != Q_PHRASE || p->slop > 0 ||
            p->field == TRAWL_FIELD_TITLE || p->nterms > Q_MAX_PHRASE)
            continue;
        uint32_t k = 0;
        while (k < p->nterms && ids[l][k] >= 0)
            k++;
        if (k == p->nterms)
            can |= 1ull << (l & 63);
    }
    int need = __builtin_popcountll(can);

    int rc = 0;
    match *ms = sb->ms;
    size_t nm = 0, mcap = sb->ms_cap, best_i = 0, best_j = 0, done = 0;
    for (;;) {
        size_t to = piece_end(text, len, done == 0 ? SNIP_FIRST : 2 * done);
        c.base = done;
        if (trawl_analyze(an, text + done, to - done, on_tok, &c) != 0 ||
            c.oom) {
            rc = TRAWL_ENOMEM;
            goto done;
        }
        done = to;
        if (collect(&c, ids, &ms, &mcap, &nm) < 0) {
            rc = TRAWL_ENOMEM;
            goto done;
        }
        int distinct = best_window(ms, nm, target, &best_i, &best_j);
        if (done >= len || done >= SNIP_ANY ||
            (nm > 0 && done >= SNIP_MATCHED))
            break;
        if (nm > 0 && distinct >= need &&
            ms[best_j - 1].end + target <= done)
            break;
    }

    /* Window bytes: center the matches, then snap to token boundaries. */
    size_t ws = 0, we = len < target ? len : target;
    if (nm > 0) {
        size_t ms0 = ms[best_i].start, me0 = ms[best_j - 1].end;
        size_t span = me0 - ms0;
        size_t slack = span < target ? target - span : 0;
        size_t before = slack / 3;
        ws = ms0 > before ? ms0 - before : 0;
        we = ws + (span > target ? span : target);
        if (we > len) {
            size_t over = we - len;
            we = len;
            ws = ws > over ? ws - over : 0;
        }
    }
    /* Snap: start at the first token starting at or after ws (unless ws
     * is 0), end after the last token ending at or before we; not inside
     * a word that letters and digits split ("iPhone5s"). */
    if (ws > 0) {
        size_t k = 0;
        while (k < c.n && (c.toks[k].start < ws ||
                           trawl__inside_word(text, len, c.toks[k].start)))
            k++;
        ws = k < c.n ? c.toks[k].start : len;
        if (nm > 0 && ws > ms[best_i].start)
            ws = ms[best_i].start;
    }
    if (we < len) {
        size_t k = c.n;
        while (k > 0 && (c.toks[k - 1].end > we ||
                         trawl__inside_word(text, len, c.toks[k - 1].end)))
            k--;
        size_t e = k > 0 ? c.toks[k - 1].end : we;
        if (e > ws)
            we = e;
        /* No token ends in the window (a run of symbols or other
         * characters that are not words): cut between characters, not
         * inside one. */
        while (we > ws && ((unsigned char)text[we] & 0xc0) == 0x80)
            we--;
        if (nm > 0 && we < ms[best_j - 1].end)
            we = ms[best_j - 1].end;
    }
    if (we < ws)
        we = ws;

    /* Copy with whitespace collapsed, mapping match offsets. */
    size_t o = 0, nr = 0, mi = 0, mend;
    while (mi < nm && ms[mi].start < ws)
        mi++;
    for (mend = mi; mend < nm && ms[mend].start < we; mend++)
        ;
    /* ranges for the matches in the window only, not all of the body's */
    char *buf = trawl_arena_alloc(a, we - ws + 1);
    trawl_range *rg = trawl_arena_alloc(
        a, (mend > mi ? mend - mi : 1) * sizeof(*rg));
    if (buf == NULL || rg == NULL) {
        rc = TRAWL_ENOMEM;
        goto done;
    }
    size_t i = ws;
    while (i < we && is_ws((unsigned char)text[i]))
        i++;
    /* A range ends where its match's last byte lands in the copy: a
     * phrase across collapsed whitespace ("north\r\nkorea", blank lines,
     * indentation) is shorter in the snippet than in the body. */
    size_t open_end = 0; /* body end of the last range while open */
    for (; i < we; i++) {
        while (mi < nm && ms[mi].start == i) {
            if (ms[mi].end <= we) {
                if (open_end > i) {
                    /* overlapping (a phrase containing a term, two
                     * phrases sharing a word): one range over both */
                    if (ms[mi].end > open_end)
                        open_end = ms[mi].end;
                } else {
                    rg[nr].start = (uint32_t)o;
                    rg[nr].end = (uint32_t)o;
                    nr++;
                    open_end = ms[mi].end;
                }
            }
            mi++;
        }
        unsigned char ch = (unsigned char)text[i];
        if (is_ws(ch)) {
            if (o > 0 && buf[o - 1] != ' ')
                buf[o++] = ' ';
        } else {
            buf[o++] = (char)ch;
        }
        if (open_end == i + 1) {
            rg[nr - 1].end = (uint32_t)o;
            open_end = 0;
        }
    }
    if (open_end > 0) /* not reached: matches end inside the window */
        rg[nr - 1].end = (uint32_t)o;
    while (o > 0 && buf[o - 1] == ' ')
        o--;
    buf[o] = '\0';
    for (size_t k = 0; k < nr; k++)
        if (rg[k].end > o)
            rg[k].end = (uint32_t)o;
    *out = buf;
    *out_len = o;
    *ranges = rg;
    *nranges = nr;
    rc = 0;
done:
    sb->toks = c.toks;
    sb->toks_cap = c.cap;
    sb->ms = ms;
    sb->ms_cap = mcap;
    /* kept for the next snippet, unless a long body made them large */
    if (c.cap * sizeof(stok) + mcap * sizeof(match) > SNIP_KEEP)
        trawl__snip_scratch_free(sb);
    return rc;
}

/*
 * The word-coded store (format 11, wordcode.h): blocks of any bytes read
 * back exactly, whatever the sample the code was built from; damaged
 * codes and blocks are rejected as corrupt, never a crash or an
 * overread; the writer's guard keeps zstd where the word code loses; an
 * index of both kinds of segments reads, checks and merges; the writer
 * counts the code in its memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

#include "format.h"
#include "internal.h"
#include "seg.h"
#include "segfile.h"
#include "testutil.h"
#include "trawl/arena.h"
#include "trawl/index.h"
#include "trawl/writer.h"
#include "wordcode.h"

/* ---- records and blocks ------------------------------------------------ */

/* A block: records of STORED_BODY_N fields (NULL = absent). */
typedef struct blk {
    trawl_buf b;
} blk;

static void put_field(trawl_buf *b, const void *p, size_t n)
{
    trawl__store_put_field(b, p, n);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
    return tu_xorshift(&rng, n);
}

/* Encode raw block [p, p + n) with m, decode it with the code m writes:
 * the same bytes. Returns the coded size. */
static size_t round_trip(const wc_model *m, const wc_code *c,
                         const unsigned char *p, size_t n)
{
    trawl_buf z = TRAWL_BUF_INIT, out = TRAWL_BUF_INIT;
    assert_int_equal(trawl__wc_encode(m, p, n, &z), 0);
    uint64_t raw;
    assert_int_equal(trawl__wc_raw_len(z.ptr, z.len, &raw), 0);
    assert_int_equal(raw, n);
    assert_int_equal(trawl__wc_decode(c, z.ptr, z.len, &out), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.ptr, p, n);
    size_t zl = z.len;
    trawl_buf_free(&z);
    trawl_buf_free(&out);
    return zl;
}

/* The model of sample s, and the reader's code from its serialized
 * bytes (in *ser when not NULL). */
static wc_model *model_of(const trawl_buf *s, wc_code **c, trawl_buf *ser)
{
    wc_model *m;
    assert_int_equal(trawl__wc_build(s->ptr, s->len, &m), 0);
    trawl_buf w = TRAWL_BUF_INIT;
    assert_int_equal(trawl__wc_write(m, &w), 0);
    assert_int_equal(trawl__wc_load(w.ptr, w.len, c), 0);
    if (ser != NULL)
        *ser = w;
    else
        trawl_buf_free(&w);
    return m;
}

/* News-like words, some punctuation, numbers. */
static void words_field(trawl_buf *f, uint32_t nwords)
{
    static const char *const w[] = {
        "the", "harbor", "council", "said", "ships", "storm", "of", "and",
        "market", "prices", "rose", "fell", "minister", "report", "week",
        "crates", "workers", "strike", "in", "port", "city", "officials"};
    for (uint32_t i = 0; i < nwords; i++) {
        if (i > 0)
            trawl_buf_put(f, " ", 1);
        const char *s = w[rnd(sizeof(w) / sizeof(w[0]))];
        trawl_buf_put(f, s, strlen(s));
        if (rnd(9) == 0)
            trawl_buf_put(f, rnd(2) ? "," : ".", 1);
        if (rnd(20) == 0) {
            char num[16];
            int k = snprintf(num, sizeof(num), " %u", rnd(100000));
            trawl_buf_put(f, num, (size_t)k);
        }
    }
}

/* Random bytes of every value, in runs that look like words, spaces and
 * punctuation as often as noise. */
static void noise_field(trawl_buf *f, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = rnd(6);
        unsigned char c = k == 0   ? ' '
                          : k == 1 ? (unsigned char)('a' + rnd(3))
                          : k == 2 ? (unsigned char)(0x80 + rnd(128))
                                   : (unsigned char)rnd(256);
        trawl_buf_put(f, &c, 1);
    }
}

/* A record: the body from fn, the other fields short, absent or empty. */
static void put_record(trawl_buf *b, const trawl_buf *body)
{
    put_field(b, body->ptr, body->len);
    uint32_t k = rnd(3);
    if (k == 0)
        put_field(b, NULL, 0);
    else if (k == 1)
        put_field(b, "", 0);
    else
        put_field(b, "Jane Doe", 8);
    put_field(b, "https://example.org/a/b?c=1", 27);
    if (rnd(2))
        put_field(b, NULL, 0);
    else
        put_field(b, "{\"k\":\"v v\"}", 11);
}

/* ---- the code alone ---------------------------------------------------- */

static void words_and_noise_round_trip(void **state)
{
    (void)state;
    trawl_buf sample = TRAWL_BUF_INIT, f = TRAWL_BUF_INIT;
    for (int i = 0; i < 200; i++) {
        trawl_buf_clear(&f);
        if (i % 5 == 4)
            noise_field(&f, 300);
        else
            words_field(&f, 200);
        put_record(&sample, &f);
    }
    wc_code *c;
    wc_model *m = model_of(&sample, &c, NULL);
    /* the sample itself, one record at a time and all at once */
    round_trip(m, c, sample.ptr, sample.len);
    /* new text: unseen words, every byte value, after the sample */
    for (int i = 0; i < 50; i++) {
        trawl_buf b = TRAWL_BUF_INIT;
        for (int r = 0; r < 1 + i % 4; r++) {
            trawl_buf_clear(&f);
            noise_field(&f, rnd(2000));
            words_field(&f, rnd(50));
            put_record(&b, &f);
        }
        round_trip(m, c, b.ptr, b.len);
        trawl_buf_free(&b);
    }
    /* the first k records of a block alone (a get of record k - 1) */
    {
        trawl_buf z = TRAWL_BUF_INIT, out = TRAWL_BUF_INIT;
        assert_int_equal(trawl__wc_encode(m, sample.ptr, sample.len, &z), 0);
        const unsigned char *q = sample.ptr, *end = sample.ptr + sample.len;
        for (uint32_t k = 1; k <= 200; k++) {
            for (int i = 0; i < STORED_BODY_N; i++) {
                uint64_t v = 0;
                assert_int_equal(trawl__get_varint(&q, end, &v), 0);
                q += v > 0 ? v - 1 : 0;
            }
            assert_int_equal(trawl__wc_decode_upto(c, z.ptr, z.len, k, &out),
                             0);
            assert_int_equal(out.len, (size_t)(q - sample.ptr));
            assert_memory_equal(out.ptr, sample.ptr, out.len);
        }
        assert_true(q == end);
        /* past the last record: the whole block, checked to its end */
        assert_int_equal(trawl__wc_decode_upto(c, z.ptr, z.len, 201, &out), 0);
        assert_int_equal(out.len, sample.len);
        assert_int_equal(trawl__wc_decode_upto(c, z.ptr, z.len - 1, 201, &out),
                         TRAWL_ECORRUPT);
        trawl_buf_free(&z);
        trawl_buf_free(&out);
    }
    /* all 256 byte values in one field */
    trawl_buf b = TRAWL_BUF_INIT;
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    trawl_buf_clear(&f);
    trawl_buf_put(&f, all, 256);
    put_record(&b, &f);
    round_trip(m, c, b.ptr, b.len);
    /* news text codes much smaller than its bytes */
    trawl_buf_clear(&b);
    trawl_buf_clear(&f);
    words_field(&f, 2000);
    put_record(&b, &f);
    assert_true(round_trip(m, c, b.ptr, b.len) < b.len / 3);
    trawl_buf_free(&b);
    trawl_buf_free(&f);
    trawl_buf_free(&sample);
    trawl__wc_model_free(m);
    trawl__wc_code_free(c);
}

/* The implied space and the WC_TOKMAX cut: a space between two words is
 * not coded, unless the first word is a full-length piece of a longer
 * run; spaces anywhere else are. */
static void spaces_and_long_tokens(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
    } cases[] = {{"a b", 3},   {"a  b", 4}, {" a", 2},    {"a ", 2},
                 {" ", 1},     {"  ", 2},   {"a b ", 4},  {"a, b", 4},
                 {"a ,b", 4},  {"x\0y", 3}, {"\xff \xfe", 3},
                 {"\xe2\x80\x94 word \xe2\x80\x94", 12},
                 {"1 2 3", 5}, {"", 0},     {"a\nb", 3}, {"a\tb c", 5}};
    trawl_buf sample = TRAWL_BUF_INIT, b = TRAWL_BUF_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        put_field(&sample, cases[i].s, cases[i].n);
        put_field(&sample, NULL, 0);
        put_field(&sample, cases[i].s, cases[i].n);
        put_field(&sample, NULL, 0);
    }
    /* long runs: WC_TOKMAX - 1 .. 2 * WC_TOKMAX + 1 word bytes, then a
     * space and a word; and punctuation runs as long */
    for (size_t len = WC_TOKMAX - 1; len <= 2 * WC_TOKMAX + 1; len++) {
        trawl_buf f = TRAWL_BUF_INIT;
        for (size_t k = 0; k < len; k++)
            trawl_buf_putc(&f, 'a' + (int)(k % 26));
        trawl_buf_puts(&f, " next ");
        for (size_t k = 0; k < len; k++)
            trawl_buf_putc(&f, k % 2 ? '-' : ' ');
        trawl_buf_puts(&f, "end");
        put_field(&b, f.ptr, f.len);
        put_field(&b, f.ptr, len);
        put_field(&b, NULL, 0);
        put_field(&b, "", 0);
        trawl_buf_free(&f);
    }
    wc_code *c;
    wc_model *m = model_of(&sample, &c, NULL);
    round_trip(m, c, sample.ptr, sample.len);
    round_trip(m, c, b.ptr, b.len);
    trawl__wc_model_free(m);
    trawl__wc_code_free(c);
    /* the long tokens in the sample too */
    m = model_of(&b, &c, NULL);
    round_trip(m, c, b.ptr, b.len);
    round_trip(m, c, sample.ptr, sample.len);
    trawl__wc_model_free(m);
    trawl__wc_code_free(c);
    trawl_buf_free(&sample);
    trawl_buf_free(&b);
}

/* A sample without one word (or without any text at all) still makes a
 * code through which words are escaped. */
static void sample_without_words(void **state)
{
    (void)state;
    trawl_buf s1 = TRAWL_BUF_INIT, s2 = TRAWL_BUF_INIT, b = TRAWL_BUF_INIT;
    for (int i = 0; i < 100; i++) {
        put_field(&s1, "--- ... !!! ,,,", 15);
        put_field(&s1, NULL, 0);
        put_field(&s1, "?", 1);
        put_field(&s1, NULL, 0);
        for (int k = 0; k < STORED_BODY_N; k++)
            put_field(&s2, k % 2 ? NULL : "", 0);
    }
    trawl_buf f = TRAWL_BUF_INIT;
    words_field(&f, 500);
    noise_field(&f, 500);
    put_record(&b, &f);
    const trawl_buf *ss[2] = {&s1, &s2};
    for (int k = 0; k < 2; k++) {
        wc_code *c;
        wc_model *m = model_of(ss[k], &c, NULL);
        round_trip(m, c, ss[k]->ptr, ss[k]->len);
        round_trip(m, c, b.ptr, b.len);
        trawl__wc_model_free(m);
        trawl__wc_code_free(c);
    }
    trawl_buf_free(&f);
    trawl_buf_free(&s1);
    trawl_buf_free(&s2);
    trawl_buf_free(&b);
}

/* Records that do not parse are refused by the writer's side. */
static void bad_records_refused(void **state)
{
    (void)state;
    trawl_buf s = TRAWL_BUF_INIT;
    trawl_buf f = TRAWL_BUF_INIT;
    words_field(&f, 100);
    put_record(&s, &f);
    wc_model *m;
    assert_int_equal(trawl__wc_build(s.ptr, s.len - 1, &m), TRAWL_EINVAL);
    wc_code *c;
    m = model_of(&s, &c, NULL);
    trawl_buf z = TRAWL_BUF_INIT;
    assert_int_equal(trawl__wc_encode(m, s.ptr, s.len - 1, &z), TRAWL_EINVAL);
    assert_int_equal(trawl__wc_encode(m, s.ptr, 0, &z), TRAWL_EINVAL);
    trawl_buf_free(&z);
    trawl_buf_free(&f);
    trawl_buf_free(&s);
    trawl__wc_model_free(m);
    trawl__wc_code_free(c);
}

/* The uncompressed form of a serialized code (tests edit it). */
static void code_raw(const trawl_buf *ser, trawl_buf *raw)
{
    const unsigned char *p = ser->ptr + 2, *end = ser->ptr + ser->len;
    trawl_buf_clear(raw);
    trawl_buf_put_u8(raw, WC_VERSION);
    trawl_buf_put_u8(raw, 0);
    if (ser->ptr[1] == 0) {
        trawl_buf_put(raw, p, (size_t)(end - p));
        return;
    }
    uint64_t rl = 0;
    assert_int_equal(trawl__get_varint(&p, end, &rl), 0);
    assert_int_equal(trawl_buf_reserve(raw, (size_t)rl), 0);
    size_t got = ZSTD_decompress(raw->ptr + 2, (size_t)rl, p,
                                 (size_t)(end - p));
    assert_int_equal(got, rl);
    raw->len += (size_t)rl;
}

/* Damaged code tables: truncated, inconsistent counts, lengths past the
 * limit, more than a prefix code can hold (Kraft), any byte changed:
 * a corrupt error or, when the change leaves a valid code, blocks that
 * decode to their stated length or are corrupt. Never a crash. */
static void damaged_code_rejected(void **state)
{
    (void)state;
    trawl_buf s = TRAWL_BUF_INIT, f = TRAWL_BUF_INIT, ser, raw = TRAWL_BUF_INIT;
    for (int i = 0; i < 100; i++) {
        trawl_buf_clear(&f);
        words_field(&f, 100);
        put_record(&s, &f);
    }
    wc_code *c;
    wc_model *m = model_of(&s, &c, &ser);
    trawl__wc_code_free(c);
    trawl_buf z = TRAWL_BUF_INIT, out = TRAWL_BUF_INIT;
    assert_int_equal(trawl__wc_encode(m, s.ptr, s.len, &z), 0);
    code_raw(&ser, &raw);
    assert_int_equal(trawl__wc_load(raw.ptr, raw.len, &c), 0);
    trawl__wc_code_free(c);
    /* truncated, either form */
    for (size_t n = 0; n < ser.len; n += 1 + n / 8)
        assert_int_equal(trawl__wc_load(ser.ptr, n, &c), TRAWL_ECORRUPT);
    for (size_t n = 0; n < raw.len; n += 1 + n / 64)
        assert_int_equal(trawl__wc_load(raw.ptr, n, &c), TRAWL_ECORRUPT);
    /* one byte more */
    trawl_buf big = TRAWL_BUF_INIT;
    trawl_buf_put(&big, raw.ptr, raw.len);
    trawl_buf_put_u8(&big, 1);
    assert_int_equal(trawl__wc_load(big.ptr, big.len, &c), TRAWL_ECORRUPT);
    /* raw layout: ver, 0, L, varint ntok, 3 special lengths, ... */
    const unsigned char *q = raw.ptr + 3;
    uint64_t ntok;
    assert_int_equal(trawl__get_varint(&q, raw.ptr + raw.len, &ntok), 0);
    size_t spec = (size_t)(q - raw.ptr);
    /* lengths past L, Kraft above 1 */
    memcpy(big.ptr, raw.ptr, raw.len);
    big.ptr[spec] = WC_MAXLEN + 1;
    assert_int_equal(trawl__wc_load(big.ptr, raw.len, &c), TRAWL_ECORRUPT);
    memcpy(big.ptr, raw.ptr, raw.len);
    big.ptr[spec] = big.ptr[spec + 1] = big.ptr[spec + 2] = 1;
    assert_int_equal(trawl__wc_load(big.ptr, raw.len, &c), TRAWL_ECORRUPT);
    memcpy(big.ptr, raw.ptr, raw.len);
    big.ptr[raw.len - 1] = 1; /* a byte code length: 1 bit twice over */
    big.ptr[raw.len - 2] = 1;
    big.ptr[raw.len - 3] = 1;
    assert_int_equal(trawl__wc_load(big.ptr, raw.len, &c), TRAWL_ECORRUPT);
    memcpy(big.ptr, raw.ptr, raw.len);
    big.ptr[2] = 0; /* L */
    assert_int_equal(trawl__wc_load(big.ptr, raw.len, &c), TRAWL_ECORRUPT);
    big.ptr[2] = WC_MAXLEN + 1;
    assert_int_equal(trawl__wc_load(big.ptr, raw.len, &c), TRAWL_ECORRUPT);
    /* a token count the bytes cannot hold */
    trawl_buf h = TRAWL_BUF_INIT;
    trawl_buf_put(&h, raw.ptr, 3);
    trawl_buf_put_varint(&h, WC_MAXTOKENS);
    trawl_buf_put(&h, q, raw.len - (size_t)(q - raw.ptr));
    assert_int_equal(trawl__wc_load(h.ptr, h.len, &c), TRAWL_ECORRUPT);
    trawl_buf_free(&h);
    /* every byte of the raw form changed in turn */
    int loaded = 0;
    for (size_t i = 0; i < raw.len; i += 1 + i / 256) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(big.ptr, raw.ptr, raw.len);
            big.ptr[i] ^= (unsigned char)(1u << bit);
            int rc = trawl__wc_load(big.ptr, raw.len, &c);
            assert_true(rc == 0 || rc == TRAWL_ECORRUPT);
            if (rc != 0)
                continue;
            loaded++;
            rc = trawl__wc_decode(c, z.ptr, z.len, &out);
            assert_true(rc == 0 || rc == TRAWL_ECORRUPT);
            if (rc == 0)
                assert_int_equal(out.len, s.len);
            trawl__wc_code_free(c);
        }
    }
    assert_true(loaded > 0); /* token bytes can change and stay valid */
    trawl_buf_free(&big);
    trawl_buf_free(&z);
    trawl_buf_free(&out);
    trawl_buf_free(&raw);
    trawl_buf_free(&ser);
    trawl_buf_free(&f);
    trawl_buf_free(&s);
    trawl__wc_model_free(m);
}

/* Damaged blocks: a wrong stated length, bytes missing or added, any bit
 * changed: corrupt, or exactly the stated length. */
static void damaged_block_rejected(void **state)
{
    (void)state;
    trawl_buf s = TRAWL_BUF_INIT, f = TRAWL_BUF_INIT;
    for (int i = 0; i < 30; i++) {
        trawl_buf_clear(&f);
        words_field(&f, 60);
        if (i % 3 == 0)
            noise_field(&f, 40);
        put_record(&s, &f);
    }
    wc_code *c;
    wc_model *m = model_of(&s, &c, NULL);
    trawl_buf z = TRAWL_BUF_INIT, out = TRAWL_BUF_INIT, d = TRAWL_BUF_INIT;
    assert_int_equal(trawl__wc_encode(m, s.ptr, s.len, &z), 0);
    size_t hdr = (size_t)trawl__put_varint((unsigned char[10]){0}, s.len);
    /* stated length one off either way */
    for (int delta = -1; delta <= 1; delta += 2) {
        trawl_buf_clear(&d);
        trawl_buf_put_varint(&d, (uint64_t)((int64_t)s.len + delta));
        trawl_buf_put(&d, z.ptr + hdr, z.len - hdr);
        assert_int_equal(trawl__wc_decode(c, d.ptr, d.len, &out),
                         TRAWL_ECORRUPT);
    }
    /* a huge stated length is refused before any allocation */
    trawl_buf_clear(&d);
    trawl_buf_put_varint(&d, (uint64_t)1 << 40);
    trawl_buf_put(&d, z.ptr + hdr, z.len - hdr);
    assert_int_equal(trawl__wc_decode(c, d.ptr, d.len, &out), TRAWL_ECORRUPT);
    /* a byte less, a byte more (even a zero one: the bits must end in
     * the last byte) */
    assert_int_equal(trawl__wc_decode(c, z.ptr, z.len - 1, &out),
                     TRAWL_ECORRUPT);
    trawl_buf_clear(&d);
    trawl_buf_put(&d, z.ptr, z.len);
    trawl_buf_put_u8(&d, 0);
    assert_int_equal(trawl__wc_decode(c, d.ptr, d.len, &out), TRAWL_ECORRUPT);
    for (size_t n = 0; n < z.len; n++)
        assert_int_equal(trawl__wc_decode(c, z.ptr, n, &out), TRAWL_ECORRUPT);
    /* every bit */
    int bad = 0;
    for (size_t i = hdr; i < z.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            trawl_buf_clear(&d);
            trawl_buf_put(&d, z.ptr, z.len);
            d.ptr[i] ^= (unsigned char)(1u << bit);
            int rc = trawl__wc_decode(c, d.ptr, d.len, &out);
            assert_true(rc == 0 || rc == TRAWL_ECORRUPT);
            if (rc == 0)
                assert_int_equal(out.len, s.len);
            bad += rc != 0;
        }
    }
    assert_true(bad > 0);
    trawl_buf_free(&d);
    trawl_buf_free(&z);
    trawl_buf_free(&out);
    trawl_buf_free(&f);
    trawl_buf_free(&s);
    trawl__wc_model_free(m);
    trawl__wc_code_free(c);
}

/* ---- segments and indexes ---------------------------------------------- */

/* Doc i: news-like text (kind 0), ids and base64-like noise that the
 * word code cannot shrink (kind 1), or a long article of news-like text
 * (kind 2: 3,000 words, about 20 KB, one to a store block). */
static void make_doc(int kind, int i, char *id, char *title, char **body,
                     char **extra)
{
    snprintf(id, 32, "%s-%05d", kind == 1 ? "blob" : kind ? "long" : "doc",
             i);
    snprintf(title, 64, "Report %d", i);
    uint64_t st = 0x2545F4914F6CDD1Dull * (uint64_t)(i + 1) + (uint64_t)kind;
    trawl_buf b = TRAWL_BUF_INIT, e = TRAWL_BUF_INIT;
    if (kind != 1) {
        static const char *const w[] = {
            "the", "harbor", "council", "said", "ships", "storm", "of",
            "and", "market", "prices", "rose", "fell", "minister",
            "report", "week", "crates", "workers", "strike", "in", "port"};
        trawl_buf_printf(&b, "Day %d.", i);
        for (int k = 0; k < (kind ? 3000 : 300); k++)
            trawl_buf_printf(&b, " %s%s", w[tu_xorshift(&st, 20)],
                             tu_xorshift(&st, 12) ? "" : ".");
        trawl_buf_printf(&e, "{\"n\":%d}", i);
    } else {
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        trawl_buf_printf(&b, "blob %d ", i);
        for (int k = 0; k < 1500; k++)
            trawl_buf_putc(&b, b64[tu_xorshift(&st, 64)]);
        for (int k = 0; k < 8; k++)
            trawl_buf_printf(&e, "%08x-%04x ", tu_xorshift(&st, 1u << 31),
                             tu_xorshift(&st, 65536));
    }
    assert_int_equal(b.rc, 0);
    assert_int_equal(e.rc, 0);
    *body = (char *)b.ptr;
    *extra = (char *)e.ptr;
}

static void build(const char *d, int kind, int from, int to,
                  const trawl_writer_opts *o)
{
    trawl_writer *w;
    trawl_err err;
    if (trawl_writer_open(&w, d, o, &err) != 0)
        fail_msg("open: %s", err.msg);
    for (int i = from; i < to; i++) {
        char id[32], title[64], *body, *extra;
        make_doc(kind, i, id, title, &body, &extra);
        tu_add(w, id, title, body, extra, 1700000000 + i);
        free(body);
        free(extra);
    }
    if (trawl_writer_commit(w, NULL, &err) != 0)
        fail_msg("commit: %s", err.msg);
    trawl_writer_free(w);
}

static void expect_docs(const trawl_index *ix, int kind, int from, int to)
{
    trawl_arena *ar = trawl_arena_new(0);
    assert_non_null(ar);
    for (int i = from; i < to; i++) {
        char id[32], title[64], *body, *extra;
        make_doc(kind, i, id, title, &body, &extra);
        trawl_stored st;
        trawl_err err;
        if (trawl_index_get(ix, id, strlen(id), ar, &st, &err) != 0)
            fail_msg("get %s: %s", id, err.msg);
        assert_string_equal(st.body, body);
        assert_non_null(st.extra);
        assert_string_equal(st.extra, extra);
        assert_null(st.author);
        free(body);
        free(extra);
        trawl_arena_reset(ar);
    }
    trawl_arena_free(ar);
}

static int is_words(const trawl_segment *s)
{
    return s->store_words && s->sec[SEC_STORE_CODE].len > 0 &&
           s->sec[SEC_STORE_DICT].len == 0;
}

/* News-like text takes the word code, is smaller than with zstd, reads
 * back, and --check finds it sound; noise keeps zstd, and so do long
 * articles (STORE_WORDS_LONG), which zstd reads back faster. */
static void guard_picks_per_segment(void **state)
{
    (void)state;
    char a[64], b[64], z[64];
    tu_new_dir(a, "wcode");
    tu_new_dir(b, "wcode");
    tu_new_dir(z, "wcode");
    build(a, 0, 0, 1500, NULL);
    build(b, 1, 0, 600, NULL);
    char l[64];
    tu_new_dir(l, "wcode");
    build(l, 2, 0, 150, NULL);
    trawl_index *il = tu_open(l);
    assert_int_equal(il->nsegs, 1);
    assert_false(il->segs[0].store_words);
    assert_true(il->segs[0].sec[SEC_STORE_DICT].len > 0);
    expect_docs(il, 2, 0, 150);
    trawl_index_release(il);
    tu_assert_sound(l);
    tu_rm_rf(l);
    trawl__store_words = 1;
    build(z, 0, 0, 1500, NULL);
    trawl__store_words = 0;
    trawl_index *ia = tu_open(a), *ib = tu_open(b), *iz = tu_open(z);
    assert_int_equal(ia->nsegs, 1);
    assert_true(is_words(&ia->segs[0]));
    assert_false(ib->segs[0].store_words);
    assert_true(ib->segs[0].sec[SEC_STORE_DICT].len > 0);
    assert_false(iz->segs[0].store_words);
    uint64_t wa = ia->segs[0].sec[SEC_STORE].len +
                  ia->segs[0].sec[SEC_STORE_CODE].len;
    uint64_t za = iz->segs[0].sec[SEC_STORE].len +
                  iz->segs[0].sec[SEC_STORE_DICT].len;
    if (!(wa < za * 0.8))
        fail_msg("word code %llu bytes, zstd %llu", (unsigned long long)wa,
                 (unsigned long long)za);
    expect_docs(ia, 0, 0, 1500);
    expect_docs(ib, 1, 0, 600);
    trawl_index_release(ia);
    trawl_index_release(ib);
    trawl_index_release(iz);
    tu_assert_sound(a);
    tu_assert_sound(b);
    tu_rm_rf(a);
    tu_rm_rf(b);
    tu_rm_rf(z);
}

/* Segments of both kinds and of format 10 in one index: all read; the
 * merge decodes each and codes its output anew. */
static void mixed_index_merges(void **state)
{
    (void)state;
    char d[64];
    tu_new_dir(d, "wcode");
    trawl_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.keep_unseen = 1;
    trawl__segfile_format = 10;
    build(d, 0, 0, 400, &o);
    trawl__segfile_format = TRAWL_FORMAT_VERSION;
    build(d, 0, 400, 1400, &o);
    trawl__store_words = 1;
    build(d, 0, 1400, 2000, &o);
    trawl__store_words = 0;
    build(d, 1, 0, 300, &o);
    trawl_index *ix = tu_open(d);
    assert_int_equal(ix->nsegs, 4);
    assert_int_equal(ix->segs[0].version, 10);
    assert_false(ix->segs[0].store_words);
    assert_true(is_words(&ix->segs[1]));
    assert_false(ix->segs[2].store_words);
    assert_false(ix->segs[3].store_words);
    expect_docs(ix, 0, 0, 2000);
    expect_docs(ix, 1, 0, 300);
    trawl_index_release(ix);
    tu_assert_sound(d);
    o.merge = 1;
    build(d, 0, 0, 0, &o);
    ix = tu_open(d);
    assert_int_equal(ix->nsegs, 1);
    assert_true(is_words(&ix->segs[0]));
    expect_docs(ix, 0, 0, 2000);
    expect_docs(ix, 1, 0, 300);
    trawl_index_release(ix);
    tu_assert_sound(d);
    tu_rm_rf(d);
}

/* Many small runs under a small memory budget, then merges: every
 * document reads back at each step. */
static void small_runs_then_merge(void **state)
{
    (void)state;
    char d[64];
    tu_new_dir(d, "wcode");
    trawl_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.keep_unseen = 1;
    o.mem_budget = 1u << 20;
    build(d, 0, 0, 3000, &o);
    trawl_index *ix = tu_open(d);
    assert_true(ix->nsegs >= 1);
    int words = 0;
    for (uint32_t i = 0; i < ix->nsegs; i++)
        words += is_words(&ix->segs[i]);
    assert_true(words >= 1);
    expect_docs(ix, 0, 0, 3000);
    trawl_index_release(ix);
    o.merge = 1;
    build(d, 0, 3000, 3100, &o);
    ix = tu_open(d);
    assert_int_equal(ix->nsegs, 1);
    expect_docs(ix, 0, 0, 3100);
    trawl_index_release(ix);
    tu_assert_sound(d);
    tu_rm_rf(d);
}

/* Where section id lies in segment image p. */
static void section(const unsigned char *p, size_t n, uint32_t id,
                    uint64_t *off, uint64_t *len)
{
    uint64_t toc = trawl__get_u64(p + n - SEG_FOOTER);
    uint32_t nsec = trawl__get_u32(p + toc);
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *e = p + toc + 4 + (size_t)i * 32;
        if (trawl__get_u32(e) == id) {
            *off = trawl__get_u64(e + 8);
            *len = trawl__get_u64(e + 16);
            return;
        }
    }
    fail_msg("no section %u", id);
}

/* Changes in STORE_CODE or STORE that the checksums do not catch (the
 * file resealed): --check reports them or finds nothing, a get returns
 * its document or a corrupt error; never a crash. */
static void resealed_damage_reported(void **state)
{
    (void)state;
    char d[64];
    tu_new_dir(d, "wcode");
    build(d, 0, 0, 600, NULL);
    char *path = tu_seg_path(d);
    size_t n;
    unsigned char *orig = tu_slurp(path, &n);
    unsigned char *img = malloc(n);
    assert_non_null(img);
    uint64_t seed = 88172645463325252ull;
    const uint32_t secs[] = {SEC_STORE_CODE, SEC_STORE};
    for (int k = 0; k < 2; k++) {
        uint64_t off = 0, len = 0;
        section(orig, n, secs[k], &off, &len);
        assert_true(len > 0);
        int found = 0, tries = 40;
        for (int t = 0; t < tries; t++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            memcpy(img, orig, n);
            img[off + seed % len] ^= (unsigned char)(1u << (seed >> 60 & 7));
            tu_reseal(img, n);
            tu_spit(path, img, n);
            char *rep = NULL;
            trawl_err err;
            int rc = trawl_index_check(d, &rep, &err);
            assert_true(rc == 0 || rc == TRAWL_ECORRUPT);
            found += rc != 0;
            free(rep);
            trawl_index *ix;
            if (trawl_index_open(&ix, d, &err) == 0) {
                trawl_arena *ar = trawl_arena_new(0);
                for (int i = 0; i < 600; i += 37) {
                    char id[32];
                    snprintf(id, sizeof(id), "doc-%05d", i);
                    trawl_stored st;
                    rc = trawl_index_get(ix, id, strlen(id), ar, &st, &err);
                    assert_true(rc == 0 || rc == TRAWL_ECORRUPT);
                }
                trawl_arena_free(ar);
                trawl_index_release(ix);
            }
        }
        /* a changed code or block shows in most cases */
        if (found < tries / 2)
            fail_msg("section %u: %d of %d noticed", secs[k], found, tries);
    }
    tu_spit(path, orig, n);
    tu_assert_sound(d);
    free(img);
    free(orig);
    free(path);
    tu_rm_rf(d);
}

/* The writer counts the word code's tables in its memory. */
static void code_memory_counted(void **state)
{
    (void)state;
    char d[64];
    tu_new_dir(d, "wcode");
    char path[128];
    snprintf(path, sizeof(path), "%s/store.tmp", d);
    segfile f;
    trawl_err err;
    assert_int_equal(trawl__segfile_open(&f, path, &err), 0);
    f.nosync = 1;
    seg_store st;
    assert_int_equal(trawl__store_init(&st, &err), 0);
    trawl__segfile_begin(&f, SEC_STORE);
    for (int i = 0; st.wc == NULL && i < 5000; i++) {
        char id[32], title[64], *body, *extra;
        make_doc(0, i, id, title, &body, &extra);
        trawl_buf r = TRAWL_BUF_INIT;
        trawl__store_put_field(&r, body, strlen(body));
        for (int k = 1; k < STORED_BODY_N; k++)
            trawl__store_put_field(&r, NULL, 0);
        uint32_t b, s;
        assert_int_equal(trawl__store_add(&st, (const unsigned char *)"\x01\x01",
                                          2, r.ptr, r.len, &b, &s, &err),
                         0);
        if (st.block.len >= STORE_BLOCK)
            assert_int_equal(trawl__store_flush(&st, &f, &err), 0);
        trawl_buf_free(&r);
        free(body);
        free(extra);
    }
    assert_non_null(st.wc);
    size_t cm = trawl__wc_model_mem(st.wc);
    assert_true(cm > 0);
    size_t with = trawl__store_mem(&st);
    wc_model *wc = st.wc;
    st.wc = NULL;
    size_t without = trawl__store_mem(&st);
    st.wc = wc;
    assert_int_equal(with - without, cm);
    trawl__segfile_end(&f);
    trawl__store_free(&st);
    trawl__segfile_abort(&f);
    tu_rm_rf(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(words_and_noise_round_trip),
        cmocka_unit_test(spaces_and_long_tokens),
        cmocka_unit_test(sample_without_words),
        cmocka_unit_test(bad_records_refused),
        cmocka_unit_test(damaged_code_rejected),
        cmocka_unit_test(damaged_block_rejected),
        cmocka_unit_test(guard_picks_per_segment),
        cmocka_unit_test(mixed_index_merges),
        cmocka_unit_test(small_runs_then_merge),
        cmocka_unit_test(resealed_damage_reported),
        cmocka_unit_test(code_memory_counted),
    };
    return cmocka_run_group_tests_name("wordcode", tests, NULL, NULL);
}

/*
 * The PFor block codec and the compact list codec: round trips over edge
 * cases and random data, and damaged input rejected without reading past
 * the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"

static uint64_t rng = 12345;

static uint32_t rnd32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void roundtrip(const uint32_t *in, uint32_t n)
{
    unsigned char buf[CODEC_BOUND(CODEC_MAX) + 16];
    uint32_t out[CODEC_MAX + 1];
    size_t len = trawl__codec_encode(in, n, buf);
    assert_true(len <= CODEC_BOUND(n));
    out[n] = 0xdeadbeef;
    size_t got = trawl__codec_decode(buf, buf + len, out, n);
    assert_int_equal(got, len);
    assert_memory_equal(in, out, n * sizeof(uint32_t));
    assert_int_equal(out[n], 0xdeadbeef);
    /* Every truncation is rejected (or, for b = 0 runs, needs no bytes). */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(trawl__codec_decode(buf, buf + cut, out, n), 0);
}

static void codec_roundtrips_edges(void **state)
{
    (void)state;
    uint32_t v[CODEC_MAX];
    uint32_t sizes[] = {0, 1, 2, 7, 8, 127, 128, 129, 255, 256};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        uint32_t n = sizes[s];
        memset(v, 0, sizeof(v));
        roundtrip(v, n);
        for (uint32_t i = 0; i < n; i++)
            v[i] = 1;
        roundtrip(v, n);
        for (uint32_t i = 0; i < n; i++)
            v[i] = UINT32_MAX;
        roundtrip(v, n);
        for (uint32_t i = 0; i < n; i++)
            v[i] = i % 5 == 0 ? UINT32_MAX - i : i;
        roundtrip(v, n);
        for (uint32_t i = 0; i < n; i++)
            v[i] = i == n / 2 ? 1u << 31 : 3; /* one outlier */
        roundtrip(v, n);
    }
}

static void codec_roundtrips_random(void **state)
{
    (void)state;
    uint32_t v[CODEC_MAX];
    for (int t = 0; t < 20000; t++) {
        uint32_t n = rnd32() % (CODEC_MAX + 1);
        unsigned bits = rnd32() % 33;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t x = bits == 32 ? rnd32() : rnd32() & ((1u << bits) - 1);
            if (rnd32() % 50 == 0)
                x = rnd32(); /* exceptions */
            v[i] = x;
        }
        roundtrip(v, n);
    }
}

static void codec_outliers_stay_cheap(void **state)
{
    (void)state;
    uint32_t v[128];
    unsigned char buf[CODEC_BOUND(128)];
    for (uint32_t i = 0; i < 128; i++)
        v[i] = 1 + i % 3;
    v[17] = 1000000;
    /* 2 bits each plus one exception, not 20 bits each. */
    assert_true(trawl__codec_encode(v, 128, buf) < 2 + 32 + 6);
}

static void codec_rejects_damage(void **state)
{
    (void)state;
    unsigned char buf[64];
    uint32_t out[CODEC_MAX];
    for (int t = 0; t < 100000; t++) {
        size_t len = rnd32() % sizeof(buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)rnd32();
        uint32_t n = rnd32() % (CODEC_MAX + 2);
        size_t got = trawl__codec_decode(buf, buf + len, out, n);
        assert_true(got <= len);
    }
}

/* ---- compact lists ------------------------------------------------------ */

#define CMAX 64

static size_t compact_roundtrip(const uint32_t *docs, const uint32_t *tf,
                                uint32_t n, uint32_t ndocs)
{
    unsigned char buf[COMPACT_BOUND(CMAX) + 16];
    uint32_t d[CMAX + 1], t[2 * CMAX];
    size_t len = trawl__compact_encode(docs, tf, CMAX, n, buf);
    assert_true(len <= COMPACT_BOUND(n));
    d[n] = 0xdeadbeef;
    assert_int_equal(trawl__compact_decode(buf, buf + len, n, ndocs, d, t,
                                           CMAX),
                     len);
    assert_memory_equal(d, docs, n * sizeof(uint32_t));
    assert_int_equal(d[n], 0xdeadbeef);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(t[i], tf[i]);
        assert_int_equal(t[CMAX + i], tf[CMAX + i]);
    }
    /* Every truncation is rejected; so is a last doc out of range. */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(
            trawl__compact_decode(buf, buf + cut, n, ndocs, d, t, CMAX), 0);
    if (n > 0)
        assert_int_equal(trawl__compact_decode(buf, buf + len, n,
                                               docs[n - 1], d, t, CMAX),
                         0);
    return len;
}

static void compact_roundtrips(void **state)
{
    (void)state;
    uint32_t docs[CMAX], tf[2 * CMAX];
    /* One posting, the plain case (no title, one in the body): one byte
     * for a doc below 64, two below 8192. */
    docs[0] = 63;
    tf[0] = 0;
    tf[CMAX] = 1;
    assert_int_equal(compact_roundtrip(docs, tf, 1, 64), 1);
    docs[0] = 64;
    assert_int_equal(compact_roundtrip(docs, tf, 1, 65), 2);
    docs[0] = 8191;
    assert_int_equal(compact_roundtrip(docs, tf, 1, 8192), 2);
    /* Title tf below 3 in the code byte; from 3 on one more varint. */
    docs[0] = 5;
    tf[0] = 2;
    tf[CMAX] = 31;
    assert_int_equal(compact_roundtrip(docs, tf, 1, 6), 2);
    tf[0] = 3;
    tf[CMAX] = 0;
    assert_int_equal(compact_roundtrip(docs, tf, 1, 6), 3);
    tf[0] = 1;
    tf[CMAX] = 0;
    assert_int_equal(compact_roundtrip(docs, tf, 1, 6), 2);
    /* Extremes: the largest doc and tfs, gaps of 0. */
    docs[0] = UINT32_MAX - 2;
    docs[1] = UINT32_MAX - 1;
    tf[0] = UINT32_MAX;
    tf[CMAX] = UINT32_MAX;
    tf[1] = 0;
    tf[CMAX + 1] = 1;
    compact_roundtrip(docs, tf, 2, UINT32_MAX);
    docs[0] = 0;
    for (uint32_t i = 1; i < CMAX; i++)
        docs[i] = docs[i - 1] + 1;
    for (uint32_t i = 0; i < CMAX; i++) {
        tf[i] = i % 5;
        tf[CMAX + i] = (i * 7) % 300;
    }
    compact_roundtrip(docs, tf, CMAX, CMAX);
    /* Random lists. */
    for (int r = 0; r < 2000; r++) {
        uint32_t n = 1 + rnd32() % CMAX;
        uint32_t d = rnd32() % 1000;
        for (uint32_t i = 0; i < n; i++) {
            docs[i] = d;
            d += 1 + (rnd32() % 4 == 0 ? rnd32() % 100000 : rnd32() % 50);
            uint32_t x = rnd32() % 8;
            tf[i] = x == 0 ? rnd32() % 7 : 0;
            tf[CMAX + i] = x < 5 ? (x == 0 ? 0 : 1) : rnd32() % 400;
            if (tf[i] + tf[CMAX + i] == 0)
                tf[CMAX + i] = 1;
        }
        compact_roundtrip(docs, tf, n, d);
    }
}

static void compact_rejects_damage(void **state)
{
    (void)state;
    unsigned char buf[64];
    uint32_t d[CMAX], t[2 * CMAX];
    for (int r = 0; r < 100000; r++) {
        size_t len = rnd32() % sizeof(buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)rnd32();
        uint32_t n = rnd32() % CMAX;
        uint32_t ndocs = rnd32() % 3 ? rnd32() % 5000 : UINT32_MAX;
        size_t got = trawl__compact_decode(buf, buf + len, n, ndocs, d, t,
                                           CMAX);
        assert_true(got <= len);
        for (uint32_t i = 0; got > 0 && i < n; i++) {
            assert_true(d[i] < ndocs);
            assert_true(i == 0 || d[i] > d[i - 1]);
        }
    }
    /* Over-long varints: a gap past 32 bits, a tf code past 34. */
    static const unsigned char big_gap[] = {0xff, 0xff, 0xff, 0xff, 0x3f};
    assert_int_equal(trawl__compact_decode(big_gap, big_gap + 5, 1,
                                           UINT32_MAX, d, t, CMAX),
                     0);
    static const unsigned char big_tf[] = {0x00, 0xff, 0xff, 0xff, 0xff,
                                           0x7f};
    assert_int_equal(trawl__compact_decode(big_tf, big_tf + 6, 1, 10, d, t,
                                           CMAX),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(codec_roundtrips_edges),
        cmocka_unit_test(codec_roundtrips_random),
        cmocka_unit_test(codec_outliers_stay_cheap),
        cmocka_unit_test(codec_rejects_damage),
        cmocka_unit_test(compact_roundtrips),
        cmocka_unit_test(compact_rejects_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The PFor block codec: round trips over edge cases and random data, and
 * damaged input rejected without reading past the end.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(codec_roundtrips_edges),
        cmocka_unit_test(codec_roundtrips_random),
        cmocka_unit_test(codec_outliers_stay_cheap),
        cmocka_unit_test(codec_rejects_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

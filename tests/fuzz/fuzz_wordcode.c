/*
 * libFuzzer target: the store's word code (core/src/wordcode.c, format
 * 11's STORE_CODE and word-coded STORE blocks).
 *
 * Byte 0 of the input picks the mode (its value mod 4), the rest is the
 * payload:
 *   0  round trip: the payload as text, cut into fields at '\n' (a field
 *      "\x01" is absent), four fields a record; a code is built from the
 *      first half of the records and every record, and all of them as one
 *      block, must decode to exactly its bytes
 *   1  a code and a block from the payload (u16 length of the code, the
 *      code's bytes, the block): loaded and decoded
 *   2  the payload as a block, decoded with a valid code made at start
 *   3  that code's uncompressed bytes patched by the payload (3-byte
 *      records: u16 offset, XOR byte), loaded, then a valid block of it
 *      decoded
 * A load or decode either succeeds or says TRAWL_ECORRUPT (a success
 * gives exactly the stated length); nothing may crash, read out of
 * bounds, leak or allocate without bound.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "format.h"
#include "fuzz.h"
#include "internal.h"
#include "segfile.h"
#include "trawl/status.h"
#include "wordcode.h"

static wc_code *fixed;          /* the code of the fixed sample */
static trawl_buf fixed_raw;     /* its serialized bytes, uncompressed */
static trawl_buf fixed_block;   /* the fixed sample, coded */

/* Records from text: fields cut at '\n', "\x01" absent; the last record
 * is padded with absent fields. */
static void records(const uint8_t *p, size_t n, trawl_buf *out,
                    size_t *half)
{
    size_t nf = 0, start = 0;
    *half = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '\n')
            continue;
        if (i - start == 1 && p[start] == 1)
            trawl__store_put_field(out, NULL, 0);
        else
            trawl__store_put_field(out, (const char *)p + start, i - start);
        start = i + 1;
        if (++nf % STORED_BODY_N == 0 && *half == 0 && i >= n / 2)
            *half = out->len;
    }
    while (nf % STORED_BODY_N != 0) {
        trawl__store_put_field(out, NULL, 0);
        nf++;
    }
    if (*half == 0)
        *half = out->len;
}

static void check_decode(const wc_code *c, const unsigned char *p, size_t n)
{
    trawl_buf out = TRAWL_BUF_INIT;
    uint64_t raw = 0;
    int known = trawl__wc_raw_len(p, n, &raw) == 0;
    int rc = trawl__wc_decode(c, p, n, &out);
    FUZZ_CHECK(rc == 0 || rc == TRAWL_ECORRUPT, "decode rc %d", rc);
    if (rc == 0)
        FUZZ_CHECK(known && out.len == raw, "decoded %zu of %llu", out.len,
                   (unsigned long long)raw);
    trawl_buf_free(&out);
}

static void round_trip(const wc_model *m, const wc_code *c,
                       const unsigned char *p, size_t n)
{
    trawl_buf z = TRAWL_BUF_INIT, out = TRAWL_BUF_INIT;
    int rc = trawl__wc_encode(m, p, n, &z);
    FUZZ_CHECK(rc == 0, "encode rc %d", rc);
    rc = trawl__wc_decode(c, z.ptr, z.len, &out);
    FUZZ_CHECK(rc == 0, "decode rc %d", rc);
    FUZZ_CHECK(out.len == n && memcmp(out.ptr, p, n) == 0,
               "%zu bytes back of %zu", out.len, n);
    trawl_buf_free(&z);
    trawl_buf_free(&out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char text[] =
        "The harbor council said the storm had passed, and the ships came "
        "in. Prices rose 12% in a week; officials (and workers) agreed.";
    trawl_buf s = TRAWL_BUF_INIT, ser = TRAWL_BUF_INIT;
    for (int i = 0; i < 64; i++) {
        trawl__store_put_field(&s, text, sizeof(text) - 1 - (size_t)i);
        trawl__store_put_field(&s, i % 2 ? NULL : "Jane", 4);
        trawl__store_put_field(&s, "https://example.org/", 20);
        trawl__store_put_field(&s, NULL, 0);
    }
    wc_model *m;
    if (trawl__wc_build(s.ptr, s.len, &m) != 0 ||
        trawl__wc_write(m, &ser) != 0 ||
        trawl__wc_load(ser.ptr, ser.len, &fixed) != 0 ||
        trawl__wc_encode(m, s.ptr, s.len, &fixed_block) != 0)
        abort();
    /* the uncompressed form */
    trawl_buf_put_u8(&fixed_raw, WC_VERSION);
    trawl_buf_put_u8(&fixed_raw, 0);
    const unsigned char *p = ser.ptr + 2, *end = ser.ptr + ser.len;
    if (ser.ptr[1] == 0) {
        trawl_buf_put(&fixed_raw, p, (size_t)(end - p));
    } else {
        uint64_t rl;
        if (trawl__get_varint(&p, end, &rl) != 0 ||
            trawl_buf_reserve(&fixed_raw, (size_t)rl) != 0 ||
            ZSTD_decompress(fixed_raw.ptr + 2, (size_t)rl, p,
                            (size_t)(end - p)) != rl)
            abort();
        fixed_raw.len += (size_t)rl;
    }
    trawl__wc_model_free(m);
    trawl_buf_free(&s);
    trawl_buf_free(&ser);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 4;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (mode == 0) {
        trawl_buf r = TRAWL_BUF_INIT, ser = TRAWL_BUF_INIT;
        size_t half;
        records(p, n, &r, &half);
        wc_model *m;
        wc_code *c;
        int rc = trawl__wc_build(r.ptr, half, &m);
        FUZZ_CHECK(rc == 0, "build rc %d", rc);
        FUZZ_CHECK(trawl__wc_write(m, &ser) == 0, "write");
        rc = trawl__wc_load(ser.ptr, ser.len, &c);
        FUZZ_CHECK(rc == 0, "load rc %d", rc);
        round_trip(m, c, r.ptr, r.len);
        /* record by record */
        const unsigned char *q = r.ptr, *end = r.ptr + r.len;
        while (q < end) {
            const unsigned char *rs = q;
            for (int k = 0; k < STORED_BODY_N; k++) {
                uint64_t v;
                FUZZ_CHECK(trawl__get_varint(&q, end, &v) == 0, "record");
                q += v > 0 ? v - 1 : 0;
            }
            round_trip(m, c, rs, (size_t)(q - rs));
        }
        trawl__wc_model_free(m);
        trawl__wc_code_free(c);
        trawl_buf_free(&r);
        trawl_buf_free(&ser);
    } else if (mode == 1) {
        if (n < 2)
            return 0;
        size_t cl = (size_t)p[0] | (size_t)p[1] << 8;
        if (cl > n - 2)
            cl = n - 2;
        wc_code *c;
        int rc = trawl__wc_load(p + 2, cl, &c);
        FUZZ_CHECK(rc == 0 || rc == TRAWL_ECORRUPT, "load rc %d", rc);
        if (rc == 0) {
            check_decode(c, p + 2 + cl, n - 2 - cl);
            trawl__wc_code_free(c);
        }
    } else if (mode == 2) {
        check_decode(fixed, p, n);
    } else {
        trawl_buf b = TRAWL_BUF_INIT;
        trawl_buf_put(&b, fixed_raw.ptr, fixed_raw.len);
        for (size_t i = 0; i + 3 <= n; i += 3) {
            size_t at = ((size_t)p[i] | (size_t)p[i + 1] << 8) % b.len;
            b.ptr[at] ^= p[i + 2];
        }
        wc_code *c;
        int rc = trawl__wc_load(b.ptr, b.len, &c);
        FUZZ_CHECK(rc == 0 || rc == TRAWL_ECORRUPT, "load rc %d", rc);
        if (rc == 0) {
            check_decode(c, fixed_block.ptr, fixed_block.len);
            trawl__wc_code_free(c);
        }
        trawl_buf_free(&b);
    }
    return 0;
}

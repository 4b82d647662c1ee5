/*
 * PFor block codec (see codec.h for the layout).
 */
#include "codec.h"

#include <string.h>

#include "internal.h"

static unsigned bit_len(uint32_t v)
{
    return v == 0 ? 0 : 32 - (unsigned)__builtin_clz(v);
}

/* The width that minimizes the encoded size of in[0..n); *nexc gets the
 * number of values that do not fit in it (the exceptions). */
static unsigned best_width(const uint32_t *in, uint32_t n, uint32_t *nexc)
{
    *nexc = 0;
    if (n <= 4) {
        /* Too few values for an exception to pay: the largest length. */
        uint32_t all = 0;
        for (uint32_t i = 0; i < n; i++)
            all |= in[i];
        return bit_len(all);
    }
    /* Histogram of bit lengths; the cost of width b follows from it.
     * Only widths up to the largest length are candidates. */
    uint32_t cnt[33] = {0};
    unsigned maxl = 0;
    for (uint32_t i = 0; i < n; i++) {
        unsigned l = bit_len(in[i]);
        cnt[l]++;
        if (l > maxl)
            maxl = l;
    }
    unsigned best_b = maxl;
    uint32_t best_exc = 0;
    size_t best = ((size_t)n * maxl + 7) / 8;
    for (unsigned b = 0; b < maxl; b++) {
        size_t cost = ((size_t)n * b + 7) / 8;
        uint32_t exc = 0;
        for (unsigned l = b + 1; l <= maxl && cost < best; l++) {
            exc += cnt[l];
            cost += (size_t)cnt[l] * (1 + (l - b + 6) / 7);
        }
        if (exc <= 255 && cost < best) {
            best = cost;
            best_b = b;
            best_exc = exc;
        }
    }
    *nexc = best_exc;
    return best_b;
}

size_t trawl__codec_encode(const uint32_t *in, uint32_t n, unsigned char *out)
{
    uint32_t nexc;
    unsigned b = best_width(in, n, &nexc);
    uint64_t mask = b == 32 ? 0xffffffffu : ((uint64_t)1 << b) - 1;
    unsigned char *p = out + 2;
    /* The low parts, 32 bits stored at a time (bits < 32 before each
     * value, so the 64-bit accumulator never overflows). */
    uint64_t acc = 0;
    unsigned bits = 0;
    if (b > 0) {
        for (uint32_t i = 0; i < n; i++) {
            acc |= ((uint64_t)in[i] & mask) << bits;
            bits += b;
            if (bits >= 32) {
                trawl__put_u32(p, (uint32_t)acc);
                p += 4;
                acc >>= 32;
                bits -= 32;
            }
        }
    }
    for (; bits > 0; bits = bits > 8 ? bits - 8 : 0) {
        *p++ = (unsigned char)acc;
        acc >>= 8;
    }
    for (uint32_t i = 0, left = nexc; left > 0; i++) {
        /* b < 32 here: there are exceptions */
        uint32_t v = in[i] >> b;
        if (v == 0)
            continue;
        left--;
        *p++ = (unsigned char)i;
        while (v >= 0x80) {
            *p++ = (unsigned char)(v | 0x80);
            v >>= 7;
        }
        *p++ = (unsigned char)v;
    }
    out[0] = (unsigned char)b;
    out[1] = (unsigned char)nexc;
    return (size_t)(p - out);
}

/* Values [from, n) of b bits each at q, one byte at a time (for the
 * tail, where an 8-byte load would pass the end of the input). */
static void unpack_slow(const unsigned char *q, uint32_t *out, uint32_t from,
                        uint32_t n, unsigned b)
{
    uint64_t mask = ((uint64_t)1 << b) - 1;
    for (uint32_t i = from; i < n; i++) {
        size_t bit = (size_t)i * b;
        const unsigned char *r = q + (bit >> 3);
        unsigned sh = (unsigned)(bit & 7);
        uint64_t acc = 0;
        for (unsigned k = 0; k * 8 < sh + b; k++)
            acc |= (uint64_t)r[k] << (8 * k);
        out[i] = (uint32_t)((acc >> sh) & mask);
    }
}

/* Unpack n values of b bits: each one from an unaligned 8-byte load
 * (b <= 32, so a value and its bit offset fit in 64 bits), as long as
 * the load stays inside the avail bytes at q; inlined with a constant b
 * per case below so that the loop unrolls. */
static inline __attribute__((always_inline)) void
unpack_fast(const unsigned char *q, size_t avail, uint32_t *out, uint32_t n,
            unsigned b)
{
    uint64_t mask = ((uint64_t)1 << b) - 1;
    uint32_t nfast = 0;
    if (avail >= 8) {
        /* value i loads bytes [i*b/8, i*b/8 + 8) */
        uint64_t lim = ((uint64_t)(avail - 8) * 8) / b + 1;
        nfast = lim < n ? (uint32_t)lim : n;
    }
    for (uint32_t i = 0; i < nfast; i++) {
        size_t bit = (size_t)i * b;
        uint64_t w;
        memcpy(&w, q + (bit >> 3), 8);
        out[i] = (uint32_t)((w >> (bit & 7)) & mask);
    }
    if (nfast < n)
        unpack_slow(q, out, nfast, n, b);
}

static void unpack(const unsigned char *q, size_t avail, uint32_t *out,
                   uint32_t n, unsigned b)
{
    switch (b) {
    case 0:
        memset(out, 0, (size_t)n * sizeof(*out));
        break;
#define UNPACK_CASE(B)                                                       \
    case B:                                                                  \
        unpack_fast(q, avail, out, n, B);                                    \
        break;
        UNPACK_CASE(1) UNPACK_CASE(2) UNPACK_CASE(3) UNPACK_CASE(4)
        UNPACK_CASE(5) UNPACK_CASE(6) UNPACK_CASE(7) UNPACK_CASE(8)
        UNPACK_CASE(9) UNPACK_CASE(10) UNPACK_CASE(11) UNPACK_CASE(12)
        UNPACK_CASE(13) UNPACK_CASE(14) UNPACK_CASE(15) UNPACK_CASE(16)
        UNPACK_CASE(17) UNPACK_CASE(18) UNPACK_CASE(19) UNPACK_CASE(20)
        UNPACK_CASE(21) UNPACK_CASE(22) UNPACK_CASE(23) UNPACK_CASE(24)
        UNPACK_CASE(25) UNPACK_CASE(26) UNPACK_CASE(27) UNPACK_CASE(28)
        UNPACK_CASE(29) UNPACK_CASE(30) UNPACK_CASE(31) UNPACK_CASE(32)
#undef UNPACK_CASE
    default:
        break;
    }
}

size_t trawl__codec_decode(const unsigned char *p, const unsigned char *end,
                           uint32_t *out, uint32_t n)
{
    const unsigned char *start = p;
    if (end - p < 2 || n > CODEC_MAX)
        return 0;
    unsigned b = p[0];
    unsigned nexc = p[1];
    p += 2;
    size_t packed = ((size_t)n * b + 7) / 8;
    if (b > 32 || nexc > n || (size_t)(end - p) < packed)
        return 0;
    unpack(p, (size_t)(end - p), out, n, b);
    p += packed;
    for (unsigned k = 0; k < nexc; k++) {
        if (p >= end)
            return 0;
        unsigned i = *p++;
        uint64_t v;
        if (i >= n || trawl__get_varint(&p, end, &v) != 0 || b >= 32 ||
            v > (0xffffffffu >> b))
            return 0;
        out[i] |= (uint32_t)v << b;
    }
    return (size_t)(p - start);
}

/* ---- compact lists ------------------------------------------------------ */

size_t trawl__compact_encode(const uint32_t *docs, const uint32_t *tf,
                             size_t stride, uint32_t n, unsigned char *out)
{
    unsigned char *p = out;
    int64_t prev = -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t0 = tf[i], t1 = tf[stride + i];
        uint64_t plain = t0 == 0 && t1 == 1;
        uint64_t gap = (uint64_t)((int64_t)docs[i] - prev - 1);
        p += trawl__put_varint(p, gap << 1 | plain);
        prev = docs[i];
        if (plain)
            continue;
        p += trawl__put_varint(p, (uint64_t)t1 << 2 | (t0 < 3 ? t0 : 3));
        if (t0 >= 3)
            p += trawl__put_varint(p, t0 - 3);
    }
    return (size_t)(p - out);
}

/* One varint at *pp below end, at most lim; -1 if damaged, short or
 * larger. The one-byte case first. */
static inline int get_small(const unsigned char **pp, const unsigned char *end,
                            uint64_t lim, uint64_t *out)
{
    const unsigned char *p = *pp;
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    if (trawl__get_varint(pp, end, out) != 0 || *out > lim)
        return -1;
    return 0;
}

size_t trawl__compact_decode(const unsigned char *p, const unsigned char *end,
                             uint32_t n, uint32_t ndocs, uint32_t *docs,
                             uint32_t *tf, size_t stride)
{
    const unsigned char *start = p;
    int64_t prev = -1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t gap, code, extra;
        if (get_small(&p, end, (uint64_t)UINT32_MAX << 1 | 1, &gap) != 0)
            return 0;
        prev += (int64_t)(gap >> 1) + 1;
        if (prev >= (int64_t)ndocs)
            return 0;
        docs[i] = (uint32_t)prev;
        if (gap & 1) {
            tf[i] = 0;
            tf[stride + i] = 1;
            continue;
        }
        if (get_small(&p, end, (uint64_t)UINT32_MAX << 2 | 3, &code) != 0)
            return 0;
        tf[stride + i] = (uint32_t)(code >> 2);
        tf[i] = (uint32_t)(code & 3);
        if ((code & 3) == 3) {
            if (get_small(&p, end, UINT32_MAX - 3, &extra) != 0)
                return 0;
            tf[i] = (uint32_t)extra + 3;
        }
    }
    return (size_t)(p - start);
}

void trawl__postab_put(unsigned char *out, const uint32_t *len, uint32_t n)
{
    uint64_t data = 0;
    for (uint32_t i = 0; i < n; i++)
        data += len[i];
    unsigned w = (unsigned)(trawl__postab_bytes(n, data) / (n - 1));
    uint32_t at = 0;
    for (uint32_t i = 1; i < n; i++) {
        at += len[i - 1];
        *out++ = (unsigned char)at;
        *out++ = (unsigned char)(at >> 8);
        if (w == 4) {
            *out++ = (unsigned char)(at >> 16);
            *out++ = (unsigned char)(at >> 24);
        }
    }
}

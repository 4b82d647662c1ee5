/*
 * PFor block codec (see codec.h for the layout).
 */
#include "codec.h"

#include "internal.h"

static unsigned bit_len(uint32_t v)
{
    return v == 0 ? 0 : 32 - (unsigned)__builtin_clz(v);
}

size_t trawl__codec_encode(const uint32_t *in, uint32_t n, unsigned char *out)
{
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
    size_t best = ((size_t)n * maxl + 7) / 8;
    for (unsigned b = 0; b < maxl && n > 4; b++) {
        size_t cost = ((size_t)n * b + 7) / 8;
        uint32_t exc = 0;
        for (unsigned l = b + 1; l <= maxl && cost < best; l++) {
            exc += cnt[l];
            cost += (size_t)cnt[l] * (1 + (l - b + 6) / 7);
        }
        if (exc <= 255 && cost < best) {
            best = cost;
            best_b = b;
        }
    }
    unsigned b = best_b;
    uint64_t mask = b == 32 ? 0xffffffffu : ((uint64_t)1 << b) - 1;
    unsigned char *p = out + 2;
    uint64_t acc = 0;
    unsigned bits = 0;
    uint32_t nexc = 0;
    for (uint32_t i = 0; i < n; i++) {
        acc |= ((uint64_t)in[i] & mask) << bits;
        bits += b;
        while (bits >= 8) {
            *p++ = (unsigned char)acc;
            acc >>= 8;
            bits -= 8;
        }
        if (b < 32 && (in[i] >> b) != 0)
            nexc++;
    }
    if (bits > 0)
        *p++ = (unsigned char)acc;
    for (uint32_t i = 0; i < n && nexc > 0; i++) {
        if (b >= 32 || (in[i] >> b) == 0)
            continue;
        *p++ = (unsigned char)i;
        uint32_t v = in[i] >> b;
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
    if (b == 0) {
        for (uint32_t i = 0; i < n; i++)
            out[i] = 0;
    } else {
        uint64_t mask = ((uint64_t)1 << b) - 1;
        uint64_t acc = 0;
        unsigned bits = 0;
        const unsigned char *q = p;
        for (uint32_t i = 0; i < n; i++) {
            while (bits < b) {
                acc |= (uint64_t)*q++ << bits;
                bits += 8;
            }
            out[i] = (uint32_t)(acc & mask);
            acc >>= b;
            bits -= b;
        }
    }
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

/*
 * Integer block codec for postings and positions: frame of reference bit
 * packing with patched exceptions (PFor). A run of n <= CODEC_MAX values
 * is stored as
 *
 *   u8 b          bit width of the packed low parts (0..32)
 *   u8 nexc       number of exceptions (values >= 2^b)
 *   ceil(n*b/8)   bytes: the n low parts, b bits each, least significant
 *                 bit first
 *   nexc times:   u8 index, varint (value >> b)
 *
 * b is chosen to minimize the encoded size, so a few large doc gaps or
 * positions do not widen all 128 values. Decoding is bounds-checked: a
 * damaged run is reported, never read past.
 */
#ifndef TRAWL_CODEC_H
#define TRAWL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"

#define CODEC_MAX 256
/* Largest encoding of n values: header, 32-bit packing, exceptions. */
#define CODEC_BOUND(n) (2 + (size_t)(n) * 4 + (size_t)(n) * 6)

/* Encode in[0..n) (n <= CODEC_MAX) into out; returns bytes written. */
size_t trawl__codec_encode(const uint32_t *in, uint32_t n, unsigned char *out);

/* Decode n values from [p, end) into out; returns bytes read, or 0 if the
 * input is damaged or short. */
size_t trawl__codec_decode(const unsigned char *p, const unsigned char *end,
                           uint32_t *out, uint32_t n);

/*
 * Compact posting lists (format.h, POSTINGS): n postings as, per posting,
 * varint ((doc gap - 1) << 1 | plain) (the first gap from -1), where
 * plain = 1 when tf0 = 0 and tf1 = 1 (the common case: one occurrence, in
 * the body); otherwise varint (tf1 << 2 | min(tf0, 3)) follows and, when
 * tf0 >= 3, varint (tf0 - 3). tf0 and tf1 are the title's and the body's
 * term frequencies: tf[f * stride + i] is field f's tf of posting i.
 */
#define COMPACT_BOUND(n) ((size_t)(n) * 15)

/* Encode docs[0..n) (increasing) and their tfs into out; returns bytes
 * written (at most COMPACT_BOUND(n)). */
size_t trawl__compact_encode(const uint32_t *docs, const uint32_t *tf,
                             size_t stride, uint32_t n, unsigned char *out);

/* Decode n postings from [p, end) into docs (absolute, each < ndocs) and
 * tf; returns bytes read, or 0 if the input is damaged or short. */
size_t trawl__compact_decode(const unsigned char *p, const unsigned char *end,
                             uint32_t n, uint32_t ndocs, uint32_t *docs,
                             uint32_t *tf, size_t stride);

/*
 * Offset tables of POSITIONS blocks (format 9, format.h): for a block of
 * n postings, the width of its offsets (2 or 4 bytes) or 0 when it has no
 * table, from the block's positions bytes as its skip entry gives them
 * (the table included); and, for a writer, the table's bytes for a block
 * whose positions take data bytes without it.
 */
static inline unsigned trawl__postab_width(uint32_t n, uint64_t bytes)
{
    if (n < 2 || bytes < (uint64_t)POS_TAB_MIN * n)
        return 0;
    return bytes < 65536 ? 2 : 4;
}

static inline uint64_t trawl__postab_bytes(uint32_t n, uint64_t data)
{
    if (n < 2 || data < (uint64_t)POS_TAB_MIN * n)
        return 0;
    return data + 2 * (uint64_t)(n - 1) < 65536 ? 2 * (uint64_t)(n - 1)
                                                  : 4 * (uint64_t)(n - 1);
}

/* Write the table of a block of n postings whose positions take len[i]
 * bytes each (trawl__postab_bytes(n, their sum) bytes at out, which must
 * not be 0). */
void trawl__postab_put(unsigned char *out, const uint32_t *len, uint32_t n);

/* Offset of posting i (< n) in a table of width w at tab: 0 for the
 * first. */
static inline uint32_t trawl__postab_get(const unsigned char *tab,
                                         unsigned w, uint32_t i)
{
    if (i == 0)
        return 0;
    const unsigned char *p = tab + (size_t)(i - 1) * w;
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8;
    if (w == 4)
        v |= (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return v;
}

#endif

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

#define CODEC_MAX 256
/* Largest encoding of n values: header, 32-bit packing, exceptions. */
#define CODEC_BOUND(n) (2 + (size_t)(n) * 4 + (size_t)(n) * 6)

/* Encode in[0..n) (n <= CODEC_MAX) into out; returns bytes written. */
size_t trawl__codec_encode(const uint32_t *in, uint32_t n, unsigned char *out);

/* Decode n values from [p, end) into out; returns bytes read, or 0 if the
 * input is damaged or short. */
size_t trawl__codec_decode(const unsigned char *p, const unsigned char *end,
                           uint32_t *out, uint32_t n);

#endif

/*
 * Helpers shared by the core's own files: little-endian access, varints,
 * overflow-checked arithmetic, hashing. Nothing here is public API.
 */
#ifndef TRAWL_INTERNAL_H
#define TRAWL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "trawl/status.h"

/* Every corruption check funnels through here (a breakpoint target). */
int trawl__corrupt(trawl_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline uint16_t trawl__get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t trawl__get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t trawl__get_u64(const unsigned char *p)
{
    return (uint64_t)trawl__get_u32(p) | (uint64_t)trawl__get_u32(p + 4) << 32;
}

static inline void trawl__put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void trawl__put_u64(unsigned char *p, uint64_t v)
{
    trawl__put_u32(p, (uint32_t)v);
    trawl__put_u32(p + 4, (uint32_t)(v >> 32));
}

/* Byte order of two strings (a prefix sorts first): <0, 0 or >0. */
static inline int trawl__cmp_bytes(const char *a, size_t al, const char *b,
                                   size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl;
}

/* Write v as a LEB128 varint at p (at most 10 bytes; 5 for a uint32_t);
 * returns its length. */
static inline size_t trawl__put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* The length of v as a varint. */
static inline size_t trawl__varint_len(uint32_t v)
{
    return v < (1u << 7) ? 1 : v < (1u << 14) ? 2 : v < (1u << 21) ? 3
                               : v < (1u << 28) ? 4 : 5;
}

/*
 * Decode a LEB128 varint from [*p, end). Returns 0 and advances *p, or -1
 * if the input ends early or the value exceeds 64 bits.
 */
static inline int trawl__get_varint(const unsigned char **p,
                                    const unsigned char *end, uint64_t *out)
{
    const unsigned char *q = *p;
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (q >= end)
            return -1;
        unsigned char c = *q++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            *p = q;
            return 0;
        }
    }
    return -1;
}

static inline int trawl__add_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

static inline int trawl__mul_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

uint64_t trawl__hash64(const void *p, size_t n);

/* article.c: days since 1970-01-01 of the proleptic Gregorian date y-m-d
 * (m 1..12, d 1..31), for any year. */
int64_t trawl__days_from_civil(int64_t y, int m, int d);

/* search.c: the bytes a query's materialized wide ORs may take (tests
 * lower it to read them through cursors instead). */
extern size_t trawl__search_mat_budget;

/* search.c: what a searcher's proximity reads from the index took, since
 * it was made (tests check that each way was exercised): out[0] runs of
 * positions stepped over, out[1] walks stopped past the rarer word's last
 * position, out[2] pairs read near the rarer word, out[3] bitmap reads
 * stopped past the last marked position. */
struct trawl_searcher;
void trawl__search_prox_stats(const struct trawl_searcher *s,
                              uint64_t out[4]);

/*
 * The two paths of the JSON Lines parser alone (core/src/article.c), so
 * that tests can compare them: the jansson path, which takes everything,
 * and the fast path (1: it took the line; 0: it leaves it to the slow
 * path; TRAWL_ENOMEM).
 */
struct trawl_article;
struct trawl_json_fields;
int trawl__article_parse_json_slow(struct trawl_article *out,
                                   const char *line, size_t len,
                                   trawl_err *err);
int trawl__article_parse_json_fields_slow(
    struct trawl_article *out, const char *line, size_t len,
    const struct trawl_json_fields *fields, trawl_err *err);
int trawl__article_parse_json_fields_fast(
    struct trawl_article *out, const char *line, size_t len,
    const struct trawl_json_fields *fields);

/*
 * The host of url[0, len) for site: (site.c): without scheme, user,
 * port, path and trailing dots, ASCII lower-cased, into out (at least
 * SITE_HOST_MAX bytes); its length, or 0 when there is none (empty, too
 * long, not UTF-8, white space or control bytes in it). A bare host
 * ("bbc.co.uk", "bbc.co.uk/news") is read as one.
 */
size_t trawl__site_host(const char *url, size_t len, char *out);

/* 1 if text[at] starts a part of a word split between a letter and a
 * digit ("COVID19": the "19"; analyzer 6), which a snippet does not
 * start or end at: a letter or digit before it, the other after it
 * (marks after the first do not count). 0 elsewhere, and between Han or
 * kana characters, each a word. */
int trawl__inside_word(const char *text, size_t len, size_t at);

#endif

/*
 * The PAIRS section's word list and pair term keys (see format.h).
 */
#include "pairs.h"

#include <string.h>

#include "internal.h"

int trawl__pairs_valid(const seg_section *sec)
{
    if (sec->len == 0)
        return 0;
    if (sec->len < 4)
        return -1;
    const unsigned char *p = sec->p, *end = sec->p + sec->len;
    uint32_t n = trawl__get_u32(p);
    if (n > PAIR_MAX_WORDS)
        return -1;
    p += 4;
    const unsigned char *prev = NULL;
    size_t plen = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (p >= end)
            return -1;
        size_t len = *p++;
        if (len == 0 || len > PAIR_MAX_LEN || (size_t)(end - p) < len)
            return -1;
        if (memchr(p, PAIR_MARK, len) != NULL)
            return -1;
        if (prev != NULL) {
            size_t m = plen < len ? plen : len;
            int c = memcmp(prev, p, m);
            if (c > 0 || (c == 0 && plen >= len))
                return -1;
        }
        prev = p;
        plen = len;
        p += len;
    }
    return p == end ? 0 : -1;
}

unsigned trawl__pairs_count(const seg_section *sec)
{
    return sec->len >= 4 ? trawl__get_u32(sec->p) : 0;
}

int trawl__pairs_has(const seg_section *sec, const char *w, size_t len)
{
    if (sec->len < 4 || len == 0 || len > PAIR_MAX_LEN)
        return 0;
    const unsigned char *p = sec->p + 4;
    uint32_t n = trawl__get_u32(sec->p);
    for (uint32_t i = 0; i < n; i++) {
        size_t l = *p++;
        if (l == len && memcmp(p, w, len) == 0)
            return 1;
        p += l;
    }
    return 0;
}

size_t trawl__pair_key(char *out, const char *a, size_t alen, const char *b,
                       size_t blen)
{
    if (alen == 0 || blen == 0 || alen > PAIR_MAX_LEN || blen > PAIR_MAX_LEN)
        return 0;
    out[0] = PAIR_MARK;
    memcpy(out + 1, a, alen);
    out[1 + alen] = PAIR_MARK;
    memcpy(out + 2 + alen, b, blen);
    return 2 + alen + blen;
}

/*
 * trawl_buf: growable bytes with a sticky error, plus the encoders the
 * index writer and the protocol share (little-endian, varint, JSON string).
 */
#include "trawl/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "internal.h"

uint64_t trawl__hash64(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

void trawl_buf_free(trawl_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->rc = 0;
}

void trawl_buf_clear(trawl_buf *b)
{
    b->len = 0;
    b->rc = 0;
    if (b->ptr != NULL)
        b->ptr[0] = '\0';
}

int trawl_buf_reserve(trawl_buf *b, size_t extra)
{
    if (b->rc != 0)
        return b->rc;
    size_t need;
    if (trawl__add_overflow(b->len, extra, &need) ||
        trawl__add_overflow(need, 1, &need))
        return b->rc = TRAWL_ENOMEM;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return b->rc = TRAWL_ENOMEM;
        cap *= 2;
    }
    unsigned char *p = realloc(b->ptr, cap);
    if (p == NULL)
        return b->rc = TRAWL_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return 0;
}

void trawl_buf_put(trawl_buf *b, const void *p, size_t n)
{
    if (n == 0 || trawl_buf_reserve(b, n) != 0)
        return;
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
}

void trawl_buf_puts(trawl_buf *b, const char *s)
{
    trawl_buf_put(b, s, strlen(s));
}

void trawl_buf_putc(trawl_buf *b, int c)
{
    unsigned char ch = (unsigned char)c;
    trawl_buf_put(b, &ch, 1);
}

void trawl_buf_printf(trawl_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    if (b->rc != 0)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->rc = TRAWL_EINVAL;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        trawl_buf_put(b, small, (size_t)n);
        return;
    }
    if (trawl_buf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void trawl_buf_put_u8(trawl_buf *b, uint8_t v)
{
    trawl_buf_put(b, &v, 1);
}

void trawl_buf_put_u16le(trawl_buf *b, uint16_t v)
{
    unsigned char p[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    trawl_buf_put(b, p, 2);
}

void trawl_buf_put_u32le(trawl_buf *b, uint32_t v)
{
    unsigned char p[4];
    trawl__put_u32(p, v);
    trawl_buf_put(b, p, 4);
}

void trawl_buf_put_u64le(trawl_buf *b, uint64_t v)
{
    unsigned char p[8];
    trawl__put_u64(p, v);
    trawl_buf_put(b, p, 8);
}

void trawl_buf_put_varint(trawl_buf *b, uint64_t v)
{
    unsigned char p[10];
    trawl_buf_put(b, p, trawl__put_varint(p, v));
}

void trawl_buf_put_json_str(trawl_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (trawl_buf_reserve(b, n + 2) != 0)
        return;
    trawl_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        trawl_buf_put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            trawl_buf_put(b, "\\\"", 2);
            break;
        case '\\':
            trawl_buf_put(b, "\\\\", 2);
            break;
        case '\n':
            trawl_buf_put(b, "\\n", 2);
            break;
        case '\r':
            trawl_buf_put(b, "\\r", 2);
            break;
        case '\t':
            trawl_buf_put(b, "\\t", 2);
            break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            trawl_buf_put(b, e, 6);
        }
        }
    }
    trawl_buf_put(b, s + run, n - run);
    trawl_buf_putc(b, '"');
}

/*
 * Growable byte buffer with a sticky error: once an append fails (ENOMEM),
 * every later append is a no-op and buf->rc says why. Check once at the end.
 */
#ifndef TRAWL_BUF_H
#define TRAWL_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct trawl_buf {
    unsigned char *ptr; /* bytes; NUL-terminated when len < cap */
    size_t len;         /* bytes used */
    size_t cap;         /* bytes allocated */
    int rc;             /* 0, or the first error */
} trawl_buf;

#define TRAWL_BUF_INIT {NULL, 0, 0, 0}

void trawl_buf_free(trawl_buf *b);
void trawl_buf_clear(trawl_buf *b); /* len = 0, rc = 0, keeps memory */
int trawl_buf_reserve(trawl_buf *b, size_t extra);
void trawl_buf_put(trawl_buf *b, const void *p, size_t n);
void trawl_buf_puts(trawl_buf *b, const char *s);
void trawl_buf_putc(trawl_buf *b, int c);
void trawl_buf_printf(trawl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void trawl_buf_put_u8(trawl_buf *b, uint8_t v);
void trawl_buf_put_u16le(trawl_buf *b, uint16_t v);
void trawl_buf_put_u32le(trawl_buf *b, uint32_t v);
void trawl_buf_put_u64le(trawl_buf *b, uint64_t v);
void trawl_buf_put_varint(trawl_buf *b, uint64_t v);
/* Append s as a JSON string literal (with quotes), escaping as needed. s
 * must be valid UTF-8. */
void trawl_buf_put_json_str(trawl_buf *b, const char *s, size_t n);

#endif

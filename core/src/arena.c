/*
 * Bump allocator: a chain of blocks, each carved front to back. Large
 * requests get a block of their own.
 */
#include "trawl/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct block {
    struct block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    max_align_t data[];
} block;

struct trawl_arena {
    block *head;       /* current block (first in the chain) */
    block *spare;      /* empty blocks kept by reset for reuse */
    size_t block_size; /* default usable size of a new block */
    size_t footprint;  /* bytes malloc'd */
};

trawl_arena *trawl_arena_new(size_t block_size)
{
    trawl_arena *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->block_size = block_size < 1024 ? 1024 : block_size;
    return a;
}

void trawl_arena_free(trawl_arena *a)
{
    if (a == NULL)
        return;
    for (int pass = 0; pass < 2; pass++) {
        block *b = pass == 0 ? a->head : a->spare;
        while (b != NULL) {
            block *n = b->next;
            free(b);
            b = n;
        }
    }
    free(a);
}

/* Blocks kept across resets, so that a query loop reuses warm memory
 * instead of paying page faults for fresh allocations every time. */
#define ARENA_KEEP ((size_t)8 << 20)

void trawl_arena_reset(trawl_arena *a)
{
    if (a == NULL || a->head == NULL)
        return;
    /* Keep normal-sized blocks up to ARENA_KEEP bytes; free the rest. */
    block *keep = a->spare, *b = a->head;
    size_t kept = 0;
    for (block *k = keep; k != NULL; k = k->next)
        kept += k->size;
    while (b != NULL) {
        block *n = b->next;
        if (b->size == a->block_size && kept + b->size <= ARENA_KEEP) {
            b->used = 0;
            b->next = keep;
            keep = b;
            kept += b->size;
        } else {
            a->footprint -= sizeof(block) + b->size;
            free(b);
        }
        b = n;
    }
    a->head = NULL;
    a->spare = keep;
}

void *trawl_arena_alloc(trawl_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - 64)
        return NULL;
    n = (n + 15) & ~(size_t)15;
    block *b = a->head;
    if ((b == NULL || b->size - b->used < n) && a->spare != NULL &&
        a->spare->size >= n) {
        /* Reuse a block kept by reset. */
        block *nb = a->spare;
        a->spare = nb->next;
        nb->used = 0;
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    if (b == NULL || b->size - b->used < n) {
        size_t size = n > a->block_size ? n : a->block_size;
        block *nb = malloc(sizeof(block) + size);
        if (nb == NULL)
            return NULL;
        nb->size = size;
        nb->used = 0;
        a->footprint += sizeof(block) + size;
        if (b != NULL && size > a->block_size && b->size - b->used >= 256) {
            /* A big one-off: keep the current block in front. */
            nb->next = b->next;
            b->next = nb;
            nb->used = n;
            return (char *)nb->data;
        }
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

void *trawl_arena_calloc(trawl_arena *a, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n))
        return NULL;
    void *p = trawl_arena_alloc(a, n);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}

char *trawl_arena_strndup(trawl_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = trawl_arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    if (len > 0)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

size_t trawl_arena_footprint(const trawl_arena *a)
{
    return a->footprint;
}

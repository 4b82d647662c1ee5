/*
 * Bump allocator for things that die together: one query's AST, cursors,
 * heap, hits and snippets; one flush's term table. Memory is released only
 * by trawl_arena_reset() or trawl_arena_free().
 */
#ifndef TRAWL_ARENA_H
#define TRAWL_ARENA_H

#include <stddef.h>

typedef struct trawl_arena trawl_arena;

/* A new arena whose blocks are at least block_size bytes; NULL on ENOMEM. */
trawl_arena *trawl_arena_new(size_t block_size);

/* Free the arena and everything allocated from it. Accepts NULL. */
void trawl_arena_free(trawl_arena *a);

/* Release every allocation but keep the first block for reuse. */
void trawl_arena_reset(trawl_arena *a);

/* n bytes aligned to 16, or NULL on ENOMEM (or overflow). */
void *trawl_arena_alloc(trawl_arena *a, size_t n);

/* n zeroed bytes, or NULL. */
void *trawl_arena_calloc(trawl_arena *a, size_t count, size_t size);

/* A NUL-terminated copy of s[0..len), or NULL. */
char *trawl_arena_strndup(trawl_arena *a, const char *s, size_t len);

/* Bytes currently allocated from the system by this arena. */
size_t trawl_arena_footprint(const trawl_arena *a);

#endif

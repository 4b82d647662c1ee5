/*
 * A JSON Lines file read as a stream of bytes: plain, gzip (`.jsonl.gz`:
 * one member or several, as pigz and bgzip write them) or zstd
 * (`.jsonl.zst`: one frame or several). News dumps are shipped
 * compressed; a corpus larger than the disk's free space can be indexed
 * without unpacking it.
 */
#ifndef TRAWL_INDEXER_SOURCE_H
#define TRAWL_INDEXER_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum { SRC_PLAIN, SRC_GZIP, SRC_ZSTD };

typedef struct src src;

/* The compression a file name says (SRC_PLAIN when none). */
int src_kind_of(const char *name);

/* Read fd (not owned) as `kind`. NULL when out of memory. */
src *src_open(int fd, int kind);

/*
 * Up to cap bytes of the uncompressed stream into buf: the count, 0 at
 * its end, or -1 with a reason in *why (static or in the src; "read
 * error: ..." for I/O, or what is wrong with the compressed data: damaged,
 * cut short). What was decompressed before damage is given first, the
 * error at the next call. Zero bytes after the last gzip member (padding)
 * end the stream as gzip -d has it.
 */
ssize_t src_read(src *s, void *buf, size_t cap, const char **why);

/* Bytes of the file consumed so far (compressed bytes). */
uint64_t src_consumed(const src *s);

void src_close(src *s); /* accepts NULL */

#endif

/*
 * Merging segments: N mapped segments, each with a deletion bitmap, become
 * one new segment file holding their live documents in the same order
 * (segment by segment, doc by doc), with postings re-encoded exactly as
 * the writer encodes them. Used by the writer's merge policy and --merge.
 */
#ifndef TRAWL_MERGE_H
#define TRAWL_MERGE_H

#include <stdint.h>

#include "seg.h"
#include "trawl/status.h"

typedef struct merge_in {
    const trawl_segment *seg;
    const unsigned char *del; /* deletion bitmap, or NULL: none deleted */
} merge_in;

typedef struct merge_out {
    uint32_t ndocs;  /* live docs written */
    uint64_t nterms; /* terms with at least one live posting */
    uint64_t bytes;  /* file size */
} merge_out;

/*
 * Write the merge of in[0..n) to path (not fsynced: the caller syncs and
 * renames what it keeps).
 * Memory stays small whatever the inputs' size: a doc-id map (4 bytes per
 * input doc), the dictionary being built, one term's postings, and one
 * store block; the inputs' pages are dropped from the resident set as they
 * are consumed. A merge whose inputs' PAIRS differ also holds the pair
 * terms it builds again, up to a cap (half the inputs' postings and
 * positions plus 4 MiB, at most 256 MiB; more takes further passes), and
 * 4 bytes per output document. On error the partial file is removed.
 */
int trawl__merge(const char *path, const merge_in *in, uint32_t n,
                 const char *language, merge_out *out, trawl_err *err);

#endif

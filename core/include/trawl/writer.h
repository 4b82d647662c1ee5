/*
 * Building an index: the writer inverts articles in memory, writes an
 * immutable segment, and commits a new generation atomically (files
 * fsynced, then CURRENT renamed into place, then the directory fsynced).
 * One writer at a time per index directory (flock on DIR/LOCK).
 */
#ifndef TRAWL_WRITER_H
#define TRAWL_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/status.h"

typedef struct trawl_writer trawl_writer;

typedef struct trawl_writer_opts {
    const char *language; /* stemmer; NULL = the index's, or "english" */
    size_t mem_budget;    /* bytes held in memory before a run is flushed;
                             0 = default (512 MiB) */
    int full;             /* 1: ignore the existing index, rebuild everything */
    int merge;            /* 1: merge everything into one segment on commit */
    int keep_unseen;      /* 1: articles of the old generation that were not
                             added in this run stay (add-only update); 0: they
                             are deleted (the run describes the whole corpus) */
    int threads;          /* 1: analyze on the caller's thread; otherwise
                             (0, the default) on a second thread, so that
                             parsing and analysis use two cores. The index
                             written is the same either way. */
    int no_pairs;         /* 1: this run's segments get no pair terms of
                             common words (a slightly smaller index, slower
                             phrases of common words; see docs/index-format.md).
                             A later merge of them builds pair terms for
                             its output (when it has 100 or more live
                             documents), like a merge of any segments
                             whose word lists differ. */
} trawl_writer_opts;

typedef struct trawl_writer_stats {
    uint64_t generation; /* the generation committed */
    uint64_t docs;       /* live documents in the new generation */
    uint64_t added;      /* new ids */
    uint64_t updated;    /* ids whose content changed */
    uint64_t unchanged;  /* ids seen with identical content */
    uint64_t deleted;    /* ids of the old generation not seen this run */
    uint64_t terms;      /* distinct terms in the new segment(s) */
    uint64_t tokens;     /* tokens analyzed */
    uint64_t input_bytes;/* bytes of article text analyzed */
    uint64_t index_bytes;/* bytes of the new generation on disk */
    uint32_t segments;   /* segments in the new generation */
    uint32_t runs;       /* runs flushed because of the memory budget */
    uint32_t merges;     /* merges performed by the merge policy */
} trawl_writer_stats;

/* Progress callback, called after each added article (cheap). */
typedef struct trawl_writer_progress {
    uint64_t docs;        /* articles added so far */
    uint64_t input_bytes; /* text bytes analyzed so far */
    size_t mem;           /* bytes currently held for the next run */
} trawl_writer_progress;

/*
 * Open DIR for writing (created if missing) and take its writer lock.
 * TRAWL_ELOCKED names the pid holding the lock. TRAWL_EVERSION if the
 * existing index used another language and opts->full is not set.
 */
int trawl_writer_open(trawl_writer **out, const char *dir,
                      const trawl_writer_opts *opts, trawl_err *err);

/* Add (or replace, by id) one article. The article is copied. An id
 * added twice in one run keeps the later article. Returns 0, TRAWL_EINVAL
 * (an empty id, or text that is not valid UTF-8), TRAWL_ETOOBIG,
 * TRAWL_ENOMEM, TRAWL_EIO. */
int trawl_writer_add(trawl_writer *w, const trawl_article *a, trawl_err *err);

/*
 * Fast path for unchanged input: if the previous generation has a live
 * article with this id whose fingerprint equals `fingerprint` (a nonzero
 * hash of the raw source the caller also puts in trawl_article.fingerprint
 * when it adds), count it unchanged, keep it, and return 1: the caller
 * need not parse or add it. Returns 0 when the article must be added
 * (new, changed, --full, or already seen in this run), or a negative code.
 */
int trawl_writer_keep(trawl_writer *w, const char *id, size_t id_len,
                      uint64_t fingerprint, trawl_err *err);

/*
 * For input that names an article but cannot be indexed (a JSON line
 * without a body, a text file grown past the size limit, ...): keep the
 * previous generation's live article with this id as it is, whatever its
 * fingerprint, so that bad input loses nothing. Returns 1 if it was kept
 * (counted unchanged), 0 when there is none to keep (no such id, a full
 * rebuild, or the id was already added or kept in this run, which then
 * stands), or a negative code.
 */
int trawl_writer_keep_old(trawl_writer *w, const char *id, size_t id_len,
                          trawl_err *err);

/* 1 when trawl_writer_keep can keep anything at all (a previous
 * generation is open and this is not a full rebuild), else 0: a caller
 * may then skip finding ids for it. */
int trawl_writer_can_keep(const trawl_writer *w);

/* The counts of the previous generation the writer opened (0 if none,
 * else 1 and *out), without opening it again. */
int trawl_writer_base_info(const trawl_writer *w, trawl_index_info *out);

/* From now on, keep the previous generation's articles that this run
 * does not see (as opts.keep_unseen): for a caller that could not read
 * some of its inputs. */
void trawl_writer_keep_unseen(trawl_writer *w);

/* 1 if committing now would change the index: an article was added or
 * updated (net of a later copy of an id restoring the previous
 * generation's version), a run was flushed, there is no previous
 * generation or this is a full rebuild, or (unless unseen articles are
 * kept) an article of the previous generation was not seen, which the
 * commit would delete. 0 when the commit would write the previous
 * generation's documents again. so_far (may be NULL) gets the counts of
 * articles added, updated and unchanged so far. */
int trawl_writer_changed(const trawl_writer *w, trawl_writer_stats *so_far);

/* 1 if name (a file name in an index directory) has the form of a file
 * the writer makes: gen-N.man, seg-N-M.trs (seg-N.trs in early indexes),
 * CURRENT, each possibly with .tmp; the writer removes no other file.
 * 0 otherwise. */
int trawl_writer_file_name(const char *name);

/* Write everything, commit a new generation, fill stats (may be NULL). */
int trawl_writer_commit(trawl_writer *w, trawl_writer_stats *stats,
                        trawl_err *err);

/* Release the writer; an uncommitted build is abandoned and its temporary
 * files removed. Accepts NULL. */
void trawl_writer_free(trawl_writer *w);

#endif

/*
 * A read-only view of one committed generation of an index directory.
 *
 * trawl_index_open() reads CURRENT, maps every segment file of that
 * generation read-only, and verifies headers, versions, checksums and
 * structure before returning; a corrupt or truncated file is refused with
 * TRAWL_ECORRUPT and a message naming the file. An open index is immutable
 * and may be shared by any number of threads. It is reference counted:
 * trawl_index_retain() / trawl_index_release() (release of the last
 * reference closes it).
 */
#ifndef TRAWL_INDEX_H
#define TRAWL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "trawl/arena.h"
#include "trawl/status.h"

typedef struct trawl_index trawl_index;

typedef struct trawl_index_info {
    uint64_t generation; /* the generation number */
    uint64_t docs;       /* live documents */
    uint64_t deleted;    /* documents marked deleted, not yet merged away */
    uint64_t terms;      /* distinct terms (summed over segments) */
    uint64_t tokens;     /* indexed tokens, all fields */
    uint64_t bytes;      /* bytes of the generation's files */
    uint32_t segments;   /* segment count */
    char language[32];   /* stemmer */
    int64_t created;     /* commit time, seconds since the epoch */
} trawl_index_info;

/* Open the live generation of DIR (refcount 1). */
int trawl_index_open(trawl_index **out, const char *dir, trawl_err *err);

/*
 * The same, for a process that has prev (an open generation of DIR, or
 * NULL) and moves to the live one: each segment file prev holds and that
 * is still the same file (device, inode, size, modification and change
 * times) is shared with prev instead of mapped and verified again, so a
 * reload after an incremental run reads only the new files. prev is not
 * changed and may be released before or after the result.
 */
int trawl_index_reopen(trawl_index **out, const char *dir,
                       const trawl_index *prev, trawl_err *err);

/* Read the generation number named by DIR/CURRENT without opening it. */
int trawl_index_current(const char *dir, uint64_t *gen_out, trawl_err *err);

void trawl_index_retain(trawl_index *ix);
void trawl_index_release(trawl_index *ix); /* accepts NULL */

void trawl_index_info_get(const trawl_index *ix, trawl_index_info *out);

/* A stored article. Strings are NUL-terminated and live in the arena passed
 * to the call that produced them. Absent optional fields are NULL. */
typedef struct trawl_stored {
    const char *id, *title, *body, *author, *url, *extra;
    size_t id_len, title_len, body_len, author_len, url_len, extra_len;
    int64_t date; /* TRAWL_NO_DATE (INT64_MIN) when unknown */
} trawl_stored;

/* Fetch the stored article with external id (if no live article has it
 * as given, the id's NFC and then NFD forms are tried). TRAWL_ENOTFOUND if
 * none has; TRAWL_ECORRUPT. */
int trawl_index_get(const trawl_index *ix, const char *id, size_t id_len,
                    trawl_arena *arena, trawl_stored *out, trawl_err *err);

/*
 * Verify every checksum and structural invariant of the live generation of
 * DIR (more thorough than open). Problems are appended, one per line, to
 * report (malloc'd; caller frees) and the return is TRAWL_ECORRUPT if any.
 */
int trawl_index_check(const char *dir, char **report, trawl_err *err);

#endif

/*
 * Walking the paths given to trawl-index.
 *
 * trawl_walk() visits every regular file under a path (or the path itself
 * when it names a file) in a deterministic order: the entries of each
 * directory sorted bytewise, depth first. Names starting with '.' are
 * skipped below the root. Symlinks are followed, but a directory that is
 * already being walked (a symlink loop) is skipped with a note. Problems
 * with single entries (unreadable directory, dangling link) are passed to
 * the problem callback and the walk goes on.
 */
#ifndef TRAWL_INDEXER_WALK_H
#define TRAWL_INDEXER_WALK_H

#include <sys/stat.h>

typedef struct trawl_walk_entry {
    const char *path; /* the path to open (root joined with rel) */
    const char *rel;  /* path relative to the root; the basename for a
                       * root that is a file */
    const struct stat *st; /* stat() of path (symlinks followed) */
    int explicit_file; /* 1 when the root itself is this file */
} trawl_walk_entry;

/* Return 0 to continue, non-zero to stop the walk with that value. */
typedef int (*trawl_walk_file_cb)(void *payload, const trawl_walk_entry *e);

/* Called for an entry that cannot be walked: path, a reason, and the
 * errno behind it (0 for a symlink loop). */
typedef void (*trawl_walk_problem_cb)(void *payload, const char *path,
                                      const char *reason, int err);

/*
 * Walk root. Returns 0, the callback's non-zero value, or -1 with errno
 * set when root itself cannot be stat()ed or is neither a file nor a
 * directory (errno EINVAL then).
 */
int trawl_walk(const char *root, trawl_walk_file_cb on_file,
               trawl_walk_problem_cb on_problem, void *payload);

#endif

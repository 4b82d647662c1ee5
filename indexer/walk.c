/*
 * Deterministic recursive walk of the indexer's input paths (see walk.h).
 */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The directories on the current path, to notice symlink loops. */
typedef struct dir_frame {
    dev_t dev;
    ino_t ino;
    const struct dir_frame *up;
} dir_frame;

typedef struct walker {
    trawl_walk_file_cb on_file;
    trawl_walk_problem_cb on_problem;
    void *payload;
    char *path;       /* current path, grown as needed */
    size_t cap;
    size_t root_len;  /* bytes of the root prefix inside path */
} walker;

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_name(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Make w->path hold w->path[0..len) + "/" + name; 0 or -1 (ENOMEM). */
static int path_push(walker *w, size_t len, const char *name)
{
    size_t n = strlen(name);
    size_t need = len + 1 + n + 1;

    if (need > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < need)
            cap *= 2;
        char *p = realloc(w->path, cap);
        if (p == NULL)
            return -1;
        w->path = p;
        w->cap = cap;
    }
    if (len > 0 && w->path[len - 1] != '/')
        w->path[len++] = '/';
    memcpy(w->path + len, name, n + 1);
    return 0;
}

static const char *rel_of(const walker *w)
{
    const char *r = w->path + w->root_len;
    while (*r == '/')
        r++;
    return r;
}

static int walk_dir(walker *w, size_t len, const struct stat *st,
                    const dir_frame *up)
{
    for (const dir_frame *f = up; f != NULL; f = f->up) {
        if (f->dev == st->st_dev && f->ino == st->st_ino) {
            w->on_problem(w->payload, w->path,
                          "symlink loop, directory skipped", 0);
            return 0;
        }
    }
    dir_frame me = { st->st_dev, st->st_ino, up };

    struct dirent **names = NULL;
    int n = scandir(w->path, &names, skip_name, name_cmp);
    if (n < 0) {
        int e = errno;
        /* ENOENT: removed since its parent was listed, gone (a root
         * PATH that is missing was checked before the walk). */
        if (e != ENOENT)
            w->on_problem(w->payload, w->path, strerror(e), e);
        return 0;
    }

    int rc = 0;
    int i;
    for (i = 0; i < n && rc == 0; i++) {
        if (path_push(w, len, names[i]->d_name) < 0) {
            rc = -1;
            break;
        }
        size_t sub_len = strlen(w->path);
        struct stat sub;
        struct stat lsub;
        if (stat(w->path, &sub) < 0) {
            int e = errno;
            if (e != ENOENT)
                w->on_problem(w->payload, w->path, strerror(e), e);
            else if (lstat(w->path, &lsub) == 0)
                w->on_problem(w->payload, w->path,
                              "dangling symbolic link (its target does not "
                              "exist)", e);
            /* Else removed since the directory was listed (a feed that
             * prunes old articles while the run reads): gone, as if
             * listed a moment later; nothing to report. */
        } else if (S_ISDIR(sub.st_mode)) {
            rc = walk_dir(w, sub_len, &sub, &me);
        } else if (S_ISREG(sub.st_mode)) {
            trawl_walk_entry e = { w->path, rel_of(w), &sub, 0 };
            rc = w->on_file(w->payload, &e);
        }
        /* Sockets, fifos, devices: silently ignored. */
        w->path[len] = '\0';
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int trawl_walk(const char *root, trawl_walk_file_cb on_file,
               trawl_walk_problem_cb on_problem, void *payload)
{
    struct stat st;

    if (stat(root, &st) < 0)
        return -1;

    walker w = { on_file, on_problem, payload, NULL, 0, 0 };
    int rc;

    if (S_ISREG(st.st_mode)) {
        const char *base = strrchr(root, '/');
        base = base ? base + 1 : root;
        trawl_walk_entry e = { root, base, &st, 1 };
        return on_file(payload, &e);
    }
    if (!S_ISDIR(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }

    w.root_len = strlen(root);
    w.cap = w.root_len + 256;
    w.path = malloc(w.cap);
    if (w.path == NULL)
        return -1;
    memcpy(w.path, root, w.root_len + 1);
    rc = walk_dir(&w, w.root_len, &st, NULL);
    free(w.path);
    return rc;
}

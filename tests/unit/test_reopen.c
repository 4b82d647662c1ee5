/*
 * trawl_index_reopen: moving from an open generation to the next one
 * shares the segment files that stayed the same (trawld's reload reads
 * only what an incremental run added), and answers exactly as a fresh
 * open does: same hits, scores, counts and stored articles, with the new
 * generation's deletions. A file changed in place is opened (and
 * verified) again, not trusted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "seg.h"
#include "testutil.h"
#include "trawl/article.h"
#include "trawl/index.h"
#include "trawl/search.h"
#include "trawl/writer.h"

static const char *words[] = {"harbor", "storm",  "ferry", "nation",
                              "budget", "court",  "river", "market",
                              "grain",  "senate", "flood", "summit"};
#define NWORDS (sizeof(words) / sizeof(words[0]))

/* Article i: an id and a body of words picked by i. */
static void article(size_t i, char *id, size_t idcap, char *body,
                    size_t bcap)
{
    snprintf(id, idcap, "doc-%04zu", i);
    size_t len = 0;
    uint64_t x = i * 2654435761u + 7;
    for (int k = 0; k < 40; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        len += (size_t)snprintf(body + len, bcap - len, "%s%s", k ? " " : "",
                                words[(x >> 33) % NWORDS]);
    }
}

/* One writer run over articles [from, to) (the others of the previous
 * generation are kept when keep is set, else deleted). */
static void run(const char *dir, size_t from, size_t to, int keep)
{
    trawl_writer_opts o;
    memset(&o, 0, sizeof(o));
    o.keep_unseen = keep;
    trawl_writer *w;
    trawl_err err;
    assert_int_equal(trawl_writer_open(&w, dir, &o, &err), 0);
    for (size_t i = from; i < to; i++) {
        char id[32], body[512];
        article(i, id, sizeof(id), body, sizeof(body));
        tu_add(w, id, "Title", body, NULL, TRAWL_NO_DATE);
    }
    trawl_writer_stats st;
    if (trawl_writer_commit(w, &st, &err) != 0)
        fail_msg("commit: %s", err.msg);
    trawl_writer_free(w);
}

static const char *queries[] = {"harbor", "storm ferry", "\"river flood\"",
                                "court OR senate", "grain -market",
                                "summit nation budget"};

/* a and b answer every query, every count and every get alike. */
static void assert_same(const trawl_index *a, const trawl_index *b,
                        size_t ndocs)
{
    trawl_searcher *s;
    trawl_err err;
    assert_int_equal(trawl_searcher_new(&s, &err), 0);
    trawl_arena *ar = trawl_arena_new(1 << 16);
    for (size_t k = 0; k < sizeof(queries) / sizeof(queries[0]); k++) {
        trawl_query q;
        trawl_query_init(&q);
        q.q = queries[k];
        q.qlen = strlen(q.q);
        q.limit = 50;
        q.snippets = 1;
        trawl_results ra, rb;
        assert_int_equal(trawl_search(s, a, &q, ar, &ra, &err), 0);
        assert_int_equal(trawl_search(s, b, &q, ar, &rb, &err), 0);
        assert_int_equal(ra.total, rb.total);
        assert_int_equal(ra.nhits, rb.nhits);
        for (size_t i = 0; i < ra.nhits; i++) {
            assert_int_equal(ra.hits[i].id_len, rb.hits[i].id_len);
            assert_memory_equal(ra.hits[i].id, rb.hits[i].id,
                                ra.hits[i].id_len);
            assert_true(ra.hits[i].score == rb.hits[i].score);
            assert_int_equal(ra.hits[i].snippet_len, rb.hits[i].snippet_len);
        }
        uint64_t ca, cb;
        assert_int_equal(
            trawl_count(s, a, q.q, q.qlen, ar, &ca, &err), 0);
        assert_int_equal(
            trawl_count(s, b, q.q, q.qlen, ar, &cb, &err), 0);
        assert_int_equal(ca, cb);
        trawl_arena_reset(ar);
    }
    for (size_t i = 0; i < ndocs; i++) {
        char id[32], body[512];
        article(i, id, sizeof(id), body, sizeof(body));
        trawl_stored sa, sb;
        int ga = trawl_index_get(a, id, strlen(id), ar, &sa, &err);
        int gb = trawl_index_get(b, id, strlen(id), ar, &sb, &err);
        assert_int_equal(ga, gb);
        if (ga == 0) {
            assert_string_equal(sa.body, body);
            assert_string_equal(sb.body, body);
        }
        trawl_arena_reset(ar);
    }
    trawl_arena_free(ar);
    trawl_searcher_free(s);
}

/* How many of ix's segments share prev's mapping of the same file. */
static uint32_t shared_with(const trawl_index *ix, const trawl_index *prev)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < ix->nsegs; i++)
        for (uint32_t j = 0; j < prev->nsegs; j++)
            if (ix->segs[i].sh == prev->segs[j].sh) {
                assert_string_equal(ix->segs[i].name, prev->segs[j].name);
                assert_ptr_equal(ix->segs[i].map, prev->segs[j].map);
                n++;
            }
    return n;
}

static void reopen_shares_unchanged_segments(void **state)
{
    (void)state;
    char dir[64];
    tu_new_dir(dir, "reopen");
    trawl_err err;

    run(dir, 0, 300, 0);
    trawl_index *g1;
    assert_int_equal(trawl_index_open(&g1, dir, &err), 0);
    assert_int_equal(g1->nsegs, 1);

    /* an incremental run adds a segment; the first one stays */
    run(dir, 300, 400, 1);
    trawl_index *g2, *fresh;
    assert_int_equal(trawl_index_reopen(&g2, dir, g1, &err), 0);
    assert_int_equal(g2->generation, g1->generation + 1);
    assert_int_equal(g2->nsegs, 2);
    assert_int_equal(shared_with(g2, g1), 1);
    /* the previous generation may go first */
    trawl_index_release(g1);
    assert_int_equal(trawl_index_open(&fresh, dir, &err), 0);
    assert_int_equal(shared_with(fresh, g2), 0);
    assert_same(g2, fresh, 400);
    trawl_index_release(fresh);

    /* docs 0..49 deleted: the shared segment gets the new deletions */
    run(dir, 50, 400, 0);
    trawl_index *g3;
    assert_int_equal(trawl_index_reopen(&g3, dir, g2, &err), 0);
    assert_int_equal(shared_with(g3, g2), 2);
    assert_int_equal(g3->live_docs, 350);
    assert_int_equal(g2->live_docs, 400);
    assert_int_equal(trawl_index_open(&fresh, dir, &err), 0);
    assert_same(g3, fresh, 400);
    trawl_index_release(fresh);
    /* the older generation still answers as it did */
    trawl_index *again;
    assert_int_equal(trawl_index_reopen(&again, dir, g2, &err), 0);
    assert_int_equal(again->live_docs, 350);
    trawl_index_release(again);
    trawl_index_release(g2);

    /* a segment file changed in place is read and verified again: a
     * flipped byte is refused, as a fresh open refuses it */
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, g3->segs[0].name);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    off_t at = (off_t)(g3->segs[0].size / 2);
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x40;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
    trawl_index *bad;
    assert_int_equal(trawl_index_reopen(&bad, dir, g3, &err),
                     TRAWL_ECORRUPT);
    assert_non_null(strstr(err.msg, g3->segs[0].name));
    assert_int_equal(trawl_index_open(&bad, dir, &err), TRAWL_ECORRUPT);
    trawl_index_release(g3);

    tu_rm_rf(dir);
}

/* A CURRENT that is a directory is named as such, not as a file of an
 * unexpected size; a fresh open and a reopen refuse it alike. */
static void current_that_is_a_directory_is_named(void **state)
{
    (void)state;
    char dir[64], cur[96];
    tu_new_dir(dir, "reopen-cur");
    run(dir, 0, 10, 0);
    trawl_index *g1, *g2;
    trawl_err err;
    assert_int_equal(trawl_index_open(&g1, dir, &err), 0);
    snprintf(cur, sizeof(cur), "%s/CURRENT", dir);
    assert_int_equal(unlink(cur), 0);
    assert_int_equal(mkdir(cur, 0755), 0);
    assert_int_equal(trawl_index_reopen(&g2, dir, g1, &err), TRAWL_ECORRUPT);
    assert_non_null(strstr(err.msg, "CURRENT: a directory, not a file"));
    assert_int_equal(trawl_index_open(&g2, dir, &err), TRAWL_ECORRUPT);
    assert_non_null(strstr(err.msg, "a directory"));
    trawl_index_release(g1);
    tu_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reopen_shares_unchanged_segments),
        cmocka_unit_test(current_that_is_a_directory_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

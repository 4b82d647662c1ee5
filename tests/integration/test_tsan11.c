/*
 * Concurrency and lifetime checks of trawld found by running the suite
 * and a stress under ThreadSanitizer (session 11, docs/fuzzing.md): each
 * test failed, at least under TSan, before the fix it came with.
 */
#define _GNU_SOURCE /* memmem() */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* The path of the first segment file of h's current generation. */
static void first_segment(th *h, char *out, size_t cap)
{
    char cur[300];
    size_t len;

    snprintf(cur, sizeof(cur), "%s/CURRENT", h->index);
    char *name = th_read_file(cur, NULL);
    assert_non_null(name);
    name[strcspn(name, "\n")] = '\0';
    snprintf(cur, sizeof(cur), "%s/%s", h->index, name);
    free(name);
    char *man = th_read_file(cur, &len);
    assert_non_null(man);
    const char *p = memmem(man, len, "seg-", 4);
    assert_non_null(p);
    snprintf(out, cap, "%s/%.17s", h->index, p); /* seg-NNNNNN-SS.trs */
    free(man);
}

/* A request that must be answered (ok or an internal/not_found error). */
static void answered(th_conn *c, const char *line)
{
    json_t *r = th_request(c, line);
    assert_non_null(r); /* the daemon is still there */
    if (!json_is_true(json_object_get(r, "ok")))
        assert_true(strcmp(th_error_code(r), "internal") == 0 ||
                    strcmp(th_error_code(r), "not_found") == 0);
    json_decref(r);
}

/*
 * Many SIGBUS on one query thread. A query that reads a page of a
 * segment truncated under the daemon gets SIGBUS; the handler jumps back
 * to guarded() without restoring the signal mask (sigsetjmp(j, 0)). With
 * SA_NODEFER that kept SIGBUS deliverable, but a handler may run with
 * more blocked than its sa_mask says: ThreadSanitizer's wrapper blocks
 * every signal, so after the first recovered fault the thread had SIGBUS
 * blocked, and the second killed the daemon (test_robust failed under
 * TSan). guarded() now restores the thread's mask after the jump. One
 * query thread, so that every fault is on it.
 */
static void repeated_sigbus_on_one_thread(void **state)
{
    (void)state;
    th h;
    th_conn c;
    char seg[200], fixture[512];
    const char *paths[] = {fixture, NULL};
    const char *const extra[] = {"--threads", "1", NULL};

    assert_int_equal(th_init(&h), 0);
    snprintf(fixture, sizeof(fixture), "%s/articles", th_fixtures_dir());
    assert_int_equal(th_index(&h, paths, NULL), 0);
    assert_int_equal(th_daemon_start(&h, extra), 0);
    /* trawld listens before it opens the index: an answer says it has
     * (truncated before, the index is refused and never served). */
    assert_int_equal(th_connect(&h, &c), 0);
    assert_true(th_count(&c, "the") > 0);
    th_close(&c);
    first_segment(&h, seg, sizeof(seg));
    assert_int_equal(truncate(seg, 64), 0);

    static const char *const reqs[] = {
        "{\"op\":\"search\",\"q\":\"the\"}",
        "{\"op\":\"search\",\"q\":\"harbor OR storm OR the\",\"limit\":50}",
        "{\"op\":\"count\",\"q\":\"t*\"}",
        "{\"op\":\"get\",\"doc\":\"notes/bakery.md\"}",
        "{\"op\":\"search\",\"q\":\"storm\",\"sort\":\"date\"}",
        "{\"op\":\"count\",\"q\":\"bakery\"}",
    };
    /* one connection, then one each: the same query thread either way */
    assert_int_equal(th_connect(&h, &c), 0);
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
            answered(&c, reqs[i]);
    th_close(&c);
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        assert_int_equal(th_connect(&h, &c), 0);
        answered(&c, reqs[i]);
        th_close(&c);
    }
    /* a reload opens (and so reads) on libuv's thread, also guarded */
    assert_int_equal(th_connect(&h, &c), 0);
    json_t *r = th_request(&c, "{\"op\":\"reload\"}");
    assert_non_null(r);
    json_decref(r);
    answered(&c, reqs[0]);
    r = th_request(&c, "{\"op\":\"ping\"}");
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "pong")));
    json_decref(r);
    th_close(&c);
    assert_int_equal(th_daemon_stop(&h), 0);
    th_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(repeated_sigbus_on_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

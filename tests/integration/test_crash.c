/*
 * Crash safety: trawl-index is SIGKILLed at random moments (and at a few
 * chosen ones through TRAWL_TEST_CRASH_AT) while it turns one corpus into
 * the other. After every kill the index must pass `trawl-index --check`,
 * and trawld, told to reload, must answer from either the previous
 * generation or the new one, with that generation's counts: never a mix,
 * never an error. A final complete run must clean up the dead runs'
 * leftovers and give the right answers.
 *
 * Two generated corpora (a few MB of JSON Lines) with the same ids: B
 * drops every 7th article of A, rewrites every 5th and adds new ones, so
 * the counts of "commonword" and "rewrittenword" tell which one answered.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define NDOCS   3000 /* in corpus A */
#define NADDED  600  /* only in corpus B */
#define NFILES  6
#define TRIALS  24
#define VOCAB   4000

static th H;
static char corpus[2][192];
static long long want_common[2], want_rewritten[2];
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void vocab_word(char *out, unsigned n)
{
    static const char c[] = "bdfgklmnprtvz", v[] = "aiou";
    int o = 0;
    for (int k = 0; k < 3; k++) {
        out[o++] = c[n % 13];
        n /= 13;
        out[o++] = v[n % 4];
        n /= 4;
    }
    out[o++] = 'x';
    out[o] = '\0';
}

static void put_body(FILE *f, int words)
{
    char w[16];
    for (int i = 0; i < words; i++) {
        vocab_word(w, (unsigned)(next_rand() % VOCAB));
        fprintf(f, "%s%s", i ? " " : "", w);
    }
}

/* Corpus which (0 = A, 1 = B) under dir. */
static void make_corpus(int which, const char *dir)
{
    FILE *f[NFILES];
    long long common = 0, rewritten = 0;

    assert_int_equal(mkdir(dir, 0700), 0);
    for (int k = 0; k < NFILES; k++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/part-%d.jsonl", dir, k);
        f[k] = fopen(path, "w");
        assert_non_null(f[k]);
    }
    int total = which ? NDOCS + NADDED : NDOCS;
    for (int i = 0; i < total; i++) {
        if (which && i < NDOCS && i % 7 == 0)
            continue; /* deleted in B */
        FILE *out = f[i % NFILES];
        int rewrite = which && i < NDOCS && i % 5 == 0;
        fprintf(out, "{\"id\":\"doc-%05d\",\"title\":\"Article %d\","
                "\"date\":\"2024-03-%02d\",\"body\":\"commonword ",
                i, i, 1 + i % 28);
        if (rewrite) {
            fputs("rewrittenword ", out);
            rewritten++;
        }
        /* the same text in both corpora unless rewritten */
        uint64_t saved = rng;
        rng = 0x51ed27ull * (uint64_t)(i + 1) + (rewrite ? 77 : 0);
        put_body(out, 150);
        rng = saved;
        fputs("\"}\n", out);
        common++;
    }
    for (int k = 0; k < NFILES; k++)
        fclose(f[k]);
    want_common[which] = common;
    want_rewritten[which] = rewritten;
}

static int run_index(const char *index, const char *src, const char *crash)
{
    th_result r;
    const char *argv[] = {"trawl-index", "--quiet", "--index", index, src,
                          NULL};
    if (crash != NULL)
        setenv("TRAWL_TEST_CRASH_AT", crash, 1);
    int st = th_run(&r, argv);
    unsetenv("TRAWL_TEST_CRASH_AT");
    if (st != 0 && crash == NULL)
        fprintf(stderr, "trawl-index: %s", r.err);
    th_result_free(&r);
    return st;
}

static void assert_check_ok(const char *label)
{
    th_result r;
    const char *argv[] = {"trawl-index", "--check", H.index, NULL};
    int st = th_run(&r, argv);
    if (st != 0)
        fail_msg("%s: --check exited %d:\n%s%s", label, st, r.out, r.err);
    th_result_free(&r);
}

static long long ask_count(th_conn *c, const char *q, long long *gen)
{
    char line[128];
    snprintf(line, sizeof(line), "{\"op\":\"count\",\"q\":\"%s\"}", q);
    json_t *r = th_request(c, line);
    assert_non_null(r);
    if (!json_is_true(json_object_get(r, "ok"))) {
        char *s = json_dumps(r, JSON_COMPACT);
        fail_msg("count %s: %s", q, s);
    }
    long long n = json_integer_value(json_object_get(r, "count"));
    *gen = json_integer_value(json_object_get(r, "generation"));
    json_decref(r);
    return n;
}

/* Reload, then the served generation and which corpus it holds. */
static long long served(int *which, const char *label)
{
    th_conn c;
    long long g1, g2, g3;

    assert_int_equal(th_connect(&H, &c), 0);
    json_t *r = th_request(&c, "{\"op\":\"reload\"}");
    assert_non_null(r);
    if (!json_is_true(json_object_get(r, "ok")) ||
        json_object_get(r, "reload_error") != NULL) {
        char *s = json_dumps(r, JSON_COMPACT);
        fail_msg("%s: reload: %s", label, s);
    }
    json_decref(r);
    long long common = ask_count(&c, "commonword", &g1);
    long long rewritten = ask_count(&c, "rewrittenword", &g2);
    /* a third query pins both answers to one generation */
    ask_count(&c, "commonword", &g3);
    th_close(&c);
    if (g1 != g3 || g2 != g3)
        return served(which, label); /* a watcher reload in between */
    for (int k = 0; k < 2; k++)
        if (common == want_common[k] && rewritten == want_rewritten[k]) {
            *which = k;
            return g1;
        }
    fail_msg("%s: generation %lld counts %lld/%lld, neither A (%lld/%lld) "
             "nor B (%lld/%lld)",
             label, g1, common, rewritten, want_common[0], want_rewritten[0],
             want_common[1], want_rewritten[1]);
    return -1;
}

static void kill_at_random_points(void **state)
{
    (void)state;
    char scratch[192];
    long long t0;

    assert_int_equal(th_init(&H), 0);
    for (int k = 0; k < 2; k++) {
        snprintf(corpus[k], sizeof(corpus[k]), "%s/corpus-%c", H.dir,
                 'a' + k);
        make_corpus(k, corpus[k]);
    }
    assert_true(want_common[0] != want_common[1]);

    /* How long a run from A to B takes, in a scratch index. */
    snprintf(scratch, sizeof(scratch), "%s/scratch", H.dir);
    assert_int_equal(run_index(scratch, corpus[0], NULL), 0);
    t0 = th_now_ms();
    assert_int_equal(run_index(scratch, corpus[1], NULL), 0);
    long long run_ms = th_now_ms() - t0;
    if (run_ms < 20)
        run_ms = 20;

    assert_int_equal(run_index(H.index, corpus[0], NULL), 0);
    assert_int_equal(th_daemon_start(&H, NULL), 0);
    int which;
    long long gen = served(&which, "start");
    assert_int_equal(which, 0);

    static const char *const fixed[] = {"open", "add:1", "add:1500",
                                        "commit"};
    int fixed_n = (int)(sizeof(fixed) / sizeof(fixed[0]));
    int kills = 0, completed = 0, advanced = 0;
    rng = 0x2545f4914f6cdd1dull;
    /* Random delays are scaled to a measured run, which the machine's
     * load can stretch or shrink: keep going until TRIALS runs were
     * actually killed (each completed run shortens the delays). */
    int t;
    for (t = 0; kills < TRIALS && t < TRIALS * 4; t++) {
        int target = 1 - which;
        char label[96];
        if (t < fixed_n) {
            snprintf(label, sizeof(label), "trial %d (crash at %s)", t,
                     fixed[t]);
            int st = run_index(H.index, corpus[target], fixed[t]);
            assert_int_equal(st, 128 + SIGKILL);
            kills++;
        } else {
            long long delay = (long long)(next_rand() % (uint64_t)(run_ms * 6 / 5));
            snprintf(label, sizeof(label), "trial %d (kill after %lld of %lld ms)",
                     t, delay, run_ms);
            const char *argv[] = {"trawl-index", "--quiet", "--index",
                                  H.index, corpus[target], NULL};
            pid_t pid = th_spawn(argv, NULL);
            assert_true(pid > 0);
            th_sleep_ms((int)delay);
            kill(pid, SIGKILL);
            int st = th_wait(pid);
            if (st == 128 + SIGKILL)
                kills++;
            else if (st == 0) {
                completed++;
                run_ms = run_ms * 3 / 4 > 5 ? run_ms * 3 / 4 : 5;
            }
            else
                fail_msg("%s: trawl-index exited %d", label, st);
        }
        assert_check_ok(label);
        int now;
        long long g = served(&now, label);
        if (g == gen) {
            if (now != which)
                fail_msg("%s: generation %lld changed its answers", label, g);
        } else {
            if (g < gen || now != target)
                fail_msg("%s: generation %lld -> %lld, corpus %d -> %d", label,
                         gen, g, which, now);
            advanced++;
        }
        gen = g;
        which = now;
    }
    fprintf(stderr, "crash: %d trials, %d killed, %d completed, %d advanced "
            "(run %lld ms)\n", t, kills, completed, advanced, run_ms);
    assert_true(kills >= TRIALS);

    /* A full run cleans up and lands on the other corpus. */
    int target = 1 - which;
    assert_int_equal(run_index(H.index, corpus[target], NULL), 0);
    assert_check_ok("final");
    int now;
    long long g = served(&now, "final");
    assert_true(g > gen);
    assert_int_equal(now, target);
    char cur_name[64];
    snprintf(cur_name, sizeof(cur_name), "gen-%06lld.man", g);
    DIR *d = opendir(H.index);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0)
            fail_msg("leftover %s", e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".man") == 0 &&
            strcmp(e->d_name, cur_name) != 0)
            fail_msg("stale manifest %s (current %s)", e->d_name, cur_name);
    }
    closedir(d);
    assert_int_equal(th_daemon_stop(&H), 0);
    th_cleanup(&H);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kill_at_random_points),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("crash", tests, NULL, NULL);
}

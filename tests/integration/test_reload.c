/*
 * Hot reload under load: trawld serves while client threads query it
 * continuously over raw sockets, and the real trawl-index re-runs several
 * times on a corpus whose articles are added, changed and deleted. No
 * query may fail; each new generation must be visible within two seconds
 * of the commit (through the watcher, SIGHUP or the reload op); changed
 * articles match only their new text, deleted ones are gone; and every
 * response of one generation agrees on the corpus size.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define NINITIAL   40
#define ROUNDS     6
#define NCLIENTS   3
#define MAX_GEN    64
#define VISIBLE_MS 2000

static th H;
static char articles[160];

/* A word the stemmer leaves alone and nothing else contains: tag + n in
 * consonants. */
static void word(char *out, size_t cap, const char *tag, int n)
{
    static const char digits[] = "bcdfghjkmnpqrtvw";
    char d[16];
    int k = 0;
    do {
        d[k++] = digits[n % 16];
        n /= 16;
    } while (n > 0 && k < 15);
    int o = snprintf(out, cap, "zq%s", tag);
    while (k > 0 && (size_t)o + 1 < cap)
        out[o++] = d[--k];
    out[o] = '\0';
}

static void write_article(const char *name, const char *title,
                          const char *uniq)
{
    char path[512], text[1024];
    snprintf(path, sizeof(path), "%s/%s", articles, name);
    snprintf(text, sizeof(text),
             "Title: %s\nDate: 2024-05-01\n\nThe harbor commission met "
             "today. Ordinary words fill the body of every article, and "
             "one of them is %s. Commonplace closing words follow.\n",
             title, uniq);
    assert_int_equal(th_write_file(path, text, strlen(text)), 0);
}

/* ---- clients ------------------------------------------------------------ */

typedef struct client {
    pthread_t t;
    int id;
    long responses;
    long failures;
    char first_failure[512];
    int gens_seen;
    long long count_at[MAX_GEN]; /* count of "commonplace" per generation */
} client;

static atomic_int stop_clients;

static void client_fail(client *c, const char *what)
{
    if (c->failures++ == 0)
        snprintf(c->first_failure, sizeof(c->first_failure), "%s", what);
}

static void *client_main(void *arg)
{
    client *c = arg;
    th_conn conn;
    static const char *const reqs[] = {
        "{\"op\":\"count\",\"q\":\"commonplace\"}",
        "{\"op\":\"search\",\"q\":\"harbor commission\",\"limit\":5,\"snippet\":true}",
        "{\"op\":\"search\",\"q\":\"ordinary\",\"sort\":\"date\",\"limit\":3}",
        "{\"op\":\"get\",\"doc\":\"a00.txt\"}",
    };
    long long last_gen = 0;

    for (int i = 0; i < MAX_GEN; i++)
        c->count_at[i] = -1;
    if (th_connect(&H, &conn) < 0) {
        client_fail(c, "connect");
        return NULL;
    }
    for (unsigned n = (unsigned)c->id; !atomic_load(&stop_clients); n++) {
        const char *req = reqs[n % 4];
        json_t *r = th_request(&conn, req);
        c->responses++;
        if (r == NULL) {
            client_fail(c, "no response");
            break;
        }
        if (!json_is_true(json_object_get(r, "ok"))) {
            char *s = json_dumps(r, JSON_COMPACT);
            char msg[400];
            snprintf(msg, sizeof(msg), "%s -> %s", req, s);
            free(s);
            client_fail(c, msg);
        } else {
            json_int_t g = json_integer_value(json_object_get(r, "generation"));
            if (g < last_gen || g <= 0 || g >= MAX_GEN)
                client_fail(c, "generation went backwards or is missing");
            last_gen = g;
            if (n % 4 == 0 && g > 0 && g < MAX_GEN) {
                long long cnt = json_integer_value(json_object_get(r, "count"));
                if (c->count_at[g] < 0) {
                    c->count_at[g] = cnt;
                    c->gens_seen++;
                } else if (c->count_at[g] != cnt) {
                    client_fail(c, "one generation gave two counts");
                }
            }
        }
        json_decref(r);
    }
    th_close(&conn);
    return NULL;
}

/* ---- the main thread ---------------------------------------------------- */

static json_t *ask(const char *line)
{
    th_conn c;
    json_t *r;

    assert_int_equal(th_connect(&H, &c), 0);
    r = th_request(&c, line);
    th_close(&c);
    assert_non_null(r);
    if (!json_is_true(json_object_get(r, "ok")) &&
        th_error_code(r) != NULL && strcmp(th_error_code(r), "not_found") != 0) {
        char *s = json_dumps(r, JSON_COMPACT);
        fail_msg("%s -> %s", line, s);
    }
    return r;
}

static long long count_of(const char *w, long long *gen)
{
    char line[256];
    snprintf(line, sizeof(line), "{\"op\":\"count\",\"q\":\"%s\"}", w);
    json_t *r = ask(line);
    long long n = json_integer_value(json_object_get(r, "count"));
    if (gen != NULL)
        *gen = json_integer_value(json_object_get(r, "generation"));
    json_decref(r);
    return n;
}

/* Run the indexer; the generation it committed. */
static long long reindex(void)
{
    th_result r;
    const char *argv[] = {"trawl-index", "--index",  H.index,
                          "--progress=json", articles, NULL};
    int st = th_run(&r, argv);
    if (st != 0)
        fail_msg("trawl-index exited %d: %s", st, r.err);
    /* the last line is the "done" event */
    char *last = r.out, *p;
    while ((p = strchr(last, '\n')) != NULL && p[1] != '\0')
        last = p + 1;
    json_t *done = json_loads(last, 0, NULL);
    assert_non_null(done);
    assert_string_equal(json_string_value(json_object_get(done, "event")),
                        "done");
    long long g = json_integer_value(json_object_get(done, "generation"));
    json_decref(done);
    th_result_free(&r);
    return g;
}

static void reload_under_load(void **state)
{
    (void)state;
    client clients[NCLIENTS];
    long long expect_count[MAX_GEN];
    char w[64], w2[64];
    int live = NINITIAL;

    for (int i = 0; i < MAX_GEN; i++)
        expect_count[i] = -1;
    assert_int_equal(th_init(&H), 0);
    snprintf(articles, sizeof(articles), "%s/articles", H.dir);
    assert_int_equal(mkdir(articles, 0700), 0);
    for (int i = 0; i < NINITIAL; i++) {
        char name[32], title[32];
        snprintf(name, sizeof(name), "a%02d.txt", i);
        snprintf(title, sizeof(title), "Article %d", i);
        word(w, sizeof(w), "old", i);
        write_article(name, title, w);
    }
    long long g = reindex();
    expect_count[g] = live;
    assert_int_equal(th_daemon_start(&H, NULL), 0);
    assert_int_equal(count_of("commonplace", NULL), NINITIAL);

    atomic_store(&stop_clients, 0);
    memset(clients, 0, sizeof(clients));
    for (int i = 0; i < NCLIENTS; i++) {
        clients[i].id = i;
        assert_int_equal(
            pthread_create(&clients[i].t, NULL, client_main, &clients[i]), 0);
    }
    th_sleep_ms(100);

    for (int round = 1; round <= ROUNDS; round++) {
        char name[32], title[48];
        /* two new articles */
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof(name), "n%02d_%d.txt", round, k);
            snprintf(title, sizeof(title), "New %d/%d", round, k);
            word(w, sizeof(w), k ? "frsht" : "frsh", round);
            write_article(name, title, w);
        }
        /* one changed: its old word replaced by a new one */
        snprintf(name, sizeof(name), "a%02d.txt", round);
        snprintf(title, sizeof(title), "Article %d, revised", round);
        word(w, sizeof(w), "nw", round);
        write_article(name, title, w);
        /* one deleted */
        char path[512];
        snprintf(path, sizeof(path), "%s/a%02d.txt", articles, 20 + round);
        assert_int_equal(unlink(path), 0);
        live += 1;

        long long gen = reindex();
        assert_true(gen > g && gen < MAX_GEN);
        g = gen;
        expect_count[g] = live;
        long long t0 = th_now_ms();
        if (round % 3 == 1)
            assert_int_equal(th_daemon_signal(&H, SIGHUP), 0);
        else if (round % 3 == 2)
            json_decref(ask("{\"op\":\"reload\"}"));
        /* round % 3 == 0: the watcher alone */

        word(w, sizeof(w), "frsh", round);
        long long seen_gen = 0;
        while (count_of(w, &seen_gen) != 1) {
            if (th_now_ms() - t0 > VISIBLE_MS)
                fail_msg("round %d: generation %lld not served after %d ms "
                         "(serving %lld)",
                         round, g, VISIBLE_MS, seen_gen);
            th_sleep_ms(10);
        }
        assert_int_equal(seen_gen, g);

        /* changed: new text only; deleted: gone */
        word(w, sizeof(w), "nw", round);
        assert_int_equal(count_of(w, NULL), 1);
        word(w2, sizeof(w2), "old", round);
        assert_int_equal(count_of(w2, NULL), 0);
        word(w2, sizeof(w2), "old", 20 + round);
        assert_int_equal(count_of(w2, NULL), 0);
        char line[256];
        snprintf(line, sizeof(line), "{\"op\":\"get\",\"doc\":\"a%02d.txt\"}",
                 20 + round);
        json_t *r = ask(line);
        assert_string_equal(th_error_code(r), "not_found");
        json_decref(r);
        snprintf(name, sizeof(name), "a%02d.txt", round);
        snprintf(line, sizeof(line), "{\"op\":\"get\",\"doc\":\"%s\"}", name);
        r = ask(line);
        const char *body = json_string_value(
            json_object_get(json_object_get(r, "doc"), "body"));
        assert_non_null(body);
        assert_non_null(strstr(body, w));
        json_decref(r);
        snprintf(line, sizeof(line), "{\"op\":\"search\",\"q\":\"%s\"}", w);
        r = ask(line);
        json_t *hit = json_array_get(json_object_get(r, "hits"), 0);
        assert_string_equal(json_string_value(json_object_get(hit, "id")),
                            name);
        json_decref(r);
        assert_int_equal(count_of("commonplace", NULL), live);
        th_sleep_ms(50);
    }

    atomic_store(&stop_clients, 1);
    for (int i = 0; i < NCLIENTS; i++)
        pthread_join(clients[i].t, NULL);
    for (int i = 0; i < NCLIENTS; i++) {
        client *c = &clients[i];
        if (c->failures > 0)
            fail_msg("client %d: %ld of %ld responses failed; first: %s", i,
                     c->failures, c->responses, c->first_failure);
        assert_true(c->responses > 20);
        assert_true(c->gens_seen >= 2);
        for (int k = 0; k < MAX_GEN; k++)
            if (c->count_at[k] >= 0 && expect_count[k] >= 0 &&
                c->count_at[k] != expect_count[k])
                fail_msg("client %d: generation %d counted %lld, expected "
                         "%lld",
                         i, k, c->count_at[k], expect_count[k]);
    }
    json_t *r = ask("{\"op\":\"stats\"}");
    assert_true(json_is_null(json_object_get(r, "last_reload_error")));
    assert_int_equal(json_integer_value(json_object_get(r, "generation")), g);
    json_decref(r);
    assert_int_equal(th_daemon_stop(&H), 0);
    th_cleanup(&H);
}

/* ---- many connections over several query loops ------------------------- */

#define NCONNS    12
#define NPIPE     40
#define NLOOPS    3

/*
 * trawld --threads 3: connections are spread over three query loops. Each
 * connection pipelines a batch of queries with "reload" ops among them
 * while the index is rebuilt; every response must come back, in request
 * order, with the reloads answered in their place. Then a SIGTERM while
 * batches (reloads included) are still queued: what is answered is in
 * order, and the daemon exits 0.
 */
static void loops_keep_order_during_reload(void **state)
{
    (void)state;
    th_conn c[NCONNS];
    char w[64];
    static char batch[NCONNS][NPIPE * 96];
    size_t blen[NCONNS];

    assert_int_equal(th_init(&H), 0);
    snprintf(articles, sizeof(articles), "%s/articles", H.dir);
    assert_int_equal(mkdir(articles, 0700), 0);
    for (int i = 0; i < 10; i++) {
        char name[32], title[32];
        snprintf(name, sizeof(name), "a%02d.txt", i);
        snprintf(title, sizeof(title), "Article %d", i);
        word(w, sizeof(w), "old", i);
        write_article(name, title, w);
    }
    long long g0 = reindex();
    const char *extra[] = {"--threads", "3", "--log-level", "debug", NULL};
    assert_int_equal(th_daemon_start(&H, extra), 0);

    for (int k = 0; k < NCONNS; k++) {
        size_t n = 0;
        for (int i = 0; i < NPIPE; i++) {
            const char *body;
            switch (i % 8) {
            case 3:
                body = "\"op\":\"reload\"";
                break;
            case 1:
                body = "\"op\":\"ping\"";
                break;
            case 5:
                body = "\"op\":\"search\",\"q\":\"harbor\",\"limit\":3";
                break;
            case 7:
                body = "\"op\":\"stats\"";
                break;
            default:
                body = "\"op\":\"count\",\"q\":\"commonplace\"";
            }
            n += (size_t)snprintf(batch[k] + n, sizeof(batch[k]) - n,
                                  "{\"id\":%d,%s}\n", k * 1000 + i, body);
        }
        blen[k] = n;
        assert_int_equal(th_connect(&H, &c[k]), 0);
    }
    /* every connection is open (and counted) before the batches go */
    json_t *r = ask("{\"op\":\"stats\"}");
    assert_true(json_integer_value(json_object_get(r, "connections")) >=
                NCONNS);
    json_decref(r);

    /* a new generation is committed while the batches are answered */
    write_article("new.txt", "New one", "zqbrandnew");
    for (int k = 0; k < NCONNS; k++) {
        assert_int_equal(th_send(&c[k], batch[k], blen[k] / 2), 0);
        if (k == NCONNS / 2)
            reindex();
    }
    for (int k = 0; k < NCONNS; k++)
        assert_int_equal(
            th_send(&c[k], batch[k] + blen[k] / 2, blen[k] - blen[k] / 2), 0);
    long long last_gen = g0;
    for (int k = 0; k < NCONNS; k++) {
        long long gen = 0;
        for (int i = 0; i < NPIPE; i++) {
            r = th_recv_json(&c[k]);
            if (r == NULL)
                fail_msg("conn %d: no response %d", k, i);
            assert_int_equal(json_integer_value(json_object_get(r, "id")),
                             k * 1000 + i);
            if (!json_is_true(json_object_get(r, "ok"))) {
                char *s = json_dumps(r, JSON_COMPACT);
                fail_msg("conn %d, request %d: %s", k, i, s);
            }
            if (i % 8 == 3)
                assert_true(json_is_boolean(json_object_get(r, "reloaded")));
            json_t *jg = json_object_get(r, "generation");
            if (jg != NULL) {
                /* generations never go backwards on one connection */
                assert_true(json_integer_value(jg) >= gen);
                gen = json_integer_value(jg);
            }
            json_decref(r);
        }
        if (gen > last_gen)
            last_gen = gen;
    }
    assert_true(last_gen > g0);
    /* the connections were spread over the loops */
    char *log = th_daemon_log(&H);
    int loops_used = 0;
    for (int l = 0; l < NLOOPS; l++) {
        char pat[32];
        snprintf(pat, sizeof(pat), "open on loop %d", l);
        loops_used += strstr(log, pat) != NULL;
    }
    free(log);
    assert_int_equal(loops_used, NLOOPS);

    /* SIGTERM with batches queued: answered in order, then EOF, exit 0 */
    for (int k = 0; k < NCONNS; k++)
        assert_int_equal(th_send(&c[k], batch[k], blen[k]), 0);
    assert_int_equal(th_daemon_signal(&H, SIGTERM), 0);
    for (int k = 0; k < NCONNS; k++) {
        int i = 0;
        while ((r = th_recv_json(&c[k])) != NULL) {
            assert_true(i < NPIPE);
            assert_int_equal(json_integer_value(json_object_get(r, "id")),
                             k * 1000 + i);
            json_decref(r);
            i++;
        }
        th_close(&c[k]);
    }
    /* not th_daemon_stop(): a second SIGTERM would kill it */
    int st = th_wait(H.pid);
    H.pid = 0;
    assert_int_equal(st, 0);
    th_cleanup(&H);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reload_under_load),
        cmocka_unit_test(loops_keep_order_during_reload),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("reload", tests, NULL, NULL);
}

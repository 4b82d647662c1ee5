/*
 * The manual pages in docs/man/ stay true to the programs' --help: every
 * long option a program's --help lists is in its page, and every long
 * option a page mentions is one that --help lists (so a removed or renamed
 * option cannot linger in a page).
 *
 * An option in a page belongs to the program named last before it on the
 * same source line ("trawl --ping" in trawld(8)'s examples is trawl's), else
 * to the page's own program; trawl-query(7) is read as trawl's.
 *
 * Environment: TRAWL_BIN (the build's bin/), TRAWL_SOURCE (the repository
 * root, for docs/man/).
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

enum { P_INDEX, P_DAEMON, P_CLIENT, NPROG };

static const char *const prog_names[NPROG] = { "trawl-index", "trawld",
                                               "trawl" };

#define MAX_OPTS 64
#define MAX_NAME 40

typedef struct optset {
    char name[MAX_OPTS][MAX_NAME];
    int n;
} optset;

/* Each program's --help options, read once. */
static optset help_opts[NPROG];

static int optset_has(const optset *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0)
            return 1;
    return 0;
}

static void optset_add(optset *s, const char *name)
{
    if (optset_has(s, name))
        return;
    assert_true(s->n < MAX_OPTS);
    snprintf(s->name[s->n++], MAX_NAME, "%s", name);
}

static int name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/*
 * The long option at p ("--name", not "---" nor a lone "--") into name;
 * its length after the "--", or 0 if there is none.
 */
static size_t long_opt_at(const char *text, const char *p, char *name)
{
    if (p[0] != '-' || p[1] != '-' || !(p[2] >= 'a' && p[2] <= 'z'))
        return 0;
    if (p > text && p[-1] == '-')
        return 0;
    size_t n = 0;
    while (name_char((unsigned char)p[2 + n]))
        n++;
    while (n > 0 && p[2 + n - 1] == '-') /* "--name-" at a line end */
        n--;
    assert_true(n < MAX_NAME);
    memcpy(name, p + 2, n);
    name[n] = '\0';
    return n;
}

/* The program named at p as a whole word, or -1. */
static int prog_at(const char *text, const char *p)
{
    if (p > text) {
        int b = (unsigned char)p[-1];
        if (isalnum(b) || b == '_' || b == '-' || b == '.' || b == '/')
            return -1;
    }
    for (int k = 0; k < NPROG; k++) {
        size_t n = strlen(prog_names[k]);
        if (strncmp(p, prog_names[k], n) != 0)
            continue;
        int a = (unsigned char)p[n];
        if (isalnum(a) || a == '_' || a == '-' || a == '.')
            continue;
        return k;
    }
    return -1;
}

static void read_help(int k)
{
    th_result r;
    const char *argv[] = { prog_names[k], "--help", NULL };

    assert_int_equal(th_run(&r, argv), 0);
    for (const char *p = r.out; *p != '\0'; p++) {
        char name[MAX_NAME];
        if (long_opt_at(r.out, p, name) > 0)
            optset_add(&help_opts[k], name);
    }
    th_result_free(&r);
    /* --help itself is listed, and a few more */
    assert_true(optset_has(&help_opts[k], "help"));
    assert_true(help_opts[k].n >= 5);
}

static int group_setup(void **state)
{
    (void)state;
    for (int k = 0; k < NPROG; k++)
        read_help(k);
    return 0;
}

/* docs/man/<page> with roff's "\-" as "-" (malloc'd). */
static char *read_page(const char *page)
{
    const char *src = getenv("TRAWL_SOURCE");
    char path[4096];

    snprintf(path, sizeof(path), "%s/docs/man/%s",
             src != NULL && src[0] != '\0' ? src : ".", page);
    char *text = th_read_file(path, NULL);
    if (text == NULL)
        fail_msg("cannot read %s", path);
    char *o = text;
    for (const char *p = text; *p != '\0'; p++) {
        if (p[0] == '\\' && p[1] == '-') {
            *o++ = '-';
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return text;
}

/*
 * Check page against the --help texts; own is the program the page is
 * about, and full says whether every option of its --help must be in it.
 */
static void check_page(const char *page, int own, int full)
{
    char *text = read_page(page);
    optset mine;
    int line_prog = -1, bad = 0;

    memset(&mine, 0, sizeof(mine));
    for (const char *p = text; *p != '\0'; p++) {
        char name[MAX_NAME];
        int k;
        size_t n;

        if (*p == '\n') {
            line_prog = -1;
        } else if ((k = prog_at(text, p)) >= 0) {
            line_prog = k;
            p += strlen(prog_names[k]) - 1;
        } else if ((n = long_opt_at(text, p, name)) > 0) {
            int owner = line_prog >= 0 ? line_prog : own;
            if (!optset_has(&help_opts[owner], name)) {
                fprintf(stderr, "%s: --%s is not in %s --help\n", page, name,
                        prog_names[owner]);
                bad++;
            }
            if (owner == own)
                optset_add(&mine, name);
            p += n + 1;
        }
    }
    for (int i = 0; full && i < help_opts[own].n; i++) {
        if (!optset_has(&mine, help_opts[own].name[i])) {
            fprintf(stderr, "%s: %s --help lists --%s, the page does not\n",
                    page, prog_names[own], help_opts[own].name[i]);
            bad++;
        }
    }
    free(text);
    assert_int_equal(bad, 0);
}

static void test_trawl_index_page(void **state)
{
    (void)state;
    check_page("trawl-index.1", P_INDEX, 1);
}

static void test_trawld_page(void **state)
{
    (void)state;
    check_page("trawld.8", P_DAEMON, 1);
}

static void test_trawl_page(void **state)
{
    (void)state;
    check_page("trawl.1", P_CLIENT, 1);
}

static void test_query_page(void **state)
{
    (void)state;
    check_page("trawl-query.7", P_CLIENT, 0);
}

/* The checker itself: what it takes for an option, and for a program. */
static void test_scanner(void **state)
{
    static const char text[] = "a --b-c, ---x -- --Y \"--z=1\" trawl-index "
                                "trawld.8 /trawl trawl's";
    char name[MAX_NAME];

    (void)state;
    assert_int_equal(long_opt_at(text, strstr(text, "--b-c"), name), 3);
    assert_string_equal(name, "b-c");
    assert_int_equal(long_opt_at(text, strstr(text, "---x"), name), 0);
    assert_int_equal(long_opt_at(text, strstr(text, "--x"), name), 0);
    assert_int_equal(long_opt_at(text, strstr(text, "-- "), name), 0);
    assert_int_equal(long_opt_at(text, strstr(text, "--Y"), name), 0);
    assert_int_equal(long_opt_at(text, strstr(text, "--z"), name), 1);
    assert_string_equal(name, "z");
    assert_int_equal(prog_at(text, strstr(text, "trawl-index")), P_INDEX);
    assert_int_equal(prog_at(text, strstr(text, "trawld.8")), -1);
    assert_int_equal(prog_at(text, strstr(text, "/trawl") + 1), -1);
    assert_int_equal(prog_at(text, strstr(text, "trawl's")), P_CLIENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scanner),
        cmocka_unit_test(test_trawl_index_page),
        cmocka_unit_test(test_trawld_page),
        cmocka_unit_test(test_trawl_page),
        cmocka_unit_test(test_query_page),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}

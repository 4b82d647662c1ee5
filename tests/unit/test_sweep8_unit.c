/*
 * Unit tests from the eighth acceptance sweep: query syntax a terminal
 * user types (a space before ~N, Lucene's || and &&).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"
#include "testutil.h"
#include "trawl/analyze.h"
#include "trawl/arena.h"
#include "trawl/buf.h"

/*
 * '"new york" ~3' (a space before ~N) searched for the exact phrase AND
 * the word "3": no error, and next to no hits. It is now an error that
 * says where ~N goes; "~3" elsewhere stays text.
 */
static void near_with_space_before_tilde(void **state)
{
    tu_fixture *f = *state;
    trawl_err err;
    char s[256];
    static const struct {
        const char *q;
        int column;
    } bad[] = {
        {"\"new york\" ~3", 12},
        {"title:\"new york\"  ~10 harbor", 19},
        {"storm \"harbor master\"\t~0", 23},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = tu_parse_render(f, bad[i].q, s, sizeof(s), &err);
        if (rc != TRAWL_EQUERY)
            fail_msg("%s: parsed as %s", bad[i].q, rc == 0 ? s : "?");
        char want[64];
        snprintf(want, sizeof(want), "column %d: '~N' goes right after",
                 bad[i].column);
        if (strstr(err.msg, want) == NULL)
            fail_msg("%s: %s", bad[i].q, err.msg);
    }
    static const tu_query_case good[] = {
        {"\"new york\"~3", "\"new york\"~3"},
        {"costs ~3 billion", "AND(cost, 3, billion)"},
        {"\"new york\" ~x", "AND(\"new york\", x)"},
        {"\"new york\" 3", "AND(\"new york\", 3)"},
    };
    tu_check_renders(f, good, sizeof(good) / sizeof(good[0]));
}

/*
 * Lucene's "||" and "&&" (which users of Lucene, Solr and Elasticsearch
 * type) were punctuation, so "storm || flood" searched for both words:
 * AND where OR was meant, silently. They are now OR and AND when they
 * stand alone; glued to a word they stay punctuation.
 */
static void lucene_or_and_operators(void **state)
{
    tu_fixture *f = *state;
    static const tu_query_case good[] = {
        {"storm || flood", "OR(storm, flood)"},
        {"storm && flood || harbor", "OR(AND(storm, flood), harbor)"},
        {"(storm || flood) && -harbor", "AND(OR(storm, flood), NOT harbor)"},
        {"title: || storm", "OR(titl, storm)"},
        {"storm||flood", "\"storm flood\""},
        {"storm | flood", "AND(storm, flood)"},
    };
    tu_check_renders(f, good, sizeof(good) / sizeof(good[0]));
    static const tu_query_case bad[] = {
        {"|| storm", "column 1: OR needs a term on both sides"},
        {"storm &&", "column 7: AND needs a term on both sides"},
        {"storm && || flood", "column 7: AND needs a term on both sides"},
    };
    tu_check_rejects(f, bad, sizeof(bad) / sizeof(bad[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(near_with_space_before_tilde),
        cmocka_unit_test(lucene_or_and_operators),
    };
    return cmocka_run_group_tests_name("sweep8_unit", tests,
                                       tu_fixture_setup, tu_fixture_teardown);
}

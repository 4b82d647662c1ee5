/*
 * Unit tests from the ninth acceptance sweep: query syntax as people
 * type it (field names with a capital letter).
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
 * "Title:korea" (a capital at the start of the line, or copied from a
 * heading) was a bad_query ("unknown field \"Title\""), and so were
 * "TITLE:", "Date:2024" and "After:..."; the field names are now read in
 * any case, and the other names are still unknown fields.
 */
static void field_names_in_any_case(void **state)
{
    tu_fixture *f = *state;
    trawl_err err;
    char s[256];
    static const struct {
        const char *q, *rendered;
    } good[] = {
        {"Title:korea", "title:korea"},
        {"TITLE:\"north korea\"", "title:\"north korea\""},
        {"BoDy:talks", "body:talk"},
        {"talks Date:2024-03", "AND(talk, date:2024-03-01..2024-03-31)"},
        {"After:2024-03-05 talks", "AND(date:2024-03-05.., talk)"},
        {"talks BEFORE:2024", "AND(talk, date:..2023-12-31)"},
        {"Title: korea", "title:korea"},
        {"TITLE:(korea OR seoul)", "OR(title:korea, title:seoul)"},
        {"re: korea", "AND(re, korea)"},
        {"Note: korea", "AND(note, korea)"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int rc = tu_parse_render(f, good[i].q, s, sizeof(s), &err);
        if (rc != 0)
            fail_msg("%s: %s", good[i].q, err.msg);
        if (strcmp(s, good[i].rendered) != 0)
            fail_msg("%s: rendered %s, want %s", good[i].q, s,
                     good[i].rendered);
    }
    static const struct {
        const char *q, *msg;
    } bad[] = {
        {"Colour:red", "column 1: unknown field \"Colour\""},
        {"korea Titles:x", "column 7: unknown field \"Titles\""},
        {"Date:yesterday", "column 1: bad date"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = tu_parse_render(f, bad[i].q, s, sizeof(s), &err);
        if (rc != TRAWL_EQUERY)
            fail_msg("%s: parsed as %s", bad[i].q, rc == 0 ? s : "?");
        if (strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("%s: %s", bad[i].q, err.msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_names_in_any_case),
    };
    return cmocka_run_group_tests_name("sweep9_unit", tests,
                                       tu_fixture_setup, tu_fixture_teardown);
}

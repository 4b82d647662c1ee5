/*
 * libFuzzer target: HTML bodies to text (indexer/html.c). The input is
 * what a parsed JSON body can be: valid UTF-8 without NUL bytes (other
 * inputs are skipped). The text must be valid UTF-8 of the length given,
 * NUL-terminated, without NUL bytes. The same input is read as a whole
 * page (trawl_html_page_read, for *.html files) and its charset
 * declaration looked for: every field valid UTF-8, as long as it says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "html.h"
#include "trawl/analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    if (!trawl_utf8_valid(s, size) || memchr(s, '\0', size) != NULL)
        return 0;
    int like = trawl_html_like(s, size);
    FUZZ_CHECK(like == 0 || like == 1, "html_like %d", like);
    char *out = NULL;
    size_t n = 0;
    /* trawl-index converts only what looks like HTML; any text must do. */
    if (trawl_html_text(s, size, &out, &n) == 0) {
        FUZZ_CHECK(out != NULL && out[n] == '\0', "text not terminated");
        FUZZ_CHECK(memchr(out, '\0', n) == NULL, "NUL in the text");
        FUZZ_CHECK(trawl_utf8_valid(out, n), "text not UTF-8");
        free(out);
    }
    char cs[64];
    const char *name = trawl_html_charset(s, size, cs, sizeof(cs));
    FUZZ_CHECK(name == NULL || strlen(name) < sizeof(cs), "charset");
    trawl_html_page pg;
    if (trawl_html_page_read(s, size, &pg) == 0) {
        const char *f[] = {pg.title, pg.body, pg.author, pg.url};
        size_t fl[] = {pg.title_len, pg.body_len, pg.author_len, pg.url_len};
        FUZZ_CHECK(pg.title != NULL && pg.body != NULL, "NULL text");
        for (int i = 0; i < 4; i++) {
            if (f[i] == NULL)
                continue;
            FUZZ_CHECK(f[i][fl[i]] == '\0', "field %d not terminated", i);
            FUZZ_CHECK(strlen(f[i]) == fl[i], "field %d length", i);
            FUZZ_CHECK(trawl_utf8_valid(f[i], fl[i]), "field %d not UTF-8",
                       i);
        }
        trawl_html_page_free(&pg);
    }
    return 0;
}

/*
 * libFuzzer target: legacy encodings (indexer/encoding.c) the way
 * trawl-index calls it: on text that is not UTF-8, has no NUL byte and no
 * UTF-16 byte order mark. A conversion gives valid UTF-8 and a name, and
 * the article parser takes the result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "fuzz.h"
#include "trawl/analyze.h"
#include "trawl/article.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    if (trawl_utf8_valid(s, size) || memchr(s, '\0', size) != NULL)
        return 0;
    if (size >= 2 && ((data[0] == 0xff && data[1] == 0xfe) ||
                      (data[0] == 0xfe && data[1] == 0xff)))
        return 0;
    char *out = NULL;
    size_t n = 0;
    const char *name = NULL;
    int k = trawl_legacy_to_utf8(s, size, &out, &n, &name);
    FUZZ_CHECK(k == 0 || k == 1 || k == -1, "rc %d", k);
    if (k != 1)
        return 0;
    FUZZ_CHECK(out != NULL && name != NULL, "no text or no name");
    FUZZ_CHECK(trawl_utf8_valid(out, n), "%s conversion not UTF-8", name);
    trawl_article a;
    trawl_err err;
    if (trawl_article_parse_text(&a, "fuzz.txt", out, n, TRAWL_NO_DATE,
                                 &err) == 0) {
        FUZZ_CHECK(a.replaced == 0, "converted text had bad bytes");
        trawl_article_clear(&a);
    }
    free(out);
    return 0;
}
